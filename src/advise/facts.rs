//! The published facts the advice rests on, as data: each with a short id
//! that rules cite, the claim in one sentence and where it comes from (a
//! publication, a PEP or CPython's docs). The output lists every fact it cites,
//! so a team can check the reasoning against the source.

use serde::Serialize;

/// One published fact with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// Short id the rules cite, e.g. `ft-scaling`.
    pub id: &'static str,
    /// The fact, in one sentence.
    pub claim: &'static str,
    /// Where it is published (document and section).
    pub source: &'static str,
    /// A link to the source.
    pub url: &'static str,
}

/// Every fact gil-lab's advice can cite.
pub const FACTS: &[Fact] = &[
    Fact {
        id: "ft-scaling",
        claim: "Independent CPU-bound work scales close to the number of cores with threads on a free-threaded build (MCTS example on 6 cores: free-threaded threads 5.5 s, threads under the GIL 63.1 s, processes 5.0 s).",
        source: "py-free-threading.github.io, examples",
        url: "https://py-free-threading.github.io/",
    },
    Fact {
        id: "ft-contention",
        claim: "Shared mutable state and shared hot objects scale poorly on free-threaded builds: reference-count contention (biased reference counting, other threads use atomics) and per-object locks on dict and list writes.",
        source: "PEP 703; py-free-threading.github.io, porting guide",
        url: "https://peps.python.org/pep-0703/",
    },
    Fact {
        id: "start-cost",
        claim: "Creating a thread costs about 100 µs, a process about 50 ms; per-thread allocator heaps make thread churn costlier on free-threaded builds, so keep worker threads alive.",
        source: "PEP 703",
        url: "https://peps.python.org/pep-0703/",
    },
    Fact {
        id: "ft-cost-3.13",
        claim: "The 3.13 free-threaded build runs single-threaded code about 40% slower on pyperformance (its specializing interpreter is disabled).",
        source: "Python 3.13 free-threading HOWTO",
        url: "https://docs.python.org/3.13/howto/free-threading-python.html",
    },
    Fact {
        id: "ft-cost-3.14",
        claim: "The 3.14 free-threaded build costs roughly 5-10% single-threaded (1% on macOS aarch64 to 8% on x86-64 Linux), and about 15-20% more memory.",
        source: "What's New in Python 3.14; 3.14 free-threading HOWTO; PEP 779",
        url: "https://peps.python.org/pep-0779/",
    },
    Fact {
        id: "gil-reenabled",
        claim: "Importing a C extension that does not declare Py_mod_gil turns the GIL back on for the whole process, with only a RuntimeWarning (check sys._is_gil_enabled()).",
        source: "Python free-threading HOWTO; Python/import.c",
        url: "https://docs.python.org/3/howto/free-threading-python.html",
    },
    Fact {
        id: "ft-wheels",
        claim: "About 60% of the top C-extension packages ship free-threaded wheels (late 2026); a wheel existing does not prove the module keeps the GIL off or is thread-safe.",
        source: "free-threaded wheel trackers (py-free-threading.github.io/tracking)",
        url: "https://py-free-threading.github.io/tracking/",
    },
    Fact {
        id: "gil-released-on-io",
        claim: "Under the GIL, threads still run blocking I/O concurrently: the GIL is released while a thread waits, so threading remains appropriate for many I/O-bound tasks.",
        source: "Python docs, threading (CPython implementation detail)",
        url: "https://docs.python.org/3/library/threading.html",
    },
    Fact {
        id: "asyncio-io",
        claim: "asyncio runs many concurrent I/O-bound calls on one thread with cheap tasks; it is the standard library's fit for high-level network code.",
        source: "Python docs, asyncio",
        url: "https://docs.python.org/3/library/asyncio.html",
    },
    Fact {
        id: "asyncio-3.14",
        claim: "From 3.14 asyncio keeps per-thread task lists, so event loops in several threads scale on free-threaded builds.",
        source: "What's New in Python 3.14",
        url: "https://docs.python.org/3/whatsnew/3.14.html",
    },
    Fact {
        id: "subinterpreters",
        claim: "Subinterpreters have their own GIL from 3.12 (PEP 684); 3.13 has only the private _interpreters module; 3.14 adds concurrent.interpreters and InterpreterPoolExecutor, whose arguments and results are pickled (PEP 734).",
        source: "PEP 684; PEP 734",
        url: "https://peps.python.org/pep-0734/",
    },
    Fact {
        id: "start-method",
        claim: "multiprocessing starts workers with fork on Linux up to 3.13 and with forkserver from 3.14: data is no longer inherited copy-on-write unless fork is asked for.",
        source: "What's New in Python 3.14",
        url: "https://docs.python.org/3/whatsnew/3.14.html",
    },
    Fact {
        id: "ray-default-only",
        claim: "Ray has no free-threaded wheels (ray-project/ray#47933 open); its workers are processes, and threaded or async actors do not bypass the GIL.",
        source: "ray-project/ray#47933; Ray docs, AsyncIO / concurrency for actors",
        url: "https://github.com/ray-project/ray/issues/47933",
    },
    Fact {
        id: "no-jit-ft",
        claim: "The experimental JIT is not available in free-threaded builds (3.14).",
        source: "What's New in Python 3.14",
        url: "https://docs.python.org/3/whatsnew/3.14.html",
    },
];

/// The fact with this id.
///
/// # Panics
/// If no fact has the id: rules cite ids from [`FACTS`], and the unit test
/// below checks that every cited id exists.
pub fn fact(id: &str) -> &'static Fact {
    FACTS
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no published fact `{id}`"))
}

/// The facts with these ids, each once, in the order first cited.
pub fn cited(ids: impl IntoIterator<Item = &'static str>) -> Vec<Fact> {
    let mut facts: Vec<Fact> = Vec::new();
    for id in ids {
        let found = *fact(id);
        if !facts.contains(&found) {
            facts.push(found);
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_fact_has_a_source() {
        for (i, f) in FACTS.iter().enumerate() {
            assert!(
                FACTS[i + 1..].iter().all(|g| g.id != f.id),
                "duplicate {}",
                f.id
            );
            assert!(f.url.starts_with("https://"), "{}", f.id);
            assert!(!f.source.is_empty() && f.claim.ends_with('.'), "{}", f.id);
        }
    }

    #[test]
    fn cited_facts_are_deduplicated_in_order() {
        let ids: Vec<_> = cited(["start-cost", "ft-scaling", "start-cost"])
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["start-cost", "ft-scaling"]);
    }
}
