//! Which isolation layers this machine offers, probed once per grader and reported in one line.
//!
//! Every probe is cheap and side-effect free (or undoes its effect), so the first run pays for it once.
//! A layer that is missing is reported as off with the reason in [`warnings`], never an error: `--strict`
//! callers ask [`strict_ok`].

use std::sync::OnceLock;

use super::{cgroup, landlock, namespaces, reaper, seccomp};

/// What the probes found.
#[derive(Debug, Clone)]
pub struct Layers {
    /// Landlock ABI version, 0 when Landlock is unavailable.
    pub landlock_abi: i32,
    pub seccomp: bool,
    /// Whether this program enabled namespaces and user namespaces can be made.
    pub namespaces: bool,
    /// A cgroup per run (as root, or in a delegated v2 group): v1's memory and pids controllers, or v2.
    pub cgroup: bool,
    pub subreaper: bool,
    pub root: bool,
    /// Why a layer is missing, one sentence each.
    pub warnings: Vec<String>,
}

static LAYERS: OnceLock<Layers> = OnceLock::new();

/// The layers, probed on first use.
pub fn layers() -> &'static Layers {
    LAYERS.get_or_init(probe)
}

/// Layers to leave off, comma-separated (`landlock,seccomp,userns,cgroup`): to compare tiers in the
/// benchmark, to exercise the fallbacks in tests, or to work around a kernel that misbehaves.
pub const DISABLE_VAR: &str = "TAKEHOME_SANDBOX_DISABLE";

fn probe() -> Layers {
    let disabled = std::env::var(DISABLE_VAR).unwrap_or_default();
    let off = |name: &str| disabled.split(',').any(|item| item.trim() == name);
    let mut layers = probe_machine();
    let mut turned_off = Vec::new();
    if off("landlock") && layers.landlock_abi > 0 {
        layers.landlock_abi = 0;
        turned_off.push("landlock");
    }
    for (name, flag) in
        [("seccomp", &mut layers.seccomp), ("userns", &mut layers.namespaces), ("cgroup", &mut layers.cgroup)]
    {
        if off(name) && *flag {
            *flag = false;
            turned_off.push(name);
        }
    }
    if !turned_off.is_empty() {
        layers.warnings.push(format!("{} turned off by {DISABLE_VAR}", turned_off.join(", ")));
    }
    layers
}

fn probe_machine() -> Layers {
    let mut warnings = Vec::new();
    let root = super::is_root();
    let landlock_abi = landlock::abi();
    if landlock_abi == 0 {
        warnings.push("Landlock is not available: runs can read and write wherever file permissions allow".into());
    }
    let seccomp = seccomp::available();
    if !seccomp {
        warnings.push("seccomp is not available: ptrace, bpf, mount and network sockets are not filtered".into());
    }
    let namespaces = namespaces::available();
    if let Err(reason) = &namespaces {
        warnings.push(format!("namespaces are off: {reason}"));
    }
    let cgroup = cgroup::available();
    if let Err(reason) = &cgroup {
        warnings.push(format!("cgroups are off: {reason}"));
    }
    let subreaper = reaper::become_subreaper();
    if !subreaper {
        warnings.push("cannot become a child subreaper: daemonised processes of a run may survive it".into());
    }
    Layers { landlock_abi, seccomp, namespaces: namespaces.is_ok(), cgroup: cgroup.is_ok(), subreaper, root, warnings }
}

impl Layers {
    /// `landlock=abi7 seccomp=on userns=on cgroup=v1-memory,pids reaper=on user=nobody`.
    #[must_use]
    pub fn describe(&self) -> String {
        let on = |yes: bool| if yes { "on" } else { "off" };
        let landlock = if self.landlock_abi > 0 { format!("abi{}", self.landlock_abi) } else { "off".into() };
        format!(
            "landlock={landlock} seccomp={} userns={} cgroup={} reaper={} rlimits=on env=cleared user={}",
            on(self.seccomp),
            on(self.namespaces),
            if self.cgroup { cgroup::describe() } else { "off".into() },
            on(self.subreaper),
            if self.root { "nobody" } else { "self" },
        )
    }

    /// Whether untrusted code is confined beyond rlimits: Landlock and seccomp together, or namespaces.
    pub fn strict_ok(&self) -> Result<(), String> {
        if (self.landlock_abi > 0 && self.seccomp) || self.namespaces {
            return Ok(());
        }
        Err(format!(
            "the sandbox needs Landlock and seccomp, or user namespaces, and this machine offers neither: {}",
            self.warnings.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(landlock_abi: i32, seccomp: bool, namespaces: bool) -> Layers {
        Layers {
            landlock_abi,
            seccomp,
            namespaces,
            cgroup: false,
            subreaper: true,
            root: false,
            warnings: vec!["reason".into()],
        }
    }

    #[test]
    fn strict_needs_landlock_and_seccomp_or_namespaces() {
        assert!(layers(7, true, false).strict_ok().is_ok());
        assert!(layers(0, false, true).strict_ok().is_ok());
        assert!(layers(7, false, false).strict_ok().is_err());
        assert!(layers(0, true, false).strict_ok().unwrap_err().contains("reason"));
    }

    #[test]
    fn description_names_each_layer() {
        let text = layers(7, true, false).describe();
        assert!(text.starts_with("landlock=abi7 seccomp=on userns=off cgroup=off"), "{text}");
        assert!(layers(0, false, false).describe().starts_with("landlock=off seccomp=off"));
    }
}
