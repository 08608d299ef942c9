/*
 * test_vitals: the metric table, ratings at every threshold (exactly on it
 * and just past it), name round trips and plausibility.
 */
#include <math.h>
#include <string.h>

#include "rumstream/vitals.h"
#include "rs_test.h"

static const char *const names[RS_METRIC_CNT] = {
    "lcp",         "inp",          "cls",         "fcp",
    "ttfb",        "nav.dns",      "nav.connect", "nav.tls",
    "nav.request", "nav.response", "nav.dom",     "nav.load",
};

static void test_names(void) {
        int i;

        for (i = 0; i < RS_METRIC_CNT; i++) {
                rs_metric_t m = RS_METRIC_CNT;

                RS_CHECK_STR(rs_metric_name((rs_metric_t)i), names[i]);
                RS_CHECK_INT(rs_metric_from_name(names[i], &m), 0);
                RS_CHECK_INT(m, i);
                RS_CHECK_STR(rs_metric_unit((rs_metric_t)i),
                             i == RS_METRIC_CLS ? "score" : "ms");
        }

        {
                static const char *const bad[] = {
                    "",    "LCP",  "lcp ", " lcp",    "lc",   "lcpx",
                    "nav", "nav.", "dns",  "nav.DNS", "good",
                };
                size_t j;

                for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
                        rs_metric_t m = RS_METRIC_INP;

                        RS_CHECK_INT(rs_metric_from_name(bad[j], &m), -1);
                        RS_CHECK_INT(m, RS_METRIC_INP); /* untouched */
                }
        }
        {
                rs_metric_t m = RS_METRIC_INP;

                RS_CHECK_INT(rs_metric_from_name(NULL, &m), -1);
        }

        RS_CHECK(rs_metric_name(RS_METRIC_CNT) == NULL);
        RS_CHECK(rs_metric_unit(RS_METRIC_CNT) == NULL);
        RS_CHECK(rs_metric_name((rs_metric_t)-1) == NULL);

        RS_CHECK_STR(rs_rating_name(RS_RATING_GOOD), "good");
        RS_CHECK_STR(rs_rating_name(RS_RATING_NEEDS_IMPROVEMENT),
                     "needs_improvement");
        RS_CHECK_STR(rs_rating_name(RS_RATING_POOR), "poor");
        RS_CHECK_STR(rs_rating_name(RS_RATING_NONE), "none");
}

static void check_thresholds(rs_metric_t m, double good, double poor,
                             double step) {
        RS_CHECK(rs_metric_rated(m));
        RS_CHECK(rs_metric_good_max(m) == good);
        RS_CHECK(rs_metric_poor_min(m) == poor);

        RS_CHECK_INT(rs_metric_rate(m, 0), RS_RATING_GOOD);
        RS_CHECK_INT(rs_metric_rate(m, good / 2), RS_RATING_GOOD);
        RS_CHECK_INT(rs_metric_rate(m, good), RS_RATING_GOOD);
        RS_CHECK_INT(rs_metric_rate(m, good + step),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(m, nextafter(good, INFINITY)),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(m, nextafter(poor, 0)),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(m, poor), RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(m, poor + step), RS_RATING_POOR);
        RS_CHECK_INT(rs_metric_rate(m, nextafter(poor, INFINITY)),
                     RS_RATING_POOR);
        RS_CHECK_INT(rs_metric_rate(m, poor * 10), RS_RATING_POOR);
        RS_CHECK_INT(rs_metric_rate(m, INFINITY), RS_RATING_POOR);
        RS_CHECK_INT(rs_metric_rate(m, NAN), RS_RATING_NONE);
}

static void test_ratings(void) {
        int i;

        check_thresholds(RS_METRIC_LCP, 2500, 4000, 0.0001);
        check_thresholds(RS_METRIC_INP, 200, 500, 0.0001);
        check_thresholds(RS_METRIC_CLS, 0.1, 0.25, 0.0001);
        check_thresholds(RS_METRIC_FCP, 1800, 3000, 0.0001);
        check_thresholds(RS_METRIC_TTFB, 800, 1800, 0.0001);

        /* The literal values the header and web.dev name. */
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_LCP, 2500.0001),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_LCP, 4000.0001), RS_RATING_POOR);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.1), RS_RATING_GOOD);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.1001),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.25),
                     RS_RATING_NEEDS_IMPROVEMENT);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.2501), RS_RATING_POOR);
        /* A CLS summed from shifts the way a browser does it. */
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.05 + 0.05),
                     RS_RATING_GOOD);
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CLS, 0.125 + 0.125),
                     RS_RATING_NEEDS_IMPROVEMENT);
        /* Negative values compare as good; plausibility filters them. */
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_INP, -1), RS_RATING_GOOD);

        for (i = RS_METRIC_VITAL_CNT; i < RS_METRIC_CNT; i++) {
                rs_metric_t m = (rs_metric_t)i;

                RS_CHECK(!rs_metric_rated(m));
                RS_CHECK(isnan(rs_metric_good_max(m)));
                RS_CHECK(isnan(rs_metric_poor_min(m)));
                RS_CHECK_INT(rs_metric_rate(m, 0), RS_RATING_NONE);
                RS_CHECK_INT(rs_metric_rate(m, 100), RS_RATING_NONE);
                RS_CHECK_INT(rs_metric_rate(m, 1e9), RS_RATING_NONE);
        }
        for (i = 0; i < RS_METRIC_VITAL_CNT; i++)
                RS_CHECK(rs_metric_rated((rs_metric_t)i));

        RS_CHECK(!rs_metric_rated(RS_METRIC_CNT));
        RS_CHECK_INT(rs_metric_rate(RS_METRIC_CNT, 1), RS_RATING_NONE);
        RS_CHECK(isnan(rs_metric_good_max(RS_METRIC_CNT)));
}

static void test_plausible(void) {
        int i;

        for (i = 0; i < RS_METRIC_CNT; i++) {
                rs_metric_t m   = (rs_metric_t)i;
                double      max = rs_metric_default_max(m);

                RS_CHECK(max == (m == RS_METRIC_CLS ? 100.0 : 120000.0));
                RS_CHECK(rs_metric_plausible(0, max));
                RS_CHECK(rs_metric_plausible(-0.0, max));
                RS_CHECK(rs_metric_plausible(max, max));
                RS_CHECK(!rs_metric_plausible(nextafter(max, INFINITY), max));
        }
        RS_CHECK(isnan(rs_metric_default_max(RS_METRIC_CNT)));

        RS_CHECK(rs_metric_plausible(1234.5, 120000));
        RS_CHECK(rs_metric_plausible(0.1, 100));
        RS_CHECK(rs_metric_plausible(5e-324, 100)); /* smallest subnormal */
        RS_CHECK(!rs_metric_plausible(NAN, 120000));
        RS_CHECK(!rs_metric_plausible(-NAN, 120000));
        RS_CHECK(!rs_metric_plausible(INFINITY, INFINITY));
        RS_CHECK(!rs_metric_plausible(-INFINITY, 120000));
        RS_CHECK(!rs_metric_plausible(-1, 120000));
        RS_CHECK(!rs_metric_plausible(-5e-324, 120000));
        RS_CHECK(!rs_metric_plausible(120000.001, 120000));
        RS_CHECK(!rs_metric_plausible(3600000, 120000)); /* an hour */
        RS_CHECK(!rs_metric_plausible(0, NAN));
        RS_CHECK(rs_metric_plausible(1e300, INFINITY));
}

int main(void) {
        test_names();
        test_ratings();
        test_plausible();
        return RS_TEST_DONE();
}
