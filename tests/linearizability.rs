//! The linearizability checker against an outside oracle: every history of the shared test data (Jepsen
//! etcd logs and kv histories from Porcupine's test suite) gets the answer its README declares.

use std::fs;
use std::path::{Path, PathBuf};

use takehome::check::linearizability::formats::{parse_jepsen_register, parse_kv};
use takehome::check::linearizability::kv::KvModel;
use takehome::check::linearizability::register::RegisterModel;
use takehome::check::linearizability::{CheckOptions, Verdict, check};

fn data_dir() -> PathBuf {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/linearizability"));
    // CI runs with shared/ beside the clone: a missing folder is a broken setup, never a reason to skip.
    assert!(dir.is_dir(), "the shared linearizability data is missing: expected {}", dir.display());
    dir.to_path_buf()
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn short(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable(_) => "not-linearizable",
        Verdict::Unknown(_) => "unknown",
    }
}

#[test]
fn every_etcd_history_gets_its_expected_answer() {
    let dir = data_dir().join("etcd");
    let expected = read(&dir.join("EXPECTED"));
    let mut checked = 0;
    let mut asserted = 0;
    let mut wrong = Vec::new();
    for (number, line) in expected.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let [file, answer] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("EXPECTED line {}: {line:?} is not `<file> <answer>`", number + 1);
        };
        let history = parse_jepsen_register(&read(&dir.join(file))).unwrap_or_else(|error| panic!("{file}: {error}"));
        let verdict = check(&RegisterModel, &history, CheckOptions::default());
        checked += 1;
        match answer {
            "unknown" => {}
            "linearizable" | "not-linearizable" => {
                asserted += 1;
                if short(&verdict) != answer {
                    wrong.push(format!("{file}: expected {answer}, got {verdict}"));
                }
            }
            other => panic!("EXPECTED line {}: unknown answer {other:?}", number + 1),
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
    let logs = fs::read_dir(&dir)
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|e| e == "log"));
    assert_eq!(checked, logs.count(), "every etcd log is listed in EXPECTED");
    assert_eq!(checked, 103);
    assert_eq!(asserted, 102);
}

#[test]
fn every_kv_history_gets_its_expected_answer() {
    let dir = data_dir().join("kv");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let expected_linearizable = if name.ends_with("-ok.txt") {
            true
        } else if name.ends_with("-bad.txt") {
            false
        } else {
            continue;
        };
        let history = parse_kv(&read(&path)).unwrap_or_else(|error| panic!("{name}: {error}"));
        let verdict = check(&KvModel, &history, CheckOptions::default());
        match (&verdict, expected_linearizable) {
            (Verdict::Linearizable, true) => {}
            (Verdict::NotLinearizable(failure), false) => {
                // The failure is confined to one key and names an operation that could not be placed.
                assert!(failure.component.is_some(), "{name}: {failure}");
                assert!(!failure.stuck.is_empty(), "{name}: {failure}");
            }
            _ => panic!("{name}: expected linearizable={expected_linearizable}, got {verdict}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 6, "the six kv histories c01/c10/c50 ok/bad");
}
