#!/usr/bin/env bash
# Issue 9's performance bar, measured side by side in one run on one generated tree:
#   1. how long the built-in generator takes to make a ~1 GiB, 200k-file tree (bar: under 30 s);
#   2. wall time and peak memory of the dedup references against rdfind, jdupes and fclones, warm cache
#      (bar: the Rust reference within 1.5x of the fastest of the three tools).
# Installs what it needs (Debian's rdfind, jdupes, hyperfine; fclones from crates.io). Usage:
#   scripts/bench-dedup.sh [files] [size_mb]
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-200000}
size_mb=${2:-1024}
work=$(mktemp -d /tmp/takehome-bench-dedup.XXXXXX)
chmod 755 "$work"
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
# The tree holds unreadable files; root reads them anyway. Run every program as nobody, as takehome does.
as_user=()
if [ "$(id -u)" = 0 ]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi

need() { command -v "$1" >/dev/null 2>&1; }
if ! need rdfind || ! need jdupes || ! need hyperfine || ! need bc || [ ! -x /usr/bin/time ]; then
  (apt-get update -qq && apt-get install -y -qq rdfind jdupes hyperfine bc time) >/dev/null
fi
need fclones || cargo install --quiet --locked fclones >/dev/null
cargo build --quiet --release

echo "== generating a mixed tree: $files files, about $size_mb MB"
start=$(date +%s.%N)
target/release/takehome generate dedup mixed/mixed-1 --seed 1 --param files="$files" --param size_mb="$size_mb" --out "$work/case"
end=$(date +%s.%N)
tree="$work/case/files/tree"
count=$(find "$tree" -type f 2>/dev/null | wc -l)
bytes=$(du -sb --apparent-size "$tree" 2>/dev/null | cut -f1)
printf 'generated %d files, %.2f GiB (apparent) in %.1f s\n' "$count" "$(echo "$bytes / 1073741824" | bc -l)" "$(echo "$end - $start" | bc -l)"

echo "== building the references"
cp -r challenges/dedup/reference/rust "$work/rust-ref"
(cd "$work/rust-ref" && cargo build --quiet --release)
rust_ref="$work/rust-ref/target/release/dedup"
cp challenges/dedup/reference/python/main.py "$work/dedup.py"
python_ref="$work/dedup.py"
out="$work/out"
mkdir -m 777 "$out"
# Installed under ~/.cargo, which nobody may not enter.
cp "$(command -v fclones)" "$work/fclones"
fclones="$work/fclones"

echo "== checking that they agree with the generator's answer"
"${as_user[@]}" "$rust_ref" "$tree" 2>/dev/null | sort > "$work/rust.out"
sort "$work/case/answer" > "$work/answer.sorted"
python3 -c '
import json, sys
a = sorted(json.dumps(json.loads(l)) for l in open(sys.argv[1]) if l.strip())
b = sorted(json.dumps(json.loads(l)) for l in open(sys.argv[2]) if l.strip())
print("rust reference output matches the answer" if a == b else "MISMATCH"); sys.exit(a != b)
' "$work/rust.out" "$work/answer.sorted"

echo "== timing (warm cache; hyperfine, no shell between it and each program)"
cd "$out"
"${as_user[@]}" hyperfine --style basic -i --warmup 1 --runs 5 -N --export-markdown "$out/times.md" \
  -n rust-reference "$rust_ref $tree" \
  -n python-reference "python3 $python_ref $tree" \
  -n fclones "$fclones group --hidden --no-ignore $tree" \
  -n jdupes "jdupes -r -q $tree" \
  -n rdfind "rdfind -dryrun true -outputname $out/rdfind.txt $tree" >/dev/null 2>&1 || true
cat "$out/times.md"

echo "== peak memory (GNU time, one warm run each)"
for entry in "rust-reference:$rust_ref $tree" "python-reference:python3 $python_ref $tree" \
             "fclones:$fclones group --hidden --no-ignore $tree" "jdupes:jdupes -r -q $tree" \
             "rdfind:rdfind -dryrun true -outputname $out/rdfind.txt $tree"; do
  name=${entry%%:*}; cmd=${entry#*:}
  "${as_user[@]}" /usr/bin/time -o "$out/peak" -f '%M' $cmd >/dev/null 2>&1 || true
  peak=$(tail -1 "$out/peak")
  printf '%-18s %8.1f MiB\n' "$name" "$(echo "$peak / 1024" | bc -l)"
done

python3 - "$out/times.md" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\|\s*`?([\w-]+)`?\s*\|\s*([\d.]+)", line)
    if m:
        rows[m.group(1)] = float(m.group(2))
tools = {k: v for k, v in rows.items() if k in ("fclones", "jdupes", "rdfind")}
if "rust-reference" in rows and tools:
    best = min(tools, key=tools.get)
    ratio = rows["rust-reference"] / tools[best]
    print(f"rust reference / fastest tool ({best}): {ratio:.2f}x  (bar: at most 1.5x) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")
PY
