/*
 * anomaly-detector: regressions, level shifts and budget breaches of real
 * users' Web Vitals, as issues.
 *
 * Input: rum.aggregates, one RumAggregate per (tenant, route, segment,
 * window) with a sketch per metric (and error.aggregates: error rates,
 * below). The stream's windows have the
 * aggregator's size (window.size_ms, 60 s by default): an aggregate must
 * cover exactly one window ([start, start + size), start aligned), else it
 * is dead-lettered as "invalid"; a second aggregate of the same key in a
 * window (an aggregator replay) is a duplicate, counted and skipped; one of
 * a window judged already is late (dead-lettered "late", counted).
 *
 * Series: (tenant, route, segment_type, segment_value, metric) for the
 * metrics of `metrics` and the segment types of `segment_types` (default
 * lcp, inp, cls, fcp, ttfb over "all" and "device"). When the watermark of
 * a partition closes a window, every series with an aggregate in it is
 * judged (series without one are not: a window without data is
 * transparent), the route's "all" series before its segments:
 *   - the window: p75, its confidence interval and the page views that
 *     measured the metric, from the sketch (common/detect 2; the CI uses
 *     the measured count, not the sample-rate weight);
 *   - the baseline: the series' history of window p75s before it (windows
 *     with fewer than detect.min_samples page views count as no data),
 *     frozen at the start of a breach (common/detect 4);
 *   - three judges, each with its own lifecycle: regression (against the
 *     baseline, opens after lifecycle.open_after breaching windows),
 *     level_shift (median of the last detect.shift_windows windows) and
 *     budget_breach (the rules of `budget.rules`, per-tenant overrides,
 *     on the "all" series only: a budget is a promise about the route).
 * Issues are raised as RUM users expect one issue per problem:
 *   - a level_shift is the change single windows were too noisy to prove:
 *     it is not raised while the series' regression is pending or open;
 *   - a segment's (e.g. mobile's) regression or shift is not raised while
 *     the route's "all" series has one of that kind pending or open: the
 *     route's issue names the segments that drove it. A regression of one
 *     segment that the whole route does not show gets its own issue.
 * (Suppressed verdicts are fed as no data: they neither open nor resolve.)
 *
 * Issues (common/issues): kinds regression, level_shift, budget_breach,
 * id = rs_id(tenant, kind, route, segment type and value, metric, start of
 * the window that opened it), so a replay raises the same ids; state and
 * version from the lifecycle (open 1, updated on a lasting severity or
 * value change, resolved after lifecycle.resolve_after healthy windows);
 * severity medium / high / critical by degradation (regressions, shifts)
 * or the rule's (budgets); observed = the window's p75, baseline = the
 * expected level, threshold = the value the window had to pass, sample
 * size = its page views; opened_at = start of the opening window,
 * updated_at = end of the judged window (event time, so replays agree).
 * Evidence: degradation %, robust score, p75 CI, window, baseline windows
 * and season, the budget rule, and for an "all" series with device
 * segments, which devices drove the change (common/detect 6: each
 * device's p75 and page views in the window against its own baseline p75
 * and page views over the same baseline windows).
 *
 * Durability: each judged window's value per series goes to anomaly_series
 * and each changed lifecycle to anomaly_state, in the checkpoint
 * transaction that stores the positions (migrations/0005_anomaly.sql). On
 * assignment a partition reloads the states and the windows the rings
 * held (2 x detect.history + detect.shift_windows + history.season_windows
 * per series: the recent ones, and the `history` windows before the
 * freeze of a pending or open breach, kept however long it lasts), so a restart
 * or the next owner judges the next window on the same numbers, and windows
 * judged already are skipped by the stream: a replay never raises a second
 * issue. Memory: at most limits.max_series series per partition (more are
 * counted in anomaly_series_overflow_total and not tracked), a fixed ring per
 * series. Every retention.prune_every_ms of event time, rows older than
 * retention.ms are deleted in the checkpoint and series without data since then
 * (and nothing pending or open) are forgotten; a reload applies the same
 * cut-off.
 *
 * Per-tenant thresholds: `tenant_overrides`, e.g.
 *   "acme-shop: min_degradation=0.3, z_threshold=4, min_samples=100;
 *    globex-news: min_degradation=0.1"
 * (';' or a newline between tenants, ',' between settings; a tenant id may
 * hold ':', it ends at the last ':' before the first '='). The keys are
 * min_samples, min_degradation, z_threshold, high_degradation,
 * critical_degradation (the detect.* settings), open_after and
 * resolve_after (lifecycle.*; resolve_after for all three kinds), each
 * with the bounds of its setting; a tenant's entry starts from the
 * defaults and applies to every series of the tenant (its baselines,
 * regressions, level shifts, budget lifecycles and issue thresholds). At
 * most AD_MAX_TENANT_CONFS (64) tenants, each once, a key once per tenant.
 * A bad text (unknown key or tenant id, a value out of bounds, critical
 * under high) stops the start with status 2 and "tenant_overrides:
 * position N, tenant 'T': ..." (N counts characters from 1). Per-tenant
 * budgets are the tenant blocks of budget.rules. History, seasonality,
 * ci_level and shift_windows stay global (they size the rings).
 *
 * Error rates (rates.c): with error_topic set (default
 * error.aggregates), the error-tracker's ErrorAggregates are joined with
 * the routes' all-traffic page views, partition by partition (the topics
 * must have the same partition count; a mismatch stops the start), and
 * every route with page views in a window gets a point on the series
 * (tenant, route, all, all, error_rate) = weighted errors / page views,
 * with the Poisson interval of the errors received; it is judged by the
 * same three judges (budget rules may name error_rate, as a fraction or
 * a percent), its baseline's spread never below the Poisson deviation of
 * its level. The error-tracker's own error_rate issue is an absolute
 * threshold; this one is against the route's own history.
 *
 * Seasonality is off by default: a daily profile of 60 s windows needs
 * 3 days = 4320 windows per series. Turn it on with detect.seasonal and
 * history.season_windows, minding limits.max_series. Not done: a freeze
 * that lasts forever (an accepted regression stays open until the series
 * comes back).
 */
#ifndef RS_ANOMALY_DETECTOR_H
#define RS_ANOMALY_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

typedef struct detector_conf_s {
        rs_stream_conf_t stream;
        char            *issues_topic;
        char            *metrics;
        char            *segment_types;
        char            *rules;
        char            *tenant_overrides;
        int64_t          history;
        int64_t          min_history;
        double           spread_floor;
        char            *seasonal;
        int64_t          season_min_days;
        int64_t          season_min_weeks;
        int64_t          season_windows;
        double           min_samples;
        double           min_degradation;
        double           z_threshold;
        double           ci_level;
        double           high_degradation;
        double           critical_degradation;
        int64_t          shift_windows;
        int64_t          open_after;
        int64_t          resolve_after;
        double           update_fraction;
        int64_t          max_series;
        int64_t          retention_ms;
        int64_t          prune_every_ms;
        char            *error_topic;
        int64_t          rate_max_wait_ms;
} detector_conf_t;

extern const rs_conf_item_t detector_conf_table[];

typedef struct detector_s detector_t;

/** @brief Checks what the table cannot: metrics, segment types,
 *  seasonality, budget rules and tenant_overrides, without connecting.
 *  @returns 0, or -1 with the problem in errstr. */
int detector_conf_check(const detector_conf_t *conf, char *errstr,
                        size_t errstr_size);

/** @brief Builds the detector and its stream. @returns NULL with errstr.
 *  Caller frees with detector_destroy(). \p conf must outlive it. */
detector_t *detector_new(const detector_conf_t *conf, char *errstr,
                         size_t errstr_size);
void        detector_destroy(detector_t *d);
int         detector_run(detector_t *d);
void        detector_stop(detector_t *d);

#endif
