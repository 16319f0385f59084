//! takehome grades take-home coding challenges. A submission travels one way through these modules:
//!
//! spec -> submission (detect, build, cache) -> sandbox -> run (batch cases, generators, checkers; the
//! protocol harness) -> check (comparators, linearizability) -> bench (interleaved timing) -> score ->
//! report. `cli` parses the command line and `commands` drives the journey for each verb.

pub mod batch;
pub mod bench;
pub mod check;
pub mod cli;
pub mod commands;
pub mod exit_codes;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod scratch;
pub mod similarity;
pub mod spec;
pub mod submission;

/// Runs takehome with these arguments and returns the process exit code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    commands::dispatch(args)
}
