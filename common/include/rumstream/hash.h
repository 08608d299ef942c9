/*
 * hash: fast non-cryptographic hashing for hash tables, and deterministic
 * 128-bit ids for output records.
 *
 * Ids are built from length-prefixed fields so ("ab","c") and ("a","bc")
 * differ; the same natural key always gives the same id on every machine,
 * which is what lets consumers drop replayed duplicates.
 */
#ifndef RS_HASH_H
#define RS_HASH_H

#include <stddef.h>
#include <stdint.h>

/** @brief 64-bit hash of \p len bytes with \p seed. */
uint64_t rs_hash64(const void *buf, size_t len, uint64_t seed);

/** @brief Mixes a 64-bit integer (a finalizer with good avalanche). */
static inline uint64_t rs_hash_mix64(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return x;
}

/** Builder of a deterministic id from a sequence of fields. */
typedef struct rs_id_s {
        uint64_t h1, h2;
} rs_id_t;

void rs_id_init(rs_id_t *id, const char *kind);
void rs_id_add_str(rs_id_t *id, const char *s);
void rs_id_add_i64(rs_id_t *id, int64_t v);
/** @brief Writes 32 lowercase hex digits and a NUL into \p out (33 bytes). */
void rs_id_hex(const rs_id_t *id, char out[33]);

#endif
