/*
 * window: tumbling event-time windows of one input partition.
 *
 * Windows are aligned to the epoch: an event at time t belongs to the window
 * [start, start + size) with start = floor(t / size) * size. The partition's
 * watermark is the largest event time seen minus the allowed lateness; every
 * window whose end is at or before the watermark is closed. Because window
 * ends are multiples of the size, "closed" is tracked as one number,
 * closed_until: the end of the newest closed window. An event is late if its
 * window ended at or before closed_until, which makes lateness a pure
 * function of the events before it (so a replay classifies them the same).
 * Idle partitions (no event for idle_ms of wall-clock time) and the end of
 * input close every open window at once.
 *
 * The open windows are kept in a small array ordered by start (a partition
 * rarely has more than two or three open); each records the offset of the
 * first input message that went into it, so that the resume position of the
 * partition — the oldest such offset — never passes an open window.
 *
 * Memory is bounded whatever timestamps arrive: when an event would open a
 * window beyond max_open unclosed ones, the oldest unclosed window closes
 * early (closed_until moves to its end, so its stragglers become late)
 * rather than the event being refused; a refusal would depend on windows a
 * replay does not rebuild, an early close depends only on closed_until,
 * which is stored with the position. Closed windows stay until the owner
 * pops them (at its next checkpoint).
 */
#ifndef RS_WINDOW_H
#define RS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define RS_WINDOW_NONE INT64_MIN

/* rs_window_assign() results. */
#define RS_WINDOW_OK    0
#define RS_WINDOW_LATE  -1 /* its window is closed already */
#define RS_WINDOW_NOMEM -2 /* no memory for another window */

typedef struct rs_window_s rs_window_t;

/** @brief Window bookkeeping for one partition. Caller frees with
 *         rs_window_destroy() (which does not touch the window payloads). */
rs_window_t *rs_window_new(int64_t size_ms, int64_t lateness_ms,
                           int64_t idle_ms, size_t max_open);
void         rs_window_destroy(rs_window_t *win);

/** @brief Start of the window holding \p ts (floor, also for ts < 0). */
int64_t rs_window_start_of(int64_t size_ms, int64_t ts);

/** @brief Restores the watermark and closed_until stored with a position.*/
void rs_window_restore(rs_window_t *win, int64_t watermark_ms,
                       int64_t closed_until_ms);

int64_t rs_window_watermark(const rs_window_t *win);
int64_t rs_window_closed_until(const rs_window_t *win);
int64_t rs_window_size(const rs_window_t *win);

/**
 * @brief Finds or opens the window of an event at \p ts read from input
 *        \p offset, and advances the watermark with it.
 * @param datap set to the window's payload slot (NULL when it was just
 *        opened; the caller stores its payload there).
 * @returns RS_WINDOW_OK with *startp set; RS_WINDOW_LATE (its window is
 *          closed, or would be the one closed early at the cap) or
 *          RS_WINDOW_NOMEM, and then nothing changed, the watermark
 *          included. The slot pointer is valid until the next assign or
 *          pop.
 */
int rs_window_assign(rs_window_t *win, int64_t ts, int64_t offset,
                     int64_t *startp, void ***datap);

/** @brief Would an event at \p ts be late? (No side effects.) */
int rs_window_is_late(const rs_window_t *win, int64_t ts);

/**
 * @brief Pops the oldest open window that has closed, if any.
 * @returns 1 with *startp and *datap set (the caller now owns the payload),
 *          or 0 if no open window has closed.
 */
int rs_window_pop_closed(rs_window_t *win, int64_t *startp, void **datap);

/** @brief Closes every open window (end of input, idle partition): moves
 *         closed_until to the end of the newest open window. */
void rs_window_close_all(rs_window_t *win);

/** @brief Records wall-clock activity; rs_window_idle() is 1 once idle_ms
 *         passed without any (idle_ms <= 0 disables). */
void rs_window_touch(rs_window_t *win, int64_t now_ms);
int  rs_window_idle(const rs_window_t *win, int64_t now_ms);

/** @brief Oldest first-offset of the open windows, or \p dflt if none. */
int64_t rs_window_resume_offset(const rs_window_t *win, int64_t dflt);

size_t rs_window_open_cnt(const rs_window_t *win);

/** @brief Visits every open window's payload (e.g. to free them). */
void rs_window_foreach(rs_window_t *win,
                       void (*fn)(int64_t start, void *data, void *opaque),
                       void *opaque);

#endif
