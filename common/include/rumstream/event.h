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

#include "rumstream/avro.h"
#include "rumstream/vitals.h"

#define RS_EVENT_MAX_CUSTOM_TIMINGS 32
/* Tenant ids: 1 to this many characters of [A-Za-z0-9._:-]. */
#define RS_EVENT_MAX_TENANT_LEN 128
/* Event times before 2000-01-01 are garbage. */
#define RS_EVENT_MIN_TIME_MS 946684800000LL

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

#define RS_EVENT_MAX_BREADCRUMBS 32
#define RS_EVENT_MAX_EVIDENCE    16

/*
 * Optional fields of the records below, in C: a NULL string, NAN for a
 * double, and -1 for an int or long (whose values are never negative:
 * line numbers, statuses, sizes, timestamps). Writers turn each of these
 * into null, and any negative int or long too; readers turn null back
 * into them.
 */

/** Something that happened shortly before an error. */
typedef struct rs_breadcrumb_s {
        int64_t     timestamp_ms;
        const char *category; /**< navigation, ui.click, console, xhr ... */
        const char *message;
} rs_breadcrumb_t;

/** A front-end error or failed / slow request (error_event.avsc). */
typedef struct rs_error_event_s {
        const char *event_id;
        const char *tenant_id;
        const char *session_id;
        const char *user_id; /**< NULL if absent */
        int64_t     timestamp_ms;
        const char *kind; /**< js_error, unhandled_rejection, network_error,
                               http_error, slow_request, resource_error */
        const char *error_type;
        const char *message;
        const char *stack;       /**< NULL if absent */
        const char *file;        /**< NULL if absent */
        int32_t     line;        /**< -1 if absent */
        int32_t     column;      /**< -1 if absent */
        int32_t     http_status; /**< -1 if absent */
        const char *http_method; /**< NULL if absent */
        const char *request_url; /**< NULL if absent */
        double      duration_ms; /**< NAN if absent */
        const char *url;
        const char *route; /**< NULL if absent */
        const char *browser;
        const char *device_type;
        const char *release; /**< NULL if absent */
        /** Oldest first. The reader keeps the first
         *  RS_EVENT_MAX_BREADCRUMBS and counts the rest in
         *  breadcrumbs_dropped; the writer ignores breadcrumbs_dropped. */
        rs_breadcrumb_t breadcrumbs[RS_EVENT_MAX_BREADCRUMBS];
        size_t          breadcrumb_cnt;
        size_t          breadcrumbs_dropped;
        int             consent;
        double          sample_rate;
} rs_error_event_t;

/** One synthetic (lab) test run of a page (synthetic_result.avsc). */
typedef struct rs_synthetic_result_s {
        const char *run_id;
        const char *tenant_id;
        const char *test_id;
        const char *route; /**< normalized, as real-user aggregates name it */
        const char *url;
        int64_t     timestamp_ms;    /**< start of the run */
        const char *location;        /**< agent region, e.g. eu-west-1 */
        const char *device_profile;  /**< desktop, mobile or tablet */
        const char *network_profile; /**< cable, 4g, 3g, slow-3g ... */
        int         success;
        const char *error;     /**< why the run failed; NULL if absent */
        double      lcp;       /**< ms; NAN if absent (so are the others) */
        double      fcp;       /**< ms */
        double      cls;       /**< score */
        double      ttfb;      /**< ms */
        double      tbt;       /**< Total Blocking Time, ms */
        double      load_time; /**< until the load event, ms */
} rs_synthetic_result_t;

/** One entry of an issue's evidence map. */
typedef struct rs_evidence_s {
        const char *key;
        const char *value;
} rs_evidence_t;

/** A detected problem, one version of it (issue.avsc). */
typedef struct rs_issue_s {
        const char *issue_id;
        const char *tenant_id;
        const char *kind;     /**< regression, error_spike, new_error ... */
        const char *state;    /**< open, updated, resolved */
        const char *severity; /**< low, medium, high, critical */
        const char *title;
        const char *source;
        const char *route;         /**< NULL if absent */
        const char *segment_type;  /**< NULL if absent */
        const char *segment_value; /**< NULL if absent */
        const char *metric;        /**< NULL if absent */
        double      observed;      /**< NAN if absent */
        double      baseline;      /**< NAN if absent */
        double      threshold;     /**< NAN if absent */
        int64_t     sample_size;   /**< -1 if absent */
        int64_t     opened_at_ms;
        int64_t     updated_at_ms;
        int64_t     resolved_at_ms; /**< -1 while open (absent) */
        int64_t     version;
        /** Map entries in order. Keys should be distinct: of repeated
         *  keys, the writer keeps the last value. The reader keeps the
         *  first RS_EVENT_MAX_EVIDENCE and counts the rest in
         *  evidence_dropped. */
        rs_evidence_t evidence[RS_EVENT_MAX_EVIDENCE];
        size_t        evidence_cnt;
        size_t        evidence_dropped;
} rs_issue_t;

/** Errors of one group on one route over one window (error_aggregate.avsc).*/
typedef struct rs_error_aggregate_s {
        const char *aggregate_id;
        const char *tenant_id;
        const char *group_id;
        const char *route;
        int64_t     window_start_ms;
        int64_t     window_end_ms;
        int64_t     errors;          /**< error events received */
        double      weighted_errors; /**< weighted by 1/sample_rate */
        int64_t     sessions;
        int         sessions_estimated; /**< 1: sessions is an estimate */
        double      page_views;         /**< NAN if absent (not known yet) */
        double      error_rate;         /**< NAN if absent */
        const char *category;           /**< the group's error kind */
        const char *severity;
} rs_error_aggregate_t;

/* Issue ids an Alert reader keeps; a notice lists at most this many. */
#define RS_EVENT_MAX_ALERT_ISSUES 256

/** A notification about issues, routed to a channel (alert.avsc). */
typedef struct rs_alert_s {
        const char *alert_id;
        const char *issue_id; /**< the first of issue_ids */
        const char *tenant_id;
        const char *channel;
        const char *kind;     /**< firing, update, repeat, resolved */
        const char *severity; /**< low, medium, high, critical */
        const char *title;
        const char *summary;
        const char *group_key;
        int64_t     created_at_ms;
        /** The reader keeps the first RS_EVENT_MAX_ALERT_ISSUES and counts
         *  the rest in issue_ids_dropped; the writer writes issue_id_cnt
         *  (at most RS_EVENT_MAX_ALERT_ISSUES) and ignores the count. */
        const char *issue_ids[RS_EVENT_MAX_ALERT_ISSUES];
        size_t      issue_id_cnt;
        size_t      issue_ids_dropped;
} rs_alert_t;

/**
 * @brief The checks every input event passes, in this order: its tenant id
 *        (RS_EVENT_MAX_TENANT_LEN characters of [A-Za-z0-9._:-]), its
 *        event time (not before RS_EVENT_MIN_TIME_MS, and not more than
 *        \p max_skew_ms ahead of the Kafka timestamp \p msg_ts when that
 *        is known, > 0: the collector stamped the message after the event
 *        happened) and its sample rate (in (0, 1]).
 * @returns NULL if it passes, else the dead-letter reason
 *          ("invalid_tenant", "invalid_timestamp", "clock_skew",
 *          "invalid_sample_rate") with a human-readable \p detail.
 */
const char *rs_event_check_tenant(const char *tenant_id, char *detail,
                                  size_t size);
const char *rs_event_check_time_rate(int64_t ts_ms, int64_t msg_ts,
                                     int64_t max_skew_ms, double sample_rate,
                                     char *detail, size_t size);

/**
 * @brief Verifies that the compiled-in schemas have the fields at the
 *        positions this module reads and writes.
 * @returns 0, or -1 with the first mismatch in errstr.
 */
int rs_event_check_schemas(char *errstr, size_t errstr_size);

/**
 * RumEvent decoding for the hot path. A message written with the built-in
 * RumEvent schema (id RS_SCHEMA_ID_RUM_EVENT, the writer all our producers
 * use) is read straight from its bytes into the event, in the order
 * rs_event_check_schemas() verified, with the checks of the generic path
 * (strict UTF-8, varints, union branches, no trailing bytes). Anything
 * else (another writer schema, or bytes the direct reader does not take:
 * a bad value, a map of more than RS_EVENT_MAX_CUSTOM_TIMINGS timings or
 * with a repeated name) goes through the generic decoder and
 * rs_rum_event_read(), so results and error texts are those of the
 * generic path in every case.
 */
typedef struct rs_rum_event_decoder_s rs_rum_event_decoder_t;

#define RS_EVENT_ERR_INVALID (-100) /**< decoded, but not a RumEvent shape */

/** @brief A decoder over \p reg (which must outlive it). @returns NULL
 *  with errstr. */
rs_rum_event_decoder_t *rs_rum_event_decoder_new(rs_avro_registry_t *reg,
                                                 char               *errstr,
                                                 size_t errstr_size);
void                    rs_rum_event_decoder_destroy(rs_rum_event_decoder_t *d);

/**
 * @brief Decodes the framed message \p buf into \p ev. Strings borrow from
 *        the decoder until the next call.
 * @returns 0; an RS_AVRO_ERR_* code (rs_avro_err_reason() names it) or
 *          RS_EVENT_ERR_INVALID ("invalid"), with errstr set.
 */
int rs_rum_event_decode(rs_rum_event_decoder_t *d, const void *buf, size_t len,
                        rs_rum_event_t *ev, char *errstr, size_t errstr_size);

/** @brief Messages read directly and through the generic path so far. */
void rs_rum_event_decoder_counts(const rs_rum_event_decoder_t *d,
                                 uint64_t *direct, uint64_t *generic);

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

/** @brief Fills \p ev from \p v (an ErrorEvent value). Strings borrow from
 *         v. @returns 0 or -1 with errstr set. */
int rs_error_event_read(avro_value_t *v, rs_error_event_t *ev, char *errstr,
                        size_t errstr_size);
/** @brief Sets every field of \p v (an ErrorEvent value) from \p ev.
 *  @returns 0, or -1 on a NULL required string or more breadcrumbs than
 *           RS_EVENT_MAX_BREADCRUMBS. */
int rs_error_event_write(avro_value_t *v, const rs_error_event_t *ev);

/** @brief Fills \p r from \p v (a SyntheticResult value). Strings borrow
 *         from v. @returns 0 or -1 with errstr set. */
int rs_synthetic_result_read(avro_value_t *v, rs_synthetic_result_t *r,
                             char *errstr, size_t errstr_size);
/** @brief Sets every field of \p v (a SyntheticResult value) from \p r.
 *  @returns 0, or -1 on a NULL required string. */
int rs_synthetic_result_write(avro_value_t *v, const rs_synthetic_result_t *r);

/** @brief Fills \p is from \p v (an Issue value). Strings borrow from v.
 *  @returns 0 or -1 with errstr set. */
int rs_issue_read(avro_value_t *v, rs_issue_t *is, char *errstr,
                  size_t errstr_size);
/** @brief Sets every field of \p v (an Issue value) from \p is.
 *  @returns 0, or -1 on a NULL required string or more evidence than
 *           RS_EVENT_MAX_EVIDENCE. */
int rs_issue_write(avro_value_t *v, const rs_issue_t *is);

/** @brief Fills \p al from \p v (an Alert value). Strings borrow from v.
 *  @returns 0 or -1 with errstr set. */
int rs_alert_read(avro_value_t *v, rs_alert_t *al, char *errstr,
                  size_t errstr_size);
/** @brief Sets every field of \p v (an Alert value) from \p al.
 *  @returns 0, or -1 on a NULL required string or more issue ids than
 *           RS_EVENT_MAX_ALERT_ISSUES. */
int rs_alert_write(avro_value_t *v, const rs_alert_t *al);

/** @brief Fills \p agg from \p v (an ErrorAggregate value). Strings borrow
 *         from v. @returns 0 or -1 with errstr set. */
int rs_error_aggregate_read(avro_value_t *v, rs_error_aggregate_t *agg,
                            char *errstr, size_t errstr_size);
/** @brief Sets every field of \p v (an ErrorAggregate value) from \p agg.*/
int rs_error_aggregate_write(avro_value_t *v, const rs_error_aggregate_t *agg);

#endif
