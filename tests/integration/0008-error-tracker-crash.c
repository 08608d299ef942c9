/*
 * Crash safety of the error-tracker: killed with SIGKILL at several points
 * while it works through generated errors and the page views of the same
 * tenants (aggregated once by the rum-aggregator into rum.aggregates) -
 * with a burst that opens, updates and resolves a spike issue and an
 * error_rate issue, and a new bug that opens a new_error issue - and
 * restarted each time, it must leave tables equal, row for row, to those
 * of an uninterrupted run over the same input in another database: groups
 * and their detector state, windowed counts, page views, error rates and
 * their rule state, issues and every issue version. Kills wait for stored
 * progress, never for a fixed time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PAGE_VIEWS 30000 /* 30 a second of event time: 1000 s */
#define TENANTS    4
#define PARTITIONS 8


int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], *ref, *got;
        const char          *brokers, *dsn_ref, *dsn_crash;
        /* Fractions of the input at which to kill. */
        static const double kill_at[] = {0.0, 0.2, 0.45, 0.7, 0.9};
        long long           thresholds[5];
        const char         *slow[] = {"window.idle_close_ms=0",
                                      "new_error.warmup_ms=300000",
                                      "error_rate.threshold=1.0",
                                      "error_rate.duration_ms=180000",
                                      "max_events_per_sec=800",
                                      "commit_interval_ms=100",
                                      NULL};
        const char         *fast[] = {
                    "window.idle_close_ms=0", "new_error.warmup_ms=300000",
                    "error_rate.threshold=1.0", "error_rate.duration_ms=180000", NULL};
        const char *agg[] = {"window.idle_close_ms=0", NULL};
        long        input;
        int64_t     aggregates;
        size_t      k;
        int         status, kills = 0;
        pid_t       pid;

        rs_it_clean_logs("0008");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "ref");
        rs_it_create_db(rs_test_pg_dsn(pg), "crash");
        dsn_ref   = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "ref"));
        dsn_crash = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "crash"));
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "error.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "agg");
        rs_it_produce_traffic(prod, "rum.events", 3, TENANTS, PAGE_VIEWS, NULL,
                              NULL);
        status = rs_it_wait_exit(
            rs_it_start_aggregator(brokers,
                                   rs_it_dsn_db(rs_test_pg_dsn(pg), "agg"),
                                   "agg", 1, agg, "0008-aggregator.log"),
            600 * 1000);
        RS_CHECK_INT(status, 0);
        if (rs_kafka_topic_size(rs_kafka_producer_handle(prod),
                                "rum.aggregates", 30000, &aggregates, err,
                                sizeof(err)) == -1)
                rs_it_die("rum.aggregates: %s", err);
        input = rs_it_produce_error_traffic(prod, "error.events", 3, TENANTS,
                                            RS_IT_TRAFFIC_START_MS +
                                                PAGE_VIEWS / 30 * 1000) +
                (long)aggregates;
        printf("input: %ld messages (%lld aggregates)\n", input,
               (long long)aggregates);

        pid = rs_it_start_processor("error-tracker", brokers, dsn_ref, "ref", 1,
                                    fast, "0008-reference.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        ref = rs_it_tracker_digest(dsn_ref);
        printf("reference:\n%s", ref);
        /* The run must have had issues to get right. */
        RS_CHECK(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'error_spike'") >= 1);
        RS_CHECK(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'new_error'") >= 1);
        RS_CHECK_INT(rs_it_pg_ll(dsn_ref, "SELECT count(*) FROM issues WHERE "
                                          "kind = 'error_rate'"),
                     1);
        RS_CHECK(rs_it_pg_ll(dsn_ref,
                             "SELECT count(*) FROM error_rates "
                             "WHERE page_views > 0 AND errors > 0") > 0);

        for (k = 0; k < sizeof(kill_at) / sizeof(*kill_at); k++)
                thresholds[k] = (long long)(kill_at[k] * (double)input) + 1;
        kills = rs_it_kill_at_progress(
            "error-tracker", brokers, dsn_crash, "crash", slow,
            "0008-crash.log", thresholds, sizeof(kill_at) / sizeof(*kill_at));
        pid    = rs_it_start_processor("error-tracker", brokers, dsn_crash,
                                       "crash", 1, fast, "0008-crash.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        RS_CHECK_MSG(kills >= 4, "only %d kills landed before the end", kills);
        got = rs_it_tracker_digest(dsn_crash);
        printf("after %d kills:\n%s", kills, got);
        RS_CHECK_STR(got, ref);
        RS_CHECK_MSG(rs_it_log_replayed("0008-crash.log"),
                     "no restart resumed below its commit offset");

        free(ref);
        free(got);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
