//! The build pipeline with a stand-in CPython source tree (configure, make,
//! make install in a second, linking the provisioned interpreters): a source
//! build, a PGO+LTO build (`--optimized`), and build dependencies installed
//! only with `--yes`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{gil_lab, marker, path_with, provisioned, stdout_lines, succeeded};

/// Writes a `.tar.gz` of `files` (path, contents, mode).
pub(super) fn write_tarball(path: &Path, files: &[(&str, &str, u32)]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut builder = tar::Builder::new(gz);
    for (name, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_cksum();
        builder
            .append_data(&mut header, name, contents.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// A small source tree that builds like CPython's (configure, make with
/// two compiled objects, make install) but installs a link to a real
/// interpreter of `version`: the whole build pipeline in a second.
/// `configure` fails when FAKE_CONFIGURE_FAIL is set.
fn stand_in_source_tarball(dir: &Path, version: &str) -> PathBuf {
    let top = format!("Python-{version}");
    let patchlevel = format!("#define PY_VERSION \"{version}\"\n");
    let configure = "#!/bin/sh\n\
        if [ -n \"$FAKE_CONFIGURE_FAIL\" ]; then echo 'configure: error: no acceptable C compiler found'; exit 1; fi\n\
        for arg in \"$@\"; do echo \"$arg\"; done > config.args\n\
        echo 'checking for a stand-in build... yes'\n";
    let makefile = "PREFIX := $(shell sed -n 's/^--prefix=//p' config.args)\n\
        all: one.o two.o\n\
        %.o: %.c\n\tcc -c $< -o $@\n\
        install:\n\
        \tmkdir -p \"$(DESTDIR)$(PREFIX)/bin\"\n\
        \tif grep -qx -- --disable-gil config.args; then ln -s \"$$FAKE_PYTHON_T\" \"$(DESTDIR)$(PREFIX)/bin/python3.13t\"; \
        else ln -s \"$$FAKE_PYTHON\" \"$(DESTDIR)$(PREFIX)/bin/python3.13\"; fi\n";
    let path = dir.join(format!("{top}.tgz"));
    write_tarball(
        &path,
        &[
            (&format!("{top}/configure"), configure, 0o755),
            (&format!("{top}/Makefile"), makefile, 0o644),
            (
                &format!("{top}/one.c"),
                "int one(void) { return 1; }\n",
                0o644,
            ),
            (
                &format!("{top}/two.c"),
                "int two(void) { return 2; }\n",
                0o644,
            ),
            (&format!("{top}/Include/patchlevel.h"), &patchlevel, 0o644),
        ],
    );
    path
}

/// An empty home with a stand-in source tarball of the provisioned
/// 3.13t's version, whose build links the provisioned interpreters.
struct StandIn {
    default: PathBuf,
    free_threaded: PathBuf,
    version: String,
    home: tempfile::TempDir,
    tarball: PathBuf,
}

fn stand_in() -> StandIn {
    let (default, free_threaded) = provisioned();
    let version = marker(&free_threaded)["version"]
        .as_str()
        .unwrap()
        .to_string();
    let home = tempfile::tempdir().unwrap();
    let tarball = stand_in_source_tarball(home.path(), &version);
    StandIn {
        default,
        free_threaded,
        version,
        home,
        tarball,
    }
}

#[test]
fn a_source_build_is_configured_compiled_installed_verified_and_marked() {
    let StandIn {
        default,
        free_threaded,
        version,
        home,
        tarball,
    } = stand_in();
    let install = |extra: &[&str], fail: bool| {
        let mut command = gil_lab();
        command
            .args(["python", "install", "3.13t", "--source"])
            .arg(&tarball)
            .args(extra)
            .env("GIL_LAB_HOME", home.path())
            .env("FAKE_PYTHON_T", &free_threaded)
            .env("FAKE_PYTHON", &default)
            .env_remove("FAKE_CONFIGURE_FAIL");
        if fail {
            command.env("FAKE_CONFIGURE_FAIL", "1");
        }
        command.output().unwrap()
    };

    let output = succeeded(install(&["--with-default"], false));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let pythons = home.path().join("pythons");
    let ft_prefix = pythons.join(format!("cpython-{version}t"));
    let df_prefix = pythons.join(format!("cpython-{version}"));
    assert_eq!(
        stdout_lines(&output),
        [
            df_prefix.join("bin/python3.13"),
            ft_prefix.join("bin/python3.13t")
        ]
    );
    assert!(stderr.contains("compiling 2/2"), "{stderr}");
    assert!(stderr.contains("verifying with the probe"), "{stderr}");
    let ft = marker(&ft_prefix.join("bin/python3.13t"));
    assert_eq!(
        ft["configure_flags"],
        serde_json::json!([format!("--prefix={}", ft_prefix.display()), "--disable-gil"])
    );
    let df = marker(&df_prefix.join("bin/python3.13"));
    assert_eq!(
        df["configure_flags"],
        serde_json::json!([format!("--prefix={}", df_prefix.display())])
    );
    assert_eq!(df["source"].as_str(), tarball.to_str());
    // The build directory is gone, the log stays.
    assert!(
        !home
            .path()
            .join("build")
            .join(format!("cpython-{version}t"))
            .exists()
    );
    let log = std::fs::read_to_string(ft["build_log"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("checking for a stand-in build... yes"),
        "{log}"
    );

    // Installed: not rebuilt; --force rebuilds.
    let again = succeeded(install(&[], false));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already installed and verified"));
    let forced = succeeded(install(&["--force", "--jobs", "1"], false));
    assert!(String::from_utf8_lossy(&forced.stderr).contains("compiling 2/2"));
    let rebuilt = marker(&ft_prefix.join("bin/python3.13t"));
    assert_ne!(rebuilt["installed_at"], ft["installed_at"]);
    let log = std::fs::read_to_string(rebuilt["build_log"].as_str().unwrap()).unwrap();
    assert!(log.contains("\n$ make -j1\n"), "{log}");

    // A failed build says where its log is and shows its end; what it left
    // has no marker, so the next run builds again.
    let failed = install(&["--force"], true);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("./configure failed (exit status: 1); the full build log is"),
        "{stderr}"
    );
    assert!(
        stderr.contains("configure: error: no acceptable C compiler found"),
        "{stderr}"
    );
    assert!(!ft_prefix.join(".gil-lab-installed.json").exists());
    let rebuilt = succeeded(install(&[], false));
    assert!(String::from_utf8_lossy(&rebuilt.stderr).contains("compiling 2/2"));
}

#[test]
fn optimized_builds_use_pgo_and_lto_and_install_next_to_the_plain_build() {
    let StandIn {
        default,
        free_threaded,
        version,
        home,
        tarball,
    } = stand_in();
    let install = |extra: &[&str]| {
        succeeded(
            gil_lab()
                .args(["python", "install", "3.13t", "--source"])
                .arg(&tarball)
                .args(extra)
                .env("GIL_LAB_HOME", home.path())
                .env("FAKE_PYTHON_T", &free_threaded)
                .env("FAKE_PYTHON", &default)
                .env_remove("FAKE_CONFIGURE_FAIL")
                .output()
                .unwrap(),
        )
    };
    let output = install(&["--optimized"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("with PGO and LTO"), "{stderr}");
    assert!(stderr.contains(" (PGO+LTO) from "), "{stderr}");
    let prefix = home
        .path()
        .join("pythons")
        .join(format!("cpython-{version}t-pgo-lto"));
    assert_eq!(stdout_lines(&output), [prefix.join("bin/python3.13t")]);
    let optimized = marker(&prefix.join("bin/python3.13t"));
    assert_eq!(optimized["optimized"], true);
    assert_eq!(
        optimized["configure_flags"],
        serde_json::json!([
            format!("--prefix={}", prefix.display()),
            "--disable-gil",
            "--enable-optimizations",
            "--with-lto"
        ])
    );
    // The plain build is another install; each is found again as itself.
    let plain = install(&[]);
    let plain_path = stdout_lines(&plain);
    assert_eq!(
        plain_path,
        [home
            .path()
            .join(format!("pythons/cpython-{version}t/bin/python3.13t"))]
    );
    let again = install(&["--optimized"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already installed and verified"));
    assert_eq!(stdout_lines(&again), [prefix.join("bin/python3.13t")]);
}

/// Stand-ins for `dpkg-query` (nothing is installed) and `apt-get`
/// (records its arguments, succeeds) in a directory put first on PATH.
fn fake_package_tools(dir: &Path) -> PathBuf {
    let bin = dir.join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = dir.join("apt-calls.txt");
    for (name, body) in [
        ("dpkg-query", "exit 1".to_string()),
        (
            "apt-get",
            format!("echo \"$*\" >> {}\nexit 0", calls.display()),
        ),
    ] {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn build_dependencies_are_installed_only_with_yes() {
    let StandIn {
        default,
        free_threaded,
        home,
        tarball,
        ..
    } = stand_in();
    let tools = fake_package_tools(home.path());
    let install = |extra: &[&str]| {
        gil_lab()
            .args(["python", "install", "3.13t", "--source"])
            .arg(&tarball)
            .args(extra)
            .env("GIL_LAB_HOME", home.path())
            .env("PATH", path_with(&tools))
            .env("FAKE_PYTHON_T", &free_threaded)
            .env("FAKE_PYTHON", &default)
            .env_remove("FAKE_CONFIGURE_FAIL")
            .output()
            .unwrap()
    };
    let calls = home.path().join("apt-calls.txt");
    // No terminal, no --yes: the command to run, and nothing installed.
    let refused = install(&[]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let root = is_root();
    let command = if root {
        "run `apt-get install -y --no-install-recommends gcc make libffi-dev zlib1g-dev"
    } else {
        "run `sudo apt-get install -y --no-install-recommends gcc make libffi-dev zlib1g-dev"
    };
    assert!(stderr.contains(command), "{stderr}");
    assert!(!calls.exists(), "apt-get ran without consent");
    let with_yes = install(&["--yes"]);
    if root {
        assert!(
            with_yes.status.success(),
            "{}",
            String::from_utf8_lossy(&with_yes.stderr)
        );
        let recorded = std::fs::read_to_string(&calls).unwrap();
        assert!(
            recorded.contains("install -y --no-install-recommends"),
            "{recorded}"
        );
        assert!(recorded.contains("libffi-dev"), "{recorded}");
    } else {
        // Without root, --yes cannot install: the same command, with sudo.
        assert_eq!(with_yes.status.code(), Some(1));
        assert!(!calls.exists());
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
