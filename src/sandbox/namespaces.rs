//! User, PID, network, IPC, UTS and mount namespaces, entered between fork and exec: the child of the
//! grader (the first child) enters a pooled network namespace and the user namespace that owns it, makes
//! the others (and a user namespace of its own for root) and starts a small init (PID 1 of the run),
//! which starts the program; both are clones sharing the first child's memory.
//! The program confines itself (Landlock, seccomp, RLIMIT_NPROC counted inside the new user namespace)
//! and execs. When the program ends, init reports its wait status and usage to the grader and ends,
//! which ends everything left in the namespace; the first child then ends the way init did.
//!
//! Every step is a system call on data prepared before the fork: nothing allocates or takes a lock in
//! the children of the (multithreaded) grader. That spares the exec of a trampoline binary, the largest
//! part of a launch's cost on virtual machines, where an exec costs a millisecond.
//!
//! Only programs that opt in with [`enable`] (the grader's `main` does) use the layer: elsewhere (unit
//! tests, other embedders) it reports itself off.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
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

/// A user namespace and the empty network namespace it owns. Making a network namespace costs 0.5 ms
/// of CPU here (the largest part of a launch), so runs borrow one from a pool instead, one run at a time:
/// a run cannot change the namespace (it has no capability in the user namespace that owns it), and what
/// it opened there (abstract Unix socket names) ends with its processes, before the next run gets it.
struct Network {
    user: OwnedFd,
    net: OwnedFd,
}

/// Networks not lent out, with the user they were made for.
static NETWORKS: Mutex<Vec<(u32, Network)>> = Mutex::new(Vec::new());

/// Users for whom a network could not be made: their runs make their own (as they would have to anyway)
/// without a fork to try again first.
static CANNOT_MAKE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A network namespace lent to one run; back to the pool when dropped, which must be once every process
/// of the run has ended (its first child reaped).
pub struct NetworkLease {
    uid: u32,
    network: Option<Network>,
}

impl NetworkLease {
    /// The descriptors of (the user namespace, the network namespace) to enter.
    pub fn descriptors(&self) -> Option<(RawFd, RawFd)> {
        self.network.as_ref().map(|n| (n.user.as_raw_fd(), n.net.as_raw_fd()))
    }
}

impl Drop for NetworkLease {
    fn drop(&mut self) {
        if let Some(network) = self.network.take() {
            NETWORKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((self.uid, network));
        }
    }
}

/// A network namespace for a run as `run_as` (the grader's own user when `None`): a free one from the
/// pool, or a new one; `None` where none can be made (the run then makes its own).
pub fn lease_network(run_as: Option<u32>) -> Option<NetworkLease> {
    // SAFETY: getuid cannot fail.
    let uid = run_as.unwrap_or_else(|| unsafe { libc::getuid() });
    // A run whose first child has ended since gives its network back.
    super::reaper::reap_ended();
    let mut free = NETWORKS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let pooled = free.iter().position(|(owner, _)| *owner == uid).map(|at| free.swap_remove(at).1);
    drop(free);
    let cannot_make = || CANNOT_MAKE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let network = match pooled {
        Some(network) => network,
        None if cannot_make().contains(&uid) => return None,
        None => make_network(run_as).inspect_err(|_| cannot_make().push(uid)).ok()?,
    };
    Some(NetworkLease { uid, network: Some(network) })
}

/// A child (as `run_as`) makes the namespaces and stops; we open them through /proc and end it. The
/// namespaces live on as long as our descriptors.
fn make_network(run_as: Option<u32>) -> io::Result<Network> {
    let maps = IdMaps::new(run_as);
    // SAFETY: the child only makes system calls on data prepared above, then stops or _exits; the parent
    // waits for it, opens its namespaces and kills it.
    unsafe {
        let pid = check(libc::fork())?;
        if pid == 0 {
            if let Some(id) = run_as
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(id) != 0 || libc::setuid(id) != 0)
            {
                libc::_exit(1);
            }
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0);
            if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) != 0 || maps.write().is_err() {
                libc::_exit(2);
            }
            libc::raise(libc::SIGSTOP);
            libc::_exit(0);
        }
        let mut status = 0;
        while libc::waitpid(pid, &mut status, libc::WUNTRACED) < 0 {
            if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        let opened = if libc::WIFSTOPPED(status) {
            let open = |kind: &str| std::fs::File::open(format!("/proc/{pid}/ns/{kind}")).map(OwnedFd::from);
            open("user").and_then(|user| Ok(Network { user, net: open("net")? }))
        } else {
            Err(io::Error::other("the child could not make the namespaces"))
        };
        libc::kill(pid, libc::SIGKILL);
        while libc::waitpid(pid, &mut status, 0) < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {
        }
        opened
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

/// The program's exec, prepared before the fork: the program calls `execve` itself (it runs on a stack
/// of its own, so it cannot return to `Command`'s exec).
pub struct Exec {
    path: CString,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
}

// SAFETY: the pointers point into `_strings` and `path`, owned by the same value and never changed.
unsafe impl Send for Exec {}
// SAFETY: as above; nothing is written through them.
unsafe impl Sync for Exec {}

impl Exec {
    /// `program` (already looked up on `PATH`) with `args`, in the environment `env` and nothing else.
    pub fn new(
        program: &std::ffi::OsStr,
        args: &[std::ffi::OsString],
        env: &[(std::ffi::OsString, std::ffi::OsString)],
    ) -> io::Result<Exec> {
        use std::os::unix::ffi::OsStrExt;
        let c_string = |bytes: &[u8]| {
            CString::new(bytes)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "nul byte found in provided data"))
        };
        let path = c_string(program.as_bytes())?;
        let mut arguments = vec![path.clone()];
        for arg in args {
            arguments.push(c_string(arg.as_bytes())?);
        }
        let mut variables = Vec::with_capacity(env.len());
        for (key, value) in env {
            variables.push(c_string(&[key.as_bytes(), b"=", value.as_bytes()].concat())?);
        }
        let pointers = |strings: &[CString]| {
            strings.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>()
        };
        let (argv, envp) = (pointers(&arguments), pointers(&variables));
        arguments.extend(variables);
        Ok(Exec { path, _strings: arguments, argv, envp })
    }
}

/// Stack of init and of the program before its exec (each: a few frames of system calls).
const STACK: usize = 32 << 10;

/// The stacks of init and of the program, allocated before the fork.
struct Stacks {
    _memory: Vec<u8>,
    base: *mut u8,
}

// SAFETY: `base` points into `_memory`, owned by the same value; only the clones write there.
unsafe impl Send for Stacks {}
// SAFETY: as above.
unsafe impl Sync for Stacks {}

impl Stacks {
    fn new() -> Stacks {
        // Never read by us, only used as stack: no need to zero it.
        let mut memory = Vec::with_capacity(2 * STACK);
        let base = memory.as_mut_ptr();
        Stacks { _memory: memory, base }
    }

    /// The top of stack `index` (stacks grow down).
    fn top(&self, index: usize) -> *mut libc::c_void {
        self.base.wrapping_add((index + 1) * STACK).cast()
    }
}

/// What a child needs to enter the namespaces, all made before the fork.
pub struct Entry {
    maps: IdMaps,
    exec: Exec,
    /// Init's stack, then the program's: they share the first child's memory (see [`Entry::enter`]).
    stacks: Stacks,
    /// A Landlock ruleset for the program to enforce (after allowing the namespace's own /proc).
    pub landlock: Option<RawFd>,
    /// Where init reports how the program ended (see [`read_usage`]).
    pub relay: RawFd,
    /// Where the program writes the error of its exec (write end; the caller keeps the read end).
    exec_error: RawFd,
    pub seccomp: Option<&'static [seccomp::Instruction]>,
    /// RLIMIT_NPROC inside the namespace.
    pub nproc: u64,
    /// RLIMIT_NOFILE, set just before the exec (the grader's descriptors are still open until then).
    pub open_files: Option<u64>,
    /// The CPU set the program gets back (init keeps the one it starts with).
    pub affinity: Option<Mask>,
    /// A network namespace to enter (see [`Entry::enter_network`]) instead of making one.
    network: Option<(RawFd, RawFd)>,
    /// The working folder layered over a tmpfs.
    pub overlay: Option<super::overlay::Overlay>,
    /// Whether the run is root (in its namespaces as outside).
    as_root: bool,
    /// For a run as root: the folders it may write, the only ones left writable (see
    /// [`Entry::keep_host_read_only`]).
    writable: Vec<CString>,
}

impl Entry {
    /// For `exec` as `run_as` (the grader's own user when `None`), reporting on `relay`, with
    /// `exec_error` the write end of a pipe for a failed exec (see [`read_exec_error`]); the caller keeps
    /// both open until the spawn returned (pipes made before the fork: in the child, the run's descriptor
    /// limit is already set, and the grader's low descriptors may all be taken).
    pub fn new(run_as: Option<u32>, exec: Exec, relay: RawFd, exec_error: RawFd) -> Entry {
        // SAFETY: getuid cannot fail.
        let as_root = run_as.unwrap_or_else(|| unsafe { libc::getuid() }) == 0;
        Entry {
            maps: IdMaps::new(run_as),
            exec,
            stacks: Stacks::new(),
            landlock: None,
            relay,
            exec_error,
            seccomp: None,
            nproc: 0,
            open_files: None,
            affinity: None,
            network: None,
            overlay: None,
            as_root,
            writable: Vec::new(),
        }
    }

    /// For a run as root, mounts the host's file system read-only in its mount namespace, but for the
    /// `writable` folders. Landlock does not cover a file's mode, owner or times, and root owns most of
    /// the system's files: without this, a build as root could `chmod u+s` a system binary or make a
    /// secret readable. Needs Linux 5.12 (`mount_setattr`); where that fails, the folders stay as they
    /// are. Nothing for other users.
    pub fn keep_host_read_only(&mut self, writable: &[std::path::PathBuf]) {
        use std::os::unix::ffi::OsStrExt;
        if self.as_root {
            self.writable = writable.iter().filter_map(|dir| CString::new(dir.as_os_str().as_bytes()).ok()).collect();
        }
    }

    /// Has the run enter `network`, the (user namespace, network namespace) of a [`NetworkLease`],
    /// rather than make its own. The run's other namespaces are then made in that user namespace, but
    /// for root: a program that is not root in its user namespace has no capability left there after
    /// its exec, while root would keep them, over the pooled network too; root's namespaces get a user
    /// namespace of their own, nested in the pooled one. Sparing the others a user namespace and its
    /// maps saves 0.1 ms a launch.
    pub fn enter_network(&mut self, network: Option<(RawFd, RawFd)>) {
        self.network = network;
    }

    /// Whether the run gets a user namespace of its own (see [`Entry::enter_network`]).
    fn own_user_namespace(&self) -> bool {
        self.network.is_none() || self.as_root
    }

    /// In the child between fork and exec, after its change of user: makes the namespaces and starts init,
    /// which starts the program, which execs. Init reports how the program ended to the grader, and the
    /// first child ends the way init did. Returns only an error from before init exists, the caller's to
    /// report (as a failed spawn).
    ///
    /// Init and the program are clones that share the first child's memory (a copy of the grader's, which
    /// nothing else uses): copying it twice more and tearing the copies down again, once at the program's
    /// exec and once at init's end, was the largest cost of the chain after the exec itself. Each runs
    /// on a stack of its own, and the program's clone suspends init until the program has exec'd.
    ///
    /// # Safety
    /// To be called only between fork and exec, in the child of a fork (it clones and ends processes).
    pub unsafe fn enter(&self) -> io::Error {
        // SAFETY: system calls on values prepared before the fork; each result is checked.
        unsafe {
            let entered = match self.network {
                // The user namespace first: it owns the network namespace, and the others are made in it
                // (or in one nested in it, for root).
                Some((user, net)) => check(libc::setns(user, libc::CLONE_NEWUSER))
                    .and_then(|_| check(libc::setns(net, libc::CLONE_NEWNET)))
                    .and_then(|_| self.make_namespaces(NAMESPACES & !libc::CLONE_NEWNET & !libc::CLONE_NEWUSER)),
                None => self.make_namespaces(NAMESPACES & !libc::CLONE_NEWUSER),
            };
            if let Err(error) = entered {
                return error;
            }
            let this: *const Entry = self;
            let init =
                libc::clone(init_main, self.stacks.top(0), libc::CLONE_VM | libc::SIGCHLD, this.cast_mut().cast());
            if init < 0 {
                return io::Error::last_os_error();
            }
            // Only the program may keep `Command`'s exec-error pipe: spawn returns once it execs.
            libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            wait_and_end(init)
        }
    }

    /// Makes the namespaces `kinds`, in a user namespace of their own where the run gets one (writing
    /// its ID maps); leaves the process undumpable.
    unsafe fn make_namespaces(&self, kinds: libc::c_int) -> io::Result<()> {
        // SAFETY: prctl, unshare and the maps' open/write/close on data prepared before the fork.
        unsafe {
            if self.own_user_namespace() {
                // A change of user makes the process undumpable, which locks its /proc/self/*_map files.
                libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
                check(libc::unshare(kinds | libc::CLONE_NEWUSER))?;
                self.maps.write()?;
            } else {
                check(libc::unshare(kinds))?;
            }
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        Ok(())
    }

    /// PID 1 of the run: a fresh /proc, then the program as its only child; reports how it ended and
    /// ends (with 0 once the report is written).
    unsafe fn init(&self) -> ! {
        // SAFETY: mount, sethostname and clone on constant data and our own stack; a failed mount leaves
        // the host's /proc (still Landlock-limited).
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
            if self.as_root {
                self.mount_host_read_only();
            }
            if let Some(overlay) = &self.overlay {
                // Without the layers (see `Overlay::mount`), the program writes the folder on disk.
                let _ = overlay.mount();
            }
            let this: *const Entry = self;
            // CLONE_VFORK: init waits here until the program has exec'd (or ended).
            libc::clone(
                program_main,
                self.stacks.top(1),
                libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
                this.cast_mut().cast(),
            )
        };
        // SAFETY: init keeps only the relay; it waits for its children and ends.
        unsafe {
            close_all_but([self.relay, self.relay]);
            let started = std::time::Instant::now();
            let mut status = libc::W_EXITCODE(126, 0);
            // The program's usage, and that of the orphans of the namespace that init reaps until the
            // program ends: CPU time spent in an orphan counts as the run's.
            let mut usage: libc::rusage = std::mem::zeroed();
            if program > 0 {
                loop {
                    let mut any = 0;
                    let mut reaped: libc::rusage = std::mem::zeroed();
                    let pid = libc::wait4(-1, &mut any, 0, &mut reaped);
                    if pid > 0 {
                        add_usage(&mut usage, &reaped);
                    }
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
            let written = libc::write(self.relay, message.as_ptr().cast(), MESSAGE);
            libc::_exit(if written == MESSAGE as isize { 0 } else { 1 })
        }
    }

    /// In init: every mount read-only, then each writable folder bound onto itself and made writable
    /// again (a folder that cannot be bound stays read-only); then init enters its working folder again
    /// by its path, through the new mounts.
    unsafe fn mount_host_read_only(&self) {
        #[repr(C)]
        struct MountAttr {
            set: u64,
            clear: u64,
            propagation: u64,
            userns_fd: u64,
        }
        const MOUNT_ATTR_RDONLY: u64 = 1;
        const AT_RECURSIVE: libc::c_int = 0x8000;
        let attributes = |path: &std::ffi::CStr, set: u64, clear: u64| {
            let attr = MountAttr { set, clear, propagation: 0, userns_fd: 0 };
            // SAFETY: mount_setattr reads the path and the attribute struct, both alive for the call.
            unsafe {
                libc::syscall(
                    libc::SYS_mount_setattr,
                    libc::AT_FDCWD,
                    path.as_ptr(),
                    AT_RECURSIVE,
                    &raw const attr,
                    std::mem::size_of::<MountAttr>(),
                )
            }
        };
        if attributes(c"/", MOUNT_ATTR_RDONLY, 0) != 0 {
            return;
        }
        let none = std::ptr::null::<libc::c_char>();
        for dir in &self.writable {
            // SAFETY: a bind mount of a folder onto itself, on C strings made before the fork.
            let bound = unsafe {
                libc::mount(dir.as_ptr(), dir.as_ptr(), none, libc::MS_BIND | libc::MS_REC, std::ptr::null())
            };
            if bound == 0 {
                attributes(dir, 0, MOUNT_ATTR_RDONLY);
            }
        }
        let mut cwd = [0u8; 4096];
        // SAFETY: getcwd writes at most the buffer's length (nul-terminated); chdir reads it.
        unsafe {
            if !libc::getcwd(cwd.as_mut_ptr().cast(), cwd.len()).is_null() {
                libc::chdir(cwd.as_ptr().cast());
            }
        }
    }

    /// The program: confines itself and execs; on failure, writes the error number where the caller
    /// reads it and ends.
    unsafe fn program(&self) -> ! {
        // SAFETY: confining, exec'ing; all on data made before the fork.
        unsafe {
            let errno = match self.confine_program() {
                Ok(()) => {
                    libc::execvpe(self.exec.path.as_ptr(), self.exec.argv.as_ptr(), self.exec.envp.as_ptr());
                    io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOEXEC)
                }
                Err(error) => error.raw_os_error().unwrap_or(libc::EPERM),
            };
            libc::write(self.exec_error, errno.to_ne_bytes().as_ptr().cast(), 4);
            libc::_exit(127)
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
                // The ruleset allowed the host's /proc and working folder; this namespace has its own.
                landlock::allow_read(fd, c"/proc")?;
                if let Some(overlay) = &self.overlay {
                    landlock::allow_all(fd, overlay.folder())?;
                }
                landlock::restrict_self(fd)?;
                libc::close(fd);
            }
            if let Some(filter) = self.seccomp {
                seccomp::install(filter)?;
            }
        }
        if let Some(files) = self.open_files {
            super::set_limit(libc::RLIMIT_NOFILE, files)?;
        }
        Ok(())
    }
}

extern "C" fn init_main(entry: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `entry` is the Entry of the first child, whose memory init shares and which outlives init.
    unsafe { (*entry.cast::<Entry>()).init() }
}

extern "C" fn program_main(entry: *mut libc::c_void) -> libc::c_int {
    // SAFETY: as for init: the Entry is in memory shared with init, suspended until the program execs.
    unsafe { (*entry.cast::<Entry>()).program() }
}

/// After the spawn returned (so the program has exec'd or ended): the error of the program's exec, if it
/// failed. `read_end` is the pipe whose write end went to [`Entry::new`], all copies of which are closed.
pub fn read_exec_error(read_end: &OwnedFd) -> Option<io::Error> {
    let mut bytes = [0u8; 4];
    // SAFETY: reading at most 4 bytes into our buffer from a descriptor we own.
    let got = unsafe { libc::read(read_end.as_raw_fd(), bytes.as_mut_ptr().cast(), 4) };
    (got == 4).then(|| io::Error::from_raw_os_error(i32::from_ne_bytes(bytes)))
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

/// The first child's end: waits for init and ends the way it did (by a signal when it was killed).
unsafe fn wait_and_end(init: libc::pid_t) -> ! {
    let mut status = 0;
    // SAFETY: waiting for our only child.
    unsafe {
        while libc::waitpid(init, &mut status, 0) < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {
        }
        end_like(status)
    }
}

pub(super) fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 { Err(io::Error::last_os_error()) } else { Ok(result) }
}

/// Adds `more`'s CPU times to `total` and keeps the larger peak memory.
fn add_usage(total: &mut libc::rusage, more: &libc::rusage) {
    let add = |a: libc::timeval, b: libc::timeval| {
        let micros = (a.tv_sec + b.tv_sec) * 1_000_000 + a.tv_usec + b.tv_usec;
        libc::timeval { tv_sec: micros / 1_000_000, tv_usec: micros % 1_000_000 }
    };
    total.ru_utime = add(total.ru_utime, more.ru_utime);
    total.ru_stime = add(total.ru_stime, more.ru_stime);
    total.ru_maxrss = total.ru_maxrss.max(more.ru_maxrss);
}

/// Init's report: the program's wait status, then its [`Usage`] as four u64 (microseconds of user and
/// system time, peak resident kilobytes, microseconds of wall time from its fork to its end).
const MESSAGE: usize = 4 + 4 * 8;

/// How the program ended (its wait status), with its own CPU time, peak memory and wall time, without
/// those of the processes above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub wait_status: i32,
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

/// Reads init's report, once the program has ended; `None` while it runs, or when init was killed.
pub fn read_usage(fd: &std::os::fd::OwnedFd) -> Option<Usage> {
    use std::os::fd::AsRawFd;
    let mut bytes = [0u8; MESSAGE];
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
        wait_status: i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        cpu_time: std::time::Duration::from_micros(number(4) + number(12)),
        peak_memory: number(20) * 1024,
        wall_time: std::time::Duration::from_micros(number(28)),
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
        let status = libc::W_EXITCODE(3, 0);
        let message = encode_usage(status, &usage, std::time::Duration::from_micros(7_000_123));
        let (read, write) = super::super::pipe().unwrap();
        let mut writer = std::fs::File::from(write);
        std::io::Write::write_all(&mut writer, &message).unwrap();
        let relayed = read_usage(&read).unwrap();
        assert_eq!(relayed.wait_status, status);
        assert_eq!(relayed.cpu_time, std::time::Duration::from_micros(1_000_750));
        assert_eq!(relayed.peak_memory, 2048 * 1024);
        assert_eq!(relayed.wall_time, std::time::Duration::from_micros(7_000_123));
    }

    #[test]
    fn a_network_is_lent_to_one_run_at_a_time_and_lent_again_once_returned() {
        let Some(first) = lease_network(None) else { return };
        let inode = |lease: &NetworkLease| {
            let (_, net) = lease.descriptors().unwrap();
            std::fs::read_link(format!("/proc/self/fd/{net}")).unwrap()
        };
        let second = lease_network(None).expect("a second network");
        assert_ne!(inode(&first), inode(&second), "two leases at once are two namespaces");
        let returned = inode(&second);
        drop(second);
        let third = lease_network(None).expect("a network");
        // No other test of this binary lends networks (runs in unit tests go without namespaces).
        assert_eq!(inode(&third), returned, "the network returned is lent again");
    }

    #[test]
    fn a_user_no_network_can_be_made_for_is_not_tried_again() {
        // No process can take this uid (it is the kernel's "no uid"): the child that would make the
        // network fails, whoever runs the test.
        let impossible = u32::MAX;
        assert!(lease_network(Some(impossible)).is_none());
        assert!(CANNOT_MAKE.lock().unwrap().contains(&impossible));
        assert!(lease_network(Some(impossible)).is_none());
    }

    #[test]
    fn library_use_has_no_namespaces() {
        assert!(!enabled());
        assert!(available().is_err());
    }
}
