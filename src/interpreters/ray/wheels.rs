//! Which interpreters can have Ray: the wheels the package index publishes
//! for the Ray version gil-lab installs. Ray has C++ parts, so without a
//! wheel there is no Ray (building it from source takes hours and Bazel).

use crate::interpreters::facts::Facts;

/// The Ray version gil-lab installs (pinned: the ray approach times one of
/// its steps through a function of this version, and every trial of a run
/// should use the same Ray).
pub const RAY_VERSION: &str = "2.60.0";

/// Language versions with Ray wheels (CPython, default builds).
const OLDEST: (u32, u32) = (3, 10);
const NEWEST: (u32, u32) = (3, 14);

/// Why an interpreter cannot have Ray, and where that comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoWheels {
    /// In words, e.g. `Ray publishes no wheels for free-threaded builds`.
    pub reason: String,
    /// The source of the fact (an issue, the package index).
    pub source: &'static str,
}

impl std::fmt::Display for NoWheels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (source: {})", self.reason, self.source)
    }
}

/// Where the version range and the platforms come from: the files of the
/// release on PyPI (`ray-2.60.0-cp310-...` to `cp314`, manylinux x86_64 and
/// aarch64, macOS arm64, Windows).
const PYPI_FILES: &str = "the ray 2.60.0 files on PyPI";

/// Whether Ray wheels exist for this interpreter; why not otherwise.
pub fn availability(facts: &Facts) -> Result<(), NoWheels> {
    let no = |reason: String, source| Err(NoWheels { reason, source });
    if facts.implementation != "cpython" {
        return no(
            format!(
                "Ray publishes no wheels for {}",
                facts.implementation_display()
            ),
            PYPI_FILES,
        );
    }
    if facts.py_gil_disabled {
        return no(
            "Ray publishes no wheels for free-threaded builds".into(),
            "ray-project/ray#47933",
        );
    }
    let [major, minor, _] = facts.version_info;
    if !(OLDEST..=NEWEST).contains(&(major, minor)) {
        return no(
            format!(
                "Ray {RAY_VERSION} publishes wheels for CPython {}.{}-{}.{} only",
                OLDEST.0, OLDEST.1, NEWEST.0, NEWEST.1
            ),
            PYPI_FILES,
        );
    }
    let platform_ok = facts.platform.starts_with("linux")
        && matches!(facts.machine.as_str(), "x86_64" | "aarch64");
    if !platform_ok {
        return no(
            format!(
                "gil-lab sets up Ray on Linux x86_64 and aarch64 only, this is {} {}",
                facts.platform, facts.machine
            ),
            PYPI_FILES,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(implementation: &str, version: [u32; 3], free_threaded: bool) -> Facts {
        Facts {
            implementation: implementation.into(),
            version_info: version,
            py_gil_disabled: free_threaded,
            ..crate::interpreters::facts::tests::free_threaded_facts()
        }
    }

    #[test]
    fn default_cpython_builds_of_supported_versions_have_wheels() {
        assert_eq!(availability(&facts("cpython", [3, 13, 5], false)), Ok(()));
        assert_eq!(availability(&facts("cpython", [3, 10, 0], false)), Ok(()));
        assert_eq!(availability(&facts("cpython", [3, 14, 1], false)), Ok(()));
    }

    #[test]
    fn free_threaded_pypy_and_old_versions_have_none_and_say_why() {
        let free = availability(&facts("cpython", [3, 13, 5], true)).unwrap_err();
        assert_eq!(free.source, "ray-project/ray#47933");
        assert!(free.to_string().contains("free-threaded"), "{free}");
        let pypy = availability(&facts("pypy", [3, 9, 18], false)).unwrap_err();
        assert!(pypy.reason.contains("PyPy"), "{pypy}");
        let old = availability(&facts("cpython", [3, 9, 18], false)).unwrap_err();
        assert!(old.reason.contains("3.10-3.14"), "{old}");
        let new = availability(&facts("cpython", [3, 15, 0], false)).unwrap_err();
        assert_eq!(new.source, PYPI_FILES);
    }
}
