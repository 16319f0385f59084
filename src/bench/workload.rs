//! A benchmark's input, made once by its generator into a working folder that every run of both
//! sides then uses as its current folder (generated `files/` inside it, `stdin` fed to each run).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::stats::SplitMix64;
use crate::run::generate;
use crate::sandbox::{self, Input};
use crate::spec::{Bench, LoadedChallenge};

/// The made input. Dropping it removes the folders.
#[derive(Debug)]
pub struct Workload {
    /// The runs' working folder.
    pub dir: tempfile::TempDir,
    /// Holds the generator's stdin and answer, outside the working folder.
    _scratch: tempfile::TempDir,
    pub stdin: Input,
    /// The expected stdout, when the generator wrote one.
    pub answer: Option<Vec<u8>>,
    pub seed: u64,
}

impl Workload {
    #[must_use]
    pub fn cwd(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// The workload's seed: the spec's fixed one, else one drawn from the run's seed and the bench's name.
#[must_use]
pub fn seed_for(bench: &Bench, run_seed: u64) -> u64 {
    bench.workload.seed.unwrap_or_else(|| SplitMix64::new(run_seed ^ name_hash(&bench.name)).next_u64())
}

/// FNV-1a of a name: different benches of one run get different seeds.
pub(crate) fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The spec's params as text, for the report.
#[must_use]
pub fn params_text(bench: &Bench) -> BTreeMap<String, String> {
    bench
        .workload
        .params
        .iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect()
}

/// Runs the generator and lays out the working folder as a batch case's (see `run::batch`).
pub fn prepare(challenge: &LoadedChallenge, bench: &Bench, seed: u64) -> Result<Workload, String> {
    let io = |what: &str, error: std::io::Error| format!("{what}: {error}");
    let dir = crate::scratch::folder("bench").map_err(|e| io("a working folder", e))?;
    let scratch = crate::scratch::folder("gen").map_err(|e| io("a scratch folder", e))?;
    let out = scratch.path();
    let spec = &bench.workload;
    match spec.generator.strip_prefix("builtin:") {
        Some(name) => generate::run_builtin(name, seed, &spec.params, out),
        None => generate::run_program(&challenge.path(&spec.generator), seed, &spec.params, out),
    }
    .map_err(|error| error.to_string())?;
    let files = out.join("files");
    if files.is_dir() {
        for entry in std::fs::read_dir(&files).map_err(|e| io("reading the generated files", e))? {
            let entry = entry.map_err(|e| io("reading the generated files", e))?;
            std::fs::rename(entry.path(), dir.path().join(entry.file_name()))
                .map_err(|e| io("placing the generated files", e))?;
        }
    }
    let stdin_path = out.join("stdin");
    let stdin = if stdin_path.is_file() { Input::File(stdin_path) } else { Input::Null };
    let answer_path = out.join("answer");
    let answer = if answer_path.is_file() {
        Some(std::fs::read(&answer_path).map_err(|e| io("reading the generated answer", e))?)
    } else {
        None
    };
    let tmp = dir.path().join(".tmp");
    std::fs::create_dir(&tmp).map_err(|e| io("creating .tmp", e))?;
    sandbox::hand_over(&tmp).map_err(|e| io("handing over .tmp", e))?;
    sandbox::hand_over_folder(dir.path()).map_err(|e| io("handing over the working folder", e))?;
    Ok(Workload { dir, _scratch: scratch, stdin, answer, seed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(text: &str) -> Bench {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_fixed_seed_wins_and_names_vary_the_drawn_one() {
        let fixed = bench("name = \"a\"\n[workload]\ngenerator = \"g.py\"\nseed = 5\n");
        assert_eq!(seed_for(&fixed, 1), 5);
        let a = bench("name = \"a\"\n[workload]\ngenerator = \"g.py\"\n");
        let b = bench("name = \"b\"\n[workload]\ngenerator = \"g.py\"\n");
        assert_eq!(seed_for(&a, 1), seed_for(&a, 1));
        assert_ne!(seed_for(&a, 1), seed_for(&b, 1));
        assert_ne!(seed_for(&a, 1), seed_for(&a, 2));
    }

    #[test]
    fn params_are_shown_as_text() {
        let b = bench("name = \"a\"\n[workload]\ngenerator = \"g.py\"\nparams = { n = 5, kind = \"big\" }\n");
        let params = params_text(&b);
        assert_eq!(params.get("n").map(String::as_str), Some("5"));
        assert_eq!(params.get("kind").map(String::as_str), Some("big"));
    }
}
