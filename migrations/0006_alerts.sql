-- rumstream: the alert-router's tables. One row per notice (alerts), the
-- routing engine's state per consumer group and partition (replaced at
-- each checkpoint, with the input positions), and the silences, which
-- `rumctl silence` writes and the router reads.

-- One row per notice of the engine (common/alerting.h section 9): sent
-- ones (delivered to the channel's webhook if it has one) and the records
-- of silenced or inhibited ones. created_at is engine time (the issues'
-- event time); recorded_at the wall clock of the insert.
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        text        PRIMARY KEY,
    tenant_id       text        NOT NULL,
    channel         text        NOT NULL,
    kind            text        NOT NULL,  -- firing, update, repeat, resolved
    status          text        NOT NULL,  -- sent, silenced, inhibited
    severity        text        NOT NULL,
    title           text        NOT NULL,
    summary         text        NOT NULL,
    group_key       text        NOT NULL,
    dedup_key       text        NOT NULL,  -- one per group life
    seq             bigint      NOT NULL,
    created_at      timestamptz NOT NULL,
    issue_ids       text[]      NOT NULL,
    partition       integer     NOT NULL,
    -- none (recorded only), pending, delivered or failed (refused)
    delivery        text        NOT NULL,
    payload         text,                  -- the webhook body, if any
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alerts_tenant ON alerts (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (partition, created_at)
    WHERE delivery = 'pending';

-- Engine state (rs_alerting_export()), one set per consumer group and
-- input partition. Times in ms since the epoch, engine time.
CREATE TABLE IF NOT EXISTS alerting_groups (
    group_id          text    NOT NULL,
    partition         integer NOT NULL,
    group_key         text    NOT NULL,
    channel           text    NOT NULL,
    tenant_id         text    NOT NULL,
    phase             text    NOT NULL,
    epoch_issue_id    text    NOT NULL,
    epoch_ms          bigint  NOT NULL,
    seq               bigint  NOT NULL,
    created_ms        bigint  NOT NULL,
    next_flush_ms     bigint  NOT NULL,
    last_sent_ms      bigint  NOT NULL,
    cooldown_until_ms bigint  NOT NULL,
    held_since_ms     bigint  NOT NULL,
    PRIMARY KEY (group_id, group_key, channel)
);
CREATE INDEX IF NOT EXISTS alerting_groups_partition
    ON alerting_groups (group_id, partition);

CREATE TABLE IF NOT EXISTS alerting_issues (
    group_id         text             NOT NULL,
    partition        integer          NOT NULL,
    issue_id         text             NOT NULL,
    tenant_id        text             NOT NULL,
    kind             text             NOT NULL,
    route            text,
    segment_type     text,
    segment_value    text,
    metric           text,
    severity         text             NOT NULL,
    state            text             NOT NULL,
    title            text             NOT NULL,
    observed         double precision,
    baseline         double precision,
    threshold        double precision,
    opened_at_ms     bigint           NOT NULL,
    updated_at_ms    bigint           NOT NULL,
    resolved_at_ms   bigint           NOT NULL,
    version          bigint           NOT NULL,
    resolved_seen_ms bigint           NOT NULL,
    notified         text             NOT NULL,
    PRIMARY KEY (group_id, issue_id)
);
CREATE INDEX IF NOT EXISTS alerting_issues_partition
    ON alerting_issues (group_id, partition);

-- The engine clock of each partition: its newest issue event time and the
-- time it last ticked.
CREATE TABLE IF NOT EXISTS alerting_clocks (
    group_id  text    NOT NULL,
    partition integer NOT NULL,
    event_ms  bigint  NOT NULL,
    clock_ms  bigint  NOT NULL,
    PRIMARY KEY (group_id, partition)
);

-- Silences (common/alerting.h section 5): matchers exact or '*', active
-- from starts_ms (inclusive) to ends_ms (exclusive). An expired one that
-- never started has ends_ms = starts_ms.
CREATE TABLE IF NOT EXISTS alerting_silences (
    id         text   PRIMARY KEY,
    tenant_id  text   NOT NULL,
    route      text   NOT NULL,
    kind       text   NOT NULL,
    severity   text   NOT NULL,
    starts_ms  bigint NOT NULL,
    ends_ms    bigint NOT NULL,
    comment    text   NOT NULL,
    created_by text   NOT NULL,
    created_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS alerting_silences_ends ON alerting_silences (ends_ms);
