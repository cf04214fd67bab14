//! Bindings of GhostPlane's L1 contracts from the forge ABIs (`contracts/abi/*.json`, kept fresh
//! by `script/export-abi.sh --check`). Their struct types are distinct Rust types from
//! `ghostbridge_sequencer::settlement::abi`'s; calls that carry batch structs are encoded with
//! the latter (one definition of the settlement layout).
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// Bindings of `GhostPlanePortal`.
pub mod portal {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        GhostPlanePortal,
        "../contracts/abi/GhostPlanePortal.json"
    );
}

/// Bindings of `GhostPlaneRollup`.
pub mod rollup {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        GhostPlaneRollup,
        "../contracts/abi/GhostPlaneRollup.json"
    );
}
