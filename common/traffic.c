/*
 * traffic: deterministic synthetic RUM page views. See rumstream/traffic.h
 * for what is modelled.
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

struct rs_traffic_s {
        rs_traffic_conf_t conf;
        char             *regression_tenant;
        char             *regression_route;

        uint64_t s[4]; /* xoshiro256** state */
        uint64_t n;    /* events generated */
        double   step_ms;

        tenant_t *tenants;
        double   *tenant_cdf;
        route_t  *routes;
        double   *route_cdf;
        int       route_cnt;

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

static uint64_t next_u64(rs_traffic_t *t) {
        uint64_t *s      = t->s;
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
static double uniform(rs_traffic_t *t) {
        return (double)(next_u64(t) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n). The modulo bias is far below what matters
 * here. */
static long below(rs_traffic_t *t, long n) {
        return (long)(next_u64(t) % (uint64_t)n);
}

static int chance(rs_traffic_t *t, double p) {
        return uniform(t) < p;
}

/* Standard normal (Box-Muller; one of the pair is enough). */
static double normal(rs_traffic_t *t) {
        double u1 = 1.0 - uniform(t); /* (0, 1]: log() stays finite */
        double u2 = uniform(t);

        return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double lognormal(rs_traffic_t *t, double median, double sigma) {
        return median * exp(sigma * normal(t));
}

static int pick(rs_traffic_t *t, const double *weights, int cnt) {
        double total = 0, x;
        int    i;

        for (i = 0; i < cnt; i++)
                total += weights[i];
        x = uniform(t) * total;
        for (i = 0; i < cnt - 1; i++) {
                if (x < weights[i])
                        return i;
                x -= weights[i];
        }
        return cnt - 1;
}

static int pick_weighted(rs_traffic_t *t, const weighted_t *tab, int cnt) {
        double w[COUNTRY_CNT];
        int    i;

        for (i = 0; i < cnt && i < COUNTRY_CNT; i++)
                w[i] = tab[i].weight;
        return pick(t, w, i);
}

/* Index into a cumulative distribution (last entry 1). */
static int pick_cdf(rs_traffic_t *t, const double *cdf, int cnt) {
        double x  = uniform(t);
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
static long skewed(rs_traffic_t *t, long n, double power) {
        long i = (long)(pow(uniform(t), power) * (double)n);

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

static void hex_fill(rs_traffic_t *t, char *out, int digits) {
        static const char hex[] = "0123456789abcdef";
        uint64_t          r     = 0;
        int               i;

        for (i = 0; i < digits; i++) {
                if (i % 16 == 0)
                        r = next_u64(t);
                out[i] = hex[r & 0xf];
                r >>= 4;
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
        uint64_t      x;
        int           i;

        if (!c || c->tenants < 1 || c->tenants > 100000 ||
            c->routes_per_tenant < 1 || c->routes_per_tenant > 10000 ||
            !(c->events_per_sec > 0) || !isfinite(c->events_per_sec) ||
            c->max_disorder_ms < 0 || !(c->no_consent_ratio >= 0) ||
            c->no_consent_ratio > 1 || !(c->regression_factor > 0) ||
            !(c->tenant_skew >= 0 && c->tenant_skew <= 10) ||
            !isfinite(c->regression_factor))
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

        x = c->seed;
        for (i = 0; i < 4; i++)
                t->s[i] = splitmix64(&x);

        t->tenants    = calloc((size_t)c->tenants, sizeof(*t->tenants));
        t->tenant_cdf = zipf_cdf(c->tenants, c->tenant_skew);
        t->route_cnt  = c->routes_per_tenant;
        t->routes     = calloc((size_t)t->route_cnt, sizeof(*t->routes));
        t->route_cdf  = zipf_cdf(t->route_cnt, 1.0);
        if (!t->tenants || !t->tenant_cdf || !t->routes || !t->route_cdf)
                goto fail;

        for (i = 0; i < c->tenants; i++) {
                tenant_t *tn = &t->tenants[i];
                uint64_t  h  = c->seed ^ (0x74656e61ULL * (uint64_t)(i + 1));

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

        for (i = 0; i < t->route_cnt; i++) {
                route_t *r = &t->routes[i];

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
        return t;

fail:
        rs_traffic_destroy(t);
        return NULL;
}

void rs_traffic_destroy(rs_traffic_t *t) {
        if (!t)
                return;
        free(t->tenants);
        free(t->tenant_cdf);
        free(t->routes);
        free(t->route_cdf);
        free(t->regression_tenant);
        free(t->regression_route);
        free(t);
}

static void session_start(rs_traffic_t *t, session_t *s) {
        double conn_w[CONN_CNT], browser_w[BROWSER_CNT];
        int    i;

        s->tenant  = pick_cdf(t, t->tenant_cdf, t->conf.tenants);
        s->device  = pick_weighted(t, devices, DEV_CNT);
        s->country = pick_weighted(t, countries, COUNTRY_CNT);
        for (i = 0; i < CONN_CNT; i++)
                conn_w[i] = conn_by_device[s->device][i];
        s->conn = pick(t, conn_w, CONN_CNT);
        for (i = 0; i < BROWSER_CNT; i++)
                browser_w[i] = browser_by_device[s->device][i];
        s->browser = pick(t, browser_w, BROWSER_CNT);
        s->consent = !chance(t, t->conf.no_consent_ratio);
        s->user    = chance(t, 0.3) ? 1 + skewed(t, 50000, 2.0) : -1;
        if (s->user >= 0)
                snprintf(s->user_id, sizeof(s->user_id), "user-%ld", s->user);
        hex_fill(t, s->id, 32);
        /* 1 + geometric: about six page views per session. */
        s->remaining = 1;
        while (s->remaining < 100 && chance(t, 5.0 / 6.0))
                s->remaining++;
        s->views = 0;
}

/* Appends printf output to t->url at *o, never past its end. */
static void url_add(rs_traffic_t *t, size_t *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void url_add(rs_traffic_t *t, size_t *o, const char *fmt, ...) {
        va_list ap;
        int     n;

        if (*o >= sizeof(t->url) - 1)
                return;
        va_start(ap, fmt);
        n = vsnprintf(t->url + *o, sizeof(t->url) - *o, fmt, ap);
        va_end(ap);
        if (n > 0)
                *o += (size_t)n < sizeof(t->url) - *o ? (size_t)n
                                                      : sizeof(t->url) - *o - 1;
}

static void build_url(rs_traffic_t *t, const tenant_t *tn, int tenant_idx,
                      const route_t *r, int route_idx) {
        const route_tpl_t *tpl = r->tpl;
        size_t             o   = 0;
        char               buf[128];
        uint64_t           h;

        url_add(t, &o, "https://%s", tn->host);
        switch (tpl->kind) {
        case K_STATIC:
        case K_EXTRA:
                url_add(t, &o, "%s",
                        tpl->kind == K_EXTRA ? r->name : tpl->prefix);
                /* Some links carry a trailing slash; normalization must
                 * not make it another route. */
                if (strcmp(tpl->prefix, "/") && chance(t, 0.04))
                        url_add(t, &o, "/");
                break;
        case K_ID:
                if (!strcmp(tpl->prefix, "/products/"))
                        url_add(t, &o, "%s%ld%s", tpl->prefix,
                                10000 + skewed(t, 90000, 2.5), tpl->suffix);
                else
                        url_add(t, &o, "%s%ld%s", tpl->prefix,
                                3000000 + below(t, 6000000), tpl->suffix);
                break;
        case K_UUID:
                uuid_from(t->conf.seed ^ ((uint64_t)tenant_idx << 32) ^
                              (uint64_t)skewed(t, tpl->slugs, 2.0),
                          buf);
                url_add(t, &o, "%s%s", tpl->prefix, buf);
                break;
        case K_HEX:
                /* Object ids: ensure a letter so it is never all digits. */
                hex_fill(t, buf, 24);
                buf[0] = "abcdef"[below(t, 6)];
                url_add(t, &o, "%s%s", tpl->prefix, buf);
                break;
        case K_TOKEN: {
                static const char b62[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "abcdefghijklmnopqrstuvwxyz"
                                          "0123456789";
                int               i;

                for (i = 0; i < 22; i++)
                        buf[i] = b62[below(t, 62)];
                /* Mixed letters and digits, and not all hex. */
                buf[3]  = "0123456789"[below(t, 10)];
                buf[11] = "ghijkmnpqrstuvwxyzGHJKLMNPQRSTUVWXYZ"[below(t, 36)];
                buf[22] = '\0';
                url_add(t, &o, "%s%s", tpl->prefix, buf);
                break;
        }
        case K_SLUG:
                h = t->conf.seed * 31 + ((uint64_t)tenant_idx << 40) +
                    ((uint64_t)route_idx << 20) +
                    (uint64_t)skewed(t, tpl->slugs, 3.0);
                slug_from(h, buf, sizeof(buf));
                url_add(t, &o, "%s%s", tpl->prefix, buf);
                break;
        case K_CATEGORY:
                url_add(
                    t, &o, "%s%s", tpl->prefix,
                    categories[skewed(t, (long)ARRAY_CNT(categories), 1.5)]);
                break;
        case K_SEARCH: {
                int nw = 1 + (int)below(t, 3), i;

                url_add(t, &o, "%s?q=", tpl->prefix);
                for (i = 0; i < nw; i++)
                        url_add(t, &o, "%s%s", i ? "+" : "",
                                words[below(t, (long)ARRAY_CNT(words))]);
                if (chance(t, 0.2))
                        url_add(t, &o, "&page=%ld", 2 + below(t, 5));
                break;
        }
        }

        if (tpl->kind != K_SEARCH && chance(t, 0.15))
                url_add(t, &o, "?utm_source=%s&utm_medium=%s",
                        utm_sources[below(t, (long)ARRAY_CNT(utm_sources))],
                        chance(t, 0.5) ? "email" : "social");
        if (chance(t, 0.06))
                url_add(t, &o, "#%s",
                        tpl->kind == K_ID && !strcmp(tpl->suffix, "")
                            ? "reviews"
                            : fragments[below(t, (long)ARRAY_CNT(fragments))]);
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
        session_t         *s = &t->sessions[below(t, SESSION_SLOTS)];
        const tenant_t    *tn;
        const route_t     *r;
        const route_tpl_t *tpl;
        double             base, net, cpu, f, ttfb, fcp, lcp, inp, cls;
        int                route_idx, i;
        int64_t            ts;

        if (s->remaining == 0)
                session_start(t, s);
        tn        = &t->tenants[s->tenant];
        route_idx = pick_cdf(t, t->route_cdf, t->route_cnt);
        /* Sessions enter through the home page or a landing link more
         * often than through the checkout. */
        if (s->views == 0 && route_idx >= 4 && chance(t, 0.5))
                route_idx = (int)below(t, 4);
        r   = &t->routes[route_idx];
        tpl = r->tpl;

        memset(ev, 0, sizeof(*ev));
        for (i = 0; i < RS_METRIC_CNT; i++)
                ev->metrics[i] = NAN;

        base = (double)t->conf.start_ms + (double)t->n * t->step_ms;
        ts   = (int64_t)floor(base);
        if (t->conf.max_disorder_ms > 0)
                ts -= (int64_t)below(t, (long)t->conf.max_disorder_ms + 1);
        t->n++;

        uuid_from(t->conf.seed ^ (t->n * 0x9e3779b97f4a7c15ULL), t->event_id);
        build_url(t, tn, s->tenant, r, route_idx);

        ev->event_id     = t->event_id;
        ev->tenant_id    = tn->name;
        ev->session_id   = s->id;
        ev->user_id      = s->user >= 0 ? s->user_id : NULL;
        ev->timestamp_ms = ts;
        ev->url          = t->url;
        ev->navigation_type =
            nav_names[pick(t, s->views == 0 ? nav_first : nav_later, NAV_CNT)];
        ev->device_type     = devices[s->device].name;
        ev->country         = countries[s->country].name;
        ev->connection_type = conn_names[s->conn];
        ev->browser         = browser_names[s->browser];
        ev->consent         = s->consent;
        ev->sample_rate     = tn->sample_rate;

        net = conn_net[s->conn] * country_net[s->country];
        cpu = device_cpu[s->device];
        f   = tn->speed;

        ttfb = lognormal(t, tpl->ttfb * f * net, 0.45);
        fcp  = ttfb + lognormal(t, tpl->render * f * cpu * sqrt(net), 0.4);
        lcp  = fcp;
        if (!chance(t, 0.15))
                lcp += lognormal(t, tpl->largest * f * cpu * sqrt(net), 0.6);
        inp = chance(t, 0.6) ? lognormal(t, tpl->inp * cpu, 0.55) : NAN;
        cls = chance(t, 0.45) ? 0.0 : lognormal(t, tpl->cls, 0.8);

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
        if (chance(t, 0.8)) {
                double dns = 0, tcp = 0, tls = 0, pre, conn, resp, dom;

                if (!chance(t, 0.45)) /* else cached */
                        dns = lognormal(t, 25 * country_net[s->country], 0.7);
                if (!chance(t, 0.4)) { /* else a reused connection */
                        tcp = lognormal(t, 45 * net, 0.5);
                        tls = lognormal(t, 35 * net, 0.5);
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
                resp = ms(clampd(lognormal(t, 40 * conn_net[s->conn], 0.6), 1,
                                 20000));
                dom  = ms(clampd(lognormal(t, 500 * f * cpu, 0.5), 5, 30000));
                ev->metrics[RS_METRIC_NAV_DNS]     = dns;
                ev->metrics[RS_METRIC_NAV_CONNECT] = conn;
                ev->metrics[RS_METRIC_NAV_TLS]     = tls;
                ev->metrics[RS_METRIC_NAV_REQUEST] =
                    ms(fmax(ttfb - dns - conn, 0));
                ev->metrics[RS_METRIC_NAV_RESPONSE] = resp;
                ev->metrics[RS_METRIC_NAV_DOM]      = dom;
                ev->metrics[RS_METRIC_NAV_LOAD] =
                    ms(clampd(lognormal(t, 12 * cpu, 0.9), 0, 10000));
        }

        if ((tpl->custom & CT_API) && chance(t, 0.7))
                add_custom(ev, "api.latency",
                           ms(clampd(lognormal(t, 180 * f, 0.5), 1, 60000)));
        if ((tpl->custom & CT_SEARCH) && chance(t, 0.9))
                add_custom(ev, "search.results",
                           ms(clampd(lognormal(t, 350 * f, 0.5), 1, 60000)));
        if ((tpl->custom & CT_CHECKOUT) && chance(t, 0.5))
                add_custom(ev, "checkout.payment",
                           ms(clampd(lognormal(t, 900, 0.6), 1, 60000)));

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
        return t->tenants[i].name;
}

double rs_traffic_tenant_sample_rate(const rs_traffic_t *t, int i) {
        if (i < 0 || i >= t->conf.tenants)
                return NAN;
        return t->tenants[i].sample_rate;
}

int rs_traffic_route_count(const rs_traffic_t *t) {
        return t->route_cnt;
}

const char *rs_traffic_route(const rs_traffic_t *t, int i) {
        if (i < 0 || i >= t->route_cnt)
                return NULL;
        return t->routes[i].name;
}

int rs_traffic_last_regressed(const rs_traffic_t *t) {
        return t->last_regressed;
}
