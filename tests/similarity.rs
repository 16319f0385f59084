//! Similarity across a batch, through the library: a disguised copy is found, independent work is not, and
//! starter code never counts. Fixtures in fixtures/similarity (see its README) and the bundled references.

use std::path::{Path, PathBuf};

use takehome::similarity::{self, Analysis, Cohort, Input, Request, Settings, report::Report};

const THRESHOLD: f64 = 0.5;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn input(relative: &str, cohort: Cohort) -> Input {
    Input { name: relative.to_string(), path: repo().join(relative), cohort }
}

fn wordfreq(name: &str) -> Input {
    input(&format!("fixtures/similarity/wordfreq/{name}"), Cohort::Current)
}

/// Every bundled reference solution (each challenge, each language).
fn references() -> Vec<Input> {
    let mut found = Vec::new();
    for challenge in std::fs::read_dir(repo().join("challenges")).expect("challenges/") {
        let reference = challenge.expect("entry").path().join("reference");
        let Ok(languages) = std::fs::read_dir(&reference) else { continue };
        for language in languages {
            let path = language.expect("entry").path();
            let relative = path.strip_prefix(repo()).expect("inside the repo").display().to_string();
            found.push(input(&relative, Cohort::Current));
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

fn analyze(submissions: Vec<Input>, base: Option<&str>, settings: Settings) -> Analysis {
    let request =
        Request { submissions, base: base.map(|b| repo().join(b)), settings, threshold: THRESHOLD, top: 1000 };
    similarity::analyze(&request).expect("analysis")
}

fn names(analysis: &Analysis, pair: &similarity::Pair) -> (String, String) {
    (analysis.submissions[pair.left].name.clone(), analysis.submissions[pair.right].name.clone())
}

fn short(name: &str) -> &str {
    Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name)
}

fn batch() -> Vec<Input> {
    let mut batch: Vec<Input> = ["alice", "bob", "carol", "alice-copy"].into_iter().map(wordfreq).collect();
    batch.extend(references());
    batch
}

#[test]
fn a_copy_with_renamed_names_reordered_functions_and_new_comments_ranks_first_above_the_threshold() {
    for settings in [Settings::default(), Settings { abstract_identifiers: true, ..Settings::default() }] {
        let analysis = analyze(batch(), None, settings);
        let top = &analysis.pairs[0];
        let (left, right) = names(&analysis, top);
        assert_eq!((short(&left), short(&right)), ("alice", "alice-copy"), "{settings:?}");
        assert!(top.similarity > THRESHOLD, "similarity {} with {settings:?}", top.similarity);
        assert!(top.flagged);
        // Every function is shared, so the longest fragment is a whole function and the overlap most of the file.
        assert!(top.longest_fragment >= 60, "longest {}", top.longest_fragment);
        let copy_tokens =
            analysis.submissions.iter().find(|s| s.name.ends_with("alice-copy")).expect("copy").token_count();
        assert!(top.overlap() * 10 >= copy_tokens * 6, "overlap {} of {copy_tokens} tokens", top.overlap());
    }
}

#[test]
fn independently_written_solutions_stay_below_the_threshold() {
    let analysis = analyze(batch(), None, Settings::default());
    let is_wordfreq = |name: &str| name.contains("/wordfreq/");
    let language = |name: &str| short(name).to_string();
    let challenge = |name: &str| name.split('/').nth(1).unwrap_or_default().to_string();
    for pair in &analysis.pairs {
        let (left, right) = names(&analysis, pair);
        if short(&left) == "alice" && short(&right) == "alice-copy" {
            continue;
        }
        // The wordfreq solutions were written independently, and a reference in one language is not a
        // translation of one in another. (References of different challenges in one language share their
        // author's protocol boilerplate, legitimately; they are not independent work.)
        let independent = is_wordfreq(&left) || is_wordfreq(&right) || language(&left) != language(&right);
        if independent {
            assert!(pair.similarity < THRESHOLD, "{left} and {right} are independent but score {:.3}", pair.similarity);
            assert!(!pair.flagged);
        }
        if !is_wordfreq(&left) && !is_wordfreq(&right) && challenge(&left) == challenge(&right) {
            assert!(pair.similarity < 0.2, "the two references of {} score {:.3}", challenge(&left), pair.similarity);
        }
    }
    let wordfreq_pairs = analysis
        .pairs
        .iter()
        .filter(|p| {
            let (l, r) = names(&analysis, p);
            is_wordfreq(&l) && is_wordfreq(&r) && !(short(&l) == "alice" && short(&r) == "alice-copy")
        })
        .map(|p| p.similarity)
        .fold(0.0, f64::max);
    assert!(wordfreq_pairs < 0.15, "independent solutions of one task share {wordfreq_pairs:.3}");
}

#[test]
fn starter_code_alone_never_counts() {
    let starter = |name: &str| input(&format!("fixtures/similarity/starter/{name}"), Cohort::Current);
    let without_base = analyze(vec![starter("dave"), starter("erin")], None, Settings::default());
    assert!(without_base.pairs[0].similarity > THRESHOLD, "the fixtures do share the starter code");

    let with_base =
        analyze(vec![starter("dave"), starter("erin")], Some("fixtures/similarity/starter/base"), Settings::default());
    assert!(with_base.pairs.iter().all(|p| p.similarity == 0.0 && !p.flagged), "{:?}", with_base.pairs);

    let untouched = analyze(
        vec![starter("base"), starter("base/main.py")],
        Some("fixtures/similarity/starter/base"),
        Settings::default(),
    );
    assert!(untouched.pairs.is_empty(), "two copies of the starter code share nothing countable");
    assert!(untouched.submissions.iter().all(|s| s.distinct.is_empty()));
}

#[test]
fn earlier_rounds_are_compared_with_the_batch_but_not_with_each_other() {
    let mut inputs = vec![wordfreq("alice-copy"), wordfreq("carol")];
    for name in ["alice", "bob"] {
        inputs.push(Input { cohort: Cohort::Earlier, ..wordfreq(name) });
    }
    inputs.push(Input { cohort: Cohort::Earlier, ..wordfreq("alice") });
    inputs.last_mut().expect("pushed").name = "old/alice-again".into();
    let analysis = analyze(inputs, None, Settings::default());
    for pair in &analysis.pairs {
        let cohorts = (analysis.submissions[pair.left].cohort, analysis.submissions[pair.right].cohort);
        assert_ne!(cohorts, (Cohort::Earlier, Cohort::Earlier), "{:?}", names(&analysis, pair));
    }
    let (left, right) = names(&analysis, &analysis.pairs[0]);
    assert!(short(&left) == "alice-copy" && (short(&right) == "alice" || right == "old/alice-again"), "{left} {right}");
}

#[test]
fn the_json_report_names_matched_fragments_by_file_and_line() {
    let analysis = analyze(vec![wordfreq("alice"), wordfreq("alice-copy"), wordfreq("bob")], None, Settings::default());
    let json: serde_json::Value = serde_json::from_str(&Report::new(&analysis).to_json()).expect("valid JSON");
    assert_eq!(json["settings"]["k"], 23);
    assert_eq!(json["settings"]["window"], 17);
    assert_eq!(json["submissions"].as_array().expect("array").len(), 3);
    let top = &json["pairs"][0];
    assert_eq!(top["rank"], 1);
    assert!(top["flagged"].as_bool().expect("bool"));
    let fragments = top["fragments"].as_array().expect("array");
    assert!(!fragments.is_empty());
    let copy = std::fs::read_to_string(repo().join("fixtures/similarity/wordfreq/alice-copy/main.py")).expect("read");
    let copy_lines = copy.lines().count() as u64;
    for fragment in fragments {
        assert_eq!(fragment["left"]["file"], "main.py");
        let (first, last) =
            (fragment["right"]["first_line"].as_u64().expect("n"), fragment["right"]["last_line"].as_u64().expect("n"));
        assert!(1 <= first && first <= last && last <= copy_lines, "{fragment}");
    }
    // The tokenizer function (split_words / tokenize) is the longest, and is matched whole.
    let longest = &fragments[0];
    assert_eq!(longest["left"]["first_line"], 16);
    assert_eq!(longest["right"]["first_line"], 47);
}

#[test]
fn the_html_page_is_self_contained_and_shows_the_top_pair_side_by_side() {
    let analysis =
        analyze(vec![wordfreq("alice"), wordfreq("alice-copy"), wordfreq("carol")], None, Settings::default());
    let page = similarity::html::render(&analysis, similarity::html::DEFAULT_DETAILED_PAIRS);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("id=\"pair-1\""));
    assert!(page.contains("data-twin=\"p1-r-0\"") && page.contains("data-twin=\"p1-l-0\""));
    for external in ["http://", "https://", "<link", "src=\""] {
        assert!(!page.contains(external), "the page loads nothing from elsewhere ({external})");
    }
    // Source text is escaped: the `->` and `<` of the code never open a tag.
    assert!(!page.contains("<main>") && page.contains("while i &lt; len(argv)"));
}
