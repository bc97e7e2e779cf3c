//! A fresh database per test, `quizroom_fault_<uuid>`, on the Postgres server of `DATABASE_URL`;
//! dropped when the handle goes (even on panic), unless `FAULTS_KEEP_DB=1`.

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use uuid::Uuid;

/// `postgres://user@host:port/db?opts` split into `postgres://user@`, `host:port`, `db` and
/// `?opts` (empty or with its `?`).
fn split_url(url: &str) -> (String, String, String, String) {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let (authority, db) = match base[after_scheme..].find('/') {
        Some(i) => (&base[..after_scheme + i], &base[after_scheme + i + 1..]),
        None => (base, ""),
    };
    let (prefix, host_port) = match authority.rfind('@') {
        Some(i) => (&authority[..=i], &authority[i + 1..]),
        None => (&authority[..after_scheme], &authority[after_scheme..]),
    };
    (
        prefix.to_owned(),
        host_port.to_owned(),
        db.to_owned(),
        query.to_owned(),
    )
}

pub struct TestDb {
    pub name: String,
    /// `postgres://user@`
    prefix: String,
    /// `host:port` of the real Postgres.
    pub upstream: String,
    query: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = std::env::var("DATABASE_URL").unwrap_or_default();
        assert!(
            !admin.is_empty(),
            "DATABASE_URL is not set: the fault tests need a Postgres server they may create \
             databases on, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/quizroom"
        );
        let (prefix, upstream, _, query) = split_url(&admin);
        let db = TestDb {
            name: format!("quizroom_fault_{}", Uuid::new_v4().simple()),
            prefix,
            upstream,
            query,
        };
        let mut conn = PgConnection::connect(&db.maintenance_url())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to Postgres at {}: {e}", db.upstream));
        sqlx::query(AssertSqlSafe(format!(r#"CREATE DATABASE "{}""#, db.name)))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create database {}: {e}", db.name));
        let _ = conn.close().await;
        db
    }

    fn maintenance_url(&self) -> String {
        format!("{}{}/postgres{}", self.prefix, self.upstream, self.query)
    }

    /// The URL the server uses when it talks to Postgres directly.
    pub fn url(&self) -> String {
        format!(
            "{}{}/{}{}",
            self.prefix, self.upstream, self.name, self.query
        )
    }

    /// The URL the server uses when it talks to Postgres through a proxy on `port`.
    pub fn url_via(&self, port: u16) -> String {
        format!(
            "{}127.0.0.1:{port}/{}{}",
            self.prefix, self.name, self.query
        )
    }

    /// A small pool straight to the database (never through a proxy), for checks.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&self.url())
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var("FAULTS_KEEP_DB").is_ok_and(|v| v == "1") {
            eprintln!("faults: keeping database {}", self.name);
            return;
        }
        let url = self.maintenance_url();
        let sql = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name);
        // Drop runs inside the test's runtime; a thread with a runtime of its own may block.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                let dropped = async {
                    if let Ok(mut conn) = PgConnection::connect(&url).await {
                        let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await;
                        let _ = conn.close().await;
                    }
                };
                let _ = tokio::time::timeout(Duration::from_secs(10), dropped).await;
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls_split_into_their_parts() {
        assert_eq!(
            split_url("postgres://postgres@127.0.0.1:5432/quizroom"),
            (
                "postgres://postgres@".into(),
                "127.0.0.1:5432".into(),
                "quizroom".into(),
                "".into()
            )
        );
        assert_eq!(
            split_url("postgres://u:p@h:1/d?sslmode=disable"),
            (
                "postgres://u:p@".into(),
                "h:1".into(),
                "d".into(),
                "?sslmode=disable".into()
            )
        );
    }
}
