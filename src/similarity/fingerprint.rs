//! Normalised token streams, k-gram hashes and winnowing (Schleimer, Wilkerson and Aiken, 2003).
//!
//! By default an identifier is compared up to consistent renaming: inside a k-gram it stands for "the same
//! name as the one d tokens back" or "a name not seen yet in this k-gram" (Baker's parameterised strings),
//! so renaming variables throughout does not change a single hash. With `abstract_identifiers` every
//! identifier becomes one symbol and every number or string another, which also forgets which names repeat.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::lexer::{Kind, Token};

/// `back` of a token that is compared by its symbol, not up to renaming.
pub const FIXED: u32 = u32::MAX;

/// A file's tokens as the comparison sees them.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    /// Hash of each token's normalised text.
    pub symbols: Vec<u64>,
    /// For a renamable identifier: how many tokens back the same name last occurred (0: never before);
    /// `FIXED` for every other token.
    pub back: Vec<u32>,
}

impl Stream {
    pub fn new(text: &str, tokens: &[Token], abstract_identifiers: bool) -> Stream {
        let mut symbols = Vec::with_capacity(tokens.len());
        let mut back = Vec::with_capacity(tokens.len());
        let mut last_seen: U64Map<usize> = U64Map::default();
        for (i, token) in tokens.iter().enumerate() {
            let word = &text[token.start as usize..token.end as usize];
            let (symbol, distance) = match (token.kind, abstract_identifiers) {
                (Kind::Identifier, true) => (symbol_of(0, "id"), FIXED),
                (Kind::Number, true) => (symbol_of(0, "num"), FIXED),
                (Kind::String, true) => (symbol_of(0, "str"), FIXED),
                (Kind::Identifier, false) => {
                    let symbol = symbol_of(1, word);
                    let distance = last_seen.insert(symbol, i).map_or(0, |previous| (i - previous) as u32);
                    (symbol, distance.min(FIXED - 1))
                }
                (kind, _) => (symbol_of(kind as u8 + 2, word), FIXED),
            };
            symbols.push(symbol);
            back.push(distance);
        }
        Stream { symbols, back }
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// The hash of every k-gram, in order (none when the stream is shorter than k).
    pub fn kgram_hashes(&self, k: usize) -> Vec<u64> {
        if k == 0 || self.len() < k {
            return Vec::new();
        }
        (0..=self.len() - k).map(|start| self.kgram_hash(start, k)).collect()
    }

    fn kgram_hash(&self, start: usize, k: usize) -> u64 {
        let mut hash: u64 = 0x243f_6a88_85a3_08d3;
        for i in start..start + k {
            let back = self.back[i];
            let value = if back == FIXED {
                self.symbols[i]
            } else if back != 0 && back as usize <= i - start {
                0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(u64::from(back) + 1)
            } else {
                0x94d0_49bb_1331_11eb
            };
            hash = (hash.rotate_left(5) ^ value).wrapping_mul(0x5851_f42d_4c95_7f2d);
        }
        avalanche(hash)
    }
}

/// FNV-1a over a kind tag and the text: stable across runs and machines, so reports are reproducible.
fn symbol_of(tag: u8, text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    for byte in text.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The SplitMix64 finaliser: spreads every input bit over the output, so the minimum of a window is a fair draw.
fn avalanche(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The positions (k-gram starts) that robust winnowing selects: the minimum of each window of `window`
/// hashes, the rightmost on a tie, and a position already selected by the previous window kept rather than
/// replaced by an equal hash further right. Every run of `window` consecutive hashes has a selected one.
pub fn winnow(hashes: &[u64], window: usize) -> Vec<usize> {
    let window = window.max(1);
    if hashes.is_empty() {
        return Vec::new();
    }
    if hashes.len() <= window {
        return vec![rightmost_minimum(hashes, 0, hashes.len())];
    }
    let mut selected = Vec::with_capacity(2 * hashes.len() / (window + 1) + 1);
    let mut minimum = rightmost_minimum(hashes, 0, window);
    selected.push(minimum);
    for end in window..hashes.len() {
        let start = end + 1 - window;
        if minimum < start {
            minimum = rightmost_minimum(hashes, start, end + 1);
            selected.push(minimum);
        } else if hashes[end] < hashes[minimum] {
            minimum = end;
            selected.push(minimum);
        }
    }
    selected
}

fn rightmost_minimum(hashes: &[u64], start: usize, end: usize) -> usize {
    let mut best = start;
    for i in start..end {
        if hashes[i] <= hashes[best] {
            best = i;
        }
    }
    best
}

/// Hashes that are already uniformly spread need no second hashing.
#[derive(Default, Clone, Copy)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

pub type U64Map<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;
pub type U64Set = HashSet<u64, BuildHasherDefault<PassThrough>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::lexer::tokenize;
    use crate::similarity::source::Syntax;

    fn hashes(text: &str, k: usize, abstract_identifiers: bool) -> Vec<u64> {
        let tokens = tokenize(text, Syntax::Python);
        Stream::new(text, &tokens, abstract_identifiers).kgram_hashes(k)
    }

    #[test]
    fn consistent_renaming_keeps_every_hash() {
        let original = "total = 0\nfor item in items:\n    total = total + item * 2\nprint(total)\n";
        let renamed = "acc = 0\nfor x in xs:\n    acc = acc + x * 2\nprint(acc)\n";
        assert_eq!(hashes(original, 5, false), hashes(renamed, 5, false));
    }

    #[test]
    fn which_names_repeat_still_matters_by_default_but_not_when_abstracted() {
        let same = "a = b + b\n";
        let different = "a = b + c\n";
        assert_ne!(hashes(same, 5, false), hashes(different, 5, false));
        assert_eq!(hashes(same, 5, true), hashes(different, 5, true));
    }

    #[test]
    fn literals_count_unless_abstracted() {
        assert_ne!(hashes("x = 1 + 'a'", 5, false), hashes("x = 2 + 'b'", 5, false));
        assert_eq!(hashes("x = 1 + 'a'", 5, true), hashes("x = 2 + 'b'", 5, true));
    }

    #[test]
    fn streams_shorter_than_k_have_no_kgrams() {
        assert_eq!(hashes("x = 1", 3, false).len(), 1);
        assert!(hashes("x = 1", 4, false).is_empty());
    }

    #[test]
    fn winnowing_selects_a_minimum_in_every_window() {
        let hashes: Vec<u64> = (0..500u64).map(|i| avalanche(i * 7 + 3) % 1000).collect();
        let window = 6;
        let selected = winnow(&hashes, window);
        for start in 0..=hashes.len() - window {
            let minimum = *hashes[start..start + window].iter().min().expect("non-empty");
            assert!(
                selected.iter().any(|&p| p >= start && p < start + window && hashes[p] == minimum),
                "window at {start} has no selected minimum"
            );
        }
        assert!(selected.windows(2).all(|pair| pair[0] < pair[1]), "selected positions ascend");
    }

    #[test]
    fn robust_winnowing_keeps_one_position_through_a_run_of_equal_hashes() {
        let hashes = [5, 1, 1, 1, 1, 1, 1, 9];
        assert_eq!(winnow(&hashes, 3), [2, 5]);
    }

    #[test]
    fn short_inputs_select_their_minimum() {
        assert_eq!(winnow(&[3, 1, 2], 5), [1]);
        assert!(winnow(&[], 5).is_empty());
    }
}
