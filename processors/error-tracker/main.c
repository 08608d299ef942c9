/*
 * error-tracker: command line, configuration and signals (common/processor).
 */
#include <stddef.h>

#include "rumstream/processor.h"

#include "tracker.h"

static void *create(const void *conf, char *errstr, size_t errstr_size) {
        return tracker_new(conf, errstr, errstr_size);
}

static int run(void *p) {
        return tracker_run(p);
}

static void stop(void *p) {
        tracker_stop(p);
}

static void destroy(void *p) {
        tracker_destroy(p);
}

int main(int argc, char **argv) {
        static const rs_processor_def_t def = {
            .name       = "error-tracker",
            .summary    = "Groups the front-end errors of error.events, counts "
                          "them per window and raises\n"
                          "new-error and spike issues, into error.aggregates, "
                          "issues and PostgreSQL.",
            .conf_table = tracker_conf_table,
            .conf_size  = sizeof(tracker_conf_t),
            .stream_offset = offsetof(tracker_conf_t, stream),
            .create        = create,
            .run           = run,
            .stop          = stop,
            .destroy       = destroy,
        };

        return rs_processor_main(&def, argc, argv);
}
