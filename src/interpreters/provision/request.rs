//! What the user asked for: `3.13t`, `3.14`, `3.13.5t`, ... parsed into a
//! version and a build variant.

use std::fmt;

use anyhow::{Result, bail};

/// The oldest minor version gil-lab provisions: free-threaded builds start
/// with 3.13 (PEP 703), and the default build is only provisioned to be
/// compared with a free-threaded one of the same version.
const OLDEST_MINOR: u32 = 13;

/// A requested CPython: `3.MINOR[.PATCH]` plus `t` for the free-threaded build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// The minor version (13 for 3.13).
    pub minor: u32,
    /// The patch level when the user pinned one (`3.13.5t`), else any.
    pub patch: Option<u32>,
    /// `t` suffix: the free-threaded build (`--disable-gil`).
    pub free_threaded: bool,
}

impl Request {
    /// Parses `3.13t`, `3.13`, `3.14t`, `3.13.5t`, ...
    pub fn parse(text: &str) -> Result<Request> {
        let hint = "use 3.13, 3.13t, 3.14, 3.14t, 3.15, ... (a `t` suffix means free-threaded)";
        let trimmed = text.trim();
        let (numbers, free_threaded) = match trimmed.strip_suffix('t') {
            Some(rest) => (rest, true),
            None => (trimmed, false),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let number = |part: &str| -> Option<u32> {
            // `+5` or `05` are not versions anyone writes: digits only.
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        };
        let parsed = match parts.as_slice() {
            [major, minor] => number(major).zip(number(minor)).map(|(a, b)| (a, b, None)),
            [major, minor, patch] => match (number(major), number(minor), number(patch)) {
                (Some(a), Some(b), Some(c)) => Some((a, b, Some(c))),
                _ => None,
            },
            _ => None,
        };
        let Some((major, minor, patch)) = parsed else {
            bail!("unknown Python version {text:?}: {hint}");
        };
        if major != 3 || minor < OLDEST_MINOR {
            bail!(
                "gil-lab installs CPython 3.{OLDEST_MINOR} or newer, not {text:?}: {hint} \
                 (older interpreters are found by `gil-lab python list` when installed)"
            );
        }
        Ok(Request {
            minor,
            patch,
            free_threaded,
        })
    }

    /// The same version, default (GIL) build.
    pub fn default_build(self) -> Request {
        Request {
            free_threaded: false,
            ..self
        }
    }

    /// `3.13`: the minor version as Debian and python.org name it.
    pub fn minor_version(self) -> String {
        format!("3.{}", self.minor)
    }

    /// Whether a full version (`3.13.5`, `3.14.0rc1`) satisfies this request.
    pub fn matches(self, full_version: &str) -> bool {
        let mut parts = full_version.splitn(3, '.');
        let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
            return false;
        };
        if major != "3" || minor.parse() != Ok(self.minor) {
            return false;
        }
        match self.patch {
            None => true,
            Some(patch) => {
                // The patch part may carry a release tag: `0rc1`.
                let rest = parts.next().unwrap_or("");
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                digits.parse() == Ok(patch)
            }
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "3.{}", self.minor)?;
        if let Some(patch) = self.patch {
            write!(f, ".{patch}")?;
        }
        if self.free_threaded {
            write!(f, "t")?;
        }
        Ok(())
    }
}

/// The directory name of an install: `cpython-3.13.5t`, `cpython-3.13.5`,
/// `cpython-3.13.5t-pgo-lto` for a PGO+LTO build (`--optimized`).
pub fn install_name(full_version: &str, free_threaded: bool, optimized: bool) -> String {
    format!(
        "cpython-{full_version}{}{}",
        if free_threaded { "t" } else { "" },
        if optimized { "-pgo-lto" } else { "" }
    )
}

/// The executable inside a prefix: `bin/python3.13t`, `bin/python3.13`.
pub fn executable_name(minor: u32, free_threaded: bool) -> String {
    format!("python3.{minor}{}", if free_threaded { "t" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_versions_users_type() {
        let r = Request::parse("3.13t").unwrap();
        assert_eq!((r.minor, r.patch, r.free_threaded), (13, None, true));
        let r = Request::parse("3.14").unwrap();
        assert_eq!((r.minor, r.patch, r.free_threaded), (14, None, false));
        let r = Request::parse("3.13.5t").unwrap();
        assert_eq!((r.minor, r.patch, r.free_threaded), (13, Some(5), true));
        assert_eq!(r.to_string(), "3.13.5t");
        assert_eq!(r.default_build().to_string(), "3.13.5");
    }

    #[test]
    fn rejects_what_is_not_a_provisionable_version() {
        for bad in [
            "3.9x", "2.7", "3.12", "3.12t", "3", "3.", "t", "", "3.13tt", "3.+5", "4.0",
        ] {
            let err = Request::parse(bad).unwrap_err().to_string();
            assert!(err.contains("3.13t"), "{bad}: {err}");
        }
    }

    #[test]
    fn matches_full_versions() {
        let any = Request::parse("3.13t").unwrap();
        assert!(any.matches("3.13.5"));
        assert!(!any.matches("3.14.0"));
        assert!(!any.matches("3.1.3"));
        let pinned = Request::parse("3.14.0").unwrap();
        assert!(pinned.matches("3.14.0rc1"));
        assert!(!pinned.matches("3.14.1"));
    }

    #[test]
    fn names_installs_and_executables() {
        assert_eq!(install_name("3.13.5", true, false), "cpython-3.13.5t");
        assert_eq!(install_name("3.13.5", false, false), "cpython-3.13.5");
        assert_eq!(
            install_name("3.13.15", true, true),
            "cpython-3.13.15t-pgo-lto"
        );
        assert_eq!(executable_name(13, true), "python3.13t");
    }
}
