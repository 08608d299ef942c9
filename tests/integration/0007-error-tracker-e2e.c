/*
 * error-tracker end to end: generated front-end errors of four tenants -
 * a fifth of them carrying personal data, one bug bursting 20x on one route
 * for five minutes, a bug that appears mid-run - plus bad input go through
 * the embedded Kafka, and the error-tracker runs until the end of input.
 * What this test computes from the events it produced is compared with
 * what landed:
 *   - error_route_windows: errors, weighted errors and affected sessions
 *     per (tenant, route, window), exact (sessions exact up to 32, then an
 *     estimate flagged as such, within 15%);
 *   - error_aggregates: the same totals, one ErrorAggregate message per
 *     row with matching ids;
 *   - groups: every bug of a tenant is exactly one group;
 *   - issues: the burst opened exactly one error_spike issue during the
 *     burst, updated while it lasted and resolved after it (issues topic
 *     and issue_versions agree); every bug first seen after the tenant's
 *     warm-up, the injected one included, opened exactly one new_error
 *     issue, and no other did;
 *   - personal data: none of the generator's PII strings appears in any
 *     table or in any output topic, dead letters included;
 *   - bad input: each on error.events.dlq with its reason.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rumstream/avro.h"
#include "rumstream/distinct.h"
#include "rumstream/hash.h"
#include "rumstream/kafka.h"
#include "rumstream/map.h"
#include "rumstream/route.h"
#include "rumstream/traffic.h"
#include "rumstream/window.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define ERRORS     8000
#define TENANTS    4
#define WINDOW_MS  60000
#define WARMUP_MS  (10 * 60000)
#define BURST_FROM (15 * 60000)
#define BURST_TO   (20 * 60000)
#define NEW_FROM   (22 * 60000)

/* Expected per (tenant, route, window). */
typedef struct rexp_s {
        int64_t   errors;
        double    weighted;
        rs_map_t *sessions; /* session id -> present */
        int       matched;
} rexp_t;

/* Per (tenant, bug). */
typedef struct bug_s {
        int64_t first_window;
} bug_t;

static rs_map_t *routes;  /* "tenant|route|window" -> rexp_t */
static rs_map_t *bugs;    /* "tenant|bug" -> bug_t */
static rs_map_t *tenants; /* tenant -> (intptr_t) first window + 1 */
static long      total;
static long      pii_events;

static void expect(const rs_error_event_t *ev, const char *bug) {
        char    key[1024], route[RS_ROUTE_MAX];
        int64_t w = rs_window_start_of(WINDOW_MS, ev->timestamp_ms);
        void  **slot;
        rexp_t *r;
        bug_t  *b;
        int     created;

        if (ev->route && ev->route[0])
                rs_route_normalize(ev->route, strlen(ev->route), route);
        else
                rs_route_normalize(ev->url, strlen(ev->url), route);
        snprintf(key, sizeof(key), "%s|%s|%" PRId64, ev->tenant_id, route, w);
        slot = rs_map_put(routes, key, strlen(key), &created);
        if (!*slot) {
                r           = calloc(1, sizeof(*r));
                r->sessions = rs_map_new();
                *slot       = r;
        }
        r = *slot;
        r->errors++;
        r->weighted += 1.0 / ev->sample_rate;
        rs_map_put(r->sessions, ev->session_id, strlen(ev->session_id),
                   &created);

        slot =
            rs_map_put(tenants, ev->tenant_id, strlen(ev->tenant_id), &created);
        if (created)
                *slot = (void *)(intptr_t)(w + 1);

        snprintf(key, sizeof(key), "%s|%s", ev->tenant_id, bug);
        slot = rs_map_put(bugs, key, strlen(key), &created);
        if (!*slot) {
                b               = calloc(1, sizeof(*b));
                b->first_window = w;
                *slot           = b;
        }
        b = *slot;
        if (w < b->first_window)
                b->first_window = w;
        total++;
}

/* Bad input: garbage, and decodable events the tracker must refuse, each
 * carrying personal data that must not reach the dead-letter topic. */
static void produce_bad(rs_kafka_producer_t *p, const rs_error_event_t *tpl,
                        const char *pii) {
        rs_error_event_t ev = *tpl;
        char             msg[256];

        rs_it_produce_raw(p, "error.events", ev.tenant_id, "\x00\x00", 2);
        rs_it_produce_raw(p, "error.events", ev.tenant_id,
                          "not avro at all, just text", 26);

        snprintf(msg, sizeof(msg), "login failed for %s", pii);
        ev.message        = msg;
        ev.breadcrumb_cnt = 0;
        ev.event_id       = "bad-late";
        ev.timestamp_ms   = RS_IT_TRAFFIC_START_MS - 3600 * 1000;
        rs_it_produce_error(p, "error.events", &ev); /* late */
        ev.event_id     = "bad-rate";
        ev.timestamp_ms = tpl->timestamp_ms;
        ev.sample_rate  = 0;
        rs_it_produce_error(p, "error.events", &ev); /* invalid sample */
}

static int contains(const void *buf, size_t len, const char *s) {
        return memmem(buf, len, s, strlen(s)) != NULL;
}

static void scan_msgs(const char *topic, const rs_it_msg_t *msgs, long n,
                      const char *const *pii, size_t npii) {
        long   i;
        size_t k;

        for (i = 0; i < n; i++)
                for (k = 0; k < npii; k++)
                        if (contains(msgs[i].value, msgs[i].len, pii[k]))
                                RS_CHECK_MSG(0, "PII '%s' in %s", pii[k],
                                             topic);
}

static long expected_new;

static void count_new(const void *key, size_t len, void *value, void *opaque) {
        char        tenant[128];
        const char *bar = memchr(key, '|', len);
        bug_t      *b   = value;
        void      **slot;

        (void)opaque;
        snprintf(tenant, sizeof(tenant), "%.*s", (int)(bar - (const char *)key),
                 (const char *)key);
        slot = rs_map_get(tenants, tenant, strlen(tenant));
        if (b->first_window >= (int64_t)(intptr_t)*slot - 1 + WARMUP_MS)
                expected_new++;
}

int main(void) {
        rs_test_pg_t           *pg;
        rs_kafka_mock_t        *mock;
        rs_kafka_producer_t    *prod;
        rs_error_traffic_conf_t tc;
        rs_error_traffic_t     *gen;
        rs_error_event_t        ev, last;
        char               err[512], burst_bug[128] = "", new_bug[128] = "";
        char               burst_tenant[64], new_tenant[64];
        const char        *brokers, *dsn;
        const char *const *pii;
        size_t             npii, k;
        const char        *extra[] = {"window.idle_close_ms=0",
                                      "new_error.warmup_ms=600000", NULL};
        PGconn            *c;
        PGresult          *r;
        rs_it_msg_t       *msgs;
        long               n, i;
        int                status, bad;
        int64_t            start;

        rs_it_clean_logs("0007");
        routes  = rs_map_new();
        bugs    = rs_map_new();
        tenants = rs_map_new();
        npii    = rs_error_traffic_pii_strings(&pii);

        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "error.events", 8, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.aggregates", 8, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", 8, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 8, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "pv.other", 4, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "error.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);

        /* Tenant names come from the generator itself. */
        rs_error_traffic_conf_defaults(&tc);
        tc.seed              = 11;
        tc.tenants           = TENANTS;
        tc.routes_per_tenant = 8;
        tc.tenant_skew       = 0;
        tc.errors_per_sec    = 4;
        tc.start_ms          = RS_IT_TRAFFIC_START_MS;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        snprintf(burst_tenant, sizeof(burst_tenant), "%s",
                 rs_error_traffic_tenant(gen, 0));
        snprintf(new_tenant, sizeof(new_tenant), "%s",
                 rs_error_traffic_tenant(gen, 1));
        rs_error_traffic_destroy(gen);

        tc.burst_tenant      = burst_tenant;
        tc.burst_route       = "/checkout";
        tc.burst_from_ms     = RS_IT_TRAFFIC_START_MS + BURST_FROM;
        tc.burst_to_ms       = RS_IT_TRAFFIC_START_MS + BURST_TO;
        tc.burst_factor      = 20;
        tc.new_group_tenant  = new_tenant;
        tc.new_group_from_ms = RS_IT_TRAFFIC_START_MS + NEW_FROM;
        if (!(gen = rs_error_traffic_new(&tc, err, sizeof(err))))
                rs_it_die("generator: %s", err);
        snprintf(burst_bug, sizeof(burst_bug), "%s",
                 rs_error_traffic_bug(gen, 0, 0));
        for (i = 0; i < ERRORS; i++) {
                rs_error_traffic_next(gen, &ev);
                if (rs_error_traffic_last_is_new_group(gen))
                        snprintf(new_bug, sizeof(new_bug), "%s",
                                 rs_error_traffic_last_bug(gen));
                expect(&ev, rs_error_traffic_last_bug(gen));
                pii_events += rs_error_traffic_last_has_pii(gen);
                rs_it_produce_error(prod, "error.events", &ev);
        }
        last = ev;
        produce_bad(prod, &last, pii[0]);
        rs_error_traffic_destroy(gen);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        RS_CHECK(new_bug[0] != '\0'); /* the new bug did occur */
        /* Page views on a topic with another partition count cannot be
         * joined: the tracker refuses to start, and says why. */
        {
                const char *other[] = {"page_views_topic=pv.other", NULL};
                status              = rs_it_wait_exit(
                                 rs_it_start_processor("error-tracker", brokers, dsn,
                                                       "mismatch", 1, other,
                                                       "0007-mismatch.log"),
                                 120 * 1000);
                RS_CHECK_INT(status, 1);
                RS_CHECK(rs_it_grep_count("0007-mismatch.log",
                                          "error.events has 8 partitions "
                                          "and pv.other 4") == 1);
        }


        start = rs_it_now_ms();
        status =
            rs_it_wait_exit(rs_it_start_processor("error-tracker", brokers, dsn,
                                                  "et", 1, extra, "0007.log"),
                            600 * 1000);
        RS_CHECK_INT(status, 0);
        printf("error-tracker: %ld errors in %.1f s\n", total,
               (double)(rs_it_now_ms() - start) / 1000.0);
        RS_CHECK_INT(rs_it_log_number("0007.log", "stopped cleanly after "),
                     ERRORS + 4);

        c = PQconnectdb(dsn);

        /* Per (tenant, route, window). */
        r = PQexec(c, "SELECT tenant_id, route, (extract(epoch FROM "
                      "window_start) * 1000)::bigint, errors, "
                      "weighted_errors, sessions, sessions_estimated "
                      "FROM error_route_windows");
        RS_CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        RS_CHECK_INT(PQntuples(r), (long)rs_map_size(routes));
        bad = 0;
        for (i = 0; i < PQntuples(r); i++) {
                char    key[1024];
                void  **slot;
                rexp_t *x;
                long    sessions, exact;
                int     est;

                snprintf(key, sizeof(key), "%s|%s|%s", PQgetvalue(r, i, 0),
                         PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
                slot = rs_map_get(routes, key, strlen(key));
                if (!slot) {
                        if (bad++ < 5)
                                fprintf(stderr, "unexpected row %s\n", key);
                        continue;
                }
                x        = *slot;
                sessions = strtol(PQgetvalue(r, i, 5), NULL, 10);
                est      = PQgetvalue(r, i, 6)[0] == 't';
                exact    = (long)rs_map_size(x->sessions);
                x->matched++;
                if (strtoll(PQgetvalue(r, i, 3), NULL, 10) != x->errors ||
                    fabs(strtod(PQgetvalue(r, i, 4), NULL) - x->weighted) >
                        1e-9 * x->weighted ||
                    (exact <= RS_DISTINCT_EXACT
                         ? (est || sessions != exact)
                         : (!est || fabs((double)(sessions - exact)) >
                                        0.15 * (double)exact))) {
                        if (bad++ < 5)
                                fprintf(stderr,
                                        "%s: %s errors (%s weighted), %ld "
                                        "sessions%s; expected %" PRId64
                                        " (%g), %ld\n",
                                        key, PQgetvalue(r, i, 3),
                                        PQgetvalue(r, i, 4), sessions,
                                        est ? " (estimated)" : "", x->errors,
                                        x->weighted, exact);
                }
        }
        RS_CHECK_INT(bad, 0);
        PQclear(r);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT sum(errors) FROM "
                                      "error_route_windows"),
                     total);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT sum(errors) FROM "
                                      "error_aggregates"),
                     total);
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_route_windows "
                                  "WHERE sessions_estimated") > 0);

        /* Groups: one per bug of each tenant. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_groups"),
                     (long)rs_map_size(bugs));
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_group_state"),
                     (long)rs_map_size(bugs));
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM error_tenants"),
                     TENANTS);
        /* Each group's running totals add up its windows. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT sum(errors) FROM "
                                      "error_group_summary"),
                     total);
        RS_CHECK_INT(rs_it_pg_ll(dsn,
                                 "SELECT count(*) FROM error_group_summary s "
                                 "JOIN (SELECT tenant_id, group_id, "
                                 "sum(errors) AS e, max(window_end) AS w FROM "
                                 "error_aggregates GROUP BY 1, 2) a USING "
                                 "(tenant_id, group_id) WHERE s.errors <> a.e "
                                 "OR s.last_seen >= a.w OR s.last_seen < "
                                 "s.first_seen"),
                     0);

        /* ErrorAggregate messages: one per row, the same ids. */
        n = rs_it_read_topic(brokers, "error.aggregates", &msgs, 60000);
        RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                         "error_aggregates"));
        bad = 0;
        {
                rs_map_t *ids = rs_map_new();
                int       created;
                r = PQexec(c, "SELECT aggregate_id FROM error_aggregates");
                for (i = 0; i < PQntuples(r); i++)
                        rs_map_put(ids, PQgetvalue(r, i, 0),
                                   strlen(PQgetvalue(r, i, 0)), &created);
                PQclear(r);
                for (i = 0; i < n; i++) {
                        /* The id is the record's first field: a length
                         * byte (64 = 32 chars zigzag) then the hex. */
                        const char *v = (const char *)msgs[i].value;
                        if (msgs[i].len < 5 + 1 + 32 ||
                            !rs_map_get(ids, v + 6, 32))
                                bad++;
                }
                rs_map_destroy(ids);
        }
        RS_CHECK_INT(bad, 0);
        scan_msgs("error.aggregates", msgs, n, pii, npii);
        rs_it_msgs_free(msgs, n);

        /* The burst: one spike issue, opened during it, resolved after. */
        {
                char q[1024];
                snprintf(q, sizeof(q),
                         "SELECT count(*) FROM issues WHERE kind = "
                         "'error_spike' AND tenant_id = '%s' AND state = "
                         "'resolved' AND opened_at >= to_timestamp(%lld / "
                         "1000.0) AND opened_at < to_timestamp(%lld / 1000.0) "
                         "AND resolved_at >= to_timestamp(%lld / 1000.0)",
                         burst_tenant,
                         (long long)(RS_IT_TRAFFIC_START_MS + BURST_FROM),
                         (long long)(RS_IT_TRAFFIC_START_MS + BURST_TO),
                         (long long)(RS_IT_TRAFFIC_START_MS + BURST_TO));
                RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
        }
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'error_spike'"),
                     1);
        /* Versions 1..n: open, updated..., resolved. */
        RS_CHECK_INT(rs_it_pg_ll(dsn,
                                 "SELECT count(*) FROM issue_versions v JOIN "
                                 "issues i USING (issue_id) WHERE i.kind = "
                                 "'error_spike' AND v.state = CASE WHEN "
                                 "v.version = 1 THEN 'open' WHEN v.version = "
                                 "i.version THEN 'resolved' ELSE 'updated' "
                                 "END"),
                     rs_it_pg_ll(dsn, "SELECT version FROM issues WHERE "
                                      "kind = 'error_spike'"));
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT version FROM issues WHERE kind = "
                                  "'error_spike'") >= 3);

        /* New errors: exactly the bugs first seen after the warm-up. */
        rs_map_foreach(bugs, count_new, NULL);
        RS_CHECK(expected_new >= 1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'new_error'"),
                     expected_new);
        {
                char q[1024];
                snprintf(q, sizeof(q),
                         "SELECT count(*) FROM issues i JOIN error_groups g "
                         "ON g.tenant_id = i.tenant_id AND g.group_id = "
                         "i.evidence->>'group_id' WHERE i.kind = 'new_error' "
                         "AND i.tenant_id = '%s' AND g.first_seen >= "
                         "to_timestamp(%lld / 1000.0)",
                         new_tenant,
                         (long long)(RS_IT_TRAFFIC_START_MS + NEW_FROM));
                RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
        }

        /* Issues on the topic: one message per version. */
        n = rs_it_read_topic(brokers, "issues", &msgs, 60000);
        RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                         "issue_versions"));
        scan_msgs("issues", msgs, n, pii, npii);
        rs_it_msgs_free(msgs, n);

        /* Dead letters: reasons, and no personal data in them. */
        n = rs_it_read_topic(brokers, "error.events.dlq", &msgs, 60000);
        RS_CHECK_INT(n, 4);
        {
                static const char *const want[] = {
                    "truncated", "bad_magic", "late", "invalid_sample_rate"};
                for (k = 0; k < 4; k++) {
                        int found = 0;
                        for (i = 0; i < n; i++)
                                found += !strcmp(msgs[i].reason, want[k]);
                        RS_CHECK_MSG(found == 1, "dead letters for %s: %d",
                                     want[k], found);
                }
        }
        scan_msgs("error.events.dlq", msgs, n, pii, npii);
        rs_it_msgs_free(msgs, n);

        /* Personal data: none in any table. */
        r = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = "
                      "'public'");
        RS_CHECK(PQntuples(r) >= 8);
        for (i = 0; i < PQntuples(r); i++) {
                char      q[256];
                PGresult *rows;
                int       j;
                snprintf(q, sizeof(q), "SELECT t::text FROM \"%s\" t",
                         PQgetvalue(r, i, 0));
                rows = PQexec(c, q);
                RS_CHECK(PQresultStatus(rows) == PGRES_TUPLES_OK);
                for (j = 0; j < PQntuples(rows); j++)
                        for (k = 0; k < npii; k++)
                                if (strstr(PQgetvalue(rows, j, 0), pii[k]))
                                        RS_CHECK_MSG(0, "PII '%s' in %s",
                                                     pii[k],
                                                     PQgetvalue(r, i, 0));
                PQclear(rows);
        }
        PQclear(r);
        /* ... while the input had plenty. */
        RS_CHECK(pii_events > ERRORS / 10);

        PQfinish(c);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
