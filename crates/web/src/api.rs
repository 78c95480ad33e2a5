//! HTTP routes: the page and its assets, the JSON API (docs/api.md), the OLED frame
//! of a board, authenticated commands with their roles (operator, instructor), a
//! live drill's status, commands and debrief, the live stream and `/metrics`.

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use winter_river_node::Screen;
use winter_river_protocol::{
    Channel, CodecError, Topic, decode_command, decode_drill_command, encode_command_via,
    encode_drill_command,
};

use crate::guard::{Caller, NoRole, Role, Via, same_origin};
use crate::store::CommandCheck;
use crate::{App, PublishRequest, assets, guard, live, metrics};

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::app_js))
        .route("/app.css", get(assets::app_css))
        .route("/favicon.svg", get(assets::favicon))
        // What a browser asks for by itself on a page without an icon link (an
        // error page): the same icon, not a 404 in its console.
        .route("/favicon.ico", get(assets::favicon))
        .route("/api/schema", get(schema))
        .route("/api/topology", get(topology))
        .route("/api/state", get(state))
        .route("/api/events", get(events))
        .route("/api/history", get(history))
        .route("/api/session", get(session).post(sign_in))
        .route("/api/live", get(live::stream))
        .route("/api/nodes/:id/screen", get(screen))
        .route("/api/nodes/:id/command", post(command))
        .route("/api/drill", get(drill).post(drill_command))
        .route("/drill/debrief", get(debrief))
        .route("/metrics", get(metrics::scrape))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::protect,
        ))
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

/// 403 for an operator asking for what only the instructor may do (`what`: "fault
/// injection", "drill control").
fn instructor_only(what: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        format!("{what} needs the instructor's token"),
    )
}

/// Why a write is refused before it is read.
#[derive(Debug)]
enum Refused {
    NoRole(NoRole),
    Viewer,
    CrossOrigin(String),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::NoRole(no) => no.into_response(),
            Refused::Viewer => error(
                StatusCode::FORBIDDEN,
                "the viewer token only reads: control needs the operator token",
            ),
            Refused::CrossOrigin(why) => error(StatusCode::FORBIDDEN, why),
        }
    }
}

/// The caller's role for a write (a command, drill control): an operator's or the
/// instructor's token, and from the dashboard's own page when it came in the cookie
/// (guard::same_origin). The middleware always sets the caller; none is no token.
fn controller(caller: Option<&Caller>, headers: &HeaderMap, secure: bool) -> Result<Role, Refused> {
    let Some(caller) = caller else {
        return Err(Refused::NoRole(NoRole::NoToken));
    };
    let role = caller.role.map_err(Refused::NoRole)?;
    if role == Role::Viewer {
        return Err(Refused::Viewer);
    }
    if caller.via == Via::Cookie {
        same_origin(headers, secure).map_err(Refused::CrossOrigin)?;
    }
    Ok(role)
}

/// What the caller's token allows: control (the operator's commands) and the
/// instructor's part (fault injection, drill control); `roles` says whether this
/// dashboard has an instructor's token at all (without one, the operator is both);
/// `role` names it (`viewer`, `operator`, `instructor`, or null). The page asks
/// once to enable its buttons.
async fn session(State(app): State<App>, caller: Option<Extension<Caller>>) -> Json<Value> {
    let role = caller.and_then(|c| c.role.ok());
    session_json(&app, role)
}

fn session_json(app: &App, role: Option<Role>) -> Json<Value> {
    let control = matches!(role, Some(Role::Operator | Role::Instructor));
    Json(json!({
        "control": control,
        "instructor": role == Some(Role::Instructor),
        "roles": app.guard.instructor.is_some(),
        "role": role.map(Role::name),
    }))
}

#[derive(Debug, Deserialize)]
struct SignIn {
    token: Option<String>,
}

/// `POST /api/session {"token": "…"}`: the page's sign-in (its mode badge): a
/// token of this dashboard becomes the HttpOnly cookie, as `/?token=` does; an
/// empty or null one signs out. From the dashboard's own page only.
async fn sign_in(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(why) = same_origin(&headers, app.guard.secure) {
        return error(StatusCode::FORBIDDEN, why.replace("commands", "sign-ins"));
    }
    let Ok(SignIn { token }) = serde_json::from_slice::<SignIn>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {\"token\": \"…\"} (null or \"\" signs out)",
        );
    };
    let token = token.unwrap_or_default();
    let token = token.trim();
    let (role, cookie) = if token.is_empty() {
        (None, app.guard.clear_cookie())
    } else {
        match app.guard.role_of(token) {
            Some(role) => (Some(role), app.guard.set_cookie(token)),
            None => {
                return error(
                    StatusCode::FORBIDDEN,
                    "not one of this dashboard's tokens (viewer, operator or instructor): use the one `winter-river up` printed this time",
                );
            }
        }
    };
    let mut r = session_json(&app, role).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
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
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let role = match controller(caller.as_deref(), &headers, app.guard.secure) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let cmd = match decode_command(&body) {
        Ok(c) => c,
        Err(e) => return bad_body(e),
    };
    if cmd.spec().instructor && role != Role::Instructor {
        return instructor_only("fault injection");
    }
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
    // Who sent it goes with it: a live drill's timeline names the dashboard.
    let payload = match encode_command_via(&cmd, Channel::Dashboard) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    if let Err(e) = publish(&app, &topic, payload).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, e);
    }
    tracing::info!(node = %id, command = cmd.name(), "operator command published");
    published(&topic, cmd.name())
}

/// 400 for a body that is not JSON at all, 422 for JSON of the wrong shape.
fn bad_body(e: CodecError) -> Response {
    match e {
        CodecError::NotJson(_) | CodecError::NotUtf8 | CodecError::TooLarge { .. } => {
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
        e => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

/// Hands `payload` to the MQTT side for `topic` (QoS 1, not retained) and waits
/// until the broker link took it; why not when it cannot (a 503).
async fn publish(app: &App, topic: &str, payload: Vec<u8>) -> Result<(), String> {
    const CLOSED: &str = "the MQTT link is closed";
    let (reply, answer) = tokio::sync::oneshot::channel();
    let req = PublishRequest {
        topic: topic.to_string(),
        payload,
        reply,
    };
    if app.publish.send(req).await.is_err() {
        return Err(CLOSED.into());
    }
    answer.await.unwrap_or_else(|_| Err(CLOSED.into()))
}

/// 202: handed to the broker.
fn published(topic: &str, command: &str) -> Response {
    (
        StatusCode::ACCEPTED,
        Json(json!({"published": true, "topic": topic, "command": command})),
    )
        .into_response()
}

/// `GET /api/drill`: the drill's progress as the engine last published it
/// (`<p>/system/drill`), `{"state": "none"}` before any.
async fn drill(State(app): State<App>) -> Response {
    let body = serde_json::to_vec(app.store().drill_json()).unwrap_or_default();
    json_bytes(body)
}

/// `POST /api/drill`: an instructor's drill command (`start`, `stop`, `inject
/// {event}`, `load {file}`), checked and published to `<p>/system/drill/command`.
async fn drill_command(
    State(app): State<App>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match controller(caller.as_deref(), &headers, app.guard.secure) {
        Ok(Role::Instructor) => {}
        Ok(_) => return instructor_only("drill control"),
        Err(r) => return r.into_response(),
    }
    let cmd = match decode_drill_command(&body) {
        Ok(c) => c,
        Err(e) => return bad_body(e),
    };
    let (topic, check) = {
        let store = app.store();
        (
            Topic::SystemDrillCommand.to_topic(store.prefix()),
            store.check_drill_command(&cmd),
        )
    };
    if let Err(why) = check {
        return error(StatusCode::UNPROCESSABLE_ENTITY, why);
    }
    let payload = match encode_drill_command(&cmd) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    if let Err(e) = publish(&app, &topic, payload).await {
        return error(StatusCode::SERVICE_UNAVAILABLE, e);
    }
    tracing::info!(command = cmd.name(), "drill command published");
    published(&topic, cmd.name())
}

/// `GET /drill/debrief`: the last drill's debrief page, `latest.html` of the
/// debrief directory the engine writes (docs/api.md). It is the engine's own
/// self-contained page: the policy lets it load nothing from anywhere.
async fn debrief(State(app): State<App>) -> Response {
    let Some(dir) = app.debrief_dir.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "no debrief directory: this dashboard was started without one (`winter-river up` gives it the engine's --debrief-dir; start `winter-river web` with --debrief-dir DIR, the engine's folder)",
        );
    };
    let path = dir.join("latest.html");
    let read = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || std::fs::read(path)).await
    };
    match read {
        Ok(Ok(page)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            page,
        )
            .into_response(),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => error(
            StatusCode::NOT_FOUND,
            format!(
                "no debrief written yet in {}: the engine writes one when a drill ends (stop, or its duration reached)",
                dir.display()
            ),
        ),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", path.display()),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
