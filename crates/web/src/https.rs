//! The dashboard over HTTPS: an accept loop of our own (axum 0.7's `serve` takes
//! plain TCP only) that runs the TLS handshake with tokio-rustls on each accepted
//! connection, in its task and within [`HANDSHAKE_TIMEOUT`], then serves HTTP/1.1
//! with hyper, the same router and the same `ConnectInfo` (the address the
//! connection arrived on, for the Host check) as over plain HTTP. A browser that
//! speaks plain HTTP to it gets a short page saying to use https://.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use winter_river_tls::rustls::ServerConfig;

use crate::guard::Local;

/// Longest a client may take over its TLS handshake (a connection that opens and
/// sends nothing holds no task for longer).
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest the server waits for open connections after the shutdown signal
/// (live streams end on it by themselves).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// What a plain-HTTP request to the HTTPS port gets.
const PLAIN_HTTP_ANSWER: &str = "This dashboard is served over HTTPS only: open it with https:// instead of http:// (the address `winter-river` printed). If the address you opened held a token, it has crossed the network unencrypted.\n";

/// Serves `router` over TLS on `listener` until `shutdown` completes, then waits
/// up to [`DRAIN_TIMEOUT`] for open connections.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut config = (*tls).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    tracing::warn!("dashboard: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let local = tcp.local_addr().ok();
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(Local(local)));
                req
            });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let Some(stream) = handshake(&acceptor, tcp, peer).await else {
                return;
            };
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%peer, "dashboard connection: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("dashboard: connections still open after {DRAIN_TIMEOUT:?}: closed");
    }
    Ok(())
}

/// The TLS stream of `tcp`, or `None` (logged at debug: a client that does not
/// trust the certificate hangs up here, which is its business).
async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let attempt = async {
        let mut first = [0u8; 1];
        let n = tcp.peek(&mut first).await?;
        if n == 1 && first[0] != TLS_HANDSHAKE && first[0].is_ascii_alphabetic() {
            answer_plain_http(tcp).await;
            return Ok(None);
        }
        acceptor.accept(tcp).await.map(Some)
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(%peer, "dashboard: TLS handshake failed: {e}");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "dashboard: no TLS handshake within {HANDSHAKE_TIMEOUT:?}");
            None
        }
    }
}

/// A plain-HTTP request on the HTTPS port: 400 with a sentence, then close.
async fn answer_plain_http(mut tcp: TcpStream) {
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{PLAIN_HTTP_ANSWER}",
        PLAIN_HTTP_ANSWER.len()
    );
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}
