//! The SQLite side of the key cache (`store::key_cache`). Keys are revoked by whatever process
//! runs `payrec keys revoke`, so the server cannot be told directly: after its transaction
//! commits, `revoke_key` replaces a small signal file beside the database (`<db>-keys`, as
//! SQLite names its `-wal` and `-shm`), and every lookup first looks at that file's metadata.
//! A file replaced since the last look forgets every key. A stat is a fraction of the read
//! transaction it saves (two file locks taken and released), and a revocation is seen by the
//! next request, in this process or any other.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::store::key_cache::KeyCache;

/// What identifies one version of the signal file: replaced by a rename, it has a new inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Absent,
    File {
        inode: u64,
        modified: Option<SystemTime>,
        len: u64,
    },
}

#[derive(Debug)]
pub(super) struct KeySignal {
    path: PathBuf,
    /// The version of the file the cache's keys were found under; None before the first look.
    seen: Mutex<Option<Seen>>,
}

impl KeySignal {
    pub fn beside(database: &Path) -> Self {
        let mut name = database.as_os_str().to_owned();
        name.push("-keys");
        KeySignal {
            path: PathBuf::from(name),
            seen: Mutex::new(None),
        }
    }

    /// Looks at the file before a lookup: forgets every key if it changed since the last look,
    /// and turns the cache off while the file cannot be read.
    pub fn check(&self, cache: &KeyCache) {
        let now = self.look();
        let mut seen = self.seen.lock().expect("key signal lock");
        if *seen != now {
            // A first look, a revocation, or a file gone unreadable (None): start over.
            cache.set_enabled(now.is_some());
            *seen = now;
        }
    }

    /// Tells every process that a key was revoked (after the revocation committed).
    pub fn raise(&self) -> std::io::Result<()> {
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(format!(".{}", std::process::id()));
        std::fs::write(&temporary, format!("{:?}\n", SystemTime::now()))?;
        std::fs::rename(&temporary, &self.path)
    }

    fn look(&self) -> Option<Seen> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&self.path) {
            Ok(m) => Some(Seen::File {
                inode: m.ino(),
                modified: m.modified().ok(),
                len: m.len(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Seen::Absent),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::key_cache::tests::owner;

    #[test]
    fn a_raised_signal_seen_by_another_process_forgets_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("payrec.db");
        let (server, cli) = (KeySignal::beside(&database), KeySignal::beside(&database));
        let cache = KeyCache::default();
        server.check(&cache);
        cache.put([1; 32], owner(), cache.ticket());
        server.check(&cache);
        assert_eq!(cache.get(&[1; 32]), Some(owner()), "nothing changed: the key stays");
        cli.raise().unwrap();
        server.check(&cache);
        assert_eq!(cache.get(&[1; 32]), None, "revoked elsewhere: forgotten");
        cache.put([1; 32], owner(), cache.ticket());
        cli.raise().unwrap();
        server.check(&cache);
        assert_eq!(cache.get(&[1; 32]), None, "every raise is seen, not only the first");
    }

    #[test]
    fn nothing_is_cached_before_the_first_look() {
        let dir = tempfile::tempdir().unwrap();
        let signal = KeySignal::beside(&dir.path().join("payrec.db"));
        let cache = KeyCache::default();
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), None);
        signal.check(&cache);
        cache.put([1; 32], owner(), cache.ticket());
        assert_eq!(cache.get(&[1; 32]), Some(owner()));
    }
}
