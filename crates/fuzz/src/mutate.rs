//! The mutator: turns a seed into a nearby input — bytes flipped, inserted,
//! deleted, duplicated or spliced from another seed, tokens a parser cares about put
//! in, and (for JSON seeds) one leaf swapped for a value at the edge of what is legal.
//! Deterministic for a given RNG state, so a failing input can be found again.

use serde_json::Value;

/// xorshift64*: small, fast, deterministic; good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Text a JSON, TOML or topic parser treats specially.
const TOKENS: &[&str] = &[
    "1e308",
    "-1e308",
    "1e999",
    "NaN",
    "inf",
    "-0",
    "0.0",
    "4294967296",
    "18446744073709551616",
    "-9223372036854775809",
    "1.7976931348623157e308",
    "5e-324",
    "null",
    "true",
    "\"\"",
    "\"system\"",
    "\\u0000",
    "\\ud800",
    "\u{0}",
    "\u{feff}",
    "é",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "=",
    "[[",
    "]]",
    "#",
    "+",
    "/",
    "//",
    "\n",
    "\r\n",
    "'''",
    "\"\"\"",
    "{\"a\":",
    "[[node]]\n",
    "[[event]]\n",
    "[[step]]\n",
    "[[expect]]\n",
    "wait_for = { node = \"ups_a\", field = \"status\", equals = \"ok\", within_s = 5 }\n",
    "params = { kw = 1e308 }\n",
    "feeds = [\"util_a\"]\n",
    "kind = \"ups\"\n",
];

/// JSON values at the edges of what a field may hold.
fn edge_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => serde_json::json!(1e308),
        3 => serde_json::json!(-1e308),
        4 => serde_json::json!(0),
        5 => serde_json::json!(-1),
        6 => serde_json::json!(u64::MAX),
        7 => serde_json::json!(i64::MIN),
        8 => serde_json::json!(5e-324),
        9 => Value::String(String::new()),
        10 => Value::String("system".into()),
        11 => Value::String("x".repeat(rng.below(70_000))),
        12 => serde_json::json!([1, "a", null]),
        _ => serde_json::json!({"nested": {"deeper": [1.5]}}),
    }
}

/// Replaces one leaf (or a key) of a JSON document with an edge value.
fn mutate_json(v: &mut Value, rng: &mut Rng) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            let k = rng.below(map.len());
            let key = map.keys().nth(k).cloned().unwrap_or_default();
            match rng.below(4) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(format!("{key}_x"), edge_value(rng));
                }
                _ => {
                    if let Some(child) = map.get_mut(&key) {
                        if rng.chance(2) && (child.is_object() || child.is_array()) {
                            mutate_json(child, rng);
                        } else {
                            *child = edge_value(rng);
                        }
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let k = rng.below(items.len());
            if rng.chance(3) {
                items.remove(k);
            } else if rng.chance(2) {
                mutate_json(&mut items[k], rng);
            } else {
                items[k] = edge_value(rng);
            }
        }
        other => *other = edge_value(rng),
    }
}

/// One input derived from `seeds` (at least one).
pub fn mutate(seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())];
    // A structure-aware change a third of the time, when the seed is JSON.
    if rng.chance(3)
        && let Ok(mut v) = serde_json::from_slice::<Value>(seed)
    {
        for _ in 0..=rng.below(2) {
            mutate_json(&mut v, rng);
        }
        return serde_json::to_vec(&v).unwrap_or_default();
    }
    let mut data = seed.clone();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(64) + 1);
                data.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below((len - i).min(256) + 1);
                let chunk: Vec<u8> = data[i..i + n].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
            5 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let i = rng.below(len + 1);
                data.splice(i..i, token.iter().copied());
            }
            6 if len > 0 => {
                // Splice: this seed's head, another's tail.
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(len);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => {
                // A number made longer or stranger where a digit was.
                if let Some(i) = (0..len)
                    .map(|k| (k + rng.below(len)) % len)
                    .find(|&k| data[k].is_ascii_digit())
                {
                    let digits = b"9999999999999999999999e9";
                    data.splice(i..i, digits.iter().copied());
                }
            }
            _ => {
                data.truncate(rng.below(len + 1));
            }
        }
    }
    data
}
