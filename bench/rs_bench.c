/*
 * rs-bench: what the rum-aggregator costs next to the cheapest possible
 * consumer of the same topic, and next to the cheapest possible writer of
 * its output.
 *
 * One run: a throwaway PostgreSQL and the embedded Kafka are started, a
 * topic is filled with generated page views (spread over enough partitions
 * that the embedded cluster, which keeps only the newest few MiB of each,
 * loses nothing), then two child processes read all of it:
 *   1. a bare librdkafka consume loop (rd_kafka_consumer_poll until every
 *      partition reports its end, touching each payload), and
 *   2. rum-aggregator --until-eof, writing to Kafka and PostgreSQL;
 * and a third writes what the aggregator wrote, computing nothing:
 *   3. a bare output loop (bare_output()), as many Kafka messages of the
 *      same average size through the same producer, and the very COPY
 *      rows, the floor that the output contract sets for any aggregator.
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
 * of (tenant, route, segment) aggregates it held open: an upper bound,
 * since that difference also holds the aggregator's output buffers and
 * its fuller prefetch queue (it reads slower than the embedded cluster
 * serves); the sketch pool's size per open aggregate, the aggregator's
 * own count of the bulk of that memory, is the lower bound printed beside
 * it. Minor page faults per event (first touches of memory the
 * process did not hold) are printed since they cost a good share of the
 * CPU time of a process that frees and reallocates a window's state at
 * every window close.
 *
 * The three take turns --runs times (3 by default) on the same input, each
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

#include <libpq-fe.h>

#include "rumstream/avro.h"
#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"

typedef struct result_s {
        double cpu_s, wall_s;
        long   maxrss_kb; /* peak RSS since exec, sampled from /proc */
        long   minflt;    /* minor page faults: first touches of fresh memory */
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

/* A process's peak RSS (VmHWM) in KiB, or -1. Not wait4's ru_maxrss:
 * Linux counts into that the pages a forked child shared with its parent
 * before exec, here the benchmark's own, embedded cluster and all, which
 * outgrow the children. */
static long proc_hwm_kb(pid_t pid) {
        char  path[64], line[256];
        long  kb = -1;
        FILE *fp;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        if (!(fp = fopen(path, "r")))
                return -1;
        while (fgets(line, sizeof(line), fp))
                if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                        break;
        fclose(fp);
        return kb;
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
                {
                        /* The last reading: VmHWM only grows within one
                         * image, and one taken before the exec was the
                         * parent's. */
                        long hwm = proc_hwm_kb(pid);
                        if (hwm >= 0)
                                r.maxrss_kb = hwm;
                }
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
        r.minflt = ru.ru_minflt;
        r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

/* The output tables, in the order a checkpoint writes them. */
static const char *const out_tables[] = {"rum_page_views", "rum_aggregates"};
#define OUT_TABLES (sizeof(out_tables) / sizeof(out_tables[0]))

/*
 * The aggregator's output with nothing computed: as many Kafka messages as
 * it produced, of its average size, keyed over as many tenants and each with
 * an rs.id header, through the same producer, synced as often as it synced
 * (once per checkpoint: every \p per_sync messages), then its very COPY
 * rows (exported from its tables in COPY's binary format, read back from a
 * file in 1 MiB pieces) into scratch tables. This is what writing the
 * results costs whatever computes them: with the bare loop, the floor of
 * any processor bound to the same output contract.
 */
static int bare_output(const char *brokers, const char *topic, const char *dsn,
                       const char *dir, long msgs, long bytes, long keys,
                       long per_sync) {
        static char          buf[1 << 20];
        rs_kafka_producer_t *p;
        PGconn              *conn;
        PGresult            *res;
        char                 err[512], key[32], id[33], path[512];
        unsigned char       *val;
        size_t               size, t;
        long                 i, rows = 0;

        if (msgs <= 0 || bytes < msgs || keys <= 0 || per_sync <= 0)
                return 2;
        size = (size_t)(bytes / msgs);
        if (!(val = malloc(size)))
                return 1;
        for (t = 0; t < size; t++)
                val[t] = (unsigned char)(t * 131 + 7);
        if (!(p = rs_kafka_producer_new(brokers, NULL, err, sizeof(err)))) {
                fprintf(stderr, "bare output: %s\n", err);
                return 1;
        }
        for (i = 0; i < msgs; i++) {
                rd_kafka_headers_t *h = rd_kafka_headers_new(1);

                if (size >= sizeof(i))
                        memcpy(val, &i, sizeof(i));
                snprintf(key, sizeof(key), "tenant-%ld", i % keys);
                snprintf(id, sizeof(id), "%032lx", (unsigned long)i);
                rs_kafka_header_str(h, "rs.id", id);
                if (rs_kafka_produce(p, topic, key, strlen(key), val, size, h,
                                     err, sizeof(err)) == -1 ||
                    ((i + 1) % per_sync == 0 &&
                     rs_kafka_producer_sync(p, 60000, err, sizeof(err)))) {
                        fprintf(stderr, "bare output: %s\n", err);
                        return 1;
                }
        }
        if (rs_kafka_producer_sync(p, 60000, err, sizeof(err))) {
                fprintf(stderr, "bare output: %s\n", err);
                return 1;
        }
        rs_kafka_producer_destroy(p);
        free(val);

        conn = PQconnectdb(dsn);
        if (PQstatus(conn) != CONNECTION_OK) {
                fprintf(stderr, "bare output: %s", PQerrorMessage(conn));
                return 1;
        }
        for (t = 0; t < OUT_TABLES; t++) {
                FILE  *fp;
                size_t n;
                int    ok;

                snprintf(buf, sizeof(buf),
                         "CREATE TEMP TABLE bare_%s (LIKE %s); COPY bare_%s "
                         "FROM STDIN (FORMAT binary)",
                         out_tables[t], out_tables[t], out_tables[t]);
                res = PQexec(conn, buf);
                ok  = PQresultStatus(res) == PGRES_COPY_IN;
                PQclear(res);
                snprintf(path, sizeof(path), "%s/%s.copy", dir, out_tables[t]);
                if (!ok || !(fp = fopen(path, "rb"))) {
                        fprintf(stderr, "bare output: %s: %s", out_tables[t],
                                PQerrorMessage(conn));
                        return 1;
                }
                while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
                        if (PQputCopyData(conn, buf, (int)n) != 1)
                                break;
                fclose(fp);
                ok  = PQputCopyEnd(conn, NULL) == 1;
                res = PQgetResult(conn);
                ok  = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
                if (ok)
                        rows += atol(PQcmdTuples(res));
                PQclear(res);
                if (!ok) {
                        fprintf(stderr, "bare output: %s: %s", out_tables[t],
                                PQerrorMessage(conn));
                        return 1;
                }
                while ((res = PQgetResult(conn)))
                        PQclear(res);
        }
        PQfinish(conn);
        printf("bare output: %ld messages, %ld bytes, %ld rows\n", msgs, bytes,
               rows);
        return 0;
}

/* Exports the aggregator's rows to DIR/<table>.copy for bare_output(). */
static void export_rows(const char *dsn, const char *dir) {
        PGconn *conn = PQconnectdb(dsn);
        size_t  t;

        if (PQstatus(conn) != CONNECTION_OK)
                rs_it_die("export: %s", PQerrorMessage(conn));
        for (t = 0; t < OUT_TABLES; t++) {
                char      sql[128], path[512], *row;
                PGresult *res;
                FILE     *fp = NULL;
                int       n;

                snprintf(sql, sizeof(sql), "COPY %s TO STDOUT (FORMAT binary)",
                         out_tables[t]);
                snprintf(path, sizeof(path), "%s/%s.copy", dir, out_tables[t]);
                res = PQexec(conn, sql);
                if (PQresultStatus(res) != PGRES_COPY_OUT ||
                    !(fp = fopen(path, "wb")))
                        rs_it_die("export %s: %s", out_tables[t],
                                  PQerrorMessage(conn));
                PQclear(res);
                while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
                        if (fwrite(row, 1, (size_t)n, fp) != (size_t)n)
                                rs_it_die("export %s: short write", path);
                        PQfreemem(row);
                }
                if (n != -1 || fclose(fp) != 0)
                        rs_it_die("export %s: %s", out_tables[t],
                                  PQerrorMessage(conn));
                while ((res = PQgetResult(conn))) {
                        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                                rs_it_die("export %s: %s", out_tables[t],
                                          PQerrorMessage(conn));
                        PQclear(res);
                }
        }
        PQfinish(conn);
}

/* No progress to sample: the bare output has no steady state of its own. */
static long no_progress(pid_t pid, void *opaque) {
        (void)pid;
        (void)opaque;
        return -1;
}

/* Measures bare_output() on what the aggregator run that logged to
 * \p agg_log wrote. */
static result_t output_run(const char *self, const char *brokers,
                           const char *dsn, const char *dir,
                           const char *agg_log, long tenants, int run) {
        long        msgs  = rs_it_log_number(agg_log, "aggregates produced: ");
        long        bytes = rs_it_log_number(agg_log, "aggregate bytes: ");
        long        cps   = rs_it_log_number(agg_log, "checkpoints: ");
        char        a_msgs[32], a_bytes[32], a_keys[32], a_sync[32], log[512];
        const char *av[] = {
            self,   "--bare-output", brokers, "bench.output", dsn, dir,
            a_msgs, a_bytes,         a_keys,  a_sync,         NULL};

        snprintf(a_msgs, sizeof(a_msgs), "%ld", msgs);
        snprintf(a_bytes, sizeof(a_bytes), "%ld", bytes);
        snprintf(a_keys, sizeof(a_keys), "%ld", tenants);
        snprintf(a_sync, sizeof(a_sync), "%ld",
                 cps > 0 ? (msgs + cps - 1) / cps : -1);
        snprintf(log, sizeof(log), "%s/output-%d.log", dir, run);
        export_rows(dsn, dir);
        fprintf(stderr,
                "run %d: bare output loop (%ld messages, %ld bytes, synced "
                "every %s)...\n",
                run, msgs, bytes, a_sync);
        return measure(av, log, no_progress, NULL, 0);
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

/* A figure in a column of \p width, "-" when there is none. */
static void print_num(int width, int prec, double v) {
        if (isnan(v))
                printf(" %*s", width, "-");
        else
                printf(" %*.*f", width, prec, v);
}

static void print_row(const char *name, const result_t *r, long events) {
        double steady_flt = NAN;

        if (r->mark_msgs >= 0 && r->mark_msgs < events)
                steady_flt = (double)(r->minflt - r->mark_minflt) /
                             (double)(events - r->mark_msgs);
        printf("%-20s", name);
        print_num(7, 2, r->cpu_s);
        print_num(9, 3, r->cpu_s * 1e6 / events);
        print_num(12, 0, events / r->cpu_s);
        print_num(9, 3, steady_us(r, events));
        print_num(7, 2, r->wall_s);
        print_num(7, 1, r->maxrss_kb / 1024.0);
        print_num(9, 3, (double)r->minflt / (double)events);
        print_num(9, 3, steady_flt);
        printf("\n");
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
        result_t bare_r[RUNS_MAX], agg_r[RUNS_MAX], out_r[RUNS_MAX], bare, agg,
            out;
        long   peak_r[RUNS_MAX], pool_r[RUNS_MAX], peak;
        double ratio[RUNS_MAX], sratio[RUNS_MAX], oratio[RUNS_MAX];
        char   err[512], logdir[] = "/tmp/rs-bench.XXXXXX", bare_log[64],
                       agg_log[64];
        const char *brokers;
        double      bytes = 0;
        long        i, runs = 3;
        const char *agg_set[16];
        int         k, r, med, nset = 0, failed = 0;

        if (argc == 4 && !strcmp(argv[1], "--bare-loop"))
                return bare_loop(argv[2], argv[3]);
        if (argc == 10 && !strcmp(argv[1], "--bare-output"))
                return bare_output(argv[2], argv[3], argv[4], argv[5],
                                   atol(argv[6]), atol(argv[7]), atol(argv[8]),
                                   atol(argv[9]));
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
            rs_kafka_mock_topic(mock, "bench.output", 64, err, sizeof(err)) ||
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
                pool_r[r] = rs_it_log_number(agg_log, "sketch pool: ");
                ratio[r]  = agg_r[r].cpu_s / bare_r[r].cpu_s;
                sratio[r] = steady_us(&agg_r[r], events) /
                            steady_us(&bare_r[r], events);

                /* Its output, written again with nothing computed. */
                out_r[r]  = output_run(argv[0], brokers, rs_test_pg_dsn(pg),
                                       logdir, agg_log, tenants, r + 1);
                oratio[r] = agg_r[r].cpu_s / (bare_r[r].cpu_s + out_r[r].cpu_s);
                if (bare_r[r].status != 0 || agg_r[r].status != 0 ||
                    out_r[r].status != 0)
                        failed = 1;
        }
        /* The table shows the run of the median whole-run ratio: one real
         * run rather than a mix of columns. */
        med  = median_run(ratio, (int)runs);
        bare = bare_r[med];
        agg  = agg_r[med];
        out  = out_r[med];
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
        print_row("bare output loop", &out, events);
        print_row("rum-aggregator", &agg, events);
        if (runs > 1) {
                printf("(run %d of %ld, the median by the whole-run ratio)\n\n",
                       med + 1, runs);
                printf("%-6s %11s %11s %11s %11s %11s %8s %8s %8s\n", "run",
                       "bare us/ev", "steady", "output us/ev", "agg us/ev",
                       "steady", "ratio", "steady", "/ I/O");
                for (r = 0; r < runs; r++)
                        printf("%-6d %11.3f %11.3f %11.3f %11.3f %11.3f "
                               "%7.2fx %7.2fx %7.2fx\n",
                               r + 1, bare_r[r].cpu_s * 1e6 / events,
                               steady_us(&bare_r[r], events),
                               out_r[r].cpu_s * 1e6 / events,
                               agg_r[r].cpu_s * 1e6 / events,
                               steady_us(&agg_r[r], events), ratio[r],
                               sratio[r], oratio[r]);
        }
        printf("\nCPU per event, aggregator / bare loop: %.2fx over the whole "
               "run, %.2fx in the steady state (target: at most 2x)",
               ratio[med], sratio[med]);
        if (runs > 1)
                printf("; medians of %ld runs: %.2fx and %.2fx", runs,
                       ratio[median_run(ratio, (int)runs)],
                       sratio[median_run(sratio, (int)runs)]);
        printf("\n");
        printf("the output alone (bare output loop): %.2fx the bare loop; "
               "aggregator / (bare loop + bare output): %.2fx",
               out.cpu_s / bare.cpu_s, oratio[med]);
        if (runs > 1)
                printf("; median of %ld runs: %.2fx", runs,
                       oratio[median_run(oratio, (int)runs)]);
        printf("\n");
        printf("steady state: the last two thirds of the input, after "
               "start-up and the warm-up of pools and buffers\n");
        if (peak > 0)
                printf("peak open aggregates: %ld; memory per open "
                       "aggregate: at most %.1f KiB (peak RSS above the bare "
                       "loop's / peak, which also counts the aggregator's "
                       "output buffers and fuller prefetch queue), at least "
                       "%.1f KiB (its sketch pool / peak)\n",
                       peak,
                       (double)(agg.maxrss_kb - bare.maxrss_kb) / (double)peak,
                       (double)pool_r[med] / (double)peak);
        {
                long long aggs =
                    rs_it_pg_ll(rs_test_pg_dsn(pg), "SELECT count(*) FROM "
                                                    "rum_page_views");
                long obytes = rs_it_log_number(agg_log, "aggregate bytes: ");
                if (aggs > 0)
                        printf("aggregates emitted: %lld, %.1f events per "
                               "aggregate, %.0f bytes per Kafka message\n",
                               aggs, (double)events / (double)aggs,
                               (double)obytes / (double)aggs);
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
        return failed ? 1 : 0;
}
