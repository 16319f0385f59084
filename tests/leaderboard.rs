//! `takehome report`: the leaderboard of a results folder, as CSV, Markdown and HTML, and the HTML page
//! checked in headless Chromium (Debian's `chromium`): it loads without a console message and its table
//! sorts when a header is clicked (driven through the page's `?sort=` hook).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use takehome::commands::report::{ReportArgs, run};

/// One case of a result: its name, verdict and, for a failure, its reason.
fn case(name: &str, verdict: &str) -> Value {
    json!({
        "name": name, "about": null, "hidden": false, "verdict": verdict,
        "reason": if verdict == "AC" { "" } else { "line 1 differs" },
        "limit_hit": null, "cpu_time": 0.01, "wall_time": 0.02, "memory": 1_000_000,
        "fraction": if verdict == "AC" { 1.0 } else { 0.0 }, "weight": 1.0, "seed": null, "feedback": null
    })
}

/// A result file's content: one report, two groups (`basic` 10 points, `large` 30), and a benchmark when
/// `ratio` is given.
fn result(name: &str, language: &str, verdicts: [&str; 2], ratio: Option<(f64, f64, f64)>) -> String {
    let points = |v: &str, max: f64| if v == "AC" { max } else { 0.0 };
    let (basic, large) = (points(verdicts[0], 10.0), points(verdicts[1], 30.0));
    let summary = |median: f64| json!({"count": 10, "median": median, "mad": 0.001, "mean": median, "min": median, "max": median, "outliers": []});
    let benches: Vec<Value> = ratio
        .map(|(value, low, high)| {
            json!({
                "name": "speed", "about": null, "status": "scored", "message": "ratio", "points": 8.0,
                "max_points": 10.0, "scored_metric": "cpu", "max_ci_width": 0.2,
                "metrics": [{"metric": "cpu", "unit": "seconds", "candidate": summary(value), "reference": summary(1.0),
                             "ratio": {"ratio": value, "low": low, "high": high, "resamples": 1000, "seed": 7}}],
                "instructions": {"unavailable": "not counted here", "candidate_median": null,
                                 "reference_median": null, "ratio": null},
                "plan": {"warmup": 1, "min_runs": 10, "min_time": 1.0, "max_time": 5.0, "max_runs": 50},
                "reference": "reference/rust",
                "workload": {"generator": "g", "seed": 1, "params": {}, "args": []},
                "environment": null
            })
        })
        .into_iter()
        .collect();
    let set = json!({
        "schema_version": 1,
        "takehome_version": "0.1.0",
        "reports": [{
            "challenge": {"id": "sum", "title": "Sum of numbers", "source": "bundled"},
            "submission": {"name": name, "path": format!("subs/{name}"), "language": language,
                           "detected_because": "found main.py"},
            "mode": "grade", "seed": 1,
            "build": {"ok": true, "cached": false, "duration": 0.1, "commands": [], "log_tail": ""},
            "groups": [
                {"name": "basic", "about": null, "visibility": "public", "aggregation": "all", "points": basic,
                 "max_points": 10.0, "skipped_because": null, "cases": [case("one", verdicts[0])]},
                {"name": "large", "about": null, "visibility": "hidden", "aggregation": "all", "points": large,
                 "max_points": 30.0, "skipped_because": null, "cases": [case("many", verdicts[1])]}
            ],
            "score": basic + large, "max_score": 40.0, "hidden_cases_not_run": 0, "sandbox": "test",
            "duration": 1.0, "benches": benches
        }]
    });
    serde_json::to_string_pretty(&set).expect("JSON")
}

/// A results folder: four submissions (one with a hostile name), a corrupt file and a stray text file.
fn results_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |file: &str, text: &str| std::fs::write(dir.path().join(file), text).expect("write a result");
    write("alice.json", &result("alice", "rust", ["AC", "AC"], Some((0.9, 0.85, 0.97))));
    write("bob.json", &result("bob", "python", ["AC", "WA"], Some((1.4, 1.3, 1.52))));
    write("carol.json", &result("carol", "c", ["TLE", "AC"], None));
    write("evil.json", &result("<img src=x onerror=alert(1)>,=1+1", "go", ["WA", "WA"], None));
    write("corrupt.json", "{\"schema_version\": 1, \"reports\": [");
    write("notes.txt", "not a result");
    dir
}

fn report(results: &Path, out: &Path) -> i32 {
    run(&ReportArgs { results: results.to_path_buf(), out: Some(out.to_path_buf()) }).expect("the report is written")
}

#[test]
fn report_writes_csv_markdown_and_html_and_names_the_corrupt_file() {
    let results = results_folder();
    let out = tempfile::tempdir().expect("temp dir");
    assert_eq!(report(results.path(), out.path()), 1, "a result was left out, so the exit code says so");

    let csv = std::fs::read_to_string(out.path().join("leaderboard.csv")).expect("the CSV");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "rank,name,language,score,max_score,percent,stage,verdict,group:basic,group:large,bench:speed:ratio,\
         bench:speed:low,bench:speed:high,bench:speed:points,bench:speed:status,file"
    );
    assert_eq!(lines[1], "1,alice,rust,40,40,100.00,,AC,10,30,0.900,0.850,0.970,8,scored,alice.json");
    assert_eq!(lines[2], "2,carol,c,30,40,75.00,basic / one,TLE,0,30,,,,,,carol.json");
    assert_eq!(lines[3], "3,bob,python,10,40,25.00,large / many,WA,10,0,1.400,1.300,1.520,8,scored,bob.json");
    assert_eq!(lines[4], "4,\"<img src=x onerror=alert(1)>,=1+1\",go,0,40,0.00,basic / one,WA,0,0,,,,,,evil.json");
    assert_eq!(lines.len(), 5);

    let markdown = std::fs::read_to_string(out.path().join("leaderboard.md")).expect("the Markdown");
    assert!(markdown.contains("| 1 | alice | rust | 40/40 | 100% | 10/10 | 30/30 | 0.900× (0.850–0.970) | passed |"));
    assert!(markdown.contains("| 4 | &lt;img src=x onerror=alert(1)&gt;,=1+1 | go |"), "{markdown}");
    assert!(markdown.contains("- corrupt.json: not a takehome result"), "{markdown}");

    let html = std::fs::read_to_string(out.path().join("leaderboard.html")).expect("the HTML");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"));
    assert!(html.contains("<code>corrupt.json</code>"));
}

#[test]
fn report_defaults_to_the_results_folder_and_refuses_a_folder_without_results() {
    let results = results_folder();
    std::fs::remove_file(results.path().join("corrupt.json")).expect("rm");
    let code = run(&ReportArgs { results: results.path().to_path_buf(), out: None }).expect("written");
    assert_eq!(code, 0);
    for file in takehome::commands::report::FILES {
        assert!(results.path().join(file).is_file(), "{file} is written beside the results");
    }

    let empty = tempfile::tempdir().expect("temp dir");
    let error = run(&ReportArgs { results: empty.path().to_path_buf(), out: None }).expect_err("nothing to rank");
    assert!(error.to_string().contains("no result could be read"), "{error}");
    let missing = run(&ReportArgs { results: PathBuf::from("/no/such/results"), out: None }).expect_err("no folder");
    assert!(missing.to_string().contains("/no/such/results"), "{missing}");
}

#[test]
fn a_thousand_results_make_a_thousand_ranked_rows() {
    let results = tempfile::tempdir().expect("temp dir");
    let verdicts = [["AC", "AC"], ["AC", "WA"], ["WA", "AC"], ["CE", "WA"]];
    for i in 0..1000 {
        let name = format!("candidate-{i:04}");
        let ratio = (i % 3 == 0).then_some((0.5 + f64::from(i % 7) / 5.0, 0.45, 2.0));
        std::fs::write(
            results.path().join(format!("{name}.json")),
            result(&name, "rust", verdicts[i as usize % 4], ratio),
        )
        .expect("write");
    }
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    assert_eq!(report(results.path(), out.path()), 0);
    // A figure for the log, not an assertion: scripts/bench-leaderboard.sh measures it properly.
    eprintln!("leaderboard of 1000 results written in {:?}", started.elapsed());
    let csv = std::fs::read_to_string(out.path().join("leaderboard.csv")).expect("the CSV");
    assert_eq!(csv.lines().count(), 1001);
    let ranks: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap_or("")).collect();
    assert_eq!((ranks[0], ranks[249], ranks[250], ranks[500], ranks[750]), ("1", "1", "251", "501", "751"));
}

// ------------------------------------------------------------------------------------------------
// The HTML page in a real browser.

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        if let Some(path) = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
        {
            return path;
        }
    }
    panic!(
        "headless Chromium is needed to test the leaderboard page and none was found on PATH \
         (install it with `apt-get install -y chromium`; .ci/run does)"
    );
}

/// The page as Chromium leaves it after its scripts ran, and every console message it logged.
fn load_in_chromium(page: &Path, query: &str) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().expect("a profile folder");
    let url = format!("file://{}{query}", page.display());
    let mut child = Command::new(chromium())
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let read = |mut stream: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    // A guard against a hung browser, not a timing assertion.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} in two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = stdout.join().expect("stdout reader");
    let log = stderr.join().expect("stderr reader");
    let console = log.lines().filter(|l| l.contains(":CONSOLE")).map(str::to_string).collect();
    (dom, console)
}

/// The submission names of the table's rows, top to bottom.
fn row_names(dom: &str) -> Vec<String> {
    dom.split("<td class=\"name\"")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest[start..].find("</td>")? + start;
            Some(rest[start..end].to_string())
        })
        .collect()
}

#[test]
fn leaderboard_page_loads_cleanly_in_chromium_and_sorts_by_clicking_a_header() {
    let results = results_folder();
    let out = tempfile::tempdir().expect("temp dir");
    report(results.path(), out.path());
    let page = out.path().join("leaderboard.html");
    let evil = "&lt;img src=x onerror=alert(1)&gt;,=1+1";

    let (dom, console) = load_in_chromium(&page, "");
    assert!(dom.contains("data-ready=\"1\""), "the sorter ran (the policy let it): {dom}");
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(row_names(&dom), ["alice", "carol", "bob", evil], "ranked order at first");
    assert!(dom.contains("id=\"histogram\""));

    let (dom, console) = load_in_chromium(&page, "?sort=name");
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(row_names(&dom), [evil, "alice", "bob", "carol"], "a first click on a text column sorts A to Z");
    assert!(dom.contains("data-key=\"name\" data-type=\"text\" data-first=\"asc\" aria-sort=\"ascending\""), "{dom}");

    let (dom, console) = load_in_chromium(&page, "?sort=score&order=asc");
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert_eq!(row_names(&dom), [evil, "bob", "carol", "alice"], "a second click reverses the order");

    let (dom, _) = load_in_chromium(&page, "?sort=bench-0");
    let names = row_names(&dom);
    assert_eq!(&names[..2], ["alice", "bob"], "the smaller (faster) ratio first, rows without one last");

    let (dom, _) = load_in_chromium(&page, "?sort=stage");
    assert_eq!(row_names(&dom)[0], "alice", "the furthest stage first: passed");

    let (_, console) = load_in_chromium(&page, "?sort=no-such-column");
    assert_eq!(console.len(), 1, "an unknown column is named on the console: {console:#?}");
    assert!(console[0].contains("no column \\\"no-such-column\\\"") || console[0].contains("no-such-column"));
}
