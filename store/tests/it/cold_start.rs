//! Cold start over 1,000,000 past messages (SQLite). Ignored by default: it writes a ~400 MB
//! file. Run with
//! `cargo test --release -p ghostbridge-store --test it cold_start -- --ignored --nocapture`.

use crate::common::{message, Backend, TestDb};
use ghostbridge_store::Store;
use std::time::{Duration, Instant};

const PAST: u64 = 1_000_000;
const PENDING: u64 = 10_000;
const DST: u64 = 10;
const RUNS: usize = 11;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes 1M rows (~1 min); run explicitly, see store/README.md"]
async fn cold_start_over_a_million_messages() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.open().await;
    let fill = Instant::now();
    let mut nonce = 1;
    while nonce <= PAST {
        let batch: Vec<_> = (nonce..nonce + 10_000).map(|n| message(DST, n)).collect();
        store.insert_seen_batch(&batch).await.unwrap();
        nonce += 10_000;
    }
    // All but the newest PENDING messages are history.
    let Store::Sqlite(pool) = &store else {
        unreachable!()
    };
    sqlx::query("UPDATE messages SET status = 'confirmed' WHERE nonce <= $1")
        .bind(i64::try_from(PAST - PENDING).unwrap())
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await
        .unwrap();
    store.close().await;
    eprintln!("filled {PAST} rows in {:?}", fill.elapsed());

    let mut times = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        let store = Store::connect_with(&db.config()).await.unwrap();
        store.migrate().await.unwrap();
        let claimed = store
            .claim_batch(&format!("r{run}"), DST, 100, Duration::from_secs(60))
            .await
            .unwrap();
        let elapsed = t.elapsed();
        assert_eq!(claimed.len(), 100);
        let counts = store.status_counts().await.unwrap();
        assert_eq!(counts.confirmed, PAST - PENDING);
        store.close().await;
        times.push(elapsed);
    }
    times.sort();
    let median: Duration = times[RUNS / 2];
    eprintln!("open+migrate+first claim over {PAST} rows: median {median:?}, all {times:?}");
    assert!(
        median < Duration::from_secs(1),
        "cold start too slow: {median:?}"
    );
}
