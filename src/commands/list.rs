//! `takehome list`: the bundled challenges.

use crate::exit_codes;
use crate::spec;

pub fn run() -> anyhow::Result<i32> {
    for id in spec::bundled_ids() {
        let challenge = spec::load(id)?;
        super::say_line(format!("{:<20} {}", id, challenge.spec.title));
    }
    Ok(exit_codes::PASSED)
}
