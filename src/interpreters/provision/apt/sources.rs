//! APT source lists: reading both formats (deb822 `.sources` and one-line
//! `sources.list`), and the entry of gil-lab's private APT configuration
//! that makes a newer Debian suite's packages reachable through the archive
//! the machine already trusts.

use std::path::{Path, PathBuf};

/// Debian suites from oldest to newest: a source package missing from the
/// machine's own suite is looked for in the newer ones, stable first.
const DEBIAN_SUITES: &[&str] = &["buster", "bullseye", "bookworm", "trixie", "forky", "sid"];

/// One entry of an APT source list, from either format (deb822 `.sources`
/// or one-line `sources.list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// `deb`, `deb-src`.
    pub types: Vec<String>,
    /// Archive URIs, e.g. `http://deb.debian.org/debian`.
    pub uris: Vec<String>,
    /// Suites, e.g. `bookworm`, `bookworm-updates`.
    pub suites: Vec<String>,
    /// Components, e.g. `main`.
    pub components: Vec<String>,
    /// The `Signed-By` value as written (a keyring path or an inline key).
    pub signed_by: Option<String>,
    /// False for `Enabled: no`.
    pub enabled: bool,
    /// The file the entry was read from.
    pub file: PathBuf,
}

fn words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// Parses a deb822 `.sources` file: stanzas separated by blank lines,
/// `Field: value` lines, continuation lines starting with white space (an
/// inline `Signed-By` key), `#` comments.
pub fn parse_deb822(text: &str, file: &Path) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut finish = |fields: &mut Vec<(String, String)>| {
        if fields.is_empty() {
            return;
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        entries.push(SourceEntry {
            types: words(&get("Types").unwrap_or_default()),
            uris: words(&get("URIs").unwrap_or_default()),
            suites: words(&get("Suites").unwrap_or_default()),
            components: words(&get("Components").unwrap_or_default()),
            signed_by: get("Signed-By"),
            enabled: !get("Enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("no")),
            file: file.to_path_buf(),
        });
        fields.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish(&mut fields);
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            // Kept verbatim so that an inline key is written back unchanged.
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    finish(&mut fields);
    entries
}

/// Parses a one-line `sources.list`: `deb [opt=value ...] URI SUITE COMPONENT...`.
pub fn parse_one_line(text: &str, file: &Path) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if kind != "deb" && kind != "deb-src" {
            continue;
        }
        let mut rest = rest.trim_start();
        let mut signed_by = None;
        if let Some(options) = rest.strip_prefix('[') {
            let Some((options, after)) = options.split_once(']') else {
                continue;
            };
            signed_by = options
                .split_whitespace()
                .find_map(|option| option.strip_prefix("signed-by="))
                .map(str::to_string);
            rest = after;
        }
        let mut parts = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (parts.next(), parts.next()) else {
            continue;
        };
        entries.push(SourceEntry {
            types: vec![kind.to_string()],
            uris: vec![uri.to_string()],
            suites: vec![suite.to_string()],
            components: parts.map(str::to_string).collect(),
            signed_by,
            enabled: true,
            file: file.to_path_buf(),
        });
    }
    entries
}

/// Every source list entry under an APT configuration directory
/// (`sources.list`, `sources.list.d/*.list`, `sources.list.d/*.sources`).
pub fn read_source_lists(etc_apt: &Path) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let main = etc_apt.join("sources.list");
    if let Ok(text) = std::fs::read_to_string(&main) {
        entries.extend(parse_one_line(&text, &main));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => entries.extend(parse_deb822(&text, &file)),
            Some("list") => entries.extend(parse_one_line(&text, &file)),
            _ => {}
        }
    }
    entries
}

/// A deb822 stanza for `suite`'s binary and source packages (`main`),
/// reusing the URIs and keyring of the machine's main archive entry (the
/// `deb` entry for its own codename), so no new host or key is trusted.
/// None when there is no such entry to copy.
pub fn archive_stanza(entries: &[SourceEntry], codename: &str, suite: &str) -> Option<String> {
    let is_main_archive = |entry: &&SourceEntry| {
        entry.enabled
            && entry.types.iter().any(|t| t == "deb")
            && entry.components.iter().any(|c| c == "main")
    };
    let archive = entries
        .iter()
        .filter(is_main_archive)
        .find(|entry| entry.suites.iter().any(|s| s == codename))?;
    let mut stanza = format!(
        "Types: deb deb-src\nURIs: {}\nSuites: {suite}\nComponents: main\n",
        archive.uris.join(" ")
    );
    if let Some(signed_by) = &archive.signed_by {
        stanza.push_str(&format!("Signed-By: {signed_by}\n"));
    }
    Some(stanza)
}

/// The fields of `/etc/os-release` that choose the strategy.
#[derive(Debug, Default, Clone)]
pub struct OsRelease {
    /// `debian`, `ubuntu`, ...
    pub id: String,
    /// `debian` for Ubuntu and other derivatives.
    pub id_like: String,
    /// `bookworm`, `noble`, ...
    pub codename: String,
}

impl OsRelease {
    /// Parses the `KEY=value` lines of an os-release file.
    pub fn parse(text: &str) -> OsRelease {
        let mut release = OsRelease::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value
                .trim()
                .trim_matches('"')
                .trim_matches('\'')
                .to_string();
            match key.trim() {
                "ID" => release.id = value,
                "ID_LIKE" => release.id_like = value,
                "VERSION_CODENAME" => release.codename = value,
                _ => {}
            }
        }
        release
    }

    /// This machine's `/etc/os-release` (empty fields where it has none).
    pub fn read() -> OsRelease {
        std::fs::read_to_string("/etc/os-release")
            .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
            .map(|text| OsRelease::parse(&text))
            .unwrap_or_default()
    }

    /// The suites to look for a CPython source package in, newest first:
    /// on Debian every suite from sid down to the machine's own, elsewhere
    /// (Ubuntu, ...) the machine's own suite only.
    pub fn source_suites(&self) -> Vec<String> {
        let mut suites: Vec<String> = self
            .newer_debian_suites()
            .into_iter()
            .rev()
            .map(str::to_string)
            .collect();
        if !self.codename.is_empty() && !suites.contains(&self.codename) {
            suites.push(self.codename.clone());
        }
        suites
    }

    /// Debian suites newer than this machine's, oldest first (none on other
    /// distributions: their suites differ).
    pub fn newer_debian_suites(&self) -> Vec<&'static str> {
        if self.id != "debian" {
            return Vec::new();
        }
        match DEBIAN_SUITES.iter().position(|s| *s == self.codename) {
            Some(index) => DEBIAN_SUITES[index + 1..].to_vec(),
            None => vec!["sid"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOKWORM_DEB822: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    #[test]
    fn parses_deb822_with_comments_between_fields() {
        let entries = parse_deb822(BOOKWORM_DEB822, Path::new("debian.sources"));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].types, ["deb"]);
        assert_eq!(entries[0].uris, ["http://deb.debian.org/debian"]);
        assert_eq!(entries[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(entries[1].suites, ["bookworm-security"]);
        assert!(entries.iter().all(|e| e.enabled));
    }

    #[test]
    fn a_newer_suite_reuses_the_machines_uris_and_keyring() {
        let entries = parse_deb822(BOOKWORM_DEB822, Path::new("debian.sources"));
        let stanza = archive_stanza(&entries, "bookworm", "sid").unwrap();
        assert_eq!(
            stanza,
            "Types: deb deb-src\nURIs: http://deb.debian.org/debian\nSuites: sid\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        let added = parse_deb822(&stanza, Path::new("gil-lab.sources"));
        assert_eq!(added[0].types, ["deb", "deb-src"]);
        assert_eq!(added[0].suites, ["sid"]);
        // No entry for the machine's codename: nothing to copy.
        assert_eq!(archive_stanza(&entries, "noble", "trixie"), None);
    }

    #[test]
    fn keeps_an_inline_key_and_skips_disabled_entries() {
        let text = "\
Types: deb
URIs: https://mirror.example/debian
Suites: bookworm
Components: main contrib
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no
";
        let entries = parse_deb822(text, Path::new("x.sources"));
        assert!(!entries[1].enabled);
        let stanza = archive_stanza(&entries, "bookworm", "trixie").unwrap();
        assert!(stanza.contains("URIs: https://mirror.example/debian\n"));
        assert!(stanza.ends_with("Signed-By: \n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n"));
        let back = parse_deb822(&stanza, Path::new("y.sources"));
        assert_eq!(back[0].signed_by, entries[0].signed_by);
    }

    #[test]
    fn parses_one_line_lists_with_options() {
        let text = "\
# a comment
deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://ftp.de.debian.org/debian bookworm main non-free
deb http://security.debian.org/debian-security bookworm-security main
deb-src http://ftp.de.debian.org/debian trixie main # sources
deb cdrom:[Debian]/ bookworm main
";
        let entries = parse_one_line(text, Path::new("sources.list"));
        assert_eq!(entries.len(), 4);
        assert_eq!(
            entries[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/debian.gpg")
        );
        assert_eq!(entries[0].components, ["main", "non-free"]);
        let stanza = archive_stanza(&entries, "bookworm", "forky").unwrap();
        assert!(stanza.starts_with(
            "Types: deb deb-src\nURIs: http://ftp.de.debian.org/debian\nSuites: forky\n"
        ));
    }

    #[test]
    fn reads_both_formats_from_an_apt_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sources.list.d")).unwrap();
        std::fs::write(
            dir.path().join("sources.list"),
            "deb http://a.example/debian bookworm main\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/debian.sources"),
            BOOKWORM_DEB822,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/old.list.disabled"),
            "deb http://x/ y main\n",
        )
        .unwrap();
        let entries = read_source_lists(dir.path());
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].uris, ["http://a.example/debian"]);
        assert!(entries[1].file.ends_with("debian.sources"));
    }

    #[test]
    fn knows_which_debian_suites_are_newer() {
        let bookworm = OsRelease::parse("ID=debian\nVERSION_CODENAME=bookworm\n");
        assert_eq!(bookworm.newer_debian_suites(), ["trixie", "forky", "sid"]);
        assert_eq!(
            bookworm.source_suites(),
            ["sid", "forky", "trixie", "bookworm"]
        );
        let ubuntu = OsRelease::parse("ID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n");
        assert!(ubuntu.newer_debian_suites().is_empty());
        assert_eq!(ubuntu.source_suites(), ["noble"]);
        assert_eq!(ubuntu.id_like, "debian");
    }
}
