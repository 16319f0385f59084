//! The challenges shipped inside the binary (embedded by build.rs from challenges/).

use std::io;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/bundled_files.rs"));

/// Ids of the bundled challenges, sorted.
#[must_use]
pub fn bundled_ids() -> Vec<&'static str> {
    let mut ids: Vec<&str> = FILES
        .iter()
        .filter_map(|(path, _, _)| path.strip_suffix("/challenge.toml"))
        .filter(|id| !id.contains('/'))
        .collect();
    ids.dedup();
    ids
}

/// The spec text of a bundled challenge.
#[must_use]
pub fn find_bundled(id: &str) -> Option<&'static [u8]> {
    let wanted = format!("{id}/challenge.toml");
    FILES.iter().find(|(path, _, _)| *path == wanted).map(|(_, _, bytes)| *bytes)
}

/// Writes the bundled challenge `id` under `into`, returning its folder.
pub(super) fn extract(id: &str, into: &Path) -> io::Result<PathBuf> {
    let prefix = format!("{id}/");
    for (path, executable, bytes) in FILES {
        let Some(_) = path.strip_prefix(&prefix) else { continue };
        let destination = into.join(path);
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&destination, bytes)?;
        #[cfg(unix)]
        if *executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&destination, std::fs::Permissions::from_mode(0o755))?;
        }
        #[cfg(not(unix))]
        let _ = executable;
    }
    Ok(into.join(id))
}
