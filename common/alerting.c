/*
 * alerting: routing, grouping, timing, inhibition and silences of issue
 * notices. The rules are documented in rumstream/alerting.h.
 *
 * Data structures. Issues live in a map by id; each points to its group
 * (one per group key, in a map by key), which holds its issues and one
 * "slot" per channel it has timing for (the group of the header's
 * sections 3 to 8). An issue remembers what each channel was last told
 * about it (nstate_t, the `notified` column). Open critical issues are
 * indexed by (tenant, route) for inhibition. Silences are a small array
 * sorted by id. rs_map cannot delete, so a forgotten entry's value is set
 * to NULL and counted, and the map is rebuilt when the dead outnumber the
 * living. Notices and everything they point to live in an arena emptied at
 * the next tick.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/alerting.h"
#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/map.h"

#define ARRAY_CNT(a) (sizeof(a) / sizeof((a)[0]))

/* Channels an engine can name: channel indexes are uint16_t. */
#define MAX_CHANNELS 4096

static const char *const sev_names[] = {"low", "medium", "high", "critical"};
static const char *const sev_upper[] = {"LOW", "MEDIUM", "HIGH", "CRITICAL"};
static const char *const sev_pd[]    = {"info", "warning", "error", "critical"};

static void set_err(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t size, const char *fmt, ...) {
        va_list ap;

        if (!errstr || size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
}

static char *dup_n(const char *s, size_t n) {
        char *d = malloc(n + 1);

        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

/* NULL stays NULL; *ok is cleared when memory runs out. */
static char *dup_opt(const char *s, int *ok) {
        char *d;

        if (!s)
                return NULL;
        if (!(d = dup_n(s, strlen(s))))
                *ok = 0;
        return d;
}

/* Makes room for \p need elements in the array whose pointer is at
 * \p arrp (any T **; copied through memcpy, not read as a void *). */
static int reserve(void *arrp, size_t *cap, size_t need, size_t elem) {
        size_t ncap;
        void  *old, *n;

        if (need <= *cap)
                return 0;
        ncap = *cap ? *cap : 4;
        while (ncap < need)
                ncap *= 2;
        memcpy(&old, arrp, sizeof(old));
        if (!(n = realloc(old, ncap * elem)))
                return -1;
        memcpy(arrp, &n, sizeof(n));
        *cap = ncap;
        return 0;
}

static int64_t add_sat(int64_t t, int64_t d) {
        if (d > 0 && t > INT64_MAX - d)
                return INT64_MAX;
        return t + d;
}

static int str_eq(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return !strcmp(a, b);
}

static int chan_char(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int tenant_char(int c) {
        return chan_char(c) || c == ':';
}

static int chan_name_ok(const char *s, size_t n) {
        size_t i;

        if (n == 0 || n >= RS_ALERTING_CHANNEL_MAX ||
            (n == 4 && !memcmp(s, "none", 4)))
                return 0;
        for (i = 0; i < n; i++)
                if (!chan_char((unsigned char)s[i]))
                        return 0;
        return 1;
}

/* ---- Names ------------------------------------------------------------- */

int rs_alerting_severity_parse(const char *s, rs_alerting_severity_t *out) {
        size_t i;

        if (!s || !out)
                return RS_ALERTING_EINVAL;
        for (i = 0; i < ARRAY_CNT(sev_names); i++)
                if (!strcmp(s, sev_names[i])) {
                        *out = (rs_alerting_severity_t)i;
                        return 0;
                }
        return RS_ALERTING_EINVAL;
}

const char *rs_alerting_severity_name(rs_alerting_severity_t sev) {
        if ((unsigned)sev < ARRAY_CNT(sev_names))
                return sev_names[sev];
        return "unknown";
}

int rs_alerting_group_by_parse(const char *s, rs_alerting_group_by_t *out) {
        if (!s || !out)
                return RS_ALERTING_EINVAL;
        if (!strcmp(s, "tenant+route"))
                *out = RS_ALERTING_GROUP_BY_ROUTE;
        else if (!strcmp(s, "tenant"))
                *out = RS_ALERTING_GROUP_BY_TENANT;
        else if (!strcmp(s, "tenant+kind"))
                *out = RS_ALERTING_GROUP_BY_KIND;
        else
                return RS_ALERTING_EINVAL;
        return 0;
}

const char *rs_alerting_kind_name(rs_alerting_kind_t kind) {
        switch (kind) {
        case RS_ALERTING_FIRING:
                return "firing";
        case RS_ALERTING_UPDATE:
                return "update";
        case RS_ALERTING_REPEAT:
                return "repeat";
        case RS_ALERTING_RESOLVED:
                return "resolved";
        }
        return "unknown";
}

const char *rs_alerting_status_name(rs_alerting_status_t status) {
        switch (status) {
        case RS_ALERTING_SENT:
                return "sent";
        case RS_ALERTING_SILENCED:
                return "silenced";
        case RS_ALERTING_INHIBITED:
                return "inhibited";
        }
        return "unknown";
}

const char *rs_alerting_issue_status_name(rs_alerting_issue_status_t status) {
        switch (status) {
        case RS_ALERTING_ISSUE_FIRING:
                return "firing";
        case RS_ALERTING_ISSUE_RESOLVED:
                return "resolved";
        case RS_ALERTING_ISSUE_SILENCED:
                return "silenced";
        case RS_ALERTING_ISSUE_INHIBITED:
                return "inhibited";
        }
        return "unknown";
}

static int issue_status_parse(const char *s, size_t n) {
        int st;

        for (st = RS_ALERTING_ISSUE_FIRING; st <= RS_ALERTING_ISSUE_INHIBITED;
             st++) {
                const char *name = rs_alerting_issue_status_name(
                    (rs_alerting_issue_status_t)st);
                if (strlen(name) == n && !memcmp(s, name, n))
                        return st;
        }
        return -1;
}

/* ---- Routing ----------------------------------------------------------- */

typedef struct rule_s {
        char     *tenant; /* NULL: default */
        int       sev;    /* -1: "*" */
        uint16_t *chans;
        size_t    nchans;
        int       line;
} rule_t;

struct rs_alerting_routes_s {
        char  **chans;
        size_t  nchans, chans_cap;
        rule_t *rules;
        size_t  nrules, rules_cap;
};

void rs_alerting_routes_destroy(rs_alerting_routes_t *r) {
        size_t i;

        if (!r)
                return;
        for (i = 0; i < r->nchans; i++)
                free(r->chans[i]);
        for (i = 0; i < r->nrules; i++) {
                free(r->rules[i].tenant);
                free(r->rules[i].chans);
        }
        free(r->chans);
        free(r->rules);
        free(r);
}

typedef struct parser_s {
        const char           *s;
        size_t                pos;
        char                 *errstr;
        size_t                errstr_size;
        rs_alerting_routes_t *r;
} parser_t;

/* Sets "line L, column C: ..." for byte offset \p at. @returns -1 */
static int perr(parser_t *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(parser_t *p, size_t at, const char *fmt, ...) {
        char    msg[256];
        size_t  i, line = 1, col = 1;
        va_list ap;

        for (i = 0; i < at; i++) {
                if (p->s[i] == '\n') {
                        line++;
                        col = 1;
                } else {
                        col++;
                }
        }
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        set_err(p->errstr, p->errstr_size, "line %zu, column %zu: %s", line,
                col, msg);
        return -1;
}

/* Skips blanks and comments, and newlines too when \p nl. */
static void skip_blanks(parser_t *p, int nl) {
        for (;;) {
                char c = p->s[p->pos];
                if (c == ' ' || c == '\t' || c == '\r' || (nl && c == '\n')) {
                        p->pos++;
                } else if (c == '#') {
                        while (p->s[p->pos] && p->s[p->pos] != '\n')
                                p->pos++;
                } else {
                        return;
                }
        }
}

static size_t run_of(const parser_t *p, int (*pred)(int)) {
        size_t n = 0;

        while (p->s[p->pos + n] && pred((unsigned char)p->s[p->pos + n]))
                n++;
        return n;
}

static int lower_char(int c) {
        return c >= 'a' && c <= 'z';
}

static size_t line_of(const parser_t *p, size_t at) {
        size_t i, line = 1;

        for (i = 0; i < at; i++)
                line += p->s[i] == '\n';
        return line;
}

/* Index of channel \p name in the routes, added if new; -1 on no memory
 * or too many channels. */
static int routes_intern(rs_alerting_routes_t *r, const char *name, size_t n) {
        size_t i;

        for (i = 0; i < r->nchans; i++)
                if (strlen(r->chans[i]) == n && !memcmp(r->chans[i], name, n))
                        return (int)i;
        if (r->nchans >= MAX_CHANNELS ||
            reserve(&r->chans, &r->chans_cap, r->nchans + 1,
                    sizeof(*r->chans)) ||
            !(r->chans[r->nchans] = dup_n(name, n)))
                return -1;
        return (int)r->nchans++;
}

static int parse_rule(parser_t *p) {
        const char *s      = p->s;
        size_t      start  = p->pos, at, n, len, i, j;
        char       *tenant = NULL;
        unsigned    mask   = 0, bit;
        uint16_t    chans[MAX_CHANNELS];
        size_t      nch  = 0;
        int         none = 0, idx, sev, rc = -1;

        /* "tenant" TENANT ":" */
        n = run_of(p, lower_char);
        if (n == 6 && !memcmp(s + p->pos, "tenant", 6) &&
            !chan_char((unsigned char)s[p->pos + 6])) {
                p->pos += 6;
                skip_blanks(p, 1);
                at  = p->pos;
                n   = run_of(p, tenant_char);
                len = n;
                p->pos += n;
                if (n > 0 && s[at + n - 1] == ':') {
                        len--;
                } else if (n > 0) {
                        skip_blanks(p, 0);
                        if (s[p->pos] != ':')
                                return perr(p, p->pos,
                                            "expected ':' after the tenant id "
                                            "\"%.*s\" (the ':' that ends a "
                                            "tenant id stands at the end of "
                                            "its word or after a blank)",
                                            (int)n, s + at);
                        p->pos++;
                }
                if (len == 0)
                        return perr(p, at,
                                    "expected a tenant id after "
                                    "'tenant'");
                if (len > RS_EVENT_MAX_TENANT_LEN)
                        return perr(p, at,
                                    "tenant id longer than %d characters",
                                    RS_EVENT_MAX_TENANT_LEN);
                if (!(tenant = dup_n(s + at, len)))
                        return perr(p, at, "out of memory");
                skip_blanks(p, 1);
        }

        /* severities "->" */
        for (;;) {
                at = p->pos;
                if (s[at] == '*') {
                        bit = 4;
                        p->pos++;
                } else {
                        n = run_of(p, lower_char);
                        if (n == 0) {
                                perr(p, at,
                                     "expected a severity (low, medium, high, "
                                     "critical or *)");
                                goto out;
                        }
                        for (bit = 0; bit < 4; bit++)
                                if (strlen(sev_names[bit]) == n &&
                                    !memcmp(s + at, sev_names[bit], n))
                                        break;
                        if (bit == 4) {
                                perr(p, at,
                                     "unknown severity \"%.*s\" (expected low, "
                                     "medium, high, critical or *)",
                                     (int)n, s + at);
                                goto out;
                        }
                        p->pos += n;
                }
                if (mask & (1u << bit)) {
                        perr(p, at, "severity %s listed twice",
                             bit == 4 ? "*" : sev_names[bit]);
                        goto out;
                }
                mask |= 1u << bit;
                skip_blanks(p, 0);
                if (s[p->pos] != ',')
                        break;
                p->pos++;
                skip_blanks(p, 1);
        }
        if (s[p->pos] != '-' || s[p->pos + 1] != '>') {
                perr(p, p->pos, "expected '->' after the severity");
                goto out;
        }
        p->pos += 2;
        skip_blanks(p, 1);

        /* channels */
        for (;;) {
                at = p->pos;
                n  = run_of(p, chan_char);
                if (n == 0) {
                        perr(p, at, "expected a channel name or 'none'");
                        goto out;
                }
                if (n == 4 && !memcmp(s + at, "none", 4)) {
                        if (nch > 0) {
                                perr(p, at,
                                     "'none' cannot be listed with "
                                     "channels");
                                goto out;
                        }
                        none = 1;
                } else {
                        if (n >= RS_ALERTING_CHANNEL_MAX) {
                                perr(p, at,
                                     "channel name longer than %d characters",
                                     RS_ALERTING_CHANNEL_MAX - 1);
                                goto out;
                        }
                        if ((idx = routes_intern(p->r, s + at, n)) < 0) {
                                perr(p, at,
                                     "out of memory or too many "
                                     "channels");
                                goto out;
                        }
                        for (i = 0; i < nch; i++)
                                if (chans[i] == idx)
                                        break;
                        if (i < nch) {
                                perr(p, at, "channel \"%.*s\" listed twice",
                                     (int)n, s + at);
                                goto out;
                        }
                        chans[nch++] = (uint16_t)idx;
                }
                p->pos += n;
                skip_blanks(p, 0);
                if (s[p->pos] != ',')
                        break;
                if (none) {
                        perr(p, p->pos,
                             "'none' cannot be listed with "
                             "channels");
                        goto out;
                }
                p->pos++;
                skip_blanks(p, 1);
        }
        if (s[p->pos] && s[p->pos] != '\n' && s[p->pos] != ';') {
                perr(p, p->pos, "expected ',', ';' or the end of the line");
                goto out;
        }

        /* One rule per (scope, severity). */
        for (bit = 0; bit <= 4; bit++) {
                if (!(mask & (1u << bit)))
                        continue;
                sev = bit == 4 ? -1 : (int)bit;
                for (j = 0; j < p->r->nrules; j++) {
                        const rule_t *o = &p->r->rules[j];
                        if (o->sev == sev && str_eq(o->tenant, tenant)) {
                                if (tenant)
                                        perr(p, start,
                                             "a rule of tenant %s for %s "
                                             "exists already (line %d)",
                                             tenant,
                                             sev < 0 ? "*" : sev_names[sev],
                                             o->line);
                                else
                                        perr(p, start,
                                             "a default rule for %s exists "
                                             "already (line %d)",
                                             sev < 0 ? "*" : sev_names[sev],
                                             o->line);
                                goto out;
                        }
                }
                if (reserve(&p->r->rules, &p->r->rules_cap, p->r->nrules + 1,
                            sizeof(*p->r->rules))) {
                        perr(p, start, "out of memory");
                        goto out;
                }
                rule_t *nr = &p->r->rules[p->r->nrules];
                memset(nr, 0, sizeof(*nr));
                nr->sev    = sev;
                nr->line   = (int)line_of(p, start);
                nr->nchans = nch;
                if ((tenant && !(nr->tenant = dup_n(tenant, strlen(tenant)))) ||
                    (nch && !(nr->chans = malloc(nch * sizeof(*nr->chans))))) {
                        free(nr->tenant);
                        perr(p, start, "out of memory");
                        goto out;
                }
                if (nch)
                        memcpy(nr->chans, chans, nch * sizeof(*nr->chans));
                p->r->nrules++;
        }
        rc = 0;
out:
        free(tenant);
        return rc;
}

rs_alerting_routes_t *rs_alerting_routes_parse(const char *text, char *errstr,
                                               size_t errstr_size) {
        rs_alerting_routes_t *r;
        parser_t              p;

        if (!text) {
                set_err(errstr, errstr_size, "no routing rules");
                return NULL;
        }
        if (!(r = calloc(1, sizeof(*r)))) {
                set_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        memset(&p, 0, sizeof(p));
        p.s           = text;
        p.errstr      = errstr;
        p.errstr_size = errstr_size;
        p.r           = r;
        for (;;) {
                skip_blanks(&p, 0);
                if (!text[p.pos])
                        break;
                if (text[p.pos] == '\n' || text[p.pos] == ';') {
                        p.pos++;
                        continue;
                }
                if (parse_rule(&p)) {
                        rs_alerting_routes_destroy(r);
                        return NULL;
                }
        }
        return r;
}

/* The rule that applies to (tenant, sev), or NULL (section 1). */
static const rule_t *routes_find(const rs_alerting_routes_t *r,
                                 const char *tenant, int sev) {
        const rule_t *best      = NULL;
        int           best_rank = -1, rank;
        size_t        i;

        for (i = 0; i < r->nrules; i++) {
                const rule_t *ru = &r->rules[i];
                if (ru->sev != sev && ru->sev != -1)
                        continue;
                if (ru->tenant && !str_eq(ru->tenant, tenant))
                        continue;
                rank = (ru->tenant ? 2 : 0) + (ru->sev == sev);
                if (rank > best_rank) {
                        best      = ru;
                        best_rank = rank;
                }
        }
        return best;
}

size_t rs_alerting_routes_match(const rs_alerting_routes_t *r,
                                const char                 *tenant_id,
                                rs_alerting_severity_t      sev,
                                const char **channels, size_t cap) {
        const rule_t *ru;
        size_t        i;

        if (!r || !(ru = routes_find(r, tenant_id, (int)sev)))
                return 0;
        for (i = 0; i < ru->nchans && i < cap && channels; i++)
                channels[i] = r->chans[ru->chans[i]];
        return ru->nchans;
}

size_t rs_alerting_routes_channel_cnt(const rs_alerting_routes_t *r) {
        return r ? r->nchans : 0;
}

const char *rs_alerting_routes_channel(const rs_alerting_routes_t *r,
                                       size_t                      i) {
        return r && i < r->nchans ? r->chans[i] : NULL;
}

/* ---- Arena (a tick's notices) ------------------------------------------ */

typedef struct block_s {
        struct block_s *next;
        size_t          size, used;
        max_align_t     data[];
} block_t;

typedef struct arena_s {
        block_t *head;
} arena_t;

static void arena_free(arena_t *ar) {
        block_t *b, *next;

        for (b = ar->head; b; b = next) {
                next = b->next;
                free(b);
        }
        ar->head = NULL;
}

static void *arena_alloc(arena_t *ar, size_t size) {
        const size_t align = sizeof(max_align_t);
        block_t     *b     = ar->head;
        void        *p;

        size = (size + align - 1) / align * align;
        if (!b || b->size - b->used < size) {
                size_t bsize = size > 16384 ? size : 16384;
                if (!(b = malloc(sizeof(*b) + bsize)))
                        return NULL;
                b->size  = bsize;
                b->used  = 0;
                b->next  = ar->head;
                ar->head = b;
        }
        p = (char *)b->data + b->used;
        b->used += size;
        return p;
}

/* NULL stays NULL; *ok is cleared when memory runs out. */
static const char *arena_str(arena_t *ar, const char *s, int *ok) {
        size_t n;
        char  *d;

        if (!s)
                return NULL;
        n = strlen(s);
        if (!(d = arena_alloc(ar, n + 1))) {
                *ok = 0;
                return NULL;
        }
        memcpy(d, s, n + 1);
        return d;
}

/* ---- Growable string --------------------------------------------------- */

typedef struct sbuf_s {
        char  *s;
        size_t len, cap;
        int    oom;
} sbuf_t;

static void sb_printf(sbuf_t *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *sb, const char *fmt, ...) {
        va_list ap;
        int     n;

        if (sb->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || reserve(&sb->s, &sb->cap, sb->len + (size_t)n + 1, 1)) {
                sb->oom = 1;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        sb->len += (size_t)n;
}

/* ---- Engine ------------------------------------------------------------ */

typedef struct group_s group_t;

/* What one channel was last told about an issue. */
typedef struct nstate_s {
        uint16_t ch;
        uint8_t  status; /* rs_alerting_issue_status_t */
        uint8_t  sev;
} nstate_t;

typedef struct issue_s {
        char           *id, *tenant, *kind, *route;
        char           *seg_type, *seg_value, *metric, *title;
        int             sev, open;
        double          observed, baseline, threshold;
        int64_t         opened_at, updated_at, resolved_at, version;
        int64_t         resolved_seen;
        group_t        *grp;
        const uint16_t *routed; /* into the routes' rule */
        size_t          nrouted;
        nstate_t       *ns;
        size_t          nns, ns_cap;
        int             inhibitor; /* in the inhibition index */
} issue_t;

typedef struct slot_s {
        group_t    *grp;
        uint16_t    ch;
        const char *chname;
        int         cooling;
        char       *epoch_issue;
        int64_t     epoch_ms, seq, created, next_flush, last_sent, until;
        int64_t     held_since;
} slot_t;

struct group_s {
        char     *key, *tenant;
        issue_t **issues;
        size_t    nissues, issues_cap;
        slot_t  **slots;
        size_t    nslots, slots_cap;
};

/* Open critical issues of one (tenant, route). */
typedef struct inhib_s {
        issue_t **crit;
        size_t    n, cap;
} inhib_t;

/* A map whose forgotten entries are NULL values (see the top). */
typedef struct dmap_s {
        rs_map_t *m;
        size_t    live, dead;
} dmap_t;

struct rs_alerting_s {
        rs_alerting_conf_t     conf;
        rs_alerting_routes_t  *routes;
        char                 **chans;
        size_t                 nchans, chans_cap;
        dmap_t                 issues, groups, inhib;
        size_t                 slot_cnt;
        rs_alerting_silence_t *sil;
        size_t                 nsil, sil_cap;
        int64_t                clock, next_due;
        rs_alerting_stats_t    st;
        arena_t                arena;
        rs_alerting_notice_t  *notices;
        size_t                 nnotices, notices_cap;
};

static void *dmap_get(const dmap_t *d, const void *key, size_t len) {
        void **v = rs_map_get(d->m, key, len);

        return v ? *v : NULL;
}

/* Inserts \p val under \p key, which is absent or forgotten. */
static int dmap_put(dmap_t *d, const void *key, size_t len, void *val) {
        int    created;
        void **v = rs_map_put(d->m, key, len, &created);

        if (!v)
                return RS_ALERTING_ENOMEM;
        if (!created)
                d->dead--;
        *v = val;
        d->live++;
        return 0;
}

static void dmap_del(dmap_t *d, const void *key, size_t len) {
        void **v = rs_map_get(d->m, key, len);

        if (v && *v) {
                *v = NULL;
                d->live--;
                d->dead++;
        }
}

typedef struct rebuild_s {
        rs_map_t *m;
        int       failed;
} rebuild_t;

static void rebuild_one(const void *key, size_t len, void *value,
                        void *opaque) {
        rebuild_t *rb = opaque;
        int        created;
        void     **v;

        if (!value || rb->failed)
                return;
        if (!(v = rs_map_put(rb->m, key, len, &created)))
                rb->failed = 1;
        else
                *v = value;
}

/* Rebuilds the map without its forgotten keys when they are the most; a
 * failure only postpones it. */
static void dmap_compact(dmap_t *d) {
        rebuild_t rb = {NULL, 0};

        if (d->dead < 64 || d->dead < d->live)
                return;
        if (!(rb.m = rs_map_new()))
                return;
        rs_map_foreach(d->m, rebuild_one, &rb);
        if (rb.failed) {
                rs_map_destroy(rb.m);
                return;
        }
        rs_map_destroy(d->m);
        d->m    = rb.m;
        d->dead = 0;
}

typedef struct collect_s {
        void **v;
        size_t n, cap;
        int    failed;
} collect_t;

static void collect_one(const void *key, size_t len, void *value,
                        void *opaque) {
        collect_t *c = opaque;

        (void)key;
        (void)len;
        if (!value || c->failed)
                return;
        if (reserve(&c->v, &c->cap, c->n + 1, sizeof(*c->v)))
                c->failed = 1;
        else
                c->v[c->n++] = value;
}

/* The live values of a map; caller frees c->v. */
static int dmap_values(const dmap_t *d, collect_t *c) {
        memset(c, 0, sizeof(*c));
        rs_map_foreach(d->m, collect_one, c);
        if (c->failed) {
                free(c->v);
                c->v = NULL;
                return RS_ALERTING_ENOMEM;
        }
        return 0;
}

void rs_alerting_conf_defaults(rs_alerting_conf_t *c) {
        if (!c)
                return;
        memset(c, 0, sizeof(*c));
        c->routes               = NULL;
        c->group_by             = RS_ALERTING_GROUP_BY_ROUTE;
        c->group_wait_ms        = 30 * 1000;
        c->group_interval_ms    = 5 * 60 * 1000;
        c->repeat_interval_ms   = 4 * 3600 * 1000;
        c->cooldown_ms          = 5 * 60 * 1000;
        c->silence_retention_ms = 24 * 3600 * 1000;
        c->max_groups           = 10000;
        c->max_issues           = 50000;
        c->max_silences         = 1000;
}

static void issue_free(issue_t *i) {
        if (!i)
                return;
        free(i->id);
        free(i->tenant);
        free(i->kind);
        free(i->route);
        free(i->seg_type);
        free(i->seg_value);
        free(i->metric);
        free(i->title);
        free(i->ns);
        free(i);
}

static void slot_free(slot_t *s) {
        if (!s)
                return;
        free(s->epoch_issue);
        free(s);
}

static void group_free(group_t *g) {
        size_t i;

        if (!g)
                return;
        for (i = 0; i < g->nslots; i++)
                slot_free(g->slots[i]);
        free(g->slots);
        free(g->issues);
        free(g->key);
        free(g->tenant);
        free(g);
}

static void silence_clear(rs_alerting_silence_t *s) {
        free((char *)s->id);
        free((char *)s->tenant_id);
        free((char *)s->route);
        free((char *)s->kind);
        free((char *)s->severity);
        free((char *)s->comment);
        free((char *)s->created_by);
}

static void free_issue_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        issue_free(value);
}

static void free_group_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        group_free(value);
}

static void free_inhib_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        inhib_t *ih = value;

        (void)key;
        (void)len;
        (void)opaque;
        if (ih) {
                free(ih->crit);
                free(ih);
        }
}

void rs_alerting_destroy(rs_alerting_t *a) {
        size_t i;

        if (!a)
                return;
        if (a->issues.m) {
                rs_map_foreach(a->issues.m, free_issue_cb, NULL);
                rs_map_destroy(a->issues.m);
        }
        if (a->groups.m) {
                rs_map_foreach(a->groups.m, free_group_cb, NULL);
                rs_map_destroy(a->groups.m);
        }
        if (a->inhib.m) {
                rs_map_foreach(a->inhib.m, free_inhib_cb, NULL);
                rs_map_destroy(a->inhib.m);
        }
        for (i = 0; i < a->nsil; i++)
                silence_clear(&a->sil[i]);
        free(a->sil);
        for (i = 0; i < a->nchans; i++)
                free(a->chans[i]);
        free(a->chans);
        rs_alerting_routes_destroy(a->routes);
        arena_free(&a->arena);
        free(a->notices);
        free(a);
}

rs_alerting_t *rs_alerting_new(const rs_alerting_conf_t *c, char *errstr,
                               size_t errstr_size) {
        rs_alerting_t *a;
        size_t         i;

        if (!c) {
                set_err(errstr, errstr_size, "no configuration");
                return NULL;
        }
        if ((unsigned)c->group_by > RS_ALERTING_GROUP_BY_KIND) {
                set_err(errstr, errstr_size, "unknown group_by %d",
                        (int)c->group_by);
                return NULL;
        }
        if (c->group_wait_ms < 0 || c->group_interval_ms <= 0 ||
            c->repeat_interval_ms <= 0 || c->cooldown_ms < 0 ||
            c->silence_retention_ms < 0) {
                set_err(errstr, errstr_size,
                        "group_wait, cooldown and silence_retention must be "
                        ">= 0, group_interval and repeat_interval > 0");
                return NULL;
        }
        if (c->max_groups < 1 || c->max_issues < 1 || c->max_silences < 1) {
                set_err(errstr, errstr_size,
                        "max_groups, max_issues and max_silences must be >= "
                        "1");
                return NULL;
        }
        if (!(a = calloc(1, sizeof(*a)))) {
                set_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        a->conf        = *c;
        a->conf.routes = NULL;
        a->next_due    = INT64_MAX;
        if (!(a->routes =
                  rs_alerting_routes_parse(c->routes, errstr, errstr_size)))
                goto fail;
        if (!(a->issues.m = rs_map_new()) || !(a->groups.m = rs_map_new()) ||
            !(a->inhib.m = rs_map_new()) ||
            reserve(&a->chans, &a->chans_cap, a->routes->nchans + 1,
                    sizeof(*a->chans)))
                goto nomem;
        for (i = 0; i < a->routes->nchans; i++) {
                if (!(a->chans[i] = dup_n(a->routes->chans[i],
                                          strlen(a->routes->chans[i]))))
                        goto nomem;
                a->nchans++;
        }
        return a;
nomem:
        set_err(errstr, errstr_size, "out of memory");
fail:
        rs_alerting_destroy(a);
        return NULL;
}

/* Engine channel index of \p name (a valid channel name), added if new. */
static int chan_intern(rs_alerting_t *a, const char *name, size_t n) {
        size_t i;

        for (i = 0; i < a->nchans; i++)
                if (strlen(a->chans[i]) == n && !memcmp(a->chans[i], name, n))
                        return (int)i;
        if (a->nchans >= MAX_CHANNELS ||
            reserve(&a->chans, &a->chans_cap, a->nchans + 1,
                    sizeof(*a->chans)) ||
            !(a->chans[a->nchans] = dup_n(name, n)))
                return -1;
        return (int)a->nchans++;
}

static int64_t advance(rs_alerting_t *a, int64_t now) {
        if (now > a->clock)
                a->clock = now;
        return a->clock;
}

static void due_at(rs_alerting_t *a, int64_t t) {
        if (t < a->next_due)
                a->next_due = t;
}

/* ---- Issues and groups ------------------------------------------------- */

/* The group key of an issue (section 2); caller frees. */
static char *group_key_of(const rs_alerting_t *a, const char *tenant,
                          const char *route, const char *kind) {
        const char *tail = NULL;
        size_t      tn   = strlen(tenant), n;
        char       *k;

        if (a->conf.group_by == RS_ALERTING_GROUP_BY_ROUTE)
                tail = route;
        else if (a->conf.group_by == RS_ALERTING_GROUP_BY_KIND)
                tail = kind;
        n = tn + (tail ? 1 + strlen(tail) : 0);
        if (!(k = malloc(n + 1)))
                return NULL;
        memcpy(k, tenant, tn);
        if (tail) {
                k[tn] = ' ';
                memcpy(k + tn + 1, tail, strlen(tail));
        }
        k[n] = '\0';
        return k;
}

/* The group of \p key, created if absent (max_groups permitting). */
static int group_get(rs_alerting_t *a, const char *key, const char *tenant,
                     group_t **out) {
        group_t *g = dmap_get(&a->groups, key, strlen(key));

        if (g) {
                *out = g;
                return 0;
        }
        if (a->groups.live >= a->conf.max_groups) {
                a->st.groups_overflow++;
                return RS_ALERTING_OVERFLOW;
        }
        if (!(g = calloc(1, sizeof(*g))) ||
            !(g->key = dup_n(key, strlen(key))) ||
            !(g->tenant = dup_n(tenant, strlen(tenant))) ||
            dmap_put(&a->groups, key, strlen(key), g)) {
                group_free(g);
                return RS_ALERTING_ENOMEM;
        }
        *out = g;
        return 0;
}

static void group_forget_if_empty(rs_alerting_t *a, group_t *g) {
        if (g->nissues || g->nslots)
                return;
        dmap_del(&a->groups, g->key, strlen(g->key));
        group_free(g);
}

static slot_t *slot_find(const group_t *g, uint16_t ch) {
        size_t i;

        for (i = 0; i < g->nslots; i++)
                if (g->slots[i]->ch == ch)
                        return g->slots[i];
        return NULL;
}

static slot_t *slot_new(rs_alerting_t *a, group_t *g, uint16_t ch,
                        const char *epoch_issue, int64_t epoch_ms,
                        int64_t now) {
        slot_t *s;

        if (reserve(&g->slots, &g->slots_cap, g->nslots + 1,
                    sizeof(*g->slots)) ||
            !(s = calloc(1, sizeof(*s))))
                return NULL;
        if (!(s->epoch_issue = dup_n(epoch_issue, strlen(epoch_issue)))) {
                free(s);
                return NULL;
        }
        s->grp                = g;
        s->ch                 = ch;
        s->chname             = a->chans[ch];
        s->epoch_ms           = epoch_ms;
        s->created            = now;
        s->next_flush         = add_sat(now, a->conf.group_wait_ms);
        s->last_sent          = -1;
        s->until              = -1;
        s->held_since         = -1;
        g->slots[g->nslots++] = s;
        a->slot_cnt++;
        due_at(a, s->next_flush);
        return s;
}

static void slot_forget(rs_alerting_t *a, slot_t *s) {
        group_t *g = s->grp;
        size_t   i;

        for (i = 0; i < g->nslots; i++)
                if (g->slots[i] == s) {
                        g->slots[i] = g->slots[--g->nslots];
                        break;
                }
        slot_free(s);
        a->slot_cnt--;
        a->st.groups_forgotten++;
}

static nstate_t *ns_find(const issue_t *i, uint16_t ch) {
        size_t k;

        for (k = 0; k < i->nns; k++)
                if (i->ns[k].ch == ch)
                        return &i->ns[k];
        return NULL;
}

/* Room for one more nstate, so that ns_set() cannot fail. */
static int ns_reserve(issue_t *i) {
        return reserve(&i->ns, &i->ns_cap, i->nns + 1, sizeof(*i->ns));
}

static void ns_set(issue_t *i, uint16_t ch, int status, int sev) {
        nstate_t *ns = ns_find(i, ch);

        if (!ns)
                ns = &i->ns[i->nns++]; /* ns_reserve() made room */
        ns->ch     = ch;
        ns->status = (uint8_t)status;
        ns->sev    = (uint8_t)sev;
}

static int issue_notified_firing(const issue_t *i) {
        size_t k;

        for (k = 0; k < i->nns; k++)
                if (i->ns[k].status == RS_ALERTING_ISSUE_FIRING)
                        return 1;
        return 0;
}

static int issue_routes_to(const issue_t *i, uint16_t ch) {
        size_t k;

        for (k = 0; k < i->nrouted; k++)
                if (i->routed[k] == ch)
                        return 1;
        return 0;
}

/* Inhibition index key: tenant, NUL, then 'r' and the route or 'n'. */
static char *inhib_key(const issue_t *i, size_t *len) {
        size_t tn = strlen(i->tenant), rn = i->route ? strlen(i->route) : 0;
        char  *k = malloc(tn + 2 + rn);

        if (!k)
                return NULL;
        memcpy(k, i->tenant, tn + 1);
        k[tn + 1] = i->route ? 'r' : 'n';
        if (i->route)
                memcpy(k + tn + 2, i->route, rn);
        *len = tn + 2 + rn;
        return k;
}

/* Puts the issue into or out of the inhibition index, as it is now. */
static int inhib_update(rs_alerting_t *a, issue_t *i) {
        int      want = i->open && i->sev == RS_ALERTING_CRITICAL;
        size_t   len, k;
        char    *key;
        inhib_t *ih;
        int      rc = 0;

        if (want == i->inhibitor)
                return 0;
        if (!(key = inhib_key(i, &len)))
                return RS_ALERTING_ENOMEM;
        ih = dmap_get(&a->inhib, key, len);
        if (want) {
                if (!ih) {
                        if (!(ih = calloc(1, sizeof(*ih))) ||
                            dmap_put(&a->inhib, key, len, ih)) {
                                free(ih);
                                rc = RS_ALERTING_ENOMEM;
                                goto out;
                        }
                }
                if (reserve(&ih->crit, &ih->cap, ih->n + 1,
                            sizeof(*ih->crit))) {
                        rc = RS_ALERTING_ENOMEM;
                        goto out;
                }
                ih->crit[ih->n++] = i;
        } else if (ih) {
                for (k = 0; k < ih->n; k++)
                        if (ih->crit[k] == i) {
                                ih->crit[k] = ih->crit[--ih->n];
                                break;
                        }
                if (ih->n == 0) {
                        dmap_del(&a->inhib, key, len);
                        free(ih->crit);
                        free(ih);
                }
        }
        i->inhibitor = want;
out:
        free(key);
        return rc;
}

/* The smallest id of the open criticals inhibiting \p i, or NULL. */
static const char *inhibited_by(const rs_alerting_t *a, const issue_t *i) {
        const char    *by = NULL;
        const inhib_t *ih;
        size_t         len, k;
        char          *key;

        if (i->sev >= RS_ALERTING_CRITICAL || !(key = inhib_key(i, &len)))
                return NULL;
        ih = dmap_get(&a->inhib, key, len);
        free(key);
        for (k = 0; ih && k < ih->n; k++)
                if (!by || strcmp(ih->crit[k]->id, by) < 0)
                        by = ih->crit[k]->id;
        return by;
}

static int matcher_ok(const char *m, const char *v) {
        if (!strcmp(m, "*"))
                return 1;
        return v && !strcmp(m, v);
}

static int silence_active(const rs_alerting_silence_t *s, int64_t now) {
        return s->starts_ms <= now && now < s->ends_ms;
}

/* The first active silence (by id) that matches \p i, or NULL. */
static const rs_alerting_silence_t *silenced_by(const rs_alerting_t *a,
                                                const issue_t *i, int64_t now) {
        size_t k;

        for (k = 0; k < a->nsil; k++) {
                const rs_alerting_silence_t *s = &a->sil[k];
                if (silence_active(s, now) &&
                    matcher_ok(s->tenant_id, i->tenant) &&
                    matcher_ok(s->route, i->route) &&
                    matcher_ok(s->kind, i->kind) &&
                    matcher_ok(s->severity, sev_names[i->sev]))
                        return s;
        }
        return NULL;
}

/* After a version changed the issue: routing, inhibition, and the slots
 * of the channels an open issue routes to (section 3). */
static int issue_attach(rs_alerting_t *a, issue_t *i, int64_t now) {
        const rule_t *ru = routes_find(a->routes, i->tenant, i->sev);
        size_t        k;
        slot_t       *s;
        int           rc;

        i->routed  = ru ? ru->chans : NULL;
        i->nrouted = ru ? ru->nchans : 0;
        if ((rc = inhib_update(a, i)))
                return rc;
        if (!i->open) {
                due_at(a, add_sat(i->resolved_seen, a->conf.cooldown_ms));
                return 0;
        }
        for (k = 0; k < i->nrouted; k++) {
                s = slot_find(i->grp, i->routed[k]);
                if (!s) {
                        if (!slot_new(a, i->grp, i->routed[k], i->id,
                                      i->updated_at, now))
                                return RS_ALERTING_ENOMEM;
                } else if (s->cooling && s->held_since < 0) {
                        s->held_since = now;
                        s->next_flush =
                            add_sat(now, a->conf.group_wait_ms) > s->until
                                ? add_sat(now, a->conf.group_wait_ms)
                                : s->until;
                        due_at(a, s->next_flush);
                }
        }
        return 0;
}

/* Replaces the version fields of \p i (all or nothing). */
static int issue_set_fields(issue_t *i, const char *title, const char *seg_type,
                            const char *seg_value, const char *metric) {
        int   ok = 1;
        char *t  = dup_opt(title ? title : "", &ok);
        char *st = dup_opt(seg_type, &ok), *sv = dup_opt(seg_value, &ok);
        char *m = dup_opt(metric, &ok);

        if (!ok) {
                free(t);
                free(st);
                free(sv);
                free(m);
                return RS_ALERTING_ENOMEM;
        }
        free(i->title);
        free(i->seg_type);
        free(i->seg_value);
        free(i->metric);
        i->title     = t;
        i->seg_type  = st;
        i->seg_value = sv;
        i->metric    = m;
        return 0;
}

static int state_parse(const char *s, int *open) {
        if (!s)
                return -1;
        if (!strcmp(s, "open") || !strcmp(s, "updated"))
                *open = 1;
        else if (!strcmp(s, "resolved"))
                *open = 0;
        else
                return -1;
        return 0;
}

/* A new issue with its identity fields, in its group (caps permitting). */
static int issue_create(rs_alerting_t *a, const char *id, const char *tenant,
                        const char *kind, const char *route, issue_t **out) {
        issue_t *i   = NULL;
        group_t *g   = NULL;
        char    *key = NULL;
        int      ok  = 1, rc;

        if (a->issues.live >= a->conf.max_issues) {
                a->st.issues_overflow++;
                return RS_ALERTING_OVERFLOW;
        }
        if (route && !*route)
                route = NULL;
        if (!(key = group_key_of(a, tenant, route, kind)))
                return RS_ALERTING_ENOMEM;
        if ((rc = group_get(a, key, tenant, &g)))
                goto out;
        rc = RS_ALERTING_ENOMEM;
        if (!(i = calloc(1, sizeof(*i))))
                goto fail;
        i->id     = dup_opt(id, &ok);
        i->tenant = dup_opt(tenant, &ok);
        i->kind   = dup_opt(kind, &ok);
        i->route  = dup_opt(route, &ok);
        if (!ok || reserve(&g->issues, &g->issues_cap, g->nissues + 1,
                           sizeof(*g->issues)))
                goto fail;
        if (dmap_put(&a->issues, id, strlen(id), i))
                goto fail;
        g->issues[g->nissues++] = i;
        i->grp                  = g;
        i->resolved_seen        = -1;
        i->version              = -1; /* below any version */
        *out                    = i;
        rc                      = 0;
        goto out;
fail:
        issue_free(i);
        group_forget_if_empty(a, g);
out:
        free(key);
        return rc;
}

static void issue_forget(rs_alerting_t *a, issue_t *i) {
        group_t *g = i->grp;
        size_t   k;

        (void)inhib_update(a, i); /* resolved: only removes */
        for (k = 0; k < g->nissues; k++)
                if (g->issues[k] == i) {
                        g->issues[k] = g->issues[--g->nissues];
                        break;
                }
        dmap_del(&a->issues, i->id, strlen(i->id));
        issue_free(i);
        a->st.issues_forgotten++;
}

int rs_alerting_feed(rs_alerting_t *a, const rs_issue_t *is, int64_t now_ms) {
        rs_alerting_severity_t sev;
        issue_t               *i;
        int                    open, rc, created = 0;
        int64_t                now, old_version;

        if (!a)
                return RS_ALERTING_EINVAL;
        now = advance(a, now_ms);
        if (!is || !is->issue_id || !*is->issue_id || !is->tenant_id ||
            !*is->tenant_id || !is->kind ||
            rs_alerting_severity_parse(is->severity, &sev) ||
            state_parse(is->state, &open) || is->version < 0) {
                a->st.invalid++;
                return RS_ALERTING_EINVAL;
        }
        i = dmap_get(&a->issues, is->issue_id, strlen(is->issue_id));
        if (i && is->version == i->version) {
                a->st.duplicates++;
                return RS_ALERTING_DUPLICATE;
        }
        if (i && is->version < i->version) {
                a->st.stale++;
                return RS_ALERTING_STALE;
        }
        if (!i) {
                if ((rc = issue_create(a, is->issue_id, is->tenant_id, is->kind,
                                       is->route, &i)))
                        return rc;
                created = 1;
        }
        if ((rc = issue_set_fields(i, is->title, is->segment_type,
                                   is->segment_value, is->metric))) {
                if (created) {
                        group_t *g = i->grp;
                        issue_forget(a, i);
                        a->st.issues_forgotten--;
                        group_forget_if_empty(a, g);
                }
                return rc;
        }
        if (open)
                i->resolved_seen = -1;
        else if (i->open || created)
                i->resolved_seen = now;
        i->sev         = (int)sev;
        i->open        = open;
        i->observed    = is->observed;
        i->baseline    = is->baseline;
        i->threshold   = is->threshold;
        i->opened_at   = is->opened_at_ms;
        i->updated_at  = is->updated_at_ms;
        i->resolved_at = open ? -1 : is->resolved_at_ms;
        old_version    = i->version;
        i->version     = is->version;
        if ((rc = issue_attach(a, i, now))) {
                /* Not taken: the same version may be fed again. */
                i->version = old_version;
                return rc;
        }
        a->st.fed++;
        return RS_ALERTING_ACCEPTED;
}

/* ---- Flushing ---------------------------------------------------------- */

/* An issue picked for a notice. */
typedef struct pick_s {
        issue_t    *i;
        int         status; /* rs_alerting_issue_status_t */
        const char *by;
} pick_t;

/* Firing, or silenced (by the first matching silence, its id in *by) or
 * inhibited (by the critical issue in *by) at \p now. */
static int mute_status(const rs_alerting_t *a, const issue_t *i, int64_t now,
                       const char **by) {
        const rs_alerting_silence_t *sil = silenced_by(a, i, now);

        if (sil) {
                *by = sil->id;
                return RS_ALERTING_ISSUE_SILENCED;
        }
        if ((*by = inhibited_by(a, i)))
                return RS_ALERTING_ISSUE_INHIBITED;
        return RS_ALERTING_ISSUE_FIRING;
}

static int pick_cmp(const void *pa, const void *pb) {
        const pick_t *x = pa, *y = pb;
        int           rx = x->status == RS_ALERTING_ISSUE_RESOLVED,
            ry           = y->status == RS_ALERTING_ISSUE_RESOLVED;

        if (rx != ry)
                return rx - ry;
        if (x->i->sev != y->i->sev)
                return y->i->sev - x->i->sev;
        if (x->i->opened_at != y->i->opened_at)
                return x->i->opened_at < y->i->opened_at ? -1 : 1;
        return strcmp(x->i->id, y->i->id);
}

static void make_ids(const slot_t *s, int64_t seq, char alert_id[33],
                     char dedup_key[33]) {
        rs_id_t id;

        rs_id_init(&id, "alert");
        rs_id_add_str(&id, s->grp->key);
        rs_id_add_str(&id, s->chname);
        rs_id_add_str(&id, s->epoch_issue);
        rs_id_add_i64(&id, s->epoch_ms);
        rs_id_add_i64(&id, seq);
        rs_id_hex(&id, alert_id);
        rs_id_init(&id, "alert_group");
        rs_id_add_str(&id, s->grp->key);
        rs_id_add_str(&id, s->chname);
        rs_id_add_str(&id, s->epoch_issue);
        rs_id_add_i64(&id, s->epoch_ms);
        rs_id_hex(&id, dedup_key);
}

static void summary_line(sbuf_t *sb, const rs_alerting_entry_t *e) {
        sb_printf(sb, "%s%s [%s] %s", sb->len ? "\n" : "",
                  rs_alerting_issue_status_name(e->status), e->severity,
                  e->title);
        if (!e->metric)
                return;
        sb_printf(sb, " (%s", e->metric);
        if (isfinite(e->observed))
                sb_printf(sb, " %g", e->observed);
        if (isfinite(e->baseline))
                sb_printf(sb, " vs baseline %g", e->baseline);
        if (isfinite(e->threshold))
                sb_printf(sb, ", threshold %g", e->threshold);
        sb_printf(sb, ")");
}

/* Appends a notice listing picks[0..n) (sorted here) to the tick's
 * notices. Changes no state. */
static int notice_add(rs_alerting_t *a, const slot_t *s, pick_t *picks,
                      size_t n, rs_alerting_kind_t kind,
                      rs_alerting_status_t status, int64_t seq, int64_t now) {
        rs_alerting_notice_t *no;
        rs_alerting_entry_t  *e;
        sbuf_t                sb = {0};
        size_t                k, nres = 0;
        int                   ok = 1, sev = -1, sev_res = -1;

        qsort(picks, n, sizeof(*picks), pick_cmp);
        if (reserve(&a->notices, &a->notices_cap, a->nnotices + 1,
                    sizeof(*a->notices)) ||
            !(e = arena_alloc(&a->arena, n * sizeof(*e))))
                return RS_ALERTING_ENOMEM;
        for (k = 0; k < n; k++) {
                const issue_t *i = picks[k].i;
                memset(&e[k], 0, sizeof(e[k]));
                e[k].issue_id       = arena_str(&a->arena, i->id, &ok);
                e[k].kind           = arena_str(&a->arena, i->kind, &ok);
                e[k].severity       = sev_names[i->sev];
                e[k].state          = i->open ? "open" : "resolved";
                e[k].title          = arena_str(&a->arena, i->title, &ok);
                e[k].route          = arena_str(&a->arena, i->route, &ok);
                e[k].segment_type   = arena_str(&a->arena, i->seg_type, &ok);
                e[k].segment_value  = arena_str(&a->arena, i->seg_value, &ok);
                e[k].metric         = arena_str(&a->arena, i->metric, &ok);
                e[k].observed       = i->observed;
                e[k].baseline       = i->baseline;
                e[k].threshold      = i->threshold;
                e[k].opened_at_ms   = i->opened_at;
                e[k].updated_at_ms  = i->updated_at;
                e[k].resolved_at_ms = i->resolved_at;
                e[k].version        = i->version;
                e[k].status   = (rs_alerting_issue_status_t)picks[k].status;
                e[k].muted_by = arena_str(&a->arena, picks[k].by, &ok);
                if (picks[k].status == RS_ALERTING_ISSUE_RESOLVED) {
                        nres++;
                        if (i->sev > sev_res)
                                sev_res = i->sev;
                } else if (i->sev > sev) {
                        sev = i->sev;
                }
        }
        if (sev < 0)
                sev = sev_res;

        no = &a->notices[a->nnotices];
        memset(no, 0, sizeof(*no));
        make_ids(s, seq, no->alert_id, no->dedup_key);
        no->tenant_id     = arena_str(&a->arena, s->grp->tenant, &ok);
        no->group_key     = arena_str(&a->arena, s->grp->key, &ok);
        no->channel       = arena_str(&a->arena, s->chname, &ok);
        no->kind          = kind;
        no->status        = status;
        no->severity      = (rs_alerting_severity_t)sev;
        no->seq           = seq;
        no->created_at_ms = now;
        no->entries       = e;
        no->entry_cnt     = n;

        /* Title and summary (section 9). */
        if (kind == RS_ALERTING_RESOLVED)
                sb_printf(&sb, "[RESOLVED] ");
        else
                sb_printf(&sb, "[%s] ", sev_upper[sev]);
        if (n == 1)
                sb_printf(&sb, "%s", e[0].title);
        else if (nres == 0 || nres == n)
                sb_printf(&sb, "%zu issues on %s", n, s->grp->key);
        else
                sb_printf(&sb, "%zu firing, %zu resolved on %s", n - nres, nres,
                          s->grp->key);
        if (!sb.oom)
                no->title = arena_str(&a->arena, sb.s, &ok);
        sb.len = 0;
        for (k = 0; k < n && k < RS_ALERTING_SUMMARY_ISSUES; k++)
                summary_line(&sb, &e[k]);
        if (n > RS_ALERTING_SUMMARY_ISSUES)
                sb_printf(&sb, "\n... and %zu more",
                          n - RS_ALERTING_SUMMARY_ISSUES);
        if (!sb.oom)
                no->summary = arena_str(&a->arena, sb.s, &ok);
        free(sb.s);
        if (!ok || sb.oom)
                return RS_ALERTING_ENOMEM;
        a->nnotices++;
        return 0;
}

/* One flush of a due slot (section 3). The notices are built first, so
 * that on no memory nothing changed and the slot stays due. */
static int flush(rs_alerting_t *a, slot_t *s, int64_t now) {
        group_t           *g = s->grp;
        pick_t            *picks, *muted[2];
        size_t             npick = 0, nf = 0, nm = 0, nr = 0, nmute[2] = {0, 0};
        size_t             k, saved = a->nnotices, r;
        int                any_notified = 0, nnew = 0, send, rc = 0;
        int64_t            seq  = s->seq;
        rs_alerting_kind_t kind = RS_ALERTING_FIRING;

        if (s->cooling) { /* the cooldown is over: a new life */
                s->cooling    = 0;
                s->until      = -1;
                s->held_since = -1;
        }
        if (!(picks = malloc((3 * g->nissues + 1) * sizeof(*picks))))
                return RS_ALERTING_ENOMEM;
        muted[0] = picks + g->nissues;
        muted[1] = picks + 2 * g->nissues;

        for (k = 0; k < g->nissues; k++) {
                issue_t        *i  = g->issues[k];
                const nstate_t *ns = ns_find(i, s->ch);
                const char     *by = NULL;
                int notified = ns && ns->status == RS_ALERTING_ISSUE_FIRING;
                int st;

                any_notified |= notified;
                if (!i->open || !issue_routes_to(i, s->ch)) {
                        if (notified) {
                                picks[npick++] = (pick_t){
                                    i, RS_ALERTING_ISSUE_RESOLVED, NULL};
                                nr++;
                        }
                        continue;
                }
                st = mute_status(a, i, now, &by);
                if (st == RS_ALERTING_ISSUE_FIRING) {
                        picks[npick++] = (pick_t){i, st, NULL};
                        nf++;
                        nnew += !notified || ns->sev < i->sev;
                        continue;
                }
                nm++;
                /* One the channel knows as firing keeps that memory, so
                 * that it hears the resolve. */
                if (!notified &&
                    (!ns || ns->status == RS_ALERTING_ISSUE_RESOLVED ||
                     ns->sev < i->sev)) {
                        r = st == RS_ALERTING_ISSUE_SILENCED ? 0 : 1;
                        muted[r][nmute[r]++] = (pick_t){i, st, by};
                }
        }
        if (nf + nm + nr == 0) {
                free(picks);
                slot_forget(a, s);
                return 0;
        }

        send = nnew > 0 || nr > 0 ||
               (nf > 0 && (s->last_sent < 0 ||
                           s->last_sent <= now - a->conf.repeat_interval_ms));
        if (send) {
                if (!any_notified)
                        kind = RS_ALERTING_FIRING;
                else if (nf + nm == 0)
                        kind = RS_ALERTING_RESOLVED;
                else if (nnew || nr)
                        kind = RS_ALERTING_UPDATE;
                else
                        kind = RS_ALERTING_REPEAT;
        }
        /* Room for every nstate we are about to set. */
        for (k = 0; k < npick; k++)
                if (ns_reserve(picks[k].i))
                        goto nomem;
        for (r = 0; r < 2; r++)
                for (k = 0; k < nmute[r]; k++)
                        if (ns_reserve(muted[r][k].i))
                                goto nomem;
        if (send &&
            notice_add(a, s, picks, npick, kind, RS_ALERTING_SENT, ++seq, now))
                goto nomem;
        for (r = 0; r < 2; r++)
                if (nmute[r] &&
                    notice_add(
                        a, s, muted[r], nmute[r],
                        any_notified ? RS_ALERTING_UPDATE : RS_ALERTING_FIRING,
                        r == 0 ? RS_ALERTING_SILENCED : RS_ALERTING_INHIBITED,
                        ++seq, now))
                        goto nomem;

        /* Commit. */
        if (send) {
                for (k = 0; k < npick; k++)
                        ns_set(picks[k].i, s->ch, picks[k].status,
                               picks[k].i->sev);
                s->last_sent = now;
                a->st.notices_sent++;
        }
        for (r = 0; r < 2; r++) {
                for (k = 0; k < nmute[r]; k++)
                        ns_set(muted[r][k].i, s->ch, muted[r][k].status,
                               muted[r][k].i->sev);
                if (nmute[r] && r == 0)
                        a->st.notices_silenced++;
                else if (nmute[r])
                        a->st.notices_inhibited++;
        }
        s->seq = seq;
        if (send && kind == RS_ALERTING_RESOLVED) {
                s->cooling    = 1;
                s->until      = add_sat(now, a->conf.cooldown_ms);
                s->next_flush = s->until;
                s->held_since = -1;
        } else {
                s->next_flush = add_sat(now, a->conf.group_interval_ms);
        }
        goto out;
nomem:
        a->nnotices = saved;
        rc          = RS_ALERTING_ENOMEM;
out:
        free(picks);
        return rc;
}

static int slot_cmp(const void *pa, const void *pb) {
        const slot_t *x = *(slot_t *const *)pa, *y = *(slot_t *const *)pb;
        int           c = strcmp(x->grp->key, y->grp->key);

        return c ? c : strcmp(x->chname, y->chname);
}

static void silences_retire(rs_alerting_t *a, int64_t now) {
        size_t k, w = 0;

        for (k = 0; k < a->nsil; k++) {
                if (add_sat(a->sil[k].ends_ms, a->conf.silence_retention_ms) <=
                    now) {
                        silence_clear(&a->sil[k]);
                        continue;
                }
                due_at(a, add_sat(a->sil[k].ends_ms,
                                  a->conf.silence_retention_ms));
                a->sil[w++] = a->sil[k];
        }
        a->nsil = w;
}

int rs_alerting_tick(rs_alerting_t *a, int64_t now_ms,
                     const rs_alerting_notice_t **notices, size_t *cnt) {
        collect_t groups, issues;
        slot_t  **due  = NULL;
        size_t    ndue = 0, k, j;
        int64_t   now, t;
        int       rc = 0;

        if (notices)
                *notices = NULL;
        if (cnt)
                *cnt = 0;
        if (!a || !notices || !cnt)
                return RS_ALERTING_EINVAL;
        now = advance(a, now_ms);
        arena_free(&a->arena);
        a->nnotices = 0;
        a->next_due = INT64_MAX;
        silences_retire(a, now);

        if (dmap_values(&a->groups, &groups))
                return RS_ALERTING_ENOMEM;
        if (!(due = malloc((a->slot_cnt + 1) * sizeof(*due)))) {
                free(groups.v);
                return RS_ALERTING_ENOMEM;
        }
        for (k = 0; k < groups.n; k++) {
                group_t *g = groups.v[k];
                for (j = 0; j < g->nslots; j++)
                        if (g->slots[j]->next_flush <= now)
                                due[ndue++] = g->slots[j];
        }
        qsort(due, ndue, sizeof(*due), slot_cmp);
        for (k = 0; k < ndue; k++)
                if (flush(a, due[k], now))
                        rc = RS_ALERTING_ENOMEM;
        free(due);

        /* Forget resolved issues whose resolve is dealt with. */
        if (dmap_values(&a->issues, &issues) == 0) {
                for (k = 0; k < issues.n; k++) {
                        issue_t *i = issues.v[k];
                        if (i->open || issue_notified_firing(i))
                                continue;
                        t = add_sat(i->resolved_seen, a->conf.cooldown_ms);
                        if (t <= now)
                                issue_forget(a, i);
                        else
                                due_at(a, t);
                }
                free(issues.v);
        } else {
                rc = RS_ALERTING_ENOMEM;
        }
        for (k = 0; k < groups.n; k++) {
                group_t *g = groups.v[k];
                for (j = 0; j < g->nslots; j++)
                        due_at(a, g->slots[j]->next_flush);
                group_forget_if_empty(a, g);
        }
        free(groups.v);
        dmap_compact(&a->issues);
        dmap_compact(&a->groups);
        dmap_compact(&a->inhib);
        *notices = a->notices;
        *cnt     = a->nnotices;
        return rc;
}

int64_t rs_alerting_next_due(const rs_alerting_t *a) {
        return a ? a->next_due : INT64_MAX;
}

void rs_alerting_stats(const rs_alerting_t *a, rs_alerting_stats_t *out) {
        if (!out)
                return;
        memset(out, 0, sizeof(*out));
        if (!a)
                return;
        *out                = a->st;
        out->issues         = a->issues.live;
        out->groups         = a->groups.live;
        out->group_channels = a->slot_cnt;
        out->silences       = a->nsil;
}

/* ---- Silences ---------------------------------------------------------- */

static int matcher_valid(const char *m) {
        return m && *m;
}

int rs_alerting_silence_add(rs_alerting_t *a, const rs_alerting_silence_t *s,
                            int64_t now_ms, char id_out[33], char *errstr,
                            size_t errstr_size) {
        rs_alerting_silence_t  n;
        rs_alerting_severity_t sev;
        char                   idbuf[33];
        const char            *id;
        size_t                 k, pos;
        int                    ok = 1, c = 1;
        int64_t                now;

        if (!a || !s) {
                set_err(errstr, errstr_size, "no silence");
                return RS_ALERTING_EINVAL;
        }
        now = advance(a, now_ms);
        if (!matcher_valid(s->tenant_id) || !matcher_valid(s->route) ||
            !matcher_valid(s->kind) || !matcher_valid(s->severity)) {
                set_err(errstr, errstr_size,
                        "every matcher (tenant, route, kind, severity) needs "
                        "a value or \"*\"");
                return RS_ALERTING_EINVAL;
        }
        if (strcmp(s->severity, "*") &&
            rs_alerting_severity_parse(s->severity, &sev)) {
                set_err(errstr, errstr_size,
                        "unknown severity \"%s\" (expected low, medium, high, "
                        "critical or *)",
                        s->severity);
                return RS_ALERTING_EINVAL;
        }
        if (s->ends_ms <= s->starts_ms) {
                set_err(errstr, errstr_size,
                        "the silence ends before it "
                        "starts");
                return RS_ALERTING_EINVAL;
        }
        if (!s->comment || !*s->comment || !s->created_by || !*s->created_by) {
                set_err(errstr, errstr_size,
                        "a silence needs a comment and its creator");
                return RS_ALERTING_EINVAL;
        }
        if (s->id && *s->id) {
                id = s->id;
        } else {
                rs_id_t h;
                rs_id_init(&h, "silence");
                rs_id_add_str(&h, s->tenant_id);
                rs_id_add_str(&h, s->route);
                rs_id_add_str(&h, s->kind);
                rs_id_add_str(&h, s->severity);
                rs_id_add_i64(&h, s->starts_ms);
                rs_id_add_i64(&h, s->ends_ms);
                rs_id_add_str(&h, s->created_by);
                rs_id_add_str(&h, s->comment);
                rs_id_hex(&h, idbuf);
                id = idbuf;
        }
        for (pos = 0; pos < a->nsil; pos++)
                if ((c = strcmp(a->sil[pos].id, id)) >= 0)
                        break;
        if (pos == a->nsil || c != 0) {
                if (a->nsil >= a->conf.max_silences) {
                        set_err(errstr, errstr_size,
                                "too many silences (max_silences %zu)",
                                a->conf.max_silences);
                        return RS_ALERTING_EFULL;
                }
                if (reserve(&a->sil, &a->sil_cap, a->nsil + 1, sizeof(*a->sil)))
                        goto nomem;
        }
        memset(&n, 0, sizeof(n));
        n.id         = dup_opt(id, &ok);
        n.tenant_id  = dup_opt(s->tenant_id, &ok);
        n.route      = dup_opt(s->route, &ok);
        n.kind       = dup_opt(s->kind, &ok);
        n.severity   = dup_opt(s->severity, &ok);
        n.comment    = dup_opt(s->comment, &ok);
        n.created_by = dup_opt(s->created_by, &ok);
        n.starts_ms  = s->starts_ms;
        n.ends_ms    = s->ends_ms;
        n.created_ms = s->id && *s->id ? s->created_ms : now;
        if (!ok) {
                silence_clear(&n);
                goto nomem;
        }
        if (pos < a->nsil && c == 0) {
                if (!(s->id && *s->id)) /* created again: same silence */
                        n.created_ms = a->sil[pos].created_ms;
                silence_clear(&a->sil[pos]);
        } else {
                for (k = a->nsil; k > pos; k--)
                        a->sil[k] = a->sil[k - 1];
                a->nsil++;
        }
        a->sil[pos] = n;
        due_at(a, add_sat(n.ends_ms, a->conf.silence_retention_ms));
        if (id_out) {
                snprintf(id_out, 33, "%s", n.id);
        }
        return 0;
nomem:
        set_err(errstr, errstr_size, "out of memory");
        return RS_ALERTING_ENOMEM;
}

int rs_alerting_silence_expire(rs_alerting_t *a, const char *id,
                               int64_t now_ms) {
        size_t  k;
        int64_t now;

        if (!a || !id)
                return RS_ALERTING_ENOENT;
        now = advance(a, now_ms);
        for (k = 0; k < a->nsil; k++) {
                rs_alerting_silence_t *s = &a->sil[k];
                if (strcmp(s->id, id))
                        continue;
                if (s->ends_ms > now) {
                        if (s->starts_ms > now)
                                s->starts_ms = now;
                        s->ends_ms = now;
                        due_at(a, add_sat(now, a->conf.silence_retention_ms));
                }
                return 0;
        }
        return RS_ALERTING_ENOENT;
}

size_t rs_alerting_silence_cnt(const rs_alerting_t *a) {
        return a ? a->nsil : 0;
}

const rs_alerting_silence_t *rs_alerting_silence_get(const rs_alerting_t *a,
                                                     size_t               i) {
        return a && i < a->nsil ? &a->sil[i] : NULL;
}

const char *rs_alerting_silence_state(const rs_alerting_silence_t *s,
                                      int64_t                      now_ms) {
        if (!s || now_ms >= s->ends_ms)
                return "expired";
        return now_ms < s->starts_ms ? "pending" : "active";
}

/* ---- State ------------------------------------------------------------- */

static int issue_cmp(const void *pa, const void *pb) {
        const issue_t *x = *(issue_t *const *)pa, *y = *(issue_t *const *)pb;

        return strcmp(x->id, y->id);
}

/* "chat=firing/high,pager=resolved/critical" */
static void notified_text(const rs_alerting_t *a, const issue_t *i,
                          sbuf_t *sb) {
        size_t k;

        sb->len = 0;
        sb_printf(sb, "%s", "");
        for (k = 0; k < i->nns; k++)
                sb_printf(sb, "%s%s=%s/%s", k ? "," : "", a->chans[i->ns[k].ch],
                          rs_alerting_issue_status_name(
                              (rs_alerting_issue_status_t)i->ns[k].status),
                          sev_names[i->ns[k].sev]);
}

int rs_alerting_export(rs_alerting_t *a, rs_alerting_group_fn group_fn,
                       rs_alerting_issue_fn   issue_fn,
                       rs_alerting_silence_fn silence_fn, void *opaque) {
        collect_t groups = {0}, issues = {0};
        slot_t  **slots  = NULL;
        size_t    nslots = 0, k, j;
        sbuf_t    sb     = {0};
        int       rc     = 0;

        if (!a)
                return RS_ALERTING_EINVAL;
        if (group_fn) {
                if (dmap_values(&a->groups, &groups) ||
                    !(slots = malloc((a->slot_cnt + 1) * sizeof(*slots)))) {
                        rc = RS_ALERTING_ENOMEM;
                        goto out;
                }
                for (k = 0; k < groups.n; k++) {
                        group_t *g = groups.v[k];
                        for (j = 0; j < g->nslots; j++)
                                slots[nslots++] = g->slots[j];
                }
                qsort(slots, nslots, sizeof(*slots), slot_cmp);
                for (k = 0; k < nslots && !rc; k++) {
                        const slot_t           *s   = slots[k];
                        rs_alerting_group_row_t row = {
                            .group_key = s->grp->key,
                            .channel   = s->chname,
                            .tenant_id = s->grp->tenant,
                            .phase     = s->cooling ? "cooldown" : "active",
                            .epoch_issue_id    = s->epoch_issue,
                            .epoch_ms          = s->epoch_ms,
                            .seq               = s->seq,
                            .created_ms        = s->created,
                            .next_flush_ms     = s->next_flush,
                            .last_sent_ms      = s->last_sent,
                            .cooldown_until_ms = s->until,
                            .held_since_ms     = s->held_since,
                        };
                        rc = group_fn(&row, opaque);
                }
        }
        if (issue_fn && !rc) {
                if (dmap_values(&a->issues, &issues)) {
                        rc = RS_ALERTING_ENOMEM;
                        goto out;
                }
                qsort(issues.v, issues.n, sizeof(*issues.v), issue_cmp);
                for (k = 0; k < issues.n && !rc; k++) {
                        const issue_t *i = issues.v[k];
                        notified_text(a, i, &sb);
                        if (sb.oom) {
                                rc = RS_ALERTING_ENOMEM;
                                break;
                        }
                        rs_alerting_issue_row_t row = {
                            .issue_id         = i->id,
                            .tenant_id        = i->tenant,
                            .kind             = i->kind,
                            .route            = i->route,
                            .segment_type     = i->seg_type,
                            .segment_value    = i->seg_value,
                            .metric           = i->metric,
                            .severity         = sev_names[i->sev],
                            .state            = i->open ? "open" : "resolved",
                            .title            = i->title,
                            .observed         = i->observed,
                            .baseline         = i->baseline,
                            .threshold        = i->threshold,
                            .opened_at_ms     = i->opened_at,
                            .updated_at_ms    = i->updated_at,
                            .resolved_at_ms   = i->resolved_at,
                            .version          = i->version,
                            .resolved_seen_ms = i->resolved_seen,
                            .notified         = sb.s,
                        };
                        rc = issue_fn(&row, opaque);
                }
        }
        for (k = 0; silence_fn && !rc && k < a->nsil; k++)
                rc = silence_fn(&a->sil[k], opaque);
out:
        free(groups.v);
        free(issues.v);
        free(slots);
        free(sb.s);
        return rc;
}

int rs_alerting_import_group(rs_alerting_t                 *a,
                             const rs_alerting_group_row_t *row, char *errstr,
                             size_t errstr_size) {
        group_t *g;
        slot_t  *s;
        int      ch, cooling, rc;

        if (!a || !row || !row->group_key || !*row->group_key ||
            !row->channel || !row->tenant_id || !*row->tenant_id ||
            !row->phase || !row->epoch_issue_id || !*row->epoch_issue_id) {
                set_err(errstr, errstr_size, "group row: missing field");
                return RS_ALERTING_EINVAL;
        }
        if (!chan_name_ok(row->channel, strlen(row->channel))) {
                set_err(errstr, errstr_size, "group row: bad channel \"%s\"",
                        row->channel);
                return RS_ALERTING_EINVAL;
        }
        if (!strcmp(row->phase, "active"))
                cooling = 0;
        else if (!strcmp(row->phase, "cooldown"))
                cooling = 1;
        else {
                set_err(errstr, errstr_size, "group row: bad phase \"%s\"",
                        row->phase);
                return RS_ALERTING_EINVAL;
        }
        if ((rc = group_get(a, row->group_key, row->tenant_id, &g)))
                goto fail;
        if ((ch = chan_intern(a, row->channel, strlen(row->channel))) < 0) {
                rc = RS_ALERTING_ENOMEM;
                group_forget_if_empty(a, g);
                goto fail;
        }
        if (!(s = slot_find(g, (uint16_t)ch))) {
                if (!(s = slot_new(a, g, (uint16_t)ch, row->epoch_issue_id,
                                   row->epoch_ms, row->created_ms))) {
                        rc = RS_ALERTING_ENOMEM;
                        group_forget_if_empty(a, g);
                        goto fail;
                }
        } else {
                char *e =
                    dup_n(row->epoch_issue_id, strlen(row->epoch_issue_id));
                if (!e) {
                        rc = RS_ALERTING_ENOMEM;
                        goto fail;
                }
                free(s->epoch_issue);
                s->epoch_issue = e;
        }
        s->cooling    = cooling;
        s->epoch_ms   = row->epoch_ms;
        s->seq        = row->seq;
        s->created    = row->created_ms;
        s->next_flush = row->next_flush_ms;
        s->last_sent  = row->last_sent_ms;
        s->until      = row->cooldown_until_ms;
        s->held_since = row->held_since_ms;
        due_at(a, s->next_flush);
        return RS_ALERTING_ACCEPTED;
fail:
        if (rc == RS_ALERTING_ENOMEM)
                set_err(errstr, errstr_size, "out of memory");
        else if (rc == RS_ALERTING_OVERFLOW)
                set_err(errstr, errstr_size, "max_groups reached");
        return rc;
}

/* Parses "chat=firing/high,..." into the issue's nstates. */
static int parse_notified(rs_alerting_t *a, issue_t *i, const char *txt,
                          char *errstr, size_t errstr_size) {
        const char            *p = txt, *eq, *sl, *end;
        rs_alerting_severity_t sev;
        char                   sevbuf[16];
        int                    ch, st;

        while (*p) {
                end = strchr(p, ',');
                if (!end)
                        end = p + strlen(p);
                eq = memchr(p, '=', (size_t)(end - p));
                sl = eq ? memchr(eq, '/', (size_t)(end - eq)) : NULL;
                if (!eq || !sl || !chan_name_ok(p, (size_t)(eq - p)) ||
                    (st = issue_status_parse(eq + 1, (size_t)(sl - eq - 1))) <
                        0 ||
                    (size_t)(end - sl - 1) >= sizeof(sevbuf))
                        goto bad;
                memcpy(sevbuf, sl + 1, (size_t)(end - sl - 1));
                sevbuf[end - sl - 1] = '\0';
                if (rs_alerting_severity_parse(sevbuf, &sev))
                        goto bad;
                if ((ch = chan_intern(a, p, (size_t)(eq - p))) < 0 ||
                    ns_reserve(i)) {
                        set_err(errstr, errstr_size, "out of memory");
                        return RS_ALERTING_ENOMEM;
                }
                ns_set(i, (uint16_t)ch, st, (int)sev);
                if (*end && !end[1]) /* a trailing ',' */
                        goto bad;
                p = *end ? end + 1 : end;
        }
        return 0;
bad:
        set_err(errstr, errstr_size, "issue row %s: bad notified \"%s\"", i->id,
                txt);
        return RS_ALERTING_EINVAL;
}

int rs_alerting_import_issue(rs_alerting_t                 *a,
                             const rs_alerting_issue_row_t *row, char *errstr,
                             size_t errstr_size) {
        rs_alerting_severity_t sev;
        issue_t               *i;
        group_t               *g;
        size_t                 k;
        int                    open, rc;

        if (!a || !row || !row->issue_id || !*row->issue_id ||
            !row->tenant_id || !*row->tenant_id || !row->kind ||
            rs_alerting_severity_parse(row->severity, &sev) || !row->state ||
            (strcmp(row->state, "open") && strcmp(row->state, "resolved"))) {
                set_err(errstr, errstr_size,
                        "issue row: missing field, or bad severity or state");
                return RS_ALERTING_EINVAL;
        }
        open = !strcmp(row->state, "open");
        if (dmap_get(&a->issues, row->issue_id, strlen(row->issue_id))) {
                set_err(errstr, errstr_size, "issue row %s imported twice",
                        row->issue_id);
                return RS_ALERTING_EINVAL;
        }
        if ((rc = issue_create(a, row->issue_id, row->tenant_id, row->kind,
                               row->route, &i))) {
                set_err(errstr, errstr_size, "%s",
                        rc == RS_ALERTING_OVERFLOW ? "max_issues or max_groups "
                                                     "reached"
                                                   : "out of memory");
                return rc;
        }
        g = i->grp;
        if ((rc = issue_set_fields(i, row->title, row->segment_type,
                                   row->segment_value, row->metric)) ||
            (rc = parse_notified(a, i, row->notified ? row->notified : "",
                                 errstr, errstr_size))) {
                if (rc == RS_ALERTING_ENOMEM)
                        set_err(errstr, errstr_size, "out of memory");
                issue_forget(a, i);
                a->st.issues_forgotten--;
                group_forget_if_empty(a, g);
                return rc;
        }
        i->sev           = (int)sev;
        i->open          = open;
        i->observed      = row->observed;
        i->baseline      = row->baseline;
        i->threshold     = row->threshold;
        i->opened_at     = row->opened_at_ms;
        i->updated_at    = row->updated_at_ms;
        i->resolved_at   = open ? -1 : row->resolved_at_ms;
        i->version       = row->version;
        i->resolved_seen = open ? -1 : row->resolved_seen_ms;
        if ((rc = issue_attach(a, i, a->clock)))
                goto nomem;
        /* A channel told "firing" needs its slot to hear the resolve. */
        for (k = 0; k < i->nns; k++)
                if (i->ns[k].status == RS_ALERTING_ISSUE_FIRING &&
                    !slot_find(g, i->ns[k].ch) &&
                    !slot_new(a, g, i->ns[k].ch, i->id, i->updated_at,
                              a->clock))
                        goto nomem;
        return RS_ALERTING_ACCEPTED;
nomem:
        set_err(errstr, errstr_size, "out of memory");
        return RS_ALERTING_ENOMEM;
}

/* ---- Webhook body ------------------------------------------------------ */

typedef struct jw_s {
        char  *buf;
        size_t size, len;
        int    oom;
} jw_t;

static void jw_raw(jw_t *w, const char *s, size_t n) {
        if (w->buf && w->len + 1 < w->size) {
                size_t room = w->size - 1 - w->len;
                memcpy(w->buf + w->len, s, n < room ? n : room);
        }
        w->len += n;
}

static void jw_lit(jw_t *w, const char *s) {
        jw_raw(w, s, strlen(s));
}

static void jw_str(jw_t *w, const char *s) {
        size_t n, cap;
        char  *tmp;

        if (!s) {
                jw_lit(w, "null");
                return;
        }
        cap = 6 * strlen(s) + 1; /* \u00XX is the longest escape */
        if (!(tmp = malloc(cap))) {
                w->oom = 1;
                return;
        }
        n = rs_log_json_escape(tmp, cap, s);
        jw_raw(w, "\"", 1);
        jw_raw(w, tmp, n);
        jw_raw(w, "\"", 1);
        free(tmp);
}

static void jw_i64(jw_t *w, int64_t v) {
        char b[24];

        snprintf(b, sizeof(b), "%" PRId64, v);
        jw_lit(w, b);
}

/* The shortest %g that reads back exactly; null when not finite. */
static void jw_num(jw_t *w, double v) {
        char b[32];
        int  prec;

        if (!isfinite(v)) {
                jw_lit(w, "null");
                return;
        }
        for (prec = 15; prec <= 17; prec++) {
                snprintf(b, sizeof(b), "%.*g", prec, v);
                if (strtod(b, NULL) == v)
                        break;
        }
        jw_lit(w, b);
}

/* ms since the epoch -> "2026-01-02T03:04:05.678Z" (proleptic Gregorian,
 * days to civil date after Howard Hinnant's algorithm). */
static void iso_time(int64_t ms, char out[64]) {
        int64_t days = ms / 86400000, rem = ms % 86400000, z, era, doe, yoe;
        int64_t y, doy, mp, d, m;

        if (rem < 0) {
                rem += 86400000;
                days--;
        }
        z   = days + 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = z - era * 146097;
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y   = yoe + era * 400;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp  = (5 * doy + 2) / 153;
        d   = doy - (153 * mp + 2) / 5 + 1;
        m   = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        snprintf(out, 64,
                 "%04" PRId64 "-%02" PRId64 "-%02" PRId64
                 "T%02d:%02d:%02d.%03dZ",
                 y, m, d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
                 (int)(rem / 1000 % 60), (int)(rem % 1000));
}

size_t rs_alerting_notice_json(const rs_alerting_notice_t *n, char *buf,
                               size_t size) {
        jw_t        w = {buf, size, 0, 0};
        char        ts[64];
        size_t      k, tl, sl;
        char       *text;
        const char *sev;

        if (buf && size > 0)
                buf[0] = '\0';
        if (!n || !n->title || !n->summary || (n->entry_cnt && !n->entries))
                return 0;
        sev = rs_alerting_severity_name(n->severity);
        tl  = strlen(n->title);
        sl  = strlen(n->summary);
        if (!(text = malloc(tl + sl + 2)))
                return 0;
        memcpy(text, n->title, tl);
        text[tl] = '\n';
        memcpy(text + tl + 1, n->summary, sl + 1);

        jw_lit(&w, "{\"text\":");
        jw_str(&w, text);
        free(text);
        jw_lit(&w, ",\"event_action\":");
        jw_lit(&w,
               n->kind == RS_ALERTING_RESOLVED ? "\"resolve\"" : "\"trigger\"");
        jw_lit(&w, ",\"dedup_key\":");
        jw_str(&w, n->dedup_key);
        jw_lit(&w, ",\"payload\":{\"summary\":");
        jw_str(&w, n->title);
        jw_lit(&w, ",\"source\":");
        jw_str(&w, n->tenant_id);
        jw_lit(&w, ",\"severity\":");
        jw_str(&w, (unsigned)n->severity < ARRAY_CNT(sev_pd)
                       ? sev_pd[n->severity]
                       : "info");
        iso_time(n->created_at_ms, ts);
        jw_lit(&w, ",\"timestamp\":");
        jw_str(&w, ts);
        jw_lit(&w, ",\"group\":");
        jw_str(&w, n->group_key);
        jw_lit(&w, "},\"alert_id\":");
        jw_str(&w, n->alert_id);
        jw_lit(&w, ",\"status\":");
        jw_lit(&w,
               n->kind == RS_ALERTING_RESOLVED ? "\"resolved\"" : "\"firing\"");
        jw_lit(&w, ",\"kind\":");
        jw_str(&w, rs_alerting_kind_name(n->kind));
        jw_lit(&w, ",\"notice\":");
        jw_str(&w, rs_alerting_status_name(n->status));
        jw_lit(&w, ",\"severity\":");
        jw_str(&w, sev);
        jw_lit(&w, ",\"tenant\":");
        jw_str(&w, n->tenant_id);
        jw_lit(&w, ",\"group\":");
        jw_str(&w, n->group_key);
        jw_lit(&w, ",\"channel\":");
        jw_str(&w, n->channel);
        jw_lit(&w, ",\"seq\":");
        jw_i64(&w, n->seq);
        jw_lit(&w, ",\"created_at\":");
        jw_i64(&w, n->created_at_ms);
        jw_lit(&w, ",\"title\":");
        jw_str(&w, n->title);
        jw_lit(&w, ",\"summary\":");
        jw_str(&w, n->summary);
        jw_lit(&w, ",\"issues\":[");
        for (k = 0; k < n->entry_cnt; k++) {
                const rs_alerting_entry_t *e = &n->entries[k];
                jw_lit(&w, k ? ",{\"id\":" : "{\"id\":");
                jw_str(&w, e->issue_id);
                jw_lit(&w, ",\"kind\":");
                jw_str(&w, e->kind);
                jw_lit(&w, ",\"severity\":");
                jw_str(&w, e->severity);
                jw_lit(&w, ",\"status\":");
                jw_str(&w, rs_alerting_issue_status_name(e->status));
                jw_lit(&w, ",\"state\":");
                jw_str(&w, e->state);
                jw_lit(&w, ",\"title\":");
                jw_str(&w, e->title);
                jw_lit(&w, ",\"route\":");
                jw_str(&w, e->route);
                jw_lit(&w, ",\"segment_type\":");
                jw_str(&w, e->segment_type);
                jw_lit(&w, ",\"segment_value\":");
                jw_str(&w, e->segment_value);
                jw_lit(&w, ",\"metric\":");
                jw_str(&w, e->metric);
                jw_lit(&w, ",\"observed\":");
                jw_num(&w, e->observed);
                jw_lit(&w, ",\"baseline\":");
                jw_num(&w, e->baseline);
                jw_lit(&w, ",\"threshold\":");
                jw_num(&w, e->threshold);
                jw_lit(&w, ",\"opened_at\":");
                jw_i64(&w, e->opened_at_ms);
                jw_lit(&w, ",\"updated_at\":");
                jw_i64(&w, e->updated_at_ms);
                jw_lit(&w, ",\"resolved_at\":");
                if (e->resolved_at_ms < 0)
                        jw_lit(&w, "null");
                else
                        jw_i64(&w, e->resolved_at_ms);
                jw_lit(&w, ",\"version\":");
                jw_i64(&w, e->version);
                jw_lit(&w, ",\"muted_by\":");
                jw_str(&w, e->muted_by);
                jw_lit(&w, "}");
        }
        jw_lit(&w, "]}");
        if (buf && size > 0)
                buf[w.len < size ? w.len : size - 1] = '\0';
        if (w.oom) {
                if (buf && size > 0)
                        buf[0] = '\0';
                return 0;
        }
        return w.len;
}
