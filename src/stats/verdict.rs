//! "Is A faster than B?": a verdict only when the rank test rejects "no
//! difference", stated with the size of the difference (ratio of medians and
//! Hodges-Lehmann shift, each with its CI). Anything else is a tie: gil-lab's
//! rule that a comparison within noise is called a tie (docs/architecture.md).

use serde::{Deserialize, Serialize};

use super::{Estimate, MannWhitney, hodges_lehmann, mann_whitney_u, ratio_of_medians};

/// Outcome of comparing the times of A with the times of B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A's times are significantly lower than B's.
    Faster,
    /// A's times are significantly higher than B's.
    Slower,
    /// No significant difference at the chosen level.
    Tie,
}

impl Verdict {
    /// The word shown to users: `faster`, `slower` or `tie`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::Tie => "tie",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Is A (times, lower is better) faster than B? `Faster` or `Slower` only
/// when the two-sided Mann-Whitney test has p < `alpha`; `Tie` otherwise.
///
/// # Panics
/// If either sample is empty.
pub fn verdict(a: &[f64], b: &[f64], alpha: f64) -> Verdict {
    let test = mann_whitney_u(a, b);
    let middle = (a.len() * b.len()) as f64 / 2.0;
    if test.p_value >= alpha || test.u == middle {
        Verdict::Tie
    } else if test.u < middle {
        Verdict::Faster
    } else {
        Verdict::Slower
    }
}

/// Everything gil-lab says when it compares a candidate's times with a
/// baseline's (e.g. the same cell in two runs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Candidate against baseline: `faster` means the candidate's times are
    /// significantly lower.
    pub verdict: Verdict,
    /// median(candidate) / median(baseline) with its 95% bootstrap CI: 0.8
    /// means the candidate takes 20% less time.
    pub ratio: Estimate,
    /// Hodges-Lehmann shift candidate - baseline, in the samples' unit, with
    /// its 95% distribution-free CI.
    pub shift: Estimate,
    /// The rank test behind the verdict (candidate as the first sample).
    pub test: MannWhitney,
    /// Significance level the verdict used.
    pub alpha: f64,
}

impl Comparison {
    /// Compares `candidate` with `baseline` at level `alpha`; the ratio's CI is
    /// deterministic given `seed`.
    ///
    /// # Panics
    /// If either sample is empty.
    pub fn of(baseline: &[f64], candidate: &[f64], alpha: f64, seed: u64) -> Comparison {
        Comparison {
            verdict: verdict(candidate, baseline, alpha),
            ratio: ratio_of_medians(candidate, baseline, seed),
            shift: hodges_lehmann(candidate, baseline),
            test: mann_whitney_u(candidate, baseline),
            alpha,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: [f64; 6] = [1.00, 1.02, 0.99, 1.01, 1.03, 0.98];
    const SLOW: [f64; 6] = [1.20, 1.22, 1.19, 1.25, 1.21, 1.18];

    #[test]
    fn clear_differences_get_a_verdict() {
        assert_eq!(verdict(&FAST, &SLOW, 0.05), Verdict::Faster);
        assert_eq!(verdict(&SLOW, &FAST, 0.05), Verdict::Slower);
    }

    #[test]
    fn overlapping_samples_tie() {
        let other = [1.01, 0.99, 1.02, 1.00, 0.98, 1.03];
        assert_eq!(verdict(&FAST, &other, 0.05), Verdict::Tie);
        assert_eq!(verdict(&FAST, &FAST, 0.05), Verdict::Tie);
    }

    #[test]
    fn too_few_trials_cannot_beat_the_level() {
        // 2 vs 2 fully separated: the smallest possible p is 2/6 = 0.33.
        assert_eq!(verdict(&[1.0, 1.1], &[5.0, 6.0], 0.05), Verdict::Tie);
    }

    #[test]
    fn comparison_states_the_margin() {
        let c = Comparison::of(&SLOW, &FAST, 0.05, 1);
        assert_eq!(c.verdict, Verdict::Faster);
        assert!(c.ratio.ci_high < 1.0 && c.ratio.point > 0.8, "{c:?}");
        assert!(c.shift.ci_high < 0.0, "{c:?}");
        assert!(c.test.p_value < 0.01);
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["verdict"], "faster");
    }
}
