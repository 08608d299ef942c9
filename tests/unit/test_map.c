/*
 * test_map: the string map and the 64-bit map.
 *
 * Small cases pin the contract (created flag, slot kept, keys compared as
 * bytes: embedded NULs, equal prefixes, the empty key); big ones grow the
 * tables through many resizes (100k string keys of four shapes, 1M
 * sequential integers, keys that differ only in their high bits) and then
 * find every key with its value, visit each once with foreach, and check
 * that lookups of absent keys miss and that memory only grows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/map.h"
#include "rs_test.h"

/* Puts a key that must be new; returns its slot. */
static void **put_new(rs_map_t *map, const void *key, size_t len) {
        int    created = -1;
        void **slot    = rs_map_put(map, key, len, &created);

        RS_CHECK(slot != NULL);
        RS_CHECK_INT(created, 1);
        RS_CHECK(slot && *slot == NULL);
        return slot;
}

static void test_map_basic(void) {
        rs_map_t *map = rs_map_new();
        int       v[16], created = -1;
        void    **slot, **slot2;
        char      buf[8];
        size_t    mem;

        RS_CHECK(map != NULL);
        if (!map)
                return;
        RS_CHECK_INT(rs_map_size(map), 0);
        RS_CHECK(rs_map_get(map, "alpha", 5) == NULL);
        RS_CHECK(rs_map_get(map, "", 0) == NULL);

        slot  = put_new(map, "alpha", 5);
        *slot = &v[0];
        RS_CHECK_INT(rs_map_size(map), 1);
        RS_CHECK(rs_map_get(map, "alpha", 5) == slot);

        /* Again: same slot, not created, the value kept. */
        mem   = rs_map_memory(map);
        slot2 = rs_map_put(map, "alpha", 5, &created);
        RS_CHECK_INT(created, 0);
        RS_CHECK(slot2 == slot);
        RS_CHECK(slot2 && *slot2 == &v[0]);
        RS_CHECK_INT(rs_map_size(map), 1);
        RS_CHECK_INT(rs_map_memory(map), mem);

        /* The key is copied: changing the caller's buffer changes nothing. */
        memcpy(buf, "beta", 5);
        slot  = put_new(map, buf, 4);
        *slot = &v[1];
        memcpy(buf, "zzzz", 5);
        RS_CHECK(rs_map_get(map, "zzzz", 4) == NULL);
        slot = rs_map_get(map, "beta", 4);
        RS_CHECK(slot && *slot == &v[1]);
        RS_CHECK_STR(slot ? rs_map_key_of(slot) : NULL, "beta");

        /* Keys are bytes: equal prefixes, embedded and trailing NULs and
         * the empty key are all distinct keys. */
        *put_new(map, "a", 1)        = &v[2];
        *put_new(map, "a\0", 2)      = &v[3];
        *put_new(map, "a\0b", 3)     = &v[4];
        *put_new(map, "a\0c", 3)     = &v[5];
        *put_new(map, "", 0)         = &v[6];
        *put_new(map, "\0", 1)       = &v[7];
        *put_new(map, "\0\0", 2)     = &v[8];
        *put_new(map, "alph", 4)     = &v[9];
        *put_new(map, "alphab", 6)   = &v[10];
        *put_new(map, "alpha\0", 6)  = &v[11];
        *put_new(map, "Alpha", 5)    = &v[12];
        *put_new(map, "a\0b\0", 4)   = &v[13];
        *put_new(map, "\xff\xfe", 2) = &v[14];
        RS_CHECK_INT(rs_map_size(map), 15);

        slot = rs_map_get(map, "a", 1);
        RS_CHECK(slot && *slot == &v[2]);
        slot = rs_map_get(map, "a\0", 2);
        RS_CHECK(slot && *slot == &v[3]);
        slot = rs_map_get(map, "a\0b", 3);
        RS_CHECK(slot && *slot == &v[4]);
        slot = rs_map_get(map, "a\0c", 3);
        RS_CHECK(slot && *slot == &v[5]);
        slot = rs_map_get(map, "", 0);
        RS_CHECK(slot && *slot == &v[6]);
        slot = rs_map_get(map, "\0", 1);
        RS_CHECK(slot && *slot == &v[7]);
        slot = rs_map_get(map, "\0\0", 2);
        RS_CHECK(slot && *slot == &v[8]);
        slot = rs_map_get(map, "alph", 4);
        RS_CHECK(slot && *slot == &v[9]);
        slot = rs_map_get(map, "alphab", 6);
        RS_CHECK(slot && *slot == &v[10]);
        slot = rs_map_get(map, "alpha\0", 6);
        RS_CHECK(slot && *slot == &v[11]);
        slot = rs_map_get(map, "alpha", 5);
        RS_CHECK(slot && *slot == &v[0]);
        slot = rs_map_get(map, "Alpha", 5);
        RS_CHECK(slot && *slot == &v[12]);
        slot = rs_map_get(map, "a\0b\0", 4);
        RS_CHECK(slot && *slot == &v[13]);
        slot = rs_map_get(map, "\xff\xfe", 2);
        RS_CHECK(slot && *slot == &v[14]);

        RS_CHECK(rs_map_get(map, "a\0d", 3) == NULL);
        RS_CHECK(rs_map_get(map, "a\0b\0\0", 5) == NULL);
        RS_CHECK(rs_map_get(map, "\0\0\0", 3) == NULL);
        RS_CHECK(rs_map_get(map, "alp", 3) == NULL);
        RS_CHECK(rs_map_get(map, "ALPHA", 5) == NULL);
        RS_CHECK(rs_map_get(map, "b", 1) == NULL);

        /* The map's key copy is NUL-terminated, embedded NULs kept. */
        slot = rs_map_get(map, "a\0c", 3);
        RS_CHECK(slot && !memcmp(rs_map_key_of(slot), "a\0c", 4));
        slot = rs_map_get(map, "", 0);
        RS_CHECK_STR(slot ? rs_map_key_of(slot) : NULL, "");

        rs_map_destroy(map);
        rs_map_destroy(NULL);
}

/*
 * 100k keys of four shapes, all distinct:
 *   0  "k<i>"                 decimal: "k1" is a prefix of "k10", "k100"
 *   1  "k<i>\0"               the same with a trailing NUL
 *   2  'b' + 8 bytes of i LE  embedded NULs
 *   3  200 x 'x' + "<i>"      long equal prefixes
 */
#define SK_N    100000
#define SK_LONG 200

static size_t skey(uint32_t i, char *buf) {
        size_t n;
        int    j;

        switch (i % 4) {
        case 0:
                return (size_t)snprintf(buf, 32, "k%u", (unsigned)i);
        case 1:
                n      = (size_t)snprintf(buf, 32, "k%u", (unsigned)i);
                buf[n] = '\0';
                return n + 1;
        case 2:
                buf[0] = 'b';
                for (j = 0; j < 8; j++)
                        buf[1 + j] = (char)((uint64_t)i >> (8 * j));
                return 9;
        default:
                memset(buf, 'x', SK_LONG);
                n = (size_t)snprintf(buf + SK_LONG, 32, "%u", (unsigned)i);
                return SK_LONG + n;
        }
}

typedef struct svisit_s {
        int           *vals;
        unsigned char *seen;
        size_t         cnt;
        size_t         bad;
} svisit_t;

static void svisit(const void *key, size_t len, void *value, void *opaque) {
        svisit_t *v = opaque;
        char      buf[SK_LONG + 32];
        ptrdiff_t i = (int *)value - v->vals;

        v->cnt++;
        if (!value || i < 0 || i >= SK_N) {
                v->bad++;
                return;
        }
        if (v->seen[i]++)
                v->bad++;
        if (skey((uint32_t)i, buf) != len || memcmp(buf, key, len))
                v->bad++;
}

static void test_map_growth(void) {
        static int           vals[SK_N];
        static unsigned char seen[SK_N];
        rs_map_t            *map = rs_map_new();
        char                 buf[SK_LONG + 32];
        size_t   len, mem, mem0, key_total = 0, grew_more = 0, not_found = 0;
        size_t   bad_slot = 0, bad_key = 0;
        svisit_t visit = {vals, seen, 0, 0};
        uint32_t i;
        int      created;

        if (!map) {
                RS_CHECK(map != NULL);
                return;
        }
        mem0 = mem = rs_map_memory(map);
        for (i = 0; i < SK_N; i++) {
                void **slot;
                size_t m;

                vals[i] = (int)i;
                len     = skey(i, buf);
                key_total += len;
                created = -1;
                slot    = rs_map_put(map, buf, len, &created);
                if (!slot || created != 1 || *slot) {
                        RS_CHECK_MSG(0, "key %u: slot %p created %d",
                                     (unsigned)i, (void *)slot, created);
                        break;
                }
                /* Usable right away, and found where it was put. */
                *slot = &vals[i];
                if (rs_map_get(map, buf, len) != slot)
                        bad_slot++;
                if (memcmp(rs_map_key_of(slot), buf, len) ||
                    rs_map_key_of(slot)[len] != '\0')
                        bad_key++;
                m = rs_map_memory(map);
                if (m <= mem)
                        RS_CHECK_MSG(0, "key %u: memory %zu after %zu",
                                     (unsigned)i, m, mem);
                if (m - mem > len + 64)
                        grew_more++; /* the table was resized */
                mem = m;
        }
        RS_CHECK_INT(bad_slot, 0);
        RS_CHECK_INT(bad_key, 0);
        RS_CHECK_INT(rs_map_size(map), SK_N);
        /* 16 -> 262144 slots: 14 doublings. */
        RS_CHECK_INT(grew_more, 14);
        RS_CHECK(mem > mem0);
        RS_CHECK_MSG(mem >= key_total + SK_N * sizeof(void *) &&
                         mem <= key_total + SK_N * 128,
                     "memory %zu for %zu key bytes", mem, key_total);

        /* Every key is there with its value; putting it again creates
         * nothing and costs nothing. */
        for (i = 0; i < SK_N; i++) {
                void **slot;

                len  = skey(i, buf);
                slot = rs_map_get(map, buf, len);
                if (!slot || *slot != &vals[i]) {
                        not_found++;
                        continue;
                }
                created = -1;
                if (rs_map_put(map, buf, len, &created) != slot || created)
                        not_found++;
        }
        RS_CHECK_INT(not_found, 0);
        RS_CHECK_INT(rs_map_size(map), SK_N);
        RS_CHECK_INT(rs_map_memory(map), mem);

        /* Absent: other numbers, and every shape cut short or extended. */
        for (i = SK_N; i < SK_N + 4000; i++) {
                len = skey(i, buf);
                if (rs_map_get(map, buf, len))
                        not_found++;
        }
        for (i = 0; i < 4000; i++) {
                len = skey(i, buf);
                /* Cut short, "k<i>" (i % 4 == 1) and 8 bytes are absent;
                 * the other shapes would give other keys. */
                if ((i % 4 == 1 || i % 4 == 2) && rs_map_get(map, buf, len - 1))
                        not_found++;
                buf[len] = '\0';
                if (rs_map_get(map, buf, len + 1))
                        not_found++;
        }
        RS_CHECK_INT(not_found, 0);
        RS_CHECK_INT(rs_map_size(map), SK_N);

        rs_map_foreach(map, svisit, &visit);
        RS_CHECK_INT(visit.cnt, SK_N);
        RS_CHECK_INT(visit.bad, 0);
        rs_map_destroy(map);
}

static void count_visit(const void *key, size_t len, void *value,
                        void *opaque) {
        (void)key;
        (void)len;
        (void)value;
        ++*(size_t *)opaque;
}

static void test_map_empty(void) {
        rs_map_t *map = rs_map_new();
        size_t    n   = 0;

        RS_CHECK(map != NULL);
        if (!map)
                return;
        rs_map_foreach(map, count_visit, &n);
        RS_CHECK_INT(n, 0);
        RS_CHECK(rs_map_memory(map) > 0);
        rs_map_destroy(map);
}

/*
 * rs_map64_t
 */
static void **put64_new(rs_map64_t *map, uint64_t key) {
        int    created = -1;
        void **slot    = rs_map64_put(map, key, &created);

        RS_CHECK(slot != NULL);
        RS_CHECK_INT(created, 1);
        RS_CHECK(slot && *slot == NULL);
        return slot;
}

static void test_map64_basic(void) {
        rs_map64_t *map = rs_map64_new();
        int         v[8], created = -1;
        void      **slot;
        size_t      mem;

        RS_CHECK(map != NULL);
        if (!map)
                return;
        RS_CHECK_INT(rs_map64_size(map), 0);
        RS_CHECK(rs_map64_get(map, 0) == NULL);
        RS_CHECK(rs_map64_get(map, UINT64_MAX) == NULL);

        *put64_new(map, 0) = &v[0];
        RS_CHECK(rs_map64_get(map, UINT64_MAX) == NULL);
        *put64_new(map, UINT64_MAX)        = &v[1];
        *put64_new(map, 1)                 = &v[2];
        *put64_new(map, UINT64_MAX - 1)    = &v[3];
        *put64_new(map, UINT64_C(1) << 63) = &v[4];
        *put64_new(map, UINT64_C(1) << 32) = &v[5];
        RS_CHECK_INT(rs_map64_size(map), 6);

        slot = rs_map64_get(map, 0);
        RS_CHECK(slot && *slot == &v[0]);
        slot = rs_map64_get(map, UINT64_MAX);
        RS_CHECK(slot && *slot == &v[1]);
        slot = rs_map64_get(map, 1);
        RS_CHECK(slot && *slot == &v[2]);
        slot = rs_map64_get(map, UINT64_MAX - 1);
        RS_CHECK(slot && *slot == &v[3]);
        slot = rs_map64_get(map, UINT64_C(1) << 63);
        RS_CHECK(slot && *slot == &v[4]);
        slot = rs_map64_get(map, UINT64_C(1) << 32);
        RS_CHECK(slot && *slot == &v[5]);
        RS_CHECK(rs_map64_get(map, 2) == NULL);
        RS_CHECK(rs_map64_get(map, (UINT64_C(1) << 63) + 1) == NULL);

        /* Again: same slot, not created, the value kept. */
        mem  = rs_map64_memory(map);
        slot = rs_map64_put(map, 0, &created);
        RS_CHECK_INT(created, 0);
        RS_CHECK(slot && *slot == &v[0]);
        slot = rs_map64_put(map, UINT64_MAX, &created);
        RS_CHECK_INT(created, 0);
        RS_CHECK(slot && *slot == &v[1]);
        RS_CHECK_INT(rs_map64_size(map), 6);
        RS_CHECK_INT(rs_map64_memory(map), mem);

        rs_map64_destroy(map);
        rs_map64_destroy(NULL);
}

#define I64_N 1000000

typedef struct ivisit_s {
        unsigned char *vals;
        unsigned char *seen;
        size_t         cnt;
        size_t         bad;
} ivisit_t;

static void ivisit(uint64_t key, void *value, void *opaque) {
        ivisit_t *v = opaque;
        ptrdiff_t i = (unsigned char *)value - v->vals;

        v->cnt++;
        if (!value || i < 0 || i >= I64_N || key != (uint64_t)i) {
                v->bad++;
                return;
        }
        if (v->seen[i]++)
                v->bad++;
}

static void test_map64_growth(void) {
        static unsigned char vals[I64_N], seen[I64_N];
        rs_map64_t          *map   = rs_map64_new();
        ivisit_t             visit = {vals, seen, 0, 0};
        size_t               mem, mem0, bad = 0, resizes = 0;
        uint64_t             i;
        int                  created;

        if (!map) {
                RS_CHECK(map != NULL);
                return;
        }
        mem0 = mem = rs_map64_memory(map);
        for (i = 0; i < I64_N; i++) {
                void **slot;
                size_t m;

                created = -1;
                slot    = rs_map64_put(map, i, &created);
                if (!slot || created != 1 || *slot) {
                        RS_CHECK_MSG(0, "key %llu: slot %p created %d",
                                     (unsigned long long)i, (void *)slot,
                                     created);
                        break;
                }
                *slot = &vals[i];
                if (rs_map64_get(map, i) != slot)
                        bad++;
                m = rs_map64_memory(map);
                if (m < mem)
                        bad++;
                if (m > mem)
                        resizes++;
                mem = m;
        }
        RS_CHECK_INT(bad, 0);
        RS_CHECK_INT(rs_map64_size(map), I64_N);
        /* 16 -> 2097152 slots: 17 doublings. */
        RS_CHECK_INT(resizes, 17);
        RS_CHECK(mem > mem0);
        RS_CHECK_MSG(mem >= (size_t)I64_N * 2 * sizeof(uint64_t) &&
                         mem <= (size_t)I64_N * 128,
                     "memory %zu", mem);

        for (i = 0; i < I64_N; i++) {
                void **slot = rs_map64_get(map, i);

                if (!slot || *slot != &vals[i]) {
                        bad++;
                        continue;
                }
                created = -1;
                if (rs_map64_put(map, i, &created) != slot || created)
                        bad++;
        }
        RS_CHECK_INT(bad, 0);
        RS_CHECK_INT(rs_map64_memory(map), mem);
        for (i = 0; i < 10000; i++) {
                if (rs_map64_get(map, I64_N + i) ||
                    rs_map64_get(map, UINT64_MAX - i) ||
                    rs_map64_get(map, (i + 1) << 32))
                        bad++;
        }
        RS_CHECK_INT(bad, 0);
        RS_CHECK_INT(rs_map64_size(map), I64_N);

        rs_map64_foreach(map, ivisit, &visit);
        RS_CHECK_INT(visit.cnt, I64_N);
        RS_CHECK_INT(visit.bad, 0);
        rs_map64_destroy(map);
}

/* Keys that differ only in their high bits, or count down from the top. */
static void test_map64_high_bits(void) {
        rs_map64_t *map = rs_map64_new();
        static int  vals[2 * 100000];
        size_t      bad = 0;
        uint64_t    i;
        int         created;

        if (!map) {
                RS_CHECK(map != NULL);
                return;
        }
        for (i = 0; i < 100000; i++) {
                void **a = rs_map64_put(map, i << 40, &created);

                if (!a || !created)
                        bad++;
                else
                        *a = &vals[2 * i];
                a = rs_map64_put(map, UINT64_MAX - i, &created);
                if (!a || !created)
                        bad++;
                else
                        *a = &vals[2 * i + 1];
        }
        RS_CHECK_INT(bad, 0);
        RS_CHECK_INT(rs_map64_size(map), 200000);
        for (i = 0; i < 100000; i++) {
                void **a = rs_map64_get(map, i << 40);
                void **b = rs_map64_get(map, UINT64_MAX - i);

                if (!a || *a != &vals[2 * i] || !b || *b != &vals[2 * i + 1])
                        bad++;
                if (i && rs_map64_get(map, i))
                        bad++;
        }
        RS_CHECK_INT(bad, 0);
        rs_map64_destroy(map);
}

/* Composite keys: parts kept apart by NULs, exact length, refusal when
 * the buffer is one byte short. */
static void test_key_join(void) {
        char   buf[16];
        size_t n;

        n = rs_map_key_join(buf, sizeof(buf), "ab", "c", NULL);
        RS_CHECK_INT(n, 4);
        RS_CHECK(!memcmp(buf, "ab\0c\0", 5));
        n = rs_map_key_join(buf, sizeof(buf), "ab", "c", "def");
        RS_CHECK_INT(n, 8);
        RS_CHECK(!memcmp(buf, "ab\0c\0def\0", 9));
        /* "a" + "bc" and "ab" + "c" are different keys. */
        {
                char   other[16];
                size_t m =
                    rs_map_key_join(other, sizeof(other), "a", "bc", NULL);
                RS_CHECK_INT(m, 4);
                RS_CHECK(memcmp(other, "ab\0c", 4) != 0);
        }
        n = rs_map_key_join(buf, sizeof(buf), "", "", "");
        RS_CHECK_INT(n, 2);
        RS_CHECK_INT(rs_map_key_join(buf, 8, "ab", "c", "def"), 0);
        RS_CHECK_INT(rs_map_key_join(buf, 9, "ab", "c", "def"), 8);
}

int main(void) {
        test_map_basic();
        test_map_empty();
        test_map_growth();
        test_map64_basic();
        test_map64_growth();
        test_map64_high_bits();
        test_key_join();
        return RS_TEST_DONE();
}
