//! Every exit code takehome returns, in one place. Documented in README.md and docs/cli.md.

/// The submission passed every case run, or its score reached `--min-score`.
pub const PASSED: i32 = 0;
/// The submission failed: a case was not accepted (a submission that cannot be detected or built,
/// including a broken takehome.toml, counts as CE), or the score is below `--min-score`.
pub const FAILED: i32 = 1;
/// The command line or a challenge spec is wrong.
pub const USAGE_OR_SPEC_ERROR: i32 = 2;
/// takehome itself could not do its work: a judge error (JE) on any case, or an I/O failure.
pub const INFRASTRUCTURE_ERROR: i32 = 3;
