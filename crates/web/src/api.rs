//! HTTP routes: the page and its assets, the JSON API (docs/api.md), the OLED frame
//! of a board, authenticated commands, the live stream and `/metrics`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use winter_river_node::Screen;
use winter_river_protocol::{CodecError, Topic, decode_command, encode_command};

use crate::store::CommandCheck;
use crate::{App, PublishRequest, assets, live, metrics};

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::app_js))
        .route("/app.css", get(assets::app_css))
        .route("/favicon.svg", get(assets::favicon))
        .route("/api/schema", get(schema))
        .route("/api/topology", get(topology))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/history", get(history))
        .route("/api/session", get(session))
        .route("/api/live", get(live::stream))
        .route("/api/nodes/:id/screen", get(screen))
        .route("/api/nodes/:id/command", post(command))
        .route("/metrics", get(metrics::scrape))
        .with_state(app)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        [(header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}

/// The protocol's shared description (kinds, commands, status words, fields, event
/// names, sources) as JSON, made once: the page builds its labels, panels and
/// controls from it.
async fn schema() -> Response {
    static SCHEMA: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        serde_json::to_vec(&winter_river_protocol::Schema::new()).unwrap_or_default()
    });
    json_bytes(SCHEMA.clone())
}

async fn topology(State(app): State<App>) -> Response {
    match app.store().topology_raw() {
        Some(raw) => json_bytes(raw.to_vec()),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no topology yet: is the engine running?",
        ),
    }
}

async fn state(State(app): State<App>) -> Json<Value> {
    Json(app.store().state_json())
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

async fn events(State(app): State<App>, Query(q): Query<EventsQuery>) -> Json<Value> {
    let limit = q.limit.unwrap_or(200).clamp(1, crate::store::EVENTS_KEPT);
    Json(app.store().events_json(q.since.unwrap_or(0), limit))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    node: Option<String>,
}

async fn history(State(app): State<App>, Query(q): Query<HistoryQuery>) -> Json<Value> {
    Json(app.store().history_json(q.node.as_deref()))
}

/// The operator token in `Authorization: Bearer …`: `None` when valid, else the
/// refusal to send (401 without one, 403 with a wrong one).
fn refuse(app: &App, headers: &HeaderMap) -> Option<Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "control needs the operator token: Authorization: Bearer TOKEN",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"winter-river\""),
        );
        return Some(r);
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), app.token.as_bytes()) {
        None
    } else {
        Some(error(StatusCode::FORBIDDEN, "wrong operator token"))
    }
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0 && !b.is_empty()
}

/// Whether the caller's token allows control: the page asks once to enable its
/// buttons.
async fn session(State(app): State<App>, headers: HeaderMap) -> Json<Value> {
    let control = refuse(&app, &headers).is_none();
    Json(json!({"control": control}))
}

#[derive(Debug, Deserialize)]
struct ScreenQuery {
    format: Option<String>,
}

/// The board's OLED page, drawn by the node core from the last status: 1024 bytes,
/// 128×64, row-major, MSB leftmost (or `?format=pbm`: a PBM P4 image).
async fn screen(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<ScreenQuery>,
) -> Response {
    let (found, board_online) = {
        let store = app.store();
        if !store.has_node(&id) {
            return error(StatusCode::NOT_FOUND, format!("no node `{id}`"));
        }
        (store.screen_status(&id), store.board_online(&id))
    };
    let Some((status, link_up)) = found else {
        let why = if board_online == Some(true) {
            format!(
                "`{id}`'s board is connected but has sent no status yet, nor the engine an update"
            )
        } else {
            format!("nothing heard from `{id}` yet")
        };
        return error(StatusCode::SERVICE_UNAVAILABLE, why);
    };
    let screen = Screen {
        link_up,
        ..Screen::from_status(&status)
    };
    let frame = screen.render();
    let bytes = frame.as_bytes();
    let (content_type, body) = match q.format.as_deref() {
        Some("pbm") => {
            let mut body = format!(
                "P4\n{} {}\n",
                winter_river_node::frame::WIDTH_PX,
                winter_river_node::frame::HEIGHT_PX
            )
            .into_bytes();
            body.extend_from_slice(bytes);
            ("image/x-portable-bitmap", body)
        }
        _ => ("application/octet-stream", bytes.to_vec()),
    };
    (
        [(header::CONTENT_TYPE, content_type)],
        [(header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}

/// `POST /api/nodes/{id}/command`: a Command JSON (docs/protocol.md), published to
/// `<p>/<id>/command` (QoS 1) once authorized and checked.
async fn command(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = refuse(&app, &headers) {
        return r;
    }
    let cmd = match decode_command(&body) {
        Ok(c) => c,
        Err(e @ (CodecError::NotJson(_) | CodecError::NotUtf8 | CodecError::TooLarge { .. })) => {
            return error(StatusCode::BAD_REQUEST, e.to_string());
        }
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let (topic, prefix_check) = {
        let store = app.store();
        let topic = if id == winter_river_protocol::SYSTEM_ID {
            Topic::SystemCommand
        } else {
            Topic::NodeCommand(id.clone())
        };
        (
            topic.to_topic(store.prefix()),
            store.check_command(&id, &cmd),
        )
    };
    match prefix_check {
        Ok(()) => {}
        Err(CommandCheck::UnknownNode) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("no node `{id}` in the topology"),
            );
        }
        Err(CommandCheck::NoTopology) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "no topology yet: is the engine running?",
            );
        }
        Err(CommandCheck::NotApplicable(why)) => {
            return error(StatusCode::UNPROCESSABLE_ENTITY, why);
        }
    }
    let payload = match encode_command(&cmd) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let req = PublishRequest {
        topic: topic.clone(),
        payload,
        reply,
    };
    if app.publish.send(req).await.is_err() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "the MQTT link is closed");
    }
    match answer.await {
        Ok(Ok(())) => {
            tracing::info!(node = %id, command = cmd.name(), "operator command published");
            (
                StatusCode::ACCEPTED,
                Json(json!({"published": true, "topic": topic, "command": cmd.name()})),
            )
                .into_response()
        }
        Ok(Err(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the MQTT link is closed"),
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }
}
