/*
 * Personal data in page URLs: route normalization takes ids, UUIDs and
 * tokens out of a path, but an e-mail address, an IP address or a phone
 * number in a path segment would survive it. Page views whose URLs carry
 * them (in the path and in the query) go through the aggregator; their
 * routes must be stored with the scrubber's placeholders, with exact page
 * view counts, and none of the strings may appear in any table or in the
 * output topic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PER_URL 50

static const struct {
        const char *url, *route, *pii;
} pages[] = {
    {"https://shop.example/users/jane.doe@example.com/orders?page=2",
     "/users/<email>/orders", "jane.doe@example.com"},
    {"https://shop.example/devices/10.20.30.40/status", "/devices/<ip>/status",
     "10.20.30.40"},
    {"https://shop.example/call/+1-415-555-0132", "/call/<phone>",
     "415-555-0132"},
    {"https://shop.example/reset?email=max@example.org&token=abc123def456",
     "/reset", "max@example.org"},
};

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_traffic_conf_t    tc;
        rs_traffic_t        *gen;
        rs_rum_event_t       ev;
        char                 err[512], q[512], id[64];
        const char          *brokers, *dsn;
        const char          *extra[] = {"window.idle_close_ms=0", NULL};
        rs_it_msg_t         *msgs;
        PGconn              *c;
        PGresult            *r;
        long                 n, i;
        size_t               k;
        int                  status, j;

        rs_it_clean_logs("0010");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", 4, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 4, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);

        /* Ordinary generated page views with these URLs, all consented. */
        rs_traffic_conf_defaults(&tc);
        tc.tenants  = 1;
        tc.start_ms = RS_IT_TRAFFIC_START_MS;
        if (!(gen = rs_traffic_new(&tc)))
                rs_it_die("generator");
        for (k = 0; k < sizeof(pages) / sizeof(*pages); k++) {
                for (j = 0; j < PER_URL; j++) {
                        rs_traffic_next(gen, &ev);
                        snprintf(id, sizeof(id), "pii-%zu-%d", k, j);
                        ev.event_id    = id;
                        ev.url         = pages[k].url;
                        ev.consent     = 1;
                        ev.sample_rate = 1.0;
                        rs_it_produce_event(prod, "rum.events", &ev);
                }
        }
        rs_traffic_destroy(gen);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);

        status = rs_it_wait_exit(
            rs_it_start_aggregator(brokers, dsn, "pii", 1, extra, "0010.log"),
            600 * 1000);
        RS_CHECK_INT(status, 0);

        for (k = 0; k < sizeof(pages) / sizeof(*pages); k++) {
                snprintf(q, sizeof(q),
                         "SELECT coalesce(sum(events), 0) FROM rum_page_views "
                         "WHERE segment_type = 'all' AND route = '%s'",
                         pages[k].route);
                RS_CHECK_MSG(rs_it_pg_ll(dsn, q) == PER_URL, "route %s",
                             pages[k].route);
        }

        /* None of the strings anywhere. */
        c = PQconnectdb(dsn);
        r = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = "
                      "'public'");
        RS_CHECK(PQntuples(r) >= 4);
        for (i = 0; i < PQntuples(r); i++) {
                PGresult *rows;
                snprintf(q, sizeof(q), "SELECT t::text FROM \"%s\" t",
                         PQgetvalue(r, i, 0));
                rows = PQexec(c, q);
                for (j = 0; j < PQntuples(rows); j++)
                        for (k = 0; k < sizeof(pages) / sizeof(*pages); k++)
                                if (strstr(PQgetvalue(rows, j, 0),
                                           pages[k].pii))
                                        RS_CHECK_MSG(0, "'%s' in %s",
                                                     pages[k].pii,
                                                     PQgetvalue(r, i, 0));
                PQclear(rows);
        }
        PQclear(r);
        PQfinish(c);
        n = rs_it_read_topic(brokers, "rum.aggregates", &msgs, 60000);
        RS_CHECK(n > 0);
        for (i = 0; i < n; i++)
                for (k = 0; k < sizeof(pages) / sizeof(*pages); k++)
                        if (memmem(msgs[i].value, msgs[i].len, pages[k].pii,
                                   strlen(pages[k].pii)))
                                RS_CHECK_MSG(0, "'%s' in rum.aggregates",
                                             pages[k].pii);
        rs_it_msgs_free(msgs, n);

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
