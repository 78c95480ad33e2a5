//! MQTT client plumbing shared by the engine driver, the virtual fleet, the CLI and
//! the web: broker URLs (`mqtt://`, `ws://`), connection options, and [`Link`] — a
//! rumqttc client whose event loop is polled in its own task, so nothing ever
//! publishes from the task that polls (rumqttc's bounded request channel would
//! deadlock), and which reconnects with backoff by itself.

mod link;
mod url;

pub use link::{Link, LinkEvent, LinkOptions, PublishError, Will};
pub use url::{BrokerUrl, UrlError};
