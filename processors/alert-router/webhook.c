/*
 * webhook: blocking HTTP/1.1 POST over a TCP socket. See webhook.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "webhook.h"

typedef struct url_s {
        char host[256];
        char port[8];
        char path[1024];
} url_t;

static int url_parse(const char *url, url_t *u, char *errstr,
                     size_t errstr_size) {
        const char *p = url, *host, *slash, *colon;
        size_t      hlen;

        if (strncmp(p, "http://", 7)) {
                snprintf(errstr, errstr_size,
                         "%s: only http:// URLs are supported (https needs a "
                         "relay)",
                         url);
                return -1;
        }
        host  = p + 7;
        slash = strchr(host, '/');
        hlen  = slash ? (size_t)(slash - host) : strlen(host);
        colon = memchr(host, ':', hlen);
        if (colon) {
                size_t plen = hlen - (size_t)(colon - host) - 1;
                if (plen == 0 || plen >= sizeof(u->port) ||
                    strspn(colon + 1, "0123456789") < plen) {
                        snprintf(errstr, errstr_size, "%s: bad port", url);
                        return -1;
                }
                memcpy(u->port, colon + 1, plen);
                u->port[plen] = '\0';
                hlen          = (size_t)(colon - host);
        } else {
                snprintf(u->port, sizeof(u->port), "80");
        }
        if (hlen == 0 || hlen >= sizeof(u->host)) {
                snprintf(errstr, errstr_size, "%s: bad host", url);
                return -1;
        }
        memcpy(u->host, host, hlen);
        u->host[hlen] = '\0';
        if (snprintf(u->path, sizeof(u->path), "%s", slash ? slash : "/") >=
            (int)sizeof(u->path)) {
                snprintf(errstr, errstr_size, "%s: path too long", url);
                return -1;
        }
        if (strpbrk(u->path, " \r\n") || strpbrk(u->host, " \r\n@")) {
                snprintf(errstr, errstr_size, "%s: invalid characters", url);
                return -1;
        }
        return 0;
}

int webhook_url_check(const char *url, char *errstr, size_t errstr_size) {
        url_t u;

        return url_parse(url, &u, errstr, errstr_size);
}

static long long mono_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for \p events on \p fd until \p deadline. @returns 0 or -1. */
static int wait_fd(int fd, short events, long long deadline) {
        struct pollfd pfd = {.fd = fd, .events = events};
        int           r;

        for (;;) {
                long long left = deadline - mono_ms();
                if (left <= 0) {
                        errno = ETIMEDOUT;
                        return -1;
                }
                r = poll(&pfd, 1, (int)left);
                if (r > 0)
                        return 0;
                if (r == 0) {
                        errno = ETIMEDOUT;
                        return -1;
                }
                if (errno != EINTR)
                        return -1;
        }
}

static int connect_to(const url_t *u, long long deadline, char *errstr,
                      size_t errstr_size) {
        struct addrinfo hints = {0}, *res = NULL, *ai;
        int             fd = -1, r, err = 0;
        socklen_t       elen = sizeof(err);

        hints.ai_family   = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        if ((r = getaddrinfo(u->host, u->port, &hints, &res))) {
                snprintf(errstr, errstr_size, "resolve %s: %s", u->host,
                         gai_strerror(r));
                return -1;
        }
        for (ai = res; ai; ai = ai->ai_next) {
                fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                            ai->ai_protocol);
                if (fd == -1)
                        continue;
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                        break;
                if (errno == EINPROGRESS &&
                    wait_fd(fd, POLLOUT, deadline) == 0 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
                    err == 0)
                        break;
                if (err)
                        errno = err;
                snprintf(errstr, errstr_size, "connect %s:%s: %s", u->host,
                         u->port, strerror(errno));
                close(fd);
                fd = -1;
        }
        freeaddrinfo(res);
        return fd;
}

static int send_all(int fd, const char *buf, size_t len, long long deadline) {
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
                if (n > 0) {
                        buf += n;
                        len -= (size_t)n;
                        continue;
                }
                if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
                    errno != EINTR)
                        return -1;
                if (wait_fd(fd, POLLOUT, deadline) == -1)
                        return -1;
        }
        return 0;
}

int webhook_post(const char *url, const char *alert_id, const char *body,
                 size_t len, int timeout_ms, char *errstr, size_t errstr_size) {
        long long deadline = mono_ms() + timeout_ms;
        url_t     u;
        char      head[2048], resp[512];
        size_t    got = 0;
        int       fd, hlen, status, r = WEBHOOK_RETRY;

        if (url_parse(url, &u, errstr, errstr_size) == -1)
                return WEBHOOK_PERMANENT;
        if ((fd = connect_to(&u, deadline, errstr, errstr_size)) == -1)
                return WEBHOOK_RETRY;
        hlen = snprintf(head, sizeof(head),
                        "POST %s HTTP/1.1\r\n"
                        "Host: %s:%s\r\n"
                        "User-Agent: rumstream-alert-router\r\n"
                        "Content-Type: application/json\r\n"
                        "Content-Length: %zu\r\n"
                        "X-Rumstream-Alert-Id: %s\r\n"
                        "Connection: close\r\n\r\n",
                        u.path, u.host, u.port, len, alert_id);
        if (hlen < 0 || hlen >= (int)sizeof(head)) {
                snprintf(errstr, errstr_size, "request head too long");
                r = WEBHOOK_PERMANENT;
                goto out;
        }
        if (send_all(fd, head, (size_t)hlen, deadline) == -1 ||
            send_all(fd, body, len, deadline) == -1) {
                snprintf(errstr, errstr_size, "send: %s", strerror(errno));
                goto out;
        }
        /* The status line is all we need. */
        while (got < sizeof(resp) - 1 && !memchr(resp, '\n', got)) {
                ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
                if (n > 0) {
                        got += (size_t)n;
                        continue;
                }
                if (n == 0)
                        break;
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                        snprintf(errstr, errstr_size, "receive: %s",
                                 strerror(errno));
                        goto out;
                }
                if (wait_fd(fd, POLLIN, deadline) == -1) {
                        snprintf(errstr, errstr_size, "receive: %s",
                                 strerror(errno));
                        goto out;
                }
        }
        resp[got] = '\0';
        if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1) {
                snprintf(errstr, errstr_size, "no HTTP status line");
                goto out;
        }
        if (status >= 200 && status < 300)
                r = WEBHOOK_OK;
        else if (status == 408 || status == 429 || status >= 500)
                snprintf(errstr, errstr_size, "HTTP %d", status);
        else {
                snprintf(errstr, errstr_size,
                         status < 400 ? "HTTP %d (redirects are not followed)"
                                      : "HTTP %d",
                         status);
                r = WEBHOOK_PERMANENT;
        }
out:
        close(fd);
        return r;
}
