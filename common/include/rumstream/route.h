/*
 * route: turns a page URL into a low-cardinality route.
 *
 * Scheme, host, port, query string and fragment are dropped; path segments
 * that identify an object rather than a page become placeholders:
 *   all digits                       -> :id
 *   a UUID (8-4-4-4-12 hex)           -> :uuid
 *   16 or more hex digits            -> :hex
 *   20 or more chars of [A-Za-z0-9_-] mixing letters and digits -> :token
 * Repeated and trailing slashes are removed ("/" stays "/"); an empty path is
 * "/". Percent-encoded bytes are kept as they are. The result is cut at
 * RS_ROUTE_MAX - 1 bytes on a segment boundary.
 * "https://shop.example/Products/12345/reviews?page=2#top" ->
 * "/Products/:id/reviews"
 */
#ifndef RS_ROUTE_H
#define RS_ROUTE_H

#include <stddef.h>

#define RS_ROUTE_MAX      256
#define RS_ROUTE_OVERFLOW "__overflow__"

/**
 * @brief Normalizes \p url (\p len bytes, need not be NUL-terminated) into
 *        \p out (RS_ROUTE_MAX bytes, NUL-terminated).
 * @returns the length of the route written.
 */
size_t rs_route_normalize(const char *url, size_t len, char out[RS_ROUTE_MAX]);

#endif
