/*
 * log: JSON-lines logging to stderr.
 *
 * Every line is one JSON object written with a single write(2) so lines from
 * several threads never interleave:
 *   {"ts":"2026-11-23T08:47:07.123Z","level":"info","component":"rum-aggregator","msg":"..."}
 * The message is formatted printf-style and JSON-escaped.
 */
#ifndef RS_LOG_H
#define RS_LOG_H

typedef enum {
        RS_LOG_DEBUG = 0,
        RS_LOG_INFO  = 1,
        RS_LOG_WARN  = 2,
        RS_LOG_ERROR = 3,
} rs_log_level_t;

/** @brief Sets the component name (copied) and the lowest level printed. */
void rs_log_init(const char *component, rs_log_level_t min_level);

/** @brief Parses "debug", "info", "warn" or "error".
 *  @returns 0, or -1 if \p s names no level. */
int rs_log_level_parse(const char *s, rs_log_level_t *out);

void rs_log(rs_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** @brief Writes \p s JSON-escaped (without quotes) into \p out.
 *  @returns the length written; output is always NUL-terminated and cut
 *           short rather than overflowing. */
size_t rs_log_json_escape(char *out, size_t size, const char *s);

#define rs_log_debug(...) rs_log(RS_LOG_DEBUG, __VA_ARGS__)
#define rs_log_info(...)  rs_log(RS_LOG_INFO, __VA_ARGS__)
#define rs_log_warn(...)  rs_log(RS_LOG_WARN, __VA_ARGS__)
#define rs_log_error(...) rs_log(RS_LOG_ERROR, __VA_ARGS__)

#endif
