//! `gil-lab report RUN_DIR [-o FILE]`: the run's dashboard as one HTML file
//! that works offline and by double-click. Styles, script, charts (inline
//! SVG) and the raw run files (gzip + base64, unpacked in the browser on
//! download) are all inside it; nothing is fetched from a network.
//!
//! The page is a `minijinja` template with HTML auto-escaping: every string
//! that came from outside (interpreter labels and paths, thread names,
//! messages) is escaped unless it is SVG that `plotters` (which escapes text
//! itself) or [`super::drawing::with_hit_areas`] produced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use clap::Args;
use flate2::Compression;
use flate2::write::GzEncoder;
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::run::LoadedRun;
use crate::run::directory::{self, RUN_FILE, TRIALS_FILE};

use super::model::{self, Dashboard};

/// Name of the report file `gil-lab bench` writes into every run directory.
pub const REPORT_FILE: &str = "report.html";

/// Writes the run's report to `RUN_DIR/report.html` and returns its path; what
/// `gil-lab bench` calls when a run ends.
pub fn write_report(loaded: &LoadedRun) -> Result<PathBuf> {
    let path = loaded.dir.join(REPORT_FILE);
    write_loaded_report(loaded, &path)?;
    Ok(path)
}

/// Writes the dashboard of a run as one self-contained HTML file.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The run directory (made by `gil-lab bench`).
    pub run_dir: PathBuf,
    /// Where to write the HTML file (default: RUN_DIR/report.html).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `gil-lab report`.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let output = args
        .output
        .unwrap_or_else(|| args.run_dir.join(REPORT_FILE));
    write_report_to(&args.run_dir, &output)?;
    println!("{}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads the run in `run_dir` and writes its report to `output`.
pub fn write_report_to(run_dir: &Path, output: &Path) -> Result<()> {
    write_loaded_report(&directory::load(run_dir)?, output)
}

/// Writes the report of a run already read to `output`.
pub fn write_loaded_report(loaded: &LoadedRun, output: &Path) -> Result<()> {
    let raw = RawFiles::read(&loaded.dir)?;
    let html = render(loaded, &Page::Standalone(raw))?;
    let mut file = std::fs::File::create(output).with_context(|| {
        format!(
            "cannot write the report {}: choose another file with -o",
            output.display()
        )
    })?;
    file.write_all(html.as_bytes())
        .with_context(|| format!("cannot write the report {}", output.display()))
}

/// One raw run file, packed for the page: gzip, then base64.
#[derive(Debug, Clone, Serialize)]
pub struct PackedFile {
    /// File name offered on download.
    pub name: String,
    /// Size unpacked, bytes.
    pub size: usize,
    /// gzip + base64.
    pub gzip_base64: String,
}

/// The run's own files, embedded so that the page offers them for download.
#[derive(Debug, Clone, Serialize)]
pub struct RawFiles {
    /// `run.json` and `trials.jsonl`.
    pub files: Vec<PackedFile>,
}

impl RawFiles {
    /// Reads and packs `run.json` and `trials.jsonl` as they are on disk.
    pub fn read(run_dir: &Path) -> Result<RawFiles> {
        let mut files = Vec::new();
        for name in [RUN_FILE, TRIALS_FILE] {
            let path = run_dir.join(name);
            let bytes = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && name == TRIALS_FILE => {
                    Vec::new()
                }
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot read {}", path.display()));
                }
            };
            let mut gz = GzEncoder::new(Vec::new(), Compression::best());
            gz.write_all(&bytes)
                .and_then(|()| gz.try_finish())
                .context("cannot compress the raw run files")?;
            let packed = gz.finish().context("cannot compress the raw run files")?;
            files.push(PackedFile {
                name: name.into(),
                size: bytes.len(),
                gzip_base64: base64::engine::general_purpose::STANDARD.encode(packed),
            });
        }
        Ok(RawFiles { files })
    }
}

/// Which page to render.
pub enum Page {
    /// The file `gil-lab report` writes: raw files embedded.
    Standalone(RawFiles),
    /// A page of `gil-lab serve`: raw files and live updates from the server.
    Served {
        /// URL of the run's page, e.g. `/runs/0/`.
        base: String,
        /// Whether the run is still running (the page subscribes to events).
        live: bool,
    },
    /// Only the `<main>` of a served page: what a live page swaps in when a
    /// trial ends.
    Fragment,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("report.html", include_str!("templates/report.html")),
    ("body.html", include_str!("templates/body.html")),
    ("chart.html", include_str!("templates/chart.html")),
    ("style.css", include_str!("templates/style.css")),
    ("report.js", include_str!("templates/report.js")),
    ("index.html", include_str!("templates/index.html")),
];

/// The template environment: HTML auto-escaping for `.html` templates (the
/// default rule of `minijinja`), the page's CSS and script included as is.
pub fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| anyhow!("template {name} does not parse: {e:#}"))?;
    }
    Ok(env)
}

/// The page of a loaded run.
pub fn render(loaded: &LoadedRun, page: &Page) -> Result<String> {
    let dashboard = model::build(loaded)?;
    render_dashboard(&dashboard, page)
}

/// The page of a dashboard.
pub fn render_dashboard(dashboard: &Dashboard, page: &Page) -> Result<String> {
    let env = environment()?;
    let (template, raw, base, live) = match page {
        Page::Standalone(raw) => ("report.html", Some(raw), None, false),
        Page::Served { base, live } => ("report.html", None, Some(base.as_str()), *live),
        Page::Fragment => ("body.html", None, None, false),
    };
    env.get_template(template)
        .and_then(|t| {
            t.render(context! {
                d => Value::from(Serde(dashboard)),
                svgs => Value::from(Serde(&dashboard.svgs)),
                raw => Value::from(Serde(raw)),
                base => base,
                live => live,
            })
        })
        .map_err(|e| anyhow!("cannot render the report: {e:#}"))
}
