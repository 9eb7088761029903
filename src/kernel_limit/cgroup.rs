//! Memory cgroups for trials: finding the hierarchy gil-lab may make them
//! in (the cgroup it is itself in, v2 or v1), making one per trial with the
//! limit, reading the kernel's counters, and removing it.
//!
//! cgroup v2 only lets a cgroup's children have the memory controller when
//! the cgroup holds no process itself. When gil-lab is alone in its cgroup
//! (as under `systemd-run --user --scope -p Delegate=yes`), it moves itself
//! into a leaf of its own (`gil-lab-<pid>-self`) and enables the controller
//! for the trials, and undoes both when the run ends. When other processes
//! share its cgroup, it leaves them alone: no cgroup v2 then.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::run::memory_limit::Enforcement;

/// How long removing a trial's cgroup may take (its last processes are
/// leaving it).
const REMOVE_LIMIT: Duration = Duration::from_secs(2);

/// A cgroup gil-lab may make trial cgroups in.
pub(super) struct Hierarchy {
    version: Version,
    /// The cgroup the trials' cgroups are made in.
    parent: PathBuf,
    /// cgroup v2, when gil-lab moved itself out of `parent` to enable the
    /// memory controller there: undone on drop.
    moved: Option<SelfMove>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Hierarchy {
    /// cgroup v2, else cgroup v1; `Err` says why neither can be used.
    pub(super) fn find() -> Result<Hierarchy, String> {
        match Hierarchy::v2() {
            Ok(found) => Ok(found),
            Err(v2) => Hierarchy::v1().map_err(|v1| format!("{v2}; {v1}")),
        }
    }

    /// A cgroup v2 with the memory controller for its children.
    pub(super) fn v2() -> Result<Hierarchy, String> {
        let own = own_cgroup(|controllers| controllers.is_empty(), "cgroup2")
            .ok_or("no cgroup v2 hierarchy is mounted")?;
        let controllers = std::fs::read_to_string(own.join("cgroup.controllers"))
            .map_err(|e| format!("cannot read {}: {e}", own.display()))?;
        if !has_word(&controllers, "memory") {
            return Err(format!(
                "the cgroup v2 hierarchy has no memory controller for {} (it is bound to cgroup v1, or not delegated)",
                own.display()
            ));
        }
        let moved = enable_memory(&own)?;
        let hierarchy = Hierarchy {
            version: Version::V2,
            parent: own,
            moved,
        };
        hierarchy.probe()?;
        hierarchy.sweep();
        Ok(hierarchy)
    }

    /// The cgroup v1 memory hierarchy, under gil-lab's own cgroup.
    pub(super) fn v1() -> Result<Hierarchy, String> {
        let own = own_cgroup(
            |controllers| has_word_comma(controllers, "memory"),
            "cgroup",
        )
        .ok_or("no cgroup v1 memory hierarchy is mounted")?;
        let hierarchy = Hierarchy {
            version: Version::V1,
            parent: own,
            moved: None,
        };
        hierarchy.probe()?;
        hierarchy.sweep();
        Ok(hierarchy)
    }

    pub(super) fn enforcement(&self) -> Enforcement {
        match self.version {
            Version::V1 => Enforcement::CgroupV1,
            Version::V2 => Enforcement::CgroupV2,
        }
    }

    /// Makes and removes a cgroup with a limit: whether gil-lab may.
    fn probe(&self) -> Result<(), String> {
        let probe = self.trial_named(&format!("gil-lab-{}-probe", std::process::id()), 1 << 30);
        match probe {
            Ok(cgroup) => {
                cgroup.remove();
                Ok(())
            }
            Err(e) => Err(format!("cannot make a memory cgroup: {e:#}")),
        }
    }

    /// Removes the empty trial cgroups of gil-lab processes that are gone
    /// (killed before they could remove their own).
    fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix("gil-lab-")
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }

    /// The cgroup of trial `n`, with a limit of `bytes`.
    pub(super) fn trial(&self, n: u64, bytes: u64) -> Result<TrialCgroup> {
        self.trial_named(&format!("gil-lab-{}-trial-{n}", std::process::id()), bytes)
            .context("cannot make the trial's memory cgroup (--memory-limit)")
    }

    fn trial_named(&self, name: &str, bytes: u64) -> Result<TrialCgroup> {
        let dir = self.parent.join(name);
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // From here on the directory is removed on any error (by the drop).
        let mut cgroup = TrialCgroup {
            dir,
            version: self.version,
            procs: None,
        };
        let limit = bytes.to_string();
        match self.version {
            Version::V2 => {
                write(&cgroup.dir, "memory.max", &limit)?;
                // Best effort: no swapping past the limit, and the whole
                // tree is killed together when it is reached.
                let _ = write(&cgroup.dir, "memory.swap.max", "0");
                let _ = write(&cgroup.dir, "memory.oom.group", "1");
            }
            Version::V1 => {
                write(&cgroup.dir, "memory.limit_in_bytes", &limit)?;
                // Memory + swap, where swap accounting is on: not above it.
                let _ = write(&cgroup.dir, "memory.memsw.limit_in_bytes", &limit);
            }
        }
        let procs = cgroup.dir.join("cgroup.procs");
        cgroup.procs = Some(
            OpenOptions::new()
                .write(true)
                .open(&procs)
                .with_context(|| format!("cannot open {}", procs.display()))?,
        );
        Ok(cgroup)
    }
}

impl Drop for Hierarchy {
    fn drop(&mut self) {
        if let Some(moved) = self.moved.take() {
            moved.undo();
        }
    }
}

/// gil-lab's own move into a leaf of its cgroup (cgroup v2).
struct SelfMove {
    parent: PathBuf,
    leaf: PathBuf,
}

impl SelfMove {
    /// Disables the controller again, moves gil-lab back, removes the leaf.
    fn undo(self) {
        let _ = write(&self.parent, "cgroup.subtree_control", "-memory");
        let _ = write(
            &self.parent,
            "cgroup.procs",
            &std::process::id().to_string(),
        );
        let _ = std::fs::remove_dir(&self.leaf);
    }
}

/// Makes sure the children of `own` get the memory controller: already on,
/// or switched on (moving gil-lab into a leaf first when it is alone in
/// `own`). `Ok(Some)` when gil-lab moved itself.
fn enable_memory(own: &Path) -> Result<Option<SelfMove>, String> {
    let subtree = std::fs::read_to_string(own.join("cgroup.subtree_control")).unwrap_or_default();
    if has_word(&subtree, "memory") || write(own, "cgroup.subtree_control", "+memory").is_ok() {
        return Ok(None);
    }
    let me = std::process::id().to_string();
    let procs = std::fs::read_to_string(own.join("cgroup.procs")).unwrap_or_default();
    if procs.split_whitespace().any(|pid| pid != me) {
        return Err(format!(
            "{} holds other processes, so its children cannot have the memory controller (run gil-lab in a cgroup of its own: systemd-run --user --scope -p Delegate=yes gil-lab ...)",
            own.display()
        ));
    }
    let leaf = own.join(format!("gil-lab-{me}-self"));
    let moved = SelfMove {
        parent: own.to_path_buf(),
        leaf: leaf.clone(),
    };
    let enabled = std::fs::create_dir(&leaf)
        .map_err(anyhow::Error::from)
        .and_then(|()| write(&leaf, "cgroup.procs", &me))
        .and_then(|()| write(own, "cgroup.subtree_control", "+memory"));
    match enabled {
        Ok(()) => Ok(Some(moved)),
        Err(e) => {
            moved.undo();
            Err(format!(
                "cannot enable the memory controller under {}: {e:#}",
                own.display()
            ))
        }
    }
}

/// One trial's cgroup, removed on drop.
pub(super) struct TrialCgroup {
    dir: PathBuf,
    version: Version,
    /// Its `cgroup.procs`, open for the child to write itself into.
    pub(super) procs: Option<File>,
}

/// The kernel's counters of a trial's cgroup.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Counters {
    pub(super) peak_bytes: Option<u64>,
    pub(super) oom_kills: u64,
}

impl TrialCgroup {
    pub(super) fn counters(&self) -> Counters {
        let read = |file: &str| std::fs::read_to_string(self.dir.join(file)).ok();
        let (peak, events) = match self.version {
            Version::V2 => ("memory.peak", "memory.events"),
            Version::V1 => ("memory.max_usage_in_bytes", "memory.oom_control"),
        };
        Counters {
            peak_bytes: read(peak).and_then(|text| text.trim().parse().ok()),
            oom_kills: read(events)
                .and_then(|text| keyed(&text, "oom_kill"))
                .unwrap_or(0),
        }
    }

    /// Kills whatever is still in it (a process that left the trial's
    /// process group) and removes it.
    pub(super) fn remove(mut self) {
        self.remove_now();
    }

    fn remove_now(&mut self) {
        self.procs = None;
        let deadline = Instant::now() + REMOVE_LIMIT;
        loop {
            let left = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            let left: Vec<i32> = left
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            for &pid in &left {
                // SAFETY: kill has no memory-safety preconditions; a process
                // in the trial's cgroup is one of the trial's.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            if Instant::now() >= deadline {
                eprintln!(
                    "warning: cannot remove the trial's memory cgroup {}",
                    self.dir.display()
                );
                return;
            }
            // Reap what was killed if it came to gil-lab as the subreaper
            // (only those: other children of gil-lab are not touched).
            for &pid in &left {
                // SAFETY: waitpid with WNOHANG and a null status is valid.
                unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for TrialCgroup {
    fn drop(&mut self) {
        if self.dir.exists() {
            self.remove_now();
        }
    }
}

/// Writes `value` to the control file `file` of the cgroup `dir`.
fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    std::fs::write(&path, value)
        .with_context(|| format!("cannot write {value} to {}", path.display()))
}

/// The value of `key` in a `key value` per line file (`memory.events`,
/// `memory.oom_control`).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(' ')?;
        (name == key).then(|| value.trim().parse().ok()).flatten()
    })
}

fn has_word(text: &str, word: &str) -> bool {
    text.split_whitespace().any(|w| w == word)
}

fn has_word_comma(text: &str, word: &str) -> bool {
    text.split(',').any(|w| w == word)
}

/// The directory of gil-lab's own cgroup in the hierarchy whose
/// `/proc/self/cgroup` controller list satisfies `controllers`, mounted
/// with file system type `fstype` (`cgroup2`, or `cgroup` with the memory
/// option).
fn own_cgroup(controllers: impl Fn(&str) -> bool, fstype: &str) -> Option<PathBuf> {
    let membership = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = membership.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (id, names, path) = (fields.next()?, fields.next()?, fields.next()?);
        let v2 = fstype == "cgroup2";
        ((id == "0") == v2 && controllers(names)).then(|| path.to_string())
    })?;
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mounts.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        let mut after = after.split_whitespace();
        let (kind, _source, options) = (after.next()?, after.next()?, after.next()?);
        if kind != fstype || (fstype == "cgroup" && !has_word_comma(options, "memory")) {
            return None;
        }
        let fields: Vec<&str> = before.split_whitespace().collect();
        let (root, mount_point) = (fields.get(3)?, fields.get(4)?);
        // Inside a container the mount's root is gil-lab's cgroup itself.
        let relative = path.strip_prefix(root).unwrap_or(&path);
        Some(Path::new(mount_point).join(relative.trim_start_matches('/')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_key() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        assert_eq!(keyed(v1, "oom_kill"), Some(2));
        let v2 = "low 0\nhigh 0\nmax 14\noom 1\noom_kill 1\noom_group_kill 1\n";
        assert_eq!(keyed(v2, "oom_kill"), Some(1));
        assert_eq!(keyed(v2, "oom_kil"), None);
    }

    #[test]
    fn controllers_are_words() {
        assert!(has_word("cpu io memory pids", "memory"));
        assert!(!has_word("hugetlb", "memory"));
        assert!(has_word_comma("cpu,memory", "memory"));
        assert!(!has_word_comma("memoryx", "memory"));
    }
}
