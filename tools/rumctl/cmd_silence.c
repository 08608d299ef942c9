/*
 * rumctl silence: silences of the alert-router (table alerting_silences,
 * read by every router; common/alerting.h section 5).
 *
 *   silence add    --tenant-id T [--route R] [--kind K] [--severity S]
 *                  --duration 2h --comment C [--created-by U] --dsn DSN
 *   silence list   [--tenant-id T] --dsn DSN
 *   silence expire --id ID --dsn DSN
 *
 * A silence starts now (wall clock) and mutes the matching issues at the
 * routers' next refresh (silences.refresh_ms); its id is the one the
 * engine derives (rs_alerting_silence_add()), so adding the same silence
 * twice in the same millisecond is one silence. Expiring ends it now (one
 * that has not started ends before it starts).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/alerting.h"
#include "rumstream/log.h"
#include "rumstream/pg.h"
#include "rumctl.h"

#define CMD "silence"

static void usage(FILE *fp) {
        fprintf(fp,
                "Usage: rumctl silence add --tenant-id T [--route R] "
                "[--kind K] [--severity S]\n"
                "                          --duration D --comment C "
                "[--created-by U] --dsn DSN\n"
                "       rumctl silence list [--tenant-id T] --dsn DSN\n"
                "       rumctl silence expire --id ID --dsn DSN\n"
                "\n"
                "Silences mute the alert-router's notices of the matching "
                "issues (recorded\n"
                "as silenced in the alerts table) from now for the "
                "duration.\n\n"
                "  --tenant-id T   tenant (list: only its silences)\n"
                "  --route R       route, or * (default)\n"
                "  --kind K        issue kind (regression, error_spike ...) "
                "or * (default)\n"
                "  --severity S    low, medium, high, critical or * "
                "(default)\n"
                "  --duration D    e.g. 90m, 2h, 7d\n"
                "  --comment C     why (required)\n"
                "  --created-by U  who (default: $USER, else rumctl)\n"
                "  --id ID         the silence to expire\n"
                "  --dsn DSN       libpq connection string (default: "
                "$RUMSTREAM_PG_DSN)\n"
                "  -h, --help      this text\n");
}

static int cmd_add(rs_pg_t *pg, const rs_alerting_silence_t *in) {
        rs_alerting_conf_t           conf;
        rs_alerting_t               *a;
        const rs_alerting_silence_t *s;
        char        errstr[1024], id[33], starts[24], ends[24], created[24];
        const char *vals[10];
        PGresult   *res;
        int         ret = RUMCTL_EXIT_FAIL;

        /* The engine validates the silence and derives its id. */
        rs_alerting_conf_defaults(&conf);
        conf.routes = "";
        if (!(a = rs_alerting_new(&conf, errstr, sizeof(errstr)))) {
                rs_log_error("%s", errstr);
                return RUMCTL_EXIT_FAIL;
        }
        if (rs_alerting_silence_add(a, in, in->starts_ms, id, errstr,
                                    sizeof(errstr))) {
                fprintf(stderr, "rumctl %s add: %s\n", CMD, errstr);
                ret = RUMCTL_EXIT_USAGE;
                goto out;
        }
        s = rs_alerting_silence_get(a, 0);
        snprintf(starts, sizeof(starts), "%" PRId64, s->starts_ms);
        snprintf(ends, sizeof(ends), "%" PRId64, s->ends_ms);
        snprintf(created, sizeof(created), "%" PRId64, s->created_ms);
        vals[0] = id;
        vals[1] = s->tenant_id;
        vals[2] = s->route;
        vals[3] = s->kind;
        vals[4] = s->severity;
        vals[5] = starts;
        vals[6] = ends;
        vals[7] = s->comment;
        vals[8] = s->created_by;
        vals[9] = created;
        res =
            rs_pg_query(pg,
                        "INSERT INTO alerting_silences (id, tenant_id, route, "
                        "kind, severity, starts_ms, ends_ms, comment, "
                        "created_by, created_ms) VALUES ($1, $2, $3, $4, $5, "
                        "$6::bigint, $7::bigint, $8, $9, $10::bigint) ON "
                        "CONFLICT (id) DO NOTHING",
                        10, vals, errstr, sizeof(errstr));
        if (!res) {
                rs_log_error("cannot store the silence (run rumctl migrate "
                             "first?): %s",
                             errstr);
                goto out;
        }
        PQclear(res);
        printf("%s\n", id);
        ret = RUMCTL_EXIT_OK;
out:
        rs_alerting_destroy(a);
        return ret;
}

static int cmd_list(rs_pg_t *pg, const char *tenant) {
        static const char *const hdr[] = {
            "ID",       "STATE",  "TENANT", "ROUTE",      "KIND",
            "SEVERITY", "STARTS", "ENDS",   "CREATED BY", "COMMENT"};
        rumctl_table_t t = {.ncol = 10, .align = "llllllllll"};
        char           now[24], errstr[1024], when[64];
        const char    *vals[2];
        PGresult      *res;
        int64_t        now_ms = rumctl_now_ms();
        int            row, c, ret = RUMCTL_EXIT_FAIL;

        snprintf(now, sizeof(now), "%" PRId64, now_ms);
        vals[0] = now;
        vals[1] = tenant ? tenant : "";
        res     = rs_pg_query(pg,
                              "SELECT id, CASE WHEN $1::bigint < starts_ms AND "
                                  "ends_ms > starts_ms THEN 'pending' WHEN "
                                  "$1::bigint < ends_ms THEN 'active' ELSE 'expired' "
                                  "END, tenant_id, route, kind, severity, starts_ms, "
                                  "ends_ms, created_by, comment FROM alerting_silences "
                                  "WHERE $2 = '' OR tenant_id = $2 ORDER BY starts_ms, "
                                  "id",
                              2, vals, errstr, sizeof(errstr));
        if (!res) {
                rs_log_error("%s", errstr);
                return RUMCTL_EXIT_FAIL;
        }
        for (c = 0; c < 10; c++)
                rumctl_table_cell(&t, "%s", hdr[c]);
        for (row = 0; row < PQntuples(res); row++) {
                for (c = 0; c < 6; c++)
                        rumctl_table_cell(&t, "%s", PQgetvalue(res, row, c));
                for (c = 6; c < 8; c++) {
                        rumctl_format_time(
                            strtoll(PQgetvalue(res, row, c), NULL, 10),
                            RUMCTL_TIME_TEXT, when, sizeof(when));
                        rumctl_table_cell(&t, "%s", when);
                }
                rumctl_table_cell(&t, "%s", PQgetvalue(res, row, 8));
                rumctl_table_cell(&t, "%s", PQgetvalue(res, row, 9));
        }
        if (rumctl_table_print(&t, "") == 0)
                ret = RUMCTL_EXIT_OK;
        rumctl_table_free(&t);
        PQclear(res);
        return ret;
}

static int cmd_expire(rs_pg_t *pg, const char *id) {
        char        now[24], errstr[1024];
        const char *vals[2];
        PGresult   *res;
        int         ret = RUMCTL_EXIT_FAIL;

        snprintf(now, sizeof(now), "%" PRId64, rumctl_now_ms());
        vals[0] = id;
        vals[1] = now;
        res =
            rs_pg_query(pg,
                        "WITH e AS (UPDATE alerting_silences SET starts_ms = "
                        "LEAST(starts_ms, $2::bigint), ends_ms = $2::bigint "
                        "WHERE id = $1 AND ends_ms > $2::bigint RETURNING id) "
                        "SELECT (SELECT count(*) FROM e), (SELECT count(*) "
                        "FROM alerting_silences WHERE id = $1)",
                        2, vals, errstr, sizeof(errstr));
        if (!res) {
                rs_log_error("%s", errstr);
                return RUMCTL_EXIT_FAIL;
        }
        if (strcmp(PQgetvalue(res, 0, 1), "0") == 0) {
                fprintf(stderr, "rumctl %s expire: no silence %s\n", CMD, id);
        } else {
                printf("%s %s\n", id,
                       strcmp(PQgetvalue(res, 0, 0), "0") ? "expired"
                                                          : "already expired");
                ret = RUMCTL_EXIT_OK;
        }
        PQclear(res);
        return ret;
}

int rumctl_silence(int argc, char **argv) {
        static const struct option longopts[] = {
            {"tenant-id", required_argument, NULL, 't'},
            {"route", required_argument, NULL, 'r'},
            {"kind", required_argument, NULL, 'k'},
            {"severity", required_argument, NULL, 's'},
            {"duration", required_argument, NULL, 'D'},
            {"comment", required_argument, NULL, 'c'},
            {"created-by", required_argument, NULL, 'u'},
            {"id", required_argument, NULL, 'i'},
            {"dsn", required_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        rs_alerting_silence_t s        = {0};
        const char           *dsn      = getenv("RUMSTREAM_PG_DSN");
        const char           *duration = NULL, *id = NULL, *action;
        int64_t               secs = 0;
        rs_pg_t              *pg;
        int                   c, ret;

        if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? RUMCTL_EXIT_USAGE : RUMCTL_EXIT_OK;
        }
        action = argv[1];
        if (strcmp(action, "add") && strcmp(action, "list") &&
            strcmp(action, "expire")) {
                fprintf(stderr, "rumctl %s: unknown action %s\n", CMD, action);
                usage(stderr);
                return RUMCTL_EXIT_USAGE;
        }
        s.route    = "*";
        s.kind     = "*";
        s.severity = "*";
        s.created_by =
            getenv("USER") && *getenv("USER") ? getenv("USER") : "rumctl";
        argc--;
        argv++;
        while ((c = getopt_long(argc, argv, ":t:r:k:s:D:c:u:i:d:h", longopts,
                                NULL)) != -1) {
                switch (c) {
                case 't':
                        s.tenant_id = optarg;
                        break;
                case 'r':
                        s.route = optarg;
                        break;
                case 'k':
                        s.kind = optarg;
                        break;
                case 's':
                        s.severity = optarg;
                        break;
                case 'D':
                        duration = optarg;
                        break;
                case 'c':
                        s.comment = optarg;
                        break;
                case 'u':
                        s.created_by = optarg;
                        break;
                case 'i':
                        id = optarg;
                        break;
                case 'd':
                        dsn = optarg;
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
        if (!strcmp(action, "add") &&
            (rumctl_required(CMD, "--tenant-id", s.tenant_id, NULL) == -1 ||
             rumctl_required(CMD, "--duration", duration, NULL) == -1 ||
             rumctl_required(CMD, "--comment", s.comment, NULL) == -1 ||
             rumctl_parse_duration(CMD, "--duration", duration, 366LL * 86400,
                                   &secs) == -1))
                goto usage;
        if (!strcmp(action, "expire") &&
            rumctl_required(CMD, "--id", id, NULL) == -1)
                goto usage;

        rumctl_catch_signals();
        if (!(pg = rumctl_pg_connect(dsn, 10000)))
                return RUMCTL_EXIT_FAIL;
        if (!strcmp(action, "add")) {
                s.starts_ms = rumctl_now_ms();
                s.ends_ms   = s.starts_ms + secs * 1000;
                ret         = cmd_add(pg, &s);
        } else if (!strcmp(action, "list")) {
                ret = cmd_list(pg, s.tenant_id);
        } else {
                ret = cmd_expire(pg, id);
        }
        rs_pg_destroy(pg);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
