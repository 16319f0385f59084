//! The Landlock ruleset of untrusted processes: read and execute the system's toolchains, read and
//! write only the run's own folders, no TCP, and no signals or abstract sockets beyond its own domain.
//!
//! The ruleset is made in the grader before the fork (opening paths allocates); the child only calls
//! `landlock_restrict_self` on its descriptor, which is async-signal-safe.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use std::os::unix::fs::OpenOptionsExt;

use landlock::{
    ABI, Access as _, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetError, Scope,
};

/// The ABI whose rights we ask for; older kernels get the subset they know (best effort).
const TARGET: ABI = ABI::V7;

/// Folders every program may read and execute from (toolchains and the shared libraries they load).
const SYSTEM: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/opt", "/proc", "/sys"];

/// Entries of /etc that hold secrets rather than configuration. They are root's alone, so they are kept
/// from a process running as root (a build, when the grader is root) by giving it each other entry of
/// /etc as a rule of its own; any other user gets /etc as one rule, the files' own modes keeping the
/// secrets (a hundred rules fewer to add, and to merge when the process confines itself).
const ETC_SECRETS: &[&str] =
    &["shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d", "ssh", "security", "ssl", "credstore"];

/// Devices that are safe to read, and to write when listed in `DEVICES_WRITABLE`.
const DEVICES_READABLE: &[&str] = &["/dev/urandom", "/dev/random"];
const DEVICES_WRITABLE: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// What one confined process may touch besides the system folders.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    /// Whether TCP bind and connect stay allowed (builds that download packages).
    pub network: bool,
    /// Whether the process runs as root, from whom /etc's secrets must be kept by Landlock.
    pub as_root: bool,
}

/// The kernel's Landlock ABI version, 0 when Landlock is unavailable.
pub fn abi() -> i32 {
    // SAFETY: with a null attribute and the VERSION flag, the call only returns a number.
    let version =
        unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, 1u32) };
    i32::try_from(version).unwrap_or(0).max(0)
}

/// Opened once, with the rights each gets: the system folders and the device files, then /etc (whole, or
/// each entry but the secrets). Their rules are added with a system call each, without the check of the
/// file's type the `landlock` crate makes per rule.
struct SystemPaths {
    rules: Vec<(OwnedFd, u64)>,
    etc_whole: Vec<(OwnedFd, u64)>,
    etc_without_secrets: Vec<(OwnedFd, u64)>,
}

impl SystemPaths {
    fn rules(&self, as_root: bool) -> impl Iterator<Item = &(OwnedFd, u64)> {
        let etc = if as_root { &self.etc_without_secrets } else { &self.etc_whole };
        self.rules.iter().chain(etc)
    }
}

static SYSTEM_PATHS: OnceLock<SystemPaths> = OnceLock::new();

fn system_paths() -> &'static SystemPaths {
    SYSTEM_PATHS.get_or_init(|| {
        let supported = supported();
        let read = AccessFs::from_read(TARGET) & supported;
        let (mut rules, mut etc_whole, mut etc_without_secrets) = (Vec::new(), Vec::new(), Vec::new());
        let add = |rules: &mut Vec<(OwnedFd, u64)>, path: PathBuf, rights: BitFlags<AccessFs>| {
            let Ok(metadata) = std::fs::metadata(&path) else { return };
            let Ok(file) = std::fs::File::options().read(true).custom_flags(libc::O_PATH).open(&path) else { return };
            let rights = if metadata.is_dir() { rights } else { rights & AccessFs::from_file(TARGET) };
            rules.push((OwnedFd::from(file), rights.bits()));
        };
        for path in SYSTEM {
            add(&mut rules, PathBuf::from(path), read);
        }
        for path in DEVICES_READABLE {
            add(&mut rules, PathBuf::from(path), BitFlags::from(AccessFs::ReadFile) & supported);
        }
        for path in DEVICES_WRITABLE {
            add(&mut rules, PathBuf::from(path), (AccessFs::ReadFile | AccessFs::WriteFile) & supported);
        }
        add(&mut etc_whole, PathBuf::from("/etc"), read);
        for path in etc_entries() {
            add(&mut etc_without_secrets, path, read);
        }
        SystemPaths { rules, etc_whole, etc_without_secrets }
    })
}

/// Everything in /etc but the secrets, and the public half of /etc/ssl (certificates for downloads).
fn etc_entries() -> Vec<PathBuf> {
    let list = |dir: &Path, skip: &[&str]| -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        entries
            .flatten()
            .filter(|entry| !skip.iter().any(|secret| entry.file_name() == *secret))
            .map(|entry| entry.path())
            .collect()
    };
    let mut paths = list(Path::new("/etc"), ETC_SECRETS);
    paths.extend(list(Path::new("/etc/ssl"), &["private"]));
    paths
}

/// Folders a toolchain on `PATH` needs: `~/.cargo` for `~/.cargo/bin`, `~/.pyenv` for `~/.pyenv/shims`,
/// the folder itself otherwise.
#[must_use]
pub fn toolchain_roots(path_var: &std::ffi::OsStr) -> Vec<PathBuf> {
    std::env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .map(|dir| {
            let parent_holds_it =
                dir.file_name().is_some_and(|name| name == "bin" || name == "sbin" || name == "shims");
            match dir.parent() {
                Some(parent) if parent_holds_it && parent != Path::new("/") && !is_home(parent) => parent.to_path_buf(),
                _ => dir,
            }
        })
        .collect()
}

/// A home folder: opening it whole because a `~/bin` is on PATH would hand out ~/.ssh and the rest.
fn is_home(dir: &Path) -> bool {
    dir == Path::new("/root")
        || dir.parent() == Some(Path::new("/home"))
        || std::env::var_os("HOME").is_some_and(|home| Path::new(&home) == dir)
}

/// A ruleset descriptor ready for [`restrict_self`], or `None` when the kernel has no Landlock.
pub fn ruleset(access: &Access) -> std::io::Result<Option<OwnedFd>> {
    let Some(fd) = ruleset_for_run(access).map_err(|e| std::io::Error::other(format!("landlock: {e}")))? else {
        return Ok(None);
    };
    for (path, rights) in system_paths().rules(access.as_root) {
        // SAFETY: a ruleset we just made and a path descriptor we hold open.
        unsafe { add_path_rule(fd.as_raw_fd(), path.as_raw_fd(), *rights) }
            .map_err(|e| std::io::Error::other(format!("landlock: cannot add a rule: {e}")))?;
    }
    Ok(Some(fd))
}

/// A ruleset with the run's own paths (and none of the system's).
fn ruleset_for_run(access: &Access) -> Result<Option<OwnedFd>, RulesetError> {
    let mut ruleset = Ruleset::default().handle_access(AccessFs::from_all(TARGET))?;
    if !access.network {
        ruleset = ruleset.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp)?;
    }
    let mut created = ruleset.scope(Scope::AbstractUnixSocket | Scope::Signal)?.create()?;
    let read = AccessFs::from_read(TARGET);
    for (paths, rights) in [(&access.read, read), (&access.write, AccessFs::from_all(TARGET))] {
        for path in paths {
            // A folder that does not exist cannot be reached either: nothing to allow.
            if let Ok(fd) = PathFd::new(path) {
                created = created.add_rule(PathBeneath::new(fd, rights))?;
            }
        }
    }
    Ok(created.into())
}

/// Confines the calling thread to `ruleset`. Async-signal-safe: one system call.
///
/// # Safety
/// To be called in a child between fork and exec. The caller must have set `PR_SET_NO_NEW_PRIVS`.
pub unsafe fn restrict_self(ruleset: RawFd) -> std::io::Result<()> {
    // SAFETY: the descriptor is a Landlock ruleset the parent made; flags 0.
    if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Adds read and execute of `path` to a ruleset made by [`ruleset`], by its raw descriptor (in the
/// program's child side, for the namespace's own /proc).
///
/// # Safety
/// `ruleset` must be a Landlock ruleset descriptor not yet enforced by another process.
pub unsafe fn allow_read(ruleset: RawFd, path: &std::ffi::CStr) -> std::io::Result<()> {
    // SAFETY: as the caller promises.
    unsafe { allow(ruleset, path, AccessFs::from_read(TARGET) & supported()) }
}

/// Adds every file right beneath `path` to a ruleset made by [`ruleset`] (in the program's child side,
/// for its working folder layered in its mount namespace).
///
/// # Safety
/// `ruleset` must be a Landlock ruleset descriptor not yet enforced by another process.
pub unsafe fn allow_all(ruleset: RawFd, path: &std::ffi::CStr) -> std::io::Result<()> {
    // SAFETY: as the caller promises.
    unsafe { allow(ruleset, path, supported()) }
}

/// The file rights we ask for that this kernel handles (only those may appear in a rule). A system call,
/// no allocation: safe between fork and exec.
fn supported() -> BitFlags<AccessFs> {
    AccessFs::from_all(TARGET) & AccessFs::from_all(ABI::from(abi()))
}

/// Allows `rights` beneath `path` (opened `O_PATH` for the call, then closed). Async-signal-safe.
///
/// # Safety
/// `ruleset` must be a Landlock ruleset descriptor not yet enforced by another process.
unsafe fn allow(ruleset: RawFd, path: &std::ffi::CStr, rights: BitFlags<AccessFs>) -> std::io::Result<()> {
    // SAFETY: a path opened O_PATH, used for one system call and closed.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let result = add_path_rule(ruleset, fd, rights.bits());
        libc::close(fd);
        result
    }
}

/// Allows `rights` beneath the path open as `path` in `ruleset`: `landlock_add_rule`, async-signal-safe.
///
/// # Safety
/// `ruleset` must be a Landlock ruleset descriptor not yet enforced by another process.
unsafe fn add_path_rule(ruleset: RawFd, path: RawFd, rights: u64) -> std::io::Result<()> {
    #[repr(C, packed)]
    struct PathBeneathAttr {
        allowed_access: u64,
        parent_fd: i32,
    }
    const RULE_PATH_BENEATH: libc::c_int = 1;
    let attr = PathBeneathAttr { allowed_access: rights, parent_fd: path };
    // SAFETY: the attribute lives for the call; the kernel copies it.
    let result =
        unsafe { libc::syscall(libc::SYS_landlock_add_rule, ruleset, RULE_PATH_BENEATH, &raw const attr, 0u32) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The raw descriptor of an optional ruleset, for the child.
pub fn raw(ruleset: Option<&OwnedFd>) -> Option<RawFd> {
    ruleset.map(AsRawFd::as_raw_fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_roots_take_the_folder_above_bin_and_shims() {
        let roots = toolchain_roots("/root/.cargo/bin:/root/.pyenv/shims:/usr/bin:/opt/tool/libexec:/bin".as_ref());
        let expected: Vec<PathBuf> =
            ["/root/.cargo", "/root/.pyenv", "/usr", "/opt/tool/libexec", "/bin"].iter().map(PathBuf::from).collect();
        assert_eq!(roots, expected);
    }

    #[test]
    fn a_bin_folder_in_a_home_does_not_open_the_home() {
        let roots = toolchain_roots("/home/alice/bin:/root/bin:/home/alice/.local/bin".as_ref());
        let expected: Vec<PathBuf> =
            ["/home/alice/bin", "/root/bin", "/home/alice/.local"].iter().map(PathBuf::from).collect();
        assert_eq!(roots, expected);
    }

    #[test]
    fn etc_is_one_rule_for_other_users_and_each_entry_but_the_secrets_for_root() {
        let target = |rules: Vec<&(OwnedFd, u64)>| -> Vec<PathBuf> {
            rules
                .iter()
                .filter_map(|(fd, _)| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok())
                .collect()
        };
        let others = target(system_paths().rules(false).collect());
        let root = target(system_paths().rules(true).collect());
        assert!(others.contains(&PathBuf::from("/etc")));
        assert!(others.contains(&PathBuf::from("/usr")) && root.contains(&PathBuf::from("/usr")));
        assert!(!root.contains(&PathBuf::from("/etc")), "root's rules name /etc's entries, not /etc");
        assert!(!root.iter().any(|p| p.starts_with("/etc/shadow") || p.starts_with("/etc/ssl/private")));
        if Path::new("/etc/passwd").exists() {
            assert!(root.contains(&PathBuf::from("/etc/passwd")));
        }
    }

    #[test]
    fn a_ruleset_is_made_when_the_kernel_has_landlock() {
        let access = Access { read: vec![], write: vec![std::env::temp_dir()], network: false, as_root: true };
        let made = ruleset(&access).unwrap();
        assert_eq!(made.is_some(), abi() > 0);
    }
}
