//! Synthetic sites of any size, as topology TOML: for benchmarks, scale tests and
//! `winter-river topology generate --racks N`. Deterministic: the same rack count
//! always gives the same text.
//!
//! The site is 2N throughout. Two utility services (`util_a`, `util_b`) feed blocks of
//! [`RACKS_PER_BLOCK`] racks; each block has, per side, a transformer, a standby
//! generator, switchgear (ATS: transformer preferred, generator alternate) and a
//! distribution board. Each group of [`RACKS_PER_UPS`] racks has an A and a B UPS and
//! one cooling unit dual-fed from its block's distribution boards; each group of
//! [`RACKS_PER_PDU`] racks an A and a B PDU. Every rack is a dual-corded server on its
//! group's A and B PDUs. With `B = ⌈R/300⌉`, `U = ⌈R/100⌉`, `P = ⌈R/20⌉` the node count is
//!
//! ```text
//! nodes = 2 + 8·B + 3·U + 2·P + R        (≈ 1.157·R + 2 for large R)
//! ```
//!
//! so 1 rack → 16 nodes, 10 → 25, 1,000 → 1,164, 86,445 → 100,000.
//!
//! With rooms ([`synthetic_site_with_rooms_toml`]), each UPS group is a data hall:
//! a `room` (`hall_NNNN`: 2,000 m³ of air, 25,000 kJ/K of racks, UA 50 kW/K, class
//! A2) holding its racks, its PDUs and its cooling unit (capacity 1.2 × its 500 kW:
//! the default). That adds `U` nodes: 1 rack → 17, 1,000 → 1,174, 85,706 → 100,000.
//!
//! Sizing, per side, for 5 kW racks (each side carries its whole share alone):
//! a PDU serves 20 racks = 100 kW (150 kVA rating); a UPS 5 PDUs ≈ 517 kW
//! (750 kW rating, 125 kWh: ≈ 10 min at full rating); a block 3 UPS plus 3 cooling
//! units ≈ 2.3 MW with one side lost (3,000 kVA transformer, 2,500 kW generator,
//! 4,000 A breakers). Cooling totals 0.30 kW per kW of IT plus 5 kW a unit, for a site
//! PUE of about 1.4.

use std::fmt::Write;

/// Racks on one A/B pair of PDUs.
pub const RACKS_PER_PDU: usize = 20;
/// Racks on one A/B pair of UPSes (and one cooling unit).
pub const RACKS_PER_UPS: usize = 100;
/// Racks behind one pair of transformers, generators and switchgear.
pub const RACKS_PER_BLOCK: usize = 300;
/// Demand of one rack \[kW\].
pub const RACK_DEMAND_KW: f64 = 5.0;
/// Cooling of the whole site per kW of IT load [kW/kW], shared among the cooling units.
pub const COOLING_PER_IT_KW: f64 = 0.30;

/// Node count of [`synthetic_site_toml`]`(racks)`: `2 + 8·B + 3·U + 2·P + R`.
pub fn synthetic_node_count(racks: usize) -> usize {
    let r = racks.max(1);
    2 + 8 * r.div_ceil(RACKS_PER_BLOCK)
        + 3 * r.div_ceil(RACKS_PER_UPS)
        + 2 * r.div_ceil(RACKS_PER_PDU)
        + r
}

/// Node count of [`synthetic_site_with_rooms_toml`]`(racks)`: one room more per
/// UPS group.
pub fn synthetic_node_count_with_rooms(racks: usize) -> usize {
    synthetic_node_count(racks) + racks.max(1).div_ceil(RACKS_PER_UPS)
}

/// The smallest rack count whose synthetic site has at least `nodes` nodes (at least
/// one rack).
pub fn synthetic_racks_for_nodes(nodes: usize) -> usize {
    racks_for(nodes, synthetic_node_count)
}

/// [`synthetic_racks_for_nodes`] for the site with rooms.
pub fn synthetic_racks_for_nodes_with_rooms(nodes: usize) -> usize {
    racks_for(nodes, synthetic_node_count_with_rooms)
}

fn racks_for(nodes: usize, count: fn(usize) -> usize) -> usize {
    // The count grows monotonically with racks: bisect.
    let (mut lo, mut hi) = (1usize, nodes.max(1));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if count(mid) >= nodes {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// A synthetic 2N site of `racks` racks (0 is taken as 1) as topology TOML. See the
/// module docs for its shape, sizing and node count.
pub fn synthetic_site_toml(racks: usize) -> String {
    site_toml(racks, false)
}

/// [`synthetic_site_toml`] with a room per UPS group (see the module docs).
pub fn synthetic_site_with_rooms_toml(racks: usize) -> String {
    site_toml(racks, true)
}

fn site_toml(racks: usize, rooms: bool) -> String {
    let racks = racks.max(1);
    let count = if rooms {
        synthetic_node_count_with_rooms(racks)
    } else {
        synthetic_node_count(racks)
    };
    let room_of_ups = |ups: usize| {
        if rooms {
            format!("room = \"hall_{ups:04}\"\n")
        } else {
            String::new()
        }
    };
    let ups_groups = racks.div_ceil(RACKS_PER_UPS);
    let per_it_kw = COOLING_PER_IT_KW / ups_groups as f64;
    let mut out = String::with_capacity(count * 100 + 1024);
    let o = &mut out;

    line(
        o,
        format_args!(
            "# Synthetic 2N site of {racks} rack(s), {} nodes: winter-river topology generate --racks {racks}\n\
             # Blocks of {RACKS_PER_BLOCK} racks (transformer + generator + ATS + distribution a side),\n\
             # an A/B UPS pair and a cooling unit per {RACKS_PER_UPS} racks, an A/B PDU pair per {RACKS_PER_PDU} racks,\n\
             # dual-corded {RACK_DEMAND_KW} kW racks.\n\
             \n[site]\nname = \"synthetic-{racks}{}\"\n",
            count,
            if rooms { "-rooms" } else { "" }
        ),
    );
    for side in ["a", "b"] {
        line(
            o,
            format_args!(
                "\n[[node]]\nid = \"util_{side}\"\nkind = \"utility\"\nvoltage = 13800.0\n"
            ),
        );
    }

    for block in 1..=racks.div_ceil(RACKS_PER_BLOCK) {
        for side in ["a", "b"] {
            line(
                o,
                format_args!(
                    "\n[[node]]\nid = \"trf_{block:03}_{side}\"\nkind = \"transformer\"\nfeeds = [\"util_{side}\"]\n\
                     voltage_out = 480.0\nrating_kva = 3000.0\nefficiency = 0.99\nno_load_loss_kw = 4.0\n\
                     \n[[node]]\nid = \"gen_{block:03}_{side}\"\nkind = \"generator\"\nvoltage = 480.0\nrating_kw = 2500.0\n\
                     fuel_l = 10000.0\nfuel_l_per_h_idle = 60.0\nfuel_l_per_h_full = 640.0\n\
                     \n[[node]]\nid = \"sw_{block:03}_{side}\"\nkind = \"switchgear\"\n\
                     feeds = [\"trf_{block:03}_{side}\", \"gen_{block:03}_{side}\"]\nbreaker_a = 4000.0\n\
                     \n[[node]]\nid = \"dist_{block:03}_{side}\"\nkind = \"distribution\"\nfeeds = [\"sw_{block:03}_{side}\"]\n\
                     breaker_a = 4000.0\n"
                ),
            );
        }
    }

    for ups in 1..=ups_groups {
        let block = (ups - 1) * RACKS_PER_UPS / RACKS_PER_BLOCK + 1;
        for side in ["a", "b"] {
            line(
                o,
                format_args!(
                    "\n[[node]]\nid = \"ups_{ups:04}_{side}\"\nkind = \"ups\"\nfeeds = [\"dist_{block:03}_{side}\"]\n\
                     rating_kw = 750.0\nno_load_loss_kw = 3.0\nbattery_kwh = 125.0\nbreaker_a = 1200.0\n"
                ),
            );
        }
        if rooms {
            line(
                o,
                format_args!(
                    "\n[[node]]\nid = \"hall_{ups:04}\"\nkind = \"room\"\nair_m3 = 2000.0\n\
                     solid_kj_per_k = 25000.0\nua_kw_per_k = 50.0\nclass = \"A2\"\n"
                ),
            );
        }
        line(
            o,
            format_args!(
                "\n[[node]]\nid = \"cool_{ups:04}\"\nkind = \"cooling\"\n\
                 feeds = [\"dist_{block:03}_a\", \"dist_{block:03}_b\"]\ndemand_kw = 5.0\nper_it_kw = {per_it_kw:?}\n{}",
                room_of_ups(ups)
            ),
        );
    }

    for pdu in 1..=racks.div_ceil(RACKS_PER_PDU) {
        let ups = (pdu - 1) * RACKS_PER_PDU / RACKS_PER_UPS + 1;
        for side in ["a", "b"] {
            line(
                o,
                format_args!(
                    "\n[[node]]\nid = \"pdu_{pdu:05}_{side}\"\nkind = \"pdu\"\nfeeds = [\"ups_{ups:04}_{side}\"]\n\
                     rating_kva = 150.0\nno_load_loss_kw = 0.3\nbreaker_a = 250.0\n{}",
                    room_of_ups(ups)
                ),
            );
        }
    }

    for rack in 1..=racks {
        let pdu = (rack - 1) / RACKS_PER_PDU + 1;
        let ups = (rack - 1) / RACKS_PER_UPS + 1;
        line(
            o,
            format_args!(
                "\n[[node]]\nid = \"srv_{rack:06}\"\nkind = \"server\"\nfeeds = [\"pdu_{pdu:05}_a\", \"pdu_{pdu:05}_b\"]\n\
                 demand_kw = {RACK_DEMAND_KW:?}\n{}",
                room_of_ups(ups)
            ),
        );
    }
    out
}

/// Appends formatted text; writing to a `String` cannot fail.
fn line(out: &mut String, args: std::fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}
