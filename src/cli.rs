//! The command line: verbs, flags, and the environment variables CI sets instead of flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "takehome",
    version,
    about = "Grades take-home coding challenges: builds a submission, runs it in a sandbox, checks, scores and reports.",
    after_help = "Exit codes: 0 passed (or score >= --min-score), 1 failed, 2 usage or spec error, 3 infrastructure error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Verb,
    /// When to use colour in the human report.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "TAKEHOME_COLOR")]
    pub color: ColorChoice,
}

/// How a submission's language is found, for `test --help` (src/submission/detect.rs has the rules).
const LANGUAGES: &str = "\
How your submission is built and run (the first match wins; a takehome.toml with `build` and `run` overrides):
  Cargo.toml                         cargo build --release, then target/release/<bin>
  go.mod                             go build, then ./submission
  pom.xml                            mvn package, then java -jar target/*.jar
  Makefile and C/C++ sources         make, then ./main (or ./solution)
  package.json (main or start)       npm install if it has dependencies, then node <main> or npm start
  main.py or the only .py file       python3 main.py
  Main.java or the only .java file   javac, then java Main
  main.cpp / main.c                  c++ -O2 / cc -O2, then ./main
  main.js, index.js                  node <file>
The submission's folder is copied and built elsewhere: your files are never changed.";

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Build the submission in the current folder (or --dir) and run the challenge's public cases.
    #[command(after_long_help = LANGUAGES)]
    Test {
        /// A bundled challenge id (see `takehome list`) or a challenge folder.
        challenge: String,
        /// The submission's folder.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Flag the challenge's protected files (spec, cases, tests: all but *.md) changed since this git
        /// revision, e.g. `origin/main` in a pull request: the report names them and the run fails.
        #[arg(long, env = "TAKEHOME_CHANGED_SINCE", value_name = "REV")]
        changed_since: Option<String>,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Grade submissions on every case, public and hidden, and score them.
    #[command(after_long_help = BATCH)]
    Grade {
        /// A bundled challenge id or a challenge folder.
        challenge: String,
        /// Submissions: folders, .zip/.tar.gz/.tgz/.tar archives, or git repositories (with --rev).
        #[arg(required_unless_present = "from")]
        submissions: Vec<PathBuf>,
        #[command(flatten)]
        batch: BatchArgs,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        output: OutputArgs,
        /// Exit 0 when every submission scores at least this percentage (default: all cases must pass).
        #[arg(long, env = "TAKEHOME_MIN_SCORE", value_parser = parse_percent)]
        min_score: Option<f64>,
        /// Flag the challenge's protected files (spec, cases, tests: all but *.md) changed since this git
        /// revision, e.g. `origin/main` in a pull request: the report names them and the run fails.
        #[arg(long, env = "TAKEHOME_CHANGED_SINCE", value_name = "REV")]
        changed_since: Option<String>,
    },
    /// Run only the challenge's benchmarks: the submission against the first reference solution,
    /// interleaved, scored on the ratio (correctness is not checked: that is `test` and `grade`); for a
    /// protocol challenge, its stages that measure speed, each beside the reference.
    Bench {
        /// A bundled challenge id or a challenge folder.
        challenge: String,
        /// The submission's folder.
        #[arg(default_value = ".")]
        submission: PathBuf,
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check a challenge: its spec, its reference solutions (all must pass) and known-bad submissions
    /// (each must get its declared verdict).
    Validate {
        /// A challenge folder (or a bundled challenge id).
        challenge: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Write one case's input and expected answer to a folder, to look at or to reproduce a failure.
    Generate {
        /// A bundled challenge id or a challenge folder.
        challenge: String,
        /// The case, as `group/case` or just `case`.
        case: String,
        /// Where to write: `files/` (the working folder's contents), `stdin`, `answer`.
        #[arg(long)]
        out: PathBuf,
        /// The run's seed (for cases generated from it; printed by every report).
        #[arg(long, env = "TAKEHOME_SEED")]
        seed: Option<u64>,
        /// Override a generator parameter, e.g. `--param files=200000` (repeatable).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Combine result folders (from `grade --out`, e.g. one per --shard) into one; when two folders hold
    /// different results for a submission, the one graded later wins (with a warning).
    Merge {
        /// The folder to merge into (made if missing; results already in it take part).
        out: PathBuf,
        /// The result folders to merge.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Write a leaderboard of a results folder (from `grade --out`): leaderboard.csv, .md and a
    /// self-contained, sortable leaderboard.html.
    Report(crate::commands::report::ReportArgs),
    /// Find submissions that share suspiciously much code: ranked pairs, JSON and a side-by-side HTML page.
    Similar(crate::commands::similar::SimilarArgs),
    /// Check that results still match their submission and the challenge: recomputes the hashes in each
    /// result's manifest. Exit code 0 when all match, 1 when something changed.
    Verify {
        /// Result files (`results/alice.json`) or folders of them.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// The submission's folder or archive, when it is no longer where the result says (one result only).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The challenge (id or folder), when it is no longer where the result says.
        #[arg(long)]
        challenge: Option<String>,
    },
    /// List the bundled challenges.
    List,
    /// Print a challenge's brief, the text a candidate reads.
    Show {
        /// A bundled challenge id or a challenge folder.
        challenge: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Seed for generated cases (hidden cases come from it); printed so any run can be reproduced.
    #[arg(long, env = "TAKEHOME_SEED")]
    pub seed: Option<u64>,
    /// Cases run in parallel (default: the number of cores); with several submissions, shared between
    /// submissions graded in parallel.
    #[arg(long, short = 'j', env = "TAKEHOME_JOBS")]
    pub jobs: Option<usize>,
    /// Refuse to run candidate code unless Landlock and seccomp (or namespaces) confine it.
    #[arg(long, env = "TAKEHOME_STRICT")]
    pub strict: bool,
    /// Where protocol stages keep their history, network trace, node logs and HTML report
    /// (default: a folder under the system's temporary folder, printed with each stage).
    #[arg(long, env = "TAKEHOME_ARTIFACTS", value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

/// Grading many submissions, for `grade --help`.
const BATCH: &str = "\
Batches:
  takehome grade sum subs/* --out results/      one result file per submission, results/<name>.json
  takehome grade sum --from subs/ --out results/ every subfolder and archive of subs/ is a submission
  takehome grade sum --from repos/ --rev main    git repositories at a branch, tag or commit
Names are folder names and archive names without their ending (a repeated name gets -2, -3...).
With --out, each result is written as soon as it is graded, and a rerun skips the submissions whose
result still matches (same challenge files, submission files and seed): an interrupted batch resumes.
Shards: run `--shard 1/3`, `--shard 2/3`, `--shard 3/3` with the same --seed (anywhere), then
`takehome merge results/ shard1/ shard2/ shard3/`. `takehome verify results/alice.json` checks a result.";

/// Where a batch's submissions come from and where its results go.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// A folder whose every subfolder and archive is one submission (repeatable).
    #[arg(long, value_name = "DIR")]
    pub from: Vec<PathBuf>,
    /// Grade git repositories at this branch, tag or commit (exported with `git archive`; the
    /// repositories are only read).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// Write each submission's result to DIR/<name>.json as soon as it is graded; a rerun skips the
    /// results that still match.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out: regrade even the submissions whose result still matches.
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Grade only shard K of N: a share of the submissions fixed by their names (needs --seed).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::batch::shard::Shard>,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Report format; repeat for several, each followed by its own --output.
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    /// Where the preceding --format goes (default: standard output).
    #[arg(long = "output")]
    pub outputs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text.trim_end_matches('%').parse().map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=100.0).contains(&value) { Ok(value) } else { Err(format!("{value} is not between 0 and 100")) }
}

/// Each requested format and where it goes (`None` = standard output), pairing every --output with
/// the --format given just before it.
pub fn pair_outputs(
    formats: &[(usize, Format)],
    outputs: &[(usize, PathBuf)],
) -> Result<Vec<(Format, Option<PathBuf>)>, String> {
    let mut pairs: Vec<(Format, Option<PathBuf>)> = formats.iter().map(|(_, f)| (*f, None)).collect();
    if pairs.is_empty() {
        pairs.push((Format::Human, None));
    }
    for (output_index, path) in outputs {
        let owner = if formats.is_empty() {
            Some(0)
        } else {
            formats.iter().rposition(|(format_index, _)| format_index < output_index).or(if formats.len() == 1 {
                Some(0)
            } else {
                None
            })
        };
        let Some(owner) = owner else {
            return Err(format!(
                "--output {} comes before any --format: put it after the format it is for",
                path.display()
            ));
        };
        if pairs[owner].1.is_some() {
            return Err(format!("two --output paths for --format {:?}", pairs[owner].0).to_lowercase());
        }
        pairs[owner].1 = Some(path.clone());
    }
    if pairs.iter().filter(|(_, path)| path.is_none()).count() > 1 {
        return Err("more than one --format would go to standard output: give all but one an --output".into());
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_output_belongs_to_the_format_before_it() {
        let pairs = pair_outputs(
            &[(1, Format::Junit), (5, Format::Markdown), (9, Format::Human)],
            &[(3, "r.xml".into()), (7, "s.md".into())],
        )
        .unwrap();
        assert_eq!(
            pairs,
            vec![(Format::Junit, Some("r.xml".into())), (Format::Markdown, Some("s.md".into())), (Format::Human, None)]
        );
    }

    #[test]
    fn no_format_means_human_on_stdout() {
        assert_eq!(pair_outputs(&[], &[]).unwrap(), vec![(Format::Human, None)]);
        assert_eq!(pair_outputs(&[], &[(2, "x.txt".into())]).unwrap(), vec![(Format::Human, Some("x.txt".into()))]);
    }

    #[test]
    fn two_formats_on_stdout_is_an_error() {
        let error = pair_outputs(&[(1, Format::Json), (3, Format::Junit)], &[]).unwrap_err();
        assert!(error.contains("more than one --format"), "{error}");
    }

    #[test]
    fn min_score_must_be_a_percentage() {
        assert_eq!(parse_percent("80").unwrap(), 80.0);
        assert_eq!(parse_percent("80%").unwrap(), 80.0);
        assert!(parse_percent("120").is_err());
    }
}
