/*
 * rumctl migrate: applies the numbered SQL migrations (rs_pg_migrate()),
 * each once, so it is safe to run on every deployment.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumctl.h"

#define CMD "migrate"

static void usage(FILE *fp) {
        fprintf(fp,
                "Usage: rumctl migrate --dsn DSN [--dir DIR] [--wait-ms MS]\n"
                "\n"
                "Applies the migrations NNNN_<name>.sql of DIR not applied "
                "yet, in order,\n"
                "and prints how many it applied.\n\n"
                "  --dsn DSN      libpq connection string (default: "
                "$RUMSTREAM_PG_DSN)\n"
                "  --dir DIR      default %s\n"
                "  --wait-ms MS   how long to retry connecting (default "
                "30000)\n"
                "  -h, --help     this text\n",
                RS_PG_MIGRATIONS_DIR);
}

int rumctl_migrate(int argc, char **argv) {
        static const struct option longopts[] = {
            {"dsn", required_argument, NULL, 'd'},
            {"dir", required_argument, NULL, 'D'},
            {"wait-ms", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        const char *dsn     = getenv("RUMSTREAM_PG_DSN");
        const char *dir     = RS_PG_MIGRATIONS_DIR;
        int64_t     wait_ms = 30000;
        rs_pg_t    *pg      = NULL;
        char        errstr[1024];
        int         c, applied = 0, ret = RUMCTL_EXIT_FAIL;

        while ((c = getopt_long(argc, argv, ":d:D:w:h", longopts, NULL)) !=
               -1) {
                switch (c) {
                case 'd':
                        dsn = optarg;
                        break;
                case 'D':
                        dir = optarg;
                        break;
                case 'w':
                        if (rumctl_parse_i64(CMD, "--wait-ms", optarg, 0,
                                             INT32_MAX, &wait_ms) == -1)
                                goto usage;
                        break;
                case 'h':
                        usage(stdout);
                        return RUMCTL_EXIT_OK;
                default:
                        return rumctl_bad_option(CMD, c, argv, usage);
                }
        }
        if (rumctl_no_more_args(CMD, argc, argv) == -1 ||
            rumctl_required(CMD, "--dsn", dsn, "RUMSTREAM_PG_DSN") == -1)
                goto usage;

        if (!(pg = rumctl_pg_connect(dsn, wait_ms)))
                goto out;
        if (rs_pg_migrate(pg, dir, &applied, errstr, sizeof(errstr)) == -1) {
                rs_log_error("migrate: %s", errstr);
                goto out;
        }
        printf("applied %d migration(s) from %s\n", applied, dir);
        fflush(stdout);
        ret = RUMCTL_EXIT_OK;
out:
        rs_pg_destroy(pg);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
