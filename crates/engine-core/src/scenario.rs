//! Scenarios run through the engine core: each `[[event]]` and each procedure
//! `[[step]]` goes in as the MQTT command a board or an operator would publish on
//! `<p>/<id>/command`, marked as sent by the `scenario` channel, and each step
//! is a tick, so a scenario exercises the path live commands take (decoding,
//! validation, counting) and the engine's own publishing, not only the simulator.

use winter_river_protocol::{Channel, Command, SYSTEM_ID, Topic, encode_command_via};
use winter_river_sim::Simulator;
use winter_river_sim::scenario::{self, Plant, RunOptions, RunReport, Scenario, ScenarioError};

use crate::core::{EngineConfig, EngineCore};

/// The engine core as a scenario's [`Plant`], at speed 1 (simulated time = its clock).
#[derive(Debug)]
pub struct EnginePlant {
    core: EngineCore,
    now_ms: u64,
    published: u64,
}

impl EnginePlant {
    /// An engine for the scenario's topology and step, not yet stepped.
    pub fn new(scenario: &Scenario) -> Result<EnginePlant, ScenarioError> {
        let config = EngineConfig {
            step_ms: scenario.step_ms,
            speed: 1.0,
            ..EngineConfig::default()
        };
        let core = EngineCore::unstarted(scenario.topology.clone(), config).map_err(|e| {
            ScenarioError {
                file: scenario.file.clone(),
                line: None,
                key: None,
                reason: format!("the engine cannot encode this topology: {e}"),
            }
        })?;
        Ok(EnginePlant {
            core,
            now_ms: 0,
            published: 0,
        })
    }

    pub fn core(&self) -> &EngineCore {
        &self.core
    }

    /// Messages the engine published so far (to no broker).
    pub fn published(&self) -> u64 {
        self.published
    }
}

impl Plant for EnginePlant {
    fn simulator(&self) -> &Simulator {
        self.core.sim()
    }

    fn command(&mut self, node_id: &str, command: &Command) -> Result<(), String> {
        let payload = encode_command_via(command, Channel::Scenario)
            .map_err(|e| format!("cannot encode the command: {e}"))?;
        let topic = if node_id == SYSTEM_ID {
            Topic::SystemCommand
        } else {
            Topic::NodeCommand(node_id.to_string())
        };
        let topic = topic.to_topic(&self.core.config().prefix);
        let rejected_before = self.core.counters().rejected_total();
        self.core.handle_message(self.now_ms, &topic, &payload);
        if self.core.counters().rejected_total() > rejected_before {
            let (reason, detail) = self.core.last_rejection().unwrap_or(("rejected", ""));
            return Err(format!(
                "the engine dropped it on {topic} ({reason}): {detail}"
            ));
        }
        Ok(())
    }

    fn step(&mut self) {
        // The tick at the next step's time computes exactly that step: step times are
        // whole milliseconds (step_index · step_ms / 1000).
        self.now_ms = (self.core.sim().next_time_s() * 1000.0).round() as u64;
        self.core.handle_tick(self.now_ms);
        while self.core.poll_outgoing().is_some() {
            self.published += 1;
        }
    }
}

/// Runs a scenario to its end (with `check_only`, until its procedure ends) through
/// the engine core. Fails if the engine drops one of its commands (the error names
/// the `[[event]]` or `[[step]]` and the engine's reason).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, ScenarioError> {
    let mut plant = EnginePlant::new(scenario)?;
    scenario::run_on(&mut plant, scenario, options)
}
