//! MQTT client plumbing shared by the engine driver, the virtual fleet, the CLI and
//! the web: broker URLs (`mqtt://`, `ws://`, and over TLS `mqtts://`, `wss://` with
//! [`ClientTls`]), connection options, and [`Link`] — a
//! rumqttc client whose event loop is polled in its own task, so nothing ever
//! publishes from the task that polls (rumqttc's bounded request channel would
//! deadlock), and which reconnects by itself with the protocol's [`Backoff`], the
//! same algorithm as the firmware.

mod link;
mod tls;
mod url;

pub use link::{
    LOCAL_BACKOFF_BASE_MS, LOCAL_BACKOFF_CAP_MS, Link, LinkEvent, LinkOptions, PublishError, Will,
    client_seed, session_client_id,
};
pub use tls::ClientTls;
pub use url::{BrokerUrl, UrlError};
pub use winter_river_protocol::Backoff;
