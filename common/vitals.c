/*
 * vitals: one table row per metric, indexed by rs_metric_t, so that adding
 * a metric is one line here and one enum value in the header.
 *
 * Rating compares the value as reported with the thresholds as written,
 * with no epsilon, the way web.dev's web-vitals library does: a page's own
 * rating and ours must agree. CLS 0.1 rates good because the literal 0.1
 * here is the same double as the 0.1 a page reports.
 */
#include <math.h>
#include <string.h>

#include "rumstream/vitals.h"

/* A page view is over long before two minutes; CLS sums layout-shift
 * fractions and stays far below 100 even on the worst pages. */
#define TIMING_MAX 120000.0
#define CLS_MAX    100.0

static const struct metric_info {
        const char *name;
        const char *unit;
        double      good_max; /* NAN: no rating */
        double      poor_min;
        double      max;
} metrics[RS_METRIC_CNT] = {
    [RS_METRIC_LCP]          = {"lcp", "ms", 2500, 4000, TIMING_MAX},
    [RS_METRIC_INP]          = {"inp", "ms", 200, 500, TIMING_MAX},
    [RS_METRIC_CLS]          = {"cls", "score", 0.1, 0.25, CLS_MAX},
    [RS_METRIC_FCP]          = {"fcp", "ms", 1800, 3000, TIMING_MAX},
    [RS_METRIC_TTFB]         = {"ttfb", "ms", 800, 1800, TIMING_MAX},
    [RS_METRIC_NAV_DNS]      = {"nav.dns", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_CONNECT]  = {"nav.connect", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_TLS]      = {"nav.tls", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_REQUEST]  = {"nav.request", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_RESPONSE] = {"nav.response", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_DOM]      = {"nav.dom", "ms", NAN, NAN, TIMING_MAX},
    [RS_METRIC_NAV_LOAD]     = {"nav.load", "ms", NAN, NAN, TIMING_MAX},
};

/* Out-of-range values are a caller bug; every getter answers them the way
 * it answers "no such metric" (NULL, NAN, 0, RS_RATING_NONE). */
static const struct metric_info *info(rs_metric_t m) {
        if ((unsigned)m >= RS_METRIC_CNT)
                return NULL;
        return &metrics[m];
}

/** @returns the name, or NULL if \p m is no metric. */
const char *rs_metric_name(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi ? mi->name : NULL;
}

/** @returns the unit, or NULL if \p m is no metric. */
const char *rs_metric_unit(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi ? mi->unit : NULL;
}

/* Exact, case-sensitive: names come from our own schemas and config. */
int rs_metric_from_name(const char *name, rs_metric_t *out) {
        int i;

        if (!name)
                return -1;
        for (i = 0; i < RS_METRIC_CNT; i++) {
                if (!strcmp(name, metrics[i].name)) {
                        *out = (rs_metric_t)i;
                        return 0;
                }
        }
        return -1;
}

int rs_metric_rated(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi && !isnan(mi->good_max);
}

double rs_metric_good_max(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi ? mi->good_max : NAN;
}

double rs_metric_poor_min(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi ? mi->poor_min : NAN;
}

/* A NaN value has no rating either; implausible but comparable values
 * (negative, huge) are rated as they compare: rs_metric_plausible() is
 * the filter for those. */
rs_rating_t rs_metric_rate(rs_metric_t m, double value) {
        if (!rs_metric_rated(m) || isnan(value))
                return RS_RATING_NONE;
        if (value <= metrics[m].good_max)
                return RS_RATING_GOOD;
        if (value > metrics[m].poor_min)
                return RS_RATING_POOR;
        return RS_RATING_NEEDS_IMPROVEMENT;
}

const char *rs_rating_name(rs_rating_t r) {
        switch (r) {
        case RS_RATING_GOOD:
                return "good";
        case RS_RATING_NEEDS_IMPROVEMENT:
                return "needs_improvement";
        case RS_RATING_POOR:
                return "poor";
        case RS_RATING_NONE:
                return "none";
        }
        return NULL;
}

double rs_metric_default_max(rs_metric_t m) {
        const struct metric_info *mi = info(m);

        return mi ? mi->max : NAN;
}

int rs_metric_plausible(double v, double max) {
        /* NaN fails every comparison, so a NaN max rejects everything. */
        return isfinite(v) && v >= 0 && v <= max;
}
