//! Integration tests of `ghostbridge-store` against real SQLite files and the real PostgreSQL at
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Every PostgreSQL test
//! runs in a fresh schema (`search_path`), every SQLite test in a fresh temp file, so tests
//! run in parallel without colliding.

#![allow(
    missing_docs,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::arithmetic_side_effects
)]

mod common;

mod bulk;
mod cold_start;
mod concurrency;
mod deferred;
mod final_errors;
mod journal;
mod lease;
mod lifecycle;
mod migrate;
mod records;
mod sources;
