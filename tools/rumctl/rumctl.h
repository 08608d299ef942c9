/*
 * rumctl: the operator's and the tests' command-line tool. Each subcommand
 * lives in its own file (cmd_<name>.c); main.c dispatches and holds the
 * helpers they share (argument parsing, the stop flag), out.c the output
 * helpers of the commands that print PostgreSQL rows (text tables, JSON,
 * times).
 *
 * Exit status: 0 success, 1 failure, 2 usage error (RUMCTL_EXIT_*).
 */
#ifndef RUMCTL_H
#define RUMCTL_H

#include <libpq-fe.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rumstream/pg.h"

#define RUMCTL_EXIT_OK    0
#define RUMCTL_EXIT_FAIL  1
#define RUMCTL_EXIT_USAGE 2

/* Subcommands: argv[0] is the subcommand's name. @returns the exit status. */
int rumctl_kafka(int argc, char **argv);
int rumctl_produce(int argc, char **argv);
int rumctl_migrate(int argc, char **argv);
int rumctl_topic_size(int argc, char **argv);
int rumctl_report(int argc, char **argv);
int rumctl_correlate(int argc, char **argv);
int rumctl_issues(int argc, char **argv);
int rumctl_silence(int argc, char **argv);

/* Set by SIGINT / SIGTERM once rumctl_catch_signals() ran. */
extern volatile sig_atomic_t rumctl_stop;
void                         rumctl_catch_signals(void);

/**
 * @brief Parses the whole of \p s as an integer in [min, max] into *out.
 *        On failure prints "<cmd>: <opt>: ..." to stderr.
 * @returns 0 or -1.
 */
int rumctl_parse_i64(const char *cmd, const char *opt, const char *s,
                     int64_t min, int64_t max, int64_t *out);
/** @brief As rumctl_parse_i64() for a finite double in [min, max]. */
int rumctl_parse_double(const char *cmd, const char *opt, const char *s,
                        double min, double max, double *out);

/**
 * @brief Parses a duration such as "90s", "15m", "6h" or "7d" (a whole
 *        number and a unit s, m, h or d) in (0, \p max_s] seconds into *out
 *        (seconds). On failure prints "<cmd>: <opt>: ..." to stderr.
 * @returns 0 or -1.
 */
int rumctl_parse_duration(const char *cmd, const char *opt, const char *s,
                          int64_t max_s, int64_t *out);

/**
 * @brief Reports the option getopt_long() rejected (it returned \p c, '?'
 *        or ':'), then the command's usage, on stderr. Option strings start
 *        with ':' so a missing argument is told apart.
 * @returns RUMCTL_EXIT_USAGE.
 */
int rumctl_bad_option(const char *cmd, int c, char **argv,
                      void (*usage)(FILE *));

/**
 * @brief After getopt_long(): refuses positional arguments left over.
 * @returns 0, or -1 having said which (the caller prints its usage).
 */
int rumctl_no_more_args(const char *cmd, int argc, char **argv);

/**
 * @brief Refuses a missing or empty required option \p opt (\p env, if
 *        not NULL, names the environment variable that can stand in).
 * @returns 0, or -1 having said so (the caller prints its usage).
 */
int rumctl_required(const char *cmd, const char *opt, const char *value,
                    const char *env);

/**
 * @brief Catches SIGINT / SIGTERM (rumctl_stop), then connects to \p dsn,
 *        waiting up to \p wait_ms for the server, and logs why not.
 * @returns the connection (caller frees with rs_pg_destroy()) or NULL.
 */
rs_pg_t *rumctl_pg_connect(const char *dsn, int64_t wait_ms);

/** @brief Wall-clock time in ms since the epoch. */
int64_t rumctl_now_ms(void);
/** @brief Monotonic time in seconds. */
double rumctl_mono_s(void);
/** @brief Sleeps \p ms, returning early once rumctl_stop is set. */
void rumctl_sleep_ms(int64_t ms);

/* ---- Output (out.c) ----------------------------------------------------
 *
 * Everything prints to stdout. Text output replaces control characters
 * (rumctl_flatten()) so that data cannot break a line; JSON output is
 * valid JSON whatever the data: strings escaped (invalid UTF-8 becomes
 * U+FFFD), NaN, infinities and NULL as null, times as ISO 8601 UTC.
 */

typedef enum {
        RUMCTL_TIME_TEXT,   /**< "2026-03-01 12:05:00" */
        RUMCTL_TIME_ISO,    /**< "2026-03-01T12:05:00Z", ".mmm" when any */
        RUMCTL_TIME_MINUTE, /**< "2026-03-01 12:05" (narrow tables) */
} rumctl_time_fmt_t;

/** @brief Formats \p t_ms (ms since the epoch) in UTC into \p out. */
void rumctl_format_time(int64_t t_ms, rumctl_time_fmt_t fmt, char *out,
                        size_t size);

/** @brief A duration in ms for people: "812 ms" below 1 s, else "2.10 s". */
void rumctl_format_ms(double v, char *out, size_t size);

/** @brief Replaces control characters of \p s (in place) by spaces. */
void rumctl_flatten(char *s);

/**
 * A text table: cells are added left to right, a row every ncol cells; the
 * first row is the header. Columns are as wide as their widest cell (in
 * bytes), two spaces apart; the last column is not padded. Set ncol and
 * align (per column 'l' or 'r') and zero the rest, e.g.
 *   rumctl_table_t t = {.ncol = 3, .align = "llr"};
 * With max_width > 0 a left-aligned last column is cut (ending in "...",
 * at a UTF-8 character boundary) so that lines fit in max_width columns,
 * but never below RUMCTL_TABLE_MIN_LAST characters.
 */
typedef struct rumctl_table_s {
        size_t      ncol;      /**< at most RUMCTL_TABLE_MAX_COLS */
        const char *align;     /**< per column: 'l' or 'r' */
        int         max_width; /**< 0: no limit */
        char      **cells;     /**< owned */
        size_t      cnt, cap;
        int         oom;
} rumctl_table_t;

#define RUMCTL_TABLE_MAX_COLS 32
#define RUMCTL_TABLE_MIN_LAST 24

/** @brief Adds a cell, printf-formatted and flattened (copied). Out of
 *         memory is remembered and reported by rumctl_table_print(). */
void rumctl_table_cell(rumctl_table_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** @brief Prints the table, each line after \p indent.
 *  @returns 0, or -1 (logged) if a cell could not be stored. */
int rumctl_table_print(const rumctl_table_t *t, const char *indent);
/** @brief Frees the cells (the table itself is the caller's). */
void rumctl_table_free(rumctl_table_t *t);

/** @brief \p s as a JSON string, or null for NULL. */
void rumctl_json_str(const char *s);
/** @brief \p v as a JSON number, or null when not finite. */
void rumctl_json_num(double v);
/** @brief \p t_ms as an ISO 8601 UTC JSON string. */
void rumctl_json_time(int64_t t_ms);

/* Values of a PGresult (text format). */
/** @brief The number in row \p r, column \p c, NAN when NULL. */
double rumctl_pg_num(const PGresult *res, int r, int c);
/** @brief The text, NULL when NULL (points into \p res). */
const char *rumctl_pg_str(const PGresult *res, int r, int c);
/** @brief 1 for a true boolean, 0 for false or NULL. */
int rumctl_pg_bool(const PGresult *res, int r, int c);
/** @brief An integer (e.g. a time in ms: "(extract(epoch FROM t) * 1000)
 *         ::bigint"), 0 when NULL. */
int64_t rumctl_pg_ms(const PGresult *res, int r, int c);

/** How a result column prints as JSON (any of them NULL: null). */
typedef enum {
        RUMCTL_COL_STR,  /**< text: a string */
        RUMCTL_COL_TIME, /**< ms since the epoch: an ISO 8601 string */
        RUMCTL_COL_NUM,  /**< a number (NaN, infinities: null) */
        RUMCTL_COL_BOOL, /**< true / false */
        RUMCTL_COL_JSON, /**< json or jsonb: as PostgreSQL prints it */
} rumctl_col_type_t;

/** A result column: its JSON name and how to print it. */
typedef struct rumctl_col_s {
        const char       *name;
        rumctl_col_type_t type;
} rumctl_col_t;

/** @brief Prints "name":value,... for columns [from, to) of row \p r
 *         (cols[c] describes column c of \p res), without braces. */
void rumctl_json_fields(const PGresult *res, int r, const rumctl_col_t *cols,
                        int from, int to);

#endif
