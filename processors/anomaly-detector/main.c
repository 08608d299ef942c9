/*
 * anomaly-detector: command line, configuration and signals
 * (common/processor).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "rumstream/processor.h"

#include "detector.h"

/* A setting the table cannot check (a bad tenant_overrides entry, an
 * unknown metric, a budget rule) is bad configuration as well: status 2,
 * with --check-config too, before anything connects. */
static int check(const void *conf, char *errstr, size_t errstr_size) {
        return detector_conf_check(conf, errstr, errstr_size);
}

static void *create(const void *conf, char *errstr, size_t errstr_size) {
        return detector_new(conf, errstr, errstr_size);
}

static int run(void *p) {
        return detector_run(p);
}

static void stop(void *p) {
        detector_stop(p);
}

static void destroy(void *p) {
        detector_destroy(p);
}

int main(int argc, char **argv) {
        static const rs_processor_def_t def = {
            .name          = "anomaly-detector",
            .summary       = "Judges every window of rum.aggregates per series "
                             "(tenant, route, segment, metric):\n"
                             "regressions, level shifts and budget breaches, "
                             "into issues and PostgreSQL;\nwith "
                             "error.aggregates, each route's error rate "
                             "likewise.",
            .conf_table    = detector_conf_table,
            .conf_size     = sizeof(detector_conf_t),
            .stream_offset = offsetof(detector_conf_t, stream),
            .check         = check,
            .create        = create,
            .run           = run,
            .stop          = stop,
            .destroy       = destroy,
        };

        return rs_processor_main(&def, argc, argv);
}
