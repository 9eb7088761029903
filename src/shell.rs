//! Commands gil-lab suggests (hints, "To measure it" lines, errors that name
//! the fix) are written so that they can be pasted into a POSIX shell: every
//! word that needs it is quoted (a path with spaces, `<`, `$`, quotes).

use std::borrow::Cow;
use std::path::Path;

/// One word, quoted for a POSIX shell when it needs it (`'a b'`), as is
/// otherwise. A word holding a NUL byte cannot be passed to a program at
/// all; it is shown as is rather than hidden.
pub fn quote(word: &str) -> Cow<'_, str> {
    shlex::try_quote(word).unwrap_or(Cow::Borrowed(word))
}

/// A path, quoted like [`quote`] (lossily converted when it is not UTF-8).
pub fn quote_path(path: &Path) -> String {
    quote(&path.to_string_lossy()).into_owned()
}

/// Words joined into one command line, each quoted when it needs it.
pub fn join<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words
        .into_iter()
        .map(|word| quote(word).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("3.13t"), "3.13t");
        assert_eq!(quote("/usr/bin/python3"), "/usr/bin/python3");
        assert_eq!(
            quote("/tmp/my pythons/<x>/python"),
            "'/tmp/my pythons/<x>/python'"
        );
        assert_eq!(quote("it's"), "\"it's\"");
        assert_eq!(
            join(["gil-lab", "bench", "--python", "/a b/py"]),
            "gil-lab bench --python '/a b/py'"
        );
        // What the shell reads back is the word itself.
        let word = "/tmp/a b/<c>/$d/'e'/python";
        assert_eq!(shlex::split(&quote(word)).unwrap(), [word]);
    }
}
