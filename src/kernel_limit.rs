//! Holding a process tree to `--memory-limit` with the kernel: a memory
//! cgroup per trial (or per child of a task's check) where gil-lab may make
//! one (cgroup v2 `memory.max` first, then cgroup v1
//! `memory.limit_in_bytes`, under the cgroup gil-lab itself is in), else
//! `RLIMIT_DATA` set on the first process before `exec` (inherited by every
//! process it starts). The way is chosen once per run ([`Enforcer::choose`])
//! and recorded in `run.json` (`run::memory_limit`). `bench` holds its
//! trials to it, and `task`'s check its children; neither reaches into the
//! other.
//!
//! A cgroup is made just before its spawn, the child moves itself into it
//! between `fork` and `exec` (so nothing of the workload ever runs outside
//! it), and it is removed when the child's tree ends, whatever happened
//! ([`TrialLimit`]'s `Drop`); cgroups left by a gil-lab that was killed are
//! removed by the next run. The kernel's figures (peak, OOM kills) tell
//! whether the limit stopped it (`cgroup::Counters`).
//!
//! `GIL_LAB_MEMORY_LIMIT_WAY` (`cgroup-v2`, `cgroup-v1`, `rlimit`) forces a
//! way, for tests of each path; a forced way that cannot work here is an
//! error.

use std::os::fd::{AsRawFd, RawFd};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::run::memory_limit::{Enforcement, MemoryLimit};

mod cgroup;
use cgroup::{Hierarchy, TrialCgroup};

/// The environment variable that forces a way (tests only; not documented
/// for users).
pub const FORCE_VAR: &str = "GIL_LAB_MEMORY_LIMIT_WAY";

/// The run's memory limit and the way the kernel enforces it.
pub struct Enforcer {
    limit: MemoryLimit,
    way: Way,
    /// Trials prepared so far (names their cgroups).
    trials: AtomicU64,
}

enum Way {
    Cgroup(Hierarchy),
    Rlimit(Resource),
}

/// Which resource limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resource {
    Data,
    AddressSpace,
}

impl Enforcer {
    /// Chooses the way for a limit of `mb` MB on this machine: cgroup v2,
    /// cgroup v1, else an rlimit (with the reason no cgroup could be used).
    pub fn choose(mb: u64) -> Result<Enforcer> {
        Enforcer::choose_with(mb, std::env::var(FORCE_VAR).ok().as_deref())
    }

    /// [`Enforcer::choose`], with the way `forced` (the value of
    /// [`FORCE_VAR`]) or not.
    fn choose_with(mb: u64, forced: Option<&str>) -> Result<Enforcer> {
        let (way, no_cgroup_because) = match forced {
            None | Some("") => match Hierarchy::find() {
                Ok(hierarchy) => (Way::Cgroup(hierarchy), None),
                Err(why) => (Way::Rlimit(rlimit_resource()), Some(why)),
            },
            Some("cgroup-v2") => {
                (
                    Way::Cgroup(Hierarchy::v2().map_err(anyhow::Error::msg).with_context(
                        || format!("{FORCE_VAR}=cgroup-v2: no usable cgroup v2 memory controller"),
                    )?),
                    None,
                )
            }
            Some("cgroup-v1") => {
                (
                    Way::Cgroup(Hierarchy::v1().map_err(anyhow::Error::msg).with_context(
                        || format!("{FORCE_VAR}=cgroup-v1: no usable cgroup v1 memory controller"),
                    )?),
                    None,
                )
            }
            Some("rlimit") => (
                Way::Rlimit(rlimit_resource()),
                Some(format!("{FORCE_VAR}=rlimit")),
            ),
            Some(other) => bail!(
                "{FORCE_VAR}={other} is not a way to enforce --memory-limit: use cgroup-v2, cgroup-v1 or rlimit (or unset it)"
            ),
        };
        let enforced_by = match &way {
            Way::Cgroup(hierarchy) => hierarchy.enforcement(),
            Way::Rlimit(Resource::Data) => Enforcement::RlimitData,
            Way::Rlimit(Resource::AddressSpace) => Enforcement::RlimitAs,
        };
        Ok(Enforcer {
            limit: MemoryLimit {
                mb,
                enforced_by,
                no_cgroup_because,
            },
            way,
            trials: AtomicU64::new(0),
        })
    }

    /// The limit as recorded in the run.
    pub fn record(&self) -> &MemoryLimit {
        &self.limit
    }

    /// Sets up the limit of the next trial (its cgroup, made now).
    pub fn prepare(&self) -> Result<TrialLimit> {
        let bytes = self.limit.bytes();
        let n = self.trials.fetch_add(1, Ordering::Relaxed);
        let (cgroup, rlimit) = match &self.way {
            Way::Cgroup(hierarchy) => (Some(hierarchy.trial(n, bytes)?), None),
            Way::Rlimit(resource) => (None, Some((*resource, capped(*resource, bytes)))),
        };
        Ok(TrialLimit {
            limit_bytes: bytes,
            enforced_by: self.limit.enforced_by,
            cgroup,
            rlimit,
        })
    }
}

/// `RLIMIT_DATA` counts `mmap`ed memory since Linux 4.7; before, only
/// `RLIMIT_AS` holds a Python process (whose large objects are `mmap`ed).
fn rlimit_resource() -> Resource {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let version = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if version >= (4, 7) {
        Resource::Data
    } else {
        Resource::AddressSpace
    }
}

/// `bytes`, or the process's current hard limit when that is lower (an
/// unprivileged process cannot raise it).
fn capped(resource: Resource, bytes: u64) -> u64 {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `current` is a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(resource.raw(), &mut current) };
    if rc == 0 && current.rlim_max != libc::RLIM_INFINITY {
        bytes.min(current.rlim_max)
    } else {
        bytes
    }
}

impl Resource {
    #[cfg(target_env = "gnu")]
    fn raw(self) -> libc::__rlimit_resource_t {
        match self {
            Resource::Data => libc::RLIMIT_DATA,
            Resource::AddressSpace => libc::RLIMIT_AS,
        }
    }

    #[cfg(not(target_env = "gnu"))]
    fn raw(self) -> libc::c_int {
        match self {
            Resource::Data => libc::RLIMIT_DATA,
            Resource::AddressSpace => libc::RLIMIT_AS,
        }
    }
}

/// The limit of one trial: its cgroup (removed on drop) or its rlimit.
pub struct TrialLimit {
    limit_bytes: u64,
    enforced_by: Enforcement,
    cgroup: Option<TrialCgroup>,
    rlimit: Option<(Resource, u64)>,
}

/// What the child does between `fork` and `exec`: plain values, so that
/// [`PreExec::apply`] only makes system calls (it runs in a forked child of
/// a multi-threaded process: no allocation, no locks).
#[derive(Clone, Copy, Debug)]
pub struct PreExec {
    procs_fd: Option<RawFd>,
    rlimit: Option<(Resource, u64)>,
}

impl PreExec {
    /// Joins the trial's cgroup (writing "0", itself, to its `cgroup.procs`)
    /// and sets the rlimit. Only async-signal-safe system calls.
    pub fn apply(&self) -> std::io::Result<()> {
        if let Some(fd) = self.procs_fd {
            // SAFETY: writing one byte from a static buffer to an open fd.
            let written = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
            if written != 1 {
                return Err(std::io::Error::last_os_error());
            }
        }
        if let Some((resource, bytes)) = self.rlimit {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            // SAFETY: `limit` is a valid rlimit.
            if unsafe { libc::setrlimit(resource.raw(), &limit) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// What the memory limit did to a trial, as the kernel tells it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LimitSeen {
    /// The limit, bytes.
    pub limit_bytes: u64,
    /// How it was enforced.
    pub enforced_by: Enforcement,
    /// The peak of the trial's cgroup, bytes (absent with an rlimit, or on a
    /// kernel without `memory.peak`).
    pub peak_bytes: Option<u64>,
    /// Processes the kernel's OOM killer killed in the trial's cgroup.
    pub oom_kills: u64,
}

impl TrialLimit {
    /// Has the child `command` starts join the limit between `fork` and
    /// `exec` (keep `self` until the child's tree has ended).
    pub fn confine(&self, command: &mut Command) {
        use std::os::unix::process::CommandExt;
        let pre_exec = self.pre_exec();
        // SAFETY: `apply` only makes async-signal-safe system calls (write,
        // setrlimit) on values copied before the fork.
        unsafe {
            command.pre_exec(move || pre_exec.apply());
        }
    }

    /// The part the child applies before `exec`.
    fn pre_exec(&self) -> PreExec {
        PreExec {
            procs_fd: self
                .cgroup
                .as_ref()
                .and_then(|c| c.procs.as_ref())
                .map(std::fs::File::as_raw_fd),
            rlimit: self.rlimit,
        }
    }

    /// Whether the kernel has killed a process of the trial for memory.
    pub fn oom_killed(&self) -> bool {
        self.cgroup
            .as_ref()
            .is_some_and(|c| c.counters().oom_kills > 0)
    }

    /// The kernel's figures, once the trial's processes are gone; then the
    /// cgroup is removed (any process still in it is killed first).
    pub fn finish(mut self) -> LimitSeen {
        let counters = self
            .cgroup
            .as_ref()
            .map(TrialCgroup::counters)
            .unwrap_or_default();
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.remove();
        }
        LimitSeen {
            limit_bytes: self.limit_bytes,
            enforced_by: self.enforced_by,
            peak_bytes: counters.peak_bytes,
            oom_kills: counters.oom_kills,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_that_does_not_exist_is_one_clear_error() {
        let error = Enforcer::choose_with(100, Some("magic"))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains("cgroup-v2, cgroup-v1 or rlimit"), "{error}");
    }

    #[test]
    fn an_rlimit_is_never_above_the_hard_limit() {
        assert!(capped(Resource::Data, 100 << 20) <= 100 << 20);
        assert_eq!(rlimit_resource(), Resource::Data, "Linux 4.7 or later");
    }
}
