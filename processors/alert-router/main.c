/*
 * alert-router: command line, configuration and signals (common/processor).
 */
#include <stddef.h>

#include "rumstream/processor.h"

#include "router.h"

/* Bad routes, channels or group_by: status 2, with --check-config too. */
static int check(const void *conf, char *errstr, size_t errstr_size) {
        return router_conf_check(conf, errstr, errstr_size);
}

static void *create(const void *conf, char *errstr, size_t errstr_size) {
        return router_new(conf, errstr, errstr_size);
}

static int run(void *p) {
        return router_run(p);
}

static void stop(void *p) {
        router_stop(p);
}

static void destroy(void *p) {
        router_destroy(p);
}

int main(int argc, char **argv) {
        static const rs_processor_def_t def = {
            .name          = "alert-router",
            .summary       = "Routes the issues of every detector to channels "
                             "(grouping, inhibition, silences),\n"
                             "into alerts, PostgreSQL and webhooks.",
            .conf_table    = router_conf_table,
            .conf_size     = sizeof(router_conf_t),
            .stream_offset = offsetof(router_conf_t, stream),
            .check         = check,
            .create        = create,
            .run           = run,
            .stop          = stop,
            .destroy       = destroy,
        };

        return rs_processor_main(&def, argc, argv);
}
