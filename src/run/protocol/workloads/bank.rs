//! The `bank` workload (the concurrency challenge): one node serves many requests in flight over a set of
//! accounts, all opened in setup: `transfer{from, to, amount, work_ms}` -> `transfer_ok` or error 22 when
//! funds are short; `balance{account}` -> `balance_ok{balance}`; `audit` -> `audit_ok{total}`. After the
//! load every account's balance is read, and one audit made.
//!
//! The check, cheapest first: every reply has the right shape; no balance is negative; every audit sees
//! the bank's total (transfers conserve it, so a different total saw a transfer half-applied); each
//! account's final balance is what the transfers that succeeded leave it (a lost update shows here); a
//! request without a reply for the request timeout is a deadlock or stall; the history is linearizable
//! account by account ([`AccountModel`]) and, when small enough to search, as a whole ([`BankModel`]).
//!
//! Options (`[stage.options]`): `accounts` (10), `balance` each starts with (100), `work_ms` each transfer
//! holds its accounts for (0), `max_amount` of a transfer (50), and the shares of `balances` (0.2) and
//! `audits` (0.1) among the requests; the rest are transfers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::options::OptionReader;
use super::{Problem, Problems, Validity, Workload};
use crate::check::linearizability::bank::{AccountInput, AccountModel, BankModel, BankOp, BankOutput};
use crate::check::linearizability::{self, CheckOptions, Operation, Verdict};
use crate::run::protocol::history::{History, OpKind, Pair};
use crate::run::protocol::message::{Body, codes};
use crate::run::protocol::rng::Rng;

/// How long the per-account linearizability search may take before its answer is "unknown".
const ACCOUNT_SEARCH_BUDGET: Duration = Duration::from_secs(5);
/// Histories larger than this (operations × accounts: the search's cost per step grows with both) are not
/// searched as a whole: the bank is one component (audits see every account). The per-account search,
/// the audits and the final balances cover what matters at scale.
const BANK_SEARCH_AT_MOST: u64 = 200_000;
/// The whole-bank search's budget: short, as it often cannot finish with many requests in flight.
const BANK_SEARCH_BUDGET: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct Bank {
    accounts: u64,
    balance: u64,
    work_ms: u64,
    max_amount: u64,
    balances: f64,
    audits: f64,
}

impl Default for Bank {
    fn default() -> Self {
        Bank { accounts: 10, balance: 100, work_ms: 0, max_amount: 50, balances: 0.2, audits: 0.1 }
    }
}

impl Bank {
    /// The workload a stage's options describe.
    pub fn from_options(options: &toml::Table) -> Result<Bank, String> {
        let defaults = Bank::default();
        let mut reader = OptionReader::new(options, "bank");
        let bank = Bank {
            accounts: reader.integer("accounts", defaults.accounts, 2..=100_000)?,
            balance: reader.integer("balance", defaults.balance, 0..=1_000_000_000)?,
            work_ms: reader.integer("work_ms", defaults.work_ms, 0..=1000)?,
            max_amount: reader.integer("max_amount", defaults.max_amount, 1..=1_000_000_000)?,
            balances: reader.share("balances", defaults.balances)?,
            audits: reader.share("audits", defaults.audits)?,
        };
        reader.finish()?;
        if bank.balances + bank.audits > 1.0 {
            return Err(format!(
                "the bank workload's shares of balances ({}) and audits ({}) add up to more than 1",
                bank.balances, bank.audits
            ));
        }
        Ok(bank)
    }

    fn account(&self, index: u64) -> String {
        format!("a{index}")
    }

    fn total(&self) -> i64 {
        (self.accounts * self.balance) as i64
    }
}

impl Workload for Bank {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn setup(&mut self, _node_ids: &[String]) -> Vec<(usize, Body)> {
        (0..self.accounts)
            .map(|index| (0, Body::new("open").with("account", self.account(index)).with("balance", self.balance)))
            .collect()
    }

    fn request(&mut self, _process: u32, rng: &mut Rng) -> Body {
        let roll = rng.unit();
        if roll < self.audits {
            return Body::new("audit");
        }
        if roll < self.audits + self.balances {
            return Body::new("balance").with("account", self.account(rng.below(self.accounts)));
        }
        let from = rng.below(self.accounts);
        let to = (from + 1 + rng.below(self.accounts - 1)) % self.accounts;
        Body::new("transfer")
            .with("from", self.account(from))
            .with("to", self.account(to))
            .with("amount", 1 + rng.below(self.max_amount))
            .with("work_ms", self.work_ms)
    }

    fn final_requests(&mut self, _node_ids: &[String]) -> Vec<(usize, Body)> {
        let balances = (0..self.accounts).map(|index| (0, Body::new("balance").with("account", self.account(index))));
        balances.chain([(0, Body::new("audit"))]).collect()
    }

    fn check(&self, history: &History) -> Validity {
        Checker::new(self).check(history)
    }
}

/// What a reply says, once its shape is checked.
enum Reply {
    Output(BankOutput),
    /// No reply within the timeout, or an indefinite error: it may or may not have happened.
    Unknown {
        timed_out: bool,
    },
    /// A reply that breaks the protocol: the problem's text.
    Malformed(String),
}

struct Checker<'a> {
    bank: &'a Bank,
    problems: Problems,
    counts: BTreeMap<&'static str, usize>,
}

impl<'a> Checker<'a> {
    fn new(bank: &'a Bank) -> Self {
        Checker { bank, problems: Problems::default(), counts: BTreeMap::new() }
    }

    fn count(&mut self, name: &'static str) {
        *self.counts.entry(name).or_default() += 1;
    }

    fn check(mut self, history: &History) -> Validity {
        let pairs = history.pairs();
        let mut operations: Vec<Operation<BankOp, BankOutput>> = (0..self.bank.accounts)
            .map(|index| {
                let open = BankOp::Open { account: self.bank.account(index), balance: self.bank.balance as i64 };
                Operation::returned(0, open, 0, 0, BankOutput::Ok)
            })
            .collect();
        let mut operation_pairs: Vec<Option<usize>> = vec![None; operations.len()];
        let mut expected: BTreeMap<String, i64> =
            (0..self.bank.accounts).map(|index| (self.bank.account(index), self.bank.balance as i64)).collect();
        let mut indefinite_transfers = 0usize;
        let mut final_balances: Vec<(usize, String, i64)> = Vec::new();
        for (pair_index, pair) in pairs.iter().enumerate() {
            let Some(input) = input(pair) else {
                self.problems.add(|| {
                    Problem::new(format!("takehome sent a request it cannot check: {}", pair.invoke.value), Vec::new())
                });
                continue;
            };
            let reply = self.reply(pair, &input);
            let output = match reply {
                Reply::Output(output) => Some(output),
                Reply::Unknown { timed_out } => {
                    if timed_out {
                        self.count("stalled");
                        let at = pair.invoke.time_ns / 1_000_000;
                        let what = request_text(&input);
                        self.problems.add(|| {
                            Problem::new(
                                format!("deadlock or stall: {what} sent at {at} ms was never answered"),
                                pair.indices(),
                            )
                        });
                    }
                    if matches!(input, BankOp::Transfer { .. }) {
                        indefinite_transfers += 1;
                    }
                    None
                }
                Reply::Malformed(text) => {
                    self.count("malformed");
                    self.problems.add(|| Problem::new(text, pair.indices()));
                    continue;
                }
            };
            match (&input, &output) {
                (BankOp::Transfer { from, to, amount }, Some(BankOutput::Ok)) => {
                    self.count("transfers-ok");
                    *expected.entry(from.clone()).or_default() -= amount;
                    *expected.entry(to.clone()).or_default() += amount;
                }
                (BankOp::Transfer { .. }, Some(BankOutput::Refused)) => self.count("transfers-refused"),
                (BankOp::Balance { account }, Some(BankOutput::Balance(balance))) => {
                    if *balance < 0 {
                        self.count("negative-balances");
                        let at = pair.completion.map_or(0, |done| done.time_ns / 1_000_000);
                        self.problems.add(|| {
                            Problem::new(
                                format!("overdraft: {account} held {balance} at {at} ms; no balance may go below 0"),
                                pair.indices(),
                            )
                        });
                    }
                    if pair.is_final() {
                        final_balances.push((pair_index, account.clone(), *balance));
                    }
                }
                (BankOp::Audit, Some(BankOutput::Total(total))) => {
                    self.count("audits");
                    let expected_total = self.bank.total();
                    if *total != expected_total {
                        self.count("bad-audits");
                        let at = pair.invoke.time_ns / 1_000_000;
                        self.problems.add(|| {
                            Problem::new(
                                format!(
                                    "the audit sent at {at} ms returned {total}, but the bank always holds \
                                     {expected_total} (transfers move money, never make or destroy it): the audit \
                                     saw a transfer half-applied, or an update was lost"
                                ),
                                pair.indices(),
                            )
                        });
                    }
                }
                _ => {}
            }
            operation_pairs.push(Some(pair_index));
            operations.push(match output {
                Some(output) => {
                    let returned = pair.completion.map_or(u64::MAX, |done| done.time_ns);
                    Operation::returned(u64::from(pair.invoke.process), input, pair.invoke.time_ns, returned, output)
                }
                None => Operation::unknown(u64::from(pair.invoke.process), input, pair.invoke.time_ns),
            });
        }
        self.check_final_balances(&pairs, &final_balances, &expected, indefinite_transfers);
        let searched = self.search(&pairs, &operations, &operation_pairs);
        self.validity(searched, indefinite_transfers)
    }

    /// The reply to `input`, checked for its shape.
    fn reply(&self, pair: &Pair<'_>, input: &BankOp) -> Reply {
        let what = request_text(input);
        let Some(done) = pair.completion else { return Reply::Unknown { timed_out: false } };
        match done.kind {
            OpKind::Ok => {}
            OpKind::Fail => {
                let (code, text) = done.error.clone().unwrap_or_default();
                return match input {
                    BankOp::Transfer { .. } if code == codes::PRECONDITION_FAILED => Reply::Output(BankOutput::Refused),
                    _ => Reply::Malformed(format!(
                        "{what} was refused with error {code} ({text}), but every account it names exists{}",
                        if matches!(input, BankOp::Transfer { .. }) {
                            "; only short funds refuse a transfer, with error 22"
                        } else {
                            ""
                        }
                    )),
                };
            }
            OpKind::Info | OpKind::Invoke => {
                return Reply::Unknown { timed_out: done.error.as_ref().is_some_and(|(code, _)| *code == 0) };
            }
        }
        let kind = done.value.get("type").and_then(Value::as_str).unwrap_or("");
        let number = |field: &str| done.value.get(field).and_then(Value::as_i64);
        let (expected_kind, output) = match input {
            BankOp::Transfer { .. } => ("transfer_ok", Some(BankOutput::Ok)),
            BankOp::Open { .. } => ("open_ok", Some(BankOutput::Ok)),
            BankOp::Balance { .. } => ("balance_ok", number("balance").map(BankOutput::Balance)),
            BankOp::Audit => ("audit_ok", number("total").map(BankOutput::Total)),
        };
        match output {
            Some(output) if kind == expected_kind => Reply::Output(output),
            _ => Reply::Malformed(format!(
                "{what} was answered with {}, not a {expected_kind}{}",
                done.value,
                match input {
                    BankOp::Balance { .. } => " with an integer `balance`",
                    BankOp::Audit => " with an integer `total`",
                    _ => "",
                }
            )),
        }
    }

    fn check_final_balances(
        &mut self,
        pairs: &[Pair<'_>],
        finals: &[(usize, String, i64)],
        expected: &BTreeMap<String, i64>,
        indefinite_transfers: usize,
    ) {
        if indefinite_transfers > 0 {
            // Which of them happened is unknown, so the final balances are not determined; audits and the
            // linearizability search still judge them.
            return;
        }
        for (pair_index, account, balance) in finals {
            let want = expected.get(account).copied().unwrap_or_default();
            if *balance != want {
                self.count("wrong-final-balances");
                let start = self.bank.balance;
                self.problems.add(|| {
                    Problem::new(
                        format!(
                            "lost update: after the load {account} holds {balance}, but it started with {start} and \
                             the transfers that succeeded leave it with {want}"
                        ),
                        pairs[*pair_index].indices(),
                    )
                });
            }
        }
    }

    /// Searches for a linearization, account by account (cheap at any size), then of the whole bank when
    /// the history is small enough; the outcome in words for the summary.
    fn search(
        &mut self,
        pairs: &[Pair<'_>],
        operations: &[Operation<BankOp, BankOutput>],
        operation_pairs: &[Option<usize>],
    ) -> String {
        if self.problems.count > 0 {
            return "linearizability not searched (the problems below come first)".into();
        }
        let mut account_pairs = Vec::new();
        let mut per_account = Vec::new();
        for (op, pair) in operations.iter().zip(operation_pairs) {
            for input in AccountInput::of(&op.input) {
                account_pairs.push(*pair);
                per_account.push(Operation { client: op.client, input, call: op.call, outcome: op.outcome.clone() });
            }
        }
        let budget = CheckOptions { time_budget: Some(ACCOUNT_SEARCH_BUDGET) };
        let by_account = linearizability::check(&AccountModel, &per_account, budget);
        if !by_account.is_linearizable() {
            return self.judge_search(by_account, pairs, &account_pairs, "per account");
        }
        if operations.len() as u64 * self.bank.accounts > BANK_SEARCH_AT_MOST {
            return "linearizable per account (the whole bank is too large to search)".into();
        }
        let budget = CheckOptions { time_budget: Some(BANK_SEARCH_BUDGET) };
        let whole = linearizability::check(&BankModel, operations, budget);
        format!("linearizable per account; {}", self.judge_search(whole, pairs, operation_pairs, "as a whole"))
    }

    /// A search's verdict in words, and a problem when it failed.
    fn judge_search(
        &mut self,
        verdict: Verdict,
        pairs: &[Pair<'_>],
        operation_pairs: &[Option<usize>],
        scope: &str,
    ) -> String {
        match verdict {
            Verdict::Linearizable => format!("linearizable {scope}"),
            Verdict::Unknown(undecided) => format!("linearizability {scope} {undecided}"),
            Verdict::NotLinearizable(failure) => {
                self.count("not-linearizable");
                let ops: Vec<usize> = failure
                    .stuck
                    .iter()
                    .filter_map(|stuck| operation_pairs.get(stuck.operation.index).copied().flatten())
                    .flat_map(|pair_index| pairs[pair_index].indices())
                    .collect();
                let text = format!(
                    "no order of the requests explains every reply ({scope}; times are ns since the start, client 0 \
                     opened the accounts):\n{failure}"
                );
                self.problems.add(|| Problem::new(text.trim_end().to_owned(), ops));
                format!("not linearizable {scope}")
            }
        }
    }

    fn validity(self, searched: String, indefinite_transfers: usize) -> Validity {
        let count = |name: &str| self.counts.get(name).copied().unwrap_or(0);
        let stalled = count("stalled");
        let mut summary = format!(
            "transfers: {} ok, {} refused, {indefinite_transfers} indefinite; {} audits ({} wrong); {} final \
             balances wrong, {} negative balances; {searched}",
            count("transfers-ok"),
            count("transfers-refused"),
            count("audits"),
            count("bad-audits"),
            count("wrong-final-balances"),
            count("negative-balances"),
        );
        if stalled > 0 {
            summary = format!("deadlock or stall: {stalled} request(s) had no reply in time; {summary}");
        }
        let metrics = [
            "transfers-ok",
            "transfers-refused",
            "audits",
            "bad-audits",
            "negative-balances",
            "wrong-final-balances",
            "stalled",
            "malformed",
        ]
        .into_iter()
        .map(|name| (name.to_owned(), count(name) as f64))
        .collect();
        Validity {
            valid: self.problems.count == 0,
            summary,
            problems: self.problems.shown,
            metrics,
            stalled: stalled > 0,
        }
    }
}

/// A request in words, for problems.
fn request_text(op: &BankOp) -> String {
    match op {
        BankOp::Open { account, balance } => format!("open of {account} with {balance}"),
        BankOp::Transfer { from, to, amount } => format!("transfer of {amount} from {from} to {to}"),
        BankOp::Balance { account } => format!("balance of {account}"),
        BankOp::Audit => "audit".to_owned(),
    }
}

/// The operation a request asked for, from the fields the workload sent.
fn input(pair: &Pair<'_>) -> Option<BankOp> {
    let fields = &pair.invoke.value;
    let text = |field: &str| fields.get(field).and_then(Value::as_str).map(str::to_owned);
    match pair.invoke.f.as_str() {
        "transfer" => Some(BankOp::Transfer {
            from: text("from")?,
            to: text("to")?,
            amount: fields.get("amount").and_then(Value::as_i64)?,
        }),
        "balance" => Some(BankOp::Balance { account: text("account")? }),
        "audit" => Some(BankOp::Audit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::protocol::history::OpPhase;
    use serde_json::json;

    fn at(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn bank(accounts: u64) -> Bank {
        Bank { accounts, balance: 10, ..Bank::default() }
    }

    /// One request and its reply; `reply` None: a timeout.
    fn request(history: &mut History, process: u32, f: &str, fields: Value, times: (u64, u64), reply: Option<Value>) {
        history.invoke(process, f, fields, at(times.0), "n0");
        match reply {
            Some(reply) if reply["type"] == "error" => {
                let error = (reply["code"].as_u64().unwrap_or(0), "short".to_owned());
                history.complete(process, OpKind::Fail, reply, Some(error), at(times.1));
            }
            Some(reply) => {
                history.complete(process, OpKind::Ok, reply, None, at(times.1));
            }
            None => {
                history.complete(process, OpKind::Info, Value::Null, Some((0, "no reply".into())), at(times.1));
            }
        }
    }

    fn transfer(history: &mut History, process: u32, from: &str, to: &str, amount: i64, times: (u64, u64), ok: bool) {
        let reply = if ok { json!({"type": "transfer_ok"}) } else { json!({"type": "error", "code": 22}) };
        let fields = json!({"from": from, "to": to, "amount": amount, "work_ms": 1});
        request(history, process, "transfer", fields, times, Some(reply));
    }

    fn final_balance(history: &mut History, account: &str, balance: i64, time: u64) {
        history.invoke_in(OpPhase::Final, 9, "balance", json!({"account": account}), at(time), "n0");
        let reply = json!({"type": "balance_ok", "balance": balance});
        history.complete(9, OpKind::Ok, reply, None, at(time + 1));
    }

    #[test]
    fn a_correct_concurrent_history_is_valid_and_counted() {
        let mut history = History::default();
        transfer(&mut history, 1, "a0", "a1", 4, (1, 5), true);
        transfer(&mut history, 2, "a1", "a0", 30, (2, 6), false);
        request(&mut history, 3, "audit", json!({}), (3, 4), Some(json!({"type": "audit_ok", "total": 20})));
        final_balance(&mut history, "a0", 6, 10);
        final_balance(&mut history, "a1", 14, 12);
        let validity = bank(2).check(&history);
        assert!(validity.valid, "{validity:?}");
        assert!(validity.summary.contains("1 ok, 1 refused"), "{}", validity.summary);
        assert!(
            validity.summary.ends_with("linearizable per account; linearizable as a whole"),
            "{}",
            validity.summary
        );
        assert_eq!((validity.metrics["audits"], validity.metrics["stalled"]), (1.0, 0.0));
    }

    #[test]
    fn a_lost_update_shows_in_the_final_balances() {
        let mut history = History::default();
        transfer(&mut history, 1, "a0", "a1", 4, (1, 5), true);
        transfer(&mut history, 2, "a0", "a1", 3, (2, 6), true);
        final_balance(&mut history, "a0", 6, 10);
        final_balance(&mut history, "a1", 14, 12);
        let validity = bank(2).check(&history);
        assert!(!validity.valid);
        assert_eq!(validity.metrics["wrong-final-balances"], 2.0);
        assert_eq!(
            validity.problems[0].text,
            "lost update: after the load a0 holds 6, but it started with 10 and the transfers that succeeded leave it \
             with 3"
        );
        assert_eq!(validity.problems[0].ops, vec![4, 5]);
    }

    #[test]
    fn an_audit_that_sees_money_in_flight_is_wrong() {
        let mut history = History::default();
        request(&mut history, 3, "audit", json!({}), (3, 4), Some(json!({"type": "audit_ok", "total": 16})));
        let validity = bank(2).check(&history);
        assert!(!validity.valid);
        assert!(
            validity.problems[0].text.starts_with("the audit sent at 3 ms returned 16, but the bank always holds 20")
        );
    }

    #[test]
    fn a_negative_balance_is_an_overdraft() {
        let mut history = History::default();
        let reply = Some(json!({"type": "balance_ok", "balance": -3}));
        request(&mut history, 1, "balance", json!({"account": "a1"}), (1, 2), reply);
        let validity = bank(2).check(&history);
        assert_eq!(validity.metrics["negative-balances"], 1.0);
        assert_eq!(validity.problems[0].text, "overdraft: a1 held -3 at 2 ms; no balance may go below 0");
    }

    #[test]
    fn requests_left_unanswered_are_a_stall_that_names_them() {
        let mut history = History::default();
        let fields = json!({"from": "a0", "to": "a1", "amount": 2, "work_ms": 5});
        request(&mut history, 1, "transfer", fields.clone(), (100, 5100), None);
        let opposite = json!({"from": "a1", "to": "a0", "amount": 2, "work_ms": 5});
        request(&mut history, 2, "transfer", opposite, (101, 5101), None);
        let validity = bank(2).check(&history);
        assert!(!validity.valid && validity.stalled);
        assert_eq!(validity.metrics["stalled"], 2.0);
        assert!(validity.summary.starts_with("deadlock or stall: 2 request(s)"), "{}", validity.summary);
        assert_eq!(
            validity.problems[0].text,
            "deadlock or stall: transfer of 2 from a0 to a1 sent at 100 ms was never answered"
        );
    }

    #[test]
    fn a_refusal_no_order_explains_is_not_linearizable() {
        let mut history = History::default();
        // a0 holds 10 and nothing ran before: refusing 5 cannot be explained.
        transfer(&mut history, 1, "a0", "a1", 5, (1, 2), false);
        let validity = bank(2).check(&history);
        assert!(!validity.valid);
        assert!(validity.problems[0].text.contains("no order of the requests explains"), "{:?}", validity.problems);
        assert_eq!(validity.problems[0].ops, vec![0, 1]);
    }

    #[test]
    fn a_reply_of_the_wrong_shape_or_error_is_named() {
        let mut history = History::default();
        let reply = Some(json!({"type": "balance_ok", "amount": 3}));
        request(&mut history, 1, "balance", json!({"account": "a1"}), (1, 2), reply);
        let refused = Some(json!({"type": "error", "code": 20}));
        request(&mut history, 2, "audit", json!({}), (3, 4), refused);
        let validity = bank(2).check(&history);
        assert_eq!(validity.metrics["malformed"], 2.0);
        assert!(validity.problems[0].text.contains("not a balance_ok with an integer `balance`"));
        assert!(validity.problems[1].text.starts_with("audit was refused with error 20"));
    }

    #[test]
    fn options_shape_the_requests() {
        let options: toml::Table = "accounts = 3\nwork_ms = 2\nbalances = 0\naudits = 0".parse().expect("toml");
        let mut bank = Bank::from_options(&options).expect("valid");
        let mut rng = Rng::stream(7, &[]);
        for _ in 0..100 {
            let body = bank.request(1, &mut rng);
            assert_eq!(body.kind, "transfer");
            assert_ne!(body.field("from"), body.field("to"));
            assert_eq!(body.field("work_ms"), Some(&json!(2)));
        }
        assert_eq!(bank.setup(&[]).len(), 3);
        assert_eq!(bank.final_requests(&[]).len(), 4);
        let too_much: toml::Table = "balances = 0.7\naudits = 0.5".parse().expect("toml");
        assert!(Bank::from_options(&too_much).unwrap_err().contains("add up to more than 1"));
    }
}
