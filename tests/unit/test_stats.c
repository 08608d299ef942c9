/*
 * stats: special functions, correlations and robust summaries against
 * references obtained independently of the code under test:
 * - "hand": derived on paper (exact sums of small integer data sets);
 * - "closed form": a formula evaluated here with libm (t with 1, 2 and 3
 *   degrees of freedom, I_x(a, b) with a or b = 1, arcsine law);
 * - "table": published Student t critical values (10 significant digits);
 * - "mpmath": mpmath 1.3.0 at 50 significant digits (betainc regularized,
 *   erfc, erfinv, atanh/tanh, exact rational sums via Python's fractions),
 *   evaluated at the exact double of each argument and rounded to 17 digits.
 * Tolerances are relative; looser ones say why.
 */
#include <float.h>
#include <math.h>
#include <stddef.h>

#include "rs_test.h"
#include "rumstream/stats.h"

#define PI 3.14159265358979323846

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_incbeta(void) {
        double x;

        /* Edges and bad arguments (contract). */
        RS_CHECK(rs_stats_incbeta(2, 3, 0) == 0.0);
        RS_CHECK(rs_stats_incbeta(2, 3, 1) == 1.0);
        RS_CHECK(rs_stats_incbeta(2, 3, -0.5) == 0.0);
        RS_CHECK(rs_stats_incbeta(2, 3, 1.5) == 1.0);
        RS_CHECK(rs_stats_incbeta(0.5, 0.5, 0) == 0.0);
        RS_CHECK(rs_stats_incbeta(0.5, 0.5, 1) == 1.0);
        RS_CHECK(isnan(rs_stats_incbeta(0, 3, 0.5)));
        RS_CHECK(isnan(rs_stats_incbeta(2, -1, 0.5)));
        RS_CHECK(isnan(rs_stats_incbeta(2, 3, NAN)));
        RS_CHECK(isnan(rs_stats_incbeta(NAN, 3, 0.5)));

        /* Closed forms: I_x(1,1) = x, I_x(a,1) = x^a, I_x(1,b) = 1-(1-x)^b,
         * I_{1/2}(a,a) = 1/2 by symmetry. */
        for (x = 0.05; x < 1; x += 0.1) {
                RS_CHECK_REL(rs_stats_incbeta(1, 1, x), x, 1e-13);
                RS_CHECK_REL(rs_stats_incbeta(3.5, 1, x), pow(x, 3.5), 1e-13);
                RS_CHECK_REL(rs_stats_incbeta(1, 4, x), 1 - pow(1 - x, 4),
                             1e-13);
        }
        RS_CHECK_REL(rs_stats_incbeta(3, 3, 0.5), 0.5, 1e-14);
        RS_CHECK_REL(rs_stats_incbeta(50, 50, 0.5), 0.5, 1e-13);
        /* Hand: I_x(2,3) = sum_{j=2..4} C(4,j) x^j (1-x)^(4-j) = 0.5248. */
        RS_CHECK_REL(rs_stats_incbeta(2, 3, 0.4), 0.5248, 1e-14);
        /* Closed form (arcsine law): I_x(1/2,1/2) = 2/pi asin(sqrt x). */
        RS_CHECK_REL(rs_stats_incbeta(0.5, 0.5, 0.2), 2 / PI * asin(sqrt(0.2)),
                     1e-14);
        /* mpmath. */
        RS_CHECK_REL(rs_stats_incbeta(0.5, 0.5, 0.2), 0.29516723530086656,
                     1e-14);
        RS_CHECK_REL(rs_stats_incbeta(5, 0.5, 0.9), 0.31664291502001231, 1e-13);
        /* a, b large: exponents of size ~1e2..1e3 cost ~1e-13. */
        RS_CHECK_REL(rs_stats_incbeta(100, 200, 0.3), 0.10884306564490976,
                     1e-12);
        RS_CHECK_REL(rs_stats_incbeta(150, 400, 0.25), 0.11430938374824648,
                     1e-12);
        RS_CHECK_REL(rs_stats_incbeta(3, 1e7, 2e-7), 0.32332369208517303,
                     1e-13);
        RS_CHECK_REL(rs_stats_incbeta(0.1, 10, 1e-5), 0.41655822619209405,
                     1e-13);
        RS_CHECK_REL(rs_stats_incbeta(0.5, 0.5, 1e-300),
                     6.3661977236758135e-151, 1e-13);
        /* 2.5e-1502 (mpmath) underflows: 0, not NaN. */
        RS_CHECK(rs_stats_incbeta(500, 0.5, 0.001) == 0.0);
}

/* Closed forms of the t CDF for small df. */
static double t1_cdf(double t) {
        return 0.5 + atan(t) / PI;
}
static double t2_cdf(double t) {
        return 0.5 + t / (2 * sqrt(2 + t * t));
}
static double t3_cdf(double t) {
        return 0.5 +
               (t / (sqrt(3.0) * (1 + t * t / 3)) + atan(t / sqrt(3.0))) / PI;
}

static void test_t(void) {
        static const double dfs[] = {1, 2, 3, 7.5, 30, 1000};
        static const double ts[]  = {0.1, 0.7, 1.5, 3, 12, 150, 1e3};
        size_t              i, j;

        /* Table critical values (10 digits, so the CDF is off by up to
         * pdf * 5e-10): t_{.975,10}, t_{.975,1}, t_{.995,30}. */
        RS_CHECK_REL(rs_stats_t_cdf(2.228138852, 10), 0.975, 1e-9);
        RS_CHECK_REL(rs_stats_t_cdf(12.70620474, 1), 0.975, 1e-9);
        RS_CHECK_REL(rs_stats_t_cdf(2.749995654, 30), 0.995, 1e-9);
        RS_CHECK_REL(rs_stats_t_sf2(2.228138852, 10), 0.05, 1e-8);
        RS_CHECK_REL(rs_stats_t_sf2(2.749995654, 30), 0.01, 1e-8);
        /* mpmath at the same arguments. */
        RS_CHECK_REL(rs_stats_t_cdf(2.228138852, 10), 0.97500000000058174,
                     1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(2.228138852, 10), 0.049999999998836525,
                     1e-13);
        RS_CHECK_REL(rs_stats_t_sf2(12.70620474, 1), 0.049999999985008961,
                     1e-13);
        RS_CHECK_REL(rs_stats_t_sf2(2.749995654, 30), 0.0099999999894979831,
                     1e-13);
        RS_CHECK_REL(rs_stats_t_cdf(0.5, 30), 0.68963849755743636, 1e-14);
        RS_CHECK_REL(rs_stats_t_cdf(-0.5, 30), 0.31036150244256364, 1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(2, 1000), 0.04577034649325164, 1e-11);

        /* Closed forms for df 1, 2, 3. */
        for (j = 0; j < NELEM(ts); j++) {
                double t = ts[j];
                RS_CHECK_REL(rs_stats_t_cdf(t, 1), t1_cdf(t), 1e-13);
                RS_CHECK_REL(rs_stats_t_cdf(-t, 2), t2_cdf(-t), 1e-9);
                RS_CHECK_REL(rs_stats_t_cdf(t, 2), t2_cdf(t), 1e-13);
                RS_CHECK_REL(rs_stats_t_cdf(t, 3), t3_cdf(t), 1e-13);
        }
        RS_CHECK_REL(rs_stats_t_cdf(-3, 1), 0.10241638234956673, 1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(1.5, 3), 0.23058386524482305, 1e-13);

        /* Symmetry and consistency on a grid. */
        for (i = 0; i < NELEM(dfs); i++) {
                double df = dfs[i];

                RS_CHECK(rs_stats_t_cdf(0, df) == 0.5);
                RS_CHECK(rs_stats_t_sf2(0, df) == 1.0);
                for (j = 0; j < NELEM(ts); j++) {
                        double t  = ts[j];
                        double lo = rs_stats_t_cdf(-t, df);
                        double hi = rs_stats_t_cdf(t, df);

                        RS_CHECK_REL(lo + hi, 1.0, 1e-15);
                        RS_CHECK_REL(rs_stats_t_sf(t, df), lo, 1e-15);
                        RS_CHECK_REL(rs_stats_t_sf2(t, df), 2 * lo, 1e-15);
                        RS_CHECK_REL(rs_stats_t_sf2(-t, df), 2 * lo, 1e-15);
                        RS_CHECK(lo < 0.5 && hi > 0.5);
                }
        }

        /* Extreme tails, relative accuracy (mpmath). */
        RS_CHECK_REL(rs_stats_t_cdf(-1e3, 1), 3.1830978008055894e-4, 1e-13);
        RS_CHECK_REL(rs_stats_t_sf2(1e3, 1), 6.3661956016111788e-4, 1e-13);
        RS_CHECK_REL(rs_stats_t_cdf(-1e3, 2), 4.9999925000125e-7, 1e-13);
        RS_CHECK_REL(rs_stats_t_cdf(1e3, 2), 0.99999950000075, 1e-15);
        RS_CHECK_REL(rs_stats_t_cdf(-1e3, 30), 1.0360017415558665e-69, 1e-12);
        RS_CHECK_REL(rs_stats_t_cdf(-5, 1000), 3.3836281823243152e-7, 1e-13);
        RS_CHECK_REL(rs_stats_t_cdf(-40, 1000), 5.2394260775866805e-210, 1e-12);
        /* Large df (mpmath); the continued fraction's 1 - x terms cancel
         * more as df grows, hence the looser tolerances. */
        RS_CHECK_REL(rs_stats_t_sf2(10, 1e6), 1.527861076817825e-23, 1e-11);
        RS_CHECK_REL(rs_stats_t_sf2(5, 1e6), 5.7339978708907416e-7, 1e-11);
        RS_CHECK_REL(rs_stats_t_sf2(0.5, 1e6), 0.61707518747237139, 1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(5, 1e8), 5.733041101267286e-7, 1e-9);
        RS_CHECK_REL(rs_stats_t_sf2(0.5, 1e8), 0.61707507855217794, 1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(0.5, 1e4), 0.61708607932323341, 1e-14);
        RS_CHECK_REL(rs_stats_t_sf2(5, 1e4), 5.8303266136626473e-7, 1e-13);
        /* 1.5e-1502 (mpmath): underflow to 0, CDF exactly 1. */
        RS_CHECK(rs_stats_t_sf2(1e3, 1000) == 0.0);
        RS_CHECK(rs_stats_t_cdf(1e3, 1000) == 1.0);
        /* Infinite t and df. */
        RS_CHECK(rs_stats_t_cdf(-INFINITY, 5) == 0.0);
        RS_CHECK(rs_stats_t_cdf(INFINITY, 5) == 1.0);
        RS_CHECK(rs_stats_t_sf2(1e200, 3) == 0.0);
        RS_CHECK_REL(rs_stats_t_cdf(-1.5, INFINITY), rs_stats_normal_cdf(-1.5),
                     1e-15);
        RS_CHECK(isnan(rs_stats_t_cdf(1, 0)));
        RS_CHECK(isnan(rs_stats_t_cdf(1, -3)));
        RS_CHECK(isnan(rs_stats_t_cdf(NAN, 3)));
        RS_CHECK(isnan(rs_stats_t_sf2(1, NAN)));
}

static void test_normal(void) {
        double p;

        /* mpmath: sqrt(2) erfinv(2p - 1). */
        RS_CHECK_REL(rs_stats_normal_quantile(0.975), 1.9599639845400539,
                     1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(0.025), -1.9599639845400542,
                     1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(1e-10), -6.3613409024040562,
                     1e-14);
        /* The double nearest 1 - 1e-10 is 1 - 1.000000082740371e-10. */
        RS_CHECK_REL(rs_stats_normal_quantile(1 - 1e-10), 6.3613408896974219,
                     1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(0.02425), -1.9729610513118848,
                     1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(0.3), -0.52440051270804082,
                     1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(0.9), 1.2815515655446006, 1e-14);
        RS_CHECK_REL(rs_stats_normal_quantile(1e-300), -37.047096299361199,
                     1e-14);
        /* Brief's reference: 1.959963985 (10 digits). */
        RS_CHECK_REL(rs_stats_normal_quantile(0.975), 1.959963985, 1e-9);
        RS_CHECK(rs_stats_normal_quantile(0.5) == 0.0);
        RS_CHECK(rs_stats_normal_quantile(0) == -INFINITY);
        RS_CHECK(rs_stats_normal_quantile(1) == INFINITY);
        RS_CHECK(isnan(rs_stats_normal_quantile(-0.1)));
        RS_CHECK(isnan(rs_stats_normal_quantile(1.1)));
        RS_CHECK(isnan(rs_stats_normal_quantile(NAN)));
        /* Round trip in the lower tail, where both are relative-accurate;
         * Acklam alone would be off by ~1e-9. */
        for (p = 1e-15; p < 0.5; p *= 3.7)
                RS_CHECK_REL(rs_stats_normal_cdf(rs_stats_normal_quantile(p)),
                             p, 1e-13);

        /* mpmath: erfc(-z / sqrt 2) / 2. */
        RS_CHECK_REL(rs_stats_normal_cdf(1.959963984540054), 0.975, 1e-15);
        RS_CHECK_REL(rs_stats_normal_cdf(-8), 6.2209605742717841e-16, 1e-13);
        RS_CHECK_REL(rs_stats_normal_cdf(-30), 4.9067139271481871e-198, 1e-13);
        RS_CHECK_REL(rs_stats_normal_cdf(0.3), 0.61791142218895263, 1e-15);
        RS_CHECK(rs_stats_normal_cdf(0) == 0.5);
}

static void check_corr(const rs_stats_corr_t *c, size_t n, double r, double t,
                       double p, double lo, double hi, double tol) {
        RS_CHECK_INT(c->valid, 1);
        RS_CHECK_INT(c->n, n);
        RS_CHECK_REL(c->r, r, tol);
        RS_CHECK_REL(c->t, t, tol);
        RS_CHECK_REL(c->p_value, p, tol);
        RS_CHECK_REL(c->ci_low, lo, tol);
        RS_CHECK_REL(c->ci_high, hi, tol);
}

static void check_invalid(const rs_stats_corr_t *c, size_t n) {
        RS_CHECK_INT(c->valid, 0);
        RS_CHECK_INT(c->n, n);
        RS_CHECK(isnan(c->r) && isnan(c->t) && isnan(c->p_value));
        RS_CHECK(isnan(c->ci_low) && isnan(c->ci_high));
}

/* Anscombe's quartet, set I (Anscombe 1973). */
static const double anscombe_x[] = {10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5};
static const double anscombe_y[] = {8.04, 6.95, 7.58,  8.81, 8.33, 9.96,
                                    7.24, 4.26, 10.84, 4.82, 5.68};

static void test_pearson(void) {
        /* Hand: dx = -2..2, dy = -2,0,1,0,1: sxy 6, sxx 10, syy 6, so
         * r = sqrt(0.6), t = sqrt(0.6 * 3 / 0.4) = sqrt(4.5); p and CI
         * mpmath. */
        static const double x[] = {1, 2, 3, 4, 5}, y[] = {2, 4, 5, 4, 5};
        const double        nan  = NAN;
        double              xn[] = {nan, 1, 2, 7, 3, 4, 5, 9};
        double              yn[] = {3, 2, 4, nan, 5, 4, 5, nan};
        double              big[5], ycst[] = {0.1, 0.1, 0.1, 0.1, 0.1};
        double              yr[8], xq[8], yq[8];
        rs_stats_corr_t     c, c2;
        size_t              i;

        RS_CHECK_INT(rs_stats_pearson(x, y, 5, 0.95, &c), 0);
        check_corr(&c, 5, sqrt(0.6), sqrt(4.5), 0.12402706265755463,
                   -0.34008203518751037, 0.98423575515072666, 1e-13);
        RS_CHECK(c.ci_level == 0.95);
        /* Closed form p for df 3. */
        RS_CHECK_REL(c.p_value, 2 * (1 - t3_cdf(sqrt(4.5))), 1e-13);

        /* NaN pairs are skipped: the same five pairs remain. */
        RS_CHECK_INT(rs_stats_pearson(xn, yn, 8, 0.95, &c2), 0);
        RS_CHECK_INT(c2.n, 5);
        RS_CHECK_REL(c2.r, c.r, 1e-15);
        RS_CHECK_REL(c2.p_value, c.p_value, 1e-15);

        /* A large offset (the naive one-pass formula loses everything at
         * 1e15): exact integers, so the answer is still sqrt(0.6). */
        for (i = 0; i < 5; i++)
                big[i] = 1e15 + x[i];
        RS_CHECK_INT(rs_stats_pearson(big, y, 5, 0, &c2), 0);
        RS_CHECK_REL(c2.r, sqrt(0.6), 1e-15);
        RS_CHECK(isnan(c2.ci_low) && isnan(c2.ci_high)); /* level 0 */
        /* Scale invariance far from 1: tiny and huge magnitudes. */
        for (i = 0; i < 5; i++)
                big[i] = x[i] * 1e-300;
        RS_CHECK_INT(rs_stats_pearson(big, y, 5, 0, &c2), 0);
        RS_CHECK_REL(c2.r, sqrt(0.6), 1e-15);
        for (i = 0; i < 5; i++)
                big[i] = x[i] * 1e300;
        RS_CHECK_INT(rs_stats_pearson(big, y, 5, 0, &c2), 0);
        RS_CHECK_REL(c2.r, sqrt(0.6), 1e-15);

        /* Anscombe I: r = 0.816 (the paper); exact sums by mpmath:
         * sxy = 55.01, sxx = 110, syy = 1134999/27500. */
        RS_CHECK_INT(rs_stats_pearson(anscombe_x, anscombe_y, 11, 0.95, &c), 0);
        check_corr(&c, 11, 0.81642051634483984, 4.2414552888928314,
                   0.0021696288730787969, 0.42439121339321618,
                   0.95069325378656053, 1e-13);

        /* Perfect positive and negative: r = +-1 up to rounding, p ~ 0. */
        for (i = 0; i < 8; i++) {
                xq[i] = 0.3 * (double)i + 0.1;
                yq[i] = 7.0 - 2.5 * xq[i];
        }
        RS_CHECK_INT(rs_stats_pearson(xq, xq, 8, 0.95, &c), 0);
        RS_CHECK_REL(c.r, 1.0, 1e-15);
        RS_CHECK(c.p_value < 1e-12);
        RS_CHECK(c.ci_low > 0.99 && c.ci_high <= 1.0);
        RS_CHECK_INT(rs_stats_pearson(xq, yq, 8, 0.95, &c), 0);
        RS_CHECK_REL(c.r, -1.0, 1e-15);
        RS_CHECK(c.r >= -1.0);
        RS_CHECK(c.p_value < 1e-12);

        /* Unrelated, hand: with x = 1..8, y = 1,-1,-1,1,1,-1,-1,1 gives
         * sum dx*y = -3.5+2.5+1.5-0.5+0.5-1.5-2.5+3.5 = 0: r = 0, t = 0,
         * p = 1, CI symmetric. */
        {
                static const double ux[] = {1, 2, 3, 4, 5, 6, 7, 8};
                static const double uy[] = {1, -1, -1, 1, 1, -1, -1, 1};

                RS_CHECK_INT(rs_stats_pearson(ux, uy, 8, 0.95, &c), 0);
                RS_CHECK(fabs(c.r) < 1e-15);
                RS_CHECK(fabs(c.t) < 1e-14);
                RS_CHECK_REL(c.p_value, 1.0, 1e-14);
                RS_CHECK_REL(c.ci_high, -c.ci_low, 1e-12);
                /* Fisher: tanh(1.959963985 / sqrt 5), closed form. */
                RS_CHECK_REL(c.ci_high, tanh(1.9599639845400542 / sqrt(5.0)),
                             1e-13);
                /* Symmetric parabola: r = 0 (hand: sum dx * dx^2 = 0). */
                for (i = 0; i < 8; i++)
                        yr[i] = (ux[i] - 4.5) * (ux[i] - 4.5);
                RS_CHECK_INT(rs_stats_pearson(ux, yr, 8, 0.95, &c), 0);
                RS_CHECK(fabs(c.r) < 1e-15);
        }

        /* CI contains r and narrows as n grows: the hand data set
         * repeated k times keeps r = sqrt(0.6). */
        {
                double xs[40], ys[40], prev_w = 3;
                size_t k;

                for (k = 1; k <= 8; k++) {
                        for (i = 0; i < 5 * k; i++) {
                                xs[i] = x[i % 5];
                                ys[i] = y[i % 5];
                        }
                        RS_CHECK_INT(rs_stats_pearson(xs, ys, 5 * k, 0.95, &c),
                                     0);
                        RS_CHECK_REL(c.r, sqrt(0.6), 1e-14);
                        RS_CHECK(c.ci_low < c.r && c.r < c.ci_high);
                        RS_CHECK(c.ci_high - c.ci_low < prev_w);
                        prev_w = c.ci_high - c.ci_low;
                        /* A 99% interval contains the 95% one. */
                        RS_CHECK_INT(rs_stats_pearson(xs, ys, 5 * k, 0.99, &c2),
                                     0);
                        RS_CHECK(c2.ci_low < c.ci_low &&
                                 c2.ci_high > c.ci_high);
                }
        }

        /* Invalid inputs. */
        RS_CHECK_INT(rs_stats_pearson(x, ycst, 5, 0.95, &c), RS_STATS_ECONST);
        check_invalid(&c, 5);
        RS_CHECK_INT(rs_stats_pearson(ycst, y, 5, 0.95, &c), RS_STATS_ECONST);
        check_invalid(&c, 5);
        RS_CHECK_INT(rs_stats_pearson(x, y, 2, 0.95, &c), RS_STATS_EFEW);
        check_invalid(&c, 2);
        RS_CHECK_INT(rs_stats_pearson(x, y, 0, 0.95, &c), RS_STATS_EFEW);
        check_invalid(&c, 0);
        RS_CHECK_INT(rs_stats_pearson(NULL, NULL, 0, 0.95, &c), RS_STATS_EFEW);
        RS_CHECK_INT(rs_stats_pearson(xn, yn, 4, 0.95, &c), RS_STATS_EFEW);
        check_invalid(&c, 2); /* 2 of the 4 pairs have a NaN */
        {
                double xi[] = {1, 2, INFINITY, 4};
                RS_CHECK_INT(rs_stats_pearson(xi, y, 4, 0.95, &c),
                             RS_STATS_EINF);
                RS_CHECK_INT(c.valid, 0);
                xi[2] = -INFINITY;
                RS_CHECK_INT(rs_stats_pearson(y, xi, 4, 0.95, &c),
                             RS_STATS_EINF);
        }
        RS_CHECK_INT(rs_stats_pearson(NULL, y, 5, 0.95, &c), RS_STATS_EINVAL);
        RS_CHECK_INT(c.valid, 0);
        RS_CHECK_INT(rs_stats_pearson(x, y, 5, 0.95, NULL), RS_STATS_EINVAL);

        /* n = 3: valid, but no interval (needs n >= 4). Hand: x = 1,2,3,
         * y = 1,3,2: sxy 1, sxx 2, syy 2, r = 0.5, t = 0.5 sqrt(1/0.75),
         * df 1: p = 1 - 2 atan(t) / pi (closed form). */
        RS_CHECK_INT(
            rs_stats_pearson(x, (const double[]){1, 3, 2}, 3, 0.95, &c), 0);
        RS_CHECK_REL(c.r, 0.5, 1e-15);
        RS_CHECK_REL(c.t, 1 / sqrt(3.0), 1e-15);
        RS_CHECK_REL(c.p_value, 1 - 2 * atan(1 / sqrt(3.0)) / PI, 1e-14);
        RS_CHECK_REL(c.p_value, 2.0 / 3.0, 1e-14); /* atan(1/sqrt3) = pi/6 */
        RS_CHECK(isnan(c.ci_low) && isnan(c.ci_high));
}

static void test_infer(void) {
        rs_stats_corr_t c;
        double          t8 = 2.306004135, rcrit;

        /* mpmath: r = 0.5, n = 28: se = 1/5. */
        RS_CHECK_INT(rs_stats_corr_infer(0.5, 28, 0.95, &c), 0);
        check_corr(&c, 28, 0.5, 2.943920288775949, 0.0067408961377353194,
                   0.15602836252908606, 0.73581847944393758, 1e-13);
        /* Closed form: t = 0.5 sqrt(26 / 0.75). */
        RS_CHECK_REL(c.t, 0.5 * sqrt(26 / 0.75), 1e-15);
        RS_CHECK_INT(rs_stats_corr_infer(0.5, 28, 0.99, &c), 0);
        RS_CHECK_REL(c.ci_low, 0.034127025634202059, 1e-12);
        RS_CHECK_REL(c.ci_high, 0.7873694359039428, 1e-13);

        /* Table: t_{.975,8} = 2.306004135, so r = t / sqrt(8 + t^2) =
         * 0.6319 (the tabled critical r for n = 10) has p = 0.05. */
        rcrit = t8 / sqrt(8 + t8 * t8);
        RS_CHECK_REL(rcrit, 0.6319, 1e-4);
        RS_CHECK_INT(rs_stats_corr_infer(rcrit, 10, 0.95, &c), 0);
        RS_CHECK_REL(c.p_value, 0.05, 1e-8);
        RS_CHECK_REL(c.p_value, 0.050000000015935583, 1e-12); /* mpmath */

        /* |r| = 1: t infinite, p 0, degenerate interval. */
        RS_CHECK_INT(rs_stats_corr_infer(1.0, 10, 0.95, &c), 0);
        RS_CHECK(c.t == INFINITY && c.p_value == 0.0);
        RS_CHECK(c.ci_low == 1.0 && c.ci_high == 1.0);
        RS_CHECK_INT(rs_stats_corr_infer(-1.0, 10, 0.95, &c), 0);
        RS_CHECK(c.t == -INFINITY && c.p_value == 0.0);
        RS_CHECK(c.ci_low == -1.0 && c.ci_high == -1.0);
        /* Near 1 the interval stays inside [-1, 1] and p is tiny. */
        RS_CHECK_INT(rs_stats_corr_infer(1 - 1e-12, 100, 0.95, &c), 0);
        RS_CHECK(c.p_value >= 0 && c.p_value < 1e-300);
        RS_CHECK(c.ci_low < c.r && c.ci_high <= 1.0);

        RS_CHECK_INT(rs_stats_corr_infer(1.5, 10, 0.95, &c), RS_STATS_EINVAL);
        check_invalid(&c, 10);
        RS_CHECK_INT(rs_stats_corr_infer(NAN, 10, 0.95, &c), RS_STATS_EINVAL);
        RS_CHECK_INT(rs_stats_corr_infer(0.3, 2, 0.95, &c), RS_STATS_EFEW);
        check_invalid(&c, 2);
        /* Levels outside (0, 1): no interval, still valid. */
        RS_CHECK_INT(rs_stats_corr_infer(0.3, 10, 1.0, &c), 0);
        RS_CHECK(c.valid == 1 && isnan(c.ci_low) && isnan(c.ci_high));
        RS_CHECK_INT(rs_stats_corr_infer(0.3, 10, NAN, &c), 0);
        RS_CHECK(c.valid == 1 && isnan(c.ci_low));
}

static void test_spearman(void) {
        double          scratch[RS_STATS_SPEARMAN_SCRATCH(16)];
        rs_stats_corr_t c;
        size_t          i;

        /* Hand: ranks of y = 2,4,5,4,5 are 1, 2.5, 4.5, 2.5, 4.5: sxy 7,
         * sxx 10, syy 9, rho = 7 / sqrt(90); p and CI mpmath. */
        {
                static const double x[] = {1, 2, 3, 4, 5},
                                    y[] = {2, 4, 5, 4, 5};
                RS_CHECK_INT(rs_stats_spearman(x, y, 5, 0.95, scratch, &c), 0);
                check_corr(&c, 5, 7 / sqrt(90.0), 1.8935062328016078,
                           0.15461852312844922, -0.41375036692640157,
                           0.98130694110439966, 1e-13);
                RS_CHECK(y[1] == 4 && y[4] == 5); /* input untouched */
        }
        /* Hand, ties: x = 1..10, y ranks 2,1,4.5,4.5,3,7,7,7,9,10: sxy 76,
         * sxx 82.5, syy 80, rho = 76 / sqrt(6600). */
        {
                static const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
                static const double y[] = {2, 1, 4, 4, 3, 7, 7, 7, 9, 10};
                RS_CHECK_INT(rs_stats_spearman(x, y, 10, 0.95, scratch, &c), 0);
                check_corr(&c, 10, 76 / sqrt(6600.0), 7.488502514048628,
                           7.0036216828094938e-5, 0.74422945876526924,
                           0.98496498091208003, 1e-12);
                /* Same on reversed order: ranks do not care. */
                {
                        double xr[10], yr[10];
                        for (i = 0; i < 10; i++) {
                                xr[i] = x[9 - i];
                                yr[i] = y[9 - i];
                        }
                        RS_CHECK_INT(
                            rs_stats_spearman(xr, yr, 10, 0.95, scratch, &c),
                            0);
                        RS_CHECK_REL(c.r, 76 / sqrt(6600.0), 1e-15);
                }
        }
        /* Wikipedia ("Spearman's rank correlation coefficient", IQ and
         * hours of TV): no ties, rho = 1 - 6*194/(10*99) = -29/165,
         * p = 0.627188 (its t-based value; mpmath for more digits). */
        {
                static const double iq[] = {106, 100, 86,  101, 99,
                                            103, 97,  113, 112, 110};
                static const double tv[] = {7,  27, 2,  50, 28,
                                            29, 20, 12, 6,  17};
                RS_CHECK_INT(rs_stats_spearman(iq, tv, 10, 0.95, scratch, &c),
                             0);
                check_corr(&c, 10, -29.0 / 165.0, -0.50497824917583463,
                           0.6271883447764844, -0.72513885580416963,
                           0.51034422964834492, 1e-13);
                RS_CHECK_REL(c.p_value, 0.627188, 1e-6);
        }
        /* Anscombe I: ranks without ties, mpmath sums sxy 90, sxx 110. */
        RS_CHECK_INT(
            rs_stats_spearman(anscombe_x, anscombe_y, 11, 0.95, scratch, &c),
            0);
        RS_CHECK_REL(c.r, 9.0 / 11.0, 1e-15);
        RS_CHECK_REL(c.p_value, 0.0020831448404786923, 1e-12);

        /* Monotone but nonlinear: rho = +-1 exactly in rank terms. */
        {
                double x[16], y[16], z[16];
                for (i = 0; i < 16; i++) {
                        x[i] = (double)((i * 7) % 16);
                        y[i] = exp(x[i]);
                        z[i] = -x[i] * x[i] * x[i];
                }
                RS_CHECK_INT(rs_stats_spearman(x, y, 16, 0.95, scratch, &c), 0);
                RS_CHECK_REL(c.r, 1.0, 1e-15);
                RS_CHECK(c.p_value < 1e-12);
                RS_CHECK_INT(rs_stats_spearman(x, z, 16, 0.95, scratch, &c), 0);
                RS_CHECK_REL(c.r, -1.0, 1e-15);
                /* Pearson is below 1 on the same data. */
                RS_CHECK_INT(rs_stats_pearson(x, y, 16, 0.95, &c), 0);
                RS_CHECK(c.r < 0.9);
        }
        /* NaN pairs skipped, infinite rejected, constant and short
         * invalid. */
        {
                const double nan = NAN;
                double       x[] = {1, nan, 2, 3, 4, 5, 6};
                double       y[] = {2, 1, 4, 5, nan, 4, 5};
                double       k[] = {3, 3, 3, 3, 3, 3, 3};

                RS_CHECK_INT(rs_stats_spearman(x, y, 7, 0.95, scratch, &c), 0);
                RS_CHECK_INT(c.n, 5);
                /* Left: x 1,2,3,5,6 / y 2,4,5,4,5 as the hand case. */
                RS_CHECK_REL(c.r, 7 / sqrt(90.0), 1e-15);
                RS_CHECK_INT(rs_stats_spearman(x, k, 7, 0.95, scratch, &c),
                             RS_STATS_ECONST);
                check_invalid(&c, 6);
                RS_CHECK_INT(rs_stats_spearman(x, y, 3, 0.95, scratch, &c),
                             RS_STATS_EFEW);
                check_invalid(&c, 2);
                y[0] = INFINITY;
                RS_CHECK_INT(rs_stats_spearman(x, y, 7, 0.95, scratch, &c),
                             RS_STATS_EINF);
                RS_CHECK_INT(c.valid, 0);
                RS_CHECK_INT(rs_stats_spearman(x, k, 7, 0.95, NULL, &c),
                             RS_STATS_EINVAL);
        }
}

static void test_robust(void) {
        double       s[16];
        const double nan = NAN;
        double       med;

        /* Hand. */
        RS_CHECK(rs_stats_median((const double[]){3, 1, 2}, 3, s) == 2);
        RS_CHECK(rs_stats_median((const double[]){4, 1, 3, 2}, 4, s) == 2.5);
        RS_CHECK(rs_stats_median((const double[]){7}, 1, s) == 7);
        RS_CHECK(isnan(rs_stats_median(NULL, 0, s)));
        RS_CHECK(isnan(rs_stats_median((const double[]){nan, nan}, 2, s)));
        RS_CHECK(rs_stats_median((const double[]){nan, 5, 1, nan, 3}, 5, s) ==
                 3);
        RS_CHECK(rs_stats_median((const double[]){-1e308, 1e308}, 2, s) == 0);
        RS_CHECK(rs_stats_median((const double[]){1, 2, INFINITY}, 3, s) == 2);

        /* MAD, Wikipedia example: {1,1,2,2,4,6,9}, median 2, absolute
         * deviations {1,1,0,0,2,4,7}, MAD 1. */
        {
                const double v[] = {1, 1, 2, 2, 4, 6, 9};
                RS_CHECK(rs_stats_mad(v, 7, s, &med) == 1 && med == 2);
                RS_CHECK(v[6] == 9); /* input untouched */
        }
        /* Hand, even count: {1,2,3,4,100}+{5}: median 3.5, deviations
         * 2.5,1.5,0.5,0.5,96.5,1.5, MAD 1.5. */
        RS_CHECK(rs_stats_mad((const double[]){1, 2, 3, 4, 100, 5}, 6, s,
                              NULL) == 1.5);
        RS_CHECK(isnan(rs_stats_mad(NULL, 0, s, &med)) && isnan(med));
        RS_CHECK(rs_stats_mad((const double[]){nan, 4, nan}, 3, s, &med) == 0 &&
                 med == 4);
        /* Normal consistency constant: 1 / Phi^-1(0.75) =
         * 1.4826022185056018605 (mpmath), and consistent with the quantile. */
        RS_CHECK_REL(RS_STATS_MAD_NORMAL, 1.4826022185056018605, 1e-16);
        RS_CHECK_REL(RS_STATS_MAD_NORMAL, 1 / rs_stats_normal_quantile(0.75),
                     1e-15);

        /* Quantile type 7, hand: {1,2,3,4}: h = 3q. */
        {
                const double v[] = {4, 2, 1, 3};
                RS_CHECK(rs_stats_quantile(v, 4, 0, s) == 1);
                RS_CHECK(rs_stats_quantile(v, 4, 1, s) == 4);
                RS_CHECK_REL(rs_stats_quantile(v, 4, 0.25, s), 1.75, 1e-15);
                RS_CHECK_REL(rs_stats_quantile(v, 4, 0.9, s), 3.7, 1e-15);
                RS_CHECK(rs_stats_quantile(v, 4, 0.5, s) == 2.5);
                RS_CHECK(isnan(rs_stats_quantile(v, 4, -0.1, s)));
                RS_CHECK(isnan(rs_stats_quantile(v, 4, 1.1, s)));
                RS_CHECK(isnan(rs_stats_quantile(v, 4, nan, s)));
                RS_CHECK(isnan(rs_stats_quantile(v, 0, 0.5, s)));
                RS_CHECK(v[0] == 4);
                RS_CHECK(rs_stats_quantile(v, 1, 0.3, s) == 4);
        }
        /* Sorted variant; ties interpolate to the tie. */
        {
                const double v[] = {1, 2, 2, 2, 10};
                RS_CHECK(rs_stats_quantile_sorted(v, 5, 0.3) == 2);
                RS_CHECK_REL(rs_stats_quantile_sorted(v, 5, 0.95), 8.4, 1e-15);
                RS_CHECK(isnan(rs_stats_quantile_sorted(NULL, 0, 0.5)));
        }
}

int main(void) {
        test_incbeta();
        test_t();
        test_normal();
        test_pearson();
        test_infer();
        test_spearman();
        test_robust();
        return RS_TEST_DONE();
}
