/*
 * anomaly-detector on error rates: the error-tracker's ErrorAggregates
 * joined with the routes' page views from rum.aggregates, 70 windows of
 * one minute built to have a known answer (history 30, min 20):
 *   shop-e /pay     500 page views; errors in two groups, 2 or 3 a window
 *                   (0.4% / 0.6%), 20 in windows 30-44 (4%): one
 *                   regression, critical (+700%), opened at window 32 (its
 *                   third breach), resolved at 49 (fifth healthy window);
 *                   window 10's aggregates are sent twice (a replay of the
 *                   error-tracker) and count once
 *   shop-e /noisy   as /pay's baseline, 30 errors in window 35 only:
 *                   a single spike, no issue
 *   shop-e /tiny    20 page views, 10 errors a window from 30: too few
 *                   page views to judge, no issue
 *   shop-e /clean   500 page views and no ErrorAggregate: rate 0
 *   shop-e /ghost   errors but no page views: no rate at all
 *   shop-f /budget  500 page views, 3% errors until window 29, then 0.4%,
 *                   with the tenant's budget "error_rate > 2% for 3
 *                   windows: high": opened at window 2, resolved at 34
 *   shop-f /mixed   500 page views, 1.8% errors, 15% in window 20 only,
 *                   2.2% from window 60: the spike raises nothing, the
 *                   budget opens at 62 and stays open. Its regression
 *                   state changed last at window 21 and its budget state
 *                   from 60: a restart writes their rows at other
 *                   checkpoints than the reference run, and they must not
 *                   differ
 * plus an undecodable message and a late ErrorAggregate (window 5, after
 * the watermark passed it) on error.aggregates: both dead-lettered.
 * Checked: the rates of every judged window, exactly the two issues with
 * their versions, the evidence, the dead letters; then a replay from
 * scratch and a run killed with SIGKILL and restarted leave the tables
 * equal, row for row.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PARTITIONS 4
#define WINDOWS    70
#define T0         RS_IT_TRAFFIC_START_MS
#define MIN_MS     60000LL

enum { R_PAY, R_NOISY, R_TINY, R_CLEAN, R_GHOST, R_BUDGET, R_MIXED, R_CNT };
static const struct {
        const char *tenant, *route;
        int         views; /* page views of a window, 0: none */
} routes[R_CNT] = {{"shop-e", "/pay", 500},  {"shop-e", "/noisy", 500},
                   {"shop-e", "/tiny", 20},  {"shop-e", "/clean", 500},
                   {"shop-e", "/ghost", 0},  {"shop-f", "/budget", 500},
                   {"shop-f", "/mixed", 500}};

/* Errors of group g (0 or 1) of route r in window w. */
static int errors(int r, int g, int w) {
        switch (r) {
        case R_PAY:
                if (w >= 30 && w < 45)
                        return g ? 8 : 12;
                return g ? 1 : 1 + w % 2;
        case R_NOISY:
                if (w == 35)
                        return g ? 10 : 20;
                return g ? 1 : 1 + w % 2;
        case R_TINY:
                return w >= 30 ? 5 : 0;
        case R_GHOST:
                return 3;
        case R_BUDGET:
                return w < 30 ? (g ? 5 : 10) : (g ? 1 : 1);
        case R_MIXED:
                if (w == 20)
                        return g ? 25 : 50;
                return w >= 60 ? (g ? 4 : 7) : (g ? 3 : 6);
        default:
                return 0;
        }
}

static void produce_errors(rs_kafka_producer_t *p, int r, int w) {
        int g;

        for (g = 0; g < 2; g++) {
                rs_error_aggregate_t ea = {0};
                char                 id[128], group[32];
                int                  n = errors(r, g, w);
                if (!n)
                        continue;
                snprintf(id, sizeof(id), "%s%s-%d-%d", routes[r].tenant,
                         routes[r].route, g, w);
                snprintf(group, sizeof(group), "group-%d", g);
                ea.aggregate_id       = id;
                ea.tenant_id          = routes[r].tenant;
                ea.group_id           = group;
                ea.route              = routes[r].route;
                ea.window_start_ms    = T0 + w * MIN_MS;
                ea.window_end_ms      = ea.window_start_ms + MIN_MS;
                ea.errors             = n;
                ea.weighted_errors    = n;
                ea.sessions           = n;
                ea.sessions_estimated = 0;
                ea.page_views         = NAN;
                ea.error_rate         = NAN;
                ea.category           = "js_error";
                ea.severity           = "medium";
                rs_it_produce_error_aggregate(p, "error.aggregates", &ea);
        }
}

static void produce_views(rs_kafka_producer_t *p, int r, int w) {
        rs_rum_aggregate_t agg = {0};
        char               id[128];

        if (!routes[r].views)
                return;
        snprintf(id, sizeof(id), "%s%s-%d", routes[r].tenant, routes[r].route,
                 w);
        agg.aggregate_id    = id;
        agg.tenant_id       = routes[r].tenant;
        agg.route           = routes[r].route;
        agg.segment_type    = "all";
        agg.segment_value   = "all";
        agg.window_start_ms = T0 + w * MIN_MS;
        agg.window_end_ms   = agg.window_start_ms + MIN_MS;
        agg.events          = routes[r].views;
        agg.page_views      = routes[r].views;
        rs_it_produce_aggregate(p, "rum.aggregates", &agg);
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
    "segment_types=all",
    "detect.history=30",
    "detect.min_history=20",
    "budget.rules=tenant shop-f { error_rate > 2% for 3 windows: high }",
    NULL};

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_it_msg_t         *msgs;
        char                 err[512], *ref;
        const char          *brokers, *dsn, *dsn2, *dsn3;
        static const double  kill_at[] = {0.15, 0.4, 0.65, 0.9};
        long long            input     = 0;
        rs_it_faults_t       faults;
        long                 n, i, late = 0, undecodable = 0;
        int                  w, r, status;

        rs_it_clean_logs("0017");
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
            rs_kafka_mock_topic(mock, "error.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        for (w = 0; w < WINDOWS; w++)
                for (r = 0; r < R_CNT; r++) {
                        produce_views(prod, r, w);
                        produce_errors(prod, r, w);
                        if (w == 10 && r == R_PAY)
                                produce_errors(prod, r, w); /* a replay */
                }
        rs_it_produce_raw(prod, "error.aggregates", "shop-e", "not avro", 8);
        {
                rs_error_aggregate_t ea = {0};
                ea.aggregate_id         = "late";
                ea.tenant_id            = "shop-e";
                ea.group_id             = "group-0";
                ea.route                = "/pay";
                ea.window_start_ms      = T0 + 5 * MIN_MS;
                ea.window_end_ms        = ea.window_start_ms + MIN_MS;
                ea.errors               = 50;
                ea.weighted_errors      = 50;
                ea.page_views           = NAN;
                ea.error_rate           = NAN;
                ea.category             = "js_error";
                ea.severity             = "high";
                rs_it_produce_error_aggregate(prod, "error.aggregates", &ea);
        }
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        for (w = 0; w < WINDOWS; w++)
                for (r = 0; r < R_CNT; r++)
                        input += (routes[r].views > 0) + (errors(r, 0, w) > 0) +
                                 (errors(r, 1, w) > 0);
        input += 2 + 2; /* the replayed window, the two bad messages */

        status = rs_it_wait_exit(
            rs_it_start_processor("anomaly-detector", brokers, dsn, "ref", 1,
                                  settings, "0017-ref.log"),
            120 * 1000);
        RS_CHECK_INT(status, 0);
        {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd),
                         "psql -X -A -t '%s' -c \"SELECT tenant_id, kind, "
                         "route, state, severity, version, title, evidence "
                         "FROM issues ORDER BY 1, 2, 3\"",
                         dsn);
                RS_CHECK_INT(system(cmd), 0);
        }

        /* A point per window for every route with page views, none for
         * /ghost; the rates exact (the replayed window counted once). */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE metric = 'error_rate'"),
                     6 * WINDOWS);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE route = '/ghost'"),
                     0);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_series "
                                      "WHERE route = '/clean' AND p75 = 0 "
                                      "AND samples = 500"),
                     WINDOWS);
        for (w = 0; w < WINDOWS; w++)
                for (r = 0; r < R_CNT; r++) {
                        char      sql[512];
                        long long want, got;
                        if (!routes[r].views)
                                continue;
                        /* rate in millionths */
                        want = (long long)(errors(r, 0, w) + errors(r, 1, w)) *
                               1000000 / routes[r].views;
                        snprintf(sql, sizeof(sql),
                                 "SELECT round(p75 * 1000000) FROM "
                                 "anomaly_series WHERE tenant_id = '%s' AND "
                                 "route = '%s' AND window_start = "
                                 "to_timestamp(%lld / 1000.0) AND ci_low <= "
                                 "p75 AND p75 <= ci_high",
                                 routes[r].tenant, routes[r].route,
                                 (long long)(T0 + w * MIN_MS));
                        got = rs_it_pg_ll(dsn, sql);
                        RS_CHECK_MSG(got == want,
                                     "%s%s window %d: rate %lld ppm, "
                                     "want %lld",
                                     routes[r].tenant, routes[r].route, w, got,
                                     want);
                }

        /* Exactly three issues. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues"), 3);
        check_versions(dsn, "shop-e", "regression", "/pay",
                       "open critical 33\nresolved critical 50\n");
        check_versions(dsn, "shop-f", "budget_breach", "/budget",
                       "open high 3\nresolved high 35\n");
        /* Two kinds on one series, changing at different windows. */
        check_versions(dsn, "shop-f", "budget_breach", "/mixed",
                       "open high 63\n");
        check_versions(dsn, "shop-f", "regression", "/mixed", "");
        RS_CHECK_INT(
            rs_it_pg_ll(dsn,
                        "SELECT count(*) FROM issues WHERE metric = "
                        "'error_rate' AND route = '/pay' AND segment_type = "
                        "'all' AND state = 'resolved' AND title LIKE 'Error "
                        "rate regressed on /pay (all traffic): %' AND "
                        "evidence ? 'rate_ci' AND evidence ? "
                        "'degradation_pct' AND sample_size = 500 AND "
                        "abs(baseline - 0.005) < 1e-12 AND observed < 0.01"),
            1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'budget_breach' AND threshold "
                                      "= 0.02 AND evidence->>'rule' = "
                                      "'error_rate > 0.02 for 3 windows: "
                                      "high'"),
                     2);
        RS_CHECK_INT(
            rs_it_pg_ll(dsn, "SELECT count(*) FROM anomaly_rate_inputs"), 0);
        n = rs_it_read_topic(brokers, "issues", &msgs, 60000);
        RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                         "issue_versions"));
        rs_it_msgs_free(msgs, n);

        /* The two bad messages, each dead-lettered with its reason. */
        n = rs_it_read_topic(brokers, "error.aggregates.dlq", &msgs, 60000);
        for (i = 0; i < n; i++) {
                late += !strcmp(msgs[i].reason, "late");
                undecodable += strcmp(msgs[i].reason, "late") != 0;
        }
        RS_CHECK_INT(n, 2);
        RS_CHECK_INT(late, 1);
        RS_CHECK_INT(undecodable, 1);
        rs_it_msgs_free(msgs, n);
        ref = rs_it_anomaly_digest(dsn);
        printf("reference:\n%s", ref);

        /* A replay from scratch (another group, another database), and a
         * run killed mid-way and restarted: the same tables. */
        rs_it_fault_runs("anomaly-detector", brokers, dsn2, dsn3, settings,
                         "0017", input, kill_at,
                         sizeof(kill_at) / sizeof(*kill_at), 300,
                         rs_it_anomaly_digest, &faults);
        RS_IT_CHECK_FAULTS(faults, ref, 3);
        rs_it_faults_free(&faults);
        free(ref);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
