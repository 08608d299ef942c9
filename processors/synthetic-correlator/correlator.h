/*
 * synthetic-correlator: does the lab predict the field?
 *
 * Reads synthetic.events (lab runs) and rum.aggregates (real users) as
 * co-partitioned pairs: both are keyed by tenant with the same partition
 * count, and the range assignor gives partition p of both to the same
 * instance. Time is cut into buckets of correlation.bucket_ms (default 5
 * minutes), the stream windows of both inputs.
 *
 * Each side's closed bucket is durable at once: the lab runs in
 * synthetic_tests, the field side as one merged sketch per (tenant, route,
 * device class, metric) in rum_field_buckets (from the device-segment
 * aggregates) and page views per (tenant, segment) in rum_segment_buckets
 * (device, connection, country). A bucket is judged once both sides have
 * closed it (a side that is not assigned, or silent for max_wait_ms, or at
 * the end of a backfill with nothing open, does not hold it back), in
 * bucket order, and what has been judged is stored with the judgement
 * (correlation_progress): a restart rebuilds the recent history from the
 * tables and judges every bucket exactly once, on the same numbers.
 *
 * Judging bucket b, per (tenant, route, device class) with lab runs in the
 * last gap.history_ms:
 *   - a point: per metric (lcp, fcp, ttfb, cls) the median of the bucket's
 *     successful lab runs and the p75 of the bucket's merged field sketch;
 *   - per metric over the points of the last correlation.window_ms
 *     (common/correlate): Pearson and Spearman with p-values and Fisher
 *     intervals, the levels (lab median of every run, field p75 of the
 *     window's merged sketch), the variance ratio and the verdict, into
 *     rum_synthetic_correlations (one row per key, metric and evaluation);
 *   - the lab-field gap over gap.history_ms against its baseline
 *     (rs_correlate_gap), into performance_baselines; a widening gap that
 *     the field caused (field regressed, lab flat) or an early warning
 *     (the lab regressed first) opens a lab_field_gap issue, updated while
 *     it lasts and resolved when it no longer holds;
 * per (tenant, route): failures.consecutive failed runs in a row open a
 * synthetic_failure issue, resolved by the next successful run; per tenant:
 * the coverage of its real traffic segments by its lab profiles over the
 * correlation window, into synthetic_coverage.
 */
#ifndef RS_CORRELATOR_H
#define RS_CORRELATOR_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

typedef struct correlator_conf_s {
        rs_stream_conf_t stream;
        char            *aggregates_topic;
        char            *issues_topic;
        char            *sensitive_keys;
        int64_t          bucket_ms;
        int64_t          window_ms;
        int64_t          min_points;
        double           significance;
        double           variance_threshold;
        double           ci_level;
        double           min_field_samples;
        int64_t          history_ms;
        int64_t          gap_recent;
        int64_t          gap_baseline_min;
        double           gap_z;
        double           gap_sigma_floor;
        double           gap_min_change;
        int64_t          failures;
        double           coverage_min_share;
        int64_t          max_keys;
        int64_t          max_runs_per_bucket;
        int64_t          max_field_keys;
        int64_t          max_clock_skew_ms;
        int64_t          max_wait_ms;
} correlator_conf_t;

extern const rs_conf_item_t correlator_conf_table[];

typedef struct correlator_s correlator_t;

/** @brief Builds the correlator and its stream. @returns NULL with errstr.
 *  Caller frees with correlator_destroy(). \p conf must outlive it. */
correlator_t *correlator_new(const correlator_conf_t *conf, char *errstr,
                             size_t errstr_size);
void          correlator_destroy(correlator_t *c);
int           correlator_run(correlator_t *c);
void          correlator_stop(correlator_t *c);

#endif
