/*
 * anomaly-detector on aggregates built to have a known answer: 70 windows
 * of one minute, LCP only, each route as one "all" aggregate with its
 * mobile (120 page views, slower) and desktop (80) segments, the window's
 * values spread uniformly over [0.6, 1.4] of the level with a few %
 * noise between windows. History 30 windows (min 20), defaults otherwise.
 *   shop-a /stable  noisy, flat                        no issue
 *   shop-a /step    +40% in windows 30-39, +120% in 40-49, then back:
 *                   one regression, opened at window 32 (medium, the
 *                   third breach), updated at 42 (critical, the third
 *                   window of the change), resolved at 54 (fifth
 *                   healthy window); its devices raise nothing (the
 *                   route's issue explains them)
 *   shop-a /spike   +150% in window 35 only              no issue
 *   shop-a /tiny    12 page views a window, 10x in 35    no issue
 *   shop-b /budget  p75 ~2700 ms until window 59, then ~2000, with the
 *                   tenant's budget "lcp > 2500 for 3 windows: medium;
 *                   lcp > 2600 for 5 windows: high": opened at window 2
 *                   (medium), updated at 4 (high), resolved at 64
 *   shop-b /flat    flat                                 no issue
 *   shop-c /step    shop-a's /step, with the tenant_overrides entry
 *                   "min_degradation=0.5, open_after=4": the +40% is
 *                   no breach (nor a level shift), the +120% opens a
 *                   regression at window 43 (critical, its fourth
 *                   breach), resolved at 54
 * A bad tenant_overrides text stops the processor at start, status 2,
 * naming the tenant and the key.
 * Checked: issues, their versions (state, severity, window), the evidence,
 * anomaly_series rows, the view, the issues topic against issue_versions;
 * then a second consumer group into a second database (a replay from
 * scratch) and a run killed with SIGKILL mid-way and restarted leave
 * tables equal, row for row, and no extra issue.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"
#include "rumstream/sketch.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PARTITIONS 4
#define WINDOWS    70
#define T0         RS_IT_TRAFFIC_START_MS
#define MIN_MS     60000LL

typedef struct route_s {
        const char *tenant, *route;
        double      noise;
        int         views; /* page views of the window */
} route_t;

enum { R_STABLE, R_STEP, R_SPIKE, R_TINY, R_BUDGET, R_FLAT, R_STEP_C, R_CNT };
static const route_t routes[R_CNT] = {
    {"shop-a", "/stable", 0.03, 200}, {"shop-a", "/step", 0.03, 200},
    {"shop-a", "/spike", 0.03, 200},  {"shop-a", "/tiny", 0.03, 12},
    {"shop-b", "/budget", 0.02, 200}, {"shop-b", "/flat", 0.03, 200},
    {"shop-c", "/step", 0.03, 200}};

static double noise(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return (double)(x >> 11) / (double)(1ULL << 52) - 1.0;
}

/* The level (the p75 is about 1.2 of it) of route r in window w. */
static double level(int r, int w) {
        double f;

        if (r == R_STEP_C) /* the very values of shop-a's /step */
                r = R_STEP;
        f = 1 + routes[r].noise * noise((uint64_t)(r * 1000 + w));

        switch (r) {
        case R_STEP:
                return 2000 * f *
                       (w >= 30 && w < 40   ? 1.4
                        : w >= 40 && w < 50 ? 2.2
                                            : 1.0);
        case R_SPIKE:
                return 2000 * f * (w == 35 ? 2.5 : 1.0);
        case R_TINY:
                return 2000 * f * (w == 35 ? 10 : 1.0);
        case R_BUDGET:
                return (w < 60 ? 2700 : 2000) / 1.2 * f;
        default:
                return 1500 * f;
        }
}

static void fill(rs_sketch_t *sk, double lvl, int n) {
        int i;

        for (i = 0; i < n; i++)
                rs_sketch_add(sk, lvl * (0.6 + 0.8 * i / (n > 1 ? n - 1 : 1)),
                              1.0);
}

static void produce_window(rs_kafka_producer_t *p, int w) {
        int64_t ws = T0 + w * MIN_MS;
        int     r, s;

        for (r = 0; r < R_CNT; r++) {
                static const char *const segs[3][2] = {{"all", "all"},
                                                       {"device", "mobile"},
                                                       {"device", "desktop"}};
                rs_sketch_t             *sk[3];
                int                      nm = routes[r].views * 3 / 5;
                int                      nd = routes[r].views - nm;
                double                   l  = level(r, w);

                sk[1] = rs_sketch_new(0.01);
                sk[2] = rs_sketch_new(0.01);
                sk[0] = rs_sketch_new(0.01);
                fill(sk[1], l * 1.15, nm);
                fill(sk[2], l * 0.8, nd);
                rs_sketch_merge(sk[0], sk[1]);
                rs_sketch_merge(sk[0], sk[2]);
                for (s = 0; s < 3; s++) {
                        rs_metric_summary_t ms  = {0};
                        rs_rum_aggregate_t  agg = {0};
                        unsigned char       skb[8192];
                        char                id[128];
                        double              q = 0;
                        int cnt = s == 0 ? routes[r].views : s == 1 ? nm : nd;
                        rs_sketch_quantile(sk[s], 0.75, &q);
                        ms.name    = "lcp";
                        ms.unit    = "ms";
                        ms.samples = cnt;
                        ms.weight  = cnt;
                        ms.mean    = q;
                        ms.p50     = q;
                        ms.p75     = q;
                        ms.p95     = q;
                        ms.p99     = q;
                        ms.sketch_len =
                            rs_sketch_serialize(sk[s], skb, sizeof(skb));
                        ms.sketch = skb;
                        snprintf(id, sizeof(id), "%s%s-%d-%d", routes[r].tenant,
                                 routes[r].route, s, w);
                        agg.aggregate_id    = id;
                        agg.tenant_id       = routes[r].tenant;
                        agg.route           = routes[r].route;
                        agg.segment_type    = segs[s][0];
                        agg.segment_value   = segs[s][1];
                        agg.window_start_ms = ws;
                        agg.window_end_ms   = ws + MIN_MS;
                        agg.events          = cnt;
                        agg.page_views      = cnt;
                        agg.metrics         = &ms;
                        agg.metric_cnt      = 1;
                        rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                }
                for (s = 0; s < 3; s++)
                        rs_sketch_destroy(sk[s]);
        }
}

/* "state severity minute" of every version of the issue of
 * tenant/kind/route. */
static void check_versions(const char *dsn, const char *tenant,
                           const char *kind, const char *route,
                           const char *want) {
        char *got = rs_it_issue_versions(dsn, T0, tenant, kind, route);

        RS_CHECK_STR(got, want);
        free(got);
}

static const char *const settings[] = {
    "window.idle_close_ms=0",
    "metrics=lcp",
    "detect.history=30",
    "detect.min_history=20",
    "budget.rules=lcp > 9000 for 3 windows: critical\ntenant shop-b { lcp "
    "> 2500 for 3 windows: medium; lcp > 2600 for 5 windows: high }",
    "tenant_overrides=shop-c: min_degradation=0.5, open_after=4; shop-z: "
    "z_threshold=5",
    NULL};

/* 1 if the log at \p path holds \p text. */
static int log_has(const char *path, const char *text) {
        char  line[4096];
        FILE *f     = fopen(path, "r");
        int   found = 0;

        if (!f)
                return 0;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, text) != NULL;
        fclose(f);
        return found;
}

int main(void) {
        rs_test_pg_t            *pg;
        rs_kafka_mock_t         *mock;
        rs_kafka_producer_t     *prod;
        rs_it_msg_t             *msgs;
        char                     err[512], *ref;
        const char              *brokers, *dsn, *dsn2, *dsn3;
        static const char *const bad[] = {
            "tenant_overrides=shop-c: min_degradation=0.5, max_wait=3", NULL};
        static const double kill_at[] = {0.1, 0.35, 0.6, 0.85};
        rs_it_faults_t      faults;
        long                n, input = (long)WINDOWS * R_CNT * 3;
        int                 w, status;

        rs_it_clean_logs("0014");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "ref");
        rs_it_create_db(rs_test_pg_dsn(pg), "replay");
        rs_it_create_db(rs_test_pg_dsn(pg), "crash");
        dsn  = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "ref"));
        dsn2 = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "replay"));
        dsn3 = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "crash"));
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        for (w = 0; w < WINDOWS; w++)
                produce_window(prod, w);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);

        /* A bad override is bad configuration: no start, status 2. */
        status = rs_it_wait_exit(rs_it_start_processor("anomaly-detector",
                                                       brokers, dsn, "bad", 1,
                                                       bad, "0014-bad.log"),
                                 30 * 1000);
        RS_CHECK_INT(status, 2);
        RS_CHECK_MSG(log_has("0014-bad.log",
                             "tenant_overrides: position 30, tenant "
                             "'shop-c': unknown key 'max_wait'"),
                     "0014-bad.log does not name the bad override");

        status = rs_it_wait_exit(
            rs_it_start_processor("anomaly-detector", brokers, dsn, "ref", 1,
                                  settings, "0014-ref.log"),
            120 * 1000);
        RS_CHECK_INT(status, 0);
        {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd),
                         "psql -X -A -t '%s' -c \"SELECT tenant_id, kind, "
                         "route, segment_type, state, severity, version, "
                         "title, evidence FROM issues ORDER BY 1, 2, 3\"",
                         dsn);
                RS_CHECK_INT(system(cmd), 0);
        }

        /* Exactly the three issues, with their versions at known windows. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues"), 3);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                      "production_issues"),
                     3);
        check_versions(dsn, "shop-a", "regression", "/step",
                       "open medium 33\nupdated critical 43\n"
                       "resolved critical 55\n");
        /* The same step under shop-c's thresholds. */
        check_versions(dsn, "shop-c", "regression", "/step",
                       "open critical 44\nresolved critical 55\n");
        check_versions(dsn, "shop-b", "budget_breach", "/budget",
                       "open medium 3\nupdated high 5\nresolved high 65\n");
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'regression' AND route = "
                                      "'/step' AND segment_type = 'all' AND "
                                      "tenant_id = 'shop-a' AND opened_at = "
                                      "to_timestamp(1763596800 + 32 * 60) "
                                      "AND state = 'resolved' AND version = "
                                      "3 AND evidence ? 'explanation' AND "
                                      "evidence ? 'p75_ci' AND evidence ? "
                                      "'degradation_pct' AND sample_size = "
                                      "200 AND observed > 0 AND baseline > "
                                      "0"),
                     1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'budget_breach' AND threshold "
                                      "= 2600 AND evidence->>'rule' LIKE "
                                      "'lcp > 2600 for 5 windows: high'"),
                     1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE metric = 'lcp'"),
                     input);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE route = '/tiny' AND samples < "
                                      "50 AND metric = 'lcp'"),
                     3 * WINDOWS);
        /* No errors: every route's error rate is 0 in every window (its
         * page views judged, nothing raised). */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE metric = 'error_rate' AND p75 = "
                                      "0 AND segment_type = 'all'"),
                     (long long)WINDOWS * R_CNT);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series"),
                     input + (long long)WINDOWS * R_CNT);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "metric = 'error_rate'"),
                     0);
        RS_CHECK_INT(
            rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_rate_inputs"), 0);
        /* Every version went to the topic. */
        n = rs_it_read_topic(brokers, "issues", &msgs, 60000);
        RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                         "issue_versions"));
        rs_it_msgs_free(msgs, n);
        ref = rs_it_anomaly_digest(dsn);
        printf("reference:\n%s", ref);

        /* A replay from scratch (another group, another database), and a
         * run killed mid-way and restarted: the same tables. */
        rs_it_fault_runs("anomaly-detector", brokers, dsn2, dsn3, settings,
                         "0014", input, kill_at,
                         sizeof(kill_at) / sizeof(*kill_at), 400,
                         rs_it_anomaly_digest, &faults);
        RS_IT_CHECK_FAULTS(faults, ref, 3);
        rs_it_faults_free(&faults);
        free(ref);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
