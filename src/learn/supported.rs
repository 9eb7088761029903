//! Lesson 5's reading of a measurement: how each choice of a situation
//! compares with the fastest one over the rounds they shared (faster for
//! sure, a tie within the margin, or still open), and whether each textbook
//! expectation of the situation ("processes compute in parallel", "threads
//! overlap waits") held in *this* measurement. Every sentence it writes
//! follows from the paired ratios (`stats::paired_ratio`); where they cannot
//! tell, it says the measurement is undecided, never that a rule holds.

use crate::run::pairing::Rounds;
use crate::run::record::{CellKey, TrialRecord};
use crate::stats::{Estimate, paired_ratio};

/// One choice of a situation as it was measured.
#[derive(Clone)]
pub struct Measured {
    /// The learner's word for it (`threads`, `free-threaded`, ...).
    pub choice: &'static str,
    /// The cell that measured it.
    pub cell: CellKey,
    /// Its median work time, seconds.
    pub median: f64,
    /// The cell in words (`threads ×2 on CPython 3.13`).
    pub what: String,
}

/// How a cell's work time compares with another's over their shared rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comparison {
    /// The ratio's whole 95% CI is below 1 (and not within the margin).
    Faster(Estimate),
    /// The ratio's whole 95% CI is within ±margin of 1.
    Same(Estimate),
    /// The ratio's whole 95% CI is above 1 (and not within the margin).
    Slower(Estimate),
    /// The CI holds 1 and more than the margin: the measurement cannot tell.
    Open(Option<Estimate>),
}

/// `a`'s work time ÷ `b`'s over the rounds both ran in, classified with the
/// equivalence `margin` first (as the run's verdict does).
pub fn compare(rounds: &Rounds<'_>, a: &CellKey, b: &CellKey, margin: f64) -> Comparison {
    let pairs = rounds.pairs(a, b, TrialRecord::work_s);
    match paired_ratio(&pairs) {
        None => Comparison::Open(None),
        Some(r) if r.ci_low >= 1.0 - margin && r.ci_high <= 1.0 + margin => Comparison::Same(r),
        Some(r) if r.ci_high < 1.0 => Comparison::Faster(r),
        Some(r) if r.ci_low > 1.0 => Comparison::Slower(r),
        Some(r) => Comparison::Open(Some(r)),
    }
}

/// `1.84× (95% CI 1.52–2.23)`.
pub fn ratio_text(r: &Estimate) -> String {
    format!("{:.2}× (95% CI {:.2}–{:.2})", r.point, r.ci_low, r.ci_high)
}

/// A situation's measured choices against the fastest of them.
pub struct Reading {
    /// The choices, fastest median first.
    pub measured: Vec<Measured>,
    /// Each choice's work time against the fastest's (the fastest: `None`).
    pub against_fastest: Vec<Option<Comparison>>,
}

impl Reading {
    /// Sorts `measured` by median and compares each with the fastest.
    pub fn new(rounds: &Rounds<'_>, mut measured: Vec<Measured>, margin: f64) -> Option<Reading> {
        measured.sort_by(|a, b| a.median.total_cmp(&b.median));
        let fastest = measured.first()?.cell.clone();
        let against_fastest = measured
            .iter()
            .enumerate()
            .map(|(i, m)| (i > 0).then(|| compare(rounds, &m.cell, &fastest, margin)))
            .collect();
        Some(Reading {
            measured,
            against_fastest,
        })
    }

    /// The fastest choice.
    pub fn fastest(&self) -> &Measured {
        &self.measured[0]
    }

    /// The standing of `choice`, if it was measured.
    pub fn standing(&self, choice: &str) -> Option<(&Measured, Option<Comparison>)> {
        let i = self.measured.iter().position(|m| m.choice == choice)?;
        Some((&self.measured[i], self.against_fastest[i]))
    }

    /// The choices the fastest one is not surely faster than (ties and
    /// open ones).
    fn not_beaten(&self, open: bool) -> Vec<&'static str> {
        self.measured
            .iter()
            .zip(&self.against_fastest)
            .filter_map(|(m, c)| match c {
                Some(Comparison::Same(_)) if !open => Some(m.choice),
                Some(Comparison::Open(_) | Comparison::Faster(_)) if open => Some(m.choice),
                _ => None,
            })
            .collect()
    }

    /// The column "vs the fastest" of a choice's row.
    pub fn cell_text(&self, i: usize) -> String {
        match self.against_fastest[i] {
            None => "fastest".into(),
            Some(Comparison::Slower(r)) => format!("{}: slower", ratio_text(&r)),
            Some(Comparison::Same(r)) => format!("{}: a tie", ratio_text(&r)),
            Some(Comparison::Open(Some(r)) | Comparison::Faster(r)) => {
                format!("{}: undecided", ratio_text(&r))
            }
            Some(Comparison::Open(None)) => "too few rounds: undecided".into(),
        }
    }

    /// What the measurement decides for the situation, in one sentence.
    pub fn decision(&self, margin: f64) -> String {
        let fastest = self.fastest().choice;
        let open = self.not_beaten(true);
        let ties = self.not_beaten(false);
        if !open.is_empty() {
            format!(
                "The measurement is undecided: {fastest} had the lowest median, but {} could still be as fast (the 95% interval of {} ratio to {fastest} holds 1); more rounds would tell.",
                open.join(", "),
                if open.len() == 1 { "its" } else { "their" }
            )
        } else if !ties.is_empty() {
            format!(
                "A tie: {fastest} and {} are within ±{:.0}% of each other; the simpler one is the better choice.",
                ties.join(", "),
                margin * 100.0
            )
        } else if self.measured.len() > 1 {
            format!(
                "The measurement decides it: {fastest} was faster than every other choice, beyond the noise."
            )
        } else {
            format!("Only {fastest} could be measured here.")
        }
    }
}

/// What a situation's textbook reasoning expects of a choice, compared with
/// working sequentially.
pub struct Expectation {
    /// The choice.
    pub choice: &'static str,
    /// `true`: faster than sequential; `false`: not faster.
    pub faster: bool,
    /// The mechanism, in plain words.
    pub because: &'static str,
}

/// Whether an expectation held in a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// The paired ratio shows what the mechanism predicts.
    Confirmed,
    /// The paired ratio shows the opposite, beyond the noise.
    Contradicted,
    /// The paired ratio's interval allows either.
    Undecided,
}

/// Whether `expectation` held here, from `choice` ÷ sequential, and one
/// sentence saying so.
pub fn check(expectation: &Expectation, against_sequential: Comparison) -> (Held, String) {
    let Expectation {
        choice,
        faster,
        because,
    } = expectation;
    let expected = if *faster {
        "should beat"
    } else {
        "should not beat"
    };
    let (measured, held) = match against_sequential {
        Comparison::Faster(r) => (
            ratio_text(&r),
            if *faster {
                Held::Confirmed
            } else {
                Held::Contradicted
            },
        ),
        Comparison::Slower(r) | Comparison::Same(r) => (
            ratio_text(&r),
            if *faster {
                Held::Contradicted
            } else {
                Held::Confirmed
            },
        ),
        Comparison::Open(Some(r)) => (ratio_text(&r), Held::Undecided),
        Comparison::Open(None) => ("too few rounds".into(), Held::Undecided),
    };
    let word = match held {
        Held::Confirmed => "confirmed",
        Held::Contradicted => "contradicted",
        Held::Undecided => "undecided",
    };
    (
        held,
        format!(
            "{choice} {expected} sequential ({because}); measured: {measured} sequential's time, {word}."
        ),
    )
}

/// What to add after a situation's checks: why a contradiction can happen
/// in a brief run, and what undecided means.
pub fn checks_note(held: &[Held]) -> String {
    let mut note = String::new();
    if held.contains(&Held::Contradicted) {
        note.push_str(" Where a check is contradicted, this brief measurement does not show what the mechanism predicts: at this small size starting workers and moving data can cost more than the work, and other programs on this machine's cores can take the second core away; `gil-lab bench` measures at full size.");
    }
    if held.contains(&Held::Undecided) {
        note.push_str(" Undecided: the rounds disagreed too much to tell in so few of them.");
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::{cell, trial};

    fn rounds_of(pairs: &[(f64, f64)]) -> (Vec<TrialRecord>, CellKey, CellKey) {
        let (a, b) = (cell("py", "threads", 2), cell("py", "sequential", 1));
        let mut trials = Vec::new();
        for (round, &(x, y)) in pairs.iter().enumerate() {
            let index = 2 * round as u64;
            trials.push(trial(index, &a, round as u32, false, x));
            trials.push(trial(index + 1, &b, round as u32, false, y));
        }
        (trials, a, b)
    }

    #[test]
    fn comparisons_follow_the_paired_interval() {
        type Case = (&'static [(f64, f64)], fn(&Comparison) -> bool);
        let cases: [Case; 4] = [
            (&[(0.5, 1.0), (0.52, 1.0), (0.49, 1.0)], |c| {
                matches!(c, Comparison::Faster(_))
            }),
            (&[(2.0, 1.0), (2.1, 1.0), (1.95, 1.0)], |c| {
                matches!(c, Comparison::Slower(_))
            }),
            (&[(1.0, 1.0), (1.01, 1.0), (0.99, 1.0)], |c| {
                matches!(c, Comparison::Same(_))
            }),
            (&[(0.6, 1.0), (1.4, 1.0)], |c| {
                matches!(c, Comparison::Open(Some(_)))
            }),
        ];
        for (pairs, expected) in cases {
            let (trials, a, b) = rounds_of(pairs);
            let rounds = Rounds::new(&trials);
            let c = compare(&rounds, &a, &b, 0.05);
            assert!(expected(&c), "{pairs:?}: {c:?}");
        }
    }

    #[test]
    fn a_contradicted_expectation_says_so_and_never_asserts_the_rule() {
        let slower = Comparison::Slower(Estimate {
            point: 1.3,
            ci_low: 1.2,
            ci_high: 1.4,
        });
        let expectation = Expectation {
            choice: "processes",
            faster: true,
            because: "each process has its own GIL",
        };
        let (held, text) = check(&expectation, slower);
        assert_eq!(held, Held::Contradicted);
        assert!(text.contains("contradicted"), "{text}");
        assert!(checks_note(&[held]).contains("does not show"));
        let (held, text) = check(&expectation, Comparison::Open(None));
        assert_eq!(held, Held::Undecided);
        assert!(text.contains("undecided"), "{text}");
    }

    #[test]
    fn an_open_reading_is_undecided_not_a_winner() {
        let (trials, a, b) = rounds_of(&[(0.6, 1.0), (1.3, 1.0)]);
        let rounds = Rounds::new(&trials);
        let measured = vec![
            Measured {
                choice: "threads",
                cell: a,
                median: 0.95,
                what: String::new(),
            },
            Measured {
                choice: "sequential",
                cell: b,
                median: 1.0,
                what: String::new(),
            },
        ];
        let reading = Reading::new(&rounds, measured, 0.05).unwrap();
        assert_eq!(reading.fastest().choice, "threads");
        let decision = reading.decision(0.05);
        assert!(
            decision.starts_with("The measurement is undecided"),
            "{decision}"
        );
    }
}
