/*
 * pgtmp: a throwaway PostgreSQL server for integration tests (see pgtmp.h).
 *
 * Clean-up does not depend on the test exiting normally. Each server has a
 * watchdog: a process in its own session (so Ctrl-C and ctest's kill of the
 * test's process tree miss it) whose stdin is a pipe that only the test
 * holds, close-on-exec so no other child inherits it. When the test closes
 * the pipe, or dies and the kernel closes it, the watchdog reads end-of-file
 * and runs `pgtmp.sh stop`. A second pipe, held by the watchdog, tells
 * rs_test_pg_stop() when the stop has finished.
 */
#include "pgtmp.h"

#include "rumstream/pg.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PGTMP_SCRIPT RS_SOURCE_DIR "/scripts/pgtmp.sh"

struct rs_test_pg_s {
        char          dir[64];
        char          dsn[256];
        int           ctl_fd;  /* closing it makes the watchdog stop it */
        int           done_fd; /* end-of-file once the watchdog is done */
        rs_test_pg_t *next;
};

static rs_test_pg_t *running;
static pid_t         owner_pid;

static void stop_all_at_exit(void) {
        /* A forked child that calls exit() must not stop its parent's
         * servers. */
        if (getpid() != owner_pid)
                return;
        while (running)
                rs_test_pg_stop(running);
}

/* Appends \p word to the command line \p out, quoted for sh. */
static int add_word(char *out, size_t size, const char *word) {
        size_t      len = strlen(out);
        const char *p;

        if (len + 3 >= size)
                return -1;
        if (len > 0)
                out[len++] = ' ';
        out[len++] = '\'';
        for (p = word; *p; p++) {
                const char *piece = *p == '\'' ? "'\\''" : NULL;
                size_t      n     = piece ? strlen(piece) : 1;

                if (len + n + 2 >= size)
                        return -1;
                if (piece)
                        memcpy(out + len, piece, n);
                else
                        out[len] = *p;
                len += n;
        }
        out[len++] = '\'';
        out[len]   = '\0';
        return 0;
}

static int spawn_watchdog(rs_test_pg_t *tpg, char *errstr, size_t errstr_size) {
        int   ctl[2] = {-1, -1}, done[2] = {-1, -1};
        pid_t pid;
        int   status;

        if (pipe2(ctl, O_CLOEXEC) == -1 || pipe2(done, O_CLOEXEC) == -1) {
                snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
                goto fail;
        }
        pid = fork();
        if (pid == -1) {
                snprintf(errstr, errstr_size, "fork: %s", strerror(errno));
                goto fail;
        }
        if (pid == 0) {
                /* Only async-signal-safe calls: the test may have threads.
                 * The double fork re-parents the watchdog to init, out of
                 * the test's process tree. */
                pid_t gc = fork();

                if (gc != 0)
                        _exit(gc == -1 ? 1 : 0);
                setsid();
                if (dup2(ctl[0], 0) == -1 || dup2(done[1], 3) == -1)
                        _exit(1);
                execl("/bin/bash", "bash", "-c",
                      "cat >/dev/null; exec bash \"$0\" stop \"$1\" >&2",
                      PGTMP_SCRIPT, tpg->dir, (char *)NULL);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
                ;
        close(ctl[0]);
        close(done[1]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                close(ctl[1]);
                close(done[0]);
                snprintf(errstr, errstr_size, "could not start the watchdog");
                return -1;
        }
        tpg->ctl_fd  = ctl[1];
        tpg->done_fd = done[0];
        return 0;

fail:
        if (ctl[0] != -1) {
                close(ctl[0]);
                close(ctl[1]);
        }
        if (done[0] != -1) {
                close(done[0]);
                close(done[1]);
        }
        return -1;
}

rs_test_pg_t *rs_test_pg_start(char *errstr, size_t errstr_size) {
        rs_test_pg_t *tpg;
        char          cmd[1024] = "";
        FILE         *fp;
        int           status;
        size_t        len;

        if (!(tpg = calloc(1, sizeof(*tpg)))) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        tpg->ctl_fd = tpg->done_fd = -1;
        snprintf(tpg->dir, sizeof(tpg->dir), "/tmp/rs-pg-XXXXXX");
        if (!mkdtemp(tpg->dir)) {
                snprintf(errstr, errstr_size, "mkdtemp: %s", strerror(errno));
                free(tpg);
                return NULL;
        }
        if (spawn_watchdog(tpg, errstr, errstr_size) == -1) {
                rmdir(tpg->dir);
                free(tpg);
                return NULL;
        }
        if (!owner_pid) {
                owner_pid = getpid();
                atexit(stop_all_at_exit);
        }
        tpg->next = running;
        running   = tpg;

        if (add_word(cmd, sizeof(cmd), "bash") == -1 ||
            add_word(cmd, sizeof(cmd), PGTMP_SCRIPT) == -1 ||
            add_word(cmd, sizeof(cmd), "start") == -1 ||
            add_word(cmd, sizeof(cmd), tpg->dir) == -1) {
                snprintf(errstr, errstr_size, "path too long: %s",
                         PGTMP_SCRIPT);
                goto fail;
        }
        fflush(NULL);
        if (!(fp = popen(cmd, "r"))) {
                snprintf(errstr, errstr_size, "popen %s: %s", cmd,
                         strerror(errno));
                goto fail;
        }
        if (!fgets(tpg->dsn, sizeof(tpg->dsn), fp))
                tpg->dsn[0] = '\0';
        status = pclose(fp);
        len    = strlen(tpg->dsn);
        while (len > 0 && tpg->dsn[len - 1] == '\n')
                tpg->dsn[--len] = '\0';
        if (status != 0 || len == 0) {
                snprintf(errstr, errstr_size,
                         "%s failed (status %d); its messages are above", cmd,
                         status);
                goto fail;
        }
        return tpg;

fail:
        rs_test_pg_stop(tpg);
        return NULL;
}

const char *rs_test_pg_dsn(const rs_test_pg_t *tpg) {
        return tpg->dsn;
}

void rs_test_pg_stop(rs_test_pg_t *tpg) {
        rs_test_pg_t **pp;
        char           buf[256];

        if (!tpg)
                return;
        for (pp = &running; *pp; pp = &(*pp)->next) {
                if (*pp == tpg) {
                        *pp = tpg->next;
                        break;
                }
        }
        close(tpg->ctl_fd);
        /* Wait for the watchdog (and the stop script it runs) to finish. */
        for (;;) {
                ssize_t n = read(tpg->done_fd, buf, sizeof(buf));

                if (n == 0 || (n == -1 && errno != EINTR))
                        break;
        }
        close(tpg->done_fd);
        free(tpg);
}

int rs_test_pg_migrate(rs_test_pg_t *tpg, char *errstr, size_t errstr_size) {
        rs_pg_t *pg;
        int      applied = -1;

        if (!(pg = rs_pg_new(tpg->dsn, errstr, errstr_size)))
                return -1;
        if (rs_pg_connect(pg, 30000, errstr, errstr_size) == -1 ||
            rs_pg_migrate(pg, RS_PG_MIGRATIONS_DIR, &applied, errstr,
                          errstr_size) == -1)
                applied = -1;
        rs_pg_destroy(pg);
        return applied;
}

/* The first value of the only row of \p sql, or NULL (error printed). */
static PGresult *scalar(const char *dsn, const char *sql, PGconn **connp) {
        PGconn   *conn = PQconnectdb(dsn);
        PGresult *res  = NULL;

        *connp = conn;
        if (PQstatus(conn) != CONNECTION_OK) {
                fprintf(stderr, "pgtmp: connect: %s", PQerrorMessage(conn));
                return NULL;
        }
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                fprintf(stderr, "pgtmp: %s: %s", sql,
                        PQresultErrorMessage(res));
                goto fail;
        }
        if (PQntuples(res) != 1 || PQnfields(res) < 1) {
                fprintf(stderr, "pgtmp: %s: %d rows, %d columns (want 1)\n",
                        sql, PQntuples(res), PQnfields(res));
                goto fail;
        }
        return res;

fail:
        PQclear(res);
        return NULL;
}

long long rs_test_pg_scalar_ll(const char *dsn, const char *sql) {
        PGconn   *conn;
        PGresult *res = scalar(dsn, sql, &conn);
        long long v   = -1;
        char     *end;

        if (!res)
                goto out;
        if (PQgetisnull(res, 0, 0)) {
                fprintf(stderr, "pgtmp: %s: NULL, want an integer\n", sql);
                goto out;
        }
        errno = 0;
        v     = strtoll(PQgetvalue(res, 0, 0), &end, 10);
        if (errno || *end) {
                fprintf(stderr, "pgtmp: %s: \"%s\" is not an integer\n", sql,
                        PQgetvalue(res, 0, 0));
                v = -1;
        }
out:
        PQclear(res);
        PQfinish(conn);
        return v;
}

char *rs_test_pg_scalar_str(const char *dsn, const char *sql) {
        PGconn   *conn;
        PGresult *res = scalar(dsn, sql, &conn);
        char     *s   = NULL;

        if (res && !PQgetisnull(res, 0, 0)) {
                s = strdup(PQgetvalue(res, 0, 0));
                if (!s)
                        fprintf(stderr, "pgtmp: out of memory\n");
        }
        PQclear(res);
        PQfinish(conn);
        return s;
}
