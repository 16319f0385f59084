//! The command line as users meet it: the real binary, run in temporary folders, on fixture
//! challenges and submissions.

mod common;

use common::{Takehome, copy_dir, fixture, repo, verdict};

fn sum() -> String {
    fixture("challenges/sum").display().to_string()
}

#[test]
fn test_passes_the_public_cases_of_a_correct_submission() {
    let run = Takehome::new()
        .args(["test", &sum(), "--dir", &fixture("submissions/sum/python").display().to_string()])
        .run()
        .expect_code(0);
    let out = run.stdout();
    assert!(out.contains("score 40/40 (100%)"), "{out}");
    assert!(out.contains("3 hidden cases not run"), "{out}");
    assert!(out.contains("python: found main.py"), "{out}");
}

#[test]
fn test_runs_in_the_current_folder_by_default() {
    let run =
        Takehome::new().args(["test", &sum()]).current_dir(&fixture("submissions/sum/python")).run().expect_code(0);
    assert!(run.stdout().contains("submission: python"), "{}", run.stdout());
}

#[test]
fn grade_gives_each_fixture_its_verdict() {
    let cases = [
        ("wa", "WA"),
        ("tle-cpu", "TLE"),
        ("tle-wall", "TLE"),
        ("mle", "MLE"),
        ("ole", "OLE"),
        ("re-exit", "RE"),
        ("re-signal", "RE"),
        ("closes-stdout", "WA"),
        ("ce-c", "CE"),
    ];
    let bad = |name: &str| fixture(&format!("submissions/sum-bad/{name}")).display().to_string();
    let mut args = vec!["grade".to_string(), sum(), "--seed".into(), "1".into(), "--format".into(), "json".into()];
    args.extend(["--output".into(), "out.json".into()]);
    args.extend(cases.iter().map(|(name, _)| bad(name)));
    let run = Takehome::new().args(&args).run().expect_code(1);
    let json = run.json("out.json");
    let reports = json["reports"].as_array().unwrap();
    assert_eq!(reports.len(), cases.len());
    for (report, (name, expected)) in reports.iter().zip(cases) {
        assert_eq!(report["submission"]["name"], name);
        let case = &report["groups"][0]["cases"][0];
        assert_eq!(case["verdict"], expected, "{name}: {case}");
    }
    let reason = |i: usize| reports[i]["groups"][0]["cases"][0]["reason"].as_str().unwrap().to_string();
    assert!(reason(1).contains("CPU time limit 1 s"), "{}", reason(1));
    assert_eq!(reports[1]["groups"][0]["cases"][0]["limit_hit"], "cpu-time");
    assert!(reason(2).contains("wall-clock limit 6 s"), "{}", reason(2));
    assert_eq!(reports[2]["groups"][0]["cases"][0]["limit_hit"], "wall-time");
    assert_eq!(reason(5), "exit code 3");
    assert_eq!(reason(6), "killed by SIGSEGV");
    assert!(!reports[8]["build"]["ok"].as_bool().unwrap());
    assert!(reports[8]["build"]["log_tail"].as_str().unwrap().contains("error"), "{}", reports[8]["build"]);
}

#[test]
fn wrong_answer_shows_a_diff_the_input_and_the_first_difference() {
    let run = Takehome::new()
        .args(["test", &sum(), "--dir", &fixture("submissions/sum-bad/wa").display().to_string()])
        .run()
        .expect_code(1);
    let out = run.stdout();
    assert!(out.contains("WA"), "{out}");
    assert!(out.contains("expected \"3\", got \"-1\""), "{out}");
    assert!(out.contains("-3") && out.contains("+-1"), "the diff: {out}");
    assert!(out.contains("1 2"), "the input head: {out}");
    assert!(out.contains("skipped: requires group `samples`"), "{out}");
}

#[test]
fn json_report_is_versioned_and_complete() {
    let run = Takehome::new()
        .args(["grade", &sum(), &fixture("submissions/sum/python").display().to_string()])
        .args(["--seed", "42", "--format", "json", "--output", "r.json"])
        .run()
        .expect_code(0);
    let json = run.json("r.json");
    assert_eq!(json["schema_version"], 1);
    let report = &json["reports"][0];
    assert_eq!(report["challenge"]["id"], "sum");
    assert_eq!(report["submission"]["language"], "python");
    assert_eq!(report["seed"], 42);
    assert_eq!(report["score"], 100.0);
    assert_eq!(report["max_score"], 100.0);
    assert_eq!(report["mode"], "grade");
    let random = report["groups"].as_array().unwrap().iter().find(|g| g["name"] == "random").unwrap();
    let cases = random["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    assert!(cases.iter().all(|c| c["verdict"] == "AC" && c["hidden"] == true && c["seed"].is_u64()));
    assert!(cases[0]["wall_time"].as_f64().unwrap() > 0.0);
    assert!(cases[0]["memory"].as_u64().unwrap() > 0);
}

#[test]
fn the_same_seed_generates_the_same_hidden_cases() {
    let seeds = |seed: &str| {
        let run = Takehome::new()
            .args(["grade", &sum(), &fixture("submissions/sum/python").display().to_string()])
            .args(["--format", "json", "--output", "r.json"])
            .env("TAKEHOME_SEED", seed)
            .run()
            .expect_code(0);
        let json = run.json("r.json");
        let random =
            json["reports"][0]["groups"].as_array().unwrap().iter().find(|g| g["name"] == "random").unwrap().clone();
        random["cases"].as_array().unwrap().iter().map(|c| c["seed"].as_u64().unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(seeds("7"), seeds("7"));
    assert_ne!(seeds("7"), seeds("8"));
}

#[test]
fn junit_report_is_read_by_a_junit_parser() {
    let run = Takehome::new()
        .args(["grade", &sum(), &fixture("submissions/sum-bad/wa").display().to_string()])
        .args([
            "--seed",
            "1",
            "--format",
            "junit",
            "--output",
            "report.xml",
            "--format",
            "markdown",
            "--output",
            "summary.md",
        ])
        .run()
        .expect_code(1);
    let xml = run.file("report.xml");
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).expect("JUnit parses");
    let cases: Vec<_> = suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    assert_eq!(cases.len(), 6, "{xml}");
    let failed: Vec<_> = cases.iter().filter(|c| c.status.is_failure()).collect();
    assert_eq!(failed.len(), 2, "{xml}");
    assert!(failed[0].status.failure_as_ref().message.contains("expected"), "{xml}");
    assert_eq!(cases.iter().filter(|c| c.status.is_skipped()).count(), 4, "{xml}");
    let markdown = run.file("summary.md");
    assert!(markdown.contains("| wa"), "{markdown}");
    assert!(markdown.contains("0/100"), "{markdown}");
}

#[test]
fn min_score_sets_the_exit_code() {
    let python = fixture("submissions/sum/python").display().to_string();
    let wa = fixture("submissions/sum-bad/wa").display().to_string();
    Takehome::new().args(["grade", &sum(), &python, "--min-score", "80"]).run().expect_code(0);
    Takehome::new().args(["grade", &sum(), &wa, "--min-score", "80"]).run().expect_code(1);
    Takehome::new().args(["grade", &sum(), &wa, "--min-score", "0"]).run().expect_code(0);
    Takehome::new().args(["grade", &sum(), &wa]).env("TAKEHOME_MIN_SCORE", "0").run().expect_code(0);
}

#[test]
fn an_empty_folder_says_there_is_nothing_to_build() {
    let empty = tempfile::tempdir().unwrap();
    let run = Takehome::new().args(["test", &sum(), "--dir", &empty.path().display().to_string()]).run().expect_code(1);
    let out = run.stdout();
    assert!(out.contains("nothing to build"), "{out}");
    assert!(out.contains("main.py"), "the hint names what to add: {out}");
}

#[test]
fn a_typo_in_the_spec_names_file_line_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let spec =
        std::fs::read_to_string(fixture("challenges/sum/challenge.toml")).unwrap().replace("stdout_text", "stdout_txt");
    std::fs::write(dir.path().join("challenge.toml"), spec).unwrap();
    let run = Takehome::new().args(["validate", &dir.path().display().to_string()]).run().expect_code(2);
    let err = run.stderr();
    assert!(err.contains("challenge.toml:"), "{err}");
    assert!(err.contains("unknown field `stdout_txt`"), "{err}");
    assert!(err.contains("did you mean `stdout_text`?"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_missing_case_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(fixture("challenges/sum/challenge.toml")).unwrap();
    std::fs::write(dir.path().join("challenge.toml"), spec).unwrap();
    let run = Takehome::new().args(["test", &dir.path().display().to_string()]).run().expect_code(2);
    assert!(run.stderr().contains("cases/negative.in"), "{}", run.stderr());
}

#[test]
fn an_unknown_challenge_lists_the_bundled_ones() {
    let run = Takehome::new().args(["test", "no-such-challenge"]).run().expect_code(2);
    assert!(run.stderr().contains("no challenge named `no-such-challenge`"), "{}", run.stderr());
}

#[test]
fn a_failing_generator_is_a_judge_error_not_the_candidates_fault() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("gen")).unwrap();
    std::fs::write(dir.path().join("gen/bad.py"), "import sys\nsys.exit('generator exploded')\n").unwrap();
    let spec = "id = \"g\"\ntitle = \"G\"\n[[group]]\nname = \"g\"\n[[group.generate]]\nname = \"x\"\ngenerator = \"gen/bad.py\"\n";
    std::fs::write(dir.path().join("challenge.toml"), spec).unwrap();
    let run = Takehome::new()
        .args([
            "test",
            &dir.path().display().to_string(),
            "--dir",
            &fixture("submissions/sum/python").display().to_string(),
        ])
        .args(["--format", "json", "--output", "r.json"])
        .run()
        .expect_code(3);
    let json = run.json("r.json");
    assert_eq!(verdict(&json, "g", "x"), "JE");
    let reason = json["reports"][0]["groups"][0]["cases"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("generator exploded"), "{reason}");
}

#[test]
fn validate_checks_references_and_known_bad_verdicts() {
    let run = Takehome::new().args(["validate", &sum()]).run().expect_code(0);
    let out = run.stdout();
    assert!(out.contains("ok   reference ../../submissions/sum/python"), "{out}");
    assert!(out.contains("ok   known-bad ../../submissions/sum-bad/wa (expects WA): WA on samples/small"), "{out}");
    assert!(out.contains("challenge is valid"), "{out}");
}

#[test]
fn validate_fails_when_a_known_bad_gets_another_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sum");
    copy_dir(&fixture("challenges/sum"), &root);
    let spec = std::fs::read_to_string(root.join("challenge.toml")).unwrap().replace(
        "path = \"../../submissions/sum-bad/wa\"\nverdict = \"WA\"",
        &format!("path = \"{}\"\nverdict = \"TLE\"", fixture("submissions/sum-bad/wa").display()),
    );
    let spec = spec.replace("../../submissions/sum/python", &fixture("submissions/sum/python").display().to_string());
    std::fs::write(root.join("challenge.toml"), spec).unwrap();
    let run = Takehome::new().args(["validate", &root.display().to_string()]).run().expect_code(1);
    assert!(run.stdout().contains("never got TLE; got samples/small WA"), "{}", run.stdout());
}

#[test]
fn list_and_show_work_from_any_folder() {
    let run = Takehome::new().args(["list"]).run().expect_code(0);
    assert!(run.stdout().contains("dedup"), "{}", run.stdout());
    let run = Takehome::new().args(["show", "dedup"]).run().expect_code(0);
    assert!(run.stdout().contains("symbolic link") || run.stdout().contains("Symbolic link"), "{}", run.stdout());
}

#[test]
fn the_candidates_folder_is_never_written() {
    let submission = tempfile::tempdir().unwrap();
    copy_dir(&fixture("submissions/sum/c"), submission.path());
    let before = listing(submission.path());
    Takehome::new().args(["test", &sum(), "--dir", &submission.path().display().to_string()]).run().expect_code(0);
    assert_eq!(listing(submission.path()), before);
}

#[test]
fn submissions_in_several_languages_pass() {
    for language in ["rust", "c", "cpp-make", "node", "java", "custom"] {
        let dir = fixture(&format!("submissions/sum/{language}"));
        let run = Takehome::new().args(["test", &sum(), "--dir", &dir.display().to_string()]).run();
        assert_eq!(run.code(), 0, "{language}:\n{}\n{}", run.stdout(), run.stderr());
    }
}

#[test]
fn usage_errors_exit_2() {
    Takehome::new().args(["grade", &sum()]).run().expect_code(2);
    Takehome::new().args(["frobnicate"]).run().expect_code(2);
    let run = Takehome::new()
        .args(["test", &sum(), "--format", "json", "--format", "junit"])
        .current_dir(&fixture("submissions/sum/python"))
        .run()
        .expect_code(2);
    assert!(run.stderr().contains("more than one --format"), "{}", run.stderr());
    assert!(repo().join("Cargo.toml").exists());
}

/// Every path with its size and modification time.
fn listing(dir: &std::path::Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            out.push((entry.path().display().to_string(), meta.len(), meta.modified().unwrap()));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn generate_writes_a_case_to_reproduce_it() {
    let run = Takehome::new()
        .args(["generate", &sum(), "random/pair-2", "--seed", "9", "--out", "case"])
        .run()
        .expect_code(0);
    let stdin = run.file("case/stdin");
    let numbers: Vec<i64> = stdin.split_whitespace().map(|t| t.parse().unwrap()).collect();
    assert_eq!(run.file("case/answer").trim(), (numbers[0] + numbers[1]).to_string());
    assert!(run.stderr().contains("run seed 9"), "{}", run.stderr());
    let written = Takehome::new().args(["generate", &sum(), "negative", "--out", "w"]).run().expect_code(0);
    assert_eq!(written.file("w/stdin"), "-5 -7\n");
    let missing = Takehome::new().args(["generate", &sum(), "nope", "--out", "x"]).run().expect_code(2);
    assert!(missing.stderr().contains("has no case `nope`"), "{}", missing.stderr());
}

#[test]
fn an_external_checker_judges_and_gives_partial_credit() {
    let split = fixture("challenges/split").display().to_string();
    let grade = |name: &str| {
        let dir = fixture(&format!("submissions/split/{name}")).display().to_string();
        let run = Takehome::new().args(["grade", &split, &dir, "--format", "json", "--output", "r.json"]).run();
        let json = run.json("r.json");
        (run.code(), json)
    };
    let (code, good) = grade("good");
    assert_eq!(code, 0);
    assert_eq!(good["reports"][0]["score"], 20.0);

    let (code, half) = grade("half");
    assert_eq!(code, 0, "partial credit is still accepted");
    assert_eq!(verdict(&half, "main", "ten"), "AC");
    assert_eq!(half["reports"][0]["groups"][0]["points"], 5.0, "min of the two halves");
    assert_eq!(half["reports"][0]["groups"][0]["cases"][0]["fraction"], 0.5);

    let (code, bad) = grade("bad");
    assert_eq!(code, 1);
    assert_eq!(verdict(&bad, "main", "ten"), "WA");
    let case = &bad["reports"][0]["groups"][0]["cases"][0];
    assert_eq!(case["reason"], "0 + 10 is not 10");
    assert_eq!(case["feedback"]["checker_message"], "0 + 10 is not 10");
    assert_eq!(verdict(&bad, "roots", "sqrt"), "WA");
    let sqrt = &bad["reports"][0]["groups"][1]["cases"][0];
    assert!(sqrt["reason"].as_str().unwrap().contains("expected \"1.4142135623730951\", got \"1.5\""), "{sqrt}");
}

#[test]
fn strict_refuses_to_run_without_confinement() {
    let python = fixture("submissions/sum/python").display().to_string();
    let run = Takehome::new()
        .args(["test", &sum(), "--dir", &python, "--strict"])
        .env("TAKEHOME_SANDBOX_DISABLE", "landlock,seccomp,userns")
        .run()
        .expect_code(3);
    assert!(run.stderr().contains("--strict"), "{}", run.stderr());
    assert!(run.stdout().is_empty(), "nothing ran: {}", run.stdout());
    Takehome::new().args(["test", &sum(), "--dir", &python, "--strict"]).run().expect_code(0);
}

#[test]
fn a_regrade_reuses_the_cached_build() {
    let c = fixture("submissions/sum/c").display().to_string();
    Takehome::new().args(["test", &sum(), "--dir", &c]).run().expect_code(0);
    let again = Takehome::new().args(["test", &sum(), "--dir", &c]).run().expect_code(0);
    assert!(again.stdout().contains("build ok (cached)"), "{}", again.stdout());
}

#[test]
fn bench_measures_candidate_and_reference_interleaved() {
    let bench = fixture("challenges/bench").display().to_string();
    let slow = fixture("challenges/bench/solutions/slow").display().to_string();
    let run =
        Takehome::new().args(["bench", &bench, &slow, "--seed", "3", "--format", "json", "--output", "b.json"]).run();
    // Scored (0) or too noisy on a busy machine (3): both are honest outcomes; a panic or a failure is not.
    assert!([0, 3].contains(&run.code()), "{}\n{}", run.stdout(), run.stderr());
    let json = run.json("b.json");
    let result = &json["reports"][0]["benches"][0];
    assert_eq!(result["name"], "spin");
    assert_eq!(result["reference"], "solutions/reference");
    let wall = result["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "wall").unwrap();
    let (candidate, reference) = (&wall["candidate"], &wall["reference"]);
    assert!(candidate["count"].as_u64().unwrap() >= 30, "{wall}");
    assert_eq!(candidate["count"], reference["count"], "A B B A blocks keep both sides level");
    let ratio = &wall["ratio"];
    assert!(ratio["low"].as_f64().unwrap() <= ratio["ratio"].as_f64().unwrap());
    assert!(ratio["ratio"].as_f64().unwrap() <= ratio["high"].as_f64().unwrap());
    match result["status"].as_str().unwrap() {
        "too-noisy" => assert!(result["message"].as_str().unwrap().contains("too noisy to score"), "{result}"),
        "scored" => assert!(result["points"].as_f64().unwrap() <= 100.0),
        other => panic!("unexpected status {other}: {result}"),
    }
    let samples = result["samples"]["candidate"].as_array().unwrap();
    assert_eq!(samples.len() as u64, candidate["count"].as_u64().unwrap(), "raw samples are kept");
    assert!(samples.iter().all(|s| s["wall"].as_f64().unwrap() > 0.0 && s["cpu"].is_number() && s["memory"].is_u64()));
    let order: Vec<&str> = result["samples"]["order"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(&order[..4], ["candidate", "reference", "reference", "candidate"], "A B B A");
    assert!(result["launch"].as_str().unwrap().starts_with("repeater"), "{}", result["launch"]);
}

/// `takehome bench` of a known-bad submission of the bench fixture: its exit code and its one result.
fn bench_bad(name: &str) -> (i32, serde_json::Value) {
    let bench = fixture("challenges/bench").display().to_string();
    let submission = fixture("submissions/bench-bad").join(name).display().to_string();
    let run = Takehome::new()
        .args(["bench", &bench, &submission, "--seed", "3", "--format", "json", "--output", "b.json"])
        .run();
    (run.code(), run.json("b.json")["reports"][0]["benches"][0].clone())
}

#[test]
fn a_bench_run_that_fails_hangs_or_cheats_after_the_first_fails_the_bench_with_its_reason() {
    for (name, reason) in [
        ("fails-later", "ended with exit code 9"),
        ("hangs-later", "hit the wall-clock limit"),
        ("lazy-later", "printed another answer than the reference's on the workload"),
    ] {
        let (code, result) = bench_bad(name);
        assert_eq!(result["status"], "failed", "{name}: {result}");
        assert!(result["message"].as_str().unwrap().contains(reason), "{name}: {}", result["message"]);
        assert_eq!(result["points"], 0.0, "{name}");
        assert!(result["launch"].as_str().unwrap().starts_with("repeater"), "{name}: {}", result["launch"]);
        assert_eq!(code, 1, "{name}: a failed bench fails the run");
    }
}

#[test]
fn a_daemon_left_by_a_bench_run_does_not_outlive_the_bench() {
    let (_, result) = bench_bad("leaves-daemon");
    assert!(["scored", "too-noisy"].contains(&result["status"].as_str().unwrap()), "{result}");
    let daemons = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter(|entry| std::fs::read(entry.path().join("cmdline")).is_ok_and(|line| line == b"sleep\x00293\x00"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while daemons() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(daemons(), 0, "the daemon outlived the bench");
}

#[test]
fn a_batch_graded_into_a_folder_becomes_a_leaderboard() {
    let results = tempfile::tempdir().expect("temp dir");
    let results_arg = results.path().display().to_string();
    let right = fixture("submissions/sum/python").display().to_string();
    let wrong = fixture("submissions/sum-bad/wa").display().to_string();
    let run = Takehome::new().args(["grade", &sum(), &right, &wrong, "--seed", "3", "--out", &results_arg]).run();
    assert_eq!(run.code(), 1, "one submission fails\n{}\n{}", run.stdout(), run.stderr());
    let report = Takehome::new().args(["report", &results_arg]).run();
    assert_eq!(report.code(), 0, "{}\n{}", report.stdout(), report.stderr());
    let markdown = std::fs::read_to_string(results.path().join("leaderboard.md")).expect("leaderboard.md");
    let python = markdown.find("| python").expect("the right submission has a row");
    let wa = markdown.find("| wa").expect("the wrong one too");
    assert!(python < wa, "the right submission ranks first:\n{markdown}");
    assert!(results.path().join("leaderboard.html").is_file() && results.path().join("leaderboard.csv").is_file());
}

#[test]
fn in_github_actions_the_score_becomes_step_outputs_and_the_summary_is_written() {
    let folder = tempfile::tempdir().expect("temp dir");
    let summary = folder.path().join("summary.md");
    let outputs = folder.path().join("outputs.txt");
    let wrong = fixture("submissions/sum-bad/wa").display().to_string();
    let run = Takehome::new()
        .args(["grade", &sum(), &wrong, "--seed", "3"])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary.display().to_string())
        .env("GITHUB_OUTPUT", &outputs.display().to_string())
        .run();
    assert_eq!(run.code(), 1);
    assert!(run.stderr().contains("::error "), "failing cases become annotations:\n{}", run.stderr());
    let outputs = std::fs::read_to_string(&outputs).expect("outputs written");
    assert!(outputs.contains("score=") && outputs.contains("max-score="), "{outputs}");
    assert!(std::fs::read_to_string(&summary).expect("summary written").contains("wa"));
}

#[test]
fn similar_ranks_a_disguised_copy_first_and_says_so_in_its_exit_code() {
    let from = fixture("similarity/wordfreq").display().to_string();
    let run = Takehome::new().args(["similar", "--from", &from]).run();
    assert_eq!(run.code(), 1, "a pair above the threshold\n{}\n{}", run.stdout(), run.stderr());
    let first_row = run.stdout().lines().find(|line| line.contains("alice")).unwrap_or_default().to_owned();
    assert!(first_row.contains("alice-copy"), "the copy pairs with its original first:\n{}", run.stdout());
}

#[test]
fn similar_reads_archives_as_grade_does() {
    let work = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture("similarity/wordfreq/alice-copy"), &work.path().join("copy"));
    let archive = work.path().join("copy.tar.gz");
    let packed = std::process::Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(work.path())
        .arg("copy")
        .status()
        .expect("tar runs");
    assert!(packed.success());
    let original = fixture("similarity/wordfreq/alice").display().to_string();
    let run = Takehome::new().args(["similar", &original, &archive.display().to_string()]).run();
    assert_eq!(run.code(), 1, "the archive's copy is found\n{}\n{}", run.stdout(), run.stderr());
    assert!(run.stdout().contains("copy.tar.gz"), "{}", run.stdout());
}
