//! The seccomp filter of untrusted processes: system calls that reach other processes, the kernel's
//! configuration or the network fail with EPERM; everything else is allowed.
//!
//! The filter is a small classic-BPF program written here: a binary search on the system call number
//! over the ranges of numbers that share a verdict, each test jumping straight to the verdict's return.
//! The kernel checks a few instructions per call and, when the filter is installed, works out quickly
//! which calls it always allows (it emulates the filter for every call number then, with interrupts off:
//! a filter that tested the numbers one by one made that a quarter of a launch's cost); and it compiles
//! the filter at every launch, at a cost that grows with its length.
//! It is compiled once, before any fork; installing it in the child is one `seccomp` system call on
//! memory the closure already owns, so nothing is allocated between fork and exec.

use std::sync::OnceLock;

pub type Instruction = libc::sock_filter;

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
    SYS_OPEN_TREE_ATTR,
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

/// `open_tree_attr` (Linux 6.15), which the `libc` crate does not name yet: the same number on every
/// architecture we have a filter for. It clones a mount with new attributes (a writable clone of a
/// read-only one, say), as `open_tree` and `mount_setattr` would together.
const SYS_OPEN_TREE_ATTR: libc::c_long = 467;

/// `clone` flags that would make new namespaces (the same escape as `unshare`).
const NAMESPACE_FLAGS: u32 = (libc::CLONE_NEWUSER
    | libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP) as u32;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_003E);
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_00B7);
#[cfg(target_arch = "riscv64")]
const AUDIT_ARCH: Option<u32> = Some(0xC000_00F3);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64")))]
const AUDIT_ARCH: Option<u32> = None;

/// On x86-64, call numbers with this bit set are the x32 ABI's, which a deny list by number would miss.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_KILL_PROCESS: u32 = 0x8000_0000;

/// Offsets in the kernel's `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
/// The low 32 bits of the first argument (every supported architecture is little-endian).
const ARG0_LOW: u32 = 16;

/// What the filter does with one call number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Allow,
    Deny(i32),
    /// `clone` with a namespace flag is denied.
    CloneWithoutNamespaces,
    /// `socket` for anything but AF_UNIX is denied.
    UnixSocketsOnly,
}

/// The compiled filters: for processes that may (`online`) or may not open network sockets.
struct Compiled {
    offline: Option<Vec<Instruction>>,
    online: Option<Vec<Instruction>>,
}

static COMPILED: OnceLock<Compiled> = OnceLock::new();

/// Whether the kernel has seccomp filters and we have a filter for this architecture.
pub fn available() -> bool {
    // SAFETY: PR_GET_SECCOMP only reads the calling thread's mode.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0 && filter(false).is_some()
}

/// The filter for a process that may (`network`) or may not open network sockets; `None` on an
/// architecture we have no filter for.
pub fn filter(network: bool) -> Option<&'static [Instruction]> {
    let compiled = COMPILED.get_or_init(|| Compiled { offline: compile(false), online: compile(true) });
    if network { compiled.online.as_deref() } else { compiled.offline.as_deref() }
}

fn rules(network: bool) -> Vec<(u32, Rule)> {
    let mut rules: Vec<(u32, Rule)> = DENIED.iter().map(|&call| (call as u32, Rule::Deny(libc::EPERM))).collect();
    rules.push((libc::SYS_clone as u32, Rule::CloneWithoutNamespaces));
    // clone3's flags live in memory a filter cannot read; C libraries fall back to `clone` on ENOSYS.
    rules.push((libc::SYS_clone3 as u32, Rule::Deny(libc::ENOSYS)));
    if !network {
        rules.push((libc::SYS_socket as u32, Rule::UnixSocketsOnly));
    }
    rules.sort_unstable_by_key(|&(number, _)| number);
    rules
}

fn compile(network: bool) -> Option<Vec<Instruction>> {
    let arch = AUDIT_ARCH?;
    let mut program = vec![load(ARCH), jump(libc::BPF_JEQ, arch, 1, 0), ret(RET_KILL_PROCESS), load(NR)];
    let mut ranges = ranges(&rules(network));
    if cfg!(target_arch = "x86_64") {
        ranges.push((X32_SYSCALL_BIT, Rule::Deny(libc::EPERM)));
    }
    // The search first, then each verdict's code once, where the search's jumps land.
    let search_len = ranges.len() - 1;
    let mut verdicts: Vec<(Rule, usize)> = Vec::new();
    let mut bodies = Vec::new();
    for &(_, rule) in &ranges {
        if !verdicts.iter().any(|&(seen, _)| seen == rule) {
            verdicts.push((rule, program.len() + search_len + bodies.len()));
            bodies.extend(body(rule));
        }
    }
    let verdict_at = |rule: Rule| verdicts.iter().find(|&&(seen, _)| seen == rule).map_or(0, |&(_, at)| at);
    search(&ranges, u32::MAX, &mut program, &verdict_at)?;
    program.extend(bodies);
    Some(program)
}

/// The call numbers cut into ranges that share a verdict, each as (its first number, the verdict),
/// from 0 up: what `rules` (sorted by number) does not name is allowed.
fn ranges(rules: &[(u32, Rule)]) -> Vec<(u32, Rule)> {
    let mut ranges = vec![(0, Rule::Allow)];
    let mut set = |from: u32, rule: Rule| match ranges.last_mut() {
        Some(last) if last.0 == from => last.1 = rule,
        Some(last) if last.1 == rule => {}
        _ => ranges.push((from, rule)),
    };
    for &(number, rule) in rules {
        set(number, rule);
        set(number.saturating_add(1), Rule::Allow);
    }
    ranges.dedup_by(|later, earlier| later.1 == earlier.1);
    ranges
}

/// Appends to `program` a binary search over `ranges` (at least two), the call number in the
/// accumulator: each test jumps to the next test or straight to the code of a verdict, which
/// `verdict_at` places after the search. `None` if a jump would be too long for BPF (it is not, for a
/// deny list this size).
fn search(
    ranges: &[(u32, Rule)],
    end: u32,
    program: &mut Vec<Instruction>,
    verdict_at: &dyn Fn(Rule) -> usize,
) -> Option<()> {
    let here = program.len();
    let (below, above) = ranges.split_at(weighted_middle(ranges, end));
    program.push(jump(libc::BPF_JGE, above[0].0, 0, 0));
    let if_below = if below.len() == 1 { verdict_at(below[0].1) } else { program.len() };
    if below.len() > 1 {
        search(below, above[0].0, program, verdict_at)?;
    }
    let if_above = if above.len() == 1 { verdict_at(above[0].1) } else { program.len() };
    if above.len() > 1 {
        search(above, end, program, verdict_at)?;
    }
    let offset = |target: usize| u8::try_from(target.checked_sub(here + 1)?).ok();
    program[here].jt = offset(if_above)?;
    program[here].jf = offset(if_below)?;
    Some(())
}

/// Call numbers the kernel emulates the filter for, at its installation (one per number the
/// architecture has, some 460 on x86-64).
const EMULATED_CALLS: u32 = 512;

/// Where to split `ranges` (the last of which ends before `end`) so that as many call numbers fall
/// below as above: the wide ranges (most of them allowed) are then found after fewer tests, which is
/// what the kernel's emulation of every number costs.
fn weighted_middle(ranges: &[(u32, Rule)], end: u32) -> usize {
    let width = |at: usize| {
        let next = ranges.get(at + 1).map_or(end, |next| next.0);
        next.min(EMULATED_CALLS).saturating_sub(ranges[at].0.min(EMULATED_CALLS)).max(1)
    };
    let total: u32 = (0..ranges.len()).map(width).sum();
    let mut below = 0;
    for at in 1..ranges.len() {
        below += width(at - 1);
        if 2 * below >= total {
            return at;
        }
    }
    ranges.len() - 1
}

fn body(rule: Rule) -> Vec<Instruction> {
    let deny = |errno: i32| ret(RET_ERRNO | errno as u32);
    match rule {
        Rule::Allow => vec![ret(RET_ALLOW)],
        Rule::Deny(errno) => vec![deny(errno)],
        Rule::CloneWithoutNamespaces => {
            vec![load(ARG0_LOW), jump(libc::BPF_JSET, NAMESPACE_FLAGS, 0, 1), deny(libc::EPERM), ret(RET_ALLOW)]
        }
        Rule::UnixSocketsOnly => {
            vec![load(ARG0_LOW), jump(libc::BPF_JEQ, libc::AF_UNIX as u32, 0, 1), ret(RET_ALLOW), deny(libc::EPERM)]
        }
    }
}

fn load(offset: u32) -> Instruction {
    Instruction { code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, jt: 0, jf: 0, k: offset }
}

fn jump(test: u32, value: u32, if_true: u8, if_false: u8) -> Instruction {
    Instruction { code: (libc::BPF_JMP | test | libc::BPF_K) as u16, jt: if_true, jf: if_false, k: value }
}

fn ret(value: u32) -> Instruction {
    Instruction { code: (libc::BPF_RET | libc::BPF_K) as u16, jt: 0, jf: 0, k: value }
}

/// Installs `program` on the calling thread. Async-signal-safe: one system call on memory we are given.
///
/// # Safety
/// To be called in a child between fork and exec (or in a single-threaded process): it confines the
/// calling thread for good. The caller must have set `PR_SET_NO_NEW_PRIVS` or hold CAP_SYS_ADMIN.
pub unsafe fn install(program: &[Instruction]) -> std::io::Result<()> {
    let prog = libc::sock_fprog { len: program.len() as libc::c_ushort, filter: program.as_ptr().cast_mut() };
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

    /// Runs `program` on a call as the kernel would: (number, first argument) to the value returned.
    fn evaluate(program: &[Instruction], arch: u32, number: u32, arg0: u32) -> u32 {
        let data = |offset: u32| match offset {
            NR => number,
            ARCH => arch,
            ARG0_LOW => arg0,
            other => panic!("the filter reads offset {other}"),
        };
        let (mut accumulator, mut pc) = (0u32, 0usize);
        loop {
            let instruction = program[pc];
            let code = u32::from(instruction.code);
            pc += 1;
            match code & 0x07 {
                libc::BPF_LD => accumulator = data(instruction.k),
                libc::BPF_RET => return instruction.k,
                libc::BPF_JMP => {
                    let taken = match code & 0xf0 {
                        libc::BPF_JEQ => accumulator == instruction.k,
                        libc::BPF_JGE => accumulator >= instruction.k,
                        libc::BPF_JSET => accumulator & instruction.k != 0,
                        other => panic!("unexpected jump {other:#x}"),
                    };
                    pc += usize::from(if taken { instruction.jt } else { instruction.jf });
                }
                other => panic!("unexpected instruction class {other:#x}"),
            }
        }
    }

    #[test]
    fn the_filter_denies_exactly_its_list() {
        let Some(arch) = AUDIT_ARCH else { return };
        let offline = filter(false).unwrap();
        let online = filter(true).unwrap();
        let eperm = RET_ERRNO | libc::EPERM as u32;
        for number in 0..1024u32 {
            let call = libc::c_long::from(number);
            let expected = if DENIED.contains(&call) {
                eperm
            } else if call == libc::SYS_clone3 {
                RET_ERRNO | libc::ENOSYS as u32
            } else {
                RET_ALLOW
            };
            let argument = if call == libc::SYS_socket || call == libc::SYS_clone { 0 } else { 7 };
            assert_eq!(evaluate(online, arch, number, argument), expected, "call {number}");
            let offline_expected = if call == libc::SYS_socket { eperm } else { expected };
            assert_eq!(evaluate(offline, arch, number, libc::AF_INET as u32), offline_expected, "call {number}");
        }
        let socket = libc::SYS_socket as u32;
        assert_eq!(evaluate(offline, arch, socket, libc::AF_UNIX as u32), RET_ALLOW);
        assert_eq!(evaluate(offline, arch, socket, libc::AF_INET6 as u32), eperm);
        assert_eq!(evaluate(online, arch, socket, libc::AF_INET6 as u32), RET_ALLOW);
        let clone = libc::SYS_clone as u32;
        assert_eq!(evaluate(offline, arch, clone, libc::SIGCHLD as u32), RET_ALLOW);
        for flag in [libc::CLONE_NEWUSER, libc::CLONE_NEWNET, libc::CLONE_NEWCGROUP] {
            assert_eq!(evaluate(offline, arch, clone, (flag | libc::SIGCHLD) as u32), eperm);
        }
        assert_eq!(evaluate(offline, arch ^ 1, 0, 0), RET_KILL_PROCESS);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(evaluate(offline, arch, X32_SYSCALL_BIT | 101, 0), eperm);
        }
    }

    #[test]
    fn neighbouring_numbers_with_one_verdict_make_one_range() {
        let deny = |errno| Rule::Deny(errno);
        let rules = [(3, deny(1)), (4, deny(1)), (5, deny(2)), (9, Rule::UnixSocketsOnly)];
        let expected = [
            (0, Rule::Allow),
            (3, deny(1)),
            (5, deny(2)),
            (6, Rule::Allow),
            (9, Rule::UnixSocketsOnly),
            (10, Rule::Allow),
        ];
        assert_eq!(ranges(&rules), expected);
        assert_eq!(ranges(&[(0, deny(1))]), [(0, deny(1)), (1, Rule::Allow)]);
    }

    #[test]
    fn the_filter_is_short() {
        let Some(offline) = filter(false) else { return };
        // A chain of tests, one per call, was 252 instructions long; a search by call number, 131.
        assert!(offline.len() < 70, "{} instructions", offline.len());
    }

    #[test]
    fn an_installed_filter_refuses_and_allows_real_calls() {
        let Some(program) = filter(false) else { return };
        // SAFETY: the child makes system calls only and _exits; the parent waits for it.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if install(program).is_err() {
                    libc::_exit(10);
                }
                let errno = || *libc::__errno_location();
                let checks = [
                    (libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) == -1 && errno() == libc::EPERM),
                    (libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) >= 0),
                    (libc::unshare(libc::CLONE_NEWUSER) == -1 && errno() == libc::EPERM),
                    (libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) == -1 && errno() == libc::EPERM),
                    (libc::syscall(libc::SYS_clone3, 0, 0) == -1 && errno() == libc::ENOSYS),
                    (libc::syscall(SYS_OPEN_TREE_ATTR, -1, 0, 0, 0, 0) == -1 && errno() == libc::EPERM),
                    (libc::getpid() > 0),
                ];
                let failed = checks.iter().position(|ok| !ok).map_or(0, |i| 20 + i as i32);
                libc::_exit(failed);
            }
            let mut status = 0;
            libc::waitpid(pid, &mut status, 0);
            assert!(libc::WIFEXITED(status), "status {status}");
            assert_eq!(libc::WEXITSTATUS(status), 0, "20 + the index of the check that failed");
        }
    }
}
