//! Integration tests of `ghostbridge-store` against real SQLite files and the PostgreSQL at
//! `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`).

fn main() {}
