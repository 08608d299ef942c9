/*
 * test_issues: the issue sink's drafts and bookkeeping.
 *
 * A draft starts with its identity copied into its own storage, the
 * optional numbers absent (NAN, -1), resolved_at set only for "resolved"
 * and the sink's source; evidence is formatted into the draft, cut to its
 * buffers and capped at RS_EVENT_MAX_EVIDENCE entries. Only published
 * versions are pending, each once, and rs_issues_written() forgets them
 * and reuses the drafts. Publishing goes to librdkafka's mock cluster
 * started in this process; the rows written at a checkpoint are checked
 * by the error-tracker's integration tests (0007, 0008, 0009, 0011).
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/avro.h"
#include "rumstream/issues.h"
#include "rumstream/kafka.h"
#include "rs_test.h"

#define TOPIC  "issues"
#define SOURCE "error-tracker"
#define T0     INT64_C(1767225600000)

static rs_issue_draft_t *start(rs_issues_t *iss, const char *id,
                               const char *state, int64_t version) {
        return rs_issues_start(iss, id, "acme", "error_spike", state, "high",
                               version, T0, T0 + 60000 * version);
}

static void test_defaults(rs_issues_t *iss) {
        char              id[]   = "0123456789abcdef0123456789abcdef";
        char              kind[] = "new_error";
        rs_issue_draft_t *d;
        const rs_issue_t *is;

        d  = rs_issues_start(iss, id, "acme", kind, "open", "medium", 1, T0,
                             T0 + 60000);
        is = &d->is;
        /* Copied: the caller's buffers may change or go. */
        id[0]   = 'X';
        kind[0] = 'X';
        RS_CHECK_STR(is->issue_id, "0123456789abcdef0123456789abcdef");
        RS_CHECK(is->issue_id == d->id);
        RS_CHECK_STR(is->tenant_id, "acme");
        RS_CHECK(is->tenant_id == d->tenant);
        RS_CHECK_STR(is->kind, "new_error");
        RS_CHECK_STR(is->state, "open");
        RS_CHECK_STR(is->severity, "medium");
        RS_CHECK_STR(is->source, SOURCE);
        RS_CHECK(is->title == d->title);
        RS_CHECK_STR(is->title, "");
        RS_CHECK_INT(is->version, 1);
        RS_CHECK_INT(is->opened_at_ms, T0);
        RS_CHECK_INT(is->updated_at_ms, T0 + 60000);
        RS_CHECK_INT(is->resolved_at_ms, -1);
        RS_CHECK(isnan(is->observed));
        RS_CHECK(isnan(is->baseline));
        RS_CHECK(isnan(is->threshold));
        RS_CHECK_INT(is->sample_size, -1);
        RS_CHECK(is->route == NULL);
        RS_CHECK(is->segment_type == NULL);
        RS_CHECK(is->segment_value == NULL);
        RS_CHECK(is->metric == NULL);
        RS_CHECK_INT(is->evidence_cnt, 0);
        RS_CHECK_INT(is->evidence_dropped, 0);

        /* resolved_at comes with "resolved" only. */
        d = start(iss, "b", "updated", 2);
        RS_CHECK_INT(d->is.resolved_at_ms, -1);
        RS_CHECK_INT(d->is.updated_at_ms, T0 + 120000);
        d = start(iss, "b", "resolved", 3);
        RS_CHECK_INT(d->is.resolved_at_ms, T0 + 180000);
        RS_CHECK_INT(d->is.updated_at_ms, T0 + 180000);
        RS_CHECK_INT(d->is.opened_at_ms, T0);

        /* Identity longer than its storage is cut, not overflowed. */
        d = start(iss, "0123456789abcdef0123456789abcdef-and-more", "open", 1);
        RS_CHECK_STR(d->is.issue_id, "0123456789abcdef0123456789abcdef");

        /* Started, not published: nothing pending. */
        RS_CHECK_INT(rs_issues_pending(iss), 0);
        RS_CHECK_INT(rs_issues_published(iss), 0);
        rs_issues_written(iss);
}

static void test_evidence(rs_issues_t *iss) {
        rs_issue_draft_t *d  = start(iss, "e", "open", 1);
        const rs_issue_t *is = &d->is;
        char              long_value[400], long_key[64];
        int               i;

        rs_issue_draft_evidence(d, "window_start_ms", "%" PRId64, T0);
        rs_issue_draft_evidence(d, "page_views", "%.17g", 1234.5);
        rs_issue_draft_evidence(d, "category", "%s", "network");
        RS_CHECK_INT(is->evidence_cnt, 3);
        RS_CHECK_STR(is->evidence[0].key, "window_start_ms");
        RS_CHECK_STR(is->evidence[0].value, "1767225600000");
        RS_CHECK_STR(is->evidence[1].key, "page_views");
        RS_CHECK_STR(is->evidence[1].value, "1234.5");
        RS_CHECK_STR(is->evidence[2].value, "network");
        /* Into the draft's storage, not the caller's. */
        RS_CHECK(is->evidence[0].key == d->ev_key[0]);
        RS_CHECK(is->evidence[2].value == d->ev_value[2]);

        /* Cut to the buffers. */
        memset(long_value, 'v', sizeof(long_value) - 1);
        long_value[sizeof(long_value) - 1] = '\0';
        memset(long_key, 'k', sizeof(long_key) - 1);
        long_key[sizeof(long_key) - 1] = '\0';
        rs_issue_draft_evidence(d, long_key, "%s", long_value);
        RS_CHECK_INT(is->evidence_cnt, 4);
        RS_CHECK_INT(strlen(is->evidence[3].key), RS_ISSUES_EVIDENCE_KEY - 1);
        RS_CHECK_INT(strlen(is->evidence[3].value),
                     RS_ISSUES_EVIDENCE_VALUE - 1);
        RS_CHECK(!strncmp(is->evidence[3].value, long_value,
                          RS_ISSUES_EVIDENCE_VALUE - 1));

        /* Capped at RS_EVENT_MAX_EVIDENCE; the rest are counted. */
        for (i = 4; i < RS_EVENT_MAX_EVIDENCE + 3; i++) {
                char key[16];
                snprintf(key, sizeof(key), "k%d", i);
                rs_issue_draft_evidence(d, key, "%d", i);
        }
        RS_CHECK_INT(is->evidence_cnt, RS_EVENT_MAX_EVIDENCE);
        RS_CHECK_INT(is->evidence_dropped, 3);
        RS_CHECK_STR(is->evidence[RS_EVENT_MAX_EVIDENCE - 1].key, "k15");
        RS_CHECK_STR(is->evidence[RS_EVENT_MAX_EVIDENCE - 1].value, "15");
        RS_CHECK_STR(is->evidence[0].value, "1767225600000");
        rs_issues_written(iss);
}

/* A version that cannot be encoded is not published, and not pending. */
static void test_unencodable(rs_issues_t *iss) {
        rs_issue_draft_t *d = start(iss, "u", "open", 1);

        d->is.title = NULL; /* required */
        RS_CHECK_INT(rs_issues_publish(iss, NULL, d), -1);
        RS_CHECK_INT(rs_issues_pending(iss), 0);
        RS_CHECK_INT(rs_issues_published(iss), 0);
        rs_issues_written(iss);
}

static void test_publish(rs_issues_t *iss) {
        rs_kafka_mock_t     *mock = NULL;
        rs_kafka_producer_t *p    = NULL;
        rs_issue_draft_t    *a1, *a2, *b1, *again;
        int64_t              size = -1;
        char                 err[512];

        mock = rs_kafka_mock_new(1, err, sizeof(err));
        RS_CHECK_MSG(mock != NULL, "%s", err);
        if (!mock)
                return;
        if (rs_kafka_mock_topic(mock, TOPIC, 1, err, sizeof(err)) == -1) {
                RS_CHECK_MSG(0, "%s", err);
                goto out;
        }
        p = rs_kafka_producer_new(rs_kafka_mock_bootstraps(mock), NULL, err,
                                  sizeof(err));
        RS_CHECK_MSG(p != NULL, "%s", err);
        if (!p)
                goto out;

        a1 = start(iss, "a", "open", 1);
        snprintf(a1->title, sizeof(a1->title), "Error spike: TypeError");
        rs_issue_draft_evidence(a1, "group_id", "%s", "g1");
        RS_CHECK_INT(rs_issues_publish(iss, p, a1), 0);
        a2 = start(iss, "a", "updated", 2);
        RS_CHECK_INT(rs_issues_publish(iss, p, a2), 0);
        b1 = start(iss, "b", "open", 1);
        RS_CHECK(b1 != a1 && b1 != a2 && a1 != a2);
        /* Not published: not pending. */
        start(iss, "c", "open", 1);
        RS_CHECK_INT(rs_issues_publish(iss, p, b1), 0);
        RS_CHECK_INT(rs_issues_pending(iss), 3);
        RS_CHECK_INT(rs_issues_published(iss), 3);
        /* Published again (produced again): still one pending version. */
        RS_CHECK_INT(rs_issues_publish(iss, p, b1), 0);
        RS_CHECK_INT(rs_issues_pending(iss), 3);
        RS_CHECK_INT(rs_issues_published(iss), 3);

        RS_CHECK_MSG(rs_kafka_producer_sync(p, 30000, err, sizeof(err)) == 0,
                     "%s", err);
        RS_CHECK_MSG(rs_kafka_topic_size(rs_kafka_producer_handle(p), TOPIC,
                                         10000, &size, err, sizeof(err)) == 0,
                     "%s", err);
        RS_CHECK_INT(size, 4);

        /* Committed: forgotten, and the drafts are reused, cleared. */
        rs_issues_written(iss);
        RS_CHECK_INT(rs_issues_pending(iss), 0);
        RS_CHECK_INT(rs_issues_published(iss), 3);
        again = start(iss, "d", "open", 1);
        RS_CHECK(again == a1);
        RS_CHECK_STR(again->is.issue_id, "d");
        RS_CHECK_STR(again->is.title, "");
        RS_CHECK_INT(again->is.evidence_cnt, 0);
        RS_CHECK_INT(rs_issues_pending(iss), 0);
        RS_CHECK_INT(rs_issues_publish(iss, p, again), 0);
        RS_CHECK_INT(rs_issues_pending(iss), 1);
        RS_CHECK_INT(rs_issues_published(iss), 4);
        rs_issues_written(iss);
        RS_CHECK_INT(rs_issues_pending(iss), 0);

out:
        rs_kafka_producer_destroy(p);
        rs_kafka_mock_destroy(mock);
}

/* More drafts in one checkpoint than the first allocation holds: earlier
 * drafts stay where they were. */
static void test_growth(rs_issues_t *iss) {
        rs_issue_draft_t *first = start(iss, "g0", "open", 1);
        rs_issue_draft_t *d     = first;
        int               i;

        rs_issue_draft_evidence(first, "n", "%d", 0);
        for (i = 1; i < 1000; i++) {
                char id[16];
                snprintf(id, sizeof(id), "g%d", i);
                d = start(iss, id, "open", 1);
                rs_issue_draft_evidence(d, "n", "%d", i);
        }
        RS_CHECK_STR(first->is.issue_id, "g0");
        RS_CHECK(first->is.evidence[0].value == first->ev_value[0]);
        RS_CHECK_STR(first->is.evidence[0].value, "0");
        RS_CHECK_STR(d->is.issue_id, "g999");
        rs_issues_written(iss);
}

int main(void) {
        rs_avro_registry_t *reg;
        rs_issues_t        *iss;
        char                err[512];

        rs_issues_destroy(NULL);
        reg = rs_avro_registry_new(err, sizeof(err));
        RS_CHECK_MSG(reg != NULL, "%s", err);
        if (!reg)
                return RS_TEST_DONE();
        iss = rs_issues_new(reg, TOPIC, SOURCE, err, sizeof(err));
        RS_CHECK_MSG(iss != NULL, "%s", err);
        if (!iss) {
                rs_avro_registry_destroy(reg);
                return RS_TEST_DONE();
        }

        test_defaults(iss);
        test_evidence(iss);
        test_unencodable(iss);
        test_growth(iss);
        test_publish(iss);

        rs_issues_destroy(iss);
        rs_avro_registry_destroy(reg);
        return RS_TEST_DONE();
}
