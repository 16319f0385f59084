//! The order of runs: warm-up runs of both sides, then blocks of candidate, reference, reference,
//! candidate (A B B A, so a slow drift of the machine costs both sides alike) until each side has at
//! least N runs and T seconds of measured wall time, and then on while the figures are not yet precise
//! enough, up to a time budget. Time is the sum of the samples' own wall times, so the plan is exact
//! under a mock executor.

use serde::{Deserialize, Serialize};

use super::executor::{Executor, RunFailure, Sample, Side};
use crate::spec::Bench;

/// One block of the interleaving.
pub const BLOCK: [Side; 4] = [Side::Candidate, Side::Reference, Side::Reference, Side::Candidate];

/// How many runs, decided from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Unmeasured runs of each side first.
    pub warmup: u32,
    /// At least this many measured runs per side.
    pub min_runs: u32,
    /// And at least this many seconds of measured wall time per side.
    pub min_time: f64,
    /// While not precise enough, go on until a side has this many seconds of measured wall time.
    pub max_time: f64,
    /// Never more than this many measured runs per side, whatever the times say.
    pub max_runs: u32,
}

impl Plan {
    pub const DEFAULT_RUNS: u32 = 10;
    pub const DEFAULT_MIN_TIME: f64 = 1.0;
    pub const DEFAULT_WARMUP: u32 = 2;
    /// `max_time` is this many times `min_time` unless the spec says.
    pub const DEFAULT_MAX_TIME_FACTOR: f64 = 5.0;
    pub const MAX_RUNS: u32 = 1000;

    #[must_use]
    pub fn for_bench(bench: &Bench) -> Plan {
        let min_runs = bench.runs.unwrap_or(Self::DEFAULT_RUNS).max(2);
        let min_time = bench.min_time.map_or(Self::DEFAULT_MIN_TIME, |t| t.0.max(0.0));
        Plan {
            warmup: bench.warmup.unwrap_or(Self::DEFAULT_WARMUP),
            min_runs,
            min_time,
            max_time: bench.max_time.map_or(min_time * Self::DEFAULT_MAX_TIME_FACTOR, |t| t.0.max(min_time)),
            max_runs: Self::MAX_RUNS.max(min_runs),
        }
    }
}

/// The measured samples of both sides, and the order they were taken in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    pub candidate: Vec<Sample>,
    pub reference: Vec<Sample>,
    /// The side of each measured run, in order (warm-up runs are not in it).
    pub order: Vec<Side>,
}

impl Measurements {
    #[must_use]
    pub fn side(&self, side: Side) -> &[Sample] {
        match side {
            Side::Candidate => &self.candidate,
            Side::Reference => &self.reference,
        }
    }

    fn time(samples: &[Sample]) -> f64 {
        samples.iter().map(|s| s.wall).sum()
    }

    /// Both sides have their minimum runs and time.
    fn has_minimum(&self, plan: &Plan) -> bool {
        let enough =
            |samples: &[Sample]| samples.len() >= plan.min_runs as usize && Self::time(samples) >= plan.min_time;
        enough(&self.candidate) && enough(&self.reference)
    }

    /// A side has used up the time budget for more precision.
    fn out_of_time(&self, plan: &Plan) -> bool {
        Self::time(&self.candidate).max(Self::time(&self.reference)) >= plan.max_time
    }

    fn capped(&self, plan: &Plan) -> bool {
        self.candidate.len().max(self.reference.len()) >= plan.max_runs as usize
    }
}

/// Runs the plan: blocks until the minimum is met, then on until `precise_enough` says so or the
/// budget is spent. The first failed run stops it: a sample that did not finish cleanly cannot count.
pub fn measure(
    executor: &mut dyn Executor,
    plan: &Plan,
    precise_enough: &mut dyn FnMut(&Measurements) -> bool,
) -> Result<Measurements, RunFailure> {
    for _ in 0..plan.warmup {
        executor.run(Side::Candidate)?;
        executor.run(Side::Reference)?;
    }
    let mut measurements = Measurements::default();
    loop {
        let done = measurements.has_minimum(plan) && (measurements.out_of_time(plan) || precise_enough(&measurements));
        if done || measurements.capped(plan) {
            break;
        }
        for side in BLOCK {
            let sample = executor.run(side)?;
            match side {
                Side::Candidate => measurements.candidate.push(sample),
                Side::Reference => measurements.reference.push(sample),
            }
            measurements.order.push(side);
        }
    }
    Ok(measurements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::executor::MockExecutor;

    fn plan(warmup: u32, min_runs: u32, min_time: f64) -> Plan {
        Plan { warmup, min_runs, min_time, max_time: 100.0, max_runs: 1000 }
    }

    fn precise(_: &Measurements) -> bool {
        true
    }

    #[test]
    fn warm_up_then_abba_blocks() {
        let mut mock = MockExecutor::with_walls(&[0.5], &[0.5]);
        let measured = measure(&mut mock, &plan(1, 4, 0.0), &mut precise).unwrap();
        use Side::{Candidate as A, Reference as B};
        assert_eq!(mock.calls, vec![A, B, A, B, B, A, A, B, B, A]);
        assert_eq!(measured.order, vec![A, B, B, A, A, B, B, A]);
        assert_eq!((measured.candidate.len(), measured.reference.len()), (4, 4));
    }

    #[test]
    fn runs_until_each_side_has_its_minimum_time() {
        // The reference takes 1/8 s a run: 1 s needs 8 runs, so 4 blocks; the candidate gets 8 too.
        let mut mock = MockExecutor::with_walls(&[1.0], &[0.125]);
        let measured = measure(&mut mock, &plan(0, 2, 1.0), &mut precise).unwrap();
        assert_eq!(measured.reference.len(), 8);
        assert_eq!(measured.candidate.len(), 8);
    }

    #[test]
    fn the_run_cap_stops_a_plan_that_time_alone_would_not() {
        let mut mock = MockExecutor::with_walls(&[0.0], &[0.0]);
        let measured = measure(
            &mut mock,
            &Plan { warmup: 0, min_runs: 2, min_time: 5.0, max_time: 9.0, max_runs: 6 },
            &mut precise,
        )
        .unwrap();
        assert_eq!(measured.candidate.len(), 6);
    }

    #[test]
    fn goes_on_while_not_precise_enough_and_asks_after_each_block() {
        let mut mock = MockExecutor::with_walls(&[0.5], &[0.5]);
        let mut asked = Vec::new();
        let mut precise_at_ten = |m: &Measurements| {
            asked.push(m.candidate.len());
            m.candidate.len() >= 10
        };
        let measured = measure(&mut mock, &plan(0, 4, 0.0), &mut precise_at_ten).unwrap();
        assert_eq!(measured.candidate.len(), 10);
        assert_eq!(asked, vec![4, 6, 8, 10]);
    }

    #[test]
    fn the_time_budget_ends_the_search_for_precision() {
        // 0.5 s a run, a 3 s budget: 6 runs a side, whatever the precision.
        let mut mock = MockExecutor::with_walls(&[0.5], &[0.5]);
        let budget = Plan { warmup: 0, min_runs: 2, min_time: 1.0, max_time: 3.0, max_runs: 1000 };
        let measured = measure(&mut mock, &budget, &mut |_: &Measurements| false).unwrap();
        assert_eq!((measured.candidate.len(), measured.reference.len()), (6, 6));
    }

    #[test]
    fn a_failed_run_stops_the_plan_and_names_its_side() {
        let failure = RunFailure { side: Side::Reference, reason: "ended with exit code 1".into() };
        let mut mock = MockExecutor::new(
            vec![Ok(Sample { wall: 1.0, cpu: 1.0, memory: 1, instructions: None })],
            vec![Err(failure.clone())],
        );
        assert_eq!(measure(&mut mock, &plan(0, 4, 0.0), &mut precise).unwrap_err(), failure);
        assert_eq!(mock.calls, vec![Side::Candidate, Side::Reference]);
    }

    #[test]
    fn defaults_come_from_the_spec_when_unset() {
        let bench: Bench =
            toml::from_str("name = \"b\"\nruns = 30\nmin_time = \"250ms\"\n[workload]\ngenerator = \"gen.py\"\n")
                .unwrap();
        let plan = Plan::for_bench(&bench);
        assert_eq!((plan.warmup, plan.min_runs, plan.min_time), (Plan::DEFAULT_WARMUP, 30, 0.25));
        assert_eq!(plan.max_time, 0.25 * Plan::DEFAULT_MAX_TIME_FACTOR);
    }
}
