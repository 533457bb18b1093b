//! `payrec-bench`: the load generator behind BENCHMARKS.md.
//!
//! By default it starts the real payrec server in this process on 127.0.0.1:0 (durable
//! settings: SQLite `synchronous=FULL`, or PostgreSQL as configured), seeds it, and drives each
//! scenario with N keep-alive connections, next to a minimal axum endpoint (`ceiling`) that
//! measures the HTTP limit of this stack on this machine in the same run. With `--url` and
//! `--key` it targets a server started elsewhere instead.

use clap::Parser;

#[path = "payrec_bench/mod.rs"]
mod bench;

/// mimalloc: the request path allocates many small, short-lived buffers, and glibc's malloc
/// showed up at ~5% of the server threads' profile (docs/decisions.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = bench::args::Args::parse();
    match bench::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("payrec-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
