//! Finding a submission's source files: by extension, never following symlinks, skipping build output,
//! dependencies, version control, binaries and anything over 1 MB.

use std::path::{Path, PathBuf};

use super::SimilarityError;

/// Files larger than this are generated or vendored, not written by the candidate.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Folders that hold build output, dependencies or vendored code rather than the candidate's own, beyond
/// those a build leaves out anyway (`submission::tree::SKIPPED_DIRS`).
const ALSO_SKIPPED_DIRS: &[&str] = &["build", "dist", "obj", "vendor", "venv", "site-packages"];

/// How a file's comments and strings are written: enough for the generic lexer to drop the comments
/// and keep each string one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `//` and `/* */`: C, C++, Java, C#, Kotlin, Scala, Swift, Go, JavaScript, TypeScript.
    CLike,
    /// C-like, plus nested block comments, raw strings (`r#"…"#`) and lifetimes (`'a`).
    Rust,
    /// `#` comments, triple-quoted strings, docstrings dropped.
    Python,
    /// `#` comments and `=begin … =end`.
    Ruby,
    /// `#` comments only: shell scripts.
    Hash,
    /// `//`, `/* */` and `#`.
    Php,
}

impl Syntax {
    /// The syntax of a file, from its extension; `None` for files that are not source code.
    pub fn of(path: &Path) -> Option<Syntax> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "c" | "h" | "cc" | "cpp" | "cxx" | "c++" | "hpp" | "hh" | "hxx" | "java" | "kt" | "kts" | "scala"
            | "cs" | "swift" | "go" | "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "mts" | "cts" | "dart" => {
                Syntax::CLike
            }
            "rs" => Syntax::Rust,
            "py" | "pyw" => Syntax::Python,
            "rb" => Syntax::Ruby,
            "sh" | "bash" | "pl" | "r" | "jl" | "ex" | "exs" => Syntax::Hash,
            "php" => Syntax::Php,
            _ => return None,
        })
    }
}

/// One source file of a submission.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path inside the submission, `/`-separated.
    pub path: String,
    pub syntax: Syntax,
    /// The file's text; bytes that are not UTF-8 are replaced with U+FFFD.
    pub text: String,
}

/// A file left out of the comparison, and why (for the report, never an error).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

/// The source files under `root` (or `root` itself when it is a file), sorted by path so that every
/// run sees them in the same order.
pub fn collect(root: &Path) -> Result<(Vec<SourceFile>, Vec<Skipped>), SimilarityError> {
    let metadata =
        std::fs::metadata(root).map_err(|source| SimilarityError::Submission { path: root.to_path_buf(), source })?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    if metadata.is_file() {
        let name = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        read_one(root, name, metadata.len(), &mut files, &mut skipped);
    } else {
        walk(root, root, &mut files, &mut skipped)?;
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((files, skipped))
}

fn walk(
    root: &Path,
    dir: &Path,
    files: &mut Vec<SourceFile>,
    skipped: &mut Vec<Skipped>,
) -> Result<(), SimilarityError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // The submission's own folder must be readable; a sub-folder that is not is just left out.
        Err(source) if dir == root => return Err(SimilarityError::Submission { path: root.to_path_buf(), source }),
        Err(error) => {
            skipped.push(Skipped { path: dir.to_path_buf(), reason: format!("cannot read the folder: {error}") });
            return Ok(());
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                skipped.push(Skipped { path: dir.to_path_buf(), reason: format!("cannot list the folder: {error}") });
                continue;
            }
        };
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // symlink_metadata: a link is never followed, so a submission cannot pull in files from elsewhere.
        let Ok(metadata) = std::fs::symlink_metadata(&path) else { continue };
        if metadata.is_dir() {
            let left_out = |dirs: &[&str]| dirs.contains(&name.as_ref());
            if !name.starts_with('.')
                && !left_out(crate::submission::tree::SKIPPED_DIRS)
                && !left_out(ALSO_SKIPPED_DIRS)
            {
                walk(root, &path, files, skipped)?;
            }
        } else if metadata.is_file() && Syntax::of(&path).is_some() {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            read_one(&path, relative, metadata.len(), files, skipped);
        }
    }
    Ok(())
}

fn read_one(path: &Path, relative: String, len: u64, files: &mut Vec<SourceFile>, skipped: &mut Vec<Skipped>) {
    let Some(syntax) = Syntax::of(path) else {
        skipped.push(Skipped { path: path.to_path_buf(), reason: "not a source file takehome knows".into() });
        return;
    };
    if len > MAX_FILE_BYTES {
        skipped.push(Skipped { path: path.to_path_buf(), reason: format!("larger than {MAX_FILE_BYTES} bytes") });
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => {
            skipped.push(Skipped { path: path.to_path_buf(), reason: format!("cannot read it: {error}") });
            return;
        }
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        skipped.push(Skipped { path: path.to_path_buf(), reason: format!("larger than {MAX_FILE_BYTES} bytes") });
        return;
    }
    if bytes.iter().take(8192).any(|&b| b == 0) {
        skipped.push(Skipped { path: path.to_path_buf(), reason: "binary (holds NUL bytes)".into() });
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    };
    files.push(SourceFile { path: relative, syntax, text });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, text: &[u8]) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    #[test]
    fn collects_sources_by_extension_and_skips_build_output_and_dependencies() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "src/main.rs", b"fn main() {}");
        write(dir.path(), "lib/util.py", b"x = 1");
        write(dir.path(), "README.md", b"# hi");
        write(dir.path(), "target/debug/build.rs", b"fn x() {}");
        write(dir.path(), "node_modules/a/index.js", b"x");
        write(dir.path(), ".git/hooks/a.sh", b"x");
        write(dir.path(), "pkg/__pycache__/m.py", b"x");
        let (files, _) = collect(dir.path()).expect("collect");
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["lib/util.py", "src/main.rs"]);
        assert_eq!(files[1].syntax, Syntax::Rust);
    }

    #[test]
    fn skips_binaries_and_files_over_one_megabyte() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.c", b"int x;\0\0");
        write(dir.path(), "big.js", &vec![b'x'; MAX_FILE_BYTES as usize + 1]);
        write(dir.path(), "ok.go", b"package main");
        let (files, skipped) = collect(dir.path()).expect("collect");
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "ok.go");
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn never_follows_symlinks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        write(outside.path(), "secret.py", b"password = 1");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("linked")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("secret.py"), dir.path().join("s.py")).expect("symlink");
        let (files, _) = collect(dir.path()).expect("collect");
        assert!(files.is_empty(), "{files:?}");
    }

    #[test]
    fn a_missing_submission_is_an_error_naming_it() {
        let error = collect(Path::new("/nonexistent/sub")).expect_err("missing");
        assert!(error.to_string().contains("/nonexistent/sub"), "{error}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.py", b"x = '\xff'\n");
        let (files, _) = collect(dir.path()).expect("collect");
        assert!(files[0].text.contains('\u{fffd}'));
    }
}
