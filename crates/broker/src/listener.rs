//! The accept loops: TCP and WebSocket, each admitting a connection within the
//! connection limits and serving it on its own task until the broker stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::shared::Shared;
use crate::stats::Kind;
use crate::{connection, websocket};

/// How a listener's connections speak MQTT.
#[derive(Clone)]
pub(crate) enum Transport {
    Tcp,
    WebSocket,
    /// `mqtts`: TLS, then MQTT.
    Mqtts(TlsAcceptor),
    /// `wss`: TLS, then WebSocket, then MQTT.
    Wss(TlsAcceptor),
}

impl Transport {
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Tcp => "MQTT",
            Transport::WebSocket => "WebSocket",
            Transport::Mqtts(_) => "mqtts",
            Transport::Wss(_) => "wss",
        }
    }
}

/// Accepts connections on `listener` until the broker stops.
pub(crate) async fn accept_loop(listener: TcpListener, transport: Transport, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most often: wait a little rather than spin.
                tracing::warn!(error = %e, "the broker cannot accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(admitted) = shared.admit(peer) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            let handshake = Duration::from_millis(shared.config.limits.connect_timeout_ms);
            match transport {
                Transport::Tcp => connection::serve(stream, peer, shared).await,
                Transport::WebSocket => websocket::serve(stream, peer, shared).await,
                Transport::Mqtts(acceptor) => {
                    if let Some(tls) =
                        tls_handshake(&acceptor, stream, peer, handshake, &shared).await
                    {
                        connection::serve(tls, peer, shared).await;
                    }
                }
                Transport::Wss(acceptor) => {
                    if let Some(tls) =
                        tls_handshake(&acceptor, stream, peer, handshake, &shared).await
                    {
                        websocket::serve(tls, peer, shared).await;
                    }
                }
            }
            drop(admitted);
        });
    }
}

/// The TLS handshake of a new connection, within `limit`; a failure (a plain client on
/// the TLS port, an untrusted certificate) is counted and logged.
async fn tls_handshake(
    acceptor: &TlsAcceptor,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    limit: Duration,
    shared: &Shared,
) -> Option<tokio_rustls::server::TlsStream<tokio::net::TcpStream>> {
    match tokio::time::timeout(limit, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(e)) => {
            shared.stats.refuse(Kind::RefusedConnection, 1, || {
                format!("refused a TLS connection from {peer}: {e}")
            });
            None
        }
        Err(_) => {
            shared.stats.refuse(Kind::RefusedConnection, 1, || {
                format!("refused a TLS connection from {peer}: no handshake within {limit:?}")
            });
            None
        }
    }
}
