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
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rumstream/detect.h"
#include "rumstream/hash.h"
#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumstream/sketch.h"
#include "rumstream/vitals.h"
#include "rumctl.h"

#define CMD "issues"

#define DEFAULT_SINCE "24h"
#define MAX_SINCE_S   (3650LL * 86400)

/* --dry-run: the anomaly-detector's default rules (config/
 * anomaly-detector.conf, budget.rules). */
#define DRY_DEFAULT_RULES                                                      \
        "lcp > 4000 for 5 windows: high; inp > 500 for 5 windows: high; "      \
        "cls > 0.25 for 5 windows: high"

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
        int         dry_run; /* issues from a replay, not the table */

        /* --dry-run: the window starts judged, series and windows. */
        int64_t dry_from_ms, dry_to_ms;
        size_t  dry_series, dry_windows;

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
            "       rumctl issues --tenant-id T --dry-run [--rules TEXT] "
            "[--min-samples N]\n"
            "                     [--min-history N] [--route R] [--kind K] "
            "[--since 24h] ...\n"
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
            "  --dry-run          instead of the issues table, replay the "
            "anomaly-detector's\n"
            "                     rules (regression, level_shift, "
            "budget_breach) on the\n"
            "                     route aggregates (rum_aggregates, segment "
            "all; lcp, inp,\n"
            "                     cls, fcp, ttfb) of the --since before the "
            "tenant's latest\n"
            "                     window, and print the issues it would "
            "raise, in their\n"
            "                     final state; nothing is emitted or written. "
            "--state open\n"
            "                     keeps those still open at the end; the "
            "first windows only\n"
            "                     build the baseline\n"
            "  --rules TEXT       with --dry-run: budget rules (default the "
            "detector's:\n"
            "                     \"" DRY_DEFAULT_RULES "\")\n"
            "  --min-samples N    with --dry-run: page views a window needs "
            "(default 50)\n"
            "  --min-history N    with --dry-run: windows a baseline needs, "
            "1 to 60\n"
            "                     (default 30)\n"
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

/* The header of --dry-run: what was judged, and that it is a dry run. */
static void print_dry_header(const ctx_t *ctx) {
        char from[32], to[32];

        rumctl_format_time(ctx->dry_from_ms, RUMCTL_TIME_TEXT, from,
                           sizeof(from));
        rumctl_format_time(ctx->dry_to_ms, RUMCTL_TIME_TEXT, to, sizeof(to));
        printf("DRY RUN: issues the anomaly-detector would raise for tenant "
               "%s",
               ctx->tenant);
        print_scope(ctx);
        if (!strcmp(ctx->state, "open"))
                printf(", still open at the end");
        printf("\njudged %zu windows of %zu route series (segment all), "
               "window starts %s to %s UTC;\nnothing was emitted or "
               "written\n",
               ctx->dry_windows, ctx->dry_series, from, to);
}

static int print_text(const ctx_t *ctx) {
        int  n = PQntuples(ctx->issues), r;
        char as_of[32];

        rumctl_format_time(ctx->as_of_ms, RUMCTL_TIME_TEXT, as_of,
                           sizeof(as_of));
        if (ctx->dry_run) {
                print_dry_header(ctx);
        } else {
                if (!strcmp(ctx->state, "recent"))
                        printf("issues of tenant %s", ctx->tenant);
                else
                        printf("%s issues of tenant %s", ctx->state,
                               ctx->tenant);
                print_scope(ctx);
                if (!strcmp(ctx->state, "recent"))
                        printf(": open, and resolved within %s of the latest "
                               "update (%s UTC)",
                               ctx->since, as_of);
        }
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
        if (ctx->dry_run) {
                printf(",\"dry_run\":true,\"windows_from\":");
                if (ctx->have_as_of)
                        rumctl_json_time(ctx->dry_from_ms);
                else
                        printf("null");
                printf(",\"windows_to\":");
                if (ctx->have_as_of)
                        rumctl_json_time(ctx->dry_to_ms);
                else
                        printf("null");
                printf(",\"series\":%zu,\"windows\":%zu", ctx->dry_series,
                       ctx->dry_windows);
        }
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

/* ---- Dry run ----------------------------------------------------------- */

/*
 * --dry-run replays the anomaly-detector's judging (processors/anomaly-
 * detector/judge.c) over the route-level ("all") aggregates of
 * rum_aggregates, in memory: per series (route, metric) in window order a
 * window from its sketch, the regression against the baseline of the
 * windows before (frozen at the start of a breach), the level shift and the
 * budget rules, each fed to its lifecycle. Each event becomes a version of
 * an issue with the detector's id, title, values and evidence; the issues
 * are then put into PGresults of the same columns as the queries above
 * (PQmakeEmptyPGresult), so the table, --detailed and --json print them
 * as they print stored issues. Nothing is emitted or written.
 *
 * Not replayed: segments other than "all" (and so the explanation by
 * device), seasonal profiles (the detector's default is none), and the
 * detector's other settings, which take its defaults.
 */

#define DRY_SOURCE       "anomaly-detector"
#define DRY_EVIDENCE_MAX 12
#define DRY_HISTORY      60 /* detect.history */

/* In the order of the detector's kinds (ad_kind_name). */
enum { DRY_REG, DRY_BUDGET, DRY_SHIFT, DRY_NKIND };

static const char *const dry_kind_name[DRY_NKIND] = {
    "regression", "budget_breach", "level_shift"};

static const char *const dry_metric[] = {"lcp", "inp", "cls", "fcp", "ttfb"};

#define DRY_NMETRIC ((int)(sizeof(dry_metric) / sizeof(dry_metric[0])))

typedef struct dry_kv_s {
        char key[24];
        char value[160];
} dry_kv_t;

typedef struct dry_version_s {
        int64_t     version;
        const char *state; /* static */
        int         severity;
        double      observed;
        int64_t     updated_ms;
} dry_version_t;

/* One issue as the detector would leave it, and its versions. */
typedef struct dry_issue_s {
        char           id[33];
        char          *route;     /* owned */
        char          *seg_value; /* owned */
        const char    *metric;    /* static */
        int            kind;
        const char    *state; /* static: the last event's name */
        int            severity;
        int64_t        version, opened_ms, updated_ms, resolved_ms;
        double         observed, baseline, threshold;
        int64_t        sample_size;
        char           title[512];
        dry_kv_t       ev[DRY_EVIDENCE_MAX];
        int            nev;
        dry_version_t *vers;
        size_t         nvers;
} dry_issue_t;

typedef struct dry_s {
        rs_detect_conf_t           dc;
        rs_detect_lifecycle_conf_t lc[DRY_NKIND];
        rs_detect_rules_t         *rules;
        dry_issue_t               *iss;
        size_t                     n, cap;
        size_t                     series, windows;
        int64_t                    from_ms, to_ms; /* window starts judged */
} dry_t;

/* One series being replayed: all its windows, oldest first. */
typedef struct dry_series_s {
        const char         *tenant, *route, *seg_value, *metric;
        char                label[RS_DETECT_METRIC_MAX];
        rs_detect_point_t  *pts;  /* baseline points: NaN below min_samples */
        rs_detect_window_t *wins; /* the windows, with their p75 CI */
        int64_t            *size; /* window length, ms */
        double             *scratch;
        size_t              n;
        rs_detect_state_t   st[DRY_NKIND];
        size_t              cur[DRY_NKIND]; /* issue index + 1, or 0 */
} dry_series_t;

static void *dry_grow(void *p, size_t n, size_t size) {
        void *q = realloc(p, n * size);

        if (!q) {
                rs_log_error("out of memory");
                abort();
        }
        return q;
}

static char *dry_strdup(const char *s) {
        char *d = strdup(s);

        if (!d) {
                rs_log_error("out of memory");
                abort();
        }
        return d;
}

static void dry_free(dry_t *dry) {
        size_t i;

        for (i = 0; i < dry->n; i++) {
                free(dry->iss[i].route);
                free(dry->iss[i].seg_value);
                free(dry->iss[i].vers);
        }
        free(dry->iss);
        rs_detect_rules_destroy(dry->rules);
}

static void dry_evidence(dry_issue_t *is, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void dry_evidence(dry_issue_t *is, const char *key, const char *fmt,
                         ...) {
        va_list ap;

        if (is->nev >= DRY_EVIDENCE_MAX)
                return;
        snprintf(is->ev[is->nev].key, sizeof(is->ev[is->nev].key), "%s", key);
        va_start(ap, fmt);
        vsnprintf(is->ev[is->nev].value, sizeof(is->ev[is->nev].value), fmt,
                  ap);
        va_end(ap);
        is->nev++;
}

static void dry_fmt_num(const char *metric, double v, char *buf, size_t size) {
        if (!isfinite(v))
                snprintf(buf, size, "n/a");
        else if (!strcmp(metric, "cls"))
                snprintf(buf, size, "%.3f", v);
        else
                snprintf(buf, size, "%.0f ms", v);
}

/* An event of series \p s, kind \p kind at window \p i, as judge.c's
 * publish() would write it (without the explanation by segment). */
static void dry_record(dry_t *dry, dry_series_t *s, int kind, size_t i,
                       rs_detect_event_t ev, const rs_detect_verdict_t *v,
                       const rs_detect_baseline_t *b,
                       const rs_detect_rule_t     *rule) {
        const rs_detect_state_t  *st  = &s->st[kind];
        const rs_detect_window_t *cur = &s->wins[i];
        dry_issue_t              *is;
        dry_version_t            *ver;
        char                      obs[32], exp[32], ts[40];
        double                    thr = NAN, base = NAN;

        if (ev == RS_DETECT_EVENT_OPEN || !s->cur[kind]) {
                rs_id_t h;

                if (dry->n == dry->cap) {
                        dry->cap = dry->cap ? 2 * dry->cap : 16;
                        dry->iss =
                            dry_grow(dry->iss, dry->cap, sizeof(*dry->iss));
                }
                is = &dry->iss[dry->n++];
                memset(is, 0, sizeof(*is));
                s->cur[kind]  = dry->n;
                is->route     = dry_strdup(s->route);
                is->seg_value = dry_strdup(s->seg_value);
                is->metric    = s->metric;
                is->kind      = kind;
                rs_id_init(&h, "issue");
                rs_id_add_str(&h, s->tenant);
                rs_id_add_str(&h, dry_kind_name[kind]);
                rs_id_add_str(&h, s->route);
                rs_id_add_str(&h, "all");
                rs_id_add_str(&h, s->seg_value);
                rs_id_add_str(&h, s->metric);
                rs_id_add_i64(&h, st->opened_ms);
                rs_id_hex(&h, is->id);
        }
        is              = &dry->iss[s->cur[kind] - 1];
        is->state       = rs_detect_event_name(ev);
        is->severity    = st->severity;
        is->version     = st->version;
        is->opened_ms   = st->opened_ms;
        is->updated_ms  = cur->ts_ms + s->size[i];
        is->resolved_ms = ev == RS_DETECT_EVENT_RESOLVED ? is->updated_ms : -1;
        is->observed    = cur->value;
        is->sample_size = (int64_t)cur->samples;
        if (kind == DRY_BUDGET) {
                thr = v->expected;
        } else if (b && b->valid) {
                base = b->level;
                thr  = b->level * (1 + dry->dc.min_degradation);
                if (b->level + dry->dc.z_threshold * b->spread > thr)
                        thr = b->level + dry->dc.z_threshold * b->spread;
        }
        is->baseline  = base;
        is->threshold = thr;
        dry_fmt_num(s->metric, cur->value, obs, sizeof(obs));
        dry_fmt_num(s->metric, kind == DRY_BUDGET ? thr : base, exp,
                    sizeof(exp));
        snprintf(is->title, sizeof(is->title),
                 "%s %s on %s (all traffic): "
                 "%s %s %s",
                 s->label,
                 kind == DRY_REG     ? "regressed"
                 : kind == DRY_SHIFT ? "shifted up"
                                     : "over budget",
                 s->route, obs,
                 kind == DRY_BUDGET ? "against a budget of" : "against", exp);

        is->nev = 0;
        rs_pg_timestamp(cur->ts_ms, ts, sizeof(ts));
        dry_evidence(is, "window", "%s", ts);
        dry_evidence(is, "window_ms", "%" PRId64, s->size[i]);
        rs_pg_timestamp(st->since_ms, ts, sizeof(ts));
        dry_evidence(is, "breach_since", "%s", ts);
        if (isfinite(v->degradation))
                dry_evidence(is, "degradation_pct", "%.1f",
                             100 * v->degradation);
        if (isfinite(v->score))
                dry_evidence(is, "robust_score", "%.2f", v->score);
        dry_evidence(is, "p75_ci", "[%.6g, %.6g]", cur->ci_lo, cur->ci_hi);
        dry_evidence(is, "samples", "%.0f", cur->samples);
        if (b && b->valid) {
                dry_evidence(is, "baseline_windows", "%zu", b->n);
                dry_evidence(is, "baseline_spread", "%.6g", b->spread);
                dry_evidence(is, "season", "%s",
                             rs_detect_season_name(b->season));
        }
        if (rule)
                dry_evidence(is, "rule", "%s %s %g for %u windows: %s",
                             rule->metric, rs_detect_op_name(rule->op),
                             rule->threshold, rule->for_windows,
                             rs_detect_severity_name(rule->severity));

        is->vers        = dry_grow(is->vers, is->nvers + 1, sizeof(*is->vers));
        ver             = &is->vers[is->nvers++];
        ver->version    = is->version;
        ver->state      = is->state;
        ver->severity   = is->severity;
        ver->observed   = is->observed;
        ver->updated_ms = is->updated_ms;
}

static int dry_active(const rs_detect_state_t *st) {
        return st->open || st->breach_run > 0;
}

/* Judges window \p i of \p s as judge.c's judge_series() judges a route's
 * "all" series: the windows before it are the ring. */
static void dry_judge(dry_t *dry, const char *tenant, dry_series_t *s,
                      size_t i) {
        const rs_detect_conf_t *dc    = &dry->dc;
        const rs_detect_rule_t *rules = NULL, *win_rule = NULL;
        rs_detect_baseline_t    b;
        rs_detect_verdict_t     v;
        rs_detect_shift_t       sh;
        rs_detect_event_t       ev;
        size_t                  n   = i + 1, k, nrules;
        int64_t                 now = s->wins[i].ts_ms;

        /* Regression. */
        rs_detect_baseline(dc, s->pts, n, now,
                           rs_detect_state_end(&s->st[DRY_REG], now),
                           s->scratch, &b);
        rs_detect_regression(dc, &b, &s->wins[i], &v);
        ev = rs_detect_feed(&dry->lc[DRY_REG], &s->st[DRY_REG], &v);
        if (ev != RS_DETECT_EVENT_NONE)
                dry_record(dry, s, DRY_REG, i, ev, &v, &b, NULL);

        /* Level shift over the last shift_windows windows. */
        k = dc->shift_windows;
        if (n >= k) {
                const rs_detect_window_t *recent = s->wins + n - k;
                int64_t                   first  = recent[0].ts_ms,
                        mid                      = recent[(k - 1) / 2].ts_ms;

                rs_detect_baseline(
                    dc, s->pts, n, mid,
                    rs_detect_state_end(&s->st[DRY_SHIFT], first), s->scratch,
                    &b);
                rs_detect_level_shift(dc, &b, recent, k, &sh);
                v       = sh.verdict;
                v.ts_ms = now;
                if (!s->st[DRY_SHIFT].open && dry_active(&s->st[DRY_REG]))
                        v.status = RS_DETECT_NO_DATA;
                ev = rs_detect_feed(&dry->lc[DRY_SHIFT], &s->st[DRY_SHIFT], &v);
                if (ev != RS_DETECT_EVENT_NONE)
                        dry_record(dry, s, DRY_SHIFT, i, ev, &v, &b, NULL);
        }

        /* Budgets. */
        nrules = rs_detect_rules_find(dry->rules, tenant, s->metric, &rules);
        if (!nrules && !s->st[DRY_BUDGET].open)
                return;
        rs_detect_budget(dc, rules, nrules, s->wins, n, &v);
        ev = rs_detect_feed(&dry->lc[DRY_BUDGET], &s->st[DRY_BUDGET], &v);
        if (ev == RS_DETECT_EVENT_NONE)
                return;
        if (v.rule >= 0 && (size_t)v.rule < nrules)
                win_rule = &rules[v.rule];
        else if (isfinite(s->st[DRY_BUDGET].noticed_expected))
                for (k = 0; k < nrules; k++)
                        if (rules[k].threshold ==
                            s->st[DRY_BUDGET].noticed_expected)
                                win_rule = &rules[k];
        if (ev == RS_DETECT_EVENT_RESOLVED)
                v.expected = s->st[DRY_BUDGET].noticed_expected;
        dry_record(dry, s, DRY_BUDGET, i, ev, &v, NULL, win_rule);
}

/* Rows [first, first + cnt) of \p res are one series, oldest first:
 * route, segment_value, metric, start ms, end ms, samples, sketch. */
static void dry_series(dry_t *dry, const char *tenant, const PGresult *res,
                       int first, int cnt) {
        dry_series_t s;
        size_t       j;
        int          r, k;

        memset(&s, 0, sizeof(s));
        s.tenant    = tenant;
        s.route     = PQgetvalue(res, first, 0);
        s.seg_value = PQgetvalue(res, first, 1);
        for (k = 0; k < DRY_NMETRIC; k++)
                if (!strcmp(PQgetvalue(res, first, 2), dry_metric[k]))
                        s.metric = dry_metric[k];
        if (!s.metric)
                return;
        for (j = 0; s.metric[j] && j + 1 < sizeof(s.label); j++)
                s.label[j] = (char)toupper((unsigned char)s.metric[j]);
        s.pts  = dry_grow(NULL, (size_t)cnt, sizeof(*s.pts));
        s.wins = dry_grow(NULL, (size_t)cnt, sizeof(*s.wins));
        s.size = dry_grow(NULL, (size_t)cnt, sizeof(*s.size));
        s.scratch =
            dry_grow(NULL, RS_DETECT_BASELINE_SCRATCH(cnt), sizeof(*s.scratch));
        for (k = 0; k < DRY_NKIND; k++)
                rs_detect_state_init(&s.st[k]);

        for (r = first; r < first + cnt; r++) {
                rs_detect_window_t *w       = &s.wins[s.n];
                int64_t             start   = rumctl_pg_ms(res, r, 3);
                double              samples = rumctl_pg_num(res, r, 5);
                unsigned char      *bytes;
                size_t              len;
                rs_sketch_t        *sk = NULL;
                char                err[256];

                bytes = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(res, r, 6), &len);
                if (bytes) {
                        sk =
                            rs_sketch_deserialize(bytes, len, err, sizeof(err));
                        PQfreemem(bytes);
                }
                if (!sk) {
                        rs_log_warn("%s %s: window %" PRId64
                                    ": bad sketch, skipped",
                                    s.route, s.metric, start);
                        continue;
                }
                if (!(rs_sketch_count(sk) > 0)) {
                        rs_sketch_destroy(sk);
                        continue;
                }
                rs_detect_window_from_sketch(&dry->dc, sk, start, w);
                /* Sampled traffic is re-weighted, as the detector does:
                 * the interval rests on the page views measured. */
                if (samples > 0 && samples != w->samples) {
                        w->samples = samples;
                        if (rs_detect_quantile_ci(samples, 0.75,
                                                  dry->dc.ci_level,
                                                  rs_detect_sketch_quantile, sk,
                                                  &w->ci_lo, &w->ci_hi) != 0) {
                                w->ci_lo = NAN;
                                w->ci_hi = NAN;
                        }
                }
                rs_sketch_destroy(sk);
                s.pts[s.n].ts_ms = start;
                s.pts[s.n].value =
                    w->samples >= dry->dc.min_samples ? w->value : NAN;
                s.size[s.n] = rumctl_pg_ms(res, r, 4) - start;
                s.n++;
        }
        for (j = 0; j < s.n; j++)
                dry_judge(dry, tenant, &s, j);
        dry->series++;
        dry->windows += s.n;
        free(s.pts);
        free(s.wins);
        free(s.size);
        free(s.scratch);
}

/* Open first, the most severe first, then the oldest; then the resolved,
 * the latest resolved first: the order of issues_sql. */
static int dry_sev_rank(int sev) {
        return sev >= RS_DETECT_SEV_LOW && sev <= RS_DETECT_SEV_CRITICAL
                   ? RS_DETECT_SEV_CRITICAL - sev
                   : 4;
}

static int dry_issue_cmp(const void *pa, const void *pb) {
        const dry_issue_t *a = pa, *b = pb;
        int                ra = a->resolved_ms >= 0, rb = b->resolved_ms >= 0;

        if (ra != rb)
                return ra - rb;
        if (!ra) {
                if (dry_sev_rank(a->severity) != dry_sev_rank(b->severity))
                        return dry_sev_rank(a->severity) -
                               dry_sev_rank(b->severity);
                if (a->opened_ms != b->opened_ms)
                        return a->opened_ms < b->opened_ms ? -1 : 1;
        } else if (a->resolved_ms != b->resolved_ms) {
                return a->resolved_ms > b->resolved_ms ? -1 : 1;
        }
        return strcmp(a->id, b->id);
}

static int dry_id_cmp(const void *pa, const void *pb) {
        const dry_issue_t *const *a = pa, *const *b = pb;

        return strcmp((*a)->id, (*b)->id);
}

static int dry_kv_cmp(const void *pa, const void *pb) {
        return strcmp(((const dry_kv_t *)pa)->key, ((const dry_kv_t *)pb)->key);
}

static PGresult *dry_result(int ncol) {
        PGresAttDesc attrs[I_CNT];
        PGresult    *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        int          c;

        memset(attrs, 0, sizeof(attrs));
        for (c = 0; c < ncol; c++) {
                attrs[c].name      = (char *)"c";
                attrs[c].typlen    = -1;
                attrs[c].atttypmod = -1;
        }
        if (!res || !PQsetResultAttrs(res, ncol, attrs)) {
                rs_log_error("out of memory");
                abort();
        }
        return res;
}

static void dry_set(PGresult *res, int r, int c, const char *v) {
        if (!PQsetvalue(res, r, c, (char *)v, v ? (int)strlen(v) : -1)) {
                rs_log_error("out of memory");
                abort();
        }
}

static void dry_set_num(PGresult *res, int r, int c, double v, char *buf,
                        size_t size) {
        if (isfinite(v))
                snprintf(buf, size, "%.17g", v);
        dry_set(res, r, c, isfinite(v) ? buf : NULL);
}

static void dry_set_i64(PGresult *res, int r, int c, int64_t v, char *buf,
                        size_t size) {
        snprintf(buf, size, "%" PRId64, v);
        dry_set(res, r, c, buf);
}

/* The evidence as a JSON object of strings, as the detector writes it. */
static void dry_json_evidence(const dry_issue_t *is, char *out, size_t size) {
        size_t      len = 0;
        int         k;
        const char *p;

        len += (size_t)snprintf(out, size, "{");
        for (k = 0; k < is->nev && len < size; k++) {
                const char *part[2] = {is->ev[k].key, is->ev[k].value};
                int         j;

                for (j = 0; j < 2 && len < size; j++) {
                        len += (size_t)snprintf(out + len, size - len, "%s\"",
                                                j   ? ": "
                                                : k ? ", "
                                                    : "");
                        for (p = part[j]; *p && len + 8 < size; p++) {
                                if (*p == '"' || *p == '\\')
                                        out[len++] = '\\';
                                if ((unsigned char)*p < 0x20)
                                        len += (size_t)snprintf(
                                            out + len, size - len, "\\u%04x",
                                            (unsigned char)*p);
                                else
                                        out[len++] = *p;
                        }
                        if (len < size)
                                len += (size_t)snprintf(out + len, size - len,
                                                        "\"");
                }
        }
        if (len < size)
                snprintf(out + len, size - len, "}");
}

/* Issues kept by --kind and --state (open: not resolved at the end). */
static int dry_keep(const ctx_t *ctx, const dry_issue_t *is) {
        if (*ctx->kind && strcmp(ctx->kind, dry_kind_name[is->kind]))
                return 0;
        if (!strcmp(ctx->state, "open") && is->resolved_ms >= 0)
                return 0;
        return 1;
}

/* Puts the kept issues of \p dry into ctx->issues, versions, evidence. */
static void dry_results(ctx_t *ctx, dry_t *dry) {
        dry_issue_t **byid = NULL;
        char          buf[64], ev[2 * DRY_EVIDENCE_MAX * 200];
        size_t        i, n = 0, j;
        int           r = 0, rv = 0, re = 0;

        qsort(dry->iss, dry->n, sizeof(*dry->iss), dry_issue_cmp);
        ctx->issues   = dry_result(I_CNT);
        ctx->versions = dry_result(V_CNT);
        ctx->evidence = dry_result(3);
        if (dry->n)
                byid = dry_grow(NULL, dry->n, sizeof(*byid));
        for (i = 0; i < dry->n; i++) {
                dry_issue_t *is = &dry->iss[i];

                if (!dry_keep(ctx, is))
                        continue;
                byid[n++] = is;
                if (is->resolved_ms >= 0)
                        ctx->resolved_cnt++;
                else
                        ctx->open_cnt++;
                dry_set(ctx->issues, r, I_ISSUE_ID, is->id);
                dry_set(ctx->issues, r, I_TENANT_ID, ctx->tenant);
                dry_set(ctx->issues, r, I_KIND, dry_kind_name[is->kind]);
                dry_set(ctx->issues, r, I_STATE, is->state);
                dry_set(ctx->issues, r, I_SEVERITY,
                        rs_detect_severity_name(
                            (rs_detect_severity_t)is->severity));
                dry_set(ctx->issues, r, I_TITLE, is->title);
                dry_set(ctx->issues, r, I_SOURCE, DRY_SOURCE);
                dry_set(ctx->issues, r, I_ROUTE, is->route);
                dry_set(ctx->issues, r, I_SEGMENT_TYPE, "all");
                dry_set(ctx->issues, r, I_SEGMENT_VALUE, is->seg_value);
                dry_set(ctx->issues, r, I_METRIC, is->metric);
                dry_set_num(ctx->issues, r, I_OBSERVED, is->observed, buf,
                            sizeof(buf));
                dry_set_num(ctx->issues, r, I_BASELINE, is->baseline, buf,
                            sizeof(buf));
                dry_set_num(ctx->issues, r, I_THRESHOLD, is->threshold, buf,
                            sizeof(buf));
                dry_set_i64(ctx->issues, r, I_SAMPLE_SIZE, is->sample_size, buf,
                            sizeof(buf));
                dry_set_i64(ctx->issues, r, I_OPENED_AT, is->opened_ms, buf,
                            sizeof(buf));
                dry_set_i64(ctx->issues, r, I_UPDATED_AT, is->updated_ms, buf,
                            sizeof(buf));
                if (is->resolved_ms >= 0)
                        dry_set_i64(ctx->issues, r, I_RESOLVED_AT,
                                    is->resolved_ms, buf, sizeof(buf));
                else
                        dry_set(ctx->issues, r, I_RESOLVED_AT, NULL);
                dry_set_i64(ctx->issues, r, I_VERSION, is->version, buf,
                            sizeof(buf));
                qsort(is->ev, (size_t)is->nev, sizeof(*is->ev), dry_kv_cmp);
                dry_json_evidence(is, ev, sizeof(ev));
                dry_set(ctx->issues, r, I_EVIDENCE, ev);
                r++;
        }
        /* Versions and evidence sorted by issue id, as rows_of() needs. */
        if (n)
                qsort(byid, n, sizeof(*byid), dry_id_cmp);
        for (i = 0; i < n; i++) {
                const dry_issue_t *is = byid[i];
                int                k;

                for (j = 0; j < is->nvers; j++, rv++) {
                        const dry_version_t *ver = &is->vers[j];

                        dry_set(ctx->versions, rv, V_ISSUE_ID, is->id);
                        dry_set_i64(ctx->versions, rv, V_VERSION, ver->version,
                                    buf, sizeof(buf));
                        dry_set(ctx->versions, rv, V_STATE, ver->state);
                        dry_set(ctx->versions, rv, V_SEVERITY,
                                rs_detect_severity_name(
                                    (rs_detect_severity_t)ver->severity));
                        dry_set_num(ctx->versions, rv, V_OBSERVED,
                                    ver->observed, buf, sizeof(buf));
                        dry_set_i64(ctx->versions, rv, V_UPDATED_AT,
                                    ver->updated_ms, buf, sizeof(buf));
                }
                for (k = 0; k < is->nev; k++, re++) {
                        dry_set(ctx->evidence, re, 0, is->id);
                        dry_set(ctx->evidence, re, 1, is->ev[k].key);
                        dry_set(ctx->evidence, re, 2, is->ev[k].value);
                }
        }
        free(byid);
}

/* Reads the tenant's route aggregates over --since and replays the
 * detector on them. @returns 0 or -1 (logged). */
static int dry_load(ctx_t *ctx, dry_t *dry, int64_t since_s) {
        static const char sql[] =
            "WITH l AS (SELECT max(window_start) AS t FROM rum_aggregates "
            "WHERE tenant_id = $1 AND segment_type = 'all') "
            "SELECT a.route, a.segment_value, a.metric, "
            "(extract(epoch FROM a.window_start) * 1000)::bigint, "
            "(extract(epoch FROM a.window_end) * 1000)::bigint, a.samples, "
            "a.sketch, (extract(epoch FROM l.t) * 1000)::bigint "
            "FROM rum_aggregates a, l WHERE a.tenant_id = $1 "
            "AND a.segment_type = 'all' AND ($2 = '' OR a.route = $2) "
            "AND a.metric = ANY($3::text[]) "
            "AND a.window_start > l.t - $4::interval "
            "ORDER BY a.route COLLATE \"C\", a.segment_value COLLATE \"C\", "
            "a.metric COLLATE \"C\", a.window_start";
        char        interval[48], metrics[64];
        const char *params[4];
        size_t      o = 0;
        PGresult   *res;
        int         n, r, first, m;

        o += (size_t)snprintf(metrics, sizeof(metrics), "{");
        for (m = 0; m < DRY_NMETRIC && o < sizeof(metrics); m++)
                o += (size_t)snprintf(metrics + o, sizeof(metrics) - o, "%s%s",
                                      m ? "," : "", dry_metric[m]);
        if (o < sizeof(metrics))
                snprintf(metrics + o, sizeof(metrics) - o, "}");
        snprintf(interval, sizeof(interval), "%" PRId64 " seconds", since_s);
        params[0] = ctx->tenant;
        params[1] = ctx->route;
        params[2] = metrics;
        params[3] = interval;
        if (rs_pg_exec(ctx->pg, "BEGIN READ ONLY", ctx->errstr,
                       sizeof(ctx->errstr)) == -1) {
                rs_log_error("%s", ctx->errstr);
                return -1;
        }
        if (!(res = query(ctx, sql, 4, params)))
                return -1;
        rs_pg_rollback(ctx->pg);
        n = PQntuples(res);
        if (n > 0) {
                ctx->have_as_of = 1;
                ctx->as_of_ms   = rumctl_pg_ms(res, 0, 7);
                dry->from_ms    = INT64_MAX;
                dry->to_ms      = INT64_MIN;
        }
        for (r = 0; r < n; r++) {
                int64_t t = rumctl_pg_ms(res, r, 3);

                if (t < dry->from_ms)
                        dry->from_ms = t;
                if (t > dry->to_ms)
                        dry->to_ms = t;
        }
        for (first = 0; first < n; first = r) {
                for (r = first + 1;
                     r < n &&
                     !strcmp(PQgetvalue(res, r, 0),
                             PQgetvalue(res, first, 0)) &&
                     !strcmp(PQgetvalue(res, r, 1),
                             PQgetvalue(res, first, 1)) &&
                     !strcmp(PQgetvalue(res, r, 2), PQgetvalue(res, first, 2));
                     r++)
                        ;
                dry_series(dry, ctx->tenant, res, first, r - first);
        }
        PQclear(res);
        ctx->dry_from_ms = dry->from_ms;
        ctx->dry_to_ms   = dry->to_ms;
        ctx->dry_series  = dry->series;
        ctx->dry_windows = dry->windows;
        dry_results(ctx, dry);
        return 0;
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
            {"dry-run", no_argument, NULL, 'n'},
            {"rules", required_argument, NULL, 'R'},
            {"min-samples", required_argument, NULL, 'm'},
            {"min-history", required_argument, NULL, 'H'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char *dsn     = getenv("RUMSTREAM_PG_DSN");
        const char *since   = NULL;
        const char *rules   = NULL;
        int64_t     wait_ms = 10000, since_s = 0, min_samples = -1,
                min_history = -1;
        int   ret           = RUMCTL_EXIT_FAIL, c, k;
        ctx_t ctx;
        dry_t dry;

        memset(&ctx, 0, sizeof(ctx));
        memset(&dry, 0, sizeof(dry));
        ctx.route = "";
        ctx.kind  = "";
        ctx.state = "recent";
        while ((c = getopt_long(argc, argv, ":d:t:r:k:s:S:Djw:nR:m:H:h",
                                longopts, NULL)) != -1) {
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
                case 'n':
                        ctx.dry_run = 1;
                        break;
                case 'R':
                        rules = optarg;
                        break;
                case 'm':
                        if (rumctl_parse_i64(CMD, "--min-samples", optarg, 1,
                                             1000000000, &min_samples) == -1)
                                goto usage;
                        break;
                case 'H':
                        if (rumctl_parse_i64(CMD, "--min-history", optarg, 1,
                                             DRY_HISTORY, &min_history) == -1)
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
        if (!ctx.dry_run && (rules || min_samples > 0 || min_history > 0)) {
                fprintf(stderr, "rumctl " CMD ": --rules, --min-samples and "
                                "--min-history go with --dry-run only\n");
                goto usage;
        }
        /* --since bounds the resolved issues of the default listing only:
         * --state open shows none, --state all every one. With --dry-run
         * it is the period judged. */
        if (since && strcmp(ctx.state, "recent") && !ctx.dry_run) {
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
        if (ctx.dry_run) {
                /* The detector's defaults (config/anomaly-detector.conf). */
                rs_detect_conf_defaults(&dry.dc);
                dry.dc.history     = DRY_HISTORY;
                dry.dc.min_history = min_history > 0 ? (size_t)min_history : 30;
                dry.dc.seasonal    = RS_DETECT_SEASON_NONE;
                dry.dc.min_samples = min_samples > 0 ? (double)min_samples : 50;
                for (k = 0; k < DRY_NKIND; k++)
                        rs_detect_lifecycle_defaults(
                            k == DRY_REG      ? RS_DETECT_KIND_REGRESSION
                            : k == DRY_BUDGET ? RS_DETECT_KIND_BUDGET
                                              : RS_DETECT_KIND_SHIFT,
                            &dry.lc[k]);
                dry.rules =
                    rs_detect_rules_parse(rules ? rules : DRY_DEFAULT_RULES,
                                          ctx.errstr, sizeof(ctx.errstr));
                if (!dry.rules) {
                        fprintf(stderr, "rumctl " CMD ": --rules: %s\n",
                                ctx.errstr);
                        goto usage;
                }
        }

        if (!(ctx.pg = rumctl_pg_connect(dsn, wait_ms)))
                goto out;
        if (ctx.dry_run ? dry_load(&ctx, &dry, since_s) == -1
                        : load(&ctx, since_s) == -1)
                goto out;

        if (ctx.json) {
                print_json(&ctx);
        } else if (ctx.dry_run && !ctx.have_as_of) {
                printf("DRY RUN: no route aggregates (rum_aggregates, segment "
                       "all) for tenant %s",
                       ctx.tenant);
                print_scope(&ctx);
                printf("\n");
        } else if (ctx.dry_run && PQntuples(ctx.issues) == 0) {
                print_dry_header(&ctx);
                printf("\nno issues would be raised\n");
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
        dry_free(&dry);
        return ret;

usage:
        dry_free(&dry);
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
