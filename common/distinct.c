/*
 * distinct: exact-then-HyperLogLog distinct counting. See
 * rumstream/distinct.h.
 */
#include <math.h>
#include <stdlib.h>

#include "rumstream/distinct.h"
#include "rumstream/hash.h"

#define HLL_M ((uint32_t)1 << RS_DISTINCT_HLL_P)

void rs_distinct_init(rs_distinct_t *d) {
        d->exact_cnt = 0;
        d->hll       = NULL;
}

void rs_distinct_free(rs_distinct_t *d) {
        free(d->hll);
        rs_distinct_init(d);
}

static void hll_add(uint8_t *regs, uint64_t h) {
        /* Hashes from rs_hash64 are well mixed already; mixing again
         * costs nothing and protects against callers that pass ids. */
        uint64_t x    = rs_hash_mix64(h);
        uint32_t idx  = (uint32_t)(x >> (64 - RS_DISTINCT_HLL_P));
        uint64_t rest = x << RS_DISTINCT_HLL_P;
        uint8_t  rank;

        /* Rank of the first 1 bit in the remaining 64 - p bits. */
        rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1)
                    : (uint8_t)(64 - RS_DISTINCT_HLL_P + 1);
        if (rank > regs[idx])
                regs[idx] = rank;
}

int rs_distinct_add(rs_distinct_t *d, uint64_t h) {
        uint32_t i;

        if (d->hll) {
                hll_add(d->hll, h);
                return 0;
        }
        for (i = 0; i < d->exact_cnt; i++)
                if (d->exact[i] == h)
                        return 0;
        if (d->exact_cnt < RS_DISTINCT_EXACT) {
                d->exact[d->exact_cnt++] = h;
                return 0;
        }
        d->hll = calloc(HLL_M, 1);
        if (!d->hll)
                return -1;
        for (i = 0; i < d->exact_cnt; i++)
                hll_add(d->hll, d->exact[i]);
        hll_add(d->hll, h);
        return 0;
}

int64_t rs_distinct_count(const rs_distinct_t *d) {
        const double m     = (double)HLL_M;
        const double alpha = 0.7213 / (1.0 + 1.079 / m);
        double       sum   = 0, est;
        uint32_t     i, zeros = 0;

        if (!d->hll)
                return d->exact_cnt;
        for (i = 0; i < HLL_M; i++) {
                sum += ldexp(1.0, -(int)d->hll[i]);
                zeros += d->hll[i] == 0;
        }
        est = alpha * m * m / sum;
        if (est <= 2.5 * m && zeros > 0)
                est = m * log(m / (double)zeros); /* linear counting */
        /* Never report fewer than the exact phase had proven. */
        if (est < RS_DISTINCT_EXACT + 1)
                est = RS_DISTINCT_EXACT + 1;
        return (int64_t)llround(est);
}

int rs_distinct_estimated(const rs_distinct_t *d) {
        return d->hll != NULL;
}

size_t rs_distinct_memory(const rs_distinct_t *d) {
        return d->hll ? HLL_M : 0;
}
