//! The challenge model: what `challenge.toml` says, as Rust types, and how it is loaded.
//!
//! This module depends on nothing else in the crate. Every key is documented in
//! docs/challenge-format.md; the types here are the source of truth for that page.

mod bundled;
mod load;
pub mod protocol;
pub mod units;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use bundled::{bundled_ids, find_bundled};
pub(crate) use load::closest;
pub use load::{LoadedChallenge, Origin, SpecError, load, load_dir, parse_str};
pub use protocol::{Bound, Fault, LatencyDistribution, Partition, Protocol, Stage};
pub use units::{Bytes, Seconds};

/// A whole challenge spec (`challenge.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// Short name used on the command line, e.g. `dedup`.
    pub id: String,
    /// One-line title shown by `takehome list`.
    pub title: String,
    /// What kind of program the candidate writes.
    #[serde(default)]
    pub kind: Kind,
    /// Default limits for every case; groups and cases may override them.
    #[serde(default)]
    pub limits: Limits,
    /// Limits on building a submission.
    #[serde(default)]
    pub build: BuildSettings,
    /// How outputs are checked by default.
    #[serde(default)]
    pub check: Check,
    /// Extra environment variables every run gets.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Reference solutions and known-bad submissions `takehome validate` runs.
    #[serde(default)]
    pub validate: Validate,
    /// Groups of cases, in the order they are run and reported.
    #[serde(default, rename = "group")]
    pub groups: Vec<Group>,
    /// Benchmarks run after correctness (`grade`) or alone (`takehome bench`), in spec order.
    #[serde(default, rename = "bench")]
    pub benches: Vec<Bench>,
    /// A protocol challenge's workload.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// A protocol challenge's stages, in the order they are run.
    #[serde(default, rename = "stage")]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Run a program on an input, check what it prints or writes.
    #[default]
    Batch,
    /// Run one or many server nodes that speak Maelstrom's JSON-lines protocol; the grader is their
    /// clients and their network, and checks the history.
    Protocol,
}

/// Resource limits. Every field is optional so that a group or a case can override just one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub cpu_time: Option<Seconds>,
    pub wall_time: Option<Seconds>,
    pub memory: Option<Bytes>,
    pub output: Option<Bytes>,
}

/// Limits with every value decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedLimits {
    pub cpu_time: Seconds,
    pub wall_time: Seconds,
    pub memory: Bytes,
    pub output: Bytes,
}

impl Limits {
    pub const DEFAULT: ResolvedLimits = ResolvedLimits {
        cpu_time: Seconds(5.0),
        wall_time: Seconds(10.0),
        memory: Bytes(512 * 1024 * 1024),
        output: Bytes(64 * 1024 * 1024),
    };

    /// `self` where set, `base` elsewhere.
    #[must_use]
    pub fn over(self, base: Limits) -> Limits {
        Limits {
            cpu_time: self.cpu_time.or(base.cpu_time),
            wall_time: self.wall_time.or(base.wall_time),
            memory: self.memory.or(base.memory),
            output: self.output.or(base.output),
        }
    }

    /// Fills the gaps with defaults. A wall limit defaults to three times the CPU limit when only
    /// the CPU limit is given, as a sleeping program must still be stopped.
    #[must_use]
    pub fn resolve(self) -> ResolvedLimits {
        let d = Self::DEFAULT;
        let cpu_time = self.cpu_time.unwrap_or(d.cpu_time);
        let wall_time = self.wall_time.unwrap_or(match self.cpu_time {
            Some(cpu) => Seconds(cpu.0 * 3.0),
            None => d.wall_time,
        });
        ResolvedLimits {
            cpu_time,
            wall_time,
            memory: self.memory.unwrap_or(d.memory),
            output: self.output.unwrap_or(d.output),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSettings {
    /// Wall-clock limit for a build.
    #[serde(default = "BuildSettings::default_time")]
    pub time: Seconds,
    /// Whether a build may reach the network (package downloads). Runs never may.
    #[serde(default)]
    pub network: bool,
}

impl BuildSettings {
    fn default_time() -> Seconds {
        Seconds(300.0)
    }
}

impl Default for BuildSettings {
    fn default() -> Self {
        BuildSettings { time: Self::default_time(), network: false }
    }
}

/// How an output is judged. Every field is optional so that groups and cases override just one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Built-in comparator for stdout and output files.
    pub compare: Option<Compare>,
    /// For `floats`: accepted absolute difference.
    pub float_abs: Option<f64>,
    /// For `floats`: accepted relative difference.
    pub float_rel: Option<f64>,
    /// For `tokens`, `lines` and friends: whether case matters (default true).
    pub case_sensitive: Option<bool>,
    /// An output validator program (Kattis protocol), relative to the challenge folder. When set, it
    /// replaces the comparator for stdout.
    pub checker: Option<String>,
    /// Extra arguments passed to the checker after its three standard ones.
    pub checker_args: Option<Vec<String>>,
}

impl Check {
    #[must_use]
    pub fn over(&self, base: &Check) -> Check {
        Check {
            compare: self.compare.or(base.compare),
            float_abs: self.float_abs.or(base.float_abs),
            float_rel: self.float_rel.or(base.float_rel),
            case_sensitive: self.case_sensitive.or(base.case_sensitive),
            checker: self.checker.clone().or_else(|| base.checker.clone()),
            checker_args: self.checker_args.clone().or_else(|| base.checker_args.clone()),
        }
    }
}

/// The built-in comparators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compare {
    /// Byte for byte.
    Exact,
    /// Line by line, trailing whitespace on each line and trailing blank lines ignored.
    Lines,
    /// Whitespace-separated tokens (the Kattis default).
    #[default]
    Tokens,
    /// Tokens, numbers compared with `float_abs` / `float_rel` tolerance (accepted within either).
    Floats,
    /// The same lines in any order (a multiset), trailing whitespace ignored.
    UnorderedLines,
    /// The same tokens in any order.
    SortedTokens,
    /// Equal as JSON values.
    Json,
    /// Each line parsed as JSON; the same values in any order. Names missing and extra lines.
    UnorderedJsonLines,
    /// The expected answer is a regular expression the whole output must match.
    Regex,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// The group's points only when every case is accepted (the default).
    #[default]
    All,
    /// Points shared among cases by their weights.
    Sum,
    /// The smallest partial score of any case (external checkers' score.txt).
    Min,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Run by `takehome test`; the candidate sees inputs and diffs.
    #[default]
    Public,
    /// Run only by `takehome grade`; `test` says how many there are and nothing more.
    Hidden,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    /// What the group covers, shown in reports.
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub points: f64,
    #[serde(default)]
    pub aggregation: Aggregation,
    #[serde(default)]
    pub visibility: Visibility,
    /// Groups that must earn full points before this one runs.
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub check: Check,
    #[serde(default, rename = "case")]
    pub cases: Vec<Case>,
    #[serde(default, rename = "generate")]
    pub generated: Vec<Generate>,
}

/// A case written out in the spec: its input and expected output come from files or inline text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The edge this case covers, shown when it fails (also for hidden cases).
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// A file (relative to the challenge folder) fed to stdin. Without it, stdin is empty.
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub stdin_text: Option<String>,
    /// Files or folders placed in the working folder: destination -> source in the challenge folder.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The expected stdout, as a file relative to the challenge folder.
    #[serde(default)]
    pub stdout: Option<String>,
    #[serde(default)]
    pub stdout_text: Option<String>,
    /// The expected exit code (default 0).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Files the program must write: path in the working folder -> expected content file.
    #[serde(default)]
    pub output_files: BTreeMap<String, String>,
    /// Weight within a `sum` group (default 1).
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub check: Check,
}

/// Cases made by a generator from a seed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// Case names are `<name>` (count 1) or `<name>-<n>`.
    pub name: String,
    #[serde(default)]
    pub about: Option<String>,
    /// `builtin:<name>` or a program in the challenge folder, run as `<program> <seed> <outdir> key=value...`.
    pub generator: String,
    #[serde(default = "Generate::default_count")]
    pub count: u32,
    /// A fixed seed (public cases). Without it the run's seed is used (`--seed`, `TAKEHOME_SEED`, or random).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Passed to the generator.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub check: Check,
}

impl Generate {
    fn default_count() -> u32 {
        1
    }
}

/// What `takehome validate` runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validate {
    /// Folders (relative to the challenge folder) of solutions that must pass every case.
    #[serde(default)]
    pub references: Vec<String>,
    /// Folders of solutions that must be correct everywhere but may miss a protocol stage's figures
    /// (`[stage.expect]`), e.g. a reference in a language too slow for the scaling stages.
    #[serde(default)]
    pub correct_references: Vec<String>,
    /// Known-bad submissions and the verdict each must get.
    #[serde(default, rename = "known_bad")]
    pub known_bad: Vec<KnownBad>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownBad {
    /// Folder relative to the challenge folder.
    pub path: String,
    /// The verdict it must get on at least one case (on `case`, when given): "WA", "TLE", "MLE", "RE", "CE"...
    pub verdict: String,
    /// The case (or `group/case`; a stage of a protocol challenge) where the verdict must show; without it, any.
    #[serde(default)]
    pub case: Option<String>,
    #[serde(default)]
    pub why: Option<String>,
}

/// A benchmark: one generated input, run by the candidate and the first reference solution interleaved,
/// scored on the ratio candidate / reference of one metric.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bench {
    pub name: String,
    #[serde(default)]
    pub about: Option<String>,
    pub workload: Workload,
    /// What is measured and reported (default: wall time, CPU time and peak memory).
    #[serde(default = "Bench::default_metrics")]
    pub metrics: Vec<Metric>,
    /// At least this many measured runs per side (default 10).
    #[serde(default)]
    pub runs: Option<u32>,
    /// And at least this much measured wall time per side (default 1 s).
    #[serde(default)]
    pub min_time: Option<Seconds>,
    /// While the scored ratio's interval is still too wide, keep measuring up to this much wall time
    /// per side (default 5 × min_time); then it is "too noisy to score".
    #[serde(default)]
    pub max_time: Option<Seconds>,
    /// Unmeasured runs per side first, to warm caches (default 2).
    #[serde(default)]
    pub warmup: Option<u32>,
    /// The widest 95% interval of the scored ratio, relative to the ratio, that may still be scored
    /// (default 0.1: ratio ± 5%). Wider is "too noisy to score".
    #[serde(default)]
    pub max_ci_width: Option<f64>,
    #[serde(default)]
    pub points: f64,
    /// How the ratio becomes points.
    #[serde(default)]
    pub score: BenchScore,
    /// Limits of each run, over the challenge's.
    #[serde(default)]
    pub limits: Limits,
}

impl Bench {
    fn default_metrics() -> Vec<Metric> {
        vec![Metric::Wall, Metric::Cpu, Metric::Memory]
    }
}

/// A benchmark's input: made once by a generator, shared by every run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// `builtin:<name>` or a program in the challenge folder (as in `[[group.generate]]`).
    pub generator: String,
    /// A fixed seed; without it the run's seed is used.
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub args: Vec<String>,
}

/// A measured figure of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Wall-clock time.
    Wall,
    /// CPU time, user plus system (wait4's rusage).
    Cpu,
    /// Peak resident memory (ru_maxrss).
    Memory,
}

/// Points from the ratio candidate / reference: `thresholds` when given, else a curve that gives full
/// points at `full_at` or below, none at `zero_at` or above, and falls linearly in log(ratio) between.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BenchScore {
    /// The metric whose ratio is scored (default: the first of `metrics`).
    #[serde(default)]
    pub metric: Option<Metric>,
    #[serde(default = "BenchScore::default_full_at")]
    pub full_at: f64,
    #[serde(default = "BenchScore::default_zero_at")]
    pub zero_at: f64,
    /// Steps instead of the curve: the fraction of the first step whose `at_most` the ratio does not exceed.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
}

impl BenchScore {
    fn default_full_at() -> f64 {
        1.0
    }

    fn default_zero_at() -> f64 {
        2.0
    }
}

impl Default for BenchScore {
    fn default() -> Self {
        BenchScore {
            metric: None,
            full_at: Self::default_full_at(),
            zero_at: Self::default_zero_at(),
            thresholds: vec![],
        }
    }
}

/// One step of a threshold rule.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub at_most: f64,
    /// Of the bench's points, in [0, 1].
    pub fraction: f64,
}
