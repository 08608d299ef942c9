/*
 * issues: the issue sink every detector shares. See rumstream/issues.h.
 *
 * Drafts live in slots that are allocated once and never moved: a draft's
 * `is` points into the draft itself, so the array holds pointers to slots
 * and grows (doubling) to the largest checkpoint seen; rs_issues_written()
 * only resets the count, and the next checkpoint reuses the same slots.
 * A slot remembers whether its draft was published: only published
 * versions are pending and written, so a draft a detector started and gave
 * up on never reaches the tables without having reached the topic.
 *
 * At the checkpoint the versions are walked newest first: each issue's
 * first one seen is its newest and goes to `issues`, every version goes to
 * `issue_versions`. One flush needs distinct keys, so a version raised
 * twice in one checkpoint (same id and version number) is written once,
 * as its newest.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/issues.h"
#include "rumstream/log.h"
#include "rumstream/map.h"

/* Room for one evidence entry as JSON: key and value with every byte
 * escaped as \u00XX (the most rs_log_json_escape() makes of a byte), two
 * pairs of quotes, the colon and the comma before it. */
#define ESC_KEY     (6 * (RS_ISSUES_EVIDENCE_KEY - 1) + 1)
#define ESC_VALUE   (6 * (RS_ISSUES_EVIDENCE_VALUE - 1) + 1)
#define JSON_ENTRY  (ESC_KEY + ESC_VALUE + 6)
#define JSON_MAX    (RS_EVENT_MAX_EVIDENCE * JSON_ENTRY + 3)
#define SLOTS_FIRST 64

/* The draft comes first: a draft pointer is its slot's. */
typedef struct slot_s {
        rs_issue_draft_t d;
        int              published;
} slot_t;

struct rs_issues_s {
        rs_avro_encoder_t *enc;
        char              *topic;
        char              *source;
        slot_t           **slots; /* [0, cnt) in use this checkpoint */
        size_t             cnt, cap;
        size_t             pending; /* slots published of [0, cnt) */
        uint64_t           published;
        rs_pg_batch_t     *b_issues, *b_versions;
        char               json[JSON_MAX]; /* evidence of one row */
};

static const char *const issues_cols[] = {
    "issue_id",  "tenant_id",  "kind",        "state",        "severity",
    "title",     "source",     "route",       "segment_type", "segment_value",
    "metric",    "observed",   "baseline",    "threshold",    "sample_size",
    "opened_at", "updated_at", "resolved_at", "version",      "evidence"};
static const char *const versions_cols[] = {
    "issue_id", "version", "state", "severity", "observed", "updated_at"};

#define NCOLS(a) (sizeof(a) / sizeof(*(a)))

static char *xstrdup(const char *s) {
        size_t len = strlen(s) + 1;
        char  *d   = malloc(len);

        return d ? memcpy(d, s, len) : NULL;
}

rs_issues_t *rs_issues_new(rs_avro_registry_t *reg, const char *topic,
                           const char *source, char *errstr,
                           size_t errstr_size) {
        rs_issues_t *iss = calloc(1, sizeof(*iss));

        if (!iss) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!(iss->enc = rs_avro_encoder_new(reg, RS_SCHEMA_ID_ISSUE, errstr,
                                             errstr_size)))
                goto fail;
        iss->topic  = xstrdup(topic);
        iss->source = xstrdup(source);
        iss->b_issues =
            rs_pg_batch_new("issues", issues_cols, NCOLS(issues_cols), 1);
        iss->b_versions = rs_pg_batch_new("issue_versions", versions_cols,
                                          NCOLS(versions_cols), 2);
        if (!iss->topic || !iss->source || !iss->b_issues || !iss->b_versions) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        return iss;

fail:
        rs_issues_destroy(iss);
        return NULL;
}

void rs_issues_destroy(rs_issues_t *iss) {
        size_t i;

        if (!iss)
                return;
        for (i = 0; i < iss->cap; i++)
                free(iss->slots[i]);
        free(iss->slots);
        rs_pg_batch_destroy(iss->b_issues);
        rs_pg_batch_destroy(iss->b_versions);
        rs_avro_encoder_destroy(iss->enc);
        free(iss->topic);
        free(iss->source);
        free(iss);
}

/* The next free slot, cleared; aborts on out of memory like the rest of
 * the per-event path. */
static slot_t *slot_next(rs_issues_t *iss) {
        slot_t *s;

        if (iss->cnt == iss->cap) {
                size_t   n  = iss->cap ? 2 * iss->cap : SLOTS_FIRST;
                slot_t **na = realloc(iss->slots, n * sizeof(*na));
                if (!na) {
                        rs_log_error("out of memory");
                        abort();
                }
                memset(na + iss->cap, 0, (n - iss->cap) * sizeof(*na));
                iss->slots = na;
                iss->cap   = n;
        }
        if (!iss->slots[iss->cnt] &&
            !(iss->slots[iss->cnt] = malloc(sizeof(*s)))) {
                rs_log_error("out of memory");
                abort();
        }
        s = iss->slots[iss->cnt++];
        memset(s, 0, sizeof(*s));
        return s;
}

rs_issue_draft_t *rs_issues_start(rs_issues_t *iss, const char *id,
                                  const char *tenant, const char *kind,
                                  const char *state, const char *severity,
                                  int64_t version, int64_t opened_ms,
                                  int64_t now_ms) {
        rs_issue_draft_t *d  = &slot_next(iss)->d;
        rs_issue_t       *is = &d->is;

        snprintf(d->id, sizeof(d->id), "%s", id);
        snprintf(d->tenant, sizeof(d->tenant), "%s", tenant);
        snprintf(d->kind, sizeof(d->kind), "%s", kind);
        snprintf(d->state, sizeof(d->state), "%s", state);
        snprintf(d->severity, sizeof(d->severity), "%s", severity);
        is->issue_id       = d->id;
        is->tenant_id      = d->tenant;
        is->kind           = d->kind;
        is->state          = d->state;
        is->severity       = d->severity;
        is->title          = d->title;
        is->source         = iss->source;
        is->opened_at_ms   = opened_ms;
        is->updated_at_ms  = now_ms;
        is->resolved_at_ms = !strcmp(state, "resolved") ? now_ms : -1;
        is->version        = version;
        is->observed       = NAN;
        is->baseline       = NAN;
        is->threshold      = NAN;
        is->sample_size    = -1;
        return d;
}

void rs_issue_draft_evidence(rs_issue_draft_t *d, const char *key,
                             const char *fmt, ...) {
        size_t  i = d->is.evidence_cnt;
        va_list ap;

        if (i >= RS_EVENT_MAX_EVIDENCE) {
                d->is.evidence_dropped++;
                return;
        }
        snprintf(d->ev_key[i], sizeof(d->ev_key[i]), "%s", key);
        va_start(ap, fmt);
        vsnprintf(d->ev_value[i], sizeof(d->ev_value[i]), fmt, ap);
        va_end(ap);
        d->is.evidence[i].key   = d->ev_key[i];
        d->is.evidence[i].value = d->ev_value[i];
        d->is.evidence_cnt      = i + 1;
}

int rs_issues_publish(rs_issues_t *iss, rs_kafka_producer_t *p,
                      rs_issue_draft_t *d) {
        slot_t           *s  = (slot_t *)d;
        const rs_issue_t *is = &d->is;
        const void       *buf;
        size_t            len;
        char              err[512];

        if (rs_issue_write(rs_avro_encoder_value(iss->enc), is) == -1) {
                rs_log_error("encoding issue %s: a required string or an "
                             "evidence entry is missing",
                             is->issue_id ? is->issue_id : "(null)");
                return -1;
        }
        if (rs_avro_encoder_encode(iss->enc, &buf, &len, err, sizeof(err)) ==
            -1) {
                rs_log_error("encoding issue %s: %s", is->issue_id, err);
                return -1;
        }
        if (rs_kafka_produce(p, iss->topic, is->tenant_id,
                             strlen(is->tenant_id), buf, len, NULL, err,
                             sizeof(err)) == -1) {
                rs_log_error("%s", err);
                return -1;
        }
        if (!s->published) {
                s->published = 1;
                iss->pending++;
                iss->published++;
        }
        return 0;
}

size_t rs_issues_pending(const rs_issues_t *iss) {
        return iss->pending;
}

uint64_t rs_issues_published(const rs_issues_t *iss) {
        return iss->published;
}

/* The evidence of \p is as a JSON object of strings, in iss->json. Entries
 * that would not fit (only values longer than a draft holds can make it
 * overflow) are left out rather than cut, so the object stays valid. */
static const char *evidence_json(rs_issues_t *iss, const rs_issue_t *is) {
        char  *out = iss->json;
        size_t off = 0, k;

        out[off++] = '{';
        for (k = 0; k < is->evidence_cnt; k++) {
                char   key[ESC_KEY], value[ESC_VALUE];
                size_t kl, vl;

                kl = rs_log_json_escape(key, sizeof(key), is->evidence[k].key);
                vl = rs_log_json_escape(value, sizeof(value),
                                        is->evidence[k].value);
                /* ,"key":"value" and, after it, } and the NUL */
                if (off + kl + vl + 6 + 2 > sizeof(iss->json))
                        break;
                off += (size_t)snprintf(out + off, sizeof(iss->json) - off,
                                        "%s\"%s\":\"%s\"", k ? "," : "", key,
                                        value);
        }
        out[off++] = '}';
        out[off]   = '\0';
        return out;
}

static void issue_row(rs_issues_t *iss, const rs_issue_t *is) {
        rs_pg_batch_t *b = iss->b_issues;
        char           ts[40];

        rs_pg_batch_str(b, is->issue_id);
        rs_pg_batch_str(b, is->tenant_id);
        rs_pg_batch_str(b, is->kind);
        rs_pg_batch_str(b, is->state);
        rs_pg_batch_str(b, is->severity);
        rs_pg_batch_str(b, is->title);
        rs_pg_batch_str(b, is->source);
        rs_pg_batch_str(b, is->route);
        rs_pg_batch_str(b, is->segment_type);
        rs_pg_batch_str(b, is->segment_value);
        rs_pg_batch_str(b, is->metric);
        rs_pg_batch_f64(b, is->observed);
        rs_pg_batch_f64(b, is->baseline);
        rs_pg_batch_f64(b, is->threshold);
        if (is->sample_size >= 0)
                rs_pg_batch_i64(b, is->sample_size);
        else
                rs_pg_batch_null(b);
        rs_pg_timestamp(is->opened_at_ms, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        rs_pg_timestamp(is->updated_at_ms, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        if (is->resolved_at_ms >= 0) {
                rs_pg_timestamp(is->resolved_at_ms, ts, sizeof(ts));
                rs_pg_batch_str(b, ts);
        } else {
                rs_pg_batch_null(b);
        }
        rs_pg_batch_i64(b, is->version);
        rs_pg_batch_str(b, evidence_json(iss, is));
        rs_pg_batch_row_end(b);
}

static void version_row(rs_issues_t *iss, const rs_issue_t *is) {
        rs_pg_batch_t *b = iss->b_versions;
        char           ts[40];

        rs_pg_batch_str(b, is->issue_id);
        rs_pg_batch_i64(b, is->version);
        rs_pg_batch_str(b, is->state);
        rs_pg_batch_str(b, is->severity);
        rs_pg_batch_f64(b, is->observed);
        rs_pg_timestamp(is->updated_at_ms, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        rs_pg_batch_row_end(b);
}

/* Whether \p is is the first (newest) of its issue (\p version 0) or of
 * its version (\p version 1) seen by this walk. @returns 1 or 0, or -1 on
 * out of memory. Ids are at most 32 bytes (rs_issues_start() cuts them):
 * the keys never need more than \p key holds. */
static int first_seen(rs_map_t *seen, const rs_issue_t *is, int version) {
        char key[sizeof(((rs_issue_draft_t *)0)->id) + 32];
        int  len, created;

        if (version)
                len = snprintf(key, sizeof(key), "v %" PRId64 " %s",
                               is->version, is->issue_id);
        else
                len = snprintf(key, sizeof(key), "i %s", is->issue_id);
        if (len < 0)
                return -1;
        if ((size_t)len >= sizeof(key))
                len = (int)sizeof(key) - 1;
        if (!rs_map_put(seen, key, (size_t)len, &created))
                return -1;
        return created;
}

int rs_issues_write(rs_issues_t *iss, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        rs_map_t *seen;
        size_t    i;
        int       rc = 0;

        rs_pg_batch_clear(iss->b_issues);
        rs_pg_batch_clear(iss->b_versions);
        if (iss->pending == 0)
                return 0;
        if (!(seen = rs_map_new())) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        for (i = iss->cnt; i-- > 0;) {
                const slot_t     *s  = iss->slots[i];
                const rs_issue_t *is = &s->d.is;
                int               new_version, new_issue;

                if (!s->published)
                        continue;
                if ((new_version = first_seen(seen, is, 1)) == -1 ||
                    (new_issue = first_seen(seen, is, 0)) == -1) {
                        snprintf(errstr, errstr_size, "out of memory");
                        rc = -1;
                        break;
                }
                if (new_version)
                        version_row(iss, is);
                if (new_issue)
                        issue_row(iss, is);
        }
        rs_map_destroy(seen);
        if (rc == 0 && rs_pg_batch_rows(iss->b_issues) > 0 &&
            (rs_pg_batch_flush(pg, iss->b_issues, errstr, errstr_size) == -1 ||
             rs_pg_batch_flush(pg, iss->b_versions, errstr, errstr_size) == -1))
                rc = -1;
        return rc;
}

void rs_issues_written(rs_issues_t *iss) {
        rs_pg_batch_clear(iss->b_issues);
        rs_pg_batch_clear(iss->b_versions);
        iss->cnt     = 0;
        iss->pending = 0;
}
