//! `generator`: a standby generator (docs/physics.md). `standby → starting →
//! running` once an ATS asks it to run, after `start_delay_s`; fuel burns linearly in
//! load between idle and full; out of fuel it stops; when no ATS needs it any more it
//! runs `cooldown_s` unloaded, then stands by. `reset` refuels it and clears the
//! out-of-fuel alarm.
//!
//! Its control switch (`gen_mode`, docs/operations.md): `auto` answers the ATS's
//! start and stop signals, including one already standing when it is switched back
//! (it starts at once); `off` stops it at once and ignores start signals — the
//! generator "left in OFF after maintenance"; `run` starts it by hand and keeps it
//! running, unloaded until a switch transfers to it, burning idle fuel. A faulted or
//! empty generator cannot be started.

use winter_river_protocol::{Command, EventKind, Measurements, Mode, NodeState, Severity};

use super::{
    Answer, CommandCx, Energize, Flow, Integrate, Kind, Live, NON_NEGATIVE, POSITIVE, Reliability,
    Said, Setup, Signal, StatusIn, View, already_in, params,
};
use crate::physics::{S_PER_H, generator_fuel_l_per_h};
use crate::simulator::TIME_EPS_S;
use crate::topology::{ParamReader, TopologyError, err_at};

params! {
    /// Parameters of a `generator` node.
    pub struct Params {
        /// Output voltage \[V\].
        voltage_v: "voltage" = 480.0, POSITIVE;
        /// Rating \[kW\].
        rating_kw: "rating_kw" = 1000.0, POSITIVE;
        /// From the start signal to running \[s\].
        start_delay_s: "start_delay_s" = 7.0, NON_NEGATIVE;
        /// Unloaded run after the stop signal \[s\].
        cooldown_s: "cooldown_s" = 60.0, NON_NEGATIVE;
        /// Fuel in a full tank \[L\].
        fuel_l: "fuel_l" = 2000.0, NON_NEGATIVE;
        /// Burn running unloaded \[L/h\].
        fuel_l_per_h_idle: "fuel_l_per_h_idle" = 10.0, NON_NEGATIVE;
        /// Burn at full rating \[L/h\].
        fuel_l_per_h_full: "fuel_l_per_h_full" = 100.0, NON_NEGATIVE;
    }
}

/// Engine state.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
enum Phase {
    Standby,
    Starting { ready_at_s: f64 },
    Running,
    Cooldown { until_s: f64 },
    OutOfFuel,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Generator {
    p: Params,
    phase: Phase,
    /// Fuel left \[L\].
    fuel_l: f64,
    /// Number of ATSs asking it to run (counted in every mode).
    run_requests: u32,
    /// Its control switch: auto, off or run.
    mode: Mode,
}

impl Generator {
    fn running(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Cooldown { .. })
    }
}

impl Kind for Generator {
    type Params = Params;
    const DYNAMIC: bool = true;
    // Standby diesel generator: ≈ 0.125 failures/yr, 18 h; 1 % fail to start.
    const RELIABILITY: Reliability = Reliability {
        mtbf_h: 70_000.0,
        mttr_h: 18.0,
        fail_to_start: Some(0.01),
    };

    fn check(p: &Params, r: &ParamReader) -> Result<(), TopologyError> {
        if p.fuel_l_per_h_full < p.fuel_l_per_h_idle {
            return Err(err_at(
                &r.loc_of("fuel_l_per_h_full"),
                "fuel_l_per_h_full",
                format!(
                    "{} L/h is below fuel_l_per_h_idle ({} L/h)",
                    p.fuel_l_per_h_full, p.fuel_l_per_h_idle
                ),
            ));
        }
        Ok(())
    }

    fn voltage_out_v(p: &Params) -> Option<f64> {
        Some(p.voltage_v)
    }

    fn new(p: &Params, _setup: &Setup<'_>) -> Generator {
        Generator {
            p: *p,
            phase: Phase::Standby,
            fuel_l: p.fuel_l,
            run_requests: 0,
            mode: Mode::Auto,
        }
    }

    fn energize(&mut self, cx: &mut Energize<'_>) -> Live {
        Live {
            input: false,
            output: cx.up && self.running(),
        }
    }

    fn flow(&mut self, cx: &mut Flow<'_>) -> f64 {
        let kw = cx.out_kw();
        cx.totals.generator_kw += kw;
        cx.totals.generator_carries |= cx.carries();
        kw
    }

    /// Its engine's state, whether or not its output is live.
    fn status(&self, s: &StatusIn) -> NodeState {
        match self.phase {
            Phase::OutOfFuel => NodeState::OutOfFuel,
            _ if self.mode == Mode::Off => NodeState::Off,
            Phase::Standby => NodeState::Standby,
            Phase::Starting { .. } => NodeState::Starting,
            Phase::Cooldown { .. } => NodeState::Cooldown,
            Phase::Running if s.out_kw > self.p.rating_kw || s.breaker_over => NodeState::Overload,
            Phase::Running => NodeState::Ok,
        }
    }

    fn transition(&self, old: NodeState, new: NodeState, id: &str) -> Option<Said> {
        use NodeState as S;
        Some(match (old, new) {
            (_, S::Starting) => (EventKind::Start, Severity::Info, format!("{id} starting")),
            (S::Starting, S::Ok) => (EventKind::Running, Severity::Info, format!("{id} running")),
            (_, S::Cooldown) => (
                EventKind::Cooldown,
                Severity::Info,
                format!("{id} cooling down"),
            ),
            (_, S::Standby) => (
                EventKind::Standby,
                Severity::Info,
                format!("{id} in standby"),
            ),
            (_, S::OutOfFuel) => (
                EventKind::OutOfFuel,
                Severity::Critical,
                format!("{id} out of fuel"),
            ),
            _ => return None,
        })
    }

    fn integrate(&mut self, cx: &mut Integrate<'_>) {
        if !self.running() || cx.faulted {
            return;
        }
        let rate = generator_fuel_l_per_h(
            cx.out_kw,
            self.p.rating_kw,
            self.p.fuel_l_per_h_idle,
            self.p.fuel_l_per_h_full,
        );
        self.fuel_l -= rate * (cx.dt_s / S_PER_H);
        if self.fuel_l <= 1e-12 {
            self.fuel_l = 0.0;
            self.phase = Phase::OutOfFuel;
        }
    }

    /// Moves the engine through its phases as its run requests, timers, fault and
    /// fuel say.
    fn advance(&mut self, t: f64, faulted: bool) {
        // A zero delay may pass through several phases in one step.
        for _ in 0..4 {
            let requested = match self.mode {
                Mode::Run => true,
                Mode::Off => false,
                _ => self.run_requests > 0,
            };
            let next = match self.phase {
                Phase::OutOfFuel => Phase::OutOfFuel,
                // Off stops the engine at once (no cool-down run).
                _ if faulted || self.mode == Mode::Off => Phase::Standby,
                _ if self.fuel_l <= 0.0 => Phase::OutOfFuel,
                Phase::Standby if requested => Phase::Starting {
                    ready_at_s: t + self.p.start_delay_s,
                },
                Phase::Standby => Phase::Standby,
                Phase::Starting { .. } if !requested => Phase::Standby,
                Phase::Starting { ready_at_s } if t + TIME_EPS_S >= ready_at_s => Phase::Running,
                p @ Phase::Starting { .. } => p,
                Phase::Running if !requested => Phase::Cooldown {
                    until_s: t + self.p.cooldown_s,
                },
                Phase::Running => Phase::Running,
                Phase::Cooldown { .. } if requested => Phase::Running,
                Phase::Cooldown { until_s } if t + TIME_EPS_S >= until_s => Phase::Standby,
                p @ Phase::Cooldown { .. } => p,
            };
            if next == self.phase {
                break;
            }
            self.phase = next;
        }
    }

    fn signal(&mut self, signal: Signal, t: f64, faulted: bool) {
        match signal {
            Signal::Start => self.run_requests += 1,
            Signal::Stop => self.run_requests = self.run_requests.saturating_sub(1),
        }
        self.advance(t, faulted);
    }

    fn command(&mut self, cmd: &Command, cx: &CommandCx<'_>) -> Answer {
        let mode = match *cmd {
            Command::Reset => {
                // A reset generator has been refuelled and its alarm cleared.
                self.fuel_l = self.p.fuel_l;
                if self.phase == Phase::OutOfFuel {
                    self.phase = Phase::Standby;
                }
                return Ok(None);
            }
            Command::GenMode { mode } => mode,
            _ => return Ok(None),
        };
        let id = cx.id();
        if mode == self.mode {
            return Err(already_in(id, mode));
        }
        if mode == Mode::Run {
            if cx.faulted {
                return Err(format!(
                    "{id} has a fault: a faulted generator cannot be started; restore it first"
                ));
            }
            if self.phase == Phase::OutOfFuel {
                return Err(format!("{id} is out of fuel: refuel it (reset) first"));
            }
        }
        self.mode = mode;
        let said = match mode {
            Mode::Off => (
                EventKind::Mode,
                Severity::Warning,
                if self.running() {
                    format!("{id} switched to OFF: stopped, and it will not start")
                } else {
                    format!("{id} switched to OFF: it will not start")
                },
            ),
            Mode::Run => (
                EventKind::Mode,
                Severity::Warning,
                format!("{id} switched to RUN: starting by hand"),
            ),
            _ if self.run_requests > 0 && !self.running() => (
                EventKind::Mode,
                Severity::Info,
                format!("{id} back in auto: starting on the standing start signal"),
            ),
            _ => (
                EventKind::Mode,
                Severity::Info,
                format!("{id} back in auto"),
            ),
        };
        Ok(Some((said, None)))
    }

    fn load_pct(&self, v: &View<'_>) -> Option<f64> {
        Some(v.out_kw / self.p.rating_kw * 100.0)
    }

    /// Its mode, and fuel left as a share of its tank \[%\] (0 with no tank).
    fn measure(&self, _v: &View<'_>, m: &mut Measurements) {
        m.mode = Some(self.mode);
        m.fuel_pct = Some(if self.p.fuel_l > 0.0 {
            self.fuel_l / self.p.fuel_l * 100.0
        } else {
            0.0
        });
    }
}
