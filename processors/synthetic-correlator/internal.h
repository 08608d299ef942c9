/*
 * synthetic-correlator internals shared by correlator.c (inputs, durable
 * halves, wiring) and judge.c (history, judgement, state and its reload).
 */
#ifndef RS_CORRELATOR_INTERNAL_H
#define RS_CORRELATOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/avro.h"
#include "rumstream/correlate.h"
#include "rumstream/event.h"
#include "rumstream/issues.h"
#include "rumstream/join.h"
#include "rumstream/map.h"
#include "rumstream/pg.h"
#include "rumstream/pii.h"
#include "rumstream/sketch.h"
#include "rumstream/stream.h"
#include "rumstream/vitals.h"

#include "correlator.h"

#define PROCESSOR "synthetic-correlator"

/* The metrics both sides measure. */
enum { COR_LCP = 0, COR_FCP, COR_TTFB, COR_CLS, COR_NMET };
extern const char *const cor_metric_name[COR_NMET];

/* Lab values per point and metric kept for the window's overall median;
 * a bucket rarely has more than a few runs of one key. */
#define COR_MAX_LAB 8

/* One synthetic run (scrubbed). */
typedef struct run_s {
        char       *tenant, *run_id, *test_id, *route, *url;
        char       *location, *device_profile, *network_profile, *error;
        const char *device; /* static: desktop, mobile, tablet */
        int64_t     ts;
        int         success;
        double      v[COR_NMET]; /* NAN for a failed run */
        double      tbt, load_time;
} run_t;

/* Real users of one (tenant, route, device) in one bucket. */
typedef struct fcell_s {
        double       page_views;
        double       weight[COR_NMET];
        int64_t      samples[COR_NMET]; /* page views with the metric */
        rs_sketch_t *sk[COR_NMET];
} fcell_t;

/* What one or both sides closed of one bucket. */
typedef struct bucket_s {
        run_t   **runs;
        size_t    run_cnt, run_cap;
        rs_map_t *run_ids; /* tenant \0 run id (runs side, while open) */
        rs_map_t *field;   /* tenant \0 route \0 device -> fcell_t */
        rs_map_t *segs;    /* tenant \0 type \0 value -> double page views */
} bucket_t;

/* One bucket of a key's history. */
typedef struct point_s {
        int64_t      bucket; /* RS_WINDOW_NONE: empty slot */
        double       lab[COR_NMET];
        int          lab_n[COR_NMET];
        double       labv[COR_NMET][COR_MAX_LAB];
        double       field[COR_NMET];
        double       fweight[COR_NMET];
        int64_t      fsamples[COR_NMET];
        rs_sketch_t *sk[COR_NMET];
} point_t;

/* The lab-field gap of one key and metric, as of its last evaluation. */
typedef struct gapst_s {
        rs_correlate_gap_t g;
        double             lab_base, field_base;     /* medians */
        double             lab_recent, field_recent; /* medians */
        double  field_recent_low; /* 95% low end of the recent merged p75 */
        double  field_base_p75;   /* p75 of the baseline merged */
        int64_t evaluated_at;     /* RS_WINDOW_NONE: never */
        char    issue_id[33];     /* "" while none is open */
        int64_t opened_ms, version;
        rs_correlate_cause_t open_cause;       /* what the issue opened on */
        double open_lab, open_field, open_gap; /* baselines it opened on */
        int    dirty;
} gapst_t;

/* (tenant, route, device): lab runs in the last gap.history_ms. */
typedef struct key_s {
        char    *tenant, *route;
        char     device[16];
        int64_t  last_run; /* bucket of the newest run */
        point_t *ring;     /* history slots, by bucket number */
        gapst_t  gap[COR_NMET];
} lkey_t;

/* Repeated failures of (tenant, route). */
typedef struct fail_s {
        char   *tenant, *route;
        int64_t consecutive, streak_ms;
        char   *last_error;
        char    issue_id[33];
        int64_t opened_ms, version;
        int     dirty;
} fail_t;

/* A lab profile of a tenant and the bucket it last ran in. */
typedef struct profile_s {
        char   *device, *network, *location;
        int64_t last;
} profile_t;

/* Page views of one segment of a tenant in one bucket. */
typedef struct segpv_s {
        int64_t bucket;
        char   *type, *value;
        double  page_views;
} segpv_t;

typedef struct tenant_s {
        char      *name;
        int64_t    last_run;
        profile_t *profiles;
        size_t     profile_cnt, profile_cap;
        segpv_t   *segs;
        size_t     seg_cnt, seg_cap;
} tenant_t;

/* Sides of a pair (rs_join_pair_t.side). */
#define COR_RUNS  0 /* synthetic.events */
#define COR_FIELD 1 /* rum.aggregates */

typedef struct pair_s {
        rs_join_pair_t j;       /* first: a pair_t is its rs_join_pair_t */
        rs_map_t      *keys;    /* tenant \0 route \0 device -> lkey_t */
        size_t         key_cnt; /* live entries of keys */
        rs_map_t      *fails;   /* tenant \0 route -> fail_t */
        rs_map_t      *tenants; /* name -> tenant_t */
} pair_t;

struct correlator_s {
        const correlator_conf_t *conf;
        rs_stream_conf_t         sconf; /* both topics, bucket windows */
        char                    *topics;
        rs_stream_t             *stream;
        rs_avro_registry_t      *reg;
        rs_avro_decoder_t       *dec_runs, *dec_aggs;
        rs_metric_summary_t      agg_metrics[RS_METRIC_CNT + 64];
        rs_pii_t                *pii;
        rs_issues_t             *issues;
        rs_correlate_conf_t      cconf;
        rs_correlate_gap_conf_t  gconf;
        size_t                   history; /* buckets of gap history */
        size_t                   points;  /* buckets of the window */
        rs_join_t                join;    /* pairs by partition number */
        rs_join_conf_t           jconf;
        unsigned char           *skbuf;
        size_t                   skbuf_size;
        rs_pg_batch_t *b_tests, *b_field, *b_segs, *b_corr, *b_cov, *b_base,
            *b_fail, *b_progress;
        rs_counter_t *c_runs, *c_late, *c_duplicates, *c_aggregates,
            *c_field_skipped, *c_field_overflow, *c_key_overflow,
            *c_evaluations, *c_issues;
};

/* correlator.c */
void        cor_oom(void) __attribute__((noreturn));
char       *cor_strdup(const char *s);
const char *cor_device_class(const char *profile);
void        cor_run_free(run_t *r);
bucket_t   *cor_bucket_new(void);
void        cor_bucket_free(bucket_t *b);
void        cor_bucket_add_run(bucket_t *b, run_t *r);
fcell_t    *cor_bucket_field(bucket_t *b, const char *tenant, const char *route,
                             const char *device, int create);
double     *cor_bucket_seg(bucket_t *b, const char *tenant, const char *type,
                           const char *value);
void        cor_bucket_move(bucket_t *dst, bucket_t *src);
bucket_t   *cor_pending(pair_t *pair, int64_t start);

/* judge.c */
pair_t *cor_pair_new(correlator_t *c, int32_t partition);
void    cor_pair_free(pair_t *pair);
/** @brief Loads what is stored for the pair: progress, issue states, the
 *  history to rebuild and the closed halves not judged yet. */
int cor_pair_load(correlator_t *c, pair_t *pair, rs_pg_t *pg, char *errstr,
                  size_t errstr_size);
/** @brief Judges every bucket both sides are past. @returns the buckets
 *  judged, or -1. */
int cor_evaluate(correlator_t *c, pair_t *pair);
/** @brief Appends the state rows (baselines, failures, progress). */
void cor_state_rows(correlator_t *c);
void cor_state_written(correlator_t *c);

#endif
