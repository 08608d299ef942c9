/*
 * synthetic-correlator: the two inputs, their durable halves and the
 * wiring. See correlator.h for what it does; judge.c judges the buckets.
 *
 * Per partition number, a pair (pair_t) holds both sides: the synthetic
 * runs side (the stream partition of synthetic.events) and the field side
 * (rum.aggregates). Their open buckets are stream windows; a closed bucket
 * is written (synthetic_tests, rum_field_buckets, rum_segment_buckets) and
 * handed to the pair's pending buckets, which judge.c judges once both
 * sides are past them.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"
#include "rumstream/route.h"

#include "internal.h"

/* clang-format off */
const rs_conf_item_t correlator_conf_table[] = {
    RS_STREAM_CONF_ITEMS(correlator_conf_t, PROCESSOR, "synthetic.events"),
    {"aggregates_topic", RS_CONF_STRING,
     offsetof(correlator_conf_t, aggregates_topic), "rum.aggregates", 0, -1,
     NULL, "RumAggregate topic (same partition count as the input)"},
    {"issues_topic", RS_CONF_STRING, offsetof(correlator_conf_t, issues_topic),
     "issues", 0, -1, NULL, "Topic of the Issue records"},
    {"pii.sensitive_keys", RS_CONF_STRING,
     offsetof(correlator_conf_t, sensitive_keys), NULL, 0, -1, NULL,
     "Comma-separated parameter names whose values are redacted from test "
     "URLs and errors (empty: the built-in list)"},
    {"correlation.bucket_ms", RS_CONF_INT,
     offsetof(correlator_conf_t, bucket_ms), "300000", 60000, 86400000, NULL,
     "Time bucket of one paired point (replaces window.size_ms; a multiple "
     "of the aggregator's window)"},
    {"correlation.window_ms", RS_CONF_INT,
     offsetof(correlator_conf_t, window_ms), "3600000", 60000, 604800000,
     NULL, "Correlation window: the buckets each evaluation looks at"},
    {"correlation.min_points", RS_CONF_INT,
     offsetof(correlator_conf_t, min_points), "10", 3, 100000, NULL,
     "Paired points needed for a verdict"},
    {"correlation.significance", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, significance), "0.05", 0.0001, 0.5, NULL,
     "p-value below which a correlation counts"},
    {"correlation.variance_threshold", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, variance_threshold), "0.30", 0.01, 10, NULL,
     "|field p75 - lab median| / lab median above this is a level mismatch"},
    {"correlation.ci_level", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, ci_level), "0.95", 0.5, 0.999, NULL,
     "Level of the Fisher-z confidence intervals"},
    {"correlation.min_field_samples", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, min_field_samples), "20", 0, 1e9, NULL,
     "Page views with the metric a bucket needs for its field p75 to count"},
    {"gap.min_change", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, gap_min_change), "0.2", 0, 100, NULL,
     "A gap issue also needs the regression to be this share of the level"},
    {"gap.history_ms", RS_CONF_INT, offsetof(correlator_conf_t, history_ms),
     "7200000", 600000, 604800000, NULL,
     "History of the lab-field gap (baseline + recent buckets); at least "
     "the correlation window"},
    {"gap.recent_buckets", RS_CONF_INT,
     offsetof(correlator_conf_t, gap_recent), "4", 1, 1000, NULL,
     "Buckets compared with the baseline"},
    {"gap.baseline_min", RS_CONF_INT,
     offsetof(correlator_conf_t, gap_baseline_min), "8", 3, 10000, NULL,
     "Usable baseline buckets needed to judge the gap"},
    {"gap.z_threshold", RS_CONF_DOUBLE, offsetof(correlator_conf_t, gap_z),
     "3.5", 1, 100, NULL, "Robust z-score above which a series moved"},
    {"gap.sigma_floor", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, gap_sigma_floor), "0.02", 0.001, 1, NULL,
     "Smallest sigma, relative to the level"},
    {"failures.consecutive", RS_CONF_INT,
     offsetof(correlator_conf_t, failures), "3", 1, 10000, NULL,
     "Failed runs of a route in a row that open a synthetic_failure issue"},
    {"coverage.min_share", RS_CONF_DOUBLE,
     offsetof(correlator_conf_t, coverage_min_share), "0.05", 0, 1, NULL,
     "Uncovered segments below this share of page views are not recommended"},
    {"limits.max_keys", RS_CONF_INT, offsetof(correlator_conf_t, max_keys),
     "10000", 1, 10000000, NULL,
     "(tenant, route, device) keys with lab runs per partition; runs of "
     "more go to the DLQ"},
    {"limits.max_runs_per_bucket", RS_CONF_INT,
     offsetof(correlator_conf_t, max_runs_per_bucket), "100000", 1,
     100000000, NULL, "Lab runs per partition and bucket; more go to the DLQ"},
    {"limits.max_field_keys", RS_CONF_INT,
     offsetof(correlator_conf_t, max_field_keys), "100000", 1, 100000000,
     NULL, "(tenant, route, device) field keys per partition and bucket; "
     "aggregates of more are counted and skipped"},
    {"limits.max_clock_skew_ms", RS_CONF_INT,
     offsetof(correlator_conf_t, max_clock_skew_ms), "300000", 0, 86400000,
     NULL, "Runs this far ahead of their Kafka timestamp are rejected"},
    {"max_wait_ms", RS_CONF_INT, offsetof(correlator_conf_t, max_wait_ms),
     "300000", 1000, 86400000, NULL,
     "Judge without an input that has been silent this long"},
    RS_CONF_END};
/* clang-format on */

const char *const cor_metric_name[COR_NMET] = {"lcp", "fcp", "ttfb", "cls"};

void cor_oom(void) {
        rs_log_error("out of memory");
        abort();
}

char *cor_strdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d)
                cor_oom();
        return d;
}

const char *cor_device_class(const char *profile) {
        char   low[64];
        size_t i;

        for (i = 0; profile[i] && i < sizeof(low) - 1; i++)
                low[i] = (char)((profile[i] >= 'A' && profile[i] <= 'Z')
                                    ? profile[i] - 'A' + 'a'
                                    : profile[i]);
        low[i] = '\0';
        if (strstr(low, "tablet") || strstr(low, "ipad"))
                return "tablet";
        if (strstr(low, "mobile") || strstr(low, "phone") ||
            strstr(low, "moto") || strstr(low, "pixel") ||
            strstr(low, "galaxy") || strstr(low, "android"))
                return "mobile";
        return "desktop";
}

/*
 * Buckets.
 */
void cor_run_free(run_t *r) {
        if (!r)
                return;
        free(r->tenant);
        free(r->run_id);
        free(r->test_id);
        free(r->route);
        free(r->url);
        free(r->location);
        free(r->device_profile);
        free(r->network_profile);
        free(r->error);
        free(r);
}

static void fcell_free_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        fcell_t *f = value;
        int      m;

        (void)key;
        (void)len;
        (void)opaque;
        for (m = 0; m < COR_NMET; m++)
                rs_sketch_destroy(f->sk[m]);
        free(f);
}

static void plain_free_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        free(value);
}

void cor_bucket_free(bucket_t *b) {
        size_t i;

        if (!b)
                return;
        for (i = 0; i < b->run_cnt; i++)
                cor_run_free(b->runs[i]);
        free(b->runs);
        if (b->run_ids)
                rs_map_destroy(b->run_ids);
        if (b->field) {
                rs_map_foreach(b->field, fcell_free_cb, NULL);
                rs_map_destroy(b->field);
        }
        if (b->segs) {
                rs_map_foreach(b->segs, plain_free_cb, NULL);
                rs_map_destroy(b->segs);
        }
        free(b);
}

bucket_t *cor_bucket_new(void) {
        bucket_t *b = calloc(1, sizeof(*b));

        if (!b || !(b->run_ids = rs_map_new()) || !(b->field = rs_map_new()) ||
            !(b->segs = rs_map_new()))
                cor_oom();
        return b;
}

void cor_bucket_add_run(bucket_t *b, run_t *r) {
        if (b->run_cnt == b->run_cap) {
                size_t  n  = b->run_cap ? 2 * b->run_cap : 16;
                run_t **nr = realloc(b->runs, n * sizeof(*nr));
                if (!nr)
                        cor_oom();
                b->runs    = nr;
                b->run_cap = n;
        }
        b->runs[b->run_cnt++] = r;
}

fcell_t *cor_bucket_field(bucket_t *b, const char *tenant, const char *route,
                          const char *device, int create) {
        char   key[RS_EVENT_MAX_TENANT_LEN + RS_ROUTE_MAX + 32];
        size_t klen = rs_map_key_join(key, sizeof(key), tenant, route, device);
        fcell_t **slot;
        int       created;

        if (!create) {
                slot = (fcell_t **)rs_map_get(b->field, key, klen);
                return slot ? *slot : NULL;
        }
        slot = (fcell_t **)rs_map_put(b->field, key, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(fcell_t)))))
                cor_oom();
        return *slot;
}

double *cor_bucket_seg(bucket_t *b, const char *tenant, const char *type,
                       const char *value) {
        char     key[RS_EVENT_MAX_TENANT_LEN + 512];
        size_t   klen = rs_map_key_join(key, sizeof(key), tenant, type, value);
        double **slot;
        int      created;

        if (!klen)
                return NULL;
        slot = (double **)rs_map_put(b->segs, key, klen, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, sizeof(double)))))
                cor_oom();
        return *slot;
}

/* Moves what \p src holds into \p dst (the same bucket from the other
 * side, or from the tables), leaving \p src empty. */
static void merge_field_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        bucket_t *dst = opaque;
        fcell_t **slot;
        int       created;

        slot = (fcell_t **)rs_map_put(dst->field, key, len, &created);
        if (!slot)
                cor_oom();
        if (*slot) { /* cannot happen: one side writes the field */
                fcell_free_cb(key, len, value, NULL);
                return;
        }
        *slot = value;
}

static void merge_seg_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        bucket_t *dst = opaque;
        double  **slot;
        int       created;

        slot = (double **)rs_map_put(dst->segs, key, len, &created);
        if (!slot)
                cor_oom();
        if (*slot) {
                **slot += *(double *)value;
                free(value);
                return;
        }
        *slot = value;
}

void cor_bucket_move(bucket_t *dst, bucket_t *src) {
        size_t i;

        for (i = 0; i < src->run_cnt; i++)
                cor_bucket_add_run(dst, src->runs[i]);
        src->run_cnt = 0;
        rs_map_foreach(src->field, merge_field_cb, dst);
        rs_map_destroy(src->field);
        src->field = rs_map_new();
        rs_map_foreach(src->segs, merge_seg_cb, dst);
        rs_map_destroy(src->segs);
        src->segs = rs_map_new();
        if (!src->field || !src->segs)
                cor_oom();
}

bucket_t *cor_pending(pair_t *pair, int64_t start) {
        bucket_t **slot = (bucket_t **)rs_join_pending(&pair->j, start);

        if (!*slot)
                *slot = cor_bucket_new();
        return *slot;
}

/*
 * Synthetic runs.
 */
static size_t scrub(correlator_t *c, const char *s, char *out, size_t size) {
        size_t n;

        if (!s)
                s = "";
        n = rs_pii_scrub(c->pii, s, strlen(s), out, size, NULL);
        return n >= size ? strlen(out) : n;
}

static const char *check_value(const char *name, double v, double max,
                               char *detail, size_t size) {
        if (isnan(v))
                return NULL;
        if (!(v >= 0 && v <= max)) {
                snprintf(detail, size, "%s = %g is outside [0, %g]", name, v,
                         max);
                return "implausible_value";
        }
        return NULL;
}

static const char *validate(const correlator_t          *c,
                            const rs_synthetic_result_t *r, int64_t msg_ts,
                            char *detail, size_t size) {
        const char *reason;

        if ((reason = rs_event_check_tenant(r->tenant_id, detail, size)))
                return reason;
        if (!r->run_id[0] || !r->url[0] || !r->test_id[0] ||
            !r->device_profile[0]) {
                snprintf(detail, size, "%s is empty",
                         !r->run_id[0]    ? "run_id"
                         : !r->url[0]     ? "url"
                         : !r->test_id[0] ? "test_id"
                                          : "device_profile");
                return "missing_field";
        }
        if (strlen(r->run_id) > 128 || strlen(r->test_id) > 128 ||
            strlen(r->location) > 64 || strlen(r->device_profile) > 64 ||
            strlen(r->network_profile) > 64) {
                snprintf(detail, size,
                         "run_id, test_id, location or a profile is too "
                         "long");
                return "invalid_field";
        }
        if ((reason = rs_event_check_time_rate(r->timestamp_ms, msg_ts,
                                               c->conf->max_clock_skew_ms, 1.0,
                                               detail, size)))
                return reason;
        if ((reason = check_value("lcp", r->lcp,
                                  rs_metric_default_max(RS_METRIC_LCP), detail,
                                  size)) ||
            (reason = check_value("fcp", r->fcp,
                                  rs_metric_default_max(RS_METRIC_FCP), detail,
                                  size)) ||
            (reason = check_value("ttfb", r->ttfb,
                                  rs_metric_default_max(RS_METRIC_TTFB), detail,
                                  size)) ||
            (reason = check_value("cls", r->cls,
                                  rs_metric_default_max(RS_METRIC_CLS), detail,
                                  size)) ||
            (reason = check_value("tbt", r->tbt, 600000, detail, size)) ||
            (reason =
                 check_value("load_time", r->load_time, 600000, detail, size)))
                return reason;
        return NULL;
}

static void runs_message(correlator_t *c, rs_stream_part_t *part,
                         const rd_kafka_message_t *msg, int replay) {
        pair_t               *pair = part->state;
        rs_synthetic_result_t r;
        avro_value_t         *val;
        char                  err[512], raw[RS_ROUTE_MAX], route[RS_ROUTE_MAX];
        char                  url[2048], error[1024];
        const char           *reason;
        int64_t               start;
        bucket_t            **slot;
        run_t                *run;
        rd_kafka_timestamp_type_t tstype;
        int64_t msg_ts = rd_kafka_message_timestamp(msg, &tstype);
        size_t  rlen;
        int     rc, created;

        rs_join_touch(&pair->j, COR_RUNS);
        rc = rs_avro_decoder_decode(c->dec_runs, msg->payload, msg->len, &val,
                                    err, sizeof(err));
        if (rc) {
                rs_stream_dlq(c->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_synthetic_result_read(val, &r, err, sizeof(err)) == -1) {
                rs_stream_dlq(c->stream, msg, "invalid", err, replay);
                return;
        }
        if ((reason = validate(c, &r, msg_ts, err, sizeof(err)))) {
                rs_stream_dlq(c->stream, msg, reason, err, replay);
                return;
        }
        /* The route as the aggregator derives it from a page's URL. */
        rlen = rs_route_normalize(r.url, strlen(r.url), raw);
        scrub(c, raw, route, sizeof(route));
        (void)rlen;
        if (rs_window_is_late(part->win, r.timestamp_ms) ||
            rs_window_start_of(rs_window_size(part->win), r.timestamp_ms) +
                    rs_window_size(part->win) <=
                pair->j.evaluated_until) {
                snprintf(err, sizeof(err),
                         "run at %" PRId64 " ms is in a bucket closed already",
                         r.timestamp_ms);
                rs_stream_dlq(c->stream, msg, "late", err, replay);
                if (!replay)
                        rs_counter_add(c->c_late, 1);
                return;
        }
        rc = rs_window_assign(part->win, r.timestamp_ms, msg->offset, &start,
                              (void ***)&slot);
        if (rc == RS_WINDOW_LATE) {
                snprintf(err, sizeof(err),
                         "run at %" PRId64 " ms is in a bucket closed already",
                         r.timestamp_ms);
                rs_stream_dlq(c->stream, msg, "late", err, replay);
                if (!replay)
                        rs_counter_add(c->c_late, 1);
                return;
        }
        if (rc != RS_WINDOW_OK)
                cor_oom();
        if (!*slot)
                *slot = cor_bucket_new();
        {
                char   key[RS_EVENT_MAX_TENANT_LEN + 160];
                size_t klen = rs_map_key_join(key, sizeof(key), r.tenant_id,
                                              r.run_id, NULL);
                if (rs_map_get((*slot)->run_ids, key, klen)) {
                        if (!replay)
                                rs_counter_add(c->c_duplicates, 1);
                        return; /* a producer retry: the same run again */
                }
                if ((*slot)->run_cnt >= (size_t)c->conf->max_runs_per_bucket) {
                        snprintf(err, sizeof(err),
                                 "more than %" PRId64
                                 " runs in one bucket of this partition",
                                 c->conf->max_runs_per_bucket);
                        rs_stream_dlq(c->stream, msg, "run_limit", err, replay);
                        return;
                }
                if (!rs_map_put((*slot)->run_ids, key, klen, &created))
                        cor_oom();
        }
        if (!(run = calloc(1, sizeof(*run))))
                cor_oom();
        scrub(c, r.url, url, sizeof(url));
        run->tenant          = cor_strdup(r.tenant_id);
        run->run_id          = cor_strdup(r.run_id);
        run->test_id         = cor_strdup(r.test_id);
        run->route           = cor_strdup(route);
        run->url             = cor_strdup(url);
        run->location        = cor_strdup(r.location);
        run->device_profile  = cor_strdup(r.device_profile);
        run->network_profile = cor_strdup(r.network_profile);
        run->device          = cor_device_class(r.device_profile);
        run->ts              = r.timestamp_ms;
        run->success         = r.success;
        if (r.error) {
                scrub(c, r.error, error, sizeof(error));
                run->error = cor_strdup(error);
        }
        run->v[COR_LCP]  = r.success ? r.lcp : NAN;
        run->v[COR_FCP]  = r.success ? r.fcp : NAN;
        run->v[COR_TTFB] = r.success ? r.ttfb : NAN;
        run->v[COR_CLS]  = r.success ? r.cls : NAN;
        run->tbt         = r.tbt;
        run->load_time   = r.load_time;
        cor_bucket_add_run(*slot, run);
        if (!replay)
                rs_counter_add(c->c_runs, 1);
}

/*
 * Real-user aggregates.
 */
static int metric_index(const char *name) {
        int m;

        for (m = 0; m < COR_NMET; m++)
                if (!strcmp(name, cor_metric_name[m]))
                        return m;
        return -1;
}

static void field_message(correlator_t *c, rs_stream_part_t *part,
                          const rd_kafka_message_t *msg, int replay) {
        pair_t            *pair = part->state;
        rs_rum_aggregate_t agg;
        avro_value_t      *val;
        char               err[512];
        int64_t            start, size = rs_window_size(part->win);
        bucket_t         **slot;
        int                rc, is_device;
        size_t             i;

        rs_join_touch(&pair->j, COR_FIELD);
        rc = rs_avro_decoder_decode(c->dec_aggs, msg->payload, msg->len, &val,
                                    err, sizeof(err));
        if (rc) {
                rs_stream_dlq(c->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_rum_aggregate_read(val, &agg, c->agg_metrics,
                                  sizeof(c->agg_metrics) /
                                      sizeof(*c->agg_metrics),
                                  err, sizeof(err)) == -1) {
                rs_stream_dlq(c->stream, msg, "invalid", err, replay);
                return;
        }
        is_device = !strcmp(agg.segment_type, "device");
        if (!is_device && strcmp(agg.segment_type, "connection") &&
            strcmp(agg.segment_type, "country"))
                return; /* the all-traffic roll-up: not needed here */
        start = rs_window_start_of(size, agg.window_start_ms);
        if (agg.window_end_ms > start + size ||
            agg.window_end_ms <= agg.window_start_ms || !agg.tenant_id[0] ||
            strlen(agg.tenant_id) > RS_EVENT_MAX_TENANT_LEN ||
            strlen(agg.route) >= RS_ROUTE_MAX ||
            strlen(agg.segment_value) > 64 ||
            !(agg.page_views >= 0 && agg.page_views < 1e15)) {
                snprintf(err, sizeof(err),
                         "aggregate [%" PRId64 ", %" PRId64
                         ") does not fit a bucket of %" PRId64
                         " ms, or has no tenant, or a bad route, segment or "
                         "page-view count",
                         agg.window_start_ms, agg.window_end_ms, size);
                rs_stream_dlq(c->stream, msg, "invalid", err, replay);
                return;
        }
        if (rs_window_is_late(part->win, agg.window_start_ms) ||
            start + size <= pair->j.evaluated_until) {
                if (!replay)
                        rs_counter_add(c->c_field_skipped, 1);
                return; /* judged without it: counted, not dead-lettered */
        }
        rc = rs_window_assign(part->win, agg.window_start_ms, msg->offset,
                              &start, (void ***)&slot);
        if (rc == RS_WINDOW_LATE) {
                if (!replay)
                        rs_counter_add(c->c_field_skipped, 1);
                return;
        }
        if (rc != RS_WINDOW_OK)
                cor_oom();
        if (!*slot)
                *slot = cor_bucket_new();
        {
                double *pv = cor_bucket_seg(
                    *slot, agg.tenant_id, agg.segment_type, agg.segment_value);
                if (pv)
                        *pv += agg.page_views;
        }
        if (is_device) {
                fcell_t *f = cor_bucket_field(*slot, agg.tenant_id, agg.route,
                                              agg.segment_value, 0);
                if (!f) {
                        if (rs_map_size((*slot)->field) >=
                            (size_t)c->conf->max_field_keys) {
                                if (!replay)
                                        rs_counter_add(c->c_field_overflow, 1);
                                goto done;
                        }
                        f = cor_bucket_field(*slot, agg.tenant_id, agg.route,
                                             agg.segment_value, 1);
                }
                f->page_views += agg.page_views;
                for (i = 0; i < agg.metric_cnt; i++) {
                        const rs_metric_summary_t *ms = &agg.metrics[i];
                        int                        m  = metric_index(ms->name);
                        rs_sketch_t               *sk;
                        if (m < 0 || !ms->sketch_len)
                                continue;
                        if (!(sk = rs_sketch_deserialize(ms->sketch,
                                                         ms->sketch_len, err,
                                                         sizeof(err)))) {
                                rs_stream_dlq(c->stream, msg, "invalid", err,
                                              replay);
                                continue;
                        }
                        f->weight[m] += ms->weight;
                        f->samples[m] += ms->samples;
                        if (!f->sk[m]) {
                                f->sk[m] = sk;
                        } else {
                                if (rs_sketch_merge(f->sk[m], sk) != 0 &&
                                    !replay)
                                        rs_counter_add(c->c_field_skipped, 1);
                                rs_sketch_destroy(sk);
                        }
                }
        }
done:
        if (!replay)
                rs_counter_add(c->c_aggregates, 1);
}

static int is_field_part(const correlator_t *c, const rs_stream_part_t *part) {
        return !strcmp(part->topic, c->conf->aggregates_topic);
}

static void on_message(void *opaque, rs_stream_part_t *part,
                       const rd_kafka_message_t *msg, int replay) {
        correlator_t *c = opaque;

        if (is_field_part(c, part))
                field_message(c, part, msg, replay);
        else
                runs_message(c, part, msg, replay);
}

/*
 * Closing buckets: the durable halves.
 */
static void write_run(correlator_t *c, const pair_t *pair, int64_t start,
                      const run_t *r) {
        rs_pg_batch_t *b = c->b_tests;
        char           ts[40];

        rs_pg_batch_str(b, r->tenant);
        rs_pg_batch_str(b, r->run_id);
        rs_pg_batch_str(b, r->test_id);
        rs_pg_batch_str(b, r->route);
        rs_pg_batch_str(b, r->url);
        rs_pg_timestamp(r->ts, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        rs_pg_timestamp(start, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        rs_pg_batch_i64(b, pair->j.partition);
        rs_pg_batch_str(b, r->location);
        rs_pg_batch_str(b, r->device_profile);
        rs_pg_batch_str(b, r->network_profile);
        rs_pg_batch_str(b, r->device);
        rs_pg_batch_bool(b, r->success);
        rs_pg_batch_str(b, r->error);
        rs_pg_batch_f64(b, r->v[COR_LCP]);
        rs_pg_batch_f64(b, r->v[COR_FCP]);
        rs_pg_batch_f64(b, r->v[COR_CLS]);
        rs_pg_batch_f64(b, r->v[COR_TTFB]);
        rs_pg_batch_f64(b, r->tbt);
        rs_pg_batch_f64(b, r->load_time);
        rs_pg_batch_row_end(b);
}

typedef struct emit_ctx_s {
        correlator_t *c;
        pair_t       *pair;
        char          ts[40];
} emit_ctx_t;

static void write_field_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        emit_ctx_t    *x      = opaque;
        correlator_t  *c      = x->c;
        fcell_t       *f      = value;
        const char    *tenant = key;
        const char    *route  = tenant + strlen(tenant) + 1;
        const char    *device = route + strlen(route) + 1;
        rs_pg_batch_t *b      = c->b_field;
        int            m;

        (void)len;
        for (m = 0; m < COR_NMET; m++) {
                size_t need;
                if (!f->sk[m])
                        continue;
                need = rs_sketch_serialize(f->sk[m], NULL, 0);
                if (need > c->skbuf_size) {
                        free(c->skbuf);
                        if (!(c->skbuf = malloc(need)))
                                cor_oom();
                        c->skbuf_size = need;
                }
                rs_sketch_serialize(f->sk[m], c->skbuf, need);
                rs_pg_batch_str(b, tenant);
                rs_pg_batch_str(b, route);
                rs_pg_batch_str(b, device);
                rs_pg_batch_str(b, x->ts);
                rs_pg_batch_str(b, cor_metric_name[m]);
                rs_pg_batch_i64(b, x->pair->j.partition);
                rs_pg_batch_f64(b, f->page_views);
                rs_pg_batch_f64(b, f->weight[m]);
                rs_pg_batch_i64(b, f->samples[m]);
                rs_pg_batch_f64(b, rs_correlate_sketch_p75(f->sk[m]));
                rs_pg_batch_bytea(b, c->skbuf, need);
                rs_pg_batch_row_end(b);
        }
}

static void write_seg_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        emit_ctx_t    *x      = opaque;
        const char    *tenant = key;
        const char    *type   = tenant + strlen(tenant) + 1;
        const char    *val    = type + strlen(type) + 1;
        rs_pg_batch_t *b      = x->c->b_segs;

        (void)len;
        rs_pg_batch_str(b, tenant);
        rs_pg_batch_str(b, x->ts);
        rs_pg_batch_str(b, type);
        rs_pg_batch_str(b, val);
        rs_pg_batch_i64(b, x->pair->j.partition);
        rs_pg_batch_f64(b, *(double *)value);
        rs_pg_batch_row_end(b);
}

static int on_emit(void *opaque, rs_stream_part_t *part) {
        correlator_t *c     = opaque;
        pair_t       *pair  = part->state;
        int           field = is_field_part(c, part);
        int64_t       start;
        void         *data;
        int           n = 0, judged;

        while (rs_window_pop_closed(part->win, &start, &data)) {
                bucket_t  *b = data;
                emit_ctx_t x = {c, pair, ""};
                size_t     i;
                n++;
                if (!b)
                        continue;
                rs_pg_timestamp(start, x.ts, sizeof(x.ts));
                if (field) {
                        rs_map_foreach(b->field, write_field_cb, &x);
                        rs_map_foreach(b->segs, write_seg_cb, &x);
                } else {
                        for (i = 0; i < b->run_cnt; i++)
                                write_run(c, pair, start, b->runs[i]);
                }
                if (start >= pair->j.evaluated_until)
                        cor_bucket_move(cor_pending(pair, start), b);
                cor_bucket_free(b);
        }
        rs_join_closed(&pair->j, field ? COR_FIELD : COR_RUNS);
        judged = cor_evaluate(c, pair); /* windows judged: rows too */
        return judged == -1 ? -1 : n + judged;
}

/*
 * Writing.
 */
static int on_write(void *opaque, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        correlator_t  *c = opaque;
        rs_pg_batch_t *batches[8];
        size_t         k;

        cor_state_rows(c);
        batches[0] = c->b_tests;
        batches[1] = c->b_field;
        batches[2] = c->b_segs;
        batches[3] = c->b_corr;
        batches[4] = c->b_cov;
        batches[5] = c->b_base;
        batches[6] = c->b_fail;
        batches[7] = c->b_progress;
        for (k = 0; k < sizeof(batches) / sizeof(*batches); k++)
                if (rs_pg_batch_rows(batches[k]) > 0 &&
                    rs_pg_batch_flush(pg, batches[k], errstr, errstr_size) ==
                        -1)
                        return -1;
        return rs_issues_write(c->issues, pg, errstr, errstr_size);
}

static void on_written(void *opaque) {
        correlator_t *c = opaque;

        rs_pg_batch_clear(c->b_tests);
        rs_pg_batch_clear(c->b_field);
        rs_pg_batch_clear(c->b_segs);
        rs_pg_batch_clear(c->b_corr);
        rs_pg_batch_clear(c->b_cov);
        rs_pg_batch_clear(c->b_base);
        rs_pg_batch_clear(c->b_fail);
        rs_pg_batch_clear(c->b_progress);
        rs_issues_written(c->issues);
        cor_state_written(c);
}

/*
 * Partitions.
 */
static int on_part_open(void *opaque, rs_stream_part_t *part, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        correlator_t *c    = opaque;
        pair_t       *pair = (pair_t *)rs_join_get(&c->join, part->partition);

        if (!pair) {
                if (!(pair = cor_pair_new(c, part->partition)))
                        cor_oom();
                if (cor_pair_load(c, pair, pg, errstr, errstr_size) == -1) {
                        cor_pair_free(pair);
                        return -1;
                }
                if (rs_join_set(&c->join, part->partition, &pair->j) == -1)
                        cor_oom();
        }
        rs_join_attach(&pair->j, is_field_part(c, part) ? COR_FIELD : COR_RUNS,
                       part);
        part->state = pair;
        return 0;
}

static void window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        (void)opaque;
        cor_bucket_free(data);
}

static void on_part_close(void *opaque, rs_stream_part_t *part) {
        correlator_t *c    = opaque;
        pair_t       *pair = part->state;

        rs_window_foreach(part->win, window_free_cb, NULL);
        part->state = NULL;
        /* Both sides go together (eager rebalancing revokes everything);
         * the next owner loads the pair from what is stored. */
        if (pair && rs_join_detach(&pair->j, part)) {
                rs_join_set(&c->join, pair->j.partition, NULL);
                cor_pair_free(pair);
        }
}

static const rs_stream_ops_t correlator_ops = {
    .part_open  = on_part_open,
    .part_close = on_part_close,
    .message    = on_message,
    .emit       = on_emit,
    .write      = on_write,
    .written    = on_written,
};

/*
 * Construction.
 */
static const char *const tests_cols[] = {"tenant_id",
                                         "run_id",
                                         "test_id",
                                         "route",
                                         "url",
                                         "run_at",
                                         "bucket_start",
                                         "partition",
                                         "location",
                                         "device_profile",
                                         "network_profile",
                                         "device",
                                         "success",
                                         "error",
                                         "lcp",
                                         "fcp",
                                         "cls",
                                         "ttfb",
                                         "tbt",
                                         "load_time"};
static const char *const field_cols[] = {
    "tenant_id",  "route",  "device",  "bucket_start", "metric", "partition",
    "page_views", "weight", "samples", "p75",          "sketch"};
static const char *const segs_cols[] = {"tenant_id",    "bucket_start",
                                        "segment_type", "segment_value",
                                        "partition",    "page_views"};
static const char *const corr_cols[] = {
    "tenant_id",        "route",        "device",     "metric",
    "evaluated_at",     "window_start", "points",     "lab_runs",
    "field_weight",     "pearson_r",    "pearson_p",  "pearson_ci_low",
    "pearson_ci_high",  "spearman_rho", "spearman_p", "spearman_ci_low",
    "spearman_ci_high", "lab_median",   "field_p75",  "variance_ratio",
    "verdict",          "correlated"};
static const char *const cov_cols[] = {
    "tenant_id",  "evaluated_at", "segment_type", "segment_value",
    "page_views", "share",        "covered"};
static const char *const base_cols[] = {"tenant_id",
                                        "route",
                                        "device",
                                        "metric",
                                        "partition",
                                        "evaluated_at",
                                        "valid",
                                        "lab_baseline",
                                        "field_baseline",
                                        "gap_baseline",
                                        "gap_recent",
                                        "gap_z",
                                        "lab_z",
                                        "field_z",
                                        "cause",
                                        "issue_id",
                                        "issue_opened_ms",
                                        "issue_version",
                                        "issue_cause",
                                        "issue_lab_baseline",
                                        "issue_field_baseline",
                                        "issue_gap_baseline"};
static const char *const fail_cols[] = {
    "tenant_id",  "route",    "partition", "consecutive", "streak_ms",
    "last_error", "issue_id", "opened_ms", "version"};
static const char *const progress_cols[] = {"partition", "evaluated_until"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

static int check_topics(correlator_t *c, char *errstr, size_t errstr_size) {
        return rs_join_check_topics(c->stream, c->conf->stream.input_topic,
                                    c->conf->aggregates_topic, "correlations",
                                    errstr, errstr_size);
}

correlator_t *correlator_new(const correlator_conf_t *conf, char *errstr,
                             size_t errstr_size) {
        correlator_t *c = calloc(1, sizeof(*c));
        rs_metrics_t *m;
        size_t        n;

        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->conf = conf;
        if (conf->history_ms < conf->window_ms ||
            conf->window_ms % conf->bucket_ms ||
            conf->history_ms % conf->bucket_ms) {
                snprintf(errstr, errstr_size,
                         "correlation.window_ms and gap.history_ms must be "
                         "multiples of correlation.bucket_ms, and "
                         "gap.history_ms at least correlation.window_ms");
                goto fail;
        }
        if (conf->history_ms / conf->bucket_ms <
            conf->gap_recent + conf->gap_baseline_min) {
                snprintf(errstr, errstr_size,
                         "gap.history_ms holds %" PRId64
                         " buckets, fewer than gap.recent_buckets + "
                         "gap.baseline_min",
                         conf->history_ms / conf->bucket_ms);
                goto fail;
        }
        c->jconf.window_ms      = conf->bucket_ms;
        c->jconf.max_wait_ms    = conf->max_wait_ms;
        c->jconf.until_eof      = conf->stream.until_eof;
        c->history              = (size_t)(conf->history_ms / conf->bucket_ms);
        c->points               = (size_t)(conf->window_ms / conf->bucket_ms);
        c->sconf                = conf->stream;
        c->sconf.window_size_ms = conf->bucket_ms;
        n = strlen(conf->stream.input_topic) + strlen(conf->aggregates_topic) +
            2;
        if (!(c->topics = malloc(n))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        snprintf(c->topics, n, "%s,%s", conf->stream.input_topic,
                 conf->aggregates_topic);
        c->sconf.input_topic = c->topics;
        rs_correlate_conf_defaults(&c->cconf);
        c->cconf.min_points         = (size_t)conf->min_points;
        c->cconf.significance       = conf->significance;
        c->cconf.variance_threshold = conf->variance_threshold;
        c->cconf.ci_level           = conf->ci_level;
        rs_correlate_gap_conf_defaults(&c->gconf);
        c->gconf.recent       = (size_t)conf->gap_recent;
        c->gconf.baseline_min = (size_t)conf->gap_baseline_min;
        c->gconf.z_threshold  = conf->gap_z;
        c->gconf.sigma_floor  = conf->gap_sigma_floor;
        if (rs_event_check_schemas(errstr, errstr_size) == -1 ||
            !(c->reg = rs_avro_registry_new(errstr, errstr_size)) ||
            !(c->dec_runs =
                  rs_avro_decoder_new(c->reg, RS_SCHEMA_ID_SYNTHETIC_RESULT,
                                      errstr, errstr_size)) ||
            !(c->dec_aggs = rs_avro_decoder_new(
                  c->reg, RS_SCHEMA_ID_RUM_AGGREGATE, errstr, errstr_size)) ||
            !(c->issues = rs_issues_new(c->reg, conf->issues_topic, PROCESSOR,
                                        errstr, errstr_size)))
                goto fail;
        if (!(c->pii =
                  rs_pii_new(conf->sensitive_keys && conf->sensitive_keys[0]
                                 ? conf->sensitive_keys
                                 : NULL,
                             errstr, errstr_size)))
                goto fail;
        c->b_tests = rs_pg_batch_new("synthetic_tests", tests_cols,
                                     NCOLS(tests_cols), 2);
        c->b_field = rs_pg_batch_new("rum_field_buckets", field_cols,
                                     NCOLS(field_cols), 5);
        c->b_segs  = rs_pg_batch_new("rum_segment_buckets", segs_cols,
                                     NCOLS(segs_cols), 4);
        c->b_corr  = rs_pg_batch_new("rum_synthetic_correlations", corr_cols,
                                     NCOLS(corr_cols), 5);
        c->b_cov =
            rs_pg_batch_new("synthetic_coverage", cov_cols, NCOLS(cov_cols), 4);
        c->b_base     = rs_pg_batch_new("performance_baselines", base_cols,
                                        NCOLS(base_cols), 4);
        c->b_fail     = rs_pg_batch_new("synthetic_failure_state", fail_cols,
                                        NCOLS(fail_cols), 2);
        c->b_progress = rs_pg_batch_new("correlation_progress", progress_cols,
                                        NCOLS(progress_cols), 1);
        if (!c->b_tests || !c->b_field || !c->b_segs || !c->b_corr ||
            !c->b_cov || !c->b_base || !c->b_fail || !c->b_progress) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        c->stream = rs_stream_new(PROCESSOR, &c->sconf, &correlator_ops, c,
                                  errstr, errstr_size);
        if (!c->stream || check_topics(c, errstr, errstr_size) == -1)
                goto fail;

        m         = rs_stream_metrics(c->stream);
        c->c_runs = rs_metrics_counter(m, "synthetic_runs_total",
                                       "Synthetic runs accepted", NULL);
        c->c_late = rs_metrics_counter(
            m, "synthetic_runs_late_total",
            "Synthetic runs of buckets closed already (dead-lettered)", NULL);
        c->c_duplicates = rs_metrics_counter(
            m, "synthetic_runs_duplicate_total",
            "Synthetic runs whose run id was seen in the bucket already", NULL);
        c->c_aggregates = rs_metrics_counter(
            m, "field_aggregates_total",
            "Segment RumAggregates read (device, connection, country)", NULL);
        c->c_field_skipped =
            rs_metrics_counter(m, "field_aggregates_skipped_total",
                               "RumAggregates of buckets judged already", NULL);
        c->c_field_overflow = rs_metrics_counter(
            m, "field_keys_overflow_total",
            "Device aggregates skipped because a bucket reached "
            "limits.max_field_keys",
            NULL);
        c->c_key_overflow = rs_metrics_counter(
            m, "correlation_keys_overflow_total",
            "Lab keys not tracked because a partition reached "
            "limits.max_keys",
            NULL);
        c->c_evaluations = rs_metrics_counter(
            m, "correlations_total",
            "Correlations evaluated (key, metric, bucket)", NULL);
        c->c_issues = rs_metrics_counter(m, "issues_emitted_total",
                                         "Issue versions produced", NULL);
        return c;

fail:
        correlator_destroy(c);
        return NULL;
}

void correlator_destroy(correlator_t *c) {
        int32_t i;

        if (!c)
                return;
        rs_stream_destroy(c->stream);
        for (i = 0; i < c->join.cnt; i++)
                cor_pair_free((pair_t *)c->join.pairs[i]);
        rs_join_destroy(&c->join);
        free(c->topics);
        free(c->skbuf);
        rs_pg_batch_destroy(c->b_tests);
        rs_pg_batch_destroy(c->b_field);
        rs_pg_batch_destroy(c->b_segs);
        rs_pg_batch_destroy(c->b_corr);
        rs_pg_batch_destroy(c->b_cov);
        rs_pg_batch_destroy(c->b_base);
        rs_pg_batch_destroy(c->b_fail);
        rs_pg_batch_destroy(c->b_progress);
        rs_issues_destroy(c->issues);
        rs_pii_destroy(c->pii);
        rs_avro_decoder_destroy(c->dec_runs);
        rs_avro_decoder_destroy(c->dec_aggs);
        rs_avro_registry_destroy(c->reg);
        free(c);
}

int correlator_run(correlator_t *c) {
        return rs_stream_run(c->stream);
}

void correlator_stop(correlator_t *c) {
        rs_stream_stop(c->stream);
}
