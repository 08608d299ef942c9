/*
 * rumctl: dispatch to the subcommands, and the helpers they share.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rumstream/log.h"
#include "rumstream/log.h"
#include "rumstream/pg.h"

#include "rumctl.h"

volatile sig_atomic_t rumctl_stop;

typedef struct command_s {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *summary;
} command_t;

static const command_t commands[] = {
    {"kafka", rumctl_kafka,
     "run an embedded Kafka cluster with rumstream's topics"},
    {"produce", rumctl_produce,
     "produce synthetic RUM events (and bad messages) to a topic"},
    {"migrate", rumctl_migrate, "apply the PostgreSQL migrations"},
    {"topic-size", rumctl_topic_size,
     "print the number of messages ever written to a topic"},
    {"report", rumctl_report,
     "print p75 Web Vitals per tenant and route from PostgreSQL"},
    {"correlate", rumctl_correlate,
     "print how well a tenant's synthetic tests predict real users"},
    {"issues", rumctl_issues,
     "print a tenant's issues (open and recently resolved) from PostgreSQL"},
    {"silence", rumctl_silence,
     "add, list or expire silences of the alert-router"},
};

#define COMMAND_CNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp) {
        size_t i;

        fprintf(fp, "Usage: rumctl <command> [options]\n"
                    "       rumctl <command> --help\n\n"
                    "Commands:\n");
        for (i = 0; i < COMMAND_CNT; i++)
                fprintf(fp, "  %-11s %s\n", commands[i].name,
                        commands[i].summary);
        fprintf(fp, "\nExit status: 0 success, 1 failure, 2 usage error.\n"
                    "Logs go to stderr as JSON lines, results to stdout.\n");
}

static void on_signal(int sig) {
        (void)sig;
        rumctl_stop = 1;
}

void rumctl_catch_signals(void) {
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        /* No SA_RESTART: a sleep or poll should end at once. */
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
}

int rumctl_parse_i64(const char *cmd, const char *opt, const char *s,
                     int64_t min, int64_t max, int64_t *out) {
        char     *end;
        long long v;

        errno = 0;
        v     = strtoll(s, &end, 10);
        if (errno || end == s || *end) {
                fprintf(stderr, "rumctl %s: %s: not an integer: \"%s\"\n", cmd,
                        opt, s);
                return -1;
        }
        if (v < min || v > max) {
                fprintf(stderr,
                        "rumctl %s: %s: %lld is out of range [%lld, %lld]\n",
                        cmd, opt, v, (long long)min, (long long)max);
                return -1;
        }
        *out = v;
        return 0;
}

int rumctl_parse_double(const char *cmd, const char *opt, const char *s,
                        double min, double max, double *out) {
        char  *end;
        double v;

        errno = 0;
        v     = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v)) {
                fprintf(stderr, "rumctl %s: %s: not a number: \"%s\"\n", cmd,
                        opt, s);
                return -1;
        }
        if (v < min || v > max) {
                fprintf(stderr, "rumctl %s: %s: %g is out of range [%g, %g]\n",
                        cmd, opt, v, min, max);
                return -1;
        }
        *out = v;
        return 0;
}

int rumctl_parse_duration(const char *cmd, const char *opt, const char *s,
                          int64_t max_s, int64_t *out) {
        char     *end;
        long long v, unit;

        if (!isdigit((unsigned char)*s))
                goto bad;
        errno = 0;
        v     = strtoll(s, &end, 10);
        if (errno || end[0] == '\0' || end[1] != '\0')
                goto bad;
        switch (*end) {
        case 's':
                unit = 1;
                break;
        case 'm':
                unit = 60;
                break;
        case 'h':
                unit = 3600;
                break;
        case 'd':
                unit = 86400;
                break;
        default:
                goto bad;
        }
        if (v <= 0 || v > max_s / unit) {
                if (max_s % 86400 == 0)
                        fprintf(stderr,
                                "rumctl %s: %s: \"%s\" is not in (0, %lldd]\n",
                                cmd, opt, s, (long long)(max_s / 86400));
                else
                        fprintf(stderr,
                                "rumctl %s: %s: \"%s\" is not in (0, %llds]\n",
                                cmd, opt, s, (long long)max_s);
                return -1;
        }
        *out = v * unit;
        return 0;
bad:
        fprintf(stderr,
                "rumctl %s: %s: expected a whole number with a unit s, m, h "
                "or d (e.g. 6h), not \"%s\"\n",
                cmd, opt, s);
        return -1;
}

int rumctl_bad_option(const char *cmd, int c, char **argv,
                      void (*cmd_usage)(FILE *)) {
        /* getopt_long() runs with opterr = 0 and a ':' leading the option
         * string, so the message can name the subcommand and tell a
         * missing argument from an unknown option. */
        const char *arg = optind > 0 ? argv[optind - 1] : "?";

        if (c == ':')
                fprintf(stderr, "rumctl %s: %s needs an argument\n", cmd, arg);
        else if (optopt)
                fprintf(stderr, "rumctl %s: unknown option -%c\n", cmd, optopt);
        else
                fprintf(stderr, "rumctl %s: unknown option %s\n", cmd, arg);
        cmd_usage(stderr);
        return RUMCTL_EXIT_USAGE;
}

int rumctl_no_more_args(const char *cmd, int argc, char **argv) {
        if (optind >= argc)
                return 0;
        fprintf(stderr, "rumctl %s: unexpected argument \"%s\"\n", cmd,
                argv[optind]);
        return -1;
}

int rumctl_required(const char *cmd, const char *opt, const char *value,
                    const char *env) {
        if (value && *value)
                return 0;
        if (env)
                fprintf(stderr, "rumctl %s: %s is required (or set %s)\n", cmd,
                        opt, env);
        else
                fprintf(stderr, "rumctl %s: %s is required\n", cmd, opt);
        return -1;
}

int64_t rumctl_now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double rumctl_mono_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void rumctl_sleep_ms(int64_t ms) {
        struct timespec ts;

        if (ms <= 0 || rumctl_stop)
                return;
        ts.tv_sec  = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        /* EINTR (a signal) ends the sleep early, as wanted. */
        nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
        rs_log_level_t level = RS_LOG_INFO;
        const char    *env   = getenv("RUMSTREAM_LOG_LEVEL");
        size_t         i;

        if (argc < 2) {
                usage(stderr);
                return RUMCTL_EXIT_USAGE;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
            !strcmp(argv[1], "help")) {
                usage(stdout);
                return RUMCTL_EXIT_OK;
        }

        if (env && rs_log_level_parse(env, &level) == -1)
                level = RS_LOG_INFO;
        rs_log_init("rumctl", level);

        for (i = 0; i < COMMAND_CNT; i++) {
                if (!strcmp(argv[1], commands[i].name)) {
                        opterr = 0;
                        return commands[i].run(argc - 1, argv + 1);
                }
        }
        fprintf(stderr, "rumctl: unknown command \"%s\"\n\n", argv[1]);
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}

rs_pg_t *rumctl_pg_connect(const char *dsn, int64_t wait_ms) {
        char     errstr[1024];
        rs_pg_t *pg;

        rumctl_catch_signals();
        if (!(pg = rs_pg_new(dsn, errstr, sizeof(errstr)))) {
                rs_log_error("%s", errstr);
                return NULL;
        }
        rs_pg_set_stop_flag(pg, &rumctl_stop);
        if (rs_pg_connect(pg, (int)wait_ms, errstr, sizeof(errstr)) == -1) {
                rs_log_error("cannot connect: %s", errstr);
                rs_pg_destroy(pg);
                return NULL;
        }
        return pg;
}
