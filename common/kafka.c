/*
 * kafka: consumer/producer setup, dead letters and the embedded cluster.
 * See rumstream/kafka.h for the contract.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h, as it requires */
#include "rumstream/log.h"

struct rs_kafka_producer_s {
        rd_kafka_t *rk;
        uint64_t    delivered;
        uint64_t    failed;
        uint64_t    failed_at_sync; /* failures already reported by a sync */
        uint64_t    produced;
        char        last_error[256];
};

/* Delivery reports are served every this many messages (and whenever the
 * queue is full, and by every sync): a poll per message cost more than the
 * rest of producing one. */
#define PRODUCE_POLL_EVERY 64

struct rs_kafka_mock_s {
        rd_kafka_t *rk; /* the mock cluster's book-keeping handle */
        rd_kafka_mock_cluster_t *mcluster;
};

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    char *errstr, size_t errstr_size) {
        char err[256];

        if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "kafka property %s=%s: %s", name,
                         value, err);
                return -1;
        }
        return 0;
}

static int conf_set_all(rd_kafka_conf_t *conf, const rs_conf_kvs_t *props,
                        char *errstr, size_t errstr_size) {
        size_t i;

        if (!props)
                return 0;
        for (i = 0; i < props->cnt; i++)
                if (conf_set(conf, props->items[i].key, props->items[i].value,
                             errstr, errstr_size) == -1)
                        return -1;
        return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
        (void)rk;
        if (level <= 3)
                rs_log_error("kafka %s: %s", fac, buf);
        else if (level <= 4)
                rs_log_warn("kafka %s: %s", fac, buf);
        else
                rs_log_debug("kafka %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
        (void)rk;
        (void)opaque;
        /* Transport errors are retried by librdkafka; they are worth a line
         * but not an exit. Fatal errors are caught where they surface. */
        rs_log_warn("kafka error %s: %s", rd_kafka_err2name(err), reason);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
        const rs_kafka_rebalance_t *rb = opaque;

        switch (err) {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if (rb && rb->on_assign &&
                    rb->on_assign(rb->opaque, parts) == -1) {
                        rs_log_error("assignment refused; leaving the "
                                     "partitions unconsumed");
                        rd_kafka_assign(rk, NULL);
                        return;
                }
                rd_kafka_assign(rk, parts);
                break;
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                if (rb && rb->on_revoke)
                        rb->on_revoke(rb->opaque, parts);
                rd_kafka_assign(rk, NULL);
                break;
        default:
                rs_log_error("rebalance failed: %s", rd_kafka_err2str(err));
                rd_kafka_assign(rk, NULL);
                break;
        }
}

rd_kafka_t *rs_kafka_consumer_new(const char *brokers, const char *group,
                                  const rs_conf_kvs_t        *props,
                                  const rs_kafka_rebalance_t *rebalance,
                                  int partition_eof, char *errstr,
                                  size_t errstr_size) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_t      *rk   = NULL;
        char             err[512];

        if (conf_set(conf, "bootstrap.servers", brokers, errstr, errstr_size) ==
                -1 ||
            conf_set(conf, "group.id", group, errstr, errstr_size) == -1 ||
            conf_set(conf, "enable.auto.commit", "false", errstr,
                     errstr_size) == -1 ||
            conf_set(conf, "enable.auto.offset.store", "false", errstr,
                     errstr_size) == -1 ||
            conf_set(conf, "auto.offset.reset", "earliest", errstr,
                     errstr_size) == -1 ||
            conf_set(conf, "partition.assignment.strategy", "range", errstr,
                     errstr_size) == -1 ||
            conf_set(conf, "enable.partition.eof",
                     partition_eof ? "true" : "false", errstr,
                     errstr_size) == -1 ||
            conf_set_all(conf, props, errstr, errstr_size) == -1)
                goto fail;

        rd_kafka_conf_set_log_cb(conf, log_cb);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        rd_kafka_conf_set_opaque(conf, (void *)rebalance);

        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk) {
                snprintf(errstr, errstr_size, "kafka consumer: %s", err);
                goto fail;
        }
        rd_kafka_poll_set_consumer(rk);
        return rk;

fail:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

int rs_kafka_subscribe(rd_kafka_t *rk, const char *const *topics, size_t cnt,
                       char *errstr, size_t errstr_size) {
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new((int)cnt);
        rd_kafka_resp_err_t err;
        size_t              i;

        for (i = 0; i < cnt; i++)
                rd_kafka_topic_partition_list_add(list, topics[i],
                                                  RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe: %s",
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *msg,
                      void *opaque) {
        rs_kafka_producer_t *p = opaque;

        (void)rk;
        if (msg->err) {
                p->failed++;
                snprintf(p->last_error, sizeof(p->last_error),
                         "delivery to %s [%" PRId32 "] failed: %s",
                         rd_kafka_topic_name(msg->rkt), msg->partition,
                         rd_kafka_err2str(msg->err));
        } else {
                p->delivered++;
        }
}

rs_kafka_producer_t *rs_kafka_producer_new(const char          *brokers,
                                           const rs_conf_kvs_t *props,
                                           char *errstr, size_t errstr_size) {
        rs_kafka_producer_t *p    = calloc(1, sizeof(*p));
        rd_kafka_conf_t     *conf = rd_kafka_conf_new();
        char                 err[512];

        if (!p)
                goto fail;
        if (conf_set(conf, "bootstrap.servers", brokers, errstr, errstr_size) ==
                -1 ||
            conf_set(conf, "enable.idempotence", "true", errstr, errstr_size) ==
                -1 ||
            conf_set(conf, "partitioner", "murmur2_random", errstr,
                     errstr_size) == -1 ||
            conf_set(conf, "linger.ms", "5", errstr, errstr_size) == -1 ||
            conf_set_all(conf, props, errstr, errstr_size) == -1)
                goto fail;

        rd_kafka_conf_set_log_cb(conf, log_cb);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        rd_kafka_conf_set_opaque(conf, p);

        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!p->rk) {
                snprintf(errstr, errstr_size, "kafka producer: %s", err);
                goto fail;
        }
        return p;

fail:
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
}

void rs_kafka_producer_destroy(rs_kafka_producer_t *p) {
        if (!p)
                return;
        if (rd_kafka_flush(p->rk, 10 * 1000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                rs_log_warn("producer closed with %d message(s) undelivered",
                            rd_kafka_outq_len(p->rk));
        rd_kafka_destroy(p->rk);
        free(p);
}

rd_kafka_t *rs_kafka_producer_handle(rs_kafka_producer_t *p) {
        return p->rk;
}

int rs_kafka_produce(rs_kafka_producer_t *p, const char *topic, const void *key,
                     size_t key_len, const void *value, size_t len,
                     rd_kafka_headers_t *headers, char *errstr,
                     size_t errstr_size) {
        rd_kafka_resp_err_t err;

        for (;;) {
                err = rd_kafka_producev(
                    p->rk, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_KEY((void *)key, key_len),
                    RD_KAFKA_V_VALUE((void *)value, len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                /* Back-pressure: serve delivery reports until there is
                 * room again. */
                rd_kafka_poll(p->rk, 50);
        }
        if (err) {
                if (headers)
                        rd_kafka_headers_destroy(headers);
                snprintf(errstr, errstr_size, "produce to %s: %s", topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        if (++p->produced % PRODUCE_POLL_EVERY == 0)
                rd_kafka_poll(p->rk, 0);
        return 0;
}

int rs_kafka_producer_sync(rs_kafka_producer_t *p, int timeout_ms, char *errstr,
                           size_t errstr_size) {
        rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);

        if (err) {
                snprintf(errstr, errstr_size,
                         "%d message(s) still undelivered after %d ms",
                         rd_kafka_outq_len(p->rk), timeout_ms);
                return -1;
        }
        if (p->failed != p->failed_at_sync) {
                snprintf(errstr, errstr_size, "%" PRIu64 " failed: %s",
                         p->failed - p->failed_at_sync, p->last_error);
                p->failed_at_sync = p->failed;
                return -1;
        }
        return 0;
}

uint64_t rs_kafka_producer_delivered(const rs_kafka_producer_t *p) {
        return p->delivered;
}

uint64_t rs_kafka_producer_failed(const rs_kafka_producer_t *p) {
        return p->failed;
}

void rs_kafka_header_str(rd_kafka_headers_t *hdrs, const char *name,
                         const char *value) {
        rd_kafka_header_add(hdrs, name, -1, value, -1);
}

int rs_kafka_header_get(const rd_kafka_message_t *msg, const char *name,
                        char *out, size_t out_size) {
        rd_kafka_headers_t *hdrs;
        const void         *val;
        size_t              size;

        if (out_size == 0 ||
            rd_kafka_message_headers(msg, &hdrs) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            rd_kafka_header_get_last(hdrs, name, &val, &size) !=
                RD_KAFKA_RESP_ERR_NO_ERROR)
                return -1;
        if (size >= out_size)
                size = out_size - 1;
        memcpy(out, val, size);
        out[size] = '\0';
        return 0;
}

int rs_kafka_dlq(rs_kafka_producer_t *p, const rd_kafka_message_t *msg,
                 const char *processor, const char *reason, const char *detail,
                 char *errstr, size_t errstr_size) {
        return rs_kafka_dlq_value(p, msg, msg->payload, msg->len, processor,
                                  reason, detail, errstr, errstr_size);
}

int rs_kafka_dlq_value(rs_kafka_producer_t *p, const rd_kafka_message_t *msg,
                       const void *value, size_t len, const char *processor,
                       const char *reason, const char *detail, char *errstr,
                       size_t errstr_size) {
        const char         *src = rd_kafka_topic_name(msg->rkt);
        rd_kafka_headers_t *hd  = rd_kafka_headers_new(6);
        char                topic[512], num[32];

        snprintf(topic, sizeof(topic), "%s.dlq", src);
        rs_kafka_header_str(hd, RS_DLQ_REASON, reason);
        rs_kafka_header_str(hd, RS_DLQ_DETAIL, detail ? detail : "");
        rs_kafka_header_str(hd, RS_DLQ_SOURCE_TOPIC, src);
        snprintf(num, sizeof(num), "%" PRId32, msg->partition);
        rs_kafka_header_str(hd, RS_DLQ_SOURCE_PARTITION, num);
        snprintf(num, sizeof(num), "%" PRId64, msg->offset);
        rs_kafka_header_str(hd, RS_DLQ_SOURCE_OFFSET, num);
        rs_kafka_header_str(hd, RS_DLQ_PROCESSOR, processor);
        if (value != msg->payload)
                rs_kafka_header_str(hd, RS_DLQ_REWRITTEN, "true");
        return rs_kafka_produce(p, topic, msg->key, msg->key_len, value, len,
                                hd, errstr, errstr_size);
}

rs_kafka_mock_t *rs_kafka_mock_new(int brokers, char *errstr,
                                   size_t errstr_size) {
        rs_kafka_mock_t *m    = calloc(1, sizeof(*m));
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char             err[512];

        if (!m) {
                rd_kafka_conf_destroy(conf);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        rd_kafka_conf_set_log_cb(conf, log_cb);
        m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!m->rk) {
                rd_kafka_conf_destroy(conf);
                snprintf(errstr, errstr_size, "mock cluster handle: %s", err);
                free(m);
                return NULL;
        }
        m->mcluster = rd_kafka_mock_cluster_new(m->rk, brokers);
        if (!m->mcluster) {
                snprintf(errstr, errstr_size, "mock cluster failed to start");
                rd_kafka_destroy(m->rk);
                free(m);
                return NULL;
        }
        return m;
}

void rs_kafka_mock_destroy(rs_kafka_mock_t *m) {
        if (!m)
                return;
        rd_kafka_mock_cluster_destroy(m->mcluster);
        rd_kafka_destroy(m->rk);
        free(m);
}

const char *rs_kafka_mock_bootstraps(const rs_kafka_mock_t *m) {
        return rd_kafka_mock_cluster_bootstraps(m->mcluster);
}

int rs_kafka_mock_topic(rs_kafka_mock_t *m, const char *topic, int partitions,
                        char *errstr, size_t errstr_size) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(m->mcluster, topic, partitions, 1);

        if (err) {
                snprintf(errstr, errstr_size, "create topic %s: %s", topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* The metadata of one topic; caller frees *mdp with
 * rd_kafka_metadata_destroy() (also set on failure, may be NULL). */
/* Metadata of \p topic alone (topics[0]). It asks for every topic: a
 * request naming the topic would let a producer handle create it with the
 * broker's defaults (auto-creation), which a check must never do. */
static int topic_metadata(rd_kafka_t *rk, const char *topic, int timeout_ms,
                          const struct rd_kafka_metadata  **mdp,
                          const rd_kafka_metadata_topic_t **tp, char *errstr,
                          size_t errstr_size) {
        rd_kafka_resp_err_t err;
        int                 i;

        *mdp = NULL;
        err  = rd_kafka_metadata(rk, 1, NULL, mdp, timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        for (i = 0; i < (*mdp)->topic_cnt; i++) {
                const rd_kafka_metadata_topic_t *t = &(*mdp)->topics[i];
                if (strcmp(t->topic, topic))
                        continue;
                if (t->err) {
                        snprintf(errstr, errstr_size, "metadata of %s: %s",
                                 topic, rd_kafka_err2str(t->err));
                        return -1;
                }
                *tp = t;
                return 0;
        }
        snprintf(errstr, errstr_size, "metadata of %s: %s", topic,
                 rd_kafka_err2str(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        return -1;
}

int rs_kafka_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                              int *cntp, char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata  *md;
        const rd_kafka_metadata_topic_t *t;
        int                              ret;

        ret =
            topic_metadata(rk, topic, timeout_ms, &md, &t, errstr, errstr_size);
        if (ret == 0)
                *cntp = t->partition_cnt;
        if (md)
                rd_kafka_metadata_destroy(md);
        return ret;
}

int rs_kafka_topic_size(rd_kafka_t *rk, const char *topic, int timeout_ms,
                        int64_t *sizep, char *errstr, size_t errstr_size) {
        const struct rd_kafka_metadata  *md;
        const rd_kafka_metadata_topic_t *t;
        rd_kafka_resp_err_t              err;
        int64_t                          lo, hi, total = 0;
        int                              i, ret = -1;

        if (topic_metadata(rk, topic, timeout_ms, &md, &t, errstr,
                           errstr_size) == -1)
                goto out;
        for (i = 0; i < t->partition_cnt; i++) {
                err = rd_kafka_query_watermark_offsets(
                    rk, topic, t->partitions[i].id, &lo, &hi, timeout_ms);
                if (err) {
                        snprintf(errstr, errstr_size,
                                 "watermarks of %s [%d]: %s", topic, i,
                                 rd_kafka_err2str(err));
                        goto out;
                }
                total += hi;
        }
        *sizep = total;
        ret    = 0;
out:
        if (md)
                rd_kafka_metadata_destroy(md);
        return ret;
}
