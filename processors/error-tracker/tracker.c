/*
 * error-tracker: grouping, windowed counts, new-error and spike issues.
 * See tracker.h for what it does; the comments here say how.
 *
 * State per input partition (pstate_t): its tenants and their admitted
 * groups (group_t), loaded from error_tenants / error_groups on
 * assignment. Per open window (win_t): counts per (tenant, group, route)
 * and per (tenant, route). Groups and tenants are admitted when an event
 * first names them; they reach PostgreSQL when the window they first
 * appeared in closes, so what is stored always matches the stored
 * position, and a replay of the open windows admits the same ones again
 * in the same order.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/avro.h"
#include "rumstream/classify.h"
#include "rumstream/distinct.h"
#include "rumstream/event.h"
#include "rumstream/fingerprint.h"
#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/map.h"
#include "rumstream/pii.h"
#include "rumstream/route.h"

#include "internal.h"


/* clang-format off */
const rs_conf_item_t tracker_conf_table[] = {
    RS_STREAM_CONF_ITEMS(tracker_conf_t, PROCESSOR, "error.events"),
    {"output_topic", RS_CONF_STRING, offsetof(tracker_conf_t, output_topic),
     "error.aggregates", 0, -1, NULL, "Topic of the ErrorAggregate records"},
    {"issues_topic", RS_CONF_STRING, offsetof(tracker_conf_t, issues_topic),
     "issues", 0, -1, NULL, "Topic of the Issue records"},
    {"pii.sensitive_keys", RS_CONF_STRING,
     offsetof(tracker_conf_t, sensitive_keys), NULL, 0, -1, NULL,
     "Comma-separated field/parameter names whose values are redacted "
     "(empty: the built-in list)"},
    {"classify.rules", RS_CONF_STRING,
     offsetof(tracker_conf_t, classify_rules), NULL, 0, -1, NULL,
     "Classification rules tried before the built-in ones "
     "(see common/include/rumstream/classify.h)"},
    {"limits.max_tenants", RS_CONF_INT, offsetof(tracker_conf_t, max_tenants),
     "10000", 1, 10000000, NULL,
     "Tenants per input partition; events of more go to the DLQ"},
    {"limits.max_groups_per_tenant", RS_CONF_INT,
     offsetof(tracker_conf_t, max_groups_per_tenant), "1000", 1, 1000000,
     NULL, "Error groups per tenant; more share the group " OVERFLOW},
    {"limits.max_keys_per_window", RS_CONF_INT,
     offsetof(tracker_conf_t, max_keys_per_window), "100000", 1, 100000000,
     NULL, "(tenant, group, route) counts per partition and window; more "
     "share the route " OVERFLOW},
    {"limits.max_clock_skew_ms", RS_CONF_INT,
     offsetof(tracker_conf_t, max_clock_skew_ms), "300000", 0, 86400000, NULL,
     "Events this far ahead of their Kafka timestamp are rejected"},
    {"new_error.warmup_ms", RS_CONF_INT,
     offsetof(tracker_conf_t, new_error_warmup_ms), "3600000", 0,
     31536000000.0, NULL,
     "Groups first seen this soon after their tenant raise no new_error"},
    {"new_error.quiet_windows", RS_CONF_INT,
     offsetof(tracker_conf_t, new_error_quiet_windows), "30", 1, 100000, NULL,
     "A new_error issue resolves after this many windows without the error"},
    {"spike.factor", RS_CONF_DOUBLE, offsetof(tracker_conf_t, spike_factor),
     "5", 1.1, 1000, NULL, "Errors per window above factor x baseline spike"},
    {"spike.resolve_factor", RS_CONF_DOUBLE,
     offsetof(tracker_conf_t, spike_resolve_factor), "2", 1, 1000, NULL,
     "A spike resolves when errors fall below resolve_factor x baseline"},
    {"spike.min_errors", RS_CONF_INT, offsetof(tracker_conf_t, spike_min_errors),
     "20", 1, 100000000, NULL, "Fewer errors in a window never spike"},
    {"spike.min_history", RS_CONF_INT,
     offsetof(tracker_conf_t, spike_min_history), "5", 1, 100000, NULL,
     "Windows a group must have been tracked before it can spike"},
    {"spike.baseline_alpha", RS_CONF_DOUBLE,
     offsetof(tracker_conf_t, spike_alpha), "0.1", 0.001, 1, NULL,
     "Weight of the newest window in the baseline (EWMA)"},
    {"page_views_topic", RS_CONF_STRING,
     offsetof(tracker_conf_t, page_views_topic), "rum.aggregates", 0, -1, NULL,
     "RumAggregate topic to read page views from, for error rates (empty: "
     "no error rates); same partition count as the input"},
    {"error_rate.threshold", RS_CONF_DOUBLE,
     offsetof(tracker_conf_t, rate_threshold), "0.05", 0.0001, 100, NULL,
     "Errors per page view above which a route's error rate is too high"},
    {"error_rate.duration_ms", RS_CONF_INT,
     offsetof(tracker_conf_t, rate_duration_ms), "300000", 0, 86400000, NULL,
     "How long the rate must stay above the threshold to open an issue"},
    {"error_rate.min_page_views", RS_CONF_DOUBLE,
     offsetof(tracker_conf_t, rate_min_page_views), "20", 0, 1e9, NULL,
     "Windows with fewer page views never count as above the threshold"},
    {"error_rate.max_wait_ms", RS_CONF_INT,
     offsetof(tracker_conf_t, rate_max_wait_ms), "300000", 1000, 86400000,
     NULL, "Judge without an input that has been silent this long"},
    RS_CONF_END};
/* clang-format on */

/*
 * Small helpers.
 */
char *trk_xstrdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d) {
                rs_log_error("out of memory");
                abort();
        }
        return d;
}


static size_t scrub(tracker_t *t, const char *s, char *out, size_t size) {
        unsigned counts[RS_PII_KIND_CNT] = {0};
        size_t   n, i;

        n = rs_pii_scrub(t->pii, s ? s : "", s ? strlen(s) : 0, out, size,
                         counts);
        for (i = 0; i < RS_PII_KIND_CNT && !t->replaying; i++)
                if (counts[i])
                        rs_counter_add(t->c_scrubbed[i], counts[i]);
        return n < size ? n : size - 1;
}

/* Breadcrumbs as a JSON array of {t, category, message}, scrubbed. */
static void crumbs_json(tracker_t *t, const rs_error_event_t *ev) {
        size_t off = 0, i;
        char   esc[2048], cat[256];

        off += (size_t)snprintf(t->crumbs + off, sizeof(t->crumbs) - off, "[");
        for (i = 0; i < ev->breadcrumb_cnt; i++) {
                const rs_breadcrumb_t *b = &ev->breadcrumbs[i];
                int                    n;

                rs_log_json_escape(esc, sizeof(esc), b->message);
                rs_log_json_escape(cat, sizeof(cat), b->category);
                n = snprintf(t->crumbs + off, sizeof(t->crumbs) - off,
                             "%s{\"t\":%" PRId64
                             ",\"category\":\"%s\",\"message\":\"%s\"}",
                             i ? "," : "", b->timestamp_ms, cat, esc);
                if (n < 0 || (size_t)n >= sizeof(t->crumbs) - off - 2)
                        break; /* the oldest ones fit; the rest is cut */
                off += (size_t)n;
        }
        snprintf(t->crumbs + off, sizeof(t->crumbs) - off, "]");
}

/*
 * Points every free text of \p ev at a scrubbed copy in the tracker's
 * scratch buffers and drops the user id: nothing after this sees personal
 * data, dead letters included.
 */
static void scrub_event(tracker_t *t, rs_error_event_t *ev) {
        size_t i;

        ev->user_id = NULL;
        scrub(t, ev->message, t->msg, sizeof(t->msg));
        ev->message = t->msg;
        scrub(t, ev->error_type, t->etype, sizeof(t->etype));
        ev->error_type = t->etype;
        scrub(t, ev->url, t->url, sizeof(t->url));
        ev->url = t->url;
        if (ev->stack) {
                scrub(t, ev->stack, t->stack, sizeof(t->stack));
                ev->stack = t->stack;
        }
        if (ev->request_url) {
                scrub(t, ev->request_url, t->req, sizeof(t->req));
                ev->request_url = t->req;
        }
        if (ev->file) {
                scrub(t, ev->file, t->file, sizeof(t->file));
                ev->file = t->file;
        }
        if (ev->route) {
                scrub(t, ev->route, t->route, sizeof(t->route));
                ev->route = t->route;
        }
        for (i = 0; i < ev->breadcrumb_cnt; i++) {
                rs_breadcrumb_t *b = &ev->breadcrumbs[i];

                scrub(t, b->message, t->crumb_msg[i], sizeof(t->crumb_msg[i]));
                b->message = t->crumb_msg[i];
                scrub(t, b->category, t->crumb_cat[i], sizeof(t->crumb_cat[i]));
                b->category = t->crumb_cat[i];
        }
}

/* Dead-letters a decoded (and scrubbed) event: re-encoded, so that the
 * dead-letter topic holds no personal data either. */
static void reject(tracker_t *t, const rd_kafka_message_t *msg,
                   const rs_error_event_t *ev, const char *reason,
                   const char *detail, int replay) {
        const void *buf = msg->payload;
        size_t      len = msg->len;
        char        err[512];

        if (replay)
                return;
        if (rs_error_event_write(rs_avro_encoder_value(t->enc_event), ev) ==
                -1 ||
            rs_avro_encoder_encode(t->enc_event, &buf, &len, err,
                                   sizeof(err)) == -1) {
                /* Unreachable for a value the reader accepted; never fall
                 * back to the raw bytes. */
                rs_log_error("re-encoding a dead letter: %s", err);
                buf = "";
                len = 0;
        }
        rs_stream_dlq_value(t->stream, msg, buf, len, reason, detail, replay);
}

/*
 * Validation. Returns the dead-letter reason, or NULL if the event is good.
 */
static const char *validate(const tracker_t *t, const rs_error_event_t *ev,
                            int64_t msg_ts, char *detail, size_t size) {
        const char *reason;

        if ((reason = rs_event_check_tenant(ev->tenant_id, detail, size)))
                return reason;
        if (!ev->event_id[0] || !ev->kind[0] || !ev->url[0]) {
                snprintf(detail, size, "%s is empty",
                         !ev->event_id[0] ? "event_id"
                         : !ev->kind[0]   ? "kind"
                                          : "url");
                return "missing_field";
        }
        return rs_event_check_time_rate(ev->timestamp_ms, msg_ts,
                                        t->conf->max_clock_skew_ms,
                                        ev->sample_rate, detail, size);
}

/*
 * Tenants and groups.
 */
static void group_free(group_t *g) {
        char **s[] = {&g->kind,     &g->error_type, &g->category,
                      &g->severity, &g->title,      &g->message,
                      &g->frames,   &g->s_event_id, &g->s_message,
                      &g->s_stack,  &g->s_url,      &g->s_crumbs};
        size_t i;

        for (i = 0; i < sizeof(s) / sizeof(*s); i++)
                free(*s[i]);
        free(g);
}

static void group_free_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        group_free(value);
}

static void tenant_free_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        tenant_t *tn = value;

        (void)key;
        (void)len;
        (void)opaque;
        free(tn->name);
        free(tn);
}

static void pstate_free(pstate_t *ps) {
        if (!ps)
                return;
        if (ps->groups) {
                rs_map_foreach(ps->groups, group_free_cb, NULL);
                rs_map_destroy(ps->groups);
        }
        if (ps->tenants) {
                rs_map_foreach(ps->tenants, tenant_free_cb, NULL);
                rs_map_destroy(ps->tenants);
        }
        free(ps);
}

static tenant_t *tenant_get(tracker_t *t, pstate_t *ps, const char *name,
                            int64_t window_start) {
        tenant_t **slot;
        int        created;

        slot = (tenant_t **)rs_map_get(ps->tenants, name, strlen(name));
        if (slot)
                return *slot;
        if ((int64_t)rs_map_size(ps->tenants) >= t->conf->max_tenants)
                return NULL;
        slot =
            (tenant_t **)rs_map_put(ps->tenants, name, strlen(name), &created);
        if (!slot || !(*slot = calloc(1, sizeof(**slot)))) {
                rs_log_error("out of memory");
                abort();
        }
        (*slot)->name          = trk_xstrdup(name);
        (*slot)->first_seen_ms = window_start;
        return *slot;
}

static group_t *group_new(pstate_t *ps, tenant_t *tn, const char *id,
                          const char *key, size_t klen) {
        group_t **slot;
        int       created;

        slot = (group_t **)rs_map_put(ps->groups, key, klen, &created);
        if (!slot || !(*slot = calloc(1, sizeof(**slot)))) {
                rs_log_error("out of memory");
                abort();
        }
        (*slot)->tenant    = tn;
        (*slot)->partition = ps->partition;
        snprintf((*slot)->id, sizeof((*slot)->id), "%s", id);
        return *slot;
}

/*
 * Messages.
 */
static void win_free_cell(const void *key, size_t len, void *value,
                          void *opaque) {
        cell_t *c = value;

        (void)key;
        (void)len;
        (void)opaque;
        rs_distinct_free(&c->sessions);
        free(c);
}

static void win_free_plain(const void *key, size_t len, void *value,
                           void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        free(value);
}

static void win_free(win_t *w) {
        if (!w)
                return;
        if (w->cells) {
                rs_map_foreach(w->cells, win_free_cell, NULL);
                rs_map_destroy(w->cells);
        }
        if (w->routes) {
                rs_map_foreach(w->routes, win_free_cell, NULL);
                rs_map_destroy(w->routes);
        }
        if (w->groups) {
                rs_map_foreach(w->groups, win_free_plain, NULL);
                rs_map_destroy(w->groups);
        }
        free(w);
}

static void *slot_new(rs_map_t *map, const char *key, size_t len, size_t size) {
        void **slot;
        int    created;

        slot = rs_map_put(map, key, len, &created);
        if (!slot || (!*slot && !(*slot = calloc(1, size)))) {
                rs_log_error("out of memory");
                abort();
        }
        return *slot;
}

static void cell_add(cell_t *c, double weight, uint64_t session) {
        c->errors++;
        c->weighted += weight;
        rs_distinct_add(&c->sessions, session);
}

static void on_message(void *opaque, rs_stream_part_t *part,
                       const rd_kafka_message_t *msg, int replay) {
        tracker_t   *t  = opaque;
        pstate_t    *ps = part->state;
        rs_stream_t *s  = t->stream;
        char         err[512], route[RS_ROUTE_MAX];
        char         key[3 * RS_ROUTE_MAX + 2 * RS_EVENT_MAX_TENANT_LEN];
        rd_kafka_timestamp_type_t tstype;
        rs_error_event_t          ev;
        avro_value_t             *val;
        const char               *reason, *category, *severity;
        rs_fp_input_t             in;
        rs_fp_t                   fp;
        rs_classify_input_t       ci;
        int64_t                   msg_ts, start;
        tenant_t                 *tn;
        group_t                 **gslot, *g;
        win_t                   **wslot, *w;
        gwin_t                   *gw;
        size_t                    klen, gklen;
        uint64_t                  session;
        double                    weight;
        int                       rc;

        if (rates_is_pv_part(t, part)) {
                rates_message(t, part, msg, replay);
                return;
        }
        if (ps->pair)
                rates_touch_errors(ps->pair);
        rc = rs_avro_decoder_decode(t->dec, msg->payload, msg->len, &val, err,
                                    sizeof(err));
        if (rc) {
                rs_stream_dlq(s, msg, rs_avro_err_reason(rc), err, replay);
                return;
        }
        if (rs_error_event_read(val, &ev, err, sizeof(err)) == -1) {
                /* Decoded but not an error event of ours: its texts cannot
                 * be found to scrub, so only the reason is kept. */
                rs_stream_dlq_value(s, msg, "", 0, "invalid", err, replay);
                return;
        }
        /* Nothing below sees the raw texts. */
        t->replaying = replay;
        scrub_event(t, &ev);
        msg_ts = rd_kafka_message_timestamp(msg, &tstype);
        if ((reason = validate(t, &ev, msg_ts, err, sizeof(err)))) {
                reject(t, msg, &ev, reason, err, replay);
                return;
        }
        if (msg_ts > 0 && ev.timestamp_ms > msg_ts) {
                ev.timestamp_ms = msg_ts;
                if (!replay)
                        rs_counter_add(t->c_clamped, 1);
        }
        if (rs_window_is_late(part->win, ev.timestamp_ms)) {
                if (replay) {
                        rs_counter_add(t->c_replay_skipped, 1);
                        return;
                }
                snprintf(err, sizeof(err),
                         "window of %" PRId64 " closed at watermark %" PRId64,
                         ev.timestamp_ms, rs_window_watermark(part->win));
                reject(t, msg, &ev, "late", err, replay);
                return;
        }
        start = rs_window_start_of(rs_window_size(part->win), ev.timestamp_ms);
        if (!(tn = tenant_get(t, ps, ev.tenant_id, start))) {
                snprintf(err, sizeof(err),
                         "more than %" PRId64 " tenants on this partition",
                         t->conf->max_tenants);
                reject(t, msg, &ev, "tenant_limit", err, replay);
                return;
        }
        rc = rs_window_assign(part->win, ev.timestamp_ms, msg->offset, &start,
                              (void ***)&wslot);
        if (rc == RS_WINDOW_LATE) {
                if (replay) {
                        rs_counter_add(t->c_replay_skipped, 1);
                        return;
                }
                snprintf(err, sizeof(err),
                         "window of %" PRId64
                         " closed early: more than %" PRId64 " windows open",
                         ev.timestamp_ms, t->conf->stream.max_open_windows);
                reject(t, msg, &ev, "late", err, replay);
                return;
        }
        if (rc != RS_WINDOW_OK)
                goto oom;
        if (!(w = *wslot)) {
                if (!(w = calloc(1, sizeof(*w))) ||
                    !(w->cells = rs_map_new()) || !(w->routes = rs_map_new()) ||
                    !(w->groups = rs_map_new()))
                        goto oom;
                *wslot = w;
        }

        if (ev.route && ev.route[0])
                rs_route_normalize(ev.route, strlen(ev.route), route);
        else
                rs_route_normalize(ev.url, strlen(ev.url), route);

        memset(&in, 0, sizeof(in));
        in.tenant_id   = ev.tenant_id;
        in.kind        = ev.kind;
        in.error_type  = ev.error_type;
        in.message     = ev.message;
        in.stack       = ev.stack;
        in.file        = ev.file;
        in.http_method = ev.http_method;
        in.request_url = ev.request_url;
        in.http_status = ev.http_status > 0 ? ev.http_status : 0;
        rs_fp_compute(&in, &fp);

        /* Admit the group, or count it under the tenant's overflow. */
        gklen =
            rs_map_key_join(key, sizeof(key), ev.tenant_id, fp.group_id, NULL);
        gslot = (group_t **)rs_map_get(ps->groups, key, gklen);
        if (!(g = gslot ? *gslot : NULL)) {
                if (tn->groups < t->conf->max_groups_per_tenant) {
                        g = group_new(ps, tn, fp.group_id, key, gklen);
                        tn->groups++;
                } else {
                        if (!replay)
                                rs_counter_add(t->c_group_overflow, 1);
                        gklen = rs_map_key_join(key, sizeof(key), ev.tenant_id,
                                                OVERFLOW, NULL);
                        gslot = (group_t **)rs_map_get(ps->groups, key, gklen);
                        g     = gslot ? *gslot
                                      : group_new(ps, tn, OVERFLOW, key, gklen);
                        g->overflow = 1;
                }
        }
        if (!g->kind) {
                /* First event of the group: its description and sample. */
                memset(&ci, 0, sizeof(ci));
                ci.kind        = ev.kind;
                ci.error_type  = ev.error_type;
                ci.message     = ev.message;
                ci.http_status = ev.http_status > 0 ? ev.http_status : 0;
                ci.duration_ms = ev.duration_ms;
                rs_classify(t->cls, &ci, &category, &severity);
                g->kind = trk_xstrdup(g->overflow ? "other" : ev.kind);
                g->error_type =
                    trk_xstrdup(g->overflow ? OVERFLOW : ev.error_type);
                g->category = trk_xstrdup(g->overflow ? "other" : category);
                g->severity = trk_xstrdup(g->overflow ? "low" : severity);
                g->title    = trk_xstrdup(
                       g->overflow ? "Errors of groups beyond the cap" : fp.title);
                g->message = trk_xstrdup(g->overflow ? "" : fp.message);
                {
                        char   frames[1024] = "";
                        size_t i, off = 0;
                        for (i = 0; !g->overflow && i < fp.frame_cnt; i++) {
                                int n = snprintf(frames + off,
                                                 sizeof(frames) - off, "%s%s",
                                                 i ? "\n" : "", fp.frames[i]);
                                if (n < 0 || (size_t)n >= sizeof(frames) - off)
                                        break;
                                off += (size_t)n;
                        }
                        g->frames = trk_xstrdup(frames);
                }
                crumbs_json(t, &ev);
                g->s_event_id    = trk_xstrdup(ev.event_id);
                g->s_message     = trk_xstrdup(ev.message);
                g->s_stack       = ev.stack ? trk_xstrdup(ev.stack) : NULL;
                g->s_url         = trk_xstrdup(ev.url);
                g->s_crumbs      = trk_xstrdup(t->crumbs);
                g->first_seen_ms = ev.timestamp_ms;
                g->last_seen_ms  = ev.timestamp_ms;
        }

        weight  = 1.0 / ev.sample_rate;
        session = rs_hash64(ev.session_id, strlen(ev.session_id), 0x5e55);

        gw = slot_new(w->groups, key, gklen, sizeof(*gw));
        if (!gw->group) {
                gw->group  = g;
                gw->min_ts = gw->max_ts = ev.timestamp_ms;
        }
        gw->errors++;
        gw->weighted += weight;
        if (ev.timestamp_ms < gw->min_ts)
                gw->min_ts = ev.timestamp_ms;
        if (ev.timestamp_ms > gw->max_ts)
                gw->max_ts = ev.timestamp_ms;

        klen = rs_map_key_join(key, sizeof(key), ev.tenant_id, g->id, route);
        if (!rs_map_get(w->cells, key, klen) &&
            (int64_t)rs_map_size(w->cells) >= t->conf->max_keys_per_window) {
                if (!replay)
                        rs_counter_add(t->c_key_overflow, 1);
                klen = rs_map_key_join(key, sizeof(key), ev.tenant_id, g->id,
                                       OVERFLOW);
        }
        cell_add(slot_new(w->cells, key, klen, sizeof(cell_t)), weight,
                 session);
        klen = rs_map_key_join(key, sizeof(key), ev.tenant_id,
                               rs_map_size(w->routes) >=
                                       (size_t)t->conf->max_keys_per_window
                                   ? OVERFLOW
                                   : route,
                               NULL);
        cell_add(slot_new(w->routes, key, klen, sizeof(cell_t)), weight,
                 session);
        if (!replay)
                rs_counter_add(t->c_events, 1);
        return;

oom:
        rs_log_error("out of memory tracking %s [%" PRId32 "] @%" PRId64,
                     part->topic, part->partition, msg->offset);
        abort();
}

/*
 * Issues.
 */
/* An issue about group \p g (new_error, error_spike). */
static int issue_emit(tracker_t *t, const group_t *g, const char *id,
                      const char *kind, const char *state, int64_t version,
                      int64_t opened_ms, int64_t now_ms, double observed,
                      double baseline, double threshold, int64_t sample,
                      int64_t window_start) {
        rs_issue_draft_t *d =
            rs_issues_start(t->issues, id, g->tenant->name, kind, state,
                            g->severity, version, opened_ms, now_ms);
        rs_issue_t *is = &d->is;

        snprintf(d->title, sizeof(d->title), "%s: %s",
                 !strcmp(kind, "new_error") ? "New error" : "Error spike",
                 g->title);
        is->metric      = "errors";
        is->observed    = observed;
        is->baseline    = baseline;
        is->threshold   = threshold;
        is->sample_size = sample;
        rs_issue_draft_evidence(d, "group_id", "%s", g->id);
        rs_issue_draft_evidence(d, "window_start_ms", "%" PRId64, window_start);
        rs_issue_draft_evidence(d, "category", "%s", g->category);
        if (rs_issues_publish(t->issues, rs_stream_producer(t->stream), d) ==
            -1)
                return -1;
        rs_counter_add(t->c_issues, 1);
        return 0;
}

static void issue_id(const group_t *g, const char *kind, int64_t opened_ms,
                     char out[33]) {
        rs_id_t h;

        rs_id_init(&h, "issue");
        rs_id_add_str(&h, g->tenant->name);
        rs_id_add_str(&h, kind);
        rs_id_add_str(&h, g->id);
        rs_id_add_i64(&h, opened_ms);
        rs_id_hex(&h, out);
}

static void open_list_add(pstate_t *ps, group_t *g) {
        if (g->on_open_list)
                return;
        g->on_open_list = 1;
        g->next_open    = ps->open;
        ps->open        = g;
}

static void mark_dirty(tracker_t *t, group_t *g) {
        int created;

        g->dirty = 1;
        if (!rs_map_put(t->dirty_groups, &g, sizeof(g), &created)) {
                rs_log_error("out of memory");
                abort();
        }
}

/*
 * Judges group \p g after the window [start, end) in which it had
 * \p errors errors (weighted \p weighted; 0 for a group only visited
 * because it has an open issue).
 */
static int judge(tracker_t *t, pstate_t *ps, group_t *g, int64_t start,
                 int64_t end, int64_t errors, double weighted) {
        const tracker_conf_t *c    = t->conf;
        int64_t               size = end - start, gap;
        double                base, keep = 1.0 - c->spike_alpha;

        if (g->state_window_end >= end)
                return 0; /* judged already (replayed window) */
        /* Windows without errors since the last judgement pull the
         * baseline down, unless a spike holds it. */
        gap =
            g->state_window_end > 0 ? (start - g->state_window_end) / size : 0;
        if (gap > 0 && !g->spike_id[0]) {
                g->baseline *= pow(keep, (double)gap);
                g->windows_tracked += gap;
        }
        base = g->baseline > 1.0 ? g->baseline : 1.0;

        if (errors > 0)
                g->last_error_window = start;

        if (!g->overflow && !g->spike_id[0]) {
                if (g->windows_tracked >= c->spike_min_history &&
                    errors >= c->spike_min_errors &&
                    weighted >= c->spike_factor * base) {
                        issue_id(g, "error_spike", start, g->spike_id);
                        g->spike_opened_ms = start;
                        g->spike_version   = 1;
                        if (issue_emit(t, g, g->spike_id, "error_spike", "open",
                                       1, start, end, weighted, g->baseline,
                                       c->spike_factor * base, errors,
                                       start) == -1)
                                return -1;
                        open_list_add(ps, g);
                }
        } else if (!g->overflow) {
                int lasting = weighted >= c->spike_resolve_factor * base &&
                              errors >= (c->spike_min_errors + 1) / 2;
                g->spike_version++;
                if (issue_emit(
                        t, g, g->spike_id, "error_spike",
                        lasting ? "updated" : "resolved", g->spike_version,
                        g->spike_opened_ms, end, weighted, g->baseline,
                        c->spike_resolve_factor * base, errors, start) == -1)
                        return -1;
                if (!lasting)
                        g->spike_id[0] = '\0';
        }
        if (!g->spike_id[0]) {
                g->baseline = c->spike_alpha * weighted + keep * g->baseline;
                g->windows_tracked++;
        }

        if (g->new_open &&
            start - g->last_error_window >= c->new_error_quiet_windows * size) {
                g->new_open = 0;
                g->new_version++;
                char id[33];
                issue_id(g, "new_error", g->first_seen_ms, id);
                if (issue_emit(t, g, id, "new_error", "resolved",
                               g->new_version, g->first_seen_ms, end, 0, NAN,
                               NAN, 0, start) == -1)
                        return -1;
        }
        g->state_window_end = end;
        mark_dirty(t, g);
        return 0;
}

static void write_group(tracker_t *t, const group_t *g);

/*
 * Emission of closed windows.
 */
typedef struct emit_ctx_s {
        tracker_t *t;
        pstate_t  *ps;
        int64_t    start, end;
        char       ts_start[40], ts_end[40];
        int        failed;
} emit_ctx_t;

static int emit_cell(emit_ctx_t *x, const char *tenant, const char *group,
                     const char *route, const cell_t *c) {
        tracker_t           *t = x->t;
        rs_error_aggregate_t ea;
        const void          *buf;
        size_t               len;
        char           id[33], err[512], key[2 * 33 + RS_EVENT_MAX_TENANT_LEN];
        group_t      **gslot;
        const group_t *g;
        rs_id_t        h;

        gslot = (group_t **)rs_map_get(
            x->ps->groups, key,
            rs_map_key_join(key, sizeof(key), tenant, group, NULL));
        g = gslot ? *gslot : NULL;

        rs_id_init(&h, "error_aggregate");
        rs_id_add_str(&h, tenant);
        rs_id_add_str(&h, group);
        rs_id_add_str(&h, route);
        rs_id_add_i64(&h, x->start);
        rs_id_hex(&h, id);

        memset(&ea, 0, sizeof(ea));
        ea.aggregate_id       = id;
        ea.tenant_id          = tenant;
        ea.group_id           = group;
        ea.route              = route;
        ea.window_start_ms    = x->start;
        ea.window_end_ms      = x->end;
        ea.errors             = c->errors;
        ea.weighted_errors    = c->weighted;
        ea.sessions           = rs_distinct_count(&c->sessions);
        ea.sessions_estimated = rs_distinct_estimated(&c->sessions);
        ea.page_views         = NAN;
        ea.error_rate         = NAN;
        ea.category           = g ? g->category : "other";
        ea.severity           = g ? g->severity : "low";
        if (rs_error_aggregate_write(rs_avro_encoder_value(t->enc_agg), &ea) ==
                -1 ||
            rs_avro_encoder_encode(t->enc_agg, &buf, &len, err, sizeof(err)) ==
                -1) {
                rs_log_error("encoding error aggregate: %s", err);
                return -1;
        }
        if (rs_kafka_produce(rs_stream_producer(t->stream),
                             t->conf->output_topic, tenant, strlen(tenant), buf,
                             len, NULL, err, sizeof(err)) == -1) {
                rs_log_error("%s", err);
                return -1;
        }
        rs_pg_batch_str(t->b_aggs, tenant);
        rs_pg_batch_str(t->b_aggs, group);
        rs_pg_batch_str(t->b_aggs, route);
        rs_pg_batch_str(t->b_aggs, x->ts_start);
        rs_pg_batch_str(t->b_aggs, x->ts_end);
        rs_pg_batch_i64(t->b_aggs, c->errors);
        rs_pg_batch_f64(t->b_aggs, c->weighted);
        rs_pg_batch_i64(t->b_aggs, ea.sessions);
        rs_pg_batch_bool(t->b_aggs, ea.sessions_estimated);
        rs_pg_batch_str(t->b_aggs, ea.category);
        rs_pg_batch_str(t->b_aggs, ea.severity);
        rs_pg_batch_str(t->b_aggs, id);
        return rs_pg_batch_row_end(t->b_aggs);
}

static void emit_cell_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        emit_ctx_t *x      = opaque;
        const char *tenant = key;
        const char *group  = tenant + strlen(tenant) + 1;
        const char *route  = group + strlen(group) + 1;

        (void)len;
        if (!x->failed && emit_cell(x, tenant, group, route, value) == -1)
                x->failed = 1;
}

static void emit_route_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        emit_ctx_t   *x      = opaque;
        tracker_t    *t      = x->t;
        const cell_t *c      = value;
        const char   *tenant = key;
        const char   *route  = tenant + strlen(tenant) + 1;

        (void)len;
        rs_pg_batch_str(t->b_routes, tenant);
        rs_pg_batch_str(t->b_routes, route);
        rs_pg_batch_str(t->b_routes, x->ts_start);
        rs_pg_batch_str(t->b_routes, x->ts_end);
        rs_pg_batch_i64(t->b_routes, x->ps->partition);
        rs_pg_batch_i64(t->b_routes, c->errors);
        rs_pg_batch_f64(t->b_routes, c->weighted);
        rs_pg_batch_i64(t->b_routes, rs_distinct_count(&c->sessions));
        rs_pg_batch_bool(t->b_routes, rs_distinct_estimated(&c->sessions));
        if (rs_pg_batch_row_end(t->b_routes) == -1)
                x->failed = 1;
        rates_errors(t, x->ps->pair, x->start, tenant, route, c->errors,
                     c->weighted);
}

/* Groups of the window, sorted by key so that issues come out in the
 * same order on every run. */
typedef struct gref_s {
        const char *key;
        size_t      len;
        gwin_t     *gw;
} gref_t;

typedef struct gcollect_s {
        gref_t *refs;
        size_t  cnt;
} gcollect_t;

static void collect_cb(const void *key, size_t len, void *value, void *opaque) {
        gcollect_t *gc = opaque;

        gc->refs[gc->cnt].key = key;
        gc->refs[gc->cnt].len = len;
        gc->refs[gc->cnt].gw  = value;
        gc->cnt++;
}

static int gref_cmp(const void *a, const void *b) {
        const gref_t *x = a, *y = b;
        size_t        n = x->len < y->len ? x->len : y->len;
        int           r = memcmp(x->key, y->key, n);

        return r ? r : (x->len > y->len) - (x->len < y->len);
}

static int emit_window(tracker_t *t, pstate_t *ps, int64_t start, int64_t end,
                       win_t *w) {
        emit_ctx_t x  = {.t = t, .ps = ps, .start = start, .end = end};
        gcollect_t gc = {0};
        group_t  **pp, *g;
        size_t     i;

        rs_pg_timestamp(start, x.ts_start, sizeof(x.ts_start));
        rs_pg_timestamp(end, x.ts_end, sizeof(x.ts_end));
        if (!w)
                goto judge_open;

        rs_map_foreach(w->cells, emit_cell_cb, &x);
        rs_map_foreach(w->routes, emit_route_cb, &x);
        if (x.failed)
                return -1;

        gc.refs = calloc(rs_map_size(w->groups) + 1, sizeof(*gc.refs));
        if (!gc.refs)
                return -1;
        rs_map_foreach(w->groups, collect_cb, &gc);
        qsort(gc.refs, gc.cnt, sizeof(*gc.refs), gref_cmp);
        for (i = 0; i < gc.cnt; i++) {
                gwin_t *gw = gc.refs[i].gw;

                g = gw->group;
                if (gw->min_ts < g->first_seen_ms)
                        g->first_seen_ms = gw->min_ts;
                if (gw->max_ts > g->last_seen_ms)
                        g->last_seen_ms = gw->max_ts;
                g->errors_total += gw->errors;
                g->weighted_total += gw->weighted;
                if (!g->tenant->stored) {
                        char ts[40];
                        g->tenant->stored = 1;
                        rs_pg_timestamp(g->tenant->first_seen_ms, ts,
                                        sizeof(ts));
                        rs_pg_batch_str(t->b_tenants, g->tenant->name);
                        rs_pg_batch_i64(t->b_tenants, ps->partition);
                        rs_pg_batch_str(t->b_tenants, ts);
                        rs_pg_batch_row_end(t->b_tenants);
                }
                if (!g->stored) {
                        g->stored = 1;
                        write_group(t, g);
                        /* The batch holds the sample now: up to ~25 KiB a
                         * group that memory need not keep. */
                        free(g->s_event_id);
                        free(g->s_message);
                        free(g->s_stack);
                        free(g->s_url);
                        free(g->s_crumbs);
                        g->s_event_id = g->s_message = g->s_stack = NULL;
                        g->s_url = g->s_crumbs = NULL;
                        if (!g->overflow &&
                            start >= g->tenant->first_seen_ms +
                                         t->conf->new_error_warmup_ms) {
                                char id[33];
                                issue_id(g, "new_error", g->first_seen_ms, id);
                                g->new_open    = 1;
                                g->new_version = 1;
                                if (issue_emit(t, g, id, "new_error", "open", 1,
                                               g->first_seen_ms, end,
                                               gw->weighted, NAN, NAN,
                                               gw->errors, start) == -1)
                                        goto fail;
                                open_list_add(ps, g);
                        }
                }
                if (judge(t, ps, g, start, end, gw->errors, gw->weighted) == -1)
                        goto fail;
        }
        free(gc.refs);

judge_open:
        /* Groups with an open issue and no errors in this window. */
        for (pp = &ps->open; (g = *pp);) {
                if (judge(t, ps, g, start, end, 0, 0) == -1)
                        return -1;
                if (!g->spike_id[0] && !g->new_open) {
                        *pp             = g->next_open;
                        g->on_open_list = 0;
                } else {
                        pp = &g->next_open;
                }
        }
        return 0;
fail:
        free(gc.refs);
        return -1;
}

static int on_emit(void *opaque, rs_stream_part_t *part) {
        tracker_t *t = opaque;
        int64_t    start;
        void      *data;
        int        n = 0;

        if (rates_is_pv_part(t, part))
                return rates_emit(t, part);
        while (rs_window_pop_closed(part->win, &start, &data)) {
                int rc = emit_window(t, part->state, start,
                                     start + rs_window_size(part->win), data);
                win_free(data);
                if (rc == -1)
                        return -1;
                n++;
        }
        return rates_emit(t, part) == -1 ? -1 : n;
}

/*
 * Writing.
 */
/* The group's description and sample: once, when first written. */
static void write_group(tracker_t *t, const group_t *g) {
        char ts[40];

        rs_pg_batch_str(t->b_groups, g->tenant->name);
        rs_pg_batch_str(t->b_groups, g->id);
        rs_pg_batch_str(t->b_groups, g->kind);
        rs_pg_batch_str(t->b_groups, g->error_type);
        rs_pg_batch_str(t->b_groups, g->category);
        rs_pg_batch_str(t->b_groups, g->severity);
        rs_pg_batch_str(t->b_groups, g->title);
        rs_pg_batch_str(t->b_groups, g->message);
        rs_pg_batch_str(t->b_groups, g->frames);
        rs_pg_batch_str(t->b_groups, g->s_event_id);
        rs_pg_batch_str(t->b_groups, g->s_message);
        rs_pg_batch_str(t->b_groups, g->s_stack);
        rs_pg_batch_str(t->b_groups, g->s_url);
        rs_pg_batch_str(t->b_groups, g->s_crumbs);
        rs_pg_timestamp(g->first_seen_ms, ts, sizeof(ts));
        rs_pg_batch_str(t->b_groups, ts);
        rs_pg_batch_row_end(t->b_groups);
}

static void write_state(tracker_t *t, const group_t *g) {
        char ts[40];

        rs_pg_batch_str(t->b_state, g->tenant->name);
        rs_pg_batch_str(t->b_state, g->id);
        rs_pg_batch_i64(t->b_state, g->partition);
        rs_pg_timestamp(g->last_seen_ms, ts, sizeof(ts));
        rs_pg_batch_str(t->b_state, ts);
        rs_pg_batch_i64(t->b_state, g->state_window_end);
        rs_pg_batch_f64(t->b_state, g->baseline);
        rs_pg_batch_i64(t->b_state, g->windows_tracked);
        rs_pg_batch_str(t->b_state, g->spike_id[0] ? g->spike_id : NULL);
        if (g->spike_id[0])
                rs_pg_batch_i64(t->b_state, g->spike_opened_ms);
        else
                rs_pg_batch_null(t->b_state);
        rs_pg_batch_i64(t->b_state, g->spike_version);
        rs_pg_batch_i64(t->b_state, g->new_version);
        rs_pg_batch_bool(t->b_state, g->new_open);
        rs_pg_batch_i64(t->b_state, g->last_error_window);
        rs_pg_batch_i64(t->b_state, g->errors_total);
        rs_pg_batch_f64(t->b_state, g->weighted_total);
        rs_pg_batch_row_end(t->b_state);
}

static void dirty_cb(const void *key, size_t len, void *value, void *opaque) {
        group_t *g;

        (void)value;
        (void)len;
        memcpy(&g, key, sizeof(g));
        write_state(opaque, g);
}

static int on_write(void *opaque, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        tracker_t     *t         = opaque;
        rs_pg_batch_t *batches[] = {t->b_tenants, t->b_groups, t->b_state,
                                    t->b_aggs, t->b_routes};
        size_t         i;

        /* State rows are the groups' latest, whatever windows closed. */
        rs_pg_batch_clear(t->b_state);
        rs_map_foreach(t->dirty_groups, dirty_cb, t);
        for (i = 0; i < sizeof(batches) / sizeof(*batches); i++)
                if (rs_pg_batch_rows(batches[i]) > 0 &&
                    rs_pg_batch_flush(pg, batches[i], errstr, errstr_size) ==
                        -1)
                        return -1;
        if (rates_write(t, pg, errstr, errstr_size) == -1)
                return -1;
        return rs_issues_write(t->issues, pg, errstr, errstr_size);
}

static void on_written(void *opaque) {
        tracker_t *t = opaque;
        rs_map_t  *m = rs_map_new();

        rs_pg_batch_clear(t->b_tenants);
        rs_pg_batch_clear(t->b_groups);
        rs_pg_batch_clear(t->b_state);
        rs_pg_batch_clear(t->b_aggs);
        rs_pg_batch_clear(t->b_routes);
        rs_issues_written(t->issues);
        rates_written(t);
        if (!m) {
                rs_log_error("out of memory");
                abort();
        }
        rs_map_destroy(t->dirty_groups);
        t->dirty_groups = m;
}

/*
 * Partitions: the state stored with the position comes back.
 */
static int load_state(tracker_t *t, pstate_t *ps, rs_pg_t *pg, char *errstr,
                      size_t errstr_size) {
        char        part[16];
        const char *params[1] = {part};
        PGresult   *res;
        int         i, n;

        snprintf(part, sizeof(part), "%" PRId32, ps->partition);
        res = rs_pg_query(pg,
                          "SELECT tenant_id, (extract(epoch from first_seen) "
                          "* 1000)::bigint FROM error_tenants WHERE "
                          "partition = $1",
                          1, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0, n = PQntuples(res); i < n; i++) {
                tenant_t *tn =
                    tenant_get(t, ps, PQgetvalue(res, i, 0),
                               strtoll(PQgetvalue(res, i, 1), NULL, 10));
                if (tn)
                        tn->stored = 1;
        }
        PQclear(res);

        res = rs_pg_query(
            pg,
            "SELECT s.tenant_id, s.group_id, g.kind, g.error_type, "
            "g.category, g.severity, g.title, "
            "(extract(epoch from g.first_seen) * 1000)::bigint, "
            "(extract(epoch from s.last_seen) * 1000)::bigint, "
            "s.state_window_end, s.baseline, s.windows_tracked, "
            "coalesce(s.spike_issue_id, ''), coalesce(s.spike_opened_ms, 0), "
            "s.spike_version, s.new_issue_version, s.new_issue_open, "
            "s.last_error_window, s.errors, s.weighted_errors "
            "FROM error_group_state s JOIN error_groups g "
            "USING (tenant_id, group_id) WHERE s.partition = $1 "
            "ORDER BY s.tenant_id, s.group_id",
            1, params, errstr, errstr_size);
        if (!res)
                return -1;
        for (i = 0, n = PQntuples(res); i < n; i++) {
                char      key[2 * 33 + RS_EVENT_MAX_TENANT_LEN + 2];
                tenant_t *tn;
                group_t  *g;
                size_t    klen;

                tn = tenant_get(t, ps, PQgetvalue(res, i, 0),
                                strtoll(PQgetvalue(res, i, 7), NULL, 10));
                if (!tn)
                        continue;
                klen = rs_map_key_join(key, sizeof(key), tn->name,
                                       PQgetvalue(res, i, 1), NULL);
                g    = group_new(ps, tn, PQgetvalue(res, i, 1), key, klen);
                g->overflow         = !strcmp(g->id, OVERFLOW);
                g->stored           = 1;
                g->kind             = trk_xstrdup(PQgetvalue(res, i, 2));
                g->error_type       = trk_xstrdup(PQgetvalue(res, i, 3));
                g->category         = trk_xstrdup(PQgetvalue(res, i, 4));
                g->severity         = trk_xstrdup(PQgetvalue(res, i, 5));
                g->title            = trk_xstrdup(PQgetvalue(res, i, 6));
                g->first_seen_ms    = strtoll(PQgetvalue(res, i, 7), NULL, 10);
                g->last_seen_ms     = strtoll(PQgetvalue(res, i, 8), NULL, 10);
                g->state_window_end = strtoll(PQgetvalue(res, i, 9), NULL, 10);
                g->baseline         = strtod(PQgetvalue(res, i, 10), NULL);
                g->windows_tracked  = strtoll(PQgetvalue(res, i, 11), NULL, 10);
                snprintf(g->spike_id, sizeof(g->spike_id), "%s",
                         PQgetvalue(res, i, 12));
                g->spike_opened_ms = strtoll(PQgetvalue(res, i, 13), NULL, 10);
                g->spike_version   = strtoll(PQgetvalue(res, i, 14), NULL, 10);
                g->new_version     = strtoll(PQgetvalue(res, i, 15), NULL, 10);
                g->new_open        = PQgetvalue(res, i, 16)[0] == 't';
                g->last_error_window =
                    strtoll(PQgetvalue(res, i, 17), NULL, 10);
                g->errors_total   = strtoll(PQgetvalue(res, i, 18), NULL, 10);
                g->weighted_total = strtod(PQgetvalue(res, i, 19), NULL);
                if (!g->overflow)
                        tn->groups++;
                if (g->spike_id[0] || g->new_open)
                        open_list_add(ps, g);
        }
        PQclear(res);
        return 0;
}

static int on_part_open(void *opaque, rs_stream_part_t *part, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        tracker_t *t = opaque;
        pstate_t  *ps;

        if (rates_is_pv_part(t, part))
                return rates_part_open(t, part, NULL, pg, errstr, errstr_size);
        ps = calloc(1, sizeof(*ps));
        if (!ps || !(ps->tenants = rs_map_new()) ||
            !(ps->groups = rs_map_new())) {
                pstate_free(ps);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        ps->partition = part->partition;
        if (load_state(t, ps, pg, errstr, errstr_size) == -1 ||
            rates_part_open(t, part, ps, pg, errstr, errstr_size) == -1) {
                rates_part_close(t, part);
                pstate_free(ps);
                return -1;
        }
        part->state = ps;
        return 0;
}

static void window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        (void)opaque;
        win_free(data);
}

typedef struct keep_ctx_s {
        rs_map_t *keep;
        int32_t   partition;
} keep_ctx_t;

static void keep_cb(const void *key, size_t len, void *value, void *opaque) {
        keep_ctx_t *k = opaque;
        group_t    *g;
        int         created;

        (void)value;
        memcpy(&g, key, sizeof(g));
        if (g->partition != k->partition &&
            !rs_map_put(k->keep, key, len, &created)) {
                rs_log_error("out of memory");
                abort();
        }
}

static void on_part_close(void *opaque, rs_stream_part_t *part) {
        tracker_t *t  = opaque;
        keep_ctx_t kc = {rs_map_new(), part->partition};

        rates_part_close(t, part);
        if (rates_is_pv_part(t, part)) {
                rs_map_destroy(kc.keep);
                return;
        }
        /* The stream checkpoints before it lets a partition go, so nothing
         * of it should wait to be written; whatever does goes with it (the
         * next owner replays it), and marks must not point into it. */
        if (!kc.keep) {
                rs_log_error("out of memory");
                abort();
        }
        rs_map_foreach(t->dirty_groups, keep_cb, &kc);
        rs_map_destroy(t->dirty_groups);
        t->dirty_groups = kc.keep;
        rs_window_foreach(part->win, window_free_cb, NULL);
        pstate_free(part->state);
        part->state = NULL;
}

static const rs_stream_ops_t tracker_ops = {
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
static const char *const aggs_cols[] = {
    "tenant_id",          "group_id", "route",           "window_start",
    "window_end",         "errors",   "weighted_errors", "sessions",
    "sessions_estimated", "category", "severity",        "aggregate_id"};
static const char *const routes_cols[] = {
    "tenant_id",       "route",     "window_start",
    "window_end",      "partition", "errors",
    "weighted_errors", "sessions",  "sessions_estimated"};
static const char *const tenants_cols[] = {"tenant_id", "partition",
                                           "first_seen"};
static const char *const groups_cols[]  = {
     "tenant_id",  "group_id",           "kind",           "error_type",
     "category",   "severity",           "title",          "message",
     "frames",     "sample_event_id",    "sample_message", "sample_stack",
     "sample_url", "sample_breadcrumbs", "first_seen"};
static const char *const state_cols[] = {
    "tenant_id",         "group_id",      "partition",         "last_seen",
    "state_window_end",  "baseline",      "windows_tracked",   "spike_issue_id",
    "spike_opened_ms",   "spike_version", "new_issue_version", "new_issue_open",
    "last_error_window", "errors",        "weighted_errors"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

tracker_t *tracker_new(const tracker_conf_t *conf, char *errstr,
                       size_t errstr_size) {
        tracker_t    *t = calloc(1, sizeof(*t));
        rs_metrics_t *m;
        int           i;

        if (!t) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        t->conf = conf;
        if (rs_event_check_schemas(errstr, errstr_size) == -1 ||
            !(t->reg = rs_avro_registry_new(errstr, errstr_size)) ||
            !(t->dec = rs_avro_decoder_new(t->reg, RS_SCHEMA_ID_ERROR_EVENT,
                                           errstr, errstr_size)) ||
            !(t->enc_agg = rs_avro_encoder_new(
                  t->reg, RS_SCHEMA_ID_ERROR_AGGREGATE, errstr, errstr_size)) ||
            !(t->issues = rs_issues_new(t->reg, conf->issues_topic, PROCESSOR,
                                        errstr, errstr_size)) ||
            !(t->enc_event = rs_avro_encoder_new(
                  t->reg, RS_SCHEMA_ID_ERROR_EVENT, errstr, errstr_size)))
                goto fail;
        if (!(t->pii =
                  rs_pii_new(conf->sensitive_keys && conf->sensitive_keys[0]
                                 ? conf->sensitive_keys
                                 : NULL,
                             errstr, errstr_size))) {
                goto fail;
        }
        if (!(t->cls =
                  rs_classify_new(conf->classify_rules, errstr, errstr_size)))
                goto fail;
        if (rates_init(t, errstr, errstr_size) == -1)
                goto fail;
        t->b_aggs =
            rs_pg_batch_new("error_aggregates", aggs_cols, NCOLS(aggs_cols), 4);
        t->b_routes  = rs_pg_batch_new("error_route_windows", routes_cols,
                                       NCOLS(routes_cols), 3);
        t->b_tenants = rs_pg_batch_new("error_tenants", tenants_cols,
                                       NCOLS(tenants_cols), 1);
        t->b_groups =
            rs_pg_batch_new("error_groups", groups_cols, NCOLS(groups_cols), 2);
        t->b_state      = rs_pg_batch_new("error_group_state", state_cols,
                                          NCOLS(state_cols), 2);
        t->dirty_groups = rs_map_new();
        if (!t->b_aggs || !t->b_routes || !t->b_tenants || !t->b_groups ||
            !t->b_state || !t->dirty_groups) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        t->stream = rs_stream_new(PROCESSOR, &t->sconf, &tracker_ops, t, errstr,
                                  errstr_size);
        if (!t->stream || rates_check_topics(t, errstr, errstr_size) == -1)
                goto fail;

        m           = rs_stream_metrics(t->stream);
        t->c_events = rs_metrics_counter(m, "errors_tracked_total",
                                         "Error events counted", NULL);
        for (i = 0; i < RS_PII_KIND_CNT; i++) {
                char labels[64];
                snprintf(labels, sizeof(labels), "kind=\"%s\"",
                         rs_pii_kind_name((rs_pii_kind_t)i));
                t->c_scrubbed[i] = rs_metrics_counter(
                    m, "pii_scrubbed_total",
                    "Personal data found and replaced by placeholders", labels);
        }
        t->c_replay_skipped = rs_metrics_counter(
            m, "replay_skipped_total",
            "Replayed events of windows already written", NULL);
        t->c_clamped = rs_metrics_counter(
            m, "event_time_clamped_total",
            "Events stamped ahead of their Kafka timestamp, moved back to it",
            NULL);
        t->c_group_overflow =
            rs_metrics_counter(m, "group_overflow_total",
                               "Errors counted under " OVERFLOW
                               " because their tenant reached its group cap",
                               NULL);
        t->c_key_overflow =
            rs_metrics_counter(m, "key_overflow_total",
                               "Errors counted under the route " OVERFLOW
                               " because a window reached its key cap",
                               NULL);
        t->c_issues     = rs_metrics_counter(m, "issues_emitted_total",
                                             "Issue versions produced", NULL);
        t->c_page_views = rs_metrics_counter(
            m, "page_view_aggregates_total",
            "All-traffic RumAggregates read for error rates", NULL);
        t->c_rate_skipped = rs_metrics_counter(
            m, "page_view_aggregates_skipped_total",
            "RumAggregates of windows whose error rates were judged already",
            NULL);
        return t;

fail:
        tracker_destroy(t);
        return NULL;
}

void tracker_destroy(tracker_t *t) {
        if (!t)
                return;
        rs_stream_destroy(t->stream);
        rates_destroy(t);
        rs_pg_batch_destroy(t->b_aggs);
        rs_pg_batch_destroy(t->b_routes);
        rs_pg_batch_destroy(t->b_tenants);
        rs_pg_batch_destroy(t->b_groups);
        rs_pg_batch_destroy(t->b_state);
        rs_map_destroy(t->dirty_groups);
        rs_issues_destroy(t->issues);
        rs_classify_destroy(t->cls);
        rs_pii_destroy(t->pii);
        rs_avro_encoder_destroy(t->enc_event);
        rs_avro_encoder_destroy(t->enc_agg);
        rs_avro_decoder_destroy(t->dec);
        rs_avro_registry_destroy(t->reg);
        free(t);
}

int tracker_run(tracker_t *t) {
        return rs_stream_run(t->stream);
}

void tracker_stop(tracker_t *t) {
        rs_stream_stop(t->stream);
}
