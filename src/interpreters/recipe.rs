//! How an interpreter was built, from what its `sysconfig` recorded
//! (`CONFIG_ARGS`, the compiler, the compile flags): PGO, LTO,
//! `--disable-gil`, the compiler and its version, the `-O` level. Two
//! builds of different recipes differ in speed for reasons that are not the
//! version or the GIL (a PGO+LTO build is often 10-30% faster), so a
//! comparison between them says so.

use serde::{Deserialize, Serialize};

/// What the probe read from `sysconfig` (strings as recorded, empty where
/// the variable is missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// `CONFIG_ARGS`: configure's arguments, shell-quoted.
    pub config_args: String,
    /// `CC`: the compiler command.
    pub cc: String,
    /// `platform.python_compiler()`, e.g. `GCC 12.2.0`.
    pub compiler: String,
    /// `PY_CFLAGS` and `PY_CFLAGS_NODIST`: the flags CPython's own code was
    /// compiled with, in that order (the last `-O` wins).
    pub cflags: String,
    /// `PY_LDFLAGS_NODIST`: the link flags of CPython's own code.
    pub ldflags: String,
}

/// Whether a build used an optimisation, as far as its record tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Used {
    /// Recorded: configure's arguments or the flags show it.
    Yes,
    /// Not used: the build's configure arguments are its whole recipe.
    No,
    /// Not recorded: a distribution's build (installed into `/usr`), whose
    /// packaging may add PGO or LTO outside configure (Debian's does).
    NotRecorded,
}

/// The recipe of one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipe {
    /// Profile-guided optimisation (`--enable-optimizations`, `-fprofile-use`).
    pub pgo: Used,
    /// Link-time optimisation (`--with-lto`, `-flto`).
    pub lto: Used,
    /// `--disable-gil`: a free-threaded build.
    pub disable_gil: bool,
    /// The compiler and its version, e.g. `GCC 12.2.0`.
    pub compiler: Option<String>,
    /// The last `-O` flag CPython's code was compiled with, e.g. `-O3`.
    pub opt_level: Option<String>,
}

impl Recipe {
    /// Derives the recipe from the recorded build facts.
    pub fn of(info: &BuildInfo) -> Recipe {
        let args = shlex::split(&info.config_args).unwrap_or_else(|| {
            info.config_args
                .split_whitespace()
                .map(|a| a.trim_matches('\'').to_string())
                .collect()
        });
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let flags: Vec<&str> = info
            .cflags
            .split_whitespace()
            .chain(info.ldflags.split_whitespace())
            .collect();
        // A distribution's build may get PGO and LTO from its packaging
        // (Debian runs `make profile-opt` with its own flags): its configure
        // arguments do not tell.
        let unknown = info.config_args.trim().is_empty() || has("--prefix=/usr");
        let used = |recorded: bool| {
            if recorded {
                Used::Yes
            } else if unknown {
                Used::NotRecorded
            } else {
                Used::No
            }
        };
        let lto_arg = args
            .iter()
            .any(|a| a == "--with-lto" || (a.starts_with("--with-lto=") && a != "--with-lto=no"));
        Recipe {
            pgo: used(
                has("--enable-optimizations")
                    || flags.iter().any(|f| f.starts_with("-fprofile-use")),
            ),
            lto: used(lto_arg || flags.iter().any(|f| f.starts_with("-flto"))),
            disable_gil: has("--disable-gil"),
            compiler: Some(info.compiler.trim().to_string()).filter(|c| !c.is_empty()),
            opt_level: info
                .cflags
                .split_whitespace()
                .rfind(|f| f.starts_with("-O"))
                .map(str::to_string),
        }
    }

    /// Whether two builds were made the same way, `--disable-gil` aside
    /// (that is what a default / free-threaded comparison measures). A
    /// recipe not recorded is not known to be the same as any.
    pub fn same_as(&self, other: &Recipe) -> bool {
        self.pgo == other.pgo
            && self.lto == other.lto
            && self.pgo != Used::NotRecorded
            && self.lto != Used::NotRecorded
            && self.compiler == other.compiler
            && self.opt_level == other.opt_level
    }

    /// The optimisations (`PGO`, `LTO`) whose state is `state`.
    fn optimisations(&self, state: Used) -> Vec<&'static str> {
        [(self.pgo, "PGO"), (self.lto, "LTO")]
            .into_iter()
            .filter(|(used, _)| *used == state)
            .map(|(_, name)| name)
            .collect()
    }

    /// The compiler and the `-O` level, as far as recorded.
    fn compiled_with(&self) -> Vec<String> {
        self.compiler
            .iter()
            .chain(self.opt_level.iter())
            .cloned()
            .collect()
    }

    /// `a PGO+LTO GCC 14.2.0 -O3 build`, `a GCC 12.2.0 -O3 build without
    /// PGO or LTO`, `a GCC 16.2.0 -O2 build (PGO/LTO not recorded)`.
    pub fn describe(&self) -> String {
        let mut words = vec!["a".to_string()];
        let used = self.optimisations(Used::Yes);
        if !used.is_empty() {
            words.push(used.join("+"));
        }
        words.extend(self.compiled_with());
        words.push("build".to_string());
        let mut text = words.join(" ");
        let missing = self.optimisations(Used::No);
        if !missing.is_empty() {
            text.push_str(&format!(" without {}", missing.join(" or ")));
        }
        let unknown = self.optimisations(Used::NotRecorded);
        if !unknown.is_empty() {
            text.push_str(&format!(" ({} not recorded)", unknown.join("/")));
        }
        text
    }

    /// A short form for tables: `PGO+LTO GCC 14.2.0 -O3`, `GCC 12.2.0 -O3`,
    /// `GCC 16.2.0 -O2 (PGO/LTO?)`.
    pub fn short(&self) -> String {
        let mut parts = Vec::new();
        let used = self.optimisations(Used::Yes);
        if !used.is_empty() {
            parts.push(used.join("+"));
        }
        parts.extend(self.compiled_with());
        if !self.optimisations(Used::NotRecorded).is_empty() {
            parts.push("(PGO/LTO?)".to_string());
        }
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(" ")
        }
    }
}

/// When builds of different recipes are compared: one sentence naming each
/// build (`label`, recipe), or None when all were made the same way.
pub fn difference_note<'a>(
    builds: impl IntoIterator<Item = (&'a str, &'a BuildInfo)>,
) -> Option<String> {
    let builds: Vec<(&str, Recipe)> = builds
        .into_iter()
        .map(|(label, info)| (label, Recipe::of(info)))
        .collect();
    let first = &builds.first()?.1;
    if builds.iter().all(|(_, recipe)| recipe.same_as(first)) {
        return None;
    }
    let described: Vec<String> = builds
        .iter()
        .map(|(label, recipe)| format!("{label} is {}", recipe.describe()))
        .collect();
    Some(format!(
        "{}: part of a difference between them is the build, not the version or the GIL",
        described.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What sysconfig says on gil-lab's own 3.13.5t build here.
    fn own_build() -> BuildInfo {
        BuildInfo {
            config_args: "'--prefix=/root/.cache/gil-lab/pythons/cpython-3.13.5t' '--disable-gil'"
                .into(),
            cc: "gcc".into(),
            compiler: "GCC 12.2.0".into(),
            cflags: "-fno-strict-overflow -Wsign-compare -DNDEBUG -g -O3 -Wall -std=c11".into(),
            ldflags: "".into(),
        }
    }

    /// What sysconfig says on Debian's python3.14 3.14.10-1.
    fn debian() -> BuildInfo {
        BuildInfo {
            config_args: "'--enable-shared' '--prefix=/usr' '--libdir=/usr/lib/x86_64-linux-gnu' 'CC=x86_64-linux-gnu-gcc'".into(),
            cc: "x86_64-linux-gnu-gcc".into(),
            compiler: "GCC 16.2.0".into(),
            cflags: "-fno-strict-overflow -DNDEBUG -g -O2 -Wall -g -fwrapv -O2 -std=c11".into(),
            ldflags: "".into(),
        }
    }

    #[test]
    fn reads_the_recipe_of_each_kind_of_build() {
        let own = Recipe::of(&own_build());
        assert_eq!(
            (own.pgo, own.lto, own.disable_gil),
            (Used::No, Used::No, true)
        );
        assert_eq!(own.opt_level.as_deref(), Some("-O3"));
        assert_eq!(own.describe(), "a GCC 12.2.0 -O3 build without PGO or LTO");
        assert_eq!(own.short(), "GCC 12.2.0 -O3");
        let debian = Recipe::of(&debian());
        assert_eq!(debian.pgo, Used::NotRecorded);
        assert_eq!(
            debian.describe(),
            "a GCC 16.2.0 -O2 build (PGO/LTO not recorded)"
        );
        let optimized = Recipe::of(&BuildInfo {
            config_args: "'--prefix=/opt/py' '--enable-optimizations' '--with-lto'".into(),
            cflags: "-O3 -flto=auto -fprofile-use".into(),
            ..own_build()
        });
        assert_eq!(optimized.describe(), "a PGO+LTO GCC 12.2.0 -O3 build");
        assert_eq!(optimized.short(), "PGO+LTO GCC 12.2.0 -O3");
    }

    #[test]
    fn only_builds_of_different_recipes_earn_a_note() {
        let own = own_build();
        let default_twin = BuildInfo {
            config_args: "'--prefix=/root/.cache/gil-lab/pythons/cpython-3.13.5'".into(),
            ..own_build()
        };
        assert_eq!(
            difference_note([("CPython 3.13.5", &default_twin), ("CPython 3.13.5t", &own)]),
            None
        );
        let debian = debian();
        let note =
            difference_note([("CPython 3.14.10", &debian), ("CPython 3.13.5t", &own)]).unwrap();
        assert_eq!(
            note,
            "CPython 3.14.10 is a GCC 16.2.0 -O2 build (PGO/LTO not recorded), CPython 3.13.5t \
             is a GCC 12.2.0 -O3 build without PGO or LTO: part of a difference between them is \
             the build, not the version or the GIL"
        );
        // Two distribution builds are not known to be alike either.
        assert!(difference_note([("a", &debian), ("b", &debian)]).is_some());
    }
}
