//! A bank of named accounts, the object of the `bank` challenge. Rules (the sequential specification):
//! - `open(account, balance)` creates the account; refused if it already exists or the balance is negative.
//! - `transfer(from, to, amount)` moves `amount` if both accounts exist, the amount is not negative and
//!   `from` holds at least `amount` (a transfer to the same account changes nothing); refused otherwise.
//! - `balance(account)` returns the balance; refused if the account does not exist.
//! - `audit` returns the sum of all balances.
//!
//! Transfers tie accounts together and audits see all of them, so a bank history is one component, whose
//! search grows quickly with the requests in flight. [`AccountModel`] is the bank seen from one account at
//! a time (its opening, its transfers' debit or credit, its balance reads): a history linearizable for
//! the bank is linearizable for each account, and the per-account search is cheap, so it is the check
//! that runs at any size.

use std::collections::BTreeMap;

use super::model::Model;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BankOp {
    Open { account: String, balance: i64 },
    Transfer { from: String, to: String, amount: i64 },
    Balance { account: String },
    Audit,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BankOutput {
    /// An open or transfer was applied.
    Ok,
    /// An open, transfer or balance was refused (see the module rules).
    Refused,
    Balance(i64),
    Total(i64),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct BankModel;

/// The result an operation gives in `accounts`, and the accounts after it.
fn apply(accounts: &BTreeMap<String, i64>, op: &BankOp) -> (BankOutput, Option<BTreeMap<String, i64>>) {
    match op {
        BankOp::Open { account, balance } => {
            if accounts.contains_key(account) || *balance < 0 {
                return (BankOutput::Refused, None);
            }
            let mut after = accounts.clone();
            after.insert(account.clone(), *balance);
            (BankOutput::Ok, Some(after))
        }
        BankOp::Transfer { from, to, amount } => {
            let (Some(&from_balance), Some(&to_balance)) = (accounts.get(from), accounts.get(to)) else {
                return (BankOutput::Refused, None);
            };
            if *amount < 0 || from_balance < *amount {
                return (BankOutput::Refused, None);
            }
            if from == to {
                return (BankOutput::Ok, None);
            }
            let mut after = accounts.clone();
            after.insert(from.clone(), from_balance - amount);
            after.insert(to.clone(), to_balance + amount);
            (BankOutput::Ok, Some(after))
        }
        BankOp::Balance { account } => {
            (accounts.get(account).map_or(BankOutput::Refused, |&balance| BankOutput::Balance(balance)), None)
        }
        BankOp::Audit => (BankOutput::Total(accounts.values().sum()), None),
    }
}

impl Model for BankModel {
    type Input = BankOp;
    type Output = BankOutput;
    type State = BTreeMap<String, i64>;

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        let (expected, after) = apply(state, input);
        if output.is_some_and(|output| *output != expected) {
            return None;
        }
        Some(after.unwrap_or_else(|| state.clone()))
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        let result = match output {
            None => "?".to_string(),
            Some(BankOutput::Ok) => "ok".to_string(),
            Some(BankOutput::Refused) => "refused".to_string(),
            Some(BankOutput::Balance(balance)) => balance.to_string(),
            Some(BankOutput::Total(total)) => total.to_string(),
        };
        match input {
            BankOp::Open { account, balance } => format!("open({account:?}, {balance}) -> {result}"),
            BankOp::Transfer { from, to, amount } => format!("transfer({from:?} -> {to:?}, {amount}) -> {result}"),
            BankOp::Balance { account } => format!("balance({account:?}) -> {result}"),
            BankOp::Audit => format!("audit() -> {result}"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        let accounts: Vec<String> = state.iter().map(|(account, balance)| format!("{account}={balance}")).collect();
        format!("{{{}}}", accounts.join(", "))
    }
}

/// What a bank operation does to one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AccountOp {
    Open(i64),
    /// The account is a transfer's `from`: applied only if it holds at least this much.
    Debit(i64),
    /// The account is a transfer's `to`: whether it applies depends on the other account.
    Credit(i64),
    Read,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountInput {
    pub account: String,
    pub op: AccountOp,
}

impl AccountInput {
    /// The per-account operations of a bank operation (none for an audit).
    #[must_use]
    pub fn of(op: &BankOp) -> Vec<AccountInput> {
        let on = |account: &String, op| AccountInput { account: account.clone(), op };
        match op {
            BankOp::Open { account, balance } => vec![on(account, AccountOp::Open(*balance))],
            BankOp::Transfer { from, to, .. } if from == to => Vec::new(),
            BankOp::Transfer { from, to, amount } => {
                vec![on(from, AccountOp::Debit(*amount)), on(to, AccountOp::Credit(*amount))]
            }
            BankOp::Balance { account } => vec![on(account, AccountOp::Read)],
            BankOp::Audit => Vec::new(),
        }
    }
}

/// One account of the bank: its balance, `None` until it is opened. Outputs are [`BankOutput`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountModel;

impl Model for AccountModel {
    type Input = AccountInput;
    type Output = BankOutput;
    type State = Option<i64>;

    fn init(&self) -> Self::State {
        None
    }

    fn step(&self, state: &Self::State, input: &Self::Input, output: Option<&Self::Output>) -> Option<Self::State> {
        match (&input.op, *state, output) {
            (AccountOp::Open(balance), None, Some(BankOutput::Ok) | None) => Some(Some(*balance)),
            (AccountOp::Open(_), Some(_), Some(BankOutput::Refused)) => Some(*state),
            (AccountOp::Debit(amount), Some(balance), Some(BankOutput::Ok)) => {
                (balance >= *amount).then_some(Some(balance - amount))
            }
            (AccountOp::Debit(amount), Some(balance), Some(BankOutput::Refused)) => {
                (balance < *amount).then_some(*state)
            }
            (AccountOp::Debit(amount), Some(balance), None) => {
                Some(Some(if balance >= *amount { balance - amount } else { balance }))
            }
            (AccountOp::Credit(amount), Some(balance), Some(BankOutput::Ok) | None) => Some(Some(balance + amount)),
            // Refused for the other account's funds: nothing happened here.
            (AccountOp::Credit(_), Some(_), Some(BankOutput::Refused)) => Some(*state),
            (AccountOp::Read, Some(balance), Some(BankOutput::Balance(read))) => (balance == *read).then_some(*state),
            (AccountOp::Read, _, None) => Some(*state),
            _ => None,
        }
    }

    fn partition_key(&self, input: &Self::Input) -> Option<String> {
        Some(input.account.clone())
    }

    fn describe_operation(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        let result = match output {
            None => "?".to_string(),
            Some(BankOutput::Ok) => "ok".to_string(),
            Some(BankOutput::Refused) => "refused".to_string(),
            Some(BankOutput::Balance(value) | BankOutput::Total(value)) => value.to_string(),
        };
        let account = &input.account;
        match input.op {
            AccountOp::Open(balance) => format!("open {account} with {balance} -> {result}"),
            AccountOp::Debit(amount) => format!("transfer of {amount} from {account} -> {result}"),
            AccountOp::Credit(amount) => format!("transfer of {amount} to {account} -> {result}"),
            AccountOp::Read => format!("balance of {account} -> {result}"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        state.map_or_else(|| "not opened".to_string(), |balance| format!("balance {balance}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::linearizability::{CheckOptions, Operation, Verdict, check};

    fn op(client: u64, input: BankOp, call: u64, ret: u64, output: BankOutput) -> Operation<BankOp, BankOutput> {
        Operation::returned(client, input, call, ret, output)
    }

    fn open(account: &str, balance: i64, at: u64) -> Operation<BankOp, BankOutput> {
        op(0, BankOp::Open { account: account.to_string(), balance }, at, at + 1, BankOutput::Ok)
    }

    fn transfer(from: &str, to: &str, amount: i64) -> BankOp {
        BankOp::Transfer { from: from.to_string(), to: to.to_string(), amount }
    }

    fn balance(account: &str) -> BankOp {
        BankOp::Balance { account: account.to_string() }
    }

    fn verdict(history: &[Operation<BankOp, BankOutput>]) -> Verdict {
        check(&BankModel, history, CheckOptions::default())
    }

    #[test]
    fn audit_concurrent_with_transfers_sees_conserved_total() {
        let history = [
            open("a", 10, 0),
            open("b", 5, 2),
            op(1, transfer("a", "b", 7), 10, 20, BankOutput::Ok),
            op(2, transfer("b", "a", 9), 11, 19, BankOutput::Ok),
            op(3, BankOp::Audit, 12, 18, BankOutput::Total(15)),
            op(3, balance("a"), 21, 22, BankOutput::Balance(12)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn audit_with_wrong_total_is_not_linearizable() {
        let history = [
            open("a", 10, 0),
            open("b", 5, 2),
            op(1, transfer("a", "b", 7), 10, 20, BankOutput::Ok),
            op(3, BankOp::Audit, 12, 18, BankOutput::Total(8)),
        ];
        assert!(matches!(verdict(&history), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn refusal_for_short_funds_needs_an_order_where_funds_were_short() {
        // The second transfer can only be refused if it ran after the first drained the account.
        let history = [
            open("a", 10, 0),
            open("b", 0, 2),
            op(1, transfer("a", "b", 8), 10, 20, BankOutput::Ok),
            op(2, transfer("a", "b", 8), 11, 21, BankOutput::Refused),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
        let lost_update = [
            open("a", 10, 0),
            open("b", 0, 2),
            op(1, transfer("a", "b", 8), 10, 20, BankOutput::Ok),
            op(2, transfer("a", "b", 8), 11, 21, BankOutput::Ok),
        ];
        assert!(matches!(verdict(&lost_update), Verdict::NotLinearizable(_)));
    }

    #[test]
    fn timed_out_transfer_must_be_assumed_to_have_happened() {
        let history = [
            open("a", 10, 0),
            open("b", 0, 2),
            Operation::unknown(1, transfer("a", "b", 4), 10),
            op(2, balance("b"), 30, 31, BankOutput::Balance(4)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    #[test]
    fn timed_out_transfer_must_be_assumed_not_to_have_happened() {
        let history = [
            open("a", 10, 0),
            open("b", 0, 2),
            Operation::unknown(1, transfer("a", "b", 4), 10),
            op(2, balance("b"), 30, 31, BankOutput::Balance(0)),
            op(2, BankOp::Audit, 32, 33, BankOutput::Total(10)),
        ];
        assert_eq!(verdict(&history), Verdict::Linearizable);
    }

    fn per_account(history: &[Operation<BankOp, BankOutput>]) -> Vec<Operation<AccountInput, BankOutput>> {
        history
            .iter()
            .flat_map(|op| {
                AccountInput::of(&op.input).into_iter().map(|input| Operation {
                    client: op.client,
                    input,
                    call: op.call,
                    outcome: op.outcome.clone(),
                })
            })
            .collect()
    }

    #[test]
    fn per_account_view_accepts_what_the_bank_accepts_and_catches_lost_updates() {
        let history = [
            open("a", 10, 0),
            open("b", 5, 2),
            op(1, transfer("a", "b", 7), 10, 20, BankOutput::Ok),
            op(2, transfer("b", "a", 9), 11, 19, BankOutput::Ok),
            op(3, balance("a"), 21, 22, BankOutput::Balance(12)),
            op(3, balance("b"), 23, 24, BankOutput::Balance(3)),
        ];
        assert_eq!(check(&AccountModel, &per_account(&history), CheckOptions::default()), Verdict::Linearizable);
        let lost_update = [
            open("a", 10, 0),
            open("b", 0, 2),
            op(1, transfer("a", "b", 8), 10, 20, BankOutput::Ok),
            op(2, transfer("a", "b", 8), 11, 21, BankOutput::Ok),
        ];
        let Verdict::NotLinearizable(failure) =
            check(&AccountModel, &per_account(&lost_update), CheckOptions::default())
        else {
            panic!("two debits of 8 from 10 cannot both succeed");
        };
        assert_eq!(failure.component.as_deref(), Some("a"));
        assert!(failure.to_string().contains("transfer of 8 from a -> ok"), "{failure}");
    }

    #[test]
    fn a_refused_credit_changes_nothing_and_an_unknown_debit_needs_funds() {
        let history = [
            open("a", 3, 0),
            op(1, transfer("b", "a", 50), 10, 11, BankOutput::Refused),
            Operation::unknown(2, transfer("a", "c", 5), 12),
            op(3, balance("a"), 20, 21, BankOutput::Balance(3)),
        ];
        let view: Vec<_> = per_account(&history).into_iter().filter(|op| op.input.account == "a").collect();
        assert_eq!(check(&AccountModel, &view, CheckOptions::default()), Verdict::Linearizable);
    }
}
