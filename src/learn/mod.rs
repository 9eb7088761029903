//! `gil-lab learn`: the course chapter's six lessons as short live
//! experiments on the learner's own interpreters, each followed by what it
//! measured in plain words and the commands that go deeper. A room of its
//! own: it finds interpreters as `bench` does ([`lab`]), makes its
//! experiments with the existing producers (a short `gil-lab bench` run,
//! the inspection, `python check-imports`, the advice rules) and reads the
//! runs back through `run/`; it keeps its [`progress`] in a learning
//! directory and draws the [`notebook`] page from it. docs/learn.md maps
//! each lesson to the chapter's learning objectives.

mod capstone;
mod choosing;
mod cpython;
mod evolution;
mod extension;
mod free_threaded;
mod gil;
pub mod lab;
pub mod lessons;
pub mod notebook;
pub mod progress;
mod supported;
mod terminal;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use lab::Lab;
use lessons::{LESSONS, Page};
use progress::Progress;

/// Options of `gil-lab learn`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  gil-lab learn                 the next lesson not yet done, then the rest in order\n  gil-lab learn 3               lesson 3 only\n  gil-lab learn --list          the lessons, and which ran\n  gil-lab learn --all --answers processes,asyncio,threads,processes,processes"
)]
pub struct LearnArgs {
    /// Run this lesson only (1-6).
    #[arg(value_name = "LESSON", value_parser = clap::value_parser!(u8).range(1..=6), conflicts_with = "all")]
    pub lesson: Option<u8>,
    /// List the lessons and which ones ran, then stop.
    #[arg(long)]
    pub list: bool,
    /// Run all six lessons in order, without asking between them.
    #[arg(long)]
    pub all: bool,
    /// Lesson 5's choices, one per situation, comma-separated (threads,
    /// asyncio, processes, free-threaded, sequential); without it lesson 5
    /// asks on the terminal.
    #[arg(long, value_delimiter = ',', value_name = "CHOICE,...")]
    pub answers: Vec<String>,
    /// Only these CPython builds (repeatable): a path or a version such as
    /// 3.13 or 3.13t; lesson 2 still compares every CPython minor found.
    #[arg(long, value_name = "PATH|VERSION")]
    pub python: Vec<String>,
    /// Lesson 6 runs `bench --quick` (under 30 s) instead of the full `bench`.
    #[arg(long)]
    pub quick: bool,
    /// The learning directory: progress, notebook (learn.html) and the
    /// experiments' runs [default: <gil-lab home>/learn].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Runs `gil-lab learn`.
pub fn run(args: LearnArgs) -> Result<ExitCode> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => crate::paths::home_subdir("learn")?,
    };
    if !args.answers.is_empty() {
        choosing::parse_answers(&args.answers)?;
    }
    let mut progress = if dir.exists() {
        Progress::load(&dir)?
    } else {
        Progress::new()
    };
    let mut stdout = std::io::stdout().lock();
    if args.list {
        terminal::list(&mut stdout, &progress, &dir)?;
        return Ok(ExitCode::SUCCESS);
    }
    let queue: Vec<u8> = match (args.lesson, args.all) {
        (Some(n), _) => vec![n],
        (None, true) => LESSONS.iter().map(|l| l.number).collect(),
        (None, false) => LESSONS
            .iter()
            .map(|l| l.number)
            .filter(|n| progress.lesson(*n).is_none())
            .collect(),
    };
    if queue.is_empty() {
        writeln!(
            stdout,
            "Every lesson has run: `gil-lab learn N` runs one again, `--all` all of them.\nNotebook: {}",
            dir.join(notebook::NOTEBOOK_FILE).display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let interactive = std::io::stdin().is_terminal();
    if queue.contains(&5) && args.answers.is_empty() && !interactive {
        bail!(
            "lesson 5 asks you to choose an approach for five situations and no terminal is there to ask: give them with --answers (e.g. --answers processes,asyncio,threads,processes,processes)"
        );
    }
    let lab = Lab::new(dir.clone(), &args.python, args.quick)?;
    let mut input = std::io::stdin().lock();
    for (k, &number) in queue.iter().enumerate() {
        let lesson = lessons::lesson(number).context("no such lesson")?;
        if interactive && !args.all && k > 0 {
            write!(
                stdout,
                "\nNext: lesson {number}, {}. Press Enter to start it, or q then Enter to stop here: ",
                lesson.title
            )?;
            stdout.flush()?;
            let mut line = String::new();
            input.read_line(&mut line)?;
            if line.trim().eq_ignore_ascii_case("q") {
                writeln!(
                    stdout,
                    "Stopped; `gil-lab learn` resumes at lesson {number}."
                )?;
                break;
            }
        }
        writeln!(
            stdout,
            "\n━━ Lesson {number}: {} ━━\n{}\n",
            lesson.title, lesson.question
        )?;
        stdout.flush()?;
        let mut page = Page::new(lesson);
        match number {
            1 => cpython::run(&lab, &mut page)?,
            2 => evolution::run(&lab, &mut page)?,
            3 => gil::run(&lab, &mut page)?,
            4 => free_threaded::run(&lab, &mut page)?,
            5 => {
                let answers = if args.answers.is_empty() {
                    choosing::ask(&mut input, &mut stdout)?
                } else {
                    choosing::parse_answers(&args.answers)?
                };
                choosing::run(&lab, &answers, &mut page)?
            }
            _ => capstone::run(&lab, &mut page)?,
        }
        let result = page.finish();
        terminal::print(&mut stdout, &result)?;
        progress.record(result);
        progress.save(&dir)?;
        let path = notebook::write(&progress, &dir)?;
        writeln!(stdout, "\nNotebook: {}", path.display())?;
        stdout.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
