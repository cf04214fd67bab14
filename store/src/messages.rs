//! The relayer's message lifecycle on `messages`: insert (`seen`), leasing, guarded transitions
//! (`seen → attested → submitted → confirmed` or `failed_permanently`), failures with backoff
//! and the status queries of `ghostbridge status` and the metrics.

use alloy_primitives::{B256, U256};
use core::time::Duration;

use crate::{
    backoff::{backoff_delay, jitter_seed},
    row::{message_columns, to_db, MessageRow, StateRow},
    store::{add_ms, begin_write, now_ms, on_pool},
    BackoffPolicy, InsertOutcome, MessageRecord, NewMessage, Result, Status, StatusCounts, Store,
    StoreError,
};

/// Claim query body shared by both backends; PostgreSQL appends `FOR UPDATE SKIP LOCKED` to the
/// inner select. `$1` relayer, `$2` lease expiry, `$3` now, `$4` dst chain, `$5` limit.
/// The inner `WHERE` repeats the partial index predicate of `messages_due` verbatim.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE messages SET lease_owner = $1, lease_expires_at = $2, \
             attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM messages \
               WHERE dst_chain = $4 AND status IN ('seen', 'attested', 'submitted') \
               AND next_attempt_at <= $3 \
               AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
               ORDER BY next_attempt_at LIMIT $5",
            $lock,
            ") RETURNING ",
            message_columns!()
        )
    };
}

/// Where the caller must hold a live lease and the message must be pending.
/// `$1` id, `$2` relayer, `$3` now.
macro_rules! leased_pending {
    () => {
        " WHERE id = $1 AND lease_owner = $2 AND lease_expires_at > $3 \
          AND status IN ('seen', 'attested', 'submitted')"
    };
}

/// Guarded transition statements (`$1` id, `$2` relayer, `$3` now), shared by the single
/// transitions (which append `RETURNING`) and their bulk forms.
macro_rules! to_attested_sql {
    () => {
        concat!(
            "UPDATE messages SET status = 'attested', attempts = 0, last_error = NULL, \
             updated_at = $3",
            leased_pending!(),
            " AND status = 'seen'"
        )
    };
}
/// `$4` tx hash, `$5` account nonce, `$6` fee.
macro_rules! to_submitted_sql {
    () => {
        concat!(
            "UPDATE messages SET \
             attempts = CASE WHEN status = 'submitted' THEN attempts ELSE 0 END, \
             status = 'submitted', tx_hash = $4, submitted_nonce = $5, submitted_fee = $6, \
             submitted_at = $3, last_error = NULL, updated_at = $3",
            leased_pending!(),
            " AND status IN ('attested', 'submitted')"
        )
    };
}
macro_rules! to_confirmed_sql {
    () => {
        concat!(
            "UPDATE messages SET status = 'confirmed', last_error = NULL, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $3",
            leased_pending!()
        )
    };
}

/// Runs the guarded `UPDATE` `$sql` (`$1` = id, further binds by `$bind`) for every id inside
/// one write transaction; evaluates to the ids whose row did not match the guard.
macro_rules! update_each {
    ($store:expr, $ids:expr, $sql:expr, |$q:ident| $bind:expr) => {{
        let mut missed = Vec::new();
        on_pool!($store, pool => {
            let mut tx = begin_write!($store, pool);
            for id in $ids {
                let $q = sqlx::query($sql).bind(id.as_slice());
                let done = $bind.execute(&mut *tx).await?;
                if done.rows_affected() != 1 {
                    missed.push(*id);
                }
            }
            tx.commit().await?;
        });
        Ok(missed)
    }};
}

impl Store {
    // ---------------------------------------------------------------- messages: insert

    /// Records a message observed on its source chain as `seen`, due immediately.
    /// Idempotent for the same message; refuses another message with the same
    /// `(dst chain, src chain, src contract, nonce)` ([`StoreError::DuplicateNonce`]). A lock
    /// (vault) and a burn (minter) with equal nonces are different messages.
    pub async fn insert_seen(&self, message: &NewMessage) -> Result<InsertOutcome> {
        let inserted = self
            .insert_seen_batch(core::slice::from_ref(message))
            .await?;
        Ok(if inserted == 1 {
            InsertOutcome::Inserted
        } else {
            InsertOutcome::AlreadyKnown
        })
    }

    /// [`Self::insert_seen`] for many messages in one transaction (all or nothing); returns how
    /// many were new.
    pub async fn insert_seen_batch(&self, messages: &[NewMessage]) -> Result<usize> {
        const INSERT: &str = "INSERT INTO messages \
            (id, src_chain, dst_chain, src_contract, nonce, encoded, status, attempts, \
             next_attempt_at, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, $6, 'seen', 0, $7, $7, $7) ON CONFLICT DO NOTHING";
        const EXISTING: &str = "SELECT id FROM messages \
            WHERE dst_chain = $1 AND src_chain = $2 AND src_contract = $3 AND nonce = $4";
        let now = now_ms();
        let mut inserted = 0usize;
        on_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            for m in messages {
                let done = sqlx::query(INSERT)
                    .bind(m.id.as_slice())
                    .bind(to_db(m.src_chain))
                    .bind(to_db(m.dst_chain))
                    .bind(m.src_contract.as_slice())
                    .bind(to_db(m.nonce))
                    .bind(m.encoded.as_ref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 1 {
                    inserted = inserted.saturating_add(1);
                    continue;
                }
                let existing: Option<Vec<u8>> = sqlx::query_scalar(EXISTING)
                    .bind(to_db(m.dst_chain))
                    .bind(to_db(m.src_chain))
                    .bind(m.src_contract.as_slice())
                    .bind(to_db(m.nonce))
                    .fetch_optional(&mut *tx)
                    .await?;
                match existing {
                    Some(id) if id.as_slice() != m.id.as_slice() => {
                        return Err(StoreError::DuplicateNonce {
                            src_chain: m.src_chain,
                            src_contract: m.src_contract,
                            dst_chain: m.dst_chain,
                            nonce: m.nonce,
                            existing: crate::row::b256("id", &id)?,
                            new: m.id,
                        });
                    }
                    // Same message again, or the id exists under other coordinates (an id is
                    // the hash of the content, so that would be the caller's bug; keep the
                    // first record).
                    _ => {}
                }
            }
            tx.commit().await?;
        });
        Ok(inserted)
    }

    // ---------------------------------------------------------------- messages: leasing

    /// Atomically leases up to `limit` due messages for `dst_chain` to `relayer_id` for
    /// `lease`, and returns them (oldest due first). Due: pending, `next_attempt_at` reached,
    /// and not under a live lease (an expired lease of a crashed relayer does not block).
    /// Each claim counts as one attempt.
    ///
    /// PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`,
    /// so concurrent relayers get disjoint batches without waiting on each other. SQLite: the
    /// same statement inside `BEGIN IMMEDIATE`.
    pub async fn claim_batch(
        &self,
        relayer_id: &str,
        dst_chain: u64,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<MessageRecord>> {
        let now = now_ms();
        let expires = add_ms(now, lease);
        let rows: Vec<MessageRow> = match self {
            Self::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(claim_sql!(""))
                    .bind(relayer_id)
                    .bind(expires)
                    .bind(now)
                    .bind(to_db(dst_chain))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows
            }
            Self::Postgres(pool) => {
                sqlx::query_as(claim_sql!(" FOR UPDATE SKIP LOCKED"))
                    .bind(relayer_id)
                    .bind(expires)
                    .bind(now)
                    .bind(to_db(dst_chain))
                    .bind(i64::from(limit))
                    .fetch_all(pool)
                    .await?
            }
        };
        let mut out = rows
            .into_iter()
            .map(MessageRecord::try_from)
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|m| (m.next_attempt_at_ms, m.src_chain, m.nonce));
        Ok(out)
    }

    /// Pushes the caller's live lease to `now + lease` (for a long confirmation wait).
    pub async fn extend_lease(
        &self,
        id: &B256,
        relayer_id: &str,
        lease: Duration,
    ) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(
            "UPDATE messages SET lease_expires_at = $4, updated_at = $3",
            leased_pending!(),
            " RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(add_ms(now, lease))
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, None).await
    }

    /// Gives the lease back without a status change; the message is due again after
    /// `retry_in` (e.g. "submitted, check the receipt later").
    pub async fn release(
        &self,
        id: &B256,
        relayer_id: &str,
        retry_in: Duration,
    ) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(
            "UPDATE messages SET lease_owner = NULL, lease_expires_at = NULL, \
             next_attempt_at = $4, updated_at = $3",
            leased_pending!(),
            " RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(add_ms(now, retry_in))
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, None).await
    }

    // ---------------------------------------------------------------- messages: transitions

    /// `seen → attested` (the attestations are stored). Needs the caller's live lease.
    pub async fn mark_attested(&self, id: &B256, relayer_id: &str) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(to_attested_sql!(), " RETURNING ", message_columns!());
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now)
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, Some(Status::Attested))
            .await
    }

    /// `attested → submitted`, or `submitted → submitted` for a replacement transaction.
    /// Record it BEFORE broadcasting: a relayer that takes over an expired lease then sees the
    /// transaction and checks its receipt instead of sending a second one.
    /// Needs the caller's live lease; the lease is kept.
    pub async fn mark_submitted(
        &self,
        id: &B256,
        relayer_id: &str,
        tx_hash: &B256,
        account_nonce: u64,
        fee: U256,
    ) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(to_submitted_sql!(), " RETURNING ", message_columns!());
        let fee = fee.to_be_bytes::<32>();
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now)
            .bind(tx_hash.as_slice()).bind(to_db(account_nonce)).bind(fee.as_slice())
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, Some(Status::Submitted))
            .await
    }

    /// Any pending status → `confirmed` (terminal). Releases the lease. Needs the caller's live
    /// lease, so a message is confirmed exactly once.
    pub async fn mark_confirmed(&self, id: &B256, relayer_id: &str) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(to_confirmed_sql!(), " RETURNING ", message_columns!());
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now)
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, Some(Status::Confirmed))
            .await
    }

    /// [`Self::mark_attested`] for many messages in ONE transaction (one commit instead of one
    /// per message: at batch sizes the per-commit sync dominates). Returns the ids it could not
    /// move (lease lost, or not `seen`); the others moved.
    pub async fn mark_attested_many(&self, ids: &[B256], relayer_id: &str) -> Result<Vec<B256>> {
        let sql = to_attested_sql!();
        let now = now_ms();
        update_each!(self, ids, sql, |q| q.bind(relayer_id).bind(now))
    }

    /// [`Self::mark_submitted`] for the messages of one transaction (a batch release), in one
    /// database transaction. Returns the ids it could not move; the caller must not broadcast
    /// unless that is empty.
    pub async fn mark_submitted_many(
        &self,
        ids: &[B256],
        relayer_id: &str,
        tx_hash: &B256,
        account_nonce: u64,
        fee: U256,
    ) -> Result<Vec<B256>> {
        let sql = to_submitted_sql!();
        let now = now_ms();
        let fee = fee.to_be_bytes::<32>();
        update_each!(self, ids, sql, |q| q
            .bind(relayer_id)
            .bind(now)
            .bind(tx_hash.as_slice())
            .bind(to_db(account_nonce))
            .bind(fee.as_slice()))
    }

    /// [`Self::mark_confirmed`] for many messages in one transaction. Returns the ids it could
    /// not move (lease lost: another relayer holds them and will confirm them itself).
    pub async fn mark_confirmed_many(&self, ids: &[B256], relayer_id: &str) -> Result<Vec<B256>> {
        let sql = to_confirmed_sql!();
        let now = now_ms();
        update_each!(self, ids, sql, |q| q.bind(relayer_id).bind(now))
    }

    /// Any pending status → `failed_permanently` with `reason` (must be non-empty).
    /// Releases the lease. Needs the caller's live lease.
    pub async fn fail_permanently(
        &self,
        id: &B256,
        relayer_id: &str,
        reason: &str,
    ) -> Result<MessageRecord> {
        if reason.trim().is_empty() {
            return Err(StoreError::MissingReason(*id));
        }
        let now = now_ms();
        let sql = concat!(
            "UPDATE messages SET status = 'failed_permanently', failure_reason = $4, \
             last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $3",
            leased_pending!(),
            " RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(reason)
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, Some(Status::FailedPermanently))
            .await
    }

    /// Reports a failed attempt: stores `error`, releases the lease and schedules the next try
    /// with [`backoff_delay`] (persisted as `next_attempt_at`). Once the message has used
    /// `policy.max_attempts` attempts it becomes `failed_permanently`, with the last error in
    /// the reason: retries are bounded and never silently parked.
    pub async fn record_failure(
        &self,
        id: &B256,
        relayer_id: &str,
        error: &str,
        policy: &BackoffPolicy,
    ) -> Result<MessageRecord> {
        let current = self.message(id).await?.ok_or(StoreError::NotFound(*id))?;
        if current.attempts >= policy.max_attempts {
            let reason = format!(
                "gave up after {} attempts; last error: {error}",
                current.attempts
            );
            return self.fail_permanently(id, relayer_id, &reason).await;
        }
        let now = now_ms();
        let delay = backoff_delay(policy, current.attempts, jitter_seed(id, current.attempts));
        // `attempts = $6` makes this a compare-and-set against the record read above.
        let sql = concat!(
            "UPDATE messages SET last_error = $4, next_attempt_at = $5, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $3",
            leased_pending!(),
            " AND attempts = $6 RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(error)
            .bind(add_ms(now, delay)).bind(i64::from(current.attempts))
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, None).await
    }

    /// Reports an attempt the destination refused only FOR NOW, with a known time it may pass
    /// (a per-token release window still spent until it ends, a rate-limit bucket still
    /// refilling): stores `reason`, releases the lease and makes the message due again after
    /// `retry_in`, and gives the claim's attempt back, so waiting for a window (24 h) never
    /// counts toward `max_attempts` (the message is not failed for traffic it cannot help).
    /// Needs the caller's live lease.
    pub async fn defer(
        &self,
        id: &B256,
        relayer_id: &str,
        reason: &str,
        retry_in: Duration,
    ) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(
            "UPDATE messages SET last_error = $4, next_attempt_at = $5, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $3",
            leased_pending!(),
            " RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(reason)
            .bind(add_ms(now, retry_in))
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, None).await
    }

    /// Reports an attempt that ended in a FINAL error: the destination contract refuses this
    /// release for a reason retrying cannot fix (unknown route, a recipient that refuses the
    /// transfer). Counts it in `final_attempts` (never reset by progress; transient failures
    /// go to [`Self::record_failure`] and never count here). Below `max_final_attempts` the
    /// lease is released and the next try scheduled with [`backoff_delay`] over the final
    /// attempts; at `max_final_attempts` the message becomes `failed_permanently` with the
    /// error in its reason, so it is no longer claimed (an operator may
    /// [`Self::redeliver`] it once the cause is fixed). Needs the caller's live lease.
    pub async fn record_final_failure(
        &self,
        id: &B256,
        relayer_id: &str,
        error: &str,
        policy: &BackoffPolicy,
        max_final_attempts: u32,
    ) -> Result<MessageRecord> {
        let current = self.message(id).await?.ok_or(StoreError::NotFound(*id))?;
        let done = current.final_attempts.saturating_add(1);
        let now = now_ms();
        // `final_attempts = $6` makes both statements a compare-and-set against the read above.
        if done >= max_final_attempts {
            let reason = format!(
                "final error on {done} of {max_final_attempts} attempts (fix the cause, then \
                 `ghostbridge redeliver`): {error}"
            );
            let sql = concat!(
                "UPDATE messages SET status = 'failed_permanently', failure_reason = $4, \
                 last_error = $4, final_attempts = $5, lease_owner = NULL, \
                 lease_expires_at = NULL, updated_at = $3",
                leased_pending!(),
                " AND final_attempts = $6 RETURNING ",
                message_columns!()
            );
            let row = on_pool!(self, pool => sqlx::query_as(sql)
                .bind(id.as_slice()).bind(relayer_id).bind(now).bind(reason.as_str())
                .bind(i64::from(done)).bind(i64::from(current.final_attempts))
                .fetch_optional(pool).await?);
            return self
                .finish_transition(row, id, relayer_id, Some(Status::FailedPermanently))
                .await;
        }
        let delay = backoff_delay(policy, done, jitter_seed(id, done));
        let last_error = format!("final error ({done} of {max_final_attempts}): {error}");
        let sql = concat!(
            "UPDATE messages SET last_error = $4, final_attempts = $5, next_attempt_at = $7, \
             lease_owner = NULL, lease_expires_at = NULL, updated_at = $3",
            leased_pending!(),
            " AND final_attempts = $6 RETURNING ",
            message_columns!()
        );
        let row = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(relayer_id).bind(now).bind(last_error.as_str())
            .bind(i64::from(done)).bind(i64::from(current.final_attempts))
            .bind(add_ms(now, delay))
            .fetch_optional(pool).await?);
        self.finish_transition(row, id, relayer_id, None).await
    }

    /// Operator action: `failed_permanently → seen`, due now, with its attempt counters, reason
    /// and lease cleared, so a relayer delivers it again once the cause is fixed. Safe against
    /// double delivery: relayers check the destination's consumed mark before sending, and the
    /// contract refuses a second release. Refuses any other status
    /// ([`StoreError::InvalidTransition`]).
    pub async fn redeliver(&self, id: &B256) -> Result<MessageRecord> {
        let now = now_ms();
        let sql = concat!(
            "UPDATE messages SET status = 'seen', failure_reason = NULL, last_error = NULL, \
             attempts = 0, final_attempts = 0, next_attempt_at = $2, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $2 \
             WHERE id = $1 AND status = 'failed_permanently' RETURNING ",
            message_columns!()
        );
        let row: Option<MessageRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).bind(now).fetch_optional(pool).await?);
        if let Some(row) = row {
            return MessageRecord::try_from(row);
        }
        let current = self.message(id).await?.ok_or(StoreError::NotFound(*id))?;
        Err(StoreError::InvalidTransition {
            id: *id,
            from: current.status,
            to: Status::Seen,
        })
    }

    /// Turns the result of a guarded `UPDATE … RETURNING` into the record, or explains the
    /// refusal: not found, wrong status for `to`, or no live lease.
    async fn finish_transition(
        &self,
        row: Option<MessageRow>,
        id: &B256,
        relayer_id: &str,
        to: Option<Status>,
    ) -> Result<MessageRecord> {
        if let Some(row) = row {
            return MessageRecord::try_from(row);
        }
        let state: Option<StateRow> = on_pool!(self, pool => sqlx::query_as(
            "SELECT status, lease_owner FROM messages WHERE id = $1")
            .bind(id.as_slice()).fetch_optional(pool).await?);
        let state = state.ok_or(StoreError::NotFound(*id))?;
        let from = state.status()?;
        let allowed = match to {
            Some(Status::Attested) => from == Status::Seen,
            Some(Status::Submitted) => matches!(from, Status::Attested | Status::Submitted),
            _ => from.is_pending(),
        };
        if !allowed {
            return Err(StoreError::InvalidTransition {
                id: *id,
                from,
                to: to.unwrap_or(from),
            });
        }
        Err(StoreError::LeaseNotHeld {
            id: *id,
            relayer: relayer_id.to_owned(),
            holder: state.lease_owner,
        })
    }

    // ---------------------------------------------------------------- messages: queries

    /// One message by id (`ghostbridge status <message id>`).
    pub async fn message(&self, id: &B256) -> Result<Option<MessageRecord>> {
        let sql = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE id = $1"
        );
        let row: Option<MessageRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(id.as_slice()).fetch_optional(pool).await?);
        row.map(MessageRecord::try_from).transpose()
    }

    /// Messages whose last submission is `tx_hash` (`ghostbridge status <tx hash>`; a batch
    /// release carries several).
    pub async fn messages_by_tx(&self, tx_hash: &B256) -> Result<Vec<MessageRecord>> {
        let sql = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE tx_hash = $1 ORDER BY src_chain, nonce"
        );
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(tx_hash.as_slice()).fetch_all(pool).await?);
        rows.into_iter().map(MessageRecord::try_from).collect()
    }

    /// `ghostbridge status <hash>`: the message with this id, or else the messages whose last
    /// submission is this transaction hash. Empty if neither is known.
    pub async fn lookup(&self, hash: &B256) -> Result<Vec<MessageRecord>> {
        match self.message(hash).await? {
            Some(record) => Ok(vec![record]),
            None => self.messages_by_tx(hash).await,
        }
    }

    /// Messages in `failed_permanently`, most recently failed first, at most `limit`
    /// (`ghostbridge status`).
    pub async fn failed_messages(&self, limit: u32) -> Result<Vec<MessageRecord>> {
        let sql = concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE status = 'failed_permanently' ORDER BY updated_at DESC, id \
              LIMIT $1"
        );
        let rows: Vec<MessageRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(i64::from(limit)).fetch_all(pool).await?);
        rows.into_iter().map(MessageRecord::try_from).collect()
    }

    /// Counters by status, retrying count and oldest pending creation time (metrics).
    pub async fn status_counts(&self) -> Result<StatusCounts> {
        const BY_STATUS: &str = "SELECT status, COUNT(*) FROM messages GROUP BY status";
        const RETRYING: &str = "SELECT COUNT(*) FROM messages \
            WHERE status IN ('seen', 'attested', 'submitted') AND last_error IS NOT NULL";
        const OLDEST: &str = "SELECT MIN(created_at) FROM messages \
            WHERE status IN ('seen', 'attested', 'submitted')";
        let (by_status, retrying, oldest): (Vec<(String, i64)>, i64, Option<i64>) = on_pool!(self, pool => (
            sqlx::query_as(BY_STATUS).fetch_all(pool).await?,
            sqlx::query_scalar(RETRYING).fetch_one(pool).await?,
            sqlx::query_scalar(OLDEST).fetch_one(pool).await?,
        ));
        let mut counts = StatusCounts {
            retrying: u64::try_from(retrying).unwrap_or(0),
            oldest_pending_created_at_ms: oldest.map(crate::row::time_from_db),
            ..StatusCounts::default()
        };
        for (status, n) in by_status {
            let n = u64::try_from(n).unwrap_or(0);
            match status.parse::<Status>()? {
                Status::Seen => counts.seen = n,
                Status::Attested => counts.attested = n,
                Status::Submitted => counts.submitted = n,
                Status::Confirmed => counts.confirmed = n,
                Status::FailedPermanently => counts.failed_permanently = n,
            }
        }
        Ok(counts)
    }
}
