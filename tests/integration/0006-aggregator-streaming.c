/*
 * Streaming operation (no --until-eof): windows of an input that went quiet
 * close after window.idle_close_ms of wall-clock time and their rows
 * appear; /health and /metrics answer over HTTP with the exact number of
 * events aggregated; SIGTERM stops the process cleanly (exit 0) with every
 * partition's position stored.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rumstream/kafka.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define EVENTS  6000
#define TENANTS 6

static long consented;

static void on_event(const rs_rum_event_t *ev, void *opaque) {
        (void)opaque;
        consented += ev->consent != 0;
}

/* GET path from 127.0.0.1:port; returns the response (malloc'd) or NULL. */
static char *http_get(int port, const char *path) {
        struct sockaddr_in sa = {0};
        char               req[256], *buf = NULL;
        size_t             len = 0, cap = 0;
        int                fd = socket(AF_INET, SOCK_STREAM, 0);
        ssize_t            n;

        sa.sin_family      = AF_INET;
        sa.sin_port        = htons((uint16_t)port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
                if (fd >= 0)
                        close(fd);
                return NULL;
        }
        snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
        if (write(fd, req, strlen(req)) < 0) {
                close(fd);
                return NULL;
        }
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        buf = realloc(buf, cap);
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        if (buf)
                buf[len] = '\0';
        return buf;
}

/* The value of a metric line "<name> <value>" in a scrape, or -1. */
static long long metric(const char *scrape, const char *name) {
        const char *p = scrape;
        size_t      n = strlen(name);

        while ((p = strstr(p, name))) {
                if ((p == scrape || p[-1] == '\n') && p[n] == ' ')
                        return strtoll(p + n + 1, NULL, 10);
                p += n;
        }
        return -1;
}

typedef struct ctx_s {
        const char *dsn;
        const char *log;
        int         port;
} ctx_t;

static int port_logged(void *opaque) {
        ctx_t *c = opaque;

        c->port = (int)rs_it_log_number(c->log, "http://127.0.0.1:");
        return c->port > 0;
}

/* Every window written: the all-traffic roll-up holds every event. */
static int all_written(void *opaque) {
        ctx_t *c = opaque;

        return rs_it_pg_ll(c->dsn, "SELECT count(*) FROM pg_tables WHERE "
                                   "tablename = 'rum_page_views'") == 1 &&
               rs_it_pg_ll(c->dsn, "SELECT coalesce(sum(events), 0) FROM "
                                   "rum_page_views WHERE segment_type = "
                                   "'all'") == consented;
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], *resp;
        const char *extra[] = {"window.idle_close_ms=2000", "metrics_port=0",
                               "commit_interval_ms=500", NULL};
        ctx_t       c       = {NULL, "0006.log", 0};
        pid_t       pid;
        int         status;

        rs_it_clean_logs("0006");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        c.dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        if (rs_kafka_mock_topic(mock, "rum.events", 4, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", 4, err, sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.events.dlq", 1, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(rs_kafka_mock_bootstraps(mock), NULL,
                                           err, sizeof(err))))
                rs_it_die("producer: %s", err);
        rs_it_produce_traffic(prod, "rum.events", 3, TENANTS, EVENTS, on_event,
                              NULL);

        pid = rs_it_start_aggregator(rs_kafka_mock_bootstraps(mock), c.dsn,
                                     "streaming", 0, extra, c.log);
        RS_CHECK(rs_it_wait_for(port_logged, &c, 60000));

        /* No --until-eof: only the idle close can write the last windows. */
        RS_CHECK_MSG(rs_it_wait_for(all_written, &c, 120000),
                     "rows of %ld events never appeared", consented);

        resp = http_get(c.port, "/health");
        RS_CHECK(resp && !strncmp(resp, "HTTP/1.0 200", 12) |
                             !strncmp(resp, "HTTP/1.1 200", 12));
        free(resp);
        resp = http_get(c.port, "/metrics");
        RS_CHECK(resp != NULL);
        if (resp) {
                RS_CHECK_INT(metric(resp, "rumstream_events_aggregated_total"),
                             consented);
                RS_CHECK_INT(metric(resp, "rumstream_messages_total"), EVENTS);
                RS_CHECK_INT(metric(resp, "rumstream_assigned_partitions"), 4);
        }
        free(resp);

        kill(pid, SIGTERM);
        status = rs_it_wait_exit(pid, 60000);
        RS_CHECK_INT(status, 0);
        RS_CHECK(rs_it_grep_count(c.log, "stopped cleanly") == 1);
        RS_CHECK_INT(rs_it_pg_ll(c.dsn, "SELECT sum(commit_offset) FROM "
                                        "stream_positions WHERE "
                                        "consumer_group = 'streaming'"),
                     EVENTS);

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
