/*
 * itest: helpers for integration tests: an embedded Kafka, processes of
 * the built binaries, waiting on conditions (never on fixed sleeps), and
 * reading topics back.
 */
#ifndef RS_ITEST_H
#define RS_ITEST_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "rumstream/event.h"
#include "rumstream/kafka.h"

/** @brief Path of a built binary ("rum-aggregator", "rumctl"). Static. */
const char *rs_it_bin(const char *name);

/**
 * @brief Starts \p argv[0] (a path) with \p argv, extra environment entries
 *        \p env ("K=V", NULL-terminated, may be NULL), stdout and stderr
 *        appended to \p log_path. @returns the pid or -1.
 */
pid_t rs_it_spawn(const char *const *argv, const char *const *env,
                  const char *log_path);

/** @brief Waits up to \p timeout_ms for \p pid to exit.
 *  @returns its exit status (0-255), 128+signal if killed, or -1 on
 *           timeout (the process is then killed). */
int rs_it_wait_exit(pid_t pid, int timeout_ms);

/** @brief Polls \p cond every 20 ms until it returns non-zero or
 *         \p timeout_ms passed. @returns 1 if the condition held, 0 if not.*/
int rs_it_wait_for(int (*cond)(void *opaque), void *opaque, int timeout_ms);

/** @brief Monotonic milliseconds. */
int64_t rs_it_now_ms(void);

/** @brief Produces one RumEvent (Avro framed, key = tenant) and fails the
 *         test process on error. */
void rs_it_produce_event(rs_kafka_producer_t *p, const char *topic,
                         const rs_rum_event_t *ev);

/** @brief Produces one ErrorEvent likewise. */
void rs_it_produce_error(rs_kafka_producer_t *p, const char *topic,
                         const rs_error_event_t *ev);

/** @brief Produces one SyntheticResult likewise. */
void rs_it_produce_synthetic(rs_kafka_producer_t *p, const char *topic,
                             const rs_synthetic_result_t *r);

/** @brief Produces one RumAggregate likewise. */
void rs_it_produce_aggregate(rs_kafka_producer_t *p, const char *topic,
                             const rs_rum_aggregate_t *agg);

/** @brief Produces one ErrorAggregate likewise. */
void rs_it_produce_error_aggregate(rs_kafka_producer_t *p, const char *topic,
                                   const rs_error_aggregate_t *agg);

/** @brief Produces one Issue likewise. */
void rs_it_produce_issue(rs_kafka_producer_t *p, const char *topic,
                         const rs_issue_t *is);

/** @brief Produces raw bytes with \p key. */
void rs_it_produce_raw(rs_kafka_producer_t *p, const char *topic,
                       const char *key, const void *buf, size_t len);

/** A message read back from a topic. */
typedef struct rs_it_msg_s {
        char   *key;
        void   *value;
        size_t  len;
        char    reason[64]; /* rs.reason header, if any */
        char    id[64];     /* rs.id header, if any */
        int32_t partition;
        int64_t offset;
} rs_it_msg_t;

/**
 * @brief Reads every message of \p topic from the beginning to its current
 *        end (waiting up to \p timeout_ms). @returns the count, with a
 *        malloc'd array in *msgsp (free with rs_it_msgs_free()), or -1.
 */
long rs_it_read_topic(const char *brokers, const char *topic,
                      rs_it_msg_t **msgsp, int timeout_ms);
void rs_it_msgs_free(rs_it_msg_t *msgs, long cnt);

/** @brief "<prefix>-<pid>-<counter>": unique names for groups and DBs. */
const char *rs_it_unique(const char *prefix);

/** @brief Prints a failure and exits 1 (for setup steps that cannot go
 *         on). */
void rs_it_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A webhook receiver for the alert-router's tests.
 */

/** A server on 127.0.0.1 (a port the system picks): it answers 503 to its
 *  first refuse_first requests and 200 after, and records the
 *  X-Rumstream-Alert-Id header of each accepted request. Read the fields
 *  under lock. */
typedef struct rs_it_webhook_s {
        int             fd, port;
        pthread_mutex_t lock;
        long            requests;
        long            refuse_first;
        char            ids[256][40];
        int             id_cnt;
} rs_it_webhook_t;

/** @brief Starts \p srv's server thread; dies on failure. The thread runs
 *         until the process ends. */
void rs_it_webhook_start(rs_it_webhook_t *srv, long refuse_first);

#endif

/*
 * Aggregator runs.
 */

/** @brief Starts rum-aggregator against \p brokers and \p dsn in consumer
 *         group \p group, with test-friendly timeouts and \p extra
 *         "--set" values ("name=value", NULL-terminated, may be NULL).
 *         \p until_eof adds --until-eof. @returns the pid. */
pid_t rs_it_start_aggregator(const char *brokers, const char *dsn,
                             const char *group, int until_eof,
                             const char *const *extra, const char *log_path);

/** @brief rs_it_start_aggregator() for the processor binary \p name
 *         ("error-tracker", ...). */
pid_t rs_it_start_processor(const char *name, const char *brokers,
                            const char *dsn, const char *group, int until_eof,
                            const char *const *extra, const char *log_path);

/** @brief "host=... dbname=<db>": \p dsn with its dbname replaced. Static
 *         storage, four calls deep. */
const char *rs_it_dsn_db(const char *dsn, const char *db);

/** @brief Creates database \p db on the server of \p dsn. */
void rs_it_create_db(const char *dsn, const char *db);

/**
 * @brief md5 over every row of \p table in \p order_by order, with the
 *        row count: "<count>:<md5>". Two runs that wrote the same rows have
 *        the same digest. Caller frees.
 */
char *rs_it_table_digest(const char *dsn, const char *table,
                         const char *order_by);

/** @brief One number from \p sql (-1 on error, printed). */
long long rs_it_pg_ll(const char *dsn, const char *sql);

/*
 * Standard traffic for aggregator tests.
 */

/** Event time of the first generated event: 2025-11-20T00:00:00Z. */
#define RS_IT_TRAFFIC_START_MS 1763596800000LL

typedef void (*rs_it_event_cb)(const rs_rum_event_t *ev, void *opaque);

/**
 * @brief Produces \p n generated page views (seed \p seed, \p tenants
 *        tenants, 10 routes each, 30 events per second of event time,
 *        2 s of disorder) to \p topic, calling \p cb (may be NULL) with each
 *        before it is produced. Syncs before returning.
 */
void rs_it_produce_traffic(rs_kafka_producer_t *p, const char *topic,
                           uint64_t seed, int tenants, long n,
                           rs_it_event_cb cb, void *opaque);

/** @brief Digests of the aggregator's result tables in \p dsn, one line
 *         each, comparable between runs ("rum_page_views 123:<md5>\n...").
 *         Caller frees. */
char *rs_it_aggregator_digest(const char *dsn);

/** @brief Digests of the error-tracker's tables, as
 *         rs_it_aggregator_digest(). Caller frees. */
char *rs_it_tracker_digest(const char *dsn);

/** @brief Digests of the synthetic-correlator's tables, as
 *         rs_it_aggregator_digest(). Caller frees. */
char *rs_it_correlator_digest(const char *dsn);

/** @brief Digests of the anomaly-detector's tables (series, states,
 *         issues, issue versions), as rs_it_aggregator_digest(). Caller
 *         frees. */
char *rs_it_anomaly_digest(const char *dsn);

/**
 * @brief Produces generated errors (seed \p seed, \p tenants tenants as
 *        rs_it_produce_traffic() names them, 10 routes each, 0.8 a second
 *        of event time from RS_IT_TRAFFIC_START_MS until \p until_ms): the
 *        first tenant's most frequent bug bursts 20x on /checkout in
 *        minutes 6-11, the second tenant gets a new bug from minute 12.
 *        Syncs before returning. @returns the number produced.
 */
long rs_it_produce_error_traffic(rs_kafka_producer_t *p, const char *topic,
                                 uint64_t seed, int tenants, int64_t until_ms);

/**
 * @brief The crash drill: for each of \p cnt thresholds, starts processor
 *        \p name with --until-eof (rs_it_start_processor()), waits until
 *        the positions it stored add up to the threshold (or it ended), and
 *        kills it with SIGKILL. @returns how many kills landed mid-run.
 */
int rs_it_kill_at_progress(const char *name, const char *brokers,
                           const char *dsn, const char *group,
                           const char *const *extra, const char *log_path,
                           const long long *thresholds, size_t cnt);

/** What a processor's fault runs left behind (rs_it_fault_runs()). */
typedef struct rs_it_faults_s {
        char *replay;  /**< digest after a replay from scratch (malloc'd) */
        char *crash;   /**< digest after the kills and a last run */
        int   kills;   /**< kills that landed mid-run */
        int   resumed; /**< a restart resumed below its commit offset */
        int   replay_status, crash_status; /**< exit statuses, 0 = clean */
} rs_it_faults_t;

/**
 * @brief The two fault runs every processor test makes after its
 *        reference run, with \p settings (NULL-terminated):
 *        - a replay from scratch: consumer group "replay" into
 *          \p dsn_replay, to the end of input;
 *        - crashes: group "crash" into \p dsn_crash, throttled to
 *          \p events_per_sec and committing every 100 ms, killed with
 *          SIGKILL when the stored progress passes each fraction of
 *          \p input in \p kill_at (\p nkill of them), then run to the end.
 *        Logs go to "<prefix>-replay.log" and "<prefix>-crash.log"; \p digest
 *        digests each database. The caller compares with its reference
 *        and frees the digests (rs_it_faults_free()).
 */
void rs_it_fault_runs(const char *proc, const char *brokers,
                      const char *dsn_replay, const char *dsn_crash,
                      const char *const *settings, const char *prefix,
                      long long input, const double *kill_at, size_t nkill,
                      int events_per_sec, char *(*digest)(const char *dsn),
                      rs_it_faults_t *out);
void rs_it_faults_free(rs_it_faults_t *f);

/** The checks of rs_it_fault_runs()' outcome \p f against the reference
 *  digest \p ref: both runs clean and equal to it, at least \p min_kills
 *  kills landed, a restart resumed below its commit offset. Uses the
 *  RS_CHECK macros of rs_test.h, which the test includes. */
#define RS_IT_CHECK_FAULTS(f, ref, min_kills)                                  \
        do {                                                                   \
                RS_CHECK_INT((f).replay_status, 0);                            \
                RS_CHECK_STR((f).replay, (ref));                               \
                RS_CHECK_INT((f).crash_status, 0);                             \
                RS_CHECK_MSG((f).kills >= (min_kills),                         \
                             "only %d kills landed before the end",            \
                             (f).kills);                                       \
                printf("after %d kills:\n%s", (f).kills, (f).crash);           \
                RS_CHECK_STR((f).crash, (ref));                                \
                RS_CHECK_MSG((f).resumed,                                      \
                             "no restart resumed below its commit offset");    \
        } while (0)

/** @brief "state severity minute\n" of every version of the issue of
 *  tenant, kind and route, minutes from \p t0 to updated_at (rounded);
 *  "" for none. Malloc'd. */
char *rs_it_issue_versions(const char *dsn, int64_t t0, const char *tenant,
                           const char *kind, const char *route);

/** @brief 1 if some assignment logged in \p log_path resumed below its
 *         stored commit offset, i.e. replayed what it had seen. */
int rs_it_log_replayed(const char *log_path);

/** @brief Removes the logs "<prefix>*.log" of an earlier run from the
 *         working directory: processes append to their logs (restarts
 *         share one), and a test that reads them must not see another
 *         run's lines. */
void rs_it_clean_logs(const char *prefix);

/** @brief Counts lines of \p path containing \p needle. */
long rs_it_grep_count(const char *path, const char *needle);

/**
 * @brief The number that follows the last occurrence of \p prefix in the
 *        file \p path (e.g. "stopped cleanly after " in a processor's log).
 * @returns it, or -1 if the file or the prefix is not there (yet).
 */
long rs_it_log_number(const char *path, const char *prefix);
