/*
 * alerting: routing rules and their errors, grouping and timing (group
 * wait, group interval, repeat, resolve, cooldown), inhibition, silences,
 * replays, caps, state export and import, and the webhook JSON (read back
 * by a small strict JSON checker), all with exact times and outcomes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/alerting.h"
#include "rumstream/hash.h"

#define T0   1767225600000LL /* 2026-01-01T00:00:00Z */
#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const ROUTES =
    "critical -> pager, chat; high -> chat\n"
    "medium -> email-digest; low -> none\n"
    "tenant acme-shop: high -> pager, chat  # acme pays for paging\n";

/* The last tick's notices. */
static const rs_alerting_notice_t *N;
static size_t                      NN;

static rs_alerting_t *engine(const char *routes, rs_alerting_group_by_t by) {
        rs_alerting_conf_t c;
        char               err[256] = "";
        rs_alerting_t     *a;

        rs_alerting_conf_defaults(&c);
        c.routes   = routes;
        c.group_by = by;
        a          = rs_alerting_new(&c, err, sizeof(err));
        RS_CHECK_MSG(a != NULL, "%s", err);
        return a;
}

static int feed_full(rs_alerting_t *a, const char *tenant, const char *kind,
                     const char *id, const char *route, const char *sev,
                     const char *state, int64_t version, int64_t t) {
        rs_issue_t is;
        char       title[128];

        memset(&is, 0, sizeof(is));
        snprintf(title, sizeof(title), "%s on %s", id, route ? route : "-");
        is.issue_id       = id;
        is.tenant_id      = tenant;
        is.kind           = kind;
        is.state          = state;
        is.severity       = sev;
        is.title          = title;
        is.source         = "anomaly-detector";
        is.route          = route;
        is.metric         = "lcp";
        is.observed       = 4200;
        is.baseline       = 2500;
        is.threshold      = NAN;
        is.sample_size    = -1;
        is.opened_at_ms   = T0;
        is.updated_at_ms  = t;
        is.resolved_at_ms = strcmp(state, "resolved") ? -1 : t;
        is.version        = version;
        return rs_alerting_feed(a, &is, t);
}

static int feed(rs_alerting_t *a, const char *id, const char *route,
                const char *sev, const char *state, int64_t version,
                int64_t t) {
        return feed_full(a, "shop", "regression", id, route, sev, state,
                         version, t);
}

static void dump(void) {
        size_t i, k;

        for (i = 0; i < NN; i++) {
                fprintf(stderr, "  notice %zu: %s %s %s %s seq %lld: %s\n", i,
                        N[i].group_key, N[i].channel,
                        rs_alerting_kind_name(N[i].kind),
                        rs_alerting_status_name(N[i].status),
                        (long long)N[i].seq, N[i].title);
                for (k = 0; k < N[i].entry_cnt; k++)
                        fprintf(stderr, "    %s %s\n", N[i].entries[k].issue_id,
                                rs_alerting_issue_status_name(
                                    N[i].entries[k].status));
        }
}

/* Ticks at \p t and checks the number of notices (dumping them if wrong). */
static void tick_expect(rs_alerting_t *a, int64_t t, size_t want, int line) {
        int rc = rs_alerting_tick(a, t, &N, &NN);

        RS_CHECK_INT(rc, 0);
        if (NN != want) {
                fprintf(stderr,
                        "line %d: tick at T0%+lld ms: %zu notices, "
                        "expected %zu\n",
                        line, (long long)(t - T0), NN, want);
                dump();
        }
        RS_CHECK_INT(NN, want);
}
#define TICK(a, t, want) tick_expect(a, t, want, __LINE__)

/* Checks notice \p i of the last tick. */
static void expect(size_t i, const char *group, const char *channel,
                   rs_alerting_kind_t kind, rs_alerting_status_t status,
                   const char *ids, int line) {
        const rs_alerting_notice_t *n;
        char                        got[256] = "";
        size_t                      k;

        if (i >= NN) {
                RS_CHECK_MSG(i < NN, "line %d: no notice %zu", line, i);
                return;
        }
        n = &N[i];
        for (k = 0; k < n->entry_cnt; k++)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s%s",
                         k ? " " : "", n->entries[k].issue_id,
                         n->entries[k].status == RS_ALERTING_ISSUE_RESOLVED
                             ? "-"
                             : "");
        RS_CHECK_MSG(
            !strcmp(n->group_key, group) && !strcmp(n->channel, channel) &&
                n->kind == kind && n->status == status && !strcmp(got, ids),
            "line %d: notice %zu is %s %s %s %s [%s], expected %s "
            "%s %s %s [%s]",
            line, i, n->group_key, n->channel, rs_alerting_kind_name(n->kind),
            rs_alerting_status_name(n->status), got, group, channel,
            rs_alerting_kind_name(kind), rs_alerting_status_name(status), ids);
}
#define EXPECT(i, group, channel, kind, status, ids)                           \
        expect(i, group, channel, RS_ALERTING_##kind, RS_ALERTING_##status,    \
               ids, __LINE__)

static void check_stats(rs_alerting_t *a, size_t issues, size_t groups,
                        size_t slots, int line) {
        rs_alerting_stats_t st;

        rs_alerting_stats(a, &st);
        RS_CHECK_MSG(st.issues == issues && st.groups == groups &&
                         st.group_channels == slots,
                     "line %d: %zu issues, %zu groups, %zu group channels; "
                     "expected %zu, %zu, %zu",
                     line, st.issues, st.groups, st.group_channels, issues,
                     groups, slots);
}
#define STATS(a, i, g, s) check_stats(a, i, g, s, __LINE__)

/* ---- Routing ----------------------------------------------------------- */

static void expect_route(const rs_alerting_routes_t *r, const char *tenant,
                         rs_alerting_severity_t sev, const char *want) {
        const char *ch[8];
        char        got[128] = "";
        size_t      n, k;

        n = rs_alerting_routes_match(r, tenant, sev, ch, NELEM(ch));
        for (k = 0; k < n && k < NELEM(ch); k++)
                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
                         k ? "," : "", ch[k]);
        RS_CHECK_MSG(!strcmp(got, want), "%s/%s -> \"%s\", expected \"%s\"",
                     tenant, rs_alerting_severity_name(sev), got, want);
}

static void test_routes(void) {
        char                  err[256] = "";
        rs_alerting_routes_t *r;

        r = rs_alerting_routes_parse(ROUTES, err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        expect_route(r, "shop", RS_ALERTING_CRITICAL, "pager,chat");
        expect_route(r, "shop", RS_ALERTING_HIGH, "chat");
        expect_route(r, "shop", RS_ALERTING_MEDIUM, "email-digest");
        expect_route(r, "shop", RS_ALERTING_LOW, "");
        /* The tenant rule replaces the default for high only. */
        expect_route(r, "acme-shop", RS_ALERTING_HIGH, "pager,chat");
        expect_route(r, "acme-shop", RS_ALERTING_MEDIUM, "email-digest");
        expect_route(r, "acme-shop", RS_ALERTING_CRITICAL, "pager,chat");
        RS_CHECK_INT(
            rs_alerting_routes_match(r, "shop", RS_ALERTING_CRITICAL, NULL, 0),
            2);
        RS_CHECK_INT(rs_alerting_routes_channel_cnt(r), 3);
        RS_CHECK_STR(rs_alerting_routes_channel(r, 0), "pager");
        RS_CHECK_STR(rs_alerting_routes_channel(r, 1), "chat");
        RS_CHECK_STR(rs_alerting_routes_channel(r, 2), "email-digest");
        RS_CHECK(rs_alerting_routes_channel(r, 3) == NULL);
        rs_alerting_routes_destroy(r);

        /* Precedence: tenant exact, tenant *, default exact, default *. */
        r = rs_alerting_routes_parse(
            "* -> chat; critical -> pager\n"
            "tenant t1: * -> t1-chat; tenant t1: critical -> t1-pager\n"
            "tenant t2: low, medium -> none\n",
            err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        expect_route(r, "t0", RS_ALERTING_LOW, "chat");
        expect_route(r, "t0", RS_ALERTING_CRITICAL, "pager");
        expect_route(r, "t1", RS_ALERTING_LOW, "t1-chat");
        expect_route(r, "t1", RS_ALERTING_CRITICAL, "t1-pager");
        expect_route(r, "t2", RS_ALERTING_LOW, "");
        expect_route(r, "t2", RS_ALERTING_MEDIUM, "");
        expect_route(r, "t2", RS_ALERTING_HIGH, "chat");
        expect_route(r, "t2", RS_ALERTING_CRITICAL, "pager");
        rs_alerting_routes_destroy(r);

        /* Layout: comments, continuation lines, tenants with ':'. */
        r = rs_alerting_routes_parse("# paging\n"
                                     "critical ->\n"
                                     "   pager,   # the on-call\n"
                                     "   chat\n"
                                     "\n"
                                     ";;tenant a:b: high -> x\n"
                                     "tenant\n c:d : high -> y\r\n",
                                     err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        expect_route(r, "z", RS_ALERTING_CRITICAL, "pager,chat");
        expect_route(r, "a:b", RS_ALERTING_HIGH, "x");
        expect_route(r, "c:d", RS_ALERTING_HIGH, "y");
        expect_route(r, "a", RS_ALERTING_HIGH, "");
        rs_alerting_routes_destroy(r);

        /* Empty text: valid, routes nothing. */
        r = rs_alerting_routes_parse("  # nothing yet\n", err, sizeof(err));
        RS_CHECK(r != NULL);
        expect_route(r, "t", RS_ALERTING_CRITICAL, "");
        rs_alerting_routes_destroy(r);
}

static void test_route_errors(void) {
        static const struct {
                const char *text, *err;
        } cases[] = {
            {"critical -> pager; hihg -> chat",
             "line 1, column 20: unknown severity \"hihg\" (expected low, "
             "medium, high, critical or *)"},
            {"critical pager", "line 1, column 10: expected '->' after the "
                               "severity"},
            {"high -> ", "line 1, column 9: expected a channel name or "
                         "'none'"},
            {"high -> chat\nhigh -> pager",
             "line 2, column 1: a default rule for high exists already (line "
             "1)"},
            {"high -> chat; tenant a: high -> x; tenant a: high -> y",
             "line 1, column 36: a rule of tenant a for high exists already "
             "(line 1)"},
            {"* -> a; low, * -> b",
             "line 1, column 9: a default rule for * exists already (line 1)"},
            {"high -> chat, chat", "line 1, column 15: channel \"chat\" "
                                   "listed twice"},
            {"high -> none, chat", "line 1, column 13: 'none' cannot be "
                                   "listed with channels"},
            {"high -> chat, none", "line 1, column 15: 'none' cannot be "
                                   "listed with channels"},
            {"high, high -> x", "line 1, column 7: severity high listed "
                                "twice"},
            {"tenant acme:high -> x",
             "line 1, column 18: expected ':' after the tenant id "
             "\"acme:high\" (the ':' that ends a tenant id stands at the end "
             "of its word or after a blank)"},
            {"tenant : high -> x", "line 1, column 8: expected a tenant id "
                                   "after 'tenant'"},
            {"tenant: high -> x", "line 1, column 7: expected a tenant id "
                                  "after 'tenant'"},
            {"high -> chat email", "line 1, column 14: expected ',', ';' or "
                                   "the end of the line"},
            {"-> chat", "line 1, column 1: expected a severity (low, medium, "
                        "high, critical or *)"},
            {"critical -> pager\n  high -> ch@t",
             "line 2, column 13: expected ',', ';' or the end of the line"},
            {"high -> a123456789012345678901234567890123456789012345678901234"
             "567890123",
             "line 1, column 9: channel name longer than 63 characters"},
            {"Critical -> pager", "line 1, column 1: expected a severity "
                                  "(low, medium, high, critical or *)"},
        };
        rs_alerting_conf_t c;
        char               err[512];
        size_t             i;

        for (i = 0; i < NELEM(cases); i++) {
                rs_alerting_routes_t *r;
                err[0] = '\0';
                r = rs_alerting_routes_parse(cases[i].text, err, sizeof(err));
                RS_CHECK_MSG(r == NULL, "case %zu parsed", i);
                rs_alerting_routes_destroy(r);
                RS_CHECK_MSG(!strcmp(err, cases[i].err),
                             "case %zu: \"%s\", expected \"%s\"", i, err,
                             cases[i].err);
        }
        RS_CHECK(rs_alerting_routes_parse(NULL, err, sizeof(err)) == NULL);
        RS_CHECK_STR(err, "no routing rules");

        /* The engine reports the same, and bad settings. */
        rs_alerting_conf_defaults(&c);
        c.routes = "high -> ";
        RS_CHECK(rs_alerting_new(&c, err, sizeof(err)) == NULL);
        RS_CHECK_STR(err, "line 1, column 9: expected a channel name or "
                          "'none'");
        c.routes            = ROUTES;
        c.group_interval_ms = 0;
        RS_CHECK(rs_alerting_new(&c, err, sizeof(err)) == NULL);
        RS_CHECK_STR(err, "group_wait, cooldown and silence_retention must "
                          "be >= 0, group_interval and repeat_interval > 0");
        rs_alerting_conf_defaults(&c);
        c.routes     = ROUTES;
        c.max_issues = 0;
        RS_CHECK(rs_alerting_new(&c, err, sizeof(err)) == NULL);
        rs_alerting_conf_defaults(&c);
        RS_CHECK(rs_alerting_new(&c, err, sizeof(err)) == NULL);
        RS_CHECK_STR(err, "no routing rules");
        RS_CHECK(rs_alerting_new(NULL, err, sizeof(err)) == NULL);
}

static void test_names(void) {
        rs_alerting_severity_t sev;
        rs_alerting_group_by_t by;

        RS_CHECK_INT(rs_alerting_severity_parse("high", &sev), 0);
        RS_CHECK_INT(sev, RS_ALERTING_HIGH);
        RS_CHECK_INT(rs_alerting_severity_parse("HIGH", &sev),
                     RS_ALERTING_EINVAL);
        RS_CHECK_STR(rs_alerting_severity_name(RS_ALERTING_CRITICAL),
                     "critical");
        RS_CHECK_STR(rs_alerting_severity_name((rs_alerting_severity_t)7),
                     "unknown");
        RS_CHECK_INT(rs_alerting_group_by_parse("tenant+kind", &by), 0);
        RS_CHECK_INT(by, RS_ALERTING_GROUP_BY_KIND);
        RS_CHECK_INT(rs_alerting_group_by_parse("tenant", &by), 0);
        RS_CHECK_INT(by, RS_ALERTING_GROUP_BY_TENANT);
        RS_CHECK_INT(rs_alerting_group_by_parse("tenant+route", &by), 0);
        RS_CHECK_INT(by, RS_ALERTING_GROUP_BY_ROUTE);
        RS_CHECK_INT(rs_alerting_group_by_parse("route", &by),
                     RS_ALERTING_EINVAL);
        RS_CHECK_STR(rs_alerting_kind_name(RS_ALERTING_REPEAT), "repeat");
        RS_CHECK_STR(rs_alerting_status_name(RS_ALERTING_INHIBITED),
                     "inhibited");
        RS_CHECK_STR(rs_alerting_issue_status_name(RS_ALERTING_ISSUE_RESOLVED),
                     "resolved");
}

/* ---- Routing and grouping in the engine -------------------------------- */

static void test_routing_engine(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);

        /* shop: high -> chat; acme-shop: high -> pager, chat; low: none. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed_full(a, "acme-shop", "regression", "B", "/x", "high",
                               "open", 1, T0),
                     0);
        RS_CHECK_INT(feed(a, "L", "/x", "low", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "M", "/y", "medium", "open", 1, T0), 0);
        STATS(a, 4, 3, 4);
        RS_CHECK_INT(rs_alerting_next_due(a), T0 + 30 * SEC);
        TICK(a, T0 + 30 * SEC, 4);
        EXPECT(0, "acme-shop /x", "chat", FIRING, SENT, "B");
        EXPECT(1, "acme-shop /x", "pager", FIRING, SENT, "B");
        EXPECT(2, "shop /x", "chat", FIRING, SENT, "A");
        EXPECT(3, "shop /y", "email-digest", FIRING, SENT, "M");
        RS_CHECK_STR(N[0].tenant_id, "acme-shop");
        RS_CHECK_INT(N[0].severity, RS_ALERTING_HIGH);
        RS_CHECK_STR(N[2].title, "[HIGH] A on /x");
        RS_CHECK_STR(N[2].summary,
                     "firing [high] A on /x (lcp 4200 vs baseline 2500)");
        RS_CHECK_STR(N[3].title, "[MEDIUM] M on /y");
        rs_alerting_destroy(a);
}

static void test_grouping(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_id_t        id;
        char           want[33];

        RS_CHECK_INT(feed(a, "A", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(
            feed(a, "B", "/checkout", "high", "open", 1, T0 + 10 * SEC), 0);
        RS_CHECK_INT(feed(a, "D", "/cart", "high", "open", 1, T0 + 20 * SEC),
                     0);
        TICK(a, T0 + 29 * SEC, 0);
        RS_CHECK_INT(rs_alerting_next_due(a), T0 + 30 * SEC);
        /* A and B arrived within group_wait: one notice. */
        TICK(a, T0 + 30 * SEC, 1);
        EXPECT(0, "shop /checkout", "chat", FIRING, SENT, "A B");
        RS_CHECK_INT(N[0].seq, 1);
        RS_CHECK_INT(N[0].created_at_ms, T0 + 30 * SEC);
        RS_CHECK_STR(N[0].title, "[HIGH] 2 issues on shop /checkout");
        RS_CHECK_STR(N[0].summary,
                     "firing [high] A on /checkout (lcp 4200 vs baseline "
                     "2500)\n"
                     "firing [high] B on /checkout (lcp 4200 vs baseline "
                     "2500)");
        /* The id: (group key, channel, epoch issue, epoch ms, seq). */
        rs_id_init(&id, "alert");
        rs_id_add_str(&id, "shop /checkout");
        rs_id_add_str(&id, "chat");
        rs_id_add_str(&id, "A");
        rs_id_add_i64(&id, T0);
        rs_id_add_i64(&id, 1);
        rs_id_hex(&id, want);
        RS_CHECK_STR(N[0].alert_id, want);
        rs_id_init(&id, "alert_group");
        rs_id_add_str(&id, "shop /checkout");
        rs_id_add_str(&id, "chat");
        rs_id_add_str(&id, "A");
        rs_id_add_i64(&id, T0);
        rs_id_hex(&id, want);
        RS_CHECK_STR(N[0].dedup_key, want);
        /* D's group waits from its own start. */
        TICK(a, T0 + 50 * SEC - 1, 0);
        TICK(a, T0 + 50 * SEC, 1);
        EXPECT(0, "shop /cart", "chat", FIRING, SENT, "D");

        /* C joins after the first notice: an update at the next flush,
         * group_interval after the first. */
        RS_CHECK_INT(feed(a, "C", "/checkout", "high", "open", 1, T0 + MIN), 0);
        TICK(a, T0 + MIN, 0);
        TICK(a, T0 + 30 * SEC + 5 * MIN - 1, 0);
        TICK(a, T0 + 30 * SEC + 5 * MIN, 1);
        EXPECT(0, "shop /checkout", "chat", UPDATE, SENT, "A B C");
        RS_CHECK_INT(N[0].seq, 2);
        RS_CHECK_STR(N[0].title, "[HIGH] 3 issues on shop /checkout");
        RS_CHECK(strcmp(N[0].alert_id, want) != 0);
        /* Nothing new: nothing at the following flushes. */
        TICK(a, T0 + 30 * SEC + 10 * MIN, 0);
        TICK(a, T0 + 50 * SEC + 10 * MIN, 0);
        rs_alerting_destroy(a);

        /* Grouped by tenant: the routes share one notice. */
        a = engine(ROUTES, RS_ALERTING_GROUP_BY_TENANT);
        RS_CHECK_INT(feed(a, "A", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "D", "/cart", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        EXPECT(0, "shop", "chat", FIRING, SENT, "A D");
        rs_alerting_destroy(a);

        /* Grouped by kind. */
        a = engine(ROUTES, RS_ALERTING_GROUP_BY_KIND);
        RS_CHECK_INT(feed_full(a, "shop", "regression", "A", "/checkout",
                               "high", "open", 1, T0),
                     0);
        RS_CHECK_INT(feed_full(a, "shop", "regression", "D", "/cart", "high",
                               "open", 1, T0),
                     0);
        RS_CHECK_INT(feed_full(a, "shop", "error_spike", "E", "/cart", "high",
                               "open", 1, T0),
                     0);
        TICK(a, T0 + 30 * SEC, 2);
        EXPECT(0, "shop error_spike", "chat", FIRING, SENT, "E");
        EXPECT(1, "shop regression", "chat", FIRING, SENT, "A D");
        rs_alerting_destroy(a);
}

static void test_repeat(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        int            k;

        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", FIRING, SENT, "A");
        /* A new version that changes nothing that counts: no notice. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "updated", 2, T0 + 2 * MIN), 0);
        for (k = 1; k < 48; k++)
                TICK(a, T0 + 30 * SEC + k * 5 * MIN, 0);
        TICK(a, T0 + 30 * SEC + 4 * HOUR, 1);
        EXPECT(0, "shop /x", "chat", REPEAT, SENT, "A");
        RS_CHECK_INT(N[0].seq, 2);
        RS_CHECK_INT(N[0].entries[0].version, 2);
        TICK(a, T0 + 30 * SEC + 8 * HOUR - 5 * MIN, 0);
        TICK(a, T0 + 30 * SEC + 8 * HOUR, 1);
        EXPECT(0, "shop /x", "chat", REPEAT, SENT, "A");
        rs_alerting_destroy(a);
}

static void test_resolved(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);

        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "B", "/x", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        /* A resolves: listed once as resolved in an update. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 2, T0 + MIN), 0);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", UPDATE, SENT, "B A-");
        RS_CHECK_STR(N[0].title, "[HIGH] 1 firing, 1 resolved on shop /x");
        RS_CHECK_STR(N[0].entries[1].state, "resolved");
        RS_CHECK_INT(N[0].entries[1].resolved_at_ms, T0 + MIN);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 0);
        /* B resolves: one resolved notice, once. */
        RS_CHECK_INT(feed(a, "B", "/x", "high", "resolved", 2, T0 + 11 * MIN),
                     0);
        TICK(a, T0 + 15 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", RESOLVED, SENT, "B-");
        RS_CHECK_STR(N[0].title, "[RESOLVED] B on /x");
        RS_CHECK_INT(N[0].severity, RS_ALERTING_HIGH);
        RS_CHECK_INT(N[0].seq, 3);
        /* A was forgotten cooldown after its resolve; B is waiting. */
        STATS(a, 1, 1, 1);
        TICK(a, T0 + 16 * MIN, 0);
        TICK(a, T0 + 20 * MIN + 30 * SEC - 1, 0);
        /* Cooldown over: the group and B are forgotten. */
        TICK(a, T0 + 20 * MIN + 30 * SEC, 0);
        STATS(a, 0, 0, 0);
        RS_CHECK_INT(rs_alerting_next_due(a), INT64_MAX);
        TICK(a, T0 + 5 * HOUR, 0);

        /* An issue that resolves within group_wait is never sent. */
        RS_CHECK_INT(feed(a, "Q", "/q", "high", "open", 1, T0 + 6 * HOUR), 0);
        RS_CHECK_INT(
            feed(a, "Q", "/q", "high", "resolved", 2, T0 + 6 * HOUR + SEC), 0);
        TICK(a, T0 + 6 * HOUR + 30 * SEC, 0);
        STATS(a, 1, 1, 0);
        TICK(a, T0 + 6 * HOUR + 5 * MIN + SEC, 0);
        STATS(a, 0, 0, 0);
        rs_alerting_destroy(a);
}

static void test_cooldown(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        char           first_id[33];

        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        snprintf(first_id, sizeof(first_id), "%s", N[0].alert_id);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 2, T0 + MIN), 0);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", RESOLVED, SENT, "A-");
        /* Cooldown until 10m30s. A re-opens at 6m: held until then. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 3, T0 + 6 * MIN), 0);
        TICK(a, T0 + 6 * MIN + 30 * SEC, 0);
        TICK(a, T0 + 10 * MIN + 30 * SEC - 1, 0);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", FIRING, SENT, "A");
        RS_CHECK_INT(N[0].seq, 3);

        /* Flapping within the cooldown: nothing at all. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 4, T0 + 11 * MIN),
                     0);
        TICK(a, T0 + 15 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", RESOLVED, SENT, "A-");
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 5, T0 + 16 * MIN), 0);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 6, T0 + 17 * MIN),
                     0);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 7, T0 + 18 * MIN), 0);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 8, T0 + 19 * MIN),
                     0);
        TICK(a, T0 + 20 * MIN + 30 * SEC, 0);
        STATS(a, 1, 1, 0); /* the group is forgotten, A not yet */

        /* Re-opened after: a new group, group_wait, new ids. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 9, T0 + 21 * MIN), 0);
        TICK(a, T0 + 21 * MIN + 30 * SEC - 1, 0);
        TICK(a, T0 + 21 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", FIRING, SENT, "A");
        RS_CHECK_INT(N[0].seq, 1);
        RS_CHECK(strcmp(N[0].alert_id, first_id) != 0);

        /* A re-open near the end of a cooldown waits group_wait. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 10, T0 + 22 * MIN),
                     0);
        TICK(a, T0 + 26 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", RESOLVED, SENT, "A-");
        RS_CHECK_INT(
            feed(a, "A", "/x", "high", "open", 11, T0 + 31 * MIN + 20 * SEC),
            0);
        TICK(a, T0 + 31 * MIN + 30 * SEC, 0);
        TICK(a, T0 + 31 * MIN + 50 * SEC - 1, 0);
        TICK(a, T0 + 31 * MIN + 50 * SEC, 1);
        EXPECT(0, "shop /x", "chat", FIRING, SENT, "A");
        rs_alerting_destroy(a);
}

static void test_inhibition(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);

        RS_CHECK_INT(feed(a, "C", "/checkout", "critical", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "H", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "H2", "/cart", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 4);
        EXPECT(0, "shop /cart", "chat", FIRING, SENT, "H2");
        EXPECT(1, "shop /checkout", "chat", FIRING, SENT, "C");
        EXPECT(2, "shop /checkout", "chat", FIRING, INHIBITED, "H");
        EXPECT(3, "shop /checkout", "pager", FIRING, SENT, "C");
        RS_CHECK_STR(N[2].entries[0].muted_by, "C");
        RS_CHECK_INT(N[2].entries[0].status, RS_ALERTING_ISSUE_INHIBITED);
        RS_CHECK_INT(N[1].seq, 1);
        RS_CHECK_INT(N[2].seq, 2);
        RS_CHECK_STR(N[3].title, "[CRITICAL] C on /checkout");
        /* Recorded once. */
        TICK(a, T0 + 5 * MIN + 30 * SEC, 0);
        /* C resolves: H notifies at the next flush; the page resolves. */
        RS_CHECK_INT(
            feed(a, "C", "/checkout", "critical", "resolved", 2, T0 + 6 * MIN),
            0);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 2);
        EXPECT(0, "shop /checkout", "chat", UPDATE, SENT, "H C-");
        EXPECT(1, "shop /checkout", "pager", RESOLVED, SENT, "C-");
        RS_CHECK_INT(N[0].severity, RS_ALERTING_HIGH);
        RS_CHECK_INT(N[1].severity, RS_ALERTING_CRITICAL);
        rs_alerting_destroy(a);

        /* Grouped by tenant, inhibition still goes by route. */
        a = engine(ROUTES, RS_ALERTING_GROUP_BY_TENANT);
        RS_CHECK_INT(feed(a, "C", "/checkout", "critical", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "H", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "H2", "/cart", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "M", "/checkout", "medium", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 4);
        EXPECT(0, "shop", "chat", FIRING, SENT, "C H2");
        EXPECT(1, "shop", "chat", FIRING, INHIBITED, "H");
        EXPECT(2, "shop", "email-digest", FIRING, INHIBITED, "M");
        EXPECT(3, "shop", "pager", FIRING, SENT, "C");
        /* An escalation to critical is new; it no longer is inhibited. */
        RS_CHECK_INT(
            feed(a, "H", "/checkout", "critical", "updated", 2, T0 + MIN), 0);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 2);
        EXPECT(0, "shop", "chat", UPDATE, SENT, "C H H2");
        EXPECT(1, "shop", "pager", UPDATE, SENT, "C H");
        rs_alerting_destroy(a);
}

static void test_severity_change(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);

        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        /* Escalation: a new pager group, an update on chat. */
        RS_CHECK_INT(feed(a, "A", "/x", "critical", "updated", 2, T0 + MIN), 0);
        TICK(a, T0 + MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "pager", FIRING, SENT, "A");
        TICK(a, T0 + 5 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "chat", UPDATE, SENT, "A");
        RS_CHECK_INT(N[0].severity, RS_ALERTING_CRITICAL);
        TICK(a, T0 + 6 * MIN + 30 * SEC, 0);
        /* Back to high: the page resolves, chat hears nothing new. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "updated", 3, T0 + 7 * MIN), 0);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 0);
        TICK(a, T0 + 11 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /x", "pager", RESOLVED, SENT, "A-");
        RS_CHECK_STR(N[0].entries[0].state, "open");
        rs_alerting_destroy(a);
}

/* ---- Silences ---------------------------------------------------------- */

static rs_alerting_silence_t silence(const char *tenant, const char *route,
                                     const char *kind, const char *sev,
                                     int64_t starts, int64_t ends) {
        rs_alerting_silence_t s;

        memset(&s, 0, sizeof(s));
        s.tenant_id  = tenant;
        s.route      = route;
        s.kind       = kind;
        s.severity   = sev;
        s.starts_ms  = starts;
        s.ends_ms    = ends;
        s.comment    = "deploy of the checkout";
        s.created_by = "ops@example.com";
        return s;
}

static void test_silences(void) {
        rs_alerting_t        *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_alerting_silence_t s;
        const rs_alerting_silence_t *got;
        char                         id[33], id2[33], id3[33], err[256];
        rs_alerting_conf_t           c;

        s = silence("shop", "/checkout", "*", "high", T0, T0 + 20 * MIN);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     0);
        RS_CHECK_INT(rs_alerting_silence_cnt(a), 1);
        got = rs_alerting_silence_get(a, 0);
        RS_CHECK(got != NULL);
        RS_CHECK_STR(got->id, id);
        RS_CHECK_STR(got->comment, "deploy of the checkout");
        RS_CHECK_STR(got->created_by, "ops@example.com");
        RS_CHECK_INT(got->created_ms, T0);
        RS_CHECK_STR(rs_alerting_silence_state(got, T0 - 1), "pending");
        RS_CHECK_STR(rs_alerting_silence_state(got, T0), "active");
        RS_CHECK_STR(rs_alerting_silence_state(got, T0 + 20 * MIN), "expired");
        RS_CHECK(rs_alerting_silence_get(a, 1) == NULL);
        /* Not matching: critical only. */
        s = silence("shop", "/cart", "*", "critical", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id2, err, sizeof(err)),
                     0);
        RS_CHECK_INT(rs_alerting_silence_cnt(a), 2);

        RS_CHECK_INT(feed(a, "A", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "B", "/cart", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "C", "/checkout", "medium", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 3);
        EXPECT(0, "shop /cart", "chat", FIRING, SENT, "B");
        EXPECT(1, "shop /checkout", "chat", FIRING, SILENCED, "A");
        EXPECT(2, "shop /checkout", "email-digest", FIRING, SENT, "C");
        RS_CHECK_STR(N[1].entries[0].muted_by, id);
        RS_CHECK_STR(N[1].title, "[HIGH] A on /checkout");
        TICK(a, T0 + 5 * MIN + 30 * SEC, 0);
        TICK(a, T0 + 15 * MIN + 30 * SEC, 0);
        /* The silence ends at 20m: A notifies at the next flush. */
        TICK(a, T0 + 20 * MIN, 0);
        TICK(a, T0 + 20 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /checkout", "chat", FIRING, SENT, "A");
        /* The same silence again: the same one, created when it was. */
        s = silence("shop", "/checkout", "*", "high", T0, T0 + 20 * MIN);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0 + 21 * MIN, id2, err,
                                             sizeof(err)),
                     0);
        RS_CHECK_STR(id2, id);
        RS_CHECK_INT(rs_alerting_silence_cnt(a), 2);
        got = rs_alerting_silence_get(
            a, strcmp(rs_alerting_silence_get(a, 0)->id, id) ? 1 : 0);
        RS_CHECK_STR(got->id, id);
        RS_CHECK_INT(got->created_ms, T0);
        rs_alerting_destroy(a);

        /* Wildcards, and expiry by hand. */
        a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        s = silence("*", "*", "regression", "*", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     0);
        RS_CHECK_INT(feed(a, "A", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed_full(a, "other", "error_spike", "E", "/checkout",
                               "high", "open", 1, T0),
                     0);
        RS_CHECK_INT(feed_full(a, "other", "regression", "R", NULL, "high",
                               "open", 1, T0),
                     0);
        TICK(a, T0 + 30 * SEC, 3);
        EXPECT(0, "other", "chat", FIRING, SILENCED, "R");
        EXPECT(1, "other /checkout", "chat", FIRING, SENT, "E");
        EXPECT(2, "shop /checkout", "chat", FIRING, SILENCED, "A");
        RS_CHECK_INT(rs_alerting_silence_expire(a, id, T0 + 7 * MIN), 0);
        RS_CHECK_INT(rs_alerting_silence_expire(a, "nope", T0 + 7 * MIN),
                     RS_ALERTING_ENOENT);
        got = rs_alerting_silence_get(a, 0);
        RS_CHECK_INT(got->ends_ms, T0 + 7 * MIN);
        RS_CHECK_STR(rs_alerting_silence_state(got, T0 + 7 * MIN), "expired");
        TICK(a, T0 + 10 * MIN + 30 * SEC, 2);
        EXPECT(0, "other", "chat", FIRING, SENT, "R");
        EXPECT(1, "shop /checkout", "chat", FIRING, SENT, "A");
        /* Dropped silence_retention (24 h) after its end. */
        RS_CHECK_INT(rs_alerting_tick(a, T0 + 7 * MIN + 24 * HOUR - 1, &N, &NN),
                     0);
        RS_CHECK_INT(rs_alerting_silence_cnt(a), 1);
        RS_CHECK_INT(rs_alerting_tick(a, T0 + 7 * MIN + 24 * HOUR, &N, &NN), 0);
        RS_CHECK_INT(rs_alerting_silence_cnt(a), 0);
        /* A pending silence expired by hand starts and ends then. */
        s = silence("shop", "*", "*", "*", T0 + 30 * HOUR, T0 + 31 * HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0 + 25 * HOUR, id3, err,
                                             sizeof(err)),
                     0);
        RS_CHECK_INT(rs_alerting_silence_expire(a, id3, T0 + 25 * HOUR), 0);
        got = rs_alerting_silence_get(a, 0);
        RS_CHECK_INT(got->starts_ms, T0 + 25 * HOUR);
        RS_CHECK_INT(got->ends_ms, T0 + 25 * HOUR);
        RS_CHECK_INT(got->created_ms, T0 + 25 * HOUR);

        /* Bad silences. */
        s = silence("shop", "*", "*", "urgent", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     RS_ALERTING_EINVAL);
        RS_CHECK_STR(err, "unknown severity \"urgent\" (expected low, medium, "
                          "high, critical or *)");
        s = silence("shop", "*", "*", "*", T0, T0);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     RS_ALERTING_EINVAL);
        RS_CHECK_STR(err, "the silence ends before it starts");
        s = silence("shop", "", "*", "*", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     RS_ALERTING_EINVAL);
        s         = silence("shop", "*", "*", "*", T0, T0 + HOUR);
        s.comment = "";
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     RS_ALERTING_EINVAL);
        RS_CHECK_STR(err, "a silence needs a comment and its creator");
        rs_alerting_destroy(a);

        /* max_silences. */
        rs_alerting_conf_defaults(&c);
        c.routes       = ROUTES;
        c.max_silences = 1;
        a              = rs_alerting_new(&c, err, sizeof(err));
        s              = silence("shop", "*", "*", "*", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     0);
        s = silence("shop2", "*", "*", "*", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     RS_ALERTING_EFULL);
        RS_CHECK_STR(err, "too many silences (max_silences 1)");
        rs_alerting_destroy(a);
}

/* Muted after it was notified: left out, never recorded over, and its
 * resolve still reaches the channel. */
static void test_muted_after_firing(void) {
        rs_alerting_t        *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_alerting_silence_t s;
        char                  id[33], err[256];

        RS_CHECK_INT(feed(a, "A", "/m", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        EXPECT(0, "shop /m", "chat", FIRING, SENT, "A");
        s = silence("shop", "/m", "*", "*", T0 + MIN, T0 + HOUR);
        RS_CHECK_INT(
            rs_alerting_silence_add(a, &s, T0 + MIN, id, err, sizeof(err)), 0);
        /* Escalated while silenced: the pager records it, chat is quiet. */
        RS_CHECK_INT(feed(a, "A", "/m", "critical", "updated", 2, T0 + 2 * MIN),
                     0);
        TICK(a, T0 + 2 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /m", "pager", FIRING, SILENCED, "A");
        TICK(a, T0 + 5 * MIN + 30 * SEC, 0);
        RS_CHECK_INT(
            feed(a, "A", "/m", "critical", "resolved", 3, T0 + 6 * MIN), 0);
        /* The pager never heard of A: its group goes silently. */
        TICK(a, T0 + 7 * MIN + 30 * SEC, 0);
        STATS(a, 1, 1, 1);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /m", "chat", RESOLVED, SENT, "A-");
        RS_CHECK_INT(N[0].severity, RS_ALERTING_CRITICAL);
        rs_alerting_destroy(a);
}

/* ---- Replays, bad input, caps ------------------------------------------ */

static void test_idempotence(void) {
        rs_alerting_t      *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_alerting_stats_t st;
        rs_issue_t          bad;

        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0),
                     RS_ALERTING_ACCEPTED);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0),
                     RS_ALERTING_DUPLICATE);
        TICK(a, T0 + 30 * SEC, 1);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "updated", 3, T0 + MIN), 0);
        /* Replays and older versions change nothing, even a resolve. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "updated", 3, T0 + 2 * MIN),
                     RS_ALERTING_DUPLICATE);
        RS_CHECK_INT(feed(a, "A", "/x", "high", "resolved", 2, T0 + 2 * MIN),
                     RS_ALERTING_STALE);
        RS_CHECK_INT(feed(a, "A", "/x", "critical", "open", 1, T0 + 2 * MIN),
                     RS_ALERTING_STALE);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 0);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 0);
        STATS(a, 1, 1, 1);

        memset(&bad, 0, sizeof(bad));
        RS_CHECK_INT(rs_alerting_feed(a, NULL, T0), RS_ALERTING_EINVAL);
        RS_CHECK_INT(rs_alerting_feed(a, &bad, T0), RS_ALERTING_EINVAL);
        RS_CHECK_INT(feed(a, "Z", "/x", "urgent", "open", 1, T0),
                     RS_ALERTING_EINVAL);
        RS_CHECK_INT(feed(a, "Z", "/x", "high", "closed", 1, T0),
                     RS_ALERTING_EINVAL);
        RS_CHECK_INT(feed(a, "Z", "/x", "high", "open", -1, T0),
                     RS_ALERTING_EINVAL);
        RS_CHECK_INT(
            feed_full(a, "", "regression", "Z", "/x", "high", "open", 1, T0),
            RS_ALERTING_EINVAL);
        rs_alerting_stats(a, &st);
        RS_CHECK_INT(st.fed, 2);
        RS_CHECK_INT(st.duplicates, 2);
        RS_CHECK_INT(st.stale, 2);
        RS_CHECK_INT(st.invalid, 6);
        RS_CHECK_INT(st.notices_sent, 1);
        rs_alerting_destroy(a);
}

/* Two engines fed the same versions and ticks give the same notices. */
static void test_deterministic(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_alerting_t *b = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        char           ids[16][33];
        size_t         n = 0, k, round;
        int64_t        t;

        for (round = 0; round < 2; round++) {
                rs_alerting_t *e = round ? b : a;
                /* b also sees every version twice (a replay). */
                feed(e, "A", "/x", "critical", "open", 1, T0);
                if (round)
                        feed(e, "A", "/x", "critical", "open", 1, T0);
                feed(e, "B", "/x", "high", "open", 1, T0 + SEC);
                feed(e, "C", "/y", "medium", "open", 1, T0 + 2 * SEC);
                if (round) {
                        feed(e, "B", "/x", "high", "open", 1, T0 + 2 * SEC);
                        feed(e, "C", "/y", "medium", "open", 1, T0 + 2 * SEC);
                }
                for (t = T0 + 30 * SEC; t <= T0 + 40 * MIN; t += 30 * SEC) {
                        if (t == T0 + 3 * MIN) {
                                feed(e, "A", "/x", "critical", "resolved", 2,
                                     t);
                                if (round)
                                        feed(e, "A", "/x", "critical", "open",
                                             1, t);
                        }
                        RS_CHECK_INT(rs_alerting_tick(e, t, &N, &NN), 0);
                        for (k = 0; k < NN; k++) {
                                if (!round && n < NELEM(ids))
                                        snprintf(ids[n++], 33, "%s",
                                                 N[k].alert_id);
                                else if (round && n < NELEM(ids))
                                        RS_CHECK_STR(N[k].alert_id, ids[n++]);
                        }
                }
                if (!round) {
                        RS_CHECK_INT(n, 6);
                        n = 0;
                }
        }
        rs_alerting_destroy(a);
        rs_alerting_destroy(b);
}

static void test_caps(void) {
        rs_alerting_conf_t  c;
        rs_alerting_t      *a;
        rs_alerting_stats_t st;
        char                err[256];

        rs_alerting_conf_defaults(&c);
        c.routes     = ROUTES;
        c.max_issues = 2;
        c.max_groups = 2;
        a            = rs_alerting_new(&c, err, sizeof(err));
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "B", "/y", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "C", "/x", "high", "open", 1, T0),
                     RS_ALERTING_OVERFLOW);
        RS_CHECK_INT(feed(a, "C", "/x", "high", "open", 1, T0),
                     RS_ALERTING_OVERFLOW);
        /* Tracked issues carry on. */
        RS_CHECK_INT(feed(a, "A", "/x", "critical", "updated", 2, T0), 0);
        rs_alerting_stats(a, &st);
        RS_CHECK_INT(st.issues_overflow, 2);
        RS_CHECK_INT(st.groups_overflow, 0);
        TICK(a, T0 + 30 * SEC, 3);
        /* B resolves and is forgotten after the cooldown: room again. */
        RS_CHECK_INT(feed(a, "B", "/y", "high", "resolved", 2, T0 + MIN), 0);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /y", "chat", RESOLVED, SENT, "B-");
        RS_CHECK_INT(feed(a, "D", "/z", "high", "open", 1, T0 + 6 * MIN),
                     RS_ALERTING_OVERFLOW);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 0);
        STATS(a, 1, 1, 2);
        RS_CHECK_INT(feed(a, "D", "/z", "high", "open", 1, T0 + 11 * MIN), 0);
        rs_alerting_destroy(a);

        /* Group keys. */
        c.max_issues = 10;
        c.max_groups = 1;
        a            = rs_alerting_new(&c, err, sizeof(err));
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "B", "/x", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "C", "/y", "high", "open", 1, T0),
                     RS_ALERTING_OVERFLOW);
        rs_alerting_stats(a, &st);
        RS_CHECK_INT(st.groups_overflow, 1);
        RS_CHECK_INT(st.issues_overflow, 0);
        STATS(a, 2, 1, 1);
        rs_alerting_destroy(a);
}

/* ---- State export and import ------------------------------------------- */

/* Rows flattened into text, one line each. */
typedef struct dump_s {
        char   text[16384];
        size_t len;
        /* Deep copies for import. */
        rs_alerting_group_row_t groups[16];
        rs_alerting_issue_row_t issues[16];
        rs_alerting_silence_t   silences[4];
        size_t                  ngroups, nissues, nsilences;
        char                    strings[8192];
        size_t                  slen;
} dump_t;

static const char *keep(dump_t *d, const char *s) {
        size_t n;
        char  *p;

        if (!s)
                return NULL;
        n = strlen(s) + 1;
        if (d->slen + n > sizeof(d->strings))
                return "";
        p = d->strings + d->slen;
        memcpy(p, s, n);
        d->slen += n;
        return p;
}

#define APPEND(d, ...)                                                         \
        ((d)->len += (size_t)snprintf(                                         \
             (d)->text + (d)->len, sizeof((d)->text) - (d)->len, __VA_ARGS__))

static int dump_group(const rs_alerting_group_row_t *r, void *opaque) {
        dump_t                  *d = opaque;
        rs_alerting_group_row_t *c = &d->groups[d->ngroups++];

        APPEND(d, "group %s|%s|%s|%s|%s|%lld|%lld|%lld|%lld|%lld|%lld|%lld\n",
               r->group_key, r->channel, r->tenant_id, r->phase,
               r->epoch_issue_id, (long long)r->epoch_ms, (long long)r->seq,
               (long long)r->created_ms, (long long)r->next_flush_ms,
               (long long)r->last_sent_ms, (long long)r->cooldown_until_ms,
               (long long)r->held_since_ms);
        *c                = *r;
        c->group_key      = keep(d, r->group_key);
        c->channel        = keep(d, r->channel);
        c->tenant_id      = keep(d, r->tenant_id);
        c->phase          = keep(d, r->phase);
        c->epoch_issue_id = keep(d, r->epoch_issue_id);
        return 0;
}

static int dump_issue(const rs_alerting_issue_row_t *r, void *opaque) {
        dump_t                  *d = opaque;
        rs_alerting_issue_row_t *c = &d->issues[d->nissues++];

        APPEND(d,
               "issue %s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%g|%g|%g|%lld|%lld|%lld|"
               "%lld|%lld|%s\n",
               r->issue_id, r->tenant_id, r->kind, r->route ? r->route : "NULL",
               r->segment_type ? r->segment_type : "NULL",
               r->segment_value ? r->segment_value : "NULL",
               r->metric ? r->metric : "NULL", r->severity, r->state, r->title,
               r->observed, r->baseline, r->threshold,
               (long long)r->opened_at_ms, (long long)r->updated_at_ms,
               (long long)r->resolved_at_ms, (long long)r->version,
               (long long)r->resolved_seen_ms, r->notified);
        *c               = *r;
        c->issue_id      = keep(d, r->issue_id);
        c->tenant_id     = keep(d, r->tenant_id);
        c->kind          = keep(d, r->kind);
        c->route         = keep(d, r->route);
        c->segment_type  = keep(d, r->segment_type);
        c->segment_value = keep(d, r->segment_value);
        c->metric        = keep(d, r->metric);
        c->severity      = keep(d, r->severity);
        c->state         = keep(d, r->state);
        c->title         = keep(d, r->title);
        c->notified      = keep(d, r->notified);
        return 0;
}

static int dump_silence(const rs_alerting_silence_t *s, void *opaque) {
        dump_t                *d = opaque;
        rs_alerting_silence_t *c = &d->silences[d->nsilences++];

        APPEND(d, "silence %s|%s|%s|%s|%s|%lld|%lld|%s|%s|%lld\n", s->id,
               s->tenant_id, s->route, s->kind, s->severity,
               (long long)s->starts_ms, (long long)s->ends_ms, s->comment,
               s->created_by, (long long)s->created_ms);
        *c            = *s;
        c->id         = keep(d, s->id);
        c->tenant_id  = keep(d, s->tenant_id);
        c->route      = keep(d, s->route);
        c->kind       = keep(d, s->kind);
        c->severity   = keep(d, s->severity);
        c->comment    = keep(d, s->comment);
        c->created_by = keep(d, s->created_by);
        return 0;
}

static int stop_at_first(const rs_alerting_issue_row_t *r, void *opaque) {
        (void)r;
        (*(int *)opaque)++;
        return 7;
}

static void test_state(void) {
        rs_alerting_t        *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_alerting_t        *b, *b2;
        rs_alerting_silence_t s;
        static dump_t         d1, d2, d3;
        char                  err[256], id[33];
        size_t                k;
        int                   calls = 0, step;

        RS_CHECK_INT(feed(a, "C", "/checkout", "critical", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "H", "/checkout", "high", "open", 1, T0), 0);
        RS_CHECK_INT(feed(a, "R", "/r", "high", "open", 1, T0), 0);
        s = silence("shop", "/s", "*", "*", T0, T0 + HOUR);
        RS_CHECK_INT(rs_alerting_silence_add(a, &s, T0, id, err, sizeof(err)),
                     0);
        RS_CHECK_INT(feed(a, "S", "/s", "medium", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 5);
        RS_CHECK_INT(feed(a, "R", "/r", "high", "resolved", 2, T0 + MIN), 0);
        TICK(a, T0 + 5 * MIN + 30 * SEC, 1);
        EXPECT(0, "shop /r", "chat", RESOLVED, SENT, "R-");
        /* R re-opens within the cooldown: held. */
        RS_CHECK_INT(feed(a, "R", "/r", "high", "open", 3, T0 + 6 * MIN), 0);

        memset(&d1, 0, sizeof(d1));
        RS_CHECK_INT(
            rs_alerting_export(a, dump_group, dump_issue, dump_silence, &d1),
            0);
        RS_CHECK_INT(d1.ngroups, 4);
        RS_CHECK_INT(d1.nissues, 4);
        RS_CHECK_INT(d1.nsilences, 1);
        RS_CHECK_MSG(
            strstr(d1.text,
                   "group shop /checkout|chat|shop|active|C|1767225600000|2|"
                   "1767225600000|1767226230000|1767225630000|-1|-1\n") != NULL,
            "%s", d1.text);
        RS_CHECK_MSG(strstr(d1.text, "group shop /r|chat|shop|cooldown|R|"
                                     "1767225600000|2|1767225600000|"
                                     "1767226230000|1767225930000|"
                                     "1767226230000|1767225960000\n") != NULL,
                     "%s", d1.text);
        RS_CHECK_MSG(strstr(d1.text,
                            "issue C|shop|regression|/checkout|NULL|NULL|lcp|"
                            "critical|open|C on /checkout|4200|2500|nan|"
                            "1767225600000|1767225600000|-1|1|-1|"
                            "chat=firing/critical,pager=firing/critical\n") !=
                         NULL,
                     "%s", d1.text);
        RS_CHECK_MSG(strstr(d1.text, "|chat=inhibited/high\n") != NULL, "%s",
                     d1.text);
        RS_CHECK_MSG(strstr(d1.text, "|email-digest=silenced/medium\n") != NULL,
                     "%s", d1.text);
        RS_CHECK_MSG(strstr(d1.text, "|chat=resolved/high\n") != NULL, "%s",
                     d1.text);
        RS_CHECK_INT(rs_alerting_export(a, NULL, stop_at_first, NULL, &calls),
                     7);
        RS_CHECK_INT(calls, 1);

        /* Import into a fresh engine (issues first), export again: the
         * same rows. */
        b = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        for (k = 0; k < d1.nissues; k++)
                RS_CHECK_INT(rs_alerting_import_issue(b, &d1.issues[k], err,
                                                      sizeof(err)),
                             0);
        for (k = 0; k < d1.ngroups; k++)
                RS_CHECK_INT(rs_alerting_import_group(b, &d1.groups[k], err,
                                                      sizeof(err)),
                             0);
        for (k = 0; k < d1.nsilences; k++)
                RS_CHECK_INT(rs_alerting_silence_add(b, &d1.silences[k], 0,
                                                     NULL, err, sizeof(err)),
                             0);
        memset(&d2, 0, sizeof(d2));
        RS_CHECK_INT(
            rs_alerting_export(b, dump_group, dump_issue, dump_silence, &d2),
            0);
        RS_CHECK_MSG(!strcmp(d1.text, d2.text), "\n%s---\n%s", d1.text,
                     d2.text);
        /* Groups first works too. */
        b2 = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        for (k = 0; k < d1.ngroups; k++)
                RS_CHECK_INT(rs_alerting_import_group(b2, &d1.groups[k], err,
                                                      sizeof(err)),
                             0);
        for (k = 0; k < d1.nissues; k++)
                RS_CHECK_INT(rs_alerting_import_issue(b2, &d1.issues[k], err,
                                                      sizeof(err)),
                             0);
        for (k = 0; k < d1.nsilences; k++)
                RS_CHECK_INT(rs_alerting_silence_add(b2, &d1.silences[k], 0,
                                                     NULL, err, sizeof(err)),
                             0);
        memset(&d3, 0, sizeof(d3));
        RS_CHECK_INT(
            rs_alerting_export(b2, dump_group, dump_issue, dump_silence, &d3),
            0);
        RS_CHECK_MSG(!strcmp(d1.text, d3.text), "\n%s---\n%s", d1.text,
                     d3.text);

        /* And they carry on alike. */
        for (step = 0; step < 3; step++) {
                rs_alerting_t *e = step == 0 ? a : step == 1 ? b : b2;
                RS_CHECK_INT(feed(e, "C", "/checkout", "critical", "resolved",
                                  2, T0 + 7 * MIN),
                             0);
                TICK(e, T0 + 10 * MIN + 30 * SEC, 3);
                EXPECT(0, "shop /checkout", "chat", UPDATE, SENT, "H C-");
                EXPECT(1, "shop /checkout", "pager", RESOLVED, SENT, "C-");
                EXPECT(2, "shop /r", "chat", FIRING, SENT, "R");
                RS_CHECK_INT(N[0].seq, 3);
                RS_CHECK_INT(N[1].seq, 2);
                RS_CHECK_INT(N[2].seq, 3);
                /* The silence of S ends at 1 h: S fires at the flush
                 * after (a sparse tick flushed it just before). */
                TICK(e, T0 + HOUR - 1, 0);
                TICK(e, T0 + HOUR + 5 * MIN - 2, 0);
                TICK(e, T0 + HOUR + 5 * MIN - 1, 1);
                EXPECT(0, "shop /s", "email-digest", FIRING, SENT, "S");
                if (step == 0)
                        snprintf(id, sizeof(id), "%s", N[2].alert_id);
                else
                        RS_CHECK_STR(N[2].alert_id, id);
        }

        /* Malformed rows. */
        {
                rs_alerting_issue_row_t ir = d1.issues[0];
                rs_alerting_group_row_t gr = d1.groups[0];
                rs_alerting_t *e = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);

                ir.notified = "chat=loud/high";
                RS_CHECK_INT(rs_alerting_import_issue(e, &ir, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                RS_CHECK_STR(err,
                             "issue row C: bad notified \"chat=loud/high\"");
                ir.notified = "chat=firing/high,";
                RS_CHECK_INT(rs_alerting_import_issue(e, &ir, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                ir.notified = "";
                ir.severity = "hot";
                RS_CHECK_INT(rs_alerting_import_issue(e, &ir, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                ir.severity = "critical";
                RS_CHECK_INT(rs_alerting_import_issue(e, &ir, err, sizeof(err)),
                             0);
                RS_CHECK_INT(rs_alerting_import_issue(e, &ir, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                RS_CHECK_STR(err, "issue row C imported twice");
                gr.phase = "asleep";
                RS_CHECK_INT(rs_alerting_import_group(e, &gr, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                RS_CHECK_STR(err, "group row: bad phase \"asleep\"");
                gr.phase   = "active";
                gr.channel = "no way";
                RS_CHECK_INT(rs_alerting_import_group(e, &gr, err, sizeof(err)),
                             RS_ALERTING_EINVAL);
                STATS(e, 1, 1, 2);
                rs_alerting_destroy(e);
        }
        rs_alerting_destroy(a);
        rs_alerting_destroy(b);
        rs_alerting_destroy(b2);
}

/* ---- JSON -------------------------------------------------------------- */

/* A strict JSON reader that only says whether the text is one value. */
typedef struct jr_s {
        const unsigned char *s;
        size_t               i, n;
        int                  depth;
} jr_t;

static int j_value(jr_t *r);

static void j_ws(jr_t *r) {
        while (r->i < r->n && r->s[r->i] && strchr(" \t\r\n", r->s[r->i]))
                r->i++;
}

static int j_lit(jr_t *r, const char *lit) {
        size_t n = strlen(lit);

        if (r->n - r->i < n || memcmp(r->s + r->i, lit, n))
                return 0;
        r->i += n;
        return 1;
}

static int j_string(jr_t *r) {
        size_t k, len;

        if (r->i >= r->n || r->s[r->i] != '"')
                return 0;
        r->i++;
        while (r->i < r->n) {
                unsigned char c = r->s[r->i];
                if (c == '"') {
                        r->i++;
                        return 1;
                }
                if (c < 0x20)
                        return 0;
                if (c == '\\') {
                        if (r->i + 1 >= r->n)
                                return 0;
                        c = r->s[r->i + 1];
                        if (c == 'u') {
                                for (k = 2; k < 6; k++)
                                        if (r->i + k >= r->n ||
                                            !strchr("0123456789abcdefABCDEF",
                                                    r->s[r->i + k]) ||
                                            !r->s[r->i + k])
                                                return 0;
                                r->i += 6;
                        } else if (strchr("\"\\/bfnrt", c) && c) {
                                r->i += 2;
                        } else {
                                return 0;
                        }
                        continue;
                }
                len = c < 0x80    ? 1
                      : c >= 0xf0 ? 4
                      : c >= 0xe0 ? 3
                      : c >= 0xc2 ? 2
                                  : 0;
                if (!len || r->i + len > r->n)
                        return 0;
                for (k = 1; k < len; k++)
                        if ((r->s[r->i + k] & 0xc0) != 0x80)
                                return 0;
                r->i += len;
        }
        return 0;
}

static int j_number(jr_t *r) {
        size_t start = r->i;

        if (r->i < r->n && r->s[r->i] == '-')
                r->i++;
        if (r->i < r->n && r->s[r->i] == '0')
                r->i++;
        else if (r->i < r->n && r->s[r->i] >= '1' && r->s[r->i] <= '9')
                while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
                        r->i++;
        else
                return 0;
        if (r->i < r->n && r->s[r->i] == '.') {
                r->i++;
                if (!(r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9'))
                        return 0;
                while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
                        r->i++;
        }
        if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
                r->i++;
                if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-'))
                        r->i++;
                if (!(r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9'))
                        return 0;
                while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9')
                        r->i++;
        }
        return r->i > start;
}

static int j_container(jr_t *r, int object) {
        int first = 1;

        if (++r->depth > 32)
                return 0;
        r->i++;
        j_ws(r);
        if (r->i < r->n && r->s[r->i] == (object ? '}' : ']')) {
                r->i++;
                r->depth--;
                return 1;
        }
        for (;;) {
                if (!first) {
                        j_ws(r);
                        if (r->i < r->n && r->s[r->i] == (object ? '}' : ']')) {
                                r->i++;
                                r->depth--;
                                return 1;
                        }
                        if (r->i >= r->n || r->s[r->i] != ',')
                                return 0;
                        r->i++;
                }
                first = 0;
                j_ws(r);
                if (object) {
                        if (!j_string(r))
                                return 0;
                        j_ws(r);
                        if (r->i >= r->n || r->s[r->i] != ':')
                                return 0;
                        r->i++;
                }
                if (!j_value(r))
                        return 0;
        }
}

static int j_value(jr_t *r) {
        j_ws(r);
        if (r->i >= r->n)
                return 0;
        switch (r->s[r->i]) {
        case '{':
                return j_container(r, 1);
        case '[':
                return j_container(r, 0);
        case '"':
                return j_string(r);
        case 't':
                return j_lit(r, "true");
        case 'f':
                return j_lit(r, "false");
        case 'n':
                return j_lit(r, "null");
        default:
                return j_number(r);
        }
}

static int json_ok(const char *s, size_t n) {
        jr_t r = {(const unsigned char *)s, 0, n, 0};

        if (!j_value(&r))
                return 0;
        j_ws(&r);
        return r.i == r.n;
}

static void test_json(void) {
        rs_alerting_t     *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        rs_issue_t         is;
        char               buf[8192], small[16];
        size_t             n, k;
        static const char *bad_json[] = {
            "{\"a\":1,}", "{\"a\" 1}",       "[1 2]", "\"\x01\"",
            "01",         "{\"a\":\"\\x\"}", "[1]x",  "\"\xff\"",
        };

        for (k = 0; k < NELEM(bad_json); k++)
                RS_CHECK_MSG(!json_ok(bad_json[k], strlen(bad_json[k])),
                             "checker took %s", bad_json[k]);
        {
                const char *ok = "{\"a\":[1,-2.5e3,true,null,\"\\u00e9\"]}";
                RS_CHECK(json_ok(ok, strlen(ok)));
        }

        /* A simple notice, byte for byte. */
        RS_CHECK_INT(feed(a, "A", "/x", "high", "open", 1, T0), 0);
        TICK(a, T0 + 30 * SEC, 1);
        n = rs_alerting_notice_json(&N[0], buf, sizeof(buf));
        RS_CHECK_INT(n, strlen(buf));
        RS_CHECK_MSG(json_ok(buf, n), "%s", buf);
        {
                char want[4096];
                snprintf(
                    want, sizeof(want),
                    "{\"text\":\"[HIGH] A on /x\\nfiring [high] A on /x (lcp "
                    "4200 vs baseline 2500)\",\"event_action\":\"trigger\","
                    "\"dedup_key\":\"%s\",\"payload\":{\"summary\":\"[HIGH] "
                    "A on /x\",\"source\":\"shop\",\"severity\":\"error\","
                    "\"timestamp\":\"2026-01-01T00:00:30.000Z\",\"group\":"
                    "\"shop /x\"},\"alert_id\":\"%s\",\"status\":\"firing\","
                    "\"kind\":\"firing\",\"notice\":\"sent\",\"severity\":"
                    "\"high\",\"tenant\":\"shop\",\"group\":\"shop /x\","
                    "\"channel\":\"chat\",\"seq\":1,\"created_at\":"
                    "1767225630000,\"title\":\"[HIGH] A on /x\",\"summary\":"
                    "\"firing [high] A on /x (lcp 4200 vs baseline 2500)\","
                    "\"issues\":[{\"id\":\"A\",\"kind\":\"regression\","
                    "\"severity\":\"high\",\"status\":\"firing\",\"state\":"
                    "\"open\",\"title\":\"A on /x\",\"route\":\"/x\","
                    "\"segment_type\":null,\"segment_value\":null,"
                    "\"metric\":\"lcp\",\"observed\":4200,\"baseline\":2500,"
                    "\"threshold\":null,\"opened_at\":1767225600000,"
                    "\"updated_at\":1767225600000,\"resolved_at\":null,"
                    "\"version\":1,\"muted_by\":null}]}",
                    N[0].dedup_key, N[0].alert_id);
                RS_CHECK_MSG(!strcmp(buf, want), "\n%s\n%s", buf, want);
        }
        /* Cut like snprintf. */
        RS_CHECK_INT(rs_alerting_notice_json(&N[0], small, sizeof(small)), n);
        RS_CHECK_STR(small, "{\"text\":\"[HIGH]");
        RS_CHECK_INT(rs_alerting_notice_json(&N[0], NULL, 0), n);
        RS_CHECK_INT(rs_alerting_notice_json(NULL, buf, sizeof(buf)), 0);

        /* Hostile strings, numbers, a resolved notice. */
        memset(&is, 0, sizeof(is));
        is.issue_id      = "id \"quoted\"";
        is.tenant_id     = "shop";
        is.kind          = "error_spike";
        is.state         = "open";
        is.severity      = "critical";
        is.title         = "TypeError: \"x\" \\ undefined\n\tat f()\x01 caf\xc3"
                           "\xa9 \xff\xfe end";
        is.route         = "/a\"b\\c";
        is.segment_type  = "device";
        is.segment_value = "mobile";
        is.metric        = "error_rate";
        is.observed      = 0.1;
        is.baseline      = 1e-7;
        is.threshold     = 1.0 / 3;
        is.opened_at_ms  = T0;
        is.updated_at_ms = T0 + HOUR;
        is.resolved_at_ms = -1;
        is.version        = 1;
        RS_CHECK_INT(rs_alerting_feed(a, &is, T0 + HOUR), 0);
        TICK(a, T0 + HOUR + 30 * SEC, 2);
        EXPECT(0, "shop /a\"b\\c", "chat", FIRING, SENT, "id \"quoted\"");
        n = rs_alerting_notice_json(&N[0], buf, sizeof(buf));
        RS_CHECK_MSG(n > 0 && n < sizeof(buf) && json_ok(buf, n), "%s", buf);
        RS_CHECK(strstr(buf, "\"title\":\"TypeError: \\\"x\\\" \\\\ "
                             "undefined\\n\\tat f()\\u0001 caf\xc3\xa9 "
                             "\\ufffd\\ufffd end\"") != NULL);
        RS_CHECK(strstr(buf,
                        "\"observed\":0.1,\"baseline\":9.9999999999999995e-08,"
                        "\"threshold\":0.33333333333333331,") != NULL ||
                 strstr(buf, "\"observed\":0.1,\"baseline\":1e-07,"
                             "\"threshold\":0.3333333333333333,") != NULL);
        RS_CHECK(strstr(buf, "\"segment_type\":\"device\",\"segment_value\":"
                             "\"mobile\"") != NULL);
        RS_CHECK(strstr(buf, "\"severity\":\"critical\",\"timestamp\":"
                             "\"2026-01-01T01:00:30.000Z\"") != NULL);
        is.state          = "resolved";
        is.version        = 2;
        is.updated_at_ms  = T0 + 2 * HOUR;
        is.resolved_at_ms = T0 + 2 * HOUR + 123;
        RS_CHECK_INT(rs_alerting_feed(a, &is, T0 + 2 * HOUR), 0);
        TICK(a, T0 + 2 * HOUR + 10 * SEC, 2);
        for (k = 0; k < NN; k++) {
                n = rs_alerting_notice_json(&N[k], buf, sizeof(buf));
                RS_CHECK_MSG(json_ok(buf, n), "%s", buf);
                RS_CHECK(strstr(buf, "\"event_action\":\"resolve\"") != NULL);
                RS_CHECK(strstr(buf, "\"status\":\"resolved\",\"kind\":"
                                     "\"resolved\"") != NULL);
                RS_CHECK(strstr(buf, "\"resolved_at\":1767232800123,") != NULL);
        }
        rs_alerting_destroy(a);
}

/* Many issues: bounded summary, JSON of a big notice, maps rebuilt after
 * forgetting (every issue resolves and goes). */
static void test_many(void) {
        rs_alerting_t *a = engine(ROUTES, RS_ALERTING_GROUP_BY_ROUTE);
        char           id[32], route[32], *buf;
        size_t         n, k, lines = 1;
        int            i;

        for (i = 0; i < 500; i++) {
                snprintf(id, sizeof(id), "I%03d", i);
                snprintf(route, sizeof(route), "/r%d", i % 100);
                RS_CHECK_INT(
                    feed(a, id, i < 25 ? "/big" : route, "high", "open", 1, T0),
                    0);
        }
        STATS(a, 500, 101, 101);
        TICK(a, T0 + 30 * SEC, 101);
        EXPECT(0, "shop /big", "chat", FIRING, SENT,
               "I000 I001 I002 I003 I004 I005 I006 I007 I008 I009 I010 I011 "
               "I012 I013 I014 I015 I016 I017 I018 I019 I020 I021 I022 I023 "
               "I024");
        for (k = 0; N[0].summary[k]; k++)
                lines += N[0].summary[k] == '\n';
        RS_CHECK_INT(lines, RS_ALERTING_SUMMARY_ISSUES + 1);
        RS_CHECK(strstr(N[0].summary, "\n... and 5 more") != NULL);
        n   = rs_alerting_notice_json(&N[0], NULL, 0);
        buf = malloc(n + 1);
        RS_CHECK_INT(rs_alerting_notice_json(&N[0], buf, n + 1), n);
        RS_CHECK(json_ok(buf, n));
        free(buf);
        for (i = 0; i < 500; i++) {
                snprintf(id, sizeof(id), "I%03d", i);
                snprintf(route, sizeof(route), "/r%d", i % 100);
                RS_CHECK_INT(feed(a, id, i < 25 ? "/big" : route, "high",
                                  "resolved", 2, T0 + MIN),
                             0);
        }
        TICK(a, T0 + 5 * MIN + 30 * SEC, 101);
        TICK(a, T0 + 10 * MIN + 30 * SEC, 0);
        STATS(a, 0, 0, 0);
        /* The same ids again are new issues, in fresh groups. */
        RS_CHECK_INT(feed(a, "I000", "/big", "high", "open", 3, T0 + HOUR), 0);
        TICK(a, T0 + HOUR + 30 * SEC, 1);
        EXPECT(0, "shop /big", "chat", FIRING, SENT, "I000");
        rs_alerting_destroy(a);
}

int main(void) {
        test_routes();
        test_route_errors();
        test_names();
        test_routing_engine();
        test_grouping();
        test_repeat();
        test_resolved();
        test_cooldown();
        test_inhibition();
        test_severity_change();
        test_silences();
        test_muted_after_firing();
        test_idempotence();
        test_deterministic();
        test_caps();
        test_state();
        test_json();
        test_many();
        return RS_TEST_DONE();
}
