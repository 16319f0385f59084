//! Building a submission in a private copy, under the sandbox, with a time limit and a captured log.
//!
//! The candidate's folder is only read: it is copied into the cache (see `tree` for what is left out),
//! built there, and the finished copy is kept under a key of its content, recipe and toolchain, so the
//! same submission is built once. A build that fails is the candidate's compile error, not an `Err`.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::cache::{self, BuildCache, Finished};
use super::tree::{self, Entry, Kind, TreeError};
use super::{Recipe, toolchain, words};
use crate::report::{BuildInfo, LimitHit};
use crate::sandbox::{self, Input, RunLimits, RunPlan};
use crate::spec::BuildSettings;

/// A built submission, ready to run.
#[derive(Debug, Clone)]
pub struct Built {
    /// The folder holding the built copy (in the cache); for a failed build, the submission's folder.
    pub dir: PathBuf,
    /// The command that runs it, made absolute; empty when the build failed.
    pub run: Vec<OsString>,
    pub info: BuildInfo,
    /// The submission's own folder.
    pub source: PathBuf,
}

impl Built {
    /// `text` (a program's stderr, a traceback) with paths into the built copy shown as the same paths
    /// in the submission's folder, where the candidate can open them.
    #[must_use]
    pub fn as_submitted(&self, text: &str) -> String {
        if self.dir == self.source {
            return text.to_string();
        }
        text.replace(&format!("{}/", self.dir.display()), &format!("{}/", self.source.display()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The grader could not do its part (copying, spawning): not the candidate's fault.
    #[error("cannot build {}: {message}", .path.display())]
    Infrastructure { path: PathBuf, message: String },
    /// A compiler or interpreter the recipe needs is not installed here.
    #[error("cannot build this {language} submission: `{program}` is not installed or not on PATH; {hint}")]
    MissingToolchain { language: String, program: String, hint: String },
    /// The submission is too large to copy (data sets, dependencies checked in).
    #[error("cannot build {}: {message}", .path.display())]
    TooBig { path: PathBuf, message: String },
}

/// Bytes of build output (stdout and stderr) before a build is stopped.
const OUTPUT_LIMIT: u64 = 16 << 20;
/// How much of the log a report shows.
const TAIL_LINES: usize = 60;
const TAIL_BYTES: usize = 8 << 10;
const LOG_FILE: &str = ".takehome-build.log";

/// Builds `submission` by `recipe` in the default cache ([`cache::cache_dir`]). A build that fails is
/// `Ok` with `info.ok == false` (verdict CE); `Err` is reserved for the grader's own failures and a
/// missing toolchain.
pub fn build(submission: &Path, recipe: &Recipe, settings: &BuildSettings) -> Result<Built, BuildError> {
    let root = cache::cache_dir();
    let cache = BuildCache::open(&root).map_err(|e| infrastructure(&root, "cannot open the build cache", e))?;
    build_in(submission, recipe, settings, &cache)
}

/// [`build`] with the cache given.
pub fn build_in(
    submission: &Path,
    recipe: &Recipe,
    settings: &BuildSettings,
    cache: &BuildCache,
) -> Result<Built, BuildError> {
    let env = build_env(cache, settings.network);
    check_toolchain(recipe, &env)?;
    let toolchain = toolchain::version(recipe, &with_tmpdir(&env, &cache.tmp_dir()), cache.root());
    let entries = tree::list(submission, Some(cache.root())).map_err(|e| tree_error(submission, e))?;
    let key = cache::key(&entries, recipe, &toolchain).map_err(|e| tree_error(submission, e))?;
    let done = cache.build_dir(&key);
    if let Some(finished) = cache::read_marker(&done) {
        return Ok(built(done, finished, true, submission));
    }

    // Unique per process and per call: threads of one grader may build the same submission at once.
    static ATTEMPT: AtomicU64 = AtomicU64::new(0);
    let attempt = format!("{}-{}", std::process::id(), ATTEMPT.fetch_add(1, Ordering::Relaxed));
    let work = cache.builds_dir().join(format!("{key}.tmp-{attempt}"));
    let tmp = cache.tmp_dir().join(format!("{key}-{attempt}"));
    for leftover in [&work, &tmp] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(|e| infrastructure(leftover, "cannot clear", e))?;
        }
    }
    tree::copy(&entries, &work).map_err(|e| tree_error(submission, e))?;
    std::fs::create_dir_all(&tmp).map_err(|e| infrastructure(&tmp, "cannot create", e))?;
    let result = run_build(recipe, settings, &work, &with_tmpdir(&env, &tmp));
    // The temporary folder is scratch space: losing it changes nothing.
    let _ = std::fs::remove_dir_all(&tmp);
    let (mut log, duration, outcome) = result?;
    let run = outcome.and_then(|()| resolve_run(recipe, &work, &entries));
    let commands: Vec<String> = recipe.build.iter().map(|c| words::join(c)).collect();
    let run = match run {
        Ok(run) => run,
        Err(failure) => {
            log.push_str(&failure);
            log.push('\n');
            let _ = std::fs::remove_dir_all(&work);
            let info = BuildInfo { ok: false, cached: false, duration, commands, log_tail: tail(&log) };
            return Ok(Built {
                dir: submission.to_path_buf(),
                run: Vec::new(),
                info,
                source: submission.to_path_buf(),
            });
        }
    };
    let finished = Finished { commands, duration, log_tail: tail(&log), run };
    std::fs::write(work.join(LOG_FILE), &log).map_err(|e| infrastructure(&work, "cannot write the log in", e))?;
    tree::open_up(&work).map_err(|e| infrastructure(&work, "cannot open up", e))?;
    cache::write_marker(&work, &finished).map_err(|e| infrastructure(&work, "cannot mark", e))?;
    publish(&work, &done)?;
    Ok(built(done, finished, false, submission))
}

fn built(dir: PathBuf, finished: Finished, cached: bool, source: &Path) -> Built {
    let run = absolutize(&finished.run, &dir);
    let info = BuildInfo {
        ok: true,
        cached,
        duration: if cached { 0.0 } else { finished.duration },
        commands: finished.commands,
        log_tail: finished.log_tail,
    };
    Built { dir, run, info, source: source.to_path_buf() }
}

/// Moves a finished build into place. A concurrent build of the same key may have won the race: then
/// its copy is used and ours dropped.
fn publish(work: &Path, done: &Path) -> Result<(), BuildError> {
    for _ in 0..2 {
        match std::fs::rename(work, done) {
            Ok(()) => return Ok(()),
            Err(error) => {
                if cache::read_marker(done).is_some() {
                    let _ = std::fs::remove_dir_all(work);
                    return Ok(());
                }
                if !done.exists() {
                    return Err(infrastructure(done, "cannot move the build to", error));
                }
                // An unfinished leftover (no marker) from a crashed grader: replace it.
                std::fs::remove_dir_all(done).map_err(|e| infrastructure(done, "cannot clear", e))?;
            }
        }
    }
    Err(BuildError::Infrastructure { path: done.to_path_buf(), message: "cannot move the build into place".into() })
}

/// Runs the build commands in `work`. Returns the log, the seconds taken, and whether it worked
/// (`Err` holding the reason for the log when not).
fn run_build(
    recipe: &Recipe,
    settings: &BuildSettings,
    work: &Path,
    env: &[(OsString, OsString)],
) -> Result<(String, f64, Result<(), String>), BuildError> {
    let started = Instant::now();
    let budget = settings.time.duration();
    let mut log = String::new();
    for command in &recipe.build {
        let Some((program, args)) = command.split_first() else { continue };
        let line = words::join(command);
        log.push_str(&format!("$ {line}\n"));
        let remaining = budget.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            return Ok((log, started.elapsed().as_secs_f64(), Err(time_out(settings))));
        }
        let plan = RunPlan {
            program: program.into(),
            args: args.iter().map(Into::into).collect(),
            cwd: work.to_path_buf(),
            env: env.to_vec(),
            stdin: Input::Null,
            limits: RunLimits {
                cpu_time: None,
                wall_time: remaining,
                memory: None,
                output: OUTPUT_LIMIT,
                open_files: Some(4096),
                stderr_kept: OUTPUT_LIMIT as usize,
                ..RunLimits::default()
            },
            drop_privileges: false,
            confine: Some(sandbox::Confinement::build(settings.network)),
        };
        let outcome = match sandbox::run(&plan) {
            Ok(outcome) => outcome,
            Err(error) if cannot_execute(&error) => {
                let failure = format!("cannot run `{program}`: {error}");
                return Ok((log, started.elapsed().as_secs_f64(), Err(failure)));
            }
            Err(error) => return Err(infrastructure(work, &format!("cannot run `{line}` in"), error)),
        };
        for stream in [&outcome.stdout, &outcome.stderr] {
            log.push_str(&String::from_utf8_lossy(stream));
            if !log.is_empty() && !log.ends_with('\n') {
                log.push('\n');
            }
        }
        let failure = match outcome.limit_hit {
            Some(LimitHit::WallTime) => Some(time_out(settings)),
            Some(LimitHit::Output) => Some(format!("the build printed more than {} MiB: stopped", OUTPUT_LIMIT >> 20)),
            Some(other) => Some(format!("the build was stopped: {other:?}")),
            None if !outcome.success() => Some(format!("`{line}` failed: {}", outcome.status)),
            None => None,
        };
        if let Some(failure) = failure {
            return Ok((log, started.elapsed().as_secs_f64(), Err(failure)));
        }
    }
    Ok((log, started.elapsed().as_secs_f64(), Ok(())))
}

fn time_out(settings: &BuildSettings) -> String {
    format!("the build took longer than its {} limit: stopped", settings.time)
}

/// Errors that mean the program itself cannot be run (the candidate's script is missing or not executable).
fn cannot_execute(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied)
        || error.raw_os_error() == Some(libc::ENOEXEC)
}

/// The environment of builds: the grader's PATH and toolchain locations, a HOME of their own in the
/// cache (tools keep caches there), and nothing else of the grader's.
///
/// Cargo keeps downloaded crates under CARGO_HOME, which a build may only read. Without the network that
/// is what is wanted: crates the grader has cached build offline. With the network, cargo must write the
/// crates it downloads, so its CARGO_HOME is a folder of the build HOME instead: the grader's own stays
/// out of the builds' reach.
fn build_env(cache: &BuildCache, network: bool) -> Vec<(OsString, OsString)> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), var("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())),
        ("HOME".into(), cache.home_dir().into_os_string()),
        ("LANG".into(), "C.UTF-8".into()),
        // Go: no toolchain downloads, and no VCS stamping (the copy has no .git).
        ("GOTOOLCHAIN".into(), "local".into()),
        ("GOFLAGS".into(), "-buildvcs=false".into()),
        ("NPM_CONFIG_UPDATE_NOTIFIER".into(), "false".into()),
    ];
    // rustup and cargo find the toolchain and the registry cache under the grader's HOME by default;
    // as HOME changes, say where they are.
    let grader_home = var("HOME").map(PathBuf::from);
    if network {
        env.push(("CARGO_HOME".into(), cache.home_dir().join(".cargo").into_os_string()));
    }
    for (name, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        if network && name == "CARGO_HOME" {
            continue;
        }
        let value = var(name).or_else(|| {
            let dir = grader_home.as_ref()?.join(default);
            dir.is_dir().then(|| dir.into_os_string())
        });
        if let Some(value) = value {
            env.push((name.into(), value));
        }
    }
    for name in ["RUSTUP_TOOLCHAIN", "JAVA_HOME", "GOROOT"] {
        if let Some(value) = var(name) {
            env.push((name.into(), value));
        }
    }
    env
}

fn with_tmpdir(env: &[(OsString, OsString)], tmp: &Path) -> Vec<(OsString, OsString)> {
    let mut env = env.to_vec();
    env.push(("TMPDIR".into(), tmp.as_os_str().to_owned()));
    env
}

/// Every bare program the recipe names (build commands and the run command) must be on PATH.
fn check_toolchain(recipe: &Recipe, env: &[(OsString, OsString)]) -> Result<(), BuildError> {
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_os_str()).unwrap_or_default();
    let programs = recipe.build.iter().filter_map(|c| c.first()).chain(recipe.run.first());
    for program in programs {
        if program.contains('/') || program.contains("{build}") {
            continue;
        }
        if toolchain::find_on_path(program, path).is_none() {
            return Err(BuildError::MissingToolchain {
                language: super::detect::language_name(&recipe.language).to_string(),
                program: program.clone(),
                hint: toolchain::install_hint(program).to_string(),
            });
        }
    }
    Ok(())
}

/// The run command after the build: `*` patterns matched in the built copy, a guessed program found,
/// and a program named by path checked to exist. `Err` is the candidate's: what is missing.
fn resolve_run(recipe: &Recipe, work: &Path, copied: &[Entry]) -> Result<Vec<String>, String> {
    let mut run = recipe.run.clone();
    for word in &mut run {
        if word.contains('*') && !word.contains("{build}") {
            *word = match_one(work, word)?;
        }
    }
    let Some(program) = run.first().cloned() else { return Err("the run command is empty".into()) };
    if recipe.run_guessed && !work.join(&program).is_file() {
        run[0] = guess_program(work, copied, &program)?;
    } else if program.contains('/') && !program.contains("{build}") && !work.join(&program).exists() {
        return Err(format!("the build finished, but there is no `{program}` to run"));
    }
    Ok(run)
}

/// `./solution`, else the only executable the build created at the top of `work`.
fn guess_program(work: &Path, copied: &[Entry], wanted: &str) -> Result<String, String> {
    if is_executable(&work.join("solution")) {
        return Ok("./solution".into());
    }
    let before: Vec<&Path> =
        copied.iter().filter(|e| matches!(e.kind, Kind::File { .. })).map(|e| e.path.as_path()).collect();
    let mut created: Vec<String> = std::fs::read_dir(work)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| is_executable(&e.path()) && !before.contains(&Path::new(&e.file_name())))
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    created.sort();
    match created.as_slice() {
        [only] => Ok(format!("./{only}")),
        [] => Err(format!(
            "the build finished, but made no `{wanted}` or `./solution` to run: name the program `main`, or add \
             a takehome.toml with run = \"./<program>\""
        )),
        several => Err(format!(
            "the build finished, but made no `{wanted}`, and several executables ({}): name the program `main`, or \
             add a takehome.toml with run = \"./<program>\"",
            several.join(", ")
        )),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The one file a pattern like `target/*.jar` names in `work` (only the last part may hold `*`).
/// Among several jars, ones that are not runnable builds (sources, javadoc, tests, pre-shading
/// `original-`) are dropped, and a `jar-with-dependencies` is preferred.
fn match_one(work: &Path, pattern: &str) -> Result<String, String> {
    let (folder, name) = pattern.rsplit_once('/').map_or(("", pattern), |(f, n)| (f, n));
    let mut found: Vec<String> = std::fs::read_dir(work.join(folder))
        .map(|entries| {
            entries.flatten().filter_map(|e| e.file_name().into_string().ok()).filter(|n| wildcard(name, n)).collect()
        })
        .unwrap_or_default();
    found.sort();
    if found.len() > 1 {
        found.retain(|n| {
            !n.starts_with("original-")
                && ![".sources.jar", "-sources.jar", "-javadoc.jar", "-tests.jar"].iter().any(|s| n.ends_with(s))
        });
    }
    if found.len() > 1 && found.iter().any(|n| n.contains("jar-with-dependencies")) {
        found.retain(|n| n.contains("jar-with-dependencies"));
    }
    let joined = |n: &str| if folder.is_empty() { n.to_string() } else { format!("{folder}/{n}") };
    match found.as_slice() {
        [only] => Ok(joined(only)),
        [] => Err(format!("the build finished, but made nothing matching `{pattern}` to run")),
        several => Err(format!(
            "the build made several files matching `{pattern}` ({}): add a takehome.toml naming the one to run",
            several.join(", ")
        )),
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields at least one part");
    let Some(mut remaining) = name.strip_prefix(first) else { return false };
    let Some((last, middle)) = rest.split_last() else { return remaining.is_empty() };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The run words as argv: `{build}` replaced by `dir`; the program, when it is a relative path, and any
/// other word that is not an option and names an existing file or folder of `dir`, made absolute.
fn absolutize(run: &[String], dir: &Path) -> Vec<OsString> {
    run.iter()
        .enumerate()
        .map(|(index, word)| {
            if word.contains("{build}") {
                return substitute_build(word, dir.as_os_str());
            }
            let path = Path::new(word);
            let names_a_path = if index == 0 {
                word.contains('/') && path.is_relative()
            } else {
                !word.starts_with('-') && !word.is_empty() && path.is_relative() && dir.join(path).exists()
            };
            if names_a_path {
                let clean: PathBuf = path.components().filter(|c| !matches!(c, Component::CurDir)).collect();
                dir.join(clean).into_os_string()
            } else {
                OsString::from(word)
            }
        })
        .collect()
}

fn substitute_build(word: &str, dir: &OsStr) -> OsString {
    let mut out = OsString::new();
    for (index, piece) in word.split("{build}").enumerate() {
        if index > 0 {
            out.push(dir);
        }
        out.push(piece);
    }
    out
}

/// The end of the log: at most `TAIL_LINES` lines and `TAIL_BYTES` bytes.
fn tail(log: &str) -> String {
    let mut start = log.len().saturating_sub(TAIL_BYTES);
    while !log.is_char_boundary(start) {
        start += 1;
    }
    let mut text = &log[start..];
    if start > 0 {
        // Begin at a whole line.
        if let Some(newline) = text.find('\n') {
            text = &text[newline + 1..];
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let kept = &lines[lines.len().saturating_sub(TAIL_LINES)..];
    let mut out = kept.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn infrastructure(path: &Path, doing: &str, error: std::io::Error) -> BuildError {
    BuildError::Infrastructure { path: path.to_path_buf(), message: format!("{doing} {}: {error}", path.display()) }
}

fn tree_error(submission: &Path, error: TreeError) -> BuildError {
    match error {
        TreeError::TooBig(message) => BuildError::TooBig { path: submission.to_path_buf(), message },
        TreeError::Io { path, source } => BuildError::Infrastructure {
            path: submission.to_path_buf(),
            message: format!("{}: {source}", path.display()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_into_the_built_copy_read_as_the_submission_s_own() {
        let info = BuildInfo { ok: true, cached: true, duration: 0.0, commands: vec![], log_tail: String::new() };
        let built = Built {
            dir: PathBuf::from("/var/cache/takehome/builds/ab12"),
            run: vec![],
            info,
            source: PathBuf::from("/home/cand/echo"),
        };
        let traceback = "  File \"/var/cache/takehome/builds/ab12/main.py\", line 5, in <module>";
        assert_eq!(built.as_submitted(traceback), "  File \"/home/cand/echo/main.py\", line 5, in <module>");
    }
    use crate::spec::Seconds;
    use crate::submission::detect;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/submissions/sum").join(name)
    }

    fn settings() -> BuildSettings {
        BuildSettings { time: Seconds(120.0), network: false }
    }

    /// Every file and folder under `dir` with its size, mode and modification time.
    fn snapshot(dir: &Path) -> Vec<String> {
        use std::os::unix::fs::MetadataExt;
        let mut all = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in std::fs::read_dir(&current).unwrap().flatten() {
                let m = std::fs::symlink_metadata(entry.path()).unwrap();
                all.push(format!("{} {} {:o} {}", entry.path().display(), m.len(), m.mode(), m.mtime_nsec()));
                if m.is_dir() {
                    pending.push(entry.path());
                }
            }
        }
        all.sort();
        all
    }

    fn run_built(built: &Built, input: &str) -> String {
        let output = std::process::Command::new(&built.run[0])
            .args(&built.run[1..])
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(input.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn c_fixture_builds_then_comes_from_the_cache() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("c");
        let before = snapshot(&submission);
        let recipe = detect(&submission).unwrap();

        let first = build_in(&submission, &recipe, &settings(), &cache).unwrap();
        assert!(first.info.ok, "{}", first.info.log_tail);
        assert!(!first.info.cached);
        assert_eq!(first.info.commands, ["cc -O2 -o main main.c -lm"]);
        assert!(first.dir.starts_with(cache.builds_dir()));
        assert_eq!(first.run, [first.dir.join("main").into_os_string()]);
        assert_eq!(run_built(&first, "2 40\n").trim(), "42");

        let second = build_in(&submission, &recipe, &settings(), &cache).unwrap();
        assert!(second.info.cached);
        assert_eq!(second.info.duration, 0.0);
        assert_eq!(second.dir, first.dir);
        assert_eq!(second.run, first.run);

        assert_eq!(snapshot(&submission), before, "the candidate's folder must not change");
        let leftovers: Vec<_> =
            std::fs::read_dir(cache.builds_dir()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn broken_c_gives_a_compile_error_with_the_compiler_message() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("broken-c");
        let recipe = detect(&submission).unwrap();
        let built = build_in(&submission, &recipe, &settings(), &cache).unwrap();
        assert!(!built.info.ok);
        assert!(built.run.is_empty());
        assert!(built.info.log_tail.contains("main.c"), "{}", built.info.log_tail);
        assert!(built.info.log_tail.contains("error"), "{}", built.info.log_tail);
        assert!(
            built.info.log_tail.contains("`cc -O2 -o main main.c -lm` failed: exit code 1"),
            "{}",
            built.info.log_tail
        );
        let left: Vec<_> = std::fs::read_dir(cache.builds_dir()).unwrap().flatten().collect();
        assert!(left.is_empty(), "a failed build leaves nothing in the cache");
    }

    #[test]
    fn python_fixture_runs_main_py_by_absolute_path() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("python");
        let built = build_in(&submission, &detect(&submission).unwrap(), &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert_eq!(built.run, [OsString::from("python3"), built.dir.join("main.py").into_os_string()]);
        assert_eq!(run_built(&built, "3 4").trim(), "7");
    }

    #[test]
    fn makefile_fixture_builds_and_runs_main() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("cpp-make");
        let built = build_in(&submission, &detect(&submission).unwrap(), &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert_eq!(run_built(&built, "-5 8\n").trim(), "3");
    }

    #[test]
    fn custom_fixture_follows_its_takehome_toml() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("custom");
        let recipe = detect(&submission).unwrap();
        assert_eq!(recipe.because, "found takehome.toml");
        let built = build_in(&submission, &recipe, &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert_eq!(run_built(&built, "10 11").trim(), "21");
    }

    #[test]
    fn java_fixture_runs_with_an_absolute_classpath() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("java");
        let built = build_in(&submission, &detect(&submission).unwrap(), &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert_eq!(built.run[2], built.dir.join("classes").into_os_string());
        assert_eq!(run_built(&built, "1 2").trim(), "3");
    }

    #[test]
    fn cargo_home_is_the_graders_without_network_and_the_build_homes_with_it() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let cargo_home = |network: bool| {
            let env = build_env(&cache, network);
            let homes: Vec<PathBuf> = env.iter().filter(|(k, _)| k == "CARGO_HOME").map(|(_, v)| v.into()).collect();
            assert!(homes.len() <= 1, "{homes:?}");
            homes.into_iter().next()
        };
        assert_eq!(cargo_home(true), Some(cache.home_dir().join(".cargo")));
        if let Some(offline) = cargo_home(false) {
            assert!(!offline.starts_with(cache_root.path()), "{}", offline.display());
        }
    }

    #[test]
    fn rust_fixture_builds_with_cargo_and_runs_the_release_binary() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("rust");
        let built = build_in(&submission, &detect(&submission).unwrap(), &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert_eq!(built.run, [built.dir.join("target/release/sum").into_os_string()]);
        assert_eq!(run_built(&built, "4000000000 4000000000\n").trim(), "8000000000");
        assert!(!submission.join("target").exists() && !submission.join("Cargo.lock").exists());
    }

    #[test]
    fn node_fixture_runs_its_main_with_node() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("node");
        let built = build_in(&submission, &detect(&submission).unwrap(), &settings(), &cache).unwrap();
        assert!(built.info.ok, "{}", built.info.log_tail);
        assert!(built.info.commands.is_empty());
        assert_eq!(built.run, [OsString::from("node"), built.dir.join("sum.js").into_os_string()]);
        assert_eq!(run_built(&built, "2 2").trim(), "4");
    }

    #[test]
    fn concurrent_builds_of_one_submission_share_one_result() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = fixture("c");
        let recipe = detect(&submission).unwrap();
        let dirs: Vec<PathBuf> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                (0..2).map(|_| scope.spawn(|| build_in(&submission, &recipe, &settings(), &cache).unwrap())).collect();
            handles.into_iter().map(|h| h.join().unwrap()).map(|b| b.dir).collect()
        });
        assert_eq!(dirs[0], dirs[1]);
        assert!(cache::read_marker(&dirs[0]).is_some());
        let entries: Vec<_> = std::fs::read_dir(cache.builds_dir()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(entries.len(), 1, "{entries:?}");
    }

    #[test]
    fn missing_toolchain_is_a_clear_error() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = tempfile::tempdir().unwrap();
        let recipe = Recipe {
            language: "go".into(),
            because: String::new(),
            build: vec![vec!["no-such-compiler-xyz".into(), "build".into()]],
            run: vec!["./submission".into()],
            run_guessed: false,
        };
        let error = build_in(submission.path(), &recipe, &settings(), &cache).unwrap_err().to_string();
        assert!(error.contains("cannot build this Go submission: `no-such-compiler-xyz` is not installed"), "{error}");
    }

    #[test]
    fn a_missing_program_after_the_build_is_a_compile_error() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = tempfile::tempdir().unwrap();
        std::fs::write(submission.path().join("a.txt"), "x").unwrap();
        let recipe = Recipe {
            language: "custom".into(),
            because: String::new(),
            build: vec![vec!["true".into()]],
            run: vec!["./prog".into()],
            run_guessed: false,
        };
        let built = build_in(submission.path(), &recipe, &settings(), &cache).unwrap();
        assert!(!built.info.ok);
        assert!(built.info.log_tail.contains("there is no `./prog` to run"), "{}", built.info.log_tail);
    }

    #[test]
    fn build_time_limit_stops_a_slow_build() {
        let cache_root = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(cache_root.path()).unwrap();
        let submission = tempfile::tempdir().unwrap();
        let recipe = Recipe {
            language: "custom".into(),
            because: String::new(),
            build: vec![vec!["sleep".into(), "30".into()]],
            run: vec!["true".into()],
            run_guessed: false,
        };
        let settings = BuildSettings { time: Seconds(0.3), network: false };
        let built = build_in(submission.path(), &recipe, &settings, &cache).unwrap();
        assert!(!built.info.ok);
        assert!(built.info.log_tail.contains("took longer than its 300 ms limit"), "{}", built.info.log_tail);
    }

    #[test]
    fn absolutize_replaces_build_and_existing_paths_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("classes")).unwrap();
        let words: Vec<String> =
            ["java", "-cp", "classes", "Main", "{build}/x"].iter().map(|s| (*s).to_string()).collect();
        let run = absolutize(&words, dir.path());
        assert_eq!(run[0], "java");
        assert_eq!(run[1], "-cp");
        assert_eq!(run[2], dir.path().join("classes"));
        assert_eq!(run[3], "Main");
        assert_eq!(run[4], dir.path().join("x"));
        assert_eq!(absolutize(&["./main".to_string()], dir.path())[0], dir.path().join("main"));
    }

    #[test]
    fn wildcard_matches_stars() {
        assert!(wildcard("*.jar", "a-1.0.jar"));
        assert!(wildcard("a*b*c", "aXbYc"));
        assert!(!wildcard("*.jar", "a.jar.txt"));
        assert!(!wildcard("a*a", "a"));
        assert!(wildcard("exact", "exact"));
    }

    #[test]
    fn jar_pattern_prefers_the_runnable_jar() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("target")).unwrap();
        for jar in ["app-1.0.jar", "original-app-1.0.jar", "app-1.0-sources.jar"] {
            std::fs::write(dir.path().join("target").join(jar), "").unwrap();
        }
        assert_eq!(match_one(dir.path(), "target/*.jar").unwrap(), "target/app-1.0.jar");
        std::fs::write(dir.path().join("target/other-2.jar"), "").unwrap();
        assert!(match_one(dir.path(), "target/*.jar").unwrap_err().contains("several"));
    }

    #[test]
    fn tail_keeps_the_last_lines_within_the_byte_budget() {
        let log: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let kept = tail(&log);
        assert_eq!(kept.lines().count(), TAIL_LINES);
        assert!(kept.ends_with("line 199\n"));
        let long: String = (0..20).map(|i| format!("{i}{}\n", "x".repeat(1000))).collect();
        assert!(tail(&long).len() <= TAIL_BYTES);
        assert!(tail(&long).starts_with(|c: char| c.is_ascii_digit()));
    }
}
