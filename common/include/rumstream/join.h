/*
 * join: two inputs read as co-partitioned pairs, judged window by window
 * once both have closed a window.
 *
 * Processors that join two topics keyed by tenant with the same partition
 * count (the error-tracker's errors with page views, the
 * synthetic-correlator's lab runs with real-user aggregates) subscribe to
 * both; the range assignor gives partition p of both to one instance. A
 * pair (rs_join_pair_t, embedded as the first member of the processor's
 * own pair) holds the two sides of partition p, how far each has closed
 * its windows, the windows each side handed over and not judged yet
 * (pending, by window start, values the processor's), and how far the
 * pair has judged (evaluated_until, stored by the processor with the
 * judgement).
 *
 * A window is judged once both sides closed it: the bound is the smaller
 * of the two sides' closed ends, where a side that is not assigned, or
 * that has nothing open and is at the end of a backfill or has been silent
 * for max_wait_ms, does not hold it back (then the bound is what either
 * side closed). Windows are judged in order; with nothing that needs
 * every window (the processor's `busy` answers), the evaluation jumps
 * over windows without anything pending.
 */
#ifndef RS_JOIN_H
#define RS_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/map.h"
#include "rumstream/stream.h"

typedef struct rs_join_pair_s {
        int32_t           partition;
        rs_stream_part_t *side[2];      /**< NULL while not assigned */
        int64_t           done[2];      /**< end of the last window closed */
        int64_t           active_ms[2]; /**< last input, monotonic ms */
        /** Windows before this are judged; RS_WINDOW_NONE before any. */
        int64_t     evaluated_until;
        int         progress_dirty; /**< evaluated_until not stored yet */
        rs_map64_t *pending;        /**< window start -> the owner's */
} rs_join_pair_t;

/** The pairs of a processor, by partition number. */
typedef struct rs_join_s {
        rs_join_pair_t **pairs;
        int32_t          cnt;
} rs_join_t;

/** When the sides hold judgement back (see the top). */
typedef struct rs_join_conf_s {
        int64_t window_ms;
        int64_t max_wait_ms;
        int     until_eof;
} rs_join_conf_t;

typedef struct rs_join_ops_s {
        /** 1 if every window must be judged, even one with nothing pending
         *  (e.g. an issue is open and an empty window resolves it). */
        int (*busy)(void *opaque, rs_join_pair_t *p);
        /** Judges window [start, start + window_ms). \p pending is what
         *  the sides handed over for it (NULL if nothing), now the
         *  callee's. @returns 0 or -1 (evaluation stops). */
        int (*judge)(void *opaque, rs_join_pair_t *p, int64_t start,
                     void *pending);
} rs_join_ops_t;

/** @brief Sets up an empty pair for \p partition. @returns 0 or -1 (no
 *         memory). */
int rs_join_pair_init(rs_join_pair_t *p, int32_t partition);
/** @brief Frees the pair's own memory; pending values must be gone
 *         (rs_join_pending_foreach()). */
void rs_join_pair_fini(rs_join_pair_t *p);

/** @brief The pair of \p partition, or NULL. */
rs_join_pair_t *rs_join_get(const rs_join_t *j, int32_t partition);
/** @brief Registers \p p (NULL: forgets the pair) for \p partition.
 *  @returns 0 or -1 (no memory). */
int rs_join_set(rs_join_t *j, int32_t partition, rs_join_pair_t *p);
/** @brief Frees the table (not the pairs). */
void rs_join_destroy(rs_join_t *j);

/** @brief Side \p side (0 or 1) of \p p is \p part, just assigned. */
void rs_join_attach(rs_join_pair_t *p, int side, rs_stream_part_t *part);
/** @brief \p part goes away. @returns 1 when neither side is left. */
int rs_join_detach(rs_join_pair_t *p, rs_stream_part_t *part);
/** @brief Side \p side received input now. */
void rs_join_touch(rs_join_pair_t *p, int side);
/** @brief Side \p side closed windows: records how far. */
void rs_join_closed(rs_join_pair_t *p, int side);

/** @brief The pending slot of window \p start (created, value NULL, if
 *         new). Aborts on out of memory. */
void **rs_join_pending(rs_join_pair_t *p, int64_t start);
/** @brief Visits every pending value (e.g. to free them). */
void rs_join_pending_foreach(rs_join_pair_t *p,
                             void (*fn)(int64_t start, void *value,
                                        void *opaque),
                             void *opaque);
/** @brief The sorted starts of the windows with a pending value.
 *  @returns their number; *out is malloc'ed (caller frees), aborts on out
 *           of memory. */
size_t rs_join_pending_starts(rs_join_pair_t *p, int64_t **out);

/**
 * @brief Judges every window both sides are past (see the top), in order,
 *        through ops->judge; evaluated_until follows each window judged
 *        and then moves to the bound. Forgets judged windows.
 * @returns the number of windows judged (rows the caller may have to
 *          write even with no input moved), or -1 if a judgement failed
 *          (or c->window_ms is not positive).
 */
int rs_join_evaluate(rs_join_pair_t *p, const rs_join_conf_t *c,
                     const rs_join_ops_t *ops, void *opaque);

/**
 * @brief Refuses to start when topics \p a and \p b (both read by
 *        \p s) have different partition counts: the pairs would not line
 *        up. \p what names the join in the message ("error rates").
 *        A count that cannot be read (a topic not created yet) is logged
 *        and allowed.
 * @returns 0, or -1 with errstr naming both topics and counts.
 */
int rs_join_check_topics(rs_stream_t *s, const char *a, const char *b,
                         const char *what, char *errstr, size_t errstr_size);

/** @brief Monotonic milliseconds (CLOCK_MONOTONIC_COARSE). */
int64_t rs_join_mono_ms(void);

#endif
