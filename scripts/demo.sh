#!/usr/bin/env bash
# The main job on embedded defaults: an embedded Kafka (librdkafka's mock
# cluster over TCP), a throwaway PostgreSQL, generated traffic for several
# tenants with a regression injected on one route and some bad input, the
# rum-aggregator over all of it, then the results as a person reads them.
# Everything it starts is stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null

run=$(mktemp -d /tmp/rumstream-demo.XXXXXX)
chmod 755 "$run"
kafka_pid=""
cleanup() {
	[ -n "$kafka_pid" ] && kill "$kafka_pid" 2>/dev/null && wait "$kafka_pid" 2>/dev/null
	bash scripts/pgtmp.sh stop "$run/pg" >/dev/null 2>&1 || true
	rm -rf "$run"
}
trap cleanup EXIT

echo "== throwaway PostgreSQL"
dsn=$(bash scripts/pgtmp.sh start "$run/pg")
echo "   $dsn"

echo "== embedded Kafka"
build/rumctl kafka --partitions 12 --bootstrap-file "$run/bootstrap" \
	>"$run/kafka.log" 2>&1 &
kafka_pid=$!
for _ in $(seq 1 300); do [ -s "$run/bootstrap" ] && break; sleep 0.1; done
brokers=$(cat "$run/bootstrap")
echo "   bootstrap.servers=$brokers"

events=${EVENTS:-30000}
echo "== producing $events page views (6 tenants, 12 routes each), a regression"
echo "   on acme-shop /checkout from minute 20, and 20 bad messages"
build/rumctl produce --brokers "$brokers" --count "$events" --seed 7 \
	--tenants 6 --routes 12 --event-rate 20 \
	--regression acme-shop:/checkout:20:2.2 --bad 20

echo "== rum-aggregator --until-eof"
build/rum-aggregator --until-eof --set kafka_brokers="$brokers" \
	--set pg_dsn="$dsn" --set window.idle_close_ms=0 \
	2>"$run/aggregator.log"
grep -h '"level":"error"' "$run/aggregator.log" || true
grep -o 'stopped cleanly after [0-9]* messages' "$run/aggregator.log" |
	sed 's/stopped cleanly after/   read/'

echo
build/rumctl report --dsn "$dsn" --limit 8
echo
echo "== the injected regression, window by window (acme-shop /checkout, LCP p75)"
psql "$dsn" -X -q -P pager=off -c "
  SELECT to_char(window_start, 'HH24:MI') AS window,
         round(p75)::int AS lcp_p75_ms, samples,
         CASE WHEN p75 <= 2500 THEN 'good' WHEN p75 <= 4000
              THEN 'needs improvement' ELSE 'poor' END AS rating
    FROM rum_aggregates
   WHERE tenant_id = 'acme-shop' AND route = '/checkout'
     AND segment_type = 'all' AND metric = 'lcp'
   ORDER BY window_start"
echo "== dead letters by reason"
build/rumctl topic-size --brokers "$brokers" --topic rum.events.dlq >/dev/null &&
	kcat -C -b "$brokers" -t rum.events.dlq -e -q -f '%h\n' 2>/dev/null |
	grep -o 'rs\.reason=[a-z_]*' | sort | uniq -c | sed 's/rs.reason=//'
