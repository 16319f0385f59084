//! A read/write/compare-and-set register, optionally one per key (as Maelstrom's `lin-kv` or Jepsen's
//! etcd test). A register starts absent (`nil`); a read of an absent register returns `None`.

use super::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOp {
    Read,
    Write(i64),
    /// Sets `to` if the value is `from`; replies whether it did.
    Cas {
        from: i64,
        to: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegisterInput {
    /// Which register; `None` for a history over a single one. Registers of different keys are independent.
    pub key: Option<String>,
    pub op: RegisterOp,
}

impl RegisterInput {
    pub fn single(op: RegisterOp) -> Self {
        RegisterInput { key: None, op }
    }

    pub fn keyed(key: impl Into<String>, op: RegisterOp) -> Self {
        RegisterInput { key: Some(key.into()), op }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    /// The value read; `None` when the register was never written.
    Read(Option<i64>),
    Written,
    /// Whether the compare-and-set applied.
    Cas(bool),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct RegisterModel;

fn show(value: Option<i64>) -> String {
    value.map_or_else(|| "nil".to_string(), |value| value.to_string())
}

impl Model for RegisterModel {
    type Input = RegisterInput;
    type Output = RegisterOutput;
    type State = Option<i64>;

    fn init(&self) -> Self::State {
        None
    }

    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        match (&input.op, output) {
            (RegisterOp::Read, None) => Some(*state),
            (RegisterOp::Read, Some(RegisterOutput::Read(value))) => (value == state).then_some(*state),
            (RegisterOp::Write(value), None | Some(RegisterOutput::Written)) => Some(Some(*value)),
            (RegisterOp::Cas { from, to }, None) => Some(if *state == Some(*from) { Some(*to) } else { *state }),
            (RegisterOp::Cas { from, to }, Some(RegisterOutput::Cas(applied))) => {
                let matches = *state == Some(*from);
                (matches == *applied).then_some(if matches { Some(*to) } else { *state })
            }
            // An output of the wrong kind is impossible in every state.
            _ => None,
        }
    }

    fn partition_key(&self, input: &Self::Input) -> Option<String> {
        input.key.clone()
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        let key = input.key.as_ref().map_or_else(String::new, |key| format!("{key:?}: "));
        let result = match output {
            None => "?".to_string(),
            Some(RegisterOutput::Read(value)) => show(*value),
            Some(RegisterOutput::Written) => "ok".to_string(),
            Some(RegisterOutput::Cas(applied)) => if *applied { "ok" } else { "fail" }.to_string(),
        };
        match &input.op {
            RegisterOp::Read => format!("{key}read() -> {result}"),
            RegisterOp::Write(value) => format!("{key}write({value}) -> {result}"),
            RegisterOp::Cas { from, to } => format!("{key}cas({from}, {to}) -> {result}"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        show(*state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::linearizability::{CheckOptions, Operation, Verdict, check};

    fn op(
        client: u64,
        op: RegisterOp,
        call: u64,
        ret: u64,
        output: RegisterOutput,
    ) -> Operation<RegisterInput, RegisterOutput> {
        Operation::returned(client, RegisterInput::single(op), call, ret, output)
    }

    fn verdict(history: &[Operation<RegisterInput, RegisterOutput>]) -> Verdict {
        check(&RegisterModel, history, CheckOptions::default())
    }

    #[test]
    fn concurrent_reads_of_old_and_new_value_are_linearizable() {
        // The 6.824 example: write(100) overlaps a read of 100 that itself overlaps a later read of nil.
        let history = [
            op(0, RegisterOp::Write(100), 0, 100, RegisterOutput::Written),
            op(1, RegisterOp::Read, 25, 75, RegisterOutput::Read(Some(100))),
            op(2, RegisterOp::Read, 30, 60, RegisterOutput::Read(None)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn reading_old_value_after_new_value_was_read_is_not_linearizable() {
        let history = [
            op(0, RegisterOp::Write(200), 0, 100, RegisterOutput::Written),
            op(1, RegisterOp::Read, 10, 30, RegisterOutput::Read(Some(200))),
            op(2, RegisterOp::Read, 40, 90, RegisterOutput::Read(None)),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn cas_must_fail_exactly_when_value_differs() {
        let ok = [
            op(0, RegisterOp::Write(1), 0, 1, RegisterOutput::Written),
            op(0, RegisterOp::Cas { from: 1, to: 2 }, 2, 3, RegisterOutput::Cas(true)),
            op(0, RegisterOp::Cas { from: 1, to: 3 }, 4, 5, RegisterOutput::Cas(false)),
            op(0, RegisterOp::Read, 6, 7, RegisterOutput::Read(Some(2))),
        ];
        assert_eq!(verdict(&ok), Verdict::Linearizable);
        let bad = [
            op(0, RegisterOp::Write(1), 0, 1, RegisterOutput::Written),
            op(0, RegisterOp::Cas { from: 1, to: 2 }, 2, 3, RegisterOutput::Cas(false)),
        ];
        assert!(matches!(verdict(&bad), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn timed_out_write_must_be_assumed_to_have_happened_when_later_read_sees_it() {
        let history = [
            Operation::unknown(0, RegisterInput::single(RegisterOp::Write(7)), 0),
            op(1, RegisterOp::Read, 10, 11, RegisterOutput::Read(Some(7))),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn timed_out_write_must_be_assumed_not_to_have_happened_when_no_read_sees_it() {
        let history = [
            Operation::unknown(0, RegisterInput::single(RegisterOp::Write(7)), 0),
            op(1, RegisterOp::Read, 10, 11, RegisterOutput::Read(None)),
            op(1, RegisterOp::Read, 12, 13, RegisterOutput::Read(None)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn timed_out_write_cannot_take_effect_before_its_call() {
        let history = [
            op(1, RegisterOp::Read, 0, 1, RegisterOutput::Read(Some(7))),
            Operation::unknown(0, RegisterInput::single(RegisterOp::Write(7)), 5),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn keys_are_checked_independently_and_failure_names_the_key() {
        let write = |key: &str, value, call| {
            Operation::returned(
                0,
                RegisterInput::keyed(key, RegisterOp::Write(value)),
                call,
                call + 1,
                RegisterOutput::Written,
            )
        };
        let read = |key: &str, value, call| {
            Operation::returned(
                1,
                RegisterInput::keyed(key, RegisterOp::Read),
                call,
                call + 1,
                RegisterOutput::Read(value),
            )
        };
        let history = [write("a", 1, 0), write("b", 2, 2), read("a", Some(1), 4), read("b", Some(1), 6)];
        let Verdict::NotLinearizable(failure) = verdict(&history) else { panic!("expected a failure") };
        assert_eq!(failure.component.as_deref(), Some("b"));
        assert_eq!(failure.component_operations, 2);
    }
}
