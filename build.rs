//! Embeds the bundled challenges (challenges/*) in the binary, so that `takehome list`, `show` and
//! `test <id>` work from any folder after `cargo install`. Build outputs inside a challenge
//! (target/, __pycache__/, node_modules/) are skipped.

use std::fmt::Write as _;
use std::path::Path;

const SKIPPED: [&str; 4] = ["target", "__pycache__", "node_modules", ".git"];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("challenges");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    if root.is_dir() {
        walk(&root, &root, &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// (path under challenges/, executable, contents)\npub static FILES: &[(&str, bool, &[u8])] = &[\n",
    );
    for (relative, executable) in &files {
        let absolute = root.join(relative);
        writeln!(out, "    ({relative:?}, {executable}, include_bytes!({:?})),", absolute.display().to_string())
            .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("bundled_files.rs");
    std::fs::write(dest, out).unwrap();
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, bool)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(root, &path, files);
        } else if meta.is_file() {
            println!("cargo:rerun-if-changed={}", path.display());
            let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((relative, is_executable(&meta)));
        }
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}
