/*
 * rum-aggregator end to end: ~50k generated page views plus one of every
 * kind of bad input go through the embedded Kafka; the aggregator runs
 * until the end of its input; then every row in PostgreSQL is compared with
 * expectations this test computes from the events it produced:
 *   - one rum_page_views row per (tenant, route, segment, window) seen, with
 *     exact event counts and weighted page views;
 *   - one rum_aggregates row per metric present: exact samples, weights and
 *     good / needs-improvement / poor counts, the mean, and p50..p99 within
 *     1% of the exact weighted quantile;
 *   - one RumAggregate message per page-view row, ids matching;
 *   - every bad message on rum.events.dlq with its distinct reason, and
 *     events without consent nowhere;
 *   - the group's offsets in Kafka (lag monitoring) at the end of input.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "rumstream/avro.h"
#include "rumstream/kafka.h"
#include "rumstream/map.h"
#include "rumstream/route.h"
#include "rumstream/vitals.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define EVENTS     50000
#define TENANTS    24
#define PARTITIONS 12
#define WINDOW_MS  60000

typedef struct vw_s {
        double v, w;
} vw_t;

/* Expected values by slot: the metrics of vitals.h, then custom timings in
 * the order they first appear in the aggregate. */
#define MAX_CUSTOM 8
#define SLOTS      (RS_METRIC_CNT + MAX_CUSTOM)

typedef struct exp_s {
        int64_t events;
        double  page_views;
        vw_t   *vals[SLOTS];
        size_t  cnt[SLOTS], cap[SLOTS];
        double  rated[SLOTS][3];
        char    custom[MAX_CUSTOM][80]; /* "custom.<name>" */
        int     ncustom;
        int     matched;
} exp_t;

static rs_map_t *expected;
static long      no_consent;
static char      first_tenant[64];

static const char *seg_device(const char *d) {
        return !strcmp(d, "desktop") || !strcmp(d, "mobile") ||
                       !strcmp(d, "tablet")
                   ? d
                   : "other";
}

static exp_t *exp_get(const char *tenant, const char *route, const char *stype,
                      const char *sval, int64_t start) {
        char   key[1024];
        int    created;
        void **slot;

        snprintf(key, sizeof(key), "%s|%s|%s|%s|%" PRId64, tenant, route, stype,
                 sval, start);
        slot = rs_map_put(expected, key, strlen(key), &created);
        if (!*slot)
                *slot = calloc(1, sizeof(exp_t));
        return *slot;
}

static void push(exp_t *e, int i, double v, double w) {
        if (e->cnt[i] == e->cap[i]) {
                e->cap[i]  = e->cap[i] ? e->cap[i] * 2 : 16;
                e->vals[i] = realloc(e->vals[i], e->cap[i] * sizeof(vw_t));
        }
        e->vals[i][e->cnt[i]++] = (vw_t){v, w};
}

/* The slot of metric \p name in \p e (-1 if none); \p add makes one for a
 * custom timing seen for the first time. */
static int slot_of(exp_t *e, const char *name, int add) {
        rs_metric_t m;
        int         k;

        if (rs_metric_from_name(name, &m) == 0)
                return (int)m;
        for (k = 0; k < e->ncustom; k++)
                if (!strcmp(e->custom[k], name))
                        return RS_METRIC_CNT + k;
        if (!add || e->ncustom == MAX_CUSTOM)
                return -1;
        snprintf(e->custom[e->ncustom], sizeof(e->custom[0]), "%s", name);
        return RS_METRIC_CNT + e->ncustom++;
}

static void exp_add(exp_t *e, const rs_rum_event_t *ev, double w, int metrics) {
        int i;

        e->events++;
        e->page_views += w;
        /* Custom timings count in the all-traffic roll-up only. */
        for (i = 0; metrics == RS_METRIC_CNT && i < (int)ev->custom_cnt; i++) {
                char name[80];
                snprintf(name, sizeof(name), "custom.%s", ev->custom[i].name);
                push(e, slot_of(e, name, 1), ev->custom[i].value, w);
        }
        for (i = 0; i < metrics; i++) {
                double v = ev->metrics[i];
                if (isnan(v))
                        continue;
                push(e, i, v, w);
                if (i < RS_METRIC_VITAL_CNT) {
                        /* web.dev: good <= first threshold < NI <= second
                         * threshold < poor; written out here on purpose. */
                        static const double th[RS_METRIC_VITAL_CNT][2] = {
                            {2500, 4000},
                            {200, 500},
                            {0.1, 0.25},
                            {1800, 3000},
                            {800, 1800}};
                        int r = v <= th[i][0] ? 0 : v <= th[i][1] ? 1 : 2;
                        e->rated[i][r] += w;
                }
        }
}

static void on_event(const rs_rum_event_t *ev, void *opaque) {
        char    route[RS_ROUTE_MAX], country[3];
        int64_t start;
        double  w;

        (void)opaque;
        if (!first_tenant[0])
                snprintf(first_tenant, sizeof(first_tenant), "%s",
                         ev->tenant_id);
        if (!ev->consent) {
                no_consent++;
                return;
        }
        rs_route_normalize(ev->url, strlen(ev->url), route);
        start = ev->timestamp_ms - ev->timestamp_ms % WINDOW_MS;
        w     = 1.0 / ev->sample_rate;
        snprintf(country, sizeof(country), "%s", ev->country);
        exp_add(exp_get(ev->tenant_id, route, "all", "all", start), ev, w,
                RS_METRIC_CNT);
        exp_add(exp_get(ev->tenant_id, route, "device",
                        seg_device(ev->device_type), start),
                ev, w, RS_METRIC_VITAL_CNT);
        exp_add(exp_get(ev->tenant_id, route, "connection", ev->connection_type,
                        start),
                ev, w, RS_METRIC_VITAL_CNT);
        exp_add(exp_get(ev->tenant_id, route, "country", country, start), ev, w,
                RS_METRIC_VITAL_CNT);
}

static int cmp_vw(const void *a, const void *b) {
        double x = ((const vw_t *)a)->v, y = ((const vw_t *)b)->v;

        return x < y ? -1 : x > y;
}

/* The value of weighted rank q * (W - 1): the first in value order whose
 * cumulative weight exceeds it. */
static double exact_quantile(vw_t *vals, size_t n, double q) {
        double total = 0, rank, cum = 0;
        size_t i;

        for (i = 0; i < n; i++)
                total += vals[i].w;
        rank = q * (total - 1);
        for (i = 0; i < n; i++) {
                cum += vals[i].w;
                if (cum > rank)
                        return vals[i].v;
        }
        return vals[n - 1].v;
}

/* Bad input, one of each kind, and the reason each must carry. */
static const char *bad_reasons[] = {"bad_magic",      "truncated",
                                    "unknown_schema", "wrong_schema",
                                    "undecodable",    "implausible_value",
                                    "invalid_tenant", "invalid_sample_rate",
                                    "clock_skew",     "late"};
#define BAD_CNT (sizeof(bad_reasons) / sizeof(*bad_reasons))

static void produce_bad(rs_kafka_producer_t *p, const rs_rum_event_t *tmpl) {
        rs_avro_registry_t *reg;
        rs_avro_encoder_t  *enc;
        rs_rum_event_t      ev;
        char                err[256];
        const void         *buf;
        size_t              len;
        unsigned char       hdr[64] = {0};

        if (!(reg = rs_avro_registry_new(err, sizeof(err))) ||
            !(enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_RUM_EVENT, err,
                                        sizeof(err))))
                rs_it_die("avro: %s", err);

        rs_it_produce_raw(p, "rum.events", tmpl->tenant_id, "hello world", 11);
        rs_it_produce_raw(p, "rum.events", tmpl->tenant_id, hdr, 3);
        hdr[4] = 231; /* schema id 231: not registered */
        rs_it_produce_raw(p, "rum.events", tmpl->tenant_id, hdr, 12);
        hdr[4] = RS_SCHEMA_ID_RUM_AGGREGATE;
        rs_it_produce_raw(p, "rum.events", tmpl->tenant_id, hdr, 12);

        ev = *tmpl;
        rs_rum_event_write(rs_avro_encoder_value(enc), &ev);
        rs_avro_encoder_encode(enc, &buf, &len, err, sizeof(err));
        rs_it_produce_raw(p, "rum.events", tmpl->tenant_id, buf, 20);

        ev                        = *tmpl;
        ev.metrics[RS_METRIC_LCP] = 3 * 3600 * 1000.0; /* a background tab */
        rs_it_produce_event(p, "rum.events", &ev);
        ev           = *tmpl;
        ev.tenant_id = "";
        rs_it_produce_event(p, "rum.events", &ev);
        ev             = *tmpl;
        ev.sample_rate = 0;
        rs_it_produce_event(p, "rum.events", &ev);
        ev              = *tmpl;
        ev.timestamp_ms = (int64_t)time(NULL) * 1000 + 3600 * 1000;
        rs_it_produce_event(p, "rum.events", &ev);
        ev              = *tmpl; /* the first window closed long ago */
        ev.timestamp_ms = RS_IT_TRAFFIC_START_MS + 1000;
        rs_it_produce_event(p, "rum.events", &ev);
        /* And one without consent: dropped, never dead-lettered. */
        ev         = *tmpl;
        ev.consent = 0;
        rs_it_produce_event(p, "rum.events", &ev);

        rs_avro_encoder_destroy(enc);
        rs_avro_registry_destroy(reg);
}

static void capture_template(const rs_rum_event_t *ev, void *opaque) {
        rs_rum_event_t *tmpl = opaque;
        static char tenant[64], eid[64], sid[64], url[256], nav[32], dev[32],
            cty[8], conn[32], br[64];

        on_event(ev, NULL);
        if (tmpl->tenant_id || strcmp(ev->tenant_id, first_tenant))
                return;
        *tmpl = *ev;
        snprintf(tenant, sizeof(tenant), "%s", ev->tenant_id);
        snprintf(eid, sizeof(eid), "%s", ev->event_id);
        snprintf(sid, sizeof(sid), "%s", ev->session_id);
        snprintf(url, sizeof(url), "%s", ev->url);
        snprintf(nav, sizeof(nav), "%s", ev->navigation_type);
        snprintf(dev, sizeof(dev), "%s", ev->device_type);
        snprintf(cty, sizeof(cty), "%s", ev->country);
        snprintf(conn, sizeof(conn), "%s", ev->connection_type);
        snprintf(br, sizeof(br), "%s", ev->browser);
        tmpl->tenant_id       = tenant;
        tmpl->event_id        = eid;
        tmpl->session_id      = sid;
        tmpl->user_id         = NULL;
        tmpl->url             = url;
        tmpl->navigation_type = nav;
        tmpl->device_type     = dev;
        tmpl->country         = cty;
        tmpl->connection_type = conn;
        tmpl->browser         = br;
        tmpl->consent         = 1;
        tmpl->custom_cnt      = 0;
}

typedef struct count_ctx_s {
        size_t keys, metric_rows, unmatched;
} count_ctx_t;

static void count_cb(const void *key, size_t len, void *value, void *opaque) {
        count_ctx_t *c = opaque;
        exp_t       *e = value;
        int          i;

        (void)len;
        c->keys++;
        if (!e->matched) {
                c->unmatched++;
                if (c->unmatched <= 5)
                        fprintf(stderr, "expected row missing: %s\n",
                                (const char *)key);
        }
        for (i = 0; i < SLOTS; i++)
                c->metric_rows += e->cnt[i] > 0;
}

static void check_tables(const char *dsn) {
        PGconn     *c = PQconnectdb(dsn);
        PGresult   *r;
        count_ctx_t cc = {0};
        int         i, bad = 0;
        long        rows;

        if (PQstatus(c) != CONNECTION_OK)
                rs_it_die("connect: %s", PQerrorMessage(c));

        r = PQexec(c, "SELECT tenant_id, route, segment_type, segment_value, "
                      "(extract(epoch FROM window_start) * 1000)::bigint, "
                      "events, page_views FROM rum_page_views");
        RS_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        rows = PQntuples(r);
        for (i = 0; i < PQntuples(r); i++) {
                char   key[1024];
                void **slot;
                exp_t *e;
                snprintf(key, sizeof(key), "%s|%s|%s|%s|%s",
                         PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                         PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                         PQgetvalue(r, i, 4));
                slot = rs_map_get(expected, key, strlen(key));
                if (!slot) {
                        if (bad++ < 5)
                                fprintf(stderr, "unexpected row %s\n", key);
                        continue;
                }
                e          = *slot;
                e->matched = 1;
                if (e->events != strtoll(PQgetvalue(r, i, 5), NULL, 10) ||
                    fabs(e->page_views - strtod(PQgetvalue(r, i, 6), NULL)) >
                        1e-9 * e->page_views) {
                        if (bad++ < 5)
                                fprintf(stderr,
                                        "%s: events %s (expected %" PRId64
                                        "), page views %s (expected %g)\n",
                                        key, PQgetvalue(r, i, 5), e->events,
                                        PQgetvalue(r, i, 6), e->page_views);
                }
        }
        PQclear(r);
        rs_map_foreach(expected, count_cb, &cc);
        RS_CHECK_INT(bad, 0);
        RS_CHECK_INT(rows, (long)cc.keys);
        RS_CHECK_INT(cc.unmatched, 0);
        printf("rum_page_views: %ld rows, %zu expected\n", rows, cc.keys);

        r = PQexec(c, "SELECT tenant_id, route, segment_type, segment_value, "
                      "(extract(epoch FROM window_start) * 1000)::bigint, "
                      "metric, samples, weight, mean, p50, p75, p95, p99, "
                      "good, needs_improvement, poor FROM rum_aggregates");
        RS_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        RS_CHECK_INT(PQntuples(r), (long)cc.metric_rows);
        bad = 0;
        {
                double worst = 0;
                for (i = 0; i < PQntuples(r); i++) {
                        static const double qs[] = {0.5, 0.75, 0.95, 0.99};
                        char                key[1024];
                        void              **slot;
                        exp_t              *e;
                        int                 m;
                        size_t              n;
                        double              total = 0, sum = 0;
                        int                 q, ok          = 1;
                        snprintf(key, sizeof(key), "%s|%s|%s|%s|%s",
                                 PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                                 PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                                 PQgetvalue(r, i, 4));
                        slot = rs_map_get(expected, key, strlen(key));
                        if (!slot || (m = slot_of(*slot, PQgetvalue(r, i, 5),
                                                  0)) == -1) {
                                bad++;
                                continue;
                        }
                        e = *slot;
                        n = e->cnt[m];
                        if (n == 0 ||
                            (long long)n !=
                                strtoll(PQgetvalue(r, i, 6), NULL, 10)) {
                                bad++;
                                continue;
                        }
                        qsort(e->vals[m], n, sizeof(vw_t), cmp_vw);
                        for (size_t k = 0; k < n; k++) {
                                total += e->vals[m][k].w;
                                sum += e->vals[m][k].v * e->vals[m][k].w;
                        }
                        ok &= fabs(strtod(PQgetvalue(r, i, 7), NULL) - total) <=
                              1e-9 * total;
                        ok &= fabs(strtod(PQgetvalue(r, i, 8), NULL) -
                                   sum / total) <=
                              1e-9 * fabs(sum / total) + 1e-12;
                        for (q = 0; q < 4; q++) {
                                double want =
                                    exact_quantile(e->vals[m], n, qs[q]);
                                double got =
                                    strtod(PQgetvalue(r, i, 9 + q), NULL);
                                double rel = want > 0 ? fabs(got - want) / want
                                                      : fabs(got);
                                if (rel > worst)
                                        worst = rel;
                                /* The sketch's bound is 1%; allow only
                                 * the rounding of printing through SQL. */
                                ok &= rel <= 0.01 + 1e-9;
                        }
                        if (m < RS_METRIC_VITAL_CNT) {
                                for (q = 0; q < 3; q++)
                                        ok &=
                                            fabs(
                                                strtod(PQgetvalue(r, i, 13 + q),
                                                       NULL) -
                                                e->rated[m][q]) <= 1e-9 * total;
                        } else {
                                ok &= PQgetisnull(r, i, 13) &&
                                      PQgetisnull(r, i, 14) &&
                                      PQgetisnull(r, i, 15);
                        }
                        if (!ok && bad++ < 5)
                                fprintf(stderr, "mismatch in %s %s\n", key,
                                        PQgetvalue(r, i, 5));
                }
                printf("rum_aggregates: %d rows, %zu expected; worst "
                       "quantile error %.4f%%\n",
                       PQntuples(r), cc.metric_rows, worst * 100);
        }
        RS_CHECK_INT(bad, 0);
        PQclear(r);
        PQfinish(c);
}

/* Positions live in PostgreSQL; Kafka gets them too, for lag monitoring:
 * having read everything, the group has committed every partition's end. */
static void check_committed(const char *brokers) {
        rd_kafka_topic_partition_list_t *l;
        rd_kafka_resp_err_t              e;
        rd_kafka_t                      *rk;
        char                             err[512];
        int                              p, wrong = 0;

        if (!(rk = rs_kafka_consumer_new(brokers, "rum-aggregator", NULL, NULL,
                                         0, err, sizeof(err))))
                rs_it_die("consumer: %s", err);
        l = rd_kafka_topic_partition_list_new(PARTITIONS);
        for (p = 0; p < PARTITIONS; p++)
                rd_kafka_topic_partition_list_add(l, "rum.events", p);
        if ((e = rd_kafka_committed(rk, l, 30000)))
                rs_it_die("committed offsets: %s", rd_kafka_err2str(e));
        for (p = 0; p < PARTITIONS; p++) {
                int64_t lo, hi;

                if ((e = rd_kafka_query_watermark_offsets(rk, "rum.events", p,
                                                          &lo, &hi, 10000)))
                        rs_it_die("watermarks: %s", rd_kafka_err2str(e));
                if (l->elems[p].offset != hi) {
                        wrong++;
                        printf("  rum.events [%d]: committed %" PRId64
                               ", end %" PRId64 "\n",
                               p, l->elems[p].offset, hi);
                }
        }
        RS_CHECK_MSG(wrong == 0,
                     "%d of %d partitions committed short of the end", wrong,
                     PARTITIONS);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_destroy(rk);
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_rum_event_t       tmpl = {0};
        rs_it_msg_t         *msgs;
        char                 err[512];
        const char          *brokers, *dsn;
        const char          *topics[] = {"rum.events", "rum.aggregates",
                                         "rum.events.dlq"};
        long                 cnt, i;
        size_t               k;
        int                  status;
        long long            views;

        rs_it_clean_logs("0002");
        expected = rs_map_new();
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        for (k = 0; k < 3; k++)
                if (rs_kafka_mock_topic(mock, topics[k], PARTITIONS, err,
                                        sizeof(err)))
                        rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);

        rs_it_produce_traffic(prod, "rum.events", 42, TENANTS, EVENTS,
                              capture_template, &tmpl);
        produce_bad(prod, &tmpl);
        if (rs_kafka_producer_sync(prod, 30000, err, sizeof(err)))
                rs_it_die("%s", err);
        printf("produced %d events (%ld without consent) and %zu bad\n", EVENTS,
               no_consent, BAD_CNT);

        {
                const char *extra[] = {"window.idle_close_ms=0", NULL};
                pid_t       pid =
                    rs_it_start_aggregator(brokers, dsn, "rum-aggregator", 1,
                                           extra, "0002-aggregator.log");
                status = rs_it_wait_exit(pid, 600 * 1000);
        }
        RS_CHECK_INT(status, 0);
        if (status != 0)
                system("tail -n 30 0002-aggregator.log >&2");

        check_tables(dsn);
        check_committed(brokers);

        /* The same aggregates went to Kafka, each once. The embedded
         * cluster keeps only the newest few MiB of a partition, so the count
         * comes from the high watermarks (every message ever written) and
         * the ids are checked on the messages it still holds. */
        views = rs_it_pg_ll(dsn, "SELECT count(*) FROM rum_page_views");
        {
                rd_kafka_t *rk      = rs_kafka_producer_handle(prod);
                int64_t     written = -1;
                if (rs_kafka_topic_size(rk, "rum.aggregates", 10000, &written,
                                        err, sizeof(err)))
                        rs_it_die("%s", err);
                RS_CHECK_INT(written, views);
        }
        cnt = rs_it_read_topic(brokers, "rum.aggregates", &msgs, 60000);
        RS_CHECK(cnt > 0);
        {
                long      matched = 0, dup = 0;
                PGconn   *c   = PQconnectdb(dsn);
                PGresult *r   = PQexec(c, "SELECT aggregate_id FROM "
                                            "rum_page_views ORDER BY 1");
                rs_map_t *ids = rs_map_new();
                int       created;
                for (i = 0; i < PQntuples(r); i++)
                        rs_map_put(ids, PQgetvalue(r, i, 0),
                                   strlen(PQgetvalue(r, i, 0)), &created);
                for (i = 0; i < cnt; i++) {
                        void **slot =
                            rs_map_get(ids, msgs[i].id, strlen(msgs[i].id));
                        if (slot && !*slot) {
                                *slot = (void *)1;
                                matched++;
                        } else if (slot) {
                                dup++;
                        }
                }
                RS_CHECK_INT(matched, cnt);
                RS_CHECK_INT(dup, 0);
                printf("rum.aggregates: %lld written, %ld still held by the "
                       "embedded cluster, all with ids of rows\n",
                       views, cnt);
                rs_map_destroy(ids);
                PQclear(r);
                PQfinish(c);
        }
        rs_it_msgs_free(msgs, cnt);

        /* Every bad message on the DLQ, with its own reason. */
        cnt = rs_it_read_topic(brokers, "rum.events.dlq", &msgs, 60000);
        RS_CHECK_INT(cnt, (long)BAD_CNT);
        for (k = 0; k < BAD_CNT; k++) {
                int found = 0;
                for (i = 0; i < cnt; i++)
                        found += !strcmp(msgs[i].reason, bad_reasons[k]);
                RS_CHECK_MSG(found == 1, "reason %s seen %d times",
                             bad_reasons[k], found);
        }
        rs_it_msgs_free(msgs, cnt);

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
