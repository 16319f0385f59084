//! Pure judgement of outputs: comparators, the diff shown on a wrong answer, and the meaning of an
//! external checker's exit code and feedback files. Nothing here starts a process.

pub mod compare;
pub mod diff;
pub mod kattis;
pub mod linearizability;

pub use compare::{CompareOptions, Judgement, compare};
