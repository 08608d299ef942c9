/*
 * anomaly-detector internals shared by detector.c (input, configuration,
 * wiring) and judge.c (series, judging, issues, state and its reload).
 */
#ifndef RS_ANOMALY_INTERNAL_H
#define RS_ANOMALY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/avro.h"
#include "rumstream/detect.h"
#include "rumstream/event.h"
#include "rumstream/issues.h"
#include "rumstream/join.h"
#include "rumstream/map.h"
#include "rumstream/pg.h"
#include "rumstream/sketch.h"
#include "rumstream/stream.h"
#include "rumstream/vitals.h"

#include "detector.h"

#define PROCESSOR "anomaly-detector"

#define AD_MAX_METRICS  16 /* metrics of `metrics` */
#define AD_MAX_SEGTYPES 8  /* segment types of `segment_types` */

/* Kinds of issue, each with its own lifecycle per series. */
enum { AD_REG = 0, AD_BUDGET, AD_SHIFT, AD_NKIND };
extern const char *const ad_kind_name[AD_NKIND];

#define AD_MAX_TENANT_CONFS 64 /* tenants of `tenant_overrides` */

/* The thresholds a tenant's series are judged with: the defaults of the
 * table, or those with the tenant's `tenant_overrides` entry applied. */
typedef struct tconf_s {
        char                       tenant[RS_EVENT_MAX_TENANT_LEN + 1];
        rs_detect_conf_t           dconf;
        rs_detect_lifecycle_conf_t lconf[AD_NKIND];
} tconf_t;

/* One stored window of a series. */
typedef struct point_s {
        int64_t ts;      /* window start */
        double  p75;     /* NaN: empty */
        double  samples; /* page views that measured the metric */
} point_t;

typedef struct series_s {
        char             *tenant, *route, *seg_type, *seg_value;
        int               metric; /* index into detector_t.metric */
        int               is_all; /* segment_type "all" */
        const tconf_t    *tc;     /* its tenant's thresholds */
        point_t          *ring;   /* ring_cap points, oldest at head */
        size_t            head, cnt;
        rs_detect_state_t st[AD_NKIND];
        char              issue_id[AD_NKIND][33];
        int               dirty[AD_NKIND];
        /* per kind: the window of its last state change (a row of
         * anomaly_state depends on its own kind only, so a restart that
         * writes rows at other checkpoints writes the same values) */
        int64_t            changed_at[AD_NKIND];
        rs_detect_window_t cur; /* the window being judged */
} series_t;

/* What a window holds for one (tenant, route, segment type, value). */
typedef struct cell_s {
        double       page_views;
        rs_sketch_t *sk[AD_MAX_METRICS];
        int64_t      samples[AD_MAX_METRICS];
} cell_t;

/* One (tenant, route) of a window the error-rate pairs will judge. */
typedef struct rate_pend_s {
        int64_t errors;     /* error events received */
        double  weighted;   /* errors weighted by 1/sample_rate */
        double  page_views; /* the route's all-traffic page views */
        int     has_pv;
} rate_pend_t;

/* One assigned partition. */
typedef struct dpart_s {
        int32_t   partition;
        rs_map_t *series; /* series key -> series_t */
        size_t    series_cnt;
        int64_t   pruned_at;    /* prune boundary done, or RS_WINDOW_NONE */
        int64_t   prune_cutoff; /* DELETE pending, or RS_WINDOW_NONE */
} dpart_t;

struct detector_s {
        const detector_conf_t *conf;
        rs_stream_t           *stream;
        rs_avro_registry_t    *reg;
        rs_avro_decoder_t     *dec;
        rs_metric_summary_t    agg_metrics[RS_METRIC_CNT + 64];
        rs_issues_t           *issues;
        tconf_t                def;     /* tenants without overrides */
        tconf_t               *tenants; /* tenant_overrides, tenant_cnt */
        size_t                 tenant_cnt;
        rs_detect_rules_t     *rules;
        char                   metric[AD_MAX_METRICS][RS_DETECT_METRIC_MAX];
        char      metric_label[AD_MAX_METRICS][RS_DETECT_METRIC_MAX];
        int       metric_cnt;
        char      segtype[AD_MAX_SEGTYPES][RS_DETECT_METRIC_MAX];
        int       segtype_cnt;
        int       has_device;
        size_t    ring_cap;
        dpart_t **parts; /* by partition number */
        int32_t   part_cap;
        /* scratch of one judgement, ring_cap long */
        rs_detect_point_t  *pts;
        rs_detect_window_t *wins;
        double             *scratch;
        rs_pg_batch_t      *b_series, *b_state;
        rs_counter_t       *c_aggregates, *c_late, *c_duplicates, *c_overflow,
            *c_windows, *c_judged, *c_issues;
        /* Error rates (rates.c); rate_metric -1 when error_topic is "". */
        int                rate_metric; /* index of error_rate in metric */
        rs_stream_conf_t   sconf;       /* conf->stream, both topics */
        char              *topics;
        rs_avro_decoder_t *dec_err;
        rs_join_t          join;
        rs_join_conf_t     jconf;
        rs_pg_batch_t     *b_rate_in, *b_rate_progress;
        rs_counter_t      *c_err_aggs, *c_err_late, *c_err_dup, *c_rate_windows;
};

/* detector.c */
void  ad_oom(void) __attribute__((noreturn));
char *ad_strdup(const char *s);
void  ad_cell_free(cell_t *cell);

/** @brief The thresholds of \p tenant: its tenant_overrides entry, else
 *  the defaults. Never NULL; lives as long as \p d. */
const tconf_t *ad_tconf(const detector_t *d, const char *tenant);

/* rates.c */
int  ad_rates_init(detector_t *d, char *errstr, size_t errstr_size);
void ad_rates_destroy(detector_t *d);
void ad_rates_counters(detector_t *d, rs_metrics_t *m);
int  ad_rates_check_topics(detector_t *d, char *errstr, size_t errstr_size);
/** @brief 1 if \p part is of error_topic (error rates on). */
int ad_rates_is_err_part(const detector_t *d, const rs_stream_part_t *part);
/** @brief Either side of partition \p part was assigned / goes away. */
int  ad_rates_part_open(detector_t *d, rs_stream_part_t *part, rs_pg_t *pg,
                        char *errstr, size_t errstr_size);
void ad_rates_part_close(detector_t *d, rs_stream_part_t *part);
/** @brief One ErrorAggregate of an error_topic partition. */
void ad_rates_message(detector_t *d, rs_stream_part_t *part,
                      const rd_kafka_message_t *msg, int replay);
/** @brief The page-view side received input. */
void ad_rates_touch_pv(detector_t *d, rs_stream_part_t *part);
/** @brief Hands the page views of closed window \p start's "all" cells to
 *  the pair of \p part. */
void ad_rates_page_views(detector_t *d, rs_stream_part_t *part, int64_t start,
                         rs_map_t *cells);
/** @brief After either side closed windows: the error side hands them
 *  over, then the pair judges what both sides are past. @returns the
 *  windows handed over and judged (rows to write), or -1 (fatal). */
int  ad_rates_emit(detector_t *d, rs_stream_part_t *part);
int  ad_rates_write(detector_t *d, rs_pg_t *pg, char *errstr,
                    size_t errstr_size);
void ad_rates_written(detector_t *d);

/* judge.c */
/** @brief Judges the error rates of window \p start: \p win maps
 *  "tenant\0route" to rate_pend_t; routes without page views are no data.
 *  @returns 0 or -1 (fatal). */
int ad_judge_rates(detector_t *d, dpart_t *dp, int64_t start, int64_t size,
                   rs_map_t *win);
/** @brief "tenant\0route\0type\0value\0metric" into buf; its length, or 0
 *  if it does not fit. */
size_t   ad_series_key(char *buf, size_t size, const char *tenant,
                       const char *route, const char *type, const char *value,
                       const char *metric);
dpart_t *ad_part_new(int32_t partition);
void     ad_part_free(dpart_t *dp);
/** @brief Judges closed window \p start of the partition (its cells, a
 *  map of cell_t, freed by the caller). @returns 0 or -1 (fatal). */
int ad_judge_window(detector_t *d, dpart_t *dp, int64_t start, int64_t size,
                    rs_map_t *cells);
/** @brief Prunes at a new retention boundary of \p closed_until. */
void ad_prune(detector_t *d, dpart_t *dp, int64_t closed_until);
/** @brief Loads the history and states of \p dp, closed until
 *  \p closed_until (RS_WINDOW_NONE: nothing stored). */
int ad_part_load(detector_t *d, dpart_t *dp, int64_t closed_until, rs_pg_t *pg,
                 char *errstr, size_t errstr_size);
/** @brief State rows and pending deletes, inside the open transaction. */
int  ad_state_write(detector_t *d, rs_pg_t *pg, char *errstr,
                    size_t errstr_size);
void ad_state_written(detector_t *d);

#endif
