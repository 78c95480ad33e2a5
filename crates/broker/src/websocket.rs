//! MQTT over WebSocket: the HTTP upgrade (with the `mqtt` subprotocol, and the Origin
//! allow-list that keeps web pages out), then a bridge between binary frames and the
//! byte stream the connection reads, so one connection type serves every transport.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::connection;
use crate::shared::Shared;
use crate::stats::{Kind, shown};

/// Bytes buffered between the WebSocket and the connection in each direction.
const BRIDGE_BYTES: usize = 64 * 1024;

pub(crate) async fn serve<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let allowed = shared.config.ws_allowed_origins.clone();
    let mut refused_origin = None;
    // The callback's signature is tungstenite's.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
        if let Some(origin) = request.headers().get("origin") {
            let origin = origin.to_str().unwrap_or("?");
            if !allowed.iter().any(|a| a == origin) {
                refused_origin = Some(origin.to_owned());
                let mut refusal = ErrorResponse::new(Some(format!(
                    "origin {origin} may not open this broker's WebSocket\n"
                )));
                *refusal.status_mut() = StatusCode::FORBIDDEN;
                return Err(refusal);
            }
        }
        // MQTT.js and rumqttc ask for `mqtt` (3.1.1) or `mqttv3.1` and check the answer.
        let asked = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .find(|p| *p == "mqtt" || *p == "mqttv3.1")
            .map(str::to_owned);
        if let Some(protocol) = asked
            && let Ok(value) = HeaderValue::from_str(&protocol)
        {
            response
                .headers_mut()
                .insert("sec-websocket-protocol", value);
        }
        Ok(response)
    };
    let max = shared.config.limits.max_packet_bytes + 1024;
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let ws = match tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config))
        .await
    {
        Ok(ws) => ws,
        Err(e) => {
            match refused_origin {
                Some(origin) => shared.stats.refuse(Kind::RefusedConnection, 1, || {
                    format!(
                        "refused a WebSocket from {peer}: origin {:?} is not in the allow-list (--ws-allowed-origin)",
                        shown(&origin)
                    )
                }),
                None => shared.stats.refuse(Kind::Protocol, 1, || {
                    format!("refused a WebSocket from {peer}: {e}")
                }),
            }
            return;
        }
    };
    let (broker_side, bridge_side) = tokio::io::duplex(BRIDGE_BYTES);
    let mqtt = tokio::spawn(connection::serve(broker_side, peer, shared));
    let (mut from_broker, mut to_broker) = tokio::io::split(bridge_side);
    let (mut sink, mut frames) = ws.split();
    let outbound = async {
        let mut buf = vec![0u8; BRIDGE_BYTES];
        loop {
            match from_broker.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = Frame::Binary(buf[..n].to_vec().into());
                    if sink.send(frame).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    };
    let inbound = async {
        while let Some(Ok(frame)) = frames.next().await {
            match frame {
                Frame::Binary(bytes) if to_broker.write_all(&bytes).await.is_err() => break,
                Frame::Binary(_) => {}
                Frame::Close(_) => break,
                // Text is not MQTT; pings are answered by tungstenite itself.
                Frame::Text(_) => break,
                _ => {}
            }
        }
        let _ = to_broker.shutdown().await;
    };
    tokio::select! {
        _ = outbound => {}
        _ = inbound => {}
    }
    // Both halves gone: the connection reads end of stream and cleans up.
    drop((from_broker, to_broker));
    let _ = mqtt.await;
}
