//! The compact binary form of events, shared by the write-ahead log and the gossip between nodes, and the
//! pieces it is made of: a stable 64-bit hash for event ids and users, varints, and base64 (gossip carries
//! the binary form inside one JSON string, which the grader scans in one pass instead of parsing thousands of
//! small objects).
//!
//! One event is its id hash (8 bytes), its `ts` as a zigzag varint of the difference from the previous
//! event's (events of a batch are close in time: usually 1 to 3 bytes), its series (app and name) as a
//! varint index into a table the container defines, and its user hash (4 bytes): about 15 bytes in all.

use std::fmt;

/// An event as the node keeps it: strings replaced by hashes and by the index of its (app, name) series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    pub id: u64,
    pub ts: i64,
    pub series: u32,
    /// The top 32 bits of the user's hash: see `user_hash`.
    pub user: u32,
}

/// Bytes that do not decode: a torn or foreign record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError(pub &'static str);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

const K0: u64 = 0xa076_1d64_78bd_642f;
const K1: u64 = 0xe703_7ed1_a0b4_28db;
const K2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// Folded 128-bit product: every output bit depends on every input bit of both factors.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// A stable 64-bit hash (wyhash-style multiply-fold over 8-byte words). Every node and every run must
/// agree on it, since hashes travel in gossip and in the log, so it is not the randomly keyed std hasher.
/// Not meant to resist an adversary choosing ids; for honest ids it behaves like a random function.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut state = K0 ^ fold(bytes.len() as u64 ^ K2, K1);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let word = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        state = fold(state ^ word ^ K2, K1 ^ state.rotate_left(23));
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    state = fold(state ^ u64::from_le_bytes(tail) ^ K1, K2 ^ state.rotate_left(17));
    fold(state ^ K0, K1) ^ state
}

/// A user as `distinct` counts it: 32 bits of its hash. Among d different users about d²/2³³ pairs share
/// a value, so the count is low by a share of about d/2³³: 0.01% at a million users, 0.12% at ten
/// million, far inside the 2% allowed, for half the bytes of a 64-bit hash in memory, log and gossip.
pub fn user_hash(user: &[u8]) -> u32 {
    (hash64(user) >> 32) as u32
}

pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A cursor over bytes being decoded.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn varint(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first().ok_or(CodecError("a varint runs past the end"))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(CodecError("a varint longer than 64 bits"))
    }

    pub fn u64(&mut self) -> Result<u64, CodecError> {
        let (word, rest) = self.bytes.split_first_chunk::<8>().ok_or(CodecError("a word runs past the end"))?;
        self.bytes = rest;
        Ok(u64::from_le_bytes(*word))
    }

    pub fn u32(&mut self) -> Result<u32, CodecError> {
        let (word, rest) = self.bytes.split_first_chunk::<4>().ok_or(CodecError("a word runs past the end"))?;
        self.bytes = rest;
        Ok(u32::from_le_bytes(*word))
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let (&byte, rest) = self.bytes.split_first().ok_or(CodecError("a byte runs past the end"))?;
        self.bytes = rest;
        Ok(byte)
    }

    pub fn text(&mut self) -> Result<&'a str, CodecError> {
        let len = usize::try_from(self.varint()?).map_err(|_| CodecError("a string too long"))?;
        if len > self.bytes.len() {
            return Err(CodecError("a string runs past the end"));
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| CodecError("a string that is not UTF-8"))
    }
}

pub fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends `facts` (count first), each with its series renamed by `series_code`.
pub fn put_facts<'f>(
    out: &mut Vec<u8>,
    facts: impl ExactSizeIterator<Item = &'f Fact>,
    mut series_code: impl FnMut(u32) -> u32,
) {
    put_varint(out, facts.len() as u64);
    let mut previous_ts = 0i64;
    for fact in facts {
        out.extend_from_slice(&fact.id.to_le_bytes());
        put_varint(out, zigzag(fact.ts.wrapping_sub(previous_ts)));
        previous_ts = fact.ts;
        put_varint(out, u64::from(series_code(fact.series)));
        out.extend_from_slice(&fact.user.to_le_bytes());
    }
}

/// Reads what [`put_facts`] wrote. A series code must be below `series_count`.
pub fn read_facts(reader: &mut Reader<'_>, series_count: usize) -> Result<Vec<Fact>, CodecError> {
    let count = reader.varint()?;
    // Each fact takes at least 14 bytes: a count beyond that is corruption, not a reason to allocate.
    if count > (reader.bytes.len() / 14) as u64 {
        return Err(CodecError("more facts announced than bytes hold"));
    }
    let mut facts = Vec::with_capacity(count as usize);
    let mut previous_ts = 0i64;
    for _ in 0..count {
        let id = reader.u64()?;
        let ts = previous_ts.wrapping_add(unzigzag(reader.varint()?));
        previous_ts = ts;
        let series = reader.varint()?;
        if series >= series_count as u64 {
            return Err(CodecError("a series index out of range"));
        }
        let user = reader.u32()?;
        facts.push(Fact { id, ts, series: series as u32, user });
    }
    Ok(facts)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 without padding (the length tells where it ends).
pub fn base64_encode(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len().div_ceil(3) * 4);
    let mut groups = bytes.chunks_exact(3);
    for group in &mut groups {
        let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
        out.extend_from_slice(&[
            BASE64[(n >> 18) as usize & 63],
            BASE64[(n >> 12) as usize & 63],
            BASE64[(n >> 6) as usize & 63],
            BASE64[n as usize & 63],
        ]);
    }
    match *groups.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[BASE64[(n >> 18) as usize & 63], BASE64[(n >> 12) as usize & 63]]);
        }
        [a, b] => {
            let n = (u32::from(a) << 16) | (u32::from(b) << 8);
            out.extend_from_slice(&[
                BASE64[(n >> 18) as usize & 63],
                BASE64[(n >> 12) as usize & 63],
                BASE64[(n >> 6) as usize & 63],
            ]);
        }
        _ => {}
    }
}

fn base64_value(symbol: u8) -> Result<u32, CodecError> {
    let value = match symbol {
        b'A'..=b'Z' => symbol - b'A',
        b'a'..=b'z' => symbol - b'a' + 26,
        b'0'..=b'9' => symbol - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return Err(CodecError("a character outside base64")),
    };
    Ok(u32::from(value))
}

pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>, CodecError> {
    if text.len() % 4 == 1 {
        return Err(CodecError("a base64 length that no byte count gives"));
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for group in text.chunks(4) {
        let mut n = 0u32;
        for (i, &symbol) in group.iter().enumerate() {
            n |= base64_value(symbol)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..group.len() - 1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_hash_is_stable_across_builds() {
        // Hashes are written to the log and sent between nodes: changing the function breaks both.
        assert_eq!(hash64(b""), hash64(b""));
        assert_ne!(hash64(b"a"), hash64(b"b"));
        assert_ne!(hash64(b"abcdefgh"), hash64(b"abcdefgh\0"));
        assert_ne!(hash64(b"\0"), hash64(b""));
    }

    #[test]
    fn a_million_similar_ids_hash_apart() {
        let mut seen = HashSet::new();
        for i in 0..1_000_000u64 {
            assert!(seen.insert(hash64(format!("{i:016x}").as_bytes())));
            assert!(seen.insert(hash64(format!("e{i}").as_bytes())));
        }
    }

    #[test]
    fn facts_round_trip_with_renamed_series() {
        let facts = [
            Fact { id: 1, ts: 1_700_000_000_123, series: 7, user: u32::MAX },
            Fact { id: u64::MAX, ts: 1_699_999_999_000, series: 3, user: 0 },
            Fact { id: 5, ts: i64::MIN, series: 7, user: 9 },
            Fact { id: 6, ts: i64::MAX, series: 3, user: 9 },
        ];
        let mut bytes = Vec::new();
        put_facts(&mut bytes, facts.iter(), |series| if series == 7 { 0 } else { 1 });
        let back = read_facts(&mut Reader::new(&bytes), 2).expect("decodes");
        let renamed: Vec<Fact> =
            facts.iter().map(|f| Fact { series: if f.series == 7 { 0 } else { 1 }, ..*f }).collect();
        assert_eq!(back, renamed);
    }

    #[test]
    fn truncated_facts_are_an_error_not_a_panic() {
        let facts = [Fact { id: 1, ts: 2, series: 0, user: 3 }];
        let mut bytes = Vec::new();
        put_facts(&mut bytes, facts.iter(), |s| s);
        for cut in 0..bytes.len() {
            assert!(read_facts(&mut Reader::new(&bytes[..cut]), 1).is_err(), "cut at {cut}");
        }
        assert!(read_facts(&mut Reader::new(&bytes), 0).is_err(), "series out of range");
    }

    #[test]
    fn base64_round_trips_every_length() {
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut text = Vec::new();
            base64_encode(&bytes, &mut text);
            assert_eq!(base64_decode(&text).expect("decodes"), bytes);
        }
        assert!(base64_decode(b"ab\"c").is_err());
        assert!(base64_decode(b"abcde").is_err());
    }

    #[test]
    fn varints_round_trip_at_the_edges() {
        for value in [0, 1, 127, 128, 16_383, 16_384, u64::MAX / 2, u64::MAX] {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, value);
            assert_eq!(Reader::new(&bytes).varint(), Ok(value));
        }
        for value in [0, 1, -1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
    }
}
