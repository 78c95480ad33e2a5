//! Tests only (see `tests/deploy/`): the Raspberry Pi deployment files — Telegraf,
//! Grafana provisioning and dashboards, Mosquitto and setup scripts, systemd units —
//! checked against the `protocol` crate and against a real Mosquitto. Issue 5, item 5;
//! docs/deploy.md describes what they deploy.
