//! User, PID, network, IPC, UTS and mount namespaces through a trampoline: the grader re-executes its own
//! binary under a hidden `argv[0]`, and that fresh single-threaded process makes the namespaces, forks a
//! small init (PID 1 of the run), which forks the program, confines it (Landlock, seccomp, RLIMIT_NPROC
//! counted inside the new user namespace) and execs it. When init ends, the kernel kills everything left
//! in the namespace; init hands the program's wait status to the trampoline, which ends the same way.
//!
//! Only binaries that call [`enter_or_enable`] first thing in `main` can be trampolines; elsewhere (unit
//! tests, other embedders) the namespace layer reports itself off.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::affinity::Mask;
use super::{landlock, seccomp};

/// `argv[0]` that makes the grader's binary act as the trampoline.
pub const MARKER: &str = "takehome-sandbox-trampoline";

const NAMESPACES: libc::c_int = libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWNS;

static EXE: OnceLock<PathBuf> = OnceLock::new();

/// To be called first in `main`: acts as the trampoline (and never returns) when started as one,
/// otherwise records this binary as the trampoline for runs.
pub fn enter_or_enable() {
    let mut args = std::env::args_os();
    if args.next().as_deref() == Some(OsStr::new(MARKER)) {
        let code = trampoline(args.collect());
        std::process::exit(code);
    }
    if let Ok(exe) = std::env::current_exe() {
        let _ = EXE.set(exe);
    }
}

/// Makes `exe`, a binary that calls [`enter_or_enable`] first in its `main`, the trampoline of this
/// process's runs: for embedders and test binaries whose own `main` cannot. To be called before the
/// first run (the layers are probed once); returns false when a trampoline was already registered.
pub fn enable_with(exe: PathBuf) -> bool {
    EXE.set(exe).is_ok()
}

/// Whether this process can start trampolines.
pub fn enabled() -> bool {
    EXE.get().is_some()
}

/// Whether runs can go through namespaces here: a registered trampoline that the run's user can
/// execute, and a user namespace with its own ID maps.
pub fn available() -> Result<(), String> {
    let Some(exe) = EXE.get() else {
        return Err("this program did not register the namespace trampoline".into());
    };
    let drop_to = super::is_root().then_some(super::UNPRIVILEGED_ID);
    if drop_to.is_some() && !super::reachable_by_others(exe) {
        return Err(format!("{} cannot be executed by the unprivileged user", exe.display()));
    }
    can_make_namespaces(drop_to)
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

/// The command that runs `program` through the trampoline: `landlock` is a ruleset descriptor the
/// child keeps open across exec, `relay` a pipe for the program's [`Usage`], `nproc` the process limit
/// inside the namespace, `affinity` the CPU set the program gets back (the trampoline and init keep the
/// one they start with).
pub fn command(
    program: &OsStr,
    args: &[OsString],
    landlock: Option<i32>,
    relay: Option<i32>,
    seccomp: bool,
    nproc: u64,
    affinity: Option<&Mask>,
) -> Command {
    let exe = EXE.get().cloned().unwrap_or_default();
    let mut command = Command::new(exe);
    command.arg0(MARKER);
    let fd = |fd: Option<i32>| fd.map_or_else(|| "-".to_string(), |fd| fd.to_string());
    command.arg(fd(landlock));
    command.arg(fd(relay));
    command.arg(if seccomp { "seccomp" } else { "-" });
    command.arg(nproc.to_string());
    command.arg(affinity.map_or_else(|| "-".to_string(), |mask| mask.to_arg()));
    command.arg("--").arg(program).args(args);
    command
}

/// The trampoline's whole life. Returns an exit code only when it could not start the program.
fn trampoline(args: Vec<OsString>) -> i32 {
    match trampoline_inner(&args) {
        Ok(never) => match never {},
        Err(error) => {
            eprintln!("takehome sandbox: {error}");
            126
        }
    }
}

enum Never {}

struct Request {
    landlock: Option<i32>,
    relay: Option<i32>,
    seccomp: bool,
    nproc: u64,
    affinity: Option<Mask>,
    program: OsString,
    args: Vec<OsString>,
}

fn parse(args: &[OsString]) -> io::Result<Request> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "malformed trampoline arguments");
    let [landlock, relay, seccomp, nproc, affinity, separator, program, rest @ ..] = args else {
        return Err(bad());
    };
    if separator != "--" {
        return Err(bad());
    }
    let number = |text: &OsString| text.to_str().and_then(|t| t.parse::<u64>().ok()).ok_or_else(bad);
    let fd = |text: &OsString| -> io::Result<Option<i32>> {
        if text == "-" { Ok(None) } else { Ok(Some(i32::try_from(number(text)?).map_err(|_| bad())?)) }
    };
    Ok(Request {
        landlock: fd(landlock)?,
        relay: fd(relay)?,
        seccomp: seccomp == "seccomp",
        nproc: number(nproc)?,
        affinity: if affinity == "-" {
            None
        } else {
            Some(affinity.to_str().and_then(Mask::from_arg).ok_or_else(bad)?)
        },
        program: program.clone(),
        args: rest.to_vec(),
    })
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

fn trampoline_inner(args: &[OsString]) -> io::Result<Never> {
    let request = parse(args)?;
    if let Some(relay) = request.relay {
        // SAFETY: only the trampoline writes to the relay: init and the program must not inherit it.
        unsafe { libc::fcntl(relay, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    let maps = IdMaps::new(None);
    // SAFETY: this process is single-threaded (just started); each call is checked.
    unsafe {
        check(libc::unshare(NAMESPACES))?;
    }
    maps.write()?;
    let mut status_pipe = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    unsafe { check(libc::pipe2(status_pipe.as_mut_ptr(), libc::O_CLOEXEC))? };
    let [read_end, write_end] = status_pipe;
    // SAFETY: single-threaded, so the child may do anything after fork.
    let init = unsafe { check(libc::fork())? };
    if init == 0 {
        // SAFETY: closing our copies of the read end and the relay.
        unsafe {
            libc::close(read_end);
            if let Some(relay) = request.relay {
                libc::close(relay);
            }
        }
        init_main(&request, write_end);
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(write_end) };
    let mut status = 0;
    // SAFETY: waiting for our only child; writes `status`.
    unsafe {
        while libc::waitpid(init, &mut status, 0) < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {
        }
    }
    let mut message = [0u8; MESSAGE];
    // SAFETY: reads at most MESSAGE bytes into the buffer.
    let got = unsafe { libc::read(read_end, message.as_mut_ptr().cast(), MESSAGE) };
    if got != MESSAGE as isize {
        end_like(status)
    }
    if let Some(relay) = request.relay {
        // SAFETY: writes the usage part of the message to the grader's pipe.
        unsafe { libc::write(relay, message[4..].as_ptr().cast(), MESSAGE - 4) };
    }
    end_like(i32::from_ne_bytes([message[0], message[1], message[2], message[3]]))
}

/// Init's report: the program's wait status, then its [`Usage`] as four u64 (microseconds of user and
/// system time, peak resident kilobytes, microseconds of wall time from its fork to its end).
const MESSAGE: usize = 4 + 4 * 8;

/// The program's own CPU time, peak memory and wall time, without the trampoline's.
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

/// Reads what the trampoline relayed, once it has ended; `None` when it was killed before.
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

/// Ends this process the way `status` says the program ended.
fn end_like(status: i32) -> ! {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // SAFETY: restoring the default action and raising: the process ends by that signal.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
        }
        std::process::exit(128 + signal);
    }
    std::process::exit(libc::WEXITSTATUS(status));
}

/// PID 1 of the run: a fresh /proc, then the program as its only child; reports its status and ends.
fn init_main(request: &Request, status_pipe: i32) -> ! {
    // SAFETY: mount calls on constant strings; failures leave the host's /proc (still Landlock-limited).
    unsafe {
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
    }
    let started = std::time::Instant::now();
    // SAFETY: init is single-threaded.
    let program = unsafe { libc::fork() };
    if program == 0 {
        // SAFETY: closing our copy of the status pipe.
        unsafe { libc::close(status_pipe) };
        let error = exec_confined(request);
        eprintln!("takehome sandbox: cannot run {}: {error}", request.program.to_string_lossy());
        // SAFETY: ending the child without running the parent's destructors.
        unsafe { libc::_exit(127) };
    }
    let mut status = libc::W_EXITCODE(126, 0);
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if program > 0 {
        // Init also reaps the orphans of the namespace until the program ends.
        loop {
            let mut any = 0;
            // SAFETY: waits for any child of init; writes `any` and `usage`.
            let pid = unsafe { libc::wait4(-1, &mut any, 0, &mut usage) };
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
    // SAFETY: writes the message from the buffer, then ends init (and with it, the namespace).
    unsafe {
        libc::write(status_pipe, message.as_ptr().cast(), MESSAGE);
        libc::_exit(0)
    }
}

/// Applies the process limit, Landlock and seccomp, then execs. Returns only on failure.
fn exec_confined(request: &Request) -> io::Error {
    if let Some(mask) = &request.affinity {
        // Best effort: a CPU taken away meanwhile leaves the program where the trampoline was.
        mask.apply();
    }
    let limit = libc::rlimit { rlim_cur: request.nproc, rlim_max: request.nproc };
    // SAFETY: plain system calls on values we own; this process is single-threaded.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_NPROC, &limit) != 0 || libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return io::Error::last_os_error();
        }
        if let Some(fd) = request.landlock {
            // The ruleset allowed the host's /proc; this namespace has its own.
            if let Err(error) = landlock::allow_read(fd, c"/proc") {
                return error;
            }
            if let Err(error) = landlock::restrict_self(fd) {
                return error;
            }
            libc::close(fd);
        }
        if request.seccomp
            && let Some(filters) = seccomp::filters(false)
        {
            for program in [&filters.deny, &filters.hide_clone3] {
                if let Err(error) = seccomp::install(program) {
                    return error;
                }
            }
        }
    }
    let path = PathBuf::from(OsStr::from_bytes(request.program.as_bytes()));
    Command::new(path).args(&request.args).exec()
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
    fn trampoline_arguments_round_trip() {
        let mask = Mask::current();
        let command = command(OsStr::new("/bin/echo"), &["hi".into()], Some(7), None, true, 64, mask.as_ref());
        let args: Vec<OsString> = command.get_args().map(OsStr::to_os_string).collect();
        let request = parse(&args).unwrap();
        assert_eq!(request.landlock, Some(7));
        assert_eq!(request.relay, None);
        assert!(request.seccomp);
        assert_eq!(request.nproc, 64);
        assert_eq!(request.affinity.map(|m| m.to_arg()), mask.map(|m| m.to_arg()));
        assert_eq!(request.program, "/bin/echo");
        assert_eq!(request.args, vec![OsString::from("hi")]);
        assert!(parse(&[OsString::from("x")]).is_err());
    }

    #[test]
    fn library_use_has_no_trampoline() {
        assert!(!enabled());
        assert!(available().is_err());
    }
}
