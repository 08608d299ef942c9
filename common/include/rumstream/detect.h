/*
 * detect: the pure, deterministic engine of the anomaly-detector. The
 * processor feeds it, per series (tenant, route, segment, vital), the p75 of
 * each window (60 s by default) and stores what it needs between windows
 * (the window p75s in PostgreSQL, a rs_detect_state_t per series and kind).
 * No I/O; nothing on the per-window path allocates (functions that sort
 * take caller scratch); only rs_detect_rules_parse() allocates, once at
 * configuration time.
 *
 * 1. Baseline (rs_detect_baseline()).
 *    Input: the history of window values, oldest first, timestamps in ms
 *    since the epoch (UTC), NaN = a window without data (non-finite values
 *    are treated as no data too); the window being judged (now_ms) and the
 *    end of the history to use (end_ms, exclusive: normally now_ms, earlier
 *    while a breach freezes the baseline, see 4). The baseline is a pure
 *    function of these, so the processor rebuilds it from the stored p75s.
 *    The processor should store NaN for a window with fewer than
 *    min_samples page views (the judges ignore such windows too), so that
 *    quiet hours do not widen the spread. Usable points: finite value and
 *    ts < end_ms. Over the last `history` usable points (n of them):
 *      level  = median(v)
 *      spread = max(RS_STATS_MAD_NORMAL * MAD(v), spread_floor * |level|)
 *    valid only when n >= min_history. The floor keeps a quiet series from
 *    making every wobble significant: with 0.02 and z 3.5, a change of less
 *    than 7% is never significant by score alone.
 *    Seasonal profile (seasonal = daily, weekly or auto). Every usable
 *    point (all of them, not only the last `history`) falls into a slot:
 *    its UTC hour of the day (24 slots) or of the week (168 slots, slot 0
 *    = Monday 00:00-01:00 UTC). S(slot) = median of the slot's values. A
 *    slot is covered when its values come from at least season_min_days
 *    distinct UTC days (daily), or season_min_weeks distinct weeks
 *    (weekly), and S(slot) > 0. UTC is no loss: a slot is a label, learned
 *    from the tenant's own data, so a local-time cycle is the same cycle
 *    shifted. The seasonal level combines the profile with the recent
 *    level:
 *      ratio_i = v_i / S(slot_i) for each of the last `history` usable
 *                points whose slot is covered
 *      r       = median(ratio)   ("how the last hour compares with the
 *                                  same hours of the past days")
 *      level   = r * S(slot(now_ms))
 *      spread  = max(RS_STATS_MAD_NORMAL * MAD(ratio) * S(slot(now_ms)),
 *                    spread_floor * level)
 *    So a daily peak is expected at the peak, at today's overall level (a
 *    release that made everything 10% faster last week moves r, not the
 *    shape). Auto tries weekly, then daily; a profile is used only when the
 *    slot of now_ms is covered and at least min_history ratios exist, else
 *    the plain level above is used (season = none). A processor that
 *    wants a profile passes the history it needs (e.g. 3 days, or 3 weeks
 *    of windows; hourly p75s from a roll-up do as well): the profile uses
 *    every point passed, the level only the last `history`.
 *
 * 2. Uncertainty of a window's p75 (rs_detect_p75_ci() and friends).
 *    Distribution-free confidence interval of the q-quantile by order
 *    statistics: with n samples, the number below the true quantile is
 *    Binomial(n, q); with z = Phi^-1((1 + level) / 2) and the normal
 *    approximation, the 1-based ranks
 *      lo_rank = floor(n q - z sqrt(n q (1 - q)))
 *      hi_rank = ceil(n q + z sqrt(n q (1 - q)))
 *    (rounded outwards) bound it: [X_(lo_rank), X_(hi_rank)]. A rank below 1
 *    gives lo = -inf, above n gives hi = +inf (too few samples to bound
 *    that side). Rank k maps to the value at p = (k - 1) / (n - 1) of the
 *    quantile function (the convention of rs_sketch_quantile() and
 *    rs_stats_quantile(): the k-th smallest of n values). n is the sketch's
 *    total weight for rs_detect_p75_ci(): with re-weighted sampled traffic
 *    call rs_detect_quantile_ci() with the page views actually measured and
 *    rs_detect_sketch_quantile() instead.
 *
 * 3. Judging one window. Every judge returns a rs_detect_verdict_t whose
 *    status is no_data (nothing to judge), healthy, watch (not healthy, not
 *    a breach) or breach (with a severity), and which the caller feeds to
 *    the lifecycle of that kind. A window has data when its value is finite
 *    and samples >= min_samples (a route with twelve page views never pages
 *    anyone, and never resolves anything either).
 *    - Regression (rs_detect_regression()), against a valid baseline:
 *        degradation = (obs - level) / level, score = (obs - level) / spread
 *      breach when degradation >= min_degradation, score >= z_threshold and
 *      the window's CI lower bound > level (a NaN bound fails); watch when
 *      only the CI test fails (looks bad, not proven); healthy otherwise
 *      (improvements included); no_data without data or a valid baseline.
 *      A level <= 0 (CLS of a page without shifts) has no relative
 *      degradation: healthy, flag RS_DETECT_F_ZERO_LEVEL (budget rules such
 *      as "cls > 0.1" cover it). Severity: medium, high from
 *      high_degradation (0.5), critical from critical_degradation (1.0).
 *    - Level shift (rs_detect_level_shift()): the median of the windows
 *      with data among the last shift_windows (no_data unless they are a
 *      majority of shift_windows) against a baseline built from the
 *      history before those windows, with now_ms = the start of the
 *      middle one (a median of a trend sits at its middle: with coarse
 *      windows or at a seasonal edge, judging it against the current
 *      window's slot would see the lag as a shift):
 *        change = (median - level) / level, score = (median - level) / spread
 *      shifted up (worse) when change >= min_degradation and score >=
 *      z_threshold, down (better) when change <= -min_degradation and
 *      score <= -z_threshold. Up is a breach (severity as for
 *      regressions), down and none are healthy: both directions are
 *      reported in the result, the processor raises only worse. A single
 *      spike cannot move a median of 5; a step moves it after 3 windows.
 *    - Budget (rs_detect_budget()): absolute rules from the rule language
 *      (5). Tiers of one metric are evaluated over the windows passed,
 *      oldest first, the last being the current one; windows without data
 *      are skipped (they neither hold nor break a condition). A tier holds
 *      when its condition is true in each of the last for_windows windows
 *      with data; the highest severity that holds wins (breach); else watch
 *      when some condition is true in the current window (not yet for its
 *      duration), healthy otherwise; no_data when the current window has
 *      none. The for-duration is applied here, so a budget lifecycle opens
 *      on the first breach (open_after 1).
 *
 * 4. Lifecycle (rs_detect_feed()) per (series, kind), a plain-number
 *    struct the caller persists. Each window's verdict gives one event:
 *      breach   healthy_run = 0. Not open: breach_run + 1, OPEN (with this
 *               window's severity) when it reaches open_after. Open: a
 *               change is a severity other than the last notice's, or a
 *               move of the value relative to its expected by more than
 *               update_fraction: |v/e - v0/e0| > update_fraction * v0/e0
 *               (v0, e0 of the last notice; plain values when there is no
 *               positive expected). With a constant expected (a budget
 *               threshold, a frozen plain baseline) that is the value
 *               moving by more than the fraction; with a seasonal baseline
 *               the excess, not the daily cycle. UPDATED when a change was
 *               seen in open_after consecutive breaching windows (so a
 *               noisy series does not flap between two severities), with
 *               the current window's severity and value.
 *      watch    breach_run, healthy_run and the change count back to 0.
 *      healthy  breach_run = 0. Open: healthy_run + 1, RESOLVED when it
 *               reaches resolve_after (hysteresis: a breach or watch in
 *               between starts the count again). Not open: the pending run
 *               is forgotten (a healthy window inside a pending breach
 *               resets it).
 *      no_data  nothing changes: the window is transparent, neither extends
 *               nor breaks a run (B, no data, B, B opens with open_after 3).
 *    Defaults: regression open_after 3, budget and shift 1 (their duration
 *    is in the judge), resolve_after 5, update_fraction 0.25. `version` is 1
 *    at OPEN and grows by one at each UPDATED and at RESOLVED.
 *    Baseline freeze: a lasting regression must not become its own baseline
 *    (a median of 60 windows absorbs a step after 30, which would resolve
 *    the issue while users still suffer). The first breaching window of a
 *    run stores its verdict's baseline_end_ms; while the run is pending or
 *    open the caller builds baselines from history before
 *    rs_detect_state_end(st, natural_end), and the issue resolves when the
 *    series comes back to that baseline. The processor decides how long a
 *    freeze may last (e.g. a day, then rebaseline as "accepted").
 *    Slow drifts: the baseline follows them. The median of the last
 *    `history` windows lags a linear drift by about history / 2 windows, so
 *    a drift opens a regression only when it moves more than
 *    min_degradation per history / 2 windows (20% per half hour with the
 *    defaults); a drift of a few % per day is absorbed, never opened.
 *    Budget rules are the guard against slow drifts.
 *
 * 5. Rules (rs_detect_rules_parse()), one text, e.g. a config setting:
 *      text      = { item [";" | newline] }
 *      item      = rule | metric "off" | "tenant" NAME "{" { item } "}"
 *      rule      = metric op NUMBER [unit] ["for" INT ["window"|"windows"]]
 *                  ":" severity
 *      op        = ">" | ">=" | "<" | "<="
 *      unit      = "ms" | "s"           (s = 1000 ms; not for cls)
 *      severity  = "low" | "medium" | "high" | "critical"
 *    "#" starts a comment to the end of the line; keywords and metrics are
 *    case-insensitive; NAME is a tenant id ([A-Za-z0-9._:-], up to
 *    RS_DETECT_TENANT_MAX - 1 bytes); "for" defaults to 1 window (1 to
 *    RS_DETECT_FOR_MAX). A metric is a name rs_metric_from_name() knows
 *    (lcp, inp, cls, fcp, ttfb, nav.*), "custom.<timing>" for a named
 *    custom timing (ms), or error_rate (errors per page view); thresholds
 *    are in the metric's unit, ms or a plain number for cls, a fraction or
 *    a percent ("error_rate > 2%") for error_rate. Example:
 *      lcp > 2500 for 3 windows: medium; lcp > 4000 for 3 windows: high
 *      cls > 0.25 for 5 windows: high
 *      tenant acme { lcp > 3000ms for 5 windows: medium; cls off }
 *    Tenant blocks override per metric: for tenant T and metric M the rules
 *    are T's rules for M if T names M (none if "M off"), else the default
 *    set's (the rules outside any block). "off" is only allowed inside a
 *    block; a tenant may have one block; M cannot be both off and ruled.
 *
 * 6. Explanation (rs_detect_explain()): which segments drove the change of
 *    a series. Per segment s (e.g. device mobile/desktop/tablet) the
 *    caller gives baseline share w0 and p75 x0, current share w1 and p75 x1
 *    (shares are normalised to sum 1 per period, so page-view counts do).
 *    The overall p75 is approximated by the share-weighted mean P = sum w x
 *    (a proxy: a p75 is not linear in its parts), and its change is split
 *    shift-share style with midpoint weights, which leaves no residual:
 *      within_s = (x1 - x0) * (w0 + w1) / 2            segments got slower
 *      mix_s    = (w1 - w0) * ((x0 + x1) / 2 - Pbar)   traffic moved
 *      Pbar = (P0 + P1) / 2;  sum_s (within_s + mix_s) = P1 - P0 exactly
 *    (Pbar drops out of the total since the share changes sum to 0; it
 *    makes each segment's mix term say whether traffic moved towards a
 *    slower or a faster than average segment). A segment absent in one
 *    period has share 0 there and may have a NaN p75, taken as its p75 in
 *    the other period. rs_detect_explain_text() turns it into one line.
 */
#ifndef RS_DETECT_H
#define RS_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/sketch.h"

#define RS_DETECT_EINVAL (-1) /**< NULL pointer, bad configuration or input */
#define RS_DETECT_EFEW   (-2) /**< fewer usable windows than min_history */

#define RS_DETECT_METRIC_MAX 64 /**< bytes of a metric name, with the NUL */
/** The rate series' metric: errors per page view (a fraction). */
#define RS_DETECT_ERROR_RATE "error_rate"
#define RS_DETECT_TENANT_MAX 129    /**< bytes of a tenant id, with the NUL */
#define RS_DETECT_FOR_MAX    100000 /**< largest for-duration in windows */
#define RS_DETECT_SHIFT_MAX  64     /**< largest shift_windows */
#define RS_DETECT_NO_FREEZE  INT64_MAX /**< rs_detect_state_t.freeze_ms */

/** Doubles of scratch rs_detect_baseline() needs for \p n history points. */
#define RS_DETECT_BASELINE_SCRATCH(n) (3 * (size_t)(n))

/* ---- Configuration ----------------------------------------------------- */

typedef enum {
        RS_DETECT_SEASON_NONE = 0, /**< conf: off; result: none used */
        RS_DETECT_SEASON_DAILY,    /**< conf: daily when covered */
        RS_DETECT_SEASON_WEEKLY,   /**< hour-of-week profile when covered */
        RS_DETECT_SEASON_AUTO,     /**< conf: weekly, else daily, else none */
} rs_detect_season_t;

typedef struct rs_detect_conf_s {
        /* Baseline */
        size_t history;      /**< usable windows in the level; default 60 */
        size_t min_history;  /**< for a valid baseline, >= 1; default 30 */
        double spread_floor; /**< relative to the level; default 0.02 */
        rs_detect_season_t seasonal; /**< none, daily, weekly or auto;
                                        default auto */
        unsigned season_min_days;    /**< distinct days a slot needs; 3 */
        unsigned season_min_weeks;   /**< distinct weeks a slot needs; 3 */
        /* Judging */
        double min_samples;          /**< page views of a window; default 50 */
        double min_degradation;      /**< relative; default 0.2 */
        double z_threshold;          /**< robust score; default 3.5 */
        double ci_level;             /**< of the window p75 CI; default 0.95 */
        double high_degradation;     /**< severity high from; default 0.5 */
        double critical_degradation; /**< critical from; default 1.0 */
        size_t shift_windows;        /**< recent windows of a level shift; 5 */
} rs_detect_conf_t;

/** @brief Fills \p c with the defaults listed above. */
void rs_detect_conf_defaults(rs_detect_conf_t *c);

/** @brief 0 if \p c is usable, else RS_DETECT_EINVAL (a zero history or
 *         min_history, min_history > history, an unknown seasonal, zero
 *         season_min_days or season_min_weeks, a negative or non-finite
 *         number, ci_level outside (0, 1), z_threshold <= 0, critical <
 *         high degradation, shift_windows 0 or > RS_DETECT_SHIFT_MAX).
 *         Every function taking a configuration checks it. */
int rs_detect_conf_check(const rs_detect_conf_t *c);

/* ---- Baseline ---------------------------------------------------------- */

/** One stored window of a series. */
typedef struct rs_detect_point_s {
        int64_t ts_ms; /**< window start, ms since epoch, UTC */
        double  value; /**< the window's p75; NaN = no data */
} rs_detect_point_t;

typedef struct rs_detect_baseline_s {
        int    valid;       /**< 1 when level and spread are set */
        size_t n;           /**< usable windows in the plain level */
        double level;       /**< expected value of the window at now_ms */
        double spread;      /**< robust sigma, floored */
        double plain_level; /**< median of the last `history` usable */
        rs_detect_season_t season; /**< profile used: none, daily, weekly */
        double  slot_level;        /**< S(slot(now_ms)), NaN when season none */
        double  ratio;             /**< r, NaN when season none */
        int64_t now_ms;            /**< as passed */
        int64_t end_ms;            /**< as passed: history before it was used */
} rs_detect_baseline_t;

/**
 * @brief Baseline of a series at \p now_ms from its history (rules at the
 *        top, 1): the usable points of \p pts with ts < \p end_ms.
 * @param c configuration, or NULL for the defaults.
 * @param pts n points, oldest first (ts non-decreasing), not modified.
 * @param scratch RS_DETECT_BASELINE_SCRATCH(n) doubles, caller-owned,
 *        overwritten.
 * @returns 0 with out->valid = 1; RS_DETECT_EFEW (fewer than min_history
 *          usable points; out->n says how many) or RS_DETECT_EINVAL (bad
 *          configuration, NULL pts/scratch with n > 0, timestamps out of
 *          order) with out->valid = 0 and NaN numbers.
 */
int rs_detect_baseline(const rs_detect_conf_t *c, const rs_detect_point_t *pts,
                       size_t n, int64_t now_ms, int64_t end_ms,
                       double *scratch, rs_detect_baseline_t *out);

/**
 * @brief Raises the spread of a rate series' baseline to at least the
 *        Poisson standard deviation of its level over \p exposure (the
 *        judged window's page views): sqrt(level / exposure). Counts are
 *        discrete: a route with 2 or 3 errors in 500 page views alternates
 *        between two rates, its median sits on one of them, its MAD is 0,
 *        and without this floor the other one would look like a shift.
 *        Nothing changes for an invalid baseline, a level <= 0 or an
 *        exposure <= 0.
 */
void rs_detect_rate_spread(rs_detect_baseline_t *b, double exposure);

/** @brief How many of the \p n points (oldest first) have ts < \p end_ms:
 *         the prefix a processor loads or passes. */
size_t rs_detect_history_before(const rs_detect_point_t *pts, size_t n,
                                int64_t end_ms);

/** @brief "none", "daily", "weekly", "auto", or "unknown". */
const char *rs_detect_season_name(rs_detect_season_t s);

/* ---- Window p75 uncertainty -------------------------------------------- */

/** Quantile function of a window's samples: the value at \p p in [0, 1],
 *  rank p * (n - 1) (e.g. rs_sketch_quantile(), rs_stats_quantile()). */
typedef double (*rs_detect_quantile_fn)(const void *ctx, double p);

/**
 * @brief The 1-based order-statistic ranks bounding the \p q-quantile of
 *        \p n samples at confidence \p level (rules at the top, 2).
 * @returns 0, or RS_DETECT_EINVAL (n < 1 or not finite, q or level outside
 *          (0, 1); then NaN). *lo_rank may be < 1, *hi_rank > n.
 */
int rs_detect_ci_ranks(double n, double q, double level, double *lo_rank,
                       double *hi_rank);

/**
 * @brief Confidence interval of the \p q-quantile of \p n samples whose
 *        quantile function is \p fn: the values of rs_detect_ci_ranks()'
 *        ranks, -inf / +inf for a rank outside [1, n].
 * @returns 0, or RS_DETECT_EINVAL (as rs_detect_ci_ranks(), NULL fn) with
 *          NaN bounds.
 */
int rs_detect_quantile_ci(double n, double q, double level,
                          rs_detect_quantile_fn fn, const void *ctx, double *lo,
                          double *hi);

/** @brief rs_detect_quantile_fn over a const rs_sketch_t * (ctx):
 *         rs_sketch_quantile(), NaN for an empty sketch. */
double rs_detect_sketch_quantile(const void *ctx, double p);

/** @brief CI of the sketch's p75, n = its total weight.
 *  @returns 0, or RS_DETECT_EINVAL (NULL or empty sketch, count < 1, level
 *           outside (0, 1)) with NaN bounds. */
int rs_detect_p75_ci(const rs_sketch_t *sk, double level, double *lo,
                     double *hi);

/* ---- Judging a window -------------------------------------------------- */

typedef enum {
        RS_DETECT_SEV_NONE = 0,
        RS_DETECT_SEV_LOW,
        RS_DETECT_SEV_MEDIUM,
        RS_DETECT_SEV_HIGH,
        RS_DETECT_SEV_CRITICAL,
} rs_detect_severity_t;

typedef enum {
        RS_DETECT_NO_DATA = 0,
        RS_DETECT_HEALTHY,
        RS_DETECT_WATCH,
        RS_DETECT_BREACH,
} rs_detect_status_t;

/* Why a window is not a breach (rs_detect_verdict_t.flags). */
#define RS_DETECT_F_NO_VALUE     0x01 /**< value NaN or not finite */
#define RS_DETECT_F_FEW_SAMPLES  0x02 /**< samples < min_samples */
#define RS_DETECT_F_NO_BASELINE  0x04 /**< baseline not valid */
#define RS_DETECT_F_ZERO_LEVEL   0x08 /**< baseline level <= 0 */
#define RS_DETECT_F_SMALL_CHANGE 0x10 /**< |degradation| < min_degradation */
#define RS_DETECT_F_LOW_SCORE    0x20 /**< score < z_threshold */
#define RS_DETECT_F_CI_OVERLAP   0x40 /**< CI lower bound <= level */
#define RS_DETECT_F_NOT_HELD     0x80 /**< budget: not for its duration */

/** One window of a series, as judged. */
typedef struct rs_detect_window_s {
        int64_t ts_ms; /**< window start */
        double  value; /**< p75, NaN = no data */
        double  ci_lo; /**< CI of the p75 (rs_detect_p75_ci()) */
        double  ci_hi;
        double  samples; /**< page views (or their weight) */
} rs_detect_window_t;

/** @brief A window from its merged sketch: value = p75, CI at
 *         c->ci_level, samples = total weight; NaN value (no data) for a
 *         NULL or empty sketch. @param c NULL for the defaults. */
void rs_detect_window_from_sketch(const rs_detect_conf_t *c,
                                  const rs_sketch_t *sk, int64_t ts_ms,
                                  rs_detect_window_t *w);

/**
 * @brief A window of a rate series (errors per page view): value =
 *        \p weighted / \p exposure, samples = \p exposure, and the
 *        interval at \p level of the Poisson rate from the score test on
 *        the \p events actually received: with z = Phi^-1((1 + level) / 2)
 *          x + z^2 / 2 -+ z sqrt(x + z^2 / 4)   (x = events)
 *        over the exposure, scaled by weighted / events (sampled errors
 *        are re-weighted; the uncertainty rests on those received). No
 *        events: [0, z^2 / exposure]. Never an infinite bound: even one
 *        event bounds the rate.
 * @returns 0, or RS_DETECT_EINVAL (NULL w, exposure <= 0, a negative or
 *          non-finite count, level outside (0, 1)) with NaN value and bounds.
 */
int rs_detect_window_from_rate(double events, double weighted, double exposure,
                               double level, int64_t ts_ms,
                               rs_detect_window_t *w);

typedef struct rs_detect_verdict_s {
        rs_detect_status_t   status;
        rs_detect_severity_t severity; /**< none unless breach */
        unsigned             flags;    /**< RS_DETECT_F_* */
        int64_t              ts_ms;    /**< the judged window */
        double               value;    /**< its value (budget: current) */
        double expected; /**< baseline level, or the winning threshold */
        /** (value - expected) / expected; budget: how far past the
         *  threshold in the bad direction, relative; or NaN */
        double degradation;
        double score; /**< robust score, NaN for budgets */
        int    rule;  /**< budget: index of the winning rule, or -1 */
        /** baseline end the judge used (RS_DETECT_NO_FREEZE for budgets):
         *  the lifecycle freezes at it */
        int64_t baseline_end_ms;
} rs_detect_verdict_t;

/**
 * @brief Regression of window \p w against baseline \p b (rules at the
 *        top, 3).
 * @param c configuration, or NULL for the defaults.
 * @returns 0 (every status is a result), or RS_DETECT_EINVAL (NULL
 *          b/w/out, bad configuration; out, if not NULL, is no_data).
 */
int rs_detect_regression(const rs_detect_conf_t     *c,
                         const rs_detect_baseline_t *b,
                         const rs_detect_window_t *w, rs_detect_verdict_t *out);

typedef struct rs_detect_shift_s {
        int    valid;     /**< enough recent windows and a valid baseline */
        int    direction; /**< +1 up (worse), -1 down (better), 0 none */
        size_t n;         /**< recent windows with data used */
        double recent;    /**< their median */
        double change;    /**< (recent - level) / level */
        double score;     /**< (recent - level) / spread */
        rs_detect_verdict_t verdict; /**< breach when up, for rs_detect_feed */
} rs_detect_shift_t;

/**
 * @brief Level shift of the last c->shift_windows of the \p n windows in
 *        \p recent (oldest first, the current last) against \p b, built
 *        from the history before the first of them with now_ms = the start
 *        of the middle one, recent[n - k + (k - 1) / 2] with k =
 *        shift_windows (rules at the top, 3).
 * @returns 0, or RS_DETECT_EINVAL (NULL b/out or recent with n > 0, bad
 *          configuration; out, if not NULL, is not valid, no_data).
 */
int rs_detect_level_shift(const rs_detect_conf_t     *c,
                          const rs_detect_baseline_t *b,
                          const rs_detect_window_t *recent, size_t n,
                          rs_detect_shift_t *out);

/** @brief "none", "low", "medium", "high", "critical", or "unknown". */
const char *rs_detect_severity_name(rs_detect_severity_t s);
/** @returns 0 and sets \p out, or -1 (case-insensitive names above, not
 *           "none"). */
int rs_detect_severity_from_name(const char *name, rs_detect_severity_t *out);
/** @brief "no_data", "healthy", "watch", "breach", or "unknown". */
const char *rs_detect_status_name(rs_detect_status_t s);

/* ---- Budget rules ------------------------------------------------------ */

typedef enum {
        RS_DETECT_OP_GT = 0, /**< > */
        RS_DETECT_OP_GE,     /**< >= */
        RS_DETECT_OP_LT,     /**< < */
        RS_DETECT_OP_LE,     /**< <= */
} rs_detect_op_t;

typedef struct rs_detect_rule_s {
        char                 metric[RS_DETECT_METRIC_MAX]; /**< lower case */
        rs_detect_op_t       op;
        double               threshold;    /**< ms, or plain for cls */
        unsigned             for_windows;  /**< >= 1 */
        rs_detect_severity_t severity;     /**< low .. critical */
        unsigned             line, column; /**< where it was written */
} rs_detect_rule_t;

typedef struct rs_detect_rules_s rs_detect_rules_t;

/**
 * @brief Parses rule text (grammar at the top, 5).
 * @returns a new rule set (an empty text gives one without rules), or
 *          NULL with "line L, column C: reason" in errstr. Caller frees
 *          with rs_detect_rules_destroy().
 */
rs_detect_rules_t *rs_detect_rules_parse(const char *text, char *errstr,
                                         size_t errstr_size);
void               rs_detect_rules_destroy(rs_detect_rules_t *r);

/**
 * @brief The rules for \p metric (case-insensitive) of \p tenant (NULL:
 *        the default set), per-metric override at the top (5).
 * @param out receives a pointer to the first rule, owned by \p r and valid
 *        until rs_detect_rules_destroy(); NULL when there are none.
 * @returns how many rules (contiguous from *out), in the order written.
 */
size_t rs_detect_rules_find(const rs_detect_rules_t *r, const char *tenant,
                            const char *metric, const rs_detect_rule_t **out);

/** @brief Rules in all sets, and tenant blocks (either pointer may be
 *         NULL); 0 for NULL r. */
void rs_detect_rules_count(const rs_detect_rules_t *r, size_t *rules,
                           size_t *tenants);

/** @brief ">", ">=", "<", "<=", or "?". */
const char *rs_detect_op_name(rs_detect_op_t op);

/**
 * @brief Budget verdict of the current window (the last of \p n, oldest
 *        first) under \p rules (rules at the top, 3). Pass at least the
 *        largest for_windows windows (more when some lack data).
 * @param c configuration, or NULL for the defaults (min_samples).
 * @returns 0, or RS_DETECT_EINVAL (NULL out, NULL rules with nrules > 0,
 *          NULL wins with n > 0, bad configuration; out, if not NULL, is
 *          no_data). No rules: healthy; n = 0: no_data.
 */
int rs_detect_budget(const rs_detect_conf_t *c, const rs_detect_rule_t *rules,
                     size_t nrules, const rs_detect_window_t *wins, size_t n,
                     rs_detect_verdict_t *out);

/* ---- Lifecycle --------------------------------------------------------- */

typedef enum {
        RS_DETECT_KIND_REGRESSION = 0,
        RS_DETECT_KIND_BUDGET,
        RS_DETECT_KIND_SHIFT,
} rs_detect_kind_t;

typedef enum {
        RS_DETECT_EVENT_NONE = 0,
        RS_DETECT_EVENT_OPEN,
        RS_DETECT_EVENT_UPDATED,
        RS_DETECT_EVENT_RESOLVED,
} rs_detect_event_t;

typedef struct rs_detect_lifecycle_conf_s {
        unsigned open_after;      /**< consecutive breaches, >= 1 */
        unsigned resolve_after;   /**< consecutive healthy windows, >= 1 */
        double   update_fraction; /**< value move for UPDATED, >= 0 */
} rs_detect_lifecycle_conf_t;

/** @brief Defaults for \p kind: open_after 3 (regression) or 1 (budget,
 *         shift), resolve_after 5, update_fraction 0.25. */
void rs_detect_lifecycle_defaults(rs_detect_kind_t            kind,
                                  rs_detect_lifecycle_conf_t *c);

/** Lifecycle of one (series, kind): plain numbers, persist as they are.
 *  Start from rs_detect_state_init(). After RESOLVED, version, since_ms,
 *  opened_ms, severity and the noticed numbers still describe the issue
 *  just resolved (for its last version) until the next OPEN. */
typedef struct rs_detect_state_s {
        int32_t  open;             /**< 1 while an issue is open */
        int32_t  severity;         /**< of the last notice, 0 before any */
        uint32_t breach_run;       /**< consecutive breaches, not yet open */
        uint32_t healthy_run;      /**< consecutive healthy windows, open */
        uint32_t change_run;       /**< consecutive changed breaches, open */
        int64_t  version;          /**< 1 at OPEN, + 1 per notice after */
        int64_t  since_ms;         /**< first window of the last breach run */
        int64_t  opened_ms;        /**< window that opened the issue, or 0 */
        int64_t  freeze_ms;        /**< baseline end kept, or NO_FREEZE */
        double   noticed_value;    /**< value at the last notice, or NaN */
        double   noticed_expected; /**< its expected, or NaN */
} rs_detect_state_t;

/** @brief A closed lifecycle with nothing pending. */
void rs_detect_state_init(rs_detect_state_t *st);

/**
 * @brief Feeds one window's verdict (rules at the top, 4).
 * @param c NULL for rs_detect_lifecycle_defaults(regression); open_after
 *        and resolve_after of 0 are taken as 1.
 * @returns the event; RS_DETECT_EVENT_NONE for NULL st or v. A breach's
 *          severity is clamped to low .. critical.
 */
rs_detect_event_t rs_detect_feed(const rs_detect_lifecycle_conf_t *c,
                                 rs_detect_state_t                *st,
                                 const rs_detect_verdict_t        *v);

/** @brief The history end to build the next baseline from: \p end_ms, or
 *         the frozen end if earlier (a breach pending or open). */
int64_t rs_detect_state_end(const rs_detect_state_t *st, int64_t end_ms);

/** @brief "none", "open", "updated", "resolved", or "unknown". */
const char *rs_detect_event_name(rs_detect_event_t e);

/* ---- Explanation ------------------------------------------------------- */

/** One segment of a series; the caller fills the inputs. */
typedef struct rs_detect_segment_s {
        const char *name;       /**< e.g. "mobile" */
        double      base_share; /**< baseline share or page views, >= 0 */
        double      base_p75;   /**< NaN allowed when base_share is 0 */
        double      cur_share;  /**< current share or page views, >= 0 */
        double      cur_p75;    /**< NaN allowed when cur_share is 0 */
        /* outputs of rs_detect_explain(), in the p75's unit */
        double within; /**< (x1 - x0) * (w0 + w1) / 2 */
        double mix;    /**< (w1 - w0) * ((x0 + x1) / 2 - Pbar) */
} rs_detect_segment_t;

typedef struct rs_detect_explain_s {
        double base;    /**< P0 = sum w0 x0 (normalised shares) */
        double current; /**< P1 = sum w1 x1 */
        double change;  /**< P1 - P0 = within + mix */
        double within;  /**< sum of the segments' within */
        double mix;     /**< sum of the segments' mix */
} rs_detect_explain_t;

/**
 * @brief Shift-share decomposition of the change (rules at the top, 6):
 *        fills each segment's within and mix and the totals.
 * @returns 0, or RS_DETECT_EINVAL (NULL segs with n > 0 or NULL out, a
 *          negative or non-finite share, a period whose shares sum to 0,
 *          a NaN p75 whose segment has a share in that period, a p75 NaN
 *          in both periods or infinite); out is then all NaN.
 */
int rs_detect_explain(rs_detect_segment_t *segs, size_t n,
                      rs_detect_explain_t *out);

/**
 * @brief One line in plain words after rs_detect_explain(): the larger
 *        effect in the direction of the change, and its segment with the
 *        largest contribution in that direction:
 *          "mostly within segments: mobile LCP +45%"
 *          "mostly traffic mix: mobile share 40% -> 70%"
 *        (percentages rounded by printf; "mobile LCP 0 -> 120" when the
 *        baseline p75 is 0), or "no change" when change is 0.
 * @param metric label printed as given (e.g. "LCP"), NULL for "p75".
 * @returns the length of the full text, as snprintf; buf is always
 *          NUL-terminated when size > 0.
 */
size_t rs_detect_explain_text(const rs_detect_segment_t *segs, size_t n,
                              const rs_detect_explain_t *e, const char *metric,
                              char *buf, size_t size);

#endif
