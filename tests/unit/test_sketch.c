/*
 * test_sketch: accuracy against exact quantiles on skewed distributions,
 * weights, merge == union (also under the bin cap), the wire format (round
 * trips, every truncation, garbage and bit flips), edge inputs, and that
 * the compact storage of small sketches never shows in results or bytes,
 * nor does recycling through a pool, and the one-walk quantiles.
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
        RS_CHECK(rs_sketch_memory(sk) == mem_empty); /* held inline */
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

/*
 * Compact mode. Nothing in the API tells the two storage modes apart except
 * rs_sketch_memory, so these tests build the same contents along paths that
 * leave a sketch in different modes and require identical results. Values
 * are multiples of 2^-10 and weights dyadic, so every total is exact in any
 * order and sketches that saw the same values in different orders must
 * still match bit for bit.
 */
#define SMALL_MAX 20

typedef struct small_s {
        size_t n;
        double v[SMALL_MAX];
        double w[SMALL_MAX];
} small_t;

/* 1..SMALL_MAX values, some zero, some repeats of an earlier value (the
 * same bucket again). Weights are dyadic unless \p fractional. */
static void small_random(small_t *s, int fractional) {
        static const double dyadic[] = {1, 1, 1, 2, 3, 0.5, 0.25};
        size_t              i;

        s->n = 1 + (size_t)(rng_next() % SMALL_MAX);
        for (i = 0; i < s->n; i++) {
                uint64_t kind = rng_next() % 10;

                if (kind == 0)
                        s->v[i] = 0;
                else if (kind <= 2 && i > 0)
                        s->v[i] = s->v[rng_next() % i];
                else
                        s->v[i] = quantize(rng_lognormal(5.0, 1.5));
                if (fractional)
                        s->w[i] = 0.1 + rng_uniform();
                else
                        s->w[i] = dyadic[rng_next() % 7];
        }
}

static void add_small(rs_sketch_t *sk, const small_t *s, double scale) {
        size_t i;

        for (i = 0; i < s->n; i++)
                RS_CHECK(rs_sketch_add(sk, s->v[i], s->w[i] * scale) == 0);
}

/* RS_SKETCH_COMPACT + 2 values two buckets apart, near 1000: a sketch that
 * gets these first handles everything after them in ring mode. */
static void add_padding(rs_sketch_t *sk) {
        double acc = rs_sketch_accuracy(sk), gamma = (1 + acc) / (1 - acc);
        int    k;

        for (k = 0; k < RS_SKETCH_COMPACT + 2; k++)
                RS_CHECK(rs_sketch_add(sk, quantize(1000 * pow(gamma, 2 * k)),
                                       1) == 0);
}

static rs_sketch_t *build(double accuracy, int padded, const small_t *s) {
        rs_sketch_t *sk = rs_sketch_new(accuracy);

        if (padded)
                add_padding(sk);
        add_small(sk, s, 1);
        return sk;
}

/* Equal with tolerance 0, the same bytes and the same quantiles. */
static int same_sketch(const rs_sketch_t *a, const rs_sketch_t *b) {
        size_t         la, lb, i;
        unsigned char *ba = serialize_alloc(a, &la);
        unsigned char *bb = serialize_alloc(b, &lb);
        int            same;

        same = rs_sketch_equal(a, b, 0) && la == lb && !memcmp(ba, bb, la) &&
               rs_sketch_collapsed(a) == rs_sketch_collapsed(b);
        for (i = 0; same && i < QS_CNT; i++) {
                double x = -1, y = -1;

                same = rs_sketch_quantile(a, qs[i], &x) ==
                           rs_sketch_quantile(b, qs[i], &y) &&
                       x == y;
        }
        free(ba);
        free(bb);
        return same;
}

/* The number of non-empty buckets, read off the wire format. */
static uint64_t bucket_cnt(const rs_sketch_t *sk) {
        size_t         len, pos = 2 + 8;
        unsigned char *b = serialize_alloc(sk, &len);
        int            f, varint = b[1] & 1;
        uint64_t       n  = 0;
        unsigned       sh = 0;

        /* count, sum, min, max, zero, collapsed */
        for (f = 0; f < 6; f++) {
                if (!varint || (f >= 1 && f <= 3)) {
                        pos += 8;
                        continue;
                }
                while (b[pos] & 0x80)
                        pos++;
                pos++;
        }
        do {
                n |= (uint64_t)(b[pos] & 0x7f) << sh;
                sh += 7;
        } while (b[pos++] & 0x80);
        free(b);
        return n;
}

static size_t empty_memory(double accuracy) {
        rs_sketch_t *sk  = rs_sketch_new(accuracy);
        size_t       mem = rs_sketch_memory(sk);

        rs_sketch_destroy(sk);
        return mem;
}

/* Adds, reuse after reset and decoding: compact or ring, never visible. */
static void test_compact_same(void) {
        /* 1e-4 spans only 2048 buckets over a factor of 1.5, so there
         * nearly every small sketch collapses in compact mode. */
        static const double accs[] = {0.01, 1e-4};
        size_t              a;
        int                 seed, compact = 0, small = 0, collapsing = 0;

        for (a = 0; a < 2; a++) {
                double       acc    = accs[a];
                double       gamma  = (1 + acc) / (1 - acc);
                size_t       mem_0  = empty_memory(acc);
                rs_sketch_t *pooled = rs_sketch_new(acc);
                size_t       mem_pool;
                int          k;

                /* Grown to the full ring once (values 2.5 buckets apart),
                 * then reused for every seed: its memory must never
                 * change, and nothing left in the kept ring may show up
                 * in later contents. */
                for (k = 0; k < 2 * RS_SKETCH_MAX_BINS; k++)
                        RS_CHECK(
                            rs_sketch_add(pooled, pow(gamma, 2.5 * k), 1) == 0);
                mem_pool = rs_sketch_memory(pooled);
                RS_CHECK(mem_pool > mem_0);

                for (seed = 0; seed < 2000; seed++) {
                        rs_sketch_t   *fresh, *late, *early, *back;
                        small_t        s;
                        unsigned char *buf;
                        size_t         len;
                        char           err[128];

                        rng_seed(1000 + (uint64_t)seed);
                        /* Fractional weights: same adds in the same order
                         * must give the same bits in either mode. */
                        small_random(&s, seed % 4 == 3);
                        fresh = build(acc, 0, &s);
                        rs_sketch_reset(pooled);
                        add_small(pooled, &s, 1);
                        RS_CHECK_MSG(same_sketch(fresh, pooled),
                                     "acc %g seed %d: reused sketch differs",
                                     acc, seed);
                        RS_CHECK(rs_sketch_memory(pooled) == mem_pool);

                        /* Values first (compact until they outgrow it),
                         * or padding first (ring throughout). */
                        if (seed % 4 != 3) {
                                late = build(acc, 0, &s);
                                add_padding(late);
                                early = build(acc, 1, &s);
                                RS_CHECK_MSG(same_sketch(late, early),
                                             "acc %g seed %d: compact and "
                                             "ring adds differ",
                                             acc, seed);
                                rs_sketch_destroy(late);
                                rs_sketch_destroy(early);
                        }

                        /* Without collapsing, buckets only accumulate:
                         * few enough means it never left compact mode. */
                        if (rs_sketch_collapsed(fresh) == 0) {
                                int fits =
                                    bucket_cnt(fresh) <= RS_SKETCH_COMPACT;

                                small += fits;
                                RS_CHECK_MSG(
                                    (rs_sketch_memory(fresh) == mem_0) == fits,
                                    "acc %g seed %d: %llu buckets "
                                    "in %zu bytes",
                                    acc, seed,
                                    (unsigned long long)bucket_cnt(fresh),
                                    rs_sketch_memory(fresh));
                        } else {
                                collapsing++;
                        }
                        compact += rs_sketch_memory(fresh) == mem_0;

                        /* Decoding makes compact sketches where they fit,
                         * and the bytes come back the same. */
                        buf = serialize_alloc(fresh, &len);
                        back =
                            rs_sketch_deserialize(buf, len, err, sizeof(err));
                        RS_CHECK_MSG(back != NULL, "%s", err);
                        if (back) {
                                RS_CHECK(same_sketch(fresh, back));
                                RS_CHECK(
                                    (rs_sketch_memory(back) == mem_0) ==
                                    (bucket_cnt(fresh) <= RS_SKETCH_COMPACT));
                        }
                        rs_sketch_destroy(back);
                        rs_sketch_destroy(fresh);
                        free(buf);
                }
                rs_sketch_destroy(pooled);
        }
        printf("  4000 small sketches: %d compact, %d of them without "
               "collapsing; %d collapsed\n",
               compact, small, collapsing);
        RS_CHECK(small > 1000 && collapsing > 1000);
}

/* Merges in all four mode combinations equal the sketch of the union. */
static void test_compact_merge(void) {
        static const double accs[] = {0.01, 1e-4};
        size_t              a;
        int                 seed, combos[2][2] = {{0, 0}, {0, 0}};

        for (a = 0; a < 2; a++) {
                double       acc    = accs[a];
                size_t       mem_0  = empty_memory(acc);
                rs_sketch_t *pooled = rs_sketch_new(acc);

                add_padding(pooled);

                for (seed = 0; seed < 1000; seed++) {
                        small_t s1, s2;
                        int     p1, p2;

                        rng_seed(5000 + (uint64_t)seed);
                        small_random(&s1, 0);
                        small_random(&s2, 0);
                        for (p1 = 0; p1 < 2; p1++) {
                                for (p2 = 0; p2 < 2; p2++) {
                                        rs_sketch_t *x = build(acc, p1, &s1);
                                        rs_sketch_t *y = build(acc, p2, &s2);
                                        rs_sketch_t *u = build(acc, p1, &s1);
                                        rs_sketch_t *x2, *y2;

                                        if (p2)
                                                add_padding(u);
                                        add_small(u, &s2, 1);
                                        combos[rs_sketch_memory(x) > mem_0]
                                              [rs_sketch_memory(y) > mem_0]++;

                                        x2 = build(acc, p1, &s1);
                                        y2 = build(acc, p2, &s2);
                                        RS_CHECK(rs_sketch_merge(x, y) == 0);
                                        RS_CHECK_MSG(same_sketch(x, u),
                                                     "acc %g seed %d pad "
                                                     "%d%d: x += y",
                                                     acc, seed, p1, p2);
                                        RS_CHECK(rs_sketch_merge(y2, x2) == 0);
                                        RS_CHECK_MSG(same_sketch(y2, u),
                                                     "acc %g seed %d pad "
                                                     "%d%d: y += x",
                                                     acc, seed, p1, p2);
                                        rs_sketch_destroy(x);
                                        rs_sketch_destroy(y);
                                        rs_sketch_destroy(x2);
                                        rs_sketch_destroy(y2);
                                        rs_sketch_destroy(u);
                                }
                        }

                        /* Into itself: every weight doubles. */
                        {
                                rs_sketch_t *x  = build(acc, 0, &s1);
                                rs_sketch_t *x2 = rs_sketch_new(acc);

                                add_small(x2, &s1, 2);
                                RS_CHECK(rs_sketch_merge(x, x) == 0);
                                RS_CHECK_MSG(same_sketch(x, x2),
                                             "acc %g seed %d: x += x", acc,
                                             seed);
                                rs_sketch_destroy(x);
                                rs_sketch_destroy(x2);
                        }

                        /* Into a reset sketch that keeps a ring. */
                        {
                                rs_sketch_t *y = build(acc, 0, &s2);
                                rs_sketch_t *u = build(acc, 0, &s1);

                                add_small(u, &s2, 1);
                                rs_sketch_reset(pooled);
                                add_small(pooled, &s1, 1);
                                RS_CHECK(rs_sketch_merge(pooled, y) == 0);
                                RS_CHECK_MSG(same_sketch(pooled, u),
                                             "acc %g seed %d: pooled += y", acc,
                                             seed);
                                rs_sketch_destroy(y);
                                rs_sketch_destroy(u);
                        }
                }
                rs_sketch_destroy(pooled);
        }
        printf("  merges (dst, src) compact/ring: cc %d, cr %d, rc %d, rr "
               "%d\n",
               combos[0][0], combos[0][1], combos[1][0], combos[1][1]);
        RS_CHECK(combos[0][0] > 500 && combos[0][1] > 500 &&
                 combos[1][0] > 500 && combos[1][1] > 500);
}

/* RS_SKETCH_COMPACT buckets stay inline; the next one allocates, wherever
 * it lands. Reset goes back to compact mode and keeps the ring. */
static void test_compact_growth(void) {
        size_t mem_0 = empty_memory(0.01);
        int    where;

        RS_CHECK(mem_0 <= 256);
        for (where = 0; where < 3; where++) {
                rs_sketch_t *sk = rs_sketch_new(0.01), *other;
                double       ninth, v;
                size_t       mem_ring;
                int          k;

                /* 100 * 1.1^k: one bucket each, 2k + 1 apart or so. */
                for (k = 0; k < RS_SKETCH_COMPACT; k++) {
                        v = quantize(100 * pow(1.1, k));
                        RS_CHECK(rs_sketch_add(sk, v, 1) == 0);
                        RS_CHECK(rs_sketch_add(sk, v, 2) == 0); /* a hit */
                        RS_CHECK(rs_sketch_add(sk, 0, 1) == 0);
                        RS_CHECK(rs_sketch_memory(sk) == mem_0);
                }
                RS_CHECK(bucket_cnt(sk) == RS_SKETCH_COMPACT);
                /* Below, between two pairs, above. */
                ninth = where == 0   ? 50
                        : where == 1 ? quantize(100 * pow(1.1, 2.5))
                                     : 1000;
                RS_CHECK(rs_sketch_add(sk, ninth, 1) == 0);
                mem_ring = rs_sketch_memory(sk);
                RS_CHECK(mem_ring > mem_0);
                RS_CHECK(bucket_cnt(sk) == RS_SKETCH_COMPACT + 1);

                /* The same values the other way round, and into a ring. */
                other = rs_sketch_new(0.01);
                add_padding(other);
                rs_sketch_reset(other);
                RS_CHECK(rs_sketch_add(other, ninth, 1) == 0);
                for (k = RS_SKETCH_COMPACT; k-- > 0;) {
                        v = quantize(100 * pow(1.1, k));
                        RS_CHECK(rs_sketch_add(other, 0, 1) == 0);
                        RS_CHECK(rs_sketch_add(other, v, 2) == 0);
                        RS_CHECK(rs_sketch_add(other, v, 1) == 0);
                }
                RS_CHECK_MSG(same_sketch(sk, other), "ninth bucket %d", where);
                rs_sketch_destroy(other);

                /* Reset keeps the ring and returns to compact mode: three
                 * values 460 buckets apart would need a bigger ring. */
                rs_sketch_reset(sk);
                RS_CHECK(rs_sketch_memory(sk) == mem_ring);
                RS_CHECK(rs_sketch_add(sk, 1, 1) == 0);
                RS_CHECK(rs_sketch_add(sk, 100, 1) == 0);
                RS_CHECK(rs_sketch_add(sk, 10000, 1) == 0);
                RS_CHECK(rs_sketch_memory(sk) == mem_ring);
                /* Growing again reuses the ring, which reset left clean. */
                rs_sketch_reset(sk);
                other = rs_sketch_new(0.01);
                for (k = 0; k < 3 * RS_SKETCH_COMPACT; k++) {
                        v = quantize(200 * pow(1.03, k));
                        RS_CHECK(rs_sketch_add(sk, v, 1) == 0);
                        RS_CHECK(rs_sketch_add(other, v, 1) == 0);
                }
                RS_CHECK(rs_sketch_memory(sk) == mem_ring);
                RS_CHECK(same_sketch(sk, other));
                rs_sketch_destroy(other);
                rs_sketch_destroy(sk);
        }
}

/* A compact sketch and a ring holding the same two buckets, which only
 * collapsing can produce: compared and merged directly. */
static void test_compact_collapsed(void) {
        rs_sketch_t *ring = rs_sketch_new(1e-4), *comp = rs_sketch_new(1e-4);
        rs_sketch_t *twice = rs_sketch_new(1e-4), *r2, *c2;
        size_t       mem_0 = empty_memory(1e-4);
        int          k;

        /* Ten buckets within 1.01, then a value 1000 times larger folds
         * them all into the lowest bucket the cap allows. */
        for (k = 0; k < RS_SKETCH_COMPACT + 2; k++)
                RS_CHECK(rs_sketch_add(ring, quantize(1 + k / 1024.0), 1) == 0);
        RS_CHECK(rs_sketch_add(ring, 1000, 1) == 0);
        /* The other way round each small value collapses on arrival. */
        RS_CHECK(rs_sketch_add(comp, 1000, 1) == 0);
        RS_CHECK(rs_sketch_add(twice, 1000, 2) == 0);
        for (k = 0; k < RS_SKETCH_COMPACT + 2; k++) {
                RS_CHECK(rs_sketch_add(comp, quantize(1 + k / 1024.0), 1) == 0);
                RS_CHECK(rs_sketch_add(twice, quantize(1 + k / 1024.0), 2) ==
                         0);
        }
        RS_CHECK(rs_sketch_memory(ring) > mem_0);
        RS_CHECK(rs_sketch_memory(comp) == mem_0);
        RS_CHECK(bucket_cnt(ring) == 2 && bucket_cnt(comp) == 2);
        RS_CHECK(rs_sketch_collapsed(comp) == RS_SKETCH_COMPACT + 2);
        RS_CHECK(same_sketch(ring, comp));

        r2 = rs_sketch_new(1e-4);
        c2 = rs_sketch_new(1e-4);
        RS_CHECK(rs_sketch_merge(r2, ring) == 0);
        RS_CHECK(rs_sketch_merge(c2, comp) == 0);
        RS_CHECK(rs_sketch_merge(r2, comp) == 0); /* ring += compact */
        RS_CHECK(rs_sketch_merge(c2, ring) == 0); /* compact += ring */
        RS_CHECK(same_sketch(r2, twice));
        RS_CHECK(same_sketch(c2, twice));
        RS_CHECK(rs_sketch_collapsed(c2) == 2 * (RS_SKETCH_COMPACT + 2));

        /* Eight pairs over the full span: a value collapsing into the
         * lowest one adds no pair, so the sketch stays compact. */
        rs_sketch_reset(comp);
        RS_CHECK(rs_sketch_add(comp, 1000, 1) == 0);
        RS_CHECK(rs_sketch_add(comp, 1, 1) == 0);
        for (k = 1; k < RS_SKETCH_COMPACT - 1; k++)
                RS_CHECK(rs_sketch_add(comp, quantize(1000 - k), 1) == 0);
        RS_CHECK(bucket_cnt(comp) == RS_SKETCH_COMPACT);
        RS_CHECK(rs_sketch_add(comp, 2, 1) == 0);
        RS_CHECK(bucket_cnt(comp) == RS_SKETCH_COMPACT);
        RS_CHECK(rs_sketch_collapsed(comp) == 2);
        RS_CHECK(rs_sketch_memory(comp) == mem_0);

        rs_sketch_destroy(ring);
        rs_sketch_destroy(comp);
        rs_sketch_destroy(twice);
        rs_sketch_destroy(r2);
        rs_sketch_destroy(c2);
}

/* What the aggregator holds most of: a sketch of a few values is no bigger
 * than its handle, and decodes that way too. */
static void test_compact_memory(void) {
        rs_sketch_t   *sk    = rs_sketch_new(0.01), *back, *nine, *nback;
        size_t         mem_0 = rs_sketch_memory(sk), len;
        unsigned char *buf;
        char           err[128];
        int            k;

        RS_CHECK(rs_sketch_add(sk, 120, 1) == 0);
        RS_CHECK(rs_sketch_add(sk, 850, 1) == 0);
        RS_CHECK(rs_sketch_add(sk, 4300, 1) == 0);
        printf("  3-value sketch: %zu bytes\n", rs_sketch_memory(sk));
        RS_CHECK(rs_sketch_memory(sk) == mem_0);

        buf  = serialize_alloc(sk, &len);
        back = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(back != NULL, "%s", err);
        RS_CHECK(back && rs_sketch_memory(back) == mem_0);
        RS_CHECK(back && same_sketch(sk, back));
        free(buf);

        nine = rs_sketch_new(0.01);
        for (k = 0; k <= RS_SKETCH_COMPACT; k++)
                RS_CHECK(rs_sketch_add(nine, 100 + 10 * k, 1) == 0);
        buf   = serialize_alloc(nine, &len);
        nback = rs_sketch_deserialize(buf, len, err, sizeof(err));
        RS_CHECK_MSG(nback != NULL, "%s", err);
        RS_CHECK(nback && rs_sketch_memory(nback) > mem_0);
        RS_CHECK(nback && same_sketch(nine, nback));
        free(buf);

        rs_sketch_destroy(sk);
        rs_sketch_destroy(back);
        rs_sketch_destroy(nine);
        rs_sketch_destroy(nback);
}

/* A sketch of one of several shapes: a few values (compact), a narrow or
 * a wide spread (rings of different sizes), zeros, or enough range to hit
 * the bin cap. */
static void fill_shape(rs_sketch_t *sk, rs_sketch_t *twin, int shape) {
        int    n     = shape == 0 ? 1 + (int)(rng_next() % RS_SKETCH_COMPACT)
                                  : 20 + (int)(rng_next() % 400);
        double sigma = shape == 1 ? 0.3 : shape == 2 ? 2.0 : 25.0;
        int    k;

        for (k = 0; k < n; k++) {
                double v =
                    k % 7 == 0 && shape == 2 ? 0 : rng_lognormal(6, sigma);
                double w = 1 + (double)(rng_next() % 4);

                if (v > DBL_MAX)
                        v = DBL_MAX;
                RS_CHECK(rs_sketch_add(sk, v, w) == 0);
                RS_CHECK(rs_sketch_add(twin, v, w) == 0);
        }
}

/* Pooled sketches give exactly what fresh ones give, whatever they held
 * before; rings are recycled, so the pool stops growing once a workload
 * repeats, and what it holds never exceeds the peak in use. */
static void test_pool(void) {
        rs_sketch_pool_t *pool = rs_sketch_pool_new(0.01);
        rs_sketch_t      *live[64], *fresh[64];
        size_t            mem_after[4] = {0}, bound;
        int               round, i, mismatches = 0;

        RS_CHECK(rs_sketch_pool_new(0) == NULL);
        RS_CHECK(rs_sketch_pool_new(1) == NULL);
        RS_CHECK(pool != NULL);
        RS_CHECK(rs_sketch_pool_memory(pool) == 0);
        for (round = 0; round < 4; round++) {
                /* Rounds 1 to 3 repeat round 1's workload. */
                rng_seed(round == 0 ? 11 : 12);
                for (i = 0; i < 64; i++) {
                        live[i]  = rs_sketch_pool_get(pool);
                        fresh[i] = rs_sketch_new(0.01);
                        RS_CHECK(live[i] && rs_sketch_count(live[i]) == 0);
                        fill_shape(live[i], fresh[i], (i + !!round) % 4);
                }
                /* Merging into a pooled sketch takes its ring from the pool
                 * too. */
                for (i = 0; i < 8; i++) {
                        RS_CHECK(rs_sketch_merge(live[i], live[i + 8]) == 0);
                        RS_CHECK(rs_sketch_merge(fresh[i], fresh[i + 8]) == 0);
                }
                for (i = 0; i < 64; i++) {
                        if (!same_sketch(live[i], fresh[i]))
                                mismatches++;
                        rs_sketch_destroy(fresh[i]);
                }
                for (i = 0; i < 64; i++)
                        rs_sketch_pool_put(pool, live[i]);
                mem_after[round] = rs_sketch_pool_memory(pool);
        }
        RS_CHECK_MSG(mismatches == 0, "%d pooled sketches differ", mismatches);
        printf("  pool after each round: %zu, %zu, %zu, %zu bytes\n",
               mem_after[0], mem_after[1], mem_after[2], mem_after[3]);
        RS_CHECK(mem_after[1] >= mem_after[0]);
        RS_CHECK(mem_after[2] == mem_after[1]);
        RS_CHECK(mem_after[3] == mem_after[1]);
        /* 64 handles and at most one ring of each size per handle. */
        bound = 64 * (rs_sketch_memory(live[0]) +
                      2 * RS_SKETCH_MAX_BINS * sizeof(double));
        RS_CHECK(mem_after[3] <= bound);

        /* A handle comes back compact: no ring, whatever it held. */
        live[0]  = rs_sketch_pool_get(pool);
        fresh[0] = rs_sketch_new(0.01);
        RS_CHECK(rs_sketch_memory(live[0]) == rs_sketch_memory(fresh[0]));
        rs_sketch_destroy(fresh[0]);
        /* Destroying a pooled sketch instead of returning it is fine. */
        rs_sketch_destroy(live[0]);
        rs_sketch_pool_put(pool, NULL);
        rs_sketch_pool_destroy(pool);
        rs_sketch_pool_destroy(NULL);
}

static uint64_t get_varint(const unsigned char *b, size_t *pos) {
        uint64_t v  = 0;
        unsigned sh = 0;

        do {
                v |= (uint64_t)(b[*pos] & 0x7f) << sh;
                sh += 7;
        } while (b[(*pos)++] & 0x80);
        return v;
}

/* The buckets a sketch writes are exactly the ones it was given, read back
 * from the bytes by this test's own decoder: sets of buckets of every
 * density, over spans that put them in rings of every size and across the
 * end of the ring (bucket i sits in slot i mod the ring size), compact ones
 * too. The walk over a ring skips empty slots several at a time, so runs
 * of empties of every length and buckets at every offset are covered. */
static void test_walk(void) {
        const double a = 0.01, gamma = (1 + a) / (1 - a);
        int          round, bad = 0, rings = 0;

        rng_seed(31);
        for (round = 0; round < 3000; round++) {
                rs_sketch_t   *sk = rs_sketch_new(a);
                int32_t        idx[RS_SKETCH_MAX_BINS];
                uint64_t       w[RS_SKETCH_MAX_BINS];
                int            n = 0, k, span = 1 + (int)(rng_next() % 1500);
                int32_t        base    = 200 + (int32_t)(rng_next() % 700);
                double         density = rng_uniform() * rng_uniform();
                size_t         len, pos = 2 + 8;
                unsigned char *b;
                int64_t        at = 0;

                for (k = 0; k < span; k++) {
                        if (k > 0 && k < span - 1 && rng_uniform() >= density)
                                continue;
                        idx[n] = base + k;
                        w[n]   = 1 + rng_next() % 5;
                        n++;
                }
                /* Added in a shuffled order: the ring grows both ways. */
                for (k = n - 1; k > 0; k--) {
                        int      j  = (int)(rng_next() % (uint64_t)(k + 1));
                        int32_t  ti = idx[k];
                        uint64_t tw = w[k];

                        idx[k] = idx[j], w[k] = w[j];
                        idx[j] = ti, w[j] = tw;
                }
                for (k = 0; k < n; k++)
                        rs_sketch_add(sk, pow(gamma, idx[k]) * 2 / (gamma + 1),
                                      (double)w[k]);
                rings += n > RS_SKETCH_COMPACT;
                /* Expected: ascending indices. */
                for (k = 1; k < n; k++) {
                        int j = k;

                        while (j > 0 && idx[j - 1] > idx[j]) {
                                int32_t  ti = idx[j];
                                uint64_t tw = w[j];

                                idx[j] = idx[j - 1], w[j] = w[j - 1];
                                idx[j - 1] = ti, w[j - 1] = tw;
                                j--;
                        }
                }
                b = serialize_alloc(sk, &len);
                if (!(b[1] & 1)) { /* whole weights: varint counts */
                        bad++;
                        goto next;
                }
                get_varint(b, &pos); /* count */
                pos += 3 * 8;        /* sum, min, max */
                get_varint(b, &pos); /* zero */
                get_varint(b, &pos); /* collapsed */
                if (get_varint(b, &pos) != (uint64_t)n) {
                        bad++;
                        goto next;
                }
                for (k = 0; k < n; k++) {
                        uint64_t v = get_varint(b, &pos);

                        at = k == 0 ? (int64_t)(v >> 1) ^ -(int64_t)(v & 1)
                                    : at + (int64_t)v;
                        if (at != idx[k] || get_varint(b, &pos) != w[k]) {
                                bad++;
                                break;
                        }
                }
                if (k == n && pos != len)
                        bad++;
        next:
                free(b);
                rs_sketch_destroy(sk);
        }
        RS_CHECK_MSG(bad == 0, "%d of 3000 sketches wrote other buckets", bad);
        RS_CHECK(rings > 2000);
        printf("  bucket walks: 3000 sketches, %d of them rings\n", rings);
}

static int ptr_cmp(const void *x, const void *y) {
        uintptr_t a = (uintptr_t) * (rs_sketch_t *const *)x,
                  b = (uintptr_t) * (rs_sketch_t *const *)y;

        return a < b ? -1 : a > b;
}

/* Pool handles are cut from slabs: many at once are distinct, line-aligned
 * and independent of each other; each one goes back to its own pool, also
 * when destroyed or put with another pool; and a pool hands out returned
 * handles before it cuts new ones. */
static void test_pool_slabs(void) {
        enum { N = 300 }; /* several slabs */
        rs_sketch_pool_t *a = rs_sketch_pool_new(0.01);
        rs_sketch_pool_t *b = rs_sketch_pool_new(0.01);
        rs_sketch_t      *sk[N], *sorted[N], *plain = rs_sketch_new(0.01);
        unsigned char     x[4096], y[4096];
        size_t            slot, mem, nx, ny;
        int               i, k, unaligned = 0, wrong = 0, overlap = 0;

        RS_CHECK(a && b && plain);
        RS_CHECK(((uintptr_t)plain & 63) == 0);
        for (i = 0; i < N; i++) {
                sk[i] = rs_sketch_pool_get(a);
                if (!sk[i] || ((uintptr_t)sk[i] & 63) != 0)
                        unaligned++;
        }
        RS_CHECK_MSG(unaligned == 0, "%d handles NULL or not line-aligned",
                     unaligned);
        slot = rs_sketch_memory(sk[0]);
        memcpy(sorted, sk, sizeof(sk));
        qsort(sorted, N, sizeof(sorted[0]), ptr_cmp);
        for (i = 1; i < N; i++)
                if ((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < slot)
                        overlap++;
        RS_CHECK_MSG(overlap == 0, "%d handles closer than %zu bytes", overlap,
                     slot);

        /* Up to 29 buckets each, so some take rings; every one holds what
         * a sketch of its own holds. */
        for (i = 0; i < N; i++)
                for (k = 0; k <= i % 30; k++)
                        RS_CHECK(rs_sketch_add(sk[i], 100.0 + 37.0 * k + i,
                                               1.0 + (k % 3)) == 0);
        for (i = 0; i < N; i++) {
                rs_sketch_t *own = rs_sketch_new(0.01);

                for (k = 0; k <= i % 30; k++)
                        rs_sketch_add(own, 100.0 + 37.0 * k + i, 1.0 + (k % 3));
                nx = rs_sketch_serialize(sk[i], x, sizeof(x));
                ny = rs_sketch_serialize(own, y, sizeof(y));
                if (nx == 0 || nx != ny || memcmp(x, y, nx) != 0)
                        wrong++;
                rs_sketch_destroy(own);
        }
        RS_CHECK_MSG(wrong == 0, "%d pooled sketches differ from their own",
                     wrong);

        /* Half destroyed, half put with the other pool: all go back to a. */
        for (i = 0; i < N; i++) {
                if (i % 2)
                        rs_sketch_destroy(sk[i]);
                else
                        rs_sketch_pool_put(b, sk[i]);
        }
        RS_CHECK(rs_sketch_pool_memory(b) == 0);
        mem = rs_sketch_pool_memory(a);
        RS_CHECK(mem >= N * slot);
        /* Taken again: the returned handles, none cut anew. */
        for (i = 0; i < N; i++)
                sk[i] = rs_sketch_pool_get(a);
        RS_CHECK(rs_sketch_pool_memory(a) == mem - N * slot);
        qsort(sk, N, sizeof(sk[0]), ptr_cmp);
        for (i = 0; i < N; i++)
                if (sk[i] != sorted[i])
                        wrong++;
        RS_CHECK_MSG(wrong == 0, "%d handles are not the returned ones", wrong);
        for (i = 0; i < N; i++) {
                RS_CHECK(rs_sketch_count(sk[i]) == 0);
                rs_sketch_pool_put(a, sk[i]);
        }
        RS_CHECK(rs_sketch_pool_memory(a) == mem);
        /* A sketch of no pool put into one is simply destroyed. */
        rs_sketch_pool_put(a, plain);
        RS_CHECK(rs_sketch_pool_memory(a) == mem);
        rs_sketch_pool_destroy(a);
        rs_sketch_pool_destroy(b);
}

/* rs_sketch_quantiles() gives bit for bit what one rs_sketch_quantile()
 * per q gives, in or out of order, at 0 and 1, on repeats, on zeros and
 * collapsed buckets. */
static void test_quantiles_walk(void) {
        static const double qs_asc[]   = {0,    0.001, 0.01, 0.25, 0.5,   0.5,
                                          0.75, 0.9,   0.95, 0.99, 0.999, 1};
        static const double qs_mixed[] = {0.99, 0.5, 1, 0, 0.75, 0.5};
        const size_t        na         = sizeof(qs_asc) / sizeof(qs_asc[0]);
        const size_t        nm         = sizeof(qs_mixed) / sizeof(qs_mixed[0]);
        double              got[16], one, bad[2] = {0.5, 1.5};
        rs_sketch_t        *sk, *twin, *empty    = rs_sketch_new(0.01);
        int                 t, bad_cnt = 0;
        size_t              i;

        rng_seed(77);
        for (t = 0; t < 400; t++) {
                sk   = rs_sketch_new(0.01);
                twin = rs_sketch_new(0.01);
                fill_shape(sk, twin, t % 4);
                RS_CHECK(rs_sketch_quantiles(sk, qs_asc, na, got) == 0);
                for (i = 0; i < na; i++)
                        if (rs_sketch_quantile(sk, qs_asc[i], &one) != 0 ||
                            memcmp(&one, &got[i], sizeof(one)))
                                bad_cnt++;
                RS_CHECK(rs_sketch_quantiles(sk, qs_mixed, nm, got) == 0);
                for (i = 0; i < nm; i++)
                        if (rs_sketch_quantile(sk, qs_mixed[i], &one) != 0 ||
                            memcmp(&one, &got[i], sizeof(one)))
                                bad_cnt++;
                RS_CHECK(rs_sketch_quantiles(sk, bad, 2, got) == -1);
                rs_sketch_destroy(sk);
                rs_sketch_destroy(twin);
        }
        RS_CHECK_MSG(bad_cnt == 0, "%d quantiles differ", bad_cnt);
        RS_CHECK(rs_sketch_quantiles(empty, qs_asc, na, got) == -1);
        RS_CHECK(rs_sketch_quantiles(empty, qs_asc, 0, got) == -1);
        rs_sketch_destroy(empty);
}

/* rs_sketch_add_many() leaves every sketch as rs_sketch_add() would,
 * including one of another accuracy, zeros and a sketch that refuses. */
static void test_add_many(void) {
        rs_sketch_t *many[4], *one[4];
        double       acc[4] = {0.01, 0.01, 0.02, 0.01};
        int          k, i, differ = 0;

        for (i = 0; i < 4; i++) {
                many[i] = rs_sketch_new(acc[i]);
                one[i]  = rs_sketch_new(acc[i]);
        }
        rng_seed(5);
        for (k = 0; k < 20000; k++) {
                double v = k % 13 == 0 ? 0 : rng_lognormal(7, 1.5);
                double w = 1 + (double)(rng_next() % 3) / 2;

                /* Some values skip the last sketch, as a metric counts in
                 * fewer segments. */
                size_t n = k % 5 == 0 ? 3 : 4;

                RS_CHECK(rs_sketch_add_many(many, n, v, w) == 0);
                for (i = 0; i < (int)n; i++)
                        RS_CHECK(rs_sketch_add(one[i], v, w) == 0);
        }
        for (i = 0; i < 4; i++)
                if (!same_sketch(many[i], one[i]))
                        differ++;
        RS_CHECK_MSG(differ == 0, "%d sketches differ", differ);

        /* Bad input: nothing anywhere. */
        RS_CHECK(rs_sketch_add_many(many, 4, -1, 1) == -1);
        RS_CHECK(rs_sketch_add_many(many, 4, NAN, 1) == -1);
        RS_CHECK(rs_sketch_add_many(many, 4, 5, 0) == -1);
        RS_CHECK(rs_sketch_add_many(many, 0, 5, 1) == 0);
        for (i = 0; i < 4; i++)
                RS_CHECK(same_sketch(many[i], one[i]));

        /* One sketch near the top refuses; the others take the value. */
        RS_CHECK(rs_sketch_add(many[1], DBL_MAX / 2, 1.5) == 0);
        RS_CHECK(rs_sketch_add(one[1], DBL_MAX / 2, 1.5) == 0);
        RS_CHECK(rs_sketch_add_many(many, 4, DBL_MAX / 2, 1) == -1);
        RS_CHECK(rs_sketch_add(one[1], DBL_MAX / 2, 1) == -1);
        for (i = 0; i < 4; i++) {
                if (i != 1)
                        RS_CHECK(rs_sketch_add(one[i], DBL_MAX / 2, 1) == 0);
                RS_CHECK_MSG(same_sketch(many[i], one[i]), "sketch %d", i);
                rs_sketch_destroy(many[i]);
                rs_sketch_destroy(one[i]);
        }
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
        test_compact_same();
        test_compact_merge();
        test_compact_growth();
        test_compact_collapsed();
        test_compact_memory();
        test_pool();
        test_pool_slabs();
        test_walk();
        test_quantiles_walk();
        test_add_many();
        return RS_TEST_DONE();
}
