//! Deciding how to build and run a submission: its takehome.toml, or its language's tell-tale files.
//!
//! Without a takehome.toml the first of these that matches wins (the order settles folders that hold
//! two languages, and `because` then says so):
//!
//! | found                                        | language | build                                   | run |
//! |----------------------------------------------|----------|-----------------------------------------|-----|
//! | Cargo.toml                                   | rust     | `cargo build --release`                 | `target/release/<bin>` |
//! | go.mod                                       | go       | `go build -o submission .`              | `./submission` |
//! | pom.xml                                      | java     | `mvn -q -o -DskipTests package`         | `java -jar target/*.jar` |
//! | Makefile and C/C++ sources                   | c, cpp   | `make`                                  | `./main`, else `./solution`, else the one new executable |
//! | package.json with `main` or `scripts.start`  | node     | `npm ci`/`npm install` if it has dependencies, `npm run build` if it has that script | `node <main>` or `npm start` |
//! | pyproject.toml with `[project.scripts]`      | python   | —                                       | that entry point |
//! | main.py, or the only .py file                | python   | `python3 -m py_compile <file>`          | `python3 <file>` |
//! | Main.java, or the only .java file            | java     | `javac -d classes *.java`               | `java -cp classes Main` |
//! | main.cpp/.cc/.cxx, or the only C++ file      | cpp      | `c++ -O2 -std=c++17 -o main *.cpp`      | `./main` |
//! | main.c, or the only .c file                  | c        | `cc -O2 -o main *.c -lm`                | `./main` |
//! | main.js, index.js, or the only .js file      | node     | —                                       | `node <file>` |
//!
//! Only the submission's top folder is looked at; `*.c` and friends mean its top-level files of that kind.

use std::collections::BTreeMap;
use std::path::Path;

use super::config;

/// How to build and run a submission. Commands are argv lists (no shell); in `run`, a word that
/// names a file of the built copy is made absolute, and `{build}` stands for the built copy's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// `rust`, `go`, `python`, `node`, `c`, `cpp`, `java`, or `custom` (takehome.toml without `language`).
    pub language: String,
    /// Why, e.g. "found Cargo.toml".
    pub because: String,
    pub build: Vec<Vec<String>>,
    pub run: Vec<String>,
    /// The run program is a guess (a Makefile's output): when it is missing after the build,
    /// `./solution` or the only new executable at the top of the built copy is run instead.
    pub run_guessed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("{}: no such folder", .0.display())]
    Missing(std::path::PathBuf),
    #[error("nothing to build in {}: {hint}", .path.display())]
    Nothing { path: std::path::PathBuf, hint: String },
    #[error("{}", .0)]
    BadConfig(String),
}

/// What detection looks for, in order, for messages.
const LOOKED_FOR: &[(&str, &str)] = &[
    ("Cargo.toml", "Rust (cargo build --release)"),
    ("go.mod", "Go (go build)"),
    ("pom.xml", "Java with Maven"),
    ("Makefile + C/C++ sources", "C/C++ (make; runs ./main or ./solution)"),
    ("package.json with main or start", "Node.js"),
    ("pyproject.toml [project.scripts]", "Python 3"),
    ("main.py or a single .py file", "Python 3"),
    ("Main.java or a single .java file", "Java (javac)"),
    ("main.cpp or a single .cpp file", "C++17"),
    ("main.c or a single .c file", "C"),
    ("main.js, index.js or one .js file", "Node.js"),
];

/// Detects the recipe for the submission in `dir`.
pub fn detect(dir: &Path) -> Result<Recipe, DetectError> {
    if !dir.is_dir() {
        return Err(DetectError::Missing(dir.to_path_buf()));
    }
    let config_path = dir.join(config::FILE_NAME);
    if config_path.is_file() {
        return from_config(&config_path);
    }
    let files = TopLevel::read(dir)?;
    let mut found = Vec::new();
    for detector in [rust, go, maven, make, node_package, python, java, cpp, c, node_script] {
        if let Some(detection) = detector(dir, &files)? {
            found.push(detection);
        }
    }
    let mut found = found.into_iter();
    let Some(chosen) = found.next() else {
        return Err(DetectError::Nothing { path: dir.to_path_buf(), hint: nothing_hint(&files) });
    };
    // Another tell-tale of the same language (main.c beside a Makefile) is part of the same program.
    let others: Vec<String> = found.filter(|d| d.recipe.language != chosen.recipe.language).map(|d| d.found).collect();
    let mut recipe = chosen.recipe;
    let name = language_name(&recipe.language);
    recipe.because = if others.is_empty() {
        format!("found {}{}", chosen.found, chosen.note)
    } else {
        format!(
            "found {} and {}; using {} ({name}) — add a takehome.toml to choose{}",
            chosen.found,
            others.join(" and "),
            chosen.found,
            chosen.note
        )
    };
    Ok(recipe)
}

/// The human name of a recipe language, e.g. `cpp` → `C++`.
#[must_use]
pub fn language_name(language: &str) -> &str {
    match language {
        "rust" => "Rust",
        "go" => "Go",
        "python" => "Python",
        "node" => "Node.js",
        "c" => "C",
        "cpp" => "C++",
        "java" => "Java",
        other => other,
    }
}

fn from_config(path: &Path) -> Result<Recipe, DetectError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| DetectError::BadConfig(format!("cannot read {}: {error}", path.display())))?;
    let config = config::parse(&text, path).map_err(DetectError::BadConfig)?;
    Ok(Recipe {
        language: config.language.unwrap_or_else(|| "custom".into()),
        because: format!("found {}", config::FILE_NAME),
        build: config.build,
        run: config.run,
        run_guessed: false,
    })
}

fn nothing_hint(files: &TopLevel) -> String {
    let mut hint = String::new();
    if files.names.is_empty() && files.dirs.len() == 1 {
        hint.push_str(&format!(
            "the folder holds only the folder `{}/` — is the submission in there?\n",
            files.dirs[0]
        ));
    } else if files.names.is_empty() && files.dirs.is_empty() {
        hint.push_str("the folder is empty.\n");
    }
    let entry_points = [
        ("main.py", &["py"][..]),
        ("Main.java", &["java"]),
        ("main.cpp", CPP_SOURCES),
        ("main.c", C_SOURCES),
        ("main.js", &["js", "mjs"]),
    ];
    for (main, extensions) in entry_points {
        let several = files.with_extension(extensions);
        if several.len() > 1 {
            hint.push_str(&format!(
                "found {} but no {main}: name the entry point {main}, or add a takehome.toml.\n",
                several.join(", ")
            ));
        }
    }
    hint.push_str("takehome looks at the top of the folder for (first match wins):\n");
    for (file, language) in LOOKED_FOR {
        hint.push_str(&format!("  {file:<36}{language}\n"));
    }
    hint.push_str(
        "or a takehome.toml saying how to build and run it, e.g.\n  build = \"cc -O2 -o main main.c\"\n  run = \"./main\"",
    );
    hint
}

/// A recipe found by one detector, and the tell-tale files that gave it away.
struct Detection {
    found: String,
    note: String,
    recipe: Recipe,
}

impl Detection {
    fn new(found: impl Into<String>, language: &str, build: Vec<Vec<String>>, run: Vec<String>) -> Detection {
        Detection {
            found: found.into(),
            note: String::new(),
            recipe: Recipe { language: language.into(), because: String::new(), build, run, run_guessed: false },
        }
    }

    fn note(mut self, note: impl Into<String>) -> Detection {
        self.note = format!("; {}", note.into());
        self
    }
}

type Detected = Result<Option<Detection>, DetectError>;

/// The names of the regular files (and folders) at the top of the submission, sorted.
struct TopLevel {
    names: Vec<String>,
    dirs: Vec<String>,
}

impl TopLevel {
    fn read(dir: &Path) -> Result<TopLevel, DetectError> {
        let unreadable =
            |error: std::io::Error| DetectError::BadConfig(format!("cannot read {}: {error}", dir.display()));
        let mut names = Vec::new();
        let mut dirs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let path = entry.path();
            if path.is_file() {
                if name != ".gitkeep" && name != ".DS_Store" {
                    names.push(name);
                }
            } else if path.is_dir() && !name.starts_with('.') {
                dirs.push(name);
            }
        }
        names.sort();
        dirs.sort();
        Ok(TopLevel { names, dirs })
    }

    fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    fn with_extension(&self, extensions: &[&str]) -> Vec<String> {
        self.names
            .iter()
            .filter(|n| Path::new(n).extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)))
            .cloned()
            .collect()
    }

    /// `preferred` names first, else the only file with one of `extensions`.
    fn entry_point(&self, preferred: &[&str], extensions: &[&str]) -> Option<String> {
        if let Some(name) = preferred.iter().find(|p| self.has(p)) {
            return Some((*name).to_string());
        }
        let matching = self.with_extension(extensions);
        if matching.len() == 1 { matching.into_iter().next() } else { None }
    }
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn rust(dir: &Path, files: &TopLevel) -> Detected {
    if !files.has("Cargo.toml") {
        return Ok(None);
    }
    let build = vec![words(&["cargo", "build", "--release"])];
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok().and_then(|t| t.parse::<toml::Table>().ok());
    let Some(manifest) = manifest else {
        // cargo explains a broken manifest better than we could, at build time.
        let run = format!("target/release/{}", folder_name(dir));
        return Ok(Some(Detection::new("Cargo.toml", "rust", build, vec![run])));
    };
    let package = manifest.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str());
    let bins: Vec<&str> = manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| bins.iter().filter_map(|b| b.get("name").and_then(|n| n.as_str())).collect())
        .unwrap_or_default();
    let (binary, note) = match (bins.as_slice(), package) {
        ([only], _) => (only.to_string(), String::new()),
        ([], Some(package)) => (package.to_string(), String::new()),
        ([first, ..], package) => {
            let chosen = package.filter(|p| bins.contains(p)).unwrap_or(first);
            (chosen.to_string(), format!("several [[bin]] targets: runs `{chosen}`"))
        }
        ([], None) => {
            let name = folder_name(dir);
            (name.clone(), format!("Cargo.toml has no [package] name: runs `{name}` (a takehome.toml can say)"))
        }
    };
    let detection = Detection::new("Cargo.toml", "rust", build, vec![format!("target/release/{binary}")]);
    Ok(Some(if note.is_empty() { detection } else { detection.note(note) }))
}

fn folder_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.file_name().map_or_else(|| "main".into(), |n| n.to_string_lossy().into_owned())
}

fn go(_dir: &Path, files: &TopLevel) -> Detected {
    Ok(files.has("go.mod").then(|| {
        Detection::new("go.mod", "go", vec![words(&["go", "build", "-o", "submission", "."])], words(&["./submission"]))
    }))
}

fn maven(_dir: &Path, files: &TopLevel) -> Detected {
    Ok(files.has("pom.xml").then(|| {
        Detection::new(
            "pom.xml",
            "java",
            vec![words(&["mvn", "-q", "-o", "-DskipTests", "package"])],
            words(&["java", "-jar", "target/*.jar"]),
        )
        .note(
            "Maven runs offline (-o): its plugins and your dependencies must already be in the build's \
             Maven repository, or the build fails — a takehome.toml can build another way",
        )
    }))
}

const C_SOURCES: &[&str] = &["c"];
const CPP_SOURCES: &[&str] = &["cpp", "cc", "cxx", "C", "c++"];
const HEADERS: &[&str] = &["h", "hpp", "hh", "hxx"];

fn make(dir: &Path, files: &TopLevel) -> Detected {
    let Some(makefile) = ["GNUmakefile", "makefile", "Makefile"].into_iter().find(|m| files.has(m)) else {
        return Ok(None);
    };
    let mut sources = files.names.clone();
    if let Ok(src) = std::fs::read_dir(dir.join("src")) {
        for entry in src.flatten() {
            sources.extend(entry.file_name().to_str().map(str::to_string));
        }
    }
    let extension_in = |exts: &[&str]| {
        sources.iter().any(|s| Path::new(s).extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e)))
    };
    let language = if extension_in(CPP_SOURCES) {
        "cpp"
    } else if extension_in(C_SOURCES) || extension_in(HEADERS) {
        "c"
    } else {
        // A Makefile beside Python or JavaScript is for chores, not for building.
        return Ok(None);
    };
    let mut detection = Detection::new(
        format!("{makefile} with {} sources", language_name(language)),
        language,
        vec![words(&["make"])],
        words(&["./main"]),
    )
    .note("runs ./main, else ./solution, else the one new executable make created");
    detection.recipe.run_guessed = true;
    Ok(Some(detection))
}

fn node_package(dir: &Path, files: &TopLevel) -> Detected {
    if !files.has("package.json") {
        return Ok(None);
    }
    let path = dir.join("package.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| DetectError::BadConfig(format!("cannot read {}: {error}", path.display())))?;
    let package: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        DetectError::BadConfig(format!("{}:{}:{}: {error}", path.display(), error.line(), error.column()))
    })?;
    let scripts = package.get("scripts").and_then(|s| s.as_object());
    let script = |name: &str| scripts.and_then(|s| s.get(name)).and_then(|s| s.as_str());
    let start = script("start");
    let node_file = |file: &str| vec!["node".to_string(), file.to_string()];
    let run = if let Some(main) = package.get("main").and_then(|m| m.as_str()).filter(|m| dir.join(m).is_file()) {
        node_file(main)
    } else if let Some(file) = start.and_then(start_file) {
        node_file(&file)
    } else if start.is_some() {
        // npm runs the script in the package's folder; INIT_CWD tells it where the run started.
        words(&["npm", "--prefix", "{build}", "start", "--silent"])
    } else if files.has("index.js") {
        node_file("index.js")
    } else {
        return Ok(None);
    };
    let mut build = Vec::new();
    let has_dependencies = ["dependencies", "devDependencies"]
        .iter()
        .any(|key| package.get(key).and_then(|d| d.as_object()).is_some_and(|d| !d.is_empty()));
    if has_dependencies {
        let install = if files.has("package-lock.json") { "ci" } else { "install" };
        build.push(words(&["npm", install, "--no-audit", "--no-fund"]));
    }
    if script("build").is_some() {
        build.push(words(&["npm", "run", "build"]));
    }
    Ok(Some(Detection::new("package.json", "node", build, run)))
}

/// The file of a start script that is exactly `node <file>`.
fn start_file(script: &str) -> Option<String> {
    match super::words::split(script).ok()?.as_slice() {
        [node, file] if node == "node" => Some(file.clone()),
        _ => None,
    }
}

fn python(dir: &Path, files: &TopLevel) -> Detected {
    if files.has("pyproject.toml")
        && let Some(detection) = python_project(dir)
    {
        return Ok(Some(detection));
    }
    Ok(files.entry_point(&["main.py"], &["py"]).map(|file| {
        Detection::new(
            file.clone(),
            "python",
            vec![vec!["python3".into(), "-m".into(), "py_compile".into(), file.clone()]],
            vec!["python3".into(), file],
        )
    }))
}

/// A pyproject.toml whose `[project.scripts]` names an entry point `module:function`.
fn python_project(dir: &Path) -> Option<Detection> {
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    let project: toml::Table = text.parse().ok()?;
    let scripts: BTreeMap<String, String> = project
        .get("project")?
        .get("scripts")?
        .as_table()?
        .iter()
        .filter_map(|(name, target)| Some((name.clone(), target.as_str()?.to_string())))
        .collect();
    let (name, target) = scripts.iter().next()?;
    let (module, function) = target.split_once(':')?;
    let (module, function) = (module.trim(), function.trim());
    let dotted = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|part| {
                part.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
                    && part.chars().all(|c| c.is_alphanumeric() || c == '_')
            })
    };
    if !dotted(module) || !dotted(function) {
        return None;
    }
    let top_package = module.split('.').next().unwrap_or(module);
    let source_root =
        if dir.join("src").join(top_package).exists() || dir.join("src").join(format!("{top_package}.py")).is_file() {
            "{build}/src"
        } else {
            "{build}"
        };
    let head = function.split('.').next().unwrap_or(function);
    // The folder comes as an argument so that no quoting of a path inside Python code is needed.
    let code =
        format!("import sys; sys.path.insert(0, sys.argv.pop(1)); from {module} import {head}; sys.exit({function}())");
    let mut detection = Detection::new(
        "pyproject.toml with [project.scripts]",
        "python",
        vec![],
        vec!["python3".into(), "-c".into(), code, source_root.into()],
    );
    if scripts.len() > 1 {
        detection = detection.note(format!("runs the script `{name}`"));
    }
    Some(detection)
}

fn java(dir: &Path, files: &TopLevel) -> Detected {
    let Some(main) = files.entry_point(&["Main.java"], &["java"]) else { return Ok(None) };
    let stem = main.trim_end_matches(".java").to_string();
    let class = match std::fs::read_to_string(dir.join(&main)).ok().as_deref().and_then(package_of) {
        Some(package) => format!("{package}.{stem}"),
        None => stem,
    };
    let mut build = words(&["javac", "-encoding", "UTF-8", "-d", "classes"]);
    build.extend(files.with_extension(&["java"]));
    Ok(Some(Detection::new(main, "java", vec![build], vec!["java".into(), "-cp".into(), "classes".into(), class])))
}

/// The `package a.b;` a Java file declares.
fn package_of(source: &str) -> Option<String> {
    source.lines().map(str::trim).find_map(|line| {
        let rest = line.strip_prefix("package ")?;
        let name = rest.split(';').next()?.trim();
        (!name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
            .then(|| name.to_string())
    })
}

fn cpp(_dir: &Path, files: &TopLevel) -> Detected {
    let Some(main) = files.entry_point(&["main.cpp", "main.cc", "main.cxx"], CPP_SOURCES) else { return Ok(None) };
    let mut build = words(&["c++", "-O2", "-std=c++17", "-o", "main"]);
    build.extend(files.with_extension(CPP_SOURCES));
    Ok(Some(Detection::new(main, "cpp", vec![build], words(&["./main"]))))
}

fn c(_dir: &Path, files: &TopLevel) -> Detected {
    let Some(main) = files.entry_point(&["main.c"], C_SOURCES) else { return Ok(None) };
    let mut build = words(&["cc", "-O2", "-o", "main"]);
    build.extend(files.with_extension(C_SOURCES));
    build.push("-lm".into());
    Ok(Some(Detection::new(main, "c", vec![build], words(&["./main"]))))
}

fn node_script(_dir: &Path, files: &TopLevel) -> Detected {
    Ok(files
        .entry_point(&["main.js", "index.js"], &["js", "mjs"])
        .map(|file| Detection::new(file.clone(), "node", vec![], vec!["node".into(), file])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        dir
    }

    fn detect_in(files: &[(&str, &str)]) -> Recipe {
        let dir = layout(files);
        detect(dir.path()).unwrap()
    }

    fn line(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_string()).collect()
    }

    #[test]
    fn rust_runs_the_package_binary_from_target_release() {
        let recipe = detect_in(&[("Cargo.toml", "[package]\nname = \"sum-it\"\n"), ("src/main.rs", "fn main() {}")]);
        assert_eq!(recipe.language, "rust");
        assert_eq!(recipe.build, vec![line(&["cargo", "build", "--release"])]);
        assert_eq!(recipe.run, line(&["target/release/sum-it"]));
        assert_eq!(recipe.because, "found Cargo.toml");
    }

    #[test]
    fn rust_prefers_a_single_bin_target() {
        let recipe = detect_in(&[(
            "Cargo.toml",
            "[package]\nname = \"pkg\"\n[[bin]]\nname = \"solver\"\npath = \"src/x.rs\"\n",
        )]);
        assert_eq!(recipe.run, line(&["target/release/solver"]));
    }

    #[test]
    fn go_builds_into_submission() {
        let recipe = detect_in(&[("go.mod", "module x\n"), ("main.go", "package main\n")]);
        assert_eq!(recipe.language, "go");
        assert_eq!(recipe.build, vec![line(&["go", "build", "-o", "submission", "."])]);
        assert_eq!(recipe.run, line(&["./submission"]));
    }

    #[test]
    fn python_main_is_compiled_then_run() {
        let recipe = detect_in(&[("main.py", "print(1)\n"), ("helper.py", "")]);
        assert_eq!(recipe.language, "python");
        assert_eq!(recipe.build, vec![line(&["python3", "-m", "py_compile", "main.py"])]);
        assert_eq!(recipe.run, line(&["python3", "main.py"]));
    }

    #[test]
    fn a_single_python_file_of_any_name_is_the_entry_point() {
        assert_eq!(detect_in(&[("dedup.py", "")]).run, line(&["python3", "dedup.py"]));
    }

    #[test]
    fn pyproject_scripts_run_the_entry_function() {
        let recipe = detect_in(&[
            ("pyproject.toml", "[project]\nname = \"x\"\n[project.scripts]\nsolve = \"solver.cli:main\"\n"),
            ("src/solver/cli.py", "def main(): pass\n"),
        ]);
        assert_eq!(recipe.language, "python");
        assert!(recipe.build.is_empty());
        assert_eq!(recipe.run[0..2], line(&["python3", "-c"]));
        assert!(recipe.run[2].contains("from solver.cli import main; sys.exit(main())"), "{:?}", recipe.run);
        assert_eq!(recipe.run[3], "{build}/src");
    }

    #[test]
    fn node_package_main_runs_with_node() {
        let recipe = detect_in(&[("package.json", r#"{"name":"x","main":"sum.js"}"#), ("sum.js", "")]);
        assert_eq!(recipe.language, "node");
        assert!(recipe.build.is_empty());
        assert_eq!(recipe.run, line(&["node", "sum.js"]));
    }

    #[test]
    fn node_start_script_of_a_plain_file_runs_it_directly() {
        let recipe = detect_in(&[("package.json", r#"{"scripts":{"start":"node app.js"}}"#), ("app.js", "")]);
        assert_eq!(recipe.run, line(&["node", "app.js"]));
    }

    #[test]
    fn node_other_start_script_goes_through_npm_and_dependencies_are_installed() {
        let recipe = detect_in(&[
            ("package.json", r#"{"scripts":{"start":"ts-node a.ts","build":"tsc"},"dependencies":{"x":"1"}}"#),
            ("package-lock.json", "{}"),
        ]);
        assert_eq!(recipe.run, line(&["npm", "--prefix", "{build}", "start", "--silent"]));
        assert_eq!(recipe.build, vec![line(&["npm", "ci", "--no-audit", "--no-fund"]), line(&["npm", "run", "build"])]);
    }

    #[test]
    fn broken_package_json_is_reported_with_its_position() {
        let dir = layout(&[("package.json", "{\n  \"main\": ,\n}")]);
        let error = detect(dir.path()).unwrap_err().to_string();
        assert!(error.contains("package.json:2:11:"), "{error}");
    }

    #[test]
    fn makefile_with_cpp_sources_runs_make_and_guesses_main() {
        let recipe = detect_in(&[("Makefile", "all:\n\tc++ -o main main.cpp\n"), ("main.cpp", "")]);
        assert_eq!(recipe.language, "cpp");
        assert_eq!(recipe.build, vec![line(&["make"])]);
        assert_eq!(recipe.run, line(&["./main"]));
        assert!(recipe.run_guessed);
        assert!(recipe.because.starts_with("found Makefile with C++ sources; runs ./main"), "{}", recipe.because);
    }

    #[test]
    fn makefile_beside_python_is_not_a_c_project() {
        let recipe = detect_in(&[("Makefile", "test:\n\tpytest\n"), ("main.py", "")]);
        assert_eq!(recipe.language, "python");
        assert_eq!(recipe.because, "found main.py");
    }

    #[test]
    fn c_compiles_every_top_level_source_with_libm() {
        let recipe = detect_in(&[("main.c", ""), ("util.c", ""), ("util.h", "")]);
        assert_eq!(recipe.language, "c");
        assert_eq!(recipe.build, vec![line(&["cc", "-O2", "-o", "main", "main.c", "util.c", "-lm"])]);
        assert_eq!(recipe.run, line(&["./main"]));
    }

    #[test]
    fn cpp_compiles_as_cpp17() {
        let recipe = detect_in(&[("main.cpp", "")]);
        assert_eq!(recipe.language, "cpp");
        assert_eq!(recipe.build, vec![line(&["c++", "-O2", "-std=c++17", "-o", "main", "main.cpp"])]);
    }

    #[test]
    fn java_main_compiles_into_classes() {
        let recipe = detect_in(&[("Main.java", "public class Main {}"), ("Util.java", "")]);
        assert_eq!(recipe.language, "java");
        assert_eq!(
            recipe.build,
            vec![line(&["javac", "-encoding", "UTF-8", "-d", "classes", "Main.java", "Util.java"])]
        );
        assert_eq!(recipe.run, line(&["java", "-cp", "classes", "Main"]));
    }

    #[test]
    fn java_main_class_includes_its_package() {
        let recipe = detect_in(&[("Solution.java", "// hi\npackage com.acme;\nclass Solution {}")]);
        assert_eq!(recipe.run, line(&["java", "-cp", "classes", "com.acme.Solution"]));
    }

    #[test]
    fn maven_runs_offline_and_runs_the_jar() {
        let recipe = detect_in(&[("pom.xml", "<project/>")]);
        assert_eq!(recipe.build, vec![line(&["mvn", "-q", "-o", "-DskipTests", "package"])]);
        assert_eq!(recipe.run, line(&["java", "-jar", "target/*.jar"]));
        assert!(recipe.because.contains("offline"), "{}", recipe.because);
    }

    #[test]
    fn plain_javascript_runs_with_node() {
        assert_eq!(detect_in(&[("index.js", "")]).run, line(&["node", "index.js"]));
    }

    #[test]
    fn two_languages_choose_by_priority_and_say_so() {
        let recipe = detect_in(&[("Cargo.toml", "[package]\nname = \"a\"\n"), ("main.py", "")]);
        assert_eq!(recipe.language, "rust");
        assert_eq!(
            recipe.because,
            "found Cargo.toml and main.py; using Cargo.toml (Rust) — add a takehome.toml to choose"
        );
    }

    #[test]
    fn takehome_toml_overrides_detection() {
        let recipe =
            detect_in(&[("takehome.toml", "build = [\"cc -o sum solution.c\"]\nrun = \"./sum\"\n"), ("main.py", "")]);
        assert_eq!(recipe.language, "custom");
        assert_eq!(recipe.because, "found takehome.toml");
        assert_eq!(recipe.build, vec![line(&["cc", "-o", "sum", "solution.c"])]);
        assert_eq!(recipe.run, line(&["./sum"]));
    }

    #[test]
    fn bad_takehome_toml_is_a_located_error() {
        let dir = layout(&[("takehome.toml", "run = \"./x\"\nlanguge = \"c\"\n")]);
        let error = detect(dir.path()).unwrap_err().to_string();
        let expected = format!(
            "{}:2:1: unknown key `languge`: did you mean `language`?",
            dir.path().join("takehome.toml").display()
        );
        assert!(error.starts_with(&expected), "{error}");
    }

    #[test]
    fn empty_folder_lists_what_is_looked_for() {
        let dir = layout(&[(".gitkeep", "")]);
        let error = detect(dir.path()).unwrap_err();
        assert!(matches!(error, DetectError::Nothing { .. }));
        let message = error.to_string();
        assert!(message.contains("the folder is empty"), "{message}");
        for expected in [
            "Cargo.toml",
            "go.mod",
            "main.py",
            "package.json",
            "main.c",
            "Main.java",
            "takehome.toml",
            "run = \"./main\"",
        ] {
            assert!(message.contains(expected), "{expected} missing from: {message}");
        }
    }

    #[test]
    fn folder_with_a_single_subfolder_suggests_looking_inside() {
        let dir = layout(&[("solution/main.py", "")]);
        let message = detect(dir.path()).unwrap_err().to_string();
        assert!(message.contains("only the folder `solution/`"), "{message}");
    }

    #[test]
    fn several_sources_without_a_main_say_which_name_is_expected() {
        let dir = layout(&[("solve.py", ""), ("util.py", "")]);
        let message = detect(dir.path()).unwrap_err().to_string();
        assert!(message.contains("found solve.py, util.py but no main.py"), "{message}");
    }

    #[test]
    fn missing_folder_is_its_own_error() {
        assert!(matches!(detect(Path::new("/nonexistent/sub")), Err(DetectError::Missing(_))));
    }
}
