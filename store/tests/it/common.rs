//! Shared helpers: per-test databases and message fixtures.

use alloy_primitives::{keccak256, Address, Bytes, B256};
use ghostbridge_store::{NewMessage, Store, StoreConfig};
use std::{
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for this process and call.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, migrated database that can be opened several times (= several relayer processes).
pub struct TestDb {
    backend: Backend,
    path: Option<PathBuf>,
    schema: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let db = Self::unmigrated(backend).await;
        db.open().await.migrate().await.unwrap();
        db
    }

    /// A fresh database with no migration applied (to test a migration over existing rows).
    pub async fn unmigrated(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self {
                backend,
                path: Some(std::env::temp_dir().join(format!("{}.sqlite", unique("gbstore")))),
                schema: None,
            },
            Backend::Postgres => Self {
                backend,
                path: None,
                schema: Some(unique("gbstore")),
            },
        }
    }

    pub fn config(&self) -> StoreConfig {
        match self.backend {
            Backend::Sqlite => StoreConfig::new(self.path.as_ref().unwrap().to_str().unwrap())
                .with_max_connections(4),
            Backend::Postgres => StoreConfig::new(database_url())
                .with_pg_schema(self.schema.clone().unwrap())
                .with_max_connections(4),
        }
    }

    /// A new, independent pool on this database.
    pub async fn open(&self) -> Store {
        Store::connect_with(&self.config()).await.unwrap()
    }

    /// Drops the PostgreSQL schema (SQLite files go in `Drop`).
    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            let store = Store::connect_with(&StoreConfig::new(database_url()))
                .await
                .unwrap();
            if let Store::Postgres(pool) = &store {
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            store.close().await;
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// The source vault of the fixtures (locks); [`MINTER`] emits burns on the same chain.
pub const VAULT: Address = Address::repeat_byte(0xa1);
/// The source minter of the fixtures (burns).
pub const MINTER: Address = Address::repeat_byte(0xb2);

/// A lock `nonce` from [`VAULT`] on chain 1 to `dst_chain`.
pub fn message(dst_chain: u64, nonce: u64) -> NewMessage {
    message_from(VAULT, dst_chain, nonce)
}

/// A message `nonce` of `src_contract` on chain 1 to `dst_chain`, encoded like the real
/// 9-word `BridgeMessage` (version, src chain, dst chain, src contract, nonce, ...).
pub fn message_from(src_contract: Address, dst_chain: u64, nonce: u64) -> NewMessage {
    let mut encoded = vec![0u8; 288];
    encoded[31] = 1;
    encoded[56..64].copy_from_slice(&1u64.to_be_bytes());
    encoded[88..96].copy_from_slice(&dst_chain.to_be_bytes());
    encoded[108..128].copy_from_slice(src_contract.as_slice());
    encoded[152..160].copy_from_slice(&nonce.to_be_bytes());
    NewMessage {
        id: keccak256(&encoded),
        src_chain: 1,
        dst_chain,
        src_contract,
        nonce,
        encoded: Bytes::from(encoded),
    }
}

pub fn tx(n: u64) -> B256 {
    keccak256(n.to_be_bytes())
}

/// Generates `sqlite` and `postgres` `#[tokio::test]`s calling `$body(Backend)`.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::common::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::common::Backend::Postgres).await;
            }
        }
    )*};
}
pub(crate) use both_backends;
