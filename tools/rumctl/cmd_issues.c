/*
 * rumctl issues: a tenant's issues, whichever detector raised them, as
 * they stand in PostgreSQL: `issues` holds the latest version of each,
 * `issue_versions` every version (migrations/0003_errors.sql). Kinds come
 * from the error-tracker (new_error, error_spike, error_rate), the
 * synthetic-correlator (lab_field_gap, synthetic_failure) and the
 * anomaly-detector (regression, budget_breach, level_shift); this command
 * knows none of them in particular, only how to print a metric's values.
 *
 * Time is event time: "now" is the latest updated_at of the tenant's
 * issues, not the wall clock, so a backfill of last year reads like live
 * data. By default an issue is shown while it is open, and once resolved
 * for --since after that "now".
 *
 * The issues, their versions and their evidence are read in one read-only
 * snapshot through the same filter, so they agree. Strings point into the
 * PGresults, which live until the end of the command.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumstream/vitals.h"
#include "rumctl.h"

#define CMD "issues"

#define DEFAULT_SINCE "24h"
#define MAX_SINCE_S   (3650LL * 86400)

/*
 * Timestamps come back as ms since the epoch ("(extract(epoch FROM t) *
 * 1000)::bigint"), formatted in C for text and JSON alike.
 */

enum {
        I_ISSUE_ID,
        I_TENANT_ID,
        I_KIND,
        I_STATE,
        I_SEVERITY,
        I_TITLE,
        I_SOURCE,
        I_ROUTE,
        I_SEGMENT_TYPE,
        I_SEGMENT_VALUE,
        I_METRIC,
        I_OBSERVED,
        I_BASELINE,
        I_THRESHOLD,
        I_SAMPLE_SIZE,
        I_OPENED_AT,
        I_UPDATED_AT,
        I_RESOLVED_AT,
        I_VERSION,
        I_EVIDENCE,
        I_CNT
};

static const rumctl_col_t issue_cols[I_CNT] = {
    {"issue_id", RUMCTL_COL_STR},     {"tenant_id", RUMCTL_COL_STR},
    {"kind", RUMCTL_COL_STR},         {"state", RUMCTL_COL_STR},
    {"severity", RUMCTL_COL_STR},     {"title", RUMCTL_COL_STR},
    {"source", RUMCTL_COL_STR},       {"route", RUMCTL_COL_STR},
    {"segment_type", RUMCTL_COL_STR}, {"segment_value", RUMCTL_COL_STR},
    {"metric", RUMCTL_COL_STR},       {"observed", RUMCTL_COL_NUM},
    {"baseline", RUMCTL_COL_NUM},     {"threshold", RUMCTL_COL_NUM},
    {"sample_size", RUMCTL_COL_NUM},  {"opened_at", RUMCTL_COL_TIME},
    {"updated_at", RUMCTL_COL_TIME},  {"resolved_at", RUMCTL_COL_TIME},
    {"version", RUMCTL_COL_NUM},      {"evidence", RUMCTL_COL_JSON}};

/*
 * The issues shown, for every query: $1 tenant, $2 route ('' for any),
 * $3 kind ('' for any), $4 "recent", "open" or "all", $5 the tenant's
 * latest updated_at as PostgreSQL printed it (so it reads back exactly),
 * $6 --since as an interval. A resolved issue without resolved_at (no
 * detector writes one) counts as resolved when last updated.
 */
#define FILTER                                                                 \
        "i.tenant_id = $1 AND ($2 = '' OR i.route = $2) "                      \
        "AND ($3 = '' OR i.kind = $3) "                                        \
        "AND (i.state <> 'resolved' OR $4 = 'all' OR ($4 = 'recent' "          \
        "AND coalesce(i.resolved_at, i.updated_at) >= "                        \
        "$5::timestamptz - $6::interval))"

/* Open first, the most severe first (unknown severities after low), then
 * the oldest first; then the resolved, the latest resolved first. */
static const char issues_sql[] =
    "SELECT i.issue_id, i.tenant_id, i.kind, i.state, i.severity, i.title, "
    "i.source, i.route, i.segment_type, i.segment_value, i.metric, "
    "i.observed, i.baseline, i.threshold, i.sample_size, "
    "(extract(epoch FROM i.opened_at) * 1000)::bigint, "
    "(extract(epoch FROM i.updated_at) * 1000)::bigint, "
    "(extract(epoch FROM i.resolved_at) * 1000)::bigint, "
    "i.version, i.evidence FROM issues i WHERE " FILTER
    " ORDER BY i.state = 'resolved', "
    "CASE WHEN i.state <> 'resolved' THEN coalesce(array_position("
    "ARRAY['critical', 'high', 'medium', 'low'], i.severity), 5) END, "
    "CASE WHEN i.state <> 'resolved' THEN i.opened_at END, "
    "coalesce(i.resolved_at, i.updated_at) DESC, i.issue_id COLLATE \"C\"";

enum { V_ISSUE_ID, V_VERSION, V_STATE, V_SEVERITY, V_OBSERVED, V_UPDATED_AT };

static const rumctl_col_t version_cols[] = {
    {"issue_id", RUMCTL_COL_STR}, {"version", RUMCTL_COL_NUM},
    {"state", RUMCTL_COL_STR},    {"severity", RUMCTL_COL_STR},
    {"observed", RUMCTL_COL_NUM}, {"updated_at", RUMCTL_COL_TIME}};

#define V_CNT ((int)(sizeof(version_cols) / sizeof(version_cols[0])))

/* Sorted by issue id in byte order, as rows_of() searches them. */
static const char versions_sql[] =
    "SELECT v.issue_id, v.version, v.state, v.severity, v.observed, "
    "(extract(epoch FROM v.updated_at) * 1000)::bigint "
    "FROM issue_versions v JOIN issues i USING (issue_id) WHERE " FILTER
    " ORDER BY v.issue_id COLLATE \"C\", v.version";

/* Detectors write an object of strings; anything else is shown whole. */
static const char evidence_sql[] =
    "SELECT i.issue_id, e.key, e.value FROM issues i CROSS JOIN LATERAL "
    "jsonb_each_text(CASE jsonb_typeof(i.evidence) WHEN 'object' "
    "THEN i.evidence ELSE jsonb_build_object('evidence', i.evidence) END) e "
    "WHERE " FILTER " ORDER BY i.issue_id COLLATE \"C\", e.key COLLATE \"C\"";

typedef struct ctx_s {
        rs_pg_t    *pg;
        const char *tenant;
        const char *route; /* "" for every route */
        const char *kind;  /* "" for every kind */
        const char *state; /* "recent", "open" or "all" */
        const char *since;
        int         detailed;
        int         json;

        int     have_as_of; /* the tenant has issues */
        int64_t as_of_ms;

        PGresult *issues, *versions, *evidence;
        int       open_cnt, resolved_cnt;

        char errstr[1024];
} ctx_t;

static void usage(FILE *fp) {
        fprintf(
            fp,
            "Usage: rumctl issues --tenant-id T [--route R] [--kind K]\n"
            "                     [--state open|all] [--since 24h] "
            "[--detailed] [--json]\n"
            "                     [--dsn DSN] [--wait-ms MS]\n"
            "\n"
            "The issues of a tenant, whichever detector raised them "
            "(error-tracker:\n"
            "new_error, error_spike, error_rate; synthetic-correlator: "
            "lab_field_gap,\n"
            "synthetic_failure; anomaly-detector: regression, budget_breach, "
            "level_shift),\n"
            "from the issues and issue_versions tables.\n"
            "\n"
            "Which issues (event time): by default every open issue (state "
            "open or\n"
            "updated), whenever it opened, and those resolved within --since "
            "of the\n"
            "tenant's latest issue update. That \"now\" is the latest "
            "updated_at of all\n"
            "the tenant's issues, not the wall clock (the data may be "
            "historical), and\n"
            "--route and --kind do not move it.\n"
            "\n"
            "Table, one line per issue: severity, state, kind, route, segment "
            "(type=value),\n"
            "metric, observed vs baseline (in the metric's unit: ms or s, CLS "
            "with 3\n"
            "decimals, error_rate in %%; issues without a baseline show their "
            "threshold\n"
            "as the limit), opened, updated (resolved for resolved issues), "
            "version and\n"
            "title, cut to fit the terminal (or $COLUMNS, if set).\n"
            "Open issues come first, the most severe (critical, high, medium, "
            "low) and\n"
            "then the oldest first; resolved ones after them, the latest "
            "first.\n"
            "\n"
            "Options:\n"
            "  --tenant-id T      the tenant (required)\n"
            "  --route R          only issues of route R\n"
            "  --kind K           only issues of kind K\n"
            "  --state S          open: only open issues; all: every issue of "
            "the tenant,\n"
            "                     whenever resolved (default: open, and "
            "recently resolved)\n"
            "  --since W          how long a resolved issue stays listed: a "
            "whole number\n"
            "                     and a unit s, m, h or d (default %s; not "
            "with --state)\n"
            "  --detailed         also, per issue, its full title, evidence "
            "and version\n"
            "                     history\n"
            "  --json             one JSON object instead: tenant_id and "
            "issues, each with\n"
            "                     every column of the issues table (evidence "
            "as an object;\n"
            "                     with --detailed also versions); times in "
            "ISO 8601 UTC,\n"
            "                     missing numbers null\n"
            "  --dsn DSN          libpq connection string (also --pg-dsn; "
            "default\n"
            "                     $RUMSTREAM_PG_DSN)\n"
            "  --wait-ms MS       how long to retry connecting (default "
            "10000)\n"
            "  -h, --help         this text\n"
            "\n"
            "Without a matching issue it prints \"no issues for tenant T\" "
            "and exits 0\n"
            "(with --json, an empty issues array).\n",
            DEFAULT_SINCE);
}

/* ---- Formatting -------------------------------------------------------- */

static int is_ms_metric(const char *metric) {
        rs_metric_t m;

        /* Named custom timings are ms (rumstream/event.h). */
        if (!strncmp(metric, "custom.", 7))
                return 1;
        return rs_metric_from_name(metric, &m) == 0 &&
               !strcmp(rs_metric_unit(m), "ms");
}

/* A count or anything else without a unit: 12, 57.5, 0.333. */
static void format_plain(double v, char *out, size_t size) {
        if (fabs(v) >= 100 || v == rint(v))
                snprintf(out, size, "%.0f", v);
        else
                snprintf(out, size, "%.3g", v);
}

/* A ratio as a percentage with about three significant digits. */
static void format_pct(double ratio, char *out, size_t size) {
        double pct = 100 * ratio;

        if (fabs(pct) >= 10)
                snprintf(out, size, "%.1f%%", pct);
        else if (fabs(pct) >= 0.1 || pct == 0)
                snprintf(out, size, "%.2f%%", pct);
        else
                snprintf(out, size, "%.2g%%", pct);
}

/* A value of \p metric (may be NULL): "812 ms", "2.10 s", "0.312" (CLS),
 * "3.21%" (error_rate), "57.5", or "-" when missing. */
static void format_value(const char *metric, double v, char *out, size_t size) {
        if (!isfinite(v))
                snprintf(out, size, "-");
        else if (metric && is_ms_metric(metric))
                rumctl_format_ms(v, out, size);
        else if (metric && !strcmp(metric, "cls"))
                snprintf(out, size, "%.3f", v);
        else if (metric && !strcmp(metric, "error_rate"))
                format_pct(v, out, size);
        else
                format_plain(v, out, size);
}

static void format_segment(const PGresult *res, int r, char *out, size_t size) {
        const char *type  = rumctl_pg_str(res, r, I_SEGMENT_TYPE);
        const char *value = rumctl_pg_str(res, r, I_SEGMENT_VALUE);

        if (type && value)
                snprintf(out, size, "%s=%s", type, value);
        else if (value)
                snprintf(out, size, "%s", value);
        else
                snprintf(out, size, "-");
}

static int is_resolved(const PGresult *res, int r) {
        return !strcmp(PQgetvalue(res, r, I_STATE), "resolved");
}

/* When it last changed: resolved_at for a resolved issue. */
static int64_t last_change_ms(const PGresult *res, int r) {
        if (is_resolved(res, r) && !PQgetisnull(res, r, I_RESOLVED_AT))
                return rumctl_pg_ms(res, r, I_RESOLVED_AT);
        return rumctl_pg_ms(res, r, I_UPDATED_AT);
}

/* The columns a line fits in: the terminal's, else $COLUMNS; 0 (no limit)
 * when writing to a file or a pipe without $COLUMNS, where a cut title
 * would only be lost (to grep, say). */
static int line_width(void) {
        struct winsize ws;
        const char    *env = getenv("COLUMNS");
        char          *end;
        long           v;

        if (isatty(STDOUT_FILENO) &&
            ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        if (env && *env) {
                v = strtol(env, &end, 10);
                if (!*end && v > 0 && v <= 100000)
                        return (int)v;
        }
        return 0;
}

/* ---- Text output ------------------------------------------------------- */

/* The rows of \p res (sorted by column 0 in byte order) whose column 0 is
 * \p id: [*first, *first + count). @returns count. */
static int rows_of(const PGresult *res, const char *id, int *first) {
        int n = res ? PQntuples(res) : 0, lo = 0, hi = n, cnt = 0;

        while (lo < hi) {
                int mid = lo + (hi - lo) / 2;

                if (strcmp(PQgetvalue(res, mid, 0), id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        while (lo + cnt < n && !strcmp(PQgetvalue(res, lo + cnt, 0), id))
                cnt++;
        *first = lo;
        return cnt;
}

/* The observed value, and "vs <baseline>", or "limit <threshold>" for an
 * issue without a baseline (there the threshold is in the metric's unit:
 * an error rate, a budget, a number of failures), or "". */
static void format_observed(const PGresult *res, int r, char *obs, char *base,
                            size_t size) {
        const char *metric = rumctl_pg_str(res, r, I_METRIC);
        double      b      = rumctl_pg_num(res, r, I_BASELINE),
               th          = rumctl_pg_num(res, r, I_THRESHOLD);
        char buf[64];

        format_value(metric, rumctl_pg_num(res, r, I_OBSERVED), obs, size);
        base[0] = '\0';
        if (isfinite(b)) {
                format_value(metric, b, buf, sizeof(buf));
                snprintf(base, size, "vs %.48s", buf);
        } else if (isfinite(th)) {
                format_value(metric, th, buf, sizeof(buf));
                snprintf(base, size, "limit %.48s", buf);
        }
}

static int print_table(const ctx_t *ctx) {
        static const char *const hdr[] = {"severity",
                                          "state",
                                          "kind",
                                          "route",
                                          "segment",
                                          "metric",
                                          "observed vs baseline",
                                          "opened",
                                          "updated/resolved",
                                          "version",
                                          "title"};
        const PGresult          *res   = ctx->issues;
        rumctl_table_t           t     = {.ncol = 11, .align = "lllllllllrl"};
        int                      n = PQntuples(res), r, ret, obs_w = 0;
        size_t                   c;
        char                     buf[192], obs[64], base[64];

        t.max_width = line_width();
        /* The observed values right-aligned, "vs" and "limit" in line. */
        for (r = 0; r < n; r++) {
                format_observed(res, r, obs, base, sizeof(obs));
                if ((int)strlen(obs) > obs_w)
                        obs_w = (int)strlen(obs);
        }
        for (c = 0; c < t.ncol; c++)
                rumctl_table_cell(&t, "%s", hdr[c]);
        for (r = 0; r < n; r++) {
                const char *metric = rumctl_pg_str(res, r, I_METRIC);
                const char *route  = rumctl_pg_str(res, r, I_ROUTE);

                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_SEVERITY));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_STATE));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_KIND));
                rumctl_table_cell(&t, "%s", route ? route : "-");
                format_segment(res, r, buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_table_cell(&t, "%s", metric ? metric : "-");
                format_observed(res, r, obs, base, sizeof(obs));
                rumctl_table_cell(&t, "%*s%s%s", obs_w, obs, *base ? " " : "",
                                  base);
                rumctl_format_time(rumctl_pg_ms(res, r, I_OPENED_AT),
                                   RUMCTL_TIME_MINUTE, buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_format_time(last_change_ms(res, r), RUMCTL_TIME_MINUTE,
                                   buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_VERSION));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_TITLE));
        }
        ret = rumctl_table_print(&t, "");
        rumctl_table_free(&t);
        return ret;
}

/* An evidence value; a time in ms since the epoch (a key ending in "_ms"
 * and a plausible number) also in words. */
static void evidence_cell(rumctl_table_t *t, const char *key,
                          const char *value) {
        size_t  klen = strlen(key);
        char   *end, when[32];
        int64_t v;

        if (klen > 3 && !strcmp(key + klen - 3, "_ms") && *value) {
                v = strtoll(value, &end, 10);
                /* 1973 .. 5138: not a duration, not garbage. */
                if (!*end && v >= 100000000000LL && v < 100000000000000LL) {
                        rumctl_format_time(v, RUMCTL_TIME_TEXT, when,
                                           sizeof(when));
                        rumctl_table_cell(t, "%s (%s UTC)", value, when);
                        return;
                }
        }
        rumctl_table_cell(t, "%s", value);
}

static int print_evidence(const ctx_t *ctx, const char *id) {
        rumctl_table_t t = {.ncol = 2, .align = "ll"};
        int            first, cnt = rows_of(ctx->evidence, id, &first), k, ret;

        if (!cnt) {
                printf("    evidence: none\n");
                return 0;
        }
        printf("    evidence\n");
        for (k = first; k < first + cnt; k++) {
                rumctl_table_cell(&t, "%s", PQgetvalue(ctx->evidence, k, 1));
                evidence_cell(&t, PQgetvalue(ctx->evidence, k, 1),
                              PQgetvalue(ctx->evidence, k, 2));
        }
        ret = rumctl_table_print(&t, "      ");
        rumctl_table_free(&t);
        return ret;
}

static int print_versions(const ctx_t *ctx, const char *id,
                          const char *metric) {
        static const char *const hdr[] = {"version", "state", "severity",
                                          "observed", "updated (UTC)"};
        const PGresult          *res   = ctx->versions;
        rumctl_table_t           t     = {.ncol = 5, .align = "rllrl"};
        int                      first, cnt = rows_of(res, id, &first), k, ret;
        size_t                   c;
        char                     buf[64];

        if (!cnt) {
                printf("    versions: none recorded\n");
                return 0;
        }
        printf("    versions\n");
        for (c = 0; c < t.ncol; c++)
                rumctl_table_cell(&t, "%s", hdr[c]);
        for (k = first; k < first + cnt; k++) {
                rumctl_table_cell(&t, "%s", PQgetvalue(res, k, V_VERSION));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, k, V_STATE));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, k, V_SEVERITY));
                format_value(metric, rumctl_pg_num(res, k, V_OBSERVED), buf,
                             sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
                rumctl_format_time(rumctl_pg_ms(res, k, V_UPDATED_AT),
                                   RUMCTL_TIME_TEXT, buf, sizeof(buf));
                rumctl_table_cell(&t, "%s", buf);
        }
        ret = rumctl_table_print(&t, "      ");
        rumctl_table_free(&t);
        return ret;
}

/* One issue in full: every column, its evidence and its versions. */
static int print_detail(const ctx_t *ctx, int r) {
        const PGresult *res    = ctx->issues;
        const char     *id     = PQgetvalue(res, r, I_ISSUE_ID);
        const char     *metric = rumctl_pg_str(res, r, I_METRIC);
        const char     *route  = rumctl_pg_str(res, r, I_ROUTE);
        rumctl_table_t  t      = {.ncol = 2, .align = "ll"};
        char seg[192], obs[64], base[64], th[32], opened[32], updated[32],
            resolved[32];
        int ret;

        format_segment(res, r, seg, sizeof(seg));
        format_value(metric, rumctl_pg_num(res, r, I_OBSERVED), obs,
                     sizeof(obs));
        format_value(metric, rumctl_pg_num(res, r, I_BASELINE), base,
                     sizeof(base));
        /* Raw: its unit is the detector's (a z score for some kinds). */
        if (PQgetisnull(res, r, I_THRESHOLD))
                snprintf(th, sizeof(th), "-");
        else
                snprintf(th, sizeof(th), "%.6g",
                         rumctl_pg_num(res, r, I_THRESHOLD));
        rumctl_format_time(rumctl_pg_ms(res, r, I_OPENED_AT), RUMCTL_TIME_TEXT,
                           opened, sizeof(opened));
        rumctl_format_time(rumctl_pg_ms(res, r, I_UPDATED_AT), RUMCTL_TIME_TEXT,
                           updated, sizeof(updated));
        if (PQgetisnull(res, r, I_RESOLVED_AT))
                snprintf(resolved, sizeof(resolved), "-");
        else
                rumctl_format_time(rumctl_pg_ms(res, r, I_RESOLVED_AT),
                                   RUMCTL_TIME_TEXT, resolved,
                                   sizeof(resolved));

        printf("\n  %s: %s %s %s, version %s\n", id,
               PQgetvalue(res, r, I_SEVERITY), PQgetvalue(res, r, I_STATE),
               PQgetvalue(res, r, I_KIND), PQgetvalue(res, r, I_VERSION));
        rumctl_table_cell(&t, "title");
        rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_TITLE));
        rumctl_table_cell(&t, "source");
        rumctl_table_cell(&t, "%s", PQgetvalue(res, r, I_SOURCE));
        rumctl_table_cell(&t, "where");
        rumctl_table_cell(&t, "route %s, segment %s, metric %s",
                          route ? route : "-", seg, metric ? metric : "-");
        rumctl_table_cell(&t, "values");
        rumctl_table_cell(&t,
                          "observed %s, baseline %s, threshold %s, sample "
                          "size %s",
                          obs, base, th,
                          PQgetisnull(res, r, I_SAMPLE_SIZE)
                              ? "-"
                              : PQgetvalue(res, r, I_SAMPLE_SIZE));
        rumctl_table_cell(&t, "times");
        rumctl_table_cell(&t, "opened %s, updated %s, resolved %s (UTC)",
                          opened, updated, resolved);
        ret = rumctl_table_print(&t, "    ");
        rumctl_table_free(&t);
        if (ret == -1 || print_evidence(ctx, id) == -1 ||
            print_versions(ctx, id, metric) == -1)
                return -1;
        return 0;
}

static void print_scope(const ctx_t *ctx) {
        if (*ctx->route)
                printf(", route %s", ctx->route);
        if (*ctx->kind)
                printf(", kind %s", ctx->kind);
}

/* Why a tenant with issues shows none: " (the filters in force)". */
static void print_none_matching(const ctx_t *ctx) {
        const char *sep = " (";
        char        as_of[32];

        if (!strcmp(ctx->state, "recent")) {
                rumctl_format_time(ctx->as_of_ms, RUMCTL_TIME_TEXT, as_of,
                                   sizeof(as_of));
                printf("%sopen or resolved within %s of its latest update, "
                       "%s UTC",
                       sep, ctx->since, as_of);
                sep = ", ";
        } else if (!strcmp(ctx->state, "open")) {
                printf("%sopen", sep);
                sep = ", ";
        }
        if (*ctx->route) {
                printf("%sroute %s", sep, ctx->route);
                sep = ", ";
        }
        if (*ctx->kind) {
                printf("%skind %s", sep, ctx->kind);
                sep = ", ";
        }
        if (strcmp(sep, " ("))
                printf(")");
}

static int print_text(const ctx_t *ctx) {
        int  n = PQntuples(ctx->issues), r;
        char as_of[32];

        rumctl_format_time(ctx->as_of_ms, RUMCTL_TIME_TEXT, as_of,
                           sizeof(as_of));
        if (!strcmp(ctx->state, "recent"))
                printf("issues of tenant %s", ctx->tenant);
        else
                printf("%s issues of tenant %s", ctx->state, ctx->tenant);
        print_scope(ctx);
        if (!strcmp(ctx->state, "recent"))
                printf(": open, and resolved within %s of the latest update "
                       "(%s UTC)",
                       ctx->since, as_of);
        printf("\n%d issue%s: %d open, %d resolved; times in UTC\n\n", n,
               n == 1 ? "" : "s", ctx->open_cnt, ctx->resolved_cnt);
        if (print_table(ctx) == -1)
                return -1;
        if (!ctx->detailed)
                return 0;
        printf("\nDetails, in the order above\n");
        for (r = 0; r < n; r++)
                if (print_detail(ctx, r) == -1)
                        return -1;
        return 0;
}

/* ---- JSON output ------------------------------------------------------- */

static void print_json(const ctx_t *ctx) {
        int n = ctx->issues ? PQntuples(ctx->issues) : 0, r, k, first, cnt;

        printf("{\"tenant_id\":");
        rumctl_json_str(ctx->tenant);
        printf(",\"issues\":[");
        for (r = 0; r < n; r++) {
                printf("%s{", r ? "," : "");
                rumctl_json_fields(ctx->issues, r, issue_cols, 0, I_CNT);
                if (ctx->detailed) {
                        cnt = rows_of(ctx->versions,
                                      PQgetvalue(ctx->issues, r, I_ISSUE_ID),
                                      &first);
                        printf(",\"versions\":[");
                        for (k = first; k < first + cnt; k++) {
                                printf("%s{", k > first ? "," : "");
                                rumctl_json_fields(ctx->versions, k,
                                                   version_cols, V_VERSION,
                                                   V_CNT);
                                printf("}");
                        }
                        printf("]");
                }
                printf("}");
        }
        printf("]}\n");
}

/* ---- The command ------------------------------------------------------- */

static PGresult *query(ctx_t *ctx, const char *sql, int nparams,
                       const char *const *params) {
        PGresult *res = rs_pg_query(ctx->pg, sql, nparams, params, ctx->errstr,
                                    sizeof(ctx->errstr));

        if (!res)
                rs_log_error("%s", ctx->errstr);
        return res;
}

/* Everything, in one snapshot. @returns 0 or -1 (logged). */
static int load(ctx_t *ctx, int64_t since_s) {
        static const char as_of_sql[] =
            "SELECT max(updated_at)::text, "
            "(extract(epoch FROM max(updated_at)) * 1000)::bigint "
            "FROM issues WHERE tenant_id = $1";
        char        interval[48], as_of[64];
        const char *params[6];
        PGresult   *res;
        int         n, r;

        if (rs_pg_exec(ctx->pg,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       ctx->errstr, sizeof(ctx->errstr)) == -1) {
                rs_log_error("%s", ctx->errstr);
                return -1;
        }
        params[0] = ctx->tenant;
        res       = query(ctx, as_of_sql, 1, params);
        if (!res)
                return -1;
        ctx->have_as_of = !PQgetisnull(res, 0, 0);
        if (ctx->have_as_of) {
                snprintf(as_of, sizeof(as_of), "%s", PQgetvalue(res, 0, 0));
                ctx->as_of_ms = rumctl_pg_ms(res, 0, 1);
        }
        PQclear(res);
        if (!ctx->have_as_of)
                return 0;

        snprintf(interval, sizeof(interval), "%" PRId64 " seconds", since_s);
        params[1]   = ctx->route;
        params[2]   = ctx->kind;
        params[3]   = ctx->state;
        params[4]   = as_of;
        params[5]   = interval;
        ctx->issues = query(ctx, issues_sql, 6, params);
        if (!ctx->issues)
                return -1;
        n = PQntuples(ctx->issues);
        for (r = 0; r < n; r++) {
                if (is_resolved(ctx->issues, r))
                        ctx->resolved_cnt++;
                else
                        ctx->open_cnt++;
        }
        if (ctx->detailed && n > 0) {
                ctx->versions = query(ctx, versions_sql, 6, params);
                if (!ctx->versions)
                        return -1;
                /* JSON has the evidence column as it is. */
                if (!ctx->json &&
                    !(ctx->evidence = query(ctx, evidence_sql, 6, params)))
                        return -1;
        }
        rs_pg_rollback(ctx->pg);
        return 0;
}

int rumctl_issues(int argc, char **argv) {
        static const struct option longopts[] = {
            {"dsn", required_argument, NULL, 'd'},
            {"pg-dsn", required_argument, NULL, 'd'},
            {"tenant-id", required_argument, NULL, 't'},
            {"route", required_argument, NULL, 'r'},
            {"kind", required_argument, NULL, 'k'},
            {"state", required_argument, NULL, 's'},
            {"since", required_argument, NULL, 'S'},
            {"detailed", no_argument, NULL, 'D'},
            {"json", no_argument, NULL, 'j'},
            {"wait-ms", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char *dsn     = getenv("RUMSTREAM_PG_DSN");
        const char *since   = NULL;
        int64_t     wait_ms = 10000, since_s = 0;
        int         ret = RUMCTL_EXIT_FAIL, c;
        ctx_t       ctx;

        memset(&ctx, 0, sizeof(ctx));
        ctx.route = "";
        ctx.kind  = "";
        ctx.state = "recent";
        while ((c = getopt_long(argc, argv, ":d:t:r:k:s:S:Djw:h", longopts,
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
                case 'k':
                        ctx.kind = optarg;
                        if (!*ctx.kind) {
                                fprintf(stderr,
                                        "rumctl " CMD ": --kind: empty kind\n");
                                goto usage;
                        }
                        break;
                case 's':
                        if (strcmp(optarg, "open") && strcmp(optarg, "all")) {
                                fprintf(stderr,
                                        "rumctl " CMD ": --state: expected "
                                        "open or all, not \"%s\"\n",
                                        optarg);
                                goto usage;
                        }
                        ctx.state = optarg;
                        break;
                case 'S':
                        since = optarg;
                        break;
                case 'D':
                        ctx.detailed = 1;
                        break;
                case 'j':
                        ctx.json = 1;
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
            rumctl_required(CMD, "--tenant-id", ctx.tenant, NULL) == -1)
                goto usage;
        /* --since bounds the resolved issues of the default listing only:
         * --state open shows none, --state all every one. */
        if (since && strcmp(ctx.state, "recent")) {
                fprintf(stderr,
                        "rumctl " CMD ": --since does not go with --state "
                        "%s\n",
                        ctx.state);
                goto usage;
        }
        ctx.since = since ? since : DEFAULT_SINCE;
        if (rumctl_parse_duration(CMD, "--since", ctx.since, MAX_SINCE_S,
                                  &since_s) == -1 ||
            rumctl_required(CMD, "--dsn", dsn, "RUMSTREAM_PG_DSN") == -1)
                goto usage;

        rumctl_catch_signals();
        ctx.pg = rs_pg_new(dsn, ctx.errstr, sizeof(ctx.errstr));
        if (!ctx.pg) {
                rs_log_error("%s", ctx.errstr);
                goto out;
        }
        rs_pg_set_stop_flag(ctx.pg, &rumctl_stop);
        if (rs_pg_connect(ctx.pg, (int)wait_ms, ctx.errstr,
                          sizeof(ctx.errstr)) == -1) {
                rs_log_error("cannot connect: %s", ctx.errstr);
                goto out;
        }
        if (load(&ctx, since_s) == -1)
                goto out;

        if (ctx.json) {
                print_json(&ctx);
        } else if (!ctx.issues || PQntuples(ctx.issues) == 0) {
                printf("no issues for tenant %s", ctx.tenant);
                if (ctx.have_as_of)
                        print_none_matching(&ctx);
                printf("\n");
        } else if (print_text(&ctx) == -1) {
                goto out;
        }
        fflush(stdout);
        ret = RUMCTL_EXIT_OK;
out:
        if (ctx.pg)
                rs_pg_rollback(ctx.pg);
        PQclear(ctx.issues);
        PQclear(ctx.versions);
        PQclear(ctx.evidence);
        rs_pg_destroy(ctx.pg);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
