//! Similarity across a batch of submissions, to find the ones worth a closer look for copying.
//!
//! Each submission's source files are cut into tokens (comments and whitespace dropped), k-grams of tokens
//! are hashed and winnowed into fingerprints, and fingerprints the starter code (`base`) also has are
//! dropped. An inverted index from fingerprint to submissions gives, for every pair that shares anything,
//! the number of shared fingerprints; the pairs worth reporting are then examined token by token to find
//! the matched fragments (file and line ranges on both sides) and the longest one.
//!
//! `similarity` is the share of fingerprints the two have in common, counted on both sides, as Dolos does:
//! 2·|A∩B| / (|A| + |B|). `containment` is |A∩B| / min(|A|, |B|): near 1 when one submission is
//! (mostly) inside the other, even if the other is much larger.

mod analysis;
mod fingerprint;
mod fragments;
pub mod html;
mod index;
mod lexer;
mod prepare;
pub mod report;
mod source;
pub mod table;

use std::path::PathBuf;

pub use analysis::{Analysis, Fragment, Pair, Side, analyze};
pub use prepare::{Base, Submission};
pub use source::{MAX_FILE_BYTES, Skipped, SourceFile, Syntax};

/// Dolos's defaults: a shared run of at least k + w - 1 = 39 tokens is always found, one shorter than 23 never.
pub const DEFAULT_K: usize = 23;
pub const DEFAULT_WINDOW: usize = 17;

/// How token streams are fingerprinted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Tokens per k-gram.
    pub k: usize,
    /// k-grams per winnowing window.
    pub window: usize,
    /// Identifiers all become one symbol, and numbers and strings another each.
    pub abstract_identifiers: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { k: DEFAULT_K, window: DEFAULT_WINDOW, abstract_identifiers: false }
    }
}

/// Whether a submission is from the batch under review or from an earlier round: earlier ones are compared
/// with the current ones, never with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cohort {
    Current,
    Earlier,
}

/// A submission to compare: its name in reports and where its files are.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub path: PathBuf,
    pub cohort: Cohort,
}

/// What to compare and how.
#[derive(Debug, Clone)]
pub struct Request {
    pub submissions: Vec<Input>,
    /// The starter code handed to every candidate.
    pub base: Option<PathBuf>,
    pub settings: Settings,
    /// Pairs whose similarity reaches this are flagged.
    pub threshold: f64,
    /// Besides the flagged pairs, this many of the most similar ones are examined and reported.
    pub top: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SimilarityError {
    #[error("cannot read submission {}: {source}", path.display())]
    Submission { path: PathBuf, source: std::io::Error },
    #[error("cannot read the starter code {}: {source}", path.display())]
    Base { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Settings(String),
}
