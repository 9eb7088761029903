//! The checks of one interpreter: resolve the tree (pip), then per
//! distribution how it installs (wheel for this tag, pure Python, or a
//! source build, tried with a time limit and its log kept), what importing
//! it does, and for a blocker the fix. For `--target`, the registry's
//! wheel tags alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use super::cache::InterpreterDir;
use super::imports::{self, Environment};
use super::input::{self, Dependencies, Requirement};
use super::pip::{self, InstallStep, Installed, RegistryTarget, ReportItem, Resolved};
use crate::interpreters::provision::progress::Progress;
use crate::run::readiness::{
    self, DistributionCheck, InstallKind, InterpreterReadiness, ModuleImport, Verdict,
};

/// An installed interpreter to check.
#[derive(Clone, Debug)]
pub struct LocalInterpreter {
    /// Its label (`CPython 3.13.15t`).
    pub label: String,
    /// Its executable.
    pub path: PathBuf,
    /// Its flags (`-X gil=1` never: ready checks builds as built).
    pub flags: Vec<String>,
    /// Whether it is a free-threaded build.
    pub free_threaded: bool,
    /// `(3, 13)`.
    pub version: (u32, u32),
}

/// How the checks run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The time limit of one install (and its source build).
    pub build_timeout: Duration,
    /// Check again what the cache holds.
    pub refresh: bool,
}

/// What one interpreter's checks share.
pub(super) struct Context<'a> {
    /// The interpreter checked.
    pub interpreter: &'a LocalInterpreter,
    /// Its directory under the home (locked while the checks run).
    pub dir: &'a InterpreterDir,
    /// Its tool environment's Python (pip).
    pub tool: PathBuf,
    /// The time limit and whether to ignore the cache.
    pub settings: &'a Settings,
    /// What the user sees while it runs.
    pub progress: &'a Progress,
}

impl LocalInterpreter {
    /// The wheel tag its extension modules need (`cp313t`).
    pub fn tag(&self) -> String {
        let (major, minor) = self.version;
        format!(
            "cp{major}{minor}{}",
            if self.free_threaded { "t" } else { "" }
        )
    }
}

/// Checks `deps` on an installed interpreter.
pub fn installed(
    interpreter: &LocalInterpreter,
    deps: &Dependencies,
    settings: &Settings,
) -> Result<InterpreterReadiness> {
    let progress = Progress::new(&format!("ready: {}", interpreter.label));
    let dir = InterpreterDir::open(&interpreter.label, &interpreter.path, &interpreter.flags)?;
    progress.stage("preparing pip (a cached tool environment)");
    let tool = pip::venv(
        &interpreter.path,
        &interpreter.flags,
        &dir.dir.join("tool"),
        true,
    )?;
    let context = Context {
        interpreter,
        dir: &dir,
        tool,
        settings,
        progress: &progress,
    };
    progress.stage(&format!(
        "resolving {} requirement(s) with pip",
        deps.requirements.len()
    ));
    let (items, unresolved) = resolve_all(&context.tool, deps, None, &dir.dir.join("resolve"))?;
    let mut distributions = Vec::new();
    // The environment of this tree: every release installed on its own.
    let mut specs: Vec<String> = items
        .iter()
        .map(|i| format!("{}=={}", i.metadata.name, i.metadata.version))
        .collect();
    specs.sort();
    let env_dir = dir.dir.join("envs").join(format!(
        "{:016x}",
        crate::hash::fnv1a_64(specs.join("\n").as_bytes())
    ));
    let mut env_python: Option<PathBuf> = None;
    let mut fresh = Vec::new();
    // Every release first (each on its own, so one failure is its own), then
    // the imports, once every dependency is in place.
    for item in &items {
        let (name, version) = (&item.metadata.name, &item.metadata.version);
        if !settings.refresh
            && let Some(mut cached) = dir.load(name, version)
        {
            cached.requested = item.requested;
            if cached.verdict != Verdict::Ready && cached.fix.is_none() {
                // Checked before as a candidate for another's fix.
                cached.fix = Some(super::fix::find(&context, &cached)?);
                dir.store(&cached)?;
            }
            distributions.push(cached);
            continue;
        }
        let python = match &env_python {
            Some(python) => python.clone(),
            None => {
                let python = pip::venv(&interpreter.path, &interpreter.flags, &env_dir, false)?;
                env_python = Some(python.clone());
                python
            }
        };
        let mut check = install_release(&context, &python, name, version, true)?;
        check.requested = item.requested;
        check.install = install_kind(&item.file(), check.install);
        check.file = Some(item.file());
        fresh.push(check);
    }
    for mut check in fresh {
        if let Some(python) = &env_python
            && check.verdict == Verdict::Ready
        {
            import_release(&context, python, &mut check)?;
        }
        if check.verdict != Verdict::Ready {
            check.fix = Some(super::fix::find(&context, &check)?);
        }
        dir.store(&check)?;
        distributions.push(check);
    }
    distributions.extend(unresolved);
    progress.finish();
    let (verdict, blockers) = readiness::combine(distributions.iter());
    Ok(InterpreterReadiness {
        interpreter: interpreter.label.clone(),
        path: Some(interpreter.path.clone()),
        tag: interpreter.tag(),
        free_threaded: interpreter.free_threaded,
        registry_only: false,
        verdict,
        blockers,
        distributions,
    })
}

/// Installs `name==version` into the environment of `python` (its
/// dependencies too unless `no_deps`): the check so far, blocked when it
/// did not install.
pub(super) fn install_release(
    context: &Context,
    python: &Path,
    name: &str,
    version: &str,
    no_deps: bool,
) -> Result<DistributionCheck> {
    let log = context.dir.log_path(name, version);
    let report = log.with_extension("report.json");
    if let Some(logs) = log.parent() {
        std::fs::create_dir_all(logs)?;
    }
    context.progress.stage(&format!(
        "installing {name} {version} (a source build if there is no wheel: up to {} s; log {})",
        context.settings.build_timeout.as_secs(),
        log.display()
    ));
    let spec = format!("{name}=={version}");
    let outcome = pip::install(&InstallStep {
        tool_python: &context.tool,
        env_python: python,
        spec: &spec,
        no_deps,
        timeout: context.settings.build_timeout,
        log: &log,
        report: Some(&report),
    })?;
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let built = logged.contains("Building wheel for") || logged.contains("Created wheel for");
    let file = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str::<pip::Report>(&text).ok())
        .and_then(|r| {
            r.install
                .into_iter()
                .find(|i| input::normalise(&i.metadata.name) == input::normalise(name))
        })
        .map(|i| i.file());
    let mut check = DistributionCheck {
        name: name.to_owned(),
        version: Some(version.to_owned()),
        requested: false,
        install: file
            .as_deref()
            .map_or(InstallKind::Wheel, |f| install_kind(f, InstallKind::Wheel)),
        file,
        built: None,
        log: Some(log.clone()),
        imports: Vec::new(),
        verdict: Verdict::Ready,
        reason: String::new(),
        fix: None,
        cached: false,
    };
    if check.install == InstallKind::Source || built {
        check.install = InstallKind::Source;
        check.built = Some(matches!(outcome, Installed::Yes));
    }
    match outcome {
        Installed::Yes => {}
        Installed::No(last) => {
            check.verdict = Verdict::Blocked;
            check.reason = format!("the install failed: {last}");
            return Ok(check);
        }
        Installed::TimedOut => {
            check.verdict = Verdict::Blocked;
            check.reason = format!(
                "the install did not finish within {} s (--build-timeout)",
                context.settings.build_timeout.as_secs()
            );
            return Ok(check);
        }
    }
    Ok(check)
}

/// Imports the modules of an installed release (in the environment of
/// `python`) and gives it its verdict.
pub(super) fn import_release(
    context: &Context,
    python: &Path,
    check: &mut DistributionCheck,
) -> Result<()> {
    let interpreter = context.interpreter;
    let (name, version) = (&check.name, check.version.clone().unwrap_or_default());
    let env = Environment {
        label: &interpreter.label,
        python,
        flags: &interpreter.flags,
        free_threaded: interpreter.free_threaded,
    };
    let modules = match imports::modules(&env, name) {
        Ok(modules) => modules,
        Err(error) => {
            check.verdict = Verdict::Blocked;
            check.reason = error;
            return Ok(());
        }
    };
    for module in &modules {
        context
            .progress
            .stage(&format!("importing {module} ({name} {version})"));
        check.imports.push(imports::import(&env, module)?);
    }
    (check.verdict, check.reason) = import_verdict(check, &interpreter.tag());
    Ok(())
}

/// The verdict of a distribution that installed, from its imports.
fn import_verdict(check: &DistributionCheck, tag: &str) -> (Verdict, String) {
    let how = match check.install {
        InstallKind::Pure => "pure Python".to_owned(),
        InstallKind::Source => "built from source".to_owned(),
        _ => format!("wheel for {tag}"),
    };
    if let Some(by) = check.imports.iter().find_map(|i| i.gil_enabled_by.clone()) {
        return (
            Verdict::GilReEnabled,
            format!("{how}; the GIL has been enabled to load module '{by}'"),
        );
    }
    let failed: Vec<&ModuleImport> = check.imports.iter().filter(|i| !i.imported).collect();
    if !check.imports.is_empty() && failed.len() == check.imports.len() {
        let detail = failed[0].detail.as_deref().unwrap_or("no reason given");
        return (
            Verdict::Blocked,
            format!("{how}; import {} failed: {detail}", failed[0].module),
        );
    }
    let mut reason = how;
    if check.imports.is_empty() {
        reason.push_str("; no importable module");
    } else if tag.ends_with('t') {
        reason.push_str("; the GIL stays off");
    } else {
        reason.push_str("; imports");
    }
    let no_sub: Vec<&str> = check
        .imports
        .iter()
        .filter(|i| i.subinterpreter == Some(false))
        .map(|i| i.module.as_str())
        .collect();
    if !no_sub.is_empty() {
        reason.push_str(&format!("; not in a subinterpreter: {}", no_sub.join(", ")));
    }
    for f in failed {
        reason.push_str(&format!("; {} does not import", f.module));
    }
    (Verdict::Ready, reason)
}

/// The kind of install a file means: a wheel of a platform and ABI, a pure
/// wheel, or a source distribution; `otherwise` when it is neither.
pub fn install_kind(file: &str, otherwise: InstallKind) -> InstallKind {
    let Some(stem) = file.strip_suffix(".whl") else {
        return if file.ends_with(".tar.gz") || file.ends_with(".zip") {
            InstallKind::Source
        } else {
            otherwise
        };
    };
    let parts: Vec<&str> = stem.rsplitn(4, '-').collect();
    match parts.as_slice() {
        [platform, abi, ..] if *abi == "none" && *platform == "any" => InstallKind::Pure,
        _ => InstallKind::Wheel,
    }
}

/// Resolves the whole file; when that fails (an unknown name, no wheel, a
/// registry that does not answer), each requirement on its own, so that
/// the others still get their verdicts. Returns the distributions to check
/// and the ones that could not be resolved (blocked).
pub(super) fn resolve_all(
    tool: &Path,
    deps: &Dependencies,
    target: Option<&RegistryTarget>,
    work: &Path,
) -> Result<(Vec<ReportItem>, Vec<DistributionCheck>)> {
    let lines = |requirements: &[&Requirement]| -> Vec<String> {
        let mut lines = options_lines(&deps.pip_options);
        lines.extend(requirements.iter().map(|r| r.text.clone()));
        lines
    };
    let all: Vec<&Requirement> = deps.requirements.iter().collect();
    if let Resolved::Report(report) = pip::resolve(tool, &lines(&all), target, work)? {
        return Ok((report.install, Vec::new()));
    }
    let mut items: Vec<ReportItem> = Vec::new();
    let mut failed = Vec::new();
    for requirement in &all {
        match pip::resolve(tool, &lines(&[requirement]), target, work)? {
            Resolved::Report(report) => {
                for item in report.install {
                    let name = input::normalise(&item.metadata.name);
                    if !items
                        .iter()
                        .any(|i| input::normalise(&i.metadata.name) == name)
                    {
                        items.push(item);
                    }
                }
            }
            Resolved::Failed(reason) => {
                let install = match target {
                    Some(_) if pip::versions(tool, &requirement.name)?.is_ok() => {
                        InstallKind::NoWheel
                    }
                    _ => InstallKind::Unresolved,
                };
                let reason = match (install, target) {
                    (InstallKind::NoWheel, Some(target)) => format!(
                        "no release that matches `{}` has a wheel for {} or a pure-Python one ({reason})",
                        requirement.text,
                        target.abis().join("/")
                    ),
                    _ => format!(
                        "`{}` ({}) cannot be resolved: {reason}",
                        requirement.text, requirement.origin
                    ),
                };
                failed.push(DistributionCheck {
                    name: requirement.name.clone(),
                    version: None,
                    requested: true,
                    install,
                    file: None,
                    built: None,
                    log: None,
                    imports: Vec::new(),
                    verdict: Verdict::Blocked,
                    reason,
                    fix: None,
                    cached: false,
                });
            }
        }
    }
    Ok((items, failed))
}

/// pip's options as requirements-file lines (`--index-url URL`).
fn options_lines(options: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut iter = options.iter().peekable();
    while let Some(option) = iter.next() {
        match iter.peek() {
            Some(value) if !value.starts_with('-') => {
                lines.push(format!("{option} {value}"));
                iter.next();
            }
            _ => lines.push(option.clone()),
        }
    }
    lines
}

/// Checks `deps` for an interpreter that is not installed, from the
/// registry's wheel tags alone (`--target 3.14t`); `tool` is any tool
/// environment's Python.
pub fn registry(
    target: &RegistryTarget,
    deps: &Dependencies,
    tool: &Path,
    work: &Path,
) -> Result<InterpreterReadiness> {
    let (major, minor) = target.version;
    let name = format!(
        "{major}.{minor}{}",
        if target.free_threaded { "t" } else { "" }
    );
    let progress = Progress::new(&format!("ready: {name} (registry only)"));
    progress.stage("resolving with wheels only");
    let (items, unresolved) = resolve_all(tool, deps, Some(target), work)?;
    let mut distributions = Vec::new();
    for item in &items {
        let file = item.file();
        let install = install_kind(&file, InstallKind::Wheel);
        distributions.push(DistributionCheck {
            name: item.metadata.name.clone(),
            version: Some(item.metadata.version.clone()),
            requested: item.requested,
            install,
            reason: match install {
                InstallKind::Pure => "pure Python (not imported: registry only)".to_owned(),
                _ => format!(
                    "wheel for {} (not imported: registry only)",
                    target.abis()[0]
                ),
            },
            file: Some(file),
            built: None,
            log: None,
            imports: Vec::new(),
            verdict: Verdict::Ready,
            fix: None,
            cached: false,
        });
    }
    distributions.extend(unresolved);
    progress.finish();
    let (verdict, blockers) = readiness::combine(distributions.iter());
    Ok(InterpreterReadiness {
        interpreter: format!("{name} (registry)"),
        path: None,
        tag: target.abis()[0].clone(),
        free_threaded: target.free_threaded,
        registry_only: true,
        verdict,
        blockers,
        distributions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_say_how_a_distribution_installs() {
        assert_eq!(
            install_kind("six-1.17.0-py2.py3-none-any.whl", InstallKind::Wheel),
            InstallKind::Pure
        );
        assert_eq!(
            install_kind(
                "markupsafe-3.0.3-cp313-cp313t-manylinux_2_17_x86_64.whl",
                InstallKind::Pure
            ),
            InstallKind::Wheel
        );
        assert_eq!(
            install_kind("ujson-5.10.0.tar.gz", InstallKind::Wheel),
            InstallKind::Source
        );
        assert_eq!(
            options_lines(&[
                "--pre".into(),
                "--index-url".into(),
                "https://x/simple".into()
            ]),
            ["--pre", "--index-url https://x/simple"]
        );
    }
}
