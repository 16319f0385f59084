//! Generators written by a challenge's author: `<program> <seed> <outdir> key=value...`, run through
//! the sandbox (trusted, so not dropped to an unprivileged user) with generous limits.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::{GenerateError, Params};
use crate::sandbox::{self, Input, RunLimits, RunPlan};

/// Runs the generator program at `program` for `seed`, writing into `out`.
pub fn run_program(program: &Path, seed: u64, params: &Params, out: &Path) -> Result<(), GenerateError> {
    let name = program.display().to_string();
    let (executable, mut args): (OsString, Vec<OsString>) = match program.extension().and_then(|e| e.to_str()) {
        Some("py") => ("python3".into(), vec![program.into()]),
        Some("js") => ("node".into(), vec![program.into()]),
        Some("sh") => ("sh".into(), vec![program.into()]),
        _ => (program.into(), vec![]),
    };
    args.push(seed.to_string().into());
    args.push(out.into());
    for (key, value) in params {
        let value = match value {
            toml::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        args.push(format!("{key}={value}").into());
    }
    let plan = RunPlan {
        program: executable,
        args,
        cwd: out.to_path_buf(),
        env: vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())),
            ("LANG".into(), "C.UTF-8".into()),
            ("HOME".into(), out.into()),
        ],
        stdin: Input::Null,
        limits: RunLimits { wall_time: Duration::from_secs(300), output: 1 << 30, ..RunLimits::default() },
        drop_privileges: false,
        confine: None,
    };
    let outcome = sandbox::run(&plan).map_err(|source| GenerateError::Io { generator: name.clone(), source })?;
    if !outcome.success() {
        let stderr = String::from_utf8_lossy(&outcome.stderr);
        let why = outcome.limit_hit.map_or_else(|| outcome.status.to_string(), |limit| format!("{limit:?} limit hit"));
        return Err(GenerateError::Failed { generator: name, message: format!("{why}\n{}", stderr.trim_end()) });
    }
    // A generator may print its answer instead of writing `answer`.
    let answer = out.join("answer");
    if !answer.exists() && !outcome.stdout.is_empty() {
        std::fs::write(&answer, &outcome.stdout).map_err(|source| GenerateError::Io { generator: name, source })?;
    }
    Ok(())
}
