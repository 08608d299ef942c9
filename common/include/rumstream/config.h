/*
 * config: declarative configuration loading (libconfig files).
 *
 * A component describes its settings in one table of rs_conf_item_t (name,
 * type, default, bounds, target field, environment override, description),
 * in the manner of Fluent Bit's config_map. Loading applies, in order: the
 * defaults of the table, the file, then environment variables. The file is
 * validated against the table: an unknown setting, a value of the wrong type
 * or a number out of bounds fails with "<file>:<line>: <setting>: <reason>".
 *
 * Names may be dotted ("window.size_ms") to address a setting inside a group
 * (window = { size_ms = 60000; };).
 *
 * An RS_CONF_KVS item is a pass-through group: every setting under it is
 * collected as a key/value string pair, with '_' in names turned into '.'
 * (libconfig names cannot contain dots), e.g.
 *   kafka = { fetch_wait_max_ms = 50; enable_idempotence = true; };
 * gives "fetch.wait.max.ms"="50" and "enable.idempotence"="true".
 *
 * Targets: RS_CONF_INT -> int64_t, RS_CONF_DOUBLE -> double,
 * RS_CONF_BOOL -> int (0/1), RS_CONF_STRING -> char * (malloc'd, owned by
 * the target, freed by rs_config_free()), RS_CONF_KVS -> rs_conf_kvs_t.
 */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
        RS_CONF_INT,
        RS_CONF_DOUBLE,
        RS_CONF_BOOL,
        RS_CONF_STRING,
        RS_CONF_KVS,
} rs_conf_type_t;

typedef struct rs_conf_kv_s {
        char *key;
        char *value;
} rs_conf_kv_t;

typedef struct rs_conf_kvs_s {
        rs_conf_kv_t *items;
        size_t        cnt;
} rs_conf_kvs_t;

typedef struct rs_conf_item_s {
        const char    *name; /**< setting name, dotted for groups */
        rs_conf_type_t type;
        size_t         offset; /**< offsetof() the target field */
        const char    *def;    /**< default as text ("60000", "0.5", "true",
                                *   "rum.events"); NULL: 0 / NULL / empty */
        double      min, max;  /**< bounds for INT/DOUBLE (ignored if min>max)*/
        const char *env;  /**< environment variable overriding it, or NULL*/
        const char *desc; /**< one line for --help and the docs */
} rs_conf_item_t;

/* Table terminator. */
#define RS_CONF_END                                                            \
        { NULL, RS_CONF_INT, 0, NULL, 0, 0, NULL, NULL }

/**
 * @brief Applies defaults, then \p path (if not NULL), then environment
 *        overrides to \p target.
 * @returns 0, or -1 with "<file>:<line>: <setting>: <reason>" in errstr.
 *          On failure the target may be partly filled: call
 *          rs_config_free() either way.
 */
int rs_config_load(const rs_conf_item_t *table, void *target, const char *path,
                   char *errstr, size_t errstr_size);

/** @brief As rs_config_load() but parses \p text; "<string>" names it in
 *         errors. For tests and embedded defaults. */
int rs_config_load_string(const rs_conf_item_t *table, void *target,
                          const char *text, char *errstr, size_t errstr_size);

/** @brief Sets one setting by name from text (command-line overrides such as
 *         --set window.size_ms=10000), with the same validation.
 *  @returns 0 or -1 with a message naming the setting. */
int rs_config_set(const rs_conf_item_t *table, void *target, const char *name,
                  const char *value, char *errstr, size_t errstr_size);

/** @brief Frees what the loader allocated in \p target (strings, kvs). */
void rs_config_free(const rs_conf_item_t *table, void *target);

/** @brief Prints the table: name, type, default, bounds, env, description. */
void rs_config_usage(const rs_conf_item_t *table, FILE *fp);

/** @brief Looks up \p key in \p kvs. @returns the value or NULL. */
const char *rs_conf_kvs_get(const rs_conf_kvs_t *kvs, const char *key);

#endif
