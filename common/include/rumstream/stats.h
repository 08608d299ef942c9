/*
 * stats: correlation and robust summary statistics, for the
 * synthetic-correlator (does a lab value move with the field p75 of the same
 * route, device class and vital across time buckets?) and for detectors.
 *
 * Correlation. Pearson's r is computed in two passes (means, then centred
 * sums of products), on values scaled by a power of two so that no square
 * overflows or underflows and the scaling itself is exact; r is clamped to
 * [-1, 1]. Spearman's rho is Pearson's r of the ranks, ties getting the
 * average of the ranks they span; a value's rank is found by binary search
 * in a sorted copy, so no index array is needed and the cost is O(n log n).
 *
 * Inference, for H0: rho = 0. t = r * sqrt((n - 2) / (1 - r^2)) follows
 * Student's t with n - 2 degrees of freedom when the pairs are independent
 * and bivariate normal; the two-sided p-value is P(|T| >= |t|) =
 * I_{df/(df+t^2)}(df/2, 1/2), where I is the regularized incomplete beta
 * function. For Spearman this is the usual large-sample approximation, not
 * the exact permutation distribution (it is conservative enough from n ~ 10).
 * The confidence interval is Fisher's: z = atanh(r) is about normal with
 * standard error 1/sqrt(n - 3), so tanh(z -+ z_{(1+level)/2} / sqrt(n - 3))
 * bounds rho. Spearman uses the same standard error (an approximation that
 * is slightly narrow: Fieller et al. 1957 suggest 1.06 / sqrt(n - 3)).
 *
 * Special functions, with libm's lgamma, erfc and log1p only:
 * - I_x(a, b) by the continued fraction of Numerical Recipes' betacf,
 *   evaluated with the modified Lentz method, on the side of the symmetry
 *   I_x(a, b) = 1 - I_{1-x}(b, a) where it converges fast. The prefactor
 *   x^a (1-x)^b / B(a, b) takes -log B from lgamma, or when a or b is 100
 *   or more from Stirling's form of lgamma(a + b) - lgamma(a), which does
 *   not cancel. Relative error about 1e-14 for a, b up to a few hundred.
 * - Student t distribution from I, with x and 1 - x formed separately so
 *   that tails stay relative-accurate for |t| up to 1e150 and beyond:
 *   about 1e-14 for df <= 1000, 1e-12 at df = 1e6, 1e-10 at 1e8 (the
 *   continued fraction's 1 - x terms cancel as df grows); df = +inf is the
 *   normal distribution.
 * - Normal quantile by Acklam's rational approximation (relative error
 *   1.15e-9) polished by one Halley step on erfc: about 1e-15.
 *
 * Missing data. A pair where either value is NaN is skipped (a time bucket
 * without a lab or a field value); an infinite value is an error. The robust
 * helpers (median, MAD, quantile) likewise ignore NaN values and order
 * infinite ones normally. Nothing here allocates: functions that need to sort
 * take caller scratch, and never modify their inputs.
 */
#ifndef RS_STATS_H
#define RS_STATS_H

#include <stddef.h>

/* Return codes of rs_stats_pearson() and friends. */
#define RS_STATS_EFEW   (-1) /**< fewer than 3 usable (non-NaN) pairs */
#define RS_STATS_ECONST (-2) /**< a series is constant: r undefined */
#define RS_STATS_EINF   (-3) /**< an infinite value in the input */
#define RS_STATS_EINVAL (-4) /**< NULL pointer where data was needed, bad r */

/** Scale factor that makes the MAD a consistent estimator of the standard
 *  deviation of normal data: 1 / Phi^-1(3/4). */
#define RS_STATS_MAD_NORMAL 1.4826022185056018

/** Doubles of scratch rs_stats_spearman() needs for \p n pairs. */
#define RS_STATS_SPEARMAN_SCRATCH(n) (3 * (size_t)(n))

/** A correlation and its inference. When valid is 0 every double field
 *  but ci_level is NaN and n says how many pairs were usable (0 after
 *  RS_STATS_EINF or a NULL input, which stop the count). */
typedef struct rs_stats_corr_s {
        size_t n;        /**< pairs used (NaN pairs skipped) */
        double r;        /**< Pearson r or Spearman rho, in [-1, 1] */
        double t;        /**< r * sqrt((n-2)/(1-r^2)); +-inf when |r| = 1 */
        double p_value;  /**< two-sided, H0: rho = 0; 0 when |r| = 1 */
        double ci_low;   /**< Fisher-z interval; NaN when n < 4 or no */
        double ci_high;  /**< level asked; [r, r] when |r| = 1 */
        double ci_level; /**< the level asked, e.g. 0.95 */
        int    valid;    /**< 1 when r, t and p_value are set */
} rs_stats_corr_t;

/** @brief Pearson correlation of the pairs (x[i], y[i]), i < n, skipping
 *         pairs with a NaN, with t, p-value and a \p ci_level confidence
 *         interval (pass 0 for none; any level outside (0, 1) gives none).
 *  @returns 0 with out->valid = 1, or a negative RS_STATS_E* code with
 *           out->valid = 0 (out is always filled unless it is NULL). */
int rs_stats_pearson(const double *x, const double *y, size_t n,
                     double ci_level, rs_stats_corr_t *out);

/** @brief Spearman rank correlation (average ranks for ties), otherwise as
 *         rs_stats_pearson(). A series is constant when all its usable
 *         values are equal.
 *  @param scratch RS_STATS_SPEARMAN_SCRATCH(n) doubles, owned by the caller
 *         and overwritten; x and y are not modified.
 *  @returns as rs_stats_pearson(). */
int rs_stats_spearman(const double *x, const double *y, size_t n,
                      double ci_level, double *scratch, rs_stats_corr_t *out);

/** @brief Fills t, p-value and confidence interval in \p out for a
 *         correlation \p r of \p n pairs (for a caller with its own r).
 *  @returns 0, or RS_STATS_EFEW when n < 3, or RS_STATS_EINVAL when r is
 *           NaN or outside [-1, 1] (then out->valid = 0). */
int rs_stats_corr_infer(double r, size_t n, double ci_level,
                        rs_stats_corr_t *out);

/** @brief Regularized incomplete beta function I_x(a, b).
 *  @returns 0 for x <= 0, 1 for x >= 1, NaN if a or b is not > 0 or any
 *           argument is NaN. */
double rs_stats_incbeta(double a, double b, double x);

/** @brief Student t CDF P(T <= t) with \p df > 0 degrees of freedom
 *         (df = +inf gives the normal). NaN for df <= 0 or NaN arguments.
 *         Relative-accurate for t < 0; for the upper tail use
 *         rs_stats_t_sf(). */
double rs_stats_t_cdf(double t, double df);
/** @brief Survival function P(T > t) = rs_stats_t_cdf(-t, df). */
double rs_stats_t_sf(double t, double df);
/** @brief Two-sided tail P(|T| >= |t|), the p-value of a t statistic. */
double rs_stats_t_sf2(double t, double df);

/** @brief Standard normal CDF P(Z <= z), from erfc (relative-accurate in
 *         the lower tail). */
double rs_stats_normal_cdf(double z);
/** @brief Standard normal quantile: z with P(Z <= z) = p.
 *  @returns -inf for p = 0, +inf for p = 1, NaN outside [0, 1]. */
double rs_stats_normal_quantile(double p);

/** @brief Median of the non-NaN values of v[0..n).
 *  @param scratch n doubles, caller-owned, overwritten.
 *  @returns the median (mean of the middle two for an even count), or NaN
 *           when there is no non-NaN value. */
double rs_stats_median(const double *v, size_t n, double *scratch);

/** @brief Median absolute deviation median(|v[i] - median(v)|), raw
 *         (multiply by RS_STATS_MAD_NORMAL to estimate a sigma).
 *  @param scratch n doubles, caller-owned, overwritten.
 *  @param median if not NULL, receives the median.
 *  @returns the MAD, or NaN when there is no non-NaN value (or the median
 *           is infinite). */
double rs_stats_mad(const double *v, size_t n, double *scratch, double *median);

/** @brief Quantile \p q in [0, 1] of the non-NaN values with linear
 *         interpolation between order statistics (Hyndman and Fan's type
 *         7, the default of R and NumPy): h = q (m - 1), value s[floor h] +
 *         frac(h) (s[floor h + 1] - s[floor h]) over the m sorted values.
 *  @param scratch n doubles, caller-owned, overwritten.
 *  @returns the quantile, or NaN when q is outside [0, 1] or there is no
 *           non-NaN value. */
double rs_stats_quantile(const double *v, size_t n, double q, double *scratch);

/** @brief As rs_stats_quantile() on \p sorted, already ascending and free of
 *         NaN (several quantiles of one sort). */
double rs_stats_quantile_sorted(const double *sorted, size_t n, double q);

#endif
