//! A key-value map of strings with get/put/append (the `kv` histories of the shared test data). Every key
//! starts as the empty string; keys are independent, so the history is checked key by key.

use super::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOp {
    Get,
    Put(String),
    Append(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvInput {
    pub key: String,
    pub op: KvOp,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// What a get returned.
    Value(String),
    /// A put or append was acknowledged.
    Done,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct KvModel;

impl Model for KvModel {
    type Input = KvInput;
    type Output = KvOutput;
    /// The value of the key of the component being checked.
    type State = String;

    fn init(&self) -> Self::State {
        String::new()
    }

    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        match (&input.op, output) {
            (KvOp::Get, None) => Some(state.clone()),
            (KvOp::Get, Some(KvOutput::Value(value))) => (value == state).then(|| state.clone()),
            (KvOp::Put(value), None | Some(KvOutput::Done)) => Some(value.clone()),
            (KvOp::Append(suffix), None | Some(KvOutput::Done)) => {
                let mut value = String::with_capacity(state.len() + suffix.len());
                value.push_str(state);
                value.push_str(suffix);
                Some(value)
            }
            _ => None,
        }
    }

    fn partition_key(&self, input: &Self::Input) -> Option<String> {
        Some(input.key.clone())
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        let key = &input.key;
        let done = if output.is_some() { "ok" } else { "?" };
        match (&input.op, output) {
            (KvOp::Get, Some(KvOutput::Value(value))) => format!("get({key:?}) -> {value:?}"),
            (KvOp::Get, _) => format!("get({key:?}) -> ?"),
            (KvOp::Put(value), _) => format!("put({key:?}, {value:?}) -> {done}"),
            (KvOp::Append(value), _) => format!("append({key:?}, {value:?}) -> {done}"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::linearizability::{CheckOptions, Operation, Verdict, check};

    fn input(key: &str, op: KvOp) -> KvInput {
        KvInput { key: key.to_string(), op }
    }

    fn get(client: u64, key: &str, call: u64, ret: u64, value: &str) -> Operation<KvInput, KvOutput> {
        Operation::returned(client, input(key, KvOp::Get), call, ret, KvOutput::Value(value.to_string()))
    }

    fn append(client: u64, key: &str, call: u64, ret: u64, value: &str) -> Operation<KvInput, KvOutput> {
        Operation::returned(client, input(key, KvOp::Append(value.to_string())), call, ret, KvOutput::Done)
    }

    #[test]
    fn concurrent_appends_in_either_order_are_linearizable() {
        let history = [append(0, "k", 0, 10, "a"), append(1, "k", 1, 9, "b"), get(2, "k", 11, 12, "ba")];
        assert_eq!(check(&KvModel, &history, CheckOptions::default()), Verdict::Linearizable);
    }

    #[test]
    fn get_missing_an_acknowledged_append_is_not_linearizable() {
        let history = [append(0, "k", 0, 1, "a"), get(1, "k", 2, 3, "")];
        assert!(matches!(check(&KvModel, &history, CheckOptions::default()), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn timed_out_put_must_be_assumed_to_have_happened() {
        let history = [
            Operation::unknown(0, input("k", KvOp::Put("x".to_string())), 0),
            get(1, "k", 5, 6, "x"),
            append(1, "k", 7, 8, "y"),
            get(1, "k", 9, 10, "xy"),
        ];
        assert_eq!(check(&KvModel, &history, CheckOptions::default()), Verdict::Linearizable);
    }

    #[test]
    fn timed_out_append_must_be_assumed_not_to_have_happened() {
        let history = [
            append(1, "k", 0, 1, "a"),
            Operation::unknown(0, input("k", KvOp::Append("z".to_string())), 2),
            get(1, "k", 5, 6, "a"),
        ];
        assert_eq!(check(&KvModel, &history, CheckOptions::default()), Verdict::Linearizable);
    }

    #[test]
    fn other_keys_do_not_interfere() {
        let history =
            [append(0, "a", 0, 1, "1"), append(0, "b", 2, 3, "2"), get(1, "a", 4, 5, "1"), get(1, "b", 4, 5, "2")];
        assert_eq!(check(&KvModel, &history, CheckOptions::default()), Verdict::Linearizable);
    }
}
