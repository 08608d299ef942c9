/*
 * Unit tests of the synthetic traffic generators: determinism, the shares and
 * ranges the integration tests and the benchmark rely on, the injected
 * regression; for errors, the mix of kinds, the PII, the burst and the new
 * group, and that every error event encodes and decodes; for synthetic
 * results, the tests, profiles and cadence, lab medians against field
 * medians, the regression (and field_only), failures and the codec.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/avro.h"
#include "rumstream/route.h"
#include "rumstream/traffic.h"
#include "rumstream/vitals.h"

#define ARRAY_CNT_T(a) (sizeof(a) / sizeof((a)[0]))

static int same_str(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return !strcmp(a, b);
}

/* Equal, treating two NANs (absent) as equal. */
static int same_num(double a, double b) {
        return (isnan(a) && isnan(b)) || a == b;
}

static int same_event(const rs_rum_event_t *a, const rs_rum_event_t *b) {
        size_t i;

        if (!same_str(a->event_id, b->event_id) ||
            !same_str(a->tenant_id, b->tenant_id) ||
            !same_str(a->session_id, b->session_id) ||
            !same_str(a->user_id, b->user_id) ||
            a->timestamp_ms != b->timestamp_ms || !same_str(a->url, b->url) ||
            !same_str(a->navigation_type, b->navigation_type) ||
            !same_str(a->device_type, b->device_type) ||
            !same_str(a->country, b->country) ||
            !same_str(a->connection_type, b->connection_type) ||
            !same_str(a->browser, b->browser) || a->consent != b->consent ||
            a->sample_rate != b->sample_rate || a->custom_cnt != b->custom_cnt)
                return 0;
        for (i = 0; i < RS_METRIC_CNT; i++)
                if (!same_num(a->metrics[i], b->metrics[i]))
                        return 0;
        for (i = 0; i < a->custom_cnt; i++)
                if (!same_str(a->custom[i].name, b->custom[i].name) ||
                    a->custom[i].value != b->custom[i].value)
                        return 0;
        return 1;
}

/* Copies the fields that are compared after the generator moved on. */
typedef struct snap_s {
        char   event_id[64];
        char   url[512];
        double lcp;
} snap_t;

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        if (n == 0)
                return NAN;
        qsort(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void test_conf(void) {
        rs_traffic_conf_t c;
        rs_traffic_t     *t;

        rs_traffic_conf_defaults(&c);
        RS_CHECK_INT(c.max_disorder_ms, 2000);
        RS_CHECK_REL(c.no_consent_ratio, 0.02, 1e-12);
        RS_CHECK(c.regression_tenant == NULL);

        c.tenants = 0;
        RS_CHECK(rs_traffic_new(&c) == NULL);
        rs_traffic_conf_defaults(&c);
        c.events_per_sec = 0;
        RS_CHECK(rs_traffic_new(&c) == NULL);
        rs_traffic_conf_defaults(&c);
        c.no_consent_ratio = 1.5;
        RS_CHECK(rs_traffic_new(&c) == NULL);
        rs_traffic_destroy(NULL);

        rs_traffic_conf_defaults(&c);
        c.tenants           = 7;
        c.routes_per_tenant = 20;
        t                   = rs_traffic_new(&c);
        RS_CHECK(t != NULL);
        if (!t)
                return;
        RS_CHECK_INT(rs_traffic_tenant_count(t), 7);
        RS_CHECK_STR(rs_traffic_tenant(t, 0), "acme-shop");
        RS_CHECK_STR(rs_traffic_tenant(t, 4), "hooli-search");
        RS_CHECK_STR(rs_traffic_tenant(t, 5), "tenant-06");
        RS_CHECK_STR(rs_traffic_tenant(t, 6), "tenant-07");
        RS_CHECK(rs_traffic_tenant(t, 7) == NULL);
        RS_CHECK(rs_traffic_tenant(t, -1) == NULL);
        RS_CHECK_INT(rs_traffic_route_count(t), 20);
        RS_CHECK_STR(rs_traffic_route(t, 0), "/");
        RS_CHECK_STR(rs_traffic_route(t, 1), "/products/:id");
        RS_CHECK_STR(rs_traffic_route(t, 5), "/checkout");
        RS_CHECK(rs_traffic_route(t, 19) != NULL);
        RS_CHECK(rs_traffic_route(t, 20) == NULL);
        RS_CHECK(rs_traffic_tenant_sample_rate(t, 0) == 1.0);
        RS_CHECK(rs_traffic_tenant_sample_rate(t, 1) == 0.5);
        RS_CHECK(rs_traffic_tenant_sample_rate(t, 3) == 0.25);
        rs_traffic_destroy(t);
}

static void test_determinism(void) {
        rs_traffic_conf_t c;
        rs_traffic_t     *a, *b, *d;
        rs_rum_event_t    ea, eb, ed;
        int       i, identical = 1, id_diff = 0, url_diff = 0, lcp_diff = 0;
        const int n = 5000;

        rs_traffic_conf_defaults(&c);
        c.seed = 42;
        a      = rs_traffic_new(&c);
        b      = rs_traffic_new(&c);
        c.seed = 43;
        d      = rs_traffic_new(&c);
        RS_CHECK(a && b && d);
        if (!a || !b || !d)
                goto out;

        for (i = 0; i < n; i++) {
                rs_traffic_next(a, &ea);
                rs_traffic_next(b, &eb);
                rs_traffic_next(d, &ed);
                if (identical && !same_event(&ea, &eb)) {
                        identical = 0;
                        fprintf(stderr, "events %d differ: %s vs %s\n", i,
                                ea.event_id, eb.event_id);
                }
                id_diff += strcmp(ea.event_id, ed.event_id) != 0;
                url_diff += strcmp(ea.url, ed.url) != 0;
                lcp_diff +=
                    ea.metrics[RS_METRIC_LCP] != ed.metrics[RS_METRIC_LCP];
        }
        RS_CHECK(identical);
        RS_CHECK_INT(rs_traffic_count(a), n);
        RS_CHECK_MSG(id_diff == n, "%d of %d ids differ", id_diff, n);
        RS_CHECK_MSG(url_diff > n * 9 / 10, "%d of %d urls differ", url_diff,
                     n);
        RS_CHECK_MSG(lcp_diff > n * 9 / 10, "%d of %d LCPs differ", lcp_diff,
                     n);
out:
        rs_traffic_destroy(a);
        rs_traffic_destroy(b);
        rs_traffic_destroy(d);
}

static int route_known(const rs_traffic_t *t, const char *route) {
        int i;

        for (i = 0; i < rs_traffic_route_count(t); i++)
                if (!strcmp(rs_traffic_route(t, i), route))
                        return 1;
        /* Slug and category pages keep their words. */
        return !strncmp(route, "/blog/", 6) || !strncmp(route, "/help/", 6) ||
               !strncmp(route, "/category/", 10);
}

static void test_distribution(void) {
        rs_traffic_conf_t c;
        rs_traffic_t     *t;
        rs_rum_event_t    ev;
        const int         n       = 20000;
        double           *lcp     = calloc(n, sizeof(double));
        double           *fcp     = calloc(n, sizeof(double));
        double           *ttfb    = calloc(n, sizeof(double));
        double           *inp     = calloc(n, sizeof(double));
        double           *cls     = calloc(n, sizeof(double));
        double           *lcp_mob = calloc(n, sizeof(double));
        double           *lcp_dsk = calloc(n, sizeof(double));
        size_t            n_inp = 0, n_mob = 0, n_dsk = 0;
        int mobile = 0, desktop = 0, tablet = 0, no_consent = 0, users = 0;
        int nav = 0, cls_zero = 0, implausible = 0, order = 0, ts_bad = 0;
        int nav_bad = 0, unknown_route = 0, unknown_tenant = 0, custom = 0;
        int routes_id = 0, routes_uuid = 0, routes_hex = 0, routes_token = 0;
        int conn_3g_desktop = 0, us = 0;
        int64_t lo, hi;
        int     i, m;

        rs_traffic_conf_defaults(&c);
        c.seed              = 7;
        c.tenants           = 6;
        c.routes_per_tenant = 17; /* the whole catalogue */
        c.events_per_sec    = 250;
        t                   = rs_traffic_new(&c);
        RS_CHECK(t && lcp && fcp && ttfb && inp && cls && lcp_mob && lcp_dsk);
        if (!t || !lcp || !fcp || !ttfb || !inp || !cls || !lcp_mob || !lcp_dsk)
                goto out;

        lo = c.start_ms - c.max_disorder_ms;
        hi = c.start_ms + (int64_t)((n - 1) * 1000.0 / c.events_per_sec);

        for (i = 0; i < n; i++) {
                char   route[RS_ROUTE_MAX];
                size_t k;
                int    j, known = 0;

                rs_traffic_next(t, &ev);

                if (ev.timestamp_ms < lo || ev.timestamp_ms > hi)
                        ts_bad++;

                mobile += !strcmp(ev.device_type, "mobile");
                desktop += !strcmp(ev.device_type, "desktop");
                tablet += !strcmp(ev.device_type, "tablet");
                no_consent += !ev.consent;
                users += ev.user_id != NULL;
                us += !strcmp(ev.country, "US");
                if (!strcmp(ev.device_type, "desktop") &&
                    !strcmp(ev.connection_type, "3g"))
                        conn_3g_desktop++;
                if (ev.user_id && strncmp(ev.user_id, "user-", 5))
                        users = -n; /* fails the check below */
                if (strlen(ev.session_id) != 32)
                        users = -n;
                for (j = 0; j < rs_traffic_tenant_count(t); j++)
                        known |= !strcmp(rs_traffic_tenant(t, j), ev.tenant_id);
                unknown_tenant += !known;
                if (ev.sample_rate != 1.0 && ev.sample_rate != 0.5 &&
                    ev.sample_rate != 0.25)
                        unknown_tenant++;

                rs_route_normalize(ev.url, strlen(ev.url), route);
                if (strncmp(ev.url, "https://", 8) || !route_known(t, route)) {
                        if (unknown_route++ < 5)
                                fprintf(stderr, "unexpected route %s <- %s\n",
                                        route, ev.url);
                }
                routes_id += !strcmp(route, "/products/:id");
                routes_uuid += !strcmp(route, "/api-docs/:uuid");
                routes_hex += !strcmp(route, "/invoices/:hex");
                routes_token += !strcmp(route, "/share/:token");

                for (m = 0; m < RS_METRIC_CNT; m++) {
                        double v = ev.metrics[m];

                        if (isnan(v))
                                continue;
                        if (!rs_metric_plausible(
                                v, rs_metric_default_max((rs_metric_t)m))) {
                                if (implausible++ < 5)
                                        fprintf(stderr, "%s = %g\n",
                                                rs_metric_name((rs_metric_t)m),
                                                v);
                        }
                }
                for (k = 0; k < ev.custom_cnt; k++) {
                        custom++;
                        if (!ev.custom[k].name ||
                            !rs_metric_plausible(ev.custom[k].value, 120000))
                                implausible++;
                }

                /* The vitals always exist, and in paint order. */
                if (isnan(ev.metrics[RS_METRIC_LCP]) ||
                    isnan(ev.metrics[RS_METRIC_FCP]) ||
                    isnan(ev.metrics[RS_METRIC_TTFB]) ||
                    isnan(ev.metrics[RS_METRIC_CLS]) ||
                    ev.metrics[RS_METRIC_TTFB] > ev.metrics[RS_METRIC_FCP] ||
                    ev.metrics[RS_METRIC_FCP] > ev.metrics[RS_METRIC_LCP])
                        order++;

                if (!isnan(ev.metrics[RS_METRIC_NAV_DNS])) {
                        /* connect includes tls (rum_event.avsc) */
                        double sum = ev.metrics[RS_METRIC_NAV_DNS] +
                                     ev.metrics[RS_METRIC_NAV_CONNECT] +
                                     ev.metrics[RS_METRIC_NAV_REQUEST];

                        nav++;
                        for (m = RS_METRIC_NAV_DNS; m < RS_METRIC_CNT; m++)
                                nav_bad += isnan(ev.metrics[m]);
                        /* dns + connect + request is TTFB, give or take
                         * rounding. */
                        nav_bad += fabs(sum - ev.metrics[RS_METRIC_TTFB]) > 0.5;
                        nav_bad += ev.metrics[RS_METRIC_NAV_TLS] >
                                   ev.metrics[RS_METRIC_NAV_CONNECT];
                }

                lcp[i]  = ev.metrics[RS_METRIC_LCP];
                fcp[i]  = ev.metrics[RS_METRIC_FCP];
                ttfb[i] = ev.metrics[RS_METRIC_TTFB];
                cls[i]  = ev.metrics[RS_METRIC_CLS];
                cls_zero += cls[i] == 0;
                if (!isnan(ev.metrics[RS_METRIC_INP]))
                        inp[n_inp++] = ev.metrics[RS_METRIC_INP];
                if (!strcmp(ev.device_type, "mobile"))
                        lcp_mob[n_mob++] = lcp[i];
                else if (!strcmp(ev.device_type, "desktop"))
                        lcp_dsk[n_dsk++] = lcp[i];
        }

        RS_CHECK_INT(ts_bad, 0);
        RS_CHECK_INT(implausible, 0);
        RS_CHECK_INT(order, 0);
        RS_CHECK_INT(nav_bad, 0);
        RS_CHECK_INT(unknown_route, 0);
        RS_CHECK_INT(unknown_tenant, 0);
        RS_CHECK_MSG(mobile > n * 50 / 100 && mobile < n * 66 / 100,
                     "mobile %d of %d", mobile, n);
        RS_CHECK_MSG(desktop > n * 30 / 100 && desktop < n * 44 / 100,
                     "desktop %d of %d", desktop, n);
        RS_CHECK_MSG(tablet > n * 2 / 100 && tablet < n * 9 / 100,
                     "tablet %d of %d", tablet, n);
        RS_CHECK_MSG(no_consent > n * 5 / 1000 && no_consent < n * 5 / 100,
                     "no consent %d of %d", no_consent, n);
        RS_CHECK_MSG(users > n * 20 / 100 && users < n * 40 / 100,
                     "user ids %d of %d", users, n);
        RS_CHECK_MSG(us > n * 20 / 100 && us < n * 36 / 100, "US %d of %d", us,
                     n);
        RS_CHECK_MSG(conn_3g_desktop < desktop / 20, "desktop on 3g %d of %d",
                     conn_3g_desktop, desktop);
        RS_CHECK_MSG(n_inp > (size_t)n * 50 / 100 &&
                         n_inp < (size_t)n * 70 / 100,
                     "INP %zu of %d", n_inp, n);
        RS_CHECK_MSG(nav > n * 72 / 100 && nav < n * 88 / 100,
                     "navigation timing %d of %d", nav, n);
        RS_CHECK_MSG(cls_zero > n * 35 / 100 && cls_zero < n * 55 / 100,
                     "CLS 0 %d of %d", cls_zero, n);
        RS_CHECK(custom > n / 20);
        RS_CHECK(routes_id > 0 && routes_uuid > 0 && routes_hex > 0 &&
                 routes_token > 0);

        {
                double m_lcp = median(lcp, n), m_fcp = median(fcp, n);
                double m_ttfb = median(ttfb, n), m_inp = median(inp, n_inp);
                double m_mob = median(lcp_mob, n_mob);
                double m_dsk = median(lcp_dsk, n_dsk);
                double cls_p75, cls_max;

                qsort(cls, n, sizeof(*cls), cmp_double);
                cls_p75 = cls[n * 3 / 4];
                cls_max = cls[n - 1];
                printf("medians: LCP %.0f FCP %.0f TTFB %.0f INP %.0f; "
                       "LCP mobile %.0f desktop %.0f; CLS p75 %.3f max "
                       "%.3f\n",
                       m_lcp, m_fcp, m_ttfb, m_inp, m_mob, m_dsk, cls_p75,
                       cls_max);
                RS_CHECK_MSG(m_lcp >= 1800 && m_lcp <= 3500, "LCP %g", m_lcp);
                RS_CHECK_MSG(m_fcp >= 1200 && m_fcp <= 2200, "FCP %g", m_fcp);
                RS_CHECK_MSG(m_ttfb >= 300 && m_ttfb <= 900, "TTFB %g", m_ttfb);
                RS_CHECK_MSG(m_inp >= 100 && m_inp <= 300, "INP %g", m_inp);
                RS_CHECK_MSG(m_mob > m_dsk * 1.2, "mobile %g desktop %g", m_mob,
                             m_dsk);
                RS_CHECK_MSG(cls_p75 > 0 && cls_p75 < 0.25, "CLS p75 %g",
                             cls_p75);
                RS_CHECK_MSG(cls_max > 0.3 && cls_max <= 1.0, "CLS max %g",
                             cls_max);
        }

out:
        rs_traffic_destroy(t);
        free(lcp);
        free(fcp);
        free(ttfb);
        free(inp);
        free(cls);
        free(lcp_mob);
        free(lcp_dsk);
}

static void test_regression(void) {
        rs_traffic_conf_t c;
        rs_traffic_t     *t = NULL, *plain = NULL;
        rs_rum_event_t    ev, ep;
        const int         n      = 60000;
        double           *before = calloc(n, sizeof(double));
        double           *after  = calloc(n, sizeof(double));
        double           *home_b = calloc(n, sizeof(double));
        double           *home_a = calloc(n, sizeof(double));
        size_t            nb = 0, na = 0, nhb = 0, nha = 0;
        int flagged_early = 0, flagged_other = 0, differ_unflagged = 0;
        int flagged = 0, i;

        rs_traffic_conf_defaults(&c);
        c.seed               = 11;
        c.events_per_sec     = 50; /* 60000 events: 20 minutes */
        plain                = rs_traffic_new(&c);
        c.regression_tenant  = "acme-shop";
        c.regression_route   = "/checkout";
        c.regression_from_ms = c.start_ms + 10 * 60 * 1000;
        c.regression_factor  = 1.8;
        t                    = rs_traffic_new(&c);
        RS_CHECK(t && plain && before && after && home_b && home_a);
        if (!t || !plain || !before || !after || !home_b || !home_a)
                goto out;

        for (i = 0; i < n; i++) {
                char route[RS_ROUTE_MAX];
                int  reg;

                rs_traffic_next(t, &ev);
                reg = rs_traffic_last_regressed(t);
                rs_traffic_next(plain, &ep);
                /* The regression changes values, never the random stream:
                 * everything else stays as without it. */
                if (!reg && !same_event(&ev, &ep))
                        differ_unflagged++;
                flagged += reg;
                if (strcmp(ev.tenant_id, "acme-shop"))
                        continue;
                rs_route_normalize(ev.url, strlen(ev.url), route);
                if (reg && ev.timestamp_ms < c.regression_from_ms)
                        flagged_early++;
                if (reg && strcmp(route, "/checkout"))
                        flagged_other++;
                /* Leave out the band where disorder mixes both sides. */
                if (llabs(ev.timestamp_ms - c.regression_from_ms) <
                    c.max_disorder_ms)
                        continue;
                if (!strcmp(route, "/checkout")) {
                        if (ev.timestamp_ms < c.regression_from_ms)
                                before[nb++] = ev.metrics[RS_METRIC_LCP];
                        else
                                after[na++] = ev.metrics[RS_METRIC_LCP];
                } else if (!strcmp(route, "/")) {
                        if (ev.timestamp_ms < c.regression_from_ms)
                                home_b[nhb++] = ev.metrics[RS_METRIC_LCP];
                        else
                                home_a[nha++] = ev.metrics[RS_METRIC_LCP];
                }
        }

        RS_CHECK_INT(flagged_early, 0);
        RS_CHECK_INT(flagged_other, 0);
        RS_CHECK_INT(differ_unflagged, 0);
        RS_CHECK_MSG(nb > 200 && na > 200,
                     "checkout views %zu before, %zu "
                     "after",
                     nb, na);
        RS_CHECK((size_t)flagged >= na);
        {
                double mb = median(before, nb), ma = median(after, na);
                double hb = median(home_b, nhb), ha = median(home_a, nha);

                printf("checkout LCP median %.0f -> %.0f (x%.2f, %zu/%zu "
                       "views); home %.0f -> %.0f\n",
                       mb, ma, ma / mb, nb, na, hb, ha);
                RS_CHECK_MSG(ma / mb > 1.5 && ma / mb < 2.2, "ratio %g",
                             ma / mb);
                RS_CHECK_MSG(ha / hb > 0.85 && ha / hb < 1.15, "home ratio %g",
                             ha / hb);
        }

out:
        rs_traffic_destroy(t);
        rs_traffic_destroy(plain);
        free(before);
        free(after);
        free(home_b);
        free(home_a);
}

/*
 * A regression with an end: the factor applies in [from, to) only. Before
 * and after the interval the sequence is the one without a regression;
 * inside it the route's values are the plain ones times the factor.
 */
static void test_regression_end(void) {
        rs_traffic_conf_t c;
        rs_traffic_t     *t = NULL, *plain = NULL;
        rs_rum_event_t    ev, ep;
        const int         n       = 60000;
        int               outside = 0, inside = 0, before = 0, after = 0;
        int               bad_flag = 0, differ_outside = 0, bad_ratio = 0;
        int               i;

        rs_traffic_conf_defaults(&c);
        RS_CHECK_INT(c.regression_to_ms, 0);
        c.seed               = 11;
        c.events_per_sec     = 50; /* 60000 events: 20 minutes */
        plain                = rs_traffic_new(&c);
        c.regression_tenant  = "acme-shop";
        c.regression_route   = "/checkout";
        c.regression_from_ms = c.start_ms + 5 * 60 * 1000;
        c.regression_factor  = 2.0;
        /* An end that is not after the start is a mistake. */
        c.regression_to_ms = c.regression_from_ms;
        RS_CHECK(rs_traffic_new(&c) == NULL);
        c.regression_to_ms = c.regression_from_ms - 1;
        RS_CHECK(rs_traffic_new(&c) == NULL);
        c.regression_to_ms = c.start_ms + 12 * 60 * 1000;
        t                  = rs_traffic_new(&c);
        RS_CHECK(t && plain);
        if (!t || !plain)
                goto out;

        for (i = 0; i < n; i++) {
                char route[RS_ROUTE_MAX];
                int  reg, want, in;

                rs_traffic_next(t, &ev);
                reg = rs_traffic_last_regressed(t);
                rs_traffic_next(plain, &ep);
                in = ev.timestamp_ms >= c.regression_from_ms &&
                     ev.timestamp_ms < c.regression_to_ms;
                rs_route_normalize(ev.url, strlen(ev.url), route);
                want = in && !strcmp(ev.tenant_id, "acme-shop") &&
                       !strcmp(route, "/checkout");
                if (reg != want)
                        bad_flag++;
                if (!in) {
                        outside++;
                        differ_outside += !same_event(&ev, &ep);
                }
                if (!want) {
                        if (strcmp(ev.tenant_id, "acme-shop") ||
                            strcmp(route, "/checkout"))
                                continue;
                        if (ev.timestamp_ms < c.regression_from_ms)
                                before++;
                        else if (ev.timestamp_ms >= c.regression_to_ms)
                                after++;
                        continue;
                }
                inside++;
                /* Same draws, times the factor (up to rounding and the
                 * caps, far from these values). */
                if (fabs(ev.metrics[RS_METRIC_TTFB] /
                             ep.metrics[RS_METRIC_TTFB] -
                         2.0) > 0.01 ||
                    fabs(ev.metrics[RS_METRIC_LCP] / ep.metrics[RS_METRIC_LCP] -
                         2.0) > 0.01 ||
                    !same_num(ev.metrics[RS_METRIC_CLS],
                              ep.metrics[RS_METRIC_CLS]))
                        bad_ratio++;
        }
        printf("regression end: %d checkout views before, %d inside, %d "
               "after; %d events outside\n",
               before, inside, after, outside);
        RS_CHECK_MSG(before > 100 && inside > 100 && after > 100,
                     "before %d inside %d after %d", before, inside, after);
        RS_CHECK_INT(bad_flag, 0);
        RS_CHECK_INT(differ_outside, 0);
        RS_CHECK_INT(bad_ratio, 0);

out:
        rs_traffic_destroy(t);
        rs_traffic_destroy(plain);
}

/*
 * Error traffic.
 */
static int same_error_event(const rs_error_event_t *a,
                            const rs_error_event_t *b) {
        size_t i;

        if (!same_str(a->event_id, b->event_id) ||
            !same_str(a->tenant_id, b->tenant_id) ||
            !same_str(a->session_id, b->session_id) ||
            !same_str(a->user_id, b->user_id) ||
            a->timestamp_ms != b->timestamp_ms || !same_str(a->kind, b->kind) ||
            !same_str(a->error_type, b->error_type) ||
            !same_str(a->message, b->message) ||
            !same_str(a->stack, b->stack) || !same_str(a->file, b->file) ||
            a->line != b->line || a->column != b->column ||
            a->http_status != b->http_status ||
            !same_str(a->http_method, b->http_method) ||
            !same_str(a->request_url, b->request_url) ||
            !same_num(a->duration_ms, b->duration_ms) ||
            !same_str(a->url, b->url) || !same_str(a->route, b->route) ||
            !same_str(a->browser, b->browser) ||
            !same_str(a->device_type, b->device_type) ||
            !same_str(a->release, b->release) || a->consent != b->consent ||
            a->sample_rate != b->sample_rate ||
            a->breadcrumb_cnt != b->breadcrumb_cnt)
                return 0;
        for (i = 0; i < a->breadcrumb_cnt; i++)
                if (a->breadcrumbs[i].timestamp_ms !=
                        b->breadcrumbs[i].timestamp_ms ||
                    !same_str(a->breadcrumbs[i].category,
                              b->breadcrumbs[i].category) ||
                    !same_str(a->breadcrumbs[i].message,
                              b->breadcrumbs[i].message))
                        return 0;
        return 1;
}

static int luhn_ok(const char *digits) {
        int    sum = 0, dbl = 0;
        size_t i = strlen(digits);

        while (i-- > 0) {
                int d = digits[i] - '0';

                if (d < 0 || d > 9)
                        return 0;
                if (dbl && (d *= 2) > 9)
                        d -= 9;
                sum += d;
                dbl = !dbl;
        }
        return sum % 10 == 0;
}

static int contains(const char *hay, const char *needle) {
        return hay && strstr(hay, needle) != NULL;
}

/* Where PII string \p pii occurs in \p ev: a bit per place (1 message,
 * 2 url, 4 request url, 8 breadcrumb, 16 elsewhere), 0 if nowhere. */
static int pii_places(const rs_error_event_t *ev, const char *pii) {
        int    at = 0;
        size_t i;

        at |= contains(ev->message, pii) ? 1 : 0;
        at |= contains(ev->url, pii) ? 2 : 0;
        at |= contains(ev->request_url, pii) ? 4 : 0;
        for (i = 0; i < ev->breadcrumb_cnt; i++)
                at |= contains(ev->breadcrumbs[i].message, pii) ? 8 : 0;
        if (contains(ev->file, pii) || contains(ev->route, pii) ||
            contains(ev->user_id, pii) || contains(ev->session_id, pii) ||
            contains(ev->error_type, pii) || contains(ev->release, pii) ||
            (contains(ev->stack, pii) && !contains(ev->message, pii)))
                at |= 16;
        return at;
}

static void test_error_conf(void) {
        rs_error_traffic_conf_t c;
        rs_error_traffic_t     *t;
        rs_traffic_conf_t       pc;
        rs_traffic_t           *pv;
        char                    errstr[256];
        const char *const      *pii;
        size_t                  pii_cnt, i;
        int                     k, j, bad_cat = 0;

        rs_error_traffic_conf_defaults(&c);
        RS_CHECK_REL(c.pii_ratio, 0.2, 1e-12);
        RS_CHECK_REL(c.errors_per_sec, 10, 1e-12);
        RS_CHECK_INT(c.tenants, 5);
        RS_CHECK(c.burst_tenant == NULL && c.new_group_tenant == NULL);

#define REFUSED(field, value)                                                  \
        do {                                                                   \
                rs_error_traffic_conf_defaults(&c);                            \
                c.field   = value;                                             \
                errstr[0] = '\0';                                              \
                t         = rs_error_traffic_new(&c, errstr, sizeof(errstr));  \
                RS_CHECK_MSG(t == NULL && errstr[0], "%s accepted", #field);   \
                rs_error_traffic_destroy(t);                                   \
        } while (0)
        REFUSED(tenants, 0);
        REFUSED(errors_per_sec, 0);
        REFUSED(pii_ratio, 1.5);
        REFUSED(burst_tenant, "acme-shop"); /* no route */
        REFUSED(new_group_tenant, "no-such-tenant");
#undef REFUSED
        rs_error_traffic_conf_defaults(&c);
        c.burst_tenant  = "acme-shop";
        c.burst_from_ms = 0;
        c.burst_to_ms   = 1;
        c.burst_factor  = 5;
        {
                /* Only routes whose URLs normalize to the route itself. */
                static const char *const bad[] = {"/blog/:slug", "/nowhere",
                                                  "/category/:name"};
                for (i = 0; i < ARRAY_CNT_T(bad); i++) {
                        c.burst_route = bad[i];
                        t = rs_error_traffic_new(&c, errstr, sizeof(errstr));
                        RS_CHECK_MSG(t == NULL, "burst on %s", bad[i]);
                        rs_error_traffic_destroy(t);
                }
                c.burst_route  = "/checkout";
                c.burst_factor = 0.5;
                t = rs_error_traffic_new(&c, errstr, sizeof(errstr));
                RS_CHECK(t == NULL);
                c.burst_factor = 5;
                c.burst_tenant = "globex";
                t = rs_error_traffic_new(&c, errstr, sizeof(errstr));
                RS_CHECK(t == NULL);
                RS_CHECK(strstr(errstr, "unknown tenant") != NULL);
        }
        rs_error_traffic_destroy(NULL);

        /* The page views' tenants and routes. */
        rs_error_traffic_conf_defaults(&c);
        rs_traffic_conf_defaults(&pc);
        c.seed = pc.seed = 3;
        c.tenants = pc.tenants = 8;
        c.routes_per_tenant = pc.routes_per_tenant = 20;
        t  = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        pv = rs_traffic_new(&pc);
        RS_CHECK_MSG(t && pv, "%s", errstr);
        if (t && pv) {
                RS_CHECK_INT(rs_error_traffic_tenant_count(t),
                             rs_traffic_tenant_count(pv));
                for (k = 0; k < rs_traffic_tenant_count(pv); k++) {
                        RS_CHECK_STR(rs_error_traffic_tenant(t, k),
                                     rs_traffic_tenant(pv, k));
                        RS_CHECK(rs_error_traffic_tenant_sample_rate(t, k) ==
                                 rs_traffic_tenant_sample_rate(pv, k));
                }
                RS_CHECK(rs_error_traffic_tenant(t, 8) == NULL);
                RS_CHECK_INT(rs_error_traffic_route_count(t),
                             rs_traffic_route_count(pv));
                for (k = 0; k < rs_traffic_route_count(pv); k++)
                        RS_CHECK_STR(rs_error_traffic_route(t, k),
                                     rs_traffic_route(pv, k));
                RS_CHECK(rs_error_traffic_route(t, 20) == NULL);

                /* Catalogues: 10-20 distinct bugs, never the new one. */
                for (k = 0; k < rs_error_traffic_tenant_count(t); k++) {
                        int cnt = rs_error_traffic_bug_count(t, k);

                        bad_cat += cnt < 10 || cnt > 20;
                        for (j = 0; j < cnt; j++) {
                                int m;

                                bad_cat +=
                                    !strcmp(rs_error_traffic_bug(t, k, j),
                                            "promo-banner-null");
                                for (m = 0; m < j; m++)
                                        bad_cat += !strcmp(
                                            rs_error_traffic_bug(t, k, j),
                                            rs_error_traffic_bug(t, k, m));
                        }
                        bad_cat += rs_error_traffic_bug(t, k, cnt) != NULL;
                }
                RS_CHECK_INT(bad_cat, 0);
                RS_CHECK_INT(rs_error_traffic_bug_count(t, 8), 0);
        }
        rs_error_traffic_destroy(t);
        rs_traffic_destroy(pv);

        pii_cnt = rs_error_traffic_pii_strings(&pii);
        RS_CHECK(pii_cnt >= 20);
        for (i = 0; i < pii_cnt; i++)
                RS_CHECK_MSG(strlen(pii[i]) >= 8, "%s", pii[i]);
        RS_CHECK(luhn_ok("4111111111111111") && !luhn_ok("4111111111111112"));
}

static void test_error_determinism(void) {
        rs_error_traffic_conf_t c;
        rs_error_traffic_t     *a, *b, *d;
        rs_error_event_t        ea, eb, ed;
        char                    errstr[256];
        int                     i, identical = 1, id_diff = 0, msg_diff = 0;
        const int               n = 5000;

        rs_error_traffic_conf_defaults(&c);
        c.seed              = 42;
        c.burst_tenant      = "acme-shop";
        c.burst_route       = "/cart";
        c.burst_from_ms     = c.start_ms + 60 * 1000;
        c.burst_to_ms       = c.start_ms + 120 * 1000;
        c.burst_factor      = 10;
        c.new_group_tenant  = "initech-app";
        c.new_group_from_ms = c.start_ms + 30 * 1000;
        a                   = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        b                   = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        c.seed              = 43;
        d                   = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(a && b && d, "%s", errstr);
        if (!a || !b || !d)
                goto out;

        for (i = 0; i < n; i++) {
                rs_error_traffic_next(a, &ea);
                rs_error_traffic_next(b, &eb);
                rs_error_traffic_next(d, &ed);
                if (identical && (!same_error_event(&ea, &eb) ||
                                  rs_error_traffic_last_has_pii(a) !=
                                      rs_error_traffic_last_has_pii(b) ||
                                  strcmp(rs_error_traffic_last_bug(a),
                                         rs_error_traffic_last_bug(b)))) {
                        identical = 0;
                        fprintf(stderr, "error events %d differ: %s vs %s\n", i,
                                ea.event_id, eb.event_id);
                }
                id_diff += strcmp(ea.event_id, ed.event_id) != 0;
                msg_diff += strcmp(ea.url, ed.url) != 0;
        }
        RS_CHECK(identical);
        RS_CHECK_INT(rs_error_traffic_count(a), n);
        RS_CHECK_INT(id_diff, n);
        RS_CHECK_MSG(msg_diff > n * 9 / 10, "%d of %d urls differ", msg_diff,
                     n);
out:
        rs_error_traffic_destroy(a);
        rs_error_traffic_destroy(b);
        rs_error_traffic_destroy(d);
}

/* Bundle file seen per (tenant, bug, release). */
typedef struct bundle_seen_s {
        char tenant[32], bug[32], release[24], file[256];
} bundle_seen_t;

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_error_mix(void) {
        static const char *const kinds[] = {
            "js_error",   "unhandled_rejection", "network_error",
            "http_error", "slow_request",        "resource_error"};
        enum { N = 20000, BUNDLES_MAX = 4000 };
        rs_error_traffic_conf_t c;
        rs_traffic_conf_t       pc;
        rs_error_traffic_t     *t   = NULL;
        rs_traffic_t           *pv  = NULL;
        rs_avro_registry_t     *reg = NULL;
        rs_avro_encoder_t      *enc = NULL;
        rs_avro_decoder_t      *dec = NULL;
        rs_error_event_t        ev, back;
        rs_rum_event_t          pev;
        bundle_seen_t          *bundles = calloc(BUNDLES_MAX, sizeof(*bundles));
        char                  **sessions = calloc(N, sizeof(char *));
        char                    hosts[8][64], errstr[512];
        const char *const      *pii;
        const char             *top_bug = NULL, *top_tenant = NULL;
        size_t                  pii_cnt, i, n_bundles = 0, n_sess = 0, distinct;
        int     kind_seen[6] = {0}, *pii_seen = NULL, places = 0, k, j;
        int     flagged = 0, pii_mismatch = 0, elsewhere = 0, codec_bad = 0;
        int     route_bad = 0, host_bad = 0, stack_bad = 0, req_bad = 0;
        int     crumb_bad = 0, ts_bad = 0, rate_bad = 0, release_clash = 0;
        int     releases_differ = 0, with_release = 0, consent = 0, users = 0;
        int     msg_pii_no_stack = 0, v8 = 0, gecko = 0, routes_given = 0;
        int64_t lo, hi;

        rs_error_traffic_conf_defaults(&c);
        rs_traffic_conf_defaults(&pc);
        c.seed = pc.seed = 5;
        c.tenants = pc.tenants = 6;
        c.routes_per_tenant = pc.routes_per_tenant = 17;
        t        = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        pv       = rs_traffic_new(&pc);
        pii_cnt  = rs_error_traffic_pii_strings(&pii);
        pii_seen = calloc(pii_cnt, sizeof(int));
        reg      = rs_avro_registry_new(errstr, sizeof(errstr));
        if (reg) {
                enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_ERROR_EVENT, errstr,
                                          sizeof(errstr));
                dec = rs_avro_decoder_new(reg, RS_SCHEMA_ID_ERROR_EVENT, errstr,
                                          sizeof(errstr));
        }
        RS_CHECK_MSG(t && pv && enc && dec && bundles && sessions && pii_seen,
                     "%s", errstr);
        if (!t || !pv || !enc || !dec || !bundles || !sessions || !pii_seen)
                goto out;

        /* The page views' host of every tenant. */
        memset(hosts, 0, sizeof(hosts));
        for (i = 0; i < 5000; i++) {
                rs_traffic_next(pv, &pev);
                for (k = 0; k < c.tenants; k++)
                        if (!strcmp(pev.tenant_id, rs_traffic_tenant(pv, k)))
                                sscanf(pev.url, "https://%63[^/]", hosts[k]);
        }
        /* The most frequent bug of the busiest tenant. */
        top_tenant = rs_error_traffic_tenant(t, 0);
        top_bug    = rs_error_traffic_bug(t, 0, 0);

        lo = c.start_ms - c.max_disorder_ms;
        hi = c.start_ms + (int64_t)((N - 1) * 1000.0 / c.errors_per_sec);
        for (i = 0; i < N; i++) {
                avro_value_t *out;
                const void   *buf;
                size_t        len, b;
                char          route[RS_ROUTE_MAX];
                int           has = 0, tn = -1, at;

                rs_error_traffic_next(t, &ev);

                for (k = 0; k < 6; k++)
                        kind_seen[k] += !strcmp(ev.kind, kinds[k]);
                for (k = 0; k < c.tenants; k++)
                        if (!strcmp(ev.tenant_id,
                                    rs_error_traffic_tenant(t, k)))
                                tn = k;
                if (tn < 0 || ev.sample_rate !=
                                  rs_error_traffic_tenant_sample_rate(t, tn))
                        rate_bad++;
                if (ev.timestamp_ms < lo || ev.timestamp_ms > hi)
                        ts_bad++;
                consent += ev.consent;
                users += ev.user_id != NULL;

                /* PII: exactly in the flagged events. */
                for (b = 0; b < pii_cnt; b++) {
                        if (!(at = pii_places(&ev, pii[b])))
                                continue;
                        has = 1;
                        pii_seen[b]++;
                        places |= at;
                        elsewhere += (at & 16) != 0;
                        if ((at & 1) && !ev.stack)
                                msg_pii_no_stack++;
                }
                flagged += rs_error_traffic_last_has_pii(t);
                if (has != rs_error_traffic_last_has_pii(t) &&
                    pii_mismatch++ < 3)
                        fprintf(stderr, "PII %d, flagged %d: %s %s\n", has,
                                rs_error_traffic_last_has_pii(t), ev.message,
                                ev.url);

                /* Same hosts and routes as the page views. */
                rs_route_normalize(ev.url, strlen(ev.url), route);
                if (tn >= 0 &&
                    (strncmp(ev.url, "https://", 8) ||
                     strncmp(ev.url + 8, hosts[tn], strlen(hosts[tn])) ||
                     !hosts[tn][0]))
                        host_bad++;
                if (!route_known(pv, route) ||
                    (ev.route && strcmp(ev.route, route)))
                        route_bad++;
                routes_given += ev.route != NULL;

                /* Stacks in the browser's format, file/line/column from
                 * the top frame. */
                if (ev.stack) {
                        int is_v8 = strcmp(ev.browser, "firefox") &&
                                    strcmp(ev.browser, "safari");
                        char head[128];

                        snprintf(head, sizeof(head), "%s: ", ev.error_type);
                        v8 += is_v8;
                        gecko += !is_v8;
                        if (!ev.file || ev.line < 1 || ev.column < 1 ||
                            !strstr(ev.stack, ev.file) ||
                            (is_v8 && (strncmp(ev.stack, head, strlen(head)) ||
                                       !strstr(ev.stack, "\n    at "))) ||
                            (!is_v8 && (strstr(ev.stack, "    at ") ||
                                        !strstr(ev.stack, "@https://"))))
                                stack_bad++;
                } else if (ev.file || (ev.line != -1 &&
                                       strcmp(rs_error_traffic_last_bug(t),
                                              "script-error"))) {
                        stack_bad++;
                }

                /* Requests: status class, method, URL, duration. */
                if (!strcmp(ev.kind, "http_error") ||
                    !strcmp(ev.kind, "slow_request")) {
                        char cls[8];

                        snprintf(cls, sizeof(cls), "%dxx",
                                 ev.http_status / 100 % 10);
                        if (ev.http_status < 200 ||
                            strcmp(cls, ev.error_type) || !ev.http_method ||
                            !ev.request_url || isnan(ev.duration_ms) ||
                            (!strcmp(ev.kind, "slow_request") &&
                             ev.duration_ms < 3000) ||
                            (!strcmp(ev.kind, "http_error") &&
                             ev.http_status < 400))
                                req_bad++;
                } else if (!strcmp(ev.kind, "network_error")) {
                        if (ev.http_status != -1 || !ev.request_url ||
                            !ev.http_method)
                                req_bad++;
                } else if (ev.http_status != -1 || !isnan(ev.duration_ms)) {
                        req_bad++;
                }

                for (b = 0; b < ev.breadcrumb_cnt; b++)
                        if (ev.breadcrumbs[b].timestamp_ms > ev.timestamp_ms ||
                            (b > 0 && ev.breadcrumbs[b].timestamp_ms <
                                          ev.breadcrumbs[b - 1].timestamp_ms))
                                crumb_bad++;

                /* Bundles: one file per (tenant, bug, release), another
                 * one in another release. */
                with_release += ev.release != NULL;
                if (ev.stack && ev.release) {
                        for (b = 0; b < n_bundles; b++) {
                                bundle_seen_t *bs = &bundles[b];

                                if (strcmp(bs->tenant, ev.tenant_id) ||
                                    strcmp(bs->bug,
                                           rs_error_traffic_last_bug(t)))
                                        continue;
                                if (!strcmp(bs->release, ev.release)) {
                                        release_clash +=
                                            strcmp(bs->file, ev.file) != 0;
                                        break;
                                }
                                releases_differ +=
                                    !strcmp(bs->file, ev.file) ? -1000 : 1;
                        }
                        if (b == n_bundles && n_bundles < BUNDLES_MAX) {
                                bundle_seen_t *bs = &bundles[n_bundles++];

                                snprintf(bs->tenant, sizeof(bs->tenant), "%s",
                                         ev.tenant_id);
                                snprintf(bs->bug, sizeof(bs->bug), "%s",
                                         rs_error_traffic_last_bug(t));
                                snprintf(bs->release, sizeof(bs->release), "%s",
                                         ev.release);
                                snprintf(bs->file, sizeof(bs->file), "%s",
                                         ev.file);
                        }
                }

                if (!strcmp(ev.tenant_id, top_tenant) &&
                    !strcmp(rs_error_traffic_last_bug(t), top_bug))
                        sessions[n_sess++] = strdup(ev.session_id);

                /* Every event encodes and decodes unchanged. */
                if (rs_error_event_write(rs_avro_encoder_value(enc), &ev) ||
                    rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                           sizeof(errstr)) ||
                    rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                           sizeof(errstr)) ||
                    rs_error_event_read(out, &back, errstr, sizeof(errstr)) ||
                    !same_error_event(&back, &ev)) {
                        if (codec_bad++ < 3)
                                fprintf(stderr, "event %zu: codec: %s\n", i,
                                        errstr);
                }
        }

        for (k = 0; k < 6; k++)
                RS_CHECK_MSG(kind_seen[k] > 0, "no %s", kinds[k]);
        printf("kinds: js %d rejection %d network %d http %d slow %d "
               "resource %d\n",
               kind_seen[0], kind_seen[1], kind_seen[2], kind_seen[3],
               kind_seen[4], kind_seen[5]);
        RS_CHECK_INT(codec_bad, 0);
        RS_CHECK_INT(rate_bad, 0);
        RS_CHECK_INT(ts_bad, 0);
        RS_CHECK_INT(host_bad, 0);
        RS_CHECK_INT(route_bad, 0);
        RS_CHECK_INT(stack_bad, 0);
        RS_CHECK_INT(req_bad, 0);
        RS_CHECK_INT(crumb_bad, 0);
        RS_CHECK_INT(pii_mismatch, 0);
        RS_CHECK_INT(elsewhere, 0);
        RS_CHECK_MSG(flagged > N * 18 / 100 && flagged < N * 22 / 100,
                     "PII in %d of %d", flagged, N);
        for (i = 0; i < pii_cnt; i++)
                RS_CHECK_MSG(pii_seen[i] > 0, "PII string %s never seen",
                             pii[i]);
        RS_CHECK_INT(places, 1 | 2 | 4 | 8);
        RS_CHECK(msg_pii_no_stack > 0);
        /* The card numbers are real-looking: they pass the Luhn check. */
        for (i = 0; i < pii_cnt; i++) {
                size_t d = strspn(pii[i], "0123456789");

                if (d == strlen(pii[i]) && d >= 13)
                        RS_CHECK_MSG(luhn_ok(pii[i]), "%s", pii[i]);
        }
        RS_CHECK(v8 > 0 && gecko > 0);
        RS_CHECK_INT(release_clash, 0);
        RS_CHECK_MSG(releases_differ > 0, "bundles across releases: %d",
                     releases_differ);
        RS_CHECK_MSG(with_release > N / 2 && with_release < N,
                     "release in %d of %d", with_release, N);
        RS_CHECK_MSG(consent > N * 95 / 100, "consent %d of %d", consent, N);
        RS_CHECK_MSG(users > N * 20 / 100 && users < N * 40 / 100,
                     "user ids %d of %d", users, N);
        RS_CHECK_MSG(routes_given > N * 50 / 100 && routes_given < N * 70 / 100,
                     "route given in %d of %d", routes_given, N);

        /* A group hits many sessions. */
        qsort(sessions, n_sess, sizeof(*sessions), cmp_str);
        for (i = 0, distinct = 0; i < n_sess; i++)
                distinct += i == 0 || strcmp(sessions[i], sessions[i - 1]);
        printf("%s of %s: %zu errors in %zu sessions\n", top_bug, top_tenant,
               n_sess, distinct);
        RS_CHECK_MSG(n_sess > 500 && distinct > n_sess / 3,
                     "%zu errors, %zu sessions", n_sess, distinct);
        for (j = 0; j < (int)n_sess; j++)
                free(sessions[j]);

out:
        rs_error_traffic_destroy(t);
        rs_traffic_destroy(pv);
        rs_avro_encoder_destroy(enc);
        rs_avro_decoder_destroy(dec);
        rs_avro_registry_destroy(reg);
        free(bundles);
        free(sessions);
        free(pii_seen);
}

/* Counts the burst bug on the burst route of the burst tenant inside and
 * outside the window. */
struct burst_count {
        int in, out, extra, extra_bad;
};

static void test_error_burst(void) {
        rs_error_traffic_conf_t c;
        rs_error_traffic_t     *t = NULL, *ref = NULL;
        rs_error_event_t        ev, er;
        struct burst_count      got = {0}, plain = {0};
        char                    errstr[256], route[RS_ROUTE_MAX];
        const char             *bug;
        int64_t                 end;
        int                     differ = 0, bug_elsewhere = 0;

        rs_error_traffic_conf_defaults(&c);
        c.seed          = 9;
        c.burst_tenant  = "acme-shop";
        c.burst_route   = "/products/:id";
        c.burst_from_ms = c.start_ms + 5 * 60 * 1000;
        c.burst_to_ms   = c.start_ms + 10 * 60 * 1000;
        c.burst_factor  = 20;
        t               = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        c.burst_factor  = 1; /* the same run without the extra errors */
        ref             = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t && ref, "%s", errstr);
        if (!t || !ref)
                goto out;
        bug = rs_error_traffic_bug(t, 0, 0);
        end = c.start_ms + 15 * 60 * 1000;

        while (rs_error_traffic_clock_ms(t) < end) {
                int is_bug, in;

                rs_error_traffic_next(t, &ev);
                rs_route_normalize(ev.url, strlen(ev.url), route);
                is_bug = !strcmp(ev.tenant_id, "acme-shop") &&
                         !strcmp(rs_error_traffic_last_bug(t), bug);
                in = ev.timestamp_ms >= c.burst_from_ms &&
                     ev.timestamp_ms < c.burst_to_ms;
                /* The bug moved to the burst route, for the whole run. */
                bug_elsewhere += is_bug && strcmp(route, c.burst_route);
                if (is_bug) {
                        if (in)
                                got.in++;
                        else
                                got.out++;
                }
                if (rs_error_traffic_last_is_burst(t)) {
                        got.extra++;
                        got.extra_bad += !in || !is_bug;
                        continue;
                }
                /* Apart from the extra errors, the run without them. */
                rs_error_traffic_next(ref, &er);
                if (!same_error_event(&ev, &er) && differ++ < 3)
                        fprintf(stderr, "burst run differs: %s vs %s\n",
                                ev.event_id, er.event_id);
                if (rs_error_traffic_last_is_burst(ref))
                        differ++;
                if (!strcmp(er.tenant_id, "acme-shop") &&
                    !strcmp(rs_error_traffic_last_bug(ref), bug)) {
                        if (er.timestamp_ms >= c.burst_from_ms &&
                            er.timestamp_ms < c.burst_to_ms)
                                plain.in++;
                        else
                                plain.out++;
                }
        }
        printf("burst of %s: %d in the window (%d without the burst, %d "
               "extra), %d outside (%d)\n",
               bug, got.in, plain.in, got.extra, got.out, plain.out);
        RS_CHECK_INT(differ, 0);
        RS_CHECK_INT(bug_elsewhere, 0);
        RS_CHECK_INT(got.extra_bad, 0);
        RS_CHECK_INT(got.out, plain.out);
        RS_CHECK_INT(got.in, plain.in + got.extra);
        RS_CHECK_MSG(plain.in > 100, "%d", plain.in);
        /* Twice as long outside, at the normal rate. */
        RS_CHECK_MSG(plain.out > plain.in * 3 / 2 &&
                         plain.out < plain.in * 5 / 2,
                     "%d outside, %d inside", plain.out, plain.in);
        RS_CHECK_MSG(got.in > plain.in * 17 && got.in < plain.in * 23, "x%.2f",
                     (double)got.in / plain.in);

out:
        rs_error_traffic_destroy(t);
        rs_error_traffic_destroy(ref);
}

static void test_error_new_group(void) {
        rs_error_traffic_conf_t c;
        rs_error_traffic_t     *t = NULL, *ref = NULL;
        rs_error_event_t        ev, er;
        char                    errstr[256], route[RS_ROUTE_MAX];
        int per_minute[5] = {0}, early = 0, misplaced = 0, differ = 0;
        int flagged_wrong = 0, k, total;

        rs_error_traffic_conf_defaults(&c);
        c.seed              = 21;
        ref                 = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        c.new_group_tenant  = "initech-app";
        c.new_group_from_ms = c.start_ms + 5 * 60 * 1000;
        t                   = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t && ref, "%s", errstr);
        if (!t || !ref)
                goto out;

        while (rs_error_traffic_clock_ms(t) < c.start_ms + 10 * 60 * 1000) {
                int is_new;

                rs_error_traffic_next(t, &ev);
                is_new =
                    !strcmp(rs_error_traffic_last_bug(t), "promo-banner-null");
                flagged_wrong +=
                    is_new != rs_error_traffic_last_is_new_group(t);
                if (!is_new) {
                        rs_error_traffic_next(ref, &er);
                        if (!same_error_event(&ev, &er))
                                differ++;
                        continue;
                }
                rs_route_normalize(ev.url, strlen(ev.url), route);
                if (ev.timestamp_ms < c.new_group_from_ms)
                        early++;
                else if (ev.timestamp_ms < c.new_group_from_ms + 5 * 60 * 1000)
                        per_minute[(ev.timestamp_ms - c.new_group_from_ms) /
                                   60000]++;
                misplaced += strcmp(ev.tenant_id, "initech-app") ||
                             strcmp(route, "/") || !ev.stack;
        }
        printf("new group per minute: %d %d %d %d %d\n", per_minute[0],
               per_minute[1], per_minute[2], per_minute[3], per_minute[4]);
        RS_CHECK_INT(early, 0);
        RS_CHECK_INT(misplaced, 0);
        RS_CHECK_INT(differ, 0);
        RS_CHECK_INT(flagged_wrong, 0);
        /* About ten a minute (a tenth of initech-app's ~1.6/s): in
         * every minute, Poisson noise apart. */
        for (k = 0, total = 0; k < 5; k++) {
                RS_CHECK_MSG(per_minute[k] >= 1, "minute %d: %d", k,
                             per_minute[k]);
                total += per_minute[k];
        }
        RS_CHECK_MSG(total >= 25 && total <= 80, "%d in 5 minutes", total);

out:
        rs_error_traffic_destroy(t);
        rs_error_traffic_destroy(ref);
}


/*
 * Synthetic (lab) results.
 */
#define HOUR_MS (3600 * 1000LL)

static int same_result(const rs_synthetic_result_t *a,
                       const rs_synthetic_result_t *b) {
        return same_str(a->run_id, b->run_id) &&
               same_str(a->tenant_id, b->tenant_id) &&
               same_str(a->test_id, b->test_id) &&
               same_str(a->route, b->route) && same_str(a->url, b->url) &&
               a->timestamp_ms == b->timestamp_ms &&
               same_str(a->location, b->location) &&
               same_str(a->device_profile, b->device_profile) &&
               same_str(a->network_profile, b->network_profile) &&
               a->success == b->success && same_str(a->error, b->error) &&
               same_num(a->lcp, b->lcp) && same_num(a->fcp, b->fcp) &&
               same_num(a->cls, b->cls) && same_num(a->ttfb, b->ttfb) &&
               same_num(a->tbt, b->tbt) && same_num(a->load_time, b->load_time);
}

/* The host of \p url ("https://host/..."), into \p out. */
static void url_host(const char *url, char *out, size_t size) {
        const char *p = strstr(url, "://"), *e;

        p = p ? p + 3 : url;
        e = strchr(p, '/');
        snprintf(out, size, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
}

static void test_synthetic_conf(void) {
        rs_synthetic_traffic_conf_t c;
        rs_synthetic_traffic_t     *t;
        char                        errstr[256];

        rs_synthetic_traffic_conf_defaults(&c);
        RS_CHECK_INT(c.interval_ms, 5 * 60 * 1000);
        RS_CHECK(c.failure_rate == 0.02);
        t = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t != NULL, "%s", errstr);
        rs_synthetic_traffic_destroy(t);
        rs_synthetic_traffic_destroy(NULL);

        c.tenants = 0;
        errstr[0] = '\0';
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        RS_CHECK(errstr[0] != '\0');
        c.tenants     = 5;
        c.interval_ms = 999;
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        c.interval_ms  = 60000;
        c.failure_rate = 1.5;
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        c.failure_rate      = 0.02;
        c.regression_factor = 0;
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        c.regression_factor = 1;

        /* A failing route must be one the tenant tests. */
        c.failing_tenant = "acme-shop";
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        c.failing_route = "/login";
        errstr[0]       = '\0';
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        RS_CHECK_MSG(strstr(errstr, "/login") != NULL, "%s", errstr);
        c.failing_tenant = "nobody";
        c.failing_route  = "/checkout";
        RS_CHECK(!rs_synthetic_traffic_new(&c, errstr, sizeof(errstr)));
        c.failing_tenant = "acme-shop";
        t                = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t != NULL, "%s", errstr);
        rs_synthetic_traffic_destroy(t);
}

static void test_synthetic_determinism(void) {
        rs_synthetic_traffic_conf_t c;
        rs_synthetic_traffic_t     *a, *b, *d;
        rs_synthetic_result_t       ra, rb, rd;
        char                        errstr[256];
        int                         i, identical = 1, id_diff = 0, lcp_diff = 0;
        const int                   n = 5000;

        rs_synthetic_traffic_conf_defaults(&c);
        c.seed = 42;
        a      = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        b      = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        c.seed = 43;
        d      = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(a && b && d);
        if (!a || !b || !d)
                goto out;
        for (i = 0; i < n; i++) {
                rs_synthetic_traffic_next(a, &ra);
                rs_synthetic_traffic_next(b, &rb);
                rs_synthetic_traffic_next(d, &rd);
                if (identical && !same_result(&ra, &rb)) {
                        identical = 0;
                        fprintf(stderr, "results %d differ\n", i);
                }
                id_diff += strcmp(ra.run_id, rd.run_id) != 0;
                lcp_diff += !same_num(ra.lcp, rd.lcp);
        }
        RS_CHECK(identical);
        RS_CHECK_INT(rs_synthetic_traffic_count(a), n);
        RS_CHECK_INT(id_diff, n);
        RS_CHECK_MSG(lcp_diff > n * 9 / 10, "%d of %d LCPs differ", lcp_diff,
                     n);
out:
        rs_synthetic_traffic_destroy(a);
        rs_synthetic_traffic_destroy(b);
        rs_synthetic_traffic_destroy(d);
}

#define SEEN_MAX 4096

/* Tenants, hosts and routes are the page views'; the tests, profiles and
 * cadence are as documented, with a mobile coverage gap. */
static void test_synthetic_sites(void) {
        rs_traffic_conf_t           pc;
        rs_synthetic_traffic_conf_t c;
        rs_traffic_t               *pv  = NULL;
        rs_synthetic_traffic_t     *syn = NULL;
        rs_rum_event_t              ev;
        rs_synthetic_result_t       r;
        rs_synthetic_check_t        ck;
        char                        errstr[256], host[128], route[RS_ROUTE_MAX];
        char(*seen)[RS_ROUTE_MAX + 32] = calloc(SEEN_MAX, sizeof(*seen));
        char    hosts[8][128];
        int     seen_cnt = 0, i, j, unknown_route = 0, bad_host = 0;
        int     mobile_pv[8] = {0}, has_mobile[8] = {0}, has_desktop[8] = {0};
        int     gap = 0, bad_norm = 0, out_of_order = 0, per_check_bad = 0;
        int     checks, n;
        int    *runs = NULL;
        int64_t prev = INT64_MIN;

        rs_traffic_conf_defaults(&pc);
        pc.seed = 7;
        rs_synthetic_traffic_conf_defaults(&c);
        c.seed = 7;
        pv     = rs_traffic_new(&pc);
        syn    = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(pv && syn && seen);
        if (!pv || !syn || !seen)
                goto out;

        RS_CHECK_INT(rs_synthetic_traffic_tenant_count(syn),
                     rs_traffic_tenant_count(pv));
        for (i = 0; i < rs_traffic_tenant_count(pv); i++)
                RS_CHECK_STR(rs_synthetic_traffic_tenant(syn, i),
                             rs_traffic_tenant(pv, i));
        RS_CHECK_INT(rs_synthetic_traffic_route_count(syn),
                     rs_traffic_route_count(pv));
        for (i = 0; i < rs_traffic_route_count(pv); i++)
                RS_CHECK_STR(rs_synthetic_traffic_route(syn, i),
                             rs_traffic_route(pv, i));
        RS_CHECK(rs_synthetic_traffic_tenant(syn, 5) == NULL);
        RS_CHECK(rs_synthetic_traffic_route(syn, -1) == NULL);

        /* The (tenant, normalized route) pairs and hosts of page views. */
        memset(hosts, 0, sizeof(hosts));
        for (i = 0; i < 200000; i++) {
                int tn;

                rs_traffic_next(pv, &ev);
                for (tn = 0; tn < 5; tn++)
                        if (!strcmp(ev.tenant_id, rs_traffic_tenant(pv, tn)))
                                break;
                if (!hosts[tn][0])
                        url_host(ev.url, hosts[tn], sizeof(hosts[tn]));
                mobile_pv[tn] += !strcmp(ev.device_type, "mobile");
                rs_route_normalize(ev.url, strlen(ev.url), route);
                for (j = 0; j < seen_cnt; j++)
                        if (!strncmp(seen[j], ev.tenant_id,
                                     strlen(ev.tenant_id)) &&
                            !strcmp(seen[j] + strlen(ev.tenant_id), route))
                                break;
                if (j == seen_cnt && seen_cnt < SEEN_MAX)
                        snprintf(seen[seen_cnt++], sizeof(seen[0]), "%s%s",
                                 ev.tenant_id, route);
        }

        /* Checks: profiles and locations per tenant. */
        checks = rs_synthetic_traffic_check_count(syn);
        RS_CHECK(checks > 0);
        RS_CHECK(rs_synthetic_traffic_check(syn, checks, &ck) == -1);
        for (i = 0; i < checks; i++) {
                int tn;

                RS_CHECK(rs_synthetic_traffic_check(syn, i, &ck) == 0);
                for (tn = 0; tn < 5; tn++)
                        if (!strcmp(ck.tenant_id, rs_traffic_tenant(pv, tn)))
                                break;
                RS_CHECK(tn < 5);
                if (tn == 5)
                        continue;
                if (!strcmp(ck.device_profile, "mobile")) {
                        has_mobile[tn] = 1;
                        RS_CHECK_STR(ck.network_profile, "4g");
                } else {
                        RS_CHECK_STR(ck.device_profile, "desktop");
                        RS_CHECK_STR(ck.network_profile, "cable");
                        has_desktop[tn] = 1;
                }
        }
        for (i = 0; i < 5; i++) {
                RS_CHECK(has_desktop[i]);
                RS_CHECK_MSG(has_mobile[i] == (i % 2 == 0), "tenant %d", i);
                /* Real mobile traffic and no mobile lab test. */
                if (mobile_pv[i] > 1000 && !has_mobile[i])
                        gap++;
        }
        RS_CHECK_MSG(gap == 2, "%d tenants with a mobile coverage gap", gap);

        /* Two hours of runs: each check runs once per interval. */
        runs = calloc((size_t)checks, sizeof(*runs));
        n    = checks * 24;
        RS_CHECK(runs != NULL);
        if (!runs)
                goto out;
        for (i = 0; i < n; i++) {
                int tn, k, hit = 0;

                RS_CHECK(rs_synthetic_traffic_clock_ms(syn) >= prev);
                rs_synthetic_traffic_next(syn, &r);
                if (r.timestamp_ms < prev)
                        out_of_order++;
                prev = r.timestamp_ms;
                for (tn = 0; tn < 5; tn++)
                        if (!strcmp(r.tenant_id, rs_traffic_tenant(pv, tn)))
                                break;
                url_host(r.url, host, sizeof(host));
                if (tn == 5 || strcmp(host, hosts[tn]))
                        bad_host++;
                rs_route_normalize(r.url, strlen(r.url), route);
                if (strcmp(route, r.route))
                        bad_norm++;
                for (j = 0; j < seen_cnt; j++)
                        if (!strncmp(seen[j], r.tenant_id,
                                     strlen(r.tenant_id)) &&
                            !strcmp(seen[j] + strlen(r.tenant_id), r.route))
                                break;
                if (j == seen_cnt && unknown_route++ < 3)
                        fprintf(stderr, "lab route %s %s not in page views\n",
                                r.tenant_id, r.route);
                if (r.timestamp_ms >= c.start_ms + HOUR_MS)
                        continue;
                for (k = 0; k < checks; k++) {
                        rs_synthetic_traffic_check(syn, k, &ck);
                        if (!strcmp(ck.test_id, r.test_id) &&
                            !strcmp(ck.location, r.location) &&
                            !strcmp(ck.device_profile, r.device_profile)) {
                                runs[k]++;
                                hit++;
                        }
                }
                RS_CHECK_INT(hit, 1);
        }
        for (i = 0; i < checks; i++)
                if (runs[i] != 12)
                        per_check_bad++;
        printf("synthetic: %d checks, each %d runs in the first hour\n", checks,
               runs[0]);
        RS_CHECK_INT(per_check_bad, 0);
        RS_CHECK_INT(out_of_order, 0);
        RS_CHECK_INT(bad_host, 0);
        RS_CHECK_INT(bad_norm, 0);
        RS_CHECK_INT(unknown_route, 0);
        RS_CHECK_INT(rs_synthetic_traffic_count(syn), n);
        RS_CHECK(rs_synthetic_traffic_clock_ms(syn) >=
                 c.start_ms + 2 * HOUR_MS);

out:
        free(runs);
        free(seen);
        rs_traffic_destroy(pv);
        rs_synthetic_traffic_destroy(syn);
}

/* Lab medians sit a little below the field medians of the same tenant,
 * route and device: LAB_LO..LAB_HI times them; and the lab is less noisy
 * (a narrower p25..p75). */
#define LAB_LO    0.8
#define LAB_HI    1.0
#define FIELD_CAP 40000

static const char *const med_routes[]  = {"/", "/products/:id", "/search",
                                          "/checkout"};
static const char *const med_devices[] = {"desktop", "mobile"};
enum { MED_TTFB, MED_FCP, MED_LCP, MED_CNT };

typedef struct med_s {
        double *v[MED_CNT];
        size_t  n;
} med_t;

static int med_key(int tenant, const char *route, const char *device) {
        int r, d;

        for (r = 0; r < 4; r++)
                if (!strcmp(route, med_routes[r]))
                        break;
        for (d = 0; d < 2; d++)
                if (!strcmp(device, med_devices[d]))
                        break;
        if (tenant < 0 || tenant > 1 || r == 4 || d == 2)
                return -1;
        return (tenant * 4 + r) * 2 + d;
}

static void med_add(med_t *m, double ttfb, double fcp, double lcp) {
        if (m->n == FIELD_CAP)
                return;
        m->v[MED_TTFB][m->n] = ttfb;
        m->v[MED_FCP][m->n]  = fcp;
        m->v[MED_LCP][m->n]  = lcp;
        m->n++;
}

static void test_synthetic_medians(void) {
        static const char *const    metric[MED_CNT] = {"TTFB", "FCP", "LCP"};
        rs_traffic_conf_t           pc;
        rs_synthetic_traffic_conf_t c;
        rs_traffic_t               *pv  = NULL;
        rs_synthetic_traffic_t     *syn = NULL;
        rs_rum_event_t              ev;
        rs_synthetic_result_t       r;
        med_t                       field[16], lab[16];
        char                        errstr[256], route[RS_ROUTE_MAX];
        int                         i, k, m, compared = 0, ok = 1;

        memset(field, 0, sizeof(field));
        memset(lab, 0, sizeof(lab));
        for (k = 0; k < 16; k++)
                for (m = 0; m < MED_CNT; m++) {
                        field[k].v[m] = malloc(FIELD_CAP * sizeof(double));
                        lab[k].v[m]   = malloc(FIELD_CAP * sizeof(double));
                        if (!field[k].v[m] || !lab[k].v[m])
                                ok = 0;
                }
        rs_traffic_conf_defaults(&pc);
        rs_synthetic_traffic_conf_defaults(&c);
        c.failure_rate = 0;
        pv             = rs_traffic_new(&pc);
        syn            = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(pv && syn && ok);
        if (!pv || !syn || !ok)
                goto out;

        for (i = 0; i < 400000; i++) {
                int tn = -1;

                rs_traffic_next(pv, &ev);
                if (!strcmp(ev.tenant_id, rs_traffic_tenant(pv, 0)))
                        tn = 0;
                else if (!strcmp(ev.tenant_id, rs_traffic_tenant(pv, 1)))
                        tn = 1;
                if (tn < 0)
                        continue;
                rs_route_normalize(ev.url, strlen(ev.url), route);
                k = med_key(tn, route, ev.device_type);
                if (k >= 0)
                        med_add(&field[k], ev.metrics[RS_METRIC_TTFB],
                                ev.metrics[RS_METRIC_FCP],
                                ev.metrics[RS_METRIC_LCP]);
        }
        for (i = 0; i < 40000; i++) {
                int tn = -1;

                rs_synthetic_traffic_next(syn, &r);
                if (!strcmp(r.tenant_id, rs_traffic_tenant(pv, 0)))
                        tn = 0;
                else if (!strcmp(r.tenant_id, rs_traffic_tenant(pv, 1)))
                        tn = 1;
                k = tn < 0 ? -1 : med_key(tn, r.route, r.device_profile);
                if (k >= 0)
                        med_add(&lab[k], r.ttfb, r.fcp, r.lcp);
        }

        for (k = 0; k < 16; k++) {
                if (lab[k].n == 0)
                        continue;
                RS_CHECK_MSG(lab[k].n >= 200 && field[k].n >= 500,
                             "key %d: %zu lab, %zu field", k, lab[k].n,
                             field[k].n);
                for (m = 0; m < MED_CNT; m++) {
                        double lm = median(lab[k].v[m], lab[k].n);
                        double fm = median(field[k].v[m], field[k].n);

                        printf("lab/field %s tenant %d %s %s: %.0f / %.0f = "
                               "%.2f\n",
                               metric[m], k / 8, med_routes[(k / 2) % 4],
                               med_devices[k % 2], lm, fm, lm / fm);
                        RS_CHECK_MSG(lm / fm >= LAB_LO && lm / fm <= LAB_HI,
                                     "%s key %d: lab %.0f field %.0f",
                                     metric[m], k, lm, fm);
                        /* median() sorted both. */
                        RS_CHECK_MSG(lab[k].v[m][lab[k].n * 3 / 4] /
                                             lab[k].v[m][lab[k].n / 4] <
                                         field[k].v[m][field[k].n * 3 / 4] /
                                             field[k].v[m][field[k].n / 4],
                                     "%s key %d: lab spread", metric[m], k);
                        compared++;
                }
        }
        /* acme-shop: 4 routes x 2 devices; globex-news: desktop only. */
        RS_CHECK_INT(compared, (8 + 4) * MED_CNT);

out:
        for (k = 0; k < 16; k++)
                for (m = 0; m < MED_CNT; m++) {
                        free(field[k].v[m]);
                        free(lab[k].v[m]);
                }
        rs_traffic_destroy(pv);
        rs_synthetic_traffic_destroy(syn);
}

/* The lab sees the page views' regression, unless field_only. */
static void test_synthetic_regression(void) {
        rs_synthetic_traffic_conf_t c;
        rs_synthetic_traffic_t     *plain = NULL, *reg = NULL, *fo = NULL;
        rs_synthetic_result_t       rp, rr, rf;
        char                        errstr[256];
        int i, flagged = 0, wrong_flag = 0, unflagged_diff = 0, bad_ratio = 0;
        int fo_diff = 0;
        const int n = 20000;

        rs_synthetic_traffic_conf_defaults(&c);
        c.seed = 5;
        plain  = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        c.regression_tenant  = "acme-shop";
        c.regression_route   = "/checkout";
        c.regression_from_ms = c.start_ms + HOUR_MS;
        c.regression_factor  = 1.8;
        reg          = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        c.field_only = 1;
        fo           = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(plain && reg && fo);
        if (!plain || !reg || !fo)
                goto out;

        for (i = 0; i < n; i++) {
                int is_reg;

                rs_synthetic_traffic_next(plain, &rp);
                rs_synthetic_traffic_next(reg, &rr);
                rs_synthetic_traffic_next(fo, &rf);
                is_reg = rs_synthetic_traffic_last_regressed(reg);
                RS_CHECK(!rs_synthetic_traffic_last_regressed(fo));
                if (!same_result(&rf, &rp))
                        fo_diff++;
                if (is_reg != (rr.timestamp_ms >= c.regression_from_ms &&
                               !strcmp(rr.tenant_id, "acme-shop") &&
                               !strcmp(rr.route, "/checkout")))
                        wrong_flag++;
                flagged += is_reg;
                if (!is_reg) {
                        unflagged_diff += !same_result(&rr, &rp);
                } else if (rr.success) {
                        /* Same draws, times the factor (within rounding). */
                        if (fabs(rr.lcp / rp.lcp - 1.8) > 0.01 ||
                            fabs(rr.ttfb / rp.ttfb - 1.8) > 0.01 ||
                            fabs(rr.tbt / rp.tbt - 1.8) > 0.01 ||
                            rr.cls != rp.cls)
                                bad_ratio++;
                }
        }
        printf("synthetic regression: %d of %d runs regressed\n", flagged, n);
        RS_CHECK(flagged > 50);
        RS_CHECK_INT(wrong_flag, 0);
        RS_CHECK_INT(unflagged_diff, 0);
        RS_CHECK_INT(bad_ratio, 0);
        RS_CHECK_INT(fo_diff, 0);

        /* With an end: regressed in [from, to) only, the plain results
         * before and after. */
        rs_synthetic_traffic_destroy(reg);
        rs_synthetic_traffic_destroy(plain);
        c.field_only       = 0;
        c.regression_to_ms = c.regression_from_ms;
        reg = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(reg == NULL);
        c.regression_to_ms = c.regression_from_ms + HOUR_MS;
        reg = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        c.regression_tenant = NULL;
        plain = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK(reg && plain);
        if (!reg || !plain)
                goto out;
        flagged = wrong_flag = unflagged_diff = 0;
        for (i = 0; i < n; i++) {
                int is_reg, in;

                rs_synthetic_traffic_next(plain, &rp);
                rs_synthetic_traffic_next(reg, &rr);
                is_reg = rs_synthetic_traffic_last_regressed(reg);
                in     = rr.timestamp_ms >= c.regression_from_ms &&
                     rr.timestamp_ms < c.regression_to_ms;
                if (is_reg != (in && !strcmp(rr.tenant_id, "acme-shop") &&
                               !strcmp(rr.route, "/checkout")))
                        wrong_flag++;
                flagged += is_reg;
                if (!is_reg)
                        unflagged_diff += !same_result(&rr, &rp);
        }
        printf("synthetic regression with an end: %d runs regressed, last "
               "result at +%.1f h\n",
               flagged, (double)(rr.timestamp_ms - c.start_ms) / HOUR_MS);
        RS_CHECK(flagged > 10);
        RS_CHECK(rr.timestamp_ms >= c.regression_to_ms);
        RS_CHECK_INT(wrong_flag, 0);
        RS_CHECK_INT(unflagged_diff, 0);

out:
        rs_synthetic_traffic_destroy(plain);
        rs_synthetic_traffic_destroy(reg);
        rs_synthetic_traffic_destroy(fo);
}

/* Random failures at the configured rate, the failing route from its
 * time on, and every result through the SyntheticResult codec. */
static void test_synthetic_failures(void) {
        rs_synthetic_traffic_conf_t c;
        rs_synthetic_traffic_t     *plain = NULL, *t = NULL, *hi = NULL;
        rs_synthetic_result_t       r, rp, back;
        rs_avro_registry_t         *areg = NULL;
        rs_avro_encoder_t          *enc  = NULL;
        rs_avro_decoder_t          *dec  = NULL;
        char                        errstr[512];
        const int                   n = 60000;
        int i, failed = 0, hi_failed = 0, forced = 0, forced_early = 0;
        int forced_missed = 0, bad_shape = 0, codec_bad = 0, other_diff = 0;
        const char *failing_test = NULL;

        rs_synthetic_traffic_conf_defaults(&c);
        c.seed           = 9;
        plain            = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        c.failing_tenant = "globex-news";
        c.failing_route  = "/checkout";
        c.failing_from_ms = c.start_ms + 2 * HOUR_MS;
        t = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t != NULL, "%s", errstr);
        c.failing_tenant = NULL;
        c.failing_route  = NULL;
        c.failure_rate   = 0.1;
        hi               = rs_synthetic_traffic_new(&c, errstr, sizeof(errstr));
        areg             = rs_avro_registry_new(errstr, sizeof(errstr));
        if (areg) {
                enc = rs_avro_encoder_new(areg, RS_SCHEMA_ID_SYNTHETIC_RESULT,
                                          errstr, sizeof(errstr));
                dec = rs_avro_decoder_new(areg, RS_SCHEMA_ID_SYNTHETIC_RESULT,
                                          errstr, sizeof(errstr));
        }
        RS_CHECK(plain && t && hi && enc && dec);
        if (!plain || !t || !hi || !enc || !dec)
                goto out;

        for (i = 0; i < n; i++) {
                const void   *buf;
                avro_value_t *out;
                size_t        len;
                int           is_forced;

                rs_synthetic_traffic_next(plain, &rp);
                rs_synthetic_traffic_next(t, &r);
                is_forced = rs_synthetic_traffic_last_forced_failure(t);
                if (!strcmp(r.tenant_id, "globex-news") &&
                    !strcmp(r.route, "/checkout")) {
                        failing_test = failing_test ? failing_test : "seen";
                        if (r.timestamp_ms >= c.failing_from_ms &&
                            (!is_forced || r.success ||
                             !same_str(r.error, "HTTP 500 Internal Server "
                                                "Error on the main document")))
                                forced_missed++;
                }
                if (is_forced && r.timestamp_ms < c.failing_from_ms)
                        forced_early++;
                forced += is_forced;
                if (!is_forced && !same_result(&r, &rp))
                        other_diff++;

                failed += !rp.success;
                /* Failed: an error and no metrics but perhaps TTFB;
                 * succeeded: no error and every metric. */
                if (rp.success
                        ? rp.error != NULL || isnan(rp.lcp) || isnan(rp.fcp) ||
                              isnan(rp.cls) || isnan(rp.ttfb) ||
                              isnan(rp.tbt) || isnan(rp.load_time) ||
                              !(rp.ttfb < rp.fcp && rp.fcp <= rp.lcp &&
                                rp.lcp <= rp.load_time)
                        : rp.error == NULL || !isnan(rp.lcp) ||
                              !isnan(rp.fcp) || !isnan(rp.load_time))
                        bad_shape++;

                rs_synthetic_traffic_next(hi, &back);
                hi_failed += !back.success;

                if (rs_synthetic_result_write(rs_avro_encoder_value(enc), &r) ||
                    rs_avro_encoder_encode(enc, &buf, &len, errstr,
                                           sizeof(errstr)) ||
                    rs_avro_decoder_decode(dec, buf, len, &out, errstr,
                                           sizeof(errstr)) ||
                    rs_synthetic_result_read(out, &back, errstr,
                                             sizeof(errstr)) ||
                    !same_result(&back, &r)) {
                        if (codec_bad++ < 3)
                                fprintf(stderr, "result %d: codec: %s\n", i,
                                        errstr);
                }
        }
        printf("synthetic failures: %d of %d at 2%%, %d at 10%%, %d forced\n",
               failed, n, hi_failed, forced);
        RS_CHECK_MSG(failed > n * 0.017 && failed < n * 0.023, "%d", failed);
        RS_CHECK_MSG(hi_failed > n * 0.09 && hi_failed < n * 0.11, "%d",
                     hi_failed);
        RS_CHECK(failing_test != NULL);
        RS_CHECK(forced > 100);
        RS_CHECK_INT(forced_early, 0);
        RS_CHECK_INT(forced_missed, 0);
        RS_CHECK_INT(other_diff, 0);
        RS_CHECK_INT(bad_shape, 0);
        RS_CHECK_INT(codec_bad, 0);

out:
        rs_avro_encoder_destroy(enc);
        rs_avro_decoder_destroy(dec);
        rs_avro_registry_destroy(areg);
        rs_synthetic_traffic_destroy(plain);
        rs_synthetic_traffic_destroy(t);
        rs_synthetic_traffic_destroy(hi);
}

int main(void) {
        test_conf();
        test_determinism();
        test_distribution();
        test_regression();
        test_regression_end();
        test_error_conf();
        test_error_determinism();
        test_error_mix();
        test_error_burst();
        test_error_new_group();
        test_synthetic_conf();
        test_synthetic_determinism();
        test_synthetic_sites();
        test_synthetic_medians();
        test_synthetic_regression();
        test_synthetic_failures();
        return RS_TEST_DONE();
}
