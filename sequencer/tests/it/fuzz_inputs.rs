//! Bounded fuzzing in normal test runs: arbitrary bytes decoded into FFI inputs (raw signed
//! transactions and engine `Transaction`/`Withdrawal` structs) must never crash the engine or the
//! decoder; the engine's supply invariant (asserted inside Zig) must hold. The cargo-fuzz target in
//! `sequencer/fuzz` runs the same body unbounded.

use ghostbridge_sequencer::fuzz::{run_bytes, FuzzState};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_break_the_boundary(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut state = FuzzState::new();
        run_bytes(&mut state, &data);
    }
}
