//! A HyperLogLog sketch of distinct users: 2^16 one-byte registers (64 KiB) per app and minute, merged by
//! taking the larger register, estimated with Ertl's improved raw estimator (2017), which needs no
//! bias tables and holds its 1.04/√m = 0.41% standard error from one user to billions. `distinct` has 2%
//! of slack: about 5 standard errors.

/// Index bits: p = 16, so 2^16 registers.
const P: u32 = 16;
const REGISTERS: usize = 1 << P;
/// The largest rank a register can hold: q + 1 with q = 64 - p.
const Q: usize = 64 - P as usize;

pub struct Sketch {
    registers: Vec<u8>,
}

impl Sketch {
    pub fn new() -> Sketch {
        Sketch { registers: vec![0; REGISTERS] }
    }

    /// Adds a user, by its 32-bit hash (spread over 64 bits first: the sketch takes index and rank from
    /// different bits).
    pub fn add(&mut self, user: u32) {
        let hash = spread(u64::from(user));
        let index = (hash >> (64 - P)) as usize;
        let rest = hash << P;
        let rank = if rest == 0 { Q + 1 } else { (rest.leading_zeros() as usize + 1).min(Q + 1) };
        let register = &mut self.registers[index];
        *register = (*register).max(rank as u8);
    }

    /// Makes this the sketch of both sets.
    pub fn merge(&mut self, other: &Sketch) {
        for (mine, theirs) in self.registers.iter_mut().zip(&other.registers) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct users added.
    pub fn estimate(&self) -> f64 {
        let mut histogram = [0u32; Q + 2];
        for &register in &self.registers {
            histogram[usize::from(register)] += 1;
        }
        let m = REGISTERS as f64;
        let mut z = m * tau(1.0 - f64::from(histogram[Q + 1]) / m);
        for k in (1..=Q).rev() {
            z = 0.5 * (z + f64::from(histogram[k]));
        }
        z += m * sigma(f64::from(histogram[0]) / m);
        let alpha = 1.0 / (2.0 * std::f64::consts::LN_2);
        alpha * m * m / z
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

/// SplitMix64's finaliser.
fn spread(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(distinct: u32, repeats: u32) -> f64 {
        let mut sketch = Sketch::new();
        for _ in 0..repeats {
            for user in 0..distinct {
                sketch.add(user.wrapping_mul(2_654_435_761));
            }
        }
        (sketch.estimate() - f64::from(distinct)).abs() / f64::from(distinct)
    }

    #[test]
    fn estimates_stay_well_inside_two_percent_at_every_size() {
        assert_eq!(Sketch::new().estimate(), 0.0);
        for distinct in [1, 10, 1_000, 50_000, 160_000, 300_000, 1_000_000, 5_000_000] {
            let error = relative_error(distinct, 1);
            assert!(error < 0.012, "{distinct} users: {:.3}% off", error * 100.0);
        }
        assert!(relative_error(20_000, 3) < 0.012, "repeats do not count");
    }

    #[test]
    fn a_merge_is_the_sketch_of_the_union() {
        let (mut a, mut b, mut both) = (Sketch::new(), Sketch::new(), Sketch::new());
        for user in 0..30_000u32 {
            let user = user.wrapping_mul(2_654_435_761);
            if user % 3 == 0 {
                a.add(user)
            } else {
                b.add(user)
            }
            both.add(user);
        }
        a.merge(&b);
        assert_eq!(a.registers, both.registers);
    }
}
