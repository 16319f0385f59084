//! Matched fragments of a pair: each shared fingerprint is a seed, checked token by token and extended both
//! ways while the tokens still match (identifiers up to a consistent renaming), and not into starter code.

use super::fingerprint::{FIXED, U64Map};
use super::prepare::{Fingerprint, PreparedFile, Submission};

/// A fingerprint that occurs more often than this in one submission is repetitive boilerplate; its first
/// occurrences are seeds enough.
const MAX_SEEDS_PER_SIDE: usize = 8;

/// Two equal token runs, as file index and token range `[start, end)` on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub left_file: usize,
    pub left_start: usize,
    pub right_file: usize,
    pub right_start: usize,
    pub len: usize,
}

impl Run {
    fn diagonal(&self) -> (usize, usize, i64) {
        (self.left_file, self.right_file, self.left_start as i64 - self.right_start as i64)
    }
}

/// The maximal matched runs between `left` and `right`, longest first.
pub fn matched_runs(left: &Submission, right: &Submission, k: usize) -> Vec<Run> {
    let mut seeds = seeds(&left.fingerprints, &right.fingerprints);
    seeds.sort_unstable_by_key(|&(l, r)| (l.file, r.file, i64::from(l.start) - i64::from(r.start), l.start));
    let mut runs: Vec<Run> = Vec::new();
    let mut last_on_diagonal: Option<Run> = None;
    for (l, r) in seeds {
        let (left_file, right_file) = (l.file as usize, r.file as usize);
        let seed = Run { left_file, left_start: l.start as usize, right_file, right_start: r.start as usize, len: k };
        if let Some(last) = last_on_diagonal
            && last.diagonal() == seed.diagonal()
            && seed.left_start < last.left_start + last.len
        {
            continue;
        }
        if let Some(run) = extend(&left.files[left_file], &right.files[right_file], seed) {
            runs.push(run);
            last_on_diagonal = Some(run);
        }
    }
    runs.sort_unstable_by_key(|run| {
        (std::cmp::Reverse(run.len), run.left_file, run.left_start, run.right_file, run.right_start)
    });
    runs
}

/// Pairs of occurrences of the same fingerprint hash on both sides.
fn seeds(left: &[Fingerprint], right: &[Fingerprint]) -> Vec<(Fingerprint, Fingerprint)> {
    let mut left: Vec<Fingerprint> = left.to_vec();
    let mut right: Vec<Fingerprint> = right.to_vec();
    left.sort_unstable_by_key(|f| (f.hash, f.file, f.start));
    right.sort_unstable_by_key(|f| (f.hash, f.file, f.start));
    let mut seeds = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        let hash = left[i].hash;
        if hash < right[j].hash {
            i += 1;
        } else if hash > right[j].hash {
            j += 1;
        } else {
            let left_end = left[i..].iter().position(|f| f.hash != hash).map_or(left.len(), |n| i + n);
            let right_end = right[j..].iter().position(|f| f.hash != hash).map_or(right.len(), |n| j + n);
            for l in left[i..left_end].iter().take(MAX_SEEDS_PER_SIDE) {
                for r in right[j..right_end].iter().take(MAX_SEEDS_PER_SIDE) {
                    seeds.push((*l, *r));
                }
            }
            i = left_end;
            j = right_end;
        }
    }
    seeds
}

/// Identifiers matched so far, both ways, so that a renaming stays one-to-one.
#[derive(Default)]
struct Renaming {
    forward: U64Map<u64>,
    backward: U64Map<u64>,
}

impl Renaming {
    fn tokens_match(&mut self, left: &PreparedFile, i: usize, right: &PreparedFile, j: usize) -> bool {
        let (left_fixed, right_fixed) = (left.stream.back[i] == FIXED, right.stream.back[j] == FIXED);
        let (a, b) = (left.stream.symbols[i], right.stream.symbols[j]);
        match (left_fixed, right_fixed) {
            (true, true) => a == b,
            (false, false) => {
                let forward_ok = *self.forward.entry(a).or_insert(b) == b;
                let backward_ok = *self.backward.entry(b).or_insert(a) == a;
                forward_ok && backward_ok
            }
            _ => false,
        }
    }
}

/// The seed checked (its hash could collide) and grown as far as the tokens match on both sides.
fn extend(left: &PreparedFile, right: &PreparedFile, seed: Run) -> Option<Run> {
    let mut renaming = Renaming::default();
    for offset in 0..seed.len {
        let (i, j) = (seed.left_start + offset, seed.right_start + offset);
        if i >= left.tokens.len() || j >= right.tokens.len() || !renaming.tokens_match(left, i, right, j) {
            return None;
        }
    }
    let mut end = seed.len;
    loop {
        let (i, j) = (seed.left_start + end, seed.right_start + end);
        if i >= left.tokens.len() || j >= right.tokens.len() || left.is_base(i) || right.is_base(j) {
            break;
        }
        if !renaming.tokens_match(left, i, right, j) {
            break;
        }
        end += 1;
    }
    let mut before = 0;
    while before < seed.left_start && before < seed.right_start {
        let (i, j) = (seed.left_start - before - 1, seed.right_start - before - 1);
        if left.is_base(i) || right.is_base(j) || !renaming.tokens_match(left, i, right, j) {
            break;
        }
        before += 1;
    }
    Some(Run {
        left_start: seed.left_start - before,
        right_start: seed.right_start - before,
        len: before + end,
        ..seed
    })
}

/// Tokens of one side covered by at least one run, counting overlapping runs once.
pub fn covered_tokens(runs: &[Run], file_and_start: impl Fn(&Run) -> (usize, usize)) -> usize {
    let mut spans: Vec<(usize, usize, usize)> = runs
        .iter()
        .map(|run| {
            let (file, start) = file_and_start(run);
            (file, start, start + run.len)
        })
        .collect();
    spans.sort_unstable();
    let mut covered = 0;
    let mut current: Option<(usize, usize, usize)> = None;
    for (file, start, end) in spans {
        match current {
            Some((f, s, e)) if f == file && start <= e => current = Some((f, s, e.max(end))),
            _ => {
                if let Some((_, s, e)) = current {
                    covered += e - s;
                }
                current = Some((file, start, end));
            }
        }
    }
    if let Some((_, s, e)) = current {
        covered += e - s;
    }
    covered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::source::{SourceFile, Syntax};
    use crate::similarity::{Base, Cohort, Settings};
    use std::path::Path;

    fn settings() -> Settings {
        Settings { k: 5, window: 4, abstract_identifiers: false }
    }

    fn submission(text: &str, base: Option<&Base>) -> Submission {
        let file = SourceFile { path: "m.py".into(), syntax: Syntax::Python, text: text.into() };
        Submission::from_sources("s", Path::new("s"), Cohort::Current, vec![file], &settings(), base)
    }

    const SHARED: &str =
        "def area(w, h):\n    if w < 0 or h < 0:\n        raise ValueError('negative')\n    return w * h\n";

    #[test]
    fn a_renamed_copy_is_one_run_covering_the_shared_code() {
        let renamed = SHARED.replace("w", "width").replace("h", "height");
        let left = submission(&format!("x = [1, 2, 3]\n{SHARED}"), None);
        let right = submission(&format!("{renamed}print(area(2, 3))\n"), None);
        let runs = matched_runs(&left, &right, 5);
        assert_eq!(runs.len(), 1, "{runs:?}");
        let run = runs[0];
        let shared_tokens = submission(SHARED, None).files[0].tokens.len();
        assert_eq!(run.len, shared_tokens);
        // `x = [1, 2, 3]` is 9 tokens.
        assert_eq!((run.left_start, run.right_start), (9, 0));
    }

    #[test]
    fn runs_stop_where_the_renaming_would_stop_being_one_to_one() {
        let left = submission("a = b + c\nd = a * a * a\n", None);
        let right = submission("x = y + z\nd = x * y * x\n", None);
        for run in matched_runs(&left, &right, 5) {
            assert!(run.left_start + run.len <= 9, "{run:?}");
        }
    }

    #[test]
    fn runs_never_extend_into_starter_code() {
        let starter = "import sys\nimport os\n\ndef read_all():\n    return sys.stdin.read().split()\n";
        let base = Base::from_sources(
            &[SourceFile { path: "m.py".into(), syntax: Syntax::Python, text: starter.into() }],
            &settings(),
        );
        let left = submission(&format!("{starter}{SHARED}"), Some(&base));
        let right = submission(&format!("{starter}{SHARED}"), Some(&base));
        let runs = matched_runs(&left, &right, 5);
        let starter_tokens = submission(starter, None).files[0].tokens.len();
        assert!(!runs.is_empty());
        assert!(runs.iter().all(|run| run.left_start >= starter_tokens - 5), "{runs:?}");
    }

    #[test]
    fn covered_tokens_count_overlaps_once() {
        let run = |left_start, len| Run { left_file: 0, left_start, right_file: 0, right_start: 0, len };
        let runs = [run(0, 10), run(5, 10), run(30, 5)];
        assert_eq!(covered_tokens(&runs, |r| (r.left_file, r.left_start)), 20);
    }
}
