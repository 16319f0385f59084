//! A submission's name: its folder's name or its archive's stem, made safe as a file name
//! (`results/<name>.json`) and unique within the batch.

use std::collections::HashSet;
use std::path::Path;

/// Archive endings, longest first so `x.tar.gz` loses `.tar.gz` rather than `.gz`.
pub const ARCHIVE_SUFFIXES: &[&str] = &[".tar.gz", ".tgz", ".tar", ".zip"];

/// Longest name kept, in bytes (file systems allow 255 for the whole file name).
const MAX_NAME_BYTES: usize = 200;

/// The name `path` gives: a folder's name (the current folder's for `.`), an archive's without its ending.
#[must_use]
pub fn base_name(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut normal = std::path::PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    let name = normal.file_name().map_or_else(|| "submission".to_string(), |n| n.to_string_lossy().into_owned());
    let lower = name.to_ascii_lowercase();
    let stem = ARCHIVE_SUFFIXES
        .iter()
        .find(|suffix| lower.ends_with(*suffix) && lower.len() > suffix.len())
        .map_or(name.as_str(), |suffix| &name[..name.len() - suffix.len()]);
    sanitize(stem)
}

/// `name` as a safe file name: no separators or control characters, not hidden, not too long.
#[must_use]
pub fn sanitize(name: &str) -> String {
    let mut safe: String =
        name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    if safe.starts_with('.') {
        // Hidden files are the result folder's temporary files, and `.`/`..` are no names.
        safe.replace_range(..1, "_");
    }
    if safe.len() > MAX_NAME_BYTES {
        let mut end = MAX_NAME_BYTES;
        while !safe.is_char_boundary(end) {
            end -= 1;
        }
        safe.truncate(end);
    }
    if safe.is_empty() { "submission".to_string() } else { safe }
}

/// Makes `names` unique in their order: the second `alice` becomes `alice-2`, the third `alice-3`.
#[must_use]
pub fn dedupe(names: Vec<String>) -> Vec<String> {
    let mut taken: HashSet<String> = names.iter().cloned().collect();
    let mut seen: HashSet<String> = HashSet::new();
    names
        .into_iter()
        .map(|name| {
            if seen.insert(name.clone()) {
                return name;
            }
            let unique = (2..)
                .map(|n| format!("{name}-{n}"))
                .find(|candidate| !taken.contains(candidate))
                .unwrap_or_else(|| name.clone());
            taken.insert(unique.clone());
            seen.insert(unique.clone());
            unique
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_named_by_their_stem_and_folders_by_their_name() {
        assert_eq!(base_name(Path::new("subs/alice.tar.gz")), "alice");
        assert_eq!(base_name(Path::new("subs/Bob.ZIP")), "Bob");
        assert_eq!(base_name(Path::new("subs/carol.tgz")), "carol");
        assert_eq!(base_name(Path::new("subs/dave/")), "dave");
        assert_eq!(base_name(Path::new("subs/erin/..")), "subs");
        assert_eq!(base_name(Path::new("subs/v1.2")), "v1.2");
    }

    #[test]
    fn names_are_safe_file_names() {
        assert_eq!(sanitize(".hidden"), "_hidden");
        assert_eq!(sanitize(".."), "_.");
        assert_eq!(sanitize("a\nb"), "a_b");
        assert_eq!(sanitize(""), "submission");
        assert_eq!(sanitize("José"), "José");
        let long = "é".repeat(150);
        assert!(sanitize(&long).len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn colliding_names_get_a_number_in_order() {
        let names = dedupe(vec!["alice".into(), "bob".into(), "alice".into(), "alice-2".into(), "alice".into()]);
        assert_eq!(names, ["alice", "bob", "alice-3", "alice-2", "alice-4"]);
        let unique: HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
    }
}
