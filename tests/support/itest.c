/*
 * itest: integration-test helpers. See itest.h.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/avro.h"
#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include <libpq-fe.h>

#include "itest.h"

extern char **environ;

const char *rs_it_bin(const char *name) {
        static char path[4][1024];
        static int  n;
        char       *p = path[n++ % 4];

        if (!strcmp(name, "rumctl"))
                snprintf(p, 1024, "%s/rumctl", RS_BINARY_DIR);
        else
                snprintf(p, 1024, "%s/%s", RS_BINARY_DIR, name);
        return p;
}

void rs_it_die(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        fprintf(stderr, "FATAL: ");
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(1);
}

int64_t rs_it_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                ;
}

pid_t rs_it_spawn(const char *const *argv, const char *const *env,
                  const char *log_path) {
        pid_t pid = fork();

        if (pid == -1)
                return -1;
        if (pid == 0) {
                int    fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
                size_t i;
                if (fd >= 0) {
                        dup2(fd, 1);
                        dup2(fd, 2);
                        close(fd);
                }
                for (i = 0; env && env[i]; i++)
                        putenv((char *)env[i]);
                execv(argv[0], (char *const *)argv);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        return pid;
}

int rs_it_wait_exit(pid_t pid, int timeout_ms) {
        int64_t deadline = rs_it_now_ms() + timeout_ms;
        int     status;

        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        if (WIFEXITED(status))
                                return WEXITSTATUS(status);
                        if (WIFSIGNALED(status))
                                return 128 + WTERMSIG(status);
                        return -1;
                }
                if (r == -1 && errno != EINTR)
                        return -1;
                if (rs_it_now_ms() > deadline) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        return -1;
                }
                sleep_ms(20);
        }
}

int rs_it_wait_for(int (*cond)(void *opaque), void *opaque, int timeout_ms) {
        int64_t deadline = rs_it_now_ms() + timeout_ms;

        for (;;) {
                if (cond(opaque))
                        return 1;
                if (rs_it_now_ms() > deadline)
                        return 0;
                sleep_ms(20);
        }
}

/* The test process's encoder of schema \p id (one per id, kept). */
static rs_avro_encoder_t *encoder(int32_t id) {
        static rs_avro_registry_t *reg;
        static rs_avro_encoder_t  *enc[16];
        char                       err[512];

        if (id < 0 || id >= 16)
                rs_it_die("no encoder for schema %d", (int)id);
        if (!reg && !(reg = rs_avro_registry_new(err, sizeof(err))))
                rs_it_die("avro: %s", err);
        if (!enc[id] &&
            !(enc[id] = rs_avro_encoder_new(reg, id, err, sizeof(err))))
                rs_it_die("avro: %s", err);
        return enc[id];
}

/* Encodes the value a writer filled in (\p written: its result) and
 * produces it keyed by \p tenant. */
static void produce_encoded(rs_kafka_producer_t *p, const char *topic,
                            rs_avro_encoder_t *enc, int written,
                            const char *tenant) {
        const void *buf;
        size_t      len;
        char        err[512] = "a required field is missing";

        if (written == -1 ||
            rs_avro_encoder_encode(enc, &buf, &len, err, sizeof(err)) == -1)
                rs_it_die("encode: %s", err);
        rs_it_produce_raw(p, topic, tenant, buf, len);
}

void rs_it_produce_event(rs_kafka_producer_t *p, const char *topic,
                         const rs_rum_event_t *ev) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_RUM_EVENT);

        produce_encoded(p, topic, enc,
                        rs_rum_event_write(rs_avro_encoder_value(enc), ev),
                        ev->tenant_id);
}

void rs_it_produce_error(rs_kafka_producer_t *p, const char *topic,
                         const rs_error_event_t *ev) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_ERROR_EVENT);

        produce_encoded(p, topic, enc,
                        rs_error_event_write(rs_avro_encoder_value(enc), ev),
                        ev->tenant_id);
}

void rs_it_produce_synthetic(rs_kafka_producer_t *p, const char *topic,
                             const rs_synthetic_result_t *r) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_SYNTHETIC_RESULT);

        produce_encoded(
            p, topic, enc,
            rs_synthetic_result_write(rs_avro_encoder_value(enc), r),
            r->tenant_id);
}

void rs_it_produce_issue(rs_kafka_producer_t *p, const char *topic,
                         const rs_issue_t *is) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_ISSUE);

        produce_encoded(p, topic, enc,
                        rs_issue_write(rs_avro_encoder_value(enc), is),
                        is->tenant_id);
}

void rs_it_produce_aggregate(rs_kafka_producer_t *p, const char *topic,
                             const rs_rum_aggregate_t *agg) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_RUM_AGGREGATE);

        produce_encoded(p, topic, enc,
                        rs_rum_aggregate_write(rs_avro_encoder_value(enc), agg),
                        agg->tenant_id);
}

void rs_it_produce_error_aggregate(rs_kafka_producer_t *p, const char *topic,
                                   const rs_error_aggregate_t *agg) {
        rs_avro_encoder_t *enc = encoder(RS_SCHEMA_ID_ERROR_AGGREGATE);

        produce_encoded(
            p, topic, enc,
            rs_error_aggregate_write(rs_avro_encoder_value(enc), agg),
            agg->tenant_id);
}

void rs_it_produce_raw(rs_kafka_producer_t *p, const char *topic,
                       const char *key, const void *buf, size_t len) {
        char err[512];

        if (rs_kafka_produce(p, topic, key, key ? strlen(key) : 0, buf, len,
                             NULL, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
}

long rs_it_read_topic(const char *brokers, const char *topic,
                      rs_it_msg_t **msgsp, int timeout_ms) {
        rd_kafka_conf_t                 *conf = rd_kafka_conf_new();
        rd_kafka_t                      *rk;
        const struct rd_kafka_metadata  *md = NULL;
        rd_kafka_topic_partition_list_t *list;
        rs_it_msg_t                     *msgs = NULL;
        long                             cnt = 0, cap = 0, expect = 0;
        int64_t                          deadline = rs_it_now_ms() + timeout_ms;
        rd_kafka_topic_t                *rkt;
        char                             err[512];
        int                              i;

        rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err));
        rd_kafka_conf_set(conf, "group.id", rs_it_unique("reader"), err,
                          sizeof(err));
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err,
                          sizeof(err));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk)
                rs_it_die("reader: %s", err);
        rkt = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) || md->topics[0].err)
                rs_it_die("metadata of %s failed", topic);
        list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (i = 0; i < md->topics[0].partition_cnt; i++) {
                int64_t lo, hi;
                int32_t id = md->topics[0].partitions[i].id;
                if (rd_kafka_query_watermark_offsets(rk, topic, id, &lo, &hi,
                                                     10000))
                        rs_it_die("watermarks of %s failed", topic);
                expect += hi - lo;
                rd_kafka_topic_partition_list_add(list, topic, id)->offset = lo;
        }
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);

        while (cnt < expect && rs_it_now_ms() < deadline) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
                rs_it_msg_t        *o;
                if (!m)
                        continue;
                if (m->err) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                if (cnt == cap) {
                        cap  = cap ? cap * 2 : 1024;
                        msgs = realloc(msgs, (size_t)cap * sizeof(*msgs));
                        if (!msgs)
                                rs_it_die("out of memory");
                }
                o = &msgs[cnt++];
                memset(o, 0, sizeof(*o));
                o->key   = m->key ? strndup(m->key, m->key_len) : NULL;
                o->value = malloc(m->len ? m->len : 1);
                memcpy(o->value, m->payload, m->len);
                o->len       = m->len;
                o->partition = m->partition;
                o->offset    = m->offset;
                rs_kafka_header_get(m, RS_DLQ_REASON, o->reason,
                                    sizeof(o->reason));
                rs_kafka_header_get(m, "rs.id", o->id, sizeof(o->id));
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        *msgsp = msgs;
        return cnt == expect ? cnt : -1;
}

void rs_it_msgs_free(rs_it_msg_t *msgs, long cnt) {
        long i;

        for (i = 0; i < cnt; i++) {
                free(msgs[i].key);
                free(msgs[i].value);
        }
        free(msgs);
}

const char *rs_it_unique(const char *prefix) {
        static char buf[8][128];
        static int  n;
        char       *p = buf[n % 8];

        snprintf(p, 128, "%s-%d-%d", prefix, (int)getpid(), n);
        n++;
        return p;
}

pid_t rs_it_start_aggregator(const char *brokers, const char *dsn,
                             const char *group, int until_eof,
                             const char *const *extra, const char *log_path) {
        return rs_it_start_processor("rum-aggregator", brokers, dsn, group,
                                     until_eof, extra, log_path);
}

pid_t rs_it_start_processor(const char *name, const char *brokers,
                            const char *dsn, const char *group, int until_eof,
                            const char *const *extra, const char *log_path) {
        static char sets[8][512];
        const char *argv[64];
        int         n = 0, s = 0;
        size_t      i;

        argv[n++] = rs_it_bin(name);
        if (until_eof)
                argv[n++] = "--until-eof";
#define SET(...)                                                               \
        do {                                                                   \
                snprintf(sets[s], sizeof(sets[s]), __VA_ARGS__);               \
                argv[n++] = "--set";                                           \
                argv[n++] = sets[s++];                                         \
        } while (0)
        SET("kafka_brokers=%s", brokers);
        SET("pg_dsn=%s", dsn);
        SET("group_id=%s", group);
        /* Consumer groups on the embedded cluster rebalance slowly with
         * the default timeouts. */
        SET("kafka_consumer.session.timeout.ms=6000");
        SET("kafka_consumer.heartbeat.interval.ms=500");
#undef SET
        for (i = 0; extra && extra[i] && n < 60; i++) {
                argv[n++] = "--set";
                argv[n++] = extra[i];
        }
        argv[n] = NULL;
        return rs_it_spawn(argv, NULL, log_path);
}

const char *rs_it_dsn_db(const char *dsn, const char *db) {
        static char buf[4][512];
        static int  k;
        char       *out = buf[k++ % 4];
        const char *p   = strstr(dsn, "dbname=");
        size_t      pre;

        if (!p) {
                snprintf(out, 512, "%s dbname=%s", dsn, db);
                return out;
        }
        pre = (size_t)(p - dsn);
        p += strcspn(p, " ");
        snprintf(out, 512, "%.*sdbname=%s%s", (int)pre, dsn, db, p);
        return out;
}

static PGconn *connect_or_die(const char *dsn) {
        PGconn *c = PQconnectdb(dsn);

        if (PQstatus(c) != CONNECTION_OK)
                rs_it_die("connect %s: %s", dsn, PQerrorMessage(c));
        return c;
}

void rs_it_create_db(const char *dsn, const char *db) {
        PGconn   *c = connect_or_die(dsn);
        char      sql[256];
        PGresult *r;

        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", db);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
                rs_it_die("%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
}

char *rs_it_table_digest(const char *dsn, const char *table,
                         const char *order_by) {
        PGconn   *c = connect_or_die(dsn);
        char      sql[1024], *out;
        PGresult *r;

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, "
                 "E'\\n' ORDER BY %s)), '') FROM %s t",
                 order_by, table);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                rs_it_die("%s: %s", sql, PQerrorMessage(c));
        out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        return out;
}

long long rs_it_pg_ll(const char *dsn, const char *sql) {
        PGconn   *c = PQconnectdb(dsn);
        long long v = -1;
        PGresult *r;

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "connect: %s", PQerrorMessage(c));
                PQfinish(c);
                return -1;
        }
        r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
            !PQgetisnull(r, 0, 0))
                v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return v;
}

void rs_it_produce_traffic(rs_kafka_producer_t *p, const char *topic,
                           uint64_t seed, int tenants, long n,
                           rs_it_event_cb cb, void *opaque) {
        rs_traffic_conf_t tc;
        rs_traffic_t     *t;
        rs_rum_event_t    ev;
        char              err[512];
        long              i;

        rs_traffic_conf_defaults(&tc);
        tc.seed              = seed;
        tc.tenants           = tenants;
        tc.routes_per_tenant = 10;
        tc.start_ms          = RS_IT_TRAFFIC_START_MS;
        tc.events_per_sec    = 30;
        tc.max_disorder_ms   = 2000;
        if (!(t = rs_traffic_new(&tc)))
                rs_it_die("traffic generator");
        for (i = 0; i < n; i++) {
                rs_traffic_next(t, &ev);
                if (cb)
                        cb(&ev, opaque);
                rs_it_produce_event(p, topic, &ev);
        }
        rs_traffic_destroy(t);
        if (rs_kafka_producer_sync(p, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
}

typedef struct digest_table_s {
        const char *table, *order;
} digest_table_t;

/* One "<table> <digest>" line per table. */
static char *digests(const char *dsn, const digest_table_t *t, size_t cnt) {
        char  *out = NULL;
        size_t len = 0, i;

        for (i = 0; i < cnt; i++) {
                char  *d = rs_it_table_digest(dsn, t[i].table, t[i].order);
                size_t n = strlen(t[i].table) + strlen(d) + 3;
                out      = realloc(out, len + n + 1);
                snprintf(out + len, n + 1, "%s %s\n", t[i].table, d);
                len += strlen(out + len);
                free(d);
        }
        return out;
}

char *rs_it_aggregator_digest(const char *dsn) {
        /* Every column, sketches included, except the wall-clock times of
         * bookkeeping rows. */
        static const digest_table_t t[] = {
            {"rum_page_views",
             "tenant_id, route, segment_type, segment_value, window_start"},
            {"rum_aggregates", "tenant_id, route, segment_type, "
                               "segment_value, window_start, metric"},
            {"(SELECT consumer_group IS NOT NULL AS g, topic, tenant_id, "
             "route, partition FROM tenant_routes)",
             "tenant_id, route"},
        };

        return digests(dsn, t, sizeof(t) / sizeof(*t));
}

char *rs_it_tracker_digest(const char *dsn) {
        static const digest_table_t t[] = {
            {"error_groups", "tenant_id, group_id"},
            {"error_group_state", "tenant_id, group_id"},
            {"error_tenants", "tenant_id"},
            {"error_aggregates", "tenant_id, group_id, route, window_start"},
            {"error_route_windows", "tenant_id, route, window_start"},
            {"route_page_views", "tenant_id, route, window_start"},
            {"error_rates", "tenant_id, route, window_start"},
            {"error_rate_state", "tenant_id, route"},
            {"error_rate_progress", "partition"},
            {"issues", "issue_id"},
            {"issue_versions", "issue_id, version"},
        };

        return digests(dsn, t, sizeof(t) / sizeof(*t));
}

char *rs_it_correlator_digest(const char *dsn) {
        static const digest_table_t t[] = {
            {"synthetic_tests", "tenant_id, run_id"},
            {"rum_field_buckets",
             "tenant_id, route, device, bucket_start, metric"},
            {"rum_segment_buckets",
             "tenant_id, bucket_start, segment_type, segment_value"},
            {"rum_synthetic_correlations",
             "tenant_id, route, device, metric, evaluated_at"},
            {"performance_baselines", "tenant_id, route, device, metric"},
            {"synthetic_failure_state", "tenant_id, route"},
            {"synthetic_coverage",
             "tenant_id, evaluated_at, segment_type, segment_value"},
            {"correlation_progress", "partition"},
            {"issues", "issue_id"},
            {"issue_versions", "issue_id, version"},
        };

        return digests(dsn, t, sizeof(t) / sizeof(*t));
}

char *rs_it_anomaly_digest(const char *dsn) {
        static const digest_table_t t[] = {
            {"anomaly_series", "tenant_id, route, segment_type, "
                               "segment_value, metric, window_start"},
            {"anomaly_state", "tenant_id, route, segment_type, "
                              "segment_value, metric, kind"},
            {"anomaly_rate_inputs", "tenant_id, route, window_start, side"},
            {"anomaly_rate_progress", "partition"},
            {"issues", "issue_id"},
            {"issue_versions", "issue_id, version"},
        };

        return digests(dsn, t, sizeof(t) / sizeof(*t));
}

long rs_it_produce_error_traffic(rs_kafka_producer_t *p, const char *topic,
                                 uint64_t seed, int tenants, int64_t until_ms) {
        rs_error_traffic_conf_t tc;
        rs_error_traffic_t     *gen;
        rs_error_event_t        ev;
        char                    err[512], burst_tenant[64], new_tenant[64];
        long                    n;

        rs_error_traffic_conf_defaults(&tc);
        tc.seed              = seed;
        tc.tenants           = tenants;
        tc.routes_per_tenant = 10;
        tc.tenant_skew       = 0;
        tc.errors_per_sec    = 0.8;
        tc.start_ms          = RS_IT_TRAFFIC_START_MS;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        snprintf(burst_tenant, sizeof(burst_tenant), "%s",
                 rs_error_traffic_tenant(gen, 0));
        snprintf(new_tenant, sizeof(new_tenant), "%s",
                 rs_error_traffic_tenant(gen, 1 % tenants));
        rs_error_traffic_destroy(gen);

        tc.burst_tenant      = burst_tenant;
        tc.burst_route       = "/checkout";
        tc.burst_from_ms     = RS_IT_TRAFFIC_START_MS + 6 * 60000;
        tc.burst_to_ms       = RS_IT_TRAFFIC_START_MS + 11 * 60000;
        tc.burst_factor      = 20;
        tc.new_group_tenant  = new_tenant;
        tc.new_group_from_ms = RS_IT_TRAFFIC_START_MS + 12 * 60000;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        for (n = 0; rs_error_traffic_clock_ms(gen) < until_ms; n++) {
                rs_error_traffic_next(gen, &ev);
                rs_it_produce_error(p, topic, &ev);
        }
        rs_error_traffic_destroy(gen);
        if (rs_kafka_producer_sync(p, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        return n;
}

typedef struct progress_s {
        const char *dsn;
        long long   threshold;
        pid_t       pid;
} progress_t;

/* Stored progress passed the threshold (or the process ended). */
static int progressed(void *opaque) {
        progress_t *p    = opaque;
        long long   done = -1;
        int         status;

        /* The tables appear when the first run applies the migrations. */
        if (rs_it_pg_ll(p->dsn, "SELECT count(*) FROM pg_tables WHERE "
                                "tablename = 'stream_positions'") == 1)
                done = rs_it_pg_ll(p->dsn,
                                   "SELECT coalesce(sum(commit_offset), 0) "
                                   "FROM stream_positions");
        return done >= p->threshold || waitpid(p->pid, &status, WNOHANG) != 0;
}

int rs_it_kill_at_progress(const char *name, const char *brokers,
                           const char *dsn, const char *group,
                           const char *const *extra, const char *log_path,
                           const long long *thresholds, size_t cnt) {
        size_t k;
        int    kills = 0;

        for (k = 0; k < cnt; k++) {
                progress_t p = {dsn, thresholds[k], 0};

                p.pid = rs_it_start_processor(name, brokers, dsn, group, 1,
                                              extra, log_path);
                if (!rs_it_wait_for(progressed, &p, 300 * 1000))
                        rs_it_die("no progress past %lld", p.threshold);
                if (kill(p.pid, SIGKILL) == 0 &&
                    rs_it_wait_exit(p.pid, 30000) == 128 + SIGKILL) {
                        kills++;
                        printf("killed at stored progress >= %lld\n",
                               p.threshold);
                }
        }
        return kills;
}

int rs_it_log_replayed(const char *log_path) {
        FILE     *fp = fopen(log_path, "r");
        char      line[4096];
        long long from, below;
        int       found = 0;

        if (!fp)
                return 0;
        while (!found && fgets(line, sizeof(line), fp)) {
                const char *at = strstr(line, "from offset ");
                if (at && sscanf(at, "from offset %lld (replay below %lld",
                                 &from, &below) == 2)
                        found = from < below;
        }
        fclose(fp);
        return found;
}

void rs_it_clean_logs(const char *prefix) {
        DIR           *d = opendir(".");
        struct dirent *e;
        size_t         n = strlen(prefix), len;

        if (!d)
                return;
        while ((e = readdir(d))) {
                len = strlen(e->d_name);
                if (!strncmp(e->d_name, prefix, n) && len > 4 &&
                    !strcmp(e->d_name + len - 4, ".log"))
                        unlink(e->d_name);
        }
        closedir(d);
}

long rs_it_grep_count(const char *path, const char *needle) {
        FILE *fp = fopen(path, "r");
        char  line[8192];
        long  n = 0;

        if (!fp)
                return -1;
        while (fgets(line, sizeof(line), fp))
                n += strstr(line, needle) != NULL;
        fclose(fp);
        return n;
}

long rs_it_log_number(const char *path, const char *prefix) {
        FILE  *fp = fopen(path, "r");
        char   line[8192];
        long   v = -1;
        size_t n = strlen(prefix);

        if (!fp)
                return -1;
        while (fgets(line, sizeof(line), fp)) {
                const char *p = line, *hit = NULL;
                while ((p = strstr(p, prefix)))
                        hit = p++;
                if (hit && hit[n] >= '0' && hit[n] <= '9')
                        v = strtol(hit + n, NULL, 10);
        }
        fclose(fp);
        return v;
}

/*
 * Webhook receiver.
 */
static void *webhook_serve(void *arg) {
        rs_it_webhook_t *srv = arg;

        for (;;) {
                char   buf[65536];
                size_t got  = 0;
                long   clen = -1;
                char  *hend = NULL, *h;
                int    c    = accept(srv->fd, NULL, NULL), refuse;
                if (c < 0)
                        return NULL;
                while (got < sizeof(buf) - 1) {
                        ssize_t n =
                            recv(c, buf + got, sizeof(buf) - 1 - got, 0);
                        if (n <= 0)
                                break;
                        got += (size_t)n;
                        buf[got] = '\0';
                        if (!hend && (hend = strstr(buf, "\r\n\r\n")) &&
                            (h = strstr(buf, "Content-Length: ")))
                                clen = atol(h + 16);
                        if (hend && clen >= 0 &&
                            got >= (size_t)(hend + 4 - buf) + (size_t)clen)
                                break;
                }
                pthread_mutex_lock(&srv->lock);
                refuse = srv->requests++ < srv->refuse_first;
                if (!refuse && (h = strstr(buf, "X-Rumstream-Alert-Id: ")) &&
                    srv->id_cnt < 256) {
                        snprintf(srv->ids[srv->id_cnt], sizeof(srv->ids[0]),
                                 "%.32s", h + 22);
                        srv->id_cnt++;
                }
                pthread_mutex_unlock(&srv->lock);
                if (refuse)
                        send(c,
                             "HTTP/1.1 503 Service Unavailable\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n",
                             79, MSG_NOSIGNAL);
                else
                        send(c,
                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n",
                             57, MSG_NOSIGNAL);
                close(c);
        }
}

void rs_it_webhook_start(rs_it_webhook_t *srv, long refuse_first) {
        struct sockaddr_in a   = {0};
        socklen_t          len = sizeof(a);
        pthread_t          t;

        memset(srv, 0, sizeof(*srv));
        pthread_mutex_init(&srv->lock, NULL);
        srv->refuse_first = refuse_first;
        a.sin_family      = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if ((srv->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            bind(srv->fd, (struct sockaddr *)&a, sizeof(a)) ||
            listen(srv->fd, 16) ||
            getsockname(srv->fd, (struct sockaddr *)&a, &len))
                rs_it_die("webhook server");
        srv->port = ntohs(a.sin_port);
        if (pthread_create(&t, NULL, webhook_serve, srv))
                rs_it_die("webhook server thread");
        pthread_detach(t);
}

void rs_it_fault_runs(const char *proc, const char *brokers,
                      const char *dsn_replay, const char *dsn_crash,
                      const char *const *settings, const char *prefix,
                      long long input, const double *kill_at, size_t nkill,
                      int events_per_sec, char *(*digest)(const char *dsn),
                      rs_it_faults_t *out) {
        const char *slow[64];
        long long   thresholds[16];
        char        log[256], eps[64];
        size_t      k;

        memset(out, 0, sizeof(*out));
        if (nkill > sizeof(thresholds) / sizeof(*thresholds))
                rs_it_die("at most %zu kills",
                          sizeof(thresholds) / sizeof(*thresholds));
        snprintf(log, sizeof(log), "%s-replay.log", prefix);
        out->replay_status =
            rs_it_wait_exit(rs_it_start_processor(proc, brokers, dsn_replay,
                                                  "replay", 1, settings, log),
                            120 * 1000);
        out->replay = digest(dsn_replay);

        for (k = 0; settings[k]; k++) {
                if (k + 3 >= sizeof(slow) / sizeof(*slow))
                        rs_it_die("too many settings");
                slow[k] = settings[k];
        }
        snprintf(eps, sizeof(eps), "max_events_per_sec=%d", events_per_sec);
        slow[k++] = eps;
        slow[k++] = "commit_interval_ms=100";
        slow[k]   = NULL;
        for (k = 0; k < nkill; k++)
                thresholds[k] = (long long)(kill_at[k] * (double)input) + 1;
        snprintf(log, sizeof(log), "%s-crash.log", prefix);
        out->kills = rs_it_kill_at_progress(proc, brokers, dsn_crash, "crash",
                                            slow, log, thresholds, nkill);
        out->crash_status =
            rs_it_wait_exit(rs_it_start_processor(proc, brokers, dsn_crash,
                                                  "crash", 1, settings, log),
                            120 * 1000);
        out->crash   = digest(dsn_crash);
        out->resumed = rs_it_log_replayed(log);
}

void rs_it_faults_free(rs_it_faults_t *f) {
        free(f->replay);
        free(f->crash);
        f->replay = NULL;
        f->crash  = NULL;
}

char *rs_it_issue_versions(const char *dsn, int64_t t0, const char *tenant,
                           const char *kind, const char *route) {
        PGconn     *c = connect_or_die(dsn);
        char        t0s[32];
        const char *params[4] = {t0s, tenant, kind, route};
        PGresult   *r;
        char       *out;

        snprintf(t0s, sizeof(t0s), "%lld", (long long)t0);
        r = PQexecParams(
            c,
            "SELECT coalesce(string_agg(v.state || ' ' || v.severity || ' ' "
            "|| ((extract(epoch FROM v.updated_at) * 1000 - $1::bigint) / "
            "60000)::bigint || E'\\n', '' ORDER BY v.version), '') FROM "
            "issues i JOIN issue_versions v USING (issue_id) WHERE "
            "i.tenant_id = $2 AND i.kind = $3 AND i.route = $4",
            4, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                rs_it_die("issue versions: %s", PQerrorMessage(c));
        out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(c);
        return out;
}
