//! User, PID, network, IPC, UTS and mount namespaces, entered between fork and exec: the child of the
//! grader makes the namespaces and forks a small init (PID 1 of the run), which forks the program; the
//! program confines itself (Landlock, seccomp, RLIMIT_NPROC counted inside the new user namespace) and
//! returns to `Command`'s exec. When init ends, the kernel kills everything left in the namespace; init
//! hands the program's wait status and usage to the first child, which ends the same way and relays the
//! usage to the grader.
//!
//! Every step is a system call on data prepared before the fork: nothing allocates or takes a lock in
//! the children of the (multithreaded) grader. That spares the exec of a trampoline binary, the largest
//! part of a launch's cost on virtual machines, where an exec costs a millisecond.
//!
//! Only programs that opt in with [`enable`] (the grader's `main` does) use the layer: elsewhere (unit
//! tests, other embedders) it reports itself off.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use super::affinity::Mask;
use super::{landlock, seccomp};

const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWNS;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Lets this process's confined runs go through namespaces (where the machine allows them). To be
/// called before the first run: the layers are probed once.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether this process opted in with [`enable`].
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether runs can go through namespaces here: opted in, and a user namespace with its own ID maps
/// can be made by the run's user.
pub fn available() -> Result<(), String> {
    if !enabled() {
        return Err("this program did not enable the namespace layer".into());
    }
    can_make_namespaces(super::is_root().then_some(super::UNPRIVILEGED_ID))
}
fn can_make_namespaces(drop_to: Option<u32>) -> Result<(), String> {
    let maps = IdMaps::new(drop_to);
    // SAFETY: the child only makes system calls on data prepared above, then _exits; the parent waits.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return Err(format!("cannot fork: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            if let Some(id) = drop_to
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(id) != 0 || libc::setuid(id) != 0)
            {
                libc::_exit(1);
            }
            // A change of user makes the process undumpable, which locks its /proc/self/*_map files; the
            // real runs exec after the change, which restores it.
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            if libc::unshare(NAMESPACES) != 0 {
                libc::_exit(2);
            }
            libc::_exit(if maps.write().is_ok() { 0 } else { 3 });
        }
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
            (true, 0) => Ok(()),
            (true, 2) => Err("unprivileged user namespaces are not allowed here (unshare failed)".into()),
            (true, 3) => Err("user namespaces cannot map IDs here (AppArmor or sysctl restriction)".into()),
            _ => Err("the namespace probe failed".into()),
        }
    }
}

/// The ID maps of a fresh user namespace: the same uid and gid inside as outside, nothing else.
struct IdMaps {
    uid_map: CString,
    gid_map: CString,
}

impl IdMaps {
    fn new(run_as: Option<u32>) -> IdMaps {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = run_as.map_or_else(|| unsafe { (libc::getuid(), libc::getgid()) }, |id| (id, id));
        IdMaps {
            uid_map: CString::new(format!("{uid} {uid} 1")).unwrap_or_default(),
            gid_map: CString::new(format!("{gid} {gid} 1")).unwrap_or_default(),
        }
    }

    /// Writes the maps of the calling process. Async-signal-safe.
    fn write(&self) -> io::Result<()> {
        write_file(c"/proc/self/setgroups", c"deny")?;
        write_file(c"/proc/self/uid_map", &self.uid_map)?;
        write_file(c"/proc/self/gid_map", &self.gid_map)
    }
}

fn write_file(path: &std::ffi::CStr, text: &std::ffi::CStr) -> io::Result<()> {
    let bytes = text.to_bytes();
    // SAFETY: valid C strings; the descriptor is ours and closed here.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        libc::close(fd);
        if written != bytes.len() as isize {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// What a child needs to enter the namespaces, all made before the fork.
pub struct Entry {
    maps: IdMaps,
    /// A Landlock ruleset for the program to enforce (after allowing the namespace's own /proc).
    pub landlock: Option<RawFd>,
    /// Where the program's [`Usage`] goes.
    pub relay: RawFd,
    /// Init's report to the first child (read end, write end), made before the fork: in the child, the
    /// run's descriptor limit is already set, and the grader's low descriptors may all be taken.
    status: (RawFd, RawFd),
    pub seccomp: Option<(Vec<seccomp::Instruction>, Vec<seccomp::Instruction>)>,
    /// RLIMIT_NPROC inside the namespace.
    pub nproc: u64,
    /// RLIMIT_NOFILE, set just before the exec (the grader's descriptors are still open until then).
    pub open_files: Option<u64>,
    /// The CPU set the program gets back (init keeps the one it starts with).
    pub affinity: Option<Mask>,
}

impl Entry {
    /// For a run as `run_as` (the grader's own user when `None`), reporting on `relay`, with `status` a
    /// pipe (read end, write end) for init's report, which the caller keeps open until the spawn returned.
    pub fn new(run_as: Option<u32>, relay: RawFd, status: (RawFd, RawFd)) -> Entry {
        Entry {
            maps: IdMaps::new(run_as),
            landlock: None,
            relay,
            status,
            seccomp: None,
            nproc: 0,
            open_files: None,
            affinity: None,
        }
    }

    /// In the child between fork and exec, after its change of user: makes the namespaces and forks init,
    /// which forks the program. Returns `Ok` only in the program, confined and ready to exec; the first
    /// child and init end here. An error before init exists is the caller's to report (as a failed
    /// spawn).
    ///
    /// # Safety
    /// To be called only between fork and exec, in the child of a fork (it forks and ends processes).
    pub unsafe fn enter(&self) -> io::Result<()> {
        // SAFETY: system calls on values prepared before the fork; each result is checked.
        unsafe {
            // A change of user makes the process undumpable, which locks its /proc/self/*_map files.
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            check(libc::unshare(NAMESPACES))?;
            self.maps.write()?;
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            let (read_end, write_end) = self.status;
            let init = check(libc::fork())?;
            if init == 0 {
                libc::close(read_end);
                return self.init(write_end);
            }
            // Only the program may keep `Command`'s exec-error pipe: spawn returns once it execs.
            close_all_but([read_end, self.relay]);
            relay_and_end(init, read_end, self.relay)
        }
    }

    /// PID 1 of the run: a fresh /proc, then the program as its only child; reports how it ended and
    /// ends. Returns only in the program.
    unsafe fn init(&self, status_pipe: RawFd) -> io::Result<()> {
        // SAFETY: mount, sethostname and fork on constant data; a failed mount leaves the host's /proc
        // (still Landlock-limited).
        let program = unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            let none = std::ptr::null::<libc::c_char>();
            if libc::mount(none, c"/".as_ptr(), none, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()) == 0 {
                libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                );
            }
            libc::sethostname(c"takehome".as_ptr(), 8);
            libc::fork()
        };
        if program == 0 {
            // SAFETY: closing the program's copy of the status pipe; then confining it.
            unsafe {
                libc::close(status_pipe);
                return self.confine_program();
            }
        }
        // SAFETY: init keeps only the status pipe; it waits for its children and ends.
        unsafe {
            close_all_but([status_pipe, status_pipe]);
            let started = std::time::Instant::now();
            let mut status = libc::W_EXITCODE(126, 0);
            let mut usage: libc::rusage = std::mem::zeroed();
            // Init also reaps the orphans of the namespace until the program ends.
            if program > 0 {
                loop {
                    let mut any = 0;
                    let pid = libc::wait4(-1, &mut any, 0, &mut usage);
                    if pid == program {
                        status = any;
                        break;
                    }
                    if pid < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                        break;
                    }
                }
            }
            let message = encode_usage(status, &usage, started.elapsed());
            libc::write(status_pipe, message.as_ptr().cast(), MESSAGE);
            libc::_exit(0)
        }
    }

    /// Applies the process limit, Landlock and seccomp to the program, just before its exec.
    unsafe fn confine_program(&self) -> io::Result<()> {
        if let Some(mask) = &self.affinity {
            // Best effort: a CPU taken away meanwhile leaves the program where init is.
            mask.apply();
        }
        let limit = libc::rlimit { rlim_cur: self.nproc, rlim_max: self.nproc };
        // SAFETY: plain system calls on values prepared before the fork.
        unsafe {
            if libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(fd) = self.landlock {
                // The ruleset allowed the host's /proc; this namespace has its own.
                landlock::allow_read(fd, c"/proc")?;
                landlock::restrict_self(fd)?;
                libc::close(fd);
            }
            if let Some((deny, hide_clone3)) = &self.seccomp {
                seccomp::install(deny)?;
                seccomp::install(hide_clone3)?;
            }
        }
        if let Some(files) = self.open_files {
            super::set_limit(libc::RLIMIT_NOFILE, files)?;
        }
        Ok(())
    }
}

/// Closes every descriptor but the two given (which may be the same).
unsafe fn close_all_but(keep: [RawFd; 2]) {
    let (low, high) = (keep[0].min(keep[1]) as u32, keep[0].max(keep[1]) as u32);
    // SAFETY: close_range on the ranges around the descriptors kept.
    unsafe {
        if low > 0 {
            libc::syscall(libc::SYS_close_range, 0u32, low - 1, 0u32);
        }
        if high > low + 1 {
            libc::syscall(libc::SYS_close_range, low + 1, high - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, high + 1, u32::MAX, 0u32);
    }
}

/// The first child's end: waits for init, relays the program's usage and ends the way it did.
unsafe fn relay_and_end(init: libc::pid_t, status_pipe: RawFd, relay: RawFd) -> ! {
    let mut status = 0;
    let mut message = [0u8; MESSAGE];
    // SAFETY: waiting for our only child, reading at most MESSAGE bytes, writing what was read.
    unsafe {
        while libc::waitpid(init, &mut status, 0) < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {
        }
        let got = libc::read(status_pipe, message.as_mut_ptr().cast(), MESSAGE);
        if got == MESSAGE as isize {
            libc::write(relay, message[4..].as_ptr().cast(), MESSAGE - 4);
            status = i32::from_ne_bytes([message[0], message[1], message[2], message[3]]);
        }
        end_like(status)
    }
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

/// Init's report: the program's wait status, then its [`Usage`] as four u64 (microseconds of user and
/// system time, peak resident kilobytes, microseconds of wall time from its fork to its end).
const MESSAGE: usize = 4 + 4 * 8;

/// The program's own CPU time, peak memory and wall time, without those of the processes above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub cpu_time: std::time::Duration,
    pub peak_memory: u64,
    /// From the program's fork inside the namespaces to its end: setting the namespaces up is not the
    /// program's time (and would otherwise dominate a benchmark of a short program).
    pub wall_time: std::time::Duration,
}

fn encode_usage(status: i32, usage: &libc::rusage, wall: std::time::Duration) -> [u8; MESSAGE] {
    let micros = |tv: libc::timeval| (tv.tv_sec.max(0) as u64) * 1_000_000 + tv.tv_usec.max(0) as u64;
    let mut message = [0u8; MESSAGE];
    message[..4].copy_from_slice(&status.to_ne_bytes());
    message[4..12].copy_from_slice(&micros(usage.ru_utime).to_ne_bytes());
    message[12..20].copy_from_slice(&micros(usage.ru_stime).to_ne_bytes());
    message[20..28].copy_from_slice(&(usage.ru_maxrss.max(0) as u64).to_ne_bytes());
    message[28..36].copy_from_slice(&u64::try_from(wall.as_micros()).unwrap_or(u64::MAX).to_ne_bytes());
    message
}

/// Reads what the first child relayed, once it has ended; `None` when it was killed before.
pub fn read_usage(fd: &std::os::fd::OwnedFd) -> Option<Usage> {
    use std::os::fd::AsRawFd;
    let mut bytes = [0u8; MESSAGE - 4];
    // SAFETY: a non-blocking read of at most the buffer's length from a descriptor we own.
    let got = unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
        libc::read(fd.as_raw_fd(), bytes.as_mut_ptr().cast(), bytes.len())
    };
    if got != bytes.len() as isize {
        return None;
    }
    let number = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    Some(Usage {
        cpu_time: std::time::Duration::from_micros(number(0) + number(8)),
        peak_memory: number(16) * 1024,
        wall_time: std::time::Duration::from_micros(number(24)),
    })
}

/// Ends this process the way `status` says the program ended, without running anything of the
/// grader's (no exit handlers, no flushing of buffers it copied).
unsafe fn end_like(status: i32) -> ! {
    // SAFETY: restoring the default action and raising: the process ends by that signal; otherwise _exit.
    unsafe {
        if libc::WIFSIGNALED(status) {
            let signal = libc::WTERMSIG(status);
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
            libc::_exit(128 + signal);
        }
        libc::_exit(libc::WEXITSTATUS(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_programs_usage_survives_the_relay() {
        // SAFETY: an all-zero rusage is a valid value of this plain C struct.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        usage.ru_utime = libc::timeval { tv_sec: 1, tv_usec: 250 };
        usage.ru_stime = libc::timeval { tv_sec: 0, tv_usec: 500 };
        usage.ru_maxrss = 2048;
        let message = encode_usage(0, &usage, std::time::Duration::from_micros(7_000_123));
        let (read, write) = super::super::pipe().unwrap();
        let mut writer = std::fs::File::from(write);
        std::io::Write::write_all(&mut writer, &message[4..]).unwrap();
        let relayed = read_usage(&read).unwrap();
        assert_eq!(relayed.cpu_time, std::time::Duration::from_micros(1_000_750));
        assert_eq!(relayed.peak_memory, 2048 * 1024);
        assert_eq!(relayed.wall_time, std::time::Duration::from_micros(7_000_123));
    }

    #[test]
    fn library_use_has_no_namespaces() {
        assert!(!enabled());
        assert!(available().is_err());
    }
}
