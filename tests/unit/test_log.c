/*
 * test_log: JSON escaping (table and every cut size), level names, and the
 * lines rs_log() really writes, read back from a pipe or a file that stands
 * in for stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rumstream/log.h"
#include "rs_test.h"

/* Whether s[0..len) is a whole JSON string body: every escape complete,
 * every UTF-8 character complete, no raw quote or control character. Kept
 * independent of log.c so that it checks rather than repeats it. */
static int json_body_ok(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *)str;
        size_t               i = 0, j, n;

        while (i < len) {
                if (s[i] == '\\') {
                        if (i + 1 >= len)
                                return 0;
                        if (strchr("\"\\/bfnrt", s[i + 1]) && s[i + 1]) {
                                i += 2;
                                continue;
                        }
                        if (s[i + 1] != 'u' || i + 6 > len)
                                return 0;
                        for (j = i + 2; j < i + 6; j++)
                                if (!strchr("0123456789abcdefABCDEF", s[j]) ||
                                    !s[j])
                                        return 0;
                        i += 6;
                } else if (s[i] == '"' || s[i] < 0x20) {
                        return 0;
                } else if (s[i] < 0x80) {
                        i++;
                } else {
                        n = s[i] >= 0xf0   ? 4
                            : s[i] >= 0xe0 ? 3
                            : s[i] >= 0xc2 ? 2
                                           : 0;
                        if (!n || i + n > len)
                                return 0;
                        for (j = i + 1; j < i + n; j++)
                                if ((s[j] & 0xc0) != 0x80)
                                        return 0;
                        i += n;
                }
        }
        return 1;
}

static const struct {
        const char *in;
        const char *out;
} escapes[] = {
    {"", ""},
    {"plain text", "plain text"},
    {"say \"hi\"", "say \\\"hi\\\""},
    {"C:\\dir", "C:\\\\dir"},
    {"l1\nl2\tx\r", "l1\\nl2\\tx\\r"},
    {"\b\f", "\\b\\f"},
    {"\x01", "\\u0001"},
    {"a\037b", "a\\u001fb"},
    {"del \x7f", "del \x7f"},
    {"/path/", "/path/"},
    /* é, €, 😀 pass as they are. */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    /* Not UTF-8: a stray byte, a cut sequence, an overlong '/', a UTF-16
     * surrogate, past U+10FFFF. */
    {"\xff", "\\ufffd"},
    {"\xc3(", "\\ufffd("},
    {"\xe2\x82", "\\ufffd\\ufffd"},
    {"\xc0\xaf", "\\ufffd\\ufffd"},
    {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},
    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},
};

static void test_escape_table(void) {
        char   out[128];
        size_t i, n;

        for (i = 0; i < sizeof(escapes) / sizeof(*escapes); i++) {
                n = rs_log_json_escape(out, sizeof(out), escapes[i].in);
                RS_CHECK_STR(out, escapes[i].out);
                RS_CHECK_INT(n, strlen(escapes[i].out));
                RS_CHECK(json_body_ok(out, n));
        }
        RS_CHECK_INT(rs_log_json_escape(out, sizeof(out), NULL), 0);
        RS_CHECK_STR(out, "");
}

/* Every size from 0 up: the output is a terminated prefix of the full
 * escape, nothing is written past \p size, and the cut never splits an
 * escape or a character. */
static void test_escape_cut(void) {
        static const char *const inputs[] = {
            "a\"b\\c\nd\001e",
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x",
            "\"\"\"\"",
            "\x02\x03\xff\xc3",
            "abc",
        };
        char   full[256], out[256];
        size_t i, size, n, full_len;

        for (i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
                full_len = rs_log_json_escape(full, sizeof(full), inputs[i]);
                for (size = 0; size <= full_len + 2; size++) {
                        memset(out, 'X', sizeof(out));
                        n = rs_log_json_escape(out, size, inputs[i]);
                        if (size == 0) {
                                RS_CHECK_INT(n, 0);
                                RS_CHECK(out[0] == 'X');
                                continue;
                        }
                        RS_CHECK_MSG(n < size, "input %zu size %zu: %zu", i,
                                     size, n);
                        RS_CHECK(out[n] == '\0');
                        RS_CHECK_INT(strlen(out), n);
                        RS_CHECK(out[size] == 'X');
                        RS_CHECK_MSG(!memcmp(out, full, n),
                                     "input %zu size %zu: not a prefix", i,
                                     size);
                        RS_CHECK_MSG(json_body_ok(out, n),
                                     "input %zu size %zu: \"%s\" is cut "
                                     "inside a sequence",
                                     i, size, out);
                        if (size > full_len)
                                RS_CHECK_INT(n, full_len);
                }
        }
        /* The largest whole prefix is kept, not less. */
        {
                char small[4];

                RS_CHECK_INT(rs_log_json_escape(small, sizeof(small), "ab\n"),
                             2);
                RS_CHECK_STR(small, "ab");
                RS_CHECK_INT(rs_log_json_escape(small, sizeof(small), "\"x"),
                             3);
                RS_CHECK_STR(small, "\\\"x");
        }
}

static void test_level_parse(void) {
        rs_log_level_t level = RS_LOG_ERROR;

        RS_CHECK_INT(rs_log_level_parse("debug", &level), 0);
        RS_CHECK_INT(level, RS_LOG_DEBUG);
        RS_CHECK_INT(rs_log_level_parse("info", &level), 0);
        RS_CHECK_INT(level, RS_LOG_INFO);
        RS_CHECK_INT(rs_log_level_parse("warn", &level), 0);
        RS_CHECK_INT(level, RS_LOG_WARN);
        RS_CHECK_INT(rs_log_level_parse("error", &level), 0);
        RS_CHECK_INT(level, RS_LOG_ERROR);
        RS_CHECK_INT(rs_log_level_parse("DEBUG", &level), 0);
        RS_CHECK_INT(level, RS_LOG_DEBUG);
        RS_CHECK_INT(rs_log_level_parse("warning", &level), -1);
        RS_CHECK_INT(rs_log_level_parse("", &level), -1);
        RS_CHECK_INT(rs_log_level_parse("info ", &level), -1);
        RS_CHECK_INT(rs_log_level_parse(NULL, &level), -1);
        RS_CHECK_INT(level, RS_LOG_DEBUG); /* untouched on failure */
}


/*
 * Capturing stderr.
 */

static int saved_stderr = -1;
static int capture_fd   = -1;

static void capture_start(void) {
        int p[2];

        if (pipe(p) == -1) {
                perror("pipe");
                exit(1);
        }
        saved_stderr = dup(STDERR_FILENO);
        dup2(p[1], STDERR_FILENO);
        close(p[1]);
        capture_fd = p[0];
}

/* Restores stderr and returns what was written (caller frees). The pipe
 * holds 64 KiB, more than any test writes before reading. */
static char *capture_end(size_t *lenp) {
        size_t  len = 0, cap = 65536;
        char   *buf = malloc(cap + 1);
        ssize_t r;

        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);
        while ((r = read(capture_fd, buf + len, cap - len)) > 0)
                len += (size_t)r;
        close(capture_fd);
        buf[len] = '\0';
        *lenp    = len;
        return buf;
}

/* Checks one line's framing and returns its msg body (in place, up to
 * the closing quote) or NULL. */
static const char *check_line(const char *line, size_t len, const char *level,
                              const char *component, size_t *msg_len) {
        char        head[256];
        struct tm   tm;
        time_t      ts, now = time(NULL);
        int         ms;
        const char *msg;

        if (len < 40 || strncmp(line, "{\"ts\":\"", 7) ||
            line[len - 1] != '\n' || strncmp(line + len - 3, "\"}\n", 3)) {
                RS_CHECK_MSG(0, "bad framing: %.*s", (int)len, line);
                return NULL;
        }
        memset(&tm, 0, sizeof(tm));
        if (sscanf(line + 7, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year,
                   &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                   &ms) != 7 ||
            line[7 + 23] != 'Z') {
                RS_CHECK_MSG(0, "bad ts: %.*s", (int)len, line);
                return NULL;
        }
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        ts = timegm(&tm);
        /* UTC and now: local time would be hours off on most machines. */
        RS_CHECK_MSG(ts >= now - 60 && ts <= now + 1, "ts %lld, now %lld",
                     (long long)ts, (long long)now);
        RS_CHECK(ms >= 0 && ms <= 999);

        snprintf(head, sizeof(head),
                 "\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"", level,
                 component);
        if (strncmp(line + 7 + 24, head, strlen(head))) {
                RS_CHECK_MSG(0, "bad fields: %.*s", (int)len, line);
                return NULL;
        }
        msg      = line + 7 + 24 + strlen(head);
        *msg_len = (size_t)(line + len - 3 - msg);
        RS_CHECK_MSG(json_body_ok(msg, *msg_len), "bad msg: %.*s", (int)len,
                     line);
        return msg;
}

/* Splits \p buf into lines; returns the count, fills starts/lengths. */
static size_t split_lines(const char *buf, size_t len, const char **starts,
                          size_t *lens, size_t max) {
        size_t      cnt = 0;
        const char *p   = buf, *nl;

        while (p < buf + len && cnt < max) {
                nl = memchr(p, '\n', (size_t)(buf + len - p));
                if (!nl)
                        nl = buf + len - 1;
                starts[cnt] = p;
                lens[cnt++] = (size_t)(nl - p + 1);
                p           = nl + 1;
        }
        return cnt;
}

static void expect_msg(const char *line, size_t len, const char *level,
                       const char *component, const char *want) {
        size_t      n;
        const char *msg = check_line(line, len, level, component, &n);

        if (msg)
                RS_CHECK_MSG(n == strlen(want) && !memcmp(msg, want, n),
                             "msg \"%.*s\", expected \"%s\"", (int)n, msg,
                             want);
}

static void test_default_component(void) {
        const char *lines[4];
        size_t      lens[4], len;
        char       *buf;

        capture_start();
        rs_log_debug("not shown");
        rs_log_info("started");
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 4), 1);
        expect_msg(lines[0], lens[0], "info", "rumstream", "started");
        free(buf);
}

static void test_lines(void) {
        const char *lines[8];
        size_t      lens[8], len;
        char       *buf;

        rs_log_init("rum-\"agg\"", RS_LOG_INFO);
        capture_start();
        rs_log_debug("below the minimum");
        rs_log_info("hello %s %d", "w\"x", 42);
        rs_log_warn("caf\xc3\xa9");
        errno = EBADF;
        rs_log_error("multi\nline\t%s", "C:\\x");
        RS_CHECK_INT(errno, EBADF); /* callers log, then look at errno */
        rs_log((rs_log_level_t)7, "odd level");
        buf = capture_end(&len);

        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 4);
        expect_msg(lines[0], lens[0], "info", "rum-\\\"agg\\\"",
                   "hello w\\\"x 42");
        expect_msg(lines[1], lens[1], "warn", "rum-\\\"agg\\\"", "caf\xc3\xa9");
        expect_msg(lines[2], lens[2], "error", "rum-\\\"agg\\\"",
                   "multi\\nline\\tC:\\\\x");
        expect_msg(lines[3], lens[3], "error", "rum-\\\"agg\\\"", "odd level");
        free(buf);

        rs_log_init("c", RS_LOG_ERROR);
        capture_start();
        rs_log_info("no");
        rs_log_warn("no");
        rs_log_error("yes");
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        expect_msg(lines[0], lens[0], "error", "c", "yes");
        free(buf);

        rs_log_init("c", RS_LOG_DEBUG);
        capture_start();
        rs_log_debug("dbg");
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        expect_msg(lines[0], lens[0], "debug", "c", "dbg");
        free(buf);
}

/* Messages past the buffers: cut, marked with "...", still one valid line. */
static void test_long(void) {
        const char *lines[8], *msg;
        size_t      lens[8], len, n, i;
        char       *big = malloc(10001), *buf;

        rs_log_init("long", RS_LOG_INFO);

        memset(big, 'a', 10000);
        big[10000] = '\0';
        capture_start();
        rs_log_info("%s", big);
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        msg = check_line(lines[0], lens[0], "info", "long", &n);
        RS_CHECK_INT(n, 4095 + 3);
        if (msg)
                RS_CHECK(!memcmp(msg + 4095, "...", 3));
        free(buf);

        /* vsnprintf() stops inside 'é': the half character goes. */
        memset(big, 'a', 4094);
        memcpy(big + 4094, "\xc3\xa9", 3);
        capture_start();
        rs_log_info("%s", big);
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        msg = check_line(lines[0], lens[0], "info", "long", &n);
        RS_CHECK_INT(n, 4094 + 3);
        if (msg)
                RS_CHECK(!memcmp(msg + 4094, "...", 3));
        free(buf);

        /* Exactly fits: no mark. */
        memset(big, 'b', 4095);
        big[4095] = '\0';
        capture_start();
        rs_log_info("%s", big);
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        msg = check_line(lines[0], lens[0], "info", "long", &n);
        RS_CHECK_INT(n, 4095);
        free(buf);

        /* Escapes that outgrow the line: cut between sequences. */
        for (i = 0; i < 4000; i++)
                big[i] = (i % 3) ? '\x01' : '"';
        big[4000] = '\0';
        capture_start();
        rs_log_warn("%s", big);
        buf = capture_end(&len);
        RS_CHECK_INT(split_lines(buf, len, lines, lens, 8), 1);
        msg = check_line(lines[0], lens[0], "warn", "long", &n);
        RS_CHECK(n > 4000 && n < 16384);
        if (msg && n >= 3)
                RS_CHECK(!memcmp(msg + n - 3, "...", 3));
        free(buf);
        free(big);
}

#define THREADS          4
#define LINES_PER_THREAD 500

static void *log_thread(void *arg) {
        int t = (int)(long)arg, i;

        for (i = 0; i < LINES_PER_THREAD; i++)
                rs_log_info("thread %d line %d %s", t, i,
                            "padding to make lines long enough to overlap "
                            "if they were written in pieces \"quoted\"");
        return NULL;
}

/* Lines from several threads come out whole. A file, not a pipe, so that
 * nobody has to drain it while the threads write. */
static void test_threads(void) {
        char         dir[] = "/tmp/rs_test_log.XXXXXX";
        char         path[64];
        pthread_t    tids[THREADS];
        int          seen[THREADS][LINES_PER_THREAD];
        const char **lines;
        size_t      *lens, len, cnt, i, n;
        char        *buf;
        FILE        *fp;
        long         t;
        int          fd, ti, li, good = 0;

        if (!mkdtemp(dir)) {
                RS_CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
                return;
        }
        snprintf(path, sizeof(path), "%s/stderr", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        RS_CHECK(fd >= 0);
        saved_stderr = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);

        rs_log_init("threads", RS_LOG_INFO);
        for (t = 0; t < THREADS; t++)
                pthread_create(&tids[t], NULL, log_thread, (void *)t);
        for (t = 0; t < THREADS; t++)
                pthread_join(tids[t], NULL);
        dup2(saved_stderr, STDERR_FILENO);
        close(saved_stderr);

        fp       = fopen(path, "r");
        buf      = malloc(1 << 20);
        len      = fp ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
        buf[len] = '\0';
        if (fp)
                fclose(fp);
        lines = malloc(sizeof(*lines) * THREADS * LINES_PER_THREAD * 2);
        lens  = malloc(sizeof(*lens) * THREADS * LINES_PER_THREAD * 2);
        cnt =
            split_lines(buf, len, lines, lens, THREADS * LINES_PER_THREAD * 2);
        RS_CHECK_INT(cnt, THREADS * LINES_PER_THREAD);
        memset(seen, 0, sizeof(seen));
        for (i = 0; i < cnt; i++) {
                const char *msg =
                    check_line(lines[i], lens[i], "info", "threads", &n);

                if (msg && sscanf(msg, "thread %d line %d ", &ti, &li) == 2 &&
                    ti >= 0 && ti < THREADS && li >= 0 &&
                    li < LINES_PER_THREAD && !seen[ti][li]) {
                        seen[ti][li] = 1;
                        good++;
                }
        }
        RS_CHECK_INT(good, THREADS * LINES_PER_THREAD);
        free(lines);
        free(lens);
        free(buf);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        test_escape_table();
        test_escape_cut();
        test_level_parse();
        test_default_component();
        test_lines();
        test_long();
        test_threads();
        return RS_TEST_DONE();
}
