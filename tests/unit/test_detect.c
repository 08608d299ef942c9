/*
 * detect: the anomaly-detector's engine on synthetic series from a seeded
 * PRNG (splitmix64 + Box-Muller, so every run sees the same numbers).
 *
 * A small simulation (sim_run) plays the processor: for each window it
 * builds the baseline from the stored p75s before the window (or before
 * the lifecycle's frozen end), judges the window (regression) and the last
 * shift_windows windows (level shift), and feeds both lifecycles. Windows
 * are either drawn page view by page view into a sketch (step, spike,
 * small samples, noise) or made directly as p75 values with a +-5% CI and
 * 1000 page views (drift, seasonal series).
 *
 * Time starts at T0 = 2024-01-01 00:00 UTC, a Monday.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/detect.h"
#include "rumstream/sketch.h"
#include "rumstream/stats.h"

#define PI 3.14159265358979323846

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define T0     INT64_C(1704067200000)
#define MINUTE INT64_C(60000)
#define HOUR   INT64_C(3600000)
#define DAY    (24 * HOUR)

static uint64_t rng_state;

static uint64_t splitmix64(void) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static double uniform(void) { /* (0, 1) */
        return ((double)(splitmix64() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void) {
        return sqrt(-2 * log(uniform())) * cos(2 * PI * uniform());
}

/* ---- Simulation -------------------------------------------------------- */

#define MAX_EVENTS 64

typedef struct event_s {
        size_t               i; /* window index */
        rs_detect_event_t    ev;
        rs_detect_severity_t sev;
} event_t;

typedef struct sim_s {
        rs_detect_conf_t           conf;
        rs_detect_lifecycle_conf_t reg_lc, shift_lc;
        rs_detect_window_t        *wins; /* n windows, filled by the test */
        size_t                     n;
        size_t keep;  /* history points passed (0: all before the window) */
        size_t start; /* first window fed to the lifecycles */
        /* outputs */
        rs_detect_state_t     reg_st, shift_st;
        event_t               reg_ev[MAX_EVENTS], shift_ev[MAX_EVENTS];
        size_t                nreg_ev, nshift_ev;
        size_t                reg_breaches; /* windows judged breach */
        size_t                first_breach; /* index, or n */
        size_t                shift_down;   /* windows shifted down */
        size_t                first_down;   /* index, or n */
        size_t                no_data;      /* windows judged no_data */
        size_t                errors;       /* judge calls that failed */
        rs_detect_verdict_t  *verdicts;     /* regression verdict per window */
        rs_detect_baseline_t *bases;        /* regression baseline per window */
} sim_t;

static void sim_init(sim_t *s, size_t n) {
        memset(s, 0, sizeof(*s));
        rs_detect_conf_defaults(&s->conf);
        rs_detect_lifecycle_defaults(RS_DETECT_KIND_REGRESSION, &s->reg_lc);
        rs_detect_lifecycle_defaults(RS_DETECT_KIND_SHIFT, &s->shift_lc);
        s->n        = n;
        s->wins     = calloc(n, sizeof(*s->wins));
        s->verdicts = calloc(n, sizeof(*s->verdicts));
        s->bases    = calloc(n, sizeof(*s->bases));
}

static void sim_free(sim_t *s) {
        free(s->wins);
        free(s->verdicts);
        free(s->bases);
}

static void record(event_t *evs, size_t *nev, size_t i, rs_detect_event_t ev,
                   const rs_detect_state_t *st) {
        if (ev == RS_DETECT_EVENT_NONE)
                return;
        if (*nev < MAX_EVENTS) {
                evs[*nev].i   = i;
                evs[*nev].ev  = ev;
                evs[*nev].sev = (rs_detect_severity_t)st->severity;
        }
        (*nev)++;
}

static void sim_run(sim_t *s) {
        rs_detect_point_t *pts = calloc(s->n + 1, sizeof(*pts));
        double            *scratch =
            calloc(RS_DETECT_BASELINE_SCRATCH(s->n + 1), sizeof(*scratch));
        size_t               i, from, first, k = s->conf.shift_windows;
        rs_detect_baseline_t b;
        rs_detect_shift_t    sh;
        rs_detect_event_t    ev;
        int64_t              end;

        rs_detect_state_init(&s->reg_st);
        rs_detect_state_init(&s->shift_st);
        s->first_breach = s->first_down = s->n;
        /* What the processor stores per window: the p75, NaN when the
         * window had too few page views. */
        for (i = 0; i < s->n; i++) {
                pts[i].ts_ms = s->wins[i].ts_ms;
                pts[i].value = s->wins[i].samples >= s->conf.min_samples
                                   ? s->wins[i].value
                                   : NAN;
        }
        for (i = 0; i < s->n; i++) {
                from = s->keep && i > s->keep ? i - s->keep : 0;

                /* Regression of window i. */
                end = rs_detect_state_end(&s->reg_st, s->wins[i].ts_ms);
                (void)rs_detect_baseline(&s->conf, pts + from, i - from,
                                         s->wins[i].ts_ms, end, scratch, &b);
                s->bases[i] = b;
                if (rs_detect_regression(&s->conf, &b, &s->wins[i],
                                         &s->verdicts[i]) != 0)
                        s->errors++;
                if (s->verdicts[i].status == RS_DETECT_BREACH) {
                        if (s->first_breach == s->n)
                                s->first_breach = i;
                        s->reg_breaches++;
                }
                s->no_data += s->verdicts[i].status == RS_DETECT_NO_DATA;
                if (i >= s->start) {
                        ev = rs_detect_feed(&s->reg_lc, &s->reg_st,
                                            &s->verdicts[i]);
                        record(s->reg_ev, &s->nreg_ev, i, ev, &s->reg_st);
                }

                /* Level shift of windows i-k+1 .. i, against the history
                 * before the first of them, expected at the middle one. */
                if (i + 1 < k)
                        continue;
                first = i + 1 - k;
                end   = rs_detect_state_end(&s->shift_st, s->wins[first].ts_ms);
                (void)rs_detect_baseline(&s->conf, pts + from, i - from,
                                         s->wins[first + (k - 1) / 2].ts_ms,
                                         end, scratch, &b);
                if (rs_detect_level_shift(&s->conf, &b, s->wins + first, k,
                                          &sh) != 0)
                        s->errors++;
                if (sh.direction < 0) {
                        if (s->first_down == s->n)
                                s->first_down = i;
                        s->shift_down++;
                }
                if (i >= s->start) {
                        ev = rs_detect_feed(&s->shift_lc, &s->shift_st,
                                            &sh.verdict);
                        record(s->shift_ev, &s->nshift_ev, i, ev, &s->shift_st);
                }
        }
        free(pts);
        free(scratch);
        RS_CHECK_INT(s->errors, 0);
}

/* Checks that evs[0..nev) is exactly want[0..nwant). */
static void check_events(const char *what, const event_t *evs, size_t nev,
                         const event_t *want, size_t nwant) {
        size_t i;

        RS_CHECK_MSG(nev == nwant, "%s: %zu events, expected %zu", what, nev,
                     nwant);
        for (i = 0; i < nev && i < MAX_EVENTS; i++)
                fprintf(nev == nwant ? stdout : stderr,
                        "  %s event %zu: window %zu %s %s\n", what, i, evs[i].i,
                        rs_detect_event_name(evs[i].ev),
                        rs_detect_severity_name(evs[i].sev));
        for (i = 0; i < nev && i < nwant; i++) {
                RS_CHECK_MSG(evs[i].i == want[i].i && evs[i].ev == want[i].ev &&
                                 (want[i].sev == RS_DETECT_SEV_NONE ||
                                  evs[i].sev == want[i].sev),
                             "%s event %zu: window %zu %s %s, expected window "
                             "%zu %s %s",
                             what, i, evs[i].i, rs_detect_event_name(evs[i].ev),
                             rs_detect_severity_name(evs[i].sev), want[i].i,
                             rs_detect_event_name(want[i].ev),
                             rs_detect_severity_name(want[i].sev));
        }
}

/* Window i of a 60 s series drawn page view by page view: `views`
 * lognormal page views of median `median` and log-sd `sigma`, through a
 * sketch as the processor sees them. */
static void draw_window(rs_sketch_t *sk, const rs_detect_conf_t *c,
                        int64_t ts_ms, size_t views, double median,
                        double sigma, rs_detect_window_t *w) {
        size_t j;

        rs_sketch_reset(sk);
        for (j = 0; j < views; j++)
                (void)rs_sketch_add(sk, median * exp(sigma * gauss()), 1);
        rs_detect_window_from_sketch(c, sk, ts_ms, w);
}

/* A window made directly: p75 `value`, CI +-5%, 1000 page views. */
static void make_window(rs_detect_window_t *w, int64_t ts_ms, double value) {
        w->ts_ms   = ts_ms;
        w->value   = value;
        w->ci_lo   = value * 0.95;
        w->ci_hi   = value * 1.05;
        w->samples = 1000;
}

/* ---- Configuration ----------------------------------------------------- */

static void test_conf(void) {
        rs_detect_conf_t           c, bad;
        rs_detect_lifecycle_conf_t lc;

        rs_detect_conf_defaults(&c);
        RS_CHECK_INT(c.history, 60);
        RS_CHECK_INT(c.min_history, 30);
        RS_CHECK(c.spread_floor == 0.02);
        RS_CHECK_INT(c.seasonal, RS_DETECT_SEASON_AUTO);
        RS_CHECK_INT(c.season_min_days, 3);
        RS_CHECK_INT(c.season_min_weeks, 3);
        RS_CHECK(c.min_samples == 50);
        RS_CHECK(c.min_degradation == 0.2);
        RS_CHECK(c.z_threshold == 3.5);
        RS_CHECK(c.ci_level == 0.95);
        RS_CHECK(c.high_degradation == 0.5);
        RS_CHECK(c.critical_degradation == 1.0);
        RS_CHECK_INT(c.shift_windows, 5);
        RS_CHECK_INT(rs_detect_conf_check(&c), 0);
        RS_CHECK_INT(rs_detect_conf_check(NULL), RS_DETECT_EINVAL);

        bad             = c;
        bad.min_history = 61;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad         = c;
        bad.history = 0;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad          = c;
        bad.ci_level = 1;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad             = c;
        bad.z_threshold = 0;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad              = c;
        bad.spread_floor = NAN;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad                      = c;
        bad.critical_degradation = 0.4;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad               = c;
        bad.shift_windows = RS_DETECT_SHIFT_MAX + 1;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);
        bad          = c;
        bad.seasonal = (rs_detect_season_t)7;
        RS_CHECK_INT(rs_detect_conf_check(&bad), RS_DETECT_EINVAL);

        rs_detect_lifecycle_defaults(RS_DETECT_KIND_REGRESSION, &lc);
        RS_CHECK_INT(lc.open_after, 3);
        RS_CHECK_INT(lc.resolve_after, 5);
        RS_CHECK(lc.update_fraction == 0.25);
        rs_detect_lifecycle_defaults(RS_DETECT_KIND_BUDGET, &lc);
        RS_CHECK_INT(lc.open_after, 1);
        rs_detect_lifecycle_defaults(RS_DETECT_KIND_SHIFT, &lc);
        RS_CHECK_INT(lc.open_after, 1);
}

/* ---- p75 confidence interval ------------------------------------------- */

/* P(B <= k) for B ~ Binomial(n, q), by P(B <= k) = I_{1-q}(n - k, k + 1). */
static double binom_cdf(double k, double n, double q) {
        if (k < 0)
                return 0;
        if (k >= n)
                return 1;
        return rs_stats_incbeta(n - k, k + 1, 1 - q);
}

static void test_ci_ranks(void) {
        /* Reference values computed independently with Python 3's standard
         * library (no rumstream code):
         *   from statistics import NormalDist
         *   from fractions import Fraction
         *   from math import comb, floor, ceil, sqrt
         *   z  = NormalDist().inv_cdf((1 + level) / 2)
         *   h  = z * sqrt(n * .75 * .25)
         *   lo = floor(n * .75 - h); hi = ceil(n * .75 + h)
         *   q  = Fraction(3, 4)
         *   coverage = sum(comb(n, k) * q**k * (1 - q)**(n - k)
         *                  for k in range(max(lo, 0), min(hi - 1, n) + 1))
         * coverage = P(lo <= B <= hi - 1), B ~ Binomial(n, 3/4): the exact
         * probability that [X_(lo), X_(hi)] holds the true p75 of a
         * continuous distribution (X_(lo) <= p75 iff at least lo samples
         * fall below it; p75 <= X_(hi) iff at most hi - 1 do). The C side
         * recomputes it from rs_stats_incbeta(). */
        static const struct {
                double n, level, lo, hi, coverage;
        } ref[] = {
            {5, 0.95, 1, 6, 0.9990234375},
            {12, 0.95, 6, 12, 0.9540708661079407},
            {50, 0.95, 31, 44, 0.9666915191609466},
            {60, 0.95, 38, 52, 0.9633687124997953},
            {100, 0.95, 66, 84, 0.962462637701025},
            {200, 0.90, 139, 161, 0.9271767054665448},
            {1000, 0.95, 723, 777, 0.9513541847006042},
            {1000, 0.99, 714, 786, 0.9914813201038662},
        };
        double lo, hi, cov;
        size_t i;

        for (i = 0; i < NELEM(ref); i++) {
                RS_CHECK_INT(
                    rs_detect_ci_ranks(ref[i].n, 0.75, ref[i].level, &lo, &hi),
                    0);
                RS_CHECK_MSG(lo == ref[i].lo && hi == ref[i].hi,
                             "n %g: ranks [%g, %g], expected [%g, %g]",
                             ref[i].n, lo, hi, ref[i].lo, ref[i].hi);
                cov = binom_cdf(hi - 1, ref[i].n, 0.75) -
                      binom_cdf(lo - 1, ref[i].n, 0.75);
                RS_CHECK_REL(cov, ref[i].coverage, 1e-9);
                /* The outward rounding keeps the coverage at or above the
                 * level asked, but for the smallest n's normal
                 * approximation not by much. */
                RS_CHECK_MSG(cov >= ref[i].level - 0.03, "n %g: coverage %g",
                             ref[i].n, cov);
        }
        RS_CHECK_INT(rs_detect_ci_ranks(0, 0.75, 0.95, &lo, &hi),
                     RS_DETECT_EINVAL);
        RS_CHECK(isnan(lo) && isnan(hi));
        RS_CHECK_INT(rs_detect_ci_ranks(100, 1, 0.95, &lo, &hi),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_ci_ranks(100, 0.75, 1, &lo, &hi),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_ci_ranks(INFINITY, 0.75, 0.95, &lo, &hi),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_ci_ranks(100, 0.75, 0.95, NULL, &hi),
                     RS_DETECT_EINVAL);
}

static double sorted_quantile(const void *ctx, double p) {
        const double *v = ctx;

        return rs_stats_quantile_sorted(v + 1, (size_t)v[0], p);
}

static void test_ci_values(void) {
        double             buf[1 + 1000], lo, hi;
        rs_sketch_t       *sk = rs_sketch_new(0.01);
        rs_detect_window_t w;
        rs_detect_conf_t   c;
        size_t             i;

        rs_detect_conf_defaults(&c);
        /* 100 values 10, 20, ..., 1000: X_(k) = 10 k, so the 95% interval
         * of the p75 is [X_(66), X_(84)] = [660, 840]. */
        buf[0] = 100;
        for (i = 1; i <= 100; i++)
                buf[i] = 10.0 * (double)i;
        RS_CHECK_INT(rs_detect_quantile_ci(100, 0.75, 0.95, sorted_quantile,
                                           buf, &lo, &hi),
                     0);
        RS_CHECK_REL(lo, 660, 1e-12);
        RS_CHECK_REL(hi, 840, 1e-12);

        /* 5 values: lower rank 1 (the minimum), upper rank 6 > 5: nothing
         * bounds the p75 from above. */
        buf[0] = 5;
        RS_CHECK_INT(rs_detect_quantile_ci(5, 0.75, 0.95, sorted_quantile, buf,
                                           &lo, &hi),
                     0);
        RS_CHECK_REL(lo, 10, 1e-12);
        RS_CHECK(isinf(hi) && hi > 0);
        /* 2 values: both sides unbounded. */
        buf[0] = 2;
        RS_CHECK_INT(rs_detect_quantile_ci(2, 0.75, 0.95, sorted_quantile, buf,
                                           &lo, &hi),
                     0);
        RS_CHECK(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
        RS_CHECK_INT(rs_detect_quantile_ci(2, 0.75, 0.95, NULL, buf, &lo, &hi),
                     RS_DETECT_EINVAL);
        RS_CHECK(isnan(lo) && isnan(hi));

        /* A sketch of 1, 2, ..., 1000 ms: ranks [723, 777] as in the table,
         * values within the sketch's 1% of 723 and 777. */
        for (i = 1; i <= 1000; i++)
                (void)rs_sketch_add(sk, (double)i, 1);
        RS_CHECK_INT(rs_detect_p75_ci(sk, 0.95, &lo, &hi), 0);
        RS_CHECK_REL(lo, 723, 0.01);
        RS_CHECK_REL(hi, 777, 0.01);
        rs_detect_window_from_sketch(&c, sk, T0, &w);
        RS_CHECK(w.ts_ms == T0);
        RS_CHECK(w.samples == 1000);
        RS_CHECK_REL(w.value, 750.25, 0.02); /* rank 0.75 * 999 */
        RS_CHECK(w.ci_lo == lo && w.ci_hi == hi);
        RS_CHECK(w.ci_lo < w.value && w.value < w.ci_hi);

        /* An empty sketch is no data. */
        rs_sketch_reset(sk);
        RS_CHECK_INT(rs_detect_p75_ci(sk, 0.95, &lo, &hi), RS_DETECT_EINVAL);
        RS_CHECK(isnan(lo) && isnan(hi));
        rs_detect_window_from_sketch(NULL, sk, T0, &w);
        RS_CHECK(isnan(w.value) && w.samples == 0);
        RS_CHECK_INT(rs_detect_p75_ci(NULL, 0.95, &lo, &hi), RS_DETECT_EINVAL);
        RS_CHECK(isnan(rs_detect_sketch_quantile(NULL, 0.5)));
        rs_sketch_destroy(sk);
}

/* ---- Baseline ---------------------------------------------------------- */

static void test_baseline_plain(void) {
        /* Ten windows, sorted 92 96 100 100 102 104 108 110 120 200:
         * median 103; |v - 103| sorted 1 1 3 3 5 7 7 11 17 97: MAD 6. */
        static const double  v[] = {100, 104, 102, 110, 100,
                                    108, 200, 96,  120, 92};
        rs_detect_point_t    pts[16];
        double               scratch[RS_DETECT_BASELINE_SCRATCH(16)];
        rs_detect_baseline_t b;
        rs_detect_conf_t     c;
        size_t               i, n = NELEM(v);

        rs_detect_conf_defaults(&c);
        c.history     = 10;
        c.min_history = 5;
        for (i = 0; i < n; i++) {
                pts[i].ts_ms = T0 + (int64_t)i * MINUTE;
                pts[i].value = v[i];
        }
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 10 * MINUTE, scratch, &b),
                     0);
        RS_CHECK(b.valid);
        RS_CHECK_INT(b.n, 10);
        RS_CHECK(b.level == 103);
        RS_CHECK(b.plain_level == 103);
        RS_CHECK_REL(b.spread, RS_STATS_MAD_NORMAL * 6, 1e-15);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_NONE);
        RS_CHECK(isnan(b.slot_level) && isnan(b.ratio));
        RS_CHECK(b.end_ms == T0 + 10 * MINUTE);

        /* The floor: 10% of the level is more than 1.4826 * 6. */
        c.spread_floor = 0.1;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 10 * MINUTE, scratch, &b),
                     0);
        RS_CHECK_REL(b.spread, 10.3, 1e-15);
        c.spread_floor = 0.02;

        /* NaN windows are skipped; history counts usable windows. */
        pts[3].value = NAN; /* drops 110 */
        c.history    = 6;   /* the last six usable: 100 108 200 96 120 92 */
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 10 * MINUTE, scratch, &b),
                     0);
        RS_CHECK_INT(b.n, 6);
        RS_CHECK(b.level == 104); /* (100 + 108) / 2 */
        /* end_ms: only windows before minute 5 (100 104 102 NaN 100). */
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 5 * MINUTE, scratch, &b),
                     RS_DETECT_EFEW);
        RS_CHECK(!b.valid && isnan(b.level));
        RS_CHECK_INT(b.n, 4);
        c.min_history = 4;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 5 * MINUTE, scratch, &b),
                     0);
        RS_CHECK(b.level == 101);
        RS_CHECK_INT(rs_detect_history_before(pts, n, T0 + 5 * MINUTE), 5);
        RS_CHECK_INT(rs_detect_history_before(pts, n, T0), 0);
        RS_CHECK_INT(rs_detect_history_before(pts, n, T0 + DAY), 10);

        /* Infinite values are no data; out-of-order timestamps an error. */
        pts[0].value = INFINITY;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 5 * MINUTE, scratch, &b),
                     RS_DETECT_EFEW);
        RS_CHECK_INT(b.n, 3);
        pts[0].value = 100;
        pts[4].ts_ms = T0;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0 + 10 * MINUTE,
                                        T0 + 10 * MINUTE, scratch, &b),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_baseline(&c, NULL, 3, T0, T0, scratch, &b),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_baseline(&c, NULL, 0, T0, T0, NULL, &b),
                     RS_DETECT_EFEW);
        RS_CHECK_INT(rs_detect_baseline(&c, pts, n, T0, T0, scratch, NULL),
                     RS_DETECT_EINVAL);
}

/* Hourly points, hand-made so every median is known: hour h of day d is
 * 1000 + 100 h + 10 d, except hour 10 of day 1 which is 5000 (an outlier
 * that moves its slot median by 10 only). */
static void test_baseline_seasonal_exact(void) {
        enum { N = 3 * 24 + 12 }; /* days 0, 1, 2 and half of day 3 */
        rs_detect_point_t    pts[N];
        double               scratch[RS_DETECT_BASELINE_SCRATCH(N)];
        rs_detect_baseline_t b;
        rs_detect_conf_t     c;
        size_t               i;
        int64_t              now = T0 + 3 * DAY + 12 * HOUR;

        for (i = 0; i < N; i++) {
                pts[i].ts_ms = T0 + (int64_t)i * HOUR;
                pts[i].value =
                    1000 + 100 * (double)(i % 24) + 10 * (double)(i / 24);
        }
        pts[24 + 10].value = 5000;
        rs_detect_conf_defaults(&c);
        c.history     = 4;
        c.min_history = 4;

        /* Now = day 3, 12:00. Slot 12 holds days 0, 1, 2: 2200, 2210,
         * 2220, S = 2210. The last four points (day 3, 08:00 to 11:00)
         * are 1830, 1930, 2030, 2130; their slots hold days 0 to 3, so
         * each slot median is the mean of days 1 and 2 (1815, 1915,
         * 2115), except slot 10 where day 1 is 5000: 2000 2020 2030 5000
         * -> 2025. */
        RS_CHECK_INT(rs_detect_baseline(&c, pts, N, now, now, scratch, &b), 0);
        RS_CHECK(b.valid);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_DAILY);
        RS_CHECK(b.plain_level == 1980); /* (1930 + 2030) / 2 */
        RS_CHECK(b.slot_level == 2210);
        {
                /* Ratios: 1830/1815, 1930/1915, 2030/2025, 2130/2115
                 * (slots 8, 9, 11 have days 0-3: 1800 1810 1820 1830 ->
                 * 1815; 1900.. -> 1915; 2100.. -> 2115). */
                double r[4] = {1830.0 / 1815, 1930.0 / 1915, 2030.0 / 2025,
                               2130.0 / 2115};
                double med, d[4], mad, tmp;
                int    x, y;

                for (x = 0; x < 4; x++)
                        for (y = x + 1; y < 4; y++)
                                if (r[y] < r[x]) {
                                        tmp  = r[x];
                                        r[x] = r[y];
                                        r[y] = tmp;
                                }
                med = (r[1] + r[2]) / 2;
                for (x = 0; x < 4; x++)
                        d[x] = fabs(r[x] - med);
                for (x = 0; x < 4; x++)
                        for (y = x + 1; y < 4; y++)
                                if (d[y] < d[x]) {
                                        tmp  = d[x];
                                        d[x] = d[y];
                                        d[y] = tmp;
                                }
                mad = (d[1] + d[2]) / 2;
                RS_CHECK_REL(b.ratio, med, 1e-15);
                RS_CHECK_REL(b.level, med * 2210, 1e-15);
                RS_CHECK_REL(
                    b.spread,
                    fmax(RS_STATS_MAD_NORMAL * mad * 2210, 0.02 * med * 2210),
                    1e-12);
        }

        /* Two days per slot are not enough: plain level. */
        c.season_min_days = 4;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, N, now, now, scratch, &b), 0);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_NONE);
        RS_CHECK(b.level == 1980);
        c.season_min_days = 3;
        c.seasonal        = RS_DETECT_SEASON_NONE;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, N, now, now, scratch, &b), 0);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_NONE);
        /* Weekly needs three weeks: not here. */
        c.seasonal = RS_DETECT_SEASON_WEEKLY;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, N, now, now, scratch, &b), 0);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_NONE);
        /* One week per slot allowed: the slot of Thursday 12:00 has no
         * point yet, so still none. */
        c.season_min_weeks = 1;
        RS_CHECK_INT(rs_detect_baseline(&c, pts, N, now, now, scratch, &b), 0);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_NONE);
        /* Judging Thursday 11:00 with a history that ends after it: its
         * slot holds one point, 2130, as does each slot of the last four
         * points (Thursday 08:00-11:00): ratios 1, level 2130. */
        RS_CHECK_INT(
            rs_detect_baseline(&c, pts, N, now - HOUR, now, scratch, &b), 0);
        RS_CHECK_INT(b.season, RS_DETECT_SEASON_WEEKLY);
        RS_CHECK(b.slot_level == 2130);

        RS_CHECK_STR(rs_detect_season_name(RS_DETECT_SEASON_DAILY), "daily");
        RS_CHECK_STR(rs_detect_season_name(RS_DETECT_SEASON_WEEKLY), "weekly");
        RS_CHECK_STR(rs_detect_season_name(RS_DETECT_SEASON_NONE), "none");
        RS_CHECK_STR(rs_detect_season_name(RS_DETECT_SEASON_AUTO), "auto");
}

/* ---- Regression gates -------------------------------------------------- */

static void test_regression_gates(void) {
        rs_detect_baseline_t b;
        rs_detect_window_t   w;
        rs_detect_verdict_t  v;
        rs_detect_conf_t     c;

        rs_detect_conf_defaults(&c);
        memset(&b, 0, sizeof(b));
        b.valid  = 1;
        b.n      = 60;
        b.level  = 2000;
        b.spread = 100;
        b.end_ms = T0;
        make_window(&w, T0, 2500); /* +25%, score 5, CI lo 2375 */

        RS_CHECK_INT(rs_detect_regression(&c, &b, &w, &v), 0);
        RS_CHECK_INT(v.status, RS_DETECT_BREACH);
        RS_CHECK_INT(v.severity, RS_DETECT_SEV_MEDIUM);
        RS_CHECK_INT(v.flags, 0);
        RS_CHECK(v.expected == 2000);
        RS_CHECK_REL(v.degradation, 0.25, 1e-15);
        RS_CHECK_REL(v.score, 5, 1e-15);
        RS_CHECK(v.baseline_end_ms == T0);
        RS_CHECK_STR(rs_detect_status_name(v.status), "breach");

        /* Severity bands. */
        w.value = 3000;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.severity, RS_DETECT_SEV_HIGH);
        w.value = 4000;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.severity, RS_DETECT_SEV_CRITICAL);

        /* +15%: significant (score 3 -> raise spread? no: score 3 < 3.5
         * too) but small. */
        make_window(&w, T0, 2300);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);
        RS_CHECK_INT(v.flags, RS_DETECT_F_SMALL_CHANGE | RS_DETECT_F_LOW_SCORE);
        /* +25% on a noisy baseline: not significant. */
        b.spread = 200;
        make_window(&w, T0, 2500);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);
        RS_CHECK_INT(v.flags, RS_DETECT_F_LOW_SCORE);
        b.spread = 100;
        /* +25% but the CI reaches down to the level: watch. */
        w.ci_lo = 2000;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_WATCH);
        RS_CHECK_INT(v.flags, RS_DETECT_F_CI_OVERLAP);
        w.ci_lo = NAN;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_WATCH);
        /* An improvement is healthy. */
        make_window(&w, T0, 1000);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);
        RS_CHECK_REL(v.degradation, -0.5, 1e-15);
        /* 49 page views: no data, whatever the value. */
        make_window(&w, T0, 1e6);
        w.samples = 49;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(v.flags, RS_DETECT_F_FEW_SAMPLES);
        RS_CHECK_INT(v.severity, RS_DETECT_SEV_NONE);
        make_window(&w, T0, NAN);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(v.flags, RS_DETECT_F_NO_VALUE);
        /* Level 0 (CLS without shifts): no relative judgement. */
        b.level  = 0;
        b.spread = 0;
        make_window(&w, T0, 0.3);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);
        RS_CHECK_INT(v.flags, RS_DETECT_F_ZERO_LEVEL);
        /* No baseline. */
        b.valid = 0;
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(v.flags, RS_DETECT_F_NO_BASELINE);
        RS_CHECK_INT(rs_detect_regression(&c, NULL, &w, &v), RS_DETECT_EINVAL);
        RS_CHECK_INT(v.status, RS_DETECT_NO_DATA);
        c.history = 0;
        RS_CHECK_INT(rs_detect_regression(&c, &b, &w, &v), RS_DETECT_EINVAL);
}

/* Error-rate windows: the Poisson score interval, and the regression
 * judge on a rate series (the gates work on any level). */
static void test_rate_window(void) {
        rs_detect_window_t   w;
        rs_detect_baseline_t b;
        rs_detect_verdict_t  v;
        rs_detect_conf_t     c;

        RS_CHECK_INT(rs_detect_window_from_rate(10, 10, 1000, 0.95, T0, &w), 0);
        RS_CHECK(w.ts_ms == T0);
        RS_CHECK_REL(w.value, 0.01, 1e-15);
        RS_CHECK(w.samples == 1000);
        RS_CHECK_REL(w.ci_lo, 0.005431986105614363, 1e-9);
        RS_CHECK_REL(w.ci_hi, 0.01840947271507976, 1e-9);
        /* Sampled at 1/4: the weight scales, the counts decide. */
        RS_CHECK_INT(rs_detect_window_from_rate(10, 40, 1000, 0.95, T0, &w), 0);
        RS_CHECK_REL(w.value, 0.04, 1e-15);
        RS_CHECK_REL(w.ci_lo, 0.021727944422457453, 1e-9);
        RS_CHECK_REL(w.ci_hi, 0.07363789086031904, 1e-9);
        /* One error: bounded on both sides. */
        RS_CHECK_INT(rs_detect_window_from_rate(1, 1, 50, 0.95, T0, &w), 0);
        RS_CHECK_REL(w.ci_lo, 0.0035304910987030615, 1e-9);
        RS_CHECK_REL(w.ci_hi, 0.11329868531517942, 1e-9);
        /* None: [0, z^2 / n]. */
        RS_CHECK_INT(rs_detect_window_from_rate(0, 0, 400, 0.95, T0, &w), 0);
        RS_CHECK(w.value == 0);
        RS_CHECK(w.ci_lo == 0);
        RS_CHECK_REL(w.ci_hi, 0.009603647051735309, 1e-9);
        /* Bad input. */
        RS_CHECK_INT(rs_detect_window_from_rate(1, 1, 0, 0.95, T0, &w),
                     RS_DETECT_EINVAL);
        RS_CHECK(isnan(w.value) && isnan(w.ci_lo) && isnan(w.ci_hi));
        RS_CHECK_INT(rs_detect_window_from_rate(-1, 1, 10, 0.95, T0, &w),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_window_from_rate(1, NAN, 10, 0.95, T0, &w),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_window_from_rate(1, 1, 10, 1, T0, &w),
                     RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_window_from_rate(1, 1, 10, 0.95, T0, NULL),
                     RS_DETECT_EINVAL);

        /* A route at 0.5% errors per page view. */
        rs_detect_conf_defaults(&c);
        memset(&b, 0, sizeof(b));
        b.valid  = 1;
        b.n      = 60;
        b.level  = 0.005;
        b.spread = 0.001;
        b.end_ms = T0;
        /* 2% over 2000 page views: proven, critical (+300%). */
        rs_detect_window_from_rate(40, 40, 2000, 0.95, T0, &w);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_BREACH);
        RS_CHECK_INT(v.severity, RS_DETECT_SEV_CRITICAL);
        RS_CHECK_REL(v.degradation, 3, 1e-12);
        /* The same rate over 50 page views (1 error): not proven. */
        rs_detect_window_from_rate(1, 1, 50, 0.95, T0, &w);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_WATCH);
        RS_CHECK_INT(v.flags, RS_DETECT_F_CI_OVERLAP);
        /* Back to 0.5%: healthy. */
        rs_detect_window_from_rate(10, 10, 2000, 0.95, T0, &w);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);

        /* Two or three errors in 500 page views: a MAD of 0, the floor of
         * the level (8e-05) without the count's own noise; with it, 0.6%
         * is 0.7 sigma from 0.4% and not significant. */
        b.level  = 0.004;
        b.spread = 8e-05;
        rs_detect_rate_spread(&b, 500);
        RS_CHECK_REL(b.spread, sqrt(0.004 / 500), 1e-15);
        rs_detect_window_from_rate(3, 3, 500, 0.95, T0, &w);
        rs_detect_regression(&c, &b, &w, &v);
        RS_CHECK_INT(v.status, RS_DETECT_HEALTHY);
        RS_CHECK(v.flags & RS_DETECT_F_LOW_SCORE);
        /* A wider spread stays; nothing for a bad exposure or level. */
        b.spread = 0.01;
        rs_detect_rate_spread(&b, 500);
        RS_CHECK(b.spread == 0.01);
        rs_detect_rate_spread(&b, 0);
        b.level = 0;
        rs_detect_rate_spread(&b, 500);
        RS_CHECK(b.spread == 0.01);
        rs_detect_rate_spread(NULL, 500);
}

static void test_level_shift_unit(void) {
        rs_detect_baseline_t b;
        rs_detect_window_t   w[5];
        rs_detect_shift_t    sh;
        rs_detect_conf_t     c;
        size_t               i;
        /* Three of five windows up 30%: the median moves. */
        static const double up[]   = {2000, 2600, 1990, 2600, 2610};
        static const double down[] = {1400, 1390, 2000, 1410, 1420};
        static const double one[]  = {2000, 2010, 6000, 1990, 2005};

        rs_detect_conf_defaults(&c);
        memset(&b, 0, sizeof(b));
        b.valid  = 1;
        b.level  = 2000;
        b.spread = 50;
        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, up[i]);
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK(sh.valid);
        RS_CHECK_INT(sh.direction, 1);
        RS_CHECK(sh.recent == 2600);
        RS_CHECK_REL(sh.change, 0.3, 1e-15);
        RS_CHECK_REL(sh.score, 12, 1e-15);
        RS_CHECK_INT(sh.verdict.status, RS_DETECT_BREACH);
        RS_CHECK_INT(sh.verdict.severity, RS_DETECT_SEV_MEDIUM);
        RS_CHECK(sh.verdict.ts_ms == T0 + 4 * MINUTE);

        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, down[i]);
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK_INT(sh.direction, -1);                     /* reported ... */
        RS_CHECK_INT(sh.verdict.status, RS_DETECT_HEALTHY); /* not raised */
        RS_CHECK_REL(sh.change, -0.295, 1e-12);

        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, one[i]);
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK_INT(sh.direction, 0); /* one spike moves no median */
        RS_CHECK(sh.recent == 2005);
        RS_CHECK_INT(sh.verdict.status, RS_DETECT_HEALTHY);

        /* Two of five windows without data: still a majority. Three: no. */
        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, up[i]);
        w[0].value = NAN;
        w[2].value = NAN;
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK_INT(sh.n, 3);
        RS_CHECK_INT(sh.direction, 1);
        w[1].value = NAN;
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK(!sh.valid);
        RS_CHECK_INT(sh.verdict.status, RS_DETECT_NO_DATA);
        /* Windows with too few page views have no data: three of five
         * with twelve leave no majority. */
        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, up[i]);
        w[1].samples = 12;
        w[3].samples = 12;
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK_INT(sh.n, 3);
        RS_CHECK(sh.recent == 2000); /* 2000 1990 2610 */
        RS_CHECK_INT(sh.direction, 0);
        w[4].samples = 12;
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK(!sh.valid);
        RS_CHECK_INT(sh.verdict.flags, RS_DETECT_F_NO_VALUE);
        RS_CHECK_INT(sh.verdict.status, RS_DETECT_NO_DATA);
        /* Only the last shift_windows windows count. */
        for (i = 0; i < 5; i++)
                make_window(&w[i], T0 + (int64_t)i * MINUTE, up[i]);
        c.shift_windows = 3; /* 1990 2600 2610 */
        RS_CHECK_INT(rs_detect_level_shift(&c, &b, w, 5, &sh), 0);
        RS_CHECK(sh.recent == 2600);
        RS_CHECK_INT(rs_detect_level_shift(&c, NULL, w, 5, &sh),
                     RS_DETECT_EINVAL);
}

/* ---- Series: step, spike, small samples, noise ------------------------- */

/* A 60 s series of 1000 lognormal page views per window (median 2000 ms,
 * log-sd 0.5: window p75 about 2800 ms with a 2% sampling sd), times
 * `factor` for windows [from, to). */
static void make_step(sim_t *s, uint64_t seed, size_t from, size_t to,
                      double factor) {
        rs_sketch_t *sk = rs_sketch_new(0.01);
        size_t       i;

        rng_state = seed;
        for (i = 0; i < s->n; i++)
                draw_window(sk, &s->conf, T0 + (int64_t)i * MINUTE, 1000,
                            2000 * (i >= from && i < to ? factor : 1), 0.5,
                            &s->wins[i]);
        rs_sketch_destroy(sk);
}

static void test_step(void) {
        size_t        i;
        sim_t         s;
        const event_t reg[] = {
            {102, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_MEDIUM},
            {204, RS_DETECT_EVENT_RESOLVED, RS_DETECT_SEV_NONE}};
        const event_t shift[] = {
            {102, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_MEDIUM},
            {206, RS_DETECT_EVENT_RESOLVED, RS_DETECT_SEV_NONE}};

        /* +30% from window 100 to 199. The baseline is valid from window
         * 30 (min_history). Regression: windows 100, 101, 102 breach,
         * OPEN at 102 (open_after 3); the baseline stays frozen at window
         * 100's, so the issue stays open for the 100 windows of the
         * regression (unfrozen, a median of 60 would have absorbed it
         * after 30) and resolves after 5 healthy windows, 200 to 204.
         * Level shift: the median of 5 moves at 102 (3 of 5 shifted) and
         * back at 202 (2 of 5), RESOLVED at 206. */
        sim_init(&s, 300);
        make_step(&s, 11, 100, 200, 1.3);
        sim_run(&s);
        check_events("step regression", s.reg_ev, s.nreg_ev, reg, NELEM(reg));
        check_events("step shift", s.shift_ev, s.nshift_ev, shift,
                     NELEM(shift));
        RS_CHECK_INT(s.first_breach, 100);
        for (i = 100; i < 200; i++)
                if (s.verdicts[i].status != RS_DETECT_BREACH)
                        printf("  step: window %zu %s, flags 0x%x, "
                               "degradation %g, score %g\n",
                               i, rs_detect_status_name(s.verdicts[i].status),
                               s.verdicts[i].flags, s.verdicts[i].degradation,
                               s.verdicts[i].score);
        RS_CHECK(s.reg_breaches >= 95 && s.reg_breaches <= 100);
        RS_CHECK_INT(s.no_data, 30); /* windows 0-29: no baseline yet */
        RS_CHECK(s.bases[29].valid == 0 && s.bases[30].valid == 1);
        /* The state after RESOLVED still describes the issue. */
        RS_CHECK(s.reg_st.open == 0);
        RS_CHECK_INT(s.reg_st.version, 2);
        RS_CHECK(s.reg_st.since_ms == T0 + 100 * MINUTE);
        RS_CHECK(s.reg_st.opened_ms == T0 + 102 * MINUTE);
        RS_CHECK(s.reg_st.freeze_ms == RS_DETECT_NO_FREEZE);
        /* While open, baselines ended at window 100. */
        RS_CHECK(s.bases[150].end_ms == T0 + 100 * MINUTE);
        RS_CHECK(s.bases[250].end_ms == T0 + 250 * MINUTE);
        RS_CHECK_MSG(fabs(s.verdicts[150].degradation - 0.3) < 0.1,
                     "degradation %g", s.verdicts[150].degradation);
        sim_free(&s);

        /* A lasting step down (an improvement): no issue of either kind;
         * the shift is reported down from window 102. (Had it ended, the
         * return to the old level would be a regression against the
         * improved baseline: a reverted fix is one.) */
        sim_init(&s, 300);
        make_step(&s, 11, 100, 300, 0.7);
        sim_run(&s);
        check_events("improvement regression", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("improvement shift", s.shift_ev, s.nshift_ev, NULL, 0);
        RS_CHECK_INT(s.reg_breaches, 0);
        RS_CHECK_INT(s.first_down, 102);
        sim_free(&s);
}

static void test_spike(void) {
        sim_t s;

        /* One window three times slower: one breaching window, no issue. */
        sim_init(&s, 200);
        make_step(&s, 12, 150, 151, 3);
        sim_run(&s);
        RS_CHECK_INT(s.first_breach, 150);
        RS_CHECK_INT(s.reg_breaches, 1);
        RS_CHECK_INT(s.verdicts[150].severity, RS_DETECT_SEV_CRITICAL);
        check_events("spike regression", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("spike shift", s.shift_ev, s.nshift_ev, NULL, 0);
        RS_CHECK_INT(s.reg_st.breach_run, 0);
        sim_free(&s);

        /* Two spikes two windows apart: still none (a healthy window
         * between resets the run). */
        sim_init(&s, 200);
        make_step(&s, 12, 150, 151, 3);
        {
                rs_sketch_t *sk = rs_sketch_new(0.01);

                draw_window(sk, &s.conf, s.wins[152].ts_ms, 1000, 6000, 0.5,
                            &s.wins[152]);
                rs_sketch_destroy(sk);
        }
        sim_run(&s);
        RS_CHECK_INT(s.reg_breaches, 2);
        check_events("two spikes", s.reg_ev, s.nreg_ev, NULL, 0);
        sim_free(&s);
}

static void test_small_samples(void) {
        rs_sketch_t *sk = rs_sketch_new(0.01);
        sim_t        s;
        size_t       i;

        /* Windows 100-139 have twelve page views each, ten times slower:
         * no data (and not stored in the history), no issue. */
        sim_init(&s, 200);
        make_step(&s, 13, 0, 0, 1);
        rng_state = 99;
        for (i = 100; i < 140; i++)
                draw_window(sk, &s.conf, s.wins[i].ts_ms, 12, 20000, 0.5,
                            &s.wins[i]);
        sim_run(&s);
        RS_CHECK(s.wins[120].value > 10000);
        RS_CHECK_INT(s.verdicts[120].status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(s.verdicts[120].flags, RS_DETECT_F_FEW_SAMPLES);
        RS_CHECK_INT(s.reg_breaches, 0);
        RS_CHECK_INT(s.no_data, 30 + 40);
        check_events("small samples", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("small samples shift", s.shift_ev, s.nshift_ev, NULL, 0);
        sim_free(&s);

        /* 60 page views: 40 at 2000 ms, 20 at 20000 ms. The p75 (rank
         * 0.75 * 59 = 44.25) is 20000, but its 95% interval starts at
         * X_(38) = 2000 (n q - z sqrt(n q (1-q)) = 38.43): against a level
         * of 2050 that is no proof, a watch. */
        {
                rs_detect_baseline_t b;
                rs_detect_window_t   w;
                rs_detect_verdict_t  v;

                rs_sketch_reset(sk);
                (void)rs_sketch_add(sk, 2000, 40);
                (void)rs_sketch_add(sk, 20000, 20);
                rs_detect_window_from_sketch(NULL, sk, T0, &w);
                RS_CHECK_REL(w.value, 20000, 0.01);
                RS_CHECK_REL(w.ci_lo, 2000, 0.01);
                memset(&b, 0, sizeof(b));
                b.valid  = 1;
                b.level  = 2050;
                b.spread = 100;
                rs_detect_regression(NULL, &b, &w, &v);
                RS_CHECK_INT(v.status, RS_DETECT_WATCH);
                RS_CHECK_INT(v.flags, RS_DETECT_F_CI_OVERLAP);
        }
        rs_sketch_destroy(sk);
}

static void test_noisy_stable(void) {
        rs_sketch_t *sk = rs_sketch_new(0.01);
        sim_t        s;
        size_t       i;

        /* 10,000 windows (about a week) of 100 page views with a wide
         * distribution (log-sd 0.8): the window p75 wobbles by about 11%
         * (sd). Single windows pass every gate now and then; three in a
         * row never do. The history passed is the last 4 days (a daily
         * profile takes over after 3). */
        sim_init(&s, 10000);
        s.keep    = 4 * 1440;
        rng_state = 2024;
        for (i = 0; i < s.n; i++)
                draw_window(sk, &s.conf, T0 + (int64_t)i * MINUTE, 100, 1500,
                            0.8, &s.wins[i]);
        sim_run(&s);
        printf("  noisy: %zu single breaching windows of %zu\n", s.reg_breaches,
               s.n);
        RS_CHECK(s.reg_breaches < 50);
        check_events("noisy regression", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("noisy shift", s.shift_ev, s.nshift_ev, NULL, 0);
        RS_CHECK_INT(s.bases[9999].season, RS_DETECT_SEASON_DAILY);
        RS_CHECK_INT(s.bases[3000].season, RS_DETECT_SEASON_NONE);
        sim_free(&s);
        rs_sketch_destroy(sk);
}

/* ---- Drift ------------------------------------------------------------- */

static void test_drift(void) {
        rs_detect_rules_t         *rules;
        const rs_detect_rule_t    *rule;
        rs_detect_lifecycle_conf_t blc;
        rs_detect_state_t          bst;
        rs_detect_verdict_t        v;
        rs_detect_event_t          ev;
        char                       err[128];
        size_t                     i, nrules, opened = 0, nopen = 0;
        sim_t                      s;

        /* p75 2000 ms growing 5% a day for 10 days (to 3258 ms), 3% noise,
         * 60 s windows. The baseline (median of the last hour, or the
         * daily profile scaled by the last hour) follows: no regression,
         * no level shift, ever. An absolute budget catches the drift: lcp
         * > 3000 for 3 windows opens once 2000 * 1.05^d nears 3000, about
         * day 8.3 (ln 1.5 / ln 1.05). */
        sim_init(&s, 10 * 1440);
        s.keep    = 4 * 1440;
        rng_state = 7;
        for (i = 0; i < s.n; i++)
                make_window(&s.wins[i], T0 + (int64_t)i * MINUTE,
                            2000 * pow(1.05, (double)i / 1440) *
                                (1 + 0.03 * gauss()));
        sim_run(&s);
        check_events("drift regression", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("drift shift", s.shift_ev, s.nshift_ev, NULL, 0);
        RS_CHECK_INT(s.reg_breaches, 0);
        RS_CHECK_MSG(fabs(s.bases[s.n - 1].level / 3258 - 1) < 0.03,
                     "level at the end %g", s.bases[s.n - 1].level);

        rules = rs_detect_rules_parse("lcp > 3000 for 3 windows: medium", err,
                                      sizeof(err));
        RS_CHECK(rules != NULL);
        nrules = rs_detect_rules_find(rules, "t1", "lcp", &rule);
        RS_CHECK_INT(nrules, 1);
        rs_detect_lifecycle_defaults(RS_DETECT_KIND_BUDGET, &blc);
        rs_detect_state_init(&bst);
        for (i = 0; i < s.n; i++) {
                size_t from = i >= 9 ? i - 9 : 0;

                rs_detect_budget(&s.conf, rule, nrules, s.wins + from,
                                 i + 1 - from, &v);
                ev = rs_detect_feed(&blc, &bst, &v);
                if (ev == RS_DETECT_EVENT_OPEN && nopen++ == 0)
                        opened = i;
        }
        printf("  drift: budget opened at day %.2f (%zu openings)\n",
               (double)opened / 1440, nopen);
        RS_CHECK_MSG(opened >= 7 * 1440 && opened <= 9 * 1440,
                     "budget opened at window %zu", opened);
        RS_CHECK(bst.open == 1);
        rs_detect_rules_destroy(rules);
        sim_free(&s);
}

/* ---- Seasonal series --------------------------------------------------- */

/* Hourly windows for 10 days: 2000 ms * (1 + 0.4 sin(2 pi h / 24)) with 2%
 * noise (peak at 06:00 UTC, 2800 ms), times `factor` for windows [from,
 * to). The baseline uses the last 48 hourly windows (24 at least), the
 * lifecycle starts on day 4, once every hour has 3 days of history. */
static void make_sine(sim_t *s, rs_detect_season_t season, size_t from,
                      size_t to, double factor) {
        size_t i;

        sim_init(s, 240);
        s->conf.history     = 48;
        s->conf.min_history = 24;
        s->conf.seasonal    = season;
        s->start            = 96;
        rng_state           = 5;
        for (i = 0; i < s->n; i++)
                make_window(
                    &s->wins[i], T0 + (int64_t)i * HOUR,
                    2000 * (1 + 0.4 * sin(2 * PI * (double)(i % 24) / 24)) *
                        (1 + 0.02 * gauss()) *
                        (i >= from && i < to ? factor : 1));
}

static void test_seasonal_sine(void) {
        const event_t reg[] = {
            {182, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_MEDIUM},
            {196, RS_DETECT_EVENT_RESOLVED, RS_DETECT_SEV_NONE}};
        size_t peak = 8 * 24 + 6, i;
        sim_t  s;

        /* Profile on: the daily peak is expected, no issue in 6 days. */
        make_sine(&s, RS_DETECT_SEASON_AUTO, 0, 0, 1);
        sim_run(&s);
        check_events("sine", s.reg_ev, s.nreg_ev, NULL, 0);
        check_events("sine shift", s.shift_ev, s.nshift_ev, NULL, 0);
        for (i = s.start; i < s.n; i++)
                RS_CHECK_INT(s.bases[i].season, RS_DETECT_SEASON_DAILY);
        RS_CHECK_INT(s.verdicts[peak].status, RS_DETECT_HEALTHY);
        RS_CHECK_MSG(fabs(s.verdicts[peak].degradation) < 0.06,
                     "peak degradation %g", s.verdicts[peak].degradation);
        /* ... while the peak is 30-40% above the plain level. */
        RS_CHECK_MSG(s.wins[peak].value / s.bases[peak].plain_level > 1.3,
                     "peak %g, plain level %g", s.wins[peak].value,
                     s.bases[peak].plain_level);
        sim_free(&s);

        /* +30% on day 7 from 12:00 to 23:00 (windows 180-191): OPEN at
         * 182, RESOLVED at 196 after 5 healthy hours. */
        make_sine(&s, RS_DETECT_SEASON_AUTO, 180, 192, 1.3);
        sim_run(&s);
        check_events("sine + regression", s.reg_ev, s.nreg_ev, reg, NELEM(reg));
        sim_free(&s);

        /* Profile off: the spread of a 48-hour plain baseline holds the
         * whole daily swing (1.4826 * MAD of a sine of amplitude 0.4 is
         * about 40% of the level), so nothing is significant: no false
         * issue at the peak, but the regression is missed too. */
        make_sine(&s, RS_DETECT_SEASON_NONE, 180, 192, 1.3);
        sim_run(&s);
        check_events("sine, no profile", s.reg_ev, s.nreg_ev, NULL, 0);
        RS_CHECK_MSG(s.bases[180].spread > 0.3 * s.bases[180].level,
                     "spread %g of %g", s.bases[180].spread,
                     s.bases[180].level);
        sim_free(&s);
}

static void test_seasonal_busy_hours(void) {
        const event_t first[] = {
            {107, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_NONE}};
        size_t i, opens = 0;
        sim_t  s;
        int    pass;

        /* Every day 09:00-12:59 UTC pages are 50% slower (a daily batch
         * job). Without a profile, that is a regression every morning:
         * the first at day 4 09:00 (window 105), OPEN at 107. With the
         * daily profile: nothing. */
        for (pass = 0; pass < 2; pass++) {
                sim_init(&s, 240);
                s.conf.history     = 48;
                s.conf.min_history = 24;
                s.conf.seasonal =
                    pass ? RS_DETECT_SEASON_AUTO : RS_DETECT_SEASON_NONE;
                s.start   = 96;
                rng_state = 6;
                for (i = 0; i < s.n; i++)
                        make_window(&s.wins[i], T0 + (int64_t)i * HOUR,
                                    2000 * (1 + 0.02 * gauss()) *
                                        (i % 24 >= 9 && i % 24 < 13 ? 1.5 : 1));
                sim_run(&s);
                if (pass == 0) {
                        check_events("busy hours, no profile", s.reg_ev,
                                     s.nreg_ev < 1 ? s.nreg_ev : 1, first, 1);
                        for (i = 0; i < s.nreg_ev && i < MAX_EVENTS; i++)
                                opens += s.reg_ev[i].ev == RS_DETECT_EVENT_OPEN;
                        RS_CHECK_INT(opens, 6); /* days 4 to 9 */
                } else {
                        check_events("busy hours, profile", s.reg_ev, s.nreg_ev,
                                     NULL, 0);
                        RS_CHECK_INT(s.bases[107].season,
                                     RS_DETECT_SEASON_DAILY);
                }
                sim_free(&s);
        }
}

static void test_seasonal_weekly(void) {
        const event_t first[] = {
            {626, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_NONE}};
        size_t i;
        sim_t  s;
        int    pass;

        /* Hourly windows for 5 weeks from Monday T0; Saturdays and Sundays
         * are 50% slower. The lifecycle starts at week 3 (window 504),
         * when every hour of the week has 3 weeks of history. A daily
         * profile expects Saturday 00:00 to look like Thursday and Friday
         * (the last 48 hours): OPEN at Saturday 02:00 (window 624 + 2).
         * Auto picks the weekly profile: nothing. */
        for (pass = 0; pass < 2; pass++) {
                sim_init(&s, 5 * 168);
                s.conf.history     = 48;
                s.conf.min_history = 24;
                s.conf.seasonal =
                    pass ? RS_DETECT_SEASON_AUTO : RS_DETECT_SEASON_DAILY;
                s.start   = 504;
                rng_state = 8;
                for (i = 0; i < s.n; i++)
                        make_window(&s.wins[i], T0 + (int64_t)i * HOUR,
                                    2000 * (1 + 0.02 * gauss()) *
                                        ((i % 168) / 24 >= 5 ? 1.5 : 1));
                sim_run(&s);
                if (pass == 0) {
                        check_events("weekend, daily profile", s.reg_ev,
                                     s.nreg_ev < 1 ? s.nreg_ev : 1, first, 1);
                        RS_CHECK_INT(s.bases[624].season,
                                     RS_DETECT_SEASON_DAILY);
                } else {
                        check_events("weekend, auto", s.reg_ev, s.nreg_ev, NULL,
                                     0);
                        check_events("weekend, auto shift", s.shift_ev,
                                     s.nshift_ev, NULL, 0);
                        RS_CHECK_INT(s.bases[624].season,
                                     RS_DETECT_SEASON_WEEKLY);
                        RS_CHECK_INT(s.bases[503].season,
                                     RS_DETECT_SEASON_DAILY);
                }
                sim_free(&s);
        }
}

/* ---- Budgets ----------------------------------------------------------- */

/* Feeds windows with values v[0..n) (NaN: no data; negative: 10 page
 * views) to the budget judge and a budget lifecycle; records events. */
static size_t run_budget(const rs_detect_rule_t *rules, size_t nrules,
                         const double *v, size_t n, event_t *evs,
                         rs_detect_verdict_t *verdicts) {
        rs_detect_window_t         wins[128];
        rs_detect_lifecycle_conf_t lc;
        rs_detect_state_t          st;
        rs_detect_verdict_t        vd;
        size_t                     i, nev = 0;

        rs_detect_lifecycle_defaults(RS_DETECT_KIND_BUDGET, &lc);
        rs_detect_state_init(&st);
        for (i = 0; i < n && i < NELEM(wins); i++) {
                make_window(&wins[i], T0 + (int64_t)i * MINUTE, fabs(v[i]));
                if (v[i] < 0)
                        wins[i].samples = 10;
                RS_CHECK_INT(
                    rs_detect_budget(NULL, rules, nrules, wins, i + 1, &vd), 0);
                if (verdicts)
                        verdicts[i] = vd;
                record(evs, &nev, i, rs_detect_feed(&lc, &st, &vd), &st);
        }
        return nev;
}

static void test_budget_tiers(void) {
        const char   *text   = "lcp > 2500 for 3 windows: medium; "
                               "lcp > 4000 for 3 windows: high";
        const event_t want[] = {
            {12, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_MEDIUM},
            {20, RS_DETECT_EVENT_UPDATED, RS_DETECT_SEV_MEDIUM}, /* value */
            {22, RS_DETECT_EVENT_UPDATED, RS_DETECT_SEV_HIGH},
            {30, RS_DETECT_EVENT_UPDATED, RS_DETECT_SEV_MEDIUM},
            {44, RS_DETECT_EVENT_RESOLVED, RS_DETECT_SEV_MEDIUM},
        };
        rs_detect_rules_t      *r;
        const rs_detect_rule_t *rules;
        rs_detect_verdict_t     vd[50];
        event_t                 evs[MAX_EVENTS];
        double                  v[50];
        size_t                  i, n, nev;
        char                    err[128];

        /* 2000 ms for windows 0-9, 3000 for 10-19, 5000 for 20-29, 3000
         * for 30-39, 2000 from 40:
         *   10, 11  watch (> 2500 but not yet for 3 windows)
         *   12      breach medium: OPEN
         *   20      medium still (high needs 3 windows > 4000), but the
         *           value moved from 3000 to 5000 (> 25%): UPDATED
         *   22      high held for 3 windows: UPDATED high
         *   30      high no longer held, medium is: UPDATED medium (the
         *           value moved back too)
         *   40-44   healthy: RESOLVED at 44 after 5. */
        r = rs_detect_rules_parse(text, err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        n = rs_detect_rules_find(r, "any", "lcp", &rules);
        RS_CHECK_INT(n, 2);
        for (i = 0; i < 50; i++)
                v[i] = i < 10   ? 2000
                       : i < 20 ? 3000
                       : i < 30 ? 5000
                       : i < 40 ? 3000
                                : 2000;
        nev = run_budget(rules, n, v, 50, evs, vd);
        check_events("budget tiers", evs, nev, want, NELEM(want));
        RS_CHECK_INT(vd[9].status, RS_DETECT_HEALTHY);
        RS_CHECK_INT(vd[10].status, RS_DETECT_WATCH);
        RS_CHECK_INT(vd[10].flags, RS_DETECT_F_NOT_HELD);
        RS_CHECK_INT(vd[11].status, RS_DETECT_WATCH);
        RS_CHECK_INT(vd[12].status, RS_DETECT_BREACH);
        RS_CHECK_INT(vd[12].rule, 0);
        RS_CHECK(vd[12].expected == 2500);
        RS_CHECK_REL(vd[12].degradation, 0.2, 1e-15);
        RS_CHECK_INT(vd[21].severity, RS_DETECT_SEV_MEDIUM);
        RS_CHECK_INT(vd[22].severity, RS_DETECT_SEV_HIGH);
        RS_CHECK_INT(vd[22].rule, 1);
        RS_CHECK(isnan(vd[22].score));
        RS_CHECK_INT(vd[40].status, RS_DETECT_HEALTHY);

        /* A no-data window (NaN) and a 10-page-view window (negative)
         * inside the run are skipped: the run continues. */
        for (i = 0; i < 20; i++)
                v[i] = i < 10 ? 2000 : 3000;
        v[11] = NAN;
        v[12] = -9000;
        nev   = run_budget(rules, n, v, 20, evs, vd);
        RS_CHECK_INT(vd[11].status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(vd[12].status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(vd[12].flags, RS_DETECT_F_FEW_SAMPLES);
        RS_CHECK_INT(nev, 1);
        RS_CHECK_INT(evs[0].i, 14); /* 10, 13, 14 */
        RS_CHECK_INT(evs[0].ev, RS_DETECT_EVENT_OPEN);
        rs_detect_rules_destroy(r);
}

static void test_budget_durations(void) {
        /* A critical tier with a shorter duration than the low one wins
         * first; "< " rules work the other way. */
        const char             *text = "cls > 0.1 for 5 windows: low\n"
                                       "cls > 0.25 for 2 windows: critical\n"
                                       "custom.fps < 30 for 2: high\n";
        rs_detect_rules_t      *r;
        const rs_detect_rule_t *rules;
        rs_detect_verdict_t     vd[30];
        event_t                 evs[MAX_EVENTS];
        double                  v[30];
        size_t                  i, n, nev;
        char                    err[128];

        r = rs_detect_rules_parse(text, err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        n = rs_detect_rules_find(r, NULL, "cls", &rules);
        RS_CHECK_INT(n, 2);
        /* 0.05 for 0-9, 0.3 for 10-14, 0.15 for 15-24, 0.05 after. */
        for (i = 0; i < 30; i++)
                v[i] = i < 10 ? 0.05 : i < 15 ? 0.3 : i < 25 ? 0.15 : 0.05;
        nev = run_budget(rules, n, v, 30, evs, vd);
        {
                /* 11: critical held (10, 11): OPEN critical. 15: neither
                 * held (low needs 5 > 0.1: 11..15 yes! 11-15 are all >
                 * 0.1), so low holds: UPDATED low. 25-29: healthy,
                 * RESOLVED at 29. */
                const event_t want[] = {
                    {11, RS_DETECT_EVENT_OPEN, RS_DETECT_SEV_CRITICAL},
                    {15, RS_DETECT_EVENT_UPDATED, RS_DETECT_SEV_LOW},
                    {29, RS_DETECT_EVENT_RESOLVED, RS_DETECT_SEV_LOW},
                };
                check_events("cls tiers", evs, nev, want, NELEM(want));
        }
        RS_CHECK_INT(vd[10].status, RS_DETECT_WATCH);
        RS_CHECK_INT(vd[14].severity, RS_DETECT_SEV_CRITICAL);
        RS_CHECK_INT(vd[15].severity, RS_DETECT_SEV_LOW);

        n = rs_detect_rules_find(r, NULL, "custom.fps", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK_INT(rules[0].op, RS_DETECT_OP_LT);
        for (i = 0; i < 10; i++)
                v[i] = i < 5 ? 60 : 20;
        nev = run_budget(rules, n, v, 10, evs, vd);
        RS_CHECK_INT(nev, 1);
        RS_CHECK_INT(evs[0].i, 6);
        RS_CHECK_INT(evs[0].sev, RS_DETECT_SEV_HIGH);
        RS_CHECK_REL(vd[6].degradation, (30.0 - 20) / 30, 1e-15);

        /* No rules: healthy; no windows: no data; bad arguments. */
        RS_CHECK_INT(run_budget(NULL, 0, v, 10, evs, vd), 0);
        RS_CHECK_INT(vd[9].status, RS_DETECT_HEALTHY);
        RS_CHECK_INT(rs_detect_budget(NULL, rules, 1, NULL, 0, &vd[0]), 0);
        RS_CHECK_INT(vd[0].status, RS_DETECT_NO_DATA);
        RS_CHECK_INT(rs_detect_budget(NULL, NULL, 1, NULL, 0, &vd[0]),
                     RS_DETECT_EINVAL);
        rs_detect_rules_destroy(r);
}

/* ---- Lifecycle --------------------------------------------------------- */

static rs_detect_verdict_t V(rs_detect_status_t st, rs_detect_severity_t sev,
                             double value) {
        rs_detect_verdict_t v;

        memset(&v, 0, sizeof(v));
        v.status          = st;
        v.severity        = sev;
        v.value           = value;
        v.expected        = 1000;
        v.baseline_end_ms = T0;
        return v;
}

/* Feeds a sequence written as letters: B breach (medium), H healthy, N no
 * data, W watch, X breach high. Returns the events as a string, one letter
 * per window: . none, O open, U updated, R resolved. */
static void feed_seq(const rs_detect_lifecycle_conf_t *lc,
                     rs_detect_state_t *st, const char *seq, char *out) {
        rs_detect_verdict_t v;
        size_t              i;

        for (i = 0; seq[i]; i++) {
                switch (seq[i]) {
                case 'B':
                        v = V(RS_DETECT_BREACH, RS_DETECT_SEV_MEDIUM, 1500);
                        break;
                case 'X':
                        v = V(RS_DETECT_BREACH, RS_DETECT_SEV_HIGH, 1500);
                        break;
                case 'H':
                        v = V(RS_DETECT_HEALTHY, RS_DETECT_SEV_NONE, 1000);
                        break;
                case 'W':
                        v = V(RS_DETECT_WATCH, RS_DETECT_SEV_NONE, 1400);
                        break;
                default:
                        v = V(RS_DETECT_NO_DATA, RS_DETECT_SEV_NONE, NAN);
                        break;
                }
                v.ts_ms = T0 + (int64_t)i * MINUTE;
                switch (rs_detect_feed(lc, st, &v)) {
                case RS_DETECT_EVENT_OPEN:
                        out[i] = 'O';
                        break;
                case RS_DETECT_EVENT_UPDATED:
                        out[i] = 'U';
                        break;
                case RS_DETECT_EVENT_RESOLVED:
                        out[i] = 'R';
                        break;
                default:
                        out[i] = '.';
                        break;
                }
        }
        out[i] = '\0';
}

static void test_lifecycle(void) {
        static const struct {
                const char *in, *out;
        } cases[] = {
            /* Opens at the third consecutive breach. */
            {"HHBBBBB", "....O.."},
            /* A single spike, two spikes: nothing. */
            {"HBHHBHBBHH", ".........."},
            /* A healthy window inside a pending breach resets it. */
            {"BBHBBB", ".....O"},
            /* A watch window resets it too. */
            {"BBWBBB", ".....O"},
            /* No data is transparent: B N B B opens. */
            {"BNBBN", "...O."},
            /* Resolves exactly after 5 healthy windows. */
            {"BBBHHHHHH", "..O....R."},
            /* Hysteresis: a breach (or watch) inside the healthy count
             * starts it again; no data does not. */
            {"BBBHHHHBHHHHH", "..O.........R"},
            {"BBBHHHHWHHHHH", "..O.........R"},
            {"BBBHHNNHHH", "..O......R"},
            /* Severity changes need open_after (3) windows in a row. */
            {"BBBXXBXXXBBB", "..O.....U..U"},
            /* Opens with the current severity, then down to medium. */
            {"BBXBBB", "..O..U"},
            /* Reopens after a resolution. */
            {"BBBHHHHHBBB", "..O....R..O"},
        };
        rs_detect_lifecycle_conf_t lc;
        rs_detect_state_t          st;
        char                       out[64];
        size_t                     i;

        rs_detect_lifecycle_defaults(RS_DETECT_KIND_REGRESSION, &lc);
        for (i = 0; i < NELEM(cases); i++) {
                rs_detect_state_init(&st);
                feed_seq(&lc, &st, cases[i].in, out);
                RS_CHECK_MSG(!strcmp(out, cases[i].out),
                             "%s -> %s, expected %s", cases[i].in, out,
                             cases[i].out);
        }

        /* State fields along "HBBBXXXHHHHH". */
        rs_detect_state_init(&st);
        RS_CHECK(st.freeze_ms == RS_DETECT_NO_FREEZE);
        RS_CHECK(rs_detect_state_end(&st, T0 + DAY) == T0 + DAY);
        feed_seq(&lc, &st, "HBB", out);
        RS_CHECK(!st.open && st.breach_run == 2);
        RS_CHECK(st.since_ms == T0 + MINUTE);
        RS_CHECK(st.freeze_ms == T0); /* the verdicts' baseline end */
        RS_CHECK(rs_detect_state_end(&st, T0 + DAY) == T0);
        rs_detect_state_init(&st);
        feed_seq(&lc, &st, "HBBBXXX", out);
        RS_CHECK_STR(out, "...O..U");
        RS_CHECK(st.open == 1);
        RS_CHECK_INT(st.version, 2);
        RS_CHECK_INT(st.severity, RS_DETECT_SEV_HIGH);
        RS_CHECK(st.opened_ms == T0 + 3 * MINUTE);
        RS_CHECK(st.since_ms == T0 + MINUTE);
        RS_CHECK(st.noticed_value == 1500);

        /* Value moves: with update_fraction 0.25, 1500 -> 2000 (+33%) is
         * a change, 1500 -> 1800 (+20%) is not; open_after 1 here so it
         * is noticed at once. Against an expected of 1000, 1500 -> 1800
         * is a 20% move of value / expected as well. */
        lc.open_after = 1;
        rs_detect_state_init(&st);
        {
                rs_detect_verdict_t v =
                    V(RS_DETECT_BREACH, RS_DETECT_SEV_MEDIUM, 1500);

                RS_CHECK_INT(rs_detect_feed(&lc, &st, &v),
                             RS_DETECT_EVENT_OPEN);
                v.value = 1800;
                RS_CHECK_INT(rs_detect_feed(&lc, &st, &v),
                             RS_DETECT_EVENT_NONE);
                v.value = 2000;
                RS_CHECK_INT(rs_detect_feed(&lc, &st, &v),
                             RS_DETECT_EVENT_UPDATED);
                RS_CHECK(st.noticed_value == 2000);
                /* A seasonal expected moving with the value: no change. */
                v.value    = 3000;
                v.expected = 1500;
                RS_CHECK_INT(rs_detect_feed(&lc, &st, &v),
                             RS_DETECT_EVENT_NONE);
                /* A severity out of range is clamped. */
                v.severity = (rs_detect_severity_t)9;
                RS_CHECK_INT(rs_detect_feed(&lc, &st, &v),
                             RS_DETECT_EVENT_UPDATED);
                RS_CHECK_INT(st.severity, RS_DETECT_SEV_CRITICAL);
                RS_CHECK_INT(st.version, 3);
                RS_CHECK_INT(rs_detect_feed(&lc, NULL, &v),
                             RS_DETECT_EVENT_NONE);
        }
        RS_CHECK_STR(rs_detect_event_name(RS_DETECT_EVENT_OPEN), "open");
        RS_CHECK_STR(rs_detect_event_name(RS_DETECT_EVENT_UPDATED), "updated");
        RS_CHECK_STR(rs_detect_event_name(RS_DETECT_EVENT_RESOLVED),
                     "resolved");
        RS_CHECK_STR(rs_detect_event_name(RS_DETECT_EVENT_NONE), "none");
}

/* ---- Rules ------------------------------------------------------------- */

static void test_rules_parse(void) {
        const char *text =
            "# budgets for everyone\n"
            "LCP > 2500 for 3 windows: medium; lcp > 4s for 3 windows: HIGH\n"
            "cls >= 0.25 for 5 window : high   # layout shifts\n"
            "inp > 500ms: low\n"
            "\n"
            "tenant acme {\n"
            "  lcp > 3000 ms for 5 windows: medium\n"
            "  cls off\n"
            "}\n"
            "tenant shop-2.eu:prod { ttfb <= 1800: critical }\n";
        rs_detect_rules_t      *r;
        const rs_detect_rule_t *rules;
        size_t                  n, nrules, ntenants;
        char                    err[200];

        r = rs_detect_rules_parse(text, err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        rs_detect_rules_count(r, &nrules, &ntenants);
        RS_CHECK_INT(nrules, 6);
        RS_CHECK_INT(ntenants, 2);

        /* Default set, in the order written. */
        n = rs_detect_rules_find(r, NULL, "lcp", &rules);
        RS_CHECK_INT(n, 2);
        RS_CHECK_STR(rules[0].metric, "lcp");
        RS_CHECK_INT(rules[0].op, RS_DETECT_OP_GT);
        RS_CHECK(rules[0].threshold == 2500);
        RS_CHECK_INT(rules[0].for_windows, 3);
        RS_CHECK_INT(rules[0].severity, RS_DETECT_SEV_MEDIUM);
        RS_CHECK_INT(rules[0].line, 2);
        RS_CHECK_INT(rules[0].column, 1);
        RS_CHECK(rules[1].threshold == 4000); /* 4s */
        RS_CHECK_INT(rules[1].severity, RS_DETECT_SEV_HIGH);
        RS_CHECK_INT(rules[1].column, 35);
        n = rs_detect_rules_find(r, NULL, "CLS", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK_INT(rules[0].op, RS_DETECT_OP_GE);
        RS_CHECK(rules[0].threshold == 0.25);
        RS_CHECK_INT(rules[0].for_windows, 5);
        n = rs_detect_rules_find(r, NULL, "inp", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK_INT(rules[0].for_windows, 1);
        RS_CHECK_INT(rules[0].severity, RS_DETECT_SEV_LOW);
        RS_CHECK_INT(rs_detect_rules_find(r, NULL, "ttfb", &rules), 0);
        RS_CHECK(rules == NULL);

        /* Tenant acme: own lcp, cls off, inp from the default. */
        n = rs_detect_rules_find(r, "acme", "lcp", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK(rules[0].threshold == 3000);
        RS_CHECK_INT(rules[0].for_windows, 5);
        RS_CHECK_INT(rs_detect_rules_find(r, "acme", "cls", &rules), 0);
        n = rs_detect_rules_find(r, "acme", "inp", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK_INT(rules[0].line, 4);
        n = rs_detect_rules_find(r, "shop-2.eu:prod", "ttfb", &rules);
        RS_CHECK_INT(n, 1);
        RS_CHECK_INT(rules[0].op, RS_DETECT_OP_LE);
        RS_CHECK_INT(rules[0].severity, RS_DETECT_SEV_CRITICAL);
        RS_CHECK_INT(rs_detect_rules_find(r, "shop-2.eu:prod", "lcp", &rules),
                     2);
        /* Unknown tenants get the default; tenant ids are case-sensitive. */
        RS_CHECK_INT(rs_detect_rules_find(r, "ACME", "lcp", &rules), 2);
        RS_CHECK_INT(rs_detect_rules_find(r, "other", "cls", &rules), 1);
        RS_CHECK_INT(rs_detect_rules_find(NULL, "other", "cls", &rules), 0);
        rs_detect_rules_destroy(r);

        /* Error rates: a fraction or a percent. */
        r = rs_detect_rules_parse("error_rate > 2% for 3 windows: high\n"
                                  "error_rate >= 0.1: critical",
                                  err, sizeof(err));
        RS_CHECK_MSG(r != NULL, "%s", err);
        n = rs_detect_rules_find(r, NULL, RS_DETECT_ERROR_RATE, &rules);
        RS_CHECK_INT(n, 2);
        RS_CHECK_REL(rules[0].threshold, 0.02, 1e-15);
        RS_CHECK_INT(rules[0].for_windows, 3);
        RS_CHECK_INT(rules[0].severity, RS_DETECT_SEV_HIGH);
        RS_CHECK(rules[1].threshold == 0.1);
        RS_CHECK_INT(rules[1].op, RS_DETECT_OP_GE);
        rs_detect_rules_destroy(r);

        /* Empty text and comments only: no rules. */
        r = rs_detect_rules_parse("  # nothing\n\n;;\n", err, sizeof(err));
        RS_CHECK(r != NULL);
        rs_detect_rules_count(r, &nrules, &ntenants);
        RS_CHECK_INT(nrules, 0);
        RS_CHECK_INT(ntenants, 0);
        rs_detect_rules_destroy(r);
        r = rs_detect_rules_parse(NULL, err, sizeof(err));
        RS_CHECK(r != NULL);
        rs_detect_rules_destroy(r);
        rs_detect_rules_destroy(NULL);

        RS_CHECK_STR(rs_detect_op_name(RS_DETECT_OP_GE), ">=");
        RS_CHECK_STR(rs_detect_op_name(RS_DETECT_OP_LT), "<");
}

static void test_rules_errors(void) {
        static const struct {
                const char *text, *err;
        } cases[] = {
            {"lcp > 2500 for 3 windows: urgent",
             "line 1, column 27: unknown severity 'urgent' (low, medium, "
             "high, critical)"},
            {"lcp >> 2500: high", "line 1, column 6: expected a number"},
            {"lcp = 2500: high",
             "line 1, column 5: expected an operator (>, >=, <, <=)"},
            {"lcp > fast: high", "line 1, column 7: expected a number"},
            {"lcp > 2500 for 0 windows: high",
             "line 1, column 16: for-duration must be 1 to 100000 windows"},
            {"lcp > 2500 for windows: high",
             "line 1, column 16: expected a number of windows after 'for'"},
            {"lcp > 2500 for 3 windows high",
             "line 1, column 26: expected ':' and a severity"},
            {"lcp > 2500:", "line 1, column 12: expected a severity (low, "
                            "medium, high, critical)"},
            {"lcp > 2500 sec: high",
             "line 1, column 12: unknown unit 'sec' (ms, s)"},
            {"lcp > 1.2.3: high", "line 1, column 7: bad number '1.2.3'"},
            {"\n  lpc > 2500: high",
             "line 2, column 3: unknown metric 'lpc' (lcp, inp, cls, fcp, "
             "ttfb, nav.*, custom.<name>, error_rate)"},
            {"cls > 100ms: high",
             "line 1, column 10: cls takes a plain number, no unit"},
            {"lcp > 2500: high lcp > 4000: critical",
             "line 1, column 18: expected ';' or a new line"},
            {"cls off", "line 1, column 1: 'off' is only allowed inside a "
                        "tenant block"},
            {"tenant acme {\n lcp > 3000: high\n",
             "line 3, column 1: missing '}' to close tenant 'acme' (opened "
             "at line 1)"},
            {"tenant a { }\ntenant a { }",
             "line 2, column 8: tenant 'a' has two blocks (first at line "
             "1)"},
            {"tenant { }",
             "line 1, column 8: expected a tenant id after 'tenant'"},
            {"tenant acme lcp > 1: low",
             "line 1, column 13: expected '{' after tenant 'acme'"},
            {"tenant a { tenant b { } }",
             "line 1, column 12: tenant blocks cannot nest"},
            {"}", "line 1, column 1: unexpected '}'"},
            {"2500 > lcp: high",
             "line 1, column 1: expected a metric or 'tenant'"},
            {"tenant a {\n  cls off\n  cls > 0.1: low\n}",
             "line 2, column 3: cls is both off and ruled in tenant 'a'"},
            {"custom. > 1: low",
             "line 1, column 1: unknown metric 'custom.' (lcp, inp, cls, "
             "fcp, ttfb, nav.*, custom.<name>, error_rate)"},
            {"lcp > 2%: high",
             "line 1, column 8: only error_rate takes a percent"},
            {"error_rate > 2ms: high",
             "line 1, column 15: error_rate takes a plain number, no unit"},
        };
        rs_detect_rules_t *r;
        char               err[200];
        size_t             i;

        for (i = 0; i < NELEM(cases); i++) {
                strcpy(err, "(none)");
                r = rs_detect_rules_parse(cases[i].text, err, sizeof(err));
                RS_CHECK_MSG(r == NULL, "parsed: %s", cases[i].text);
                rs_detect_rules_destroy(r);
                RS_CHECK_STR(err, cases[i].err);
        }
        /* A short error buffer truncates; none at all is fine. */
        r = rs_detect_rules_parse("}", err, 8);
        RS_CHECK(r == NULL);
        RS_CHECK_STR(err, "line 1,");
        RS_CHECK(rs_detect_rules_parse("}", NULL, 0) == NULL);
}

/* ---- Explanation ------------------------------------------------------- */

static void test_explain(void) {
        rs_detect_segment_t seg[3];
        rs_detect_explain_t e;
        char                buf[128];
        size_t              len;

        /* Traffic mix only. Mobile (3000 ms) 40% -> 70%, desktop (1500 ms)
         * 60% -> 30%. P0 = 0.4*3000 + 0.6*1500 = 2100, P1 = 0.7*3000 +
         * 0.3*1500 = 2550, change 450, Pbar = 2325. within = 0;
         * mix mobile = 0.3 * (3000 - 2325) = 202.5, desktop = -0.3 * (1500
         * - 2325) = 247.5; 202.5 + 247.5 = 450. Mobile gained share:
         * it is the one named. Shares given as page views (4000/6000,
         * 7000/3000): normalised. */
        memset(seg, 0, sizeof(seg));
        seg[0] = (rs_detect_segment_t){"mobile", 4000, 3000, 7000, 3000, 0, 0};
        seg[1] = (rs_detect_segment_t){"desktop", 6000, 1500, 3000, 1500, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        RS_CHECK_REL(e.base, 2100, 1e-14);
        RS_CHECK_REL(e.current, 2550, 1e-14);
        RS_CHECK_REL(e.change, 450, 1e-13);
        RS_CHECK(e.within == 0);
        RS_CHECK_REL(e.mix, 450, 1e-13);
        RS_CHECK_REL(seg[0].mix, 202.5, 1e-13);
        RS_CHECK_REL(seg[1].mix, 247.5, 1e-13);
        len = rs_detect_explain_text(seg, 2, &e, "LCP", buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly traffic mix: mobile share 40% -> 70%");
        RS_CHECK_INT(len, strlen(buf));

        /* Within only: mobile 3000 -> 4350 (+45%) at 40%, desktop flat.
         * within mobile = 1350 * 0.4 = 540 = change. */
        seg[0] = (rs_detect_segment_t){"mobile", 0.4, 3000, 0.4, 4350, 0, 0};
        seg[1] = (rs_detect_segment_t){"desktop", 0.6, 1500, 0.6, 1500, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        RS_CHECK_REL(e.change, 540, 1e-13);
        RS_CHECK_REL(e.within, 540, 1e-13);
        RS_CHECK(e.mix == 0);
        rs_detect_explain_text(seg, 2, &e, "LCP", buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly within segments: mobile LCP +45%");

        /* Both, three segments, by hand:
         *   mobile  w0 .30 x0 3000   w1 .45 x1 3600
         *   desktop w0 .60 x0 1500   w1 .45 x1 1650
         *   tablet  w0 .10 x0 2000   w1 .10 x1 2000
         * P0 = 900 + 900 + 200 = 2000, P1 = 1620 + 742.5 + 200 = 2562.5,
         * change 562.5, Pbar = 2281.25.
         *   within: mobile 600 * .375 = 225, desktop 150 * .525 = 78.75,
         *           tablet 0; total 303.75
         *   mix:    mobile .15 * (3300 - 2281.25) = 152.8125,
         *           desktop -.15 * (1575 - 2281.25) = 105.9375,
         *           tablet 0; total 258.75
         * 303.75 + 258.75 = 562.5. Within wins, led by mobile (+20%). */
        seg[0] = (rs_detect_segment_t){"mobile", .30, 3000, .45, 3600, 0, 0};
        seg[1] = (rs_detect_segment_t){"desktop", .60, 1500, .45, 1650, 0, 0};
        seg[2] = (rs_detect_segment_t){"tablet", .10, 2000, .10, 2000, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 3, &e), 0);
        RS_CHECK_REL(e.base, 2000, 1e-14);
        RS_CHECK_REL(e.current, 2562.5, 1e-14);
        RS_CHECK_REL(e.within, 303.75, 1e-13);
        RS_CHECK_REL(e.mix, 258.75, 1e-13);
        RS_CHECK_REL(seg[0].within, 225, 1e-13);
        RS_CHECK_REL(seg[1].within, 78.75, 1e-13);
        RS_CHECK_REL(seg[0].mix, 152.8125, 1e-13);
        RS_CHECK_REL(seg[1].mix, 105.9375, 1e-13);
        RS_CHECK(fabs(seg[2].within) < 1e-12 && fabs(seg[2].mix) < 1e-12);
        RS_CHECK_REL(e.within + e.mix, e.change, 1e-14);
        rs_detect_explain_text(seg, 3, &e, "LCP", buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly within segments: mobile LCP +20%");

        /* A new segment (no baseline p75, share 0): its p75 counts for
         * both periods, so it is pure mix. Bot traffic 0% -> 50% at
         * 5000 ms, web 2000 ms flat: P0 2000, P1 3500; Pbar 2750; mix
         * bot .5 * (5000 - 2750) = 1125, web -.5 * (2000 - 2750) = 375. */
        seg[0] = (rs_detect_segment_t){"bot", 0, NAN, 50, 5000, 0, 0};
        seg[1] = (rs_detect_segment_t){"web", 100, 2000, 50, 2000, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        RS_CHECK_REL(e.change, 1500, 1e-14);
        RS_CHECK_REL(seg[0].mix, 1125, 1e-14);
        RS_CHECK_REL(seg[1].mix, 375, 1e-14);
        rs_detect_explain_text(seg, 2, &e, NULL, buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly traffic mix: bot share 0% -> 50%");

        /* An improvement: desktop 1500 -> 1200 (-20%) explains it. */
        seg[0] = (rs_detect_segment_t){"mobile", .4, 3000, .4, 3000, 0, 0};
        seg[1] = (rs_detect_segment_t){"desktop", .6, 1500, .6, 1200, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        RS_CHECK_REL(e.change, -180, 1e-13);
        rs_detect_explain_text(seg, 2, &e, "INP", buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly within segments: desktop INP -20%");

        /* No change; truncation; zero baseline. */
        seg[1].cur_p75 = 1500;
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        rs_detect_explain_text(seg, 2, &e, "LCP", buf, sizeof(buf));
        RS_CHECK_STR(buf, "no change");
        seg[0] = (rs_detect_segment_t){"mobile", .5, 0, .5, 0.2, 0, 0};
        seg[1] = (rs_detect_segment_t){"desktop", .5, 0, .5, 0, 0, 0};
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), 0);
        len = rs_detect_explain_text(seg, 2, &e, "CLS", buf, 10);
        RS_CHECK_STR(buf, "mostly wi");
        RS_CHECK_INT(len,
                     strlen("mostly within segments: mobile CLS 0 -> 0.2"));
        rs_detect_explain_text(seg, 2, &e, "CLS", buf, sizeof(buf));
        RS_CHECK_STR(buf, "mostly within segments: mobile CLS 0 -> 0.2");
        RS_CHECK_INT(rs_detect_explain_text(seg, 2, &e, "CLS", NULL, 0),
                     strlen(buf));

        /* Bad input. */
        seg[0].base_share = -1;
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), RS_DETECT_EINVAL);
        RS_CHECK(isnan(e.change));
        seg[0].base_share = 0.5;
        seg[0].base_p75   = NAN; /* NaN with a share */
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), RS_DETECT_EINVAL);
        seg[0].base_p75 = 0;
        seg[0].cur_p75  = INFINITY;
        RS_CHECK_INT(rs_detect_explain(seg, 2, &e), RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_explain(seg, 0, &e), RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_explain(NULL, 2, &e), RS_DETECT_EINVAL);
        RS_CHECK_INT(rs_detect_explain_text(seg, 2, &e, "x", buf, sizeof(buf)),
                     0);
        RS_CHECK_STR(buf, "");
}

static void test_names(void) {
        rs_detect_severity_t s;

        RS_CHECK_STR(rs_detect_severity_name(RS_DETECT_SEV_NONE), "none");
        RS_CHECK_STR(rs_detect_severity_name(RS_DETECT_SEV_CRITICAL),
                     "critical");
        RS_CHECK_STR(rs_detect_severity_name((rs_detect_severity_t)9),
                     "unknown");
        RS_CHECK_INT(rs_detect_severity_from_name("High", &s), 0);
        RS_CHECK_INT(s, RS_DETECT_SEV_HIGH);
        RS_CHECK_INT(rs_detect_severity_from_name("none", &s), -1);
        RS_CHECK_INT(rs_detect_severity_from_name("urgent", &s), -1);
        RS_CHECK_STR(rs_detect_status_name(RS_DETECT_WATCH), "watch");
        RS_CHECK_STR(rs_detect_status_name(RS_DETECT_NO_DATA), "no_data");
        RS_CHECK_STR(rs_detect_status_name(RS_DETECT_HEALTHY), "healthy");
}

int main(void) {
        test_conf();
        test_ci_ranks();
        test_ci_values();
        test_baseline_plain();
        test_baseline_seasonal_exact();
        test_regression_gates();
        test_rate_window();
        test_level_shift_unit();
        test_step();
        test_spike();
        test_small_samples();
        test_noisy_stable();
        test_drift();
        test_seasonal_sine();
        test_seasonal_busy_hours();
        test_seasonal_weekly();
        test_budget_tiers();
        test_budget_durations();
        test_lifecycle();
        test_rules_parse();
        test_rules_errors();
        test_explain();
        test_names();
        return RS_TEST_DONE();
}
