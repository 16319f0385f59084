//! `takehome report results/`: the leaderboard of a results folder (one `<name>.json` per submission),
//! written as leaderboard.csv, leaderboard.md and leaderboard.html. Result files that cannot be read are
//! named on standard error and left out.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::UsageError;
use crate::exit_codes;
use crate::report::leaderboard::{self, Leaderboard};
use crate::report::{leaderboard_csv, leaderboard_html, leaderboard_markdown};

/// The files written, in the order they are written.
pub const FILES: [&str; 3] = ["leaderboard.csv", "leaderboard.md", "leaderboard.html"];

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// The results folder: one JSON result per submission (`takehome grade --out`).
    pub results: PathBuf,
    /// Where to write the leaderboard files (default: the results folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes the three leaderboard files; 0 when every result file was read, 1 when some were left out.
pub fn run(args: &ReportArgs) -> anyhow::Result<i32> {
    if !args.results.is_dir() {
        return Err(UsageError(format!("{} is not a folder of results", args.results.display())).into());
    }
    let board = leaderboard::load(&args.results)?;
    for file in &board.unreadable {
        eprintln!("warning: left out {}: {}", args.results.join(&file.file).display(), file.reason);
    }
    if board.rows.is_empty() {
        return Err(UsageError(format!("no result could be read in {}", args.results.display())).into());
    }
    let out = args.out.as_deref().unwrap_or(&args.results);
    let written = write(&board, out)?;
    let shown: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    super::say_line(format!("{}: {}", board.summary(), shown.join(", ")));
    Ok(if board.unreadable.is_empty() { exit_codes::PASSED } else { exit_codes::FAILED })
}

/// Writes leaderboard.csv, .md and .html into `dir` (made when missing), each atomically.
pub fn write(board: &Leaderboard, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot make the folder {}", dir.display()))?;
    let rendered =
        [leaderboard_csv::render(board), leaderboard_markdown::render(board), leaderboard_html::render(board)];
    let mut written = Vec::with_capacity(FILES.len());
    for (name, text) in FILES.iter().zip(rendered) {
        let path = dir.join(name);
        write_atomically(&path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Through a temporary file and a rename, so a reader never sees half a page.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new().prefix(".takehome-leaderboard-").tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
