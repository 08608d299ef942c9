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
 * of events, over the whole run and over its steady state: the CPU time
 * after a third of the input was consumed (sampled from /proc with the
 * child's message count: the bare loop prints it, the aggregator serves it
 * on /metrics) divided by the rest of the input, which leaves out start-up
 * and the warm-up of pools and buffers that a long-running processor pays
 * once. Wall-clock time is printed too, but the embedded cluster
 * serves only some 20-25 MB/s, so wall time mostly measures it: the CPU
 * ratio is the figure that matters. Memory per open aggregate is the
 * aggregator's peak RSS above the bare loop's, divided by the peak number
 * of (tenant, route, segment) aggregates it held open. Minor page faults
 * per event (first touches of memory the process did not hold) are
 * printed since they cost a good share of the CPU time of a process that
 * frees and reallocates a window's state at every window close.
 *
 * The two take turns --runs times (3 by default) on the same input, each
 * aggregator run a new consumer group on emptied aggregate tables; the
 * table shows the run of the median whole-run ratio, and every run's
 * figures follow, since a single run on a shared virtual machine varies
 * by some ±15%.
 *
 *   rs-bench [--events N] [--partitions N] [--tenants N] [--event-rate R]
 *            [--tenant-skew S] [--window-ms MS] [--runs N]
 *            [--agg-set NAME=VALUE]...
 *
 * --agg-set passes a setting to the aggregator (e.g. a librdkafka producer
 * property, kafka_producer.linger.ms=100), for trying settings out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <inttypes.h>
#include <math.h>
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
        long   minflt; /* minor page faults: first touches of fresh memory */
        int    status;
        /* CPU time and messages done when a third of the input was
         * consumed: what follows is the steady state, past start-up and
         * the warm-up of pools and buffers. */
        double mark_cpu_s;
        long   mark_minflt;
        long   mark_msgs;
} result_t;

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + sys) and minor page faults of a running process, from
 * /proc. @returns the CPU time, -1 if unknown. */
static double proc_cpu_s(pid_t pid, long *minflt) {
        char               path[64], buf[1024], *p;
        unsigned long long ut = 0, st = 0, mf = 0;
        FILE              *fp;
        size_t             n;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(fp = fopen(path, "r")))
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        /* Fields 10, 14 and 15, counted after the command name's ')'. */
        if (!(p = strrchr(buf, ')')) ||
            sscanf(p + 2,
                   "%*c %*d %*d %*d %*d %*d %*u %llu %*u %*u %*u %llu %llu",
                   &mf, &ut, &st) != 3)
                return -1;
        *minflt = (long)mf;
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Messages a process reported so far: -1 if not known yet. */
typedef long (*progress_fn)(pid_t pid, void *opaque);

/* Runs argv to completion and measures that process alone; samples its CPU
 * once \p progress reports at least \p mark messages. */
static result_t measure(const char *const *argv, const char *log,
                        progress_fn progress, void *opaque, long mark) {
        result_t      r = {0, 0, 0, 0, -1, -1, -1, -1};
        struct rusage ru;
        double        t0 = now_s();
        int           status;
        pid_t         pid = rs_it_spawn(argv, NULL, log);

        if (pid < 0)
                return r;
        for (;;) {
                pid_t w = wait4(pid, &status, WNOHANG, &ru);
                if (w == pid)
                        break;
                if (w == -1 && errno != EINTR)
                        return r;
                if (r.mark_msgs < 0) {
                        long   done = progress(pid, opaque), minflt = 0;
                        double cpu = proc_cpu_s(pid, &minflt);
                        if (done >= mark && cpu >= 0) {
                                r.mark_msgs   = done;
                                r.mark_cpu_s  = cpu;
                                r.mark_minflt = minflt;
                        }
                }
                usleep(20 * 1000);
        }
        r.wall_s = now_s() - t0;
        r.cpu_s  = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
        r.maxrss_kb = ru.ru_maxrss;
        r.minflt    = ru.ru_minflt;
        r.status    = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return r;
}

/* The bare loop prints "progress <n>" lines as it goes. */
static long bare_progress(pid_t pid, void *opaque) {
        (void)pid;
        return rs_it_log_number(opaque, "progress ");
}

/* Where an aggregator run logs, and the metrics port found there. */
typedef struct agg_watch_s {
        const char *log;
        int         port;
} agg_watch_t;

/* The aggregator's own counter, read from its metrics endpoint (the port
 * is in its log). */
static long agg_progress(pid_t pid, void *opaque) {
        agg_watch_t       *aw   = opaque;
        int               *port = &aw->port;
        const char        *log  = aw->log;
        struct sockaddr_in sa   = {0};
        char               buf[65536], *p;
        size_t             len = 0;
        ssize_t            n;
        int                fd;

#define NEEDLE "rumstream_messages_total "
        (void)pid;
        if (!*port &&
            (*port = (int)rs_it_log_number(log, "http://127.0.0.1:")) <= 0) {
                *port = 0;
                return -1;
        }
        sa.sin_family      = AF_INET;
        sa.sin_port        = htons((uint16_t)*port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
                return -1;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
            write(fd, "GET /metrics HTTP/1.0\r\n\r\n", 26) != 26) {
                close(fd);
                return -1;
        }
        while (len < sizeof(buf) - 1 &&
               (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)n;
        close(fd);
        buf[len] = '\0';
        p        = strstr(buf, "\n" NEEDLE);
        return p ? strtol(p + 1 + strlen(NEEDLE), NULL, 10) : -1;
#undef NEEDLE
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
                        if (++msgs % 10000 == 0) {
                                printf("progress %ld\n", msgs);
                                fflush(stdout);
                        }
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        printf("bare loop: %ld messages (checksum %" PRIu64 ")\n", msgs, sum);
        return 0;
}

/* The embedded cluster drops the oldest messages of a partition beyond a
 * few MiB; tenants, not partitions, decide how full each one gets. A
 * benchmark over lost input would measure nothing, so it stops. */
static void check_kept(rd_kafka_t *rk, const char *topic, int partitions,
                       long events) {
        int64_t lo, hi, kept = 0, biggest = 0;
        int     i;

        for (i = 0; i < partitions; i++) {
                if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi,
                                                     10000))
                        rs_it_die("watermarks of %s [%d]", topic, i);
                kept += hi - lo;
                if (hi > biggest)
                        biggest = hi;
                if (lo > 0)
                        rs_it_die("the embedded cluster dropped %" PRId64
                                  " messages of %s [%d] (it keeps about 5 MiB "
                                  "per partition): use fewer --events or more "
                                  "--tenants",
                                  lo, topic, i);
        }
        if (kept != events)
                rs_it_die("%s holds %" PRId64 " of %ld events", topic, kept,
                          events);
        fprintf(stderr,
                "all %ld events kept; the fullest partition has %" PRId64 "\n",
                events, biggest);
}

/* CPU per message after the mark (the steady state), in microseconds. */
static double steady_us(const result_t *r, long events) {
        if (r->mark_msgs < 0 || r->mark_msgs >= events)
                return NAN;
        return (r->cpu_s - r->mark_cpu_s) * 1e6 /
               (double)(events - r->mark_msgs);
}

static void print_row(const char *name, const result_t *r, long events) {
        double steady_flt = NAN;

        if (r->mark_msgs >= 0 && r->mark_msgs < events)
                steady_flt = (double)(r->minflt - r->mark_minflt) /
                             (double)(events - r->mark_msgs);
        printf("%-20s %7.2f %9.3f %12.0f %9.3f %7.2f %7.1f %9.3f %9.3f\n", name,
               r->cpu_s, r->cpu_s * 1e6 / events, events / r->cpu_s,
               steady_us(r, events), r->wall_s, r->maxrss_kb / 1024.0,
               (double)r->minflt / (double)events, steady_flt);
}

#define RUNS_MAX 10

/* The index of the median of v[0..n) (the lower one for even n); NaNs
 * count as largest. */
static int median_run(const double *v, int n) {
        int i, j;

        for (i = 0; i < n; i++) {
                int below = 0, same_before = 0;

                for (j = 0; j < n; j++) {
                        int lt = v[j] < v[i] || (isnan(v[i]) && !isnan(v[j]));
                        below += lt;
                        same_before +=
                            j < i && !lt && !(v[i] < v[j]) &&
                            (v[j] == v[i] || (isnan(v[i]) && isnan(v[j])));
                }
                if (below + same_before == (n - 1) / 2)
                        return i;
        }
        return 0;
}

int main(int argc, char **argv) {
        long                 events = 200000, partitions = 256, tenants = 24;
        double               event_rate = 500, tenant_skew = 0;
        long                 window_ms = 60000;
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_traffic_conf_t    tc;
        rs_traffic_t        *t;
        rs_rum_event_t       ev;
        rs_avro_registry_t  *reg = NULL;
        rs_avro_encoder_t   *enc = NULL;
        result_t             bare_r[RUNS_MAX], agg_r[RUNS_MAX], bare, agg;
        long                 peak_r[RUNS_MAX], peak;
        double               ratio[RUNS_MAX], sratio[RUNS_MAX];
        char err[512], logdir[] = "/tmp/rs-bench.XXXXXX", bare_log[64],
                       agg_log[64];
        const char *brokers;
        double      bytes = 0;
        long        i, runs = 3;
        const char *agg_set[16];
        int         k, r, med, nset = 0, failed = 0;

        if (argc == 4 && !strcmp(argv[1], "--bare-loop"))
                return bare_loop(argv[2], argv[3]);
        for (k = 1; k + 1 < argc; k += 2) {
                if (!strcmp(argv[k], "--events"))
                        events = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--partitions"))
                        partitions = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--tenants"))
                        tenants = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--window-ms"))
                        window_ms = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--tenant-skew"))
                        tenant_skew = atof(argv[k + 1]);
                else if (!strcmp(argv[k], "--event-rate"))
                        event_rate = atof(argv[k + 1]);
                else if (!strcmp(argv[k], "--runs"))
                        runs = atol(argv[k + 1]);
                else if (!strcmp(argv[k], "--agg-set") && nset < 16)
                        agg_set[nset++] = argv[k + 1];
                else
                        break;
        }
        if (k < argc || events <= 0 || partitions <= 0 || tenants <= 0 ||
            event_rate <= 0 || window_ms < 1000 || runs < 1 ||
            runs > RUNS_MAX) {
                fprintf(stderr, "usage: rs-bench [--events N] [--partitions "
                                "N] [--tenants N] [--event-rate R] "
                                "[--tenant-skew S] [--window-ms MS] "
                                "[--runs N] [--agg-set NAME=VALUE]...\n");
                return 2;
        }
        if (!mkdtemp(logdir))
                rs_it_die("mkdtemp: %s", strerror(errno));

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
        /* Equally busy tenants by default: with the generator's usual skew
         * the busiest tenant's partition outgrows the embedded cluster. */
        tc.tenant_skew = tenant_skew;
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
        check_kept(rs_kafka_producer_handle(prod), "rum.events",
                   (int)partitions, events);

        /* The two alternate, so that both see the machine in the same
         * moods: one run of each is too noisy on a shared virtual machine
         * to tell a change of 10% from chance. Each aggregator run is a
         * new consumer group on emptied aggregate tables, so all of them
         * do the same work. */
        for (r = 0; r < runs; r++) {
                const char *bav[]           = {argv[0], "--bare-loop", brokers,
                                               "rum.events", NULL};
                const char *av[15 + 2 * 16] = {rs_it_bin("rum-aggregator"),
                                               "--until-eof",
                                               "--set",
                                               NULL,
                                               "--set",
                                               NULL,
                                               "--set",
                                               "window.idle_close_ms=0",
                                               "--set",
                                               NULL,
                                               "--set",
                                               "metrics_port=0",
                                               "--set",
                                               NULL,
                                               NULL};
                char        b[512], d[512], wnd[64], grp[64];
                agg_watch_t aw = {agg_log, 0};

                snprintf(bare_log, sizeof(bare_log), "%s/bare-%d.log", logdir,
                         r + 1);
                snprintf(agg_log, sizeof(agg_log), "%s/aggregator-%d.log",
                         logdir, r + 1);
                fprintf(stderr, "run %d of %ld: bare consume loop...\n", r + 1,
                        runs);
                bare_r[r] =
                    measure(bav, bare_log, bare_progress, bare_log, events / 3);

                if (r > 0 &&
                    rs_it_pg_ll(rs_test_pg_dsn(pg),
                                "TRUNCATE rum_page_views, rum_aggregates; "
                                "SELECT 1") != 1)
                        rs_it_die("could not empty the aggregate tables");
                snprintf(b, sizeof(b), "kafka_brokers=%s", brokers);
                snprintf(d, sizeof(d), "pg_dsn=%s", rs_test_pg_dsn(pg));
                snprintf(wnd, sizeof(wnd), "window.size_ms=%ld", window_ms);
                snprintf(grp, sizeof(grp), "group_id=bench-%d", r + 1);
                av[3]  = b;
                av[5]  = d;
                av[9]  = grp;
                av[13] = wnd;
                for (k = 0; k < nset; k++) {
                        av[14 + 2 * k] = "--set";
                        av[15 + 2 * k] = agg_set[k];
                }
                fprintf(stderr, "run %d of %ld: rum-aggregator...\n", r + 1,
                        runs);
                agg_r[r]  = measure(av, agg_log, agg_progress, &aw, events / 3);
                peak_r[r] = rs_it_log_number(agg_log, "peak open aggregates: ");
                ratio[r]  = agg_r[r].cpu_s / bare_r[r].cpu_s;
                sratio[r] = steady_us(&agg_r[r], events) /
                            steady_us(&bare_r[r], events);
                if (bare_r[r].status != 0 || agg_r[r].status != 0)
                        failed = 1;
        }
        /* The table shows the run of the median whole-run ratio: one real
         * run rather than a mix of columns. */
        med  = median_run(ratio, (int)runs);
        bare = bare_r[med];
        agg  = agg_r[med];
        peak = peak_r[med];

        printf("\nrumstream benchmark: %ld events (%.1f MB, %.0f bytes "
               "each), %ld partitions, %ld tenants (skew %g), %.0f events/s "
               "of event time, %ld s windows\n\n",
               events, bytes / 1e6, bytes / (double)events, partitions, tenants,
               tenant_skew, event_rate, window_ms / 1000);
        printf("%-20s %7s %9s %12s %9s %7s %7s %9s %9s\n", "", "CPU s",
               "us/event", "events/CPU-s", "steady us", "wall s", "RSS MB",
               "faults/ev", "steady");
        print_row("bare consume loop", &bare, events);
        print_row("rum-aggregator", &agg, events);
        if (runs > 1) {
                printf("(run %d of %ld, the median by the whole-run ratio)\n\n",
                       med + 1, runs);
                printf("%-6s %11s %11s %11s %11s %8s %8s\n", "run",
                       "bare us/ev", "steady", "agg us/ev", "steady", "ratio",
                       "steady");
                for (r = 0; r < runs; r++)
                        printf("%-6d %11.3f %11.3f %11.3f %11.3f %7.2fx "
                               "%7.2fx\n",
                               r + 1, bare_r[r].cpu_s * 1e6 / events,
                               steady_us(&bare_r[r], events),
                               agg_r[r].cpu_s * 1e6 / events,
                               steady_us(&agg_r[r], events), ratio[r],
                               sratio[r]);
        }
        printf("\nCPU per event, aggregator / bare loop: %.2fx over the whole "
               "run, %.2fx in the steady state (target: at most 2x)",
               ratio[med], sratio[med]);
        if (runs > 1)
                printf("; medians of %ld runs: %.2fx and %.2fx", runs,
                       ratio[median_run(ratio, (int)runs)],
                       sratio[median_run(sratio, (int)runs)]);
        printf("\n");
        printf("steady state: the last two thirds of the input, after "
               "start-up and the warm-up of pools and buffers\n");
        if (peak > 0)
                printf("peak open aggregates: %ld; memory per open "
                       "aggregate: %.1f KiB (RSS above the bare loop's / "
                       "peak)\n",
                       peak,
                       (double)(agg.maxrss_kb - bare.maxrss_kb) / (double)peak);
        {
                long long aggs =
                    rs_it_pg_ll(rs_test_pg_dsn(pg), "SELECT count(*) FROM "
                                                    "rum_page_views");
                if (aggs > 0)
                        printf("aggregates emitted: %lld, %.1f events per "
                               "aggregate\n",
                               aggs, (double)events / (double)aggs);
        }
        printf("rows written: %lld rum_page_views, %lld rum_aggregates\n",
               rs_it_pg_ll(rs_test_pg_dsn(pg),
                           "SELECT count(*) FROM rum_page_views"),
               rs_it_pg_ll(rs_test_pg_dsn(pg),
                           "SELECT count(*) FROM rum_aggregates"));
        if (failed)
                printf("WARNING: a child exited with an error (logs in %s)\n",
                       logdir);

        rs_avro_encoder_destroy(enc);
        rs_avro_registry_destroy(reg);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        if (!failed) {
                char cmd[128];
                snprintf(cmd, sizeof(cmd), "rm -rf %s", logdir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", logdir);
        }
        return bare.status == 0 && agg.status == 0 ? 0 : 1;
}
