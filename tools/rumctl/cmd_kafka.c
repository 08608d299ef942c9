/*
 * rumctl kafka: an embedded Kafka cluster (librdkafka's mock cluster) with
 * rumstream's topics, for local runs and tests that need a broker other
 * processes can reach over TCP.
 *
 * The bootstrap list is printed on stdout and, with --bootstrap-file,
 * written to a temporary name and renamed into place, so a script polling
 * for the file never reads half of it. The file is removed again on exit,
 * so a stale one never points at a cluster that is gone.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rumstream/kafka.h"
#include "rumstream/log.h"
#include "rumctl.h"

#define CMD "kafka"

/* DESIGN.md topology, and a dead-letter topic per processor input. */
static const char *const default_topics[] = {
    "rum.events",       "synthetic.events",
    "error.events",     "rum.aggregates",
    "error.aggregates", "issues",
    "alerts",           "privacy.requests",
    "rum.events.dlq",   "synthetic.events.dlq",
    "error.events.dlq", "rum.aggregates.dlq",
    "issues.dlq"};

#define DEFAULT_TOPIC_CNT (sizeof(default_topics) / sizeof(default_topics[0]))
#define MAX_TOPICS        256

typedef struct topic_s {
        char name[250];
        int  partitions;
} topic_t;

static void usage(FILE *fp) {
        size_t i;

        fprintf(fp,
                "Usage: rumctl kafka [--brokers N] [--partitions N]\n"
                "                    [--topic NAME[:PARTITIONS]]... "
                "[--bootstrap-file PATH]\n\n"
                "Runs an embedded Kafka cluster on 127.0.0.1 until SIGINT or "
                "SIGTERM, with\n"
                "these topics (and any --topic):\n");
        for (i = 0; i < DEFAULT_TOPIC_CNT; i++)
                fprintf(fp, "%s%s", i % 4 ? ", " : (i ? ",\n  " : "  "),
                        default_topics[i]);
        fprintf(fp,
                "\nand prints \"bootstrap.servers=<host:port,...>\" on "
                "stdout.\n\n"
                "  --brokers N           mock brokers to start (default 1)\n"
                "  --partitions N        partitions per topic (default 6)\n"
                "  --topic NAME[:N]      another topic, or another partition "
                "count for one\n"
                "                        of the defaults; repeatable\n"
                "  --bootstrap-file PATH also write the bootstrap list to "
                "PATH (atomically;\n"
                "                        removed on exit)\n"
                "  -h, --help            this text\n");
}

/* Adds \p name or updates its partition count. @returns 0 or -1 if full. */
static int topic_set(topic_t *topics, size_t *cnt, const char *name, size_t len,
                     int partitions) {
        size_t i;

        for (i = 0; i < *cnt; i++) {
                if (strlen(topics[i].name) == len &&
                    !strncmp(topics[i].name, name, len)) {
                        topics[i].partitions = partitions;
                        return 0;
                }
        }
        if (*cnt >= MAX_TOPICS)
                return -1;
        snprintf(topics[*cnt].name, sizeof(topics[*cnt].name), "%.*s", (int)len,
                 name);
        topics[*cnt].partitions = partitions;
        (*cnt)++;
        return 0;
}

/* Writes \p text to \p path through a temporary file and rename(2). */
static int write_atomic(const char *path, const char *text) {
        char  tmp[4096];
        FILE *fp;
        int   ret = -1;

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
                             (long)getpid()) >= sizeof(tmp)) {
                rs_log_error("bootstrap file name too long: %s", path);
                return -1;
        }
        fp = fopen(tmp, "w");
        if (!fp) {
                rs_log_error("cannot create %s: %s", tmp, strerror(errno));
                return -1;
        }
        if (fprintf(fp, "%s\n", text) < 0 || fflush(fp) != 0 ||
            fsync(fileno(fp)) != 0) {
                rs_log_error("cannot write %s: %s", tmp, strerror(errno));
                fclose(fp);
                goto out;
        }
        if (fclose(fp) != 0) {
                rs_log_error("cannot write %s: %s", tmp, strerror(errno));
                goto out;
        }
        if (rename(tmp, path) != 0) {
                rs_log_error("cannot rename %s to %s: %s", tmp, path,
                             strerror(errno));
                goto out;
        }
        ret = 0;
out:
        if (ret == -1)
                unlink(tmp);
        return ret;
}

int rumctl_kafka(int argc, char **argv) {
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"partitions", required_argument, NULL, 'p'},
            {"topic", required_argument, NULL, 't'},
            {"bootstrap-file", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        static topic_t topics[MAX_TOPICS];
        /* --topic values, applied once --partitions is known. */
        const char      *extra[MAX_TOPICS];
        size_t           extra_cnt = 0, topic_cnt = 0, i;
        const char      *bootstrap_file = NULL, *bootstraps;
        int64_t          brokers = 1, partitions = 6;
        rs_kafka_mock_t *mock = NULL;
        char             errstr[512];
        int              c, ret = RUMCTL_EXIT_FAIL, wrote_file = 0;

        while ((c = getopt_long(argc, argv, ":b:p:t:f:h", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'b':
                        if (rumctl_parse_i64(CMD, "--brokers", optarg, 1, 16,
                                             &brokers) == -1)
                                goto usage;
                        break;
                case 'p':
                        if (rumctl_parse_i64(CMD, "--partitions", optarg, 1,
                                             1024, &partitions) == -1)
                                goto usage;
                        break;
                case 't':
                        if (extra_cnt >= MAX_TOPICS) {
                                fprintf(stderr, "rumctl kafka: too many "
                                                "--topic options\n");
                                goto usage;
                        }
                        extra[extra_cnt++] = optarg;
                        break;
                case 'f':
                        bootstrap_file = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return RUMCTL_EXIT_OK;
                default:
                        return rumctl_bad_option(CMD, c, argv, usage);
                }
        }
        if (rumctl_no_more_args(CMD, argc, argv) == -1)
                goto usage;

        for (i = 0; i < DEFAULT_TOPIC_CNT; i++)
                topic_set(topics, &topic_cnt, default_topics[i],
                          strlen(default_topics[i]), (int)partitions);
        for (i = 0; i < extra_cnt; i++) {
                /* Kafka topic names cannot contain ':', so the last one
                 * starts the partition count. */
                const char *colon = strrchr(extra[i], ':');
                size_t      len =
                    colon ? (size_t)(colon - extra[i]) : strlen(extra[i]);
                int64_t n = partitions;

                if (colon && rumctl_parse_i64(CMD, "--topic", colon + 1, 1,
                                              1024, &n) == -1)
                        goto usage;
                if (len == 0 || len >= sizeof(topics[0].name)) {
                        fprintf(stderr,
                                "rumctl kafka: --topic: bad topic "
                                "name \"%s\"\n",
                                extra[i]);
                        goto usage;
                }
                if (topic_set(topics, &topic_cnt, extra[i], len, (int)n) ==
                    -1) {
                        fprintf(stderr, "rumctl kafka: too many topics\n");
                        goto usage;
                }
        }

        rumctl_catch_signals();

        mock = rs_kafka_mock_new((int)brokers, errstr, sizeof(errstr));
        if (!mock) {
                rs_log_error("%s", errstr);
                goto out;
        }
        for (i = 0; i < topic_cnt; i++) {
                if (rs_kafka_mock_topic(mock, topics[i].name,
                                        topics[i].partitions, errstr,
                                        sizeof(errstr)) == -1) {
                        rs_log_error("%s", errstr);
                        goto out;
                }
        }
        bootstraps = rs_kafka_mock_bootstraps(mock);

        if (bootstrap_file) {
                if (write_atomic(bootstrap_file, bootstraps) == -1)
                        goto out;
                wrote_file = 1;
        }
        printf("bootstrap.servers=%s\n", bootstraps);
        fflush(stdout);
        rs_log_info("embedded kafka up: %d broker(s), %zu topic(s), "
                    "bootstrap.servers=%s",
                    (int)brokers, topic_cnt, bootstraps);

        while (!rumctl_stop)
                rumctl_sleep_ms(200);

        rs_log_info("embedded kafka stopping");
        ret = RUMCTL_EXIT_OK;
out:
        if (wrote_file)
                unlink(bootstrap_file);
        rs_kafka_mock_destroy(mock);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
