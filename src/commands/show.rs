//! `takehome show <challenge>`: the candidate's brief.

use anyhow::Context as _;

use crate::exit_codes;
use crate::spec;

pub fn run(challenge: &str) -> anyhow::Result<i32> {
    let loaded = spec::load(challenge)?;
    let brief = loaded.brief().with_context(|| format!("challenge `{}` has no README.md brief", loaded.spec.id))?;
    super::say(&brief);
    if !brief.ends_with('\n') {
        super::say("\n");
    }
    Ok(exit_codes::PASSED)
}
