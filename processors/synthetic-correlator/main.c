/*
 * synthetic-correlator: command line, configuration and signals
 * (common/processor).
 */
#include <stddef.h>

#include "rumstream/processor.h"

#include "correlator.h"

static void *create(const void *conf, char *errstr, size_t errstr_size) {
        return correlator_new(conf, errstr, errstr_size);
}

static int run(void *p) {
        return correlator_run(p);
}

static void stop(void *p) {
        correlator_stop(p);
}

static void destroy(void *p) {
        correlator_destroy(p);
}

int main(int argc, char **argv) {
        static const rs_processor_def_t def = {
            .name = "synthetic-correlator",
            .summary =
                "Correlates synthetic (lab) test results of synthetic.events "
                "with what real users see on rum.aggregates:\n"
                "verdicts, coverage and lab-field gap issues, into "
                "issues and PostgreSQL.",
            .conf_table    = correlator_conf_table,
            .conf_size     = sizeof(correlator_conf_t),
            .stream_offset = offsetof(correlator_conf_t, stream),
            .create        = create,
            .run           = run,
            .stop          = stop,
            .destroy       = destroy,
        };

        return rs_processor_main(&def, argc, argv);
}
