//! Ratios of trials that ran next to each other. A *round* runs the cells
//! that are compared back to back, so a slow stretch of the machine slows
//! both sides of a pair; the ratio of each pair cancels it, and the interval
//! is computed over rounds, never over two independent sets of trials.
//!
//! The estimate is the geometric mean of the per-round ratios with a
//! Student-t interval on their logarithms (the paired t-test of the log
//! times). With the 3 to 15 rounds a run gives a cell, a percentile
//! bootstrap would be too narrow: over 3 rounds it spans only their range,
//! which holds the true median with probability 75%, not 95%. The t interval
//! is exact for log-normal timing noise and widens honestly when one round
//! is an outlier.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::{CONFIDENCE, Estimate};

/// Fewest pairs a paired ratio is computed from (one pair has no spread).
pub const MIN_PAIRS: usize = 2;

/// `numerator / denominator` over pairs of trials from the same rounds:
/// geometric mean of the per-pair ratios with its 95% Student-t interval.
/// `None` with fewer than [`MIN_PAIRS`] pairs or a non-positive time.
pub fn paired_ratio(pairs: &[(f64, f64)]) -> Option<Estimate> {
    if pairs.len() < MIN_PAIRS || pairs.iter().any(|&(a, b)| !(a > 0.0 && b > 0.0)) {
        return None;
    }
    let logs: Vec<f64> = pairs.iter().map(|&(a, b)| (a / b).ln()).collect();
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let variance = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = t_quantile(logs.len() - 1) * (variance / n).sqrt();
    Some(Estimate {
        point: mean.exp(),
        ci_low: (mean - half).exp(),
        ci_high: (mean + half).exp(),
    })
}

/// The two-sided [`CONFIDENCE`] quantile of Student's t with `df` degrees of
/// freedom (12.71 for 1, 4.30 for 2, 1.96 in the limit).
fn t_quantile(df: usize) -> f64 {
    let p = 1.0 - (1.0 - CONFIDENCE) / 2.0;
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::INFINITY, |t| t.inverse_cdf(p))
}

/// How two cells compare over their common rounds, for the verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    /// The other cell is significantly slower (the ratio's CI is above 1).
    Slower(Estimate),
    /// The ratio's whole CI lies within ±margin of 1: equivalent.
    Equivalent(Estimate),
    /// Neither yet: more rounds would tell.
    Undecided(Estimate),
    /// Too few common rounds for a ratio.
    TooFewRounds,
}

/// Compares `other` with `leader` from pairs `(other, leader)` of work times:
/// equivalent when the ratio's whole CI is within ±`margin` (0.05 = ±5%),
/// slower when it is above 1 (and not within the margin), else undecided.
pub fn standing(pairs: &[(f64, f64)], margin: f64) -> Standing {
    match paired_ratio(pairs) {
        None => Standing::TooFewRounds,
        // Within the margin first: a difference the margin calls negligible
        // is a tie even when it is significant.
        Some(ratio) if ratio.ci_low >= 1.0 - margin && ratio.ci_high <= 1.0 + margin => {
            Standing::Equivalent(ratio)
        }
        Some(ratio) if ratio.ci_low > 1.0 => Standing::Slower(ratio),
        Some(ratio) => Standing::Undecided(ratio),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, expected) in [(1, 12.706), (2, 4.303), (5, 2.571), (30, 2.042)] {
            assert!((t_quantile(df) - expected).abs() < 1e-3, "df {df}");
        }
    }

    #[test]
    fn a_drift_shared_by_both_sides_cancels() {
        // The machine slows down by up to 40% over the rounds; the cell is
        // always half the baseline's time.
        let pairs: Vec<(f64, f64)> = [1.0, 1.1, 1.4, 1.2, 1.05]
            .iter()
            .map(|&speed| (2.0 * speed, speed))
            .collect();
        let ratio = paired_ratio(&pairs).unwrap();
        assert!((ratio.point - 2.0).abs() < 1e-12);
        assert!(ratio.ci_high - ratio.ci_low < 1e-9, "{ratio:?}");
        // Unpaired, the same drift makes a wide interval.
        let wide = crate::stats::ratio_of_medians(
            &pairs.iter().map(|p| p.0).collect::<Vec<_>>(),
            &pairs.iter().map(|p| p.1).collect::<Vec<_>>(),
            1,
        );
        assert!(wide.ci_high - wide.ci_low > 0.5, "{wide:?}");
    }

    #[test]
    fn the_interval_widens_with_noise_and_narrows_with_rounds() {
        let noisy = [(1.1, 1.0), (0.95, 1.0), (1.05, 1.0)];
        let few = paired_ratio(&noisy).unwrap();
        assert!(few.ci_low < 1.0 && few.ci_high > 1.1, "{few:?}");
        let many: Vec<_> = noisy.iter().cycle().take(30).copied().collect();
        let narrow = paired_ratio(&many).unwrap();
        assert!(narrow.ci_high - narrow.ci_low < (few.ci_high - few.ci_low) / 4.0);
        assert_eq!(paired_ratio(&noisy[..1]), None);
        assert_eq!(paired_ratio(&[(1.0, 0.0), (1.0, 1.0)]), None);
    }

    #[test]
    fn standings() {
        let slower = [(1.5, 1.0), (1.52, 1.01), (1.49, 0.99)];
        assert!(matches!(standing(&slower, 0.05), Standing::Slower(_)));
        let same: Vec<_> = [(1.0, 1.0), (1.01, 1.0), (0.99, 1.0), (1.0, 1.01)]
            .iter()
            .cycle()
            .take(8)
            .copied()
            .collect();
        assert!(matches!(standing(&same, 0.05), Standing::Equivalent(_)));
        let negligible = [(1.01, 1.0), (1.011, 1.0), (1.009, 1.0)];
        assert!(matches!(
            standing(&negligible, 0.05),
            Standing::Equivalent(_)
        ));
        let close = [(1.04, 1.0), (0.97, 1.0), (1.08, 1.0)];
        assert!(matches!(standing(&close, 0.05), Standing::Undecided(_)));
        assert_eq!(standing(&close[..1], 0.05), Standing::TooFewRounds);
    }
}
