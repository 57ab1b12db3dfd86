//! Graph checks with petgraph: which nodes `start` reaches, and cycles made only of
//! instant nodes (nodes that never wait), in which a call would spin.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

pub(super) struct Analysis {
    /// Nodes no path from `start` reaches (empty when there is no start).
    pub unreachable: Vec<usize>,
    /// Each instant cycle, as node indices in document order.
    pub instant_cycles: Vec<Vec<usize>>,
}

pub(super) fn analyse(
    node_count: usize,
    edges: &[(usize, usize)],
    start: Option<usize>,
    instant: &[bool],
) -> Analysis {
    let mut graph = DiGraph::<(), ()>::with_capacity(node_count, edges.len());
    for _ in 0..node_count {
        graph.add_node(());
    }
    for &(from, to) in edges {
        graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), ());
    }

    let mut unreachable = Vec::new();
    if let Some(start) = start {
        let mut reached = vec![false; node_count];
        let mut dfs = Dfs::new(&graph, NodeIndex::new(start));
        while let Some(node) = dfs.next(&graph) {
            reached[node.index()] = true;
        }
        unreachable = (0..node_count).filter(|&i| !reached[i]).collect();
    }

    // Only edges between two instant nodes can form a spinning cycle.
    let instant_graph = graph.filter_map(
        |_, _| Some(()),
        |edge, _| {
            let (from, to) = graph.edge_endpoints(edge)?;
            (instant[from.index()] && instant[to.index()]).then_some(())
        },
    );
    let mut instant_cycles = Vec::new();
    for component in tarjan_scc(&instant_graph) {
        let is_cycle = component.len() > 1
            || component
                .first()
                .is_some_and(|&node| instant_graph.contains_edge(node, node));
        if is_cycle {
            let mut members: Vec<usize> = component.iter().map(|node| node.index()).collect();
            members.sort_unstable();
            instant_cycles.push(members);
        }
    }
    instant_cycles.sort();
    Analysis {
        unreachable,
        instant_cycles,
    }
}
