//! [`Store`]: connection and migrations, and the helpers every query module uses (`on_pool!`,
//! `begin_write!`, the clock). The queries live by responsibility: the relayer's message
//! lifecycle in `messages`, attestations and the relayer's batches in `attestations`, the
//! validator's admission journal in `journal`, scan cursors in `cursors`.

use core::{str::FromStr, time::Duration};
use sqlx::{
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
    ConnectOptions, Connection,
};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{backoff::duration_ms, Result, StoreError};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs `$body` with `$pool` bound to whichever pool the store holds. The body is compiled once
/// per backend, so the runtime query API type-checks against each driver.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Sqlite($pool) => $body,
            $crate::Store::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Begins a write transaction: `BEGIN IMMEDIATE` on SQLite (take the write lock up front, so
/// the busy timeout applies instead of a deadlock on lock upgrade), plain `BEGIN` on PostgreSQL.
macro_rules! begin_write {
    ($store:expr, $pool:ident) => {
        match $store {
            $crate::Store::Sqlite(_) => $pool.begin_with("BEGIN IMMEDIATE").await?,
            $crate::Store::Postgres(_) => $pool.begin().await?,
        }
    };
}
pub(crate) use begin_write;

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// `postgres://…` / `postgresql://…` for PostgreSQL; `sqlite:…` or a plain file path for
    /// SQLite (the file is created if missing).
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// PostgreSQL only: schema to create (if missing) and use as `search_path`, so several
    /// deployments or tests can share one database. Letters, digits and `_` only.
    pub pg_schema: Option<String>,
    /// How long to wait for a connection, and (SQLite) for the write lock.
    pub busy_timeout: Duration,
}

impl StoreConfig {
    /// Defaults for `url`: 8 connections, no schema, 10 s busy timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            pg_schema: None,
            busy_timeout: Duration::from_secs(10),
        }
    }

    /// Use this PostgreSQL schema.
    pub fn with_pg_schema(mut self, schema: impl Into<String>) -> Self {
        self.pg_schema = Some(schema.into());
        self
    }

    /// Set the pool size.
    pub const fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres://") || self.url.starts_with("postgresql://")
    }
}

/// Handle to the relayer/validator state; cheap to clone (pools are shared).
#[derive(Clone, Debug)]
pub enum Store {
    /// Embedded SQLite file (single host; several processes may share the file).
    Sqlite(SqlitePool),
    /// PostgreSQL (several relayer instances share work through leases).
    Postgres(PgPool),
}

impl Store {
    /// Connects with default settings and applies the migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect_with(&StoreConfig::new(url)).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect_with(config: &StoreConfig) -> Result<Self> {
        if config.is_postgres() {
            connect_postgres(config).await.map(Self::Postgres)
        } else {
            connect_sqlite(config).await.map(Self::Sqlite)
        }
    }

    /// Applies the embedded numbered migrations of this backend (idempotent). Several processes
    /// may start on a fresh database at once: one applies, the others wait and find it done.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite(pool) => {
                // sqlx takes no lock for SQLite migrations (PostgreSQL gets an advisory lock), so
                // two starters would both apply a migration and one would fail half-way. One
                // exclusive transaction around the whole run serializes them; the others wait
                // out the busy timeout, then see every migration applied.
                let mut tx = pool.begin_with("BEGIN EXCLUSIVE").await?;
                SQLITE_MIGRATIONS.run_direct(&mut *tx).await?;
                tx.commit().await?;
            }
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub const fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

async fn connect_sqlite(config: &StoreConfig) -> Result<SqlitePool> {
    let options = if config.url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(&config.url)?
    } else {
        SqliteConnectOptions::new().filename(&config.url)
    };
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(config.busy_timeout)
        .foreign_keys(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(config.max_connections.max(1))
        .acquire_timeout(config.busy_timeout)
        .connect_with(options)
        .await?)
}

async fn connect_postgres(config: &StoreConfig) -> Result<PgPool> {
    let mut options = PgConnectOptions::from_str(&config.url)?;
    if let Some(schema) = &config.pg_schema {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !schema.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(StoreError::InvalidConfig(format!(
                "pg_schema {schema:?}: use 1-63 letters, digits or '_', not starting with a digit"
            )));
        }
        let mut conn = options.connect().await?;
        let created = sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&mut conn)
            .await;
        conn.close().await?;
        if let Err(e) = created {
            // A concurrent `CREATE SCHEMA IF NOT EXISTS` may lose the race: the schema exists.
            let raced = matches!(&e, sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("23505" | "42P06")));
            if !raced {
                return Err(e.into());
            }
        }
        options = options.options([("search_path", schema.as_str())]);
    }
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections.max(1))
        .acquire_timeout(config.busy_timeout)
        .connect_with(options)
        .await?)
}

/// Wall-clock unix ms. All lease and schedule times come from the daemon's clock; relayers
/// sharing a PostgreSQL database need synchronized clocks (NTP), and leases should be long
/// compared with the skew.
pub(crate) fn now_ms() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    i64::try_from(ms).unwrap_or(i64::MAX)
}

pub(crate) fn add_ms(now: i64, d: Duration) -> i64 {
    now.saturating_add(i64::try_from(duration_ms(d)).unwrap_or(i64::MAX))
}
