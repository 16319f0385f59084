//! `takehome generate <challenge> <case> --out DIR`: one case's input and answer, written to a folder.

use std::path::Path;

use anyhow::{Context as _, bail};

use super::UsageError;
use crate::exit_codes;
use crate::run::batch::{self, Source};
use crate::run::generate;
use crate::spec;

pub fn run(challenge: &str, case: &str, out: &Path, seed: Option<u64>, overrides: &[String]) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    if loaded.spec.kind == crate::spec::Kind::Protocol {
        return Err(UsageError(format!(
            "challenge `{}` is a protocol challenge: its stages have no input files to generate; \
             `takehome test {} --seed <n>` replays a stage, and keeps its history, trace and report",
            loaded.spec.id, loaded.spec.id
        ))
        .into());
    }
    let seed = super::choose_seed(seed);
    let (group_name, case_name) = match case.split_once('/') {
        Some((group, case)) => (Some(group), case),
        None => (None, case),
    };
    let mut found = None;
    for (index, group) in loaded.spec.groups.iter().enumerate() {
        if group_name.is_some_and(|name| name != group.name) {
            continue;
        }
        if let Some(plan) = batch::plan_group(&loaded, index, seed).into_iter().find(|p| p.name == case_name) {
            found = Some(plan);
            break;
        }
    }
    let Some(plan) = found else {
        let known: Vec<String> = (0..loaded.spec.groups.len())
            .flat_map(|index| {
                let group = loaded.spec.groups[index].name.clone();
                batch::plan_group(&loaded, index, seed).into_iter().map(move |p| format!("{group}/{}", p.name))
            })
            .collect();
        return Err(UsageError(format!(
            "challenge `{}` has no case `{case}`; its cases: {}",
            loaded.spec.id,
            known.join(", ")
        ))
        .into());
    };
    if out.exists() && std::fs::read_dir(out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(
            UsageError(format!("{} exists and is not empty: give an empty or new folder", out.display())).into()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let out = &std::path::absolute(out)?;
    match plan.source {
        Source::Generated { group, generate: index, seed: case_seed } => {
            let entry = &loaded.spec.groups[group].generated[index];
            let mut params = entry.params.clone();
            for assignment in overrides {
                let Some((key, value)) = assignment.split_once('=') else {
                    return Err(UsageError(format!("--param `{assignment}` is not KEY=VALUE")).into());
                };
                let value = value
                    .parse::<i64>()
                    .map(toml::Value::Integer)
                    .or_else(|_| value.parse::<f64>().map(toml::Value::Float));
                params.insert(
                    key.to_string(),
                    value.unwrap_or_else(|_| toml::Value::String(assignment[key.len() + 1..].to_string())),
                );
            }
            match entry.generator.strip_prefix("builtin:") {
                Some(name) => generate::run_builtin(name, case_seed, &params, out)?,
                None => generate::run_program(&loaded.path(&entry.generator), case_seed, &params, out)?,
            }
            eprintln!("wrote case {case} (seed {case_seed}; run seed {seed}) to {}", out.display());
        }
        Source::Written { group, case: index } => {
            if !overrides.is_empty() {
                bail!(UsageError(format!("case `{case}` is written out in the spec: it has no generator parameters")));
            }
            let written = &loaded.spec.groups[group].cases[index];
            for (destination, source) in &written.files {
                let target = out.join("files").join(destination);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                crate::run::tree::copy_tree(&loaded.path(source), &target)?;
            }
            let read = |path: &Option<String>, text: &Option<String>| -> std::io::Result<Option<Vec<u8>>> {
                match (path, text) {
                    (Some(path), _) => std::fs::read(loaded.path(path)).map(Some),
                    (None, Some(text)) => Ok(Some(text.clone().into_bytes())),
                    (None, None) => Ok(None),
                }
            };
            if let Some(stdin) = read(&written.stdin, &written.stdin_text)? {
                std::fs::write(out.join("stdin"), stdin)?;
            }
            if let Some(answer) = read(&written.stdout, &written.stdout_text)? {
                std::fs::write(out.join("answer"), answer)?;
            }
            eprintln!("wrote case {case} to {}", out.display());
        }
    }
    Ok(exit_codes::PASSED)
}
