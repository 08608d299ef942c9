/*
 * stream: the consume / window / checkpoint loop every processor runs.
 *
 * A processor supplies callbacks (rs_stream_ops_t); the stream owns the
 * Kafka consumer and producer, the PostgreSQL sink, the metrics endpoint
 * and, per assigned input partition, an rs_stream_part_t with its event-time
 * windows (rumstream/window.h) and its position.
 *
 * Delivery (DESIGN.md): on assignment the stored position of each partition
 * is loaded from PostgreSQL and consumption starts at its resume offset.
 * Messages below the stored commit offset were seen before the restart
 * (part->replay_until): their windows that were already written are late by
 * construction and are skipped silently, and nothing is sent to a dead-letter
 * topic twice. A checkpoint
 *   1. lets the processor emit every closed window (produce to Kafka and
 *      buffer rows),
 *   2. waits until Kafka acknowledged everything produced,
 *   3. writes the rows and every changed position in one transaction,
 *      retrying with reconnects until it commits,
 *   4. commits offsets to Kafka for lag monitoring only.
 * Checkpoints run when windows close, every commit_interval_ms, before
 * partitions are revoked and at shutdown.
 */
#ifndef RS_STREAM_H
#define RS_STREAM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/kafka.h"
#include "rumstream/metrics.h"
#include "rumstream/pg.h"
#include "rumstream/window.h"

/** Settings shared by every processor (embed as a member named `stream`
 *  and list RS_STREAM_CONF_ITEMS(your_type) in your table). */
typedef struct rs_stream_conf_s {
        char         *brokers;
        char         *pg_dsn;
        char         *group_id;
        char         *input_topic; /**< comma-separated for several */
        char         *log_level;
        char         *metrics_addr;
        int64_t       metrics_port; /**< -1 disables, 0 picks a free port */
        int64_t       window_size_ms;
        int64_t       allowed_lateness_ms;
        int64_t       idle_close_ms;
        int64_t       max_open_windows;
        int64_t       commit_interval_ms;
        int64_t       max_events_per_sec; /**< 0: unthrottled */
        int           migrate;
        char         *migrations_dir;
        int           until_eof;
        rs_conf_kvs_t kafka;          /**< both clients */
        rs_conf_kvs_t kafka_consumer; /**< consumer only */
        rs_conf_kvs_t kafka_producer; /**< producer only */
} rs_stream_conf_t;

/* clang-format off */
#define RS_STREAM_CONF_ITEMS(type, group, topic)                              \
        {"kafka_brokers", RS_CONF_STRING, offsetof(type, stream.brokers),     \
         "127.0.0.1:9092", 0, -1, "RUMSTREAM_KAFKA_BROKERS",                  \
         "Kafka bootstrap servers"},                                          \
        {"pg_dsn", RS_CONF_STRING, offsetof(type, stream.pg_dsn),             \
         "dbname=rumstream", 0, -1, "RUMSTREAM_PG_DSN",                       \
         "PostgreSQL connection string (libpq)"},                             \
        {"group_id", RS_CONF_STRING, offsetof(type, stream.group_id), group,  \
         0, -1, "RUMSTREAM_GROUP_ID", "Kafka consumer group"},                \
        {"input_topic", RS_CONF_STRING, offsetof(type, stream.input_topic),   \
         topic, 0, -1, NULL, "Input topic(s), comma-separated"},              \
        {"log_level", RS_CONF_STRING, offsetof(type, stream.log_level),       \
         "info", 0, -1, "RUMSTREAM_LOG_LEVEL", "debug, info, warn or error"}, \
        {"metrics_addr", RS_CONF_STRING, offsetof(type, stream.metrics_addr), \
         "127.0.0.1", 0, -1, NULL, "Address of the /metrics and /health "     \
         "endpoint"},                                                         \
        {"metrics_port", RS_CONF_INT, offsetof(type, stream.metrics_port),    \
         "-1", -1, 65535, "RUMSTREAM_METRICS_PORT",                           \
         "Port of the endpoint (-1 off, 0 any free port)"},                   \
        {"window.size_ms", RS_CONF_INT, offsetof(type, stream.window_size_ms),\
         "60000", 1000, 86400000, NULL, "Tumbling window length"},            \
        {"window.allowed_lateness_ms", RS_CONF_INT,                           \
         offsetof(type, stream.allowed_lateness_ms), "10000", 0, 3600000,     \
         NULL, "How far behind the newest event an event may still arrive"},  \
        {"window.idle_close_ms", RS_CONF_INT,                                 \
         offsetof(type, stream.idle_close_ms), "30000", 0, 86400000, NULL,    \
         "Close a partition's windows after this long without input (0 off)"},\
        {"window.max_open", RS_CONF_INT,                                      \
         offsetof(type, stream.max_open_windows), "16", 1, 1024, NULL,        \
         "Open windows per partition; beyond, the oldest closes early"},          \
        {"commit_interval_ms", RS_CONF_INT,                                   \
         offsetof(type, stream.commit_interval_ms), "5000", 10, 600000, NULL, \
         "Store positions at least this often"},                              \
        {"max_events_per_sec", RS_CONF_INT,                                   \
         offsetof(type, stream.max_events_per_sec), "0", 0, 100000000, NULL,  \
         "Throttle input (backfills that must spare PostgreSQL); 0 off"},     \
        {"migrate", RS_CONF_BOOL, offsetof(type, stream.migrate), "true", 0,  \
         -1, NULL, "Apply database migrations at start"},                     \
        {"migrations_dir", RS_CONF_STRING,                                    \
         offsetof(type, stream.migrations_dir), RS_PG_MIGRATIONS_DIR, 0, -1,  \
         "RUMSTREAM_MIGRATIONS_DIR", "Folder of the SQL migrations"},         \
        {"until_eof", RS_CONF_BOOL, offsetof(type, stream.until_eof),         \
         "false", 0, -1, NULL, "Process the backlog, write everything, exit"},\
        {"kafka", RS_CONF_KVS, offsetof(type, stream.kafka), NULL, 0, -1,     \
         NULL, "librdkafka properties for both clients ('_' for '.')"},       \
        {"kafka_consumer", RS_CONF_KVS,                                       \
         offsetof(type, stream.kafka_consumer), NULL, 0, -1, NULL,            \
         "librdkafka properties for the consumer"},                           \
        {"kafka_producer", RS_CONF_KVS,                                       \
         offsetof(type, stream.kafka_producer), NULL, 0, -1, NULL,            \
         "librdkafka properties for the producer"}
/* clang-format on */

/** One assigned input partition. */
typedef struct rs_stream_part_s {
        const char  *topic;
        int32_t      partition;
        int64_t      next_offset;  /**< after the last message processed */
        int64_t      replay_until; /**< offsets below: processed before */
        rs_window_t *win;
        int          eof;
        int          dirty; /**< position changed since it was stored */
        void        *state; /**< the processor's */
} rs_stream_part_t;

typedef struct rs_stream_s rs_stream_t;

typedef struct rs_stream_ops_s {
        /** A partition was assigned: set part->state (may read PostgreSQL
         *  through \p pg). @returns 0 or -1 (retried with backoff). */
        int (*part_open)(void *opaque, rs_stream_part_t *part, rs_pg_t *pg,
                         char *errstr, size_t errstr_size);
        /** The partition is going away: free part->state. */
        void (*part_close)(void *opaque, rs_stream_part_t *part);
        /** One message. \p replay: it was processed before the restart. */
        void (*message)(void *opaque, rs_stream_part_t *part,
                        const rd_kafka_message_t *msg, int replay);
        /** Emit every closed window of the partition: produce outputs and
         *  buffer rows. @returns the number of windows emitted, or -1
         *  (fatal: the process exits and replays). */
        int (*emit)(void *opaque, rs_stream_part_t *part);
        /** Write the buffered rows inside the open transaction.
         *  @returns 0 or -1 with errstr (the transaction is retried). */
        int (*write)(void *opaque, rs_pg_t *pg, char *errstr,
                     size_t errstr_size);
        /** The transaction committed: drop the buffered rows. */
        void (*written)(void *opaque);
} rs_stream_ops_t;

/**
 * @brief Connects everything (PostgreSQL with migrations, producer,
 *        consumer subscribed to conf->input_topic, metrics endpoint).
 *        \p name is the processor's name (logs, DLQ headers, metrics).
 *        \p conf, \p ops must outlive the stream.
 * @returns NULL with errstr set on failure. Caller frees with
 *          rs_stream_destroy().
 */
rs_stream_t *rs_stream_new(const char *name, const rs_stream_conf_t *conf,
                           const rs_stream_ops_t *ops, void *opaque,
                           char *errstr, size_t errstr_size);

/** @brief Runs until rs_stream_stop() or, with until_eof, the end of input.
 *  @returns 0 on a clean stop, -1 on a fatal error (logged). */
int rs_stream_run(rs_stream_t *s);

/** @brief Async-signal-safe request to stop after the current message. */
void rs_stream_stop(rs_stream_t *s);

/** @brief Closes the consumer (revoking partitions after a last
 *         checkpoint) and frees everything. NULL-safe. */
void rs_stream_destroy(rs_stream_t *s);

rs_kafka_producer_t *rs_stream_producer(rs_stream_t *s);
rs_metrics_t        *rs_stream_metrics(rs_stream_t *s);
const char          *rs_stream_name(const rs_stream_t *s);

/**
 * @brief Dead-letters \p msg with \p reason (a short token) and a detail,
 *        and counts it under rumstream_dlq_total{reason}. When \p replay is
 *        set nothing is sent (it was before the restart).
 */
void rs_stream_dlq(rs_stream_t *s, const rd_kafka_message_t *msg,
                   const char *reason, const char *detail, int replay);

/** @brief rs_stream_dlq() with \p value in place of the message's value
 *         (see rs_kafka_dlq_value()). */
void rs_stream_dlq_value(rs_stream_t *s, const rd_kafka_message_t *msg,
                         const void *value, size_t len, const char *reason,
                         const char *detail, int replay);

/** @brief Current wall-clock time in ms (CLOCK_REALTIME). */
int64_t rs_stream_now_ms(void);

#endif
