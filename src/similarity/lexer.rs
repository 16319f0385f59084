//! A generic lexer for the languages takehome builds: identifiers, keywords, numbers, strings and
//! operators, each with its line and byte span; comments and whitespace (and Python docstrings) dropped.
//! It does not parse: it only has to cut two copies of the same code into the same tokens.

use super::source::Syntax;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Identifier,
    Keyword,
    Number,
    String,
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    /// Byte span in the file's text.
    pub start: u32,
    pub end: u32,
    /// 1-based line of the token's first byte.
    pub line: u32,
}

/// Reserved words of the supported languages, one set for all: an identifier that is a keyword elsewhere
/// only loses its renaming tolerance, which is harmless.
const KEYWORDS: &[&str] = &[
    "abstract",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "begin",
    "bool",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "chan",
    "char",
    "class",
    "const",
    "constexpr",
    "continue",
    "crate",
    "def",
    "default",
    "defer",
    "del",
    "delete",
    "do",
    "double",
    "dyn",
    "elif",
    "else",
    "elsif",
    "end",
    "ensure",
    "enum",
    "except",
    "explicit",
    "export",
    "extends",
    "extern",
    "false",
    "final",
    "finally",
    "float",
    "fn",
    "for",
    "from",
    "func",
    "function",
    "global",
    "go",
    "goto",
    "if",
    "impl",
    "implements",
    "import",
    "in",
    "inline",
    "instanceof",
    "int",
    "interface",
    "is",
    "lambda",
    "let",
    "long",
    "loop",
    "map",
    "match",
    "mod",
    "module",
    "move",
    "mut",
    "namespace",
    "new",
    "nil",
    "None",
    "nonlocal",
    "not",
    "null",
    "nullptr",
    "operator",
    "or",
    "package",
    "pass",
    "private",
    "protected",
    "pub",
    "public",
    "raise",
    "range",
    "ref",
    "rescue",
    "return",
    "select",
    "self",
    "Self",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "super",
    "switch",
    "template",
    "then",
    "this",
    "throw",
    "throws",
    "trait",
    "True",
    "False",
    "true",
    "try",
    "type",
    "typedef",
    "typename",
    "typeof",
    "union",
    "unless",
    "unsafe",
    "unsigned",
    "until",
    "use",
    "using",
    "var",
    "virtual",
    "void",
    "volatile",
    "when",
    "where",
    "while",
    "with",
    "yield",
];

fn is_keyword(word: &str) -> bool {
    static SET: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| KEYWORDS.iter().copied().collect());
    SET.contains(word)
}

/// Longest first: the lexer takes the first that matches.
const OPERATORS: &[&str] = &[
    ">>>=", "<<=", ">>=", "...", "===", "!==", "**=", "//=", "<=>", ">>>", "..=", "==", "!=", "<=", ">=", "&&", "||",
    "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "->", "=>", "::", "**", "//", "..", ":=",
    "?.", "??", "<-",
];

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte == b'$' || byte >= 0x80
}

fn is_identifier_continue(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

/// Cuts `text` into tokens.
pub fn tokenize(text: &str, syntax: Syntax) -> Vec<Token> {
    let mut lexer = Lexer { bytes: text.as_bytes(), text, syntax, pos: 0, line: 1, tokens: Vec::new() };
    lexer.run();
    if syntax == Syntax::Python {
        drop_docstrings(text, &mut lexer.tokens);
    }
    lexer.tokens
}

struct Lexer<'a> {
    bytes: &'a [u8],
    text: &'a str,
    syntax: Syntax,
    pos: usize,
    line: u32,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self, offset: usize) -> u8 {
        self.bytes.get(self.pos + offset).copied().unwrap_or(0)
    }

    fn starts_with(&self, prefix: &[u8]) -> bool {
        self.bytes[self.pos..].starts_with(prefix)
    }

    /// Moves to `to`, counting the newlines passed.
    fn advance_to(&mut self, to: usize) {
        let to = to.min(self.bytes.len());
        self.line += self.bytes[self.pos..to].iter().filter(|&&b| b == b'\n').count() as u32;
        self.pos = to;
    }

    fn push(&mut self, kind: Kind, start: usize, line: u32) {
        self.tokens.push(Token { kind, start: start as u32, end: self.pos as u32, line });
    }

    fn line_comments_with_hash(&self) -> bool {
        matches!(self.syntax, Syntax::Python | Syntax::Ruby | Syntax::Hash | Syntax::Php)
    }

    fn slash_comments(&self) -> bool {
        matches!(self.syntax, Syntax::CLike | Syntax::Rust | Syntax::Php)
    }

    fn run(&mut self) {
        while self.pos < self.bytes.len() {
            let byte = self.bytes[self.pos];
            let start = self.pos;
            let line = self.line;
            if byte == b'\n' {
                self.line += 1;
                self.pos += 1;
            } else if byte.is_ascii_whitespace() {
                self.pos += 1;
            } else if self.slash_comments() && self.starts_with(b"//") {
                self.skip_line();
            } else if self.slash_comments() && self.starts_with(b"/*") {
                self.skip_block_comment();
            } else if self.line_comments_with_hash() && byte == b'#' {
                self.skip_line();
            } else if self.syntax == Syntax::Ruby && self.at_line_start() && self.starts_with(b"=begin") {
                self.skip_ruby_block_comment();
            } else if byte.is_ascii_digit() || (byte == b'.' && self.peek(1).is_ascii_digit()) {
                self.number();
                self.push(Kind::Number, start, line);
            } else if is_identifier_start(byte) {
                self.word(start, line);
            } else if byte == b'"' || byte == b'`' || (byte == b'\'' && !self.is_rust_lifetime()) {
                self.string_body();
                self.push(Kind::String, start, line);
            } else if byte == b'\'' {
                // A Rust lifetime or label: `'a`.
                self.pos += 1;
                while self.pos < self.bytes.len() && is_identifier_continue(self.bytes[self.pos]) {
                    self.pos += 1;
                }
                self.push(Kind::Identifier, start, line);
            } else {
                let length = OPERATORS
                    .iter()
                    .find(|op| op.as_bytes()[0] == byte && self.starts_with(op.as_bytes()))
                    .map_or(1, |op| op.len());
                self.pos += length;
                self.push(Kind::Operator, start, line);
            }
        }
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.bytes[self.pos - 1] == b'\n'
    }

    fn skip_line(&mut self) {
        let end = self.bytes[self.pos..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |i| self.pos + i);
        self.pos = end;
    }

    fn skip_block_comment(&mut self) {
        let nested = self.syntax == Syntax::Rust;
        let mut depth = 0usize;
        let mut i = self.pos;
        while i < self.bytes.len() {
            if self.bytes[i..].starts_with(b"/*") {
                depth += 1;
                i += 2;
            } else if self.bytes[i..].starts_with(b"*/") {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    break;
                }
            } else {
                i += 1;
            }
            if !nested && depth > 1 {
                depth = 1;
            }
        }
        self.advance_to(i);
    }

    fn skip_ruby_block_comment(&mut self) {
        let rest = &self.text[self.pos..];
        let end = rest.find("\n=end").map_or(self.bytes.len(), |i| {
            let after = self.pos + i + 1;
            self.bytes[after..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |j| after + j)
        });
        self.advance_to(end);
    }

    fn number(&mut self) {
        let hex = self.starts_with(b"0x") || self.starts_with(b"0X");
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let byte = self.bytes[self.pos];
            let previous = self.bytes[self.pos - 1];
            let exponent_sign = (byte == b'+' || byte == b'-') && !hex && (previous == b'e' || previous == b'E');
            let decimal_point = byte == b'.' && self.peek(1).is_ascii_digit();
            if !(byte.is_ascii_alphanumeric() || byte == b'_' || exponent_sign || decimal_point) {
                break;
            }
            self.pos += 1;
        }
    }

    /// An identifier, a keyword, or the prefix of a string (`r"…"`, `b'…'`, `f"…"`, `r#"…"#`, `L"…"`).
    fn word(&mut self, start: usize, line: u32) {
        while self.pos < self.bytes.len() && is_identifier_continue(self.bytes[self.pos]) {
            self.pos += 1;
        }
        let word = &self.text[start..self.pos];
        let next = self.peek(0);
        if self.syntax == Syntax::Rust && matches!(word, "r" | "br" | "cr") && (next == b'#' || next == b'"') {
            let hashes = self.bytes[self.pos..].iter().take_while(|&&b| b == b'#').count();
            if self.peek(hashes) == b'"' {
                self.pos += hashes + 1;
                let mut closing = vec![b'"'];
                closing.extend(std::iter::repeat_n(b'#', hashes));
                let end =
                    find(&self.bytes[self.pos..], &closing).map_or(self.bytes.len(), |i| self.pos + i + closing.len());
                self.advance_to(end);
                self.push(Kind::String, start, line);
                return;
            }
        }
        let is_prefix = word.len() <= 3
            && word.bytes().all(|b| matches!(b.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b'l' | b'8' | b'c'));
        if is_prefix
            && (next == b'"' || (next == b'\'' && self.syntax != Syntax::Rust) || (next == b'\'' && word == "b"))
        {
            let raw = word.bytes().any(|b| b.eq_ignore_ascii_case(&b'r'));
            self.string_body_with(raw && self.syntax == Syntax::Python);
            self.push(Kind::String, start, line);
            return;
        }
        let kind = if is_keyword(word) { Kind::Keyword } else { Kind::Identifier };
        self.push(kind, start, line);
    }

    /// `'a` (a lifetime or label) rather than a character literal `'a'`, `'\n'`.
    fn is_rust_lifetime(&self) -> bool {
        if self.syntax != Syntax::Rust || !is_identifier_start(self.peek(1)) {
            return false;
        }
        // A char literal closes right after one character (which may take several UTF-8 bytes).
        let rest = &self.text[self.pos + 1..];
        let mut chars = rest.chars();
        chars.next();
        chars.next() != Some('\'')
    }

    fn string_body(&mut self) {
        self.string_body_with(false);
    }

    /// From an opening quote to its closing one (triple quotes in Python); an unterminated string runs to the
    /// end of the file.
    fn string_body_with(&mut self, raw: bool) {
        let quote = self.bytes[self.pos];
        let triple = self.syntax == Syntax::Python && self.bytes[self.pos..].starts_with(&[quote, quote, quote]);
        let mut i = self.pos + if triple { 3 } else { 1 };
        while i < self.bytes.len() {
            let byte = self.bytes[i];
            if byte == b'\\' && !(raw && self.bytes.get(i + 1) != Some(&quote)) {
                i += 2;
            } else if byte == quote && (!triple || self.bytes[i..].starts_with(&[quote, quote, quote])) {
                i += if triple { 3 } else { 1 };
                self.advance_to(i);
                return;
            } else {
                i += 1;
            }
        }
        self.advance_to(self.bytes.len());
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A Python string that stands alone on its lines is a docstring or a comment in disguise.
fn drop_docstrings(text: &str, tokens: &mut Vec<Token>) {
    let end_line =
        |token: &Token| token.line + text[token.start as usize..token.end as usize].matches('\n').count() as u32;
    let mut keep = vec![true; tokens.len()];
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::String {
            continue;
        }
        let first_on_line = i == 0 || end_line(&tokens[i - 1]) < token.line;
        let last_on_line = tokens.get(i + 1).is_none_or(|next| next.line > end_line(token));
        keep[i] = !(first_on_line && last_on_line);
    }
    let mut flags = keep.into_iter();
    tokens.retain(|_| flags.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(source: &str, syntax: Syntax) -> Vec<String> {
        tokenize(source, syntax).iter().map(|t| source[t.start as usize..t.end as usize].to_string()).collect()
    }

    #[test]
    fn drops_comments_and_whitespace_in_c_like_code() {
        let source = "int  main() { // hello\n  /* block\n comment */ return 0x1F; }\n";
        assert_eq!(texts(source, Syntax::CLike), ["int", "main", "(", ")", "{", "return", "0x1F", ";", "}"]);
    }

    #[test]
    fn keeps_lines_and_spans() {
        let source = "a = 1\n\n/* x\ny */ b = \"s\\\"t\"\n";
        let tokens = tokenize(source, Syntax::CLike);
        let b = tokens.iter().find(|t| &source[t.start as usize..t.end as usize] == "b").expect("b");
        assert_eq!(b.line, 4);
        let string = tokens.last().expect("last");
        assert_eq!(string.kind, Kind::String);
        assert_eq!(&source[string.start as usize..string.end as usize], "\"s\\\"t\"");
    }

    #[test]
    fn python_hash_comments_docstrings_and_prefixed_strings() {
        let source = "def f(x):\n    \"\"\"Doc\n    string.\"\"\"\n    # comment\n    return f'{x}' + r'\\d'  # tail\n";
        assert_eq!(texts(source, Syntax::Python), ["def", "f", "(", "x", ")", ":", "return", "f'{x}'", "+", "r'\\d'"]);
    }

    #[test]
    fn python_strings_used_as_values_are_kept() {
        let source = "x = \"\"\"a\nb\"\"\"\nprint(\n  'y',\n)\n";
        assert_eq!(texts(source, Syntax::Python), ["x", "=", "\"\"\"a\nb\"\"\"", "print", "(", "'y'", ",", ")"]);
    }

    #[test]
    fn rust_lifetimes_chars_raw_strings_and_nested_comments() {
        let source = "fn f<'a>(c: char) -> &'a str { /* a /* b */ c */ let r = r#\"x\"y\"#; 'x' }";
        let tokens = texts(source, Syntax::Rust);
        assert!(tokens.contains(&"'a".to_string()), "{tokens:?}");
        assert!(tokens.contains(&"r#\"x\"y\"#".to_string()), "{tokens:?}");
        assert!(tokens.contains(&"'x'".to_string()), "{tokens:?}");
        assert!(!tokens.iter().any(|t| t == "b" || t == "c */"), "{tokens:?}");
    }

    #[test]
    fn operators_take_the_longest_match_and_ranges_are_not_numbers() {
        assert_eq!(texts("a>>=1..=2", Syntax::Rust), ["a", ">>=", "1", "..=", "2"]);
        assert_eq!(texts("x = 1.5e-3", Syntax::Python), ["x", "=", "1.5e-3"]);
    }

    #[test]
    fn ruby_block_comments_and_unterminated_strings_do_not_panic() {
        assert_eq!(texts("=begin\nx y\n=end\nputs 1", Syntax::Ruby), ["puts", "1"]);
        assert_eq!(texts("x = \"never closed", Syntax::CLike), ["x", "=", "\"never closed"]);
        assert_eq!(texts("/* never closed", Syntax::Rust), Vec::<String>::new());
        assert_eq!(texts("'", Syntax::Rust).len(), 1);
    }

    #[test]
    fn non_ascii_identifiers_stay_whole() {
        assert_eq!(texts("größe = 1 // ü", Syntax::CLike), ["größe", "=", "1"]);
    }

    #[test]
    fn arbitrary_text_never_panics_and_spans_stay_on_char_boundaries() {
        let alphabet: Vec<char> = "\"'`#/*\\\nrbf=é€+-.e0x1_ab {}()=begin\n=end\n<>!'\"\"\"".chars().collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            for syntax in [Syntax::CLike, Syntax::Rust, Syntax::Python, Syntax::Ruby, Syntax::Hash, Syntax::Php] {
                let mut previous_end = 0;
                for token in tokenize(&text, syntax) {
                    let (start, end) = (token.start as usize, token.end as usize);
                    assert!(previous_end <= start && start < end && end <= text.len(), "{text:?} {syntax:?}");
                    assert!(text.is_char_boundary(start) && text.is_char_boundary(end), "{text:?} {syntax:?}");
                    previous_end = end;
                }
            }
        }
    }

    #[test]
    fn keywords_are_told_from_identifiers() {
        let tokens = tokenize("while x", Syntax::CLike);
        assert_eq!(tokens[0].kind, Kind::Keyword);
        assert_eq!(tokens[1].kind, Kind::Identifier);
    }
}
