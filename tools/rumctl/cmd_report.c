/*
 * rumctl report: p75 Web Vitals per tenant and route over everything in
 * PostgreSQL.
 *
 * A p75 over many windows cannot be had from the windows' p75s (their mean
 * or median is not the p75 of the union), so the report merges the
 * serialized per-window sketches of rum_aggregates and asks the merged
 * sketch (DESIGN.md "Time and windows"). Good / poor shares add up the
 * weighted counts of the windows, which is exact.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumstream/sketch.h"
#include "rumstream/vitals.h"
#include "rumctl.h"

#define CMD "report"

#define VITAL_CNT RS_METRIC_VITAL_CNT
#define CELL_MAX  64

typedef struct row_s {
        char        *tenant;
        char        *route;
        char        *segment; /* segment value ("all" for the roll-up) */
        double       views;   /* weighted page views */
        int64_t      events;
        int64_t      windows;
        rs_sketch_t *sk[VITAL_CNT];
        double       good[VITAL_CNT], ni[VITAL_CNT], poor[VITAL_CNT];
        /* Filled when printing. */
        int    has[VITAL_CNT]; /* a p75 exists */
        double p75[VITAL_CNT];
        char   val[VITAL_CNT][24];
        char   cell[VITAL_CNT][CELL_MAX];
} row_t;

typedef struct report_s {
        rs_pg_t *pg;
        row_t   *rows;
        size_t   cnt;
        int64_t  orphans;      /* sketches without a page-view row */
        int64_t  bad_sketches; /* undecodable or of another accuracy */
        char     errstr[1024];
} report_t;

static void usage(FILE *fp) {
        fprintf(fp,
                "Usage: rumctl report --dsn DSN [--tenant-id T]\n"
                "                     [--segment all|device|country|"
                "connection] [--limit N]\n"
                "                     [--wait-ms MS]\n\n"
                "Prints, per tenant and route (and segment value), the page "
                "views and for each\n"
                "Web Vital the p75 over the whole time range with its "
                "rating and the weighted\n"
                "share of good / poor page views, sorted by tenant, then "
                "page views.\n"
                "The p75 comes from merging the windows' sketches, not from "
                "averaging p75s.\n\n"
                "  --dsn DSN        libpq connection string (default: "
                "$RUMSTREAM_PG_DSN)\n"
                "  --tenant-id T    only this tenant\n"
                "  --segment S      all (default), device, country or "
                "connection\n"
                "  --limit N        at most N routes per tenant (default 0: "
                "all)\n"
                "  --wait-ms MS     how long to retry connecting (default "
                "10000)\n"
                "  -h, --help       this text\n");
}

static int row_key_cmp(const row_t *a, const char *tenant, const char *route,
                       const char *segment) {
        int r = strcmp(a->tenant, tenant);

        if (!r)
                r = strcmp(a->route, route);
        if (!r)
                r = strcmp(a->segment, segment);
        return r;
}

static int row_cmp_key(const void *x, const void *y) {
        const row_t *b = y;

        return row_key_cmp(x, b->tenant, b->route, b->segment);
}

/* Output order: tenant, then page views descending. */
static int row_cmp_output(const void *x, const void *y) {
        const row_t *a = x, *b = y;
        int          r = strcmp(a->tenant, b->tenant);

        if (r)
                return r;
        if (a->views != b->views)
                return a->views > b->views ? -1 : 1;
        r = strcmp(a->route, b->route);
        return r ? r : strcmp(a->segment, b->segment);
}

static row_t *row_find(report_t *rp, const char *tenant, const char *route,
                       const char *segment) {
        size_t lo = 0, hi = rp->cnt;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int    r = row_key_cmp(&rp->rows[mid], tenant, route, segment);

                if (!r)
                        return &rp->rows[mid];
                if (r < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static void rows_free(report_t *rp) {
        size_t i;
        int    m;

        for (i = 0; i < rp->cnt; i++) {
                free(rp->rows[i].tenant);
                free(rp->rows[i].route);
                free(rp->rows[i].segment);
                for (m = 0; m < VITAL_CNT; m++)
                        rs_sketch_destroy(rp->rows[i].sk[m]);
        }
        free(rp->rows);
        rp->rows = NULL;
        rp->cnt  = 0;
}

static double num(const PGresult *res, int r, int c) {
        return PQgetisnull(res, r, c) ? 0 : strtod(PQgetvalue(res, r, c), NULL);
}

/* Page views per (tenant, route, segment value). */
static int load_views(report_t *rp, const char *const *params) {
        static const char sql[] =
            "SELECT tenant_id, route, segment_value, sum(page_views), "
            "sum(events), count(*) FROM rum_page_views "
            "WHERE segment_type = $1 AND ($2 = '' OR tenant_id = $2) "
            "GROUP BY tenant_id, route, segment_value";
        PGresult *res;
        int       i, n, ret = -1;

        res =
            rs_pg_query(rp->pg, sql, 2, params, rp->errstr, sizeof(rp->errstr));
        if (!res)
                return -1;
        n        = PQntuples(res);
        rp->rows = calloc(n > 0 ? (size_t)n : 1, sizeof(*rp->rows));
        if (!rp->rows) {
                snprintf(rp->errstr, sizeof(rp->errstr), "out of memory");
                goto out;
        }
        for (i = 0; i < n; i++) {
                row_t *row   = &rp->rows[rp->cnt];
                row->tenant  = strdup(PQgetvalue(res, i, 0));
                row->route   = strdup(PQgetvalue(res, i, 1));
                row->segment = strdup(PQgetvalue(res, i, 2));
                rp->cnt++;
                if (!row->tenant || !row->route || !row->segment) {
                        snprintf(rp->errstr, sizeof(rp->errstr),
                                 "out of memory");
                        goto out;
                }
                row->views   = num(res, i, 3);
                row->events  = (int64_t)num(res, i, 4);
                row->windows = (int64_t)num(res, i, 5);
        }
        qsort(rp->rows, rp->cnt, sizeof(*rp->rows), row_cmp_key);
        ret = 0;
out:
        PQclear(res);
        return ret;
}

/* Merges every window's sketch of the vitals into its row. */
static int load_sketches(report_t *rp, const char *const *params) {
        static const char sql[] =
            "SELECT tenant_id, route, segment_value, metric, sketch, good, "
            "needs_improvement, poor FROM rum_aggregates "
            "WHERE segment_type = $1 AND ($2 = '' OR tenant_id = $2) "
            "AND metric = ANY($3::text[])";
        char        metrics[128];
        const char *p[3];
        size_t      o = 0;
        PGresult   *res;
        int         i, n, m;

        /* "{lcp,inp,cls,fcp,ttfb}" */
        o += (size_t)snprintf(metrics + o, sizeof(metrics) - o, "{");
        for (m = 0; m < VITAL_CNT; m++)
                o += (size_t)snprintf(metrics + o, sizeof(metrics) - o, "%s%s",
                                      m ? "," : "",
                                      rs_metric_name((rs_metric_t)m));
        snprintf(metrics + o, sizeof(metrics) - o, "}");
        p[0] = params[0];
        p[1] = params[1];
        p[2] = metrics;

        res = rs_pg_query(rp->pg, sql, 3, p, rp->errstr, sizeof(rp->errstr));
        if (!res)
                return -1;
        n = PQntuples(res);
        for (i = 0; i < n; i++) {
                row_t *row =
                    row_find(rp, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                             PQgetvalue(res, i, 2));
                rs_metric_t    metric;
                unsigned char *bytes;
                size_t         len;
                rs_sketch_t   *sk;
                char           err[256];

                if (!row) {
                        /* Both tables are written in one transaction;
                         * only a concurrent writer gets here. */
                        rp->orphans++;
                        continue;
                }
                if (rs_metric_from_name(PQgetvalue(res, i, 3), &metric) == -1 ||
                    (int)metric >= VITAL_CNT)
                        continue;
                m = (int)metric;
                row->good[m] += num(res, i, 5);
                row->ni[m] += num(res, i, 6);
                row->poor[m] += num(res, i, 7);

                bytes = PQunescapeBytea(
                    (const unsigned char *)PQgetvalue(res, i, 4), &len);
                if (!bytes) {
                        rp->bad_sketches++;
                        continue;
                }
                sk = rs_sketch_deserialize(bytes, len, err, sizeof(err));
                PQfreemem(bytes);
                if (!sk) {
                        rs_log_warn("%s %s %s: bad sketch: %s", row->tenant,
                                    row->route, rs_metric_name(metric), err);
                        rp->bad_sketches++;
                        continue;
                }
                if (!row->sk[m]) {
                        row->sk[m] = sk;
                        continue;
                }
                if (rs_sketch_merge(row->sk[m], sk) == -1) {
                        rs_log_warn("%s %s %s: sketch accuracy %g differs "
                                    "from %g, window left out",
                                    row->tenant, row->route,
                                    rs_metric_name(metric),
                                    rs_sketch_accuracy(sk),
                                    rs_sketch_accuracy(row->sk[m]));
                        rp->bad_sketches++;
                }
                rs_sketch_destroy(sk);
        }
        PQclear(res);
        return 0;
}

static void format_value(rs_metric_t m, double v, char *out, size_t size) {
        if (!strcmp(rs_metric_unit(m), "ms"))
                rumctl_format_ms(v, out, size);
        else
                snprintf(out, size, "%.2f", v);
}

/* 12408.4 -> "12,408" */
static void format_count(double v, char *out, size_t size) {
        char   digits[32];
        size_t n, i, o = 0;

        snprintf(digits, sizeof(digits), "%.0f", v < 0 ? 0 : round(v));
        n = strlen(digits);
        for (i = 0; i < n && o + 2 < size; i++) {
                if (i && (n - i) % 3 == 0)
                        out[o++] = ',';
                out[o++] = digits[i];
        }
        out[o] = '\0';
}

/* Short rating labels keep the table readable in 120 columns; the header
 * line spells them out. */
static const char *rating_label(rs_rating_t r) {
        switch (r) {
        case RS_RATING_GOOD:
                return "good";
        case RS_RATING_NEEDS_IMPROVEMENT:
                return "NI";
        case RS_RATING_POOR:
                return "POOR";
        default:
                return "-";
        }
}

/* Fills the cells: p75, rating and good/poor shares, each part padded to
 * the widest in its column so the parts line up. */
static void format_cells(size_t shown_cnt, row_t **shown) {
        int    vw[VITAL_CNT] = {0}, rw[VITAL_CNT] = {0};
        size_t i;
        int    m;

        for (i = 0; i < shown_cnt; i++) {
                row_t *row = shown[i];

                for (m = 0; m < VITAL_CNT; m++) {
                        rs_metric_t metric = (rs_metric_t)m;
                        int         len;

                        row->has[m] =
                            row->sk[m] && rs_sketch_quantile(row->sk[m], 0.75,
                                                             &row->p75[m]) == 0;
                        if (!row->has[m])
                                continue;
                        format_value(metric, row->p75[m], row->val[m],
                                     sizeof(row->val[m]));
                        len = (int)strlen(row->val[m]);
                        if (len > vw[m])
                                vw[m] = len;
                        len = (int)strlen(
                            rating_label(rs_metric_rate(metric, row->p75[m])));
                        if (len > rw[m])
                                rw[m] = len;
                }
        }
        for (i = 0; i < shown_cnt; i++) {
                row_t *row = shown[i];

                for (m = 0; m < VITAL_CNT; m++) {
                        rs_metric_t metric = (rs_metric_t)m;
                        double rated = row->good[m] + row->ni[m] + row->poor[m];
                        char   shares[32] = "";
                        size_t n;

                        if (!row->has[m]) {
                                snprintf(row->cell[m], CELL_MAX, "-");
                        } else {
                                if (rated > 0)
                                        snprintf(shares, sizeof(shares),
                                                 "%.0f%%/%.0f%%",
                                                 100 * row->good[m] / rated,
                                                 100 * row->poor[m] / rated);
                                snprintf(row->cell[m], CELL_MAX, "%*s %-*s %s",
                                         vw[m], row->val[m], rw[m],
                                         rating_label(rs_metric_rate(
                                             metric, row->p75[m])),
                                         shares);
                        }
                        n = strlen(row->cell[m]);
                        while (n > 0 && row->cell[m][n - 1] == ' ')
                                row->cell[m][--n] = '\0';
                }
        }
}

/* The table's alignments below have a column per vital. */
_Static_assert(VITAL_CNT == 5, "one column per Web Vital");

static int print_report(report_t *rp, const char *segment, int64_t limit,
                        const char *range_from, const char *range_to,
                        int64_t windows) {
        static const char *const vital_hdr[VITAL_CNT] = {
            "LCP p75", "INP p75", "CLS p75", "FCP p75", "TTFB p75"};
        row_t        **shown = calloc(rp->cnt ? rp->cnt : 1, sizeof(*shown));
        int            m, ret, all = !strcmp(segment, "all");
        rumctl_table_t t = {.ncol  = all ? 3 + VITAL_CNT : 4 + VITAL_CNT,
                            .align = all ? "llrlllll" : "lllrlllll"};
        size_t         i, shown_cnt = 0;
        int64_t        in_tenant = 0;

        if (!shown) {
                rs_log_error("out of memory");
                return -1;
        }
        qsort(rp->rows, rp->cnt, sizeof(*rp->rows), row_cmp_output);
        for (i = 0; i < rp->cnt; i++) {
                if (i == 0 ||
                    strcmp(rp->rows[i].tenant, rp->rows[i - 1].tenant))
                        in_tenant = 0;
                if (limit > 0 && in_tenant >= limit)
                        continue;
                in_tenant++;
                shown[shown_cnt++] = &rp->rows[i];
        }
        format_cells(shown_cnt, shown);

        printf("rum report: %s .. %s UTC, %" PRId64 " window(s), segment %s; "
               "p75 of the merged window sketches, rating (good, NI = needs "
               "improvement, POOR), good%%/poor%% of weighted page views\n\n",
               range_from, range_to, windows, segment);
        rumctl_table_cell(&t, "tenant");
        rumctl_table_cell(&t, "route");
        if (!all)
                rumctl_table_cell(&t, "%s", segment);
        rumctl_table_cell(&t, "views");
        for (m = 0; m < VITAL_CNT; m++)
                rumctl_table_cell(&t, "%s", vital_hdr[m]);
        for (i = 0; i < shown_cnt; i++) {
                const row_t *row = shown[i];
                char         views[32];

                format_count(row->views, views, sizeof(views));
                rumctl_table_cell(&t, "%s", row->tenant);
                rumctl_table_cell(&t, "%s", row->route);
                if (!all)
                        rumctl_table_cell(&t, "%s", row->segment);
                rumctl_table_cell(&t, "%s", views);
                for (m = 0; m < VITAL_CNT; m++)
                        rumctl_table_cell(&t, "%s", row->cell[m]);
        }
        ret = rumctl_table_print(&t, "");
        rumctl_table_free(&t);
        if (ret == 0 && shown_cnt < rp->cnt)
                printf("(%zu more row(s) beyond --limit %" PRId64
                       " per tenant)\n",
                       rp->cnt - shown_cnt, limit);
        fflush(stdout);
        free(shown);
        return ret;
}

int rumctl_report(int argc, char **argv) {
        static const struct option longopts[] = {
            {"dsn", required_argument, NULL, 'd'},
            {"tenant-id", required_argument, NULL, 't'},
            {"segment", required_argument, NULL, 's'},
            {"limit", required_argument, NULL, 'l'},
            {"wait-ms", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        static const char range_sql[] =
            "SELECT count(DISTINCT window_start), "
            "to_char(min(window_start) AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD HH24:MI:SS'), "
            "to_char(max(window_end) AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD HH24:MI:SS') FROM rum_page_views "
            "WHERE segment_type = $1 AND ($2 = '' OR tenant_id = $2)";
        const char *dsn     = getenv("RUMSTREAM_PG_DSN");
        const char *tenant  = "";
        const char *segment = "all";
        const char *params[2];
        int64_t     limit = 0, wait_ms = 10000, windows;
        report_t    rp;
        PGresult   *res = NULL;
        char        from[64], to[64];
        int         c, ret = RUMCTL_EXIT_FAIL;

        memset(&rp, 0, sizeof(rp));
        while ((c = getopt_long(argc, argv, ":d:t:s:l:w:h", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'd':
                        dsn = optarg;
                        break;
                case 't':
                        tenant = optarg;
                        break;
                case 's':
                        segment = optarg;
                        if (strcmp(segment, "all") &&
                            strcmp(segment, "device") &&
                            strcmp(segment, "country") &&
                            strcmp(segment, "connection")) {
                                fprintf(stderr,
                                        "rumctl report: --segment: expected "
                                        "all, device, country or "
                                        "connection, not \"%s\"\n",
                                        segment);
                                goto usage;
                        }
                        break;
                case 'l':
                        if (rumctl_parse_i64(CMD, "--limit", optarg, 0,
                                             INT32_MAX, &limit) == -1)
                                goto usage;
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
            rumctl_required(CMD, "--dsn", dsn, "RUMSTREAM_PG_DSN") == -1)
                goto usage;
        params[0] = segment;
        params[1] = tenant;

        if (!(rp.pg = rumctl_pg_connect(dsn, wait_ms)))
                goto out;

        /* One snapshot for the three queries, so rows written meanwhile
         * cannot make the range, views and sketches disagree. */
        if (rs_pg_exec(rp.pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                       rp.errstr, sizeof(rp.errstr)) == -1) {
                rs_log_error("%s", rp.errstr);
                goto out;
        }
        res = rs_pg_query(rp.pg, range_sql, 2, params, rp.errstr,
                          sizeof(rp.errstr));
        if (!res) {
                rs_log_error("%s", rp.errstr);
                goto out;
        }
        windows = (int64_t)num(res, 0, 0);
        snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 1));
        snprintf(to, sizeof(to), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);

        if (load_views(&rp, params) == -1 || load_sketches(&rp, params) == -1) {
                rs_log_error("%s", rp.errstr);
                goto out;
        }
        rs_pg_rollback(rp.pg);

        if (rp.orphans)
                rs_log_warn("%" PRId64 " sketch row(s) without page views "
                            "left out",
                            rp.orphans);
        if (rp.bad_sketches)
                rs_log_warn("%" PRId64 " sketch(es) could not be merged",
                            rp.bad_sketches);
        if (rp.cnt == 0) {
                printf("no aggregates for segment %s%s%s\n", segment,
                       *tenant ? " of tenant " : "", tenant);
                fflush(stdout);
                ret = RUMCTL_EXIT_OK;
                goto out;
        }
        if (print_report(&rp, segment, limit, from, to, windows) == -1)
                goto out;
        ret = RUMCTL_EXIT_OK;
out:
        if (rp.pg)
                rs_pg_rollback(rp.pg);
        rows_free(&rp);
        rs_pg_destroy(rp.pg);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
