//! The interpreter the deployment image runs: the same kind of build as the
//! measured cell's (the same `major.minor`, free-threaded or default), from
//! uv or from a base image the user names (`--python-image`), checked when
//! the image is built ([`ImagePython::build_check`]); and the words that
//! name the measured interpreter and the image's, with what may differ
//! between them. Read from the run's interpreter record, never from a label.

use anyhow::{Result, bail};

use crate::run::record::InterpreterRecord;

/// Where the image gets its interpreter.
#[derive(Clone, Debug, PartialEq)]
pub enum PythonSource {
    /// `uv python install` in a Debian image (python-build-standalone builds).
    Uv,
    /// The `python3` of this base image (e.g. an official `python:3.14t`).
    Image(String),
}

/// The interpreter of the image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImagePython {
    /// `major.minor`, e.g. `3.13`.
    pub version: String,
    /// A free-threaded build (`Py_GIL_DISABLED`).
    pub free_threaded: bool,
    /// Where it comes from.
    pub source: PythonSource,
}

impl ImagePython {
    /// The image's interpreter for a cell measured on `measured`: the same
    /// `major.minor` and build, from `python_image` if given, else from uv.
    pub fn for_measured(
        measured: &InterpreterRecord,
        python_image: Option<&str>,
    ) -> Result<ImagePython> {
        let version = measured
            .version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        let source = match python_image {
            Some(image) => PythonSource::Image(image.to_string()),
            None if measured.implementation == "CPython" => PythonSource::Uv,
            None => bail!(
                "the cell ran on {} {}: the image installs CPython only; name an image with that interpreter with --python-image",
                measured.implementation,
                measured.version
            ),
        };
        Ok(ImagePython {
            version,
            free_threaded: measured.free_threaded,
            source,
        })
    }

    /// `t` for a free-threaded build, else nothing.
    fn t(&self) -> &'static str {
        if self.free_threaded { "t" } else { "" }
    }

    /// What uv and the interpreter's name call it: `3.13t`, `3.13`.
    pub fn request(&self) -> String {
        format!("{}{}", self.version, self.t())
    }

    /// `free-threaded build` or `default build`.
    pub fn build(&self) -> &'static str {
        build_words(self.free_threaded)
    }

    /// The image's interpreter in words, with where it comes from.
    pub fn words(&self) -> String {
        match &self.source {
            PythonSource::Uv => format!(
                "CPython {} ({}) installed by uv: its newest {} patch release, a python-build-standalone build",
                self.request(),
                self.build(),
                self.version
            ),
            PythonSource::Image(image) => format!(
                "{} ({}) of the image {image}: its patch release and build",
                self.request(),
                self.build()
            ),
        }
    }

    /// A Python program that exits with a message unless it runs on this
    /// `major.minor` and build: run when the image is built, so that an
    /// image of another build (uv resolving differently, a base image of the
    /// default build) never gets deployed.
    pub fn build_check(&self) -> String {
        let (major, minor) = self.version.split_once('.').unwrap_or((&self.version, "0"));
        let want = if self.free_threaded { "True" } else { "False" };
        format!(
            "import sys, sysconfig; ft = bool(sysconfig.get_config_var('Py_GIL_DISABLED')); \
             got = '%d.%d%s (%s build)' % (sys.version_info[0], sys.version_info[1], 't' if ft else '', 'free-threaded' if ft else 'default'); \
             sys.exit(None if (tuple(sys.version_info[:2]), ft) == (({major}, {minor}), {want}) \
             else sys.executable + ' is ' + got + ', not the measured {request} ({build})')",
            request = self.request(),
            build = self.build(),
        )
    }
}

fn build_words(free_threaded: bool) -> &'static str {
    if free_threaded {
        "free-threaded build"
    } else {
        "default build"
    }
}

/// The measured interpreter in words: version, build and executable.
pub fn measured_words(measured: &InterpreterRecord) -> String {
    format!(
        "{} {}{} ({}) at {}",
        measured.implementation,
        measured.version,
        if measured.free_threaded { "t" } else { "" },
        build_words(measured.free_threaded),
        measured.path.display()
    )
}

/// What may differ between the measured interpreter and the image's: the
/// same `major.minor` and build are guaranteed (the image's build fails
/// otherwise); the patch release and the build's recipe are not.
pub fn differences(measured: &InterpreterRecord, image: &ImagePython) -> String {
    let from = match &image.source {
        PythonSource::Uv => "uv's python-build-standalone build".to_string(),
        PythonSource::Image(name) => format!("the build in {name}"),
    };
    format!(
        "both are {} {} ({}); the image's patch release may not be {} and {from} is not the measured executable (compiler, PGO/LTO may differ): measure the image's interpreter with `gil-lab bench --python PATH` to compare",
        measured.implementation,
        image.request(),
        image.build(),
        measured.version
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::fixtures::run_file;

    #[test]
    fn the_image_python_follows_the_record_not_its_label() {
        let mut record = run_file(&[]).interpreters[0].clone();
        record.version = "3.13.5".into();
        record.free_threaded = true;
        // A label that would mislead a reader of words: the record decides.
        record.label = "CPython 3.13.5".into();
        let image = ImagePython::for_measured(&record, None).unwrap();
        assert_eq!(image.request(), "3.13t");
        assert!(image.words().contains("free-threaded build"));
        assert!(differences(&record, &image).contains("may not be 3.13.5"));
        let official = ImagePython::for_measured(&record, Some("python:3.14t")).unwrap();
        assert_eq!(official.source, PythonSource::Image("python:3.14t".into()));
        record.implementation = "PyPy".into();
        let err = ImagePython::for_measured(&record, None).unwrap_err();
        assert!(err.to_string().contains("--python-image"), "{err}");
    }
}
