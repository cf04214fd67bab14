//! The GhostPlane node as one unit: engine + sequencer, the L1 poster, the deposit follower and
//! the L2 JSON-RPC on the bounded listener.

use alloy::network::EthereumWallet;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ghostbridge_core::config::ListenerLimits;
use ghostbridge_sequencer::engine::{Engine, EngineConfig};
use ghostbridge_sequencer::rpc;
use ghostbridge_sequencer::sequencer::{
    self, SealedBatch, SequencerConfig, SequencerHandle, SettlementSink,
};
use ghostbridge_sequencer::settlement;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::bindings::rollup::GhostPlaneRollup;
use crate::deposits::{self, DepositConfig, DepositStatus};
use crate::poster::{self, DataMode, PostError, PosterConfig, PosterStatus};
use crate::withdrawals::{self, FinalizeError};

/// Why a node did not start. None is retried by the node itself: an unreachable L1 may be
/// retried by starting again ([`NodeError::is_retryable`]); the others need the operator.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The deployment JSON is unreadable or incomplete.
    #[error("GhostPlane deployment {}: {reason}", path.display())]
    Deployment {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A setting the node cannot run with.
    #[error("{0}")]
    Config(String),
    /// L1 could not be read.
    #[error("{what}: {reason}")]
    L1 {
        /// What was read.
        what: String,
        /// The node's or contract's error.
        reason: String,
    },
    /// The Rollup was deployed for another engine configuration.
    #[error("the Rollup's genesis state root {rollup} is not this engine's {engine}: depth, base fee or fee collector differ from the deployment")]
    GenesisMismatch {
        /// What the Rollup holds.
        rollup: alloy::primitives::B256,
        /// What this engine starts from.
        engine: alloy::primitives::B256,
    },
    /// The engine refused its configuration.
    #[error("engine: {0}")]
    Engine(String),
    /// The journal cannot be replayed.
    #[error("replaying the journal {}: {reason}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The journal and L1 disagree: it is another chain's, or it lost batches L1 holds.
    #[error("{0}")]
    JournalIsNotL1s(String),
    /// A journaled batch cannot be encoded for posting.
    #[error(transparent)]
    Post(#[from] PostError),
    /// The L2 JSON-RPC port cannot be bound.
    #[error("binding the L2 JSON-RPC on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The OS's error.
        source: std::io::Error,
    },
}

impl NodeError {
    /// Whether starting again later may succeed (L1 was unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::L1 { .. })
    }
}

fn l1_error(what: impl Into<String>) -> impl FnOnce(alloy::contract::Error) -> NodeError {
    move |e| NodeError::L1 {
        what: what.into(),
        reason: e.to_string(),
    }
}

/// The addresses `script/DeployGhostPlane.s.sol` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// GhostPlanePortal.
    pub portal: Address,
    /// GhostPlaneRollup.
    pub rollup: Address,
    /// L1 tokens of L2 ids 0..3 (GCC, SPIRIT, MANA, GHOST).
    pub tokens: [Address; 4],
    /// The block the contracts were deployed in (deposits are read from it).
    pub deploy_block: u64,
}

impl Deployment {
    /// Reads a deployment JSON.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let bad = |reason: String| NodeError::Deployment {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let addr = |key: &str, v: &serde_json::Value| -> Result<Address, NodeError> {
            v.as_str()
                .ok_or_else(|| bad(format!("`{key}` missing")))?
                .parse()
                .map_err(|_| bad(format!("`{key}` is not an address")))
        };
        let t = &json["tokens"];
        Ok(Self {
            portal: addr("portal", &json["portal"])?,
            rollup: addr("rollup", &json["rollup"])?,
            tokens: [
                addr("tokens.GCC", &t["GCC"])?,
                addr("tokens.SPIRIT", &t["SPIRIT"])?,
                addr("tokens.MANA", &t["MANA"])?,
                addr("tokens.GHOST", &t["GHOST"])?,
            ],
            deploy_block: json["deployBlock"]
                .as_u64()
                .ok_or_else(|| bad("`deployBlock` missing".into()))?,
        })
    }
}

/// Everything a node needs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// L1 JSON-RPC URL.
    pub l1_rpc: String,
    /// The contracts.
    pub deployment: Deployment,
    /// The bonded proposer's (the sequencer's) key.
    pub proposer: PrivateKeySigner,
    /// Blobs or calldata.
    pub mode: DataMode,
    /// Blocks below the L1 head before a deposit is applied.
    pub confirmations: u64,
    /// L2 JSON-RPC address.
    pub rpc_addr: SocketAddr,
    /// Limits of the L2 JSON-RPC listener.
    pub rpc_limits: ListenerLimits,
    /// The engine (must match the Rollup's genesis: depth, base fee, fee collector).
    pub engine: EngineConfig,
    /// Batching.
    pub sequencer: SequencerConfig,
    /// The sequencer's durable log (created if missing; replayed at start).
    pub journal: PathBuf,
    /// Batch transactions the poster sends before the oldest is mined (see [`PosterConfig`]).
    pub max_in_flight: usize,
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    /// The sequencer.
    pub handle: SequencerHandle,
    /// Where the L2 JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// The poster's progress.
    pub poster: Arc<PosterStatus>,
    /// The deposit follower's progress.
    pub deposits: Arc<DepositStatus>,
    /// The node's tasks by name; each runs for the node's life.
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Node {
    /// The first task that has stopped: `sequencer` when its journal could not be written, any
    /// other when it panicked. The node must then exit (a restart replays the journal and
    /// re-reads L1) rather than run on without it.
    pub fn stopped_task(&self) -> Option<&'static str> {
        self.tasks
            .iter()
            .find(|(_, t)| t.is_finished())
            .map(|(name, _)| *name)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        for (_, t) in &self.tasks {
            t.abort();
        }
    }
}

/// Checks that L1's batch `batch.number` is the one the journal rebuilt (so the engine continues
/// from the state L1 holds), in either data mode.
async fn check_against_l1(
    l1: &DynProvider,
    config: &NodeConfig,
    batch: &SealedBatch,
) -> Result<(), NodeError> {
    let n = batch.header.batch_number;
    let on_l1 = withdrawals::batch_on_l1(
        l1,
        config.deployment.rollup,
        n,
        config.deployment.deploy_block,
    )
    .await
    .map_err(|e: FinalizeError| NodeError::L1 {
        what: format!("reading batch {n} on L1"),
        reason: e.to_string(),
    })?
    .ok_or_else(|| {
        NodeError::JournalIsNotL1s(format!(
            "the Rollup's tip is {n} but it has no BatchSubmitted event"
        ))
    })?;
    for mode in [config.mode, DataMode::Calldata, DataMode::Blobs] {
        let header = poster::posted_header(batch, mode)?;
        if settlement::header_hash(&header) == on_l1.header_hash {
            return Ok(());
        }
    }
    Err(NodeError::JournalIsNotL1s(format!(
        "L1's batch {n} (header hash {}) is not the journal's batch {n} (state root {}): the journal is another chain's; refusing to sequence on top of it",
        on_l1.header_hash,
        batch.header.state_root
    )))
}

/// Checks the L1 side (the Rollup's genesis is this engine's, the proposer is bonded), replays
/// the journal (checking it against the batches L1 holds, re-posting those it lacks) and starts
/// the node's tasks on the current runtime.
pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
    let proposer = config.proposer.address();
    let ops_max = config.mode.max_ops();
    if config.engine.batch_transactions_max as usize > ops_max {
        return Err(NodeError::Config(format!(
            "batches of up to {} ops cannot be posted in {:?} mode (at most {ops_max})",
            config.engine.batch_transactions_max, config.mode
        )));
    }
    let l1_url = config
        .l1_rpc
        .parse()
        .map_err(|e| NodeError::Config(format!("L1 RPC URL {:?}: {e}", config.l1_rpc)))?;
    let l1: DynProvider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(config.proposer.clone()))
        .connect_http(l1_url)
        .erased();
    let rollup = GhostPlaneRollup::new(config.deployment.rollup, &l1);
    let genesis = rollup
        .genesisStateRoot()
        .call()
        .await
        .map_err(l1_error(format!("reading the Rollup at {}", config.l1_rpc)))?;
    let ours = ghostbridge_sequencer::settlement::StepState::genesis(
        config.engine.accounts_depth,
        config.engine.fee_collector,
    )
    .state_root;
    if genesis != ours {
        return Err(NodeError::GenesisMismatch {
            rollup: genesis,
            engine: ours,
        });
    }
    let tip = rollup
        .tip()
        .call()
        .await
        .map_err(l1_error("reading the Rollup's tip"))?;
    let info = rollup
        .proposerInfo(proposer)
        .call()
        .await
        .map_err(l1_error("reading the proposer's bond"))?;
    let needed = rollup
        .bondAmount()
        .call()
        .await
        .map_err(l1_error("reading the bond amount"))?;
    if info.bond_ < needed {
        tracing::warn!(%proposer, bond = %info.bond_, %needed, "the proposer is not bonded: batches will not post until it is");
    }

    let (sink, batches) = poster::channel();
    let sink = Arc::new(sink);
    let engine = Engine::new(config.engine).map_err(|e| NodeError::Engine(e.to_string()))?;
    // Replay the journal: batches L1 holds are checked against it (at the tip), the rest are
    // posted first, in order, before anything new is sealed.
    let mut at_tip = None;
    let mut last = 0u64;
    let mut to_post = 0u64;
    let (handle, seq_task) = sequencer::spawn_journaled(
        engine,
        config.sequencer,
        sink.clone(),
        &config.journal,
        |batch| {
            let n = batch.header.batch_number;
            last = n;
            if n == tip {
                at_tip = Some(batch);
            } else if n > tip {
                to_post = to_post.saturating_add(1);
                // The sink only queues for the poster; it cannot fail.
                let _ = sink.settle(batch);
            }
        },
    )
    .map_err(|e| NodeError::Journal {
        path: config.journal.clone(),
        reason: e.to_string(),
    })?;
    if last < tip {
        return Err(NodeError::JournalIsNotL1s(format!(
            "the Rollup holds batches {}..={tip} that the journal {} lacks: it is another deployment's journal, or it was lost (rebuilding from L1 data alone is not built yet)",
            last.saturating_add(1),
            config.journal.display()
        )));
    }
    if let Some(batch) = at_tip {
        check_against_l1(&l1, &config, &batch).await?;
    }
    tracing::info!(
        journal_batches = last,
        l1_tip = tip,
        reposting = to_post,
        "node state rebuilt"
    );
    let poster_status = Arc::new(PosterStatus::default());
    let poster_task = tokio::spawn(poster::run(
        l1.clone(),
        PosterConfig {
            rollup: config.deployment.rollup,
            proposer,
            mode: config.mode,
            receipt_timeout: Duration::from_secs(12),
            max_fee_per_gas: 500_000_000_000,
            max_fee_per_blob_gas: 500_000_000_000,
            max_in_flight: config.max_in_flight,
        },
        batches,
        poster_status.clone(),
    ));
    let deposit_status = Arc::new(DepositStatus::default());
    let deposit_task = tokio::spawn(deposits::follow(
        l1,
        DepositConfig {
            portal: config.deployment.portal,
            confirmations: config.confirmations,
            poll: Duration::from_millis(500),
            from_block: config.deployment.deploy_block,
            max_range: 2_000,
        },
        handle.clone(),
        deposit_status.clone(),
    ));
    let (rpc_addr, rpc_task) = rpc::start(config.rpc_addr, handle.clone(), config.rpc_limits)
        .await
        .map_err(|source| NodeError::Listen {
            addr: config.rpc_addr,
            source,
        })?;
    Ok(Node {
        handle,
        rpc_addr,
        poster: poster_status,
        deposits: deposit_status,
        tasks: vec![
            ("sequencer", seq_task),
            ("poster", poster_task),
            ("deposit follower", deposit_task),
            ("L2 JSON-RPC", rpc_task),
        ],
    })
}
