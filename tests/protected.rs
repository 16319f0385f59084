//! `--changed-since`: a pull request that edits the challenge it is graded against is flagged in every
//! report (human, JSON, Markdown summary, GitHub annotations) and fails; one that only changes the
//! submission is not; a challenge outside any repository or an unknown revision is a usage error.

mod common;

use std::path::Path;

use common::{Takehome, copy_dir, fixture, git};

/// A candidate's repository: `challenge/` (a copy of the `sum` challenge) and `solution/` (its Python
/// reference) committed on `main`, and a branch `pr` checked out.
fn repository() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    copy_dir(&fixture("challenges/sum"), &repo.path().join("challenge"));
    copy_dir(&fixture("submissions/sum/python"), &repo.path().join("solution"));
    git(repo.path(), &["init", "-q", "-b", "main"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "the challenge and a solution"]);
    git(repo.path(), &["checkout", "-q", "-b", "pr"]);
    repo
}

/// `takehome grade challenge solution --changed-since main` in the repository, with more arguments.
fn grade(repo: &Path, more: &[&str]) -> Takehome {
    grade_since(repo, "main", more)
}

fn grade_since(repo: &Path, since: &str, more: &[&str]) -> Takehome {
    Takehome::new()
        .current_dir(repo)
        .env("GITHUB_ACTIONS", "false")
        .args(["grade", "challenge", "solution", "--seed", "7", "--changed-since", since])
        .args(more)
}

#[test]
fn a_branch_that_changes_only_the_submission_is_not_flagged() {
    let repo = repository();
    let main = repo.path().join("solution/main.py");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("# tidied\n{text}")).unwrap();
    std::fs::write(repo.path().join("challenge/README.md"), "a typo fixed in the brief\n").unwrap();
    git(repo.path(), &["commit", "-q", "-am", "tidy"]);

    let run = grade(repo.path(), &["--format", "json"]).run().expect_code(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!(json["reports"][0].get("protected_changes").is_none(), "{json}");
    let run = grade(repo.path(), &[]).run().expect_code(0);
    assert!(!run.stdout().contains("PROTECTED"), "{}", run.stdout());
}

#[test]
fn a_branch_that_changes_the_spec_is_flagged_in_every_report_and_fails() {
    let repo = repository();
    let spec = repo.path().join("challenge/challenge.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, text.replace("stdout_text = \"3\\n\"", "stdout_text = \"4\\n\"")).unwrap();
    git(repo.path(), &["commit", "-q", "-am", "make it pass"]);
    std::fs::write(repo.path().join("challenge/cases/negative.ans"), "0\n").unwrap();

    let human = grade(repo.path(), &[]).run().expect_code(1);
    let stdout = human.stdout();
    let flagged = stdout.lines().position(|l| l.starts_with("PROTECTED FILES CHANGED since main: ")).expect(&stdout);
    assert!(flagged < 6, "the flag is in the header:\n{stdout}");
    let listed: Vec<&str> = stdout.lines().skip(flagged + 1).take(2).collect();
    assert_eq!(listed, ["  challenge/cases/negative.ans", "  challenge/challenge.toml"], "{stdout}");
    assert!(
        human.stderr().contains("warning: the challenge's protected files changed since main"),
        "{}",
        human.stderr()
    );

    let json = grade(repo.path(), &["--format", "json"]).run().expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    let changes = &json["reports"][0]["protected_changes"];
    assert_eq!(changes["since"], "main");
    assert_eq!(changes["files"], serde_json::json!(["challenge/cases/negative.ans", "challenge/challenge.toml"]));

    let summary = repo.path().join("summary.md");
    let outputs = repo.path().join("outputs.txt");
    let github = grade(repo.path(), &["--format", "json"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", &repo.path().display().to_string())
        .env("GITHUB_STEP_SUMMARY", &summary.display().to_string())
        .env("GITHUB_OUTPUT", &outputs.display().to_string())
        .run()
        .expect_code(1);
    let stderr = github.stderr();
    for file in ["challenge/cases/negative.ans", "challenge/challenge.toml"] {
        let annotation =
            format!("::error file={file},title=takehome%3A a protected file of the challenge was changed::");
        assert!(stderr.contains(&annotation), "{annotation}\n{stderr}");
    }
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("## ❌"), "{summary}");
    assert!(summary.contains("**Protected files changed** since main"), "{summary}");
    assert!(std::fs::read_to_string(&outputs).unwrap().contains("passed=false\n"));
}

#[test]
fn the_revision_can_come_from_the_environment_and_test_checks_too() {
    let repo = repository();
    std::fs::write(repo.path().join("challenge/cases/negative.in"), "0 0\n").unwrap();
    let run = Takehome::new()
        .current_dir(repo.path())
        .env("GITHUB_ACTIONS", "false")
        .env("TAKEHOME_CHANGED_SINCE", "main")
        .args(["test", "challenge", "--dir", "solution", "--format", "json"])
        .run()
        .expect_code(1);
    let json: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(json["reports"][0]["protected_changes"]["files"], serde_json::json!(["challenge/cases/negative.in"]));
}

#[test]
fn a_challenge_outside_a_repository_or_an_unknown_revision_is_a_usage_error() {
    let plain = tempfile::tempdir().unwrap();
    copy_dir(&fixture("challenges/sum"), &plain.path().join("challenge"));
    copy_dir(&fixture("submissions/sum/python"), &plain.path().join("solution"));
    let run = grade(plain.path(), &[]).run().expect_code(2);
    assert!(run.stderr().contains("is not inside a git repository"), "{}", run.stderr());

    let repo = repository();
    let run = grade_since(repo.path(), "origin/no-such-branch", &[]).run().expect_code(2);
    assert!(run.stderr().contains("no branch, tag or commit named `origin/no-such-branch`"), "{}", run.stderr());

    let run = Takehome::new().args(["test", "dedup", "--changed-since", "main"]).run().expect_code(2);
    assert!(run.stderr().contains("is a bundled challenge"), "{}", run.stderr());
}
