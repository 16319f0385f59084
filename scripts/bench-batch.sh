#!/usr/bin/env bash
# Issue 8's performance bars for batch grading, measured on this machine:
#   1. the grader's own overhead per submission: the wall time of `grade --out` over 50 small submissions
#      (copies of fixtures/submissions/sum: C and Python), one at a time (--jobs 1), minus the sum of the
#      submissions' build and run times (each report's build duration and its cases' wall times), / 50
#      (bar: at most 100 ms); a rerun that keeps every result is timed too;
#   2. merging 1,000 results from 4 shard folders, then writing their leaderboard (bar: under 1 s).
# Usage: scripts/bench-batch.sh [submissions] [results-to-merge]
#   TAKEHOME_BIN=target/debug/takehome to use an existing binary instead of building a release one.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-50}
merged=${2:-1000}
bin=${TAKEHOME_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet --release
  bin=target/release/takehome
fi
bin=$(realpath "$bin")
work=$(mktemp -d /tmp/takehome-bench-batch.XXXXXX)
trap 'rm -rf "$work"' EXIT
export TAKEHOME_CACHE_DIR="$work/cache"
now() { date +%s.%N; }

echo "== $count small submissions (C and Python copies of fixtures/submissions/sum)"
for i in $(seq 1 "$count"); do
  if [ $((i % 2)) = 0 ]; then src=fixtures/submissions/sum/c; else src=fixtures/submissions/sum/python; fi
  cp -r "$src" "$work/subs-$i"
  # Each copy differs (its own tree hash and build), as candidates' submissions do.
  case "$src" in
    *c) printf '\n/* candidate %d */\n' "$i" >>"$work/subs-$i/main.c" ;;
    *) printf '\n# candidate %d\n' "$i" >>"$work/subs-$i/main.py" ;;
  esac
  mkdir -p "$work/subs" && mv "$work/subs-$i" "$work/subs/s$i"
done
start=$(now)
"$bin" grade fixtures/challenges/sum --from "$work/subs" --out "$work/results" --seed 1 --jobs 1 >/dev/null 2>"$work/grade.log" || true
end=$(now)
python3 - "$work/results" "$start" "$end" "$count" <<'PY'
import json, pathlib, sys
folder, start, end, count = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
inside = 0.0
for path in folder.glob("*.json"):
    report = json.loads(path.read_text())["reports"][0]
    inside += report["build"]["duration"] + sum(c["wall_time"] for g in report["groups"] for c in g["cases"])
wall = end - start
per = (wall - inside) / count
print(f"graded {count} submissions in {wall:.2f} s; their builds and runs took {inside:.2f} s")
print(f"grader overhead per submission: {per * 1000:.0f} ms (bar: 100 ms) -> {'OK' if per <= 0.1 else 'OVER'}")
PY
start=$(now)
"$bin" grade fixtures/challenges/sum --from "$work/subs" --out "$work/results" --jobs 1 >/dev/null 2>&1 || true
end=$(now)
python3 -c "import sys; w=float(sys.argv[2])-float(sys.argv[1]); print(f'rerun keeping all {sys.argv[3]} results: {w:.2f} s ({w/int(sys.argv[3])*1000:.0f} ms each)')" "$start" "$end" "$count"

echo "== merging $merged results from 4 shard folders"
python3 - "$work/results" "$work/shards" "$merged" <<'PY'
import json, pathlib, sys
results, shards, total = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
templates = [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]
for i in range(total):
    result = json.loads(json.dumps(templates[i % len(templates)]))
    name = f"candidate-{i:04d}"
    result["reports"][0]["submission"]["name"] = name
    folder = shards / f"shard{i % 4 + 1}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
PY
start=$(now)
"$bin" merge "$work/merged" "$work/shards/shard1" "$work/shards/shard2" "$work/shards/shard3" "$work/shards/shard4" >/dev/null
merged_at=$(now)
"$bin" report "$work/merged" >/dev/null
end=$(now)
written=$(find "$work/merged" -name '*.json' | wc -l)
python3 -c "import sys; s, m, e = map(float, sys.argv[1:4]); print(f'merged {sys.argv[4]} results in {(m - s) * 1000:.0f} ms, then the leaderboard in {(e - m) * 1000:.0f} ms: {(e - s) * 1000:.0f} ms in all (bar: 1 s) -> ' + ('OK' if e - s <= 1 else 'OVER'))" "$start" "$merged_at" "$end" "$written"
