/*
 * processor: the shared command line. See rumstream/processor.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/log.h"
#include "rumstream/processor.h"

static const rs_processor_def_t *running_def;
static void *volatile running;

static void on_signal(int sig) {
        (void)sig;
        if (running)
                running_def->stop(running);
}

static void usage(const rs_processor_def_t *def, FILE *fp) {
        fprintf(fp,
                "Usage: %s [-c FILE] [--until-eof] [--check-config] "
                "[--set NAME=VALUE]...\n\n%s\n\n"
                "  -c, --config FILE   libconfig file (see config/%s.conf)\n"
                "      --until-eof     process the backlog, write "
                "everything, exit\n"
                "      --check-config  validate the configuration and exit\n"
                "      --set N=V       override a setting (after the file "
                "and environment)\n"
                "  -h, --help          this text and the settings\n"
                "\nSettings:\n",
                def->name, def->summary, def->name);
        rs_config_usage(def->conf_table, fp);
}

/* Applies --until-eof and --set in command-line order. */
static int apply_args(const rs_processor_def_t *def, void *conf, int argc,
                      char **argv, char *errstr, size_t errstr_size) {
        rs_stream_conf_t *sc =
            (rs_stream_conf_t *)((char *)conf + def->stream_offset);
        int i;

        for (i = 1; i < argc; i++) {
                char *eq, name[256];

                if (!strcmp(argv[i], "--until-eof")) {
                        sc->until_eof = 1;
                        continue;
                }
                if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) {
                        i++;
                        continue;
                }
                if (strcmp(argv[i], "--set"))
                        continue;
                if (i + 1 >= argc || !(eq = strchr(argv[i + 1], '=')) ||
                    (size_t)(eq - argv[i + 1]) >= sizeof(name)) {
                        snprintf(errstr, errstr_size,
                                 "--set expects NAME=VALUE");
                        return -1;
                }
                memcpy(name, argv[i + 1], (size_t)(eq - argv[i + 1]));
                name[eq - argv[i + 1]] = '\0';
                if (rs_config_set(def->conf_table, conf, name, eq + 1, errstr,
                                  errstr_size) == -1)
                        return -1;
                i++;
        }
        return 0;
}

int rs_processor_main(const rs_processor_def_t *def, int argc, char **argv) {
        const char       *path = NULL;
        char              errstr[1024];
        rs_log_level_t    level;
        rs_stream_conf_t *sc;
        struct sigaction  sa;
        void             *conf, *p;
        int               i, ret = 1, check = 0;

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                        usage(def, stdout);
                        return 0;
                } else if ((!strcmp(argv[i], "-c") ||
                            !strcmp(argv[i], "--config")) &&
                           i + 1 < argc) {
                        path = argv[++i];
                } else if (!strcmp(argv[i], "--check-config")) {
                        check = 1;
                } else if (!strcmp(argv[i], "--until-eof")) {
                        continue;
                } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
                        i++;
                } else {
                        fprintf(stderr,
                                "%s: unknown or incomplete argument "
                                "'%s'\n",
                                def->name, argv[i]);
                        usage(def, stderr);
                        return 2;
                }
        }

        conf = calloc(1, def->conf_size);
        if (!conf) {
                fprintf(stderr, "%s: out of memory\n", def->name);
                return 1;
        }
        sc = (rs_stream_conf_t *)((char *)conf + def->stream_offset);
        if (rs_config_load(def->conf_table, conf, path, errstr,
                           sizeof(errstr)) == -1 ||
            apply_args(def, conf, argc, argv, errstr, sizeof(errstr)) == -1)
                goto config_error;
        if (rs_log_level_parse(sc->log_level, &level) == -1) {
                snprintf(errstr, sizeof(errstr),
                         "log_level: '%s' is not debug, info, warn or error",
                         sc->log_level);
                goto config_error;
        }
        rs_log_init(def->name, level);
        if (def->check && def->check(conf, errstr, sizeof(errstr)) == -1)
                goto config_error;
        if (check) {
                printf("configuration ok%s%s\n", path ? ": " : "",
                       path ? path : "");
                ret = 0;
                goto out;
        }

        p = def->create(conf, errstr, sizeof(errstr));
        if (!p) {
                rs_log_error("start failed: %s", errstr);
                goto out;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        running_def = def;
        running     = p;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        ret     = def->run(p) == 0 ? 0 : 1;
        running = NULL;
        def->destroy(p);
        rs_log_info("exit %d", ret);
        goto out;

config_error:
        fprintf(stderr, "%s: %s\n", def->name, errstr);
        ret = 2;
out:
        rs_config_free(def->conf_table, conf);
        free(conf);
        return ret;
}
