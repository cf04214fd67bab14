//! Several daemons starting at once on a fresh database (a devnet, a host reboot): each applies
//! the migrations, and none may fail because another got there first.

use crate::common::{message, Backend, TestDb};

const STARTERS: usize = 4;
const ROUNDS: usize = 8;

async fn concurrent_first_migrations_all_succeed(backend: Backend) {
    for round in 0..ROUNDS {
        let db = TestDb::unmigrated(backend).await;
        let mut stores = Vec::new();
        for _ in 0..STARTERS {
            stores.push(db.open().await);
        }
        // Independent pools, as separate processes have: SQLite's file locks are what they share.
        let starts: Vec<_> = stores
            .iter()
            .cloned()
            .map(|store| tokio::spawn(async move { store.migrate().await }))
            .collect();
        for (i, start) in starts.into_iter().enumerate() {
            if let Err(e) = start.await.unwrap() {
                panic!("round {round}, starter {i} of {STARTERS}: {e}");
            }
        }
        // The schema is whole: a message stored through one pool is read through another.
        let m = message(1, 1);
        stores[0].insert_seen(&m).await.unwrap();
        assert!(stores[STARTERS - 1].message(&m.id).await.unwrap().is_some());
        for store in &stores {
            store.close().await;
        }
        db.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_first_migrations_all_succeed() {
    concurrent_first_migrations_all_succeed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_first_migrations_all_succeed() {
    concurrent_first_migrations_all_succeed(Backend::Postgres).await;
}
