//! Python tools for the suite (Stripe's SDK, schemathesis), each installed once into its own
//! virtualenv under target/. Under CI=true a failed install fails the test; elsewhere the test
//! is skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::in_ci;

/// Serialises installs: two tests of one binary must not build the same venv at once.
static INSTALL_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// target/<venv>/bin, with `package` (a pinned pip requirement) installed; None outside CI
/// when Python or pip cannot provide it.
pub fn venv_bin(venv: &str, package: &str) -> Option<PathBuf> {
    let _one_at_a_time = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(venv);
    let bin = root.join("bin");
    let marker = root.join(".installed");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == package) {
        return Some(bin);
    }
    let fail = |what: &str| -> Option<PathBuf> {
        assert!(!in_ci(), "{package} cannot be installed under CI: {what}");
        eprintln!("skipping (not under CI): {what}");
        None
    };
    let created = Command::new("python3").args(["-m", "venv"]).arg(&root).status();
    if !created.is_ok_and(|s| s.success()) {
        return fail("python3 -m venv failed");
    }
    let installed = Command::new(bin.join("python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ])
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        return fail(&format!("pip install {package} failed"));
    }
    std::fs::write(&marker, package).expect("write venv marker");
    Some(bin)
}

/// target/<dir> with `package` (a pinned npm requirement, `stripe@23.2.0`) installed under
/// node_modules; None outside CI when node or npm cannot provide it.
pub fn node_modules(dir: &str, package: &str) -> Option<PathBuf> {
    let _one_at_a_time = INSTALL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join(dir);
    let marker = root.join(".installed");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == package) {
        return Some(root);
    }
    let installed = Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&root)
        .arg(package)
        .status();
    if !installed.is_ok_and(|s| s.success()) {
        assert!(!in_ci(), "{package} cannot be installed under CI: npm install failed");
        eprintln!("skipping (not under CI): npm install {package} failed");
        return None;
    }
    std::fs::write(&marker, package).expect("write node_modules marker");
    Some(root)
}
