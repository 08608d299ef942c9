/*
 * test_metrics: the registry (identity, validation, exact exposition text),
 * lock-free counting from several threads, and the HTTP endpoint over a
 * real TCP socket, including clients that connect and then say nothing.
 */
#include "rumstream/metrics.h"
#include "rs_test.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define NTHREADS 4
#define NADDS    100000
/* Generous bound for one HTTP exchange so a broken server fails the test
 * instead of hanging it; a working one answers in milliseconds. */
#define CLIENT_WAIT 10000

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_registry(void) {
        rs_metrics_t *m = rs_metrics_new("rs_");
        rs_counter_t *c, *c2, *late, *decode;
        rs_gauge_t   *g;

        RS_CHECK(m != NULL);

        c = rs_metrics_counter(m, "events_total", "Events seen.", NULL);
        RS_CHECK(c != NULL);
        RS_CHECK(rs_metrics_counter(m, "events_total", "Other help", NULL) ==
                 c);
        RS_CHECK(rs_metrics_counter(m, "events_total", "x", "") == c);

        late   = rs_metrics_counter(m, "dlq_total", "To the DLQ.",
                                    "reason=\"late\"");
        decode = rs_metrics_counter(m, "dlq_total", "To the DLQ.",
                                    "reason=\"decode\"");
        RS_CHECK(late != NULL);
        RS_CHECK(decode != NULL);
        RS_CHECK(late != decode);
        RS_CHECK(rs_metrics_counter(m, "dlq_total", NULL, "reason=\"late\"") ==
                 late);

        /* A name has one type. */
        RS_CHECK(rs_metrics_gauge(m, "events_total", "x", NULL) == NULL);
        g = rs_metrics_gauge(m, "lag", "Consumer lag.", "partition=\"0\"");
        RS_CHECK(g != NULL);
        RS_CHECK(rs_metrics_gauge(m, "lag", "", "partition=\"0\"") == g);
        RS_CHECK(rs_metrics_counter(m, "lag", "", "partition=\"0\"") == NULL);

        /* Invalid names. */
        RS_CHECK(rs_metrics_counter(m, NULL, "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "9lives", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "a-b", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "a b", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "a\n", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_gauge(m, "é", "x", NULL) == NULL);
        RS_CHECK(rs_metrics_counter(m, "_:ok9", "x", NULL) != NULL);
        RS_CHECK(rs_metrics_counter(m, ":ok", "x", NULL) != NULL);

        /* Invalid label sets would break the whole scrape. */
        RS_CHECK(rs_metrics_counter(m, "l", "x", "reason=late") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "reason=\"late") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "9r=\"a\"") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "a=\"1\", b=\"2\"") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "a=\"1\",") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "a=\"x\ny\"") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "a=\"\\t\"") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x", "a=\"1\"}") == NULL);
        RS_CHECK(rs_metrics_counter(m, "l", "x",
                                    "a=\"q\\\"\\\\\\n\",b_2=\"\"") != NULL);

        c2 = rs_metrics_counter(m, "events_total", NULL, NULL);
        RS_CHECK(c2 == c);
        rs_counter_add(c, 5);
        RS_CHECK_INT(rs_counter_get(c2), 5);
        rs_gauge_set(g, -7);
        RS_CHECK_INT(rs_gauge_get(g), -7);

        RS_CHECK(rs_metrics_new("bad-prefix") == NULL);
        RS_CHECK(rs_metrics_new("9") == NULL);
        RS_CHECK_INT(rs_metrics_port(m), -1);

        rs_metrics_destroy(m);
        rs_metrics_destroy(NULL);
}

static const char *expected_text =
    "# HELP rumstream_events_total Events seen.\n"
    "# TYPE rumstream_events_total counter\n"
    "rumstream_events_total 42\n"
    "# HELP rumstream_dlq_total Messages sent to the DLQ.\n"
    "# TYPE rumstream_dlq_total counter\n"
    "rumstream_dlq_total{topic=\"rum.events\",reason=\"late\"} 3\n"
    "rumstream_dlq_total{topic=\"rum.events\",reason=\"decode\"} 0\n"
    "# HELP rumstream_lag Lag, a\\\\b\\nc.\n"
    "# TYPE rumstream_lag gauge\n"
    "rumstream_lag{partition=\"0\"} -12\n"
    "rumstream_lag{partition=\"1\"} 18446744073\n"
    "# HELP rumstream_big\n"
    "# TYPE rumstream_big counter\n"
    "rumstream_big 18446744073709551615\n";

static rs_metrics_t *expected_registry(void) {
        rs_metrics_t *m = rs_metrics_new("rumstream_");

        rs_counter_add(
            rs_metrics_counter(m, "events_total", "Events seen.", NULL), 42);
        rs_counter_add(rs_metrics_counter(m, "dlq_total",
                                          "Messages sent to the DLQ.",
                                          "topic=\"rum.events\",reason="
                                          "\"late\""),
                       3);
        rs_metrics_counter(m, "dlq_total", "ignored, first help wins",
                           "topic=\"rum.events\",reason=\"decode\"");
        rs_gauge_set(
            rs_metrics_gauge(m, "lag", "Lag, a\\b\nc.", "partition=\"0\""),
            -12);
        rs_gauge_set(rs_metrics_gauge(m, "lag", NULL, "partition=\"1\""),
                     18446744073LL);
        rs_counter_add(rs_metrics_counter(m, "big", NULL, NULL), UINT64_MAX);
        return m;
}

static void test_render(void) {
        rs_metrics_t *m   = expected_registry();
        size_t        len = strlen(expected_text);
        char          buf[4096], small[16];

        RS_CHECK_INT(rs_metrics_render(m, buf, sizeof(buf)), len);
        RS_CHECK_STR(buf, expected_text);

        /* Too small: tells the size, writes a NUL-terminated prefix. */
        memset(small, 'x', sizeof(small));
        RS_CHECK_INT(rs_metrics_render(m, small, sizeof(small)), len);
        RS_CHECK_INT(small[sizeof(small) - 1], '\0');
        RS_CHECK(!strncmp(small, expected_text, sizeof(small) - 1));
        RS_CHECK_INT(rs_metrics_render(m, NULL, 0), len);

        /* Exactly len + 1 is enough. */
        memset(buf, 'x', sizeof(buf));
        RS_CHECK_INT(rs_metrics_render(m, buf, len + 1), len);
        RS_CHECK_STR(buf, expected_text);
        rs_metrics_destroy(m);

        /* No prefix, nothing registered. */
        m = rs_metrics_new(NULL);
        RS_CHECK_INT(rs_metrics_render(m, buf, sizeof(buf)), 0);
        RS_CHECK_STR(buf, "");
        rs_counter_add(rs_metrics_counter(m, "up", "Up.", NULL), 1);
        rs_metrics_render(m, buf, sizeof(buf));
        RS_CHECK_STR(buf, "# HELP up Up.\n# TYPE up counter\nup 1\n");
        rs_metrics_destroy(m);
}

struct adder {
        rs_metrics_t *m;
        int           idx;
};

static atomic_int adders_done;

static void *adder_main(void *arg) {
        struct adder *a = arg;
        /* Each thread registers on its own, racing the others, and must get
         * the same counters back. */
        rs_counter_t *total =
            rs_metrics_counter(a->m, "adds_total", "Adds.", NULL);
        rs_counter_t *byt =
            rs_metrics_counter(a->m, "bytes_total", "Bytes.", "kind=\"all\"");
        char          labels[32];
        rs_counter_t *own;
        int           i;

        snprintf(labels, sizeof(labels), "thread=\"%d\"", a->idx);
        own = rs_metrics_counter(a->m, "own_total", "Per thread.", labels);
        for (i = 0; i < NADDS; i++) {
                rs_counter_add(total, 1);
                rs_counter_add(byt, 3);
                rs_counter_add(own, 1);
        }
        atomic_fetch_add(&adders_done, 1);
        return NULL;
}

static int count(const char *hay, const char *needle) {
        int n = 0;

        while ((hay = strstr(hay, needle))) {
                n++;
                hay += strlen(needle);
        }
        return n;
}

static void test_threads(void) {
        rs_metrics_t *m = rs_metrics_new("t_");
        pthread_t     th[NTHREADS];
        struct adder  ad[NTHREADS];
        char          buf[4096], line[64];
        int           i, renders = 0;

        atomic_store(&adders_done, 0);
        for (i = 0; i < NTHREADS; i++) {
                ad[i].m   = m;
                ad[i].idx = i;
                RS_CHECK_INT(pthread_create(&th[i], NULL, adder_main, &ad[i]),
                             0);
        }
        /* Scrape while they count: reads must not need their cooperation. */
        while (atomic_load(&adders_done) < NTHREADS) {
                rs_metrics_render(m, buf, sizeof(buf));
                renders++;
        }
        for (i = 0; i < NTHREADS; i++)
                pthread_join(th[i], NULL);
        RS_CHECK(renders > 0);

        RS_CHECK_INT(
            rs_counter_get(rs_metrics_counter(m, "adds_total", NULL, NULL)),
            (uint64_t)NTHREADS * NADDS);
        RS_CHECK_INT(rs_counter_get(rs_metrics_counter(m, "bytes_total", NULL,
                                                       "kind=\"all\"")),
                     (uint64_t)NTHREADS * NADDS * 3);
        rs_metrics_render(m, buf, sizeof(buf));
        RS_CHECK(strstr(buf, "t_adds_total 400000\n") != NULL);
        RS_CHECK(strstr(buf, "t_bytes_total{kind=\"all\"} 1200000\n") != NULL);
        for (i = 0; i < NTHREADS; i++) {
                snprintf(line, sizeof(line), "t_own_total{thread=\"%d\"} %d\n",
                         i, NADDS);
                RS_CHECK_MSG(strstr(buf, line) != NULL, "missing %s", line);
        }
        /* One HELP/TYPE per name however many threads registered it. */
        RS_CHECK_INT(count(buf, "# HELP t_own_total "), 1);
        RS_CHECK_INT(count(buf, "# TYPE t_own_total "), 1);
        RS_CHECK_INT(count(buf, "# TYPE "), 3);
        rs_metrics_destroy(m);
}


/*
 * HTTP over a real socket.
 */

static int client_connect(int port) {
        struct sockaddr_in sin;
        int                fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd == -1)
                return -1;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family      = AF_INET;
        sin.sin_port        = htons((uint16_t)port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
                close(fd);
                return -1;
        }
        return fd;
}

/* Reads to EOF, at most CLIENT_WAIT ms. @returns malloc'd text or NULL. */
static char *client_read_all(int fd) {
        int64_t deadline = now_ms() + CLIENT_WAIT;
        size_t  len = 0, size = 4096;
        char   *out = malloc(size);

        while (out) {
                struct pollfd pfd  = {fd, POLLIN, 0};
                int64_t       left = deadline - now_ms();
                ssize_t       r;

                if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
                        goto fail;
                if (len + 1 >= size) {
                        char *n = realloc(out, size * 2);
                        if (!n)
                                goto fail;
                        out = n;
                        size *= 2;
                }
                r = recv(fd, out + len, size - 1 - len, 0);
                if (r < 0)
                        goto fail;
                if (r == 0) {
                        out[len] = '\0';
                        return out;
                }
                len += (size_t)r;
        }
fail:
        free(out);
        return NULL;
}

struct response {
        char *raw;
        char *status; /* the status line, without CRLF */
        char *headers;
        char *body;
};

/* Sends \p req verbatim and splits what comes back. @returns 0 or -1. */
static int http(int port, const char *req, struct response *resp) {
        int    fd = client_connect(port);
        char  *sep;
        size_t len = strlen(req);

        memset(resp, 0, sizeof(*resp));
        if (fd == -1)
                return -1;
        if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
                close(fd);
                return -1;
        }
        resp->raw = client_read_all(fd);
        close(fd);
        if (!resp->raw || !(sep = strstr(resp->raw, "\r\n\r\n")))
                return -1;
        *sep          = '\0';
        resp->body    = sep + 4;
        resp->status  = resp->raw;
        resp->headers = strstr(resp->raw, "\r\n");
        if (!resp->headers)
                return -1;
        *resp->headers = '\0';
        resp->headers += 2;
        return 0;
}

static void check_response(int port, const char *req, const char *status,
                           const char *ctype, const char *body) {
        struct response resp;
        char            want[256];

        RS_CHECK_MSG(http(port, req, &resp) == 0, "request %s", req);
        if (!resp.status) {
                free(resp.raw);
                return;
        }
        RS_CHECK_STR(resp.status, status);
        snprintf(want, sizeof(want),
                 "Content-Type: %s\r\nContent-Length: %zu\r\n"
                 "Connection: close",
                 ctype, strlen(body));
        RS_CHECK_STR(resp.headers, want);
        RS_CHECK_STR(resp.body, body);
        free(resp.raw);
}

static void test_http(void) {
        rs_metrics_t   *m = expected_registry(), *m2;
        char            errstr[256], metrics_body[4096];
        const char     *text = "text/plain; charset=utf-8";
        const char     *prom = "text/plain; version=0.0.4; charset=utf-8";
        struct response resp;
        int             port;

        RS_CHECK_INT(
            rs_metrics_serve(m, "127.0.0.1", 0, errstr, sizeof(errstr)), 0);
        port = rs_metrics_port(m);
        RS_CHECK(port > 0 && port <= 65535);

        rs_metrics_render(m, metrics_body, sizeof(metrics_body));
        RS_CHECK_STR(metrics_body, expected_text);
        check_response(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
                       "HTTP/1.1 200 OK", prom, expected_text);
        check_response(port, "GET /metrics?name[]=x HTTP/1.0\r\n\r\n",
                       "HTTP/1.1 200 OK", prom, expected_text);
        check_response(port,
                       "GET /health HTTP/1.1\r\nHost: x\r\n"
                       "User-Agent: test\r\nAccept: */*\r\n\r\n",
                       "HTTP/1.1 200 OK", text, "ok\n");

        rs_metrics_set_healthy(m, 0);
        check_response(port, "GET /health HTTP/1.1\r\n\r\n",
                       "HTTP/1.1 503 Service Unavailable", text, "unhealthy\n");
        rs_metrics_set_healthy(m, 1);
        check_response(port, "GET /health HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK",
                       text, "ok\n");

        check_response(port, "GET /nope HTTP/1.1\r\n\r\n",
                       "HTTP/1.1 404 Not Found", text, "not found\n");
        check_response(port, "GET /metricsx HTTP/1.1\r\n\r\n",
                       "HTTP/1.1 404 Not Found", text, "not found\n");
        check_response(port, "POST /metrics HTTP/1.1\r\n\r\n",
                       "HTTP/1.1 404 Not Found", text, "not found\n");
        check_response(port, "HELLO\r\n\r\n", "HTTP/1.1 400 Bad Request", text,
                       "bad request\n");

        /* HEAD: the headers GET would send, no body. */
        RS_CHECK_INT(http(port, "HEAD /health HTTP/1.1\r\n\r\n", &resp), 0);
        if (resp.status) {
                RS_CHECK_STR(resp.status, "HTTP/1.1 200 OK");
                RS_CHECK_STR(resp.headers,
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 3\r\nConnection: close");
                RS_CHECK_STR(resp.body, "");
        }
        free(resp.raw);

        /* Values move between scrapes. */
        rs_counter_add(rs_metrics_counter(m, "events_total", NULL, NULL), 1);
        RS_CHECK_INT(http(port, "GET /metrics HTTP/1.1\r\n\r\n", &resp), 0);
        RS_CHECK(resp.body &&
                 strstr(resp.body, "\nrumstream_events_total 43\n") != NULL);
        free(resp.raw);

        /* Serving twice, or on a port already taken, fails and says why. */
        errstr[0] = '\0';
        RS_CHECK_INT(
            rs_metrics_serve(m, "127.0.0.1", 0, errstr, sizeof(errstr)), -1);
        RS_CHECK(errstr[0] != '\0');
        RS_CHECK_INT(rs_metrics_port(m), port);
        m2        = rs_metrics_new("x_");
        errstr[0] = '\0';
        RS_CHECK_INT(
            rs_metrics_serve(m2, "127.0.0.1", port, errstr, sizeof(errstr)),
            -1);
        RS_CHECK_MSG(strstr(errstr, "in use") != NULL, "errstr \"%s\"", errstr);
        RS_CHECK_INT(rs_metrics_port(m2), -1);
        errstr[0] = '\0';
        RS_CHECK_INT(
            rs_metrics_serve(m2, "127.0.0.1", 70000, errstr, sizeof(errstr)),
            -1);
        RS_CHECK(errstr[0] != '\0');
        rs_metrics_destroy(m2);

        rs_metrics_destroy(m);
}

/* A scrape bigger than the server's first render buffer and than a socket
 * buffer: it must grow, and partial sends must carry on. */
static void test_big_scrape(void) {
        rs_metrics_t   *m = rs_metrics_new("big_");
        char            errstr[256], labels[64];
        struct response resp;
        char           *want;
        size_t          len;
        int             i;

        for (i = 0; i < 5000; i++) {
                snprintf(labels, sizeof(labels), "route=\"/page/%d\"", i);
                rs_counter_add(
                    rs_metrics_counter(m, "views_total", "Views.", labels),
                    (uint64_t)i);
        }
        len  = rs_metrics_render(m, NULL, 0);
        want = malloc(len + 1);
        RS_CHECK(len > 150000);
        RS_CHECK_INT(rs_metrics_render(m, want, len + 1), len);

        RS_CHECK_INT(
            rs_metrics_serve(m, "127.0.0.1", 0, errstr, sizeof(errstr)), 0);
        RS_CHECK_INT(
            http(rs_metrics_port(m), "GET /metrics HTTP/1.1\r\n\r\n", &resp),
            0);
        RS_CHECK_STR(resp.status, "HTTP/1.1 200 OK");
        RS_CHECK(resp.body && strlen(resp.body) == len &&
                 !strcmp(resp.body, want));
        free(resp.raw);
        free(want);
        rs_metrics_destroy(m);
}

/* A client that connects and says nothing costs the others one read
 * timeout, not the server. */
static void test_stuck_client(void) {
        rs_metrics_t   *m = rs_metrics_new("s_");
        char            errstr[256];
        struct response resp;
        int             port, idle;
        char           *rest;

        RS_CHECK_INT(
            rs_metrics_serve(m, "127.0.0.1", 0, errstr, sizeof(errstr)), 0);
        port = rs_metrics_port(m);

        idle = client_connect(port);
        RS_CHECK(idle != -1);
        RS_CHECK_INT(http(port, "GET /health HTTP/1.1\r\n\r\n", &resp), 0);
        RS_CHECK_STR(resp.status, "HTTP/1.1 200 OK");
        RS_CHECK_STR(resp.body, "ok\n");
        free(resp.raw);

        /* The idle one was hung up on without an answer. */
        rest = client_read_all(idle);
        RS_CHECK_STR(rest, "");
        free(rest);
        close(idle);
        rs_metrics_destroy(m);
}

/* Destroy must not wait for an idle client's read timeout. */
static void test_destroy_with_idle_client(void) {
        rs_metrics_t *m = rs_metrics_new("d_");
        char          errstr[256];
        int           idle, partial;
        int64_t       t0, took;

        RS_CHECK_INT(
            rs_metrics_serve(m, "127.0.0.1", 0, errstr, sizeof(errstr)), 0);
        idle    = client_connect(rs_metrics_port(m));
        partial = client_connect(rs_metrics_port(m));
        RS_CHECK(idle != -1);
        RS_CHECK(partial != -1);
        RS_CHECK(send(partial, "GET /met", 8, MSG_NOSIGNAL) == 8);

        t0 = now_ms();
        rs_metrics_destroy(m);
        took = now_ms() - t0;
        /* Well under the 2 s read timeout: the stop pipe cut it short. */
        RS_CHECK_MSG(took < 1000, "destroy took %lld ms", (long long)took);
        close(idle);
        close(partial);

        /* Destroying a registry that never served. */
        rs_metrics_destroy(rs_metrics_new("n_"));
}

int main(void) {
        test_registry();
        test_render();
        test_threads();
        test_http();
        test_big_scrape();
        test_stuck_client();
        test_destroy_with_idle_client();
        return RS_TEST_DONE();
}
