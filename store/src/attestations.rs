//! Attestations (validators' signatures per message or batch root) and the relayer's batches
//! (root → member ids).

use alloy_primitives::B256;

use crate::{
    row::{to_db, AttestationRow},
    store::{begin_write, now_ms, on_pool},
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
        const BATCH: &str = "INSERT INTO batches (root, dst_chain, created_at) \
            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
        const MEMBER: &str =
            "INSERT INTO batch_members (root, position, message_id) VALUES ($1, $2, $3)";
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let done = sqlx::query(BATCH).bind(root.as_slice()).bind(to_db(dst_chain)).bind(now)
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            for (position, id) in (0i64..).zip(members) {
                sqlx::query(MEMBER).bind(root.as_slice()).bind(position).bind(id.as_slice())
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Member message ids of a batch in leaf order, or `None` if the root is unknown.
    pub async fn batch_members(&self, root: &B256) -> Result<Option<Vec<B256>>> {
        const EXISTS: &str = "SELECT COUNT(*) FROM batches WHERE root = $1";
        const MEMBERS: &str =
            "SELECT message_id FROM batch_members WHERE root = $1 ORDER BY position";
        let (exists, ids): (i64, Vec<Vec<u8>>) = on_pool!(self, pool => (
            sqlx::query_scalar(EXISTS).bind(root.as_slice()).fetch_one(pool).await?,
            sqlx::query_scalar(MEMBERS).bind(root.as_slice()).fetch_all(pool).await?,
        ));
        if exists == 0 {
            return Ok(None);
        }
        ids.iter()
            .map(|id| crate::row::b256("message_id", id))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Roots of the batches that contain `message_id`.
    pub async fn batches_containing(&self, message_id: &B256) -> Result<Vec<B256>> {
        const SQL: &str = "SELECT root FROM batch_members WHERE message_id = $1 ORDER BY root";
        let roots: Vec<Vec<u8>> = on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(message_id.as_slice()).fetch_all(pool).await?);
        roots.iter().map(|r| crate::row::b256("root", r)).collect()
    }
}
