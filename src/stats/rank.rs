//! Rank-based two-sample comparison: the Mann-Whitney U test (Mann & Whitney,
//! *Ann. Math. Statist.* 18(1), 1947) and the Hodges-Lehmann estimate of the
//! shift between two samples with its distribution-free confidence interval
//! (Hodges & Lehmann, *Ann. Math. Statist.* 34(2), 1963; Bauer, *JASA* 67,
//! 1972). Neither assumes normal timings, and a single slow trial moves a rank
//! by one place, not the result.
//!
//! p-values are exact when there are no ties and both samples are small (the
//! null distribution of U counts the orderings of the pooled samples, the
//! coefficients of the Gaussian binomial coefficient; Di Bucchianico, *J.
//! Statist. Plann. Inference* 79, 1999); otherwise they come from the normal
//! approximation with the tie-corrected variance and a continuity correction
//! (Lehmann, *Nonparametrics*, 1975, ch. 1.4). This is what SciPy's
//! `mannwhitneyu(method="auto")` and R's `wilcox.test` do.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::{CONFIDENCE, Estimate, median_of_sorted, sorted};

/// Largest sample size for which the exact null distribution is used.
/// Beyond it the normal approximation is accurate and the exact counts would
/// outgrow 128-bit integers.
const EXACT_LIMIT: usize = 50;

/// Result of a two-sided Mann-Whitney U test of `a` against `b`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MannWhitney {
    /// U statistic of `a`: pairs (a_i, b_j) with a_i > b_j, ties counted 1/2.
    /// Below `len(a) * len(b) / 2` means `a` tends to be smaller (faster).
    pub u: f64,
    /// Standardised U (tie-corrected, continuity-corrected; 0 when every
    /// value is equal). Negative when `a` tends to be smaller.
    pub z: f64,
    /// Two-sided p-value: the chance of a U at least this far from the middle
    /// if both samples came from the same distribution.
    pub p_value: f64,
    /// True when `p_value` comes from the exact distribution of U, false when
    /// from the normal approximation.
    pub exact: bool,
}

/// 1-based ranks of the pooled values (mid-ranks for ties), plus the tie
/// correction term sum(t^3 - t) over groups of t tied values.
fn pooled_ranks(pooled: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..pooled.len()).collect();
    order.sort_unstable_by(|&i, &j| pooled[i].total_cmp(&pooled[j]));
    let mut ranks = vec![0.0; pooled.len()];
    let mut ties = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && pooled[order[end]] == pooled[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold equal values: they share the
        // mean of ranks start+1..=end.
        let mid_rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = mid_rank;
        }
        let t = (end - start) as f64;
        ties += t * t * t - t;
        start = end;
    }
    (ranks, ties)
}

/// Number of orderings of `m` + `n` distinct values giving each U = 0..=m*n:
/// the coefficients of the Gaussian binomial coefficient [m+n choose m]_q =
/// prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i), built one factor at a time so
/// every intermediate polynomial is itself a Gaussian binomial coefficient.
fn u_counts(m: usize, n: usize) -> Vec<i128> {
    let mut coefficients = vec![0i128; m * n + 1];
    coefficients[0] = 1;
    for i in 1..=m {
        // Multiply by (1 - q^(n+i)), from the top so each term is used once.
        for k in (n + i..coefficients.len()).rev() {
            coefficients[k] -= coefficients[k - n - i];
        }
        // Divide by (1 - q^i): multiply by 1 + q^i + q^2i + ..., a running sum.
        for k in i..coefficients.len() {
            coefficients[k] += coefficients[k - i];
        }
    }
    coefficients
}

/// P(U <= u) under the null hypothesis, from exact counts.
fn exact_cdf(counts: &[i128], u: f64) -> f64 {
    if u < 0.0 {
        return 0.0;
    }
    let total: i128 = counts.iter().sum();
    let last = (u.floor() as usize).min(counts.len() - 1);
    let below: i128 = counts[..=last].iter().sum();
    below as f64 / total as f64
}

/// Two-sided Mann-Whitney U test: do `a` and `b` come from distributions
/// shifted from one another?
///
/// # Panics
/// If either sample is empty.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> MannWhitney {
    assert!(
        !a.is_empty() && !b.is_empty(),
        "mann_whitney_u needs samples on both sides"
    );
    let (m, n) = (a.len() as f64, b.len() as f64);
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let (ranks, ties) = pooled_ranks(&pooled);
    let rank_sum_a: f64 = ranks[..a.len()].iter().sum();
    let u = rank_sum_a - m * (m + 1.0) / 2.0;

    let mean = m * n / 2.0;
    let total = m + n;
    let variance = m * n / 12.0 * ((total + 1.0) - ties / (total * (total - 1.0)));
    let z = if variance > 0.0 {
        // Continuity correction: move half a step toward the middle.
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        distance.copysign(u - mean) / variance.sqrt()
    } else {
        0.0
    };

    let exact = ties == 0.0 && a.len() <= EXACT_LIMIT && b.len() <= EXACT_LIMIT;
    let p_value = if exact {
        let counts = u_counts(a.len(), b.len());
        // The distribution is symmetric: P(U >= u) = P(U <= mn - u).
        let lower = exact_cdf(&counts, u);
        let upper = exact_cdf(&counts, m * n - u);
        (2.0 * lower.min(upper)).min(1.0)
    } else if variance > 0.0 {
        (2.0 * Normal::standard().sf(z.abs())).min(1.0)
    } else {
        1.0
    };
    MannWhitney {
        u,
        z,
        p_value,
        exact,
    }
}

/// Rank (1-based) of the pairwise difference at the low end of the
/// Hodges-Lehmann interval: the largest `k` with P(U <= k - 1) <= alpha / 2,
/// at least 1 (smaller samples cannot reach the confidence level; the
/// interval is then the full range of differences).
fn lower_rank(m: usize, n: usize) -> usize {
    let tail = (1.0 - CONFIDENCE) / 2.0;
    let k = if m <= EXACT_LIMIT && n <= EXACT_LIMIT {
        let counts = u_counts(m, n);
        let total: i128 = counts.iter().sum();
        let mut below = 0i128;
        let mut k = 0;
        // Count how many of the lowest U values fit in the tail.
        while k < counts.len() && (below + counts[k]) as f64 / total as f64 <= tail {
            below += counts[k];
            k += 1;
        }
        k
    } else {
        let (m, n) = (m as f64, n as f64);
        let z = Normal::standard().inverse_cdf(1.0 - tail);
        let k = m * n / 2.0 - z * (m * n * (m + n + 1.0) / 12.0).sqrt();
        k.floor().max(0.0) as usize
    };
    k.max(1)
}

/// Hodges-Lehmann estimate of the shift `a - b` (the median of all pairwise
/// differences a_i - b_j) with its 95% distribution-free CI (order statistics
/// of the differences picked by the null distribution of U). Negative means
/// `a` is smaller (for times: faster) by about that much.
///
/// # Panics
/// If either sample is empty.
pub fn hodges_lehmann(a: &[f64], b: &[f64]) -> Estimate {
    assert!(
        !a.is_empty() && !b.is_empty(),
        "hodges_lehmann needs samples on both sides"
    );
    let differences: Vec<f64> = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| x - y))
        .collect();
    let differences = sorted(&differences);
    let k = lower_rank(a.len(), b.len());
    let count = differences.len();
    Estimate {
        point: median_of_sorted(&differences),
        ci_low: differences[k - 1],
        ci_high: differences[count - k],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn u_counts_are_gaussian_binomial_coefficients() {
        // [4 choose 2]_q = 1 + q + 2q^2 + q^3 + q^4
        assert_eq!(u_counts(2, 2), vec![1, 1, 2, 1, 1]);
        let counts = u_counts(5, 5);
        assert_eq!(counts.iter().sum::<i128>(), 252);
        assert_eq!(&counts[..5], &[1, 1, 2, 3, 5]);
        assert_eq!(
            u_counts(50, 50).iter().sum::<i128>(),
            100891344545564193334812497256
        );
    }

    #[test]
    fn exact_p_value_of_complete_separation() {
        let r = mann_whitney_u(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]);
        assert!(r.exact);
        assert_eq!(r.u, 0.0);
        assert!(close(r.p_value, 2.0 / 252.0, 1e-15));
        assert!(r.z < 0.0);
        let r = mann_whitney_u(&[6.0, 7.0, 8.0, 9.0, 10.0], &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(r.u, 25.0);
        assert!(r.z > 0.0 && close(r.p_value, 2.0 / 252.0, 1e-15));
    }

    #[test]
    fn exact_p_value_matches_r_wilcox_test() {
        // R's ?wilcox.test example: W = 35, one-sided p = 0.1272, so the
        // two-sided p is 0.2544 (SciPy's exact method: 0.2544122544...).
        let x = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
        let y = [1.15, 0.88, 0.90, 0.74, 1.21];
        let r = mann_whitney_u(&x, &y);
        assert_eq!(r.u, 35.0);
        assert!(r.exact);
        assert!(close(r.p_value, 0.2544122544122544, 1e-12), "{r:?}");
    }

    #[test]
    fn normal_approximation_with_ties_matches_scipy() {
        // scipy.stats.mannwhitneyu(a, b, method="asymptotic") -> 6.5, 0.0141079...
        let a = [1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0];
        let b = [3.0, 4.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0];
        let r = mann_whitney_u(&a, &b);
        assert!(!r.exact);
        assert_eq!(r.u, 6.5);
        assert!(close(r.p_value, 0.014107907274540636, 1e-12), "{r:?}");
    }

    #[test]
    fn large_samples_use_the_normal_approximation() {
        // numpy.linspace(1, 2, 60) against numpy.linspace(1.1, 2.3, 55):
        // scipy gives U = 1122, p = 0.0031426...
        let a: Vec<f64> = (0..60).map(|i| 1.0 + i as f64 / 59.0).collect();
        let b: Vec<f64> = (0..55).map(|i| 1.1 + 1.2 * i as f64 / 54.0).collect();
        let r = mann_whitney_u(&a, &b);
        assert!(!r.exact);
        assert_eq!(r.u, 1122.0);
        assert!(close(r.p_value, 0.0031426082320556267, 1e-9), "{r:?}");
    }

    #[test]
    fn identical_samples_are_no_evidence() {
        let r = mann_whitney_u(&[1.0, 1.0, 1.0], &[1.0, 1.0]);
        assert_eq!((r.u, r.z, r.p_value, r.exact), (3.0, 0.0, 1.0, false));
    }

    #[test]
    fn hodges_lehmann_of_a_pure_shift() {
        let b = [1.0, 2.0, 3.0, 4.0, 5.0];
        let a: Vec<f64> = b.iter().map(|x| x + 10.0).collect();
        let e = hodges_lehmann(&a, &b);
        assert_eq!(e.point, 10.0);
        // The 25 differences are 10 + (b_i - b_j): 6 once, 7 twice, 8 three
        // times, ... 14 once. m = n = 5 gives k = 3: from the 3rd (7) to the
        // 23rd (13).
        assert_eq!((e.ci_low, e.ci_high), (7.0, 13.0));
    }

    #[test]
    fn hodges_lehmann_rank_matches_tables() {
        // Critical values of U for a two-sided 5% test (e.g. Hollander & Wolfe,
        // Table A.6): 2 for 5 vs 5, 23 for 10 vs 10, 127 for 20 vs 20; the
        // interval starts one rank above.
        assert_eq!(lower_rank(5, 5), 3);
        assert_eq!(lower_rank(10, 10), 24);
        assert_eq!(lower_rank(20, 20), 128);
        // Too few samples for 95%: the full range.
        assert_eq!(lower_rank(2, 2), 1);
    }
}
