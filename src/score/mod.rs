//! From verdicts to points.
