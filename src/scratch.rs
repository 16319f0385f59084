//! Scratch folders in the system's temporary folder, named after the grader's process
//! (`takehome-<kind>-<pid>-XXXXXX`), so that what a grader killed before it could clean up leaves behind
//! (a benchmark's gigabyte tree after Ctrl-C, SIGTERM or SIGKILL) is removed by the next grader.

use std::io;
use std::path::Path;

use tempfile::TempDir;

/// A fresh scratch folder of this kind, removed when dropped; first removes the ones of graders that
/// are gone.
pub fn folder(kind: &str) -> io::Result<TempDir> {
    let prefix = format!("takehome-{kind}-");
    remove_orphans(&std::env::temp_dir(), &prefix);
    tempfile::Builder::new().prefix(&format!("{prefix}{}-", std::process::id())).tempdir()
}

/// Removes the entries of `dir` named `<prefix><pid>-...` whose process is gone (files and folders).
pub fn remove_orphans(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(prefix)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if process_alive(pid) {
            continue;
        }
        let path = entry.path();
        let _ = if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_a_gone_process_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        // No process has a pid this large (pid_max is at most 2^22).
        let dead_folder = dir.path().join("takehome-bench-99999999-abc");
        std::fs::create_dir_all(dead_folder.join("deep")).expect("folder");
        let dead_file = dir.path().join("takehome-bench-99999998-x.tmp");
        std::fs::write(&dead_file, "x").expect("file");
        let alive = dir.path().join(format!("takehome-bench-{}-abc", std::process::id()));
        std::fs::create_dir(&alive).expect("folder");
        let other = dir.path().join("takehome-nodes-99999999-abc");
        std::fs::create_dir(&other).expect("folder");
        remove_orphans(dir.path(), "takehome-bench-");
        assert!(!dead_folder.exists() && !dead_file.exists());
        assert!(alive.exists(), "this process's folder stays");
        assert!(other.exists(), "another kind is not touched");
    }

    #[test]
    fn a_scratch_folder_is_named_after_this_process() {
        let folder = folder("test-scratch").expect("made");
        let name = folder.path().file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        assert!(name.starts_with(&format!("takehome-test-scratch-{}-", std::process::id())), "{name}");
    }
}
