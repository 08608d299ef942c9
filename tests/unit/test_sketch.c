/*
 * test_sketch: accuracy against exact quantiles on skewed distributions,
 * weights, merge == union (also under the bin cap), the wire format (round
 * trips, every truncation, garbage and bit flips) and edge inputs.
 *
 * All data comes from a seeded splitmix64, so every run sees the same
 * numbers.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/sketch.h"
#include "rs_test.h"

#define N_SAMPLES 100000

static uint64_t rng_state;

static void rng_seed(uint64_t seed) {
        rng_state = seed;
}

static uint64_t rng_next(void) {
        uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* Uniform in (0, 1), never 0 so log() is safe. */
static double rng_uniform(void) {
        return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal(void) {
        double u1 = rng_uniform(), u2 = rng_uniform();

        return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double rng_lognormal(double mu, double sigma) {
        return exp(mu + sigma * rng_normal());
}

/* Multiples of 2^-10 with small totals add up exactly in any order, which
 * lets merge and weight tests compare sums with tolerance 0. */
static double quantize(double v) {
        return ldexp(nearbyint(ldexp(v, 10)), -10);
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

static const double qs[] = {0,   0.01, 0.1,  0.25,  0.5, 0.75,
                            0.9, 0.95, 0.99, 0.999, 1};
#define QS_CNT (sizeof(qs) / sizeof(qs[0]))

static rs_sketch_t *sketch_of(const double *xs, size_t n, double accuracy) {
        rs_sketch_t *sk = rs_sketch_new(accuracy);
        size_t       i;

        for (i = 0; i < n; i++)
                RS_CHECK(rs_sketch_add(sk, xs[i], 1) == 0);
        return sk;
}

static unsigned char *serialize_alloc(const rs_sketch_t *sk, size_t *lenp) {
        size_t         len = rs_sketch_serialize(sk, NULL, 0);
        unsigned char *buf = malloc(len);

        RS_CHECK(rs_sketch_serialize(sk, buf, len) == len);
        *lenp = len;
        return buf;
}

/**
 * Checks every q in qs against sorted[floor(q * (n - 1))], exact at q = 0
 * and 1, and within relative error \p tol elsewhere.
 */
static void check_quantiles(const char *name, const rs_sketch_t *sk,
                            const double *sorted, size_t n, double tol) {
        size_t i;
        double worst = 0;

        for (i = 0; i < QS_CNT; i++) {
                double exact = sorted[(size_t)floor(qs[i] * (double)(n - 1))];
                double got   = -1, err;

                RS_CHECK(rs_sketch_quantile(sk, qs[i], &got) == 0);
                if (qs[i] == 0 || qs[i] == 1) {
                        RS_CHECK_MSG(got == exact,
                                     "%s q=%g got %.17g expected %.17g", name,
                                     qs[i], got, exact);
                        continue;
                }
                if (exact <= RS_SKETCH_MIN_VALUE) {
                        /* Zero bucket: reported as min, which is also in
                         * the zero bucket. */
                        RS_CHECK_MSG(got >= 0 && got <= RS_SKETCH_MIN_VALUE,
                                     "%s q=%g got %.17g expected ~0", name,
                                     qs[i], got);
                        continue;
                }
                err = fabs(got - exact) / exact;
                if (err > worst)
                        worst = err;
                RS_CHECK_MSG(err <= tol,
                             "%s q=%g got %.17g expected %.17g (err %.5f)",
                             name, qs[i], got, exact, err);
        }
        printf("  %-22s worst relative error %.5f\n", name, worst);
}

static void check_distribution(const char *name, double *xs, size_t n) {
        rs_sketch_t *sk  = sketch_of(xs, n, 0.01);
        double       sum = 0;
        size_t       i;

        for (i = 0; i < n; i++)
                sum += xs[i];
        qsort(xs, n, sizeof(*xs), cmp_double);

        RS_CHECK(rs_sketch_count(sk) == (double)n);
        /* Same additions in the same order. */
        RS_CHECK(rs_sketch_sum(sk) == sum);
        RS_CHECK(rs_sketch_min(sk) == xs[0]);
        RS_CHECK(rs_sketch_max(sk) == xs[n - 1]);
        RS_CHECK(rs_sketch_collapsed(sk) == 0);
        check_quantiles(name, sk, xs, n, 0.01);
        rs_sketch_destroy(sk);
}

static void test_distributions(void) {
        double *xs = malloc(N_SAMPLES * sizeof(*xs));
        size_t  i;

        rng_seed(1);
        for (i = 0; i < N_SAMPLES; i++)
                xs[i] = rng_lognormal(7.0, 0.5);
        check_distribution("lognormal sigma 0.5", xs, N_SAMPLES);

        for (i = 0; i < N_SAMPLES; i++)
                xs[i] = rng_lognormal(5.0, 1.5);
        check_distribution("lognormal sigma 1.5", xs, N_SAMPLES);

        for (i = 0; i < N_SAMPLES; i++) /* alpha 1.2, xm 10: heavy tail */
                xs[i] = 10.0 / pow(rng_uniform(), 1.0 / 1.2);
        check_distribution("pareto alpha 1.2", xs, N_SAMPLES);

        for (i = 0; i < N_SAMPLES; i++)
                xs[i] = -200.0 * log(rng_uniform());
        check_distribution("exponential mean 200", xs, N_SAMPLES);

        for (i = 0; i < N_SAMPLES; i++) /* cache hits and misses */
                xs[i] = rng_uniform() < 0.7 ? rng_lognormal(4.0, 0.3)
                                            : rng_lognormal(7.5, 0.4);
        check_distribution("bimodal", xs, N_SAMPLES);

        for (i = 0; i < N_SAMPLES; i++)
                xs[i] = pow(10.0, -3.0 + 8.0 * rng_uniform());
        check_distribution("log-uniform 1e-3..1e5", xs, N_SAMPLES);

        /* A coarser sketch keeps its own, coarser promise. */
        {
                rs_sketch_t *sk;

                for (i = 0; i < N_SAMPLES; i++)
                        xs[i] = rng_lognormal(6.0, 1.0);
                sk = sketch_of(xs, N_SAMPLES, 0.05);
                qsort(xs, N_SAMPLES, sizeof(*xs), cmp_double);
                check_quantiles("lognormal a=0.05", sk, xs, N_SAMPLES, 0.05);
                rs_sketch_destroy(sk);
        }
        free(xs);
}

static void test_weights(void) {
        rs_sketch_t *w4 = rs_sketch_new(0.01), *x4 = rs_sketch_new(0.01);
        rs_sketch_t *half = rs_sketch_new(0.01);
        size_t       i;
        int          k;

        rng_seed(2);
        for (i = 0; i < 2000; i++) {
                double v = quantize(rng_lognormal(6.0, 1.0));

                if (i % 50 == 0)
                        v = 0; /* the zero bucket is weighted too */
                RS_CHECK(rs_sketch_add(w4, v, 4) == 0);
                for (k = 0; k < 4; k++)
                        RS_CHECK(rs_sketch_add(x4, v, 1) == 0);
                /* Powers of two stay exact as fractions as well. */
                RS_CHECK(rs_sketch_add(half, v, 0.5) == 0);
        }
        RS_CHECK(rs_sketch_count(w4) == 8000);
        RS_CHECK(rs_sketch_count(half) == 1000);
        RS_CHECK(rs_sketch_equal(w4, x4, 0));
        RS_CHECK(!rs_sketch_equal(w4, half, 0));
        for (i = 0; i < QS_CNT; i++) {
                double a = -1, b = -2;

                RS_CHECK(rs_sketch_quantile(w4, qs[i], &a) == 0);
                RS_CHECK(rs_sketch_quantile(x4, qs[i], &b) == 0);
                RS_CHECK_MSG(a == b, "q=%g %.17g != %.17g", qs[i], a, b);
        }
        RS_CHECK(rs_sketch_sum(half) * 8 == rs_sketch_sum(w4));

        rs_sketch_destroy(w4);
        rs_sketch_destroy(x4);
        rs_sketch_destroy(half);
}

static void test_merge(void) {
        rs_sketch_t *all = rs_sketch_new(0.01), *a = rs_sketch_new(0.01);
        rs_sketch_t *b     = rs_sketch_new(0.01), *parts[10], *tree;
        rs_sketch_t *other = rs_sketch_new(0.02), *empty = rs_sketch_new(0.01);
        rs_sketch_t *twice = rs_sketch_new(0.01), *before;
        size_t       i, len;
        unsigned char *buf;
        char           err[128];

        for (i = 0; i < 10; i++)
                parts[i] = rs_sketch_new(0.01);

        rng_seed(3);
        for (i = 0; i < N_SAMPLES; i++) {
                double v = quantize(rng_lognormal(5.5, 1.2));

                if (i % 97 == 0)
                        v = 0;
                RS_CHECK(rs_sketch_add(all, v, 1) == 0);
                RS_CHECK(rs_sketch_add(i % 2 ? a : b, v, 1) == 0);
                RS_CHECK(rs_sketch_add(parts[(i * 7) % 10], v, 1) == 0);
                RS_CHECK(rs_sketch_add(twice, v, 2) == 0);
                RS_CHECK(rs_sketch_add(other, v, 1) == 0);
        }
        RS_CHECK(!rs_sketch_equal(a, all, 0));

        /* Snapshot a through the wire format to check it is untouched by a
         * failed merge. */
        buf    = serialize_alloc(a, &len);
        before = rs_sketch_deserialize(buf, len, err, sizeof(err));
        free(buf);
        RS_CHECK(before != NULL);
        RS_CHECK(rs_sketch_merge(a, other) == -1);
        RS_CHECK(rs_sketch_equal(a, before, 0));
        rs_sketch_destroy(before);

        RS_CHECK(rs_sketch_merge(a, b) == 0);
        RS_CHECK(rs_sketch_equal(a, all, 0));
        RS_CHECK(rs_sketch_count(a) == N_SAMPLES);
        RS_CHECK(rs_sketch_min(a) == 0);

        /* Folding ten parts pairwise, as window roll-ups do. */
        for (i = 0; i + 1 < 10; i += 2)
                RS_CHECK(rs_sketch_merge(parts[i], parts[i + 1]) == 0);
        tree = rs_sketch_new(0.01);
        for (i = 0; i < 10; i += 2)
                RS_CHECK(rs_sketch_merge(tree, parts[i]) == 0);
        RS_CHECK(rs_sketch_equal(tree, all, 0));

        /* Empty on either side. */
        RS_CHECK(rs_sketch_merge(all, empty) == 0);
        RS_CHECK(rs_sketch_equal(all, a, 0));
        RS_CHECK(rs_sketch_merge(empty, all) == 0);
        RS_CHECK(rs_sketch_equal(empty, all, 0));

        /* Merging a sketch into itself doubles every weight. */
        RS_CHECK(rs_sketch_merge(a, a) == 0);
        RS_CHECK(rs_sketch_equal(a, twice, 0));

        rs_sketch_destroy(all);
        rs_sketch_destroy(a);
        rs_sketch_destroy(b);
        rs_sketch_destroy(tree);
        rs_sketch_destroy(other);
        rs_sketch_destroy(empty);
        rs_sketch_destroy(twice);
        for (i = 0; i < 10; i++)
                rs_sketch_destroy(parts[i]);
}

/*
 * Wire-format helpers for tests that need to read or forge buffers. They
 * follow the layout documented at the top of common/sketch.c.
 */
typedef struct wbuf_s {
        unsigned char b[256];
        size_t        n;
} wbuf_t;

static void w_u8(wbuf_t *w, unsigned v) {
        w->b[w->n++] = (unsigned char)v;
}

static void w_var(wbuf_t *w, uint64_t v) {
        for (; v >= 0x80; v >>= 7)
                w_u8(w, (unsigned)(v & 0x7f) | 0x80);
        w_u8(w, (unsigned)v);
}

static void w_dbl(wbuf_t *w, double d) {
        uint64_t bits;
        int      i;

        memcpy(&bits, &d, sizeof(bits));
        for (i = 0; i < 8; i++)
                w_u8(w, (unsigned)(bits >> (8 * i)) & 0xff);
}

/* A valid varint-count buffer: 3 values (0, ~100, ~105) at accuracy 0.01,
 * with the given fields overridable. */
typedef struct forge_s {
        unsigned version, flags;
        double   accuracy, count, sum, min, max, zero, collapsed;
        uint64_t nbuckets;
        int64_t  first;
        uint64_t delta;
        int      trailing;
} forge_t;

static forge_t forge_default(void) {
        forge_t f = {0xD1, 1, 0.01, 3, 205, 0, 105, 1, 0, 2, 231, 2, 0};

        return f;
}

static void forge(wbuf_t *w, const forge_t *f) {
        uint64_t zz =
            ((uint64_t)f->first << 1) ^ (uint64_t)(f->first < 0 ? -1 : 0);
        uint64_t k;

        w->n = 0;
        w_u8(w, f->version);
        w_u8(w, f->flags);
        w_dbl(w, f->accuracy);
        w_var(w, (uint64_t)f->count);
        w_dbl(w, f->sum);
        w_dbl(w, f->min);
        w_dbl(w, f->max);
        w_var(w, (uint64_t)f->zero);
        w_var(w, (uint64_t)f->collapsed);
        w_var(w, f->nbuckets);
        for (k = 0; k < f->nbuckets && k < 8; k++) {
                if (k == 0)
                        w_var(w, zz);
                else
                        w_var(w, f->delta);
                w_var(w, 1);
        }
        if (f->trailing)
                w_u8(w, 0);
}

static int forge_fails(const forge_t *f, const char *reason) {
        wbuf_t       w;
        char         err[128] = "";
        rs_sketch_t *sk;

        forge(&w, f);
        sk = rs_sketch_deserialize(w.b, w.n, err, sizeof(err));
        if (sk) {
                rs_sketch_destroy(sk);
                return 0;
        }
        if (!strstr(err, reason)) {
                fprintf(stderr, "  error \"%s\" does not mention \"%s\"\n", err,
                        reason);
                return 0;
        }
        return 1;
}

/* Reads the bucket section of a varint-count buffer. */
static void read_buckets(const unsigned char *b, size_t len, uint64_t *n,
                         int64_t *first, int64_t *last) {
        size_t   pos = 2 + 8;
        int      f;
        uint64_t v = 0, k;

        /* count, 3 doubles, zero, collapsed, n */
        for (f = 0; f < 6; f++) {
                if (f >= 1 && f <= 3) {
                        pos += 8;
                        continue;
                }
                while (pos < len && (b[pos] & 0x80))
                        pos++;
                pos++;
        }
#define READ_VAR(out)                                                          \
        do {                                                                   \
                unsigned sh = 0;                                               \
                (out)       = 0;                                               \
                while (pos < len) {                                            \
                        (out) |= (uint64_t)(b[pos] & 0x7f) << sh;              \
                        sh += 7;                                               \
                        if (!(b[pos++] & 0x80))                                \
                                break;                                         \
                }                                                              \
        } while (0)
        READ_VAR(*n);
        *first = *last = 0;
        for (k = 0; k < *n; k++) {
                uint64_t c;

                READ_VAR(v);
                if (k == 0)
                        *first = *last = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                else
                        *last += (int64_t)v;
                READ_VAR(c);
                (void)c;
        }
#undef READ_VAR
        RS_CHECK(pos == len);
}

static void test_serialize(void) {
        rs_sketch_t   *sk = rs_sketch_new(0.01), *back, *frac, *fback;
        unsigned char *buf, *buf2, *small;
        size_t         len, len2, flen, i;
        char           err[128];

        rng_seed(4);
        for (i = 0; i < N_SAMPLES; i++)
                RS_CHECK(rs_sketch_add(sk, rng_lognormal(7.0, 1.0), 1) == 0);

        buf = serialize_alloc(sk, &len);
        RS_CHECK(rs_sketch_serialize(sk, NULL, 0) == len);
        RS_CHECK(buf[0] == 0xD1);
        RS_CHECK(buf[1] == 1); /* integer counts as varints */
        printf("  100k lognormal(7, 1) samples: %zu bytes\n", len);
        RS_CHECK(len < 2048);

        /* A buffer one byte short is left alone. */
        small = malloc(len);
        memset(small, 0xAB, len);
        RS_CHECK(rs_sketch_serialize(sk, small, len - 1) == len);
        for (i = 0; i < len && small[i] == 0xAB; i++)
                ;
        RS_CHECK(i == len);
        free(small);

        back = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(back != NULL, "%s", err);
        RS_CHECK(rs_sketch_equal(sk, back, 0));
        buf2 = serialize_alloc(back, &len2);
        RS_CHECK(len2 == len && !memcmp(buf, buf2, len));
        free(buf2);
        for (i = 0; i < QS_CNT; i++) {
                double a = -1, b = -2;

                RS_CHECK(rs_sketch_quantile(sk, qs[i], &a) == 0);
                RS_CHECK(rs_sketch_quantile(back, qs[i], &b) == 0);
                RS_CHECK(a == b);
        }
        /* A decoded sketch is a live one. */
        RS_CHECK(rs_sketch_add(back, 1e6, 1) == 0);
        RS_CHECK(rs_sketch_add(back, 1e-3, 1) == 0);
        RS_CHECK(rs_sketch_add(sk, 1e6, 1) == 0);
        RS_CHECK(rs_sketch_add(sk, 1e-3, 1) == 0);
        RS_CHECK(rs_sketch_equal(sk, back, 0));
        RS_CHECK(rs_sketch_merge(back, sk) == 0);
        RS_CHECK(rs_sketch_count(back) == 2 * (N_SAMPLES + 2));

        /* Fractional weights need the double encoding and survive it bit
         * for bit. */
        frac = rs_sketch_new(0.01);
        rng_seed(5);
        for (i = 0; i < 5000; i++) {
                /* Separate statements: argument order is unspecified. */
                double v = rng_lognormal(5.0, 1.0);

                RS_CHECK(rs_sketch_add(frac, v, 0.1 + rng_uniform()) == 0);
        }
        RS_CHECK(rs_sketch_add(frac, 0, 0.3) == 0);
        {
                unsigned char *fb = serialize_alloc(frac, &flen);

                RS_CHECK(fb[1] == 0);
                printf("  5000 samples, fractional weights: %zu bytes\n", flen);
                fback = rs_sketch_deserialize(fb, flen, err, sizeof(err));
                RS_CHECK_MSG(fback != NULL, "%s", err);
                RS_CHECK(rs_sketch_equal(frac, fback, 0));
                RS_CHECK(rs_sketch_count(fback) == rs_sketch_count(frac));
                RS_CHECK(rs_sketch_sum(fback) == rs_sketch_sum(frac));
                free(fb);
        }
        /* An integer weight past 2^53 also needs doubles. */
        {
                rs_sketch_t   *big = rs_sketch_new(0.01), *bb;
                unsigned char *b2;
                size_t         blen;

                RS_CHECK(rs_sketch_add(big, 5, 1e17) == 0);
                b2 = serialize_alloc(big, &blen);
                RS_CHECK(b2[1] == 0);
                bb = rs_sketch_deserialize(b2, blen, err, sizeof(err));
                RS_CHECK(bb && rs_sketch_equal(big, bb, 0));
                rs_sketch_destroy(big);
                rs_sketch_destroy(bb);
                free(b2);
        }

        rs_sketch_destroy(sk);
        rs_sketch_destroy(back);
        rs_sketch_destroy(frac);
        rs_sketch_destroy(fback);
        free(buf);
}

/* Whatever a buffer decodes to must behave as a sketch. */
static void exercise(rs_sketch_t *sk) {
        double         v;
        size_t         len, i;
        unsigned char *buf;
        rs_sketch_t   *again;
        char           err[128];

        for (i = 0; i < QS_CNT; i++)
                if (rs_sketch_quantile(sk, qs[i], &v) == 0)
                        RS_CHECK(v >= rs_sketch_min(sk) &&
                                 v <= rs_sketch_max(sk));
        buf   = serialize_alloc(sk, &len);
        again = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(again != NULL, "re-decoding failed: %s", err);
        RS_CHECK(rs_sketch_equal(sk, again, 0));
        /* Forged totals near DBL_MAX may not double; then both refuse. */
        v = rs_sketch_sum(sk) * 2 <= DBL_MAX &&
                    rs_sketch_count(sk) * 2 <= DBL_MAX
                ? 0
                : -1;
        RS_CHECK(rs_sketch_merge(again, sk) == (int)v);
        v = rs_sketch_sum(again) + 42 <= DBL_MAX ? 0 : -1;
        RS_CHECK(rs_sketch_add(again, 42, 1) == (int)v);
        rs_sketch_destroy(again);
        free(buf);
}

static void check_truncations(const unsigned char *buf, size_t len) {
        size_t i;
        int    bad = 0;

        for (i = 0; i < len; i++) {
                char         err[128] = "";
                rs_sketch_t *sk =
                    rs_sketch_deserialize(buf, i, err, sizeof(err));

                if (sk || !err[0])
                        bad++;
                rs_sketch_destroy(sk);
        }
        RS_CHECK_MSG(bad == 0, "%d of %zu truncations accepted", bad, len);
}

static void test_corrupt(void) {
        rs_sketch_t   *sk = rs_sketch_new(0.01), *frac = rs_sketch_new(0.02);
        unsigned char *buf, *fbuf, garbage[300];
        size_t         len, flen, i;
        forge_t        f;
        int            accepted = 0;

        rng_seed(6);
        for (i = 0; i < 3000; i++) {
                double v = rng_lognormal(3, 2);

                RS_CHECK(rs_sketch_add(sk, i % 10 ? rng_lognormal(6, 1) : 0,
                                       1 + (double)(i % 3)) == 0);
                RS_CHECK(rs_sketch_add(frac, v, rng_uniform()) == 0);
        }
        buf  = serialize_alloc(sk, &len);
        fbuf = serialize_alloc(frac, &flen);

        check_truncations(buf, len);
        check_truncations(fbuf, flen);
        {
                char err[128] = "";

                RS_CHECK(rs_sketch_deserialize(NULL, 0, err, sizeof(err)) ==
                         NULL);
                RS_CHECK(strstr(err, "truncated") != NULL);
                /* A NULL errstr is allowed. */
                RS_CHECK(rs_sketch_deserialize(buf, 3, NULL, 0) == NULL);
        }

        /* Random garbage, half of it with a plausible header so decoding
         * gets past the first bytes. */
        for (i = 0; i < 20000; i++) {
                size_t       n = rng_next() % sizeof(garbage), k;
                rs_sketch_t *g;

                for (k = 0; k < n; k++)
                        garbage[k] = (unsigned char)rng_next();
                if (i % 2 && n >= 10) {
                        garbage[0] = 0xD1;
                        garbage[1] = (unsigned char)(rng_next() & 1);
                        memcpy(garbage + 2, buf + 2, 8); /* accuracy */
                }
                g = rs_sketch_deserialize(garbage, n, NULL, 0);
                if (g) {
                        accepted++;
                        exercise(g);
                        rs_sketch_destroy(g);
                }
        }

        /* Bit flips in valid buffers: rejected or a working sketch. */
        for (i = 0; i < 20000; i++) {
                unsigned char *src   = i % 2 ? fbuf : buf;
                size_t         n     = i % 2 ? flen : len;
                unsigned char *m     = malloc(n);
                int            flips = 1 + (int)(rng_next() % 3), k;
                rs_sketch_t   *g;

                memcpy(m, src, n);
                for (k = 0; k < flips; k++) {
                        size_t at = rng_next() % n;

                        m[at] ^= (unsigned char)(1u << (rng_next() % 8));
                }
                g = rs_sketch_deserialize(m, n, NULL, 0);
                if (g) {
                        accepted++;
                        exercise(g);
                        rs_sketch_destroy(g);
                }
                free(m);
        }
        printf("  corrupt buffers decoded to valid sketches: %d of 40000\n",
               accepted);

        /* Each check names its reason. */
        f = forge_default();
        {
                wbuf_t       w;
                rs_sketch_t *ok;
                double       v = 0;

                forge(&w, &f);
                ok = rs_sketch_deserialize(w.b, w.n, NULL, 0);
                RS_CHECK(ok != NULL);
                RS_CHECK(ok && rs_sketch_quantile(ok, 0.5, &v) == 0 && v > 99 &&
                         v < 102);
                rs_sketch_destroy(ok);
        }
        f.version = 0xD2;
        RS_CHECK(forge_fails(&f, "version"));
        f.version = 0x01;
        RS_CHECK(forge_fails(&f, "not a sketch"));
        f       = forge_default();
        f.flags = 3;
        RS_CHECK(forge_fails(&f, "flags"));
        f          = forge_default();
        f.accuracy = 0;
        RS_CHECK(forge_fails(&f, "accuracy"));
        f.accuracy = 1;
        RS_CHECK(forge_fails(&f, "accuracy"));
        f.accuracy = -0.01;
        RS_CHECK(forge_fails(&f, "accuracy"));
        f.accuracy = NAN;
        RS_CHECK(forge_fails(&f, "accuracy"));
        f     = forge_default();
        f.sum = NAN;
        RS_CHECK(forge_fails(&f, "sum is not finite"));
        f.sum = INFINITY;
        RS_CHECK(forge_fails(&f, "sum is not finite"));
        f     = forge_default();
        f.max = -INFINITY;
        RS_CHECK(forge_fails(&f, "max is not finite"));
        f     = forge_default();
        f.min = 200; /* above max */
        RS_CHECK(forge_fails(&f, "min"));
        f       = forge_default();
        f.count = 4;
        RS_CHECK(forge_fails(&f, "disagrees"));
        f          = forge_default();
        f.nbuckets = RS_SKETCH_MAX_BINS + 1;
        RS_CHECK(forge_fails(&f, "exceed the cap"));
        f          = forge_default();
        f.nbuckets = 1000000000000ULL;
        RS_CHECK(forge_fails(&f, "exceed the cap"));
        f       = forge_default();
        f.delta = 0;
        RS_CHECK(forge_fails(&f, "delta"));
        f.delta = RS_SKETCH_MAX_BINS;
        RS_CHECK(forge_fails(&f, "delta"));
        f.delta = UINT64_MAX;
        RS_CHECK(forge_fails(&f, "delta"));
        f.nbuckets = 3; /* each step fits, the total span does not */
        f.count    = 4;
        f.delta    = RS_SKETCH_MAX_BINS / 2 + 1;
        RS_CHECK(forge_fails(&f, "span"));
        f       = forge_default();
        f.first = 100000; /* gamma^100000 is far past DBL_MAX */
        RS_CHECK(forge_fails(&f, "out of range"));
        f.first = -2000; /* below RS_SKETCH_MIN_VALUE */
        RS_CHECK(forge_fails(&f, "out of range"));
        f          = forge_default();
        f.trailing = 1;
        RS_CHECK(forge_fails(&f, "trailing"));
        f           = forge_default();
        f.collapsed = 1;
        RS_CHECK(forge_fails(&f, "collapsed"));
        f       = forge_default();
        f.zero  = 0;
        f.count = 2;
        RS_CHECK(forge_fails(&f, "min/max"));
        /* A varint longer than 64 bits. */
        {
                wbuf_t w;
                char   err[128] = "";
                int    k;

                forge(&w, &f);
                w.n = 10;
                for (k = 0; k < 11; k++)
                        w_u8(&w, 0xff);
                w_u8(&w, 0x01);
                RS_CHECK(rs_sketch_deserialize(w.b, w.n, err, sizeof(err)) ==
                         NULL);
                RS_CHECK(strstr(err, "overflow") != NULL);
        }

        free(buf);
        free(fbuf);
        rs_sketch_destroy(sk);
        rs_sketch_destroy(frac);
}

static rs_sketch_t *forged(const forge_t *f) {
        wbuf_t       w;
        char         err[128] = "";
        rs_sketch_t *sk;

        forge(&w, f);
        sk = rs_sketch_deserialize(w.b, w.n, err, sizeof(err));
        RS_CHECK_MSG(sk != NULL, "%s", err);
        return sk;
}

static void test_equal(void) {
        rs_sketch_t *a = rs_sketch_new(0.01), *b = rs_sketch_new(0.01);
        rs_sketch_t *c = rs_sketch_new(0.02), *full, *full_c;
        forge_t      f = forge_default();

        RS_CHECK(rs_sketch_equal(a, b, 0));
        RS_CHECK(!rs_sketch_equal(a, c, 0)); /* accuracy */
        RS_CHECK(!rs_sketch_equal(a, NULL, 0));
        RS_CHECK(rs_sketch_equal(NULL, NULL, 0));

        /* With rel_tol 1 any two non-negative numbers are "near", so only
         * accuracy and the set of non-empty buckets can tell these apart. */
        RS_CHECK(rs_sketch_add(a, 100, 1) == 0);
        RS_CHECK(rs_sketch_add(b, 100, 3) == 0);
        RS_CHECK(rs_sketch_equal(a, b, 1));
        RS_CHECK(!rs_sketch_equal(a, b, 0.5));
        RS_CHECK(rs_sketch_add(b, 200, 1) == 0);
        RS_CHECK(!rs_sketch_equal(a, b, 1));
        RS_CHECK(rs_sketch_add(a, 0, 1) == 0);
        RS_CHECK(!rs_sketch_equal(a, b, 1));

        /* Two full-span sketches that differ only in the collapsed weight:
         * both are valid, and not equal. */
        f.nbuckets  = 2;
        f.first     = 100;
        f.delta     = RS_SKETCH_MAX_BINS - 1;
        f.max       = 1e19;
        full        = forged(&f);
        f.collapsed = 1;
        full_c      = forged(&f);
        RS_CHECK(full && full_c && !rs_sketch_equal(full, full_c, 0));
        RS_CHECK(full_c && rs_sketch_collapsed(full_c) == 1);
        RS_CHECK(full && full_c && rs_sketch_merge(full, full_c) == 0 &&
                 rs_sketch_collapsed(full) == 1);

        rs_sketch_destroy(a);
        rs_sketch_destroy(b);
        rs_sketch_destroy(c);
        rs_sketch_destroy(full);
        rs_sketch_destroy(full_c);
}

static void test_empty_and_single(void) {
        rs_sketch_t   *sk = rs_sketch_new(RS_SKETCH_DEFAULT_ACCURACY), *back;
        unsigned char *buf;
        size_t         len, i, mem_empty;
        double         v = 7;
        char           err[128];

        RS_CHECK(rs_sketch_quantile(sk, 0.5, &v) == -1);
        RS_CHECK(rs_sketch_quantile(sk, 0, &v) == -1);
        RS_CHECK(v == 7);
        RS_CHECK(rs_sketch_count(sk) == 0);
        RS_CHECK(rs_sketch_sum(sk) == 0);
        RS_CHECK(isnan(rs_sketch_min(sk)) && isnan(rs_sketch_max(sk)));
        RS_CHECK(rs_sketch_accuracy(sk) == 0.01);
        mem_empty = rs_sketch_memory(sk);

        buf = serialize_alloc(sk, &len);
        printf("  empty sketch: %zu bytes\n", len);
        back = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(back != NULL, "%s", err);
        RS_CHECK(rs_sketch_equal(sk, back, 0));
        RS_CHECK(rs_sketch_count(back) == 0);
        RS_CHECK(rs_sketch_quantile(back, 0.5, &v) == -1);
        RS_CHECK(isnan(rs_sketch_min(back)));
        rs_sketch_destroy(back);
        free(buf);

        /* One value: every quantile is that value exactly. */
        RS_CHECK(rs_sketch_add(sk, 123.456, 1) == 0);
        RS_CHECK(rs_sketch_memory(sk) > mem_empty);
        for (i = 0; i < QS_CNT; i++) {
                v = -1;
                RS_CHECK(rs_sketch_quantile(sk, qs[i], &v) == 0);
                RS_CHECK(v == 123.456);
        }
        RS_CHECK(rs_sketch_quantile(sk, -0.01, &v) == -1);
        RS_CHECK(rs_sketch_quantile(sk, 1.01, &v) == -1);
        RS_CHECK(rs_sketch_quantile(sk, NAN, &v) == -1);

        /* Reset empties but keeps the buckets' memory for reuse. */
        {
                size_t       mem   = rs_sketch_memory(sk);
                rs_sketch_t *fresh = rs_sketch_new(0.01);

                rs_sketch_reset(sk);
                RS_CHECK(rs_sketch_count(sk) == 0);
                RS_CHECK(rs_sketch_quantile(sk, 0.5, &v) == -1);
                RS_CHECK(rs_sketch_memory(sk) == mem);
                RS_CHECK(rs_sketch_equal(sk, fresh, 0));
                RS_CHECK(rs_sketch_add(sk, 5000, 1) == 0);
                RS_CHECK(rs_sketch_add(sk, 0.5, 1) == 0);
                RS_CHECK(rs_sketch_add(fresh, 0.5, 1) == 0);
                RS_CHECK(rs_sketch_add(fresh, 5000, 1) == 0);
                RS_CHECK(rs_sketch_equal(sk, fresh, 0));
                rs_sketch_destroy(fresh);
        }

        /* A single zero. */
        rs_sketch_reset(sk);
        RS_CHECK(rs_sketch_add(sk, -0.0, 2) == 0);
        for (i = 0; i < QS_CNT; i++) {
                v = -1;
                RS_CHECK(rs_sketch_quantile(sk, qs[i], &v) == 0);
                RS_CHECK(v == 0 && !signbit(v));
        }
        rs_sketch_destroy(sk);
}

static void test_zeros(void) {
        rs_sketch_t *sk = rs_sketch_new(0.01);
        double      *xs = malloc(20000 * sizeof(*xs));
        size_t       i;

        /* CLS: most page views never shift, some shift a little. */
        rng_seed(7);
        for (i = 0; i < 20000; i++) {
                double u = rng_uniform();

                if (u < 0.6)
                        xs[i] = 0;
                else if (u < 0.62)
                        xs[i] = 1e-10; /* below the zero threshold */
                else
                        xs[i] = rng_lognormal(-3.0, 1.2);
                RS_CHECK(rs_sketch_add(sk, xs[i], 1) == 0);
        }
        qsort(xs, 20000, sizeof(*xs), cmp_double);
        check_quantiles("cls with zeros", sk, xs, 20000, 0.01);
        {
                double v = -1;

                RS_CHECK(rs_sketch_quantile(sk, 0.5, &v) == 0);
                RS_CHECK(v == 0);
        }
        RS_CHECK(rs_sketch_min(sk) == 0);
        rs_sketch_destroy(sk);
        free(xs);
}

static void test_rejects(void) {
        rs_sketch_t *sk = rs_sketch_new(0.01);
        double       v;

        RS_CHECK(rs_sketch_new(0) == NULL);
        RS_CHECK(rs_sketch_new(1) == NULL);
        RS_CHECK(rs_sketch_new(-0.01) == NULL);
        RS_CHECK(rs_sketch_new(NAN) == NULL);
        RS_CHECK(rs_sketch_new(INFINITY) == NULL);
        RS_CHECK(rs_sketch_new(RS_SKETCH_MIN_ACCURACY / 2) == NULL);

        RS_CHECK(rs_sketch_add(sk, -1, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, -1e-300, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, NAN, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, INFINITY, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, -INFINITY, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, 10, 0) == -1);
        RS_CHECK(rs_sketch_add(sk, 10, -1) == -1);
        RS_CHECK(rs_sketch_add(sk, 10, NAN) == -1);
        RS_CHECK(rs_sketch_add(sk, 10, INFINITY) == -1);
        RS_CHECK(rs_sketch_count(sk) == 0);
        RS_CHECK(rs_sketch_quantile(sk, 0.5, &v) == -1);

        /* Totals that would overflow are refused rather than turned into
         * infinities the wire format cannot carry. */
        RS_CHECK(rs_sketch_add(sk, DBL_MAX, 1) == 0);
        RS_CHECK(rs_sketch_add(sk, DBL_MAX, 1) == -1);
        RS_CHECK(rs_sketch_add(sk, 1, DBL_MAX) == -1);
        RS_CHECK(rs_sketch_count(sk) == 1);
        RS_CHECK(rs_sketch_merge(sk, sk) == -1);
        RS_CHECK(rs_sketch_count(sk) == 1);
        RS_CHECK(rs_sketch_quantile(sk, 0.5, &v) == 0 && v == DBL_MAX);

        /* The finest accuracy allowed still works at the extremes. */
        {
                rs_sketch_t *fine = rs_sketch_new(RS_SKETCH_MIN_ACCURACY);

                RS_CHECK(fine != NULL);
                RS_CHECK(rs_sketch_add(fine, DBL_MAX, 1) == 0);
                RS_CHECK(rs_sketch_add(fine, 2e-9, 1) == 0);
                RS_CHECK(rs_sketch_add(fine, 1, 1) == 0);
                exercise(fine);
                rs_sketch_destroy(fine);
        }
        rs_sketch_destroy(sk);
}

static double log_uniform_extreme(void) {
        return pow(10.0, -9.0 + 309.0 * rng_uniform());
}

static void test_bin_cap(void) {
        rs_sketch_t   *sk = rs_sketch_new(0.01), *lo = rs_sketch_new(0.01);
        rs_sketch_t   *hi = rs_sketch_new(0.01), *desc = rs_sketch_new(0.01);
        rs_sketch_t   *lo2 = rs_sketch_new(0.01), *hi2 = rs_sketch_new(0.01);
        rs_sketch_t   *back;
        double        *xs = malloc(N_SAMPLES * sizeof(*xs));
        unsigned char *buf;
        size_t         len, i, sure = 0, maybe = 0;
        uint64_t       n;
        int64_t        first, last;
        double         gamma = 1.01 / 0.99, threshold;
        char           err[128];

        rng_seed(8);
        for (i = 0; i < N_SAMPLES; i++) {
                xs[i] = log_uniform_extreme();
                RS_CHECK(rs_sketch_add(sk, xs[i], 1) == 0);
                /* Halves split by value, so each has a different span. */
                RS_CHECK(rs_sketch_add(xs[i] < 1e100 ? lo : hi, xs[i], 1) == 0);
                RS_CHECK(rs_sketch_add(xs[i] < 1e100 ? lo2 : hi2, xs[i], 1) ==
                         0);
        }

        RS_CHECK(rs_sketch_memory(sk) <=
                 256 + RS_SKETCH_MAX_BINS * sizeof(double));
        printf("  1e-9..1e300: memory %zu bytes, collapsed %.0f of %d\n",
               rs_sketch_memory(sk), rs_sketch_collapsed(sk), N_SAMPLES);

        buf = serialize_alloc(sk, &len);
        read_buckets(buf, len, &n, &first, &last);
        RS_CHECK(n <= RS_SKETCH_MAX_BINS);
        RS_CHECK(last - first + 1 == RS_SKETCH_MAX_BINS);
        printf("  1e-9..1e300: %llu buckets, %zu bytes serialized\n",
               (unsigned long long)n, len);

        /* Everything below bucket `first` sits in it, counted as collapsed.
         * Values within rounding of the boundary may go either way. */
        threshold = pow(gamma, (double)(first - 1));
        for (i = 0; i < N_SAMPLES; i++) {
                if (xs[i] < threshold * (1 - 1e-9))
                        sure++;
                else if (xs[i] <= threshold * (1 + 1e-9))
                        maybe++;
        }
        RS_CHECK(sure > 0);
        RS_CHECK(rs_sketch_collapsed(sk) >= (double)sure &&
                 rs_sketch_collapsed(sk) <= (double)(sure + maybe));

        back = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(back != NULL, "%s", err);
        RS_CHECK(rs_sketch_equal(sk, back, 0));
        rs_sketch_destroy(back);
        free(buf);

        /* Merge == union and order does not matter, collapsing included.
         * Sums differ in the last bits (different addition order), the
         * integer counts do not. */
        RS_CHECK(rs_sketch_merge(lo, hi) == 0);
        RS_CHECK(rs_sketch_equal(lo, sk, 1e-12));
        RS_CHECK(rs_sketch_collapsed(lo) == rs_sketch_collapsed(sk));
        /* The other way round src's low buckets fold into dst's lo. */
        RS_CHECK(rs_sketch_merge(hi2, lo2) == 0);
        RS_CHECK(rs_sketch_equal(hi2, sk, 1e-12));
        RS_CHECK(rs_sketch_collapsed(hi2) == rs_sketch_collapsed(sk));

        qsort(xs, N_SAMPLES, sizeof(*xs), cmp_double);
        for (i = N_SAMPLES; i-- > 0;)
                RS_CHECK(rs_sketch_add(desc, xs[i], 1) == 0);
        RS_CHECK(rs_sketch_equal(desc, sk, 1e-12));
        RS_CHECK(rs_sketch_collapsed(desc) == rs_sketch_collapsed(sk));

        /* The upper quantiles stay within the accuracy. */
        {
                static const double high[] = {0.95, 0.99, 0.999, 1};
                size_t              k;

                for (k = 0; k < 4; k++) {
                        double exact =
                            xs[(size_t)floor(high[k] * (N_SAMPLES - 1))];
                        double got = -1;

                        RS_CHECK(rs_sketch_quantile(sk, high[k], &got) == 0);
                        RS_CHECK_MSG(fabs(got - exact) <= 0.01 * exact,
                                     "q=%g got %.17g expected %.17g", high[k],
                                     got, exact);
                }
        }
        RS_CHECK(rs_sketch_min(sk) == xs[0]);

        rs_sketch_destroy(sk);
        rs_sketch_destroy(lo);
        rs_sketch_destroy(hi);
        rs_sketch_destroy(desc);
        rs_sketch_destroy(lo2);
        rs_sketch_destroy(hi2);
        free(xs);
}

int main(void) {
        test_distributions();
        test_weights();
        test_merge();
        test_serialize();
        test_corrupt();
        test_equal();
        test_empty_and_single();
        test_zeros();
        test_rejects();
        test_bin_cap();
        return RS_TEST_DONE();
}
