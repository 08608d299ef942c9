/*
 * alert-router: issue versions in, notices out (alerts table, alerts
 * topic, webhooks). Default timings (group_wait 30 s, group_interval
 * 5 min, cooldown 5 min) and routes (critical -> pager, chat; high ->
 * chat; medium -> email-digest; low -> none); chat and pager have webhook
 * URLs on a server of this test, email-digest none.
 *   acme-shop /checkout   A critical opens at T0, B high at T0+5 s (B is
 *                         inhibited by A); A resolves at T0+120 s.
 *   globex-news /search   C high at T0+10 s, silenced by `rumctl silence
 *                         add` before the router starts.
 *   globex-news /home     D medium at T0, escalated to high at T0+60 s,
 *                         resolved at T0+200 s.
 * Checked: the exact alerts rows (kind, channel, status, issues), the
 * Alert records of the sent ones, that a second run adds nothing, and
 * that every notice of a channel with a URL is delivered exactly once
 * although the server answers 503 to its first requests (attempts > 1).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/avro.h"
#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define REFUSE_FIRST 4 /* requests answered 503 */

/* The webhook server: records the alert ids of accepted POSTs. */
static rs_it_webhook_t srv;

static int64_t T0;

static void issue(rs_kafka_producer_t *p, const char *id, const char *tenant,
                  const char *route, const char *sev, const char *state,
                  int64_t opened, int64_t at, int64_t version) {
        rs_issue_t is = {0};
        char       title[128];

        snprintf(title, sizeof(title), "LCP regression %s on %s", id, route);
        is.issue_id       = id;
        is.tenant_id      = tenant;
        is.kind           = "regression";
        is.state          = state;
        is.severity       = sev;
        is.title          = title;
        is.source         = "anomaly-detector";
        is.route          = route;
        is.metric         = "lcp";
        is.observed       = 4200;
        is.baseline       = 2500;
        is.threshold      = 4000;
        is.sample_size    = 100;
        is.opened_at_ms   = T0 + opened;
        is.updated_at_ms  = T0 + at;
        is.resolved_at_ms = strcmp(state, "resolved") ? -1 : T0 + at;
        is.version        = version;
        rs_it_produce_issue(p, "issues", &is);
}

static const char *dsn;

static int deliveries_done(void *opaque) {
        (void)opaque;
        return rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE delivery "
                                "= 'pending'") == 0;
}

static char *row(const char *q) {
        char       *s = rs_test_pg_scalar_str(dsn, q);
        static char buf[8192];
        snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
        free(s);
        return buf;
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], cmd[2048], channels[256];
        const char          *brokers;
        const char          *extra[] = {channels,
                                        "limits.max_clock_skew_ms=3600000",
                                        "delivery.initial_backoff_ms=200",
                                        "delivery.max_backoff_ms=1000",
                                        "delivery.timeout_ms=2000",
                                        "window.idle_close_ms=1000",
                                        "commit_interval_ms=1000",
                                        NULL};
        long long            before;
        int                  status, i;
        pid_t                pid;

        rs_it_clean_logs("0015");
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
        if (rs_kafka_mock_topic(mock, "issues", 2, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "alerts", 2, err, sizeof(err)))
                rs_it_die("%s", err);

        /* The silence starts now: issues are a minute ahead. */
        snprintf(cmd, sizeof(cmd),
                 "%s silence add --tenant-id globex-news --route /search "
                 "--duration 2h --comment 'search reindex' --created-by ops "
                 "--dsn '%s' > 0015-silence.txt",
                 rs_it_bin("rumctl"), dsn);
        RS_CHECK_INT(system(cmd), 0);
        T0 = (int64_t)time(NULL) * 1000 + 60000;

        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        issue(prod, "A", "acme-shop", "/checkout", "critical", "open", 0, 0, 1);
        issue(prod, "D", "globex-news", "/home", "medium", "open", 0, 0, 1);
        issue(prod, "B", "acme-shop", "/checkout", "high", "open", 5000, 5000,
              1);
        issue(prod, "C", "globex-news", "/search", "high", "open", 10000, 10000,
              1);
        issue(prod, "D", "globex-news", "/home", "high", "updated", 0, 60000,
              2);
        issue(prod, "A", "acme-shop", "/checkout", "critical", "resolved", 0,
              120000, 2);
        /* A replayed version changes nothing. */
        issue(prod, "A", "acme-shop", "/checkout", "critical", "resolved", 0,
              120000, 2);
        issue(prod, "D", "globex-news", "/home", "high", "resolved", 0, 200000,
              3);
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);

        status = rs_it_wait_exit(rs_it_start_processor("alert-router", brokers,
                                                       dsn, "ar", 1, extra,
                                                       "0015-router.log"),
                                 120 * 1000);
        RS_CHECK_INT(status, 0);

        /* Every notice, in engine time order. */
        {
                char q[512];
                snprintf(q, sizeof(q),
                         "SELECT string_agg(group_key || ' ' || channel || ' "
                         "' || kind || ' ' || status || ' ' || severity || ' "
                         "' || array_to_string(issue_ids, '+') || ' +' || "
                         "((extract(epoch FROM created_at) * 1000)::bigint - "
                         "%lld) / 1000, ',' ORDER BY created_at, group_key, "
                         "channel, seq) FROM alerts",
                         (long long)T0);
                printf("%s\n", row(q));
                RS_CHECK_STR(
                    row(q),
                    "acme-shop /checkout chat firing sent critical A +30,"
                    "acme-shop /checkout chat firing inhibited high B +30,"
                    "acme-shop /checkout pager firing sent critical A +30,"
                    "globex-news /home email-digest firing sent medium D +30,"
                    "globex-news /search chat firing silenced high C +40,"
                    "globex-news /home chat firing sent high D +90,"
                    "acme-shop /checkout chat update sent high B+A +330,"
                    "acme-shop /checkout pager resolved sent critical A +330,"
                    /* D left email-digest when it became high */
                    "globex-news /home email-digest resolved sent high D "
                    "+330,"
                    "globex-news /home chat resolved sent high D +390");
        }
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                      "delivery = 'none' AND (channel = "
                                      "'email-digest' OR status <> 'sent')"),
                     4);

        /* The sent notices are on the topic, with their ids. */
        {
                rs_avro_registry_t *reg =
                    rs_avro_registry_new(err, sizeof(err));
                rs_avro_decoder_t *dec = rs_avro_decoder_new(
                    reg, RS_SCHEMA_ID_ALERT, err, sizeof(err));
                rs_it_msg_t *msgs;
                long n = rs_it_read_topic(brokers, "alerts", &msgs, 60000);
                long k;
                RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts "
                                                 "WHERE status = 'sent'"));
                for (k = 0; k < n; k++) {
                        avro_value_t     *v;
                        static rs_alert_t al;
                        char              q[256];
                        if (rs_avro_decoder_decode(dec, msgs[k].value,
                                                   msgs[k].len, &v, err,
                                                   sizeof(err)) ||
                            rs_alert_read(v, &al, err, sizeof(err))) {
                                RS_CHECK_MSG(0, "alert %ld: %s", k, err);
                                continue;
                        }
                        RS_CHECK_STR(msgs[k].key, al.tenant_id);
                        snprintf(q, sizeof(q),
                                 "SELECT count(*) FROM alerts WHERE alert_id "
                                 "= '%s' AND status = 'sent' AND kind = '%s' "
                                 "AND channel = '%s'",
                                 al.alert_id, al.kind, al.channel);
                        RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
                }
                rs_it_msgs_free(msgs, n);
                rs_avro_decoder_destroy(dec);
                rs_avro_registry_destroy(reg);
        }

        /* Again, live: no new alert; the pending deliveries (reloaded from
         * the table) are retried until every one is delivered. */
        before = rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts");
        pid    = rs_it_start_processor("alert-router", brokers, dsn, "ar", 0,
                                       extra, "0015-router.log");
        RS_CHECK(rs_it_wait_for(deliveries_done, NULL, 90 * 1000));
        kill(pid, SIGTERM);
        RS_CHECK_INT(rs_it_wait_exit(pid, 30000), 0);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts"), before);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                      "delivery = 'delivered'"),
                     6);
        RS_CHECK(rs_it_pg_ll(dsn, "SELECT max(attempts) FROM alerts") > 1);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                      "delivery = 'delivered' AND attempts = "
                                      "1 AND last_error IS NULL"),
                     rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                      "delivery = 'delivered'") -
                         rs_it_pg_ll(dsn, "SELECT count(*) FROM alerts WHERE "
                                          "attempts > 1"));
        /* Exactly once each at the server. */
        pthread_mutex_lock(&srv.lock);
        RS_CHECK_INT(srv.id_cnt, 6);
        for (i = 0; i < srv.id_cnt; i++) {
                char q[256];
                int  j, dup = 0;
                for (j = 0; j < i; j++)
                        dup += !strcmp(srv.ids[i], srv.ids[j]);
                RS_CHECK_INT(dup, 0);
                snprintf(q, sizeof(q),
                         "SELECT count(*) FROM alerts WHERE alert_id = '%s' "
                         "AND delivery = 'delivered'",
                         srv.ids[i]);
                RS_CHECK_INT(rs_it_pg_ll(dsn, q), 1);
        }
        RS_CHECK_INT(srv.requests,
                     rs_it_pg_ll(dsn, "SELECT sum(attempts) FROM alerts"));
        pthread_mutex_unlock(&srv.lock);

        /* rumctl lists the silence. */
        snprintf(cmd, sizeof(cmd),
                 "%s silence list --tenant-id globex-news --dsn '%s' > "
                 "0015-list.txt",
                 rs_it_bin("rumctl"), dsn);
        RS_CHECK_INT(system(cmd), 0);
        RS_CHECK(rs_it_grep_count("0015-list.txt", "search reindex") == 1);

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
