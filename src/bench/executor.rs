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

/// The expected stdout of the workload and how to compare against it. Without an answer from the
/// generator, the reference's first output is the answer.
#[derive(Debug, Clone)]
pub struct ExpectedOutput {
    pub answer: Option<Vec<u8>>,
    pub compare: Compare,
    pub options: CompareOptions,
}

/// Runs the two programs through the sandbox. Every run's output is checked against the expected
/// answer (the workload's, or else the reference's first output), so a fast wrong program cannot be
/// benchmarked, nor one that does the work only when it guesses it is checked.
pub struct SandboxExecutor {
    candidate: RunPlan,
    reference: RunPlan,
    expected: Option<ExpectedOutput>,
    /// A candidate's output that waits for the reference's first one, when that is the answer.
    unchecked: Option<Vec<u8>>,
    answer_is_reference: bool,
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
        SandboxExecutor {
            candidate,
            reference,
            expected,
            unchecked: None,
            answer_is_reference: false,
            counter,
            repeaters: None,
        }
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
            return (repeaters.running[side as usize].run(), None);
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

impl SandboxExecutor {
    /// Checks a run's output; the first output of the reference becomes the answer when there is none.
    fn check(&mut self, side: Side, output: Vec<u8>) -> Result<(), RunFailure> {
        let Some(expected) = self.expected.as_mut() else { return Ok(()) };
        if expected.answer.is_none() {
            if side == Side::Candidate {
                self.unchecked = Some(output);
                return Ok(());
            }
            expected.answer = Some(output);
            self.answer_is_reference = true;
            return match self.unchecked.take() {
                Some(waiting) => self.check(Side::Candidate, waiting),
                None => Ok(()),
            };
        }
        let answer = expected.answer.as_deref().unwrap_or_default();
        let judgement = compare(expected.compare, &expected.options, answer, &output);
        if judgement.accepted {
            return Ok(());
        }
        let why = judgement.first_difference.unwrap_or_else(|| "differs".into());
        let what = if self.answer_is_reference { "another answer than the reference's" } else { "a wrong answer" };
        Err(RunFailure { side, reason: format!("printed {what} on the workload: {why}") })
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
        self.check(side, outcome.stdout)?;
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
        let expected = ExpectedOutput {
            answer: Some(b"hello\n".to_vec()),
            compare: Compare::Exact,
            options: CompareOptions::default(),
        };
        let mut executor = SandboxExecutor::new(plan("echo", &["bye"]), plan("echo", &["hello"]), Some(expected), None);
        executor.run(Side::Reference).unwrap();
        let failure = executor.run(Side::Candidate).unwrap_err();
        assert!(failure.reason.starts_with("printed a wrong answer on the workload"), "{failure}");
    }

    #[test]
    fn without_an_answer_the_candidate_must_print_what_the_reference_printed_every_time() {
        let expected = ExpectedOutput { answer: None, compare: Compare::Exact, options: CompareOptions::default() };
        let mut executor =
            SandboxExecutor::new(plan("echo", &["bye"]), plan("echo", &["hello"]), Some(expected.clone()), None);
        // The candidate runs first: its output waits for the reference's, which then fails it.
        executor.run(Side::Candidate).unwrap();
        let failure = executor.run(Side::Reference).unwrap_err();
        assert_eq!(failure.side, Side::Candidate);
        assert!(failure.reason.starts_with("printed another answer than the reference's"), "{failure}");

        let mut same = SandboxExecutor::new(plan("echo", &["hi"]), plan("echo", &["hi"]), Some(expected), None);
        for side in [Side::Candidate, Side::Reference, Side::Reference, Side::Candidate] {
            same.run(side).unwrap();
        }
    }
}
