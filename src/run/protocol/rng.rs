//! The one source of randomness of a protocol run: a seed, and independent streams derived from it by
//! label, so that each decision (the fate of the k-th message on one link, the next partition, the next
//! request) depends only on the seed and what it is about, never on how threads happened to interleave.
//!
//! Our own small generator (SplitMix64 to derive, xoshiro256** to draw) so a seed replays the same run
//! whatever version of a random-number crate is in the lock file.

/// A deterministic generator (xoshiro256**).
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator for the stream of `seed` named by `labels` (any sequence of numbers).
    #[must_use]
    pub fn stream(seed: u64, labels: &[u64]) -> Rng {
        let mut mixed = splitmix(seed ^ 0x5851_F42D_4C95_7F2D);
        for &label in labels {
            mixed = splitmix(mixed ^ splitmix(label.wrapping_add(0x9E37_79B9_7F4A_7C15)));
        }
        let mut state = [0; 4];
        let mut next = mixed;
        for word in &mut state {
            next = next.wrapping_add(0x9E37_79B9_7F4A_7C15);
            *word = splitmix(next);
        }
        Rng { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64 }
    }

    /// Exponentially distributed with this mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A stable label for a name (FNV-1a), so streams can be keyed by node names.
#[must_use]
pub fn label(name: &str) -> u64 {
    name.bytes().fold(0xCBF2_9CE4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A fresh seed for a run that was not given one (time and process id; it is printed, so it replays).
#[must_use]
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    splitmix(nanos ^ u64::from(std::process::id()).rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_stream_replays_and_other_streams_differ() {
        let draw = |seed, labels: &[u64]| {
            let mut rng = Rng::stream(seed, labels);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7, &[1, 2]), draw(7, &[1, 2]));
        assert_ne!(draw(7, &[1, 2]), draw(7, &[2, 1]));
        assert_ne!(draw(7, &[1, 2]), draw(8, &[1, 2]));
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::stream(1, &[]);
        for _ in 0..10_000 {
            let unit = rng.unit();
            assert!((0.0..1.0).contains(&unit));
            assert!(rng.below(3) < 3);
            assert!(rng.exponential(5.0) >= 0.0);
        }
        assert_eq!(rng.below(0), 0);
        assert!(!rng.chance(0.0));
    }

    #[test]
    fn a_shuffle_is_a_permutation() {
        let mut items: Vec<u32> = (0..50).collect();
        Rng::stream(3, &[4]).shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
