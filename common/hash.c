/*
 * hash: a small multiply-rotate hash, and ids built by chaining it.
 *
 * The core reads the input as 64-bit little-endian words (the last one
 * zero-padded), scrambles each word on its own (multiply, rotate, multiply:
 * a bijection, so two different words never scramble alike), folds it into
 * the state (xor, rotate, multiply-add: again a bijection of the state) and
 * ends with rs_hash_mix64() so that every input bit reaches every output
 * bit. The length enters the state first, which is what tells "a" from
 * "a\0" after the zero padding.
 *
 * Results must be the same on every machine, because ids built on them are
 * compared across processes and restarts: words are assembled as little
 * endian whatever the host, and loaded with memcpy (no unaligned access
 * through a cast pointer).
 *
 * An id runs two lanes of the same construction with unrelated constants
 * and seeds, so a collision in one lane is no collision of the id. Each
 * field is hashed with a seed derived from the state so far and the field's
 * type tag; since the core hashes the field's length too, this is the hash
 * of the serialization tag | length | bytes, field after field, and field
 * boundaries cannot shift: ("ab","c") and ("a","bc") differ.
 *
 * The constants below and the tags are part of the output: changing any of
 * them changes every id, and consumers stop recognising replayed records.
 */
#include <string.h>

#include "rumstream/hash.h"

struct lane {
        uint64_t m1, m2, m3, add; /* odd multipliers, additive constant */
        unsigned r1, r2;          /* rotations of the word and the state */
};

static const struct lane lane1 = {
    .m1  = 0x9e3779b97f4a7c15ULL,
    .m2  = 0xc2b2ae3d27d4eb4fULL,
    .m3  = 0x165667b19e3779f9ULL,
    .add = 0x27d4eb2f165667c5ULL,
    .r1  = 31,
    .r2  = 27,
};

static const struct lane lane2 = {
    .m1  = 0xd6e8feb86659fd93ULL,
    .m2  = 0xa0761d6478bd642fULL,
    .m3  = 0xe7037ed1a0b428dbULL,
    .add = 0x8ebc6af09c88c6e3ULL,
    .r1  = 29,
    .r2  = 23,
};

/* Seeds of the two id lanes, and the field type tags. */
#define ID_SEED1 0x243f6a8885a308d3ULL
#define ID_SEED2 0x13198a2e03707344ULL
#define TAG_KIND 'k'
#define TAG_STR  's'
#define TAG_I64  'i'
#define TAG_NULL 'n' /* rs_id_add_str(NULL): absent, unlike "" */

static inline uint64_t rotl64(uint64_t x, unsigned r) {
        return (x << r) | (x >> (64 - r));
}

static inline uint64_t read_le64(const unsigned char *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        uint64_t v;

        memcpy(&v, p, 8);
        return v;
#else
        /* Big endian, or unknown: assemble by hand; still one load on
         * compilers that recognise the pattern. */
        return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
               (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
               (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
               (uint64_t)p[7] << 56;
#endif
}

static inline uint64_t fold(uint64_t h, uint64_t w, const struct lane *k) {
        h ^= rotl64(w * k->m2, k->r1) * k->m1;
        return rotl64(h, k->r2) * k->m3 + k->add;
}

static inline uint64_t hash_core(const void *buf, size_t len, uint64_t seed,
                                 const struct lane *k) {
        const unsigned char *p    = buf;
        size_t               left = len;
        uint64_t             h    = (seed ^ k->add) + (uint64_t)len * k->m1;

        for (; left >= 8; left -= 8, p += 8)
                h = fold(h, read_le64(p), k);

        if (left > 0) {
                uint64_t w = 0;
                size_t   i;

                for (i = 0; i < left; i++)
                        w |= (uint64_t)p[i] << (8 * i);
                h = fold(h, w, k);
        }

        return rs_hash_mix64(h);
}

uint64_t rs_hash64(const void *buf, size_t len, uint64_t seed) {
        return hash_core(buf, len, seed, &lane1);
}

static void absorb(rs_id_t *id, int tag, const void *buf, size_t len) {
        id->h1 =
            hash_core(buf, len, rs_hash_mix64(id->h1 ^ (uint64_t)tag), &lane1);
        id->h2 =
            hash_core(buf, len, rs_hash_mix64(id->h2 ^ (uint64_t)tag), &lane2);
}

/* The kind is the first field, so ids of different record types never
 * collide even when their natural keys are equal. */
void rs_id_init(rs_id_t *id, const char *kind) {
        id->h1 = ID_SEED1;
        id->h2 = ID_SEED2;
        if (kind)
                absorb(id, TAG_KIND, kind, strlen(kind));
        else
                absorb(id, TAG_NULL, NULL, 0);
}

void rs_id_add_str(rs_id_t *id, const char *s) {
        if (s)
                absorb(id, TAG_STR, s, strlen(s));
        else
                absorb(id, TAG_NULL, NULL, 0);
}

void rs_id_add_i64(rs_id_t *id, int64_t v) {
        uint64_t      u = (uint64_t)v;
        unsigned char b[8];
        int           i;

        for (i = 0; i < 8; i++)
                b[i] = (unsigned char)(u >> (8 * i));
        absorb(id, TAG_I64, b, sizeof(b));
}

void rs_id_hex(const rs_id_t *id, char out[33]) {
        static const char digits[] = "0123456789abcdef";
        int               i;

        for (i = 0; i < 16; i++) {
                out[i]      = digits[(id->h1 >> (60 - 4 * i)) & 0xf];
                out[16 + i] = digits[(id->h2 >> (60 - 4 * i)) & 0xf];
        }
        out[32] = '\0';
}
