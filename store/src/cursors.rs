//! Scan cursors: the last scanned block per (chain, contract), one table per role so a relayer
//! and a validator sharing a database never move each other's cursor. The relayer's scanner
//! keeps `chain_cursors` ([`Store::cursor`]); the validator's follower keeps
//! `admission_cursors` ([`Store::admission_cursor`]): the last block it scanned past its
//! confirmation depth and admitted everything of.

use alloy_primitives::{Address, B256};

use crate::{
    row::{to_db, CursorRow},
    store::{now_ms, on_pool},
    ChainCursor, Result, Store,
};

/// `SELECT` of a cursor table (`$1` chain, `$2` contract).
macro_rules! select_cursor {
    ($table:literal) => {
        concat!(
            "SELECT chain_id, contract, block_number, block_hash, updated_at FROM ",
            $table,
            " WHERE chain_id = $1 AND contract = $2"
        )
    };
}

/// Upsert into a cursor table (`$1` chain, `$2` contract, `$3` block, `$4` hash, `$5` now).
macro_rules! upsert_cursor {
    ($table:literal) => {
        concat!(
            "INSERT INTO ",
            $table,
            " (chain_id, contract, block_number, block_hash, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (chain_id, contract) DO UPDATE SET \
             block_number = excluded.block_number, block_hash = excluded.block_hash, \
             updated_at = excluded.updated_at"
        )
    };
}

impl Store {
    /// The relayer's scanner: where scanning of `contract` on `chain_id` stopped, if ever
    /// started.
    pub async fn cursor(&self, chain_id: u64, contract: &Address) -> Result<Option<ChainCursor>> {
        self.read_cursor(select_cursor!("chain_cursors"), chain_id, contract)
            .await
    }

    /// The relayer's scanner: saves the last fully scanned block. It may move backwards (reorg
    /// rewind).
    pub async fn set_cursor(
        &self,
        chain_id: u64,
        contract: &Address,
        block_number: u64,
        block_hash: &B256,
    ) -> Result<()> {
        self.write_cursor(
            upsert_cursor!("chain_cursors"),
            chain_id,
            contract,
            block_number,
            block_hash,
        )
        .await
    }

    /// The validator's follower: the last block of `contract` on `chain_id` it scanned past its
    /// confirmation depth and admitted every message of, if ever started.
    pub async fn admission_cursor(
        &self,
        chain_id: u64,
        contract: &Address,
    ) -> Result<Option<ChainCursor>> {
        self.read_cursor(select_cursor!("admission_cursors"), chain_id, contract)
            .await
    }

    /// The validator's follower: saves the last block it admitted everything of (after
    /// [`Store::admit`] of that range returned).
    pub async fn set_admission_cursor(
        &self,
        chain_id: u64,
        contract: &Address,
        block_number: u64,
        block_hash: &B256,
    ) -> Result<()> {
        self.write_cursor(
            upsert_cursor!("admission_cursors"),
            chain_id,
            contract,
            block_number,
            block_hash,
        )
        .await
    }

    async fn read_cursor(
        &self,
        sql: &'static str,
        chain_id: u64,
        contract: &Address,
    ) -> Result<Option<ChainCursor>> {
        let row: Option<CursorRow> = on_pool!(self, pool => sqlx::query_as(sql)
            .bind(to_db(chain_id)).bind(contract.as_slice()).fetch_optional(pool).await?);
        row.map(ChainCursor::try_from).transpose()
    }

    async fn write_cursor(
        &self,
        sql: &'static str,
        chain_id: u64,
        contract: &Address,
        block_number: u64,
        block_hash: &B256,
    ) -> Result<()> {
        on_pool!(self, pool => sqlx::query(sql)
            .bind(to_db(chain_id)).bind(contract.as_slice()).bind(to_db(block_number))
            .bind(block_hash.as_slice()).bind(now_ms())
            .execute(pool).await.map(drop)?);
        Ok(())
    }
}
