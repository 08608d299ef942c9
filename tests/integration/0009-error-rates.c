/*
 * Error rates: page views go through the rum-aggregator into rum.aggregates,
 * errors of the same tenants and routes (with one bug bursting 20x on
 * /checkout for five minutes) into error.events; the error-tracker reads
 * both. Checks:
 *   - route_page_views holds exactly the aggregator's all-traffic page views;
 *   - error_rates has one row per (tenant, route, window) with page views or
 *     errors: page views as the aggregator counted them, errors and weighted
 *     errors as error_route_windows, rate = weighted errors / page views;
 *   - the burst opened exactly one error_rate issue, on that tenant and
 *     route, after error_rate.duration_ms above the threshold, updated while
 *     it lasted, resolved after it; no other route raised one. (The
 *     threshold is one error per page view: ordinary routes of this traffic
 *     reach half of that in single windows, the burst four times it.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PAGE_VIEWS 30000 /* 30 a second of event time: ~17 minutes */
#define ERRORS     800
#define TENANTS    4
#define PARTITIONS 8
#define BURST_FROM (6 * 60000)
#define BURST_TO   (11 * 60000)

int main(void) {
        rs_test_pg_t           *pg;
        rs_kafka_mock_t        *mock;
        rs_kafka_producer_t    *prod;
        rs_error_traffic_conf_t tc;
        rs_error_traffic_t     *gen;
        rs_error_event_t        ev;
        char                    err[512], tenant[64], q[1024];
        const char             *brokers, *dsn;
        const char             *agg_extra[] = {"window.idle_close_ms=0", NULL};
        const char             *et_extra[]  = {"window.idle_close_ms=0",
                                               "error_rate.threshold=1.0",
                                               "error_rate.duration_ms=180000", NULL};
        long                    i;
        int                     status;

        rs_it_clean_logs("0009");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);

        /* Page views, then their aggregates. */
        rs_it_produce_traffic(prod, "rum.events", 3, TENANTS, PAGE_VIEWS, NULL,
                              NULL);
        status =
            rs_it_wait_exit(rs_it_start_aggregator(brokers, dsn, "agg", 1,
                                                   agg_extra, "0009-agg.log"),
                            600 * 1000);
        RS_CHECK_INT(status, 0);

        /* Errors of the same tenants and routes. */
        rs_error_traffic_conf_defaults(&tc);
        tc.seed              = 3;
        tc.tenants           = TENANTS;
        tc.routes_per_tenant = 10;
        tc.errors_per_sec    = (double)ERRORS / (PAGE_VIEWS / 30.0);
        tc.start_ms          = RS_IT_TRAFFIC_START_MS;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        snprintf(tenant, sizeof(tenant), "%s", rs_error_traffic_tenant(gen, 0));
        rs_error_traffic_destroy(gen);
        tc.burst_tenant  = tenant;
        tc.burst_route   = "/checkout";
        tc.burst_from_ms = RS_IT_TRAFFIC_START_MS + BURST_FROM;
        tc.burst_to_ms   = RS_IT_TRAFFIC_START_MS + BURST_TO;
        tc.burst_factor  = 20;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        for (i = 0; rs_error_traffic_clock_ms(gen) <
                    RS_IT_TRAFFIC_START_MS + PAGE_VIEWS / 30 * 1000;
             i++) {
                rs_error_traffic_next(gen, &ev);
                rs_it_produce_error(prod, "error.events", &ev);
        }
        rs_error_traffic_destroy(gen);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        printf("%d page views, %ld errors\n", PAGE_VIEWS, i);

        status = rs_it_wait_exit(rs_it_start_processor("error-tracker", brokers,
                                                       dsn, "et", 1, et_extra,
                                                       "0009-et.log"),
                                 600 * 1000);
        RS_CHECK_INT(status, 0);

        /* Page views as the aggregator counted them. */
        RS_CHECK_INT(
            rs_it_pg_ll(dsn, "SELECT count(*) FROM rum_page_views v FULL JOIN "
                             "route_page_views p USING (tenant_id, route, "
                             "window_start) WHERE v.segment_type = 'all' AND "
                             "(p.page_views IS NULL OR v.page_views IS NULL OR "
                             "p.page_views <> v.page_views)"),
            0);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM route_page_views"),
                     rs_it_pg_ll(dsn, "SELECT count(*) FROM rum_page_views "
                                      "WHERE segment_type = 'all'"));

        /* One rate row per (tenant, route, window) with either side. */
        RS_CHECK_INT(
            rs_it_pg_ll(dsn, "SELECT count(*) FROM error_rates"),
            rs_it_pg_ll(dsn, "SELECT count(*) FROM (SELECT tenant_id, route, "
                             "window_start FROM route_page_views UNION SELECT "
                             "tenant_id, route, window_start FROM "
                             "error_route_windows) k"));
        RS_CHECK_INT(
            rs_it_pg_ll(dsn,
                        "SELECT count(*) FROM error_rates r LEFT JOIN "
                        "route_page_views p USING (tenant_id, route, "
                        "window_start) LEFT JOIN error_route_windows e USING "
                        "(tenant_id, route, window_start) WHERE "
                        "r.errors <> coalesce(e.errors, 0) OR "
                        "r.weighted_errors <> coalesce(e.weighted_errors, 0) "
                        "OR r.page_views IS DISTINCT FROM p.page_views OR "
                        "r.error_rate IS DISTINCT FROM CASE WHEN "
                        "p.page_views > 0 THEN coalesce(e.weighted_errors, 0) "
                        "/ p.page_views END"),
            0);
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_rates WHERE "
                                  "errors = 0 AND page_views > 0") > 0);
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_rates WHERE "
                                  "errors > 0 AND page_views > 0") > 0);

        {
                /* What was raised, for the log. */
                PGconn   *c = PQconnectdb(dsn);
                PGresult *r = PQexec(
                    c, "SELECT tenant_id, route, state, version, opened_at, "
                       "resolved_at, observed FROM issues WHERE kind = "
                       "'error_rate' ORDER BY opened_at");
                for (i = 0; i < PQntuples(r); i++)
                        printf("error_rate issue: %s %s %s v%s %s..%s %s\n",
                               PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                               PQgetvalue(r, i, 4), PQgetvalue(r, i, 5),
                               PQgetvalue(r, i, 6));
                PQclear(r);
                PQfinish(c);
        }

        /* The burst: one error_rate issue on its route, opened after three
         * windows above the threshold (dated back to the first), resolved
         * after. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'error_rate'"),
                     1);
        snprintf(q, sizeof(q),
                 "SELECT count(*) FROM issues WHERE kind = 'error_rate' AND "
                 "tenant_id = '%s' AND route = '/checkout' AND state = "
                 "'resolved' AND opened_at >= to_timestamp(%lld / 1000.0) AND "
                 "opened_at < to_timestamp(%lld / 1000.0) AND resolved_at >= "
                 "to_timestamp(%lld / 1000.0) AND version >= 3",
                 tenant, (long long)(RS_IT_TRAFFIC_START_MS + BURST_FROM),
                 (long long)(RS_IT_TRAFFIC_START_MS + BURST_TO),
                 (long long)(RS_IT_TRAFFIC_START_MS + BURST_TO));
        RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
        RS_CHECK_INT(
            rs_it_pg_ll(dsn, "SELECT count(*) FROM issue_versions v JOIN "
                             "issues i USING (issue_id) WHERE i.kind = "
                             "'error_rate'"),
            rs_it_pg_ll(
                dsn, "SELECT version FROM issues WHERE kind = 'error_rate'"));

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
