//! The statistics of a benchmark, all pure and deterministic: median, MAD, outliers by modified
//! Z-score (flagged, never dropped), and a bootstrap confidence interval of the ratio of medians drawn
//! with a seeded generator, so a recorded seed recomputes the same interval.

use serde::{Deserialize, Serialize};

/// Modified Z-scores above this flag an outlier (Iglewicz and Hoaglin's cut-off).
pub const OUTLIER_Z: f64 = 3.5;
/// Resamples of the bootstrap: enough that the interval's ends move by well under 1% between seeds.
pub const RESAMPLES: u32 = 10_000;
/// The confidence level of the interval.
pub const CONFIDENCE: f64 = 0.95;

/// Turns a MAD into a consistent estimate of the standard deviation of normal data (1 / 0.6745).
const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;
/// The same for the mean absolute deviation, used when the MAD is zero (sqrt(pi / 2)).
const MEAN_AD_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// Five figures of one side's samples, and which samples are outliers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub median: f64,
    /// Median absolute deviation from the median (raw, not scaled).
    pub mad: f64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Indices (into the samples) whose modified Z-score exceeds [`OUTLIER_Z`]. They still count.
    pub outliers: Vec<usize>,
}

/// The middle value (the mean of the two middle ones for an even count); NaN for no values.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_of_sorted(&sorted)
}

fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The median absolute deviation from the median.
#[must_use]
pub fn mad(values: &[f64]) -> f64 {
    let center = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&deviations)
}

/// Each value's modified Z-score, |x - median| / (1.4826 MAD). When the MAD is zero (more than half
/// the values equal), the mean absolute deviation stands in; when that is zero too, every value
/// equals the median and every score is 0.
#[must_use]
pub fn modified_z_scores(values: &[f64]) -> Vec<f64> {
    let center = median(values);
    let mad = mad(values);
    let spread = if mad > 0.0 {
        MAD_TO_SIGMA * mad
    } else {
        let mean_ad = values.iter().map(|v| (v - center).abs()).sum::<f64>() / values.len().max(1) as f64;
        MEAN_AD_TO_SIGMA * mean_ad
    };
    values.iter().map(|v| if spread > 0.0 { (v - center).abs() / spread } else { 0.0 }).collect()
}

/// Indices of the values whose modified Z-score exceeds [`OUTLIER_Z`].
#[must_use]
pub fn outliers(values: &[f64]) -> Vec<usize> {
    modified_z_scores(values).iter().enumerate().filter(|(_, z)| **z > OUTLIER_Z).map(|(i, _)| i).collect()
}

/// Summarises one side's samples.
#[must_use]
pub fn summarize(values: &[f64]) -> Summary {
    let count = values.len();
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Summary {
        count,
        median: median(values),
        mad: mad(values),
        mean: if count == 0 { f64::NAN } else { values.iter().sum::<f64>() / count as f64 },
        min: if count == 0 { f64::NAN } else { min },
        max: if count == 0 { f64::NAN } else { max },
        outliers: outliers(values),
    }
}

/// `numerator / denominator`, with 0 / 0 taken as 1 (two equal figures) rather than NaN.
#[must_use]
pub fn ratio(numerator: f64, denominator: f64) -> f64 {
    if numerator == 0.0 && denominator == 0.0 { 1.0 } else { numerator / denominator }
}

/// The ratio of medians candidate / reference with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioEstimate {
    pub ratio: f64,
    pub low: f64,
    pub high: f64,
    pub resamples: u32,
    pub seed: u64,
}

impl RatioEstimate {
    /// The interval's width relative to the ratio, e.g. 0.1 for ratio ± 5%.
    #[must_use]
    pub fn relative_width(&self) -> f64 {
        if self.ratio > 0.0 && self.ratio.is_finite() { (self.high - self.low) / self.ratio } else { f64::INFINITY }
    }
}

/// The ratio of the medians and its percentile bootstrap interval at [`CONFIDENCE`]: each resample
/// draws both sides with replacement, independently, and takes the ratio of their medians. The
/// interval's ends are the nearest-rank quantiles of the sorted resampled ratios.
#[must_use]
pub fn bootstrap_ratio_of_medians(candidate: &[f64], reference: &[f64], resamples: u32, seed: u64) -> RatioEstimate {
    let point = ratio(median(candidate), median(reference));
    if candidate.is_empty() || reference.is_empty() || resamples == 0 {
        return RatioEstimate { ratio: point, low: point, high: point, resamples, seed };
    }
    let mut rng = SplitMix64::new(seed);
    let (mut a, mut b) = (Resampler::new(candidate), Resampler::new(reference));
    let mut ratios = Vec::with_capacity(resamples as usize);
    for _ in 0..resamples {
        let candidate_median = a.median_of_draw(&mut rng);
        ratios.push(ratio(candidate_median, b.median_of_draw(&mut rng)));
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    RatioEstimate {
        ratio: point,
        low: nearest_rank(&ratios, tail),
        high: nearest_rank(&ratios, 1.0 - tail),
        resamples,
        seed,
    }
}

/// Medians of resamples (with replacement) of one sample, without sorting each resample: the sample is
/// sorted once, a resample is a count of draws per value, and its median the value where the running
/// count passes the middle: linear in the sample's size rather than `n log n`.
struct Resampler<'a> {
    values: &'a [f64],
    /// Indices of `values` in ascending order of value.
    order: Vec<usize>,
    draws: Vec<u32>,
}

impl<'a> Resampler<'a> {
    fn new(values: &'a [f64]) -> Self {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        Resampler { values, order, draws: vec![0; values.len()] }
    }

    /// Draws `n` values (n = the sample's size, which must not be 0) and returns their median.
    fn median_of_draw(&mut self, rng: &mut SplitMix64) -> f64 {
        let n = self.values.len();
        self.draws.fill(0);
        for _ in 0..n {
            self.draws[rng.below(n)] += 1;
        }
        // The middle positions of the sorted draw (the same one when n is odd).
        let (lower, upper) = ((n - 1) / 2, n / 2);
        let mut passed = 0;
        let mut lower_value = None;
        for &index in &self.order {
            passed += self.draws[index] as usize;
            let value = self.values[index];
            if passed > lower && lower_value.is_none() {
                lower_value = Some(value);
            }
            if passed > upper {
                return lower_value.map_or(value, |low| if lower == upper { low } else { (low + value) / 2.0 });
            }
        }
        f64::NAN
    }
}

/// The smallest value with at least `quantile` of the values at or below it.
fn nearest_rank(sorted: &[f64], quantile: f64) -> f64 {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// SplitMix64: tiny, fast, and the same sequence on every platform for a given seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0), by multiply-shift: its bias is below 2^-40 for any sample count here.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn mad_is_the_median_distance_from_the_median() {
        // Median 3; distances 2, 1, 0, 1, 97 -> median distance 1.
        assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
    }

    #[test]
    fn modified_z_flags_a_far_sample_and_keeps_it() {
        let values = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 14.0];
        // median 10, MAD 0.1 -> z(14) = 4 / 0.14826 = 26.98; z(10.2) = 0.2 / 0.14826 = 1.35.
        let z = modified_z_scores(&values);
        assert!((z[6] - 4.0 / (MAD_TO_SIGMA * 0.1)).abs() < 1e-9);
        assert!((z[1] - 0.2 / (MAD_TO_SIGMA * 0.1)).abs() < 1e-9);
        assert_eq!(outliers(&values), vec![6]);
        let summary = summarize(&values);
        assert_eq!(summary.count, 7, "flagged, not dropped");
        assert_eq!(summary.max, 14.0);
        assert_eq!(summary.outliers, vec![6]);
    }

    #[test]
    fn the_cut_off_is_strictly_above_three_and_a_half() {
        // median 0, MAD 1 -> z = |x| / 1.4826; 3.5 * 1.4826 = 5.1891...
        let at = 3.5 * MAD_TO_SIGMA;
        assert_eq!(outliers(&[-1.0, -1.0, 0.0, 0.0, 1.0, 1.0, at - 1e-9]), Vec::<usize>::new());
        assert_eq!(outliers(&[-1.0, -1.0, 0.0, 0.0, 1.0, 1.0, at + 1e-6]), vec![6]);
    }

    #[test]
    fn zero_mad_falls_back_to_the_mean_absolute_deviation() {
        // Median 5 and MAD 0 (most values equal); mean |x - 5| = 5 / 6, sigma = 1.2533 * 5 / 6 = 1.0444:
        // z(10) = 4.787 is flagged.
        let values = [5.0, 5.0, 5.0, 5.0, 5.0, 10.0];
        assert_eq!(mad(&values), 0.0);
        assert_eq!(outliers(&values), vec![5]);
        assert_eq!(outliers(&[5.0; 8]), Vec::<usize>::new());
    }

    #[test]
    fn splitmix_gives_its_published_sequence() {
        // The reference sequence of SplitMix64 from seed 1234567.
        let mut rng = SplitMix64::new(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn bootstrap_of_constant_samples_is_a_point() {
        let estimate = bootstrap_ratio_of_medians(&[2.0; 10], &[4.0; 12], RESAMPLES, 7);
        assert_eq!((estimate.ratio, estimate.low, estimate.high), (0.5, 0.5, 0.5));
        assert_eq!(estimate.relative_width(), 0.0);
    }

    #[test]
    fn bootstrap_interval_spans_the_possible_medians_of_three() {
        // A resampled median of [1, 2, 3] is 1 with probability 7/27 and 3 with 7/27, far above the
        // 2.5% tails: whatever the seed, the interval is exactly [1, 3] around the ratio 2.
        for seed in [0, 1, 42, u64::MAX] {
            let estimate = bootstrap_ratio_of_medians(&[1.0, 2.0, 3.0], &[1.0], RESAMPLES, seed);
            assert_eq!((estimate.ratio, estimate.low, estimate.high), (2.0, 1.0, 3.0), "seed {seed}");
        }
    }

    #[test]
    fn bootstrap_is_reproducible_from_its_seed() {
        let candidate: Vec<f64> = (0..15).map(|i| 10.0 + f64::from(i % 5) * 0.3).collect();
        let reference: Vec<f64> = (0..15).map(|i| 9.0 + f64::from(i % 3) * 0.4).collect();
        let first = bootstrap_ratio_of_medians(&candidate, &reference, 2_000, 99);
        let again = bootstrap_ratio_of_medians(&candidate, &reference, 2_000, 99);
        assert_eq!(first, again);
        // Candidate median 10.6, reference median 9.4.
        assert_eq!(first.ratio, 10.6 / 9.4);
        assert!(first.low <= first.ratio && first.ratio <= first.high);
        // Every resampled median is a sample value (odd count): the ends are ratios of sample values.
        let values: Vec<f64> =
            [10.0, 10.3, 10.6, 10.9, 11.2].iter().flat_map(|c| [9.0, 9.4, 9.8].map(|r| c / r)).collect();
        assert!(values.contains(&first.low) && values.contains(&first.high), "{first:?}");
    }

    #[test]
    fn bootstrap_pins_its_interval_for_known_samples() {
        let candidate = [5.0, 5.1, 5.2, 5.3, 5.4, 5.5, 5.6];
        let reference = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 6.0];
        let estimate = bootstrap_ratio_of_medians(&candidate, &reference, RESAMPLES, 1);
        assert_eq!(estimate.ratio, 5.3 / 5.0);
        // Pinned: a change here changes every recorded score's interval.
        assert_eq!((estimate.low, estimate.high), (5.1 / 5.0, 5.5 / 5.0));
    }

    #[test]
    fn ratio_of_two_zeros_is_one() {
        assert_eq!(ratio(0.0, 0.0), 1.0);
        assert_eq!(ratio(3.0, 2.0), 1.5);
    }

    #[test]
    fn a_resample_s_median_is_the_median_of_the_sorted_draw() {
        for (seed, n) in [(1u64, 1usize), (2, 2), (3, 7), (4, 10), (5, 101)] {
            let values: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64 + i as f64 / 100.0).collect();
            let mut resampler = Resampler::new(&values);
            let (mut fast, mut slow) = (SplitMix64::new(seed), SplitMix64::new(seed));
            for _ in 0..50 {
                let mut draw: Vec<f64> = (0..n).map(|_| values[slow.below(n)]).collect();
                draw.sort_by(f64::total_cmp);
                assert_eq!(resampler.median_of_draw(&mut fast), median_of_sorted(&draw), "n = {n}");
            }
        }
    }
}
