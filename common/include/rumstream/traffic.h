/*
 * traffic: a deterministic generator of realistic RUM page views, for
 * rumctl, the integration tests and the benchmark.
 *
 * What it models:
 * - Tenants "acme-shop", "globex-news", "initech-app", "umbrella-travel",
 *   "hooli-search", then "tenant-06", "tenant-07", ...; tenant traffic and
 *   route popularity within a tenant are Zipf-like (a few hot pages, a long
 *   tail). Every tenant has the same catalogue of route templates ("/",
 *   "/products/:id", "/search", "/blog/:slug", "/cart", "/checkout", ...),
 *   the first routes_per_tenant of them, and each event carries a concrete
 *   URL (numeric ids, UUIDs, hex ids, share tokens, article slugs, query
 *   strings, fragments) so route normalization has real work to do. Blog
 *   and help slugs are words and dashes, which normalization keeps: they
 *   give a tenant a bounded but sizeable set of concrete routes.
 * - Page views belong to sessions (about six views each). A session fixes
 *   device (mobile 58% / desktop 37% / tablet 5%), country (weighted: US,
 *   IN, DE, GB, BR, ...), connection (4g/wifi/3g/ethernet/5g/2g, drawn per
 *   device), browser (per device), consent (false for no_consent_ratio of
 *   sessions) and a logged-in user for about 30% of them. Session ids are
 *   pseudonymous hex, user ids "user-<n>".
 * - Each tenant samples at a fixed rate from {1.0, 0.5, 0.25}.
 * - Web Vitals are lognormal around per-route medians, scaled per tenant,
 *   device, connection and country, and built so that TTFB <= FCP <= LCP:
 *   LCP medians ~1.8-3.5 s, FCP ~1.2-2.2 s, TTFB ~300-900 ms; INP (present
 *   for ~60% of views, those with an interaction) ~100-300 ms; CLS is 0 for
 *   about half the views with a tail to ~0.4. The navigation-timing
 *   breakdown is present for ~80%, with dns + connect (which includes tls)
 *   + request = TTFB as in schemas/rum_event.avsc; a few routes carry
 *   custom timings ("api.latency", "search.results", "checkout.payment").
 *   Every value is below rs_metric_default_max().
 * - Event time advances by 1000 / events_per_sec ms per event; each event's
 *   timestamp then moves back by a random 0..max_disorder_ms, as events from
 *   many browsers arrive slightly out of order.
 * - Optionally a regression: from regression_from_ms on (event time), LCP,
 *   INP, FCP and TTFB of one tenant's route are multiplied by
 *   regression_factor (the longer TTFB shows in the request phase).
 *   Nothing else changes: apart from those values the sequence is the one
 *   the same configuration without the regression gives.
 *
 * The generator uses its own PRNG (xoshiro256** seeded by splitmix64): the
 * same configuration gives the same sequence on every run and machine with
 * the same libm.
 */
#ifndef RS_TRAFFIC_H
#define RS_TRAFFIC_H

#include <stdint.h>

#include "rumstream/event.h"

typedef struct rs_traffic_conf_s {
        uint64_t seed;
        int      tenants;      /**< default 5 */
        int routes_per_tenant; /**< route templates per tenant, default 12 */
        int64_t start_ms;      /**< event time of the first event */
        /** Event-time rate: timestamps advance by 1000 / events_per_sec ms
         *  per event. Default 100. */
        double events_per_sec;
        /** Timestamps jitter backwards by up to this; default 2000. */
        int64_t max_disorder_ms;
        double  no_consent_ratio; /**< default 0.02 */
        /** Zipf exponent of tenant popularity; default 0.6 (a few busy
         *  tenants, a long tail), 0 makes every tenant equally busy. */
        double tenant_skew;
        /** Tenant id whose route regresses, or NULL for none (copied). */
        const char *regression_tenant;
        /** Normalized route that regresses, e.g. "/checkout" (copied). */
        const char *regression_route;
        int64_t     regression_from_ms;
        /** e.g. 1.8: LCP/INP/FCP/TTFB multiplied from regression_from_ms. */
        double regression_factor;
} rs_traffic_conf_t;

typedef struct rs_traffic_s rs_traffic_t;

/** @brief Fills \p c with the defaults above (seed 1, start_ms
 *         2026-01-01T00:00:00Z, no regression). */
void rs_traffic_conf_defaults(rs_traffic_conf_t *c);

/**
 * @brief A generator for \p c (copied, strings too).
 * @returns NULL if the configuration is out of range (tenants < 1,
 *          routes_per_tenant < 1, events_per_sec <= 0, negative disorder,
 *          ratio outside [0, 1], factor <= 0) or on allocation failure.
 *          Caller frees with rs_traffic_destroy().
 */
rs_traffic_t *rs_traffic_new(const rs_traffic_conf_t *c);
void          rs_traffic_destroy(rs_traffic_t *t);

/**
 * @brief Fills \p ev with the next page view. Strings point into \p t's
 *        buffers or static storage and are valid until the next call.
 */
void rs_traffic_next(rs_traffic_t *t, rs_rum_event_t *ev);

/** @brief Events generated so far. */
uint64_t rs_traffic_count(const rs_traffic_t *t);

/** @brief Event time, before disorder, of the next event. */
int64_t rs_traffic_clock_ms(const rs_traffic_t *t);

int rs_traffic_tenant_count(const rs_traffic_t *t);
/** @brief Tenant id \p i (0 <= i < tenant count), owned by \p t, or NULL. */
const char *rs_traffic_tenant(const rs_traffic_t *t, int i);
/** @brief Sample rate of tenant \p i (NAN if out of range). */
double rs_traffic_tenant_sample_rate(const rs_traffic_t *t, int i);

int rs_traffic_route_count(const rs_traffic_t *t);
/**
 * @brief Route template \p i (0 <= i < route count) in normalized form,
 *        e.g. "/products/:id", or NULL. For slug routes ("/blog/:slug") the
 *        normalized routes of the events are the concrete slugs. Static or
 *        owned by \p t.
 */
const char *rs_traffic_route(const rs_traffic_t *t, int i);

/** @brief 1 if the last event returned was one the regression applied to. */
int rs_traffic_last_regressed(const rs_traffic_t *t);

#endif
