/*
 * traffic: deterministic generators of realistic RUM page views and, below,
 * of front-end errors (rs_error_traffic_*) and synthetic (lab) test results
 * (rs_synthetic_traffic_*) on the same sites, for rumctl, the integration
 * tests and the benchmark.
 *
 * What the page views model:
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
 * - Optionally a regression: from regression_from_ms on (event time) and,
 *   if regression_to_ms is set, until just before it, LCP, INP, FCP and
 *   TTFB of one tenant's route are multiplied by regression_factor (the
 *   longer TTFB shows in the request phase).
 *   Nothing else changes: apart from those values the sequence is the one
 *   the same configuration without the regression gives.
 *
 * The generator uses its own PRNG (xoshiro256** seeded by splitmix64): the
 * same configuration gives the same sequence on every run and machine with
 * the same libm.
 */
#ifndef RS_TRAFFIC_H
#define RS_TRAFFIC_H

#include <stddef.h>
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
        /** End of the regression (event time, exclusive): the factor
         *  applies to events in [regression_from_ms, regression_to_ms).
         *  0 (the default): no end. */
        int64_t regression_to_ms;
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
 *          ratio outside [0, 1], factor <= 0, regression_to_ms set but
 *          not after regression_from_ms) or on allocation failure.
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


/*
 * Error traffic: a second, independent generator of front-end errors
 * (schemas/error_event.avsc) for the same sites.
 *
 * What it models:
 * - The same tenants (names, hosts, sample rates, Zipf share of traffic
 *   with the same tenant_skew) and the same routes and concrete URLs as
 *   the page views of the same seed, tenants and routes_per_tenant, from
 *   the same code: error rates per (tenant, route) can be computed against
 *   the page views. When the agent "knows" the route (~60% of events),
 *   route is the normalized URL, i.e. what the processor would derive.
 * - Each tenant has a catalogue of 10-20 recurring bugs drawn from ~30
 *   templates, at least one of each kind; catalogue entry 0 is the most
 *   frequent, popularity is Zipf (s = 1.1). Kinds: js_error (TypeError,
 *   ReferenceError, SyntaxError, RangeError, SecurityError,
 *   QuotaExceededError, ChunkLoadError "Loading chunk 123 failed.",
 *   "Script error.", ResizeObserver noise), unhandled_rejection (with and
 *   without stack, "Non-Error promise rejection captured with value:
 *   ..."), network_error ("Failed to fetch"), http_error (500/502/503/504,
 *   404, 401, 429 on API endpoints such as /api/orders/<id>; error_type is
 *   the status class, "5xx"), slow_request (a 2xx taking seconds, with
 *   duration_ms) and resource_error (images, stylesheets, CSP violations).
 *   Messages carry variable parts: ids, quoted values, URLs, durations.
 * - Stacks: V8 format ("    at fn (url:line:col)") for Chrome, Edge,
 *   Samsung and Opera, Gecko/WebKit format ("fn@url:line:col") for Firefox
 *   and Safari. Frames point into bundles /static/js/<chunk>.<hash>.js
 *   whose hash changes with every release (the vendor bundle's every
 *   fourth), and line and column change with the release too; function
 *   names and messages do not, so a bug is one group across browsers and
 *   releases. Each tenant deploys every 2 hours of event time (its own
 *   phase); ~19% of sessions still run the previous release. release is
 *   "<major>.<minor>.<patch>", absent for tenants that set none (~1 in 5).
 * - Errors belong to sessions with about two errors each, drawn from a
 *   pool of concurrent sessions as for page views, so a group hits many
 *   distinct sessions. A session fixes device, browser, consent (false for
 *   no_consent_ratio) and a logged-in user ("user-<n>", ~30%).
 * - Breadcrumbs (0-8, oldest first): navigation, ui.click, xhr, console.
 * - PII: a pii_ratio fraction of events carries one (or, for a login
 *   request body, two) of the strings rs_error_traffic_pii_strings()
 *   lists, in one place: the page URL's query string (?email=...,
 *   &access_token=...), the request URL's query string, a breadcrumb
 *   ("POST /api/login {"email":"...","password":"..."}", "Authorization:
 *   Bearer eyJ...") or the message of bugs whose message has a value in it
 *   ("No account found for <email>", "Card <number> was declined",
 *   "Non-Error promise rejection captured with value: {...}", "Rate limit
 *   exceeded for <ip>"; a V8 stack repeats the message). Other events
 *   carry none of those strings.
 * - Time as for page views: errors_per_sec of event time, each timestamp
 *   moved back by up to max_disorder_ms.
 * - Optionally a burst: catalogue entry 0 of burst_tenant happens on
 *   burst_route (for the whole run), and within [burst_from_ms,
 *   burst_to_ms) extra occurrences of it arrive (Poisson) at
 *   burst_factor - 1 times its normal rate, so it happens burst_factor
 *   times as often. Their timestamps stay inside the window.
 * - Optionally a new group: from new_group_from_ms on, a bug no tenant's
 *   catalogue has ("promo-banner-null": TypeError "Cannot read properties
 *   of null (reading 'addEventListener')" in initPromoBanner, on route
 *   "/") occurs for new_group_tenant at a tenth of that tenant's error
 *   rate (Poisson), never before new_group_from_ms (disorder included).
 * The burst and the new group are extra events from PRNG streams of their
 * own: the other events are the same sequence as without them (with the
 * same burst_route, which moves catalogue entry 0).
 */
typedef struct rs_error_traffic_conf_s {
        uint64_t seed;              /**< default 1 */
        int      tenants;           /**< default 5 */
        int      routes_per_tenant; /**< default 12 */
        int64_t  start_ms;          /**< event time of the first event */
        /** Event-time rate of the ordinary errors (burst and new group
         *  come on top); default 10. */
        double  errors_per_sec;
        int64_t max_disorder_ms;  /**< default 2000 */
        double  tenant_skew;      /**< default 0.6, as for page views */
        double  no_consent_ratio; /**< default 0.02 */
        double  pii_ratio;        /**< events carrying PII; default 0.2 */
        /** Tenant id with a burst, or NULL for none (copied). */
        const char *burst_tenant;
        /** Normalized route of the burst (copied): one of the route
         *  templates whose URLs normalize to it, e.g. "/checkout" or
         *  "/products/:id", not a slug or category route. */
        const char *burst_route;
        int64_t     burst_from_ms, burst_to_ms; /**< [from, to) */
        double      burst_factor;               /**< >= 1, e.g. 20 */
        /** Tenant id that gets a new bug, or NULL for none (copied). */
        const char *new_group_tenant;
        int64_t     new_group_from_ms;
} rs_error_traffic_conf_t;

typedef struct rs_error_traffic_s rs_error_traffic_t;

/** @brief Fills \p c with the defaults above (seed 1, start_ms
 *         2026-01-01T00:00:00Z, no burst, no new group). */
void rs_error_traffic_conf_defaults(rs_error_traffic_conf_t *c);

/**
 * @brief A generator for \p c (copied, strings too).
 * @returns NULL with errstr set if the configuration is out of range or
 *          names an unknown tenant or route, or on allocation failure.
 *          Caller frees with rs_error_traffic_destroy().
 */
rs_error_traffic_t *rs_error_traffic_new(const rs_error_traffic_conf_t *c,
                                         char *errstr, size_t errstr_size);
void                rs_error_traffic_destroy(rs_error_traffic_t *t);

/**
 * @brief Fills \p ev with the next error, in event-time order before
 *        disorder. Strings point into \p t's buffers or static storage and
 *        are valid until the next call.
 */
void rs_error_traffic_next(rs_error_traffic_t *t, rs_error_event_t *ev);

/** @brief Events generated so far (burst and new group included). */
uint64_t rs_error_traffic_count(const rs_error_traffic_t *t);
/** @brief Event time, before disorder, of the next ordinary event. */
int64_t rs_error_traffic_clock_ms(const rs_error_traffic_t *t);

/* Tenants and routes: those of rs_traffic_new() with the same seed,
 * tenants, routes_per_tenant (and tenant_skew). */
int         rs_error_traffic_tenant_count(const rs_error_traffic_t *t);
const char *rs_error_traffic_tenant(const rs_error_traffic_t *t, int i);
double rs_error_traffic_tenant_sample_rate(const rs_error_traffic_t *t, int i);
int    rs_error_traffic_route_count(const rs_error_traffic_t *t);
const char *rs_error_traffic_route(const rs_error_traffic_t *t, int i);

/** @brief Size of tenant \p tenant's bug catalogue (0 if out of range).*/
int rs_error_traffic_bug_count(const rs_error_traffic_t *t, int tenant);
/**
 * @brief Id of bug \p i of tenant \p tenant's catalogue (0 is the most
 *        frequent, and the burst's), e.g. "cart-price-undefined", or NULL.
 *        One bug is one error group for a tracker: its events share kind,
 *        error type, message apart from its variable parts, function
 *        names and, for requests, method and endpoint. Static storage.
 */
const char *rs_error_traffic_bug(const rs_error_traffic_t *t, int tenant,
                                 int i);

/** @brief Bug id of the last event (see rs_error_traffic_bug()). */
const char *rs_error_traffic_last_bug(const rs_error_traffic_t *t);
/** @brief 1 if the last event was an extra occurrence the burst added (the
 *         bug's ordinary occurrences in the window are not flagged). */
int rs_error_traffic_last_is_burst(const rs_error_traffic_t *t);
/** @brief 1 if the last event was of the new group. */
int rs_error_traffic_last_is_new_group(const rs_error_traffic_t *t);
/** @brief 1 if the last event carries PII strings. */
int rs_error_traffic_last_has_pii(const rs_error_traffic_t *t);

/**
 * @brief Every PII string the error generator can embed (emails, IP
 *        addresses, card numbers that pass the Luhn check, phone numbers,
 *        opaque bearer tokens, JWTs, passwords and API keys), as they
 *        appear in events, so a test can scan outputs for them.
 * @returns their number; *out points to static storage.
 */
size_t rs_error_traffic_pii_strings(const char *const **out);


/*
 * Synthetic traffic: a third, independent generator, of lab test results
 * (schemas/synthetic_result.avsc) for the same sites.
 *
 * What it models:
 * - The tenants, hosts and routes of rs_traffic_new() with the same seed,
 *   tenants and routes_per_tenant, from the same code.
 * - Tests: tenant i (0-based) tests its 3 + i % 3 most popular routes and
 *   "/checkout" when it has that route (the transaction everybody
 *   monitors). A test loads one fixed URL of its route (one product, one
 *   article, one query; no tracking parameters), and its route is that URL
 *   normalized by rs_route_normalize(), as the aggregator derives it.
 *   test_id is "<tenant>-t<NN>", NN the route's index.
 * - Profiles: every tenant tests desktop/cable; even-indexed tenants (0,
 *   2, ...) also an emulated mobile/4g. The odd-indexed tenants' mobile
 *   page views (more than half of their traffic) have no lab counterpart:
 *   the coverage gap.
 * - Locations: 2 (even-indexed tenants) or 3 (odd) agent regions.
 * - Cadence: every check (test x profile x location) runs once per
 *   interval_ms, at a fixed offset inside the interval, so each check has
 *   exactly one run in [start_ms + k * interval_ms, start_ms + (k + 1) *
 *   interval_ms). Results come in event-time order, without disorder.
 * - Values: the page-view model of the route, tenant and device (the same
 *   TTFB, render and largest-element medians, tenant speed and device
 *   CPU), with the network at the (geometric) mean of the page views'
 *   connection and country mix for that device, times 0.9 (a clean lab
 *   agent is a little faster than the field) and with a spread of sigma
 *   0.12-0.15 instead of 0.4-0.6. An agent's region moves TTFB by a few
 *   percent. Lab medians of TTFB, FCP and LCP end up between 0.8 and 1.0
 *   times the field medians of the same tenant, route and device
 *   (test_traffic checks that band). CLS is about the field's non-zero
 *   median / 2, TBT (the lab's stand-in for INP) about 1.5 x the route's
 *   INP median scaled by CPU, load_time = LCP + half the DOM work.
 * - Regression and divergence: regression_* mean what they mean in
 *   rs_traffic_conf_t. Given the page-view generator's values, the lab
 *   sees the same slowdown (TTFB, FCP, LCP, TBT and load_time times the
 *   factor) on the same route from the same time, if it tests that route.
 *   With field_only set it does not: the lab stays flat while the field
 *   regresses (a divergence, as when only real users get a slow
 *   third-party tag or an uncached back end), the case a synthetic-vs-real
 *   correlator must flag. The regression ends at regression_to_ms (if
 *   set) for the lab as for the page views. There is no separate
 *   divergence tenant or route:
 *   the divergence is the page views' regression, so the two generators
 *   cannot disagree about where it is.
 * - Failures: failure_rate of the runs fail at random, with one of a few
 *   errors (timeout, connection reset, DNS, HTTP 503, assertion); a failed
 *   run carries TTFB if the server answered and no other metric.
 *   Optionally every run of failing_tenant's failing_route (a tested route)
 *   fails from failing_from_ms on, with "HTTP 500 Internal Server Error on
 *   the main document".
 * Every run draws the same numbers whatever the regression, field_only and
 * failing route: those change only the values they concern.
 */
typedef struct rs_synthetic_traffic_conf_s {
        uint64_t seed;              /**< default 1 */
        int      tenants;           /**< default 5, at most 10000 */
        int      routes_per_tenant; /**< default 12 */
        int64_t  start_ms; /**< start of the first interval (event time) */
        /** Each check runs once per interval; default 300000 (5 minutes),
         *  at least 1000. */
        int64_t interval_ms;
        double  failure_rate; /**< random failures; default 0.02 */
        /** The page views' regression (copied; NULL: none). */
        const char *regression_tenant;
        const char *regression_route;
        int64_t     regression_from_ms;
        int64_t     regression_to_ms; /**< 0: no end */
        double      regression_factor;
        /** 1: the lab does not see the regression (divergence). */
        int field_only;
        /** Tenant id whose failing_route fails every run from
         *  failing_from_ms on, or NULL for none (copied). */
        const char *failing_tenant;
        /** A route the tenant tests, as a template ("/checkout") or as
         *  the test's normalized route (copied). */
        const char *failing_route;
        int64_t     failing_from_ms;
} rs_synthetic_traffic_conf_t;

typedef struct rs_synthetic_traffic_s rs_synthetic_traffic_t;

/** One check: a test of a route, from one location with one profile. */
typedef struct rs_synthetic_check_s {
        const char *tenant_id;
        const char *test_id;
        const char *route; /**< normalized URL of the test */
        const char *url;
        const char *location;
        const char *device_profile;
        const char *network_profile;
} rs_synthetic_check_t;

/** @brief Fills \p c with the defaults above (seed 1, start_ms
 *         2026-01-01T00:00:00Z, no regression, no failing route). */
void rs_synthetic_traffic_conf_defaults(rs_synthetic_traffic_conf_t *c);

/**
 * @brief A generator for \p c (copied, strings too).
 * @returns NULL with errstr set if the configuration is out of range, or
 *          names a failing tenant or route that is not tested, or on
 *          allocation failure. Caller frees with
 *          rs_synthetic_traffic_destroy().
 */
rs_synthetic_traffic_t *
rs_synthetic_traffic_new(const rs_synthetic_traffic_conf_t *c, char *errstr,
                         size_t errstr_size);
void rs_synthetic_traffic_destroy(rs_synthetic_traffic_t *t);

/**
 * @brief Fills \p r with the next run's result, in event-time order.
 *        Strings point into \p t or static storage and are valid until
 *        the next call (most for \p t's lifetime).
 */
void rs_synthetic_traffic_next(rs_synthetic_traffic_t *t,
                               rs_synthetic_result_t  *r);

/** @brief Results generated so far. */
uint64_t rs_synthetic_traffic_count(const rs_synthetic_traffic_t *t);
/** @brief Event time of the next result. */
int64_t rs_synthetic_traffic_clock_ms(const rs_synthetic_traffic_t *t);

/* Tenants and routes: those of rs_traffic_new() with the same seed,
 * tenants and routes_per_tenant. */
int         rs_synthetic_traffic_tenant_count(const rs_synthetic_traffic_t *t);
const char *rs_synthetic_traffic_tenant(const rs_synthetic_traffic_t *t, int i);
int         rs_synthetic_traffic_route_count(const rs_synthetic_traffic_t *t);
const char *rs_synthetic_traffic_route(const rs_synthetic_traffic_t *t, int i);

/** @brief Checks, each running once per interval (all tenants). */
int rs_synthetic_traffic_check_count(const rs_synthetic_traffic_t *t);
/** @brief Fills \p out with check \p i (strings owned by \p t).
 *  @returns 0, or -1 if i is out of range. */
int rs_synthetic_traffic_check(const rs_synthetic_traffic_t *t, int i,
                               rs_synthetic_check_t *out);

/** @brief 1 if the last result's values were multiplied by the
 *         regression factor. */
int rs_synthetic_traffic_last_regressed(const rs_synthetic_traffic_t *t);
/** @brief 1 if the last result failed because of the failing route (not
 *         a random failure). */
int rs_synthetic_traffic_last_forced_failure(const rs_synthetic_traffic_t *t);

#endif
