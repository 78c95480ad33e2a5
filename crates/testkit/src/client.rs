//! An MQTT test client on [`Link`]: subscribes (again after every reconnect), records
//! every message it hears with its arrival time, publishes on request, and waits for
//! predicates over what it heard — always with a timeout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use winter_river_mqtt::{BrokerUrl, Link, LinkEvent, LinkOptions};
use winter_river_protocol::Qos;

use crate::TestkitError;

/// How long [`Client::connect`] waits for the ConnAck.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One message heard.
#[derive(Debug, Clone)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    /// When the client's task received it.
    pub at: Instant,
}

impl Msg {
    /// The payload as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// The payload as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.payload).ok()
    }

    /// A string field of a JSON object payload.
    pub fn str_field(&self, field: &str) -> Option<String> {
        self.json()?.get(field)?.as_str().map(str::to_string)
    }

    /// A numeric field of a JSON object payload.
    pub fn f64_field(&self, field: &str) -> Option<f64> {
        self.json()?.get(field)?.as_f64()
    }

    /// An integer field of a JSON object payload.
    pub fn u64_field(&self, field: &str) -> Option<u64> {
        self.json()?.get(field)?.as_u64()
    }
}

enum Request {
    Publish {
        topic: String,
        payload: Vec<u8>,
        qos: Qos,
        retain: bool,
    },
    Subscribe(String),
    Disconnect,
    Kill,
}

/// What the pump task shares with the handle.
#[derive(Debug, Default)]
struct Heard {
    messages: Vec<Msg>,
    connects: u64,
    last_error: Option<String>,
}

/// An MQTT client that records what it hears.
#[derive(Debug)]
pub struct Client {
    name: String,
    requests: mpsc::UnboundedSender<Request>,
    heard: Arc<Mutex<Heard>>,
    changed: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl Client {
    /// Connects to `url` as `name`, subscribes to `filters` (QoS 1) and waits for the
    /// ConnAck. Subscriptions are renewed after every reconnect.
    pub async fn connect(
        url: &BrokerUrl,
        name: &str,
        filters: &[&str],
    ) -> Result<Client, TestkitError> {
        let mut options = LinkOptions::new(format!("wr-test-{name}-{}", std::process::id()));
        options.backoff_bounds(100, 1_000);
        options.keep_alive_s = 5;
        let link = Link::connect(url, &options);
        let heard = Arc::new(Mutex::new(Heard::default()));
        let (changed_tx, changed) = watch::channel(0u64);
        let (requests, rx) = mpsc::unbounded_channel();
        let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
        let task = tokio::spawn(pump(link, rx, filters, heard.clone(), changed_tx));
        let client = Client {
            name: name.to_string(),
            requests,
            heard,
            changed,
            task,
        };
        client
            .wait_until(
                &format!("{name} to connect to {url}"),
                CONNECT_TIMEOUT,
                |h| h.connects > 0,
            )
            .await?;
        Ok(client)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a subscription (QoS 1), kept across reconnects.
    pub fn subscribe(&self, filter: &str) -> Result<(), TestkitError> {
        self.request(Request::Subscribe(filter.to_string()))
    }

    /// Queues a publish.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        qos: Qos,
        retain: bool,
    ) -> Result<(), TestkitError> {
        self.request(Request::Publish {
            topic: topic.to_string(),
            payload: payload.into(),
            qos,
            retain,
        })
    }

    fn request(&self, r: Request) -> Result<(), TestkitError> {
        self.requests.send(r).map_err(|_| TestkitError::Mqtt {
            client: self.name.clone(),
            what: "the client task has ended".into(),
        })
    }

    /// Number of ConnAcks so far.
    pub fn connects(&self) -> u64 {
        self.lock().connects
    }

    /// Number of messages heard so far: a mark for `wait_*_from`.
    pub fn mark(&self) -> usize {
        self.lock().messages.len()
    }

    /// Everything heard so far.
    pub fn messages(&self) -> Vec<Msg> {
        self.lock().messages.clone()
    }

    /// Messages on `topic` heard so far.
    pub fn on_topic(&self, topic: &str) -> Vec<Msg> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.topic == topic)
            .cloned()
            .collect()
    }

    /// The latest message on `topic`.
    pub fn last_on(&self, topic: &str) -> Option<Msg> {
        self.lock()
            .messages
            .iter()
            .rev()
            .find(|m| m.topic == topic)
            .cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for the first message from index `from` on that satisfies `pred`.
    pub async fn wait_for_from(
        &self,
        what: &str,
        timeout: Duration,
        from: usize,
        pred: impl Fn(&Msg) -> bool,
    ) -> Result<Msg, TestkitError> {
        let mut found = None;
        self.wait_until(what, timeout, |h| {
            found = h
                .messages
                .get(from..)
                .and_then(|ms| ms.iter().find(|m| pred(m)).cloned());
            found.is_some()
        })
        .await?;
        found.ok_or_else(|| TestkitError::Process {
            what: "internal: found vanished".into(),
        })
    }

    /// Waits for the first message ever heard that satisfies `pred`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Msg) -> bool,
    ) -> Result<Msg, TestkitError> {
        self.wait_for_from(what, timeout, 0, pred).await
    }

    /// Waits for a message on `topic` (from `from` on) whose JSON payload satisfies `pred`.
    pub async fn wait_json_from(
        &self,
        what: &str,
        timeout: Duration,
        from: usize,
        topic: &str,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<Msg, TestkitError> {
        self.wait_for_from(what, timeout, from, |m| {
            m.topic == topic && m.json().is_some_and(|v| pred(&v))
        })
        .await
    }

    /// Waits until every topic in `topics` has a message (from `from` on) satisfying
    /// `pred`; returns the first such message of each, in the order of `topics`.
    pub async fn wait_each_from(
        &self,
        what: &str,
        timeout: Duration,
        from: usize,
        topics: &[String],
        pred: impl Fn(&Msg) -> bool,
    ) -> Result<Vec<Msg>, TestkitError> {
        let mut found: Vec<Option<Msg>> = vec![None; topics.len()];
        self.wait_until(what, timeout, |h| {
            for m in h.messages.get(from..).unwrap_or(&[]) {
                if let Some(i) = topics.iter().position(|t| *t == m.topic)
                    && found[i].is_none()
                    && pred(m)
                {
                    found[i] = Some(m.clone());
                }
            }
            found.iter().all(Option::is_some)
        })
        .await
        .map_err(|e| match e {
            TestkitError::Timeout { what, waited, seen } => {
                let missing: Vec<&str> = topics
                    .iter()
                    .zip(&found)
                    .filter(|(_, f)| f.is_none())
                    .map(|(t, _)| t.as_str())
                    .collect();
                TestkitError::Timeout {
                    what: format!("{what} (missing: {})", missing.join(", ")),
                    waited,
                    seen,
                }
            }
            e => e,
        })?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Waits until `done` holds over what was heard; re-checked on every new message.
    async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&Heard) -> bool,
    ) -> Result<(), TestkitError> {
        let deadline = Instant::now() + timeout;
        let mut changed = self.changed.clone();
        // Messages already scanned are scanned again: simple, and the logs are small.
        loop {
            changed.borrow_and_update();
            if done(&self.lock()) {
                return Ok(());
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() {
                    return Err(TestkitError::Mqtt { client: self.name.clone(), what: format!("client ended while waiting for {what}") });
                },
                () = tokio::time::sleep_until(deadline) => {
                    if done(&self.lock()) {
                        return Ok(());
                    }
                    return Err(TestkitError::Timeout {
                        what: format!("{what} (client {})", self.name),
                        waited: timeout,
                        seen: self.summary(),
                    });
                }
            }
        }
    }

    /// What was heard, for failure messages: counts by topic and the last payloads.
    pub fn summary(&self) -> String {
        let h = self.lock();
        let mut by_topic: BTreeMap<&str, (usize, &Msg)> = BTreeMap::new();
        for m in &h.messages {
            let e = by_topic.entry(m.topic.as_str()).or_insert((0, m));
            e.0 += 1;
            e.1 = m;
        }
        let mut s = format!(
            "heard {} messages ({} connects, last error: {}); by topic, count and last payload:",
            h.messages.len(),
            h.connects,
            h.last_error.as_deref().unwrap_or("none")
        );
        for (topic, (n, last)) in by_topic {
            let text = last.text();
            let short: String = text.chars().take(200).collect();
            let _ = write!(s, "\n  {topic} ×{n}: {short}");
        }
        s
    }

    /// Sends DISCONNECT (no Last Will) and stops.
    pub async fn disconnect(mut self) {
        let _ = self.requests.send(Request::Disconnect);
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut self.task).await;
    }

    /// Drops the connection without DISCONNECT (the broker sends the Last Will).
    pub fn kill(self) {
        let _ = self.requests.send(Request::Kill);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.requests.send(Request::Kill);
    }
}

async fn pump(
    mut link: Link,
    mut requests: mpsc::UnboundedReceiver<Request>,
    mut filters: Vec<String>,
    heard: Arc<Mutex<Heard>>,
    changed: watch::Sender<u64>,
) {
    let lock = || heard.lock().unwrap_or_else(|p| p.into_inner());
    let bump = || changed.send_modify(|n| *n += 1);
    loop {
        tokio::select! {
            ev = link.recv() => match ev {
                None => return,
                Some(LinkEvent::Connected) => {
                    for f in &filters {
                        let _ = link.subscribe(f, Qos::AtLeastOnce);
                    }
                    lock().connects += 1;
                    bump();
                }
                Some(LinkEvent::Disconnected { reason }) => lock().last_error = Some(reason),
                Some(LinkEvent::Message { topic, payload }) => {
                    lock().messages.push(Msg { topic, payload, at: Instant::now() });
                    bump();
                }
            },
            req = requests.recv() => match req {
                None | Some(Request::Kill) => {
                    link.kill();
                    return;
                }
                Some(Request::Disconnect) => {
                    link.disconnect(Duration::from_secs(2)).await;
                    return;
                }
                Some(Request::Subscribe(f)) => {
                    let _ = link.subscribe(&f, Qos::AtLeastOnce);
                    filters.push(f);
                }
                Some(Request::Publish { topic, payload, qos, retain }) => {
                    if let Err(e) = link.publish(&topic, payload, qos, retain) {
                        lock().last_error = Some(format!("publish to {topic}: {e}"));
                    }
                }
            },
        }
    }
}
