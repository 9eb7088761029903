//! What a task run's advice says of its dependencies (`--task-requirements`,
//! checked by `gil-lab ready` before the trials): free-threaded threads are
//! never recommended to a team whose dependencies turn the GIL back on
//! without saying so, in the headline, next to the measured speedup.

use crate::run::readiness::Verdict;
use crate::task::readiness::ReadinessLine;

use super::super::advice::Recommendation;

/// Adds the readiness of the task's dependencies to its recommendation.
pub fn amend(rec: &mut Recommendation, lines: &[ReadinessLine]) {
    for line in lines {
        let measured = line
            .threads_speedup
            .as_deref()
            .map(|s| format!(" (threads measured {s} on it)"))
            .unwrap_or_default();
        if line.verdict == Verdict::Ready {
            rec.reasons.push(format!(
                "dependencies ready on {}: {}{measured}",
                line.interpreter, line.words
            ));
            continue;
        }
        let mut warning = format!(
            "dependencies on {}: {}: {}{measured}",
            line.interpreter, line.words, line.consequence
        );
        for fix in &line.fixes {
            warning.push_str(&format!("; fix {fix}"));
        }
        rec.warnings.insert(0, warning);
        let recommends_it =
            rec.interpreter.contains(&line.interpreter) && rec.approach.contains("threads");
        if line.free_threaded && recommends_it {
            rec.headline = format!(
                "YOUR DEPENDENCIES {} on {}: the measured free-threaded speedups assume the GIL stays off; {}",
                if line.verdict == Verdict::GilReEnabled {
                    "TURN THE GIL BACK ON"
                } else {
                    "DO NOT INSTALL"
                },
                line.interpreter,
                rec.headline
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(verdict: Verdict) -> ReadinessLine {
        ReadinessLine {
            interpreter: "CPython 3.13t".into(),
            free_threaded: true,
            verdict,
            words: if verdict == Verdict::Ready {
                "ready".into()
            } else {
                "GIL re-enabled by ujson".into()
            },
            consequence: "threads are serialised by the GIL".into(),
            threads_speedup: Some("1.90× (1.80–2.00) with 2 workers".into()),
            fixes: vec!["ujson: upgrade: `ujson>=5.13.0`".into()],
        }
    }

    fn threads_on_free_threaded() -> Recommendation {
        let mut rec = Recommendation::new("score");
        rec.approach = "threads".into();
        rec.interpreter = "CPython 3.13t".into();
        rec.headline = "score: threads on CPython 3.13t".into();
        rec
    }

    #[test]
    fn free_threaded_threads_are_never_advised_silently_over_a_gil_re_enabled() {
        let mut rec = threads_on_free_threaded();
        amend(&mut rec, &[line(Verdict::GilReEnabled)]);
        assert!(
            rec.headline
                .starts_with("YOUR DEPENDENCIES TURN THE GIL BACK ON on CPython 3.13t")
        );
        assert!(rec.warnings[0].contains("GIL re-enabled by ujson"));
        assert!(rec.warnings[0].contains("threads measured 1.90×"));
        assert!(rec.warnings[0].contains("fix ujson: upgrade"));
        let mut rec = threads_on_free_threaded();
        amend(&mut rec, &[line(Verdict::Ready)]);
        assert_eq!(rec.headline, "score: threads on CPython 3.13t");
        assert!(rec.warnings.is_empty());
        assert!(rec.reasons[0].starts_with("dependencies ready on CPython 3.13t"));
    }
}
