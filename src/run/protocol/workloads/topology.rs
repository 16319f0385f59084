//! The neighbour maps the broadcast workload hands its nodes in `topology`: Maelstrom's roughly square grid
//! (its default), a line, a ring, trees of fan-out 2 to 4, everyone to everyone, or no neighbours at all.

use std::collections::BTreeMap;

/// A shape of neighbour map, chosen by name in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Grid,
    Line,
    Ring,
    /// Node i's children are k·i+1 .. k·i+k; its parent (i-1)/k.
    Tree(usize),
    Total,
    None,
}

/// Topology names, for messages.
pub const TOPOLOGY_NAMES: &[&str] = &["grid", "line", "ring", "tree2", "tree3", "tree4", "total", "none"];

impl Topology {
    #[must_use]
    pub fn from_name(name: &str) -> Option<Topology> {
        Some(match name {
            "grid" => Topology::Grid,
            "line" => Topology::Line,
            "ring" => Topology::Ring,
            "tree2" => Topology::Tree(2),
            "tree3" => Topology::Tree(3),
            "tree4" => Topology::Tree(4),
            "total" => Topology::Total,
            "none" => Topology::None,
            _ => return None,
        })
    }

    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Topology::Grid => "grid".into(),
            Topology::Line => "line".into(),
            Topology::Ring => "ring".into(),
            Topology::Tree(k) => format!("tree{k}"),
            Topology::Total => "total".into(),
            Topology::None => "none".into(),
        }
    }

    /// Each node's neighbours, by index, for `n` nodes.
    #[must_use]
    pub fn neighbours(&self, n: usize) -> Vec<Vec<usize>> {
        (0..n)
            .map(|i| match *self {
                Topology::Grid => grid_neighbours(i, n),
                Topology::Line => [i.checked_sub(1), Some(i + 1).filter(|&j| j < n)].into_iter().flatten().collect(),
                Topology::Ring if n <= 1 => Vec::new(),
                Topology::Ring if n == 2 => vec![1 - i],
                Topology::Ring => vec![(i + n - 1) % n, (i + 1) % n],
                Topology::Tree(k) => {
                    let k = k.max(1);
                    let parent = i.checked_sub(1).map(|j| j / k);
                    parent.into_iter().chain((k * i + 1..=k * i + k).filter(|&c| c < n)).collect()
                }
                Topology::Total => (0..n).filter(|&j| j != i).collect(),
                Topology::None => Vec::new(),
            })
            .collect()
    }

    /// The `topology` field of the request: node id -> neighbour ids.
    #[must_use]
    pub fn map(&self, node_ids: &[String]) -> BTreeMap<String, Vec<String>> {
        self.neighbours(node_ids.len())
            .into_iter()
            .enumerate()
            .map(|(i, near)| (node_ids[i].clone(), near.into_iter().map(|j| node_ids[j].clone()).collect()))
            .collect()
    }
}

/// Maelstrom's grid: nodes row by row in a square of side ⌈√n⌉; neighbours below, above, right, left.
fn grid_neighbours(index: usize, n: usize) -> Vec<usize> {
    let side = (1..).find(|s: &usize| s * s >= n).unwrap_or(1);
    let (row, col) = (index / side, index % side);
    let at = |r: Option<usize>, c: Option<usize>| {
        let (r, c) = (r?, c?);
        (c < side).then_some(r * side + c).filter(|&j| j < n)
    };
    [
        at(Some(row + 1), Some(col)),
        at(row.checked_sub(1), Some(col)),
        at(Some(row), Some(col + 1)),
        at(Some(row), col.checked_sub(1)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("n{i}")).collect()
    }

    fn symmetric(neighbours: &[Vec<usize>]) -> bool {
        neighbours.iter().enumerate().all(|(i, near)| near.iter().all(|&j| neighbours[j].contains(&i)))
    }

    #[test]
    fn the_grid_matches_maelstrom_for_five_nodes() {
        // n0 n1 n2 / n3 n4, as Maelstrom's docs draw it.
        let map = Topology::Grid.map(&ids(5));
        assert_eq!(map["n0"], ["n3", "n1"]);
        assert_eq!(map["n1"], ["n4", "n2", "n0"]);
        assert_eq!(map["n2"], ["n1"]);
        assert_eq!(map["n3"], ["n0", "n4"]);
        assert_eq!(map["n4"], ["n1", "n3"]);
    }

    #[test]
    fn every_topology_is_symmetric_and_names_round_trip() {
        for name in TOPOLOGY_NAMES {
            let topology = Topology::from_name(name).expect("known");
            assert_eq!(topology.name(), *name);
            for n in [1, 2, 3, 7, 25] {
                let neighbours = topology.neighbours(n);
                assert_eq!(neighbours.len(), n);
                assert!(symmetric(&neighbours), "{name} with {n} nodes");
                assert!(neighbours.iter().enumerate().all(|(i, near)| !near.contains(&i)), "{name}: no self loops");
            }
        }
        assert_eq!(Topology::from_name("star"), None);
    }

    #[test]
    fn shapes_have_their_degrees() {
        assert_eq!(Topology::Line.neighbours(3), vec![vec![1], vec![0, 2], vec![1]]);
        assert_eq!(Topology::Ring.neighbours(4)[0], vec![3, 1]);
        assert_eq!(Topology::Tree(2).neighbours(5), vec![vec![1, 2], vec![0, 3, 4], vec![0], vec![1], vec![1]]);
        assert!(Topology::Total.neighbours(25).iter().all(|near| near.len() == 24));
        assert!(Topology::Grid.neighbours(25).iter().all(|near| (2..=4).contains(&near.len())));
        assert!(Topology::None.neighbours(3).iter().all(Vec::is_empty));
    }
}
