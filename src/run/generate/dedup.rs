//! The `dedup-tree` generator: a folder tree for the dedup challenge, one scenario (`edge`) at a
//! time, and the expected answer worked out from what was written.
//!
//! The tree is first planned in memory (contents as recipes, files, links, modes), then written
//! with a few threads, and the answer comes from the plan: files of the same recipe are equal by
//! construction; recipes of the same length are told apart by the SHA-256 of their bytes, so the
//! answer is right to the last byte even where two recipes happen to make equal content.
//!
//! Writes `OUT/files/tree/...` and `OUT/answer` (one JSON array per group, the brief's canonical
//! form). Params: `edge` (see [`Edge`]), `files`, `size_mb`, `depth`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt, symlink};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::{GenerateError, Params};

/// The name used as `builtin:dedup-tree`.
pub const NAME: &str = "dedup-tree";

/// Where the tree goes inside `OUT/files/`; the program is run with this as its argument.
const TREE: &str = "tree";

/// Two distinct 16-byte blocks with the same 32-bit FNV-1a hash (found by scripts/dedup-collisions).
pub const FNV1A_32_COLLISION: [[u8; 16]; 2] = [
    [0x82, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa9, 0x57, 0x16, 0xad, 0xab, 0x19, 0x55, 0xf7],
    [0x5b, 0xe0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x74, 0x96, 0xb3, 0x39, 0xa9, 0x59, 0x41, 0x90],
];

/// Two distinct 16-byte blocks with the same 64-bit FNV-1a hash.
pub const FNV1A_64_COLLISION: [[u8; 16]; 2] = [
    [0xd4, 0x77, 0x8b, 0xbf, 0xc1, 0x26, 0x41, 0xaa, 0x67, 0x69, 0x51, 0xc2, 0x91, 0x2b, 0xab, 0x17],
    [0xaa, 0xea, 0x3a, 0x76, 0x2f, 0xcf, 0x0b, 0xd5, 0xf1, 0x7a, 0x31, 0xb6, 0x47, 0x18, 0x03, 0x90],
];

/// Two distinct 16-byte blocks with the same CRC32 (IEEE, as zlib computes it). CRC32 is affine, so
/// they keep colliding after any common prefix; FNV does not, so its blocks go first in a file.
pub const CRC32_COLLISION: [[u8; 16]; 2] = [
    [0xcf, 0x0e, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x97, 0x8a, 0xad, 0x0c, 0x5b, 0x88, 0xa0],
    [0xef, 0x12, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0xbc, 0xca, 0x5e, 0x59, 0x64, 0xa6, 0xc7],
];

/// The scenarios, one per edge of the challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    EqualSizeDifferentContent,
    LastByteDiffers,
    LargeFiles,
    ManySmallFiles,
    DeepNesting,
    HardLinks,
    Symlinks,
    EmptyFiles,
    OddNames,
    SparseFiles,
    WeakHashCollision,
    Unreadable,
    UniqueSizes,
    Mixed,
}

impl Edge {
    pub const ALL: [Edge; 14] = [
        Edge::EqualSizeDifferentContent,
        Edge::LastByteDiffers,
        Edge::LargeFiles,
        Edge::ManySmallFiles,
        Edge::DeepNesting,
        Edge::HardLinks,
        Edge::Symlinks,
        Edge::EmptyFiles,
        Edge::OddNames,
        Edge::SparseFiles,
        Edge::WeakHashCollision,
        Edge::Unreadable,
        Edge::UniqueSizes,
        Edge::Mixed,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Edge::EqualSizeDifferentContent => "equal-size-different-content",
            Edge::LastByteDiffers => "last-byte-differs",
            Edge::LargeFiles => "large-files",
            Edge::ManySmallFiles => "many-small-files",
            Edge::DeepNesting => "deep-nesting",
            Edge::HardLinks => "hard-links",
            Edge::Symlinks => "symlinks",
            Edge::EmptyFiles => "empty-files",
            Edge::OddNames => "odd-names",
            Edge::SparseFiles => "sparse-files",
            Edge::WeakHashCollision => "weak-hash-collision",
            Edge::Unreadable => "unreadable",
            Edge::UniqueSizes => "unique-sizes",
            Edge::Mixed => "mixed",
        }
    }

    #[must_use]
    pub fn parse(name: &str) -> Option<Edge> {
        Edge::ALL.into_iter().find(|edge| edge.name() == name)
    }

    /// What the scenario tests, in words fit for a failing case's message (nothing of the data).
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Edge::EqualSizeDifferentContent => "many files of the same size, most with different content",
            Edge::LastByteDiffers => "files equal except for one byte: the last, the first, or just past 4 KiB",
            Edge::LargeFiles => "large files that differ only at the very end; memory must not grow with file size",
            Edge::ManySmallFiles => "a very large number of small files",
            Edge::DeepNesting => "directories nested more than a thousand levels deep",
            Edge::HardLinks => "hard links: several paths to one file are each reported",
            Edge::Symlinks => "symbolic links to files, to folders, to duplicates, dangling and in loops",
            Edge::EmptyFiles => "empty files, which are never reported",
            Edge::OddNames => "names with spaces, quotes, backslashes, newlines, control characters and unicode",
            Edge::SparseFiles => "sparse files with holes, equal to dense files of the same bytes",
            Edge::WeakHashCollision => "distinct files of equal size whose weak hashes (CRC32, FNV-1a) collide",
            Edge::Unreadable => "files and a folder that cannot be read",
            Edge::UniqueSizes => "many large files of distinct sizes, which need not be read at all",
            Edge::Mixed => "a bit of everything",
        }
    }
}

/// The description of the edge called `name`, if there is one.
#[must_use]
pub fn describe(name: &str) -> Option<&'static str> {
    Edge::parse(name).map(Edge::describe)
}

/// Makes the tree and answer for `seed` and `params` in `out` (an empty folder).
pub fn generate(seed: u64, params: &Params, out: &Path) -> Result<(), GenerateError> {
    let settings = Settings::from_params(params)?;
    let plan = build(seed, &settings);
    let root = out.join("files").join(TREE);
    write_plan(&plan, &root)?;
    let answer = answer(&plan);
    fs::write(out.join("answer"), answer).map_err(|e| io_error(&out.join("answer"), &e))
}

// ---------------------------------------------------------------------------------------------
// Parameters

const PARAM_KEYS: [&str; 4] = ["edge", "files", "size_mb", "depth"];

/// Paths stay under 4096 bytes (PATH_MAX) with room for the working folder's own path.
const MAX_DEPTH: u64 = 1700;

#[derive(Debug, Clone, PartialEq)]
struct Settings {
    edge: Edge,
    files: Option<u64>,
    size_mb: Option<f64>,
    depth: Option<u64>,
}

impl Settings {
    fn from_params(params: &Params) -> Result<Settings, GenerateError> {
        let fail = |message: String| GenerateError::Failed { generator: NAME.into(), message };
        for key in params.keys() {
            if !PARAM_KEYS.contains(&key.as_str()) {
                return Err(fail(format!("unknown param `{key}`; expected one of {}", PARAM_KEYS.join(", "))));
            }
        }
        let edge = match params.get("edge") {
            None => Edge::Mixed,
            Some(toml::Value::String(name)) => Edge::parse(name).ok_or_else(|| {
                let names: Vec<&str> = Edge::ALL.iter().map(|e| e.name()).collect();
                fail(format!("unknown edge `{name}`; expected one of {}", names.join(", ")))
            })?,
            Some(other) => return Err(fail(format!("param `edge` must be a string, not `{other}`"))),
        };
        let count = |key: &str| -> Result<Option<u64>, GenerateError> {
            match params.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(n)) if *n >= 0 => Ok(Some(*n as u64)),
                Some(other) => Err(fail(format!("param `{key}` must be a whole number >= 0, not `{other}`"))),
            }
        };
        let files = count("files")?;
        let depth = count("depth")?;
        if let Some(depth) = depth
            && !(1..=MAX_DEPTH).contains(&depth)
        {
            return Err(fail(format!("param `depth` must be between 1 and {MAX_DEPTH}, not {depth}")));
        }
        let size_mb = match params.get("size_mb") {
            None => None,
            Some(toml::Value::Integer(n)) if *n > 0 => Some(*n as f64),
            Some(toml::Value::Float(x)) if *x > 0.0 && x.is_finite() => Some(*x),
            Some(other) => return Err(fail(format!("param `size_mb` must be a number > 0, not `{other}`"))),
        };
        Ok(Settings { edge, files, size_mb, depth })
    }
}

/// How big one scenario is: every builder takes one, with its own defaults filled in.
#[derive(Debug, Clone, Copy)]
struct Scale {
    files: u64,
    bytes: u64,
    depth: u64,
}

const MIB: u64 = 1024 * 1024;

impl Scale {
    fn for_edge(edge: Edge, settings: &Settings) -> Scale {
        let (files, size_mb, depth) = match edge {
            Edge::ManySmallFiles => (2000, 8.0, 1),
            Edge::LargeFiles => (3, 64.0, 1),
            Edge::SparseFiles => (10, 64.0, 1),
            Edge::UniqueSizes => (48, 8192.0, 1),
            Edge::DeepNesting => (20, 1.0, 1100),
            Edge::EqualSizeDifferentContent => (60, 1.0, 1),
            Edge::Mixed => (3000, 64.0, 300),
            _ => (20, 1.0, 1),
        };
        Scale {
            files: settings.files.unwrap_or(files),
            bytes: (settings.size_mb.unwrap_or(size_mb) * MIB as f64) as u64,
            depth: settings.depth.unwrap_or(depth),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness: splitmix64, as a sequence for decisions and by counter for file contents.

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(mix64(seed ^ 0x6a09_e667_f3bc_c909))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Log-uniform in `lo..=hi` (lo >= 1): as many files of 10 bytes as of 10 kB.
    fn log_uniform(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), ((hi + 1) as f64).ln());
        let x = a + (b - a) * (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (x.exp() as u64).clamp(lo, hi)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Byte `position` of the random stream `seed`: word `position / 8` is `mix64` of a counter, so any
/// part of a file can be made without making what comes before.
fn fill_random(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut position = offset;
    let mut rest = &mut buf[..];
    while position % 8 != 0 && !rest.is_empty() {
        rest[0] = random_word(seed, position / 8).to_le_bytes()[(position % 8) as usize];
        rest = &mut rest[1..];
        position += 1;
    }
    let mut word = position / 8;
    let mut chunks = rest.chunks_exact_mut(8);
    for chunk in &mut chunks {
        chunk.copy_from_slice(&random_word(seed, word).to_le_bytes());
        word += 1;
    }
    let tail = chunks.into_remainder();
    let bytes = random_word(seed, word).to_le_bytes();
    let n = tail.len();
    tail.copy_from_slice(&bytes[..n]);
}

fn random_word(seed: u64, word: u64) -> u64 {
    mix64(seed.wrapping_add(word.wrapping_add(1).wrapping_mul(GOLDEN)))
}

// ---------------------------------------------------------------------------------------------
// The plan: contents as recipes, and the nodes of the tree.

type BlobId = usize;

/// A content: a base (random bytes or zeros) with byte ranges written over it.
#[derive(Debug, Clone)]
struct Blob {
    len: u64,
    base: Base,
    patches: Vec<Patch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Random(u64),
    Zeros,
}

#[derive(Debug, Clone)]
struct Patch {
    offset: u64,
    bytes: Vec<u8>,
}

impl Blob {
    /// Bytes `offset..offset + buf.len()` of the content.
    fn render(&self, offset: u64, buf: &mut [u8]) {
        match self.base {
            Base::Random(seed) => fill_random(seed, offset, buf),
            Base::Zeros => buf.fill(0),
        }
        let end = offset + buf.len() as u64;
        for patch in &self.patches {
            let patch_end = patch.offset + patch.bytes.len() as u64;
            let (from, to) = (patch.offset.max(offset), patch_end.min(end));
            if from < to {
                let source = &patch.bytes[(from - patch.offset) as usize..(to - patch.offset) as usize];
                buf[(from - offset) as usize..(to - offset) as usize].copy_from_slice(source);
            }
        }
    }

    fn byte_at(&self, offset: u64) -> u8 {
        let mut byte = [0u8];
        self.render(offset, &mut byte);
        byte[0]
    }
}

#[derive(Debug, Clone)]
struct FileNode {
    path: String,
    blob: BlobId,
    /// Written with holes where the content is zeros (only for a `Zeros` base).
    sparse: bool,
    mode: u32,
}

#[derive(Debug, Default)]
struct Plan {
    blobs: Vec<Blob>,
    files: Vec<FileNode>,
    /// Extra paths for an existing file: (path, index into `files`).
    hard_links: Vec<(String, usize)>,
    /// (path, target as written in the link).
    symlinks: Vec<(String, String)>,
    /// Every folder, including empty ones; modes other than 0o755 are set after everything is written.
    dirs: BTreeSet<String>,
    dir_modes: Vec<(String, u32)>,
}

const FILE_MODE: u32 = 0o644;

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") }
}

impl Plan {
    fn blob(&mut self, len: u64, base: Base, patches: Vec<Patch>) -> BlobId {
        self.blobs.push(Blob { len, base, patches });
        self.blobs.len() - 1
    }

    fn random(&mut self, seed: u64, len: u64) -> BlobId {
        self.blob(len, Base::Random(seed), Vec::new())
    }

    fn literal(&mut self, bytes: &[u8]) -> BlobId {
        self.blob(bytes.len() as u64, Base::Zeros, vec![Patch { offset: 0, bytes: bytes.to_vec() }])
    }

    /// `of` with the byte at `offset` changed (to a value chosen by `rng`, never the same).
    fn variant(&mut self, rng: &mut Rng, of: BlobId, offset: u64) -> BlobId {
        let original = &self.blobs[of];
        let byte = original.byte_at(offset) ^ rng.range(1, 255) as u8;
        let mut blob = original.clone();
        blob.patches.push(Patch { offset, bytes: vec![byte] });
        self.blobs.push(blob);
        self.blobs.len() - 1
    }

    /// `of` with `bytes` written at `offset`.
    fn overwrite(&mut self, of: BlobId, offset: u64, bytes: &[u8]) -> BlobId {
        let mut blob = self.blobs[of].clone();
        blob.patches.push(Patch { offset, bytes: bytes.to_vec() });
        self.blobs.push(blob);
        self.blobs.len() - 1
    }

    fn add_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            if !self.dirs.contains(&path[..end]) {
                self.dirs.insert(path[..end].to_string());
            }
            end += 1;
        }
    }

    fn dir(&mut self, path: &str) {
        self.add_parents(path);
        self.dirs.insert(path.to_string());
    }

    fn locked_dir(&mut self, path: &str) {
        self.dir(path);
        self.dir_modes.push((path.to_string(), 0));
    }

    /// Adds a file and returns its index (for hard links).
    fn file(&mut self, path: String, blob: BlobId) -> usize {
        self.file_with(path, blob, false, FILE_MODE)
    }

    fn file_with(&mut self, path: String, blob: BlobId, sparse: bool, mode: u32) -> usize {
        self.add_parents(&path);
        self.files.push(FileNode { path, blob, sparse, mode });
        self.files.len() - 1
    }

    fn hard_link(&mut self, path: String, file: usize) {
        self.add_parents(&path);
        self.hard_links.push((path, file));
    }

    fn symlink(&mut self, path: String, target: &str) {
        self.add_parents(&path);
        self.symlinks.push((path, target.to_string()));
    }
}

// ---------------------------------------------------------------------------------------------
// The scenarios

const WORDS: [&str; 16] = [
    "report", "photo", "notes", "backup", "draft", "invoice", "data", "log", "img", "song", "scan", "todo", "readme",
    "config", "thesis", "budget",
];
const EXTENSIONS: [&str; 8] = ["txt", "jpg", "bin", "dat", "log", "pdf", "png", "csv"];

fn file_name(rng: &mut Rng, index: u64) -> String {
    format!("{}-{index:05}.{}", rng.pick(&WORDS), rng.pick(&EXTENSIONS))
}

fn build(seed: u64, settings: &Settings) -> Plan {
    let mut plan = Plan::default();
    let mut rng = Rng::new(seed);
    let scale = Scale::for_edge(settings.edge, settings);
    build_edge(&mut plan, &mut rng, settings.edge, "", scale);
    plan
}

fn build_edge(plan: &mut Plan, rng: &mut Rng, edge: Edge, prefix: &str, scale: Scale) {
    match edge {
        Edge::EqualSizeDifferentContent => equal_size(plan, rng, prefix, scale),
        Edge::LastByteDiffers => last_byte(plan, rng, prefix),
        Edge::LargeFiles => large_files(plan, rng, prefix, scale),
        Edge::ManySmallFiles => many_small(plan, rng, prefix, scale),
        Edge::DeepNesting => deep_nesting(plan, rng, prefix, scale),
        Edge::HardLinks => hard_links(plan, rng, prefix),
        Edge::Symlinks => symlinks(plan, rng, prefix),
        Edge::EmptyFiles => empty_files(plan, rng, prefix, scale),
        Edge::OddNames => odd_names(plan, rng, prefix),
        Edge::SparseFiles => sparse_files(plan, rng, prefix, scale),
        Edge::WeakHashCollision => weak_hash(plan, rng, prefix),
        Edge::Unreadable => unreadable(plan, rng, prefix),
        Edge::UniqueSizes => unique_sizes(plan, rng, prefix, scale),
        Edge::Mixed => mixed(plan, rng, prefix, scale),
    }
}

/// A few real duplicate groups of small random files, so no scenario has an empty answer.
fn some_duplicates(plan: &mut Plan, rng: &mut Rng, dir: &str, groups: u64) {
    for g in 0..groups {
        let blob = plan.random(rng.next(), rng.log_uniform(1, 20_000));
        for copy in 0..rng.range(2, 3) {
            plan.file(join(dir, &format!("copy-{g}-{copy}-{}", file_name(rng, g))), blob);
        }
    }
}

/// `n` files of length `len`: new contents, copies of earlier ones and one-byte variants of them.
fn equal_size_family(plan: &mut Plan, rng: &mut Rng, dir: &str, len: u64, n: u64) {
    let mut family: Vec<BlobId> = Vec::new();
    for i in 0..n {
        let blob = if family.is_empty() || rng.chance(45) {
            plan.random(rng.next(), len)
        } else if rng.chance(50) {
            *rng.pick(&family)
        } else {
            let of = *rng.pick(&family);
            let offset = rng.below(len);
            plan.variant(rng, of, offset)
        };
        family.push(blob);
        plan.file(join(dir, &file_name(rng, i)), blob);
    }
}

fn equal_size(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let sizes = [rng.range(100, 4000), 4096, rng.range(4097, 200_000)];
    let per_size = (scale.files / 3).max(2);
    for (i, len) in sizes.into_iter().enumerate() {
        equal_size_family(plan, rng, &join(prefix, &format!("batch-{i}")), len, per_size);
    }
}

fn last_byte(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    let sizes = [1, 2, 7, 4095, 4096, 4097, 8192, 65_535, 65_537, MIB, MIB + 1, rng.range(10, 3 * MIB)];
    for (i, &len) in sizes.iter().enumerate() {
        let dir = join(prefix, &format!("size-{len}"));
        let original = plan.random(rng.next(), len);
        plan.file(join(&dir, "original"), original);
        let last = plan.variant(rng, original, len - 1);
        plan.file(join(prefix, &format!("elsewhere/last-{i}")), last);
        if len > 1 {
            let first = plan.variant(rng, original, 0);
            plan.file(join(&dir, "first-byte-differs"), first);
        }
        if len > 4096 {
            let past_block = plan.variant(rng, original, 4096);
            plan.file(join(&dir, "byte-4096-differs"), past_block);
        }
        if rng.chance(60) {
            plan.file(join(&dir, "copy"), original);
        }
        if rng.chance(40) {
            plan.file(join(&dir, "copy-of-last"), last);
        }
    }
}

fn large_files(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let len = scale.bytes.max(8192) + rng.below(4096);
    let original = plan.random(rng.next(), len);
    let last = plan.variant(rng, original, len - 1);
    plan.file(join(prefix, "big/original.bin"), original);
    plan.file(join(prefix, "big/ends-differently.bin"), last);
    plan.file(join(prefix, "backup/original-copy.bin"), original);
    some_duplicates(plan, rng, &join(prefix, "small"), 2);
}

fn many_small(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let per_dir = 400;
    let mut made: Vec<BlobId> = Vec::new();
    for i in 0..scale.files {
        let dir = join(prefix, &format!("d{:02}/e{:03}", i / (per_dir * 50), (i / per_dir) % 50));
        let roll = rng.below(100);
        let blob = if made.is_empty() || roll < 65 {
            let len = if rng.chance(1) { 0 } else { rng.log_uniform(1, 4096) };
            plan.random(rng.next(), len)
        } else if roll < 92 {
            *rng.pick(&made)
        } else {
            let of = *rng.pick(&made);
            let len = plan.blobs[of].len;
            if len == 0 { of } else { plan.variant(rng, of, len - 1) }
        };
        made.push(blob);
        plan.file(join(&dir, &format!("f{i:06}")), blob);
    }
}

fn deep_nesting(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let depth = scale.depth.clamp(1, MAX_DEPTH);
    let every = (depth / 10).max(1);
    let top = plan.random(rng.next(), rng.range(10, 5000));
    let middle = plan.random(rng.next(), rng.range(10, 5000));
    let mut dir = join(prefix, "deep");
    plan.file(join(&dir, "top.txt"), top);
    for level in 1..=depth {
        dir.push_str("/d");
        if level % every == 0 {
            let blob = if level == depth / 2 { middle } else { plan.random(rng.next(), rng.range(1, 3000)) };
            plan.file(join(&dir, &format!("level-{level}.txt")), blob);
        }
    }
    plan.dir(&dir);
    plan.file(join(&dir, "bottom.txt"), top);
    plan.file(join(&dir, "middle-copy.txt"), middle);
    plan.file(join(prefix, "shallow/middle.txt"), middle);
    some_duplicates(plan, rng, &join(prefix, "shallow"), 2);
}

fn hard_links(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    // A file with a second name and no other copy: a group of two paths to one inode.
    let solo = plan.random(rng.next(), rng.range(10, 9000));
    let solo_file = plan.file(join(prefix, "orig/solo.dat"), solo);
    plan.hard_link(join(prefix, "links/solo-link.dat"), solo_file);
    // Three names for one inode plus an independent copy: a group of four.
    let shared = plan.random(rng.next(), rng.range(10, 9000));
    let shared_file = plan.file(join(prefix, "orig/shared.dat"), shared);
    plan.hard_link(join(prefix, "links/shared-link.dat"), shared_file);
    plan.hard_link(join(prefix, "other/deeper/shared-link-2.dat"), shared_file);
    plan.file(join(prefix, "copies/shared-copy.dat"), shared);
    // Two names in the same folder.
    let twin = plan.random(rng.next(), rng.range(10, 9000));
    let twin_file = plan.file(join(prefix, "orig/twin-a.dat"), twin);
    plan.hard_link(join(prefix, "orig/twin-b.dat"), twin_file);
    // An empty file with a link: still empty, never reported.
    let empty = plan.blob(0, Base::Zeros, Vec::new());
    let empty_file = plan.file(join(prefix, "orig/empty.dat"), empty);
    plan.hard_link(join(prefix, "links/empty-link.dat"), empty_file);
    // Same size as `solo`, different content, linked: two groups that must not merge.
    let solo_len = plan.blobs[solo].len;
    let near = plan.variant(rng, solo, solo_len - 1);
    let near_file = plan.file(join(prefix, "orig/solo-near.dat"), near);
    plan.hard_link(join(prefix, "links/solo-near-link.dat"), near_file);
    for i in 0..rng.range(2, 5) {
        let unique = plan.random(rng.next(), rng.range(1, 9000));
        plan.file(join(prefix, &format!("orig/unique-{i}.dat")), unique);
    }
}

fn symlinks(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    let unique = plan.random(rng.next(), rng.range(10, 5000));
    plan.file(join(prefix, "real/unique.txt"), unique);
    let duplicate = plan.random(rng.next(), rng.range(10, 5000));
    plan.file(join(prefix, "real/dup-1.txt"), duplicate);
    plan.file(join(prefix, "real/sub/dup-2.txt"), duplicate);
    let inner = plan.random(rng.next(), rng.range(10, 5000));
    plan.file(join(prefix, "real/sub/inner.txt"), inner);
    plan.symlink(join(prefix, "links/to-unique"), "../real/unique.txt");
    plan.symlink(join(prefix, "links/to-dup"), "../real/dup-1.txt");
    plan.symlink(join(prefix, "links/to-dir"), "../real");
    plan.symlink(join(prefix, "links/to-inner-dir"), "../real/sub");
    plan.symlink(join(prefix, "links/chain-1"), "chain-2");
    plan.symlink(join(prefix, "links/chain-2"), "to-unique");
    plan.symlink(join(prefix, "links/dangling"), "nowhere/missing.txt");
    plan.symlink(join(prefix, "loop/self"), ".");
    plan.symlink(join(prefix, "loop/up"), "..");
    plan.symlink(join(prefix, "loop/ping"), "pong");
    plan.symlink(join(prefix, "loop/pong"), "ping");
    plan.symlink(join(prefix, "real/sub/back-to-root"), "../..");
    some_duplicates(plan, rng, &join(prefix, "plain"), 2);
}

fn empty_files(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let empty = plan.blob(0, Base::Zeros, Vec::new());
    for i in 0..scale.files.max(3) {
        let dir = join(prefix, &format!("empties-{}", i % 4));
        plan.file(join(&dir, &format!("empty-{i}.txt")), empty);
    }
    plan.dir(&join(prefix, "empty-folder"));
    plan.dir(&join(prefix, "nested/empty/folders"));
    // The smallest content that is reported: one byte.
    let byte = plan.literal(b"x");
    plan.file(join(prefix, "one-byte-a.txt"), byte);
    plan.file(join(prefix, "one-byte-b.txt"), byte);
    let other_byte = plan.literal(b"y");
    plan.file(join(prefix, "one-byte-c.txt"), other_byte);
    some_duplicates(plan, rng, &join(prefix, "full"), 2);
}

/// Names that trip up shells, printf and hand-written JSON. All valid UTF-8.
const ODD_NAME_PAIRS: [(&str, &str); 12] = [
    ("with space.txt", "with\nnewline.txt"),
    ("double\"quote.txt", "single'quote.txt"),
    ("back\\slash.txt", "tab\there.txt"),
    ("caf\u{e9}.txt", "cafe\u{301}.txt"),
    ("\u{65e5}\u{672c}\u{8a9e}.txt", "emoji-\u{1f600}.txt"),
    ("-leading-dash", ".hidden"),
    ("[\"json\", \"like\"]", "{}"),
    ("control-\u{1}-\u{1f}", "del-\u{7f}"),
    ("trailing space ", " leading space"),
    ("README", "readme"),
    ("a b", "a"),
    ("\u{2028}line-separator", "percent-%s-%n"),
];

fn odd_names(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    for (i, (first, second)) in ODD_NAME_PAIRS.iter().enumerate() {
        let blob = plan.random(rng.next(), rng.range(1, 3000));
        plan.file(join(prefix, first), blob);
        let second_dir = if i % 3 == 0 { join(prefix, "dir with\nnewline and \"quotes\"") } else { prefix.to_string() };
        plan.file(join(&second_dir, second), blob);
    }
    // Sorting by code point: "a b" < "a/..." < "a\u{e9}" < "z" < "\u{e9}".
    let sorted = plan.random(rng.next(), rng.range(1, 3000));
    plan.file(join(prefix, "sorting/z"), sorted);
    plan.file(join(prefix, "sorting/\u{e9}"), sorted);
    plan.file(join(prefix, "sorting/Z"), sorted);
    plan.file(join(prefix, "sorting/a/b"), sorted);
    plan.file(join(prefix, "sorting/a b"), sorted);
    let long = plan.random(rng.next(), rng.range(1, 3000));
    plan.file(join(prefix, &"long".repeat(60)), long);
    plan.file(join(prefix, &"\u{e9}".repeat(127)), long);
    for name in ["lonely \"one\".txt", "lonely\nnewline", "lonely\\"] {
        let unique = plan.random(rng.next(), rng.range(1, 3000));
        plan.file(join(prefix, name), unique);
    }
}

fn sparse_files(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let len = scale.bytes.max(64 * 1024) / 4096 * 4096 + rng.below(4096);
    let extent = |rng: &mut Rng, at: u64| {
        let mut bytes = vec![0u8; 4096];
        fill_random(rng.next(), 0, &mut bytes);
        Patch { offset: at, bytes }
    };
    let middle = len / 2 / 4096 * 4096;
    let data_in_middle = vec![extent(rng, middle)];
    let sparse = plan.blob(len, Base::Zeros, data_in_middle);
    plan.file_with(join(prefix, "holes/middle-data.sparse"), sparse, true, FILE_MODE);
    plan.file_with(join(prefix, "dense/middle-data.dense"), sparse, false, FILE_MODE);
    // Same size, data elsewhere: different content.
    let elsewhere = vec![extent(rng, middle + 8192)];
    let moved = plan.blob(len, Base::Zeros, elsewhere);
    plan.file_with(join(prefix, "holes/elsewhere.sparse"), moved, true, FILE_MODE);
    // All hole, and the same zeros written out.
    let zeros = plan.blob(len, Base::Zeros, Vec::new());
    plan.file_with(join(prefix, "holes/all-hole.sparse"), zeros, true, FILE_MODE);
    plan.file_with(join(prefix, "dense/all-zeros.dense"), zeros, false, FILE_MODE);
    // A hole then one byte at the very end, twice, and once with another last byte.
    let tail_len = len + 4096;
    let tail = plan.blob(tail_len, Base::Zeros, vec![Patch { offset: tail_len - 1, bytes: vec![1] }]);
    plan.file_with(join(prefix, "holes/tail-a.sparse"), tail, true, FILE_MODE);
    plan.file_with(join(prefix, "holes/tail-b.sparse"), tail, true, FILE_MODE);
    let other_tail = plan.blob(tail_len, Base::Zeros, vec![Patch { offset: tail_len - 1, bytes: vec![2] }]);
    plan.file_with(join(prefix, "holes/tail-c.sparse"), other_tail, true, FILE_MODE);
    some_duplicates(plan, rng, &join(prefix, "plain"), 1);
}

/// Each pair is planted in two files of equal size whose other bytes are equal. A copy of the first
/// file makes a real group beside the impostor.
fn weak_hash(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    // FNV-1a: the blocks must start the file (its state after a prefix differs from the basis).
    for (i, pair) in [FNV1A_32_COLLISION, FNV1A_64_COLLISION].iter().enumerate() {
        let len = rng.range(8 * 1024, 64 * 1024);
        let body = plan.random(rng.next(), len);
        let first = plan.overwrite(body, 0, &pair[0]);
        let second = plan.overwrite(body, 0, &pair[1]);
        plan.file(join(prefix, &format!("archive-{i}/part-a.bin")), first);
        plan.file(join(prefix, &format!("archive-{i}/part-b.bin")), second);
        if i == 1 {
            plan.file(join(prefix, &format!("mirror/archive-{i}-part-a.bin")), first);
        }
    }
    // CRC32 is affine: the pair collides after any common prefix, so plant it past the first 4 KiB.
    let len = rng.range(16 * 1024, 64 * 1024);
    let at = rng.range(4097, 8000);
    let body = plan.random(rng.next(), len);
    let first = plan.overwrite(body, at, &CRC32_COLLISION[0]);
    let second = plan.overwrite(body, at, &CRC32_COLLISION[1]);
    plan.file(join(prefix, "archive-2/part-a.bin"), first);
    plan.file(join(prefix, "archive-2/part-b.bin"), second);
    plan.file(join(prefix, "mirror/archive-2-part-a.bin"), first);
    some_duplicates(plan, rng, &join(prefix, "other"), 2);
}

fn unreadable(plan: &mut Plan, rng: &mut Rng, prefix: &str) {
    // A locked copy beside two readable ones: the group has the readable two.
    let shared = plan.random(rng.next(), rng.range(100, 9000));
    plan.file(join(prefix, "open/a.txt"), shared);
    plan.file(join(prefix, "open/b.txt"), shared);
    plan.file_with(join(prefix, "open/c-locked.txt"), shared, false, 0);
    // A locked file of the same size as a readable one: it must be opened, and fails.
    let alone = plan.random(rng.next(), rng.range(100, 9000));
    plan.file(join(prefix, "open/x.txt"), alone);
    let len = plan.blobs[alone].len;
    let other = plan.random(rng.next(), len);
    plan.file_with(join(prefix, "open/y-locked.txt"), other, false, 0);
    // A locked folder holding copies of a readable file: they must not be reported.
    let hidden = plan.random(rng.next(), rng.range(100, 9000));
    plan.file(join(prefix, "open/p.txt"), hidden);
    plan.locked_dir(&join(prefix, "locked"));
    plan.file(join(prefix, "locked/p-copy-1.txt"), hidden);
    plan.file(join(prefix, "locked/inner/p-copy-2.txt"), hidden);
    // A file inside the locked folder is still readable through a hard link outside it.
    let linked = plan.random(rng.next(), rng.range(100, 9000));
    let inside = plan.file(join(prefix, "locked/r.txt"), linked);
    plan.hard_link(join(prefix, "open/r-link.txt"), inside);
    plan.file(join(prefix, "open/r-copy.txt"), linked);
    some_duplicates(plan, rng, &join(prefix, "more"), 2);
}

fn unique_sizes(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let count = scale.files.max(2);
    let mean = (scale.bytes / count).max(64 * 1024);
    let mut used = HashSet::new();
    for i in 0..count {
        let mut len = rng.range(mean / 2, mean + mean / 2);
        while !used.insert(len) {
            len += 1;
        }
        // Mostly holes (so the tree is cheap to make), with real data at the start and here and there.
        let patches = (0..4)
            .map(|k| {
                let mut bytes = vec![0u8; 4096];
                fill_random(rng.next(), 0, &mut bytes);
                let at = if k == 0 { 0 } else { rng.below(len - 4096) / 4096 * 4096 };
                Patch { offset: at, bytes }
            })
            .collect();
        let blob = plan.blob(len, Base::Zeros, patches);
        plan.file_with(join(prefix, &format!("videos/{}", file_name(rng, i))), blob, true, FILE_MODE);
    }
    some_duplicates(plan, rng, &join(prefix, "docs"), 3);
}

fn mixed(plan: &mut Plan, rng: &mut Rng, prefix: &str, scale: Scale) {
    let small = Scale { files: 10, bytes: (scale.bytes / 32).clamp(64 * 1024, 16 * MIB), depth: scale.depth };
    for edge in Edge::ALL {
        let edge_scale = match edge {
            Edge::Mixed => continue,
            Edge::ManySmallFiles => Scale { files: (scale.files / 10).clamp(10, 2000), ..small },
            Edge::UniqueSizes => Scale { files: 8, bytes: 8 * small.bytes, ..small },
            _ => small,
        };
        build_edge(plan, rng, edge, &join(prefix, edge.name()), edge_scale);
    }
    let already = plan.files.len() as u64;
    bulk(plan, rng, &join(prefix, "bulk"), scale.files.saturating_sub(already), scale.bytes);
}

/// An ordinary-looking tree of `files` files and about `bytes` bytes: half in a few big files (some
/// copied, some copied with one byte changed), half in small ones of which a fifth are copies and a
/// few are one-byte variants, hard links or symlinks.
fn bulk(plan: &mut Plan, rng: &mut Rng, prefix: &str, files: u64, bytes: u64) {
    if files == 0 {
        return;
    }
    let mut big_budget = if files >= 20 { bytes / 2 } else { 0 };
    let big_mean = (bytes / 64).clamp(64 * 1024, 32 * MIB);
    let mut big_files = 0;
    while big_budget >= big_mean && big_files < files / 10 {
        let len = rng.range(big_mean / 2, big_mean + big_mean / 2);
        let blob = plan.random(rng.next(), len);
        let name = format!("media/{}", file_name(rng, big_files));
        plan.file(join(prefix, &name), blob);
        big_files += 1;
        big_budget = big_budget.saturating_sub(len);
        if rng.chance(25) {
            plan.file(join(prefix, &format!("media-backup/{}", file_name(rng, big_files))), blob);
            big_files += 1;
            big_budget = big_budget.saturating_sub(len);
        } else if rng.chance(15) {
            let variant = plan.variant(rng, blob, len - 1);
            plan.file(join(prefix, &format!("media-backup/{}", file_name(rng, big_files))), variant);
            big_files += 1;
            big_budget = big_budget.saturating_sub(len);
        }
    }
    let small_files = files - big_files;
    let big_bytes = if files >= 20 { bytes / 2 - big_budget } else { 0 };
    // Copies (a fifth) and variants repeat the sizes drawn, so the drawn sizes cover three quarters.
    let small_max = small_max_for_mean((bytes - big_bytes) / small_files.max(1) * 3 / 4);
    let mut dirs: Vec<String> = vec![prefix.to_string()];
    let mut made: Vec<(BlobId, usize)> = Vec::new();
    for i in 0..small_files {
        if i % 200 == 0 {
            let parent = rng.pick(&dirs).clone();
            let dir = if parent.matches('/').count() > 6 { prefix.to_string() } else { parent };
            let new = join(&dir, &format!("{}-{i}", rng.pick(&WORDS)));
            plan.dir(&new);
            dirs.push(new);
        }
        let dir = dirs[dirs.len() - 1 - rng.below(dirs.len().min(4) as u64) as usize].clone();
        let path = join(&dir, &file_name(rng, i));
        let roll = rng.below(100);
        if !made.is_empty() && roll < 20 {
            let (blob, _) = *rng.pick(&made);
            plan.file(path, blob);
        } else if !made.is_empty() && roll < 24 {
            let (of, _) = *rng.pick(&made);
            let len = plan.blobs[of].len;
            let offset = rng.below(len);
            let blob = if len == 0 { of } else { plan.variant(rng, of, offset) };
            plan.file(path, blob);
        } else if !made.is_empty() && roll < 25 {
            let (_, file) = *rng.pick(&made);
            plan.hard_link(path, file);
        } else if roll < 26 {
            plan.symlink(path, "../");
        } else {
            let len = if rng.chance(2) { 0 } else { rng.log_uniform(1, small_max) };
            let blob = plan.random(rng.next(), len);
            let file = plan.file(path, blob);
            made.push((blob, file));
        }
    }
}

/// The upper bound of a log-uniform size distribution (from 1) whose mean is about `mean`.
fn small_max_for_mean(mean: u64) -> u64 {
    let target = mean.max(2) as f64;
    let mut max = 2.0f64;
    while (max - 1.0) / max.ln() < target && max < 1e12 {
        max *= 1.1;
    }
    max as u64
}

// ---------------------------------------------------------------------------------------------
// Writing

fn io_error(path: &Path, error: &io::Error) -> GenerateError {
    GenerateError::Failed { generator: NAME.into(), message: format!("{}: {error}", path.display()) }
}

const CHUNK: usize = 1 << 20;

fn write_plan(plan: &Plan, root: &Path) -> Result<(), GenerateError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true).mode(0o755);
    builder.create(root).map_err(|e| io_error(root, &e))?;
    builder.recursive(false);
    for dir in &plan.dirs {
        let path = root.join(dir);
        match builder.create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(&path, &e)),
        }
    }
    write_files(plan, root)?;
    for (path, file) in &plan.hard_links {
        let (original, link) = (root.join(&plan.files[*file].path), root.join(path));
        fs::hard_link(&original, &link).map_err(|e| io_error(&link, &e))?;
    }
    for (path, target) in &plan.symlinks {
        let link = root.join(path);
        symlink(target, &link).map_err(|e| io_error(&link, &e))?;
    }
    // Modes last, folders deepest first, so that everything could still be written.
    for file in plan.files.iter().filter(|f| f.mode != FILE_MODE) {
        let path = root.join(&file.path);
        fs::set_permissions(&path, fs::Permissions::from_mode(file.mode)).map_err(|e| io_error(&path, &e))?;
    }
    let mut locked = plan.dir_modes.clone();
    locked.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    for (dir, mode) in locked {
        let path = root.join(&dir);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(|e| io_error(&path, &e))?;
    }
    Ok(())
}

fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

/// Writes every file with a few threads: creating 100k small files is mostly system calls.
fn write_files(plan: &Plan, root: &Path) -> Result<(), GenerateError> {
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<GenerateError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers() {
            scope.spawn(|| {
                let mut buf = Vec::new();
                loop {
                    let start = next.fetch_add(32, Ordering::Relaxed);
                    if start >= plan.files.len() || failure.lock().map_or(true, |f| f.is_some()) {
                        return;
                    }
                    for file in &plan.files[start..(start + 32).min(plan.files.len())] {
                        let path = root.join(&file.path);
                        if let Err(e) = write_file(&path, &plan.blobs[file.blob], file.sparse, &mut buf) {
                            if let Ok(mut slot) = failure.lock() {
                                slot.get_or_insert(io_error(&path, &e));
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    match failure.into_inner() {
        Ok(None) => Ok(()),
        Ok(Some(error)) => Err(error),
        Err(_) => Err(GenerateError::Failed { generator: NAME.into(), message: "a writer thread panicked".into() }),
    }
}

fn write_file(path: &Path, blob: &Blob, sparse: bool, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)?;
    if sparse && blob.base == Base::Zeros {
        for patch in &blob.patches {
            file.seek(SeekFrom::Start(patch.offset))?;
            file.write_all(&patch.bytes)?;
        }
        return file.set_len(blob.len);
    }
    let mut offset = 0;
    while offset < blob.len {
        let n = (blob.len - offset).min(CHUNK as u64) as usize;
        buf.resize(n, 0);
        blob.render(offset, &mut buf[..n]);
        file.write_all(&buf[..n])?;
        offset += n as u64;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The answer

/// Whether the program (the owner of every file, or root's stand-in `nobody`) can read a path.
fn readable(plan: &Plan, path: &str, mode: u32) -> bool {
    mode & 0o400 != 0
        && !plan.dir_modes.iter().any(|(dir, mode)| {
            mode & 0o500 != 0o500
                && path.len() > dir.len()
                && path.starts_with(dir.as_str())
                && path[dir.len()..].starts_with('/')
        })
}

/// The canonical answer: groups of equal non-empty readable files, paths sorted, groups sorted by
/// their first path, one JSON array per line.
fn answer(plan: &Plan) -> String {
    let mut paths: Vec<(&str, BlobId)> = Vec::new();
    for file in &plan.files {
        if readable(plan, &file.path, file.mode) {
            paths.push((&file.path, file.blob));
        }
    }
    for (path, index) in &plan.hard_links {
        let file = &plan.files[*index];
        if readable(plan, path, file.mode) {
            paths.push((path, file.blob));
        }
    }
    paths.retain(|(_, blob)| plan.blobs[*blob].len > 0);

    // Recipes of one length may still make equal bytes: those are compared by their digest.
    let mut by_len: HashMap<u64, BTreeSet<BlobId>> = HashMap::new();
    for (_, blob) in &paths {
        by_len.entry(plan.blobs[*blob].len).or_default().insert(*blob);
    }
    let to_digest: Vec<BlobId> = by_len.values().filter(|blobs| blobs.len() > 1).flatten().copied().collect();
    let digests = digest_all(plan, &to_digest);

    #[derive(PartialEq, Eq, Hash)]
    enum Key {
        Recipe(BlobId),
        Bytes(u64, [u8; 32]),
    }
    let mut groups: HashMap<Key, Vec<&str>> = HashMap::new();
    for (path, blob) in paths {
        let key = match digests.get(&blob) {
            Some(digest) => Key::Bytes(plan.blobs[blob].len, *digest),
            None => Key::Recipe(blob),
        };
        groups.entry(key).or_default().push(path);
    }
    let mut groups: Vec<Vec<&str>> = groups.into_values().filter(|g| g.len() > 1).collect();
    for group in &mut groups {
        group.sort_unstable();
    }
    groups.sort_unstable();
    let mut out = String::new();
    for group in groups {
        out.push_str(&serde_json::to_string(&group).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn digest_all(plan: &Plan, blobs: &[BlobId]) -> HashMap<BlobId, [u8; 32]> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(HashMap::new());
    std::thread::scope(|scope| {
        for _ in 0..workers() {
            scope.spawn(|| {
                let mut buf = vec![0u8; CHUNK];
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&blob) = blobs.get(index) else { return };
                    let digest = digest(&plan.blobs[blob], &mut buf);
                    if let Ok(mut results) = results.lock() {
                        results.insert(blob, digest);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

fn digest(blob: &Blob, buf: &mut [u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut offset = 0;
    while offset < blob.len {
        let n = (blob.len - offset).min(buf.len() as u64) as usize;
        blob.render(offset, &mut buf[..n]);
        hasher.update(&buf[..n]);
        offset += n as u64;
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use std::path::PathBuf;

    fn params(edge: &str, extra: &[(&str, i64)]) -> Params {
        let mut params = Params::new();
        params.insert("edge".into(), toml::Value::String(edge.into()));
        for (key, value) in extra {
            params.insert((*key).into(), toml::Value::Integer(*value));
        }
        params
    }

    /// A generated case in a temporary folder; locked folders are opened again before it is removed.
    struct Case {
        out: tempfile::TempDir,
    }

    impl Case {
        fn new(seed: u64, edge: &str, extra: &[(&str, i64)]) -> Case {
            let out = tempfile::tempdir().expect("temporary folder");
            generate(seed, &params(edge, extra), out.path()).expect("generates");
            Case { out }
        }

        fn root(&self) -> PathBuf {
            self.out.path().join("files").join(TREE)
        }

        fn answer(&self) -> String {
            fs::read_to_string(self.out.path().join("answer")).expect("answer")
        }

        fn groups(&self) -> Vec<Vec<String>> {
            self.answer().lines().map(|line| serde_json::from_str(line).expect("a JSON array of strings")).collect()
        }

        fn has_group(&self, paths: &[&str]) -> bool {
            self.groups().iter().any(|g| g.iter().map(String::as_str).eq(paths.iter().copied()))
        }

        fn reported(&self, path: &str) -> bool {
            self.groups().iter().flatten().any(|p| p == path)
        }
    }

    impl Drop for Case {
        fn drop(&mut self) {
            open_up(self.out.path());
        }
    }

    fn open_up(dir: &Path) {
        let Ok(meta) = fs::symlink_metadata(dir) else { return };
        if meta.is_dir() {
            let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
            if let Ok(entries) = fs::read_dir(dir) {
                for entry in entries.flatten() {
                    open_up(&entry.path());
                }
            }
        }
    }

    /// Every regular file under `root` (symlinks not followed), relative, with its content.
    fn regular_files(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut found = Vec::new();
        let mut stack = vec![PathBuf::new()];
        while let Some(relative) = stack.pop() {
            for entry in fs::read_dir(root.join(&relative)).expect("readable as root or owner").flatten() {
                let path = relative.join(entry.file_name());
                let kind = entry.file_type().expect("file type");
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let bytes = fs::read(root.join(&path)).expect("file");
                    found.push((path.to_str().expect("UTF-8").to_string(), bytes));
                }
            }
        }
        found
    }

    /// The answer worked out the slow way, from the bytes on disk, skipping mode-000 files and folders.
    fn answer_from_disk(root: &Path) -> String {
        let mut by_content: HashMap<Vec<u8>, Vec<String>> = HashMap::new();
        for (path, bytes) in regular_files(root) {
            let locked = Path::new(&path)
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| fs::symlink_metadata(root.join(a)).map_or(true, |m| m.mode() & 0o400 == 0));
            if !bytes.is_empty() && !locked {
                by_content.entry(bytes).or_default().push(path);
            }
        }
        let mut groups: Vec<Vec<String>> = by_content.into_values().filter(|g| g.len() > 1).collect();
        groups.iter_mut().for_each(|g| g.sort());
        groups.sort();
        groups.iter().map(|g| serde_json::to_string(g).expect("JSON") + "\n").collect()
    }

    fn fnv1a32(bytes: &[u8]) -> u32 {
        bytes.iter().fold(0x811c_9dc5, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
    }

    fn fnv1a64(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn embedded_blocks_are_distinct_and_collide() {
        let [a, b] = FNV1A_32_COLLISION;
        assert!(a != b && fnv1a32(&a) == fnv1a32(&b));
        let [a, b] = FNV1A_64_COLLISION;
        assert!(a != b && fnv1a64(&a) == fnv1a64(&b));
        let [a, b] = CRC32_COLLISION;
        assert!(a != b && crc32(&a) == crc32(&b));
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the standard CRC32 check value");
    }

    #[test]
    fn collisions_survive_a_common_suffix_and_crc_a_common_prefix() {
        let suffix = b"the same tail in both files";
        let with = |block: &[u8; 16]| [&block[..], suffix].concat();
        let [a, b] = FNV1A_64_COLLISION;
        assert_eq!(fnv1a64(&with(&a)), fnv1a64(&with(&b)));
        let [a, b] = FNV1A_32_COLLISION;
        assert_eq!(fnv1a32(&with(&a)), fnv1a32(&with(&b)));
        let [a, b] = CRC32_COLLISION;
        let framed = |block: &[u8; 16]| [&b"a prefix"[..], block, suffix].concat();
        assert_eq!(crc32(&framed(&a)), crc32(&framed(&b)));
    }

    #[test]
    fn every_edge_answer_matches_the_bytes_on_disk() {
        for edge in Edge::ALL {
            let extra: &[(&str, i64)] = match edge {
                Edge::LargeFiles | Edge::SparseFiles => &[("size_mb", 1)],
                Edge::UniqueSizes => &[("size_mb", 16), ("files", 6)],
                Edge::ManySmallFiles => &[("files", 300)],
                Edge::DeepNesting => &[("depth", 40)],
                Edge::Mixed => &[("files", 400), ("size_mb", 2), ("depth", 30)],
                _ => &[],
            };
            let case = Case::new(7, edge.name(), extra);
            let answer = case.answer();
            assert!(!answer.is_empty(), "{}: some duplicates", edge.name());
            assert_eq!(answer, answer_from_disk(&case.root()), "{}", edge.name());
        }
    }

    #[test]
    fn answer_lines_are_sorted_json_arrays_of_two_or_more() {
        let case = Case::new(3, "mixed", &[("files", 300), ("size_mb", 1), ("depth", 20)]);
        let groups = case.groups();
        for group in &groups {
            assert!(group.len() >= 2);
            assert!(group.windows(2).all(|w| w[0] < w[1]), "paths sorted: {group:?}");
        }
        assert!(groups.windows(2).all(|w| w[0][0] < w[1][0]), "groups sorted by first path");
    }

    #[test]
    fn same_seed_same_tree_other_seed_other_tree() {
        let extra = [("files", 200), ("size_mb", 1), ("depth", 10)];
        let (a, b, c) =
            (Case::new(11, "mixed", &extra), Case::new(11, "mixed", &extra), Case::new(12, "mixed", &extra));
        let mut files_a = regular_files(&a.root());
        let mut files_b = regular_files(&b.root());
        let mut files_c = regular_files(&c.root());
        files_a.sort();
        files_b.sort();
        files_c.sort();
        assert_eq!(a.answer(), b.answer());
        assert!(files_a == files_b);
        assert_ne!(a.answer(), c.answer());
        assert!(files_a != files_c);
    }

    #[test]
    fn hard_links_share_an_inode_and_are_each_reported() {
        let case = Case::new(1, "hard-links", &[]);
        let root = case.root();
        let inode = |p: &str| fs::metadata(root.join(p)).expect("exists").ino();
        assert_eq!(inode("orig/shared.dat"), inode("links/shared-link.dat"));
        assert_eq!(inode("orig/shared.dat"), inode("other/deeper/shared-link-2.dat"));
        assert_ne!(inode("orig/shared.dat"), inode("copies/shared-copy.dat"));
        assert!(case.has_group(&[
            "copies/shared-copy.dat",
            "links/shared-link.dat",
            "orig/shared.dat",
            "other/deeper/shared-link-2.dat"
        ]));
        assert!(case.has_group(&["links/solo-link.dat", "orig/solo.dat"]));
        assert!(!case.reported("orig/empty.dat"));
    }

    #[test]
    fn symlinks_include_loops_and_links_to_duplicates_and_are_never_reported() {
        let case = Case::new(1, "symlinks", &[]);
        let root = case.root();
        let link = |p: &str| fs::symlink_metadata(root.join(p)).expect("exists").file_type().is_symlink();
        for path in ["links/to-dup", "links/to-dir", "loop/self", "loop/ping", "links/dangling"] {
            assert!(link(path), "{path} is a symlink");
        }
        assert!(fs::metadata(root.join("loop/ping")).is_err(), "ping -> pong -> ping loops");
        assert!(fs::metadata(root.join("links/to-dir")).expect("resolves").is_dir());
        assert!(case.has_group(&["real/dup-1.txt", "real/sub/dup-2.txt"]));
        assert!(!case.groups().iter().flatten().any(|p| p.starts_with("links/") || p.starts_with("loop/")));
    }

    #[test]
    fn odd_names_include_newlines_quotes_backslashes_and_unicode() {
        let case = Case::new(1, "odd-names", &[]);
        let names: Vec<String> = case.groups().into_iter().flatten().collect();
        for needle in ["\n", "\"", "\\", "\t", "\u{1}", " ", "\u{e9}", "\u{1f600}"] {
            assert!(names.iter().any(|n| n.contains(needle)), "a reported name contains {needle:?}");
        }
        assert!(case.has_group(&["sorting/Z", "sorting/a b", "sorting/a/b", "sorting/z", "sorting/\u{e9}"]));
        assert!(case.root().join("dir with\nnewline and \"quotes\"/with\nnewline.txt").is_file());
    }

    #[test]
    fn empty_files_are_present_and_never_reported() {
        let case = Case::new(1, "empty-files", &[]);
        assert_eq!(fs::metadata(case.root().join("empties-0/empty-0.txt")).expect("exists").len(), 0);
        assert!(!case.groups().iter().flatten().any(|p| p.contains("empty")));
        assert!(case.has_group(&["one-byte-a.txt", "one-byte-b.txt"]));
    }

    #[test]
    fn sparse_files_have_holes_and_equal_their_dense_twins() {
        let case = Case::new(1, "sparse-files", &[("size_mb", 8)]);
        let meta = fs::metadata(case.root().join("holes/all-hole.sparse")).expect("exists");
        assert!(meta.blocks() * 512 < meta.len() / 2, "mostly holes on disk");
        assert!(case.has_group(&["dense/all-zeros.dense", "holes/all-hole.sparse"]));
        assert!(case.has_group(&["dense/middle-data.dense", "holes/middle-data.sparse"]));
        assert!(case.has_group(&["holes/tail-a.sparse", "holes/tail-b.sparse"]));
        assert!(!case.reported("holes/elsewhere.sparse"));
    }

    #[test]
    fn weak_hash_pairs_are_planted_in_equal_size_files() {
        let case = Case::new(5, "weak-hash-collision", &[]);
        let read = |p: &str| fs::read(case.root().join(p)).expect("exists");
        let pairs = ["archive-0", "archive-1", "archive-2"]
            .map(|d| (read(&format!("{d}/part-a.bin")), read(&format!("{d}/part-b.bin"))));
        for (a, b) in &pairs {
            assert_eq!(a.len(), b.len());
            assert_ne!(a, b);
        }
        assert_eq!(fnv1a32(&pairs[0].0), fnv1a32(&pairs[0].1));
        assert_eq!(fnv1a64(&pairs[1].0), fnv1a64(&pairs[1].1));
        assert_eq!(crc32(&pairs[2].0), crc32(&pairs[2].1));
        assert_eq!(pairs[2].0[..4096], pairs[2].1[..4096], "the CRC pair differs only past the first block");
        assert!(!case.reported("archive-0/part-a.bin"));
        assert!(case.has_group(&["archive-1/part-a.bin", "mirror/archive-1-part-a.bin"]));
        assert!(case.has_group(&["archive-2/part-a.bin", "mirror/archive-2-part-a.bin"]));
    }

    #[test]
    fn unreadable_files_and_folder_are_mode_000_and_left_out() {
        let case = Case::new(1, "unreadable", &[]);
        let mode = |p: &str| fs::symlink_metadata(case.root().join(p)).expect("exists").mode() & 0o777;
        assert_eq!(mode("open/c-locked.txt"), 0);
        assert_eq!(mode("open/y-locked.txt"), 0);
        assert_eq!(mode("locked"), 0);
        assert!(case.has_group(&["open/a.txt", "open/b.txt"]));
        assert!(case.has_group(&["open/r-copy.txt", "open/r-link.txt"]));
        assert!(!case.reported("open/p.txt"));
    }

    #[test]
    fn deep_nesting_reaches_the_asked_depth() {
        let case = Case::new(1, "deep-nesting", &[("depth", 1200)]);
        let bottom = format!("deep/{}bottom.txt", "d/".repeat(1200));
        assert!(case.root().join(&bottom).is_file());
        assert!(case.has_group(&[&bottom, "deep/top.txt"]));
    }

    #[test]
    fn last_byte_variants_are_equal_size_and_differ_at_the_end() {
        let case = Case::new(2, "last-byte-differs", &[]);
        let a = fs::read(case.root().join("size-4097/original")).expect("exists");
        let b = fs::read(case.root().join("elsewhere/last-5")).expect("exists");
        assert_eq!(a.len(), 4097);
        assert_eq!(a[..4096], b[..4096]);
        assert_ne!(a[4096], b[4096]);
    }

    #[test]
    fn unique_sizes_have_no_two_large_files_of_one_size() {
        let case = Case::new(4, "unique-sizes", &[("files", 20), ("size_mb", 64)]);
        let mut sizes: Vec<u64> = fs::read_dir(case.root().join("videos"))
            .expect("exists")
            .map(|e| e.expect("entry").metadata().expect("meta").len())
            .collect();
        let count = sizes.len();
        sizes.sort_unstable();
        sizes.dedup();
        assert_eq!((count, sizes.len()), (20, 20));
        assert!(!case.groups().iter().flatten().any(|p| p.starts_with("videos/")));
    }

    #[test]
    fn many_small_files_makes_the_asked_number() {
        let case = Case::new(9, "many-small-files", &[("files", 1500)]);
        assert_eq!(regular_files(&case.root()).len(), 1500);
    }

    #[test]
    fn large_files_differ_only_in_the_last_byte() {
        let case = Case::new(9, "large-files", &[("size_mb", 3)]);
        let a = fs::read(case.root().join("big/original.bin")).expect("exists");
        let b = fs::read(case.root().join("big/ends-differently.bin")).expect("exists");
        assert!(a.len() as u64 >= 3 * MIB);
        assert_eq!(a[..a.len() - 1], b[..b.len() - 1]);
        assert!(case.has_group(&["backup/original-copy.bin", "big/original.bin"]));
    }

    #[test]
    fn bad_params_are_named() {
        let out = tempfile::tempdir().expect("temporary folder");
        let error = |p: Params| generate(1, &p, out.path()).expect_err("rejected").to_string();
        assert!(error(params("no-such-edge", &[])).contains("unknown edge `no-such-edge`"));
        assert!(error(params("mixed", &[("fils", 3)])).contains("unknown param `fils`"));
        assert!(error(params("mixed", &[("files", -3)])).contains("`files`"));
        assert!(error(params("deep-nesting", &[("depth", 5000)])).contains("`depth`"));
    }

    #[test]
    fn every_edge_has_a_description() {
        for edge in Edge::ALL {
            assert_eq!(Edge::parse(edge.name()), Some(edge));
            assert!(!describe(edge.name()).unwrap_or_default().is_empty());
        }
        assert_eq!(describe("nope"), None);
    }
}
