/*
 * avro: Avro binary values in the Confluent wire format.
 *
 * The registry maps schema ids to parsed schemas (and keeps their JSON,
 * which holds the field defaults avro-c does not keep). The values handed
 * out are avro-c generic values of the reader schema, but the bytes are
 * not parsed by avro-c: avro-c 1.11.1 cannot resolve a writer that lacks a
 * reader field (its resolved writer has no default values and refuses such
 * a pair), its reader allocates twice per string and mallocs whatever length
 * a corrupt message claims before checking that the bytes exist, and its
 * memory reader does not tell how much of the buffer it consumed.
 *
 * So for every (writer schema, reader schema) pair a decoder builds a plan
 * once, on the first message with that writer id: a tree of nodes shaped
 * like the writer schema, where each node says how to parse the writer's
 * bytes and what to set in the reader value (which reader field, which union
 * branch, which numeric promotion, which enum symbol) or that the bytes are
 * to be skipped; reader fields the writer lacks are set from their defaults,
 * prepared once as values and copied in. Decoding walks the plan over the
 * buffer with a bounds-checked cursor: every length is checked against the
 * bytes left before anything is allocated or copied, strings must be valid
 * UTF-8 without NUL (C consumers and PostgreSQL both stop at a NUL), and
 * the cursor position at the end tells exactly whether bytes are left over.
 *
 * Steady state: the reader value, the plan and a scratch buffer are reused;
 * avro-c's generic strings keep their buffers across resets, so a record
 * of strings and numbers is decoded without allocating. avro-c still
 * allocates for map keys and when a union switches branch.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/avro.h"

/* Generated from the .avsc files in schemas/ by the build; ends with
 * {NULL, NULL}. */
struct rs_schema_source {
        const char *name;
        const char *json;
};
extern const struct rs_schema_source rs_schema_sources[];

/* Default ids of the compiled-in schemas, by file name. */
static const struct {
        const char *name;
        int32_t     id;
} builtin_ids[] = {
    {"rum_event", RS_SCHEMA_ID_RUM_EVENT},
    {"synthetic_result", RS_SCHEMA_ID_SYNTHETIC_RESULT},
    {"error_event", RS_SCHEMA_ID_ERROR_EVENT},
    {"rum_aggregate", RS_SCHEMA_ID_RUM_AGGREGATE},
    {"error_aggregate", RS_SCHEMA_ID_ERROR_AGGREGATE},
    {"issue", RS_SCHEMA_ID_ISSUE},
    {"alert", RS_SCHEMA_ID_ALERT},
    {"privacy_request", RS_SCHEMA_ID_PRIVACY_REQUEST},
};

#define BUILTIN_CNT (sizeof(builtin_ids) / sizeof(builtin_ids[0]))

/* Deeper schemas are refused: it bounds the recursion of the plan builder
 * and turns a recursive schema (which a plan tree cannot express) into an
 * error instead of a stack overflow. */
#define MAX_SCHEMA_DEPTH 32

/* Zero-byte items (null, records of nulls) cost no input, so the number a
 * corrupt block count could make us append is bounded separately. */
#define MAX_ZERO_SIZE_ITEMS (1 << 16)

/* An encoded value larger than this is refused rather than buffered. */
#define MAX_ENCODED_SIZE (64 * 1024 * 1024)

/* snprintf that accepts a NULL buffer and truncates silently: messages and
 * names that do not fit are cut, which is all that can be done. */
static void bprintf(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void bprintf(char *buf, size_t size, const char *fmt, ...) {
        va_list ap;

        if (!buf || !size)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

/* Puts "name." in front of an error path ("a.b"), which is built while
 * unwinding, so it costs nothing when nothing fails. */
static void path_prepend(char *path, size_t size, const char *name) {
        size_t nlen = strlen(name), plen = strlen(path);

        if (!plen) {
                if (nlen < size)
                        memcpy(path, name, nlen + 1);
                return;
        }
        if (nlen + 1 + plen >= size)
                return;
        memmove(path + nlen + 1, path, plen + 1);
        memcpy(path, name, nlen);
        path[nlen] = '.';
}

/* "path: msg", or msg alone if there is no path. */
static void join_err(char *out, size_t size, const char *path,
                     const char *msg) {
        if (*path)
                bprintf(out, size, "%s: %s", path, msg);
        else
                bprintf(out, size, "%s", msg);
}

const char *rs_avro_err_reason(int err) {
        switch (err) {
        case RS_AVRO_ERR_TRUNCATED:
                return "truncated";
        case RS_AVRO_ERR_MAGIC:
                return "bad_magic";
        case RS_AVRO_ERR_SCHEMA_ID:
                return "unknown_schema";
        case RS_AVRO_ERR_WRONG_TYPE:
                return "wrong_schema";
        case RS_AVRO_ERR_BODY:
                return "undecodable";
        default:
                return "unknown";
        }
}

const char *rs_avro_builtin_json(const char *name) {
        const struct rs_schema_source *src;

        if (!name)
                return NULL;
        for (src = rs_schema_sources; src->name; src++)
                if (!strcmp(src->name, name))
                        return src->json;
        return NULL;
}

static avro_schema_t deref(avro_schema_t s) {
        while (s && is_avro_link(s))
                s = avro_schema_link_target(s);
        return s;
}

/* "ns.Name" of a named schema into buf; "" for unnamed ones. */
static const char *full_name(avro_schema_t s, char *buf, size_t size) {
        const char *ns, *name;

        s = deref(s);
        if (!is_avro_named_type(s)) {
                buf[0] = '\0';
                return buf;
        }
        name = avro_schema_name(s);
        ns   = avro_schema_namespace(s);
        if (ns && *ns)
                bprintf(buf, size, "%s.%s", ns, name);
        else
                bprintf(buf, size, "%s", name);
        return buf;
}


/*
 * Registry: entries sorted by id. A generation counter tells decoders that
 * an id was added or replaced, so they drop plans built from old schemas.
 * Decoders read the counter on every message without a lock: add schemas
 * at start, before other threads decode with the registry.
 */
struct reg_entry {
        int32_t       id;
        avro_schema_t schema;
        char         *json;
};

struct rs_avro_registry_s {
        struct reg_entry *entries;
        size_t            cnt;
        size_t            cap;
        uint64_t          generation;
};

static struct reg_entry *reg_find(const rs_avro_registry_t *reg, int32_t id,
                                  size_t *posp) {
        size_t lo = 0, hi = reg->cnt;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (reg->entries[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (posp)
                *posp = lo;
        if (lo < reg->cnt && reg->entries[lo].id == id)
                return &reg->entries[lo];
        return NULL;
}

rs_avro_registry_t *rs_avro_registry_new(char *errstr, size_t errstr_size) {
        rs_avro_registry_t            *reg;
        const struct rs_schema_source *src;
        size_t                         i;

        reg = calloc(1, sizeof(*reg));
        if (!reg) {
                bprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }

        /* Every compiled-in schema must have a default id and the other
         * way round: a schema added to schemas/ without one here would
         * otherwise be silently unusable. */
        for (src = rs_schema_sources; src->name; src++) {
                for (i = 0; i < BUILTIN_CNT; i++)
                        if (!strcmp(builtin_ids[i].name, src->name))
                                break;
                if (i == BUILTIN_CNT) {
                        bprintf(errstr, errstr_size,
                                "compiled-in schema %s has no default id",
                                src->name);
                        goto fail;
                }
                if (rs_avro_registry_add(reg, builtin_ids[i].id, src->json,
                                         errstr, errstr_size) == -1)
                        goto fail;
        }
        for (i = 0; i < BUILTIN_CNT; i++) {
                if (!reg_find(reg, builtin_ids[i].id, NULL)) {
                        bprintf(errstr, errstr_size,
                                "schema %s is not compiled in",
                                builtin_ids[i].name);
                        goto fail;
                }
        }
        return reg;

fail:
        rs_avro_registry_destroy(reg);
        return NULL;
}

void rs_avro_registry_destroy(rs_avro_registry_t *reg) {
        size_t i;

        if (!reg)
                return;
        for (i = 0; i < reg->cnt; i++) {
                avro_schema_decref(reg->entries[i].schema);
                free(reg->entries[i].json);
        }
        free(reg->entries);
        free(reg);
}

int rs_avro_registry_add(rs_avro_registry_t *reg, int32_t id, const char *json,
                         char *errstr, size_t errstr_size) {
        avro_schema_t     schema = NULL;
        struct reg_entry *e;
        char             *copy = NULL;
        size_t            pos;
        int               r = -1;

        if (!json) {
                bprintf(errstr, errstr_size, "schema id %d: no JSON", id);
                goto out;
        }
        if (avro_schema_from_json_length(json, strlen(json), &schema)) {
                bprintf(errstr, errstr_size, "schema id %d: %s", id,
                        avro_strerror());
                schema = NULL;
                goto out;
        }
        copy = strdup(json);
        if (!copy) {
                bprintf(errstr, errstr_size, "out of memory");
                goto out;
        }

        e = reg_find(reg, id, &pos);
        if (e) {
                avro_schema_decref(e->schema);
                free(e->json);
        } else {
                if (reg->cnt == reg->cap) {
                        size_t            cap = reg->cap ? reg->cap * 2 : 16;
                        struct reg_entry *n =
                            realloc(reg->entries, cap * sizeof(*n));
                        if (!n) {
                                bprintf(errstr, errstr_size, "out of memory");
                                goto out;
                        }
                        reg->entries = n;
                        reg->cap     = cap;
                }
                memmove(&reg->entries[pos + 1], &reg->entries[pos],
                        (reg->cnt - pos) * sizeof(*reg->entries));
                reg->cnt++;
                e     = &reg->entries[pos];
                e->id = id;
        }
        e->schema = schema;
        e->json   = copy;
        schema    = NULL;
        copy      = NULL;
        reg->generation++;
        r = 0;

out:
        if (schema)
                avro_schema_decref(schema);
        free(copy);
        return r;
}

int rs_avro_registry_add_file(rs_avro_registry_t *reg, int32_t id,
                              const char *path, char *errstr,
                              size_t errstr_size) {
        FILE  *fp;
        char  *buf = NULL, *n;
        size_t len = 0, cap = 0, got;
        int    r = -1;

        fp = fopen(path, "rb");
        if (!fp) {
                bprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return -1;
        }
        do {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        n   = realloc(buf, cap + 1);
                        if (!n) {
                                bprintf(errstr, errstr_size, "out of memory");
                                goto out;
                        }
                        buf = n;
                }
                got = fread(buf + len, 1, cap - len, fp);
                len += got;
        } while (got > 0);
        if (ferror(fp)) {
                bprintf(errstr, errstr_size, "%s: read error", path);
                goto out;
        }
        buf[len] = '\0';
        if (strlen(buf) != len) {
                bprintf(errstr, errstr_size, "%s: contains a NUL byte", path);
                goto out;
        }
        if (rs_avro_registry_add(reg, id, buf, errstr, errstr_size) == -1) {
                /* Name the file: the id alone does not say which one. */
                char detail[256];
                bprintf(detail, sizeof(detail), "%s", errstr ? errstr : "");
                bprintf(errstr, errstr_size, "%s: %s", path, detail);
                goto out;
        }
        r = 0;

out:
        free(buf);
        fclose(fp);
        return r;
}

avro_schema_t rs_avro_registry_get(const rs_avro_registry_t *reg, int32_t id) {
        const struct reg_entry *e = reg_find(reg, id, NULL);
        return e ? e->schema : NULL;
}

static const char *registry_json(const rs_avro_registry_t *reg, int32_t id) {
        const struct reg_entry *e = reg_find(reg, id, NULL);
        return e ? e->json : NULL;
}

const char *rs_avro_registry_json(const rs_avro_registry_t *reg, int32_t id) {
        return reg ? registry_json(reg, id) : NULL;
}


/*
 * A small JSON reader, only to find field defaults in a reader schema's
 * text (avro-c parses schemas but drops "default"). Runs when a plan is
 * built, never per message.
 */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct json {
        int          type;
        int          boolean;
        char        *text; /* J_STR: decoded, NUL-terminated; J_NUM: literal */
        size_t       len;  /* J_STR: bytes in text before the NUL */
        size_t       cnt;  /* J_ARR items, J_OBJ members */
        struct json *items;
        char       **keys; /* J_OBJ member names, parallel to items */
};

struct jparser {
        const char *p;
        const char *end;
        int         depth;
        char       *err;
        size_t      errsize;
};

static void json_free(struct json *j) {
        size_t i;

        if (!j)
                return;
        for (i = 0; i < j->cnt; i++) {
                json_free(&j->items[i]);
                if (j->keys)
                        free(j->keys[i]);
        }
        free(j->items);
        free(j->keys);
        free(j->text);
        memset(j, 0, sizeof(*j));
}

static void jskip_ws(struct jparser *jp) {
        while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
                                   *jp->p == '\n' || *jp->p == '\r'))
                jp->p++;
}

static int jfail(struct jparser *jp, const char *what) {
        bprintf(jp->err, jp->errsize, "JSON: %s", what);
        return -1;
}

static int jhex4(struct jparser *jp, uint32_t *out) {
        uint32_t v = 0;
        int      i;

        if (jp->end - jp->p < 4)
                return jfail(jp, "short \\u escape");
        for (i = 0; i < 4; i++) {
                char c = *jp->p++;
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (uint32_t)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (uint32_t)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (uint32_t)(c - 'A' + 10);
                else
                        return jfail(jp, "bad \\u escape");
        }
        *out = v;
        return 0;
}

static size_t utf8_put(char *out, uint32_t cp) {
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        } else if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        } else if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* Parses a string literal at jp->p (on the opening quote). Escapes never
 * grow the text, so the input length bounds the output. */
static int jstring(struct jparser *jp, char **outp, size_t *lenp) {
        const char *start = ++jp->p;
        char       *out, *o;

        while (jp->p < jp->end && *jp->p != '"') {
                if (*jp->p == '\\' && jp->p + 1 < jp->end)
                        jp->p++;
                jp->p++;
        }
        if (jp->p >= jp->end)
                return jfail(jp, "unterminated string");
        out = malloc((size_t)(jp->p - start) + 1);
        if (!out)
                return jfail(jp, "out of memory");
        jp->p = start;
        o     = out;
        while (*jp->p != '"') {
                unsigned char c = (unsigned char)*jp->p++;
                uint32_t      cp, lo;

                if (c < 0x20) {
                        free(out);
                        return jfail(jp, "control character in string");
                }
                if (c != '\\') {
                        *o++ = (char)c;
                        continue;
                }
                switch (*jp->p++) {
                case '"':
                        *o++ = '"';
                        break;
                case '\\':
                        *o++ = '\\';
                        break;
                case '/':
                        *o++ = '/';
                        break;
                case 'b':
                        *o++ = '\b';
                        break;
                case 'f':
                        *o++ = '\f';
                        break;
                case 'n':
                        *o++ = '\n';
                        break;
                case 'r':
                        *o++ = '\r';
                        break;
                case 't':
                        *o++ = '\t';
                        break;
                case 'u':
                        if (jhex4(jp, &cp) == -1)
                                goto bad;
                        if (cp >= 0xd800 && cp < 0xdc00) {
                                if (jp->end - jp->p < 6 || jp->p[0] != '\\' ||
                                    jp->p[1] != 'u')
                                        goto bad_pair;
                                jp->p += 2;
                                if (jhex4(jp, &lo) == -1)
                                        goto bad;
                                if (lo < 0xdc00 || lo > 0xdfff)
                                        goto bad_pair;
                                cp = 0x10000 + ((cp - 0xd800) << 10) +
                                     (lo - 0xdc00);
                        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                                goto bad_pair;
                        }
                        o += utf8_put(o, cp);
                        break;
                default:
                        free(out);
                        return jfail(jp, "bad escape");
                }
        }
        jp->p++;
        *o    = '\0';
        *outp = out;
        *lenp = (size_t)(o - out);
        return 0;

bad_pair:
        jfail(jp, "unpaired surrogate");
bad:
        free(out);
        return -1;
}

static int jvalue(struct jparser *jp, struct json *j);

static int jappend(struct jparser *jp, struct json *j, size_t *cap) {
        if (j->cnt == *cap) {
                size_t       ncap  = *cap ? *cap * 2 : 4;
                struct json *items = realloc(j->items, ncap * sizeof(*items));
                if (!items)
                        return jfail(jp, "out of memory");
                j->items = items;
                if (j->type == J_OBJ) {
                        char **keys = realloc(j->keys, ncap * sizeof(*keys));
                        if (!keys)
                                return jfail(jp, "out of memory");
                        j->keys = keys;
                }
                *cap = ncap;
        }
        memset(&j->items[j->cnt], 0, sizeof(j->items[0]));
        if (j->keys)
                j->keys[j->cnt] = NULL;
        j->cnt++;
        return 0;
}

static int jcontainer(struct jparser *jp, struct json *j, char close) {
        size_t cap = 0;

        jp->p++;
        jskip_ws(jp);
        if (jp->p < jp->end && *jp->p == close) {
                jp->p++;
                return 0;
        }
        for (;;) {
                size_t len;

                if (jappend(jp, j, &cap) == -1)
                        return -1;
                if (j->type == J_OBJ) {
                        jskip_ws(jp);
                        if (jp->p >= jp->end || *jp->p != '"')
                                return jfail(jp, "expected member name");
                        if (jstring(jp, &j->keys[j->cnt - 1], &len) == -1)
                                return -1;
                        jskip_ws(jp);
                        if (jp->p >= jp->end || *jp->p != ':')
                                return jfail(jp, "expected ':'");
                        jp->p++;
                }
                if (jvalue(jp, &j->items[j->cnt - 1]) == -1)
                        return -1;
                jskip_ws(jp);
                if (jp->p < jp->end && *jp->p == ',') {
                        jp->p++;
                        continue;
                }
                if (jp->p < jp->end && *jp->p == close) {
                        jp->p++;
                        return 0;
                }
                return jfail(jp, "expected ',' or end of container");
        }
}

static int jliteral(struct jparser *jp, const char *lit) {
        size_t len = strlen(lit);

        if ((size_t)(jp->end - jp->p) < len || memcmp(jp->p, lit, len))
                return jfail(jp, "unexpected token");
        jp->p += len;
        return 0;
}

static int jnumber(struct jparser *jp, struct json *j) {
        const char *s = jp->p;

#define JDIGITS()                                                              \
        do {                                                                   \
                if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9')          \
                        return jfail(jp, "bad number");                        \
                while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9')      \
                        jp->p++;                                               \
        } while (0)

        if (*jp->p == '-')
                jp->p++;
        JDIGITS();
        if (jp->p < jp->end && *jp->p == '.') {
                jp->p++;
                JDIGITS();
        }
        if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
                jp->p++;
                if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
                        jp->p++;
                JDIGITS();
        }
#undef JDIGITS
        j->type = J_NUM;
        j->len  = (size_t)(jp->p - s);
        j->text = strndup(s, j->len);
        if (!j->text)
                return jfail(jp, "out of memory");
        return 0;
}

static int jvalue(struct jparser *jp, struct json *j) {
        int r;

        jskip_ws(jp);
        if (jp->p >= jp->end)
                return jfail(jp, "unexpected end");
        if (++jp->depth > 64)
                return jfail(jp, "nested too deeply");
        switch (*jp->p) {
        case '{':
                j->type = J_OBJ;
                r       = jcontainer(jp, j, '}');
                break;
        case '[':
                j->type = J_ARR;
                r       = jcontainer(jp, j, ']');
                break;
        case '"':
                j->type = J_STR;
                r       = jstring(jp, &j->text, &j->len);
                break;
        case 't':
                j->type    = J_BOOL;
                j->boolean = 1;
                r          = jliteral(jp, "true");
                break;
        case 'f':
                j->type = J_BOOL;
                r       = jliteral(jp, "false");
                break;
        case 'n':
                j->type = J_NULL;
                r       = jliteral(jp, "null");
                break;
        default:
                r = jnumber(jp, j);
                break;
        }
        jp->depth--;
        return r;
}

static int json_parse(const char *text, struct json *j, char *err,
                      size_t errsize) {
        struct jparser jp = {text, text + strlen(text), 0, err, errsize};

        memset(j, 0, sizeof(*j));
        if (jvalue(&jp, j) == -1)
                goto fail;
        jskip_ws(&jp);
        if (jp.p != jp.end) {
                jfail(&jp, "trailing characters");
                goto fail;
        }
        return 0;
fail:
        json_free(j);
        return -1;
}

static const struct json *json_get(const struct json *j, const char *key) {
        size_t i;

        if (!j || j->type != J_OBJ)
                return NULL;
        for (i = 0; i < j->cnt; i++)
                if (!strcmp(j->keys[i], key))
                        return &j->items[i];
        return NULL;
}

static const char *json_str(const struct json *j) {
        return j && j->type == J_STR ? j->text : NULL;
}

/*
 * The definition of the record named `want` (full name) inside the schema
 * text j, following Avro's namespace rules: a dotted name is full, else the
 * record's "namespace", else the enclosing one.
 */
static const struct json *json_find_record(const struct json *j, const char *ns,
                                           const char *want, int depth) {
        const struct json *type, *found, *fields;
        const char        *t, *name, *space;
        char               full[512], inner_ns[512];
        size_t             i;

        if (!j || depth > MAX_SCHEMA_DEPTH)
                return NULL;
        if (j->type == J_ARR) {
                for (i = 0; i < j->cnt; i++)
                        if ((found = json_find_record(&j->items[i], ns, want,
                                                      depth + 1)))
                                return found;
                return NULL;
        }
        if (j->type != J_OBJ)
                return NULL;

        type = json_get(j, "type");
        if (type && type->type != J_STR)
                return json_find_record(type, ns, want, depth + 1);
        t = json_str(type);
        if (!t)
                return NULL;
        if (!strcmp(t, "array"))
                return json_find_record(json_get(j, "items"), ns, want,
                                        depth + 1);
        if (!strcmp(t, "map"))
                return json_find_record(json_get(j, "values"), ns, want,
                                        depth + 1);
        if (strcmp(t, "record") && strcmp(t, "error"))
                return NULL;

        name = json_str(json_get(j, "name"));
        if (!name)
                return NULL;
        if (strchr(name, '.')) {
                bprintf(full, sizeof(full), "%s", name);
                bprintf(inner_ns, sizeof(inner_ns), "%.*s",
                        (int)(strrchr(name, '.') - name), name);
        } else {
                space = json_str(json_get(j, "namespace"));
                bprintf(inner_ns, sizeof(inner_ns), "%s", space ? space : ns);
                if (*inner_ns)
                        bprintf(full, sizeof(full), "%s.%s", inner_ns, name);
                else
                        bprintf(full, sizeof(full), "%s", name);
        }
        if (!strcmp(full, want))
                return j;

        fields = json_get(j, "fields");
        if (!fields || fields->type != J_ARR)
                return NULL;
        for (i = 0; i < fields->cnt; i++)
                if ((found =
                         json_find_record(json_get(&fields->items[i], "type"),
                                          inner_ns, want, depth + 1)))
                        return found;
        return NULL;
}

/* Bytes and fixed defaults are JSON strings whose code points 0-255 are
 * the bytes. Returns a malloc'd buffer and its length, or NULL. */
static unsigned char *json_bytes(const struct json *j, size_t *lenp) {
        const unsigned char *p     = (const unsigned char *)j->text;
        const unsigned char *end   = p + j->len;
        unsigned char       *bytes = malloc(j->len + 1);
        size_t               n     = 0;

        if (!bytes)
                return NULL;
        while (p < end) {
                if (p[0] < 0x80) {
                        bytes[n++] = *p++;
                } else if ((p[0] & 0xfe) == 0xc2 && p + 1 < end &&
                           (p[1] & 0xc0) == 0x80) {
                        bytes[n++] =
                            (unsigned char)(((p[0] & 3) << 6) | (p[1] & 0x3f));
                        p += 2;
                } else {
                        free(bytes);
                        return NULL;
                }
        }
        *lenp = n;
        return bytes;
}

/* Sets v (of schema s) to the JSON default j, per the Avro spec's mapping
 * of default values (a union's default is of its first branch). */
static int set_default(avro_value_t *v, avro_schema_t s, const struct json *j,
                       char *err, size_t errsize, int depth) {
        avro_value_t   child;
        unsigned char *bytes;
        size_t         i, len;
        char          *end;
        long long      ll;
        int            rc = EINVAL;

        s = deref(s);
        if (depth > MAX_SCHEMA_DEPTH)
                goto mismatch;
        switch (avro_typeof(s)) {
        case AVRO_NULL:
                if (j->type == J_NULL)
                        rc = avro_value_set_null(v);
                break;
        case AVRO_BOOLEAN:
                if (j->type == J_BOOL)
                        rc = avro_value_set_boolean(v, j->boolean);
                break;
        case AVRO_INT32:
        case AVRO_INT64:
                if (j->type != J_NUM)
                        break;
                errno = 0;
                ll    = strtoll(j->text, &end, 10);
                if (*end || errno)
                        break;
                if (avro_typeof(s) == AVRO_INT64)
                        rc = avro_value_set_long(v, ll);
                else if (ll >= INT32_MIN && ll <= INT32_MAX)
                        rc = avro_value_set_int(v, (int32_t)ll);
                break;
        case AVRO_FLOAT:
                if (j->type == J_NUM)
                        rc = avro_value_set_float(v, strtof(j->text, NULL));
                break;
        case AVRO_DOUBLE:
                if (j->type == J_NUM)
                        rc = avro_value_set_double(v, strtod(j->text, NULL));
                break;
        case AVRO_STRING:
                if (j->type == J_STR)
                        rc = avro_value_set_string_len(v, j->text, j->len + 1);
                break;
        case AVRO_BYTES:
        case AVRO_FIXED:
                if (j->type != J_STR || !(bytes = json_bytes(j, &len)))
                        break;
                if (avro_typeof(s) == AVRO_BYTES)
                        rc = avro_value_set_bytes(v, bytes, len);
                else if ((int64_t)len == avro_schema_fixed_size(s))
                        rc = avro_value_set_fixed(v, bytes, len);
                free(bytes);
                break;
        case AVRO_ENUM:
                if (j->type == J_STR &&
                    avro_schema_enum_get_by_name(s, j->text) >= 0)
                        rc = avro_value_set_enum(
                            v, avro_schema_enum_get_by_name(s, j->text));
                break;
        case AVRO_ARRAY:
                if (j->type != J_ARR)
                        break;
                for (i = 0; i < j->cnt; i++)
                        if (avro_value_append(v, &child, NULL) ||
                            set_default(&child, avro_schema_array_items(s),
                                        &j->items[i], err, errsize,
                                        depth + 1) == -1)
                                return -1;
                return 0;
        case AVRO_MAP:
                if (j->type != J_OBJ)
                        break;
                for (i = 0; i < j->cnt; i++)
                        if (avro_value_add(v, j->keys[i], &child, NULL, NULL) ||
                            set_default(&child, avro_schema_map_values(s),
                                        &j->items[i], err, errsize,
                                        depth + 1) == -1)
                                return -1;
                return 0;
        case AVRO_RECORD:
                if (j->type != J_OBJ)
                        break;
                /* A record default names every field. */
                for (i = 0; i < avro_schema_record_size(s); i++) {
                        const char *fname =
                            avro_schema_record_field_name(s, (int)i);
                        const struct json *fj = json_get(j, fname);

                        if (!fj)
                                goto mismatch;
                        if (avro_value_get_by_index(v, i, &child, NULL) ||
                            set_default(&child,
                                        avro_schema_record_field_get_by_index(
                                            s, (int)i),
                                        fj, err, errsize, depth + 1) == -1)
                                return -1;
                }
                return 0;
        case AVRO_UNION:
                if (avro_schema_union_size(s) == 0 ||
                    avro_value_set_branch(v, 0, &child))
                        break;
                return set_default(&child, avro_schema_union_branch(s, 0), j,
                                   err, errsize, depth + 1);
        default:
                break;
        }
        if (!rc)
                return 0;

mismatch:
        bprintf(err, errsize, "default value does not match the type %s",
                avro_schema_type_name(s));
        return -1;
}


/*
 * Plans. A node is shaped like the writer schema at its position; with no
 * reader value to fill (a writer field the reader lacks) the decoder passes
 * NULL down and the same nodes only skip bytes.
 */
struct dflt {
        size_t              index; /* reader field */
        avro_value_iface_t *iface;
        avro_value_t        value;
};

struct node {
        avro_schema_t ws;       /* writer schema here (borrowed) */
        avro_type_t   wtype;    /* how the bytes are encoded */
        avro_type_t   rtype;    /* what to set: differs for promotions */
        int           rbranch;  /* >= 0: select this reader union branch */
        int           fail;     /* writer union branch the reader cannot take */
        char         *why;      /* ... and why */
        size_t        min_size; /* fewest bytes a value takes */
        size_t        cnt;      /* record fields, union branches, symbols */
        struct node  *kids;     /* per field / branch; [0] for array, map */
        int          *map;      /* reader field or symbol per writer one */
        const char  **names;    /* writer field names, for error paths */
        int64_t       fixed_size;
        size_t        dflt_cnt; /* reader fields the writer lacks */
        struct dflt  *dflts;
};

static void node_free(struct node *n) {
        size_t i;

        if (!n)
                return;
        if (n->kids) {
                size_t kids =
                    n->wtype == AVRO_ARRAY || n->wtype == AVRO_MAP ? 1 : n->cnt;
                for (i = 0; i < kids; i++)
                        node_free(&n->kids[i]);
        }
        for (i = 0; i < n->dflt_cnt; i++) {
                avro_value_decref(&n->dflts[i].value);
                avro_value_iface_decref(n->dflts[i].iface);
        }
        free(n->dflts);
        free(n->kids);
        free(n->map);
        free(n->names);
        free(n->why);
        memset(n, 0, sizeof(*n));
}

struct build {
        const char *rjson_text; /* reader schema text, for defaults */
        struct json rjson;
        int         rjson_parsed;
        char       *err; /* what is wrong ... */
        size_t      errsize;
        char       *path; /* ... with which field, "a.b" */
        size_t      pathsize;
};

static int promotable(avro_type_t w, avro_type_t r) {
        if (w == r)
                return 1;
        switch (w) {
        case AVRO_INT32:
                return r == AVRO_INT64 || r == AVRO_FLOAT || r == AVRO_DOUBLE;
        case AVRO_INT64:
                return r == AVRO_FLOAT || r == AVRO_DOUBLE;
        case AVRO_FLOAT:
                return r == AVRO_DOUBLE;
        case AVRO_STRING:
                return r == AVRO_BYTES;
        case AVRO_BYTES:
                return r == AVRO_STRING;
        default:
                return 0;
        }
}

static int same_name(avro_schema_t w, avro_schema_t r) {
        return !strcmp(avro_schema_name(w), avro_schema_name(r));
}

/* The reader union branch a (non-union) writer schema goes to: the first of
 * the same type (and name), else the first it promotes to. */
static int union_match(avro_schema_t w, avro_schema_t r) {
        size_t      i, cnt = avro_schema_union_size(r);
        avro_type_t wt = avro_typeof(w);

        for (i = 0; i < cnt; i++) {
                avro_schema_t b = deref(avro_schema_union_branch(r, (int)i));
                if (avro_typeof(b) == wt &&
                    (!is_avro_named_type(w) || same_name(w, b)))
                        return (int)i;
        }
        for (i = 0; i < cnt; i++) {
                avro_schema_t b = deref(avro_schema_union_branch(r, (int)i));
                if (avro_typeof(b) != wt && promotable(wt, avro_typeof(b)))
                        return (int)i;
        }
        return -1;
}

static int compile(struct build *b, struct node *n, avro_schema_t w,
                   avro_schema_t r, int depth);

/* Prepares the default of reader field ri of record r. */
static int compile_default(struct build *b, struct node *n, avro_schema_t r,
                           size_t ri) {
        const char        *fname = avro_schema_record_field_name(r, (int)ri);
        const struct json *rec, *fields, *dj = NULL;
        struct dflt       *d;
        char               full[512];
        size_t             i;

        if (!b->rjson_parsed) {
                if (!b->rjson_text || json_parse(b->rjson_text, &b->rjson,
                                                 b->err, b->errsize) == -1)
                        return -1;
                b->rjson_parsed = 1;
        }
        rec = json_find_record(&b->rjson, "", full_name(r, full, sizeof(full)),
                               0);
        fields = json_get(rec, "fields");
        for (i = 0; fields && fields->type == J_ARR && i < fields->cnt; i++)
                if (json_str(json_get(&fields->items[i], "name")) &&
                    !strcmp(json_str(json_get(&fields->items[i], "name")),
                            fname))
                        dj = json_get(&fields->items[i], "default");
        if (!dj) {
                bprintf(b->err, b->errsize,
                        "the writer lacks this field and the reader gives "
                        "no default");
                path_prepend(b->path, b->pathsize, fname);
                return -1;
        }

        d        = &n->dflts[n->dflt_cnt];
        d->index = ri;
        d->iface = avro_generic_class_from_schema(
            avro_schema_record_field_get_by_index(r, (int)ri));
        if (!d->iface || avro_generic_value_new(d->iface, &d->value)) {
                if (d->iface)
                        avro_value_iface_decref(d->iface);
                bprintf(b->err, b->errsize, "%s", avro_strerror());
                path_prepend(b->path, b->pathsize, fname);
                return -1;
        }
        n->dflt_cnt++;
        if (set_default(&d->value,
                        avro_schema_record_field_get_by_index(r, (int)ri), dj,
                        b->err, b->errsize, 0) == -1) {
                path_prepend(b->path, b->pathsize, fname);
                return -1;
        }
        return 0;
}

static int compile_record(struct build *b, struct node *n, avro_schema_t w,
                          avro_schema_t r, int depth) {
        size_t i, rcnt = r ? avro_schema_record_size(r) : 0;

        n->cnt   = avro_schema_record_size(w);
        n->kids  = calloc(n->cnt ? n->cnt : 1, sizeof(*n->kids));
        n->map   = calloc(n->cnt ? n->cnt : 1, sizeof(*n->map));
        n->names = calloc(n->cnt ? n->cnt : 1, sizeof(*n->names));
        n->dflts = calloc(rcnt ? rcnt : 1, sizeof(*n->dflts));
        if (!n->kids || !n->map || !n->names || !n->dflts) {
                bprintf(b->err, b->errsize, "out of memory");
                return -1;
        }
        for (i = 0; i < n->cnt; i++) {
                const char *fname = avro_schema_record_field_name(w, (int)i);
                int ri = r ? avro_schema_record_field_get_index(r, fname) : -1;

                n->names[i] = fname;
                n->map[i]   = ri;
                if (compile(b, &n->kids[i],
                            avro_schema_record_field_get_by_index(w, (int)i),
                            ri >= 0
                                ? avro_schema_record_field_get_by_index(r, ri)
                                : NULL,
                            depth + 1) == -1) {
                        path_prepend(b->path, b->pathsize, fname);
                        return -1;
                }
                n->min_size += n->kids[i].min_size;
        }
        for (i = 0; i < rcnt; i++)
                if (avro_schema_record_field_get_index(
                        w, avro_schema_record_field_name(r, (int)i)) < 0 &&
                    compile_default(b, n, r, i) == -1)
                        return -1;
        return 0;
}

/*
 * Fills n to parse writer schema w into a value of reader schema r (NULL:
 * skip). Returns -1 with b->err set if the reader cannot take the writer's
 * data at all; a writer union branch it cannot take only fails the
 * messages that use that branch.
 */
static int compile(struct build *b, struct node *n, avro_schema_t w,
                   avro_schema_t r, int depth) {
        size_t i;
        int    k;

        w = deref(w);
        r = deref(r);
        memset(n, 0, sizeof(*n));
        n->ws      = w;
        n->wtype   = avro_typeof(w);
        n->rtype   = n->wtype;
        n->rbranch = -1;
        if (depth > MAX_SCHEMA_DEPTH) {
                bprintf(b->err, b->errsize,
                        "schema nested deeper than %d levels (recursive "
                        "schemas are not supported)",
                        MAX_SCHEMA_DEPTH);
                return -1;
        }

        if (r && n->wtype != AVRO_UNION && is_avro_union(r)) {
                k = union_match(w, r);
                if (k < 0) {
                        bprintf(b->err, b->errsize,
                                "a %s is none of the reader's union branches",
                                avro_schema_type_name(w));
                        return -1;
                }
                n->rbranch = k;
                r          = deref(avro_schema_union_branch(r, k));
        }
        if (r && n->wtype != AVRO_UNION) {
                if (!promotable(n->wtype, avro_typeof(r)) ||
                    (is_avro_named_type(w) && !same_name(w, r))) {
                        bprintf(b->err, b->errsize,
                                "the writer's %s cannot be read as the "
                                "reader's %s",
                                avro_schema_type_name(w),
                                avro_schema_type_name(r));
                        return -1;
                }
                n->rtype = avro_typeof(r);
        }

        switch (n->wtype) {
        case AVRO_NULL:
                n->min_size = 0;
                return 0;
        case AVRO_FLOAT:
                n->min_size = 4;
                return 0;
        case AVRO_DOUBLE:
                n->min_size = 8;
                return 0;
        case AVRO_BOOLEAN:
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_STRING:
        case AVRO_BYTES:
                n->min_size = 1;
                return 0;
        case AVRO_FIXED:
                n->fixed_size = avro_schema_fixed_size(w);
                if (r && avro_schema_fixed_size(r) != n->fixed_size) {
                        bprintf(b->err, b->errsize,
                                "fixed %s has %lld bytes, the reader's %lld",
                                avro_schema_name(w), (long long)n->fixed_size,
                                (long long)avro_schema_fixed_size(r));
                        return -1;
                }
                n->min_size = (size_t)n->fixed_size;
                return 0;
        case AVRO_ENUM:
                n->min_size = 1;
                n->cnt      = (size_t)avro_schema_enum_number_of_symbols(w);
                n->map      = calloc(n->cnt ? n->cnt : 1, sizeof(*n->map));
                if (!n->map) {
                        bprintf(b->err, b->errsize, "out of memory");
                        return -1;
                }
                for (i = 0; i < n->cnt; i++)
                        n->map[i] = r ? avro_schema_enum_get_by_name(
                                            r, avro_schema_enum_get(w, (int)i))
                                      : -1;
                return 0;
        case AVRO_ARRAY:
        case AVRO_MAP:
                n->min_size = 1;
                n->kids     = calloc(1, sizeof(*n->kids));
                if (!n->kids) {
                        bprintf(b->err, b->errsize, "out of memory");
                        return -1;
                }
                if (n->wtype == AVRO_ARRAY)
                        return compile(b, n->kids, avro_schema_array_items(w),
                                       r ? avro_schema_array_items(r) : NULL,
                                       depth + 1);
                return compile(b, n->kids, avro_schema_map_values(w),
                               r ? avro_schema_map_values(r) : NULL, depth + 1);
        case AVRO_RECORD:
                return compile_record(b, n, w, r, depth);
        case AVRO_UNION: {
                size_t ok = 0;

                n->min_size = 1;
                n->cnt      = avro_schema_union_size(w);
                n->kids     = calloc(n->cnt ? n->cnt : 1, sizeof(*n->kids));
                if (!n->kids) {
                        bprintf(b->err, b->errsize, "out of memory");
                        return -1;
                }
                for (i = 0; i < n->cnt; i++) {
                        struct node *kid = &n->kids[i];
                        if (compile(b, kid, avro_schema_union_branch(w, (int)i),
                                    r, depth + 1) == 0) {
                                ok++;
                                continue;
                        }
                        node_free(kid);
                        kid->fail = 1;
                        kid->why  = malloc(b->errsize + b->pathsize + 2);
                        if (kid->why)
                                join_err(kid->why, b->errsize + b->pathsize + 2,
                                         b->path, b->err);
                        b->path[0] = '\0';
                        if (!kid->why) {
                                bprintf(b->err, b->errsize, "out of memory");
                                return -1;
                        }
                }
                if (!ok && n->cnt) {
                        /* Every message would fail: refuse the pair. */
                        bprintf(b->err, b->errsize,
                                "no branch of the writer's union can be read "
                                "(%s)",
                                n->kids[0].why);
                        return -1;
                }
                return 0;
        }
        default:
                bprintf(b->err, b->errsize, "unsupported schema type %d",
                        (int)n->wtype);
                return -1;
        }
}


/*
 * Parsing the body: a cursor over the buffer. Nothing is read past `end`,
 * and no length is trusted before it is compared with what is left.
 */
struct rd {
        const unsigned char *p;
        const unsigned char *end;
        char               **scratch;
        size_t              *scratch_size;
        long                 zero_budget;
        char                *err; /* what is wrong ... */
        size_t               errsize;
        char                *path; /* ... in which field, "a.b" */
        size_t               pathsize;
};

static int rd_fail(struct rd *rd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int rd_fail(struct rd *rd, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rd->err, rd->errsize, fmt, ap);
        va_end(ap);
        return -1;
}

static int rd_long(struct rd *rd, int64_t *out) {
        uint64_t v     = 0;
        unsigned shift = 0;

        for (;;) {
                unsigned b;

                if (rd->p >= rd->end)
                        return rd_fail(rd, "truncated varint");
                b = *rd->p++;
                if (shift == 63 && b > 1)
                        return rd_fail(rd, "varint overflows 64 bits");
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        break;
                shift += 7;
        }
        *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return 0;
}

static uint64_t le_bytes(const unsigned char *p, int n) {
        uint64_t v = 0;
        int      i;

        for (i = n - 1; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* Strict UTF-8 (no overlong forms, surrogates or NUL). Eight ASCII bytes
 * at a time, since almost all of our strings are ASCII. */
static int utf8_ok(const unsigned char *s, size_t len) {
        const uint64_t hi = 0x8080808080808080ull, lo = 0x0101010101010101ull;
        size_t         i = 0;

        while (i < len) {
                uint32_t cp, min;
                unsigned c;
                size_t   n, k;

                if (len >= 8) {
                        /* Eight bytes at a time; the last few as the last
                         * eight, which overlap bytes already checked. */
                        uint64_t w;
                        size_t   at = len - i >= 8 ? i : len - 8;
                        memcpy(&w, s + at, 8);
                        /* no byte >= 0x80 and no zero byte */
                        if (!(w & hi) && !((w - lo) & ~w & hi)) {
                                i = at + 8;
                                continue;
                        }
                }
                c = s[i];
                if (c && c < 0x80) {
                        i++;
                        continue;
                }
                if (!c)
                        return 0;
                if ((c & 0xe0) == 0xc0) {
                        n   = 1;
                        cp  = c & 0x1f;
                        min = 0x80;
                } else if ((c & 0xf0) == 0xe0) {
                        n   = 2;
                        cp  = c & 0x0f;
                        min = 0x800;
                } else if ((c & 0xf8) == 0xf0) {
                        n   = 3;
                        cp  = c & 0x07;
                        min = 0x10000;
                } else {
                        return 0;
                }
                if (len - i - 1 < n)
                        return 0;
                for (k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += n + 1;
        }
        return 1;
}

int rs_avro_utf8_valid(const void *s, size_t len) {
        return utf8_ok(s, len);
}

/* Reads a string or bytes length and checks the bytes are there. */
static int rd_len(struct rd *rd, const char *what, size_t *lenp) {
        int64_t len;

        if (rd_long(rd, &len) == -1)
                return -1;
        if (len < 0)
                return rd_fail(rd, "negative %s length %lld", what,
                               (long long)len);
        if ((uint64_t)len > (uint64_t)(rd->end - rd->p))
                return rd_fail(rd, "%s of %lld bytes, only %zu left", what,
                               (long long)len, (size_t)(rd->end - rd->p));
        *lenp = (size_t)len;
        return 0;
}

/* avro-c wants strings NUL-terminated; the wire has none. Copies the
 * string into the decoder's scratch buffer, which grows to the largest
 * string seen and then stays. */
static const char *rd_cstr(struct rd *rd, size_t len) {
        if (len + 1 > *rd->scratch_size) {
                size_t size = *rd->scratch_size * 2;
                char  *n;

                if (size < len + 1)
                        size = len + 1;
                n = realloc(*rd->scratch, size);
                if (!n) {
                        rd_fail(rd, "out of memory");
                        return NULL;
                }
                *rd->scratch      = n;
                *rd->scratch_size = size;
        }
        memcpy(*rd->scratch, rd->p, len);
        (*rd->scratch)[len] = '\0';
        rd->p += len;
        return *rd->scratch;
}

/* Reads the count of the next block of an array or map, 0 at the end. */
static int rd_block(struct rd *rd, const struct node *item, int64_t *cntp) {
        int64_t cnt, size;

        if (rd_long(rd, &cnt) == -1)
                return -1;
        if (cnt < 0) {
                /* A negative count is followed by the block's byte size,
                 * which lets readers skip; we parse the items anyway. */
                if (cnt == INT64_MIN)
                        return rd_fail(rd, "bad block count");
                cnt = -cnt;
                if (rd_long(rd, &size) == -1)
                        return -1;
        }
        if (item->min_size > 0) {
                if ((uint64_t)cnt >
                    (uint64_t)(rd->end - rd->p) / item->min_size)
                        return rd_fail(rd,
                                       "block of %lld items does not fit in "
                                       "the %zu bytes left",
                                       (long long)cnt,
                                       (size_t)(rd->end - rd->p));
        } else {
                if (cnt > rd->zero_budget)
                        return rd_fail(rd, "too many empty items");
                rd->zero_budget -= (long)cnt;
        }
        *cntp = cnt;
        return 0;
}

static int rd_value(struct rd *rd, const struct node *n, avro_value_t *dst);

static int rd_record(struct rd *rd, const struct node *n, avro_value_t *dst) {
        avro_value_t child;
        size_t       i;
        int          r;

        for (i = 0; i < n->cnt; i++) {
                if (dst && n->map[i] >= 0) {
                        if (avro_value_get_by_index(dst, (size_t)n->map[i],
                                                    &child, NULL))
                                r = rd_fail(rd, "%s", avro_strerror());
                        else
                                r = rd_value(rd, &n->kids[i], &child);
                } else {
                        r = rd_value(rd, &n->kids[i], NULL);
                }
                if (r == -1) {
                        path_prepend(rd->path, rd->pathsize, n->names[i]);
                        return -1;
                }
        }
        for (i = 0; dst && i < n->dflt_cnt; i++) {
                if (avro_value_get_by_index(dst, n->dflts[i].index, &child,
                                            NULL) ||
                    avro_value_copy_fast(&child, &n->dflts[i].value))
                        return rd_fail(rd, "default: %s", avro_strerror());
        }
        return 0;
}

static int rd_value(struct rd *rd, const struct node *n, avro_value_t *dst) {
        avro_value_t branch, child;
        int64_t      l, cnt, j;
        size_t       len;
        int          rc = 0;

        if (dst && n->rbranch >= 0) {
                if (avro_value_set_branch(dst, n->rbranch, &branch))
                        return rd_fail(rd, "%s", avro_strerror());
                dst = &branch;
        }

        switch (n->wtype) {
        case AVRO_NULL:
                if (dst)
                        rc = avro_value_set_null(dst);
                break;

        case AVRO_BOOLEAN:
                if (rd->p >= rd->end)
                        return rd_fail(rd, "truncated boolean");
                if (*rd->p > 1)
                        return rd_fail(rd, "boolean byte 0x%02x", *rd->p);
                if (dst)
                        rc = avro_value_set_boolean(dst, *rd->p);
                rd->p++;
                break;

        case AVRO_INT32:
        case AVRO_INT64:
                if (rd_long(rd, &l) == -1)
                        return -1;
                if (n->wtype == AVRO_INT32 && (l < INT32_MIN || l > INT32_MAX))
                        return rd_fail(rd, "int %lld out of range",
                                       (long long)l);
                if (!dst)
                        break;
                switch (n->rtype) {
                case AVRO_INT32:
                        rc = avro_value_set_int(dst, (int32_t)l);
                        break;
                case AVRO_INT64:
                        rc = avro_value_set_long(dst, l);
                        break;
                case AVRO_FLOAT:
                        rc = avro_value_set_float(dst, (float)l);
                        break;
                default:
                        rc = avro_value_set_double(dst, (double)l);
                        break;
                }
                break;

        case AVRO_FLOAT:
        case AVRO_DOUBLE: {
                int      size = n->wtype == AVRO_FLOAT ? 4 : 8;
                uint64_t bits;

                if (rd->end - rd->p < size)
                        return rd_fail(rd, "truncated %s",
                                       size == 4 ? "float" : "double");
                bits = le_bytes(rd->p, size);
                rd->p += size;
                if (!dst)
                        break;
                if (size == 4) {
                        uint32_t b32 = (uint32_t)bits;
                        float    f;
                        memcpy(&f, &b32, sizeof(f));
                        rc = n->rtype == AVRO_FLOAT
                                 ? avro_value_set_float(dst, f)
                                 : avro_value_set_double(dst, (double)f);
                } else {
                        double d;
                        memcpy(&d, &bits, sizeof(d));
                        rc = avro_value_set_double(dst, d);
                }
                break;
        }

        case AVRO_STRING:
        case AVRO_BYTES:
                if (rd_len(rd, n->wtype == AVRO_STRING ? "string" : "bytes",
                           &len) == -1)
                        return -1;
                if (!dst) {
                        rd->p += len;
                        break;
                }
                if (n->rtype == AVRO_BYTES) {
                        rc = avro_value_set_bytes(dst, (void *)rd->p, len);
                        rd->p += len;
                        break;
                }
                if (!utf8_ok(rd->p, len))
                        return rd_fail(rd, "string is not UTF-8 without NUL");
                {
                        const char *s = rd_cstr(rd, len);
                        if (!s)
                                return -1;
                        rc = avro_value_set_string_len(dst, s, len + 1);
                }
                break;

        case AVRO_FIXED:
                if (rd->end - rd->p < n->fixed_size)
                        return rd_fail(rd, "truncated fixed");
                if (dst)
                        rc = avro_value_set_fixed(dst, (void *)rd->p,
                                                  (size_t)n->fixed_size);
                rd->p += n->fixed_size;
                break;

        case AVRO_ENUM:
                if (rd_long(rd, &l) == -1)
                        return -1;
                if (l < 0 || (uint64_t)l >= n->cnt)
                        return rd_fail(rd, "enum index %lld out of range",
                                       (long long)l);
                if (!dst)
                        break;
                if (n->map[l] < 0)
                        return rd_fail(rd, "symbol %s unknown to the reader",
                                       avro_schema_enum_get(n->ws, (int)l));
                rc = avro_value_set_enum(dst, n->map[l]);
                break;

        case AVRO_ARRAY:
                for (;;) {
                        if (rd_block(rd, n->kids, &cnt) == -1)
                                return -1;
                        if (!cnt)
                                break;
                        for (j = 0; j < cnt; j++) {
                                if (dst && avro_value_append(dst, &child, NULL))
                                        return rd_fail(rd, "%s",
                                                       avro_strerror());
                                if (rd_value(rd, n->kids,
                                             dst ? &child : NULL) == -1)
                                        return -1;
                        }
                }
                break;

        case AVRO_MAP:
                for (;;) {
                        if (rd_block(rd, n->kids, &cnt) == -1)
                                return -1;
                        if (!cnt)
                                break;
                        for (j = 0; j < cnt; j++) {
                                if (rd_len(rd, "map key", &len) == -1)
                                        return -1;
                                if (!dst) {
                                        rd->p += len;
                                } else {
                                        const char *key;
                                        if (!utf8_ok(rd->p, len))
                                                return rd_fail(
                                                    rd, "map key is not UTF-8 "
                                                        "without NUL");
                                        if (!(key = rd_cstr(rd, len)))
                                                return -1;
                                        if (avro_value_add(dst, key, &child,
                                                           NULL, NULL))
                                                return rd_fail(rd, "%s",
                                                               avro_strerror());
                                }
                                if (rd_value(rd, n->kids,
                                             dst ? &child : NULL) == -1)
                                        return -1;
                        }
                }
                break;

        case AVRO_RECORD:
                return rd_record(rd, n, dst);

        case AVRO_UNION:
                if (rd_long(rd, &l) == -1)
                        return -1;
                if (l < 0 || (uint64_t)l >= n->cnt)
                        return rd_fail(rd, "union branch %lld out of range",
                                       (long long)l);
                if (n->kids[l].fail)
                        return rd_fail(rd, "union branch %lld: %s",
                                       (long long)l, n->kids[l].why);
                return rd_value(rd, &n->kids[l], dst);

        default:
                return rd_fail(rd, "unsupported type");
        }

        if (rc)
                return rd_fail(rd, "%s", avro_strerror());
        return 0;
}


/*
 * Decoder: a plan per writer id seen, found by remembering the last id
 * (a topic mostly carries one) and otherwise by a linear search over the
 * few writer versions a type has.
 */
enum { W_OK, W_WRONG_TYPE };

struct writer {
        int32_t       id;
        int           state;
        avro_schema_t schema; /* keeps the names the plan borrows */
        struct node   plan;
        char         *why; /* W_WRONG_TYPE */
};

struct rs_avro_decoder_s {
        rs_avro_registry_t *reg;
        uint64_t            generation;
        int32_t             reader_id;
        avro_schema_t       reader;
        char               *reader_json;
        char                reader_name[256];
        avro_value_iface_t *iface;
        avro_value_t        value;
        struct writer      *writers;
        size_t              writer_cnt;
        size_t              writer_cap;
        struct writer      *last;
        char               *scratch;
        size_t              scratch_size;
        char                err[512];
        char                path[256];
        char                why[800];
};

static void writers_clear(rs_avro_decoder_t *dec) {
        size_t i;

        for (i = 0; i < dec->writer_cnt; i++) {
                node_free(&dec->writers[i].plan);
                avro_schema_decref(dec->writers[i].schema);
                free(dec->writers[i].why);
        }
        dec->writer_cnt = 0;
        dec->last       = NULL;
}

rs_avro_decoder_t *rs_avro_decoder_new(rs_avro_registry_t *reg,
                                       int32_t reader_id, char *errstr,
                                       size_t errstr_size) {
        rs_avro_decoder_t *dec;
        avro_schema_t      reader = rs_avro_registry_get(reg, reader_id);

        if (!reader) {
                bprintf(errstr, errstr_size,
                        "reader schema id %d is not registered", reader_id);
                return NULL;
        }
        if (!is_avro_record(deref(reader))) {
                bprintf(errstr, errstr_size,
                        "reader schema id %d is not a record", reader_id);
                return NULL;
        }

        dec = calloc(1, sizeof(*dec));
        if (!dec) {
                bprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        dec->reg        = reg;
        dec->generation = reg->generation;
        dec->reader_id  = reader_id;
        dec->reader     = avro_schema_incref(reader);
        full_name(reader, dec->reader_name, sizeof(dec->reader_name));
        /* Own copies: the registry may replace the id later. */
        dec->reader_json  = strdup(registry_json(reg, reader_id));
        dec->scratch_size = 256;
        dec->scratch      = malloc(dec->scratch_size);
        dec->iface        = avro_generic_class_from_schema(reader);
        if (!dec->reader_json || !dec->scratch || !dec->iface) {
                bprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (avro_generic_value_new(dec->iface, &dec->value)) {
                bprintf(errstr, errstr_size, "reader value: %s",
                        avro_strerror());
                avro_value_iface_decref(dec->iface);
                dec->iface = NULL;
                goto fail;
        }
        return dec;

fail:
        rs_avro_decoder_destroy(dec);
        return NULL;
}

void rs_avro_decoder_destroy(rs_avro_decoder_t *dec) {
        if (!dec)
                return;
        writers_clear(dec);
        free(dec->writers);
        if (dec->iface) {
                avro_value_decref(&dec->value);
                avro_value_iface_decref(dec->iface);
        }
        avro_schema_decref(dec->reader);
        free(dec->reader_json);
        free(dec->scratch);
        free(dec);
}

/* The plan for writer id; built and remembered on first use. */
static struct writer *writer_get(rs_avro_decoder_t *dec, int32_t id, int *errp,
                                 char *errstr, size_t errstr_size) {
        struct build   b = {0};
        struct writer *w;
        avro_schema_t  ws;
        char           name[256];
        size_t         i;

        if (dec->generation != dec->reg->generation) {
                writers_clear(dec);
                dec->generation = dec->reg->generation;
        }
        if (dec->last && dec->last->id == id)
                return dec->last;
        for (i = 0; i < dec->writer_cnt; i++)
                if (dec->writers[i].id == id)
                        return dec->last = &dec->writers[i];

        ws = rs_avro_registry_get(dec->reg, id);
        if (!ws) {
                bprintf(errstr, errstr_size, "schema id %d is not registered",
                        id);
                *errp = RS_AVRO_ERR_SCHEMA_ID;
                return NULL;
        }
        if (dec->writer_cnt == dec->writer_cap) {
                size_t         cap = dec->writer_cap ? dec->writer_cap * 2 : 4;
                struct writer *n =
                    realloc(dec->writers, cap * sizeof(*dec->writers));
                if (!n) {
                        bprintf(errstr, errstr_size, "out of memory");
                        *errp = RS_AVRO_ERR_BODY;
                        return NULL;
                }
                dec->writers    = n;
                dec->writer_cap = cap;
                dec->last       = NULL;
        }
        w = &dec->writers[dec->writer_cnt];
        memset(w, 0, sizeof(*w));
        w->id     = id;
        w->schema = avro_schema_incref(ws);

        full_name(ws, name, sizeof(name));
        if (strcmp(name, dec->reader_name)) {
                w->state = W_WRONG_TYPE;
                bprintf(dec->why, sizeof(dec->why),
                        "schema id %d is %s, not %s", id,
                        *name ? name : avro_schema_type_name(deref(ws)),
                        dec->reader_name);
                w->why = strdup(dec->why);
        } else {
                b.rjson_text = dec->reader_json;
                b.err        = dec->err;
                b.errsize    = sizeof(dec->err);
                b.path       = dec->path;
                b.pathsize   = sizeof(dec->path);
                dec->err[0]  = '\0';
                dec->path[0] = '\0';
                if (compile(&b, &w->plan, ws, dec->reader, 0) == -1) {
                        /* The id names our type, but a version we cannot
                         * read: as unusable as another type. */
                        char detail[sizeof(dec->err) + sizeof(dec->path)];
                        join_err(detail, sizeof(detail), dec->path, dec->err);
                        node_free(&w->plan);
                        w->state = W_WRONG_TYPE;
                        bprintf(dec->why, sizeof(dec->why),
                                "schema id %d cannot be read as schema id "
                                "%d: %s",
                                id, dec->reader_id, detail);
                        w->why = strdup(dec->why);
                }
                if (b.rjson_parsed)
                        json_free(&b.rjson);
        }
        if (w->state != W_OK && !w->why) {
                node_free(&w->plan);
                avro_schema_decref(w->schema);
                bprintf(errstr, errstr_size, "out of memory");
                *errp = RS_AVRO_ERR_BODY;
                return NULL;
        }
        dec->writer_cnt++;
        return dec->last = w;
}

int rs_avro_decoder_decode(rs_avro_decoder_t *dec, const void *buf, size_t len,
                           avro_value_t **valuep, char *errstr,
                           size_t errstr_size) {
        const unsigned char *p = buf;
        struct writer       *w;
        struct rd            rd;
        int32_t              id;
        int                  err = 0;

        *valuep = NULL;
        if (len < RS_AVRO_HEADER_SIZE) {
                bprintf(errstr, errstr_size,
                        "%zu bytes, shorter than the %d-byte header", len,
                        RS_AVRO_HEADER_SIZE);
                return RS_AVRO_ERR_TRUNCATED;
        }
        if (p[0] != 0) {
                bprintf(errstr, errstr_size, "magic byte is 0x%02x, not 0",
                        p[0]);
                return RS_AVRO_ERR_MAGIC;
        }
        id = (int32_t)(((uint32_t)p[1] << 24) | ((uint32_t)p[2] << 16) |
                       ((uint32_t)p[3] << 8) | (uint32_t)p[4]);

        w = writer_get(dec, id, &err, errstr, errstr_size);
        if (!w)
                return err;
        if (w->state == W_WRONG_TYPE) {
                bprintf(errstr, errstr_size, "%s", w->why);
                return RS_AVRO_ERR_WRONG_TYPE;
        }

        if (avro_value_reset(&dec->value)) {
                bprintf(errstr, errstr_size, "reset: %s", avro_strerror());
                return RS_AVRO_ERR_BODY;
        }
        rd.p            = p + RS_AVRO_HEADER_SIZE;
        rd.end          = p + len;
        rd.scratch      = &dec->scratch;
        rd.scratch_size = &dec->scratch_size;
        rd.zero_budget  = MAX_ZERO_SIZE_ITEMS;
        rd.err          = dec->err;
        rd.errsize      = sizeof(dec->err);
        rd.path         = dec->path;
        rd.pathsize     = sizeof(dec->path);
        dec->path[0]    = '\0';
        if (rd_value(&rd, &w->plan, &dec->value) == -1) {
                join_err(dec->why, sizeof(dec->why), dec->path, dec->err);
                bprintf(errstr, errstr_size, "schema id %d: %s", id, dec->why);
                return RS_AVRO_ERR_BODY;
        }
        if (rd.p != rd.end) {
                bprintf(errstr, errstr_size,
                        "%zu trailing bytes after the %zu-byte body of schema "
                        "id %d",
                        (size_t)(rd.end - rd.p),
                        (size_t)(rd.p - p) - RS_AVRO_HEADER_SIZE, id);
                return RS_AVRO_ERR_BODY;
        }
        *valuep = &dec->value;
        return 0;
}


/*
 * Encoder: header and body go into one growing buffer; avro-c's memory
 * writer fails with ENOSPC when the body does not fit, and then we double
 * the buffer and write again (the buffer then stays that large).
 */
struct rs_avro_encoder_s {
        int32_t             id;
        avro_schema_t       schema;
        avro_value_iface_t *iface;
        avro_value_t        value;
        int                 value_ok;
        avro_writer_t       writer;
        char               *buf;
        size_t              size;
};

rs_avro_encoder_t *rs_avro_encoder_new(rs_avro_registry_t *reg, int32_t id,
                                       char *errstr, size_t errstr_size) {
        rs_avro_encoder_t *enc;
        avro_schema_t      schema = rs_avro_registry_get(reg, id);

        if (!schema) {
                bprintf(errstr, errstr_size, "schema id %d is not registered",
                        id);
                return NULL;
        }
        enc = calloc(1, sizeof(*enc));
        if (!enc) {
                bprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        enc->id     = id;
        enc->schema = avro_schema_incref(schema);
        enc->size   = 1024;
        enc->buf    = malloc(enc->size);
        enc->iface  = avro_generic_class_from_schema(schema);
        enc->writer = avro_writer_memory(enc->buf, 0);
        if (!enc->buf || !enc->iface || !enc->writer) {
                bprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (avro_generic_value_new(enc->iface, &enc->value)) {
                bprintf(errstr, errstr_size, "value: %s", avro_strerror());
                goto fail;
        }
        enc->value_ok = 1;
        return enc;

fail:
        rs_avro_encoder_destroy(enc);
        return NULL;
}

void rs_avro_encoder_destroy(rs_avro_encoder_t *enc) {
        if (!enc)
                return;
        if (enc->value_ok)
                avro_value_decref(&enc->value);
        if (enc->iface)
                avro_value_iface_decref(enc->iface);
        if (enc->writer)
                avro_writer_free(enc->writer);
        avro_schema_decref(enc->schema);
        free(enc->buf);
        free(enc);
}

avro_value_t *rs_avro_encoder_value(rs_avro_encoder_t *enc) {
        avro_value_reset(&enc->value);
        return &enc->value;
}

int rs_avro_encoder_encode(rs_avro_encoder_t *enc, const void **bufp,
                           size_t *lenp, char *errstr, size_t errstr_size) {
        uint32_t id = (uint32_t)enc->id;
        int      rc;

        for (;;) {
                enc->buf[0] = 0;
                enc->buf[1] = (char)(id >> 24);
                enc->buf[2] = (char)(id >> 16);
                enc->buf[3] = (char)(id >> 8);
                enc->buf[4] = (char)id;
                avro_writer_memory_set_dest(
                    enc->writer, enc->buf + RS_AVRO_HEADER_SIZE,
                    (int64_t)(enc->size - RS_AVRO_HEADER_SIZE));
                rc = avro_value_write(enc->writer, &enc->value);
                if (rc != ENOSPC)
                        break;
                if (enc->size >= MAX_ENCODED_SIZE) {
                        bprintf(errstr, errstr_size,
                                "schema id %d: value larger than %d bytes",
                                enc->id, MAX_ENCODED_SIZE);
                        return -1;
                }
                {
                        char *n = realloc(enc->buf, enc->size * 2);
                        if (!n) {
                                bprintf(errstr, errstr_size, "out of memory");
                                return -1;
                        }
                        enc->buf = n;
                        enc->size *= 2;
                }
        }
        if (rc) {
                bprintf(errstr, errstr_size, "schema id %d: %s", enc->id,
                        avro_strerror());
                return -1;
        }
        *bufp = enc->buf;
        *lenp = RS_AVRO_HEADER_SIZE + (size_t)avro_writer_tell(enc->writer);
        return 0;
}
