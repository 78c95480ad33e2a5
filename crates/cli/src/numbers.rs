//! Parsers for the numeric flags, whose errors say what is wrong and what is
//! allowed (`--speed -1: a negative number; allowed: a number > 0 …`) instead of
//! clap's "unexpected argument" or "not in 0..=4294967295". Flags taking negative
//! looking values also need `allow_negative_numbers = true`, so that clap hands
//! `-1` to the parser instead of reading it as a flag.

/// A whole number in `MIN ..= MAX`, as `T` (`u8`, `u32`, `u64`).
pub fn whole<T, const MIN: u64, const MAX: u64>(text: &str) -> Result<T, String>
where
    T: TryFrom<u64>,
{
    let allowed = if MAX == u64::MAX {
        format!("allowed: a whole number ≥ {MIN}")
    } else {
        format!("allowed: a whole number from {MIN} to {MAX}")
    };
    let t = text.trim();
    let value = match t.parse::<i128>() {
        Ok(v) => v,
        Err(_) if t.parse::<f64>().is_ok_and(f64::is_finite) => {
            return Err(format!("`{text}` is not a whole number; {allowed}"));
        }
        Err(_) => return Err(format!("`{text}` is not a number; {allowed}")),
    };
    if value < 0 {
        return Err(format!("{value} is negative; {allowed}"));
    }
    if value < i128::from(MIN) {
        return Err(format!("{value} is too small; {allowed}"));
    }
    if value > i128::from(MAX) {
        return Err(format!("{value} is too large; {allowed}"));
    }
    u64::try_from(value)
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| format!("{value} is too large; {allowed}"))
}

/// A finite number > 0 and ≤ `max`; `zero` says why 0 is refused; `allowed` ends
/// every error.
fn positive(text: &str, max: f64, zero: &str, allowed: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number; {allowed}"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is not a finite number; {allowed}"));
    }
    if value < 0.0 {
        return Err(format!("{value} is negative; {allowed}"));
    }
    if value == 0.0 {
        return Err(format!("0 {zero}; {allowed}"));
    }
    if value > max {
        return Err(format!("{value} is too large; {allowed}"));
    }
    Ok(value)
}

/// A finite number > 0 (the simulation speed: 1 = real time, at most 1,000,000).
pub fn speed(text: &str) -> Result<f64, String> {
    positive(
        text,
        MAX_SPEED,
        "would stop the clock",
        "allowed: a number > 0 and ≤ 1000000 (simulated seconds per wall second; 1 = real time, 0.5 = half speed)",
    )
}

/// A finite number of seconds > 0 (`--wait-s`, `--status-interval-s`, `--sample-s`).
pub fn seconds(text: &str) -> Result<f64, String> {
    positive(
        text,
        f64::MAX,
        "is too small",
        "allowed: a number of seconds > 0, e.g. 2 or 0.5",
    )
}

/// The fastest `--speed`: a simulated ≈ 11.6 days a wall second. Far above what the
/// engine catches up with on a large site, and far below what overflows its clock.
pub const MAX_SPEED: f64 = 1_000_000.0;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_say_what_is_wrong_and_what_is_allowed() {
        let p = whole::<u32, 1, { u32::MAX as u64 }>;
        assert_eq!(p("100"), Ok(100));
        assert_eq!(
            p("-5"),
            Err("-5 is negative; allowed: a whole number from 1 to 4294967295".into())
        );
        assert!(p("0").unwrap_err().starts_with("0 is too small; allowed"));
        assert!(
            p("4294967296")
                .unwrap_err()
                .starts_with("4294967296 is too large")
        );
        assert!(
            p("1.5")
                .unwrap_err()
                .starts_with("`1.5` is not a whole number")
        );
        assert!(p("ten").unwrap_err().starts_with("`ten` is not a number"));
        assert_eq!(
            whole::<u64, 1, { u64::MAX }>("0"),
            Err("0 is too small; allowed: a whole number ≥ 1".into())
        );
    }

    #[test]
    fn speed_is_a_positive_finite_number() {
        assert_eq!(speed("10"), Ok(10.0));
        assert_eq!(speed("0.5"), Ok(0.5));
        assert!(
            speed("-1")
                .unwrap_err()
                .starts_with("-1 is negative; allowed: a number > 0")
        );
        assert!(
            speed("0")
                .unwrap_err()
                .starts_with("0 would stop the clock")
        );
        assert!(speed("inf").unwrap_err().contains("not a finite number"));
        assert!(speed("NaN").unwrap_err().contains("not a finite number"));
        assert!(
            speed("1e9")
                .unwrap_err()
                .starts_with("1000000000 is too large")
        );
    }

    #[test]
    fn seconds_are_positive_and_finite() {
        assert_eq!(seconds("2"), Ok(2.0));
        assert!(
            seconds("-2")
                .unwrap_err()
                .starts_with("-2 is negative; allowed: a number of seconds > 0")
        );
        assert!(seconds("0").unwrap_err().starts_with("0 is too small"));
        assert!(
            seconds("soon")
                .unwrap_err()
                .starts_with("`soon` is not a number")
        );
    }
}
