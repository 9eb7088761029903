//! The fix for a blocker: the oldest newer release that installs and keeps
//! the GIL off, checked by installing it (with its dependencies, in a fresh
//! environment) and importing its modules, never guessed. The newest
//! release is checked first (when it fails there is no fix yet), then the
//! newer releases are bisected between the blocker and it: support for
//! free-threading, once declared, stays, so the oldest good release is
//! found with a few builds (each cached like any other check).

use anyhow::Result;

use super::check::{self, Context};
use crate::run::readiness::{DistributionCheck, Fix, Verdict};

/// The fix for `blocker` (a distribution whose verdict is not ready).
pub(super) fn find(context: &Context, blocker: &DistributionCheck) -> Result<Fix> {
    let name = &blocker.name;
    let Some(current) = blocker
        .version
        .as_deref()
        .and_then(|v| v.parse::<pep508_rs::pep440_rs::Version>().ok())
    else {
        return Ok(none_yet(blocker, Vec::new(), "its release is unknown"));
    };
    context.progress.stage(&format!(
        "looking for a fix: releases of {name} newer than {current}"
    ));
    let newer: Vec<String> = match super::pip::versions(&context.tool, name)? {
        Err(reason) => {
            return Ok(none_yet(
                blocker,
                Vec::new(),
                &format!("the registry: {reason}"),
            ));
        }
        Ok(all) => all
            .into_iter()
            .filter(|v| {
                v.parse::<pep508_rs::pep440_rs::Version>()
                    .is_ok_and(|v| v > current && !v.any_prerelease())
            })
            .collect(),
    };
    let Some(newest) = newer.last() else {
        return Ok(none_yet(blocker, Vec::new(), "there is no newer release"));
    };
    let mut tried = Vec::new();
    if !good(context, name, newest, &mut tried)? {
        let either = if blocker.verdict == Verdict::GilReEnabled {
            "does not keep the GIL off either"
        } else {
            "does not install and import either"
        };
        return Ok(none_yet(
            blocker,
            tried,
            &format!("the newest release, {newest}, {either}"),
        ));
    }
    // Bisect: newer[high] is good; find the first good one.
    let (mut low, mut high) = (0, newer.len() - 1);
    while low < high {
        let middle = (low + high) / 2;
        if good(context, name, &newer[middle], &mut tried)? {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    let version = newer[high].clone();
    Ok(Fix {
        advice: format!(
            "upgrade: `{name}>={version}` installs and {} (checked by installing and importing it)",
            if context.interpreter.free_threaded {
                "keeps the GIL off"
            } else {
                "imports"
            }
        ),
        version: Some(version),
        tried,
    })
}

/// Whether this release installs and keeps the GIL off (on a default
/// build: installs and imports).
fn good(context: &Context, name: &str, version: &str, tried: &mut Vec<String>) -> Result<bool> {
    tried.push(version.to_owned());
    if let Some(cached) = context.dir.load(name, version)
        && !context.settings.refresh
    {
        return Ok(cached.verdict == Verdict::Ready);
    }
    let env = context
        .dir
        .dir
        .join("fix")
        .join(format!("{}-{version}", super::input::normalise(name)));
    let _ = std::fs::remove_dir_all(&env);
    let interpreter = context.interpreter;
    let python = super::pip::venv(&interpreter.path, &interpreter.flags, &env, false)?;
    let mut candidate = check::install_release(context, &python, name, version, false)?;
    if candidate.verdict == Verdict::Ready {
        check::import_release(context, &python, &mut candidate)?;
    }
    context.dir.store(&candidate)?;
    let _ = std::fs::remove_dir_all(&env);
    Ok(candidate.verdict == Verdict::Ready)
}

/// No fix yet, and for a GIL re-enabled: what running with the GIL forced
/// off would risk.
fn none_yet(blocker: &DistributionCheck, tried: Vec<String>, why: &str) -> Fix {
    let name = &blocker.name;
    let advice = if blocker.verdict == Verdict::GilReEnabled {
        format!(
            "none yet ({why}); PYTHON_GIL=0 keeps the GIL off anyway, at a risk: {name}'s extension modules never declared they are safe without the GIL, so threads may corrupt their state or crash"
        )
    } else {
        format!("none yet ({why}); the build log says why {name} does not install")
    };
    Fix {
        version: None,
        tried,
        advice,
    }
}
