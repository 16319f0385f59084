//! A submission's own `takehome.toml`: how to build and run it, when detection would guess wrong.
//!
//! ```toml
//! language = "c"                          # optional, for reports and the toolchain version
//! build = "cc -O2 -o sum solution.c"      # optional; one command line or a list of them
//! run = "./sum"                           # required
//! ```
//!
//! Command lines are split like a shell would quote them, but run without a shell.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::words;

/// The file a submission may hold to say how it is built and run.
pub const FILE_NAME: &str = "takehome.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    language: Option<String>,
    build: Option<Spanned<toml::Value>>,
    run: Spanned<String>,
}

/// `takehome.toml`, checked and split into argv lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub language: Option<String>,
    pub build: Vec<Vec<String>>,
    pub run: Vec<String>,
}

/// Parses `text`; `path` names the file in messages, which read `path:line:column: message` followed by
/// the line with a caret under the fault.
pub fn parse(text: &str, path: &Path) -> Result<Config, String> {
    let at = |start: usize, end: usize, message: &str| {
        let (line, column, snippet) = locate(text, start, end);
        format!("{}:{line}:{column}: {message}\n{snippet}", path.display())
    };
    let raw: RawConfig = toml::from_str(text).map_err(|error| {
        let message = explain(error.message());
        match error.span() {
            Some(span) => at(span.start, span.end, &message),
            None => format!("{}: {message}", path.display()),
        }
    })?;
    let split_value = |line: &str, start: usize, end: usize| {
        let words = words::split(line).map_err(|error| {
            // The fault's place in the source: after the opening quote, assuming a one-line string.
            let offset =
                text[start..end].char_indices().nth(error.at + 1).map_or(start, |(i, _)| start + i).min(text.len());
            at(offset, offset + 1, &error.message)
        })?;
        if words.is_empty() { Err(at(start, end, "this command line is empty")) } else { Ok(words) }
    };
    let mut build = Vec::new();
    if let Some(value) = &raw.build {
        let span = value.span();
        match value.get_ref() {
            toml::Value::String(line) => build.push(split_value(line, span.start, span.end)?),
            toml::Value::Array(lines) => {
                for line in lines {
                    let Some(line) = line.as_str() else {
                        return Err(at(span.start, span.end, "`build` must hold command lines (strings)"));
                    };
                    // Elements carry no span of their own: point at the list.
                    build.push(split_value(line, span.start, span.end).map_err(|message| {
                        if message.contains("empty") { message } else { format!("in `{line}`: {message}") }
                    })?);
                }
            }
            other => {
                return Err(at(
                    span.start,
                    span.end,
                    &format!("`build` must be a command line or a list of them, not a {}", other.type_str()),
                ));
            }
        }
    }
    let run_span = raw.run.span();
    let run = split_value(raw.run.get_ref(), run_span.start, run_span.end)?;
    Ok(Config { language: raw.language.filter(|l| !l.trim().is_empty()), build, run })
}

/// Line and column (both from 1) of a byte offset, and the line with a caret under the span.
fn locate(text: &str, start: usize, end: usize) -> (usize, usize, String) {
    let mut start = start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let mut end = end.clamp(start, line_end);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let width = text[start..end].chars().count().max(1);
    let gutter = format!("{line} | ");
    let snippet = format!(
        "{gutter}{}\n{:pad$}{}",
        &text[line_start..line_end],
        "",
        "^".repeat(width),
        pad = gutter.len() + column - 1
    );
    (line, column, snippet)
}

/// Adds the accepted keys to serde's unknown-field message, and a "did you mean" when one is close.
fn explain(message: &str) -> String {
    let message = message.trim_end();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((given, _)) = rest.split_once('`')
    {
        let known = ["language", "build", "run"];
        let best = known
            .iter()
            .map(|k| (strsim::jaro_winkler(given, k), *k))
            .filter(|(score, _)| *score >= 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        return match best {
            Some((_, key)) => format!("unknown key `{given}`: did you mean `{key}`?"),
            None => format!("unknown key `{given}`: takehome.toml knows `language`, `build` and `run`"),
        };
    }
    if message.starts_with("missing field `run`") {
        return "missing `run`: say how to start the program, e.g. run = \"./main\"".into();
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Config {
        parse(text, Path::new("takehome.toml")).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(text, Path::new("sub/takehome.toml")).unwrap_err()
    }

    #[test]
    fn build_may_be_one_line_or_a_list() {
        let one = parse_ok("build = \"cc -O2 -o 'my prog' a.c\"\nrun = \"'./my prog'\"\n");
        assert_eq!(one.build, vec![vec!["cc", "-O2", "-o", "my prog", "a.c"]]);
        assert_eq!(one.run, vec!["./my prog"]);
        let many = parse_ok("language = \"c\"\nbuild = [\"make gen\", \"make\"]\nrun = \"./main\"\n");
        assert_eq!(many.build, vec![vec!["make", "gen"], vec!["make"]]);
        assert_eq!(many.language.as_deref(), Some("c"));
        assert!(parse_ok("run = \"python3 x.py\"").build.is_empty());
    }

    #[test]
    fn unknown_key_names_line_column_and_suggests() {
        let error = parse_err("run = \"./main\"\nbiuld = \"make\"\n");
        assert!(error.starts_with("sub/takehome.toml:2:1: unknown key `biuld`: did you mean `build`?"), "{error}");
        assert!(error.contains("2 | biuld = \"make\"\n    ^^^^^"), "{error}");
    }

    #[test]
    fn missing_run_says_what_to_add() {
        let error = parse_err("build = \"make\"\n");
        assert!(error.contains("missing `run`"), "{error}");
        assert!(error.starts_with("sub/takehome.toml:"), "{error}");
    }

    #[test]
    fn wrong_type_of_build_is_located() {
        let error = parse_err("run = \"./main\"\nbuild = 3\n");
        assert!(error.starts_with("sub/takehome.toml:2:9: `build` must be a command line"), "{error}");
    }

    #[test]
    fn toml_syntax_error_is_located() {
        let error = parse_err("run = \"./main\nbuild = \"make\"\n");
        assert!(error.starts_with("sub/takehome.toml:1:"), "{error}");
    }

    #[test]
    fn shell_syntax_in_a_command_points_at_the_operator() {
        let error = parse_err("run = \"./main\"\nbuild = \"make && make install\"\n");
        assert!(error.starts_with("sub/takehome.toml:2:15: `&` means something only to a shell"), "{error}");
        let error = parse_err("run = \"./main 'x\"\n");
        assert!(error.starts_with("sub/takehome.toml:1:15: this single quote is never closed"), "{error}");
    }

    #[test]
    fn empty_run_is_refused() {
        let error = parse_err("run = \"  \"\n");
        assert!(error.starts_with("sub/takehome.toml:1:7: this command line is empty"), "{error}");
    }
}
