//! The dashboard: `gil-lab report` (one self-contained HTML file per run) and
//! `gil-lab serve` (a local, read-only web server that shows every run's
//! dashboard and updates it live while a bench runs).
//!
//! Every view is a renderer of the run directory's versioned JSON: [`model`]
//! turns a loaded run into a [`model::Dashboard`] (plain data, also embedded
//! in the page), [`charts`] and [`timeline`] draw its SVG charts with
//! `plotters`, and [`report`] fills the HTML template with `minijinja`, which
//! escapes every string that came from outside.
//!
//! Dependencies point one way: this file only re-exports; [`report`] and
//! [`serve`] use [`model`], which builds the page from [`verdict`],
//! [`service`] (the `service` scenario's section),
//! [`claims`] (with [`inside`], the claims' cost seen from inside CPython,
//! and its [`bytecode`] listing),
//! [`charts`] (with [`bars`]) and [`timeline`] (with
//! [`trial_timeline`] and [`swimlanes`]); those share [`views`] and, for
//! drawing, [`drawing`], and use nothing above them.

pub mod bars;
pub mod bytecode;
pub mod charts;
pub mod claims;
pub mod drawing;
pub mod inside;
pub mod model;
pub mod report;
pub mod serve;
pub mod service;
pub mod swimlanes;
pub mod timeline;
pub mod trial_timeline;
pub mod verdict;
pub mod views;

pub use report::{REPORT_FILE, ReportArgs, write_report, write_report_to};
// `spawn_live` and `write_report` are the hooks of `gil-lab bench` (its
// `--serve` and the report written when a run ends).
pub use serve::{LiveServer, ServeArgs, spawn_live};
