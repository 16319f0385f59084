//! Times the linearizability checker on the shared test data and on a generated 10,000-operation kv
//! history from 16 clients (see scripts/bench-linearizability.sh). Bar: every etcd history and the 10k
//! history under 1 s each.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use takehome::check::linearizability::formats::{parse_jepsen_register, parse_kv};
use takehome::check::linearizability::kv::{KvInput, KvModel, KvOp, KvOutput};
use takehome::check::linearizability::register::RegisterModel;
use takehome::check::linearizability::{CheckOptions, History, Operation, Verdict, check};

/// Each timing is the best of this many runs, to keep scheduler noise out of the figures.
const RUNS: usize = 3;

fn best_of<T>(mut run: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut result = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let value = run();
        best = best.min(start.elapsed());
        result = Some(value);
    }
    (result.expect("RUNS > 0"), best)
}

/// splitmix64: a seeded generator, so the generated history is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

enum Phase {
    Idle,
    /// Invoked at `call`; the effect has not happened yet.
    Called {
        input: KvInput,
        call: u64,
    },
    /// The effect happened (its output decided); the reply is on its way.
    Applied {
        input: KvInput,
        call: u64,
        output: KvOutput,
    },
}

/// Runs a linearizable in-memory store with `clients` clients until `operations` operations were issued:
/// each step one random client moves its operation on (invoke, take effect atomically, reply). About 1% of
/// replies are lost (the operation's outcome becomes unknown, whether or not it took effect).
fn generate_kv_history(seed: u64, clients: usize, operations: usize, keys: u64) -> History<KvInput, KvOutput> {
    let mut rng = Rng(seed);
    let mut store: Vec<String> = vec![String::new(); keys as usize];
    let mut phases: Vec<Phase> = (0..clients).map(|_| Phase::Idle).collect();
    let mut history = Vec::with_capacity(operations);
    let mut issued = 0;
    let mut clock = 0;
    while issued < operations || phases.iter().any(|phase| !matches!(phase, Phase::Idle)) {
        clock += 1;
        let client = rng.below(clients as u64) as usize;
        phases[client] = match std::mem::replace(&mut phases[client], Phase::Idle) {
            Phase::Idle if issued < operations => {
                issued += 1;
                let key = rng.below(keys);
                let op = match rng.below(100) {
                    0..45 => KvOp::Get,
                    45..60 => KvOp::Put(format!("p{client}.{issued} ")),
                    _ => KvOp::Append(format!("a{client}.{issued} ")),
                };
                Phase::Called { input: KvInput { key: key.to_string(), op }, call: clock }
            }
            Phase::Idle => Phase::Idle,
            Phase::Called { input, call } => {
                let value = &mut store[input.key.parse::<usize>().expect("generated keys are numbers")];
                let output = match &input.op {
                    KvOp::Get => KvOutput::Value(value.clone()),
                    KvOp::Put(new) => {
                        *value = new.clone();
                        KvOutput::Done
                    }
                    KvOp::Append(suffix) => {
                        value.push_str(suffix);
                        KvOutput::Done
                    }
                };
                Phase::Applied { input, call, output }
            }
            Phase::Applied { input, call, output } => {
                if rng.below(100) == 0 {
                    history.push(Operation::unknown(client as u64, input, call));
                } else {
                    history.push(Operation::returned(client as u64, input, call, clock, output));
                }
                Phase::Idle
            }
        };
    }
    history
}

fn main() {
    let data = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/linearizability"));
    let options = CheckOptions::default();
    // `--show-failures` also prints the failure report of each non-linearizable kv history.
    let show_failures = std::env::args().any(|argument| argument == "--show-failures");

    let etcd = data.join("etcd");
    let mut files: Vec<_> = fs::read_dir(&etcd)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", etcd.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    let histories: Vec<_> = files
        .iter()
        .map(|path| {
            let text = fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let history = parse_jepsen_register(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path.file_name().expect("a file name").to_string_lossy().to_string(), history)
        })
        .collect();
    let mut slowest = (String::new(), Duration::ZERO);
    let mut total = Duration::ZERO;
    let mut linearizable = 0;
    for (name, history) in &histories {
        let (verdict, elapsed) = best_of(|| check(&RegisterModel, history, options));
        linearizable += usize::from(verdict.is_linearizable());
        total += elapsed;
        if elapsed > slowest.1 {
            slowest = (name.clone(), elapsed);
        }
    }
    println!("etcd: {} histories ({linearizable} linearizable)", histories.len());
    println!("etcd: slowest history  {:>10.3?}  ({})", slowest.1, slowest.0);
    println!("etcd: total            {total:>10.3?}");

    let mut kv_total = Duration::ZERO;
    for name in ["c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"] {
        let path = data.join("kv").join(format!("{name}.txt"));
        let text = fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let history = parse_kv(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        let (verdict, elapsed) = best_of(|| check(&KvModel, &history, options));
        kv_total += elapsed;
        let answer = if verdict.is_linearizable() { "linearizable" } else { "not linearizable" };
        println!("kv:   {name:<8} {:>5} ops  {elapsed:>10.3?}  {answer}", history.len());
        if let (true, Verdict::NotLinearizable(failure)) = (show_failures, &verdict) {
            println!("{failure}");
        }
    }
    println!("kv:   total            {kv_total:>10.3?}");

    let generated = generate_kv_history(0x5eed, 16, 10_000, 8);
    let unknown = generated.iter().filter(|op| op.output().is_none()).count();
    let (verdict, elapsed) = best_of(|| check(&KvModel, &generated, options));
    println!(
        "kv:   generated {} ops, 16 clients, 8 keys, {unknown} unknown outcomes: {elapsed:.3?}  {}",
        generated.len(),
        if verdict.is_linearizable() { "linearizable" } else { "NOT linearizable (generator bug?)" }
    );
    if let Verdict::NotLinearizable(failure) = verdict {
        println!("{failure}");
    }
}
