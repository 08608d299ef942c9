-- rumstream: the anomaly-detector's tables. The p75 of every judged window
-- per series (its history, rebuilt from here after a restart or a
-- rebalance) and the lifecycle of every (series, kind), both written in
-- the checkpoint transaction that stores the input positions.

-- One row per series and judged window. p75 is the window's p75 from its
-- merged sketch, samples the page views that measured the metric, ci_low
-- and ci_high the 95% (detect.ci_level) interval of the p75 (NULL when
-- too few samples bound that side). Pruned by retention.
CREATE TABLE IF NOT EXISTS anomaly_series (
    tenant_id     text             NOT NULL,
    route         text             NOT NULL,
    segment_type  text             NOT NULL,
    segment_value text             NOT NULL,
    metric        text             NOT NULL,
    window_start  timestamptz      NOT NULL,
    partition     integer          NOT NULL,
    p75           double precision,
    samples       double precision NOT NULL,
    ci_low        double precision,
    ci_high       double precision,
    PRIMARY KEY (tenant_id, route, segment_type, segment_value, metric,
                 window_start)
);
CREATE INDEX IF NOT EXISTS anomaly_series_partition
    ON anomaly_series (partition, window_start);

-- The lifecycle (common/detect rs_detect_state_t) of one series and kind
-- (regression, budget_breach, level_shift), as of the last window judged;
-- issue_id is the issue it opened last (NULL before any).
CREATE TABLE IF NOT EXISTS anomaly_state (
    tenant_id        text             NOT NULL,
    route            text             NOT NULL,
    segment_type     text             NOT NULL,
    segment_value    text             NOT NULL,
    metric           text             NOT NULL,
    kind             text             NOT NULL,
    partition        integer          NOT NULL,
    open             integer          NOT NULL,
    severity         integer          NOT NULL,
    breach_run       bigint           NOT NULL,
    healthy_run      bigint           NOT NULL,
    change_run       bigint           NOT NULL,
    version          bigint           NOT NULL,
    since_ms         bigint           NOT NULL,
    opened_ms        bigint           NOT NULL,
    freeze_ms        bigint           NOT NULL,
    noticed_value    double precision,
    noticed_expected double precision,
    issue_id         text,
    changed_at       timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, route, segment_type, segment_value, metric, kind)
);
CREATE INDEX IF NOT EXISTS anomaly_state_partition
    ON anomaly_state (partition);

-- What the anomaly-detector raised: the issues topic carries the same
-- versions (issue_versions).
CREATE OR REPLACE VIEW production_issues AS
    SELECT * FROM issues WHERE source = 'anomaly-detector';
