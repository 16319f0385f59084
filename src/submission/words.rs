//! Splitting a command line into words the way a POSIX shell would quote them, without a shell:
//! no variables, globs, pipes or redirections — a line that needs them is refused with a hint.

/// Why a command line cannot be split. `at` is the character offset of the fault in the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SplitError {
    pub at: usize,
    pub message: String,
}

/// Splits `line` into words: whitespace separates, `'...'` is literal, `"..."` is literal except for
/// `\"`, `\\`, `\$` and `` \` ``, and a backslash outside quotes takes the next character literally.
/// Unquoted shell operators (`| & ; < > $ \``) are refused, as no shell is there to act on them.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().enumerate().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '\'')) => break,
                        Some((_, c)) => word.push(c),
                        None => return Err(SplitError { at, message: "this single quote is never closed".into() }),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.peek() {
                            Some(&(_, next @ ('"' | '\\' | '$' | '`'))) => {
                                word.push(next);
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        Some((_, c)) => word.push(c),
                        None => return Err(SplitError { at, message: "this double quote is never closed".into() }),
                    }
                }
            }
            '\\' => match chars.next() {
                Some((_, next)) => {
                    in_word = true;
                    word.push(next);
                }
                None => return Err(SplitError { at, message: "a backslash ends the line: nothing to escape".into() }),
            },
            '|' | '&' | ';' | '<' | '>' | '$' | '`' => {
                return Err(SplitError {
                    at,
                    message: format!(
                        "`{c}` means something only to a shell, and commands here run without one: quote it to \
                         pass it as is, use a list of commands instead of `&&` or `;`, or run a script \
                         (e.g. \"sh build.sh\")"
                    ),
                });
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Joins words back into a line that `split` turns into the same words (for messages and reports).
#[must_use]
pub fn join<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(|w| quote(w.as_ref())).collect::<Vec<_>>().join(" ")
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%{}^~".contains(c) || !c.is_ascii());
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn whitespace_separates_words() {
        assert_eq!(words("  cc -O2\t-o main  main.c "), ["cc", "-O2", "-o", "main", "main.c"]);
        assert!(words("   ").is_empty());
    }

    #[test]
    fn quotes_keep_spaces_and_join_with_neighbours() {
        assert_eq!(words(r#"echo 'a b' "c d" e'f'"g""#), ["echo", "a b", "c d", "efg"]);
        assert_eq!(words(r#"x "" ''"#), ["x", "", ""]);
    }

    #[test]
    fn backslashes_escape_outside_and_selectively_inside_double_quotes() {
        assert_eq!(words(r#"a\ b "q\"x\n" 'l\t'"#), ["a b", "q\"x\\n", "l\\t"]);
    }

    #[test]
    fn unclosed_quote_is_an_error_at_the_quote() {
        let error = split("run 'oops").unwrap_err();
        assert_eq!(error.at, 4);
        assert!(error.message.contains("never closed"), "{error}");
    }

    #[test]
    fn shell_operators_are_refused_unless_quoted() {
        let error = split("make && ./main").unwrap_err();
        assert_eq!(error.at, 5);
        assert!(error.message.contains("without one"), "{error}");
        assert_eq!(words("echo '&&' \"a|b\""), ["echo", "&&", "a|b"]);
    }

    #[test]
    fn join_round_trips() {
        let original = vec!["python3", "-c", "print('hi there')", "", "a\"b"];
        assert_eq!(split(&join(&original)).unwrap(), original);
        assert_eq!(join(&["cc", "-O2", "main.c"]), "cc -O2 main.c");
    }
}
