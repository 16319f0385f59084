//! One module per verb; `dispatch` parses the command line, runs the verb and turns its result or
//! error into an exit code.

mod bench;
mod generate;
mod grade;
mod list;
mod merge;
mod output;
pub mod pipeline;
pub mod report;
mod show;
pub(crate) mod similar;
mod test;
mod validate;
mod verify;

use std::ffi::OsString;
use std::io::IsTerminal;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, ColorChoice, Verb};
use crate::exit_codes;

/// Parses `args`, runs the verb, and returns the exit code.
pub fn dispatch(args: impl IntoIterator<Item = OsString>) -> i32 {
    let matches = match Cli::command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { exit_codes::USAGE_OR_SPEC_ERROR } else { exit_codes::PASSED };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return exit_codes::USAGE_OR_SPEC_ERROR;
        }
    };
    let color = use_color(cli.color);
    let sub = matches.subcommand().map(|(_, m)| m);
    let result = match cli.command {
        Verb::List => list::run(),
        Verb::Generate { challenge, case, out, seed, params } => generate::run(&challenge, &case, &out, seed, &params),
        Verb::Show { challenge } => show::run(&challenge),
        Verb::Test { challenge, dir, changed_since, run, output } => output::Destinations::from_matches(sub, &output)
            .and_then(|d| test::run(&challenge, &dir, changed_since.as_deref(), &run, &d, color)),
        Verb::Grade { challenge, submissions, batch, run, output, min_score, changed_since } => {
            output::Destinations::from_matches(sub, &output).and_then(|destinations| {
                grade::run(&grade::Request {
                    challenge: &challenge,
                    submissions: &submissions,
                    batch: &batch,
                    run: &run,
                    destinations: &destinations,
                    default_format: output.formats.is_empty() && output.outputs.is_empty(),
                    color,
                    min_score,
                    changed_since: changed_since.as_deref(),
                })
            })
        }
        Verb::Merge { out, inputs } => merge::run(&out, &inputs),
        Verb::Report(args) => report::run(&args),
        Verb::Similar(args) => similar::run(&args),
        Verb::Verify { results, dir, challenge } => verify::run(&results, dir.as_deref(), challenge.as_deref()),
        Verb::Bench { challenge, submission, run, output } => output::Destinations::from_matches(sub, &output)
            .and_then(|d| bench::run(&challenge, &submission, &run, &d, color)),
        Verb::Validate { challenge, run } => validate::run(&challenge, &run, color),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_code_for(&error)
        }
    }
}

/// Spec and usage errors are the user's to fix (2); everything else is takehome's side (3).
fn exit_code_for(error: &anyhow::Error) -> i32 {
    let is_spec = error.chain().any(|cause| cause.downcast_ref::<crate::spec::SpecError>().is_some());
    let is_usage = error.chain().any(|cause| cause.downcast_ref::<UsageError>().is_some());
    if is_spec || is_usage { exit_codes::USAGE_OR_SPEC_ERROR } else { exit_codes::INFRASTRUCTURE_ERROR }
}

/// Writes to standard output. A reader that went away (`takehome ... | head`) is not an error worth a
/// panic: the rest of the output is simply dropped.
/// Tells GitHub Actions (when the grader runs in it) about the reports: annotations, the step summary and
/// the score as step outputs. A failure to do so is a warning: the reports themselves are written.
pub(crate) fn tell_github(set: &crate::report::ReportSet) {
    if let Err(error) = crate::report::github::emit(set, &crate::report::github::process_env) {
        eprintln!("warning: could not write the GitHub Actions summary or outputs: {error}");
    }
}

pub(crate) fn say(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

pub(crate) fn say_line(mut text: String) {
    text.push('\n');
    say(&text);
}

/// A mistake on the command line that clap cannot see (e.g. a --output without a --format).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Colour for the human report: `--color`, then NO_COLOR, TERM=dumb and whether stdout is a terminal.
fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
                && std::io::stdout().is_terminal()
        }
    }
}

/// The exit code of a grading: a judge error outranks a failure, which outranks a pass.
fn verdict_code(judge_error: bool, passed: bool) -> i32 {
    if judge_error {
        exit_codes::INFRASTRUCTURE_ERROR
    } else if passed {
        exit_codes::PASSED
    } else {
        exit_codes::FAILED
    }
}

/// Says which isolation layers are missing, and with `--strict` refuses to go on without them.
fn check_sandbox(args: &crate::cli::RunArgs) -> anyhow::Result<()> {
    if args.strict {
        crate::sandbox::strict_ok().map_err(|why| anyhow::anyhow!("--strict: {why}"))?;
    }
    for warning in crate::sandbox::warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(())
}

/// The seed for this run: `--seed`/TAKEHOME_SEED, else a fresh one (printed in every report).
fn choose_seed(given: Option<u64>) -> u64 {
    given.unwrap_or_else(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher
            .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        hasher.write_u32(std::process::id());
        // Seeds a person can type: nine digits.
        hasher.finish() % 1_000_000_000
    })
}

fn jobs(given: Option<usize>) -> usize {
    given.filter(|&j| j > 0).unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
}

/// Progress bars only for a person watching: stderr is a terminal and this is not CI.
fn show_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}
