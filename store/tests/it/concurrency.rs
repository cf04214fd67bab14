//! Two relayer processes (two independent pools) draining one database concurrently.
//!
//! Checks: a message is leased to one relayer at a time, submitted once and confirmed once,
//! and the work of a relayer that crashed mid-batch is picked up after its lease expires.

use crate::common::{both_backends, message, tx, Backend, TestDb};
use alloy_primitives::{B256, U256};
use ghostbridge_store::{BackoffPolicy, Status, Store};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

const MESSAGES: u64 = 2_000;
const DST: u64 = 10;
const LEASE: Duration = Duration::from_secs(30);

both_backends!(two_relayers_never_double_submit);

/// What the relayers did, as seen by an outside observer.
#[derive(Default)]
struct Ledger {
    /// Message → relayer currently working on it.
    holders: Mutex<HashMap<B256, &'static str>>,
    /// Message → number of broadcast transactions.
    submissions: Mutex<HashMap<B256, u32>>,
    /// Message → number of successful `mark_confirmed`.
    confirmations: Mutex<HashMap<B256, u32>>,
    confirmed: AtomicUsize,
}

impl Ledger {
    fn take(&self, id: B256, relayer: &'static str) {
        if let Some(other) = self.holders.lock().unwrap().insert(id, relayer) {
            panic!("{id} claimed by {relayer} while {other} holds it");
        }
    }

    /// Called BEFORE the store drops the lease, so a new holder never races this entry.
    fn give_back(&self, id: B256) {
        self.holders.lock().unwrap().remove(&id).unwrap();
    }

    fn bump(map: &Mutex<HashMap<B256, u32>>, id: B256) {
        *map.lock().unwrap().entry(id).or_default() += 1;
    }
}

async fn relayer(store: Store, name: &'static str, ledger: Arc<Ledger>) -> usize {
    let retry_now = BackoffPolicy {
        base: Duration::ZERO,
        max: Duration::ZERO,
        max_attempts: 20,
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut done = 0;
    while ledger.confirmed.load(Ordering::SeqCst) < MESSAGES as usize {
        assert!(Instant::now() < deadline, "{name}: not drained in time");
        let batch = store.claim_batch(name, DST, 25, LEASE).await.unwrap();
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        for m in batch {
            ledger.take(m.id, name);
            // Transient failure on the first attempt of 1/8 of the messages.
            if m.status == Status::Seen && m.id[0] % 8 == 0 && m.attempts == 1 {
                ledger.give_back(m.id);
                store
                    .record_failure(&m.id, name, "rpc timeout", &retry_now)
                    .await
                    .unwrap();
                continue;
            }
            if m.status == Status::Seen {
                store.mark_attested(&m.id, name).await.unwrap();
            }
            if m.status != Status::Submitted {
                // Write-ahead: record, then broadcast.
                store
                    .mark_submitted(&m.id, name, &tx(m.nonce), m.nonce, U256::from(1))
                    .await
                    .unwrap();
                Ledger::bump(&ledger.submissions, m.id);
                // 1/10: leave the receipt check to a later claim (possibly the other relayer).
                if m.id[1] % 10 == 0 {
                    ledger.give_back(m.id);
                    store.release(&m.id, name, Duration::ZERO).await.unwrap();
                    continue;
                }
            }
            ledger.give_back(m.id);
            store.mark_confirmed(&m.id, name).await.unwrap();
            Ledger::bump(&ledger.confirmations, m.id);
            ledger.confirmed.fetch_add(1, Ordering::SeqCst);
            done += 1;
        }
    }
    done
}

async fn two_relayers_never_double_submit(backend: Backend) {
    let db = TestDb::new(backend).await;
    let seed = db.open().await;
    let messages: Vec<_> = (1..=MESSAGES).map(|n| message(DST, n)).collect();
    for chunk in messages.chunks(500) {
        seed.insert_seen_batch(chunk).await.unwrap();
    }
    // A third relayer claims 50 messages, attests some, and crashes.
    let crashed = seed
        .claim_batch("crashed", DST, 50, Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(crashed.len(), 50);
    for m in &crashed[..20] {
        seed.mark_attested(&m.id, "crashed").await.unwrap();
    }

    let ledger = Arc::new(Ledger::default());
    let started = Instant::now();
    let a = tokio::spawn(relayer(db.open().await, "relayer-a", ledger.clone()));
    let b = tokio::spawn(relayer(db.open().await, "relayer-b", ledger.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let elapsed = started.elapsed();
    eprintln!("{backend:?}: {MESSAGES} messages drained in {elapsed:?} (a confirmed {a}, b {b})");

    assert_eq!(a + b, MESSAGES as usize);
    assert!(
        a > 0 && b > 0,
        "both relayers should get work: a {a}, b {b}"
    );
    {
        let submissions = ledger.submissions.lock().unwrap();
        let confirmations = ledger.confirmations.lock().unwrap();
        for m in &messages {
            assert_eq!(submissions.get(&m.id), Some(&1), "{} submissions", m.id);
            assert_eq!(confirmations.get(&m.id), Some(&1), "{} confirmations", m.id);
        }
    }
    assert!(ledger.holders.lock().unwrap().is_empty());
    let counts = seed.status_counts().await.unwrap();
    assert_eq!(counts.confirmed, MESSAGES);
    assert_eq!(counts.oldest_pending_created_at_ms, None);
    // The crashed relayer's messages were finished by the others.
    for m in &crashed {
        let rec = seed.message(&m.id).await.unwrap().unwrap();
        assert_eq!(rec.status, Status::Confirmed);
        assert!(rec.lease.is_none());
    }
    db.cleanup().await;
}
