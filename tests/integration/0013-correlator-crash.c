/*
 * Crash safety of the synthetic-correlator on realistic traffic: page views
 * of two tenants (the first one's /checkout regresses x1.8 for real
 * users only from minute 26, a field-only divergence) go through the
 * rum-aggregator into rum.aggregates; the synthetic runs of the same
 * sites, one per check and minute, with / of the second tenant failing
 * from minute 15, go to synthetic.events. The correlator, killed
 * with SIGKILL at several points and restarted each time, must leave
 * tables equal, row for row, to those of an uninterrupted run in another
 * database: runs, field and segment buckets, every correlation, baselines,
 * failure state, coverage, progress, issues and every issue version. Kills
 * wait for stored progress, never for a fixed time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define TENANTS    2
#define ROUTES     6
#define MINUTES    40
#define PARTITIONS 16
#define SEED       11

int main(void) {
        rs_test_pg_t               *pg;
        rs_kafka_mock_t            *mock;
        rs_kafka_producer_t        *prod;
        rs_traffic_conf_t           tc;
        rs_traffic_t               *gen;
        rs_synthetic_traffic_conf_t sc;
        rs_synthetic_traffic_t     *sgen;
        rs_rum_event_t              ev;
        rs_synthetic_result_t       r;
        char                        err[512], *ref, *got, t0[64], t1[64];
        const char                 *brokers, *dsn_ref, *dsn_crash;
        static const double         kill_at[] = {0.0, 0.2, 0.45, 0.7, 0.9};
        long long                   thresholds[5];
        const char                 *common[] = {
                            "window.idle_close_ms=0",          "correlation.bucket_ms=60000",
                            "correlation.window_ms=720000",    "gap.history_ms=1440000",
                            "correlation.min_field_samples=5", NULL};
        const char *slow[] = {
            "window.idle_close_ms=0",          "correlation.bucket_ms=60000",
            "correlation.window_ms=720000",    "gap.history_ms=1440000",
            "correlation.min_field_samples=5", "max_events_per_sec=1500",
            "commit_interval_ms=100",          NULL};
        const char *agg[]  = {"window.idle_close_ms=0", NULL};
        int64_t     end_ms = RS_IT_TRAFFIC_START_MS + MINUTES * 60000LL;
        int64_t     aggregates;
        long        input, runs = 0;
        size_t      k;
        int         status, kills;
        pid_t       pid;

        rs_it_clean_logs("0013");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "agg");
        rs_it_create_db(rs_test_pg_dsn(pg), "ref");
        rs_it_create_db(rs_test_pg_dsn(pg), "crash");
        dsn_ref   = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "ref"));
        dsn_crash = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "crash"));
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "synthetic.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);

        /* Page views: 12 a second of event time (two tenants keyed
         * to two partitions stay under the mock cluster's 5 MiB each),
         * then their aggregates. */
        rs_traffic_conf_defaults(&tc);
        tc.seed               = SEED;
        tc.tenants            = TENANTS;
        tc.routes_per_tenant  = ROUTES;
        tc.start_ms           = RS_IT_TRAFFIC_START_MS;
        tc.events_per_sec     = 12;
        tc.regression_route   = "/checkout";
        tc.regression_from_ms = RS_IT_TRAFFIC_START_MS + 26 * 60000LL;
        tc.regression_factor  = 1.8;
        if (!(gen = rs_traffic_new(&tc)))
                rs_it_die("traffic");
        snprintf(t0, sizeof(t0), "%s", rs_traffic_tenant(gen, 0));
        snprintf(t1, sizeof(t1), "%s", rs_traffic_tenant(gen, 1));
        rs_traffic_destroy(gen);
        tc.regression_tenant = t0;
        if (!(gen = rs_traffic_new(&tc)))
                rs_it_die("traffic");
        while (rs_traffic_clock_ms(gen) < end_ms) {
                rs_traffic_next(gen, &ev);
                rs_it_produce_event(prod, "rum.events", &ev);
        }
        rs_traffic_destroy(gen);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        status = rs_it_wait_exit(
            rs_it_start_aggregator(brokers,
                                   rs_it_dsn_db(rs_test_pg_dsn(pg), "agg"),
                                   "agg", 1, agg, "0013-aggregator.log"),
            600 * 1000);
        RS_CHECK_INT(status, 0);
        if (rs_kafka_topic_size(rs_kafka_producer_handle(prod),
                                "rum.aggregates", 30000, &aggregates, err,
                                sizeof(err)) == -1)
                rs_it_die("rum.aggregates: %s", err);

        /* The lab: every check once a minute. */
        rs_synthetic_traffic_conf_defaults(&sc);
        sc.seed               = SEED;
        sc.tenants            = TENANTS;
        sc.routes_per_tenant  = ROUTES;
        sc.start_ms           = RS_IT_TRAFFIC_START_MS;
        sc.interval_ms        = 60000;
        sc.regression_tenant  = t0;
        sc.regression_route   = "/checkout";
        sc.regression_from_ms = tc.regression_from_ms;
        sc.regression_factor  = 1.8;
        sc.field_only         = 1;
        sc.failing_tenant     = t1;
        sc.failing_route      = "/";
        sc.failing_from_ms    = RS_IT_TRAFFIC_START_MS + 15 * 60000LL;
        if (!(sgen = rs_synthetic_traffic_new(&sc, err, sizeof(err))))
                rs_it_die("synthetic traffic: %s", err);
        while (rs_synthetic_traffic_clock_ms(sgen) < end_ms) {
                rs_synthetic_traffic_next(sgen, &r);
                rs_it_produce_synthetic(prod, "synthetic.events", &r);
                runs++;
        }
        rs_synthetic_traffic_destroy(sgen);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        input = runs + (long)aggregates;
        printf("input: %ld runs, %lld aggregates\n", runs,
               (long long)aggregates);

        pid    = rs_it_start_processor("synthetic-correlator", brokers, dsn_ref,
                                       "ref", 1, common, "0013-reference.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        ref = rs_it_correlator_digest(dsn_ref);
        {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd),
                         "psql -X -A -t '%s' -c \"SELECT tenant_id, kind, "
                         "route, segment_value, metric, evidence->>'cause', "
                         "state, version, to_char(opened_at AT TIME ZONE "
                         "'UTC', 'HH24:MI') FROM issues ORDER BY 1, 2, 3, 4, "
                         "5\"",
                         dsn_ref);
                RS_CHECK_INT(system(cmd), 0);
        }
        printf("reference:\n%s", ref);
        /* The run must have had something to get right. */
        RS_CHECK_INT(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM "
                                          "synthetic_tests"),
                     runs);
        RS_CHECK(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM "
                                      "rum_synthetic_correlations WHERE "
                                      "verdict <> 'not_enough_data'") > 0);
        RS_CHECK_INT(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM issues WHERE "
                                          "kind = 'synthetic_failure' AND "
                                          "route = '/'"),
                     1);
        RS_CHECK(rs_it_pg_ll(dsn_ref,
                             "SELECT count(*) FROM issues WHERE "
                             "kind = 'lab_field_gap' AND tenant_id = "
                             "'acme-shop' AND route = '/checkout' "
                             "AND metric = 'lcp' AND "
                             "evidence->>'cause' = 'field_only'") >= 1);
        RS_CHECK(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM "
                                      "synthetic_coverage WHERE NOT "
                                      "covered") > 0);

        for (k = 0; k < sizeof(kill_at) / sizeof(*kill_at); k++)
                thresholds[k] = (long long)(kill_at[k] * (double)input) + 1;
        kills = rs_it_kill_at_progress(
            "synthetic-correlator", brokers, dsn_crash, "crash", slow,
            "0013-crash.log", thresholds, sizeof(kill_at) / sizeof(*kill_at));
        pid = rs_it_start_processor("synthetic-correlator", brokers, dsn_crash,
                                    "crash", 1, common, "0013-crash.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        RS_CHECK_MSG(kills >= 4, "only %d kills landed before the end", kills);
        got = rs_it_correlator_digest(dsn_crash);
        printf("after %d kills:\n%s", kills, got);
        RS_CHECK_STR(got, ref);
        RS_CHECK_MSG(rs_it_log_replayed("0013-crash.log"),
                     "no restart resumed below its commit offset");

        free(ref);
        free(got);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
