//! From verdicts to points: each group's aggregation, and the total. Pure functions.

use crate::report::{CaseResult, GroupResult, Verdict};
use crate::spec::Aggregation;

/// The points a group earns from its cases' results.
#[must_use]
pub fn group_points(points: f64, aggregation: Aggregation, cases: &[CaseResult]) -> f64 {
    if cases.is_empty() {
        return 0.0;
    }
    let fraction =
        |case: &CaseResult| if case.verdict == Verdict::Accepted { case.fraction.clamp(0.0, 1.0) } else { 0.0 };
    let earned = match aggregation {
        Aggregation::All => {
            if cases.iter().all(|c| fraction(c) >= 1.0) {
                1.0
            } else {
                0.0
            }
        }
        Aggregation::Sum => {
            let total_weight: f64 = cases.iter().map(|c| c.weight).sum();
            if total_weight <= 0.0 {
                0.0
            } else {
                cases.iter().map(|c| c.weight * fraction(c)).sum::<f64>() / total_weight
            }
        }
        Aggregation::Min => cases.iter().map(fraction).fold(1.0, f64::min),
    };
    round(points * earned)
}

/// Whether a group's requirement is met: it earned all its points (or, with no points, every case passed).
#[must_use]
pub fn requirement_met(group: &GroupResult) -> bool {
    group.passed() && (group.max_points == 0.0 || group.points >= group.max_points)
}

/// Sum of points and of maximum points.
#[must_use]
pub fn total(groups: &[GroupResult]) -> (f64, f64) {
    let score = groups.iter().map(|g| g.points).sum();
    let max = groups.iter().map(|g| g.max_points).sum();
    (round(score), round(max))
}

/// Points are shown with two decimals; keep the stored numbers equal to what is shown.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(verdict: Verdict, fraction: f64, weight: f64) -> CaseResult {
        CaseResult {
            name: "c".into(),
            about: None,
            hidden: false,
            verdict,
            reason: String::new(),
            limit_hit: None,
            cpu_time: 0.0,
            wall_time: 0.0,
            memory: None,
            fraction,
            weight,
            seed: None,
            feedback: None,
            metrics: Default::default(),
            notes: Vec::new(),
            artifacts: None,
        }
    }

    #[test]
    fn all_or_nothing_gives_nothing_for_one_failure() {
        let cases = [case(Verdict::Accepted, 1.0, 1.0), case(Verdict::WrongAnswer, 0.0, 1.0)];
        assert_eq!(group_points(30.0, Aggregation::All, &cases), 0.0);
        assert_eq!(group_points(30.0, Aggregation::All, &cases[..1]), 30.0);
    }

    #[test]
    fn sum_shares_points_by_weight() {
        let cases = [case(Verdict::Accepted, 1.0, 3.0), case(Verdict::TimeLimit, 0.0, 1.0)];
        assert_eq!(group_points(20.0, Aggregation::Sum, &cases), 15.0);
    }

    #[test]
    fn min_takes_the_weakest_partial_score() {
        let cases = [case(Verdict::Accepted, 0.5, 1.0), case(Verdict::Accepted, 0.8, 1.0)];
        assert_eq!(group_points(10.0, Aggregation::Min, &cases), 5.0);
        assert_eq!(group_points(10.0, Aggregation::All, &cases), 0.0, "partial credit is not full credit");
    }

    #[test]
    fn an_empty_group_earns_nothing() {
        assert_eq!(group_points(10.0, Aggregation::Sum, &[]), 0.0);
    }
}
