//! Checks of the Raspberry Pi deployment (issue 5, item 5): every configuration file
//! parses; Telegraf and the dashboards name only what the protocol publishes; the
//! panels' datasources are provisioned; the scripts pass `bash -n` and shellcheck; the
//! Mosquitto config works with a real broker over TCP and WebSocket; `setup_pi.sh
//! --dry-run` lists its steps and changes nothing. Tools they need (mosquitto,
//! shellcheck) are installed by scripts/test; a missing one fails the test.

mod fields;
mod files;
mod mosquitto;
mod scripts;
mod util;
