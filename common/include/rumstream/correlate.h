/*
 * correlate: the pure, deterministic engine of the synthetic-correlator,
 * which tells a person whether synthetic (lab) runs predict what real users
 * (RUM, the field) see for one (tenant, route, device class, vital). No I/O;
 * nothing allocates; functions that sort take caller scratch.
 *
 * 1. Correlation and verdict (rs_correlate()).
 *    Input: one point per time bucket, lab = median of the lab runs in the
 *    bucket, field = RUM p75 of the bucket (rs_correlate_sketch_p75() reads
 *    it from the bucket's merged sketch). A point is usable when both values
 *    are finite; a point with a NaN is skipped (a bucket without lab runs or
 *    without page views); an infinite value is an error (RS_CORRELATE_EINF).
 *    Over the n usable points:
 *    - pearson and spearman: rs_stats_pearson() / rs_stats_spearman() of
 *      (lab, field), two-sided p-value for H0: rho = 0 and a ci_level Fisher
 *      z interval (see stats.h for the approximations).
 *    - lab_median = median of the usable lab values; field_p75 = median of
 *      the usable per-bucket field p75 values, the typical bucket p75 (not a
 *      p75 of p75s, which would drift upwards with the bucket count). A
 *      caller holding overall numbers (the p75 of all the buckets' merged
 *      sketch, the median of all lab runs) passes them to
 *      rs_correlate_relevel(), which replaces both and redoes the verdict.
 *    - variance_ratio = (field_p75 - lab_median) / lab_median.
 *    Verdict, first rule that applies:
 *      not_enough_data  n < min_points; or the lab or the field series is
 *                       constant over the usable points (correlation
 *                       undefined: the lab cannot be shown to predict
 *                       anything); or lab_median <= 0 (ratio undefined, e.g.
 *                       CLS of a page without shifts). Levels and the ratio
 *                       are still filled when they are defined.
 *      field_slower     variance_ratio >  +variance_threshold
 *      lab_slower       variance_ratio <  -variance_threshold
 *      aligned          otherwise (|ratio| <= threshold)
 *    Separately, `correlated` says whether the lab tracks the field: 1 when
 *    the verdict is not not_enough_data, Spearman's rho > 0 and its p-value
 *    < significance (Spearman, not Pearson: lab medians and field p75s are
 *    skewed and one slow bucket must not decide). A verdict of aligned with
 *    correlated = 0 means "same level, but the lab does not move with the
 *    field". Pearson is reported alongside.
 *
 * 2. Coverage (rs_correlate_coverage()).
 *    Segments are RUM traffic slices (type "device", "connection" or
 *    "country", a value and its page views). A segment is covered when some
 *    lab profile matches it, compared ASCII case-insensitively:
 *    - device: profile device == value ("desktop", "mobile", "tablet").
 *    - connection: the profile's network, as the synthetic generator names
 *      it, emulates the RUM connection type: cable, dsl and fiber cover
 *      "ethernet" and "wifi" (home broadband); lte and 4g cover "4g"; 5g
 *      "5g"; 3g, fast-3g, regular-3g and slow-3g cover "3g"; 2g and edge
 *      "2g"; a network named like a connection type (wifi, ethernet, ...)
 *      covers that type.
 *    - country: the profile's location is an agent region, mapped to the
 *      country it runs in (AWS names: us-* US, ca-central-1 CA, eu-west-1
 *      IE, eu-west-2 GB, eu-west-3 FR, eu-central-1 DE, eu-north-1 SE,
 *      eu-south-1 IT, ap-south-1 IN, ap-southeast-1 SG, ap-southeast-2 AU,
 *      ap-southeast-3 ID, ap-northeast-1 JP, ap-northeast-2 KR, sa-east-1
 *      BR, af-south-1 ZA, mx-central-1 MX); a two-letter location is a
 *      country code itself. Unknown regions cover no country.
 *    A segment of another type is left with covered = -1 and not counted.
 *    uncovered_share[type] = page views of the uncovered segments of the
 *    type / page views of all segments of the type (0 when there are none).
 *    rs_correlate_recommend() turns uncovered segments into sentences, e.g.
 *    "mobile traffic is 64% of page views but no synthetic profile is
 *    mobile" (see there).
 *
 * 3. Lab-field gap (rs_correlate_gap()).
 *    The gap of a bucket is field - lab. The series (lab, field and gap) are
 *    split into a baseline, every bucket but the last `recent`, and the
 *    recent part, the last `recent` buckets. For each series, skipping NaN:
 *      z = (median(recent) - median(baseline)) / sigma,
 *      sigma = max(RS_STATS_MAD_NORMAL * MAD(baseline), sigma_floor * level)
 *    where level = max(|median lab baseline|, |median field baseline|) (the
 *    floor keeps a noiseless baseline from making every wobble infinitely
 *    significant: with the default 0.02, a change of less than 2% of the
 *    level times z_threshold is never significant).
 *      lab_moved = |lab_z| > z_threshold, field_moved likewise,
 *      widened   = |gap_z| > z_threshold (the gap moved off its baseline,
 *                  either way: a lab regression shrinks field - lab).
 *    Cause:
 *      none        !lab_moved && !field_moved && !widened
 *      field_only  !lab_moved && (field_moved || widened): the field moved
 *                  with the lab flat, a cause the lab does not exercise
 *                  (third-party tag, uncached back end, device mix)
 *      lab_first   lab_moved && !field_moved: early warning, the field is
 *                  expected to follow (early_warning = 1)
 *      both        lab_moved && field_moved
 *    The signs of lab_z, field_z and gap_z say regression (> 0) or
 *    improvement (< 0). The result is invalid (RS_CORRELATE_EFEW) when the
 *    baseline has fewer than baseline_min usable buckets of any series or
 *    the recent part has none.
 */
#ifndef RS_CORRELATE_H
#define RS_CORRELATE_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/sketch.h"
#include "rumstream/stats.h"

#define RS_CORRELATE_EINVAL (-1) /**< NULL pointer or bad configuration */
#define RS_CORRELATE_EINF   (-2) /**< an infinite value in the input */
#define RS_CORRELATE_EFEW   (-3) /**< too few usable values (gap only) */

/** Doubles of scratch rs_correlate() needs for \p n points. */
#define RS_CORRELATE_SCRATCH(n) (5 * (size_t)(n))
/** Doubles of scratch rs_correlate_gap() needs for \p n buckets. */
#define RS_CORRELATE_GAP_SCRATCH(n) (2 * (size_t)(n))

/** One time bucket of one (tenant, route, device class, vital). */
typedef struct rs_correlate_point_s {
        int64_t bucket_ms; /**< bucket start (informative only) */
        double  lab;       /**< median of the lab runs, NaN if none */
        double  field;     /**< RUM p75, NaN if no page view */
} rs_correlate_point_t;

typedef enum {
        RS_CORRELATE_NOT_ENOUGH_DATA = 0,
        RS_CORRELATE_ALIGNED,
        RS_CORRELATE_FIELD_SLOWER,
        RS_CORRELATE_LAB_SLOWER,
} rs_correlate_verdict_t;

typedef struct rs_correlate_conf_s {
        size_t min_points;   /**< usable points needed, >= 3; default 10 */
        double significance; /**< in (0, 1); default 0.05 */
        /** |variance ratio| above this is a level mismatch; default 0.30 */
        double variance_threshold;
        double ci_level; /**< in (0, 1), or 0 for none; default 0.95 */
} rs_correlate_conf_t;

typedef struct rs_correlate_result_s {
        size_t                 n;              /**< usable points */
        rs_stats_corr_t        pearson;        /**< of (lab, field) */
        rs_stats_corr_t        spearman;       /**< of (lab, field) */
        double                 lab_median;     /**< NaN when n = 0 */
        double                 field_p75;      /**< NaN when n = 0 */
        double                 variance_ratio; /**< NaN when lab_median <= 0 */
        rs_correlate_verdict_t verdict;
        int correlated; /**< significant positive Spearman rho */
} rs_correlate_result_t;

/** @brief Fills \p c with the defaults (10, 0.05, 0.30, 0.95). */
void rs_correlate_conf_defaults(rs_correlate_conf_t *c);

/**
 * @brief Correlation, levels and verdict of \p n points (rules at the top).
 * @param c configuration, or NULL for the defaults.
 * @param scratch RS_CORRELATE_SCRATCH(n) doubles, caller-owned, overwritten;
 *        \p pts is not modified.
 * @returns 0 (also for not_enough_data, which is a verdict), or
 *          RS_CORRELATE_EINVAL (NULL pts/scratch/out with n > 0, or a bad
 *          configuration) or RS_CORRELATE_EINF; on error \p out, if not
 *          NULL, holds verdict not_enough_data and NaN levels.
 */
int rs_correlate(const rs_correlate_conf_t *c, const rs_correlate_point_t *pts,
                 size_t n, double *scratch, rs_correlate_result_t *out);

/**
 * @brief Replaces the levels of \p r by caller-computed overall numbers (e.g.
 *        the p75 of all the buckets' merged sketch) and redoes the
 *        variance ratio, the verdict and `correlated` by the same rules.
 * @returns 0, or RS_CORRELATE_EINVAL (NULL r, bad configuration).
 */
int rs_correlate_relevel(const rs_correlate_conf_t *c, double lab_median,
                         double field_p75, rs_correlate_result_t *r);

/** @brief The field value of a bucket: the p75 of its merged sketch.
 *  @returns the p75, or NaN if \p sk is NULL or empty. */
double rs_correlate_sketch_p75(const rs_sketch_t *sk);

/** @brief "aligned", "field_slower", "lab_slower", "not_enough_data", or
 *         "unknown" for another value. */
const char *rs_correlate_verdict_name(rs_correlate_verdict_t v);

/* ---- Coverage ---------------------------------------------------------- */

typedef enum {
        RS_CORRELATE_SEG_DEVICE = 0,
        RS_CORRELATE_SEG_CONNECTION,
        RS_CORRELATE_SEG_COUNTRY,
        RS_CORRELATE_SEG_CNT,
} rs_correlate_seg_type_t;

/** A lab profile as a synthetic result names it; any field may be NULL
 *  (then it covers nothing of that type). */
typedef struct rs_correlate_profile_s {
        const char *device;   /**< "desktop", "mobile", "tablet" */
        const char *network;  /**< "cable", "4g", "3g", "slow-3g", ... */
        const char *location; /**< agent region, e.g. "eu-west-1" */
} rs_correlate_profile_t;

/** A RUM traffic slice. */
typedef struct rs_correlate_segment_s {
        const char *type;  /**< "device", "connection" or "country" */
        const char *value; /**< "mobile", "3g", "IN", ... */
        double      page_views;
        int         covered; /**< output: 1, 0, or -1 for an unknown type */
} rs_correlate_segment_t;

typedef struct rs_correlate_coverage_s {
        double page_views[RS_CORRELATE_SEG_CNT]; /**< per segment type */
        double uncovered[RS_CORRELATE_SEG_CNT];  /**< page views uncovered */
        double uncovered_share[RS_CORRELATE_SEG_CNT]; /**< 0 if no views */
} rs_correlate_coverage_t;

/**
 * @brief Sets `covered` of each segment from the lab profiles and sums the
 *        uncovered share per segment type (rules at the top).
 * @param out may be NULL.
 * @returns 0, or RS_CORRELATE_EINVAL (NULL segs with nseg > 0, NULL
 *          profiles with nprof > 0, a segment with a NULL value or page
 *          views negative or not finite; nothing is marked then).
 */
int rs_correlate_coverage(const rs_correlate_profile_t *profiles, size_t nprof,
                          rs_correlate_segment_t *segs, size_t nseg,
                          rs_correlate_coverage_t *out);

/**
 * @brief Writes one sentence per uncovered segment (covered == 0) whose
 *        share of its type's page views is at least \p min_share, separated
 *        by "\n", ordered by type (device, connection, country), then by
 *        decreasing share, then by input order. The share is printed as a
 *        whole percent (rounded half to even by printf):
 *          "mobile traffic is 64% of page views but no synthetic profile is
 *           mobile"
 *          "3g traffic is 9% of page views but no synthetic profile
 *           emulates 3g"
 *          "IN traffic is 12% of page views but no synthetic location is in
 *           IN"
 *        Call after rs_correlate_coverage().
 * @param buf,size the caller's buffer; always NUL-terminated when size > 0,
 *        truncated like snprintf.
 * @returns the length of the full text (without the NUL), as snprintf; 0
 *          when every segment is covered. Returns 0 and writes "" for NULL
 *          segs.
 */
size_t rs_correlate_recommend(const rs_correlate_segment_t *segs, size_t nseg,
                              double min_share, char *buf, size_t size);

/* ---- Lab-field gap ----------------------------------------------------- */

typedef enum {
        RS_CORRELATE_CAUSE_NONE = 0,
        RS_CORRELATE_CAUSE_FIELD_ONLY,
        RS_CORRELATE_CAUSE_LAB_FIRST,
        RS_CORRELATE_CAUSE_BOTH,
} rs_correlate_cause_t;

typedef struct rs_correlate_gap_conf_s {
        size_t recent;       /**< buckets in the recent part; default 4 */
        size_t baseline_min; /**< usable baseline buckets; default 8 */
        double z_threshold;  /**< robust z that counts; default 3.5 */
        double sigma_floor;  /**< relative to the level; default 0.02 */
} rs_correlate_gap_conf_t;

typedef struct rs_correlate_gap_s {
        int    valid;
        double gap_baseline; /**< median field - lab over the baseline */
        double gap_recent;   /**< median field - lab over the recent part */
        double gap_z, lab_z, field_z;
        int    lab_moved, field_moved;
        int    widened;
        int    early_warning; /**< cause == lab_first */
        rs_correlate_cause_t cause;
} rs_correlate_gap_t;

/** @brief Fills \p c with the defaults (4, 8, 3.5, 0.02). */
void rs_correlate_gap_conf_defaults(rs_correlate_gap_conf_t *c);

/**
 * @brief Whether the lab-field gap moved off its baseline, and why (rules at
 *        the top). lab[i] and field[i] are bucket i's values, oldest first.
 * @param c configuration, or NULL for the defaults.
 * @param scratch RS_CORRELATE_GAP_SCRATCH(n) doubles, caller-owned,
 *        overwritten; lab and field are not modified.
 * @returns 0 with out->valid = 1; RS_CORRELATE_EFEW (too few usable
 *          buckets), RS_CORRELATE_EINF or RS_CORRELATE_EINVAL with
 *          out->valid = 0, cause none and NaN numbers.
 */
int rs_correlate_gap(const rs_correlate_gap_conf_t *c, const double *lab,
                     const double *field, size_t n, double *scratch,
                     rs_correlate_gap_t *out);

/** @brief "none", "field_only", "lab_first", "both", or "unknown". */
const char *rs_correlate_cause_name(rs_correlate_cause_t cause);

#endif
