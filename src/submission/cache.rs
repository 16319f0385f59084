//! The build cache: finished builds keyed by a hash of the submission's content and the toolchain.
//!
//! Layout under the cache root:
//! - `builds/<key>/`: a finished build (the copy it was built in), complete once it holds the marker
//!   `.takehome-build.json`, which is written last; `builds/<key>.tmp-<pid>/` is one in progress.
//! - `home/`: the HOME builds run with, so tools can keep their caches (Go's, npm's) between builds.
//! - `tmp/`: TMPDIR of the builds.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Recipe;
use super::tree::{self, Entry, TreeError};

/// Where builds are cached: `TAKEHOME_CACHE_DIR`; else `/var/cache/takehome` when running as root
/// (root's home is private, and runs as `nobody` must reach the builds); else `$XDG_CACHE_HOME/takehome`
/// or `~/.cache/takehome`.
#[must_use]
pub fn cache_dir() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("TAKEHOME_CACHE_DIR") {
        return dir;
    }
    if crate::sandbox::is_root() {
        return PathBuf::from("/var/cache/takehome");
    }
    if let Some(dir) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return dir.join("takehome");
    }
    match set("HOME") {
        Some(home) => home.join(".cache").join("takehome"),
        None => std::env::temp_dir().join("takehome-cache"),
    }
}

/// An opened build cache.
#[derive(Debug, Clone)]
pub struct BuildCache {
    root: PathBuf,
}

/// The marker of a finished build, and what a cache hit needs to report it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finished {
    pub commands: Vec<String>,
    pub duration: f64,
    pub log_tail: String,
    /// The run command as resolved after the build, before it is made absolute.
    pub run: Vec<String>,
}

const MARKER: &str = ".takehome-build.json";

impl BuildCache {
    /// Opens (creating it if needed) the cache at `root`. The root and `builds/` are made traversable by
    /// everyone, as runs may happen as `nobody`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<BuildCache> {
        let root = root.into();
        let root = if root.is_absolute() { root } else { std::env::current_dir()?.join(root) };
        let cache = BuildCache { root };
        for dir in [cache.root.clone(), cache.builds_dir(), cache.home_dir(), cache.tmp_dir()] {
            std::fs::create_dir_all(&dir)?;
        }
        for dir in [&cache.root, &cache.builds_dir()] {
            let mode = std::fs::metadata(dir)?.permissions().mode();
            if mode & 0o755 != 0o755 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode((mode & 0o7777) | 0o755))?;
            }
        }
        Ok(cache)
    }

    /// The cache at [`cache_dir`].
    pub fn open_default() -> io::Result<BuildCache> {
        BuildCache::open(cache_dir())
    }

    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    #[must_use]
    pub fn builds_dir(&self) -> PathBuf {
        self.root.join("builds")
    }

    #[must_use]
    pub fn home_dir(&self) -> PathBuf {
        self.root.join("home")
    }

    #[must_use]
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the finished build of `key` lives.
    #[must_use]
    pub fn build_dir(&self, key: &str) -> PathBuf {
        self.builds_dir().join(key)
    }

    /// The finished build of `key`, if there is one.
    #[must_use]
    pub fn finished(&self, key: &str) -> Option<Finished> {
        read_marker(&self.build_dir(key))
    }
}

/// The marker in `dir`, if `dir` is a finished build.
#[must_use]
pub fn read_marker(dir: &Path) -> Option<Finished> {
    let text = std::fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the marker into `dir` atomically (a whole file or none), readable by everyone.
pub fn write_marker(dir: &Path, finished: &Finished) -> io::Result<()> {
    let partial = dir.join(format!("{MARKER}.partial"));
    let text = serde_json::to_string_pretty(finished).map_err(io::Error::other)?;
    std::fs::write(&partial, text)?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o644))?;
    std::fs::rename(&partial, dir.join(MARKER))
}

/// The cache key: sha256 over the listed tree (paths, kinds, executable bits, contents), the recipe and
/// the toolchain's version line, as 64 hex digits.
pub fn key(entries: &[Entry], recipe: &Recipe, toolchain: &str) -> Result<String, TreeError> {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(b"takehome build v1");
    field(recipe.language.as_bytes());
    for command in &recipe.build {
        field(b"build");
        for word in command {
            field(word.as_bytes());
        }
    }
    field(b"run");
    for word in &recipe.run {
        field(word.as_bytes());
    }
    field(if recipe.run_guessed { b"guessed" } else { b"named" });
    field(toolchain.as_bytes());
    tree::digest(entries, &mut |bytes| hasher.update(bytes))?;
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> Recipe {
        Recipe {
            language: "c".into(),
            because: String::new(),
            build: vec![vec!["cc".into(), "main.c".into()]],
            run: vec!["./main".into()],
            run_guessed: false,
        }
    }

    fn key_of(dir: &Path, recipe: &Recipe) -> String {
        let entries = tree::list(dir, None).unwrap();
        key(&entries, recipe, "c: cc 12").unwrap()
    }

    #[test]
    fn key_changes_with_content_and_executable_bit_but_not_with_target() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.c"), "int main(){}").unwrap();
        let first = key_of(dir.path(), &recipe());
        assert_eq!(first.len(), 64);
        assert_eq!(key_of(dir.path(), &recipe()), first);

        std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
        std::fs::write(dir.path().join("target/release/main"), "binary").unwrap();
        assert_eq!(key_of(dir.path(), &recipe()), first, "a target/ folder must not change the key");

        std::fs::write(dir.path().join("main.c"), "int main(){return 1;}").unwrap();
        let changed = key_of(dir.path(), &recipe());
        assert_ne!(changed, first);

        std::fs::set_permissions(dir.path().join("main.c"), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(key_of(dir.path(), &recipe()), changed);
    }

    #[test]
    fn key_changes_with_recipe_and_toolchain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.c"), "").unwrap();
        let entries = tree::list(dir.path(), None).unwrap();
        let base = key(&entries, &recipe(), "c: cc 12").unwrap();
        assert_ne!(key(&entries, &recipe(), "c: cc 13").unwrap(), base);
        let mut other = recipe();
        other.run = vec!["./main2".into()];
        assert_ne!(key(&entries, &other, "c: cc 12").unwrap(), base);
    }

    #[test]
    fn renaming_a_file_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "x").unwrap();
        let before = key_of(dir.path(), &recipe());
        std::fs::rename(dir.path().join("a"), dir.path().join("b")).unwrap();
        assert_ne!(key_of(dir.path(), &recipe()), before);
    }

    #[test]
    fn open_creates_the_layout_traversable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::open(dir.path().join("c")).unwrap();
        assert!(cache.builds_dir().is_dir() && cache.home_dir().is_dir() && cache.tmp_dir().is_dir());
        let mode = std::fs::metadata(cache.root()).unwrap().permissions().mode();
        assert_eq!(mode & 0o755, 0o755);
    }

    #[test]
    fn marker_round_trips_and_is_absent_from_unfinished_builds() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_marker(dir.path()).is_none());
        let finished = Finished {
            commands: vec!["make".into()],
            duration: 1.5,
            log_tail: "ok".into(),
            run: vec!["./main".into()],
        };
        write_marker(dir.path(), &finished).unwrap();
        let read = read_marker(dir.path()).unwrap();
        assert_eq!(read.run, finished.run);
        assert_eq!(read.commands, finished.commands);
    }
}
