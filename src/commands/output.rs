//! Writing reports where the command line asked: each `--format` to its `--output`, or to stdout.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ArgMatches;

use super::UsageError;
use crate::cli::{Format, OutputArgs, pair_outputs};
use crate::report::{self, ReportSet, human::HumanOptions};

/// Each requested format and its destination (`None` = standard output).
#[derive(Debug, Clone)]
pub struct Destinations(pub Vec<(Format, Option<PathBuf>)>);

impl Destinations {
    /// Pairs each --output with the --format just before it, using the positions clap saw them at.
    pub fn from_matches(matches: Option<&ArgMatches>, args: &OutputArgs) -> anyhow::Result<Self> {
        let indices = |id: &str| -> Vec<usize> {
            matches.and_then(|m| m.indices_of(id)).map(Iterator::collect).unwrap_or_default()
        };
        let formats: Vec<(usize, Format)> = indices("formats").into_iter().zip(args.formats.iter().copied()).collect();
        let outputs: Vec<(usize, PathBuf)> = indices("outputs").into_iter().zip(args.outputs.iter().cloned()).collect();
        pair_outputs(&formats, &outputs).map(Destinations).map_err(|m| UsageError(m).into())
    }

    /// Renders and writes every requested format.
    pub fn write(&self, set: &ReportSet, color: bool) -> anyhow::Result<()> {
        for (format, path) in &self.0 {
            let text = match format {
                Format::Human => {
                    let color = color && path.is_none();
                    let mut text: String = set
                        .reports
                        .iter()
                        .map(|r| report::human::render(r, HumanOptions { color }))
                        .collect::<Vec<_>>()
                        .join("\n");
                    if set.reports.len() > 1 {
                        text.push('\n');
                        text.push_str(&report::human::render_summary_table(set));
                    }
                    text
                }
                Format::Json => report::json::render(set),
                Format::Junit => report::junit::render(set),
                Format::Markdown => report::markdown::render(set),
            };
            match path {
                None => super::say(&text),
                Some(path) => write_atomically(path, text.as_bytes())
                    .with_context(|| format!("cannot write the {format:?} report to {}", path.display()))?,
            }
        }
        Ok(())
    }
}

/// Writes through a temporary file and a rename, so a reader never sees half a report.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new().prefix(".takehome-report-").tempfile_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
