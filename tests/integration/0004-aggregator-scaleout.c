/*
 * Scale-out: two aggregator instances in one consumer group over a
 * 6-partition topic write the same tables, row for row, as one instance.
 * Both are throttled so that the second joins while the first is still
 * working, and each must have processed messages itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define EVENTS     30000
#define TENANTS    24
#define PARTITIONS 6

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], *one, *two;
        const char          *brokers, *dsn_one, *dsn_two;
        const char          *fast[] = {"window.idle_close_ms=0", NULL};
        const char          *slow[] = {"window.idle_close_ms=0",
                                       "max_events_per_sec=4000", NULL};
        pid_t                a, b;
        int                  sa, sb;
        long                 pa, pb;

        rs_it_clean_logs("0004");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        rs_it_create_db(rs_test_pg_dsn(pg), "one");
        rs_it_create_db(rs_test_pg_dsn(pg), "two");
        dsn_one = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "one"));
        dsn_two = strdup(rs_it_dsn_db(rs_test_pg_dsn(pg), "two"));

        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 12, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        rs_it_produce_traffic(prod, "rum.events", 11, TENANTS, EVENTS, NULL,
                              NULL);

        a  = rs_it_start_aggregator(brokers, dsn_one, "one", 1, fast,
                                    "0004-one.log");
        sa = rs_it_wait_exit(a, 600 * 1000);
        RS_CHECK_INT(sa, 0);
        one = rs_it_aggregator_digest(dsn_one);
        printf("one instance:\n%s", one);

        a  = rs_it_start_aggregator(brokers, dsn_two, "two", 1, slow,
                                    "0004-two-a.log");
        b  = rs_it_start_aggregator(brokers, dsn_two, "two", 1, slow,
                                    "0004-two-b.log");
        sa = rs_it_wait_exit(a, 600 * 1000);
        sb = rs_it_wait_exit(b, 600 * 1000);
        RS_CHECK_INT(sa, 0);
        RS_CHECK_INT(sb, 0);
        pa = rs_it_log_number("0004-two-a.log", "stopped cleanly after ");
        pb = rs_it_log_number("0004-two-b.log", "stopped cleanly after ");
        printf("instance a processed %ld messages, b %ld\n", pa, pb);
        RS_CHECK_MSG(pa > 0 && pb > 0, "a %ld, b %ld: both must work", pa, pb);

        two = rs_it_aggregator_digest(dsn_two);
        printf("two instances:\n%s", two);
        RS_CHECK_STR(two, one);

        free(one);
        free(two);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
