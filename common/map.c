/*
 * map: open-addressing hash tables. See rumstream/map.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/hash.h"
#include "rumstream/map.h"

#define MAP_MIN_CAP 16

typedef struct skey_s {
        size_t len;
        void  *value;
        char   bytes[]; /* the key */
} skey_t;

typedef struct sent_s {
        uint64_t hash; /* 0 marks an empty slot */
        skey_t  *key;
} sent_t;

struct rs_map_s {
        sent_t *tab;
        size_t  cap; /* power of two */
        size_t  cnt;
        size_t  key_bytes;
};

static uint64_t shash(const void *key, size_t len) {
        uint64_t h = rs_hash64(key, len, 0x9e3779b97f4a7c15ULL);

        return h ? h : 1;
}

rs_map_t *rs_map_new(void) {
        rs_map_t *map = calloc(1, sizeof(*map));

        if (!map)
                return NULL;
        map->tab = calloc(MAP_MIN_CAP, sizeof(*map->tab));
        if (!map->tab) {
                free(map);
                return NULL;
        }
        map->cap = MAP_MIN_CAP;
        return map;
}

void rs_map_destroy(rs_map_t *map) {
        size_t i;

        if (!map)
                return;
        for (i = 0; i < map->cap; i++)
                free(map->tab[i].key);
        free(map->tab);
        free(map);
}

static sent_t *sfind(sent_t *tab, size_t cap, uint64_t h, const void *key,
                     size_t len) {
        size_t i = (size_t)h & (cap - 1);

        for (;; i = (i + 1) & (cap - 1)) {
                sent_t *e = &tab[i];
                if (!e->hash)
                        return e;
                if (e->hash == h && e->key->len == len &&
                    !memcmp(e->key->bytes, key, len))
                        return e;
        }
}

void **rs_map_get(const rs_map_t *map, const void *key, size_t len) {
        sent_t *e = sfind(map->tab, map->cap, shash(key, len), key, len);

        return e->hash ? &e->key->value : NULL;
}

static int sgrow(rs_map_t *map) {
        size_t  ncap = map->cap * 2, i;
        sent_t *ntab = calloc(ncap, sizeof(*ntab));

        if (!ntab)
                return -1;
        for (i = 0; i < map->cap; i++) {
                sent_t *e = &map->tab[i];
                if (e->hash)
                        *sfind(ntab, ncap, e->hash, e->key->bytes,
                               e->key->len) = *e;
        }
        free(map->tab);
        map->tab = ntab;
        map->cap = ncap;
        return 0;
}

void **rs_map_put(rs_map_t *map, const void *key, size_t len, int *createdp) {
        uint64_t h = shash(key, len);
        sent_t  *e;
        skey_t  *k;

        *createdp = 0;
        e         = sfind(map->tab, map->cap, h, key, len);
        if (e->hash)
                return &e->key->value;
        if ((map->cnt + 1) * 10 > map->cap * 7) {
                if (sgrow(map) == -1)
                        return NULL;
                e = sfind(map->tab, map->cap, h, key, len);
        }
        k = malloc(sizeof(*k) + len + 1);
        if (!k)
                return NULL;
        k->len   = len;
        k->value = NULL;
        memcpy(k->bytes, key, len);
        k->bytes[len] = '\0'; /* keys are usable as C strings */
        e->hash       = h;
        e->key        = k;
        map->cnt++;
        map->key_bytes += sizeof(*k) + len + 1;
        *createdp = 1;
        return &k->value;
}

const char *rs_map_key_of(void *const *slot) {
        const skey_t *k =
            (const skey_t *)(const void *)((const char *)slot -
                                           offsetof(skey_t, value));

        return k->bytes;
}

size_t rs_map_size(const rs_map_t *map) {
        return map->cnt;
}

size_t rs_map_memory(const rs_map_t *map) {
        return sizeof(*map) + map->cap * sizeof(*map->tab) + map->key_bytes;
}

void rs_map_foreach(rs_map_t *map,
                    void (*fn)(const void *key, size_t len, void *value,
                               void *opaque),
                    void *opaque) {
        size_t i;

        for (i = 0; i < map->cap; i++)
                if (map->tab[i].hash)
                        fn(map->tab[i].key->bytes, map->tab[i].key->len,
                           map->tab[i].key->value, opaque);
}

/*
 * 64-bit keys.
 */
typedef struct ient_s {
        uint64_t key;
        void    *value;
        int      used;
} ient_t;

struct rs_map64_s {
        ient_t *tab;
        size_t  cap;
        size_t  cnt;
};

rs_map64_t *rs_map64_new(void) {
        rs_map64_t *map = calloc(1, sizeof(*map));

        if (!map)
                return NULL;
        map->tab = calloc(MAP_MIN_CAP, sizeof(*map->tab));
        if (!map->tab) {
                free(map);
                return NULL;
        }
        map->cap = MAP_MIN_CAP;
        return map;
}

void rs_map64_destroy(rs_map64_t *map) {
        if (!map)
                return;
        free(map->tab);
        free(map);
}

static ient_t *ifind(ient_t *tab, size_t cap, uint64_t key) {
        size_t i = (size_t)rs_hash_mix64(key) & (cap - 1);

        for (;; i = (i + 1) & (cap - 1))
                if (!tab[i].used || tab[i].key == key)
                        return &tab[i];
}

void **rs_map64_get(const rs_map64_t *map, uint64_t key) {
        ient_t *e = ifind(map->tab, map->cap, key);

        return e->used ? &e->value : NULL;
}

void **rs_map64_put(rs_map64_t *map, uint64_t key, int *createdp) {
        ient_t *e;

        *createdp = 0;
        e         = ifind(map->tab, map->cap, key);
        if (e->used)
                return &e->value;
        if ((map->cnt + 1) * 10 > map->cap * 7) {
                size_t  ncap = map->cap * 2, i;
                ient_t *ntab = calloc(ncap, sizeof(*ntab));
                if (!ntab)
                        return NULL;
                for (i = 0; i < map->cap; i++)
                        if (map->tab[i].used)
                                *ifind(ntab, ncap, map->tab[i].key) =
                                    map->tab[i];
                free(map->tab);
                map->tab = ntab;
                map->cap = ncap;
                e        = ifind(map->tab, map->cap, key);
        }
        e->used  = 1;
        e->key   = key;
        e->value = NULL;
        map->cnt++;
        *createdp = 1;
        return &e->value;
}

size_t rs_map64_size(const rs_map64_t *map) {
        return map->cnt;
}

size_t rs_map64_memory(const rs_map64_t *map) {
        return sizeof(*map) + map->cap * sizeof(*map->tab);
}

void rs_map64_foreach(rs_map64_t *map,
                      void (*fn)(uint64_t key, void *value, void *opaque),
                      void *opaque) {
        size_t i;

        for (i = 0; i < map->cap; i++)
                if (map->tab[i].used)
                        fn(map->tab[i].key, map->tab[i].value, opaque);
}

size_t rs_map_key_join(char *buf, size_t size, const char *a, const char *b,
                       const char *c) {
        size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
        size_t n = la + 1 + lb + (c ? 1 + lc : 0);

        if (n + 1 > size)
                return 0;
        memcpy(buf, a, la + 1);
        memcpy(buf + la + 1, b, lb + 1);
        if (c)
                memcpy(buf + la + 1 + lb + 1, c, lc + 1);
        return n;
}
