//! What every connection of one broker shares: its configuration, the router behind a
//! mutex (held only for map updates, never across an await), the counters, the stop
//! signal, and the connection counts that enforce the limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::access::Access;
use crate::config::BrokerConfig;
use crate::router::Router;
use crate::stats::{Kind, Stats};

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: BrokerConfig,
    /// Who may connect and do what: the config's `access`, or its one shared credential.
    pub access: Access,
    router: Mutex<Router>,
    pub stats: Stats,
    /// Becomes true when the broker stops.
    pub shutdown: watch::Receiver<bool>,
    shutdown_tx: watch::Sender<bool>,
    /// Open connections in total and per address.
    connections: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

impl Shared {
    #[cfg(test)]
    pub fn new(config: BrokerConfig) -> Arc<Shared> {
        Shared::with_router(config, Router::default())
    }

    pub fn with_router(config: BrokerConfig, router: Router) -> Arc<Shared> {
        let (shutdown_tx, shutdown) = watch::channel(false);
        let access = match &config.credentials {
            Some((user, pass)) if !config.access.requires_login() => {
                Access::single_user(user, pass)
            }
            _ => config.access.clone(),
        };
        Arc::new(Shared {
            config,
            access,
            router: Mutex::new(router),
            stats: Stats::default(),
            shutdown,
            shutdown_tx,
            connections: Mutex::new((0, HashMap::new())),
        })
    }

    pub fn router(&self) -> MutexGuard<'_, Router> {
        self.router.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stop(&self) {
        let _ = self.shutdown_tx.send(true);
    }

    /// Admits a new connection from `peer` within the limits, or logs why not.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Admitted> {
        let ip = peer.ip();
        let mut connections = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, per_address) = &mut *connections;
        if *total >= self.config.max_connections {
            let max = self.config.max_connections;
            drop(connections);
            self.stats.refuse(Kind::RefusedConnection, 1, || {
                format!(
                    "refused a connection from {peer}: the broker already has {max} connections (its limit)"
                )
            });
            return None;
        }
        let from_ip = per_address.entry(ip).or_default();
        if !ip.is_loopback() && *from_ip >= self.config.max_connections_per_address {
            let max = self.config.max_connections_per_address;
            drop(connections);
            self.stats.refuse(Kind::RefusedConnection, 1, || {
                format!(
                    "refused a connection from {peer}: that address already has {max} connections (the per-address limit, --max-connections-per-address)"
                )
            });
            return None;
        }
        *from_ip += 1;
        *total += 1;
        Some(Admitted {
            shared: self.clone(),
            ip,
        })
    }
}

/// A connection counted against the limits until dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut connections = self
            .shared
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, per_address) = &mut *connections;
        *total = total.saturating_sub(1);
        if let Some(n) = per_address.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_address.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(per_address: usize, total: usize) -> Arc<Shared> {
        Shared::new(BrokerConfig {
            max_connections: total,
            max_connections_per_address: per_address,
            ..BrokerConfig::loopback()
        })
    }

    #[test]
    fn one_address_gets_its_limit_and_loopback_none() {
        let shared = shared(2, 100);
        // A documentation address (RFC 5737): bookkeeping only, nothing is sent to it.
        let board: SocketAddr = ([198, 51, 100, 5], 40_000).into();
        let first = shared.admit(board).expect("first");
        let _second = shared.admit(board).expect("second");
        assert!(shared.admit(board).is_none(), "third from one address");
        assert!(
            shared.admit(([198, 51, 100, 6], 1).into()).is_some(),
            "another address"
        );
        let local: Vec<_> = (0..10)
            .map(|p| shared.admit(([127, 0, 0, 1], p).into()))
            .collect();
        assert!(
            local.iter().all(Option::is_some),
            "loopback is not limited per address"
        );
        drop(first);
        assert!(
            shared.admit(board).is_some(),
            "a closed connection frees its place"
        );
        assert_eq!(shared.stats.snapshot().refused_connections, 1);
    }

    #[test]
    fn the_total_limit_holds_for_every_address() {
        let shared = shared(64, 3);
        let held: Vec<_> = (0..3)
            .map(|p| shared.admit(([127, 0, 0, 1], p).into()))
            .collect();
        assert!(held.iter().all(Option::is_some));
        assert!(shared.admit(([127, 0, 0, 1], 9).into()).is_none());
    }

    #[test]
    fn the_shared_credential_is_the_only_login() {
        let shared = Shared::new(BrokerConfig {
            credentials: Some(("op".to_owned(), "pw".to_owned())),
            ..BrokerConfig::loopback()
        });
        assert!(shared.access.authenticate(Some("op"), Some(b"pw")).is_ok());
        assert!(
            shared
                .access
                .authenticate(Some("op"), Some(b"pw "))
                .is_err()
        );
        assert!(shared.access.authenticate(None, None).is_err());
        let open = Shared::new(BrokerConfig::loopback());
        assert!(open.access.authenticate(None, None).is_ok());
    }
}
