#!/bin/sh
# The protocol harness's performance bar (issue 4), in a release build:
#  1. one Rust echo node, 16 requests in flight, history on: requests per second and the grader's CPU time
#     per request (bar: 100,000/s; goal 300,000/s);
#  2. 25 Rust broadcast nodes, 100 ms latency, 20 s of load: how long the checks and report take after the
#     load ends (bar: 5 s) and the grader's peak memory (bar: 200 MB).
# Usage: scripts/bench-protocol.sh   (from anywhere; needs GNU time at /usr/bin/time for peak memory)
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
takehome="$PWD/target/release/takehome"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== echo: 1 node, 16 in flight, 10 s, history recorded (Rust reference)"
"$takehome" test fixtures/challenges/protocol-bench/echo-throughput --dir challenges/echo/reference/rust \
    --seed 1 --artifacts "$out/echo" | grep -E "requests in|latency|grader CPU|AC|WA|RE|TLE" || true

echo
echo "== broadcast: 25 nodes, 100 ms latency, 20 s of load at 100 requests/s (Rust reference)"
time_output="$out/time.txt"
if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$time_output" "$takehome" test fixtures/challenges/protocol-bench/broadcast-25 \
        --dir challenges/broadcast/reference/rust --seed 1 --artifacts "$out/broadcast" --format json \
        --output "$out/broadcast.json" >/dev/null || true
    peak_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$time_output")
else
    "$takehome" test fixtures/challenges/protocol-bench/broadcast-25 --dir challenges/broadcast/reference/rust \
        --seed 1 --artifacts "$out/broadcast" --format json --output "$out/broadcast.json" >/dev/null || true
    peak_kib=""
fi
python3 - "$out/broadcast.json" "${peak_kib:-}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["reports"][0]
case = report["groups"][0]["cases"][0]
m = case.get("metrics", {})
print(f"verdict {case['verdict']}: {case['reason']}")
for key in ["requests", "throughput", "msgs-per-op-servers", "stable-latency-p50-ms", "stable-latency-max-ms",
            "after-load-seconds", "files-seconds"]:
    if key in m:
        print(f"  {key:24} {m[key]:.3f}")
peak = sys.argv[2]
if peak:
    print(f"  grader peak memory       {int(peak) / 1024:.1f} MiB (the grader process alone; nodes run apart)")
PY
