/*
 * issues: the way out of every detector's issues.
 *
 * A detector raises issue versions while it judges (rs_issues_start(),
 * fill the draft, rs_issues_publish()): each is produced to the issues
 * topic at once, keyed by tenant, with the deterministic id the detector
 * chose, and kept until the checkpoint, where rs_issues_write() upserts
 * the newest version of each issue into `issues` and every version into
 * `issue_versions` (migrations/0003_errors.sql) inside the checkpoint's
 * transaction. rs_issues_written() forgets them once it committed.
 *
 * A replay after a crash raises the same versions again (same ids and
 * version numbers): the topic sees a duplicate a consumer drops by (id,
 * version), the tables an idempotent upsert.
 */
#ifndef RS_ISSUES_H
#define RS_ISSUES_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"
#include "rumstream/kafka.h"
#include "rumstream/pg.h"
#include "rumstream/route.h"

#define RS_ISSUES_EVIDENCE_KEY   32
#define RS_ISSUES_EVIDENCE_VALUE 256

/**
 * One issue version being built. rs_issues_start() points every string
 * field of `is` at the storage below (or at static strings) and sets the
 * optional numbers to absent (NAN, -1); the detector fills title, route,
 * segment and metric storage with snprintf, sets the numbers of `is`
 * directly and adds evidence with rs_issue_draft_evidence(). Fields of
 * `is` left NULL (route, segment_type, segment_value, metric) stay absent
 * unless the detector points them at the storage.
 */
typedef struct rs_issue_draft_s {
        rs_issue_t is;
        char       id[33];
        char       tenant[RS_EVENT_MAX_TENANT_LEN + 1];
        char       kind[32];
        char       state[16];
        char       severity[16];
        char       title[512];
        char       route[RS_ROUTE_MAX];
        char       segment_type[32];
        char       segment_value[128];
        char       metric[64];
        char       ev_key[RS_EVENT_MAX_EVIDENCE][RS_ISSUES_EVIDENCE_KEY];
        char       ev_value[RS_EVENT_MAX_EVIDENCE][RS_ISSUES_EVIDENCE_VALUE];
} rs_issue_draft_t;

typedef struct rs_issues_s rs_issues_t;

/**
 * @brief An issue sink producing Issue records (schema id
 *        RS_SCHEMA_ID_ISSUE of \p reg) to \p topic, with \p source (the
 *        processor's name) in every record. Strings are copied.
 * @returns NULL with errstr set. Caller frees with rs_issues_destroy().
 */
rs_issues_t *rs_issues_new(rs_avro_registry_t *reg, const char *topic,
                           const char *source, char *errstr,
                           size_t errstr_size);
void         rs_issues_destroy(rs_issues_t *iss);

/**
 * @brief Starts a version: id, tenant, kind, state ("open", "updated",
 *        "resolved"), severity, version, opened_ms; updated_at = \p now_ms
 *        and resolved_at = \p now_ms when the state is "resolved", else
 *        absent. Title empty, no evidence.
 * @returns the draft, owned by \p iss and valid until rs_issues_written()
 *          or rs_issues_destroy() (aborts on out of memory).
 */
rs_issue_draft_t *rs_issues_start(rs_issues_t *iss, const char *id,
                                  const char *tenant, const char *kind,
                                  const char *state, const char *severity,
                                  int64_t version, int64_t opened_ms,
                                  int64_t now_ms);

/** @brief Appends an evidence entry (key cut to RS_ISSUES_EVIDENCE_KEY - 1
 *         bytes, value printf-formatted, cut to RS_ISSUES_EVIDENCE_VALUE - 1
 *         bytes). Ignored beyond RS_EVENT_MAX_EVIDENCE entries (counted in
 *         is.evidence_dropped, which is not encoded). */
void rs_issue_draft_evidence(rs_issue_draft_t *d, const char *key,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** @brief Encodes the draft and produces it to the topic, keyed by tenant.
 *         Only published drafts are pending (a draft started and never
 *         published is not written); one published twice is produced
 *         twice but pending once.
 *  @returns 0, or -1 (logged): fatal for the checkpoint. */
int rs_issues_publish(rs_issues_t *iss, rs_kafka_producer_t *p,
                      rs_issue_draft_t *d);

/** @brief Issue versions published since the last rs_issues_written(). */
size_t rs_issues_pending(const rs_issues_t *iss);
/** @brief Issue versions published since rs_issues_new(). */
uint64_t rs_issues_published(const rs_issues_t *iss);

/**
 * @brief Upserts the pending versions inside the caller's open
 *        transaction: the newest version of each issue into `issues`,
 *        every version into `issue_versions` (a version raised twice,
 *        same id and number, once: the newest). May run again after a
 *        rollback. @returns 0 or -1 with errstr set.
 */
int rs_issues_write(rs_issues_t *iss, rs_pg_t *pg, char *errstr,
                    size_t errstr_size);

/** @brief The transaction committed: forgets the pending versions. */
void rs_issues_written(rs_issues_t *iss);

#endif
