//! From a ratio candidate / reference to points: a step rule or a curve, and the decision that an
//! interval too wide to trust is "too noisy to score" rather than a number.

use super::stats::RatioEstimate;
use crate::spec::{BenchScore, Metric};

/// What the figures allow.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Scored {
        points: f64,
        fraction: f64,
    },
    /// The named figure's interval is wider than the spec allows.
    TooNoisy {
        figure: &'static str,
        width: f64,
        allowed: f64,
    },
}

/// The fraction of a bench's points a ratio earns, in [0, 1]. Thresholds, when given, are read in
/// order and the first whose `at_most` the ratio does not exceed decides; past all of them it is 0.
/// Otherwise 1 at `full_at` or below, 0 at `zero_at` or above, linear in log(ratio) between (so being
/// twice as slow costs as much at any speed).
#[must_use]
pub fn fraction(rule: &BenchScore, ratio: f64) -> f64 {
    if ratio.is_nan() {
        return 0.0;
    }
    if !rule.thresholds.is_empty() {
        return rule.thresholds.iter().find(|t| ratio <= t.at_most).map_or(0.0, |t| t.fraction.clamp(0.0, 1.0));
    }
    if ratio <= rule.full_at {
        return 1.0;
    }
    if ratio >= rule.zero_at {
        return 0.0;
    }
    ((rule.zero_at.ln() - ratio.ln()) / (rule.zero_at.ln() - rule.full_at.ln())).clamp(0.0, 1.0)
}

/// What is wrong with a rule, for a message naming the bench; `None` when it is usable.
#[must_use]
pub fn rule_problem(rule: &BenchScore) -> Option<String> {
    if !rule.thresholds.is_empty() {
        if let Some(t) = rule.thresholds.iter().find(|t| !(0.0..=1.0).contains(&t.fraction)) {
            return Some(format!("threshold fraction {} is not between 0 and 1", t.fraction));
        }
        if rule.thresholds.windows(2).any(|w| w[0].at_most >= w[1].at_most) {
            return Some("thresholds must be listed by increasing `at_most`".into());
        }
        return None;
    }
    if !(rule.full_at > 0.0 && rule.zero_at > rule.full_at && rule.zero_at.is_finite()) {
        return Some(format!(
            "the curve needs 0 < full_at < zero_at, got full_at = {} and zero_at = {}",
            rule.full_at, rule.zero_at
        ));
    }
    None
}

/// Scores the estimate of `metric`, unless its interval is wider than `max_width` (relative).
#[must_use]
pub fn decide(rule: &BenchScore, metric: Metric, estimate: &RatioEstimate, max_width: f64, points: f64) -> Decision {
    let width = estimate.relative_width();
    // A wide interval that lies wholly on one flat part of the rule (all past `zero_at`, or all within
    // `full_at`) gives the same points wherever the ratio is in it: noise, the candidate's own or made on
    // purpose, cannot keep such a result from counting.
    let flat = fraction(rule, estimate.low) == fraction(rule, estimate.high);
    if (width > max_width || width.is_nan()) && !(flat && estimate.low.is_finite() && estimate.high.is_finite()) {
        return Decision::TooNoisy { figure: figure_name(metric), width, allowed: max_width };
    }
    let fraction = fraction(rule, estimate.ratio);
    // Shown with two decimals, like group points: keep the stored number equal to what is shown.
    Decision::Scored { points: (points * fraction * 100.0).round() / 100.0, fraction }
}

/// The figure a metric's ratio is, in words.
#[must_use]
pub fn figure_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Wall => "wall time",
        Metric::Cpu => "CPU time",
        Metric::Memory => "peak memory",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Threshold;

    fn curve(full_at: f64, zero_at: f64) -> BenchScore {
        BenchScore { metric: None, full_at, zero_at, thresholds: vec![] }
    }

    fn estimate(ratio: f64, low: f64, high: f64) -> RatioEstimate {
        RatioEstimate { ratio, low, high, resamples: 100, seed: 0 }
    }

    #[test]
    fn curve_is_full_below_zero_above_and_log_linear_between() {
        let rule = curve(0.5, 2.0);
        assert_eq!(fraction(&rule, 0.3), 1.0);
        assert_eq!(fraction(&rule, 0.5), 1.0);
        assert_eq!(fraction(&rule, 2.0), 0.0);
        assert_eq!(fraction(&rule, 5.0), 0.0);
        // ln(2/1) / ln(2/0.5) = 1/2 exactly in log space.
        assert!((fraction(&rule, 1.0) - 0.5).abs() < 1e-12);
        assert!(fraction(&rule, 1.2) < fraction(&rule, 1.0));
        assert_eq!(fraction(&rule, f64::NAN), 0.0);
    }

    #[test]
    fn thresholds_take_the_first_step_the_ratio_fits() {
        let rule = BenchScore {
            thresholds: vec![
                Threshold { at_most: 1.1, fraction: 1.0 },
                Threshold { at_most: 1.5, fraction: 0.5 },
                Threshold { at_most: 3.0, fraction: 0.2 },
            ],
            ..BenchScore::default()
        };
        assert_eq!(fraction(&rule, 1.1), 1.0);
        assert_eq!(fraction(&rule, 1.2), 0.5);
        assert_eq!(fraction(&rule, 2.9), 0.2);
        assert_eq!(fraction(&rule, 3.1), 0.0);
        assert_eq!(rule_problem(&rule), None);
    }

    #[test]
    fn bad_rules_are_explained() {
        assert!(rule_problem(&curve(2.0, 1.0)).unwrap().contains("0 < full_at < zero_at"));
        let unordered = BenchScore {
            thresholds: vec![Threshold { at_most: 2.0, fraction: 0.5 }, Threshold { at_most: 1.0, fraction: 1.0 }],
            ..BenchScore::default()
        };
        assert!(rule_problem(&unordered).unwrap().contains("increasing"));
    }

    #[test]
    fn a_wide_interval_is_too_noisy_and_names_the_figure() {
        let decision = decide(&curve(1.0, 2.0), Metric::Cpu, &estimate(1.0, 0.9, 1.2), 0.1, 10.0);
        match decision {
            Decision::TooNoisy { figure, width, allowed } => {
                assert_eq!(figure, "CPU time");
                assert!((width - 0.3).abs() < 1e-12);
                assert_eq!(allowed, 0.1);
            }
            other => panic!("expected too noisy, got {other:?}"),
        }
    }

    #[test]
    fn a_narrow_interval_is_scored_on_the_point_ratio() {
        let decision = decide(&curve(1.0, 4.0), Metric::Wall, &estimate(2.0, 1.95, 2.05), 0.1, 10.0);
        let Decision::Scored { points, fraction } = decision else { panic!("{decision:?}") };
        assert!((fraction - 0.5).abs() < 1e-12);
        assert!((points - 5.0).abs() < 1e-12);
    }

    #[test]
    fn an_interval_exactly_at_the_bound_is_still_scored() {
        let decision = decide(&curve(1.0, 2.0), Metric::Wall, &estimate(1.0, 0.95, 1.05), 0.1 + 1e-12, 1.0);
        assert!(matches!(decision, Decision::Scored { .. }), "{decision:?}");
    }

    #[test]
    fn a_wide_interval_on_one_flat_part_of_the_rule_is_scored_anyway() {
        let rule = curve(0.5, 2.0);
        let too_slow = decide(&rule, Metric::Wall, &estimate(3.0, 2.7, 3.3), 0.1, 10.0);
        assert!(matches!(too_slow, Decision::Scored { points, .. } if points == 0.0), "{too_slow:?}");
        let fast = decide(&rule, Metric::Wall, &estimate(0.3, 0.2, 0.45), 0.1, 10.0);
        assert!(matches!(fast, Decision::Scored { points, .. } if points == 10.0), "{fast:?}");
        let across = decide(&rule, Metric::Wall, &estimate(1.9, 1.5, 2.3), 0.1, 10.0);
        assert!(matches!(across, Decision::TooNoisy { .. }), "{across:?}");
    }
}
