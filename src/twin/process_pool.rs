//! The twin's `processes` approach: gil-lab re-executes itself as worker
//! processes (`gil-lab twin worker <spec-json>`), the native counterpart of a
//! `spawn` process pool.
//!
//! The conversation is one JSON object per line. A worker builds the task
//! list (and, for `shared`, its own knowledge base) from the spec, says
//! [`Hello`], then reads task indices on stdin, one per line, and answers
//! each with a [`Reply`] on stdout, until stdin closes. In the parent one
//! dispatcher thread per worker pulls task indices from a shared counter, so
//! tasks are handed out as workers become free.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::clock::monotonic;
use super::knowledge::RoadNetwork;
use super::scenario::Workbench;
use super::task::{Task, make_tasks};
use super::trial::{TaskRecord, perform};
use crate::protocol::{TrialSpec as Spec, parse_spec};

/// What a worker says once it is ready for tasks.
#[derive(Debug, Serialize, Deserialize)]
struct Hello {
    /// The worker's process id.
    pid: u32,
    /// Seconds it spent building the knowledge base (0 without one).
    sharing_cost_s: f64,
}

/// A worker's answer to one task index.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Reply {
    /// The task ran.
    Done {
        /// Task number.
        index: usize,
        /// CLOCK_MONOTONIC seconds.
        start: f64,
        /// CLOCK_MONOTONIC seconds.
        end: f64,
        /// The task's results.
        result: Vec<i64>,
    },
    /// It did not.
    Failed {
        /// Why.
        error: String,
    },
}

/// One worker process and its pipes.
struct Worker {
    child: Child,
    /// Closed (None) to tell the worker to finish.
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pid: u32,
    sharing_cost_s: f64,
    /// True once the process has been waited for.
    reaped: bool,
}

impl Worker {
    /// Reads one JSON line from the worker.
    fn read<T: for<'de> Deserialize<'de>>(&mut self, waiting_for: &str) -> Result<T> {
        let mut line = String::new();
        let read = self
            .stdout
            .read_line(&mut line)
            .with_context(|| format!("cannot read from worker process {}", self.pid))?;
        if read == 0 {
            bail!(
                "worker process {} stopped before sending {waiting_for} (its error, if any, is on stderr)",
                self.pid
            );
        }
        serde_json::from_str(&line).with_context(|| {
            format!(
                "worker process {} sent {:?} instead of {waiting_for}",
                self.pid,
                line.trim_end()
            )
        })
    }

    /// Runs task `index` on this worker and waits for its record.
    fn run_task(&mut self, index: usize) -> Result<TaskRecord> {
        let stdin = self.stdin.as_mut().context("worker already shut down")?;
        writeln!(stdin, "{index}")
            .and_then(|()| stdin.flush())
            .with_context(|| format!("cannot send a task to worker process {}", self.pid))?;
        match self.read::<Reply>("a task result")? {
            Reply::Done {
                index: got,
                start,
                end,
                result,
            } if got == index => Ok(TaskRecord {
                index,
                worker: format!("process-{}", self.pid),
                // A worker process runs its tasks on its main thread.
                tid: self.pid,
                start,
                end,
                result,
            }),
            Reply::Done { index: got, .. } => bail!(
                "worker process {} answered task {got} when asked for task {index}",
                self.pid
            ),
            Reply::Failed { error } => {
                bail!("worker process {} failed: {error}", self.pid)
            }
        }
    }
}

/// Running worker processes; dropping the pool kills any that are left.
pub struct Pool {
    workers: Vec<Worker>,
}

impl Pool {
    /// Starts `spec.workers` workers and waits until each has said hello
    /// (they start in parallel: all are spawned before any hello is read).
    pub fn start(spec: &Spec) -> Result<Pool> {
        let exe = std::env::current_exe()
            .context("cannot find gil-lab's own executable to start worker processes")?;
        let spec_json = serde_json::to_string(spec).context("cannot encode the spec")?;
        let mut pool = Pool {
            workers: Vec::with_capacity(spec.worker_count()),
        };
        for _ in 0..spec.worker_count() {
            let mut child = Command::new(&exe)
                .args(["twin", "worker", &spec_json])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| {
                    format!(
                        "cannot start worker process {} of {} ({}): use fewer \"workers\"",
                        pool.workers.len() + 1,
                        spec.workers,
                        exe.display()
                    )
                })?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                let _ = child.kill();
                let _ = child.wait();
                bail!("worker process started without pipes");
            };
            pool.workers.push(Worker {
                pid: child.id(),
                child,
                stdin: Some(stdin),
                stdout: BufReader::new(stdout),
                sharing_cost_s: 0.0,
                reaped: false,
            });
        }
        for worker in &mut pool.workers {
            let hello: Hello = worker.read("its hello")?;
            worker.pid = hello.pid;
            worker.sharing_cost_s = hello.sharing_cost_s;
        }
        Ok(pool)
    }

    /// Seconds the workers spent building their knowledge bases, summed.
    pub fn sharing_cost_s(&self) -> f64 {
        self.workers.iter().map(|w| w.sharing_cost_s).sum()
    }

    /// Runs every task on the workers, each task going to the next free
    /// worker; the records come back in no particular order.
    pub fn run(&mut self, tasks: &[Task]) -> Result<Vec<TaskRecord>> {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let per_worker: Vec<Result<Vec<TaskRecord>>> = thread::scope(|scope| {
            let handles: Vec<_> = self
                .workers
                .iter_mut()
                .map(|worker| {
                    let (next, failed) = (&next, &failed);
                    scope.spawn(move || {
                        let mut records = Vec::new();
                        while !failed.load(Ordering::Relaxed) {
                            let index = next.fetch_add(1, Ordering::Relaxed);
                            if index >= tasks.len() {
                                break;
                            }
                            match worker.run_task(index) {
                                Ok(record) => records.push(record),
                                Err(error) => {
                                    failed.store(true, Ordering::Relaxed);
                                    return Err(error);
                                }
                            }
                        }
                        Ok(records)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow!("a dispatcher thread panicked")))
                })
                .collect()
        });
        let mut records = Vec::with_capacity(tasks.len());
        for result in per_worker {
            records.extend(result?);
        }
        Ok(records)
    }

    /// Closes every worker's stdin and waits for it to exit.
    pub fn shutdown(&mut self) -> Result<()> {
        for worker in &mut self.workers {
            worker.stdin = None;
        }
        for worker in &mut self.workers {
            let status = worker
                .child
                .wait()
                .with_context(|| format!("cannot wait for worker process {}", worker.pid))?;
            worker.reaped = true;
            if !status.success() {
                bail!("worker process {} ended with {status}", worker.pid);
            }
        }
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // A trial that failed half-way must not leave workers behind.
        for worker in self.workers.iter_mut().filter(|w| !w.reaped) {
            let _ = worker.child.kill();
            let _ = worker.child.wait();
        }
    }
}

/// `gil-lab twin worker <spec-json>`: serves task indices from stdin until it
/// closes.
pub fn serve(args: &[String]) -> Result<ExitCode> {
    let spec = parse_spec(args).context("twin worker: bad spec")?;
    let tasks = make_tasks(spec.scale, spec.seed);
    let started = monotonic();
    let network = spec
        .scenario
        .uses_knowledge()
        .then(|| RoadNetwork::for_seed(spec.seed));
    let sharing_cost_s = if network.is_some() {
        monotonic() - started
    } else {
        0.0
    };
    let mut bench = Workbench::new(spec.scenario, network.as_ref()).with_llm(spec.llm.as_ref())?;
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| -> Result<()> {
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .context("twin worker: cannot write to the parent")
    };
    say(serde_json::to_string(&Hello {
        pid: std::process::id(),
        sharing_cost_s,
    })?)?;
    for line in std::io::stdin().lock().lines() {
        let line = line.context("twin worker: cannot read a task index")?;
        let reply = match line.trim().parse::<usize>().ok().and_then(|i| tasks.get(i)) {
            Some(task) => match perform(&mut bench, task, "", None) {
                Ok(record) => Reply::Done {
                    index: record.index,
                    start: record.start,
                    end: record.end,
                    result: record.result,
                },
                Err(error) => Reply::Failed {
                    error: format!("{error:#}"),
                },
            },
            None => Reply::Failed {
                error: format!("{line:?} is not a task index below {}", tasks.len()),
            },
        };
        say(serde_json::to_string(&reply)?)?;
    }
    Ok(ExitCode::SUCCESS)
}
