//! A candidate's submission: which language it is in (detect, or its own takehome.toml), how it is
//! built in a private copy (build), and where finished builds are kept so a re-grade does not rebuild
//! (cache).

pub mod build;
pub mod cache;
pub mod config;
pub mod detect;
pub mod toolchain;
pub mod tree;
pub mod words;

pub use build::{BuildError, Built, build, build_in};
pub use cache::{BuildCache, cache_dir};
pub use detect::{DetectError, Recipe, detect, language_name};
