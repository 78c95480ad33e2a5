//! Scenario files (DESIGN §6): model, parser and runner.
