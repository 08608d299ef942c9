-- rumstream: the synthetic-correlator's tables. Synthetic (lab) runs and
-- real-user (field) numbers per correlation bucket, the correlations and
-- baselines judged from them, and the coverage of real traffic by lab
-- profiles. Text columns hold scrubbed text only (common/pii).

-- One row per synthetic run, written when its bucket closes. `device` is
-- the device class its profile emulates (desktop, mobile, tablet).
CREATE TABLE IF NOT EXISTS synthetic_tests (
    tenant_id       text             NOT NULL,
    run_id          text             NOT NULL,
    test_id         text             NOT NULL,
    route           text             NOT NULL,
    url             text             NOT NULL,
    run_at          timestamptz      NOT NULL,
    bucket_start    timestamptz      NOT NULL,
    partition       integer          NOT NULL,
    location        text             NOT NULL,
    device_profile  text             NOT NULL,
    network_profile text             NOT NULL,
    device          text             NOT NULL,
    success         boolean          NOT NULL,
    error           text,
    lcp             double precision,
    fcp             double precision,
    cls             double precision,
    ttfb            double precision,
    tbt             double precision,
    load_time       double precision,
    PRIMARY KEY (tenant_id, run_id)
);
CREATE INDEX IF NOT EXISTS synthetic_tests_partition
    ON synthetic_tests (partition, bucket_start);
CREATE INDEX IF NOT EXISTS synthetic_tests_route
    ON synthetic_tests (tenant_id, route, run_at);

-- Real users per (tenant, route, device class, bucket, metric): the
-- device-segment aggregates of the bucket merged into one sketch
-- (common/sketch serialization) and its p75.
CREATE TABLE IF NOT EXISTS rum_field_buckets (
    tenant_id    text             NOT NULL,
    route        text             NOT NULL,
    device       text             NOT NULL,
    bucket_start timestamptz      NOT NULL,
    metric       text             NOT NULL,
    partition    integer          NOT NULL,
    page_views   double precision NOT NULL,
    weight       double precision NOT NULL,
    samples      bigint           NOT NULL,
    p75          double precision,
    sketch       bytea            NOT NULL,
    PRIMARY KEY (tenant_id, route, device, bucket_start, metric)
);
CREATE INDEX IF NOT EXISTS rum_field_buckets_partition
    ON rum_field_buckets (partition, bucket_start);

-- Page views per (tenant, bucket, segment) over all routes: device,
-- connection and country, for coverage.
CREATE TABLE IF NOT EXISTS rum_segment_buckets (
    tenant_id     text             NOT NULL,
    bucket_start  timestamptz      NOT NULL,
    segment_type  text             NOT NULL,
    segment_value text             NOT NULL,
    partition     integer          NOT NULL,
    page_views    double precision NOT NULL,
    PRIMARY KEY (tenant_id, bucket_start, segment_type, segment_value)
);
CREATE INDEX IF NOT EXISTS rum_segment_buckets_partition
    ON rum_segment_buckets (partition, bucket_start);

-- One row per (tenant, route, device class, metric) and evaluation (the
-- end of each bucket judged), over the correlation window before it.
CREATE TABLE IF NOT EXISTS rum_synthetic_correlations (
    tenant_id        text             NOT NULL,
    route            text             NOT NULL,
    device           text             NOT NULL,
    metric           text             NOT NULL,
    evaluated_at     timestamptz      NOT NULL,
    window_start     timestamptz      NOT NULL,
    points           integer          NOT NULL,
    lab_runs         integer          NOT NULL,
    field_weight     double precision NOT NULL,
    pearson_r        double precision,
    pearson_p        double precision,
    pearson_ci_low   double precision,
    pearson_ci_high  double precision,
    spearman_rho     double precision,
    spearman_p       double precision,
    spearman_ci_low  double precision,
    spearman_ci_high double precision,
    lab_median       double precision,
    field_p75        double precision,
    variance_ratio   double precision,
    verdict          text             NOT NULL,
    correlated       boolean          NOT NULL,
    PRIMARY KEY (tenant_id, route, device, metric, evaluated_at)
);

-- The lab-field gap's baseline per (tenant, route, device class, metric),
-- as of the latest evaluation, with the open lab_field_gap issue, if any.
CREATE TABLE IF NOT EXISTS performance_baselines (
    tenant_id      text             NOT NULL,
    route          text             NOT NULL,
    device         text             NOT NULL,
    metric         text             NOT NULL,
    partition      integer          NOT NULL,
    evaluated_at   timestamptz      NOT NULL,
    valid          boolean          NOT NULL,
    lab_baseline   double precision,
    field_baseline double precision,
    gap_baseline   double precision,
    gap_recent     double precision,
    gap_z          double precision,
    lab_z          double precision,
    field_z        double precision,
    cause          text             NOT NULL,
    issue_id       text,
    issue_opened_ms bigint,
    issue_version  bigint           NOT NULL,
    issue_cause    text,
    issue_lab_baseline   double precision, -- the baselines the open
    issue_field_baseline double precision, -- issue is judged against
    issue_gap_baseline   double precision,
    PRIMARY KEY (tenant_id, route, device, metric)
);

-- Repeated synthetic failures per (tenant, route).
CREATE TABLE IF NOT EXISTS synthetic_failure_state (
    tenant_id    text    NOT NULL,
    route        text    NOT NULL,
    partition    integer NOT NULL,
    consecutive  bigint  NOT NULL,
    streak_ms    bigint,
    last_error   text,
    issue_id     text,
    opened_ms    bigint,
    version      bigint  NOT NULL,
    PRIMARY KEY (tenant_id, route)
);

-- Coverage of a tenant's real traffic by its lab profiles, per
-- evaluation, over the correlation window before it.
CREATE TABLE IF NOT EXISTS synthetic_coverage (
    tenant_id     text             NOT NULL,
    evaluated_at  timestamptz      NOT NULL,
    segment_type  text             NOT NULL,
    segment_value text             NOT NULL,
    page_views    double precision NOT NULL,
    share         double precision NOT NULL,
    covered       boolean          NOT NULL,
    PRIMARY KEY (tenant_id, evaluated_at, segment_type, segment_value)
);

-- How far each partition pair (synthetic.events p with rum.aggregates p)
-- has been judged.
CREATE TABLE IF NOT EXISTS correlation_progress (
    partition       integer NOT NULL PRIMARY KEY,
    evaluated_until bigint  NOT NULL
);
