//! A test-only hook: with `GIL_LAB_TEST_BALLAST_MB=N` in its environment,
//! `bench` allocates and touches N MiB of its own before it starts trials,
//! so that a test can prove a trial's memory figure does not depend on
//! gil-lab's own footprint (on Linux `ru_maxrss` carries the RSS of the
//! parent at `fork` into the child; the sampler's figures must not). Not
//! documented in `--help`: it only makes gil-lab use more memory.

/// The environment variable.
pub const ENV: &str = "GIL_LAB_TEST_BALLAST_MB";

/// The ballast asked for in the environment, allocated and every page
/// written (so that it is resident); `None` without the variable. Keep it
/// alive until the trials are done.
pub fn from_env() -> Option<Vec<u8>> {
    let mib: usize = std::env::var(ENV).ok()?.trim().parse().ok()?;
    Some(allocate(mib))
}

/// `mib` MiB, every page written.
fn allocate(mib: usize) -> Vec<u8> {
    let mut ballast = vec![0u8; mib << 20];
    // A zeroed allocation is not resident until written: write every page.
    for page in ballast.chunks_mut(4096) {
        page[0] = 1;
    }
    // Keep the writes from being optimised away.
    std::hint::black_box(&ballast);
    ballast
}

#[cfg(test)]
mod tests {
    #[test]
    fn ballast_is_resident() {
        let ballast = super::allocate(8);
        assert_eq!(ballast.len(), 8 << 20);
        assert!(ballast.iter().step_by(4096).all(|&b| b == 1));
    }
}
