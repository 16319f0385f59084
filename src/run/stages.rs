//! Protocol challenges, stage by stage (Codecrafters style): each `[[stage]]` is one harness run of the
//! candidate's nodes under its load, network and faults, judged by the workload's checker and the
//! stage's expected figures. Stages run in order and the first that goes wrong stops the run (one that
//! only missed a figure does not); the later ones are reported as skipped, naming the stage that failed.
//! Each stage keeps its history, network trace, node logs and HTML report in a folder of its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::report::{CaseResult, Feedback, GroupResult, LimitHit, Mode, Verdict};
use crate::run::batch;
use crate::run::protocol::harness::{self, HarnessConfig, HarnessError, Load, Nemesis, RunError, RunResult};
use crate::run::protocol::nemesis::{self, PartitionShape, ScheduledFault};
use crate::run::protocol::network::{Latency, NetworkConfig};
use crate::run::protocol::node::NodeCommand;
use crate::run::protocol::workloads::{self, Problem};
use crate::sandbox::{Confinement, RunLimits};
use crate::spec::protocol::{Bound, Sweep, round};
use crate::spec::{Aggregation, LatencyDistribution, LoadedChallenge, Partition, Protocol, Seconds, Stage, Visibility};
use crate::submission::Built;

/// How stages run.
#[derive(Debug, Clone)]
pub struct StageOptions {
    pub mode: Mode,
    /// The run's seed: every stage's network, faults and requests come from it, so `--seed` replays them.
    pub seed: u64,
    /// Where each stage's files go (a folder per stage is made inside).
    pub artifacts: PathBuf,
}

/// Runs the stages the mode includes (hidden ones only when grading) and returns one group per stage.
/// The first wrong stage skips the stages after it (one that only missed a figure does not), except in
/// `bench`, where each benchmark stands alone.
#[must_use]
pub fn run_stages(
    challenge: &LoadedChallenge,
    built: &Built,
    options: &StageOptions,
    on_stage: &dyn Fn(&Stage),
) -> Vec<GroupResult> {
    let spec = &challenge.spec;
    let mut failed: Option<String> = None;
    let mut groups = Vec::new();
    let mut reference = Reference { challenge, built: None };
    for stage in included(challenge, options.mode) {
        let case = match failed.as_ref().filter(|_| options.mode != Mode::Bench) {
            Some(name) => stage_case(stage, Verdict::Skipped, format!("stage `{name}` failed")),
            None => {
                on_stage(stage);
                // Benchmark stages have the machine to themselves (other submissions may be graded meanwhile).
                let _machine = crate::batch::machine::for_work(is_benchmark(stage));
                let case = run_stage(challenge, spec.protocol.as_ref(), stage, built, &mut reference, options);
                // A stage that was right but missed a figure does not stop the run: the next may still pass.
                if case.verdict != Verdict::Accepted && !missed_only_figures(&case) {
                    failed = Some(stage.name.clone());
                }
                case
            }
        };
        groups.push(stage_group(stage, case));
    }
    groups
}

/// The challenge's first reference solution, built when a stage first needs it: for figures relative to
/// the reference's (`reference_at_least` ...), it runs each such stage just before the candidate.
struct Reference<'a> {
    challenge: &'a LoadedChallenge,
    built: Option<Result<Built, String>>,
}

impl Reference<'_> {
    fn get(&mut self) -> Result<&Built, String> {
        let challenge = self.challenge;
        let built = self.built.get_or_insert_with(|| match challenge.spec.validate.references.first() {
            None => Err("the stage's figures are relative to the reference solution, and [validate] names none".into()),
            Some(dir) => crate::bench::build_reference(&challenge.path(dir), &challenge.spec.build),
        });
        built.as_ref().map_err(Clone::clone)
    }

    /// The reference's figures on `stage` (same configuration and seed as the candidate's run), or why
    /// there are none.
    fn figures(
        &mut self,
        protocol: &Protocol,
        stage: &Stage,
        config: &HarnessConfig,
        data: &Path,
    ) -> Result<BTreeMap<String, f64>, String> {
        let challenge = self.challenge;
        let built = self.get()?;
        let failed = |why: String| {
            format!("the reference solution failed this stage, so figures relative to it cannot be judged: {why}")
        };
        let (outcome, _) = run_once(challenge, built, protocol, stage, config, &data.join("reference"))?;
        let run = outcome.map_err(|error| failed(error.error.to_string()))?;
        if !run.validity.valid {
            return Err(failed(run.validity.summary.clone()));
        }
        Ok(run.metrics())
    }
}

/// One harness run of the stage: fresh nodes of `built` on a fresh data folder, a fresh workload; its
/// outcome and how long it took, or why it could not start.
fn run_once(
    challenge: &LoadedChallenge,
    built: &Built,
    protocol: &Protocol,
    stage: &Stage,
    config: &HarnessConfig,
    data: &Path,
) -> Result<(Result<RunResult, RunError>, Duration), String> {
    let mut workload = workloads::for_stage(&protocol.workload, stage.topology.as_deref(), &stage.options)?;
    std::fs::create_dir_all(data).map_err(|error| format!("could not make the nodes' data folder: {error}"))?;
    let started = Instant::now();
    let outcome = harness::run(&node_command(challenge, built, data), config, workload.as_mut());
    Ok((outcome, started.elapsed()))
}

/// The stages a mode runs, in order: the public ones in `test`, the benchmarks in `bench`, all otherwise.
pub fn included(challenge: &LoadedChallenge, mode: Mode) -> impl Iterator<Item = &Stage> {
    challenge.spec.stages.iter().filter(move |stage| match mode {
        Mode::Test => stage.visibility == Visibility::Public,
        Mode::Bench => is_benchmark(stage),
        Mode::Grade | Mode::Validate => true,
    })
}

/// Whether a stage measures speed against something: a rate sweep, or a figure relative to the reference.
#[must_use]
pub fn is_benchmark(stage: &Stage) -> bool {
    stage.sweep.is_some() || stage.expect.values().any(Bound::is_relative)
}

/// The group a stage is reported as (one case, named after the stage).
#[must_use]
pub fn stage_group(stage: &Stage, case: CaseResult) -> GroupResult {
    let passed = case.verdict == Verdict::Accepted;
    let skipped_because = (case.verdict == Verdict::Skipped).then(|| case.reason.clone());
    GroupResult {
        name: stage.name.clone(),
        about: stage.about.clone(),
        visibility: stage.visibility,
        aggregation: Aggregation::All,
        points: if passed { stage.points } else { 0.0 },
        max_points: stage.points,
        skipped_because,
        cases: vec![case],
    }
}

/// A stage's result with nothing measured yet.
#[must_use]
pub fn stage_case(stage: &Stage, verdict: Verdict, reason: String) -> CaseResult {
    CaseResult::new(&stage.name, None, stage.visibility == Visibility::Hidden, verdict, reason)
}

fn run_stage(
    challenge: &LoadedChallenge,
    protocol: Option<&Protocol>,
    stage: &Stage,
    built: &Built,
    reference: &mut Reference<'_>,
    options: &StageOptions,
) -> CaseResult {
    let seed = options.seed;
    let mut case = stage_case(stage, Verdict::JudgeError, String::new());
    let Some(protocol) = protocol else {
        case.reason = "the spec has no [protocol] table".into();
        return case;
    };
    let config = harness_config(protocol, stage, seed);
    let data = match crate::scratch::folder("nodes") {
        Ok(data) => data,
        Err(error) => {
            case.reason = format!("could not make the nodes' data folder: {error}");
            return case;
        }
    };
    let expect = if stage.expect.values().any(Bound::is_relative) {
        match reference.figures(protocol, stage, &config, data.path()) {
            Ok(figures) => against_reference(&stage.expect, &figures, &mut case),
            Err(reason) => {
                case.reason = reason;
                return case;
            }
        }
    } else {
        stage.expect.clone()
    };
    let started = Instant::now();
    let ran = match &stage.sweep {
        None => run_once(challenge, built, protocol, stage, &config, &data.path().join("candidate")),
        Some(sweep) => {
            let run_at = |rate: f64| {
                let mut config = config.clone();
                config.load.rate = Some(rate);
                config.load.open_loop = true;
                run_once(challenge, built, protocol, stage, &config, &data.path().join(format!("rate-{rate}")))
            };
            run_sweep(sweep, run_at).map(|(outcome, elapsed, steps)| {
                case.metrics.insert(SWEEP_MAX_RATE.into(), steps.max_rate());
                case.notes.push(steps.describe());
                (outcome, elapsed)
            })
        }
    };
    let (outcome, elapsed) = match ran {
        Ok(ran) => ran,
        Err(message) => {
            case.reason = message;
            return case;
        }
    };
    case.wall_time = started.elapsed().as_secs_f64();
    let folder = options.artifacts.join(safe_name(&stage.name));
    if let Some(run) = outcome.as_ref().map_or_else(|error| error.partial.as_deref(), Some) {
        record_node_usage(&mut case, run);
    }
    match outcome {
        Ok(run) => {
            judge_run(&mut case, &expect, &run, elapsed, budget(protocol, stage));
            let writing = Instant::now();
            keep_files(&mut case, &folder, &challenge.spec.id, stage, &run);
            case.metrics.insert("files-seconds".into(), writing.elapsed().as_secs_f64());
        }
        Err(error) => {
            let (verdict, reason) = judge_failure(&error.error);
            case.verdict = verdict;
            case.reason = reason;
            let stderr = match (&error.error, &error.partial) {
                (HarnessError::NodeCrashed { node, stderr_tail, .. }, _) => labelled_stderr(&[(node, stderr_tail)]),
                (_, Some(partial)) => {
                    labelled_stderr(&partial.stderr_tails.iter().map(|(n, t)| (n, t)).collect::<Vec<_>>())
                }
                (_, None) => None,
            };
            let hint = matches!(error.error, HarnessError::InitTimedOut { .. }).then(|| INIT_HINT.to_string());
            case.feedback = Some(Feedback { stderr_tail: stderr, checker_message: hint, ..Feedback::default() });
            if let Some(partial) = &error.partial {
                keep_files(&mut case, &folder, &challenge.spec.id, stage, partial);
            }
        }
    }
    if let Some(stderr) = case.feedback.as_mut().and_then(|feedback| feedback.stderr_tail.as_mut()) {
        *stderr = built.as_submitted(stderr);
    }
    case
}

/// The metric a sweep gives: the highest rate that met its target.
pub const SWEEP_MAX_RATE: &str = "sweep-max-rate";

/// One rate a sweep ran: the target's figures (by metric name; `None` when not measured) and whether
/// the run was valid and met the target.
#[derive(Debug, PartialEq)]
struct SweepStep {
    rate: f64,
    figures: Vec<(String, Option<f64>)>,
    met: bool,
}

/// Each rate a sweep ran, in order.
#[derive(Debug, Default, PartialEq)]
struct SweepSteps(Vec<SweepStep>);

impl SweepSteps {
    fn max_rate(&self) -> f64 {
        self.0.iter().filter(|step| step.met).map(|step| step.rate).fold(0.0, f64::max)
    }

    /// E.g. `sweep: 1000/s latency-p99-ms 2.1 ✓ · 2000/s latency-p99-ms 40.3 ✗ → 1000/s`.
    fn describe(&self) -> String {
        let steps: Vec<String> = self
            .0
            .iter()
            .map(|step| {
                let figures: Vec<String> = step
                    .figures
                    .iter()
                    .map(|(name, value)| format!("{name} {}", value.map_or_else(|| "not measured".into(), round)))
                    .collect();
                format!("{}/s {} {}", step.rate, figures.join(" "), if step.met { "✓" } else { "✗" })
            })
            .collect();
        format!("sweep: {} → {}/s", steps.join(" · "), self.max_rate())
    }
}

/// Runs the load at each rate of the sweep until one misses the target, is invalid or fails; gives the
/// last run's outcome (judged like a single run's) and its time, and every step's figures.
fn run_sweep(
    sweep: &Sweep,
    mut run_at: impl FnMut(f64) -> Result<(Result<RunResult, RunError>, Duration), String>,
) -> Result<(Result<RunResult, RunError>, Duration, SweepSteps), String> {
    let mut steps = SweepSteps::default();
    let mut last = None;
    for &rate in &sweep.rates {
        let (outcome, elapsed) = run_at(rate)?;
        let Ok(run) = &outcome else { return Ok((outcome, elapsed, steps)) };
        let metrics = run.metrics();
        let figures: Vec<(String, Option<f64>)> =
            sweep.target.keys().map(|name| (name.clone(), metrics.get(name).copied())).collect();
        let met = run.validity.valid
            && sweep.target.iter().all(|(name, bound)| metrics.get(name).is_some_and(|value| bound.holds(*value)));
        steps.0.push(SweepStep { rate, figures, met });
        last = Some((outcome, elapsed));
        if !met {
            break;
        }
    }
    let (outcome, elapsed) = last.ok_or("the sweep has no rates")?;
    Ok((outcome, elapsed, steps))
}

/// The verdict and reason of a run that could not complete.
fn judge_failure(error: &HarnessError) -> (Verdict, String) {
    let out_of_memory = match error {
        HarnessError::NodeCrashed { limit_hit, stderr_tail, .. } => {
            *limit_hit == Some(LimitHit::Memory) || batch::ran_out_of_memory(stderr_tail.as_bytes())
        }
        _ => false,
    };
    let verdict = match error {
        HarnessError::NodeCrashed { .. } if out_of_memory => Verdict::MemoryLimit,
        HarnessError::NodeCrashed { limit_hit: Some(LimitHit::CpuTime), .. } => Verdict::TimeLimit,
        HarnessError::Config(_) | HarnessError::Wait(_) => Verdict::JudgeError,
        HarnessError::InitTimedOut { .. } => Verdict::TimeLimit,
        HarnessError::Spawn { .. } | HarnessError::NodeCrashed { .. } => Verdict::RuntimeError,
        HarnessError::InitRefused { .. } | HarnessError::Setup { .. } | HarnessError::Malformed(_) => {
            Verdict::WrongAnswer
        }
    };
    let reason = match error {
        // The stderr tail is shown as feedback, apart from the one-line reason.
        HarnessError::NodeCrashed { node, phase, .. } if out_of_memory => {
            format!("node {node} went over its memory limit {phase} and was stopped")
        }
        HarnessError::NodeCrashed { node, phase, limit_hit: Some(LimitHit::CpuTime), .. } => {
            format!("node {node} used up its CPU time limit {phase} and was stopped")
        }
        HarnessError::NodeCrashed { node, phase, status, .. } => format!(
            "node {node} crashed {phase} ({})",
            status.map_or_else(|| "it closed its stdout but is still running".to_string(), |s| s.to_string())
        ),
        other => other.to_string(),
    };
    (verdict, reason)
}

/// The stage's bounds with those relative to the reference made absolute by its figures, which go into
/// the case's metrics as `reference-<metric>` and its notes.
fn against_reference(
    expect: &BTreeMap<String, Bound>,
    figures: &BTreeMap<String, f64>,
    case: &mut CaseResult,
) -> BTreeMap<String, Bound> {
    let mut shown = Vec::new();
    let resolved = expect
        .iter()
        .map(|(name, bound)| match figures.get(name) {
            Some(value) if bound.is_relative() => {
                case.metrics.insert(format!("reference-{name}"), *value);
                shown.push(format!("{name} {}", round(*value)));
                (name.clone(), bound.against(*value))
            }
            _ => (name.clone(), *bound),
        })
        .collect();
    if !shown.is_empty() {
        case.notes.push(format!("the reference solution on this stage, just before: {}", shown.join(" · ")));
    }
    resolved
}

fn judge_run(
    case: &mut CaseResult,
    expect: &BTreeMap<String, Bound>,
    run: &RunResult,
    elapsed: Duration,
    budget: Duration,
) {
    case.metrics.extend(run.metrics());
    // The report's header already gives the seed to replay with.
    let run_notes: Vec<String> = run
        .summary()
        .lines()
        // The verdict and the problems (which may span lines) are reported apart.
        .take_while(|line| !(line.starts_with("valid") || line.starts_with("INVALID")))
        .map(|line| match line.strip_prefix("seed ").and_then(|rest| rest.split_once(" · ")) {
            Some((_, figures)) => figures.to_owned(),
            None => line.to_owned(),
        })
        .collect();
    case.notes.extend(run_notes);
    let missed: Vec<String> = expect
        .iter()
        .filter_map(|(name, bound)| match case.metrics.get(name) {
            _ if bound.is_relative() && bound.reference.is_none() => {
                Some(format!("{name} cannot be compared: the reference's run did not measure it"))
            }
            Some(value) if bound.holds(*value) => None,
            Some(value) => Some(format!("{name} was {}, must be {}", round(*value), bound.describe())),
            None => Some(format!("{name} was not measured in this run")),
        })
        .collect();
    let (verdict, reason) = if run.validity.stalled {
        (Verdict::TimeLimit, run.validity.summary.clone())
    } else if !run.validity.valid {
        (Verdict::WrongAnswer, run.validity.summary.clone())
    } else if !missed.is_empty() {
        (Verdict::WrongAnswer, format!("{MISSED_FIGURES}{}", missed.join("; ")))
    } else if elapsed > budget {
        (
            Verdict::TimeLimit,
            format!("the stage took {:.1} s, its budget is {:.1} s", elapsed.as_secs_f64(), budget.as_secs_f64()),
        )
    } else {
        (Verdict::Accepted, run.validity.summary.clone())
    };
    case.verdict = verdict;
    case.reason = reason;
    case.fraction = if verdict == Verdict::Accepted { 1.0 } else { 0.0 };
    if verdict != Verdict::Accepted {
        let mut shown: Vec<String> = run.faults(FAULTS_SHOWN).map(|f| format!("faults: {f}")).into_iter().collect();
        shown.extend(run.validity.problems.iter().map(|p| problem_with_ops(p, run)));
        if run.validity.problems.len() >= workloads::PROBLEMS_SHOWN {
            shown.push(format!(
                "(the first {} problems; the line above counts them all, and history.jsonl has every operation)",
                workloads::PROBLEMS_SHOWN
            ));
        }
        shown.extend(run.diagnostics.iter().map(|d| format!("protocol: {d}")));
        if run.diagnostics_dropped > 0 {
            shown.push(format!("... and {} more protocol diagnostics", run.diagnostics_dropped));
        }
        let tails: Vec<(&String, &String)> = run.stderr_tails.iter().map(|(n, t)| (n, t)).collect();
        case.feedback = Some(Feedback {
            checker_message: (!shown.is_empty()).then(|| shown.join("\n")),
            stderr_tail: labelled_stderr(&tails),
            ..Feedback::default()
        });
    }
}

/// The nodes' CPU time (all of them) and peak memory (the largest), as a batch case's are shown.
fn record_node_usage(case: &mut CaseResult, run: &RunResult) {
    let cpu: Vec<Duration> = run.node_usage.iter().filter_map(|(_, usage)| usage.cpu_time).collect();
    if !cpu.is_empty() {
        case.cpu_time = cpu.iter().sum::<Duration>().as_secs_f64();
    }
    case.memory = run.node_usage.iter().filter_map(|(_, usage)| usage.peak_memory).max();
    for (node, usage) in &run.node_usage {
        if let Some(cpu) = usage.cpu_time {
            case.metrics.insert(format!("cpu-seconds-{node}"), cpu.as_secs_f64());
        }
        if let Some(peak) = usage.peak_memory {
            case.metrics.insert(format!("peak-memory-mib-{node}"), peak as f64 / f64::from(1 << 20));
        }
    }
}

/// How many of the nemesis's faults a failed stage lists (times help read the problems that follow).
const FAULTS_SHOWN: usize = 12;

/// What a node that never answers init most often forgot.
const INIT_HINT: &str = "A node that never seems to answer init has often written its reply without flushing \
stdout (Python: print(..., flush=True) or sys.stdout.flush()), or written it without a newline.";

/// Each node's stderr tail under its name; `None` when none wrote anything.
fn labelled_stderr(tails: &[(&String, &String)]) -> Option<String> {
    let shown: Vec<String> = tails
        .iter()
        .filter(|(_, tail)| !tail.trim().is_empty())
        .map(|(node, tail)| if tails.len() == 1 { (*tail).clone() } else { format!("{node}:\n{tail}") })
        .collect();
    (!shown.is_empty()).then(|| shown.join("\n"))
}

/// A checker's problem and the history entries that show it, one JSON line each.
fn problem_with_ops(problem: &Problem, run: &RunResult) -> String {
    let ops = run.history.ops();
    let mut text = problem.text.clone();
    for op in problem.ops.iter().filter_map(|&index| ops.get(index)).take(OPS_SHOWN) {
        text.push_str("\n    ");
        text.push_str(&serde_json::to_string(op).unwrap_or_default());
    }
    if problem.ops.len() > OPS_SHOWN {
        text.push_str(&format!("\n    ... {} more entries in history.jsonl", problem.ops.len() - OPS_SHOWN));
    }
    text
}

/// History entries shown per problem.
const OPS_SHOWN: usize = 6;

/// Writes history, trace and node logs into `folder` and records where; a failure to write is a note.
fn keep_files(case: &mut CaseResult, folder: &Path, challenge: &str, stage: &Stage, run: &RunResult) {
    let written = std::fs::create_dir_all(folder).and_then(|()| {
        run.write_files(folder)?;
        for (node, tail) in &run.stderr_tails {
            std::fs::write(folder.join(format!("{}.stderr.txt", safe_name(node))), tail)?;
        }
        let title = format!("{challenge} · stage {}", stage.name);
        crate::report::protocol_html::write(&folder.join("report.html"), &title, run)
    });
    match written {
        Ok(()) => case.artifacts = Some(folder.display().to_string()),
        Err(error) => case.notes.push(format!("could not keep the run's files in {}: {error}", folder.display())),
    }
}

/// A file name from a stage or node name.
fn safe_name(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if cleaned.is_empty() { "_".to_string() } else { cleaned }
}

/// How the built submission is started as a node: confined like a batch run, each node with the
/// spec's memory limit (and CPU time limit over the stage, when the spec sets one), a data folder of
/// its own under `data`.
fn node_command(challenge: &LoadedChallenge, built: &Built, data: &Path) -> NodeCommand {
    let limits = challenge.spec.limits;
    let mut command = NodeCommand::new(built.run[0].clone(), built.run[1..].iter().cloned());
    command.env = batch::run_env(challenge, data);
    command.data = Some(data.to_path_buf());
    command.limits = RunLimits {
        cpu_time: limits.cpu_time.map(Seconds::duration),
        memory: Some(limits.resolve().memory.0),
        ..RunLimits::default()
    };
    command.confine = Some(Confinement::run(built.dir.clone()));
    command.drop_privileges = true;
    command
}

fn init_timeout(protocol: &Protocol) -> Duration {
    protocol.init_timeout.map_or(Duration::from_secs(10), |s| s.duration())
}

fn request_timeout(protocol: &Protocol) -> Duration {
    protocol.request_timeout.map_or(Duration::from_secs(5), |s| s.duration())
}

/// The stage's own budget, or: init, load, the last requests' timeout, settling, and a minute to spare.
fn budget(protocol: &Protocol, stage: &Stage) -> Duration {
    stage.budget.map(|b| b.duration()).unwrap_or_else(|| {
        init_timeout(protocol)
            + stage.duration.duration()
            + request_timeout(protocol)
            + stage.settle.map_or(Duration::ZERO, |s| s.duration())
            + Duration::from_secs(60)
    })
}

/// How the reason of a stage starts when the replies were right but a figure of `[stage.expect]` was
/// missed.
const MISSED_FIGURES: &str = "correct, but ";

/// Whether a stage's only fault was missing a figure: its replies were right. Such a stage does not skip
/// the next, and `validate` lets a correctness-only reference have it.
#[must_use]
pub fn missed_only_figures(case: &CaseResult) -> bool {
    case.verdict == Verdict::WrongAnswer && case.reason.starts_with(MISSED_FIGURES)
}

/// How long the healed network settles before final reads, unless the stage says.
const DEFAULT_SETTLE: Duration = Duration::from_secs(5);
/// How long a crashed node stays down, or a paused one stopped, unless the fault says.
const DEFAULT_DOWN_TIME: Duration = Duration::from_secs(1);

/// A stage's faults as the harness's schedule: each fault, and the heal that ends a partition.
fn schedule(stage: &Stage) -> Vec<ScheduledFault> {
    let mut schedule = Vec::new();
    for fault in &stage.faults {
        let at = fault.at.duration();
        let down = |after: Option<Seconds>| after.map_or(DEFAULT_DOWN_TIME, Seconds::duration);
        if let Some(partition) = &fault.partition {
            let shape = match partition {
                Partition::Groups(groups) => PartitionShape::Groups(groups.clone()),
                Partition::Named(name) => match name.split_whitespace().collect::<Vec<_>>().as_slice() {
                    ["isolate"] => PartitionShape::Isolate(None),
                    ["isolate", node] => PartitionShape::Isolate(Some((*node).to_string())),
                    _ => PartitionShape::Halves,
                },
            };
            schedule.push(ScheduledFault { at, fault: nemesis::Fault::Partition(shape) });
            if let Some(after) = fault.heal_after {
                schedule.push(ScheduledFault { at: at + after.duration(), fault: nemesis::Fault::Heal });
            }
        }
        if let Some(node) = &fault.crash {
            let crash = nemesis::Fault::Crash { node: Some(node.clone()), restart_after: down(fault.restart_after) };
            schedule.push(ScheduledFault { at, fault: crash });
        }
        if let Some(node) = &fault.pause {
            let pause = nemesis::Fault::Pause { node: Some(node.clone()), resume_after: down(fault.resume_after) };
            schedule.push(ScheduledFault { at, fault: pause });
        }
    }
    schedule.sort_by_key(|scheduled| scheduled.at);
    schedule
}

/// The harness configuration a stage describes.
fn harness_config(protocol: &Protocol, stage: &Stage, seed: u64) -> HarnessConfig {
    let mut config = HarnessConfig::new(stage.nodes as usize, seed);
    config.init_timeout = init_timeout(protocol);
    config.request_timeout = request_timeout(protocol);
    let latency = stage.latency.map(|l| l.duration()).filter(|l| !l.is_zero());
    config.network = NetworkConfig {
        latency: match (latency, stage.latency_distribution) {
            (None, _) => Latency::None,
            (Some(mean), LatencyDistribution::Constant) => Latency::Constant(mean),
            (Some(mean), LatencyDistribution::Uniform) => Latency::Uniform { mean },
            (Some(mean), LatencyDistribution::Exponential) => Latency::Exponential { mean },
        },
        loss: stage.loss,
        duplicate: stage.duplicate,
        reorder: stage.reorder,
        reorder_delay: latency.unwrap_or(Duration::from_millis(5)) * 2,
    };
    config.schedule = schedule(stage);
    config.settle = stage.settle.map_or(DEFAULT_SETTLE, |s| s.duration());
    config.nemesis = match stage.partition_every {
        Some(every) => Nemesis::Partitions { every: every.duration() },
        None => Nemesis::None,
    };
    config.load = Load {
        concurrency: stage.concurrency.unwrap_or(stage.nodes) as usize,
        rate: stage.rate,
        duration: stage.duration.duration(),
        max_ops: None,
        ops_per_client: None,
        open_loop: stage.open_loop,
    };
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(text: &str) -> Stage {
        toml::from_str(&format!("name = \"s\"\n{text}")).expect("stage")
    }

    fn protocol() -> Protocol {
        toml::from_str("workload = \"echo\"").expect("protocol")
    }

    #[test]
    fn a_stage_becomes_a_harness_configuration() {
        let stage = stage(
            "nodes = 3\nduration = \"2s\"\nrate = 50\nlatency = \"100ms\"\nlatency_distribution = \"exponential\"\n\
             loss = 0.1\npartition_every = \"1s\"\n",
        );
        let config = harness_config(&protocol(), &stage, 7);
        assert_eq!((config.node_count, config.seed, config.load.concurrency), (3, 7, 3));
        assert_eq!(config.load.rate, Some(50.0));
        assert_eq!(config.load.duration, Duration::from_secs(2));
        assert_eq!(config.network.latency, Latency::Exponential { mean: Duration::from_millis(100) });
        assert!((config.network.loss - 0.1).abs() < 1e-12);
        assert_eq!(config.nemesis, Nemesis::Partitions { every: Duration::from_secs(1) });
        assert_eq!((config.init_timeout, config.request_timeout), (Duration::from_secs(10), Duration::from_secs(5)));
    }

    #[test]
    fn faults_become_a_schedule_in_time_order_with_their_heals() {
        let stage = stage(
            "nodes = 3\nduration = \"10s\"\n\
             [[fault]]\nat = \"4s\"\ncrash = \"n2\"\n\
             [[fault]]\nat = \"1s\"\npartition = \"isolate n1\"\nheal_after = \"2s\"\n\
             [[fault]]\nat = \"2s\"\npause = \"n0\"\nresume_after = \"500ms\"\n",
        );
        let secs = Duration::from_secs;
        let expected = vec![
            ScheduledFault {
                at: secs(1),
                fault: nemesis::Fault::Partition(PartitionShape::Isolate(Some("n1".into()))),
            },
            ScheduledFault {
                at: secs(2),
                fault: nemesis::Fault::Pause { node: Some("n0".into()), resume_after: Duration::from_millis(500) },
            },
            ScheduledFault { at: secs(3), fault: nemesis::Fault::Heal },
            ScheduledFault {
                at: secs(4),
                fault: nemesis::Fault::Crash { node: Some("n2".into()), restart_after: secs(1) },
            },
        ];
        assert_eq!(schedule(&stage), expected);
    }

    #[test]
    fn the_default_budget_covers_init_load_timeouts_and_settling() {
        let stage = stage("duration = \"20s\"\nsettle = \"5s\"\n");
        assert_eq!(budget(&protocol(), &stage), Duration::from_secs(10 + 20 + 5 + 5 + 60));
        assert_eq!(budget(&protocol(), &self::stage("budget = \"3s\"")), Duration::from_secs(3));
    }

    #[test]
    fn failures_get_the_verdict_a_candidate_expects() {
        let timed_out = HarnessError::InitTimedOut { nodes: vec!["n1".into()], after: Duration::from_secs(10) };
        assert_eq!(judge_failure(&timed_out).0, Verdict::TimeLimit);
        let crashed = HarnessError::NodeCrashed {
            node: "n0".into(),
            phase: harness::Phase::Init,
            status: Some(crate::sandbox::Status::Exited(1)),
            stderr_tail: "Traceback".into(),
            limit_hit: None,
        };
        assert_eq!(
            judge_failure(&crashed),
            (Verdict::RuntimeError, "node n0 crashed during init (exit code 1)".into())
        );
    }

    #[test]
    fn a_sweep_reads_as_its_steps_and_its_highest_rate_met() {
        let step = |rate: f64, p99: Option<f64>, met| SweepStep {
            rate,
            figures: vec![("latency-p99-ms".to_owned(), p99)],
            met,
        };
        let steps =
            SweepSteps(vec![step(100.0, Some(2.0), true), step(200.0, Some(3.5), true), step(400.0, None, false)]);
        assert_eq!(steps.max_rate(), 200.0);
        assert_eq!(
            steps.describe(),
            "sweep: 100/s latency-p99-ms 2 ✓ · 200/s latency-p99-ms 3.5 ✓ · 400/s latency-p99-ms not measured ✗ → 200/s"
        );
        assert_eq!(SweepSteps(vec![step(100.0, Some(90.0), false)]).max_rate(), 0.0);
    }

    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(safe_name("multi node/partitions"), "multi_node_partitions");
        assert_eq!(safe_name("../x"), "___x");
        assert_eq!(safe_name(""), "_");
    }

    #[test]
    fn a_skipped_stage_is_a_skipped_group_with_no_points() {
        let stage = stage("points = 10");
        let group = stage_group(&stage, stage_case(&stage, Verdict::Skipped, "stage `a` failed".into()));
        assert_eq!(group.skipped_because.as_deref(), Some("stage `a` failed"));
        assert_eq!((group.points, group.max_points), (0.0, 10.0));
        let passed = stage_group(&stage, stage_case(&stage, Verdict::Accepted, String::new()));
        assert_eq!(passed.points, 10.0);
    }
}
