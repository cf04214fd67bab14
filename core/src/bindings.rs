//! Contract bindings generated from the forge ABIs (`contracts/abi/*.json`, kept fresh by
//! `script/export-abi.sh --check`). No ABI is written by hand.
//! Each contract lives in its own module because the ABIs share struct names
//! (`BridgeMessage`, `Attestation`); [`crate::protocol`] converts between them.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// Bindings of `AttestationVerifier`.
pub mod verifier {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        AttestationVerifier,
        "../contracts/abi/AttestationVerifier.json"
    );
}

/// Bindings of `BridgeVault`.
pub mod vault {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        BridgeVault,
        "../contracts/abi/BridgeVault.json"
    );
}

/// Bindings of `BridgeMinter`.
pub mod minter {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        BridgeMinter,
        "../contracts/abi/BridgeMinter.json"
    );
}

/// Bindings of `BridgeGuardian`.
pub mod guardian {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        BridgeGuardian,
        "../contracts/abi/BridgeGuardian.json"
    );
}

/// Bindings of `FeeManager`.
pub mod fee_manager {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        FeeManager,
        "../contracts/abi/FeeManager.json"
    );
}

/// Bindings of `GhostToken`.
pub mod ghost_token {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        GhostToken,
        "../contracts/abi/GhostToken.json"
    );
}

/// Bindings of `WrappedToken`.
pub mod wrapped_token {
    alloy::sol!(
        #[sol(rpc)]
        #[derive(Debug, PartialEq, Eq)]
        WrappedToken,
        "../contracts/abi/WrappedToken.json"
    );
}
