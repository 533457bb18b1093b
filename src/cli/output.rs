//! Files the CLI writes (`export --output`, `reconcile --report`): created readable by their
//! owner only (0600), never through a symbolic link, and never one of the database's own
//! files. The ledger's data is private; a link planted at the output's name must not make
//! payrec overwrite something else.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::Failure;

/// Permission bits of every file the CLI creates.
pub const OUTPUT_FILE_MODE: u32 = 0o600;

/// The SQLite database's files (the database, its WAL, shared memory, journal, key signal and
/// serve lock); none for PostgreSQL.
fn database_files(database_url: &str) -> Vec<PathBuf> {
    let Ok(path) = crate::store::sqlite::path_of(database_url) else {
        return Vec::new();
    };
    ["", "-wal", "-shm", "-journal", "-keys", ".serve-lock"]
        .iter()
        .map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

/// `path` with its directory resolved (the file itself need not exist).
fn resolved(path: &Path) -> Option<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(path.file_name()?))
}

/// Refuses `path` when it is a symbolic link or one of the database's files.
pub fn check_output_path(path: &Path, database_url: &str) -> Result<(), Failure> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Failure(format!(
            "{} is a symbolic link: payrec does not write through links",
            path.display()
        )));
    }
    let target = resolved(path);
    for file in database_files(database_url) {
        let same = target.is_some() && resolved(&file) == target;
        if same || path == file {
            return Err(Failure(format!(
                "{} is one of the database's own files: choose another output",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Creates `path` afresh (mode 0600, not through a link), after `check_output_path`. A file
/// already there is replaced; a link there is removed, never followed.
pub fn create_output_file(path: &Path, database_url: &str) -> Result<File, Failure> {
    check_output_path(path, database_url)?;
    create_private(path).map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
}

/// A new file at `path`, 0600, refusing to follow a link (a link left there is removed first).
pub fn create_private(path: &Path) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(OUTPUT_FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_database_its_companions_and_links_are_refused_and_a_new_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("payrec.db");
        std::fs::write(&db, b"db").unwrap();
        let url = format!("sqlite://{}", db.display());
        assert!(check_output_path(&db, &url).is_err());
        assert!(check_output_path(&dir.path().join("payrec.db-wal"), &url).is_err());
        let dotted = dir.path().join(".").join("payrec.db");
        assert!(check_output_path(&dotted, &url).is_err(), "another spelling of it");
        let link = dir.path().join("out.csv");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(check_output_path(&link, &url).is_err());
        let out = dir.path().join("fine.csv");
        let file = create_output_file(&out, &url).unwrap();
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, OUTPUT_FILE_MODE);
        let partial = dir.path().join("fine.csv.partial");
        std::os::unix::fs::symlink(&db, &partial).unwrap();
        drop(create_private(&partial).unwrap());
        assert_eq!(std::fs::read(&db).unwrap(), b"db", "the link was removed, not followed");
    }
}
