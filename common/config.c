/*
 * config: declarative configuration loading (libconfig files).
 *
 * A component's settings live in one rs_conf_item_t table; every value,
 * wherever it comes from (the table's default text, a libconfig file, an
 * environment variable, a --set option), goes through the same store
 * functions, so the type and bounds checks are written once and an operator
 * gets the same message whatever the source.
 *
 * The file is walked rather than queried: looking up each table entry would
 * silently ignore a misspelt setting, which is the most common configuration
 * mistake. Every leaf must name a table item by its dotted path, and every
 * group must lead to one (or be a pass-through KVS group), so anything the
 * table does not know fails with its file and line.
 *
 * Errors are built in two parts: the checks produce a bare reason ("value 5
 * out of range [1000, 86400000]") and the caller prefixes where the value came
 * from ("cfg:3: window.size_ms: ", "environment RUMSTREAM_X: window.size_ms:
 * ").
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>

#include "rumstream/config.h"

/* Deep enough for any sane nesting; a longer path is reported, not cut. */
#define PATH_SIZE 512

typedef struct walk_s {
        const rs_conf_item_t *table;
        void                 *target;
        const char *name; /* file name when libconfig does not know it */
        char        path[PATH_SIZE];
        size_t      pathlen;
        char       *errstr;
        size_t      errstr_size;
} walk_t;

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...) {
        va_list ap;

        if (!errstr || errstr_size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

static void *field(const rs_conf_item_t *item, void *target) {
        return (char *)target + item->offset;
}

static const rs_conf_item_t *find_item(const rs_conf_item_t *table,
                                       const char           *name) {
        for (; table->name; table++)
                if (!strcmp(table->name, name))
                        return table;
        return NULL;
}

/* Whether some item lives below the group at \p path. */
static int is_group_prefix(const rs_conf_item_t *table, const char *path,
                           size_t len) {
        for (; table->name; table++)
                if (!strncmp(table->name, path, len) && table->name[len] == '.')
                        return 1;
        return 0;
}

static int has_bounds(const rs_conf_item_t *item) {
        return item->min <= item->max;
}

static const char *expected_name(rs_conf_type_t type) {
        switch (type) {
        case RS_CONF_INT:
                return "integer";
        case RS_CONF_DOUBLE:
                return "number";
        case RS_CONF_BOOL:
                return "boolean";
        case RS_CONF_STRING:
                return "string";
        case RS_CONF_KVS:
                return "a group";
        }
        return "?";
}

static const char *setting_type_name(const config_setting_t *s) {
        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                return "integer";
        case CONFIG_TYPE_FLOAT:
                return "float";
        case CONFIG_TYPE_STRING:
                return "string";
        case CONFIG_TYPE_BOOL:
                return "boolean";
        case CONFIG_TYPE_GROUP:
                return "group";
        case CONFIG_TYPE_ARRAY:
                return "array";
        case CONFIG_TYPE_LIST:
                return "list";
        }
        return "nothing";
}


/*
 * Stores. Each checks what the type alone cannot and fills \p reason.
 */

static int store_int(const rs_conf_item_t *item, void *target, int64_t v,
                     char *reason, size_t reason_size) {
        if (has_bounds(item) &&
            ((double)v < item->min || (double)v > item->max)) {
                snprintf(reason, reason_size,
                         "value %lld out of range [%.0f, %.0f]", (long long)v,
                         item->min, item->max);
                return -1;
        }
        *(int64_t *)field(item, target) = v;
        return 0;
}

static int store_double(const rs_conf_item_t *item, void *target, double v,
                        char *reason, size_t reason_size) {
        if (has_bounds(item) && (v < item->min || v > item->max)) {
                snprintf(reason, reason_size, "value %g out of range [%g, %g]",
                         v, item->min, item->max);
                return -1;
        }
        *(double *)field(item, target) = v;
        return 0;
}

static int store_string(const rs_conf_item_t *item, void *target, const char *v,
                        char *reason, size_t reason_size) {
        char **dst  = field(item, target);
        char  *copy = strdup(v);

        if (!copy) {
                snprintf(reason, reason_size, "out of memory");
                return -1;
        }
        free(*dst);
        *dst = copy;
        return 0;
}

/* Takes ownership of \p key and \p value, also on failure. A key already
 * present is replaced so that a --set after the file wins, and the list
 * handed to librdkafka never holds the same property twice. */
static int kvs_set(rs_conf_kvs_t *kvs, char *key, char *value) {
        rs_conf_kv_t *items;
        size_t        i;

        if (!key || !value)
                goto fail;
        for (i = 0; i < kvs->cnt; i++) {
                if (!strcmp(kvs->items[i].key, key)) {
                        free(kvs->items[i].value);
                        kvs->items[i].value = value;
                        free(key);
                        return 0;
                }
        }
        items = realloc(kvs->items, (kvs->cnt + 1) * sizeof(*items));
        if (!items)
                goto fail;
        kvs->items                 = items;
        kvs->items[kvs->cnt].key   = key;
        kvs->items[kvs->cnt].value = value;
        kvs->cnt++;
        return 0;
fail:
        free(key);
        free(value);
        return -1;
}

static void kvs_clear(rs_conf_kvs_t *kvs) {
        size_t i;

        for (i = 0; i < kvs->cnt; i++) {
                free(kvs->items[i].key);
                free(kvs->items[i].value);
        }
        free(kvs->items);
        kvs->items = NULL;
        kvs->cnt   = 0;
}


/*
 * Text values: defaults, environment variables and rs_config_set().
 */

static int parse_bool(const char *text, int *out) {
        static const char *const yes[] = {"true", "1", "yes", "on"};
        static const char *const no[]  = {"false", "0", "no", "off"};
        size_t                   i;

        for (i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
                if (!strcasecmp(text, yes[i])) {
                        *out = 1;
                        return 0;
                }
                if (!strcasecmp(text, no[i])) {
                        *out = 0;
                        return 0;
                }
        }
        return -1;
}

static int set_from_text(const rs_conf_item_t *item, void *target,
                         const char *text, char *reason, size_t reason_size) {
        char     *end;
        long long ll;
        double    d;
        int       b;

        switch (item->type) {
        case RS_CONF_INT:
                /* strtoll() would skip leading blanks and take "", which an
                 * operator never means as a number. */
                if (!*text || isspace((unsigned char)*text))
                        goto wrong;
                errno = 0;
                ll    = strtoll(text, &end, 10);
                if (*end)
                        goto wrong;
                if (errno == ERANGE) {
                        snprintf(reason, reason_size,
                                 "value %s out of 64-bit integer range", text);
                        return -1;
                }
                return store_int(item, target, ll, reason, reason_size);
        case RS_CONF_DOUBLE:
                if (!*text || isspace((unsigned char)*text))
                        goto wrong;
                d = strtod(text, &end);
                /* nan would pass every bounds check. */
                if (*end || !isfinite(d))
                        goto wrong;
                return store_double(item, target, d, reason, reason_size);
        case RS_CONF_BOOL:
                if (parse_bool(text, &b) == -1)
                        goto wrong;
                *(int *)field(item, target) = b;
                return 0;
        case RS_CONF_STRING:
                return store_string(item, target, text, reason, reason_size);
        case RS_CONF_KVS:
                snprintf(reason, reason_size,
                         "a pass-through group is set by property: "
                         "%s.<property>=<value>",
                         item->name);
                return -1;
        }
wrong:
        snprintf(reason, reason_size, "expected %s, got \"%s\"",
                 expected_name(item->type), text);
        return -1;
}

static void reset_all(const rs_conf_item_t *table, void *target) {
        for (; table->name; table++) {
                switch (table->type) {
                case RS_CONF_INT:
                        *(int64_t *)field(table, target) = 0;
                        break;
                case RS_CONF_DOUBLE:
                        *(double *)field(table, target) = 0.0;
                        break;
                case RS_CONF_BOOL:
                        *(int *)field(table, target) = 0;
                        break;
                case RS_CONF_STRING:
                        *(char **)field(table, target) = NULL;
                        break;
                case RS_CONF_KVS:
                        memset(field(table, target), 0, sizeof(rs_conf_kvs_t));
                        break;
                }
        }
}

/* Every field is reset before any default is parsed, so that whatever
 * fails later the target holds nothing rs_config_free() cannot free. */
static int apply_defaults(const rs_conf_item_t *table, void *target,
                          char *errstr, size_t errstr_size) {
        const rs_conf_item_t *item;
        char                  reason[256];

        reset_all(table, target);
        for (item = table; item->name; item++) {
                if (item->type == RS_CONF_KVS) {
                        /* A text form for a whole group would need a
                         * separator that values (broker lists) may contain;
                         * no table needs it, so a mistake fails early. */
                        if (item->def || item->env) {
                                seterr(errstr, errstr_size,
                                       "%s: a pass-through group takes no "
                                       "default or environment variable",
                                       item->name);
                                return -1;
                        }
                        continue;
                }
                if (!item->def)
                        continue;
                if (set_from_text(item, target, item->def, reason,
                                  sizeof(reason)) == -1) {
                        seterr(errstr, errstr_size, "%s: default: %s",
                               item->name, reason);
                        return -1;
                }
        }
        return 0;
}

static int apply_env(const rs_conf_item_t *table, void *target, char *errstr,
                     size_t errstr_size) {
        const rs_conf_item_t *item;
        const char           *v;
        char                  reason[256];

        for (item = table; item->name; item++) {
                if (!item->env)
                        continue;
                /* An empty variable is how shells and compose files say
                 * "not set"; taking it as a value would wipe the file's. */
                v = getenv(item->env);
                if (!v || !*v)
                        continue;
                if (set_from_text(item, target, v, reason, sizeof(reason)) ==
                    -1) {
                        seterr(errstr, errstr_size, "environment %s: %s: %s",
                               item->env, item->name, reason);
                        return -1;
                }
        }
        return 0;
}


/*
 * The libconfig tree.
 */

static int walk_fail(walk_t *w, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int walk_fail(walk_t *w, const config_setting_t *s, const char *fmt,
                     ...) {
        const char *file = config_setting_source_file(s);
        char        reason[256];
        va_list     ap;

        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        seterr(w->errstr, w->errstr_size, "%s:%u: %s: %s",
               file ? file : w->name, (unsigned)config_setting_source_line(s),
               w->path, reason);
        return -1;
}

static int path_push(walk_t *w, const char *name) {
        size_t len = strlen(name);
        size_t sep = w->pathlen ? 1 : 0;

        if (w->pathlen + sep + len + 1 > sizeof(w->path))
                return -1;
        if (sep)
                w->path[w->pathlen++] = '.';
        memcpy(w->path + w->pathlen, name, len + 1);
        w->pathlen += len;
        return 0;
}

/* Shortest text that reads back as the same double: librdkafka parses
 * the value again, and "0.1" is what the operator wrote. */
static void format_double(char *buf, size_t size, double d) {
        snprintf(buf, size, "%.15g", d);
        if (strtod(buf, NULL) != d)
                snprintf(buf, size, "%.17g", d);
}

static int walk_kvs_leaf(walk_t *w, rs_conf_kvs_t *kvs, size_t prefix_len,
                         const config_setting_t *s) {
        char        num[64];
        const char *v;
        char       *key, *p;

        switch (config_setting_type(s)) {
        case CONFIG_TYPE_INT:
        case CONFIG_TYPE_INT64:
                snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
                v = num;
                break;
        case CONFIG_TYPE_FLOAT:
                format_double(num, sizeof(num), config_setting_get_float(s));
                v = num;
                break;
        case CONFIG_TYPE_BOOL:
                v = config_setting_get_bool(s) ? "true" : "false";
                break;
        case CONFIG_TYPE_STRING:
                v = config_setting_get_string(s);
                break;
        default:
                return walk_fail(w, s,
                                 "expected string, number or boolean, got %s",
                                 setting_type_name(s));
        }
        /* libconfig names cannot hold '.', so "fetch_wait_max_ms" stands
         * for librdkafka's "fetch.wait.max.ms"; nested groups join with
         * '.' too. */
        key = strdup(w->path + prefix_len + 1);
        if (key)
                for (p = key; *p; p++)
                        if (*p == '_')
                                *p = '.';
        if (kvs_set(kvs, key, strdup(v)) == -1)
                return walk_fail(w, s, "out of memory");
        return 0;
}

static int walk_item(walk_t *w, const rs_conf_item_t *item,
                     const config_setting_t *s);

static int walk_kvs(walk_t *w, rs_conf_kvs_t *kvs, size_t prefix_len,
                    const config_setting_t *group) {
        int i, n = config_setting_length(group);

        for (i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, i);
                const rs_conf_item_t   *item;
                size_t                  saved = w->pathlen;
                int                     r;

                if (path_push(w, config_setting_name(s)) == -1)
                        return walk_fail(w, s, "setting path too long");
                /* A table item inside the group ("kafka.brokers", with its
                 * own type and environment variable) is more specific than
                 * the pass-through and takes the value. */
                if ((item = find_item(w->table, w->path)))
                        r = walk_item(w, item, s);
                else if (config_setting_is_group(s))
                        r = walk_kvs(w, kvs, prefix_len, s);
                else
                        r = walk_kvs_leaf(w, kvs, prefix_len, s);
                w->path[w->pathlen = saved] = '\0';
                if (r == -1)
                        return -1;
        }
        return 0;
}

static int walk_item(walk_t *w, const rs_conf_item_t *item,
                     const config_setting_t *s) {
        int  type = config_setting_type(s);
        char reason[256];
        int  r;

        switch (item->type) {
        case RS_CONF_INT:
                if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
                        goto wrong;
                r = store_int(item, w->target, config_setting_get_int64(s),
                              reason, sizeof(reason));
                break;
        case RS_CONF_DOUBLE:
                if (type == CONFIG_TYPE_FLOAT)
                        r = store_double(item, w->target,
                                         config_setting_get_float(s), reason,
                                         sizeof(reason));
                else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
                        r = store_double(item, w->target,
                                         (double)config_setting_get_int64(s),
                                         reason, sizeof(reason));
                else
                        goto wrong;
                break;
        case RS_CONF_BOOL:
                if (type != CONFIG_TYPE_BOOL)
                        goto wrong;
                *(int *)field(item, w->target) = config_setting_get_bool(s);
                r                              = 0;
                break;
        case RS_CONF_STRING:
                if (type != CONFIG_TYPE_STRING)
                        goto wrong;
                r = store_string(item, w->target, config_setting_get_string(s),
                                 reason, sizeof(reason));
                break;
        case RS_CONF_KVS:
                if (type != CONFIG_TYPE_GROUP)
                        goto wrong;
                return walk_kvs(w, field(item, w->target), strlen(item->name),
                                s);
        default:
                goto wrong;
        }
        if (r == -1)
                return walk_fail(w, s, "%s", reason);
        return 0;
wrong:
        return walk_fail(w, s, "expected %s, got %s", expected_name(item->type),
                         setting_type_name(s));
}

static int walk_group(walk_t *w, const config_setting_t *group) {
        int i, n = config_setting_length(group);

        for (i = 0; i < n; i++) {
                const config_setting_t *s = config_setting_get_elem(group, i);
                const rs_conf_item_t   *item;
                size_t                  saved = w->pathlen;
                int                     r;

                if (path_push(w, config_setting_name(s)) == -1)
                        return walk_fail(w, s, "setting path too long");
                item = find_item(w->table, w->path);
                if (item)
                        r = walk_item(w, item, s);
                else if (!is_group_prefix(w->table, w->path, w->pathlen))
                        r = walk_fail(w, s, "unknown setting");
                else if (config_setting_is_group(s))
                        r = walk_group(w, s);
                else
                        r = walk_fail(w, s, "expected a group, got %s",
                                      setting_type_name(s));
                w->path[w->pathlen = saved] = '\0';
                if (r == -1)
                        return -1;
        }
        return 0;
}

/*
 * libconfig 1.5 reads a decimal integer without an L suffix into an int and
 * wraps anything outside 32 bits (3000000000 becomes -1294967296); later
 * releases promote such literals to 64 bits. A wrapped number can pass the
 * bounds check, so the text is scanned for them and they are refused (files
 * pulled in with @include are not scanned). Hex literals are 32-bit two's
 * complement by libconfig's own rule; only those that cannot fit at all are
 * refused.
 */
static int check_wide_literals(const char *text, const char *name, char *errstr,
                               size_t errstr_size) {
        const char *p    = text, *start, *digits;
        unsigned    line = 1;
        char        num[32];
        long long   v;
        size_t      len;
        int         hex;

        while (*p) {
                if (*p == '\n') {
                        line++;
                        p++;
                } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
                        while (*p && *p != '\n')
                                p++;
                } else if (p[0] == '/' && p[1] == '*') {
                        for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                                if (*p == '\n')
                                        line++;
                        if (*p)
                                p += 2;
                } else if (*p == '"') {
                        for (p++; *p && *p != '"'; p++) {
                                if (*p == '\\' && p[1])
                                        p++;
                                if (*p == '\n')
                                        line++;
                        }
                        if (*p)
                                p++;
                } else if (isalpha((unsigned char)*p) || *p == '*' ||
                           *p == '_') {
                        /* A name; its digits are not numbers. */
                        while (isalnum((unsigned char)*p) || *p == '_' ||
                               *p == '-' || *p == '*')
                                p++;
                } else if (isdigit((unsigned char)*p) ||
                           ((*p == '-' || *p == '+') &&
                            isdigit((unsigned char)p[1]))) {
                        start  = p;
                        digits = (*p == '-' || *p == '+') ? p + 1 : p;
                        hex    = digits[0] == '0' &&
                              (digits[1] == 'x' || digits[1] == 'X');
                        for (p = digits; *p; p++) {
                                if (isalnum((unsigned char)*p) || *p == '.')
                                        continue;
                                /* The sign of an exponent: 1e-5. */
                                if ((*p == '-' || *p == '+') && !hex &&
                                    (p[-1] == 'e' || p[-1] == 'E'))
                                        continue;
                                break;
                        }
                        len = (size_t)(p - start);
                        if (p[-1] == 'L' || p[-1] == 'l')
                                continue;
                        if (hex) {
                                for (digits += 2; *digits == '0'; digits++)
                                        ;
                                if (p - digits <= 8)
                                        continue;
                        } else if (memchr(start, '.', len) ||
                                   memchr(start, 'e', len) ||
                                   memchr(start, 'E', len)) {
                                continue;
                        } else if (len < sizeof(num)) {
                                memcpy(num, start, len);
                                num[len] = '\0';
                                errno    = 0;
                                v        = strtoll(num, NULL, 10);
                                if (errno != ERANGE && v >= INT32_MIN &&
                                    v <= INT32_MAX)
                                        continue;
                        }
                        seterr(errstr, errstr_size,
                               "%s:%u: integer %.*s does not fit in 32 bits; "
                               "write %.*sL",
                               name, line, (int)len, start, (int)len, start);
                        return -1;
                } else {
                        p++;
                }
        }
        return 0;
}

static int load_text(const rs_conf_item_t *table, void *target,
                     const char *text, const char *name, char *errstr,
                     size_t errstr_size) {
        config_t cfg;
        walk_t   w;
        int      r = -1;

        config_init(&cfg);
        if (!config_read_string(&cfg, text)) {
                seterr(errstr, errstr_size, "%s:%d: %s",
                       config_error_file(&cfg) ? config_error_file(&cfg) : name,
                       config_error_line(&cfg), config_error_text(&cfg));
                goto out;
        }
        if (check_wide_literals(text, name, errstr, errstr_size) == -1)
                goto out;

        memset(&w, 0, sizeof(w));
        w.table       = table;
        w.target      = target;
        w.name        = name;
        w.errstr      = errstr;
        w.errstr_size = errstr_size;
        r             = walk_group(&w, config_root_setting(&cfg));
out:
        config_destroy(&cfg);
        return r;
}

/* The text is read here rather than by config_read_file() so that a
 * missing file is reported with errno's reason (libconfig only says "file
 * I/O error") and so that check_wide_literals() can see it. */
static char *read_file(const char *path, char *errstr, size_t errstr_size) {
        FILE  *fp;
        char  *buf = NULL, *nbuf;
        size_t len = 0, cap = 0, n;

        if (!(fp = fopen(path, "r"))) {
                seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        for (;;) {
                if (cap - len < 4096) {
                        cap  = cap ? cap * 2 : 8192;
                        nbuf = realloc(buf, cap);
                        if (!nbuf) {
                                seterr(errstr, errstr_size, "%s: %s", path,
                                       strerror(ENOMEM));
                                goto fail;
                        }
                        buf = nbuf;
                }
                n = fread(buf + len, 1, cap - len - 1, fp);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(fp)) {
                seterr(errstr, errstr_size, "%s: %s", path, strerror(errno));
                goto fail;
        }
        buf[len] = '\0';
        fclose(fp);
        return buf;
fail:
        fclose(fp);
        free(buf);
        return NULL;
}

int rs_config_load(const rs_conf_item_t *table, void *target, const char *path,
                   char *errstr, size_t errstr_size) {
        char *text = NULL;
        int   r    = -1;

        if (apply_defaults(table, target, errstr, errstr_size) == -1)
                goto out;
        if (path) {
                if (!(text = read_file(path, errstr, errstr_size)))
                        goto out;
                if (load_text(table, target, text, path, errstr, errstr_size) ==
                    -1)
                        goto out;
        }
        r = apply_env(table, target, errstr, errstr_size);
out:
        free(text);
        return r;
}

int rs_config_load_string(const rs_conf_item_t *table, void *target,
                          const char *text, char *errstr, size_t errstr_size) {
        if (apply_defaults(table, target, errstr, errstr_size) == -1)
                return -1;
        if (text && load_text(table, target, text, "<string>", errstr,
                              errstr_size) == -1)
                return -1;
        return apply_env(table, target, errstr, errstr_size);
}

int rs_config_set(const rs_conf_item_t *table, void *target, const char *name,
                  const char *value, char *errstr, size_t errstr_size) {
        const rs_conf_item_t *item;
        char                  reason[256];
        size_t                len;

        if (!name || !value) {
                seterr(errstr, errstr_size, "%s: no value",
                       name ? name : "(null)");
                return -1;
        }
        if ((item = find_item(table, name))) {
                if (set_from_text(item, target, value, reason,
                                  sizeof(reason)) == -1) {
                        seterr(errstr, errstr_size, "%s: %s", name, reason);
                        return -1;
                }
                return 0;
        }
        /* "kafka.fetch.wait.max.ms": the property is taken verbatim since
         * on the command line it can be spelt as librdkafka spells it. */
        for (item = table; item->name; item++) {
                if (item->type != RS_CONF_KVS)
                        continue;
                len = strlen(item->name);
                if (strncmp(name, item->name, len) || name[len] != '.' ||
                    !name[len + 1])
                        continue;
                if (kvs_set(field(item, target), strdup(name + len + 1),
                            strdup(value)) == -1) {
                        seterr(errstr, errstr_size, "%s: out of memory", name);
                        return -1;
                }
                return 0;
        }
        seterr(errstr, errstr_size, "%s: unknown setting", name);
        return -1;
}

void rs_config_free(const rs_conf_item_t *table, void *target) {
        char **s;

        if (!table || !target)
                return;
        for (; table->name; table++) {
                if (table->type == RS_CONF_STRING) {
                        s = field(table, target);
                        free(*s);
                        *s = NULL;
                } else if (table->type == RS_CONF_KVS) {
                        kvs_clear(field(table, target));
                }
        }
}

static void format_bounds(char *buf, size_t size, const rs_conf_item_t *item) {
        if (item->type == RS_CONF_INT && has_bounds(item))
                snprintf(buf, size, "[%.0f, %.0f]", item->min, item->max);
        else if (item->type == RS_CONF_DOUBLE && has_bounds(item))
                snprintf(buf, size, "[%g, %g]", item->min, item->max);
        else
                snprintf(buf, size, "-");
}

static const char *type_label(rs_conf_type_t type) {
        switch (type) {
        case RS_CONF_INT:
                return "int";
        case RS_CONF_DOUBLE:
                return "double";
        case RS_CONF_BOOL:
                return "bool";
        case RS_CONF_STRING:
                return "string";
        case RS_CONF_KVS:
                return "group";
        }
        return "?";
}

static int max_width(int w, const char *s) {
        int len = (int)strlen(s);

        return len > w ? len : w;
}

void rs_config_usage(const rs_conf_item_t *table, FILE *fp) {
        const rs_conf_item_t *item;
        int  wname = 0, wtype = 0, wdef = 0, wrange = 0, wenv = 0;
        char range[96];

        /* Widths first so the columns line up for any table. */
        wname  = max_width(wname, "SETTING");
        wtype  = max_width(wtype, "TYPE");
        wdef   = max_width(wdef, "DEFAULT");
        wrange = max_width(wrange, "RANGE");
        wenv   = max_width(wenv, "ENV");
        for (item = table; item->name; item++) {
                format_bounds(range, sizeof(range), item);
                wname  = max_width(wname, item->name);
                wtype  = max_width(wtype, type_label(item->type));
                wdef   = max_width(wdef, item->def ? item->def : "-");
                wrange = max_width(wrange, range);
                wenv   = max_width(wenv, item->env ? item->env : "-");
        }
        fprintf(fp, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wname, "SETTING",
                wtype, "TYPE", wdef, "DEFAULT", wrange, "RANGE", wenv, "ENV",
                "DESCRIPTION");
        for (item = table; item->name; item++) {
                format_bounds(range, sizeof(range), item);
                fprintf(fp, "%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wname,
                        item->name, wtype, type_label(item->type), wdef,
                        item->def ? item->def : "-", wrange, range, wenv,
                        item->env ? item->env : "-",
                        item->desc ? item->desc : "");
        }
}

const char *rs_conf_kvs_get(const rs_conf_kvs_t *kvs, const char *key) {
        size_t i;

        if (!kvs || !key)
                return NULL;
        for (i = kvs->cnt; i > 0; i--)
                if (!strcmp(kvs->items[i - 1].key, key))
                        return kvs->items[i - 1].value;
        return NULL;
}
