-- rumstream: input positions and the rum-aggregator's tables.

-- Where each processor (consumer group) resumes each input partition, written
-- in the same transaction as the rows derived from the events before it.
-- resume_offset:   first offset of the oldest window still open (replay start)
-- commit_offset:   next offset after the last event processed
-- closed_until_ms: windows ending at or before this are written; replayed
--                  events of those windows are skipped
-- watermark_ms:    the partition's watermark when the position was stored
CREATE TABLE IF NOT EXISTS stream_positions (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    resume_offset   bigint      NOT NULL,
    commit_offset   bigint      NOT NULL,
    closed_until_ms bigint      NOT NULL,
    watermark_ms    bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Routes admitted under a tenant's cap, so that a restart or a new owner of
-- the partition admits exactly the same routes.
CREATE TABLE IF NOT EXISTS tenant_routes (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    tenant_id      text        NOT NULL,
    route          text        NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, tenant_id, route)
);
CREATE INDEX IF NOT EXISTS tenant_routes_partition
    ON tenant_routes (consumer_group, topic, partition);

-- Traffic per (tenant, route, segment, window). segment_type is one of
-- all, device, country, connection; segment_value 'all' for the roll-up.
CREATE TABLE IF NOT EXISTS rum_page_views (
    tenant_id     text             NOT NULL,
    route         text             NOT NULL,
    segment_type  text             NOT NULL,
    segment_value text             NOT NULL,
    window_start  timestamptz      NOT NULL,
    window_end    timestamptz      NOT NULL,
    events        bigint           NOT NULL,
    page_views    double precision NOT NULL,
    aggregate_id  text             NOT NULL,
    PRIMARY KEY (tenant_id, route, segment_type, segment_value, window_start)
);

-- One row per metric of each aggregate. Weighted figures use 1/sample_rate.
-- sketch is the serialized DDSketch (1% relative accuracy): merge sketches
-- to roll windows up instead of averaging percentiles.
CREATE TABLE IF NOT EXISTS rum_aggregates (
    tenant_id         text             NOT NULL,
    route             text             NOT NULL,
    segment_type      text             NOT NULL,
    segment_value     text             NOT NULL,
    window_start      timestamptz      NOT NULL,
    metric            text             NOT NULL,
    window_end        timestamptz      NOT NULL,
    unit              text             NOT NULL,
    samples           bigint           NOT NULL,
    weight            double precision NOT NULL,
    mean              double precision,
    p50               double precision,
    p75               double precision,
    p95               double precision,
    p99               double precision,
    good              double precision,
    needs_improvement double precision,
    poor              double precision,
    sketch            bytea            NOT NULL,
    PRIMARY KEY (tenant_id, route, segment_type, segment_value, window_start,
                 metric)
);
CREATE INDEX IF NOT EXISTS rum_aggregates_window
    ON rum_aggregates (window_start);
