/*
 * anomaly-detector: error rates, judged like the vitals.
 *
 * The error-tracker's error.aggregates (errors of one group on one route
 * per window) and rum.aggregates (the route's all-traffic page views) are
 * both keyed by tenant with the same partition count; the range assignor
 * gives partition p of both to this instance, a pair (common/join). The
 * page-view side hands over each closed window's (tenant, route) page
 * views; the error side sums the groups of each closed window per (tenant,
 * route), counting every (tenant, route, group) once (an error-tracker
 * replay sends the same aggregate again). Once both sides are past a
 * window, every route with page views in it gets a point on its series
 * (tenant, route, all, all, error_rate): weighted errors / page views, 0
 * for a route without errors, with the Poisson interval of the errors
 * received (common/detect rs_detect_window_from_rate()), and is judged by
 * the same judges as a vital (judge.c ad_judge_rates()): regression
 * against its baseline, level shift, and the budget rules that name
 * error_rate. A window without page views is no data.
 *
 * Each side's part of a window is durable as soon as the side closed it
 * (anomaly_rate_inputs, with the partition), and how far a pair has judged
 * with the judgement (anomaly_rate_progress); on assignment what was
 * handed over and not judged is loaded back, so a restart judges every
 * window once, on the same numbers. Judged rows are deleted with the
 * progress that passes them.
 *
 * Rates are judged only while both sides of a pair are assigned here:
 * without error_topic's partition (a topic not created, say) an absence of
 * errors is no rate of 0. A side that is silent for error_rate.max_wait_ms
 * does not hold the other back (common/join): the error-tracker emits
 * nothing for a tenant without errors, so silence is how a clean partition
 * looks, and it is also how a stopped error-tracker looks: windows judged
 * while it was down for longer than that count as without errors.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"
#include "rumstream/route.h"
#include "rumstream/window.h"

#include "internal.h"

/* Sides of a pair (rs_join_pair_t.side). */
#define SIDE_PV  0 /* rum.aggregates */
#define SIDE_ERR 1 /* error.aggregates */

static const char *const side_name[2] = {"page_views", "errors"};

/* One (tenant, route, group) of an open error window. */
typedef struct esum_s {
        int64_t errors;
        double  weighted;
} esum_t;

static const char *const in_cols[] = {
    "tenant_id", "route",  "window_start",    "side",
    "partition", "errors", "weighted_errors", "page_views"};
static const char *const progress_cols[] = {"partition", "evaluated_until"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

int ad_rates_init(detector_t *d, char *errstr, size_t errstr_size) {
        const char *et = d->conf->error_topic;
        size_t      n;

        d->sconf             = d->conf->stream;
        d->jconf.window_ms   = d->conf->stream.window_size_ms;
        d->jconf.max_wait_ms = d->conf->rate_max_wait_ms;
        d->jconf.until_eof   = d->conf->stream.until_eof;
        if (d->rate_metric < 0)
                return 0;
        n         = strlen(d->conf->stream.input_topic) + strlen(et) + 2;
        d->topics = malloc(n);
        if (!d->topics) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        snprintf(d->topics, n, "%s,%s", d->conf->stream.input_topic, et);
        d->sconf.input_topic = d->topics;
        if (!(d->dec_err = rs_avro_decoder_new(
                  d->reg, RS_SCHEMA_ID_ERROR_AGGREGATE, errstr, errstr_size)))
                return -1;
        d->b_rate_in =
            rs_pg_batch_new("anomaly_rate_inputs", in_cols, NCOLS(in_cols), 4);
        d->b_rate_progress = rs_pg_batch_new(
            "anomaly_rate_progress", progress_cols, NCOLS(progress_cols), 1);
        if (!d->b_rate_in || !d->b_rate_progress) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

int ad_rates_check_topics(detector_t *d, char *errstr, size_t errstr_size) {
        if (d->rate_metric < 0)
                return 0;
        return rs_join_check_topics(d->stream, d->conf->stream.input_topic,
                                    d->conf->error_topic, "error rates", errstr,
                                    errstr_size);
}

void ad_rates_counters(detector_t *d, rs_metrics_t *m) {
        d->c_err_aggs = rs_metrics_counter(m, "anomaly_error_aggregates_total",
                                           "ErrorAggregates accepted", NULL);
        d->c_err_late = rs_metrics_counter(
            m, "anomaly_error_aggregates_late_total",
            "ErrorAggregates of windows judged already (dead-lettered)", NULL);
        d->c_err_dup = rs_metrics_counter(
            m, "anomaly_error_aggregates_duplicate_total",
            "Second ErrorAggregates of a group, route and window (skipped)",
            NULL);
        d->c_rate_windows =
            rs_metrics_counter(m, "anomaly_rate_windows_total",
                               "Windows whose error rates were judged", NULL);
}

static void free_cb(const void *key, size_t len, void *value, void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        free(value);
}

static void map_free(rs_map_t *m) {
        if (!m)
                return;
        rs_map_foreach(m, free_cb, NULL);
        rs_map_destroy(m);
}

static void pending_window_free_cb(int64_t start, void *value, void *opaque) {
        (void)start;
        (void)opaque;
        map_free(value);
}

static void pair_free(rs_join_pair_t *p) {
        if (!p)
                return;
        if (p->pending) {
                rs_join_pending_foreach(p, pending_window_free_cb, NULL);
                rs_join_pair_fini(p);
        }
        free(p);
}

void ad_rates_destroy(detector_t *d) {
        int32_t i;

        for (i = 0; i < d->join.cnt; i++)
                pair_free(d->join.pairs[i]);
        rs_join_destroy(&d->join);
        free(d->topics);
        rs_avro_decoder_destroy(d->dec_err);
        rs_pg_batch_destroy(d->b_rate_in);
        rs_pg_batch_destroy(d->b_rate_progress);
}

int ad_rates_is_err_part(const detector_t *d, const rs_stream_part_t *part) {
        return d->rate_metric >= 0 &&
               !strcmp(part->topic, d->conf->error_topic);
}

/* The pending (tenant, route) of window \p start. */
static rate_pend_t *pend_get(rs_join_pair_t *p, int64_t start,
                             const char *tenant, const char *route) {
        char   key[RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN + 2];
        size_t klen = rs_map_key_join(key, sizeof(key), tenant, route, NULL);
        rs_map_t    **win;
        rate_pend_t **slot;
        int           created;

        win = (rs_map_t **)rs_join_pending(p, start);
        if (!*win && !(*win = rs_map_new()))
                ad_oom();
        slot = (rate_pend_t **)rs_map_put(*win, key, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(rate_pend_t)))))
                ad_oom();
        return *slot;
}

/*
 * Pairs.
 */
static int64_t i64_col(PGresult *res, int row, int col) {
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static int pair_load(rs_join_pair_t *p, rs_pg_t *pg, char *errstr,
                     size_t errstr_size) {
        char        part[16];
        const char *params[1] = {part};
        PGresult   *res;

        snprintf(part, sizeof(part), "%" PRId32, p->partition);
        res = rs_pg_query(pg,
                          "SELECT evaluated_until FROM anomaly_rate_progress "
                          "WHERE partition = $1",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        if (PQntuples(res))
                p->evaluated_until = i64_col(res, 0, 0);
        PQclear(res);
        return 0;
}

/* What side \p side handed over before the restart, not judged yet. */
static int load_pending(rs_join_pair_t *p, int side, rs_pg_t *pg, char *errstr,
                        size_t errstr_size) {
        char        part[16], from[32];
        const char *params[3] = {part, side_name[side], from};
        PGresult   *res;
        int         i;

        snprintf(part, sizeof(part), "%" PRId32, p->partition);
        snprintf(from, sizeof(from), "%" PRId64,
                 p->evaluated_until == RS_WINDOW_NONE ? (int64_t)0
                                                      : p->evaluated_until);
        res = rs_pg_query(pg,
                          "SELECT tenant_id, route, (extract(epoch FROM "
                          "window_start) * 1000)::bigint, errors, "
                          "weighted_errors, page_views FROM "
                          "anomaly_rate_inputs WHERE partition = $1 AND side "
                          "= $2 AND window_start >= to_timestamp($3::bigint "
                          "/ 1000.0)",
                          3, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0; i < PQntuples(res); i++) {
                rate_pend_t *r =
                    pend_get(p, i64_col(res, i, 2), PQgetvalue(res, i, 0),
                             PQgetvalue(res, i, 1));
                if (side == SIDE_PV) {
                        r->page_views += strtod(PQgetvalue(res, i, 5), NULL);
                        r->has_pv = 1;
                } else {
                        r->errors += i64_col(res, i, 3);
                        r->weighted += strtod(PQgetvalue(res, i, 4), NULL);
                }
        }
        PQclear(res);
        return 0;
}

int ad_rates_part_open(detector_t *d, rs_stream_part_t *part, rs_pg_t *pg,
                       char *errstr, size_t errstr_size) {
        int32_t n    = part->partition;
        int     side = ad_rates_is_err_part(d, part) ? SIDE_ERR : SIDE_PV;
        rs_join_pair_t *p;

        if (d->rate_metric < 0)
                return 0;
        if (!(p = rs_join_get(&d->join, n))) {
                if (!(p = calloc(1, sizeof(*p))) ||
                    rs_join_pair_init(p, n) == -1)
                        ad_oom();
                if (pair_load(p, pg, errstr, errstr_size) == -1) {
                        pair_free(p);
                        return -1;
                }
                if (rs_join_set(&d->join, n, p) == -1)
                        ad_oom();
        }
        if (load_pending(p, side, pg, errstr, errstr_size) == -1)
                return -1;
        rs_join_attach(p, side, part);
        if (side == SIDE_ERR)
                part->state = p;
        return 0;
}

static void err_window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        (void)opaque;
        map_free(data);
}

void ad_rates_part_close(detector_t *d, rs_stream_part_t *part) {
        rs_join_pair_t *p;

        if (d->rate_metric < 0)
                return;
        p = rs_join_get(&d->join, part->partition);
        if (ad_rates_is_err_part(d, part)) {
                rs_window_foreach(part->win, err_window_free_cb, NULL);
                part->state = NULL;
        }
        /* Both sides go together (eager rebalancing revokes everything);
         * the next owner loads the pair from what is stored. */
        if (p && rs_join_detach(p, part)) {
                rs_join_set(&d->join, part->partition, NULL);
                pair_free(p);
        }
}

/*
 * Input.
 */
void ad_rates_message(detector_t *d, rs_stream_part_t *part,
                      const rd_kafka_message_t *msg, int replay) {
        rs_join_pair_t      *p = part->state;
        rs_error_aggregate_t ea;
        avro_value_t        *val;
        char                 err[512], key[2 * RS_ROUTE_MAX + 256];
        const char          *reason;
        int64_t              start, size = rs_window_size(part->win);
        rs_map_t           **win;
        esum_t             **slot;
        size_t               klen;
        int                  rc, created;

        rs_join_touch(p, SIDE_ERR);
        rc = rs_avro_decoder_decode(d->dec_err, msg->payload, msg->len, &val,
                                    err, sizeof(err));
        if (rc) {
                rs_stream_dlq(d->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_error_aggregate_read(val, &ea, err, sizeof(err)) == -1) {
                rs_stream_dlq(d->stream, msg, "invalid", err, replay);
                return;
        }
        if ((reason = rs_event_check_tenant(ea.tenant_id, err, sizeof(err)))) {
                rs_stream_dlq(d->stream, msg, reason, err, replay);
                return;
        }
        start = rs_window_start_of(size, ea.window_start_ms);
        if (start != ea.window_start_ms || ea.window_end_ms != start + size ||
            ea.window_start_ms < RS_EVENT_MIN_TIME_MS ||
            strlen(ea.route) >= RS_ROUTE_MAX || strlen(ea.group_id) > 128 ||
            ea.errors < 0 || ea.errors > (int64_t)1e12 ||
            !(ea.weighted_errors >= (double)ea.errors &&
              ea.weighted_errors < 1e15)) {
                snprintf(err, sizeof(err),
                         "error aggregate [%" PRId64 ", %" PRId64
                         ") is not one window of %" PRId64
                         " ms (window.size_ms must be the error-tracker's), "
                         "or has a bad route, group or error count",
                         ea.window_start_ms, ea.window_end_ms, size);
                rs_stream_dlq(d->stream, msg, "invalid", err, replay);
                return;
        }
        rc = start + size <= p->evaluated_until
                 ? RS_WINDOW_LATE
                 : rs_window_assign(part->win, start, msg->offset, &start,
                                    (void ***)&win);
        if (rc == RS_WINDOW_LATE) {
                snprintf(err, sizeof(err),
                         "error aggregate of window %" PRId64
                         " after the window was closed or judged",
                         ea.window_start_ms);
                rs_stream_dlq(d->stream, msg, "late", err, replay);
                if (!replay)
                        rs_counter_add(d->c_err_late, 1);
                return;
        }
        if (rc != RS_WINDOW_OK || (!*win && !(*win = rs_map_new())))
                ad_oom();
        klen = ad_series_key(key, sizeof(key), ea.tenant_id, ea.route,
                             ea.group_id, NULL, NULL);
        if (rs_map_get(*win, key, klen)) {
                if (!replay)
                        rs_counter_add(d->c_err_dup, 1);
                return;
        }
        if (rs_map_size(*win) >= (size_t)d->conf->max_series) {
                if (!replay)
                        rs_counter_add(d->c_overflow, 1);
                return;
        }
        slot = (esum_t **)rs_map_put(*win, key, klen, &created);
        if (!slot || !(*slot = calloc(1, sizeof(esum_t))))
                ad_oom();
        (*slot)->errors   = ea.errors;
        (*slot)->weighted = ea.weighted_errors;
        if (!replay)
                rs_counter_add(d->c_err_aggs, 1);
}

void ad_rates_touch_pv(detector_t *d, rs_stream_part_t *part) {
        rs_join_pair_t *p;

        if (d->rate_metric >= 0 && (p = rs_join_get(&d->join, part->partition)))
                rs_join_touch(p, SIDE_PV);
}

/* A side's closed (tenant, route): a durable row, and the pending. */
static void hand_over(detector_t *d, rs_join_pair_t *p, int side, int64_t start,
                      const char *ts, const char *tenant, const char *route,
                      int64_t errors, double weighted, double page_views) {
        rate_pend_t *r;

        if (start < p->evaluated_until)
                return; /* judged without it */
        rs_pg_batch_str(d->b_rate_in, tenant);
        rs_pg_batch_str(d->b_rate_in, route);
        rs_pg_batch_str(d->b_rate_in, ts);
        rs_pg_batch_str(d->b_rate_in, side_name[side]);
        rs_pg_batch_i64(d->b_rate_in, p->partition);
        rs_pg_batch_i64(d->b_rate_in, errors);
        rs_pg_batch_f64(d->b_rate_in, weighted);
        if (side == SIDE_PV)
                rs_pg_batch_f64(d->b_rate_in, page_views);
        else
                rs_pg_batch_null(d->b_rate_in);
        rs_pg_batch_row_end(d->b_rate_in);
        r = pend_get(p, start, tenant, route);
        if (side == SIDE_PV) {
                r->page_views += page_views;
                r->has_pv = 1;
        } else {
                r->errors += errors;
                r->weighted += weighted;
        }
}

typedef struct pv_ctx_s {
        detector_t     *d;
        rs_join_pair_t *p;
        int64_t         start;
        char            ts[40];
} pv_ctx_t;

static void pv_cb(const void *key, size_t len, void *value, void *opaque) {
        pv_ctx_t     *x      = opaque;
        const cell_t *cell   = value;
        const char   *tenant = key;
        const char   *route  = tenant + strlen(tenant) + 1;
        const char   *type   = route + strlen(route) + 1;

        (void)len;
        if (cell && !strcmp(type, "all"))
                hand_over(x->d, x->p, SIDE_PV, x->start, x->ts, tenant, route,
                          0, 0, cell->page_views);
}

void ad_rates_page_views(detector_t *d, rs_stream_part_t *part, int64_t start,
                         rs_map_t *cells) {
        pv_ctx_t x;

        /* Without the error side there is no rate to judge: nothing is
         * kept for it (see ad_rates_emit()). */
        if (d->rate_metric < 0 || !cells ||
            !(x.p = rs_join_get(&d->join, part->partition)) ||
            !x.p->side[SIDE_ERR])
                return;
        x.d     = d;
        x.start = start;
        rs_pg_timestamp(start, x.ts, sizeof(x.ts));
        rs_map_foreach(cells, pv_cb, &x);
}

/* The groups of a closed error window, summed per (tenant, route). */
static void err_sum_cb(const void *key, size_t len, void *value, void *opaque) {
        rs_map_t     *sums  = opaque;
        const esum_t *e     = value;
        const char   *route = (const char *)key + strlen(key) + 1;
        char          k[RS_ROUTE_MAX + RS_EVENT_MAX_TENANT_LEN + 2];
        size_t        klen = rs_map_key_join(k, sizeof(k), key, route, NULL);
        esum_t      **slot;
        int           created;

        (void)len;
        slot = (esum_t **)rs_map_put(sums, k, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(esum_t)))))
                ad_oom();
        (*slot)->errors += e->errors;
        (*slot)->weighted += e->weighted;
}

typedef struct err_ctx_s {
        detector_t     *d;
        rs_join_pair_t *p;
        int64_t         start;
        char            ts[40];
} err_ctx_t;

static void err_hand_cb(const void *key, size_t len, void *value,
                        void *opaque) {
        err_ctx_t    *x     = opaque;
        const esum_t *e     = value;
        const char   *route = (const char *)key + strlen(key) + 1;

        (void)len;
        hand_over(x->d, x->p, SIDE_ERR, x->start, x->ts, key, route, e->errors,
                  e->weighted, 0);
}

/*
 * Judging.
 */
static int busy_cb(void *opaque, rs_join_pair_t *p) {
        (void)opaque;
        (void)p;
        /* A window without page views is no data: nothing to judge. */
        return 0;
}

static int judge_cb(void *opaque, rs_join_pair_t *p, int64_t start,
                    void *pending) {
        detector_t *d   = opaque;
        rs_map_t   *win = pending;
        int         rc  = 0;

        if (win) {
                rc = ad_judge_rates(d, d->parts[p->partition], start,
                                    d->jconf.window_ms, win);
                map_free(win);
                rs_counter_add(d->c_rate_windows, 1);
        }
        return rc;
}

int ad_rates_emit(detector_t *d, rs_stream_part_t *part) {
        static const rs_join_ops_t ops = {busy_cb, judge_cb};
        rs_join_pair_t            *p;
        int64_t                    start;
        void                      *data;
        int                        n = 0, judged;

        if (d->rate_metric < 0 || !(p = rs_join_get(&d->join, part->partition)))
                return 0;
        if (ad_rates_is_err_part(d, part)) {
                while (rs_window_pop_closed(part->win, &start, &data)) {
                        err_ctx_t x = {d, p, start, ""};
                        rs_map_t *sums;
                        n++;
                        if (!data)
                                continue;
                        if (!(sums = rs_map_new()))
                                ad_oom();
                        rs_map_foreach(data, err_sum_cb, sums);
                        map_free(data);
                        rs_pg_timestamp(start, x.ts, sizeof(x.ts));
                        rs_map_foreach(sums, err_hand_cb, &x);
                        map_free(sums);
                }
                rs_join_closed(p, SIDE_ERR);
        } else {
                rs_join_closed(p, SIDE_PV);
        }
        /* Judging needs both sides: the series come with the page-view
         * side, and without the error side (error_topic not assigned here,
         * e.g. not created) an absence of errors would be taken for a rate
         * of 0. rs_join lets an unassigned side pass; here it does not. */
        if (!p->side[SIDE_PV] || !p->side[SIDE_ERR] ||
            p->partition >= d->part_cap || !d->parts[p->partition])
                return n;
        /* Windows judged on a silent side's account are rows to write as
         * well: the checkpoint must not take them for nothing. */
        judged = rs_join_evaluate(p, &d->jconf, &ops, d);
        return judged == -1 ? -1 : n + judged;
}

/*
 * Writing.
 */
int ad_rates_write(detector_t *d, rs_pg_t *pg, char *errstr,
                   size_t errstr_size) {
        int32_t i;

        if (d->rate_metric < 0)
                return 0;
        rs_pg_batch_clear(d->b_rate_progress);
        for (i = 0; i < d->join.cnt; i++) {
                rs_join_pair_t *p = d->join.pairs[i];
                if (!p || !p->progress_dirty ||
                    p->evaluated_until == RS_WINDOW_NONE)
                        continue;
                rs_pg_batch_i64(d->b_rate_progress, p->partition);
                rs_pg_batch_i64(d->b_rate_progress, p->evaluated_until);
                rs_pg_batch_row_end(d->b_rate_progress);
        }
        if (rs_pg_batch_rows(d->b_rate_in) > 0 &&
            rs_pg_batch_flush(pg, d->b_rate_in, errstr, errstr_size) == -1)
                return -1;
        if (rs_pg_batch_rows(d->b_rate_progress) > 0 &&
            rs_pg_batch_flush(pg, d->b_rate_progress, errstr, errstr_size) ==
                -1)
                return -1;
        /* What is judged is not needed again. */
        for (i = 0; i < d->join.cnt; i++) {
                rs_join_pair_t *p = d->join.pairs[i];
                char            part[16], until[32];
                const char     *params[2] = {part, until};
                PGresult       *res;
                if (!p || !p->progress_dirty ||
                    p->evaluated_until == RS_WINDOW_NONE)
                        continue;
                snprintf(part, sizeof(part), "%" PRId32, p->partition);
                snprintf(until, sizeof(until), "%" PRId64, p->evaluated_until);
                res = rs_pg_query(pg,
                                  "DELETE FROM anomaly_rate_inputs WHERE "
                                  "partition = $1 AND window_start < "
                                  "to_timestamp($2::bigint / 1000.0)",
                                  2, params, errstr, errstr_size);
                if (!res)
                        return -1;
                PQclear(res);
        }
        return 0;
}

void ad_rates_written(detector_t *d) {
        int32_t i;

        if (d->rate_metric < 0)
                return;
        rs_pg_batch_clear(d->b_rate_in);
        rs_pg_batch_clear(d->b_rate_progress);
        for (i = 0; i < d->join.cnt; i++)
                if (d->join.pairs[i])
                        d->join.pairs[i]->progress_dirty = 0;
}
