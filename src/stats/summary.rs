//! The summary of one cell's trials, and the adaptive-stopping test built on
//! it.

use serde::{Deserialize, Serialize};

use super::{bootstrap, median_of_sorted, outliers, sorted};

/// Seed of the resampling behind [`precise_enough`]: fixed, so that the
/// decision to stop depends on the samples alone.
const PRECISION_SEED: u64 = 0x0067_696c_2d6c_6162; // "gil-lab"

/// Descriptive statistics of one set of samples (e.g. one cell's work-phase
/// times in seconds), with a 95% bootstrap CI of the median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median (mean of the two middle samples for an even count).
    pub median: f64,
    /// Lower end of the 95% percentile-bootstrap CI of the median.
    pub ci_low: f64,
    /// Upper end of the 95% percentile-bootstrap CI of the median.
    pub ci_high: f64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator; 0 for one sample).
    pub stddev: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Indices, in the order the samples were given, of the samples flagged
    /// as outliers by the modified z-score rule (see `stats::outliers`).
    pub outliers: Vec<usize>,
}

impl Summary {
    /// Summarises `samples`; the bootstrap CI is deterministic given `seed`.
    ///
    /// # Panics
    /// If `samples` is empty: there is nothing to summarise, and a cell with
    /// no successful trial must be reported as such by the caller.
    pub fn of(samples: &[f64], seed: u64) -> Summary {
        assert!(!samples.is_empty(), "Summary::of needs at least one sample");
        let n = samples.len();
        let ascending = sorted(samples);
        let median = median_of_sorted(&ascending);
        let (ci_low, ci_high) = bootstrap::median_interval(&ascending, seed);
        let mean = samples.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            let squares: f64 = samples.iter().map(|x| (x - mean).powi(2)).sum();
            (squares / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let mad = outliers::mad(samples, median);
        Summary {
            n,
            median,
            ci_low,
            ci_high,
            mean,
            stddev,
            min: ascending[0],
            max: ascending[n - 1],
            mad,
            outliers: outliers::outliers(samples, median, mad),
        }
    }

    /// Half the width of the CI relative to the median: 0.03 means "median
    /// +- 3%". Infinite when the median is 0.
    pub fn relative_half_width(&self) -> f64 {
        let half_width = (self.ci_high - self.ci_low) / 2.0;
        if self.median == 0.0 {
            f64::INFINITY
        } else {
            (half_width / self.median).abs()
        }
    }
}

/// Adaptive stopping for the run loop: true once there are at least
/// `min_runs` samples (and never fewer than 2, whose CI says nothing) and
/// the median's CI half-width is within `target_rel_half_width` of the median
/// (e.g. 0.03 for 3%).
pub fn precise_enough(samples: &[f64], target_rel_half_width: f64, min_runs: usize) -> bool {
    samples.len() >= min_runs.max(2)
        && Summary::of(samples, PRECISION_SEED).relative_half_width() <= target_rel_half_width
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_samples() {
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 1);
        assert_eq!(s.n, 8);
        assert_eq!(s.median, 4.5);
        assert_eq!(s.mean, 5.0);
        // Population variance 4, sample variance 32 / 7.
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        // |x - 4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 -> median 0.5
        assert_eq!(s.mad, 0.5);
        // 9 scores (9 - 4.5) / 0.7413 = 6.07: flagged; 2 scores 3.37: not.
        assert_eq!(s.outliers, vec![7]);
        assert!(s.ci_low <= s.median && s.median <= s.ci_high);
        assert!(s.ci_low >= s.min && s.ci_high <= s.max, "{s:?}");
    }

    #[test]
    fn one_sample() {
        let s = Summary::of(&[1.5], 9);
        assert_eq!((s.n, s.median, s.ci_low, s.ci_high), (1, 1.5, 1.5, 1.5));
        assert_eq!((s.stddev, s.mad), (0.0, 0.0));
        assert!(s.outliers.is_empty());
    }

    #[test]
    fn outlier_indices_follow_the_given_order() {
        let s = Summary::of(&[1.0, 9.0, 1.01, 0.99, 1.02, 0.98], 1);
        assert_eq!(s.outliers, vec![1]);
    }

    #[test]
    fn same_seed_same_interval() {
        let samples = [0.51, 0.49, 0.55, 0.50, 0.52, 0.48, 0.53];
        assert_eq!(Summary::of(&samples, 5), Summary::of(&samples, 5));
    }

    #[test]
    fn relative_half_width_is_half_the_ci_over_the_median() {
        let mut s = Summary::of(&[1.0], 0);
        (s.median, s.ci_low, s.ci_high) = (2.0, 1.9, 2.1);
        assert!((s.relative_half_width() - 0.05).abs() < 1e-12);
        s.median = 0.0;
        assert!(s.relative_half_width().is_infinite());
    }

    #[test]
    fn precise_enough_needs_runs_and_a_narrow_interval() {
        let tight = [1.000, 1.001, 0.999, 1.002, 0.998, 1.000, 1.001];
        assert!(precise_enough(&tight, 0.03, 5));
        assert!(!precise_enough(&tight[..4], 0.03, 5), "too few runs");
        assert!(
            !precise_enough(&tight[..1], 0.03, 1),
            "one run says nothing"
        );
        let loose = [1.0, 1.3, 0.8, 1.2, 0.7, 1.1, 0.9];
        assert!(!precise_enough(&loose, 0.03, 5));
    }

    #[test]
    fn summary_round_trips_through_json() {
        let s = Summary::of(&[0.3, 0.31, 0.29, 0.9], 2);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
    }
}
