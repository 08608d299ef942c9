/*
 * rumctl topic-size: how many messages were ever written to a topic (the
 * sum of its partitions' high watermarks). Scripts and tests poll it to wait
 * for a processor's output.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"
#include "rumstream/log.h"
#include "rumctl.h"

#define CMD "topic-size"

static void usage(FILE *fp) {
        fprintf(fp,
                "Usage: rumctl topic-size --brokers LIST --topic NAME "
                "[--timeout-ms MS]\n\n"
                "Prints the number of messages ever written to the topic.\n\n"
                "  --brokers LIST   bootstrap servers (default: "
                "$RUMSTREAM_KAFKA_BROKERS)\n"
                "  --topic NAME     the topic; exit status 1 if it does not "
                "exist\n"
                "  --timeout-ms MS  per request (default 10000)\n"
                "  -h, --help       this text\n");
}

static int conf_set(rd_kafka_conf_t *conf, const char *name,
                    const char *value) {
        char err[256];

        if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                rs_log_error("kafka property %s=%s: %s", name, value, err);
                return -1;
        }
        return 0;
}

/*
 * Asks for the metadata of all topics: a request naming the topic would
 * create it on brokers that auto-create topics (the mock cluster does,
 * whatever the client asks), and a script polling for a topic that is not
 * there yet must not create it with the wrong partition count.
 * @returns 1 if it exists, 0 if not, -1 on error (logged either way).
 */
static int topic_exists(rd_kafka_t *rk, const char *topic, int timeout_ms) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t             err;
        int                             i, found = 0;

        err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
        if (err) {
                rs_log_error("metadata: %s", rd_kafka_err2str(err));
                return -1;
        }
        for (i = 0; i < md->topic_cnt && !found; i++)
                found = !strcmp(md->topics[i].topic, topic);
        rd_kafka_metadata_destroy(md);
        if (!found)
                rs_log_error("topic %s does not exist", topic);
        return found;
}

int rumctl_topic_size(int argc, char **argv) {
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 't'},
            {"timeout-ms", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char      *brokers    = getenv("RUMSTREAM_KAFKA_BROKERS");
        const char      *topic      = NULL;
        int64_t          timeout_ms = 10000, size;
        rd_kafka_conf_t *conf       = NULL;
        rd_kafka_t      *rk         = NULL;
        char             errstr[512];
        int              c;

        while ((c = getopt_long(argc, argv, ":b:t:w:h", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'b':
                        brokers = optarg;
                        break;
                case 't':
                        topic = optarg;
                        break;
                case 'w':
                        if (rumctl_parse_i64(CMD, "--timeout-ms", optarg, 1,
                                             INT32_MAX, &timeout_ms) == -1)
                                goto usage;
                        break;
                case 'h':
                        usage(stdout);
                        return RUMCTL_EXIT_OK;
                default:
                        return rumctl_bad_option(CMD, c, argv, usage);
                }
        }
        if (rumctl_no_more_args(CMD, argc, argv) == -1 ||
            rumctl_required(CMD, "--brokers", brokers,
                            "RUMSTREAM_KAFKA_BROKERS") == -1 ||
            rumctl_required(CMD, "--topic", topic, NULL) == -1)
                goto usage;

        /* A consumer handle: asking a producer's metadata for a missing
         * topic would create it on brokers that auto-create. */
        conf = rd_kafka_conf_new();
        if (conf_set(conf, "bootstrap.servers", brokers) == -1 ||
            conf_set(conf, "allow.auto.create.topics", "false") == -1 ||
            conf_set(conf, "log_level", "3") == -1) {
                rd_kafka_conf_destroy(conf);
                return RUMCTL_EXIT_FAIL;
        }
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!rk) {
                rs_log_error("kafka: %s", errstr);
                rd_kafka_conf_destroy(conf);
                return RUMCTL_EXIT_FAIL;
        }
        if (topic_exists(rk, topic, (int)timeout_ms) != 1) {
                rd_kafka_destroy(rk);
                return RUMCTL_EXIT_FAIL;
        }
        if (rs_kafka_topic_size(rk, topic, (int)timeout_ms, &size, errstr,
                                sizeof(errstr)) == -1) {
                rs_log_error("%s", errstr);
                rd_kafka_destroy(rk);
                return RUMCTL_EXIT_FAIL;
        }
        printf("%" PRId64 "\n", size);
        fflush(stdout);
        rd_kafka_destroy(rk);
        return RUMCTL_EXIT_OK;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
