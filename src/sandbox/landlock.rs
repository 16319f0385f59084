//! The Landlock ruleset of untrusted processes: read and execute the system's toolchains, read and
//! write only the run's own folders, no TCP, and no signals or abstract sockets beyond its own domain.
//!
//! The ruleset is made in the grader before the fork (opening paths allocates); the child only calls
//! `landlock_restrict_self` on its descriptor, which is async-signal-safe.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use std::os::unix::fs::OpenOptionsExt;

use landlock::{ABI, Access as _, AccessFs, AccessNet, BitFlags, Ruleset, RulesetAttr, RulesetError, Scope};

/// The ABI whose rights we ask for; older kernels get the subset they know (best effort).
const TARGET: ABI = ABI::V7;

/// Folders every program may read and execute from (toolchains and the shared libraries they load).
const SYSTEM: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/usr", "/opt", "/proc", "/sys"];

/// Entries of /etc that hold secrets rather than configuration (a build runs as the grader's user).
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
}

/// The kernel's Landlock ABI version, 0 when Landlock is unavailable.
pub fn abi() -> i32 {
    // SAFETY: with a null attribute and the VERSION flag, the call only returns a number.
    let version =
        unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<libc::c_void>(), 0usize, 1u32) };
    i32::try_from(version).unwrap_or(0).max(0)
}

/// Opened once, with the rights each gets: the system folders, /etc without its secrets, and the device
/// files. Their rules are added with a system call each, without the check of the file's type the
/// `landlock` crate makes per rule (100 `fstat`s per run otherwise).
struct SystemPaths {
    rules: Vec<(OwnedFd, u64)>,
}

static SYSTEM_PATHS: OnceLock<SystemPaths> = OnceLock::new();

fn system_paths() -> &'static SystemPaths {
    SYSTEM_PATHS.get_or_init(|| {
        let supported = supported();
        let read = AccessFs::from_read(TARGET) & supported;
        let mut rules = Vec::new();
        let mut add = |path: PathBuf, rights: BitFlags<AccessFs>| rules.extend(path_rule(&path, rights));
        for path in SYSTEM.iter().map(PathBuf::from).chain(etc_entries()) {
            add(path, read);
        }
        for path in DEVICES_READABLE {
            add(PathBuf::from(path), BitFlags::from(AccessFs::ReadFile) & supported);
        }
        for path in DEVICES_WRITABLE {
            add(PathBuf::from(path), (AccessFs::ReadFile | AccessFs::WriteFile) & supported);
        }
        SystemPaths { rules }
    })
}

/// `path` opened for a rule, with `rights` cut to those of a file where it is not a folder; `None` where
/// it cannot be opened (what does not exist cannot be reached either: nothing to allow).
fn path_rule(path: &Path, rights: BitFlags<AccessFs>) -> Option<(OwnedFd, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    let file = std::fs::File::options().read(true).custom_flags(libc::O_PATH).open(path).ok()?;
    let rights = if metadata.is_dir() { rights } else { rights & AccessFs::from_file(TARGET) };
    Some((OwnedFd::from(file), rights.bits()))
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
    let Some(fd) = system_ruleset(access.network)? else { return Ok(None) };
    let supported = supported();
    for (paths, rights) in [(&access.read, AccessFs::from_read(TARGET)), (&access.write, AccessFs::from_all(TARGET))] {
        for path in paths {
            let Some((file, rights)) = path_rule(path, rights & supported) else { continue };
            // SAFETY: a ruleset no process enforces yet, and a path descriptor open for the call.
            unsafe { add_path_rule(fd.as_raw_fd(), file.as_raw_fd(), rights) }.map_err(|e| {
                std::io::Error::other(format!("landlock: cannot add a rule for {}: {e}", path.display()))
            })?;
        }
    }
    Ok(Some(fd))
}

/// A ruleset with the system's rules (and none of a run's), `None` when the kernel has no Landlock.
fn system_ruleset(network: bool) -> std::io::Result<Option<OwnedFd>> {
    let landlock = |e: RulesetError| std::io::Error::other(format!("landlock: {e}"));
    let mut ruleset = Ruleset::default().handle_access(AccessFs::from_all(TARGET)).map_err(landlock)?;
    if !network {
        ruleset = ruleset.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp).map_err(landlock)?;
    }
    let created =
        ruleset.scope(Scope::AbstractUnixSocket | Scope::Signal).and_then(|r| r.create()).map_err(landlock)?;
    let Some(fd): Option<OwnedFd> = created.into() else { return Ok(None) };
    for (path, rights) in &system_paths().rules {
        // SAFETY: a ruleset we just made and a path descriptor we hold open.
        unsafe { add_path_rule(fd.as_raw_fd(), path.as_raw_fd(), *rights) }
            .map_err(|e| std::io::Error::other(format!("landlock: cannot add a rule: {e}")))?;
    }
    Ok(Some(fd))
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
    fn etc_secrets_are_not_readable() {
        let entries = etc_entries();
        assert!(!entries.iter().any(|p| p.ends_with("shadow") || p.ends_with("ssl/private")));
        if Path::new("/etc/passwd").exists() {
            assert!(entries.iter().any(|p| p.ends_with("passwd")));
        }
        // Whoever the process runs as: file modes do not keep the secrets from a user in their group
        // (ssl-cert, shadow), nor from a run after a build as root changed them.
        let targets: Vec<PathBuf> = system_paths()
            .rules
            .iter()
            .filter_map(|(fd, _)| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok())
            .collect();
        assert!(!targets.iter().any(|p| p == Path::new("/etc") || p.starts_with("/etc/shadow")), "{targets:?}");
    }

    #[test]
    fn a_ruleset_is_made_when_the_kernel_has_landlock() {
        let made = ruleset(&Access { read: vec![], write: vec![std::env::temp_dir()], network: false }).unwrap();
        assert_eq!(made.is_some(), abi() > 0);
    }
}
