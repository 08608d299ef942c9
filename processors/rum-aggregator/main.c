/*
 * rum-aggregator: command line, configuration and signals (common/processor).
 */
#include <stddef.h>

#include "rumstream/processor.h"

#include "aggregator.h"

static void *create(const void *conf, char *errstr, size_t errstr_size) {
        return agg_new(conf, errstr, errstr_size);
}

static int run(void *p) {
        return agg_run(p);
}

static void stop(void *p) {
        agg_stop(p);
}

static void destroy(void *p) {
        agg_destroy(p);
}

int main(int argc, char **argv) {
        static const rs_processor_def_t def = {
            .name    = "rum-aggregator",
            .summary = "Aggregates Web Vitals of rum.events per tenant, route, "
                       "segment and window\n"
                       "into rum.aggregates and PostgreSQL.",
            .conf_table    = agg_conf_table,
            .conf_size     = sizeof(agg_conf_t),
            .stream_offset = offsetof(agg_conf_t, stream),
            .create        = create,
            .run           = run,
            .stop          = stop,
            .destroy       = destroy,
        };

        return rs_processor_main(&def, argc, argv);
}
