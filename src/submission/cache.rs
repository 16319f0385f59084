//! The build cache: finished builds keyed by a hash of the submission's content and the toolchain.

use std::path::PathBuf;

/// Where builds are cached: `TAKEHOME_CACHE_DIR`, else a per-user cache folder.
#[must_use]
pub fn cache_dir() -> PathBuf {
    std::env::var_os("TAKEHOME_CACHE_DIR").map_or_else(|| std::env::temp_dir().join("takehome-cache"), PathBuf::from)
}
