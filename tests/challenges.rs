//! Every bundled challenge validates: its spec loads, its references pass every case and its
//! known-bad submissions get their declared verdicts. This is what CI runs on each challenge.

mod common;

use std::sync::RwLock;

use common::{Takehome, repo};

/// Challenges whose stages measure throughput take the machine to themselves; the others share it.
static MACHINE: RwLock<()> = RwLock::new(());

/// Validates one bundled challenge folder, with a fixed seed so a failure can be replayed.
fn validates(id: &str) {
    let _shared = MACHINE.read().unwrap_or_else(std::sync::PoisonError::into_inner);
    validate_folder(id);
}

/// Validates a challenge whose references must reach throughput figures, with no other test running.
fn validates_alone(id: &str) {
    let _alone = MACHINE.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    validate_folder(id);
}

fn validate_folder(id: &str) {
    let dir = repo().join("challenges").join(id);
    let run = Takehome::new().args(["validate", &dir.display().to_string(), "--seed", "2026"]).run();
    assert_eq!(run.code(), 0, "{}:\n{}\n{}", dir.display(), run.stdout(), run.stderr());
    assert!(run.stdout().contains("challenge is valid"), "{}", run.stdout());
}

#[test]
fn every_bundled_challenge_has_a_validation_test() {
    let tested = ["dedup", "echo", "unique-ids", "broadcast", "g-counter", "bank", "lin-kv", "event-recording"];
    for entry in std::fs::read_dir(repo().join("challenges")).unwrap() {
        let dir = entry.unwrap().path();
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        if dir.join("challenge.toml").is_file() {
            assert!(tested.contains(&id.as_str()), "challenges/{id} has no `validates` test in tests/challenges.rs");
        }
    }
}

#[test]
fn dedup_validates() {
    validates("dedup");
}

#[test]
fn echo_validates() {
    validates("echo");
}

#[test]
fn unique_ids_validates() {
    validates("unique-ids");
}

#[test]
fn broadcast_validates() {
    validates("broadcast");
}

#[test]
fn g_counter_validates() {
    validates("g-counter");
}

#[test]
fn bank_validates() {
    validates_alone("bank");
}

#[test]
fn lin_kv_validates() {
    validates("lin-kv");
}

#[test]
fn event_recording_validates() {
    validates_alone("event-recording");
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
