/*
 * rum-aggregator: command line, configuration and signals.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"

#include "aggregator.h"

static agg_t *running;

static void on_signal(int sig) {
        (void)sig;
        if (running)
                agg_stop(running);
}

static void usage(FILE *fp) {
        fprintf(fp, "Usage: rum-aggregator [-c FILE] [--until-eof] "
                    "[--check-config] "
                    "[--set NAME=VALUE]...\n"
                    "\n"
                    "Aggregates Web Vitals of rum.events per tenant, route, "
                    "segment and window\n"
                    "into rum.aggregates and PostgreSQL.\n"
                    "\n"
                    "  -c, --config FILE   libconfig file (see "
                    "config/rum-aggregator.conf)\n"
                    "      --until-eof     process the backlog, write "
                    "everything, exit\n"
                    "      --check-config  validate the configuration and "
                    "exit\n"
                    "      --set N=V       override a setting (after the file "
                    "and environment)\n"
                    "  -h, --help          this text and the settings\n"
                    "\nSettings:\n");
        rs_config_usage(agg_conf_table, fp);
}

int main(int argc, char **argv) {
        agg_conf_t       conf;
        const char      *path = NULL;
        char             errstr[1024];
        rs_log_level_t   level;
        struct sigaction sa;
        agg_t           *a = NULL;
        int              i, ret = 1, check = 0;

        memset(&conf, 0, sizeof(conf));
        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        usage(stdout);
                        return 0;
                } else if ((!strcmp(argv[i], "-c") ||
                            !strcmp(argv[i], "--config")) &&
                           i + 1 < argc) {
                        path = argv[++i];
                } else if (!strcmp(argv[i], "--check-config")) {
                        check = 1;
                } else if (!strcmp(argv[i], "--until-eof") ||
                           !strcmp(argv[i], "--set")) {
                        if (!strcmp(argv[i], "--set"))
                                i++;
                } else {
                        fprintf(stderr,
                                "rum-aggregator: unknown argument "
                                "'%s'\n",
                                argv[i]);
                        usage(stderr);
                        return 2;
                }
        }
        if (i > argc) {
                usage(stderr);
                return 2;
        }

        if (rs_config_load(agg_conf_table, &conf, path, errstr,
                           sizeof(errstr)) == -1)
                goto config_error;
        /* Command-line settings win over the file and the environment. */
        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--until-eof")) {
                        conf.stream.until_eof = 1;
                } else if (!strcmp(argv[i], "--set")) {
                        char *eq, name[256];
                        if (i + 1 >= argc || !(eq = strchr(argv[i + 1], '=')) ||
                            (size_t)(eq - argv[i + 1]) >= sizeof(name)) {
                                snprintf(errstr, sizeof(errstr),
                                         "--set expects NAME=VALUE");
                                goto config_error;
                        }
                        memcpy(name, argv[i + 1], (size_t)(eq - argv[i + 1]));
                        name[eq - argv[i + 1]] = '\0';
                        if (rs_config_set(agg_conf_table, &conf, name, eq + 1,
                                          errstr, sizeof(errstr)) == -1)
                                goto config_error;
                        i++;
                } else if (!strcmp(argv[i], "-c") ||
                           !strcmp(argv[i], "--config")) {
                        i++;
                }
        }
        if (rs_log_level_parse(conf.stream.log_level, &level) == -1) {
                snprintf(errstr, sizeof(errstr),
                         "log_level: '%s' is not debug, info, warn or error",
                         conf.stream.log_level);
                goto config_error;
        }
        rs_log_init("rum-aggregator", level);
        if (check) {
                printf("configuration ok%s%s\n", path ? ": " : "",
                       path ? path : "");
                ret = 0;
                goto out;
        }

        a = agg_new(&conf, errstr, sizeof(errstr));
        if (!a) {
                rs_log_error("start failed: %s", errstr);
                goto out;
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        running = a;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        ret     = agg_run(a) == 0 ? 0 : 1;
        running = NULL;
        agg_destroy(a);
        rs_log_info("exit %d", ret);
        goto out;

config_error:
        fprintf(stderr, "rum-aggregator: %s\n", errstr);
        ret = 2;
out:
        rs_config_free(agg_conf_table, &conf);
        return ret;
}
