/*
 * event: the C views of the records on rumstream's topics, and their
 * mapping to and from Avro values of the schemas in schemas/.
 *
 * Readers fill a struct whose strings point into the Avro value (valid as
 * long as that value is, i.e. until the decoder's next call): no copies and
 * no allocation per record. Fields are addressed by their position in the
 * reader schema, which rs_event_check_schemas() verifies once at start.
 */
#ifndef RS_EVENT_H
#define RS_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <avro.h>

#include "rumstream/vitals.h"

#define RS_EVENT_MAX_CUSTOM_TIMINGS 32

typedef struct rs_custom_timing_s {
        const char *name;
        double      value;
} rs_custom_timing_t;

/** A page view with its performance measurements (schemas/rum_event.avsc).*/
typedef struct rs_rum_event_s {
        const char *event_id;
        const char *tenant_id;
        const char *session_id;
        const char *user_id; /**< NULL if absent */
        int64_t     timestamp_ms;
        const char *url;
        const char *navigation_type;
        const char *device_type;
        const char *country;
        const char *connection_type;
        const char *browser;
        int         consent;
        double      sample_rate;
        /** Web Vitals and navigation timing by rs_metric_t; NAN = absent. */
        double metrics[RS_METRIC_CNT];
        /** Custom timings; the reader keeps the first
         *  RS_EVENT_MAX_CUSTOM_TIMINGS and counts the rest in
         *  custom_dropped. */
        rs_custom_timing_t custom[RS_EVENT_MAX_CUSTOM_TIMINGS];
        size_t             custom_cnt;
        size_t             custom_dropped;
} rs_rum_event_t;

/** Summary of one metric within an aggregate. */
typedef struct rs_metric_summary_s {
        const char *name;
        const char *unit;
        int64_t     samples; /**< events that carried the metric */
        double      weight;  /**< samples weighted by 1/sample_rate */
        double      mean;
        double      p50, p75, p95, p99;
        double good, needs_improvement, poor; /**< weighted; 0 if unrated */
        const void *sketch;                   /**< rs_sketch_serialize() */
        size_t      sketch_len;
} rs_metric_summary_t;

/** Aggregate of one (tenant, route, segment, window) (rum_aggregate.avsc).*/
typedef struct rs_rum_aggregate_s {
        const char *aggregate_id;
        const char *tenant_id;
        const char *route;
        const char *segment_type; /**< all, device, country, connection */
        const char *segment_value;
        int64_t     window_start_ms;
        int64_t     window_end_ms;
        int64_t     events;     /**< events received */
        double      page_views; /**< events weighted by 1/sample_rate */
        rs_metric_summary_t *metrics;
        size_t               metric_cnt;
} rs_rum_aggregate_t;

/**
 * @brief Verifies that the compiled-in schemas have the fields at the
 *        positions this module reads and writes.
 * @returns 0, or -1 with the first mismatch in errstr.
 */
int rs_event_check_schemas(char *errstr, size_t errstr_size);

/** @brief Fills \p ev from \p v (a RumEvent value). Strings borrow from v.
 *  @returns 0 or -1 with errstr set if the value does not have the shape. */
int rs_rum_event_read(avro_value_t *v, rs_rum_event_t *ev, char *errstr,
                      size_t errstr_size);
/** @brief Sets every field of \p v (a RumEvent value) from \p ev. */
int rs_rum_event_write(avro_value_t *v, const rs_rum_event_t *ev);

/**
 * @brief Fills \p agg from \p v (a RumAggregate value). Up to \p metrics_cap
 *        summaries go to \p metrics (agg->metrics points there); strings and
 *        sketches borrow from v.
 * @returns 0 or -1 with errstr set.
 */
int rs_rum_aggregate_read(avro_value_t *v, rs_rum_aggregate_t *agg,
                          rs_metric_summary_t *metrics, size_t metrics_cap,
                          char *errstr, size_t errstr_size);
int rs_rum_aggregate_write(avro_value_t *v, const rs_rum_aggregate_t *agg);

/**
 * @brief Encodes \p agg as a framed message of schema \p schema_id (a
 *        RumAggregate schema of the compiled-in layout) straight into
 *        \p buf, without Avro values: the aggregator writes one per
 *        aggregate, and the generic path cost as much as the rest of the
 *        work per aggregate. The bytes equal the generic encoder's (tests
 *        compare them).
 * @returns the length the message needs; it was written only if <= size.
 */
size_t rs_rum_aggregate_encode(const rs_rum_aggregate_t *agg, int32_t schema_id,
                               void *buf, size_t size);

#endif
