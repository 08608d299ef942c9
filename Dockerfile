# rumstream processors and rumctl on Debian bookworm.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config librdkafka-dev libavro-dev \
      libpq-dev libconfig-dev && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release \
      -DRS_INTEGRATION_TESTS=OFF && cmake --build /build -j"$(nproc)" \
      --target rum-aggregator error-tracker synthetic-correlator \
      anomaly-detector alert-router rumctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      librdkafka1 libavro23 libpq5 libconfig9 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/rum-aggregator /build/error-tracker \
      /build/synthetic-correlator /build/anomaly-detector \
      /build/alert-router /build/rumctl \
      /usr/local/bin/
COPY migrations /usr/share/rumstream/migrations
COPY config /etc/rumstream
ENV RUMSTREAM_MIGRATIONS_DIR=/usr/share/rumstream/migrations
USER nobody
ENTRYPOINT []
