//! Grading many submissions at once: where they come from (folders, archives, git revisions), the
//! result folder a batch writes one file per submission into and resumes from, the manifest that says
//! what each result was graded from, shards of a batch, and merging result folders.

pub mod git;
pub mod machine;
pub mod manifest;
pub mod merge;
pub mod names;
pub mod pool;
pub mod protected;
pub mod shard;
pub mod source;
pub mod store;
pub mod unpack;
