/*
 * The whole pipeline: page views -> rum-aggregator -> anomaly-detector ->
 * alert-router -> webhooks, each stage with --until-eof, on realistic
 * traffic of three tenants (equally busy, 15 page views a second in all,
 * 3 routes each, 44 minutes: each tenant's partition stays well under the
 * mock cluster's 5 MiB, aggregates included).
 *   acme-shop "/"     LCP (and INP, FCP, TTFB) x1.6 from minute 16, x2.5
 *                     from minute 24, back to normal from minute 32: one
 *                     LCP regression (the detector judges LCP only) that
 *                     opens, escalates twice (medium, high, critical) and
 *                     resolves; email, chat and pager hear it as routed.
 *   globex-news "/"   a regression whose Issue versions this test makes
 *                     (open, resolved ten minutes later), a minute ahead
 *                     of the wall clock: silenced by `rumctl silence add`
 *                     before the router starts, recorded, never sent.
 *                     (Silences are in the router's engine time, the
 *                     issues' time: one made now does not mute the
 *                     backfilled page views of November 2025.)
 *   initech-app       normal throughout: nothing.
 * The escalation is two generators in lockstep, the same sequence but for
 * the regressed values (rs_traffic_conf_t's regression_to_ms ends the
 * first where the second starts), each event taken from the one that
 * regressed it.
 * Checked: the issue and its versions (states and severities in order),
 * no other issue (budgets off), the exact alerts rows, the Alert records
 * on the topic, a second run of detector and router in the same groups
 * adds nothing, and the webhook server, which answers 503 to its first
 * requests, gets every sent chat and pager notice exactly once.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/kafka.h"
#include "rumstream/traffic.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define TENANTS      3
#define ROUTES       3
#define MINUTES      44
#define PARTITIONS   16
#define SEED         16
#define EVENT_RATE   15 /* a second of event time, all tenants */
#define REFUSE_FIRST 3  /* webhook requests answered 503 */
#define MIN_MS       60000LL

/* The webhook server: records the alert ids of accepted POSTs. */
static rs_it_webhook_t srv;

static const char *dsn;
#define T0 RS_IT_TRAFFIC_START_MS
static int64_t TB; /* the silenced issue's open */

static int deliveries_done(void *opaque) {
        (void)opaque;
        return rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE delivery "
                                "= 'pending'") == 0;
}

/* The single value of \p q, or "(null)"; static storage. */
static const char *row(const char *q) {
        char       *s = rs_test_pg_scalar_str(dsn, q);
        static char buf[8192];

        snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
        free(s);
        return buf;
}

/* "state severity minute" of every version of the issue of tenant, kind,
 * route on segment all, minutes from T0 to updated_at. */
static const char *versions(const char *tenant, const char *kind,
                            const char *route) {
        char q[1024];

        snprintf(q, sizeof(q),
                 "SELECT string_agg(v.state || ' ' || v.severity || ' ' || "
                 "((extract(epoch FROM v.updated_at) * 1000)::bigint - %lld) "
                 "/ 60000, ',' ORDER BY v.version) FROM issues i JOIN "
                 "issue_versions v USING (issue_id) WHERE i.tenant_id = '%s' "
                 "AND i.kind = '%s' AND i.route = '%s' AND i.segment_type = "
                 "'all' AND i.metric = 'lcp'",
                 (long long)T0, tenant, kind, route);
        return row(q);
}

/* Every alerts row, per tenant in engine time order: "group channel kind
 * status severity issue-count +seconds", seconds from T0 (globex-news:
 * from TB). */
static const char *alerts(void) {
        char q[1024];

        snprintf(q, sizeof(q),
                 "SELECT string_agg(a.group_key || ' ' || a.channel || ' ' || "
                 "a.kind || ' ' || a.status || ' ' || a.severity || ' ' || "
                 "cardinality(a.issue_ids) || ' +' || ((extract(epoch FROM "
                 "a.created_at) * 1000)::bigint - (CASE WHEN a.tenant_id = "
                 "'globex-news' THEN %lld ELSE %lld END)) / 1000, ',' ORDER "
                 "BY a.tenant_id, a.created_at, a.group_key, a.channel, "
                 "a.seq) FROM alerts a",
                 (long long)TB, (long long)T0);
        return row(q);
}

/* A version of globex-news's regression of "/", as the detector would
 * raise it, \p at ms after TB. */
static void globex_issue(rs_kafka_producer_t *p, const char *state, int64_t at,
                         int64_t version) {
        rs_issue_t is = {0};

        is.issue_id       = "globex-news-regression-lcp";
        is.tenant_id      = "globex-news";
        is.kind           = "regression";
        is.state          = state;
        is.severity       = "high";
        is.title          = "LCP regression on /";
        is.source         = "anomaly-detector";
        is.route          = "/";
        is.segment_type   = "all";
        is.segment_value  = "all";
        is.metric         = "lcp";
        is.observed       = 3900;
        is.baseline       = 2300;
        is.threshold      = 2800;
        is.sample_size    = 150;
        is.opened_at_ms   = TB;
        is.updated_at_ms  = TB + at;
        is.resolved_at_ms = strcmp(state, "resolved") ? -1 : TB + at;
        is.version        = version;
        rs_it_produce_issue(p, "issues", &is);
}

static rs_traffic_t *generator(const rs_traffic_conf_t *base,
                               const char *tenant, int from_min, int to_min,
                               double factor) {
        rs_traffic_conf_t c = *base;
        rs_traffic_t     *t;

        c.regression_tenant  = tenant;
        c.regression_route   = "/";
        c.regression_from_ms = T0 + from_min * MIN_MS;
        c.regression_to_ms   = T0 + to_min * MIN_MS;
        c.regression_factor  = factor;
        if (!(t = rs_traffic_new(&c)))
                rs_it_die("traffic");
        return t;
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        rs_traffic_conf_t    tc;
        rs_traffic_t        *gen[2];
        rs_rum_event_t       ev[2];
        char                 err[512], cmd[2048], channels[256];
        char                *issues_digest, *digest;
        const char          *brokers;
        const char          *agg[] = {"window.idle_close_ms=0",
                                      "navigation_timing=false", NULL};
        const char          *det[] = {"window.idle_close_ms=0", "metrics=lcp",
                                      "detect.history=15",      "detect.min_history=12",
                                      "budget.rules=",          NULL};
        const char          *ar[]  = {channels,
                                      "limits.max_clock_skew_ms=3600000",
                                      "delivery.initial_backoff_ms=200",
                                      "delivery.max_backoff_ms=1000",
                                      "delivery.timeout_ms=2000",
                                      "window.idle_close_ms=1000",
                                      "commit_interval_ms=1000",
                                      NULL};
        int64_t end_ms = T0 + MINUTES * MIN_MS, t_start = rs_it_now_ms(),
                aggregates = 0;
        long long alerts_before, sent;
        long      produced = 0, regressed[2] = {0, 0};
        int       status, i, k;
        pid_t     pid;

        rs_it_clean_logs("0016");
        rs_it_webhook_start(&srv, REFUSE_FIRST);
        snprintf(channels, sizeof(channels),
                 "channels=chat=http://127.0.0.1:%d/chat; "
                 "pager=http://127.0.0.1:%d/pager",
                 srv.port, srv.port);
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (rs_test_pg_migrate(pg, err, sizeof(err)) < 0)
                rs_it_die("migrate: %s", err);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "rum.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            /* The detector's error rates read it; no errors here. */
            rs_kafka_mock_topic(mock, "error.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "alerts", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);

        /* The silence starts now, before the first event. */
        snprintf(cmd, sizeof(cmd),
                 "%s silence add --tenant-id globex-news --route / "
                 "--duration 1d --comment 'cdn migration' --created-by ops "
                 "--dsn '%s' > 0016-silence.txt",
                 rs_it_bin("rumctl"), dsn);
        RS_CHECK_INT(system(cmd), 0);
        TB = (int64_t)time(NULL) * 1000 + 60000;

        /* Page views: 20 a second of event time, a third per tenant (under
         * the mock cluster's 5 MiB per partition). */
        rs_traffic_conf_defaults(&tc);
        tc.seed              = SEED;
        tc.tenants           = TENANTS;
        tc.routes_per_tenant = ROUTES;
        tc.tenant_skew       = 0;
        tc.start_ms          = T0;
        tc.events_per_sec    = EVENT_RATE;
        gen[0]               = generator(&tc, "acme-shop", 16, 24, 1.6);
        gen[1]               = generator(&tc, "acme-shop", 24, 32, 2.5);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        while (rs_traffic_clock_ms(gen[0]) < end_ms) {
                int pick = 0;

                for (k = 0; k < 2; k++) {
                        rs_traffic_next(gen[k], &ev[k]);
                        if (rs_traffic_last_regressed(gen[k])) {
                                pick = k;
                                regressed[k]++;
                        }
                }
                rs_it_produce_event(prod, "rum.events", &ev[pick]);
                produced++;
        }
        for (k = 0; k < 2; k++)
                rs_traffic_destroy(gen[k]);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);
        printf("%ld page views, regressed %ld x1.6, %ld x2.5\n", produced,
               regressed[0], regressed[1]);

        status =
            rs_it_wait_exit(rs_it_start_aggregator(brokers, dsn, "agg", 1, agg,
                                                   "0016-aggregator.log"),
                            300 * 1000);
        RS_CHECK_INT(status, 0);
        if (rs_kafka_topic_size(rs_kafka_producer_handle(prod),
                                "rum.aggregates", 30000, &aggregates, err,
                                sizeof(err)) == -1)
                rs_it_die("rum.aggregates: %s", err);
        printf("%lld aggregates\n", (long long)aggregates);
        status = rs_it_wait_exit(
            rs_it_start_processor("anomaly-detector", brokers, dsn, "det", 1,
                                  det, "0016-detector.log"),
            120 * 1000);
        RS_CHECK_INT(status, 0);
        snprintf(cmd, sizeof(cmd),
                 "psql -X -A -t '%s' -c \"SELECT tenant_id, kind, route, "
                 "segment_type, segment_value, state, severity, version, "
                 "observed, baseline FROM issues ORDER BY 1, 2, 3, 4, 5\"",
                 dsn);
        RS_CHECK_INT(system(cmd), 0);

        /* One issue: acme-shop's regression of "/" on segment all. x1.6 is
         * about +50-60% on the baseline p75, first medium then high
         * (detect.high_degradation 0.5), x2.5 critical; the three breaching
         * windows 16-18 open it (updated_at: end of window 18), five
         * healthy windows 32-36 resolve it. Its devices raise nothing
         * (the route's issue explains them), nor does the no-regression
         * tenant. */
        printf("acme-shop: %s\n", versions("acme-shop", "regression", "/"));
        RS_CHECK_STR(versions("acme-shop", "regression", "/"),
                     "open medium 19,updated high 22,updated critical 27,"
                     "resolved critical 37");
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind IN ('regression', 'level_shift') "
                                      "AND segment_type = 'all'"),
                     1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues"), 1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE "
                                      "kind = 'budget_breach'"),
                     0);
        issues_digest = rs_it_anomaly_digest(dsn);

        /* globex-news's regression, silenced: its versions are made
         * here, a minute ahead of the wall clock, as the silence made now
         * mutes what happens after it (in the router's engine time, the
         * issues' time), not the backfilled page views of acme-shop. */
        globex_issue(prod, "open", 0, 1);
        globex_issue(prod, "resolved", 10 * MIN_MS, 2);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);

        /* The router. */
        status = rs_it_wait_exit(rs_it_start_processor("alert-router", brokers,
                                                       dsn, "ar", 1, ar,
                                                       "0016-router.log"),
                                 120 * 1000);
        RS_CHECK_INT(status, 0);
        printf("alerts: %s\n", alerts());
        /* Default routes and timings (group_wait 30 s, group_interval
         * 5 min): medium -> email-digest, high -> chat, critical -> pager
         * and chat. The email digest resolves when the issue leaves its
         * route (medium -> high), at its group's next flush; the chat
         * notices the escalation to critical as an update. globex-news's
         * issue is recorded silenced on chat and, never notified, resolves
         * silently. */
        RS_CHECK_STR(alerts(),
                     "acme-shop / email-digest firing sent medium 1 +1170,"
                     "acme-shop / chat firing sent high 1 +1350,"
                     "acme-shop / email-digest resolved sent high 1 +1470,"
                     "acme-shop / chat update sent critical 1 +1650,"
                     "acme-shop / pager firing sent critical 1 +1650,"
                     "acme-shop / chat resolved sent critical 1 +2250,"
                     "acme-shop / pager resolved sent critical 1 +2250,"
                     "globex-news / chat firing silenced high 1 +30");
        {
                rs_it_msg_t *msgs;
                long n = rs_it_read_topic(brokers, "alerts", &msgs, 60000);

                RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts "
                                                 "WHERE status = 'sent'"));
                rs_it_msgs_free(msgs, n);
        }

        /* Again, in the same groups: no issue, no alert. The live router
         * also retries the pending deliveries until every one is done. */
        alerts_before = rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts");
        status        = rs_it_wait_exit(
                   rs_it_start_processor("anomaly-detector", brokers, dsn, "det", 1,
                                         det, "0016-detector.log"),
                   120 * 1000);
        RS_CHECK_INT(status, 0);
        digest = rs_it_anomaly_digest(dsn);
        RS_CHECK_STR(digest, issues_digest);
        free(digest);
        pid = rs_it_start_processor("alert-router", brokers, dsn, "ar", 0, ar,
                                    "0016-router.log");
        RS_CHECK(rs_it_wait_for(deliveries_done, NULL, 90 * 1000));
        kill(pid, SIGTERM);
        RS_CHECK_INT(rs_it_wait_exit(pid, 30000), 0);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts"),
                     alerts_before);

        /* Every sent chat and pager notice reached the server once. */
        sent = rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE status = "
                                "'sent' AND channel IN ('chat', 'pager')");
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                      "delivery = 'delivered'"),
                     sent);
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT max(attempts) FROM alerts") > 1);
        pthread_mutex_lock(&srv.lock);
        RS_CHECK_INT(srv.id_cnt, sent);
        for (i = 0; i < srv.id_cnt; i++) {
                char q[256];
                int  j, dup = 0;

                for (j = 0; j < i; j++)
                        dup += !strcmp(srv.ids[i], srv.ids[j]);
                RS_CHECK_INT(dup, 0);
                snprintf(q, sizeof(q),
                         "SELECT count(*) FROM alerts WHERE alert_id = '%s' "
                         "AND delivery = 'delivered' AND status = 'sent'",
                         srv.ids[i]);
                RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
        }
        RS_CHECK_INT(srv.requests,
                     rs_it_pg_ll(dsn, "SELECT sum(attempts) FROM alerts"));
        pthread_mutex_unlock(&srv.lock);

        /* rumctl issues --dry-run judges the stored aggregates the same
         * way and finds the same regression, emitting nothing. */
        {
                long long issues_before =
                    rs_it_pg_ll(dsn, "SELECT count(*) FROM issue_versions");
                FILE *f;
                char  line[256] = "";

                snprintf(cmd, sizeof(cmd),
                         "%s issues --dry-run --tenant-id acme-shop --kind "
                         "regression --rules '' --min-history 12 --since 2h "
                         "--json --dsn '%s' > 0016-dry-run.json 2>/dev/null",
                         rs_it_bin("rumctl"), dsn);
                RS_CHECK_INT(system(cmd), 0);
                if (!(f = fopen("0016-dry-run.sql", "w")))
                        rs_it_die("0016-dry-run.sql");
                fprintf(f, "\\set j `cat 0016-dry-run.json`\n"
                           "SELECT (:'j'::jsonb ->> 'dry_run') || ' ' || "
                           "(SELECT count(*) FROM jsonb_array_elements(:'j'::"
                           "jsonb -> 'issues') i WHERE i ->> 'route' = '/' "
                           "AND i ->> 'metric' = 'lcp' AND i ->> 'state' = "
                           "'resolved') || ' ' || (SELECT count(*) FROM "
                           "jsonb_array_elements(:'j'::jsonb -> 'issues') i "
                           "WHERE i ->> 'route' <> '/');\n");
                fclose(f);
                snprintf(cmd, sizeof(cmd),
                         "psql -X -A -t '%s' -f 0016-dry-run.sql > "
                         "0016-dry-run.txt",
                         dsn);
                RS_CHECK_INT(system(cmd), 0);
                if ((f = fopen("0016-dry-run.txt", "r"))) {
                        if (!fgets(line, sizeof(line), f))
                                line[0] = '\0';
                        fclose(f);
                }
                line[strcspn(line, "\n")] = '\0';
                /* One resolved LCP regression on the route, none
                 * elsewhere. */
                RS_CHECK_STR(line, "true 1 0");
                RS_CHECK_INT(
                    rs_it_pg_ll(dsn, "SELECT count(*) FROM issue_versions"),
                    issues_before);
        }

        printf("took %.1f s\n", (double)(rs_it_now_ms() - t_start) / 1000);
        free(issues_digest);
        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
