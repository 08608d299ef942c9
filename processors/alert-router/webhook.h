/*
 * webhook: a small blocking HTTP/1.1 client that POSTs one JSON body to an
 * http:// URL over a plain TCP socket, for the alert-router's deliveries.
 * No TLS (an https endpoint needs a relay such as a local reverse proxy),
 * no redirects, no keep-alive: one connection per request, every step
 * (resolve, connect, send, wait for the status line) bounded by one
 * deadline, so a dead endpoint costs at most the timeout.
 */
#ifndef RS_ROUTER_WEBHOOK_H
#define RS_ROUTER_WEBHOOK_H

#include <stddef.h>

/* Outcomes of webhook_post(). */
#define WEBHOOK_OK 0 /**< a 2xx answer */
#define WEBHOOK_RETRY                                                          \
        -1 /**< worth retrying: network, timeout, 408,                         \
                429, 5xx */
#define WEBHOOK_PERMANENT                                                      \
        -2 /**< the endpoint refused the body (other 4xx,                      \
                3xx): retrying cannot help */

/** @brief 0 if \p url is an http:// URL this client can reach, else -1
 *         with the reason in errstr. */
int webhook_url_check(const char *url, char *errstr, size_t errstr_size);

/**
 * @brief POSTs \p body (application/json) to \p url within \p timeout_ms,
 *        with an X-Rumstream-Alert-Id header \p alert_id.
 * @returns WEBHOOK_OK, WEBHOOK_RETRY or WEBHOOK_PERMANENT; errstr says what
 *          happened when not OK ("HTTP 503", "connect: Connection refused").
 */
int webhook_post(const char *url, const char *alert_id, const char *body,
                 size_t len, int timeout_ms, char *errstr, size_t errstr_size);

#endif
