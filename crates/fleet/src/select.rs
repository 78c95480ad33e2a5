//! `--nodes all|none|id,id,…`: which boards are virtual, so real boards can take
//! the others.

use std::str::FromStr;

use winter_river_protocol::NodeKind;
use winter_river_sim::Topology;

/// Which nodes get a virtual board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodesSpec {
    All,
    None,
    Only(Vec<String>),
}

/// A `--nodes` value that names nodes the topology does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("--nodes names unknown node(s): {}", .0.join(", "))]
    UnknownNodes(Vec<String>),
    #[error("--nodes is empty: use `all`, `none` or a comma-separated list of node ids")]
    Empty,
}

impl FromStr for NodesSpec {
    type Err = SelectError;

    fn from_str(s: &str) -> Result<NodesSpec, SelectError> {
        match s.trim() {
            "all" => Ok(NodesSpec::All),
            "none" => Ok(NodesSpec::None),
            list => {
                let ids: Vec<String> = list
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                // `--nodes " , "` names nothing: an error, not a silent empty fleet.
                if ids.is_empty() {
                    Err(SelectError::Empty)
                } else {
                    Ok(NodesSpec::Only(ids))
                }
            }
        }
    }
}

/// The (id, kind) of every node the spec makes virtual, in topology order.
pub fn select_boards(
    topology: &Topology,
    spec: &NodesSpec,
) -> Result<Vec<(String, NodeKind)>, SelectError> {
    let all = topology.nodes.iter().map(|n| (n.id.clone(), n.kind()));
    match spec {
        NodesSpec::All => Ok(all.collect()),
        NodesSpec::None => Ok(Vec::new()),
        NodesSpec::Only(ids) => {
            let unknown: Vec<String> = ids
                .iter()
                .filter(|id| topology.node_index(id).is_none())
                .cloned()
                .collect();
            if !unknown.is_empty() {
                return Err(SelectError::UnknownNodes(unknown));
            }
            Ok(all.filter(|(id, _)| ids.contains(id)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn selects_all_none_and_lists() {
        let t = Topology::builtin_default();
        assert_eq!(select_boards(&t, &"all".parse().unwrap()).unwrap().len(), 8);
        assert!(
            select_boards(&t, &"none".parse().unwrap())
                .unwrap()
                .is_empty()
        );
        let some = select_boards(&t, &"srv_a, ups_a".parse().unwrap()).unwrap();
        assert_eq!(
            some,
            vec![
                ("ups_a".to_string(), NodeKind::Ups),
                ("srv_a".to_string(), NodeKind::Server)
            ]
        );
        assert_eq!(
            select_boards(&t, &"srv_a,nope".parse().unwrap()),
            Err(SelectError::UnknownNodes(vec!["nope".into()]))
        );
        assert_eq!("".parse::<NodesSpec>(), Err(SelectError::Empty));
        assert_eq!(" , ,".parse::<NodesSpec>(), Err(SelectError::Empty));
    }
}
