/*
 * distinct: exact below the bound, within the HyperLogLog's error above it,
 * independent of order and duplicates.
 */
#include <stdint.h>
#include <stdlib.h>

#include "rs_test.h"
#include "rumstream/distinct.h"
#include "rumstream/hash.h"

static uint64_t item(uint64_t i) {
        return rs_hash64(&i, sizeof(i), 7);
}

static void test_exact(void) {
        rs_distinct_t d;
        uint64_t      i;

        rs_distinct_init(&d);
        RS_CHECK_INT(rs_distinct_count(&d), 0);
        for (i = 0; i < RS_DISTINCT_EXACT; i++) {
                RS_CHECK_INT(rs_distinct_add(&d, item(i)), 0);
                RS_CHECK_INT(rs_distinct_add(&d, item(i)), 0); /* again */
        }
        RS_CHECK_INT(rs_distinct_count(&d), RS_DISTINCT_EXACT);
        RS_CHECK_INT(rs_distinct_estimated(&d), 0);
        RS_CHECK_INT(rs_distinct_memory(&d), 0);

        RS_CHECK_INT(rs_distinct_add(&d, item(RS_DISTINCT_EXACT)), 0);
        RS_CHECK_INT(rs_distinct_estimated(&d), 1);
        RS_CHECK(rs_distinct_memory(&d) > 0);
        /* Just past the bound the estimate is never below what was known
         * exactly, and close to the truth. */
        RS_CHECK(rs_distinct_count(&d) >= RS_DISTINCT_EXACT + 1);
        RS_CHECK(rs_distinct_count(&d) <= RS_DISTINCT_EXACT + 3);
        rs_distinct_free(&d);
        RS_CHECK_INT(rs_distinct_count(&d), 0);
        RS_CHECK_INT(rs_distinct_estimated(&d), 0);
}

static void test_accuracy(void) {
        static const uint64_t sizes[] = {50,    200,    1000,   5000,
                                         20000, 100000, 1000000};
        size_t                k;

        for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                rs_distinct_t d;
                uint64_t      i, n = sizes[k];
                double        err;

                rs_distinct_init(&d);
                for (i = 0; i < n; i++) {
                        rs_distinct_add(&d, item(i));
                        if (i % 3 == 0) /* duplicates change nothing */
                                rs_distinct_add(&d, item(i / 2));
                }
                err =
                    fabs((double)rs_distinct_count(&d) - (double)n) / (double)n;
                /* Four standard errors (1.04 / sqrt(1024) = 3.25%). */
                RS_CHECK_MSG(err <= 0.13, "n=%llu estimate=%lld error=%.3f",
                             (unsigned long long)n,
                             (long long)rs_distinct_count(&d), err);
                rs_distinct_free(&d);
        }
}

static void test_order(void) {
        rs_distinct_t a, b;
        uint64_t      i, n = 5000, perm[5000];

        for (i = 0; i < n; i++)
                perm[i] = i;
        /* Fisher-Yates with a fixed LCG. */
        {
                uint64_t s = 12345;
                for (i = n - 1; i > 0; i--) {
                        uint64_t j, t;
                        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                        j = (s >> 33) % (i + 1);
                        t = perm[i];
                        perm[i] = perm[j];
                        perm[j] = t;
                }
        }
        rs_distinct_init(&a);
        rs_distinct_init(&b);
        for (i = 0; i < n; i++) {
                rs_distinct_add(&a, item(i));
                rs_distinct_add(&b, item(perm[i]));
        }
        RS_CHECK_INT(rs_distinct_count(&a), rs_distinct_count(&b));
        RS_CHECK(memcmp(a.hll, b.hll, (size_t)1 << RS_DISTINCT_HLL_P) == 0);
        rs_distinct_free(&a);
        rs_distinct_free(&b);
}

int main(void) {
        test_exact();
        test_accuracy();
        test_order();
        return RS_TEST_DONE();
}
