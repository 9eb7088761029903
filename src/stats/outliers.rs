//! Outlier flagging with the modified z-score of Iglewicz & Hoaglin (*How to
//! Detect and Handle Outliers*, ASQC Basic References in Quality Control
//! vol. 16, 1993): `M_i = (x_i - median) / (1.4826 * MAD)`, and a sample is an
//! outlier when `|M_i| > 3.5`. The median absolute deviation (MAD) is robust to
//! the very outliers it looks for, unlike the standard deviation, and 1.4826
//! makes it estimate the standard deviation for normal data.
//!
//! When more than half of the samples are equal the MAD is 0 and the score is
//! undefined; then the mean absolute deviation scaled by 1.253314 (which also
//! estimates the standard deviation for normal data) takes its place, as in
//! IBM's documentation of the modified z-score. Outliers are flagged, never
//! dropped: gil-lab reports and warns about them.

/// Scale that turns the MAD into a standard-deviation estimate for normal data.
pub const MAD_SCALE: f64 = 1.4826;

/// Scale that turns the mean absolute deviation into a standard-deviation
/// estimate for normal data (sqrt(pi / 2)).
const MEAN_AD_SCALE: f64 = 1.253314;

/// A sample whose modified z-score exceeds this in absolute value is flagged.
pub const THRESHOLD: f64 = 3.5;

/// Median absolute deviation from `median` (unscaled).
pub(super) fn mad(samples: &[f64], median: f64) -> f64 {
    let deviations: Vec<f64> = samples.iter().map(|x| (x - median).abs()).collect();
    super::median(&deviations)
}

/// Indices (ascending) of the samples flagged as outliers, given their
/// median and unscaled MAD.
pub(super) fn outliers(samples: &[f64], median: f64, mad: f64) -> Vec<usize> {
    let scale = if mad > 0.0 {
        MAD_SCALE * mad
    } else {
        let mean_ad =
            samples.iter().map(|x| (x - median).abs()).sum::<f64>() / samples.len() as f64;
        MEAN_AD_SCALE * mean_ad
    };
    if scale <= 0.0 {
        // Every sample equals the median: nothing stands out.
        return Vec::new();
    }
    samples
        .iter()
        .enumerate()
        .filter(|(_, x)| ((*x - median) / scale).abs() > THRESHOLD)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mad_of_a_known_sample() {
        // median 2; |deviations| = 1 1 0 0 2 4 7 -> median 1
        let s = [1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0];
        assert_eq!(mad(&s, 2.0), 1.0);
    }

    #[test]
    fn flags_only_the_far_sample() {
        let s = [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.60];
        let m = super::super::median(&s);
        let d = mad(&s, m);
        assert_eq!(outliers(&s, m, d), vec![6]);
    }

    #[test]
    fn threshold_is_exclusive() {
        // median 0, MAD 1: scores are x / 1.4826; 3.5 * 1.4826 = 5.1891.
        let s = [-1.0, -1.0, 0.0, 1.0, 1.0, 5.18, 5.2];
        assert_eq!(outliers(&s, 0.0, 1.0), vec![6]);
    }

    #[test]
    fn zero_mad_falls_back_to_mean_absolute_deviation() {
        // Median 1 and MAD 0; mean absolute deviation = 9/6 = 1.5, scaled
        // 1.88: 10 scores 4.79 (outlier).
        let s = [1.0, 1.0, 1.0, 1.0, 1.0, 10.0];
        assert_eq!(mad(&s, 1.0), 0.0);
        assert_eq!(outliers(&s, 1.0, 0.0), vec![5]);
        assert!(outliers(&[3.0; 4], 3.0, 0.0).is_empty());
    }
}
