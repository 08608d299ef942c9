/*
 * 0001-pg-sink: the PostgreSQL sink (common/pg.c) against a real server.
 *
 * Starts a throwaway server and checks: migrations (applied once, errors
 * naming file and line), batched upserts with strings that COPY must
 * escape, NULLs, exact doubles and bytea, re-upserts, two flushes of one
 * table in a transaction, rollback and retry, stored positions that never
 * move backwards, recovery after the server kills the session, and typed
 * batches (COPY binary) writing exactly what text batches write, with
 * runs of doubles appended one by one or in one call.
 */
#include "pgtmp.h"
#include "rs_test.h"

#include "rumstream/log.h"
#include "rumstream/pg.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NROWS 10000

static const char *dsn;

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static long long sql_ll(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static long long sql_ll(const char *fmt, ...) {
        char    sql[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(sql, sizeof(sql), fmt, ap);
        va_end(ap);
        return rs_test_pg_scalar_ll(dsn, sql);
}

/* count(*) of \p table rows whose tenant_id is exactly \p tenant, asked
 * with a parameter so the string goes through no SQL quoting. */
static long long count_tenant(rs_pg_t *pg, const char *table,
                              const char *tenant) {
        char        sql[256], errstr[512];
        const char *params[1] = {tenant};
        PGresult   *res;
        long long   n;

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM %s WHERE tenant_id = $1", table);
        res = rs_pg_query(pg, sql, 1, params, errstr, sizeof(errstr));
        if (!res) {
                fprintf(stderr, "count_tenant: %s\n", errstr);
                return -1;
        }
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return n;
}

/* One transaction: begin, flush every batch, commit (rollback on error). */
static int flush_tx(rs_pg_t *pg, rs_pg_batch_t *const *batches, size_t cnt,
                    char *errstr, size_t errstr_size) {
        size_t i;

        if (rs_pg_begin(pg, errstr, errstr_size) == -1)
                return -1;
        for (i = 0; i < cnt; i++) {
                if (rs_pg_batch_flush(pg, batches[i], errstr, errstr_size) ==
                    -1) {
                        rs_pg_rollback(pg);
                        return -1;
                }
        }
        if (rs_pg_commit(pg, errstr, errstr_size) == -1) {
                rs_pg_rollback(pg);
                return -1;
        }
        return 0;
}

static void test_connect_failures(void) {
        char                  errstr[512] = "";
        volatile sig_atomic_t stop        = 1;
        rs_pg_t              *pg;
        double                t0, elapsed;

        RS_CHECK(rs_pg_new("nonsense", errstr, sizeof(errstr)) == NULL);
        RS_CHECK_MSG(strstr(errstr, "invalid PostgreSQL DSN") != NULL, "%s",
                     errstr);

        /* Nothing listens on port 1: refused at once, so the time spent is
         * the backoff, cut at max_wait_ms. */
        pg = rs_pg_new("host=127.0.0.1 port=1 dbname=x user=x", errstr,
                       sizeof(errstr));
        RS_CHECK(pg != NULL);
        if (!pg)
                return;
        RS_CHECK_INT(rs_pg_exec(pg, "SELECT 1", errstr, sizeof(errstr)), -1);
        RS_CHECK_STR(errstr, "not connected to PostgreSQL");

        t0 = now_ms();
        RS_CHECK_INT(rs_pg_connect(pg, 350, errstr, sizeof(errstr)), -1);
        elapsed = now_ms() - t0;
        RS_CHECK_MSG(elapsed >= 340 && elapsed < 5000, "%.0f ms", elapsed);
        RS_CHECK_MSG(strstr(errstr, "refused") != NULL, "%s", errstr);
        RS_CHECK(rs_pg_conn(pg) == NULL);
        RS_CHECK_INT(rs_pg_session(pg), 0);

        /* Stopped: no retries, whatever max_wait_ms says. */
        rs_pg_set_stop_flag(pg, &stop);
        t0 = now_ms();
        RS_CHECK_INT(rs_pg_connect(pg, -1, errstr, sizeof(errstr)), -1);
        elapsed = now_ms() - t0;
        RS_CHECK_MSG(elapsed < 1000, "%.0f ms", elapsed);
        RS_CHECK_MSG(!strncmp(errstr, "stopped", 7), "%s", errstr);
        rs_pg_destroy(pg);
}

static void test_batch_api(void) {
        const char    *cols[] = {"a", "b", "c"};
        const char    *dup[]  = {"a", "b", "a"};
        const char    *bad[]  = {"a", "B"};
        char           longname[64];
        rs_pg_batch_t *b;

        RS_CHECK(rs_pg_batch_new("public.t", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("T", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("t;drop", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("t\"x", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("1t", cols, 3, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("t", cols, 3, 0) == NULL);
        RS_CHECK(rs_pg_batch_new("t", cols, 3, 4) == NULL);
        RS_CHECK(rs_pg_batch_new("t", cols, 0, 0) == NULL);
        RS_CHECK(rs_pg_batch_new("t", bad, 2, 1) == NULL);
        RS_CHECK(rs_pg_batch_new("t", dup, 3, 1) == NULL);
        /* rs_stage_ + name must fit PostgreSQL's 63-byte identifiers. */
        memset(longname, 'x', 55);
        longname[55] = '\0';
        RS_CHECK(rs_pg_batch_new(longname, cols, 3, 1) == NULL);
        longname[54] = '\0';
        b            = rs_pg_batch_new(longname, cols, 3, 1);
        RS_CHECK(b != NULL);
        rs_pg_batch_destroy(b);
        rs_pg_batch_destroy(NULL);

        b = rs_pg_batch_new("t", cols, 3, 1);
        RS_CHECK(b != NULL);
        if (!b)
                return;
        rs_pg_batch_i64(b, 1);
        rs_pg_batch_str(b, "x");
        RS_CHECK_INT(rs_pg_batch_row_end(b), -1);
        RS_CHECK_INT(rs_pg_batch_rows(b), 0);
        rs_pg_batch_i64(b, 1);
        rs_pg_batch_str(b, "x");
        rs_pg_batch_null(b);
        rs_pg_batch_bool(b, 1);
        RS_CHECK_INT(rs_pg_batch_row_end(b), -1);
        RS_CHECK_INT(rs_pg_batch_rows(b), 0);
        rs_pg_batch_i64(b, 1);
        rs_pg_batch_str(b, NULL);
        rs_pg_batch_f64(b, NAN);
        RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
        RS_CHECK_INT(rs_pg_batch_rows(b), 1);
        rs_pg_batch_clear(b);
        RS_CHECK_INT(rs_pg_batch_rows(b), 0);
        rs_pg_batch_destroy(b);
}

static void test_migrate(rs_test_pg_t *tpg, rs_pg_t *pg) {
        static const char *tables[]    = {"stream_positions", "tenant_routes",
                                          "rum_page_views", "rum_aggregates"};
        char               errstr[512] = "";
        int                applied     = -1;
        size_t             i;

        applied = rs_test_pg_migrate(tpg, errstr, sizeof(errstr));
        RS_CHECK_MSG(applied >= 1, "applied %d: %s", applied, errstr);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM schema_migrations"), applied);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM schema_migrations "
                            "WHERE version = 1 AND name = '0001_init.sql'"),
                     1);

        applied = -1;
        RS_CHECK_INT(rs_pg_migrate(pg, RS_PG_MIGRATIONS_DIR, &applied, errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_INT(applied, 0);
        for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
                RS_CHECK_INT(sql_ll("SELECT (to_regclass('public.%s') IS "
                                    "NOT NULL)::int",
                                    tables[i]),
                             1);
}

static void write_file(const char *dir, const char *name, const char *text) {
        char  path[512];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "w");
        RS_CHECK(fp != NULL);
        if (!fp)
                return;
        fputs(text, fp);
        fclose(fp);
}

static void remove_file(const char *dir, const char *name) {
        char path[512];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        unlink(path);
}

/* Errors and file selection, in a database of their own so the test's
 * migrations do not meet the real ones in schema_migrations. */
static void test_migrate_errors(rs_pg_t *pg) {
        char     dir[]       = "/tmp/rs-mig-XXXXXX";
        char     errstr[512] = "", dsn2[512], want[600];
        rs_pg_t *mig         = NULL;
        int      applied     = -1;

        RS_CHECK_INT(rs_pg_exec(pg, "CREATE DATABASE rs_migtest", errstr,
                                sizeof(errstr)),
                     0);
        RS_CHECK(mkdtemp(dir) != NULL);
        snprintf(dsn2, sizeof(dsn2), "%s dbname=rs_migtest", dsn);

        write_file(dir, "0001_first.sql",
                   "CREATE TABLE a (x int);\nCREATE TABLE b (y int);\n");
        write_file(dir, "0002_bad.sql",
                   "-- ünïcode before the error moves no line\n"
                   "CREATE TABLE c (z int);\nSELEC 1;\n");
        write_file(dir, "README.md", "not a migration");
        write_file(dir, "12_short.sql", "SELECT broken");
        write_file(dir, "0003_x.sql.bak", "SELECT broken");
        write_file(dir, "0004_sp ace.sql", "SELECT broken");

        mig = rs_pg_new(dsn2, errstr, sizeof(errstr));
        RS_CHECK(mig != NULL);
        if (!mig)
                goto out;
        RS_CHECK_INT(rs_pg_connect(mig, 10000, errstr, sizeof(errstr)), 0);

        RS_CHECK_INT(rs_pg_migrate(mig, dir, &applied, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_INT(applied, 1);
        snprintf(want, sizeof(want),
                 "%s/0002_bad.sql: syntax error at or near \"SELEC\" "
                 "(line 3)",
                 dir);
        RS_CHECK_STR(errstr, want);
        RS_CHECK_INT(rs_test_pg_scalar_ll(
                         dsn2, "SELECT count(*) FROM schema_migrations"),
                     1);
        /* The failed file's transaction left nothing behind. */
        RS_CHECK_INT(rs_test_pg_scalar_ll(
                         dsn2, "SELECT (to_regclass('c') IS NULL)::int"),
                     1);

        write_file(dir, "0002_bad.sql", "CREATE TABLE c (z int);\nSELECT 1;\n");
        RS_CHECK_INT(rs_pg_migrate(mig, dir, &applied, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(applied, 1);
        RS_CHECK_INT(rs_test_pg_scalar_ll(
                         dsn2, "SELECT (to_regclass('c') IS NOT NULL)::int"),
                     1);
        RS_CHECK_INT(rs_pg_migrate(mig, dir, &applied, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(applied, 0);

        write_file(dir, "0002_again.sql", "SELECT 1;");
        RS_CHECK_INT(rs_pg_migrate(mig, dir, &applied, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_MSG(strstr(errstr, "0002_again.sql and 0002_bad.sql have "
                                    "the same version") != NULL,
                     "%s", errstr);

        RS_CHECK_INT(rs_pg_migrate(mig, "/nonexistent/rs", &applied, errstr,
                                   sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "/nonexistent/rs: No such file or directory");
out:
        rs_pg_destroy(mig);
        remove_file(dir, "0001_first.sql");
        remove_file(dir, "0002_bad.sql");
        remove_file(dir, "0002_again.sql");
        remove_file(dir, "README.md");
        remove_file(dir, "12_short.sql");
        remove_file(dir, "0003_x.sql.bak");
        remove_file(dir, "0004_sp ace.sql");
        RS_CHECK_INT(rmdir(dir), 0);
}

static const char *const awkward[10] = {
    "tab\there",
    "new\nline",
    "back\\slash\\",
    "quote'\"q",
    "unicod\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
    "",
    "cr\rlf\r\n",
    "\\N",
    "\\.",
    "\\x41 ,;|",
};

static const char *const pv_cols[] = {
    "tenant_id",  "route",  "segment_type", "segment_value", "window_start",
    "window_end", "events", "page_views",   "aggregate_id"};

static void add_page_view(rs_pg_batch_t *b, const char *tenant,
                          const char *route, int64_t events,
                          const char *aggregate_id) {
        rs_pg_batch_str(b, tenant);
        rs_pg_batch_str(b, route);
        rs_pg_batch_str(b, "all");
        rs_pg_batch_str(b, "all");
        rs_pg_batch_str(b, "2024-05-01T12:00:00Z");
        rs_pg_batch_str(b, "2024-05-01T12:01:00Z");
        rs_pg_batch_i64(b, events);
        rs_pg_batch_f64(b, (double)events + 0.5);
        rs_pg_batch_str(b, aggregate_id);
        RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
}

static void fill_page_views(rs_pg_batch_t *b, int64_t events_base,
                            const char *id_prefix) {
        int  i;
        char route[32], id[32];

        for (i = 0; i < NROWS; i++) {
                snprintf(route, sizeof(route), "/r/%d", i / 10);
                snprintf(id, sizeof(id), "%s-%d", id_prefix, i);
                add_page_view(b, awkward[i % 10], route, events_base + i, id);
        }
}

static void test_page_views(rs_pg_t *pg) {
        rs_pg_batch_t *b = rs_pg_batch_new("rum_page_views", pv_cols, 9, 5);
        char           errstr[512] = "";
        PGresult      *res;
        int            i;
        long long      sum = (long long)NROWS * (NROWS - 1) / 2;

        RS_CHECK(b != NULL);
        if (!b)
                return;
        fill_page_views(b, 0, "agg");
        RS_CHECK_INT(rs_pg_batch_rows(b), NROWS);
        RS_CHECK_MSG(flush_tx(pg, &b, 1, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        /* Kept until cleared, so a failed transaction could be retried. */
        RS_CHECK_INT(rs_pg_batch_rows(b), NROWS);
        rs_pg_batch_clear(b);

        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views"), NROWS);
        RS_CHECK_INT(sql_ll("SELECT sum(events) FROM rum_page_views"), sum);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views WHERE "
                            "page_views = events + 0.5"),
                     NROWS);
        for (i = 0; i < 10; i++)
                RS_CHECK_INT(count_tenant(pg, "rum_page_views", awkward[i]),
                             NROWS / 10);
        /* Byte for byte, in row order. */
        res = rs_pg_query(pg,
                          "SELECT tenant_id FROM rum_page_views "
                          "WHERE route = '/r/0' ORDER BY events",
                          0, NULL, errstr, sizeof(errstr));
        RS_CHECK_MSG(res != NULL, "%s", errstr);
        if (res) {
                RS_CHECK_INT(PQntuples(res), 10);
                for (i = 0; i < PQntuples(res) && i < 10; i++)
                        RS_CHECK_STR(PQgetvalue(res, i, 0), awkward[i]);
                PQclear(res);
        }

        /* Same keys, new values: updated in place. */
        fill_page_views(b, 1000000, "agg2");
        RS_CHECK_MSG(flush_tx(pg, &b, 1, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        rs_pg_batch_clear(b);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views"), NROWS);
        RS_CHECK_INT(sql_ll("SELECT sum(events) FROM rum_page_views"),
                     sum + 1000000LL * NROWS);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views WHERE "
                            "aggregate_id LIKE 'agg2-%%' AND "
                            "page_views = events + 0.5"),
                     NROWS);
        rs_pg_batch_destroy(b);
}

static const char *const agg_cols[] = {"tenant_id",
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

static const double specials[8] = {0.1,
                                   1.0 / 3.0,
                                   1e-300,
                                   DBL_MAX,
                                   4.9406564584124654e-324,
                                   -0.0,
                                   123456789.123456789,
                                   3.141592653589793};

static double agg_weight(int i) {
        return i * 0.1;
}

static double agg_mean(int i, int pass) {
        return i % 3 == 0 ? NAN : i / 3.0 + pass;
}

static void fill_aggregates(rs_pg_batch_t *b, const char *tenant_prefix, int n,
                            int pass) {
        unsigned char sketch[256];
        char          tenant[64], route[32];
        int           i, j;

        for (i = 0; i < n; i++) {
                snprintf(tenant, sizeof(tenant), "%s%d", tenant_prefix,
                         i / 100);
                snprintf(route, sizeof(route), "/p/%d", i % 100);
                for (j = 0; j < 256; j++)
                        sketch[j] = (unsigned char)(j + i + pass);
                rs_pg_batch_str(b, tenant);
                rs_pg_batch_str(b, route);
                rs_pg_batch_str(b, "all");
                /* Invalid UTF-8 becomes U+FFFD instead of failing COPY. */
                rs_pg_batch_str(b, i == 0 ? "bad\xff\xc3(" : "all");
                rs_pg_batch_str(b, "2024-05-01 12:00:00+00");
                rs_pg_batch_str(b, "lcp");
                rs_pg_batch_str(b, "2024-05-01 12:01:00+00");
                rs_pg_batch_str(b, "ms");
                rs_pg_batch_i64(b, i + pass);
                rs_pg_batch_f64(b, agg_weight(i));
                rs_pg_batch_f64(b, agg_mean(i, pass));
                rs_pg_batch_f64(b, i % 7 == 0 ? INFINITY : 1.0 * i);
                rs_pg_batch_f64(b, i % 11 == 0 ? -INFINITY : 2.0 * i);
                rs_pg_batch_f64(b, specials[i % 8]);
                rs_pg_batch_null(b);
                rs_pg_batch_f64(b, 0.75);
                rs_pg_batch_f64(b, 0.2);
                rs_pg_batch_f64(b, 0.05);
                rs_pg_batch_bytea(b, sketch, sizeof(sketch));
                RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
        }
}

static int same_double(double a, double b) {
        return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Every row's doubles read back bit for bit, NaN and infinities as NULL. */
static void check_aggregates(rs_pg_t *pg, int pass) {
        char      errstr[512] = "";
        PGresult *res;
        int       row, bad = 0;

        res = rs_pg_query(pg,
                          "SELECT samples, weight, mean, p50, p75, p95, p99 "
                          "FROM rum_aggregates WHERE tenant_id LIKE 'agg%' "
                          "ORDER BY samples",
                          0, NULL, errstr, sizeof(errstr));
        RS_CHECK_MSG(res != NULL, "%s", errstr);
        if (!res)
                return;
        RS_CHECK_INT(PQntuples(res), NROWS);
        for (row = 0; row < PQntuples(res) && row < NROWS; row++) {
                int    i    = row;
                double mean = agg_mean(i, pass);

                if (strtoll(PQgetvalue(res, row, 0), NULL, 10) != i + pass ||
                    !same_double(strtod(PQgetvalue(res, row, 1), NULL),
                                 agg_weight(i)) ||
                    PQgetisnull(res, row, 2) != isnan(mean) ||
                    (!isnan(mean) &&
                     !same_double(strtod(PQgetvalue(res, row, 2), NULL),
                                  mean)) ||
                    PQgetisnull(res, row, 3) != (i % 7 == 0) ||
                    PQgetisnull(res, row, 4) != (i % 11 == 0) ||
                    !same_double(strtod(PQgetvalue(res, row, 5), NULL),
                                 specials[i % 8]) ||
                    !PQgetisnull(res, row, 6)) {
                        if (bad++ < 5)
                                fprintf(stderr, "row %d: %s %s %s %s %s %s\n",
                                        i, PQgetvalue(res, row, 0),
                                        PQgetvalue(res, row, 1),
                                        PQgetvalue(res, row, 2),
                                        PQgetvalue(res, row, 3),
                                        PQgetvalue(res, row, 4),
                                        PQgetvalue(res, row, 5));
                }
        }
        RS_CHECK_INT(bad, 0);
        PQclear(res);
}

static void check_sketch(int i, int pass) {
        char  hex[513], sql[256];
        char *got;
        int   j;

        for (j = 0; j < 256; j++)
                snprintf(hex + 2 * j, 3, "%02x", (unsigned char)(j + i + pass));
        snprintf(sql, sizeof(sql),
                 "SELECT encode(sketch, 'hex') FROM rum_aggregates "
                 "WHERE tenant_id = 'agg%d' AND route = '/p/%d'",
                 i / 100, i % 100);
        got = rs_test_pg_scalar_str(dsn, sql);
        RS_CHECK_STR(got, hex);
        free(got);
}

static void test_aggregates(rs_pg_t *pg) {
        rs_pg_batch_t *b = rs_pg_batch_new("rum_aggregates", agg_cols, 19, 6);
        char           errstr[512] = "";
        double         t0, t_insert = 0, t_update = 0;
        char          *seg;
        int            pass;

        RS_CHECK(b != NULL);
        if (!b)
                return;
        for (pass = 0; pass <= 7; pass += 7) {
                fill_aggregates(b, "agg", NROWS, pass);
                t0 = now_ms();
                RS_CHECK_MSG(flush_tx(pg, &b, 1, errstr, sizeof(errstr)) == 0,
                             "%s", errstr);
                if (pass == 0)
                        t_insert = now_ms() - t0;
                else
                        t_update = now_ms() - t0;
                rs_pg_batch_clear(b);

                RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates"),
                             NROWS);
                RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                                    "WHERE mean IS NULL"),
                             (NROWS + 2) / 3);
                RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                                    "WHERE p99 IS NULL"),
                             NROWS);
                RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                                    "WHERE length(sketch) = 256 AND "
                                    "get_byte(sketch, 0) = samples %% 256 "
                                    "AND get_byte(sketch, 255) = "
                                    "(samples + 255) %% 256"),
                             NROWS);
                check_aggregates(pg, pass);
                check_sketch(0, pass);
                check_sketch(1, pass);
                check_sketch(NROWS - 1, pass);
        }
        seg = rs_test_pg_scalar_str(
            dsn, "SELECT segment_value FROM rum_aggregates "
                 "WHERE tenant_id = 'agg0' AND route = '/p/0'");
        RS_CHECK_STR(seg, "bad\xef\xbf\xbd\xef\xbf\xbd(");
        free(seg);
        printf("upsert of %d rum_aggregates rows (begin, one flush, commit): "
               "insert %.1f ms, update %.1f ms\n",
               NROWS, t_insert, t_update);
        rs_pg_batch_destroy(b);
}

/* Two batches of one table in one transaction; the second repeats the
 * first one's keys, which only works if the staging table was emptied. */
/*
 * Typed batches (COPY binary): the same values through a text batch and a
 * typed one give the same rows, bit for bit; key values copied from one
 * typed batch into another; a value of the wrong type and a table whose
 * types differ fail the flush, naming the column.
 */
static const char *const typed_cols[] = {"k", "s", "d", "ts", "bl", "by", "s2"};
static const char *const copy_cols[]  = {"k", "s", "ts", "d"};

static void typed_row(rs_pg_batch_t *b, rs_pg_batch_t *c, int i) {
        unsigned char bytes[64];
        int64_t       k = i == 0 ? INT64_MIN : i == 1 ? INT64_MAX : i - 500;
        size_t        from, to, n = (size_t)(i % 50), j;
        double        d;
        uint64_t      bits = (uint64_t)i * 0x9e3779b97f4a7c15ULL;

        memcpy(&d, &bits, sizeof(d));
        if (i % 3 == 0)
                d = specials[i % 8];
        else if (i % 17 == 0)
                d = i % 2 ? INFINITY : NAN;
        for (j = 0; j < n; j++)
                bytes[j] =
                    (unsigned char)(bits >> (j % 8 * 8)) ^ (unsigned char)j;

        from = rs_pg_batch_offset(b);
        rs_pg_batch_i64(b, k);
        rs_pg_batch_str(b, i % 13 == 0 ? NULL : awkward[i % 10]);
        to = rs_pg_batch_offset(b);
        rs_pg_batch_f64(b, d);
        rs_pg_batch_ts(
            b, i % 11 == 0 ? 0 : (int64_t)i * 1234567891 % 4102444800000);
        rs_pg_batch_bool(b, i % 2);
        if (i % 19 == 0)
                rs_pg_batch_null(b);
        else
                rs_pg_batch_bytea(b, bytes, n);
        rs_pg_batch_str(
            b, i % 7 == 0   ? "z\xc3\xbcrich \xe2\x82\xac \xff bad"
               : i % 7 == 1 ? "sixteen ascii by\xe2\x82\xac then bad \xff\xc3"
               : i % 7 == 2 ? "exactly8"
               : i % 7 == 3 ? "eight+1\xc3\xa9 and a cut \xe2\x82"
                            : "plain");
        /* c: (k, s) copied from b's open row, then its own values. */
        rs_pg_batch_copy_values(c, b, from, to, 2);
        rs_pg_batch_ts(c, (int64_t)i * 60000);
        rs_pg_batch_f64(c, i * 0.25);
        RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
        RS_CHECK_INT(rs_pg_batch_row_end(c), 0);
}

static void test_typed(rs_pg_t *pg) {
        char           errstr[512] = "";
        rs_pg_batch_t *ta, *tc, *ba, *bc, *batches[4];
        int            i, n = 3000;

        RS_CHECK(rs_pg_batch_new_typed("typed_a", typed_cols, NULL, 7, 1) ==
                 NULL);
        RS_CHECK(rs_pg_batch_new_typed("typed_a", typed_cols, "itfzob", 7, 1) ==
                 NULL);
        RS_CHECK(rs_pg_batch_new_typed("typed_a", typed_cols, "itfzobx", 7,
                                       1) == NULL);
        RS_CHECK_INT(
            rs_pg_exec(pg,
                       "CREATE TABLE typed_a (k bigint PRIMARY KEY, s text, "
                       "d double precision, ts timestamptz, bl boolean, "
                       "by bytea, s2 text);"
                       "CREATE TABLE typed_b (LIKE typed_a INCLUDING ALL);"
                       "CREATE TABLE copied_a (k bigint PRIMARY KEY, s text, "
                       "ts timestamptz, d double precision);"
                       "CREATE TABLE copied_b (LIKE copied_a INCLUDING ALL)",
                       errstr, sizeof(errstr)),
            0);
        ta = rs_pg_batch_new("typed_a", typed_cols, 7, 1);
        tc = rs_pg_batch_new("copied_a", copy_cols, 4, 1);
        ba = rs_pg_batch_new_typed("typed_b", typed_cols, "itfzobt", 7, 1);
        bc = rs_pg_batch_new_typed("copied_b", copy_cols, "itzf", 4, 1);
        RS_CHECK(ta && tc && ba && bc);
        if (!ta || !tc || !ba || !bc)
                return;
        for (i = 0; i < n; i++) {
                typed_row(ta, tc, i);
                typed_row(ba, bc, i);
        }
        batches[0] = ta;
        batches[1] = tc;
        batches[2] = ba;
        batches[3] = bc;
        RS_CHECK_MSG(flush_tx(pg, batches, 4, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b"), n);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM copied_b"), n);
        /* Bit for bit: doubles compared as their bytes, so -0 and 0
         * differ; NaN and infinities went in as NULL both ways. */
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_a a JOIN typed_b b "
                            "USING (k) WHERE float8send(a.d) IS NOT DISTINCT "
                            "FROM float8send(b.d) AND a.s IS NOT DISTINCT FROM "
                            "b.s AND a.ts = b.ts AND a.bl = b.bl AND a.by IS "
                            "NOT DISTINCT FROM b.by AND a.s2 = b.s2"),
                     n);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM copied_a a JOIN copied_b b "
                            "USING (k) WHERE a.s IS NOT DISTINCT FROM b.s AND "
                            "a.ts = b.ts AND float8send(a.d) = "
                            "float8send(b.d)"),
                     n);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b WHERE d IS NULL"),
                     sql_ll("SELECT count(*) FROM typed_a WHERE d IS NULL"));
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b WHERE k IN "
                            "(-9223372036854775808, 9223372036854775807)"),
                     2);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b WHERE s2 = "
                            "'z\xc3\xbcrich \xe2\x82\xac \xef\xbf\xbd bad'"),
                     (n + 6) / 7);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b WHERE s2 = "
                            "'sixteen ascii by\xe2\x82\xac then bad "
                            "\xef\xbf\xbd\xef\xbf\xbd'"),
                     (n + 5) / 7);
        RS_CHECK_INT(
            sql_ll("SELECT count(*) FROM typed_b WHERE s2 = "
                   "'eight+1\xc3\xa9 and a cut \xef\xbf\xbd\xef\xbf\xbd'"),
            (n + 4) / 7);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM typed_b WHERE ts = "
                            "'1970-01-01T00:00:00Z'"),
                     (n + 10) / 11);
        rs_pg_batch_clear(ta);
        rs_pg_batch_clear(tc);
        rs_pg_batch_clear(ba);
        rs_pg_batch_clear(bc);

        /* A text value for the timestamp column: the row is dropped and
         * every flush fails, naming the column. */
        rs_pg_batch_i64(ba, 1);
        rs_pg_batch_str(ba, "x");
        rs_pg_batch_f64(ba, 1);
        rs_pg_batch_str(ba, "2024-05-01T12:00:00Z");
        rs_pg_batch_bool(ba, 1);
        rs_pg_batch_bytea(ba, "", 0);
        rs_pg_batch_str(ba, "y");
        RS_CHECK_INT(rs_pg_batch_row_end(ba), -1);
        RS_CHECK_INT(rs_pg_batch_rows(ba), 0);
        typed_row(ba, bc, 1);
        RS_CHECK_INT(flush_tx(pg, &ba, 1, errstr, sizeof(errstr)), -1);
        RS_CHECK_MSG(strstr(errstr, "typed_b: column ts is timestamptz, "
                                    "given text") != NULL,
                     "%s", errstr);

        /* Types that are not the table's: refused on the first flush. */
        {
                rs_pg_batch_t *wrong = rs_pg_batch_new_typed(
                    "typed_a", typed_cols, "itfzobi", 7, 1);

                RS_CHECK(wrong != NULL);
                if (!wrong)
                        return;
                rs_pg_batch_i64(wrong, 1);
                rs_pg_batch_str(wrong, "x");
                rs_pg_batch_f64(wrong, 1);
                rs_pg_batch_ts(wrong, 0);
                rs_pg_batch_bool(wrong, 1);
                rs_pg_batch_null(wrong);
                rs_pg_batch_i64(wrong, 7);
                RS_CHECK_INT(rs_pg_batch_row_end(wrong), 0);
                RS_CHECK_INT(flush_tx(pg, &wrong, 1, errstr, sizeof(errstr)),
                             -1);
                RS_CHECK_MSG(strstr(errstr, "typed_a.s2: the batch writes "
                                            "bigint") != NULL,
                             "%s", errstr);
                rs_pg_batch_destroy(wrong);
        }
        rs_pg_batch_destroy(ta);
        rs_pg_batch_destroy(tc);
        rs_pg_batch_destroy(ba);
        rs_pg_batch_destroy(bc);
}

static void test_flush_twice(rs_pg_t *pg) {
        rs_pg_batch_t *b1 = rs_pg_batch_new("rum_page_views", pv_cols, 9, 5);
        rs_pg_batch_t *b2 = rs_pg_batch_new("rum_page_views", pv_cols, 9, 5);
        char           errstr[512] = "", route[32];
        PGresult      *res;
        int            i;

        RS_CHECK(b1 && b2);
        if (!b1 || !b2)
                goto out;
        for (i = 0; i < 10; i++) {
                snprintf(route, sizeof(route), "/twice/%d", i);
                if (i < 5)
                        add_page_view(b1, "twice", route, 1, "first");
                add_page_view(b2, "twice", route, 2, "second");
        }
        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        RS_CHECK_MSG(rs_pg_batch_flush(pg, b1, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        res = rs_pg_query(pg, "SELECT count(*) FROM rs_stage_rum_page_views", 0,
                          NULL, errstr, sizeof(errstr));
        RS_CHECK_MSG(res != NULL, "%s", errstr);
        if (res) {
                RS_CHECK_STR(PQgetvalue(res, 0, 0), "0");
                PQclear(res);
        }
        RS_CHECK_MSG(rs_pg_batch_flush(pg, b2, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_MSG(rs_pg_commit(pg, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        RS_CHECK_INT(count_tenant(pg, "rum_page_views", "twice"), 10);
        RS_CHECK_INT(sql_ll("SELECT sum(events) FROM rum_page_views "
                            "WHERE tenant_id = 'twice' AND "
                            "aggregate_id = 'second'"),
                     20);
out:
        rs_pg_batch_destroy(b1);
        rs_pg_batch_destroy(b2);
}

/* The first transaction of a new session fails and rolls back (taking the
 * staging table's creation with it); the retry with the same batch must
 * still work. */
static void test_rollback_retry(void) {
        rs_pg_t       *pg = rs_pg_new(dsn, NULL, 0);
        rs_pg_batch_t *b  = rs_pg_batch_new("rum_page_views", pv_cols, 9, 5);
        char           errstr[512] = "", route[32];
        uint64_t       session;
        int            i;

        RS_CHECK(pg && b);
        if (!pg || !b)
                goto out;
        RS_CHECK_INT(rs_pg_connect(pg, 10000, errstr, sizeof(errstr)), 0);
        for (i = 0; i < 100; i++) {
                snprintf(route, sizeof(route), "/rb/%d", i);
                add_page_view(b, "rollback", route, i, "rb");
        }

        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        RS_CHECK_MSG(rs_pg_batch_flush(pg, b, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_INT(rs_pg_exec(pg, "SELECT 1/0", errstr, sizeof(errstr)), -1);
        RS_CHECK_STR(errstr, "division by zero");
        /* COMMIT of a failed transaction reports the failure. */
        RS_CHECK_INT(rs_pg_commit(pg, errstr, sizeof(errstr)), -1);
        RS_CHECK_STR(errstr, "transaction failed earlier and was rolled back");
        rs_pg_rollback(pg);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views "
                            "WHERE tenant_id = 'rollback'"),
                     0);

        session = rs_pg_session(pg);
        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        RS_CHECK_MSG(rs_pg_batch_flush(pg, b, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_MSG(rs_pg_commit(pg, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        RS_CHECK_INT(rs_pg_session(pg), session);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views "
                            "WHERE tenant_id = 'rollback'"),
                     100);
        rs_pg_batch_clear(b);

        /* A row the server rejects fails the flush, not the session. */
        add_page_view(b, "rollback", "/rb/bad", 1, "rb");
        rs_pg_batch_str(b, "rollback");
        rs_pg_batch_str(b, "/rb/bad-time");
        rs_pg_batch_str(b, "all");
        rs_pg_batch_str(b, "all");
        rs_pg_batch_str(b, "not a time");
        rs_pg_batch_str(b, "2024-05-01T12:01:00Z");
        rs_pg_batch_i64(b, 1);
        rs_pg_batch_f64(b, 1);
        rs_pg_batch_str(b, "rb");
        RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        RS_CHECK_INT(rs_pg_batch_flush(pg, b, errstr, sizeof(errstr)), -1);
        RS_CHECK_MSG(strstr(errstr, "invalid input syntax for type timestamp "
                                    "with time zone: \"not a time\"") != NULL,
                     "%s", errstr);
        rs_pg_rollback(pg);
        RS_CHECK(rs_pg_conn(pg) != NULL);
        RS_CHECK_INT(rs_pg_exec(pg, "SELECT 1", errstr, sizeof(errstr)), 0);
        RS_CHECK_INT(rs_pg_session(pg), session);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_page_views "
                            "WHERE route LIKE '/rb/bad%%'"),
                     0);
out:
        rs_pg_batch_destroy(b);
        rs_pg_destroy(pg);
}

static void check_position(const rs_pg_position_t *p, int found, int64_t resume,
                           int64_t commit, int64_t closed, int64_t wm) {
        RS_CHECK_INT(p->found, found);
        if (!found)
                return;
        RS_CHECK_INT(p->resume_offset, resume);
        RS_CHECK_INT(p->commit_offset, commit);
        RS_CHECK_INT(p->closed_until_ms, closed);
        RS_CHECK_INT(p->watermark_ms, wm);
}

static void store_positions(rs_pg_t *pg, const rs_pg_position_t *pos,
                            size_t cnt) {
        char   errstr[512] = "";
        size_t i;

        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        for (i = 0; i < cnt; i++)
                RS_CHECK_MSG(rs_pg_position_store(pg, "grp", "rum.events",
                                                  &pos[i], errstr,
                                                  sizeof(errstr)) == 0,
                             "%s", errstr);
        RS_CHECK_MSG(rs_pg_commit(pg, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
}

static void load_positions(rs_pg_t *pg, const char *group,
                           rs_pg_position_t *pos, size_t cnt) {
        char   errstr[512] = "";
        size_t i;

        for (i = 0; i < cnt; i++) {
                pos[i].found         = -1;
                pos[i].commit_offset = -1;
        }
        RS_CHECK_MSG(rs_pg_positions_load(pg, group, "rum.events", pos, cnt,
                                          errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
}

static void test_positions(rs_pg_t *pg) {
        rs_pg_position_t st[2] = {
            {.partition       = 0,
             .resume_offset   = 50,
             .commit_offset   = 100,
             .closed_until_ms = 1000,
             .watermark_ms    = 2000},
            {.partition       = 3,
             .resume_offset   = 5,
             .commit_offset   = 10,
             .closed_until_ms = 60000,
             .watermark_ms    = 1700000000000LL},
        };
        rs_pg_position_t ld[3] = {
            {.partition = 0}, {.partition = 2}, {.partition = 3}};
        rs_pg_position_t older = {.partition       = 0,
                                  .resume_offset   = 1,
                                  .commit_offset   = 99,
                                  .closed_until_ms = 1,
                                  .watermark_ms    = 1};
        rs_pg_position_t same  = {.partition       = 0,
                                  .resume_offset   = 60,
                                  .commit_offset   = 100,
                                  .closed_until_ms = 3000,
                                  .watermark_ms    = 4000};
        rs_pg_position_t newer = {.partition       = 0,
                                  .resume_offset   = 150,
                                  .commit_offset   = INT64_MAX,
                                  .closed_until_ms = 5000,
                                  .watermark_ms    = 6000};

        load_positions(pg, "grp", ld, 3);
        check_position(&ld[0], 0, 0, 0, 0, 0);
        check_position(&ld[1], 0, 0, 0, 0, 0);
        check_position(&ld[2], 0, 0, 0, 0, 0);
        load_positions(pg, "grp", ld, 0);

        store_positions(pg, st, 2);
        load_positions(pg, "grp", ld, 3);
        check_position(&ld[0], 1, 50, 100, 1000, 2000);
        check_position(&ld[1], 0, 0, 0, 0, 0);
        check_position(&ld[2], 1, 5, 10, 60000, 1700000000000LL);
        load_positions(pg, "other-grp", ld, 3);
        check_position(&ld[0], 0, 0, 0, 0, 0);
        check_position(&ld[2], 0, 0, 0, 0, 0);

        /* A stale instance's lower commit_offset does not win. */
        store_positions(pg, &older, 1);
        load_positions(pg, "grp", ld, 1);
        check_position(&ld[0], 1, 50, 100, 1000, 2000);
        /* An equal one does (windows closed by idle time). */
        store_positions(pg, &same, 1);
        load_positions(pg, "grp", ld, 1);
        check_position(&ld[0], 1, 60, 100, 3000, 4000);
        store_positions(pg, &newer, 1);
        load_positions(pg, "grp", ld, 3);
        check_position(&ld[0], 1, 150, INT64_MAX, 5000, 6000);
        check_position(&ld[2], 1, 5, 10, 60000, 1700000000000LL);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM stream_positions"), 2);
}

/* Kills the session's backend from another connection and waits until the
 * server has closed the socket. */
static void kill_backend(rs_pg_t *pg) {
        PGconn       *conn = rs_pg_conn(pg);
        struct pollfd pfd;

        RS_CHECK(conn != NULL);
        if (!conn)
                return;
        pfd.fd      = PQsocket(conn);
        pfd.events  = POLLRDHUP;
        pfd.revents = 0;
        RS_CHECK_INT(
            sql_ll("SELECT pg_terminate_backend(%d)::int", PQbackendPID(conn)),
            1);
        RS_CHECK_INT(poll(&pfd, 1, 60000), 1);
}

static void test_reconnect(rs_pg_t *pg) {
        rs_pg_batch_t *b = rs_pg_batch_new("rum_aggregates", agg_cols, 19, 6);
        char           errstr[512] = "";
        uint64_t       session;
        int            pid, attempts;

        RS_CHECK(b != NULL);
        if (!b)
                return;
        RS_CHECK_INT(rs_pg_connect(pg, 10000, errstr, sizeof(errstr)), 0);
        session = rs_pg_session(pg);
        pid     = PQbackendPID(rs_pg_conn(pg));

        /* Killed while idle: the next rs_pg_connect() notices. */
        kill_backend(pg);
        RS_CHECK_MSG(rs_pg_connect(pg, 10000, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_INT(rs_pg_session(pg), session + 1);
        RS_CHECK(PQbackendPID(rs_pg_conn(pg)) != pid);
        fill_aggregates(b, "reconnect", 10, 0);
        RS_CHECK_MSG(flush_tx(pg, &b, 1, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        rs_pg_batch_clear(b);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                            "WHERE tenant_id = 'reconnect0'"),
                     10);
        /* The new session has its own staging table. */
        RS_CHECK_INT(rs_pg_exec(pg,
                                "DO $$ BEGIN IF to_regclass("
                                "'pg_temp.rs_stage_rum_aggregates') IS NULL "
                                "THEN RAISE 'no staging table'; END IF; "
                                "END $$",
                                errstr, sizeof(errstr)),
                     0);

        /* Killed inside a transaction: the failure closes the connection
         * and the caller retries the whole transaction. */
        session = rs_pg_session(pg);
        fill_aggregates(b, "midtx", 10, 0);
        RS_CHECK_INT(rs_pg_begin(pg, errstr, sizeof(errstr)), 0);
        RS_CHECK_MSG(rs_pg_batch_flush(pg, b, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        kill_backend(pg);
        RS_CHECK_INT(rs_pg_commit(pg, errstr, sizeof(errstr)), -1);
        RS_CHECK(rs_pg_conn(pg) == NULL);
        rs_pg_rollback(pg);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                            "WHERE tenant_id = 'midtx0'"),
                     0);
        for (attempts = 1; attempts <= 3; attempts++) {
                if (rs_pg_connect(pg, 10000, errstr, sizeof(errstr)) == 0 &&
                    flush_tx(pg, &b, 1, errstr, sizeof(errstr)) == 0)
                        break;
                fprintf(stderr, "retry %d: %s\n", attempts, errstr);
        }
        RS_CHECK_INT(attempts, 1);
        RS_CHECK_INT(rs_pg_session(pg), session + 1);
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM rum_aggregates "
                            "WHERE tenant_id = 'midtx0'"),
                     10);
        rs_pg_batch_destroy(b);
}

/*
 * rs_pg_batch_f64s: runs of doubles in one call write what one call per
 * value writes, into a text batch and a typed one, wherever the run falls
 * (a row's first values, after others, across a buffer's growth); a run
 * that reaches a column of another type drops the row as single calls do.
 */
static const char *const f64s_cols[] = {"f0", "f1", "f2", "k", "f3",
                                        "f4", "f5", "f6", "s"};

static void f64s_row(rs_pg_batch_t *b, int i, int runs) {
        double   v[7];
        size_t   j;
        uint64_t bits;

        for (j = 0; j < 7; j++) {
                bits = ((uint64_t)i * 7 + j) * 0x9e3779b97f4a7c15ULL;
                memcpy(&v[j], &bits, sizeof(v[j]));
                if ((i + j) % 3 == 0)
                        v[j] = specials[(i + j) % 8];
                else if ((i + j) % 13 == 0)
                        v[j] = (i + j) % 2 ? -INFINITY : NAN;
        }
        v[0] = i + 0.5; /* the key */
        if (runs) {
                rs_pg_batch_f64s(b, v, 3);
                rs_pg_batch_i64(b, i);
                rs_pg_batch_f64s(b, v + 3, 4);
        } else {
                for (j = 0; j < 3; j++)
                        rs_pg_batch_f64(b, v[j]);
                rs_pg_batch_i64(b, i);
                for (j = 3; j < 7; j++)
                        rs_pg_batch_f64(b, v[j]);
        }
        rs_pg_batch_str(b, i % 5 ? "row" : NULL);
        RS_CHECK_INT(rs_pg_batch_row_end(b), 0);
}

static void test_f64s(rs_pg_t *pg) {
        static const char *const tables[3]   = {"f64s_text", "f64s_one",
                                                "f64s_runs"};
        char                     errstr[512] = "", sql[512];
        rs_pg_batch_t           *b[3];
        double                   v[5] = {1, 2, 3, 4, 5};
        int                      i, t, n = 6000;

        RS_CHECK_INT(
            rs_pg_exec(pg,
                       "CREATE TABLE f64s_text (f0 float8 PRIMARY KEY, f1 "
                       "float8, f2 float8, k bigint, f3 float8, f4 float8, "
                       "f5 float8, f6 float8, s text);"
                       "CREATE TABLE f64s_one (LIKE f64s_text INCLUDING ALL);"
                       "CREATE TABLE f64s_runs (LIKE f64s_text INCLUDING ALL)",
                       errstr, sizeof(errstr)),
            0);
        b[0] = rs_pg_batch_new(tables[0], f64s_cols, 9, 1);
        b[1] = rs_pg_batch_new_typed(tables[1], f64s_cols, "fffifffft", 9, 1);
        b[2] = rs_pg_batch_new_typed(tables[2], f64s_cols, "fffifffft", 9, 1);
        RS_CHECK(b[0] && b[1] && b[2]);
        if (!b[0] || !b[1] || !b[2])
                return;
        /* The text batch takes runs too: they are its single calls. */
        for (i = 0; i < n; i++) {
                f64s_row(b[0], i, i % 2);
                f64s_row(b[1], i, 0);
                f64s_row(b[2], i, 1);
        }
        RS_CHECK_MSG(flush_tx(pg, b, 3, errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        for (t = 1; t < 3; t++) {
                snprintf(sql, sizeof(sql),
                         "SELECT count(*) FROM f64s_text a JOIN %s b USING "
                         "(f0) WHERE a.k = b.k AND float8send(a.f1) IS NOT "
                         "DISTINCT FROM float8send(b.f1) AND float8send(a.f2) "
                         "IS NOT DISTINCT FROM float8send(b.f2) AND "
                         "float8send(a.f3) IS NOT DISTINCT FROM "
                         "float8send(b.f3) AND float8send(a.f4) IS NOT "
                         "DISTINCT FROM float8send(b.f4) AND float8send(a.f5) "
                         "IS NOT DISTINCT FROM float8send(b.f5) AND "
                         "float8send(a.f6) IS NOT DISTINCT FROM "
                         "float8send(b.f6) AND a.s IS NOT DISTINCT FROM b.s",
                         tables[t]);
                RS_CHECK_INT(sql_ll("%s", sql), n);
        }
        RS_CHECK_INT(sql_ll("SELECT count(*) FROM f64s_runs WHERE f1 IS NULL"),
                     sql_ll("SELECT count(*) FROM f64s_text WHERE f1 IS NULL"));
        RS_CHECK(sql_ll("SELECT count(*) FROM f64s_runs WHERE f1 IS NULL") > 0);

        /* A run into the text column: the row is dropped and the flush
         * fails, naming it, as with single calls. */
        rs_pg_batch_clear(b[2]);
        rs_pg_batch_f64s(b[2], v, 3);
        rs_pg_batch_i64(b[2], 1);
        rs_pg_batch_f64s(b[2], v, 5);
        RS_CHECK_INT(rs_pg_batch_row_end(b[2]), -1);
        RS_CHECK_INT(rs_pg_batch_rows(b[2]), 0);
        f64s_row(b[2], n, 1);
        RS_CHECK_INT(flush_tx(pg, &b[2], 1, errstr, sizeof(errstr)), -1);
        RS_CHECK_MSG(
            strstr(errstr, "column s is text, given double precision") != NULL,
            "%s", errstr);
        for (t = 0; t < 3; t++)
                rs_pg_batch_destroy(b[t]);
}

int main(void) {
        char          errstr[512] = "";
        rs_test_pg_t *tpg;
        rs_pg_t      *pg = NULL;

        rs_log_init("it-0001-pg-sink", RS_LOG_INFO);
        test_connect_failures();
        test_batch_api();

        tpg = rs_test_pg_start(errstr, sizeof(errstr));
        RS_CHECK_MSG(tpg != NULL, "%s", errstr);
        if (!tpg)
                return RS_TEST_DONE();
        dsn = rs_test_pg_dsn(tpg);

        pg = rs_pg_new(dsn, errstr, sizeof(errstr));
        RS_CHECK(pg != NULL);
        if (!pg)
                goto out;
        RS_CHECK_MSG(rs_pg_connect(pg, 30000, errstr, sizeof(errstr)) == 0,
                     "%s", errstr);
        RS_CHECK_INT(rs_pg_session(pg), 1);

        test_migrate(tpg, pg);
        test_migrate_errors(pg);
        test_page_views(pg);
        test_aggregates(pg);
        test_typed(pg);
        test_f64s(pg);
        test_flush_twice(pg);
        test_rollback_retry();
        test_positions(pg);
        test_reconnect(pg);
out:
        rs_pg_destroy(pg);
        rs_test_pg_stop(tpg);
        return RS_TEST_DONE();
}
