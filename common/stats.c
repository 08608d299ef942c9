/*
 * stats: correlation, its inference, and robust summaries. See
 * rumstream/stats.h for the methods.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "rumstream/stats.h"

/* Continued fraction: stop when a step changes the value by less than this
 * (relative), and keep tiny denominators off zero (Lentz). */
#define CF_EPS   1e-16
#define CF_FPMIN 1e-300
#define SQRT2    1.41421356237309504880
#define SQRT_2PI 2.50662827463100050242

/* lgamma() writes the global signgam, a data race when two threads use it;
 * glibc's lgamma_r() does not. Arguments here are always positive. */
static double lgam(double v) {
#ifdef __GLIBC__
        int sign;
        return lgamma_r(v, &sign);
#else
        return lgamma(v);
#endif
}

/* ------------------------------------------------------------------ */
/* Special functions                                                  */

/* Continued fraction for I_x(a, b) (Numerical Recipes' betacf), modified
 * Lentz. Converges fast for x < (a + 1) / (a + b + 2); the worst case
 * takes O(sqrt(max(a, b))) steps, hence the limit. */
static double betacf(double a, double b, double x) {
        double qab = a + b, qap = a + 1.0, qam = a - 1.0;
        double c = 1.0, d = 1.0 - qab * x / qap, h;
        double big   = a > b ? a : b;
        long   maxit = 1000 + (long)(10.0 * sqrt(big)), m;

        if (fabs(d) < CF_FPMIN)
                d = CF_FPMIN;
        d = 1.0 / d;
        h = d;
        for (m = 1; m <= maxit; m++) {
                double md = (double)m, m2 = 2.0 * md, aa, del;

                /* Even step. */
                aa = md * (b - md) * x / ((qam + m2) * (a + m2));
                d  = 1.0 + aa * d;
                if (fabs(d) < CF_FPMIN)
                        d = CF_FPMIN;
                c = 1.0 + aa / c;
                if (fabs(c) < CF_FPMIN)
                        c = CF_FPMIN;
                d = 1.0 / d;
                h *= d * c;
                /* Odd step. */
                aa = -(a + md) * (qab + md) * x / ((a + m2) * (qap + m2));
                d  = 1.0 + aa * d;
                if (fabs(d) < CF_FPMIN)
                        d = CF_FPMIN;
                c = 1.0 + aa / c;
                if (fabs(c) < CF_FPMIN)
                        c = CF_FPMIN;
                d   = 1.0 / d;
                del = d * c;
                h *= del;
                if (fabs(del - 1.0) < CF_EPS)
                        break;
        }
        return h;
}

/* lgamma(z) - ((z - 1/2) log z - z + log(2 pi) / 2) for z >= 100: the
 * Stirling series, truncated where the next term is below 1e-21. */
static double stirling_rest(double z) {
        double z2 = 1.0 / (z * z);

        return (1.0 / 12 - z2 * (1.0 / 360 - z2 * (1.0 / 1260 - z2 / 1680))) /
               z;
}

/* -log B(a, b) = lgamma(a + b) - lgamma(a) - lgamma(b). With one large
 * argument the first two nearly cancel (lgamma(5e7) ~ 8e8 keeps 1e-7 of
 * absolute error); Stirling's form of their difference keeps only terms
 * of the size of the result: (big - 1/2) log1p(small / big) + small
 * log(big + small) - small, plus the small series remainders. */
static double neg_log_beta(double a, double b) {
        double big = a > b ? a : b, small = a > b ? b : a;

        if (big < 100)
                return lgam(a + b) - lgam(a) - lgam(b);
        return (big - 0.5) * log1p(small / big) + small * log(big + small) -
               small + stirling_rest(big + small) - stirling_rest(big) -
               lgam(small);
}

/* I_x(a, b) given both x and y = 1 - x, each computed without cancellation
 * by the caller, so that both tails keep their relative accuracy. */
static double incbeta_xy(double a, double b, double x, double y) {
        double lx, ly, front;

        if (isnan(a) || isnan(b) || isnan(x) || isnan(y) || a <= 0 || b <= 0)
                return NAN;
        if (x <= 0)
                return 0.0;
        if (y <= 0)
                return 1.0;
        lx    = x < 0.5 ? log(x) : log1p(-y);
        ly    = y < 0.5 ? log(y) : log1p(-x);
        front = exp(neg_log_beta(a, b) + a * lx + b * ly);
        if (x < (a + 1.0) / (a + b + 2.0))
                return front * betacf(a, b, x) / a;
        return 1.0 - front * betacf(b, a, y) / b;
}

double rs_stats_incbeta(double a, double b, double x) {
        if (isnan(x))
                return NAN;
        if (x <= 0 || x >= 1)
                return incbeta_xy(a, b, x <= 0 ? 0.0 : 1.0, x <= 0 ? 1.0 : 0.0);
        return incbeta_xy(a, b, x, 1.0 - x);
}

double rs_stats_normal_cdf(double z) {
        return 0.5 * erfc(-z / SQRT2);
}

/* Acklam's approximation for p in (0, 0.5], one Halley step on erfc. */
static double normal_quantile_lower(double p) {
        static const double a[] = {
            -3.969683028665376e+01, 2.209460984245205e+02,
            -2.759285104469687e+02, 1.383577518672690e+02,
            -3.066479806614716e+01, 2.506628277459239e+00};
        static const double b[] = {
            -5.447609879822406e+01, 1.615858368580409e+02,
            -1.556989798598866e+02, 6.680131188771972e+01,
            -1.328068155288572e+01};
        static const double c[] = {
            -7.784894002430293e-03, -3.223964580411365e-01,
            -2.400758277161838e+00, -2.549732539343734e+00,
            4.374664141464968e+00,  2.938163982698783e+00};
        static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                   2.445134137142996e+00,
                                   3.754408661907416e+00};
        double              x, q, r, e, u;

        if (p < 0.02425) {
                q = sqrt(-2.0 * log(p));
                x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) *
                         q +
                     c[5]) /
                    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        } else {
                q = p - 0.5;
                r = q * q;
                x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) *
                         r +
                     a[5]) *
                    q /
                    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) *
                         r +
                     1.0);
        }
        /* Halley: e / pdf(x) is the Newton step; the factor corrects for
         * the curvature. Deep in the subnormal range pdf(x) underflows and
         * the approximation is kept as it is. */
        e = 0.5 * erfc(-x / SQRT2) - p;
        u = e * SQRT_2PI * exp(0.5 * x * x);
        if (isfinite(u))
                x = x - u / (1.0 + 0.5 * x * u);
        return x;
}

double rs_stats_normal_quantile(double p) {
        if (isnan(p) || p < 0 || p > 1)
                return NAN;
        if (p == 0)
                return -INFINITY;
        if (p == 1)
                return INFINITY;
        if (p > 0.5) /* 1 - p is exact here (Sterbenz) */
                return -normal_quantile_lower(1.0 - p);
        return normal_quantile_lower(p);
}

double rs_stats_t_sf2(double t, double df) {
        double t2;

        if (isnan(t) || isnan(df) || df <= 0)
                return NAN;
        if (isinf(df))
                return erfc(fabs(t) / SQRT2);
        /* P(|T| >= |t|) = I_x(df/2, 1/2), x = df / (df + t^2); x and 1 - x
         * are formed apart so neither cancels (t^2 = inf gives 0 and 1). */
        t2 = t * t;
        return incbeta_xy(0.5 * df, 0.5, 1.0 / (1.0 + t2 / df),
                          1.0 / (1.0 + df / t2));
}

double rs_stats_t_sf(double t, double df) {
        double p2 = rs_stats_t_sf2(t, df);

        if (isnan(p2))
                return NAN;
        return t > 0 ? 0.5 * p2 : 1.0 - 0.5 * p2;
}

double rs_stats_t_cdf(double t, double df) {
        return rs_stats_t_sf(-t, df);
}

/* ------------------------------------------------------------------ */
/* Correlation                                                        */

static void corr_invalid(rs_stats_corr_t *out, size_t n, double ci_level) {
        out->n        = n;
        out->r        = NAN;
        out->t        = NAN;
        out->p_value  = NAN;
        out->ci_low   = NAN;
        out->ci_high  = NAN;
        out->ci_level = ci_level;
        out->valid    = 0;
}

int rs_stats_corr_infer(double r, size_t n, double ci_level,
                        rs_stats_corr_t *out) {
        double df;

        if (!out)
                return RS_STATS_EINVAL;
        corr_invalid(out, n, ci_level);
        if (n < 3)
                return RS_STATS_EFEW;
        if (isnan(r) || r < -1.0 || r > 1.0)
                return RS_STATS_EINVAL;
        df     = (double)(n - 2);
        out->r = r;
        if (fabs(r) == 1.0) {
                out->t       = copysign(INFINITY, r);
                out->p_value = 0.0;
        } else {
                /* (1 - r)(1 + r) keeps the digits 1 - r^2 loses near 1. */
                out->t       = r * sqrt(df / ((1.0 - r) * (1.0 + r)));
                out->p_value = rs_stats_t_sf2(out->t, df);
        }
        out->valid = 1;

        if (n >= 4 && ci_level > 0 && ci_level < 1) {
                /* Upper quantile as -Phi^-1((1 - level)/2): 1 - level is
                 * exact for levels >= 0.5 and stays accurate near 1. */
                double zc = -rs_stats_normal_quantile(0.5 * (1.0 - ci_level));
                double se = 1.0 / sqrt((double)(n - 3));

                if (fabs(r) == 1.0) {
                        out->ci_low  = r;
                        out->ci_high = r;
                } else {
                        double z     = atanh(r);
                        out->ci_low  = tanh(z - zc * se);
                        out->ci_high = tanh(z + zc * se);
                }
        }
        return 0;
}

/* Power of two 2^-e with |v| * 2^-e < 1 for the largest |v| (1 for 0):
 * scaling by it is exact and keeps squares and products in range. */
static double pow2_scale(double maxabs) {
        int e;

        if (maxabs == 0)
                return 1.0;
        frexp(maxabs, &e);
        return ldexp(1.0, -e);
}

/* Pearson r of the pairs without a NaN. Returns 0 or RS_STATS_E*, with the
 * number of pairs used in *used. */
static int pearson_r(const double *x, const double *y, size_t n, size_t *used,
                     double *r) {
        double x0 = NAN, y0 = NAN, maxx = 0, maxy = 0;
        double sx = 0, sy = 0, mx, my, kx, ky;
        double sdx = 0, sdy = 0, sxx = 0, syy = 0, sxy = 0, dm;
        int    xvar = 0, yvar = 0;
        size_t i, m           = 0;

        *used = 0;
        for (i = 0; i < n; i++) {
                if (isnan(x[i]) || isnan(y[i]))
                        continue;
                if (isinf(x[i]) || isinf(y[i]))
                        return RS_STATS_EINF;
                if (m == 0) {
                        x0 = x[i];
                        y0 = y[i];
                }
                xvar |= x[i] != x0;
                yvar |= y[i] != y0;
                if (fabs(x[i]) > maxx)
                        maxx = fabs(x[i]);
                if (fabs(y[i]) > maxy)
                        maxy = fabs(y[i]);
                m++;
        }
        *used = m;
        if (m < 3)
                return RS_STATS_EFEW;
        /* Exact test: a computed variance of a constant series need not be
         * 0 (the mean is rounded), and r would then be noise. */
        if (!xvar || !yvar)
                return RS_STATS_ECONST;

        kx = pow2_scale(maxx);
        ky = pow2_scale(maxy);
        for (i = 0; i < n; i++) {
                if (isnan(x[i]) || isnan(y[i]))
                        continue;
                sx += x[i] * kx;
                sy += y[i] * ky;
        }
        dm = (double)m;
        mx = sx / dm;
        my = sy / dm;
        for (i = 0; i < n; i++) {
                double dx, dy;

                if (isnan(x[i]) || isnan(y[i]))
                        continue;
                dx = x[i] * kx - mx;
                dy = y[i] * ky - my;
                sdx += dx;
                sdy += dy;
                sxx += dx * dx;
                syy += dy * dy;
                sxy += dx * dy;
        }
        /* Corrected two-pass (Chan, Golub and LeVeque): removes the error
         * of the rounded means. */
        sxx -= sdx * sdx / dm;
        syy -= sdy * sdy / dm;
        sxy -= sdx * sdy / dm;
        if (!(sxx > 0) || !(syy > 0))
                return RS_STATS_ECONST; /* spread below double resolution */
        *r = sxy / (sqrt(sxx) * sqrt(syy));
        if (*r > 1.0)
                *r = 1.0;
        else if (*r < -1.0)
                *r = -1.0;
        return 0;
}

int rs_stats_pearson(const double *x, const double *y, size_t n,
                     double ci_level, rs_stats_corr_t *out) {
        size_t used = 0;
        double r    = NAN;
        int    err;

        if (!out)
                return RS_STATS_EINVAL;
        if (n > 0 && (!x || !y)) {
                corr_invalid(out, 0, ci_level);
                return RS_STATS_EINVAL;
        }
        err = pearson_r(x, y, n, &used, &r);
        if (err) {
                corr_invalid(out, used, ci_level);
                return err;
        }
        return rs_stats_corr_infer(r, used, ci_level, out);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Replaces each v[i] by its 1-based rank among v[0..m), ties getting the
 * average of their ranks: the tie block of v[i] spans sorted positions
 * [lo, hi), ranks lo + 1 .. hi, average (lo + 1 + hi) / 2. */
static void rank_in_place(double *v, size_t m, double *sorted) {
        size_t i;

        for (i = 0; i < m; i++)
                sorted[i] = v[i];
        qsort(sorted, m, sizeof(*sorted), cmp_double);
        for (i = 0; i < m; i++) {
                size_t lo, hi, a, b;

                /* lower bound: first position with sorted >= v[i] */
                a = 0;
                b = m;
                while (a < b) {
                        size_t mid = a + (b - a) / 2;
                        if (sorted[mid] < v[i])
                                a = mid + 1;
                        else
                                b = mid;
                }
                lo = a;
                /* upper bound: first position with sorted > v[i] */
                b = m;
                while (a < b) {
                        size_t mid = a + (b - a) / 2;
                        if (sorted[mid] <= v[i])
                                a = mid + 1;
                        else
                                b = mid;
                }
                hi   = a;
                v[i] = 0.5 * ((double)lo + 1.0 + (double)hi);
        }
}

int rs_stats_spearman(const double *x, const double *y, size_t n,
                      double ci_level, double *scratch, rs_stats_corr_t *out) {
        double *rx, *ry, *sorted, r = NAN;
        size_t  i, m = 0, used;
        int     err;

        if (!out)
                return RS_STATS_EINVAL;
        if (n > 0 && (!x || !y || !scratch)) {
                corr_invalid(out, 0, ci_level);
                return RS_STATS_EINVAL;
        }
        rx     = scratch;
        ry     = scratch + n;
        sorted = scratch + 2 * n;
        for (i = 0; i < n; i++) {
                if (isnan(x[i]) || isnan(y[i]))
                        continue;
                if (isinf(x[i]) || isinf(y[i])) {
                        corr_invalid(out, 0, ci_level);
                        return RS_STATS_EINF;
                }
                rx[m] = x[i];
                ry[m] = y[i];
                m++;
        }
        if (m < 3) {
                corr_invalid(out, m, ci_level);
                return RS_STATS_EFEW;
        }
        rank_in_place(rx, m, sorted);
        rank_in_place(ry, m, sorted);
        err = pearson_r(rx, ry, m, &used, &r);
        if (err) {
                corr_invalid(out, m, ci_level);
                return err;
        }
        return rs_stats_corr_infer(r, m, ci_level, out);
}

/* ------------------------------------------------------------------ */
/* Robust summaries                                                   */

/* Copies the non-NaN values of v to scratch, sorted; returns their count. */
static size_t sorted_copy(const double *v, size_t n, double *scratch) {
        size_t i, m = 0;

        if (!v || !scratch)
                return 0;
        for (i = 0; i < n; i++)
                if (!isnan(v[i]))
                        scratch[m++] = v[i];
        qsort(scratch, m, sizeof(*scratch), cmp_double);
        return m;
}

double rs_stats_quantile_sorted(const double *sorted, size_t n, double q) {
        double h, frac, lo, hi, d;
        size_t i;

        if (!sorted || n == 0 || isnan(q) || q < 0 || q > 1)
                return NAN;
        h = q * (double)(n - 1);
        i = (size_t)floor(h);
        if (i >= n - 1)
                return sorted[n - 1];
        frac = h - (double)i;
        lo   = sorted[i];
        hi   = sorted[i + 1];
        if (frac == 0 || lo == hi)
                return lo;
        d = hi - lo;
        if (isinf(d) && isfinite(lo) && isfinite(hi)) /* e.g. -1e308, 1e308 */
                return (1.0 - frac) * lo + frac * hi;
        return lo + frac * d;
}

double rs_stats_quantile(const double *v, size_t n, double q, double *scratch) {
        if (isnan(q) || q < 0 || q > 1)
                return NAN;
        return rs_stats_quantile_sorted(scratch, sorted_copy(v, n, scratch), q);
}

double rs_stats_median(const double *v, size_t n, double *scratch) {
        return rs_stats_quantile(v, n, 0.5, scratch);
}

double rs_stats_mad(const double *v, size_t n, double *scratch,
                    double *median) {
        size_t m = sorted_copy(v, n, scratch), i;
        double med;

        med = rs_stats_quantile_sorted(scratch, m, 0.5);
        if (median)
                *median = med;
        if (!isfinite(med))
                return NAN;
        for (i = 0; i < m; i++)
                scratch[i] = fabs(scratch[i] - med);
        qsort(scratch, m, sizeof(*scratch), cmp_double);
        return rs_stats_quantile_sorted(scratch, m, 0.5);
}
