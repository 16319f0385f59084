//! Finds pairs of distinct, equal-length byte strings whose weak hashes collide, for the dedup
//! challenge's `weak-hash-collision` case. Run once, offline; paste the printed blocks into
//! src/run/generate/dedup.rs, whose unit tests recompute the hashes.
//!
//! `cargo run --release -- fnv32|crc32|fnv64 [threads]`
//!
//! Every hash is of a 16-byte message derived injectively from a number `x` (`message(x)`), so a
//! collision of `x -> hash(message(x))` between `x != y` is a collision of two distinct messages.
//! FNV-1a 32 and CRC32 fall to a plain birthday search (about 2^16 tries). FNV-1a 64 needs about
//! 2^32 evaluations: parallel Pollard rho with distinguished points (van Oorschot and Wiener), so
//! memory stays small.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// 16 bytes from x: x itself, then x scrambled, so the map is injective and the hash sees all bits twice.
fn message(x: u64) -> [u8; 16] {
    let mut m = [0u8; 16];
    m[..8].copy_from_slice(&x.to_le_bytes());
    m[8..].copy_from_slice(&(x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03).to_le_bytes());
    m
}

fn fnv1a32(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("0x{b:02x}, ")).collect::<String>().trim_end_matches(", ").to_string()
}

fn print_pair(name: &str, a: u64, b: u64, hash: impl Fn(&[u8]) -> u64) {
    let (ma, mb) = (message(a), message(b));
    assert_ne!(ma, mb);
    assert_eq!(hash(&ma), hash(&mb));
    println!("// {name}: both hash to {:#x}", hash(&ma));
    println!("[{}],", hex(&ma));
    println!("[{}],", hex(&mb));
}

/// Birthday search for a 32-bit hash: a table of hash -> x until one repeats.
fn birthday32(name: &str, hash: fn(&[u8]) -> u32) {
    let mut seen: HashMap<u32, u64> = HashMap::new();
    for x in 1u64.. {
        let h = hash(&message(x));
        if let Some(&y) = seen.get(&h) {
            print_pair(name, y, x, |m| u64::from(hash(m)));
            return;
        }
        seen.insert(h, x);
    }
}

fn step(x: u64) -> u64 {
    fnv1a64(&message(x))
}

/// A point is distinguished when its low bits are zero: one in 2^DP_BITS, so trails are about that long.
const DP_BITS: u32 = 22;
const MAX_TRAIL: u64 = 40 << DP_BITS;

/// Two trails (start, length) that end in the same distinguished point meet somewhere: walk the
/// longer one ahead by the difference, then both in step; the last pair before they agree collides.
fn locate(mut a: (u64, u64), mut b: (u64, u64)) -> Option<(u64, u64)> {
    if a.1 < b.1 {
        std::mem::swap(&mut a, &mut b);
    }
    let (mut x, mut y) = (a.0, b.0);
    for _ in 0..a.1 - b.1 {
        x = step(x);
    }
    if x == y {
        return None; // one trail starts on the other (a "Robin Hood"): no collision here
    }
    loop {
        let (nx, ny) = (step(x), step(y));
        if nx == ny {
            return Some((x, y));
        }
        x = nx;
        y = ny;
    }
}

fn rho64(threads: usize) {
    let table: Mutex<HashMap<u64, (u64, u64)>> = Mutex::new(HashMap::new());
    let done = AtomicBool::new(false);
    let evaluations = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (table, done, evaluations) = (&table, &done, &evaluations);
            scope.spawn(move || {
                let mut seed = 0x1234_5678_9abc_def0u64 ^ ((t as u64 + 1) << 48) ^ started.elapsed().as_nanos() as u64;
                while !done.load(Ordering::Relaxed) {
                    seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let start = seed;
                    let mut x = start;
                    let mut length = 0u64;
                    while x & ((1 << DP_BITS) - 1) != 0 && length < MAX_TRAIL {
                        x = step(x);
                        length += 1;
                    }
                    let total = evaluations.fetch_add(length, Ordering::Relaxed) + length;
                    if length >= MAX_TRAIL {
                        continue; // caught in a cycle without distinguished points
                    }
                    let previous = {
                        let mut table = table.lock().expect("no thread panics while holding the table");
                        let previous = table.get(&x).copied();
                        if previous.is_none() {
                            table.insert(x, (start, length));
                        }
                        if table.len() % 256 == 0 {
                            eprintln!(
                                "{} points, 2^{:.2} evaluations, {:.0} s",
                                table.len(),
                                (total as f64).log2(),
                                started.elapsed().as_secs_f64()
                            );
                        }
                        previous
                    };
                    if let Some(other) = previous {
                        if let Some((a, b)) = locate(other, (start, length)) {
                            if !done.swap(true, Ordering::Relaxed) {
                                print_pair("FNV-1a 64", a, b, fnv1a64);
                                eprintln!("found after {:.0} s", started.elapsed().as_secs_f64());
                            }
                        }
                    }
                }
            });
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(2);
    match args.get(1).map(String::as_str) {
        Some("fnv32") => birthday32("FNV-1a 32", fnv1a32),
        Some("crc32") => birthday32("CRC32", crc32),
        Some("fnv64") => rho64(threads),
        _ => {
            eprintln!("usage: dedup-collisions fnv32|crc32|fnv64 [threads]");
            std::process::exit(2);
        }
    }
}
