//! A candidate's submission: which language it is in (detect), how it is built in a private copy
//! (build), and where finished builds are kept so a re-grade does not rebuild (cache).

pub mod build;
pub mod cache;
pub mod detect;

pub use build::{BuildError, Built, build};
pub use detect::{DetectError, Recipe, detect};
