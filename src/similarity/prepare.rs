//! A submission read, tokenised and fingerprinted, with the starter code's k-grams left out.

use std::path::{Path, PathBuf};

use super::fingerprint::{Stream, U64Set, winnow};
use super::lexer::{Token, tokenize};
use super::source::{self, Skipped, SourceFile};
use super::{Cohort, Input, Settings, SimilarityError};

/// The starter code: every k-gram hash it has. A submission's k-gram with one of these hashes never counts.
#[derive(Debug, Default)]
pub struct Base {
    kgrams: U64Set,
    pub files: usize,
}

impl Base {
    pub fn load(path: &Path, settings: &Settings) -> Result<Base, SimilarityError> {
        let (files, _) = source::collect(path).map_err(|error| match error {
            SimilarityError::Submission { path, source } => SimilarityError::Base { path, source },
            other => other,
        })?;
        Ok(Base::from_sources(&files, settings))
    }

    pub fn from_sources(files: &[SourceFile], settings: &Settings) -> Base {
        let mut kgrams = U64Set::default();
        for file in files {
            let tokens = tokenize(&file.text, file.syntax);
            kgrams.extend(Stream::new(&file.text, &tokens, settings.abstract_identifiers).kgram_hashes(settings.k));
        }
        Base { kgrams, files: files.len() }
    }

    fn contains(&self, hash: u64) -> bool {
        self.kgrams.contains(&hash)
    }
}

/// One file of a prepared submission.
#[derive(Debug)]
pub struct PreparedFile {
    pub source: SourceFile,
    pub tokens: Vec<Token>,
    pub stream: Stream,
    /// Tokens inside a k-gram the starter code also has (empty when there is no starter code).
    pub in_base: Vec<bool>,
}

impl PreparedFile {
    pub fn is_base(&self, token: usize) -> bool {
        self.in_base.get(token).copied().unwrap_or(false)
    }

    /// The 1-based lines of tokens `first..end` (end exclusive, at least one token).
    pub fn lines(&self, first: usize, end: usize) -> (u32, u32) {
        let start_line = self.tokens[first].line;
        let last = &self.tokens[end - 1];
        let text = &self.source.text[last.start as usize..last.end as usize];
        (start_line, last.line + text.matches('\n').count() as u32)
    }
}

/// A fingerprint: a selected k-gram's hash and where the k-gram starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub hash: u64,
    pub file: u32,
    pub start: u32,
}

/// A submission ready for comparison.
#[derive(Debug)]
pub struct Submission {
    pub name: String,
    pub path: PathBuf,
    pub cohort: Cohort,
    pub files: Vec<PreparedFile>,
    pub skipped: Vec<Skipped>,
    /// Fingerprints outside the starter code, in file and position order.
    pub fingerprints: Vec<Fingerprint>,
    /// Their distinct hashes, sorted.
    pub distinct: Vec<u64>,
}

impl Submission {
    /// Reads, tokenises and fingerprints the submission at `input.path`.
    pub fn load(input: &Input, settings: &Settings, base: Option<&Base>) -> Result<Submission, SimilarityError> {
        let (files, skipped) = source::collect(&input.path)?;
        let mut submission = Submission::from_sources(&input.name, &input.path, input.cohort, files, settings, base);
        submission.skipped = skipped;
        Ok(submission)
    }

    pub fn from_sources(
        name: &str,
        path: &Path,
        cohort: Cohort,
        sources: Vec<SourceFile>,
        settings: &Settings,
        base: Option<&Base>,
    ) -> Submission {
        let mut files = Vec::with_capacity(sources.len());
        let mut fingerprints = Vec::new();
        for (index, source) in sources.into_iter().enumerate() {
            let tokens = tokenize(&source.text, source.syntax);
            let stream = Stream::new(&source.text, &tokens, settings.abstract_identifiers);
            let hashes = stream.kgram_hashes(settings.k);
            let in_base = match base {
                Some(base) => mark_base_tokens(&hashes, settings.k, tokens.len(), base),
                None => Vec::new(),
            };
            for start in winnow(&hashes, settings.window) {
                let hash = hashes[start];
                if !base.is_some_and(|base| base.contains(hash)) {
                    fingerprints.push(Fingerprint { hash, file: index as u32, start: start as u32 });
                }
            }
            files.push(PreparedFile { source, tokens, stream, in_base });
        }
        let mut distinct: Vec<u64> = fingerprints.iter().map(|f| f.hash).collect();
        distinct.sort_unstable();
        distinct.dedup();
        Submission {
            name: name.to_string(),
            path: path.to_path_buf(),
            cohort,
            files,
            skipped: Vec::new(),
            fingerprints,
            distinct,
        }
    }

    pub fn token_count(&self) -> usize {
        self.files.iter().map(|f| f.tokens.len()).sum()
    }
}

fn mark_base_tokens(hashes: &[u64], k: usize, token_count: usize, base: &Base) -> Vec<bool> {
    let mut in_base = vec![false; token_count];
    let mut covered_until = 0;
    for (start, &hash) in hashes.iter().enumerate() {
        if base.contains(hash) {
            let from = start.max(covered_until);
            let end = start + k;
            in_base[from..end].iter_mut().for_each(|flag| *flag = true);
            covered_until = end;
        }
    }
    in_base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::similarity::source::Syntax;

    fn python(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.into(), syntax: Syntax::Python, text: text.into() }
    }

    fn settings() -> Settings {
        Settings { k: 5, window: 4, abstract_identifiers: false }
    }

    const STARTER: &str = "import sys\n\ndef read_input():\n    return [int(x) for x in sys.stdin.read().split()]\n";

    #[test]
    fn fingerprints_of_the_starter_code_are_dropped() {
        let base = Base::from_sources(&[python("main.py", STARTER)], &settings());
        let only_starter = Submission::from_sources(
            "a",
            Path::new("a"),
            Cohort::Current,
            vec![python("main.py", STARTER)],
            &settings(),
            Some(&base),
        );
        assert!(only_starter.fingerprints.is_empty());
        assert!(only_starter.files[0].in_base.iter().all(|&flag| flag));
        let extended = format!("{STARTER}\ndef solve(values):\n    return sum(v * v for v in values if v % 2)\n");
        let own = Submission::from_sources(
            "b",
            Path::new("b"),
            Cohort::Current,
            vec![python("main.py", &extended)],
            &settings(),
            Some(&base),
        );
        assert!(!own.fingerprints.is_empty());
        let file = &own.files[0];
        let first_own = file.tokens.iter().position(|t| t.line >= 6).expect("own code");
        assert!(file.is_base(0) && !file.is_base(first_own + 3));
    }

    #[test]
    fn lines_of_a_token_range_include_multiline_tokens() {
        let text = "x = \"\"\"a\nb\nc\"\"\"\ny = 1\n";
        let sub = Submission::from_sources(
            "a",
            Path::new("a"),
            Cohort::Current,
            vec![python("m.py", text)],
            &settings(),
            None,
        );
        assert_eq!(sub.files[0].lines(0, 3), (1, 3));
        assert_eq!(sub.files[0].lines(3, 6), (4, 4));
    }
}
