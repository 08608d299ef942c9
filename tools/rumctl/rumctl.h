/*
 * rumctl: the operator's and the tests' command-line tool. Each subcommand
 * lives in its own file (cmd_<name>.c); main.c dispatches and holds the
 * helpers they share (argument parsing, the stop flag).
 *
 * Exit status: 0 success, 1 failure, 2 usage error (RUMCTL_EXIT_*).
 */
#ifndef RUMCTL_H
#define RUMCTL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#define RUMCTL_EXIT_OK    0
#define RUMCTL_EXIT_FAIL  1
#define RUMCTL_EXIT_USAGE 2

/* Subcommands: argv[0] is the subcommand's name. @returns the exit status. */
int rumctl_kafka(int argc, char **argv);
int rumctl_produce(int argc, char **argv);
int rumctl_migrate(int argc, char **argv);
int rumctl_topic_size(int argc, char **argv);
int rumctl_report(int argc, char **argv);
int rumctl_correlate(int argc, char **argv);

/* Set by SIGINT / SIGTERM once rumctl_catch_signals() ran. */
extern volatile sig_atomic_t rumctl_stop;
void                         rumctl_catch_signals(void);

/**
 * @brief Parses the whole of \p s as an integer in [min, max] into *out.
 *        On failure prints "<cmd>: <opt>: ..." to stderr.
 * @returns 0 or -1.
 */
int rumctl_parse_i64(const char *cmd, const char *opt, const char *s,
                     int64_t min, int64_t max, int64_t *out);
/** @brief As rumctl_parse_i64() for a finite double in [min, max]. */
int rumctl_parse_double(const char *cmd, const char *opt, const char *s,
                        double min, double max, double *out);

/**
 * @brief Reports the option getopt_long() rejected (it returned \p c, '?'
 *        or ':'), then the command's usage, on stderr. Option strings start
 *        with ':' so a missing argument is told apart.
 * @returns RUMCTL_EXIT_USAGE.
 */
int rumctl_bad_option(const char *cmd, int c, char **argv,
                      void (*usage)(FILE *));

/**
 * @brief After getopt_long(): refuses positional arguments left over.
 * @returns 0, or -1 having said which (the caller prints its usage).
 */
int rumctl_no_more_args(const char *cmd, int argc, char **argv);

/**
 * @brief Refuses a missing or empty required option \p opt (\p env, if
 *        not NULL, names the environment variable that can stand in).
 * @returns 0, or -1 having said so (the caller prints its usage).
 */
int rumctl_required(const char *cmd, const char *opt, const char *value,
                    const char *env);

/** @brief Wall-clock time in ms since the epoch. */
int64_t rumctl_now_ms(void);
/** @brief Monotonic time in seconds. */
double rumctl_mono_s(void);
/** @brief Sleeps \p ms, returning early once rumctl_stop is set. */
void rumctl_sleep_ms(int64_t ms);

#endif
