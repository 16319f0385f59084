//! A long-lived confined process (a protocol node): started with the same layers as [`run`](super::run),
//! its stdin, stdout and stderr handed to the caller, its memory and CPU time watched by a thread of its
//! own, and everything of it killed and reaped when it is killed or dropped.
//!
//! There is no wall timer and no output cap: the caller owns the pipes and decides when it ends.
//!
//! Processes are started from one long-lived thread of the grader: `PR_SET_PDEATHSIG` fires when the
//! *thread* that forked a process ends, so a node started from a short-lived worker thread would be
//! killed with it.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::launch::{self, Extras, Launched};
use super::probe::{self, Layers};
use super::{LimitHit, RunLimits, RunPlan, Status, confine, namespaces, reaper, tree_usage};

/// How often a spawned process's tree is sampled for its memory and CPU time.
const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// CPU time and peak memory of a spawned process and its descendants, and the limit that stopped it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnUsage {
    /// `None` when the machine cannot tell (no /proc).
    pub cpu_time: Option<Duration>,
    /// Peak resident memory in bytes, `None` when the machine cannot tell.
    pub peak_memory: Option<u64>,
    pub limit_hit: Option<LimitHit>,
}

/// Starts `plan` confined like [`run`](super::run) does (rlimits, Landlock, seccomp, cgroup, namespaces,
/// `nobody` when asked), with stdin, stdout and stderr piped to the caller. `plan.stdin`,
/// `plan.limits.wall_time` and `plan.limits.output` are ignored; the memory and CPU limits apply.
pub fn spawn(plan: &RunPlan) -> io::Result<Spawned> {
    start(plan, probe::layers(), None)
}

/// [`spawn`], the process inheriting descriptor `inherit` under its own number.
pub(super) fn spawn_inheriting(plan: &RunPlan, inherit: std::os::fd::RawFd) -> io::Result<Spawned> {
    start(plan, probe::layers(), Some(inherit))
}

fn start(plan: &RunPlan, layers: &'static Layers, inherit: Option<std::os::fd::RawFd>) -> io::Result<Spawned> {
    let job_plan = plan.clone();
    let extras = move || Extras { stdin: Stdio::piped(), freezer: true, inherit };
    let launched = on_spawner_thread(move || launch::launch(&job_plan, layers, extras()))??;
    Ok(Spawned::watch(launched, plan.limits))
}

/// A process started by [`spawn`]. Dropping it kills and reaps every process of it.
pub struct Spawned {
    pid: libc::pid_t,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    limits: RunLimits,
    wrapper_depth: u32,
    watch: Arc<Mutex<Watch>>,
    /// Dropped to stop the watcher at once.
    stop_watcher: Option<Sender<()>>,
    watcher: Option<JoinHandle<()>>,
    /// The Landlock ruleset and the cgroup: kept until the process ends.
    prepared: Option<confine::Prepared>,
    usage_reader: Option<OwnedFd>,
    /// Lent back once the process is reaped.
    network: Option<super::namespaces::NetworkLease>,
    pidfd: Option<OwnedFd>,
    paused: bool,
    ended: Option<(Status, SpawnUsage)>,
}

/// What the watcher and the owner share; the lock also keeps a signal from racing the reaping of the
/// leader (after which its pid could name another process).
struct Watch {
    reaped: bool,
    seen: HashMap<libc::pid_t, u64>,
    cpu_polled: Option<Duration>,
    peak_polled: Option<u64>,
    limit_hit: Option<LimitHit>,
}

impl Watch {
    fn record(&mut self, usage: tree_usage::TreeUsage) {
        self.cpu_polled = Some(self.cpu_polled.unwrap_or_default().max(usage.cpu_time));
        self.peak_polled = Some(self.peak_polled.unwrap_or_default().max(usage.rss));
    }
}

impl Spawned {
    fn watch(mut launched: Launched, limits: RunLimits) -> Spawned {
        let pid = launched.pid;
        let watch = Arc::new(Mutex::new(Watch {
            reaped: false,
            seen: HashMap::new(),
            cpu_polled: None,
            peak_polled: None,
            limit_hit: None,
        }));
        let wrapper_depth = launched.wrapper_depth();
        let (stop_watcher, stopped) = mpsc::channel();
        let shared = Arc::clone(&watch);
        let watcher = std::thread::Builder::new()
            .name(format!("sandbox-watch-{pid}"))
            .spawn(move || watch_limits(pid, wrapper_depth, limits, &shared, &stopped))
            .ok();
        Spawned {
            pid,
            stdin: launched.child.stdin.take(),
            stdout: launched.child.stdout.take(),
            stderr: launched.child.stderr.take(),
            limits,
            wrapper_depth,
            watch,
            stop_watcher: Some(stop_watcher),
            watcher,
            prepared: launched.prepared.take(),
            usage_reader: launched.usage_reader.take(),
            network: launched.network.take(),
            pidfd: super::pidfd_open(pid),
            paused: false,
            ended: None,
        }
    }

    /// The process id of what was started (the first child's, when it goes through namespaces); also
    /// the id of its process group.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.stderr.take()
    }

    /// SIGKILL to every process of it (cgroup, process group, descendants seen), then reaps. Idempotent.
    pub fn kill(&mut self) {
        if self.ended.is_some() {
            return;
        }
        loop {
            {
                let watch = lock(&self.watch);
                if watch.reaped {
                    break;
                }
                self.signal_all(&watch, libc::SIGKILL);
            }
            // Frozen processes die only once thawed; stopped ones die as they are.
            if self.paused {
                self.paused = false;
                if let Some(group) = self.cgroup().filter(|g| g.has_freezer()) {
                    let _ = group.freeze(false);
                }
            }
            match self.wait_timeout(Duration::from_millis(100)) {
                Ok(Some(_)) => return,
                Ok(None) => {}
                // Not our child any more (cannot happen unless someone else reaped it): clean up anyway.
                Err(_) => {
                    lock(&self.watch).reaped = true;
                    self.finish(libc::W_EXITCODE(0, libc::SIGKILL), None);
                    return;
                }
            }
        }
    }

    /// Stops every process of it: the cgroup freezer where there is one, else SIGSTOP to its process
    /// group and to every process of its tree.
    pub fn pause(&mut self) -> io::Result<()> {
        self.stop_or_continue(true)
    }

    /// Undoes [`pause`](Spawned::pause).
    pub fn resume(&mut self) -> io::Result<()> {
        self.stop_or_continue(false)
    }

    fn stop_or_continue(&mut self, stop: bool) -> io::Result<()> {
        if self.ended.is_some() {
            return Ok(());
        }
        if let Some(group) = self.cgroup().filter(|g| g.has_freezer()) {
            group.freeze(stop)?;
        } else {
            let signal = if stop { libc::SIGSTOP } else { libc::SIGCONT };
            let mut watch = lock(&self.watch);
            if watch.reaped {
                return Ok(());
            }
            // Twice: a process forked while the first round went by is caught by the second.
            for _ in 0..2 {
                let usage = tree_usage::sample(self.pid, 0, &mut watch.seen);
                watch.record(usage);
                self.signal_all(&watch, signal);
            }
        }
        self.paused = stop;
        Ok(())
    }

    /// How it ended, if it has (non-blocking). Once it has, whatever it left is killed.
    pub fn try_wait(&mut self) -> io::Result<Option<Status>> {
        if let Some((status, _)) = self.ended {
            return Ok(Some(status));
        }
        let reaped = {
            let mut watch = lock(&self.watch);
            let reaped = super::wait_child(self.pid, libc::WNOHANG)?;
            watch.reaped = reaped.is_some();
            reaped
        };
        Ok(reaped.map(|(status, usage)| self.finish(status, Some(usage))))
    }

    /// Waits up to `limit` for it to end.
    pub fn wait_timeout(&mut self, limit: Duration) -> io::Result<Option<Status>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            match &self.pidfd {
                Some(fd) => {
                    let mut poll = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                    let millis = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
                    // SAFETY: one valid pollfd, as we say.
                    unsafe { libc::poll(&raw mut poll, 1, millis) };
                }
                None => std::thread::sleep(left.min(Duration::from_millis(2))),
            }
        }
    }

    /// CPU time and peak memory so far (or final, once ended), and the limit that stopped it, if any.
    #[must_use]
    pub fn usage(&self) -> SpawnUsage {
        if let Some((_, usage)) = self.ended {
            return usage;
        }
        let mut watch = lock(&self.watch);
        if !watch.reaped {
            let usage = tree_usage::sample(self.pid, self.wrapper_depth, &mut watch.seen);
            watch.record(usage);
        }
        SpawnUsage { cpu_time: watch.cpu_polled, peak_memory: watch.peak_polled, limit_hit: watch.limit_hit }
    }

    fn cgroup(&self) -> Option<&super::cgroup::RunGroup> {
        self.prepared.as_ref().and_then(|p| p.cgroup.as_ref())
    }

    /// Sends `signal` to its process group, to every process seen in its tree, and to its cgroup. The
    /// caller holds the lock and has checked the leader is not reaped.
    fn signal_all(&self, watch: &Watch, signal: libc::c_int) {
        // SAFETY: kill has no memory effects; `pid` is our unreaped child, leader of its own group.
        unsafe {
            libc::kill(-self.pid, signal);
        }
        for (&pid, &started) in &watch.seen {
            if reaper::start_time(pid) == Some(started) {
                // SAFETY: as above; the start time tells this is still the process we saw.
                unsafe {
                    libc::kill(pid, signal);
                }
            }
        }
        if let Some(group) = self.cgroup() {
            group.signal(signal);
        }
    }

    /// After the leader was reaped: kills what is left, takes the final usage, and says why it ended.
    fn finish(&mut self, raw_status: i32, rusage: Option<libc::rusage>) -> Status {
        drop(self.stop_watcher.take());
        if let Some(watcher) = self.watcher.take() {
            let _ = watcher.join();
        }
        let watch = lock(&self.watch);
        let group = self.prepared.as_ref().and_then(|p| p.cgroup.as_ref());
        let oom_killed = group.is_some_and(super::cgroup::RunGroup::oom_killed);
        launch::contain_leftovers(self.pid, &watch.seen, group, false);
        let (cpu_polled, peak_polled, polled_hit) = (watch.cpu_polled, watch.peak_polled, watch.limit_hit);
        drop(watch);
        drop(self.prepared.take());
        drop(self.network.take());
        let relayed = self.usage_reader.take().as_ref().and_then(namespaces::read_usage);
        // Through namespaces, the first child ends the way init did; init's report says how the program did.
        let status = super::decode(relayed.map_or(raw_status, |usage| usage.wait_status));
        let (mut cpu_time, mut peak_memory) = match (relayed, rusage) {
            (Some(usage), _) => (Some(usage.cpu_time), Some(usage.peak_memory)),
            (None, Some(usage)) => (
                Some(super::timeval(usage.ru_utime) + super::timeval(usage.ru_stime)),
                Some(usage.ru_maxrss.max(0) as u64 * 1024),
            ),
            (None, None) => (None, None),
        };
        cpu_time = cpu_time.max(cpu_polled);
        peak_memory = peak_memory.max(peak_polled);
        let limit_hit = polled_hit.or_else(|| oom_killed.then_some(LimitHit::Memory)).or_else(|| {
            super::classify_after_exit(&self.limits, status, cpu_time.unwrap_or_default(), peak_memory.unwrap_or(0))
        });
        self.ended = Some((status, SpawnUsage { cpu_time, peak_memory, limit_hit }));
        status
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

fn lock(watch: &Mutex<Watch>) -> MutexGuard<'_, Watch> {
    watch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The watcher's life: samples the tree until told to stop or the leader is reaped, and kills the
/// process group when it goes over its memory or CPU limit.
fn watch_limits(pid: libc::pid_t, wrapper_depth: u32, limits: RunLimits, watch: &Mutex<Watch>, stopped: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(WATCH_INTERVAL) {
        let mut watch = lock(watch);
        if watch.reaped {
            return;
        }
        let usage = tree_usage::sample(pid, wrapper_depth, &mut watch.seen);
        watch.record(usage);
        if watch.limit_hit.is_none()
            && let Some(hit) = super::over_limit(&limits, usage)
        {
            watch.limit_hit = Some(hit);
            // The owner's next wait reaps it and kills whatever else is left.
            super::kill_group(pid);
            reaper::kill_seen(&watch.seen);
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the grader's spawner thread (started on first use, restarted if it ever died) and
/// returns its result.
fn on_spawner_thread<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    static SPAWNER: Mutex<Option<Sender<Job>>> = Mutex::new(None);
    let (reply, result) = mpsc::sync_channel(1);
    let mut job: Job = Box::new(move || {
        let _ = reply.send(job());
    });
    for _ in 0..2 {
        let mut spawner = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
        let sender = match spawner.as_ref() {
            Some(sender) => sender.clone(),
            None => {
                let (sender, jobs) = mpsc::channel::<Job>();
                std::thread::Builder::new().name("sandbox-spawner".into()).spawn(move || {
                    for job in jobs {
                        job();
                    }
                })?;
                *spawner = Some(sender.clone());
                sender
            }
        };
        drop(spawner);
        match sender.send(job) {
            Ok(()) => {
                return result.recv().map_err(|_| io::Error::other("the sandbox's spawner thread ended"));
            }
            Err(mpsc::SendError(returned)) => {
                job = returned;
                *SPAWNER.lock().unwrap_or_else(PoisonError::into_inner) = None;
            }
        }
    }
    Err(io::Error::other("cannot start the sandbox's spawner thread"))
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};

    use super::*;
    use crate::sandbox::{Confinement, plan_for_tests};

    /// The machine's layers, and the always-on layer alone (no cgroup, Landlock or seccomp).
    fn tiers() -> [&'static Layers; 2] {
        let mut bare = probe::layers().clone();
        bare.cgroup = false;
        bare.landlock_abi = 0;
        bare.seccomp = false;
        [probe::layers(), Box::leak(Box::new(bare))]
    }

    fn confined(program: &str, args: &[&str], workdir: &std::path::Path) -> RunPlan {
        let mut plan = plan_for_tests(program, args);
        plan.cwd = workdir.to_path_buf();
        plan.env.push(("HOME".into(), workdir.into()));
        plan.confine = Some(Confinement::run(workdir.to_path_buf()));
        plan
    }

    fn alive(pid: libc::pid_t) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie is dead; it only waits for the subreaper's next sweep.
        stat.rfind(')').is_some_and(|end| !stat[end + 2..].starts_with('Z'))
    }

    #[test]
    fn a_spawned_cat_echoes_a_line_back() {
        for layers in tiers() {
            let workdir = tempfile::tempdir().unwrap();
            let mut node = start(&confined("cat", &[], workdir.path()), layers, None).unwrap();
            let mut stdin = node.take_stdin().unwrap();
            let mut stdout = BufReader::new(node.take_stdout().unwrap());
            stdin.write_all(b"{\"body\":{\"type\":\"echo\"}}\n").unwrap();
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            assert_eq!(line, "{\"body\":{\"type\":\"echo\"}}\n");
            drop(stdin);
            assert_eq!(node.wait_timeout(Duration::from_secs(10)).unwrap(), Some(Status::Exited(0)));
            assert_eq!(node.usage().limit_hit, None);
        }
    }

    #[test]
    fn kill_leaves_no_process_of_it() {
        for layers in tiers() {
            let workdir = tempfile::tempdir().unwrap();
            let plan = confined("sh", &["-c", "sleep 300 & sleep 300 & echo ready; wait"], workdir.path());
            let mut node = start(&plan, layers, None).unwrap();
            let mut stdout = BufReader::new(node.take_stdout().unwrap());
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            assert_eq!(line, "ready\n");
            let pids = reaper::tree(node.pid() as libc::pid_t);
            assert!(pids.len() >= 3, "{pids:?}");
            node.kill();
            node.kill();
            assert!(pids.iter().all(|&pid| !alive(pid)), "{pids:?} still there");
            assert_eq!(node.try_wait().unwrap(), Some(Status::Signaled(libc::SIGKILL)));
        }
    }

    #[test]
    fn dropping_it_kills_it() {
        let workdir = tempfile::tempdir().unwrap();
        let node = spawn(&confined("sleep", &["300"], workdir.path())).unwrap();
        let pid = node.pid() as libc::pid_t;
        drop(node);
        assert!(!alive(pid));
    }

    #[test]
    fn pause_stops_it_answering_and_resume_restarts_it() {
        for layers in tiers() {
            let workdir = tempfile::tempdir().unwrap();
            let mut node = start(&confined("cat", &[], workdir.path()), layers, None).unwrap();
            let mut stdin = node.take_stdin().unwrap();
            let (lines_tx, lines) = mpsc::channel();
            let mut stdout = BufReader::new(node.take_stdout().unwrap());
            std::thread::spawn(move || {
                let mut line = String::new();
                while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
                    let _ = lines_tx.send(std::mem::take(&mut line));
                }
            });
            node.pause().unwrap();
            stdin.write_all(b"one\n").unwrap();
            assert!(lines.recv_timeout(Duration::from_millis(300)).is_err(), "a paused process answered");
            node.resume().unwrap();
            assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "one\n");
            stdin.write_all(b"two\n").unwrap();
            assert_eq!(lines.recv_timeout(Duration::from_secs(10)).unwrap(), "two\n");
        }
    }

    #[test]
    fn a_process_over_its_memory_is_killed_and_reported() {
        if !std::path::Path::new("/usr/bin/python3").exists() {
            return;
        }
        let grow = "import time\nx = []\nwhile True:\n x.append(bytearray(8 << 20))\n time.sleep(0.005)";
        for layers in tiers() {
            let workdir = tempfile::tempdir().unwrap();
            let mut plan = confined("/usr/bin/python3", &["-c", grow], workdir.path());
            plan.limits.memory = Some(64 << 20);
            let mut node = start(&plan, layers, None).unwrap();
            let status = node.wait_timeout(Duration::from_secs(30)).unwrap();
            assert_eq!(status, Some(Status::Signaled(libc::SIGKILL)));
            let usage = node.usage();
            assert_eq!(usage.limit_hit, Some(LimitHit::Memory), "{usage:?}");
            assert!(usage.peak_memory.unwrap_or(0) >= 32 << 20, "{usage:?}");
        }
    }

    #[test]
    fn usage_counts_the_cpu_time_of_a_busy_loop() {
        for layers in tiers() {
            let workdir = tempfile::tempdir().unwrap();
            let mut node =
                start(&confined("sh", &["-c", "while :; do :; done"], workdir.path()), layers, None).unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut cpu = Duration::ZERO;
            while cpu < Duration::from_millis(100) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                cpu = node.usage().cpu_time.unwrap_or_default();
            }
            assert!(cpu >= Duration::from_millis(100), "{cpu:?}");
            node.kill();
            let last = node.usage();
            assert!(last.cpu_time.unwrap_or_default() >= cpu, "{last:?}");
            assert_eq!(last.limit_hit, None);
        }
    }

    #[test]
    fn the_cpu_limit_still_applies() {
        let workdir = tempfile::tempdir().unwrap();
        let mut plan = confined("sh", &["-c", "while :; do :; done"], workdir.path());
        plan.limits.cpu_time = Some(Duration::from_millis(200));
        let mut node = spawn(&plan).unwrap();
        assert_eq!(node.wait_timeout(Duration::from_secs(30)).unwrap(), Some(Status::Signaled(libc::SIGKILL)));
        assert_eq!(node.usage().limit_hit, Some(LimitHit::CpuTime));
    }

    #[test]
    fn spawning_from_a_thread_that_ends_does_not_kill_it() {
        let workdir = tempfile::tempdir().unwrap();
        let plan = confined("cat", &[], workdir.path());
        let mut node = std::thread::spawn(move || spawn(&plan).unwrap()).join().unwrap();
        let mut stdin = node.take_stdin().unwrap();
        let mut stdout = BufReader::new(node.take_stdout().unwrap());
        stdin.write_all(b"still here\n").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "still here\n");
    }

    #[test]
    fn a_spawned_process_can_move_to_another_thread() {
        fn movable<T: Send>(_: &T) {}
        let workdir = tempfile::tempdir().unwrap();
        let node = spawn(&confined("sleep", &["300"], workdir.path())).unwrap();
        movable(&node);
        std::thread::spawn(move || drop(node)).join().unwrap();
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let workdir = tempfile::tempdir().unwrap();
        assert!(spawn(&confined("/nonexistent/program", &[], workdir.path())).is_err());
    }
}
