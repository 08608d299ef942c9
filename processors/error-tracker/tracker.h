/*
 * error-tracker: front-end errors grouped, counted per window and watched
 * for new groups and spikes.
 *
 * Per event: decode, validate, scrub personal data out of every text
 * (common/pii), normalize the route, fingerprint the error into a group
 * (common/fingerprint) and classify it (common/classify), then count it in
 * its window under (tenant, group, route) and (tenant, route), with the
 * affected sessions (common/distinct). A group is admitted to its tenant's
 * set when first seen (capped per tenant; beyond, errors count under the
 * group __overflow__).
 *
 * A closed window becomes ErrorAggregate records on the output topic and
 * rows in error_aggregates and error_route_windows; then each group of the
 * window is judged in window order:
 *   - new error: a group admitted after its tenant's warm-up opens a
 *     new_error issue, resolved once the group has been quiet for
 *     new_error.quiet_windows windows;
 *   - spike: errors in the window >= spike.min_errors and >= spike.factor
 *     times the group's baseline (an exponentially weighted mean of its
 *     errors per window, zero windows included) open an error_spike issue,
 *     updated every window it lasts and resolved when the window's errors
 *     fall below spike.resolve_factor times the baseline; the baseline
 *     stands still while the spike lasts.
 * Page views per (tenant, route, window) come from the all-traffic roll-up
 * on rum.aggregates, consumed alongside (co-partitioned by tenant, range
 * assignor): once both inputs of a partition have closed a window, the
 * error rate of every route (weighted errors / page views) is written to
 * error_rates, and a rate above error_rate.threshold for
 * error_rate.duration_ms opens an error_rate issue, resolved when it drops
 * back (rates.c).
 * Issues go to the issues topic and to issues / issue_versions. The
 * detector state of every group is written to error_groups with the
 * window's rows and the input position, and loaded again when the
 * partition is assigned: a restart carries on exactly.
 */
#ifndef RS_TRACKER_H
#define RS_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

typedef struct tracker_conf_s {
        rs_stream_conf_t stream;
        char            *output_topic;
        char            *issues_topic;
        char            *sensitive_keys;
        char            *classify_rules;
        int64_t          max_tenants;
        int64_t          max_groups_per_tenant;
        int64_t          max_keys_per_window;
        int64_t          max_clock_skew_ms;
        int64_t          new_error_warmup_ms;
        int64_t          new_error_quiet_windows;
        double           spike_factor;
        double           spike_resolve_factor;
        int64_t          spike_min_errors;
        int64_t          spike_min_history;
        double           spike_alpha;
        char            *page_views_topic;
        double           rate_threshold;
        int64_t          rate_duration_ms;
        double           rate_min_page_views;
        int64_t          rate_max_wait_ms;
} tracker_conf_t;

extern const rs_conf_item_t tracker_conf_table[];

typedef struct tracker_s tracker_t;

/** @brief Builds the tracker and its stream. @returns NULL with errstr.
 *  Caller frees with tracker_destroy(). \p conf must outlive it. */
tracker_t *tracker_new(const tracker_conf_t *conf, char *errstr,
                       size_t errstr_size);
void       tracker_destroy(tracker_t *t);
int        tracker_run(tracker_t *t);
void       tracker_stop(tracker_t *t);

#endif
