/*
 * sketch: DDSketch-style relative-error quantile sketch.
 *
 * Buckets. With gamma = (1 + a) / (1 - a), value x > RS_SKETCH_MIN_VALUE
 * goes to bucket i = ceil(ln(x) / ln(gamma)), i.e. (gamma^(i-1), gamma^i].
 * Reporting 2 * gamma^i / (gamma + 1) for anything in that bucket is off by
 * at most a, relative. Indices are int32: the accuracy floor
 * RS_SKETCH_MIN_ACCURACY keeps ln(DBL_MAX) / ln(gamma) far below 2^31.
 *
 * Storage. A sketch starts in compact mode: up to RS_SKETCH_COMPACT
 * non-empty buckets as (index, weight) pairs inside the struct, sorted by
 * index. Most sketches of an aggregator see a handful of values, and those
 * then cost no allocation and no page of their own. The bucket that would
 * be the (RS_SKETCH_COMPACT + 1)th moves the sketch to ring mode for good
 * (until rs_sketch_reset): the buckets [lo, hi] live in a ring of `cap`
 * doubles (a power of two), bucket i in slot i & (cap - 1). A ring rather
 * than an offset array because it never has to move data: extending the
 * range up or down only needs the new slots to be free, and sliding the
 * window up under the bin cap only zeroes the slots it folds away. Slots
 * outside [lo, hi] are always zero. The ring doubles when the span outgrows
 * it, up to RS_SKETCH_MAX_BINS slots; after that the span is capped by
 * folding the lowest buckets into lo. rs_sketch_reset zeroes the ring and
 * keeps it, so a sketch that is reset and reused never allocates again.
 * A sketch of a pool (rs_sketch_pool_t) takes its rings from the pool and
 * gives them back when it moves to a bigger one or is returned: the pool
 * keeps them zeroed, in one list per size.
 *
 * Memory. The handle is laid out for the add, which an aggregator does for
 * every value to sketches scattered over memory that is mostly not in
 * cache: handles are cache-line aligned, everything an add to a ring reads
 * besides the bucket sits in the first line, a zero and the first compact
 * pairs in the second. A pool cuts its handles from slabs.
 *
 * Both modes hold the same thing, a map from index to a weight > 0, and
 * every operation does the same floating-point additions in the same order
 * in both (an empty ring slot adds +0, which changes nothing), so which
 * mode a sketch is in never shows in its counts, quantiles or bytes.
 *
 * Collapsing. `collapsed` is the weight sitting in bucket lo (the lowest
 * non-empty bucket, in either mode) that belongs below it. The final lo is
 * max(lowest index seen, hi - MAX_BINS + 1) no matter in which order values
 * arrived, so a merge of sketches equals the sketch of the union even after
 * collapsing, `collapsed` included. A few buckets can span more than
 * MAX_BINS indices, so compact mode collapses exactly as the ring does.
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
_Static_assert(RS_SKETCH_COMPACT >= 1 && RS_SKETCH_COMPACT <= UINT8_MAX,
               "compact pairs are counted in a uint8_t");

#if defined(__GNUC__)
#define SKETCH_COLD __attribute__((noinline, cold))
#else
#define SKETCH_COLD
#endif

struct rs_sketch_s {
        /* The first cache line (handles are line-aligned): everything an
         * add to a ring reads or writes besides the bucket itself. */
        double   count;
        double   sum;
        double   min; /* +inf / -inf while empty: add needs no empty check */
        double   max;
        double   inv_log_gamma; /* multiply, not divide, on the hot path */
        double  *bins;          /* ring of cap slots, NULL until needed */
        uint16_t mask;          /* cap - 1 */
        uint16_t nspan; /* hi - lo + 1; 0 when empty or in compact mode */
        int32_t  lo;
        int32_t  hi;
        uint8_t  ring;  /* 1: buckets in bins; 0: in cidx/cw, bins all zero */
        uint8_t  ncomp; /* compact buckets in use */
        /* 1 once a weight that is not a whole number below 2^53 came in.
         * While 0 and count < 2^53, every count is a whole number (sums of
         * such stay exact), which serialization then need not check. */
        uint8_t frac;

        /* The second: a zero (CLS 0) and compact mode's first pairs. */
        double  zero;
        int32_t cidx[RS_SKETCH_COMPACT]; /* ascending */
        double  cw[RS_SKETCH_COMPACT];   /* each > 0 */

        double            collapsed;
        double            accuracy;
        rs_sketch_pool_t *pool; /* where rings come from, or NULL */
};

/* Handles are allocated line-aligned, SKETCH_SLOT bytes each: an add to
 * a ring then touches one line of its handle, not the two that a handle
 * straddling a line boundary would cost. */
#define SKETCH_LINE 64
#define SKETCH_SLOT                                                            \
        ((sizeof(rs_sketch_t) + SKETCH_LINE - 1) & ~(size_t)(SKETCH_LINE - 1))
_Static_assert(offsetof(rs_sketch_t, zero) == SKETCH_LINE,
               "an add's fields fill the handle's first cache line");
_Static_assert(sizeof(rs_sketch_t) <= 3 * SKETCH_LINE,
               "a handle is three cache lines");
_Static_assert(RS_SKETCH_MAX_BINS <= UINT16_MAX,
               "ring mask and span are uint16_t");
/* Pool handles come in slabs of this many. */
#define SKETCH_SLAB 64

/* Ring sizes are powers of two from SKETCH_INITIAL_BINS to the cap. */
#define SKETCH_RING_SIZES 6
_Static_assert(SKETCH_INITIAL_BINS << (SKETCH_RING_SIZES - 1) ==
                   RS_SKETCH_MAX_BINS,
               "one ring list per power of two up to the cap");

typedef struct ptr_list_s {
        void **items;
        size_t cnt, cap;
} ptr_list_t;

/* Bucket values (pow() is most of a quantile's cost) for the indices
 * around 0, which hold every timing in ms and every CLS score. */
#define SKETCH_VALUE_TABLE 2048

struct rs_sketch_pool_s {
        double     accuracy;
        double     value[SKETCH_VALUE_TABLE]; /* of index i - TABLE / 2 */
        ptr_list_t sketches;                  /* empty, compact, no ring */
        ptr_list_t rings[SKETCH_RING_SIZES];  /* all zero, by size */
        /* Every handle's memory, SKETCH_SLAB handles per slab rather than
         * one malloc each: the sketches an aggregate takes one after the
         * other lie next to each other, with no allocator header between. */
        ptr_list_t slabs;
        size_t     slab_used; /* handles cut from the last slab */
};


static inline int is_small_int(double c) {
        /* Below 2^53 the conversion is exact for integers, and truncates
         * anything else: no libm floor() per bucket. */
        return c >= 0 && c < SKETCH_INT_LIMIT && (double)(uint64_t)c == c;
}

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

/* Leaves the sketch empty and in compact mode; the ring must be zero. */
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
        sk->ring      = 0;
        sk->ncomp     = 0;
        sk->frac      = 0;
}

/**
 * @brief The lowest and highest non-empty bucket, in either mode.
 * @returns 0 if there is none.
 */
static int bucket_range(const rs_sketch_t *sk, int64_t *lo, int64_t *hi) {
        if (!sk->ring) {
                if (!sk->ncomp)
                        return 0;
                *lo = sk->cidx[0];
                *hi = sk->cidx[sk->ncomp - 1];
                return 1;
        }
        if (!sk->nspan)
                return 0;
        *lo = sk->lo;
        *hi = sk->hi;
        return 1;
}

/* Walks the non-empty buckets in ascending index order, in either mode. */
typedef struct bucket_iter_s {
        const rs_sketch_t *sk;
        int64_t            idx; /* ring: next slot to look at */
        unsigned           k;   /* compact: next pair */
} bucket_iter_t;

static inline void iter_init(bucket_iter_t *it, const rs_sketch_t *sk) {
        it->sk  = sk;
        it->idx = sk->lo;
        it->k   = 0;
}

/** @returns 1 with the next bucket in \p idx and \p c, 0 at the end. */
static inline int iter_next(bucket_iter_t *it, int64_t *idx, double *c) {
        const rs_sketch_t *sk = it->sk;
        int64_t            i;

        if (!sk->ring) {
                if (it->k >= sk->ncomp)
                        return 0;
                *idx = sk->cidx[it->k];
                *c   = sk->cw[it->k++];
                return 1;
        }
        for (i = it->idx; i < (int64_t)sk->lo + sk->nspan; i++) {
                if (*slot(sk, i) != 0) {
                        *idx    = i;
                        *c      = *slot(sk, i);
                        it->idx = i + 1;
                        return 1;
                }
        }
        it->idx = i;
        return 0;
}

/* Makes the handle-sized memory at \p mem an empty sketch. */
static rs_sketch_t *sketch_init(void *mem, double relative_accuracy,
                                rs_sketch_pool_t *pool) {
        rs_sketch_t *sk = mem;

        memset(sk, 0, sizeof(*sk));
        sk->accuracy = relative_accuracy;
        sk->inv_log_gamma =
            1.0 / log((1.0 + relative_accuracy) / (1.0 - relative_accuracy));
        sk->pool = pool;
        sketch_clear(sk);
        return sk;
}

rs_sketch_t *rs_sketch_new(double relative_accuracy) {
        void *mem;

        if (!(relative_accuracy >= RS_SKETCH_MIN_ACCURACY &&
              relative_accuracy < 1.0))
                return NULL;
        if (!(mem = aligned_alloc(SKETCH_LINE, SKETCH_SLOT)))
                return NULL;
        return sketch_init(mem, relative_accuracy, NULL);
}

void rs_sketch_destroy(rs_sketch_t *sk) {
        if (!sk)
                return;
        if (sk->pool) { /* its memory is the pool's slab */
                rs_sketch_pool_put(sk->pool, sk);
                return;
        }
        free(sk->bins);
        free(sk);
}

void rs_sketch_reset(rs_sketch_t *sk) {
        /* The ring is kept for the next time the sketch grows, and has to
         * be all zero by then: ring mode assumes every slot outside [lo, hi]
         * is free. Compact pairs past ncomp are never read. */
        if (sk->ring && sk->nspan) {
                uint32_t k;

                for (k = 0; k < sk->nspan; k++)
                        *slot(sk, (int64_t)sk->lo + k) = 0;
        }
        sketch_clear(sk);
}

static int ptr_push(ptr_list_t *l, void *p) {
        if (l->cnt == l->cap) {
                size_t n  = l->cap ? l->cap * 2 : 64;
                void **ni = realloc(l->items, n * sizeof(*ni));

                if (!ni)
                        return -1;
                l->items = ni;
                l->cap   = n;
        }
        l->items[l->cnt++] = p;
        return 0;
}

static unsigned ring_size_class(uint32_t cap) {
        unsigned c = 0;

        while ((uint32_t)SKETCH_INITIAL_BINS << c < cap)
                c++;
        return c;
}

/* An all-zero ring of cap slots: the pool's, or a new one. */
static double *ring_alloc(rs_sketch_t *sk, uint32_t cap) {
        if (sk->pool) {
                ptr_list_t *l = &sk->pool->rings[ring_size_class(cap)];

                if (l->cnt > 0)
                        return l->items[--l->cnt];
        }
        return calloc(cap, sizeof(double));
}

/* Gives up a ring of cap slots of which [lo, lo + nspan) may be in use:
 * back to the pool zeroed, or freed. */
static void ring_release(rs_sketch_t *sk, double *bins, uint32_t cap,
                         int64_t lo, uint32_t nspan) {
        uint32_t k;

        if (!bins)
                return;
        if (sk->pool) {
                for (k = 0; k < nspan; k++)
                        bins[(uint32_t)(lo + k) & (cap - 1)] = 0;
                if (ptr_push(&sk->pool->rings[ring_size_class(cap)], bins) == 0)
                        return;
        }
        free(bins);
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

        nb = ring_alloc(sk, newcap);
        if (!nb)
                return -1;

        /* Slots depend on the ring size, so re-place rather than realloc. */
        for (k = 0; k < sk->nspan; k++) {
                int64_t idx = (int64_t)sk->lo + k;

                nb[(uint32_t)idx & (newcap - 1)] = *slot(sk, idx);
        }
        ring_release(sk, sk->bins, cap, sk->lo, sk->nspan);
        sk->bins = nb;
        sk->mask = (uint16_t)(newcap - 1);
        return 0;
}

/* What a quantile in bucket idx reports, before clamping. */
static double bucket_value_of(double accuracy, int64_t idx) {
        double gamma = (1.0 + accuracy) / (1.0 - accuracy);

        return pow(gamma, (double)idx) * (2.0 / (gamma + 1.0));
}

static double bucket_value(const rs_sketch_t *sk, int64_t idx) {
        if (sk->pool && idx >= -SKETCH_VALUE_TABLE / 2 &&
            idx < SKETCH_VALUE_TABLE / 2)
                return sk->pool->value[idx + SKETCH_VALUE_TABLE / 2];
        return bucket_value_of(sk->accuracy, idx);
}

rs_sketch_pool_t *rs_sketch_pool_new(double relative_accuracy) {
        rs_sketch_pool_t *pool;
        int               i;

        if (!(relative_accuracy >= RS_SKETCH_MIN_ACCURACY &&
              relative_accuracy < 1.0))
                return NULL;
        if (!(pool = calloc(1, sizeof(*pool))))
                return NULL;
        pool->accuracy = relative_accuracy;
        for (i = 0; i < SKETCH_VALUE_TABLE; i++)
                pool->value[i] = bucket_value_of(
                    relative_accuracy, (int64_t)i - SKETCH_VALUE_TABLE / 2);
        return pool;
}

void rs_sketch_pool_destroy(rs_sketch_pool_t *pool) {
        size_t   i;
        unsigned c;

        if (!pool)
                return;
        free(pool->sketches.items);
        for (c = 0; c < SKETCH_RING_SIZES; c++) {
                for (i = 0; i < pool->rings[c].cnt; i++)
                        free(pool->rings[c].items[i]);
                free(pool->rings[c].items);
        }
        for (i = 0; i < pool->slabs.cnt; i++)
                free(pool->slabs.items[i]);
        free(pool->slabs.items);
        free(pool);
}

rs_sketch_t *rs_sketch_pool_get(rs_sketch_pool_t *pool) {
        char *slab;

        if (pool->sketches.cnt > 0)
                return pool->sketches.items[--pool->sketches.cnt];
        if (pool->slabs.cnt == 0 || pool->slab_used == SKETCH_SLAB) {
                if (!(slab = aligned_alloc(SKETCH_LINE,
                                           SKETCH_SLAB * SKETCH_SLOT)))
                        return NULL;
                if (ptr_push(&pool->slabs, slab) == -1) {
                        free(slab);
                        return NULL;
                }
                pool->slab_used = 0;
        }
        slab = pool->slabs.items[pool->slabs.cnt - 1];
        return sketch_init(slab + pool->slab_used++ * SKETCH_SLOT,
                           pool->accuracy, pool);
}

void rs_sketch_pool_put(rs_sketch_pool_t *pool, rs_sketch_t *sk) {
        if (!sk)
                return;
        if (!sk->pool) { /* not a pool's: its own allocation */
                rs_sketch_destroy(sk);
                return;
        }
        /* A handle lives in its own pool's slab, so it goes back there. */
        pool = sk->pool;
        /* The ring goes to whichever sketch grows next; the handle waits
         * compact, as rs_sketch_pool_get() promises. Should the list fail
         * to grow, the handle stays unused in its slab, freed with the
         * pool. */
        ring_release(sk, sk->bins, sketch_cap(sk), sk->lo,
                     sk->ring ? sk->nspan : 0);
        sk->bins = NULL;
        sk->mask = 0;
        sketch_clear(sk);
        (void)ptr_push(&pool->sketches, sk);
}

size_t rs_sketch_pool_memory(const rs_sketch_pool_t *pool) {
        size_t   bytes = pool->sketches.cnt * SKETCH_SLOT;
        unsigned c;

        if (pool->slabs.cnt > 0) /* the last slab's handles not cut yet */
                bytes += (SKETCH_SLAB - pool->slab_used) * SKETCH_SLOT;

        for (c = 0; c < SKETCH_RING_SIZES; c++)
                bytes += pool->rings[c].cnt * sizeof(double) *
                         ((size_t)SKETCH_INITIAL_BINS << c);
        return bytes;
}

/**
 * @brief Moves a compact sketch's buckets into the ring, made at least
 *        \p need slots (need <= RS_SKETCH_MAX_BINS).
 * @returns 0, or -1 on allocation failure with the sketch unchanged.
 */
static int to_ring(rs_sketch_t *sk, uint32_t need) {
        unsigned k, n = sk->ncomp;
        uint32_t span = n ? (uint32_t)(sk->cidx[n - 1] - sk->cidx[0] + 1) : 0;

        if (grow(sk, need > span ? need : span) == -1)
                return -1;
        for (k = 0; k < n; k++)
                *slot(sk, sk->cidx[k]) = sk->cw[k];
        sk->nspan = (uint16_t)span;
        sk->lo    = n ? sk->cidx[0] : 0;
        sk->hi    = n ? sk->cidx[n - 1] : 0;
        sk->ring  = 1;
        sk->ncomp = 0;
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
        sk->nspan = (uint16_t)(sk->hi - sk->lo + 1);
}

/* fold_below() for compact mode (cidx[0] < newlo). Never adds a pair. */
static void compact_fold(rs_sketch_t *sk, int64_t newlo) {
        unsigned n = sk->ncomp, k = 0, drop;
        double   s = 0;

        while (k < n && sk->cidx[k] < newlo)
                s += sk->cw[k++];
        sk->collapsed = s;
        if (k < n && sk->cidx[k] == newlo) {
                sk->cw[k] += s;
                drop = k;
        } else {
                /* k >= 1: the last folded pair becomes the new lo. */
                sk->cidx[k - 1] = (int32_t)newlo;
                sk->cw[k - 1]   = s;
                drop            = k - 1;
        }
        memmove(sk->cidx, sk->cidx + drop, (n - drop) * sizeof(sk->cidx[0]));
        memmove(sk->cw, sk->cw + drop, (n - drop) * sizeof(sk->cw[0]));
        sk->ncomp = (uint8_t)(n - drop);
}

/* Adds a pair for bucket idx, which has none, keeping the order. The
 * caller makes sure there is room. */
static void compact_insert(rs_sketch_t *sk, int64_t idx, double weight) {
        unsigned k = sk->ncomp;

        for (; k > 0 && sk->cidx[k - 1] > idx; k--) {
                sk->cidx[k] = sk->cidx[k - 1];
                sk->cw[k]   = sk->cw[k - 1];
        }
        sk->cidx[k] = (int32_t)idx;
        sk->cw[k]   = weight;
        sk->ncomp++;
}

/* Adds weight to bucket idx; a new pair needs room for it. */
static void compact_put(rs_sketch_t *sk, int64_t idx, double weight) {
        unsigned k;

        for (k = 0; k < sk->ncomp; k++) {
                if (sk->cidx[k] == idx) {
                        sk->cw[k] += weight;
                        return;
                }
        }
        compact_insert(sk, idx, weight);
}

/**
 * @brief Adds \p weight to bucket \p idx when it lies outside [lo, hi] of
 *        the ring: extends the range, grows the ring, or collapses under
 *        the cap.
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
        sk->nspan = (uint16_t)(sk->hi - sk->lo + 1);
        *slot(sk, idx) += weight;
        return 0;
}

/**
 * @brief add_slow() for compact mode, where \p idx has no pair yet: the
 *        same range and cap rules, or the move to the ring when the pairs
 *        run out.
 * @returns 0, or -1 on allocation failure (nothing changed).
 */
static int add_compact(rs_sketch_t *sk, int64_t idx, double weight) {
        const int64_t max_bins = RS_SKETCH_MAX_BINS;
        unsigned      n        = sk->ncomp;
        int64_t       lo, hi, at = idx;

        if (!n) {
                compact_insert(sk, idx, weight);
                return 0;
        }
        lo = sk->cidx[0];
        hi = sk->cidx[n - 1];
        if (idx < lo && hi - idx + 1 > max_bins)
                at = hi - max_bins + 1; /* collapses into the lowest */

        if (n == RS_SKETCH_COMPACT && at != lo) {
                /* One ring big enough for the result, so this is the only
                 * allocation and a failure leaves the sketch as it was. */
                int64_t span =
                    (idx > hi ? idx : hi) - (idx < lo ? idx : lo) + 1;

                if (to_ring(sk, (uint32_t)(span < max_bins ? span
                                                           : max_bins)) == -1)
                        return -1;
                if (idx > lo && idx < hi) { /* between two pairs */
                        *slot(sk, idx) += weight;
                        return 0;
                }
                return add_slow(sk, idx, weight);
        }
        if (at != idx) {
                sk->collapsed += weight;
                compact_put(sk, at, weight);
                return 0;
        }
        if (idx > hi && idx - lo + 1 > max_bins)
                compact_fold(sk, idx - max_bins + 1);
        compact_insert(sk, idx, weight);
        return 0;
}

/* Whether bucket idx has its slot in the ring: one unsigned compare tests
 * lo <= idx <= hi, and fails on an empty range since nspan is 0, and in
 * compact mode. */
static inline int in_ring(const rs_sketch_t *sk, int32_t idx) {
        return (uint32_t)idx - (uint32_t)sk->lo < sk->nspan;
}

static inline int add_at(rs_sketch_t *sk, int32_t idx, double weight) {
        unsigned k;

        if (in_ring(sk, idx)) {
                sk->bins[(uint32_t)idx & sk->mask] += weight;
                return 0;
        }
        if (sk->ring)
                return add_slow(sk, idx, weight);
        for (k = 0; k < sk->ncomp; k++) {
                if (sk->cidx[k] == idx) {
                        sk->cw[k] += weight;
                        return 0;
                }
        }
        return add_compact(sk, idx, weight);
}

/* Written so that NaN fails every test. */
static inline int add_input_ok(double value, double weight) {
        return value >= 0 && value <= DBL_MAX && weight > 0 &&
               weight <= DBL_MAX;
}

/* rs_sketch_add() of a good value and weight; idx is the value's bucket
 * (unused at or below RS_SKETCH_MIN_VALUE), whole is_small_int(weight),
 * worked out once by a caller that adds the weight to several sketches. */
static inline int add_checked(rs_sketch_t *sk, double value, double weight,
                              int32_t idx, int whole) {
        double count = sk->count + weight;
        double sum   = sk->sum + value * weight;

        /* Keeping every total finite keeps the serialized form valid. */
        if (!(count <= DBL_MAX && sum <= DBL_MAX))
                return -1;

        if (value > RS_SKETCH_MIN_VALUE) {
                if (add_at(sk, idx, weight) == -1)
                        return -1;
        } else {
                sk->zero += weight;
                value += 0.0; /* -0.0 becomes +0.0, so min never reads -0 */
        }

        if (!whole)
                sk->frac = 1;
        sk->count = count;
        sk->sum   = sum;
        if (value < sk->min)
                sk->min = value;
        if (value > sk->max)
                sk->max = value;
        return 0;
}

int rs_sketch_add(rs_sketch_t *sk, double value, double weight) {
        if (!add_input_ok(value, weight))
                return -1;
        return add_checked(sk, value, weight,
                           value > RS_SKETCH_MIN_VALUE ? value_index(sk, value)
                                                       : 0,
                           is_small_int(weight));
}

int rs_sketch_add_many(rs_sketch_t *const *sks, size_t n, double value,
                       double weight) {
        int32_t idx = 0;
        size_t  i;
        int     ret = 0, whole;

        if (!add_input_ok(value, weight))
                return -1;
        if (n == 0)
                return 0;
        whole = is_small_int(weight);
        /* One logarithm for all: sketches of one accuracy agree on it. */
        if (value > RS_SKETCH_MIN_VALUE) {
                idx = value_index(sks[0], value);
                /* The buckets are in n different rings: ask for all of
                 * them before waiting on the first. */
                for (i = 0; i < n; i++)
                        if (in_ring(sks[i], idx))
                                __builtin_prefetch(slot(sks[i], idx), 1);
        }
        for (i = 0; i < n; i++) {
                int32_t k = idx;

                if (value > RS_SKETCH_MIN_VALUE &&
                    sks[i]->inv_log_gamma != sks[0]->inv_log_gamma)
                        k = value_index(sks[i], value);
                if (add_checked(sks[i], value, weight, k, whole) == -1)
                        ret = -1;
        }
        return ret;
}

void rs_sketch_prefetch(const rs_sketch_t *sk) {
        /* The line an add to a ring touches, and the compact pairs'. */
        __builtin_prefetch(sk, 1);
        __builtin_prefetch((const char *)sk + SKETCH_LINE, 1);
}

/* How many pairs merging compact src into compact dst leaves, with
 * everything below lo folded into lo. */
static unsigned compact_union(const rs_sketch_t *dst, const rs_sketch_t *src,
                              int64_t lo) {
        unsigned i = 0, j = 0, n = 0;
        int64_t  last = 0;

        while (i < dst->ncomp || j < src->ncomp) {
                int64_t idx;

                if (j == src->ncomp ||
                    (i < dst->ncomp && dst->cidx[i] <= src->cidx[j]))
                        idx = dst->cidx[i++];
                else
                        idx = src->cidx[j++];
                if (idx < lo)
                        idx = lo;
                if (!n || idx != last)
                        n++;
                last = idx;
        }
        return n;
}

/**
 * @brief Adds src's buckets into dst's ring, which must hold [lo, hi]
 *        (their union, lo raised to the cap) once dst's own buckets below
 *        lo are folded.
 * @returns src's collapsed weight as seen from lo.
 */
static double merge_ring(rs_sketch_t *dst, const rs_sketch_t *src, int64_t lo,
                         int64_t hi) {
        double  src_collapsed = src->collapsed, s = 0;
        int64_t idx, slo = 0, shi = 0;

        /* Before dst changes: src may be dst. */
        bucket_range(src, &slo, &shi);
        if (dst->nspan && dst->lo < lo)
                fold_below(dst, lo);
        /* An empty ring is all zero, so any [lo, hi] is free; a non-empty
         * one leaves [lo, hi] minus its range zeroed. */
        dst->lo    = (int32_t)lo;
        dst->hi    = (int32_t)hi;
        dst->nspan = (uint16_t)(hi - lo + 1);

        if (!src->ring) {
                unsigned k = 0;

                if (slo < lo) {
                        while (k < src->ncomp && src->cidx[k] < lo)
                                s += src->cw[k++];
                        *slot(dst, lo) += s;
                        src_collapsed = s;
                }
                for (; k < src->ncomp; k++)
                        *slot(dst, src->cidx[k]) += src->cw[k];
                return src_collapsed;
        }

        idx = slo;
        if (idx < lo) {
                /* src's own collapsed weight is in src->lo, so it is counted
                 * here. */
                for (; idx < lo && idx <= shi; idx++)
                        s += *slot(src, idx);
                *slot(dst, lo) += s;
                src_collapsed = s;
                idx           = lo;
        }
        for (; idx <= shi; idx++)
                *slot(dst, idx) += *slot(src, idx);
        return src_collapsed;
}

/* merge_ring() for a compact dst and src whose union fits in the pairs.
 * src may be dst: then nothing folds and every pair is a hit, each read
 * before it is added to. */
static double merge_compact(rs_sketch_t *dst, const rs_sketch_t *src,
                            int64_t lo) {
        double   src_collapsed = src->collapsed, s = 0;
        unsigned k = 0;

        if (dst->ncomp && dst->cidx[0] < lo)
                compact_fold(dst, lo);
        if (src->cidx[0] < lo) {
                while (k < src->ncomp && src->cidx[k] < lo)
                        s += src->cw[k++];
                compact_put(dst, lo, s);
                src_collapsed = s;
        }
        for (; k < src->ncomp; k++)
                compact_put(dst, src->cidx[k], src->cw[k]);
        return src_collapsed;
}

int rs_sketch_merge(rs_sketch_t *dst, const rs_sketch_t *src) {
        const int64_t max_bins = RS_SKETCH_MAX_BINS;
        double        count, sum, src_collapsed = src->collapsed;
        int64_t       lo, hi, dlo, dhi;

        if (dst->accuracy != src->accuracy)
                return -1;
        if (src->count == 0)
                return 0;

        count = dst->count + src->count;
        sum   = dst->sum + src->sum;
        if (!(count <= DBL_MAX && sum <= DBL_MAX))
                return -1;

        if (bucket_range(src, &lo, &hi)) {
                if (bucket_range(dst, &dlo, &dhi)) {
                        if (dhi > hi)
                                hi = dhi;
                        if (dlo < lo)
                                lo = dlo;
                }
                if (hi - lo + 1 > max_bins)
                        lo = hi - max_bins + 1;

                if (!dst->ring && !src->ring &&
                    compact_union(dst, src, lo) <= RS_SKETCH_COMPACT) {
                        src_collapsed = merge_compact(dst, src, lo);
                } else {
                        /* Room for the result up front, so a failure
                         * leaves dst as it was. */
                        uint32_t span = (uint32_t)(hi - lo + 1);

                        if ((dst->ring ? grow(dst, span)
                                       : to_ring(dst, span)) == -1)
                                return -1;
                        src_collapsed = merge_ring(dst, src, lo, hi);
                }
        }

        dst->collapsed += src_collapsed;
        dst->zero += src->zero;
        dst->frac |= src->frac;
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
        return rs_sketch_quantiles(sk, &q, 1, out);
}

int rs_sketch_quantiles(const rs_sketch_t *sk, const double *qs, size_t n,
                        double *out) {
        bucket_iter_t it;
        double        cum, c = 0, rank;
        int64_t       idx = 0;
        size_t        i;
        int           more = 1, have = 0;

        for (i = 0; i < n; i++) {
                if (!(qs[i] >= 0 && qs[i] <= 1))
                        return -1;
                if (i > 0 && qs[i] < qs[i - 1]) {
                        /* Out of order: one walk each. */
                        for (i = 0; i < n; i++)
                                if (rs_sketch_quantile(sk, qs[i], &out[i]))
                                        return -1;
                        return 0;
                }
        }
        if (!(sk->count > 0))
                return -1;

        /* q = 0 and 1 are the exact min and max; a rank inside the zero
         * bucket is 0; otherwise the answer is the first bucket where the
         * running weight passes the rank (max if rounding leaves the total
         * a hair short). The running sum is carried from one rank to the
         * next: the ranks ascend, so the bucket where each is passed comes
         * at or after the previous one's, and the sums are the same
         * additions in the same order as a walk of its own would make. */
        cum = sk->zero;
        iter_init(&it, sk);
        for (i = 0; i < n; i++) {
                if (qs[i] == 0 || qs[i] == 1) {
                        out[i] = qs[i] == 0 ? sk->min : sk->max;
                        continue;
                }
                rank = qs[i] * (sk->count - 1);
                if (sk->zero > rank) {
                        out[i] = clamp(sk, 0);
                        continue;
                }
                /* The bucket found for the previous rank may pass this one
                 * too: cum already includes it. */
                while (!(have && cum > rank) && more) {
                        if ((more = iter_next(&it, &idx, &c))) {
                                cum += c;
                                have = 1;
                        }
                }
                if (have && cum > rank)
                        out[i] = clamp(sk, bucket_value(sk, idx));
                else
                        out[i] = sk->max;
        }
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

/* IEEE 754 little endian: the host's bytes on a little-endian host. */
static void put_double(writer_t *w, double d) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (w->buf)
                memcpy(w->buf + w->pos, &d, 8);
        w->pos += 8;
#else
        uint64_t bits;
        int      i;

        memcpy(&bits, &d, sizeof(bits));
        for (i = 0; i < 8; i++)
                put_u8(w, (unsigned)(bits >> (8 * i)) & 0xff);
#endif
}

static void put_count(writer_t *w, double c) {
        if (w->varint_counts)
                put_varint(w, (uint64_t)c);
        else
                put_double(w, c);
}


static size_t varint_len(uint64_t v) {
        size_t n = 1;

        while (v >= 0x80) {
                v >>= 7;
                n++;
        }
        return n;
}

/* Writes the sketch in one walk over its buckets. */
static void encode(const rs_sketch_t *sk, writer_t *w) {
        int           empty = !(sk->count > 0);
        int64_t       idx, prev = 0;
        uint64_t      n;
        size_t        at, nlen;
        double        c;
        bucket_iter_t it;

        put_u8(w, SKETCH_MAGIC_VERSION);
        put_u8(w, w->varint_counts ? SKETCH_FLAG_VARINT : 0);
        put_double(w, sk->accuracy);
        put_count(w, sk->count);
        put_double(w, sk->sum);
        put_double(w, empty ? 0 : sk->min);
        put_double(w, empty ? 0 : sk->max);
        put_count(w, sk->zero);
        put_count(w, sk->collapsed);
        /* The bucket count goes before the buckets but is known after
         * them: they are written one byte on, and moved up if the count
         * needs more than that byte. */
        at = w->pos++;

        /* The same bytes from either mode: only the non-empty buckets, in
         * index order, are written. */
        iter_init(&it, sk);
        for (n = 0; iter_next(&it, &idx, &c); n++) {
                if (n == 0)
                        put_varint(w, ((uint64_t)idx << 1) ^
                                          (uint64_t)(idx < 0 ? -1 : 0));
                else
                        put_varint(w, (uint64_t)(idx - prev));
                put_count(w, c);
                prev = idx;
        }
        nlen = varint_len(n);
        if (w->buf) {
                writer_t cw = {w->buf, at, 0};

                if (nlen > 1)
                        memmove(w->buf + at + nlen, w->buf + at + 1,
                                w->pos - at - 1);
                put_varint(&cw, n);
        }
        w->pos += nlen - 1;
}

size_t rs_sketch_serialize(const rs_sketch_t *sk, void *buf, size_t size) {
        writer_t      w = {NULL, 0, 1};
        int64_t       idx;
        double        c;
        bucket_iter_t it;

        /* Whole weights give whole counts: only a sketch that took a
         * fraction needs its counts looked at. */
        if (sk->frac || !(sk->count < SKETCH_INT_LIMIT)) {
                w.varint_counts = is_small_int(sk->count) &&
                                  is_small_int(sk->zero) &&
                                  is_small_int(sk->collapsed);
                iter_init(&it, sk);
                while (w.varint_counts && iter_next(&it, &idx, &c))
                        w.varint_counts = is_small_int(c);
        }

        /* A buffer that surely fits (every field and bucket at its longest)
         * is written in one pass; otherwise measure first, so a short
         * buffer is left untouched. */
        if (buf &&
            size >= 2 + 7 * 10 + 10 +
                        20 * (size_t)(sk->ring ? sk->nspan : sk->ncomp)) {
                w.buf = buf;
                encode(sk, &w);
                return w.pos;
        }
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
        /* Too many buckets for compact mode: one ring for at least all of
         * them rather than growing it as they come. */
        if (!sk || (n > RS_SKETCH_COMPACT && to_ring(sk, (uint32_t)n) == -1)) {
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
                /* The span check above means this never collapses; up to
                 * RS_SKETCH_COMPACT buckets stay compact. */
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
        sk->frac      = !r.varint_counts;
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

int rs_sketch_equal(const rs_sketch_t *a, const rs_sketch_t *b,
                    double rel_tol) {
        bucket_iter_t ia, ib;
        int64_t       xa, xb;
        double        ca, cb;

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

        /* The same non-empty buckets, whichever mode each is in. */
        iter_init(&ia, a);
        iter_init(&ib, b);
        for (;;) {
                int more_a = iter_next(&ia, &xa, &ca);
                int more_b = iter_next(&ib, &xb, &cb);

                if (!more_a || !more_b)
                        return more_a == more_b;
                if (xa != xb || !near(ca, cb, rel_tol))
                        return 0;
        }
}

size_t rs_sketch_memory(const rs_sketch_t *sk) {
        /* A ring kept by rs_sketch_reset counts: it is still held. */
        return SKETCH_SLOT + (size_t)sketch_cap(sk) * sizeof(double);
}
