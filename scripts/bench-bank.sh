#!/bin/sh
# Prints issue 7's figures:
#  1. the linearizability checker's (scripts/bench-linearizability.sh: slowest and total over the shared
#     etcd histories, and a 10,000-operation kv history from 16 clients);
#  2. the bank at 64 requests in flight, work_ms = 1, 1000 accounts (the `scaling-64` stage of
#     challenges/bank): the Rust reference and the global-lock known-bad run side by side, alternating,
#     RUNS times each (default 3), through the real harness; their median throughputs and the ratio
#     (bar: at least 20x).
# Usage: scripts/bench-bank.sh [RUNS]
set -e
cd "$(dirname "$0")/.."
runs=${1:-3}
echo "== linearizability checker"
scripts/bench-linearizability.sh
cargo build --release --quiet
takehome=target/release/takehome
stage_only=$(mktemp -d)
trap 'rm -rf "$stage_only"' EXIT
# The bank challenge with only its scaling-64 stage, so a submission that fails an earlier stage still
# gets measured there.
python3 - challenges/bank "$stage_only" <<'PY'
import sys, pathlib
source, target = map(pathlib.Path, sys.argv[1:])
head, *stages = (source / "challenge.toml").read_text().split("[[stage]]")
head = head.split("[validate]")[0]
chosen = [s for s in stages if 'name = "scaling-64"' in s]
(target / "challenge.toml").write_text(head + "[[stage]]" + chosen[0])
(target / "README.md").write_text((source / "README.md").read_text())
PY
measure() {
    "$takehome" test "$stage_only" --dir "$1" --seed 7 --format json 2>/dev/null | python3 -c '
import json, sys
case = json.load(sys.stdin)["reports"][0]["groups"][0]["cases"][0]
m = case["metrics"]
print("%.0f %.2f %s" % (m.get("throughput", 0), m.get("latency-p99-ms", 0), case["verdict"]))' || true
}
reference=challenges/bank/reference/rust
global_lock=fixtures/submissions/protocol/bank-global-lock
echo "== bank scaling-64: $runs runs each, alternating"
: > "$stage_only/reference.txt"
: > "$stage_only/global.txt"
for i in $(seq "$runs"); do
    measure "$reference" | tee -a "$stage_only/reference.txt" | sed 's/^/reference   transfers\/s, p99 ms, verdict: /'
    measure "$global_lock" | tee -a "$stage_only/global.txt" | sed 's/^/global-lock transfers\/s, p99 ms, verdict: /'
done
python3 - "$stage_only/reference.txt" "$stage_only/global.txt" <<'PY'
import statistics, sys
ref, glob = ([float(line.split()[0]) for line in open(path) if line.strip()] for path in sys.argv[1:])
r, g = statistics.median(ref), statistics.median(glob)
print(f"median throughput: reference {r:.0f}/s, global lock {g:.0f}/s, ratio {r / g:.1f}x (bar: 20x)")
PY
