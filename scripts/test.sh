#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, unit and integration
# tests (ctest), the unit tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and a check of docker-compose.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== formatting (clang-format, .clang-format)"
unformatted=$(git ls-files '*.c' '*.h' | while read -r f; do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
done)
if [ -n "$unformatted" ]; then
	echo "not clang-formatted:"; echo "$unformatted"; exit 1
fi

echo "== example configurations"
build/rum-aggregator -c config/rum-aggregator.conf --check-config
build/error-tracker -c config/error-tracker.conf --check-config
build/synthetic-correlator -c config/synthetic-correlator.conf --check-config
build/anomaly-detector -c config/anomaly-detector.conf --check-config
build/alert-router -c config/alert-router.conf --check-config
# A processor's own checks (rules, lists) run with --check-config too:
# a bad value is status 2, with the setting named.
for bad in "anomaly-detector|budget.rules=lcp > 2%: high|only error_rate takes a percent" \
	"alert-router|group_by=nope|group_by: 'nope'"; do
	IFS='|' read -r proc setting want <<<"$bad"
	set +e
	out=$(build/"$proc" -c config/"$proc".conf --check-config --set "$setting" 2>&1)
	rc=$?
	set -e
	if [ "$rc" -ne 2 ] || ! grep -qF "$want" <<<"$out"; then
		echo "$proc --check-config --set '$setting': status $rc, expected 2 and '$want':" >&2
		echo "$out" >&2
		exit 1
	fi
done

echo "== docker-compose.yml"
docker-compose -f docker-compose.yml config -q

echo "== sanitizer build of the unit tests (build-asan/)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRS_SANITIZE=ON \
	-DRS_INTEGRATION_TESTS=OFF >/dev/null
cmake --build build-asan -j"$(nproc)" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure)

echo "== unit and integration tests (build/)"
cd build
ctest --output-on-failure --timeout 900
