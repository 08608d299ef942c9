/*
 * traffic: deterministic synthetic RUM page views and front-end errors.
 * See rumstream/traffic.h for what is modelled. Both generators build
 * their tenants, routes and URLs with the same code (site_t, build_url())
 * so that errors can be set against page views; the error generator is
 * at the end of this file.
 *
 * Sessions live in a small pool of slots; each event picks a slot, and a
 * slot whose session has run out of page views starts a new one. That keeps
 * device, country, connection, consent and user fixed within a session and
 * interleaves many sessions and tenants in the stream, as a real collector
 * sees them.
 *
 * Vitals are built from parts so they stay consistent with each other:
 *   TTFB = network + server time          (route x tenant x connection x
 *                                            country)
 *   FCP  = TTFB + render                   (route x tenant x device x
 *                                            sqrt(connection))
 *   LCP  = FCP + largest element (0 for ~15%: the first paint was the
 *          largest)
 * each part lognormal, so medians scale by the multipliers while the tails
 * stay long, as real distributions do.
 */
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/route.h"
#include "rumstream/traffic.h"

#define SESSION_SLOTS 64
#define URL_MAX       512

/* 2026-01-01T00:00:00Z */
#define DEFAULT_START_MS 1767225600000LL

/*
 * Weighted tables.
 */
typedef struct weighted_s {
        const char *name;
        double      weight;
} weighted_t;

enum { DEV_MOBILE, DEV_DESKTOP, DEV_TABLET, DEV_CNT };

static const weighted_t devices[DEV_CNT] = {
    {"mobile", 58}, {"desktop", 37}, {"tablet", 5}};
/* CPU / rendering speed relative to an average device. */
static const double device_cpu[DEV_CNT] = {1.3, 0.8, 1.05};

enum { CONN_4G, CONN_WIFI, CONN_3G, CONN_ETHERNET, CONN_5G, CONN_2G, CONN_CNT };

static const char *const conn_names[CONN_CNT] = {"4g",       "wifi", "3g",
                                                 "ethernet", "5g",   "2g"};
/* Network latency / bandwidth penalty. */
static const double conn_net[CONN_CNT] = {1.0, 0.9, 1.9, 0.75, 0.85, 3.5};
/* Connection share per device: phones are mostly on cellular, desktops on
 * wired or wifi. */
static const double conn_by_device[DEV_CNT][CONN_CNT] = {
    /* 4g  wifi  3g  eth  5g   2g */
    {50, 25, 9, 0, 13, 3}, /* mobile */
    {6, 55, 1, 35, 3, 0},  /* desktop */
    {20, 70, 4, 0, 5, 1},  /* tablet */
};

#define COUNTRY_CNT 20
static const weighted_t countries[COUNTRY_CNT] = {
    {"US", 28}, {"IN", 12}, {"DE", 7}, {"GB", 7}, {"BR", 6},
    {"FR", 5},  {"JP", 5},  {"CA", 4}, {"AU", 3}, {"NL", 3},
    {"ES", 3},  {"IT", 3},  {"MX", 3}, {"PL", 2}, {"SE", 2},
    {"KR", 2},  {"ID", 2},  {"ZA", 1}, {"NG", 1}, {"SG", 1}};
/* Distance to the (US/EU hosted) origins and last-mile quality. */
static const double country_net[COUNTRY_CNT] = {
    1.0, 1.35, 0.95, 0.95, 1.3, 0.95, 1.05, 1.0,  1.25, 0.9,
    1.0, 1.0,  1.2,  1.05, 0.9, 0.95, 1.4,  1.35, 1.6,  1.0};

#define BROWSER_CNT 6
static const char *const browser_names[BROWSER_CNT] = {
    "chrome", "safari", "edge", "firefox", "samsung", "opera"};
static const double browser_by_device[DEV_CNT][BROWSER_CNT] = {
    /* Chrome Safari Edge Firefox Samsung Opera */
    {55, 33, 0.5, 1.5, 8, 2}, /* mobile */
    {63, 12, 13, 10, 0, 2},   /* desktop */
    {35, 58, 1, 1, 5, 0},     /* tablet */
};

#define NAV_CNT 5
/* As the schema names them; "restore" is a back/forward-cache restore. */
static const char *const nav_names[NAV_CNT] = {
    "navigate", "reload", "back_forward", "restore", "prerender"};
static const double nav_first[NAV_CNT] = {92, 3, 0, 0, 5};
static const double nav_later[NAV_CNT] = {74, 8, 12, 4, 2};

static const char *const utm_sources[] = {"mail", "newsletter", "google",
                                          "twitter", "partner"};
static const char *const fragments[]   = {"top", "main", "details", "faq"};
static const char *const categories[]  = {"shoes",   "jackets", "electronics",
                                          "kitchen", "garden",  "toys",
                                          "books",   "outdoor"};
/* Words for article slugs and search queries: letters only, so slugs keep
 * their words through route normalization (dashes are no hex digit). */
static const char *const words[] = {
    "how",      "to",        "choose",       "the",      "best",
    "running",  "shoes",     "for",          "winter",   "guide",
    "why",      "our",       "new",          "checkout", "is",
    "faster",   "ten",       "tips",         "travel",   "light",
    "what",     "we",        "learned",      "from",     "moving",
    "cloud",    "recipes",   "summer",       "garden",   "ideas",
    "a",        "beginners", "introduction", "web",      "performance",
    "release",  "notes",     "spring",       "sale",     "behind",
    "scenes",   "customer",  "stories",      "hiking",   "budget",
    "planning", "family",    "weekend"};

#define ARRAY_CNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Route catalogue, most popular first. Medians in ms before the tenant,
 * device, connection and country multipliers.
 */
typedef enum {
        K_STATIC,   /* the path is the name */
        K_ID,       /* prefix/<number>suffix */
        K_UUID,     /* prefix/<uuid> */
        K_HEX,      /* prefix/<24 hex digits> */
        K_TOKEN,    /* prefix/<22 char share token> */
        K_SLUG,     /* prefix/<words-with-dashes> */
        K_CATEGORY, /* prefix/<category name> */
        K_SEARCH,   /* path with a ?q= query */
        K_EXTRA,    /* a generated landing page beyond the catalogue */
} route_kind_t;

#define CT_API      0x1 /* "api.latency" */
#define CT_SEARCH   0x2 /* "search.results" */
#define CT_CHECKOUT 0x4 /* "checkout.payment" */

typedef struct route_tpl_s {
        const char  *name; /* normalized template */
        route_kind_t kind;
        const char  *prefix;  /* path before the variable segment */
        const char  *suffix;  /* path after it */
        int          slugs;   /* distinct slugs / categories / uuids */
        double       ttfb;    /* server + network */
        double       render;  /* TTFB -> FCP */
        double       largest; /* FCP -> LCP */
        double       inp;
        double       cls;    /* median of the non-zero CLS values */
        int          custom; /* CT_* */
} route_tpl_t;

static const route_tpl_t catalogue[] = {
    {"/", K_STATIC, "/", "", 0, 330, 820, 550, 110, 0.05, 0},
    {"/products/:id", K_ID, "/products/", "", 0, 520, 900, 900, 160, 0.08,
     CT_API},
    {"/search", K_SEARCH, "/search", "", 0, 610, 780, 650, 190, 0.04,
     CT_API | CT_SEARCH},
    {"/blog/:slug", K_SLUG, "/blog/", "", 40, 280, 850, 800, 95, 0.10, 0},
    {"/cart", K_STATIC, "/cart", "", 0, 450, 760, 500, 170, 0.03, CT_API},
    {"/checkout", K_STATIC, "/checkout", "", 0, 640, 880, 620, 230, 0.03,
     CT_API | CT_CHECKOUT},
    {"/products/:id/reviews", K_ID, "/products/", "/reviews", 0, 480, 900, 1000,
     140, 0.12, CT_API},
    {"/account/orders/:id", K_ID, "/account/orders/", "", 0, 700, 950, 600, 150,
     0.03, CT_API},
    {"/api-docs/:uuid", K_UUID, "/api-docs/", "", 64, 300, 1100, 700, 120, 0.06,
     0},
    {"/login", K_STATIC, "/login", "", 0, 310, 700, 350, 130, 0.02, 0},
    {"/share/:token", K_TOKEN, "/share/", "", 0, 420, 800, 900, 110, 0.07, 0},
    {"/category/:name", K_CATEGORY, "/category/", "", 8, 560, 900, 1100, 150,
     0.09, CT_API},
    {"/account", K_STATIC, "/account", "", 0, 600, 820, 450, 140, 0.02, CT_API},
    {"/help/:slug", K_SLUG, "/help/", "", 15, 290, 760, 500, 90, 0.03, 0},
    {"/invoices/:hex", K_HEX, "/invoices/", "", 0, 760, 900, 700, 160, 0.02,
     CT_API},
    {"/pricing", K_STATIC, "/pricing", "", 0, 300, 740, 600, 100, 0.05, 0},
    {"/about", K_STATIC, "/about", "", 0, 280, 720, 650, 90, 0.04, 0},
};

static const route_tpl_t extra_tpl = {NULL, K_EXTRA, "/landing/", "",   0, 350,
                                      800,  700,     110,         0.06, 0};

#define CATALOGUE_CNT ((int)ARRAY_CNT(catalogue))

static const char *const known_tenants[] = {"acme-shop", "globex-news",
                                            "initech-app", "umbrella-travel",
                                            "hooli-search"};
static const char *const known_hosts[]   = {
      "shop.acme.example", "news.globex.example", "app.initech.example",
      "travel.umbrella.example", "search.hooli.example"};
/* Sampling by tenant index, cycling. */
static const double sample_rates[] = {1.0, 0.5, 1.0, 0.25};

typedef struct tenant_s {
        char   name[32];
        char   host[64];
        double sample_rate;
        double speed; /* how fast this tenant's site is overall */
} tenant_t;

typedef struct route_s {
        const route_tpl_t *tpl;
        char name[48]; /* normalized template, or the extra page's path */
} route_t;

typedef struct session_s {
        int  remaining; /* page views left; 0: slot free */
        int  views;
        int  tenant;
        int  device, country, conn, browser;
        int  consent;
        long user; /* -1: anonymous */
        char id[33];
        char user_id[24];
} session_t;

/* xoshiro256** state */
typedef struct rng_s {
        uint64_t s[4];
} rng_t;

/* The tenants and routes traffic comes from. Page views and errors build
 * theirs with the same code from the same seed and counts, so that both
 * streams name the same tenants, hosts, routes and URLs. */
typedef struct site_s {
        uint64_t  seed;
        tenant_t *tenants;
        int       tenant_cnt;
        double   *tenant_cdf;
        route_t  *routes;
        double   *route_cdf;
        int       route_cnt;
} site_t;

/* A bounded string being appended to. */
typedef struct strbuf_s {
        char  *p;
        size_t size, len;
} strbuf_t;

struct rs_traffic_s {
        rs_traffic_conf_t conf;
        char             *regression_tenant;
        char             *regression_route;

        rng_t    rng;
        uint64_t n; /* events generated */
        double   step_ms;

        site_t site;

        session_t sessions[SESSION_SLOTS];
        int       last_regressed;

        char event_id[37];
        char url[URL_MAX];
};

/*
 * PRNG: splitmix64 expands the seed, xoshiro256** generates (Blackman &
 * Vigna). Both are tiny, fast and give identical streams everywhere.
 */
static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) {
        return (x << k) | (x >> (64 - k));
}

static void rng_seed(rng_t *r, uint64_t seed) {
        int i;

        for (i = 0; i < 4; i++)
                r->s[i] = splitmix64(&seed);
}

static uint64_t next_u64(rng_t *r) {
        uint64_t *s      = r->s;
        uint64_t  result = rotl(s[1] * 5, 7) * 9;
        uint64_t  tmp    = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= tmp;
        s[3] = rotl(s[3], 45);
        return result;
}

/* Uniform in [0, 1). */
static double uniform(rng_t *r) {
        return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). The modulo bias is far below what matters
 * here. */
static long below(rng_t *r, long n) {
        return (long)(next_u64(r) % (uint64_t)n);
}

static int chance(rng_t *r, double p) {
        return uniform(r) < p;
}

/* Standard normal (Box-Muller; one of the pair is enough). */
static double normal(rng_t *r) {
        double u1 = 1.0 - uniform(r); /* (0, 1]: log() stays finite */
        double u2 = uniform(r);

        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double lognormal(rng_t *r, double median, double sigma) {
        return median * exp(sigma * normal(r));
}

static int pick(rng_t *r, const double *weights, int cnt) {
        double total = 0, x;
        int    i;

        for (i = 0; i < cnt; i++)
                total += weights[i];
        x = uniform(r) * total;
        for (i = 0; i < cnt - 1; i++) {
                if (x < weights[i])
                        return i;
                x -= weights[i];
        }
        return cnt - 1;
}

static int pick_weighted(rng_t *r, const weighted_t *tab, int cnt) {
        double w[COUNTRY_CNT];
        int    i;

        for (i = 0; i < cnt && i < COUNTRY_CNT; i++)
                w[i] = tab[i].weight;
        return pick(r, w, i);
}

/* Index into a cumulative distribution (last entry 1). */
static int pick_cdf(rng_t *r, const double *cdf, int cnt) {
        double x  = uniform(r);
        int    lo = 0, hi = cnt - 1;

        while (lo < hi) {
                int mid = (lo + hi) / 2;

                if (x < cdf[mid])
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return lo;
}

/* A skewed index in [0, n): low indices (the popular slugs, products)
 * much more often. */
static long skewed(rng_t *r, long n, double power) {
        long i = (long)(pow(uniform(r), power) * (double)n);

        return i < n ? i : n - 1;
}

static double *zipf_cdf(int n, double s) {
        double *cdf   = malloc(sizeof(*cdf) * (size_t)n);
        double  total = 0;
        int     i;

        if (!cdf)
                return NULL;
        for (i = 0; i < n; i++) {
                total += 1.0 / pow(i + 1, s);
                cdf[i] = total;
        }
        for (i = 0; i < n; i++)
                cdf[i] /= total;
        cdf[n - 1] = 1.0;
        return cdf;
}

static void hex_fill(rng_t *r, char *out, int digits) {
        static const char hex[] = "0123456789abcdef";
        uint64_t          x     = 0;
        int               i;

        for (i = 0; i < digits; i++) {
                if (i % 16 == 0)
                        x = next_u64(r);
                out[i] = hex[x & 0xf];
                x >>= 4;
        }
        out[digits] = '\0';
}

/* A UUID string derived from \p x only, so a fixed set of documents keeps
 * the same ids whatever else the generator does. */
static void uuid_from(uint64_t x, char out[37]) {
        uint64_t hi = splitmix64(&x), lo = splitmix64(&x);

        hi = (hi & ~0xf000ULL) | 0x4000ULL; /* version 4 */
        lo = (lo & ~(3ULL << 62)) | (2ULL << 62);
        snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32),
                 (unsigned)((hi >> 16) & 0xffff), (unsigned)(hi & 0xffff),
                 (unsigned)(lo >> 48),
                 (unsigned long long)(lo & 0xffffffffffffULL));
}

/* Words of slug \p k of a route, derived from a hash so every tenant has its
 * own set of articles. */
static size_t slug_from(uint64_t x, char *out, size_t size) {
        size_t o = 0, prev = SIZE_MAX;
        int    nwords = 3 + (int)(splitmix64(&x) % 4), i;

        out[0] = '\0';
        for (i = 0; i < nwords; i++) {
                size_t w = splitmix64(&x) % ARRAY_CNT(words);
                int    n;

                if (w == prev) /* no "why-why" */
                        w = (w + 1) % ARRAY_CNT(words);
                prev = w;
                n = snprintf(out + o, size - o, "%s%s", i ? "-" : "", words[w]);

                if (n < 0 || (size_t)n >= size - o)
                        break;
                o += (size_t)n;
        }
        return o;
}

static int site_init(site_t *site, uint64_t seed, int tenants, int routes,
                     double tenant_skew) {
        int i;

        site->seed       = seed;
        site->tenant_cnt = tenants;
        site->tenants    = calloc((size_t)tenants, sizeof(*site->tenants));
        site->tenant_cdf = zipf_cdf(tenants, tenant_skew);
        site->route_cnt  = routes;
        site->routes     = calloc((size_t)routes, sizeof(*site->routes));
        site->route_cdf  = zipf_cdf(routes, 1.0);
        if (!site->tenants || !site->tenant_cdf || !site->routes ||
            !site->route_cdf)
                return -1;

        for (i = 0; i < tenants; i++) {
                tenant_t *tn = &site->tenants[i];
                uint64_t  h  = seed ^ (0x74656e61ULL * (uint64_t)(i + 1));

                if (i < (int)ARRAY_CNT(known_tenants)) {
                        snprintf(tn->name, sizeof(tn->name), "%s",
                                 known_tenants[i]);
                        snprintf(tn->host, sizeof(tn->host), "%s",
                                 known_hosts[i]);
                } else {
                        snprintf(tn->name, sizeof(tn->name), "tenant-%02d",
                                 i + 1);
                        snprintf(tn->host, sizeof(tn->host),
                                 "www.tenant-%02d.example", i + 1);
                }
                tn->sample_rate =
                    sample_rates[(size_t)i % ARRAY_CNT(sample_rates)];
                /* 0.8 .. 1.3: some sites are simply faster than others. */
                tn->speed =
                    0.8 + 0.5 * (double)(splitmix64(&h) >> 11) * 0x1.0p-53;
        }

        for (i = 0; i < routes; i++) {
                route_t *r = &site->routes[i];

                if (i < CATALOGUE_CNT) {
                        r->tpl = &catalogue[i];
                        snprintf(r->name, sizeof(r->name), "%s",
                                 catalogue[i].name);
                } else {
                        r->tpl = &extra_tpl;
                        snprintf(r->name, sizeof(r->name), "/landing/offer-%d",
                                 i - CATALOGUE_CNT + 1);
                }
        }
        return 0;
}

static void site_free(site_t *site) {
        free(site->tenants);
        free(site->tenant_cdf);
        free(site->routes);
        free(site->route_cdf);
}

void rs_traffic_conf_defaults(rs_traffic_conf_t *c) {
        memset(c, 0, sizeof(*c));
        c->seed               = 1;
        c->tenants            = 5;
        c->routes_per_tenant  = 12;
        c->start_ms           = DEFAULT_START_MS;
        c->events_per_sec     = 100;
        c->max_disorder_ms    = 2000;
        c->no_consent_ratio   = 0.02;
        c->tenant_skew        = 0.6;
        c->regression_from_ms = INT64_MAX;
        c->regression_factor  = 1.0;
}

rs_traffic_t *rs_traffic_new(const rs_traffic_conf_t *c) {
        rs_traffic_t *t = NULL;

        if (!c || c->tenants < 1 || c->tenants > 100000 ||
            c->routes_per_tenant < 1 || c->routes_per_tenant > 10000 ||
            !(c->events_per_sec > 0) || !isfinite(c->events_per_sec) ||
            c->max_disorder_ms < 0 || !(c->no_consent_ratio >= 0) ||
            c->no_consent_ratio > 1 || !(c->regression_factor > 0) ||
            !(c->tenant_skew >= 0 && c->tenant_skew <= 10) ||
            !isfinite(c->regression_factor) ||
            (c->regression_to_ms != 0 &&
             c->regression_to_ms <= c->regression_from_ms))
                return NULL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->conf = *c;
        if ((c->regression_tenant &&
             !(t->regression_tenant = strdup(c->regression_tenant))) ||
            (c->regression_route &&
             !(t->regression_route = strdup(c->regression_route))))
                goto fail;
        t->conf.regression_tenant = t->regression_tenant;
        t->conf.regression_route  = t->regression_route;
        t->step_ms                = 1000.0 / c->events_per_sec;

        rng_seed(&t->rng, c->seed);

        if (site_init(&t->site, c->seed, c->tenants, c->routes_per_tenant,
                      c->tenant_skew) == -1)
                goto fail;
        return t;

fail:
        rs_traffic_destroy(t);
        return NULL;
}

void rs_traffic_destroy(rs_traffic_t *t) {
        if (!t)
                return;
        site_free(&t->site);
        free(t->regression_tenant);
        free(t->regression_route);
        free(t);
}

static void session_start(rng_t *rng, const site_t *site,
                          double no_consent_ratio, session_t *s) {
        double conn_w[CONN_CNT], browser_w[BROWSER_CNT];
        int    i;

        s->tenant  = pick_cdf(rng, site->tenant_cdf, site->tenant_cnt);
        s->device  = pick_weighted(rng, devices, DEV_CNT);
        s->country = pick_weighted(rng, countries, COUNTRY_CNT);
        for (i = 0; i < CONN_CNT; i++)
                conn_w[i] = conn_by_device[s->device][i];
        s->conn = pick(rng, conn_w, CONN_CNT);
        for (i = 0; i < BROWSER_CNT; i++)
                browser_w[i] = browser_by_device[s->device][i];
        s->browser = pick(rng, browser_w, BROWSER_CNT);
        s->consent = !chance(rng, no_consent_ratio);
        s->user    = chance(rng, 0.3) ? 1 + skewed(rng, 50000, 2.0) : -1;
        if (s->user >= 0)
                snprintf(s->user_id, sizeof(s->user_id), "user-%ld", s->user);
        hex_fill(rng, s->id, 32);
        /* 1 + geometric: about six page views per session. */
        s->remaining = 1;
        while (s->remaining < 100 && chance(rng, 5.0 / 6.0))
                s->remaining++;
        s->views = 0;
}

static void sb_init(strbuf_t *sb, char *p, size_t size) {
        sb->p    = p;
        sb->size = size;
        sb->len  = 0;
        p[0]     = '\0';
}

/* Appends printf output, never past the end: what does not fit is cut. */
static void sb_add(strbuf_t *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(strbuf_t *sb, const char *fmt, ...) {
        va_list ap;
        int     n;

        if (sb->len >= sb->size - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(sb->p + sb->len, sb->size - sb->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                sb->len += (size_t)n < sb->size - sb->len
                               ? (size_t)n
                               : sb->size - sb->len - 1;
}

/* A concrete URL of route \p route_idx of tenant \p tenant_idx. */
static void build_url(rng_t *rng, const site_t *site, int tenant_idx,
                      int route_idx, strbuf_t *url) {
        const tenant_t    *tn  = &site->tenants[tenant_idx];
        const route_t     *r   = &site->routes[route_idx];
        const route_tpl_t *tpl = r->tpl;
        strbuf_t          *sb  = url;
        char               buf[128];
        uint64_t           h;

        sb_add(sb, "https://%s", tn->host);
        switch (tpl->kind) {
        case K_STATIC:
        case K_EXTRA:
                sb_add(sb, "%s", tpl->kind == K_EXTRA ? r->name : tpl->prefix);
                /* Some links carry a trailing slash; normalization must
                 * not make it another route. */
                if (strcmp(tpl->prefix, "/") && chance(rng, 0.04))
                        sb_add(sb, "/");
                break;
        case K_ID:
                if (!strcmp(tpl->prefix, "/products/"))
                        sb_add(sb, "%s%ld%s", tpl->prefix,
                               10000 + skewed(rng, 90000, 2.5), tpl->suffix);
                else
                        sb_add(sb, "%s%ld%s", tpl->prefix,
                               3000000 + below(rng, 6000000), tpl->suffix);
                break;
        case K_UUID:
                uuid_from(site->seed ^ ((uint64_t)tenant_idx << 32) ^
                              (uint64_t)skewed(rng, tpl->slugs, 2.0),
                          buf);
                sb_add(sb, "%s%s", tpl->prefix, buf);
                break;
        case K_HEX:
                /* Object ids: ensure a letter so it is never all digits. */
                hex_fill(rng, buf, 24);
                buf[0] = "abcdef"[below(rng, 6)];
                sb_add(sb, "%s%s", tpl->prefix, buf);
                break;
        case K_TOKEN: {
                static const char b62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789";
                int               i;

                for (i = 0; i < 22; i++)
                        buf[i] = b62[below(rng, 62)];
                /* Mixed letters and digits, and not all hex. */
                buf[3] = "0123456789"[below(rng, 10)];
                buf[11] =
                    "ghijkmnpqrstuvwxyzGHJKLMNPQRSTUVWXYZ"[below(rng, 36)];
                buf[22] = '\0';
                sb_add(sb, "%s%s", tpl->prefix, buf);
                break;
        }
        case K_SLUG:
                h = site->seed * 31 + ((uint64_t)tenant_idx << 40) +
                    ((uint64_t)route_idx << 20) +
                    (uint64_t)skewed(rng, tpl->slugs, 3.0);
                slug_from(h, buf, sizeof(buf));
                sb_add(sb, "%s%s", tpl->prefix, buf);
                break;
        case K_CATEGORY:
                sb_add(
                    sb, "%s%s", tpl->prefix,
                    categories[skewed(rng, (long)ARRAY_CNT(categories), 1.5)]);
                break;
        case K_SEARCH: {
                int nw = 1 + (int)below(rng, 3), i;

                sb_add(sb, "%s?q=", tpl->prefix);
                for (i = 0; i < nw; i++)
                        sb_add(sb, "%s%s", i ? "+" : "",
                               words[below(rng, (long)ARRAY_CNT(words))]);
                if (chance(rng, 0.2))
                        sb_add(sb, "&page=%ld", 2 + below(rng, 5));
                break;
        }
        }

        if (tpl->kind != K_SEARCH && chance(rng, 0.15))
                sb_add(sb, "?utm_source=%s&utm_medium=%s",
                       utm_sources[below(rng, (long)ARRAY_CNT(utm_sources))],
                       chance(rng, 0.5) ? "email" : "social");
        if (chance(rng, 0.06))
                sb_add(sb, "#%s",
                       tpl->kind == K_ID && !strcmp(tpl->suffix, "")
                           ? "reviews"
                           : fragments[below(rng, (long)ARRAY_CNT(fragments))]);
}

static double clampd(double v, double lo, double hi) {
        return v < lo ? lo : v > hi ? hi : v;
}

/* Browsers report timings with 0.1 ms resolution. */
static double ms(double v) {
        return round(v * 10.0) / 10.0;
}

static int is_regressed(rs_traffic_t *t, const tenant_t *tn, const route_t *r,
                        int64_t ts) {
        char route[RS_ROUTE_MAX];

        if (!t->regression_tenant || !t->regression_route ||
            ts < t->conf.regression_from_ms ||
            (t->conf.regression_to_ms != 0 && ts >= t->conf.regression_to_ms) ||
            strcmp(tn->name, t->regression_tenant))
                return 0;
        if (!strcmp(r->name, t->regression_route))
                return 1;
        /* Slug and category routes: the concrete normalized route. */
        rs_route_normalize(t->url, strlen(t->url), route);
        return !strcmp(route, t->regression_route);
}

static void add_custom(rs_rum_event_t *ev, const char *name, double v) {
        if (ev->custom_cnt < RS_EVENT_MAX_CUSTOM_TIMINGS) {
                ev->custom[ev->custom_cnt].name  = name;
                ev->custom[ev->custom_cnt].value = v;
                ev->custom_cnt++;
        }
}

void rs_traffic_next(rs_traffic_t *t, rs_rum_event_t *ev) {
        session_t         *s = &t->sessions[below(&t->rng, SESSION_SLOTS)];
        const tenant_t    *tn;
        const route_t     *r;
        const route_tpl_t *tpl;
        strbuf_t           url;
        double             base, net, cpu, f, ttfb, fcp, lcp, inp, cls;
        int                route_idx, i;
        int64_t            ts;

        if (s->remaining == 0)
                session_start(&t->rng, &t->site, t->conf.no_consent_ratio, s);
        tn        = &t->site.tenants[s->tenant];
        route_idx = pick_cdf(&t->rng, t->site.route_cdf, t->site.route_cnt);
        /* Sessions enter through the home page or a landing link more
         * often than through the checkout. */
        if (s->views == 0 && route_idx >= 4 && chance(&t->rng, 0.5))
                route_idx = (int)below(&t->rng, 4);
        r   = &t->site.routes[route_idx];
        tpl = r->tpl;

        memset(ev, 0, sizeof(*ev));
        for (i = 0; i < RS_METRIC_CNT; i++)
                ev->metrics[i] = NAN;

        base = (double)t->conf.start_ms + (double)t->n * t->step_ms;
        ts   = (int64_t)floor(base);
        if (t->conf.max_disorder_ms > 0)
                ts -=
                    (int64_t)below(&t->rng, (long)t->conf.max_disorder_ms + 1);
        t->n++;

        uuid_from(t->conf.seed ^ (t->n * 0x9e3779b97f4a7c15ULL), t->event_id);
        sb_init(&url, t->url, sizeof(t->url));
        build_url(&t->rng, &t->site, s->tenant, route_idx, &url);

        ev->event_id        = t->event_id;
        ev->tenant_id       = tn->name;
        ev->session_id      = s->id;
        ev->user_id         = s->user >= 0 ? s->user_id : NULL;
        ev->timestamp_ms    = ts;
        ev->url             = t->url;
        ev->navigation_type = nav_names[pick(
            &t->rng, s->views == 0 ? nav_first : nav_later, NAV_CNT)];
        ev->device_type     = devices[s->device].name;
        ev->country         = countries[s->country].name;
        ev->connection_type = conn_names[s->conn];
        ev->browser         = browser_names[s->browser];
        ev->consent         = s->consent;
        ev->sample_rate     = tn->sample_rate;

        net = conn_net[s->conn] * country_net[s->country];
        cpu = device_cpu[s->device];
        f   = tn->speed;

        ttfb = lognormal(&t->rng, tpl->ttfb * f * net, 0.45);
        fcp = ttfb + lognormal(&t->rng, tpl->render * f * cpu * sqrt(net), 0.4);
        lcp = fcp;
        if (!chance(&t->rng, 0.15))
                lcp +=
                    lognormal(&t->rng, tpl->largest * f * cpu * sqrt(net), 0.6);
        inp = chance(&t->rng, 0.6) ? lognormal(&t->rng, tpl->inp * cpu, 0.55)
                                   : NAN;
        cls = chance(&t->rng, 0.45) ? 0.0 : lognormal(&t->rng, tpl->cls, 0.8);

        t->last_regressed = is_regressed(t, tn, r, ts);
        if (t->last_regressed) {
                double k = t->conf.regression_factor;

                ttfb *= k;
                fcp *= k;
                lcp *= k;
                inp *= k;
        }

        /* Cap far below rs_metric_default_max(): a real page view that took
         * longer was abandoned and never reported. */
        ttfb                        = ms(clampd(ttfb, 15, 30000));
        fcp                         = ms(clampd(fcp, ttfb + 10, 60000));
        lcp                         = ms(clampd(lcp, fcp, 90000));
        ev->metrics[RS_METRIC_TTFB] = ttfb;
        ev->metrics[RS_METRIC_FCP]  = fcp;
        ev->metrics[RS_METRIC_LCP]  = lcp;
        if (!isnan(inp))
                ev->metrics[RS_METRIC_INP] = ms(clampd(inp, 8, 30000));
        ev->metrics[RS_METRIC_CLS] = round(clampd(cls, 0, 1.0) * 1e4) / 1e4;

        /* Navigation timing (schemas/rum_event.avsc): connect includes the
         * TLS handshake, request runs to the first response byte, so
         * dns + connect + request is TTFB; load is the load event's own
         * handling time, not the time to it. */
        if (chance(&t->rng, 0.8)) {
                double dns = 0, tcp = 0, tls = 0, pre, conn, resp, dom;

                if (!chance(&t->rng, 0.45)) /* else cached */
                        dns = lognormal(&t->rng, 25 * country_net[s->country],
                                        0.7);
                if (!chance(&t->rng, 0.4)) { /* else a reused connection */
                        tcp = lognormal(&t->rng, 45 * net, 0.5);
                        tls = lognormal(&t->rng, 35 * net, 0.5);
                }
                /* The breakdown must fit inside TTFB: the request phase is
                 * what is left of it. */
                pre = dns + tcp + tls;
                if (pre > 0.8 * ttfb) {
                        double k = 0.8 * ttfb / pre;

                        dns *= k;
                        tcp *= k;
                        tls *= k;
                }
                dns  = ms(dns);
                tls  = ms(tls);
                conn = ms(tcp) + tls;
                resp = ms(clampd(
                    lognormal(&t->rng, 40 * conn_net[s->conn], 0.6), 1, 20000));
                dom  = ms(
                     clampd(lognormal(&t->rng, 500 * f * cpu, 0.5), 5, 30000));
                ev->metrics[RS_METRIC_NAV_DNS]     = dns;
                ev->metrics[RS_METRIC_NAV_CONNECT] = conn;
                ev->metrics[RS_METRIC_NAV_TLS]     = tls;
                ev->metrics[RS_METRIC_NAV_REQUEST] =
                    ms(fmax(ttfb - dns - conn, 0));
                ev->metrics[RS_METRIC_NAV_RESPONSE] = resp;
                ev->metrics[RS_METRIC_NAV_DOM]      = dom;
                ev->metrics[RS_METRIC_NAV_LOAD] =
                    ms(clampd(lognormal(&t->rng, 12 * cpu, 0.9), 0, 10000));
        }

        if ((tpl->custom & CT_API) && chance(&t->rng, 0.7))
                add_custom(
                    ev, "api.latency",
                    ms(clampd(lognormal(&t->rng, 180 * f, 0.5), 1, 60000)));
        if ((tpl->custom & CT_SEARCH) && chance(&t->rng, 0.9))
                add_custom(
                    ev, "search.results",
                    ms(clampd(lognormal(&t->rng, 350 * f, 0.5), 1, 60000)));
        if ((tpl->custom & CT_CHECKOUT) && chance(&t->rng, 0.5))
                add_custom(ev, "checkout.payment",
                           ms(clampd(lognormal(&t->rng, 900, 0.6), 1, 60000)));

        s->views++;
        s->remaining--;
}

uint64_t rs_traffic_count(const rs_traffic_t *t) {
        return t->n;
}

int64_t rs_traffic_clock_ms(const rs_traffic_t *t) {
        return (int64_t)floor((double)t->conf.start_ms +
                              (double)t->n * t->step_ms);
}

int rs_traffic_tenant_count(const rs_traffic_t *t) {
        return t->conf.tenants;
}

const char *rs_traffic_tenant(const rs_traffic_t *t, int i) {
        if (i < 0 || i >= t->conf.tenants)
                return NULL;
        return t->site.tenants[i].name;
}

double rs_traffic_tenant_sample_rate(const rs_traffic_t *t, int i) {
        if (i < 0 || i >= t->conf.tenants)
                return NAN;
        return t->site.tenants[i].sample_rate;
}

int rs_traffic_route_count(const rs_traffic_t *t) {
        return t->site.route_cnt;
}

const char *rs_traffic_route(const rs_traffic_t *t, int i) {
        if (i < 0 || i >= t->site.route_cnt)
                return NULL;
        return t->site.routes[i].name;
}

int rs_traffic_last_regressed(const rs_traffic_t *t) {
        return t->last_regressed;
}


/*
 * Error traffic. See rumstream/traffic.h for what is modelled.
 *
 * Three streams, each with its own PRNG, session pool and event-time
 * clock, are merged by event time: the ordinary errors (one every
 * 1000 / errors_per_sec ms), the burst's extra occurrences and the new
 * group's (both Poisson, at rates derived from the tenant's share and the
 * bug's). A stream's events never draw from another's PRNG, so adding a
 * burst or a new group leaves the ordinary errors as they were.
 *
 * A bug is a template (what fails, where, with which message and frames)
 * bound to a tenant and a route. Everything that varies per event (ids in
 * messages, URLs, release, bundle hash, line and column, browser stack
 * format, breadcrumbs, PII) is drawn or derived per event; what makes it
 * the same bug (kind, type, message text, function names, endpoint) is
 * not.
 */
#define ERR_SESSION_SLOTS   64
#define ERR_BUGS_MAX        20
#define ERR_CRUMBS_MAX      10 /* 8 ordinary + 1 with PII, with room */
#define ERR_MSG_MAX         1024
#define ERR_STACK_MAX       4096
#define ERR_REQUEST_URL_MAX 1024
#define ERR_URL_MAX         (URL_MAX + 256)
#define ERR_CRUMB_MAX       320
#define RELEASE_EVERY_MS    (2 * 3600 * 1000LL)
#define NEW_GROUP_SHARE     0.1

typedef enum {
        EK_JS,
        EK_REJECTION,
        EK_NETWORK,
        EK_HTTP,
        EK_SLOW,
        EK_RESOURCE,
        EK__CNT
} err_kind_t;

static const char *const err_kind_names[EK__CNT] = {
    "js_error",   "unhandled_rejection", "network_error",
    "http_error", "slow_request",        "resource_error"};

/* What "{v}" in a message holds: a plain value, or in an event that
 * carries PII in its message, a PII string of the kinds it takes. */
typedef enum {
        V_NONE,
        V_ACCOUNT, /* "customer 4821" / an email or phone number */
        V_CARD,    /* "ending in 4242" / a card number */
        V_VALUE,   /* a rejection value / a JSON object with secrets */
        V_CLIENT,  /* "client-3fa9c1" / an IP address */
} var_kind_t;

#define F_POS_ZERO                                                             \
        0x1 /* no stack, but line 0 and column 0 ("Script error.")             \
             */

/*
 * A bug template. Placeholders in msg, endpoint and resource: {host},
 * {id} (a number), {hex} (an object id), {q} (a word), {n} (a small
 * number), {chunk} (webpack chunk id of the page), {bundle} (that
 * chunk's URL), {tp} (a third-party script), {url} (the expanded
 * resource), {path} (the expanded endpoint), {method}, {status},
 * {reason}, {ms} (duration), {v} (see var_kind_t).
 */
typedef struct bug_tpl_s {
        const char *id;
        err_kind_t  kind;
        const char *type; /* error_type; NULL: the HTTP status class */
        const char *msg;
        const char *route;  /* route template it happens on; NULL: any */
        const char *chunk;  /* bundle of the app frames; NULL: no stack */
        const char *app[4]; /* app frames, innermost first; "*f": native */
        const char *lib[3]; /* frames in the vendor bundle, after app */
        const char *method;
        const char *endpoint;
        const char *resource;
        int         status[3]; /* one is drawn; 0 ends the list */
        var_kind_t  var;
        int         flags;
} bug_tpl_t;

static const bug_tpl_t bug_tpls[] = {
    /* JavaScript errors */
    {.id    = "cart-price-undefined",
     .kind  = EK_JS,
     .type  = "TypeError",
     .msg   = "Cannot read properties of undefined (reading 'price')",
     .route = "/cart",
     .chunk = "cart",
     .app   = {"renderCartLine", "*Array.map", "CartSummary"},
     .lib   = {"renderWithHooks", "beginWork"}},
    {.id    = "product-variants-null",
     .kind  = EK_JS,
     .type  = "TypeError",
     .msg   = "Cannot read properties of null (reading 'variants')",
     .route = "/products/:id",
     .chunk = "product",
     .app   = {"selectDefaultVariant", "ProductPage"},
     .lib   = {"commitHookEffectListMount", "flushPassiveEffects"}},
    {.id    = "search-filters-map",
     .kind  = EK_JS,
     .type  = "TypeError",
     .msg   = "e.filters.map is not a function",
     .route = "/search",
     .chunk = "search",
     .app   = {"FacetList", "SearchResults"},
     .lib   = {"renderWithHooks"}},
    {.id    = "gtag-undefined",
     .kind  = EK_JS,
     .type  = "ReferenceError",
     .msg   = "gtag is not defined",
     .chunk = "main",
     .app   = {"trackPageView", "onRouteChange"},
     .lib   = {"emit"}},
    {.id    = "chunk-load",
     .kind  = EK_JS,
     .type  = "ChunkLoadError",
     .msg   = "Loading chunk {chunk} failed.\n(error: {bundle})",
     .chunk = "runtime",
     .app   = {"__webpack_require__.f.j", "*Array.reduce",
               "__webpack_require__.e"}},
    {.id   = "resize-observer",
     .kind = EK_JS,
     .type = "Error",
     .msg  = "ResizeObserver loop completed with undelivered notifications."},
    {.id    = "script-error",
     .kind  = EK_JS,
     .type  = "Error",
     .msg   = "Script error.",
     .flags = F_POS_ZERO},
    {.id    = "localstorage-denied",
     .kind  = EK_JS,
     .type  = "SecurityError",
     .msg   = "Failed to read the 'localStorage' property from 'Window': "
              "Access is denied for this document.",
     .chunk = "main",
     .app   = {"loadPreferences", "bootstrapApp"}},
    {.id    = "login-token-destructure",
     .kind  = EK_JS,
     .type  = "TypeError",
     .msg   = "Cannot destructure property 'token' of '(intermediate "
              "value)' as it is undefined.",
     .route = "/login",
     .chunk = "auth",
     .app   = {"handleLoginResponse", "onSubmit"},
     .lib   = {"callCallback", "invokeGuardedCallback"}},
    {.id    = "cart-quota-exceeded",
     .kind  = EK_JS,
     .type  = "QuotaExceededError",
     .msg   = "Failed to execute 'setItem' on 'Storage': Setting the value "
              "of '{q}' exceeded the quota.",
     .route = "/cart",
     .chunk = "cart",
     .app   = {"persistCart", "CartProvider"}},
    {.id    = "payment-declined",
     .kind  = EK_JS,
     .type  = "PaymentError",
     .msg   = "Card {v} was declined (do_not_honor)",
     .route = "/checkout",
     .chunk = "checkout",
     .app   = {"confirmPayment", "onPlaceOrder"},
     .lib   = {"callCallback"},
     .var   = V_CARD},
    {.id    = "order-items-length",
     .kind  = EK_JS,
     .type  = "TypeError",
     .msg   = "Cannot read properties of undefined (reading 'length')",
     .route = "/account/orders/:id",
     .chunk = "account",
     .app   = {"OrderItems", "OrderDetail"},
     .lib   = {"renderWithHooks"}},
    {.id    = "invoice-invalid-date",
     .kind  = EK_JS,
     .type  = "RangeError",
     .msg   = "Invalid time value",
     .route = "/invoices/:hex",
     .chunk = "invoices",
     .app   = {"formatDate", "InvoiceHeader"},
     .lib   = {"format"}},
    /* Unhandled promise rejections */
    {.id   = "non-error-rejection",
     .kind = EK_REJECTION,
     .type = "UnhandledRejection",
     .msg  = "Non-Error promise rejection captured with value: {v}",
     .var  = V_VALUE},
    {.id    = "search-aborted",
     .kind  = EK_REJECTION,
     .type  = "AbortError",
     .msg   = "The user aborted a request.",
     .route = "/search",
     .chunk = "search",
     .app   = {"loadMoreResults"}},
    {.id    = "login-no-account",
     .kind  = EK_REJECTION,
     .type  = "Error",
     .msg   = "No account found for {v}",
     .route = "/login",
     .chunk = "auth",
     .app   = {"submitLogin", "handleLoginResponse"},
     .lib   = {"asyncGeneratorStep"},
     .var   = V_ACCOUNT},
    {.id    = "order-not-found",
     .kind  = EK_REJECTION,
     .type  = "Error",
     .msg   = "Order {id} not found",
     .route = "/account/orders/:id",
     .chunk = "account",
     .app   = {"fetchOrder", "OrderDetail"},
     .lib   = {"asyncGeneratorStep"}},
    {.id    = "shipping-json",
     .kind  = EK_REJECTION,
     .type  = "SyntaxError",
     .msg   = "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON",
     .route = "/checkout",
     .chunk = "checkout",
     .app   = {"parseJsonResponse", "loadShippingRates"}},
    /* Failed fetches */
    {.id       = "recommendations-fetch",
     .kind     = EK_NETWORK,
     .type     = "TypeError",
     .msg      = "Failed to fetch",
     .route    = "/products/:id",
     .method   = "GET",
     .endpoint = "/api/recommendations?product={id}"},
    {.id       = "cart-add-fetch",
     .kind     = EK_NETWORK,
     .type     = "TypeError",
     .msg      = "Failed to fetch",
     .route    = "/cart",
     .method   = "POST",
     .endpoint = "/api/cart/items"},
    /* HTTP errors */
    {.id       = "orders-5xx",
     .kind     = EK_HTTP,
     .msg      = "Request failed with status code {status}",
     .route    = "/account/orders/:id",
     .method   = "GET",
     .endpoint = "/api/orders/{id}",
     .status   = {500, 502, 503}},
    {.id       = "payment-5xx",
     .kind     = EK_HTTP,
     .msg      = "Payment service unavailable ({status} {reason})",
     .route    = "/checkout",
     .method   = "POST",
     .endpoint = "/api/checkout/payment",
     .status   = {502, 503, 504}},
    {.id       = "reviews-404",
     .kind     = EK_HTTP,
     .msg      = "Request failed with status code {status}",
     .route    = "/products/:id/reviews",
     .method   = "GET",
     .endpoint = "/api/products/{id}/reviews?page={n}",
     .status   = {404}},
    {.id       = "session-401",
     .kind     = EK_HTTP,
     .msg      = "{status} {reason}: session expired",
     .method   = "GET",
     .endpoint = "/api/users/me",
     .status   = {401}},
    {.id       = "search-429",
     .kind     = EK_HTTP,
     .msg      = "Rate limit exceeded for {v}",
     .route    = "/search",
     .method   = "GET",
     .endpoint = "/api/search?q={q}",
     .status   = {429},
     .var      = V_CLIENT},
    {.id       = "category-500",
     .kind     = EK_HTTP,
     .msg      = "{method} {path} returned {status}",
     .route    = "/category/:name",
     .method   = "GET",
     .endpoint = "/api/categories/{id}/products",
     .status   = {500}},
    /* Slow requests */
    {.id       = "slow-search",
     .kind     = EK_SLOW,
     .msg      = "Slow request: {method} {path} took {ms} ms",
     .route    = "/search",
     .method   = "GET",
     .endpoint = "/api/search?q={q}&page={n}",
     .status   = {200}},
    {.id       = "slow-invoice-pdf",
     .kind     = EK_SLOW,
     .msg      = "Slow request: {method} {path} took {ms} ms",
     .route    = "/invoices/:hex",
     .method   = "GET",
     .endpoint = "/api/invoices/{hex}/pdf",
     .status   = {200}},
    {.id       = "slow-payment",
     .kind     = EK_SLOW,
     .msg      = "Slow request: {method} {path} took {ms} ms",
     .route    = "/checkout",
     .method   = "POST",
     .endpoint = "/api/checkout/payment",
     .status   = {200, 201}},
    /* Resources */
    {.id       = "product-image",
     .kind     = EK_RESOURCE,
     .type     = "ResourceError",
     .msg      = "Failed to load image: {url}",
     .route    = "/products/:id",
     .resource = "https://{host}/images/products/{id}/large.webp"},
    {.id       = "font-stylesheet",
     .kind     = EK_RESOURCE,
     .type     = "ResourceError",
     .msg      = "Failed to load stylesheet: {url}",
     .resource = "https://fonts.example-cdn.net/css2?family=Inter&display="
                 "swap"},
    {.id       = "csp-third-party",
     .kind     = EK_RESOURCE,
     .type     = "CSPViolation",
     .msg      = "Refused to load the script '{url}' because it violates "
                 "the following Content Security Policy directive: "
                 "\"script-src 'self'\".",
     .resource = "{tp}"},
};

#define BUG_TPL_CNT ((int)ARRAY_CNT(bug_tpls))

/* The new group's bug: in no catalogue. */
static const bug_tpl_t new_bug_tpl = {
    .id    = "promo-banner-null",
    .kind  = EK_JS,
    .type  = "TypeError",
    .msg   = "Cannot read properties of null (reading 'addEventListener')",
    .route = "/",
    .chunk = "promo",
    .app   = {"initPromoBanner", "onDomReady"}};

static const char *const third_party[] = {
    "https://cdn.chat-widget.example/loader.js",
    "https://tags.adnetwork.example/t.js?id=",
    "https://static.survey-tool.example/embed.js"};

static const struct {
        int         status;
        const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {401, "Unauthorized"},
    {404, "Not Found"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

/*
 * PII the generator embeds, all of it: documentation and test ranges
 * (example.com, 192.0.2.0/24, 2001:db8::/32, 555 numbers), card numbers
 * that pass the Luhn check (the networks' test numbers), tokens and keys
 * made up here.
 */
typedef enum {
        PII_EMAIL,
        PII_IP,
        PII_CARD,
        PII_PHONE,
        PII_BEARER,
        PII_JWT,
        PII_PASSWORD,
        PII_APIKEY,
        PII__KIND_CNT
} pii_kind_t;

static const char *const pii_strings[] = {
    "jane.doe@example.com",
    "m.mueller@example.de",
    "john.smith+orders@example.org",
    "priya.sharma@example.in",
    "carlos.silva@example.com.br",
    "203.0.113.42",
    "198.51.100.23",
    "192.0.2.146",
    "2001:db8:85a3::8a2e:370:7334",
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "4012888888881881",
    "6011111111111117",
    "+1-415-555-0132",
    "+49-30-901820-77",
    "+44-20-7946-0958",
    "+91-98765-43210",
    "8f3c2a7b1e9d4c6a0b5e2d1f7a4c8b3e",
    "d41d8cd98f00b204e9800998ecf8427e5f1c",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQ4MjEzIiwiZW1h"
    "aWwiOiJqYW5lLmRvZUBleGFtcGxlLmNvbSIsImlhdCI6MTc2NzIyNTYwMH0.TGz02dE4O1"
    "hGE8b8_1zvZxIKC8eURM4Gr2W897XYGhs",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMDciLCJlbWFp"
    "bCI6Im0ubXVlbGxlckBleGFtcGxlLmRlIiwiaWF0IjoxNzY3MjI1NjAwfQ.FDm1uINvQyG"
    "NaPXKJa5K0OV3VS4i08NovF4oDyhDpUI",
    "Tr0ub4dor-3x",
    "hunter2hunter2",
    "S3cure!Passw0rd",
    "apikey_5b8f2c9e1d7a4f3b6c0e",
    "key-3c5f1e9a7b2d4f6e8a0c91",
};

static const pii_kind_t pii_kinds[] = {
    PII_EMAIL,    PII_EMAIL,  PII_EMAIL,  PII_EMAIL, PII_EMAIL,    PII_IP,
    PII_IP,       PII_IP,     PII_IP,     PII_CARD,  PII_CARD,     PII_CARD,
    PII_CARD,     PII_CARD,   PII_PHONE,  PII_PHONE, PII_PHONE,    PII_PHONE,
    PII_BEARER,   PII_BEARER, PII_JWT,    PII_JWT,   PII_PASSWORD, PII_PASSWORD,
    PII_PASSWORD, PII_APIKEY, PII_APIKEY,
};

#define PII_CNT ((int)ARRAY_CNT(pii_strings))

_Static_assert(ARRAY_CNT(pii_strings) == ARRAY_CNT(pii_kinds),
               "a kind for every PII string");

/* Query-string parameter that carries each kind. */
static const char *const pii_param[PII__KIND_CNT] = {
    "email",        "client_ip", "card",     "phone",
    "access_token", "id_token",  "password", "api_key"};

/* Kinds that can stand for {v}, by var_kind_t. */
/* Which personal data may stand in a message's {v}: only where the same
 * code prints the same shape of value either way (a JSON object, an
 * address), so that a bug stays one group whether an event carries
 * personal data or not. An account name or a card number would turn
 * "customer 4821" / "ending in 4242" into another shape of message. */
static const unsigned var_pii[] = {
    [V_NONE]    = 0,
    [V_ACCOUNT] = 0,
    [V_CARD]    = 0,
    [V_VALUE]   = 1u << PII_EMAIL | 1u << PII_PASSWORD | 1u << PII_BEARER |
                1u << PII_JWT | 1u << PII_APIKEY,
    [V_CLIENT] = 1u << PII_IP,
};

static const char *const click_targets[] = {
    "button#add-to-cart",   "a.nav-link",          "button.checkout",
    "div.product-card > a", "button[type=submit]", "input#search",
    "li.menu-item > a",     "button.load-more"};
static const char *const xhr_crumbs[] = {
    "GET /api/cart/items [200]",      "GET /api/users/me [200]",
    "GET /api/recommendations [200]", "POST /api/events [204]",
    "GET /api/config [304]",          "GET /api/search/suggest [200]"};
static const char *const console_crumbs[] = {
    "console.warn: componentWillReceiveProps has been renamed",
    "console.log: feature flags loaded",
    "console.warn: Image with src has a width or height modified",
    "console.error: Warning: Each child in a list should have a unique "
    "\"key\" prop."};

typedef struct bug_s {
        const bug_tpl_t *tpl;
        int              route; /* route index, -1: any page */
} bug_t;

/* A tenant's bugs, most frequent first, and its releases. */
typedef struct catalogue_s {
        bug_t    bugs[ERR_BUGS_MAX];
        int      cnt;
        int64_t  release_phase_ms;
        int      has_release;
        int      major;
        uint64_t hash; /* for bundle hashes */
} catalogue_t;

/* A source of errors with its own PRNG, sessions and clock. */
typedef struct stream_s {
        rng_t     rng;
        uint64_t  n;        /* events emitted */
        uint64_t  salt;     /* of its event ids */
        double    due;      /* event time of its next event; INFINITY: none */
        double    gap;      /* Poisson streams: mean gap, ms */
        int64_t   from, to; /* Poisson streams: [from, to) of event time */
        int       tenant;   /* -1: sessions draw their tenant */
        session_t slots[ERR_SESSION_SLOTS];
} stream_t;

enum { ST_BASE, ST_BURST, ST_NEW, ST__CNT };

struct rs_error_traffic_s {
        rs_error_traffic_conf_t conf;
        char                   *burst_tenant;
        char                   *burst_route;
        char                   *new_group_tenant;

        site_t       site;
        catalogue_t *cats; /* one per tenant */
        /* Bug popularity, Zipf (s = 1.1), by catalogue size. */
        double   bug_cdf[ERR_BUGS_MAX + 1][ERR_BUGS_MAX];
        double   step_ms;
        int      burst_bug_route;
        stream_t streams[ST__CNT];

        /* The last event. */
        int         last_stream;
        int         last_pii;
        const char *last_bug;
        char        event_id[37];
        char        error_type[8];
        char        url[ERR_URL_MAX];
        char        route[RS_ROUTE_MAX];
        char        message[ERR_MSG_MAX];
        char        stack[ERR_STACK_MAX];
        char        file[256];
        char        request_url[ERR_REQUEST_URL_MAX];
        char        release[24];
        char        crumbs[ERR_CRUMBS_MAX][ERR_CRUMB_MAX];
};

static uint64_t str_hash(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

        while (*s)
                h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
        return h;
}

/* A well-mixed hash of a few numbers. */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
        uint64_t x =
            a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (c * 0xc2b2ae3d27d4eb4fULL);

        return splitmix64(&x);
}

static int route_index(const site_t *site, const char *name) {
        int i;

        for (i = 0; i < site->route_cnt; i++)
                if (!strcmp(site->routes[i].name, name))
                        return i;
        return -1;
}

static int tenant_index(const site_t *site, const char *name) {
        int i;

        for (i = 0; i < site->tenant_cnt; i++)
                if (!strcmp(site->tenants[i].name, name))
                        return i;
        return -1;
}

#define NO_ROUTE (-2) /* a template whose route the tenants lack */

/* Probability that a draw from \p cdf gives \p i. */
static double cdf_share(const double *cdf, int i) {
        return i == 0 ? cdf[0] : cdf[i] - cdf[i - 1];
}

/*
 * Tenant \p tenant's catalogue: one bug of every kind its routes allow,
 * then more up to 10-20, in a random order that is their popularity.
 */
static void catalogue_build(uint64_t seed, const int *tpl_route, int tenant,
                            catalogue_t *cat) {
        const bug_tpl_t *avail[BUG_TPL_CNT];
        int              route[BUG_TPL_CNT], chosen[BUG_TPL_CNT] = {0};
        int              n_avail = 0, want, i, k;
        rng_t            rng;

        rng_seed(&rng, seed ^ (0x6275677321ULL * (uint64_t)(tenant + 1)));
        for (i = 0; i < BUG_TPL_CNT; i++) {
                if (tpl_route[i] == NO_ROUTE)
                        continue;
                avail[n_avail]   = &bug_tpls[i];
                route[n_avail++] = tpl_route[i];
        }
        want = 10 + (int)below(&rng, 11);
        if (want > n_avail)
                want = n_avail;

        cat->cnt = 0;
        for (k = 0; k < EK__CNT && cat->cnt < want; k++) {
                int cand[BUG_TPL_CNT], nc = 0, c;

                for (i = 0; i < n_avail; i++)
                        if ((int)avail[i]->kind == k)
                                cand[nc++] = i;
                if (nc == 0)
                        continue;
                c                     = cand[below(&rng, nc)];
                chosen[c]             = 1;
                cat->bugs[cat->cnt++] = (bug_t){avail[c], route[c]};
        }
        while (cat->cnt < want) {
                i = (int)below(&rng, n_avail);
                if (chosen[i])
                        continue;
                chosen[i]             = 1;
                cat->bugs[cat->cnt++] = (bug_t){avail[i], route[i]};
        }
        /* Fisher-Yates: the kinds-first picks must not all be the top. */
        for (i = cat->cnt - 1; i > 0; i--) {
                int   j   = (int)below(&rng, i + 1);
                bug_t tmp = cat->bugs[i];

                cat->bugs[i] = cat->bugs[j];
                cat->bugs[j] = tmp;
        }

        cat->release_phase_ms = (int64_t)below(&rng, RELEASE_EVERY_MS);
        cat->has_release      = !chance(&rng, 0.2);
        cat->major            = 2 + (int)below(&rng, 4);
        cat->hash             = next_u64(&rng);
}

void rs_error_traffic_conf_defaults(rs_error_traffic_conf_t *c) {
        memset(c, 0, sizeof(*c));
        c->seed              = 1;
        c->tenants           = 5;
        c->routes_per_tenant = 12;
        c->start_ms          = DEFAULT_START_MS;
        c->errors_per_sec    = 10;
        c->max_disorder_ms   = 2000;
        c->tenant_skew       = 0.6;
        c->no_consent_ratio  = 0.02;
        c->pii_ratio         = 0.2;
        c->burst_from_ms     = INT64_MAX;
        c->burst_to_ms       = INT64_MAX;
        c->burst_factor      = 1.0;
        c->new_group_from_ms = INT64_MAX;
}

/* Exponential gap with mean \p mean. */
static double exp_gap(rng_t *rng, double mean) {
        return -log(1.0 - uniform(rng)) * mean;
}

/* A Poisson stream over [from, to) at \p per_sec events per second. */
static void stream_poisson(stream_t *st, uint64_t seed, uint64_t salt,
                           int tenant, double per_sec, int64_t from,
                           int64_t to) {
        rng_seed(&st->rng, seed ^ salt);
        st->salt   = salt;
        st->tenant = tenant;
        st->from   = from;
        st->to     = to;
        st->due    = INFINITY;
        if (per_sec > 0 && from < to) {
                st->gap = 1000.0 / per_sec;
                st->due = (double)from + exp_gap(&st->rng, st->gap);
                if (st->due >= (double)to)
                        st->due = INFINITY;
        }
}

static int conf_check(const rs_error_traffic_conf_t *c, char *errstr,
                      size_t errstr_size) {
        const char *bad = NULL;

        if (c->tenants < 1 || c->tenants > 100000)
                bad = "tenants out of [1, 100000]";
        else if (c->routes_per_tenant < 1 || c->routes_per_tenant > 10000)
                bad = "routes_per_tenant out of [1, 10000]";
        else if (!(c->errors_per_sec > 0) || !isfinite(c->errors_per_sec))
                bad = "errors_per_sec must be > 0";
        else if (c->max_disorder_ms < 0)
                bad = "max_disorder_ms must be >= 0";
        else if (!(c->tenant_skew >= 0 && c->tenant_skew <= 10))
                bad = "tenant_skew out of [0, 10]";
        else if (!(c->no_consent_ratio >= 0 && c->no_consent_ratio <= 1))
                bad = "no_consent_ratio out of [0, 1]";
        else if (!(c->pii_ratio >= 0 && c->pii_ratio <= 1))
                bad = "pii_ratio out of [0, 1]";
        else if (c->burst_tenant &&
                 (!c->burst_route || !(c->burst_factor >= 1) ||
                  !isfinite(c->burst_factor) ||
                  c->burst_to_ms <= c->burst_from_ms))
                bad = "a burst needs a route, a factor >= 1 and from < to";
        if (bad)
                snprintf(errstr, errstr_size, "error traffic: %s", bad);
        return bad ? -1 : 0;
}

rs_error_traffic_t *rs_error_traffic_new(const rs_error_traffic_conf_t *c,
                                         char *errstr, size_t errstr_size) {
        rs_error_traffic_t *t = NULL;
        stream_t           *base;
        int                 tpl_route[BUG_TPL_CNT], i, j, bt = -1, nt = -1;

        if (!c) {
                snprintf(errstr, errstr_size, "error traffic: no config");
                return NULL;
        }
        if (conf_check(c, errstr, errstr_size) == -1)
                return NULL;
        if (!(t = calloc(1, sizeof(*t))))
                goto oom;
        t->conf = *c;
        if ((c->burst_tenant && (!(t->burst_tenant = strdup(c->burst_tenant)) ||
                                 !(t->burst_route = strdup(c->burst_route)))) ||
            (c->new_group_tenant &&
             !(t->new_group_tenant = strdup(c->new_group_tenant))))
                goto oom;
        t->conf.burst_tenant     = t->burst_tenant;
        t->conf.burst_route      = t->burst_route;
        t->conf.new_group_tenant = t->new_group_tenant;
        t->step_ms               = 1000.0 / c->errors_per_sec;
        t->burst_bug_route       = -1;

        if (site_init(&t->site, c->seed, c->tenants, c->routes_per_tenant,
                      c->tenant_skew) == -1 ||
            !(t->cats = calloc((size_t)c->tenants, sizeof(*t->cats))))
                goto oom;

        if (t->burst_tenant) {
                char route[RS_ROUTE_MAX] = "";
                int  r = route_index(&t->site, t->burst_route);

                bt = tenant_index(&t->site, t->burst_tenant);
                /* The burst's URLs must normalize to the route: no slug
                 * or category pages. */
                if (r >= 0)
                        rs_route_normalize(t->burst_route,
                                           strlen(t->burst_route), route);
                if (bt < 0 || r < 0 || strcmp(route, t->burst_route) ||
                    t->site.routes[r].tpl->kind == K_SLUG ||
                    t->site.routes[r].tpl->kind == K_CATEGORY) {
                        snprintf(errstr, errstr_size,
                                 "error traffic: no burst on %s of %s: %s",
                                 t->burst_route, t->burst_tenant,
                                 bt < 0 ? "unknown tenant"
                                        : "not one of the routes with fixed "
                                          "templates");
                        goto fail;
                }
                t->burst_bug_route = r;
        }
        if (t->new_group_tenant &&
            (nt = tenant_index(&t->site, t->new_group_tenant)) < 0) {
                snprintf(errstr, errstr_size,
                         "error traffic: new group of unknown tenant %s",
                         t->new_group_tenant);
                goto fail;
        }

        /* Every tenant has the same routes: where each template can go. */
        for (i = 0; i < BUG_TPL_CNT; i++) {
                tpl_route[i] = -1;
                if (bug_tpls[i].route && (tpl_route[i] = route_index(
                                              &t->site, bug_tpls[i].route)) < 0)
                        tpl_route[i] = NO_ROUTE;
        }
        for (i = 1; i <= ERR_BUGS_MAX; i++) {
                double total = 0;

                for (j = 0; j < i; j++) {
                        total += 1.0 / pow(j + 1, 1.1);
                        t->bug_cdf[i][j] = total;
                }
                for (j = 0; j < i; j++)
                        t->bug_cdf[i][j] /= total;
                t->bug_cdf[i][i - 1] = 1.0;
        }
        for (i = 0; i < c->tenants; i++) {
                catalogue_build(c->seed, tpl_route, i, &t->cats[i]);
                if (i == bt)
                        t->cats[i].bugs[0].route = t->burst_bug_route;
        }

        base = &t->streams[ST_BASE];
        rng_seed(&base->rng, c->seed ^ 0x6572726f72ULL);
        base->salt   = 0x6572726f72ULL;
        base->tenant = -1;
        if (bt >= 0) {
                double rate = c->errors_per_sec *
                              cdf_share(t->site.tenant_cdf, bt) *
                              t->bug_cdf[t->cats[bt].cnt][0];

                stream_poisson(&t->streams[ST_BURST], c->seed, 0x6275727374ULL,
                               bt, (c->burst_factor - 1) * rate,
                               c->burst_from_ms, c->burst_to_ms);
        } else {
                t->streams[ST_BURST].due = INFINITY;
        }
        if (nt >= 0)
                stream_poisson(&t->streams[ST_NEW], c->seed, 0x6e6577ULL, nt,
                               NEW_GROUP_SHARE * c->errors_per_sec *
                                   cdf_share(t->site.tenant_cdf, nt),
                               c->new_group_from_ms, INT64_MAX);
        else
                t->streams[ST_NEW].due = INFINITY;
        return t;

oom:
        snprintf(errstr, errstr_size, "error traffic: out of memory");
fail:
        rs_error_traffic_destroy(t);
        return NULL;
}

void rs_error_traffic_destroy(rs_error_traffic_t *t) {
        if (!t)
                return;
        site_free(&t->site);
        free(t->cats);
        free(t->burst_tenant);
        free(t->burst_route);
        free(t->new_group_tenant);
        free(t);
}

/* Values of the placeholders of one event. */
typedef struct vars_s {
        const char *host, *id, *hex, *q, *n, *chunk, *bundle, *tp, *url;
        const char *path, *method, *status, *reason, *ms, *v;
} vars_t;

static const char *var_get(const vars_t *v, const char *name, size_t len) {
        static const struct {
                const char *name;
                size_t      offset;
        } names[] = {
            {"host", offsetof(vars_t, host)},
            {"id", offsetof(vars_t, id)},
            {"hex", offsetof(vars_t, hex)},
            {"q", offsetof(vars_t, q)},
            {"n", offsetof(vars_t, n)},
            {"chunk", offsetof(vars_t, chunk)},
            {"bundle", offsetof(vars_t, bundle)},
            {"tp", offsetof(vars_t, tp)},
            {"url", offsetof(vars_t, url)},
            {"path", offsetof(vars_t, path)},
            {"method", offsetof(vars_t, method)},
            {"status", offsetof(vars_t, status)},
            {"reason", offsetof(vars_t, reason)},
            {"ms", offsetof(vars_t, ms)},
            {"v", offsetof(vars_t, v)},
        };
        size_t i;

        for (i = 0; i < ARRAY_CNT(names); i++)
                if (strlen(names[i].name) == len &&
                    !strncmp(names[i].name, name, len))
                        return *(const char *const *)((const char *)v +
                                                      names[i].offset);
        return NULL;
}

/* Appends \p tpl with its placeholders replaced; unknown ones stay. */
static void expand(strbuf_t *sb, const char *tpl, const vars_t *v) {
        const char *p = tpl;

        while (*p) {
                const char *open = strchr(p, '{'), *close, *val;

                if (!open || !(close = strchr(open, '}'))) {
                        sb_add(sb, "%s", p);
                        return;
                }
                val = var_get(v, open + 1, (size_t)(close - open - 1));
                if (val)
                        sb_add(sb, "%.*s%s", (int)(open - p), p, val);
                else
                        sb_add(sb, "%.*s", (int)(close + 1 - p), p);
                p = close + 1;
        }
}

static const char *pii_of_kind(rng_t *rng, pii_kind_t kind) {
        int first = 0, cnt = 0, i;

        for (i = 0; i < PII_CNT; i++) {
                if (pii_kinds[i] != kind)
                        continue;
                if (!cnt++)
                        first = i;
        }
        return pii_strings[first + below(rng, cnt)];
}

static const char *reason_of(int status) {
        size_t i;

        for (i = 0; i < ARRAY_CNT(reasons); i++)
                if (reasons[i].status == status)
                        return reasons[i].reason;
        return "";
}

/* V8 prints the message and native frames; Gecko and WebKit print
 * neither. */
static int v8_browser(int browser) {
        return strcmp(browser_names[browser], "firefox") &&
               strcmp(browser_names[browser], "safari");
}

/* The bundle a frame is in: app chunks change with every release, the
 * vendor bundle with every fourth. */
static void bundle_url(const tenant_t *tn, const catalogue_t *cat,
                       const char *chunk, int64_t build, char *out,
                       size_t size) {
        snprintf(out, size, "https://%s/static/js/%s.%08x.js", tn->host, chunk,
                 (unsigned)(mix(cat->hash, str_hash(chunk), (uint64_t)build) &
                            0xffffffffu));
}

static void build_stack(rs_error_traffic_t *t, const bug_tpl_t *tpl,
                        const tenant_t *tn, const catalogue_t *cat,
                        int64_t release, int v8, rs_error_event_t *ev) {
        strbuf_t sb;
        int      i, lines = 0;

        sb_init(&sb, t->stack, sizeof(t->stack));
        if (v8)
                sb_add(&sb, "%s: %s", ev->error_type, ev->message);
        for (i = 0; i < 7; i++) {
                int         app   = i < 4;
                const char *fn    = app ? tpl->app[i] : tpl->lib[i - 4];
                const char *chunk = app ? tpl->chunk : "vendor";
                int64_t     build = app ? release : release / 4;
                char        url[256];
                uint64_t    pos;
                int         line, col;

                if (!fn)
                        continue;
                if (fn[0] == '*') {
                        if (v8)
                                sb_add(&sb, "\n    at %s (<anonymous>)",
                                       fn + 1);
                        continue;
                }
                bundle_url(tn, cat, chunk, build, url, sizeof(url));
                /* Minified bundles: a line or two, long columns. */
                pos  = mix(str_hash(tpl->id) + (uint64_t)i, (uint64_t)build,
                           cat->hash);
                line = 1 + (int)(pos % 2);
                col  = 100 + (int)((pos >> 8) % 150000);
                if (v8)
                        sb_add(&sb, "\n    at %s (%s:%d:%d)", fn, url, line,
                               col);
                else
                        sb_add(&sb, "%s%s@%s:%d:%d", lines ? "\n" : "", fn, url,
                               line, col);
                if (!lines++) {
                        snprintf(t->file, sizeof(t->file), "%s", url);
                        ev->file   = t->file;
                        ev->line   = line;
                        ev->column = col;
                }
        }
        ev->stack = t->stack;
}

enum { AT_URL, AT_CRUMB, AT_REQUEST, AT_MESSAGE, AT__CNT };

/* Adds "name=value" to the query string of \p buf, before any fragment.*/
static void add_query(char *buf, size_t size, const char *name,
                      const char *value) {
        char  *hash = strchr(buf, '#'), frag[ERR_URL_MAX] = "";
        size_t len;

        if (hash) {
                snprintf(frag, sizeof(frag), "%s", hash);
                *hash = '\0';
        }
        len = strlen(buf);
        snprintf(buf + len, size - len, "%c%s=%s%s",
                 strchr(buf, '?') ? '&' : '?', name, value, frag);
}

/* A breadcrumb carrying \p pii (of \p kind), written to \p out. */
static const char *pii_crumb(rng_t *rng, pii_kind_t kind, const char *pii,
                             char *out, size_t size) {
        switch (kind) {
        case PII_EMAIL:
        case PII_PASSWORD:
                snprintf(out, size,
                         "POST /api/login {\"email\":\"%s\",\"password\":"
                         "\"%s\"}",
                         kind == PII_EMAIL ? pii : pii_of_kind(rng, PII_EMAIL),
                         kind == PII_PASSWORD ? pii
                                              : pii_of_kind(rng, PII_PASSWORD));
                return "xhr";
        case PII_IP:
                snprintf(out, size, "realtime: connected from %s", pii);
                return "console";
        case PII_CARD:
                snprintf(out, size, "input#card-number value=\"%s\"", pii);
                return "ui.input";
        case PII_PHONE:
                snprintf(out, size, "input[name=phone] value=\"%s\"", pii);
                return "ui.input";
        case PII_BEARER:
        case PII_JWT:
                snprintf(out, size,
                         "GET /api/users/me Authorization: Bearer %s", pii);
                return "xhr";
        default:
                snprintf(out, size, "GET /api/v1/export?api_key=%s [200]", pii);
                return "xhr";
        }
}

/* {v}: a plain value, or \p pii (of \p kind) in the form the message
 * takes it. */
static void var_value(rng_t *rng, var_kind_t var, const char *pii,
                      pii_kind_t kind, char *out, size_t size) {
        char hex[17];

        if (pii && var == V_VALUE) {
                if (kind == PII_EMAIL || kind == PII_PASSWORD)
                        snprintf(
                            out, size, "{\"email\":\"%s\",\"password\":\"%s\"}",
                            kind == PII_EMAIL ? pii
                                              : pii_of_kind(rng, PII_EMAIL),
                            kind == PII_PASSWORD
                                ? pii
                                : pii_of_kind(rng, PII_PASSWORD));
                else
                        snprintf(out, size, "{\"%s\":\"%s\"}",
                                 kind == PII_APIKEY ? "apiKey" : "token", pii);
                return;
        }
        if (pii) {
                snprintf(out, size, "%s", pii);
                return;
        }
        switch (var) {
        case V_ACCOUNT:
                snprintf(out, size, "customer %ld", 1000 + below(rng, 90000));
                break;
        case V_CARD:
                snprintf(out, size, "ending in %04ld", below(rng, 10000));
                break;
        case V_VALUE:
                snprintf(out, size, "{\"code\":\"E_TIMEOUT\",\"retry\":%ld}",
                         1 + below(rng, 9));
                break;
        case V_CLIENT:
                hex_fill(rng, hex, 6);
                snprintf(out, size, "client-%s", hex);
                break;
        default:
                out[0] = '\0';
        }
}

static void build_crumbs(rs_error_traffic_t *t, rng_t *rng, const char *host,
                         int64_t ts, rs_error_event_t *ev) {
        int     cnt = chance(rng, 0.15) ? 0 : 1 + (int)below(rng, 8), i;
        int64_t at  = ts;

        for (i = cnt - 1; i >= 0; i--) {
                at -= 50 + below(rng, 4000);
                ev->breadcrumbs[i].timestamp_ms = at;
        }
        for (i = 0; i < cnt; i++) {
                rs_breadcrumb_t *bc  = &ev->breadcrumbs[i];
                char            *msg = t->crumbs[i];
                double           x   = uniform(rng);

                if (i == 0 && x < 0.6) {
                        /* The page's own path, without its host. */
                        bc->category = "navigation";
                        snprintf(msg, ERR_CRUMB_MAX, "to %s",
                                 t->url + strlen("https://") + strlen(host));
                } else if (x < 0.4) {
                        bc->category = "ui.click";
                        snprintf(msg, ERR_CRUMB_MAX, "%s",
                                 click_targets[below(
                                     rng, (long)ARRAY_CNT(click_targets))]);
                } else if (x < 0.75) {
                        bc->category = "xhr";
                        snprintf(msg, ERR_CRUMB_MAX, "%s",
                                 xhr_crumbs[below(
                                     rng, (long)ARRAY_CNT(xhr_crumbs))]);
                } else {
                        bc->category = "console";
                        snprintf(msg, ERR_CRUMB_MAX, "%s",
                                 console_crumbs[below(
                                     rng, (long)ARRAY_CNT(console_crumbs))]);
                }
                bc->message = msg;
        }
        ev->breadcrumb_cnt = (size_t)cnt;
}

/* Fills \p ev: bug \p bug of session \p s at event time \p ts. */
static void fill_error(rs_error_traffic_t *t, stream_t *st, const session_t *s,
                       const bug_t *bug, int64_t ts, rs_error_event_t *ev) {
        rng_t             *rng = &st->rng;
        const bug_tpl_t   *tpl = bug->tpl;
        const tenant_t    *tn  = &t->site.tenants[s->tenant];
        const catalogue_t *cat = &t->cats[s->tenant];
        char id[24], hex[25], n[24], chunk[24], bundle[256], tp[128], status[8];
        char msbuf[24], res[512], path[512], v[512];
        const char *pii      = NULL;
        pii_kind_t  pii_kind = PII_EMAIL;
        vars_t      vars;
        strbuf_t    sb;
        int64_t     release;
        int         route_idx, place = -1, code = 0;
        double      dur = NAN;

        memset(ev, 0, sizeof(*ev));
        ev->line        = -1;
        ev->column      = -1;
        ev->http_status = -1;
        ev->duration_ms = NAN;

        route_idx = bug->route >= 0
                        ? bug->route
                        : pick_cdf(rng, t->site.route_cdf, t->site.route_cnt);
        sb_init(&sb, t->url, sizeof(t->url));
        build_url(rng, &t->site, s->tenant, route_idx, &sb);

        /* Deploys every RELEASE_EVERY_MS; some sessions lag one behind. */
        release = (ts + cat->release_phase_ms) / RELEASE_EVERY_MS;
        if (s->id[0] < '3')
                release--;
        if (cat->has_release) {
                snprintf(t->release, sizeof(t->release), "%d.%d.%d", cat->major,
                         (int)((release / 10) % 100), (int)(release % 10));
                ev->release = t->release;
        }

        if (chance(rng, t->conf.pii_ratio)) {
                int cand[AT__CNT], nc = 0, pi = (int)below(rng, PII_CNT);

                pii        = pii_strings[pi];
                pii_kind   = pii_kinds[pi];
                cand[nc++] = AT_URL;
                cand[nc++] = AT_CRUMB;
                if (tpl->endpoint || tpl->resource)
                        cand[nc++] = AT_REQUEST;
                if (var_pii[tpl->var] & (1u << pii_kind))
                        cand[nc++] = AT_MESSAGE;
                place = cand[below(rng, nc)];
        }

        memset(&vars, 0, sizeof(vars));
        snprintf(id, sizeof(id), "%ld", 1000 + skewed(rng, 900000, 1.5));
        hex_fill(rng, hex, 24);
        hex[0] = "abcdef"[below(rng, 6)];
        snprintf(n, sizeof(n), "%ld", 1 + below(rng, 9));
        /* webpack chunk ids are fixed per page (and build). */
        snprintf(chunk, sizeof(chunk), "%d",
                 100 + (int)(mix(cat->hash, (uint64_t)route_idx, 1) % 900));
        snprintf(
            bundle, sizeof(bundle), "https://%s/static/js/%s.%08x.chunk.js",
            tn->host, chunk,
            (unsigned)(mix(cat->hash, (uint64_t)route_idx, (uint64_t)release) &
                       0xffffffffu));
        snprintf(tp, sizeof(tp), "%s", third_party[below(rng, 3)]);
        if (tp[strlen(tp) - 1] == '=')
                snprintf(tp + strlen(tp), sizeof(tp) - strlen(tp), "%ld",
                         1000 + below(rng, 9000));
        if (tpl->status[0]) {
                int cnt = 1;

                while (cnt < 3 && tpl->status[cnt])
                        cnt++;
                code = tpl->status[below(rng, cnt)];
        }
        snprintf(status, sizeof(status), "%d", code);
        if (tpl->kind == EK_HTTP)
                dur = ms(clampd(lognormal(rng, 350, 0.8), 5, 60000));
        else if (tpl->kind == EK_SLOW)
                dur =
                    ms(clampd(3000 + lognormal(rng, 2500, 0.6), 3000, 120000));
        snprintf(msbuf, sizeof(msbuf), "%.0f", dur);
        var_value(rng, tpl->var, place == AT_MESSAGE ? pii : NULL, pii_kind, v,
                  sizeof(v));

        vars.host   = tn->host;
        vars.id     = id;
        vars.hex    = hex;
        vars.q      = words[below(rng, (long)ARRAY_CNT(words))];
        vars.n      = n;
        vars.chunk  = chunk;
        vars.bundle = bundle;
        vars.tp     = tp;
        vars.method = tpl->method ? tpl->method : "";
        vars.status = status;
        vars.reason = reason_of(code);
        vars.ms     = msbuf;
        vars.v      = v;
        res[0] = path[0] = '\0';
        if (tpl->resource) {
                sb_init(&sb, res, sizeof(res));
                expand(&sb, tpl->resource, &vars);
        }
        vars.url = res;
        if (tpl->endpoint) {
                sb_init(&sb, path, sizeof(path));
                expand(&sb, tpl->endpoint, &vars);
        }
        vars.path = path;
        sb_init(&sb, t->message, sizeof(t->message));
        expand(&sb, tpl->msg, &vars);

        ev->tenant_id    = tn->name;
        ev->session_id   = s->id;
        ev->user_id      = s->user >= 0 ? s->user_id : NULL;
        ev->timestamp_ms = ts;
        ev->kind         = err_kind_names[tpl->kind];
        if (tpl->type) {
                ev->error_type = tpl->type;
        } else {
                snprintf(t->error_type, sizeof(t->error_type), "%uxx",
                         (unsigned)(code / 100) % 10u);
                ev->error_type = t->error_type;
        }
        ev->message     = t->message;
        ev->url         = t->url;
        ev->browser     = browser_names[s->browser];
        ev->device_type = devices[s->device].name;
        ev->consent     = s->consent;
        ev->sample_rate = tn->sample_rate;
        ev->duration_ms = dur;
        if (code)
                ev->http_status = code;
        if (tpl->endpoint || tpl->resource) {
                if (tpl->endpoint)
                        snprintf(t->request_url, sizeof(t->request_url),
                                 "https://%s%s", tn->host, path);
                else
                        snprintf(t->request_url, sizeof(t->request_url), "%s",
                                 res);
                ev->request_url = t->request_url;
                ev->http_method = tpl->method;
        }
        if (tpl->chunk)
                build_stack(t, tpl, tn, cat, release, v8_browser(s->browser),
                            ev);
        else if (tpl->flags & F_POS_ZERO)
                ev->line = ev->column = 0;

        build_crumbs(t, rng, tn->host, ts, ev);

        switch (place) {
        case AT_URL:
                add_query(t->url, sizeof(t->url), pii_param[pii_kind], pii);
                break;
        case AT_REQUEST:
                add_query(t->request_url, sizeof(t->request_url),
                          pii_param[pii_kind], pii);
                break;
        case AT_CRUMB: {
                rs_breadcrumb_t *bc = &ev->breadcrumbs[ev->breadcrumb_cnt];

                bc->category =
                    pii_crumb(rng, pii_kind, pii, t->crumbs[ev->breadcrumb_cnt],
                              ERR_CRUMB_MAX);
                bc->message      = t->crumbs[ev->breadcrumb_cnt];
                bc->timestamp_ms = ts - below(rng, 50);
                ev->breadcrumb_cnt++;
                break;
        }
        default:
                break;
        }
        t->last_pii = place >= 0;

        /* An agent that knows the route reports what the processor would
         * derive from the URL. */
        if (chance(rng, 0.6)) {
                rs_route_normalize(t->url, strlen(t->url), t->route);
                ev->route = t->route;
        }
}

void rs_error_traffic_next(rs_error_traffic_t *t, rs_error_event_t *ev) {
        static const bug_t new_bug = {&new_bug_tpl, 0};
        stream_t          *st;
        session_t         *s;
        const bug_t       *bug;
        double             due;
        int64_t            ts;
        int                sti = ST_BASE;

        due = (double)t->conf.start_ms +
              (double)t->streams[ST_BASE].n * t->step_ms;
        if (t->streams[ST_BURST].due < due) {
                sti = ST_BURST;
                due = t->streams[ST_BURST].due;
        }
        if (t->streams[ST_NEW].due < due) {
                sti = ST_NEW;
                due = t->streams[ST_NEW].due;
        }
        st = &t->streams[sti];

        s = &st->slots[below(&st->rng, ERR_SESSION_SLOTS)];
        if (s->remaining == 0) {
                session_start(&st->rng, &t->site, t->conf.no_consent_ratio, s);
                if (st->tenant >= 0)
                        s->tenant = st->tenant;
                /* About two errors per session. */
                s->remaining = 1;
                while (s->remaining < 10 && chance(&st->rng, 0.5))
                        s->remaining++;
        }

        ts = (int64_t)floor(due);
        if (t->conf.max_disorder_ms > 0)
                ts -=
                    (int64_t)below(&st->rng, (long)t->conf.max_disorder_ms + 1);
        if (sti != ST_BASE && ts < st->from)
                ts = st->from;
        st->n++;

        if (sti == ST_BASE) {
                const catalogue_t *cat = &t->cats[s->tenant];

                bug = &cat->bugs[pick_cdf(&st->rng, t->bug_cdf[cat->cnt],
                                          cat->cnt)];
        } else if (sti == ST_BURST) {
                bug = &t->cats[st->tenant].bugs[0];
        } else {
                bug = &new_bug;
        }

        fill_error(t, st, s, bug, ts, ev);
        uuid_from(mix(t->conf.seed, st->salt, st->n), t->event_id);
        ev->event_id   = t->event_id;
        t->last_stream = sti;
        t->last_bug    = bug->tpl->id;
        s->views++;
        s->remaining--;

        if (sti != ST_BASE) {
                st->due += exp_gap(&st->rng, st->gap);
                if (st->due >= (double)st->to)
                        st->due = INFINITY;
        }
}

uint64_t rs_error_traffic_count(const rs_error_traffic_t *t) {
        return t->streams[ST_BASE].n + t->streams[ST_BURST].n +
               t->streams[ST_NEW].n;
}

int64_t rs_error_traffic_clock_ms(const rs_error_traffic_t *t) {
        return (int64_t)floor((double)t->conf.start_ms +
                              (double)t->streams[ST_BASE].n * t->step_ms);
}

int rs_error_traffic_tenant_count(const rs_error_traffic_t *t) {
        return t->site.tenant_cnt;
}

const char *rs_error_traffic_tenant(const rs_error_traffic_t *t, int i) {
        if (i < 0 || i >= t->site.tenant_cnt)
                return NULL;
        return t->site.tenants[i].name;
}

double rs_error_traffic_tenant_sample_rate(const rs_error_traffic_t *t, int i) {
        if (i < 0 || i >= t->site.tenant_cnt)
                return NAN;
        return t->site.tenants[i].sample_rate;
}

int rs_error_traffic_route_count(const rs_error_traffic_t *t) {
        return t->site.route_cnt;
}

const char *rs_error_traffic_route(const rs_error_traffic_t *t, int i) {
        if (i < 0 || i >= t->site.route_cnt)
                return NULL;
        return t->site.routes[i].name;
}

int rs_error_traffic_bug_count(const rs_error_traffic_t *t, int tenant) {
        if (tenant < 0 || tenant >= t->site.tenant_cnt)
                return 0;
        return t->cats[tenant].cnt;
}

const char *rs_error_traffic_bug(const rs_error_traffic_t *t, int tenant,
                                 int i) {
        if (i < 0 || i >= rs_error_traffic_bug_count(t, tenant))
                return NULL;
        return t->cats[tenant].bugs[i].tpl->id;
}

const char *rs_error_traffic_last_bug(const rs_error_traffic_t *t) {
        return t->last_bug;
}

int rs_error_traffic_last_is_burst(const rs_error_traffic_t *t) {
        return t->last_bug && t->last_stream == ST_BURST;
}

int rs_error_traffic_last_is_new_group(const rs_error_traffic_t *t) {
        return t->last_bug && t->last_stream == ST_NEW;
}

int rs_error_traffic_last_has_pii(const rs_error_traffic_t *t) {
        return t->last_pii;
}

size_t rs_error_traffic_pii_strings(const char *const **out) {
        *out = pii_strings;
        return ARRAY_CNT(pii_strings);
}


/*
 * Synthetic traffic. See rumstream/traffic.h for what is modelled.
 *
 * The tests, checks and their URLs are fixed at creation; a run is the
 * next check in a list sorted by offset within the interval, so results
 * come in event-time order with no merge. Values are drawn from the page
 * views' route parameters (catalogue[]) with the lab's own multipliers
 * and a PRNG of its own, in the same order for every run whatever the
 * options, so a regression, field_only or a failing route change only the
 * values they concern.
 */
#define SYN_TENANTS_MAX    10000
#define SYN_LAB_SPEED      0.9
#define SYN_SALT_RUN       0x73796e72756eULL /* "synrun" */
#define SYN_SALT_PHASE     0x706861736573ULL /* "phases" */
#define SYN_SALT_URL       0x73796e75726cULL /* "synurl" */
#define SYN_FORCED_FAILURE "HTTP 500 Internal Server Error on the main document"

static const struct {
        const char *name;
        double      net; /* distance to the (US/EU) origins */
} syn_locations[] = {
    {"us-east-1", 0.95},    {"eu-west-1", 1.0},      {"us-west-2", 1.0},
    {"eu-central-1", 0.97}, {"ap-southeast-1", 1.1}, {"sa-east-1", 1.08},
};

#define SYN_LOCATION_CNT ((int)ARRAY_CNT(syn_locations))

enum { PROF_DESKTOP_CABLE, PROF_MOBILE_4G, PROF_CNT };

static const struct {
        int         device;
        const char *network;
} syn_profiles[PROF_CNT] = {
    [PROF_DESKTOP_CABLE] = {DEV_DESKTOP, "cable"},
    [PROF_MOBILE_4G]     = {DEV_MOBILE, "4g"},
};

/* Random failures; a failed run has TTFB if the server answered. */
static const struct {
        const char *msg;
        int         has_ttfb;
} syn_errors[] = {
    {"Timeout: the load event did not fire within 60000 ms", 1},
    {"net::ERR_CONNECTION_RESET", 0},
    {"net::ERR_NAME_NOT_RESOLVED", 0},
    {"HTTP 503 Service Unavailable on the main document", 1},
    {"Assertion failed: element 'main' not visible after 10000 ms", 1},
};

typedef struct syn_test_s {
        int  tenant, route;
        int  regressed; /* the regression's tenant and route */
        int  failing;   /* the failing route's tenant and route */
        char test_id[64];
        char url[URL_MAX];
        char route_name[RS_ROUTE_MAX];
} syn_test_t;

typedef struct syn_check_s {
        int     test, profile, location, idx;
        int64_t phase_ms;
} syn_check_t;

struct rs_synthetic_traffic_s {
        rs_synthetic_traffic_conf_t conf;
        char                       *regression_tenant, *regression_route;
        char                       *failing_tenant, *failing_route;

        site_t       site;
        rng_t        rng;
        syn_test_t  *tests;
        int          test_cnt;
        syn_check_t *checks;
        int          check_cnt;
        /* Network multiplier of each profile: the page views' mean for
         * the device. */
        double lab_net[PROF_CNT];

        uint64_t n;
        int64_t  slot; /* interval of the next run */
        int      pos;  /* its check */
        int      last_regressed, last_forced;
        char     run_id[37];
};

void rs_synthetic_traffic_conf_defaults(rs_synthetic_traffic_conf_t *c) {
        memset(c, 0, sizeof(*c));
        c->seed               = 1;
        c->tenants            = 5;
        c->routes_per_tenant  = 12;
        c->start_ms           = DEFAULT_START_MS;
        c->interval_ms        = 5 * 60 * 1000;
        c->failure_rate       = 0.02;
        c->regression_from_ms = INT64_MAX;
        c->regression_factor  = 1.0;
        c->failing_from_ms    = INT64_MAX;
}

/* exp(weighted mean of log(v)): the median of a product of lognormals
 * whose median is drawn from v with weights w. */
static double geo_mean(const double *v, const double *w, int cnt) {
        double sum = 0, wsum = 0;
        int    i;

        for (i = 0; i < cnt; i++) {
                sum += w[i] * log(v[i]);
                wsum += w[i];
        }
        return exp(sum / wsum);
}

static int syn_check_cmp(const void *a, const void *b) {
        const syn_check_t *x = a, *y = b;

        if (x->phase_ms != y->phase_ms)
                return x->phase_ms < y->phase_ms ? -1 : 1;
        return x->idx - y->idx;
}

static int syn_conf_check(const rs_synthetic_traffic_conf_t *c, char *errstr,
                          size_t errstr_size) {
        const char *what = NULL;

        if (!c)
                what = "no configuration";
        else if (c->tenants < 1 || c->tenants > SYN_TENANTS_MAX)
                what = "tenants must be 1..10000";
        else if (c->routes_per_tenant < 1 || c->routes_per_tenant > 10000)
                what = "routes_per_tenant must be 1..10000";
        else if (c->interval_ms < 1000 || c->interval_ms > 7 * 86400000LL)
                what = "interval_ms must be 1000..604800000";
        else if (!(c->failure_rate >= 0 && c->failure_rate <= 1))
                what = "failure_rate must be in [0, 1]";
        else if (!(c->regression_factor > 0) || !isfinite(c->regression_factor))
                what = "regression_factor must be > 0";
        else if (c->regression_to_ms != 0 &&
                 c->regression_to_ms <= c->regression_from_ms)
                what = "regression_to_ms must be after regression_from_ms";
        else if (!c->failing_tenant != !c->failing_route)
                what = "failing_tenant and failing_route go together";
        else if (c->start_ms < 0 || c->start_ms > INT64_MAX / 4)
                what = "start_ms out of range";
        if (what) {
                snprintf(errstr, errstr_size, "synthetic traffic: %s", what);
                return -1;
        }
        return 0;
}

/* Whether test \p ts is of \p tenant and \p route (a template or the
 * test's normalized route), as the page views match their regression. */
static int syn_matches(const rs_synthetic_traffic_t *t, const syn_test_t *ts,
                       const char *tenant, const char *route) {
        return tenant && route &&
               !strcmp(t->site.tenants[ts->tenant].name, tenant) &&
               (!strcmp(t->site.routes[ts->route].name, route) ||
                !strcmp(ts->route_name, route));
}

/* The tests of every tenant, with their fixed URLs. */
static int syn_tests_build(rs_synthetic_traffic_t *t) {
        int checkout = route_index(&t->site, "/checkout"), i, j;

        t->tests = calloc((size_t)t->site.tenant_cnt * 6, sizeof(*t->tests));
        if (!t->tests)
                return -1;
        for (i = 0; i < t->site.tenant_cnt; i++) {
                int top = 3 + i % 3;

                if (top > t->site.route_cnt)
                        top = t->site.route_cnt;
                for (j = 0; j < t->site.route_cnt; j++) {
                        syn_test_t *ts = &t->tests[t->test_cnt];
                        strbuf_t    sb;
                        rng_t       rng;
                        char       *cut;

                        if (j >= top && j != checkout)
                                continue;
                        ts->tenant = i;
                        ts->route  = j;
                        snprintf(ts->test_id, sizeof(ts->test_id), "%s-t%02d",
                                 t->site.tenants[i].name, j);
                        rng_seed(&rng, mix(t->conf.seed ^ SYN_SALT_URL,
                                           (uint64_t)i, (uint64_t)j));
                        sb_init(&sb, ts->url, sizeof(ts->url));
                        build_url(&rng, &t->site, i, j, &sb);
                        /* A test loads a clean link. */
                        if ((cut = strchr(ts->url, '#')))
                                *cut = '\0';
                        if ((cut = strstr(ts->url, "?utm_")))
                                *cut = '\0';
                        rs_route_normalize(ts->url, strlen(ts->url),
                                           ts->route_name);
                        ts->regressed = syn_matches(t, ts, t->regression_tenant,
                                                    t->regression_route);
                        ts->failing   = syn_matches(t, ts, t->failing_tenant,
                                                    t->failing_route);
                        t->test_cnt++;
                }
        }
        return 0;
}

static int syn_checks_build(rs_synthetic_traffic_t *t) {
        int i, p, l;

        /* At most 2 profiles x 3 locations per test. */
        t->checks = calloc((size_t)t->test_cnt * 6, sizeof(*t->checks));
        if (!t->checks)
                return -1;
        for (i = 0; i < t->test_cnt; i++) {
                int tenant    = t->tests[i].tenant;
                int profiles  = tenant % 2 == 0 ? 2 : 1;
                int locations = 2 + tenant % 2;

                for (p = 0; p < profiles; p++) {
                        for (l = 0; l < locations; l++) {
                                syn_check_t *ck = &t->checks[t->check_cnt];

                                ck->test    = i;
                                ck->profile = p;
                                ck->location =
                                    (tenant * 2 + l) % SYN_LOCATION_CNT;
                                ck->idx = t->check_cnt;
                                ck->phase_ms =
                                    (int64_t)(mix(t->conf.seed ^ SYN_SALT_PHASE,
                                                  (uint64_t)ck->idx, 0) %
                                              (uint64_t)t->conf.interval_ms);
                                t->check_cnt++;
                        }
                }
        }
        qsort(t->checks, (size_t)t->check_cnt, sizeof(*t->checks),
              syn_check_cmp);
        return 0;
}

rs_synthetic_traffic_t *
rs_synthetic_traffic_new(const rs_synthetic_traffic_conf_t *c, char *errstr,
                         size_t errstr_size) {
        rs_synthetic_traffic_t *t = NULL;
        double                  cw[COUNTRY_CNT], cn;
        int                     i, p, failing = 0;

        if (syn_conf_check(c, errstr, errstr_size) == -1)
                return NULL;
        t = calloc(1, sizeof(*t));
        if (!t)
                goto nomem;
        t->conf = *c;
        if ((c->regression_tenant &&
             !(t->regression_tenant = strdup(c->regression_tenant))) ||
            (c->regression_route &&
             !(t->regression_route = strdup(c->regression_route))) ||
            (c->failing_tenant &&
             !(t->failing_tenant = strdup(c->failing_tenant))) ||
            (c->failing_route &&
             !(t->failing_route = strdup(c->failing_route))))
                goto nomem;
        t->conf.regression_tenant = t->regression_tenant;
        t->conf.regression_route  = t->regression_route;
        t->conf.failing_tenant    = t->failing_tenant;
        t->conf.failing_route     = t->failing_route;

        rng_seed(&t->rng, c->seed ^ SYN_SALT_RUN);
        if (site_init(&t->site, c->seed, c->tenants, c->routes_per_tenant,
                      0.6) == -1 ||
            syn_tests_build(t) == -1 || syn_checks_build(t) == -1)
                goto nomem;

        for (i = 0; i < COUNTRY_CNT; i++) {
                cw[i] = countries[i].weight;
        }
        cn = geo_mean(country_net, cw, COUNTRY_CNT);
        for (p = 0; p < PROF_CNT; p++)
                t->lab_net[p] =
                    cn * geo_mean(conn_net,
                                  conn_by_device[syn_profiles[p].device],
                                  CONN_CNT);

        for (i = 0; i < t->test_cnt; i++)
                failing |= t->tests[i].failing;
        if (t->failing_tenant && !failing) {
                snprintf(errstr, errstr_size,
                         "synthetic traffic: tenant %s does not test route %s",
                         t->failing_tenant, t->failing_route);
                rs_synthetic_traffic_destroy(t);
                return NULL;
        }
        return t;

nomem:
        snprintf(errstr, errstr_size, "synthetic traffic: out of memory");
        rs_synthetic_traffic_destroy(t);
        return NULL;
}

void rs_synthetic_traffic_destroy(rs_synthetic_traffic_t *t) {
        if (!t)
                return;
        site_free(&t->site);
        free(t->tests);
        free(t->checks);
        free(t->regression_tenant);
        free(t->regression_route);
        free(t->failing_tenant);
        free(t->failing_route);
        free(t);
}

void rs_synthetic_traffic_next(rs_synthetic_traffic_t *t,
                               rs_synthetic_result_t  *r) {
        const syn_check_t *ck  = &t->checks[t->pos];
        const syn_test_t  *ts  = &t->tests[ck->test];
        const tenant_t    *tn  = &t->site.tenants[ts->tenant];
        const route_tpl_t *tpl = t->site.routes[ts->route].tpl;
        int                dev = syn_profiles[ck->profile].device;
        double             f = tn->speed, cpu = device_cpu[dev];
        double  net = t->lab_net[ck->profile] * syn_locations[ck->location].net;
        double  ttfb, render, largest, tbt, cls, dom, fcp, lcp, load;
        int64_t ts_ms =
            t->conf.start_ms + t->slot * t->conf.interval_ms + ck->phase_ms;
        int fail, err;

        t->n++;
        if (++t->pos == t->check_cnt) {
                t->pos = 0;
                t->slot++;
        }
        uuid_from(mix(t->conf.seed, SYN_SALT_RUN, t->n), t->run_id);

        /* Always the same draws, in the same order. */
        ttfb   = lognormal(&t->rng, tpl->ttfb * f * net * SYN_LAB_SPEED, 0.12);
        render = lognormal(
            &t->rng, tpl->render * f * cpu * sqrt(net) * SYN_LAB_SPEED, 0.12);
        largest = lognormal(
            &t->rng, tpl->largest * f * cpu * sqrt(net) * SYN_LAB_SPEED, 0.15);
        tbt  = lognormal(&t->rng, tpl->inp * cpu * 1.5, 0.3);
        cls  = lognormal(&t->rng, tpl->cls * 0.5, 0.3);
        dom  = lognormal(&t->rng, 500 * f * cpu * SYN_LAB_SPEED, 0.15);
        fail = chance(&t->rng, t->conf.failure_rate);
        err  = (int)below(&t->rng, (long)ARRAY_CNT(syn_errors));

        fcp  = ttfb + render;
        lcp  = fcp + largest;
        load = lcp + 0.5 * dom;

        t->last_regressed =
            ts->regressed && !t->conf.field_only &&
            ts_ms >= t->conf.regression_from_ms &&
            (t->conf.regression_to_ms == 0 || ts_ms < t->conf.regression_to_ms);
        if (t->last_regressed) {
                double k = t->conf.regression_factor;

                ttfb *= k;
                fcp *= k;
                lcp *= k;
                tbt *= k;
                load *= k;
        }
        t->last_forced = ts->failing && ts_ms >= t->conf.failing_from_ms;

        memset(r, 0, sizeof(*r));
        r->run_id          = t->run_id;
        r->tenant_id       = tn->name;
        r->test_id         = ts->test_id;
        r->route           = ts->route_name;
        r->url             = ts->url;
        r->timestamp_ms    = ts_ms;
        r->location        = syn_locations[ck->location].name;
        r->device_profile  = devices[dev].name;
        r->network_profile = syn_profiles[ck->profile].network;
        r->success         = 1;
        r->ttfb            = ms(clampd(ttfb, 15, 30000));
        r->fcp             = ms(clampd(fcp, r->ttfb + 10, 60000));
        r->lcp             = ms(clampd(lcp, r->fcp, 90000));
        r->load_time       = ms(clampd(load, r->lcp, 120000));
        r->tbt             = ms(clampd(tbt, 0, 30000));
        r->cls             = round(clampd(cls, 0, 1.0) * 1e4) / 1e4;

        if (t->last_forced || fail) {
                int has_ttfb = t->last_forced || syn_errors[err].has_ttfb;

                r->success = 0;
                r->error =
                    t->last_forced ? SYN_FORCED_FAILURE : syn_errors[err].msg;
                r->lcp = r->fcp = r->cls = r->tbt = r->load_time = NAN;
                if (!has_ttfb)
                        r->ttfb = NAN;
        }
}

uint64_t rs_synthetic_traffic_count(const rs_synthetic_traffic_t *t) {
        return t->n;
}

int64_t rs_synthetic_traffic_clock_ms(const rs_synthetic_traffic_t *t) {
        return t->conf.start_ms + t->slot * t->conf.interval_ms +
               t->checks[t->pos].phase_ms;
}

int rs_synthetic_traffic_tenant_count(const rs_synthetic_traffic_t *t) {
        return t->site.tenant_cnt;
}

const char *rs_synthetic_traffic_tenant(const rs_synthetic_traffic_t *t,
                                        int                           i) {
        if (i < 0 || i >= t->site.tenant_cnt)
                return NULL;
        return t->site.tenants[i].name;
}

int rs_synthetic_traffic_route_count(const rs_synthetic_traffic_t *t) {
        return t->site.route_cnt;
}

const char *rs_synthetic_traffic_route(const rs_synthetic_traffic_t *t, int i) {
        if (i < 0 || i >= t->site.route_cnt)
                return NULL;
        return t->site.routes[i].name;
}

int rs_synthetic_traffic_check_count(const rs_synthetic_traffic_t *t) {
        return t->check_cnt;
}

int rs_synthetic_traffic_check(const rs_synthetic_traffic_t *t, int i,
                               rs_synthetic_check_t *out) {
        const syn_check_t *ck;
        const syn_test_t  *ts;

        if (i < 0 || i >= t->check_cnt)
                return -1;
        ck                   = &t->checks[i];
        ts                   = &t->tests[ck->test];
        out->tenant_id       = t->site.tenants[ts->tenant].name;
        out->test_id         = ts->test_id;
        out->route           = ts->route_name;
        out->url             = ts->url;
        out->location        = syn_locations[ck->location].name;
        out->device_profile  = devices[syn_profiles[ck->profile].device].name;
        out->network_profile = syn_profiles[ck->profile].network;
        return 0;
}

int rs_synthetic_traffic_last_regressed(const rs_synthetic_traffic_t *t) {
        return t->last_regressed;
}

int rs_synthetic_traffic_last_forced_failure(const rs_synthetic_traffic_t *t) {
        return t->last_forced;
}
