//! Small statistics over measured samples: min, median, max.

use serde_json::{Value, json};

/// `{n, min, median, max, samples}` of `values` (sorted in the output).
pub fn summary(values: &[f64]) -> Value {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    json!({
        "n": sorted.len(),
        "min": sorted.first(),
        "median": median(&sorted),
        "max": sorted.last(),
        "samples": sorted,
    })
}

/// The median of sorted values.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    (n > 0).then(|| (sorted[(n - 1) / 2] + sorted[n / 2]) / 2.0)
}
