//! Threads the store cannot do without (the writer, the checkpointer): a panic on one ends the
//! process, so it restarts whole rather than serving while every write fails.

use crate::store::StoreError;

/// Runs `body` on a named thread the server cannot do without: if it panics, the process ends.
pub(super) fn spawn_essential(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    let thread = name.to_owned();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
                tracing::error!(
                    thread,
                    "an essential thread panicked; payrec stops so that it restarts whole"
                );
                std::process::abort();
            }
        })
        .map(|_| ())
        .map_err(|e| StoreError::Database(format!("cannot start the {name} thread: {e}")))
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::time::Duration;

    use super::spawn_essential;

    /// Set for the child process that plays the server.
    const CHILD_ENV: &str = "PAYREC_TEST_ESSENTIAL_THREAD_PANICS";

    #[test]
    fn a_panic_on_an_essential_thread_ends_the_process() {
        if std::env::var_os(CHILD_ENV).is_some() {
            spawn_essential("payrec-test-essential", || panic!("an assertion failed")).expect("spawned");
            std::thread::sleep(Duration::from_secs(30));
            // Reached only if the process survived the panic: the parent sees a clean exit.
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "store::sqlite::essential::tests::a_panic_on_an_essential_thread_ends_the_process",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .output()
            .expect("run the child");
        assert_eq!(
            output.status.signal(),
            Some(6),
            "the child must abort (SIGABRT), not {:?}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
