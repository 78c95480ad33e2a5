//! Percentiles over samples (nearest rank), for latency figures.

/// Summary of a sample set [ms].
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Nearest-rank percentile of sorted samples (`q` in 0..=1).
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn summarize(samples: &[f64]) -> Summary {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    Summary {
        n: s.len(),
        min: s.first().copied().unwrap_or(f64::NAN),
        p50: pct(&s, 0.50),
        p90: pct(&s, 0.90),
        p99: pct(&s, 0.99),
        max: s.last().copied().unwrap_or(f64::NAN),
        mean: s.iter().sum::<f64>() / s.len().max(1) as f64,
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n {} · min {:.1} · p50 {:.1} · p90 {:.1} · p99 {:.1} · max {:.1} · mean {:.1} ms",
            self.n, self.min, self.p50, self.p90, self.p99, self.max, self.mean
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = summarize(&v);
        assert_eq!((s.p50, s.p99, s.max, s.min), (50.0, 99.0, 100.0, 1.0));
        assert_eq!(summarize(&[7.0]).p99, 7.0);
    }
}
