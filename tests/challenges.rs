//! Every bundled challenge validates: its spec loads, its references pass every case and its
//! known-bad submissions get their declared verdicts. This is what CI runs on each challenge.

mod common;

use common::{Takehome, repo};

#[test]
fn every_bundled_challenge_validates() {
    let challenges = repo().join("challenges");
    let mut checked = 0;
    for entry in std::fs::read_dir(&challenges).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("challenge.toml").is_file() {
            continue;
        }
        let run = Takehome::new().args(["validate", &dir.display().to_string(), "--seed", "2026"]).run();
        assert_eq!(run.code(), 0, "{}:\n{}\n{}", dir.display(), run.stdout(), run.stderr());
        assert!(run.stdout().contains("challenge is valid"), "{}", run.stdout());
        checked += 1;
    }
    assert!(checked >= 1, "no bundled challenge found under {}", challenges.display());
}

#[test]
fn a_candidate_can_test_inside_the_python_reference_folder() {
    let reference = repo().join("challenges/dedup/reference/python");
    let run = Takehome::new().args(["test", "dedup"]).current_dir(&reference).run();
    assert_eq!(run.code(), 0, "{}\n{}", run.stdout(), run.stderr());
    let out = run.stdout();
    assert!(out.contains("hidden cases not run"), "{out}");
    assert!(out.contains("(100%)"), "{out}");
}
