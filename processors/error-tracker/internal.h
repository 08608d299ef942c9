/*
 * error-tracker internals shared by tracker.c (events, groups, spikes,
 * wiring) and rates.c (the join with page views into error rates).
 */
#ifndef RS_TRACKER_INTERNAL_H
#define RS_TRACKER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/avro.h"
#include "rumstream/classify.h"
#include "rumstream/distinct.h"
#include "rumstream/event.h"
#include "rumstream/issues.h"
#include "rumstream/join.h"
#include "rumstream/map.h"
#include "rumstream/pg.h"
#include "rumstream/pii.h"
#include "rumstream/route.h"
#include "rumstream/stream.h"

#include "tracker.h"

#define PROCESSOR  "error-tracker"
#define OVERFLOW   "__overflow__"
#define TEXT_MAX   8192 /* scrubbed message, stack, url */
#define CRUMBS_MAX 8192

typedef struct tenant_s {
        char   *name;
        int64_t first_seen_ms; /* start of its first window */
        int64_t groups;        /* admitted */
        int     stored;        /* in error_tenants */
} tenant_t;

typedef struct group_s {
        struct group_s *next_open; /* groups with an open issue */
        tenant_t       *tenant;
        int32_t         partition;
        char            id[33];
        int             overflow;
        /* Description (from the first event). */
        char *kind, *error_type, *category, *severity, *title, *message,
            *frames;
        /* Sample, kept until the group's first window is written. */
        char   *s_event_id, *s_message, *s_stack, *s_url, *s_crumbs;
        int64_t first_seen_ms, last_seen_ms;
        int     stored; /* a row exists (or is being written) */
        int     dirty;  /* row changed since the last checkpoint */
        int     on_open_list;
        /* Detector state after the window ending at state_window_end. */
        int64_t state_window_end;
        double  baseline;
        int64_t windows_tracked;
        char    spike_id[33]; /* "" when no spike is open */
        int64_t spike_opened_ms;
        int64_t spike_version;
        int64_t new_version;       /* 0: never raised */
        int     new_open;          /* new_error issue open */
        int64_t last_error_window; /* start of the last window with errors */
        int64_t errors_total;      /* over every window written */
        double  weighted_total;
} group_t;

typedef struct pair_s pair_t;

typedef struct pstate_s {
        int32_t   partition;
        pair_t   *pair;
        rs_map_t *tenants; /* name -> tenant_t */
        rs_map_t *groups;  /* tenant \0 group id -> group_t */
        group_t  *open;    /* groups with an open issue */
} pstate_t;

typedef struct cell_s {
        int64_t       errors;
        double        weighted;
        rs_distinct_t sessions;
} cell_t;

typedef struct gwin_s {
        group_t *group;
        int64_t  errors;
        double   weighted;
        int64_t  min_ts, max_ts;
} gwin_t;

typedef struct win_s {
        rs_map_t *cells;  /* tenant \0 group \0 route -> cell_t */
        rs_map_t *routes; /* tenant \0 route -> cell_t */
        rs_map_t *groups; /* tenant \0 group -> gwin_t */
} win_t;

struct tracker_s {
        const tracker_conf_t *conf;
        rs_stream_t          *stream;
        rs_avro_registry_t   *reg;
        rs_avro_decoder_t    *dec;
        rs_avro_encoder_t    *enc_agg;
        rs_avro_encoder_t    *enc_event; /* scrubbed dead letters */
        rs_pii_t             *pii;
        rs_classify_t        *cls;

        /* Scratch for one event. */
        char msg[TEXT_MAX], stack[TEXT_MAX], url[TEXT_MAX], req[TEXT_MAX];
        char file[TEXT_MAX], etype[512], route[TEXT_MAX];
        char crumb_msg[RS_EVENT_MAX_BREADCRUMBS][1024];
        char crumb_cat[RS_EVENT_MAX_BREADCRUMBS][128];
        char crumbs[CRUMBS_MAX];

        rs_pg_batch_t *b_aggs, *b_routes, *b_tenants, *b_groups, *b_state;
        rs_issues_t   *issues; /* new_error, error_spike, error_rate */

        /* Error rates (rates.c). */
        rs_stream_conf_t    sconf;  /* conf->stream with both topics */
        char               *topics; /* owned by sconf.input_topic */
        rs_avro_decoder_t  *dec_pv;
        rs_metric_summary_t pv_metrics[RS_METRIC_CNT + 64];
        rs_join_t           join; /* pairs by partition number */
        rs_join_conf_t      jconf;
        rs_pg_batch_t      *b_pv, *b_rates, *b_rate_state, *b_progress;
        rs_counter_t       *c_page_views, *c_rate_skipped;
        rs_map_t           *dirty_groups; /* groups to write, by pointer */

        int           replaying; /* the event being read was seen before */
        rs_counter_t *c_scrubbed[RS_PII_KIND_CNT];
        rs_counter_t *c_events, *c_replay_skipped, *c_clamped,
            *c_group_overflow, *c_key_overflow, *c_issues;
};


/* tracker.c */
char *trk_xstrdup(const char *s);

/*
 * rates.c: error rate per (tenant, route, window) = weighted errors / page
 * views, the page views coming from rum.aggregates (the all-traffic
 * roll-up), and the error_rate issue over it.
 */
int  rates_init(tracker_t *t, char *errstr, size_t errstr_size);
void rates_destroy(tracker_t *t);
/** @brief Fails if the two joined topics exist with different partition
 *         counts (the join pairs partition p of both). */
int rates_check_topics(tracker_t *t, char *errstr, size_t errstr_size);
/** @returns 1 if \p part is of the page-view topic. */
int  rates_is_pv_part(const tracker_t *t, const rs_stream_part_t *part);
int  rates_part_open(tracker_t *t, rs_stream_part_t *part, pstate_t *ps,
                     rs_pg_t *pg, char *errstr, size_t errstr_size);
void rates_part_close(tracker_t *t, rs_stream_part_t *part);
void rates_message(tracker_t *t, rs_stream_part_t *part,
                   const rd_kafka_message_t *msg, int replay);
/** @brief The errors side of \p pair received input now. */
void rates_touch_errors(pair_t *pair);
/** @brief The errors side closed a window: its (tenant, route) counts. */
void rates_errors(tracker_t *t, pair_t *pair, int64_t start, const char *tenant,
                  const char *route, int64_t errors, double weighted);
/** @brief After a partition's emit: judge what both sides have closed. */
int  rates_emit(tracker_t *t, rs_stream_part_t *part);
int  rates_write(tracker_t *t, rs_pg_t *pg, char *errstr, size_t errstr_size);
void rates_written(tracker_t *t);

#endif
