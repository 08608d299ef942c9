/*
 * metrics: Prometheus counters and gauges, and the HTTP endpoint serving
 * them with a health check.
 *
 * The registry is a list of families (one per metric name, holding HELP and
 * TYPE) and, in each family, a list of series (one per label set). Every
 * series is its own allocation and is never moved or freed before the
 * registry is, so the counter/gauge pointer handed out at registration stays
 * valid and can be updated with plain atomics while the HTTP thread renders.
 * The mutex only guards the shape of the lists: registration appends, render
 * walks them; neither ever takes the lock on the per-event path.
 * Lists keep registration order so the exposition is stable from scrape to
 * scrape (and testable byte for byte). Lookup is linear: registration is a
 * start-up affair and a registry holds tens of metrics, not thousands.
 *
 * The server is a single thread: poll() on the listening socket and on a
 * self-pipe that destroy writes to, then one connection at a time, every
 * read and write of it bounded by a deadline and by that same pipe. A
 * scraper gets a fresh connection per scrape (Connection: close), so there
 * is no keep-alive or pipelining to speak of, and a client that stalls costs
 * at most RS_METRICS_IO_TIMEOUT_MS before the next one is served.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "rumstream/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

/* How long one connection may take to send its request and to take our
 * answer. Prometheus scrapes in milliseconds; two seconds is for a slow
 * link, not for a client that went quiet. */
#define RS_METRICS_IO_TIMEOUT_MS 2000

/* A request line plus the headers curl or Prometheus send fit easily; a
 * client that sends more is not a scraper. */
#define RS_METRICS_REQ_MAX 8192

/* First guess for the rendered size; it grows once and stays grown. */
#define RS_METRICS_RENDER_INIT 16384

typedef enum { METRIC_COUNTER, METRIC_GAUGE } metric_type_t;

struct series {
        struct series *next;
        char          *labels; /* NULL when the series has no labels */
        union {
                rs_counter_t counter;
                rs_gauge_t   gauge;
        } u;
};

struct family {
        struct family  *next;
        char           *name; /* with the registry's prefix */
        char           *help; /* already escaped for the HELP line */
        metric_type_t   type;
        struct series  *series;
        struct series **series_tail;
};

struct rs_metrics_s {
        char           *prefix;
        pthread_mutex_t lock;
        struct family  *families;
        struct family **families_tail;
        atomic_int      healthy;

        /* Server state; only touched by serve/destroy and the thread. */
        int       serving;
        int       listen_fd;
        int       stop_pipe[2]; /* destroy writes [1], the thread polls [0] */
        int       port;
        pthread_t thread;
};


/*
 * Names and labels.
 */

static int name_valid(const char *s) {
        const char *p;

        if (!s || !*s)
                return 0;
        for (p = s; *p; p++) {
                int c     = (unsigned char)*p;
                int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            c == '_' || c == ':';
                if (!alpha && (p == s || c < '0' || c > '9'))
                        return 0;
        }
        return 1;
}

/* Labels become part of the output verbatim, so a malformed set would break
 * the whole scrape, not just this series: accept exactly
 * name="value"(,name="value")* with the escapes the format defines. */
static int labels_valid(const char *s) {
        const char *p = s;

        for (;;) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      *p == '_'))
                        return 0;
                while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                       (*p >= '0' && *p <= '9') || *p == '_')
                        p++;
                if (*p++ != '=' || *p++ != '"')
                        return 0;
                while (*p != '"') {
                        if (!*p || *p == '\n')
                                return 0;
                        if (*p == '\\') {
                                p++;
                                if (*p != '\\' && *p != '"' && *p != 'n')
                                        return 0;
                        }
                        p++;
                }
                p++;
                if (!*p)
                        return 1;
                if (*p++ != ',')
                        return 0;
        }
}

/* HELP text may hold anything; the format wants backslash and newline
 * escaped. Done once here so render stays a straight copy. */
static char *help_escape(const char *help) {
        const char *p;
        char       *out, *o;
        size_t      len = 0;

        for (p = help; *p; p++)
                len += (*p == '\\' || *p == '\n') ? 2 : 1;
        if (!(out = malloc(len + 1)))
                return NULL;
        for (p = help, o = out; *p; p++) {
                if (*p == '\\') {
                        *o++ = '\\';
                        *o++ = '\\';
                } else if (*p == '\n') {
                        *o++ = '\\';
                        *o++ = 'n';
                } else {
                        *o++ = *p;
                }
        }
        *o = '\0';
        return out;
}


/*
 * Registry.
 */

rs_metrics_t *rs_metrics_new(const char *prefix) {
        rs_metrics_t *m;

        if (!prefix)
                prefix = "";
        /* The prefix starts every name, so it must be a valid start. */
        if (*prefix && !name_valid(prefix))
                return NULL;

        if (!(m = calloc(1, sizeof(*m))))
                return NULL;
        if (!(m->prefix = strdup(prefix))) {
                free(m);
                return NULL;
        }
        if (pthread_mutex_init(&m->lock, NULL)) {
                free(m->prefix);
                free(m);
                return NULL;
        }
        m->families_tail = &m->families;
        atomic_init(&m->healthy, 1);
        m->listen_fd    = -1;
        m->stop_pipe[0] = -1;
        m->stop_pipe[1] = -1;
        m->port         = -1;
        return m;
}

/**
 * @brief Finds or adds the series (name, labels) of \p type.
 * @returns the series, or NULL on an invalid name or label set, on a name
 *          already registered with the other type, or out of memory.
 */
static struct series *series_get(rs_metrics_t *m, metric_type_t type,
                                 const char *name, const char *help,
                                 const char *labels) {
        struct family *fam;
        struct series *s = NULL, *news = NULL;
        size_t         plen;

        if (!m || !name_valid(name))
                return NULL;
        if (labels && !*labels)
                labels = NULL; /* "" and NULL are the same, unlabelled set */
        if (labels && !labels_valid(labels))
                return NULL;
        if (!help)
                help = "";

        plen = strlen(m->prefix);

        pthread_mutex_lock(&m->lock);

        for (fam = m->families; fam; fam = fam->next) {
                if (!strcmp(fam->name + plen, name))
                        break;
        }

        if (fam) {
                /* One name, one type: the format has a single TYPE line. */
                if (fam->type != type)
                        goto out;
                for (s = fam->series; s; s = s->next) {
                        if ((!s->labels && !labels) ||
                            (s->labels && labels && !strcmp(s->labels, labels)))
                                goto out;
                }
        } else {
                size_t nlen = strlen(name);

                if (!(fam = calloc(1, sizeof(*fam))))
                        goto out;
                fam->type        = type;
                fam->series_tail = &fam->series;
                fam->name        = malloc(plen + nlen + 1);
                fam->help        = help_escape(help);
                if (!fam->name || !fam->help) {
                        free(fam->name);
                        free(fam->help);
                        free(fam);
                        fam = NULL;
                        goto out;
                }
                memcpy(fam->name, m->prefix, plen);
                memcpy(fam->name + plen, name, nlen + 1);
                /* Linked in even if the series allocation below fails: an
                 * empty family renders as just its HELP/TYPE lines, which
                 * the format allows, and the next attempt reuses it. */
                *m->families_tail = fam;
                m->families_tail  = &fam->next;
        }

        if (!(news = calloc(1, sizeof(*news))))
                goto out;
        if (labels && !(news->labels = strdup(labels))) {
                free(news);
                goto out;
        }
        if (type == METRIC_COUNTER)
                atomic_init(&news->u.counter.v, 0);
        else
                atomic_init(&news->u.gauge.v, 0);
        *fam->series_tail = news;
        fam->series_tail  = &news->next;
        s                 = news;

out:
        pthread_mutex_unlock(&m->lock);
        return s;
}

rs_counter_t *rs_metrics_counter(rs_metrics_t *m, const char *name,
                                 const char *help, const char *labels) {
        struct series *s = series_get(m, METRIC_COUNTER, name, help, labels);

        return s ? &s->u.counter : NULL;
}

rs_gauge_t *rs_metrics_gauge(rs_metrics_t *m, const char *name,
                             const char *help, const char *labels) {
        struct series *s = series_get(m, METRIC_GAUGE, name, help, labels);

        return s ? &s->u.gauge : NULL;
}

void rs_metrics_set_healthy(rs_metrics_t *m, int healthy) {
        if (m)
                atomic_store(&m->healthy, healthy ? 1 : 0);
}


/*
 * Rendering.
 */

/* snprintf-like sink: copies what fits, counts everything, so one pass both
 * fills a big enough buffer and tells a small one how big to be. */
struct sink {
        char  *buf;
        size_t size;
        size_t len;
};

static void sink_put(struct sink *sk, const char *s, size_t n) {
        if (sk->len < sk->size) {
                size_t room = sk->size - sk->len;
                memcpy(sk->buf + sk->len, s, n < room ? n : room);
        }
        sk->len += n;
}

static void sink_str(struct sink *sk, const char *s) {
        sink_put(sk, s, strlen(s));
}

size_t rs_metrics_render(rs_metrics_t *m, char *buf, size_t size) {
        struct sink          sk = {buf, size, 0};
        const struct family *fam;
        struct series       *s;
        char                 num[32];

        if (!m) {
                if (size)
                        buf[0] = '\0';
                return 0;
        }

        pthread_mutex_lock(&m->lock);
        for (fam = m->families; fam; fam = fam->next) {
                sink_str(&sk, "# HELP ");
                sink_str(&sk, fam->name);
                if (*fam->help) {
                        sink_str(&sk, " ");
                        sink_str(&sk, fam->help);
                }
                sink_str(&sk, "\n# TYPE ");
                sink_str(&sk, fam->name);
                sink_str(&sk, fam->type == METRIC_COUNTER ? " counter\n"
                                                          : " gauge\n");
                for (s = fam->series; s; s = s->next) {
                        int n;

                        sink_str(&sk, fam->name);
                        if (s->labels) {
                                sink_str(&sk, "{");
                                sink_str(&sk, s->labels);
                                sink_str(&sk, "}");
                        }
                        if (fam->type == METRIC_COUNTER) {
                                uint64_t v = rs_counter_get(&s->u.counter);
                                n = snprintf(num, sizeof(num), " %" PRIu64 "\n",
                                             v);
                        } else {
                                int64_t v = rs_gauge_get(&s->u.gauge);
                                n = snprintf(num, sizeof(num), " %" PRId64 "\n",
                                             v);
                        }
                        sink_put(&sk, num, (size_t)n);
                }
        }
        pthread_mutex_unlock(&m->lock);

        if (size)
                buf[sk.len < size ? sk.len : size - 1] = '\0';
        return sk.len;
}


/*
 * HTTP server.
 */

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * @brief Waits until \p fd is ready for \p events, destroy asks us to stop,
 *        or \p deadline (now_ms() clock) passes.
 * @returns 1 if ready, 0 on timeout, -1 on stop or poll error.
 */
static int wait_fd(rs_metrics_t *m, int fd, short events, int64_t deadline) {
        struct pollfd pfd[2];

        for (;;) {
                int64_t left = deadline - now_ms();
                int     r;

                if (left <= 0)
                        return 0;
                pfd[0].fd      = fd;
                pfd[0].events  = events;
                pfd[0].revents = 0;
                pfd[1].fd      = m->stop_pipe[0];
                pfd[1].events  = POLLIN;
                pfd[1].revents = 0;
                r              = poll(pfd, 2, (int)left);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                if (pfd[1].revents)
                        return -1;
                if (pfd[0].revents)
                        return 1;
        }
}

/** @returns 0 once all of \p len went out, -1 on error, timeout or stop. */
static int send_all(rs_metrics_t *m, int fd, const char *p, size_t len,
                    int64_t deadline) {
        while (len > 0) {
                /* MSG_NOSIGNAL: a scraper hanging up must not SIGPIPE us. */
                ssize_t r = send(fd, p, len, MSG_NOSIGNAL);

                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN && errno != EWOULDBLOCK)
                                return -1;
                        if (wait_fd(m, fd, POLLOUT, deadline) != 1)
                                return -1;
                        continue;
                }
                p += r;
                len -= (size_t)r;
        }
        return 0;
}

/**
 * @brief Reads the request head into \p req (NUL-terminated).
 * @returns 0 when there is a request line to answer, -1 to hang up.
 *
 * Waits for the blank line ending the headers so that, when we close, no
 * unread request bytes are left behind: closing on unread data makes the
 * kernel send a RST that can destroy our response in flight.
 */
static int read_request(rs_metrics_t *m, int fd, char *req, size_t size,
                        int64_t deadline) {
        size_t len = 0;

        req[0] = '\0';
        while (len < size - 1) {
                ssize_t r = recv(fd, req + len, size - 1 - len, 0);

                if (r > 0) {
                        len += (size_t)r;
                        req[len] = '\0';
                        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
                                return 0;
                        continue;
                }
                if (r == 0)
                        break; /* the client half-closed after its request */
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                        return -1;
                r = wait_fd(m, fd, POLLIN, deadline);
                if (r < 0)
                        return -1;
                if (r == 0)
                        break;
        }
        /* Out of time, room or input: answer if the request line is whole
         * (a lenient client may stop there), else there is nothing to say. */
        return strchr(req, '\n') ? 0 : -1;
}

static void handle_conn(rs_metrics_t *m, int fd, char **render_buf,
                        size_t *render_size) {
        char        req[RS_METRICS_REQ_MAX];
        char        head[256];
        char       *method, *target, *version, *save = NULL, *q;
        const char *status, *ctype = "text/plain; charset=utf-8";
        const char *body      = NULL;
        size_t      body_len  = 0;
        int         head_only = 0, n;
        int64_t     deadline  = now_ms() + RS_METRICS_IO_TIMEOUT_MS;

        if (read_request(m, fd, req, sizeof(req), deadline) == -1)
                return;

        req[strcspn(req, "\r\n")] = '\0';
        method                    = strtok_r(req, " ", &save);
        target                    = strtok_r(NULL, " ", &save);
        version                   = strtok_r(NULL, " ", &save);

        if (!method || !target || !version || strtok_r(NULL, " ", &save) ||
            strncmp(version, "HTTP/", 5)) {
                status = "400 Bad Request";
                body   = "bad request\n";
                goto respond;
        }

        if ((q = strchr(target, '?')))
                *q = '\0'; /* Prometheus may add params; we take none. */
        head_only = !strcmp(method, "HEAD");

        if ((strcmp(method, "GET") && !head_only) ||
            (strcmp(target, "/metrics") && strcmp(target, "/health"))) {
                status = "404 Not Found";
                body   = "not found\n";
        } else if (!strcmp(target, "/health")) {
                if (atomic_load(&m->healthy)) {
                        status = "200 OK";
                        body   = "ok\n";
                } else {
                        status = "503 Service Unavailable";
                        body   = "unhealthy\n";
                }
        } else {
                /* Metrics may be registered between the sizing and the
                 * filling render, so loop until it fits. */
                for (;;) {
                        size_t need =
                            rs_metrics_render(m, *render_buf, *render_size);
                        char *nb;

                        if (need < *render_size) {
                                body_len = need;
                                break;
                        }
                        if (!(nb = realloc(*render_buf, need + 1024))) {
                                status = "500 Internal Server Error";
                                body   = "out of memory\n";
                                goto respond;
                        }
                        *render_buf  = nb;
                        *render_size = need + 1024;
                }
                status = "200 OK";
                ctype  = "text/plain; version=0.0.4; charset=utf-8";
                body   = *render_buf;
                goto respond_len;
        }

respond:
        body_len = strlen(body);
respond_len:
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "\r\n",
                     status, ctype, body_len);
        if (send_all(m, fd, head, (size_t)n, deadline) == -1)
                return;
        if (!head_only && send_all(m, fd, body, body_len, deadline) == -1)
                return;

        /* Let the client read to EOF and close first, draining anything it
         * still sends, so our close cannot turn into a RST that cuts the
         * response short. Bounded by the same deadline. */
        shutdown(fd, SHUT_WR);
        for (;;) {
                ssize_t r = recv(fd, req, sizeof(req), 0);

                if (r > 0)
                        continue;
                if (r == 0)
                        break;
                if (errno == EINTR)
                        continue;
                if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                    wait_fd(m, fd, POLLIN, deadline) != 1)
                        break;
        }
}

static void *serve_thread(void *arg) {
        rs_metrics_t *m           = arg;
        char         *render_buf  = NULL;
        size_t        render_size = 0;

        if ((render_buf = malloc(RS_METRICS_RENDER_INIT)))
                render_size = RS_METRICS_RENDER_INIT;

        for (;;) {
                struct pollfd pfd[2];
                int           fd;

                pfd[0].fd      = m->listen_fd;
                pfd[0].events  = POLLIN;
                pfd[0].revents = 0;
                pfd[1].fd      = m->stop_pipe[0];
                pfd[1].events  = POLLIN;
                pfd[1].revents = 0;
                if (poll(pfd, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pfd[1].revents)
                        break;
                if (!pfd[0].revents)
                        continue;

                fd = accept4(m->listen_fd, NULL, NULL,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd == -1) {
                        /* Out of descriptors and the like would make poll
                         * report the pending connection again at once: back
                         * off a little instead of spinning, still stoppable. */
                        if (errno != EAGAIN && errno != EWOULDBLOCK &&
                            errno != EINTR && errno != ECONNABORTED &&
                            wait_fd(m, -1, 0, now_ms() + 100) == -1)
                                break;
                        continue;
                }
                handle_conn(m, fd, &render_buf, &render_size);
                close(fd);
        }

        free(render_buf);
        return NULL;
}

int rs_metrics_serve(rs_metrics_t *m, const char *addr, int port, char *errstr,
                     size_t errstr_size) {
        struct addrinfo         hints, *res = NULL, *ai;
        struct sockaddr_storage ss;
        socklen_t               sslen = sizeof(ss);
        char                    portstr[16];
        int                     fd = -1, one = 1, r, ret = -1;
        int                     err = 0;

        if (!m) {
                snprintf(errstr, errstr_size, "no metrics registry");
                return -1;
        }
        if (m->serving) {
                snprintf(errstr, errstr_size, "metrics server already running");
                return -1;
        }
        if (port < 0 || port > 65535) {
                snprintf(errstr, errstr_size,
                         "metrics port %d out of range 0..65535", port);
                return -1;
        }
        if (!addr || !*addr)
                addr = "0.0.0.0";

        memset(&hints, 0, sizeof(hints));
        hints.ai_family   = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags    = AI_PASSIVE | AI_NUMERICSERV;
        snprintf(portstr, sizeof(portstr), "%d", port);
        if ((r = getaddrinfo(addr, portstr, &hints, &res))) {
                snprintf(errstr, errstr_size, "metrics address %s: %s", addr,
                         gai_strerror(r));
                goto out;
        }

        for (ai = res; ai; ai = ai->ai_next) {
                fd = socket(ai->ai_family,
                            ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            ai->ai_protocol);
                if (fd == -1) {
                        err = errno;
                        continue;
                }
                /* A restart must not wait out TIME_WAIT of the last run. */
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 16))
                        break;
                err = errno;
                close(fd);
                fd = -1;
        }
        if (fd == -1) {
                snprintf(errstr, errstr_size, "metrics listen on %s:%d: %s",
                         addr, port, strerror(err));
                goto out;
        }

        if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
                snprintf(errstr, errstr_size, "metrics getsockname: %s",
                         strerror(errno));
                goto out;
        }
        if (ss.ss_family == AF_INET6)
                m->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
                m->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);

        if (pipe2(m->stop_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
                snprintf(errstr, errstr_size, "metrics pipe: %s",
                         strerror(errno));
                m->stop_pipe[0] = m->stop_pipe[1] = -1;
                goto out;
        }

        m->listen_fd = fd;
        if ((r = pthread_create(&m->thread, NULL, serve_thread, m))) {
                snprintf(errstr, errstr_size, "metrics thread: %s",
                         strerror(r));
                m->listen_fd = -1;
                goto out;
        }
        m->serving = 1;
        fd         = -1; /* the registry owns it now */
        ret        = 0;

out:
        if (ret == -1) {
                if (fd != -1)
                        close(fd);
                if (m->stop_pipe[0] != -1) {
                        close(m->stop_pipe[0]);
                        close(m->stop_pipe[1]);
                        m->stop_pipe[0] = m->stop_pipe[1] = -1;
                }
                m->port = -1;
        }
        if (res)
                freeaddrinfo(res);
        return ret;
}

/* @returns the port being served, or -1 when not serving. */
int rs_metrics_port(const rs_metrics_t *m) {
        return m && m->serving ? m->port : -1;
}

void rs_metrics_destroy(rs_metrics_t *m) {
        struct family *fam, *fnext;
        struct series *s, *snext;

        if (!m)
                return;

        if (m->serving) {
                ssize_t r;

                do
                        r = write(m->stop_pipe[1], "x", 1);
                while (r == -1 && errno == EINTR);
                pthread_join(m->thread, NULL);
                close(m->listen_fd);
                close(m->stop_pipe[0]);
                close(m->stop_pipe[1]);
        }

        for (fam = m->families; fam; fam = fnext) {
                fnext = fam->next;
                for (s = fam->series; s; s = snext) {
                        snext = s->next;
                        free(s->labels);
                        free(s);
                }
                free(fam->name);
                free(fam->help);
                free(fam);
        }
        pthread_mutex_destroy(&m->lock);
        free(m->prefix);
        free(m);
}
