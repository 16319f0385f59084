//! Running a built submission: batch cases (each in a fresh working folder, through the sandbox),
//! the generators that make cases from a seed, external checker programs, and protocol challenges'
//! nodes, stage by stage.

pub mod batch;
pub mod checker;
pub mod generate;
pub mod protocol;
pub mod stages;
pub mod tree;
