//! Arbitrary bytes decoded into FFI inputs (raw signed txs, engine Transaction/Withdrawal structs
//! with unchecked token ids and data lengths, deposits, batched submissions, seals, proofs) and
//! sent across the GhostPlane boundary; the body asserts the supply invariant after each step.
#![no_main]

use ghostbridge_sequencer::fuzz::{run_bytes, FuzzState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut state = FuzzState::new();
    run_bytes(&mut state, data);
});
