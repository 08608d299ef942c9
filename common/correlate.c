/*
 * correlate: lab vs field correlation and verdict, coverage of RUM traffic by
 * lab profiles, and the lab-field gap signal. The rules are documented in
 * rumstream/correlate.h; the statistics come from rumstream/stats.h.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/correlate.h"

void rs_correlate_conf_defaults(rs_correlate_conf_t *c) {
        if (!c)
                return;
        c->min_points         = 10;
        c->significance       = 0.05;
        c->variance_threshold = 0.30;
        c->ci_level           = 0.95;
}

static int conf_ok(const rs_correlate_conf_t *c) {
        return c->min_points >= 3 && c->significance > 0 &&
               c->significance < 1 && c->variance_threshold >= 0 &&
               isfinite(c->variance_threshold) &&
               (c->ci_level == 0 || (c->ci_level > 0 && c->ci_level < 1));
}

static void corr_invalid(rs_stats_corr_t *s, double ci_level) {
        s->n        = 0;
        s->r        = NAN;
        s->t        = NAN;
        s->p_value  = NAN;
        s->ci_low   = NAN;
        s->ci_high  = NAN;
        s->ci_level = ci_level;
        s->valid    = 0;
}

static void result_invalid(rs_correlate_result_t *out, double ci_level) {
        out->n = 0;
        corr_invalid(&out->pearson, ci_level);
        corr_invalid(&out->spearman, ci_level);
        out->lab_median     = NAN;
        out->field_p75      = NAN;
        out->variance_ratio = NAN;
        out->verdict        = RS_CORRELATE_NOT_ENOUGH_DATA;
        out->correlated     = 0;
}

/* Variance ratio, verdict and `correlated` from n, the correlations and the
 * levels already in r. */
static void decide(const rs_correlate_conf_t *c, rs_correlate_result_t *r) {
        double lab = r->lab_median, field = r->field_p75;

        r->variance_ratio = NAN;
        if (isfinite(lab) && isfinite(field) && lab > 0)
                r->variance_ratio = (field - lab) / lab;

        r->correlated = 0;
        if (r->n < c->min_points || !r->pearson.valid || !r->spearman.valid ||
            isnan(r->variance_ratio)) {
                r->verdict = RS_CORRELATE_NOT_ENOUGH_DATA;
                return;
        }
        if (r->variance_ratio > c->variance_threshold)
                r->verdict = RS_CORRELATE_FIELD_SLOWER;
        else if (r->variance_ratio < -c->variance_threshold)
                r->verdict = RS_CORRELATE_LAB_SLOWER;
        else
                r->verdict = RS_CORRELATE_ALIGNED;
        r->correlated =
            r->spearman.r > 0 && r->spearman.p_value < c->significance;
}

int rs_correlate(const rs_correlate_conf_t *c, const rs_correlate_point_t *pts,
                 size_t n, double *scratch, rs_correlate_result_t *out) {
        rs_correlate_conf_t defaults;
        double             *lab, *field, *tmp;
        size_t              i, m = 0;

        if (!c) {
                rs_correlate_conf_defaults(&defaults);
                c = &defaults;
        }
        if (!out)
                return RS_CORRELATE_EINVAL;
        result_invalid(out, c->ci_level);
        if (!conf_ok(c) || (n > 0 && (!pts || !scratch)))
                return RS_CORRELATE_EINVAL;

        lab   = scratch;
        field = scratch + n;
        tmp   = scratch + 2 * n;
        for (i = 0; i < n; i++) {
                if (isinf(pts[i].lab) || isinf(pts[i].field))
                        return RS_CORRELATE_EINF;
                if (isnan(pts[i].lab) || isnan(pts[i].field))
                        continue;
                lab[m]   = pts[i].lab;
                field[m] = pts[i].field;
                m++;
        }
        out->n = m;
        if (m == 0)
                return 0;

        /* Errors here (too few pairs, a constant series) leave the
         * correlation invalid, which decide() turns into not_enough_data. */
        (void)rs_stats_pearson(lab, field, m, c->ci_level, &out->pearson);
        (void)rs_stats_spearman(lab, field, m, c->ci_level, tmp,
                                &out->spearman);
        out->lab_median = rs_stats_median(lab, m, tmp);
        out->field_p75  = rs_stats_median(field, m, tmp);
        decide(c, out);
        return 0;
}

int rs_correlate_relevel(const rs_correlate_conf_t *c, double lab_median,
                         double field_p75, rs_correlate_result_t *r) {
        rs_correlate_conf_t defaults;

        if (!c) {
                rs_correlate_conf_defaults(&defaults);
                c = &defaults;
        }
        if (!r || !conf_ok(c))
                return RS_CORRELATE_EINVAL;
        r->lab_median = lab_median;
        r->field_p75  = field_p75;
        decide(c, r);
        return 0;
}

double rs_correlate_sketch_p75(const rs_sketch_t *sk) {
        double v;

        if (!sk || rs_sketch_quantile(sk, 0.75, &v) != 0)
                return NAN;
        return v;
}

const char *rs_correlate_verdict_name(rs_correlate_verdict_t v) {
        switch (v) {
        case RS_CORRELATE_NOT_ENOUGH_DATA:
                return "not_enough_data";
        case RS_CORRELATE_ALIGNED:
                return "aligned";
        case RS_CORRELATE_FIELD_SLOWER:
                return "field_slower";
        case RS_CORRELATE_LAB_SLOWER:
                return "lab_slower";
        }
        return "unknown";
}

/* ---- Coverage ---------------------------------------------------------- */

static const char *const seg_type_names[RS_CORRELATE_SEG_CNT] = {
    "device", "connection", "country"};

/* Lab network profile -> RUM connection type it emulates. */
static const struct {
        const char *network, *connection;
} network_map[] = {
    {"cable", "ethernet"}, {"cable", "wifi"},     {"dsl", "ethernet"},
    {"dsl", "wifi"},       {"fiber", "ethernet"}, {"fiber", "wifi"},
    {"lte", "4g"},         {"fast-3g", "3g"},     {"regular-3g", "3g"},
    {"slow-3g", "3g"},     {"edge", "2g"},
};

/* Agent region -> country it runs in. Entries ending in '*' are prefixes. */
static const struct {
        const char *region, *country;
} region_map[] = {
    {"us-*", "US"},           {"ca-central-1", "CA"},
    {"eu-west-1", "IE"},      {"eu-west-2", "GB"},
    {"eu-west-3", "FR"},      {"eu-central-1", "DE"},
    {"eu-north-1", "SE"},     {"eu-south-1", "IT"},
    {"ap-south-1", "IN"},     {"ap-southeast-1", "SG"},
    {"ap-southeast-2", "AU"}, {"ap-southeast-3", "ID"},
    {"ap-northeast-1", "JP"}, {"ap-northeast-2", "KR"},
    {"sa-east-1", "BR"},      {"af-south-1", "ZA"},
    {"mx-central-1", "MX"},
};

#define ARRAY_CNT(a) (sizeof(a) / sizeof((a)[0]))

static int lower(int ch) {
        return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* ASCII case-insensitive equality of the first len bytes (len = (size_t)-1:
 * whole strings). */
static int eq_n(const char *a, const char *b, size_t len) {
        size_t i;

        if (!a || !b)
                return 0;
        for (i = 0; i < len; i++) {
                if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
                        return 0;
                if (!a[i])
                        return 1;
        }
        return 1;
}

static int eq(const char *a, const char *b) {
        return eq_n(a, b, (size_t)-1);
}

static int network_covers(const char *network, const char *connection) {
        size_t i;

        if (eq(network, connection))
                return 1;
        for (i = 0; i < ARRAY_CNT(network_map); i++)
                if (eq(network, network_map[i].network) &&
                    eq(connection, network_map[i].connection))
                        return 1;
        return 0;
}

static int location_covers(const char *location, const char *country) {
        size_t i, len;

        if (!location)
                return 0;
        if (strlen(location) == 2)
                return eq(location, country);
        for (i = 0; i < ARRAY_CNT(region_map); i++) {
                len = strlen(region_map[i].region);
                if (region_map[i].region[len - 1] == '*'
                        ? eq_n(location, region_map[i].region, len - 1)
                        : eq(location, region_map[i].region))
                        return eq(country, region_map[i].country);
        }
        return 0;
}

static int seg_type(const char *type) {
        int t;

        for (t = 0; t < RS_CORRELATE_SEG_CNT; t++)
                if (eq(type, seg_type_names[t]))
                        return t;
        return -1;
}

static int profile_covers(const rs_correlate_profile_t *p, int type,
                          const char *value) {
        switch (type) {
        case RS_CORRELATE_SEG_DEVICE:
                return eq(p->device, value);
        case RS_CORRELATE_SEG_CONNECTION:
                return network_covers(p->network, value);
        case RS_CORRELATE_SEG_COUNTRY:
                return location_covers(p->location, value);
        }
        return 0;
}

int rs_correlate_coverage(const rs_correlate_profile_t *profiles, size_t nprof,
                          rs_correlate_segment_t *segs, size_t nseg,
                          rs_correlate_coverage_t *out) {
        size_t i, j;
        int    t;

        if (out)
                memset(out, 0, sizeof(*out));
        if ((nseg > 0 && !segs) || (nprof > 0 && !profiles))
                return RS_CORRELATE_EINVAL;
        for (i = 0; i < nseg; i++)
                if (!segs[i].value || !isfinite(segs[i].page_views) ||
                    segs[i].page_views < 0)
                        return RS_CORRELATE_EINVAL;

        for (i = 0; i < nseg; i++) {
                t = seg_type(segs[i].type);
                if (t < 0) {
                        segs[i].covered = -1;
                        continue;
                }
                segs[i].covered = 0;
                for (j = 0; j < nprof && !segs[i].covered; j++)
                        segs[i].covered =
                            profile_covers(&profiles[j], t, segs[i].value);
                if (out) {
                        out->page_views[t] += segs[i].page_views;
                        if (!segs[i].covered)
                                out->uncovered[t] += segs[i].page_views;
                }
        }
        if (out)
                for (t = 0; t < RS_CORRELATE_SEG_CNT; t++)
                        out->uncovered_share[t] =
                            out->page_views[t] > 0
                                ? out->uncovered[t] / out->page_views[t]
                                : 0;
        return 0;
}

/* 1 if segment a comes before segment b: larger page views (same type, so
 * same total), then earlier in the input. */
static int before(const rs_correlate_segment_t *segs, size_t a, size_t b) {
        if (segs[a].page_views != segs[b].page_views)
                return segs[a].page_views > segs[b].page_views;
        return a < b;
}

size_t rs_correlate_recommend(const rs_correlate_segment_t *segs, size_t nseg,
                              double min_share, char *buf, size_t size) {
        static const char *const tails[RS_CORRELATE_SEG_CNT] = {
            "no synthetic profile is", "no synthetic profile emulates",
            "no synthetic location is in"};
        size_t len = 0, i, best, prev;
        double total;
        int    t, w, have_prev;

        if (buf && size > 0)
                buf[0] = '\0';
        if (!segs)
                return 0;
        for (t = 0; t < RS_CORRELATE_SEG_CNT; t++) {
                total = 0;
                for (i = 0; i < nseg; i++)
                        if (seg_type(segs[i].type) == t)
                                total += segs[i].page_views;
                if (!(total > 0))
                        continue;
                /* Selection in (share desc, index asc) order: each round
                 * takes the first segment after the previous one. O(nseg^2)
                 * for a few dozen segments, and no allocation. */
                have_prev = 0;
                prev      = 0;
                for (;;) {
                        best = nseg;
                        for (i = 0; i < nseg; i++) {
                                if (seg_type(segs[i].type) != t ||
                                    segs[i].covered != 0 ||
                                    segs[i].page_views / total < min_share)
                                        continue;
                                if (have_prev && !before(segs, prev, i))
                                        continue;
                                if (best == nseg || before(segs, i, best))
                                        best = i;
                        }
                        if (best == nseg)
                                break;
                        w = snprintf(
                            buf && len < size ? buf + len : NULL,
                            buf && len < size ? size - len : 0,
                            "%s%s traffic is %.0f%% of page views but %s %s",
                            len > 0 ? "\n" : "", segs[best].value,
                            100 * segs[best].page_views / total, tails[t],
                            segs[best].value);
                        if (w > 0)
                                len += (size_t)w;
                        prev      = best;
                        have_prev = 1;
                }
        }
        return len;
}

/* ---- Lab-field gap ----------------------------------------------------- */

void rs_correlate_gap_conf_defaults(rs_correlate_gap_conf_t *c) {
        if (!c)
                return;
        c->recent       = 4;
        c->baseline_min = 8;
        c->z_threshold  = 3.5;
        c->sigma_floor  = 0.02;
}

static size_t usable(const double *v, size_t n) {
        size_t i, m = 0;

        for (i = 0; i < n; i++)
                m += !isnan(v[i]);
        return m;
}

/* Robust z of the recent median against the baseline median and MAD. */
static double robust_z(double base_med, double base_mad, double recent_med,
                       double sigma_min) {
        double sigma = RS_STATS_MAD_NORMAL * base_mad,
               d     = recent_med - base_med;

        if (sigma < sigma_min)
                sigma = sigma_min;
        if (sigma > 0)
                return d / sigma;
        return d == 0 ? 0 : copysign(INFINITY, d);
}

int rs_correlate_gap(const rs_correlate_gap_conf_t *c, const double *lab,
                     const double *field, size_t n, double *scratch,
                     rs_correlate_gap_t *out) {
        rs_correlate_gap_conf_t defaults;
        double *gap, *tmp, lab_med, lab_mad, field_med, field_mad, gap_mad;
        double  lab_rec, field_rec, level, sigma_min;
        size_t  i, nb;

        if (!c) {
                rs_correlate_gap_conf_defaults(&defaults);
                c = &defaults;
        }
        if (!out)
                return RS_CORRELATE_EINVAL;
        memset(out, 0, sizeof(*out));
        out->gap_baseline = out->gap_recent = NAN;
        out->gap_z = out->lab_z = out->field_z = NAN;
        out->cause                             = RS_CORRELATE_CAUSE_NONE;
        if (c->recent < 1 || c->baseline_min < 1 || !(c->z_threshold > 0) ||
            !(c->sigma_floor >= 0) || !isfinite(c->z_threshold) ||
            !isfinite(c->sigma_floor) ||
            (n > 0 && (!lab || !field || !scratch)))
                return RS_CORRELATE_EINVAL;
        for (i = 0; i < n; i++)
                if (isinf(lab[i]) || isinf(field[i]))
                        return RS_CORRELATE_EINF;
        if (n <= c->recent)
                return RS_CORRELATE_EFEW;

        nb  = n - c->recent;
        gap = scratch;
        tmp = scratch + n;
        for (i = 0; i < n; i++)
                gap[i] = field[i] - lab[i]; /* NaN if either is */
        if (usable(lab, nb) < c->baseline_min ||
            usable(field, nb) < c->baseline_min ||
            usable(gap, nb) < c->baseline_min ||
            usable(gap + nb, c->recent) < 1 ||
            usable(lab + nb, c->recent) < 1 ||
            usable(field + nb, c->recent) < 1)
                return RS_CORRELATE_EFEW;

        lab_mad         = rs_stats_mad(lab, nb, tmp, &lab_med);
        field_mad       = rs_stats_mad(field, nb, tmp, &field_med);
        gap_mad         = rs_stats_mad(gap, nb, tmp, &out->gap_baseline);
        lab_rec         = rs_stats_median(lab + nb, c->recent, tmp);
        field_rec       = rs_stats_median(field + nb, c->recent, tmp);
        out->gap_recent = rs_stats_median(gap + nb, c->recent, tmp);

        level        = fmax(fabs(lab_med), fabs(field_med));
        sigma_min    = c->sigma_floor * level;
        out->lab_z   = robust_z(lab_med, lab_mad, lab_rec, sigma_min);
        out->field_z = robust_z(field_med, field_mad, field_rec, sigma_min);
        out->gap_z =
            robust_z(out->gap_baseline, gap_mad, out->gap_recent, sigma_min);

        out->lab_moved   = fabs(out->lab_z) > c->z_threshold;
        out->field_moved = fabs(out->field_z) > c->z_threshold;
        out->widened     = fabs(out->gap_z) > c->z_threshold;
        if (!out->lab_moved)
                out->cause = out->field_moved || out->widened
                                 ? RS_CORRELATE_CAUSE_FIELD_ONLY
                                 : RS_CORRELATE_CAUSE_NONE;
        else
                out->cause = out->field_moved ? RS_CORRELATE_CAUSE_BOTH
                                              : RS_CORRELATE_CAUSE_LAB_FIRST;
        out->early_warning = out->cause == RS_CORRELATE_CAUSE_LAB_FIRST;
        out->valid         = 1;
        return 0;
}

const char *rs_correlate_cause_name(rs_correlate_cause_t cause) {
        switch (cause) {
        case RS_CORRELATE_CAUSE_NONE:
                return "none";
        case RS_CORRELATE_CAUSE_FIELD_ONLY:
                return "field_only";
        case RS_CORRELATE_CAUSE_LAB_FIRST:
                return "lab_first";
        case RS_CORRELATE_CAUSE_BOTH:
                return "both";
        }
        return "unknown";
}
