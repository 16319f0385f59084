//! Batch cases: decide which cases a run has (plan), then run each one in a fresh working folder
//! through the sandbox and judge what it printed, wrote and returned.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::check::kattis::CheckerDecision;
use crate::check::{CompareOptions, compare};
use crate::report::{CaseResult, Feedback, LimitHit, Mode, Verdict};
use crate::run::generate;
use crate::sandbox::{self, Input, Outcome, RunLimits, RunPlan, Status};
use crate::spec::{Check, Compare, Group, LoadedChallenge, ResolvedLimits, Visibility};
use crate::submission::Built;

/// One case, decided but not yet run.
#[derive(Debug, Clone)]
pub struct CasePlan {
    pub name: String,
    pub about: Option<String>,
    pub hidden: bool,
    pub source: Source,
    pub args: Vec<String>,
    pub limits: ResolvedLimits,
    pub check: Check,
    pub expected_exit: i32,
    pub weight: f64,
}

#[derive(Debug, Clone)]
pub enum Source {
    /// Written out in the spec: `(group index, case index)`.
    Written { group: usize, case: usize },
    /// Made by a generator: `(group index, generate index)` and the case's own seed.
    Generated { group: usize, generate: usize, seed: u64 },
}

impl CasePlan {
    /// A result for this case with nothing measured yet.
    #[must_use]
    pub fn result(&self, verdict: Verdict, reason: String) -> CaseResult {
        let mut result = CaseResult::new(&self.name, self.about.as_deref(), self.hidden, verdict, reason);
        result.weight = self.weight;
        result.seed = match self.source {
            Source::Generated { seed, .. } => Some(seed),
            Source::Written { .. } => None,
        };
        result
    }
}

/// The cases of one group, in spec order.
pub fn plan_group(challenge: &LoadedChallenge, group_index: usize, run_seed: u64) -> Vec<CasePlan> {
    let spec = &challenge.spec;
    let group: &Group = &spec.groups[group_index];
    let hidden = group.visibility == Visibility::Hidden;
    let base_limits = group.limits.over(spec.limits);
    let base_check = group.check.over(&spec.check);
    let mut plans = Vec::new();
    for (index, case) in group.cases.iter().enumerate() {
        plans.push(CasePlan {
            name: case.name.clone(),
            about: case.about.clone(),
            hidden,
            source: Source::Written { group: group_index, case: index },
            args: case.args.clone(),
            limits: case.limits.over(base_limits).resolve(),
            check: case.check.over(&base_check),
            expected_exit: case.exit_code.unwrap_or(0),
            weight: case.weight.unwrap_or(1.0),
        });
    }
    for (index, generate) in group.generated.iter().enumerate() {
        for n in 1..=generate.count {
            let name = if generate.count == 1 { generate.name.clone() } else { format!("{}-{n}", generate.name) };
            let seed = match generate.seed {
                Some(fixed) if generate.count == 1 => fixed,
                Some(fixed) => mix(fixed, &name),
                None => mix(run_seed, &format!("{}/{name}", group.name)),
            };
            plans.push(CasePlan {
                name,
                about: generate.about.clone(),
                hidden,
                source: Source::Generated { group: group_index, generate: index, seed },
                args: generate.args.clone(),
                limits: generate.limits.over(base_limits).resolve(),
                check: generate.check.over(&base_check),
                expected_exit: generate.exit_code.unwrap_or(0),
                weight: generate.weight.unwrap_or(1.0),
            });
        }
    }
    plans
}

/// A case's seed from the run's seed and the case's name (FNV-1a then splitmix64's finaliser).
pub(crate) fn mix(seed: u64, name: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for byte in name.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// A case's input, made ready in a working folder, and its expected answer.
struct Prepared {
    workdir: tempfile::TempDir,
    /// Holds generator output (stdin, answer) outside the working folder.
    _scratch: Option<tempfile::TempDir>,
    stdin: Input,
    /// A file the checker can read as the input (the stdin file, or empty).
    input_file: Option<PathBuf>,
    expected_stdout: Option<Vec<u8>>,
    /// The answer as a file, for checkers.
    answer_file: Option<PathBuf>,
    expected_files: Vec<(String, PathBuf)>,
}

impl Drop for Prepared {
    /// Inputs may hold folders nobody may enter (the unreadable-folder cases); open them up so the
    /// working folder can be removed when the grader is not root.
    fn drop(&mut self) {
        if !sandbox::is_root() {
            open_up(self.workdir.path());
        }
    }
}

fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700));
            open_up(&path);
        }
    }
}

/// Something went wrong on the grader's side while preparing or judging (JE).
struct JudgeFault(String);

impl<E: std::fmt::Display> From<E> for JudgeFault {
    fn from(error: E) -> Self {
        JudgeFault(error.to_string())
    }
}

/// Runs one case of `built` and judges it.
#[must_use]
pub fn run_case(challenge: &LoadedChallenge, built: &Built, plan: &CasePlan, mode: Mode) -> CaseResult {
    let mut result = plan.result(Verdict::JudgeError, String::new());
    let prepared = match prepare(challenge, plan) {
        Ok(prepared) => prepared,
        Err(JudgeFault(reason)) => {
            result.reason = format!("could not prepare the case: {reason}");
            return result;
        }
    };
    let run_plan = RunPlan {
        program: built.run[0].clone(),
        args: built.run[1..].iter().cloned().chain(plan.args.iter().map(OsString::from)).collect(),
        cwd: prepared.workdir.path().to_path_buf(),
        env: run_env(challenge, prepared.workdir.path()),
        stdin: prepared.stdin.clone(),
        limits: RunLimits {
            cpu_time: Some(plan.limits.cpu_time.duration()),
            wall_time: plan.limits.wall_time.duration(),
            memory: Some(plan.limits.memory.0),
            output: plan.limits.output.0,
            file_size: Some(plan.limits.output.0.max(1 << 30)),
            open_files: Some(1024),
            stderr_kept: 16 << 10,
        },
        drop_privileges: true,
        confine: Some(sandbox::Confinement {
            // Files there are memory: at most the memory limit (which a memory cgroup also charges them
            // to, and nothing else counts where there is none); else beyond the file size limit, so that
            // one growing file ends by that limit (OLE).
            scratch: Some(sandbox::Scratch {
                bytes: (plan.limits.output.0.max(1 << 30) + (64 << 20)).min(plan.limits.memory.0),
                inodes: SCRATCH_FILES,
            }),
            ..sandbox::Confinement::run(built.dir.clone())
        }),
    };
    let outcome = match sandbox::run(&run_plan) {
        Ok(outcome) => outcome,
        Err(error) => {
            result.reason = format!("could not start `{}`: {error}", Path::new(&run_plan.program).display());
            return result;
        }
    };
    result.cpu_time = outcome.cpu_time.as_secs_f64();
    result.wall_time = outcome.wall_time.as_secs_f64();
    result.memory = Some(outcome.peak_memory);
    result.limit_hit = outcome.limit_hit;
    let show_details = !(plan.hidden && mode == Mode::Test);
    let stderr_tail = built.as_submitted(&tail(&outcome.stderr, 2000));

    let judged = match judge_run(plan, &outcome) {
        Some((verdict, reason)) => Judged::new(verdict, reason),
        None => judge_output(challenge, plan, &prepared, &outcome)
            .unwrap_or_else(|JudgeFault(reason)| Judged::new(Verdict::JudgeError, reason)),
    };
    let Judged { verdict, reason, fraction, mut feedback } = judged;
    result.verdict = verdict;
    result.reason = reason;
    result.fraction = if verdict == Verdict::Accepted { fraction } else { 0.0 };
    if verdict != Verdict::Accepted && show_details {
        if !stderr_tail.is_empty() {
            feedback.stderr_tail = Some(stderr_tail);
        }
        feedback.input_head = Some(input_head(plan, &prepared));
        result.feedback = Some(feedback);
    }
    result
}

/// A verdict with its one-line reason, partial credit and what to show.
struct Judged {
    verdict: Verdict,
    reason: String,
    fraction: f64,
    feedback: Feedback,
}

impl Judged {
    fn new(verdict: Verdict, reason: String) -> Self {
        Judged { verdict, reason, fraction: 1.0, feedback: Feedback::default() }
    }

    fn wrong(reason: String, feedback: Feedback) -> Self {
        Judged { verdict: Verdict::WrongAnswer, reason, fraction: 0.0, feedback }
    }
}

/// The verdict from how the process ended, when that already decides it.
fn judge_run(plan: &CasePlan, outcome: &Outcome) -> Option<(Verdict, String)> {
    let limits = &plan.limits;
    match outcome.limit_hit {
        Some(LimitHit::WallTime) => {
            return Some((
                Verdict::TimeLimit,
                format!(
                    "wall-clock limit {} exceeded (the program did not finish; is it waiting for input?)",
                    limits.wall_time
                ),
            ));
        }
        Some(LimitHit::CpuTime) => {
            return Some((Verdict::TimeLimit, format!("CPU time limit {} exceeded", limits.cpu_time)));
        }
        Some(LimitHit::Memory) => {
            return Some((Verdict::MemoryLimit, format!("memory limit {} exceeded", limits.memory)));
        }
        Some(LimitHit::Output) => {
            return Some((Verdict::OutputLimit, format!("output limit {} exceeded", limits.output)));
        }
        None => {}
    }
    match outcome.status {
        Status::Signaled(signal) if signal == libc::SIGXFSZ => {
            Some((Verdict::OutputLimit, "file size limit exceeded (SIGXFSZ)".into()))
        }
        Status::Signaled(signal) => {
            Some((Verdict::RuntimeError, format!("killed by {}", sandbox::signal_name(signal))))
        }
        Status::Exited(code) if code == plan.expected_exit => None,
        Status::Exited(code) if ran_out_of_memory(&outcome.stderr) => Some((
            Verdict::MemoryLimit,
            format!("ran out of memory under the {} limit (exit code {code})", limits.memory),
        )),
        Status::Exited(code) if plan.expected_exit == 0 => Some((Verdict::RuntimeError, format!("exit code {code}"))),
        Status::Exited(code) => {
            Some((Verdict::WrongAnswer, format!("expected exit code {}, got {code}", plan.expected_exit)))
        }
    }
}

/// Allocation failures as each language's runtime reports them (the memory rlimit makes them fail).
pub(crate) fn ran_out_of_memory(stderr: &[u8]) -> bool {
    const SIGNS: [&str; 6] = [
        "MemoryError",
        "memory allocation of",
        "std::bad_alloc",
        "java.lang.OutOfMemoryError",
        "JavaScript heap out of memory",
        "out of memory",
    ];
    let text = String::from_utf8_lossy(stderr);
    SIGNS.iter().any(|sign| text.contains(sign))
}

fn judge_output(
    challenge: &LoadedChallenge,
    plan: &CasePlan,
    prepared: &Prepared,
    outcome: &Outcome,
) -> Result<Judged, JudgeFault> {
    let defaults = CompareOptions::default();
    let options = CompareOptions {
        float_abs: plan.check.float_abs.unwrap_or(defaults.float_abs),
        float_rel: plan.check.float_rel.unwrap_or(defaults.float_rel),
        case_sensitive: plan.check.case_sensitive.unwrap_or(true),
    };
    let mode = plan.check.compare.unwrap_or(Compare::Tokens);

    if let Some(checker) = &plan.check.checker {
        let (Some(input), Some(answer)) = (&prepared.input_file, &prepared.answer_file) else {
            return Err(JudgeFault("the case has no expected answer for the checker".into()));
        };
        let decision = crate::run::checker::run_checker(
            &challenge.path(checker),
            plan.check.checker_args.as_deref().unwrap_or(&[]),
            input,
            answer,
            &outcome.stdout,
            RunLimits { wall_time: Duration::from_secs(60), ..RunLimits::default() },
        );
        let mut feedback = Feedback::default();
        return Ok(match decision {
            CheckerDecision::Accept { fraction, message } => {
                feedback.checker_message = message;
                let reason = if fraction < 1.0 { format!("partial credit: {fraction}") } else { "accepted".into() };
                Judged { verdict: Verdict::Accepted, reason, fraction, feedback }
            }
            CheckerDecision::Reject { message } => {
                let reason = message.as_deref().map_or_else(|| "the checker rejected the output".into(), first_line);
                feedback.checker_message = message;
                Judged::wrong(reason, feedback)
            }
            CheckerDecision::JudgeError { reason } => Judged::new(Verdict::JudgeError, reason),
        });
    }

    let mut compared: Vec<(String, Vec<u8>, std::borrow::Cow<'_, [u8]>)> = Vec::new();
    if let Some(expected) = &prepared.expected_stdout {
        compared.push(("stdout".into(), expected.clone(), std::borrow::Cow::Borrowed(&outcome.stdout)));
    }
    for (name, expected_path) in &prepared.expected_files {
        let expected = std::fs::read(expected_path)?;
        let limit = plan.limits.output.0;
        let problem = match read_output(prepared.workdir.path(), outcome, name, limit) {
            Ok(actual) => {
                compared.push((format!("output file `{name}`"), expected, std::borrow::Cow::Owned(actual)));
                continue;
            }
            Err(Unreadable::TooLarge(size)) => {
                let reason = format!("output file `{name}` holds {size} bytes, over the output limit of {limit}");
                return Ok(Judged::new(Verdict::OutputLimit, reason));
            }
            Err(Unreadable::Missing) => "was not written".to_string(),
            Err(Unreadable::Refused(problem)) => problem,
        };
        return Ok(Judged::wrong(format!("output file `{name}` {problem}"), Feedback::default()));
    }
    for (what, expected, actual) in compared {
        let judgement = compare(mode, &options, &expected, &actual);
        if judgement.judge_error {
            let reason = judgement.first_difference.unwrap_or_else(|| "the expected answer is unusable".into());
            return Err(JudgeFault(format!("{what}: {reason}")));
        }
        if !judgement.accepted {
            let reason = judgement.first_difference.unwrap_or_else(|| "differs from the expected answer".into());
            // The reason already says where the output first differs; the feedback carries the diff.
            let feedback = Feedback { diff: judgement.diff, ..Feedback::default() };
            return Ok(Judged::wrong(format!("{what}: {reason}"), feedback));
        }
    }
    Ok(Judged::new(Verdict::Accepted, "accepted".into()))
}

/// Files a run may create in its working folder (the tmpfs's inodes).
const SCRATCH_FILES: u64 = 65_536;

/// Why an output file cannot be judged.
#[derive(Debug, PartialEq, Eq)]
enum Unreadable {
    /// Not in the folder looked in.
    Missing,
    /// Larger than the output limit: its size.
    TooLarge(u64),
    /// Anything else, said as the end of "output file `name` ...".
    Refused(String),
}

/// Reads the file `name` the program wrote: from what it wrote (its working folder was layered over a
/// tmpfs), or else from the folder itself. Refuses links (at any step of the name), anything but a
/// regular file (a planted link could otherwise make the grader read a hidden answer) and a file larger
/// than `limit` (a sparse file costs the program nothing and the grader its size in memory).
fn read_output(workdir: &Path, outcome: &sandbox::Outcome, name: &str, limit: u64) -> Result<Vec<u8>, Unreadable> {
    if let Some(written) = &outcome.written {
        match read_output_file(written.as_fd(), name, limit) {
            Err(Unreadable::Missing) => {}
            other => return other,
        }
    }
    let folder =
        std::fs::File::open(workdir).map_err(|error| Unreadable::Refused(format!("cannot be read: {error}")))?;
    read_output_file(folder.as_fd(), name, limit)
}

fn read_output_file(folder: std::os::fd::BorrowedFd<'_>, name: &str, limit: u64) -> Result<Vec<u8>, Unreadable> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let refused = |why: &str| Unreadable::Refused(why.to_string());
    let located = sandbox::open_beneath(folder, Path::new(name)).map_err(|error| match error.raw_os_error() {
        Some(libc::ELOOP) => refused("lies beyond a symbolic link"),
        Some(libc::ENOENT) => Unreadable::Missing,
        Some(libc::EXDEV) => refused("lies outside the working folder"),
        _ => Unreadable::Refused(format!("cannot be read: {error}")),
    })?;
    let cannot = |error: std::io::Error| Unreadable::Refused(format!("cannot be read: {error}"));
    let meta = std::fs::File::from(located.try_clone().map_err(cannot)?).metadata().map_err(cannot)?;
    // How an overlay marks a file that the program deleted.
    if meta.file_type().is_char_device() && meta.rdev() == 0 {
        return Err(Unreadable::Missing);
    }
    if meta.file_type().is_symlink() {
        return Err(refused("is a symbolic link, not a file"));
    }
    if !meta.is_file() {
        return Err(refused("is not a regular file"));
    }
    if meta.len() > limit {
        return Err(Unreadable::TooLarge(meta.len()));
    }
    let file = std::fs::File::open(format!("/proc/self/fd/{}", located.as_raw_fd())).map_err(cannot)?;
    let mut bytes = Vec::new();
    // The file may still grow (a process of the run left behind): never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(Unreadable::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

fn prepare(challenge: &LoadedChallenge, plan: &CasePlan) -> Result<Prepared, JudgeFault> {
    let workdir = crate::scratch::folder("run")?;
    let spec = &challenge.spec;
    let mut prepared = Prepared {
        workdir,
        _scratch: None,
        stdin: Input::Null,
        input_file: None,
        expected_stdout: None,
        answer_file: None,
        expected_files: Vec::new(),
    };
    match plan.source {
        Source::Written { group, case } => {
            let case = &spec.groups[group].cases[case];
            for (destination, source) in &case.files {
                let destination = prepared.workdir.path().join(destination);
                if let Some(parent) = destination.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                crate::run::tree::copy_tree(&challenge.path(source), &destination)
                    .map_err(|e| format!("copying `{source}`: {e}"))?;
            }
            if let Some(stdin) = &case.stdin {
                prepared.stdin = Input::File(challenge.path(stdin));
                prepared.input_file = Some(challenge.path(stdin));
            } else if let Some(text) = &case.stdin_text {
                prepared.stdin = Input::Bytes(text.clone().into_bytes());
            }
            if let Some(stdout) = &case.stdout {
                prepared.expected_stdout =
                    Some(std::fs::read(challenge.path(stdout)).map_err(|e| format!("{stdout}: {e}"))?);
                prepared.answer_file = Some(challenge.path(stdout));
            } else if let Some(text) = &case.stdout_text {
                prepared.expected_stdout = Some(text.clone().into_bytes());
            }
            prepared.expected_files =
                case.output_files.iter().map(|(name, source)| (name.clone(), challenge.path(source))).collect();
            if plan.check.checker.is_some() {
                write_scratch_files(&mut prepared)?;
            }
        }
        Source::Generated { group, generate, seed } => {
            let generate = &spec.groups[group].generated[generate];
            let scratch = crate::scratch::folder("gen")?;
            let out = scratch.path();
            match generate.generator.strip_prefix("builtin:") {
                Some(name) => generate::run_builtin(name, seed, &generate.params, out)?,
                None => generate::run_program(&challenge.path(&generate.generator), seed, &generate.params, out)?,
            }
            let files = out.join("files");
            if files.is_dir() {
                for entry in std::fs::read_dir(&files)? {
                    let entry = entry?;
                    std::fs::rename(entry.path(), prepared.workdir.path().join(entry.file_name()))?;
                }
            }
            let stdin = out.join("stdin");
            if stdin.is_file() {
                prepared.stdin = Input::File(stdin.clone());
                prepared.input_file = Some(stdin);
            } else {
                std::fs::write(&stdin, b"")?;
                prepared.input_file = Some(stdin);
            }
            let answer = out.join("answer");
            if answer.is_file() {
                prepared.expected_stdout = Some(std::fs::read(&answer)?);
                prepared.answer_file = Some(answer);
            } else if plan.check.checker.is_none() {
                return Err(JudgeFault(format!("generator `{}` wrote no `answer` file", generate.generator)));
            }
            prepared._scratch = Some(scratch);
        }
    }
    let tmp = prepared.workdir.path().join(".tmp");
    std::fs::create_dir(&tmp)?;
    sandbox::hand_over(&tmp)?;
    // Only the folder itself: the inputs keep their owner and modes (an unreadable input stays unreadable).
    sandbox::hand_over_folder(prepared.workdir.path())?;
    Ok(prepared)
}

/// Written cases with inline text still need files for an external checker.
fn write_scratch_files(prepared: &mut Prepared) -> Result<(), JudgeFault> {
    let scratch = crate::scratch::folder("case")?;
    if prepared.answer_file.is_none()
        && let Some(expected) = &prepared.expected_stdout
    {
        let path = scratch.path().join("answer");
        std::fs::write(&path, expected)?;
        prepared.answer_file = Some(path);
    }
    if prepared.input_file.is_none() {
        let path = scratch.path().join("input");
        let bytes = match &prepared.stdin {
            Input::Bytes(bytes) => bytes.clone(),
            _ => Vec::new(),
        };
        std::fs::write(&path, bytes)?;
        prepared.input_file = Some(path);
    }
    prepared._scratch = Some(scratch);
    Ok(())
}

/// The environment of a run: a clean one with only what a program needs.
pub fn run_env(challenge: &LoadedChallenge, workdir: &Path) -> Vec<(OsString, OsString)> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), path),
        ("HOME".into(), workdir.into()),
        ("TMPDIR".into(), workdir.join(".tmp").into()),
        ("LANG".into(), "C.UTF-8".into()),
    ];
    env.extend(challenge.spec.env.iter().map(|(k, v)| (k.into(), v.into())));
    env
}

/// What the candidate needs to see of the input: arguments, the head of stdin, the files given.
fn input_head(plan: &CasePlan, prepared: &Prepared) -> String {
    let mut text = String::new();
    if !plan.args.is_empty() {
        text.push_str(&format!("arguments: {}\n", plan.args.join(" ")));
    }
    let stdin = match &prepared.stdin {
        Input::Bytes(bytes) => Some(bytes.clone()),
        Input::File(path) => std::fs::read(path).ok(),
        Input::Null => None,
    };
    if let Some(stdin) = stdin.filter(|s| !s.is_empty()) {
        text.push_str("stdin:\n");
        text.push_str(&head(&stdin, 10, 1000));
    }
    let mut listing = Vec::new();
    list_files(prepared.workdir.path(), prepared.workdir.path(), &mut listing, 20);
    if !listing.is_empty() {
        text.push_str("files:\n");
        for line in &listing {
            text.push_str(&format!("  {line}\n"));
        }
    }
    text
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>, max: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if out.len() >= max {
            out.push("...".into());
            return;
        }
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path);
        if relative.starts_with(".tmp") {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let shown = format!("{:?}", relative.to_string_lossy());
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map(|t| t.display().to_string()).unwrap_or_default();
            out.push(format!("{shown} -> {target:?}"));
        } else if meta.is_dir() {
            out.push(format!("{shown}/"));
            list_files(root, &path, out, max);
        } else {
            out.push(format!("{shown} ({} bytes)", meta.len()));
        }
        if out.len() > max {
            return;
        }
    }
}

fn head(bytes: &[u8], max_lines: usize, max_bytes: usize) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(max_bytes)]);
    let mut shown: String = text.lines().take(max_lines).map(|l| format!("  {l}\n")).collect();
    if bytes.len() > max_bytes || text.lines().count() > max_lines {
        shown.push_str(&format!("  ... ({} bytes in all)\n", bytes.len()));
    }
    shown
}

fn tail(bytes: &[u8], max_bytes: usize) -> String {
    let start = bytes.len().saturating_sub(max_bytes);
    let text = String::from_utf8_lossy(&bytes[start..]);
    if start > 0 { format!("...{text}") } else { text.into_owned() }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_seeds_differ_by_name_and_run_seed() {
        assert_ne!(mix(1, "g/a"), mix(1, "g/b"));
        assert_ne!(mix(1, "g/a"), mix(2, "g/a"));
        assert_eq!(mix(7, "g/a"), mix(7, "g/a"));
    }

    #[test]
    fn out_of_memory_messages_are_recognised() {
        assert!(ran_out_of_memory(b"Traceback...\nMemoryError\n"));
        assert!(ran_out_of_memory(b"memory allocation of 1048576 bytes failed\n"));
        assert!(!ran_out_of_memory(b"IndexError: list index out of range\n"));
    }

    #[test]
    fn output_files_that_are_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = std::fs::File::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("secret"), "hidden answer").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("out.txt")).unwrap();
        let read = |name: &str| read_output_file(folder.as_fd(), name, 1 << 20);
        let refused = |why: &str| Err(Unreadable::Refused(why.into()));
        assert_eq!(read("out.txt"), refused("is a symbolic link, not a file"));
        assert_eq!(read("missing"), Err(Unreadable::Missing));
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert_eq!(read("d"), refused("is not a regular file"));
        // A folder on the way that is a link to where the answers are.
        std::os::unix::fs::symlink(dir.path().join("d"), dir.path().join("via")).unwrap();
        std::fs::write(dir.path().join("d/answer"), "hidden answer").unwrap();
        assert_eq!(read("via/answer"), refused("lies beyond a symbolic link"));
        assert_eq!(read("../x"), refused("lies outside the working folder"));
        assert_eq!(read("d/answer"), Ok(b"hidden answer".to_vec()));
        assert!(std::process::Command::new("mkfifo").arg(dir.path().join("fifo")).status().unwrap().success());
        assert_eq!(read("fifo"), refused("is not a regular file"), "a FIFO is looked at, not opened");
    }

    #[test]
    fn an_output_file_over_the_output_limit_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let folder = std::fs::File::open(dir.path()).unwrap();
        let sparse = std::fs::File::create(dir.path().join("out.txt")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        assert_eq!(read_output_file(folder.as_fd(), "out.txt", 1 << 20), Err(Unreadable::TooLarge(1 << 30)));
        std::fs::write(dir.path().join("small.txt"), "12345").unwrap();
        assert_eq!(read_output_file(folder.as_fd(), "small.txt", 4), Err(Unreadable::TooLarge(5)));
        assert_eq!(read_output_file(folder.as_fd(), "small.txt", 5), Ok(b"12345".to_vec()));
    }
}
