//! The seccomp filter of untrusted processes: system calls that reach other processes, the kernel's
//! configuration or the network fail with EPERM; everything else is allowed.
//!
//! The BPF programs are compiled once, before any fork; installing them in the child is two `seccomp`
//! system calls on memory the closure already owns, so nothing is allocated between fork and exec.

use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use seccompiler::sock_filter as Instruction;
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// System calls no submission or build needs, each denied outright.
const DENIED: &[libc::c_long] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_mount_setattr,
    libc::SYS_pivot_root,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
];

/// `clone` flags that would make new namespaces (the same escape as `unshare`).
const NAMESPACE_FLAGS: [i32; 7] = [
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

/// The compiled filters: what to deny, and clone3 made to look absent (its flags live in memory a filter
/// cannot read, and C libraries fall back to `clone` on ENOSYS, not on EPERM).
#[derive(Debug, Clone)]
pub struct Filters {
    pub deny: BpfProgram,
    pub hide_clone3: BpfProgram,
}

struct Compiled {
    offline: Option<Filters>,
    online: Option<Filters>,
}

static COMPILED: OnceLock<Compiled> = OnceLock::new();

fn target() -> Option<TargetArch> {
    TargetArch::try_from(std::env::consts::ARCH).ok()
}

/// Whether the kernel has seccomp filters and we have a filter for this architecture.
pub fn available() -> bool {
    // SAFETY: PR_GET_SECCOMP only reads the calling thread's mode.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0 && filters(false).is_some()
}

/// The filters for a process that may (`network`) or may not open network sockets.
pub fn filters(network: bool) -> Option<&'static Filters> {
    let compiled = COMPILED.get_or_init(|| Compiled { offline: compile(false).ok(), online: compile(true).ok() });
    if network { compiled.online.as_ref() } else { compiled.offline.as_ref() }
}

fn compile(network: bool) -> Result<Filters, seccompiler::BackendError> {
    let arch = target().ok_or(seccompiler::BackendError::InvalidTargetArch(std::env::consts::ARCH.into()))?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|&call| (call, Vec::new())).collect();
    let namespace_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag as u32);
            SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )?])
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, namespace_rules);
    if !network {
        let not_unix =
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, u64::from(libc::AF_UNIX as u32))?;
        rules.insert(libc::SYS_socket, vec![SeccompRule::new(vec![not_unix])?]);
    }
    let errno = |code: i32| SeccompAction::Errno(code as u32);
    let deny = SeccompFilter::new(rules, SeccompAction::Allow, errno(libc::EPERM), arch)?.try_into()?;
    let clone3 = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    let hide_clone3 = SeccompFilter::new(clone3, SeccompAction::Allow, errno(libc::ENOSYS), arch)?.try_into()?;
    Ok(Filters { deny, hide_clone3 })
}

/// Installs `program` on the calling thread. Async-signal-safe: one system call on memory we are given.
///
/// # Safety
/// To be called in a child between fork and exec (or in a single-threaded process): it confines the
/// calling thread for good. The caller must have set `PR_SET_NO_NEW_PRIVS` or hold CAP_SYS_ADMIN.
pub unsafe fn install(program: &[Instruction]) -> std::io::Result<()> {
    // seccompiler's instruction is the kernel's `struct sock_filter` (repr(C)), as libc's is.
    let prog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, alive for the call; the kernel copies it.
    let result = unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &raw const prog as *const libc::c_void)
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_machine() {
        if target().is_none() {
            return;
        }
        let offline = filters(false).expect("compiles");
        let online = filters(true).expect("compiles");
        // The socket rule makes the offline program longer.
        assert!(offline.deny.len() > online.deny.len());
        assert!(!offline.hide_clone3.is_empty());
    }
}
