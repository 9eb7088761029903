//! Statistics for gil-lab's measurements: pure functions, no I/O.
//!
//! Timings are noisy and rarely normal (a long right tail from interrupts,
//! other processes and frequency changes), so gil-lab summarises a cell by
//! its median with a percentile-bootstrap confidence interval (Efron &
//! Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13), flags
//! outliers with a robust rule instead of dropping them ([`outliers`]), and
//! calls one cell faster than another only when a rank test says so
//! ([`rank`], [`verdict`]). Trials that ran next to each other, in one
//! round, are compared pair by pair ([`paired`]). Every resampling is seeded, so the same samples
//! and seed always give the same interval.

mod bootstrap;
mod outliers;
mod paired;
mod rank;
mod summary;
mod verdict;

use serde::{Deserialize, Serialize};

pub use bootstrap::ratio_of_medians;
pub use paired::{MIN_PAIRS, Standing, paired_ratio, standing};
pub use rank::{MannWhitney, hodges_lehmann, mann_whitney_u};
pub use summary::{Summary, precise_enough};
pub use verdict::{Comparison, Verdict};

/// Confidence level of every interval in this module.
pub const CONFIDENCE: f64 = 0.95;

/// Number of bootstrap resamples behind every bootstrap interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// Significance level used when none is given: a difference with a larger
/// p-value is called a tie.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// A point estimate with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The estimate itself.
    pub point: f64,
    /// Lower end of the 95% confidence interval.
    pub ci_low: f64,
    /// Upper end of the 95% confidence interval.
    pub ci_high: f64,
}

/// The samples in ascending order. `total_cmp` keeps the sort total even if a
/// NaN slipped in (it sorts last) instead of panicking mid-run.
fn sorted(samples: &[f64]) -> Vec<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted
}

/// Median of ascending, non-empty samples (mean of the two middle values for
/// an even count).
fn median_of_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    debug_assert!(n > 0, "median of no samples");
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Median of non-empty samples in any order (mean of the two middle values
/// for an even count; a NaN sorts last).
pub fn median(samples: &[f64]) -> f64 {
    median_of_sorted(&sorted(samples))
}

/// The `q` quantile (0 <= q <= 1) of ascending, non-empty samples, linearly
/// interpolated between order statistics (Hyndman & Fan type 7, the default of
/// R and NumPy).
fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    debug_assert!(n > 0, "quantile of no samples");
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let below = h.floor() as usize;
    let above = (below + 1).min(n - 1);
    sorted[below] + (h - below as f64) * (sorted[above] - sorted[below])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4], [0, 0.25, 0.5, 0.975, 1])
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_of_sorted(&s, 0.0), 1.0);
        assert_eq!(quantile_of_sorted(&s, 0.25), 1.75);
        assert_eq!(quantile_of_sorted(&s, 0.5), 2.5);
        assert!((quantile_of_sorted(&s, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(quantile_of_sorted(&s, 1.0), 4.0);
    }
}
