//! Batch grading as an interviewer meets it: many submissions (folders, archives, git revisions), a result
//! folder that survives a killed grader and resumes, shards merged back into one, and `verify`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Takehome, copy_dir, fixture, git};

fn sum() -> String {
    fixture("challenges/sum").display().to_string()
}

/// The results of a folder: name -> parsed JSON (panics on any file that does not parse).
fn results(dir: &Path) -> BTreeMap<String, serde_json::Value> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".json").filter(|_| !name.starts_with('.')) {
            let text = std::fs::read_to_string(&path).unwrap();
            let json: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not whole JSON: {e}\n{text}"));
            found.insert(stem.to_string(), json);
        }
    }
    found
}

fn score(result: &serde_json::Value) -> f64 {
    result["reports"][0]["score"].as_f64().unwrap()
}

fn run_id(result: &serde_json::Value) -> String {
    result["reports"][0]["manifest"]["run_id"].as_str().unwrap().to_string()
}

/// A copy of the Python `sum` solution that sleeps before answering (so a batch takes a while).
fn slow_python(dir: &Path, seconds: f64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("main.py"),
        format!("import time\ntime.sleep({seconds})\na, b = map(int, input().split())\nprint(a + b)\n"),
    )
    .unwrap();
}

#[test]
fn a_grader_killed_mid_batch_leaves_whole_results_and_the_rerun_grades_each_submission_once() {
    let work = tempfile::tempdir().unwrap();
    let subs = work.path().join("subs");
    let names = ["ana", "ben", "cat", "dan", "eve", "fay"];
    for name in names {
        slow_python(&subs.join(name), 0.3);
    }
    let out = work.path().join("results");
    let takehome = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_takehome"));
        command
            .args(["grade", &sum(), "--from"])
            .arg(&subs)
            .arg("--out")
            .arg(&out)
            .args(["--seed", "5", "--jobs", "2"])
            .current_dir(work.path())
            .env("TAKEHOME_CACHE_DIR", work.path().join("cache"))
            .env_remove("TAKEHOME_JOBS")
            .env_remove("TAKEHOME_SEED");
        command
    };

    let mut grader = takehome().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (if out.is_dir() { results(&out).len() } else { 0 }) < 2 {
        assert!(Instant::now() < deadline, "no results after two minutes");
        assert!(grader.try_wait().unwrap().is_none(), "the grader finished before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    grader.kill().unwrap(); // SIGKILL: no chance to clean up.
    grader.wait().unwrap();

    let first = results(&out);
    assert!(first.len() >= 2 && first.len() < names.len(), "killed mid-batch: {} results", first.len());
    let first_run = run_id(first.values().next().unwrap());
    assert!(first.values().all(|r| run_id(r) == first_run && score(r) == 100.0));
    let bytes_before: BTreeMap<String, Vec<u8>> =
        first.keys().map(|n| (n.clone(), std::fs::read(out.join(format!("{n}.json"))).unwrap())).collect();

    let rerun = takehome().output().unwrap();
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert_eq!(rerun.status.code(), Some(0), "{stderr}");
    let second = results(&out);
    assert_eq!(second.keys().map(String::as_str).collect::<Vec<_>>(), names);
    for (name, result) in &second {
        assert_eq!(score(result), 100.0, "{name}");
        match bytes_before.get(name) {
            Some(before) => {
                assert_eq!(&std::fs::read(out.join(format!("{name}.json"))).unwrap(), before, "{name} regraded");
                assert!(stderr.contains(&format!("{name}: kept")), "{stderr}");
            }
            None => assert_ne!(run_id(result), first_run, "{name} was graded by the rerun"),
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".json"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files of the killed grader are cleaned: {leftovers:?}");
}

#[test]
fn three_shards_merged_equal_one_unsharded_run() {
    let submissions: Vec<String> =
        ["sum/c", "sum/python", "sum/broken-c", "sum/empty", "sum-bad/wa", "sum-bad/re-exit"]
            .iter()
            .map(|s| fixture(&format!("submissions/{s}")).display().to_string())
            .collect();
    let work = tempfile::tempdir().unwrap();
    let grade = |extra: &[&str], out: &str| {
        Takehome::new()
            .current_dir(work.path())
            .args(["grade", &sum()])
            .args(&submissions)
            .args(["--seed", "11", "--out", out])
            .args(extra)
            .run()
    };
    let whole = grade(&[], "all");
    assert!(whole.code() == 1, "some submissions fail: {}", whole.stderr());
    let mut graded_by_shards = Vec::new();
    for k in 1..=3 {
        let run = grade(&["--shard", &format!("{k}/3")], &format!("shard{k}"));
        assert!(run.code() <= 1, "{}", run.stderr());
        assert!(run.stderr().contains(&format!("shard {k}/3:")), "{}", run.stderr());
        graded_by_shards.extend(results(&work.path().join(format!("shard{k}"))).into_keys());
    }
    graded_by_shards.sort();
    let unsharded = results(&work.path().join("all"));
    assert_eq!(graded_by_shards, unsharded.keys().cloned().collect::<Vec<_>>(), "each graded exactly once");

    let merge = Takehome::new().current_dir(work.path()).args(["merge", "merged", "shard1", "shard2", "shard3"]).run();
    assert_eq!(merge.code(), 0, "{}", merge.stderr());
    assert!(merge.stdout().contains("6 results in merged"), "{}", merge.stdout());
    let merged = results(&work.path().join("merged"));
    let scores = |set: &BTreeMap<String, serde_json::Value>| -> Vec<(String, f64)> {
        set.iter().map(|(name, result)| (name.clone(), score(result))).collect()
    };
    assert_eq!(scores(&merged), scores(&unsharded));
}

#[test]
fn a_shard_needs_a_seed() {
    let run = Takehome::new()
        .args(["grade", &sum(), &fixture("submissions/sum/c").display().to_string(), "--shard", "1/2"])
        .run();
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("--shard 1/2 needs --seed"), "{}", run.stderr());
}

#[test]
fn archives_are_unpacked_and_graded_under_their_stem() {
    let work = tempfile::tempdir().unwrap();
    let subs = work.path().join("subs");
    std::fs::create_dir(&subs).unwrap();
    // A zip wrapping everything in one folder, as GitHub's downloads do.
    let mut zip = zip::ZipWriter::new(std::fs::File::create(subs.join("zoe.zip")).unwrap());
    zip.add_directory("sum-main/", zip::write::SimpleFileOptions::default()).unwrap();
    zip.start_file("sum-main/main.py", zip::write::SimpleFileOptions::default()).unwrap();
    std::io::Write::write_all(&mut zip, &std::fs::read(fixture("submissions/sum/python/main.py")).unwrap()).unwrap();
    zip.finish().unwrap();
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(subs.join("yan.tar.gz")).unwrap(), Default::default());
    let mut tar = tar::Builder::new(gz);
    tar.append_path_with_name(fixture("submissions/sum/c/main.c"), "main.c").unwrap();
    tar.into_inner().unwrap().finish().unwrap();

    let run = Takehome::new()
        .current_dir(work.path())
        .args(["grade", &sum(), "--from", "subs", "--seed", "3", "--format", "json"])
        .run()
        .expect_code(0);
    let set: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    let reports = set["reports"].as_array().unwrap();
    let named: Vec<(&str, f64)> =
        reports.iter().map(|r| (r["submission"]["name"].as_str().unwrap(), r["score"].as_f64().unwrap())).collect();
    assert_eq!(named, [("yan", 100.0), ("zoe", 100.0)]);
    assert_eq!(reports[1]["manifest"]["source"]["kind"], "archive");
    assert!(reports[1]["submission"]["path"].as_str().unwrap().ends_with("subs/zoe.zip"));
}

#[test]
fn a_git_revision_is_graded_without_touching_the_repository() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repos/kim");
    copy_dir(&fixture("submissions/sum/python"), &repo);
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "works"]);
    git(&repo, &["tag", "submitted"]);
    std::fs::write(repo.join("main.py"), "print('oops')\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "broken after the deadline"]);
    std::fs::write(repo.join("main.py"), "uncommitted edit\n").unwrap();
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let status = git(&repo, &["status", "--porcelain"]);

    let graded = |rev: &str| {
        let run = Takehome::new()
            .current_dir(work.path())
            .args(["grade", &sum(), "--from", "repos", "--rev", rev, "--seed", "4", "--format", "json"])
            .run();
        let set: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap_or_else(|_| panic!("{}", run.stderr()));
        set["reports"][0].clone()
    };
    let submitted = graded("submitted");
    assert_eq!(submitted["score"].as_f64(), Some(100.0));
    assert_eq!(submitted["submission"]["name"], "kim");
    assert_eq!(submitted["manifest"]["source"]["rev"], "submitted");
    assert_eq!(submitted["manifest"]["source"]["commit"].as_str().unwrap().len(), 40);
    assert_eq!(graded("main")["score"].as_f64(), Some(0.0));
    let unknown = graded("no-such-tag");
    assert!(unknown["build"]["log_tail"].as_str().unwrap().contains("no branch, tag or commit named `no-such-tag`"));

    assert_eq!(git(&repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&repo, &["status", "--porcelain"]), status);
    assert_eq!(std::fs::read_to_string(repo.join("main.py")).unwrap(), "uncommitted edit\n");
}

#[test]
fn verify_says_whether_a_result_still_matches_and_what_changed() {
    let work = tempfile::tempdir().unwrap();
    let submission = work.path().join("lee");
    copy_dir(&fixture("submissions/sum/python"), &submission);
    Takehome::new()
        .current_dir(work.path())
        .args(["grade", &sum(), "lee", "--out", "results", "--seed", "9"])
        .run()
        .expect_code(0);

    let verify = |extra: &[&str]| {
        Takehome::new().current_dir(work.path()).args(["verify", "results/lee.json"]).args(extra).run()
    };
    let same = verify(&[]).expect_code(0);
    assert!(same.stdout().contains("result: matches the submission and the challenge"), "{}", same.stdout());

    std::fs::write(submission.join("main.py"), "print(3)\n").unwrap();
    std::fs::write(submission.join("helper.py"), "\n").unwrap();
    let changed = verify(&[]).expect_code(1);
    assert!(changed.stdout().contains("changed: main.py; added: helper.py"), "{}", changed.stdout());
    assert!(changed.stdout().contains("does NOT match: the submission changed"), "{}", changed.stdout());

    let moved: PathBuf = work.path().join("elsewhere");
    copy_dir(&fixture("submissions/sum/python"), &moved);
    verify(&["--dir", "elsewhere"]).expect_code(0);
}
