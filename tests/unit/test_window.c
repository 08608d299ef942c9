/*
 * test_window: epoch-aligned tumbling windows of one partition.
 *
 * Hand-built sequences check each rule of rumstream/window.h with exact
 * numbers (alignment, watermark, closing, lateness, the open-window cap, idle
 * close, the resume offset, restore). A seeded replay test then checks the
 * property the aggregator's crash safety rests on: a processor that stores
 * (resume offset, closed_until, watermark) at any point and replays from
 * there classifies every event the same way as the run without a crash, and
 * closes the same windows with the same contents.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/window.h"
#include "rs_test.h"

/* Assigns and checks the result and window start; returns the payload slot
 * (NULL unless RS_WINDOW_OK). */
#define ASSIGN_OK(win, ts, off, start) assign_ok(win, ts, off, start, __LINE__)

static void **assign_ok(rs_window_t *win, int64_t ts, int64_t off,
                        int64_t exp_start, int line) {
        int64_t start = -1;
        void  **slot  = NULL;
        int     r     = rs_window_assign(win, ts, off, &start, &slot);

        RS_CHECK_MSG(r == RS_WINDOW_OK, "line %d: assign(%lld) = %d", line,
                     (long long)ts, r);
        RS_CHECK_MSG(start == exp_start, "line %d: start %lld, expected %lld",
                     line, (long long)start, (long long)exp_start);
        RS_CHECK_MSG(slot != NULL, "line %d: no slot", line);
        return r == RS_WINDOW_OK ? slot : NULL;
}

static int assign_res(rs_window_t *win, int64_t ts, int64_t off) {
        int64_t start = 12345;
        void  **slot  = NULL;

        return rs_window_assign(win, ts, off, &start, &slot);
}

/* Pops one window and checks its start; returns its payload. */
static void *pop_expect(rs_window_t *win, int64_t exp_start, int line) {
        int64_t start = -1;
        void   *data  = (void *)&start;
        int     r     = rs_window_pop_closed(win, &start, &data);

        RS_CHECK_MSG(r == 1, "line %d: pop_closed = %d", line, r);
        RS_CHECK_MSG(start == exp_start, "line %d: popped %lld, expected %lld",
                     line, (long long)start, (long long)exp_start);
        return r == 1 ? data : NULL;
}
#define POP(win, start) pop_expect(win, start, __LINE__)

static int pop_none(rs_window_t *win) {
        int64_t start = -1;
        void   *data  = NULL;

        return rs_window_pop_closed(win, &start, &data) == 0;
}

static void test_start_of(void) {
        RS_CHECK_INT(rs_window_start_of(60000, -1), -60000);
        RS_CHECK_INT(rs_window_start_of(60000, 0), 0);
        RS_CHECK_INT(rs_window_start_of(60000, 1), 0);
        RS_CHECK_INT(rs_window_start_of(60000, 59999), 0);
        RS_CHECK_INT(rs_window_start_of(60000, 60000), 60000);
        RS_CHECK_INT(rs_window_start_of(60000, 60001), 60000);
        RS_CHECK_INT(rs_window_start_of(60000, 119999), 60000);
        RS_CHECK_INT(rs_window_start_of(60000, -59999), -60000);
        RS_CHECK_INT(rs_window_start_of(60000, -60000), -60000);
        RS_CHECK_INT(rs_window_start_of(60000, -60001), -120000);
        RS_CHECK_INT(rs_window_start_of(60000, 1700000012345), 1699999980000);
        RS_CHECK_INT(rs_window_start_of(10000, 1700000012345), 1700000010000);
        RS_CHECK_INT(rs_window_start_of(10000, -1700000012345), -1700000020000);
        RS_CHECK_INT(rs_window_start_of(1, -7), -7);
        RS_CHECK_INT(rs_window_start_of(1, 7), 7);
        RS_CHECK_INT(rs_window_start_of(7, -1), -7);
        RS_CHECK_INT(rs_window_start_of(7, -7), -7);
        RS_CHECK_INT(rs_window_start_of(7, -8), -14);
        RS_CHECK_INT(rs_window_start_of(60000, INT64_MAX),
                     INT64_C(9223372036854720000));
}

static void test_new(void) {
        rs_window_t *win;

        RS_CHECK(rs_window_new(0, 0, 0, 4) == NULL);
        RS_CHECK(rs_window_new(-1000, 0, 0, 4) == NULL);
        RS_CHECK(rs_window_new(1000, -1, 0, 4) == NULL);
        RS_CHECK(rs_window_new(1000, 0, 0, 0) == NULL);
        rs_window_destroy(NULL);

        win = rs_window_new(60000, 5000, 30000, 4);
        RS_CHECK(win != NULL);
        if (!win)
                return;
        RS_CHECK_INT(rs_window_size(win), 60000);
        RS_CHECK_INT(rs_window_watermark(win), RS_WINDOW_NONE);
        RS_CHECK_INT(rs_window_closed_until(win), RS_WINDOW_NONE);
        RS_CHECK_INT(rs_window_open_cnt(win), 0);
        RS_CHECK_INT(rs_window_resume_offset(win, 77), 77);
        RS_CHECK(!rs_window_is_late(win, INT64_MIN / 2));
        RS_CHECK(pop_none(win));
        rs_window_destroy(win);
}

static void test_assign(void) {
        rs_window_t *win = rs_window_new(60000, 0, 0, 8);
        int          payload0, payload1;
        void       **slot;
        void        *data;

        /* Opening a window gives an empty slot; the caller's pointer stays. */
        slot = ASSIGN_OK(win, 1000, 10, 0);
        RS_CHECK(slot && *slot == NULL);
        if (slot)
                *slot = &payload0;
        RS_CHECK_INT(rs_window_open_cnt(win), 1);
        RS_CHECK_INT(rs_window_watermark(win), 1000);
        RS_CHECK_INT(rs_window_closed_until(win), 0);

        slot = ASSIGN_OK(win, 59999, 11, 0);
        RS_CHECK(slot && *slot == &payload0);
        slot = ASSIGN_OK(win, 0, 12, 0);
        RS_CHECK(slot && *slot == &payload0);
        RS_CHECK_INT(rs_window_open_cnt(win), 1);
        RS_CHECK_INT(rs_window_watermark(win), 59999);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        RS_CHECK(pop_none(win));

        /* The boundary event opens the next window and (lateness 0) closes
         * the first one. */
        slot = ASSIGN_OK(win, 60000, 13, 60000);
        RS_CHECK(slot && *slot == NULL);
        if (slot)
                *slot = &payload1;
        RS_CHECK_INT(rs_window_open_cnt(win), 2);
        RS_CHECK_INT(rs_window_watermark(win), 60000);
        RS_CHECK_INT(rs_window_closed_until(win), 60000);

        data = POP(win, 0);
        RS_CHECK(data == &payload0);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_open_cnt(win), 1);
        slot = ASSIGN_OK(win, 61000, 14, 60000);
        RS_CHECK(slot && *slot == &payload1);
        rs_window_destroy(win);
}

struct seen {
        int64_t starts[8];
        void   *datas[8];
        int     cnt;
};

static void record(int64_t start, void *data, void *opaque) {
        struct seen *seen = opaque;

        if (seen->cnt < 8) {
                seen->starts[seen->cnt] = start;
                seen->datas[seen->cnt]  = data;
        }
        seen->cnt++;
}

static void test_out_of_order(void) {
        /* A lateness of an hour keeps every window open. */
        rs_window_t         *win   = rs_window_new(10000, 3600000, 0, 8);
        static const int64_t ts[]  = {35000, 5000,  22000, 12000,
                                      41000, 25000, 9999,  30000};
        static const int64_t exp[] = {0, 10000, 20000, 30000, 40000};
        int                  tags[5];
        struct seen          seen = {{0}, {0}, 0};
        size_t               i;

        for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
                int64_t start = rs_window_start_of(10000, ts[i]);
                void  **slot  = ASSIGN_OK(win, ts[i], (int64_t)i, start);

                if (slot && !*slot)
                        *slot = &tags[start / 10000];
                RS_CHECK(slot && *slot == &tags[start / 10000]);
        }
        RS_CHECK_INT(rs_window_open_cnt(win), 5);
        RS_CHECK_INT(rs_window_watermark(win), 41000 - 3600000);
        RS_CHECK_INT(rs_window_closed_until(win), -3560000);

        rs_window_foreach(win, record, &seen);
        RS_CHECK_INT(seen.cnt, 5);
        for (i = 0; i < 5; i++) {
                RS_CHECK_INT(seen.starts[i], exp[i]);
                RS_CHECK(seen.datas[i] == &tags[i]);
        }

        /* Offsets: window 0 got offsets 1 and 6, window 30000 got 0 and 7. */
        RS_CHECK_INT(rs_window_resume_offset(win, 100), 0);
        RS_CHECK(pop_none(win));

        rs_window_close_all(win);
        RS_CHECK_INT(rs_window_closed_until(win), 50000);
        RS_CHECK_INT(rs_window_watermark(win), 41000 - 3600000);
        for (i = 0; i < 5; i++)
                RS_CHECK(POP(win, exp[i]) == &tags[i]);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_open_cnt(win), 0);
        RS_CHECK_INT(rs_window_resume_offset(win, 100), 100);
        rs_window_destroy(win);
}

static void test_watermark(void) {
        rs_window_t *win = rs_window_new(10000, 5000, 0, 16);

        ASSIGN_OK(win, 1000, 0, 0);
        RS_CHECK_INT(rs_window_watermark(win), -4000);
        RS_CHECK_INT(rs_window_closed_until(win), -10000);
        ASSIGN_OK(win, 12000, 1, 10000);
        RS_CHECK_INT(rs_window_watermark(win), 7000);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        /* Behind the max: the watermark stays. */
        ASSIGN_OK(win, 9000, 2, 0);
        RS_CHECK_INT(rs_window_watermark(win), 7000);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        ASSIGN_OK(win, 14999, 3, 10000);
        RS_CHECK_INT(rs_window_watermark(win), 9999);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        RS_CHECK(pop_none(win));
        /* Watermark exactly on a window end closes that window. */
        ASSIGN_OK(win, 15000, 4, 10000);
        RS_CHECK_INT(rs_window_watermark(win), 10000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        ASSIGN_OK(win, 23000, 5, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 18000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        ASSIGN_OK(win, 31000, 6, 30000);
        RS_CHECK_INT(rs_window_watermark(win), 26000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        ASSIGN_OK(win, 21000, 7, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 26000);
        RS_CHECK_INT(rs_window_open_cnt(win), 4);

        /* Oldest first, only the closed ones, then 0. */
        POP(win, 0);
        POP(win, 10000);
        RS_CHECK(pop_none(win));
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_open_cnt(win), 2);

        /* A big jump closes several windows at once. */
        ASSIGN_OK(win, 75000, 8, 70000);
        RS_CHECK_INT(rs_window_watermark(win), 70000);
        RS_CHECK_INT(rs_window_closed_until(win), 70000);
        ASSIGN_OK(win, 70000, 9, 70000);
        RS_CHECK_INT(rs_window_watermark(win), 70000);
        POP(win, 20000);
        POP(win, 30000);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_open_cnt(win), 1);
        rs_window_destroy(win);

        /* Negative event times. */
        win = rs_window_new(10000, 5000, 0, 16);
        ASSIGN_OK(win, -1, 0, -10000);
        RS_CHECK_INT(rs_window_watermark(win), -5001);
        RS_CHECK_INT(rs_window_closed_until(win), -10000);
        ASSIGN_OK(win, -10000, 1, -10000);
        RS_CHECK(rs_window_is_late(win, -10001));
        RS_CHECK_INT(assign_res(win, -10001, 2), RS_WINDOW_LATE);
        ASSIGN_OK(win, 5000, 3, 0);
        RS_CHECK_INT(rs_window_watermark(win), 0);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        POP(win, -10000);
        RS_CHECK(pop_none(win));
        rs_window_destroy(win);
}

static void test_lateness(void) {
        rs_window_t *win = rs_window_new(10000, 5000, 0, 16);
        int64_t      t;

        ASSIGN_OK(win, 20000, 0, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 15000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        /* 4 s behind the max, in a window that is not closed: accepted (it
         * even opens that window). */
        RS_CHECK(!rs_window_is_late(win, 16000));
        ASSIGN_OK(win, 16000, 1, 10000);
        RS_CHECK_INT(rs_window_open_cnt(win), 2);
        RS_CHECK_INT(rs_window_watermark(win), 15000);

        /* Window [0, 10000) ended at closed_until: late, nothing changes. */
        RS_CHECK(rs_window_is_late(win, 9999));
        RS_CHECK(rs_window_is_late(win, 0));
        RS_CHECK(rs_window_is_late(win, -5));
        RS_CHECK(!rs_window_is_late(win, 10000));
        RS_CHECK_INT(assign_res(win, 9999, 2), RS_WINDOW_LATE);
        RS_CHECK_INT(assign_res(win, -5, 3), RS_WINDOW_LATE);
        RS_CHECK_INT(rs_window_watermark(win), 15000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        RS_CHECK_INT(rs_window_open_cnt(win), 2);
        RS_CHECK_INT(rs_window_resume_offset(win, 100), 0);

        /* A window that closed but was not popped yet is closed all the
         * same: its events are late. */
        ASSIGN_OK(win, 26000, 4, 20000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK(rs_window_is_late(win, 15000));
        RS_CHECK(rs_window_is_late(win, 19999));
        RS_CHECK(!rs_window_is_late(win, 20000));
        RS_CHECK_INT(assign_res(win, 15000, 5), RS_WINDOW_LATE);
        RS_CHECK_INT(rs_window_open_cnt(win), 2);
        RS_CHECK_INT(rs_window_watermark(win), 21000);
        POP(win, 10000);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(assign_res(win, 19999, 6), RS_WINDOW_LATE);
        RS_CHECK_INT(rs_window_open_cnt(win), 1);

        /* is_late agrees with assign across a range of times. */
        for (t = -20000; t <= 40000; t += 250) {
                int late = rs_window_is_late(win, t);

                RS_CHECK_INT(late, t < 20000);
        }
        rs_window_destroy(win);
}

static void test_limit(void) {
        rs_window_t *win = rs_window_new(10000, 3600000, 0, 2);
        int64_t      wm;
        int          i;

        ASSIGN_OK(win, 1000, 0, 0);
        ASSIGN_OK(win, 11000, 1, 10000);
        wm = rs_window_watermark(win);
        RS_CHECK_INT(wm, 11000 - 3600000);

        /* A third, newer window closes the oldest one early: closed_until
         * moves to its end, the watermark stays. */
        ASSIGN_OK(win, 21000, 2, 20000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        RS_CHECK_INT(rs_window_watermark(win), 21000 - 3600000);
        RS_CHECK_INT(rs_window_open_cnt(win), 3);
        /* Its stragglers, and anything older, are late now. */
        RS_CHECK_INT(assign_res(win, 5000, 3), RS_WINDOW_LATE);
        RS_CHECK_INT(assign_res(win, -5000, 4), RS_WINDOW_LATE);
        RS_CHECK(rs_window_is_late(win, 9999));
        /* Events of the windows still open go in. */
        ASSIGN_OK(win, 19999, 5, 10000);
        ASSIGN_OK(win, 20001, 6, 20000);
        POP(win, 0);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_resume_offset(win, 100), 1);
        rs_window_destroy(win);

        /* An event older than every open window at the cap would be the one
         * to close: it is late, and nothing changes. */
        win = rs_window_new(10000, 3600000, 0, 2);
        ASSIGN_OK(win, 21000, 0, 20000);
        ASSIGN_OK(win, 31000, 1, 30000);
        wm = rs_window_watermark(win);
        RS_CHECK_INT(assign_res(win, 11000, 2), RS_WINDOW_LATE);
        RS_CHECK_INT(rs_window_watermark(win), wm);
        RS_CHECK_INT(rs_window_closed_until(win), -3570000);
        RS_CHECK_INT(rs_window_open_cnt(win), 2);
        rs_window_destroy(win);

        /* The cap counts windows not closed yet: closed ones waiting for
         * the next checkpoint to pop them do not make room scarce, so the
         * outcome does not depend on when checkpoints run. */
        win = rs_window_new(10000, 0, 0, 2);
        for (i = 0; i < 9; i++)
                ASSIGN_OK(win, 10000 * i + 1000, i, 10000 * i);
        RS_CHECK_INT(rs_window_open_cnt(win), 9);
        RS_CHECK_INT(rs_window_closed_until(win), 80000);
        for (i = 0; i < 8; i++)
                POP(win, 10000 * i);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_open_cnt(win), 1);
        rs_window_destroy(win);

        /* A lateness over one window lets two stay unclosed. */
        win = rs_window_new(10000, 15000, 0, 2);
        ASSIGN_OK(win, 1000, 0, 0);
        ASSIGN_OK(win, 12000, 1, 10000);
        RS_CHECK_INT(rs_window_closed_until(win), -10000);
        /* This event closes [0, 10000) itself, so nothing closes early. */
        ASSIGN_OK(win, 26000, 2, 20000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        RS_CHECK_INT(rs_window_watermark(win), 11000);
        /* Here [10000, 20000) closes early for [30000, 40000). */
        ASSIGN_OK(win, 32000, 3, 30000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK_INT(rs_window_watermark(win), 17000);
        RS_CHECK_INT(assign_res(win, 19000, 4), RS_WINDOW_LATE);
        ASSIGN_OK(win, 29000, 5, 20000);
        POP(win, 0);
        POP(win, 10000);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_resume_offset(win, 7), 2);
        rs_window_destroy(win);

        /* max_open 1 moves on with in-order traffic. */
        win = rs_window_new(10000, 0, 0, 1);
        ASSIGN_OK(win, 1000, 0, 0);
        ASSIGN_OK(win, 11000, 1, 10000);
        ASSIGN_OK(win, 21000, 2, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 21000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK_INT(rs_window_open_cnt(win), 3);
        POP(win, 0);
        POP(win, 10000);
        RS_CHECK(pop_none(win));
        rs_window_destroy(win);

        win = rs_window_new(10000, 1000, 0, 1);
        ASSIGN_OK(win, 1000, 0, 0);
        ASSIGN_OK(win, 11000, 1, 10000);
        ASSIGN_OK(win, 25000, 2, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 24000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        /* Its watermark would not reach 30000: [20000, 30000) closes
         * early. */
        ASSIGN_OK(win, 30500, 3, 30000);
        RS_CHECK_INT(rs_window_closed_until(win), 30000);
        RS_CHECK_INT(rs_window_watermark(win), 29500);
        RS_CHECK_INT(rs_window_open_cnt(win), 4);
        rs_window_destroy(win);
}

/*
 * The example that made the cap close windows early instead of refusing
 * events (10 s windows, lateness 15 s, max_open 2): a replay from the
 * stored position must count exactly what the first run counted.
 */
static void test_limit_replay(void) {
        static const int64_t ts[]       = {5000, 15000, 21000, 25000, 27000};
        int                  counted[5] = {0}, replayed[5] = {0};
        rs_window_t         *win = rs_window_new(10000, 15000, 0, 2);
        int64_t              start, resume, commit = 4, cu, wm;
        void               **slot;
        int                  i;

        for (i = 0; i < 4; i++)
                counted[i] = rs_window_assign(win, ts[i], i, &start, &slot) ==
                             RS_WINDOW_OK;
        resume = rs_window_resume_offset(win, commit);
        cu     = rs_window_closed_until(win);
        wm     = rs_window_watermark(win);
        counted[4] =
            rs_window_assign(win, ts[4], 4, &start, &slot) == RS_WINDOW_OK;
        rs_window_destroy(win);

        win = rs_window_new(10000, 15000, 0, 2);
        rs_window_restore(win, wm, cu);
        for (i = (int)resume; i < 5; i++) {
                int64_t end = rs_window_start_of(10000, ts[i]) + 10000;
                if (i < commit && end <= cu) {
                        replayed[i] = counted[i]; /* written before */
                        continue;
                }
                replayed[i] = rs_window_assign(win, ts[i], i, &start, &slot) ==
                              RS_WINDOW_OK;
        }
        for (i = 0; i < (int)resume; i++)
                replayed[i] = counted[i];
        for (i = 0; i < 5; i++)
                RS_CHECK_MSG(replayed[i] == counted[i],
                             "event %d: first run %d, replay %d", i, counted[i],
                             replayed[i]);
        rs_window_destroy(win);
}

static void test_idle(void) {
        rs_window_t *win = rs_window_new(10000, 0, 30000, 4);
        int64_t      cu;

        /* No open window: never idle. */
        RS_CHECK(!rs_window_idle(win, 1000000));
        rs_window_touch(win, 1000);
        RS_CHECK(!rs_window_idle(win, 1000000));

        ASSIGN_OK(win, 5000, 0, 0);
        RS_CHECK(!rs_window_idle(win, 1000));
        RS_CHECK(!rs_window_idle(win, 30999));
        RS_CHECK(rs_window_idle(win, 31000));
        RS_CHECK(rs_window_idle(win, 50000));
        rs_window_touch(win, 40000);
        RS_CHECK(!rs_window_idle(win, 50000));
        RS_CHECK(!rs_window_idle(win, 69999));
        RS_CHECK(rs_window_idle(win, 70000));

        /* Idle close: every open window pops, later events of them are
         * late, the watermark stays. */
        ASSIGN_OK(win, 9000, 1, 0);
        RS_CHECK_INT(rs_window_closed_until(win), 0);
        rs_window_close_all(win);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        RS_CHECK_INT(rs_window_watermark(win), 9000);
        POP(win, 0);
        RS_CHECK(pop_none(win));
        RS_CHECK(!rs_window_idle(win, 1000000));
        RS_CHECK_INT(assign_res(win, 9999, 2), RS_WINDOW_LATE);
        ASSIGN_OK(win, 10000, 3, 10000);

        rs_window_close_all(win);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        POP(win, 10000);

        /* close_all without open windows changes nothing. */
        rs_window_close_all(win);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK(pop_none(win));
        rs_window_destroy(win);

        /* idle_ms <= 0 disables. */
        win = rs_window_new(10000, 0, 0, 4);
        rs_window_touch(win, 1000);
        ASSIGN_OK(win, 5000, 0, 0);
        RS_CHECK(!rs_window_idle(win, 1000));
        RS_CHECK(!rs_window_idle(win, INT64_MAX / 2));
        rs_window_destroy(win);
        win = rs_window_new(10000, 0, -1, 4);
        rs_window_touch(win, 1000);
        ASSIGN_OK(win, 5000, 0, 0);
        RS_CHECK(!rs_window_idle(win, INT64_MAX / 2));
        rs_window_destroy(win);

        /* close_all with several windows (lateness keeps them open). */
        win = rs_window_new(10000, 3600000, 30000, 4);
        ASSIGN_OK(win, 5000, 0, 0);
        ASSIGN_OK(win, 27000, 1, 20000);
        ASSIGN_OK(win, 13000, 2, 10000);
        RS_CHECK_INT(rs_window_closed_until(win), -3580000);
        RS_CHECK(pop_none(win));
        rs_window_close_all(win);
        RS_CHECK_INT(rs_window_closed_until(win), 30000);
        RS_CHECK_INT(rs_window_watermark(win), 27000 - 3600000);
        POP(win, 0);
        POP(win, 10000);
        POP(win, 20000);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(assign_res(win, 29999, 3), RS_WINDOW_LATE);
        rs_window_close_all(win);
        cu = rs_window_closed_until(win);
        RS_CHECK_INT(cu, 30000);
        ASSIGN_OK(win, 30000, 4, 30000);
        rs_window_destroy(win);
}

static void test_resume_offset(void) {
        rs_window_t *win = rs_window_new(10000, 5000, 0, 8);

        RS_CHECK_INT(rs_window_resume_offset(win, 100), 100);
        RS_CHECK_INT(rs_window_resume_offset(win, -1), -1);
        ASSIGN_OK(win, 1000, 10, 0);
        ASSIGN_OK(win, 12000, 11, 10000);
        ASSIGN_OK(win, 3000, 12, 0);
        ASSIGN_OK(win, 13000, 13, 10000);
        RS_CHECK_INT(rs_window_resume_offset(win, 14), 10);
        /* The default only counts when no window is open. */
        RS_CHECK_INT(rs_window_resume_offset(win, -1), 10);
        RS_CHECK_INT(rs_window_resume_offset(win, 0), 10);

        /* Window [0, 10000) closes; until it is popped it holds the
         * position back. */
        ASSIGN_OK(win, 21000, 14, 20000);
        RS_CHECK_INT(rs_window_closed_until(win), 10000);
        RS_CHECK_INT(rs_window_resume_offset(win, 15), 10);
        POP(win, 0);
        RS_CHECK_INT(rs_window_resume_offset(win, 15), 11);
        RS_CHECK_INT(rs_window_resume_offset(win, -1), 11);
        RS_CHECK(pop_none(win));

        ASSIGN_OK(win, 26000, 15, 20000);
        POP(win, 10000);
        RS_CHECK_INT(rs_window_resume_offset(win, 16), 14);
        rs_window_close_all(win);
        POP(win, 20000);
        RS_CHECK_INT(rs_window_resume_offset(win, 16), 16);

        /* Offsets arriving out of order: the smallest one counts. */
        ASSIGN_OK(win, 31000, 20, 30000);
        ASSIGN_OK(win, 32000, 18, 30000);
        ASSIGN_OK(win, 33000, 19, 30000);
        RS_CHECK_INT(rs_window_resume_offset(win, 21), 18);
        rs_window_destroy(win);
}

static void test_restore(void) {
        rs_window_t *win = rs_window_new(10000, 5000, 0, 8);

        rs_window_restore(win, 25000, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 25000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK_INT(rs_window_open_cnt(win), 0);

        RS_CHECK(rs_window_is_late(win, 19999));
        RS_CHECK(rs_window_is_late(win, 3));
        RS_CHECK(!rs_window_is_late(win, 20000));
        RS_CHECK_INT(assign_res(win, 19999, 0), RS_WINDOW_LATE);
        RS_CHECK_INT(assign_res(win, 10000, 1), RS_WINDOW_LATE);
        RS_CHECK_INT(rs_window_open_cnt(win), 0);
        RS_CHECK_INT(rs_window_watermark(win), 25000);

        /* The watermark continues from the restored one. */
        ASSIGN_OK(win, 20000, 2, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 25000);
        ASSIGN_OK(win, 29000, 3, 20000);
        RS_CHECK_INT(rs_window_watermark(win), 25000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        ASSIGN_OK(win, 31000, 4, 30000);
        RS_CHECK_INT(rs_window_watermark(win), 26000);
        RS_CHECK_INT(rs_window_closed_until(win), 20000);
        RS_CHECK(pop_none(win));
        ASSIGN_OK(win, 35000, 5, 30000);
        RS_CHECK_INT(rs_window_watermark(win), 30000);
        RS_CHECK_INT(rs_window_closed_until(win), 30000);
        POP(win, 20000);
        RS_CHECK(pop_none(win));
        RS_CHECK_INT(rs_window_resume_offset(win, 6), 4);
        rs_window_destroy(win);

        /* Restoring "nothing seen yet" is a fresh partition. */
        win = rs_window_new(10000, 5000, 0, 8);
        rs_window_restore(win, RS_WINDOW_NONE, RS_WINDOW_NONE);
        RS_CHECK(!rs_window_is_late(win, -1000000));
        ASSIGN_OK(win, -1000000, 0, -1000000);
        RS_CHECK_INT(rs_window_watermark(win), -1005000);
        rs_window_destroy(win);
}

/*
 * Replay property.
 *
 * One partition's events, processed once without a crash (the original run)
 * with checkpoints every RP_CP_ORIG events, where a checkpoint pops (emits)
 * the closed windows. At each cut K a checkpoint also stores the position
 * (O, C, W). A restarted processor restores (W, C), replays from O with
 * checkpoints at other times, and must decide every event as the original
 * did: below K, events of windows closed by C are skipped (written or
 * dead-lettered before), the others rebuild the open windows; from K on the
 * decisions are the original's. Windows written after K are written again
 * with the same contents, those written before are not.
 */
#define RP_N       20000
#define RP_SIZE    10000
#define RP_LATE    2000
#define RP_MAXOPEN 2    /* enough for this traffic, but only just */
#define RP_OFF0    1000 /* offset of event 0 */
#define RP_T0      INT64_C(1700000003217)
#define RP_MAXWIN  1024
#define RP_NOTYET  INT32_MAX
#define RP_CP_ORIG 499 /* several windows close between checkpoints */
#define RP_CP_REP  5

typedef struct agg_s {
        int64_t start;
        int64_t events;
        int64_t offset_sum;
} agg_t;

/* What one run saw: per event the result; per window the event after which
 * the watermark closed it and the checkpoint that popped it (RP_N for the
 * final close_all), and the popped contents in order. */
typedef struct run_s {
        int   res[RP_N];
        int   close_step[RP_MAXWIN];
        int   pop_step[RP_MAXWIN];
        agg_t popped[RP_MAXWIN];
        int   popped_cnt;
} run_t;

static uint64_t rng_next(uint64_t *s) {
        uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static int64_t floor_div(int64_t a, int64_t b) {
        int64_t q = a / b;

        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int widx(int64_t start, int64_t base) {
        int64_t i = (start - base) / RP_SIZE;

        if (i < 0 || i >= RP_MAXWIN) {
                RS_CHECK_MSG(0, "window %lld out of the test's range",
                             (long long)start);
                return 0;
        }
        return (int)i;
}

static void run_init(run_t *run) {
        int w;

        memset(run, 0, sizeof(*run));
        for (w = 0; w < RP_MAXWIN; w++) {
                run->close_step[w] = RP_NOTYET;
                run->pop_step[w]   = RP_NOTYET;
        }
}

/* Marks the windows that closed_until moved past at step i. */
static void mark_closed(run_t *run, int64_t from, int64_t to, int i,
                        int64_t base) {
        int64_t end;

        if (from < base)
                from = base;
        for (end = from + RP_SIZE; end <= to; end += RP_SIZE) {
                int w = widx(end - RP_SIZE, base);

                RS_CHECK(run->close_step[w] == RP_NOTYET);
                run->close_step[w] = i;
        }
}

static int checkpoint(rs_window_t *win, run_t *run, int step, int64_t base) {
        int64_t start;
        void   *data;
        int     n = 0;

        while (rs_window_pop_closed(win, &start, &data)) {
                agg_t *agg = data;
                int    w   = widx(start, base);

                RS_CHECK(agg != NULL);
                if (!agg)
                        continue;
                RS_CHECK_INT(agg->start, start);
                RS_CHECK_MSG(run->pop_step[w] == RP_NOTYET,
                             "window %lld popped twice", (long long)start);
                run->pop_step[w] = step;
                if (run->popped_cnt < RP_MAXWIN)
                        run->popped[run->popped_cnt++] = *agg;
                free(agg);
                n++;
        }
        return n;
}

static void add_event(void **slot, int64_t start, int64_t off) {
        agg_t *agg;

        if (!slot)
                return;
        if (!*slot) {
                agg = calloc(1, sizeof(*agg));
                if (!agg)
                        abort();
                agg->start = start;
                *slot      = agg;
        }
        agg = *slot;
        RS_CHECK_INT(agg->start, start);
        agg->events++;
        agg->offset_sum += off;
}

/* Assigns event i and adds it to its window; returns the result. */
static int feed(rs_window_t *win, run_t *run, const int64_t *ts, int i,
                int64_t base) {
        int64_t start, off = RP_OFF0 + i, cu = rs_window_closed_until(win);
        void  **slot = NULL;
        int     late = rs_window_is_late(win, ts[i]);
        int     r    = rs_window_assign(win, ts[i], off, &start, &slot);

        RS_CHECK_MSG(r == RS_WINDOW_OK || r == RS_WINDOW_LATE, "event %d: %d",
                     i, r);
        RS_CHECK_MSG(late == (r == RS_WINDOW_LATE), "event %d", i);
        if (r == RS_WINDOW_OK) {
                RS_CHECK_INT(start, floor_div(ts[i], RP_SIZE) * RP_SIZE);
                add_event(slot, start, off);
        }
        if (rs_window_closed_until(win) != cu)
                mark_closed(run, cu, rs_window_closed_until(win), i, base);
        run->res[i] = r;
        return r;
}

/* Where the original run stores a position (and the replays start). */
static int is_cut(int k) {
        return k <= 3 || k == 17 || k % 487 == 0 || k >= RP_N - 2;
}

static void test_replay(void) {
        static int64_t ts[RP_N], pos_off[RP_N + 1], pos_cu[RP_N + 1],
            pos_wm[RP_N + 1];
        static run_t orig, rep;
        uint64_t     seed = 20240517;
        int64_t      base, t = RP_T0, max_ts = INT64_MIN, ref_cu = INT64_MIN;
        int64_t      min_ts = INT64_MAX;
        int late_cnt = 0, cut_cnt = 0, skipped_cnt = 0, kept_cnt = 0, k, i, w;
        rs_window_t *win;

        /* Times grow by 0..200 ms and jitter up to 3 s back: with a
         * lateness of 2 s some events are late, most are not. */
        for (i = 0; i < RP_N; i++) {
                t += (int64_t)(rng_next(&seed) % 201);
                ts[i] = t - (int64_t)(rng_next(&seed) % 3001);
                if (ts[i] < min_ts)
                        min_ts = ts[i];
        }
        base = floor_div(min_ts, RP_SIZE) * RP_SIZE;

        /* The run without a crash, checked against a reference model of
         * lateness, and the position a processor would store at each cut. */
        run_init(&orig);
        win = rs_window_new(RP_SIZE, RP_LATE, 0, RP_MAXOPEN);
        for (i = 0; i <= RP_N; i++) {
                int64_t exp_start;
                int     r;

                if (is_cut(i)) {
                        int64_t next = RP_OFF0 + i;

                        checkpoint(win, &orig, i - 1, base);
                        pos_off[i] = rs_window_resume_offset(win, next);
                        pos_cu[i]  = rs_window_closed_until(win);
                        pos_wm[i]  = rs_window_watermark(win);
                        RS_CHECK(pos_off[i] >= RP_OFF0 && pos_off[i] <= next);
                        cut_cnt++;
                }
                if (i == RP_N)
                        break;

                exp_start = floor_div(ts[i], RP_SIZE) * RP_SIZE;
                r         = feed(win, &orig, ts, i, base);
                RS_CHECK_MSG((r == RS_WINDOW_LATE) ==
                                 (exp_start + RP_SIZE <= ref_cu),
                             "event %d: %d, the model disagrees", i, r);
                if (r == RS_WINDOW_LATE)
                        late_cnt++;
                if (ts[i] > max_ts) {
                        max_ts = ts[i];
                        ref_cu = floor_div(max_ts - RP_LATE, RP_SIZE) * RP_SIZE;
                }
                RS_CHECK_INT(rs_window_watermark(win), max_ts - RP_LATE);
                RS_CHECK_INT(rs_window_closed_until(win), ref_cu);
                if (i % RP_CP_ORIG == RP_CP_ORIG - 1)
                        checkpoint(win, &orig, i, base);
        }
        RS_CHECK_INT(cut_cnt, 49);
        rs_window_close_all(win);
        checkpoint(win, &orig, RP_N, base);
        RS_CHECK_INT(rs_window_open_cnt(win), 0);
        rs_window_destroy(win);

        /* The sequence exercises what it should. */
        RS_CHECK_INT(late_cnt, 59);
        RS_CHECK_INT(orig.popped_cnt, 200);

        for (k = 0; k <= RP_N; k++) {
                int from        = (int)(pos_off[k] - RP_OFF0), p;
                int expect_pops = 0, skipped = 0, kept = 0;

                if (!is_cut(k))
                        continue;

                run_init(&rep);
                win = rs_window_new(RP_SIZE, RP_LATE, 0, RP_MAXOPEN);
                rs_window_restore(win, pos_wm[k], pos_cu[k]);
                RS_CHECK_INT(rs_window_watermark(win), pos_wm[k]);
                RS_CHECK_INT(rs_window_closed_until(win), pos_cu[k]);
                RS_CHECK(k > 0 || from == 0);

                for (i = from; i < RP_N; i++) {
                        int64_t end =
                            floor_div(ts[i], RP_SIZE) * RP_SIZE + RP_SIZE;
                        int r = feed(win, &rep, ts, i, base), was_closed;

                        was_closed =
                            orig.res[i] == RS_WINDOW_LATE ||
                            orig.pop_step[widx(end - RP_SIZE, base)] < k;
                        if (i < k && end <= pos_cu[k]) {
                                /* Before the cut, in a window closed by
                                 * then: written or late then, skipped. */
                                RS_CHECK_MSG(was_closed,
                                             "cut %d event %d: open then", k,
                                             i);
                                RS_CHECK_MSG(r == RS_WINDOW_LATE,
                                             "cut %d event %d: %d", k, i, r);
                                skipped++;
                        } else if (i < k) {
                                RS_CHECK_MSG(!was_closed,
                                             "cut %d event %d: closed then", k,
                                             i);
                                RS_CHECK_MSG(r == RS_WINDOW_OK,
                                             "cut %d event %d: %d", k, i, r);
                                kept++;
                        } else {
                                RS_CHECK_MSG(r == orig.res[i],
                                             "cut %d event %d: %d, was %d", k,
                                             i, r, orig.res[i]);
                        }
                        if (i % RP_CP_REP == RP_CP_REP - 1) {
                                p = checkpoint(win, &rep, i, base);
                                RS_CHECK_MSG(i >= k || p == 0,
                                             "cut %d: %d pops before it", k, p);
                        }
                }
                RS_CHECK_INT(skipped + kept, k - from);
                skipped_cnt += skipped;
                kept_cnt += kept;
                rs_window_close_all(win);
                checkpoint(win, &rep, RP_N, base);
                RS_CHECK_INT(rs_window_open_cnt(win), 0);
                rs_window_destroy(win);

                /* The watermark closes each window after the cut at the
                 * same event; each window written after the cut is written
                 * again with the same contents, none written before it. */
                for (w = 0; w < RP_MAXWIN; w++) {
                        if (base + (int64_t)(w + 1) * RP_SIZE > pos_cu[k])
                                RS_CHECK_MSG(rep.close_step[w] ==
                                                 orig.close_step[w],
                                             "cut %d: window %d closed at "
                                             "%d, was %d",
                                             k, w, rep.close_step[w],
                                             orig.close_step[w]);
                        else
                                RS_CHECK(rep.close_step[w] == RP_NOTYET);
                        if (orig.pop_step[w] < k)
                                RS_CHECK_MSG(rep.pop_step[w] == RP_NOTYET,
                                             "cut %d: window %d again", k, w);
                        else if (orig.pop_step[w] != RP_NOTYET)
                                expect_pops++;
                }
                RS_CHECK_INT(rep.popped_cnt, expect_pops);
                for (p = 0; p < rep.popped_cnt && p < expect_pops; p++) {
                        const agg_t *a = &rep.popped[p];
                        const agg_t *b =
                            &orig.popped[orig.popped_cnt - expect_pops + p];

                        RS_CHECK_INT(a->start, b->start);
                        RS_CHECK_INT(a->events, b->events);
                        RS_CHECK_INT(a->offset_sum, b->offset_sum);
                }
        }
        /* Replays met both kinds of event before their cut. */
        RS_CHECK_INT(skipped_cnt, 434);
        RS_CHECK_INT(kept_cnt, 2588);
}

int main(void) {
        test_start_of();
        test_new();
        test_assign();
        test_out_of_order();
        test_watermark();
        test_lateness();
        test_limit();
        test_limit_replay();
        test_idle();
        test_resume_offset();
        test_restore();
        test_replay();
        return RS_TEST_DONE();
}
