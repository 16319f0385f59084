#!/bin/sh
# Prints issue 6's figures: `takehome bench event-recording` (the four scale stages: 3 nodes, batches of
# 100, 32 in flight, 5 s each; each stage runs the Rust reference and then the submission, same seed) on a
# submission, RUNS times (default 3), as a table of the submission's figures per run and their medians.
# The bar for the Rust reference: at least 200,000 acknowledged events/s, count p99 under 50 ms.
# Usage: scripts/bench-event-recording.sh [RUNS] [SUBMISSION]   (default: the Rust reference)
set -e
cd "$(dirname "$0")/.."
runs=${1:-3}
submission=${2:-challenges/event-recording/reference/rust}
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== takehome bench event-recording $submission, $runs runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq "$runs"); do
    target/release/takehome bench event-recording "$submission" --format json > "$out/run-$i.json" 2>/dev/null || true
done
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys, pathlib
folder, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
figures = [
    ("scale-throughput", "events-per-s", "events/s"),
    ("scale-count-latency", "count-latency-p99-ms", "count p99 ms"),
    ("scale-messages", "msgs-per-op-servers", "msgs/op servers"),
    ("scale-memory", "peak-memory-mib-per-million-events", "MiB per M events"),
]
rows = []
for i in range(1, runs + 1):
    report = json.loads((folder / f"run-{i}.json").read_text())["reports"][0]
    cases = {c["name"]: c for g in report["groups"] for c in g["cases"]}
    rows.append([cases.get(stage, {}).get("metrics", {}).get(metric) for stage, metric, _ in figures]
                + [" ".join(c["verdict"] for c in cases.values())])
print("run  " + "".join(f"{label:>18}" for _, _, label in figures) + "  verdicts")
for i, row in enumerate(rows, 1):
    cells = "".join(f"{v:>18.1f}" if v is not None else f"{'-':>18}" for v in row[:-1])
    print(f"{i:<5}{cells}  {row[-1]}")
medians = []
for k in range(len(figures)):
    values = [row[k] for row in rows if row[k] is not None]
    medians.append(statistics.median(values) if values else None)
print("med  " + "".join(f"{v:>18.1f}" if v is not None else f"{'-':>18}" for v in medians))
PY
