//! The whole comparison: load and fingerprint every submission (in parallel), count shared fingerprints per
//! pair through the index, rank the pairs and examine the ones worth reporting.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::fragments::{self, Run};
use super::index;
use super::{Base, Request, Settings, SimilarityError, Submission};

/// One side of a matched fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// Index into the submission's `files`.
    pub file: usize,
    /// Token range `[first_token, end_token)`.
    pub first_token: usize,
    pub end_token: usize,
    /// 1-based, inclusive.
    pub first_line: u32,
    pub last_line: u32,
    /// Byte range in the file's text.
    pub start_byte: usize,
    pub end_byte: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub left: Side,
    pub right: Side,
    pub tokens: usize,
}

/// Two submissions and what they share.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Indexes into `Analysis::submissions`.
    pub left: usize,
    pub right: usize,
    /// Distinct fingerprints both have.
    pub shared: usize,
    /// 2·shared / (|left| + |right|).
    pub similarity: f64,
    /// shared / min(|left|, |right|).
    pub containment: f64,
    /// Tokens of each side inside a matched fragment.
    pub left_overlap: usize,
    pub right_overlap: usize,
    pub longest_fragment: usize,
    /// Longest first.
    pub fragments: Vec<Fragment>,
    pub flagged: bool,
}

impl Pair {
    /// Total overlap in tokens: the smaller of the two sides' matched tokens.
    pub fn overlap(&self) -> usize {
        self.left_overlap.min(self.right_overlap)
    }
}

#[derive(Debug)]
pub struct Analysis {
    pub settings: Settings,
    pub threshold: f64,
    pub base: Option<PathBuf>,
    pub submissions: Vec<Submission>,
    /// The reported pairs, most similar first: every flagged pair, and at least the `top` most similar.
    pub pairs: Vec<Pair>,
    /// Pairs that share at least one fingerprint (reported or not).
    pub pairs_sharing: usize,
}

/// Runs the comparison `request` describes.
pub fn analyze(request: &Request) -> Result<Analysis, SimilarityError> {
    let settings = request.settings;
    if settings.k == 0 || settings.window == 0 {
        return Err(SimilarityError::Settings("k and the window must be at least 1".into()));
    }
    if !(0.0..=1.0).contains(&request.threshold) {
        return Err(SimilarityError::Settings(format!("the threshold {} is not between 0 and 1", request.threshold)));
    }
    let base = request.base.as_deref().map(|path| Base::load(path, &settings)).transpose()?;
    let submissions = parallel_map(&request.submissions, |input| Submission::load(input, &settings, base.as_ref()))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut analysis = Analysis {
        settings,
        threshold: request.threshold,
        base: request.base.clone(),
        submissions,
        pairs: Vec::new(),
        pairs_sharing: 0,
    };
    analysis.compare(request.top);
    Ok(analysis)
}

impl Analysis {
    /// Builds an analysis of already prepared submissions (for callers that prepare them themselves).
    pub fn of(submissions: Vec<Submission>, settings: Settings, threshold: f64, top: usize) -> Analysis {
        let mut analysis =
            Analysis { settings, threshold, base: None, submissions, pairs: Vec::new(), pairs_sharing: 0 };
        analysis.compare(top);
        analysis
    }

    fn compare(&mut self, top: usize) {
        let counts = index::shared_counts(&self.submissions);
        self.pairs_sharing = counts.len();
        let mut ranked: Vec<(usize, usize, usize, f64)> = counts
            .into_iter()
            .map(|(left, right, shared)| {
                let shared = shared as usize;
                let sizes = (self.submissions[left].distinct.len(), self.submissions[right].distinct.len());
                (left, right, shared, 2.0 * shared as f64 / (sizes.0 + sizes.1) as f64)
            })
            .collect();
        ranked.sort_by(|a, b| b.3.total_cmp(&a.3).then(b.2.cmp(&a.2)).then((a.0, a.1).cmp(&(b.0, b.1))));
        let reported: Vec<_> = ranked
            .into_iter()
            .enumerate()
            .take_while(|(rank, r)| *rank < top || r.3 >= self.threshold)
            .map(|(_, r)| r)
            .collect();
        let submissions = &self.submissions;
        let k = self.settings.k;
        let threshold = self.threshold;
        self.pairs = parallel_map(&reported, |&(left, right, shared, similarity)| {
            examine(submissions, left, right, shared, similarity, threshold, k)
        });
    }
}

fn examine(
    submissions: &[Submission],
    left: usize,
    right: usize,
    shared: usize,
    similarity: f64,
    threshold: f64,
    k: usize,
) -> Pair {
    let (a, b) = (&submissions[left], &submissions[right]);
    let runs = fragments::matched_runs(a, b, k);
    let left_overlap = fragments::covered_tokens(&runs, |run| (run.left_file, run.left_start));
    let right_overlap = fragments::covered_tokens(&runs, |run| (run.right_file, run.right_start));
    let smaller = a.distinct.len().min(b.distinct.len()).max(1);
    Pair {
        left,
        right,
        shared,
        similarity,
        containment: shared as f64 / smaller as f64,
        left_overlap,
        right_overlap,
        longest_fragment: runs.first().map_or(0, |run| run.len),
        fragments: runs.iter().map(|run| fragment(a, b, run)).collect(),
        flagged: similarity >= threshold,
    }
}

fn fragment(left: &Submission, right: &Submission, run: &Run) -> Fragment {
    let side = |submission: &Submission, file: usize, start: usize| {
        let prepared = &submission.files[file];
        let end = start + run.len;
        let (first_line, last_line) = prepared.lines(start, end);
        Side {
            file,
            first_token: start,
            end_token: end,
            first_line,
            last_line,
            start_byte: prepared.tokens[start].start as usize,
            end_byte: prepared.tokens[end - 1].end as usize,
        }
    };
    Fragment {
        left: side(left, run.left_file, run.left_start),
        right: side(right, run.right_file, run.right_start),
        tokens: run.len,
    }
}

/// `f` over `items` on every core, results in the items' order. Threads take the next item as they finish,
/// so one large submission does not hold the others up.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order_of_the_items() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(parallel_map(&items, |&i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(parallel_map(&[] as &[usize], |&i| i).is_empty());
    }
}
