//! Node ids: `^[a-z0-9][a-z0-9_-]{0,31}$`; `system` is reserved for the engine.

use crate::SYSTEM_ID;

/// Longest node id \[chars\].
pub const MAX_ID_LEN: usize = 32;

/// Why a node id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("node id is empty")]
    Empty,
    #[error("node id is longer than 32 characters")]
    TooLong,
    #[error("node id must start with a lowercase letter or digit")]
    BadFirstChar,
    #[error("node id may only hold a-z, 0-9, '_' and '-'")]
    BadChar,
    #[error("node id `system` is reserved for the engine")]
    Reserved,
}

/// Checks a node id against the rules of docs/protocol.md, `system` included as reserved.
pub fn validate_node_id(id: &str) -> Result<(), IdError> {
    let bytes = id.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(IdError::Empty);
    };
    if bytes.len() > MAX_ID_LEN {
        return Err(IdError::TooLong);
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return Err(IdError::BadFirstChar);
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(IdError::BadChar);
    }
    if id == SYSTEM_ID {
        return Err(IdError::Reserved);
    }
    Ok(())
}
