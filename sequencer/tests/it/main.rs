//! Integration tests through the real Zig engine (one binary, modules below).
#![allow(
    clippy::unwrap_used,
    clippy::arithmetic_side_effects,
    missing_docs,
    unreachable_pub
)]

mod abi_layout;
mod blob_l1;
mod error_codes;
mod fuzz_inputs;
mod journal;
mod model;
mod replay;
mod roots_prop;
mod rpc;
mod sequencer;
mod settlement;
