//! Steps a synthetic site a given number of times and prints nothing but a checksum:
//! a driver for instruction counts (`valgrind --tool=callgrind`) on a machine too
//! noisy for wall-clock figures (docs/benchmarks.md). The difference between two run
//! lengths, divided by the extra steps, is the cost of a step: parsing and set-up
//! cancel out.
//!
//! `cargo run --release -p winter-river-sim --example steps -- RACKS STEPS [rooms]`

use winter_river_sim::topology::generate::{synthetic_site_toml, synthetic_site_with_rooms_toml};
use winter_river_sim::{Simulator, Topology};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |k: usize, default: usize| args.get(k).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (racks, steps) = (number(0, 1000), number(1, 10));
    let rooms = args.get(2).is_some_and(|a| a == "rooms");
    let text = if rooms {
        synthetic_site_with_rooms_toml(racks)
    } else {
        synthetic_site_toml(racks)
    };
    let topology = match Topology::from_toml_str(&text, "synthetic") {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut sim = Simulator::new(topology, 100);
    let mut events = 0;
    for _ in 0..steps {
        sim.step();
        events += sim.events().len();
    }
    println!(
        "{} nodes, {steps} steps, {events} events, {:.3} kW",
        sim.topology().len(),
        sim.it_kw()
    );
}
