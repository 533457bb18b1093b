//! `payrec serve --ephemeral`: a new SQLite database in a temporary directory of its own,
//! removed when the server stops (Ctrl-C or SIGTERM; a killed process leaves it in the system's
//! temporary directory, named `payrec-ephemeral-…`).

use std::path::PathBuf;

use super::Failure;
use crate::base62::random_base62;

/// The temporary database; dropping it removes its directory.
#[derive(Debug)]
pub struct Ephemeral {
    dir: PathBuf,
    pub database_url: String,
}

impl Ephemeral {
    pub fn create() -> Result<Ephemeral, Failure> {
        let name = format!("payrec-ephemeral-{}-{}", std::process::id(), random_base62(12));
        let dir = std::env::temp_dir().join(name);
        // A directory of its own, made here (never one that existed): only this server's files.
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
        let database_url = format!("sqlite://{}", dir.join("payrec.db").display());
        Ok(Ephemeral { dir, database_url })
    }
}

impl Drop for Ephemeral {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!(
                "payrec: cannot remove the ephemeral database {}: {e}",
                self.dir.display()
            );
        }
    }
}
