/*
 * distinct: how many different things (sessions affected by an error) a
 * window saw, exact while few and estimated beyond, in bounded memory.
 *
 * Items are 64-bit hashes (rs_hash64 of the id). Up to RS_DISTINCT_EXACT
 * different hashes are kept in the struct itself and counted exactly; the
 * next new one moves the counter to a HyperLogLog (Flajolet et al., 2007)
 * of 2^RS_DISTINCT_HLL_P one-byte registers, allocated once, with every
 * hash seen so far folded in. Its standard error is 1.04 / sqrt(2^p), about
 * 3.3% at p = 10, and small counts use linear counting as in the paper's
 * correction. Registers keep maxima, so the result depends only on the set
 * of hashes added, never on their order: a replay gives the same count.
 */
#ifndef RS_DISTINCT_H
#define RS_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#define RS_DISTINCT_EXACT 32
#define RS_DISTINCT_HLL_P 10

typedef struct rs_distinct_s {
        uint64_t exact[RS_DISTINCT_EXACT];
        uint32_t exact_cnt;
        uint8_t *hll; /**< 2^RS_DISTINCT_HLL_P registers, NULL while exact */
} rs_distinct_t;

/** @brief Starts empty (no allocation). */
void rs_distinct_init(rs_distinct_t *d);
/** @brief Frees the registers; the counter is empty afterwards. */
void rs_distinct_free(rs_distinct_t *d);

/** @brief Adds the item with hash \p h.
 *  @returns 0, or -1 if the registers could not be allocated (the item
 *           is then not counted, and neither are later new ones). */
int rs_distinct_add(rs_distinct_t *d, uint64_t h);

/** @brief Distinct items seen: exact, or rounded estimate (see
 *         rs_distinct_estimated()). */
int64_t rs_distinct_count(const rs_distinct_t *d);
/** @brief 1 if rs_distinct_count() is an estimate. */
int rs_distinct_estimated(const rs_distinct_t *d);

/** @brief Heap bytes held. */
size_t rs_distinct_memory(const rs_distinct_t *d);

#endif
