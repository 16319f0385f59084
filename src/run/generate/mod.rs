//! Generators make a case from a seed: a built-in one (Rust code in this folder) or a program in the
//! challenge folder, run as `<program> <seed> <outdir> key=value...`. Either writes into `outdir`:
//! `files/` (placed in the run's working folder), `stdin` (optional) and `answer` (expected stdout).

mod program;

pub mod dedup;

use std::collections::BTreeMap;
use std::path::Path;

pub use program::run_program;

/// Parameters from the spec's `params` table.
pub type Params = BTreeMap<String, toml::Value>;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("generator `{generator}`: {message}")]
    Failed { generator: String, message: String },
    #[error("generator `{generator}`: {source}")]
    Io { generator: String, source: std::io::Error },
}

/// The names of the built-in generators (used as `builtin:<name>`).
#[must_use]
pub fn builtin_names() -> Vec<&'static str> {
    vec![dedup::NAME]
}

/// Runs the built-in generator `name`.
pub fn run_builtin(name: &str, seed: u64, params: &Params, out: &Path) -> Result<(), GenerateError> {
    match name {
        dedup::NAME => dedup::generate(seed, params, out),
        _ => Err(GenerateError::Failed { generator: name.into(), message: "no such built-in generator".into() }),
    }
}
