//! Linearizability checking of concurrent histories, for any challenge whose service is a shared object
//! (a register, a key-value map, a bank). A history is split into independent components
//! (P-compositionality), each searched with Wing & Gong's algorithm and Lowe's memo ([`search`]); a time
//! budget turns an overlong search into an explicit [`Verdict::Unknown`], and a failure names the smallest
//! failing component with the longest linearizable prefix found and the operations that could not follow.

pub mod bank;
pub mod formats;
pub mod history;
pub mod kv;
pub mod model;
pub mod register;
pub mod search;

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

pub use history::{History, HistoryBuilder, Operation, Outcome};
pub use model::Model;
use search::{SearchResult, search};

/// How long the whole check may take; `None` searches to the end, however long that is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    pub time_budget: Option<Duration>,
}

/// The answer for a whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Box<Failure>),
    /// The budget ran out before every component was decided, and none of those decided failed.
    Unknown(Undecided),
}

impl Verdict {
    pub fn is_linearizable(&self) -> bool {
        matches!(self, Verdict::Linearizable)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => write!(f, "linearizable"),
            Verdict::NotLinearizable(failure) => write!(f, "{failure}"),
            Verdict::Unknown(undecided) => write!(f, "{undecided}"),
        }
    }
}

/// Why the verdict is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    pub budget: Duration,
    /// Components shown linearizable before the budget ran out, out of `components`.
    pub decided: usize,
    pub components: usize,
}

impl fmt::Display for Undecided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown: the time budget of {:?} ran out with {} of {} independent component(s) decided (all linearizable)",
            self.budget, self.decided, self.components
        )
    }
}

/// One operation of a failure report, already described by its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedOperation {
    /// Its position in the history given to [`check`].
    pub index: usize,
    pub client: u64,
    pub call: u64,
    /// `None` when the outcome is unknown.
    pub returned: Option<u64>,
    pub text: String,
}

impl fmt::Display for DescribedOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let returned = self.returned.map_or_else(|| "?".to_string(), |at| at.to_string());
        write!(f, "#{} client {} [{}..{}] {}", self.index, self.client, self.call, returned, self.text)
    }
}

/// An operation that could not be placed after the longest linearizable prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckOperation {
    pub operation: DescribedOperation,
    /// Legal in the state after the prefix, but every continuation from there failed; when false, its
    /// output is impossible in that state.
    pub legal_after_prefix: bool,
}

/// The smallest failing sub-history found: one independent component, how far a linearization got and
/// what could not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The component's key (`None` when the model does not partition).
    pub component: Option<String>,
    pub component_operations: usize,
    /// The longest linearizable prefix, in linearization order.
    pub prefix: Vec<DescribedOperation>,
    pub state_after_prefix: String,
    pub stuck: Vec<StuckOperation>,
}

/// How many prefix operations a failure report shows (the last ones, nearest the failure).
const PREFIX_SHOWN: usize = 12;

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.component {
            Some(key) => writeln!(f, "not linearizable: key {key:?} ({} operations)", self.component_operations)?,
            None => writeln!(f, "not linearizable ({} operations)", self.component_operations)?,
        }
        writeln!(
            f,
            "  longest linearizable prefix: {} of {} operations, state after it: {}",
            self.prefix.len(),
            self.component_operations,
            self.state_after_prefix
        )?;
        let hidden = self.prefix.len().saturating_sub(PREFIX_SHOWN);
        if hidden > 0 {
            writeln!(f, "    ... {hidden} earlier operation(s)")?;
        }
        for (position, operation) in self.prefix.iter().enumerate().skip(hidden) {
            writeln!(f, "    {:>4}. {operation}", position + 1)?;
        }
        writeln!(f, "  none of these can come next:")?;
        for stuck in &self.stuck {
            let why = if stuck.legal_after_prefix { "legal here, but leads to a dead end" } else { "impossible here" };
            writeln!(f, "    {}  ({why})", stuck.operation)?;
        }
        Ok(())
    }
}

fn describe<M: Model>(model: &M, index: usize, op: &Operation<M::Input, M::Output>) -> DescribedOperation {
    DescribedOperation {
        index,
        client: op.client,
        call: op.call,
        returned: op.return_time(),
        text: model.describe_operation(&op.input, op.output()),
    }
}

/// Splits the history into independent components by the model's partition key, smallest first (so a
/// failure found first is in the smallest failing component). Each component lists history indices.
fn components<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>]) -> Vec<(Option<String>, Vec<usize>)> {
    let mut by_key: HashMap<Option<String>, Vec<usize>> = HashMap::new();
    for (index, op) in history.iter().enumerate() {
        by_key.entry(model.partition_key(&op.input)).or_default().push(index);
    }
    let mut components: Vec<(Option<String>, Vec<usize>)> = by_key.into_iter().collect();
    components.sort_by(|(key_a, ops_a), (key_b, ops_b)| ops_a.len().cmp(&ops_b.len()).then_with(|| key_a.cmp(key_b)));
    components
}

/// Checks that `history` is linearizable with respect to `model`.
pub fn check<M: Model>(model: &M, history: &[Operation<M::Input, M::Output>], options: CheckOptions) -> Verdict {
    let deadline = options.time_budget.map(|budget| Instant::now() + budget);
    let components = components(model, history);
    let total = components.len();
    let mut decided = 0;
    for (key, indices) in components {
        let ops: Vec<&Operation<M::Input, M::Output>> = indices.iter().map(|&index| &history[index]).collect();
        match search(model, &ops, deadline) {
            SearchResult::Linearizable(_) => decided += 1,
            SearchResult::OutOfTime => {
                // Components not yet searched could still fail, so nothing more can be said.
                return Verdict::Unknown(Undecided {
                    budget: options.time_budget.unwrap_or_default(),
                    decided,
                    components: total,
                });
            }
            SearchResult::NotLinearizable(dead_end) => {
                let stuck = dead_end
                    .stuck
                    .iter()
                    .map(|&local| {
                        let op = ops[local];
                        StuckOperation {
                            operation: describe(model, indices[local], op),
                            legal_after_prefix: model.step(&dead_end.state, &op.input, op.output()).is_some(),
                        }
                    })
                    .collect();
                return Verdict::NotLinearizable(Box::new(Failure {
                    component: key,
                    component_operations: ops.len(),
                    prefix: dead_end.prefix.iter().map(|&local| describe(model, indices[local], ops[local])).collect(),
                    state_after_prefix: model.describe_state(&dead_end.state),
                    stuck,
                }));
            }
        }
    }
    Verdict::Linearizable
}

#[cfg(test)]
mod tests {
    use super::register::{RegisterInput, RegisterModel, RegisterOp, RegisterOutput};
    use super::*;

    fn write(client: u64, value: i64, call: u64, ret: u64) -> Operation<RegisterInput, RegisterOutput> {
        Operation::returned(client, RegisterInput::single(RegisterOp::Write(value)), call, ret, RegisterOutput::Written)
    }

    fn read(client: u64, value: Option<i64>, call: u64, ret: u64) -> Operation<RegisterInput, RegisterOutput> {
        Operation::returned(client, RegisterInput::single(RegisterOp::Read), call, ret, RegisterOutput::Read(value))
    }

    /// Twenty overlapping writes then a read of a value nobody wrote: refuting it means trying a large
    /// share of the 2^20 orders of the writes.
    fn hard_history() -> Vec<Operation<RegisterInput, RegisterOutput>> {
        let mut history: Vec<_> = (0..20).map(|client| write(client, client as i64, client, 100 + client)).collect();
        history.push(read(99, Some(999), 200, 201));
        history
    }

    #[test]
    fn exhausted_budget_gives_unknown_not_a_guess() {
        let options = CheckOptions { time_budget: Some(Duration::ZERO) };
        let verdict = check(&RegisterModel, &hard_history(), options);
        assert_eq!(verdict, Verdict::Unknown(Undecided { budget: Duration::ZERO, decided: 0, components: 1 }));
        assert!(verdict.to_string().starts_with("unknown: the time budget"), "{verdict}");
    }

    #[test]
    fn empty_history_and_unknown_only_history_are_linearizable() {
        assert_eq!(check(&RegisterModel, &[], CheckOptions::default()), Verdict::Linearizable);
        let pending = [Operation::unknown(0, RegisterInput::single(RegisterOp::Write(1)), 0)];
        assert_eq!(check(&RegisterModel, &pending, CheckOptions::default()), Verdict::Linearizable);
    }

    #[test]
    fn failure_reports_longest_prefix_and_names_the_operations_that_cannot_follow() {
        let history = [write(0, 1, 0, 10), read(1, Some(1), 11, 12), write(0, 2, 13, 14), read(1, Some(1), 15, 16)];
        let Verdict::NotLinearizable(failure) = check(&RegisterModel, &history, CheckOptions::default()) else {
            panic!("expected a failure");
        };
        let prefix: Vec<usize> = failure.prefix.iter().map(|op| op.index).collect();
        assert_eq!(prefix, vec![0, 1, 2]);
        assert_eq!(failure.state_after_prefix, "2");
        assert_eq!(failure.stuck.len(), 1);
        assert_eq!(failure.stuck[0].operation.index, 3);
        assert!(!failure.stuck[0].legal_after_prefix);
        let text = failure.to_string();
        assert!(text.contains("longest linearizable prefix: 3 of 4 operations, state after it: 2"), "{text}");
        assert!(text.contains("#2 client 0 [13..14] write(2) -> ok"), "{text}");
        assert!(text.contains("#3 client 1 [15..16] read() -> 1  (impossible here)"), "{text}");
    }

    #[test]
    fn failure_is_reported_for_the_smallest_failing_component() {
        let keyed =
            |key: &str, op, call, output| Operation::returned(0, RegisterInput::keyed(key, op), call, call + 1, output);
        let mut history = Vec::new();
        for call in 0..5 {
            history.push(keyed("big", RegisterOp::Read, call * 2, RegisterOutput::Read(Some(5))));
        }
        history.push(keyed("small", RegisterOp::Read, 20, RegisterOutput::Read(Some(3))));
        let Verdict::NotLinearizable(failure) = check(&RegisterModel, &history, CheckOptions::default()) else {
            panic!("expected a failure");
        };
        assert_eq!(failure.component.as_deref(), Some("small"));
        assert!(failure.to_string().starts_with("not linearizable: key \"small\" (1 operations)"), "{failure}");
    }
}
