/*
 * pg: the PostgreSQL sink shared by every processor.
 *
 * - A connection that reconnects with capped exponential backoff; every
 *   failed call marks it broken so the next rs_pg_connect() starts over.
 * - Batched idempotent upserts: rows are buffered in COPY text format, sent
 *   with COPY into a per-session temporary staging table and moved with one
 *   INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE. One round trip per
 *   table and batch, whatever the number of rows.
 * - Input positions (DESIGN.md "Delivery guarantees"): a processor stores,
 *   in the same transaction as the rows derived from its input, where to
 *   resume each partition. A stored position never moves backwards.
 * - Numbered migrations applied in order, once, under an advisory lock.
 */
#ifndef RS_PG_H
#define RS_PG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

typedef struct rs_pg_s rs_pg_t;

/** @brief A sink for \p dsn (libpq connection string); does not connect yet.
 *  Caller frees with rs_pg_destroy(). */
rs_pg_t *rs_pg_new(const char *dsn, char *errstr, size_t errstr_size);
void     rs_pg_destroy(rs_pg_t *pg);

/** @brief Makes rs_pg_connect() give up early once *stop is non-zero. */
void rs_pg_set_stop_flag(rs_pg_t *pg, volatile sig_atomic_t *stop);

/**
 * @brief Ensures a working connection, retrying with backoff (100 ms
 *        doubling to 5 s) for at most \p max_wait_ms (-1: until stopped).
 * @returns 0 or -1 with the last libpq error in errstr.
 */
int rs_pg_connect(rs_pg_t *pg, int max_wait_ms, char *errstr,
                  size_t errstr_size);

/** @brief The live connection, or NULL if not connected. Borrowed. */
PGconn *rs_pg_conn(rs_pg_t *pg);

/** @brief Counts connections made; staging tables and prepared statements
 *         are per connection, so callers compare it to know when to redo
 *         per-session setup. */
uint64_t rs_pg_session(const rs_pg_t *pg);

/** @brief Runs \p sql (no parameters, no rows expected).
 *  @returns 0 or -1 with errstr set. */
int rs_pg_exec(rs_pg_t *pg, const char *sql, char *errstr, size_t errstr_size);

/**
 * @brief Runs \p sql with text parameters and returns its result.
 * @returns a PGresult with status COMMAND_OK or TUPLES_OK (caller PQclear()s
 *          it) or NULL with errstr set.
 */
PGresult *rs_pg_query(rs_pg_t *pg, const char *sql, int nparams,
                      const char *const *values, char *errstr,
                      size_t errstr_size);

int rs_pg_begin(rs_pg_t *pg, char *errstr, size_t errstr_size);
int rs_pg_commit(rs_pg_t *pg, char *errstr, size_t errstr_size);
/** @brief Rolls back if a transaction is open; never fails loudly. */
void rs_pg_rollback(rs_pg_t *pg);

/*
 * Batched upserts.
 */
typedef struct rs_pg_batch_s rs_pg_batch_t;

/**
 * @brief A batch for \p table with \p ncols columns; the first \p nkey of
 *        them are the conflict key (a unique index of the table). Names are
 *        copied. Caller frees with rs_pg_batch_destroy().
 */
rs_pg_batch_t *rs_pg_batch_new(const char *table, const char *const *columns,
                               size_t ncols, size_t nkey);
void           rs_pg_batch_destroy(rs_pg_batch_t *b);

/**
 * @brief rs_pg_batch_new() for columns of known types, one letter each in
 *        \p types: 't' text, 'i' bigint, 'f' double precision, 'b' bytea,
 *        'z' timestamptz, 'o' boolean. Its rows travel in COPY's binary
 *        format: nothing is formatted or escaped. Each value must be
 *        appended with the function of its column's type (rs_pg_batch_ts
 *        for timestamps, rs_pg_batch_null for any); a value of another
 *        type drops its row and fails every later flush, naming the
 *        column, and so does a table whose types differ (checked on the
 *        first flush). rs_pg_batch_copy_values() copies only between
 *        typed batches.
 * @returns NULL on bad arguments or allocation failure.
 */
rs_pg_batch_t *rs_pg_batch_new_typed(const char        *table,
                                     const char *const *columns,
                                     const char *types, size_t ncols,
                                     size_t nkey);

/* Append one column value to the current row, in column order. */
void rs_pg_batch_str(rs_pg_batch_t *b, const char *s); /* NULL -> NULL */
/** @brief Writes \p ms (since the epoch) as a timestamptz literal
 *         "YYYY-MM-DD hh:mm:ss.mmm+00" into \p buf (at least 32 bytes). */
void rs_pg_timestamp(int64_t ms, char *buf, size_t size);
void rs_pg_batch_i64(rs_pg_batch_t *b, int64_t v);
/** @brief A timestamptz of \p ms since the epoch (the literal of
 *         rs_pg_timestamp() in a batch of text rows). */
void rs_pg_batch_ts(rs_pg_batch_t *b, int64_t ms);
void rs_pg_batch_f64(rs_pg_batch_t *b, double v); /* NAN/inf -> NULL */
/** @brief The \p n values \p v, as n calls of rs_pg_batch_f64() would
 *         append them, in one call (a typed batch checks and reserves
 *         once for all of them). */
void rs_pg_batch_f64s(rs_pg_batch_t *b, const double *v, size_t n);
void rs_pg_batch_bool(rs_pg_batch_t *b, int v);
void rs_pg_batch_bytea(rs_pg_batch_t *b, const void *buf, size_t len);
void rs_pg_batch_null(rs_pg_batch_t *b);
/** @brief Where the next value of the open row begins, to name a run of
 *         values for rs_pg_batch_copy_values(). */
size_t rs_pg_batch_offset(const rs_pg_batch_t *b);

/**
 * @brief Appends to the open row of \p b the \p ncols values \p src (may be
 *        \p b) received between offsets \p from and \p to, taken with
 *        rs_pg_batch_offset() before the first and after the last of them
 *        (values of one row, still in the buffer). They are copied as
 *        formatted: key columns that several rows share are escaped once.
 */
void rs_pg_batch_copy_values(rs_pg_batch_t *b, const rs_pg_batch_t *src,
                             size_t from, size_t to, size_t ncols);

/** @brief Ends the row. @returns 0, or -1 (and drops the row) if it did not
 *         have exactly ncols values. */
int rs_pg_batch_row_end(rs_pg_batch_t *b);

size_t rs_pg_batch_rows(const rs_pg_batch_t *b);

/**
 * @brief Upserts the buffered rows, inside the caller's transaction. Rows in
 *        one flush must have distinct keys. The buffer is kept: call
 *        rs_pg_batch_clear() once the transaction committed, so a failed
 *        transaction can be retried with the same rows.
 * @returns 0 or -1 with errstr set.
 */
int  rs_pg_batch_flush(rs_pg_t *pg, rs_pg_batch_t *b, char *errstr,
                       size_t errstr_size);
void rs_pg_batch_clear(rs_pg_batch_t *b);

/*
 * Input positions (table stream_positions).
 */
typedef struct rs_pg_position_s {
        int32_t partition;
        int64_t resume_offset;   /**< replay from here after a restart */
        int64_t commit_offset;   /**< next offset after the last processed */
        int64_t closed_until_ms; /**< windows ending at or before: written */
        int64_t watermark_ms;
        int     found; /**< set by rs_pg_positions_load() */
} rs_pg_position_t;

/** @brief Loads the stored positions of pos[i].partition for every i;
 *         entries with none stored get found = 0.
 *  @returns 0 or -1 with errstr set. */
int rs_pg_positions_load(rs_pg_t *pg, const char *group, const char *topic,
                         rs_pg_position_t *pos, size_t cnt, char *errstr,
                         size_t errstr_size);

/** @brief Upserts one position inside the caller's transaction; a stored
 *         position with a higher commit_offset is left as it is.
 *  @returns 0 or -1 with errstr set. */
int rs_pg_position_store(rs_pg_t *pg, const char *group, const char *topic,
                         const rs_pg_position_t *pos, char *errstr,
                         size_t errstr_size);

/*
 * Migrations.
 */

/**
 * @brief Applies the files NNNN_<name>.sql of \p dir in order, each once
 *        (recorded in schema_migrations) and each in its own transaction,
 *        under an advisory lock so concurrent callers do not race.
 * @param appliedp if not NULL, set to the number applied now.
 * @returns 0 or -1 with the file and PostgreSQL's message in errstr.
 */
int rs_pg_migrate(rs_pg_t *pg, const char *dir, int *appliedp, char *errstr,
                  size_t errstr_size);

/** @brief Default migrations folder (the source tree's migrations/). */
#define RS_PG_MIGRATIONS_DIR RS_SOURCE_DIR "/migrations"

#endif
