//! The simulator: a topology, its dynamic state and the solver, stepped in fixed
//! steps (DESIGN §5). Commands in, statuses, the system status and events out.

use winter_river_protocol::{Command, Event, Status, SystemStatus};

use crate::field::{FieldValue, Target, node_field, system_field};
use crate::topology::Topology;

/// A command the simulator refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("unknown node `{0}`")]
    UnknownNode(String),
    #[error("`{command}` does not apply to `{node}` ({kind}): {reason}")]
    NotApplicable {
        command: &'static str,
        node: String,
        kind: &'static str,
        reason: &'static str,
    },
    #[error("set_load: {0} kW is not a valid demand (must be finite and >= 0)")]
    BadLoad(f64),
}

/// The whole simulated site.
#[derive(Debug)]
pub struct Simulator {
    topology: Topology,
    step_ms: u32,
}

impl Simulator {
    /// A simulator at t = 0, before its first step. `step_ms` must be > 0 (a zero
    /// step is taken as 1 ms).
    pub fn new(topology: Topology, step_ms: u32) -> Simulator {
        Simulator {
            topology,
            step_ms: step_ms.max(1),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Step length [ms].
    pub fn step_ms(&self) -> u32 {
        self.step_ms
    }

    /// Time of the latest computed step [s] (0 before the first).
    pub fn time_s(&self) -> f64 {
        todo!()
    }

    /// Time the next [`Simulator::step`] computes [s]: 0 for the first step.
    pub fn next_time_s(&self) -> f64 {
        todo!()
    }

    /// Queues a command for a node by id; it takes effect at the next step.
    pub fn command(&mut self, node_id: &str, cmd: &Command) -> Result<(), CommandError> {
        let _ = (node_id, cmd);
        todo!()
    }

    /// Computes the next step: the first call computes t = 0, later calls advance
    /// by `step_ms`.
    pub fn step(&mut self) {
        todo!()
    }

    /// Events raised by the latest step, in order.
    pub fn events(&self) -> &[Event] {
        todo!()
    }

    /// A node's status at the latest step (electrical fields only: no wifi_rssi,
    /// uptime or seq — those belong to boards).
    pub fn node_status(&self, idx: usize) -> Status {
        let _ = idx;
        todo!()
    }

    /// The site's status at the latest step.
    pub fn system_status(&self) -> SystemStatus {
        todo!()
    }

    /// A field by wire name, for expectations.
    pub fn field(&self, target: Target, name: &str) -> FieldValue {
        match target {
            Target::System => system_field(&self.system_status(), name),
            Target::Node(i) => node_field(&self.node_status(i), name),
        }
    }
}
