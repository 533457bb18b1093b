//! A PostgreSQL schema of its own for each test that needs PostgreSQL. Such a test carries
//! `#[cfg_attr(not(payrec_pg_tests), ignore = "PostgreSQL tests need PAYREC_TEST_DATABASE_URL")]`:
//! ignored unless `PAYREC_TEST_DATABASE_URL` or `CI` is set (see build.rs). Once it runs, a
//! missing variable or an unreachable database fails it, for a skip would count as a pass.

use sqlx::Connection;

/// A fresh schema in the test database, dropped when the test ends.
pub struct PgSchema {
    admin_url: String,
    name: String,
    url: String,
}

impl PgSchema {
    /// The test database with this schema as the search path.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to the test database, for SQL that names the schema itself.
    pub async fn connect(&self) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("connect to PostgreSQL")
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .execute(&mut conn)
                    .await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

/// A fresh schema in the database at `PAYREC_TEST_DATABASE_URL`; panics when the variable is
/// not set or PostgreSQL does not answer.
pub async fn postgres_schema() -> PgSchema {
    let admin_url = std::env::var("PAYREC_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("PAYREC_TEST_DATABASE_URL is not set: PostgreSQL tests need it (they are ignored without it unless CI is set)")
    });
    let name = format!("payrec_t_{}", payrec::base62::random_base62(12).to_lowercase());
    let created = async {
        let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("CREATE SCHEMA {name}")).execute(&mut conn).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = created {
        panic!("PostgreSQL at PAYREC_TEST_DATABASE_URL does not answer: {e}");
    }
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
    PgSchema { admin_url, name, url }
}
