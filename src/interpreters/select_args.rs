//! Which interpreters to look at, as command-line arguments: `--python` and
//! `--no-discover`, shared by `python list`, `python check-imports` and
//! anything else that works on a set of interpreters.

use std::path::PathBuf;

/// Which interpreters to look at (shared by `python list`, `check-imports`
/// and anything else that works on a set of interpreters).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectArgs {
    /// An interpreter to include (repeatable): a path, or a name looked up on
    /// PATH (e.g. `python3.13t`). A path that is not a working Python of a
    /// version gil-lab supports is an error. GIL_LAB_PYTHON adds more (colon-separated).
    #[arg(long = "python", value_name = "PATH")]
    pub python: Vec<PathBuf>,
    /// Only the interpreters given with --python or GIL_LAB_PYTHON: do not
    /// look for others.
    #[arg(long)]
    pub no_discover: bool,
}
