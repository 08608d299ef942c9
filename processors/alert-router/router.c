/*
 * alert-router: the stream callbacks around the per-partition engines, the
 * alerts rows and Alert records, state persistence and webhook delivery.
 * See router.h for the behaviour.
 *
 * New alerts rows wait in `staged` until the checkpoint that inserts them
 * commits; then those to deliver join their partition's delivery queue
 * (oldest first). Queue entries carry what the row holds about delivery
 * and are rewritten to it at the next checkpoint when an attempt changed
 * them (`dirty`); delivered and failed entries leave the queue then.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/alerting.h"
#include "rumstream/avro.h"
#include "rumstream/event.h"
#include "rumstream/log.h"

#include "router.h"
#include "webhook.h"

#define PROCESSOR    "alert-router"
#define MAX_CHANNELS 64

/* clang-format off */
const rs_conf_item_t router_conf_table[] = {
    RS_STREAM_CONF_ITEMS(router_conf_t, PROCESSOR, "issues"),
    {"alerts_topic", RS_CONF_STRING, offsetof(router_conf_t, alerts_topic),
     "alerts", 0, -1, NULL, "Topic of the Alert records (sent notices)"},
    {"routes", RS_CONF_STRING, offsetof(router_conf_t, routes),
     "critical -> pager, chat; high -> chat; medium -> email-digest; "
     "low -> none", 0, -1, NULL,
     "Routing rules: severities (optionally per tenant) to channels "
     "(grammar in common/include/rumstream/alerting.h)"},
    {"group_by", RS_CONF_STRING, offsetof(router_conf_t, group_by),
     "tenant+route", 0, -1, NULL,
     "Issues notified together: tenant+route, tenant or tenant+kind"},
    {"channels", RS_CONF_STRING, offsetof(router_conf_t, channels), "", 0,
     -1, NULL, "Webhook URLs of channels, \"name=http://host:port/path; "
     "...\"; a channel without one is recorded only"},
    {"timing.group_wait_ms", RS_CONF_INT,
     offsetof(router_conf_t, group_wait_ms), "30000", 0, 86400000, NULL,
     "Wait before a new group's first notice, for more issues to join"},
    {"timing.group_interval_ms", RS_CONF_INT,
     offsetof(router_conf_t, group_interval_ms), "300000", 1, 86400000, NULL,
     "Least time between two notices of a group"},
    {"timing.repeat_interval_ms", RS_CONF_INT,
     offsetof(router_conf_t, repeat_interval_ms), "14400000", 1, 604800000,
     NULL, "Repeat a notice of what still fires after this long"},
    {"timing.cooldown_ms", RS_CONF_INT, offsetof(router_conf_t, cooldown_ms),
     "300000", 0, 86400000, NULL,
     "After a resolved notice, hold a group's new issues this long "
     "(flapping pages once per cooldown)"},
    {"silences.retention_ms", RS_CONF_INT,
     offsetof(router_conf_t, silence_retention_ms), "86400000", 0,
     2592000000.0, NULL, "Keep ended silences in memory this long"},
    {"silences.refresh_ms", RS_CONF_INT,
     offsetof(router_conf_t, silence_refresh_ms), "10000", 100, 3600000,
     NULL, "Re-read alerting_silences (rumctl silence) this often"},
    {"delivery.timeout_ms", RS_CONF_INT,
     offsetof(router_conf_t, delivery_timeout_ms), "5000", 100, 60000, NULL,
     "Limit of one webhook attempt (connect, send, status line)"},
    {"delivery.initial_backoff_ms", RS_CONF_INT,
     offsetof(router_conf_t, delivery_initial_backoff_ms), "1000", 10,
     3600000, NULL, "Wait before the first retry; doubles at each failure"},
    {"delivery.max_backoff_ms", RS_CONF_INT,
     offsetof(router_conf_t, delivery_max_backoff_ms), "300000", 10,
     86400000, NULL, "Longest wait between two attempts"},
    {"delivery.max_attempts_per_tick", RS_CONF_INT,
     offsetof(router_conf_t, delivery_max_attempts), "20", 1, 10000, NULL,
     "Webhook attempts per partition and checkpoint (bounds the time "
     "input waits)"},
    {"limits.max_groups", RS_CONF_INT, offsetof(router_conf_t, max_groups),
     "10000", 1, 10000000, NULL, "Group keys tracked per partition"},
    {"limits.max_issues", RS_CONF_INT, offsetof(router_conf_t, max_issues),
     "50000", 1, 10000000, NULL, "Issues tracked per partition"},
    {"limits.max_silences", RS_CONF_INT,
     offsetof(router_conf_t, max_silences), "1000", 1, 1000000, NULL,
     "Silences kept per partition"},
    {"limits.max_clock_skew_ms", RS_CONF_INT,
     offsetof(router_conf_t, max_clock_skew_ms), "300000", 0, 86400000,
     NULL, "Issue versions this far ahead of their Kafka timestamp are "
     "dead-lettered"},
    RS_CONF_END};
/* clang-format on */

enum { DLV_PENDING, DLV_DELIVERED, DLV_FAILED };
static const char *const dlv_name[] = {"pending", "delivered", "failed"};

typedef struct channel_s {
        char *name;
        char *url;
} channel_t;

typedef struct delivery_s {
        struct delivery_s *next;
        char               alert_id[33];
        size_t             chan; /* index in router_t.chans */
        char              *payload;
        int64_t            attempts;
        int64_t            next_attempt_ms; /* wall clock */
        int64_t            delivered_ms;
        char              *last_error;
        int                state;
        int                dirty;
} delivery_t;

/* A new alerts row, until its checkpoint committed. */
typedef struct staged_s {
        struct staged_s *next;
        int32_t          partition;
        char             alert_id[33], dedup_key[33];
        char            *tenant, *channel, *group_key, *title, *summary;
        const char      *kind, *status, *severity;
        char            *issue_ids; /* PostgreSQL array literal */
        int64_t          seq, created_ms;
        char            *payload; /* NULL: nothing to deliver */
} staged_t;

typedef struct part_s {
        int32_t        partition;
        rs_alerting_t *eng;
        int64_t        ev_max; /* newest updated_at fed, -1: none */
        int64_t        anchor; /* monotonic ms when ev_max was set */
        int64_t        clock;  /* engine time of the last feed or tick */
        int            dirty;  /* state rows to rewrite */
        delivery_t    *queue;
} part_t;

struct router_s {
        const router_conf_t *conf;
        rs_stream_t         *stream;
        rs_avro_registry_t  *reg;
        rs_avro_decoder_t   *dec;
        rs_avro_encoder_t   *enc;
        rs_alerting_conf_t   aconf;
        int64_t              horizon;
        channel_t            chans[MAX_CHANNELS];
        size_t               nchans;
        part_t             **parts; /* by partition number */
        int32_t              part_cap;
        staged_t            *staged, **staged_tail;
        size_t               staged_cnt;
        int64_t              last_refresh; /* monotonic */
        int                  refresh_due;
        int                  fatal;
        char                *json;
        size_t               json_size;
        rs_pg_batch_t       *b_groups, *b_issues;
        rs_counter_t        *c_issues, *c_duplicates, *c_overflow, *c_sent,
            *c_silenced, *c_inhibited, *c_delivered, *c_retries, *c_failed;
};

static void oom(void) __attribute__((noreturn));
static void oom(void) {
        rs_log_error("out of memory");
        abort();
}

static char *xstrdup(const char *s) {
        char *d = strdup(s ? s : "");
        if (!d)
                oom();
        return d;
}

static int64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t max64(int64_t a, int64_t b) {
        return a > b ? a : b;
}

static int chan_find(const router_t *r, const char *name) {
        size_t i;

        for (i = 0; i < r->nchans; i++)
                if (!strcmp(r->chans[i].name, name))
                        return (int)i;
        return -1;
}

/*
 * Notices.
 */

/* '{"a","b"}' with " and \ escaped. Caller frees. */
static char *pg_array(const rs_alerting_notice_t *n) {
        size_t i, len = 3;
        char  *out, *o;

        for (i = 0; i < n->entry_cnt; i++)
                len += 2 * strlen(n->entries[i].issue_id) + 3;
        if (!(out = malloc(len)))
                oom();
        o    = out;
        *o++ = '{';
        for (i = 0; i < n->entry_cnt; i++) {
                const char *s = n->entries[i].issue_id;
                if (i)
                        *o++ = ',';
                *o++ = '"';
                for (; *s; s++) {
                        if (*s == '"' || *s == '\\')
                                *o++ = '\\';
                        *o++ = *s;
                }
                *o++ = '"';
        }
        *o++ = '}';
        *o   = '\0';
        return out;
}

static char *notice_json(router_t *r, const rs_alerting_notice_t *n) {
        size_t len = rs_alerting_notice_json(n, r->json, r->json_size);

        if (len >= r->json_size) {
                free(r->json);
                r->json_size = len + 1024;
                if (!(r->json = malloc(r->json_size)))
                        oom();
                len = rs_alerting_notice_json(n, r->json, r->json_size);
        }
        if (!len)
                oom();
        return xstrdup(r->json);
}

static void produce_alert(router_t *r, const rs_alerting_notice_t *n) {
        static rs_alert_t al; /* large: the issue id array */
        const void       *buf;
        size_t            i, len;
        char              err[512];

        memset(&al, 0, sizeof(al));
        al.alert_id      = n->alert_id;
        al.issue_id      = n->entries[0].issue_id;
        al.tenant_id     = n->tenant_id;
        al.channel       = n->channel;
        al.kind          = rs_alerting_kind_name(n->kind);
        al.severity      = rs_alerting_severity_name(n->severity);
        al.title         = n->title;
        al.summary       = n->summary;
        al.group_key     = n->group_key;
        al.created_at_ms = n->created_at_ms;
        for (i = 0; i < n->entry_cnt && i < RS_EVENT_MAX_ALERT_ISSUES; i++)
                al.issue_ids[i] = n->entries[i].issue_id;
        al.issue_id_cnt = i;
        if (rs_alert_write(rs_avro_encoder_value(r->enc), &al) == -1 ||
            rs_avro_encoder_encode(r->enc, &buf, &len, err, sizeof(err)) ==
                -1 ||
            rs_kafka_produce(rs_stream_producer(r->stream),
                             r->conf->alerts_topic, n->tenant_id,
                             strlen(n->tenant_id), buf, len, NULL, err,
                             sizeof(err)) == -1) {
                /* The position must not pass it: exit and replay. */
                rs_log_error("producing alert %s: %s", n->alert_id, err);
                r->fatal = 1;
        }
}

static void handle_notice(router_t *r, part_t *p,
                          const rs_alerting_notice_t *n) {
        staged_t *s = calloc(1, sizeof(*s));
        int       ch;

        if (!s)
                oom();
        s->partition = p->partition;
        memcpy(s->alert_id, n->alert_id, sizeof(s->alert_id));
        memcpy(s->dedup_key, n->dedup_key, sizeof(s->dedup_key));
        s->tenant     = xstrdup(n->tenant_id);
        s->channel    = xstrdup(n->channel);
        s->group_key  = xstrdup(n->group_key);
        s->title      = xstrdup(n->title);
        s->summary    = xstrdup(n->summary);
        s->kind       = rs_alerting_kind_name(n->kind);
        s->status     = rs_alerting_status_name(n->status);
        s->severity   = rs_alerting_severity_name(n->severity);
        s->issue_ids  = pg_array(n);
        s->seq        = n->seq;
        s->created_ms = n->created_at_ms;
        if (n->status == RS_ALERTING_SENT) {
                produce_alert(r, n);
                ch = chan_find(r, n->channel);
                if (ch >= 0 && r->chans[ch].url)
                        s->payload = notice_json(r, n);
                rs_counter_add(r->c_sent, 1);
        } else {
                rs_counter_add(n->status == RS_ALERTING_SILENCED
                                   ? r->c_silenced
                                   : r->c_inhibited,
                               1);
        }
        *r->staged_tail = s;
        r->staged_tail  = &s->next;
        r->staged_cnt++;
}

static void staged_free(staged_t *s) {
        free(s->tenant);
        free(s->channel);
        free(s->group_key);
        free(s->title);
        free(s->summary);
        free(s->issue_ids);
        free(s->payload);
        free(s);
}

/*
 * The clock (router.h "Time").
 */
static void tick(router_t *r, part_t *p, int64_t t) {
        const rs_alerting_notice_t *ns;
        size_t                      cnt, i;

        t = max64(t, p->clock);
        if (rs_alerting_tick(p->eng, t, &ns, &cnt) == RS_ALERTING_ENOMEM)
                oom();
        for (i = 0; i < cnt; i++)
                handle_notice(r, p, &ns[i]);
        p->clock = t;
        p->dirty = 1;
}

/* Ticks at every due time up to \p target. */
static void advance_to(router_t *r, part_t *p, int64_t target) {
        int guard;

        for (guard = 0; guard < 1000000; guard++) {
                int64_t d = rs_alerting_next_due(p->eng);
                if (d == INT64_MAX || d > target)
                        return;
                d = max64(d, p->clock);
                tick(r, p, d);
                if (rs_alerting_next_due(p->eng) <= d) {
                        /* No progress at d (a lower bound): take the rest
                         * at the target. */
                        if (target > d)
                                tick(r, p, target);
                        return;
                }
        }
}

/*
 * Input.
 */
static void on_message(void *opaque, rs_stream_part_t *sp,
                       const rd_kafka_message_t *msg, int replay) {
        router_t                 *r = opaque;
        part_t                   *p = sp->state;
        rs_issue_t                is;
        avro_value_t             *val;
        char                      err[512];
        const char               *reason;
        rd_kafka_timestamp_type_t tstype;
        int64_t msg_ts = rd_kafka_message_timestamp(msg, &tstype);
        int64_t now;
        int     rc;

        rc = rs_avro_decoder_decode(r->dec, msg->payload, msg->len, &val, err,
                                    sizeof(err));
        if (rc) {
                rs_stream_dlq(r->stream, msg, rs_avro_err_reason(rc), err,
                              replay);
                return;
        }
        if (rs_issue_read(val, &is, err, sizeof(err)) == -1) {
                rs_stream_dlq(r->stream, msg, "invalid_issue", err, replay);
                return;
        }
        if ((reason = rs_event_check_tenant(is.tenant_id, err, sizeof(err))) ||
            (reason = rs_event_check_time_rate(is.updated_at_ms, msg_ts,
                                               r->conf->max_clock_skew_ms, 1.0,
                                               err, sizeof(err)))) {
                rs_stream_dlq(r->stream, msg, reason, err, replay);
                return;
        }
        now = max64(p->clock, is.updated_at_ms);
        advance_to(r, p, now);
        rc = rs_alerting_feed(p->eng, &is, now);
        switch (rc) {
        case RS_ALERTING_ACCEPTED:
                rs_counter_add(r->c_issues, 1);
                break;
        case RS_ALERTING_DUPLICATE:
        case RS_ALERTING_STALE:
                rs_counter_add(r->c_duplicates, 1);
                break;
        case RS_ALERTING_OVERFLOW:
                rs_counter_add(r->c_overflow, 1);
                rs_log_warn("issue %s of %s not tracked: limits.max_issues "
                            "or limits.max_groups reached",
                            is.issue_id, is.tenant_id);
                break;
        case RS_ALERTING_ENOMEM:
                oom();
        default:
                snprintf(err, sizeof(err),
                         "issue %s: empty id, unknown severity or state, or "
                         "negative version",
                         is.issue_id);
                rs_stream_dlq(r->stream, msg, "invalid_issue", err, replay);
                return;
        }
        p->clock = now;
        p->dirty = 1;
        if (is.updated_at_ms > p->ev_max) {
                p->ev_max = is.updated_at_ms;
                p->anchor = mono_ms();
        }
}

/*
 * Delivery.
 */
static void deliver(router_t *r, part_t *p) {
        char        blocked[MAX_CHANNELS] = {0};
        delivery_t *d;
        int64_t     attempts = 0, now = rs_stream_now_ms();
        char        err[512];

        for (d = p->queue; d; d = d->next) {
                int rc;
                if (d->state != DLV_PENDING || blocked[d->chan])
                        continue;
                if (d->next_attempt_ms > now ||
                    attempts >= r->conf->delivery_max_attempts) {
                        blocked[d->chan] = 1;
                        continue;
                }
                attempts++;
                err[0] = '\0';
                rc     = webhook_post(r->chans[d->chan].url, d->alert_id,
                                      d->payload, strlen(d->payload),
                                      (int)r->conf->delivery_timeout_ms, err,
                                      sizeof(err));
                d->attempts++;
                d->dirty = 1;
                now      = rs_stream_now_ms();
                free(d->last_error);
                d->last_error = rc == WEBHOOK_OK ? NULL : xstrdup(err);
                if (rc == WEBHOOK_OK) {
                        d->state        = DLV_DELIVERED;
                        d->delivered_ms = now;
                        rs_counter_add(r->c_delivered, 1);
                } else if (rc == WEBHOOK_PERMANENT) {
                        d->state = DLV_FAILED;
                        rs_counter_add(r->c_failed, 1);
                        rs_log_error("alert %s refused by channel %s: %s",
                                     d->alert_id, r->chans[d->chan].name, err);
                } else {
                        int64_t back = r->conf->delivery_initial_backoff_ms;
                        int64_t k    = 1;
                        for (; k < d->attempts &&
                               back < r->conf->delivery_max_backoff_ms;
                             k++)
                                back *= 2;
                        if (back > r->conf->delivery_max_backoff_ms)
                                back = r->conf->delivery_max_backoff_ms;
                        d->next_attempt_ms = now + back;
                        blocked[d->chan]   = 1;
                        rs_counter_add(r->c_retries, 1);
                        rs_log_warn("alert %s to channel %s, attempt %" PRId64
                                    " failed (%s): retry in %" PRId64 " ms",
                                    d->alert_id, r->chans[d->chan].name,
                                    d->attempts, err, back);
                }
        }
}

static int on_emit(void *opaque, rs_stream_part_t *sp) {
        router_t   *r = opaque;
        part_t     *p = sp->state;
        delivery_t *d;
        int         n;

        if (r->fatal)
                return -1;
        if (p->ev_max >= 0) {
                if (!r->conf->stream.until_eof)
                        advance_to(
                            r, p,
                            max64(p->clock, p->ev_max + mono_ms() - p->anchor));
                else if (sp->eof)
                        advance_to(r, p, p->ev_max + r->horizon);
        }
        if (r->fatal)
                return -1;
        deliver(r, p);
        if (mono_ms() - r->last_refresh >= r->conf->silence_refresh_ms)
                r->refresh_due = 1;
        n = (int)r->staged_cnt + p->dirty + r->refresh_due;
        for (d = p->queue; d; d = d->next)
                n += d->dirty;
        return n;
}

/*
 * PostgreSQL.
 */
static const char *const group_cols[] = {
    "group_id",          "group_key",     "channel",
    "partition",         "tenant_id",     "phase",
    "epoch_issue_id",    "epoch_ms",      "seq",
    "created_ms",        "next_flush_ms", "last_sent_ms",
    "cooldown_until_ms", "held_since_ms"};
static const char *const issue_cols[] = {
    "group_id",      "issue_id",       "partition",    "tenant_id",
    "kind",          "route",          "segment_type", "segment_value",
    "metric",        "severity",       "state",        "title",
    "observed",      "baseline",       "threshold",    "opened_at_ms",
    "updated_at_ms", "resolved_at_ms", "version",      "resolved_seen_ms",
    "notified"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

typedef struct export_ctx_s {
        router_t *r;
        part_t   *p;
} export_ctx_t;

static int export_group(const rs_alerting_group_row_t *g, void *opaque) {
        export_ctx_t  *x = opaque;
        rs_pg_batch_t *b = x->r->b_groups;

        rs_pg_batch_str(b, x->r->conf->stream.group_id);
        rs_pg_batch_str(b, g->group_key);
        rs_pg_batch_str(b, g->channel);
        rs_pg_batch_i64(b, x->p->partition);
        rs_pg_batch_str(b, g->tenant_id);
        rs_pg_batch_str(b, g->phase);
        rs_pg_batch_str(b, g->epoch_issue_id);
        rs_pg_batch_i64(b, g->epoch_ms);
        rs_pg_batch_i64(b, g->seq);
        rs_pg_batch_i64(b, g->created_ms);
        rs_pg_batch_i64(b, g->next_flush_ms);
        rs_pg_batch_i64(b, g->last_sent_ms);
        rs_pg_batch_i64(b, g->cooldown_until_ms);
        rs_pg_batch_i64(b, g->held_since_ms);
        return rs_pg_batch_row_end(b);
}

static int export_issue(const rs_alerting_issue_row_t *i, void *opaque) {
        export_ctx_t  *x = opaque;
        rs_pg_batch_t *b = x->r->b_issues;

        rs_pg_batch_str(b, x->r->conf->stream.group_id);
        rs_pg_batch_str(b, i->issue_id);
        rs_pg_batch_i64(b, x->p->partition);
        rs_pg_batch_str(b, i->tenant_id);
        rs_pg_batch_str(b, i->kind);
        rs_pg_batch_str(b, i->route);
        rs_pg_batch_str(b, i->segment_type);
        rs_pg_batch_str(b, i->segment_value);
        rs_pg_batch_str(b, i->metric);
        rs_pg_batch_str(b, i->severity);
        rs_pg_batch_str(b, i->state);
        rs_pg_batch_str(b, i->title);
        rs_pg_batch_f64(b, i->observed);
        rs_pg_batch_f64(b, i->baseline);
        rs_pg_batch_f64(b, i->threshold);
        rs_pg_batch_i64(b, i->opened_at_ms);
        rs_pg_batch_i64(b, i->updated_at_ms);
        rs_pg_batch_i64(b, i->resolved_at_ms);
        rs_pg_batch_i64(b, i->version);
        rs_pg_batch_i64(b, i->resolved_seen_ms);
        rs_pg_batch_str(b, i->notified);
        return rs_pg_batch_row_end(b);
}

static int exec_params(rs_pg_t *pg, const char *sql, int n,
                       const char *const *vals, char *errstr,
                       size_t errstr_size) {
        PGresult *res = rs_pg_query(pg, sql, n, vals, errstr, errstr_size);

        if (!res)
                return -1;
        PQclear(res);
        return 0;
}

static void import_silences(part_t *p, PGresult *res) {
        int row;

        for (row = 0; row < PQntuples(res); row++) {
                rs_alerting_silence_t s;
                char                  err[256];
                int                   rc;
                s.id         = PQgetvalue(res, row, 0);
                s.tenant_id  = PQgetvalue(res, row, 1);
                s.route      = PQgetvalue(res, row, 2);
                s.kind       = PQgetvalue(res, row, 3);
                s.severity   = PQgetvalue(res, row, 4);
                s.starts_ms  = strtoll(PQgetvalue(res, row, 5), NULL, 10);
                s.ends_ms    = strtoll(PQgetvalue(res, row, 6), NULL, 10);
                s.comment    = PQgetvalue(res, row, 7);
                s.created_by = PQgetvalue(res, row, 8);
                s.created_ms = strtoll(PQgetvalue(res, row, 9), NULL, 10);
                if (s.ends_ms <= s.starts_ms) {
                        /* expired before it started */
                        rs_alerting_silence_expire(p->eng, s.id,
                                                   max64(p->clock, 0));
                        continue;
                }
                rc = rs_alerting_silence_add(p->eng, &s, max64(p->clock, 0),
                                             NULL, err, sizeof(err));
                if (rc == RS_ALERTING_ENOMEM)
                        oom();
                if (rc)
                        rs_log_warn("silence %s not applied: %s", s.id, err);
        }
}

/* Imports the silences of alerting_silences into \p only, or into every
 * partition's engine when NULL. */
static int load_silences(router_t *r, part_t *only, rs_pg_t *pg, char *errstr,
                         size_t errstr_size) {
        char        since[32];
        const char *vals[1] = {since};
        PGresult   *res;
        int32_t     k;

        snprintf(since, sizeof(since), "%" PRId64,
                 rs_stream_now_ms() - r->conf->silence_retention_ms);
        res = rs_pg_query(pg,
                          "SELECT id, tenant_id, route, kind, severity, "
                          "starts_ms, ends_ms, comment, created_by, "
                          "created_ms FROM alerting_silences WHERE ends_ms > "
                          "$1::bigint ORDER BY id",
                          1, vals, errstr, errstr_size);
        if (!res)
                return -1;
        for (k = only ? -1 : 0; k < (only ? 0 : r->part_cap); k++) {
                part_t *p = only ? only : r->parts[k];
                if (p)
                        import_silences(p, res);
        }
        PQclear(res);
        return 0;
}

static int write_alert(rs_pg_t *pg, const staged_t *s, char *errstr,
                       size_t errstr_size) {
        char        part[16], seq[24], created[40];
        const char *vals[16];

        snprintf(part, sizeof(part), "%" PRId32, s->partition);
        snprintf(seq, sizeof(seq), "%" PRId64, s->seq);
        rs_pg_timestamp(s->created_ms, created, sizeof(created));
        vals[0]  = s->alert_id;
        vals[1]  = s->tenant;
        vals[2]  = s->channel;
        vals[3]  = s->kind;
        vals[4]  = s->status;
        vals[5]  = s->severity;
        vals[6]  = s->title;
        vals[7]  = s->summary;
        vals[8]  = s->group_key;
        vals[9]  = s->dedup_key;
        vals[10] = seq;
        vals[11] = created;
        vals[12] = s->issue_ids;
        vals[13] = part;
        vals[14] = s->payload ? "pending" : "none";
        vals[15] = s->payload;
        return exec_params(
            pg,
            "INSERT INTO alerts (alert_id, tenant_id, channel, kind, status, "
            "severity, title, summary, group_key, dedup_key, seq, created_at, "
            "issue_ids, partition, delivery, payload, next_attempt_at) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::bigint, "
            "$12::timestamptz, $13::text[], $14::integer, $15, $16, CASE WHEN "
            "$15 = 'pending' THEN now() END) ON CONFLICT (alert_id) DO NOTHING",
            16, vals, errstr, errstr_size);
}

static int write_delivery(rs_pg_t *pg, const delivery_t *d, char *errstr,
                          size_t errstr_size) {
        char        attempts[24], next[40], done[40];
        const char *vals[6];

        snprintf(attempts, sizeof(attempts), "%" PRId64, d->attempts);
        rs_pg_timestamp(d->next_attempt_ms, next, sizeof(next));
        rs_pg_timestamp(d->delivered_ms, done, sizeof(done));
        vals[0] = d->alert_id;
        vals[1] = dlv_name[d->state];
        vals[2] = attempts;
        vals[3] = d->last_error;
        vals[4] = d->state == DLV_PENDING ? next : NULL;
        vals[5] = d->state == DLV_DELIVERED ? done : NULL;
        return exec_params(pg,
                           "UPDATE alerts SET delivery = $2, attempts = "
                           "$3::integer, last_error = $4, next_attempt_at = "
                           "$5::timestamptz, delivered_at = $6::timestamptz "
                           "WHERE alert_id = $1",
                           6, vals, errstr, errstr_size);
}

static int write_state(router_t *r, part_t *p, rs_pg_t *pg, char *errstr,
                       size_t errstr_size) {
        char         part[16], ev[24], clock[24];
        const char  *vals[4] = {r->conf->stream.group_id, part, ev, clock};
        export_ctx_t x       = {r, p};
        int          rc;

        snprintf(part, sizeof(part), "%" PRId32, p->partition);
        snprintf(ev, sizeof(ev), "%" PRId64, p->ev_max);
        snprintf(clock, sizeof(clock), "%" PRId64, p->clock);
        if (exec_params(pg,
                        "DELETE FROM alerting_groups WHERE group_id = $1 AND "
                        "partition = $2::integer",
                        2, vals, errstr, errstr_size) == -1 ||
            exec_params(pg,
                        "DELETE FROM alerting_issues WHERE group_id = $1 AND "
                        "partition = $2::integer",
                        2, vals, errstr, errstr_size) == -1 ||
            exec_params(pg,
                        "INSERT INTO alerting_clocks (group_id, partition, "
                        "event_ms, clock_ms) VALUES ($1, $2::integer, "
                        "$3::bigint, $4::bigint) ON CONFLICT (group_id, "
                        "partition) DO UPDATE SET event_ms = "
                        "EXCLUDED.event_ms, clock_ms = EXCLUDED.clock_ms",
                        4, vals, errstr, errstr_size) == -1)
                return -1;
        rs_pg_batch_clear(r->b_groups);
        rs_pg_batch_clear(r->b_issues);
        rc = rs_alerting_export(p->eng, export_group, export_issue, NULL, &x);
        if (rc) {
                snprintf(errstr, errstr_size, "exporting the state failed");
                return -1;
        }
        if ((rs_pg_batch_rows(r->b_groups) > 0 &&
             rs_pg_batch_flush(pg, r->b_groups, errstr, errstr_size) == -1) ||
            (rs_pg_batch_rows(r->b_issues) > 0 &&
             rs_pg_batch_flush(pg, r->b_issues, errstr, errstr_size) == -1))
                return -1;
        return 0;
}

static int on_write(void *opaque, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        router_t   *r = opaque;
        staged_t   *s;
        delivery_t *d;
        int32_t     k;

        if (r->refresh_due &&
            load_silences(r, NULL, pg, errstr, errstr_size) == -1)
                return -1;
        for (s = r->staged; s; s = s->next)
                if (write_alert(pg, s, errstr, errstr_size) == -1)
                        return -1;
        for (k = 0; k < r->part_cap; k++) {
                part_t *p = r->parts[k];
                if (!p)
                        continue;
                for (d = p->queue; d; d = d->next)
                        if (d->dirty &&
                            write_delivery(pg, d, errstr, errstr_size) == -1)
                                return -1;
                if (p->dirty &&
                    write_state(r, p, pg, errstr, errstr_size) == -1)
                        return -1;
        }
        return 0;
}

static void delivery_free(delivery_t *d) {
        free(d->payload);
        free(d->last_error);
        free(d);
}

static void queue_append(part_t *p, delivery_t *d) {
        delivery_t **t = &p->queue;

        while (*t)
                t = &(*t)->next;
        *t = d;
}

static void on_written(void *opaque) {
        router_t *r = opaque;
        staged_t *s, *next;
        int32_t   k;

        for (s = r->staged; s; s = next) {
                part_t *p =
                    s->partition < r->part_cap ? r->parts[s->partition] : NULL;
                next = s->next;
                if (s->payload && p) {
                        delivery_t *d = calloc(1, sizeof(*d));
                        if (!d)
                                oom();
                        memcpy(d->alert_id, s->alert_id, sizeof(d->alert_id));
                        d->chan            = (size_t)chan_find(r, s->channel);
                        d->payload         = s->payload;
                        s->payload         = NULL;
                        d->next_attempt_ms = 0;
                        queue_append(p, d);
                }
                staged_free(s);
        }
        r->staged      = NULL;
        r->staged_tail = &r->staged;
        r->staged_cnt  = 0;
        for (k = 0; k < r->part_cap; k++) {
                part_t      *p = r->parts[k];
                delivery_t **dp;
                if (!p)
                        continue;
                p->dirty = 0;
                for (dp = &p->queue; *dp;) {
                        delivery_t *d = *dp;
                        d->dirty      = 0;
                        if (d->state != DLV_PENDING) {
                                *dp = d->next;
                                delivery_free(d);
                        } else {
                                dp = &d->next;
                        }
                }
        }
        if (r->refresh_due) {
                r->refresh_due  = 0;
                r->last_refresh = mono_ms();
        }
}

/*
 * Partitions: the engine and what is stored of it.
 */
static void part_free(part_t *p) {
        delivery_t *d, *next;

        if (!p)
                return;
        for (d = p->queue; d; d = next) {
                next = d->next;
                delivery_free(d);
        }
        rs_alerting_destroy(p->eng);
        free(p);
}

static const char *opt(PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int64_t i64(PGresult *res, int row, int col) {
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double f64(PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col)
                   ? NAN
                   : strtod(PQgetvalue(res, row, col), NULL);
}

static int part_load(router_t *r, part_t *p, rs_pg_t *pg, char *errstr,
                     size_t errstr_size) {
        char        part[16];
        const char *vals[2] = {r->conf->stream.group_id, part};
        PGresult   *res;
        char        err[256];
        int         row, rc;

        snprintf(part, sizeof(part), "%" PRId32, p->partition);
        if (!(res = rs_pg_query(pg,
                                "SELECT event_ms, clock_ms FROM "
                                "alerting_clocks WHERE group_id = $1 AND "
                                "partition = $2::integer",
                                2, vals, errstr, errstr_size)))
                return -1;
        if (PQntuples(res) == 1) {
                p->ev_max = i64(res, 0, 0);
                p->clock  = i64(res, 0, 1);
                p->anchor = mono_ms();
        }
        PQclear(res);

        if (!(res = rs_pg_query(
                  pg,
                  "SELECT group_key, channel, tenant_id, phase, "
                  "epoch_issue_id, epoch_ms, seq, created_ms, next_flush_ms, "
                  "last_sent_ms, cooldown_until_ms, held_since_ms FROM "
                  "alerting_groups WHERE group_id = $1 AND partition = "
                  "$2::integer ORDER BY group_key, channel",
                  2, vals, errstr, errstr_size)))
                return -1;
        for (row = 0; row < PQntuples(res); row++) {
                rs_alerting_group_row_t g;
                g.group_key         = PQgetvalue(res, row, 0);
                g.channel           = PQgetvalue(res, row, 1);
                g.tenant_id         = PQgetvalue(res, row, 2);
                g.phase             = PQgetvalue(res, row, 3);
                g.epoch_issue_id    = PQgetvalue(res, row, 4);
                g.epoch_ms          = i64(res, row, 5);
                g.seq               = i64(res, row, 6);
                g.created_ms        = i64(res, row, 7);
                g.next_flush_ms     = i64(res, row, 8);
                g.last_sent_ms      = i64(res, row, 9);
                g.cooldown_until_ms = i64(res, row, 10);
                g.held_since_ms     = i64(res, row, 11);
                rc = rs_alerting_import_group(p->eng, &g, err, sizeof(err));
                if (rc == RS_ALERTING_ENOMEM)
                        oom();
                if (rc != RS_ALERTING_ACCEPTED)
                        rs_log_warn("state of group %s / %s not restored: %s",
                                    g.group_key, g.channel,
                                    rc == RS_ALERTING_OVERFLOW ? "limits"
                                                               : err);
        }
        PQclear(res);

        if (!(res = rs_pg_query(
                  pg,
                  "SELECT issue_id, tenant_id, kind, route, segment_type, "
                  "segment_value, metric, severity, state, title, observed, "
                  "baseline, threshold, opened_at_ms, updated_at_ms, "
                  "resolved_at_ms, version, resolved_seen_ms, notified FROM "
                  "alerting_issues WHERE group_id = $1 AND partition = "
                  "$2::integer ORDER BY issue_id",
                  2, vals, errstr, errstr_size)))
                return -1;
        for (row = 0; row < PQntuples(res); row++) {
                rs_alerting_issue_row_t i;
                i.issue_id         = PQgetvalue(res, row, 0);
                i.tenant_id        = PQgetvalue(res, row, 1);
                i.kind             = PQgetvalue(res, row, 2);
                i.route            = opt(res, row, 3);
                i.segment_type     = opt(res, row, 4);
                i.segment_value    = opt(res, row, 5);
                i.metric           = opt(res, row, 6);
                i.severity         = PQgetvalue(res, row, 7);
                i.state            = PQgetvalue(res, row, 8);
                i.title            = PQgetvalue(res, row, 9);
                i.observed         = f64(res, row, 10);
                i.baseline         = f64(res, row, 11);
                i.threshold        = f64(res, row, 12);
                i.opened_at_ms     = i64(res, row, 13);
                i.updated_at_ms    = i64(res, row, 14);
                i.resolved_at_ms   = i64(res, row, 15);
                i.version          = i64(res, row, 16);
                i.resolved_seen_ms = i64(res, row, 17);
                i.notified         = PQgetvalue(res, row, 18);
                rc = rs_alerting_import_issue(p->eng, &i, err, sizeof(err));
                if (rc == RS_ALERTING_ENOMEM)
                        oom();
                if (rc != RS_ALERTING_ACCEPTED)
                        rs_log_warn(
                            "state of issue %s not restored: %s", i.issue_id,
                            rc == RS_ALERTING_OVERFLOW ? "limits" : err);
        }
        PQclear(res);

        if (load_silences(r, p, pg, errstr, errstr_size) == -1)
                return -1;

        /* Deliveries that were pending when the last owner stopped. */
        if (!(res = rs_pg_query(pg,
                                "SELECT alert_id, channel, payload, attempts, "
                                "last_error, (extract(epoch FROM "
                                "next_attempt_at) * 1000)::bigint FROM "
                                "alerts WHERE partition = $2::integer AND "
                                "delivery = 'pending' AND $1 <> '' ORDER BY "
                                "created_at, group_key, channel, seq",
                                2, vals, errstr, errstr_size)))
                return -1;
        for (row = 0; row < PQntuples(res); row++) {
                int         ch = chan_find(r, PQgetvalue(res, row, 1));
                delivery_t *d;
                if (ch < 0 || !r->chans[ch].url || PQgetisnull(res, row, 2))
                        continue; /* stays pending: no URL now */
                if (!(d = calloc(1, sizeof(*d))))
                        oom();
                snprintf(d->alert_id, sizeof(d->alert_id), "%s",
                         PQgetvalue(res, row, 0));
                d->chan     = (size_t)ch;
                d->payload  = xstrdup(PQgetvalue(res, row, 2));
                d->attempts = i64(res, row, 3);
                d->last_error =
                    opt(res, row, 4) ? xstrdup(opt(res, row, 4)) : NULL;
                d->next_attempt_ms =
                    PQgetisnull(res, row, 5) ? 0 : i64(res, row, 5);
                queue_append(p, d);
        }
        PQclear(res);
        return 0;
}

static int on_part_open(void *opaque, rs_stream_part_t *sp, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        router_t *r = opaque;
        part_t   *p = calloc(1, sizeof(*p));

        if (!p)
                oom();
        p->partition = sp->partition;
        p->ev_max    = -1;
        p->clock     = -1;
        if (!(p->eng = rs_alerting_new(&r->aconf, errstr, errstr_size))) {
                free(p);
                return -1;
        }
        if (part_load(r, p, pg, errstr, errstr_size) == -1) {
                part_free(p);
                return -1;
        }
        if (sp->partition >= r->part_cap) {
                int32_t  n  = sp->partition + 16;
                part_t **np = realloc(r->parts, (size_t)n * sizeof(*np));
                if (!np)
                        oom();
                memset(np + r->part_cap, 0,
                       (size_t)(n - r->part_cap) * sizeof(*np));
                r->parts    = np;
                r->part_cap = n;
        }
        part_free(r->parts[sp->partition]);
        r->parts[sp->partition] = p;
        sp->state               = p;
        return 0;
}

static void on_part_close(void *opaque, rs_stream_part_t *sp) {
        router_t *r = opaque;
        part_t   *p = sp->state;

        /* What is not stored is replayed by the next owner; its pending
         * deliveries are in the table. */
        if (p && p->partition < r->part_cap && r->parts[p->partition] == p)
                r->parts[p->partition] = NULL;
        part_free(p);
        sp->state = NULL;
}

static const rs_stream_ops_t router_ops = {
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

/* "name=url; name=url" (";", "," or newlines between entries). */
static int parse_channels(router_t *r, const char *text, char *errstr,
                          size_t errstr_size) {
        const char *p = text ? text : "";

        while (*p) {
                const char *end, *eq;
                char        name[RS_ALERTING_CHANNEL_MAX], url[1024];
                size_t      nlen, ulen;

                p += strspn(p, " \t\r\n;,");
                if (!*p)
                        break;
                end = p + strcspn(p, ";,\n");
                eq  = memchr(p, '=', (size_t)(end - p));
                if (!eq) {
                        snprintf(errstr, errstr_size,
                                 "channels: \"%.*s\" is not name=url",
                                 (int)(end - p), p);
                        return -1;
                }
                nlen = (size_t)(eq - p);
                while (nlen && (p[nlen - 1] == ' ' || p[nlen - 1] == '\t'))
                        nlen--;
                eq++;
                eq += strspn(eq, " \t");
                ulen = (size_t)(end - eq);
                while (ulen && strchr(" \t\r", eq[ulen - 1]))
                        ulen--;
                if (!nlen || nlen >= sizeof(name) || !ulen ||
                    ulen >= sizeof(url)) {
                        snprintf(errstr, errstr_size,
                                 "channels: bad entry \"%.*s\"", (int)(end - p),
                                 p);
                        return -1;
                }
                memcpy(name, p, nlen);
                name[nlen] = '\0';
                memcpy(url, eq, ulen);
                url[ulen] = '\0';
                if (chan_find(r, name) >= 0 || r->nchans == MAX_CHANNELS) {
                        snprintf(errstr, errstr_size,
                                 "channels: %s listed twice, or more than %d "
                                 "channels",
                                 name, MAX_CHANNELS);
                        return -1;
                }
                if (webhook_url_check(url, errstr, errstr_size) == -1)
                        return -1;
                r->chans[r->nchans].name = xstrdup(name);
                r->chans[r->nchans].url  = xstrdup(url);
                r->nchans++;
                p = end;
        }
        return 0;
}

static int setup_channels(router_t *r, char *errstr, size_t errstr_size) {
        rs_alerting_routes_t *routes;
        size_t                i, n, configured;

        if (parse_channels(r, r->conf->channels, errstr, errstr_size) == -1 ||
            !(routes = rs_alerting_routes_parse(r->conf->routes, errstr,
                                                errstr_size)))
                return -1;
        configured = r->nchans;
        n          = rs_alerting_routes_channel_cnt(routes);
        for (i = 0; i < n; i++) {
                const char *name = rs_alerting_routes_channel(routes, i);
                if (chan_find(r, name) >= 0)
                        continue;
                if (r->nchans == MAX_CHANNELS) {
                        snprintf(errstr, errstr_size, "more than %d channels",
                                 MAX_CHANNELS);
                        rs_alerting_routes_destroy(routes);
                        return -1;
                }
                r->chans[r->nchans++].name = xstrdup(name);
        }
        for (i = 0; i < configured; i++) {
                size_t k;
                for (k = 0; k < n; k++)
                        if (!strcmp(rs_alerting_routes_channel(routes, k),
                                    r->chans[i].name))
                                break;
                if (k == n)
                        rs_log_warn("channel %s has a webhook but no route "
                                    "names it",
                                    r->chans[i].name);
        }
        rs_alerting_routes_destroy(routes);
        return 0;
}

/* What the configuration table cannot check: group_by, the routes (a
 * probe engine parses them) and the channels. No connection. */
static int setup(router_t *r, char *errstr, size_t errstr_size) {
        const router_conf_t *conf = r->conf;
        rs_alerting_t       *probe;

        r->staged_tail = &r->staged;
        rs_alerting_conf_defaults(&r->aconf);
        r->aconf.routes = conf->routes;
        if (rs_alerting_group_by_parse(conf->group_by, &r->aconf.group_by)) {
                snprintf(errstr, errstr_size,
                         "group_by: '%s' is not tenant+route, tenant or "
                         "tenant+kind",
                         conf->group_by);
                return -1;
        }
        r->aconf.group_wait_ms        = conf->group_wait_ms;
        r->aconf.group_interval_ms    = conf->group_interval_ms;
        r->aconf.repeat_interval_ms   = conf->repeat_interval_ms;
        r->aconf.cooldown_ms          = conf->cooldown_ms;
        r->aconf.silence_retention_ms = conf->silence_retention_ms;
        r->aconf.max_groups           = (size_t)conf->max_groups;
        r->aconf.max_issues           = (size_t)conf->max_issues;
        r->aconf.max_silences         = (size_t)conf->max_silences;
        r->horizon = max64(conf->group_wait_ms, conf->group_interval_ms) +
                     conf->cooldown_ms;
        if (!(probe = rs_alerting_new(&r->aconf, errstr, errstr_size)))
                return -1;
        rs_alerting_destroy(probe);
        return setup_channels(r, errstr, errstr_size);
}

int router_conf_check(const router_conf_t *conf, char *errstr,
                      size_t errstr_size) {
        router_t *r = calloc(1, sizeof(*r));
        int       rc;

        if (!r) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        r->conf = conf;
        rc      = setup(r, errstr, errstr_size);
        router_destroy(r);
        return rc;
}

router_t *router_new(const router_conf_t *conf, char *errstr,
                     size_t errstr_size) {
        router_t     *r = calloc(1, sizeof(*r));
        rs_metrics_t *m;
        size_t        i;

        if (!r) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        r->conf = conf;
        if (setup(r, errstr, errstr_size) == -1)
                goto fail;
        for (i = 0; i < r->nchans; i++)
                if (!r->chans[i].url)
                        rs_log_info("channel %s has no webhook: its alerts "
                                    "are recorded only",
                                    r->chans[i].name);
        if (rs_event_check_schemas(errstr, errstr_size) == -1 ||
            !(r->reg = rs_avro_registry_new(errstr, errstr_size)) ||
            !(r->dec = rs_avro_decoder_new(r->reg, RS_SCHEMA_ID_ISSUE, errstr,
                                           errstr_size)) ||
            !(r->enc = rs_avro_encoder_new(r->reg, RS_SCHEMA_ID_ALERT, errstr,
                                           errstr_size)))
                goto fail;
        r->b_groups = rs_pg_batch_new("alerting_groups", group_cols,
                                      NCOLS(group_cols), 3);
        r->b_issues = rs_pg_batch_new("alerting_issues", issue_cols,
                                      NCOLS(issue_cols), 2);
        if (!r->b_groups || !r->b_issues) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        r->last_refresh = mono_ms();
        r->stream = rs_stream_new(PROCESSOR, &conf->stream, &router_ops, r,
                                  errstr, errstr_size);
        if (!r->stream)
                goto fail;

        m               = rs_stream_metrics(r->stream);
        r->c_issues     = rs_metrics_counter(m, "alert_issues_total",
                                             "Issue versions accepted", NULL);
        r->c_duplicates = rs_metrics_counter(
            m, "alert_issues_duplicate_total",
            "Issue versions already seen (replays) or older", NULL);
        r->c_overflow = rs_metrics_counter(
            m, "alert_issues_overflow_total",
            "Issue versions refused at limits.max_issues / max_groups", NULL);
        r->c_sent     = rs_metrics_counter(m, "alerts_sent_total",
                                           "Notices sent (alerts topic)", NULL);
        r->c_silenced = rs_metrics_counter(
            m, "alerts_silenced_total", "Notices recorded as silenced", NULL);
        r->c_inhibited = rs_metrics_counter(
            m, "alerts_inhibited_total", "Notices recorded as inhibited", NULL);
        r->c_delivered = rs_metrics_counter(m, "alert_deliveries_total",
                                            "Webhook deliveries made", NULL);
        r->c_retries   = rs_metrics_counter(
              m, "alert_delivery_retries_total",
              "Webhook attempts that failed and will be retried", NULL);
        r->c_failed = rs_metrics_counter(
            m, "alert_delivery_failures_total",
            "Alerts a webhook refused (delivery failed)", NULL);
        return r;

fail:
        router_destroy(r);
        return NULL;
}

void router_destroy(router_t *r) {
        staged_t *s, *next;
        int32_t   k;
        size_t    i;

        if (!r)
                return;
        rs_stream_destroy(r->stream);
        for (k = 0; k < r->part_cap; k++)
                part_free(r->parts[k]);
        free(r->parts);
        for (s = r->staged; s; s = next) {
                next = s->next;
                staged_free(s);
        }
        for (i = 0; i < r->nchans; i++) {
                free(r->chans[i].name);
                free(r->chans[i].url);
        }
        rs_pg_batch_destroy(r->b_groups);
        rs_pg_batch_destroy(r->b_issues);
        rs_avro_decoder_destroy(r->dec);
        rs_avro_encoder_destroy(r->enc);
        rs_avro_registry_destroy(r->reg);
        free(r->json);
        free(r);
}

int router_run(router_t *r) {
        return rs_stream_run(r->stream);
}

void router_stop(router_t *r) {
        rs_stream_stop(r->stream);
}
