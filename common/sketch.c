/*
 * sketch: DDSketch-style relative-error quantile sketch.
 *
 * Buckets. With gamma = (1 + a) / (1 - a), value x > RS_SKETCH_MIN_VALUE
 * goes to bucket i = ceil(ln(x) / ln(gamma)), i.e. (gamma^(i-1), gamma^i].
 * Reporting 2 * gamma^i / (gamma + 1) for anything in that bucket is off by
 * at most a, relative. Indices are int32: the accuracy floor
 * RS_SKETCH_MIN_ACCURACY keeps ln(DBL_MAX) / ln(gamma) far below 2^31.
 *
 * Storage. The buckets [lo, hi] live in a ring of `cap` doubles (a power of
 * two), bucket i in slot i & (cap - 1). A ring rather than an offset array
 * because it never has to move data: extending the range up or down only
 * needs the new slots to be free, and sliding the window up under the bin
 * cap only zeroes the slots it folds away. Slots outside [lo, hi] are always
 * zero. The ring is allocated on the first non-zero value and doubles when
 * the span outgrows it, up to RS_SKETCH_MAX_BINS slots; after that the span
 * is capped by folding the lowest buckets into lo.
 *
 * Collapsing. `collapsed` is the weight sitting in bucket lo that belongs
 * below it. The final lo is max(lowest index seen, hi - MAX_BINS + 1) no
 * matter in which order values arrived, so a merge of sketches equals the
 * sketch of the union even after collapsing, `collapsed` included.
 *
 * Wire format, version 1 (all integers unsigned LEB128 varints, doubles
 * 8 bytes IEEE 754 little endian, "cnt" a varint when flag bit 0 is set -
 * every count integral and below 2^53 - else a double):
 *
 *   u8   0xD1          high nibble magic 0xD, low nibble version 1
 *   u8   flags         bit 0: counts are varints
 *   f64  accuracy
 *   cnt  count
 *   f64  sum, min, max (all 0 when count is 0)
 *   cnt  zero count
 *   cnt  collapsed
 *   var  n, number of non-empty buckets (<= RS_SKETCH_MAX_BINS)
 *   if n > 0:  zigzag varint first index, cnt its count,
 *              then n - 1 times: var index delta (>= 1), cnt count
 *
 * A sketch of latencies keeps a few hundred adjacent buckets with small
 * integer counts, which this packs into 2-3 bytes each.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/sketch.h"

#define SKETCH_MAGIC_VERSION 0xD1
#define SKETCH_FLAG_VARINT   0x01
#define SKETCH_INITIAL_BINS  64
/* Largest double that still holds every integer below it exactly. */
#define SKETCH_INT_LIMIT 9007199254740992.0 /* 2^53 */

_Static_assert((RS_SKETCH_MAX_BINS & (RS_SKETCH_MAX_BINS - 1)) == 0,
               "the bucket ring needs a power-of-two bin cap");
_Static_assert(SKETCH_INITIAL_BINS <= RS_SKETCH_MAX_BINS,
               "initial ring larger than the cap");

#if defined(__GNUC__)
#define SKETCH_COLD __attribute__((noinline, cold))
#else
#define SKETCH_COLD
#endif

struct rs_sketch_s {
        double accuracy;
        double log_gamma;
        double inv_log_gamma; /* multiply, not divide, on the hot path */
        double rep_scale;     /* 2 / (gamma + 1) */
        double gamma;

        double count;
        double sum;
        double min; /* +inf / -inf while empty: add needs no empty check */
        double max;
        double zero;
        double collapsed;

        double  *bins;  /* ring of cap slots, NULL until the first value */
        uint32_t mask;  /* cap - 1 */
        uint32_t nspan; /* hi - lo + 1, 0 when no bucket is in use */
        int32_t  lo;
        int32_t  hi;
};


static inline int32_t value_index(const rs_sketch_t *sk, double value) {
        double  t = log(value) * sk->inv_log_gamma;
        int32_t i = (int32_t)t;

        /* ceil() without a libm call: truncation already rounds negative t
         * up; positive non-integral t needs one more. */
        return i + ((double)i < t);
}

static inline double *slot(const rs_sketch_t *sk, int64_t idx) {
        return &sk->bins[(uint32_t)idx & sk->mask];
}

static inline uint32_t sketch_cap(const rs_sketch_t *sk) {
        return sk->bins ? sk->mask + 1 : 0;
}

static void sketch_clear(rs_sketch_t *sk) {
        sk->count     = 0;
        sk->sum       = 0;
        sk->min       = INFINITY;
        sk->max       = -INFINITY;
        sk->zero      = 0;
        sk->collapsed = 0;
        sk->nspan     = 0;
        sk->lo        = 0;
        sk->hi        = 0;
}

rs_sketch_t *rs_sketch_new(double relative_accuracy) {
        rs_sketch_t *sk;

        if (!(relative_accuracy >= RS_SKETCH_MIN_ACCURACY &&
              relative_accuracy < 1.0))
                return NULL;

        sk = calloc(1, sizeof(*sk));
        if (!sk)
                return NULL;

        sk->accuracy  = relative_accuracy;
        sk->gamma     = (1.0 + relative_accuracy) / (1.0 - relative_accuracy);
        sk->log_gamma = log(sk->gamma);
        sk->inv_log_gamma = 1.0 / sk->log_gamma;
        sk->rep_scale     = 2.0 / (sk->gamma + 1.0);
        sketch_clear(sk);
        return sk;
}

void rs_sketch_destroy(rs_sketch_t *sk) {
        if (!sk)
                return;
        free(sk->bins);
        free(sk);
}

void rs_sketch_reset(rs_sketch_t *sk) {
        if (sk->bins && sk->nspan) {
                uint32_t k;

                for (k = 0; k < sk->nspan; k++)
                        *slot(sk, (int64_t)sk->lo + k) = 0;
        }
        sketch_clear(sk);
}

/**
 * @brief Makes the ring at least \p need slots (need <= RS_SKETCH_MAX_BINS).
 * @returns 0, or -1 on allocation failure with the sketch unchanged.
 */
static int grow(rs_sketch_t *sk, uint32_t need) {
        uint32_t cap = sketch_cap(sk), newcap, k;
        double  *nb;

        if (sk->bins && need <= cap)
                return 0;

        newcap = cap ? cap : SKETCH_INITIAL_BINS;
        while (newcap < need)
                newcap <<= 1;

        nb = calloc(newcap, sizeof(*nb));
        if (!nb)
                return -1;

        /* Slots depend on the ring size, so re-place rather than realloc. */
        for (k = 0; k < sk->nspan; k++) {
                int64_t idx = (int64_t)sk->lo + k;

                nb[(uint32_t)idx & (newcap - 1)] = *slot(sk, idx);
        }
        free(sk->bins);
        sk->bins = nb;
        sk->mask = newcap - 1;
        return 0;
}

/**
 * @brief Folds buckets [lo, newlo - 1] into newlo (newlo > lo), which
 *        becomes lo. The ring must already hold the range that follows.
 */
static void fold_below(rs_sketch_t *sk, int64_t newlo) {
        int64_t last = newlo - 1 < sk->hi ? newlo - 1 : sk->hi;
        int64_t idx;
        double  s = 0;

        for (idx = sk->lo; idx <= last; idx++) {
                double *b = slot(sk, idx);

                s += *b;
                *b = 0;
        }
        /* Whatever was collapsed before sat in the old lo, so it is part of
         * s: this replaces rather than adds. */
        sk->collapsed = s;
        *slot(sk, newlo) += s;
        sk->lo = (int32_t)newlo;
        if (newlo > sk->hi)
                sk->hi = (int32_t)newlo;
        sk->nspan = (uint32_t)(sk->hi - sk->lo + 1);
}

/**
 * @brief Adds \p weight to bucket \p idx when it lies outside [lo, hi]:
 *        extends the range, grows the ring, or collapses under the cap.
 * @returns 0, or -1 on allocation failure (nothing changed).
 */
static SKETCH_COLD int add_slow(rs_sketch_t *sk, int64_t idx, double weight) {
        const int64_t max_bins = RS_SKETCH_MAX_BINS;

        if (!sk->nspan) {
                if (grow(sk, 1) == -1)
                        return -1;
                sk->lo = sk->hi = (int32_t)idx;
        } else if (idx > sk->hi) {
                int64_t span = idx - sk->lo + 1;

                if (grow(sk, (uint32_t)(span < max_bins ? span : max_bins)) ==
                    -1)
                        return -1;
                if (span > max_bins)
                        fold_below(sk, idx - max_bins + 1);
                sk->hi = (int32_t)idx;
        } else {
                int64_t span = sk->hi - idx + 1;

                if (grow(sk, (uint32_t)(span < max_bins ? span : max_bins)) ==
                    -1)
                        return -1;
                if (span > max_bins) {
                        /* Full span: extend down as far as the cap allows
                         * (only possible before the first collapse) and
                         * count the value as collapsed into that lo. */
                        idx = sk->hi - max_bins + 1;
                        sk->collapsed += weight;
                }
                sk->lo = (int32_t)idx;
        }
        sk->nspan = (uint32_t)(sk->hi - sk->lo + 1);
        *slot(sk, idx) += weight;
        return 0;
}

static inline int add_at(rs_sketch_t *sk, int32_t idx, double weight) {
        /* One unsigned compare tests lo <= idx <= hi, and fails on an empty
         * range since nspan is 0. */
        if ((uint32_t)idx - (uint32_t)sk->lo < sk->nspan) {
                sk->bins[(uint32_t)idx & sk->mask] += weight;
                return 0;
        }
        return add_slow(sk, idx, weight);
}

int rs_sketch_add(rs_sketch_t *sk, double value, double weight) {
        double count, sum;

        /* Written so that NaN fails every test. */
        if (!(value >= 0 && value <= DBL_MAX && weight > 0 &&
              weight <= DBL_MAX))
                return -1;

        count = sk->count + weight;
        sum   = sk->sum + value * weight;
        /* Keeping every total finite keeps the serialized form valid. */
        if (!(count <= DBL_MAX && sum <= DBL_MAX))
                return -1;

        if (value > RS_SKETCH_MIN_VALUE) {
                if (add_at(sk, value_index(sk, value), weight) == -1)
                        return -1;
        } else {
                sk->zero += weight;
                value += 0.0; /* -0.0 becomes +0.0, so min never reads -0 */
        }

        sk->count = count;
        sk->sum   = sum;
        if (value < sk->min)
                sk->min = value;
        if (value > sk->max)
                sk->max = value;
        return 0;
}

int rs_sketch_merge(rs_sketch_t *dst, const rs_sketch_t *src) {
        const int64_t max_bins = RS_SKETCH_MAX_BINS;
        double        count, sum, src_collapsed = src->collapsed;
        int64_t       idx;

        if (dst->accuracy != src->accuracy)
                return -1;
        if (src->count == 0)
                return 0;

        count = dst->count + src->count;
        sum   = dst->sum + src->sum;
        if (!(count <= DBL_MAX && sum <= DBL_MAX))
                return -1;

        if (src->nspan) {
                int64_t hi = src->hi, lo = src->lo, span;

                if (dst->nspan) {
                        if (dst->hi > hi)
                                hi = dst->hi;
                        if (dst->lo < lo)
                                lo = dst->lo;
                }
                if (hi - lo + 1 > max_bins)
                        lo = hi - max_bins + 1;
                span = hi - lo + 1;

                if (grow(dst, (uint32_t)span) == -1)
                        return -1;
                if (dst->nspan && dst->lo < lo)
                        fold_below(dst, lo);
                /* An empty ring is all zero, so any [lo, hi] is free; a
                 * non-empty one leaves [lo, hi] minus its range zeroed. */
                dst->lo    = (int32_t)lo;
                dst->hi    = (int32_t)hi;
                dst->nspan = (uint32_t)span;

                idx = src->lo;
                if (idx < lo) {
                        /* src's own collapsed weight is in src->lo, so it is
                         * counted here. */
                        double s = 0;

                        for (; idx < lo && idx <= src->hi; idx++)
                                s += *slot(src, idx);
                        *slot(dst, lo) += s;
                        src_collapsed = s;
                        idx           = lo;
                }
                for (; idx <= src->hi; idx++)
                        *slot(dst, idx) += *slot(src, idx);
        }

        dst->collapsed += src_collapsed;
        dst->zero += src->zero;
        dst->count = count;
        dst->sum   = sum;
        if (src->min < dst->min)
                dst->min = src->min;
        if (src->max > dst->max)
                dst->max = src->max;
        return 0;
}

double rs_sketch_count(const rs_sketch_t *sk) {
        return sk->count;
}

double rs_sketch_sum(const rs_sketch_t *sk) {
        return sk->sum;
}

double rs_sketch_min(const rs_sketch_t *sk) {
        return sk->count > 0 ? sk->min : NAN;
}

double rs_sketch_max(const rs_sketch_t *sk) {
        return sk->count > 0 ? sk->max : NAN;
}

double rs_sketch_accuracy(const rs_sketch_t *sk) {
        return sk->accuracy;
}

double rs_sketch_collapsed(const rs_sketch_t *sk) {
        return sk->collapsed;
}

static double clamp(const rs_sketch_t *sk, double v) {
        if (v < sk->min)
                return sk->min;
        if (v > sk->max)
                return sk->max;
        return v;
}

int rs_sketch_quantile(const rs_sketch_t *sk, double q, double *out) {
        double  rank, cum;
        int64_t idx;

        if (!(q >= 0 && q <= 1) || !(sk->count > 0))
                return -1;

        if (q == 0) {
                *out = sk->min;
                return 0;
        }
        if (q == 1) {
                *out = sk->max;
                return 0;
        }

        rank = q * (sk->count - 1);
        cum  = sk->zero;
        if (cum > rank) {
                *out = clamp(sk, 0);
                return 0;
        }
        for (idx = sk->lo; idx < (int64_t)sk->lo + sk->nspan; idx++) {
                cum += *slot(sk, idx);
                if (cum > rank) {
                        *out = clamp(sk, pow(sk->gamma, (double)idx) *
                                             sk->rep_scale);
                        return 0;
                }
        }
        /* Rounding left the running sum a hair short of the total. */
        *out = sk->max;
        return 0;
}


/*
 * Encoding
 */

typedef struct writer_s {
        unsigned char *buf; /* NULL: only measure */
        size_t         pos;
        int            varint_counts;
} writer_t;

static void put_u8(writer_t *w, unsigned v) {
        if (w->buf)
                w->buf[w->pos] = (unsigned char)v;
        w->pos++;
}

static void put_varint(writer_t *w, uint64_t v) {
        while (v >= 0x80) {
                put_u8(w, (unsigned)(v & 0x7f) | 0x80);
                v >>= 7;
        }
        put_u8(w, (unsigned)v);
}

static void put_double(writer_t *w, double d) {
        uint64_t bits;
        int      i;

        memcpy(&bits, &d, sizeof(bits));
        for (i = 0; i < 8; i++)
                put_u8(w, (unsigned)(bits >> (8 * i)) & 0xff);
}

static void put_count(writer_t *w, double c) {
        if (w->varint_counts)
                put_varint(w, (uint64_t)c);
        else
                put_double(w, c);
}

static int is_small_int(double c) {
        return c >= 0 && c < SKETCH_INT_LIMIT && c == floor(c);
}

static void encode(const rs_sketch_t *sk, writer_t *w) {
        int      empty = !(sk->count > 0);
        int64_t  idx, prev = 0;
        uint64_t n = 0;

        put_u8(w, SKETCH_MAGIC_VERSION);
        put_u8(w, w->varint_counts ? SKETCH_FLAG_VARINT : 0);
        put_double(w, sk->accuracy);
        put_count(w, sk->count);
        put_double(w, sk->sum);
        put_double(w, empty ? 0 : sk->min);
        put_double(w, empty ? 0 : sk->max);
        put_count(w, sk->zero);
        put_count(w, sk->collapsed);

        for (idx = sk->lo; idx < (int64_t)sk->lo + sk->nspan; idx++)
                n += *slot(sk, idx) != 0;
        put_varint(w, n);

        for (idx = sk->lo; idx < (int64_t)sk->lo + sk->nspan; idx++) {
                double c = *slot(sk, idx);

                if (c == 0)
                        continue;
                if (idx == sk->lo) /* lo is never empty */
                        put_varint(w, ((uint64_t)idx << 1) ^
                                          (uint64_t)(idx < 0 ? -1 : 0));
                else
                        put_varint(w, (uint64_t)(idx - prev));
                put_count(w, c);
                prev = idx;
        }
}

size_t rs_sketch_serialize(const rs_sketch_t *sk, void *buf, size_t size) {
        writer_t w = {NULL, 0, 1};
        int64_t  idx;

        w.varint_counts = is_small_int(sk->count) && is_small_int(sk->zero) &&
                          is_small_int(sk->collapsed);
        for (idx = sk->lo; w.varint_counts && idx < (int64_t)sk->lo + sk->nspan;
             idx++)
                w.varint_counts = is_small_int(*slot(sk, idx));

        /* Measure first so a short buffer is left untouched. */
        encode(sk, &w);
        if (w.pos <= size && buf) {
                size_t need = w.pos;

                w.buf = buf;
                w.pos = 0;
                encode(sk, &w);
                return need;
        }
        return w.pos;
}


/*
 * Decoding: every read is bounds-checked and every value range-checked
 * before it reaches the sketch, since the bytes come off the network.
 */

typedef struct reader_s {
        const unsigned char *buf;
        size_t               len;
        size_t               pos;
        int                  varint_counts;
        char                *errstr;
        size_t               errstr_size;
} reader_t;

static int fail(reader_t *r, const char *fmt, ...) {
        va_list ap;

        if (r->errstr && r->errstr_size) {
                va_start(ap, fmt);
                vsnprintf(r->errstr, r->errstr_size, fmt, ap);
                va_end(ap);
        }
        return -1;
}

static int get_u8(reader_t *r, unsigned *v, const char *what) {
        if (r->pos >= r->len)
                return fail(r, "truncated at offset %zu reading %s", r->pos,
                            what);
        *v = r->buf[r->pos++];
        return 0;
}

static int get_varint(reader_t *r, uint64_t *v, const char *what) {
        uint64_t x = 0;
        unsigned shift;

        for (shift = 0; shift < 64; shift += 7) {
                unsigned b = 0;

                if (get_u8(r, &b, what) == -1)
                        return -1;
                /* The 10th byte may only carry the top bit. */
                if (shift == 63 && b > 1)
                        return fail(r, "varint overflow in %s", what);
                x |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *v = x;
                        return 0;
                }
        }
        return fail(r, "varint overflow in %s", what);
}

static int get_double(reader_t *r, double *d, const char *what) {
        uint64_t bits = 0;
        int      i;

        if (r->len - r->pos < 8)
                return fail(r, "truncated at offset %zu reading %s", r->pos,
                            what);
        for (i = 0; i < 8; i++)
                bits |= (uint64_t)r->buf[r->pos + i] << (8 * i);
        r->pos += 8;
        memcpy(d, &bits, sizeof(*d));
        if (!isfinite(*d))
                return fail(r, "%s is not finite", what);
        return 0;
}

static int get_count(reader_t *r, double *c, const char *what) {
        if (r->varint_counts) {
                uint64_t v;

                if (get_varint(r, &v, what) == -1)
                        return -1;
                if (v >= (uint64_t)SKETCH_INT_LIMIT)
                        return fail(r, "%s %llu out of range", what,
                                    (unsigned long long)v);
                *c = (double)v;
                return 0;
        }
        if (get_double(r, c, what) == -1)
                return -1;
        if (*c < 0)
                return fail(r, "%s is negative", what);
        return 0;
}

rs_sketch_t *rs_sketch_deserialize(const void *buf, size_t len, char *errstr,
                                   size_t errstr_size) {
        reader_t     r  = {buf, len, 0, 0, errstr, errstr_size};
        rs_sketch_t *sk = NULL;
        double       accuracy, count, sum, min, max, zero, collapsed;
        double       total, first_count = 0;
        unsigned     b = 0;
        uint64_t     n, k, v;
        int64_t      idx = 0, first = 0, idx_lo, idx_hi;
        int          ok = 0;

        if (!buf && len)
                r.len = 0;

        if (get_u8(&r, &b, "version") == -1)
                goto out;
        if ((b >> 4) != (SKETCH_MAGIC_VERSION >> 4)) {
                fail(&r, "not a sketch (leading byte 0x%02x)", b);
                goto out;
        }
        if (b != SKETCH_MAGIC_VERSION) {
                fail(&r, "unsupported sketch version %u", b & 0x0f);
                goto out;
        }
        if (get_u8(&r, &b, "flags") == -1)
                goto out;
        if (b & ~(unsigned)SKETCH_FLAG_VARINT) {
                fail(&r, "unknown flags 0x%02x", b);
                goto out;
        }
        r.varint_counts = !!(b & SKETCH_FLAG_VARINT);

        if (get_double(&r, &accuracy, "accuracy") == -1)
                goto out;
        if (!(accuracy >= RS_SKETCH_MIN_ACCURACY && accuracy < 1)) {
                fail(&r, "accuracy %g out of range", accuracy);
                goto out;
        }
        if (get_count(&r, &count, "count") == -1 ||
            get_double(&r, &sum, "sum") == -1 ||
            get_double(&r, &min, "min") == -1 ||
            get_double(&r, &max, "max") == -1 ||
            get_count(&r, &zero, "zero count") == -1 ||
            get_count(&r, &collapsed, "collapsed count") == -1 ||
            get_varint(&r, &n, "bucket count") == -1)
                goto out;
        if (n > RS_SKETCH_MAX_BINS) {
                fail(&r, "%llu buckets exceed the cap of %d",
                     (unsigned long long)n, RS_SKETCH_MAX_BINS);
                goto out;
        }

        sk = rs_sketch_new(accuracy);
        if (!sk) {
                fail(&r, "out of memory");
                goto out;
        }
        /* Indices outside what a finite value above the zero threshold
         * maps to cannot come from a real sketch. */
        idx_lo = value_index(sk, nextafter(RS_SKETCH_MIN_VALUE, INFINITY));
        idx_hi = value_index(sk, DBL_MAX);

        total = zero;
        for (k = 0; k < n; k++) {
                double c;

                if (k == 0) {
                        if (get_varint(&r, &v, "first bucket index") == -1)
                                goto out;
                        /* zigzag */
                        idx   = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
                        first = idx;
                        if (idx < idx_lo || idx > idx_hi) {
                                fail(&r, "bucket index %lld out of range",
                                     (long long)idx);
                                goto out;
                        }
                } else {
                        if (get_varint(&r, &v, "bucket index delta") == -1)
                                goto out;
                        if (v == 0 || v >= RS_SKETCH_MAX_BINS ||
                            idx + (int64_t)v - first >= RS_SKETCH_MAX_BINS) {
                                fail(&r,
                                     "bucket index delta %llu breaks the "
                                     "span cap",
                                     (unsigned long long)v);
                                goto out;
                        }
                        idx += (int64_t)v;
                        if (idx > idx_hi) {
                                fail(&r, "bucket index %lld out of range",
                                     (long long)idx);
                                goto out;
                        }
                }
                if (get_count(&r, &c, "bucket count") == -1)
                        goto out;
                if (c == 0) {
                        fail(&r, "empty bucket %lld", (long long)idx);
                        goto out;
                }
                if (k == 0)
                        first_count = c;
                total += c;
                /* The span check above means this never collapses. */
                if (add_at(sk, (int32_t)idx, c) == -1) {
                        fail(&r, "out of memory");
                        goto out;
                }
        }
        if (r.pos != r.len) {
                fail(&r, "%zu trailing bytes", r.len - r.pos);
                goto out;
        }

        if (count == 0) {
                if (n || zero || collapsed || sum || min || max) {
                        fail(&r, "empty sketch with non-zero fields");
                        goto out;
                }
                ok = 1;
                goto out;
        }
        /* Count is kept separately from the buckets; both are sums of the
         * same weights in different orders, so allow rounding, not more. */
        if (!(fabs(total - count) <= 1e-6 * count)) {
                fail(&r, "count %.17g disagrees with the buckets (%.17g)",
                     count, total);
                goto out;
        }
        if (!(sum >= 0 && min >= 0 && min <= max)) {
                fail(&r, "bad sum/min/max (%g, %g, %g)", sum, min, max);
                goto out;
        }
        if ((zero > 0) != (min <= RS_SKETCH_MIN_VALUE) ||
            (n > 0) != (max > RS_SKETCH_MIN_VALUE)) {
                fail(&r, "min/max disagree with the buckets");
                goto out;
        }
        if (collapsed > 0 && (n == 0 || collapsed > first_count ||
                              idx - first + 1 != RS_SKETCH_MAX_BINS)) {
                fail(&r, "collapsed count %g without a full span", collapsed);
                goto out;
        }

        sk->count     = count;
        sk->sum       = sum;
        sk->min       = min;
        sk->max       = max;
        sk->zero      = zero;
        sk->collapsed = collapsed;
        ok            = 1;
out:
        if (!ok) {
                rs_sketch_destroy(sk);
                return NULL;
        }
        return sk;
}

static int near(double x, double y, double rel_tol) {
        double m = fabs(x) > fabs(y) ? fabs(x) : fabs(y);

        return x == y || fabs(x - y) <= rel_tol * m;
}

static double bucket_at(const rs_sketch_t *sk, int64_t idx) {
        if (idx < sk->lo || idx >= (int64_t)sk->lo + sk->nspan)
                return 0;
        return *slot(sk, idx);
}

int rs_sketch_equal(const rs_sketch_t *a, const rs_sketch_t *b,
                    double rel_tol) {
        int64_t lo, end, idx;

        if (!a || !b)
                return a == b;
        if (a->accuracy != b->accuracy || !near(a->count, b->count, rel_tol) ||
            !near(a->sum, b->sum, rel_tol) ||
            !near(a->zero, b->zero, rel_tol) ||
            !near(a->collapsed, b->collapsed, rel_tol))
                return 0;
        if ((a->count > 0) != (b->count > 0))
                return 0;
        if (a->count > 0 &&
            (!near(a->min, b->min, rel_tol) || !near(a->max, b->max, rel_tol)))
                return 0;

        if (!a->nspan || !b->nspan)
                return !a->nspan && !b->nspan;
        lo  = a->lo < b->lo ? a->lo : b->lo;
        end = (int64_t)a->lo + a->nspan;
        if ((int64_t)b->lo + b->nspan > end)
                end = (int64_t)b->lo + b->nspan;
        for (idx = lo; idx < end; idx++) {
                double ca = bucket_at(a, idx), cb = bucket_at(b, idx);

                if ((ca == 0) != (cb == 0) || !near(ca, cb, rel_tol))
                        return 0;
        }
        return 1;
}

size_t rs_sketch_memory(const rs_sketch_t *sk) {
        return sizeof(*sk) + (size_t)sketch_cap(sk) * sizeof(double);
}
