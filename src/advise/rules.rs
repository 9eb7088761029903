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

use serde::Serialize;

use crate::vocabulary::Approach;

use super::situation::{ExtensionCheck, ImportOutcome, Situation, Target, Workload};

/// A way to run the agents that the advice may recommend, from the simplest
/// to the most complex: on a tie the simpler one is preferred (less code,
/// fewer failure modes). The approaches gil-lab measures
/// ([`crate::vocabulary::Approach`]) and two it does not run itself: an event
/// loop over a process pool, and a distributed engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdvisedApproach {
    /// One task after another.
    Sequential,
    /// A pool of threads.
    Threads,
    /// An event loop with tasks.
    Asyncio,
    /// An event loop for the waiting, a thread pool for the computing.
    #[serde(rename = "asyncio+threads")]
    AsyncioThreads,
    /// A pool of processes.
    Processes,
    /// An event loop for the waiting, a process pool for the computing.
    #[serde(rename = "asyncio+processes")]
    AsyncioProcesses,
    /// Subinterpreters, each with its own GIL.
    Interpreters,
    /// A distributed engine over several machines (Ray).
    Distributed,
}

impl AdvisedApproach {
    /// The name used on the command line and in runs (`interpreters` for
    /// subinterpreters, as `bench --approach` spells it).
    pub fn name(self) -> &'static str {
        match self {
            AdvisedApproach::Sequential => "sequential",
            AdvisedApproach::Threads => "threads",
            AdvisedApproach::Asyncio => "asyncio",
            AdvisedApproach::AsyncioThreads => "asyncio+threads",
            AdvisedApproach::Processes => "processes",
            AdvisedApproach::AsyncioProcesses => "asyncio+processes",
            AdvisedApproach::Interpreters => "interpreters",
            AdvisedApproach::Distributed => "distributed",
        }
    }

    /// The approach of a measured cell.
    pub fn measured(approach: Approach) -> AdvisedApproach {
        match approach {
            Approach::Sequential => AdvisedApproach::Sequential,
            Approach::Threads => AdvisedApproach::Threads,
            Approach::Processes => AdvisedApproach::Processes,
            Approach::Interpreters => AdvisedApproach::Interpreters,
            Approach::Asyncio => AdvisedApproach::Asyncio,
            Approach::AsyncioThreads => AdvisedApproach::AsyncioThreads,
        }
    }
}

/// What a rule recommends: an approach on an interpreter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// The approach.
    pub approach: AdvisedApproach,
    /// The interpreter, in words (e.g. `free-threaded CPython 3.13t or newer`).
    pub interpreter: String,
}

/// An approach that was considered and why it is not the recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// The approach (`processes`, `free-threaded threads`, ...).
    pub approach: String,
    /// Why not, or when it would be the better choice.
    pub why_not: String,
}

/// What one rule says when its trigger holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The rule's name (the function's name).
    pub rule: &'static str,
    /// The recommendation, when this rule decides one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
    /// Which deciding rule wins: the highest.
    #[serde(skip)]
    pub priority: u8,
    /// Why.
    pub reasons: Vec<String>,
    /// Costs and caveats to weigh beyond time.
    pub costs: Vec<String>,
    /// Other approaches and why not.
    pub alternatives: Vec<Alternative>,
    /// `gil-lab` commands that would measure or check what the rule assumes.
    pub measure: Vec<String>,
    /// Ids of the published facts it rests on.
    pub cites: Vec<&'static str>,
}

impl Finding {
    fn new(rule: &'static str) -> Finding {
        Finding {
            rule,
            choice: None,
            priority: 0,
            reasons: Vec::new(),
            costs: Vec::new(),
            alternatives: Vec::new(),
            measure: Vec::new(),
            cites: Vec::new(),
        }
    }

    fn decides(mut self, approach: AdvisedApproach, interpreter: String, priority: u8) -> Finding {
        self.choice = Some(Choice {
            approach,
            interpreter,
        });
        self.priority = priority;
        self
    }

    fn reason(mut self, text: impl Into<String>) -> Finding {
        self.reasons.push(text.into());
        self
    }

    fn cost(mut self, text: impl Into<String>) -> Finding {
        self.costs.push(text.into());
        self
    }

    fn instead(mut self, approach: &str, why_not: impl Into<String>) -> Finding {
        self.alternatives.push(Alternative {
            approach: approach.into(),
            why_not: why_not.into(),
        });
        self
    }

    fn measure(mut self, command: impl Into<String>) -> Finding {
        self.measure.push(command.into());
        self
    }

    fn cite(mut self, ids: &[&'static str]) -> Finding {
        self.cites.extend_from_slice(ids);
        self
    }
}

/// Priority of the workload's own rule.
const WORKLOAD: u8 = 1;
/// Priority of a rule that overrides the workload's choice because of the
/// code's dependencies.
const DEPENDENCIES: u8 = 2;
/// Priority of a rule that overrides everything: the work does not fit one
/// machine.
const SCALE_OUT: u8 = 3;

/// The free-threaded interpreter to name: the one asked for, else the
/// newest line (whose single-thread cost is the smallest).
fn free_threaded_name(target: Option<&Target>) -> String {
    match target {
        Some(t) if t.free_threaded => format!("free-threaded CPython {t}"),
        _ => "free-threaded CPython 3.14t (or 3.13t)".into(),
    }
}

/// The default build to name: the one asked for, else any.
fn default_name(target: Option<&Target>) -> String {
    match target {
        Some(t) if !t.free_threaded => format!("CPython {t} (default build)"),
        Some(t) => format!("the default build of CPython {}", t.without_t()),
        None => {
            let (major, minor) = crate::interpreters::supported::MIN_CPYTHON;
            format!("a default CPython build ({major}.{minor}+)")
        }
    }
}

/// `--python` values for `bench` comparing a free-threaded build with the
/// default build of the same version.
fn bench_pythons(target: Option<&Target>) -> String {
    let version = match target {
        Some(t) if t.minor >= 13 => t.without_t(),
        _ => "3.13".into(),
    };
    format!("--python {version}t --python {version}")
}

/// Whether the situation can use free-threaded threads: no interpreter was
/// named, or a free-threaded one was.
fn free_threading_possible(s: &Situation) -> bool {
    s.python.as_ref().is_none_or(|t| t.free_threaded)
}

/// CPU-bound independent tasks: free-threaded threads (parallel, shared
/// memory, cheap to start), else processes on a default build.
pub fn cpu_independent(s: &Situation) -> Option<Finding> {
    if s.workload != Workload::Cpu || s.shared_state || s.large_inputs {
        return None;
    }
    let target = s.python.as_ref();
    let finding = Finding::new("cpu_independent").measure(format!(
        "gil-lab bench --scenario cpu --approach threads,processes,interpreters {}",
        bench_pythons(target)
    ));
    Some(if free_threading_possible(s) {
        finding
            .decides(AdvisedApproach::Threads, free_threaded_name(target), WORKLOAD)
            .reason("independent CPU-bound tasks run in parallel on a free-threaded build's threads, close to one core each")
            .reason("threads start in microseconds and share memory: no pickling of inputs and results, no copy of the interpreter per worker")
            .cost("keep the worker threads alive (one pool for the program's life): thread churn is costlier on free-threaded builds")
            .instead("processes", "as fast on independent work, but each worker is a whole interpreter (memory × workers, ~50 ms to start) and every input and result is pickled; the choice on a default build")
            .instead("threads on a default build", "the GIL runs one thread's Python code at a time: no speedup on CPU-bound work")
            .cite(&["ft-scaling", "start-cost"])
    } else {
        finding
            .decides(AdvisedApproach::Processes, default_name(target), WORKLOAD)
            .reason("on a default build the GIL lets one thread run Python code at a time: CPU-bound tasks need processes to use several cores")
            .cost("each worker process is a whole interpreter: memory grows with workers, and inputs and results are pickled")
            .cost("start the pool once and reuse it: a process costs ~50 ms to start")
            .instead("threads", "no speedup under the GIL on CPU-bound work")
            .instead("free-threaded threads", format!("the same parallelism with shared memory and cheap start, on {}: worth measuring", free_threaded_name(None)))
            .cite(&["ft-scaling", "start-cost"])
    })
}

/// CPU-bound over large shared (read-only) data: threads see one copy on a
/// free-threaded build; processes copy or inherit it.
pub fn cpu_shared_data(s: &Situation) -> Option<Finding> {
    if s.workload != Workload::Cpu || !(s.shared_state || s.large_inputs) {
        return None;
    }
    let target = s.python.as_ref();
    let fork_lost = target.is_none_or(|t| t.minor >= 14);
    let mut finding = Finding::new("cpu_shared_data").measure(format!(
        "gil-lab bench --scenario shared --approach threads,processes,interpreters {}",
        bench_pythons(target)
    ));
    if free_threading_possible(s) {
        finding = finding
            .decides(AdvisedApproach::Threads, free_threaded_name(target), WORKLOAD)
            .reason("threads read the same objects: the data exists once, nothing is pickled or copied per worker")
            .reason("on a free-threaded build those threads also compute in parallel")
            .cost("keep the shared data read-only and give each thread its own output: writes to shared dicts and lists take per-object locks, and hot shared objects contend on their reference counts")
            .instead("processes", "each worker needs the data: pickled to every worker (time and memory × workers), or inherited copy-on-write with fork only")
            .instead("interpreters", "subinterpreters share no objects: the data is rebuilt or unpickled in each one")
            .cite(&["ft-scaling", "ft-contention", "subinterpreters"]);
    } else {
        finding = finding
            .decides(AdvisedApproach::Processes, default_name(target), WORKLOAD)
            .reason("on a default build only processes compute in parallel")
            .reason("build the data before the pool starts and use the fork start method: workers inherit it copy-on-write instead of receiving a pickled copy each")
            .cost("reference counting writes to the inherited objects, so their pages get copied over time: memory creeps towards data × workers")
            .instead("threads", "share the data for free but compute one at a time under the GIL")
            .instead("free-threaded threads", format!("one copy of the data and parallel computing on {}: worth measuring", free_threaded_name(None)))
            .cite(&["ft-scaling", "start-method"]);
    }
    if fork_lost {
        finding = finding
            .cost("from 3.14 processes start with forkserver on Linux: the data is no longer inherited unless fork is asked for (multiprocessing.get_context(\"fork\")) or it is put in multiprocessing.shared_memory")
            .cite(&["start-method"]);
    }
    Some(finding)
}

/// I/O-bound with many concurrent calls: asyncio; the GIL does not matter
/// while waiting, so a default build is fine.
pub fn io_many_calls(s: &Situation) -> Option<Finding> {
    if s.workload != Workload::Io {
        return None;
    }
    let interpreter = match s.python.as_ref() {
        Some(t) => format!("CPython {t}"),
        None => "a default CPython build (free-threading buys nothing while waiting)".into(),
    };
    let mut finding = Finding::new("io_many_calls")
        .decides(AdvisedApproach::Asyncio, interpreter, WORKLOAD)
        .reason("the agents mostly wait: one event loop keeps hundreds of calls in flight, each a task of a few KB instead of a thread with its own stack")
        .reason("the GIL is released while a call waits, so the interpreter's build hardly matters: no need to pay the free-threaded single-thread cost")
        .cost("every library on the path must be async (an async HTTP client); a blocking call stalls every task: wrap it with asyncio.to_thread")
        .cost("bound the concurrency (asyncio.Semaphore) to the server's limits: a flood of calls turns into rate-limit errors and retries")
        .instead("threads", "also fine for tens of concurrent calls with blocking libraries (the GIL is released while waiting); costlier per call in flight")
        .instead("processes", "waiting needs no extra cores: processes add start-up and pickling for nothing")
        .measure("gil-lab bench --scenario io --approach threads,asyncio,asyncio+threads")
        .cite(&["asyncio-io", "gil-released-on-io"]);
    if s.python.as_ref().is_some_and(|t| t.free_threaded) {
        finding = finding
            .cost("a free-threaded build runs the single-threaded event loop a little slower than the default build of the same version")
            .cite(&["ft-cost-3.13", "ft-cost-3.14"]);
    }
    Some(finding)
}

/// Mixed I/O and CPU agents: an event loop for the calls and a pool for the
/// computing (threads on a free-threaded build, processes otherwise).
pub fn mixed_agents(s: &Situation) -> Option<Finding> {
    if s.workload != Workload::Mixed {
        return None;
    }
    let target = s.python.as_ref();
    let finding = Finding::new("mixed_agents")
        .measure(format!(
            "gil-lab bench --scenario mixed --approach asyncio,asyncio+threads,processes {}",
            bench_pythons(target)
        ))
        .reason("the waiting is best handled by one event loop; the computing needs several cores")
        .cite(&["asyncio-io"]);
    Some(if free_threading_possible(s) {
        finding
            .decides(AdvisedApproach::AsyncioThreads, free_threaded_name(target), WORKLOAD)
            .reason("on a free-threaded build the CPU-bound steps run in parallel in a thread pool (loop.run_in_executor or asyncio.to_thread) and share the agents' state with the loop")
            .cost("the loop's own thread must not compute: hand every CPU-bound step to the pool, or call latencies grow")
            .instead("asyncio alone", "the CPU-bound steps would block the loop: one core, and every call waits behind them")
            .instead("asyncio with a process pool", "the choice on a default build: parallel, but each CPU step's inputs and results are pickled")
            .cite(&["ft-scaling", "asyncio-3.14"])
    } else {
        finding
            .decides(AdvisedApproach::AsyncioProcesses, default_name(target), WORKLOAD)
            .reason("on a default build the CPU-bound steps go to a process pool (loop.run_in_executor with a ProcessPoolExecutor): threads would compute one at a time")
            .cost("each CPU step's inputs and results are pickled between the loop and the pool")
            .instead("asyncio with a thread pool", format!("the computing stays under the GIL; on {} it runs in parallel: worth measuring", free_threaded_name(None)))
            .cite(&["start-cost"])
    })
}

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
            .decides(AdvisedApproach::Processes, default_name(target), DEPENDENCIES)
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
        .measure("gil-lab bench --scenario cpu --approach processes --full")
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
    if s.python.is_some() || !choice.interpreter.starts_with("free-threaded") {
        return None;
    }
    Some(Finding::new("free_threading_cost")
        .cost("free-threading has a single-thread cost: about 40% on 3.13t (pyperformance), roughly 5-10% on 3.14t, and 15-20% more memory: measure it on your code")
        .measure(format!("gil-lab bench --scenario {} --approach sequential {}", s.workload.scenario(), bench_pythons(None)))
        .cite(&["ft-cost-3.13", "ft-cost-3.14"]))
}

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
    use crate::advise::situation::ImportCheck;

    fn situation(workload: Workload) -> Situation {
        Situation {
            workload,
            shared_state: false,
            large_inputs: false,
            c_extensions: vec![],
            python: None,
            latency_sensitive: false,
            beyond_one_machine: false,
        }
    }

    fn target(text: &str) -> Option<Target> {
        Some(text.parse().unwrap())
    }

    fn approach(f: &Finding) -> AdvisedApproach {
        f.choice.as_ref().unwrap().approach
    }

    #[test]
    fn cpu_independent_recommends_free_threaded_threads_else_processes() {
        let s = situation(Workload::Cpu);
        let f = cpu_independent(&s).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Threads);
        assert!(f.choice.unwrap().interpreter.starts_with("free-threaded"));
        assert!(f.cites.contains(&"ft-scaling"));
        assert!(f.measure[0].starts_with("gil-lab bench --scenario cpu"));
        let default = Situation {
            python: target("3.12"),
            ..s.clone()
        };
        let f = cpu_independent(&default).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Processes);
        assert!(f.choice.unwrap().interpreter.contains("3.12"));
        // Not triggered by other workloads or shared data.
        assert!(cpu_independent(&situation(Workload::Io)).is_none());
        let shared = Situation {
            shared_state: true,
            ..s
        };
        assert!(cpu_independent(&shared).is_none());
    }

    #[test]
    fn shared_data_keeps_one_copy_and_warns_about_forkserver() {
        let s = Situation {
            shared_state: true,
            large_inputs: true,
            ..situation(Workload::Cpu)
        };
        let f = cpu_shared_data(&s).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Threads);
        assert!(f.costs.iter().any(|c| c.contains("read-only")));
        assert!(f.costs.iter().any(|c| c.contains("forkserver")));
        let old = Situation {
            python: target("3.12"),
            ..s
        };
        let f = cpu_shared_data(&old).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Processes);
        assert!(f.reasons.iter().any(|r| r.contains("fork")));
        assert!(!f.costs.iter().any(|c| c.contains("forkserver")));
    }

    #[test]
    fn io_recommends_asyncio_on_any_build() {
        let f = io_many_calls(&situation(Workload::Io)).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Asyncio);
        assert!(f.cites.contains(&"gil-released-on-io"));
        assert!(io_many_calls(&situation(Workload::Mixed)).is_none());
    }

    #[test]
    fn mixed_uses_a_loop_and_a_pool() {
        let f = mixed_agents(&situation(Workload::Mixed)).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::AsyncioThreads);
        let s = Situation {
            python: target("3.11"),
            ..situation(Workload::Mixed)
        };
        assert_eq!(
            approach(&mixed_agents(&s).unwrap()),
            AdvisedApproach::AsyncioProcesses
        );
    }

    fn check(module: &str, outcome: ImportOutcome) -> ImportCheck {
        ImportCheck {
            interpreter: "CPython 3.13.5t".into(),
            module: module.into(),
            outcome,
            detail: None,
        }
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
        assert_eq!(approach(&f), AdvisedApproach::Processes);
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

    #[test]
    fn the_free_threading_cost_comes_with_a_free_threaded_recommendation() {
        let s = situation(Workload::Cpu);
        let all = findings(&s, &ExtensionCheck::NotAsked);
        assert!(all.iter().any(|f| f.rule == "free_threading_cost"));
        let io = findings(&situation(Workload::Io), &ExtensionCheck::NotAsked);
        assert!(!io.iter().any(|f| f.rule == "free_threading_cost"));
    }

    #[test]
    fn approaches_are_ordered_from_the_simplest() {
        assert!(AdvisedApproach::Sequential < AdvisedApproach::Threads);
        assert!(AdvisedApproach::Threads < AdvisedApproach::Asyncio);
        assert!(AdvisedApproach::Asyncio < AdvisedApproach::Processes);
        assert!(AdvisedApproach::Processes < AdvisedApproach::Interpreters);
        assert!(AdvisedApproach::Interpreters < AdvisedApproach::Distributed);
        // Every measured approach is one the advice knows, by the same name.
        for approach in Approach::ALL {
            assert_eq!(AdvisedApproach::measured(approach).name(), approach.name());
        }
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
