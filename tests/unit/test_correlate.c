/*
 * correlate: verdicts on synthetic lab/field streams from a seeded PRNG
 * (splitmix64 + Box-Muller, so every run sees the same numbers), the
 * false-positive rate of the correlation test on independent noise,
 * coverage of traffic mixes (also with the synthetic generator's own
 * profile names) and the gap signal.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/correlate.h"
#include "rumstream/sketch.h"
#include "rumstream/traffic.h"

#define PI 3.14159265358979323846

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define NPTS 48 /* two "days" of 24 buckets */

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

/* Daily-ish shape: +-30% around 1 with a 24-bucket period. */
static double shape(size_t i) {
        return 1 + 0.3 * sin(2 * PI * (double)i / 24);
}

/* lab[i] = lab_level * shape(i) * noise, field likewise; anti = 1 mirrors
 * the field's shape. Noise is 3% (sigma) multiplicative. */
static void make_points(rs_correlate_point_t *pts, size_t n, uint64_t seed,
                        double lab_level, double field_level, int anti) {
        size_t i;

        rng_state = seed;
        for (i = 0; i < n; i++) {
                double s = shape(i);

                pts[i].bucket_ms = (int64_t)i * 3600000;
                pts[i].lab       = lab_level * s * (1 + 0.03 * gauss());
                pts[i].field =
                    field_level * (anti ? 2 - s : s) * (1 + 0.03 * gauss());
        }
}

static void make_noise(rs_correlate_point_t *pts, size_t n, uint64_t seed) {
        size_t i;

        rng_state = seed;
        for (i = 0; i < n; i++) {
                pts[i].bucket_ms = (int64_t)i * 3600000;
                pts[i].lab       = 2000 * (1 + 0.1 * gauss());
                pts[i].field     = 2000 * (1 + 0.1 * gauss());
        }
}

static void test_correlated(void) {
        rs_correlate_point_t  pts[NPTS];
        double                scratch[RS_CORRELATE_SCRATCH(NPTS)];
        rs_correlate_result_t r;

        /* Same level: aligned and correlated. */
        make_points(pts, NPTS, 1, 2000, 2000, 0);
        RS_CHECK_INT(rs_correlate(NULL, pts, NPTS, scratch, &r), 0);
        RS_CHECK_INT(r.n, NPTS);
        RS_CHECK(r.pearson.valid && r.spearman.valid);
        RS_CHECK_MSG(r.spearman.r > 0.8, "rho %g", r.spearman.r);
        RS_CHECK_MSG(r.pearson.r > 0.8, "r %g", r.pearson.r);
        RS_CHECK(r.spearman.p_value < 1e-6);
        RS_CHECK(r.pearson.p_value < 1e-6);
        RS_CHECK(r.spearman.ci_level == 0.95);
        RS_CHECK(r.spearman.ci_low > 0.5 && r.spearman.ci_low < r.spearman.r);
        RS_CHECK(r.spearman.ci_high > r.spearman.r && r.spearman.ci_high < 1);
        RS_CHECK(r.correlated == 1);
        RS_CHECK_MSG(fabs(r.variance_ratio) < 0.1, "ratio %g",
                     r.variance_ratio);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_ALIGNED);
        RS_CHECK_STR(rs_correlate_verdict_name(r.verdict), "aligned");
        /* The levels are the medians of the usable values. */
        RS_CHECK(r.lab_median > 1800 && r.lab_median < 2200);
        RS_CHECK(r.field_p75 > 1800 && r.field_p75 < 2200);
        RS_CHECK_REL(r.variance_ratio,
                     (r.field_p75 - r.lab_median) / r.lab_median, 1e-15);

        /* Field 50% slower. */
        make_points(pts, NPTS, 2, 2000, 3000, 0);
        RS_CHECK_INT(rs_correlate(NULL, pts, NPTS, scratch, &r), 0);
        RS_CHECK(r.correlated == 1);
        RS_CHECK_MSG(fabs(r.variance_ratio - 0.5) < 0.1, "ratio %g",
                     r.variance_ratio);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_FIELD_SLOWER);
        RS_CHECK_STR(rs_correlate_verdict_name(r.verdict), "field_slower");

        /* Lab twice as slow as the field: ratio about -0.5. */
        make_points(pts, NPTS, 3, 4000, 2000, 0);
        RS_CHECK_INT(rs_correlate(NULL, pts, NPTS, scratch, &r), 0);
        RS_CHECK(r.correlated == 1);
        RS_CHECK_MSG(fabs(r.variance_ratio + 0.5) < 0.1, "ratio %g",
                     r.variance_ratio);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_LAB_SLOWER);
        RS_CHECK_STR(rs_correlate_verdict_name(r.verdict), "lab_slower");
}

static void test_anticorrelated(void) {
        rs_correlate_point_t  pts[NPTS];
        double                scratch[RS_CORRELATE_SCRATCH(NPTS)];
        rs_correlate_result_t r;

        make_points(pts, NPTS, 4, 2000, 2000, 1);
        RS_CHECK_INT(rs_correlate(NULL, pts, NPTS, scratch, &r), 0);
        RS_CHECK_MSG(r.spearman.r < -0.8, "rho %g", r.spearman.r);
        RS_CHECK_MSG(r.pearson.r < -0.8, "r %g", r.pearson.r);
        RS_CHECK(r.spearman.p_value < 1e-6);
        RS_CHECK(r.spearman.ci_high < -0.5);
        RS_CHECK(r.correlated == 0);
        /* Same level, so the level verdict is still aligned. */
        RS_CHECK_INT(r.verdict, RS_CORRELATE_ALIGNED);
}

static void test_unrelated(void) {
        enum { N = 30, TRIALS = 2000 };
        rs_correlate_point_t  pts[N];
        double                scratch[RS_CORRELATE_SCRATCH(N)];
        rs_correlate_result_t r;
        int                   sig_s = 0, sig_p = 0, corr = 0, t;

        /* Seed 42, n = 30: rho is small and p well above 0.05. */
        make_noise(pts, N, 42);
        RS_CHECK_INT(rs_correlate(NULL, pts, N, scratch, &r), 0);
        RS_CHECK(r.spearman.valid);
        RS_CHECK_MSG(r.spearman.p_value > 0.05, "p %g (rho %g)",
                     r.spearman.p_value, r.spearman.r);
        RS_CHECK_MSG(r.pearson.p_value > 0.05, "p %g (r %g)", r.pearson.p_value,
                     r.pearson.r);
        RS_CHECK(r.correlated == 0);
        RS_CHECK(r.spearman.ci_low < 0 && r.spearman.ci_high > 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_ALIGNED);

        /* False positives over 2000 independent trials: the two-sided test
         * at 0.05 should fire about 5% of the time (accept 2.5%..10%),
         * `correlated` (one side) about 2.5% (accept <= 5%). */
        for (t = 0; t < TRIALS; t++) {
                make_noise(pts, N, 1000 + (uint64_t)t);
                if (rs_correlate(NULL, pts, N, scratch, &r) != 0)
                        continue;
                sig_s += r.spearman.p_value < 0.05;
                sig_p += r.pearson.p_value < 0.05;
                corr += r.correlated;
        }
        RS_CHECK_MSG(sig_s >= TRIALS / 40 && sig_s <= TRIALS / 10,
                     "spearman false positives %d / %d", sig_s, TRIALS);
        RS_CHECK_MSG(sig_p >= TRIALS / 40 && sig_p <= TRIALS / 10,
                     "pearson false positives %d / %d", sig_p, TRIALS);
        RS_CHECK_MSG(corr <= TRIALS / 20, "correlated %d / %d", corr, TRIALS);
}

static void test_not_enough(void) {
        rs_correlate_point_t  pts[NPTS];
        double                scratch[RS_CORRELATE_SCRATCH(NPTS)];
        rs_correlate_result_t r;
        rs_correlate_conf_t   conf;
        size_t                i;

        rs_correlate_conf_defaults(&conf);
        RS_CHECK_INT(conf.min_points, 10);
        RS_CHECK(conf.significance == 0.05);
        RS_CHECK(conf.variance_threshold == 0.30);
        RS_CHECK(conf.ci_level == 0.95);

        /* 9 strongly correlated points: below min_points. */
        make_points(pts, 9, 5, 2000, 3000, 0);
        RS_CHECK_INT(rs_correlate(&conf, pts, 9, scratch, &r), 0);
        RS_CHECK_INT(r.n, 9);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        RS_CHECK_STR(rs_correlate_verdict_name(r.verdict), "not_enough_data");
        RS_CHECK(r.correlated == 0);
        RS_CHECK(r.pearson.valid); /* still reported */
        RS_CHECK(isfinite(r.variance_ratio));

        /* 12 points, 3 with a NaN (either side): 9 usable. */
        make_points(pts, 12, 5, 2000, 3000, 0);
        pts[2].lab   = NAN;
        pts[5].field = NAN;
        pts[9].lab   = NAN;
        pts[9].field = NAN;
        RS_CHECK_INT(rs_correlate(&conf, pts, 12, scratch, &r), 0);
        RS_CHECK_INT(r.n, 9);
        RS_CHECK_INT(r.spearman.n, 9);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        conf.min_points = 9;
        RS_CHECK_INT(rs_correlate(&conf, pts, 12, scratch, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_FIELD_SLOWER);
        /* pts is not modified. */
        RS_CHECK(isnan(pts[2].lab) && isnan(pts[5].field));
        conf.min_points = 10;

        /* Constant lab series: correlation undefined; levels still set. */
        make_points(pts, NPTS, 6, 2000, 2000, 0);
        for (i = 0; i < NPTS; i++)
                pts[i].lab = 1500;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r), 0);
        RS_CHECK_INT(r.n, NPTS);
        RS_CHECK(!r.pearson.valid && !r.spearman.valid);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        RS_CHECK(r.lab_median == 1500);
        RS_CHECK(isfinite(r.variance_ratio) && r.variance_ratio > 0.3);
        /* Constant field series. */
        make_points(pts, NPTS, 6, 2000, 2000, 0);
        for (i = 0; i < NPTS; i++)
                pts[i].field = 2100;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);

        /* Lab median 0 (e.g. CLS): ratio undefined. */
        make_points(pts, NPTS, 7, 2000, 2000, 0);
        for (i = 0; i < NPTS; i++)
                pts[i].lab = i % 4 == 0 ? 0.05 : 0;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r), 0);
        RS_CHECK(r.lab_median == 0);
        RS_CHECK(isnan(r.variance_ratio));
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);

        /* All NaN, and none. */
        for (i = 0; i < NPTS; i++)
                pts[i].lab = NAN;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r), 0);
        RS_CHECK_INT(r.n, 0);
        RS_CHECK(isnan(r.lab_median) && isnan(r.field_p75));
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        RS_CHECK_INT(rs_correlate(&conf, NULL, 0, NULL, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);

        /* Errors. */
        make_points(pts, NPTS, 8, 2000, 2000, 0);
        pts[3].field = INFINITY;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r),
                     RS_CORRELATE_EINF);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        RS_CHECK(isnan(r.variance_ratio));
        pts[3].field = 2000;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, NULL, &r),
                     RS_CORRELATE_EINVAL);
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, NULL),
                     RS_CORRELATE_EINVAL);
        conf.min_points = 2;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r),
                     RS_CORRELATE_EINVAL);
        rs_correlate_conf_defaults(&conf);
        conf.significance = 1;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r),
                     RS_CORRELATE_EINVAL);
        rs_correlate_conf_defaults(&conf);
        conf.variance_threshold = NAN;
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r),
                     RS_CORRELATE_EINVAL);
        rs_correlate_conf_defaults(&conf);
        conf.ci_level = 0; /* no interval */
        RS_CHECK_INT(rs_correlate(&conf, pts, NPTS, scratch, &r), 0);
        RS_CHECK(r.spearman.valid && isnan(r.spearman.ci_low));
        RS_CHECK_STR(rs_correlate_verdict_name((rs_correlate_verdict_t)42),
                     "unknown");
}

static void test_relevel(void) {
        rs_correlate_point_t  pts[NPTS];
        double                scratch[RS_CORRELATE_SCRATCH(NPTS)];
        rs_correlate_result_t r;
        rs_sketch_t          *sk, *all;
        int                   i;

        make_points(pts, NPTS, 9, 2000, 2000, 0);
        RS_CHECK_INT(rs_correlate(NULL, pts, NPTS, scratch, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_ALIGNED);
        RS_CHECK_INT(rs_correlate_relevel(NULL, 1000, 1500, &r), 0);
        RS_CHECK(r.lab_median == 1000 && r.field_p75 == 1500);
        RS_CHECK(r.variance_ratio == 0.5);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_FIELD_SLOWER);
        RS_CHECK(r.correlated == 1);
        RS_CHECK_INT(rs_correlate_relevel(NULL, 1000, 1300, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_ALIGNED); /* 0.3 is not > 0.3 */
        RS_CHECK_INT(rs_correlate_relevel(NULL, 1000, 600, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_LAB_SLOWER);
        RS_CHECK_INT(rs_correlate_relevel(NULL, 0, 600, &r), 0);
        RS_CHECK_INT(r.verdict, RS_CORRELATE_NOT_ENOUGH_DATA);
        RS_CHECK(r.correlated == 0);
        RS_CHECK_INT(rs_correlate_relevel(NULL, 1, 1, NULL),
                     RS_CORRELATE_EINVAL);

        /* Field values from sketches: p75 of 1..100 is 75.25. */
        sk  = rs_sketch_new(0.01);
        all = rs_sketch_new(0.01);
        RS_CHECK(sk && all);
        if (sk && all) {
                RS_CHECK(isnan(rs_correlate_sketch_p75(sk)));
                for (i = 1; i <= 100; i++)
                        RS_CHECK(rs_sketch_add(sk, i, 1) == 0);
                RS_CHECK_REL(rs_correlate_sketch_p75(sk), 75.25, 0.02);
                RS_CHECK(rs_sketch_merge(all, sk) == 0);
                RS_CHECK(rs_sketch_merge(all, sk) == 0);
                RS_CHECK_REL(rs_correlate_sketch_p75(all), 75.25, 0.02);
        }
        RS_CHECK(isnan(rs_correlate_sketch_p75(NULL)));
        rs_sketch_destroy(sk);
        rs_sketch_destroy(all);
}

static void test_coverage(void) {
        rs_correlate_segment_t segs[] = {
            {"device", "mobile", 640, -7},
            {"device", "desktop", 360, -7},
            {"connection", "4g", 400, -7},
            {"connection", "wifi", 350, -7},
            {"connection", "ethernet", 150, -7},
            {"connection", "3g", 100, -7},
            {"country", "US", 500, -7},
            {"country", "IN", 300, -7},
            {"country", "DE", 200, -7},
            {"browser", "chrome", 900, -7},
        };
        rs_correlate_profile_t desktop[] = {{"desktop", "cable", "us-east-1"}};
        rs_correlate_profile_t full[]    = {
               {"desktop", "cable", "us-east-1"},
               {"Mobile", "4g", "eu-central-1"},
               {"mobile", "slow-3g", "ap-south-1"},
        };
        rs_correlate_coverage_t cov;
        char                    buf[1024], small[10];
        size_t                  len;

        RS_CHECK_INT(rs_correlate_coverage(desktop, NELEM(desktop), segs,
                                           NELEM(segs), &cov),
                     0);
        RS_CHECK_INT(segs[0].covered, 0);
        RS_CHECK_INT(segs[1].covered, 1);
        RS_CHECK_INT(segs[2].covered, 0);
        RS_CHECK_INT(segs[3].covered, 1); /* cable covers wifi */
        RS_CHECK_INT(segs[4].covered, 1); /* and ethernet */
        RS_CHECK_INT(segs[5].covered, 0);
        RS_CHECK_INT(segs[6].covered, 1); /* us-east-1 runs in the US */
        RS_CHECK_INT(segs[7].covered, 0);
        RS_CHECK_INT(segs[8].covered, 0);
        RS_CHECK_INT(segs[9].covered, -1); /* unknown type */
        RS_CHECK_REL(cov.uncovered_share[RS_CORRELATE_SEG_DEVICE], 0.64, 1e-15);
        RS_CHECK_REL(cov.uncovered_share[RS_CORRELATE_SEG_CONNECTION], 0.5,
                     1e-15);
        RS_CHECK_REL(cov.uncovered_share[RS_CORRELATE_SEG_COUNTRY], 0.5, 1e-15);
        RS_CHECK(cov.page_views[RS_CORRELATE_SEG_DEVICE] == 1000);
        RS_CHECK(cov.uncovered[RS_CORRELATE_SEG_DEVICE] == 640);

        /* Device segments only: the exact sentence. */
        len = rs_correlate_recommend(segs, 2, 0.05, buf, sizeof(buf));
        RS_CHECK_STR(buf, "mobile traffic is 64% of page views but no "
                          "synthetic profile is mobile");
        RS_CHECK_INT(len, strlen(buf));

        /* All segments, ordered by type then share. */
        len = rs_correlate_recommend(segs, NELEM(segs), 0.05, buf, sizeof(buf));
        RS_CHECK_STR(buf,
                     "mobile traffic is 64% of page views but no synthetic "
                     "profile is mobile\n"
                     "4g traffic is 40% of page views but no synthetic "
                     "profile emulates 4g\n"
                     "3g traffic is 10% of page views but no synthetic "
                     "profile emulates 3g\n"
                     "IN traffic is 30% of page views but no synthetic "
                     "location is in IN\n"
                     "DE traffic is 20% of page views but no synthetic "
                     "location is in DE");
        RS_CHECK_INT(len, strlen(buf));
        /* min_share drops the small ones. */
        rs_correlate_recommend(segs, NELEM(segs), 0.35, buf, sizeof(buf));
        RS_CHECK_STR(buf, "mobile traffic is 64% of page views but no "
                          "synthetic profile is mobile\n"
                          "4g traffic is 40% of page views but no "
                          "synthetic profile emulates 4g");
        /* Truncation as snprintf. */
        RS_CHECK_INT(rs_correlate_recommend(segs, 2, 0, small, sizeof(small)),
                     strlen("mobile traffic is 64% of page views but no "
                            "synthetic profile is mobile"));
        RS_CHECK_STR(small, "mobile tr");
        RS_CHECK_INT(rs_correlate_recommend(segs, 2, 0, NULL, 0), 70);

        /* Full coverage: nothing to say. */
        RS_CHECK_INT(
            rs_correlate_coverage(full, NELEM(full), segs, NELEM(segs), &cov),
            0);
        RS_CHECK(cov.uncovered_share[RS_CORRELATE_SEG_DEVICE] == 0);
        RS_CHECK(cov.uncovered_share[RS_CORRELATE_SEG_CONNECTION] == 0);
        RS_CHECK(cov.uncovered_share[RS_CORRELATE_SEG_COUNTRY] == 0);
        strcpy(buf, "x");
        RS_CHECK_INT(
            rs_correlate_recommend(segs, NELEM(segs), 0, buf, sizeof(buf)), 0);
        RS_CHECK_STR(buf, "");

        /* No profile at all: everything uncovered; no segment: share 0. */
        RS_CHECK_INT(rs_correlate_coverage(NULL, 0, segs, NELEM(segs), &cov),
                     0);
        RS_CHECK(cov.uncovered_share[RS_CORRELATE_SEG_COUNTRY] == 1);
        RS_CHECK_INT(rs_correlate_coverage(full, NELEM(full), NULL, 0, &cov),
                     0);
        RS_CHECK(cov.uncovered_share[RS_CORRELATE_SEG_DEVICE] == 0);

        /* Bad input. */
        segs[0].page_views = -1;
        RS_CHECK_INT(
            rs_correlate_coverage(full, NELEM(full), segs, NELEM(segs), &cov),
            RS_CORRELATE_EINVAL);
        segs[0].page_views = 640;
        RS_CHECK_INT(rs_correlate_coverage(NULL, 1, segs, NELEM(segs), &cov),
                     RS_CORRELATE_EINVAL);
}

/* The synthetic generator's own profile names: an odd-indexed tenant tests
 * desktop/cable only, so its mobile traffic is uncovered; an even-indexed
 * one also tests mobile/4g. */
static void test_coverage_generator(void) {
        rs_synthetic_traffic_conf_t conf;
        rs_synthetic_traffic_t     *syn;
        rs_synthetic_check_t        ck;
        rs_correlate_profile_t      prof[64];
        rs_correlate_coverage_t     cov;
        char                        errstr[256];
        int                         tenant, i;

        rs_synthetic_traffic_conf_defaults(&conf);
        syn = rs_synthetic_traffic_new(&conf, errstr, sizeof(errstr));
        RS_CHECK_MSG(syn != NULL, "%s", errstr);
        if (!syn)
                return;
        for (tenant = 0; tenant < 2; tenant++) {
                const char *id = rs_synthetic_traffic_tenant(syn, tenant);
                /* Shares of the page-view generator: mobile 58, desktop
                 * 37, tablet 5. */
                rs_correlate_segment_t segs[] = {
                    {"device", "mobile", 58, 0},
                    {"device", "desktop", 37, 0},
                    {"device", "tablet", 5, 0},
                    {"connection", "4g", 40, 0},
                    {"connection", "wifi", 40, 0},
                    {"connection", "ethernet", 20, 0},
                };
                size_t np = 0;

                for (i = 0; i < rs_synthetic_traffic_check_count(syn); i++) {
                        if (rs_synthetic_traffic_check(syn, i, &ck) != 0 ||
                            strcmp(ck.tenant_id, id) != 0 || np == NELEM(prof))
                                continue;
                        prof[np].device   = ck.device_profile;
                        prof[np].network  = ck.network_profile;
                        prof[np].location = ck.location;
                        np++;
                }
                RS_CHECK(np > 0);
                RS_CHECK_INT(
                    rs_correlate_coverage(prof, np, segs, NELEM(segs), &cov),
                    0);
                RS_CHECK_INT(segs[1].covered, 1);
                RS_CHECK_INT(segs[2].covered, 0);
                RS_CHECK_INT(segs[4].covered, 1);
                RS_CHECK_INT(segs[5].covered, 1);
                if (tenant == 0) {
                        RS_CHECK_INT(segs[0].covered, 1);
                        RS_CHECK_INT(segs[3].covered, 1);
                        RS_CHECK_REL(
                            cov.uncovered_share[RS_CORRELATE_SEG_DEVICE], 0.05,
                            1e-12);
                } else {
                        RS_CHECK_INT(segs[0].covered, 0);
                        RS_CHECK_INT(segs[3].covered, 0);
                        RS_CHECK_REL(
                            cov.uncovered_share[RS_CORRELATE_SEG_DEVICE], 0.63,
                            1e-12);
                }
        }
        rs_synthetic_traffic_destroy(syn);
}

#define GAP_N 48

/* Flat lab ~1800 and field ~2500 with 3% noise; from bucket `from` on the
 * lab is multiplied by lab_f and the field by field_f. */
static void make_gap(double *lab, double *field, uint64_t seed, size_t from,
                     double lab_f, double field_f) {
        size_t i;

        rng_state = seed;
        for (i = 0; i < GAP_N; i++) {
                lab[i] = 1800 * (1 + 0.03 * gauss()) * (i >= from ? lab_f : 1);
                field[i] =
                    2500 * (1 + 0.03 * gauss()) * (i >= from ? field_f : 1);
        }
}

static void test_gap(void) {
        double                  lab[GAP_N], field[GAP_N];
        double                  scratch[RS_CORRELATE_GAP_SCRATCH(GAP_N)];
        rs_correlate_gap_t      g;
        rs_correlate_gap_conf_t conf;
        int                     seed, fp = 0;
        size_t                  i;

        rs_correlate_gap_conf_defaults(&conf);
        RS_CHECK_INT(conf.recent, 4);
        RS_CHECK_INT(conf.baseline_min, 8);
        RS_CHECK(conf.z_threshold == 3.5 && conf.sigma_floor == 0.02);

        /* Stable, noisy. */
        make_gap(lab, field, 11, GAP_N, 1, 1);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK(g.valid);
        RS_CHECK(!g.widened && !g.lab_moved && !g.field_moved);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_NONE);
        RS_CHECK(!g.early_warning);
        RS_CHECK(g.gap_baseline > 600 && g.gap_baseline < 800);
        RS_CHECK_STR(rs_correlate_cause_name(g.cause), "none");

        /* Field regresses 40% over the last 4 buckets, lab flat. */
        make_gap(lab, field, 12, GAP_N - 4, 1, 1.4);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK(g.widened && g.gap_z > 3.5);
        RS_CHECK(g.field_moved && g.field_z > 0 && !g.lab_moved);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_FIELD_ONLY);
        RS_CHECK_STR(rs_correlate_cause_name(g.cause), "field_only");
        RS_CHECK(!g.early_warning);
        RS_CHECK(g.gap_recent > 1500);

        /* Lab regresses first, field not yet. */
        make_gap(lab, field, 13, GAP_N - 4, 1.4, 1);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK(g.lab_moved && g.lab_z > 0 && !g.field_moved);
        RS_CHECK(g.widened && g.gap_z < 0); /* field - lab shrinks */
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_LAB_FIRST);
        RS_CHECK(g.early_warning);
        RS_CHECK_STR(rs_correlate_cause_name(g.cause), "lab_first");

        /* Both regress together: the gap barely moves. */
        make_gap(lab, field, 14, GAP_N - 4, 1.4, 1.4);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_BOTH);
        RS_CHECK(!g.early_warning);

        /* NaN buckets are skipped. */
        make_gap(lab, field, 12, GAP_N - 4, 1, 1.4);
        lab[3] = lab[20] = field[7] = field[GAP_N - 1] = NAN;
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_FIELD_ONLY);

        /* A noiseless series: a 1% move stays below the floor (2% of the
         * level per unit of z), a 20% one does not. */
        for (i = 0; i < GAP_N; i++) {
                lab[i]   = 1000;
                field[i] = i >= GAP_N - 4 ? 1010 : 1000;
        }
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_NONE);
        RS_CHECK_REL(g.field_z, 0.5, 1e-12);
        for (i = GAP_N - 4; i < GAP_N; i++)
                field[i] = 1200;
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK_INT(g.cause, RS_CORRELATE_CAUSE_FIELD_ONLY);
        RS_CHECK_REL(g.field_z, 10, 1e-12);
        /* All zero: z = 0, no division by zero. */
        for (i = 0; i < GAP_N; i++)
                lab[i] = field[i] = 0;
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g), 0);
        RS_CHECK(g.gap_z == 0 && g.cause == RS_CORRELATE_CAUSE_NONE);

        /* False alarms on stable series, 500 seeds: allow at most 1%. */
        for (seed = 0; seed < 500; seed++) {
                make_gap(lab, field, 100 + (uint64_t)seed, GAP_N, 1, 1);
                if (rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g) ==
                        0 &&
                    (g.widened || g.cause != RS_CORRELATE_CAUSE_NONE))
                        fp++;
        }
        RS_CHECK_MSG(fp <= 5, "%d false alarms / 500", fp);

        /* Too few, bad input. */
        make_gap(lab, field, 15, GAP_N, 1, 1);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, 11, scratch, &g),
                     RS_CORRELATE_EFEW); /* baseline of 7 < 8 */
        RS_CHECK(!g.valid && isnan(g.gap_z));
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, 12, scratch, &g), 0);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, 4, scratch, &g),
                     RS_CORRELATE_EFEW);
        for (i = GAP_N - 4; i < GAP_N; i++)
                lab[i] = NAN;
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g),
                     RS_CORRELATE_EFEW);
        lab[0] = INFINITY;
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, field, GAP_N, scratch, &g),
                     RS_CORRELATE_EINF);
        RS_CHECK_INT(rs_correlate_gap(NULL, lab, NULL, GAP_N, scratch, &g),
                     RS_CORRELATE_EINVAL);
        conf.recent = 0;
        RS_CHECK_INT(rs_correlate_gap(&conf, lab, field, GAP_N, scratch, &g),
                     RS_CORRELATE_EINVAL);
        RS_CHECK_STR(rs_correlate_cause_name(RS_CORRELATE_CAUSE_BOTH), "both");
        RS_CHECK_STR(rs_correlate_cause_name((rs_correlate_cause_t)9),
                     "unknown");
}

int main(void) {
        test_correlated();
        test_anticorrelated();
        test_unrelated();
        test_not_enough();
        test_relevel();
        test_coverage();
        test_coverage_generator();
        test_gap();
        return RS_TEST_DONE();
}
