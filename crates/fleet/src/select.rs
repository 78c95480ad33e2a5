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

    #[test]
    fn a_room_gets_a_board_like_any_node() {
        // A room carries no power, but it is a node: its board shows its page.
        let src = include_str!("../../../topologies/hall.toml");
        let t = Topology::from_toml_str(src, "topologies/hall.toml").unwrap();
        let all = select_boards(&t, &NodesSpec::All).unwrap();
        assert_eq!(all.len(), t.len());
        assert!(all.contains(&("hall_1".to_string(), NodeKind::Room)));
        let only = select_boards(&t, &"hall_1,crah_1".parse().unwrap()).unwrap();
        assert_eq!(only.len(), 2);
        assert!(only.contains(&("hall_1".to_string(), NodeKind::Room)));
        assert!(only.contains(&("crah_1".to_string(), NodeKind::Cooling)));
    }
}
