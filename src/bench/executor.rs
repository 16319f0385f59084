//! Running one sample: the [`Executor`] trait the measurement plan drives, its real implementation
//! over the sandbox (no shell; CPU time and peak memory from wait4's rusage; each side's runs inside
//! one sandbox of its own where the grader can start repeaters, so a sample costs a fork and an exec
//! rather than a sandbox's set-up), and a mock that hands out prepared samples so the statistics are
//! tested exactly.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::instructions::InstructionCounter;
use crate::check::{CompareOptions, compare};
use crate::report::LimitHit;
use crate::sandbox::repeat::Repeater;
use crate::sandbox::{self, Outcome, RunPlan};
use crate::spec::Compare;

/// Which program a run is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Candidate,
    Reference,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Candidate => "candidate",
            Side::Reference => "reference",
        })
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Seconds of wall-clock time.
    pub wall: f64,
    /// Seconds of CPU time, user plus system, of the process (wait4's rusage).
    pub cpu: f64,
    /// Peak resident memory in bytes.
    pub memory: u64,
    /// Instructions retired in user space, where the kernel lets us count them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<u64>,
}

impl Sample {
    /// The figure `metric` measures, in its unit (seconds or bytes).
    #[must_use]
    pub fn value(&self, metric: crate::spec::Metric) -> f64 {
        match metric {
            crate::spec::Metric::Wall => self.wall,
            crate::spec::Metric::Cpu => self.cpu,
            crate::spec::Metric::Memory => self.memory as f64,
        }
    }
}

/// A run that did not finish cleanly: the sample cannot count.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a {side} run {reason}")]
pub struct RunFailure {
    pub side: Side,
    /// E.g. "ended with exit code 1", "hit the wall-clock limit".
    pub reason: String,
}

/// Runs one sample of one side.
pub trait Executor {
    fn run(&mut self, side: Side) -> Result<Sample, RunFailure>;
}

/// The expected stdout of the workload and how to compare against it.
#[derive(Debug, Clone)]
pub struct ExpectedOutput {
    pub answer: Vec<u8>,
    pub compare: Compare,
    pub options: CompareOptions,
}

/// Runs the two programs through the sandbox. Each side's first run is checked against the expected
/// answer (when the workload has one), so a fast wrong program cannot be benchmarked.
pub struct SandboxExecutor {
    candidate: RunPlan,
    reference: RunPlan,
    expected: Option<ExpectedOutput>,
    checked: [bool; 2],
    counter: Option<InstructionCounter>,
    repeaters: Option<Repeaters>,
}

/// Each side's repeater, and the folders they write to (one per side, that side's alone under
/// Landlock) and may be copied into.
struct Repeaters {
    running: [Repeater; 2],
    _folders: tempfile::TempDir,
    /// This thread's pin, which the repeaters wait on (see `sandbox::repeat`); undone on drop.
    _pinned: Option<sandbox::affinity::Pinned>,
}

impl SandboxExecutor {
    #[must_use]
    pub fn new(
        candidate: RunPlan,
        reference: RunPlan,
        expected: Option<ExpectedOutput>,
        counter: Option<InstructionCounter>,
    ) -> Self {
        SandboxExecutor { candidate, reference, expected, checked: [false; 2], counter, repeaters: None }
    }

    /// Runs every sample of a side inside one sandbox of its own (see [`crate::sandbox::repeat`]).
    /// Both start here, before either side's first run, so nothing a run leaves behind can reach how
    /// the other side starts. Instruction counts need each run to be a child of the measuring thread:
    /// with a counter, runs stay one sandbox each.
    pub fn with_repeaters(mut self) -> std::io::Result<Self> {
        if self.counter.is_some() || !sandbox::repeat::enabled() {
            return Ok(self);
        }
        // The repeaters start (and keep for their runs) this thread's whole CPU set; the thread is
        // pinned to the CPU they wait on once they are up.
        let pin = sandbox::affinity::current_cpu();
        let folders = crate::scratch::folder("bench-runs")?;
        let copy_dir = folders.path().join("bin");
        std::fs::create_dir(&copy_dir)?;
        for dir in [folders.path(), &copy_dir] {
            std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
        }
        let start = |plan: &RunPlan, side: &str| -> std::io::Result<Repeater> {
            let dir = folders.path().join(side);
            std::fs::create_dir(&dir)?;
            sandbox::hand_over_folder(&dir)?;
            let mut plan = plan.clone();
            if let Some(confine) = plan.confine.as_mut() {
                confine.write.push(dir.clone());
            }
            Repeater::start(&plan, &dir.join("stdout"), &copy_dir, pin)
        };
        let running = [start(&self.candidate, "candidate")?, start(&self.reference, "reference")?];
        let pinned = pin.and_then(sandbox::affinity::Pinned::on);
        self.repeaters = Some(Repeaters { running, _folders: folders, _pinned: pinned });
        Ok(self)
    }

    /// Whether samples run through repeaters.
    #[must_use]
    pub fn repeats(&self) -> bool {
        self.repeaters.is_some()
    }

    fn outcome(&mut self, side: Side) -> (std::io::Result<Outcome>, Option<u64>) {
        if let Some(repeaters) = self.repeaters.as_mut() {
            // Only the first run's output is checked.
            let capture = !self.checked[side as usize];
            return (repeaters.running[side as usize].run(capture), None);
        }
        let plan = match side {
            Side::Candidate => &self.candidate,
            Side::Reference => &self.reference,
        };
        match self.counter.as_mut() {
            Some(counter) => counter.count(|| sandbox::run(plan)),
            None => (sandbox::run(plan), None),
        }
    }
}

impl Executor for SandboxExecutor {
    fn run(&mut self, side: Side) -> Result<Sample, RunFailure> {
        let fail = |reason: String| RunFailure { side, reason };
        let (outcome, instructions) = self.outcome(side);
        let outcome = outcome.map_err(|error| fail(format!("could not start: {error}")))?;
        if let Some(limit) = outcome.limit_hit {
            let what = match limit {
                LimitHit::CpuTime => "CPU time",
                LimitHit::WallTime => "wall-clock",
                LimitHit::Memory => "memory",
                LimitHit::Output => "output",
            };
            return Err(fail(format!("hit the {what} limit")));
        }
        if !outcome.success() {
            return Err(fail(format!("ended with {}", outcome.status)));
        }
        let index = side as usize;
        if !self.checked[index] {
            self.checked[index] = true;
            if let Some(expected) = &self.expected {
                let judgement = compare(expected.compare, &expected.options, &expected.answer, &outcome.stdout);
                if !judgement.accepted {
                    let why = judgement.first_difference.unwrap_or_else(|| "differs".into());
                    return Err(fail(format!("printed a wrong answer on the workload: {why}")));
                }
            }
        }
        Ok(Sample {
            wall: outcome.wall_time.as_secs_f64(),
            cpu: outcome.cpu_time.as_secs_f64(),
            memory: outcome.peak_memory,
            instructions,
        })
    }
}

/// Hands out prepared samples, in order and round again when they run out, and logs every call.
#[derive(Debug, Clone, Default)]
pub struct MockExecutor {
    candidate: VecDeque<Result<Sample, RunFailure>>,
    reference: VecDeque<Result<Sample, RunFailure>>,
    /// Every side asked for, in order (warm-up runs included).
    pub calls: Vec<Side>,
}

impl MockExecutor {
    /// Samples with these wall times (CPU time equal, memory 1 MiB).
    #[must_use]
    pub fn with_walls(candidate: &[f64], reference: &[f64]) -> Self {
        let sample = |wall: f64| Ok(Sample { wall, cpu: wall, memory: 1 << 20, instructions: None });
        MockExecutor {
            candidate: candidate.iter().copied().map(sample).collect(),
            reference: reference.iter().copied().map(sample).collect(),
            calls: Vec::new(),
        }
    }

    #[must_use]
    pub fn new(candidate: Vec<Result<Sample, RunFailure>>, reference: Vec<Result<Sample, RunFailure>>) -> Self {
        MockExecutor { candidate: candidate.into(), reference: reference.into(), calls: Vec::new() }
    }
}

impl Executor for MockExecutor {
    fn run(&mut self, side: Side) -> Result<Sample, RunFailure> {
        self.calls.push(side);
        let queue = match side {
            Side::Candidate => &mut self.candidate,
            Side::Reference => &mut self.reference,
        };
        let next = queue.pop_front().unwrap_or_else(|| Err(RunFailure { side, reason: "mock has no sample".into() }));
        queue.push_back(next.clone());
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(program: &str, args: &[&str]) -> RunPlan {
        sandbox::plan_for_tests(program, args)
    }

    #[test]
    fn mock_cycles_through_its_samples_and_logs_calls() {
        let mut mock = MockExecutor::with_walls(&[1.0, 2.0], &[3.0]);
        let walls: Vec<f64> = [Side::Candidate, Side::Candidate, Side::Candidate, Side::Reference]
            .into_iter()
            .map(|side| mock.run(side).unwrap().wall)
            .collect();
        assert_eq!(walls, vec![1.0, 2.0, 1.0, 3.0]);
        assert_eq!(mock.calls, vec![Side::Candidate, Side::Candidate, Side::Candidate, Side::Reference]);
    }

    #[test]
    fn sandbox_executor_measures_a_real_run() {
        let mut executor = SandboxExecutor::new(plan("true", &[]), plan("echo", &["hi"]), None, None);
        let sample = executor.run(Side::Candidate).unwrap();
        assert!(sample.wall > 0.0 && sample.memory > 0, "{sample:?}");
        executor.run(Side::Reference).unwrap();
    }

    #[test]
    fn a_failing_run_is_a_failure_naming_its_side_and_status() {
        let mut executor = SandboxExecutor::new(plan("false", &[]), plan("true", &[]), None, None);
        let failure = executor.run(Side::Candidate).unwrap_err();
        assert_eq!(failure.to_string(), "a candidate run ended with exit code 1");
    }

    #[test]
    fn a_wrong_answer_on_the_first_run_is_a_failure() {
        let expected =
            ExpectedOutput { answer: b"hello\n".to_vec(), compare: Compare::Exact, options: CompareOptions::default() };
        let mut executor = SandboxExecutor::new(plan("echo", &["bye"]), plan("echo", &["hello"]), Some(expected), None);
        executor.run(Side::Reference).unwrap();
        let failure = executor.run(Side::Candidate).unwrap_err();
        assert!(failure.reason.starts_with("printed a wrong answer on the workload"), "{failure}");
    }
}
