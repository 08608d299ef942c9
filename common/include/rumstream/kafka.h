/*
 * kafka: consumer and producer setup shared by every processor, the
 * dead-letter path, and the embedded mock cluster for local runs and tests.
 *
 * Consumers never let Kafka decide where to start: auto commit and offset
 * store are off, and on assignment the processor's on_assign hook fills in
 * the offsets it keeps in PostgreSQL (DESIGN.md, delivery guarantees).
 * Offsets are committed to Kafka afterwards only so lag can be monitored.
 * The `range` assignor keeps equal partition numbers of co-partitioned topics
 * on one instance.
 *
 * Producers are idempotent and partition with murmur2_random, so a tenant's
 * messages land on the partition a Java producer would pick. A processor
 * calls rs_kafka_producer_sync() before committing positions to PostgreSQL:
 * it returns only when every message produced so far is acknowledged, and
 * fails if any delivery failed, so nothing derived from input is lost when the
 * position moves past that input.
 */
#ifndef RS_KAFKA_H
#define RS_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "rumstream/config.h"

/** Hooks the consumer's rebalance callback calls. */
typedef struct rs_kafka_rebalance_s {
        /** Set parts->elems[i].offset for every partition to where it must
         *  start (RD_KAFKA_OFFSET_BEGINNING if nothing is stored).
         *  @returns 0, or -1 to refuse (the consumer then exits the group). */
        int (*on_assign)(void *opaque, rd_kafka_topic_partition_list_t *parts);
        /** Partitions are about to be taken away: write what can be written
         *  and forget their state. */
        void (*on_revoke)(void                                  *opaque,
                          const rd_kafka_topic_partition_list_t *parts);
        void *opaque;
} rs_kafka_rebalance_t;

/**
 * @brief A consumer in \p group, with manual positions, range assignment and
 *        (if \p partition_eof) end-of-partition events. \p props (may be
 *        NULL) are applied last as librdkafka properties.
 *        The rebalance hooks struct must outlive the consumer.
 * @returns the handle (caller closes with rd_kafka_consumer_close() and
 *          rd_kafka_destroy()) or NULL with errstr set.
 */
rd_kafka_t *rs_kafka_consumer_new(const char *brokers, const char *group,
                                  const rs_conf_kvs_t        *props,
                                  const rs_kafka_rebalance_t *rebalance,
                                  int partition_eof, char *errstr,
                                  size_t errstr_size);

/** @brief Subscribes to \p cnt topics. @returns 0 or -1 with errstr. */
int rs_kafka_subscribe(rd_kafka_t *rk, const char *const *topics, size_t cnt,
                       char *errstr, size_t errstr_size);

typedef struct rs_kafka_producer_s rs_kafka_producer_t;

/**
 * @brief An idempotent murmur2 producer; \p props (may be NULL) are applied
 *        last. Caller frees with rs_kafka_producer_destroy() (which flushes
 *        for up to 10 s first).
 */
rs_kafka_producer_t *rs_kafka_producer_new(const char          *brokers,
                                           const rs_conf_kvs_t *props,
                                           char *errstr, size_t errstr_size);
void                 rs_kafka_producer_destroy(rs_kafka_producer_t *p);
rd_kafka_t          *rs_kafka_producer_handle(rs_kafka_producer_t *p);

/**
 * @brief Queues one message; \p value and \p key are copied. \p headers (may
 *        be NULL) is taken over in every case. Waits while the local queue is
 *        full.
 * @returns 0 or -1 with errstr set (unknown topic, fatal producer error).
 */
int rs_kafka_produce(rs_kafka_producer_t *p, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t len,
                     rd_kafka_headers_t *headers, char *errstr,
                     size_t errstr_size);

/**
 * @brief Waits until every message produced so far is acknowledged.
 * @returns 0, or -1 with errstr set if a delivery failed since the last
 *          successful sync or the wait exceeded \p timeout_ms. After -1 the
 *          caller must not commit input positions past what it produced.
 */
int rs_kafka_producer_sync(rs_kafka_producer_t *p, int timeout_ms, char *errstr,
                           size_t errstr_size);

/** @brief Messages delivered and failed since the producer started. */
uint64_t rs_kafka_producer_delivered(const rs_kafka_producer_t *p);
uint64_t rs_kafka_producer_failed(const rs_kafka_producer_t *p);

/* Dead-letter header names. */
#define RS_DLQ_REASON           "rs.reason"
#define RS_DLQ_DETAIL           "rs.detail"
#define RS_DLQ_SOURCE_TOPIC     "rs.source.topic"
#define RS_DLQ_SOURCE_PARTITION "rs.source.partition"
#define RS_DLQ_SOURCE_OFFSET    "rs.source.offset"
#define RS_DLQ_PROCESSOR        "rs.processor"
#define RS_DLQ_REWRITTEN        "rs.rewritten"

/**
 * @brief Sends \p msg's key and value unchanged to "<source topic>.dlq" with
 *        headers naming the reason (a short token such as "late" or
 *        "undecodable"), a human-readable detail, the source topic,
 *        partition and offset, and the processor.
 * @returns 0 or -1 with errstr set.
 */
int rs_kafka_dlq(rs_kafka_producer_t *p, const rd_kafka_message_t *msg,
                 const char *processor, const char *reason, const char *detail,
                 char *errstr, size_t errstr_size);

/**
 * @brief rs_kafka_dlq() with \p value (\p len bytes) in place of the
 *        message's value, and a header "rs.rewritten: true" when it differs:
 *        a processor that could decode the message sends it with personal
 *        data scrubbed out.
 */
int rs_kafka_dlq_value(rs_kafka_producer_t *p, const rd_kafka_message_t *msg,
                       const void *value, size_t len, const char *processor,
                       const char *reason, const char *detail, char *errstr,
                       size_t errstr_size);

/** @brief Adds a NUL-terminated string header. */
void rs_kafka_header_str(rd_kafka_headers_t *hdrs, const char *name,
                         const char *value);

/**
 * @brief Copies header \p name of \p msg into \p out (NUL-terminated).
 * @returns 0, or -1 if absent.
 */
int rs_kafka_header_get(const rd_kafka_message_t *msg, const char *name,
                        char *out, size_t out_size);

/*
 * Embedded cluster (librdkafka's mock cluster): real Kafka protocol over TCP
 * on 127.0.0.1, for local runs and tests. It keeps only the newest few MiB of
 * each partition, so spread large volumes over enough partitions.
 */
typedef struct rs_kafka_mock_s rs_kafka_mock_t;

/** @brief Starts \p brokers mock brokers. Caller frees with
 *         rs_kafka_mock_destroy(). */
rs_kafka_mock_t *rs_kafka_mock_new(int brokers, char *errstr,
                                   size_t errstr_size);
void             rs_kafka_mock_destroy(rs_kafka_mock_t *m);
/** @brief "127.0.0.1:port,..." (owned by the cluster). */
const char *rs_kafka_mock_bootstraps(const rs_kafka_mock_t *m);
int rs_kafka_mock_topic(rs_kafka_mock_t *m, const char *topic, int partitions,
                        char *errstr, size_t errstr_size);

/** @brief Number of partitions of \p topic (a metadata request).
 *  @returns 0, or -1 with errstr set (e.g. the topic does not exist). */
int rs_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                              int *cntp, char *errstr, size_t errstr_size);

/**
 * @brief Sum over partitions of the high watermark of \p topic, i.e. the
 *        number of messages ever written (for tests and tools).
 * @returns 0 or -1 with errstr set.
 */
int rs_kafka_topic_size(rd_kafka_t *rk, const char *topic, int timeout_ms,
                        int64_t *sizep, char *errstr, size_t errstr_size);

#endif
