//! Free loopback ports: bind 127.0.0.1:0, note the port, release it. A port is never
//! handed out twice in one process, so tests running in parallel do not collide.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::TestkitError;

static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A TCP port on 127.0.0.1 that was free a moment ago and that this process has not
/// handed out before.
pub fn free_port() -> Result<u16, TestkitError> {
    // Bounded: the kernel gives a fresh ephemeral port almost every time.
    for _ in 0..100 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| TestkitError::io("bind 127.0.0.1:0", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| TestkitError::io("local_addr of 127.0.0.1:0", e))?
            .port();
        drop(listener);
        let mut guard = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
        if guard.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err(TestkitError::Process {
        what: "no unused loopback port after 100 tries".into(),
    })
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_port_open(port: u16, timeout: Duration) -> Result<(), TestkitError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(TestkitError::Timeout {
                    what: format!("a listener on {addr}"),
                    waited: timeout,
                    seen: format!("last error: {e}"),
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}
