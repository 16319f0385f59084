//! Batch cases.
