/*
 * alert-router: from issues to notifications.
 *
 * Consumes `issues` (Issue versions from every detector, keyed by tenant)
 * and runs one rs_alerting engine (rumstream/alerting.h: routes, groups,
 * group_wait / group_interval / repeat_interval, cooldown, inhibition,
 * silences) per assigned partition. Every notice the engines make becomes
 * a row of the `alerts` table and, when it is sent (not silenced or
 * inhibited), an Alert record on `alerts` (key tenant, alert_id the
 * engine's deterministic id); sent notices of a channel with a webhook URL
 * are POSTed there.
 *
 * Time. Each partition's engine runs on its own clock, in engine time:
 *   - an issue version moves the clock to its updated_at (never back);
 *     before it is fed, the engine is ticked at every time something fell
 *     due before it (rs_alerting_next_due()), so a notice is made at the
 *     time it was due and without the versions that came later: the
 *     notices depend on the input alone, not on when checkpoints ran;
 *   - while a partition is idle the clock advances with the wall clock
 *     from its newest event time (live mode), so group_wait, intervals
 *     and cooldowns elapse when no issue arrives. The clock is stored and
 *     resumes where it was after a restart (the downtime does not count);
 *   - with --until-eof (backfills, tests) the clock is event time only,
 *     and when a partition reaches the end of its input it is ticked up to
 *     its newest event time + max(group_wait, group_interval) + cooldown:
 *     everything that was due flushes at its due time, deterministically.
 * Issues whose updated_at is more than limits.max_clock_skew_ms ahead of
 * their Kafka timestamp are dead-lettered (they would move the clock).
 * Silences (from `rumctl silence`) are in engine time too: in live mode
 * that is about the wall clock; a backfill of older issues is not muted by
 * a silence made today.
 *
 * Durability (DESIGN.md). At each checkpoint, in the transaction that
 * stores the input positions: the new alerts rows, the delivery updates,
 * and, per partition whose engine changed, its state rows (alerting_groups,
 * alerting_issues: rs_alerting_export()'s columns, keyed by consumer group
 * and partition) replaced, and its clock (alerting_clocks). On assignment
 * the state is imported: input replayed after a crash gives the same
 * notices with the same ids, and alerts rows are inserted only if new (ON
 * CONFLICT DO NOTHING), so a replay adds no alert and never resets a
 * delivery. Alerts on the topic are at least once (a replay may produce a
 * notice again, with its alert_id). One consumer group per database.
 *
 * Silences live in alerting_silences, written by `rumctl silence add /
 * expire` (ids as the engine derives them). The router never writes it:
 * it imports its silences on assignment and re-reads them every
 * silences.refresh_ms (adding new ones, replacing changed ones, ending
 * expired ones).
 *
 * Delivery. `channels` maps channel names to webhook URLs, "chat=http://
 * host:port/path; pager=http://..." (separated by ";", "," or newlines). A
 * channel the routes name without a URL is recorded only (delivery
 * "none"). Only http:// is supported (no TLS in this client): put a relay
 * in front of an https endpoint. The body is rs_alerting_notice_json()
 * (Slack-style "text", PagerDuty Events v2 style event_action / dedup_key /
 * payload, and the whole notice); add routing keys in the relay. An
 * alerts row to deliver is `pending` and is only attempted once its
 * transaction committed: at each checkpoint (about every second) each
 * partition makes at most delivery.max_attempts_per_tick attempts, of at
 * most delivery.timeout_ms each, oldest first and in order per channel (a
 * channel whose oldest alert waits or fails is not tried further in that
 * round, so a resolve never overtakes its firing). A failed attempt
 * (network error, timeout, HTTP 408, 429, 5xx) is retried after
 * delivery.initial_backoff_ms, doubling up to delivery.max_backoff_ms,
 * with no limit on attempts: attempts, last_error and next_attempt_at are
 * in the row, and a restart reloads the pending rows. A 2xx makes it
 * `delivered`; any other answer (the endpoint rejects the body) makes it
 * `failed`, for an operator to look at. Delivery is at least once: a crash
 * between a POST and its checkpoint repeats it (receivers dedupe on
 * alert_id or dedup_key). Pending alerts of a channel whose URL was
 * removed from the configuration stay pending, untried.
 *
 * Not here: PagerDuty / e-mail integrations of their own (a webhook relay
 * does that), an HTTP API for silences (rumctl writes the table).
 */
#ifndef RS_ROUTER_H
#define RS_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/config.h"
#include "rumstream/stream.h"

typedef struct router_conf_s {
        rs_stream_conf_t stream;
        char            *alerts_topic;
        char            *routes;
        char            *group_by;
        char            *channels;
        int64_t          group_wait_ms;
        int64_t          group_interval_ms;
        int64_t          repeat_interval_ms;
        int64_t          cooldown_ms;
        int64_t          silence_retention_ms;
        int64_t          silence_refresh_ms;
        int64_t          delivery_timeout_ms;
        int64_t          delivery_initial_backoff_ms;
        int64_t          delivery_max_backoff_ms;
        int64_t          delivery_max_attempts;
        int64_t          max_groups;
        int64_t          max_issues;
        int64_t          max_silences;
        int64_t          max_clock_skew_ms;
} router_conf_t;

extern const rs_conf_item_t router_conf_table[];

typedef struct router_s router_t;

/** @brief Checks what the table cannot: group_by, routes and channels
 *  (webhook URLs), without connecting. @returns 0, or -1 with errstr. */
int router_conf_check(const router_conf_t *conf, char *errstr,
                      size_t errstr_size);

/** @brief Builds the router and its stream. @returns NULL with errstr.
 *  Caller frees with router_destroy(). \p conf must outlive it. */
router_t *router_new(const router_conf_t *conf, char *errstr,
                     size_t errstr_size);
void      router_destroy(router_t *r);
int       router_run(router_t *r);
void      router_stop(router_t *r);

#endif
