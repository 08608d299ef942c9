/*
 * synthetic-correlator: judging buckets, the history it needs, the state
 * it keeps and its reload after a restart.
 *
 * History. A key (tenant, route, device class) is alive at bucket b when
 * it had a lab run in the last `history` buckets up to b. Judging b gives
 * every alive key a point at b: the lab values of b's successful runs and
 * b's merged field sketch. Points live in a ring of `history` slots by
 * bucket number; a slot whose bucket is not the one asked for is empty.
 * A tenant is alive the same way and keeps its lab profiles and its
 * segment page views of the correlation window.
 *
 * Everything the history holds comes from rows written when each side
 * closed the bucket. A restart loads the runs of the last 2 x history
 * buckets (which keys are alive depends on runs that far back) and the
 * field rows of the last history buckets before the stored progress, and
 * judges them again silently: no rows, no issues, the failure and issue
 * states being the ones stored. The rebuilt history is the one the
 * uninterrupted process has, so the next evaluation writes the same rows.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/route.h"
#include "rumstream/stats.h"

#include "internal.h"

/*
 * Keys, tenants, failures.
 */
static void point_clear(point_t *pt, int64_t bucket) {
        int m;

        for (m = 0; m < COR_NMET; m++) {
                rs_sketch_destroy(pt->sk[m]);
                pt->sk[m]       = NULL;
                pt->lab[m]      = NAN;
                pt->lab_n[m]    = 0;
                pt->field[m]    = NAN;
                pt->fweight[m]  = 0;
                pt->fsamples[m] = 0;
        }
        pt->bucket = bucket;
}

static void key_free(lkey_t *k) {
        size_t i;
        int    m;

        if (!k)
                return;
        if (k->ring)
                for (i = 0; k->ring[i].bucket != INT64_MAX; i++)
                        for (m = 0; m < COR_NMET; m++)
                                rs_sketch_destroy(k->ring[i].sk[m]);
        free(k->ring);
        free(k->tenant);
        free(k->route);
        free(k);
}

static void key_free_cb(const void *key, size_t len, void *value,
                        void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        key_free(value);
}

static void fail_free(fail_t *f) {
        if (!f)
                return;
        free(f->tenant);
        free(f->route);
        free(f->last_error);
        free(f);
}

static void fail_free_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        fail_free(value);
}

static void tenant_free(tenant_t *tn) {
        size_t i;

        if (!tn)
                return;
        for (i = 0; i < tn->profile_cnt; i++) {
                free(tn->profiles[i].device);
                free(tn->profiles[i].network);
                free(tn->profiles[i].location);
        }
        for (i = 0; i < tn->seg_cnt; i++) {
                free(tn->segs[i].type);
                free(tn->segs[i].value);
        }
        free(tn->profiles);
        free(tn->segs);
        free(tn->name);
        free(tn);
}

static void tenant_free_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        tenant_free(value);
}

pair_t *cor_pair_new(correlator_t *c, int32_t partition) {
        pair_t *pair = calloc(1, sizeof(*pair));

        (void)c;
        if (!pair)
                return NULL;
        if (rs_join_pair_init(&pair->j, partition) == -1 ||
            !(pair->keys = rs_map_new()) || !(pair->fails = rs_map_new()) ||
            !(pair->tenants = rs_map_new())) {
                cor_pair_free(pair);
                return NULL;
        }
        return pair;
}

static void pending_free_cb(int64_t start, void *value, void *opaque) {
        (void)start;
        (void)opaque;
        cor_bucket_free(value);
}

void cor_pair_free(pair_t *pair) {
        if (!pair)
                return;
        if (pair->j.pending) {
                rs_join_pending_foreach(&pair->j, pending_free_cb, NULL);
                rs_join_pair_fini(&pair->j);
        }
        if (pair->keys) {
                rs_map_foreach(pair->keys, key_free_cb, NULL);
                rs_map_destroy(pair->keys);
        }
        if (pair->fails) {
                rs_map_foreach(pair->fails, fail_free_cb, NULL);
                rs_map_destroy(pair->fails);
        }
        if (pair->tenants) {
                rs_map_foreach(pair->tenants, tenant_free_cb, NULL);
                rs_map_destroy(pair->tenants);
        }
        free(pair);
}

static lkey_t *key_get(correlator_t *c, pair_t *pair, const char *tenant,
                       const char *route, const char *device, int create) {
        char   key[RS_EVENT_MAX_TENANT_LEN + RS_ROUTE_MAX + 32];
        size_t klen = rs_map_key_join(key, sizeof(key), tenant, route, device);
        lkey_t **slot;
        int      created, m;
        size_t   i;

        if (!klen)
                return NULL;
        slot = (lkey_t **)rs_map_get(pair->keys, key, klen);
        if (slot && *slot)
                return *slot;
        if (!create)
                return NULL;
        if (pair->key_cnt >= (size_t)c->conf->max_keys) {
                rs_counter_add(c->c_key_overflow, 1);
                return NULL;
        }
        slot = (lkey_t **)rs_map_put(pair->keys, key, klen, &created);
        if (!slot || !(*slot = calloc(1, sizeof(lkey_t))))
                cor_oom();
        pair->key_cnt++;
        (*slot)->tenant = cor_strdup(tenant);
        (*slot)->route  = cor_strdup(route);
        snprintf((*slot)->device, sizeof((*slot)->device), "%s", device);
        (*slot)->last_run = RS_WINDOW_NONE;
        /* One spare slot, bucket INT64_MAX, ends the ring for key_free(). */
        if (!((*slot)->ring = calloc(c->history + 1, sizeof(point_t))))
                cor_oom();
        for (i = 0; i < c->history; i++)
                point_clear(&(*slot)->ring[i], RS_WINDOW_NONE);
        (*slot)->ring[c->history].bucket = INT64_MAX;
        for (m = 0; m < COR_NMET; m++)
                (*slot)->gap[m].evaluated_at = RS_WINDOW_NONE;
        return *slot;
}

static point_t *slot_of(const correlator_t *c, lkey_t *k, int64_t bucket) {
        int64_t n = bucket / c->conf->bucket_ms;

        return &k->ring[(size_t)(n % (int64_t)c->history)];
}

/* The point of bucket \p b, or NULL if the slot holds another bucket. */
static point_t *point_at(const correlator_t *c, lkey_t *k, int64_t b) {
        point_t *pt = slot_of(c, k, b);

        return pt->bucket == b ? pt : NULL;
}

static point_t *point_make(const correlator_t *c, lkey_t *k, int64_t b) {
        point_t *pt = slot_of(c, k, b);

        if (pt->bucket != b)
                point_clear(pt, b);
        return pt;
}

static int alive(const correlator_t *c, int64_t last_run, int64_t b) {
        return last_run != RS_WINDOW_NONE &&
               last_run >= b - (int64_t)(c->history - 1) * c->conf->bucket_ms;
}

static tenant_t *tenant_get(pair_t *pair, const char *name, int create) {
        tenant_t **slot;
        int        created;

        slot = (tenant_t **)rs_map_get(pair->tenants, name, strlen(name));
        if (slot && *slot)
                return *slot;
        if (!create)
                return NULL;
        slot = (tenant_t **)rs_map_put(pair->tenants, name, strlen(name),
                                       &created);
        if (!slot || !(*slot = calloc(1, sizeof(tenant_t))))
                cor_oom();
        (*slot)->name     = cor_strdup(name);
        (*slot)->last_run = RS_WINDOW_NONE;
        return *slot;
}

static fail_t *fail_get(pair_t *pair, const char *tenant, const char *route,
                        int create) {
        char     key[RS_EVENT_MAX_TENANT_LEN + RS_ROUTE_MAX + 8];
        size_t   klen = rs_map_key_join(key, sizeof(key), tenant, route, NULL);
        fail_t **slot;
        int      created;

        if (!klen)
                return NULL;
        slot = (fail_t **)rs_map_get(pair->fails, key, klen);
        if (slot && *slot)
                return *slot;
        if (!create)
                return NULL;
        slot = (fail_t **)rs_map_put(pair->fails, key, klen, &created);
        if (!slot || !(*slot = calloc(1, sizeof(fail_t))))
                cor_oom();
        (*slot)->tenant = cor_strdup(tenant);
        (*slot)->route  = cor_strdup(route);
        return *slot;
}

static void profile_seen(tenant_t *tn, const run_t *r, int64_t b) {
        size_t i;

        for (i = 0; i < tn->profile_cnt; i++) {
                profile_t *p = &tn->profiles[i];
                if (!strcmp(p->device, r->device) &&
                    !strcmp(p->network, r->network_profile) &&
                    !strcmp(p->location, r->location)) {
                        if (b > p->last)
                                p->last = b;
                        return;
                }
        }
        if (tn->profile_cnt == tn->profile_cap) {
                size_t     n  = tn->profile_cap ? 2 * tn->profile_cap : 8;
                profile_t *np = realloc(tn->profiles, n * sizeof(*np));
                if (!np)
                        cor_oom();
                tn->profiles    = np;
                tn->profile_cap = n;
        }
        tn->profiles[tn->profile_cnt].device   = cor_strdup(r->device);
        tn->profiles[tn->profile_cnt].network  = cor_strdup(r->network_profile);
        tn->profiles[tn->profile_cnt].location = cor_strdup(r->location);
        tn->profiles[tn->profile_cnt].last     = b;
        tn->profile_cnt++;
}

static void seg_add(tenant_t *tn, int64_t b, const char *type,
                    const char *value, double pv) {
        if (tn->seg_cnt == tn->seg_cap) {
                size_t   n  = tn->seg_cap ? 2 * tn->seg_cap : 64;
                segpv_t *ns = realloc(tn->segs, n * sizeof(*ns));
                if (!ns)
                        cor_oom();
                tn->segs    = ns;
                tn->seg_cap = n;
        }
        tn->segs[tn->seg_cnt].bucket     = b;
        tn->segs[tn->seg_cnt].type       = cor_strdup(type);
        tn->segs[tn->seg_cnt].value      = cor_strdup(value);
        tn->segs[tn->seg_cnt].page_views = pv;
        tn->seg_cnt++;
}

/* Drops segment entries before \p from and profiles last seen before
 * \p pfrom. */
static void tenant_prune(tenant_t *tn, int64_t from, int64_t pfrom) {
        size_t i, j;

        for (i = j = 0; i < tn->seg_cnt; i++) {
                if (tn->segs[i].bucket < from) {
                        free(tn->segs[i].type);
                        free(tn->segs[i].value);
                } else {
                        tn->segs[j++] = tn->segs[i];
                }
        }
        tn->seg_cnt = j;
        for (i = j = 0; i < tn->profile_cnt; i++) {
                if (tn->profiles[i].last < pfrom) {
                        free(tn->profiles[i].device);
                        free(tn->profiles[i].network);
                        free(tn->profiles[i].location);
                } else {
                        tn->profiles[j++] = tn->profiles[i];
                }
        }
        tn->profile_cnt = j;
}

/*
 * Issues.
 */
static void issue_id(const char *tenant, const char *kind, const char *route,
                     const char *device, const char *metric, int64_t opened,
                     char out[33]) {
        rs_id_t h;

        rs_id_init(&h, "issue");
        rs_id_add_str(&h, tenant);
        rs_id_add_str(&h, kind);
        rs_id_add_str(&h, route);
        rs_id_add_str(&h, device ? device : "");
        rs_id_add_str(&h, metric ? metric : "");
        rs_id_add_i64(&h, opened);
        rs_id_hex(&h, out);
}

static int publish(correlator_t *c, rs_issue_draft_t *d) {
        if (rs_issues_publish(c->issues, rs_stream_producer(c->stream), d) ==
            -1)
                return -1;
        rs_counter_add(c->c_issues, 1);
        return 0;
}

static int fail_issue(correlator_t *c, fail_t *f, const char *state,
                      int64_t now) {
        int64_t           n = c->conf->failures;
        rs_issue_draft_t *d = rs_issues_start(
            c->issues, f->issue_id, f->tenant, "synthetic_failure", state,
            f->consecutive >= 3 * n || !strcmp(state, "resolved") ? "critical"
                                                                  : "high",
            f->version, f->opened_ms, now);

        /* The severity of a resolved version is that of the issue at its
         * worst; keep it simple and stable: critical once it reached 3x. */
        if (!strcmp(state, "resolved"))
                snprintf(d->severity, sizeof(d->severity), "%s",
                         f->consecutive >= 3 * n ? "critical" : "high");
        snprintf(d->route, sizeof(d->route), "%s", f->route);
        snprintf(d->title, sizeof(d->title),
                 "Synthetic tests of %s fail repeatedly", f->route);
        snprintf(d->metric, sizeof(d->metric), "synthetic_failures");
        d->is.route       = d->route;
        d->is.metric      = d->metric;
        d->is.observed    = (double)f->consecutive;
        d->is.threshold   = (double)n;
        d->is.sample_size = f->consecutive;
        rs_issue_draft_evidence(d, "streak_started_ms", "%" PRId64,
                                f->streak_ms);
        rs_issue_draft_evidence(d, "consecutive_failures", "%" PRId64,
                                f->consecutive);
        rs_issue_draft_evidence(d, "last_error", "%s",
                                f->last_error ? f->last_error : "");
        return publish(c, d);
}

/* Failures of bucket \p b, its runs sorted by (tenant, route, time). */
static int judge_failures(correlator_t *c, pair_t *pair, bucket_t *pb,
                          int64_t end) {
        size_t i = 0;

        while (i < pb->run_cnt) {
                const run_t *first = pb->runs[i];
                fail_t      *f = fail_get(pair, first->tenant, first->route, 0);
                int          fresh = 0;
                size_t       j;

                for (j = i; j < pb->run_cnt &&
                            !strcmp(pb->runs[j]->tenant, first->tenant) &&
                            !strcmp(pb->runs[j]->route, first->route);
                     j++) {
                        const run_t *r = pb->runs[j];
                        if (!r->success) {
                                if (!f)
                                        f = fail_get(pair, r->tenant, r->route,
                                                     1);
                                if (f->consecutive == 0)
                                        f->streak_ms = r->ts;
                                f->consecutive++;
                                free(f->last_error);
                                f->last_error = cor_strdup(
                                    r->error ? r->error : "unknown error");
                                f->dirty = 1;
                                fresh    = 1;
                                continue;
                        }
                        if (!f || (!f->consecutive && !f->issue_id[0]))
                                continue;
                        if (f->issue_id[0]) {
                                f->version++;
                                if (fail_issue(c, f, "resolved", r->ts) == -1)
                                        return -1;
                                f->issue_id[0] = '\0';
                        }
                        f->consecutive = 0;
                        f->dirty       = 1;
                        fresh          = 0;
                }
                if (f && f->consecutive >= c->conf->failures && fresh) {
                        if (!f->issue_id[0]) {
                                f->opened_ms = f->streak_ms;
                                f->version   = 1;
                                issue_id(f->tenant, "synthetic_failure",
                                         f->route, NULL, NULL, f->opened_ms,
                                         f->issue_id);
                                if (fail_issue(c, f, "open", end) == -1)
                                        return -1;
                        } else {
                                f->version++;
                                if (fail_issue(c, f, "updated", end) == -1)
                                        return -1;
                        }
                }
                i = j;
        }
        return 0;
}

static int gap_issue(correlator_t *c, lkey_t *k, int m, const char *state,
                     int64_t end) {
        gapst_t    *gs        = &k->gap[m];
        const char *mn        = cor_metric_name[m];
        int         lab_first = gs->open_cause == RS_CORRELATE_CAUSE_LAB_FIRST;
        rs_issue_draft_t *d   = rs_issues_start(
              c->issues, gs->issue_id, k->tenant, "lab_field_gap", state,
            lab_first ? "medium" : "high", gs->version, gs->opened_ms, end);
        char   up[8];
        size_t i;

        for (i = 0; mn[i] && i < sizeof(up) - 1; i++)
                up[i] = (char)(mn[i] - 'a' + 'A');
        up[i] = '\0';
        snprintf(d->route, sizeof(d->route), "%s", k->route);
        snprintf(d->segment_type, sizeof(d->segment_type), "device");
        snprintf(d->segment_value, sizeof(d->segment_value), "%s", k->device);
        snprintf(d->metric, sizeof(d->metric), "%s", mn);
        if (lab_first)
                snprintf(d->title, sizeof(d->title),
                         "Synthetic %s on %s (%s) regressed; real users are "
                         "expected to follow",
                         up, k->route, k->device);
        else
                snprintf(d->title, sizeof(d->title),
                         "Real users' %s on %s (%s) regressed while synthetic "
                         "tests stayed flat",
                         up, k->route, k->device);
        d->is.route         = d->route;
        d->is.segment_type  = d->segment_type;
        d->is.segment_value = d->segment_value;
        d->is.metric        = d->metric;
        d->is.observed      = gs->g.gap_recent;
        d->is.baseline      = gs->open_gap;
        d->is.threshold     = c->gconf.z_threshold;
        rs_issue_draft_evidence(d, "cause", "%s",
                                rs_correlate_cause_name(gs->open_cause));
        rs_issue_draft_evidence(d, "gap_z", "%.4g", gs->g.gap_z);
        rs_issue_draft_evidence(d, "lab_z", "%.4g", gs->g.lab_z);
        rs_issue_draft_evidence(d, "field_z", "%.4g", gs->g.field_z);
        rs_issue_draft_evidence(d, "lab_baseline", "%.6g", gs->open_lab);
        rs_issue_draft_evidence(d, "field_baseline", "%.6g", gs->open_field);
        rs_issue_draft_evidence(d, "lab_recent", "%.6g", gs->lab_recent);
        rs_issue_draft_evidence(d, "field_recent", "%.6g", gs->field_recent);
        return publish(c, d);
}

/* The smallest regression worth an issue, per metric, besides
 * gap.min_change of the level: small levels (a CLS of 0.02, a TTFB of
 * 80 ms) make relative changes of noise look large. */
static const double min_abs_change[COR_NMET] = {250, 150, 100, 0.05};

static int regressed(const correlator_t *c, int m, double from, double to,
                     double level, double factor) {
        double need = factor * c->conf->gap_min_change * fabs(level);

        if (need < factor * min_abs_change[m])
                need = factor * min_abs_change[m];
        return isfinite(from) && isfinite(to) && to - from >= need;
}

/*
 * The lab_field_gap issue of one key and metric after an evaluation.
 * Opens when the gap moved significantly (robust z) and by enough to
 * matter: the field regressed with the lab flat (field_only), or the lab
 * regressed with the field flat (lab_first, an early warning).
 * Improvements raise nothing. The baseline is frozen when the issue opens:
 * it stays open, updated each evaluation, while the regression is at least
 * half of what opening needed against that baseline, and resolves when
 * it is not, so a regression that lasts does not resolve itself by
 * becoming the baseline. An evaluation without a valid gap (too few
 * buckets with both values) changes nothing.
 */
static int gap_decide(correlator_t *c, lkey_t *k, int m, int64_t end) {
        gapst_t                  *gs = &k->gap[m];
        const rs_correlate_gap_t *g  = &gs->g;
        int                       holds;

        if (!g->valid)
                return 0;
        if (!gs->issue_id[0]) {
                /* The real users' side must also be sure of itself: the
                 * low end of the recent buckets' merged p75 (95%, by
                 * order statistics on their page views) above the p75 of
                 * the baseline's, so sparse traffic raises no issues. */
                if (g->cause == RS_CORRELATE_CAUSE_FIELD_ONLY)
                        holds =
                            gs->field_recent_low > gs->field_base_p75 &&
                            ((g->field_moved && g->field_z > 0 &&
                              regressed(c, m, gs->field_base, gs->field_recent,
                                        gs->field_base, 1)) ||
                             (g->widened && g->gap_z > 0 &&
                              regressed(c, m, g->gap_baseline, g->gap_recent,
                                        gs->lab_base, 1)));
                else if (g->cause == RS_CORRELATE_CAUSE_LAB_FIRST)
                        holds = g->lab_z > 0 &&
                                regressed(c, m, gs->lab_base, gs->lab_recent,
                                          gs->lab_base, 1);
                else
                        holds = 0;
                if (!holds)
                        return 0;
                gs->open_cause = g->cause;
                gs->opened_ms  = end;
                gs->version    = 1;
                gs->open_lab   = gs->lab_base;
                gs->open_field = gs->field_base;
                gs->open_gap   = g->gap_baseline;
                issue_id(k->tenant, "lab_field_gap", k->route, k->device,
                         cor_metric_name[m], end, gs->issue_id);
                return gap_issue(c, k, m, "open", end);
        }
        if (gs->open_cause == RS_CORRELATE_CAUSE_LAB_FIRST)
                holds = regressed(c, m, gs->open_lab, gs->lab_recent,
                                  gs->open_lab, 0.5);
        else
                holds = regressed(c, m, gs->open_field, gs->field_recent,
                                  gs->open_field, 0.5) ||
                        regressed(c, m, gs->open_gap, g->gap_recent,
                                  gs->open_lab, 0.5);
        gs->version++;
        if (gap_issue(c, k, m, holds ? "updated" : "resolved", end) == -1)
                return -1;
        if (!holds)
                gs->issue_id[0] = '\0';
        return 0;
}

/* The low end of the 95% confidence interval of the p75 of \p sk, a
 * merge of \p n page views: by order statistics, the quantile at rank
 * n q - 1.96 sqrt(n q (1 - q)) (normal approximation of the binomial),
 * read from the sketch. NaN when there are too few to bound it. */
static double p75_low(const rs_sketch_t *sk, int64_t n) {
        double q, v;

        if (!sk || n < 1)
                return NAN;
        q = 0.75 - 1.959964 * sqrt(0.75 * 0.25 / (double)n);
        if (q <= 0 || rs_sketch_quantile(sk, q, &v) != 0)
                return NAN;
        return v;
}

/*
 * Evaluation of one key at the end of a bucket.
 */
typedef struct eval_buf_s {
        rs_correlate_point_t *pts;
        double               *scratch, *labs, *lab, *field;
        size_t                labs_cap;
} eval_buf_t;

static int eval_key(correlator_t *c, lkey_t *k, int64_t end, eval_buf_t *e) {
        int64_t size = c->conf->bucket_ms;
        size_t  P = c->points, H = c->history, j;
        int     m, in_window     = k->last_run >= end - c->conf->window_ms;
        char    ts_end[40], ts_start[40];

        rs_pg_timestamp(end, ts_end, sizeof(ts_end));
        rs_pg_timestamp(end - c->conf->window_ms, ts_start, sizeof(ts_start));
        for (m = 0; m < COR_NMET; m++) {
                rs_correlate_result_t res;
                rs_sketch_t          *all     = NULL;
                double                fweight = 0, lab_all, field_all;
                size_t                nl      = 0;
                gapst_t              *gs      = &k->gap[m];
                rs_pg_batch_t        *b       = c->b_corr;
                size_t                nb;
                int                   rc;

                if (in_window) {
                        for (j = 0; j < P; j++) {
                                int64_t  bb = end - (int64_t)(P - j) * size;
                                point_t *pt = point_at(c, k, bb);
                                int      v;
                                e->pts[j].bucket_ms = bb;
                                e->pts[j].lab       = pt ? pt->lab[m] : NAN;
                                e->pts[j].field     = pt ? pt->field[m] : NAN;
                                if (!pt)
                                        continue;
                                for (v = 0; v < pt->lab_n[m] && v < COR_MAX_LAB;
                                     v++)
                                        e->labs[nl++] = pt->labv[m][v];
                                fweight += pt->fweight[m];
                                if (!pt->sk[m])
                                        continue;
                                if (!all &&
                                    !(all = rs_sketch_new(
                                          rs_sketch_accuracy(pt->sk[m]))))
                                        cor_oom();
                                rs_sketch_merge(all, pt->sk[m]);
                        }
                        rc      = rs_correlate(&c->cconf, e->pts, P, e->scratch,
                                               &res);
                        lab_all = rs_stats_median(e->labs, nl, e->scratch);
                        field_all = rs_correlate_sketch_p75(all);
                        rs_sketch_destroy(all);
                        if (rc == 0 && isfinite(lab_all) && isfinite(field_all))
                                rs_correlate_relevel(&c->cconf, lab_all,
                                                     field_all, &res);
                        rs_pg_batch_str(b, k->tenant);
                        rs_pg_batch_str(b, k->route);
                        rs_pg_batch_str(b, k->device);
                        rs_pg_batch_str(b, cor_metric_name[m]);
                        rs_pg_batch_str(b, ts_end);
                        rs_pg_batch_str(b, ts_start);
                        rs_pg_batch_i64(b, (int64_t)res.n);
                        rs_pg_batch_i64(b, (int64_t)nl);
                        rs_pg_batch_f64(b, fweight);
                        rs_pg_batch_f64(b, res.pearson.valid ? res.pearson.r
                                                             : NAN);
                        rs_pg_batch_f64(
                            b, res.pearson.valid ? res.pearson.p_value : NAN);
                        rs_pg_batch_f64(b, res.pearson.ci_low);
                        rs_pg_batch_f64(b, res.pearson.ci_high);
                        rs_pg_batch_f64(b, res.spearman.valid ? res.spearman.r
                                                              : NAN);
                        rs_pg_batch_f64(
                            b, res.spearman.valid ? res.spearman.p_value : NAN);
                        rs_pg_batch_f64(b, res.spearman.ci_low);
                        rs_pg_batch_f64(b, res.spearman.ci_high);
                        rs_pg_batch_f64(b, res.lab_median);
                        rs_pg_batch_f64(b, res.field_p75);
                        rs_pg_batch_f64(b, res.variance_ratio);
                        rs_pg_batch_str(b,
                                        rs_correlate_verdict_name(res.verdict));
                        rs_pg_batch_bool(b, res.correlated);
                        rs_pg_batch_row_end(b);
                        rs_counter_add(c->c_evaluations, 1);
                }

                /* The gap over the whole history, oldest bucket first. */
                for (j = 0; j < H; j++) {
                        int64_t  bb = end - (int64_t)(H - j) * size;
                        point_t *pt = point_at(c, k, bb);
                        e->lab[j]   = pt ? pt->lab[m] : NAN;
                        e->field[j] = pt ? pt->field[m] : NAN;
                }
                rs_correlate_gap(&c->gconf, e->lab, e->field, H, e->scratch,
                                 &gs->g);
                {
                        /* Merged sketches of the baseline and the recent
                         * part: p75s of many page views, not medians of
                         * small buckets' p75s (biased by their size). */
                        rs_sketch_t *part[2] = {NULL, NULL};
                        int64_t      n       = 0;
                        for (j = 0; j < H; j++) {
                                point_t *pt = point_at(
                                    c, k, end - (int64_t)(H - j) * size);
                                int p = j >= H - c->gconf.recent;
                                if (!pt || !pt->sk[m])
                                        continue;
                                if (!part[p] &&
                                    !(part[p] = rs_sketch_new(
                                          rs_sketch_accuracy(pt->sk[m]))))
                                        cor_oom();
                                rs_sketch_merge(part[p], pt->sk[m]);
                                if (p)
                                        n += pt->fsamples[m];
                        }
                        gs->field_base_p75   = rs_correlate_sketch_p75(part[0]);
                        gs->field_recent_low = p75_low(part[1], n);
                        rs_sketch_destroy(part[0]);
                        rs_sketch_destroy(part[1]);
                }
                nb             = H - c->gconf.recent;
                gs->lab_base   = rs_stats_median(e->lab, nb, e->scratch);
                gs->field_base = rs_stats_median(e->field, nb, e->scratch);
                gs->lab_recent =
                    rs_stats_median(e->lab + nb, c->gconf.recent, e->scratch);
                gs->field_recent =
                    rs_stats_median(e->field + nb, c->gconf.recent, e->scratch);
                gs->evaluated_at = end;
                gs->dirty        = 1;
                if (gap_decide(c, k, m, end) == -1)
                        return -1;
        }
        return 0;
}

/*
 * Coverage of one tenant at the end of a bucket.
 */
static void coverage(correlator_t *c, tenant_t *tn, int64_t end) {
        int64_t                 from = end - c->conf->window_ms;
        rs_correlate_profile_t *pr;
        rs_correlate_segment_t *sg;
        size_t                  np = 0, ns = 0, i, j;
        rs_correlate_coverage_t cov;
        char                    ts[40];

        pr = calloc(tn->profile_cnt + 1, sizeof(*pr));
        sg = calloc(tn->seg_cnt + 1, sizeof(*sg));
        if (!pr || !sg)
                cor_oom();
        for (i = 0; i < tn->profile_cnt; i++) {
                if (tn->profiles[i].last < from)
                        continue;
                pr[np].device   = tn->profiles[i].device;
                pr[np].network  = tn->profiles[i].network;
                pr[np].location = tn->profiles[i].location;
                np++;
        }
        /* Sum the window's entries per segment, in first-seen order. */
        for (i = 0; i < tn->seg_cnt; i++) {
                const segpv_t *s = &tn->segs[i];
                if (s->bucket < from)
                        continue;
                for (j = 0; j < ns; j++)
                        if (!strcmp(sg[j].type, s->type) &&
                            !strcmp(sg[j].value, s->value))
                                break;
                if (j == ns) {
                        sg[ns].type       = s->type;
                        sg[ns].value      = s->value;
                        sg[ns].page_views = 0;
                        ns++;
                }
                sg[j].page_views += s->page_views;
        }
        if (ns && rs_correlate_coverage(pr, np, sg, ns, &cov) == 0) {
                rs_pg_timestamp(end, ts, sizeof(ts));
                for (j = 0; j < ns; j++) {
                        int    t;
                        double total = 0;
                        if (sg[j].covered < 0)
                                continue;
                        for (t = 0; t < RS_CORRELATE_SEG_CNT; t++)
                                if (!strcmp(sg[j].type,
                                            t == RS_CORRELATE_SEG_DEVICE
                                                ? "device"
                                            : t == RS_CORRELATE_SEG_CONNECTION
                                                ? "connection"
                                                : "country"))
                                        total = cov.page_views[t];
                        rs_pg_batch_str(c->b_cov, tn->name);
                        rs_pg_batch_str(c->b_cov, ts);
                        rs_pg_batch_str(c->b_cov, sg[j].type);
                        rs_pg_batch_str(c->b_cov, sg[j].value);
                        rs_pg_batch_f64(c->b_cov, sg[j].page_views);
                        rs_pg_batch_f64(c->b_cov, total > 0
                                                      ? sg[j].page_views / total
                                                      : 0.0);
                        rs_pg_batch_bool(c->b_cov, sg[j].covered);
                        rs_pg_batch_row_end(c->b_cov);
                }
        }
        free(pr);
        free(sg);
}

/*
 * Judging one bucket.
 */
static int run_cmp(const void *a, const void *b) {
        const run_t *x = *(run_t *const *)a, *y = *(run_t *const *)b;
        int          d;

        if ((d = strcmp(x->tenant, y->tenant)) ||
            (d = strcmp(x->route, y->route)))
                return d;
        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        return strcmp(x->run_id, y->run_id);
}

typedef struct kref_s {
        const char *name;
        size_t      len;
        void       *v;
} kref_t;

typedef struct kcollect_s {
        kref_t *refs;
        size_t  cnt;
} kcollect_t;

static void collect_cb(const void *key, size_t len, void *value, void *opaque) {
        kcollect_t *k = opaque;

        if (!value)
                return; /* forgotten (maps do not delete) */
        k->refs[k->cnt].name = key;
        k->refs[k->cnt].len  = len;
        k->refs[k->cnt].v    = value;
        k->cnt++;
}

static int kref_cmp(const void *a, const void *b) {
        const kref_t *x = a, *y = b;
        size_t        n = x->len < y->len ? x->len : y->len;
        int           d = memcmp(x->name, y->name, n);

        return d ? d : (x->len > y->len) - (x->len < y->len);
}

/* The map's entries sorted by key (a deterministic order for issues). */
static kref_t *sorted(rs_map_t *map, size_t *cnt) {
        kcollect_t k = {calloc(rs_map_size(map) + 1, sizeof(kref_t)), 0};

        if (!k.refs)
                cor_oom();
        rs_map_foreach(map, collect_cb, &k);
        qsort(k.refs, k.cnt, sizeof(*k.refs), kref_cmp);
        *cnt = k.cnt;
        return k.refs;
}

typedef struct field_ctx_s {
        correlator_t *c;
        pair_t       *pair;
        int64_t       b;
} field_ctx_t;

static void field_cb(const void *key, size_t len, void *value, void *opaque) {
        field_ctx_t *x      = opaque;
        fcell_t     *f      = value;
        const char  *tenant = key;
        const char  *route  = tenant + strlen(tenant) + 1;
        const char  *device = route + strlen(route) + 1;
        lkey_t      *k;
        point_t     *pt;
        int          m;

        (void)len;
        k = key_get(x->c, x->pair, tenant, route, device, 0);
        if (!k || !alive(x->c, k->last_run, x->b))
                return;
        pt = point_make(x->c, k, x->b);
        for (m = 0; m < COR_NMET; m++) {
                if (!f->sk[m])
                        continue;
                rs_sketch_destroy(pt->sk[m]);
                pt->sk[m] = f->sk[m];
                f->sk[m]  = NULL;
                /* A p75 of a handful of page views is noise: such a
                 * bucket has no field value (its sketch still counts in
                 * the window's). */
                pt->field[m] =
                    (double)f->samples[m] >= x->c->conf->min_field_samples
                        ? rs_correlate_sketch_p75(pt->sk[m])
                        : NAN;
                pt->fweight[m]  = f->weight[m];
                pt->fsamples[m] = f->samples[m];
        }
}

static void seg_cb(const void *key, size_t len, void *value, void *opaque) {
        field_ctx_t *x      = opaque;
        const char  *tenant = key;
        const char  *type   = tenant + strlen(tenant) + 1;
        const char  *val    = type + strlen(type) + 1;
        tenant_t    *tn;

        (void)len;
        tn = tenant_get(x->pair, tenant, 0);
        if (tn && alive(x->c, tn->last_run, x->b))
                seg_add(tn, x->b, type, val, *(double *)value);
}

static int judge_bucket(correlator_t *c, pair_t *pair, int64_t b, bucket_t *pb,
                        int silent) {
        int64_t size = c->conf->bucket_ms, end = b + size;
        size_t  i, cnt;
        kref_t *refs;
        int     rc = 0, m;

        if (pb && pb->run_cnt) {
                qsort(pb->runs, pb->run_cnt, sizeof(*pb->runs), run_cmp);
                for (i = 0; i < pb->run_cnt; i++) {
                        run_t  *r = pb->runs[i];
                        lkey_t *k =
                            key_get(c, pair, r->tenant, r->route, r->device, 1);
                        tenant_t *tn = tenant_get(pair, r->tenant, 1);
                        point_t  *pt;
                        tn->last_run = b;
                        profile_seen(tn, r, b);
                        if (!k)
                                continue;
                        k->last_run = b;
                        pt          = point_make(c, k, b);
                        for (m = 0; m < COR_NMET; m++) {
                                if (isnan(r->v[m]))
                                        continue;
                                if (pt->lab_n[m] < COR_MAX_LAB)
                                        pt->labv[m][pt->lab_n[m]] = r->v[m];
                                pt->lab_n[m]++;
                        }
                }
                if (!silent && judge_failures(c, pair, pb, end) == -1)
                        rc = -1;
        }
        if (pb) {
                field_ctx_t x = {c, pair, b};
                rs_map_foreach(pb->field, field_cb, &x);
                rs_map_foreach(pb->segs, seg_cb, &x);
        }

        refs = sorted(pair->keys, &cnt);
        {
                eval_buf_t e;
                size_t     n = c->history > c->points ? c->history : c->points;
                e.pts        = calloc(c->points + 1, sizeof(*e.pts));
                e.scratch =
                    calloc(5 * n + COR_MAX_LAB * c->points + 1, sizeof(double));
                e.labs  = calloc(COR_MAX_LAB * c->points + 1, sizeof(double));
                e.lab   = calloc(c->history + 1, sizeof(double));
                e.field = calloc(c->history + 1, sizeof(double));
                if (!e.pts || !e.scratch || !e.labs || !e.lab || !e.field)
                        cor_oom();
                for (i = 0; i < cnt; i++) {
                        lkey_t  *k  = refs[i].v;
                        point_t *pt = point_at(c, k, b);
                        if (pt) /* lab medians of the bucket's runs */
                                for (m = 0; m < COR_NMET; m++)
                                        pt->lab[m] =
                                            pt->lab_n[m]
                                                ? rs_stats_median(
                                                      pt->labv[m],
                                                      (size_t)(pt->lab_n[m] <
                                                                       COR_MAX_LAB
                                                                   ? pt->lab_n
                                                                         [m]
                                                                   : COR_MAX_LAB),
                                                      e.scratch)
                                                : NAN;
                        if (!silent && rc == 0 && alive(c, k->last_run, b) &&
                            eval_key(c, k, end, &e) == -1)
                                rc = -1;
                }
                free(e.pts);
                free(e.scratch);
                free(e.labs);
                free(e.lab);
                free(e.field);
        }
        /* Forget keys that are no longer alive once their state is
         * stored. */
        for (i = 0; i < cnt; i++) {
                lkey_t *k    = refs[i].v;
                int     keep = alive(c, k->last_run, end);
                for (m = 0; m < COR_NMET && !keep; m++)
                        keep = k->gap[m].dirty || k->gap[m].issue_id[0];
                if (!keep) {
                        void **s =
                            rs_map_get(pair->keys, refs[i].name, refs[i].len);
                        key_free(k);
                        *s = NULL;
                        pair->key_cnt--;
                }
        }
        free(refs);

        refs = sorted(pair->tenants, &cnt);
        for (i = 0; i < cnt; i++) {
                tenant_t *tn = refs[i].v;
                if (!silent && rc == 0 &&
                    tn->last_run >= end - c->conf->window_ms)
                        coverage(c, tn, end);
                tenant_prune(tn, end - c->conf->window_ms,
                             end - (int64_t)c->history * size);
                if (!alive(c, tn->last_run, end)) {
                        void **s = rs_map_get(pair->tenants, refs[i].name,
                                              refs[i].len);
                        tenant_free(tn);
                        *s = NULL;
                }
        }
        free(refs);

        return rc;
}

/*
 * Maps do not delete: forgotten entries are NULL, and a map is rebuilt
 * once they outnumber the live ones, so memory follows what is live.
 */
static void count_cb(const void *key, size_t len, void *value, void *opaque) {
        (void)key;
        (void)len;
        if (value)
                (*(size_t *)opaque)++;
}

static void copy_cb(const void *key, size_t len, void *value, void *opaque) {
        void **slot;
        int    created;

        if (!value)
                return;
        if (!(slot = rs_map_put(opaque, key, len, &created)))
                cor_oom();
        *slot = value;
}

static rs_map_t *compact(rs_map_t *map) {
        size_t    live = 0;
        rs_map_t *nm;

        rs_map_foreach(map, count_cb, &live);
        if (rs_map_size(map) < 64 || rs_map_size(map) < 2 * live)
                return map;
        if (!(nm = rs_map_new()))
                cor_oom();
        rs_map_foreach(map, copy_cb, nm);
        rs_map_destroy(map);
        return nm;
}

static void fail_forget_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        pair_t *pair = opaque;
        fail_t *f    = value;
        void  **s;

        if (!f || f->consecutive || f->issue_id[0] || f->dirty)
                return;
        s = rs_map_get(pair->fails, key, len);
        fail_free(f);
        *s = NULL;
}

/*
 * Judging what both sides are past (common/join).
 */
static int busy_cb(void *opaque, rs_join_pair_t *jp) {
        (void)opaque;
        /* An alive key gets an evaluation every bucket, data or not. */
        return ((pair_t *)jp)->key_cnt > 0;
}

static int judge_cb(void *opaque, rs_join_pair_t *jp, int64_t start,
                    void *pending) {
        int rc = judge_bucket(opaque, (pair_t *)jp, start, pending, 0);

        cor_bucket_free(pending);
        return rc;
}

int cor_evaluate(correlator_t *c, pair_t *pair) {
        static const rs_join_ops_t ops = {busy_cb, judge_cb};
        int                        rc;

        rc            = rs_join_evaluate(&pair->j, &c->jconf, &ops, c);
        pair->keys    = compact(pair->keys);
        pair->tenants = compact(pair->tenants);
        rs_map_foreach(pair->fails, fail_forget_cb, pair);
        pair->fails = compact(pair->fails);
        return rc;
}

/*
 * State rows: the latest of each, rebuilt for every write attempt.
 */
static void base_row_cb(const void *key, size_t len, void *value,
                        void *opaque) {
        correlator_t  *c    = ((void **)opaque)[0];
        pair_t        *pair = ((void **)opaque)[1];
        lkey_t        *k    = value;
        rs_pg_batch_t *b    = c->b_base;
        char           ts[40];
        int            m;

        (void)key;
        (void)len;
        if (!k)
                return;
        for (m = 0; m < COR_NMET; m++) {
                const gapst_t *gs = &k->gap[m];
                if (!gs->dirty)
                        continue;
                rs_pg_batch_str(b, k->tenant);
                rs_pg_batch_str(b, k->route);
                rs_pg_batch_str(b, k->device);
                rs_pg_batch_str(b, cor_metric_name[m]);
                rs_pg_batch_i64(b, pair->j.partition);
                rs_pg_timestamp(gs->evaluated_at, ts, sizeof(ts));
                rs_pg_batch_str(b, ts);
                rs_pg_batch_bool(b, gs->g.valid);
                rs_pg_batch_f64(b, gs->lab_base);
                rs_pg_batch_f64(b, gs->field_base);
                rs_pg_batch_f64(b, gs->g.gap_baseline);
                rs_pg_batch_f64(b, gs->g.gap_recent);
                rs_pg_batch_f64(b, gs->g.gap_z);
                rs_pg_batch_f64(b, gs->g.lab_z);
                rs_pg_batch_f64(b, gs->g.field_z);
                rs_pg_batch_str(b, rs_correlate_cause_name(gs->g.cause));
                if (gs->issue_id[0]) {
                        rs_pg_batch_str(b, gs->issue_id);
                        rs_pg_batch_i64(b, gs->opened_ms);
                } else {
                        rs_pg_batch_null(b);
                        rs_pg_batch_null(b);
                }
                /* A resolved issue's version is history (issue_versions):
                 * what a restart starts from is "none open". */
                rs_pg_batch_i64(b, gs->issue_id[0] ? gs->version : 0);
                rs_pg_batch_str(b, gs->issue_id[0]
                                       ? rs_correlate_cause_name(gs->open_cause)
                                       : NULL);
                rs_pg_batch_f64(b, gs->issue_id[0] ? gs->open_lab : NAN);
                rs_pg_batch_f64(b, gs->issue_id[0] ? gs->open_field : NAN);
                rs_pg_batch_f64(b, gs->issue_id[0] ? gs->open_gap : NAN);
                rs_pg_batch_row_end(b);
        }
}

static void fail_row_cb(const void *key, size_t len, void *value,
                        void *opaque) {
        correlator_t  *c    = ((void **)opaque)[0];
        pair_t        *pair = ((void **)opaque)[1];
        fail_t        *f    = value;
        rs_pg_batch_t *b    = c->b_fail;

        (void)key;
        (void)len;
        if (!f || !f->dirty)
                return;
        rs_pg_batch_str(b, f->tenant);
        rs_pg_batch_str(b, f->route);
        rs_pg_batch_i64(b, pair->j.partition);
        rs_pg_batch_i64(b, f->consecutive);
        if (f->consecutive)
                rs_pg_batch_i64(b, f->streak_ms);
        else
                rs_pg_batch_null(b);
        rs_pg_batch_str(b, f->last_error);
        if (f->issue_id[0]) {
                rs_pg_batch_str(b, f->issue_id);
                rs_pg_batch_i64(b, f->opened_ms);
        } else {
                rs_pg_batch_null(b);
                rs_pg_batch_null(b);
        }
        rs_pg_batch_i64(b, f->issue_id[0] ? f->version : 0);
        rs_pg_batch_row_end(b);
}

void cor_state_rows(correlator_t *c) {
        int32_t i;

        rs_pg_batch_clear(c->b_base);
        rs_pg_batch_clear(c->b_fail);
        rs_pg_batch_clear(c->b_progress);
        for (i = 0; i < c->join.cnt; i++) {
                pair_t *pair = (pair_t *)c->join.pairs[i];
                void   *ctx[2];
                if (!pair)
                        continue;
                ctx[0] = c;
                ctx[1] = pair;
                rs_map_foreach(pair->keys, base_row_cb, ctx);
                rs_map_foreach(pair->fails, fail_row_cb, ctx);
                if (pair->j.progress_dirty &&
                    pair->j.evaluated_until != RS_WINDOW_NONE) {
                        rs_pg_batch_i64(c->b_progress, pair->j.partition);
                        rs_pg_batch_i64(c->b_progress, pair->j.evaluated_until);
                        rs_pg_batch_row_end(c->b_progress);
                }
        }
}

static void key_clean_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        lkey_t *k = value;
        int     m;

        (void)key;
        (void)len;
        (void)opaque;
        if (k)
                for (m = 0; m < COR_NMET; m++)
                        k->gap[m].dirty = 0;
}

static void fail_clean_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        fail_t *f = value;

        (void)key;
        (void)len;
        (void)opaque;
        if (f)
                f->dirty = 0;
}

void cor_state_written(correlator_t *c) {
        int32_t i;

        for (i = 0; i < c->join.cnt; i++) {
                pair_t *pair = (pair_t *)c->join.pairs[i];
                if (!pair)
                        continue;
                pair->j.progress_dirty = 0;
                rs_map_foreach(pair->keys, key_clean_cb, NULL);
                rs_map_foreach(pair->fails, fail_clean_cb, NULL);
        }
}

/*
 * Reload.
 */
static int64_t i64_col(PGresult *res, int row, int col) {
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double f64_col(PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col)
                   ? NAN
                   : strtod(PQgetvalue(res, row, col), NULL);
}

static char *str_col(PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col)
                   ? NULL
                   : cor_strdup(PQgetvalue(res, row, col));
}

static int load_runs(pair_t *pair, rs_pg_t *pg, const char *const *params,
                     char *errstr, size_t errstr_size) {
        PGresult *res;
        int       i;

        res = rs_pg_query(
            pg,
            "SELECT tenant_id, run_id, test_id, route, url, "
            "(extract(epoch FROM run_at) * 1000)::bigint, "
            "(extract(epoch FROM bucket_start) * 1000)::bigint, location, "
            "device_profile, network_profile, device, success, error, lcp, "
            "fcp, ttfb, cls, tbt, load_time FROM synthetic_tests WHERE "
            "partition = $1 AND bucket_start >= to_timestamp($2::bigint / "
            "1000.0)",
            2, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                run_t *r = calloc(1, sizeof(*r));
                if (!r)
                        cor_oom();
                r->tenant          = str_col(res, i, 0);
                r->run_id          = str_col(res, i, 1);
                r->test_id         = str_col(res, i, 2);
                r->route           = str_col(res, i, 3);
                r->url             = str_col(res, i, 4);
                r->ts              = i64_col(res, i, 5);
                r->location        = str_col(res, i, 7);
                r->device_profile  = str_col(res, i, 8);
                r->network_profile = str_col(res, i, 9);
                r->device          = cor_device_class(PQgetvalue(res, i, 10));
                r->success         = PQgetvalue(res, i, 11)[0] == 't';
                r->error           = str_col(res, i, 12);
                r->v[COR_LCP]      = f64_col(res, i, 13);
                r->v[COR_FCP]      = f64_col(res, i, 14);
                r->v[COR_TTFB]     = f64_col(res, i, 15);
                r->v[COR_CLS]      = f64_col(res, i, 16);
                r->tbt             = f64_col(res, i, 17);
                r->load_time       = f64_col(res, i, 18);
                cor_bucket_add_run(cor_pending(pair, i64_col(res, i, 6)), r);
        }
        PQclear(res);
        return 0;
}

static int load_field(pair_t *pair, rs_pg_t *pg, const char *const *params,
                      char *errstr, size_t errstr_size) {
        PGresult *res;
        int       i;

        res = rs_pg_query(
            pg,
            "SELECT tenant_id, route, device, (extract(epoch FROM "
            "bucket_start) * 1000)::bigint, metric, page_views, weight, "
            "sketch, samples FROM rum_field_buckets WHERE partition = $1 AND "
            "bucket_start >= to_timestamp($2::bigint / 1000.0)",
            2, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                bucket_t      *b  = cor_pending(pair, i64_col(res, i, 3));
                fcell_t       *f  = cor_bucket_field(b, PQgetvalue(res, i, 0),
                                                     PQgetvalue(res, i, 1),
                                                     PQgetvalue(res, i, 2), 1);
                const char    *mn = PQgetvalue(res, i, 4);
                size_t         len;
                unsigned char *raw;
                int            m;
                for (m = 0; m < COR_NMET; m++)
                        if (!strcmp(mn, cor_metric_name[m]))
                                break;
                if (m == COR_NMET)
                        continue;
                raw = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(res, i, 7), &len);
                if (!raw)
                        cor_oom();
                rs_sketch_destroy(f->sk[m]);
                f->sk[m] = rs_sketch_deserialize(raw, len, errstr, errstr_size);
                PQfreemem(raw);
                if (!f->sk[m]) {
                        PQclear(res);
                        return -1;
                }
                f->page_views = f64_col(res, i, 5);
                f->weight[m]  = f64_col(res, i, 6);
                f->samples[m] = i64_col(res, i, 8);
        }
        PQclear(res);
        return 0;
}

static int load_segs(pair_t *pair, rs_pg_t *pg, const char *const *params,
                     char *errstr, size_t errstr_size) {
        PGresult *res;
        int       i;

        res = rs_pg_query(
            pg,
            "SELECT tenant_id, (extract(epoch FROM bucket_start) * "
            "1000)::bigint, segment_type, segment_value, page_views FROM "
            "rum_segment_buckets WHERE partition = $1 AND bucket_start >= "
            "to_timestamp($2::bigint / 1000.0)",
            2, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                double *pv =
                    cor_bucket_seg(cor_pending(pair, i64_col(res, i, 1)),
                                   PQgetvalue(res, i, 0), PQgetvalue(res, i, 2),
                                   PQgetvalue(res, i, 3));
                if (pv)
                        *pv = f64_col(res, i, 4);
        }
        PQclear(res);
        return 0;
}

static int load_states(correlator_t *c, pair_t *pair, rs_pg_t *pg,
                       const char *const *params, char *errstr,
                       size_t errstr_size) {
        PGresult *res;
        int       i, m;

        res = rs_pg_query(pg,
                          "SELECT tenant_id, route, consecutive, "
                          "coalesce(streak_ms, 0), last_error, "
                          "coalesce(issue_id, ''), coalesce(opened_ms, 0), "
                          "version FROM synthetic_failure_state WHERE "
                          "partition = $1 AND (consecutive > 0 OR issue_id "
                          "IS NOT NULL)",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                fail_t *f      = fail_get(pair, PQgetvalue(res, i, 0),
                                          PQgetvalue(res, i, 1), 1);
                f->consecutive = i64_col(res, i, 2);
                f->streak_ms   = i64_col(res, i, 3);
                f->last_error  = str_col(res, i, 4);
                snprintf(f->issue_id, sizeof(f->issue_id), "%s",
                         PQgetvalue(res, i, 5));
                f->opened_ms = i64_col(res, i, 6);
                f->version   = i64_col(res, i, 7);
        }
        PQclear(res);

        res = rs_pg_query(pg,
                          "SELECT tenant_id, route, device, metric, "
                          "issue_id, issue_opened_ms, issue_version, "
                          "coalesce(issue_cause, ''), issue_lab_baseline, "
                          "issue_field_baseline, issue_gap_baseline FROM "
                          "performance_baselines WHERE partition = $1 AND "
                          "issue_id IS NOT NULL",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                lkey_t     *k  = key_get(c, pair, PQgetvalue(res, i, 0),
                                         PQgetvalue(res, i, 1),
                                         cor_device_class(PQgetvalue(res, i, 2)), 1);
                const char *mn = PQgetvalue(res, i, 3);
                gapst_t    *gs;
                if (!k)
                        continue;
                for (m = 0; m < COR_NMET; m++)
                        if (!strcmp(mn, cor_metric_name[m]))
                                break;
                if (m == COR_NMET)
                        continue;
                gs = &k->gap[m];
                snprintf(gs->issue_id, sizeof(gs->issue_id), "%s",
                         PQgetvalue(res, i, 4));
                gs->opened_ms  = i64_col(res, i, 5);
                gs->version    = i64_col(res, i, 6);
                gs->open_cause = !strcmp(PQgetvalue(res, i, 7), "lab_first")
                                     ? RS_CORRELATE_CAUSE_LAB_FIRST
                                     : RS_CORRELATE_CAUSE_FIELD_ONLY;
                gs->open_lab   = f64_col(res, i, 8);
                gs->open_field = f64_col(res, i, 9);
                gs->open_gap   = f64_col(res, i, 10);
        }
        PQclear(res);
        return 0;
}

int cor_pair_load(correlator_t *c, pair_t *pair, rs_pg_t *pg, char *errstr,
                  size_t errstr_size) {
        char        part[16], from_runs[32], from_field[32];
        const char *p_runs[2]  = {part, from_runs};
        const char *p_field[2] = {part, from_field};
        PGresult   *res;
        int64_t     e, size = c->conf->bucket_ms;
        int64_t    *starts;
        size_t      n, i;

        snprintf(part, sizeof(part), "%" PRId32, pair->j.partition);
        res = rs_pg_query(pg,
                          "SELECT evaluated_until FROM correlation_progress "
                          "WHERE partition = $1",
                          1, p_runs, errstr, errstr_size);
        if (!res)
                return -1;
        e = PQntuples(res) ? i64_col(res, 0, 0) : RS_WINDOW_NONE;
        PQclear(res);
        pair->j.evaluated_until = e;
        /* Which keys are alive at the oldest bucket of the history depends
         * on runs up to a history before it. */
        snprintf(from_runs, sizeof(from_runs), "%" PRId64,
                 e == RS_WINDOW_NONE
                     ? (int64_t)0
                     : e - (2 * (int64_t)c->history - 1) * size);
        snprintf(from_field, sizeof(from_field), "%" PRId64,
                 e == RS_WINDOW_NONE ? (int64_t)0
                                     : e - (int64_t)c->history * size);
        if (load_states(c, pair, pg, p_runs, errstr, errstr_size) == -1 ||
            load_runs(pair, pg, p_runs, errstr, errstr_size) == -1 ||
            load_field(pair, pg, p_field, errstr, errstr_size) == -1 ||
            load_segs(pair, pg, p_field, errstr, errstr_size) == -1)
                return -1;
        /* Judge the history again, silently. */
        n = rs_join_pending_starts(&pair->j, &starts);
        for (i = 0; i < n && starts[i] < e; i++) {
                void    **slot = rs_join_pending(&pair->j, starts[i]);
                bucket_t *pb   = *slot;
                *slot          = NULL;
                judge_bucket(c, pair, starts[i], pb, 1);
                cor_bucket_free(pb);
        }
        free(starts);
        return 0;
}
