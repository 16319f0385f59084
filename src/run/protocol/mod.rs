//! Protocol challenges: the candidate's program is a server (one or many nodes speaking Maelstrom's JSON
//! line protocol) and the grader is everything around it: its clients, the network between its nodes, the
//! services it may call, the history of what it answered, and the checks on that history.
//!
//! [`harness::run`] ties it together: [`node`] processes, the simulated [`network`], [`services`], a
//! [`workloads`] generator and checker, the [`nemesis`], the [`history`], all randomness from one seed
//! ([`rng`]).

pub mod harness;
pub mod history;
pub mod message;
pub mod nemesis;
pub mod network;
pub mod node;
pub mod rng;
pub mod services;
pub mod workloads;
