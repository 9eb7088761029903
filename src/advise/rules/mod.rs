//! The rules of `gil-lab advise --workload ...`: each a function from the
//! situation (and what the probe checked) to a [`Finding`] when its trigger
//! holds: the approach it recommends (if it decides one), its reasons, the
//! costs to weigh, the alternatives and why not, the `bench` command that
//! would measure it, and the published facts it rests on ([`super::facts`]).
//!
//! [`findings`] runs every rule; the one with the highest priority that
//! decides an approach wins (a workload outgrowing one machine outranks
//! extensions that turn the GIL back on, which outrank the workload's own
//! rule); the others add their reasons.
//!
//! The rules themselves are in [`workload`] (the workload's own) and
//! [`circumstances`] (what overrides or qualifies it); what they say is a
//! [`Finding`].

pub mod circumstances;
pub mod workload;

use super::finding::Finding;
use super::situation::{ExtensionCheck, Situation};
pub use circumstances::{
    beyond_one_machine, extensions_reenable_gil, free_threading_cost, latency_sensitive,
    python_version,
};
pub use workload::{cpu_independent, cpu_shared_data, io_many_calls, mixed_agents};

/// Every rule's finding for the situation, in rule order: the workload's
/// rule, then those that override or qualify it.
pub fn findings(s: &Situation, checked: &ExtensionCheck) -> Vec<Finding> {
    let mut found: Vec<Finding> = [
        cpu_independent(s),
        cpu_shared_data(s),
        io_many_calls(s),
        mixed_agents(s),
        extensions_reenable_gil(s, checked),
        beyond_one_machine(s),
        latency_sensitive(s),
        python_version(s),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(choice) = decision(&found).and_then(|f| f.choice.clone())
        && let Some(cost) = free_threading_cost(s, &choice)
    {
        found.push(cost);
    }
    found
}

/// The deciding finding: the highest priority among those with a choice
/// (the first on equal priority).
pub fn decision(findings: &[Finding]) -> Option<&Finding> {
    findings.iter().filter(|f| f.choice.is_some()).fold(
        None,
        |best: Option<&Finding>, f| match best {
            Some(b) if b.priority >= f.priority => Some(b),
            _ => Some(f),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::finding::AdvisedApproach;
    use crate::advise::situation::fixtures::{check, situation, target};
    use crate::advise::situation::{ImportOutcome, Workload};
    use crate::vocabulary::Approach;

    fn approach(f: &Finding) -> AdvisedApproach {
        f.choice.as_ref().unwrap().approach
    }

    #[test]
    fn an_extension_that_enables_the_gil_sends_cpu_work_to_processes() {
        let s = Situation {
            c_extensions: vec!["fastlib".into(), "json".into()],
            ..situation(Workload::Cpu)
        };
        let checked = ExtensionCheck::Checked(vec![
            check("fastlib", ImportOutcome::EnabledGil),
            check("json", ImportOutcome::KeptGilOff),
        ]);
        let f = extensions_reenable_gil(&s, &checked).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Processes));
        assert!(
            f.reasons
                .iter()
                .any(|r| r.contains("`fastlib` (on CPython 3.13.5t)"))
        );
        // It outranks the workload's rule.
        let all = findings(&s, &checked);
        assert_eq!(decision(&all).unwrap().rule, "extensions_reenable_gil");
        // Every module keeping the GIL off decides nothing.
        let fine = ExtensionCheck::Checked(vec![check("json", ImportOutcome::KeptGilOff)]);
        let f = extensions_reenable_gil(&s, &fine).unwrap();
        assert!(f.choice.is_none());
        assert_eq!(
            decision(&findings(&s, &fine)).unwrap().rule,
            "cpu_independent"
        );
        // Nothing to check with: say how to get an interpreter.
        let f = extensions_reenable_gil(&s, &ExtensionCheck::NoFreeThreaded).unwrap();
        assert!(f.measure.iter().any(|m| m.contains("python install 3.13t")));
        assert!(extensions_reenable_gil(&situation(Workload::Cpu), &fine).is_none());
        // I/O-bound work keeps its choice.
        let io = Situation {
            c_extensions: vec!["fastlib".into()],
            ..situation(Workload::Io)
        };
        let f = extensions_reenable_gil(&io, &checked).unwrap();
        assert!(f.choice.is_none());
    }

    #[test]
    fn outgrowing_one_machine_names_ray_and_its_limits() {
        let s = Situation {
            beyond_one_machine: true,
            c_extensions: vec!["fastlib".into()],
            ..situation(Workload::Cpu)
        };
        let f = beyond_one_machine(&s).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Distributed);
        assert!(f.costs.iter().any(|c| c.contains("default builds only")));
        let checked = ExtensionCheck::Checked(vec![check("fastlib", ImportOutcome::EnabledGil)]);
        assert_eq!(
            decision(&findings(&s, &checked)).unwrap().rule,
            "beyond_one_machine"
        );
        assert!(beyond_one_machine(&situation(Workload::Cpu)).is_none());
    }

    #[test]
    fn the_free_threading_cost_comes_with_a_free_threaded_recommendation() {
        let s = situation(Workload::Cpu);
        let all = findings(&s, &ExtensionCheck::NotAsked);
        assert!(all.iter().any(|f| f.rule == "free_threading_cost"));
        let io = findings(&situation(Workload::Io), &ExtensionCheck::NotAsked);
        assert!(!io.iter().any(|f| f.rule == "free_threading_cost"));
    }

    #[test]
    fn every_cited_fact_exists() {
        let mut situations = vec![];
        for workload in [Workload::Cpu, Workload::Io, Workload::Mixed] {
            for python in [
                None,
                target("3.13t"),
                target("3.14t"),
                target("3.12"),
                target("3.11"),
            ] {
                situations.push(Situation {
                    python,
                    shared_state: true,
                    latency_sensitive: true,
                    beyond_one_machine: true,
                    c_extensions: vec!["m".into()],
                    ..situation(workload)
                });
                situations.push(situation(workload));
            }
        }
        for s in &situations {
            for checked in [
                ExtensionCheck::NotAsked,
                ExtensionCheck::NoFreeThreaded,
                ExtensionCheck::Checked(vec![check("m", ImportOutcome::EnabledGil)]),
            ] {
                for f in findings(s, &checked) {
                    for id in f.cites {
                        crate::advise::facts::fact(id);
                    }
                }
            }
        }
    }
}
