//! One program run many times inside one sandbox, for benchmarks: the sandbox is set up once (Landlock,
//! seccomp, namespaces, cgroup, `nobody`) around a small repeater, this grader's own binary started
//! with [`SERVE_ARG`]; each run is then only a fork, an exec and a `wait4` inside it, as cheap as a bare
//! spawn, so what a benchmark measures is the program and not the sandbox's set-up.
//!
//! The grader asks for a run with one byte on the repeater's stdin; the repeater starts the program in
//! a process group of its own (stdin from the input file, which the grader opened and the repeater
//! inherits, rewound for each run; stdout into one file, also rewound, the answer saying how much was
//! written, so every run sees the same kind of output and every run is checked; stderr appended to one
//! file), waits for it, kills what it left (every other process of its PID namespace, or else its
//! process group) and reaps it, and answers with one line: the wait status, user and system CPU
//! microseconds (of every process of the run: the repeater is their subreaper, so a child left
//! unwaited is counted too), peak resident kilobytes, wall microseconds (from before the fork to the end
//! of `wait4`, as a bare fork-exec-wait loop measures) and bytes written. Every run inherits the repeater's confinement; its CPU time is limited by RLIMIT_CPU and
//! judged exactly from its rusage, its wall time by the grader, which kills the whole repeater when an
//! answer is late. The repeater is not dumpable: a run (same user) cannot reach its memory.
//!
//! Between runs the repeater waits on the CPU the grader's measuring thread is pinned to, so the
//! request and the answer each wake a process on the CPU that just went to sleep (on a virtual machine,
//! waking another CPU costs tens of microseconds each time); each run starts with the repeater's whole
//! CPU set.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::affinity::Mask;
use super::{Input, LimitHit, Outcome, RunPlan, Spawned, Status};

/// The first argument that makes this program a repeater.
pub const SERVE_ARG: &str = "--takehome-sandbox-repeat";

static REPEATER: OnceLock<PathBuf> = OnceLock::new();

/// To be called first in `main`: serves as a repeater (and never returns) when started as one;
/// otherwise makes this binary the repeater of this process's benchmarks.
pub fn serve_or_enable() {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(OsStr::new(SERVE_ARG)) {
        std::process::exit(serve(&args.collect::<Vec<_>>()));
    }
    if let Ok(exe) = std::env::current_exe() {
        let _ = REPEATER.set(exe);
    }
}

/// Whether this process can start repeaters.
pub fn enabled() -> bool {
    REPEATER.get().is_some()
}

/// A started repeater.
pub struct Repeater {
    spawned: Spawned,
    commands: ChildStdin,
    answers: ChildStdout,
    /// Bytes of the answer line read so far.
    pending: Vec<u8>,
    output: PathBuf,
    errors: PathBuf,
    limits: super::RunLimits,
}

impl Repeater {
    /// Starts a repeater of `plan` (its stdin a file or nothing), confined as `plan` says. Each run's
    /// stdout goes to `output` and its stderr beside it (`output` + `.stderr`), both in the working
    /// folder. When this binary cannot be executed by the run's user, it is copied into `copy_dir` first.
    /// `pin`: the CPU the caller's thread is pinned to, for the repeater to wait on.
    pub fn start(plan: &RunPlan, output: &Path, copy_dir: &Path, pin: Option<usize>) -> io::Result<Repeater> {
        let Some(own) = REPEATER.get() else {
            return Err(io::Error::other("this program did not enable repeaters"));
        };
        let drops = plan.drop_privileges && super::is_root();
        let exe = if drops && !super::reachable_by_others(own) { copy_of(own, copy_dir)? } else { own.clone() };
        let errors = PathBuf::from(format!("{}.stderr", output.display()));
        // Opened here: the input may sit where the run itself cannot reach (as graded cases' does).
        let input = match &plan.stdin {
            Input::File(path) => Some(std::fs::File::open(path)?),
            Input::Null => None,
            Input::Bytes(_) => return Err(io::Error::other("a repeater's input must be a file")),
        };
        let stdin: OsString = input.as_ref().map_or_else(|| "-".into(), |file| file.as_raw_fd().to_string().into());
        let cpu =
            plan.limits.cpu_time.map_or_else(|| "-".to_string(), |cpu| cpu.as_secs().saturating_add(1).to_string());
        let program = super::resolve_program(&plan.program, &plan.env);
        let pin = pin.map_or_else(|| "-".to_string(), |cpu| cpu.to_string());
        // In a PID namespace of its own, the repeater may kill everything else in it after each run.
        let alone =
            plan.confine.as_ref().is_some_and(|c| super::confine::goes_through_namespaces(c, super::probe::layers()));
        let mut args: Vec<OsString> = vec![
            SERVE_ARG.into(),
            stdin,
            output.into(),
            errors.clone().into(),
            cpu.into(),
            pin.into(),
            if alone { "alone" } else { "shared" }.into(),
        ];
        args.push("--".into());
        args.push(program);
        args.extend(plan.args.iter().cloned());
        let mut confine = plan.confine.clone();
        if let Some(confine) = confine.as_mut() {
            confine.read.push(exe.clone());
        }
        let session = RunPlan {
            program: exe.into_os_string(),
            args,
            stdin: Input::Null,
            // The CPU limit is per run (RLIMIT_CPU in the repeater, the rusage after); the memory limit
            // holds for the whole tree at any time, which is the run's.
            limits: super::RunLimits { cpu_time: None, ..plan.limits },
            confine,
            ..plan.clone()
        };
        let mut spawned = match &input {
            Some(file) => super::spawn::spawn_inheriting(&session, file.as_raw_fd())?,
            None => super::spawn(&session)?,
        };
        let missing = || io::Error::other("repeater pipe missing");
        let commands = spawned.take_stdin().ok_or_else(missing)?;
        let answers = spawned.take_stdout().ok_or_else(missing)?;
        super::set_pipe_nonblocking(answers.as_fd())?;
        Ok(Repeater {
            spawned,
            commands,
            answers,
            pending: Vec::new(),
            output: output.to_path_buf(),
            errors,
            limits: plan.limits,
        })
    }

    /// Runs the program once and waits for it (at most the plan's wall-clock limit: past it, the whole
    /// repeater is killed and the run reported as over that limit). Its stderr is read only when it
    /// failed. Errors are the grader's.
    pub fn run(&mut self) -> io::Result<Outcome> {
        self.commands.write_all(RUN)?;
        let started = Instant::now();
        let deadline = started + self.limits.wall_time;
        let line = loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                break String::from_utf8_lossy(&line[..end]).into_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.spawned.kill();
                return Ok(self.ended_by(Status::Signaled(libc::SIGKILL), LimitHit::WallTime, self.limits.wall_time));
            }
            super::wait_readable(&[self.answers.as_fd()], left)?;
            let mut chunk = [0u8; 256];
            match self.answers.read(&mut chunk) {
                Ok(0) => return self.repeater_ended(started.elapsed()),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => {}
                Err(error) => return Err(error),
            }
        };
        let answer = Answer::parse(&line).map_err(io::Error::other)?;
        self.outcome(&answer)
    }

    fn outcome(&self, answer: &Answer) -> io::Result<Outcome> {
        let status = super::decode(answer.status);
        let cpu_time = Duration::from_micros(answer.user_us.saturating_add(answer.system_us));
        let peak_memory = answer.peak_kib.saturating_mul(1024);
        let mut limit_hit = super::classify_after_exit(&self.limits, status, cpu_time, peak_memory);
        let wall_time = Duration::from_micros(answer.wall_us);
        if limit_hit.is_none() && wall_time > self.limits.wall_time {
            limit_hit = Some(LimitHit::WallTime);
        }
        // The file is rewound, not emptied: what lies past this run's bytes is an earlier run's.
        let shown = answer.written.min(self.limits.output);
        let mut stdout = read_capped(&self.output, shown)?;
        stdout.truncate(shown as usize);
        if answer.written > self.limits.output && limit_hit.is_none() {
            limit_hit = Some(LimitHit::Output);
        }
        let mut stderr = Vec::new();
        if status != Status::Exited(0) || limit_hit.is_some() {
            stderr = read_tail(&self.errors, self.limits.stderr_kept as u64)?;
        }
        Ok(Outcome { status, cpu_time, wall_time, peak_memory, limit_hit, stdout, stderr, written: None })
    }

    /// The repeater's stdout closed: it was stopped (over the memory limit, as the tree's watcher saw)
    /// or failed.
    fn repeater_ended(&mut self, wall_time: Duration) -> io::Result<Outcome> {
        self.spawned.kill();
        match self.spawned.usage().limit_hit {
            Some(limit) => Ok(self.ended_by(Status::Signaled(libc::SIGKILL), limit, wall_time)),
            None => {
                Err(io::Error::other("the benchmark repeater ended during the run (was it sent a signal by the run?)"))
            }
        }
    }

    fn ended_by(&self, status: Status, limit: LimitHit, wall_time: Duration) -> Outcome {
        let peak_memory = self.spawned.usage().peak_memory.unwrap_or_default();
        let cpu_time = self.spawned.usage().cpu_time.unwrap_or_default();
        Outcome {
            status,
            cpu_time,
            wall_time,
            peak_memory,
            limit_hit: Some(limit),
            stdout: Vec::new(),
            stderr: Vec::new(),
            written: None,
        }
    }
}

/// A copy of `exe` the unprivileged user can execute, made once per process.
fn copy_of(exe: &Path, dir: &Path) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let copy = dir.join("takehome-repeater");
    if !copy.exists() {
        std::fs::copy(exe, &copy)?;
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(copy)
}

/// Up to `cap + 1` bytes of a file a run wrote, refusing links and anything but a regular file (a
/// planted link could otherwise make the grader read a hidden answer); a missing file is empty.
fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let Some(file) = open_output(path)? else { return Ok(Vec::new()) };
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The last `cap` bytes of a file runs wrote (checked as [`read_capped`] checks).
fn read_tail(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Seek;
    let Some(mut file) = open_output(path)? else { return Ok(Vec::new()) };
    let length = file.metadata()?.len();
    file.seek(io::SeekFrom::Start(length.saturating_sub(cap)))?;
    let mut bytes = Vec::new();
    file.take(cap).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn open_output(path: &Path) -> io::Result<Option<std::fs::File>> {
    let opened = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path);
    let file = match opened {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io::Error::other(format!("{}: {error}", path.display()))),
    };
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!("{} is not a regular file", path.display())));
    }
    Ok(Some(file))
}

/// The grader's request for a run.
const RUN: &[u8] = b"r";

/// One answer line of the repeater.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: i32,
    user_us: u64,
    system_us: u64,
    peak_kib: u64,
    wall_us: u64,
    /// Bytes of stdout the run wrote (the file is rewound, not emptied, between runs).
    written: u64,
}

impl Answer {
    fn parse(line: &str) -> Result<Answer, String> {
        if let Some(problem) = line.strip_prefix("error ") {
            return Err(problem.to_string());
        }
        let malformed = || format!("malformed repeater answer: {line:?}");
        let fields: Vec<&str> = line.split(' ').collect();
        let ["ran", status, user, system, peak, wall, written] = fields[..] else { return Err(malformed()) };
        let number = |field: &str| field.parse::<u64>().map_err(|_| malformed());
        Ok(Answer {
            status: status.parse().map_err(|_| malformed())?,
            user_us: number(user)?,
            system_us: number(system)?,
            peak_kib: number(peak)?,
            wall_us: number(wall)?,
            written: number(written)?,
        })
    }

    fn line(&self) -> String {
        let Answer { status, user_us, system_us, peak_kib, wall_us, written } = self;
        format!("ran {status} {user_us} {system_us} {peak_kib} {wall_us} {written}")
    }
}

/// What a repeater was asked to run.
struct Request {
    /// The inherited input, rewound for each run; none for an empty stdin.
    stdin: Option<RawFd>,
    output: PathBuf,
    errors: PathBuf,
    cpu_seconds: Option<u64>,
    /// The CPU to wait on between runs.
    pin: Option<usize>,
    /// Whether the repeater has a PID namespace of its own (so every other process in it is a run's).
    alone: bool,
    program: OsString,
    args: Vec<OsString>,
}

impl Request {
    fn parse(args: &[OsString]) -> Option<Request> {
        let [stdin, output, errors, cpu, pin, alone, separator, program, rest @ ..] = args else { return None };
        if separator != "--" {
            return None;
        }
        let number = |text: &OsString| text.to_str()?.parse::<u64>().ok();
        let cpu_seconds = if cpu == "-" { None } else { Some(number(cpu)?) };
        let pin = if pin == "-" { None } else { Some(usize::try_from(number(pin)?).ok()?) };
        Some(Request {
            stdin: if stdin == "-" { None } else { Some(i32::try_from(number(stdin)?).ok()?) },
            output: output.into(),
            errors: errors.into(),
            cpu_seconds,
            pin,
            alone: alone == "alone",
            program: program.clone(),
            args: rest.to_vec(),
        })
    }
}

/// The repeater's whole life: a run per byte on stdin, an answer line per run on stdout, until stdin ends.
fn serve(args: &[OsString]) -> i32 {
    let Some(request) = Request::parse(args) else {
        let _ = writeln!(io::stdout(), "error malformed repeater arguments");
        return 2;
    };
    if let Some(fd) = request.stdin {
        // SAFETY: the runs get their own copy as stdin, never this one.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: prctl with integer arguments. Not dumpable: a run of the same user may not write into this
    // process's memory (through /proc/<pid>/mem) to forge answers; the subreaper gets every orphan of a
    // run, to count and kill.
    unsafe {
        if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0
        {
            let _ = writeln!(io::stdout(), "error cannot set up the repeater: {}", io::Error::last_os_error());
            return 2;
        }
    }
    if let Some(seconds) = request.cpu_seconds
        && let Err(error) = super::set_limit(libc::RLIMIT_CPU, seconds)
    {
        let _ = writeln!(io::stdout(), "error cannot limit CPU time: {error}");
        return 2;
    }
    // (the whole set, the one CPU)
    let masks = request.pin.and_then(|cpu| Some((Mask::current()?, Mask::only(cpu)?)));
    if let Some((_, pinned)) = &masks {
        pinned.apply();
    }
    let (Ok(output), Ok(errors)) = (create(&request.output), create(&request.errors)) else {
        let _ = writeln!(io::stdout(), "error cannot create {}", request.output.display());
        return 2;
    };
    let sinks = Sinks { output, errors };
    let mut commands = io::stdin().lock();
    let mut answers = io::stdout().lock();
    let mut byte = [0u8; 1];
    while matches!(commands.read(&mut byte), Ok(1)) {
        let line = match run_once(&request, &sinks, masks.as_ref()) {
            Ok(answer) => answer.line(),
            Err(error) => format!("error cannot run {}: {error}", request.program.to_string_lossy()),
        };
        if writeln!(answers, "{line}").and_then(|()| answers.flush()).is_err() {
            return 1;
        }
    }
    0
}

/// Where runs write, opened once: a path opened for each run costs as much as a bare fork (tens of
/// microseconds each on an overlay filesystem under Landlock).
struct Sinks {
    /// The runs' stdout, rewound before each.
    output: std::fs::File,
    /// Every run's stderr, one after the other.
    errors: std::fs::File,
}

fn create(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
}

fn run_once(request: &Request, sinks: &Sinks, masks: Option<&(Mask, Mask)>) -> io::Result<Answer> {
    let stdin = match request.stdin {
        Some(fd) => {
            // SAFETY: lseek and fcntl on the inherited descriptor; the duplicate is a new one we own.
            let copy = unsafe {
                if libc::lseek(fd, 0, libc::SEEK_SET) < 0 {
                    return Err(io::Error::last_os_error());
                }
                let copy = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3);
                if copy < 0 {
                    return Err(io::Error::last_os_error());
                }
                OwnedFd::from_raw_fd(copy)
            };
            Stdio::from(copy)
        }
        None => Stdio::null(),
    };
    // Rewound, not truncated (a truncation costs more than a fork under Landlock on an overlay file
    // system): the run's copy shares this offset, and where it ends is how much the run wrote.
    (&sinks.output).seek(io::SeekFrom::Start(0))?;
    let stdout = sinks.output.try_clone()?;
    let stderr = sinks.errors.try_clone()?;
    let before = children_usage();
    if let Some((whole, _)) = masks {
        whole.apply();
    }
    let started = Instant::now();
    let child = Command::new(&request.program)
        .args(&request.args)
        .stdin(stdin)
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .spawn();
    if let Some((_, pinned)) = masks {
        pinned.apply();
    }
    let child = child?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct; wait4 writes it and `status`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waits for our own child.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let wall = started.elapsed();
    end_leftovers(pid, request.alone);
    let written = (&sinks.output).stream_position()?;
    let after = children_usage();
    let micros = |tv: libc::timeval| (tv.tv_sec.max(0) as u64) * 1_000_000 + tv.tv_usec.max(0) as u64;
    // Every process of the run reaped here (its own and its orphans): their CPU time, not only the first's.
    let user_us = micros(after.ru_utime).saturating_sub(micros(before.ru_utime)).max(micros(usage.ru_utime));
    let system_us = micros(after.ru_stime).saturating_sub(micros(before.ru_stime)).max(micros(usage.ru_stime));
    // The children's peak only grows: when it did, a process of this run set it.
    let children_peak = if after.ru_maxrss > before.ru_maxrss { after.ru_maxrss } else { 0 };
    Ok(Answer {
        status,
        user_us,
        system_us,
        peak_kib: usage.ru_maxrss.max(children_peak).max(0) as u64,
        wall_us: u64::try_from(wall.as_micros()).unwrap_or(u64::MAX),
        written,
    })
}

/// Kills what a run left behind and reaps it: with a PID namespace of its own, every other process in
/// it (init excepted, which the kernel spares); otherwise the run's process group (what left it is
/// killed with the repeater).
fn end_leftovers(pid: libc::pid_t, alone: bool) {
    // Everything but init in our own namespace (waited for: all of it ends as our children, we being
    // the subreaper); else the run's group, whose dead are reaped.
    let (target, flags) = if alone { (-1, 0) } else { (-pid, libc::WNOHANG) };
    // SAFETY: kill and waitpid on our own namespace's or group's processes.
    unsafe {
        libc::kill(target, libc::SIGKILL);
        loop {
            let reaped = libc::waitpid(target, std::ptr::null_mut(), flags);
            if reaped > 0 || (reaped < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted) {
                continue;
            }
            break;
        }
    }
}

fn children_usage() -> libc::rusage {
    // SAFETY: an all-zero rusage is valid; getrusage writes it.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_errors_and_garbage_are_told_apart() {
        let answer = Answer { status: 256, user_us: 1, system_us: 2, peak_kib: 3, wall_us: 4, written: 5 };
        assert_eq!(Answer::parse(&answer.line()), Ok(answer));
        assert_eq!(Answer::parse("error cannot run x: gone"), Err("cannot run x: gone".to_string()));
        for garbage in ["", "ran", "ran 1 2 3 4 5", "ran 1 2 3 4 5 6 7", "ran a 2 3 4 5 6", "walked 0 1 2 3 4 5"] {
            assert!(Answer::parse(garbage).unwrap_err().contains("malformed"), "{garbage:?}");
        }
    }

    #[test]
    fn requests_parse_and_refuse_what_is_not_one() {
        let args: Vec<OsString> =
            ["7", "out", "out.stderr", "3", "1", "alone", "--", "/bin/prog", "-x"].map(OsString::from).to_vec();
        let request = Request::parse(&args).unwrap();
        assert_eq!((request.stdin, request.cpu_seconds, request.pin, request.alone), (Some(7), Some(3), Some(1), true));
        assert_eq!(request.program.as_os_str(), OsStr::new("/bin/prog"));
        assert_eq!(request.args, vec![OsString::from("-x")]);
        assert!(Request::parse(&args[..7]).is_none());
        let mut no_separator = args.clone();
        no_separator[6] = "x".into();
        assert!(Request::parse(&no_separator).is_none());
    }

    #[test]
    fn a_run_reports_its_status_usage_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        std::fs::write(&input, "hello\n").unwrap();
        let input = std::fs::File::open(&input).unwrap();
        let request = Request {
            stdin: Some(input.as_raw_fd()),
            output: dir.path().join("out"),
            errors: dir.path().join("out.stderr"),
            cpu_seconds: None,
            pin: None,
            // Never `alone` here: this test's process shares its user and namespace with everything else.
            alone: false,
            program: "/bin/sh".into(),
            args: ["-c", "cat; echo oops >&2; exit 3"].map(OsString::from).to_vec(),
        };
        let sinks = Sinks { output: create(&request.output).unwrap(), errors: create(&request.errors).unwrap() };
        let answer = run_once(&request, &sinks, None).unwrap();
        assert_eq!(super::super::decode(answer.status), Status::Exited(3));
        assert!(answer.wall_us > 0 && answer.peak_kib > 0, "{answer:?}");
        // Each run writes from the start, and says how much; the input is read from its start each time.
        std::fs::write(dir.path().join("out"), "left over from before, and longer\n").unwrap();
        run_once(&request, &sinks, None).unwrap();
        let answer = run_once(&request, &sinks, None).unwrap();
        assert_eq!(answer.written, 6);
        assert!(std::fs::read_to_string(dir.path().join("out")).unwrap().starts_with("hello\n"));
        assert_eq!(read_capped(&dir.path().join("out"), 2).unwrap(), b"hel");
        assert_eq!(read_tail(&dir.path().join("out.stderr"), 7).unwrap(), b"s\noops\n");
        assert_eq!(std::fs::read(dir.path().join("out.stderr")).unwrap(), b"oops\noops\noops\n");
    }

    #[test]
    fn a_planted_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "answer").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("out")).unwrap();
        assert!(read_capped(&dir.path().join("out"), 100).is_err());
        assert!(read_capped(&dir.path().join("missing"), 100).unwrap().is_empty());
    }
}
