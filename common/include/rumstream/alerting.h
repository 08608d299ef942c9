/*
 * alerting: the pure, deterministic engine of the alert-router, which turns
 * issue versions (the `issues` topic) into notices for channels (chat,
 * pager, e-mail digest ...): routing, grouping, timing, inhibition,
 * silences. No I/O and no clock: every call that needs the time takes it
 * (ms since the epoch), so the processor may drive the engine by issue
 * event time (backfills, tests) or by wall clock, and tests are exact.
 * Times that go backwards are taken as the latest time seen so far.
 *
 * The processor feeds each issue version (rs_alerting_feed()), calls
 * rs_alerting_tick() regularly (every second, and after a batch of feeds;
 * rs_alerting_next_due() says when something can next happen), delivers
 * the notices it returns and stores them, and persists the engine's state
 * as rows (rs_alerting_export(), rs_alerting_import_*(); section 8).
 * Operators who know Alertmanager will find its model: group_wait,
 * group_interval, repeat_interval and inhibition mean what they mean there.
 *
 * 1. Routing (rs_alerting_routes_parse()).
 *    Rules map an issue's severity, and optionally its tenant, to channels,
 *    which are names; the processor maps each to a delivery (webhook URL,
 *    PagerDuty routing key ...). Grammar:
 *      text       = { [rule] separator } [rule]
 *      separator  = ";" | newline
 *      rule       = [ "tenant" TENANT ":" ] severities "->" channels
 *      severities = severity { "," severity }
 *      severity   = "low" | "medium" | "high" | "critical" | "*"
 *      channels   = "none" | CHANNEL { "," CHANNEL }
 *    CHANNEL is 1 to RS_ALERTING_CHANNEL_MAX - 1 characters of
 *    [A-Za-z0-9._-] other than "none"; TENANT is a tenant id
 *    ([A-Za-z0-9._:-], see event.h). Keywords are lower case. Blanks
 *    (space, tab, CR) separate tokens; "#" starts a comment up to the end
 *    of the line; a rule may continue on the next line after "tenant",
 *    ":", "," and "->". A tenant id may itself contain ':', so the ':' that
 *    ends it is the last character of the word ("tenant a:b: high -> x" is
 *    tenant "a:b"), or stands apart after a blank ("tenant a:b : high").
 *    Example:
 *      critical -> pager, chat; high -> chat
 *      medium -> email-digest; low -> none
 *      tenant acme-shop: high -> pager, chat  # acme pays for paging
 *    Lookup for (tenant, severity), first that exists: the tenant's rule
 *    for the severity, the tenant's "*" rule, the default rule for the
 *    severity, the default "*" rule; without any, no channel. A tenant
 *    rule replaces the default one for that severity (to add a channel,
 *    list the default channels again). Two rules for the same (tenant or
 *    default, severity) are an error, as are an unknown severity, a
 *    channel listed twice in a rule and "none" with other channels.
 *    Errors name the place: "line 2, column 9: unknown severity ...".
 *    An issue is tracked even when it routes to no channel (it still
 *    inhibits, and a later version may raise its severity).
 *
 * 2. Groups (rs_alerting_group_by_t).
 *    The group key of an issue is its tenant id, then for group_by
 *    tenant+route (the default) a space and its route when it has one,
 *    for tenant+kind a space and its kind, for tenant nothing more:
 *    "acme-shop /checkout" (tenant ids have no spaces, so keys of
 *    different tenants never collide). The tenant, route and kind of an
 *    issue are taken from the first version seen (they make its id).
 *    Timing is kept per group and channel: the notices of a group on a
 *    channel cover the group's issues whose severity routes them to that
 *    channel. Below, "the group" means one (group key, channel).
 *
 * 3. Timing and notices, per group (all times engine time, from the
 *    calls' now_ms).
 *    - A group starts when an open issue routed to its channel arrives
 *      and the group does not exist; its first flush is group_wait later
 *      (default 30 s), so issues arriving meanwhile join the first notice.
 *    - After each flush the next one is group_interval later (default
 *      5 min, measured from the tick that flushed): notices of a group are
 *      at least group_interval apart. A tick flushes a group at most once.
 *    - At a flush the issues of the group fall into: firing (open, routed
 *      to the channel, neither silenced nor inhibited), muted (open,
 *      routed, silenced or inhibited) and to-resolve (notified firing on
 *      this channel and since resolved, or no longer routed to it: a
 *      severity drop from critical to high resolves the page). An issue
 *      is new when it fires and was not notified firing on the channel at
 *      its current severity or higher (new, re-opened, escalated, or just
 *      unmuted: a silence that ended or a critical that resolved). A
 *      notice is sent, kind first that applies:
 *        firing    something new, and nothing of the group is notified
 *                  firing on the channel (the group's first notice, or the
 *                  first after a resolve);
 *        resolved  something to resolve and nothing firing or muted left:
 *                  one notice listing what it resolves, once;
 *        update    something new or something to resolve (issues resolved
 *                  while others still fire are listed as resolved once);
 *        repeat    nothing changed, something fires and the last sent
 *                  notice is repeat_interval old (default 4 h); it lists
 *                  what fires.
 *      A sent notice lists every firing issue and the issues it resolves;
 *      muted issues are not listed. Issues that resolve before they were
 *      ever notified (within group_wait, or while muted) are never sent.
 *    - Cooldown (default 5 min) starts at a resolved notice. An issue of
 *      the group that opens during the cooldown is held: the group flushes
 *      at max(end of cooldown, first such arrival + group_wait), and sends
 *      a firing notice then only if something still fires; if all of it
 *      resolved meanwhile, nothing is sent (a flapping issue pages once per
 *      cooldown, not once per flap). A group with nothing open and nothing
 *      to resolve at a flush, or at the end of its cooldown, is forgotten;
 *      if it starts again later it is a new group (new ids, group_wait).
 *    - Issues are forgotten `cooldown` after the version that resolved
 *      them arrived, once their resolve was notified wherever they were
 *      notified firing.
 *
 * 4. Inhibition. An open critical issue on a (tenant, route) mutes the
 *    lower-severity issues with the same tenant and route (an issue
 *    without a route: those without a route), whatever the grouping and
 *    whether or not the critical itself is silenced. Muted issues are not
 *    notified but recorded (below); when the critical resolves, the ones
 *    still open are new at their group's next flush.
 *
 * 5. Silences (rs_alerting_silence_add()). Matchers on tenant, route, kind
 *    and severity, each exact or "*" (an issue without a route matches
 *    route "*" only), active from starts_ms (inclusive) to ends_ms
 *    (exclusive), with a comment and who made it. The first active
 *    silence matching an issue (by id) mutes it at a flush; a silence
 *    takes precedence over inhibition as the reason. Silences are listed,
 *    expired (ends at now) and dropped silence_retention after they end.
 *    When a silence ends the issues it muted are new at the next flush.
 *
 * 6. Records of muted notices. At a flush, the muted issues that the
 *    channel does not know as firing and that were not recorded muted on
 *    it at their current severity or higher are recorded in a notice of
 *    status silenced, and another of status inhibited, kind firing or
 *    update as a sent notice would have been. They are for the alerts
 *    table, not for delivery, and do not count as sent for the timing.
 *    An issue the channel knows as firing and that is muted afterwards
 *    is just left out of the notices (no record), and its resolve is
 *    still sent.
 *
 * 7. Idempotence and ids. An issue version equal to the last one seen of
 *    the issue (a replay) or older changes nothing and yields nothing
 *    (RS_ALERTING_DUPLICATE, RS_ALERTING_STALE). A group's life is named by
 *    the issue version that started it (issue id and its updated_at):
 *      alert_id  = rs_id("alert", group key, channel, epoch issue id,
 *                  epoch ms, seq), seq = 1, 2 ... per group, records too;
 *      dedup_key = rs_id("alert_group", group key, channel, epoch issue
 *                  id, epoch ms): one per group life, e.g. a PagerDuty
 *                  dedup key, so updates land on one incident.
 *    A replay after a crash (state restored from the last checkpoint,
 *    input replayed from the stored position) renumbers the same notices
 *    alike, so a consumer drops the duplicates by alert_id. Ids depend on
 *    the order of the versions, which a partition keeps. Replays are
 *    recognised while the issue is tracked, i.e. until `cooldown` after
 *    its resolve: later, an old "open" version would count as a new
 *    issue, which the stored input position rules out.
 *    Output is deterministic: a tick's notices are ordered by group key,
 *    channel and seq; a notice's issues by status (firing or muted before
 *    resolved), severity (highest first), opened_at, issue id.
 *
 * 8. Bounded memory and state. At most max_issues issues and max_groups
 *    group keys are tracked; a version that would need more is refused
 *    and counted (RS_ALERTING_OVERFLOW, stats): the issues already tracked
 *    keep their alerts. max_silences bounds the silences.
 *    State rows (rs_alerting_export(), every row type sorted by its key):
 *      group   (group_key, channel) primary key: tenant_id, phase "active"
 *              or "cooldown", epoch_issue_id, epoch_ms, seq (notices so
 *              far), created_ms, next_flush_ms, last_sent_ms (-1: none),
 *              cooldown_until_ms and held_since_ms (-1 unless cooling down,
 *              resp. holding an issue);
 *      issue   issue_id primary key: tenant_id, kind, route, segment_type,
 *              segment_value, metric (NULL if absent), severity, state
 *              "open" or "resolved", title, observed, baseline, threshold
 *              (NaN if absent), opened_at_ms, updated_at_ms, resolved_at_ms
 *              (-1 if open), version, resolved_seen_ms (engine time its
 *              resolve arrived, -1 if open) and notified: what each channel
 *              was last told about it, "channel=status/severity" entries
 *              joined by ",", status firing, resolved, silenced or
 *              inhibited, e.g. "chat=firing/high,pager=resolved/critical"
 *              ("" if nothing);
 *      silence id primary key: the rs_alerting_silence_t fields.
 *    Import into a fresh engine with rs_alerting_import_group(),
 *    rs_alerting_import_issue() (either order) and rs_alerting_silence_add()
 *    (with the id). The inhibition index is rebuilt from the issues. Run
 *    one engine per input partition: issues are keyed by tenant, and so
 *    are groups.
 *
 * 9. Notice content (rs_alerting_notice_t): what the Alert record
 *    (schemas/alert.avsc) needs (alert_id, issue_id = the first issue,
 *    tenant_id, channel, kind, severity = highest of the listed firing
 *    issues, or of the resolved ones when none fires, title, summary,
 *    group_key, created_at, issue_ids) plus the status (sent, silenced,
 *    inhibited) for the alerts table. Title:
 *      one issue listed   "[HIGH] <its title>"
 *      several            "[HIGH] 3 issues on acme-shop /checkout",
 *                         "[HIGH] 2 firing, 1 resolved on acme-shop /x"
 *    with "[RESOLVED]" as the prefix of a resolved notice. Summary: one
 *    line per listed issue, "firing [high] LCP regression on /checkout
 *    (lcp 4200 vs baseline 2500, threshold 4000)", at most
 *    RS_ALERTING_SUMMARY_ISSUES lines, then "... and N more".
 *    rs_alerting_notice_json() writes the webhook body (shape there).
 */
#ifndef RS_ALERTING_H
#define RS_ALERTING_H

#include <stddef.h>
#include <stdint.h>

#include "rumstream/event.h"

#define RS_ALERTING_EINVAL (-1) /**< NULL pointer, bad argument or input */
#define RS_ALERTING_ENOMEM (-2) /**< out of memory */
#define RS_ALERTING_ENOENT (-3) /**< no silence with that id */
#define RS_ALERTING_EFULL  (-4) /**< max_silences reached */

/* rs_alerting_feed() and rs_alerting_import_*() results >= 0 */
#define RS_ALERTING_ACCEPTED  0 /**< applied */
#define RS_ALERTING_DUPLICATE 1 /**< same version as the last one: ignored */
#define RS_ALERTING_STALE     2 /**< older than the last one: ignored */
#define RS_ALERTING_OVERFLOW  3 /**< max_issues or max_groups: refused */

/** Channel names are shorter than this. */
#define RS_ALERTING_CHANNEL_MAX 64
/** Lines of a notice's summary before "... and N more". */
#define RS_ALERTING_SUMMARY_ISSUES 20

typedef enum {
        RS_ALERTING_LOW = 0,
        RS_ALERTING_MEDIUM,
        RS_ALERTING_HIGH,
        RS_ALERTING_CRITICAL,
} rs_alerting_severity_t;

typedef enum {
        RS_ALERTING_GROUP_BY_ROUTE = 0, /**< tenant + route (default) */
        RS_ALERTING_GROUP_BY_TENANT,    /**< tenant */
        RS_ALERTING_GROUP_BY_KIND,      /**< tenant + kind */
} rs_alerting_group_by_t;

/** Kind of a notice (Alert.kind). */
typedef enum {
        RS_ALERTING_FIRING = 0,
        RS_ALERTING_UPDATE,
        RS_ALERTING_REPEAT,
        RS_ALERTING_RESOLVED,
} rs_alerting_kind_t;

/** What became of a notice. */
typedef enum {
        RS_ALERTING_SENT = 0, /**< to deliver */
        RS_ALERTING_SILENCED, /**< recorded only: its issues are silenced */
        RS_ALERTING_INHIBITED /**< recorded only: its issues are inhibited */
} rs_alerting_status_t;

/** What a notice says of one issue. */
typedef enum {
        RS_ALERTING_ISSUE_FIRING = 0,
        RS_ALERTING_ISSUE_RESOLVED, /**< resolved, or left the channel */
        RS_ALERTING_ISSUE_SILENCED,
        RS_ALERTING_ISSUE_INHIBITED,
} rs_alerting_issue_status_t;

typedef struct rs_alerting_conf_s {
        const char            *routes; /**< routing text (section 1) */
        rs_alerting_group_by_t group_by;
        int64_t                group_wait_ms;      /**< >= 0; 30 s */
        int64_t                group_interval_ms;  /**< > 0; 5 min */
        int64_t                repeat_interval_ms; /**< > 0; 4 h */
        int64_t                cooldown_ms;        /**< >= 0; 5 min */
        int64_t silence_retention_ms; /**< >= 0; 24 h after the end */
        size_t  max_groups;           /**< group keys, >= 1; 10000 */
        size_t  max_issues;           /**< >= 1; 50000 */
        size_t  max_silences;         /**< >= 1; 1000 */
} rs_alerting_conf_t;

/** One issue as a notice shows it. Strings are NULL when absent. */
typedef struct rs_alerting_entry_s {
        const char                *issue_id;
        const char                *kind;
        const char                *severity; /**< "low" ... "critical" */
        const char                *state;    /**< "open" or "resolved" */
        const char                *title;
        const char                *route;
        const char                *segment_type;
        const char                *segment_value;
        const char                *metric;
        double                     observed, baseline, threshold; /**< NaN */
        int64_t                    opened_at_ms, updated_at_ms;
        int64_t                    resolved_at_ms; /**< -1 while open */
        int64_t                    version;
        rs_alerting_issue_status_t status;
        /** Silenced: the silence id; inhibited: the critical issue's id
         *  (the smallest id of the open criticals); else NULL. */
        const char *muted_by;
} rs_alerting_entry_t;

typedef struct rs_alerting_notice_s {
        char                       alert_id[33];
        char                       dedup_key[33];
        const char                *tenant_id;
        const char                *group_key;
        const char                *channel;
        rs_alerting_kind_t         kind;
        rs_alerting_status_t       status;
        rs_alerting_severity_t     severity;
        int64_t                    seq;
        int64_t                    created_at_ms; /**< the tick's time */
        const char                *title;
        const char                *summary; /**< lines joined by "\n" */
        const rs_alerting_entry_t *entries; /**< at least one */
        size_t                     entry_cnt;
} rs_alerting_notice_t;

/** A silence. Matchers are exact values or "*". */
typedef struct rs_alerting_silence_s {
        const char *id; /**< NULL or "" on create: derived from the rest */
        const char *tenant_id;
        const char *route;
        const char *kind;
        const char *severity; /**< a severity name or "*" */
        int64_t     starts_ms;
        int64_t     ends_ms;    /**< > starts_ms */
        const char *comment;    /**< not empty */
        const char *created_by; /**< not empty */
        int64_t     created_ms; /**< set by the engine on create */
} rs_alerting_silence_t;

/** One group state row (section 8). */
typedef struct rs_alerting_group_row_s {
        const char *group_key;
        const char *channel;
        const char *tenant_id;
        const char *phase; /**< "active" or "cooldown" */
        const char *epoch_issue_id;
        int64_t     epoch_ms;
        int64_t     seq;
        int64_t     created_ms;
        int64_t     next_flush_ms;
        int64_t     last_sent_ms;      /**< -1: none */
        int64_t     cooldown_until_ms; /**< -1 unless cooling down */
        int64_t     held_since_ms;     /**< -1 unless holding an issue */
} rs_alerting_group_row_t;

/** One issue state row (section 8). Strings NULL when absent. */
typedef struct rs_alerting_issue_row_s {
        const char *issue_id;
        const char *tenant_id;
        const char *kind;
        const char *route;
        const char *segment_type;
        const char *segment_value;
        const char *metric;
        const char *severity;
        const char *state; /**< "open" or "resolved" */
        const char *title;
        double      observed, baseline, threshold; /**< NaN if absent */
        int64_t     opened_at_ms, updated_at_ms;
        int64_t     resolved_at_ms; /**< -1 if open */
        int64_t     version;
        int64_t     resolved_seen_ms; /**< -1 if open */
        const char *notified;         /**< "chat=firing/high,..." or "" */
} rs_alerting_issue_row_t;

typedef struct rs_alerting_stats_s {
        size_t   issues;         /**< tracked now */
        size_t   groups;         /**< group keys tracked now */
        size_t   group_channels; /**< (group key, channel) timings now */
        size_t   silences;       /**< kept now (active, pending, ended) */
        uint64_t fed;            /**< versions accepted */
        uint64_t duplicates, stale, invalid;
        uint64_t issues_overflow; /**< refused at max_issues */
        uint64_t groups_overflow; /**< refused at max_groups */
        uint64_t notices_sent, notices_silenced, notices_inhibited;
        uint64_t issues_forgotten, groups_forgotten; /**< group_channels */
} rs_alerting_stats_t;

/* ---- Routing ----------------------------------------------------------- */

typedef struct rs_alerting_routes_s rs_alerting_routes_t;

/**
 * @brief Parses routing text (grammar at the top).
 * @returns the routes, caller frees with rs_alerting_routes_destroy(); or
 *          NULL with "line L, column C: what" in errstr (or the reason for
 *          a NULL text or no memory).
 */
rs_alerting_routes_t *rs_alerting_routes_parse(const char *text, char *errstr,
                                               size_t errstr_size);
void                  rs_alerting_routes_destroy(rs_alerting_routes_t *r);

/**
 * @brief The channels of (tenant, severity), in rule order. Up to \p cap
 *        names go to \p channels (pointers into \p r).
 * @returns how many channels there are (0 for none; may exceed \p cap).
 */
size_t rs_alerting_routes_match(const rs_alerting_routes_t *r,
                                const char                 *tenant_id,
                                rs_alerting_severity_t      sev,
                                const char **channels, size_t cap);

/** @brief Every channel the rules name, in order of first mention (for a
 *         processor to check that each has a delivery).
 *  @returns the number of channels; the i-th name, or NULL past the end. */
size_t      rs_alerting_routes_channel_cnt(const rs_alerting_routes_t *r);
const char *rs_alerting_routes_channel(const rs_alerting_routes_t *r, size_t i);

/* ---- Names ------------------------------------------------------------- */

/** @brief "low", "medium", "high", "critical" -> \p out.
 *  @returns 0 or RS_ALERTING_EINVAL. */
int rs_alerting_severity_parse(const char *s, rs_alerting_severity_t *out);
/** @brief The name, or "unknown". */
const char *rs_alerting_severity_name(rs_alerting_severity_t sev);
/** @brief "tenant+route", "tenant", "tenant+kind" -> \p out.
 *  @returns 0 or RS_ALERTING_EINVAL. */
int rs_alerting_group_by_parse(const char *s, rs_alerting_group_by_t *out);
/** @brief "firing", "update", "repeat", "resolved", or "unknown". */
const char *rs_alerting_kind_name(rs_alerting_kind_t kind);
/** @brief "sent", "silenced", "inhibited", or "unknown". */
const char *rs_alerting_status_name(rs_alerting_status_t status);
/** @brief "firing", "resolved", "silenced", "inhibited", or "unknown". */
const char *rs_alerting_issue_status_name(rs_alerting_issue_status_t status);

/* ---- Engine ------------------------------------------------------------ */

typedef struct rs_alerting_s rs_alerting_t;

/** @brief Fills \p c with the defaults (routes NULL, tenant+route, 30 s,
 *         5 min, 4 h, 5 min, 24 h, 10000, 50000, 1000). */
void rs_alerting_conf_defaults(rs_alerting_conf_t *c);

/**
 * @brief A new engine. The routing text is parsed (and not kept).
 * @returns the engine, caller frees with rs_alerting_destroy(); or NULL
 *          with errstr set (routing error, bad setting, no memory).
 */
rs_alerting_t *rs_alerting_new(const rs_alerting_conf_t *c, char *errstr,
                               size_t errstr_size);
/** @brief Frees the engine, its state and its last notices. NULL-safe. */
void rs_alerting_destroy(rs_alerting_t *a);

/**
 * @brief Takes one issue version (strings are copied). Nothing is sent
 *        here: notices come from the next rs_alerting_tick().
 * @returns RS_ALERTING_ACCEPTED, RS_ALERTING_DUPLICATE, RS_ALERTING_STALE,
 *          RS_ALERTING_OVERFLOW (all counted), RS_ALERTING_EINVAL (NULL
 *          is, an empty issue or tenant id, a NULL kind, an unknown
 *          severity or state, a negative version: bad input, counted) or
 *          RS_ALERTING_ENOMEM (the version was not taken: feed it again).
 */
int rs_alerting_feed(rs_alerting_t *a, const rs_issue_t *is, int64_t now_ms);

/**
 * @brief Flushes the groups that are due at \p now_ms, forgets what is
 *        over, drops silences past their retention.
 * @param notices set to the notices of this tick (in the order of section
 *        7), owned by the engine and valid until the next
 *        rs_alerting_tick() or rs_alerting_destroy(); \p cnt their number.
 * @returns 0; or RS_ALERTING_ENOMEM (the groups it could not flush stay
 *          due and flush at the next tick); RS_ALERTING_EINVAL for NULL
 *          arguments.
 */
int rs_alerting_tick(rs_alerting_t *a, int64_t now_ms,
                     const rs_alerting_notice_t **notices, size_t *cnt);

/** @brief A time before which a tick has nothing to do (one at it may have
 *         nothing either: it is a lower bound, kept up to date by every
 *         call); INT64_MAX when nothing is pending. A processor may sleep
 *         until min(this, its next input). */
int64_t rs_alerting_next_due(const rs_alerting_t *a);

/** @brief Copies the counters into \p out. */
void rs_alerting_stats(const rs_alerting_t *a, rs_alerting_stats_t *out);

/* ---- Silences ---------------------------------------------------------- */

/**
 * @brief Creates a silence, or imports one (with its id and created_ms),
 *        or replaces the silence that has the same id. Strings are copied.
 * @param now_ms the creation time, when \p s has no id.
 * @param id_out if not NULL, receives the id (33 bytes).
 * @returns 0, RS_ALERTING_EINVAL (missing field, empty matcher, unknown
 *          severity, ends_ms <= starts_ms; reason in errstr),
 *          RS_ALERTING_EFULL or RS_ALERTING_ENOMEM.
 */
int rs_alerting_silence_add(rs_alerting_t *a, const rs_alerting_silence_t *s,
                            int64_t now_ms, char id_out[33], char *errstr,
                            size_t errstr_size);

/** @brief Ends silence \p id at \p now_ms (a pending one starts and ends
 *         then); one already over is left as it is.
 *  @returns 0 or RS_ALERTING_ENOENT. */
int rs_alerting_silence_expire(rs_alerting_t *a, const char *id,
                               int64_t now_ms);

/** @brief The silences, ordered by id; the i-th, or NULL past the end.
 *         Valid until the next call that adds, expires or ticks. */
size_t                       rs_alerting_silence_cnt(const rs_alerting_t *a);
const rs_alerting_silence_t *rs_alerting_silence_get(const rs_alerting_t *a,
                                                     size_t               i);

/** @brief "pending", "active" or "expired" at \p now_ms. */
const char *rs_alerting_silence_state(const rs_alerting_silence_t *s,
                                      int64_t                      now_ms);

/* ---- State ------------------------------------------------------------- */

typedef int (*rs_alerting_group_fn)(const rs_alerting_group_row_t *row,
                                    void                          *opaque);
typedef int (*rs_alerting_issue_fn)(const rs_alerting_issue_row_t *row,
                                    void                          *opaque);
typedef int (*rs_alerting_silence_fn)(const rs_alerting_silence_t *s,
                                      void                        *opaque);

/**
 * @brief Calls the callbacks (each may be NULL) with every row, groups by
 *        (group key, channel), then issues by id, then silences by id.
 *        Rows are valid during the call only.
 * @returns 0, the first non-zero callback result (which stops the export),
 *          or RS_ALERTING_ENOMEM / RS_ALERTING_EINVAL.
 */
int rs_alerting_export(rs_alerting_t *a, rs_alerting_group_fn group_fn,
                       rs_alerting_issue_fn   issue_fn,
                       rs_alerting_silence_fn silence_fn, void *opaque);

/**
 * @brief Restores one row of an earlier export (rows are copied).
 * @returns RS_ALERTING_ACCEPTED, RS_ALERTING_OVERFLOW (counted: the caps
 *          are smaller than the state), RS_ALERTING_EINVAL (a malformed
 *          row, reason in errstr) or RS_ALERTING_ENOMEM.
 */
int rs_alerting_import_group(rs_alerting_t                 *a,
                             const rs_alerting_group_row_t *row, char *errstr,
                             size_t errstr_size);
int rs_alerting_import_issue(rs_alerting_t                 *a,
                             const rs_alerting_issue_row_t *row, char *errstr,
                             size_t errstr_size);

/* ---- Webhook body ------------------------------------------------------ */

/**
 * @brief Writes the notice as one JSON object, for chat and paging
 *        webhooks: Slack-style "text" and PagerDuty Events v2 style
 *        "event_action", "dedup_key" and "payload", then the whole notice:
 *          {"text":"<title>\n<summary>",
 *           "event_action":"trigger"|"resolve",
 *           "dedup_key":"<dedup_key>",
 *           "payload":{"summary":"<title>","source":"<tenant_id>",
 *                      "severity":"critical"|"error"|"warning"|"info",
 *                      "timestamp":"2026-01-02T03:04:05.678Z",
 *                      "group":"<group_key>"},
 *           "alert_id":"...","status":"firing"|"resolved",
 *           "kind":"firing"|"update"|"repeat"|"resolved",
 *           "notice":"sent"|"silenced"|"inhibited",
 *           "severity":"low"|"medium"|"high"|"critical",
 *           "tenant":"...","group":"...","channel":"...","seq":1,
 *           "created_at":<ms>,"title":"...","summary":"...",
 *           "issues":[{"id":"...","kind":"...","severity":"...",
 *                      "status":"firing"|"resolved"|"silenced"|"inhibited",
 *                      "state":"open"|"resolved","title":"...",
 *                      "route":"..."|null,"segment_type":...|null,
 *                      "segment_value":...|null,"metric":...|null,
 *                      "observed":<number>|null,"baseline":...,
 *                      "threshold":...,"opened_at":<ms>,"updated_at":<ms>,
 *                      "resolved_at":<ms>|null,"version":<n>,
 *                      "muted_by":"..."|null}, ...]}
 *        status is "resolved" for a resolved notice, else "firing";
 *        severities map to PagerDuty's critical, error (high), warning
 *        (medium), info (low). Strings are JSON-escaped (invalid UTF-8
 *        becomes U+FFFD); numbers are the shortest that read back exactly.
 *        The object starts with {"text": so a caller may add fields (a
 *        PagerDuty "routing_key") right after the opening brace.
 * @param buf,size the caller's buffer; NUL-terminated when size > 0, and
 *        complete only when the result is < size (as snprintf).
 * @returns the length of the whole JSON, or 0 on a NULL notice or no
 *          memory.
 */
size_t rs_alerting_notice_json(const rs_alerting_notice_t *n, char *buf,
                               size_t size);

#endif
