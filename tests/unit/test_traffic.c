/*
 * Unit tests of the synthetic traffic generator: determinism, the shares and
 * ranges the integration tests and the benchmark rely on, and the injected
 * regression.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/route.h"
#include "rumstream/traffic.h"
#include "rumstream/vitals.h"

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

int main(void) {
        test_conf();
        test_determinism();
        test_distribution();
        test_regression();
        return RS_TEST_DONE();
}
