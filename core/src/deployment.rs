//! Where a chain's bridge contracts are: the deployment file `script/Deploy.s.sol` writes.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// The deployment JSON written by `script/Deploy.s.sol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Chain id the contracts live on.
    pub chain_id: u64,
    /// `AttestationVerifier`.
    pub verifier: Address,
    /// `FeeManager`.
    pub fee_manager: Address,
    /// `BridgeVault`.
    pub vault: Address,
    /// `BridgeMinter`.
    pub minter: Address,
    /// `BridgeGuardian`.
    pub guardian: Address,
    /// Block of the deployment (log scans start here).
    pub deploy_block: u64,
    /// GhostChain tokens by symbol (zero where not deployed).
    #[serde(default)]
    pub tokens: BTreeMap<String, Address>,
}

/// Why a deployment file was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeploymentError {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not the expected JSON.
    #[error("{path} is not a deployment JSON: {source}")]
    Json {
        /// File.
        path: String,
        /// Cause.
        source: serde_json::Error,
    },
}

impl Deployment {
    /// Reads a deployment JSON.
    pub fn read(path: &Path) -> Result<Self, DeploymentError> {
        let text = std::fs::read_to_string(path).map_err(|source| DeploymentError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| DeploymentError::Json {
            path: path.display().to_string(),
            source,
        })
    }
}
