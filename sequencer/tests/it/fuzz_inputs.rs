//! fuzz_inputs
