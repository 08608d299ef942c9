/*
 * pgtmp: a throwaway PostgreSQL server for integration tests.
 *
 * rs_test_pg_start() runs scripts/pgtmp.sh in a fresh directory under /tmp
 * and returns the server's DSN. The server is stopped and its directory
 * removed by rs_test_pg_stop(), at exit for servers still running, and also
 * when the test process dies without exiting (crash, sanitizer abort,
 * SIGKILL from a ctest timeout): a watchdog process, detached from the
 * test, waits for a pipe that only the test holds open and stops the server
 * once it sees end-of-file.
 */
#ifndef RS_TEST_PGTMP_H
#define RS_TEST_PGTMP_H

#include <stddef.h>

typedef struct rs_test_pg_s rs_test_pg_t;

/**
 * @brief Starts a server with an empty database `rumstream`.
 * @returns a handle (stop with rs_test_pg_stop()) or NULL with errstr set.
 */
rs_test_pg_t *rs_test_pg_start(char *errstr, size_t errstr_size);

/** @brief The DSN of the server's `rumstream` database. Owned by \p tpg. */
const char *rs_test_pg_dsn(const rs_test_pg_t *tpg);

/** @brief Stops the server, removes its directory and frees \p tpg;
 *         waits until that is done. NULL-safe. */
void rs_test_pg_stop(rs_test_pg_t *tpg);

/**
 * @brief Applies the source tree's migrations (RS_PG_MIGRATIONS_DIR).
 * @returns the number applied now (>= 0) or -1 with errstr set.
 */
int rs_test_pg_migrate(rs_test_pg_t *tpg, char *errstr, size_t errstr_size);

/**
 * @brief Runs \p sql on a new connection to \p dsn and returns the integer
 *        in the first column of its only row.
 * @returns the value, or -1 on error (the error is printed on stderr).
 */
long long rs_test_pg_scalar_ll(const char *dsn, const char *sql);

/**
 * @brief As rs_test_pg_scalar_ll() for text.
 * @returns the value (caller frees), or NULL on error (printed) or if the
 *          value is SQL NULL (not printed).
 */
char *rs_test_pg_scalar_str(const char *dsn, const char *sql);

#endif
