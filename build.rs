//! Tells the integration suite whether its PostgreSQL tests run. With `PAYREC_TEST_DATABASE_URL`
//! set, or under `CI`, they run (and fail when PostgreSQL does not answer); without either,
//! libtest lists them as ignored, with the reason, instead of counting skips as passes.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(payrec_pg_tests)");
    println!("cargo::rerun-if-env-changed=PAYREC_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=CI");
    // sqlx::migrate! embeds the PostgreSQL migrations: a new file must rebuild the crate.
    println!("cargo::rerun-if-changed=migrations");
    let configured = std::env::var_os("PAYREC_TEST_DATABASE_URL").is_some();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    if configured || in_ci {
        println!("cargo::rustc-cfg=payrec_pg_tests");
    }
}
