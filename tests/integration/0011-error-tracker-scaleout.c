/*
 * Scale-out of the error-tracker: two instances in one consumer group over
 * error.events and rum.aggregates (8 partitions each) write the same
 * tables, row for row, as one instance. The join of errors with page views
 * relies on partition p of both topics landing on the same instance (range
 * assignment); the second instance joins while the first is working, so
 * the pairs are also split and reassigned mid-stream, and each instance
 * must have processed messages itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PAGE_VIEWS 30000 /* 30 a second of event time: 1000 s */
#define TENANTS    6
#define PARTITIONS 8

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], *one, *two;
        const char          *brokers, *dsn_one, *dsn_two;
        const char          *fast[] = {
                     "window.idle_close_ms=0", "new_error.warmup_ms=300000",
                     "error_rate.threshold=1.0", "error_rate.duration_ms=180000", NULL};
        const char *slow[] = {
            "window.idle_close_ms=0",   "new_error.warmup_ms=300000",
            "error_rate.threshold=1.0", "error_rate.duration_ms=180000",
            "max_events_per_sec=1500",  NULL};
        const char *agg[] = {"window.idle_close_ms=0", NULL};
        pid_t       a, b;
        int         sa, sb;
        long        pa, pb;

        rs_it_clean_logs("0011");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "one");
        rs_it_create_db(rs_test_pg_dsn(pg), "two");
        rs_it_create_db(rs_test_pg_dsn(pg), "agg");
        dsn_one = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "one"));
        dsn_two = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "two"));
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

        rs_it_produce_traffic(prod, "rum.events", 4, TENANTS, PAGE_VIEWS, NULL,
                              NULL);
        sa = rs_it_wait_exit(
            rs_it_start_aggregator(brokers,
                                   rs_it_dsn_db(rs_test_pg_dsn(pg), "agg"),
                                   "agg", 1, agg, "0011-aggregator.log"),
            600 * 1000);
        RS_CHECK_INT(sa, 0);
        rs_it_produce_error_traffic(prod, "error.events", 4, TENANTS,
                                    RS_IT_TRAFFIC_START_MS +
                                        PAGE_VIEWS / 30 * 1000);

        a  = rs_it_start_processor("error-tracker", brokers, dsn_one, "one", 1,
                                   fast, "0011-one.log");
        sa = rs_it_wait_exit(a, 600 * 1000);
        RS_CHECK_INT(sa, 0);
        one = rs_it_tracker_digest(dsn_one);
        printf("one instance:\n%s", one);
        RS_CHECK(rs_it_pg_ll(dsn_one, "SELECT count(*) FROM error_rates WHERE "
                                      "page_views > 0 AND errors > 0") > 0);
        RS_CHECK(rs_it_pg_ll(dsn_one, "SELECT count(*) FROM issues") > 0);

        a  = rs_it_start_processor("error-tracker", brokers, dsn_two, "two", 1,
                                   slow, "0011-two-a.log");
        b  = rs_it_start_processor("error-tracker", brokers, dsn_two, "two", 1,
                                   slow, "0011-two-b.log");
        sa = rs_it_wait_exit(a, 600 * 1000);
        sb = rs_it_wait_exit(b, 600 * 1000);
        RS_CHECK_INT(sa, 0);
        RS_CHECK_INT(sb, 0);
        pa = rs_it_log_number("0011-two-a.log", "stopped cleanly after ");
        pb = rs_it_log_number("0011-two-b.log", "stopped cleanly after ");
        printf("instance a processed %ld messages, b %ld\n", pa, pb);
        RS_CHECK_MSG(pa > 0 && pb > 0, "a %ld, b %ld: both must work", pa, pb);
        two = rs_it_tracker_digest(dsn_two);
        printf("two instances:\n%s", two);
        RS_CHECK_STR(two, one);

        free(one);
        free(two);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
