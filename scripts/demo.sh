#!/usr/bin/env bash
# The main job on embedded defaults: an embedded Kafka (librdkafka's mock
# cluster over TCP), a throwaway PostgreSQL, generated traffic for several
# tenants - page views with a regression injected on one route, front-end
# errors carrying personal data with a burst and a new bug, synthetic test
# results, some bad input - every processor over all of it, then the
# results as a person reads them.
# Everything it starts is stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null

run=$(mktemp -d /tmp/rumstream-demo.XXXXXX)
chmod 755 "$run"
kafka_pid=""
tracker_pid=""
correlator_pid=""
detector_pid=""
cleanup() {
	if [ -n "$tracker_pid" ]; then kill "$tracker_pid" 2>/dev/null || true; fi
	if [ -n "$correlator_pid" ]; then kill "$correlator_pid" 2>/dev/null || true; fi
	if [ -n "$detector_pid" ]; then kill "$detector_pid" 2>/dev/null || true; fi
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
# Page views and errors cover the same 25 minutes of event time, ending now.
start_ms=$(( ($(date +%s) - events / 20) / 60 * 60 * 1000 ))
echo "== producing $events page views (6 tenants, 12 routes each), a regression"
echo "   on acme-shop /checkout in minutes 10-18, and 20 bad messages"
build/rumctl produce --brokers "$brokers" --count "$events" --seed 7 \
	--tenants 6 --routes 12 --event-rate 20 --start-ms "$start_ms" \
	--regression acme-shop:/checkout:10:2.2:18 --bad 20
echo "== producing front-end errors of the same tenants (one per 20 page views,"
echo "   a fifth carrying personal data), a 20x burst of acme-shop's most"
echo "   frequent bug on /checkout in minutes 8-13, a new bug of globex-news"
echo "   from minute 15"
# --count includes the burst's extra errors (about 700).
build/rumctl produce --errors --brokers "$brokers" --count $((events / 20 + 700)) \
	--seed 7 --tenants 6 --routes 12 --event-rate 1 --start-ms "$start_ms" \
	--burst acme-shop:/checkout:8:13:20 --new-group globex-news:15

echo "== producing synthetic (lab) test results of the same sites: each check"
echo "   once a minute; the lab does not see acme-shop's regression (a cause only"
echo "   real users meet), and umbrella-travel's / fails from minute 15"
# Every check runs once a minute: 107 checks over the 25 minutes.
build/rumctl produce --synthetic --brokers "$brokers" --count $((107 * events / 1200)) \
	--seed 7 --tenants 6 --routes 12 --start-ms "$start_ms" --interval-min 1 \
	--regression acme-shop:/checkout:10:2.2:18 --field-only \
	--failing umbrella-travel:/:15

# The error-tracker joins errors with the aggregator's page views as they
# come: the embedded cluster keeps only ~5 MiB per partition, less than
# rum.aggregates grows to here, so it has to read them while they are
# produced. It streams alongside the aggregator, is stopped (SIGTERM) once
# it has stored positions at the end of both topics, and a second run
# with --until-eof resumes from those positions and closes the last
# windows.
tracker_opts=(--set kafka_brokers="$brokers" --set pg_dsn="$dsn"
	--set new_error.warmup_ms=600000 --set error_rate.threshold=1.0
	--set error_rate.duration_ms=180000 --set error_rate.min_page_views=10)
build/error-tracker "${tracker_opts[@]}" 2>"$run/tracker.log" &
tracker_pid=$!
# The synthetic-correlator joins lab runs with the same aggregates, as
# they come, the same way. The demo's traffic is compressed (25 minutes,
# 20 page views a second over 6 tenants), so buckets are one minute and a
# bucket's field p75 counts from 5 page views; the defaults are 5 minutes
# and 20 (config/synthetic-correlator.conf).
correlator_opts=(--set kafka_brokers="$brokers" --set pg_dsn="$dsn"
	--set correlation.bucket_ms=60000 --set correlation.window_ms=720000
	--set gap.history_ms=1200000 --set correlation.min_field_samples=5)
build/synthetic-correlator "${correlator_opts[@]}" 2>"$run/correlator.log" &
correlator_pid=$!
# The anomaly-detector likewise. Compressed traffic again: a window counts
# from 10 page views and a baseline from 8 windows (defaults 50 and 30),
# and an issue resolves after 3 healthy windows (default 5): the traffic
# ends 7 windows after the regression, and with 10-25 page views a window
# a p75 strays 20% from its baseline now and then (a "watch" window, which
# restarts the count), so 5 in a row may not come before the end.
detector_opts=(--set kafka_brokers="$brokers" --set pg_dsn="$dsn"
	--set detect.min_samples=10 --set detect.min_history=8
	--set lifecycle.resolve_after=3)
build/anomaly-detector "${detector_opts[@]}" 2>"$run/detector.log" &
detector_pid=$!

echo "== rum-aggregator --until-eof (error-tracker streaming alongside)"
# Throttled: unthrottled it writes rum.aggregates faster than the three
# consumers above read it on a busy machine, and the embedded cluster then
# drops what they have not read yet (their logs say "offset reset ...
# Offset out of range").
build/rum-aggregator --until-eof --set kafka_brokers="$brokers" \
	--set pg_dsn="$dsn" --set window.idle_close_ms=0 \
	--set max_events_per_sec=2000 2>"$run/aggregator.log"
grep -h '"level":"error"' "$run/aggregator.log" || true
grep -o 'stopped cleanly after [0-9]* messages' "$run/aggregator.log" |
	sed 's/stopped cleanly after/   read/'

# Waits until consumer group $1 stored positions at the end of topics $2...
caught_up() {
	local group=$1 total=0 t stored
	shift
	for t in "$@"; do
		total=$((total + $(build/rumctl topic-size --brokers "$brokers" --topic "$t")))
	done
	for _ in $(seq 1 1200); do
		stored=$(psql "$dsn" -X -At -c "SELECT coalesce(sum(commit_offset), 0)
		    FROM stream_positions WHERE consumer_group = '$group'" \
			2>/dev/null || echo 0)
		[ "$stored" -ge "$total" ] && return 0
		sleep 0.1
	done
}

echo "== error-tracker: caught up, stopped, then --until-eof for the last windows"
caught_up error-tracker error.events rum.aggregates
kill -TERM "$tracker_pid"
wait "$tracker_pid" || true
tracker_pid=""
build/error-tracker --until-eof --set window.idle_close_ms=0 \
	"${tracker_opts[@]}" 2>>"$run/tracker.log"
grep -h '"level":"error"' "$run/tracker.log" || true
grep -o 'stopped cleanly after [0-9]* messages' "$run/tracker.log" |
	sed 's/stopped cleanly after/   read/'

echo "== anomaly-detector: likewise"
caught_up anomaly-detector rum.aggregates
kill -TERM "$detector_pid"
wait "$detector_pid" || true
detector_pid=""
build/anomaly-detector --until-eof --set window.idle_close_ms=0 \
	"${detector_opts[@]}" 2>>"$run/detector.log"
grep -h '"level":"error"' "$run/detector.log" || true
grep -o 'stopped cleanly after [0-9]* messages' "$run/detector.log" |
	sed 's/stopped cleanly after/   read/'

echo "== synthetic-correlator: likewise"
caught_up synthetic-correlator synthetic.events rum.aggregates
kill -TERM "$correlator_pid"
wait "$correlator_pid" || true
correlator_pid=""
build/synthetic-correlator --until-eof --set window.idle_close_ms=0 \
	"${correlator_opts[@]}" 2>>"$run/correlator.log"
grep -h '"level":"error"' "$run/correlator.log" || true
grep -o 'stopped cleanly after [0-9]* messages' "$run/correlator.log" |
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

echo
echo "== error groups, most frequent first (texts scrubbed of personal data)"
psql "$dsn" -X -q -P pager=off -c "
  SELECT tenant_id, left(title, 58) AS error_group, category, severity,
         errors, to_char(first_seen, 'HH24:MI') AS first,
         to_char(last_seen, 'HH24:MI') AS last
    FROM error_group_summary ORDER BY errors DESC LIMIT 10"
echo "== personal data, as stored: what the scrubber left of some samples"
psql "$dsn" -X -q -P pager=off -At -c "
  SELECT '   ' || left(t, 100) FROM (
    SELECT DISTINCT ON (k) k, t FROM (
      SELECT substring(x FROM '<(email|ip|card|phone|token|redacted)>') AS k,
             x AS t
        FROM error_groups,
             LATERAL unnest(ARRAY[sample_message, sample_url,
               substring(sample_breadcrumbs::text FROM
                 '\"message\": \"([^\"]*<[a-z]+>[^\"]*)\"')]) AS x
       WHERE x ~ '<(email|ip|card|phone|token|redacted)>') s
     ORDER BY k, length(t)) d"
echo "== issues raised, by kind"
psql "$dsn" -X -q -P pager=off -c "
  SELECT kind, count(*) AS issues, count(*) FILTER (WHERE state = 'resolved')
         AS resolved FROM issues GROUP BY 1 ORDER BY 1"
echo "== the spike, the error rate and the new bug"
psql "$dsn" -X -q -P pager=off -c "
  SELECT kind, tenant_id, left(title, 60) AS title, state, version AS v,
         to_char(opened_at, 'HH24:MI') AS opened,
         to_char(resolved_at, 'HH24:MI') AS resolved
    FROM issues
   WHERE kind <> 'new_error' OR opened_at >= to_timestamp($start_ms / 1000 + 900)
   ORDER BY opened_at, kind LIMIT 12"

echo
echo "== synthetic tests versus real users: acme-shop's /checkout"
build/rumctl correlate --dsn "$dsn" --tenant-id acme-shop --route /checkout
echo
echo "== and globex-news, which tests desktop only"
build/rumctl correlate --dsn "$dsn" --tenant-id globex-news |
	sed -n '/^Coverage/,/^Open issues/p' | sed '$d'
echo "== lab-field gaps and failing synthetic tests"
psql "$dsn" -X -q -P pager=off -c "
  SELECT kind, tenant_id, route, segment_value AS device, metric, state,
         version AS v, to_char(opened_at, 'HH24:MI') AS opened
    FROM issues WHERE source = 'synthetic-correlator'
   ORDER BY kind, tenant_id, route, device, metric"

echo
echo "== alert-router --until-eof over every detector's issues (default routes:"
echo "   critical -> pager, chat; high -> chat; medium -> email-digest)"
build/alert-router --until-eof --set kafka_brokers="$brokers" \
	--set pg_dsn="$dsn" --set window.idle_close_ms=0 2>"$run/router.log"
grep -h '"level":"error"' "$run/router.log" || true
echo
echo "== the injected regression as the anomaly-detector saw it"
build/rumctl issues --dsn "$dsn" --tenant-id acme-shop --kind regression \
	--state all 2>/dev/null
echo
echo "== and the alerts it became (acme-shop /checkout)"
psql "$dsn" -X -q -P pager=off -c "
  SELECT to_char(created_at, 'HH24:MI:SS') AS at, channel, kind, severity,
         status, left(title, 60) AS title
    FROM alerts
   WHERE tenant_id = 'acme-shop' AND group_key LIKE '%/checkout%'
   ORDER BY created_at, channel"
