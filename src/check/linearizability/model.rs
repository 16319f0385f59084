//! The sequential specification a history is checked against: a state machine that says whether an
//! operation with a given output is legal in a state, and what state follows.

use std::fmt::Debug;
use std::hash::Hash;

/// A sequential object. The checker looks for an order of the operations, consistent with real time, in
/// which every step is legal.
pub trait Model {
    type Input: Debug;
    type Output: Debug;
    /// Hashed and compared to remember (linearized operations, state) pairs already explored: two states
    /// must be equal exactly when no future operation could tell them apart.
    type State: Clone + Eq + Hash + Debug;

    fn init(&self) -> Self::State;

    /// The state after `input` took effect in `state` and returned `output`, or `None` if that output is
    /// impossible there. `output` is `None` when the outcome is unknown: return the state as if the
    /// operation took effect (the checker covers "never took effect" itself by not requiring it).
    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State>;

    /// The independent component an operation touches (P-compositionality: a history is linearizable iff
    /// each component's sub-history is). `None`, the default, puts every operation in one component.
    fn partition_key(&self, _input: &Self::Input) -> Option<String> {
        None
    }

    /// One operation, readably, e.g. `cas(1, 2) -> ok`. `None` output means the outcome is unknown.
    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(output) => format!("{input:?} -> {output:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}
