/*
 * log: JSON-lines logging to stderr.
 *
 * Each call builds its whole line in stack buffers and hands it to one
 * write(2): nothing is shared between threads but the component name and
 * level, which rs_log_init() sets once before threads start. stdio is not
 * used because its buffer would split long lines into several writes and
 * let lines of different threads interleave.
 *
 * The message is cut to MSG_SIZE bytes and the escaped text to what the line
 * buffer holds; cuts fall between UTF-8 characters and escape sequences, so
 * a truncated line is still valid JSON (and ends in "..." to say so).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/log.h"

#define MSG_SIZE       4096
#define COMPONENT_SIZE 256
/* Room for the escaped message: most messages need little more than their
 * length, and a pathological one is cut rather than growing the stack. */
#define LINE_SIZE (2 * MSG_SIZE + COMPONENT_SIZE + 128)

static const char *const level_names[] = {"debug", "info", "warn", "error"};

/* Kept escaped so that each line only copies it. */
static char           log_component[COMPONENT_SIZE] = "rumstream";
static rs_log_level_t log_min_level                 = RS_LOG_INFO;

void rs_log_init(const char *component, rs_log_level_t min_level) {
        rs_log_json_escape(log_component, sizeof(log_component),
                           component && *component ? component : "rumstream");
        log_min_level = min_level;
}

int rs_log_level_parse(const char *s, rs_log_level_t *out) {
        size_t i;

        if (!s)
                return -1;
        for (i = 0; i < sizeof(level_names) / sizeof(*level_names); i++) {
                if (!strcasecmp(s, level_names[i])) {
                        *out = (rs_log_level_t)i;
                        return 0;
                }
        }
        return -1;
}

/* Length of the well-formed UTF-8 sequence at \p p, or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included, since
 * a strict JSON reader rejects them). */
static size_t utf8_len(const unsigned char *p) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t        n, i;

        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                n = 3;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                n = 4;
        else
                return 0;
        if (p[0] == 0xe0)
                lo = 0xa0;
        else if (p[0] == 0xed)
                hi = 0x9f;
        else if (p[0] == 0xf0)
                lo = 0x90;
        else if (p[0] == 0xf4)
                hi = 0x8f;
        if (p[1] < lo || p[1] > hi)
                return 0;
        for (i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

/* rs_log_json_escape() that also says how much of \p s it took, so that
 * rs_log() can mark a line it had to cut. */
static size_t escape(char *out, size_t size, const char *s, size_t *consumed) {
        static const char    hex[] = "0123456789abcdef";
        const unsigned char *p     = (const unsigned char *)s;
        size_t               len   = 0, n, adv;
        const char          *src;
        char                 esc[8];

        while (*p) {
                src    = esc;
                adv    = 1;
                n      = 2;
                esc[0] = '\\';
                switch (*p) {
                case '"':
                case '\\':
                        esc[1] = (char)*p;
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        if (*p < 0x20) {
                                memcpy(esc + 1, "u00", 3);
                                esc[4] = hex[*p >> 4];
                                esc[5] = hex[*p & 0xf];
                                n      = 6;
                        } else if (*p < 0x80) {
                                src = (const char *)p;
                                n   = 1;
                        } else if ((n = utf8_len(p))) {
                                src = (const char *)p;
                                adv = n;
                        } else {
                                /* Invalid bytes would make the whole line
                                 * unreadable to a strict consumer. */
                                src = "\\ufffd";
                                n   = 6;
                        }
                        break;
                }
                /* Whole sequences only: half an escape or half a character
                 * would break the JSON around it. */
                if (len + n >= size)
                        break;
                memcpy(out + len, src, n);
                len += n;
                p += adv;
        }
        out[len]  = '\0';
        *consumed = (size_t)(p - (const unsigned char *)s);
        return len;
}

size_t rs_log_json_escape(char *out, size_t size, const char *s) {
        size_t consumed;

        if (size == 0)
                return 0;
        return escape(out, size, s ? s : "", &consumed);
}

/* vsnprintf() cuts by bytes; drop a character it left incomplete rather
 * than have it come out as U+FFFD. */
static void trim_partial_utf8(char *s, size_t len) {
        size_t        i = len, cont = 0, need;
        unsigned char lead;

        while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80) {
                i--;
                cont++;
        }
        if (i == 0)
                return;
        lead = (unsigned char)s[i - 1];
        need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        if (need > cont + 1)
                s[i - 1] = '\0';
}

void rs_log(rs_log_level_t level, const char *fmt, ...) {
        /* Room kept after the message for the cut mark and the close. */
        static const char end[]       = "...\"}\n";
        int               saved_errno = errno;
        char              msg[MSG_SIZE];
        char              line[LINE_SIZE];
        struct timespec   ts;
        struct tm         tm;
        size_t            len, off, used;
        ssize_t           w;
        va_list           ap;
        int               n;

        if (level < log_min_level)
                return;
        /* An out-of-range level still logs; it must not index past the
         * names. */
        if ((int)level < RS_LOG_DEBUG)
                level = RS_LOG_DEBUG;
        else if (level > RS_LOG_ERROR)
                level = RS_LOG_ERROR;

        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n < 0) {
                snprintf(msg, sizeof(msg), "(bad log format \"%s\")", fmt);
                n = 0;
        } else if ((size_t)n >= sizeof(msg)) {
                trim_partial_utf8(msg, sizeof(msg) - 1);
        }

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        len = (size_t)snprintf(
            line, sizeof(line),
            "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\","
            "\"component\":\"%s\",\"msg\":\"",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec, (int)(ts.tv_nsec / 1000000), level_names[level],
            log_component);
        len += escape(line + len, sizeof(line) - len - sizeof(end), msg, &used);
        /* Cut by vsnprintf() or by the escape: say so. */
        if ((size_t)n >= sizeof(msg) || msg[used] != '\0') {
                memcpy(line + len, end, sizeof(end) - 1);
                len += sizeof(end) - 1;
        } else {
                memcpy(line + len, end + 3, sizeof(end) - 4);
                len += sizeof(end) - 4;
        }

        /* A short write only happens on a full pipe or a signal; finish the
         * line rather than leave half of it. */
        for (off = 0; off < len; off += (size_t)w) {
                w = write(STDERR_FILENO, line + off, len - off);
                if (w < 0 && errno == EINTR) {
                        w = 0;
                        continue;
                }
                if (w <= 0)
                        break;
        }
        errno = saved_errno;
}
