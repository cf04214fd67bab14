//! Batch journals (root → member ids in leaf order): the relayer's `batches` and the validator's
//! `signed_batches` have one shape and one set of queries, over their own tables.

use alloy_primitives::B256;

use crate::{
    row::to_db,
    store::{begin_write, now_ms, on_pool},
    Result, Store,
};

/// The tables of one batch journal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchTables {
    /// `(root, dst_chain, <created>)`.
    pub(crate) batches: &'static str,
    /// Its time column.
    pub(crate) created: &'static str,
    /// `(root, position, message_id)`.
    pub(crate) members: &'static str,
}

/// The relayer's batches (what it asked validators to sign).
pub(crate) const RELAYER_BATCHES: BatchTables = BatchTables {
    batches: "batches",
    created: "created_at",
    members: "batch_members",
};

/// The batch roots a validator signed (members must be admitted: a foreign key).
pub(crate) const SIGNED_BATCHES: BatchTables = BatchTables {
    batches: "signed_batches",
    created: "signed_at",
    members: "signed_batch_members",
};

impl Store {
    /// Records a batch in `t` in one transaction. Returns `false` if the root was already
    /// there (members are then left as they were: a root commits to them).
    pub(crate) async fn put_batch_in(
        &self,
        t: BatchTables,
        root: &B256,
        dst_chain: u64,
        members: &[B256],
    ) -> Result<bool> {
        let batch = format!(
            "INSERT INTO {} (root, dst_chain, {}) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            t.batches, t.created
        );
        let member = format!(
            "INSERT INTO {} (root, position, message_id) VALUES ($1, $2, $3)",
            t.members
        );
        let now = now_ms();
        on_pool!(self, pool => {
            let mut tx = begin_write!(self, pool);
            let done = sqlx::query(&batch).bind(root.as_slice()).bind(to_db(dst_chain)).bind(now)
                .execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            for (position, id) in (0i64..).zip(members) {
                sqlx::query(&member).bind(root.as_slice()).bind(position).bind(id.as_slice())
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Member ids of a batch in `t`, in leaf order, or `None` if the root is not there.
    pub(crate) async fn batch_members_in(
        &self,
        t: BatchTables,
        root: &B256,
    ) -> Result<Option<Vec<B256>>> {
        let exists = format!("SELECT COUNT(*) FROM {} WHERE root = $1", t.batches);
        let members = format!(
            "SELECT message_id FROM {} WHERE root = $1 ORDER BY position",
            t.members
        );
        let (exists, ids): (i64, Vec<Vec<u8>>) = on_pool!(self, pool => (
            sqlx::query_scalar(&exists).bind(root.as_slice()).fetch_one(pool).await?,
            sqlx::query_scalar(&members).bind(root.as_slice()).fetch_all(pool).await?,
        ));
        if exists == 0 {
            return Ok(None);
        }
        ids.iter()
            .map(|id| crate::row::b256("message_id", id))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Roots of the batches in `t` that contain `message_id`.
    pub(crate) async fn batches_containing_in(
        &self,
        t: BatchTables,
        message_id: &B256,
    ) -> Result<Vec<B256>> {
        let sql = format!(
            "SELECT root FROM {} WHERE message_id = $1 ORDER BY root",
            t.members
        );
        let roots: Vec<Vec<u8>> = on_pool!(self, pool => sqlx::query_scalar(&sql)
            .bind(message_id.as_slice()).fetch_all(pool).await?);
        roots.iter().map(|r| crate::row::b256("root", r)).collect()
    }
}
