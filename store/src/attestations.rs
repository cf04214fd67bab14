//! Attestations (validators' signatures per message or batch root) and the relayer's batches
//! (root → member ids).

use alloy_primitives::B256;

use crate::{
    batches::RELAYER_BATCHES,
    row::{to_db, AttestationRow},
    store::{now_ms, on_pool},
    AttestationRecord, AttestationSubject, Result, Store,
};

impl Store {
    // ---------------------------------------------------------------- attestations, batches

    /// Stores one validator's signatures; returns `false` if that validator's attestation for
    /// this subject and epoch was already stored (the first one is kept).
    pub async fn put_attestation(&self, a: &AttestationRecord) -> Result<bool> {
        const SQL: &str = "INSERT INTO attestations \
            (subject_kind, subject, epoch, validator, ecdsa_sig, mldsa_sig, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
        let done = on_pool!(self, pool => sqlx::query(SQL)
            .bind(a.subject.kind()).bind(a.subject.hash().as_slice()).bind(to_db(a.epoch))
            .bind(a.validator.as_slice()).bind(a.ecdsa_sig.as_ref()).bind(a.mldsa_sig.as_ref())
            .bind(now_ms())
            .execute(pool).await?.rows_affected());
        Ok(done == 1)
    }

    /// Attestations stored for `subject` in `epoch`, by ascending validator address.
    pub async fn attestations(
        &self,
        subject: &AttestationSubject,
        epoch: u64,
    ) -> Result<Vec<AttestationRecord>> {
        const SQL: &str = "SELECT subject_kind, subject, epoch, validator, ecdsa_sig, mldsa_sig \
            FROM attestations WHERE subject_kind = $1 AND subject = $2 AND epoch = $3 \
            ORDER BY validator";
        let rows: Vec<AttestationRow> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(subject.kind()).bind(subject.hash().as_slice()).bind(to_db(epoch))
            .fetch_all(pool).await?);
        rows.into_iter().map(AttestationRecord::try_from).collect()
    }

    /// Records a batch (Merkle root over `members`, in leaf order). Returns `false` if the root
    /// was already stored (members are then left as they were: a root commits to them).
    pub async fn put_batch(&self, root: &B256, dst_chain: u64, members: &[B256]) -> Result<bool> {
        self.put_batch_in(RELAYER_BATCHES, root, dst_chain, members)
            .await
    }

    /// Member message ids of a batch in leaf order, or `None` if the root is unknown.
    pub async fn batch_members(&self, root: &B256) -> Result<Option<Vec<B256>>> {
        self.batch_members_in(RELAYER_BATCHES, root).await
    }

    /// Roots of the batches that contain `message_id`.
    pub async fn batches_containing(&self, message_id: &B256) -> Result<Vec<B256>> {
        self.batches_containing_in(RELAYER_BATCHES, message_id)
            .await
    }
}
