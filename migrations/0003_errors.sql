-- rumstream: the error-tracker's tables and the issues every detector raises.
-- Every text column holds scrubbed text only (common/pii): no user ids,
-- no e-mail addresses, tokens or other personal data.

-- One row per error group (fingerprint) of a tenant: what it is and a
-- sample, its first event (scrubbed), written when the window it first
-- appeared in closes.
CREATE TABLE IF NOT EXISTS error_groups (
    tenant_id          text        NOT NULL,
    group_id           text        NOT NULL,
    kind               text        NOT NULL,
    error_type         text        NOT NULL,
    category           text        NOT NULL,
    severity           text        NOT NULL,
    title              text        NOT NULL,
    message            text        NOT NULL,
    frames             text        NOT NULL,
    sample_event_id    text        NOT NULL,
    sample_message     text        NOT NULL,
    sample_stack       text,
    sample_url         text        NOT NULL,
    sample_breadcrumbs jsonb       NOT NULL,
    first_seen         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);

-- The detector's state of each group after the window ending at
-- state_window_end (ms), written with that window's rows and the input
-- position, and loaded when the partition is assigned, so that a restart
-- or a new owner carries on exactly where it stood.
CREATE TABLE IF NOT EXISTS error_group_state (
    tenant_id         text             NOT NULL,
    group_id          text             NOT NULL,
    partition         integer          NOT NULL,
    last_seen         timestamptz      NOT NULL,
    state_window_end  bigint           NOT NULL,
    baseline          double precision NOT NULL,
    windows_tracked   bigint           NOT NULL,
    spike_issue_id    text,
    spike_opened_ms   bigint,
    spike_version     bigint           NOT NULL,
    new_issue_version bigint           NOT NULL,
    new_issue_open    boolean          NOT NULL,
    last_error_window bigint           NOT NULL,
    errors            bigint           NOT NULL,
    weighted_errors   double precision NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
CREATE INDEX IF NOT EXISTS error_group_state_partition
    ON error_group_state (partition);

-- A group as a person looks at it: what it is, when it was first and last
-- seen, how many errors (weighted by 1/sample_rate too), and its sample.
CREATE OR REPLACE VIEW error_group_summary AS
SELECT g.tenant_id, g.group_id, g.title, g.kind, g.error_type, g.category,
       g.severity, g.first_seen, s.last_seen, s.errors, s.weighted_errors,
       s.spike_issue_id IS NOT NULL AS spiking, g.message, g.frames,
       g.sample_message, g.sample_stack, g.sample_url, g.sample_breadcrumbs
  FROM error_groups g JOIN error_group_state s USING (tenant_id, group_id);

-- Tenants the error-tracker has seen, for the new-error warm-up.
CREATE TABLE IF NOT EXISTS error_tenants (
    tenant_id  text        NOT NULL PRIMARY KEY,
    partition  integer     NOT NULL,
    first_seen timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS error_tenants_partition ON error_tenants (partition);

-- Errors of one group on one route in one window. sessions is exact
-- unless sessions_estimated (a HyperLogLog estimate past 32 sessions).
CREATE TABLE IF NOT EXISTS error_aggregates (
    tenant_id          text             NOT NULL,
    group_id           text             NOT NULL,
    route              text             NOT NULL,
    window_start       timestamptz      NOT NULL,
    window_end         timestamptz      NOT NULL,
    errors             bigint           NOT NULL,
    weighted_errors    double precision NOT NULL,
    sessions           bigint           NOT NULL,
    sessions_estimated boolean          NOT NULL,
    category           text             NOT NULL,
    severity           text             NOT NULL,
    aggregate_id       text             NOT NULL,
    PRIMARY KEY (tenant_id, group_id, route, window_start)
);
CREATE INDEX IF NOT EXISTS error_aggregates_window
    ON error_aggregates (window_start);

-- Errors per (tenant, route, window) over all groups.
CREATE TABLE IF NOT EXISTS error_route_windows (
    tenant_id          text             NOT NULL,
    route              text             NOT NULL,
    window_start       timestamptz      NOT NULL,
    window_end         timestamptz      NOT NULL,
    partition          integer          NOT NULL,
    errors             bigint           NOT NULL,
    weighted_errors    double precision NOT NULL,
    sessions           bigint           NOT NULL,
    sessions_estimated boolean          NOT NULL,
    PRIMARY KEY (tenant_id, route, window_start)
);

CREATE INDEX IF NOT EXISTS error_route_windows_partition
    ON error_route_windows (partition, window_start);

-- Page views per (tenant, route, window) from rum.aggregates (the
-- all-traffic roll-up), as the error-tracker received them.
CREATE TABLE IF NOT EXISTS route_page_views (
    tenant_id    text             NOT NULL,
    route        text             NOT NULL,
    window_start timestamptz      NOT NULL,
    partition    integer          NOT NULL,
    page_views   double precision NOT NULL,
    PRIMARY KEY (tenant_id, route, window_start)
);
CREATE INDEX IF NOT EXISTS route_page_views_partition
    ON route_page_views (partition, window_start);

-- Error rate per (tenant, route, window), judged once both the errors and
-- the page views of the window are in: weighted errors / page views, null
-- without page views.
CREATE TABLE IF NOT EXISTS error_rates (
    tenant_id       text             NOT NULL,
    route           text             NOT NULL,
    window_start    timestamptz      NOT NULL,
    window_end      timestamptz      NOT NULL,
    errors          bigint           NOT NULL,
    weighted_errors double precision NOT NULL,
    page_views      double precision,
    error_rate      double precision,
    PRIMARY KEY (tenant_id, route, window_start)
);

-- The error-rate rule's state per (tenant, route), and how far each input
-- partition pair has been judged (windows ending at or before
-- evaluated_until).
CREATE TABLE IF NOT EXISTS error_rate_state (
    tenant_id    text    NOT NULL,
    route        text    NOT NULL,
    partition    integer NOT NULL,
    over_windows bigint  NOT NULL,
    issue_id     text,
    opened_ms    bigint,
    version      bigint  NOT NULL,
    PRIMARY KEY (tenant_id, route)
);
CREATE INDEX IF NOT EXISTS error_rate_state_partition
    ON error_rate_state (partition);

CREATE TABLE IF NOT EXISTS error_rate_progress (
    partition       integer NOT NULL PRIMARY KEY,
    evaluated_until bigint  NOT NULL
);

-- Issues: the latest version of each, and every version in order.
CREATE TABLE IF NOT EXISTS issues (
    issue_id      text             NOT NULL PRIMARY KEY,
    tenant_id     text             NOT NULL,
    kind          text             NOT NULL,
    state         text             NOT NULL,
    severity      text             NOT NULL,
    title         text             NOT NULL,
    source        text             NOT NULL,
    route         text,
    segment_type  text,
    segment_value text,
    metric        text,
    observed      double precision,
    baseline      double precision,
    threshold     double precision,
    sample_size   bigint,
    opened_at     timestamptz      NOT NULL,
    updated_at    timestamptz      NOT NULL,
    resolved_at   timestamptz,
    version       bigint           NOT NULL,
    evidence      jsonb            NOT NULL
);
CREATE INDEX IF NOT EXISTS issues_tenant_state ON issues (tenant_id, state);

CREATE TABLE IF NOT EXISTS issue_versions (
    issue_id   text        NOT NULL,
    version    bigint      NOT NULL,
    state      text        NOT NULL,
    severity   text        NOT NULL,
    observed   double precision,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (issue_id, version)
);
