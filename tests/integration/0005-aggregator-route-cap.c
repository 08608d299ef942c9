/*
 * Route cardinality cap: with limits.max_routes_per_tenant = 4, each
 * tenant's first four distinct routes (in the order of its partition) are
 * admitted and every other page view is counted under "__overflow__"; the
 * admitted routes are stored in tenant_routes. Expected page views per
 * (tenant, route) are computed here from the events produced.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rumstream/kafka.h"
#include "rumstream/map.h"
#include "rumstream/route.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define EVENTS  20000
#define TENANTS 6
#define CAP     4

typedef struct tenant_s {
        char routes[CAP][RS_ROUTE_MAX];
        int  admitted;
        char custom[80]; /* the one custom timing name admitted */
        long custom_samples;
} tenant_t;

static rs_map_t *tenants; /* tenant -> tenant_t */
static rs_map_t *views;   /* "tenant|route" -> (intptr_t) events */
static long      expected_overflow;

static void on_event(const rs_rum_event_t *ev, void *opaque) {
        char      route[RS_ROUTE_MAX], key[512];
        void    **slot;
        tenant_t *t;
        int       created, i;

        (void)opaque;
        if (!ev->consent)
                return;
        slot =
            rs_map_put(tenants, ev->tenant_id, strlen(ev->tenant_id), &created);
        if (!*slot)
                *slot = calloc(1, sizeof(tenant_t));
        t = *slot;
        /* One custom timing name per tenant: the first it sends. */
        for (i = 0; i < (int)ev->custom_cnt; i++) {
                if (!t->custom[0])
                        snprintf(t->custom, sizeof(t->custom), "%s",
                                 ev->custom[i].name);
                if (!strcmp(t->custom, ev->custom[i].name))
                        t->custom_samples++;
        }
        rs_route_normalize(ev->url, strlen(ev->url), route);
        for (i = 0; i < t->admitted; i++)
                if (!strcmp(t->routes[i], route))
                        break;
        if (i == t->admitted) {
                if (t->admitted < CAP) {
                        snprintf(t->routes[t->admitted++], RS_ROUTE_MAX, "%s",
                                 route);
                } else {
                        snprintf(route, sizeof(route), "%s", RS_ROUTE_OVERFLOW);
                        expected_overflow++;
                }
        }
        snprintf(key, sizeof(key), "%s|%s", ev->tenant_id, route);
        slot  = rs_map_put(views, key, strlen(key), &created);
        *slot = (void *)((intptr_t)*slot + 1);
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512];
        const char          *brokers, *dsn;
        const char          *extra[] = {"window.idle_close_ms=0",
                                        "limits.max_routes_per_tenant=4",
                                        "limits.max_custom_timings_per_tenant=1", NULL};
        PGconn              *c;
        PGresult            *r;
        int                  i, status, bad = 0;
        long                 total = 0;

        rs_it_clean_logs("0005");
        tenants = rs_map_new();
        views   = rs_map_new();
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", 6, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 12, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        rs_it_produce_traffic(prod, "rum.events", 5, TENANTS, EVENTS, on_event,
                              NULL);

        status = rs_it_wait_exit(
            rs_it_start_aggregator(brokers, dsn, "cap", 1, extra, "0005.log"),
            600 * 1000);
        RS_CHECK_INT(status, 0);
        RS_CHECK(expected_overflow > 0); /* the cap was really reached */

        c = PQconnectdb(dsn);
        r = PQexec(c, "SELECT tenant_id, route, sum(events) FROM "
                      "rum_page_views WHERE segment_type = 'all' "
                      "GROUP BY 1, 2");
        RS_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        RS_CHECK_INT(PQntuples(r), (long)rs_map_size(views));
        for (i = 0; i < PQntuples(r); i++) {
                char   key[512];
                void **slot;
                long   got = strtol(PQgetvalue(r, i, 2), NULL, 10);
                snprintf(key, sizeof(key), "%s|%s", PQgetvalue(r, i, 0),
                         PQgetvalue(r, i, 1));
                slot = rs_map_get(views, key, strlen(key));
                if (!slot || (long)(intptr_t)*slot != got) {
                        if (bad++ < 5)
                                fprintf(stderr,
                                        "%s: %ld page views, "
                                        "expected %ld\n",
                                        key, got,
                                        slot ? (long)(intptr_t)*slot : 0L);
                }
                total += got;
        }
        RS_CHECK_INT(bad, 0);
        PQclear(r);
        printf("%ld page views, %ld of them over the cap of %d routes\n", total,
               expected_overflow, CAP);

        /* Exactly the admitted routes are stored, the overflow route not. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM tenant_routes"),
                     (long)rs_map_size(tenants) * CAP);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM tenant_routes "
                                      "WHERE route = '" RS_ROUTE_OVERFLOW "'"),
                     0);
        RS_CHECK_INT(
            rs_it_pg_ll(dsn,
                        "SELECT count(*) FROM (SELECT "
                        "tenant_id FROM rum_page_views WHERE "
                        "segment_type = 'all' AND route <> '" RS_ROUTE_OVERFLOW
                        "' GROUP BY tenant_id HAVING "
                        "count(DISTINCT route) > 4) t"),
            0);

        /* Custom timings: only each tenant's first name is stored and
         * aggregated, with every sample of it. */
        r = PQexec(c, "SELECT tenant_id, min(metric), count(DISTINCT "
                      "metric), sum(samples) FROM rum_aggregates WHERE "
                      "metric LIKE 'custom.%' GROUP BY 1");
        RS_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        bad = 0;
        for (i = 0; i < PQntuples(r); i++) {
                const char *tn   = PQgetvalue(r, i, 0);
                void      **slot = rs_map_get(tenants, tn, strlen(tn));
                tenant_t   *t    = slot ? *slot : NULL;
                char        want[96];
                if (!t) {
                        bad++;
                        continue;
                }
                snprintf(want, sizeof(want), "custom.%s", t->custom);
                if (strcmp(PQgetvalue(r, i, 1), want) ||
                    strcmp(PQgetvalue(r, i, 2), "1") ||
                    strtol(PQgetvalue(r, i, 3), NULL, 10) !=
                        t->custom_samples) {
                        bad++;
                        fprintf(stderr,
                                "%s: %s x%s, %s samples; expected "
                                "%s, %ld samples\n",
                                tn, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                                PQgetvalue(r, i, 3), want, t->custom_samples);
                }
        }
        RS_CHECK(PQntuples(r) > 0);
        RS_CHECK_INT(bad, 0);
        PQclear(r);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) - count(DISTINCT "
                                      "tenant_id) FROM tenant_custom_timings"),
                     0);
        PQfinish(c);

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
