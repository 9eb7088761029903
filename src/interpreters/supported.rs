//! Which Python versions gil-lab supports, defined once, here. Discovery
//! sets older interpreters aside (the probe only reports facts), `bench`
//! plans with these minimums, and `python list --json` reports the verdict
//! per interpreter (`runs_workload`, which `scripts/test` uses to choose
//! interpreters for the Python suite). The Python side holds no version
//! policy: the runner only refuses a Python too old to parse the workload.

/// Oldest CPython (language version `major.minor`) gil-lab runs the workload
/// on. The workload's syntax would parse on older ones, but CPython 3.9 and
/// older are past their end of life and untested: 3.10 is the oldest CPython
/// the test suite runs the workload on (`scripts/test` runs the Python suite
/// on every supported interpreter it finds).
pub const MIN_CPYTHON: (u32, u32) = (3, 10);

/// Oldest PyPy (the Python language version it implements) gil-lab runs the
/// workload on. PyPy 3.9 is kept although CPython 3.9 is not: it is the PyPy
/// that Debian 12 ships as `pypy3`, often the only PyPy on a machine, and
/// the workload runs on it unchanged.
pub const MIN_PYPY: (u32, u32) = (3, 9);

/// The oldest supported language version for an implementation
/// (`sys.implementation.name`, any case): [`MIN_PYPY`] for PyPy,
/// [`MIN_CPYTHON`] for anything else.
pub fn minimum(implementation: &str) -> (u32, u32) {
    if implementation.eq_ignore_ascii_case("pypy") {
        MIN_PYPY
    } else {
        MIN_CPYTHON
    }
}

/// Whether gil-lab runs the workload on this implementation and language
/// version (`major.minor`).
pub fn runs_workload(implementation: &str, version: (u32, u32)) -> bool {
    version >= minimum(implementation)
}

/// Why an interpreter is not supported, in one sentence, e.g. `Python 3.9.18
/// is too old: gil-lab needs Python 3.10 or newer`.
pub fn too_old(implementation: &str, version: &str) -> String {
    let (major, minor) = minimum(implementation);
    format!("Python {version} is too old: gil-lab needs Python {major}.{minor} or newer")
}

/// The supported versions in a few words: `CPython 3.10+, PyPy 3.9+`.
pub fn describe() -> String {
    format!(
        "CPython {}.{}+, PyPy {}.{}+",
        MIN_CPYTHON.0, MIN_CPYTHON.1, MIN_PYPY.0, MIN_PYPY.1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pypy_has_its_own_minimum() {
        assert!(runs_workload("cpython", (3, 10)));
        assert!(!runs_workload("cpython", (3, 9)));
        assert!(runs_workload("pypy", (3, 9)));
        assert!(runs_workload("PyPy", (3, 9)));
        assert!(!runs_workload("pypy", (3, 8)));
        assert!(!runs_workload("cpython", (2, 7)));
        assert!(runs_workload("cpython", (4, 0)));
    }

    #[test]
    fn messages_name_the_minimum() {
        assert_eq!(
            too_old("cpython", "3.9.18"),
            "Python 3.9.18 is too old: gil-lab needs Python 3.10 or newer"
        );
        assert_eq!(
            too_old("pypy", "3.8.16"),
            "Python 3.8.16 is too old: gil-lab needs Python 3.9 or newer"
        );
        assert_eq!(describe(), "CPython 3.10+, PyPy 3.9+");
    }
}
