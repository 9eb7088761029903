//! The workload's own rules: one per kind of work the situation describes
//! (independent CPU-bound tasks, CPU-bound tasks over shared data, many
//! I/O calls, mixed agents), each deciding an approach at the workload's
//! priority.

use crate::advise::finding::{AdvisedApproach, Finding, WORKLOAD};
use crate::advise::situation::{
    Situation, Workload, bench_pythons, default_name, free_threaded_name, free_threading_possible,
};
use crate::vocabulary::Approach;

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
            .decides(AdvisedApproach::Measured(Approach::Threads), free_threaded_name(target), WORKLOAD)
            .on_free_threaded()
            .reason("independent CPU-bound tasks run in parallel on a free-threaded build's threads, close to one core each")
            .reason("threads start in microseconds and share memory: no pickling of inputs and results, no copy of the interpreter per worker")
            .cost("keep the worker threads alive (one pool for the program's life): thread churn is costlier on free-threaded builds")
            .instead("processes", "as fast on independent work, but each worker is a whole interpreter (memory × workers, ~50 ms to start) and every input and result is pickled; the choice on a default build")
            .instead("threads on a default build", "the GIL runs one thread's Python code at a time: no speedup on CPU-bound work")
            .cite(&["ft-scaling", "start-cost"])
    } else {
        finding
            .decides(AdvisedApproach::Measured(Approach::Processes), default_name(target), WORKLOAD)
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
            .decides(AdvisedApproach::Measured(Approach::Threads), free_threaded_name(target), WORKLOAD)
            .on_free_threaded()
            .reason("threads read the same objects: the data exists once, nothing is pickled or copied per worker")
            .reason("on a free-threaded build those threads also compute in parallel")
            .cost("keep the shared data read-only and give each thread its own output: writes to shared dicts and lists take per-object locks, and hot shared objects contend on their reference counts")
            .instead("processes", "each worker needs the data: pickled to every worker (time and memory × workers), or inherited copy-on-write with fork only")
            .instead("interpreters", "subinterpreters share no objects: the data is rebuilt or unpickled in each one")
            .cite(&["ft-scaling", "ft-contention", "subinterpreters"]);
    } else {
        finding = finding
            .decides(AdvisedApproach::Measured(Approach::Processes), default_name(target), WORKLOAD)
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
        .decides(AdvisedApproach::Measured(Approach::Asyncio), interpreter, WORKLOAD)
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
            .decides(AdvisedApproach::Measured(Approach::AsyncioThreads), free_threaded_name(target), WORKLOAD)
            .on_free_threaded()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::situation::fixtures::{situation, target};

    fn approach(f: &Finding) -> AdvisedApproach {
        f.choice.as_ref().unwrap().approach
    }

    #[test]
    fn cpu_independent_recommends_free_threaded_threads_else_processes() {
        let s = situation(Workload::Cpu);
        let f = cpu_independent(&s).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Threads));
        assert!(f.choice.unwrap().free_threaded);
        assert!(f.cites.contains(&"ft-scaling"));
        assert!(f.measure[0].starts_with("gil-lab bench --scenario cpu"));
        let default = Situation {
            python: target("3.12"),
            ..s.clone()
        };
        let f = cpu_independent(&default).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Processes));
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
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Threads));
        assert!(f.costs.iter().any(|c| c.contains("read-only")));
        assert!(f.costs.iter().any(|c| c.contains("forkserver")));
        let old = Situation {
            python: target("3.12"),
            ..s
        };
        let f = cpu_shared_data(&old).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Processes));
        assert!(f.reasons.iter().any(|r| r.contains("fork")));
        assert!(!f.costs.iter().any(|c| c.contains("forkserver")));
    }

    #[test]
    fn io_recommends_asyncio_on_any_build() {
        let f = io_many_calls(&situation(Workload::Io)).unwrap();
        assert_eq!(approach(&f), AdvisedApproach::Measured(Approach::Asyncio));
        assert!(f.cites.contains(&"gil-released-on-io"));
        assert!(io_many_calls(&situation(Workload::Mixed)).is_none());
    }

    #[test]
    fn mixed_uses_a_loop_and_a_pool() {
        let f = mixed_agents(&situation(Workload::Mixed)).unwrap();
        assert_eq!(
            approach(&f),
            AdvisedApproach::Measured(Approach::AsyncioThreads)
        );
        let s = Situation {
            python: target("3.11"),
            ..situation(Workload::Mixed)
        };
        assert_eq!(
            approach(&mixed_agents(&s).unwrap()),
            AdvisedApproach::AsyncioProcesses
        );
    }
}
