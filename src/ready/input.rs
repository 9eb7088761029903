//! What `gil-lab ready` reads: a `requirements.txt` (pins, extras, markers,
//! `-r` includes, pip's options), a `pyproject.toml` (`[project]
//! dependencies` and the optional groups asked for with `--extra`), or a
//! lock file (`uv.lock`, `pylock.toml`: its pinned packages). Every
//! requirement is checked as PEP 508 (the `pep508_rs` crate) so that a bad
//! line is one error naming the file and line, before anything is resolved.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// One requirement and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Requirement {
    /// The PEP 508 text pip gets (`ujson==5.10.0`, `requests[socks]; ...`).
    pub text: String,
    /// Its normalised distribution name (`markupsafe`).
    pub name: String,
    /// `file:line` (or `file: [project] dependencies`).
    pub origin: String,
}

/// The dependencies read from a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dependencies {
    /// Every requirement, includes expanded, in file order.
    pub requirements: Vec<Requirement>,
    /// pip options found in a requirements file (`--index-url URL`,
    /// `--extra-index-url URL`, `--find-links DIR`, `--pre`,
    /// `-c constraints.txt` made absolute), passed on to pip.
    pub pip_options: Vec<String>,
}

/// The file to read when none is given: the first of these in `dir`.
pub const DEFAULT_FILES: [&str; 4] = [
    "pylock.toml",
    "uv.lock",
    "requirements.txt",
    "pyproject.toml",
];

/// The dependency file in `dir` (what `gil-lab ready` reads without FILE).
pub fn default_file(dir: &Path) -> Result<PathBuf> {
    DEFAULT_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .with_context(|| {
            format!(
                "no dependency file in {} (looked for {}): give one, e.g. `gil-lab ready requirements.txt`",
                dir.display(),
                DEFAULT_FILES.join(", ")
            )
        })
}

/// Reads `file` by its kind (its name); `extras` are the optional groups
/// of a `pyproject.toml` to include.
pub fn read(file: &Path, extras: &[String]) -> Result<Dependencies> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    if !extras.is_empty() && name != "pyproject.toml" {
        bail!(
            "--extra applies to a pyproject.toml, not to {}",
            file.display()
        );
    }
    match name {
        "pyproject.toml" => pyproject(file, &text, extras),
        "uv.lock" => uv_lock(file, &text),
        _ if name == "pylock.toml" || (name.starts_with("pylock.") && name.ends_with(".toml")) => {
            pylock(file, &text)
        }
        _ => {
            let mut dependencies = Dependencies::default();
            requirements_txt(file, &text, &mut dependencies, 0)?;
            Ok(dependencies)
        }
    }
}

/// Parses one PEP 508 requirement, the error naming `origin`.
fn requirement(text: &str, origin: String) -> Result<Requirement> {
    match text.parse::<pep508_rs::Requirement>() {
        Ok(parsed) => Ok(Requirement {
            text: text.to_owned(),
            name: parsed.name.to_string(),
            origin,
        }),
        Err(error) => bail!("{origin}: not a requirement: {text:?} ({})", error.message),
    }
}

/// The options of a requirements file that take a value, and whether the
/// value is a path (made absolute, relative to the file).
const VALUE_OPTIONS: [(&str, &str, bool); 6] = [
    ("-i", "--index-url", false),
    ("", "--extra-index-url", false),
    ("-f", "--find-links", true),
    ("-c", "--constraint", true),
    ("", "--trusted-host", false),
    ("", "--only-binary", false),
];

/// A requirements file (pip's format): one requirement a line, `#`
/// comments, `\` continuations, `-r FILE` includes, pip's options.
fn requirements_txt(file: &Path, text: &str, into: &mut Dependencies, depth: usize) -> Result<()> {
    if depth > 10 {
        bail!(
            "{}: -r includes nest more than 10 deep (a cycle?)",
            file.display()
        );
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut pending = String::new();
    let mut first_line = 0;
    for (index, raw) in text.lines().enumerate() {
        if pending.is_empty() {
            first_line = index + 1;
        }
        // A comment starts at `#` at the line's start or after whitespace.
        let line = match raw.find(" #").or(raw.starts_with('#').then_some(0)) {
            Some(at) => &raw[..at],
            None => raw,
        };
        if let Some(body) = line.trim_end().strip_suffix('\\') {
            pending.push_str(body);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let logical = std::mem::take(&mut pending);
        let logical = logical.trim();
        if logical.is_empty() {
            continue;
        }
        let origin = format!("{}:{first_line}", file.display());
        if logical.starts_with('-') {
            option(logical, &origin, dir, into, depth)?;
            continue;
        }
        // Per-requirement options (`--hash=...`) follow the requirement.
        let spec = match logical.find(" --") {
            Some(at) => logical[..at].trim(),
            None => logical,
        };
        into.requirements.push(requirement(spec, origin)?);
    }
    Ok(())
}

/// One option line of a requirements file.
fn option(
    line: &str,
    origin: &str,
    dir: &Path,
    into: &mut Dependencies,
    depth: usize,
) -> Result<()> {
    let (flag, value) = match line.split_once(|c: char| c == '=' || c.is_whitespace()) {
        Some((flag, value)) => (flag, value.trim()),
        None => (line, ""),
    };
    if flag == "-r" || flag == "--requirement" {
        if value.is_empty() {
            bail!("{origin}: {flag} needs a file");
        }
        let included = dir.join(value);
        let text = std::fs::read_to_string(&included).with_context(|| {
            format!(
                "{origin}: cannot read the included file {}",
                included.display()
            )
        })?;
        return requirements_txt(&included, &text, into, depth + 1);
    }
    if flag == "--pre" || flag == "--prefer-binary" {
        into.pip_options.push(flag.to_owned());
        return Ok(());
    }
    if flag == "-e" || flag == "--editable" {
        bail!(
            "{origin}: editable installs ({line:?}) are not checked: give the distribution by name (PEP 508)"
        );
    }
    let known = VALUE_OPTIONS
        .iter()
        .find(|(short, long, _)| (!short.is_empty() && flag == *short) || flag == *long);
    match known {
        Some((_, long, is_path)) if !value.is_empty() => {
            let value = if *is_path && !value.contains("://") {
                dir.join(value).display().to_string()
            } else {
                value.to_owned()
            };
            into.pip_options.push((*long).to_owned());
            into.pip_options.push(value);
            Ok(())
        }
        Some((_, long, _)) => bail!("{origin}: {long} needs a value"),
        None => bail!("{origin}: {flag} is not an option gil-lab ready understands in {line:?}"),
    }
}

/// `[project] dependencies` and `[project.optional-dependencies]` groups.
fn pyproject(file: &Path, text: &str, extras: &[String]) -> Result<Dependencies> {
    let document: toml::Table =
        toml::from_str(text).with_context(|| format!("{}: not valid TOML", file.display()))?;
    let project = document
        .get("project")
        .and_then(toml::Value::as_table)
        .with_context(|| format!("{}: no [project] table", file.display()))?;
    let own_name = project.get("name").and_then(toml::Value::as_str);
    let mut dependencies = Dependencies::default();
    let mut add = |list: Option<&toml::Value>, origin: String| -> Result<()> {
        let Some(list) = list else { return Ok(()) };
        let array = list
            .as_array()
            .with_context(|| format!("{origin}: expected an array of requirements"))?;
        for (index, item) in array.iter().enumerate() {
            let text = item
                .as_str()
                .with_context(|| format!("{origin} item {}: expected a string", index + 1))?;
            let parsed = requirement(text, format!("{origin} item {}", index + 1))?;
            // `myproject[dev]` in an optional group names the project itself.
            if own_name.is_some_and(|own| normalise(own) == parsed.name) {
                continue;
            }
            dependencies.requirements.push(parsed);
        }
        Ok(())
    };
    add(
        project.get("dependencies"),
        format!("{}: [project] dependencies", file.display()),
    )?;
    let groups = project
        .get("optional-dependencies")
        .and_then(toml::Value::as_table);
    for extra in extras {
        let group = groups.and_then(|g| g.get(extra)).with_context(|| {
            let known: Vec<&String> = groups.map(|g| g.keys().collect()).unwrap_or_default();
            format!(
                "--extra {extra}: {} has no such optional group (it has: {})",
                file.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )
        })?;
        add(
            Some(group),
            format!(
                "{}: [project.optional-dependencies] {extra}",
                file.display()
            ),
        )?;
    }
    Ok(dependencies)
}

/// uv's lock file: every locked package that comes from a registry,
/// pinned (`name==version`); the project itself (editable, virtual) is
/// left out.
fn uv_lock(file: &Path, text: &str) -> Result<Dependencies> {
    let document: toml::Table =
        toml::from_str(text).with_context(|| format!("{}: not valid TOML", file.display()))?;
    let packages = document
        .get("package")
        .and_then(toml::Value::as_array)
        .with_context(|| format!("{}: no [[package]] entries", file.display()))?;
    let mut dependencies = Dependencies::default();
    for (index, package) in packages.iter().enumerate() {
        let origin = format!("{}: [[package]] {}", file.display(), index + 1);
        let from_registry = package
            .get("source")
            .and_then(|s| s.get("registry"))
            .is_some();
        if !from_registry {
            continue;
        }
        let (name, version) = name_and_version(package, &origin)?;
        dependencies
            .requirements
            .push(requirement(&format!("{name}=={version}"), origin)?);
    }
    Ok(dependencies)
}

/// A PEP 751 lock file: every `[[packages]]` entry with a version, pinned,
/// with its marker.
fn pylock(file: &Path, text: &str) -> Result<Dependencies> {
    let document: toml::Table =
        toml::from_str(text).with_context(|| format!("{}: not valid TOML", file.display()))?;
    let packages = document
        .get("packages")
        .and_then(toml::Value::as_array)
        .with_context(|| format!("{}: no [[packages]] entries", file.display()))?;
    let mut dependencies = Dependencies::default();
    for (index, package) in packages.iter().enumerate() {
        let origin = format!("{}: [[packages]] {}", file.display(), index + 1);
        if package.get("version").is_none() {
            // A directory or VCS package: not from the registry.
            continue;
        }
        let (name, version) = name_and_version(package, &origin)?;
        let marker = package
            .get("marker")
            .and_then(toml::Value::as_str)
            .map(|m| format!("; {m}"))
            .unwrap_or_default();
        dependencies
            .requirements
            .push(requirement(&format!("{name}=={version}{marker}"), origin)?);
    }
    Ok(dependencies)
}

fn name_and_version<'a>(package: &'a toml::Value, origin: &str) -> Result<(&'a str, &'a str)> {
    let name = package
        .get("name")
        .and_then(toml::Value::as_str)
        .with_context(|| format!("{origin}: no name"))?;
    let version = package
        .get("version")
        .and_then(toml::Value::as_str)
        .with_context(|| format!("{origin}: no version"))?;
    Ok((name, version))
}

/// PEP 503's normalised name: lower case, runs of `-_.` as one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn requirements_with_includes_options_and_markers() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.txt", "six==1.17.0  # pinned\n");
        let file = write(
            dir.path(),
            "requirements.txt",
            "# team deps\n-r base.txt\n--extra-index-url https://example.invalid/simple\n\
             requests[socks] >= 2.0 ; python_version >= \"3.9\"\nujson==5.10.0 \\\n  --hash=sha256:abc\n\n",
        );
        let deps = read(&file, &[]).unwrap();
        let names: Vec<&str> = deps.requirements.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["six", "requests", "ujson"]);
        assert_eq!(deps.requirements[2].text, "ujson==5.10.0");
        assert!(deps.requirements[0].origin.ends_with("base.txt:1"));
        assert!(deps.requirements[2].origin.ends_with("requirements.txt:5"));
        assert_eq!(
            deps.pip_options,
            ["--extra-index-url", "https://example.invalid/simple"]
        );
    }

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "requirements.txt", "six\nujson==>5\n");
        let error = read(&file, &[]).unwrap_err().to_string();
        assert!(
            error.contains("requirements.txt:2: not a requirement"),
            "{error}"
        );
        assert_eq!(error.lines().count(), 1, "{error}");
    }

    #[test]
    fn pyproject_dependencies_and_an_extra() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "pyproject.toml",
            "[project]\nname = \"team\"\ndependencies = [\"six\", \"markupsafe>=2\"]\n\
             [project.optional-dependencies]\nfast = [\"ujson\"]\nall = [\"team[fast]\"]\n",
        );
        let names = |deps: Dependencies| -> Vec<String> {
            deps.requirements.into_iter().map(|r| r.name).collect()
        };
        assert_eq!(names(read(&file, &[]).unwrap()), ["six", "markupsafe"]);
        assert_eq!(
            names(read(&file, &["fast".into(), "all".into()]).unwrap()),
            ["six", "markupsafe", "ujson"]
        );
        let error = read(&file, &["nope".into()]).unwrap_err().to_string();
        assert!(error.contains("it has: all, fast"), "{error}");
    }

    #[test]
    fn lock_files_are_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let uv = write(
            dir.path(),
            "uv.lock",
            "version = 1\n[[package]]\nname = \"team\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\
             [[package]]\nname = \"six\"\nversion = \"1.17.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
        );
        let deps = read(&uv, &[]).unwrap();
        assert_eq!(deps.requirements.len(), 1);
        assert_eq!(deps.requirements[0].text, "six==1.17.0");
        let pylock = write(
            dir.path(),
            "pylock.toml",
            "lock-version = \"1.0\"\n[[packages]]\nname = \"ujson\"\nversion = \"6.1.0\"\nmarker = \"sys_platform == 'linux'\"\n",
        );
        let deps = read(&pylock, &[]).unwrap();
        assert_eq!(
            deps.requirements[0].text,
            "ujson==6.1.0; sys_platform == 'linux'"
        );
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalise("MarkupSafe"), "markupsafe");
        assert_eq!(normalise("pydantic_core"), "pydantic-core");
        assert_eq!(normalise("a.-_b"), "a-b");
    }
}
