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
