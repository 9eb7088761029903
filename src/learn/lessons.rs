//! The six lessons: their titles, the chapter's learning objective each
//! serves, the commands that go deeper, and [`Page`], what a lesson builds
//! while its experiment runs (the blocks and figures kept in the progress).

use std::path::PathBuf;

use super::progress::{Block, Figure, LessonResult};

/// One lesson of the chapter.
pub struct Lesson {
    /// 1 to 6.
    pub number: u8,
    /// Its title.
    pub title: &'static str,
    /// What it asks, in one line (`--list`).
    pub question: &'static str,
}

/// The lessons, in order.
pub const LESSONS: [Lesson; 6] = [
    Lesson {
        number: 1,
        title: "What CPython is",
        question: "What does the interpreter do with a function: source, bytecode, specialised bytecode; and is Python only CPython?",
    },
    Lesson {
        number: 2,
        title: "Performance evolution",
        question: "How fast is the same code on each CPython version installed, and what changed between them?",
    },
    Lesson {
        number: 3,
        title: "The traditional GIL",
        question: "Why do two computing threads take turns while two waiting threads do not, and how long does a waiting thread wait for its turn?",
    },
    Lesson {
        number: 4,
        title: "Free-threaded Python",
        question: "How do I detect and control free-threading, what turns the GIL back on, and what does it cost on one thread here?",
    },
    Lesson {
        number: 5,
        title: "Choosing an approach",
        question: "Five situations: which approach would you pick, and which does the measurement support?",
    },
    Lesson {
        number: 6,
        title: "The capstone",
        question: "The full benchmark comparing the approaches, and where each lesson shows in its dashboard.",
    },
];

/// The lesson numbered `number`.
pub fn lesson(number: u8) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.number == number)
}

/// A lesson's page as its experiment fills it in.
pub struct Page {
    result: LessonResult,
}

impl Page {
    /// An empty page of `lesson`.
    pub fn new(lesson: &Lesson) -> Page {
        Page {
            result: LessonResult {
                number: lesson.number,
                title: lesson.title.into(),
                finished_at: String::new(),
                figures: Vec::new(),
                blocks: Vec::new(),
                missing: Vec::new(),
                deeper: Vec::new(),
                runs: Vec::new(),
            },
        }
    }

    /// A heading.
    pub fn heading(&mut self, text: impl Into<String>) {
        self.result
            .blocks
            .push(Block::Heading { text: text.into() });
    }

    /// A paragraph.
    pub fn text(&mut self, text: impl Into<String>) {
        self.result.blocks.push(Block::Text { text: text.into() });
    }

    /// Code or output shown as is.
    pub fn code(&mut self, caption: impl Into<String>, text: impl Into<String>) {
        self.result.blocks.push(Block::Code {
            caption: caption.into(),
            text: text.into(),
        });
    }

    /// A table.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        self.result.blocks.push(Block::Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        });
    }

    /// A drawing for the notebook page.
    pub fn drawing(&mut self, caption: impl Into<String>, svg: String) {
        self.result.blocks.push(Block::Drawing {
            caption: caption.into(),
            svg,
        });
    }

    /// A measured figure, with where it was read.
    pub fn figure(&mut self, name: impl Into<String>, value: f64, unit: &str, source: &str) {
        self.result.figures.push(Figure {
            name: name.into(),
            value,
            unit: unit.into(),
            source: source.into(),
        });
    }

    /// What could not be measured here and how to get it.
    pub fn missing(&mut self, text: impl Into<String>) {
        self.result.missing.push(text.into());
    }

    /// A command that goes deeper.
    pub fn deeper(&mut self, command: impl Into<String>) {
        self.result.deeper.push(command.into());
    }

    /// A run directory the experiment made.
    pub fn run(&mut self, dir: PathBuf) {
        self.result.runs.push(dir);
    }

    /// The finished result.
    pub fn finish(mut self) -> LessonResult {
        self.result.finished_at = jiff::Timestamp::now().to_string();
        self.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_are_numbered_in_order() {
        for (i, l) in LESSONS.iter().enumerate() {
            assert_eq!(usize::from(l.number), i + 1);
            assert!(lesson(l.number).is_some());
        }
        assert!(lesson(7).is_none());
    }
}
