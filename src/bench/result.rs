//! The result of one benchmark as reports carry it: the decision and its one-line message, every
//! figure, and everything needed to recompute the score (raw samples, plan, seeds, environment).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::environment::Environment;
use super::plan::{Measurements, Plan};
use super::stats::{RatioEstimate, Summary};
use crate::spec::Metric;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub name: String,
    pub about: Option<String>,
    pub status: BenchStatus,
    /// One line: the scored ratio and the points, or why there is no number.
    pub message: String,
    /// `None` when there is no number to give (too noisy, or a fault of the grader or the reference).
    pub points: Option<f64>,
    pub max_points: f64,
    /// The metric whose ratio is scored.
    pub scored_metric: Metric,
    /// The widest relative 95% interval that may be scored.
    pub max_ci_width: f64,
    /// One entry per measured metric, in the spec's order. Empty when nothing was measured.
    #[serde(default)]
    pub metrics: Vec<MetricResult>,
    pub instructions: Instructions,
    /// The raw samples of both sides and their order.
    #[serde(default)]
    pub samples: Measurements,
    pub plan: Plan,
    /// Seconds the grader spent running the plan, warm-up included: beside the samples' own wall
    /// times it shows the grader's overhead per run.
    #[serde(default)]
    pub measure_seconds: f64,
    /// How the runs were started: each side inside one sandbox of its own ("repeater"), or one
    /// sandbox per run, and why.
    #[serde(default)]
    pub launch: String,
    /// The reference solution's folder, relative to the challenge.
    pub reference: Option<String>,
    pub workload: WorkloadInfo,
    pub environment: Option<Environment>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BenchStatus {
    /// A ratio with an interval narrow enough, and its points.
    Scored,
    /// The interval of the scored ratio is wider than the spec allows: no number.
    TooNoisy,
    /// A candidate run failed (an error, a limit, a wrong answer on the workload): no points.
    Failed,
    /// Not benchmarked (correctness failed, or the submission did not build): no points.
    NotRun,
    /// The grader, the generator or the reference solution failed: not the candidate's fault.
    JudgeError,
}

impl BenchStatus {
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            BenchStatus::Scored => "scored",
            BenchStatus::TooNoisy => "too noisy to score",
            BenchStatus::Failed => "failed",
            BenchStatus::NotRun => "not run",
            BenchStatus::JudgeError => "judge error",
        }
    }
}

/// One metric of both sides, and their ratio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricResult {
    pub metric: Metric,
    /// `seconds` or `bytes`.
    pub unit: String,
    pub candidate: Summary,
    pub reference: Summary,
    /// Ratio of medians candidate / reference, with its bootstrap interval and seed.
    pub ratio: RatioEstimate,
}

/// Instructions retired, the secondary figure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instructions {
    /// Why they could not be counted; `None` when they were.
    pub unavailable: Option<String>,
    pub candidate_median: Option<f64>,
    pub reference_median: Option<f64>,
    pub ratio: Option<f64>,
}

impl Instructions {
    #[must_use]
    pub fn unavailable(why: impl Into<String>) -> Self {
        Instructions { unavailable: Some(why.into()), candidate_median: None, reference_median: None, ratio: None }
    }
}

/// The generated input, as made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkloadInfo {
    pub generator: String,
    pub seed: u64,
    pub params: BTreeMap<String, String>,
    pub args: Vec<String>,
}
