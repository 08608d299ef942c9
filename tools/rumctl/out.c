/*
 * rumctl output: what the commands that print PostgreSQL rows share (see
 * rumctl.h). Text goes through tables whose columns size themselves to
 * their cells; JSON is printed piece by piece straight to stdout, each
 * piece valid on its own (a string, a number or null), so a command
 * assembles an object without building it in memory.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/log.h"
#include "rumctl.h"

/* ---- Formatting -------------------------------------------------------- */

void rumctl_format_time(int64_t t_ms, rumctl_time_fmt_t fmt, char *out,
                        size_t size) {
        static const char *const formats[] = {
            [RUMCTL_TIME_TEXT]   = "%Y-%m-%d %H:%M:%S",
            [RUMCTL_TIME_ISO]    = "%Y-%m-%dT%H:%M:%S",
            [RUMCTL_TIME_MINUTE] = "%Y-%m-%d %H:%M"};
        time_t    t   = (time_t)(t_ms / 1000);
        int       rem = (int)(t_ms % 1000);
        struct tm tm;
        size_t    n;

        if (rem < 0) {
                rem += 1000;
                t--;
        }
        gmtime_r(&t, &tm);
        n = strftime(out, size, formats[fmt], &tm);
        if (fmt == RUMCTL_TIME_ISO)
                snprintf(out + n, size - n, rem ? ".%03dZ" : "Z", rem);
}

void rumctl_format_ms(double v, char *out, size_t size) {
        if (v < 1000 && v > -1000)
                snprintf(out, size, "%.0f ms", v);
        else
                snprintf(out, size, "%.2f s", v / 1000);
}

void rumctl_flatten(char *s) {
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = ' ';
}

/* ---- Text tables ------------------------------------------------------- */

void rumctl_table_cell(rumctl_table_t *t, const char *fmt, ...) {
        va_list ap;
        char   *s;
        int     n;

        if (t->oom)
                return;
        if (t->cnt == t->cap) {
                size_t cap   = t->cap ? 2 * t->cap : 64;
                char **cells = realloc(t->cells, cap * sizeof(*cells));

                if (!cells) {
                        t->oom = 1;
                        return;
                }
                t->cells = cells;
                t->cap   = cap;
        }
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        s = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (!s) {
                t->oom = 1;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
        rumctl_flatten(s);
        t->cells[t->cnt++] = s;
}

void rumctl_table_free(rumctl_table_t *t) {
        size_t i;

        for (i = 0; i < t->cnt; i++)
                free(t->cells[i]);
        free(t->cells);
        t->cells = NULL;
        t->cnt = t->cap = 0;
}

/* Prints at most \p max characters of \p s (UTF-8: continuation bytes do
 * not count), or its first max - 3 and "..." when it is longer. */
static void print_cut(const char *s, int max) {
        int    chars = 0, keep = -1;
        size_t i;

        for (i = 0; s[i]; i++) {
                if (((unsigned char)s[i] & 0xc0) == 0x80)
                        continue;
                if (chars == max - 3)
                        keep = (int)i;
                if (++chars > max) {
                        printf("%.*s...", keep, s);
                        return;
                }
        }
        fputs(s, stdout);
}

int rumctl_table_print(const rumctl_table_t *t, const char *indent) {
        int    widths[RUMCTL_TABLE_MAX_COLS] = {0}, last_max = 0;
        size_t i, c;

        if (t->oom || t->ncol > RUMCTL_TABLE_MAX_COLS) {
                rs_log_error("out of memory");
                return -1;
        }
        for (i = 0; i < t->cnt; i++) {
                int len = (int)strlen(t->cells[i]);

                if (len > widths[i % t->ncol])
                        widths[i % t->ncol] = len;
        }
        if (t->max_width > 0 && t->ncol > 0 && t->align[t->ncol - 1] != 'r') {
                last_max = t->max_width - (int)strlen(indent);
                for (c = 0; c + 1 < t->ncol; c++)
                        last_max -= widths[c] + 2;
                if (last_max < RUMCTL_TABLE_MIN_LAST)
                        last_max = RUMCTL_TABLE_MIN_LAST;
        }
        for (i = 0; i + t->ncol <= t->cnt; i += t->ncol) {
                fputs(indent, stdout);
                for (c = 0; c < t->ncol; c++) {
                        const char *cell = t->cells[i + c];
                        int         last = c + 1 == t->ncol;

                        if (c)
                                fputs("  ", stdout);
                        if (t->align[c] == 'r')
                                printf("%*s", widths[c], cell);
                        else if (last && last_max > 0)
                                print_cut(cell, last_max);
                        else
                                printf("%-*s", last ? 0 : widths[c], cell);
                }
                fputs("\n", stdout);
        }
        return 0;
}

/* ---- JSON -------------------------------------------------------------- */

void rumctl_json_str(const char *s) {
        size_t size;
        char  *buf;

        if (!s) {
                fputs("null", stdout);
                return;
        }
        size = 6 * strlen(s) + 1; /* an invalid byte becomes "\ufffd" */
        buf  = malloc(size);
        if (!buf) {
                rs_log_error("out of memory");
                fputs("null", stdout);
                return;
        }
        rs_log_json_escape(buf, size, s);
        printf("\"%s\"", buf);
        free(buf);
}

void rumctl_json_num(double v) {
        if (isfinite(v))
                printf("%.15g", v);
        else
                fputs("null", stdout);
}

void rumctl_json_time(int64_t t_ms) {
        char buf[48];

        rumctl_format_time(t_ms, RUMCTL_TIME_ISO, buf, sizeof(buf));
        printf("\"%s\"", buf);
}

/* ---- Result values ----------------------------------------------------- */

double rumctl_pg_num(const PGresult *res, int r, int c) {
        return PQgetisnull(res, r, c) ? NAN
                                      : strtod(PQgetvalue(res, r, c), NULL);
}

const char *rumctl_pg_str(const PGresult *res, int r, int c) {
        return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

int rumctl_pg_bool(const PGresult *res, int r, int c) {
        return !PQgetisnull(res, r, c) && PQgetvalue(res, r, c)[0] == 't';
}

int64_t rumctl_pg_ms(const PGresult *res, int r, int c) {
        return strtoll(PQgetvalue(res, r, c), NULL, 10);
}

void rumctl_json_fields(const PGresult *res, int r, const rumctl_col_t *cols,
                        int from, int to) {
        int c;

        for (c = from; c < to; c++) {
                printf("%s\"%s\":", c > from ? "," : "", cols[c].name);
                if (PQgetisnull(res, r, c)) {
                        fputs("null", stdout);
                        continue;
                }
                switch (cols[c].type) {
                case RUMCTL_COL_STR:
                        rumctl_json_str(PQgetvalue(res, r, c));
                        break;
                case RUMCTL_COL_TIME:
                        rumctl_json_time(rumctl_pg_ms(res, r, c));
                        break;
                case RUMCTL_COL_NUM:
                        rumctl_json_num(rumctl_pg_num(res, r, c));
                        break;
                case RUMCTL_COL_BOOL:
                        fputs(rumctl_pg_bool(res, r, c) ? "true" : "false",
                              stdout);
                        break;
                case RUMCTL_COL_JSON:
                        fputs(PQgetvalue(res, r, c), stdout);
                        break;
                }
        }
}
