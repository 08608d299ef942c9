/*
 * stream: the consume / window / checkpoint loop. See rumstream/stream.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/log.h"
#include "rumstream/stream.h"

/* How soon after a window closes its results are written: closes are
 * batched for this long so a backfill does not pay one transaction per
 * partition and window. */
#define CHECKPOINT_MIN_INTERVAL_MS 200
#define SYNC_TIMEOUT_MS            60000
#define MAX_TOPICS                 8

typedef struct part_slot_s {
        rs_stream_part_t *part;
        rs_pg_position_t  stored; /* last position written */
        int               has_stored;
        int64_t           kafka_offset; /* last sent to Kafka, or -1 */
} part_slot_t;

typedef struct topic_s {
        char        *name;
        part_slot_t *slots; /* by partition number */
        int32_t      slot_cnt;
} topic_t;

struct rs_stream_s {
        char                   *name;
        const rs_stream_conf_t *conf;
        const rs_stream_ops_t  *ops;
        void                   *opaque;

        rd_kafka_t          *rk;
        rs_kafka_producer_t *prod;
        rs_pg_t             *pg;
        rs_metrics_t        *metrics;
        rs_kafka_rebalance_t rebalance;

        topic_t                 topics[MAX_TOPICS];
        size_t                  topic_cnt;
        const rd_kafka_topic_t *last_rkt; /* cache of the topic lookup */
        topic_t                *last_topic;
        size_t                  part_cnt;

        volatile sig_atomic_t stop;
        int                   fatal;
        int                   assigned_once;
        int                   closes_pending;
        int64_t               last_checkpoint_ms;

        int64_t rate_start_ms;
        int64_t rate_cnt;

        rs_counter_t *c_messages;
        rs_counter_t *c_replayed;
        rs_counter_t *c_checkpoints;
        rs_counter_t *c_pg_retries;
        rs_gauge_t   *g_partitions;
};

int64_t rs_stream_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

        while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
                ;
}

static topic_t *topic_find(rs_stream_t *s, const char *name) {
        size_t i;

        for (i = 0; i < s->topic_cnt; i++)
                if (!strcmp(s->topics[i].name, name))
                        return &s->topics[i];
        return NULL;
}

static part_slot_t *slot_get(topic_t *t, int32_t partition, int create) {
        if (partition < 0)
                return NULL;
        if (partition >= t->slot_cnt) {
                int32_t      n = partition + 1;
                part_slot_t *ns;
                if (!create)
                        return NULL;
                ns = realloc(t->slots, (size_t)n * sizeof(*ns));
                if (!ns)
                        return NULL;
                memset(ns + t->slot_cnt, 0,
                       (size_t)(n - t->slot_cnt) * sizeof(*ns));
                t->slots    = ns;
                t->slot_cnt = n;
        }
        return &t->slots[partition];
}

static void position_of(const rs_stream_part_t *part, rs_pg_position_t *pos) {
        pos->partition = part->partition;
        pos->resume_offset =
            rs_window_resume_offset(part->win, part->next_offset);
        pos->commit_offset   = part->next_offset > part->replay_until
                                   ? part->next_offset
                                   : part->replay_until;
        pos->closed_until_ms = rs_window_closed_until(part->win);
        pos->watermark_ms    = rs_window_watermark(part->win);
        pos->found           = 1;
}

static int position_equal(const rs_pg_position_t *a,
                          const rs_pg_position_t *b) {
        return a->resume_offset == b->resume_offset &&
               a->commit_offset == b->commit_offset &&
               a->closed_until_ms == b->closed_until_ms &&
               a->watermark_ms == b->watermark_ms;
}

/* Writes rows and changed positions in one transaction, retrying until it
 * commits or the stream is asked to stop. */
static int write_durable(rs_stream_t *s, int *wrotep) {
        int64_t backoff = 100;
        char    err[512];
        size_t  ti;
        int32_t pi;

        for (;;) {
                int changed = 0;

                if (rs_pg_connect(s->pg, -1, err, sizeof(err)) == -1)
                        goto retry;
                if (rs_pg_begin(s->pg, err, sizeof(err)) == -1)
                        goto retry;
                if (s->ops->write &&
                    s->ops->write(s->opaque, s->pg, err, sizeof(err)) == -1)
                        goto retry;
                for (ti = 0; ti < s->topic_cnt; ti++) {
                        topic_t *t = &s->topics[ti];
                        for (pi = 0; pi < t->slot_cnt; pi++) {
                                part_slot_t     *sl = &t->slots[pi];
                                rs_pg_position_t pos;
                                if (!sl->part)
                                        continue;
                                position_of(sl->part, &pos);
                                if (sl->has_stored &&
                                    position_equal(&pos, &sl->stored))
                                        continue;
                                if (rs_pg_position_store(
                                        s->pg, s->conf->group_id, t->name, &pos,
                                        err, sizeof(err)) == -1)
                                        goto retry;
                                changed++;
                        }
                }
                if (rs_pg_commit(s->pg, err, sizeof(err)) == -1)
                        goto retry;

                /* Committed: remember what is stored. */
                for (ti = 0; ti < s->topic_cnt; ti++) {
                        topic_t *t = &s->topics[ti];
                        for (pi = 0; pi < t->slot_cnt; pi++) {
                                part_slot_t *sl = &t->slots[pi];
                                if (!sl->part)
                                        continue;
                                position_of(sl->part, &sl->stored);
                                sl->has_stored = 1;
                        }
                }
                *wrotep = changed;
                rs_metrics_set_healthy(s->metrics, 1);
                return 0;

        retry:
                rs_pg_rollback(s->pg);
                rs_counter_add(s->c_pg_retries, 1);
                /* /health answers 503 until a checkpoint commits again. */
                rs_metrics_set_healthy(s->metrics, 0);
                rs_log_warn("checkpoint failed, retrying in %" PRId64 " ms: %s",
                            backoff, err);
                if (s->stop)
                        return -1;
                sleep_ms(backoff);
                if (s->stop)
                        return -1;
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
}

static void commit_kafka_offsets(rs_stream_t *s) {
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new((int)s->part_cnt);
        size_t  ti;
        int32_t pi;

        /* Only the partitions that moved: librdkafka looks each partition
         * of a commit up in a list of them all, and over 256 partitions
         * that was two million instructions per checkpoint. */
        for (ti = 0; ti < s->topic_cnt; ti++) {
                topic_t *t = &s->topics[ti];
                for (pi = 0; pi < t->slot_cnt; pi++) {
                        part_slot_t *sl = &t->slots[pi];
                        if (!sl->has_stored || !sl->part ||
                            sl->stored.commit_offset == sl->kafka_offset)
                                continue;
                        rd_kafka_topic_partition_list_add(list, t->name, pi)
                            ->offset     = sl->stored.commit_offset;
                        sl->kafka_offset = sl->stored.commit_offset;
                }
        }
        /* Lag monitoring only; positions live in PostgreSQL. A commit that
         * fails is sent again when its partition moves on. */
        if (list->cnt > 0)
                rd_kafka_commit(s->rk, list, 1);
        rd_kafka_topic_partition_list_destroy(list);
}

/**
 * @brief Emits closed windows, makes Kafka outputs durable, then writes rows
 *        and positions. \p final closes every open window first (end of
 *        input).
 */
static int checkpoint(rs_stream_t *s, int final) {
        int64_t now = mono_ms(); /* idle time is measured on it */
        char    err[512];
        int     wrote = 0, emitted = 0, moved = 0;
        size_t  ti;
        int32_t pi;

        if (s->fatal)
                return -1;
        for (ti = 0; ti < s->topic_cnt; ti++) {
                topic_t *t = &s->topics[ti];
                for (pi = 0; pi < t->slot_cnt; pi++) {
                        rs_stream_part_t *part = t->slots[pi].part;
                        if (!part)
                                continue;
                        if (final) {
                                rs_window_close_all(part->win);
                        } else if (rs_window_idle(part->win, now)) {
                                rs_log_info("%s [%" PRId32
                                            "] idle: closing its windows",
                                            t->name, pi);
                                rs_window_close_all(part->win);
                        }
                        if (s->ops->emit) {
                                int n = s->ops->emit(s->opaque, part);
                                if (n == -1) {
                                        s->fatal = 1;
                                        return -1;
                                }
                                emitted += n;
                        }
                        if (!moved) {
                                rs_pg_position_t pos;
                                position_of(part, &pos);
                                moved =
                                    !t->slots[pi].has_stored ||
                                    !position_equal(&pos, &t->slots[pi].stored);
                        }
                }
        }
        /* Rows only come from input (windows, admitted routes), so with no
         * window emitted and no position moved there is nothing to write. */
        if (!emitted && !moved) {
                s->closes_pending     = 0;
                s->last_checkpoint_ms = mono_ms();
                return 0;
        }

        if (rs_kafka_producer_sync(s->prod, SYNC_TIMEOUT_MS, err,
                                   sizeof(err)) == -1) {
                /* Outputs may be lost: never store a position past them.
                 * Exit and let the restart replay from what is stored. */
                rs_log_error("kafka outputs not acknowledged: %s", err);
                s->fatal = 1;
                return -1;
        }
        if (write_durable(s, &wrote) == -1)
                return -1;
        if (s->ops->written)
                s->ops->written(s->opaque);
        s->closes_pending     = 0;
        s->last_checkpoint_ms = mono_ms();
        rs_counter_add(s->c_checkpoints, 1);
        if (wrote)
                commit_kafka_offsets(s);
        return 0;
}

static void part_free(rs_stream_t *s, part_slot_t *sl) {
        if (!sl->part)
                return;
        if (s->ops->part_close)
                s->ops->part_close(s->opaque, sl->part);
        rs_window_destroy(sl->part->win);
        free(sl->part);
        sl->part       = NULL;
        sl->has_stored = 0;
        s->part_cnt--;
}

static int on_assign(void *opaque, rd_kafka_topic_partition_list_t *parts) {
        rs_stream_t *s = opaque;
        char         err[512];
        int          i;

        s->assigned_once = 1; /* an empty assignment counts: nothing to do */
        s->last_rkt      = NULL;
        for (i = 0; i < parts->cnt; i++) {
                rd_kafka_topic_partition_t *tp = &parts->elems[i];
                topic_t                    *t  = topic_find(s, tp->topic);
                part_slot_t                *sl;
                rs_stream_part_t           *part;
                rs_pg_position_t            pos = {.partition = tp->partition};
                int64_t                     backoff = 100;

                if (!t || !(sl = slot_get(t, tp->partition, 1)))
                        return -1;
                part_free(s, sl);

                /* Nothing can be consumed before the position is known:
                 * wait for PostgreSQL as long as it takes. */
                while (rs_pg_connect(s->pg, -1, err, sizeof(err)) == -1 ||
                       rs_pg_positions_load(s->pg, s->conf->group_id, t->name,
                                            &pos, 1, err, sizeof(err)) == -1) {
                        rs_log_warn("loading the position of %s [%" PRId32
                                    "]: %s",
                                    t->name, tp->partition, err);
                        if (s->stop)
                                return -1;
                        sleep_ms(backoff);
                        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                }

                part = calloc(1, sizeof(*part));
                if (!part)
                        return -1;
                part->topic     = t->name;
                part->partition = tp->partition;
                part->win       = rs_window_new(
                          s->conf->window_size_ms, s->conf->allowed_lateness_ms,
                          s->conf->idle_close_ms, (size_t)s->conf->max_open_windows);
                if (!part->win) {
                        free(part);
                        return -1;
                }
                if (pos.found) {
                        rs_window_restore(part->win, pos.watermark_ms,
                                          pos.closed_until_ms);
                        part->next_offset  = pos.resume_offset;
                        part->replay_until = pos.commit_offset;
                        tp->offset         = pos.resume_offset;
                        sl->stored         = pos;
                        sl->has_stored     = 1;
                } else {
                        tp->offset = RD_KAFKA_OFFSET_BEGINNING;
                }
                rs_window_touch(part->win, mono_ms());
                sl->part         = part;
                sl->kafka_offset = -1;
                s->part_cnt++;

                backoff = 100;
                while (s->ops->part_open &&
                       s->ops->part_open(s->opaque, part, s->pg, err,
                                         sizeof(err)) == -1) {
                        rs_log_warn("opening %s [%" PRId32 "]: %s", t->name,
                                    tp->partition, err);
                        if (s->stop) {
                                part_free(s, sl);
                                return -1;
                        }
                        sleep_ms(backoff);
                        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                }
                rs_log_info("assigned %s [%" PRId32 "] from offset %" PRId64
                            " (replay below %" PRId64 ")",
                            t->name, tp->partition, part->next_offset,
                            part->replay_until);
        }
        rs_gauge_set(s->g_partitions, (int64_t)s->part_cnt);
        return 0;
}

static void on_revoke(void                                  *opaque,
                      const rd_kafka_topic_partition_list_t *parts) {
        rs_stream_t *s = opaque;
        int          i;

        /* Write what is durable before another member takes over; what
         * stays open is replayed by the next owner from the stored
         * position. */
        if (!s->fatal && s->part_cnt > 0)
                checkpoint(s, 0);
        for (i = 0; i < parts->cnt; i++) {
                topic_t     *t = topic_find(s, parts->elems[i].topic);
                part_slot_t *sl;
                if (!t || !(sl = slot_get(t, parts->elems[i].partition, 0)))
                        continue;
                part_free(s, sl);
        }
        s->last_rkt = NULL;
        /* An assignment follows (eager rebalancing): until it arrives, no
         * partitions does not mean the input is done. */
        s->assigned_once = 0;
        rs_gauge_set(s->g_partitions, (int64_t)s->part_cnt);
        rs_log_info("revoked %d partition(s)", parts->cnt);
}

rs_stream_t *rs_stream_new(const char *name, const rs_stream_conf_t *conf,
                           const rs_stream_ops_t *ops, void *opaque,
                           char *errstr, size_t errstr_size) {
        rs_stream_t  *s      = calloc(1, sizeof(*s));
        rs_conf_kvs_t cprops = {0}, pprops = {0};
        const char   *topics[MAX_TOPICS];
        char         *list = NULL, *tok, *save = NULL;
        size_t        i;

        if (!s) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        s->name   = strdup(name);
        s->conf   = conf;
        s->ops    = ops;
        s->opaque = opaque;

        list = strdup(conf->input_topic ? conf->input_topic : "");
        for (tok = strtok_r(list, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
                if (s->topic_cnt == MAX_TOPICS) {
                        snprintf(errstr, errstr_size,
                                 "input_topic: at most %d topics", MAX_TOPICS);
                        goto fail;
                }
                s->topics[s->topic_cnt].name = strdup(tok);
                topics[s->topic_cnt]         = s->topics[s->topic_cnt].name;
                s->topic_cnt++;
        }
        if (s->topic_cnt == 0) {
                snprintf(errstr, errstr_size, "input_topic: no topic given");
                goto fail;
        }

        s->metrics    = rs_metrics_new("rumstream_");
        s->c_messages = rs_metrics_counter(s->metrics, "messages_total",
                                           "Input messages consumed", NULL);
        s->c_replayed = rs_metrics_counter(
            s->metrics, "replayed_messages_total",
            "Input messages seen again after a restart or rebalance", NULL);
        s->c_checkpoints = rs_metrics_counter(
            s->metrics, "checkpoints_total",
            "Transactions that stored rows and positions", NULL);
        s->c_pg_retries = rs_metrics_counter(
            s->metrics, "checkpoint_retries_total",
            "Checkpoint transactions that failed and were retried", NULL);
        s->g_partitions = rs_metrics_gauge(s->metrics, "assigned_partitions",
                                           "Input partitions owned", NULL);
        if (conf->metrics_port >= 0) {
                if (rs_metrics_serve(s->metrics, conf->metrics_addr,
                                     (int)conf->metrics_port, errstr,
                                     errstr_size) == -1)
                        goto fail;
                rs_log_info("metrics and health on http://%s:%d/metrics",
                            conf->metrics_addr, rs_metrics_port(s->metrics));
        }

        s->pg = rs_pg_new(conf->pg_dsn, errstr, errstr_size);
        if (!s->pg)
                goto fail;
        rs_pg_set_stop_flag(s->pg, &s->stop);
        if (rs_pg_connect(s->pg, 60 * 1000, errstr, errstr_size) == -1)
                goto fail;
        if (conf->migrate) {
                int applied = 0;
                if (rs_pg_migrate(s->pg, conf->migrations_dir, &applied, errstr,
                                  errstr_size) == -1)
                        goto fail;
                if (applied)
                        rs_log_info("applied %d migration(s)", applied);
        }

        /* Client-specific properties come after the shared ones. */
        cprops.cnt   = conf->kafka.cnt + conf->kafka_consumer.cnt;
        pprops.cnt   = conf->kafka.cnt + conf->kafka_producer.cnt;
        cprops.items = calloc(cprops.cnt + 1, sizeof(*cprops.items));
        pprops.items = calloc(pprops.cnt + 1, sizeof(*pprops.items));
        if (!cprops.items || !pprops.items) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        for (i = 0; i < conf->kafka.cnt; i++)
                cprops.items[i] = pprops.items[i] = conf->kafka.items[i];
        for (i = 0; i < conf->kafka_consumer.cnt; i++)
                cprops.items[conf->kafka.cnt + i] =
                    conf->kafka_consumer.items[i];
        for (i = 0; i < conf->kafka_producer.cnt; i++)
                pprops.items[conf->kafka.cnt + i] =
                    conf->kafka_producer.items[i];

        s->prod =
            rs_kafka_producer_new(conf->brokers, &pprops, errstr, errstr_size);
        if (!s->prod)
                goto fail;

        s->rebalance.on_assign = on_assign;
        s->rebalance.on_revoke = on_revoke;
        s->rebalance.opaque    = s;
        s->rk = rs_kafka_consumer_new(conf->brokers, conf->group_id, &cprops,
                                      &s->rebalance, conf->until_eof, errstr,
                                      errstr_size);
        if (!s->rk)
                goto fail;
        if (rs_kafka_subscribe(s->rk, topics, s->topic_cnt, errstr,
                               errstr_size) == -1)
                goto fail;

        free(cprops.items);
        free(pprops.items);
        free(list);
        s->last_checkpoint_ms = mono_ms();
        return s;

fail:
        free(cprops.items);
        free(pprops.items);
        free(list);
        rs_stream_destroy(s);
        return NULL;
}

static int all_at_eof(rs_stream_t *s) {
        size_t  ti;
        int32_t pi;

        if (!s->assigned_once)
                return 0;
        for (ti = 0; ti < s->topic_cnt; ti++)
                for (pi = 0; pi < s->topics[ti].slot_cnt; pi++)
                        if (s->topics[ti].slots[pi].part &&
                            !s->topics[ti].slots[pi].part->eof)
                                return 0;
        return 1;
}

static rs_stream_part_t *part_of(rs_stream_t *s, const rd_kafka_message_t *m) {
        part_slot_t *sl;

        if (m->rkt != s->last_rkt) {
                s->last_topic = topic_find(s, rd_kafka_topic_name(m->rkt));
                s->last_rkt   = m->rkt;
        }
        if (!s->last_topic)
                return NULL;
        sl = slot_get(s->last_topic, m->partition, 0);
        return sl ? sl->part : NULL;
}

static void throttle(rs_stream_t *s, int64_t now) {
        int64_t rate = s->conf->max_events_per_sec, due;

        if (s->rate_cnt == 0)
                s->rate_start_ms = now;
        s->rate_cnt++;
        due = s->rate_start_ms + s->rate_cnt * 1000 / rate;
        if (due > now + 5)
                sleep_ms(due - now);
        if (s->rate_cnt >= rate) /* restart the budget every second */
                s->rate_cnt = 0;
}

int rs_stream_run(rs_stream_t *s) {
        const rs_stream_conf_t *conf = s->conf;

        rs_log_info("%s running: group %s, input %s%s", s->name, conf->group_id,
                    conf->input_topic,
                    conf->until_eof ? ", until the end of input" : "");
        while (!s->stop && !s->fatal) {
                rd_kafka_message_t *msg = rd_kafka_consumer_poll(s->rk, 100);
                int64_t             now = mono_ms();
                rs_stream_part_t   *part;

                if (!msg) {
                        if (s->closes_pending || now - s->last_checkpoint_ms >=
                                                     conf->commit_interval_ms)
                                checkpoint(s, 0);
                        else if (conf->idle_close_ms > 0 &&
                                 now - s->last_checkpoint_ms >= 1000)
                                checkpoint(s, 0); /* idle close check */
                        if (conf->until_eof && all_at_eof(s))
                                break;
                        continue;
                }
                if (msg->err) {
                        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                if ((part = part_of(s, msg)))
                                        part->eof = 1;
                        } else {
                                rs_log_warn("consumer: %s",
                                            rd_kafka_message_errstr(msg));
                                if (rd_kafka_fatal_error(s->rk, NULL, 0))
                                        s->fatal = 1;
                        }
                        rd_kafka_message_destroy(msg);
                        if (conf->until_eof && all_at_eof(s)) {
                                if (checkpoint(s, 0) == 0 && all_at_eof(s))
                                        break;
                        }
                        continue;
                }

                part = part_of(s, msg);
                /* Not ours any more (revoked while fetched), or already
                 * processed: the owner replays from the stored position. */
                if (!part || msg->offset < part->next_offset) {
                        rd_kafka_message_destroy(msg);
                        continue;
                }
                {
                        int64_t closed = rs_window_closed_until(part->win);
                        int     replay = msg->offset < part->replay_until;

                        part->eof = 0;
                        s->ops->message(s->opaque, part, msg, replay);
                        part->next_offset = msg->offset + 1;
                        rs_counter_add(s->c_messages, 1);
                        if (replay)
                                rs_counter_add(s->c_replayed, 1);
                        if (rs_window_closed_until(part->win) != closed)
                                s->closes_pending = 1;
                }
                rd_kafka_message_destroy(msg);
                rs_window_touch(part->win, now);

                if (conf->max_events_per_sec > 0)
                        throttle(s, now);
                if ((s->closes_pending && now - s->last_checkpoint_ms >=
                                              CHECKPOINT_MIN_INTERVAL_MS) ||
                    now - s->last_checkpoint_ms >= conf->commit_interval_ms)
                        checkpoint(s, 0);
        }

        if (s->fatal)
                return -1;
        /* End of input: everything read is final. On a stop request, open
         * windows stay open and are replayed from the stored position. */
        if (checkpoint(s, conf->until_eof && all_at_eof(s) && !s->stop) == -1)
                return s->fatal ? -1 : 0;
        rs_log_info("%s stopped cleanly after %" PRIu64 " messages", s->name,
                    rs_counter_get(s->c_messages));
        return 0;
}

void rs_stream_stop(rs_stream_t *s) {
        s->stop = 1;
}

void rs_stream_destroy(rs_stream_t *s) {
        size_t  ti;
        int32_t pi;

        if (!s)
                return;
        if (s->rk) {
                /* Revokes the assignment, which checkpoints once more. */
                rd_kafka_consumer_close(s->rk);
                rd_kafka_destroy(s->rk);
        }
        for (ti = 0; ti < s->topic_cnt; ti++) {
                topic_t *t = &s->topics[ti];
                for (pi = 0; pi < t->slot_cnt; pi++)
                        part_free(s, &t->slots[pi]);
                free(t->slots);
                free(t->name);
        }
        rs_kafka_producer_destroy(s->prod);
        rs_pg_destroy(s->pg);
        rs_metrics_destroy(s->metrics);
        free(s->name);
        free(s);
}

rs_kafka_producer_t *rs_stream_producer(rs_stream_t *s) {
        return s->prod;
}

rs_metrics_t *rs_stream_metrics(rs_stream_t *s) {
        return s->metrics;
}

const char *rs_stream_name(const rs_stream_t *s) {
        return s->name;
}

void rs_stream_dlq(rs_stream_t *s, const rd_kafka_message_t *msg,
                   const char *reason, const char *detail, int replay) {
        rs_stream_dlq_value(s, msg, msg->payload, msg->len, reason, detail,
                            replay);
}

void rs_stream_dlq_value(rs_stream_t *s, const rd_kafka_message_t *msg,
                         const void *value, size_t len, const char *reason,
                         const char *detail, int replay) {
        char labels[128], err[512];

        if (replay)
                return;
        snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
        rs_counter_add(rs_metrics_counter(s->metrics, "dlq_total",
                                          "Input messages dead-lettered",
                                          labels),
                       1);
        if (rs_kafka_dlq_value(s->prod, msg, value, len, s->name, reason,
                               detail, err, sizeof(err)) == -1) {
                /* Losing a dead letter silently would lose input: stop and
                 * replay from the stored position instead. */
                rs_log_error("dead-letter of %s [%" PRId32 "] @%" PRId64
                             " failed: %s",
                             rd_kafka_topic_name(msg->rkt), msg->partition,
                             msg->offset, err);
                s->fatal = 1;
        }
}
