//! Faults injected at scheduled times of the load: partitions (two random halves, one node cut off, or
//! explicit groups) and healing, crashing a node (SIGKILL to its process group, restarted after a delay with
//! the same data folder and `init` again) and pausing one (SIGSTOP, then SIGCONT). A fault that names no
//! node picks one from the nemesis's stream of the run's seed, so a seed replays the same choices.
//!
//! The [`Timeline`] orders what is due: the scheduled faults and the restarts and resumes they lead to.

use std::collections::BTreeMap;
use std::time::Duration;

use super::network::{isolate, random_halves};
use super::rng::Rng;

/// A fault and when it strikes, counted from the start of the load.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledFault {
    pub at: Duration,
    pub fault: Fault,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Replaces any partition in force.
    Partition(PartitionShape),
    Heal,
    /// Kills the node's processes; it starts again after `restart_after` (a new incarnation, `init` again,
    /// the workload's setup requests again). `node: None`: one drawn at random.
    Crash {
        node: Option<String>,
        restart_after: Duration,
    },
    /// Stops the node's processes; they continue after `resume_after`.
    Pause {
        node: Option<String>,
        resume_after: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PartitionShape {
    /// Two random halves (the larger first when the count is odd).
    Halves,
    /// One node (named, or drawn at random) cut off from all others.
    Isolate(Option<String>),
    /// These groups cannot hear each other; a node in no group hears everyone.
    Groups(Vec<Vec<String>>),
}

/// Checks that every node a schedule names exists.
pub fn validate(schedule: &[ScheduledFault], node_ids: &[String]) -> Result<(), String> {
    let known = |name: &String| -> Result<(), String> {
        if node_ids.contains(name) {
            Ok(())
        } else {
            Err(format!("the nemesis names node {name}, but the nodes are {}", node_ids.join(", ")))
        }
    };
    for scheduled in schedule {
        match &scheduled.fault {
            Fault::Partition(PartitionShape::Isolate(Some(node)))
            | Fault::Crash { node: Some(node), .. }
            | Fault::Pause { node: Some(node), .. } => known(node)?,
            Fault::Partition(PartitionShape::Groups(groups)) => {
                for node in groups.iter().flatten() {
                    known(node)?;
                }
                let mut all: Vec<&String> = groups.iter().flatten().collect();
                all.sort();
                if all.windows(2).any(|pair| pair[0] == pair[1]) {
                    return Err("a node is in two groups of one partition".to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The groups of a partition, drawing from `rng` where the shape leaves a choice.
#[must_use]
pub fn groups(shape: &PartitionShape, node_ids: &[String], rng: &mut Rng) -> Vec<Vec<String>> {
    match shape {
        PartitionShape::Halves => random_halves(rng, node_ids),
        PartitionShape::Isolate(node) => isolate(node_ids, pick(node.as_ref(), node_ids, rng)),
        PartitionShape::Groups(groups) => groups.clone(),
    }
}

/// The index of the named node, or of one drawn from `rng`.
#[must_use]
pub fn pick(node: Option<&String>, node_ids: &[String], rng: &mut Rng) -> usize {
    let drawn = rng.below(node_ids.len() as u64) as usize;
    node.and_then(|name| node_ids.iter().position(|id| id == name)).unwrap_or(drawn)
}

/// Something the harness does at a given time.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Fault(Fault),
    Restart(usize),
    Resume(usize),
}

/// Actions by due time; equal times in the order they were added.
#[derive(Debug, Default)]
pub struct Timeline {
    due: BTreeMap<(Duration, u64), Action>,
    added: u64,
}

impl Timeline {
    /// The schedule's faults, its times counted from `start`.
    #[must_use]
    pub fn new(schedule: &[ScheduledFault], start: Duration) -> Timeline {
        let mut timeline = Timeline::default();
        for scheduled in schedule {
            timeline.push(start + scheduled.at, Action::Fault(scheduled.fault.clone()));
        }
        timeline
    }

    pub fn push(&mut self, at: Duration, action: Action) {
        self.added += 1;
        self.due.insert((at, self.added), action);
    }

    #[must_use]
    pub fn next_at(&self) -> Option<Duration> {
        self.due.keys().next().map(|(at, _)| *at)
    }

    /// The first action due at or before `now`.
    pub fn pop_due(&mut self, now: Duration) -> Option<Action> {
        let (&key, _) = self.due.iter().next().filter(|((at, _), _)| *at <= now)?;
        self.due.remove(&key)
    }

    /// Everything left, in order, leaving the timeline empty.
    pub fn drain(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.due).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_timeline_gives_actions_in_time_order_then_insertion_order() {
        let schedule = vec![
            ScheduledFault { at: ms(50), fault: Fault::Heal },
            ScheduledFault { at: ms(10), fault: Fault::Partition(PartitionShape::Halves) },
        ];
        let mut timeline = Timeline::new(&schedule, ms(100));
        timeline.push(ms(150), Action::Resume(2));
        assert_eq!(timeline.next_at(), Some(ms(110)));
        assert_eq!(timeline.pop_due(ms(109)), None);
        assert_eq!(timeline.pop_due(ms(200)), Some(Action::Fault(Fault::Partition(PartitionShape::Halves))));
        assert_eq!(timeline.pop_due(ms(200)), Some(Action::Fault(Fault::Heal)));
        assert_eq!(timeline.drain(), vec![Action::Resume(2)]);
        assert_eq!(timeline.next_at(), None);
    }

    #[test]
    fn unknown_or_doubled_nodes_are_refused() {
        let crash = |node: &str| ScheduledFault {
            at: ms(0),
            fault: Fault::Crash { node: Some(node.into()), restart_after: ms(1) },
        };
        assert!(validate(&[crash("n2")], &ids(3)).is_ok());
        let error = validate(&[crash("n7")], &ids(3)).expect_err("no n7");
        assert_eq!(error, "the nemesis names node n7, but the nodes are n0, n1, n2");
        let doubled = Fault::Partition(PartitionShape::Groups(vec![vec!["n0".into()], vec!["n0".into(), "n1".into()]]));
        assert!(validate(&[ScheduledFault { at: ms(0), fault: doubled }], &ids(3)).is_err());
    }

    #[test]
    fn shapes_become_groups_and_random_choices_replay() {
        let nodes = ids(5);
        let isolated = groups(&PartitionShape::Isolate(Some("n3".into())), &nodes, &mut Rng::stream(1, &[]));
        assert_eq!(isolated, vec![vec!["n3".to_owned()], vec!["n0".into(), "n1".into(), "n2".into(), "n4".into()]]);
        let draw = |seed| groups(&PartitionShape::Isolate(None), &nodes, &mut Rng::stream(seed, &[]));
        assert_eq!(draw(4), draw(4));
        assert_eq!(pick(Some(&"n1".to_owned()), &nodes, &mut Rng::stream(1, &[])), 1);
        assert!(pick(None, &nodes, &mut Rng::stream(1, &[])) < 5);
    }
}
