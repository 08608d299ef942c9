/*
 * sketch: a mergeable quantile sketch with relative-error guarantees
 * (DDSketch, Masson, Rim & Lee, VLDB 2019).
 *
 * A positive value x falls into bucket i = ceil(log_gamma(x)) with
 * gamma = (1 + a) / (1 - a); every value in a bucket is within relative
 * error a of the bucket's representative 2 * gamma^i / (gamma + 1). Counts
 * are weights (doubles) so sampled traffic can be re-weighted. Values at or
 * below RS_SKETCH_MIN_VALUE (including 0, common for CLS) go to a zero bucket.
 *
 * Up to RS_SKETCH_COMPACT non-empty buckets live inside the sketch itself,
 * so the many sketches that only ever see a few values allocate nothing
 * beyond the handle. Past that, buckets are kept in one dense array covering
 * [min index, max index] and grown on demand; at most RS_SKETCH_MAX_BINS
 * buckets are kept: beyond that the lowest buckets are collapsed into one
 * (counted), which keeps memory bounded under any input while leaving the
 * upper quantiles that matter for performance exact to a. Only
 * rs_sketch_memory tells the two apart: results and serialized bytes depend
 * on the contents alone.
 *
 * Merging two sketches of the same accuracy adds bucket counts, so the merge
 * of sketches equals the sketch of the union. The serialized form is compact
 * (varint bucket runs), versioned and validated on read.
 */
#ifndef RS_SKETCH_H
#define RS_SKETCH_H

#include <stddef.h>
#include <stdint.h>

#define RS_SKETCH_DEFAULT_ACCURACY 0.01
#define RS_SKETCH_MAX_BINS         2048
#define RS_SKETCH_MIN_VALUE        1e-9
/* Non-empty buckets a sketch holds inline before it allocates an array. */
#define RS_SKETCH_COMPACT 8
/* Finer accuracies would push bucket indices past int32 (and gamma to 1). */
#define RS_SKETCH_MIN_ACCURACY 1e-6

typedef struct rs_sketch_s      rs_sketch_t;
typedef struct rs_sketch_pool_s rs_sketch_pool_t;

/** @brief New empty sketch. @returns NULL if \p relative_accuracy is not in
 *         [RS_SKETCH_MIN_ACCURACY, 1) or on allocation failure. Caller frees
 *         with rs_sketch_destroy(). */
rs_sketch_t *rs_sketch_new(double relative_accuracy);
void         rs_sketch_destroy(rs_sketch_t *sk);

/** @brief Empties the sketch, keeping its allocation for reuse. */
void rs_sketch_reset(rs_sketch_t *sk);

/*
 * Pool: recycled sketches for a processor that opens and closes many of
 * them (one per aggregate and window). Handles and bucket rings are kept
 * apart: a sketch taken from the pool starts compact, without a ring, and
 * takes one from the pool's rings only when it grows past the compact
 * pairs; returned, its ring goes back (zeroed) to be taken by whichever
 * sketch grows next. So rings are allocated only for the peak number of
 * busy sketches, not for every handle that was ever busy once, and a
 * steady stream allocates (and first-touches) no memory at all. Neither is
 * ever more than the peak in use. Not thread-safe: one pool per thread.
 */

/** @brief New empty pool of sketches of \p relative_accuracy.
 *  @returns NULL on a bad accuracy or allocation failure. */
rs_sketch_pool_t *rs_sketch_pool_new(double relative_accuracy);
/** @brief Frees the pool and what it holds. Sketches taken from it must
 *         have been returned or destroyed before. */
void rs_sketch_pool_destroy(rs_sketch_pool_t *pool);
/** @brief An empty sketch, recycled or new; give it back with
 *         rs_sketch_pool_put() (or rs_sketch_destroy(), which does the
 *         same for a pool's sketch: its memory belongs to the pool).
 *  @returns NULL on allocation failure. */
rs_sketch_t *rs_sketch_pool_get(rs_sketch_pool_t *pool);
/** @brief Empties \p sk (may be NULL) and keeps it and its ring for reuse
 *         in the pool it came from (normally \p pool); a sketch of no pool
 *         is destroyed. */
void rs_sketch_pool_put(rs_sketch_pool_t *pool, rs_sketch_t *sk);
/** @brief Bytes of heap the pool holds for reuse. */
size_t rs_sketch_pool_memory(const rs_sketch_pool_t *pool);

/** @brief Adds \p value with \p weight.
 *  @returns 0, or -1 if value is negative/not finite or weight <= 0 /
 *           not finite, if count or sum would overflow to infinity, or on
 *           allocation failure (nothing is added). */
int rs_sketch_add(rs_sketch_t *sk, double value, double weight);

/** @brief rs_sketch_add() of one value to each of \p n sketches (the
 *         segments an event counts in), its bucket worked out once.
 *  @returns 0, or -1 if the value or weight is bad (nothing added) or if
 *           any sketch refused it (that one is unchanged, the others took
 *           it). */
int rs_sketch_add_many(rs_sketch_t *const *sks, size_t n, double value,
                       double weight);
/** @brief Asks the processor to load what an add to \p sk reads first.
 *         Only a hint, for a caller about to add to many sketches: asking
 *         for all of them before adding lets their cache misses overlap. */
void rs_sketch_prefetch(const rs_sketch_t *sk);

/** @brief Adds all of \p src into \p dst.
 *  @returns 0, or -1 if their accuracies differ, if count or sum would
 *           overflow to infinity, or on allocation failure (dst unchanged). */
int rs_sketch_merge(rs_sketch_t *dst, const rs_sketch_t *src);

double rs_sketch_count(const rs_sketch_t *sk); /**< total weight */
double rs_sketch_sum(const rs_sketch_t *sk);   /**< weighted sum */
double rs_sketch_min(const rs_sketch_t *sk);   /**< exact; NAN if empty */
double rs_sketch_max(const rs_sketch_t *sk);   /**< exact; NAN if empty */
double rs_sketch_accuracy(const rs_sketch_t *sk);
/** @brief How many values were folded into the lowest bucket by the bin
 *         cap (their weight). */
double rs_sketch_collapsed(const rs_sketch_t *sk);

/**
 * @brief The q-quantile (0 <= q <= 1): the value of rank q * (count - 1) in
 *        weight order, within relative accuracy of the exact value, clamped to
 *        [min, max]. q = 0 and q = 1 give the exact min and max.
 * @returns 0, or -1 if the sketch is empty or q is outside [0, 1].
 */
int rs_sketch_quantile(const rs_sketch_t *sk, double q, double *out);

/**
 * @brief rs_sketch_quantile() of each of \p n quantiles \p qs, in one walk
 *        over the buckets when they are in ascending order: out[i] is
 *        exactly what rs_sketch_quantile(sk, qs[i], ...) gives.
 * @returns 0, or -1 if the sketch is empty or a q is outside [0, 1].
 */
int rs_sketch_quantiles(const rs_sketch_t *sk, const double *qs, size_t n,
                        double *out);

/**
 * @brief Serializes into \p buf of \p size bytes.
 * @returns the number of bytes the encoding needs; it was written only if
 *          that is <= size (call with size 0 to learn the length).
 */
size_t rs_sketch_serialize(const rs_sketch_t *sk, void *buf, size_t size);

/** @brief Parses a serialized sketch. @returns a new sketch (caller destroys)
 *         or NULL with a reason in errstr. */
rs_sketch_t *rs_sketch_deserialize(const void *buf, size_t len, char *errstr,
                                   size_t errstr_size);

/** @brief 1 if both hold the same accuracy, buckets, counts, sum, min, max
 *         (counts compared with relative tolerance \p rel_tol). */
int rs_sketch_equal(const rs_sketch_t *a, const rs_sketch_t *b, double rel_tol);

/** @brief Bytes of heap this sketch holds (for memory accounting). */
size_t rs_sketch_memory(const rs_sketch_t *sk);

#endif
