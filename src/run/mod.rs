//! Running a built submission: batch cases (each in a fresh working folder, through the sandbox),
//! the generators that make cases from a seed, and external checker programs.

pub mod batch;
pub mod checker;
pub mod generate;
pub mod protocol;
pub mod tree;
