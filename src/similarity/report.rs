//! The machine-readable report of a comparison (JSON): settings, submissions, and the ranked pairs with their
//! matched fragments as file and line ranges.

use serde::Serialize;

use super::{Analysis, Cohort, Fragment, Pair, Side, Submission};

pub const SIMILARITY_DEFINITION: &str = "2 * shared / (fingerprints of left + fingerprints of right), distinct fingerprints, without the starter code's when --base gives it (as Dolos)";
pub const CONTAINMENT_DEFINITION: &str = "shared / min(fingerprints of left, fingerprints of right)";

#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub tool: &'static str,
    pub version: &'static str,
    pub settings: SettingsReport,
    pub base: Option<String>,
    pub submissions: Vec<SubmissionReport<'a>>,
    /// Pairs sharing at least one fingerprint, reported or not.
    pub pairs_sharing: usize,
    pub flagged: usize,
    pub pairs: Vec<PairReport<'a>>,
}

#[derive(Debug, Serialize)]
pub struct SettingsReport {
    pub k: usize,
    pub window: usize,
    pub abstract_identifiers: bool,
    pub threshold: f64,
    pub similarity: &'static str,
    pub containment: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SubmissionReport<'a> {
    pub name: &'a str,
    pub path: String,
    pub cohort: Cohort,
    pub files: usize,
    pub tokens: usize,
    pub fingerprints: usize,
    pub skipped: Vec<SkippedReport>,
}

#[derive(Debug, Serialize)]
pub struct SkippedReport {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct PairReport<'a> {
    pub rank: usize,
    pub left: &'a str,
    pub right: &'a str,
    pub similarity: f64,
    pub containment: f64,
    pub shared_fingerprints: usize,
    pub overlap_tokens: usize,
    pub left_overlap_tokens: usize,
    pub right_overlap_tokens: usize,
    pub longest_fragment_tokens: usize,
    pub flagged: bool,
    pub fragments: Vec<FragmentReport<'a>>,
}

#[derive(Debug, Serialize)]
pub struct FragmentReport<'a> {
    pub tokens: usize,
    pub left: SideReport<'a>,
    pub right: SideReport<'a>,
}

#[derive(Debug, Serialize)]
pub struct SideReport<'a> {
    pub file: &'a str,
    pub first_line: u32,
    pub last_line: u32,
}

/// Four decimals are plenty for a ratio a person reads, and keep the JSON stable across platforms.
fn rounded(ratio: f64) -> f64 {
    (ratio * 10_000.0).round() / 10_000.0
}

impl<'a> Report<'a> {
    pub fn new(analysis: &'a Analysis) -> Report<'a> {
        Report {
            tool: "takehome similar",
            version: env!("CARGO_PKG_VERSION"),
            settings: SettingsReport {
                k: analysis.settings.k,
                window: analysis.settings.window,
                abstract_identifiers: analysis.settings.abstract_identifiers,
                threshold: analysis.threshold,
                similarity: SIMILARITY_DEFINITION,
                containment: CONTAINMENT_DEFINITION,
            },
            base: analysis.base.as_ref().map(|p| p.display().to_string()),
            submissions: analysis.submissions.iter().map(submission).collect(),
            pairs_sharing: analysis.pairs_sharing,
            flagged: analysis.pairs.iter().filter(|p| p.flagged).count(),
            pairs: analysis.pairs.iter().enumerate().map(|(i, p)| pair(analysis, i + 1, p)).collect(),
        }
    }

    pub fn to_json(&self) -> String {
        // Every field is a plain string, number or bool: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn submission(submission: &Submission) -> SubmissionReport<'_> {
    SubmissionReport {
        name: &submission.name,
        path: submission.path.display().to_string(),
        cohort: submission.cohort,
        files: submission.files.len(),
        tokens: submission.token_count(),
        fingerprints: submission.distinct.len(),
        skipped: submission
            .skipped
            .iter()
            .map(|s| SkippedReport { path: s.path.display().to_string(), reason: s.reason.clone() })
            .collect(),
    }
}

fn pair<'a>(analysis: &'a Analysis, rank: usize, pair: &Pair) -> PairReport<'a> {
    let (left, right) = (&analysis.submissions[pair.left], &analysis.submissions[pair.right]);
    PairReport {
        rank,
        left: &left.name,
        right: &right.name,
        similarity: rounded(pair.similarity),
        containment: rounded(pair.containment),
        shared_fingerprints: pair.shared,
        overlap_tokens: pair.overlap(),
        left_overlap_tokens: pair.left_overlap,
        right_overlap_tokens: pair.right_overlap,
        longest_fragment_tokens: pair.longest_fragment,
        flagged: pair.flagged,
        fragments: pair.fragments.iter().map(|f| fragment(left, right, f)).collect(),
    }
}

fn fragment<'a>(left: &'a Submission, right: &'a Submission, fragment: &Fragment) -> FragmentReport<'a> {
    let side = |submission: &'a Submission, side: &Side| SideReport {
        file: &submission.files[side.file].source.path,
        first_line: side.first_line,
        last_line: side.last_line,
    };
    FragmentReport { tokens: fragment.tokens, left: side(left, &fragment.left), right: side(right, &fragment.right) }
}
