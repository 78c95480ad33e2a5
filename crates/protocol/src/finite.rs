//! Serde helpers that keep non-finite numbers off the wire: JSON has no NaN or
//! infinity (serde_json would write `null`), so docs/protocol.md says omit the field.

use alloc::collections::BTreeMap;
use alloc::string::String;
use serde::Serializer;
use serde::ser::SerializeMap;

/// `skip_serializing_if` for `Option<f64>`: skip `None`, NaN and ±infinity.
pub(crate) fn skip_f64(value: &Option<f64>) -> bool {
    !matches!(value, Some(v) if v.is_finite())
}

/// `serialize_with` for a map of numbers: writes only the finite entries.
pub(crate) fn finite_map<S: Serializer>(
    map: &BTreeMap<String, f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let finite = map.iter().filter(|(_, v)| v.is_finite());
    let mut out = serializer.serialize_map(Some(finite.clone().count()))?;
    for (k, v) in finite {
        out.serialize_entry(k, v)?;
    }
    out.end()
}
