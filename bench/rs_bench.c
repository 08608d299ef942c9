/*
 * rs-bench: what the rum-aggregator costs next to the cheapest possible
 * consumer of the same topic.
 *
 * One run: a throwaway PostgreSQL and the embedded Kafka are started, a
 * topic is filled with generated page views (spread over enough partitions
 * that the embedded cluster, which keeps only the newest few MiB of each,
 * loses nothing), then two child processes read all of it:
 *   1. a bare librdkafka consume loop (rd_kafka_consumer_poll until every
 *      partition reports its end, touching each payload), and
 *   2. rum-aggregator --until-eof, writing to Kafka and PostgreSQL.
 * Each child's own CPU time (user + sys from wait4) is divided by the number
 * of events. Wall-clock time is printed too, but the embedded cluster
 * serves only some 20-25 MB/s, so wall time mostly measures it: the CPU
 * ratio is the figure that matters. Memory per open aggregate is the
 * aggregator's peak RSS above the bare loop's, divided by the peak number
 * of (tenant, route, segment) aggregates it held open.
 *
 *   rs-bench [--events N] [--partitions N] [--tenants N] [--event-rate R]
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/avro.h"
#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"

typedef struct result_s {
        double cpu_s, wall_s;
        long   maxrss_kb;
        int    status;
} result_t;

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv to completion and measures that process alone. */
static result_t measure(const char *const *argv, const char *log) {
        result_t      r = {0, 0, 0, -1};
        struct rusage ru;
        double        t0 = now_s();
        int           status;
        pid_t         pid = rs_it_spawn(argv, NULL, log);

        if (pid < 0 || wait4(pid, &status, 0, &ru) != pid)
                return r;
        r.wall_s = now_s() - t0;
        r.cpu_s  = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        r.maxrss_kb = ru.ru_maxrss;
        r.status    = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
}

/* The baseline: consume everything, touch every byte, nothing else. */
static int bare_loop(const char *brokers, const char *topic) {
        rs_kafka_rebalance_t rb = {0};
        rd_kafka_t          *rk;
        char                 err[512];
        const char          *topics[1] = {topic};
        long                 msgs = 0, eofs = 0, parts = -1;
        uint64_t             sum = 0;

        rk = rs_kafka_consumer_new(brokers, rs_it_unique("bare"), NULL, &rb, 1,
                                   err, sizeof(err));
        if (!rk || rs_kafka_subscribe(rk, topics, 1, err, sizeof(err))) {
                fprintf(stderr, "bare loop: %s\n", err);
                return 1;
        }
        {
                const struct rd_kafka_metadata *md;
                rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
                if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0) {
                        parts = md->topics[0].partition_cnt;
                        rd_kafka_metadata_destroy(md);
                }
                rd_kafka_topic_destroy(rkt);
        }
        while (eofs < parts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                size_t              i;
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        eofs++;
                else if (!m->err) {
                        for (i = 0; i < m->len; i += 64)
                                sum += ((const unsigned char *)m->payload)[i];
                        msgs++;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        printf("bare loop: %ld messages (checksum %" PRIu64 ")\n", msgs, sum);
        return 0;
}

static long peak_aggregates(const char *log) {
        char  cmd[512], buf[64] = "";
        FILE *fp;

        snprintf(cmd, sizeof(cmd),
                 "grep -o 'peak open aggregates: [0-9]*' %s | tail -n 1 | "
                 "awk '{print $4}'",
                 log);
        if (!(fp = popen(cmd, "r")))
                return -1;
        if (!fgets(buf, sizeof(buf), fp))
                buf[0] = '\0';
        pclose(fp);
        return buf[0] ? strtol(buf, NULL, 10) : -1;
}

int main(int argc, char **argv) {
        long                 events = 500000, partitions = 64, tenants = 24;
        double               event_rate = 500;
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_traffic_conf_t    tc;
        rs_traffic_t        *t;
        rs_rum_event_t       ev;
        rs_avro_registry_t  *reg = NULL;
        rs_avro_encoder_t   *enc = NULL;
        result_t             bare, agg;
        char err[512], logdir[] = "/tmp/rs-bench.XXXXXX", bare_log[64],
                       agg_log[64];
        const char *brokers;
        double      bytes = 0;
        long        i, peak;
        int         k;

        if (argc == 4 && !strcmp(argv[1], "--bare-loop"))
                return bare_loop(argv[2], argv[3]);
        for (k = 1; k + 1 < argc; k += 2) {
                if (!strcmp(argv[k], "--events"))
                        events = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--partitions"))
                        partitions = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--tenants"))
                        tenants = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--event-rate"))
                        event_rate = atof(argv[k + 1]);
                else
                        break;
        }
        if (k < argc || events <= 0 || partitions <= 0 || tenants <= 0 ||
            event_rate <= 0) {
                fprintf(stderr, "usage: rs-bench [--events N] [--partitions "
                                "N] [--tenants N] [--event-rate R]\n");
                return 2;
        }
        if (!mkdtemp(logdir))
                rs_it_die("mkdtemp: %s", strerror(errno));
        snprintf(bare_log, sizeof(bare_log), "%s/bare.log", logdir);
        snprintf(agg_log, sizeof(agg_log), "%s/aggregator.log", logdir);

        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", (int)partitions, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 64, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);

        /* Fill the topic. */
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))) ||
            !(reg = rs_avro_registry_new(err, sizeof(err))) ||
            !(enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, err,
                                        sizeof(err))))
                rs_it_die("%s", err);
        rs_traffic_conf_defaults(&tc);
        tc.seed           = 2026;
        tc.tenants        = (int)tenants;
        tc.events_per_sec = event_rate;
        tc.start_ms =
            ((int64_t)time(NULL) - (int64_t)(events / event_rate) - 600) * 1000;
        if (!(t = rs_traffic_new(&tc)))
                rs_it_die("traffic generator");
        fprintf(stderr, "filling rum.events with %ld events...\n", events);
        for (i = 0; i < events; i++) {
                const void *buf;
                size_t      len;
                rs_traffic_next(t, &ev);
                if (rs_rum_event_write(rs_avro_encoder_value(enc), &ev) ||
                    rs_avro_encoder_encode(enc, &buf, &len, err, sizeof(err)))
                        rs_it_die("encode: %s", err);
                bytes += (double)len;
                rs_it_produce_raw(prod, "rum.events", ev.tenant_id, buf, len);
        }
        if (rs_kafka_producer_sync(prod, 120000, err, sizeof(err)))
                rs_it_die("%s", err);
        rs_traffic_destroy(t);

        {
                const char *av[] = {argv[0], "--bare-loop", brokers,
                                    "rum.events", NULL};
                fprintf(stderr, "bare consume loop...\n");
                bare = measure(av, bare_log);
        }
        {
                const char *av[] = {rs_it_bin("rum-aggregator"),
                                    "--until-eof",
                                    "--set",
                                    NULL,
                                    "--set",
                                    NULL,
                                    "--set",
                                    "window.idle_close_ms=0",
                                    "--set",
                                    "group_id=bench",
                                    NULL};
                char        b[512], d[512];
                snprintf(b, sizeof(b), "kafka_brokers=%s", brokers);
                snprintf(d, sizeof(d), "pg_dsn=%s", rs_test_pg_dsn(pg));
                av[3] = b;
                av[5] = d;
                fprintf(stderr, "rum-aggregator...\n");
                agg = measure(av, agg_log);
        }
        peak = peak_aggregates(agg_log);

        printf("\nrumstream benchmark: %ld events (%.1f MB, %.0f bytes "
               "each), %ld partitions, %ld tenants, %.0f events/s of event "
               "time\n\n",
               events, bytes / 1e6, bytes / (double)events, partitions, tenants,
               event_rate);
        printf("%-20s %10s %12s %15s %10s %12s\n", "", "CPU s", "us/event",
               "events/CPU-s", "wall s", "peak RSS MB");
        printf("%-20s %10.2f %12.3f %15.0f %10.2f %12.1f\n",
               "bare consume loop", bare.cpu_s, bare.cpu_s * 1e6 / events,
               events / bare.cpu_s, bare.wall_s, bare.maxrss_kb / 1024.0);
        printf("%-20s %10.2f %12.3f %15.0f %10.2f %12.1f\n", "rum-aggregator",
               agg.cpu_s, agg.cpu_s * 1e6 / events, events / agg.cpu_s,
               agg.wall_s, agg.maxrss_kb / 1024.0);
        printf("\nCPU per event, aggregator / bare loop: %.2fx (target: at "
               "most 2x)\n",
               agg.cpu_s / bare.cpu_s);
        if (peak > 0)
                printf("peak open aggregates: %ld; memory per open "
                       "aggregate: %.1f KiB (RSS above the bare loop's / "
                       "peak)\n",
                       peak,
                       (double)(agg.maxrss_kb - bare.maxrss_kb) / (double)peak);
        printf("rows written: %lld rum_page_views, %lld rum_aggregates\n",
               rs_it_pg_ll(rs_test_pg_dsn(pg),
                           "SELECT count(*) FROM rum_page_views"),
               rs_it_pg_ll(rs_test_pg_dsn(pg),
                           "SELECT count(*) FROM rum_aggregates"));
        if (bare.status != 0 || agg.status != 0)
                printf("WARNING: exit status bare %d, aggregator %d (logs in "
                       "%s)\n",
                       bare.status, agg.status, logdir);

        rs_avro_encoder_destroy(enc);
        rs_avro_registry_destroy(reg);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        if (bare.status == 0 && agg.status == 0) {
                char cmd[128];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", logdir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", logdir);
        }
        return bare.status == 0 && agg.status == 0 ? 0 : 1;
}
