//! The heat coupling between the power chain and the rooms (docs/physics.md,
//! "Rooms and cooling"): which nodes heat which room, which cooling units cool it,
//! which servers breathe its air. Once a step, over the step just ended, it sums
//! each room's heat (served power of its loads, losses of its conversion nodes)
//! and the capacity of its running cooling units, steps the room
//! (`crate::kinds::room`), shares the heat removed among the units, and sets each
//! server's inlet — stopping a running server whose inlet reached its
//! `shutdown_c`. A site without rooms has nothing here and pays nothing.

use winter_river_protocol::{Event, Measurements, NodeKind, Role};

use crate::kinds::{KindParams, Model};
use crate::topology::{NodeSpec, Topology};

/// Default capacity of a cooling unit: this × the IT demand of its room.
pub const DEFAULT_CAPACITY_PER_IT_KW: f64 = 1.2;

/// No slot: the node is not a cooling unit or a server in a room.
const NONE: u32 = u32::MAX;

/// A node whose heat goes into a room.
#[derive(Debug, Clone, Copy)]
struct Heater {
    node: u32,
    /// Index into `rooms`.
    room: u32,
    /// Its losses (input − output − battery charging) heat the room, not the
    /// power it serves: a conversion node.
    losses: bool,
}

/// A cooling unit of a room.
#[derive(Debug, Clone, Copy)]
struct Cooler {
    node: u32,
    room: u32,
    capacity_kw: f64,
}

/// A server in a room.
#[derive(Debug, Clone, Copy)]
struct Inlet {
    node: u32,
    room: u32,
    offset_c: f64,
    shutdown_c: f64,
}

/// A room's heat since t = 0 \[kJ\]: `stored_kj` = `in_kj` − `removed_kj` up to
/// rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatBalance {
    /// The room's node index.
    pub room: usize,
    /// In its air and solid mass: `C_a ΔT_a + C_s ΔT_s`.
    pub stored_kj: f64,
    /// From the loads and losses that name it.
    pub in_kj: f64,
    /// By its cooling.
    pub removed_kj: f64,
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Thermal {
    /// Room node indices.
    rooms: Vec<usize>,
    heaters: Vec<Heater>,
    coolers: Vec<Cooler>,
    inlets: Vec<Inlet>,
    /// Per node: its index in `coolers` or `inlets`; empty without rooms.
    slot: Vec<u32>,
    /// Per room, scratch: heat in and cooling capacity over the step \[kW\], and
    /// the share of that capacity the cooling used.
    heat_kw: Vec<f64>,
    capacity_kw: Vec<f64>,
    used_share: Vec<f64>,
    /// Per room: its air at the latest step \[°C\].
    air_c: Vec<f64>,
    /// Per cooler: heat it removed over the latest step \[kW\].
    cool_kw: Vec<f64>,
    /// Per inlet: the server's inlet at the latest step \[°C\].
    inlet_c: Vec<f64>,
}

/// What the thermal pass reads and writes of the simulator.
pub(crate) struct Pass<'a> {
    pub topology: &'a Topology,
    pub models: &'a mut [Model],
    pub live: &'a [bool],
    pub in_kw: &'a [f64],
    pub out_kw: &'a [f64],
    pub shutdown: &'a mut [bool],
    pub events: &'a mut Vec<Event>,
    /// Length of the step just ended \[s\] and the time at its end.
    pub dt_s: f64,
    pub t_end: f64,
}

impl Thermal {
    pub fn new(topology: &Topology, models: &[Model]) -> Thermal {
        let rooms: Vec<usize> = (0..topology.len())
            .filter(|&i| topology.node(i).kind() == NodeKind::Room)
            .collect();
        if rooms.is_empty() {
            return Thermal::default();
        }
        // Room node index → its index in `rooms`.
        let mut room_slots = vec![0u32; topology.len()];
        for (k, &r) in rooms.iter().enumerate() {
            room_slots[r] = k as u32;
        }
        let mut t = Thermal {
            slot: vec![NONE; topology.len()],
            heat_kw: vec![0.0; rooms.len()],
            capacity_kw: vec![0.0; rooms.len()],
            used_share: vec![0.0; rooms.len()],
            air_c: vec![0.0; rooms.len()],
            ..Thermal::default()
        };
        for (i, node) in topology.nodes.iter().enumerate() {
            let Some(r) = node.room else { continue };
            let room = room_slots[r];
            let node_u32 = i as u32;
            match &node.params {
                KindParams::Cooling(p) => {
                    t.slot[i] = t.coolers.len() as u32;
                    t.coolers.push(Cooler {
                        node: node_u32,
                        room,
                        capacity_kw: p.capacity_kw,
                    });
                    continue;
                }
                KindParams::Server(p) => {
                    t.slot[i] = t.inlets.len() as u32;
                    t.inlets.push(Inlet {
                        node: node_u32,
                        room,
                        offset_c: p.inlet_offset_c,
                        shutdown_c: p.shutdown_c,
                    });
                }
                _ => {}
            }
            // A load heats its room with the power it is served, a conversion node
            // with its losses; sources, switches and pass-through nodes lose nothing.
            let losses = match node.kind().spec().role {
                Role::Load => Some(false),
                Role::Conversion => Some(true),
                _ => None,
            };
            if let Some(losses) = losses {
                t.heaters.push(Heater {
                    node: node_u32,
                    room,
                    losses,
                });
            }
        }
        t.cool_kw = vec![0.0; t.coolers.len()];
        t.inlet_c = vec![0.0; t.inlets.len()];
        t.rooms = rooms;
        t.set_inlets(models);
        t
    }

    /// Whether the site has rooms.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    fn room(models: &[Model], i: usize) -> Option<&crate::kinds::room::Room> {
        match &models[i] {
            Model::Room(room) => Some(room),
            _ => None,
        }
    }

    /// Each server's inlet from its room's air.
    fn set_inlets(&mut self, models: &[Model]) {
        for (r, &i) in self.rooms.iter().enumerate() {
            if let Some(room) = Thermal::room(models, i) {
                self.air_c[r] = room.air_c;
            }
        }
        for (k, inlet) in self.inlets.iter().enumerate() {
            self.inlet_c[k] = self.air_c[inlet.room as usize] + inlet.offset_c;
        }
    }

    /// After a restore: the inlets from the restored rooms.
    pub fn refresh(&mut self, models: &[Model]) {
        self.set_inlets(models);
    }

    /// Integrates every room over the step just ended (see the module docs).
    pub fn integrate(&mut self, pass: &mut Pass<'_>) {
        if self.is_empty() {
            return;
        }
        self.heat_kw.fill(0.0);
        self.capacity_kw.fill(0.0);
        for h in &self.heaters {
            let i = h.node as usize;
            let kw = if h.losses {
                let (draw, charge) = pass.models[i].battery_kw();
                pass.in_kw[i] + draw - pass.out_kw[i] - charge
            } else {
                pass.in_kw[i]
            };
            self.heat_kw[h.room as usize] += kw;
        }
        for c in &self.coolers {
            let i = c.node as usize;
            if pass.live[i] && pass.models[i].removes_heat() {
                self.capacity_kw[c.room as usize] += c.capacity_kw;
            }
        }
        for (r, &i) in self.rooms.iter().enumerate() {
            let Model::Room(room) = &mut pass.models[i] else {
                continue;
            };
            let cool_kw = room.step(self.heat_kw[r], self.capacity_kw[r], pass.dt_s);
            self.air_c[r] = room.air_c;
            let id = &pass.topology.node(i).id;
            if let Some((event, severity, message)) = room.band_event(id) {
                pass.events
                    .push(Event::new(pass.t_end, id, event, severity, message));
            }
            self.used_share[r] = if self.capacity_kw[r] > 0.0 {
                cool_kw / self.capacity_kw[r]
            } else {
                0.0
            };
        }
        for (k, c) in self.coolers.iter().enumerate() {
            let n = c.node as usize;
            let running = pass.live[n] && pass.models[n].removes_heat();
            self.cool_kw[k] = if running {
                self.used_share[c.room as usize] * c.capacity_kw
            } else {
                0.0
            };
        }
        // Each server's inlet; a running one at its shutdown_c stops itself.
        for (k, inlet) in self.inlets.iter().enumerate() {
            let inlet_c = self.air_c[inlet.room as usize] + inlet.offset_c;
            self.inlet_c[k] = inlet_c;
            let i = inlet.node as usize;
            if inlet_c >= inlet.shutdown_c && pass.live[i] && !pass.shutdown[i] {
                pass.shutdown[i] = true;
            }
        }
    }

    /// The highest server inlet \[°C\]; `None` without a server in a room.
    pub fn max_inlet_c(&self) -> Option<f64> {
        self.inlet_c.iter().copied().reduce(f64::max)
    }

    /// Server `i`'s inlet and shutdown temperature \[°C\], if it is in a room.
    fn inlet(&self, i: usize) -> Option<(f64, &Inlet)> {
        let k = *self.slot.get(i)?;
        let inlet = self
            .inlets
            .get(k as usize)
            .filter(|x| x.node as usize == i)?;
        Some((self.inlet_c[k as usize], inlet))
    }

    /// Node `i`'s thermal Status fields: a server's `inlet_c`, a cooling unit's
    /// `cooling_kw` (in a room only).
    pub fn measure(&self, i: usize, m: &mut Measurements) {
        let Some(&k) = self.slot.get(i) else { return };
        if k == NONE {
            return;
        }
        if let Some((inlet_c, _)) = self.inlet(i) {
            m.inlet_c = Some(inlet_c);
        } else if let Some(c) = self.coolers.get(k as usize)
            && c.node as usize == i
        {
            m.cooling_kw = Some(self.cool_kw[k as usize]);
        }
    }

    /// The message of server `i`'s thermal shutdown.
    pub fn shutdown_message(&self, i: usize, id: &str) -> String {
        match self.inlet(i) {
            Some((inlet_c, inlet)) => format!(
                "{id} shut itself down: inlet {inlet_c:.1} °C reached its shutdown_c {:.0} °C",
                inlet.shutdown_c
            ),
            None => format!("{id} shut itself down"),
        }
    }

    /// Whether server `i`, stopped by its thermal protection, may restart: `Ok`
    /// with what `reset` says, or why not (its inlet is still too hot).
    pub fn restart(&self, i: usize, id: &str) -> Result<String, String> {
        match self.inlet(i) {
            Some((inlet_c, inlet)) if inlet_c >= inlet.shutdown_c => Err(format!(
                "{id}'s inlet is {inlet_c:.1} °C, at or above its shutdown_c {:.0} °C: restore the cooling of its room and wait for the air to cool before restarting it",
                inlet.shutdown_c
            )),
            Some((inlet_c, inlet)) => Ok(format!(
                "{id} restarted (inlet {inlet_c:.1} °C, below its shutdown_c {:.0} °C)",
                inlet.shutdown_c
            )),
            None => Ok(format!("{id} restarted")),
        }
    }

    /// Each room's heat balance since t = 0.
    pub fn heat_balance(&self, models: &[Model]) -> Vec<HeatBalance> {
        self.rooms
            .iter()
            .filter_map(|&i| {
                let room = Thermal::room(models, i)?;
                Some(HeatBalance {
                    room: i,
                    stored_kj: room.stored_kj(),
                    in_kj: room.heat_in_kj,
                    removed_kj: room.heat_removed_kj,
                })
            })
            .collect()
    }
}

/// Fills in the capacity of every cooling unit the file gave none: 1.2 × the IT
/// demand of its room (0 for a unit in no room).
pub(crate) fn resolve_capacities(nodes: &mut [NodeSpec]) {
    let mut it_kw = vec![0.0; nodes.len()];
    for node in nodes.iter() {
        if let (Some(r), Some(kw)) = (node.room, node.params.it_demand_kw()) {
            it_kw[r] += kw;
        }
    }
    for node in nodes.iter_mut() {
        let room = node.room;
        if let KindParams::Cooling(p) = &mut node.params
            && p.capacity_kw.is_nan()
        {
            p.capacity_kw = room.map_or(0.0, |r| DEFAULT_CAPACITY_PER_IT_KW * it_kw[r]);
        }
    }
}
