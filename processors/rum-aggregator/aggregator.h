/*
 * rum-aggregator: Web Vitals of page views, aggregated per tenant, route,
 * segment and tumbling window.
 *
 * Per event: decode, validate, drop events without consent, weight by
 * 1/sample_rate, normalize the URL into a route (capped per tenant), then add
 * the measurements to four aggregates of its window: the route's all-traffic
 * roll-up and its device, country and connection segments. Web Vitals are
 * kept per segment; the navigation-timing breakdown and custom timings
 * ("custom.<name>", capped per tenant) for the roll-up only.
 * A closed window becomes one RumAggregate message per (tenant, route,
 * segment) on the output topic and rows in rum_page_views / rum_aggregates,
 * written by rs_stream's checkpoint with the input position.
 */
#ifndef RS_AGGREGATOR_H
#define RS_AGGREGATOR_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

/* Upper bound of limits.max_custom_timings_per_tenant. */
#define RS_AGG_MAX_CUSTOM 64

typedef struct agg_conf_s {
        rs_stream_conf_t stream;
        char            *output_topic;
        int64_t          max_tenants;
        int64_t          max_routes_per_tenant;
        int64_t          max_clock_skew_ms;
        int64_t          max_custom_timings;
        double           relative_accuracy;
        double           max_timing_ms;
        double           max_cls;
        int              navigation_timing;
} agg_conf_t;

extern const rs_conf_item_t agg_conf_table[];

typedef struct agg_s agg_t;

/** @brief Builds the aggregator and its stream. @returns NULL with errstr.
 *  Caller frees with agg_destroy(). \p conf must outlive it. */
agg_t *agg_new(const agg_conf_t *conf, char *errstr, size_t errstr_size);
void   agg_destroy(agg_t *a);
int    agg_run(agg_t *a);
void   agg_stop(agg_t *a);

#endif
