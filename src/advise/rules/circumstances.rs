//! The rules about what surrounds the workload: C extensions that turn the
//! GIL back on and work outgrowing one machine (both override the
//! workload's choice), response time, the Python version, and the
//! single-thread cost of free-threading (which only add reasons and costs).

use crate::advise::finding::{AdvisedApproach, Choice, DEPENDENCIES, Finding, SCALE_OUT};
use crate::advise::situation::{
    ExtensionCheck, ImportOutcome, Situation, Workload, bench_pythons, default_name,
};
use crate::vocabulary::Approach;

/// C extensions that turn the GIL back on (checked now on the free-threaded
/// interpreters found, or from a saved check): free-threaded threads lose
/// their parallelism, so CPU-bound work goes back to processes.
pub fn extensions_reenable_gil(s: &Situation, checked: &ExtensionCheck) -> Option<Finding> {
    if s.c_extensions.is_empty() {
        return None;
    }
    let modules = s.c_extensions.join(",");
    let finding = Finding::new("extensions_reenable_gil").cite(&["gil-reenabled", "ft-wheels"]);
    let checks = match checked {
        ExtensionCheck::NotAsked => return None,
        ExtensionCheck::NoFreeThreaded => {
            return Some(finding
                .reason(format!("could not check whether {modules} keep the GIL off: no free-threaded interpreter was found"))
                .measure("gil-lab python install 3.13t")
                .measure(format!("gil-lab python check-imports {}", s.c_extensions.join(" "))));
        }
        ExtensionCheck::Checked(checks) => checks,
    };
    let enabling: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome == ImportOutcome::EnabledGil)
        .collect();
    let failing: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome == ImportOutcome::ImportFailed)
        .collect();
    let kept: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome == ImportOutcome::KeptGilOff)
        .collect();
    let mut finding = finding;
    for c in &kept {
        finding = finding.reason(format!(
            "`{}` kept the GIL off on {} (checked by importing it)",
            c.module, c.interpreter
        ));
    }
    for c in &failing {
        finding = finding.reason(format!(
            "`{}` could not be imported on {}{}: install it there to check it",
            c.module,
            c.interpreter,
            c.detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ));
    }
    if !failing.is_empty() {
        finding = finding.measure(format!(
            "gil-lab python check-imports {}",
            failing
                .iter()
                .map(|c| c.module.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if enabling.is_empty() {
        if !kept.is_empty() {
            finding = finding.cost("keeping the GIL off does not make a module thread-safe: check its documentation before sharing its objects between threads");
        }
        return Some(finding);
    }
    let names: Vec<String> = enabling
        .iter()
        .map(|c| format!("`{}` (on {})", c.module, c.interpreter))
        .collect();
    finding = finding
        .reason(format!(
            "importing {} turned the GIL back on for the whole process: free-threaded threads then run one at a time, and pay the build's single-thread cost on top",
            names.join(", ")
        ))
        .instead("free-threaded threads", "only once every module keeps the GIL off: look for a release with free-threaded (cp313t/cp314t) wheels that declares Py_mod_gil; forcing the GIL off with -X gil=0 runs code that was not written for it")
        .cite(&["ft-cost-3.13", "ft-cost-3.14"]);
    let target = s.python.as_ref().filter(|t| !t.free_threaded);
    Some(match s.workload {
        Workload::Cpu => finding
            .decides(AdvisedApproach::Measured(Approach::Processes), default_name(target), DEPENDENCIES)
            .reason("processes give CPU-bound work several cores whatever the extensions do, on a default build without the free-threaded cost")
            .cost("each worker is a whole interpreter, and inputs and results are pickled"),
        Workload::Mixed => finding
            .decides(AdvisedApproach::AsyncioProcesses, default_name(target), DEPENDENCIES)
            .reason("the CPU-bound steps go to a process pool, which computes in parallel whatever the extensions do"),
        // Waiting does not need the GIL off: the workload's rule stands.
        Workload::Io => finding.reason("the work is I/O-bound: the GIL is released while waiting, so this changes little"),
    })
}

/// Work that outgrows one machine: a distributed engine (Ray), whose
/// workers are processes on default builds.
pub fn beyond_one_machine(s: &Situation) -> Option<Finding> {
    if !s.beyond_one_machine {
        return None;
    }
    Some(Finding::new("beyond_one_machine")
        .decides(AdvisedApproach::Distributed, "a default CPython build on every node (Ray has no free-threaded wheels)".into(), SCALE_OUT)
        .reason("a distributed engine such as Ray spreads tasks and actors over the machines of a cluster")
        .reason("Ray's workers are processes: on each node they use the cores the way processes do")
        .cost("Ray runs on default builds only: no free-threaded wheels, and threaded or async actors do not bypass the GIL")
        .cost("each task pays scheduling and serialisation (object store): batch small agent steps into bigger tasks, and keep large read-only data in the object store (ray.put) instead of sending it with every task")
        .cost("a cluster to run and debug: before scaling out, make sure one machine is really too small (measure a single node first)")
        .instead("processes on one machine", "the same model without a cluster: enough while the work fits the cores and memory of one machine")
        .measure("gil-lab bench --scenario cpu --approach processes,ray   # distributing vs one machine: orchestration and break-even")
        .measure("gil-lab bench --scenario cpu --approach ray --ray-address HEAD:6379   # on your cluster (docs/distributed.md)")
        .measure("gil-lab deploy kubernetes   # a KubeRay RayJob, or a Job for one machine, sized from the run")
        .cite(&["ray-default-only"]))
}

/// Latency-sensitive work: no cold starts on the request path, and no
/// CPU-bound step on an event loop.
pub fn latency_sensitive(s: &Situation) -> Option<Finding> {
    if !s.latency_sensitive {
        return None;
    }
    let mut finding = Finding::new("latency_sensitive")
        .reason("start pools, processes and interpreters once, before the first request: a process costs ~50 ms to start, a thread ~100 µs")
        .cost("judge by the end-to-end speedup (whole-trial wall time, orchestration included), not only the steady work phase")
        .cite(&["start-cost"]);
    if s.workload != Workload::Cpu {
        finding = finding.cost(
            "never compute on the event loop's thread: one CPU-bound step delays every call in flight",
        );
    }
    Some(finding)
}

/// What the named interpreter's version changes: subinterpreters, the
/// start method, the free-threaded build's single-thread cost and JIT.
pub fn python_version(s: &Situation) -> Option<Finding> {
    let t = s.python.as_ref()?;
    let mut finding = Finding::new("python_version");
    if t.minor < 12 {
        finding = finding.reason(format!(
            "on {t}, subinterpreters share one GIL: they are no way to use several cores"
        ));
    } else if t.minor < 14 {
        finding = finding
            .reason(format!("on {t}, subinterpreters have their own GIL but no public Python API (concurrent.interpreters arrives in 3.14)"))
            .cite(&["subinterpreters"]);
    } else {
        finding = finding
            .reason(format!("on {t}, concurrent.interpreters and InterpreterPoolExecutor run work in subinterpreters with their own GIL (arguments and results are pickled)"))
            .cite(&["subinterpreters"]);
    }
    if t.free_threaded {
        let (cost, fact) = if t.minor == 13 {
            (
                "the 3.13 free-threaded build runs single-threaded code about 40% slower (pyperformance): prefer 3.14t if you can",
                "ft-cost-3.13",
            )
        } else {
            (
                "the free-threaded build runs single-threaded code roughly 5-10% slower and uses 15-20% more memory",
                "ft-cost-3.14",
            )
        };
        finding = finding
            .cost(cost)
            .cost("the JIT is not available in free-threaded builds")
            .measure(format!(
                "gil-lab bench --scenario cpu --approach sequential {}",
                bench_pythons(Some(t))
            ))
            .cite(&[fact, "no-jit-ft"]);
    }
    Some(finding)
}

/// The published single-thread cost of free-threading, when the
/// recommendation is a free-threaded build and no version was named (a named
/// version gets its own figure from [`python_version`]).
pub fn free_threading_cost(s: &Situation, choice: &Choice) -> Option<Finding> {
    if s.python.is_some() || !choice.free_threaded {
        return None;
    }
    Some(Finding::new("free_threading_cost")
        .cost("free-threading has a single-thread cost: about 40% on 3.13t (pyperformance), roughly 5-10% on 3.14t, and 15-20% more memory: measure it on your code")
        .measure(format!("gil-lab bench --scenario {} --approach sequential {}", s.workload.scenario(), bench_pythons(None)))
        .cite(&["ft-cost-3.13", "ft-cost-3.14"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::situation::fixtures::{situation, target};

    #[test]
    fn latency_and_version_rules_add_costs() {
        let s = Situation {
            latency_sensitive: true,
            python: target("3.13t"),
            ..situation(Workload::Mixed)
        };
        let f = latency_sensitive(&s).unwrap();
        assert!(f.costs.iter().any(|c| c.contains("event loop")));
        let f = python_version(&s).unwrap();
        assert!(f.costs.iter().any(|c| c.contains("40%")));
        assert!(f.cites.contains(&"ft-cost-3.13"));
        assert!(python_version(&situation(Workload::Cpu)).is_none());
        let old = Situation {
            python: target("3.11"),
            ..situation(Workload::Cpu)
        };
        assert!(python_version(&old).unwrap().reasons[0].contains("share one GIL"));
    }
}
