//! A cgroup per run, where the grader can make one: as root, in cgroup v1 (the memory and pids
//! controllers, and the freezer where mounted) or in the unified hierarchy (v2); as any other user, in a
//! v2 subtree delegated to it (systemd's `Delegate=yes`). A group limits memory without swap and the
//! processes and threads of a run where it has those controllers, and finds, freezes and kills every
//! process of the run, daemonised ones included.
//!
//! The child joins by writing "0" to `cgroup.procs` of each folder: precomputed paths, plain
//! open/write/close, so it is async-signal-safe between fork and exec.
//!
//! Making and removing a memory cgroup costs more than a short run itself, so a group goes back to a
//! small pool when its run ends (every process in it killed, or ending with the run's PID namespace) and
//! is given to a later run, once empty, with its limits set afresh. Pooled groups outlive the grader;
//! each grader removes the ones of graders that are gone when it starts.

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const MEMORY_ROOT: &str = "/sys/fs/cgroup/memory";
const PIDS_ROOT: &str = "/sys/fs/cgroup/pids";
const FREEZER_ROOT: &str = "/sys/fs/cgroup/freezer";
/// Our folder under each controller (v1) or in the unified hierarchy (v2); one subfolder per run.
const OURS: &str = "takehome";
/// `v1` or `v2`: which hierarchy to use on a machine that has both (hybrid); v1 by default.
pub const PREFER_VAR: &str = "TAKEHOME_CGROUP";

/// Which cgroup hierarchy runs go into.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hierarchy {
    /// The v1 memory and pids controllers (and the freezer, where mounted).
    V1,
    /// The unified hierarchy: `ours` is our folder in it; `memory` and `pids` say which controllers its
    /// groups have (the freezer and `cgroup.kill` are part of every v2 group).
    V2 { ours: PathBuf, memory: bool, pids: bool },
}

static HIERARCHY: OnceLock<Result<Hierarchy, String>> = OnceLock::new();

fn hierarchy() -> Result<&'static Hierarchy, String> {
    HIERARCHY.get_or_init(choose_hierarchy).as_ref().map_err(Clone::clone)
}

fn choose_hierarchy() -> Result<Hierarchy, String> {
    if !super::is_root() {
        return delegated_hierarchy();
    }
    let prefer_v2 = std::env::var(PREFER_VAR).is_ok_and(|v| v == "v2");
    let v1 = v1_hierarchy();
    if v1.is_ok() && !prefer_v2 {
        return v1;
    }
    match (v2_hierarchy(), v1) {
        (Ok(v2), _) => Ok(v2),
        (Err(_), Ok(v1)) => Ok(v1),
        (Err(v2), Err(v1)) => Err(format!("{v1}; {v2}")),
    }
}

fn v1_hierarchy() -> Result<Hierarchy, String> {
    for root in [MEMORY_ROOT, PIDS_ROOT] {
        if !Path::new(root).join("cgroup.procs").exists() {
            return Err(format!("{root} is not a cgroup v1 controller"));
        }
        let ours = Path::new(root).join(OURS);
        std::fs::create_dir_all(&ours).map_err(|e| format!("cannot create {}: {e}", ours.display()))?;
    }
    Ok(Hierarchy::V1)
}

/// Our folder at the top of the unified hierarchy (root only).
fn v2_hierarchy() -> Result<Hierarchy, String> {
    let mount = v2_mount().ok_or("no cgroup v2 hierarchy is mounted")?;
    v2_hierarchy_in(&mount.point)
}

/// Our folder in `parent`, a v2 group with no process of its own (or the root group, exempt from that
/// rule), with the memory and pids controllers given to its groups where `parent` is offered them (a
/// controller bound to a v1 hierarchy is not).
fn v2_hierarchy_in(parent: &Path) -> Result<Hierarchy, String> {
    let ours = parent.join(OURS);
    std::fs::create_dir_all(&ours).map_err(|e| format!("cannot create {}: {e}", ours.display()))?;
    let offered = std::fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
    for controller in ["memory", "pids"] {
        if offered.split_whitespace().any(|c| c == controller) {
            // Our folder holds no process itself, so it may hand controllers to its groups.
            let _ = std::fs::write(parent.join("cgroup.subtree_control"), format!("+{controller}"));
            let _ = std::fs::write(ours.join("cgroup.subtree_control"), format!("+{controller}"));
        }
    }
    let given = std::fs::read_to_string(ours.join("cgroup.subtree_control")).unwrap_or_default();
    let has = |controller: &str| given.split_whitespace().any(|c| c == controller);
    Ok(Hierarchy::V2 { memory: has("memory"), pids: has("pids"), ours })
}

/// The leaf of the grader's own cgroup the grader moves into, so that its own cgroup holds no process
/// and may hand controllers down (cgroup v2 gives controllers only to the children of a group without
/// processes of its own).
const GRADER_LEAF: &str = "grader";

/// Our folder in the grader's own v2 cgroup, when that cgroup is delegated to the grader's user (a
/// systemd scope or service with `Delegate=yes`): the grader moves itself into a leaf of it first. A run
/// started by the grader (same user) may then join a group in our folder: migrating needs write access to
/// `cgroup.procs` of the destination and of the common ancestor, both inside the delegated group.
fn delegated_hierarchy() -> Result<Hierarchy, String> {
    const NOT_ROOT: &str = "the grader is not root";
    let mount = v2_mount().ok_or_else(|| format!("{NOT_ROOT}, and no cgroup v2 hierarchy is mounted"))?;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("{NOT_ROOT}, and /proc/self/cgroup cannot be read: {e}"))?;
    let path = unified_cgroup(&cgroups)
        .ok_or_else(|| format!("{NOT_ROOT}, and /proc/self/cgroup names no cgroup v2 group"))?;
    let own = mount.folder_of(path).ok_or_else(|| {
        format!("{NOT_ROOT}, and its cgroup {path} is outside the cgroup v2 hierarchy at {}", mount.point.display())
    })?;
    if !writable(&own) || !writable(&own.join("cgroup.procs")) {
        return Err(format!(
            "{NOT_ROOT}, and its cgroup {path} is not delegated to it (run it under `systemd-run \
             --user --scope -p Delegate=yes`)"
        ));
    }
    move_into_leaf(&own)
        .map_err(|e| format!("{NOT_ROOT}, and it cannot move into {}: {e}", own.join(GRADER_LEAF).display()))?;
    v2_hierarchy_in(&own)
}

/// Moves the grader (every thread of it) into the leaf [`GRADER_LEAF`] of its cgroup `own`.
fn move_into_leaf(own: &Path) -> io::Result<()> {
    let leaf = own.join(GRADER_LEAF);
    let made = match std::fs::create_dir(&leaf) {
        Ok(()) => true,
        // Another grader in the same group made it.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => false,
        Err(error) => return Err(error),
    };
    let moved = std::fs::write(leaf.join("cgroup.procs"), std::process::id().to_string());
    if moved.is_err() && made {
        let _ = std::fs::remove_dir(&leaf);
    }
    moved
}

/// Whether the grader may write `path` (by its effective ids, as the kernel checks a cgroup write).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = CString::new(path.as_os_str().as_bytes()) else { return false };
    // SAFETY: faccessat only reads the C string, which lives across the call.
    unsafe { libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}

/// The grader's group in the unified hierarchy: the path of the `0::` line of `/proc/self/cgroup`.
fn unified_cgroup(proc_self_cgroup: &str) -> Option<&str> {
    proc_self_cgroup.lines().find_map(|line| line.strip_prefix("0::"))
}

/// Where the unified hierarchy is mounted here.
#[derive(Debug, PartialEq, Eq)]
struct V2Mount {
    /// `/sys/fs/cgroup` on current distributions, `/sys/fs/cgroup/unified` beside v1 on hybrid ones.
    point: PathBuf,
    /// The group shown at `point`: `/` but where a container mounts only its own part of the hierarchy.
    root: PathBuf,
}

impl V2Mount {
    /// The folder of `group` (a path as `/proc/<pid>/cgroup` gives it), when it is under this mount.
    fn folder_of(&self, group: &str) -> Option<PathBuf> {
        let relative = Path::new(group).strip_prefix(&self.root).ok()?;
        Some(if relative.as_os_str().is_empty() { self.point.clone() } else { self.point.join(relative) })
    }
}

fn v2_mount() -> Option<V2Mount> {
    parse_v2_mount(&std::fs::read_to_string("/proc/self/mountinfo").ok()?)
}

/// The first cgroup2 mount in `mountinfo` (the format of `/proc/self/mountinfo`).
fn parse_v2_mount(mountinfo: &str) -> Option<V2Mount> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        let mut fields = before.split_whitespace().skip(3);
        let root = fields.next()?;
        let point = fields.next()?;
        Some(V2Mount { point: PathBuf::from(point), root: PathBuf::from(root) })
    })
}

/// Whether per-run cgroups can be made here: as root, cgroup v1's memory and pids controllers or a
/// cgroup v2 hierarchy, writable; as another user, a v2 group delegated to it.
pub fn available() -> Result<(), String> {
    hierarchy()?;
    remove_groups_of_gone_graders();
    Ok(())
}

/// The hierarchy and controllers runs get, for the sandbox line: `v1-memory,pids`, `v2-memory,pids`, or
/// `v2` alone (no controllers: the group still kills and freezes every process of a run).
pub fn describe() -> String {
    match hierarchy() {
        Ok(Hierarchy::V1) => "v1-memory,pids".into(),
        Ok(Hierarchy::V2 { memory, pids, .. }) => {
            let controllers: Vec<&str> = [(*memory, "memory"), (*pids, "pids")]
                .into_iter()
                .filter_map(|(has, name)| has.then_some(name))
                .collect();
            if controllers.is_empty() { "v2".into() } else { format!("v2-{}", controllers.join(",")) }
        }
        Err(_) => "off".into(),
    }
}

/// Groups whose runs ended, ready for the next (without a freezer).
static POOL: Mutex<Vec<Dirs>> = Mutex::new(Vec::new());
/// Enough for the runs a grader has going at once.
const POOL_SIZE: usize = 8;

/// Removes `<pid>-<n>` groups whose grader no longer runs (pooled groups, or left by a crash).
fn remove_groups_of_gone_graders() {
    let mut roots: Vec<PathBuf> = if super::is_root() {
        [MEMORY_ROOT, PIDS_ROOT, FREEZER_ROOT].iter().map(|r| Path::new(r).join(OURS)).collect()
    } else {
        Vec::new()
    };
    if let Ok(Hierarchy::V2 { ours, .. }) = hierarchy() {
        roots.push(ours.clone());
    }
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name.to_str().and_then(|n| n.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok());
            if owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// The folders of one group: one per v1 controller, or the same v2 folder for each.
#[derive(Debug)]
struct Dirs {
    memory: PathBuf,
    pids: PathBuf,
    freezer: Option<PathBuf>,
    hierarchy: Hierarchy,
    /// The memory and task limits written last (a pooled group that has them already keeps them).
    limits: Option<(Option<u64>, u64)>,
}

impl Dirs {
    fn make(hierarchy: &Hierarchy, freezer: bool) -> io::Result<Dirs> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        if let Hierarchy::V2 { ours, .. } = hierarchy {
            let dir = ours.join(&name);
            std::fs::create_dir(&dir)?;
            let freezer = freezer.then(|| dir.clone());
            return Ok(Dirs { memory: dir.clone(), pids: dir, freezer, hierarchy: hierarchy.clone(), limits: None });
        }
        let memory = Path::new(MEMORY_ROOT).join(OURS).join(&name);
        let pids = Path::new(PIDS_ROOT).join(OURS).join(&name);
        std::fs::create_dir(&memory)?;
        if let Err(error) = std::fs::create_dir(&pids) {
            let _ = std::fs::remove_dir(&memory);
            return Err(error);
        }
        let freezer = freezer.then(|| Path::new(FREEZER_ROOT).join(OURS)).filter(|ours| {
            Path::new(FREEZER_ROOT).join("cgroup.procs").exists() && std::fs::create_dir_all(ours).is_ok()
        });
        let freezer = freezer.map(|ours| ours.join(&name)).filter(|dir| std::fs::create_dir(dir).is_ok());
        Ok(Dirs { memory, pids, freezer, hierarchy: Hierarchy::V1, limits: None })
    }

    /// The folders to join (each once).
    fn unique(&self) -> Vec<&PathBuf> {
        let mut dirs: Vec<&PathBuf> = Vec::new();
        for dir in [Some(&self.memory), Some(&self.pids), self.freezer.as_ref()].into_iter().flatten() {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        dirs
    }

    /// The processes in the group (the pids controller lists the same ones as the others).
    fn members(&self) -> Vec<libc::pid_t> {
        std::fs::read_to_string(self.pids.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect()
    }

    fn remove(&self) {
        // A killed process leaves its cgroup a moment after it dies.
        for dir in self.unique() {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// Which folder of a group a limit file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Controller {
    Memory,
    Pids,
}

/// What a failed write of a limit means for the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The group cannot be used without it.
    Required,
    /// Required where the file exists (only with swap accounting, say).
    WherePresent,
    /// Ignored when it fails.
    BestEffort,
}

/// One write of a group's limits.
#[derive(Debug, PartialEq, Eq)]
struct LimitWrite {
    controller: Controller,
    file: &'static str,
    value: String,
    need: Need,
}

/// The writes, in order, that give a group of `hierarchy` `memory` bytes without swap beyond it (no
/// limit for `None`) and `tasks` processes and threads, with the controllers it has.
fn limit_writes(hierarchy: &Hierarchy, memory: Option<u64>, tasks: u64) -> Vec<LimitWrite> {
    let write = |controller, file, value: String, need| LimitWrite { controller, file, value, need };
    match *hierarchy {
        Hierarchy::V1 => {
            let limit = memory.map_or_else(|| "-1".to_string(), |m| m.to_string());
            // memsw (present only with swap accounting) may never be below the limit: lifted first.
            vec![
                write(Controller::Memory, "memory.memsw.limit_in_bytes", "-1".into(), Need::BestEffort),
                write(Controller::Memory, "memory.limit_in_bytes", limit.clone(), Need::Required),
                write(Controller::Memory, "memory.memsw.limit_in_bytes", limit, Need::BestEffort),
                write(Controller::Pids, "pids.max", tasks.to_string(), Need::Required),
            ]
        }
        Hierarchy::V2 { memory: has_memory, pids: has_pids, .. } => {
            let limit = memory.map_or_else(|| "max".to_string(), |m| m.to_string());
            let mut writes = Vec::new();
            if has_memory {
                writes.push(write(Controller::Memory, "memory.max", limit, Need::Required));
                writes.push(write(Controller::Memory, "memory.swap.max", "0".into(), Need::WherePresent));
            }
            if has_pids {
                writes.push(write(Controller::Pids, "pids.max", tasks.to_string(), Need::Required));
            }
            writes
        }
    }
}

/// One run's cgroup; emptied (killing what is left) on drop, then pooled or removed.
#[derive(Debug)]
pub struct RunGroup {
    dirs: Dirs,
    /// The OOM kills the group had seen before this run (a pooled group keeps its count).
    oom_kills_before: u64,
    /// `cgroup.procs` of each, for the child to join.
    pub join: Vec<CString>,
    /// Whether every member is ending already (see [`RunGroup::release_ending`]).
    ending: bool,
}

impl RunGroup {
    /// A cgroup with `memory` bytes (no swap beyond it) and at most `tasks` processes and threads, and a
    /// freezer when asked for and the machine has one: a pooled one when there is, else a new one.
    pub fn create(memory: Option<u64>, tasks: u64, freezer: bool) -> io::Result<RunGroup> {
        let hierarchy = hierarchy().map_err(io::Error::other)?;
        RunGroup::create_in(hierarchy, memory, tasks, freezer)
    }

    fn create_in(hierarchy: &Hierarchy, memory: Option<u64>, tasks: u64, freezer: bool) -> io::Result<RunGroup> {
        let pooled = if freezer { None } else { take_empty_from_pool(hierarchy) };
        if let Some(dirs) = pooled {
            match RunGroup::configure(dirs, memory, tasks) {
                Ok(group) => return Ok(group),
                // Memory still charged to it that cannot be reclaimed below the new limit: start afresh.
                Err(failed) => failed.0.remove(),
            }
        }
        RunGroup::configure(Dirs::make(hierarchy, freezer)?, memory, tasks).map_err(|failed| {
            let (dirs, error) = *failed;
            dirs.remove();
            error
        })
    }

    fn configure(mut dirs: Dirs, memory: Option<u64>, tasks: u64) -> Result<RunGroup, Box<(Dirs, io::Error)>> {
        let procs = |dir: &&PathBuf| CString::new(dir.join("cgroup.procs").into_os_string().into_encoded_bytes());
        let join: Result<Vec<CString>, _> = dirs.unique().iter().map(procs).collect();
        let join = match join {
            Ok(join) => join,
            Err(error) => return Err(Box::new((dirs, error.into()))),
        };
        if dirs.limits == Some((memory, tasks)) {
            let oom_kills_before = oom_kills(&dirs);
            return Ok(RunGroup { dirs, oom_kills_before, join, ending: false });
        }
        dirs.limits = None;
        for write in limit_writes(&dirs.hierarchy, memory, tasks) {
            let dir = match write.controller {
                Controller::Memory => &dirs.memory,
                Controller::Pids => &dirs.pids,
            };
            let path = dir.join(write.file);
            let failed = match (std::fs::write(&path, &write.value), write.need) {
                (Ok(()), _) | (Err(_), Need::BestEffort) => None,
                (Err(error), Need::WherePresent) => Some(error).filter(|_| path.exists()),
                (Err(error), Need::Required) => Some(error),
            };
            if let Some(error) = failed {
                let error = io::Error::new(
                    error.kind(),
                    format!("cannot write {} to {}: {error}", write.value, path.display()),
                );
                return Err(Box::new((dirs, error)));
            }
        }
        dirs.limits = Some((memory, tasks));
        let oom_kills_before = oom_kills(&dirs);
        Ok(RunGroup { dirs, oom_kills_before, join, ending: false })
    }

    /// Whether the group counts the run's processes and threads (it has the pids controller).
    pub fn limits_tasks(&self) -> bool {
        match self.dirs.hierarchy {
            Hierarchy::V1 => true,
            Hierarchy::V2 { pids, .. } => pids,
        }
    }

    /// Whether the kernel's OOM killer acted in the group during this run.
    pub fn oom_killed(&self) -> bool {
        oom_kills(&self.dirs) > self.oom_kills_before
    }

    /// Kills every process in the group, round after round while new ones appear (a fork racing the
    /// kill). Returns once every process left has been killed: those may take a moment more to end (a
    /// run's first child tears down its copy of the grader's memory), and the group is not reused before.
    pub fn kill_all(&self) {
        if matches!(self.dirs.hierarchy, Hierarchy::V2 { .. }) {
            // Every process of the group at once, forks racing it included (Linux 5.14).
            let _ = std::fs::write(self.dirs.pids.join("cgroup.kill"), "1");
        }
        let mut killed: Vec<libc::pid_t> = Vec::new();
        for round in 0..100 {
            let pids = self.members();
            if pids.iter().all(|pid| killed.contains(pid)) {
                return;
            }
            // After the first round, a newcomer was forked during the kill: give its parent time to die.
            if round > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            for &pid in &pids {
                // SAFETY: kill has no memory effects; the pid is a member of our group.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            killed.extend(pids);
            // Frozen processes die only once thawed (cgroup v1).
            if self.dirs.freezer.is_some() {
                let _ = self.freeze(false);
            }
        }
    }

    /// Sends `signal` once to every process now in the group.
    pub fn signal(&self, signal: libc::c_int) {
        for pid in self.members() {
            // SAFETY: kill has no memory effects; the pid is a member of our group.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Whether the group can be frozen.
    pub fn has_freezer(&self) -> bool {
        self.dirs.freezer.is_some()
    }

    /// Freezes (`true`) or thaws every process of the group; a freeze waits until the kernel says it is
    /// done (or a second has passed). Errors when the group has no freezer.
    pub fn freeze(&self, frozen: bool) -> io::Result<()> {
        let Some(dir) = &self.dirs.freezer else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "this cgroup has no freezer"));
        };
        // v1: freezer.state says FROZEN once done; v2: cgroup.events says `frozen 1`.
        let (control, frozen_value, thawed_value, state, done) = match self.dirs.hierarchy {
            Hierarchy::V1 => ("freezer.state", "FROZEN", "THAWED", "freezer.state", "FROZEN"),
            Hierarchy::V2 { .. } => ("cgroup.freeze", "1", "0", "cgroup.events", "frozen 1"),
        };
        std::fs::write(dir.join(control), if frozen { frozen_value } else { thawed_value })?;
        if frozen {
            for _ in 0..1000 {
                if std::fs::read_to_string(dir.join(state))?.lines().any(|line| line.trim() == done) {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            return Err(io::Error::new(io::ErrorKind::TimedOut, "the cgroup did not freeze within a second"));
        }
        Ok(())
    }

    fn members(&self) -> Vec<libc::pid_t> {
        self.dirs.members()
    }
}

/// A pooled group of `hierarchy` whose killed processes have all ended by now, if there is one.
fn take_empty_from_pool(hierarchy: &Hierarchy) -> Option<Dirs> {
    let mut pool = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let empty = pool.iter().position(|dirs| dirs.hierarchy == *hierarchy && dirs.members().is_empty())?;
    Some(pool.swap_remove(empty))
}

impl RunGroup {
    /// Lets the group go without killing its members, which are all ending already (the init of their
    /// PID namespace has ended). Like any pooled group, it is given out again only once empty.
    pub fn release_ending(mut self) {
        self.ending = true;
    }
}

impl Drop for RunGroup {
    fn drop(&mut self) {
        if !self.ending {
            self.kill_all();
        }
        let emptied = Dirs {
            memory: PathBuf::new(),
            pids: PathBuf::new(),
            freezer: None,
            hierarchy: Hierarchy::V1,
            limits: None,
        };
        let dirs = std::mem::replace(&mut self.dirs, emptied);
        // Pooled even while its killed processes end: the next run takes only an emptied group.
        if dirs.freezer.is_none() {
            let mut pool = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if pool.len() < POOL_SIZE {
                pool.push(dirs);
                return;
            }
        }
        dirs.remove();
    }
}

/// The OOM kills a group has seen (`oom_kill` of v1's memory.oom_control or v2's memory.events).
fn oom_kills(dirs: &Dirs) -> u64 {
    let file = match dirs.hierarchy {
        Hierarchy::V1 => "memory.oom_control",
        Hierarchy::V2 { .. } => "memory.events",
    };
    let text = std::fs::read_to_string(dirs.memory.join(file)).unwrap_or_default();
    text.lines().find_map(|line| line.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

#[cfg(test)]
fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Joins the calling process to the cgroup whose `cgroup.procs` is `procs`. Async-signal-safe.
///
/// # Safety
/// To be called in a child between fork and exec, with a path made before the fork.
pub unsafe fn join(procs: &CString) -> io::Result<()> {
    // SAFETY: `procs` is a valid C string; "0" names the calling process.
    unsafe {
        let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let written = libc::write(fd, b"0".as_ptr().cast(), 1);
        libc::close(fd);
        if written != 1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
25 31 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn the_unified_mount_is_found_with_the_group_it_shows() {
        let hybrid = parse_v2_mount(HYBRID_MOUNTINFO).unwrap();
        assert_eq!(hybrid, V2Mount { point: "/sys/fs/cgroup/unified".into(), root: "/".into() });
        let container = "900 800 0:30 /docker/abc /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw,nsdelegate\n";
        let container = parse_v2_mount(container).unwrap();
        assert_eq!(container, V2Mount { point: "/sys/fs/cgroup".into(), root: "/docker/abc".into() });
        assert_eq!(parse_v2_mount("42 31 0:39 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"), None);
        assert_eq!(parse_v2_mount(""), None);
    }

    #[test]
    fn the_graders_unified_group_is_the_zero_line_of_proc_self_cgroup() {
        let hybrid = "9:name=systemd:/user.slice\n4:memory:/user.slice\n0::/user.slice/user-1000.slice/run-r1.scope\n";
        assert_eq!(unified_cgroup(hybrid), Some("/user.slice/user-1000.slice/run-r1.scope"));
        assert_eq!(unified_cgroup("0::/\n"), Some("/"));
        // v1 only: no unified group.
        assert_eq!(unified_cgroup("4:memory:/\n3:pids:/\n"), None);
        // A v1 controller line whose path happens to hold "0::" is not the unified one.
        assert_eq!(unified_cgroup("10:name=x:/a0::/b\n"), None);
    }

    #[test]
    fn a_group_path_maps_to_its_folder_under_the_mount() {
        let host = V2Mount { point: "/sys/fs/cgroup".into(), root: "/".into() };
        assert_eq!(host.folder_of("/user.slice/run-r1.scope"), Some("/sys/fs/cgroup/user.slice/run-r1.scope".into()));
        assert_eq!(host.folder_of("/"), Some(PathBuf::from("/sys/fs/cgroup")));
        let container = V2Mount { point: "/sys/fs/cgroup".into(), root: "/docker/abc".into() };
        assert_eq!(container.folder_of("/docker/abc/app"), Some("/sys/fs/cgroup/app".into()));
        assert_eq!(container.folder_of("/docker/abc"), Some("/sys/fs/cgroup".into()));
        // Outside the mounted part (or a sibling whose name merely starts alike): no folder.
        assert_eq!(container.folder_of("/user.slice"), None);
        assert_eq!(container.folder_of("/docker/abcdef"), None);
    }

    fn writes(writes: &[LimitWrite]) -> Vec<(Controller, &str, &str, Need)> {
        writes.iter().map(|w| (w.controller, w.file, w.value.as_str(), w.need)).collect()
    }

    #[test]
    fn v1_limits_lift_memsw_before_the_memory_limit_and_set_it_after() {
        use Controller::{Memory, Pids};
        let table = limit_writes(&Hierarchy::V1, Some(64 << 20), 32);
        assert_eq!(
            writes(&table),
            [
                (Memory, "memory.memsw.limit_in_bytes", "-1", Need::BestEffort),
                (Memory, "memory.limit_in_bytes", "67108864", Need::Required),
                (Memory, "memory.memsw.limit_in_bytes", "67108864", Need::BestEffort),
                (Pids, "pids.max", "32", Need::Required),
            ]
        );
        let unlimited = limit_writes(&Hierarchy::V1, None, 256);
        assert_eq!(unlimited[1].value, "-1");
        assert_eq!(unlimited[2].value, "-1");
    }

    #[test]
    fn v2_limits_cover_the_controllers_the_groups_have() {
        use Controller::{Memory, Pids};
        let both = Hierarchy::V2 { ours: "/x".into(), memory: true, pids: true };
        assert_eq!(
            writes(&limit_writes(&both, Some(1 << 20), 8)),
            [
                (Memory, "memory.max", "1048576", Need::Required),
                (Memory, "memory.swap.max", "0", Need::WherePresent),
                (Pids, "pids.max", "8", Need::Required),
            ]
        );
        assert_eq!(limit_writes(&both, None, 8)[0].value, "max");
        let pids_only = Hierarchy::V2 { ours: "/x".into(), memory: false, pids: true };
        assert_eq!(writes(&limit_writes(&pids_only, Some(1 << 20), 8)), [(Pids, "pids.max", "8", Need::Required)]);
        let neither = Hierarchy::V2 { ours: "/x".into(), memory: false, pids: false };
        assert!(limit_writes(&neither, Some(1 << 20), 8).is_empty());
    }

    #[test]
    fn a_v2_folder_without_controllers_still_gives_groups() {
        let parent = tempfile::tempdir().unwrap();
        let hierarchy = v2_hierarchy_in(parent.path()).unwrap();
        assert_eq!(hierarchy, Hierarchy::V2 { ours: parent.path().join(OURS), memory: false, pids: false });
        assert!(parent.path().join(OURS).is_dir());
    }

    #[test]
    fn a_group_limits_and_is_removed() {
        if available().is_err() {
            return;
        }
        let group = RunGroup::create(Some(64 << 20), 32, true).unwrap();
        assert_eq!(read_number(&group.dirs.pids.join("pids.max")), Some(32));
        assert_eq!(read_number(&group.dirs.memory.join("memory.limit_in_bytes")), Some(64 << 20));
        assert!(!group.oom_killed());
        let dirs = [group.dirs.memory.clone(), group.dirs.pids.clone()];
        drop(group);
        // With a freezer it is never pooled.
        assert!(dirs.iter().all(|d| !d.exists()));
    }

    #[test]
    fn a_v2_group_holds_freezes_and_kills_its_processes() {
        let Ok(v2) = (if super::super::is_root() { v2_hierarchy() } else { Err(String::new()) }) else { return };
        let group = RunGroup::create_in(&v2, Some(64 << 20), 32, true).unwrap();
        assert_eq!(group.join.len(), 1, "one folder for every controller");
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        std::fs::write(group.dirs.pids.join("cgroup.procs"), child.id().to_string()).unwrap();
        assert_eq!(group.members(), vec![child.id() as libc::pid_t]);
        if let Hierarchy::V2 { pids: true, .. } = v2 {
            assert_eq!(read_number(&group.dirs.pids.join("pids.max")), Some(32));
        }
        group.freeze(true).unwrap();
        group.freeze(false).unwrap();
        group.kill_all();
        let status = child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(libc::SIGKILL));
        let dir = group.dirs.pids.clone();
        drop(group);
        // With a freezer it is never pooled.
        assert!(!dir.exists());
    }

    #[test]
    fn a_pooled_group_gets_its_limits_afresh() {
        if available().is_err() {
            return;
        }
        let first = RunGroup::create(Some(64 << 20), 32, false).unwrap();
        let dirs = first.dirs.memory.clone();
        drop(first);
        // Another test may take it from the pool first: then this one is new, and the check still holds.
        let second = RunGroup::create(None, 48, false).unwrap();
        assert_eq!(read_number(&second.dirs.pids.join("pids.max")), Some(48));
        assert!(read_number(&second.dirs.memory.join("memory.limit_in_bytes")).unwrap() > 1 << 40);
        assert!(!second.oom_killed());
        let _ = dirs;
    }
}
