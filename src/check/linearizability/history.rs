//! A concurrent history: operations with the time each was called and, when known, the time it returned and
//! what it returned. An operation whose outcome is unknown (a timeout, a crash, no reply by the end) may or
//! may not have taken effect, at any time after its call.

use std::collections::HashMap;

/// How an operation ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<O> {
    /// A reply arrived at `at` (same clock as the call) carrying `output`.
    Returned { at: u64, output: O },
    /// No usable reply: the operation may have taken effect at any time after its call, or never.
    Unknown,
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation<I, O> {
    /// Who issued it; only used to describe the operation.
    pub client: u64,
    pub input: I,
    /// When it was called; any monotonic clock shared by every client (event indices will do).
    pub call: u64,
    pub outcome: Outcome<O>,
}

impl<I, O> Operation<I, O> {
    pub fn returned(client: u64, input: I, call: u64, at: u64, output: O) -> Self {
        Operation { client, input, call, outcome: Outcome::Returned { at, output } }
    }

    pub fn unknown(client: u64, input: I, call: u64) -> Self {
        Operation { client, input, call, outcome: Outcome::Unknown }
    }

    /// The output, or `None` when the outcome is unknown.
    pub fn output(&self) -> Option<&O> {
        match &self.outcome {
            Outcome::Returned { output, .. } => Some(output),
            Outcome::Unknown => None,
        }
    }

    /// The return time, or `None` when the outcome is unknown (it could still take effect at any later time).
    pub fn return_time(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Returned { at, .. } => Some(at),
            Outcome::Unknown => None,
        }
    }
}

/// A history is just its operations, in any order.
pub type History<I, O> = Vec<Operation<I, O>>;

/// A completion event that did not match the history being built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("client {client} completes an operation it never invoked")]
    CompletionWithoutInvoke { client: u64 },
    #[error("client {client} invokes an operation while its previous one is still pending")]
    InvokeWhilePending { client: u64 },
}

/// Builds a history from a log of invoke/complete events (Jepsen style: each client has at most one
/// operation in flight). Time is the event's position in the log. Operations still pending at the end have
/// an unknown outcome.
#[derive(Debug)]
pub struct HistoryBuilder<I, O> {
    pending: HashMap<u64, (I, u64)>,
    operations: History<I, O>,
    clock: u64,
}

impl<I, O> Default for HistoryBuilder<I, O> {
    fn default() -> Self {
        HistoryBuilder { pending: HashMap::new(), operations: Vec::new(), clock: 0 }
    }
}

impl<I, O> HistoryBuilder<I, O> {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    pub fn invoke(&mut self, client: u64, input: I) -> Result<(), EventError> {
        if self.pending.contains_key(&client) {
            return Err(EventError::InvokeWhilePending { client });
        }
        let now = self.tick();
        self.pending.insert(client, (input, now));
        Ok(())
    }

    /// The pending operation of `client`, to let a parser read the input back (e.g. a cas completion).
    pub fn pending_input(&self, client: u64) -> Option<&I> {
        self.pending.get(&client).map(|(input, _)| input)
    }

    /// The client's pending operation returned `output`.
    pub fn complete(&mut self, client: u64, output: O) -> Result<(), EventError> {
        let (input, call) = self.pending.remove(&client).ok_or(EventError::CompletionWithoutInvoke { client })?;
        let now = self.tick();
        self.operations.push(Operation::returned(client, input, call, now, output));
        Ok(())
    }

    /// The client gave up on its pending operation (a timeout): it may or may not take effect.
    pub fn give_up(&mut self, client: u64) -> Result<(), EventError> {
        let (input, call) = self.pending.remove(&client).ok_or(EventError::CompletionWithoutInvoke { client })?;
        self.tick();
        self.operations.push(Operation::unknown(client, input, call));
        Ok(())
    }

    /// The client's pending operation definitely did not take effect: it is left out of the history.
    pub fn fail(&mut self, client: u64) -> Result<(), EventError> {
        self.pending.remove(&client).ok_or(EventError::CompletionWithoutInvoke { client })?;
        self.tick();
        Ok(())
    }

    /// The history, with every operation still pending given an unknown outcome.
    pub fn finish(mut self) -> History<I, O> {
        let mut pending: Vec<(u64, (I, u64))> = self.pending.drain().collect();
        pending.sort_by_key(|(_, (_, call))| *call);
        for (client, (input, call)) in pending {
            self.operations.push(Operation::unknown(client, input, call));
        }
        self.operations.sort_by_key(|op| op.call);
        self.operations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_times_operations_by_event_order_and_leaves_pending_ones_unknown() {
        let mut builder: HistoryBuilder<&str, i32> = HistoryBuilder::new();
        builder.invoke(1, "a").unwrap();
        builder.invoke(2, "b").unwrap();
        builder.complete(1, 10).unwrap();
        builder.invoke(3, "c").unwrap();
        builder.give_up(3).unwrap();
        let history = builder.finish();
        assert_eq!(
            history,
            vec![Operation::returned(1, "a", 1, 3, 10), Operation::unknown(2, "b", 2), Operation::unknown(3, "c", 4),]
        );
    }

    #[test]
    fn builder_rejects_completion_without_invoke_and_double_invoke() {
        let mut builder: HistoryBuilder<&str, i32> = HistoryBuilder::new();
        assert_eq!(builder.complete(7, 1), Err(EventError::CompletionWithoutInvoke { client: 7 }));
        builder.invoke(7, "x").unwrap();
        assert_eq!(builder.invoke(7, "y"), Err(EventError::InvokeWhilePending { client: 7 }));
    }

    #[test]
    fn failed_operation_is_left_out() {
        let mut builder: HistoryBuilder<&str, i32> = HistoryBuilder::new();
        builder.invoke(1, "a").unwrap();
        builder.fail(1).unwrap();
        assert!(builder.finish().is_empty());
    }
}
