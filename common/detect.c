/*
 * detect: baselines, window p75 confidence intervals, regression, level
 * shift and budget judges, the issue lifecycle and the shift-share
 * explanation of the anomaly-detector. The rules are documented in
 * rumstream/detect.h; medians and MADs come from rumstream/stats.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/detect.h"
#include "rumstream/stats.h"
#include "rumstream/vitals.h"

#define HOUR_MS  INT64_C(3600000)
#define WEEK_MAX 168 /* hour-of-week slots */
/* 1970-01-01 was a Thursday: Monday 00:00 UTC came 72 hours earlier. */
#define WEEK_SHIFT_H 72

void rs_detect_conf_defaults(rs_detect_conf_t *c) {
        if (!c)
                return;
        c->history              = 60;
        c->min_history          = 30;
        c->spread_floor         = 0.02;
        c->seasonal             = RS_DETECT_SEASON_AUTO;
        c->season_min_days      = 3;
        c->season_min_weeks     = 3;
        c->min_samples          = 50;
        c->min_degradation      = 0.2;
        c->z_threshold          = 3.5;
        c->ci_level             = 0.95;
        c->high_degradation     = 0.5;
        c->critical_degradation = 1.0;
        c->shift_windows        = 5;
}

static int nonneg(double v) {
        return isfinite(v) && v >= 0;
}

int rs_detect_conf_check(const rs_detect_conf_t *c) {
        if (!c || c->history < 1 || c->min_history < 1 ||
            c->min_history > c->history || !nonneg(c->spread_floor) ||
            (unsigned)c->seasonal > RS_DETECT_SEASON_AUTO ||
            c->season_min_days < 1 || c->season_min_weeks < 1 ||
            !nonneg(c->min_samples) || !nonneg(c->min_degradation) ||
            !(c->z_threshold > 0) || !isfinite(c->z_threshold) ||
            !(c->ci_level > 0 && c->ci_level < 1) ||
            !nonneg(c->high_degradation) || !nonneg(c->critical_degradation) ||
            c->critical_degradation < c->high_degradation ||
            c->shift_windows < 1 || c->shift_windows > RS_DETECT_SHIFT_MAX)
                return RS_DETECT_EINVAL;
        return 0;
}

/* The configuration to use: c, or the defaults in *tmp. NULL if bad. */
static const rs_detect_conf_t *conf_or_defaults(const rs_detect_conf_t *c,
                                                rs_detect_conf_t       *tmp) {
        if (!c) {
                rs_detect_conf_defaults(tmp);
                return tmp;
        }
        return rs_detect_conf_check(c) == 0 ? c : NULL;
}

/* ---- Baseline ---------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Slot and period (day or week number) of a timestamp. Points come in
 * time order and many share an hour, so the last hour is cached: one
 * division per hour instead of two per point. */
typedef struct slotter_s {
        int     weekly;
        int64_t lo, hi; /* the cached hour [lo, hi) */
        int     slot;
        int64_t period;
} slotter_t;

static void slotter_init(slotter_t *sl, int weekly) {
        sl->weekly = weekly;
        sl->lo     = 1; /* empty range */
        sl->hi     = 0;
        sl->slot   = 0;
        sl->period = 0;
}

static int slot_of(slotter_t *sl, int64_t ts_ms, int64_t *period) {
        int64_t h, len = sl->weekly ? WEEK_MAX : 24;

        if (ts_ms < sl->lo || ts_ms >= sl->hi) {
                h      = floor_div(ts_ms, HOUR_MS);
                sl->lo = h * HOUR_MS;
                sl->hi = sl->lo <= INT64_MAX - HOUR_MS ? sl->lo + HOUR_MS
                                                       : INT64_MAX;
                if (sl->weekly)
                        h += WEEK_SHIFT_H;
                sl->period = floor_div(h, len);
                sl->slot   = (int)(h - sl->period * len);
        }
        if (period)
                *period = sl->period;
        return sl->slot;
}

size_t rs_detect_history_before(const rs_detect_point_t *pts, size_t n,
                                int64_t end_ms) {
        size_t lo = 0, hi = n, mid;

        if (!pts)
                return 0;
        while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                if (pts[mid].ts_ms < end_ms)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void baseline_invalid(rs_detect_baseline_t *out, int64_t now_ms,
                             int64_t end_ms) {
        out->valid       = 0;
        out->n           = 0;
        out->level       = NAN;
        out->spread      = NAN;
        out->plain_level = NAN;
        out->season      = RS_DETECT_SEASON_NONE;
        out->slot_level  = NAN;
        out->ratio       = NAN;
        out->now_ms      = now_ms;
        out->end_ms      = end_ms;
}

static double floored(double sigma, double floor_rel, double level) {
        double lo = floor_rel * fabs(level);

        return sigma > lo ? sigma : lo;
}

/* A seasonal profile over the usable points of pts[0..m), restricted to
 * the slots a baseline needs (the slot of now_ms and those of the last
 * `history` usable points): their values bucketed by slot (counting sort
 * into `bucket`), their distinct periods, and slot medians on demand. */
typedef struct profile_s {
        size_t   cnt[WEEK_MAX], off[WEEK_MAX];
        unsigned periods[WEEK_MAX];
        double   med[WEEK_MAX];
        double  *bucket, *work;
} profile_t;

static void profile_build(profile_t *p, int weekly, const unsigned char *need,
                          const rs_detect_point_t *pts, size_t m,
                          double *bucket, double *work) {
        size_t    i, fill[WEEK_MAX];
        int       s, nslots = weekly ? WEEK_MAX : 24;
        int64_t   period, last[WEEK_MAX];
        slotter_t sl;

        p->bucket = bucket;
        p->work   = work;
        for (s = 0; s < nslots; s++) {
                p->cnt[s]     = 0;
                p->periods[s] = 0;
                p->med[s]     = NAN;
                last[s]       = INT64_MIN;
        }
        slotter_init(&sl, weekly);
        for (i = 0; i < m; i++) {
                if (!isfinite(pts[i].value))
                        continue;
                s = slot_of(&sl, pts[i].ts_ms, &period);
                if (!need[s])
                        continue;
                p->cnt[s]++;
                /* Timestamps ascend, so a new period shows up once. */
                if (period != last[s]) {
                        last[s] = period;
                        p->periods[s]++;
                }
        }
        for (s = 0, i = 0; s < nslots; s++) {
                p->off[s] = i;
                fill[s]   = i;
                i += p->cnt[s];
        }
        for (i = 0; i < m; i++) {
                if (!isfinite(pts[i].value))
                        continue;
                s = slot_of(&sl, pts[i].ts_ms, NULL);
                if (need[s])
                        bucket[fill[s]++] = pts[i].value;
        }
}

/* S(slot) if the slot is covered (enough periods and S > 0), else NaN. */
static double profile_level(profile_t *p, int slot, unsigned min_periods) {
        if (p->periods[slot] < min_periods)
                return NAN;
        if (isnan(p->med[slot]))
                p->med[slot] = rs_stats_median(p->bucket + p->off[slot],
                                               p->cnt[slot], p->work);
        return p->med[slot] > 0 ? p->med[slot] : NAN;
}

/* The seasonal level into out (and 1) when the profile covers now_ms and
 * at least min_history of the last `history` usable points; else 0. */
static int seasonal_level(const rs_detect_conf_t *c, int weekly,
                          const rs_detect_point_t *pts, size_t m,
                          int64_t now_ms, double *scratch, size_t n,
                          rs_detect_baseline_t *out) {
        profile_t     p;
        slotter_t     sl;
        unsigned char need[WEEK_MAX];
        double       *ratios = scratch, *work = scratch + n, *bucket = work + n;
        double        s_now, s, r, mad;
        size_t        i, first = 0, used = 0, nr = 0;
        unsigned      min_periods =
            weekly ? c->season_min_weeks : c->season_min_days;
        int64_t period_ms = (weekly ? WEEK_MAX : 24) * HOUR_MS;
        int     slot_now;

        /* A slot sees min_periods periods only if the history spans at
         * least min_periods - 1 of them, less an hour. */
        while (first < m && !isfinite(pts[first].value))
                first++;
        if (first == m ||
            (double)pts[m - 1].ts_ms - (double)pts[first].ts_ms <
                (double)(min_periods - 1) * (double)period_ms - (double)HOUR_MS)
                return 0;

        memset(need, 0, sizeof(need));
        slotter_init(&sl, weekly);
        slot_now       = slot_of(&sl, now_ms, NULL);
        need[slot_now] = 1;
        for (i = m; i-- > 0 && used < c->history;) {
                if (!isfinite(pts[i].value))
                        continue;
                used++;
                need[slot_of(&sl, pts[i].ts_ms, NULL)] = 1;
        }
        profile_build(&p, weekly, need, pts, m, bucket, work);
        s_now = profile_level(&p, slot_now, min_periods);
        if (isnan(s_now))
                return 0;
        for (i = m, used = 0; i-- > 0 && used < c->history;) {
                if (!isfinite(pts[i].value))
                        continue;
                used++;
                s = profile_level(&p, slot_of(&sl, pts[i].ts_ms, NULL),
                                  min_periods);
                if (!isnan(s))
                        ratios[nr++] = pts[i].value / s;
        }
        if (nr < c->min_history)
                return 0;
        mad         = rs_stats_mad(ratios, nr, work, &r);
        out->season = weekly ? RS_DETECT_SEASON_WEEKLY : RS_DETECT_SEASON_DAILY;
        out->slot_level = s_now;
        out->ratio      = r;
        out->level      = r * s_now;
        out->spread     = floored(RS_STATS_MAD_NORMAL * mad * s_now,
                                  c->spread_floor, out->level);
        return 1;
}

int rs_detect_baseline(const rs_detect_conf_t *c, const rs_detect_point_t *pts,
                       size_t n, int64_t now_ms, int64_t end_ms,
                       double *scratch, rs_detect_baseline_t *out) {
        rs_detect_conf_t tmp;
        double          *vals, *work, mad;
        size_t           i, m, k = 0;

        if (!out)
                return RS_DETECT_EINVAL;
        baseline_invalid(out, now_ms, end_ms);
        c = conf_or_defaults(c, &tmp);
        if (!c || (n > 0 && (!pts || !scratch)))
                return RS_DETECT_EINVAL;
        for (i = 1; i < n; i++)
                if (pts[i].ts_ms < pts[i - 1].ts_ms)
                        return RS_DETECT_EINVAL;

        m    = rs_detect_history_before(pts, n, end_ms);
        vals = scratch;
        work = scratch + n;
        for (i = m; i-- > 0 && k < c->history;)
                if (isfinite(pts[i].value))
                        vals[k++] = pts[i].value;
        out->n = k;
        if (k < c->min_history)
                return RS_DETECT_EFEW;

        mad        = rs_stats_mad(vals, k, work, &out->plain_level);
        out->level = out->plain_level;
        out->spread =
            floored(RS_STATS_MAD_NORMAL * mad, c->spread_floor, out->level);
        out->valid = 1;
        if (c->seasonal == RS_DETECT_SEASON_AUTO ||
            c->seasonal == RS_DETECT_SEASON_WEEKLY)
                if (seasonal_level(c, 1, pts, m, now_ms, scratch, n, out))
                        return 0;
        if (c->seasonal == RS_DETECT_SEASON_AUTO ||
            c->seasonal == RS_DETECT_SEASON_DAILY)
                (void)seasonal_level(c, 0, pts, m, now_ms, scratch, n, out);
        return 0;
}

const char *rs_detect_season_name(rs_detect_season_t s) {
        switch (s) {
        case RS_DETECT_SEASON_NONE:
                return "none";
        case RS_DETECT_SEASON_DAILY:
                return "daily";
        case RS_DETECT_SEASON_WEEKLY:
                return "weekly";
        case RS_DETECT_SEASON_AUTO:
                return "auto";
        }
        return "unknown";
}

/* ---- Window p75 uncertainty -------------------------------------------- */

int rs_detect_ci_ranks(double n, double q, double level, double *lo_rank,
                       double *hi_rank) {
        double z, half;

        if (lo_rank)
                *lo_rank = NAN;
        if (hi_rank)
                *hi_rank = NAN;
        if (!lo_rank || !hi_rank || !(n >= 1) || !isfinite(n) ||
            !(q > 0 && q < 1) || !(level > 0 && level < 1))
                return RS_DETECT_EINVAL;
        z        = rs_stats_normal_quantile((1 + level) / 2);
        half     = z * sqrt(n * q * (1 - q));
        *lo_rank = floor(n * q - half);
        *hi_rank = ceil(n * q + half);
        return 0;
}

/* Value of 1-based rank k of n, -inf below 1, +inf above n. */
static double rank_value(double k, double n, rs_detect_quantile_fn fn,
                         const void *ctx) {
        double p;

        if (k < 1)
                return -INFINITY;
        if (k > n)
                return INFINITY;
        p = n > 1 ? (k - 1) / (n - 1) : 0;
        return fn(ctx, p > 1 ? 1 : p);
}

int rs_detect_quantile_ci(double n, double q, double level,
                          rs_detect_quantile_fn fn, const void *ctx, double *lo,
                          double *hi) {
        double lo_rank, hi_rank;

        if (lo)
                *lo = NAN;
        if (hi)
                *hi = NAN;
        if (!fn || !lo || !hi ||
            rs_detect_ci_ranks(n, q, level, &lo_rank, &hi_rank) != 0)
                return RS_DETECT_EINVAL;
        *lo = rank_value(lo_rank, n, fn, ctx);
        *hi = rank_value(hi_rank, n, fn, ctx);
        return 0;
}

void rs_detect_rate_spread(rs_detect_baseline_t *b, double exposure) {
        double sd;

        if (!b || !b->valid || !(b->level > 0) || !(exposure > 0) ||
            !isfinite(exposure))
                return;
        sd = sqrt(b->level / exposure);
        if (!(b->spread >= sd))
                b->spread = sd;
}

int rs_detect_window_from_rate(double events, double weighted, double exposure,
                               double level, int64_t ts_ms,
                               rs_detect_window_t *w) {
        double z, h, scale;

        if (!w)
                return RS_DETECT_EINVAL;
        w->ts_ms   = ts_ms;
        w->value   = NAN;
        w->ci_lo   = NAN;
        w->ci_hi   = NAN;
        w->samples = isfinite(exposure) ? exposure : 0;
        if (!(exposure > 0) || !isfinite(exposure) || !(events >= 0) ||
            !isfinite(events) || !(weighted >= 0) || !isfinite(weighted) ||
            !(level > 0 && level < 1))
                return RS_DETECT_EINVAL;
        z        = rs_stats_normal_quantile((1 + level) / 2);
        w->value = weighted / exposure;
        if (events == 0) {
                w->ci_lo = 0;
                w->ci_hi = z * z / exposure;
                return 0;
        }
        scale    = weighted / events;
        h        = z * sqrt(events + z * z / 4);
        w->ci_lo = (events + z * z / 2 - h) * scale / exposure;
        w->ci_hi = (events + z * z / 2 + h) * scale / exposure;
        if (w->ci_lo < 0)
                w->ci_lo = 0;
        return 0;
}

double rs_detect_sketch_quantile(const void *ctx, double p) {
        double v;

        if (!ctx || rs_sketch_quantile((const rs_sketch_t *)ctx, p, &v) != 0)
                return NAN;
        return v;
}

int rs_detect_p75_ci(const rs_sketch_t *sk, double level, double *lo,
                     double *hi) {
        if (lo)
                *lo = NAN;
        if (hi)
                *hi = NAN;
        if (!sk)
                return RS_DETECT_EINVAL;
        return rs_detect_quantile_ci(rs_sketch_count(sk), 0.75, level,
                                     rs_detect_sketch_quantile, sk, lo, hi);
}

void rs_detect_window_from_sketch(const rs_detect_conf_t *c,
                                  const rs_sketch_t *sk, int64_t ts_ms,
                                  rs_detect_window_t *w) {
        rs_detect_conf_t tmp;

        if (!w)
                return;
        w->ts_ms   = ts_ms;
        w->value   = NAN;
        w->ci_lo   = NAN;
        w->ci_hi   = NAN;
        w->samples = 0;
        if (!c) {
                rs_detect_conf_defaults(&tmp);
                c = &tmp;
        }
        if (!sk || !(rs_sketch_count(sk) > 0))
                return;
        w->samples = rs_sketch_count(sk);
        w->value   = rs_detect_sketch_quantile(sk, 0.75);
        (void)rs_detect_p75_ci(sk, c->ci_level, &w->ci_lo, &w->ci_hi);
}

/* ---- Judging a window -------------------------------------------------- */

static void verdict_init(rs_detect_verdict_t *v, int64_t ts_ms, double value) {
        v->status          = RS_DETECT_NO_DATA;
        v->severity        = RS_DETECT_SEV_NONE;
        v->flags           = 0;
        v->ts_ms           = ts_ms;
        v->value           = value;
        v->expected        = NAN;
        v->degradation     = NAN;
        v->score           = NAN;
        v->rule            = -1;
        v->baseline_end_ms = RS_DETECT_NO_FREEZE;
}

static int has_data(const rs_detect_conf_t *c, const rs_detect_window_t *w) {
        return isfinite(w->value) && w->samples >= c->min_samples;
}

static rs_detect_severity_t relative_severity(const rs_detect_conf_t *c,
                                              double degradation) {
        if (degradation >= c->critical_degradation)
                return RS_DETECT_SEV_CRITICAL;
        if (degradation >= c->high_degradation)
                return RS_DETECT_SEV_HIGH;
        return RS_DETECT_SEV_MEDIUM;
}

/* Degradation and score of `value` against b, with their flags. */
static unsigned relative_judge(const rs_detect_baseline_t *b, double value,
                               double *degradation, double *score) {
        double d = value - b->level;

        *degradation = NAN;
        *score       = NAN;
        if (!(b->level > 0))
                return RS_DETECT_F_ZERO_LEVEL;
        *degradation = d / b->level;
        *score       = b->spread > 0 ? d / b->spread
                                     : (d == 0 ? 0 : copysign(INFINITY, d));
        return 0;
}

int rs_detect_regression(const rs_detect_conf_t     *c,
                         const rs_detect_baseline_t *b,
                         const rs_detect_window_t   *w,
                         rs_detect_verdict_t        *out) {
        rs_detect_conf_t tmp;
        unsigned         f = 0;

        if (out)
                verdict_init(out, w ? w->ts_ms : 0, w ? w->value : NAN);
        c = conf_or_defaults(c, &tmp);
        if (!c || !b || !w || !out)
                return RS_DETECT_EINVAL;
        out->baseline_end_ms = b->end_ms;

        if (!isfinite(w->value))
                f |= RS_DETECT_F_NO_VALUE;
        if (!(w->samples >= c->min_samples))
                f |= RS_DETECT_F_FEW_SAMPLES;
        if (!b->valid)
                f |= RS_DETECT_F_NO_BASELINE;
        out->flags = f;
        if (f)
                return 0; /* no_data */

        out->expected = b->level;
        out->flags =
            relative_judge(b, w->value, &out->degradation, &out->score);
        if (out->flags) {
                out->status = RS_DETECT_HEALTHY;
                return 0;
        }
        if (!(out->degradation >= c->min_degradation))
                out->flags |= RS_DETECT_F_SMALL_CHANGE;
        if (!(out->score >= c->z_threshold))
                out->flags |= RS_DETECT_F_LOW_SCORE;
        if (!(w->ci_lo > b->level))
                out->flags |= RS_DETECT_F_CI_OVERLAP;

        if (out->flags == 0) {
                out->status   = RS_DETECT_BREACH;
                out->severity = relative_severity(c, out->degradation);
        } else if (out->flags == RS_DETECT_F_CI_OVERLAP) {
                out->status = RS_DETECT_WATCH;
        } else {
                out->status = RS_DETECT_HEALTHY;
        }
        return 0;
}

int rs_detect_level_shift(const rs_detect_conf_t     *c,
                          const rs_detect_baseline_t *b,
                          const rs_detect_window_t *recent, size_t n,
                          rs_detect_shift_t *out) {
        rs_detect_conf_t tmp;
        double           vals[RS_DETECT_SHIFT_MAX], work[RS_DETECT_SHIFT_MAX];
        size_t           i, k, first;
        const rs_detect_window_t *cur = n > 0 && recent ? &recent[n - 1] : NULL;

        if (out) {
                out->valid     = 0;
                out->direction = 0;
                out->n         = 0;
                out->recent    = NAN;
                out->change    = NAN;
                out->score     = NAN;
                verdict_init(&out->verdict, cur ? cur->ts_ms : 0,
                             cur ? cur->value : NAN);
        }
        c = conf_or_defaults(c, &tmp);
        if (!c || !b || !out || (n > 0 && !recent))
                return RS_DETECT_EINVAL;
        out->verdict.baseline_end_ms = b->end_ms;

        k     = n < c->shift_windows ? n : c->shift_windows;
        first = n - k;
        for (i = first; i < n; i++)
                if (has_data(c, &recent[i]))
                        vals[out->n++] = recent[i].value;
        /* A majority of the configured windows must have data. */
        if (out->n < c->shift_windows / 2 + 1)
                out->verdict.flags |= RS_DETECT_F_NO_VALUE;
        if (!b->valid)
                out->verdict.flags |= RS_DETECT_F_NO_BASELINE;
        if (out->n > 0)
                out->recent = rs_stats_median(vals, out->n, work);
        out->verdict.value = out->recent;
        if (out->verdict.flags)
                return 0;

        out->valid            = 1;
        out->verdict.expected = b->level;
        out->verdict.flags =
            relative_judge(b, out->recent, &out->change, &out->score);
        out->verdict.degradation = out->change;
        out->verdict.score       = out->score;
        out->verdict.status      = RS_DETECT_HEALTHY;
        if (out->verdict.flags)
                return 0;
        if (out->change >= c->min_degradation && out->score >= c->z_threshold)
                out->direction = 1;
        else if (out->change <= -c->min_degradation &&
                 out->score <= -c->z_threshold)
                out->direction = -1;
        if (out->direction > 0) {
                out->verdict.status   = RS_DETECT_BREACH;
                out->verdict.severity = relative_severity(c, out->change);
        } else {
                if (!(fabs(out->change) >= c->min_degradation))
                        out->verdict.flags |= RS_DETECT_F_SMALL_CHANGE;
                if (!(fabs(out->score) >= c->z_threshold))
                        out->verdict.flags |= RS_DETECT_F_LOW_SCORE;
        }
        return 0;
}

static const char *const severity_names[] = {"none", "low", "medium", "high",
                                             "critical"};

const char *rs_detect_severity_name(rs_detect_severity_t s) {
        if ((unsigned)s > RS_DETECT_SEV_CRITICAL)
                return "unknown";
        return severity_names[s];
}

static int ieq(const char *a, const char *b) {
        for (; *a && *b; a++, b++)
                if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                        return 0;
        return *a == *b;
}

int rs_detect_severity_from_name(const char *name, rs_detect_severity_t *out) {
        int s;

        if (!name || !out)
                return -1;
        for (s = RS_DETECT_SEV_LOW; s <= RS_DETECT_SEV_CRITICAL; s++) {
                if (ieq(name, severity_names[s])) {
                        *out = (rs_detect_severity_t)s;
                        return 0;
                }
        }
        return -1;
}

const char *rs_detect_status_name(rs_detect_status_t s) {
        switch (s) {
        case RS_DETECT_NO_DATA:
                return "no_data";
        case RS_DETECT_HEALTHY:
                return "healthy";
        case RS_DETECT_WATCH:
                return "watch";
        case RS_DETECT_BREACH:
                return "breach";
        }
        return "unknown";
}

/* ---- Budget rules ------------------------------------------------------ */

const char *rs_detect_op_name(rs_detect_op_t op) {
        switch (op) {
        case RS_DETECT_OP_GT:
                return ">";
        case RS_DETECT_OP_GE:
                return ">=";
        case RS_DETECT_OP_LT:
                return "<";
        case RS_DETECT_OP_LE:
                return "<=";
        }
        return "?";
}

static int rule_true(const rs_detect_rule_t *r, double v) {
        switch (r->op) {
        case RS_DETECT_OP_GT:
                return v > r->threshold;
        case RS_DETECT_OP_GE:
                return v >= r->threshold;
        case RS_DETECT_OP_LT:
                return v < r->threshold;
        case RS_DETECT_OP_LE:
                return v <= r->threshold;
        }
        return 0;
}

/* 1 if r's condition is true in its last for_windows windows with data. */
static int rule_held(const rs_detect_conf_t *c, const rs_detect_rule_t *r,
                     const rs_detect_window_t *wins, size_t n) {
        size_t   i, need = r->for_windows < 1 ? 1 : r->for_windows;
        unsigned got = 0;

        for (i = n; i-- > 0 && got < need;) {
                if (!has_data(c, &wins[i]))
                        continue;
                if (!rule_true(r, wins[i].value))
                        return 0;
                got++;
        }
        return got == need;
}

int rs_detect_budget(const rs_detect_conf_t *c, const rs_detect_rule_t *rules,
                     size_t nrules, const rs_detect_window_t *wins, size_t n,
                     rs_detect_verdict_t *out) {
        rs_detect_conf_t          tmp;
        const rs_detect_window_t *cur = n > 0 && wins ? &wins[n - 1] : NULL;
        size_t                    i;
        int                       best = -1, any = 0;
        double                    t;

        if (out)
                verdict_init(out, cur ? cur->ts_ms : 0, cur ? cur->value : NAN);
        c = conf_or_defaults(c, &tmp);
        if (!c || !out || (nrules > 0 && !rules) || (n > 0 && !wins))
                return RS_DETECT_EINVAL;
        if (!cur) {
                out->flags = RS_DETECT_F_NO_VALUE;
                return 0;
        }
        if (!isfinite(cur->value))
                out->flags |= RS_DETECT_F_NO_VALUE;
        if (!(cur->samples >= c->min_samples))
                out->flags |= RS_DETECT_F_FEW_SAMPLES;
        if (out->flags)
                return 0;

        for (i = 0; i < nrules; i++) {
                if (!rule_true(&rules[i], cur->value))
                        continue;
                any = 1;
                if ((best < 0 || rules[i].severity > rules[best].severity) &&
                    rule_held(c, &rules[i], wins, n))
                        best = (int)i;
        }
        if (best < 0) {
                out->status = any ? RS_DETECT_WATCH : RS_DETECT_HEALTHY;
                if (any)
                        out->flags = RS_DETECT_F_NOT_HELD;
                return 0;
        }
        t                = rules[best].threshold;
        out->status      = RS_DETECT_BREACH;
        out->severity    = rules[best].severity;
        out->rule        = best;
        out->expected    = t;
        out->degradation = NAN;
        if (t != 0)
                out->degradation = (rules[best].op == RS_DETECT_OP_GT ||
                                    rules[best].op == RS_DETECT_OP_GE)
                                       ? (cur->value - t) / fabs(t)
                                       : (t - cur->value) / fabs(t);
        return 0;
}

/* Rule sets: set 0 is the default, the others tenant blocks, sorted by
 * tenant after parsing. Each set's rules are sorted by (metric, position)
 * so a metric's tiers are contiguous and in the order written. */
typedef struct off_s {
        char     metric[RS_DETECT_METRIC_MAX];
        unsigned line, column;
} off_t_;

typedef struct set_s {
        char              tenant[RS_DETECT_TENANT_MAX];
        unsigned          line;
        rs_detect_rule_t *rules;
        size_t            nrules, cap;
        off_t_           *offs;
        size_t            noffs, offcap;
} set_t;

struct rs_detect_rules_s {
        set_t *sets;
        size_t nsets, cap;
};

typedef struct parser_s {
        const char        *s;
        size_t             pos;
        unsigned           line, col;
        char              *errstr;
        size_t             errstr_size;
        rs_detect_rules_t *r;
} parser_t;

static int perr(parser_t *p, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(parser_t *p, unsigned line, unsigned col, const char *fmt,
                ...) {
        va_list ap;
        int     w;

        if (!p->errstr || p->errstr_size == 0)
                return -1;
        w = snprintf(p->errstr, p->errstr_size, "line %u, column %u: ", line,
                     col);
        if (w >= 0 && (size_t)w < p->errstr_size) {
                va_start(ap, fmt);
                vsnprintf(p->errstr + w, p->errstr_size - (size_t)w, fmt, ap);
                va_end(ap);
        }
        return -1;
}

static int peek(const parser_t *p) {
        return (unsigned char)p->s[p->pos];
}

static void advance(parser_t *p) {
        if (!p->s[p->pos])
                return;
        if (p->s[p->pos] == '\n') {
                p->line++;
                p->col = 1;
        } else {
                p->col++;
        }
        p->pos++;
}

/* Skips blanks and a comment, not the end of the line. */
static void skip_blank(parser_t *p) {
        for (;;) {
                int ch = peek(p);

                if (ch == ' ' || ch == '\t' || ch == '\r') {
                        advance(p);
                } else if (ch == '#') {
                        while (peek(p) && peek(p) != '\n')
                                advance(p);
                } else {
                        return;
                }
        }
}

/* Skips blanks, comments and newlines (and ';' when seps). */
static void skip_space(parser_t *p, int seps) {
        for (;;) {
                skip_blank(p);
                if (peek(p) == '\n' || (seps && peek(p) == ';'))
                        advance(p);
                else
                        return;
        }
}

static int word_char(int ch) {
        return isalnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

/* Reads a word ([A-Za-z][A-Za-z0-9._-]*) into buf (lower-cased when
 * lower). Returns its length, 0 if there is none; a word too long for buf
 * is consumed and reported as size. */
static size_t read_word(parser_t *p, char *buf, size_t size, int lower) {
        size_t len = 0;

        if (!isalpha(peek(p)))
                return 0;
        while (word_char(peek(p))) {
                if (len + 1 < size)
                        buf[len] =
                            lower ? (char)tolower(peek(p)) : (char)peek(p);
                len++;
                advance(p);
        }
        buf[len < size ? len : size - 1] = '\0';
        return len < size ? len : size;
}

/* Case-insensitive match of a keyword followed by a non-word character;
 * consumes it when it matches. */
static int accept_kw(parser_t *p, const char *kw) {
        size_t i, n = strlen(kw);

        for (i = 0; i < n; i++)
                if (tolower((unsigned char)p->s[p->pos + i]) != kw[i])
                        return 0;
        if (word_char((unsigned char)p->s[p->pos + n]))
                return 0;
        for (i = 0; i < n; i++)
                advance(p);
        return 1;
}

static set_t *set_add(rs_detect_rules_t *r, const char *tenant, unsigned line) {
        set_t *sets;

        if (r->nsets == r->cap) {
                size_t cap = r->cap ? 2 * r->cap : 4;

                sets = realloc(r->sets, cap * sizeof(*sets));
                if (!sets)
                        return NULL;
                r->sets = sets;
                r->cap  = cap;
        }
        sets = &r->sets[r->nsets++];
        memset(sets, 0, sizeof(*sets));
        snprintf(sets->tenant, sizeof(sets->tenant), "%s", tenant);
        sets->line = line;
        return sets;
}

/* A metric a rule may name; *is_cls: a plain number (cls, error_rate),
 * *is_rate: also takes a percent (error_rate). */
static int metric_ok(const char *m, int *is_cls, int *is_rate) {
        rs_metric_t metric;

        *is_cls  = 0;
        *is_rate = !strcmp(m, RS_DETECT_ERROR_RATE);
        if (*is_rate) {
                *is_cls = 1;
                return 1;
        }
        if (rs_metric_from_name(m, &metric) == 0) {
                *is_cls = !strcmp(rs_metric_unit(metric), "score");
                return 1;
        }
        return !strncmp(m, "custom.", 7) && m[7] != '\0';
}

/* One "metric ..." item after the metric name (at line, col). */
static int parse_rule(parser_t *p, size_t set_idx, const char *metric,
                      unsigned line, unsigned col) {
        rs_detect_rule_t rule;
        set_t           *set;
        char             num[64], unit[8];
        size_t           len = 0, ulen;
        unsigned         l, c;
        int              is_cls, is_rate;
        double           v;

        if (!metric_ok(metric, &is_cls, &is_rate))
                return perr(p, line, col,
                            "unknown metric '%s' (lcp, inp, cls, fcp, ttfb, "
                            "nav.*, custom.<name>, error_rate)",
                            metric);
        skip_blank(p);
        if (accept_kw(p, "off")) {
                off_t_ *offs;

                if (set_idx == 0)
                        return perr(p, line, col,
                                    "'off' is only allowed inside a tenant "
                                    "block");
                set = &p->r->sets[set_idx];
                if (set->noffs == set->offcap) {
                        size_t cap = set->offcap ? 2 * set->offcap : 4;

                        offs = realloc(set->offs, cap * sizeof(*offs));
                        if (!offs)
                                return perr(p, line, col, "out of memory");
                        set->offs   = offs;
                        set->offcap = cap;
                }
                offs = &set->offs[set->noffs++];
                snprintf(offs->metric, sizeof(offs->metric), "%s", metric);
                offs->line   = line;
                offs->column = col;
                return 0;
        }

        memset(&rule, 0, sizeof(rule));
        snprintf(rule.metric, sizeof(rule.metric), "%s", metric);
        rule.line   = line;
        rule.column = col;
        l           = p->line;
        c           = p->col;
        if (peek(p) == '>' || peek(p) == '<') {
                int gt = peek(p) == '>';

                advance(p);
                if (peek(p) == '=') {
                        advance(p);
                        rule.op = gt ? RS_DETECT_OP_GE : RS_DETECT_OP_LE;
                } else {
                        rule.op = gt ? RS_DETECT_OP_GT : RS_DETECT_OP_LT;
                }
        } else {
                return perr(p, l, c, "expected an operator (>, >=, <, <=)");
        }

        skip_blank(p);
        l = p->line;
        c = p->col;
        if (!isdigit(peek(p)))
                return perr(p, l, c, "expected a number");
        while (isdigit(peek(p)) || peek(p) == '.') {
                if (len + 1 < sizeof(num))
                        num[len++] = (char)peek(p);
                advance(p);
        }
        num[len] = '\0';
        {
                char *end;

                v = strtod(num, &end);
                if (*end || !isfinite(v))
                        return perr(p, l, c, "bad number '%s'", num);
        }
        /* A unit may follow the number, with or without a blank. */
        skip_blank(p);
        if (peek(p) == '%') {
                if (!is_rate)
                        return perr(p, p->line, p->col,
                                    "only error_rate takes a percent");
                advance(p);
                v /= 100;
        } else {
                unsigned ul = p->line, uc = p->col;
                size_t   save = p->pos;

                ulen = read_word(p, unit, sizeof(unit), 1);
                if (ulen > 0 && (!strcmp(unit, "ms") || !strcmp(unit, "s"))) {
                        if (is_cls)
                                return perr(p, ul, uc,
                                            "%s takes a plain number, no "
                                            "unit",
                                            metric);
                        if (!strcmp(unit, "s"))
                                v *= 1000;
                } else if (ulen > 0 && strcmp(unit, "for")) {
                        return perr(p, ul, uc, "unknown unit '%s' (ms, s)",
                                    unit);
                } else {
                        /* "for" or nothing: not a unit, read it again. */
                        p->pos  = save;
                        p->line = ul;
                        p->col  = uc;
                }
        }
        rule.threshold   = v;
        rule.for_windows = 1;

        skip_blank(p);
        if (accept_kw(p, "for")) {
                unsigned long n = 0;

                skip_blank(p);
                l = p->line;
                c = p->col;
                if (!isdigit(peek(p)))
                        return perr(p, l, c,
                                    "expected a number of windows after "
                                    "'for'");
                while (isdigit(peek(p))) {
                        if (n <= RS_DETECT_FOR_MAX)
                                n = n * 10 + (unsigned long)(peek(p) - '0');
                        advance(p);
                }
                if (n < 1 || n > RS_DETECT_FOR_MAX)
                        return perr(p, l, c,
                                    "for-duration must be 1 to %d windows",
                                    RS_DETECT_FOR_MAX);
                rule.for_windows = (unsigned)n;
                skip_blank(p);
                if (!accept_kw(p, "windows"))
                        (void)accept_kw(p, "window");
                skip_blank(p);
        }
        l = p->line;
        c = p->col;
        if (peek(p) != ':')
                return perr(p, l, c, "expected ':' and a severity");
        advance(p);
        skip_blank(p);
        l = p->line;
        c = p->col;
        {
                char sev[16];

                if (!read_word(p, sev, sizeof(sev), 1))
                        return perr(p, l, c,
                                    "expected a severity (low, medium, high, "
                                    "critical)");
                if (rs_detect_severity_from_name(sev, &rule.severity) != 0)
                        return perr(p, l, c,
                                    "unknown severity '%s' (low, medium, "
                                    "high, critical)",
                                    sev);
        }

        set = &p->r->sets[set_idx];
        if (set->nrules == set->cap) {
                size_t            cap = set->cap ? 2 * set->cap : 8;
                rs_detect_rule_t *rules;

                rules = realloc(set->rules, cap * sizeof(*rules));
                if (!rules)
                        return perr(p, line, col, "out of memory");
                set->rules = rules;
                set->cap   = cap;
        }
        set->rules[set->nrules++] = rule;
        return 0;
}

static int tenant_char(int ch) {
        return isalnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

static int parse_items(parser_t *p, size_t set_idx);

static int parse_tenant(parser_t *p, unsigned kw_line) {
        char     name[RS_DETECT_TENANT_MAX];
        size_t   len = 0, i;
        unsigned l, c;
        set_t   *set;

        skip_blank(p);
        l = p->line;
        c = p->col;
        while (tenant_char(peek(p))) {
                if (len + 1 < sizeof(name))
                        name[len] = (char)peek(p);
                len++;
                advance(p);
        }
        if (len == 0)
                return perr(p, l, c, "expected a tenant id after 'tenant'");
        if (len >= sizeof(name))
                return perr(p, l, c, "tenant id longer than %d bytes",
                            RS_DETECT_TENANT_MAX - 1);
        name[len] = '\0';
        for (i = 1; i < p->r->nsets; i++)
                if (!strcmp(p->r->sets[i].tenant, name))
                        return perr(p, l, c,
                                    "tenant '%s' has two blocks (first at "
                                    "line %u)",
                                    name, p->r->sets[i].line);
        skip_space(p, 0);
        if (peek(p) != '{')
                return perr(p, p->line, p->col,
                            "expected '{' after tenant '%s'", name);
        advance(p);
        set = set_add(p->r, name, kw_line);
        if (!set)
                return perr(p, l, c, "out of memory");
        return parse_items(p, p->r->nsets - 1);
}

/* Items up to the end of the text (default set) or the closing '}'. */
static int parse_items(parser_t *p, size_t set_idx) {
        char     word[RS_DETECT_METRIC_MAX];
        unsigned l, c;
        size_t   len;
        unsigned open_line = set_idx ? p->r->sets[set_idx].line : 0;

        for (;;) {
                skip_space(p, 1);
                l = p->line;
                c = p->col;
                if (!peek(p)) {
                        if (set_idx)
                                return perr(p, l, c,
                                            "missing '}' to close tenant "
                                            "'%s' (opened at line %u)",
                                            p->r->sets[set_idx].tenant,
                                            open_line);
                        return 0;
                }
                if (peek(p) == '}') {
                        if (!set_idx)
                                return perr(p, l, c, "unexpected '}'");
                        advance(p);
                        return 0;
                }
                len = read_word(p, word, sizeof(word), 1);
                if (len == 0)
                        return perr(p, l, c, "expected a metric or 'tenant'");
                if (len >= sizeof(word))
                        return perr(p, l, c, "metric name longer than %d bytes",
                                    RS_DETECT_METRIC_MAX - 1);
                if (!strcmp(word, "tenant")) {
                        if (set_idx)
                                return perr(p, l, c,
                                            "tenant blocks cannot nest");
                        if (parse_tenant(p, l) != 0)
                                return -1;
                        continue;
                }
                if (parse_rule(p, set_idx, word, l, c) != 0)
                        return -1;
                skip_blank(p);
                if (peek(p) && peek(p) != ';' && peek(p) != '\n' &&
                    !(set_idx && peek(p) == '}'))
                        return perr(p, p->line, p->col,
                                    "expected ';' or a new line");
        }
}

static int cmp_rule(const void *a, const void *b) {
        const rs_detect_rule_t *x = a, *y = b;
        int                     d = strcmp(x->metric, y->metric);

        if (d)
                return d;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->column < y->column ? -1 : x->column > y->column;
}

static int cmp_set(const void *a, const void *b) {
        return strcmp(((const set_t *)a)->tenant, ((const set_t *)b)->tenant);
}

/* Range of metric's rules in set (sorted): first index and count. */
static size_t set_find(const set_t *set, const char *metric, size_t *first) {
        size_t i, n = 0;

        for (i = 0; i < set->nrules; i++) {
                if (ieq(set->rules[i].metric, metric)) {
                        if (n++ == 0)
                                *first = i;
                } else if (n) {
                        break;
                }
        }
        return n;
}

static int set_off(const set_t *set, const char *metric) {
        size_t i;

        for (i = 0; i < set->noffs; i++)
                if (ieq(set->offs[i].metric, metric))
                        return 1;
        return 0;
}

rs_detect_rules_t *rs_detect_rules_parse(const char *text, char *errstr,
                                         size_t errstr_size) {
        rs_detect_rules_t *r;
        parser_t           p;
        size_t             i, j, first;

        if (errstr && errstr_size > 0)
                errstr[0] = '\0';
        r = calloc(1, sizeof(*r));
        if (!r || !set_add(r, "", 0)) {
                if (errstr && errstr_size > 0)
                        snprintf(errstr, errstr_size, "out of memory");
                rs_detect_rules_destroy(r);
                return NULL;
        }
        memset(&p, 0, sizeof(p));
        p.s           = text ? text : "";
        p.line        = 1;
        p.col         = 1;
        p.errstr      = errstr;
        p.errstr_size = errstr_size;
        p.r           = r;
        if (parse_items(&p, 0) != 0)
                goto fail;

        for (i = 0; i < r->nsets; i++) {
                set_t *set = &r->sets[i];

                if (set->nrules > 1)
                        qsort(set->rules, set->nrules, sizeof(*set->rules),
                              cmp_rule);
                for (j = 0; j < set->noffs; j++)
                        if (set_find(set, set->offs[j].metric, &first)) {
                                perr(&p, set->offs[j].line, set->offs[j].column,
                                     "%s is both off and ruled in tenant "
                                     "'%s'",
                                     set->offs[j].metric, set->tenant);
                                goto fail;
                        }
        }
        if (r->nsets > 2)
                qsort(r->sets + 1, r->nsets - 1, sizeof(*r->sets), cmp_set);
        return r;
fail:
        rs_detect_rules_destroy(r);
        return NULL;
}

void rs_detect_rules_destroy(rs_detect_rules_t *r) {
        size_t i;

        if (!r)
                return;
        for (i = 0; i < r->nsets; i++) {
                free(r->sets[i].rules);
                free(r->sets[i].offs);
        }
        free(r->sets);
        free(r);
}

static const set_t *tenant_set(const rs_detect_rules_t *r, const char *tenant) {
        size_t lo = 1, hi = r->nsets, mid;
        int    d;

        if (!tenant)
                return NULL;
        while (lo < hi) {
                mid = lo + (hi - lo) / 2;
                d   = strcmp(tenant, r->sets[mid].tenant);
                if (d == 0)
                        return &r->sets[mid];
                if (d < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

size_t rs_detect_rules_find(const rs_detect_rules_t *r, const char *tenant,
                            const char *metric, const rs_detect_rule_t **out) {
        const set_t *set;
        size_t       first = 0, n;

        if (out)
                *out = NULL;
        if (!r || !metric || !out || r->nsets == 0)
                return 0;
        set = tenant_set(r, tenant);
        if (set) {
                if (set_off(set, metric))
                        return 0;
                n = set_find(set, metric, &first);
                if (n) {
                        *out = &set->rules[first];
                        return n;
                }
        }
        set = &r->sets[0];
        n   = set_find(set, metric, &first);
        if (n)
                *out = &set->rules[first];
        return n;
}

void rs_detect_rules_count(const rs_detect_rules_t *r, size_t *rules,
                           size_t *tenants) {
        size_t i, n = 0;

        if (r)
                for (i = 0; i < r->nsets; i++)
                        n += r->sets[i].nrules;
        if (rules)
                *rules = n;
        if (tenants)
                *tenants = r && r->nsets > 0 ? r->nsets - 1 : 0;
}

/* ---- Lifecycle --------------------------------------------------------- */

void rs_detect_lifecycle_defaults(rs_detect_kind_t            kind,
                                  rs_detect_lifecycle_conf_t *c) {
        if (!c)
                return;
        c->open_after      = kind == RS_DETECT_KIND_REGRESSION ? 3 : 1;
        c->resolve_after   = 5;
        c->update_fraction = 0.25;
}

void rs_detect_state_init(rs_detect_state_t *st) {
        if (!st)
                return;
        memset(st, 0, sizeof(*st));
        st->freeze_ms        = RS_DETECT_NO_FREEZE;
        st->noticed_value    = NAN;
        st->noticed_expected = NAN;
}

/* The value a notice compares: value / expected when that is defined (a
 * seasonal baseline moves the value along the day, not the excess). */
static double notice_ratio(double value, double expected) {
        return isfinite(expected) && expected > 0 ? value / expected : value;
}

static int moved(const rs_detect_lifecycle_conf_t *c,
                 const rs_detect_state_t *st, const rs_detect_verdict_t *v) {
        double now  = notice_ratio(v->value, v->expected),
               then = notice_ratio(st->noticed_value, st->noticed_expected);

        if (!isfinite(now) || !isfinite(then))
                return 0;
        return fabs(now - then) > c->update_fraction * fabs(then);
}

static void notice(rs_detect_state_t *st, const rs_detect_verdict_t *v,
                   int severity) {
        st->severity         = severity;
        st->noticed_value    = v->value;
        st->noticed_expected = v->expected;
        st->change_run       = 0;
}

static void forget_pending(rs_detect_state_t *st) {
        st->breach_run = 0;
        if (!st->open)
                st->freeze_ms = RS_DETECT_NO_FREEZE;
}

rs_detect_event_t rs_detect_feed(const rs_detect_lifecycle_conf_t *c,
                                 rs_detect_state_t                *st,
                                 const rs_detect_verdict_t        *v) {
        rs_detect_lifecycle_conf_t def;
        unsigned                   open_after, resolve_after;
        int                        sev;

        if (!st || !v)
                return RS_DETECT_EVENT_NONE;
        if (!c) {
                rs_detect_lifecycle_defaults(RS_DETECT_KIND_REGRESSION, &def);
                c = &def;
        }
        open_after    = c->open_after ? c->open_after : 1;
        resolve_after = c->resolve_after ? c->resolve_after : 1;

        switch (v->status) {
        case RS_DETECT_NO_DATA:
                return RS_DETECT_EVENT_NONE;
        case RS_DETECT_WATCH:
                forget_pending(st);
                st->healthy_run = 0;
                st->change_run  = 0;
                return RS_DETECT_EVENT_NONE;
        case RS_DETECT_HEALTHY:
                forget_pending(st);
                st->change_run = 0;
                if (!st->open)
                        return RS_DETECT_EVENT_NONE;
                if (++st->healthy_run < resolve_after)
                        return RS_DETECT_EVENT_NONE;
                st->open        = 0;
                st->healthy_run = 0;
                st->freeze_ms   = RS_DETECT_NO_FREEZE;
                st->version++;
                return RS_DETECT_EVENT_RESOLVED;
        case RS_DETECT_BREACH:
                break;
        default:
                return RS_DETECT_EVENT_NONE;
        }

        sev = (int)v->severity;
        if (sev < RS_DETECT_SEV_LOW)
                sev = RS_DETECT_SEV_LOW;
        if (sev > RS_DETECT_SEV_CRITICAL)
                sev = RS_DETECT_SEV_CRITICAL;
        st->healthy_run = 0;
        if (st->open) {
                if (sev == st->severity && !moved(c, st, v)) {
                        st->change_run = 0;
                        return RS_DETECT_EVENT_NONE;
                }
                /* A change must be seen open_after windows in a row, so
                 * a noisy series does not flap between severities. */
                if (++st->change_run < open_after)
                        return RS_DETECT_EVENT_NONE;
                notice(st, v, sev);
                st->version++;
                return RS_DETECT_EVENT_UPDATED;
        }
        if (st->breach_run == 0) {
                st->since_ms  = v->ts_ms;
                st->freeze_ms = v->baseline_end_ms;
        }
        if (st->breach_run < UINT32_MAX)
                st->breach_run++;
        if (st->breach_run < open_after)
                return RS_DETECT_EVENT_NONE;
        st->open        = 1;
        st->breach_run  = 0;
        st->healthy_run = 0;
        st->version     = 1;
        st->opened_ms   = v->ts_ms;
        notice(st, v, sev);
        return RS_DETECT_EVENT_OPEN;
}

int64_t rs_detect_state_end(const rs_detect_state_t *st, int64_t end_ms) {
        if (!st || st->freeze_ms == RS_DETECT_NO_FREEZE)
                return end_ms;
        return st->freeze_ms < end_ms ? st->freeze_ms : end_ms;
}

const char *rs_detect_event_name(rs_detect_event_t e) {
        switch (e) {
        case RS_DETECT_EVENT_NONE:
                return "none";
        case RS_DETECT_EVENT_OPEN:
                return "open";
        case RS_DETECT_EVENT_UPDATED:
                return "updated";
        case RS_DETECT_EVENT_RESOLVED:
                return "resolved";
        }
        return "unknown";
}

/* ---- Explanation ------------------------------------------------------- */

static void explain_invalid(rs_detect_explain_t *out) {
        out->base = out->current = out->change = NAN;
        out->within = out->mix = NAN;
}

int rs_detect_explain(rs_detect_segment_t *segs, size_t n,
                      rs_detect_explain_t *out) {
        double sum0 = 0, sum1 = 0, p0 = 0, p1 = 0, pbar, w0, w1, x0, x1;
        size_t i;

        if (!out)
                return RS_DETECT_EINVAL;
        explain_invalid(out);
        if (n > 0 && !segs)
                return RS_DETECT_EINVAL;
        for (i = 0; i < n; i++) {
                const rs_detect_segment_t *s = &segs[i];

                if (!nonneg(s->base_share) || !nonneg(s->cur_share) ||
                    isinf(s->base_p75) || isinf(s->cur_p75) ||
                    (isnan(s->base_p75) && isnan(s->cur_p75)) ||
                    (isnan(s->base_p75) && s->base_share > 0) ||
                    (isnan(s->cur_p75) && s->cur_share > 0))
                        return RS_DETECT_EINVAL;
                sum0 += s->base_share;
                sum1 += s->cur_share;
        }
        if (!(sum0 > 0) || !(sum1 > 0) || !isfinite(sum0) || !isfinite(sum1))
                return RS_DETECT_EINVAL;

        for (i = 0; i < n; i++) {
                x0 = isnan(segs[i].base_p75) ? segs[i].cur_p75
                                             : segs[i].base_p75;
                x1 =
                    isnan(segs[i].cur_p75) ? segs[i].base_p75 : segs[i].cur_p75;
                p0 += segs[i].base_share / sum0 * x0;
                p1 += segs[i].cur_share / sum1 * x1;
        }
        pbar        = (p0 + p1) / 2;
        out->within = 0;
        out->mix    = 0;
        for (i = 0; i < n; i++) {
                rs_detect_segment_t *s = &segs[i];

                w0        = s->base_share / sum0;
                w1        = s->cur_share / sum1;
                x0        = isnan(s->base_p75) ? s->cur_p75 : s->base_p75;
                x1        = isnan(s->cur_p75) ? s->base_p75 : s->cur_p75;
                s->within = (x1 - x0) * (w0 + w1) / 2;
                s->mix    = (w1 - w0) * ((x0 + x1) / 2 - pbar);
                out->within += s->within;
                out->mix += s->mix;
        }
        out->base    = p0;
        out->current = p1;
        out->change  = p1 - p0;
        return 0;
}

size_t rs_detect_explain_text(const rs_detect_segment_t *segs, size_t n,
                              const rs_detect_explain_t *e, const char *metric,
                              char *buf, size_t size) {
        double      sign, c, best_c = 0, sum0 = 0, sum1 = 0, x0, x1;
        size_t      i, best = n;
        int         within, grew, w;
        const char *name;

        if (!buf)
                size = 0;
        if (size > 0)
                buf[0] = '\0';
        if (!e || (n > 0 && !segs) || !isfinite(e->change))
                return 0;
        if (!metric)
                metric = "p75";
        for (i = 0; i < n; i++) {
                sum0 += segs[i].base_share;
                sum1 += segs[i].cur_share;
        }
        if (e->change == 0 || !(sum0 > 0) || !(sum1 > 0)) {
                w = snprintf(buf, size, "no change");
                return w > 0 ? (size_t)w : 0;
        }
        sign   = e->change > 0 ? 1 : -1;
        within = sign * e->within >= sign * e->mix;
        /* The segment with the largest contribution in the direction of
         * the change. For traffic mix, one that gained share first:
         * "traffic moved to the slow segment" and "away from the fast one"
         * are the same move, and the first reads as the cause. */
        for (grew = !within; grew >= 0 && best == n; grew--) {
                for (i = 0; i < n; i++) {
                        c = sign * (within ? segs[i].within : segs[i].mix);
                        if (!(c > 0) || (grew && !(segs[i].cur_share / sum1 >
                                                   segs[i].base_share / sum0)))
                                continue;
                        if (best == n || c > best_c) {
                                best   = i;
                                best_c = c;
                        }
                }
        }
        if (best == n) {
                w = snprintf(buf, size, "mostly %s",
                             within ? "within segments" : "traffic mix");
                return w > 0 ? (size_t)w : 0;
        }
        name = segs[best].name ? segs[best].name : "(unnamed)";
        if (!within) {
                w = snprintf(buf, size,
                             "mostly traffic mix: %s share %.0f%% -> %.0f%%",
                             name, 100 * segs[best].base_share / sum0,
                             100 * segs[best].cur_share / sum1);
                return w > 0 ? (size_t)w : 0;
        }
        x0 = segs[best].base_p75;
        x1 = segs[best].cur_p75;
        if (x0 > 0)
                w = snprintf(buf, size, "mostly within segments: %s %s %+.0f%%",
                             name, metric, 100 * (x1 - x0) / x0);
        else
                w = snprintf(buf, size,
                             "mostly within segments: %s %s %g -> %g", name,
                             metric, x0, x1);
        return w > 0 ? (size_t)w : 0;
}
