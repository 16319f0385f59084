#!/usr/bin/env bash
# Issue 8's bar for the leaderboard: `takehome report` over 1,000 results in under 1 s. Generates N
# result files (default 1000) shaped like real ones (six groups of five cases, failures with diffs and
# stderr, a benchmark on half of them), then times `takehome report` on them: best and median of 5 runs.
# Usage: scripts/bench-leaderboard.sh [results]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000}
work=$(mktemp -d /tmp/takehome-bench-leaderboard.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release

python3 - "$work/results" "$count" <<'EOF'
import json, os, random, sys

folder, count = sys.argv[1], int(sys.argv[2])
os.makedirs(folder)
rng = random.Random(8)
verdicts = ["AC"] * 12 + ["WA", "WA", "TLE", "RE", "MLE"]
diff = "--- expected\n+++ actual\n@@ -1,40 +1,40 @@\n" + "".join(f"-line {i}\n+line {i + 1}\n" for i in range(40))

def summary(median):
    return {"count": 10, "median": median, "mad": 0.01, "mean": median, "min": median, "max": median, "outliers": []}

for n in range(count):
    name = f"candidate-{n:04d}"
    groups, score = [], 0.0
    for g in range(6):
        cases = []
        for c in range(5):
            v = rng.choice(verdicts)
            case = {"name": f"case-{c}", "about": "an edge", "hidden": g >= 3, "verdict": v,
                    "reason": "" if v == "AC" else "line 3 differs", "limit_hit": None, "cpu_time": 0.05,
                    "wall_time": 0.06, "memory": 12_000_000, "fraction": 1.0 if v == "AC" else 0.0, "weight": 1.0,
                    "seed": None, "feedback": None}
            if v != "AC":
                case["feedback"] = {"diff": diff, "first_difference": "line 3: expected `4`, got `5`",
                                    "input_head": "5\n1 2 3 4 5\n", "checker_message": None,
                                    "stderr_tail": "Traceback (most recent call last):\n  File \"main.py\", line 9\n"}
            cases.append(case)
        points = 10.0 if all(c["verdict"] == "AC" for c in cases) else 0.0
        score += points
        groups.append({"name": f"group-{g}", "about": None, "visibility": "hidden" if g >= 3 else "public",
                       "aggregation": "all", "points": points, "max_points": 10.0, "skipped_because": None,
                       "cases": cases})
    benches = []
    if n % 2 == 0:
        ratio = rng.uniform(0.5, 3.0)
        benches.append({
            "name": "throughput", "about": None, "status": "scored", "message": f"ratio {ratio:.3f}", "points": 5.0,
            "max_points": 10.0, "scored_metric": "cpu", "max_ci_width": 0.2,
            "metrics": [{"metric": "cpu", "unit": "seconds", "candidate": summary(ratio), "reference": summary(1.0),
                         "ratio": {"ratio": ratio, "low": ratio * 0.95, "high": ratio * 1.05, "resamples": 2000,
                                   "seed": 1}}],
            "instructions": {"unavailable": "no perf events", "candidate_median": None, "reference_median": None,
                             "ratio": None},
            "samples": {"candidate": [], "reference": [], "order": []},
            "plan": {"warmup": 1, "min_runs": 10, "min_time": 1.0, "max_time": 10.0, "max_runs": 100},
            "reference": "reference/rust", "workload": {"generator": "g", "seed": 1, "params": {}, "args": []},
            "environment": None})
    report = {
        "challenge": {"id": "bench", "title": "A generated round", "source": "bundled"},
        "submission": {"name": name, "path": f"subs/{name}", "language": rng.choice(["rust", "python", "c", "go"]),
                       "detected_because": "generated"},
        "mode": "grade", "seed": 1,
        "build": {"ok": True, "cached": False, "duration": 1.0, "commands": [], "log_tail": ""},
        "groups": groups, "score": score, "max_score": 60.0, "hidden_cases_not_run": 0, "sandbox": "generated",
        "duration": 3.0, "benches": benches,
    }
    with open(os.path.join(folder, f"{name}.json"), "w") as f:
        json.dump({"schema_version": 1, "takehome_version": "0.1.0", "reports": [report]}, f, indent=2)
EOF
size=$(du -sh "$work/results" | cut -f1)
echo "== $count generated results ($size)"

times=()
for _ in 1 2 3 4 5; do
  start=$(date +%s.%N)
  target/release/takehome report "$work/results" --out "$work/board" >/dev/null
  end=$(date +%s.%N)
  times+=("$(echo "$end - $start" | bc -l)")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n 3p)
printf 'takehome report over %d results: best %.3f s, median %.3f s (bar: under 1 s)\n' "$count" "$best" "$median"
ls -l "$work/board" | awk 'NR > 1 { printf "  %-18s %8d bytes\n", $9, $5 }'
