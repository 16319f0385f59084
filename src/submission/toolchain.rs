//! The compilers and interpreters a recipe needs: whether they are installed, and which version they
//! are (part of the cache key, so a new compiler rebuilds everything).

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::Recipe;
use crate::sandbox::{self, Input, RunLimits, RunPlan};

/// The program on `path` (a PATH value) that a bare `name` runs, if any.
#[must_use]
pub fn find_on_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// How to get `program`, for the message when it is missing.
#[must_use]
pub fn install_hint(program: &str) -> &'static str {
    match program {
        "go" => "install Go (Debian/Ubuntu: apt-get install golang-go)",
        "cargo" | "rustc" => "install Rust (https://rustup.rs)",
        "python3" | "python" => "install Python 3 (Debian/Ubuntu: apt-get install python3)",
        "node" | "npm" => "install Node.js (Debian/Ubuntu: apt-get install nodejs npm)",
        "javac" | "java" => "install a JDK (Debian/Ubuntu: apt-get install default-jdk)",
        "mvn" => "install Maven (Debian/Ubuntu: apt-get install maven)",
        "cc" | "gcc" | "c++" | "g++" | "make" => {
            "install a C/C++ toolchain (Debian/Ubuntu: apt-get install build-essential)"
        }
        _ => "install it, or put the folder that holds it on PATH",
    }
}

/// The commands whose output names a language's toolchain version.
fn probes(language: &str) -> &'static [&'static [&'static str]] {
    match language {
        "rust" => &[&["rustc", "--version"], &["cargo", "--version"]],
        "go" => &[&["go", "version"]],
        "python" => &[&["python3", "--version"]],
        "node" => &[&["node", "--version"]],
        "c" => &[&["cc", "--version"]],
        "cpp" => &[&["c++", "--version"]],
        "java" => &[&["javac", "-version"], &["java", "-version"]],
        _ => &[],
    }
}

/// A line naming the toolchain `recipe` builds with. Probed once per language per process; a recipe of
/// another language (a takehome.toml without a known `language`) is named by the paths of its programs.
pub fn version(recipe: &Recipe, env: &[(OsString, OsString)], cwd: &Path) -> String {
    let probes = probes(&recipe.language);
    if probes.is_empty() {
        let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()).unwrap_or_default();
        let programs: Vec<String> = recipe
            .build
            .iter()
            .filter_map(|command| command.first())
            .chain(recipe.run.first())
            .map(|program| match find_on_path(program, &path) {
                Some(found) if !program.contains('/') => found.display().to_string(),
                _ => program.clone(),
            })
            .collect();
        return format!("{}: {}", recipe.language, programs.join(" "));
    }
    static VERSIONS: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    let versions = VERSIONS.get_or_init(Mutex::default);
    if let Some(known) = versions.lock().ok().and_then(|v| v.get(&recipe.language).cloned()) {
        return known;
    }
    let lines: Vec<String> = probes.iter().map(|probe| first_line_of(probe, env, cwd)).collect();
    let found = format!("{}: {}", recipe.language, lines.join("; "));
    if let Ok(mut versions) = versions.lock() {
        versions.insert(recipe.language.clone(), found.clone());
    }
    found
}

fn first_line_of(command: &[&str], env: &[(OsString, OsString)], cwd: &Path) -> String {
    let plan = RunPlan {
        program: command[0].into(),
        args: command[1..].iter().map(Into::into).collect(),
        cwd: cwd.to_path_buf(),
        env: env.to_vec(),
        stdin: Input::Null,
        limits: RunLimits { wall_time: Duration::from_secs(30), output: 1 << 20, ..RunLimits::default() },
        drop_privileges: false,
        confine: None,
    };
    match sandbox::run(&plan) {
        // Some tools (javac, java) print their version on stderr.
        Ok(outcome) => {
            let text = [outcome.stdout, outcome.stderr].concat();
            String::from_utf8_lossy(&text).lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("").to_string()
        }
        Err(error) => format!("{} unavailable ({error})", command[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path_and_not_elsewhere() {
        assert!(find_on_path("sh", OsStr::new("/usr/bin:/bin")).is_some());
        assert!(find_on_path("no-such-program-here", OsStr::new("/usr/bin:/bin")).is_none());
        assert!(find_on_path("sh", OsStr::new("")).is_none());
    }

    #[test]
    fn c_version_names_the_compiler_once_probed() {
        let recipe = Recipe {
            language: "c".into(),
            because: String::new(),
            build: vec![],
            run: vec!["./main".into()],
            run_guessed: false,
        };
        let env = vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())];
        let version = version(&recipe, &env, &std::env::temp_dir());
        assert!(version.starts_with("c: "), "{version}");
        assert!(version.len() > 4, "{version}");
    }
}
