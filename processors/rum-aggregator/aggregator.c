/*
 * rum-aggregator: per-event logic and window emission.
 * See aggregator.h for what it computes.
 *
 * State per input partition (a tenant lives on exactly one partition, so
 * partitions are independent):
 *   tenants   name -> tenant (its admitted routes, capped)
 *   windows   rs_window_t slots, each holding a map
 *             (tenant index << 32 | route index) -> entry
 *   entry     the route's aggregates in that window: the roll-up and one
 *             per device, connection and country seen
 * Sketches are recycled through a free list, so a steady stream allocates
 * nothing per event once its windows are warm.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"
#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/map.h"
#include "rumstream/pii.h"
#include "rumstream/route.h"
#include "rumstream/sketch.h"
#include "rumstream/vitals.h"

#include "aggregator.h"

#define PROCESSOR "rum-aggregator"

/* clang-format off */
const rs_conf_item_t agg_conf_table[] = {
        RS_STREAM_CONF_ITEMS(agg_conf_t, "rum-aggregator", "rum.events"),
        {"output_topic", RS_CONF_STRING, offsetof(agg_conf_t, output_topic),
         "rum.aggregates", 0, -1, NULL, "Topic of the RumAggregate records"},
        {"limits.max_tenants", RS_CONF_INT,
         offsetof(agg_conf_t, max_tenants), "10000", 1, 10000000, NULL,
         "Tenants per input partition; events of more go to the DLQ"},
        {"limits.max_routes_per_tenant", RS_CONF_INT,
         offsetof(agg_conf_t, max_routes_per_tenant), "500", 1, 1000000,
         NULL, "Distinct routes per tenant; more share the route "
         RS_ROUTE_OVERFLOW},
        {"limits.max_clock_skew_ms", RS_CONF_INT,
         offsetof(agg_conf_t, max_clock_skew_ms), "300000", 0, 86400000,
         NULL, "Events this far ahead of their Kafka timestamp are rejected"},
        {"limits.max_timing_ms", RS_CONF_DOUBLE,
         offsetof(agg_conf_t, max_timing_ms), "120000", 1, 3600000, NULL,
         "Timings above are not page-view measurements (background tabs)"},
        {"limits.max_cls", RS_CONF_DOUBLE, offsetof(agg_conf_t, max_cls),
         "100", 0.01, 10000, NULL, "CLS above is rejected as implausible"},
        {"limits.max_custom_timings_per_tenant", RS_CONF_INT,
         offsetof(agg_conf_t, max_custom_timings), "20", 0,
         RS_AGG_MAX_CUSTOM, NULL,
         "Distinct custom timing names per tenant; more are counted, not "
         "aggregated"},
        {"sketch.relative_accuracy", RS_CONF_DOUBLE,
         offsetof(agg_conf_t, relative_accuracy), "0.01", 0.0001, 0.1, NULL,
         "Relative accuracy of the quantile sketches"},
        {"navigation_timing", RS_CONF_BOOL,
         offsetof(agg_conf_t, navigation_timing), "true", 0, -1, NULL,
         "Aggregate the navigation-timing breakdown (all-traffic roll-up)"},
        RS_CONF_END,
};
/* clang-format on */

enum { DEV_DESKTOP, DEV_MOBILE, DEV_TABLET, DEV_OTHER, DEV_CNT };
static const char *const device_names[DEV_CNT] = {"desktop", "mobile", "tablet",
                                                  "other"};
enum {
        CONN_SLOW2G,
        CONN_2G,
        CONN_3G,
        CONN_4G,
        CONN_5G,
        CONN_WIFI,
        CONN_ETHERNET,
        CONN_UNKNOWN,
        CONN_CNT
};
static const char *const conn_names[CONN_CNT] = {
    "slow-2g", "2g", "3g", "4g", "5g", "wifi", "ethernet", "unknown"};

typedef struct acc_s {
        rs_sketch_t *sk; /* weighted values; its count/sum give weight/mean */
        int64_t      samples;
        double       rated[3]; /* good, needs improvement, poor (weighted) */
} acc_t;

typedef struct seg_s {
        int64_t events;
        double  page_views;
        acc_t   m[RS_METRIC_CNT];
} seg_t;

typedef struct route_s {
        const char *name; /* the key in the tenant's map */
        uint32_t    idx;
} route_t;

typedef struct tenant_s {
        const char *name; /* the key in the partition's map */
        uint32_t    idx;
        rs_map_t   *routes; /* name -> route_t */
        uint32_t    admitted;
        route_t    *overflow;
        rs_map_t   *customs; /* custom timing name -> index + 1 */
        char       *custom_metric[RS_AGG_MAX_CUSTOM]; /* "custom.<name>" */
        uint32_t    custom_cnt;
} tenant_t;

typedef struct entry_s {
        tenant_t *tenant;
        route_t  *route;
        seg_t     all;
        seg_t    *device[DEV_CNT];
        seg_t    *conn[CONN_CNT];
        uint16_t *country_codes;
        seg_t   **country;
        size_t    country_cnt, country_cap;
        acc_t    *custom; /* by the tenant's custom timing index */
        uint32_t  custom_cap;
} entry_t;

typedef struct pstate_s {
        rs_map_t *tenants;
        uint32_t  tenant_cnt;
} pstate_t;

typedef struct freelist_s {
        void **items;
        size_t cnt, cap;
} freelist_t;

struct agg_s {
        const agg_conf_t       *conf;
        rs_stream_t            *stream;
        rs_avro_registry_t     *reg;
        rs_rum_event_decoder_t *dec;
        rs_pii_t               *pii;    /* routes: a path can hold an address */
        unsigned char          *outbuf; /* one encoded RumAggregate */
        size_t                  outbuf_size;

        rs_sketch_pool_t *skpool; /* sketches and their rings, recycled */

        rs_pg_batch_t *b_views;
        rs_pg_batch_t *b_aggs;
        rs_pg_batch_t *b_routes;
        rs_pg_batch_t *b_customs;

        int64_t     live_aggs; /* (tenant, route, segment) aggregates open */
        int64_t     peak_aggs;
        rs_gauge_t *g_live_aggs;

        freelist_t seg_fl;   /* seg_t */
        freelist_t entry_fl; /* entry_t */

        unsigned char *skbuf; /* serialized sketches of one aggregate */
        size_t         skbuf_size;

        rs_counter_t *c_events;
        rs_counter_t *c_no_consent;
        rs_counter_t *c_replay_skipped;
        rs_counter_t *c_route_overflow;
        rs_counter_t *c_aggregates;
        rs_counter_t *c_aggregate_bytes;
        rs_counter_t *c_custom_invalid;
        rs_counter_t *c_custom_overflow;
        rs_counter_t *c_clamped;
};

static void aggs_live(agg_t *a, int64_t delta);

/* Recycled fixed-size blocks: segments and entries come and go with every
 * window, and malloc/free of them (and the page faults of fresh memory)
 * was a large share of the cost of a window. The lists hold at most the
 * peak in use, which the caps bound. */
static void *fl_get(freelist_t *fl, size_t size) {
        void *p;

        if (fl->cnt == 0)
                return calloc(1, size);
        p = fl->items[--fl->cnt];
        memset(p, 0, size);
        return p;
}

static void fl_put(freelist_t *fl, void *p) {
        if (fl->cnt == fl->cap) {
                size_t n  = fl->cap ? fl->cap * 2 : 256;
                void **ni = realloc(fl->items, n * sizeof(*ni));
                if (!ni) {
                        free(p);
                        return;
                }
                fl->items = ni;
                fl->cap   = n;
        }
        fl->items[fl->cnt++] = p;
}

static void fl_destroy(freelist_t *fl) {
        while (fl->cnt > 0)
                free(fl->items[--fl->cnt]);
        free(fl->items);
}

static rs_sketch_t *sketch_get(agg_t *a) {
        return rs_sketch_pool_get(a->skpool);
}

static void sketch_put(agg_t *a, rs_sketch_t *sk) {
        rs_sketch_pool_put(a->skpool, sk);
}

static void seg_release(agg_t *a, seg_t *seg) {
        int i;

        for (i = 0; i < RS_METRIC_CNT; i++)
                sketch_put(a, seg->m[i].sk);
}

static void entry_free(agg_t *a, entry_t *e) {
        int64_t segs = 1;
        size_t  i;

        seg_release(a, &e->all);
        for (i = 0; i < DEV_CNT; i++)
                if (e->device[i]) {
                        seg_release(a, e->device[i]);
                        fl_put(&a->seg_fl, e->device[i]);
                        segs++;
                }
        for (i = 0; i < CONN_CNT; i++)
                if (e->conn[i]) {
                        seg_release(a, e->conn[i]);
                        fl_put(&a->seg_fl, e->conn[i]);
                        segs++;
                }
        for (i = 0; i < e->country_cnt; i++) {
                seg_release(a, e->country[i]);
                fl_put(&a->seg_fl, e->country[i]);
                segs++;
        }
        free(e->country);
        free(e->country_codes);
        for (i = 0; i < e->custom_cap; i++)
                sketch_put(a, e->custom[i].sk);
        free(e->custom);
        fl_put(&a->entry_fl, e);
        aggs_live(a, -segs);
}

static void entry_free_cb(uint64_t key, void *value, void *opaque) {
        (void)key;
        entry_free(opaque, value);
}

static void window_free(agg_t *a, rs_map64_t *w) {
        if (!w)
                return;
        rs_map64_foreach(w, entry_free_cb, a);
        rs_map64_destroy(w);
}

/*
 * Classification of the segment fields into bounded sets.
 */
static int device_of(const char *s) {
        switch (s[0]) {
        case 'd':
                return strcmp(s, "desktop") ? DEV_OTHER : DEV_DESKTOP;
        case 'm':
                return strcmp(s, "mobile") ? DEV_OTHER : DEV_MOBILE;
        case 't':
                return strcmp(s, "tablet") ? DEV_OTHER : DEV_TABLET;
        default:
                return DEV_OTHER;
        }
}

static int conn_of(const char *s) {
        int i;

        /* The names differ in their first character: one compare. */
        switch (s[0]) {
        case 's':
                i = CONN_SLOW2G;
                break;
        case '2':
                i = CONN_2G;
                break;
        case '3':
                i = CONN_3G;
                break;
        case '4':
                i = CONN_4G;
                break;
        case '5':
                i = CONN_5G;
                break;
        case 'w':
                i = CONN_WIFI;
                break;
        case 'e':
                i = CONN_ETHERNET;
                break;
        default:
                return CONN_UNKNOWN;
        }
        return strcmp(s, conn_names[i]) ? CONN_UNKNOWN : i;
}

/* ISO 3166-1 alpha-2 packed in 16 bits; anything else is "ZZ" (unknown). */
static uint16_t country_of(const char *s) {
        char c0 = s[0], c1 = c0 ? s[1] : 0;

        if (c0 >= 'a' && c0 <= 'z')
                c0 = (char)(c0 - 'a' + 'A');
        if (c1 >= 'a' && c1 <= 'z')
                c1 = (char)(c1 - 'a' + 'A');
        if (c0 < 'A' || c0 > 'Z' || c1 < 'A' || c1 > 'Z' || s[2])
                return ('Z' << 8) | 'Z';
        return (uint16_t)((c0 << 8) | c1);
}

/*
 * Validation. Returns the dead-letter reason, or NULL if the event is good.
 */
static const char *validate(const agg_t *a, const rs_rum_event_t *ev,
                            int64_t msg_ts, char *detail, size_t size) {
        const char *reason;
        int         i;

        if ((reason = rs_event_check_tenant(ev->tenant_id, detail, size)))
                return reason;
        if (!ev->event_id[0] || !ev->url[0]) {
                snprintf(detail, size, "%s is empty",
                         !ev->event_id[0] ? "event_id" : "url");
                return "missing_field";
        }
        if ((reason = rs_event_check_time_rate(ev->timestamp_ms, msg_ts,
                                               a->conf->max_clock_skew_ms,
                                               ev->sample_rate, detail, size)))
                return reason;
        for (i = 0; i < RS_METRIC_CNT; i++) {
                double v   = ev->metrics[i];
                double max = i == RS_METRIC_CLS ? a->conf->max_cls
                                                : a->conf->max_timing_ms;
                if (isnan(v))
                        continue;
                if (!rs_metric_plausible(v, max)) {
                        snprintf(detail, size, "%s = %g is not in [0, %g]",
                                 rs_metric_name((rs_metric_t)i), v, max);
                        return "implausible_value";
                }
        }
        return NULL;
}

/*
 * Tenants and routes.
 */
static void route_free_cb(const void *key, size_t len, void *value,
                          void *opaque) {
        (void)key;
        (void)len;
        (void)opaque;
        free(value);
}

static void tenant_free_cb(const void *key, size_t len, void *value,
                           void *opaque) {
        tenant_t *t = value;

        (void)key;
        (void)len;
        (void)opaque;
        uint32_t i;

        rs_map_foreach(t->routes, route_free_cb, NULL);
        rs_map_destroy(t->routes);
        rs_map_destroy(t->customs);
        for (i = 0; i < t->custom_cnt; i++)
                free(t->custom_metric[i]);
        free(t);
}

/**
 * @brief The tenant \p name of the partition, added if absent and (when
 *        \p capped) the partition is under its tenant cap.
 * @returns NULL over the cap or out of memory.
 */
static tenant_t *tenant_get(const agg_t *a, pstate_t *ps, const char *name,
                            int capped) {
        size_t    len = strlen(name);
        void    **slot;
        tenant_t *t;
        int       created;

        if ((slot = rs_map_get(ps->tenants, name, len)))
                return *slot;
        if (capped && ps->tenant_cnt >= (uint64_t)a->conf->max_tenants)
                return NULL;
        if (!(t = calloc(1, sizeof(*t))) || !(t->routes = rs_map_new()) ||
            !(t->customs = rs_map_new()) ||
            !(slot = rs_map_put(ps->tenants, name, len, &created))) {
                if (t) {
                        rs_map_destroy(t->routes);
                        rs_map_destroy(t->customs);
                }
                free(t);
                return NULL;
        }
        t->name = rs_map_key_of(slot);
        t->idx  = ps->tenant_cnt++;
        *slot   = t;
        return t;
}

static route_t *route_add(tenant_t *t, const char *name, size_t len) {
        route_t *r = calloc(1, sizeof(*r));
        void   **slot;
        int      created;

        if (!r || !(slot = rs_map_put(t->routes, name, len, &created))) {
                free(r);
                return NULL;
        }
        r->name = rs_map_key_of(slot);
        r->idx  = (uint32_t)rs_map_size(t->routes) - 1;
        *slot   = r;
        return r;
}

/**
 * @brief The route an event is aggregated under: its own if known or if the
 *        tenant is under its cap (then it is admitted and queued for
 *        tenant_routes, so every later owner admits the same set), else the
 *        tenant's overflow route.
 */
static route_t *route_get(agg_t *a, rs_stream_part_t *part, tenant_t *t,
                          const char *name, size_t len, int replay) {
        void   **slot = rs_map_get(t->routes, name, len);
        route_t *r;

        if (slot)
                return *slot;
        if (t->admitted < (uint64_t)a->conf->max_routes_per_tenant) {
                if (!(r = route_add(t, name, len)))
                        return NULL;
                t->admitted++;
                rs_pg_batch_str(a->b_routes, a->conf->stream.group_id);
                rs_pg_batch_str(a->b_routes, part->topic);
                rs_pg_batch_str(a->b_routes, t->name);
                rs_pg_batch_str(a->b_routes, r->name);
                rs_pg_batch_i64(a->b_routes, part->partition);
                rs_pg_batch_row_end(a->b_routes);
                return r;
        }
        if (!replay)
                rs_counter_add(a->c_route_overflow, 1);
        if (!t->overflow)
                t->overflow = route_add(t, RS_ROUTE_OVERFLOW,
                                        sizeof(RS_ROUTE_OVERFLOW) - 1);
        return t->overflow;
}

/*
 * Custom timings: named application timings ("api.latency"), aggregated in
 * the all-traffic roll-up as metrics "custom.<name>". Names are capped per
 * tenant like routes, and the admitted ones stored for the same reason.
 */
static int custom_name_valid(const char *n) {
        size_t i;

        for (i = 0; n[i]; i++) {
                char c = n[i];
                if (i == 64 ||
                    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-' || c == ':'))
                        return 0;
        }
        return i > 0;
}

/** @returns the index of a newly admitted name, or -1 (out of memory). */
static int custom_add(tenant_t *t, const char *name) {
        size_t len = strlen(name);
        void **slot;
        int    created;
        char  *metric = malloc(len + sizeof("custom."));

        if (!metric || !(slot = rs_map_put(t->customs, name, len, &created))) {
                free(metric);
                return -1;
        }
        memcpy(metric, "custom.", 7);
        memcpy(metric + 7, name, len + 1);
        t->custom_metric[t->custom_cnt] = metric;
        *slot                           = (void *)(intptr_t)(t->custom_cnt + 1);
        return (int)t->custom_cnt++;
}

/** @returns the name's index, or -1 if the tenant's cap keeps it out. */
static int custom_get(agg_t *a, rs_stream_part_t *part, tenant_t *t,
                      const char *name) {
        void **slot = rs_map_get(t->customs, name, strlen(name));
        int    idx;

        if (slot)
                return (int)(intptr_t)*slot - 1;
        if (t->custom_cnt >= (uint64_t)a->conf->max_custom_timings ||
            (idx = custom_add(t, name)) == -1)
                return -1;
        rs_pg_batch_str(a->b_customs, a->conf->stream.group_id);
        rs_pg_batch_str(a->b_customs, part->topic);
        rs_pg_batch_str(a->b_customs, t->name);
        rs_pg_batch_str(a->b_customs, name);
        rs_pg_batch_i64(a->b_customs, part->partition);
        rs_pg_batch_row_end(a->b_customs);
        return idx;
}

/*
 * Accumulation.
 */
/* The segments an event counts in: the roll-up first, then its device,
 * connection and country. */
enum { SEG_ALL, SEG_DEVICE, SEG_CONN, SEG_COUNTRY, SEG_CNT };

/**
 * @brief Adds the event to its segments: the vitals to all four, the
 *        navigation timings (the metrics from RS_METRIC_VITAL_CNT up to
 *        \p metric_cnt) to the roll-up only. Each value's bucket and
 *        rating are worked out once for all of them.
 * @returns 0, or -1 out of memory.
 */
/* How many of an event's segments metric i counts in: the vitals in all
 * four, the navigation timings in the roll-up (segs[SEG_ALL]) only. */
static inline int metric_segs(int i) {
        return i < RS_METRIC_VITAL_CNT ? SEG_CNT : 1;
}

static int segs_add(agg_t *a, seg_t *const segs[SEG_CNT],
                    const rs_rum_event_t *ev, double weight, int metric_cnt) {
        rs_sketch_t *sks[SEG_CNT];
        int          i, k;

        /* The four segments' sketches are scattered over memory that is
         * mostly not in cache: ask for all of them first, then add, so
         * that the misses overlap instead of following one another. */
        for (i = 0; i < metric_cnt; i++)
                if (!isnan(ev->metrics[i]))
                        for (k = 0; k < metric_segs(i); k++)
                                __builtin_prefetch(&segs[k]->m[i], 1);
        for (i = 0; i < metric_cnt; i++) {
                if (isnan(ev->metrics[i]))
                        continue;
                for (k = 0; k < metric_segs(i); k++) {
                        acc_t *acc = &segs[k]->m[i];

                        if (!acc->sk && !(acc->sk = sketch_get(a)))
                                return -1;
                        rs_sketch_prefetch(acc->sk);
                }
        }
        for (k = 0; k < SEG_CNT; k++) {
                segs[k]->events++;
                segs[k]->page_views += weight;
        }
        for (i = 0; i < metric_cnt; i++) {
                double v     = ev->metrics[i];
                int    rated = i < RS_METRIC_VITAL_CNT;
                int    n = metric_segs(i), rating = 0;

                if (isnan(v))
                        continue;
                if (rated)
                        rating = rs_metric_rate((rs_metric_t)i, v);
                for (k = 0; k < n; k++) {
                        acc_t *acc = &segs[k]->m[i];

                        sks[k] = acc->sk;
                        acc->samples++;
                        if (rated)
                                acc->rated[rating] += weight;
                }
                /* Validation bounded the value and the weight: no sketch
                 * can refuse them. */
                rs_sketch_add_many(sks, (size_t)n, v, weight);
        }
        return 0;
}

static void aggs_live(agg_t *a, int64_t delta) {
        a->live_aggs += delta;
        if (a->live_aggs > a->peak_aggs)
                a->peak_aggs = a->live_aggs;
        rs_gauge_set(a->g_live_aggs, a->live_aggs);
}

static seg_t *seg_lazy(agg_t *a, seg_t **slot) {
        if (!*slot && (*slot = fl_get(&a->seg_fl, sizeof(**slot))))
                aggs_live(a, 1);
        return *slot;
}

static seg_t *country_seg(agg_t *a, entry_t *e, uint16_t code) {
        size_t i;

        for (i = 0; i < e->country_cnt; i++)
                if (e->country_codes[i] == code)
                        return e->country[i];
        if (e->country_cnt == e->country_cap) {
                size_t    n  = e->country_cap ? e->country_cap * 2 : 4;
                uint16_t *nc = realloc(e->country_codes, n * sizeof(*nc));
                seg_t   **ns;
                if (!nc)
                        return NULL;
                e->country_codes = nc;
                ns               = realloc(e->country, n * sizeof(*ns));
                if (!ns)
                        return NULL;
                e->country     = ns;
                e->country_cap = n;
        }
        if (!(e->country[e->country_cnt] = fl_get(&a->seg_fl, sizeof(seg_t))))
                return NULL;
        aggs_live(a, 1);
        e->country_codes[e->country_cnt] = code;
        return e->country[e->country_cnt++];
}

/**
 * @brief Adds the event's custom timings to the entry's roll-up. A timing
 *        with an invalid name or an implausible value is left out and
 *        counted (the event's other measurements are good); so are names
 *        over the tenant's cap and timings beyond the event's first
 *        RS_EVENT_MAX_CUSTOM_TIMINGS.
 * @returns 0, or -1 out of memory.
 */
static int custom_add_all(agg_t *a, rs_stream_part_t *part, tenant_t *t,
                          entry_t *e, const rs_rum_event_t *ev, double weight,
                          int replay) {
        size_t k;

        if (!replay && ev->custom_dropped)
                rs_counter_add(a->c_custom_overflow, ev->custom_dropped);
        for (k = 0; k < ev->custom_cnt; k++) {
                const rs_custom_timing_t *ct = &ev->custom[k];
                acc_t                    *acc;
                int                       idx;

                if (!custom_name_valid(ct->name) ||
                    !rs_metric_plausible(ct->value, a->conf->max_timing_ms)) {
                        if (!replay)
                                rs_counter_add(a->c_custom_invalid, 1);
                        continue;
                }
                if ((idx = custom_get(a, part, t, ct->name)) == -1) {
                        if (!replay)
                                rs_counter_add(a->c_custom_overflow, 1);
                        continue;
                }
                if ((uint32_t)idx >= e->custom_cap) {
                        uint32_t n  = t->custom_cnt;
                        acc_t   *na = realloc(e->custom, n * sizeof(*na));
                        if (!na)
                                return -1;
                        memset(na + e->custom_cap, 0,
                               (n - e->custom_cap) * sizeof(*na));
                        e->custom     = na;
                        e->custom_cap = n;
                }
                acc = &e->custom[idx];
                if (!acc->sk && !(acc->sk = sketch_get(a)))
                        return -1;
                rs_sketch_add(acc->sk, ct->value, weight);
                acc->samples++;
        }
        return 0;
}

static void on_message(void *opaque, rs_stream_part_t *part,
                       const rd_kafka_message_t *msg, int replay) {
        agg_t       *a  = opaque;
        pstate_t    *ps = part->state;
        rs_stream_t *s  = a->stream;
        char         err[512], route[RS_ROUTE_MAX], raw_route[RS_ROUTE_MAX];
        rd_kafka_timestamp_type_t tstype;
        rs_rum_event_t            ev;
        const char               *reason;
        int64_t                   msg_ts, start;
        tenant_t                 *t;
        route_t                  *r;
        rs_map64_t              **win;
        entry_t                 **slot, *e;
        size_t                    rlen;
        double                    weight;
        int                       rc, created;

        rc = rs_rum_event_decode(a->dec, msg->payload, msg->len, &ev, err,
                                 sizeof(err));
        if (rc) {
                rs_stream_dlq(s, msg,
                              rc == RS_EVENT_ERR_INVALID
                                  ? "invalid"
                                  : rs_avro_err_reason(rc),
                              err, replay);
                return;
        }
        msg_ts = rd_kafka_message_timestamp(msg, &tstype);
        if ((reason = validate(a, &ev, msg_ts, err, sizeof(err)))) {
                rs_stream_dlq(s, msg, reason, err, replay);
                return;
        }
        if (!ev.consent) {
                if (!replay)
                        rs_counter_add(a->c_no_consent, 1);
                return;
        }
        /* A page view happened before its beacon reached the collector that
         * stamped the message: a time ahead of that is the client's clock,
         * and left alone one fast clock would drag the partition's
         * watermark forward and make everyone else late. */
        if (msg_ts > 0 && ev.timestamp_ms > msg_ts) {
                ev.timestamp_ms = msg_ts;
                if (!replay)
                        rs_counter_add(a->c_clamped, 1);
        }
        if (rs_window_is_late(part->win, ev.timestamp_ms)) {
                /* Below the stored commit offset this window was written
                 * (or the event dead-lettered) before: skip it quietly. */
                if (replay) {
                        rs_counter_add(a->c_replay_skipped, 1);
                        return;
                }
                snprintf(err, sizeof(err),
                         "window of %" PRId64 " closed at watermark %" PRId64,
                         ev.timestamp_ms, rs_window_watermark(part->win));
                rs_stream_dlq(s, msg, "late", err, replay);
                return;
        }
        if (!(t = tenant_get(a, ps, ev.tenant_id, 1))) {
                snprintf(err, sizeof(err),
                         "more than %" PRId64 " tenants on this partition",
                         a->conf->max_tenants);
                rs_stream_dlq(s, msg, "tenant_limit", err, replay);
                return;
        }
        /* Normalizing takes ids, UUIDs and tokens out of a path, but not
         * e-mail or IP addresses and phone numbers ("/u/jane@x.org"). */
        rlen = rs_route_normalize(ev.url, strlen(ev.url), raw_route);
        rlen =
            rs_pii_scrub(a->pii, raw_route, rlen, route, sizeof(route), NULL);
        if (rlen >= sizeof(route))
                rlen = strlen(route);
        if (!(r = route_get(a, part, t, route, rlen, replay)))
                goto oom;

        rc = rs_window_assign(part->win, ev.timestamp_ms, msg->offset, &start,
                              (void ***)&win);
        if (rc == RS_WINDOW_LATE) { /* its window was closed early */
                if (replay) {
                        rs_counter_add(a->c_replay_skipped, 1);
                        return;
                }
                snprintf(err, sizeof(err),
                         "window of %" PRId64
                         " closed early: more than %" PRId64 " windows open",
                         ev.timestamp_ms, a->conf->stream.max_open_windows);
                rs_stream_dlq(s, msg, "late", err, replay);
                return;
        }
        if (rc != RS_WINDOW_OK)
                goto oom;
        if (!*win && !(*win = rs_map64_new()))
                goto oom;
        slot = (entry_t **)rs_map64_put(*win, ((uint64_t)t->idx << 32) | r->idx,
                                        &created);
        if (!slot)
                goto oom;
        if (!(e = *slot)) {
                if (!(e = fl_get(&a->entry_fl, sizeof(*e))))
                        goto oom;
                e->tenant = t;
                e->route  = r;
                *slot     = e;
                aggs_live(a, 1);
        }

        weight = 1.0 / ev.sample_rate;
        {
                seg_t *segs[SEG_CNT];

                segs[SEG_ALL] = &e->all;
                segs[SEG_DEVICE] =
                    seg_lazy(a, &e->device[device_of(ev.device_type)]);
                segs[SEG_CONN] =
                    seg_lazy(a, &e->conn[conn_of(ev.connection_type)]);
                segs[SEG_COUNTRY] = country_seg(a, e, country_of(ev.country));
                if (!segs[SEG_DEVICE] || !segs[SEG_CONN] ||
                    !segs[SEG_COUNTRY] ||
                    segs_add(a, segs, &ev, weight,
                             a->conf->navigation_timing
                                 ? RS_METRIC_CNT
                                 : RS_METRIC_VITAL_CNT) == -1)
                        goto oom;
        }
        if (custom_add_all(a, part, t, e, &ev, weight, replay) == -1)
                goto oom;
        if (!replay)
                rs_counter_add(a->c_events, 1);
        return;

oom:
        /* Memory is bounded by the caps; failing here means the host is out
         * of it. Stop, and let the restart replay from the stored position
         * rather than write a partial aggregate. */
        rs_log_error("out of memory aggregating %s [%" PRId32 "] @%" PRId64,
                     part->topic, part->partition, msg->offset);
        abort();
}

/*
 * Emission of closed windows.
 */

/**
 * @brief Fills \p m from \p acc, serializing its sketch into the shared
 *        buffer at *offp (grown, and the write redone, only when it does
 *        not fit; m->sketch is set by the caller once all are written,
 *        since the buffer may move).
 */
static int summarize(agg_t *a, const acc_t *acc, const char *name,
                     const char *unit, rs_metric_summary_t *m, size_t *offp) {
        static const double qs[4] = {0.50, 0.75, 0.95, 0.99};
        size_t              off   = *offp, sklen;
        double              pct[4];

        while ((sklen = rs_sketch_serialize(acc->sk, a->skbuf + off,
                                            a->skbuf_size - off)) >
               a->skbuf_size - off) {
                size_t         size = 2 * (off + sklen);
                unsigned char *nb   = realloc(a->skbuf, size);
                if (!nb)
                        return -1;
                a->skbuf      = nb;
                a->skbuf_size = size;
        }
        m->name              = name;
        m->unit              = unit;
        m->samples           = acc->samples;
        m->weight            = rs_sketch_count(acc->sk);
        m->mean              = rs_sketch_sum(acc->sk) / m->weight;
        m->good              = acc->rated[RS_RATING_GOOD];
        m->needs_improvement = acc->rated[RS_RATING_NEEDS_IMPROVEMENT];
        m->poor              = acc->rated[RS_RATING_POOR];
        m->sketch_len        = sklen;
        rs_sketch_quantiles(acc->sk, qs, 4, pct);
        m->p50 = pct[0];
        m->p75 = pct[1];
        m->p95 = pct[2];
        m->p99 = pct[3];
        *offp  = off + sklen;
        return 0;
}

/* A closed window being emitted. */
typedef struct win_out_s {
        int64_t start, end;
} win_out_t;

static int emit_seg(agg_t *a, const entry_t *e, const char *seg_type,
                    const char *seg_value, const seg_t *seg,
                    const win_out_t *w) {
        const int64_t       start = w->start, end = w->end;
        rs_metric_summary_t sums[RS_METRIC_CNT + RS_AGG_MAX_CUSTOM];
        rs_metric_t         metrics[RS_METRIC_CNT + RS_AGG_MAX_CUSTOM];
        rs_rum_aggregate_t  agg;
        rd_kafka_headers_t *hdrs;
        char                id[33], err[512];
        const void         *buf;
        size_t              off = 0, n = 0, len, key_from, key_to, end_to;
        rs_id_t             h;
        int                 i;

        for (i = 0; i < RS_METRIC_CNT; i++) {
                if (!seg->m[i].samples)
                        continue;
                metrics[n] = (rs_metric_t)i;
                if (summarize(a, &seg->m[i], rs_metric_name((rs_metric_t)i),
                              rs_metric_unit((rs_metric_t)i), &sums[n],
                              &off) == -1)
                        return -1;
                n++;
        }
        /* Custom timings belong to the all-traffic roll-up. */
        for (i = 0; seg == &e->all && i < (int)e->custom_cap; i++) {
                if (!e->custom[i].samples)
                        continue;
                metrics[n] = RS_METRIC_CNT; /* none of ours: unrated */
                if (summarize(a, &e->custom[i], e->tenant->custom_metric[i],
                              "ms", &sums[n], &off) == -1)
                        return -1;
                n++;
        }
        /* The buffer may have moved while growing: point at it last. */
        for (i = 0, off = 0; i < (int)n; i++) {
                sums[i].sketch = a->skbuf + off;
                off += sums[i].sketch_len;
        }

        rs_id_init(&h, "rum_aggregate");
        rs_id_add_str(&h, e->tenant->name);
        rs_id_add_str(&h, e->route->name);
        rs_id_add_str(&h, seg_type);
        rs_id_add_str(&h, seg_value);
        rs_id_add_i64(&h, start);
        rs_id_hex(&h, id);

        agg.aggregate_id    = id;
        agg.tenant_id       = e->tenant->name;
        agg.route           = e->route->name;
        agg.segment_type    = seg_type;
        agg.segment_value   = seg_value;
        agg.window_start_ms = start;
        agg.window_end_ms   = end;
        agg.events          = seg->events;
        agg.page_views      = seg->page_views;
        agg.metrics         = sums;
        agg.metric_cnt      = n;

        while ((len = rs_rum_aggregate_encode(&agg, RS_SCHEMA_ID_RUM_AGGREGATE,
                                              a->outbuf, a->outbuf_size)) >
               a->outbuf_size) {
                unsigned char *nb = realloc(a->outbuf, 2 * len);
                if (!nb)
                        return -1;
                a->outbuf      = nb;
                a->outbuf_size = 2 * len;
        }
        buf  = a->outbuf;
        hdrs = rd_kafka_headers_new(1);
        rs_kafka_header_str(hdrs, "rs.id", id);
        if (rs_kafka_produce(rs_stream_producer(a->stream),
                             a->conf->output_topic, e->tenant->name,
                             strlen(e->tenant->name), buf, len, hdrs, err,
                             sizeof(err)) == -1) {
                rs_log_error("%s", err);
                return -1;
        }
        rs_counter_add(a->c_aggregate_bytes, len);

        /* The metric rows share the key and window end of this row: they
         * copy its formatted values instead of escaping them again. */
        key_from = rs_pg_batch_offset(a->b_views);
        rs_pg_batch_str(a->b_views, e->tenant->name);
        rs_pg_batch_str(a->b_views, e->route->name);
        rs_pg_batch_str(a->b_views, seg_type);
        rs_pg_batch_str(a->b_views, seg_value);
        rs_pg_batch_ts(a->b_views, start);
        key_to = rs_pg_batch_offset(a->b_views);
        rs_pg_batch_ts(a->b_views, end);
        end_to = rs_pg_batch_offset(a->b_views);
        rs_pg_batch_i64(a->b_views, seg->events);
        rs_pg_batch_f64(a->b_views, seg->page_views);
        rs_pg_batch_str(a->b_views, id);
        rs_pg_batch_row_end(a->b_views);

        for (i = 0; i < (int)n; i++) {
                const rs_metric_summary_t *m = &sums[i];
                int                        rated =
                    metrics[i] < RS_METRIC_CNT && rs_metric_rated(metrics[i]);
                /* The float columns, weight to poor, in one call. */
                const double f[9] = {m->weight,
                                     m->mean,
                                     m->p50,
                                     m->p75,
                                     m->p95,
                                     m->p99,
                                     rated ? m->good : NAN,
                                     rated ? m->needs_improvement : NAN,
                                     rated ? m->poor : NAN};

                rs_pg_batch_copy_values(a->b_aggs, a->b_views, key_from, key_to,
                                        5);
                rs_pg_batch_str(a->b_aggs, m->name);
                rs_pg_batch_copy_values(a->b_aggs, a->b_views, key_to, end_to,
                                        1);
                rs_pg_batch_str(a->b_aggs, m->unit);
                rs_pg_batch_i64(a->b_aggs, m->samples);
                rs_pg_batch_f64s(a->b_aggs, f, 9);
                rs_pg_batch_bytea(a->b_aggs, m->sketch, m->sketch_len);
                rs_pg_batch_row_end(a->b_aggs);
        }
        rs_counter_add(a->c_aggregates, 1);
        return 0;
}

static int emit_entry(agg_t *a, const entry_t *e, const win_out_t *w) {
        char   code[3];
        size_t i;

        if (emit_seg(a, e, "all", "all", &e->all, w) == -1)
                return -1;
        for (i = 0; i < DEV_CNT; i++)
                if (e->device[i] && emit_seg(a, e, "device", device_names[i],
                                             e->device[i], w) == -1)
                        return -1;
        for (i = 0; i < CONN_CNT; i++)
                if (e->conn[i] && emit_seg(a, e, "connection", conn_names[i],
                                           e->conn[i], w) == -1)
                        return -1;
        for (i = 0; i < e->country_cnt; i++) {
                code[0] = (char)(e->country_codes[i] >> 8);
                code[1] = (char)(e->country_codes[i] & 0xff);
                code[2] = '\0';
                if (emit_seg(a, e, "country", code, e->country[i], w) == -1)
                        return -1;
        }
        return 0;
}

typedef struct emit_ctx_s {
        agg_t    *a;
        win_out_t w;
        int       failed;
} emit_ctx_t;

static void emit_entry_cb(uint64_t key, void *value, void *opaque) {
        emit_ctx_t *ctx = opaque;

        (void)key;
        if (!ctx->failed && emit_entry(ctx->a, value, &ctx->w) == -1)
                ctx->failed = 1;
}

static int on_emit(void *opaque, rs_stream_part_t *part) {
        agg_t  *a = opaque;
        int64_t start;
        void   *data;
        int     n = 0;

        while (rs_window_pop_closed(part->win, &start, &data)) {
                emit_ctx_t ctx = {.a = a};
                ctx.w.start    = start;
                ctx.w.end      = start + rs_window_size(part->win);
                if (data)
                        rs_map64_foreach(data, emit_entry_cb, &ctx);
                window_free(a, data);
                if (ctx.failed)
                        return -1;
                n++;
        }
        return n;
}

static int on_write(void *opaque, rs_pg_t *pg, char *errstr,
                    size_t errstr_size) {
        agg_t         *a         = opaque;
        rs_pg_batch_t *batches[] = {a->b_routes, a->b_customs, a->b_views,
                                    a->b_aggs};
        size_t         i;

        for (i = 0; i < sizeof(batches) / sizeof(*batches); i++)
                if (rs_pg_batch_rows(batches[i]) > 0 &&
                    rs_pg_batch_flush(pg, batches[i], errstr, errstr_size) ==
                        -1)
                        return -1;
        return 0;
}

static void on_written(void *opaque) {
        agg_t *a = opaque;

        rs_pg_batch_clear(a->b_routes);
        rs_pg_batch_clear(a->b_customs);
        rs_pg_batch_clear(a->b_views);
        rs_pg_batch_clear(a->b_aggs);
}

/*
 * Partitions.
 */
static void pstate_free(agg_t *a, pstate_t *ps);

static int on_part_open(void *opaque, rs_stream_part_t *part, rs_pg_t *pg,
                        char *errstr, size_t errstr_size) {
        agg_t      *a  = opaque;
        pstate_t   *ps = calloc(1, sizeof(*ps));
        char        pnum[16];
        const char *params[3];
        PGresult   *res = NULL;
        int         i;

        if (!ps || !(ps->tenants = rs_map_new())) {
                free(ps);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        /* The routes admitted before, so the caps decide as they did. */
        snprintf(pnum, sizeof(pnum), "%" PRId32, part->partition);
        params[0] = a->conf->stream.group_id;
        params[1] = part->topic;
        params[2] = pnum;
        res       = rs_pg_query(pg,
                                "SELECT tenant_id, route FROM tenant_routes "
                                      "WHERE consumer_group = $1 AND topic = $2 "
                                      "AND partition = $3::int",
                                3, params, errstr, errstr_size);
        if (!res)
                goto fail;
        for (i = 0; i < PQntuples(res); i++) {
                const char *tn = PQgetvalue(res, i, 0);
                const char *rn = PQgetvalue(res, i, 1);
                tenant_t   *t  = tenant_get(a, ps, tn, 0);
                if (!t)
                        goto oom;
                if (!rs_map_get(t->routes, rn, strlen(rn))) {
                        if (!route_add(t, rn, strlen(rn)))
                                goto oom;
                        t->admitted++;
                }
        }
        PQclear(res);
        res = rs_pg_query(pg,
                          "SELECT tenant_id, name FROM tenant_custom_timings "
                          "WHERE consumer_group = $1 AND topic = $2 "
                          "AND partition = $3::int ORDER BY first_seen, name",
                          3, params, errstr, errstr_size);
        if (!res)
                goto fail;
        for (i = 0; i < PQntuples(res); i++) {
                const char *tn = PQgetvalue(res, i, 0);
                const char *cn = PQgetvalue(res, i, 1);
                tenant_t   *t  = tenant_get(a, ps, tn, 0);
                if (!t)
                        goto oom;
                if (!rs_map_get(t->customs, cn, strlen(cn)) &&
                    t->custom_cnt < RS_AGG_MAX_CUSTOM &&
                    custom_add(t, cn) == -1)
                        goto oom;
        }
        PQclear(res);
        part->state = ps;
        return 0;

oom:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        PQclear(res);
        pstate_free(a, ps);
        return -1;
}

static void window_free_cb(int64_t start, void *data, void *opaque) {
        (void)start;
        window_free(opaque, data);
}

static void pstate_free(agg_t *a, pstate_t *ps) {
        (void)a;
        if (!ps)
                return;
        rs_map_foreach(ps->tenants, tenant_free_cb, NULL);
        rs_map_destroy(ps->tenants);
        free(ps);
}

static void on_part_close(void *opaque, rs_stream_part_t *part) {
        agg_t *a = opaque;

        rs_window_foreach(part->win, window_free_cb, a);
        pstate_free(a, part->state);
        part->state = NULL;
}

static const rs_stream_ops_t agg_ops = {
    .part_open  = on_part_open,
    .part_close = on_part_close,
    .message    = on_message,
    .emit       = on_emit,
    .write      = on_write,
    .written    = on_written,
};

/*
 * Construction.
 */
static const char *const views_cols[] = {
    "tenant_id",  "route",  "segment_type", "segment_value", "window_start",
    "window_end", "events", "page_views",   "aggregate_id"};
static const char *const aggs_cols[]    = {"tenant_id",
                                           "route",
                                           "segment_type",
                                           "segment_value",
                                           "window_start",
                                           "metric",
                                           "window_end",
                                           "unit",
                                           "samples",
                                           "weight",
                                           "mean",
                                           "p50",
                                           "p75",
                                           "p95",
                                           "p99",
                                           "good",
                                           "needs_improvement",
                                           "poor",
                                           "sketch"};
static const char *const routes_cols[]  = {"consumer_group", "topic",
                                           "tenant_id", "route", "partition"};
static const char *const customs_cols[] = {"consumer_group", "topic",
                                           "tenant_id", "name", "partition"};

agg_t *agg_new(const agg_conf_t *conf, char *errstr, size_t errstr_size) {
        agg_t        *a = calloc(1, sizeof(*a));
        rs_metrics_t *m;

        if (!a) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        a->conf       = conf;
        a->skbuf_size = 64 * 1024;
        if (!(a->skbuf = malloc(a->skbuf_size)) ||
            !(a->skpool = rs_sketch_pool_new(conf->relative_accuracy))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        if (rs_event_check_schemas(errstr, errstr_size) == -1 ||
            !(a->reg = rs_avro_registry_new(errstr, errstr_size)) ||
            !(a->dec = rs_rum_event_decoder_new(a->reg, errstr, errstr_size)) ||
            !(a->pii = rs_pii_new(NULL, errstr, errstr_size)))
                goto fail;
        /* The big two travel as COPY binary (no formatting of doubles,
         * hex or escapes); the column types are the migrations'. */
        a->b_views  = rs_pg_batch_new_typed("rum_page_views", views_cols,
                                            "ttttzzift", 9, 5);
        a->b_aggs   = rs_pg_batch_new_typed("rum_aggregates", aggs_cols,
                                            "ttttztztifffffffffb", 19, 6);
        a->b_routes = rs_pg_batch_new("tenant_routes", routes_cols, 5, 4);
        a->b_customs =
            rs_pg_batch_new("tenant_custom_timings", customs_cols, 5, 4);
        if (!a->b_views || !a->b_aggs || !a->b_routes || !a->b_customs) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        a->stream = rs_stream_new(PROCESSOR, &conf->stream, &agg_ops, a, errstr,
                                  errstr_size);
        if (!a->stream)
                goto fail;

        m = rs_stream_metrics(a->stream);
        a->c_events =
            rs_metrics_counter(m, "events_aggregated_total",
                               "Page views added to aggregates", NULL);
        a->c_no_consent =
            rs_metrics_counter(m, "events_dropped_total",
                               "Events dropped by policy (not dead-lettered)",
                               "reason=\"no_consent\"");
        a->c_replay_skipped = rs_metrics_counter(
            m, "replay_skipped_total",
            "Replayed events of windows already written", NULL);
        a->c_route_overflow =
            rs_metrics_counter(m, "route_overflow_total",
                               "Events counted under " RS_ROUTE_OVERFLOW
                               " because their tenant reached its route cap",
                               NULL);
        a->c_aggregates = rs_metrics_counter(
            m, "aggregates_emitted_total",
            "RumAggregate records produced and written", NULL);
        a->c_aggregate_bytes = rs_metrics_counter(
            m, "aggregate_bytes_total",
            "Bytes of the RumAggregate records produced (Avro values with "
            "their framing)",
            NULL);
        a->c_clamped = rs_metrics_counter(
            m, "event_time_clamped_total",
            "Events stamped ahead of their Kafka timestamp (client clock), "
            "moved back to it",
            NULL);
        a->g_live_aggs = rs_metrics_gauge(
            m, "open_aggregates",
            "(tenant, route, segment) aggregates in open windows", NULL);
        a->c_custom_invalid = rs_metrics_counter(
            m, "custom_timings_rejected_total",
            "Custom timings left out of an event", "reason=\"invalid\"");
        a->c_custom_overflow = rs_metrics_counter(
            m, "custom_timings_rejected_total",
            "Custom timings left out of an event", "reason=\"over_cap\"");
        return a;

fail:
        agg_destroy(a);
        return NULL;
}

void agg_destroy(agg_t *a) {
        if (!a)
                return;
        /* The stream's last checkpoint still calls back into us. */
        rs_stream_destroy(a->stream);
        rs_pg_batch_destroy(a->b_views);
        rs_pg_batch_destroy(a->b_aggs);
        rs_pg_batch_destroy(a->b_routes);
        rs_pg_batch_destroy(a->b_customs);
        free(a->outbuf);
        rs_rum_event_decoder_destroy(a->dec);
        rs_pii_destroy(a->pii);
        rs_avro_registry_destroy(a->reg);
        rs_sketch_pool_destroy(a->skpool);
        fl_destroy(&a->seg_fl);
        fl_destroy(&a->entry_fl);
        free(a->skbuf);
        free(a);
}

int agg_run(agg_t *a) {
        int ret = rs_stream_run(a->stream);
        /* The stream's counter, found by its name. */
        rs_counter_t *cps = rs_metrics_counter(rs_stream_metrics(a->stream),
                                               "checkpoints_total", NULL, NULL);

        rs_log_info("peak open aggregates: %" PRId64 ", sketch pool: %zu KiB, "
                    "aggregates produced: %" PRIu64
                    ", aggregate bytes: %" PRIu64 ", checkpoints: %" PRIu64,
                    a->peak_aggs, rs_sketch_pool_memory(a->skpool) / 1024,
                    rs_counter_get(a->c_aggregates),
                    rs_counter_get(a->c_aggregate_bytes),
                    cps ? rs_counter_get(cps) : 0);
        return ret;
}

void agg_stop(agg_t *a) {
        rs_stream_stop(a->stream);
}
