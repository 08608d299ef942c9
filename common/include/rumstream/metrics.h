/*
 * metrics: Prometheus counters and gauges, and an HTTP endpoint serving
 * them with a health check.
 *
 * Counters are lock-free atomics, cheap enough for the per-event path.
 * Registration happens at start; the HTTP thread renders the text exposition
 * format on GET /metrics and answers GET /health with 200 while the process
 * reports itself healthy (503 otherwise).
 */
#ifndef RS_METRICS_H
#define RS_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_metrics_s rs_metrics_t;

typedef struct rs_counter_s {
        _Atomic uint64_t v;
} rs_counter_t;

typedef struct rs_gauge_s {
        _Atomic int64_t v;
} rs_gauge_t;

/** @brief A registry whose metric names get \p prefix (e.g. "rumstream_").
 *  Caller frees with rs_metrics_destroy() (which stops the server). */
rs_metrics_t *rs_metrics_new(const char *prefix);
void          rs_metrics_destroy(rs_metrics_t *m);

/**
 * @brief Registers (or finds) a counter. \p labels is the label set in
 *        exposition syntax without braces (e.g. "reason=\"late\"") or NULL.
 * @returns a pointer owned by the registry, valid until it is destroyed.
 */
rs_counter_t *rs_metrics_counter(rs_metrics_t *m, const char *name,
                                 const char *help, const char *labels);
rs_gauge_t   *rs_metrics_gauge(rs_metrics_t *m, const char *name,
                               const char *help, const char *labels);

static inline void rs_counter_add(rs_counter_t *c, uint64_t n) {
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}
static inline uint64_t rs_counter_get(rs_counter_t *c) {
        return atomic_load_explicit(&c->v, memory_order_relaxed);
}
static inline void rs_gauge_set(rs_gauge_t *g, int64_t v) {
        atomic_store_explicit(&g->v, v, memory_order_relaxed);
}
static inline int64_t rs_gauge_get(rs_gauge_t *g) {
        return atomic_load_explicit(&g->v, memory_order_relaxed);
}

/** @brief Renders all metrics in the Prometheus text format into \p buf.
 *  @returns the length it needs (written only if < size). */
size_t rs_metrics_render(rs_metrics_t *m, char *buf, size_t size);

void rs_metrics_set_healthy(rs_metrics_t *m, int healthy);

/**
 * @brief Serves /metrics and /health on \p addr:\p port from a thread.
 *        Port 0 picks a free port; rs_metrics_port() tells which.
 * @returns 0 or -1 with errstr set.
 */
int rs_metrics_serve(rs_metrics_t *m, const char *addr, int port, char *errstr,
                     size_t errstr_size);
int rs_metrics_port(const rs_metrics_t *m);

#endif
