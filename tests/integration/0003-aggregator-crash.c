/*
 * Crash safety: the aggregator is killed with SIGKILL at several points
 * while it works through ~50k page views and restarted each time; the
 * final tables must equal, row for row (sketch bytes included), those of
 * an uninterrupted run over the same input in another database. No
 * duplicate rows (primary keys), no missing windows (same row counts and
 * digests).
 *
 * The faulty run is throttled so that the kills land mid-stream; each kill
 * waits for a condition (stored progress past a threshold), never a fixed
 * time. The test also checks that restarts really replayed: some partition
 * resumed below its stored commit offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define EVENTS     50000
#define TENANTS    24
#define PARTITIONS 12


int main(void) {
        rs_test_pg_t          *pg;
        rs_kafka_mock_t       *mock;
        rs_kafka_producer_t   *prod;
        char                   err[512], *ref, *got;
        const char            *brokers, *dsn_ref, *dsn_crash;
        static const long long kill_at[] = {1, 6000, 15000, 27000, 40000};
        /* A route cap that is reached, so the admitted routes must survive
         * the kills too (tenant_routes). */
        const char *slow[] = {
            "window.idle_close_ms=0", "limits.max_routes_per_tenant=12",
            "max_events_per_sec=12000", "commit_interval_ms=100", NULL};
        const char *fast[] = {"window.idle_close_ms=0",
                              "limits.max_routes_per_tenant=12", NULL};
        int         status, kills = 0;
        pid_t       pid;

        rs_it_clean_logs("0003");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
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
            rs_kafka_mock_topic(mock, "rum.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        rs_it_produce_traffic(prod, "rum.events", 7, TENANTS, EVENTS, NULL,
                              NULL);

        /* The reference: one uninterrupted run. */
        pid    = rs_it_start_aggregator(brokers, dsn_ref, "ref", 1, fast,
                                        "0003-reference.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        ref = rs_it_aggregator_digest(dsn_ref);
        printf("reference:\n%s", ref);

        /* The faulty run: SIGKILL whenever stored progress passes the next
         * threshold, restart at once. */
        kills  = rs_it_kill_at_progress("rum-aggregator", brokers, dsn_crash,
                                        "crash", slow, "0003-crash.log", kill_at,
                                        sizeof(kill_at) / sizeof(*kill_at));
        pid    = rs_it_start_aggregator(brokers, dsn_crash, "crash", 1, fast,
                                        "0003-crash.log");
        status = rs_it_wait_exit(pid, 600 * 1000);
        RS_CHECK_INT(status, 0);
        RS_CHECK_MSG(kills >= 4, "only %d kills landed before the end", kills);

        got = rs_it_aggregator_digest(dsn_crash);
        printf("after %d kills:\n%s", kills, got);
        RS_CHECK_STR(got, ref);

        /* Restarts resumed below the stored commit offset and skipped what
         * was written: the replay path was exercised. */
        RS_CHECK(rs_it_grep_count("0003-crash.log", "replay below") > 0);
        RS_CHECK_MSG(rs_it_log_replayed("0003-crash.log"),
                     "no restart resumed below its commit offset");

        free(ref);
        free(got);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
