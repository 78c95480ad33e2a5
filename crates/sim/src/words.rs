//! How lists read in the messages people get (refusals, file errors, reports).

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(words: &[&str]) -> String {
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
