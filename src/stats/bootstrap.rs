//! Seeded percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample
//! the measured trials with replacement, recompute the statistic, and read the
//! confidence interval off the 2.5% and 97.5% quantiles of the recomputed
//! values. It assumes nothing about the shape of the timing distribution,
//! which is why gil-lab uses it for medians and ratios of medians.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{BOOTSTRAP_RESAMPLES, CONFIDENCE, Estimate, median, quantile_of_sorted, sorted};

/// The generator behind every resampling: small, fast, and the same stream
/// for the same seed on every platform, so intervals are reproducible.
pub(super) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Median of one resample (with replacement) of ascending samples. `indices`
/// is scratch space of the samples' length, reused across resamples.
fn resampled_median(sorted: &[f64], indices: &mut [usize], rng: &mut Xoshiro256PlusPlus) -> f64 {
    let n = sorted.len();
    for index in indices.iter_mut() {
        *index = rng.random_range(0..n);
    }
    // The samples are sorted, so sorting the drawn indices sorts the resample.
    indices.sort_unstable();
    if n % 2 == 1 {
        sorted[indices[n / 2]]
    } else {
        (sorted[indices[n / 2 - 1]] + sorted[indices[n / 2]]) / 2.0
    }
}

/// The central [`CONFIDENCE`] interval of bootstrap replicates.
fn percentile_interval(replicates: &[f64]) -> (f64, f64) {
    let replicates = sorted(replicates);
    let tail = (1.0 - CONFIDENCE) / 2.0;
    (
        quantile_of_sorted(&replicates, tail),
        quantile_of_sorted(&replicates, 1.0 - tail),
    )
}

/// 95% percentile-bootstrap interval of the median of ascending, non-empty
/// samples.
pub(super) fn median_interval(sorted: &[f64], seed: u64) -> (f64, f64) {
    let mut rng = rng(seed);
    let mut indices = vec![0; sorted.len()];
    let replicates: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| resampled_median(sorted, &mut indices, &mut rng))
        .collect();
    percentile_interval(&replicates)
}

/// `median(numerator) / median(denominator)` with a 95% percentile-bootstrap
/// interval, both sides resampled independently (they are independent sets of
/// trials). gil-lab's speedup is `ratio_of_medians(sequential, cell, seed)`.
///
/// # Panics
/// If either side is empty: a ratio needs at least one trial on each side.
pub fn ratio_of_medians(numerator: &[f64], denominator: &[f64], seed: u64) -> Estimate {
    assert!(
        !numerator.is_empty() && !denominator.is_empty(),
        "ratio_of_medians needs samples on both sides"
    );
    let num = sorted(numerator);
    let den = sorted(denominator);
    let mut rng = rng(seed);
    let mut num_indices = vec![0; num.len()];
    let mut den_indices = vec![0; den.len()];
    let replicates: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let top = resampled_median(&num, &mut num_indices, &mut rng);
            top / resampled_median(&den, &mut den_indices, &mut rng)
        })
        .collect();
    let (ci_low, ci_high) = percentile_interval(&replicates);
    Estimate {
        point: median(numerator) / median(denominator),
        ci_low,
        ci_high,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_interval_is_deterministic_and_brackets_the_median() {
        let samples = sorted(&[1.02, 0.98, 1.00, 1.05, 0.97, 1.01, 0.99, 1.03]);
        let a = median_interval(&samples, 7);
        assert_eq!(a, median_interval(&samples, 7));
        let m = median(&samples);
        assert!(a.0 <= m && m <= a.1, "{a:?} around {m}");
        assert!(a.0 >= 0.97 && a.1 <= 1.05);
    }

    #[test]
    fn median_interval_of_three_samples_spans_them() {
        // With 3 samples the resampled median is the smallest one with
        // probability 7/27, far above 2.5%: the interval must be the full range.
        assert_eq!(median_interval(&[1.0, 2.0, 3.0], 1), (1.0, 3.0));
    }

    #[test]
    fn constant_samples_give_a_zero_width_interval() {
        assert_eq!(median_interval(&[2.0; 6], 3), (2.0, 2.0));
        let r = ratio_of_medians(&[4.0; 5], &[2.0; 5], 3);
        assert_eq!((r.point, r.ci_low, r.ci_high), (2.0, 2.0, 2.0));
    }

    #[test]
    fn ratio_of_medians_brackets_the_true_ratio() {
        // Sequential about 2 s, cell about 1 s: speedup about 2.
        let sequential = [2.00, 2.02, 1.98, 2.05, 1.99, 2.01, 2.03];
        let cell = [1.00, 1.01, 0.99, 1.02, 1.00, 0.98, 1.03];
        let r = ratio_of_medians(&sequential, &cell, 42);
        assert_eq!(r.point, 2.01 / 1.00);
        assert!(r.ci_low < r.point && r.point < r.ci_high, "{r:?}");
        assert!(r.ci_low > 1.9 && r.ci_high < 2.1, "{r:?}");
        assert_eq!(r, ratio_of_medians(&sequential, &cell, 42));
    }
}
