//! The validator's own journal: the messages it admitted (re-derived from their source chain
//! past its confirmation depth) and the batch roots it signed. It shares no rows with the
//! relayer's lifecycle (`messages`, `batches`), so a validator and a relayer may use one
//! database without either reading the other's rows as its own.
//!
//! Tables (migration 0004): `admitted_messages` (one content per (src chain, src contract,
//! nonce), ever), `signed_batches` + `signed_batch_members`. Its follower's position is in
//! `admission_cursors` (see [`Store::admission_cursor`]).

use alloy_primitives::B256;

use crate::{
    batches::SIGNED_BATCHES,
    row::{to_db, AdmittedRow},
    store::{begin_write, now_ms, on_pool},
    Admission, AdmittedMessage, Result, Store, StoreError,
};

impl Store {
    /// Admits `messages` (re-derived by the validator's follower) in ONE transaction, all or
    /// nothing; returns how many were new. Call it, and await it, before anything may be signed
    /// for them: a message is signable once [`Self::admitted`] returns it.
    /// - a message not admitted before → journaled;
    /// - the same message again (a rescan) → nothing changes;
    /// - another message under an admitted (src chain, src contract, nonce) →
    ///   [`StoreError::ConflictingAdmission`], and nothing of the batch is written: the source
    ///   chain now shows other content than what may already have been signed;
    /// - an admitted id under other coordinates → [`StoreError::AdmissionIdReused`] (an id is
    ///   the hash of the content: the caller mixed up two messages).
    pub async fn admit(&self, messages: &[Admission]) -> Result<usize> {
        const INSERT: &str = "INSERT INTO admitted_messages \
            (id, src_chain, src_contract, nonce, dst_chain, encoded, admitted_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
        const EXISTING: &str = "SELECT id FROM admitted_messages \
            WHERE src_chain = $1 AND src_contract = $2 AND nonce = $3";
        let now = now_ms();
        let mut admitted = 0usize;
        on_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            for m in messages {
                let done = sqlx::query(INSERT)
                    .bind(m.id.as_slice())
                    .bind(to_db(m.src_chain))
                    .bind(m.src_contract.as_slice())
                    .bind(to_db(m.nonce))
                    .bind(to_db(m.dst_chain))
                    .bind(m.encoded.as_ref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 1 {
                    admitted = admitted.saturating_add(1);
                    continue;
                }
                let existing: Option<Vec<u8>> = sqlx::query_scalar(EXISTING)
                    .bind(to_db(m.src_chain))
                    .bind(m.src_contract.as_slice())
                    .bind(to_db(m.nonce))
                    .fetch_optional(&mut *tx)
                    .await?;
                // Returning drops `tx` uncommitted: nothing of the batch is written.
                match existing {
                    Some(id) if id.as_slice() == m.id.as_slice() => {}
                    Some(id) => {
                        return Err(StoreError::ConflictingAdmission {
                            src_chain: m.src_chain,
                            src_contract: m.src_contract,
                            nonce: m.nonce,
                            existing: crate::row::b256("id", &id)?,
                            new: m.id,
                        });
                    }
                    None => {
                        return Err(StoreError::AdmissionIdReused {
                            id: m.id,
                            src_chain: m.src_chain,
                            src_contract: m.src_contract,
                            nonce: m.nonce,
                        });
                    }
                }
            }
            tx.commit().await?;
        });
        Ok(admitted)
    }

    /// The admitted message with this id, or `None` if this validator has not admitted it
    /// (unknown, or not yet past its confirmation depth).
    pub async fn admitted(&self, id: &B256) -> Result<Option<AdmittedMessage>> {
        const SQL: &str = "SELECT id, src_chain, src_contract, nonce, dst_chain, encoded, \
            admitted_at FROM admitted_messages WHERE id = $1";
        let row: Option<AdmittedRow> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(id.as_slice()).fetch_optional(pool).await?);
        row.map(AdmittedMessage::try_from).transpose()
    }

    /// Journals a batch root (Merkle root over `members`, in leaf order, all admitted) that the
    /// validator signs for `dst_chain`; call it before signing. Returns `false` if the root was
    /// already journaled (members are then left as they were: a root commits to them). A member
    /// that is not admitted is refused by the database (foreign key), and nothing is written.
    pub async fn put_signed_batch(
        &self,
        root: &B256,
        dst_chain: u64,
        members: &[B256],
    ) -> Result<bool> {
        self.put_batch_in(SIGNED_BATCHES, root, dst_chain, members)
            .await
    }

    /// Member ids of a batch root this validator signed, in leaf order, or `None` if it signed
    /// no such root.
    pub async fn signed_batch_members(&self, root: &B256) -> Result<Option<Vec<B256>>> {
        self.batch_members_in(SIGNED_BATCHES, root).await
    }

    /// Roots of the batches this validator signed that contain `message_id`.
    pub async fn signed_batches_containing(&self, message_id: &B256) -> Result<Vec<B256>> {
        self.batches_containing_in(SIGNED_BATCHES, message_id).await
    }
}
