-- rumstream: the anomaly-detector's error rates (processors/anomaly-
-- detector/rates.c). What each input handed over for a window and the
-- window was not judged yet: side 'page_views' (the route's all-traffic
-- page views, from rum.aggregates) or 'errors' (the route's error groups
-- summed, from error.aggregates). Rows are deleted once the window is
-- judged; the judged rates live in anomaly_series (metric error_rate).
CREATE TABLE IF NOT EXISTS anomaly_rate_inputs (
    tenant_id       text             NOT NULL,
    route           text             NOT NULL,
    window_start    timestamptz      NOT NULL,
    side            text             NOT NULL,
    partition       integer          NOT NULL,
    errors          bigint           NOT NULL,
    weighted_errors double precision NOT NULL,
    page_views      double precision,
    PRIMARY KEY (tenant_id, route, window_start, side)
);
CREATE INDEX IF NOT EXISTS anomaly_rate_inputs_partition
    ON anomaly_rate_inputs (partition, side, window_start);

-- How far each partition's pair has judged error rates (windows before
-- evaluated_until, ms since the epoch), written with the judgement.
CREATE TABLE IF NOT EXISTS anomaly_rate_progress (
    partition       integer NOT NULL PRIMARY KEY,
    evaluated_until bigint  NOT NULL
);
