//! Parsers for recorded histories: Jepsen's etcd text logs (a single register) and the EDN-like lines of
//! the key-value histories (one map per event), as found in the shared linearizability test data.

use super::history::{EventError, History, HistoryBuilder};
use super::kv::{KvInput, KvOp, KvOutput};
use super::register::{RegisterInput, RegisterOp, RegisterOutput};

/// A line that has the shape of an event but cannot be understood. Lines are numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FormatError {
    pub line: usize,
    pub message: String,
}

fn at(line: usize) -> impl Fn(String) -> FormatError {
    move |message| FormatError { line, message }
}

fn event_error(line: usize) -> impl Fn(EventError) -> FormatError {
    move |error| FormatError { line, message: error.to_string() }
}

fn parse_int(text: &str, what: &str) -> Result<i64, String> {
    text.parse().map_err(|_| format!("{what} {text:?} is not an integer"))
}

fn parse_cas_pair(text: &str) -> Result<(i64, i64), String> {
    let inner = text.strip_prefix('[').and_then(|rest| rest.strip_suffix(']'));
    let parts: Vec<&str> = inner.map(|inner| inner.split_whitespace().collect()).unwrap_or_default();
    match parts.as_slice() {
        [from, to] => Ok((parse_int(from, "cas argument")?, parse_int(to, "cas argument")?)),
        _ => Err(format!("cas argument {text:?} is not of the form [from to]")),
    }
}

/// Parses a Jepsen etcd log: `INFO  jepsen.util - <process> <:invoke|:ok|:fail|:info> <:read|:write|:cas>
/// <value>`. `:fail :cas` is a cas that did not apply; `:info` and `:fail :read :timed-out` leave the
/// outcome unknown; an invoke never completed has an unknown outcome. Lines of any other shape are skipped.
pub fn parse_jepsen_register(text: &str) -> Result<History<RegisterInput, RegisterOutput>, FormatError> {
    let mut builder = HistoryBuilder::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let [_, "jepsen.util", "-", process, kind, function, value @ ..] = tokens.as_slice() else {
            continue;
        };
        let Ok(client) = process.parse::<u64>() else {
            continue;
        };
        let value = value.join(" ");
        let err = at(number);
        match (*kind, *function) {
            (":invoke", ":read") => builder.invoke(client, RegisterInput::single(RegisterOp::Read)),
            (":invoke", ":write") => {
                let written = parse_int(&value, "written value").map_err(&err)?;
                builder.invoke(client, RegisterInput::single(RegisterOp::Write(written)))
            }
            (":invoke", ":cas") => {
                let (from, to) = parse_cas_pair(&value).map_err(&err)?;
                builder.invoke(client, RegisterInput::single(RegisterOp::Cas { from, to }))
            }
            (":ok", ":read") => {
                let read = if value == "nil" { None } else { Some(parse_int(&value, "read value").map_err(&err)?) };
                builder.complete(client, RegisterOutput::Read(read))
            }
            (":ok", ":write") => builder.complete(client, RegisterOutput::Written),
            (":ok", ":cas") => builder.complete(client, RegisterOutput::Cas(true)),
            (":fail", ":cas") => builder.complete(client, RegisterOutput::Cas(false)),
            (":fail", ":read") if value == ":timed-out" => builder.give_up(client),
            (":fail", _) => builder.fail(client),
            (":info", _) => builder.give_up(client),
            _ => continue,
        }
        .map_err(event_error(number))?;
    }
    Ok(builder.finish())
}

/// A value of the EDN subset used by the kv histories.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Edn {
    Nil,
    Keyword(String),
    Str(String),
    Int(i64),
}

/// Parses one `{:k v, :k v}` map of keywords to scalars.
fn parse_edn_map(line: &str) -> Result<Vec<(String, Edn)>, String> {
    let body = line
        .trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .ok_or_else(|| "expected a map in braces, {...}".to_string())?;
    let mut chars = body.chars().peekable();
    let mut entries = Vec::new();
    let skip_separators = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
    };
    let read_word = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != ',') {
            word.push(c);
        }
        word
    };
    loop {
        skip_separators(&mut chars);
        if chars.peek().is_none() {
            return Ok(entries);
        }
        let key = read_word(&mut chars);
        let key = key.strip_prefix(':').ok_or_else(|| format!("expected a keyword key, found {key:?}"))?.to_string();
        skip_separators(&mut chars);
        let value = if chars.next_if_eq(&'"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated string for :{key}")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        Some(other) => text.push(other),
                        None => return Err(format!("unterminated string for :{key}")),
                    },
                    Some(c) => text.push(c),
                }
            }
            Edn::Str(text)
        } else {
            let word = read_word(&mut chars);
            if word == "nil" {
                Edn::Nil
            } else if let Some(keyword) = word.strip_prefix(':') {
                Edn::Keyword(keyword.to_string())
            } else if let Ok(number) = word.parse() {
                Edn::Int(number)
            } else {
                return Err(format!("cannot read the value of :{key}: {word:?}"));
            }
        };
        entries.push((key, value));
    }
}

fn field<'a>(entries: &'a [(String, Edn)], name: &str) -> Result<&'a Edn, String> {
    entries.iter().find(|(key, _)| key == name).map(|(_, value)| value).ok_or_else(|| format!("missing :{name}"))
}

/// Parses a kv history: one `{:process N, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key "k",
/// :value "v"|nil}` per line. `:fail` means the operation did not happen; `:info` and an invoke never
/// completed leave the outcome unknown. Blank lines are skipped.
pub fn parse_kv(text: &str) -> Result<History<KvInput, KvOutput>, FormatError> {
    let mut builder = HistoryBuilder::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = at(number);
        let entries = parse_edn_map(line).map_err(&err)?;
        let client = match field(&entries, "process").map_err(&err)? {
            Edn::Int(process) if *process >= 0 => *process as u64,
            other => return Err(err(format!(":process must be a non-negative integer, found {other:?}"))),
        };
        let kind = match field(&entries, "type").map_err(&err)? {
            Edn::Keyword(kind) => kind.as_str(),
            other => return Err(err(format!(":type must be a keyword, found {other:?}"))),
        };
        let function = match field(&entries, "f").map_err(&err)? {
            Edn::Keyword(function) => function.as_str(),
            other => return Err(err(format!(":f must be a keyword, found {other:?}"))),
        };
        let key = match field(&entries, "key").map_err(&err)? {
            Edn::Str(key) => key.clone(),
            Edn::Int(key) => key.to_string(),
            other => return Err(err(format!(":key must be a string, found {other:?}"))),
        };
        let value = match field(&entries, "value") {
            Ok(Edn::Str(value)) => Some(value.clone()),
            Ok(Edn::Nil) | Err(_) => None,
            Ok(other) => return Err(err(format!(":value must be a string or nil, found {other:?}"))),
        };
        let argument = |value: Option<String>| value.ok_or_else(|| err(format!(":{function} needs a string :value")));
        let outcome = match (kind, function) {
            ("invoke", "get") => builder.invoke(client, KvInput { key, op: KvOp::Get }),
            ("invoke", "put") => builder.invoke(client, KvInput { key, op: KvOp::Put(argument(value)?) }),
            ("invoke", "append") => builder.invoke(client, KvInput { key, op: KvOp::Append(argument(value)?) }),
            ("ok", "get") => builder.complete(client, KvOutput::Value(value.unwrap_or_default())),
            ("ok", "put" | "append") => builder.complete(client, KvOutput::Done),
            ("fail", _) => builder.fail(client),
            ("info", _) => builder.give_up(client),
            _ => return Err(err(format!("unknown event :type :{kind} with :f :{function}"))),
        };
        outcome.map_err(event_error(number))?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::linearizability::Operation;

    #[test]
    fn jepsen_log_with_tabs_or_spaces_and_noise() {
        let log = "INFO  jepsen.util - 0\t:invoke\t:cas\t[3 0]\n\
                   some noise line\n\
                   INFO  jepsen.util - 1   :invoke :read   nil\n\
                   INFO  jepsen.util - 0   :fail   :cas    [3 0]\n\
                   INFO  jepsen.util - 1   :ok     :read   4\n\
                   INFO  jepsen.util - 2   :invoke :write  5\n\
                   INFO  jepsen.util - 2   :info   :write  :timed-out\n\
                   INFO  jepsen.util - 3   :invoke :write  6\n";
        let history = parse_jepsen_register(log).unwrap();
        let cas = RegisterInput::single(RegisterOp::Cas { from: 3, to: 0 });
        assert_eq!(
            history,
            vec![
                Operation::returned(0, cas, 1, 3, RegisterOutput::Cas(false)),
                Operation::returned(1, RegisterInput::single(RegisterOp::Read), 2, 4, RegisterOutput::Read(Some(4))),
                Operation::unknown(2, RegisterInput::single(RegisterOp::Write(5)), 5),
                Operation::unknown(3, RegisterInput::single(RegisterOp::Write(6)), 7),
            ]
        );
    }

    #[test]
    fn jepsen_bad_value_names_the_line() {
        let error = parse_jepsen_register("\nINFO  jepsen.util - 0 :invoke :write x\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("\"x\""), "{error}");
    }

    #[test]
    fn kv_lines_parse_into_operations() {
        let text = "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
                    {:process 1, :type :invoke, :f :get, :key \"0\", :value nil}\n\
                    {:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
                    {:process 1, :type :ok, :f :get, :key \"0\", :value \"x 0 0 y\"}\n";
        let history = parse_kv(text).unwrap();
        let key = "0".to_string();
        assert_eq!(
            history,
            vec![
                Operation::returned(
                    0,
                    KvInput { key: key.clone(), op: KvOp::Append("x 0 0 y".into()) },
                    1,
                    3,
                    KvOutput::Done
                ),
                Operation::returned(1, KvInput { key, op: KvOp::Get }, 2, 4, KvOutput::Value("x 0 0 y".into())),
            ]
        );
    }

    #[test]
    fn kv_malformed_line_names_the_line_and_the_problem() {
        let error = parse_kv("{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x}\n").unwrap_err();
        assert_eq!(error.line, 1);
        assert!(error.message.contains("unterminated"), "{error}");
        let error = parse_kv("\n{:process 0, :type :ok, :f :get, :key \"0\", :value \"\"}").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(error.message.contains("never invoked"), "{error}");
    }
}
