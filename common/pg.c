/*
 * pg: the PostgreSQL sink (see rumstream/pg.h for the contract).
 *
 * Connection. Connecting is asynchronous (PQconnectStart/PQconnectPoll) so
 * that a SIGTERM during an outage or against an unreachable host is noticed
 * within 50 ms instead of after the kernel's TCP timeout. A connection that
 * fails a call and is no longer CONNECTION_OK is closed on the spot: the
 * caller's next rs_pg_connect() makes a new session, and the caller retries
 * its whole transaction (all writes are idempotent upserts and positions
 * never move backwards, so a retry after an unknown commit outcome is safe).
 *
 * Batches. Rows are kept as one buffer in COPY text format. A flush sends,
 * as a single simple-protocol query string,
 *
 *   CREATE TEMP TABLE IF NOT EXISTS rs_stage_T (LIKE T INCLUDING DEFAULTS)
 *       ON COMMIT DELETE ROWS;
 *   COPY rs_stage_T (cols) FROM STDIN;
 *   INSERT INTO T (cols) SELECT cols FROM rs_stage_T
 *       ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c, ...;
 *   TRUNCATE rs_stage_T
 *
 * followed by the COPY data: one round trip per flush. The staging table is
 * "created" on every flush rather than once per session because its
 * creation is transactional: if the first transaction of a session rolls
 * back, the table goes with it, and a batch that remembered "created in
 * this session" would fail every retry. IF NOT EXISTS makes the repeat a
 * catalog lookup; its NOTICE goes to the debug log. The TRUNCATE lets the
 * same table be flushed twice in one transaction.
 *
 * An attempt is abandoned after ATTEMPT_MAX_MS (libpq's connect_timeout
 * applies to blocking connects only); host name lookup still blocks.
 *
 * A batch made with rs_pg_batch_new_typed() knows each column's type and
 * keeps its rows in COPY's binary format instead (COPY ... WITH (FORMAT
 * binary)): no doubles to format, no hex, no escapes. Binary values must
 * match the column types exactly, so the first flush of such a batch
 * checks them against the catalog and refuses a mismatch by name.
 *
 * Strings are sent as UTF-8 (client_encoding is set on connect); invalid
 * sequences are replaced by U+FFFD so that one bad string cannot make every
 * retry of a transaction fail.
 */
#include "rumstream/pg.h"

#include "rumstream/log.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* One connection attempt may take this long before it is abandoned. */
#define ATTEMPT_MAX_MS 10000
/* How often waits look at the stop flag. */
#define POLL_SLICE_MS 50
#define COPY_CHUNK    (1024 * 1024)
/* Identifiers longer than NAMEDATALEN-1 would be truncated by the server. */
#define IDENT_MAX    63
#define STAGE_PREFIX "rs_stage_"
/* pg_advisory_xact_lock() key of rs_pg_migrate(): "rumstrm" in ASCII. */
#define MIGRATION_LOCK_KEY "32217260293911149"

struct rs_pg_s {
        char                  *dsn;
        PGconn                *conn;
        uint64_t               session;
        volatile sig_atomic_t *stop;
};

struct rs_pg_batch_s {
        char  *table;
        char **columns;
        size_t ncols;
        size_t nkey;
        char  *flush_sql; /* the query string described at the top */

        char  *buf; /* COPY text of the complete rows, then the open one */
        size_t len;
        size_t cap;
        size_t rows;
        size_t row_start; /* where the open row begins in buf */
        size_t row_vals;  /* values appended to the open row */
        int    row_oom;   /* the open row lost a value to malloc failure */

        char *types;         /* typed (binary) batches: one letter a column */
        int   types_checked; /* against the catalog, once */
        char  bad_value[96]; /* the first value given a column of another
                                type, which fails every flush */
};

/* Column types of a typed batch, and their catalog types (pg_type oids). */
static const struct {
        char        code;
        const char *name;
        unsigned    oid;
} col_types[] = {{'t', "text", 25},
                 {'i', "bigint", 20},
                 {'f', "double precision", 701},
                 {'b', "bytea", 17},
                 {'z', "timestamptz", 1184},
                 {'o', "boolean", 16}};

/* COPY binary's file header: signature, flags, header extension length. */
static const char copy_bin_header[19] = "PGCOPY\n\377\r\n\0"
                                        "\0\0\0\0"
                                        "\0\0\0\0";
static const char copy_bin_trailer[2] = "\377\377";
/* Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01. */
#define PG_EPOCH_US INT64_C(946684800000000)

/* libpq's messages span lines ("...failed: Connection refused\n\tIs the
 * server running...\n"): make them one line for errstr and the log. */
static void flatten(char *s) {
        char *out = s, *in = s;

        for (; *in; in++) {
                if (*in == '\n' || *in == '\t' || *in == '\r') {
                        if (out > s && out[-1] != ' ')
                                *out++ = ' ';
                } else {
                        *out++ = *in;
                }
        }
        while (out > s && out[-1] == ' ')
                out--;
        *out = '\0';
}

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errstr, size_t errstr_size, const char *fmt, ...) {
        va_list ap;

        if (!errstr || !errstr_size)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
        flatten(errstr);
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopped(const rs_pg_t *pg) {
        return pg->stop && *pg->stop;
}

/* The primary message and detail of a failed result, else the
 * connection's last error. */
static void result_err(PGconn *conn, const PGresult *res, char *errstr,
                       size_t errstr_size) {
        const char *primary =
            res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        const char *detail =
            res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;

        if (primary && detail)
                set_err(errstr, errstr_size, "%s (%s)", primary, detail);
        else if (primary)
                set_err(errstr, errstr_size, "%s", primary);
        else if (res && *PQresultErrorMessage(res))
                set_err(errstr, errstr_size, "%s", PQresultErrorMessage(res));
        else if (conn && *PQerrorMessage(conn))
                set_err(errstr, errstr_size, "%s", PQerrorMessage(conn));
        else
                set_err(errstr, errstr_size, "unexpected result status %s",
                        res ? PQresStatus(PQresultStatus(res)) : "(none)");
}

/* Called after every failure: a broken connection is closed so that the
 * next rs_pg_connect() starts a new session. */
static void check_broken(rs_pg_t *pg) {
        if (pg->conn && PQstatus(pg->conn) != CONNECTION_OK) {
                char msg[512];

                set_err(msg, sizeof(msg), "%s", PQerrorMessage(pg->conn));
                rs_log_warn("pg: connection lost (session %" PRIu64 "): %s",
                            pg->session, msg);
                PQfinish(pg->conn);
                pg->conn = NULL;
        }
}

static int need_conn(rs_pg_t *pg, char *errstr, size_t errstr_size) {
        if (pg->conn)
                return 0;
        set_err(errstr, errstr_size, "not connected to PostgreSQL");
        return -1;
}

/* Server messages (NOTICE, WARNING) would otherwise be printed by libpq on
 * stderr, outside the JSON log. */
static void notice_receiver(void *arg, const PGresult *res) {
        const char *sev =
            PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        (void)arg;
        if (!msg)
                msg = PQresultErrorMessage(res);
        if (sev && (!strcmp(sev, "WARNING") || !strcmp(sev, "FATAL") ||
                    !strcmp(sev, "PANIC") || !strcmp(sev, "ERROR")))
                rs_log_warn("pg: server %s: %s", sev, msg);
        else
                rs_log_debug("pg: server %s: %s", sev ? sev : "message", msg);
}

rs_pg_t *rs_pg_new(const char *dsn, char *errstr, size_t errstr_size) {
        PQconninfoOption *opts;
        char             *perr = NULL;
        rs_pg_t          *pg;

        if (!dsn) {
                set_err(errstr, errstr_size, "no PostgreSQL DSN given");
                return NULL;
        }
        /* Catch a malformed DSN now, not in the first reconnect loop. */
        opts = PQconninfoParse(dsn, &perr);
        if (!opts) {
                set_err(errstr, errstr_size, "invalid PostgreSQL DSN: %s",
                        perr ? perr : "out of memory");
                PQfreemem(perr);
                return NULL;
        }
        PQconninfoFree(opts);

        pg = calloc(1, sizeof(*pg));
        if (!pg || !(pg->dsn = strdup(dsn))) {
                free(pg);
                set_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        return pg;
}

void rs_pg_destroy(rs_pg_t *pg) {
        if (!pg)
                return;
        if (pg->conn)
                PQfinish(pg->conn);
        free(pg->dsn);
        free(pg);
}

void rs_pg_set_stop_flag(rs_pg_t *pg, volatile sig_atomic_t *stop) {
        pg->stop = stop;
}

/* An idle connection whose server went away (restart, pg_terminate_backend)
 * has the server's goodbye and EOF waiting in its socket; reading them now
 * turns a doomed BEGIN into a reconnect. */
static int conn_alive(PGconn *conn) {
        int i;

        if (PQstatus(conn) != CONNECTION_OK)
                return 0;
        if (PQtransactionStatus(conn) != PQTRANS_IDLE)
                return 1;
        for (i = 0; i < 16; i++) {
                struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};

                if (pfd.fd < 0)
                        return 0;
                if (poll(&pfd, 1, 0) <= 0)
                        break;
                if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK)
                        return 0;
        }
        return 1;
}

/**
 * @brief One connection attempt, abandoned after ATTEMPT_MAX_MS or when the
 *        stop flag is set.
 * @returns the connection, or NULL with errstr set.
 */
static PGconn *connect_once(rs_pg_t *pg, char *errstr, size_t errstr_size) {
        PGconn                   *conn;
        PostgresPollingStatusType st      = PGRES_POLLING_WRITING;
        int64_t                   give_up = now_ms() + ATTEMPT_MAX_MS;

        conn = PQconnectStart(pg->dsn);
        if (!conn) {
                set_err(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (PQstatus(conn) == CONNECTION_BAD)
                goto fail;

        while (st != PGRES_POLLING_OK) {
                struct pollfd pfd;
                int           r;

                if (st == PGRES_POLLING_FAILED)
                        goto fail;
                pfd.fd      = PQsocket(conn);
                pfd.events  = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
                pfd.revents = 0;
                if (pfd.fd < 0)
                        goto fail;
                r = poll(&pfd, 1, POLL_SLICE_MS);
                if (r < 0 && errno != EINTR) {
                        set_err(errstr, errstr_size, "poll: %s",
                                strerror(errno));
                        goto out_close;
                }
                if (r > 0) {
                        st = PQconnectPoll(conn);
                        continue;
                }
                if (stopped(pg)) {
                        set_err(errstr, errstr_size,
                                "stopped while connecting");
                        goto out_close;
                }
                if (now_ms() >= give_up) {
                        set_err(errstr, errstr_size,
                                "connection attempt timed out after %d ms",
                                ATTEMPT_MAX_MS);
                        goto out_close;
                }
        }

        if (PQsetClientEncoding(conn, "UTF8") != 0)
                goto fail;
        PQsetNoticeReceiver(conn, notice_receiver, NULL);
        return conn;

fail:
        set_err(errstr, errstr_size, "%s", PQerrorMessage(conn));
out_close:
        PQfinish(conn);
        return NULL;
}

int rs_pg_connect(rs_pg_t *pg, int max_wait_ms, char *errstr,
                  size_t errstr_size) {
        int64_t deadline = max_wait_ms < 0 ? INT64_MAX : now_ms() + max_wait_ms;
        int     backoff_ms = BACKOFF_MIN_MS;
        int     attempt;
        char    lasterr[512] = "";

        if (pg->conn) {
                if (conn_alive(pg->conn))
                        return 0;
                check_broken(pg);
                if (pg->conn) {
                        /* PQconsumeInput failed without changing status. */
                        PQfinish(pg->conn);
                        pg->conn = NULL;
                }
        }

        for (attempt = 1;; attempt++) {
                int64_t wake;

                pg->conn = connect_once(pg, lasterr, sizeof(lasterr));
                if (pg->conn) {
                        pg->session++;
                        if (pg->session > 1 || attempt > 1)
                                rs_log_warn("pg: %sconnected to %s:%s after "
                                            "%d attempt(s), session %" PRIu64,
                                            pg->session > 1 ? "re" : "",
                                            PQhost(pg->conn), PQport(pg->conn),
                                            attempt, pg->session);
                        else
                                rs_log_info("pg: connected to %s:%s",
                                            PQhost(pg->conn), PQport(pg->conn));
                        return 0;
                }
                if (stopped(pg))
                        break;
                if (now_ms() >= deadline)
                        break;

                rs_log_warn("pg: connection attempt %d failed: %s; retrying "
                            "in %d ms",
                            attempt, lasterr, backoff_ms);
                wake = now_ms() + backoff_ms;
                if (wake > deadline)
                        wake = deadline;
                while (!stopped(pg) && now_ms() < wake) {
                        int64_t         left = wake - now_ms();
                        struct timespec ts;

                        if (left > POLL_SLICE_MS)
                                left = POLL_SLICE_MS;
                        ts.tv_sec  = 0;
                        ts.tv_nsec = (long)left * 1000000L;
                        nanosleep(&ts, NULL);
                }
                if (stopped(pg) || now_ms() >= deadline)
                        break;
                backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                             : backoff_ms * 2;
        }

        if (stopped(pg) && strncmp(lasterr, "stopped", 7))
                set_err(errstr, errstr_size, "stopped; last error: %s",
                        lasterr);
        else if (stopped(pg))
                set_err(errstr, errstr_size, "%s", lasterr);
        else
                set_err(errstr, errstr_size, "%s (gave up after %d ms)",
                        lasterr, max_wait_ms);
        return -1;
}

PGconn *rs_pg_conn(rs_pg_t *pg) {
        return pg->conn;
}

uint64_t rs_pg_session(const rs_pg_t *pg) {
        return pg->session;
}

int rs_pg_exec(rs_pg_t *pg, const char *sql, char *errstr, size_t errstr_size) {
        PGresult      *res;
        ExecStatusType st;

        if (need_conn(pg, errstr, errstr_size) == -1)
                return -1;
        res = PQexec(pg->conn, sql);
        st  = PQresultStatus(res);
        if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
                PQclear(res);
                return 0;
        }
        result_err(pg->conn, res, errstr, errstr_size);
        PQclear(res);
        check_broken(pg);
        return -1;
}

PGresult *rs_pg_query(rs_pg_t *pg, const char *sql, int nparams,
                      const char *const *values, char *errstr,
                      size_t errstr_size) {
        PGresult      *res;
        ExecStatusType st;

        if (need_conn(pg, errstr, errstr_size) == -1)
                return NULL;
        res = PQexecParams(pg->conn, sql, nparams, NULL, values, NULL, NULL, 0);
        st  = PQresultStatus(res);
        if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
                return res;
        result_err(pg->conn, res, errstr, errstr_size);
        PQclear(res);
        check_broken(pg);
        return NULL;
}

int rs_pg_begin(rs_pg_t *pg, char *errstr, size_t errstr_size) {
        return rs_pg_exec(pg, "BEGIN", errstr, errstr_size);
}

int rs_pg_commit(rs_pg_t *pg, char *errstr, size_t errstr_size) {
        PGresult *res;
        int       r = -1;

        if (need_conn(pg, errstr, errstr_size) == -1)
                return -1;
        res = PQexec(pg->conn, "COMMIT");
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                result_err(pg->conn, res, errstr, errstr_size);
                goto out;
        }
        /* COMMIT of a transaction that already failed "succeeds" with the
         * tag ROLLBACK: that is a failure for the caller. */
        if (strcmp(PQcmdStatus(res), "COMMIT")) {
                set_err(errstr, errstr_size,
                        "transaction failed earlier and was rolled back");
                goto out;
        }
        r = 0;
out:
        PQclear(res);
        if (r == -1)
                check_broken(pg);
        return r;
}

void rs_pg_rollback(rs_pg_t *pg) {
        PGresult *res;

        if (!pg->conn)
                return;
        switch (PQtransactionStatus(pg->conn)) {
        case PQTRANS_INTRANS:
        case PQTRANS_INERROR:
                res = PQexec(pg->conn, "ROLLBACK");
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                        char msg[512];

                        set_err(msg, sizeof(msg), "%s",
                                PQerrorMessage(pg->conn));
                        rs_log_debug("pg: rollback failed: %s", msg);
                }
                PQclear(res);
                break;
        case PQTRANS_IDLE:
                break;
        default:
                /* Busy or unknown: nothing sane to say to this session. */
                rs_log_warn("pg: closing a connection in an unknown state");
                PQfinish(pg->conn);
                pg->conn = NULL;
                return;
        }
        check_broken(pg);
}

/*
 * Batches.
 */

/* Plain lower-case names only: they are then safe to double-quote, and a
 * schema-qualified or mixed-case name is refused rather than guessed at. */
static int ident_ok(const char *s, size_t max) {
        size_t i;

        if (!s || !*s || strlen(s) > max)
                return 0;
        if (s[0] >= '0' && s[0] <= '9')
                return 0;
        for (i = 0; s[i]; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_'))
                        return 0;
        }
        return 1;
}

/* A growable string for building SQL; `oom` sticks after a failure. */
typedef struct {
        char  *s;
        size_t len;
        size_t cap;
        int    oom;
} sbuf_t;

static void sb_add(sbuf_t *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf_t *sb, const char *fmt, ...) {
        va_list ap;
        int     n;

        if (sb->oom)
                return;
        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                sb->oom = 1;
                return;
        }
        if (sb->len + (size_t)n + 1 > sb->cap) {
                size_t cap = sb->cap ? sb->cap : 256;
                char  *s;

                while (cap < sb->len + (size_t)n + 1)
                        cap *= 2;
                s = realloc(sb->s, cap);
                if (!s) {
                        sb->oom = 1;
                        return;
                }
                sb->s   = s;
                sb->cap = cap;
        }
        va_start(ap, fmt);
        vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        sb->len += (size_t)n;
}

static void sb_columns(sbuf_t *sb, char *const *cols, size_t from, size_t to,
                       const char *prefix) {
        size_t i;

        for (i = from; i < to; i++)
                sb_add(sb, "%s%s\"%s\"", i > from ? ", " : "", prefix, cols[i]);
}

static char *build_flush_sql(const rs_pg_batch_t *b) {
        sbuf_t sb = {0};
        size_t i;

        sb_add(&sb,
               "CREATE TEMP TABLE IF NOT EXISTS \"" STAGE_PREFIX "%s\" "
               "(LIKE \"%s\" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;\n",
               b->table, b->table);
        sb_add(&sb, "COPY \"" STAGE_PREFIX "%s\" (", b->table);
        sb_columns(&sb, b->columns, 0, b->ncols, "");
        sb_add(&sb, ") FROM STDIN%s;\nINSERT INTO \"%s\" (",
               b->types ? " WITH (FORMAT binary)" : "", b->table);
        sb_columns(&sb, b->columns, 0, b->ncols, "");
        sb_add(&sb, ") SELECT ");
        sb_columns(&sb, b->columns, 0, b->ncols, "");
        sb_add(&sb, " FROM \"" STAGE_PREFIX "%s\" ON CONFLICT (", b->table);
        sb_columns(&sb, b->columns, 0, b->nkey, "");
        if (b->nkey == b->ncols) {
                sb_add(&sb, ") DO NOTHING;\n");
        } else {
                sb_add(&sb, ") DO UPDATE SET ");
                for (i = b->nkey; i < b->ncols; i++)
                        sb_add(&sb, "%s\"%s\" = EXCLUDED.\"%s\"",
                               i > b->nkey ? ", " : "", b->columns[i],
                               b->columns[i]);
                sb_add(&sb, ";\n");
        }
        sb_add(&sb, "TRUNCATE \"" STAGE_PREFIX "%s\"", b->table);
        if (sb.oom) {
                free(sb.s);
                return NULL;
        }
        return sb.s;
}

static int type_code_ok(char c) {
        size_t k;

        for (k = 0; k < sizeof(col_types) / sizeof(col_types[0]); k++)
                if (col_types[k].code == c)
                        return 1;
        return 0;
}

static rs_pg_batch_t *batch_new(const char *table, const char *const *columns,
                                const char *types, size_t ncols, size_t nkey) {
        rs_pg_batch_t *b = NULL;
        size_t         i, j;

        if (!ident_ok(table, IDENT_MAX - strlen(STAGE_PREFIX)) || !columns ||
            ncols == 0 || nkey == 0 || nkey > ncols || ncols > INT16_MAX)
                return NULL;
        if (types) {
                if (strlen(types) != ncols)
                        return NULL;
                for (i = 0; i < ncols; i++)
                        if (!type_code_ok(types[i]))
                                return NULL;
        }
        for (i = 0; i < ncols; i++) {
                if (!ident_ok(columns[i], IDENT_MAX))
                        return NULL;
                for (j = 0; j < i; j++)
                        if (!strcmp(columns[i], columns[j]))
                                return NULL;
        }

        b = calloc(1, sizeof(*b));
        if (!b)
                return NULL;
        b->ncols   = ncols;
        b->nkey    = nkey;
        b->table   = strdup(table);
        b->columns = calloc(ncols, sizeof(*b->columns));
        if (!b->table || !b->columns)
                goto fail;
        for (i = 0; i < ncols; i++)
                if (!(b->columns[i] = strdup(columns[i])))
                        goto fail;
        if (types && !(b->types = strdup(types)))
                goto fail;
        if (!(b->flush_sql = build_flush_sql(b)))
                goto fail;
        return b;

fail:
        rs_pg_batch_destroy(b);
        return NULL;
}

rs_pg_batch_t *rs_pg_batch_new(const char *table, const char *const *columns,
                               size_t ncols, size_t nkey) {
        return batch_new(table, columns, NULL, ncols, nkey);
}

rs_pg_batch_t *rs_pg_batch_new_typed(const char        *table,
                                     const char *const *columns,
                                     const char *types, size_t ncols,
                                     size_t nkey) {
        return types ? batch_new(table, columns, types, ncols, nkey) : NULL;
}

void rs_pg_batch_destroy(rs_pg_batch_t *b) {
        size_t i;

        if (!b)
                return;
        if (b->columns)
                for (i = 0; i < b->ncols; i++)
                        free(b->columns[i]);
        free(b->columns);
        free(b->table);
        free(b->flush_sql);
        free(b->types);
        free(b->buf);
        free(b);
}

static int reserve(rs_pg_batch_t *b, size_t more) {
        size_t cap;
        char  *buf;

        if (b->len + more <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + more)
                cap *= 2;
        buf = realloc(b->buf, cap);
        if (!buf) {
                b->row_oom = 1;
                return -1;
        }
        b->buf = buf;
        b->cap = cap;
        return 0;
}

/* Starts the next value of the open row; room for \p len more bytes. */
static int value_begin(rs_pg_batch_t *b, size_t len) {
        if (reserve(b, len + 1) == -1)
                return -1;
        if (b->row_vals++ > 0)
                b->buf[b->len++] = '\t';
        return 0;
}

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 if invalid.
 * Stops at the first bad byte, so the NUL terminator is never passed. */
static size_t utf8_seq_len(const unsigned char *s) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t        n, i;

        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                if (s[0] == 0xe0)
                        lo = 0xa0; /* overlong */
                else if (s[0] == 0xed)
                        hi = 0x9f; /* surrogates */
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                if (s[0] == 0xf0)
                        lo = 0x90; /* overlong */
                else if (s[0] == 0xf4)
                        hi = 0x8f; /* above U+10FFFF */
        } else {
                return 0;
        }
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (i = 2; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

/* Copies the character at *pp (>= 0x80) to out, or U+FFFD for an invalid
 * byte, and moves past it. @returns the end of what was written. */
static char *copy_utf8_char(const unsigned char **pp, char *out) {
        size_t n = utf8_seq_len(*pp);

        if (n == 0) {
                memcpy(out, "\xef\xbf\xbd", 3);
                *pp += 1;
                return out + 3;
        }
        memcpy(out, *pp, n);
        *pp += n;
        return out + n;
}

/*
 * Typed batches: COPY binary. A row is a 16-bit field count and then each
 * field as a 32-bit length (-1 for NULL) and its bytes, all big endian.
 */
static inline void put_be(char *p, uint64_t v, int bytes) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                            \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* The common sizes as one swap and one store. */
        if (bytes == 8) {
                v = __builtin_bswap64(v);
                memcpy(p, &v, 8);
                return;
        }
        if (bytes == 4) {
                uint32_t w = __builtin_bswap32((uint32_t)v);
                memcpy(p, &w, 4);
                return;
        }
#endif
        while (bytes-- > 0) {
                p[bytes] = (char)(v & 0xff);
                v >>= 8;
        }
}

static const char *type_name(char code) {
        size_t k;

        for (k = 0; k < sizeof(col_types) / sizeof(col_types[0]); k++)
                if (col_types[k].code == code)
                        return col_types[k].name;
        return "?";
}

/**
 * @brief Starts the next field of the open row of a typed batch, to hold
 *        at most \p max bytes of column type \p type (0: any, for NULL).
 * @returns the offset of its bytes in b->buf (its length goes 4 bytes
 *          before, written by bin_end()), or (size_t)-1 if the row lost
 *          it: out of memory, more values than columns, or a value of
 *          another type than the column's, which also fails every flush
 *          (a programming error must not pass for data).
 */
static inline size_t bin_begin(rs_pg_batch_t *b, char type, size_t max) {
        size_t col = b->row_vals++;

        if (col >= b->ncols)
                return (size_t)-1;
        if (type && b->types[col] != type) {
                if (!b->bad_value[0])
                        snprintf(b->bad_value, sizeof(b->bad_value),
                                 "column %s is %s, given %s", b->columns[col],
                                 type_name(b->types[col]), type_name(type));
                b->row_oom = 1;
                return (size_t)-1;
        }
        if (b->len + 2 + 4 + max > b->cap && reserve(b, 2 + 4 + max) == -1)
                return (size_t)-1;
        if (col == 0) {
                put_be(b->buf + b->len, b->ncols, 2);
                b->len += 2;
        }
        return b->len + 4;
}

/* Ends the field begun at \p at with \p n bytes (-1: NULL). */
static inline void bin_end(rs_pg_batch_t *b, size_t at, int64_t n) {
        put_be(b->buf + at - 4, (uint64_t)n, 4);
        b->len = at + (n > 0 ? (size_t)n : 0);
}

static inline void bin_fixed(rs_pg_batch_t *b, char type, uint64_t v,
                             int bytes) {
        size_t at = bin_begin(b, type, (size_t)bytes);

        if (at == (size_t)-1)
                return;
        put_be(b->buf + at, v, bytes);
        bin_end(b, at, bytes);
}

static void bin_null(rs_pg_batch_t *b, char type) {
        size_t at = bin_begin(b, type, 0);

        if (at != (size_t)-1)
                bin_end(b, at, -1);
}

/* How many of the \p len bytes at \p p are ASCII before the first that
 * is not: eight at a time. */
static size_t ascii_prefix(const unsigned char *p, size_t len) {
        const uint64_t hi = 0x8080808080808080ull;
        size_t         i  = 0;
        uint64_t       w;

        for (; len - i >= 8; i += 8) {
                memcpy(&w, p + i, 8);
                if (w & hi)
                        break;
        }
        while (i < len && p[i] < 0x80)
                i++;
        return i;
}

/* The text of \p s as UTF-8, invalid sequences replaced by U+FFFD. */
static void bin_str(rs_pg_batch_t *b, const char *s) {
        const unsigned char *p   = (const unsigned char *)s;
        size_t               len = strlen(s), n;
        size_t               at;
        char                *out;

        /* Worst case: every byte becomes U+FFFD (3 bytes). */
        if ((at = bin_begin(b, 't', len * 3)) == (size_t)-1)
                return;
        out = b->buf + at;
        /* Most text is ASCII: copied in one piece as far as it is. */
        n = ascii_prefix(p, len);
        memcpy(out, p, n);
        out += n;
        p += n;
        while (*p) {
                const unsigned char *run = p;

                while (*p && *p < 0x80)
                        p++;
                if (p > run) {
                        memcpy(out, run, (size_t)(p - run));
                        out += p - run;
                        continue;
                }
                out = copy_utf8_char(&p, out);
        }
        bin_end(b, at, out - (b->buf + at));
}

/**
 * @brief Checks the batch's column types against the table's, once.
 * @returns 0, or -1 with errstr naming the first column that differs.
 */
static int check_types(PGconn *conn, rs_pg_batch_t *b, char *errstr,
                       size_t errstr_size) {
        char      sql[256];
        PGresult *res;
        size_t    i, k;
        int       r, ok = 1;

        if (b->types_checked)
                return 0;
        snprintf(sql, sizeof(sql),
                 "SELECT attname, atttypid FROM pg_attribute WHERE attrelid "
                 "= '\"%s\"'::regclass AND attnum > 0 AND NOT attisdropped",
                 b->table);
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                result_err(conn, res, errstr, errstr_size);
                PQclear(res);
                return -1;
        }
        for (i = 0; ok && i < b->ncols; i++) {
                unsigned want = 0, got = 0;

                for (k = 0; k < sizeof(col_types) / sizeof(col_types[0]); k++)
                        if (col_types[k].code == b->types[i])
                                want = col_types[k].oid;
                for (r = 0; r < PQntuples(res); r++)
                        if (!strcmp(PQgetvalue(res, r, 0), b->columns[i]))
                                got = (unsigned)strtoul(PQgetvalue(res, r, 1),
                                                        NULL, 10);
                /* varchar's binary form is text's. */
                if (got != want && !(want == 25 && got == 1043)) {
                        set_err(errstr, errstr_size,
                                "%s.%s: the batch writes %s, the column's "
                                "type (oid %u) is not that",
                                b->table, b->columns[i], type_name(b->types[i]),
                                got);
                        ok = 0;
                }
        }
        PQclear(res);
        if (ok)
                b->types_checked = 1;
        return ok ? 0 : -1;
}

void rs_pg_batch_ts(rs_pg_batch_t *b, int64_t ms) {
        char tmp[64];

        if (b->types) {
                /* Unsigned: a time near the ends of int64 wraps rather
                 * than overflowing (undefined); no validated input comes
                 * within a thousand times of them. */
                bin_fixed(b, 'z', (uint64_t)ms * 1000u - (uint64_t)PG_EPOCH_US,
                          8);
                return;
        }
        rs_pg_timestamp(ms, tmp, sizeof(tmp));
        rs_pg_batch_str(b, tmp);
}

size_t rs_pg_batch_offset(const rs_pg_batch_t *b) {
        /* A typed row's first value follows its field count. */
        return b->len + (b->types && b->row_vals == 0 ? 2 : 0);
}

void rs_pg_batch_copy_values(rs_pg_batch_t *b, const rs_pg_batch_t *src,
                             size_t from, size_t to, size_t ncols) {
        if (b->types || src->types) {
                size_t at;

                /* Fields carry their lengths: copied as they are, between
                 * batches of one kind. */
                if (!b->types || !src->types || ncols == 0 || from > to ||
                    b->row_vals + ncols > b->ncols)
                        goto bad;
                if ((at = bin_begin(b, 0, to - from)) == (size_t)-1)
                        return;
                memcpy(b->buf + at - 4, src->buf + from, to - from);
                b->len = at - 4 + (to - from);
                b->row_vals += ncols - 1;
                return;
        bad:
                b->row_vals += ncols ? ncols : 1;
                b->row_oom = 1;
                return;
        }
        /* A raw tab is always a separator (a tab in a value is escaped). */
        if (from < to && src->buf[from] == '\t')
                from++;
        if (ncols == 0 || from > to || value_begin(b, to - from) == -1)
                return;
        /* After value_begin(): it may have moved b's buffer, src's if the
         * same. */
        memcpy(b->buf + b->len, src->buf + from, to - from);
        b->len += to - from;
        b->row_vals += ncols - 1;
}

void rs_pg_batch_str(rs_pg_batch_t *b, const char *s) {
        const unsigned char *p = (const unsigned char *)s;
        char                *out;

        if (b->types) {
                if (s)
                        bin_str(b, s);
                else
                        bin_null(b, 't');
                return;
        }
        if (!s) {
                rs_pg_batch_null(b);
                return;
        }
        /* Worst case: every byte becomes U+FFFD (3 bytes). */
        if (value_begin(b, strlen(s) * 3) == -1)
                return;
        out = b->buf + b->len;
        while (*p) {
                const unsigned char *run = p;

                /* Most text needs nothing done: copy it a run at a time. */
                while (*p >= 0x20 && *p < 0x80 && *p != '\\')
                        p++;
                if (p > run) {
                        memcpy(out, run, (size_t)(p - run));
                        out += p - run;
                        continue;
                }
                if (*p < 0x80) {
                        switch (*p) {
                        case '\\':
                                *out++ = '\\';
                                *out++ = '\\';
                                break;
                        case '\t':
                                *out++ = '\\';
                                *out++ = 't';
                                break;
                        case '\n':
                                *out++ = '\\';
                                *out++ = 'n';
                                break;
                        case '\r':
                                *out++ = '\\';
                                *out++ = 'r';
                                break;
                        default:
                                *out++ = (char)*p;
                        }
                        p++;
                } else {
                        out = copy_utf8_char(&p, out);
                }
        }
        b->len = (size_t)(out - b->buf);
}

static void add_text(rs_pg_batch_t *b, const char *text, size_t len) {
        if (value_begin(b, len) == -1)
                return;
        memcpy(b->buf + b->len, text, len);
        b->len += len;
}

void rs_pg_batch_i64(rs_pg_batch_t *b, int64_t v) {
        char     tmp[24], *p = tmp + sizeof(tmp);
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

        if (b->types) {
                bin_fixed(b, 'i', (uint64_t)v, 8);
                return;
        }
        do {
                *--p = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                *--p = '-';
        add_text(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/**
 * @brief Formats \p v as a C99 hexadecimal float ("0x1.8p+1"), exact and
 *        cheap. PostgreSQL's float8 input reads it (through strtod); the
 *        decimal %.17g costs a bignum conversion per value, which dominated
 *        the writing of aggregate rows.
 */
static size_t fmt_hex_double(char *out, double v) {
        static const char hex[] = "0123456789abcdef";
        uint64_t          bits, mant;
        char             *p = out;
        int               exp, e, digits = 13, i;

        memcpy(&bits, &v, sizeof(bits));
        if (bits >> 63)
                *p++ = '-';
        exp  = (int)((bits >> 52) & 0x7ff);
        mant = bits & ((UINT64_C(1) << 52) - 1);
        if (exp == 0 && mant == 0) {
                *p++ = '0';
                return (size_t)(p - out);
        }
        e    = exp ? exp - 1023 : -1022; /* subnormals: 0x0.<m>p-1022 */
        *p++ = '0';
        *p++ = 'x';
        *p++ = exp ? '1' : '0';
        if (mant) {
                /* Trailing zero digits are left out. */
                int zeros = __builtin_ctzll(mant) / 4;

                mant >>= 4 * zeros;
                digits -= zeros;
                *p++ = '.';
                for (i = digits - 1; i >= 0; i--) {
                        p[i] = hex[mant & 0xf];
                        mant >>= 4;
                }
                p += digits;
        }
        *p++ = 'p';
        *p++ = e < 0 ? '-' : '+';
        if (e < 0)
                e = -e;
        if (e >= 1000)
                *p++ = (char)('0' + e / 1000);
        if (e >= 100)
                *p++ = (char)('0' + e / 100 % 10);
        if (e >= 10)
                *p++ = (char)('0' + e / 10 % 10);
        *p++ = (char)('0' + e % 10);
        return (size_t)(p - out);
}

/* The longest fmt_hex_double(): "-0x1." 13 digits "p-1022". */
#define HEX_DOUBLE_MAX 24

void rs_pg_batch_f64(rs_pg_batch_t *b, double v) {
        if (b->types) {
                uint64_t bits;

                if (!isfinite(v)) {
                        bin_null(b, 'f');
                        return;
                }
                memcpy(&bits, &v, sizeof(bits));
                bin_fixed(b, 'f', bits, 8);
                return;
        }
        if (!isfinite(v)) {
                rs_pg_batch_null(b);
                return;
        }
        if (value_begin(b, HEX_DOUBLE_MAX) == -1)
                return;
        b->len += fmt_hex_double(b->buf + b->len, v);
}

/* Whether the next \p n values of \p b are floats of a typed row that
 * has begun (its field count written) and there is room for all of them. */
static int f64s_in_place(const rs_pg_batch_t *b, size_t n) {
        size_t i, col = b->row_vals;

        if (!b->types || col == 0 || col + n > b->ncols ||
            b->len + n * (4 + 8) > b->cap)
                return 0;
        for (i = 0; i < n; i++)
                if (b->types[col + i] != 'f')
                        return 0;
        return 1;
}

void rs_pg_batch_f64s(rs_pg_batch_t *b, const double *v, size_t n) {
        char  *out;
        size_t i;

        if (!f64s_in_place(b, n)) {
                for (i = 0; i < n; i++)
                        rs_pg_batch_f64(b, v[i]);
                return;
        }
        out = b->buf + b->len;
        for (i = 0; i < n; i++) {
                uint64_t bits;

                if (!isfinite(v[i])) {
                        put_be(out, UINT32_MAX, 4); /* length -1: NULL */
                        out += 4;
                        continue;
                }
                memcpy(&bits, &v[i], sizeof(bits));
                put_be(out, 8, 4);
                put_be(out + 4, bits, 8);
                out += 4 + 8;
        }
        b->len = (size_t)(out - b->buf);
        b->row_vals += n;
}

void rs_pg_batch_bool(rs_pg_batch_t *b, int v) {
        if (b->types) {
                bin_fixed(b, 'o', v ? 1 : 0, 1);
                return;
        }
        add_text(b, v ? "t" : "f", 1);
}

/* "00" to "ff": two characters per byte from one lookup. */
static const char hex_pairs[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void rs_pg_batch_bytea(rs_pg_batch_t *b, const void *buf, size_t len) {
        const unsigned char *p = buf;
        char                *out;
        size_t               i;

        if (b->types) {
                size_t at;

                if (!buf && len) {
                        bin_null(b, 'b');
                        return;
                }
                if ((at = bin_begin(b, 'b', len)) == (size_t)-1)
                        return;
                if (len)
                        memcpy(b->buf + at, buf, len);
                bin_end(b, at, (int64_t)len);
                return;
        }
        if (!buf && len) {
                rs_pg_batch_null(b);
                return;
        }
        /* bytea's hex input \x..., its backslash escaped for COPY. */
        if (value_begin(b, 3 + 2 * len) == -1)
                return;
        out    = b->buf + b->len;
        *out++ = '\\';
        *out++ = '\\';
        *out++ = 'x';
        for (i = 0; i < len; i++, out += 2)
                memcpy(out, hex_pairs + 2 * p[i], 2);
        b->len = (size_t)(out - b->buf);
}

void rs_pg_batch_null(rs_pg_batch_t *b) {
        if (b->types) {
                bin_null(b, 0);
                return;
        }
        add_text(b, "\\N", 2);
}

int rs_pg_batch_row_end(rs_pg_batch_t *b) {
        if (b->row_vals != b->ncols || b->row_oom || reserve(b, 1) == -1) {
                b->len      = b->row_start;
                b->row_vals = 0;
                b->row_oom  = 0;
                return -1;
        }
        if (!b->types)
                b->buf[b->len++] = '\n';
        b->row_start = b->len;
        b->row_vals  = 0;
        b->rows++;
        return 0;
}

size_t rs_pg_batch_rows(const rs_pg_batch_t *b) {
        return b->rows;
}

void rs_pg_batch_clear(rs_pg_batch_t *b) {
        b->len       = 0;
        b->rows      = 0;
        b->row_start = 0;
        b->row_vals  = 0;
        b->row_oom   = 0;
}

int rs_pg_batch_flush(rs_pg_t *pg, rs_pg_batch_t *b, char *errstr,
                      size_t errstr_size) {
        PGconn   *conn;
        PGresult *res;
        size_t    off;
        int       r = -1;

        if (b->rows == 0)
                return 0;
        if (b->bad_value[0]) {
                set_err(errstr, errstr_size, "%s: %s", b->table, b->bad_value);
                return -1;
        }
        if (need_conn(pg, errstr, errstr_size) == -1)
                return -1;
        conn = pg->conn;
        if (b->types && check_types(conn, b, errstr, errstr_size) == -1)
                goto out;

        res = PQexec(conn, b->flush_sql);
        if (PQresultStatus(res) != PGRES_COPY_IN) {
                result_err(conn, res, errstr, errstr_size);
                PQclear(res);
                goto out;
        }
        PQclear(res);

        if (b->types && PQputCopyData(conn, copy_bin_header,
                                      (int)sizeof(copy_bin_header)) != 1) {
                set_err(errstr, errstr_size, "COPY %s: %s", b->table,
                        PQerrorMessage(conn));
                goto drain;
        }
        /* Only complete rows: an open row stays in the buffer. */
        for (off = 0; off < b->row_start; off += COPY_CHUNK) {
                size_t n = b->row_start - off;

                if (n > COPY_CHUNK)
                        n = COPY_CHUNK;
                if (PQputCopyData(conn, b->buf + off, (int)n) != 1) {
                        set_err(errstr, errstr_size, "COPY %s: %s", b->table,
                                PQerrorMessage(conn));
                        goto drain;
                }
        }
        if (b->types && PQputCopyData(conn, copy_bin_trailer,
                                      (int)sizeof(copy_bin_trailer)) != 1) {
                set_err(errstr, errstr_size, "COPY %s: %s", b->table,
                        PQerrorMessage(conn));
                goto drain;
        }
        if (PQputCopyEnd(conn, NULL) != 1) {
                set_err(errstr, errstr_size, "COPY %s: %s", b->table,
                        PQerrorMessage(conn));
                goto drain;
        }
        r = 0;

drain:
        /* The results of COPY, INSERT and TRUNCATE, or the first error
         * (the server skips the rest of the string after it). */
        while ((res = PQgetResult(conn))) {
                ExecStatusType st = PQresultStatus(res);

                if (st == PGRES_COPY_IN) {
                        /* Still in COPY after a failed send: abort it. */
                        PQputCopyEnd(conn, "aborted by client");
                } else if (st != PGRES_COMMAND_OK && r == 0) {
                        result_err(conn, res, errstr, errstr_size);
                        r = -1;
                }
                PQclear(res);
                if (PQstatus(conn) != CONNECTION_OK)
                        break;
        }
out:
        if (r == -1)
                check_broken(pg);
        return r;
}

/*
 * Input positions.
 */

int rs_pg_positions_load(rs_pg_t *pg, const char *group, const char *topic,
                         rs_pg_position_t *pos, size_t cnt, char *errstr,
                         size_t errstr_size) {
        sbuf_t      arr = {0};
        PGresult   *res = NULL;
        const char *params[3];
        size_t      i;
        int         row, r = -1;

        for (i = 0; i < cnt; i++)
                pos[i].found = 0;
        if (cnt == 0)
                return 0;

        sb_add(&arr, "{");
        for (i = 0; i < cnt; i++)
                sb_add(&arr, "%s%" PRId32, i ? "," : "", pos[i].partition);
        sb_add(&arr, "}");
        if (arr.oom) {
                set_err(errstr, errstr_size, "out of memory");
                goto out;
        }
        params[0] = group;
        params[1] = topic;
        params[2] = arr.s;
        res       = rs_pg_query(pg,
                                "SELECT partition, resume_offset, commit_offset, "
                                      "closed_until_ms, watermark_ms "
                                      "FROM stream_positions "
                                      "WHERE consumer_group = $1 AND topic = $2 "
                                      "AND partition = ANY($3::int[])",
                                3, params, errstr, errstr_size);
        if (!res)
                goto out;
        for (row = 0; row < PQntuples(res); row++) {
                int32_t part =
                    (int32_t)strtol(PQgetvalue(res, row, 0), NULL, 10);

                for (i = 0; i < cnt; i++) {
                        if (pos[i].partition != part)
                                continue;
                        pos[i].resume_offset =
                            strtoll(PQgetvalue(res, row, 1), NULL, 10);
                        pos[i].commit_offset =
                            strtoll(PQgetvalue(res, row, 2), NULL, 10);
                        pos[i].closed_until_ms =
                            strtoll(PQgetvalue(res, row, 3), NULL, 10);
                        pos[i].watermark_ms =
                            strtoll(PQgetvalue(res, row, 4), NULL, 10);
                        pos[i].found = 1;
                }
        }
        r = 0;
out:
        PQclear(res);
        free(arr.s);
        return r;
}

int rs_pg_position_store(rs_pg_t *pg, const char *group, const char *topic,
                         const rs_pg_position_t *pos, char *errstr,
                         size_t errstr_size) {
        char        num[5][24];
        const char *params[7];
        PGresult   *res;

        snprintf(num[0], sizeof(num[0]), "%" PRId32, pos->partition);
        snprintf(num[1], sizeof(num[1]), "%" PRId64, pos->resume_offset);
        snprintf(num[2], sizeof(num[2]), "%" PRId64, pos->commit_offset);
        snprintf(num[3], sizeof(num[3]), "%" PRId64, pos->closed_until_ms);
        snprintf(num[4], sizeof(num[4]), "%" PRId64, pos->watermark_ms);
        params[0] = group;
        params[1] = topic;
        params[2] = num[0];
        params[3] = num[1];
        params[4] = num[2];
        params[5] = num[3];
        params[6] = num[4];
        /* Equal commit offsets do update: a window can close on idle time
         * without a new event. */
        res = rs_pg_query(
            pg,
            "INSERT INTO stream_positions (consumer_group, topic, partition, "
            "resume_offset, commit_offset, closed_until_ms, watermark_ms) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) "
            "ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET "
            "resume_offset = EXCLUDED.resume_offset, "
            "commit_offset = EXCLUDED.commit_offset, "
            "closed_until_ms = EXCLUDED.closed_until_ms, "
            "watermark_ms = EXCLUDED.watermark_ms, updated_at = now() "
            "WHERE stream_positions.commit_offset <= EXCLUDED.commit_offset",
            7, params, errstr, errstr_size);
        if (!res)
                return -1;
        PQclear(res);
        return 0;
}

/*
 * Migrations.
 */

/* NNNN_<name>.sql, with name of [A-Za-z0-9_-]+ */
static int migration_name_ok(const char *name) {
        size_t len = strlen(name), i;

        if (len < 4 + 1 + 1 + 4 || strcmp(name + len - 4, ".sql"))
                return 0;
        for (i = 0; i < 4; i++)
                if (name[i] < '0' || name[i] > '9')
                        return 0;
        if (name[4] != '_')
                return 0;
        for (i = 5; i < len - 4; i++) {
                char c = name[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return 0;
        }
        return 1;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migration file names of dir, sorted; caller frees each and the
 * array. */
static char **list_migrations(const char *dir, size_t *cntp, char *errstr,
                              size_t errstr_size) {
        DIR           *d;
        struct dirent *de;
        char         **names = NULL;
        size_t         cnt = 0, cap = 0, i;

        *cntp = 0;
        if (!(d = opendir(dir))) {
                set_err(errstr, errstr_size, "%s: %s", dir, strerror(errno));
                return NULL;
        }
        while ((de = readdir(d))) {
                if (!migration_name_ok(de->d_name))
                        continue;
                if (cnt == cap) {
                        char **n;

                        cap = cap ? cap * 2 : 16;
                        n   = realloc(names, cap * sizeof(*names));
                        if (!n)
                                goto oom;
                        names = n;
                }
                if (!(names[cnt] = strdup(de->d_name)))
                        goto oom;
                cnt++;
        }
        closedir(d);
        qsort(names, cnt, sizeof(*names), cmp_str);
        for (i = 1; i < cnt; i++) {
                if (!strncmp(names[i - 1], names[i], 4)) {
                        set_err(errstr, errstr_size,
                                "%s: %s and %s have the same version", dir,
                                names[i - 1], names[i]);
                        goto fail;
                }
        }
        *cntp = cnt;
        if (!names) /* an empty folder is not an error */
                names = calloc(1, sizeof(*names));
        return names;

oom:
        closedir(d);
        set_err(errstr, errstr_size, "out of memory");
fail:
        for (i = 0; i < cnt; i++)
                free(names[i]);
        free(names);
        return NULL;
}

static char *read_file(const char *path, char *errstr, size_t errstr_size) {
        FILE  *fp;
        char  *buf = NULL;
        size_t len = 0, cap = 0, n;

        if (!(fp = fopen(path, "rb"))) {
                set_err(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return NULL;
        }
        do {
                if (cap - len < 4096 + 1) {
                        char *nb;

                        cap = cap ? cap * 2 : 16384;
                        if (!(nb = realloc(buf, cap))) {
                                set_err(errstr, errstr_size,
                                        "%s: out of memory", path);
                                goto fail;
                        }
                        buf = nb;
                }
                n = fread(buf + len, 1, cap - len - 1, fp);
                len += n;
        } while (n > 0);
        if (ferror(fp)) {
                set_err(errstr, errstr_size, "%s: read error", path);
                goto fail;
        }
        fclose(fp);
        buf[len] = '\0';
        return buf;

fail:
        fclose(fp);
        free(buf);
        return NULL;
}

/* Line of the 1-based character position \p pos in \p sql (UTF-8). */
static int line_of(const char *sql, long pos) {
        int  line  = 1;
        long chars = 0;

        for (; *sql; sql++) {
                if (((unsigned char)*sql & 0xc0) != 0x80 && ++chars >= pos)
                        break;
                if (*sql == '\n')
                        line++;
        }
        return line;
}

/**
 * @brief Applies one migration in its own transaction, unless another
 *        process recorded it meanwhile.
 * @returns 1 if applied, 0 if already there, -1 on error.
 */
static int apply_one(rs_pg_t *pg, const char *dir, const char *name,
                     char *errstr, size_t errstr_size) {
        char        path[4096];
        char        version[8];
        char       *sql = NULL;
        const char *params[2];
        PGresult   *res = NULL;
        char        err[1024];
        int         r = -1;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(version, sizeof(version), "%d", atoi(name));
        if (!(sql = read_file(path, errstr, errstr_size)))
                return -1;

        if (rs_pg_begin(pg, err, sizeof(err)) == -1 ||
            rs_pg_exec(pg,
                       "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")",
                       err, sizeof(err)) == -1)
                goto fail;
        params[0] = version;
        params[1] = name;
        res       = rs_pg_query(pg,
                                "SELECT 1 FROM schema_migrations WHERE version = $1",
                                1, params, err, sizeof(err));
        if (!res)
                goto fail;
        if (PQntuples(res) > 0) {
                r = 0;
                goto out;
        }
        PQclear(res);

        /* The whole file in one simple query: it may hold many statements. */
        res = PQexec(pg->conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
                const char *pos =
                    PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);

                result_err(pg->conn, res, err, sizeof(err));
                if (pos)
                        set_err(errstr, errstr_size, "%s: %s (line %d)", path,
                                err, line_of(sql, atol(pos)));
                else
                        set_err(errstr, errstr_size, "%s: %s", path, err);
                PQclear(res);
                res = NULL;
                check_broken(pg);
                goto out;
        }
        PQclear(res);
        res = rs_pg_query(pg,
                          "INSERT INTO schema_migrations (version, name) "
                          "VALUES ($1, $2)",
                          2, params, err, sizeof(err));
        if (!res || rs_pg_commit(pg, err, sizeof(err)) == -1)
                goto fail;
        rs_log_info("pg: applied migration %s", name);
        r = 1;
        goto out;

fail:
        set_err(errstr, errstr_size, "%s: %s", path, err);
out:
        PQclear(res);
        if (r != 1)
                rs_pg_rollback(pg);
        free(sql);
        return r;
}

int rs_pg_migrate(rs_pg_t *pg, const char *dir, int *appliedp, char *errstr,
                  size_t errstr_size) {
        char    **names   = NULL;
        size_t    cnt     = 0, i;
        int       applied = 0, r = -1;
        PGresult *res = NULL;
        char      err[1024];

        if (appliedp)
                *appliedp = 0;
        if (need_conn(pg, errstr, errstr_size) == -1)
                return -1;
        if (!(names = list_migrations(dir, &cnt, errstr, errstr_size)))
                return -1;

        /* Under the lock too: concurrent CREATE TABLE IF NOT EXISTS of the
         * same table can fail on the catalog's unique index. */
        if (rs_pg_begin(pg, err, sizeof(err)) == -1 ||
            rs_pg_exec(pg,
                       "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK_KEY ")",
                       err, sizeof(err)) == -1 ||
            rs_pg_exec(pg,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "version integer PRIMARY KEY, name text NOT NULL, "
                       "applied_at timestamptz NOT NULL DEFAULT now())",
                       err, sizeof(err)) == -1 ||
            rs_pg_commit(pg, err, sizeof(err)) == -1) {
                set_err(errstr, errstr_size, "schema_migrations: %s", err);
                rs_pg_rollback(pg);
                goto out;
        }

        /* Usually all are applied: look once instead of locking per file. */
        res = rs_pg_query(pg, "SELECT version FROM schema_migrations", 0, NULL,
                          err, sizeof(err));
        if (!res) {
                set_err(errstr, errstr_size, "schema_migrations: %s", err);
                goto out;
        }
        for (i = 0; i < cnt; i++) {
                int one, row, done = 0;

                for (row = 0; row < PQntuples(res) && !done; row++)
                        done = atoi(PQgetvalue(res, row, 0)) == atoi(names[i]);
                if (done)
                        continue;
                one = apply_one(pg, dir, names[i], errstr, errstr_size);

                if (one == -1)
                        goto out;
                applied += one;
        }
        r = 0;
out:
        PQclear(res);
        if (appliedp)
                *appliedp = applied;
        for (i = 0; i < cnt; i++)
                free(names[i]);
        free(names);
        return r;
}

void rs_pg_timestamp(int64_t ms, char *buf, size_t size) {
        time_t    sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
        struct tm tm;

        gmtime_r(&sec, &tm);
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00",
                 (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100,
                 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
                 tm.tm_sec % 100, (int)(ms - (int64_t)sec * 1000) % 1000);
}
