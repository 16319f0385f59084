//! dedup: prints every group of regular files under a folder whose contents are identical.
//!
//! Files are narrowed down in stages, each cheaper than the next: equal size, then a hash of the
//! first block, then a hash of the whole file, and finally a byte-by-byte comparison, since a hash
//! match alone is not proof. Every read streams through a fixed buffer, so memory does not grow
//! with file size, and a few threads share the reading.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// The first block, hashed for every file that shares its size with another.
const BLOCK: usize = 4096;
/// The buffer for streaming reads.
const BUFFER: usize = 128 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: dedup <folder>");
        std::process::exit(2);
    }
    let root = PathBuf::from(&args[1]);
    if let Err(error) = fs::read_dir(&root) {
        eprintln!("dedup: cannot read {}: {error}", root.display());
        std::process::exit(if error.kind() == ErrorKind::NotFound { 2 } else { 0 });
    }
    let groups = find_duplicates(&root);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for group in groups {
        let line: Vec<String> = group.iter().map(|path| json_string(path)).collect();
        // A closed stdout is the reader's choice, not an error of ours.
        if writeln!(out, "[{}]", line.join(", ")).is_err() {
            return;
        }
    }
    let _ = out.flush();
}

/// A regular file found by the walk.
struct Found {
    /// Relative to the root, `/`-separated.
    path: String,
    size: u64,
}

/// Groups of two or more paths with equal non-empty content, each sorted, sorted by first path.
fn find_duplicates(root: &Path) -> Vec<Vec<String>> {
    let files = walk(root);
    let mut by_size: HashMap<u64, Vec<usize>> = HashMap::new();
    for (index, file) in files.iter().enumerate() {
        if file.size > 0 {
            by_size.entry(file.size).or_default().push(index);
        }
    }
    let same_size: Vec<Vec<usize>> = by_size.into_values().filter(|set| set.len() > 1).collect();

    // Stage 1: the first block.
    let partial = hash_all(root, &files, &same_size, Some(BLOCK));
    let candidates = split_by_hash(same_size, &partial);

    // Stage 2: the whole file, where the first block did not cover it and a pair compare is not cheaper.
    let (needs_full, ready): (Vec<_>, Vec<_>) =
        candidates.into_iter().partition(|set| set.len() > 2 && files[set[0]].size > BLOCK as u64);
    let full = hash_all(root, &files, &needs_full, None);
    let mut candidates = split_by_hash(needs_full, &full);
    candidates.extend(ready);

    // Stage 3: byte by byte.
    let mut groups: Vec<Vec<String>> = compare_all(root, &files, candidates)
        .into_iter()
        .map(|set| {
            let mut paths: Vec<String> = set.into_iter().map(|i| files[i].path.clone()).collect();
            paths.sort_unstable();
            paths
        })
        .collect();
    groups.sort_unstable();
    groups
}

fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

fn full_path(root: &Path, relative: &str) -> PathBuf {
    root.join(relative)
}

/// Every regular file under `root`, never following symbolic links. Folders are shared out to a
/// few threads through a stack; an unreadable folder is reported and skipped.
fn walk(root: &Path) -> Vec<Found> {
    struct Queue {
        folders: Vec<String>,
        busy: usize,
    }
    let queue = Mutex::new(Queue { folders: vec![String::new()], busy: 0 });
    let wake = Condvar::new();
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers() {
            scope.spawn(|| {
                let mut found = Vec::new();
                loop {
                    let folder = {
                        let mut q = queue.lock().expect("queue");
                        loop {
                            if let Some(folder) = q.folders.pop() {
                                q.busy += 1;
                                break Some(folder);
                            }
                            if q.busy == 0 {
                                break None;
                            }
                            q = wake.wait(q).expect("queue");
                        }
                    };
                    let Some(folder) = folder else { break };
                    let mut subfolders = Vec::new();
                    list(root, &folder, &mut found, &mut subfolders);
                    let mut q = queue.lock().expect("queue");
                    q.folders.extend(subfolders);
                    q.busy -= 1;
                    wake.notify_all();
                }
                results.lock().expect("results").append(&mut found);
            });
        }
    });
    results.into_inner().expect("results")
}

fn list(root: &Path, folder: &str, found: &mut Vec<Found>, subfolders: &mut Vec<String>) {
    let entries = match fs::read_dir(full_path(root, folder)) {
        Ok(entries) => entries,
        Err(error) => {
            eprintln!("dedup: cannot read folder {}: {error}", display(folder));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                eprintln!("dedup: cannot list folder {}: {error}", display(folder));
                break;
            }
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = if folder.is_empty() { name.into_owned() } else { format!("{folder}/{name}") };
        // DirEntry's type and metadata describe the entry itself: symbolic links are not followed.
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(error) => {
                eprintln!("dedup: cannot inspect {}: {error}", display(&path));
                continue;
            }
        };
        if kind.is_dir() {
            subfolders.push(path);
        } else if kind.is_file() {
            match entry.metadata() {
                Ok(meta) => found.push(Found { path, size: meta.len() }),
                Err(error) => eprintln!("dedup: cannot inspect {}: {error}", display(&path)),
            }
        }
    }
}

fn display(relative: &str) -> String {
    if relative.is_empty() {
        ".".into()
    } else {
        json_string(relative)
    }
}

/// Hashes (the first `limit` bytes of) every file in `sets`, a few threads at a time. A file that
/// cannot be read gets `None` and a line on stderr.
fn hash_all(root: &Path, files: &[Found], sets: &[Vec<usize>], limit: Option<usize>) -> HashMap<usize, u128> {
    let work: Vec<usize> = sets.iter().flatten().copied().collect();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(HashMap::with_capacity(work.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers() {
            scope.spawn(|| {
                let mut buffer = vec![0u8; BUFFER];
                let mut mine = Vec::new();
                loop {
                    let at = next.fetch_add(16, Ordering::Relaxed);
                    if at >= work.len() {
                        break;
                    }
                    for &index in &work[at..(at + 16).min(work.len())] {
                        let path = &files[index].path;
                        match hash_file(&full_path(root, path), limit, &mut buffer) {
                            Ok(hash) => mine.push((index, hash)),
                            Err(error) => eprintln!("dedup: cannot read {}: {error}", display(path)),
                        }
                    }
                }
                results.lock().expect("results").extend(mine);
            });
        }
    });
    results.into_inner().expect("results")
}

/// Splits each set by hash, dropping files without one and sets left with a single file.
fn split_by_hash(sets: Vec<Vec<usize>>, hashes: &HashMap<usize, u128>) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for set in sets {
        let mut by_hash: HashMap<u128, Vec<usize>> = HashMap::new();
        for index in set {
            if let Some(&hash) = hashes.get(&index) {
                by_hash.entry(hash).or_default().push(index);
            }
        }
        out.extend(by_hash.into_values().filter(|s| s.len() > 1));
    }
    out
}

fn hash_file(path: &Path, limit: Option<usize>, buffer: &mut [u8]) -> io::Result<u128> {
    let mut file = File::open(path)?;
    let mut hasher = Hasher128::new();
    let mut left = limit.unwrap_or(usize::MAX);
    while left > 0 {
        let want = buffer.len().min(left);
        let n = read_full(&mut file, &mut buffer[..want])?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        left -= n;
    }
    Ok(hasher.finish())
}

/// Reads until `buffer` is full or the file ends, so chunks line up between two files.
fn read_full(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Splits every candidate set into groups of files equal byte for byte, a few sets at a time.
fn compare_all(root: &Path, files: &[Found], sets: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    // Large sets first, so that one big comparison does not start last.
    let mut sets = sets;
    sets.sort_unstable_by_key(|set| std::cmp::Reverse(files[set[0]].size));
    std::thread::scope(|scope| {
        for _ in 0..workers() {
            scope.spawn(|| {
                let mut buffers = (vec![0u8; BUFFER], vec![0u8; BUFFER]);
                let mut mine = Vec::new();
                while let Some(set) = sets.get(next.fetch_add(1, Ordering::Relaxed)) {
                    mine.extend(partition(root, files, set, &mut buffers));
                }
                results.lock().expect("results").extend(mine);
            });
        }
    });
    results.into_inner().expect("results")
}

/// Groups of two or more equal files in `set`: each file joins the first class whose
/// representative it equals. With a good hash there is one class and `set.len() - 1` comparisons.
fn partition(root: &Path, files: &[Found], set: &[usize], buffers: &mut (Vec<u8>, Vec<u8>)) -> Vec<Vec<usize>> {
    let mut classes: Vec<Vec<usize>> = Vec::new();
    'files: for &index in set {
        for class in &mut classes {
            let (a, b) = (&files[class[0]].path, &files[index].path);
            match same_bytes(&full_path(root, a), &full_path(root, b), buffers) {
                Ok(true) => {
                    class.push(index);
                    continue 'files;
                }
                Ok(false) => {}
                Err((which, error)) => {
                    eprintln!("dedup: cannot read {}: {error}", display(if which == 0 { a } else { b }));
                    if which == 0 {
                        // The representative is lost: its class can no longer grow; start over with this file.
                        class.clear();
                    } else {
                        continue 'files;
                    }
                }
            }
        }
        classes.retain(|class| !class.is_empty());
        classes.push(vec![index]);
    }
    classes.into_iter().filter(|class| class.len() > 1).collect()
}

/// Whether two files hold the same bytes; on failure, which of the two (0 or 1) could not be read.
fn same_bytes(a: &Path, b: &Path, (x, y): &mut (Vec<u8>, Vec<u8>)) -> Result<bool, (u8, io::Error)> {
    let mut first = File::open(a).map_err(|e| (0, e))?;
    let mut second = File::open(b).map_err(|e| (1, e))?;
    loop {
        let n = read_full(&mut first, x).map_err(|e| (0, e))?;
        let m = read_full(&mut second, y).map_err(|e| (1, e))?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// A fast 128-bit hash for finding candidates (not for proof): four xxHash64-style lanes over
/// 32-byte stripes, folded two ways at the end.
struct Hasher128 {
    lanes: [u64; 4],
    tail: [u8; 32],
    tail_len: usize,
    total: u64,
}

const P1: u64 = 0x9e37_79b1_85eb_ca87;
const P2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const P3: u64 = 0x1656_67b1_9e37_79f9;
const P4: u64 = 0x85eb_ca77_c2b2_ae63;

impl Hasher128 {
    fn new() -> Hasher128 {
        Hasher128 { lanes: [P1.wrapping_add(P2), P2, 0, P1.wrapping_neg()], tail: [0; 32], tail_len: 0, total: 0 }
    }

    fn round(lane: u64, word: u64) -> u64 {
        lane.wrapping_add(word.wrapping_mul(P2)).rotate_left(31).wrapping_mul(P1)
    }

    fn stripe(&mut self, stripe: &[u8]) {
        for (lane, word) in self.lanes.iter_mut().zip(stripe.chunks_exact(8)) {
            *lane = Self::round(*lane, u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
    }

    fn update(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        if self.tail_len > 0 {
            let take = (32 - self.tail_len).min(bytes.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&bytes[..take]);
            self.tail_len += take;
            bytes = &bytes[take..];
            if self.tail_len < 32 {
                return;
            }
            let tail = self.tail;
            self.stripe(&tail);
            self.tail_len = 0;
        }
        let mut stripes = bytes.chunks_exact(32);
        for stripe in &mut stripes {
            self.stripe(stripe);
        }
        let rest = stripes.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    fn finish(&self) -> u128 {
        let mut lanes = self.lanes;
        for (i, byte) in self.tail[..self.tail_len].iter().enumerate() {
            lanes[i % 4] = Self::round(lanes[i % 4], u64::from(*byte) ^ ((i as u64) << 8));
        }
        let avalanche = |mut h: u64| {
            h ^= h >> 33;
            h = h.wrapping_mul(P2);
            h ^= h >> 29;
            h = h.wrapping_mul(P3);
            h ^ (h >> 32)
        };
        let low = lanes[0].rotate_left(1).wrapping_add(lanes[1].rotate_left(7)).wrapping_add(lanes[2].rotate_left(12))
            ^ lanes[3].rotate_left(18).wrapping_add(self.total);
        let high = lanes[0].wrapping_mul(P4)
            ^ lanes[1].wrapping_mul(P3)
            ^ lanes[2].wrapping_mul(P1)
            ^ lanes[3]
            ^ self.total.wrapping_mul(P2);
        (u128::from(avalanche(high)) << 64) | u128::from(avalanche(low))
    }
}

/// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_what_json_requires() {
        assert_eq!(json_string("a \"b\"\\\n\t\u{1}é"), "\"a \\\"b\\\"\\\\\\n\\t\\u0001é\"");
    }

    #[test]
    fn hashing_in_pieces_equals_hashing_at_once() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut whole = Hasher128::new();
        whole.update(&data);
        let mut pieces = Hasher128::new();
        for chunk in data.chunks(33) {
            pieces.update(chunk);
        }
        assert_eq!(whole.finish(), pieces.finish());
        let mut other = Hasher128::new();
        other.update(&data[..999]);
        assert_ne!(whole.finish(), other.finish());
    }
}
