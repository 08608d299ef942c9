/*
 * error-tracker: error rates, the join of errors with page views.
 *
 * Both inputs are keyed by tenant with the same partition count, and the
 * range assignor gives partition p of both to the same instance: a pair
 * (pair_t) holds what the two sides of partition p closed. The errors side
 * (error.events) closes a window and hands over its (tenant, route)
 * counts; the page-view side (rum.aggregates, the all-traffic roll-up; its
 * own windows, keyed by each aggregate's window start) closes the same
 * window and hands over page views. A window is judged once both sides
 * emitted it: bound = min(emitted_until of each side), where a side that
 * is not assigned, or silent for error_rate.max_wait_ms (or at the end of
 * a backfill) with nothing open, does not hold the judgement back.
 *
 * Each side's part of a window is durable as soon as that side emitted it
 * (error_route_windows, route_page_views, with the partition number), and
 * how far a pair has judged is stored with the judgement
 * (error_rate_progress): on assignment, the windows after that are loaded
 * back from both tables, so a restart judges each window exactly once, on
 * the same numbers.
 *
 * The rule, per (tenant, route): a window is over when it has at least
 * error_rate.min_page_views page views and weighted errors / page views
 * above error_rate.threshold. After duration / window consecutive windows
 * over, an error_rate issue opens (dated back to the first of them), is
 * updated each further window over and resolves with the first window
 * that is not.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/hash.h"
#include "rumstream/join.h"
#include "rumstream/log.h"
#include "rumstream/window.h"

#include "internal.h"

typedef struct rate_s {
        struct rate_s *next_open;
        char          *tenant, *route;
        int64_t        over_windows; /* consecutive windows over */
        char           issue_id[33]; /* "" while none is open */
        int64_t        opened_ms, version;
        int            on_open, dirty, seen;
} rate_t;

/* One (tenant, route) of a window waiting to be judged. */
typedef struct pend_s {
        int64_t errors;
        double  weighted;
        double  page_views;
        int     has_pv;
} pend_t;

/* Sides of a pair (rs_join_pair_t.side). */
#define SIDE_ERRORS 0 /* error.events */
#define SIDE_PV     1 /* rum.aggregates */

/* j.pending: window start -> rs_map_t of pend_t. */
struct pair_s {
        rs_join_pair_t j;     /* first: a pair_t is its rs_join_pair_t */
        rs_map_t      *rates; /* tenant \0 route -> rate_t */
        rate_t        *open;  /* rates with an open issue */
};

static void oom(void) {
        rs_log_error("out of memory");
        abort();
}

static const char *const pv_cols[]    = {"tenant_id", "route", "window_start",
                                         "partition", "page_views"};
static const char *const rates_cols[] = {
    "tenant_id", "route",           "window_start", "window_end",
    "errors",    "weighted_errors", "page_views",   "error_rate"};
static const char *const state_cols[] = {
    "tenant_id", "route",     "partition", "over_windows",
    "issue_id",  "opened_ms", "version"};
static const char *const progress_cols[] = {"partition", "evaluated_until"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

int rates_init(tracker_t *t, char *errstr, size_t errstr_size) {
        const char *pv = t->conf->page_views_topic;
        size_t      n;

        t->sconf             = t->conf->stream;
        t->jconf.window_ms   = t->conf->stream.window_size_ms;
        t->jconf.max_wait_ms = t->conf->rate_max_wait_ms;
        t->jconf.until_eof   = t->conf->stream.until_eof;
        if (!pv || !pv[0])
                return 0;
        n         = strlen(t->conf->stream.input_topic) + strlen(pv) + 2;
        t->topics = malloc(n);
        if (!t->topics) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        snprintf(t->topics, n, "%s,%s", t->conf->stream.input_topic, pv);
        t->sconf.input_topic = t->topics;
        if (!(t->dec_pv = rs_avro_decoder_new(
                  t->reg, RS_SCHEMA_ID_RUM_AGGREGATE, errstr, errstr_size)))
                return -1;
        t->b_pv =
            rs_pg_batch_new("route_page_views", pv_cols, NCOLS(pv_cols), 3);
        t->b_rates =
            rs_pg_batch_new("error_rates", rates_cols, NCOLS(rates_cols), 3);
        t->b_rate_state = rs_pg_batch_new("error_rate_state", state_cols,
                                          NCOLS(state_cols), 2);
        t->b_progress   = rs_pg_batch_new("error_rate_progress", progress_cols,
                                          NCOLS(progress_cols), 1);
        if (!t->b_pv || !t->b_rates || !t->b_rate_state || !t->b_progress) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

static void pending_free_cb(const void *key, size_t len, void *value,
                            void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        free(value);
}

static void pending_window_free_cb(int64_t start, void *value, void *opaque) {
        (void)start;
        (void)opaque;
        rs_map_foreach(value, pending_free_cb, NULL);
        rs_map_destroy(value);
}

static void rate_free_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        rate_t *r = value;

        (void)key;
        (void)len;
        (void)opaque;
        free(r->tenant);
        free(r->route);
        free(r);
}

static void pair_free(pair_t *pair) {
        if (!pair)
                return;
        if (pair->j.pending) {
                rs_join_pending_foreach(&pair->j, pending_window_free_cb, NULL);
                rs_join_pair_fini(&pair->j);
        }
        if (pair->rates) {
                rs_map_foreach(pair->rates, rate_free_cb, NULL);
                rs_map_destroy(pair->rates);
        }
        free(pair);
}

void rates_destroy(tracker_t *t) {
        int32_t i;

        for (i = 0; i < t->join.cnt; i++)
                pair_free((pair_t *)t->join.pairs[i]);
        rs_join_destroy(&t->join);
        free(t->topics);
        rs_avro_decoder_destroy(t->dec_pv);
        rs_pg_batch_destroy(t->b_pv);
        rs_pg_batch_destroy(t->b_rates);
        rs_pg_batch_destroy(t->b_rate_state);
        rs_pg_batch_destroy(t->b_progress);
}

int rates_check_topics(tracker_t *t, char *errstr, size_t errstr_size) {
        /* A topic that does not exist yet cannot disagree; it must be
         * created with the same count (the README says so). To turn error
         * rates off, page_views_topic = "". */
        if (!t->dec_pv)
                return 0;
        return rs_join_check_topics(t->stream, t->conf->stream.input_topic,
                                    t->conf->page_views_topic, "error rates",
                                    errstr, errstr_size);
}

int rates_is_pv_part(const tracker_t *t, const rs_stream_part_t *part) {
        return t->dec_pv && !strcmp(part->topic, t->conf->page_views_topic);
}

static rate_t *rate_get(pair_t *pair, const char *tenant, const char *route) {
        char     key[2 * RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN];
        size_t   klen = rs_map_key_join(key, sizeof(key), tenant, route, NULL);
        rate_t **slot;
        int      created;

        slot = (rate_t **)rs_map_put(pair->rates, key, klen, &created);
        if (!slot)
                oom();
        if (!*slot) {
                if (!(*slot = calloc(1, sizeof(**slot))))
                        oom();
                (*slot)->tenant = trk_xstrdup(tenant);
                (*slot)->route  = trk_xstrdup(route);
        }
        return *slot;
}

static void open_add(pair_t *pair, rate_t *r) {
        if (r->on_open)
                return;
        r->on_open   = 1;
        r->next_open = pair->open;
        pair->open   = r;
}

static pend_t *pend_get(pair_t *pair, int64_t start, const char *tenant,
                        const char *route) {
        char   key[2 * RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN];
        size_t klen = rs_map_key_join(key, sizeof(key), tenant, route, NULL);
        rs_map_t **win;
        pend_t   **slot;
        int        created;

        win = (rs_map_t **)rs_join_pending(&pair->j, start);
        if (!*win && !(*win = rs_map_new()))
                oom();
        slot = (pend_t **)rs_map_put(*win, key, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(pend_t)))))
                oom();
        return *slot;
}

/*
 * Pairs and their state.
 */
static int64_t ms_col(PGresult *res, int row, int col) {
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int pair_load(tracker_t *t, pair_t *pair, rs_pg_t *pg, char *errstr,
                     size_t errstr_size) {
        char        part[16];
        const char *params[1] = {part};
        PGresult   *res;
        int         i;

        snprintf(part, sizeof(part), "%" PRId32, pair->j.partition);
        res = rs_pg_query(pg,
                          "SELECT evaluated_until FROM error_rate_progress "
                          "WHERE partition = $1",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        pair->j.evaluated_until =
            PQntuples(res) ? ms_col(res, 0, 0) : INT64_MIN;
        PQclear(res);

        res = rs_pg_query(pg,
                          "SELECT tenant_id, route, over_windows, "
                          "coalesce(issue_id, ''), coalesce(opened_ms, 0), "
                          "version FROM error_rate_state WHERE partition = $1 "
                          "ORDER BY tenant_id, route",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                rate_t *r       = rate_get(pair, PQgetvalue(res, i, 0),
                                           PQgetvalue(res, i, 1));
                r->over_windows = ms_col(res, i, 2);
                snprintf(r->issue_id, sizeof(r->issue_id), "%s",
                         PQgetvalue(res, i, 3));
                r->opened_ms = ms_col(res, i, 4);
                r->version   = ms_col(res, i, 5);
                if (r->issue_id[0])
                        open_add(pair, r);
        }
        PQclear(res);
        (void)t;
        return 0;
}

/* What a side emitted before the restart and was not judged yet. */
static int load_pending(tracker_t *t, pair_t *pair, int pv_side, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        char        part[16], from[32];
        const char *params[2] = {part, from};
        PGresult   *res;
        int         i;

        (void)t;
        snprintf(part, sizeof(part), "%" PRId32, pair->j.partition);
        snprintf(from, sizeof(from), "%" PRId64,
                 pair->j.evaluated_until == INT64_MIN
                     ? (int64_t)0
                     : pair->j.evaluated_until);
        res = rs_pg_query(
            pg,
            pv_side ? "SELECT tenant_id, route, (extract(epoch FROM "
                      "window_start) * 1000)::bigint, 0, 0, page_views FROM "
                      "route_page_views WHERE partition = $1 AND "
                      "window_start >= to_timestamp($2::bigint / 1000.0)"
                    : "SELECT tenant_id, route, (extract(epoch FROM "
                      "window_start) * 1000)::bigint, errors, "
                      "weighted_errors, 0 FROM error_route_windows WHERE "
                      "partition = $1 AND window_start >= "
                      "to_timestamp($2::bigint / 1000.0)",
            2, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                pend_t *p =
                    pend_get(pair, ms_col(res, i, 2), PQgetvalue(res, i, 0),
                             PQgetvalue(res, i, 1));
                if (pv_side) {
                        p->page_views = strtod(PQgetvalue(res, i, 5), NULL);
                        p->has_pv     = 1;
                } else {
                        p->errors   = ms_col(res, i, 3);
                        p->weighted = strtod(PQgetvalue(res, i, 4), NULL);
                }
        }
        PQclear(res);
        return 0;
}

int rates_part_open(tracker_t *t, rs_stream_part_t *part, pstate_t *ps,
                    rs_pg_t *pg, char *errstr, size_t errstr_size) {
        int32_t p = part->partition;
        pair_t *pair;
        int     pv_side = rates_is_pv_part(t, part);

        if (!t->dec_pv)
                return 0;
        if (!(pair = (pair_t *)rs_join_get(&t->join, p))) {
                if (!(pair = calloc(1, sizeof(*pair))) ||
                    rs_join_pair_init(&pair->j, p) == -1 ||
                    !(pair->rates = rs_map_new()))
                        oom();
                if (pair_load(t, pair, pg, errstr, errstr_size) == -1) {
                        pair_free(pair);
                        return -1;
                }
                if (rs_join_set(&t->join, p, &pair->j) == -1)
                        oom();
        }
        if (load_pending(t, pair, pv_side, pg, errstr, errstr_size) == -1)
                return -1;
        rs_join_attach(&pair->j, pv_side ? SIDE_PV : SIDE_ERRORS, part);
        if (pv_side)
                part->state = pair;
        else
                ps->pair = pair;
        return 0;
}

static void pv_window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        (void)opaque;
        if (data) {
                rs_map_foreach(data, pending_free_cb, NULL);
                rs_map_destroy(data);
        }
}

void rates_part_close(tracker_t *t, rs_stream_part_t *part) {
        pair_t *pair = (pair_t *)rs_join_get(&t->join, part->partition);

        if (rates_is_pv_part(t, part)) {
                rs_window_foreach(part->win, pv_window_free_cb, NULL);
                part->state = NULL;
        }
        /* Both sides go together (eager rebalancing revokes everything);
         * the next owner loads the pair from what is stored. */
        if (pair && rs_join_detach(&pair->j, part)) {
                rs_join_set(&t->join, part->partition, NULL);
                pair_free(pair);
        }
}

/*
 * Page views.
 */
void rates_message(tracker_t *t, rs_stream_part_t *part,
                   const rd_kafka_message_t *msg, int replay) {
        pair_t            *pair = part->state;
        rs_rum_aggregate_t agg;
        avro_value_t      *val;
        char               err[512];
        int64_t            start;
        rs_map_t         **win;
        pend_t            *pv;
        char               key[2 * RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN];
        size_t             klen;
        int                rc, created;
        void             **slot;

        rs_join_touch(&pair->j, SIDE_PV);
        rc = rs_avro_decoder_decode(t->dec_pv, msg->payload, msg->len, &val,
                                    err, sizeof(err));
        if (rc) {
                rs_stream_dlq(t->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_rum_aggregate_read(val, &agg, t->pv_metrics,
                                  sizeof(t->pv_metrics) /
                                      sizeof(*t->pv_metrics),
                                  err, sizeof(err)) == -1) {
                rs_stream_dlq(t->stream, msg, "invalid", err, replay);
                return;
        }
        if (strcmp(agg.segment_type, "all"))
                return; /* segments add up to the roll-up */
        start =
            rs_window_start_of(rs_window_size(part->win), agg.window_start_ms);
        if (agg.window_end_ms > start + rs_window_size(part->win) ||
            agg.window_end_ms <= agg.window_start_ms || !agg.tenant_id[0] ||
            strlen(agg.tenant_id) > RS_EVENT_MAX_TENANT_LEN ||
            strlen(agg.route) >= RS_ROUTE_MAX ||
            !(agg.page_views >= 0 && agg.page_views < 1e15)) {
                snprintf(err, sizeof(err),
                         "aggregate [%" PRId64 ", %" PRId64
                         ") does not fit a window of %" PRId64
                         " ms, or has no tenant or a bad route or page-view "
                         "count",
                         agg.window_start_ms, agg.window_end_ms,
                         rs_window_size(part->win));
                rs_stream_dlq(t->stream, msg, "invalid", err, replay);
                return;
        }
        if (rs_window_is_late(part->win, agg.window_start_ms) ||
            agg.window_start_ms + rs_window_size(part->win) <=
                pair->j.evaluated_until) {
                if (!replay)
                        rs_counter_add(t->c_rate_skipped, 1);
                return; /* judged without it: counted, not dead-lettered */
        }
        rc = rs_window_assign(part->win, agg.window_start_ms, msg->offset,
                              &start, (void ***)&win);
        if (rc == RS_WINDOW_LATE) {
                if (!replay)
                        rs_counter_add(t->c_rate_skipped, 1);
                return;
        }
        if (rc != RS_WINDOW_OK || (!*win && !(*win = rs_map_new())))
                oom();
        klen =
            rs_map_key_join(key, sizeof(key), agg.tenant_id, agg.route, NULL);
        slot = rs_map_put(*win, key, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(pend_t)))))
                oom();
        pv = *slot;
        pv->page_views += agg.page_views;
        pv->has_pv = 1;
        if (!replay)
                rs_counter_add(t->c_page_views, 1);
}

void rates_touch_errors(pair_t *pair) {
        rs_join_touch(&pair->j, SIDE_ERRORS);
}

void rates_errors(tracker_t *t, pair_t *pair, int64_t start, const char *tenant,
                  const char *route, int64_t errors, double weighted) {
        pend_t *p;

        (void)t;
        if (!pair || start < pair->j.evaluated_until)
                return;
        p = pend_get(pair, start, tenant, route);
        p->errors += errors;
        p->weighted += weighted;
}

/*
 * Judging.
 */
static void rate_id(const rate_t *r, int64_t opened_ms, char out[33]) {
        rs_id_t h;

        rs_id_init(&h, "issue");
        rs_id_add_str(&h, r->tenant);
        rs_id_add_str(&h, "error_rate");
        rs_id_add_str(&h, r->route);
        rs_id_add_i64(&h, opened_ms);
        rs_id_hex(&h, out);
}

static int rate_issue(tracker_t *t, rate_t *r, const char *state, int64_t start,
                      int64_t end, const pend_t *p, double rate) {
        double            th  = t->conf->rate_threshold;
        const char       *sev = rate >= 4 * th   ? "critical"
                                : rate >= 2 * th ? "high"
                                                 : "medium";
        rs_issue_draft_t *d;
        rs_issue_t       *is;

        d  = rs_issues_start(t->issues, r->issue_id, r->tenant, "error_rate",
                             state, sev, r->version, r->opened_ms, end);
        is = &d->is;
        snprintf(d->route, sizeof(d->route), "%s", r->route);
        /* The same title in every version: "observed" has the rate. */
        snprintf(d->title, sizeof(d->title), "Error rate above %.4g%% on %s",
                 100 * th, r->route);
        is->route       = d->route;
        is->metric      = "error_rate";
        is->observed    = rate;
        is->threshold   = th;
        is->sample_size = p->errors;
        rs_issue_draft_evidence(d, "window_start_ms", "%" PRId64, start);
        rs_issue_draft_evidence(d, "page_views", "%.17g",
                                p->has_pv ? p->page_views : 0.0);
        rs_issue_draft_evidence(d, "weighted_errors", "%.17g", p->weighted);
        if (rs_issues_publish(t->issues, rs_stream_producer(t->stream), d) ==
            -1)
                return -1;
        rs_counter_add(t->c_issues, 1);
        return 0;
}

static int judge(tracker_t *t, pair_t *pair, rate_t *r, int64_t start,
                 int64_t end, const pend_t *p) {
        const tracker_conf_t *c    = t->conf;
        int64_t               size = end - start;
        int64_t               need = (c->rate_duration_ms + size - 1) / size;
        double                rate =
            p->has_pv && p->page_views > 0 ? p->weighted / p->page_views : NAN;
        int over = p->has_pv && p->page_views >= c->rate_min_page_views &&
                   rate > c->rate_threshold;

        if (need < 1)
                need = 1;
        if (over) {
                r->over_windows++;
                r->dirty = 1;
                if (!r->issue_id[0] && r->over_windows >= need) {
                        r->opened_ms = start - (need - 1) * size;
                        r->version   = 1;
                        rate_id(r, r->opened_ms, r->issue_id);
                        open_add(pair, r);
                        return rate_issue(t, r, "open", start, end, p, rate);
                }
                if (r->issue_id[0]) {
                        r->version++;
                        return rate_issue(t, r, "updated", start, end, p, rate);
                }
                return 0;
        }
        if (r->over_windows) {
                r->over_windows = 0;
                r->dirty        = 1;
        }
        if (r->issue_id[0]) {
                int rc;
                r->version++;
                rc             = rate_issue(t, r, "resolved", start, end, p,
                                isnan(rate) ? 0 : rate);
                r->issue_id[0] = '\0';
                r->dirty       = 1;
                return rc;
        }
        return 0;
}

typedef struct judge_ctx_s {
        tracker_t *t;
        pair_t    *pair;
        int64_t    start, end;
        char       ts_start[40], ts_end[40];
        int        failed;
} judge_ctx_t;

static void judge_cb(const void *key, size_t len, void *value, void *opaque) {
        judge_ctx_t  *x      = opaque;
        tracker_t    *t      = x->t;
        const pend_t *p      = value;
        const char   *tenant = key;
        const char   *route  = tenant + strlen(tenant) + 1;
        rate_t       *r;
        double        rate;

        (void)len;
        rate =
            p->has_pv && p->page_views > 0 ? p->weighted / p->page_views : NAN;
        rs_pg_batch_str(t->b_rates, tenant);
        rs_pg_batch_str(t->b_rates, route);
        rs_pg_batch_str(t->b_rates, x->ts_start);
        rs_pg_batch_str(t->b_rates, x->ts_end);
        rs_pg_batch_i64(t->b_rates, p->errors);
        rs_pg_batch_f64(t->b_rates, p->weighted);
        rs_pg_batch_f64(t->b_rates, p->has_pv ? p->page_views : NAN);
        rs_pg_batch_f64(t->b_rates, rate);
        rs_pg_batch_row_end(t->b_rates);

        /* Only routes with a window over (or an issue open) need a state;
         * a clean route's is "zero windows over". */
        r = NULL;
        {
                char   k[2 * RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN];
                size_t klen =
                    rs_map_key_join(k, sizeof(k), tenant, route, NULL);
                rate_t **slot = (rate_t **)rs_map_get(x->pair->rates, k, klen);
                r             = slot ? *slot : NULL;
        }
        if (!r && p->has_pv && p->page_views >= t->conf->rate_min_page_views &&
            p->weighted / p->page_views > t->conf->rate_threshold)
                r = rate_get(x->pair, tenant, route);
        if (r) {
                r->seen = 1;
                if (!x->failed &&
                    judge(t, x->pair, r, x->start, x->end, p) == -1)
                        x->failed = 1;
        }
}

/* Judges window [start, start + size) of \p pair: its pending routes and
 * the open issues of routes that had neither errors nor page views. */
static int judge_window(tracker_t *t, pair_t *pair, int64_t start, int64_t size,
                        rs_map_t *win) {
        judge_ctx_t x = {t, pair, start, start + size, "", "", 0};
        rate_t     *r, **pp;

        rs_pg_timestamp(x.start, x.ts_start, sizeof(x.ts_start));
        rs_pg_timestamp(x.end, x.ts_end, sizeof(x.ts_end));
        for (r = pair->open; r; r = r->next_open)
                r->seen = 0;
        if (win) {
                rs_map_foreach(win, judge_cb, &x);
                rs_map_foreach(win, pending_free_cb, NULL);
                rs_map_destroy(win);
        }
        for (r = pair->open; r && !x.failed; r = r->next_open) {
                pend_t none = {0};
                if (!r->seen && r->issue_id[0] &&
                    judge(t, pair, r, x.start, x.end, &none) == -1)
                        x.failed = 1;
        }
        for (pp = &pair->open; (r = *pp);) {
                if (!r->issue_id[0]) {
                        *pp        = r->next_open;
                        r->on_open = 0;
                } else {
                        pp = &r->next_open;
                }
        }
        return x.failed ? -1 : 0;
}

static int busy_cb(void *opaque, rs_join_pair_t *jp) {
        (void)opaque;
        /* With no issue open, empty windows change nothing. */
        return ((pair_t *)jp)->open != NULL;
}

static int judge_window_cb(void *opaque, rs_join_pair_t *jp, int64_t start,
                           void *pending) {
        tracker_t *t = opaque;

        return judge_window(t, (pair_t *)jp, start,
                            t->conf->stream.window_size_ms, pending);
}

static int evaluate(tracker_t *t, pair_t *pair) {
        static const rs_join_ops_t ops = {busy_cb, judge_window_cb};

        return rs_join_evaluate(&pair->j, &t->jconf, &ops, t);
}

typedef struct pv_ctx_s {
        tracker_t  *t;
        pair_t     *pair;
        int64_t     start;
        const char *ts;
} pv_ctx_t;

static void pv_emit_cb(const void *key, size_t len, void *value, void *opaque) {
        pv_ctx_t     *x      = opaque;
        tracker_t    *t      = x->t;
        const pend_t *pv     = value;
        const char   *tenant = key;
        const char   *route  = tenant + strlen(tenant) + 1;
        pend_t       *p;

        (void)len;
        rs_pg_batch_str(t->b_pv, tenant);
        rs_pg_batch_str(t->b_pv, route);
        rs_pg_batch_str(t->b_pv, x->ts);
        rs_pg_batch_i64(t->b_pv, x->pair->j.partition);
        rs_pg_batch_f64(t->b_pv, pv->page_views);
        rs_pg_batch_row_end(t->b_pv);
        if (x->start < x->pair->j.evaluated_until)
                return; /* judged without it */
        p = pend_get(x->pair, x->start, tenant, route);
        p->page_views += pv->page_views;
        p->has_pv = 1;
}

int rates_emit(tracker_t *t, rs_stream_part_t *part) {
        pair_t *pair;
        int64_t start;
        void   *data;
        int     n = 0, judged;

        if (!t->dec_pv)
                return 0;
        if (rates_is_pv_part(t, part)) {
                pair = part->state;
                while (rs_window_pop_closed(part->win, &start, &data)) {
                        char     ts[40];
                        pv_ctx_t x = {t, pair, start, ts};
                        rs_pg_timestamp(start, ts, sizeof(ts));
                        if (data) {
                                rs_map_foreach(data, pv_emit_cb, &x);
                                rs_map_foreach(data, pending_free_cb, NULL);
                                rs_map_destroy(data);
                        }
                        n++;
                }
                rs_join_closed(&pair->j, SIDE_PV);
        } else {
                pstate_t *ps = part->state;
                if (!(pair = ps->pair))
                        return 0;
                rs_join_closed(&pair->j, SIDE_ERRORS);
        }
        /* Windows judged on a silent side's account are rows to write as
         * well: the checkpoint must not take them for nothing. */
        judged = evaluate(t, pair);
        return judged == -1 ? -1 : n + judged;
}

/*
 * Writing.
 */
static void state_row_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        tracker_t *t    = ((void **)opaque)[0];
        pair_t    *pair = ((void **)opaque)[1];
        rate_t    *r    = value;

        (void)key;
        (void)len;
        if (!r->dirty)
                return;
        rs_pg_batch_str(t->b_rate_state, r->tenant);
        rs_pg_batch_str(t->b_rate_state, r->route);
        rs_pg_batch_i64(t->b_rate_state, pair->j.partition);
        rs_pg_batch_i64(t->b_rate_state, r->over_windows);
        rs_pg_batch_str(t->b_rate_state, r->issue_id[0] ? r->issue_id : NULL);
        if (r->issue_id[0])
                rs_pg_batch_i64(t->b_rate_state, r->opened_ms);
        else
                rs_pg_batch_null(t->b_rate_state);
        rs_pg_batch_i64(t->b_rate_state, r->version);
        rs_pg_batch_row_end(t->b_rate_state);
}

int rates_write(tracker_t *t, rs_pg_t *pg, char *errstr, size_t errstr_size) {
        rs_pg_batch_t *batches[4];
        int32_t        i;
        size_t         k;

        if (!t->dec_pv)
                return 0;
        /* States and progress: the latest, rebuilt for each attempt. */
        rs_pg_batch_clear(t->b_rate_state);
        rs_pg_batch_clear(t->b_progress);
        for (i = 0; i < t->join.cnt; i++) {
                pair_t *pair = (pair_t *)t->join.pairs[i];
                void   *ctx[2];
                if (!pair)
                        continue;
                ctx[0] = t;
                ctx[1] = pair;
                rs_map_foreach(pair->rates, state_row_cb, ctx);
                if (pair->j.progress_dirty &&
                    pair->j.evaluated_until != RS_WINDOW_NONE) {
                        rs_pg_batch_i64(t->b_progress, pair->j.partition);
                        rs_pg_batch_i64(t->b_progress, pair->j.evaluated_until);
                        rs_pg_batch_row_end(t->b_progress);
                }
        }
        batches[0] = t->b_pv;
        batches[1] = t->b_rates;
        batches[2] = t->b_rate_state;
        batches[3] = t->b_progress;
        for (k = 0; k < 4; k++)
                if (rs_pg_batch_rows(batches[k]) > 0 &&
                    rs_pg_batch_flush(pg, batches[k], errstr, errstr_size) ==
                        -1)
                        return -1;
        return 0;
}

static void clean_cb(const void *key, size_t len, void *value, void *opaque) {
        rate_t *r = value;

        (void)key;
        (void)len;
        (void)opaque;
        r->dirty = 0;
}

void rates_written(tracker_t *t) {
        int32_t i;

        if (!t->dec_pv)
                return;
        rs_pg_batch_clear(t->b_pv);
        rs_pg_batch_clear(t->b_rates);
        rs_pg_batch_clear(t->b_rate_state);
        rs_pg_batch_clear(t->b_progress);
        for (i = 0; i < t->join.cnt; i++) {
                pair_t *pair = (pair_t *)t->join.pairs[i];
                if (!pair)
                        continue;
                pair->j.progress_dirty = 0;
                rs_map_foreach(pair->rates, clean_cb, NULL);
        }
}
