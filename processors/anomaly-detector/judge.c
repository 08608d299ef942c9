/*
 * anomaly-detector: series, judging, issues, state and its reload.
 *
 * A partition keeps its series in a map keyed by (tenant, route, segment
 * type, segment value, metric); each series holds a ring of its last
 * ring_cap stored windows (oldest at head) and a lifecycle per kind. A
 * closed window is judged in two passes: first every series of the window
 * gets its point (so a route's devices are current when the route's issue
 * explains itself), then each series is judged in key order, the route's
 * "all" series before its segments (see detector.h for why the order
 * matters).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/window.h"

#include "internal.h"

size_t ad_series_key(char *buf, size_t size, const char *tenant,
                     const char *route, const char *type, const char *value,
                     const char *metric) {
        const char *parts[5] = {tenant, route, type, value, metric};
        size_t      len      = 0, i, n;

        for (i = 0; i < 5 && parts[i]; i++) {
                n = strlen(parts[i]) + 1;
                if (len + n > size)
                        return 0;
                memcpy(buf + len, parts[i], n);
                len += n;
        }
        return len ? len - 1 : 0;
}

static void series_free(series_t *s) {
        if (!s)
                return;
        free(s->tenant);
        free(s->route);
        free(s->seg_type);
        free(s->seg_value);
        free(s->ring);
        free(s);
}

static void series_free_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        series_free(value);
}

dpart_t *ad_part_new(int32_t partition) {
        dpart_t *dp = calloc(1, sizeof(*dp));

        if (!dp || !(dp->series = rs_map_new()))
                ad_oom();
        dp->partition    = partition;
        dp->pruned_at    = RS_WINDOW_NONE;
        dp->prune_cutoff = RS_WINDOW_NONE;
        return dp;
}

void ad_part_free(dpart_t *dp) {
        if (!dp)
                return;
        rs_map_foreach(dp->series, series_free_cb, NULL);
        rs_map_destroy(dp->series);
        free(dp);
}

static series_t *series_get(detector_t *d, dpart_t *dp, const char *tenant,
                            const char *route, const char *type,
                            const char *value, int metric, int create) {
        char       key[RS_EVENT_MAX_TENANT_LEN + 640];
        size_t     klen = ad_series_key(key, sizeof(key), tenant, route, type,
                                        value, d->metric[metric]);
        series_t **slot;
        series_t  *s;
        int        created, k;

        if (!klen)
                return NULL;
        if (!create) {
                slot = (series_t **)rs_map_get(dp->series, key, klen);
                return slot ? *slot : NULL;
        }
        slot = (series_t **)rs_map_get(dp->series, key, klen);
        if (slot && *slot)
                return *slot;
        if (dp->series_cnt >= (size_t)d->conf->max_series)
                return NULL;
        slot = (series_t **)rs_map_put(dp->series, key, klen, &created);
        if (!slot || !(s = calloc(1, sizeof(*s))) ||
            !(s->ring = calloc(d->ring_cap, sizeof(*s->ring))))
                ad_oom();
        s->tenant    = ad_strdup(tenant);
        s->route     = ad_strdup(route);
        s->seg_type  = ad_strdup(type);
        s->seg_value = ad_strdup(value);
        s->metric    = metric;
        s->is_all    = !strcmp(type, "all");
        s->tc        = ad_tconf(d, tenant);
        for (k = 0; k < AD_NKIND; k++) {
                rs_detect_state_init(&s->st[k]);
                s->changed_at[k] = RS_WINDOW_NONE;
        }
        *slot = s;
        dp->series_cnt++;
        return s;
}

static const point_t *ring_at(const detector_t *d, const series_t *s,
                              size_t i) {
        return &s->ring[(s->head + i) % d->ring_cap];
}

/* The end of the history a pending or open breach froze, or INT64_MAX. */
static int64_t series_freeze(const series_t *s) {
        int64_t f = INT64_MAX, e;
        int     k;

        for (k = 0; k < AD_NKIND; k++)
                if ((e = rs_detect_state_end(&s->st[k], INT64_MAX)) < f)
                        f = e;
        return f;
}

/* Appends \p p. A full ring drops its oldest point, unless that point is
 * one of the newest `history` points before a freeze (the frozen
 * baseline, however long the breach lasts): then the oldest point after
 * the freeze goes. The content is a function of the points and the
 * freeze, which is what lets ad_part_load() rebuild it. */
static void ring_push(const detector_t *d, series_t *s, const point_t *p) {
        size_t  cap = d->ring_cap, npre = 0, i;
        int64_t f;

        if (s->cnt < cap) {
                s->ring[(s->head + s->cnt) % cap] = *p;
                s->cnt++;
                return;
        }
        f = series_freeze(s);
        while (npre < s->cnt && s->ring[(s->head + npre) % cap].ts < f)
                npre++;
        if (f == INT64_MAX || npre == 0 || npre > d->def.dconf.history ||
            npre == s->cnt) {
                s->ring[s->head] = *p;
                s->head          = (s->head + 1) % cap;
                return;
        }
        for (i = npre; i + 1 < s->cnt; i++)
                s->ring[(s->head + i) % cap] = s->ring[(s->head + i + 1) % cap];
        s->ring[(s->head + s->cnt - 1) % cap] = *p;
}

/* The ring as baseline points (few-sample windows are no data) and as
 * windows; the last window is the current one when \p cur. */
static size_t ring_fill(detector_t *d, const series_t *s, int cur) {
        size_t i;

        for (i = 0; i < s->cnt; i++) {
                const point_t *p = ring_at(d, s, i);
                d->pts[i].ts_ms  = p->ts;
                d->pts[i].value =
                    p->samples >= s->tc->dconf.min_samples ? p->p75 : NAN;
                d->wins[i].ts_ms   = p->ts;
                d->wins[i].value   = p->p75;
                d->wins[i].samples = p->samples;
                d->wins[i].ci_lo   = NAN;
                d->wins[i].ci_hi   = NAN;
        }
        if (cur && s->cnt)
                d->wins[s->cnt - 1] = s->cur;
        return s->cnt;
}

/*
 * Issues.
 */
static void issue_id(const series_t *s, int kind, int64_t opened,
                     const char *metric, char out[33]) {
        rs_id_t h;

        rs_id_init(&h, "issue");
        rs_id_add_str(&h, s->tenant);
        rs_id_add_str(&h, ad_kind_name[kind]);
        rs_id_add_str(&h, s->route);
        rs_id_add_str(&h, s->seg_type);
        rs_id_add_str(&h, s->seg_value);
        rs_id_add_str(&h, metric);
        rs_id_add_i64(&h, opened);
        rs_id_hex(&h, out);
}

static void fmt_num(const detector_t *d, const series_t *s, double v, char *buf,
                    size_t size) {
        if (!isfinite(v))
                snprintf(buf, size, "n/a");
        else if (s->metric == d->rate_metric)
                snprintf(buf, size, "%.2f%%", 100 * v);
        else if (!strcmp(d->metric[s->metric], "cls"))
                snprintf(buf, size, "%.3f", v);
        else
                snprintf(buf, size, "%.0f ms", v);
}

/* Issue version of \p kind for series jl[i] (explained against \p eb, the
 * regression baseline, when it is a route). */

/* Which devices drove the change of route series \p s (judged at
 * jl[i]): the devices judged in the same window, each against its own
 * baseline over the history \p b used. */
static void explain(detector_t *d, series_t *s, series_t **jl, size_t i,
                    size_t jn, const rs_detect_baseline_t *b,
                    rs_issue_draft_t *dr) {
        rs_detect_segment_t segs[16];
        rs_detect_explain_t e;
        char                text[RS_ISSUES_EVIDENCE_VALUE], list[512];
        size_t              n = 0, j, len = 0;

        rs_detect_conf_t rel = s->tc->dconf;

        /* A device's ring is not frozen: its baseline takes what is left
         * of the route's baseline windows. */
        rel.min_history = 1;
        if (!d->has_device || !b->valid)
                return;
        for (j = i + 1; j < jn && n < 16; j++) {
                series_t            *dv = jl[j];
                rs_detect_baseline_t db;
                size_t               cnt, k, used = 0;
                double               share = 0;
                if (strcmp(dv->tenant, s->tenant) ||
                    strcmp(dv->route, s->route))
                        break;
                if (dv->metric != s->metric || strcmp(dv->seg_type, "device") ||
                    !isfinite(dv->cur.value))
                        continue;
                cnt = ring_fill(d, dv, 0);
                rs_detect_baseline(&rel, d->pts, cnt, b->now_ms, b->end_ms,
                                   d->scratch, &db);
                /* Page views over the baseline's windows. */
                for (k = cnt; k-- > 0 && used < d->def.dconf.history;) {
                        if (d->pts[k].ts_ms >= b->end_ms ||
                            !isfinite(d->pts[k].value))
                                continue;
                        share += ring_at(d, dv, k)->samples;
                        used++;
                }
                segs[n].name       = dv->seg_value;
                segs[n].base_share = db.valid ? share : 0;
                segs[n].base_p75   = db.valid ? db.level : NAN;
                segs[n].cur_share  = dv->cur.samples;
                segs[n].cur_p75    = dv->cur.value;
                n++;
        }
        if (!n || rs_detect_explain(segs, n, &e) != 0)
                return;
        rs_detect_explain_text(segs, n, &e, d->metric_label[s->metric], text,
                               sizeof(text));
        rs_issue_draft_evidence(dr, "explanation", "%s", text);
        list[0] = '\0';
        for (j = 0; j < n && len < sizeof(list); j++) {
                int w = snprintf(list + len, sizeof(list) - len,
                                 "%s%s %.4g -> %.4g (%.0f -> %.0f views)",
                                 j ? "; " : "", segs[j].name, segs[j].base_p75,
                                 segs[j].cur_p75, segs[j].base_share,
                                 segs[j].cur_share);
                if (w < 0)
                        break;
                len += (size_t)w;
        }
        rs_issue_draft_evidence(dr, "segments", "%s", list);
}

static int publish(detector_t *d, series_t *s, int kind, rs_detect_event_t ev,
                   const rs_detect_verdict_t *v, const rs_detect_baseline_t *b,
                   const rs_detect_baseline_t *eb, const rs_detect_rule_t *rule,
                   int64_t size, series_t **jl, size_t i, size_t jn) {
        const rs_detect_state_t *st     = &s->st[kind];
        const char              *mlabel = d->metric_label[s->metric];
        rs_issue_draft_t        *dr;
        char                     obs[32], exp[32], ts[40];
        double                   thr = NAN;

        if (ev == RS_DETECT_EVENT_OPEN)
                issue_id(s, kind, st->opened_ms, d->metric[s->metric],
                         s->issue_id[kind]);
        dr = rs_issues_start(
            d->issues, s->issue_id[kind], s->tenant, ad_kind_name[kind],
            rs_detect_event_name(ev),
            rs_detect_severity_name((rs_detect_severity_t)st->severity),
            st->version, st->opened_ms, s->cur.ts_ms + size);
        snprintf(dr->route, sizeof(dr->route), "%s", s->route);
        snprintf(dr->segment_type, sizeof(dr->segment_type), "%s", s->seg_type);
        snprintf(dr->segment_value, sizeof(dr->segment_value), "%s",
                 s->seg_value);
        snprintf(dr->metric, sizeof(dr->metric), "%s", d->metric[s->metric]);
        dr->is.route         = dr->route;
        dr->is.segment_type  = dr->segment_type;
        dr->is.segment_value = dr->segment_value;
        dr->is.metric        = dr->metric;
        dr->is.observed      = s->cur.value;
        dr->is.sample_size   = (int64_t)s->cur.samples;
        if (kind == AD_BUDGET) {
                thr = v->expected;
        } else if (b && b->valid) {
                dr->is.baseline = b->level;
                thr             = b->level * (1 + s->tc->dconf.min_degradation);
                if (b->level + s->tc->dconf.z_threshold * b->spread > thr)
                        thr = b->level + s->tc->dconf.z_threshold * b->spread;
        }
        dr->is.threshold = thr;
        fmt_num(d, s, s->cur.value, obs, sizeof(obs));
        fmt_num(d, s, kind == AD_BUDGET ? thr : dr->is.baseline, exp,
                sizeof(exp));
        snprintf(dr->title, sizeof(dr->title), "%s %s on %s (%s%s%s): %s %s %s",
                 mlabel,
                 kind == AD_REG     ? "regressed"
                 : kind == AD_SHIFT ? "shifted up"
                                    : "over budget",
                 s->route, s->is_all ? "all traffic" : s->seg_type,
                 s->is_all ? "" : " ", s->is_all ? "" : s->seg_value, obs,
                 kind == AD_BUDGET ? "against a budget of" : "against", exp);
        rs_pg_timestamp(s->cur.ts_ms, ts, sizeof(ts));
        rs_issue_draft_evidence(dr, "window", "%s", ts);
        rs_issue_draft_evidence(dr, "window_ms", "%" PRId64, size);
        rs_pg_timestamp(st->since_ms, ts, sizeof(ts));
        rs_issue_draft_evidence(dr, "breach_since", "%s", ts);
        if (isfinite(v->degradation))
                rs_issue_draft_evidence(dr, "degradation_pct", "%.1f",
                                        100 * v->degradation);
        if (isfinite(v->score))
                rs_issue_draft_evidence(dr, "robust_score", "%.2f", v->score);
        rs_issue_draft_evidence(
            dr, s->metric == d->rate_metric ? "rate_ci" : "p75_ci",
            "[%.6g, %.6g]", s->cur.ci_lo, s->cur.ci_hi);
        rs_issue_draft_evidence(dr, "samples", "%.0f", s->cur.samples);
        if (b && b->valid) {
                rs_issue_draft_evidence(dr, "baseline_windows", "%zu", b->n);
                rs_issue_draft_evidence(dr, "baseline_spread", "%.6g",
                                        b->spread);
                rs_issue_draft_evidence(dr, "season", "%s",
                                        rs_detect_season_name(b->season));
        }
        if (rule)
                rs_issue_draft_evidence(
                    dr, "rule", "%s %s %g for %u windows: %s", rule->metric,
                    rs_detect_op_name(rule->op), rule->threshold,
                    rule->for_windows, rs_detect_severity_name(rule->severity));
        if (s->is_all && eb)
                explain(d, s, jl, i, jn, eb, dr);
        if (rs_issues_publish(d->issues, rs_stream_producer(d->stream), dr) ==
            -1)
                return -1;
        rs_counter_add(d->c_issues, 1);
        return 0;
}

/*
 * Judging.
 */
static int active(const rs_detect_state_t *st) {
        return st->open || st->breach_run > 0;
}

static int feed(series_t *s, int kind, const rs_detect_verdict_t *v,
                rs_detect_event_t *evp) {
        rs_detect_state_t        before = s->st[kind];
        const rs_detect_state_t *a = &before, *b = &s->st[kind];

        *evp = rs_detect_feed(&s->tc->lconf[kind], &s->st[kind], v);
        if (a->open != b->open || a->severity != b->severity ||
            a->breach_run != b->breach_run ||
            a->healthy_run != b->healthy_run ||
            a->change_run != b->change_run || a->version != b->version ||
            a->since_ms != b->since_ms || a->opened_ms != b->opened_ms ||
            a->freeze_ms != b->freeze_ms ||
            memcmp(&a->noticed_value, &b->noticed_value, sizeof(double)) ||
            memcmp(&a->noticed_expected, &b->noticed_expected,
                   sizeof(double))) {
                s->dirty[kind]      = 1;
                s->changed_at[kind] = s->cur.ts_ms;
        }
        return 0;
}

static int judge_series(detector_t *d, dpart_t *dp, series_t **jl, size_t i,
                        size_t jn, int64_t size) {
        series_t               *s = jl[i], *parent = NULL;
        const rs_detect_rule_t *rules = NULL, *win_rule = NULL;
        rs_detect_baseline_t    b, breg;
        rs_detect_verdict_t     v;
        rs_detect_shift_t       sh;
        rs_detect_event_t       ev;
        size_t                  n, k, nrules;
        int64_t                 now           = s->cur.ts_ms;
        int                     parent_active = 0;

        if (!s->is_all) {
                parent = series_get(d, dp, s->tenant, s->route, "all", "all",
                                    s->metric, 0);
                parent_active = parent && (active(&parent->st[AD_REG]) ||
                                           active(&parent->st[AD_SHIFT]));
        }
        n = ring_fill(d, s, 1);
        rs_counter_add(d->c_judged, 1);

        /* Regression. */
        rs_detect_baseline(&s->tc->dconf, d->pts, n, now,
                           rs_detect_state_end(&s->st[AD_REG], now), d->scratch,
                           &b);
        if (s->metric == d->rate_metric)
                rs_detect_rate_spread(&b, s->cur.samples);
        breg = b;
        rs_detect_regression(&s->tc->dconf, &b, &s->cur, &v);
        if (!s->st[AD_REG].open && parent_active)
                v.status = RS_DETECT_NO_DATA;
        feed(s, AD_REG, &v, &ev);
        if (ev != RS_DETECT_EVENT_NONE &&
            publish(d, s, AD_REG, ev, &v, &b, &b, NULL, size, jl, i, jn) == -1)
                return -1;

        /* Level shift over the last shift_windows stored windows. */
        k = s->tc->dconf.shift_windows;
        if (n >= k) {
                const rs_detect_window_t *recent = d->wins + n - k;
                int64_t                   first  = recent[0].ts_ms,
                        mid                      = recent[(k - 1) / 2].ts_ms;
                rs_detect_baseline(&s->tc->dconf, d->pts, n, mid,
                                   rs_detect_state_end(&s->st[AD_SHIFT], first),
                                   d->scratch, &b);
                if (s->metric == d->rate_metric)
                        rs_detect_rate_spread(&b, s->cur.samples);
                rs_detect_level_shift(&s->tc->dconf, &b, recent, k, &sh);
                v       = sh.verdict;
                v.ts_ms = now;
                if (!s->st[AD_SHIFT].open &&
                    (active(&s->st[AD_REG]) || parent_active))
                        v.status = RS_DETECT_NO_DATA;
                feed(s, AD_SHIFT, &v, &ev);
                if (ev != RS_DETECT_EVENT_NONE &&
                    publish(d, s, AD_SHIFT, ev, &v, &b, &b, NULL, size, jl, i,
                            jn) == -1)
                        return -1;
        }

        /* Budgets: promises about the route as a whole. */
        if (!s->is_all)
                return 0;
        nrules = rs_detect_rules_find(d->rules, s->tenant, d->metric[s->metric],
                                      &rules);
        if (!nrules && !s->st[AD_BUDGET].open)
                return 0;
        rs_detect_budget(&s->tc->dconf, rules, nrules, d->wins, n, &v);
        feed(s, AD_BUDGET, &v, &ev);
        if (ev == RS_DETECT_EVENT_NONE)
                return 0;
        if (v.rule >= 0 && (size_t)v.rule < nrules)
                win_rule = &rules[v.rule];
        else if (isfinite(s->st[AD_BUDGET].noticed_expected))
                for (k = 0; k < nrules; k++)
                        if (rules[k].threshold ==
                            s->st[AD_BUDGET].noticed_expected)
                                win_rule = &rules[k];
        if (ev == RS_DETECT_EVENT_RESOLVED)
                v.expected = s->st[AD_BUDGET].noticed_expected;
        return publish(d, s, AD_BUDGET, ev, &v, NULL, &breg, win_rule, size, jl,
                       i, jn);
}

typedef struct cref_s {
        const char *key;
        void       *value;
} cref_t;

typedef struct collect_s {
        cref_t *refs;
        size_t  cnt;
} collect_t;

static void collect_cb(const void *key, size_t len, void *value, void *opaque) {
        collect_t *c = opaque;

        (void)len;
        c->refs[c->cnt].key   = key;
        c->refs[c->cnt].value = value;
        c->cnt++;
}

/* The entries of \p m sorted by \p cmp; refs freed by the caller. */
static collect_t collect(rs_map_t *m, int (*cmp)(const void *, const void *)) {
        collect_t c = {NULL, 0};

        if (!(c.refs =
                  calloc(rs_map_size(m) ? rs_map_size(m) : 1, sizeof(*c.refs))))
                ad_oom();
        rs_map_foreach(m, collect_cb, &c);
        qsort(c.refs, c.cnt, sizeof(*c.refs), cmp);
        return c;
}


/* tenant, route, then "all" first, then type and value. */
static int cref_cmp(const void *a, const void *b) {
        const char *ka = ((const cref_t *)a)->key;
        const char *kb = ((const cref_t *)b)->key;
        int         i, r;

        for (i = 0; i < 4; i++) {
                if (i == 2) {
                        int aa = !strcmp(ka, "all"), ba = !strcmp(kb, "all");
                        if (aa != ba)
                                return ba - aa;
                }
                if ((r = strcmp(ka, kb)))
                        return r;
                ka += strlen(ka) + 1;
                kb += strlen(kb) + 1;
        }
        return 0;
}

static void series_row(detector_t *d, const dpart_t *dp, const series_t *s) {
        rs_pg_batch_t *b = d->b_series;
        char           ts[40];

        rs_pg_batch_str(b, s->tenant);
        rs_pg_batch_str(b, s->route);
        rs_pg_batch_str(b, s->seg_type);
        rs_pg_batch_str(b, s->seg_value);
        rs_pg_batch_str(b, d->metric[s->metric]);
        rs_pg_timestamp(s->cur.ts_ms, ts, sizeof(ts));
        rs_pg_batch_str(b, ts);
        rs_pg_batch_i64(b, dp->partition);
        rs_pg_batch_f64(b, s->cur.value);
        rs_pg_batch_f64(b, s->cur.samples);
        rs_pg_batch_f64(b, s->cur.ci_lo);
        rs_pg_batch_f64(b, s->cur.ci_hi);
        rs_pg_batch_row_end(b);
}

/* Window \p w becomes the current point of \p s: ring and row. */
static void add_point(detector_t *d, const dpart_t *dp, series_t *s,
                      const rs_detect_window_t *w) {
        point_t p;

        s->cur    = *w;
        p.ts      = w->ts_ms;
        p.p75     = w->value;
        p.samples = w->samples;
        ring_push(d, s, &p);
        series_row(d, dp, s);
}

int ad_judge_window(detector_t *d, dpart_t *dp, int64_t start, int64_t size,
                    rs_map_t *cells) {
        collect_t  c;
        size_t     nc = rs_map_size(cells), i, jn = 0;
        series_t **jl = NULL;
        int        m, rc = 0;

        if (!nc)
                return 0;
        if (!(jl = calloc(nc * (size_t)d->metric_cnt, sizeof(*jl))))
                ad_oom();
        c = collect(cells, cref_cmp);

        /* Pass 1: every series of the window gets its point. */
        for (i = 0; i < c.cnt; i++) {
                const char *tenant = c.refs[i].key;
                const char *route  = tenant + strlen(tenant) + 1;
                const char *type   = route + strlen(route) + 1;
                const char *value  = type + strlen(type) + 1;
                cell_t     *cell   = c.refs[i].value;
                for (m = 0; m < d->metric_cnt; m++) {
                        series_t          *s;
                        rs_detect_window_t w;
                        if (!cell->sk[m] || !(rs_sketch_count(cell->sk[m]) > 0))
                                continue;
                        if (!(s = series_get(d, dp, tenant, route, type, value,
                                             m, 1))) {
                                rs_counter_add(d->c_overflow, 1);
                                continue;
                        }
                        rs_detect_window_from_sketch(&d->def.dconf, cell->sk[m],
                                                     start, &w);
                        /* Sampled traffic is re-weighted: the interval
                         * rests on the page views actually measured. */
                        if (cell->samples[m] > 0 &&
                            (double)cell->samples[m] != w.samples) {
                                w.samples = (double)cell->samples[m];
                                if (rs_detect_quantile_ci(
                                        w.samples, 0.75, d->def.dconf.ci_level,
                                        rs_detect_sketch_quantile, cell->sk[m],
                                        &w.ci_lo, &w.ci_hi) != 0) {
                                        w.ci_lo = NAN;
                                        w.ci_hi = NAN;
                                }
                        }
                        add_point(d, dp, s, &w);
                        jl[jn++] = s;
                }
        }
        /* Pass 2: judge, the route before its segments. */
        for (i = 0; i < jn && rc == 0; i++)
                rc = judge_series(d, dp, jl, i, jn, size);
        free(c.refs);
        free(jl);
        return rc;
}

/* tenant, then route. */
static int rref_cmp(const void *a, const void *b) {
        const char *ka = ((const cref_t *)a)->key;
        const char *kb = ((const cref_t *)b)->key;
        int         r  = strcmp(ka, kb);

        return r ? r : strcmp(ka + strlen(ka) + 1, kb + strlen(kb) + 1);
}

int ad_judge_rates(detector_t *d, dpart_t *dp, int64_t start, int64_t size,
                   rs_map_t *win) {
        collect_t  c;
        size_t     nc = rs_map_size(win), i, jn = 0;
        series_t **jl = NULL;
        int        rc = 0;

        if (!nc || !dp)
                return 0;
        if (!(jl = calloc(nc, sizeof(*jl))))
                ad_oom();
        c = collect(win, rref_cmp);
        for (i = 0; i < c.cnt; i++) {
                const char        *tenant = c.refs[i].key;
                const char        *route  = tenant + strlen(tenant) + 1;
                const rate_pend_t *p      = c.refs[i].value;
                rs_detect_window_t w;
                series_t          *s;
                /* No page views: no rate (errors of a route the
                 * aggregator has not seen count nowhere). */
                if (!p->has_pv || !(p->page_views > 0))
                        continue;
                if (rs_detect_window_from_rate(
                        (double)p->errors, p->weighted, p->page_views,
                        d->def.dconf.ci_level, start, &w) != 0)
                        continue;
                if (!(s = series_get(d, dp, tenant, route, "all", "all",
                                     d->rate_metric, 1))) {
                        rs_counter_add(d->c_overflow, 1);
                        continue;
                }
                add_point(d, dp, s, &w);
                jl[jn++] = s;
        }
        for (i = 0; i < jn && rc == 0; i++)
                rc = judge_series(d, dp, jl, i, jn, size);
        free(c.refs);
        free(jl);
        return rc;
}

/*
 * Retention.
 */
typedef struct evict_s {
        detector_t *d;
        dpart_t    *dp;
        rs_map_t   *keep;
        int64_t     cutoff;
} evict_t;

static void evict_cb(const void *key, size_t len, void *value, void *opaque) {
        evict_t   *x = opaque;
        series_t  *s = value;
        series_t **slot;
        int        created, k, live = 0;

        if (!s)
                return;
        while (s->cnt && s->ring[s->head].ts < x->cutoff) {
                s->head = (s->head + 1) % x->d->ring_cap;
                s->cnt--;
        }
        for (k = 0; k < AD_NKIND; k++)
                live |= active(&s->st[k]);
        if (!s->cnt && !live) {
                series_free(s);
                x->dp->series_cnt--;
                return;
        }
        if (!(slot = (series_t **)rs_map_put(x->keep, key, len, &created)))
                ad_oom();
        *slot = s;
}

static int64_t floor_to(int64_t v, int64_t step) {
        int64_t q = v / step;
        if (v % step && v < 0)
                q--;
        return q * step;
}

void ad_prune(detector_t *d, dpart_t *dp, int64_t closed_until) {
        int64_t boundary;
        evict_t x;

        if (closed_until == RS_WINDOW_NONE)
                return;
        boundary = floor_to(closed_until, d->conf->prune_every_ms);
        if (dp->pruned_at != RS_WINDOW_NONE && boundary <= dp->pruned_at)
                return;
        dp->pruned_at    = boundary;
        dp->prune_cutoff = boundary - d->conf->retention_ms;
        x.d              = d;
        x.dp             = dp;
        x.cutoff         = dp->prune_cutoff;
        if (!(x.keep = rs_map_new()))
                ad_oom();
        rs_map_foreach(dp->series, evict_cb, &x);
        rs_map_destroy(dp->series);
        dp->series = x.keep;
}

/*
 * State rows.
 */
static void state_row_cb(const void *key, size_t len, void *value,
                         void *opaque) {
        void         **ctx = opaque;
        detector_t    *d   = ctx[0];
        dpart_t       *dp  = ctx[1];
        series_t      *s   = value;
        rs_pg_batch_t *b   = d->b_state;
        char           ts[40];
        int            k;

        (void)key;
        (void)len;
        if (!s)
                return;
        for (k = 0; k < AD_NKIND; k++) {
                const rs_detect_state_t *st = &s->st[k];
                if (!s->dirty[k])
                        continue;
                rs_pg_batch_str(b, s->tenant);
                rs_pg_batch_str(b, s->route);
                rs_pg_batch_str(b, s->seg_type);
                rs_pg_batch_str(b, s->seg_value);
                rs_pg_batch_str(b, d->metric[s->metric]);
                rs_pg_batch_str(b, ad_kind_name[k]);
                rs_pg_batch_i64(b, dp->partition);
                rs_pg_batch_i64(b, st->open);
                rs_pg_batch_i64(b, st->severity);
                rs_pg_batch_i64(b, st->breach_run);
                rs_pg_batch_i64(b, st->healthy_run);
                rs_pg_batch_i64(b, st->change_run);
                rs_pg_batch_i64(b, st->version);
                rs_pg_batch_i64(b, st->since_ms);
                rs_pg_batch_i64(b, st->opened_ms);
                rs_pg_batch_i64(b, st->freeze_ms);
                rs_pg_batch_f64(b, st->noticed_value);
                rs_pg_batch_f64(b, st->noticed_expected);
                rs_pg_batch_str(b, s->issue_id[k][0] ? s->issue_id[k] : NULL);
                rs_pg_timestamp(s->changed_at[k], ts, sizeof(ts));
                rs_pg_batch_str(b, ts);
                rs_pg_batch_row_end(b);
        }
}

int ad_state_write(detector_t *d, rs_pg_t *pg, char *errstr,
                   size_t errstr_size) {
        int32_t i;

        rs_pg_batch_clear(d->b_state);
        for (i = 0; i < d->part_cap; i++) {
                void *ctx[2] = {d, d->parts[i]};
                if (d->parts[i])
                        rs_map_foreach(d->parts[i]->series, state_row_cb, ctx);
        }
        if (rs_pg_batch_rows(d->b_state) > 0 &&
            rs_pg_batch_flush(pg, d->b_state, errstr, errstr_size) == -1)
                return -1;
        for (i = 0; i < d->part_cap; i++) {
                dpart_t    *dp = d->parts[i];
                char        part[16], cut[32];
                const char *params[2] = {part, cut};
                PGresult   *res;
                if (!dp || dp->prune_cutoff == RS_WINDOW_NONE)
                        continue;
                snprintf(part, sizeof(part), "%" PRId32, dp->partition);
                snprintf(cut, sizeof(cut), "%" PRId64, dp->prune_cutoff);
                res = rs_pg_query(
                    pg,
                    "DELETE FROM anomaly_series WHERE partition = $1 AND "
                    "window_start < to_timestamp($2::bigint / 1000.0)",
                    2, params, errstr, errstr_size);
                if (!res)
                        return -1;
                PQclear(res);
                res = rs_pg_query(
                    pg,
                    "DELETE FROM anomaly_state s WHERE partition = $1 AND "
                    "open = 0 AND breach_run = 0 AND NOT EXISTS (SELECT 1 "
                    "FROM anomaly_series a WHERE a.tenant_id = s.tenant_id "
                    "AND a.route = s.route AND a.segment_type = "
                    "s.segment_type AND a.segment_value = s.segment_value "
                    "AND a.metric = s.metric)",
                    1, params, errstr, errstr_size);
                if (!res)
                        return -1;
                PQclear(res);
        }
        return 0;
}

static void clean_cb(const void *key, size_t len, void *value, void *opaque) {
        series_t *s = value;

        (void)key;
        (void)len;
        (void)opaque;
        if (s)
                memset(s->dirty, 0, sizeof(s->dirty));
}

void ad_state_written(detector_t *d) {
        int32_t i;

        rs_pg_batch_clear(d->b_state);
        for (i = 0; i < d->part_cap; i++)
                if (d->parts[i]) {
                        d->parts[i]->prune_cutoff = RS_WINDOW_NONE;
                        rs_map_foreach(d->parts[i]->series, clean_cb, NULL);
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

static int metric_of(const detector_t *d, const char *name) {
        int m;

        for (m = 0; m < d->metric_cnt; m++)
                if (!strcmp(name, d->metric[m]))
                        return m;
        return -1;
}

static int kind_of(const char *name) {
        int k;

        for (k = 0; k < AD_NKIND; k++)
                if (!strcmp(name, ad_kind_name[k]))
                        return k;
        return -1;
}

static void state_of(PGresult *res, int i, rs_detect_state_t *st) {
        memset(st, 0, sizeof(*st));
        st->open             = (int32_t)i64_col(res, i, 6);
        st->severity         = (int32_t)i64_col(res, i, 7);
        st->breach_run       = (uint32_t)i64_col(res, i, 8);
        st->healthy_run      = (uint32_t)i64_col(res, i, 9);
        st->change_run       = (uint32_t)i64_col(res, i, 10);
        st->version          = i64_col(res, i, 11);
        st->since_ms         = i64_col(res, i, 12);
        st->opened_ms        = i64_col(res, i, 13);
        st->freeze_ms        = i64_col(res, i, 14);
        st->noticed_value    = f64_col(res, i, 15);
        st->noticed_expected = f64_col(res, i, 16);
}

/* Attaches the state rows that are \p live (pending or open: they create
 * their series) or not (attached to series loaded with history). */
static void load_states(detector_t *d, dpart_t *dp, PGresult *res, int live) {
        int i, m, k;

        for (i = 0; i < PQntuples(res); i++) {
                rs_detect_state_t st;
                series_t         *s;
                if ((m = metric_of(d, PQgetvalue(res, i, 4))) < 0 ||
                    (k = kind_of(PQgetvalue(res, i, 5))) < 0)
                        continue;
                state_of(res, i, &st);
                if (active(&st) != live)
                        continue;
                s = series_get(d, dp, PQgetvalue(res, i, 0),
                               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                               PQgetvalue(res, i, 3), m, live);
                if (!s)
                        continue;
                s->st[k] = st;
                snprintf(s->issue_id[k], sizeof(s->issue_id[k]), "%s",
                         PQgetvalue(res, i, 17));
                s->changed_at[k] = i64_col(res, i, 18);
        }
}

int ad_part_load(detector_t *d, dpart_t *dp, int64_t closed_until, rs_pg_t *pg,
                 char *errstr, size_t errstr_size) {
        char        part[16], cut[32], cap[32], hist[32];
        const char *params[4] = {part, cut, cap, hist};
        PGresult   *states, *res;
        int         i, m;

        if (closed_until == RS_WINDOW_NONE)
                return 0; /* nothing stored: a fresh start */
        dp->pruned_at = floor_to(closed_until, d->conf->prune_every_ms);
        snprintf(part, sizeof(part), "%" PRId32, dp->partition);
        snprintf(cut, sizeof(cut), "%" PRId64,
                 dp->pruned_at - d->conf->retention_ms);
        snprintf(cap, sizeof(cap), "%zu", d->ring_cap);
        snprintf(hist, sizeof(hist), "%zu", d->def.dconf.history);
        states = rs_pg_query(
            pg,
            "SELECT tenant_id, route, segment_type, segment_value, metric, "
            "kind, open, severity, breach_run, healthy_run, change_run, "
            "version, since_ms, opened_ms, freeze_ms, noticed_value, "
            "noticed_expected, coalesce(issue_id, ''), (extract(epoch FROM "
            "changed_at) * 1000)::bigint FROM anomaly_state WHERE partition "
            "= $1 ORDER BY tenant_id, route, segment_type, segment_value, "
            "metric, kind",
            1, params, errstr, errstr_size);
        if (!states)
                return -1;
        load_states(d, dp, states, 1);
        /* What the rings hold: the newest ring_cap windows, and the newest
         * `history` before the freeze of a pending or open breach. */
        res = rs_pg_query(
            pg,
            "WITH f AS (SELECT tenant_id, route, segment_type, "
            "segment_value, metric, min(freeze_ms) AS fz FROM anomaly_state "
            "WHERE partition = $1 AND (open = 1 OR breach_run > 0) GROUP BY "
            "1, 2, 3, 4, 5), a AS (SELECT s.*, (extract(epoch FROM "
            "s.window_start) * 1000)::bigint AS ts, coalesce(f.fz, "
            "9223372036854775807) AS fz FROM anomaly_series s LEFT JOIN f "
            "USING (tenant_id, route, segment_type, segment_value, metric) "
            "WHERE s.partition = $1 AND s.window_start >= "
            "to_timestamp($2::bigint / 1000.0)), r AS (SELECT a.*, "
            "row_number() OVER (PARTITION BY tenant_id, route, "
            "segment_type, segment_value, metric ORDER BY window_start "
            "DESC) AS rn, row_number() OVER (PARTITION BY tenant_id, route, "
            "segment_type, segment_value, metric, ts < fz ORDER BY "
            "window_start DESC) AS rp FROM a) SELECT tenant_id, route, "
            "segment_type, segment_value, metric, ts, p75, samples FROM r "
            "WHERE rn <= $3::bigint OR (ts < fz AND rp <= $4::bigint) ORDER "
            "BY tenant_id, route, segment_type, segment_value, metric, "
            "window_start",
            4, params, errstr, errstr_size);
        if (!res) {
                PQclear(states);
                return -1;
        }
        for (i = 0; i < PQntuples(res); i++) {
                series_t *s;
                point_t   p;
                if ((m = metric_of(d, PQgetvalue(res, i, 4))) < 0 ||
                    !(s = series_get(
                          d, dp, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                          PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), m, 1)))
                        continue;
                p.ts      = i64_col(res, i, 5);
                p.p75     = f64_col(res, i, 6);
                p.samples = f64_col(res, i, 7);
                ring_push(d, s, &p);
        }
        PQclear(res);
        load_states(d, dp, states, 0);
        PQclear(states);
        rs_log_info("partition %" PRId32 ": %zu series reloaded", dp->partition,
                    dp->series_cnt);
        return 0;
}
