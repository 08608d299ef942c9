/*
 * join: co-partitioned pairs of inputs, judged window by window. See
 * join.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/join.h"
#include "rumstream/kafka.h"
#include "rumstream/log.h"
#include "rumstream/window.h"

static void oom(void) {
        rs_log_error("out of memory");
        abort();
}

int64_t rs_join_mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rs_join_pair_init(rs_join_pair_t *p, int32_t partition) {
        memset(p, 0, sizeof(*p));
        p->partition       = partition;
        p->done[0]         = RS_WINDOW_NONE;
        p->done[1]         = RS_WINDOW_NONE;
        p->evaluated_until = RS_WINDOW_NONE;
        return (p->pending = rs_map64_new()) ? 0 : -1;
}

void rs_join_pair_fini(rs_join_pair_t *p) {
        rs_map64_destroy(p->pending);
        p->pending = NULL;
}

rs_join_pair_t *rs_join_get(const rs_join_t *j, int32_t partition) {
        return partition >= 0 && partition < j->cnt ? j->pairs[partition]
                                                    : NULL;
}

int rs_join_set(rs_join_t *j, int32_t partition, rs_join_pair_t *p) {
        if (partition < 0)
                return -1;
        if (partition >= j->cnt) {
                rs_join_pair_t **np;
                if (!p)
                        return 0;
                np = realloc(j->pairs, (size_t)(partition + 1) * sizeof(*np));
                if (!np)
                        return -1;
                memset(np + j->cnt, 0,
                       (size_t)(partition + 1 - j->cnt) * sizeof(*np));
                j->pairs = np;
                j->cnt   = partition + 1;
        }
        j->pairs[partition] = p;
        return 0;
}

void rs_join_destroy(rs_join_t *j) {
        free(j->pairs);
        j->pairs = NULL;
        j->cnt   = 0;
}

void rs_join_attach(rs_join_pair_t *p, int side, rs_stream_part_t *part) {
        p->side[side]      = part;
        p->done[side]      = rs_window_closed_until(part->win);
        p->active_ms[side] = rs_join_mono_ms();
}

int rs_join_detach(rs_join_pair_t *p, rs_stream_part_t *part) {
        if (p->side[0] == part)
                p->side[0] = NULL;
        if (p->side[1] == part)
                p->side[1] = NULL;
        return !p->side[0] && !p->side[1];
}

void rs_join_touch(rs_join_pair_t *p, int side) {
        p->active_ms[side] = rs_join_mono_ms();
}

void rs_join_closed(rs_join_pair_t *p, int side) {
        if (p->side[side])
                p->done[side] = rs_window_closed_until(p->side[side]->win);
}

void **rs_join_pending(rs_join_pair_t *p, int64_t start) {
        int    created;
        void **slot = rs_map64_put(p->pending, (uint64_t)start, &created);

        if (!slot)
                oom();
        return slot;
}

typedef struct foreach_ctx_s {
        void (*fn)(int64_t start, void *value, void *opaque);
        void *opaque;
} foreach_ctx_t;

static void foreach_cb(uint64_t key, void *value, void *opaque) {
        foreach_ctx_t *x = opaque;

        if (value)
                x->fn((int64_t)key, value, x->opaque);
}

void rs_join_pending_foreach(rs_join_pair_t *p,
                             void (*fn)(int64_t start, void *value,
                                        void *opaque),
                             void *opaque) {
        foreach_ctx_t x = {fn, opaque};

        rs_map64_foreach(p->pending, foreach_cb, &x);
}

typedef struct starts_s {
        int64_t *v;
        size_t   cnt;
} starts_t;

static void starts_cb(uint64_t key, void *value, void *opaque) {
        starts_t *s = opaque;

        if (value)
                s->v[s->cnt++] = (int64_t)key;
}

static int cmp_i64(const void *a, const void *b) {
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

size_t rs_join_pending_starts(rs_join_pair_t *p, int64_t **out) {
        starts_t s = {calloc(rs_map64_size(p->pending) + 1, sizeof(int64_t)),
                      0};

        if (!s.v)
                oom();
        rs_map64_foreach(p->pending, starts_cb, &s);
        qsort(s.v, s.cnt, sizeof(*s.v), cmp_i64);
        *out = s.v;
        return s.cnt;
}

/* Forgets judged windows: the map does not delete, so it is rebuilt with
 * the live entries. */
static void compact(rs_join_pair_t *p) {
        int64_t    *starts;
        size_t      n = rs_join_pending_starts(p, &starts), i;
        rs_map64_t *np;

        if (n == rs_map64_size(p->pending)) {
                free(starts);
                return;
        }
        if (!(np = rs_map64_new()))
                oom();
        for (i = 0; i < n; i++) {
                int    created;
                void **slot = rs_map64_put(np, (uint64_t)starts[i], &created);
                if (!slot)
                        oom();
                *slot = *rs_map64_get(p->pending, (uint64_t)starts[i]);
        }
        free(starts);
        rs_map64_destroy(p->pending);
        p->pending = np;
}

static int64_t side_bound(const rs_join_pair_t *p, int side,
                          const rs_join_conf_t *c, int64_t now) {
        const rs_stream_part_t *part = p->side[side];

        if (!part)
                return INT64_MAX;
        if (rs_window_open_cnt(part->win) == 0 &&
            ((c->until_eof && part->eof) ||
             now - p->active_ms[side] >= c->max_wait_ms))
                return INT64_MAX;
        return p->done[side];
}

int rs_join_evaluate(rs_join_pair_t *p, const rs_join_conf_t *c,
                     const rs_join_ops_t *ops, void *opaque) {
        int64_t now = rs_join_mono_ms(), size = c->window_ms;
        int64_t b0 = side_bound(p, 0, c, now), b1 = side_bound(p, 1, c, now);
        int64_t bound = b0 < b1 ? b0 : b1, s, *starts;
        size_t  n, i = 0;
        int     rc = 0, judged = 0;

        if (size <= 0)
                return -1;
        if (bound == INT64_MAX) /* nothing holds back: what either closed */
                bound = p->done[0] > p->done[1] ? p->done[0] : p->done[1];
        if (bound == RS_WINDOW_NONE || bound <= p->evaluated_until)
                return 0;
        n = rs_join_pending_starts(p, &starts);
        s = p->evaluated_until;
        while (rc == 0) {
                void **slot, *pending;
                while (i < n && starts[i] < s)
                        i++;
                /* With nothing that needs every window, an empty window
                 * changes nothing: on to the next one with something
                 * pending. */
                if (s == RS_WINDOW_NONE || !ops->busy(opaque, p))
                        s = i < n ? starts[i] : bound;
                if (s + size > bound)
                        break;
                slot    = rs_map64_get(p->pending, (uint64_t)s);
                pending = slot ? *slot : NULL;
                if (slot)
                        *slot = NULL;
                rc = ops->judge(opaque, p, s, pending);
                judged++;
                s += size;
                p->evaluated_until = s;
                p->progress_dirty  = 1;
        }
        free(starts);
        if (rc == 0 && bound > p->evaluated_until) {
                p->evaluated_until = bound;
                p->progress_dirty  = 1;
        }
        if (judged)
                compact(p);
        return rc == 0 ? (int)judged : rc;
}

int rs_join_check_topics(rs_stream_t *s, const char *a, const char *b,
                         const char *what, char *errstr, size_t errstr_size) {
        rd_kafka_t *rk = rs_kafka_producer_handle(rs_stream_producer(s));
        char        err[512];
        int         a_cnt, b_cnt;

        if (rs_kafka_topic_partitions(rk, a, 10000, &a_cnt, err, sizeof(err)) ==
                -1 ||
            rs_kafka_topic_partitions(rk, b, 10000, &b_cnt, err, sizeof(err)) ==
                -1) {
                rs_log_warn("cannot compare the partition counts of %s and "
                            "%s (%s): %s need them equal",
                            a, b, err, what);
                return 0;
        }
        if (a_cnt != b_cnt) {
                snprintf(errstr, errstr_size,
                         "%s has %d partitions and %s %d: %s join them "
                         "partition by partition, so the counts must be "
                         "equal",
                         a, a_cnt, b, b_cnt, what);
                return -1;
        }
        return 0;
}
