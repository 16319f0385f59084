//! The machine a benchmark ran on, recorded beside its samples so a score can be judged later: CPU
//! model, cores, load average, kernel and frequency governor (when readable).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: Option<String>,
    /// Cores this process may use.
    pub cores: usize,
    /// 1, 5 and 15 minute load averages, at the start of the benchmark.
    pub load_average: Option<[f64; 3]>,
    pub kernel: Option<String>,
    /// The frequency governor of cpu0 (`performance`, `powersave`...), when the kernel exposes it.
    pub governor: Option<String>,
}

/// Reads the environment now. Anything unreadable is left out, never an error.
#[must_use]
pub fn capture() -> Environment {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    Environment {
        cpu_model: read("/proc/cpuinfo").and_then(|text| cpu_model(&text)),
        cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        load_average: read("/proc/loadavg").and_then(|text| load_average(&text)),
        kernel: read("/proc/sys/kernel/osrelease").map(|text| text.trim().to_string()).filter(|t| !t.is_empty()),
        governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
            .map(|text| text.trim().to_string())
            .filter(|t| !t.is_empty()),
    }
}

/// The first `model name` of /proc/cpuinfo (x86), or `Model`/`CPU part` elsewhere.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Processor"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            (name.trim() == *key && !value.trim().is_empty()).then(|| value.trim().to_string())
        })
    })
}

fn load_average(loadavg: &str) -> Option<[f64; 3]> {
    let mut fields = loadavg.split_whitespace().map(str::parse::<f64>);
    Some([fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_is_read_from_cpuinfo() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(cpu_model(text).as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(cpu_model("processor : 0\n"), None);
    }

    #[test]
    fn load_average_takes_the_first_three_figures() {
        assert_eq!(load_average("2.25 2.99 2.98 3/105 23818\n"), Some([2.25, 2.99, 2.98]));
        assert_eq!(load_average("garbage"), None);
    }

    #[test]
    fn capture_never_fails_and_counts_at_least_one_core() {
        assert!(capture().cores >= 1);
    }
}
