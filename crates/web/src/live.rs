//! `GET /api/live`: server-sent events, one `delta` per push, at most one push per
//! [`crate::PUSH_PERIOD`] per client. Each client keeps only a cursor into the
//! store: when a browser reads slowly the stream is simply polled less often and
//! its next delta carries the latest state — nothing queues up, and the MQTT side
//! never waits for a browser.

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::watch;

use crate::App;
use crate::store::Cursor;

struct Client {
    app: App,
    changes: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    cursor: Cursor,
    first: bool,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.app.live_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) async fn stream(
    State(app): State<App>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    app.live_clients.fetch_add(1, Ordering::Relaxed);
    let client = Client {
        changes: app.changes.subscribe(),
        stop: app.stop.clone(),
        app,
        cursor: Cursor::default(),
        first: true,
    };
    let s = futures_util::stream::unfold(client, |mut c| async move {
        if *c.stop.borrow() {
            return None;
        }
        if c.first {
            c.first = false;
            c.changes.borrow_and_update();
        } else {
            tokio::select! {
                () = tokio::time::sleep(crate::PUSH_PERIOD) => {}
                _ = c.stop.wait_for(|s| *s) => return None,
            }
            tokio::select! {
                r = c.changes.changed() => if r.is_err() { return None },
                _ = c.stop.wait_for(|s| *s) => return None,
            }
        }
        let (mut value, next) = c.app.store().delta(&c.cursor);
        c.cursor = next;
        // The page's clock for what moves between pushes (a board's uptime).
        if let Some(m) = value.as_object_mut() {
            m.insert("wall_ms".into(), crate::feed::wall_ms().into());
        }
        c.app.pushes.fetch_add(1, Ordering::Relaxed);
        let event = Event::default().event("delta").data(value.to_string());
        Some((Ok(event), c))
    });
    Sse::new(s).keep_alive(KeepAlive::default())
}
