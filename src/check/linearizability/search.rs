//! The search for a linearization of one independent sub-history: Wing & Gong's backtracking over the
//! operations that may go next, with Lowe's memo of (set of linearized operations, model state) so a
//! configuration already shown to be a dead end is never explored twice.
//!
//! Call and return events sit in one doubly linked list sorted by time. Walking from the head, every call
//! met before the first return is a candidate to linearize next; linearizing one lifts its call and return
//! out of the list and restarts from the head. Meeting a return means its operation should already have
//! been linearized, so the search backtracks. An operation with an unknown outcome has no return event: it
//! may be linearized any time after its call, or never, and the search succeeds once every return is gone.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::time::Instant;

use super::history::Operation;
use super::model::Model;

const NIL: u32 = u32::MAX;
/// How many steps run between two looks at the clock.
const STEPS_PER_CLOCK_CHECK: u32 = 1 << 10;

/// How the search of one sub-history ended.
#[derive(Debug)]
pub enum SearchResult<S> {
    /// Indices (into the sub-history) in a legal linearization order; unknown-outcome operations that
    /// were never needed are left out.
    Linearizable(Vec<usize>),
    NotLinearizable(DeadEnd<S>),
    /// The deadline passed first.
    OutOfTime,
}

/// The furthest the search got before every branch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadEnd<S> {
    /// The longest linearizable prefix found, as indices in linearization order.
    pub prefix: Vec<usize>,
    /// The model state after that prefix.
    pub state: S,
    /// Operations that were candidates to go next after the prefix, none of which led to a linearization.
    /// The last one is the operation whose return was reached while it was still unplaced.
    pub stuck: Vec<usize>,
}

/// A fast, non-cryptographic hasher (the Fx multiply-rotate scheme) for the memo, whose keys are built
/// by this module and need no protection against collision attacks.
#[derive(Default)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The set of linearized operations, with a Zobrist hash kept up to date on every change so hashing a memo
/// key costs O(1) in the number of operations.
#[derive(Clone)]
struct Linearized {
    words: Vec<u64>,
    zobrist: u64,
}

/// A per-operation random key (splitmix64 of the index): XOR-ing the keys of the members hashes the set.
fn zobrist_key(index: usize) -> u64 {
    let mut z = (index as u64).wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Linearized {
    fn new(len: usize) -> Self {
        Linearized { words: vec![0; len.div_ceil(64)], zobrist: 0 }
    }

    fn toggle(&mut self, index: usize, key: u64) {
        self.words[index / 64] ^= 1 << (index % 64);
        self.zobrist ^= key;
    }
}

/// Hashes a key that is already well mixed by passing it through.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 << 8) | u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Lowe's memo: every (linearized set, state) pair reached so far. Sets are stored back to back with a
/// fixed stride and chained per hash, so a lookup allocates nothing.
struct Memo<S> {
    stride: usize,
    sets: Vec<u64>,
    states: Vec<S>,
    /// For entry `i`, the previous entry with the same hash (`NIL` ends the chain).
    chain: Vec<u32>,
    newest_by_hash: HashMap<u64, u32, BuildHasherDefault<PassThroughHasher>>,
}

impl<S: Eq + Hash + Clone> Memo<S> {
    fn new(stride: usize) -> Self {
        Memo { stride, sets: Vec::new(), states: Vec::new(), chain: Vec::new(), newest_by_hash: HashMap::default() }
    }

    /// Records the pair; false if it was already there.
    fn insert(&mut self, set: &Linearized, state: &S) -> bool {
        let mut hasher = FxHasher::default();
        state.hash(&mut hasher);
        let hash = set.zobrist ^ hasher.finish().rotate_left(29);
        let newest = self.newest_by_hash.get(&hash).copied().unwrap_or(NIL);
        let mut entry = newest;
        while entry != NIL {
            let at = entry as usize;
            if self.sets[at * self.stride..(at + 1) * self.stride] == set.words[..] && self.states[at] == *state {
                return false;
            }
            entry = self.chain[at];
        }
        let index = self.states.len() as u32;
        self.sets.extend_from_slice(&set.words);
        self.states.push(state.clone());
        self.chain.push(newest);
        self.newest_by_hash.insert(hash, index);
        true
    }
}

/// The event list: node `i` for `i < events` is a call or return event, node `events` is the head.
struct EventList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// For a call node, its operation's index; for a return node, `NIL`.
    op_of_call: Vec<u32>,
    /// For a call node, its return node (`NIL` when the outcome is unknown).
    return_of_call: Vec<u32>,
    head: u32,
}

impl EventList {
    fn build<I, O>(ops: &[&Operation<I, O>]) -> Self {
        // (time, returns sort after calls at the same time, op index): operations touching at one instant
        // count as concurrent.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (index, op) in ops.iter().enumerate() {
            events.push((op.call, false, index));
            if let Some(at) = op.return_time() {
                // A reply timed before its call is taken as instantaneous rather than rejected.
                events.push((at.max(op.call), true, index));
            }
        }
        events.sort_unstable();
        let count = events.len();
        let head = count as u32;
        let mut list = EventList {
            next: vec![NIL; count + 1],
            prev: vec![NIL; count + 1],
            op_of_call: vec![NIL; count],
            return_of_call: vec![NIL; count],
            head,
        };
        let mut call_node = vec![NIL; ops.len()];
        for (node, &(_, is_return, index)) in events.iter().enumerate() {
            if is_return {
                list.return_of_call[call_node[index] as usize] = node as u32;
            } else {
                call_node[index] = node as u32;
                list.op_of_call[node] = index as u32;
            }
        }
        let mut previous = head;
        for node in 0..count as u32 {
            list.next[previous as usize] = node;
            list.prev[node as usize] = previous;
            previous = node;
        }
        list
    }

    fn unlink(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = next;
        if next != NIL {
            self.prev[next as usize] = prev;
        }
    }

    fn relink(&mut self, node: u32) {
        let (prev, next) = (self.prev[node as usize], self.next[node as usize]);
        self.next[prev as usize] = node;
        if next != NIL {
            self.prev[next as usize] = node;
        }
    }

    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.return_of_call[call as usize];
        if ret != NIL {
            self.unlink(ret);
        }
    }

    fn unlift(&mut self, call: u32) {
        let ret = self.return_of_call[call as usize];
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }

    /// The operations whose calls come before `stop` (exclusive) in the current list.
    fn calls_before(&self, stop: u32) -> Vec<usize> {
        let mut ops = Vec::new();
        let mut node = self.next[self.head as usize];
        while node != NIL && node != stop {
            if self.op_of_call[node as usize] != NIL {
                ops.push(self.op_of_call[node as usize] as usize);
            }
            node = self.next[node as usize];
        }
        ops
    }
}

/// Searches for a linearization of `ops` (one independent component) under `model`, giving up at
/// `deadline`.
pub fn search<M: Model>(
    model: &M,
    ops: &[&Operation<M::Input, M::Output>],
    deadline: Option<Instant>,
) -> SearchResult<M::State> {
    let mut list = EventList::build(ops);
    let keys: Vec<u64> = (0..ops.len()).map(zobrist_key).collect();
    let mut linearized = Linearized::new(ops.len());
    let mut memo: Memo<M::State> = Memo::new(linearized.words.len());
    let mut returns_left = ops.iter().filter(|op| op.return_time().is_some()).count();
    // Each frame: the call node linearized and the state before it.
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut state = model.init();
    let mut deepest: Option<DeadEnd<M::State>> = None;
    let mut node = list.next[list.head as usize];
    let mut steps_until_clock = STEPS_PER_CLOCK_CHECK;

    while returns_left > 0 {
        steps_until_clock -= 1;
        if steps_until_clock == 0 {
            steps_until_clock = STEPS_PER_CLOCK_CHECK;
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return SearchResult::OutOfTime;
            }
        }

        let op_index = if node == NIL { NIL } else { list.op_of_call[node as usize] };
        if op_index != NIL {
            let index = op_index as usize;
            let op = ops[index];
            let known_return = list.return_of_call[node as usize] != NIL;
            let next_state = model.step(&state, &op.input, op.output());
            // An unknown-outcome operation that changes nothing never has to be placed, so placing it is a
            // branch that cannot help.
            let next_state = next_state.filter(|next| known_return || *next != state);
            if let Some(next_state) = next_state {
                linearized.toggle(index, keys[index]);
                if memo.insert(&linearized, &next_state) {
                    stack.push((node, std::mem::replace(&mut state, next_state)));
                    list.lift(node);
                    if known_return {
                        returns_left -= 1;
                    }
                    node = list.next[list.head as usize];
                } else {
                    linearized.toggle(index, keys[index]);
                    node = list.next[node as usize];
                }
            } else {
                node = list.next[node as usize];
            }
            continue;
        }

        // A return (or the end of the list): the operations before it can no longer be ordered from here.
        if deepest.as_ref().is_none_or(|deepest| stack.len() > deepest.prefix.len()) {
            let prefix = stack.iter().map(|(call, _)| list.op_of_call[*call as usize] as usize).collect();
            deepest = Some(DeadEnd { prefix, state: state.clone(), stuck: list.calls_before(node) });
        }
        let Some((call, previous_state)) = stack.pop() else {
            break;
        };
        state = previous_state;
        let index = list.op_of_call[call as usize] as usize;
        linearized.toggle(index, keys[index]);
        list.unlift(call);
        if list.return_of_call[call as usize] != NIL {
            returns_left += 1;
        }
        node = list.next[call as usize];
    }

    if returns_left == 0 {
        let order = stack.iter().map(|(call, _)| list.op_of_call[*call as usize] as usize).collect();
        return SearchResult::Linearizable(order);
    }
    SearchResult::NotLinearizable(deepest.unwrap_or_else(|| DeadEnd {
        prefix: Vec::new(),
        state: model.init(),
        stuck: Vec::new(),
    }))
}
