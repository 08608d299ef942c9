/*
 * anomaly-detector: configuration, input and wiring. See detector.h for
 * what it does; judge.c judges the windows and keeps the series.
 *
 * An open window's payload is a map from (tenant, route, segment type,
 * segment value) to the cell of the one aggregate the aggregator wrote for
 * it (its page views and a sketch per configured metric). When the window
 * closes, judge.c judges its cells and they are freed.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"
#include "rumstream/route.h"

#include "internal.h"

/* clang-format off */
const rs_conf_item_t detector_conf_table[] = {
    RS_STREAM_CONF_ITEMS(detector_conf_t, PROCESSOR, "rum.aggregates"),
    {"issues_topic", RS_CONF_STRING, offsetof(detector_conf_t, issues_topic),
     "issues", 0, -1, NULL, "Topic of the Issue records"},
    {"metrics", RS_CONF_STRING, offsetof(detector_conf_t, metrics),
     "lcp,inp,cls,fcp,ttfb", 0, -1, NULL,
     "Metrics judged, comma-separated (vitals, nav.*, custom.<timing>)"},
    {"segment_types", RS_CONF_STRING,
     offsetof(detector_conf_t, segment_types), "all,device", 0, -1, NULL,
     "Segment types judged (all, device, country, connection); with "
     "device, issues of the route name the devices that drove them"},
    {"budget.rules", RS_CONF_STRING, offsetof(detector_conf_t, rules),
     "lcp > 4000 for 5 windows: high; inp > 500 for 5 windows: high; "
     "cls > 0.25 for 5 windows: high", 0, -1, NULL,
     "Budget rules (common/detect.h 5), per-tenant overrides in "
     "tenant blocks; empty: none"},
    {"tenant_overrides", RS_CONF_STRING,
     offsetof(detector_conf_t, tenant_overrides), "", 0, -1, NULL,
     "Per-tenant thresholds, \"tenant: key=value, ...; tenant: ...\" "
     "(keys min_samples, min_degradation, z_threshold, high_degradation, "
     "critical_degradation, open_after, resolve_after); empty: none"},
    {"detect.history", RS_CONF_INT, offsetof(detector_conf_t, history),
     "60", 1, 100000, NULL, "Windows with data in the baseline level"},
    {"detect.min_history", RS_CONF_INT,
     offsetof(detector_conf_t, min_history), "30", 1, 100000, NULL,
     "Windows with data a baseline needs"},
    {"detect.spread_floor", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, spread_floor), "0.02", 0, 1, NULL,
     "Smallest spread, relative to the level"},
    {"detect.seasonal", RS_CONF_STRING, offsetof(detector_conf_t, seasonal),
     "none", 0, -1, NULL, "none, daily, weekly or auto (needs "
     "history.season_windows)"},
    {"detect.season_min_days", RS_CONF_INT,
     offsetof(detector_conf_t, season_min_days), "3", 1, 1000, NULL,
     "Distinct days an hour-of-day slot needs"},
    {"detect.season_min_weeks", RS_CONF_INT,
     offsetof(detector_conf_t, season_min_weeks), "3", 1, 1000, NULL,
     "Distinct weeks an hour-of-week slot needs"},
    {"history.season_windows", RS_CONF_INT,
     offsetof(detector_conf_t, season_windows), "0", 0, 100000, NULL,
     "Extra windows kept per series for the seasonal profile"},
    {"detect.min_samples", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, min_samples), "50", 1, 1e9, NULL,
     "Page views a window needs to count"},
    {"detect.min_degradation", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, min_degradation), "0.2", 0, 100, NULL,
     "Relative change a regression needs"},
    {"detect.z_threshold", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, z_threshold), "3.5", 0.1, 100, NULL,
     "Robust score a regression needs"},
    {"detect.ci_level", RS_CONF_DOUBLE, offsetof(detector_conf_t, ci_level),
     "0.95", 0.5, 0.999, NULL, "Level of the window p75's interval"},
    {"detect.high_degradation", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, high_degradation), "0.5", 0, 100, NULL,
     "Severity high from this relative change"},
    {"detect.critical_degradation", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, critical_degradation), "1.0", 0, 100, NULL,
     "Severity critical from this relative change"},
    {"detect.shift_windows", RS_CONF_INT,
     offsetof(detector_conf_t, shift_windows), "5", 1, RS_DETECT_SHIFT_MAX,
     NULL, "Recent windows whose median makes a level shift"},
    {"lifecycle.open_after", RS_CONF_INT,
     offsetof(detector_conf_t, open_after), "3", 1, 1000, NULL,
     "Breaching windows in a row that open a regression"},
    {"lifecycle.resolve_after", RS_CONF_INT,
     offsetof(detector_conf_t, resolve_after), "5", 1, 1000, NULL,
     "Healthy windows in a row that resolve an issue"},
    {"lifecycle.update_fraction", RS_CONF_DOUBLE,
     offsetof(detector_conf_t, update_fraction), "0.25", 0, 100, NULL,
     "Move of the value (relative to expected) that updates an issue"},
    {"limits.max_series", RS_CONF_INT, offsetof(detector_conf_t, max_series),
     "100000", 1, 100000000, NULL,
     "Series per partition; more are counted and not tracked"},
    {"retention.ms", RS_CONF_INT, offsetof(detector_conf_t, retention_ms),
     "691200000", 3600000, 31622400000, NULL,
     "Window values kept in anomaly_series (8 days)"},
    {"retention.prune_every_ms", RS_CONF_INT,
     offsetof(detector_conf_t, prune_every_ms), "3600000", 60000,
     86400000, NULL, "Event time between two prunes"},
    {"error_topic", RS_CONF_STRING, offsetof(detector_conf_t, error_topic),
     "error.aggregates", 0, -1, NULL,
     "The error-tracker's ErrorAggregates: the error rate of every route is "
     "judged as a metric (error_rate); \"\" turns it off"},
    {"error_rate.max_wait_ms", RS_CONF_INT,
     offsetof(detector_conf_t, rate_max_wait_ms), "300000", 1000, 86400000,
     NULL, "Judge error rates without an input silent this long"},
    RS_CONF_END};
/* clang-format on */

const char *const ad_kind_name[AD_NKIND] = {"regression", "budget_breach",
                                            "level_shift"};

void ad_oom(void) {
        rs_log_error("out of memory");
        abort();
}

char *ad_strdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d)
                ad_oom();
        return d;
}

void ad_cell_free(cell_t *cell) {
        int m;

        if (!cell)
                return;
        for (m = 0; m < AD_MAX_METRICS; m++)
                rs_sketch_destroy(cell->sk[m]);
        free(cell);
}

static void cell_free_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        ad_cell_free(value);
}

static void cells_free(rs_map_t *cells) {
        if (!cells)
                return;
        rs_map_foreach(cells, cell_free_cb, NULL);
        rs_map_destroy(cells);
}

/*
 * Input.
 */
static int metric_index(const detector_t *d, const char *name) {
        int m;

        for (m = 0; m < d->metric_cnt; m++)
                if (!strcmp(name, d->metric[m]))
                        return m;
        return -1;
}

static int segtype_judged(const detector_t *d, const char *type) {
        int i;

        for (i = 0; i < d->segtype_cnt; i++)
                if (!strcmp(type, d->segtype[i]))
                        return 1;
        return 0;
}

static void on_message(void *opaque, rs_stream_part_t *part,
                       const rd_kafka_message_t *msg, int replay) {
        detector_t        *d = opaque;
        rs_rum_aggregate_t agg;
        avro_value_t      *val;
        char               err[512], key[RS_EVENT_MAX_TENANT_LEN + 512];
        const char        *reason;
        int64_t            start, size = rs_window_size(part->win);
        rs_sketch_t       *sk[AD_MAX_METRICS]      = {0};
        int64_t            samples[AD_MAX_METRICS] = {0};
        rs_map_t         **slot;
        cell_t           **cslot;
        size_t             i, klen;
        int                rc, m, created;

        if (ad_rates_is_err_part(d, part)) {
                ad_rates_message(d, part, msg, replay);
                return;
        }
        ad_rates_touch_pv(d, part);
        rc = rs_avro_decoder_decode(d->dec, msg->payload, msg->len, &val, err,
                                    sizeof(err));
        if (rc) {
                rs_stream_dlq(d->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_rum_aggregate_read(val, &agg, d->agg_metrics,
                                  sizeof(d->agg_metrics) /
                                      sizeof(*d->agg_metrics),
                                  err, sizeof(err)) == -1) {
                rs_stream_dlq(d->stream, msg, "invalid", err, replay);
                return;
        }
        if (!segtype_judged(d, agg.segment_type))
                return;
        if ((reason = rs_event_check_tenant(agg.tenant_id, err, sizeof(err)))) {
                rs_stream_dlq(d->stream, msg, reason, err, replay);
                return;
        }
        start = rs_window_start_of(size, agg.window_start_ms);
        if (start != agg.window_start_ms || agg.window_end_ms != start + size ||
            agg.window_start_ms < RS_EVENT_MIN_TIME_MS ||
            strlen(agg.route) >= RS_ROUTE_MAX ||
            strlen(agg.segment_value) > 64 ||
            !(agg.page_views >= 0 && agg.page_views < 1e15)) {
                snprintf(err, sizeof(err),
                         "aggregate [%" PRId64 ", %" PRId64
                         ") is not one window of %" PRId64
                         " ms (window.size_ms must be the aggregator's), or "
                         "has a bad route, segment or page-view count",
                         agg.window_start_ms, agg.window_end_ms, size);
                rs_stream_dlq(d->stream, msg, "invalid", err, replay);
                return;
        }
        if (rs_window_is_late(part->win, agg.window_start_ms)) {
                snprintf(err, sizeof(err),
                         "aggregate of window %" PRId64 " judged already",
                         agg.window_start_ms);
                rs_stream_dlq(d->stream, msg, "late", err, replay);
                if (!replay)
                        rs_counter_add(d->c_late, 1);
                return;
        }
        for (i = 0; i < agg.metric_cnt; i++) {
                const rs_metric_summary_t *ms = &agg.metrics[i];
                if ((m = metric_index(d, ms->name)) < 0 || !ms->sketch_len ||
                    sk[m])
                        continue;
                if (!(sk[m] = rs_sketch_deserialize(ms->sketch, ms->sketch_len,
                                                    err, sizeof(err)))) {
                        rs_stream_dlq(d->stream, msg, "invalid", err, replay);
                        goto out;
                }
                samples[m] = ms->samples;
        }
        rc = rs_window_assign(part->win, agg.window_start_ms, msg->offset,
                              &start, (void ***)&slot);
        if (rc == RS_WINDOW_LATE) {
                snprintf(err, sizeof(err),
                         "aggregate of window %" PRId64 " judged already",
                         agg.window_start_ms);
                rs_stream_dlq(d->stream, msg, "late", err, replay);
                if (!replay)
                        rs_counter_add(d->c_late, 1);
                goto out;
        }
        if (rc != RS_WINDOW_OK)
                ad_oom();
        if (!*slot && !(*slot = rs_map_new()))
                ad_oom();
        klen = ad_series_key(key, sizeof(key), agg.tenant_id, agg.route,
                             agg.segment_type, agg.segment_value, NULL);
        if (rs_map_get(*slot, key, klen)) {
                /* One aggregate per key and window: a second one is an
                 * aggregator replay. */
                if (!replay)
                        rs_counter_add(d->c_duplicates, 1);
                goto out;
        }
        if (rs_map_size(*slot) >= (size_t)d->conf->max_series) {
                if (!replay)
                        rs_counter_add(d->c_overflow, 1);
                goto out;
        }
        cslot = (cell_t **)rs_map_put(*slot, key, klen, &created);
        if (!cslot || !(*cslot = calloc(1, sizeof(cell_t))))
                ad_oom();
        (*cslot)->page_views = agg.page_views;
        for (m = 0; m < d->metric_cnt; m++) {
                (*cslot)->sk[m]      = sk[m];
                (*cslot)->samples[m] = samples[m];
                sk[m]                = NULL;
        }
        if (!replay)
                rs_counter_add(d->c_aggregates, 1);
out:
        for (m = 0; m < AD_MAX_METRICS; m++)
                rs_sketch_destroy(sk[m]);
}

/*
 * Closing windows.
 */
static int on_emit(void *opaque, rs_stream_part_t *part) {
        detector_t *d  = opaque;
        dpart_t    *dp = part->state;
        int64_t     start;
        void       *data;
        int         n = 0, r;

        if (ad_rates_is_err_part(d, part))
                return ad_rates_emit(d, part);
        while (rs_window_pop_closed(part->win, &start, &data)) {
                rs_map_t *cells = data;
                int       rc    = 0;
                n++;
                if (cells)
                        rc = ad_judge_window(d, dp, start,
                                             rs_window_size(part->win), cells);
                ad_rates_page_views(d, part, start, cells);
                cells_free(cells);
                if (rc == -1)
                        return -1;
                rs_counter_add(d->c_windows, 1);
        }
        ad_prune(d, dp, rs_window_closed_until(part->win));
        r = ad_rates_emit(d, part);
        return r == -1 ? -1 : n + r;
}

static int on_write(void *opaque, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        detector_t *d = opaque;

        if (rs_pg_batch_rows(d->b_series) > 0 &&
            rs_pg_batch_flush(pg, d->b_series, errstr, errstr_size) == -1)
                return -1;
        if (ad_state_write(d, pg, errstr, errstr_size) == -1 ||
            ad_rates_write(d, pg, errstr, errstr_size) == -1)
                return -1;
        return rs_issues_write(d->issues, pg, errstr, errstr_size);
}

static void on_written(void *opaque) {
        detector_t *d = opaque;

        rs_pg_batch_clear(d->b_series);
        rs_issues_written(d->issues);
        ad_state_written(d);
        ad_rates_written(d);
}

/*
 * Partitions.
 */
static int on_part_open(void *opaque, rs_stream_part_t *part, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        detector_t *d = opaque;
        dpart_t    *dp;

        if (ad_rates_is_err_part(d, part))
                return ad_rates_part_open(d, part, pg, errstr, errstr_size);
        if (part->partition >= d->part_cap) {
                int32_t   n  = part->partition + 1;
                dpart_t **np = realloc(d->parts, (size_t)n * sizeof(*np));
                if (!np)
                        ad_oom();
                memset(np + d->part_cap, 0,
                       (size_t)(n - d->part_cap) * sizeof(*np));
                d->parts    = np;
                d->part_cap = n;
        }
        ad_part_free(d->parts[part->partition]);
        d->parts[part->partition] = NULL;
        dp                        = ad_part_new(part->partition);
        if (ad_part_load(d, dp, rs_window_closed_until(part->win), pg, errstr,
                         errstr_size) == -1) {
                ad_part_free(dp);
                return -1;
        }
        d->parts[part->partition] = dp;
        part->state               = dp;
        return ad_rates_part_open(d, part, pg, errstr, errstr_size);
}

static void window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        (void)opaque;
        cells_free(data);
}

static void on_part_close(void *opaque, rs_stream_part_t *part) {
        detector_t *d = opaque;

        if (ad_rates_is_err_part(d, part)) {
                ad_rates_part_close(d, part);
                return;
        }
        ad_rates_part_close(d, part);
        rs_window_foreach(part->win, window_free_cb, NULL);
        if (part->partition < d->part_cap) {
                ad_part_free(d->parts[part->partition]);
                d->parts[part->partition] = NULL;
        }
        part->state = NULL;
}

static const rs_stream_ops_t detector_ops = {
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
static const char *const series_cols[] = {
    "tenant_id", "route",        "segment_type", "segment_value",
    "metric",    "window_start", "partition",    "p75",
    "samples",   "ci_low",       "ci_high"};
static const char *const state_cols[] = {
    "tenant_id",     "route",         "segment_type",
    "segment_value", "metric",        "kind",
    "partition",     "open",          "severity",
    "breach_run",    "healthy_run",   "change_run",
    "version",       "since_ms",      "opened_ms",
    "freeze_ms",     "noticed_value", "noticed_expected",
    "issue_id",      "changed_at"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

/* Splits a comma-separated list into lower-case trimmed names. */
static int split_list(const char *list, char (*out)[RS_DETECT_METRIC_MAX],
                      size_t width, int max, const char *what, char *errstr,
                      size_t errstr_size) {
        const char *p = list ? list : "";
        int         n = 0;

        while (*p) {
                const char *e = strchr(p, ',');
                size_t      len, i;
                if (!e)
                        e = p + strlen(p);
                while (p < e && isspace((unsigned char)*p))
                        p++;
                len = (size_t)(e - p);
                while (len && isspace((unsigned char)p[len - 1]))
                        len--;
                if (len) {
                        if (n == max || len >= width) {
                                snprintf(errstr, errstr_size,
                                         "%s: too many entries or one too "
                                         "long",
                                         what);
                                return -1;
                        }
                        for (i = 0; i < len; i++)
                                out[n][i] = (char)tolower((unsigned char)p[i]);
                        out[n][len] = '\0';
                        n++;
                }
                p = *e ? e + 1 : e;
        }
        if (!n) {
                snprintf(errstr, errstr_size, "%s: empty", what);
                return -1;
        }
        return n;
}

/*
 * tenant_overrides: "tenant: key=value, key=value; tenant: ..." (';' or
 * newline between tenants). Each entry copies the defaults and replaces
 * the keys it names; a key has the bounds of its setting in the table.
 */
static const struct {
        const char *key, *setting;
} override_keys[] = {
    {"min_samples", "detect.min_samples"},
    {"min_degradation", "detect.min_degradation"},
    {"z_threshold", "detect.z_threshold"},
    {"high_degradation", "detect.high_degradation"},
    {"critical_degradation", "detect.critical_degradation"},
    {"open_after", "lifecycle.open_after"},
    {"resolve_after", "lifecycle.resolve_after"},
};

#define NKEYS (sizeof(override_keys) / sizeof(*override_keys))

static const rs_conf_item_t *conf_item(const char *name) {
        const rs_conf_item_t *it;

        for (it = detector_conf_table; it->name; it++)
                if (!strcmp(it->name, name))
                        return it;
        return NULL;
}

/* [p, e) trimmed into out (size bytes). @returns its length, or -1 if it
 * does not fit. */
static int trim_copy(const char *p, const char *e, char *out, size_t size) {
        while (p < e && isspace((unsigned char)*p))
                p++;
        while (e > p && isspace((unsigned char)e[-1]))
                e--;
        if ((size_t)(e - p) >= size)
                return -1;
        memcpy(out, p, (size_t)(e - p));
        out[e - p] = '\0';
        return (int)(e - p);
}

static void apply_override(tconf_t *tc, size_t key, double v) {
        int k;

        switch (key) {
        case 0:
                tc->dconf.min_samples = v;
                break;
        case 1:
                tc->dconf.min_degradation = v;
                break;
        case 2:
                tc->dconf.z_threshold = v;
                break;
        case 3:
                tc->dconf.high_degradation = v;
                break;
        case 4:
                tc->dconf.critical_degradation = v;
                break;
        case 5:
                tc->lconf[AD_REG].open_after = (unsigned)v;
                break;
        default:
                for (k = 0; k < AD_NKIND; k++)
                        tc->lconf[k].resolve_after = (unsigned)v;
                break;
        }
}

/* One "key=value" of tenant tc at [p, e). */
static int parse_setting(tconf_t *tc, unsigned *seen, const char *text,
                         const char *p, const char *e, char *errstr,
                         size_t errstr_size) {
        const char           *eq = memchr(p, '=', (size_t)(e - p));
        const rs_conf_item_t *it;
        char                  key[32], val[64], *end;
        size_t                pos = (size_t)(p - text) + 1, i;
        double                v;

        while (p < e && isspace((unsigned char)*p))
                p++, pos++;
        if (!eq) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': "
                         "expected key=value, got '%.*s'",
                         pos, tc->tenant, (int)(e - p > 40 ? 40 : e - p), p);
                return -1;
        }
        if (trim_copy(p, eq, key, sizeof(key)) < 0)
                snprintf(key, sizeof(key), "%.20s...", p);
        for (i = 0; i < NKEYS && strcmp(key, override_keys[i].key); i++)
                ;
        if (i == NKEYS) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': "
                         "unknown key '%s' (min_samples, min_degradation, "
                         "z_threshold, high_degradation, "
                         "critical_degradation, open_after, resolve_after)",
                         pos, tc->tenant, key);
                return -1;
        }
        if (*seen & (1u << i)) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': %s "
                         "given twice",
                         pos, tc->tenant, key);
                return -1;
        }
        *seen |= 1u << i;
        it = conf_item(override_keys[i].setting);
        if (trim_copy(eq + 1, e, val, sizeof(val)) < 1 ||
            (v = strtod(val, &end), *end) || !isfinite(v) || v < it->min ||
            v > it->max || (it->type == RS_CONF_INT && v != floor(v))) {
                if (trim_copy(eq + 1, e, val, sizeof(val)) < 0)
                        snprintf(val, sizeof(val), "(too long)");
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': %s: "
                         "value '%s' is not %s in [%g, %g]",
                         (size_t)(eq - text) + 2, tc->tenant, key, val,
                         it->type == RS_CONF_INT ? "an integer" : "a number",
                         it->min, it->max);
                return -1;
        }
        apply_override(tc, i, v);
        return 0;
}

/* One "tenant: key=value, ..." at [p, e) into a new d->tenants entry. */
static int parse_tenant(detector_t *d, const char *text, const char *p,
                        const char *e, char *errstr, size_t errstr_size) {
        const char *colon = memchr(p, '=', (size_t)(e - p));
        tconf_t    *tc    = &d->tenants[d->tenant_cnt];
        char        detail[256];
        unsigned    seen = 0;
        size_t      pos  = (size_t)(p - text) + 1, i;

        /* A tenant id may hold ':' (keys and values do not): the tenant
         * ends at the last ':' before the first '='. */
        if (!colon)
                colon = e;
        while (colon > p && *colon != ':')
                colon--;
        if (*colon != ':') {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu: expected 'tenant: "
                         "key=value, ...', got '%.*s'",
                         pos, (int)(e - p > 40 ? 40 : e - p), p);
                return -1;
        }
        *tc = d->def;
        if (trim_copy(p, colon, tc->tenant, sizeof(tc->tenant)) < 1 ||
            rs_event_check_tenant(tc->tenant, detail, sizeof(detail))) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu: '%.*s' is no "
                         "tenant id (1 to %d characters of [A-Za-z0-9._:-])",
                         pos, (int)(colon - p > 40 ? 40 : colon - p), p,
                         RS_EVENT_MAX_TENANT_LEN);
                return -1;
        }
        for (i = 0; i < d->tenant_cnt; i++)
                if (!strcmp(d->tenants[i].tenant, tc->tenant)) {
                        snprintf(errstr, errstr_size,
                                 "tenant_overrides: position %zu: tenant "
                                 "'%s' given twice",
                                 pos, tc->tenant);
                        return -1;
                }
        for (p = colon + 1; p < e;) {
                const char *c = memchr(p, ',', (size_t)(e - p));
                if (!c)
                        c = e;
                if (parse_setting(tc, &seen, text, p, c, errstr, errstr_size) ==
                    -1)
                        return -1;
                p = c < e ? c + 1 : e;
        }
        if (!seen) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': no "
                         "key=value",
                         pos, tc->tenant);
                return -1;
        }
        if (rs_detect_conf_check(&tc->dconf) != 0) {
                snprintf(errstr, errstr_size,
                         "tenant_overrides: position %zu, tenant '%s': "
                         "critical_degradation must be at least "
                         "high_degradation",
                         pos, tc->tenant);
                return -1;
        }
        d->tenant_cnt++;
        return 0;
}

static int parse_overrides(detector_t *d, const char *text, char *errstr,
                           size_t errstr_size) {
        const char *p = text ? text : "";

        if (!(d->tenants = calloc(AD_MAX_TENANT_CONFS, sizeof(*d->tenants))))
                ad_oom();
        text = p;
        while (*p) {
                const char *e;
                if (isspace((unsigned char)*p) || *p == ';') {
                        p++;
                        continue;
                }
                e = p + strcspn(p, ";\n");
                if (d->tenant_cnt == AD_MAX_TENANT_CONFS) {
                        snprintf(errstr, errstr_size,
                                 "tenant_overrides: position %zu: more than "
                                 "%d tenants",
                                 (size_t)(p - text) + 1, AD_MAX_TENANT_CONFS);
                        return -1;
                }
                if (parse_tenant(d, text, p, e, errstr, errstr_size) == -1)
                        return -1;
                p = e;
        }
        return 0;
}

const tconf_t *ad_tconf(const detector_t *d, const char *tenant) {
        size_t i;

        for (i = 0; i < d->tenant_cnt; i++)
                if (!strcmp(d->tenants[i].tenant, tenant))
                        return &d->tenants[i];
        return &d->def;
}

static int setup(detector_t *d, char *errstr, size_t errstr_size) {
        const detector_conf_t *conf = d->conf;
        char                   seg[AD_MAX_SEGTYPES][RS_DETECT_METRIC_MAX];
        rs_detect_kind_t       kinds[AD_NKIND] = {RS_DETECT_KIND_REGRESSION,
                                                  RS_DETECT_KIND_BUDGET,
                                                  RS_DETECT_KIND_SHIFT};
        int                    i, k;

        if ((d->metric_cnt = split_list(conf->metrics, d->metric,
                                        RS_DETECT_METRIC_MAX, AD_MAX_METRICS,
                                        "metrics", errstr, errstr_size)) < 0)
                return -1;
        for (i = 0; i < d->metric_cnt; i++) {
                rs_metric_t mt;
                size_t      j;
                if (rs_metric_from_name(d->metric[i], &mt) == -1 &&
                    strncmp(d->metric[i], "custom.", 7)) {
                        snprintf(errstr, errstr_size,
                                 "metrics: '%s' is no metric (lcp, inp, cls, "
                                 "fcp, ttfb, nav.*, custom.<timing>)",
                                 d->metric[i]);
                        return -1;
                }
                for (j = 0; d->metric[i][j]; j++)
                        d->metric_label[i][j] =
                            (char)toupper((unsigned char)d->metric[i][j]);
                d->metric_label[i][j] = '\0';
        }
        d->rate_metric = -1;
        if (conf->error_topic && conf->error_topic[0]) {
                if (d->metric_cnt >= AD_MAX_METRICS) {
                        snprintf(errstr, errstr_size,
                                 "metrics: at most %d with error rates "
                                 "(error_topic)",
                                 AD_MAX_METRICS - 1);
                        return -1;
                }
                d->rate_metric = d->metric_cnt++;
                snprintf(d->metric[d->rate_metric], RS_DETECT_METRIC_MAX, "%s",
                         RS_DETECT_ERROR_RATE);
                snprintf(d->metric_label[d->rate_metric], RS_DETECT_METRIC_MAX,
                         "Error rate");
        }
        if ((d->segtype_cnt = split_list(
                 conf->segment_types, seg, RS_DETECT_METRIC_MAX,
                 AD_MAX_SEGTYPES, "segment_types", errstr, errstr_size)) < 0)
                return -1;
        for (i = 0; i < d->segtype_cnt; i++) {
                if (strcmp(seg[i], "all") && strcmp(seg[i], "device") &&
                    strcmp(seg[i], "country") && strcmp(seg[i], "connection")) {
                        snprintf(errstr, errstr_size,
                                 "segment_types: '%s' is not all, device, "
                                 "country or connection",
                                 seg[i]);
                        return -1;
                }
                snprintf(d->segtype[i], sizeof(d->segtype[i]), "%.63s", seg[i]);
                d->has_device |= !strcmp(seg[i], "device");
        }
        if (d->rate_metric >= 0 && !segtype_judged(d, "all")) {
                snprintf(errstr, errstr_size,
                         "segment_types: error rates (error_topic) need "
                         "\"all\", the route's page views");
                return -1;
        }

        rs_detect_conf_defaults(&d->def.dconf);
        d->def.dconf.history      = (size_t)conf->history;
        d->def.dconf.min_history  = (size_t)conf->min_history;
        d->def.dconf.spread_floor = conf->spread_floor;
        if (!strcmp(conf->seasonal, "none"))
                d->def.dconf.seasonal = RS_DETECT_SEASON_NONE;
        else if (!strcmp(conf->seasonal, "daily"))
                d->def.dconf.seasonal = RS_DETECT_SEASON_DAILY;
        else if (!strcmp(conf->seasonal, "weekly"))
                d->def.dconf.seasonal = RS_DETECT_SEASON_WEEKLY;
        else if (!strcmp(conf->seasonal, "auto"))
                d->def.dconf.seasonal = RS_DETECT_SEASON_AUTO;
        else {
                snprintf(errstr, errstr_size,
                         "detect.seasonal: '%s' is not none, daily, weekly "
                         "or auto",
                         conf->seasonal);
                return -1;
        }
        if (d->def.dconf.seasonal != RS_DETECT_SEASON_NONE &&
            conf->season_windows == 0) {
                snprintf(errstr, errstr_size,
                         "detect.seasonal needs history.season_windows (the "
                         "windows of the profile, e.g. 4320 for 3 days of "
                         "60 s windows)");
                return -1;
        }
        d->def.dconf.season_min_days      = (unsigned)conf->season_min_days;
        d->def.dconf.season_min_weeks     = (unsigned)conf->season_min_weeks;
        d->def.dconf.min_samples          = conf->min_samples;
        d->def.dconf.min_degradation      = conf->min_degradation;
        d->def.dconf.z_threshold          = conf->z_threshold;
        d->def.dconf.ci_level             = conf->ci_level;
        d->def.dconf.high_degradation     = conf->high_degradation;
        d->def.dconf.critical_degradation = conf->critical_degradation;
        d->def.dconf.shift_windows        = (size_t)conf->shift_windows;
        if (rs_detect_conf_check(&d->def.dconf) != 0) {
                snprintf(errstr, errstr_size,
                         "detect: min_history must be at most history and "
                         "critical_degradation at least high_degradation");
                return -1;
        }
        for (k = 0; k < AD_NKIND; k++) {
                rs_detect_lifecycle_defaults(kinds[k], &d->def.lconf[k]);
                d->def.lconf[k].resolve_after   = (unsigned)conf->resolve_after;
                d->def.lconf[k].update_fraction = conf->update_fraction;
        }
        d->def.lconf[AD_REG].open_after = (unsigned)conf->open_after;
        if (parse_overrides(d, conf->tenant_overrides, errstr, errstr_size) ==
            -1)
                return -1;
        /* A frozen baseline keeps `history` windows beside the recent. */
        d->ring_cap = (size_t)(2 * conf->history + conf->shift_windows +
                               conf->season_windows);

        if (!(d->rules =
                  rs_detect_rules_parse(conf->rules, errstr, errstr_size))) {
                char tmp[512];
                snprintf(tmp, sizeof(tmp), "budget.rules: %s", errstr);
                snprintf(errstr, errstr_size, "%s", tmp);
                return -1;
        }
        return 0;
}

/* Every rule's for-duration must fit the ring. */
static int check_rule_cb(const detector_t *d, char *errstr,
                         size_t errstr_size) {
        const rs_detect_rule_t *r;
        size_t                  n, i;
        int                     m;

        /* Default set: tenant NULL. Tenant blocks are checked when used
         * (a longer for-duration holds over the windows kept). */
        for (m = 0; m < d->metric_cnt; m++) {
                n = rs_detect_rules_find(d->rules, NULL, d->metric[m], &r);
                for (i = 0; i < n; i++)
                        if (r[i].for_windows >
                            d->ring_cap - d->def.dconf.history) {
                                snprintf(errstr, errstr_size,
                                         "budget.rules line %u: for %u "
                                         "windows is more than the %zu "
                                         "windows kept per series",
                                         r[i].line, r[i].for_windows,
                                         d->ring_cap - d->def.dconf.history);
                                return -1;
                        }
        }
        return 0;
}

int detector_conf_check(const detector_conf_t *conf, char *errstr,
                        size_t errstr_size) {
        detector_t *d = calloc(1, sizeof(*d));
        int         rc;

        if (!d)
                ad_oom();
        d->conf = conf;
        rc      = setup(d, errstr, errstr_size) == -1 ||
                     check_rule_cb(d, errstr, errstr_size) == -1
                      ? -1
                      : 0;
        detector_destroy(d);
        return rc;
}

detector_t *detector_new(const detector_conf_t *conf, char *errstr,
                         size_t errstr_size) {
        detector_t   *d = calloc(1, sizeof(*d));
        rs_metrics_t *m;

        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        d->conf = conf;
        if (setup(d, errstr, errstr_size) == -1 ||
            check_rule_cb(d, errstr, errstr_size) == -1)
                goto fail;
        d->pts      = calloc(d->ring_cap, sizeof(*d->pts));
        d->wins     = calloc(d->ring_cap, sizeof(*d->wins));
        d->scratch  = calloc(RS_DETECT_BASELINE_SCRATCH(d->ring_cap),
                             sizeof(*d->scratch));
        d->b_series = rs_pg_batch_new("anomaly_series", series_cols,
                                      NCOLS(series_cols), 6);
        d->b_state =
            rs_pg_batch_new("anomaly_state", state_cols, NCOLS(state_cols), 6);
        if (!d->pts || !d->wins || !d->scratch || !d->b_series || !d->b_state) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (rs_event_check_schemas(errstr, errstr_size) == -1 ||
            !(d->reg = rs_avro_registry_new(errstr, errstr_size)) ||
            !(d->dec = rs_avro_decoder_new(d->reg, RS_SCHEMA_ID_RUM_AGGREGATE,
                                           errstr, errstr_size)) ||
            !(d->issues = rs_issues_new(d->reg, conf->issues_topic, PROCESSOR,
                                        errstr, errstr_size)) ||
            ad_rates_init(d, errstr, errstr_size) == -1)
                goto fail;
        d->stream = rs_stream_new(PROCESSOR, &d->sconf, &detector_ops, d,
                                  errstr, errstr_size);
        if (!d->stream || ad_rates_check_topics(d, errstr, errstr_size) == -1)
                goto fail;

        m               = rs_stream_metrics(d->stream);
        d->c_aggregates = rs_metrics_counter(m, "anomaly_aggregates_total",
                                             "RumAggregates accepted", NULL);
        d->c_late       = rs_metrics_counter(
                  m, "anomaly_aggregates_late_total",
                  "RumAggregates of windows judged already (dead-lettered)", NULL);
        d->c_duplicates = rs_metrics_counter(
            m, "anomaly_aggregates_duplicate_total",
            "Second aggregates of a key in one window (skipped)", NULL);
        d->c_overflow =
            rs_metrics_counter(m, "anomaly_series_overflow_total",
                               "Series not tracked because a partition reached "
                               "limits.max_series",
                               NULL);
        d->c_windows = rs_metrics_counter(m, "anomaly_windows_total",
                                          "Windows judged", NULL);
        d->c_judged  = rs_metrics_counter(m, "anomaly_judgements_total",
                                          "Series windows judged", NULL);
        d->c_issues  = rs_metrics_counter(m, "issues_emitted_total",
                                          "Issue versions produced", NULL);
        ad_rates_counters(d, m);
        return d;

fail:
        detector_destroy(d);
        return NULL;
}

void detector_destroy(detector_t *d) {
        int32_t i;

        if (!d)
                return;
        rs_stream_destroy(d->stream);
        ad_rates_destroy(d);
        for (i = 0; i < d->part_cap; i++)
                ad_part_free(d->parts[i]);
        free(d->parts);
        free(d->pts);
        free(d->wins);
        free(d->scratch);
        rs_pg_batch_destroy(d->b_series);
        rs_pg_batch_destroy(d->b_state);
        rs_issues_destroy(d->issues);
        rs_detect_rules_destroy(d->rules);
        free(d->tenants);
        rs_avro_decoder_destroy(d->dec);
        rs_avro_registry_destroy(d->reg);
        free(d);
}

int detector_run(detector_t *d) {
        return rs_stream_run(d->stream);
}

void detector_stop(detector_t *d) {
        rs_stream_stop(d->stream);
}
