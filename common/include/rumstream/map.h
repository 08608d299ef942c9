/*
 * map: open-addressing hash tables for the per-event path.
 *
 * rs_map_t maps byte strings to pointers (keys are copied into one
 * allocation with the entry); rs_map64_t maps 64-bit integers to pointers.
 * Both use linear probing over a power-of-two table kept at most 70% full,
 * store the full hash beside each entry so most mismatches cost one integer
 * compare, and never shrink. Entries are not removed one by one: a map is
 * destroyed or cleared whole (a window's or a partition's state goes at
 * once), which keeps probing simple and tombstone-free.
 */
#ifndef RS_MAP_H
#define RS_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rs_map_s rs_map_t;

/** @brief New empty map. Caller frees with rs_map_destroy(). */
rs_map_t *rs_map_new(void);
/** @brief Frees the map and its keys; values are the caller's (free them
 *         first with rs_map_foreach()). NULL-safe. */
void rs_map_destroy(rs_map_t *map);

/** @brief The value slot of \p key, or NULL if absent. */
void **rs_map_get(const rs_map_t *map, const void *key, size_t len);

/**
 * @brief The value slot of \p key, inserting it (value NULL, key copied) if
 *        absent; *createdp tells which. @returns NULL on allocation failure.
 *        The slot pointer is valid until the next insertion.
 */
void **rs_map_put(rs_map_t *map, const void *key, size_t len, int *createdp);

/** @brief The map's NUL-terminated copy of the key of a value slot returned
 *         by rs_map_get()/rs_map_put(); valid as long as the map is. */
const char *rs_map_key_of(void *const *slot);

/**
 * @brief Builds the composite key "a\0b" or, with \p c, "a\0b\0c" into
 *        \p buf (NUL-terminated): parts cannot run into each other, and a
 *        map callback splits the key again with strlen().
 * @returns the key's length without the final NUL, or 0 if it does not fit
 *          in \p size bytes.
 */
size_t rs_map_key_join(char *buf, size_t size, const char *a, const char *b,
                       const char *c);

size_t rs_map_size(const rs_map_t *map);
/** @brief Heap bytes held (table and keys). */
size_t rs_map_memory(const rs_map_t *map);

void rs_map_foreach(rs_map_t *map,
                    void (*fn)(const void *key, size_t len, void *value,
                               void *opaque),
                    void *opaque);

typedef struct rs_map64_s rs_map64_t;

rs_map64_t *rs_map64_new(void);
void        rs_map64_destroy(rs_map64_t *map);
void      **rs_map64_get(const rs_map64_t *map, uint64_t key);
void      **rs_map64_put(rs_map64_t *map, uint64_t key, int *createdp);
size_t      rs_map64_size(const rs_map64_t *map);
size_t      rs_map64_memory(const rs_map64_t *map);
void        rs_map64_foreach(rs_map64_t *map,
                             void (*fn)(uint64_t key, void *value, void *opaque),
                             void *opaque);

#endif
