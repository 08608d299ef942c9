/*
 * window: tumbling event-time windows of one partition.
 * See rumstream/window.h for the idea.
 */
#include <stdlib.h>

#include "rumstream/window.h"

typedef struct slot_s {
        int64_t start;
        int64_t first_offset;
        void   *data;
} slot_t;

struct rs_window_s {
        int64_t size;
        int64_t lateness;
        int64_t idle_ms;
        int64_t watermark;
        int64_t closed_until;
        int64_t last_active;
        size_t  max_open; /* windows not yet closed */
        size_t  cnt;      /* slots in use: open, or closed and not popped */
        size_t  cap;
        slot_t *slots; /* ordered by start */
};

rs_window_t *rs_window_new(int64_t size_ms, int64_t lateness_ms,
                           int64_t idle_ms, size_t max_open) {
        rs_window_t *win;

        if (size_ms <= 0 || lateness_ms < 0 || max_open == 0)
                return NULL;
        win = calloc(1, sizeof(*win));
        if (!win)
                return NULL;
        win->cap   = max_open < 4 ? 4 : max_open;
        win->slots = calloc(win->cap, sizeof(*win->slots));
        if (!win->slots) {
                free(win);
                return NULL;
        }
        win->size         = size_ms;
        win->lateness     = lateness_ms;
        win->idle_ms      = idle_ms;
        win->max_open     = max_open;
        win->watermark    = RS_WINDOW_NONE;
        win->closed_until = RS_WINDOW_NONE;
        win->last_active  = RS_WINDOW_NONE;
        return win;
}

void rs_window_destroy(rs_window_t *win) {
        if (!win)
                return;
        free(win->slots);
        free(win);
}

int64_t rs_window_start_of(int64_t size_ms, int64_t ts) {
        int64_t r = ts % size_ms;

        return r < 0 ? ts - r - size_ms : ts - r;
}

void rs_window_restore(rs_window_t *win, int64_t watermark_ms,
                       int64_t closed_until_ms) {
        win->watermark    = watermark_ms;
        win->closed_until = closed_until_ms;
}

int64_t rs_window_watermark(const rs_window_t *win) {
        return win->watermark;
}

int64_t rs_window_closed_until(const rs_window_t *win) {
        return win->closed_until;
}

int64_t rs_window_size(const rs_window_t *win) {
        return win->size;
}

int rs_window_is_late(const rs_window_t *win, int64_t ts) {
        return rs_window_start_of(win->size, ts) + win->size <=
               win->closed_until;
}

/* closed_until once an event at ts has advanced the watermark. */
static int64_t closed_after(const rs_window_t *win, int64_t ts) {
        int64_t wm = ts - win->lateness, closed;

        if (win->watermark != RS_WINDOW_NONE && wm <= win->watermark)
                return win->closed_until;
        /* The newest window end at or before the watermark. */
        closed = rs_window_start_of(win->size, wm);
        return closed > win->closed_until ? closed : win->closed_until;
}

static void advance(rs_window_t *win, int64_t ts) {
        int64_t wm = ts - win->lateness;

        if (win->watermark != RS_WINDOW_NONE && wm <= win->watermark)
                return;
        win->closed_until = closed_after(win, ts);
        win->watermark    = wm;
}

/* Windows that are not closed at closed_until. */
static size_t unclosed(const rs_window_t *win, int64_t closed_until) {
        size_t i, n = 0;

        for (i = win->cnt; i > 0; i--) {
                if (win->slots[i - 1].start + win->size <= closed_until)
                        break;
                n++;
        }
        return n;
}

int rs_window_assign(rs_window_t *win, int64_t ts, int64_t offset,
                     int64_t *startp, void ***datap) {
        int64_t start = rs_window_start_of(win->size, ts);
        size_t  i;

        if (start + win->size <= win->closed_until)
                return RS_WINDOW_LATE;

        /* Newest first: in-order traffic hits the last slot. */
        for (i = win->cnt; i > 0; i--) {
                if (win->slots[i - 1].start == start) {
                        i--;
                        goto found;
                }
                if (win->slots[i - 1].start < start)
                        break;
        }
        /* At the cap, the oldest unclosed window closes early instead of
         * the event being refused. closed_until is stored with the input
         * position, so a replay takes the same decisions: refusing would
         * depend on windows a replay does not rebuild. Windows this event
         * closes itself do not count (else max_open 1 could never move
         * on), and closed ones waiting to be popped never do. */
        {
                int64_t after = closed_after(win, ts);
                size_t  n     = unclosed(win, after);
                while (n >= win->max_open) {
                        int64_t oldest = win->slots[win->cnt - n].start;
                        if (start < oldest)
                                return RS_WINDOW_LATE; /* it would go first */
                        win->closed_until = oldest + win->size;
                        n--;
                }
        }
        if (win->cnt == win->cap) {
                slot_t *n = realloc(win->slots, 2 * win->cap * sizeof(*n));
                if (!n)
                        return RS_WINDOW_NOMEM;
                win->slots = n;
                win->cap *= 2;
        }
        /* Insert at i, keeping the order. */
        for (size_t j = win->cnt; j > i; j--)
                win->slots[j] = win->slots[j - 1];
        win->slots[i].start        = start;
        win->slots[i].first_offset = offset;
        win->slots[i].data         = NULL;
        win->cnt++;

found:
        if (offset < win->slots[i].first_offset)
                win->slots[i].first_offset = offset;
        *startp = start;
        *datap  = &win->slots[i].data;
        advance(win, ts);
        return RS_WINDOW_OK;
}

int rs_window_pop_closed(rs_window_t *win, int64_t *startp, void **datap) {
        size_t j;

        if (win->cnt == 0 ||
            win->slots[0].start + win->size > win->closed_until)
                return 0;
        *startp = win->slots[0].start;
        *datap  = win->slots[0].data;
        for (j = 1; j < win->cnt; j++)
                win->slots[j - 1] = win->slots[j];
        win->cnt--;
        return 1;
}

void rs_window_close_all(rs_window_t *win) {
        int64_t end;

        if (win->cnt == 0)
                return;
        end = win->slots[win->cnt - 1].start + win->size;
        if (end > win->closed_until)
                win->closed_until = end;
}

void rs_window_touch(rs_window_t *win, int64_t now_ms) {
        win->last_active = now_ms;
}

int rs_window_idle(const rs_window_t *win, int64_t now_ms) {
        return win->idle_ms > 0 && win->cnt > 0 &&
               win->last_active != RS_WINDOW_NONE &&
               now_ms - win->last_active >= win->idle_ms;
}

int64_t rs_window_resume_offset(const rs_window_t *win, int64_t dflt) {
        int64_t min;
        size_t  i;

        /* dflt only stands in for "no open window": it must not hide an
         * open window's offset (a caller may pass -1 or 0). */
        if (win->cnt == 0)
                return dflt;
        min = win->slots[0].first_offset;
        for (i = 1; i < win->cnt; i++)
                if (win->slots[i].first_offset < min)
                        min = win->slots[i].first_offset;
        return min;
}

size_t rs_window_open_cnt(const rs_window_t *win) {
        return win->cnt;
}

void rs_window_foreach(rs_window_t *win,
                       void (*fn)(int64_t start, void *data, void *opaque),
                       void *opaque) {
        size_t i;

        for (i = 0; i < win->cnt; i++)
                fn(win->slots[i].start, win->slots[i].data, opaque);
}
