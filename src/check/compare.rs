//! The built-in comparators (see `spec::Compare`): whether an output is right and, when it is not,
//! one line saying where it first differs and a diff to look at.
//!
//! Whitespace is C's `isspace` set, as in Kattis: space, tab, newline, carriage return, vertical tab,
//! form feed. Outputs are bytes and need not be UTF-8; they are shown lossily with escapes. Faults of
//! the challenge rather than the candidate (an expected answer that is not JSON, a pattern that is not
//! a regular expression) come back with `judge_error` set.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};

use serde_json::Value;

use crate::check::diff;
use crate::spec::{Check, Compare};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompareOptions {
    pub float_abs: f64,
    pub float_rel: f64,
    pub case_sensitive: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { float_abs: 1e-6, float_rel: 1e-6, case_sensitive: true }
    }
}

impl CompareOptions {
    /// The options a resolved `check` table asks for, defaults elsewhere.
    #[must_use]
    pub fn from_check(check: &Check) -> Self {
        let default = CompareOptions::default();
        CompareOptions {
            float_abs: check.float_abs.unwrap_or(default.float_abs),
            float_rel: check.float_rel.unwrap_or(default.float_rel),
            case_sensitive: check.case_sensitive.unwrap_or(default.case_sensitive),
        }
    }
}

/// The comparator's decision and, when it rejects, what to show the candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub accepted: bool,
    /// One line, e.g. "line 3, token 2: expected \"7\", got \"8\"" or "2 lines missing, 1 extra: ...".
    pub first_difference: Option<String>,
    /// A readable diff of expected against actual (unified, whitespace visible, cut to size).
    pub diff: Option<String>,
    /// The rejection is the challenge's fault (its expected answer cannot be used): a judge error, not
    /// a wrong answer. `first_difference` says what is wrong with it.
    pub judge_error: bool,
}

impl Judgement {
    #[must_use]
    pub fn accepted() -> Self {
        Judgement { accepted: true, first_difference: None, diff: None, judge_error: false }
    }

    fn rejected(first_difference: String, diff: Option<String>) -> Self {
        Judgement { accepted: false, first_difference: Some(first_difference), diff, judge_error: false }
    }

    fn judge_problem(message: String) -> Self {
        Judgement {
            accepted: false,
            first_difference: Some(format!("judge problem: {message}")),
            diff: None,
            judge_error: true,
        }
    }
}

/// Lines of diff shown on a wrong answer.
const DIFF_LINES: usize = 40;
/// Characters of a value shown in a message before it is cut.
const QUOTE_CHARS: usize = 80;
/// Missing or extra items named in a message about multisets.
const NAMED_ITEMS: usize = 5;

/// Why a comparator did not accept.
enum Mismatch {
    /// The candidate's output is wrong: where.
    Wrong(String),
    /// The challenge's expected answer is unusable: why.
    Judge(String),
}

type Verdict = Result<(), Mismatch>;

/// Compares `actual` output against the `expected` answer (for `Regex`, `expected` is the pattern).
#[must_use]
pub fn compare(mode: Compare, options: &CompareOptions, expected: &[u8], actual: &[u8]) -> Judgement {
    let case_sensitive = options.case_sensitive;
    let verdict = match mode {
        Compare::Exact => exact(expected, actual),
        Compare::Lines => lines(expected, actual, case_sensitive),
        Compare::Tokens => walk_tokens(expected, actual, |e, a| (!same_text(e, a, case_sensitive)).then(String::new)),
        Compare::Floats => walk_tokens(expected, actual, |e, a| float_difference(e, a, options)),
        Compare::UnorderedLines => compare_multisets(
            || unordered_lines(expected, case_sensitive),
            || unordered_lines(actual, case_sensitive),
            "line",
        ),
        Compare::SortedTokens => {
            compare_multisets(|| token_items(expected, case_sensitive), || token_items(actual, case_sensitive), "token")
        }
        Compare::Json => json(expected, actual),
        Compare::UnorderedJsonLines => unordered_json_lines(expected, actual),
        Compare::Regex => regex(expected, actual),
    };
    match verdict {
        Ok(()) => Judgement::accepted(),
        Err(Mismatch::Judge(message)) => Judgement::judge_problem(message),
        Err(Mismatch::Wrong(first_difference)) => {
            Judgement::rejected(first_difference, diff_for(mode, case_sensitive, expected, actual))
        }
    }
}

/// The diff that best shows a rejection in each mode: of the outputs as printed for the ordered
/// modes, of their sorted items for the unordered ones, of normalised pretty JSON for `json`.
fn diff_for(mode: Compare, case_sensitive: bool, expected: &[u8], actual: &[u8]) -> Option<String> {
    let sorted_diff = |e: Option<Vec<u8>>, a: Option<Vec<u8>>| Some(diff::unified(&e?, &a?, DIFF_LINES));
    match mode {
        Compare::Exact | Compare::Lines | Compare::Tokens | Compare::Floats => {
            Some(diff::unified(expected, actual, DIFF_LINES))
        }
        Compare::UnorderedLines => sorted_diff(
            sorted_view(unordered_lines(expected, case_sensitive), false),
            sorted_view(unordered_lines(actual, case_sensitive), false),
        ),
        Compare::SortedTokens => sorted_diff(
            sorted_view(token_items(expected, case_sensitive), false),
            sorted_view(token_items(actual, case_sensitive), false),
        ),
        Compare::UnorderedJsonLines => {
            let (Ok(e), Ok(a)) = (json_lines(expected), json_lines(actual)) else { return None };
            // Shown normalised, so that lines equal as values read the same.
            sorted_diff(sorted_view(e.into_iter(), true), sorted_view(a.into_iter(), true))
        }
        Compare::Json => {
            let parse = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).ok().map(normalized);
            let pretty = |value: &Value| serde_json::to_string_pretty(value).ok().map(|text| text + "\n");
            let (e, a) = (parse(expected)?, parse(actual)?);
            Some(diff::unified(pretty(&e)?.as_bytes(), pretty(&a)?.as_bytes(), DIFF_LINES))
        }
        Compare::Regex => None,
    }
}

fn wrong(message: String) -> Mismatch {
    Mismatch::Wrong(message)
}

// ----- exact -------------------------------------------------------------------------------------

fn exact(expected: &[u8], actual: &[u8]) -> Verdict {
    if expected == actual {
        return Ok(());
    }
    let at = common_prefix(expected, actual);
    let line = 1 + count_newlines(&actual[..at]);
    if at == actual.len() {
        let rest = &expected[at..];
        return Err(wrong(if rest == b"\n" {
            format!("the output lacks the final newline (line {line})")
        } else {
            format!("output ends early at line {line}: the expected answer continues with {}", quote(rest))
        }));
    }
    if at == expected.len() {
        return Err(wrong(format!("extra output after the expected answer (line {line}): {}", quote(&actual[at..]))));
    }
    let (e_start, e_line) = line_around(expected, at);
    let (_, a_line) = line_around(actual, at);
    Err(wrong(line_difference(line, e_line, a_line, at - e_start)))
}

/// The line holding byte `at`, with its newline: its start offset and its bytes.
fn line_around(bytes: &[u8], at: usize) -> (usize, &[u8]) {
    let start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
    let end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |nl| at + nl + 1);
    (start, &bytes[start..end])
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= n && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..n].iter().zip(&b[at..n]).take_while(|(x, y)| x == y).count()
}

fn count_newlines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

/// `line N: expected "…", got "…"`; long lines are shown from a little before the first difference,
/// whose column is then named. `at` is the byte offset of that difference (or where to look from).
fn line_difference(number: usize, expected: &[u8], actual: &[u8], at: usize) -> String {
    if fits(expected) && fits(actual) {
        return format!("line {number}: expected {}, got {}", quote(expected), quote(actual));
    }
    let mut start = at.saturating_sub(QUOTE_CHARS / 2).min(expected.len());
    while start > 0 && start < expected.len() && expected[start] & 0xC0 == 0x80 {
        start -= 1;
    }
    let column = String::from_utf8_lossy(&expected[..at.min(expected.len())]).chars().count() + 1;
    format!(
        "line {number}, column {column}: expected {}, got {}",
        quote_from(expected, start),
        quote_from(actual, start.min(actual.len()))
    )
}

fn fits(bytes: &[u8]) -> bool {
    bytes.len() <= QUOTE_CHARS
        || (bytes.len() <= 4 * QUOTE_CHARS && String::from_utf8_lossy(bytes).chars().count() <= QUOTE_CHARS)
}

// ----- lines -------------------------------------------------------------------------------------

/// Lines with their trailing whitespace cut, numbered from 1. A text ending in a newline has a last,
/// empty line; trailing blank lines are ignored by every user of this.
#[derive(Clone)]
struct Lines<'a> {
    rest: Option<&'a [u8]>,
    number: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Lines { rest: Some(bytes), number: 0 }
    }

    fn all_blank(self) -> bool {
        self.into_iter().all(|(_, line)| line.is_empty())
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let line = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                self.rest = Some(&rest[nl + 1..]);
                &rest[..nl]
            }
            None => {
                self.rest = None;
                rest
            }
        };
        self.number += 1;
        Some((self.number, trim_end(line)))
    }
}

fn lines(expected: &[u8], actual: &[u8], case_sensitive: bool) -> Verdict {
    let mut e = Lines::new(expected);
    let mut a = Lines::new(actual);
    loop {
        match (e.next(), a.next()) {
            (None, None) => return Ok(()),
            (Some((_, e_line)), Some((number, a_line))) => {
                if same_text(e_line, a_line, case_sensitive) {
                    continue;
                }
                // A blank line against a non-blank one may be where one side's answer ends.
                if e_line.is_empty() && e.clone().all_blank() {
                    return Err(extra_line(number, a_line));
                }
                if a_line.is_empty() && a.clone().all_blank() {
                    return Err(lines_end_early(expected, actual, number, e_line));
                }
                let at = first_difference_at(e_line, a_line, case_sensitive);
                return Err(wrong(line_difference(number, e_line, a_line, at)));
            }
            (None, Some((number, a_line))) => {
                return match std::iter::once((number, a_line)).chain(a).find(|(_, line)| !line.is_empty()) {
                    None => Ok(()),
                    Some((number, line)) => Err(extra_line(number, line)),
                };
            }
            (Some((number, e_line)), None) => {
                return match std::iter::once((number, e_line)).chain(e).find(|(_, line)| !line.is_empty()) {
                    None => Ok(()),
                    Some((number, line)) => Err(lines_end_early(expected, actual, number, line)),
                };
            }
        }
    }
}

fn extra_line(number: usize, line: &[u8]) -> Mismatch {
    wrong(format!("extra output after the expected answer (line {number}): {}", quote(line)))
}

fn lines_end_early(expected: &[u8], actual: &[u8], number: usize, e_line: &[u8]) -> Mismatch {
    let want = content_lines(expected);
    let got = content_lines(actual);
    let next = match Lines::new(expected).skip(number - 1).find(|(_, line)| !line.is_empty()) {
        Some((number, line)) => format!(" (line {number} should be {})", quote(line)),
        None => format!(" (line {number} should be {})", quote(e_line)),
    };
    wrong(format!("output ends early: expected {}, got {got}{next}", count(want, "line")))
}

/// Lines up to the last non-blank one.
fn content_lines(bytes: &[u8]) -> usize {
    match bytes.iter().rposition(|&b| !is_space(b)) {
        Some(last) => 1 + count_newlines(&bytes[..last]),
        None => 0,
    }
}

fn first_difference_at(expected: &[u8], actual: &[u8], case_sensitive: bool) -> usize {
    let differ = |(x, y): (&u8, &u8)| if case_sensitive { x != y } else { !x.eq_ignore_ascii_case(y) };
    expected.iter().zip(actual).position(differ).unwrap_or(expected.len().min(actual.len()))
}

// ----- tokens and floats -------------------------------------------------------------------------

/// C's `isspace` in the C locale.
const SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 6 {
        table[[b' ', b'\t', b'\n', b'\r', 0x0b, 0x0c][i] as usize] = true;
        i += 1;
    }
    table
};

fn is_space(byte: u8) -> bool {
    SPACE[byte as usize]
}

fn trim_end(line: &[u8]) -> &[u8] {
    let end = line.iter().rposition(|&b| !is_space(b)).map_or(0, |last| last + 1);
    &line[..end]
}

fn trim(line: &[u8]) -> &[u8] {
    let line = trim_end(line);
    let start = line.iter().position(|&b| !is_space(b)).unwrap_or(line.len());
    &line[start..]
}

struct Token<'a> {
    text: &'a [u8],
    /// Byte offset in the whole text.
    start: usize,
    /// 1-based line, and 1-based position among the tokens of that line.
    line: usize,
    index: usize,
}

/// Whitespace-separated tokens, with where each one is.
struct Tokens<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
    index: usize,
}

impl<'a> Tokens<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Tokens { bytes, at: 0, line: 1, index: 0 }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.bytes;
        let mut at = self.at;
        while at < bytes.len() && is_space(bytes[at]) {
            if bytes[at] == b'\n' {
                self.line += 1;
                self.index = 0;
            }
            at += 1;
        }
        if at == bytes.len() {
            self.at = at;
            return None;
        }
        let start = at;
        while at < bytes.len() && !is_space(bytes[at]) {
            at += 1;
        }
        self.at = at;
        self.index += 1;
        Some(Token { text: &bytes[start..at], start, line: self.line, index: self.index })
    }
}

/// Walks both token streams; `differ` says why two tokens differ (appended to the message), or None.
fn walk_tokens(expected: &[u8], actual: &[u8], mut differ: impl FnMut(&[u8], &[u8]) -> Option<String>) -> Verdict {
    let mut e = Tokens::new(expected);
    let mut a = Tokens::new(actual);
    let mut matched = 0usize;
    loop {
        match (e.next(), a.next()) {
            (None, None) => return Ok(()),
            (Some(e_token), Some(a_token)) => {
                if let Some(why) = differ(e_token.text, a_token.text) {
                    return Err(wrong(format!(
                        "line {}, token {}: expected {}, got {}{why}",
                        a_token.line,
                        a_token.index,
                        quote(e_token.text),
                        quote(a_token.text)
                    )));
                }
                matched += 1;
            }
            (Some(e_token), None) => {
                let want = matched + 1 + e.count();
                return Err(wrong(format!(
                    "output ends early: expected {}, got {matched}; the next would be {}",
                    count(want, "token"),
                    quote(e_token.text)
                )));
            }
            (None, Some(a_token)) => {
                return Err(wrong(format!(
                    "extra output after the expected answer (line {}, token {}): {}",
                    a_token.line,
                    a_token.index,
                    quote(trim_end(&actual[a_token.start..]))
                )));
            }
        }
    }
}

/// Why two tokens differ under `floats`, or None when they are equal or close enough.
fn float_difference(expected: &[u8], actual: &[u8], options: &CompareOptions) -> Option<String> {
    if expected == actual {
        return None;
    }
    let Some(want) = parse_number(expected) else {
        return (!same_text(expected, actual, options.case_sensitive)).then(String::new);
    };
    let Some(got) = parse_number(actual) else { return Some(" (not a number)".to_string()) };
    if within_tolerance(want, got, options) {
        return None;
    }
    if want.is_finite() && got.is_finite() {
        Some(format!(
            " (off by {:.3e}; allowed {:e} absolute or {:e} relative)",
            (want - got).abs(),
            options.float_abs,
            options.float_rel
        ))
    } else {
        Some(String::new())
    }
}

fn parse_number(token: &[u8]) -> Option<f64> {
    std::str::from_utf8(token).ok()?.parse().ok()
}

/// Within `float_abs` or within `float_rel` of the expected value (either is enough, as in Kattis).
/// NaN matches only NaN and an infinity only itself.
fn within_tolerance(expected: f64, actual: f64, options: &CompareOptions) -> bool {
    if expected.is_nan() || actual.is_nan() {
        return expected.is_nan() && actual.is_nan();
    }
    if expected.is_infinite() || actual.is_infinite() {
        return expected == actual;
    }
    let difference = (expected - actual).abs();
    // Decimal values and tolerances are rounded to binary: without a few ulps of slack, 100.0001
    // would be more than 1e-4 away from 100.
    let slack = 4.0 * f64::EPSILON * expected.abs().max(actual.abs());
    difference <= options.float_abs + slack || difference <= options.float_rel * expected.abs() + slack
}

// ----- case --------------------------------------------------------------------------------------

/// Equal, or equal ignoring case when case does not matter. Allocates only for non-ASCII text
/// compared without case.
fn same_text(a: &[u8], b: &[u8], case_sensitive: bool) -> bool {
    if a == b {
        return true;
    }
    if case_sensitive {
        return false;
    }
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    fold_case(a, false) == fold_case(b, false)
}

/// The text as compared: itself, or lower-cased when case does not matter (Unicode-aware for valid
/// UTF-8, ASCII-only otherwise so that distinct invalid bytes stay distinct).
fn fold_case(text: &[u8], case_sensitive: bool) -> Cow<'_, [u8]> {
    if case_sensitive || (text.is_ascii() && !text.iter().any(u8::is_ascii_uppercase)) {
        return Cow::Borrowed(text);
    }
    match std::str::from_utf8(text) {
        Ok(valid) if !valid.is_ascii() => Cow::Owned(valid.to_lowercase().into_bytes()),
        _ => Cow::Owned(text.to_ascii_lowercase()),
    }
}

// ----- multisets: unordered-lines, sorted-tokens, unordered-json-lines ---------------------------

/// One element of a multiset: what it is compared by, and how it reads.
struct Item<'a> {
    key: Cow<'a, [u8]>,
    text: Cow<'a, [u8]>,
    /// Shown verbatim in messages (JSON) rather than quoted.
    verbatim: bool,
}

/// Sides of more items than this get no sorted diff: the message names what is missing and extra.
const SORTED_VIEW_MAX: usize = 100_000;

fn unordered_lines(bytes: &[u8], case_sensitive: bool) -> impl Iterator<Item = Item<'_>> {
    Lines::new(bytes).filter(|(_, line)| !line.is_empty()).map(move |(_, line)| Item {
        key: fold_case(line, case_sensitive),
        text: Cow::Borrowed(line),
        verbatim: false,
    })
}

fn token_items(bytes: &[u8], case_sensitive: bool) -> impl Iterator<Item = Item<'_>> {
    Tokens::new(bytes).map(move |token| Item {
        key: fold_case(token.text, case_sensitive),
        text: Cow::Borrowed(token.text),
        verbatim: false,
    })
}

/// A borrowing copy of an item, to walk a collected list more than once.
fn borrowed<'a>(item: &'a Item<'_>) -> Item<'a> {
    Item { key: Cow::Borrowed(&item.key), text: Cow::Borrowed(&item.text), verbatim: item.verbatim }
}

/// The items sorted by key, one per line: a view in which missing and extra items stand out. None
/// when there are too many to sort for a diff.
fn sorted_view<'a>(items: impl Iterator<Item = Item<'a>>, show_key: bool) -> Option<Vec<u8>> {
    let mut items: Vec<Item> = items.take(SORTED_VIEW_MAX + 1).collect();
    if items.len() > SORTED_VIEW_MAX {
        return None;
    }
    items.sort_by(|x, y| x.key.cmp(&y.key));
    let mut out = Vec::new();
    for item in &items {
        out.extend_from_slice(if show_key { &item.key } else { &item.text });
        out.push(b'\n');
    }
    Some(out)
}

/// Two independently, randomly keyed SipHash values of an item's key: distinct keys share one with
/// a chance of 2^-128, and no output can be written to collide as the keys are chosen per run.
struct Fingerprints {
    first: RandomState,
    second: RandomState,
}

impl Fingerprints {
    fn new() -> Self {
        Fingerprints { first: RandomState::new(), second: RandomState::new() }
    }

    fn of(&self, key: &[u8]) -> (u64, u64) {
        (self.first.hash_one(key), self.second.hash_one(key))
    }

    /// The number of items and the wrapping sums of their fingerprints: equal for equal multisets,
    /// in any order, and computed without collecting anything.
    fn summary<'x>(&self, items: impl Iterator<Item = Item<'x>>) -> (usize, u64, u64) {
        items.fold((0, 0, 0), |(n, a, b), item| {
            let (x, y) = self.of(&item.key);
            (n + 1, a.wrapping_add(x), b.wrapping_add(y))
        })
    }

    fn sorted<'x>(&self, items: impl Iterator<Item = Item<'x>>) -> Vec<(u64, u64)> {
        let mut all: Vec<(u64, u64)> = items.map(|item| self.of(&item.key)).collect();
        all.sort_unstable();
        all
    }
}

/// Whether both sides hold the same items as many times each; if not, names the missing and the
/// extra ones in the order they appear. Fast on outputs of millions of items: accepting walks each
/// side once and collects nothing.
fn compare_multisets<'e, 'a, E, A>(expected: impl Fn() -> E, actual: impl Fn() -> A, unit: &str) -> Verdict
where
    E: Iterator<Item = Item<'e>>,
    A: Iterator<Item = Item<'a>>,
{
    let fingerprints = Fingerprints::new();
    if fingerprints.summary(expected()) == fingerprints.summary(actual()) {
        return Ok(());
    }
    // The surplus of each differing fingerprint in expected over actual.
    let mut balance: HashMap<(u64, u64), i64> = HashMap::new();
    let (e, a) = (fingerprints.sorted(expected()), fingerprints.sorted(actual()));
    let (mut i, mut j) = (0, 0);
    while i < e.len() || j < a.len() {
        match (e.get(i), a.get(j)) {
            (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
            (Some(x), Some(y)) if x < y => {
                *balance.entry(*x).or_default() += 1;
                i += 1;
            }
            (Some(x), None) => {
                *balance.entry(*x).or_default() += 1;
                i += 1;
            }
            (_, Some(y)) => {
                *balance.entry(*y).or_default() -= 1;
                j += 1;
            }
            (None, None) => break,
        }
    }
    let missing = Named::first_surplus(expected(), &fingerprints, &mut balance, 1);
    let extra = Named::first_surplus(actual(), &fingerprints, &mut balance, -1);
    let header = match (missing.total, extra.total) {
        (m, 0) => format!("{} missing", count(m, unit)),
        (0, x) => format!("{x} extra {}", plural_word(x, unit)),
        (m, x) => format!("{} missing, {x} extra", count(m, unit)),
    };
    let mut details = Vec::new();
    if missing.total > 0 {
        details.push(format!("missing {}", missing.list()));
    }
    if extra.total > 0 {
        details.push(format!("extra {}", extra.list()));
    }
    Err(wrong(format!("{header}: {}", details.join("; "))))
}

struct Named {
    shown: Vec<String>,
    total: usize,
}

impl Named {
    /// The items whose fingerprints have a surplus of `sign` in `balance`, each surplus copy once,
    /// named in the order they appear: a walk that stops once `NAMED_ITEMS` are named.
    fn first_surplus<'x>(
        items: impl Iterator<Item = Item<'x>>,
        fingerprints: &Fingerprints,
        balance: &mut HashMap<(u64, u64), i64>,
        sign: i64,
    ) -> Named {
        let total = balance.values().filter(|&&surplus| surplus.signum() == sign).map(|surplus| surplus.unsigned_abs());
        let mut named = Named { shown: Vec::new(), total: usize::try_from(total.sum::<u64>()).unwrap_or(usize::MAX) };
        for item in items {
            if named.shown.len() == NAMED_ITEMS.min(named.total) {
                break;
            }
            if let Some(surplus) = balance.get_mut(&fingerprints.of(&item.key))
                && surplus.signum() == sign
            {
                *surplus -= sign;
                named.shown.push(if item.verbatim { cut(&item.text) } else { quote(&item.text) });
            }
        }
        named
    }

    fn list(&self) -> String {
        let mut list = self.shown.join(", ");
        if self.total > self.shown.len() {
            let _ = write!(list, ", … {} more", self.total - self.shown.len());
        }
        list
    }
}

// ----- json --------------------------------------------------------------------------------------

fn json(expected: &[u8], actual: &[u8]) -> Verdict {
    let expected = serde_json::from_slice::<Value>(expected)
        .map_err(|error| Mismatch::Judge(format!("the expected answer is not valid JSON: {}", json_error(&error))))?;
    let actual = serde_json::from_slice::<Value>(actual)
        .map_err(|error| wrong(format!("output is not valid JSON: {}", json_error(&error))))?;
    let (expected, actual) = (normalized(expected), normalized(actual));
    if expected == actual {
        return Ok(());
    }
    Err(wrong(first_json_difference(&expected, &actual, "$")))
}

/// `line L, column C: what` from a serde_json error (whose own text ends "at line L column C").
fn json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let position = format!(" at line {} column {}", error.line(), error.column());
    let what = text.strip_suffix(&position).unwrap_or(&text);
    format!("line {}, column {}: {what}", error.line(), error.column())
}

/// The value with every integral float made an integer, so that equality and printing treat 1.0 as 1.
fn normalized(value: Value) -> Value {
    match value {
        Value::Number(number) => Value::Number(normalized_number(number)),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(key, value)| (key, normalized(value))).collect()),
        other => other,
    }
}

fn normalized_number(number: serde_json::Number) -> serde_json::Number {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        Some(float) if number.is_f64() && float.fract() == 0.0 => {
            if (-TWO_POW_63..TWO_POW_63).contains(&float) {
                serde_json::Number::from(float as i64)
            } else if (0.0..2.0 * TWO_POW_63).contains(&float) {
                serde_json::Number::from(float as u64)
            } else {
                number
            }
        }
        _ => number,
    }
}

/// Where two unequal (normalised) JSON values first differ, as a JSONPath-like location.
fn first_json_difference(expected: &Value, actual: &Value, path: &str) -> String {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return format!("at {path}: expected {}, got {}", count(e.len(), "element"), a.len());
            }
            match e.iter().zip(a).enumerate().find(|(_, (x, y))| x != y) {
                Some((index, (x, y))) => first_json_difference(x, y, &format!("{path}[{index}]")),
                None => format!("at {path}: the arrays differ"),
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for key in keys {
                match (e.get(key), a.get(key)) {
                    (Some(_), None) => {
                        return format!("at {path}: missing key {}", json_text(&Value::from(key.clone())));
                    }
                    (None, Some(_)) => {
                        return format!("at {path}: unexpected key {}", json_text(&Value::from(key.clone())));
                    }
                    (Some(x), Some(y)) if x != y => return first_json_difference(x, y, &child_path(path, key)),
                    _ => {}
                }
            }
            format!("at {path}: the objects differ")
        }
        _ if json_kind(expected) == json_kind(actual) => {
            format!("at {path}: expected {}, got {}", json_text(expected), json_text(actual))
        }
        _ => format!(
            "at {path}: expected {} {}, got {} {}",
            json_kind(expected),
            json_text(expected),
            json_kind(actual),
            json_text(actual)
        ),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Compact JSON, cut to `QUOTE_CHARS`.
fn json_text(value: &Value) -> String {
    cut(serde_json::to_string(value).unwrap_or_default().as_bytes())
}

fn child_path(path: &str, key: &str) -> String {
    let mut chars = key.chars();
    let identifier = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier { format!("{path}.{key}") } else { format!("{path}[{}]", json_text(&Value::from(key))) }
}

// ----- unordered json lines ----------------------------------------------------------------------

fn unordered_json_lines(expected: &[u8], actual: &[u8]) -> Verdict {
    let expected = json_lines(expected).map_err(|bad| {
        Mismatch::Judge(format!("line {} of the expected answer is not valid JSON {}", bad.number, bad.describe()))
    })?;
    let actual = json_lines(actual)
        .map_err(|bad| wrong(format!("output line {} is not valid JSON {}", bad.number, bad.describe())))?;
    compare_multisets(|| expected.iter().map(borrowed), || actual.iter().map(borrowed), "line")
}

struct BadJsonLine<'a> {
    number: usize,
    line: &'a [u8],
    error: serde_json::Error,
}

impl BadJsonLine<'_> {
    fn describe(&self) -> String {
        let text = self.error.to_string();
        let position = format!(" at line {} column {}", self.error.line(), self.error.column());
        let what = text.strip_suffix(&position).unwrap_or(&text);
        format!("(column {}: {what}): {}", self.error.column(), quote(self.line))
    }
}

/// Each non-blank line as an item keyed by its normalised compact JSON.
fn json_lines(bytes: &[u8]) -> Result<Vec<Item<'_>>, BadJsonLine<'_>> {
    let mut items = Vec::new();
    for (number, line) in Lines::new(bytes) {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        let value = serde_json::from_slice::<Value>(line).map_err(|error| BadJsonLine { number, line, error })?;
        let key = serde_json::to_string(&normalized(value)).unwrap_or_default().into_bytes();
        items.push(Item { key: Cow::Owned(key), text: Cow::Borrowed(line), verbatim: true });
    }
    Ok(items)
}

// ----- regex -------------------------------------------------------------------------------------

/// The whole output must match the pattern. The pattern's trailing line breaks are dropped (a file's
/// last newline), and one final newline of the output is allowed beyond the match, so `\d+` accepts
/// "42\n". `.` does not match a newline unless the pattern says `(?s)`.
fn regex(pattern: &[u8], actual: &[u8]) -> Verdict {
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return Err(Mismatch::Judge("the expected pattern is not valid UTF-8".to_string()));
    };
    let pattern = pattern.trim_end_matches(['\n', '\r']);
    if let Err(error) = regex::bytes::Regex::new(pattern) {
        return Err(Mismatch::Judge(format!(
            "the expected answer is not a valid regular expression: {}",
            one_line(&error)
        )));
    }
    let anchored = regex::bytes::Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|error| {
        Mismatch::Judge(format!("the expected pattern cannot be anchored to the whole output: {}", one_line(&error)))
    })?;
    let without_newline = actual.strip_suffix(b"\n").map(|rest| rest.strip_suffix(b"\r").unwrap_or(rest));
    if anchored.is_match(actual) || without_newline.is_some_and(|rest| anchored.is_match(rest)) {
        return Ok(());
    }
    Err(wrong(format!(
        "output does not match the expected pattern {}: got {}",
        quote(pattern.as_bytes()),
        quote(actual)
    )))
}

fn one_line(error: &regex::Error) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

// ----- showing values ----------------------------------------------------------------------------

/// The bytes as a Rust-style string literal (escapes for whitespace, controls and invalid UTF-8),
/// cut to `QUOTE_CHARS` characters with a trailing `…`.
fn quote(bytes: &[u8]) -> String {
    quote_from(bytes, 0)
}

/// Like `quote`, from byte `start` on, with a leading `…` when that is not the beginning.
fn quote_from(bytes: &[u8], start: usize) -> String {
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push('"');
    let rest = &bytes[start.min(bytes.len())..];
    let window = &rest[..rest.len().min(4 * QUOTE_CHARS + 4)];
    let mut chars = 0;
    let mut used = 0;
    'chunks: for chunk in window.utf8_chunks() {
        for c in chunk.valid().chars() {
            if chars == QUOTE_CHARS {
                break 'chunks;
            }
            if c == '\'' {
                out.push(c);
            } else {
                out.extend(c.escape_debug());
            }
            chars += 1;
            used += c.len_utf8();
        }
        for byte in chunk.invalid() {
            if chars == QUOTE_CHARS {
                break 'chunks;
            }
            let _ = write!(out, "\\x{byte:02x}");
            chars += 1;
            used += 1;
        }
    }
    out.push('"');
    if used < rest.len() {
        out.push('…');
    }
    out
}

/// Text shown as it is (valid UTF-8 lossily), cut to `QUOTE_CHARS` characters.
fn cut(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(QUOTE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.into_owned(),
    }
}

/// "1 line", "3 lines".
fn count(n: usize, unit: &str) -> String {
    format!("{n} {}", plural_word(n, unit))
}

fn plural_word(n: usize, unit: &str) -> String {
    if n == 1 { unit.to_string() } else { format!("{unit}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(mode: Compare, expected: &str, actual: &str) -> Judgement {
        compare(mode, &CompareOptions::default(), expected.as_bytes(), actual.as_bytes())
    }

    fn judge_with(mode: Compare, options: CompareOptions, expected: &str, actual: &str) -> Judgement {
        compare(mode, &options, expected.as_bytes(), actual.as_bytes())
    }

    fn first(judgement: &Judgement) -> &str {
        assert!(!judgement.accepted, "accepted");
        judgement.first_difference.as_deref().expect("a first difference")
    }

    fn caseless() -> CompareOptions {
        CompareOptions { case_sensitive: false, ..CompareOptions::default() }
    }

    const ALL_MODES: [Compare; 9] = [
        Compare::Exact,
        Compare::Lines,
        Compare::Tokens,
        Compare::Floats,
        Compare::UnorderedLines,
        Compare::SortedTokens,
        Compare::Json,
        Compare::UnorderedJsonLines,
        Compare::Regex,
    ];

    // ----- exact

    #[test]
    fn exact_accepts_identical_bytes_only() {
        assert!(judge(Compare::Exact, "a b\n", "a b\n").accepted);
        assert!(!judge(Compare::Exact, "a b\n", "a b \n").accepted);
        assert!(!judge(Compare::Exact, "a\n", "a\r\n").accepted);
    }

    #[test]
    fn exact_names_the_line_and_shows_both_lines() {
        let j = judge(Compare::Exact, "1\n2 3\n4\n", "1\n2  3\n4\n");
        assert_eq!(first(&j), r#"line 2: expected "2 3\n", got "2  3\n""#);
        assert!(j.diff.as_deref().unwrap().contains("+2  3\n"));
        assert!(!j.judge_error);
    }

    #[test]
    fn exact_shows_carriage_returns() {
        let j = judge(Compare::Exact, "a\nb\n", "a\r\nb\r\n");
        assert_eq!(first(&j), r#"line 1: expected "a\n", got "a\r\n""#);
    }

    #[test]
    fn exact_reports_missing_final_newline_and_early_end_and_extra_output() {
        assert_eq!(first(&judge(Compare::Exact, "a\nb\n", "a\nb")), "the output lacks the final newline (line 2)");
        assert_eq!(
            first(&judge(Compare::Exact, "a\nb\n", "a\n")),
            r#"output ends early at line 2: the expected answer continues with "b\n""#
        );
        assert_eq!(
            first(&judge(Compare::Exact, "a\n", "a\nfoo\n")),
            r#"extra output after the expected answer (line 2): "foo\n""#
        );
    }

    #[test]
    fn exact_long_lines_are_shown_around_the_difference() {
        let expected = format!("{}A{}\n", "x".repeat(200), "y".repeat(200));
        let actual = format!("{}B{}\n", "x".repeat(200), "y".repeat(200));
        let message = judge(Compare::Exact, &expected, &actual).first_difference.unwrap();
        let shown = format!("…\"{}A{}\"…", "x".repeat(40), "y".repeat(39));
        assert_eq!(message, format!("line 1, column 201: expected {shown}, got {}", shown.replace('A', "B")));
    }

    // ----- lines

    #[test]
    fn lines_ignore_trailing_whitespace_crlf_and_trailing_blank_lines() {
        assert!(judge(Compare::Lines, "a b\nc\n", "a b  \r\nc\t\r\n\n\n  \n").accepted);
        assert!(judge(Compare::Lines, "a\n\n\n", "a").accepted);
        assert!(judge(Compare::Lines, "", "\n\n").accepted);
    }

    #[test]
    fn lines_keep_leading_whitespace_and_inner_blank_lines() {
        assert_eq!(first(&judge(Compare::Lines, "a\n", " a\n")), r#"line 1: expected "a", got " a""#);
        assert_eq!(first(&judge(Compare::Lines, "a\nb\n", "a\n\nb\n")), r#"line 2: expected "b", got """#);
    }

    #[test]
    fn lines_report_early_end_with_counts() {
        let j = judge(Compare::Lines, "1\n2\n3\n4\n5\n", "1\n2\n3\n");
        assert_eq!(first(&j), r#"output ends early: expected 5 lines, got 3 (line 4 should be "4")"#);
        assert!(j.diff.is_some());
        assert_eq!(
            first(&judge(Compare::Lines, "1\n2\n", "1\n\n\n")),
            r#"output ends early: expected 2 lines, got 1 (line 2 should be "2")"#
        );
    }

    #[test]
    fn lines_report_extra_output() {
        assert_eq!(
            first(&judge(Compare::Lines, "1\n", "1\n\nfoo\n")),
            r#"extra output after the expected answer (line 3): "foo""#
        );
        assert_eq!(
            first(&judge(Compare::Lines, "1\n\n", "1\nfoo")),
            r#"extra output after the expected answer (line 2): "foo""#
        );
    }

    #[test]
    fn lines_case_insensitive_when_asked() {
        assert!(!judge(Compare::Lines, "Yes\n", "YES\n").accepted);
        assert!(judge_with(Compare::Lines, caseless(), "Yes\n", "YES\n").accepted);
        assert!(judge_with(Compare::Lines, caseless(), "Ärger\n", "äRGER\n").accepted);
    }

    // ----- tokens

    #[test]
    fn tokens_ignore_all_whitespace_layout() {
        assert!(judge(Compare::Tokens, "1 2\n3\n", "  1\t2 3").accepted);
        assert!(judge(Compare::Tokens, "1 2 3", "1\n2\r\n3\n\n").accepted);
    }

    #[test]
    fn tokens_name_line_and_token_of_the_output() {
        let j = judge(Compare::Tokens, "1 2\n7 7\n", "1 2\n7 8\n");
        assert_eq!(first(&j), r#"line 2, token 2: expected "7", got "8""#);
        assert!(j.diff.as_deref().unwrap().starts_with("--- expected\n+++ actual\n"));
    }

    #[test]
    fn tokens_report_early_end_and_extra_output() {
        assert_eq!(
            first(&judge(Compare::Tokens, "1 2 3 4\n", "1 2\n")),
            r#"output ends early: expected 4 tokens, got 2; the next would be "3""#
        );
        assert_eq!(
            first(&judge(Compare::Tokens, "1\n", "1\nfoo bar\n")),
            r#"extra output after the expected answer (line 2, token 1): "foo bar""#
        );
    }

    #[test]
    fn tokens_case_option() {
        assert!(!judge(Compare::Tokens, "YES", "yes").accepted);
        assert!(judge_with(Compare::Tokens, caseless(), "YES", "yes").accepted);
    }

    #[test]
    fn tokens_are_not_numbers() {
        assert_eq!(first(&judge(Compare::Tokens, "1.0", "1")), r#"line 1, token 1: expected "1.0", got "1""#);
    }

    // ----- floats

    fn tolerances(float_abs: f64, float_rel: f64) -> CompareOptions {
        CompareOptions { float_abs, float_rel, case_sensitive: true }
    }

    #[test]
    fn floats_accept_within_absolute_tolerance_only() {
        // 0.0001 is 1e-4 away: within abs 1e-3, far outside rel 1e-9 of 1.
        assert!(judge_with(Compare::Floats, tolerances(1e-3, 1e-9), "1.0", "1.0001").accepted);
    }

    #[test]
    fn floats_accept_within_relative_tolerance_only() {
        // 1000000 vs 1000001: off by 1, within rel 1e-5 of 1e6, far outside abs 1e-9.
        assert!(judge_with(Compare::Floats, tolerances(1e-9, 1e-5), "1000000", "1000001").accepted);
    }

    #[test]
    fn floats_reject_outside_both_tolerances_and_say_by_how_much() {
        let j = judge_with(Compare::Floats, tolerances(1e-6, 1e-6), "3.14159", "3.15");
        assert_eq!(
            first(&j),
            r#"line 1, token 1: expected "3.14159", got "3.15" (off by 8.410e-3; allowed 1e-6 absolute or 1e-6 relative)"#
        );
    }

    #[test]
    fn floats_tolerance_edges_are_inclusive() {
        assert!(judge_with(Compare::Floats, tolerances(1e-4, 0.0), "100", "100.0001").accepted);
        assert!(judge_with(Compare::Floats, tolerances(1e-4, 0.0), "100", "99.9999").accepted);
        assert!(!judge_with(Compare::Floats, tolerances(1e-4, 0.0), "100", "100.00011").accepted);
        assert!(judge_with(Compare::Floats, tolerances(0.0, 1e-2), "200", "202").accepted);
        assert!(!judge_with(Compare::Floats, tolerances(0.0, 1e-2), "200", "202.01").accepted);
    }

    #[test]
    fn floats_accept_other_spellings_of_a_number() {
        assert!(judge(Compare::Floats, "1.5 2 100", "1.500000 2.0 1e2").accepted);
        assert!(judge(Compare::Floats, "-0", "0.0000001").accepted);
    }

    #[test]
    fn floats_handle_nan_and_infinity() {
        assert!(judge(Compare::Floats, "nan inf -inf", "NaN Infinity -inf").accepted);
        assert!(!judge(Compare::Floats, "nan", "0").accepted);
        assert!(!judge(Compare::Floats, "0", "nan").accepted);
        assert!(!judge(Compare::Floats, "inf", "-inf").accepted);
        assert!(!judge(Compare::Floats, "1e308", "inf").accepted);
        assert!(!judge_with(Compare::Floats, tolerances(f64::MAX, 1.0), "inf", "1e308").accepted);
    }

    #[test]
    fn floats_compare_words_exactly_and_need_a_number_where_one_is_expected() {
        assert!(judge(Compare::Floats, "x = 1.5", "x = 1.5000001").accepted);
        assert!(!judge(Compare::Floats, "x = 1.5", "X = 1.5").accepted);
        assert!(
            judge_with(
                Compare::Floats,
                CompareOptions { case_sensitive: false, ..CompareOptions::default() },
                "x",
                "X"
            )
            .accepted
        );
        assert_eq!(
            first(&judge(Compare::Floats, "1.5", "one")),
            r#"line 1, token 1: expected "1.5", got "one" (not a number)"#
        );
    }

    // ----- unordered lines

    #[test]
    fn unordered_lines_accept_any_order_ignoring_blank_lines_and_trailing_space() {
        assert!(judge(Compare::UnorderedLines, "a\nb\nc\n", "c \n\nb\r\na\n").accepted);
        assert!(judge(Compare::UnorderedLines, "", "\n\n").accepted);
    }

    #[test]
    fn unordered_lines_count_duplicates_and_name_missing_and_extra() {
        let j = judge(Compare::UnorderedLines, "a\na\nb\n", "b\na\nc\n");
        assert_eq!(first(&j), r#"1 line missing, 1 extra: missing "a"; extra "c""#);
        let diff = j.diff.unwrap();
        assert!(diff.contains("\n-a\n") && diff.contains("\n+c\n"), "{diff}");
        assert_eq!(first(&judge(Compare::UnorderedLines, "a\nb\n", "b\n")), r#"1 line missing: missing "a""#);
        assert_eq!(first(&judge(Compare::UnorderedLines, "a\n", "a\nx\ny\n")), r#"2 extra lines: extra "x", "y""#);
    }

    #[test]
    fn unordered_lines_cut_long_lists() {
        let expected: String = (0..8).map(|i| format!("{i}\n")).collect();
        assert_eq!(
            first(&judge(Compare::UnorderedLines, &expected, "")),
            r#"8 lines missing: missing "0", "1", "2", "3", "4", … 3 more"#
        );
    }

    #[test]
    fn unordered_lines_case_option() {
        assert!(!judge(Compare::UnorderedLines, "A\nb\n", "B\na\n").accepted);
        assert!(judge_with(Compare::UnorderedLines, caseless(), "A\nb\n", "B\na\n").accepted);
    }

    // ----- sorted tokens

    #[test]
    fn sorted_tokens_accept_any_order_and_layout() {
        assert!(judge(Compare::SortedTokens, "3 1 2\n", "1\n2 3").accepted);
        assert!(judge_with(Compare::SortedTokens, caseless(), "b A", "a B").accepted);
    }

    #[test]
    fn sorted_tokens_name_missing_and_extra() {
        let j = judge(Compare::SortedTokens, "1 2 2 3", "3 2 1 4");
        assert_eq!(first(&j), r#"1 token missing, 1 extra: missing "2"; extra "4""#);
        assert!(j.diff.is_some());
    }

    // ----- json

    #[test]
    fn json_compares_values_not_text() {
        assert!(judge(Compare::Json, r#"{"a": [1, 2.5], "b": null}"#, "{\"b\":null,\n \"a\":[1.0,25e-1]}\n").accepted);
        assert!(judge(Compare::Json, "1", "1.0").accepted);
        assert!(judge(Compare::Json, "-0", "0").accepted);
    }

    #[test]
    fn json_locates_the_first_difference() {
        let j = judge(
            Compare::Json,
            r#"{"items": [{"name": "a"}, {"name": "b"}]}"#,
            r#"{"items": [{"name": "a"}, {"name": "c"}]}"#,
        );
        assert_eq!(first(&j), r#"at $.items[1].name: expected "b", got "c""#);
        assert!(j.diff.as_deref().unwrap().contains("-      \"name\": \"b\"\n"), "{}", j.diff.unwrap());
        assert_eq!(first(&judge(Compare::Json, r#"{"a": 1}"#, r#"{"a": 1, "b": 2}"#)), r#"at $: unexpected key "b""#);
        assert_eq!(first(&judge(Compare::Json, r#"{"a b": 1}"#, r#"{}"#)), r#"at $: missing key "a b""#);
        assert_eq!(
            first(&judge(Compare::Json, r#"{"a b": [1]}"#, r#"{"a b": [1, 2]}"#)),
            r#"at $["a b"]: expected 1 element, got 2"#
        );
        assert_eq!(
            first(&judge(Compare::Json, r#"[3]"#, r#"["3"]"#)),
            r#"at $[0]: expected a number 3, got a string "3""#
        );
    }

    #[test]
    fn json_invalid_output_is_rejected_with_its_position() {
        let j = judge(Compare::Json, "[1]", "[1,\n 2,]");
        assert_eq!(first(&j), "output is not valid JSON: line 2, column 4: trailing comma");
        assert!(!j.judge_error);
        assert_eq!(
            first(&judge(Compare::Json, "[1]", "")),
            "output is not valid JSON: line 1, column 0: EOF while parsing a value"
        );
        assert_eq!(
            first(&judge(Compare::Json, "[1]", "[1] [2]")),
            "output is not valid JSON: line 1, column 5: trailing characters"
        );
    }

    #[test]
    fn json_invalid_expected_is_a_judge_problem() {
        let j = judge(Compare::Json, "{oops", "{}");
        assert!(j.judge_error);
        assert_eq!(
            first(&j),
            "judge problem: the expected answer is not valid JSON: line 1, column 2: key must be a string"
        );
    }

    // ----- unordered json lines

    #[test]
    fn unordered_json_lines_accept_equal_values_in_any_order() {
        let expected = "{\"id\": 1, \"tags\": [\"a\"]}\n[\"x\", 2]\n";
        let actual = "\n[\"x\",2.0]\n{\"tags\":[\"a\"],\"id\":1}\n\n";
        assert!(judge(Compare::UnorderedJsonLines, expected, actual).accepted);
        assert!(judge(Compare::UnorderedJsonLines, "", "").accepted);
    }

    #[test]
    fn unordered_json_lines_name_missing_and_extra_lines() {
        let j = judge(Compare::UnorderedJsonLines, "[\"a\",\"b\"]\n[\"c\"]\n[\"a\"]\n", "[\"a\"]\n[\"a\"]\n");
        assert_eq!(first(&j), r#"2 lines missing, 1 extra: missing ["a","b"], ["c"]; extra ["a"]"#);
        let diff = j.diff.unwrap();
        assert!(diff.contains("\n-[\"c\"]\n"), "{diff}");
    }

    #[test]
    fn unordered_json_lines_name_a_line_that_is_not_json() {
        let j = judge(Compare::UnorderedJsonLines, "1\n2\n3\n", "1\n2\n\nhello\n");
        assert_eq!(first(&j), r#"output line 4 is not valid JSON (column 1: expected value): "hello""#);
        assert!(!j.judge_error);
        let j = judge(Compare::UnorderedJsonLines, "1\n{\n", "1\n");
        assert!(j.judge_error);
        assert_eq!(
            first(&j),
            r#"judge problem: line 2 of the expected answer is not valid JSON (column 1: EOF while parsing an object): "{""#
        );
    }

    // ----- regex

    #[test]
    fn regex_must_match_the_whole_output() {
        assert!(judge(Compare::Regex, "\\d+\n", "42\n").accepted);
        assert!(judge(Compare::Regex, "\\d+", "42").accepted);
        assert!(judge(Compare::Regex, "(?s)Result: .*done", "Result: 1\n2\ndone\n").accepted);
        assert!(!judge(Compare::Regex, "\\d+", "x42").accepted);
        assert!(!judge(Compare::Regex, "\\d+", "42\n\n").accepted);
        assert!(!judge(Compare::Regex, "a|ab", "abc").accepted);
        assert!(judge(Compare::Regex, "a|ab", "ab").accepted);
    }

    #[test]
    fn regex_rejection_shows_pattern_and_output() {
        let j = judge(Compare::Regex, "\\d+\n", "forty two\n");
        assert_eq!(first(&j), r#"output does not match the expected pattern "\\d+": got "forty two\n""#);
    }

    #[test]
    fn regex_invalid_pattern_is_a_judge_problem() {
        let j = judge(Compare::Regex, "(unclosed", "x");
        assert!(j.judge_error);
        assert!(
            first(&j).starts_with("judge problem: the expected answer is not a valid regular expression: "),
            "{j:?}"
        );
        assert!(!first(&j).contains('\n'));
    }

    // ----- across modes

    #[test]
    fn every_mode_accepts_an_identical_answer_and_empty_against_empty_where_meaningful() {
        for mode in ALL_MODES {
            assert!(judge(mode, "[1, 2]\n", "[1, 2]\n").accepted || mode == Compare::Regex, "{mode:?}");
        }
        for mode in [Compare::Exact, Compare::Lines, Compare::Tokens, Compare::Floats, Compare::UnorderedLines] {
            assert!(judge(mode, "", "").accepted, "{mode:?}");
            assert!(!judge(mode, "1\n", "").accepted, "{mode:?}");
        }
        assert!(judge(Compare::SortedTokens, "", "").accepted);
        assert!(judge(Compare::Regex, "", "").accepted);
    }

    #[test]
    fn empty_output_against_an_answer_is_told_plainly() {
        assert_eq!(
            first(&judge(Compare::Tokens, "42\n", "")),
            r#"output ends early: expected 1 token, got 0; the next would be "42""#
        );
        assert_eq!(
            first(&judge(Compare::Lines, "42\n", "")),
            r#"output ends early: expected 1 line, got 0 (line 1 should be "42")"#
        );
    }

    #[test]
    fn non_utf8_output_is_compared_as_bytes_and_shown_escaped() {
        let expected = b"caf\xe9 1\n";
        for mode in ALL_MODES {
            let _ = compare(mode, &caseless(), expected, b"\xff\xfe\n\x00");
        }
        assert!(compare(Compare::Tokens, &CompareOptions::default(), expected, b"caf\xe9\n1").accepted);
        let j = compare(Compare::Tokens, &CompareOptions::default(), expected, b"caf\xe8 1\n");
        assert_eq!(first(&j), r#"line 1, token 1: expected "caf\xe9", got "caf\xe8""#);
        assert!(!compare(Compare::Tokens, &caseless(), b"\xff", b"\xfe").accepted);
        assert!(j.diff.unwrap().contains("+caf\\xe8 1"));
    }

    #[test]
    fn quotes_escape_and_cut() {
        assert_eq!(quote(b"a\tb\"c'd\x01"), r#""a\tb\"c'd\u{1}""#);
        assert_eq!(quote("é".repeat(100).as_bytes()), format!("\"{}\"…", "é".repeat(80)));
        assert_eq!(quote_from(b"abcdef", 3), "…\"def\"");
    }

    #[test]
    fn options_come_from_the_check_table() {
        let check = Check { float_abs: Some(0.5), case_sensitive: Some(false), ..Check::default() };
        assert_eq!(
            CompareOptions::from_check(&check),
            CompareOptions { float_abs: 0.5, float_rel: 1e-6, case_sensitive: false }
        );
    }
}
