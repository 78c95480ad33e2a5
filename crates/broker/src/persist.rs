//! The broker's state file: retained messages and persistent sessions (subscriptions and
//! queued QoS 1/2 messages), written atomically (temporary file, then rename) at most
//! once a second while something changed, and once more on shutdown; read back at start,
//! so commands queued for an engine or a board survive a restart of the broker.
//!
//! Format (all lengths big-endian u32): `WRBROKER1\n`, the retained messages (count, then
//! topic, payload, QoS each), the sessions (count, then client id, subscriptions (count,
//! filter and QoS each), queued messages (count, then topic, payload, QoS, retain, dup
//! each)). A file that does not read back is an error naming the file and the byte.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use winter_river_mqtt_codec::server::Qos;

use crate::router::{Delivery, Message, SavedSession, Snapshot};

const MAGIC: &[u8] = b"WRBROKER1\n";

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read the broker's state file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "the broker's state file {} is damaged at byte {at}: {reason} (move it away to start with no sessions)",
        path.display()
    )]
    Damaged {
        path: PathBuf,
        at: usize,
        reason: &'static str,
    },
}

/// Reads the state file at `path`; a missing file is an empty state.
pub(crate) fn load(path: &Path) -> Result<Snapshot, StateFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Snapshot::default()),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    decode(&bytes).map_err(|(at, reason)| StateFileError::Damaged {
        path: path.to_owned(),
        at,
        reason,
    })
}

/// Writes `snapshot` to `path` atomically.
pub(crate) fn save(path: &Path, snapshot: &Snapshot) -> io::Result<()> {
    let bytes = encode(snapshot);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    let len = |out: &mut Vec<u8>, n: usize| {
        out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
    };
    let field = |out: &mut Vec<u8>, bytes: &[u8]| {
        len(out, bytes.len());
        out.extend_from_slice(bytes);
    };
    len(&mut out, snapshot.retained.len());
    for m in &snapshot.retained {
        field(&mut out, m.topic.as_bytes());
        field(&mut out, &m.payload);
        out.push(m.qos.bits());
    }
    len(&mut out, snapshot.sessions.len());
    for s in &snapshot.sessions {
        field(&mut out, s.client_id.as_bytes());
        len(&mut out, s.subscriptions.len());
        for (filter, qos) in &s.subscriptions {
            field(&mut out, filter.as_bytes());
            out.push(qos.bits());
        }
        len(&mut out, s.offline.len());
        for d in &s.offline {
            field(&mut out, d.message.topic.as_bytes());
            field(&mut out, &d.message.payload);
            out.push(d.message.qos.bits());
            out.push(u8::from(d.message.retain));
            out.push(u8::from(d.dup));
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Fail = (usize, &'static str);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Fail> {
        let end = self
            .at
            .checked_add(n)
            .ok_or((self.at, "a length overflows"))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or((self.at, "the file ends early"))?;
        self.at = end;
        Ok(slice)
    }

    fn len(&mut self) -> Result<usize, Fail> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn byte(&mut self) -> Result<u8, Fail> {
        Ok(self.take(1)?[0])
    }

    fn bytes(&mut self) -> Result<&'a [u8], Fail> {
        let n = self.len()?;
        self.take(n)
    }

    fn text(&mut self) -> Result<&'a str, Fail> {
        let at = self.at;
        std::str::from_utf8(self.bytes()?).map_err(|_| (at, "a name is not UTF-8"))
    }

    fn qos(&mut self) -> Result<Qos, Fail> {
        let at = self.at;
        Qos::from_bits(self.byte()?).ok_or((at, "a QoS is not 0, 1 or 2"))
    }

    /// A count, checked against the bytes left (each item takes at least `min` bytes),
    /// so a damaged count cannot make us allocate gigabytes.
    fn count(&mut self, min: usize) -> Result<usize, Fail> {
        let at = self.at;
        let n = self.len()?;
        if n.saturating_mul(min) > self.bytes.len() - self.at {
            return Err((at, "a count is larger than the file"));
        }
        Ok(n)
    }
}

fn decode(bytes: &[u8]) -> Result<Snapshot, Fail> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(MAGIC.len()).ok() != Some(MAGIC) {
        return Err((0, "not a Winter River broker state file"));
    }
    let mut snapshot = Snapshot::default();
    for _ in 0..r.count(9)? {
        let topic: Arc<str> = r.text()?.into();
        let payload = Bytes::copy_from_slice(r.bytes()?);
        let qos = r.qos()?;
        snapshot.retained.push(Message {
            topic,
            payload,
            qos,
            retain: true,
        });
    }
    for _ in 0..r.count(12)? {
        let client_id: Arc<str> = r.text()?.into();
        let mut subscriptions = Vec::new();
        for _ in 0..r.count(5)? {
            let filter = r.text()?.to_owned();
            subscriptions.push((filter, r.qos()?));
        }
        let mut offline = Vec::new();
        for _ in 0..r.count(11)? {
            let topic: Arc<str> = r.text()?.into();
            let payload = Bytes::copy_from_slice(r.bytes()?);
            let qos = r.qos()?;
            let retain = r.byte()? != 0;
            let dup = r.byte()? != 0;
            offline.push(Delivery {
                message: Message {
                    topic,
                    payload,
                    qos,
                    retain,
                },
                dup,
            });
        }
        snapshot.sessions.push(SavedSession {
            client_id,
            subscriptions,
            offline,
        });
    }
    if r.at != bytes.len() {
        return Err((r.at, "bytes are left after the last session"));
    }
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        let message = |topic: &str, payload: &str| Message {
            topic: topic.into(),
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            qos: Qos::AtLeastOnce,
            retain: false,
        };
        Snapshot {
            retained: vec![Message {
                retain: true,
                ..message("wr/system/topology", "{}")
            }],
            sessions: vec![SavedSession {
                client_id: "winter-river-engine@wr".into(),
                subscriptions: vec![("wr/+/command".to_owned(), Qos::AtLeastOnce)],
                offline: vec![Delivery {
                    message: message("wr/ups_a/command", "{\"command\":\"fault\"}"),
                    dup: true,
                }],
            }],
        }
    }

    #[test]
    fn a_snapshot_reads_back_as_written() {
        let bytes = encode(&sample());
        let back = decode(&bytes).expect("decodes");
        assert_eq!(encode(&back), bytes);
        assert_eq!(
            back.sessions[0].offline[0].message.topic.as_ref(),
            "wr/ups_a/command"
        );
        assert!(back.sessions[0].offline[0].dup);
    }

    #[test]
    fn every_truncation_and_a_wild_count_are_errors_not_panics() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut wild = bytes.clone();
        wild[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            decode(&wild).map(|_| ()),
            Err((MAGIC.len(), "a count is larger than the file"))
        );
    }
}
