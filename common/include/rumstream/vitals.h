/*
 * vitals: the metrics rumstream aggregates, their units, plausibility bounds
 * and, for Core Web Vitals, the good / needs-improvement / poor rating.
 *
 * Thresholds follow web.dev: a value is good if <= the good threshold, poor
 * if > the poor threshold, needs improvement otherwise.
 *   LCP 2500 / 4000 ms, INP 200 / 500 ms, CLS 0.1 / 0.25,
 *   FCP 1800 / 3000 ms, TTFB 800 / 1800 ms.
 * The navigation-timing breakdown (dns ... load) has no rating.
 */
#ifndef RS_VITALS_H
#define RS_VITALS_H

typedef enum {
        RS_METRIC_LCP = 0,
        RS_METRIC_INP,
        RS_METRIC_CLS,
        RS_METRIC_FCP,
        RS_METRIC_TTFB,
        RS_METRIC_VITAL_CNT, /* the rated Web Vitals come first */
        RS_METRIC_NAV_DNS = RS_METRIC_VITAL_CNT,
        RS_METRIC_NAV_CONNECT,
        RS_METRIC_NAV_TLS,
        RS_METRIC_NAV_REQUEST,
        RS_METRIC_NAV_RESPONSE,
        RS_METRIC_NAV_DOM,
        RS_METRIC_NAV_LOAD,
        RS_METRIC_CNT,
} rs_metric_t;

typedef enum {
        RS_RATING_GOOD = 0,
        RS_RATING_NEEDS_IMPROVEMENT,
        RS_RATING_POOR,
        RS_RATING_NONE, /* metric without thresholds */
} rs_rating_t;

/** @brief Lower-case metric name: "lcp", "inp", "cls", "fcp", "ttfb",
 *         "nav.dns", "nav.connect", "nav.tls", "nav.request",
 *         "nav.response", "nav.dom", "nav.load". */
const char *rs_metric_name(rs_metric_t m);
/** @brief "ms" or "score" (CLS). */
const char *rs_metric_unit(rs_metric_t m);
/** @returns 0 and sets \p out, or -1 if \p name is no metric. */
int rs_metric_from_name(const char *name, rs_metric_t *out);

/** @brief 1 if the metric has good/poor thresholds. */
int         rs_metric_rated(rs_metric_t m);
double      rs_metric_good_max(rs_metric_t m); /**< NAN if not rated */
double      rs_metric_poor_min(rs_metric_t m); /**< NAN if not rated */
rs_rating_t rs_metric_rate(rs_metric_t m, double value);
const char *rs_rating_name(rs_rating_t r); /* good, needs_improvement, poor */

/**
 * @brief Default plausibility ceiling: values above it are not real
 *        measurements of a page view (e.g. an LCP of hours from a tab left
 *        in the background). 120000 ms for the timings, 100 for CLS.
 */
double rs_metric_default_max(rs_metric_t m);

/** @brief 1 if \p v is finite, >= 0 and <= \p max. */
int rs_metric_plausible(double v, double max);

#endif
