//! The accept loops: TCP and WebSocket, each admitting a connection within the
//! connection limits and serving it on its own task until the broker stops.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::shared::Shared;
use crate::{connection, websocket};

/// How a listener's connections speak MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Tcp,
    WebSocket,
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
        tokio::spawn(async move {
            match transport {
                Transport::Tcp => connection::serve(stream, peer, shared).await,
                Transport::WebSocket => websocket::serve(stream, peer, shared).await,
            }
            drop(admitted);
        });
    }
}
