//! Starting a process under a [`RunPlan`]'s layers, shared by [`run`](super::run) (to its end) and
//! [`spawn`](super::spawn) (long-lived): the confinement is prepared in the grader, the child applies it
//! between fork and exec with system calls only, and the new leader is registered with the reaper. Also
//! the clean-up both do when a process ends: nothing of it may remain.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::probe::Layers;
use super::{
    DEFAULT_TASKS, RunPlan, UNPRIVILEGED_ID, affinity, cgroup, confine, is_root, landlock, namespaces, overlay, reaper,
    seccomp,
};

/// A confined process just started, with everything that must live as long as it does.
pub(super) struct Launched {
    pub child: Child,
    pub pid: libc::pid_t,
    pub started: Instant,
    /// The Landlock ruleset and the cgroup; dropping it removes the cgroup.
    pub prepared: Option<confine::Prepared>,
    /// Through namespaces: where init reports how the program ended (see [`namespaces::read_usage`]).
    pub usage_reader: Option<OwnedFd>,
    /// With a layered working folder: where init sends what the program wrote (see
    /// [`overlay::receive_written`]).
    pub written: Option<OwnedFd>,
    /// The network namespace the run entered: to be dropped once the first child is reaped.
    pub network: Option<namespaces::NetworkLease>,
}

impl Launched {
    /// Levels of the tree above the program: the first child and the namespace's init, or none.
    pub fn wrapper_depth(&self) -> u32 {
        if self.usage_reader.is_some() { 2 } else { 0 }
    }

    pub fn cgroup(&self) -> Option<&cgroup::RunGroup> {
        self.prepared.as_ref().and_then(|p| p.cgroup.as_ref())
    }
}

/// What a caller adds to the plan: where stdin comes from (stdout and stderr are always piped), whether
/// the cgroup should have a freezer (for pausing a long-lived process), and a descriptor the program
/// inherits under its own number (every other one beyond stderr is closed).
pub(super) struct Extras {
    pub stdin: Stdio,
    pub freezer: bool,
    pub inherit: Option<RawFd>,
}

/// Starts `plan` confined by `layers`. Errors are the grader's (cannot prepare or spawn), including a
/// program that cannot be executed.
pub(super) fn launch(plan: &RunPlan, layers: &Layers, extras: Extras) -> io::Result<Launched> {
    let drop_to = (plan.drop_privileges && is_root()).then_some(UNPRIVILEGED_ID);
    let env = if drop_to.is_some() { super::reachable_path(&plan.env) } else { plan.env.clone() };
    let program = super::resolve_program(&plan.program, &env);
    let prepared = match &plan.confine {
        Some(confinement) => {
            let needs = confine::Needs { limits: &plan.limits, run_as: drop_to, freezer: extras.freezer };
            Some(confine::Prepared::new(confinement, layers, &plan.cwd, &env, &needs)?)
        }
        None => None,
    };
    let mut child = prepared.as_ref().map_or_else(confine::ChildSide::unconfined, confine::Prepared::for_child);
    // Through the namespaces, how the program ended (its status, CPU time, peak memory) comes back on
    // this pipe.
    let mut usage_pipe: Option<(OwnedFd, OwnedFd)> = None;
    // The child (and the namespace's init) starts on this thread's CPU (see `affinity`); the program
    // gets the thread's own CPU set back before it starts.
    let pinned = affinity::Pinned::here();
    let restore = pinned.as_ref().map(affinity::Pinned::saved);
    let mut entry = None;
    // The program's exec error: our write end closes once the spawn returned; the same for the socket of
    // what the program writes (with a layered working folder).
    let mut exec_error: Option<(OwnedFd, OwnedFd)> = None;
    let mut written: Option<(OwnedFd, OwnedFd)> = None;
    let mut network = None;
    if child.namespaces {
        let pipe = super::pipe()?;
        let error = super::pipe()?;
        let exec = namespaces::Exec::new(&program, &plan.args, &env)?;
        let mut namespaces = namespaces::Entry::new(drop_to, exec, pipe.1.as_raw_fd(), error.1.as_raw_fd());
        exec_error = Some(error);
        namespaces.landlock = child.landlock.take();
        namespaces.seccomp = child.seccomp.take();
        namespaces.nproc = plan.confine.as_ref().map_or(DEFAULT_TASKS, |c| c.tasks);
        namespaces.open_files = plan.limits.open_files;
        namespaces.affinity = restore;
        if let Some(scratch) = plan.confine.as_ref().and_then(|c| c.scratch) {
            let (receiver, sender) = socket_pair()?;
            // A folder whose path mount options cannot carry is written on disk, as without namespaces.
            namespaces.overlay = overlay::Overlay::new(&plan.cwd, scratch, sender.as_raw_fd()).ok();
            written = Some((receiver, sender));
        }
        network = namespaces::lease_network(drop_to);
        namespaces.enter_network(network.as_ref().and_then(namespaces::NetworkLease::descriptors));
        if let Some(prepared) = &prepared {
            namespaces.keep_host_read_only(&prepared.writable);
        }
        entry = Some(namespaces);
        usage_pipe = Some(pipe);
    }
    let mut command = Command::new(&program);
    command.args(&plan.args);
    command
        .current_dir(&plan.cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(extras.stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    confine_before_exec(&mut command, child, &plan.limits, drop_to, entry, restore, extras.inherit);
    let started = Instant::now();
    let (spawned, pid) = {
        // Registered under the reaper's lock, so no sweep takes the new leader for an orphan.
        let mut registry = reaper::lock();
        let spawned = command.spawn()?;
        let pid = spawned.id() as libc::pid_t;
        registry.register(pid);
        (spawned, pid)
    };
    drop(command);
    drop(pinned);
    let failed_exec = exec_error.and_then(|(read, write)| {
        drop(write);
        namespaces::read_exec_error(&read)
    });
    if let Some(error) = failed_exec {
        let mut failed = spawned;
        super::kill_group(pid);
        let _ = failed.wait();
        reaper::unregister(pid);
        return Err(error);
    }
    // Our copy of the report's write end closes here: only init holds one.
    let usage_reader = usage_pipe.map(|(read, _write)| read);
    let written = written.map(|(receiver, _sender)| receiver);
    Ok(Launched { child: spawned, pid, started, prepared, usage_reader, written, network })
}

fn confine_before_exec(
    command: &mut Command,
    child: confine::ChildSide,
    limits: &super::RunLimits,
    drop_to: Option<u32>,
    namespaces: Option<namespaces::Entry>,
    affinity: Option<affinity::Mask>,
    inherit: Option<RawFd>,
) {
    let limits = *limits;
    // SAFETY: the closure runs in the child between fork and exec. It calls only async-signal-safe
    // system calls (setsid, prctl, open/write/close, setrlimit, close_range, fcntl, setgroups, setgid,
    // setuid, sched_setaffinity, landlock_restrict_self, seccomp; and through the namespaces unshare,
    // pipe2, fork, mount, wait4, _exit) on values computed before the fork, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(procs) = &child.cgroup {
                for path in procs {
                    cgroup::join(path)?;
                }
            }
            super::set_limit(libc::RLIMIT_CORE, 0)?;
            if let Some(cpu) = limits.cpu_time {
                // A backstop: the poller stops the run at the exact limit.
                super::set_limit(libc::RLIMIT_CPU, cpu.as_secs() + 2)?;
            }
            if let Some(memory) = limits.memory {
                super::set_limit(libc::RLIMIT_DATA, memory.saturating_mul(2))?;
            }
            if let Some(size) = limits.file_size {
                super::set_limit(libc::RLIMIT_FSIZE, size)?;
            }
            // Through namespaces, the program sets it last: until its exec, every process of the chain
            // holds the grader's descriptors, and the steps before open some of their own.
            if let Some(files) = limits.open_files.filter(|_| namespaces.is_none()) {
                super::set_limit(libc::RLIMIT_NOFILE, files)?;
            }
            if let Some(tasks) = child.nproc {
                super::set_limit(libc::RLIMIT_NPROC, tasks)?;
            }
            // Mark every inherited descriptor close-on-exec (closing would break std's exec-error pipe).
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as libc::c_uint);
            if let Some(fd) = inherit {
                libc::fcntl(fd, libc::F_SETFD, 0);
            }
            if let Some(id) = drop_to
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(id) != 0 || libc::setuid(id) != 0)
            {
                return Err(io::Error::last_os_error());
            }
            // After the change of user, which clears it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            // Every sandboxed process carries it: the mark by which the reaper knows our orphans.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(namespaces) = &namespaces {
                // The program confines itself inside the namespaces, and execs there.
                return Err(namespaces.enter());
            }
            if let Some(mask) = &affinity {
                mask.apply();
            }
            if let Some(fd) = child.landlock {
                landlock::restrict_self(fd)?;
            }
            if let Some(filter) = child.seccomp {
                seccomp::install(filter)?;
            }
            Ok(())
        });
    }
}

/// Kills whatever is left of a process that ended or is being stopped: its process group, every process
/// seen in its tree (when still the same process), its cgroup, and the orphans the subreaper caught.
///
/// After init's report (`init_reported`), only the process group is killed: init ends once it has
/// reported, and the kernel kills everything left in its PID namespace as it ends (orphans there are
/// init's, never the grader's); the first child ends after init, and its cgroup is given out again only
/// once empty.
pub(super) fn contain_leftovers(
    pid: libc::pid_t,
    seen: &std::collections::HashMap<libc::pid_t, u64>,
    group: Option<&cgroup::RunGroup>,
    init_reported: bool,
) {
    super::kill_group(pid);
    reaper::unregister(pid);
    if init_reported {
        return;
    }
    reaper::kill_seen(seen);
    if let Some(group) = group {
        group.kill_all();
    }
    reaper::reap_orphans();
}

/// A connected pair of Unix datagram sockets (close-on-exec).
fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two new descriptors into the array.
    if unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are fresh descriptors nobody else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
