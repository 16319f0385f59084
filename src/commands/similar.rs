//! `takehome similar`: which submissions of a batch share suspiciously much code, as a ranked table, JSON and
//! a side-by-side HTML page.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::UsageError;
use crate::batch::source::{self, Materialized};
use crate::exit_codes;
use crate::similarity::{self, Cohort, Input, Request, Settings};

/// Options of `takehome similar`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = SIMILAR_HELP)]
pub struct SimilarArgs {
    /// Submission folders (or single source files).
    pub submissions: Vec<PathBuf>,
    /// A folder whose every subfolder is one submission (repeatable).
    #[arg(long, value_name = "FOLDER")]
    pub from: Vec<PathBuf>,
    /// The starter code handed to every candidate: code it has never counts.
    #[arg(long, value_name = "FOLDER")]
    pub base: Option<PathBuf>,
    /// A folder of earlier submissions (each subfolder one), compared with this batch but not with each other
    /// (repeatable).
    #[arg(long, value_name = "FOLDER")]
    pub against: Vec<PathBuf>,
    /// Flag pairs whose similarity reaches this: a ratio (0.5) or a percentage (50%).
    #[arg(long, default_value = "0.5", value_parser = parse_ratio)]
    pub threshold: f64,
    /// Compare identifiers as one symbol, and numbers and strings as one each (by default identifiers are
    /// compared up to consistent renaming, and literals by value).
    #[arg(long)]
    pub abstract_identifiers: bool,
    /// Write a self-contained HTML page: the ranked pairs, the top ones side by side.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Write the report as JSON (`-` for standard output, instead of the table).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Tokens per k-gram: no shared run shorter than this is ever found.
    #[arg(short = 'k', long = "kgram", default_value_t = similarity::DEFAULT_K, value_parser = parse_positive)]
    pub k: usize,
    /// k-grams per winnowing window: every shared run of k + w - 1 tokens is found.
    #[arg(short = 'w', long = "window", default_value_t = similarity::DEFAULT_WINDOW, value_parser = parse_positive)]
    pub window: usize,
    /// Pairs reported (and examined) besides the flagged ones.
    #[arg(long, default_value_t = similarity::table::DEFAULT_ROWS)]
    pub top: usize,
}

const SIMILAR_HELP: &str = "\
Similarity is 2 * shared / (|A| + |B|) over the two submissions' distinct fingerprints (winnowed k-grams of
tokens, comments and whitespace dropped), as Dolos computes it; containment is shared / min(|A|, |B|).
Exit codes: 0 no pair reaches the threshold, 1 some pair does, 2 usage error, 3 a submission could not be read.";

/// Runs `takehome similar`; the exit code says whether any pair reached the threshold.
pub fn run(args: &SimilarArgs) -> anyhow::Result<i32> {
    let (inputs, _unpacked) = inputs(args)?;
    if let Some(base) = &args.base
        && !base.exists()
    {
        return Err(UsageError(format!("--base {}: no such folder", base.display())).into());
    }
    let request = Request {
        submissions: inputs,
        base: args.base.clone(),
        settings: Settings { k: args.k, window: args.window, abstract_identifiers: args.abstract_identifiers },
        threshold: args.threshold,
        top: args.top,
    };
    let analysis = similarity::analyze(&request)?;
    for submission in &analysis.submissions {
        if submission.files.is_empty() {
            eprintln!("warning: {}: no source files found", submission.name);
        } else if !submission.skipped.is_empty() {
            eprintln!(
                "warning: {}: {} files left out (binary, too large or unreadable; see --json)",
                submission.name,
                submission.skipped.len()
            );
        }
    }
    let json_to_stdout = args.json.as_deref() == Some(Path::new("-"));
    if let Some(path) = &args.json {
        let json = similarity::report::Report::new(&analysis).to_json() + "\n";
        if json_to_stdout {
            super::say(&json);
        } else {
            write(path, &json)?;
            eprintln!("wrote {}", path.display());
        }
    }
    if let Some(path) = &args.html {
        write(path, &similarity::html::render(&analysis, similarity::html::DEFAULT_DETAILED_PAIRS))?;
        eprintln!("wrote {}", path.display());
    }
    if !json_to_stdout {
        super::say(&similarity::table::render(&analysis, args.top));
    }
    let flagged = analysis.pairs.iter().any(|pair| pair.flagged);
    Ok(if flagged { exit_codes::FAILED } else { exit_codes::PASSED })
}

/// The submissions named on the command line (folders, or archives unpacked into temporary folders that
/// live as long as the returned guards), in order, each once.
fn inputs(args: &SimilarArgs) -> anyhow::Result<(Vec<Input>, Vec<Materialized>)> {
    let mut inputs = Vec::new();
    let mut unpacked = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let batches =
        [(Cohort::Current, &args.submissions[..], &args.from[..]), (Cohort::Earlier, &[][..], &args.against[..])];
    for (cohort, paths, from) in batches {
        let submissions = source::collect(paths, from, None).map_err(|error| -> anyhow::Error {
            if error.is_usage() { UsageError(error.to_string()).into() } else { error.into() }
        })?;
        for submission in submissions {
            let key = std::fs::canonicalize(submission.path()).unwrap_or_else(|_| submission.path().to_path_buf());
            if !seen.insert(key) {
                eprintln!("warning: {} is given twice; compared once", submission.display());
                continue;
            }
            let materialized =
                submission.materialize().with_context(|| format!("cannot read {}", submission.display()))?;
            inputs.push(Input { name: submission.display(), path: materialized.dir.clone(), cohort });
            unpacked.push(materialized);
        }
    }
    let current = inputs.iter().filter(|i| i.cohort == Cohort::Current).count();
    if current == 0 || inputs.len() < 2 {
        return Err(UsageError(
            "similar needs at least two submissions (folders or archives, --from <folder of submissions>), or one \
             and --against"
                .into(),
        )
        .into());
    }
    Ok((inputs, unpacked))
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (text, 1.0),
    };
    let value: f64 = number.trim().parse().map_err(|_| format!("'{text}' is not a number"))?;
    let ratio = value / scale;
    if (0.0..=1.0).contains(&ratio) {
        Ok(ratio)
    } else {
        Err(format!("'{text}' is not between 0 and 1 (or 0% and 100%)"))
    }
}

fn parse_positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(value) if (1..=1000).contains(&value) => Ok(value),
        _ => Err(format!("'{text}' is not a whole number from 1 to 1000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_ratios_or_percentages_between_0_and_1() {
        assert_eq!(parse_ratio("0.4"), Ok(0.4));
        assert_eq!(parse_ratio("40%"), Ok(0.4));
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("-1%").is_err());
        assert!(parse_ratio("half").is_err());
    }

    #[test]
    fn k_and_window_must_be_positive() {
        assert_eq!(parse_positive("23"), Ok(23));
        assert!(parse_positive("0").is_err());
        assert!(parse_positive("x").is_err());
    }
}
