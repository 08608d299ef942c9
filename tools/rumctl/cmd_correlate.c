/*
 * rumctl correlate: does a tenant's synthetic (lab) testing predict what its
 * real users see? Reads the synthetic-correlator's tables and puts them in
 * plain words.
 *
 * The statistics are the processor's (rum_synthetic_correlations,
 * performance_baselines, issues): this command picks the rows of a window
 * and presents them. Coverage alone is worked out here, with common/
 * correlate, from the page views (rum_segment_buckets) and the lab profiles
 * (synthetic_tests) of the window asked for, which need not be the
 * processor's correlation window.
 *
 * Time is event time: the window ends at the tenant's latest evaluation,
 * not at the wall clock, so a backfill of last year reads like live data.
 * Evaluations count when evaluated_at is in (end - window, end]; buckets
 * (page views, lab runs) when bucket_start is in [end - window, end), i.e.
 * the buckets those evaluations judged.
 *
 * All queries run in one read-only snapshot, so rows written meanwhile
 * cannot make the sections disagree. Strings point into the PGresults,
 * which live until the end of the command.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/correlate.h"
#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumstream/vitals.h"
#include "rumctl.h"

#define CMD "correlate"

#define DEFAULT_WINDOW     "6h"
#define MAX_WINDOW_S       (3650LL * 86400)
#define COVERAGE_MIN_SHARE 0.05

/*
 * Timestamps come back as ms since the epoch ("(extract(epoch FROM t) *
 * 1000)::bigint"), formatted in C for text and JSON alike. Windowed queries
 * take the window's end as PostgreSQL printed it (so it reads back exactly)
 * and its length as an interval.
 */

enum {
        E_ROUTE,
        E_DEVICE,
        E_METRIC,
        E_EVALUATED_AT,
        E_WINDOW_START,
        E_POINTS,
        E_LAB_RUNS,
        E_FIELD_WEIGHT,
        E_PEARSON_R,
        E_PEARSON_P,
        E_PEARSON_CI_LOW,
        E_PEARSON_CI_HIGH,
        E_SPEARMAN_RHO,
        E_SPEARMAN_P,
        E_SPEARMAN_CI_LOW,
        E_SPEARMAN_CI_HIGH,
        E_LAB_MEDIAN,
        E_FIELD_P75,
        E_VARIANCE_RATIO,
        E_VERDICT,
        E_CORRELATED,
        E_CNT
};

static const rumctl_col_t eval_cols[E_CNT] = {
    {"route", RUMCTL_COL_STR},           {"device", RUMCTL_COL_STR},
    {"metric", RUMCTL_COL_STR},          {"evaluated_at", RUMCTL_COL_TIME},
    {"window_start", RUMCTL_COL_TIME},   {"points", RUMCTL_COL_NUM},
    {"lab_runs", RUMCTL_COL_NUM},        {"field_weight", RUMCTL_COL_NUM},
    {"pearson_r", RUMCTL_COL_NUM},       {"pearson_p", RUMCTL_COL_NUM},
    {"pearson_ci_low", RUMCTL_COL_NUM},  {"pearson_ci_high", RUMCTL_COL_NUM},
    {"spearman_rho", RUMCTL_COL_NUM},    {"spearman_p", RUMCTL_COL_NUM},
    {"spearman_ci_low", RUMCTL_COL_NUM}, {"spearman_ci_high", RUMCTL_COL_NUM},
    {"lab_median", RUMCTL_COL_NUM},      {"field_p75", RUMCTL_COL_NUM},
    {"variance_ratio", RUMCTL_COL_NUM},  {"verdict", RUMCTL_COL_STR},
    {"correlated", RUMCTL_COL_BOOL}};

/* Every evaluation of the window (with --detailed) or the latest per key,
 * grouped by key, newest first. Metrics in the order lcp, fcp, ttfb, cls
 * (others after them, alphabetically); routes and devices in byte order. */
static const char evals_sql[] =
    "SELECT route, device, metric, "
    "(extract(epoch FROM evaluated_at) * 1000)::bigint, "
    "(extract(epoch FROM window_start) * 1000)::bigint, "
    "points, lab_runs, field_weight, "
    "pearson_r, pearson_p, pearson_ci_low, pearson_ci_high, "
    "spearman_rho, spearman_p, spearman_ci_low, spearman_ci_high, "
    "lab_median, field_p75, variance_ratio, verdict, correlated "
    "FROM (SELECT *, row_number() OVER (PARTITION BY route, device, metric "
    "ORDER BY evaluated_at DESC) AS nth FROM rum_synthetic_correlations "
    "WHERE tenant_id = $1 AND ($2 = '' OR route = $2) "
    "AND evaluated_at > $3::timestamptz - $4::interval "
    "AND evaluated_at <= $3::timestamptz) c "
    "WHERE nth = 1 OR $5::boolean "
    "ORDER BY route COLLATE \"C\", device COLLATE \"C\", "
    "array_position(ARRAY['lcp', 'fcp', 'ttfb', 'cls'], metric), "
    "metric COLLATE \"C\", evaluated_at DESC";

enum {
        B_ROUTE,
        B_DEVICE,
        B_METRIC,
        B_EVALUATED_AT,
        B_VALID,
        B_LAB_BASELINE,
        B_FIELD_BASELINE,
        B_GAP_BASELINE,
        B_GAP_RECENT,
        B_GAP_Z,
        B_LAB_Z,
        B_FIELD_Z,
        B_CAUSE,
        B_ISSUE_ID,
        B_CNT
};

static const rumctl_col_t baseline_cols[B_CNT] = {
    {"route", RUMCTL_COL_STR},          {"device", RUMCTL_COL_STR},
    {"metric", RUMCTL_COL_STR},         {"evaluated_at", RUMCTL_COL_TIME},
    {"valid", RUMCTL_COL_BOOL},         {"lab_baseline", RUMCTL_COL_NUM},
    {"field_baseline", RUMCTL_COL_NUM}, {"gap_baseline", RUMCTL_COL_NUM},
    {"gap_recent", RUMCTL_COL_NUM},     {"gap_z", RUMCTL_COL_NUM},
    {"lab_z", RUMCTL_COL_NUM},          {"field_z", RUMCTL_COL_NUM},
    {"cause", RUMCTL_COL_STR},          {"issue_id", RUMCTL_COL_STR}};

static const char baselines_sql[] =
    "SELECT route, device, metric, "
    "(extract(epoch FROM evaluated_at) * 1000)::bigint, valid, "
    "lab_baseline, field_baseline, gap_baseline, gap_recent, "
    "gap_z, lab_z, field_z, cause, issue_id FROM performance_baselines "
    "WHERE tenant_id = $1 AND ($2 = '' OR route = $2)";

enum {
        I_ISSUE_ID,
        I_KIND,
        I_STATE,
        I_SEVERITY,
        I_TITLE,
        I_ROUTE,
        I_METRIC,
        I_OPENED_AT,
        I_CNT
};

static const rumctl_col_t issue_cols[I_CNT] = {
    {"issue_id", RUMCTL_COL_STR}, {"kind", RUMCTL_COL_STR},
    {"state", RUMCTL_COL_STR},    {"severity", RUMCTL_COL_STR},
    {"title", RUMCTL_COL_STR},    {"route", RUMCTL_COL_STR},
    {"metric", RUMCTL_COL_STR},   {"opened_at", RUMCTL_COL_TIME}};

/* Open now, whatever the window: an issue is a state, not an event. */
static const char issues_sql[] =
    "SELECT issue_id, kind, state, severity, title, route, metric, "
    "(extract(epoch FROM opened_at) * 1000)::bigint FROM issues "
    "WHERE tenant_id = $1 "
    "AND kind IN ('lab_field_gap', 'synthetic_failure') "
    "AND state <> 'resolved' AND ($2 = '' OR route = $2) "
    "ORDER BY opened_at, issue_id";

/* Tenant-wide, as the processor judges coverage. The buckets of the window
 * are those its evaluations judged: bucket_start in [end - window, end). */
static const char segments_sql[] =
    "SELECT segment_type, segment_value, sum(page_views) "
    "FROM rum_segment_buckets WHERE tenant_id = $1 "
    "AND bucket_start >= $2::timestamptz - $3::interval "
    "AND bucket_start < $2::timestamptz "
    "GROUP BY 1, 2 ORDER BY 1, 3 DESC, segment_value COLLATE \"C\"";

/* Every profile that ran, failing or not: a failing profile is still the
 * test meant to cover its segment, and its failures are an issue of their
 * own (synthetic_failure). */
static const char profiles_sql[] =
    "SELECT DISTINCT device, network_profile, location FROM synthetic_tests "
    "WHERE tenant_id = $1 "
    "AND bucket_start >= $2::timestamptz - $3::interval "
    "AND bucket_start < $2::timestamptz ORDER BY 1, 2, 3";

static const char *const seg_type_names[RS_CORRELATE_SEG_CNT] = {
    "device", "connection", "country"};

/* One (route, device, metric): its rows in ctx->evals. */
typedef struct corr_s {
        int first; /* the latest evaluation */
        int cnt;   /* evaluations, newest first (1 without --detailed) */
        int base;  /* its row in ctx->baselines, or -1 */
} corr_t;

typedef struct ctx_s {
        rs_pg_t    *pg;
        const char *tenant;
        const char *route; /* "" for every route */
        const char *window;
        int         detailed;
        int64_t     min_points;

        int     have_window;
        int64_t start_ms, end_ms;

        PGresult *evals, *baselines, *issues, *segments, *profiles;
        corr_t   *corrs;
        size_t    corr_cnt;

        rs_correlate_segment_t *segs;
        size_t                  seg_cnt;
        rs_correlate_profile_t *profs;
        size_t                  prof_cnt;
        rs_correlate_coverage_t cov;
        char                   *coverage_text; /* rs_correlate_recommend() */

        char **recs;
        size_t rec_cnt, rec_cap;

        char errstr[1024];
} ctx_t;

static void usage(FILE *fp) {
        rs_correlate_conf_t defaults;

        rs_correlate_conf_defaults(&defaults);
        fprintf(
            fp,
            "Usage: rumctl correlate --tenant-id T [--route R] [--time-window "
            "6h]\n"
            "                        [--detailed] [--json] [--pg-dsn DSN] "
            "[--wait-ms MS]\n"
            "\n"
            "Whether the synthetic (lab) tests of a tenant predict what its "
            "real users\n"
            "(the field) see. The statistics are the synthetic-correlator's; "
            "this reads\n"
            "its tables and says what they mean.\n"
            "\n"
            "Window (event time): it ends at the tenant's latest evaluated_at "
            "in\n"
            "rum_synthetic_correlations, not now (the data may be historical), "
            "and spans\n"
            "--time-window back from there. Evaluations count with "
            "evaluated_at in\n"
            "(end - W, end], page views and lab runs with bucket_start in [end "
            "- W, end).\n"
            "\n"
            "Output, top to bottom:\n"
            "  table            one line per route, device and metric (sorted "
            "by route,\n"
            "                   device, then lcp, fcp, ttfb, cls, others "
            "alphabetically)\n"
            "                   with its latest evaluation in the window: "
            "paired points,\n"
            "                   lab median, field p75 (ms; CLS with 3 "
            "decimals), gap =\n"
            "                   (field p75 - lab median) / lab median, "
            "Spearman rho and\n"
            "                   p, verdict, and whether the lab tracks the "
            "field (a\n"
            "                   significant positive rho; '-' without enough "
            "data)\n"
            "  Coverage         per device, connection and country: the share "
            "of the\n"
            "                   window's page views that no lab profile run in "
            "the\n"
            "                   window covers, then each uncovered segment of "
            "at least\n"
            "                   %.0f%% in words. Always tenant-wide, also with "
            "--route\n"
            "  Issues           open lab_field_gap and synthetic_failure "
            "issues (open\n"
            "                   now, whenever they were opened)\n"
            "  Recommendations  the coverage sentences, then per table line:\n"
            "                     field_slower: make the test closer to real "
            "users\n"
            "                     lab_slower: check the test's network and "
            "location\n"
            "                     not tracking with enough data: the test may "
            "not\n"
            "                     exercise what users see\n"
            "                     not_enough_data: keep the test running (%zu "
            "points)\n"
            "                     aligned and tracking: nothing\n"
            "\n"
            "Options:\n"
            "  --tenant-id T      the tenant (required)\n"
            "  --route R          only route R (table, evaluations, issues and "
            "their\n"
            "                     recommendations; coverage stays "
            "tenant-wide)\n"
            "  --time-window W    a whole number and a unit s, m, h or d "
            "(default %s)\n"
            "  --detailed         also every evaluation in the window per "
            "table line,\n"
            "                     newest first, and its lab-field gap "
            "baseline\n"
            "  --json             one JSON object instead: tenant_id, route, "
            "window_start,\n"
            "                     window_end, correlations (the table lines; "
            "with\n"
            "                     --detailed also evaluations and baseline), "
            "coverage,\n"
            "                     lab_profiles, issues, recommendations; "
            "missing numbers\n"
            "                     are null\n"
            "  --pg-dsn DSN       libpq connection string (also --dsn; "
            "default\n"
            "                     $RUMSTREAM_PG_DSN)\n"
            "  --wait-ms MS       how long to retry connecting (default "
            "10000)\n"
            "  -h, --help         this text\n"
            "\n"
            "Without an evaluation in the window it prints \"no correlations "
            "for tenant T\"\n"
            "(then the open issues, if any) and exits 0; with --json, an "
            "object without\n"
            "correlations.\n",
            100 * COVERAGE_MIN_SHARE, defaults.min_points, DEFAULT_WINDOW);
}

/* The verdict as common/correlate names it, or -1. */
static int verdict_of(const PGresult *res, int r) {
        const char *s = PQgetvalue(res, r, E_VERDICT);
        int         v;

        for (v = RS_CORRELATE_NOT_ENOUGH_DATA; v <= RS_CORRELATE_LAB_SLOWER;
             v++)
                if (!strcmp(s, rs_correlate_verdict_name(v)))
                        return v;
        return -1;
}

/* ---- Formatting -------------------------------------------------------- */

static int is_ms_metric(const char *metric) {
        rs_metric_t m;

        return rs_metric_from_name(metric, &m) == 0 &&
               !strcmp(rs_metric_unit(m), "ms");
}

/* A level of \p metric: "2100 ms", "0.052" (CLS), or "-". */
static void format_value(const char *metric, double v, char *out, size_t size) {
        rs_metric_t m;

        if (!isfinite(v))
                snprintf(out, size, "-");
        else if (is_ms_metric(metric))
                snprintf(out, size, "%.0f ms", v);
        else if (rs_metric_from_name(metric, &m) == 0)
                snprintf(out, size, "%.3f", v);
        else
                snprintf(out, size, "%g", v);
}

/* A signed percentage, "+52%", "-8%", "0%". */
static void format_pct(double ratio, char *out, size_t size) {
        double pct = round(100 * ratio);

        if (!isfinite(pct))
                snprintf(out, size, "-");
        else if (pct == 0)
                snprintf(out, size, "0%%");
        else
                snprintf(out, size, "%+.0f%%", pct);
}

static void format_coef(double v, char *out, size_t size) {
        if (!isfinite(v))
                snprintf(out, size, "-");
        else
                snprintf(out, size, "%.2f", v);
}

static void format_p(double p, char *out, size_t size) {
        if (!isfinite(p))
                snprintf(out, size, "-");
        else if (p < 0.001)
                snprintf(out, size, "<0.001");
        else
                snprintf(out, size, "%.3f", p);
}

static void format_ci(double lo, double hi, char *out, size_t size) {
        if (!isfinite(lo) || !isfinite(hi))
                snprintf(out, size, "-");
        else
                snprintf(out, size, "[%.2f, %.2f]", lo, hi);
}

static void format_z(double z, char *out, size_t size) {
        if (!isfinite(z))
                snprintf(out, size, "-");
        else
                snprintf(out, size, "%+.1f", z);
}

/* ---- Loading ----------------------------------------------------------- */

static PGresult *query(ctx_t *ctx, const char *sql, int nparams,
                       const char *const *params) {
        PGresult *res = rs_pg_query(ctx->pg, sql, nparams, params, ctx->errstr,
                                    sizeof(ctx->errstr));

        if (!res)
                rs_log_error("%s", ctx->errstr);
        return res;
}

static int same_key(const PGresult *res, int a, int b) {
        int c;

        for (c = E_ROUTE; c <= E_METRIC; c++)
                if (strcmp(PQgetvalue(res, a, c), PQgetvalue(res, b, c)))
                        return 0;
        return 1;
}

/* Groups the evaluations (ordered by key, newest first) by key. */
static int group_evals(ctx_t *ctx) {
        int n = PQntuples(ctx->evals), r;

        ctx->corrs = calloc(n > 0 ? (size_t)n : 1, sizeof(*ctx->corrs));
        if (!ctx->corrs) {
                rs_log_error("out of memory");
                return -1;
        }
        for (r = 0; r < n; r++) {
                if (r > 0 && same_key(ctx->evals, r - 1, r)) {
                        ctx->corrs[ctx->corr_cnt - 1].cnt++;
                        continue;
                }
                ctx->corrs[ctx->corr_cnt].first = r;
                ctx->corrs[ctx->corr_cnt].cnt   = 1;
                ctx->corrs[ctx->corr_cnt].base  = -1;
                ctx->corr_cnt++;
        }
        return 0;
}

static void attach_baselines(ctx_t *ctx) {
        int    n = PQntuples(ctx->baselines), r, c;
        size_t i;

        for (i = 0; i < ctx->corr_cnt; i++) {
                int e = ctx->corrs[i].first;

                for (r = 0; r < n && ctx->corrs[i].base < 0; r++) {
                        for (c = 0; c < 3; c++)
                                if (strcmp(
                                        PQgetvalue(ctx->evals, e, E_ROUTE + c),
                                        PQgetvalue(ctx->baselines, r,
                                                   B_ROUTE + c)))
                                        break;
                        if (c == 3)
                                ctx->corrs[i].base = r;
                }
        }
}

/* Page views per segment and the lab profiles of the window, through
 * rs_correlate_coverage(). */
static int load_coverage(ctx_t *ctx, const char *const *params) {
        int    n, r;
        size_t size;

        ctx->segments = query(ctx, segments_sql, 3, params);
        if (!ctx->segments)
                return -1;
        ctx->profiles = query(ctx, profiles_sql, 3, params);
        if (!ctx->profiles)
                return -1;

        n         = PQntuples(ctx->segments);
        ctx->segs = calloc(n > 0 ? (size_t)n : 1, sizeof(*ctx->segs));
        if (!ctx->segs)
                goto oom;
        for (r = 0; r < n; r++) {
                rs_correlate_segment_t *seg = &ctx->segs[ctx->seg_cnt];
                double views = rumctl_pg_num(ctx->segments, r, 2);

                if (!isfinite(views) || views < 0) {
                        rs_log_warn("segment %s=%s: page views %s left out",
                                    PQgetvalue(ctx->segments, r, 0),
                                    PQgetvalue(ctx->segments, r, 1),
                                    PQgetvalue(ctx->segments, r, 2));
                        continue;
                }
                seg->type       = PQgetvalue(ctx->segments, r, 0);
                seg->value      = PQgetvalue(ctx->segments, r, 1);
                seg->page_views = views;
                ctx->seg_cnt++;
        }

        n          = PQntuples(ctx->profiles);
        ctx->profs = calloc(n > 0 ? (size_t)n : 1, sizeof(*ctx->profs));
        if (!ctx->profs)
                goto oom;
        for (r = 0; r < n; r++) {
                ctx->profs[r].device   = PQgetvalue(ctx->profiles, r, 0);
                ctx->profs[r].network  = PQgetvalue(ctx->profiles, r, 1);
                ctx->profs[r].location = PQgetvalue(ctx->profiles, r, 2);
        }
        ctx->prof_cnt = (size_t)n;

        if (rs_correlate_coverage(ctx->profs, ctx->prof_cnt, ctx->segs,
                                  ctx->seg_cnt, &ctx->cov) != 0) {
                rs_log_error("coverage: bad input");
                return -1;
        }
        size = rs_correlate_recommend(ctx->segs, ctx->seg_cnt,
                                      COVERAGE_MIN_SHARE, NULL, 0) +
               1;
        ctx->coverage_text = malloc(size);
        if (!ctx->coverage_text)
                goto oom;
        rs_correlate_recommend(ctx->segs, ctx->seg_cnt, COVERAGE_MIN_SHARE,
                               ctx->coverage_text, size);
        return 0;
oom:
        rs_log_error("out of memory");
        return -1;
}

/* ---- Recommendations --------------------------------------------------- */

static int add_rec(ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Adds a sentence unless it is there already (not_enough_data says the
 * same of every metric of a route and device). @returns 0 or -1. */
static int add_rec(ctx_t *ctx, const char *fmt, ...) {
        char    buf[1024];
        va_list ap;
        size_t  i;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        rumctl_flatten(buf);
        for (i = 0; i < ctx->rec_cnt; i++)
                if (!strcmp(ctx->recs[i], buf))
                        return 0;
        if (ctx->rec_cnt == ctx->rec_cap) {
                size_t cap  = ctx->rec_cap ? 2 * ctx->rec_cap : 16;
                char **recs = realloc(ctx->recs, cap * sizeof(*recs));

                if (!recs)
                        goto oom;
                ctx->recs    = recs;
                ctx->rec_cap = cap;
        }
        ctx->recs[ctx->rec_cnt] = strdup(buf);
        if (!ctx->recs[ctx->rec_cnt])
                goto oom;
        ctx->rec_cnt++;
        return 0;
oom:
        rs_log_error("out of memory");
        return -1;
}

static void upper(const char *s, char *out, size_t size) {
        size_t i;

        for (i = 0; s[i] && i + 1 < size; i++)
                out[i] = (char)toupper((unsigned char)s[i]);
        out[i] = '\0';
}

/* The sentences of one key's latest evaluation (none when the lab is at
 * the field's level and tracks it). */
static int recommend_row(ctx_t *ctx, int r) {
        const PGresult *res    = ctx->evals;
        const char     *route  = PQgetvalue(res, r, E_ROUTE);
        const char     *device = PQgetvalue(res, r, E_DEVICE);
        const char     *metric = PQgetvalue(res, r, E_METRIC);
        double          lab    = rumctl_pg_num(res, r, E_LAB_MEDIAN),
               field           = rumctl_pg_num(res, r, E_FIELD_P75),
               ratio           = rumctl_pg_num(res, r, E_VARIANCE_RATIO);
        int points             = (int)rumctl_pg_num(res, r, E_POINTS),
            verdict            = verdict_of(res, r);
        char m[32], l_str[32], f_str[32], rho[16], p[16];

        upper(metric, m, sizeof(m));
        format_value(metric, lab, l_str, sizeof(l_str));
        format_value(metric, field, f_str, sizeof(f_str));

        if (verdict == RS_CORRELATE_NOT_ENOUGH_DATA) {
                if (points < ctx->min_points)
                        return add_rec(ctx,
                                       "%s (%s): only %d paired point%s; keep "
                                       "the test running (%" PRId64
                                       " are needed)",
                                       route, device, points,
                                       points == 1 ? "" : "s", ctx->min_points);
                /* Enough points, yet no verdict: no level to compare with,
                 * or a series that never changed (correlate.h). */
                if (lab <= 0 && field > 0)
                        return add_rec(ctx,
                                       "%s on %s (%s): the lab measures 0 "
                                       "while real users see p75 %s; the test "
                                       "may not exercise what users see",
                                       m, route, device, f_str);
                if (lab > 0)
                        return add_rec(ctx,
                                       "%s on %s (%s): the lab or real users "
                                       "did not vary over %d points, so "
                                       "whether they move together cannot be "
                                       "judged",
                                       m, route, device, points);
                return 0;
        }

        if (verdict == RS_CORRELATE_FIELD_SLOWER &&
            add_rec(ctx,
                    "%s on %s (%s): real users are %.0f%% slower than the lab "
                    "(p75 %s vs lab median %s); make the test closer to real "
                    "users (slower network or CPU throttling, a cold cache, "
                    "third-party tags)",
                    m, route, device, 100 * ratio, f_str, l_str) == -1)
                return -1;
        if (verdict == RS_CORRELATE_LAB_SLOWER) {
                /* "A is X% slower than B" is (A - B) / B either way round,
                 * so here it is relative to the field. */
                char pct[32] = "";

                if (field > 0)
                        snprintf(pct, sizeof(pct), " %.0f%%",
                                 100 * (lab - field) / field);
                if (add_rec(ctx,
                            "%s on %s (%s): the lab is%s slower than real "
                            "users (lab median %s vs p75 %s); check the "
                            "test's network and location",
                            m, route, device, pct, l_str, f_str) == -1)
                        return -1;
        }
        if (verdict >= 0 && !rumctl_pg_bool(res, r, E_CORRELATED)) {
                format_coef(rumctl_pg_num(res, r, E_SPEARMAN_RHO), rho,
                            sizeof(rho));
                format_p(rumctl_pg_num(res, r, E_SPEARMAN_P), p, sizeof(p));
                return add_rec(ctx,
                               "%s on %s (%s): the lab does not move with "
                               "real users (Spearman rho %s, p %s); the test "
                               "may not exercise what users see",
                               m, route, device, rho, p);
        }
        return 0;
}

static int recommend(ctx_t *ctx) {
        const char *line, *nl;
        size_t      i;

        for (line = ctx->coverage_text; line && *line;
             line = nl ? nl + 1 : "") {
                nl = strchr(line, '\n');
                if (add_rec(ctx, "%.*s",
                            nl ? (int)(nl - line) : (int)strlen(line),
                            line) == -1)
                        return -1;
        }
        for (i = 0; i < ctx->corr_cnt; i++)
                if (recommend_row(ctx, ctx->corrs[i].first) == -1)
                        return -1;
        return 0;
}

/* ---- Text output ------------------------------------------------------- */

static int print_correlations(const ctx_t *ctx) {
        static const char *const hdr[] = {
            "route", "device", "metric", "points",  "lab median",  "field p75",
            "gap",   "rho",    "p",      "verdict", "lab vs field"};
        rumctl_table_t t = {.ncol = 11, .align = "lllrrrrrrll"};
        size_t         i, c;
        int            ret;

        for (c = 0; c < t.ncol; c++)
                rumctl_table_cell(&t, "%s", hdr[c]);
        for (i = 0; i < ctx->corr_cnt; i++) {
                const PGresult *res    = ctx->evals;
                int             r      = ctx->corrs[i].first;
                const char     *metric = PQgetvalue(res, r, E_METRIC);
                char            buf[64];

                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, E_ROUTE));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, E_DEVICE));
                rumctl_table_cell(&t, "%s", metric);
                rumctl_table_cell(&t, "%.0f", rumctl_pg_num(res, r, E_POINTS));
                format_value(metric, rumctl_pg_num(res, r, E_LAB_MEDIAN), buf,
                             sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                format_value(metric, rumctl_pg_num(res, r, E_FIELD_P75), buf,
                             sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                format_pct(rumctl_pg_num(res, r, E_VARIANCE_RATIO), buf,
                           sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                format_coef(rumctl_pg_num(res, r, E_SPEARMAN_RHO), buf,
                            sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                format_p(rumctl_pg_num(res, r, E_SPEARMAN_P), buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, E_VERDICT));
                rumctl_table_cell(
                    &t, "%s",
                    verdict_of(res, r) == RS_CORRELATE_NOT_ENOUGH_DATA ? "-"
                    : rumctl_pg_bool(res, r, E_CORRELATED) ? "tracks"
                                                           : "does not track");
        }
        ret = rumctl_table_print(&t, "");
        rumctl_table_free(&t);
        return ret;
}

static int print_evaluations(const ctx_t *ctx) {
        static const char *const hdr[] = {"evaluated (UTC)",
                                          "points",
                                          "pearson r",
                                          "p",
                                          "CI",
                                          "spearman rho",
                                          "p",
                                          "CI",
                                          "lab median",
                                          "field p75",
                                          "gap",
                                          "verdict"};
        size_t                   i, c;
        int                      k;

        printf("\nEvaluations in the window, newest first (CI: the "
               "processor's confidence interval)\n");
        for (i = 0; i < ctx->corr_cnt; i++) {
                const PGresult *res    = ctx->evals;
                const corr_t   *corr   = &ctx->corrs[i];
                const char     *metric = PQgetvalue(res, corr->first, E_METRIC);
                rumctl_table_t  t      = {.ncol = 12, .align = "lrrrlrrlrrrl"};
                char            buf[64], buf2[64];

                printf("\n  %s %s %s\n", PQgetvalue(res, corr->first, E_ROUTE),
                       PQgetvalue(res, corr->first, E_DEVICE), metric);
                for (c = 0; c < t.ncol; c++)
                        rumctl_table_cell(&t, "%s", hdr[c]);
                for (k = corr->first; k < corr->first + corr->cnt; k++) {
                        rumctl_format_time(rumctl_pg_ms(res, k, E_EVALUATED_AT),
                                           RUMCTL_TIME_TEXT, buf, sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        rumctl_table_cell(&t, "%.0f",
                                          rumctl_pg_num(res, k, E_POINTS));
                        format_coef(rumctl_pg_num(res, k, E_PEARSON_R), buf,
                                    sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_p(rumctl_pg_num(res, k, E_PEARSON_P), buf,
                                 sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_ci(rumctl_pg_num(res, k, E_PEARSON_CI_LOW),
                                  rumctl_pg_num(res, k, E_PEARSON_CI_HIGH), buf,
                                  sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_coef(rumctl_pg_num(res, k, E_SPEARMAN_RHO), buf,
                                    sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_p(rumctl_pg_num(res, k, E_SPEARMAN_P), buf,
                                 sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_ci(rumctl_pg_num(res, k, E_SPEARMAN_CI_LOW),
                                  rumctl_pg_num(res, k, E_SPEARMAN_CI_HIGH),
                                  buf, sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_value(metric,
                                     rumctl_pg_num(res, k, E_LAB_MEDIAN), buf,
                                     sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_value(metric, rumctl_pg_num(res, k, E_FIELD_P75),
                                     buf, sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        format_pct(rumctl_pg_num(res, k, E_VARIANCE_RATIO), buf,
                                   sizeof(buf));
                        rumctl_table_cell(&t, "%s", buf);
                        rumctl_table_cell(&t, "%s",
                                          PQgetvalue(res, k, E_VERDICT));
                }
                if (rumctl_table_print(&t, "    ") == -1) {
                        rumctl_table_free(&t);
                        return -1;
                }
                rumctl_table_free(&t);

                if (corr->base < 0) {
                        printf("    baseline: none\n");
                        continue;
                }
                res = ctx->baselines;
                k   = corr->base;
                rumctl_format_time(rumctl_pg_ms(res, k, B_EVALUATED_AT),
                                   RUMCTL_TIME_TEXT, buf, sizeof(buf));
                printf("    baseline as of %s: ", buf);
                if (!rumctl_pg_bool(res, k, B_VALID)) {
                        printf("not enough history yet\n");
                        continue;
                }
                format_value(metric, rumctl_pg_num(res, k, B_LAB_BASELINE), buf,
                             sizeof(buf));
                format_value(metric, rumctl_pg_num(res, k, B_FIELD_BASELINE),
                             buf2, sizeof(buf2));
                printf("lab %s, field %s", buf, buf2);
                format_value(metric, rumctl_pg_num(res, k, B_GAP_BASELINE), buf,
                             sizeof(buf));
                format_value(metric, rumctl_pg_num(res, k, B_GAP_RECENT), buf2,
                             sizeof(buf2));
                printf(", gap (field - lab) %s, recently %s\n", buf, buf2);
                format_z(rumctl_pg_num(res, k, B_GAP_Z), buf, sizeof(buf));
                printf("      robust z: gap %s", buf);
                format_z(rumctl_pg_num(res, k, B_LAB_Z), buf, sizeof(buf));
                printf(", lab %s", buf);
                format_z(rumctl_pg_num(res, k, B_FIELD_Z), buf, sizeof(buf));
                printf(", field %s; cause %s", buf,
                       PQgetvalue(res, k, B_CAUSE));
                if (!PQgetisnull(res, k, B_ISSUE_ID))
                        printf("; issue %s", PQgetvalue(res, k, B_ISSUE_ID));
                printf("\n");
        }
        return 0;
}

static void print_coverage(const ctx_t *ctx) {
        char   buf[64];
        size_t i;
        int    t;

        printf("\nCoverage of real traffic by lab profiles (tenant-wide, page "
               "views and lab runs of the window)\n");
        printf("  lab profiles (device/network/location):");
        if (!ctx->prof_cnt)
                printf(" none ran in the window");
        for (i = 0; i < ctx->prof_cnt; i++)
                printf("%s %s/%s/%s", i ? "," : "", ctx->profs[i].device,
                       ctx->profs[i].network, ctx->profs[i].location);
        printf("\n");
        for (t = 0; t < RS_CORRELATE_SEG_CNT; t++) {
                printf("  %-11s", seg_type_names[t]);
                if (!(ctx->cov.page_views[t] > 0)) {
                        printf("no page views\n");
                        continue;
                }
                snprintf(buf, sizeof(buf), "%.0f%%",
                         100 * ctx->cov.uncovered_share[t]);
                printf("%4s of %.0f page views uncovered\n", buf,
                       ctx->cov.page_views[t]);
        }
        if (ctx->coverage_text && *ctx->coverage_text) {
                const char *line = ctx->coverage_text, *nl;

                for (; *line; line = nl ? nl + 1 : "") {
                        nl = strchr(line, '\n');
                        printf("  %.*s\n",
                               nl ? (int)(nl - line) : (int)strlen(line), line);
                }
        }
}

static int print_issues(const ctx_t *ctx) {
        static const char *const hdr[] = {"severity", "opened (UTC)", "kind",
                                          "route", "title"};
        rumctl_table_t           t     = {.ncol = 5, .align = "lllll"};
        int                      n     = PQntuples(ctx->issues), r, ret;
        size_t                   c;
        char                     buf[64];

        printf("\nOpen issues (lab_field_gap, synthetic_failure)\n");
        if (n == 0) {
                printf("  none\n");
                return 0;
        }
        for (c = 0; c < t.ncol; c++)
                rumctl_table_cell(&t, "%s", hdr[c]);
        for (r = 0; r < n; r++) {
                const char *route = rumctl_pg_str(ctx->issues, r, I_ROUTE);

                rumctl_table_cell(&t, "%s",
                                  PQgetvalue(ctx->issues, r, I_SEVERITY));
                rumctl_format_time(rumctl_pg_ms(ctx->issues, r, I_OPENED_AT),
                                   RUMCTL_TIME_TEXT, buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_table_cell(&t, "%s", PQgetvalue(ctx->issues, r, I_KIND));
                rumctl_table_cell(&t, "%s", route ? route : "-");
                rumctl_table_cell(&t, "%s",
                                  PQgetvalue(ctx->issues, r, I_TITLE));
        }
        ret = rumctl_table_print(&t, "  ");
        rumctl_table_free(&t);
        return ret;
}

static int print_text(const ctx_t *ctx) {
        char   from[32], to[32];
        size_t i;

        rumctl_format_time(ctx->start_ms, RUMCTL_TIME_TEXT, from, sizeof(from));
        rumctl_format_time(ctx->end_ms, RUMCTL_TIME_TEXT, to, sizeof(to));
        printf("synthetic (lab) vs real users (field): tenant %s%s%s, %s .. "
               "%s UTC (%s up to the latest evaluation)\n",
               ctx->tenant, *ctx->route ? ", route " : "", ctx->route, from, to,
               ctx->window);
        printf("latest evaluation per route, device and metric; gap = (field "
               "p75 - lab median) / lab median; rho, p: Spearman\n\n");
        if (print_correlations(ctx) == -1)
                return -1;
        if (ctx->detailed && print_evaluations(ctx) == -1)
                return -1;
        print_coverage(ctx);
        if (print_issues(ctx) == -1)
                return -1;
        printf("\nRecommendations\n");
        if (!ctx->rec_cnt)
                printf("  none: the lab matches and tracks real users\n");
        for (i = 0; i < ctx->rec_cnt; i++)
                printf("  - %s\n", ctx->recs[i]);
        return 0;
}

/* ---- JSON output ------------------------------------------------------- */

static void print_json_coverage(const ctx_t *ctx) {
        size_t i;
        int    t, first;

        printf("\"coverage\":{");
        for (t = 0; t < RS_CORRELATE_SEG_CNT; t++) {
                printf("%s\"%s\":{\"page_views\":", t ? "," : "",
                       seg_type_names[t]);
                rumctl_json_num(ctx->cov.page_views[t]);
                printf(",\"uncovered_share\":");
                rumctl_json_num(ctx->cov.uncovered_share[t]);
                printf(",\"segments\":[");
                first = 1;
                for (i = 0; i < ctx->seg_cnt; i++) {
                        const rs_correlate_segment_t *seg = &ctx->segs[i];

                        if (seg->covered < 0 ||
                            strcmp(seg->type, seg_type_names[t]))
                                continue;
                        printf("%s{\"value\":", first ? "" : ",");
                        rumctl_json_str(seg->value);
                        printf(",\"page_views\":");
                        rumctl_json_num(seg->page_views);
                        printf(",\"share\":");
                        rumctl_json_num(seg->page_views /
                                        ctx->cov.page_views[t]);
                        printf(",\"covered\":%s}",
                               seg->covered ? "true" : "false");
                        first = 0;
                }
                printf("]}");
        }
        printf("},\"lab_profiles\":[");
        for (i = 0; i < ctx->prof_cnt; i++) {
                printf("%s{\"device\":", i ? "," : "");
                rumctl_json_str(ctx->profs[i].device);
                printf(",\"network_profile\":");
                rumctl_json_str(ctx->profs[i].network);
                printf(",\"location\":");
                rumctl_json_str(ctx->profs[i].location);
                printf("}");
        }
        printf("]");
}

static void print_json(const ctx_t *ctx) {
        size_t i;
        int    k, n;

        printf("{\"tenant_id\":");
        rumctl_json_str(ctx->tenant);
        printf(",\"route\":");
        rumctl_json_str(*ctx->route ? ctx->route : NULL);
        printf(",\"window_start\":");
        if (ctx->have_window)
                rumctl_json_time(ctx->start_ms);
        else
                fputs("null", stdout);
        printf(",\"window_end\":");
        if (ctx->have_window)
                rumctl_json_time(ctx->end_ms);
        else
                fputs("null", stdout);

        printf(",\"correlations\":[");
        for (i = 0; i < ctx->corr_cnt; i++) {
                const corr_t *corr = &ctx->corrs[i];

                printf("%s{", i ? "," : "");
                rumctl_json_fields(ctx->evals, corr->first, eval_cols, 0,
                                   E_CNT);
                if (ctx->detailed) {
                        printf(",\"evaluations\":[");
                        for (k = corr->first; k < corr->first + corr->cnt;
                             k++) {
                                printf("%s{", k > corr->first ? "," : "");
                                rumctl_json_fields(ctx->evals, k, eval_cols,
                                                   E_EVALUATED_AT, E_CNT);
                                printf("}");
                        }
                        printf("],\"baseline\":");
                        if (corr->base < 0) {
                                fputs("null", stdout);
                        } else {
                                printf("{");
                                rumctl_json_fields(ctx->baselines, corr->base,
                                                   baseline_cols,
                                                   B_EVALUATED_AT, B_CNT);
                                printf("}");
                        }
                }
                printf("}");
        }
        printf("],");

        print_json_coverage(ctx);

        printf(",\"issues\":[");
        n = ctx->issues ? PQntuples(ctx->issues) : 0;
        for (k = 0; k < n; k++) {
                printf("%s{", k ? "," : "");
                rumctl_json_fields(ctx->issues, k, issue_cols, 0, I_CNT);
                printf("}");
        }
        printf("],\"recommendations\":[");
        for (i = 0; i < ctx->rec_cnt; i++) {
                printf("%s", i ? "," : "");
                rumctl_json_str(ctx->recs[i]);
        }
        printf("]}\n");
}

/* ---- The command ------------------------------------------------------- */

/* Everything, in one snapshot. @returns 0 or -1 (logged). */
static int load(ctx_t *ctx, int64_t window_s) {
        static const char window_sql[] =
            "SELECT max(evaluated_at)::text, "
            "(extract(epoch FROM max(evaluated_at)) * 1000)::bigint, "
            "(extract(epoch FROM max(evaluated_at) - $2::interval) * "
            "1000)::bigint FROM rum_synthetic_correlations "
            "WHERE tenant_id = $1";
        char        interval[48], end[64];
        const char *params[5];
        PGresult   *res;

        if (rs_pg_exec(ctx->pg,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       ctx->errstr, sizeof(ctx->errstr)) == -1) {
                rs_log_error("%s", ctx->errstr);
                return -1;
        }
        snprintf(interval, sizeof(interval), "%" PRId64 " seconds", window_s);
        params[0] = ctx->tenant;
        params[1] = interval;
        res       = query(ctx, window_sql, 2, params);
        if (!res)
                return -1;
        ctx->have_window = !PQgetisnull(res, 0, 0);
        if (ctx->have_window) {
                snprintf(end, sizeof(end), "%s", PQgetvalue(res, 0, 0));
                ctx->end_ms   = rumctl_pg_ms(res, 0, 1);
                ctx->start_ms = rumctl_pg_ms(res, 0, 2);
        }
        PQclear(res);

        /* Issues are open now, window or not. */
        params[1]   = ctx->route;
        ctx->issues = query(ctx, issues_sql, 2, params);
        if (!ctx->issues)
                return -1;
        if (!ctx->have_window)
                return 0;

        params[2]  = end;
        params[3]  = interval;
        params[4]  = ctx->detailed ? "true" : "false";
        ctx->evals = query(ctx, evals_sql, 5, params);
        if (!ctx->evals || group_evals(ctx) == -1)
                return -1;
        if (ctx->detailed) {
                ctx->baselines = query(ctx, baselines_sql, 2, params);
                if (!ctx->baselines)
                        return -1;
                attach_baselines(ctx);
        }

        params[1] = end;
        params[2] = interval;
        if (load_coverage(ctx, params) == -1)
                return -1;
        rs_pg_rollback(ctx->pg);
        return recommend(ctx);
}

int rumctl_correlate(int argc, char **argv) {
        static const struct option longopts[] = {
            {"pg-dsn", required_argument, NULL, 'd'},
            {"dsn", required_argument, NULL, 'd'},
            {"tenant-id", required_argument, NULL, 't'},
            {"route", required_argument, NULL, 'r'},
            {"time-window", required_argument, NULL, 'W'},
            {"detailed", no_argument, NULL, 'D'},
            {"json", no_argument, NULL, 'j'},
            {"wait-ms", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char         *dsn     = getenv("RUMSTREAM_PG_DSN");
        int64_t             wait_ms = 10000, window_s = 0;
        int                 c, json = 0, ret = RUMCTL_EXIT_FAIL;
        rs_correlate_conf_t defaults;
        ctx_t               ctx;
        size_t              i;

        memset(&ctx, 0, sizeof(ctx));
        ctx.route  = "";
        ctx.window = DEFAULT_WINDOW;
        while ((c = getopt_long(argc, argv, ":d:t:r:W:Djw:h", longopts,
                                NULL)) != -1) {
                switch (c) {
                case 'd':
                        dsn = optarg;
                        break;
                case 't':
                        ctx.tenant = optarg;
                        break;
                case 'r':
                        ctx.route = optarg;
                        if (!*ctx.route) {
                                fprintf(stderr, "rumctl " CMD
                                                ": --route: empty route\n");
                                goto usage;
                        }
                        break;
                case 'W':
                        ctx.window = optarg;
                        break;
                case 'D':
                        ctx.detailed = 1;
                        break;
                case 'j':
                        json = 1;
                        break;
                case 'w':
                        if (rumctl_parse_i64(CMD, "--wait-ms", optarg, 0,
                                             INT32_MAX, &wait_ms) == -1)
                                goto usage;
                        break;
                case 'h':
                        usage(stdout);
                        return RUMCTL_EXIT_OK;
                default:
                        return rumctl_bad_option(CMD, c, argv, usage);
                }
        }
        if (rumctl_no_more_args(CMD, argc, argv) == -1 ||
            rumctl_required(CMD, "--tenant-id", ctx.tenant, NULL) == -1 ||
            rumctl_parse_duration(CMD, "--time-window", ctx.window,
                                  MAX_WINDOW_S, &window_s) == -1 ||
            rumctl_required(CMD, "--pg-dsn", dsn, "RUMSTREAM_PG_DSN") == -1)
                goto usage;
        /* The processor's default; rumctl cannot see its configuration. */
        rs_correlate_conf_defaults(&defaults);
        ctx.min_points = (int64_t)defaults.min_points;

        if (!(ctx.pg = rumctl_pg_connect(dsn, wait_ms)))
                goto out;
        if (load(&ctx, window_s) == -1)
                goto out;

        if (json) {
                print_json(&ctx);
        } else if (ctx.corr_cnt == 0) {
                printf("no correlations for tenant %s%s%s\n", ctx.tenant,
                       *ctx.route ? " on route " : "", ctx.route);
                if (PQntuples(ctx.issues) > 0 && print_issues(&ctx) == -1)
                        goto out;
        } else if (print_text(&ctx) == -1) {
                goto out;
        }
        fflush(stdout);
        ret = RUMCTL_EXIT_OK;
out:
        if (ctx.pg)
                rs_pg_rollback(ctx.pg);
        PQclear(ctx.evals);
        PQclear(ctx.baselines);
        PQclear(ctx.issues);
        PQclear(ctx.segments);
        PQclear(ctx.profiles);
        free(ctx.corrs);
        free(ctx.segs);
        free(ctx.profs);
        free(ctx.coverage_text);
        for (i = 0; i < ctx.rec_cnt; i++)
                free(ctx.recs[i]);
        free(ctx.recs);
        rs_pg_destroy(ctx.pg);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
