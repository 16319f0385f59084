//! The inverted index from fingerprint to submissions, and from it the number of fingerprints every pair
//! shares: work in proportion to what is shared, never a comparison of every pair's text.

use std::collections::HashMap;

use super::{Cohort, Submission};

/// Above this many submissions the pair counts live in a map rather than a triangular table.
const DENSE_LIMIT: usize = 4096;

/// `(left, right, shared)` for every pair, left < right, that shares at least one fingerprint; pairs of two
/// earlier submissions are left out.
pub fn shared_counts(submissions: &[Submission]) -> Vec<(usize, usize, u32)> {
    let mut postings: Vec<(u64, u32)> = submissions
        .iter()
        .enumerate()
        .flat_map(|(id, submission)| submission.distinct.iter().map(move |&hash| (hash, id as u32)))
        .collect();
    postings.sort_unstable();
    let earlier: Vec<bool> = submissions.iter().map(|s| s.cohort == Cohort::Earlier).collect();
    let mut counter = Counter::new(submissions.len());
    let mut group_start = 0;
    while group_start < postings.len() {
        let hash = postings[group_start].0;
        let group_end =
            postings[group_start..].iter().position(|p| p.0 != hash).map_or(postings.len(), |i| group_start + i);
        let group = &postings[group_start..group_end];
        for (i, &(_, left)) in group.iter().enumerate() {
            for &(_, right) in &group[i + 1..] {
                if !(earlier[left as usize] && earlier[right as usize]) {
                    counter.add(left as usize, right as usize);
                }
            }
        }
        group_start = group_end;
    }
    counter.into_pairs()
}

enum Counter {
    Dense { n: usize, counts: Vec<u32> },
    Sparse(HashMap<(usize, usize), u32>),
}

impl Counter {
    fn new(n: usize) -> Counter {
        if n <= DENSE_LIMIT {
            Counter::Dense { n, counts: vec![0; n * n.saturating_sub(1) / 2] }
        } else {
            Counter::Sparse(HashMap::new())
        }
    }

    /// Row `left` of the upper triangle starts after the rows above it.
    fn slot(n: usize, left: usize, right: usize) -> usize {
        left * (2 * n - left - 1) / 2 + (right - left - 1)
    }

    fn add(&mut self, left: usize, right: usize) {
        match self {
            Counter::Dense { n, counts } => counts[Counter::slot(*n, left, right)] += 1,
            Counter::Sparse(map) => *map.entry((left, right)).or_insert(0) += 1,
        }
    }

    fn into_pairs(self) -> Vec<(usize, usize, u32)> {
        match self {
            Counter::Dense { n, counts } => {
                let mut pairs = Vec::new();
                for left in 0..n {
                    for right in left + 1..n {
                        let count = counts[Counter::slot(n, left, right)];
                        if count > 0 {
                            pairs.push((left, right, count));
                        }
                    }
                }
                pairs
            }
            Counter::Sparse(map) => {
                let mut pairs: Vec<_> = map.into_iter().map(|((l, r), c)| (l, r, c)).collect();
                pairs.sort_unstable();
                pairs
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn submission(cohort: Cohort, distinct: &[u64]) -> Submission {
        Submission {
            name: String::new(),
            path: Path::new("x").to_path_buf(),
            cohort,
            files: Vec::new(),
            skipped: Vec::new(),
            fingerprints: Vec::new(),
            distinct: distinct.to_vec(),
        }
    }

    #[test]
    fn counts_shared_fingerprints_of_every_pair_that_shares_any() {
        let subs = [
            submission(Cohort::Current, &[1, 2, 3]),
            submission(Cohort::Current, &[2, 3, 4]),
            submission(Cohort::Current, &[9]),
            submission(Cohort::Current, &[3]),
        ];
        assert_eq!(shared_counts(&subs), [(0, 1, 2), (0, 3, 1), (1, 3, 1)]);
    }

    #[test]
    fn earlier_submissions_are_not_compared_with_each_other() {
        let subs = [
            submission(Cohort::Earlier, &[1, 2]),
            submission(Cohort::Earlier, &[1, 2]),
            submission(Cohort::Current, &[2]),
        ];
        assert_eq!(shared_counts(&subs), [(0, 2, 1), (1, 2, 1)]);
    }

    #[test]
    fn the_triangular_slots_are_distinct_and_in_range() {
        let n = 7;
        let mut seen = std::collections::HashSet::new();
        for left in 0..n {
            for right in left + 1..n {
                let slot = Counter::slot(n, left, right);
                assert!(slot < n * (n - 1) / 2);
                assert!(seen.insert(slot));
            }
        }
    }
}
