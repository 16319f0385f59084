//! `takehome merge <out> <folder>...`: combines result folders (shards of a batch) into one.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::batch::merge::{self, MergeError};
use crate::exit_codes;

pub fn run(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<i32> {
    for input in inputs {
        if !input.is_dir() {
            return Err(UsageError(format!("{}: not a folder of results", input.display())).into());
        }
    }
    let merged = match merge::merge(out, inputs) {
        Ok(merged) => merged,
        Err(error @ MergeError::MixedChallenges(_)) => return Err(UsageError(error.to_string()).into()),
        Err(error) => return Err(error.into()),
    };
    for warning in &merged.warnings {
        eprintln!("warning: {warning}");
    }
    for unreadable in &merged.unreadable {
        eprintln!("warning: left out {unreadable}");
    }
    super::say_line(format!(
        "{} results in {} ({} written, {} already there){}",
        merged.written + merged.kept,
        out.display(),
        merged.written,
        merged.kept,
        if merged.unreadable.is_empty() {
            String::new()
        } else {
            format!("; {} files left out: not results", merged.unreadable.len())
        }
    ));
    Ok(if merged.unreadable.is_empty() { exit_codes::PASSED } else { exit_codes::FAILED })
}
