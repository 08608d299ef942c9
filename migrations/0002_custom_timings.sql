-- Custom timing names admitted under a tenant's cap (rum-aggregator), so
-- that a restart or a new owner of the partition admits the same names.
CREATE TABLE IF NOT EXISTS tenant_custom_timings (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    tenant_id      text        NOT NULL,
    name           text        NOT NULL,
    partition      integer     NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, tenant_id, name)
);
CREATE INDEX IF NOT EXISTS tenant_custom_timings_partition
    ON tenant_custom_timings (consumer_group, topic, partition);
