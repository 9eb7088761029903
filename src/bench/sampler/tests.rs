//! Tests of the sampler against this test process's own threads.

use super::*;

#[test]
fn parallelism_timeline_sums_lanes_per_interval() {
    let lane = |first_sample, cpu_us: Vec<u32>| Lane {
        pid: 1,
        tid: 1,
        name: String::new(),
        kind: LaneKind::Thread,
        first_sample,
        cpu_us,
        cpu_s: 0.0,
        core_wait_us: Vec::new(),
        seen: String::new(),
    };
    let report = SamplerReport {
        sample_times_us: vec![0, 10_000, 20_000, 30_000],
        lanes: vec![
            lane(0, vec![0, 10_000, 5_000, 0]),
            lane(1, vec![10_000, 10_000]),
        ],
        ..SamplerReport::default()
    };
    assert_eq!(report.parallelism_timeline(), vec![2.0, 1.5, 0.0]);
}

#[test]
fn sampler_sees_its_own_process() {
    // The test process leads no group of its own, so sample our own pid
    // as the root: the tree is at least this process and its threads.
    let me = std::process::id();
    let sampler = Sampler::start(me, Instant::now(), DEFAULT_INTERVAL).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let report = sampler.stop();
    // The first sample is taken as the thread starts; how many follow in
    // 100 ms depends on the machine's load (the sampler runs at nice 19).
    assert!(report.samples >= 1, "no sample");
    assert!(report.processes.iter().any(|p| p.pid == me));
    assert!(report.peak_memory_bytes > 0);
    let main = report.lanes.iter().find(|l| l.tid == me).unwrap();
    assert_eq!(main.kind, LaneKind::Process);
    // The sampler thread itself is a lane, and it has used CPU.
    assert!(
        report
            .lanes
            .iter()
            .any(|l| l.name == "gil-lab-sampler" && l.cpu_s > 0.0)
    );
    // Its cost is a figure of `cargo bench --bench measurement`, not a
    // bound here: a thread started late on a busy machine samples once
    // and spends most of its short life doing so.
    assert!(report.cpu_s > 0.0 && report.overhead > 0.0);
}

#[test]
fn threads_blocked_on_a_lock_and_asleep_are_told_apart() {
    use std::sync::{Arc, Condvar, Mutex};
    // One thread waits on a condition variable (a futex), one sleeps;
    // both are named so that their lanes can be found.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let waiter = {
        let gate = Arc::clone(&gate);
        std::thread::Builder::new()
            .name("test-lock-wait".into())
            .spawn(move || {
                let (lock, cvar) = &*gate;
                let mut open = lock.lock().unwrap();
                while !*open {
                    open = cvar.wait(open).unwrap();
                }
            })
            .unwrap()
    };
    let sleeper = std::thread::Builder::new()
        .name("test-io-wait".into())
        .spawn(|| std::thread::sleep(Duration::from_millis(300)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let sampler = Sampler::start(std::process::id(), Instant::now(), DEFAULT_INTERVAL).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let report = sampler.stop();
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
    waiter.join().unwrap();
    sleeper.join().unwrap();
    let seen = |name: &str| {
        let lane = report.lanes.iter().find(|l| l.name == name).unwrap();
        assert_eq!(lane.seen.len(), lane.cpu_us.len());
        assert_eq!(lane.core_wait_us.len(), lane.cpu_us.len());
        lane.seen.clone()
    };
    // Every sample after the first sees each one where it waits (the
    // sampler may be late on a busy machine, but not wrong).
    let lock = seen("test-lock-wait");
    assert!(!lock.is_empty() && lock.chars().all(|c| c == 'L'), "{lock}");
    let sleep = seen("test-io-wait");
    assert!(
        !sleep.is_empty() && sleep.chars().all(|c| c == 'I'),
        "{sleep}"
    );
}
