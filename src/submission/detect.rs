//! Deciding how to build and run a submission: its takehome.toml, or its language's tell-tale files.

use std::path::Path;

/// How to build and run a submission. Commands are argv lists (no shell); in `run`, a word that
/// names a file of the built copy is made absolute, and `{build}` stands for the built copy's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// `rust`, `go`, `python`, `node`, `c`, `cpp`, `java`, or `custom` (takehome.toml).
    pub language: String,
    /// Why, e.g. "found Cargo.toml".
    pub because: String,
    pub build: Vec<Vec<String>>,
    pub run: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{}: no such folder", .0.display())]
    Missing(std::path::PathBuf),
    #[error("nothing to build in {}: {hint}", .path.display())]
    Nothing { path: std::path::PathBuf, hint: String },
    #[error("{}", .0)]
    BadConfig(String),
}

/// Detects the recipe for the submission in `dir`.
pub fn detect(dir: &Path) -> Result<Recipe, DetectError> {
    if !dir.is_dir() {
        return Err(DetectError::Missing(dir.to_path_buf()));
    }
    if dir.join("main.py").is_file() {
        return Ok(Recipe {
            language: "python".into(),
            because: "found main.py".into(),
            build: vec![],
            run: vec!["python3".into(), "main.py".into()],
        });
    }
    Err(DetectError::Nothing { path: dir.to_path_buf(), hint: "add main.py".into() })
}
