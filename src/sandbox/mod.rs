//! Runs one untrusted process under limits: a run plan in, an outcome out.
//!
//! Knows nothing of challenges. Layers for every run: cleared environment, new session and process
//! group, parent-death signal, inherited descriptors closed, rlimits (CPU, file size, open files, core,
//! data), privileges dropped to `nobody` when the grader is root, a wall timer, CPU and memory polled and
//! enforced, capped stdout/stderr, and every process of the run killed when it ends (process group,
//! descendants seen, daemonised orphans through the child subreaper), CPU time and peak memory from
//! wait4's rusage.
//!
//! A confined run (untrusted code: [`Confinement`]) adds, where the machine has them (see [`probe`]):
//! Landlock, seccomp, a cgroup per run (root; v1 or v2), and user/PID/network/IPC/UTS/mount namespaces
//! with an init of their own ([`namespaces`]), where a case run's working folder is a capped tmpfs over
//! the folder on disk (`overlay`). Everything the children need is prepared before the fork, so the
//! code between fork and exec only makes system calls.
//!
//! The only module with `unsafe`: each block says why it is sound.
#![allow(unsafe_code)]

pub mod affinity;
mod cgroup;
mod confine;
pub mod landlock;
mod launch;
pub mod namespaces;
mod overlay;
pub mod probe;
mod reaper;
pub mod repeat;
mod seccomp;
mod signals;
mod spawn;
mod tree_usage;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub use cgroup::PREFER_VAR as CGROUP_PREFERENCE_VAR;
pub use signals::signal_name;
pub use spawn::{SpawnUsage, Spawned, spawn};

use crate::report::LimitHit;

/// The uid and gid runs are dropped to when the grader is root (`nobody` on Debian and most others).
pub const UNPRIVILEGED_ID: u32 = 65534;

/// What to run and under which limits.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// A path, or a bare name looked up in `PATH` of `env`.
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// The complete environment: nothing of the grader's own is passed on.
    pub env: Vec<(OsString, OsString)>,
    pub stdin: Input,
    pub limits: RunLimits,
    /// Run as `nobody` when the grader is root (so file permissions mean something).
    pub drop_privileges: bool,
    /// Untrusted code (candidate runs and builds) is confined; `None` for the grader's own helpers.
    pub confine: Option<Confinement>,
}

/// How far an untrusted process may reach, beyond the system's toolchain folders (read and execute).
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    /// Folders it may read and execute from (the built submission).
    pub read: Vec<PathBuf>,
    /// Folders it may read and write besides `cwd`, `HOME` and `TMPDIR` of its environment.
    pub write: Vec<PathBuf>,
    /// Whether it may use the network (builds that download packages; runs never).
    pub network: bool,
    /// Processes and threads it may have at once (cgroup, or RLIMIT_NPROC where that is counted apart).
    pub tasks: u64,
    /// Through namespaces, the working folder is layered: it shows the folder on disk, and whatever the
    /// program writes goes to a fresh tmpfs of this size, which comes back as [`Outcome::written`]. The
    /// folder on disk is left as it was. Without namespaces, the program writes the folder itself.
    pub scratch: Option<Scratch>,
}

/// The size of a run's tmpfs (see [`Confinement::scratch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scratch {
    pub bytes: u64,
    pub inodes: u64,
}

impl Confinement {
    /// A candidate's run: reads the built submission, writes only its working folder, no network.
    #[must_use]
    pub fn run(build_dir: PathBuf) -> Confinement {
        Confinement { read: vec![build_dir], write: Vec::new(), network: false, tasks: DEFAULT_TASKS, scratch: None }
    }

    /// A build: reads the toolchains on `PATH` (plus CARGO_HOME, RUSTUP_HOME, JAVA_HOME, GOROOT of its
    /// environment), writes its copy, HOME and TMPDIR; network as the spec says.
    #[must_use]
    pub fn build(network: bool) -> Confinement {
        Confinement { read: Vec::new(), write: Vec::new(), network, tasks: DEFAULT_TASKS * 4, scratch: None }
    }
}

/// Enough for a JVM's threads or a parallel build, far from enough for a fork bomb to hurt.
pub const DEFAULT_TASKS: u64 = 256;

#[derive(Debug, Clone)]
pub enum Input {
    Null,
    File(PathBuf),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    pub cpu_time: Option<Duration>,
    pub wall_time: Duration,
    /// Resident memory of the process tree; also RLIMIT_DATA at twice this as a backstop.
    pub memory: Option<u64>,
    /// Bytes of stdout plus stderr before the run is stopped.
    pub output: u64,
    /// RLIMIT_FSIZE.
    pub file_size: Option<u64>,
    /// RLIMIT_NOFILE.
    pub open_files: Option<u64>,
    /// How much of stderr to keep (its tail).
    pub stderr_kept: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            cpu_time: None,
            wall_time: Duration::from_secs(10),
            memory: None,
            output: 64 << 20,
            file_size: Some(4 << 30),
            open_files: Some(1024),
            stderr_kept: 64 << 10,
        }
    }
}

/// How the process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Signaled(i32),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(code) => write!(f, "exit code {code}"),
            Status::Signaled(signal) => write!(f, "killed by {}", signal_name(*signal)),
        }
    }
}

/// What happened.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub cpu_time: Duration,
    pub wall_time: Duration,
    /// Peak resident memory (ru_maxrss of the process, or the largest tree total polled).
    pub peak_memory: u64,
    pub limit_hit: Option<LimitHit>,
    pub stdout: Vec<u8>,
    /// The tail of stderr, at most `stderr_kept` bytes.
    pub stderr: Vec<u8>,
    /// With [`Confinement::scratch`]: the folder of what the program wrote in its working folder (files
    /// it created or changed; a deleted file is a character device 0:0, as overlayfs marks it).
    pub written: Option<std::sync::Arc<OwnedFd>>,
}

impl Outcome {
    #[must_use]
    pub fn success(&self) -> bool {
        self.status == Status::Exited(0) && self.limit_hit.is_none()
    }
}

/// Names the layers that `run` applies to untrusted code on this machine, for reports:
/// `landlock=abi7 seccomp=on userns=on cgroup=v1-memory,pids reaper=on rlimits=on env=cleared user=nobody`.
#[must_use]
pub fn describe_layers() -> String {
    probe::layers().describe()
}

/// Why a layer is missing, one sentence each (empty when all are active), for the grader to warn.
#[must_use]
pub fn warnings() -> &'static [String] {
    &probe::layers().warnings
}

/// Whether untrusted code is confined beyond rlimits (Landlock and seccomp, or namespaces), for `--strict`.
pub fn strict_ok() -> Result<(), String> {
    probe::layers().strict_ok()
}

#[must_use]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Makes `path` and everything under it owned by the unprivileged user, so a run dropped to it can
/// write there. Does nothing unless the grader is root.
pub fn hand_over(path: &std::path::Path) -> io::Result<()> {
    if !is_root() {
        return Ok(());
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(current) = stack.pop() {
        std::os::unix::fs::lchown(&current, Some(UNPRIVILEGED_ID), Some(UNPRIVILEGED_ID))?;
        if std::fs::symlink_metadata(&current)?.is_dir() {
            for entry in std::fs::read_dir(&current)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(())
}

/// Puts the open file description of `fd` (the grader's end of a pipe) in non-blocking mode, so a
/// write to a process that stops reading fails with `WouldBlock` instead of stalling the grader.
pub fn set_pipe_nonblocking(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    set_nonblocking(fd.as_raw_fd())
}

/// Waits until one of `fds` can be read, or has reached its end, or `timeout` passes (an interrupted
/// wait counts as passed); says which are ready, in the order given.
pub fn wait_readable(fds: &[std::os::fd::BorrowedFd<'_>], timeout: Duration) -> io::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    let millis = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    // SAFETY: `polled` is a valid, initialised array of pollfd of the length we pass.
    let ready = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, millis) };
    if ready < 0 {
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(polled.iter().map(|fd| fd.revents != 0).collect())
}

/// Opens `name` (a relative path) beneath the folder open as `folder`, without following a link at any
/// step nor leaving the folder, as a descriptor that only names the file (`O_PATH`: a device or a FIFO
/// the program left there is not opened). A program's outputs are opened so: a link it planted, even as
/// a folder on the way, could otherwise make the grader read a hidden answer. `ELOOP` names a link.
pub fn open_beneath(folder: std::os::fd::BorrowedFd<'_>, name: &std::path::Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a nul byte in a file name"))?;
    // SAFETY: an all-zero open_how is valid; the fields are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads the path and `how` (of the size given) and returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            folder.as_raw_fd(),
            path.as_ptr(),
            &raw const how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Makes just the folder `path` (not its contents) owned by the unprivileged user, so a run can
/// create files in it while the inputs inside keep their owner and modes. Does nothing unless root.
pub fn hand_over_folder(path: &std::path::Path) -> io::Result<()> {
    if is_root() {
        std::os::unix::fs::lchown(path, Some(UNPRIVILEGED_ID), Some(UNPRIVILEGED_ID))?;
    }
    Ok(())
}

const POLL_INTERVAL_MS: i32 = 5;

/// Runs the plan to its end. Errors are the grader's (cannot spawn, cannot poll), not the program's:
/// a program that cannot be executed comes back as an `io::Error` too.
pub fn run(plan: &RunPlan) -> io::Result<Outcome> {
    let stdin = match &plan.stdin {
        Input::Null => Stdio::null(),
        Input::File(path) => Stdio::from(std::fs::File::open(path)?),
        Input::Bytes(_) => Stdio::piped(),
    };
    let mut launched = launch::launch(plan, probe::layers(), launch::Extras { stdin, freezer: false, inherit: None })?;
    let pid = launched.pid;
    let stdin = match &plan.stdin {
        Input::Bytes(bytes) => launched.child.stdin.take().map(|pipe| (OwnedFd::from(pipe), bytes.as_slice())),
        _ => None,
    };
    let stdout = OwnedFd::from(launched.child.stdout.take().expect("stdout is piped"));
    let stderr = OwnedFd::from(launched.child.stderr.take().expect("stderr is piped"));
    let mut supervisor = Supervisor::new(pid, launched.started, plan.limits)?;
    supervisor.wrapper_depth = launched.wrapper_depth();
    supervisor.report = launched.usage_reader.take();
    let result = supervisor.watch(stdin, stdout, stderr);
    let first_child_ending = supervisor.first_child_ending;
    if first_child_ending {
        // The first child is ending on its own: reaped later, not waited for (nor its network lent again
        // before).
        let network = launched.network.take().map(|lease| Box::new(lease) as Box<dyn Send>);
        reaper::reap_later(pid, network);
    }
    // Whatever happened, nothing of the run outlives it.
    launch::contain_leftovers(pid, &supervisor.seen, launched.cgroup(), first_child_ending);
    let written = launched.written.as_ref().and_then(overlay::receive_written).map(std::sync::Arc::new);
    let outcome = result.map(|mut outcome| {
        outcome.written = written;
        // Any process of the run the kernel killed for the group's memory makes it MLE, even where the
        // program itself went on (a child of it killed, its own exit 0).
        if outcome.limit_hit.is_none() && launched.cgroup().is_some_and(cgroup::RunGroup::oom_killed) {
            outcome.limit_hit = Some(LimitHit::Memory);
        }
        outcome
    });
    let prepared = launched.prepared.take();
    if let Some(group) = prepared.and_then(|p| p.cgroup).filter(|_| first_child_ending) {
        group.release_ending();
    }
    outcome
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn resolve_program(program: &OsString, env: &[(OsString, OsString)]) -> OsString {
    if std::path::Path::new(program).components().count() > 1 {
        return program.clone();
    }
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone());
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(program);
            if candidate.is_file() {
                return candidate.into_os_string();
            }
        }
    }
    program.clone()
}

/// The environment with `PATH` cut to folders an unprivileged user can reach (a toolchain under
/// /root, such as pyenv's shims, would otherwise shadow the system's).
fn reachable_path(env: &[(OsString, OsString)]) -> Vec<(OsString, OsString)> {
    env.iter()
        .map(
            |(key, value)| {
                if key == "PATH" { (key.clone(), reachable_dirs(value)) } else { (key.clone(), value.clone()) }
            },
        )
        .collect()
}

/// The folders of `path` (a `PATH` value) that others can reach. Remembered for each value: a dozen
/// system calls per folder at every launch otherwise, for folders whose modes do not change while the
/// grader runs.
fn reachable_dirs(path: &OsString) -> OsString {
    static SEEN: std::sync::Mutex<Vec<(OsString, OsString)>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, reachable)) = seen.iter().find(|(value, _)| value == path) {
        return reachable.clone();
    }
    let dirs: Vec<PathBuf> = std::env::split_paths(path).filter(|dir| reachable_by_others(dir)).collect();
    let reachable = std::env::join_paths(dirs).unwrap_or_else(|_| path.clone());
    if seen.len() >= 16 {
        seen.clear();
    }
    seen.push((path.clone(), reachable.clone()));
    reachable
}

/// Whether every folder from the root down to `path` lets others through.
#[must_use]
pub fn reachable_by_others(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(path) = path.canonicalize() else { return false };
    path.ancestors().all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let limit = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn kill_group(pid: libc::pid_t) {
    // SAFETY: kill has no memory effects. The child made itself leader of process group `pid`
    // (setsid), and we have not reaped the group's processes... except the leader, whose id the
    // kernel does not reuse while the group still has members.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor we then own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Watches a running child: moves its pipes, enforces wall, CPU, memory and output limits, reaps it.
struct Supervisor {
    pid: libc::pid_t,
    started: Instant,
    limits: RunLimits,
    limit_hit: Option<LimitHit>,
    peak_polled: u64,
    /// The most CPU time polled over the tree (orphans included, while they live).
    cpu_polled: Duration,
    /// Levels of the tree above the program (2 through namespaces: the first child and the namespace's init).
    wrapper_depth: u32,
    /// Every process of the run seen while sampling, with its start time (to tell a reused pid).
    seen: std::collections::HashMap<libc::pid_t, u64>,
    /// Through namespaces, init's report: the run is over once it is in, without waiting for the first
    /// child to end (its exit tears down a copy of the grader's memory).
    report: Option<OwnedFd>,
    /// Whether the run ended by init's report, with the first child still to be reaped.
    first_child_ending: bool,
}

impl Supervisor {
    fn new(pid: libc::pid_t, started: Instant, limits: RunLimits) -> io::Result<Self> {
        Ok(Supervisor {
            pid,
            started,
            limits,
            limit_hit: None,
            peak_polled: 0,
            cpu_polled: Duration::ZERO,
            seen: std::collections::HashMap::new(),
            wrapper_depth: 0,
            report: None,
            first_child_ending: false,
        })
    }

    fn stop(&mut self, why: LimitHit) {
        if self.limit_hit.is_none() {
            self.limit_hit = Some(why);
        }
        kill_group(self.pid);
    }

    fn watch(&mut self, stdin: Option<(OwnedFd, &[u8])>, stdout: OwnedFd, stderr: OwnedFd) -> io::Result<Outcome> {
        let pidfd = pidfd_open(self.pid);
        let mut stdin = stdin;
        if let Some((fd, _)) = &stdin {
            set_nonblocking(fd.as_raw_fd())?;
        }
        set_nonblocking(stdout.as_raw_fd())?;
        set_nonblocking(stderr.as_raw_fd())?;
        let mut out_open = true;
        let mut err_open = true;
        let mut stdout_buf = Vec::new();
        let mut stderr_buf = Vec::new();
        let mut stderr_total: u64 = 0;
        let mut written = 0usize;
        let mut exited: Option<Ended> = None;
        let mut exit_seen_at: Option<Instant> = None;
        // The first look at the tree is after one interval: at the start there is nothing to measure yet.
        let mut last_sample = Instant::now();
        let mut stdout_file = std::fs::File::from(stdout);
        let mut stderr_file = std::fs::File::from(stderr);
        let mut chunk = vec![0u8; 64 * 1024];

        loop {
            // After the process is gone, give pipes held by leftovers a moment, then stop reading.
            if let Some(at) = exit_seen_at
                && ((!out_open && !err_open) || at.elapsed() > Duration::from_millis(200))
            {
                break;
            }
            let mut fds = Vec::with_capacity(4);
            if out_open {
                fds.push(libc::pollfd { fd: stdout_file.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            if err_open {
                fds.push(libc::pollfd { fd: stderr_file.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            if let Some((fd, _)) = &stdin {
                fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 });
            }
            if exited.is_none()
                && let Some(fd) = &pidfd
            {
                fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            let report_at = fds.len();
            if exited.is_none()
                && let Some(fd) = &self.report
            {
                fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
            }
            let timeout = if exited.is_none() && pidfd.is_none() { 1 } else { POLL_INTERVAL_MS };
            // SAFETY: fds is a valid, initialised array of pollfd of the length we pass.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }

            if out_open {
                loop {
                    match stdout_file.read(&mut chunk) {
                        Ok(0) => {
                            out_open = false;
                            break;
                        }
                        Ok(n) => {
                            stdout_buf.extend_from_slice(&chunk[..n]);
                            if stdout_buf.len() as u64 + stderr_total > self.limits.output {
                                stdout_buf.truncate(self.limits.output as usize);
                                self.stop(LimitHit::Output);
                                out_open = false;
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            out_open = false;
                            break;
                        }
                    }
                }
            }
            if err_open {
                loop {
                    match stderr_file.read(&mut chunk) {
                        Ok(0) => {
                            err_open = false;
                            break;
                        }
                        Ok(n) => {
                            stderr_total += n as u64;
                            stderr_buf.extend_from_slice(&chunk[..n]);
                            let keep = self.limits.stderr_kept;
                            if stderr_buf.len() > 2 * keep {
                                stderr_buf.drain(..stderr_buf.len() - keep);
                            }
                            if stdout_buf.len() as u64 + stderr_total > self.limits.output {
                                self.stop(LimitHit::Output);
                                err_open = false;
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            err_open = false;
                            break;
                        }
                    }
                }
            }
            if let Some((fd, bytes)) = &stdin {
                let mut pipe = std::fs::File::from(fd.try_clone()?);
                let mut done = written >= bytes.len();
                while !done {
                    match pipe.write(&bytes[written..]) {
                        Ok(n) => {
                            written += n;
                            done = written >= bytes.len();
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        // The program closed its stdin early: that is its business.
                        Err(_) => done = true,
                    }
                }
                if done {
                    stdin = None;
                }
            }

            if exited.is_none() {
                let report_ready = fds.get(report_at).is_some_and(|fd| fd.revents != 0);
                exited = self.ended(report_ready)?;
                if exited.is_some() {
                    exit_seen_at = Some(Instant::now());
                    kill_group(self.pid);
                    stdin = None;
                    continue;
                }
                let elapsed = self.started.elapsed();
                if elapsed >= self.limits.wall_time {
                    self.stop(LimitHit::WallTime);
                } else if last_sample.elapsed() >= Duration::from_millis(10) {
                    last_sample = Instant::now();
                    self.sample();
                }
            }
        }

        let ended = match exited {
            Some(ended) => ended,
            None => self.reap_blocking()?,
        };
        let mut wall_time = self.started.elapsed();
        let (status, cpu_time, peak_memory) = match ended {
            Ended::Reaped { status, usage } => {
                let cpu_time = timeval(usage.ru_utime) + timeval(usage.ru_stime);
                (status, cpu_time, usage.ru_maxrss.max(0) as u64 * 1024)
            }
            Ended::Reported(usage) => {
                wall_time = wall_time.min(usage.wall_time);
                (usage.wait_status, usage.cpu_time, usage.peak_memory)
            }
        };
        // What was polled counts too: orphans that ended unreaped, a tree that grew between reports.
        let cpu_time = cpu_time.max(self.cpu_polled);
        let peak_memory = peak_memory.max(self.peak_polled);
        let status = decode(status);
        let mut limit_hit = self.limit_hit;
        if limit_hit.is_none() {
            limit_hit = classify_after_exit(&self.limits, status, cpu_time, peak_memory);
        }
        if let Some(keep) = stderr_buf.len().checked_sub(self.limits.stderr_kept) {
            stderr_buf.drain(..keep);
        }
        Ok(Outcome {
            status,
            cpu_time,
            wall_time,
            peak_memory,
            limit_hit,
            stdout: stdout_buf,
            stderr: stderr_buf,
            written: None,
        })
    }

    /// Checks CPU time and resident memory of the process and its descendants.
    fn sample(&mut self) {
        let usage = tree_usage::sample(self.pid, self.wrapper_depth, &mut self.seen);
        self.peak_polled = self.peak_polled.max(usage.rss);
        self.cpu_polled = self.cpu_polled.max(usage.cpu_time);
        if let Some(hit) = over_limit(&self.limits, usage) {
            self.stop(hit);
        }
    }

    /// How the run ended, once it has: by init's report (through namespaces), or by the end of the
    /// process we started. `report_ready` says whether the report's descriptor polled readable.
    fn ended(&mut self, report_ready: bool) -> io::Result<Option<Ended>> {
        if report_ready && let Some(report) = self.report.take() {
            if let Some(usage) = namespaces::read_usage(&report) {
                self.first_child_ending = true;
                return Ok(Some(Ended::Reported(usage)));
            }
            // Init was killed before reporting: the first child's end says how the run ended.
        }
        Ok(wait_child(self.pid, libc::WNOHANG)?.map(|(status, usage)| self.reaped(status, usage)))
    }

    fn reap_blocking(&mut self) -> io::Result<Ended> {
        loop {
            if let Some((status, usage)) = wait_child(self.pid, 0)? {
                return Ok(self.reaped(status, usage));
            }
        }
    }

    /// The end of the process we started. Through namespaces, that is the first child, which ends after
    /// init, which reports before it ends: a report not yet polled says how the program ended.
    fn reaped(&mut self, status: i32, usage: libc::rusage) -> Ended {
        match self.report.take().as_ref().and_then(namespaces::read_usage) {
            Some(usage) => Ended::Reported(usage),
            None => Ended::Reaped { status, usage },
        }
    }
}

/// How a run's process ended.
enum Ended {
    /// Reaped: its wait status and usage.
    Reaped { status: i32, usage: libc::rusage },
    /// Through namespaces: how the program ended, as init reported it.
    Reported(namespaces::Usage),
}

/// wait4 on our child `pid`: its raw status and rusage once it has ended (`None` while it runs with
/// WNOHANG, or when interrupted).
fn wait_child(pid: libc::pid_t, flags: i32) -> io::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes into the two locals we pass; `pid` is our own unreaped child.
    let result = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
    match result {
        0 => Ok(None),
        r if r == pid => Ok(Some((status, usage))),
        _ => {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted { Ok(None) } else { Err(error) }
        }
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

fn decode(status: i32) -> Status {
    if libc::WIFSIGNALED(status) {
        Status::Signaled(libc::WTERMSIG(status))
    } else {
        Status::Exited(libc::WEXITSTATUS(status))
    }
}

/// The limit a polled tree is over, if any (memory first: it is the one that hurts the machine).
fn over_limit(limits: &RunLimits, usage: tree_usage::TreeUsage) -> Option<LimitHit> {
    if limits.memory.is_some_and(|memory| usage.rss > memory) {
        return Some(LimitHit::Memory);
    }
    if limits.cpu_time.is_some_and(|cpu| usage.cpu_time >= cpu) {
        return Some(LimitHit::CpuTime);
    }
    None
}

/// A limit the kernel enforced for us (RLIMIT_CPU's SIGXCPU, RLIMIT_DATA's failed allocation).
fn classify_after_exit(limits: &RunLimits, status: Status, cpu_time: Duration, peak_memory: u64) -> Option<LimitHit> {
    if status == Status::Exited(0) {
        return None;
    }
    if let Some(cpu) = limits.cpu_time
        && (cpu_time >= cpu || status == Status::Signaled(libc::SIGXCPU))
    {
        return Some(LimitHit::CpuTime);
    }
    if let Some(memory) = limits.memory
        && peak_memory >= memory
    {
        return Some(LimitHit::Memory);
    }
    None
}

/// A trusted plan with a small PATH and a 5 s wall limit, for tests across the crate.
#[cfg(test)]
pub(crate) fn plan_for_tests(program: &str, args: &[&str]) -> RunPlan {
    RunPlan {
        program: program.into(),
        args: args.iter().map(Into::into).collect(),
        cwd: std::env::temp_dir(),
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
        stdin: Input::Null,
        limits: RunLimits { wall_time: Duration::from_secs(5), ..RunLimits::default() },
        drop_privileges: false,
        confine: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(program: &str, args: &[&str]) -> RunPlan {
        plan_for_tests(program, args)
    }

    #[test]
    fn captures_stdout_and_exit_code() {
        let outcome = run(&plan("sh", &["-c", "echo hi; echo err >&2; exit 3"])).unwrap();
        assert_eq!(outcome.stdout, b"hi\n");
        assert_eq!(outcome.stderr, b"err\n");
        assert_eq!(outcome.status, Status::Exited(3));
        assert_eq!(outcome.limit_hit, None);
    }

    #[test]
    fn feeds_stdin_bytes() {
        let mut p = plan("cat", &[]);
        p.stdin = Input::Bytes(b"abc".repeat(100_000));
        let outcome = run(&p).unwrap();
        assert_eq!(outcome.stdout.len(), 300_000);
        assert!(outcome.success());
    }

    #[test]
    fn wall_limit_stops_a_sleeper() {
        let mut p = plan("sleep", &["30"]);
        p.limits.wall_time = Duration::from_millis(300);
        let outcome = run(&p).unwrap();
        assert_eq!(outcome.limit_hit, Some(LimitHit::WallTime));
        assert_eq!(outcome.status, Status::Signaled(libc::SIGKILL));
    }

    #[test]
    fn cpu_limit_stops_a_busy_loop() {
        let mut p = plan("sh", &["-c", "while :; do :; done"]);
        p.limits.cpu_time = Some(Duration::from_millis(300));
        let outcome = run(&p).unwrap();
        assert_eq!(outcome.limit_hit, Some(LimitHit::CpuTime));
        assert!(outcome.cpu_time >= Duration::from_millis(250), "{:?}", outcome.cpu_time);
    }

    #[test]
    fn output_limit_stops_a_flood() {
        let mut p = plan("yes", &[]);
        p.limits.output = 1 << 20;
        let outcome = run(&p).unwrap();
        assert_eq!(outcome.limit_hit, Some(LimitHit::Output));
        assert_eq!(outcome.stdout.len(), 1 << 20);
    }

    #[test]
    fn background_children_do_not_hold_the_run_open() {
        let mut p = plan("sh", &["-c", "sleep 30 & echo started"]);
        p.limits.wall_time = Duration::from_secs(20);
        let outcome = run(&p).unwrap();
        assert_eq!(outcome.stdout, b"started\n");
        assert_eq!(outcome.limit_hit, None);
        assert!(outcome.wall_time < Duration::from_secs(20));
    }

    fn confined(program: &str, args: &[&str], workdir: &std::path::Path) -> RunPlan {
        let mut p = plan(program, args);
        p.cwd = workdir.to_path_buf();
        p.env.push(("HOME".into(), workdir.into()));
        p.confine = Some(Confinement::run(workdir.to_path_buf()));
        p
    }

    #[test]
    fn confined_runs_write_only_their_folder() {
        if probe::layers().landlock_abi == 0 {
            return;
        }
        let workdir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("escaped");
        let script =
            format!("echo in > inside; echo out > {}; cat {}/../passwd-copy", target.display(), "/nonexistent");
        let outcome = run(&confined("sh", &["-c", &script], workdir.path())).unwrap();
        assert!(workdir.path().join("inside").exists());
        assert!(!target.exists());
        assert!(String::from_utf8_lossy(&outcome.stderr).contains("Permission denied"), "{outcome:?}");
    }

    #[test]
    fn confined_runs_cannot_open_network_sockets() {
        if !probe::layers().seccomp || !std::path::Path::new("/usr/bin/python3").exists() {
            return;
        }
        let workdir = tempfile::tempdir().unwrap();
        let code = "import socket\ntry:\n socket.socket(socket.AF_INET)\n print('open')\nexcept OSError as e:\n print(e.errno)";
        let outcome = run(&confined("/usr/bin/python3", &["-c", code], workdir.path())).unwrap();
        assert_eq!(String::from_utf8_lossy(&outcome.stdout).trim(), libc::EPERM.to_string());
    }

    #[test]
    fn daemons_of_a_confined_run_do_not_outlive_it() {
        let workdir = tempfile::tempdir().unwrap();
        let script = "setsid sh -c 'sleep 30 & echo $! > daemon.pid' & sleep 0.2; exit 0";
        let outcome = run(&confined("sh", &["-c", script], workdir.path())).unwrap();
        assert!(outcome.success(), "{outcome:?}");
        let pid: i32 = std::fs::read_to_string(workdir.path().join("daemon.pid")).unwrap().trim().parse().unwrap();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(state.is_empty(), "the daemon is still there: {state}");
    }

    #[test]
    fn java_and_node_start_under_confinement() {
        let workdir = tempfile::tempdir().unwrap();
        for (program, args) in [("/usr/bin/java", &["-version"][..]), ("/usr/bin/node", &["-e", "1"][..])] {
            if !std::path::Path::new(program).exists() {
                continue;
            }
            let mut p = confined(program, args, workdir.path());
            p.limits.memory = Some(512 << 20);
            let outcome = run(&p).unwrap();
            assert!(outcome.success(), "{program}: {outcome:?} {}", String::from_utf8_lossy(&outcome.stderr));
        }
    }

    #[test]
    fn path_keeps_only_the_folders_others_can_reach() {
        use std::os::unix::fs::PermissionsExt;
        let private = tempfile::tempdir().unwrap();
        std::fs::create_dir(private.path().join("bin")).unwrap();
        std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = format!("{}:/usr/bin", private.path().join("bin").display());
        let env: Vec<(OsString, OsString)> = vec![("PATH".into(), path.into()), ("HOME".into(), "/w".into())];
        let expected: Vec<(OsString, OsString)> =
            vec![("PATH".into(), "/usr/bin".into()), ("HOME".into(), "/w".into())];
        assert_eq!(reachable_path(&env), expected);
        assert_eq!(reachable_path(&env), expected, "the same again, from what was worked out before");
    }

    #[test]
    fn missing_program_is_an_error_not_a_panic() {
        assert!(run(&plan("/nonexistent/program", &[])).is_err());
    }
}
