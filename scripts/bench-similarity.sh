#!/usr/bin/env bash
# Issue 8's similarity bar: compare 200 submissions of about 2,000 lines each in under 5 s (2 cores).
#
# The submissions are synthetic but made of real code: each takes slices of this repository's own source
# files (Rust and Python), renames a share of its identifiers consistently, drops or rewrites comments,
# shuffles the order of the slices and inserts a few lines of its own. A handful are near-copies of another
# submission (renamed, reordered), which the comparison must rank at the top. A starter folder (slices every
# submission also carries) is passed as --base. Usage:
#   scripts/bench-similarity.sh [submissions] [lines] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
lines=${2:-2000}
runs=${3:-3}
work=$(mktemp -d /tmp/takehome-bench-similarity.XXXXXX)
trap 'rm -rf "$work"' EXIT

# SIMILAR_BIN overrides the binary (e.g. one built elsewhere).
if [ -n "${SIMILAR_BIN:-}" ]; then
  similar=("$SIMILAR_BIN")
else
  cargo build --quiet --release
  similar=(target/release/takehome similar)
fi

echo "== generating $count submissions of about $lines lines"
python3 - "$work" "$count" "$lines" <<'PY'
import os, random, re, sys

work, count, target_lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(8)
pool = []
for top in ("src", "tests", "benches", "challenges", "fixtures", "examples"):
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in ("target", "similarity")]
        for name in sorted(files):
            if name.endswith((".rs", ".py")):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read().splitlines()
                if len(text) >= 40:
                    pool.append((os.path.splitext(name)[1], text))
pool.sort(key=lambda item: "\n".join(item[1]))
print(f"pool: {len(pool)} files, {sum(len(t) for _, t in pool)} lines of this repository's code")

IDENT = re.compile(r"\b[a-z_][a-z0-9_]{2,}\b")
KEEP = {"self", "def", "return", "for", "while", "if", "else", "elif", "let", "mut", "impl", "pub", "use", "fn",
        "match", "struct", "enum", "import", "from", "class", "true", "false", "None", "True", "False", "in",
        "not", "and", "or", "with", "as", "mod", "crate", "super", "where", "const", "static", "loop", "break",
        "continue", "type", "trait", "ref", "move", "async", "await", "dyn", "unsafe", "extern", "try", "except",
        "raise", "pass", "lambda", "yield", "global", "assert", "del", "print", "len", "str", "int", "u32",
        "u64", "usize", "i64", "f64", "bool", "vec", "some", "ok", "err"}

def slice_of(ext, text, size):
    start = rng.randrange(0, max(1, len(text) - size))
    return text[start:start + size]

def mutate(lines, renames):
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("//", "#")) and rng.random() < 0.7:
            continue  # comments dropped...
        if rng.random() < 0.02:
            out.append(line[: len(line) - len(line.lstrip())] + "# my note: checked this part")  # ...or added
        # Names change in code, not inside string literals (an IDE's rename does not touch them either).
        parts = line.split('"')
        parts[::2] = [IDENT.sub(lambda m: renames.get(m.group(0), m.group(0)), part) for part in parts[::2]]
        line = '"'.join(parts)
        out.append(line)
        if rng.random() < 0.01:
            out.append(line[: len(line) - len(line.lstrip())] + "debug_counter = debug_counter + 1")
    return out

def fresh_renames(words=400):
    vocab = ["val", "item", "node", "acc", "tmp", "buf", "idx", "res", "cur", "obj", "data", "elem", "part"]
    names = {}
    for _ in range(words):
        word = rng.choice(vocab) + rng.choice(["", "_", "2", "_x", "s"]) + str(rng.randrange(1000))
        names[word] = None
    return list(names)

def write(folder, chunks):
    os.makedirs(folder, exist_ok=True)
    for i, (ext, lines) in enumerate(chunks):
        with open(os.path.join(folder, f"part{i:02d}{ext}"), "w") as f:
            f.write("\n".join(lines) + "\n")

starter = [(ext, slice_of(ext, text, 60)) for ext, text in rng.sample(pool, 2)]
write(os.path.join(work, "starter"), starter)

submissions = []
for n in range(count):
    chunks, total = list(starter), sum(len(c) for _, c in starter)
    while total < target_lines:
        ext, text = rng.choice(pool)
        piece = slice_of(ext, text, rng.randrange(40, 250))
        chunks.append((ext, piece))
        total += len(piece)
    identifiers = sorted({w for _, c in chunks[len(starter):] for l in c for w in IDENT.findall(l)} - KEEP)
    targets = fresh_renames()
    renames = {w: rng.choice(targets) for w in identifiers if rng.random() < 0.3}
    own = chunks[:len(starter)] + [(ext, mutate(c, renames)) for ext, c in chunks[len(starter):]]
    head, tail = own[:len(starter)], own[len(starter):]
    rng.shuffle(tail)
    submissions.append(head + tail)

copies = max(1, count // 40)
for c in range(copies):
    victim = submissions[rng.randrange(count - copies)]
    identifiers = sorted({w for _, ch in victim for l in ch for w in IDENT.findall(l)} - KEEP)
    renames = {w: f"{w}_renamed{c}" for w in identifiers if rng.random() < 0.8}
    copy = victim[:len(starter)] + [(ext, mutate(ch, renames)) for ext, ch in victim[len(starter):]]
    tail = copy[len(starter):]
    rng.shuffle(tail)
    submissions[count - 1 - c] = copy[:len(starter)] + tail

total_lines = 0
for n, chunks in enumerate(submissions):
    write(os.path.join(work, "subs", f"candidate-{n:03d}"), chunks)
    total_lines += sum(len(ch) for _, ch in chunks)
print(f"wrote {count} submissions, {total_lines} lines ({total_lines // count} per submission), "
      f"{copies} of them near-copies of another")
PY

echo "== comparing (release build, $(nproc) cores, best of $runs runs; JSON and HTML written)"
best=""
for run in $(seq "$runs"); do
  start=$(date +%s.%N)
  set +e
  /usr/bin/time -f "%M" -o "$work/rss" "${similar[@]}" --from "$work/subs" --base "$work/starter" \
    --json "$work/report.json" --html "$work/report.html" >"$work/table.txt" 2>"$work/stderr.txt"
  code=$?
  set -e
  end=$(date +%s.%N)
  if [ "$code" -gt 1 ]; then
    cat "$work/stderr.txt"
    exit "$code"
  fi
  seconds=$(python3 -c "print(f'{$end - $start:.2f}')")
  echo "run $run: $seconds s, peak memory $(( $(tail -n 1 "$work/rss") / 1024 )) MB"
  if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $seconds < $best else 1)"; then best=$seconds; fi
done
head -n 12 "$work/table.txt"
python3 - "$work/report.json" "$best" "$count" <<'PY'
import json, sys
report, best, count = json.load(open(sys.argv[1])), float(sys.argv[2]), int(sys.argv[3])
copies = [p for p in report["pairs"] if p["flagged"]]
renamed = [p for p in report["pairs"][: len(copies)] if p["right"].endswith(tuple(f"candidate-{count - 1 - c:03d}" for c in range(len(copies))))]
print(f"pairs sharing code: {report['pairs_sharing']}; flagged: {len(copies)}; "
      f"near-copies at the top of the ranking: {len(renamed)}")
print(f"similarity over {count} submissions: best {best:.2f} s (bar: under 5 s) -> {'PASS' if best < 5 else 'FAIL'}")
PY
