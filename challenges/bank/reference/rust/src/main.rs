//! Bank node for takehome's `bank` challenge (Maelstrom protocol): accounts, transfers that hold both
//! accounts for `work_ms`, balances and audits, with many requests served at once.
//!
//! Threads: the main thread reads stdin, answers `init` itself (so every later reply knows the node's id)
//! and hands every other request to a fixed pool of `WORKERS` threads through a channel. A worker writes its
//! reply itself, as one whole line in one write while it holds stdout's lock, so two replies never mix.
//! (A writer thread fed by a channel batches better but costs a wake-up per reply; measured over 64
//! requests in flight it used about a quarter more CPU per transfer.)
//!
//! Locks, taken always in this order, so no cycle of waiting threads can form:
//! 1. `Bank::accounts`, a readers-writer lock over the table of accounts. Transfers and balances hold it
//!    shared, so they run side by side; `open` holds it exclusively to add an account; and so does `audit`,
//!    which therefore sums the balances at an instant when no transfer is half-applied. This is cheaper than
//!    taking a thousand account locks in order, each behind a transfer's `work_ms`. Linux's std RwLock
//!    keeps new readers out while a writer waits, so a steady stream of transfers cannot starve an audit.
//! 2. The accounts' own mutexes, in the order of the accounts' names whatever the direction of the
//!    transfer, so two opposing transfers never each hold the lock the other waits for. A transfer holds
//!    both for `work_ms` while it applies itself; a balance holds its one account.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

/// More than the requests takehome keeps in flight, so a worker blocked on a lock never delays a request
/// that could run; well under the sandbox's limit on threads.
const WORKERS: usize = 128;

// Maelstrom error codes.
const NOT_SUPPORTED: u64 = 10;
const MALFORMED_REQUEST: u64 = 12;
const KEY_DOES_NOT_EXIST: u64 = 20;
const KEY_ALREADY_EXISTS: u64 = 21;
const PRECONDITION_FAILED: u64 = 22;

/// A refusal: the error code and its text.
struct Refusal(u64, String);

type Answer = Result<Value, Refusal>;

/// A lock whose holder panicked still guards consistent data here: every update is applied after the last
/// point that can fail.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn text<'a>(body: &'a Value, field: &str) -> Result<&'a str, Refusal> {
    body[field].as_str().ok_or_else(|| Refusal(MALFORMED_REQUEST, format!("`{field}` must be a string")))
}

fn integer(body: &Value, field: &str, at_least: i64) -> Result<i64, Refusal> {
    match body[field].as_i64() {
        Some(value) if value >= at_least => Ok(value),
        _ => Err(Refusal(MALFORMED_REQUEST, format!("`{field}` must be an integer of at least {at_least}"))),
    }
}

#[derive(Default)]
struct Bank {
    accounts: RwLock<BTreeMap<String, Mutex<i64>>>,
}

impl Bank {
    fn open(&self, body: &Value) -> Answer {
        let name = text(body, "account")?;
        let balance = integer(body, "balance", 0)?;
        let mut accounts = self.accounts.write().unwrap_or_else(PoisonError::into_inner);
        if accounts.contains_key(name) {
            return Err(Refusal(KEY_ALREADY_EXISTS, format!("account {name} exists already")));
        }
        accounts.insert(name.to_owned(), Mutex::new(balance));
        Ok(json!({"type": "open_ok"}))
    }

    fn transfer(&self, body: &Value) -> Answer {
        let (from, to) = (text(body, "from")?, text(body, "to")?);
        let amount = integer(body, "amount", 1)?;
        let work_ms = if body.get("work_ms").is_some() { integer(body, "work_ms", 0)? } else { 0 };
        if from == to {
            return Err(Refusal(MALFORMED_REQUEST, format!("a transfer from {from} to itself")));
        }
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        let account =
            |name: &str| accounts.get(name).ok_or_else(|| Refusal(KEY_DOES_NOT_EXIST, format!("no account {name}")));
        let (source, target) = (account(from)?, account(to)?);
        let (mut source_balance, mut target_balance) = if from < to {
            let source_balance = lock(source);
            (source_balance, lock(target))
        } else {
            let target_balance = lock(target);
            (lock(source), target_balance)
        };
        if *source_balance < amount {
            return Err(Refusal(PRECONDITION_FAILED, format!("{from} holds {source_balance}, cannot send {amount}")));
        }
        let Some(credited) = target_balance.checked_add(amount) else {
            return Err(Refusal(PRECONDITION_FAILED, format!("{to} cannot hold {amount} more")));
        };
        thread::sleep(Duration::from_millis(work_ms as u64));
        *source_balance -= amount;
        *target_balance = credited;
        Ok(json!({"type": "transfer_ok"}))
    }

    fn balance(&self, body: &Value) -> Answer {
        let name = text(body, "account")?;
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        let account = accounts.get(name).ok_or_else(|| Refusal(KEY_DOES_NOT_EXIST, format!("no account {name}")))?;
        let balance = *lock(account);
        Ok(json!({"type": "balance_ok", "balance": balance}))
    }

    fn audit(&self) -> Answer {
        let accounts = self.accounts.write().unwrap_or_else(PoisonError::into_inner);
        // Exclusive access to the table means no transfer holds an account: the mutexes are all free.
        let total = accounts.values().try_fold(0i64, |total, balance| total.checked_add(*lock(balance)));
        match total {
            Some(total) => Ok(json!({"type": "audit_ok", "total": total})),
            None => Err(Refusal(PRECONDITION_FAILED, "the total does not fit in 64 bits".to_owned())),
        }
    }

    fn serve(&self, body: &Value) -> Answer {
        match body["type"].as_str().unwrap_or_default() {
            "open" => self.open(body),
            "transfer" => self.transfer(body),
            "balance" => self.balance(body),
            "audit" => self.audit(),
            kind => Err(Refusal(NOT_SUPPORTED, format!("unsupported request type {kind:?}"))),
        }
    }
}

/// What every thread that replies shares.
struct Node {
    id: String,
    next_msg_id: AtomicU64,
    bank: Bank,
}

impl Node {
    fn reply(&self, request: &Value, answer: Answer) {
        let Some(msg_id) = request["body"].get("msg_id") else { return };
        let mut body = match answer {
            Ok(body) => body,
            Err(Refusal(code, text)) => json!({"type": "error", "code": code, "text": text}),
        };
        body["in_reply_to"] = msg_id.clone();
        body["msg_id"] = (self.next_msg_id.fetch_add(1, Ordering::Relaxed) + 1).into();
        let mut line = json!({"src": self.id, "dest": request["src"], "body": body}).to_string();
        line.push('\n');
        // A failed write means takehome has gone: there is no one left to answer.
        let _ = io::stdout().lock().write_all(line.as_bytes());
    }
}

fn spawn_workers(node: &Arc<Node>, requests: Receiver<Value>) -> Vec<thread::JoinHandle<()>> {
    let requests = Arc::new(Mutex::new(requests));
    (0..WORKERS)
        .map(|_| {
            let (node, requests) = (Arc::clone(node), Arc::clone(&requests));
            thread::spawn(move || loop {
                // The guard is dropped at the end of the statement, before the request is served.
                let Ok(request) = lock(&requests).recv() else { return };
                let answer = node.bank.serve(&request["body"]);
                node.reply(&request, answer);
            })
        })
        .collect()
}

/// Reads messages until `init`, answers it and returns the node with its id.
fn initialise(lines: &mut impl Iterator<Item = io::Result<String>>) -> io::Result<Arc<Node>> {
    let mut node = Node { id: String::new(), next_msg_id: AtomicU64::new(0), bank: Bank::default() };
    for line in lines {
        let Some(request) = parse(&line?) else { continue };
        if request["body"]["type"] == "init" {
            node.id = request["body"]["node_id"].as_str().unwrap_or_default().to_owned();
            eprintln!("node {} initialised", node.id);
            node.reply(&request, Ok(json!({"type": "init_ok"})));
            break;
        }
        eprintln!("ignoring a {} before init", request["body"]["type"]);
    }
    Ok(Arc::new(node))
}

fn parse(line: &str) -> Option<Value> {
    if line.trim().is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(line) {
        Ok(message) if message["body"]["type"].is_string() => Some(message),
        Ok(_) => {
            eprintln!("ignoring a message without a body type: {line}");
            None
        }
        Err(error) => {
            eprintln!("ignoring a line that is not JSON ({error})");
            None
        }
    }
}

fn main() -> io::Result<()> {
    let mut lines = io::stdin().lock().lines();
    let node = initialise(&mut lines)?;
    let (requests, queue) = mpsc::channel();
    let workers = spawn_workers(&node, queue);
    for line in lines {
        let Some(request) = parse(&line?) else { continue };
        if requests.send(request).is_err() {
            break;
        }
    }
    // End of input: let the workers answer what is queued.
    drop(requests);
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}
