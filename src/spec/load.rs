//! Loading a spec from a folder or from the bundled challenges, with errors that point at the
//! file, line and column at fault and say what was expected.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::protocol::{WORKLOADS, check_stage};
use super::{Challenge, Check, Group, Kind, bundled};

/// A challenge ready to use: its spec and the folder its files live in.
#[derive(Debug)]
pub struct LoadedChallenge {
    pub spec: Challenge,
    /// The folder holding challenge.toml, README.md, cases/ ... (for a bundled challenge, a private copy).
    pub dir: PathBuf,
    pub origin: Origin,
    /// Keeps the private copy of a bundled challenge alive.
    _extracted: Option<tempfile::TempDir>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Bundled,
    Folder(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Bundled => write!(f, "bundled"),
            Origin::Folder(path) => write!(f, "{}", path.display()),
        }
    }
}

impl LoadedChallenge {
    /// The candidate's brief (README.md), if the challenge has one.
    #[must_use]
    pub fn brief(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("README.md")).ok()
    }

    /// A path inside the challenge folder.
    #[must_use]
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }
}

/// Everything that can be wrong with a spec. Each names the file; parse errors name line and column.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no challenge named `{name}`: not a bundled challenge ({known}) and not a folder with a challenge.toml")]
    NotFound { name: String, known: String },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: {message}\n{snippet}", path.display())]
    Syntax { path: PathBuf, line: usize, column: usize, message: String, snippet: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Loads a bundled challenge by id, or a challenge folder (or its challenge.toml) by path.
pub fn load(name_or_path: &str) -> Result<LoadedChallenge, SpecError> {
    let path = Path::new(name_or_path);
    let looks_like_path =
        name_or_path.contains('/') || name_or_path.starts_with('.') || path.join("challenge.toml").is_file();
    if looks_like_path || bundled::find_bundled(name_or_path).is_none() {
        let dir = if path.file_name().is_some_and(|n| n == "challenge.toml") {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        if dir.join("challenge.toml").is_file() {
            return load_dir(&dir);
        }
        if !looks_like_path || !dir.exists() {
            return Err(SpecError::NotFound {
                name: name_or_path.to_string(),
                known: bundled::bundled_ids().join(", "),
            });
        }
        return Err(SpecError::Read {
            path: dir.join("challenge.toml"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no challenge.toml in this folder"),
        });
    }
    let temp =
        crate::scratch::folder("challenge").map_err(|source| SpecError::Read { path: std::env::temp_dir(), source })?;
    let dir = bundled::extract(name_or_path, temp.path())
        .map_err(|source| SpecError::Read { path: temp.path().to_path_buf(), source })?;
    let mut loaded = load_dir(&dir)?;
    loaded.origin = Origin::Bundled;
    loaded._extracted = Some(temp);
    Ok(loaded)
}

/// Loads `dir/challenge.toml` and checks that what it refers to exists.
pub fn load_dir(dir: &Path) -> Result<LoadedChallenge, SpecError> {
    let path = dir.join("challenge.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| SpecError::Read { path: path.clone(), source })?;
    let spec = parse_str(&text, &path)?;
    check_semantics(&spec, dir, &path)?;
    Ok(LoadedChallenge {
        spec,
        // Generators and checkers run in other folders: their paths must not depend on ours.
        dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
        origin: Origin::Folder(dir.to_path_buf()),
        _extracted: None,
    })
}

/// Parses spec text; `path` is only used in messages.
pub fn parse_str(text: &str, path: &Path) -> Result<Challenge, SpecError> {
    toml::from_str::<Challenge>(text).map_err(|error| {
        let (line, column, snippet) = match error.span() {
            Some(span) => locate(text, span.start, span.end),
            None => (1, 1, String::new()),
        };
        SpecError::Syntax { path: path.to_path_buf(), line, column, message: explain(error.message()), snippet }
    })
}

/// Line and column (both from 1) of a byte offset, and the line with a caret under the span.
fn locate(text: &str, start: usize, end: usize) -> (usize, usize, String) {
    let start = start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let source_line = &text[line_start..line_end];
    let width = text[start..end.clamp(start, line_end)].chars().count().max(1);
    let gutter = format!("{line} | ");
    let snippet = format!("{gutter}{source_line}\n{:pad$}{}", "", "^".repeat(width), pad = gutter.len() + column - 1);
    (line, column, snippet)
}

/// Adds a "did you mean" to serde's unknown-field and unknown-variant messages.
fn explain(message: &str) -> String {
    let message = message.trim_end();
    for prefix in ["unknown field `", "unknown variant `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let Some((given, expected)) = rest.split_once('`') else { break };
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            if let Some(best) = closest(given, &candidates) {
                return format!("{message}\n  did you mean `{best}`?");
            }
        }
    }
    message.to_string()
}

/// The candidate most like `given`, if any is close enough to be a typo.
pub(crate) fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(given, c), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn check_semantics(spec: &Challenge, dir: &Path, path: &Path) -> Result<(), SpecError> {
    let invalid = |message: String| SpecError::Invalid { path: path.to_path_buf(), message };
    check_known_bad(spec).map_err(invalid)?;
    if spec.kind == Kind::Protocol {
        return check_protocol(spec).map_err(invalid);
    }
    if spec.protocol.is_some() || !spec.stages.is_empty() {
        return Err(invalid(
            "[protocol] and [[stage]] belong to protocol challenges: add `kind = \"protocol\"`".into(),
        ));
    }
    if spec.groups.is_empty() {
        return Err(invalid("the challenge has no groups: add at least one [[group]] with cases".into()));
    }
    let mut group_names = BTreeSet::new();
    for group in &spec.groups {
        if !group_names.insert(group.name.as_str()) {
            return Err(invalid(format!("two groups are named `{}`", group.name)));
        }
        if !(group.points.is_finite() && group.points >= 0.0) {
            return Err(invalid(format!("group `{}`: points must be zero or more", group.name)));
        }
    }
    for group in &spec.groups {
        let names: Vec<&str> = group_names.iter().copied().collect();
        for required in &group.requires {
            if !group_names.contains(required.as_str()) || required == &group.name {
                let hint = closest(required, &names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                return Err(invalid(format!(
                    "group `{}` requires `{required}`, which is not another group of this challenge{hint}",
                    group.name
                )));
            }
        }
        check_group(group, dir).map_err(|message| invalid(format!("group `{}`: {message}", group.name)))?;
    }
    if let Some(cycle) = requirement_cycle(&spec.groups) {
        return Err(invalid(format!("groups require each other in a circle: {}", cycle.join(" -> "))));
    }
    check_check(&spec.check, dir).map_err(invalid)?;
    check_benches(spec, dir).map_err(invalid)
}

/// Reference and known-bad folders are checked by `validate` only: a bundled challenge does not carry
/// them, and `test` and `grade` do not need them. Their verdicts are checked here.
fn check_known_bad(spec: &Challenge) -> Result<(), String> {
    for bad in &spec.validate.known_bad {
        if crate::report::Verdict::parse(&bad.verdict).is_none() {
            return Err(format!(
                "[[validate.known_bad]] `{}`: verdict `{}` is not one of AC, WA, TLE, MLE, OLE, RE, CE, JE",
                bad.path, bad.verdict
            ));
        }
    }
    Ok(())
}

fn check_protocol(spec: &Challenge) -> Result<(), String> {
    let Some(protocol) = &spec.protocol else {
        return Err("a protocol challenge needs a [protocol] table naming its `workload`".into());
    };
    if !WORKLOADS.contains(&protocol.workload.as_str()) {
        let hint = closest(&protocol.workload, WORKLOADS).map(|w| format!(" (did you mean `{w}`?)"));
        return Err(format!(
            "[protocol] workload `{}` is not one takehome knows{}; known: {}",
            protocol.workload,
            hint.unwrap_or_default(),
            WORKLOADS.join(", ")
        ));
    }
    if !spec.groups.is_empty() || !spec.benches.is_empty() {
        return Err("a protocol challenge has [[stage]]s, not [[group]]s or [[bench]]es".into());
    }
    if spec.stages.is_empty() {
        return Err("the challenge has no stages: add at least one [[stage]]".into());
    }
    let mut names = BTreeSet::new();
    for stage in &spec.stages {
        if !names.insert(stage.name.as_str()) {
            return Err(format!("two stages are named `{}`", stage.name));
        }
        check_stage(stage)
            .and_then(|()| {
                crate::run::protocol::workloads::for_stage(
                    &protocol.workload,
                    stage.topology.as_deref(),
                    &stage.options,
                )
                .map(drop)
            })
            .map_err(|message| format!("stage `{}`: {message}", stage.name))?;
    }
    for bad in &spec.validate.known_bad {
        if let Some(stage) = bad.case.as_deref().filter(|s| !names.contains(s)) {
            let known: Vec<&str> = names.iter().copied().collect();
            let hint = closest(stage, &known).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
            return Err(format!("[[validate.known_bad]] `{}`: there is no stage `{stage}`{hint}", bad.path));
        }
    }
    Ok(())
}

/// A chain of `requires` that comes back to where it started, if there is one.
fn requirement_cycle(groups: &[Group]) -> Option<Vec<String>> {
    fn visit<'a>(
        groups: &'a [Group],
        name: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == name) {
            let mut cycle: Vec<String> = path[start..].iter().map(|n| (*n).to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if !done.insert(name) {
            return None;
        }
        path.push(name);
        let group = groups.iter().find(|g| g.name == name)?;
        for required in &group.requires {
            if let Some(cycle) = visit(groups, required, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    groups.iter().find_map(|g| visit(groups, &g.name, &mut Vec::new(), &mut done))
}

fn check_group(group: &Group, dir: &Path) -> Result<(), String> {
    if group.cases.is_empty() && group.generated.is_empty() {
        return Err("no cases: add [[group.case]] or [[group.generate]] entries".into());
    }
    let mut case_names = BTreeSet::new();
    check_check(&group.check, dir)?;
    for case in &group.cases {
        if !case_names.insert(case.name.clone()) {
            return Err(format!("two cases are named `{}`", case.name));
        }
        let at = |message: String| format!("case `{}`: {message}", case.name);
        if case.stdin.is_some() && case.stdin_text.is_some() {
            return Err(at("give `stdin` or `stdin_text`, not both".into()));
        }
        if case.stdout.is_some() && case.stdout_text.is_some() {
            return Err(at("give `stdout` or `stdout_text`, not both".into()));
        }
        let sources =
            case.stdin.iter().chain(&case.stdout).chain(case.files.values()).chain(case.output_files.values());
        for source in sources {
            if !dir.join(source).exists() {
                return Err(at(format!("file `{source}` does not exist in {}", dir.display())));
            }
        }
        for destination in case.files.keys().chain(case.output_files.keys()) {
            if !is_plain_relative(destination) {
                return Err(at(format!("`{destination}` must be a relative path inside the working folder")));
            }
        }
        check_check(&case.check, dir).map_err(at)?;
    }
    for generate in &group.generated {
        let names: Vec<String> = if generate.count == 1 {
            vec![generate.name.clone()]
        } else {
            (1..=generate.count).map(|i| format!("{}-{i}", generate.name)).collect()
        };
        for name in names {
            if !case_names.insert(name.clone()) {
                return Err(format!("two cases are named `{name}`"));
            }
        }
        if generate.count == 0 {
            return Err(format!("generate `{}`: count must be at least 1", generate.name));
        }
        check_generator(&generate.generator, dir).map_err(|m| format!("generate `{}`: {m}", generate.name))?;
        check_check(&generate.check, dir).map_err(|m| format!("generate `{}`: {m}", generate.name))?;
    }
    Ok(())
}

fn check_benches(spec: &Challenge, dir: &Path) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for bench in &spec.benches {
        let at = |message: String| format!("[[bench]] `{}`: {message}", bench.name);
        if !names.insert(bench.name.as_str()) {
            return Err(format!("two [[bench]] entries are named `{}`", bench.name));
        }
        if spec.validate.references.is_empty() {
            return Err(at(
                "a benchmark is scored against the first `[validate] references` entry, and there is none".into()
            ));
        }
        check_generator(&bench.workload.generator, dir).map_err(at)?;
        if bench.metrics.is_empty() {
            return Err(at("`metrics` is empty: measure at least one of wall, cpu, memory".into()));
        }
        if let Some(metric) = bench.score.metric
            && !bench.metrics.contains(&metric)
        {
            return Err(at(format!("`score.metric` {metric:?} is not one of the measured `metrics`").to_lowercase()));
        }
        let score = &bench.score;
        if score.thresholds.is_empty() && !(score.full_at > 0.0 && score.full_at < score.zero_at) {
            return Err(at(format!(
                "`score` needs 0 < full_at < zero_at (got full_at = {}, zero_at = {})",
                score.full_at, score.zero_at
            )));
        }
        if bench.max_ci_width.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
            return Err(at("`max_ci_width` must be greater than zero".into()));
        }
        if !(bench.points.is_finite() && bench.points >= 0.0) {
            return Err(at("`points` must be zero or more".into()));
        }
    }
    Ok(())
}

/// A generator named by a spec exists: a built-in one, or a file in the challenge folder.
fn check_generator(generator: &str, dir: &Path) -> Result<(), String> {
    match generator.strip_prefix("builtin:") {
        Some(builtin) if crate::run::generate::builtin_names().contains(&builtin) => Ok(()),
        Some(builtin) => Err(format!(
            "no built-in generator `{builtin}` (known: {})",
            crate::run::generate::builtin_names().join(", ")
        )),
        None if dir.join(generator).is_file() => Ok(()),
        None => Err(format!("generator `{generator}` does not exist")),
    }
}

fn check_check(check: &Check, dir: &Path) -> Result<(), String> {
    if let Some(checker) = &check.checker
        && !dir.join(checker).is_file()
    {
        return Err(format!("checker `{checker}` does not exist"));
    }
    for (name, value) in [("float_abs", check.float_abs), ("float_rel", check.float_rel)] {
        if value.is_some_and(|v| !(v.is_finite() && v >= 0.0)) {
            return Err(format!("`{name}` must be zero or more"));
        }
    }
    Ok(())
}

/// A relative path that stays inside the folder it is joined to.
fn is_plain_relative(path: &str) -> bool {
    let path = Path::new(path);
    !path.as_os_str().is_empty()
        && path.components().all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "id = \"x\"\ntitle = \"X\"\n[[group]]\nname = \"g\"\n[[group.case]]\nname = \"c\"\nstdin_text = \"1\"\nstdout_text = \"1\"\n";

    #[test]
    fn minimal_spec_parses() {
        let spec = parse_str(MINIMAL, Path::new("challenge.toml")).unwrap();
        assert_eq!(spec.groups[0].cases[0].stdout_text.as_deref(), Some("1"));
    }

    #[test]
    fn typo_in_key_names_line_column_and_suggests() {
        let text = MINIMAL.replace("stdout_text", "stdout_txt");
        let error = parse_str(&text, Path::new("ch/challenge.toml")).unwrap_err().to_string();
        assert!(error.starts_with("ch/challenge.toml:8:1: unknown field `stdout_txt`"), "{error}");
        assert!(error.contains("did you mean `stdout_text`?"), "{error}");
        assert!(error.contains("8 | stdout_txt = \"1\"\n    ^^^^^^^^^^"), "{error}");
    }

    #[test]
    fn wrong_type_says_what_was_expected() {
        let text = MINIMAL.replace("name = \"g\"", "name = \"g\"\npoints = \"many\"");
        let error = parse_str(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(error.starts_with("c.toml:5:10: "), "{error}");
        assert!(error.contains("expected f64"), "{error}");
    }

    #[test]
    fn unknown_comparator_suggests_the_closest() {
        let text = MINIMAL.replace("title = \"X\"", "title = \"X\"\n[check]\ncompare = \"token\"");
        let error = parse_str(&text, Path::new("c.toml")).unwrap_err().to_string();
        assert!(error.contains("unknown variant `token`"), "{error}");
        assert!(error.contains("did you mean `tokens`?"), "{error}");
    }

    #[test]
    fn benches_are_checked_when_the_spec_loads() {
        let bench = "[[bench]]\nname = \"b\"\n[bench.workload]\ngenerator = \"builtin:dedup-tree\"\n";
        let text = format!("{MINIMAL}{bench}");
        let spec = parse_str(&text, Path::new("c.toml")).unwrap();
        let error = check_semantics(&spec, Path::new("."), Path::new("c.toml")).unwrap_err().to_string();
        assert!(
            error.contains("[[bench]] `b`: a benchmark is scored against the first `[validate] references`"),
            "{error}"
        );

        let text = format!(
            "{MINIMAL}[validate]\nreferences = [\".\"]\n{}",
            bench.replace("[bench.workload]", "score = { full_at = 3.0, zero_at = 2.0 }\n[bench.workload]")
        );
        let spec = parse_str(&text, Path::new("c.toml")).unwrap();
        let error = check_semantics(&spec, Path::new("."), Path::new("c.toml")).unwrap_err().to_string();
        assert!(error.contains("needs 0 < full_at < zero_at"), "{error}");

        let text =
            format!("{MINIMAL}[validate]\nreferences = [\".\"]\n{bench}").replace("builtin:dedup-tree", "gen/none.py");
        let spec = parse_str(&text, Path::new("c.toml")).unwrap();
        let error = check_semantics(&spec, Path::new("."), Path::new("c.toml")).unwrap_err().to_string();
        assert!(error.contains("generator `gen/none.py` does not exist"), "{error}");
    }

    #[test]
    fn circular_requirements_are_refused() {
        let text = MINIMAL.replace("name = \"g\"", "name = \"g\"\nrequires = [\"h\"]")
            + "[[group]]\nname = \"h\"\nrequires = [\"g\"]\n[[group.case]]\nname = \"c\"\nstdout_text = \"\"\n";
        let spec = parse_str(&text, Path::new("c.toml")).unwrap();
        assert_eq!(requirement_cycle(&spec.groups).unwrap(), vec!["g", "h", "g"]);
    }

    #[test]
    fn limits_merge_case_over_group_over_challenge() {
        use super::super::{Limits, Seconds};
        let challenge = Limits { cpu_time: Some(Seconds(1.0)), ..Limits::default() };
        let case = Limits { wall_time: Some(Seconds(7.0)), ..Limits::default() };
        let resolved = case.over(challenge).resolve();
        assert_eq!(resolved.cpu_time, Seconds(1.0));
        assert_eq!(resolved.wall_time, Seconds(7.0));
        let only_cpu = challenge.resolve();
        assert_eq!(only_cpu.wall_time, Seconds(3.0));
    }
}
