//! A stage's `[stage.options]`: the knobs of its workload (e.g. the bank's number of accounts), read with
//! defaults and checked, so a typo or a wrong type in a spec is an error that names the key.

use std::collections::BTreeSet;
use std::fmt::Display;

use toml::{Table, Value};

/// Reads the options a workload knows from a stage's table; unknown keys are reported by [`finish`].
///
/// [`finish`]: OptionReader::finish
pub struct OptionReader<'a> {
    table: &'a Table,
    workload: &'static str,
    known: BTreeSet<&'static str>,
}

impl<'a> OptionReader<'a> {
    #[must_use]
    pub fn new(table: &'a Table, workload: &'static str) -> OptionReader<'a> {
        OptionReader { table, workload, known: BTreeSet::new() }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.insert(key);
        self.table.get(key)
    }

    fn wrong(&self, key: &str, what: &str, value: &impl Display) -> String {
        format!("option `{key}` of the {} workload must be {what}, not {value}", self.workload)
    }

    /// A whole number in `range`, or `default` when absent.
    pub fn integer(
        &mut self,
        key: &'static str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, String> {
        let Some(value) = self.get(key) else { return Ok(default) };
        let what = format!("a whole number from {} to {}", range.start(), range.end());
        match value.as_integer().and_then(|n| u64::try_from(n).ok()) {
            Some(n) if range.contains(&n) => Ok(n),
            _ => Err(self.wrong(key, &what, value)),
        }
    }

    /// A share between 0 and 1, or `default` when absent.
    pub fn share(&mut self, key: &'static str, default: f64) -> Result<f64, String> {
        let Some(value) = self.get(key) else { return Ok(default) };
        let number = value.as_float().or_else(|| value.as_integer().map(|n| n as f64));
        match number {
            Some(share) if (0.0..=1.0).contains(&share) => Ok(share),
            _ => Err(self.wrong(key, "a share between 0 and 1", value)),
        }
    }

    /// Done reading: an error naming any key the workload does not know.
    pub fn finish(self) -> Result<(), String> {
        let known: Vec<&str> = self.known.iter().copied().collect();
        match self.table.keys().find(|key| !self.known.contains(key.as_str())) {
            None => Ok(()),
            Some(key) if known.is_empty() => {
                Err(format!("the {} workload takes no options, not `{key}`", self.workload))
            }
            Some(key) => {
                let hint = crate::spec::closest(key, &known).map(|k| format!(" (did you mean `{k}`?)"));
                Err(format!(
                    "the {} workload has no option `{key}`{}; it has: {}",
                    self.workload,
                    hint.unwrap_or_default(),
                    known.join(", ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse().expect("toml")
    }

    #[test]
    fn absent_options_take_their_defaults_and_present_ones_are_read() {
        let options = table("accounts = 4\nshare = 0.25\n");
        let mut reader = OptionReader::new(&options, "bank");
        assert_eq!(reader.integer("accounts", 10, 1..=100), Ok(4));
        assert_eq!(reader.integer("work_ms", 0, 0..=1000), Ok(0));
        assert_eq!(reader.share("share", 0.1), Ok(0.25));
        assert_eq!(reader.finish(), Ok(()));
    }

    #[test]
    fn a_value_of_the_wrong_kind_or_out_of_range_names_the_key() {
        let options = table("accounts = 0\nshare = 2\nwork_ms = \"1ms\"\n");
        let mut reader = OptionReader::new(&options, "bank");
        assert_eq!(
            reader.integer("accounts", 10, 2..=100),
            Err("option `accounts` of the bank workload must be a whole number from 2 to 100, not 0".into())
        );
        assert!(reader.share("share", 0.1).unwrap_err().contains("a share between 0 and 1, not 2"));
        assert!(reader.integer("work_ms", 0, 0..=10).unwrap_err().contains("not \"1ms\""));
    }

    #[test]
    fn an_unknown_key_is_an_error_with_a_suggestion() {
        let options = table("acounts = 4\n");
        let mut reader = OptionReader::new(&options, "bank");
        reader.integer("accounts", 10, 1..=100).expect("default");
        let error = reader.finish().unwrap_err();
        assert!(error.contains("no option `acounts` (did you mean `accounts`?)"), "{error}");
        let none = OptionReader::new(&options, "echo").finish().unwrap_err();
        assert_eq!(none, "the echo workload takes no options, not `acounts`");
    }
}
