//! The one result model every output is rendered from. Its JSON form (json.rs) is the machine
//! format; human, JUnit and Markdown are views of it. This module renders; it never runs anything.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod leaderboard;
pub mod leaderboard_csv;
pub mod leaderboard_html;
pub mod leaderboard_markdown;
pub mod markdown;
pub mod protocol_html;
#[cfg(test)]
pub(crate) mod sample;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::bench::BenchResult;
use crate::spec::{Aggregation, Visibility};

/// Bumped whenever a field changes meaning or is removed (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verdict {
    /// Accepted.
    #[serde(rename = "AC")]
    Accepted,
    /// Wrong answer (or wrong exit code, or a missing output file).
    #[serde(rename = "WA")]
    WrongAnswer,
    /// Time limit exceeded (`Case::limit` says CPU or wall).
    #[serde(rename = "TLE")]
    TimeLimit,
    /// Memory limit exceeded.
    #[serde(rename = "MLE")]
    MemoryLimit,
    /// Output limit exceeded.
    #[serde(rename = "OLE")]
    OutputLimit,
    /// Run-time error: a non-zero exit code or a signal.
    #[serde(rename = "RE")]
    RuntimeError,
    /// Compile (build) error.
    #[serde(rename = "CE")]
    CompileError,
    /// Judge error: a fault of the grader or the spec, never the candidate's.
    #[serde(rename = "JE")]
    JudgeError,
    /// Not run, because a required group failed.
    #[serde(rename = "SKIPPED")]
    Skipped,
}

impl Verdict {
    pub const ALL: [Verdict; 9] = [
        Verdict::Accepted,
        Verdict::WrongAnswer,
        Verdict::TimeLimit,
        Verdict::MemoryLimit,
        Verdict::OutputLimit,
        Verdict::RuntimeError,
        Verdict::CompileError,
        Verdict::JudgeError,
        Verdict::Skipped,
    ];

    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Accepted => "AC",
            Verdict::WrongAnswer => "WA",
            Verdict::TimeLimit => "TLE",
            Verdict::MemoryLimit => "MLE",
            Verdict::OutputLimit => "OLE",
            Verdict::RuntimeError => "RE",
            Verdict::CompileError => "CE",
            Verdict::JudgeError => "JE",
            Verdict::Skipped => "SKIPPED",
        }
    }

    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::WrongAnswer => "wrong answer",
            Verdict::TimeLimit => "time limit exceeded",
            Verdict::MemoryLimit => "memory limit exceeded",
            Verdict::OutputLimit => "output limit exceeded",
            Verdict::RuntimeError => "run-time error",
            Verdict::CompileError => "compile error",
            Verdict::JudgeError => "judge error",
            Verdict::Skipped => "skipped",
        }
    }

    /// Parses a code such as `"WA"` (case-insensitive).
    #[must_use]
    pub fn parse(code: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.code().eq_ignore_ascii_case(code.trim()))
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Which limit a run hit, when one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LimitHit {
    CpuTime,
    WallTime,
    Memory,
    Output,
}

/// Everything a run of takehome produced, for one or more submissions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportSet {
    pub schema_version: u32,
    pub takehome_version: String,
    pub reports: Vec<Report>,
}

/// The result of grading (or testing) one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub challenge: ChallengeInfo,
    pub submission: SubmissionInfo,
    /// `test` (public cases only) or `grade` (all cases).
    pub mode: Mode,
    /// The seed generated cases without a fixed seed were made from; rerun with `--seed` to reproduce.
    pub seed: u64,
    pub build: BuildInfo,
    pub groups: Vec<GroupResult>,
    pub score: f64,
    pub max_score: f64,
    /// Hidden cases that exist but were not run (in `test` mode).
    pub hidden_cases_not_run: usize,
    /// Which isolation layers were active.
    pub sandbox: String,
    /// Wall time of the whole grading, in seconds.
    pub duration: f64,
    /// Benchmarks, run after correctness (`grade`) or alone (`bench`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benches: Vec<BenchResult>,
    /// What the result was graded from (hashes of the spec and the submission, toolchain, seed, run):
    /// see `takehome verify`. Absent in results written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<crate::batch::manifest::Manifest>,
    /// The challenge's protected files (spec, cases, tests) this branch changed, with `--changed-since`:
    /// a pull request that edits what it is graded against. Absent when none changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_changes: Option<crate::batch::protected::ProtectedChanges>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Test,
    Grade,
    Validate,
    /// `bench`: benchmarks only, no cases.
    Bench,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeInfo {
    pub id: String,
    pub title: String,
    /// `bundled` or the folder it was loaded from.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionInfo {
    /// A short name (the folder's name).
    pub name: String,
    pub path: String,
    /// E.g. `rust`, `python`, `c`, or `custom` for a takehome.toml.
    pub language: String,
    /// Why that language was chosen, e.g. "found Cargo.toml".
    pub detected_because: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Whether the build succeeded (always true when there is nothing to build).
    pub ok: bool,
    /// True when the result came from the build cache.
    pub cached: bool,
    /// Seconds the build took (0 when cached).
    pub duration: f64,
    /// The commands that were run.
    pub commands: Vec<String>,
    /// The end of the build log (all of it when the build failed and it is short).
    pub log_tail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupResult {
    pub name: String,
    pub about: Option<String>,
    pub visibility: Visibility,
    pub aggregation: Aggregation,
    pub points: f64,
    pub max_points: f64,
    /// Why the group was not run, when it was not (a required group failed).
    pub skipped_because: Option<String>,
    pub cases: Vec<CaseResult>,
}

impl GroupResult {
    #[must_use]
    pub fn passed(&self) -> bool {
        self.skipped_because.is_none() && self.cases.iter().all(|c| c.verdict == Verdict::Accepted)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    /// The edge this case covers.
    pub about: Option<String>,
    pub hidden: bool,
    pub verdict: Verdict,
    /// One line saying why, e.g. "exit code 3", "killed by SIGSEGV", "CPU time limit 2 s exceeded".
    pub reason: String,
    pub limit_hit: Option<LimitHit>,
    /// Seconds of CPU time (user + system) and wall time.
    pub cpu_time: f64,
    pub wall_time: f64,
    /// Peak resident memory in bytes, when known.
    pub memory: Option<u64>,
    /// Partial credit in [0, 1] (from a checker's score.txt); 1 for accepted, 0 otherwise.
    pub fraction: f64,
    /// Weight within a `sum` group.
    pub weight: f64,
    /// The seed a generated case was made from.
    pub seed: Option<u64>,
    /// What the candidate needs to see to fix it. Never set for hidden cases in `test` mode.
    pub feedback: Option<Feedback>,
    /// Figures of a protocol stage by name (`throughput`, `latency-p99-ms`, `msgs-per-op-servers` ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// Lines shown under the case whatever its verdict (a protocol stage's figures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Where the run's files are kept (a protocol stage's history, network trace and HTML report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<String>,
}

impl CaseResult {
    /// A result with its verdict and reason and nothing measured yet.
    #[must_use]
    pub fn new(name: &str, about: Option<&str>, hidden: bool, verdict: Verdict, reason: String) -> CaseResult {
        CaseResult {
            name: name.to_string(),
            about: about.map(str::to_string),
            hidden,
            verdict,
            reason,
            limit_hit: None,
            cpu_time: 0.0,
            wall_time: 0.0,
            memory: None,
            fraction: 0.0,
            weight: 1.0,
            seed: None,
            feedback: None,
            metrics: BTreeMap::new(),
            notes: Vec::new(),
            artifacts: None,
        }
    }
}

/// Details shown on failure.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Feedback {
    /// A unified diff of expected against actual, whitespace made visible, cut to a readable size.
    pub diff: Option<String>,
    /// Where output first differs, e.g. "line 3, token 2: expected `7`, got `8`".
    pub first_difference: Option<String>,
    /// The start of the case's input (stdin, arguments, file names).
    pub input_head: Option<String>,
    /// What an external checker said (judgemessage.txt), or the comparator's own message.
    pub checker_message: Option<String>,
    /// The end of the program's stderr.
    pub stderr_tail: Option<String>,
}

impl Report {
    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.groups.iter().flat_map(|g| g.cases.iter())
    }

    /// Accepted: built, and every case run was accepted.
    #[must_use]
    pub fn all_passed(&self) -> bool {
        self.build.ok
            && self.cases().all(|c| c.verdict == Verdict::Accepted)
            && self.groups.iter().all(|g| g.skipped_because.is_none())
    }

    /// The score as a percentage of the maximum (100 when nothing can be scored).
    #[must_use]
    pub fn percent(&self) -> f64 {
        if self.max_score > 0.0 {
            100.0 * self.score / self.max_score
        } else if self.all_passed() {
            100.0
        } else {
            0.0
        }
    }
}
