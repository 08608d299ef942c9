/*
 * join: which windows a pair judges and when - both sides' closed ends,
 * a side that is unassigned, silent or at the end of a backfill, jumping
 * over empty windows unless busy, evaluated_until, forgetting judged
 * windows - with real window bookkeeping (rumstream/window.h) and fake
 * stream partitions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/join.h"
#include "rumstream/window.h"

#define W 60000

typedef struct judged_s {
        int64_t starts[64];
        int     with_pending[64];
        int     cnt;
        int     busy;
        int     fail_at; /* judge of this start fails; -1 never */
} judged_t;

static int busy_cb(void *opaque, rs_join_pair_t *p) {
        (void)p;
        return ((judged_t *)opaque)->busy;
}

static int judge_cb(void *opaque, rs_join_pair_t *p, int64_t start,
                    void *pending) {
        judged_t *j = opaque;

        (void)p;
        j->starts[j->cnt]       = start;
        j->with_pending[j->cnt] = pending != NULL;
        j->cnt++;
        free(pending);
        return start == j->fail_at ? -1 : 0;
}

static const rs_join_ops_t ops = {busy_cb, judge_cb};

/* A side whose window has seen events up to \p until (closing every
 * window ending at or before it, lateness 0). */
static void side_advance(rs_stream_part_t *part, int64_t until) {
        int64_t start;
        void  **data;
        void   *d;

        rs_window_assign(part->win, until, 0, &start, &data);
        while (rs_window_pop_closed(part->win, &start, &d))
                ;
}

static void pend(rs_join_pair_t *p, int64_t start) {
        void **slot = rs_join_pending(p, start);

        if (!*slot)
                *slot = malloc(1);
}

static void free_cb(int64_t start, void *value, void *opaque) {
        (void)start;
        (void)opaque;
        free(value);
}

static void test_both_sides(void) {
        rs_join_pair_t   p;
        rs_stream_part_t a = {0}, b = {0};
        rs_join_conf_t   c  = {W, 300000, 0};
        judged_t         j  = {.fail_at = -1};
        int64_t          t0 = 1000 * (int64_t)W;

        RS_CHECK_INT(rs_join_pair_init(&p, 3), 0);
        RS_CHECK_INT(p.partition, 3);
        RS_CHECK(p.evaluated_until == RS_WINDOW_NONE);
        a.win = rs_window_new(W, 0, 0, 16);
        b.win = rs_window_new(W, 0, 0, 16);
        rs_join_attach(&p, 0, &a);
        rs_join_attach(&p, 1, &b);

        /* Windows 0, 2 and 5 have something pending. */
        pend(&p, t0);
        pend(&p, t0 + 2 * W);
        pend(&p, t0 + 5 * W);

        /* Side 0 closed up to window 3, side 1 only window 0: judge 0. */
        side_advance(&a, t0 + 3 * W);
        side_advance(&b, t0 + W);
        rs_join_closed(&p, 0);
        rs_join_closed(&p, 1);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 1);
        RS_CHECK_INT(j.cnt, 1);
        RS_CHECK(j.starts[0] == t0 && j.with_pending[0]);
        RS_CHECK(p.evaluated_until == t0 + W);
        RS_CHECK(p.progress_dirty);

        /* Both past window 4; not busy: jump to window 2 (pending), then
         * nothing until the bound. */
        side_advance(&b, t0 + 4 * W);
        rs_join_closed(&p, 1);
        side_advance(&a, t0 + 5 * W);
        rs_join_closed(&p, 0);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 1);
        RS_CHECK_INT(j.cnt, 2);
        RS_CHECK(j.starts[1] == t0 + 2 * W && j.with_pending[1]);
        RS_CHECK(p.evaluated_until == t0 + 4 * W);

        /* Busy: every window up to the bound, pending or not. */
        j.busy = 1;
        side_advance(&b, t0 + 7 * W);
        side_advance(&a, t0 + 7 * W);
        rs_join_closed(&p, 0);
        rs_join_closed(&p, 1);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 3);
        RS_CHECK_INT(j.cnt, 5);
        RS_CHECK(j.starts[2] == t0 + 4 * W && !j.with_pending[2]);
        RS_CHECK(j.starts[3] == t0 + 5 * W && j.with_pending[3]);
        RS_CHECK(j.starts[4] == t0 + 6 * W && !j.with_pending[4]);
        RS_CHECK(p.evaluated_until == t0 + 7 * W);
        /* Judged windows are forgotten. */
        RS_CHECK_INT(rs_map64_size(p.pending), 0);

        /* Nothing new: nothing judged. */
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 0);
        RS_CHECK_INT(j.cnt, 5);

        RS_CHECK_INT(rs_join_detach(&p, &a), 0);
        RS_CHECK_INT(rs_join_detach(&p, &b), 1);
        rs_join_pair_fini(&p);
        rs_window_destroy(a.win);
        rs_window_destroy(b.win);
}

static void test_side_not_holding(void) {
        rs_join_pair_t   p;
        rs_stream_part_t a = {0}, b = {0};
        rs_join_conf_t   c  = {W, 300000, 1};
        judged_t         j  = {.fail_at = -1};
        int64_t          t0 = 2000 * (int64_t)W;

        rs_join_pair_init(&p, 0);
        a.win = rs_window_new(W, 0, 0, 16);
        b.win = rs_window_new(W, 0, 0, 16);

        /* Side 1 not assigned: side 0 alone decides. */
        rs_join_attach(&p, 0, &a);
        pend(&p, t0);
        pend(&p, t0 + W);
        side_advance(&a, t0 + 2 * W);
        rs_join_closed(&p, 0);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 2);
        RS_CHECK_INT(j.cnt, 2);
        RS_CHECK(p.evaluated_until == t0 + 2 * W);

        /* Side 1 assigned, behind, with a window open: it holds back. */
        rs_join_attach(&p, 1, &b);
        side_advance(&b, t0 + 2 * W);
        rs_join_closed(&p, 1);
        pend(&p, t0 + 3 * W);
        side_advance(&a, t0 + 5 * W);
        rs_join_closed(&p, 0);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 0);
        RS_CHECK_INT(j.cnt, 2);

        /* At the end of a backfill with nothing open, it does not. */
        rs_window_close_all(b.win);
        {
                int64_t s;
                void   *d;
                while (rs_window_pop_closed(b.win, &s, &d))
                        ;
        }
        b.eof = 1;
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), 1);
        RS_CHECK_INT(j.cnt, 3);
        RS_CHECK(j.starts[2] == t0 + 3 * W);
        RS_CHECK(p.evaluated_until == t0 + 5 * W);

        /* A failing judgement stops the evaluation there. */
        pend(&p, t0 + 5 * W);
        pend(&p, t0 + 6 * W);
        j.fail_at = t0 + 5 * W;
        side_advance(&a, t0 + 8 * W);
        rs_join_closed(&p, 0);
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), -1);
        RS_CHECK_INT(j.cnt, 4);
        RS_CHECK(p.evaluated_until == t0 + 6 * W);

        /* A window size of 0 is refused. */
        c.window_ms = 0;
        RS_CHECK_INT(rs_join_evaluate(&p, &c, &ops, &j), -1);

        rs_join_pending_foreach(&p, free_cb, NULL);
        rs_join_pair_fini(&p);
        rs_window_destroy(a.win);
        rs_window_destroy(b.win);
}

static void test_table(void) {
        rs_join_t      t = {0};
        rs_join_pair_t p1, p7;
        int64_t       *starts;

        rs_join_pair_init(&p1, 1);
        rs_join_pair_init(&p7, 7);
        RS_CHECK(rs_join_get(&t, 1) == NULL);
        RS_CHECK_INT(rs_join_set(&t, 7, &p7), 0);
        RS_CHECK_INT(rs_join_set(&t, 1, &p1), 0);
        RS_CHECK(rs_join_get(&t, 7) == &p7);
        RS_CHECK(rs_join_get(&t, 1) == &p1);
        RS_CHECK(rs_join_get(&t, 3) == NULL);
        RS_CHECK(rs_join_get(&t, 8) == NULL);
        RS_CHECK(rs_join_get(&t, -1) == NULL);
        RS_CHECK_INT(rs_join_set(&t, 7, NULL), 0);
        RS_CHECK(rs_join_get(&t, 7) == NULL);
        RS_CHECK_INT(rs_join_set(&t, 100, NULL), 0);
        RS_CHECK_INT(t.cnt, 8);

        pend(&p1, 3 * W);
        pend(&p1, W);
        pend(&p1, 2 * W);
        RS_CHECK_INT(rs_join_pending_starts(&p1, &starts), 3);
        RS_CHECK(starts[0] == W && starts[1] == 2 * W && starts[2] == 3 * W);
        free(starts);
        rs_join_pending_foreach(&p1, free_cb, NULL);
        rs_join_pair_fini(&p1);
        rs_join_pair_fini(&p7);
        rs_join_destroy(&t);
}

int main(void) {
        test_both_sides();
        test_side_not_holding();
        test_table();
        return RS_TEST_DONE();
}
