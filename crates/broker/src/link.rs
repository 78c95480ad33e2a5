//! A connected client as the rest of the broker sees it: the bounded queue of what is
//! to be written to it, and the signals to close it (taken over, shut down) and to learn
//! that it has closed. Delivery waits for room (the publisher is slowed, as Mosquitto's
//! single thread slows it) and gives up only on a subscriber that stopped reading.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, watch};

use crate::router::Delivery;

/// What a connection's writer sends: a message, or a packet already encoded (an
/// acknowledgement, SUBACK, PINGRESP).
#[derive(Debug)]
pub(crate) enum Out {
    Deliver(Delivery),
    Packet(Bytes),
}

/// Why a delivery did not reach a client's queue.
#[derive(Debug)]
pub(crate) enum Undelivered {
    /// The client has not read for the slow-subscriber wait: dropped.
    Slow,
    /// The connection closed meanwhile: the delivery is handed back (a persistent session
    /// keeps it).
    Closed(Delivery),
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<Out>,
    lagging: AtomicBool,
    close: Notify,
    closed: watch::Receiver<bool>,
}

/// A handle to one connection; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    inner: Arc<Inner>,
}

/// The connection's own ends of its link.
#[derive(Debug)]
pub(crate) struct LinkEnds {
    pub rx: mpsc::Receiver<Out>,
    pub closed: watch::Sender<bool>,
}

impl Link {
    pub fn new(queue_messages: usize) -> (Link, LinkEnds) {
        let (tx, rx) = mpsc::channel(queue_messages);
        let (closed_tx, closed_rx) = watch::channel(false);
        let link = Link {
            inner: Arc::new(Inner {
                tx,
                lagging: AtomicBool::new(false),
                close: Notify::new(),
                closed: closed_rx,
            }),
        };
        (
            link,
            LinkEnds {
                rx,
                closed: closed_tx,
            },
        )
    }

    /// Queues a message, waiting up to `wait` for room. A client that is already marked
    /// slow gets nothing until its queue has drained.
    pub async fn deliver(&self, delivery: Delivery, wait: Duration) -> Result<(), Undelivered> {
        let out = match self.inner.tx.try_send(Out::Deliver(delivery)) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(out)) => return Err(closed(out)),
            Err(mpsc::error::TrySendError::Full(out)) => out,
        };
        if self.inner.lagging.load(Ordering::Relaxed) {
            return Err(Undelivered::Slow);
        }
        match tokio::time::timeout(wait, self.inner.tx.send(out)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(mpsc::error::SendError(out))) => Err(closed(out)),
            Err(_) => {
                self.inner.lagging.store(true, Ordering::Relaxed);
                Err(Undelivered::Slow)
            }
        }
    }

    /// Queues one of the connection's own packets (its acknowledgements), waiting for
    /// room as long as it takes: a client that does not read slows only itself.
    pub async fn send_packet(&self, packet: Bytes) -> bool {
        self.inner.tx.send(Out::Packet(packet)).await.is_ok()
    }

    /// Queues a message for this client without a deadline (retained messages on its own
    /// SUBSCRIBE).
    pub async fn send_own(&self, delivery: Delivery) -> bool {
        self.inner.tx.send(Out::Deliver(delivery)).await.is_ok()
    }

    /// The writer emptied the queue: the client reads again.
    pub fn caught_up(&self) {
        self.inner.lagging.store(false, Ordering::Relaxed);
    }

    /// Asks the connection to close (another connection took its client id over, or the
    /// broker stops).
    pub fn close(&self) {
        self.inner.close.notify_one();
    }

    /// Resolves when [`Link::close`] is called.
    pub async fn close_requested(&self) {
        self.inner.close.notified().await;
    }

    /// Waits until the connection has finished closing (its session handed back), at
    /// most `wait`.
    pub async fn wait_closed(&self, wait: Duration) {
        let mut closed = self.inner.closed.clone();
        let _ = tokio::time::timeout(wait, closed.wait_for(|done| *done)).await;
    }
}

fn closed(out: Out) -> Undelivered {
    match out {
        Out::Deliver(delivery) => Undelivered::Closed(delivery),
        // Only deliveries go through `deliver`.
        Out::Packet(_) => Undelivered::Slow,
    }
}
