/*
 * processor: the command line every processor shares.
 *
 *   <name> [-c FILE] [--until-eof] [--check-config] [--set NAME=VALUE]...
 *
 * Loads the processor's configuration table (defaults, file, environment,
 * then --set in order), sets up JSON logging at the configured level,
 * runs the processor's own configuration checks (def->check), installs
 * SIGTERM/SIGINT handlers that ask the processor to stop, runs it
 * and maps the outcome to the exit status: 0 clean stop, 1 failure, 2 bad
 * command line or configuration.
 */
#ifndef RS_PROCESSOR_H
#define RS_PROCESSOR_H

#include <stddef.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

typedef struct rs_processor_def_s {
        const char           *name;    /**< e.g. "error-tracker" */
        const char           *summary; /**< a line or two for --help */
        const rs_conf_item_t *conf_table;
        size_t                conf_size; /**< sizeof the configuration */
        /** offsetof the rs_stream_conf_t member named `stream`. */
        size_t stream_offset;
        /** Optional: what the table cannot check (rules, lists, URLs),
         *  without connecting to anything; run by --check-config and
         *  before create. @returns 0, or -1 with errstr (status 2). */
        int (*check)(const void *conf, char *errstr, size_t errstr_size);
        /** Builds the processor from the loaded configuration (which
         *  outlives it). @returns NULL with errstr set. */
        void *(*create)(const void *conf, char *errstr, size_t errstr_size);
        /** @returns 0 on a clean stop, -1 on failure. */
        int (*run)(void *p);
        /** Async-signal-safe stop request. */
        void (*stop)(void *p);
        void (*destroy)(void *p);
} rs_processor_def_t;

/** @brief The whole of a processor's main(). @returns the exit status. */
int rs_processor_main(const rs_processor_def_t *def, int argc, char **argv);

#endif
