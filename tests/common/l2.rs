//! Helpers of the GhostPlane end-to-end tests (`tests/e2e_l2_*.rs`): an anvil L1 with the
//! GhostPlane contracts (`script/DeployGhostPlane.s.sol`), the `ghostbridge l2 node` process, and
//! the check they end with (every posted batch replayed honest from L1 alone).

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use ghostbridge_cli::devnet::{self, DEPLOYER_KEY, USER_KEY};
use ghostbridge_l2node::bindings::rollup::GhostPlaneRollup;
use ghostbridge_l2node::challenger::{Challenger, ChallengerConfig, ChallengerStatus};
use ghostbridge_l2node::client::L2Client;
use ghostbridge_l2node::node::Deployment;
use ghostbridge_sequencer::engine::EngineConfig;
use ghostbridge_sequencer::roots::StepState;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

sol! {
    #[sol(rpc)]
    interface Erc20 {
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }
}

pub const ETHER: u128 = 1_000_000_000_000_000_000;

/// A provider signing with `key` on the anvil at `port`.
pub fn wallet(port: u16, key: &str) -> DynProvider {
    let signer: PrivateKeySigner = key.parse().unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(format!("http://127.0.0.1:{port}").parse().unwrap())
        .erased()
}

/// Waits (at most 30 s) for a sent L1 transaction and asserts it succeeded.
pub async fn sent(
    r: alloy::contract::Result<
        alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    >,
) {
    let r = tokio::time::timeout(Duration::from_secs(30), r.expect("send").get_receipt())
        .await
        .expect("an L1 transaction not mined within 30 s")
        .expect("receipt");
    assert!(r.status(), "reverted");
}

/// Polls `f` every 200 ms until it holds; fails the test after `timeout`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An anvil L1 with the GhostPlane contracts, the sequencer (anvil account 0) bonded with
/// 1 ETH, and 1,000,000 GCC of the user (anvil account 1) approved to the portal.
pub struct L1 {
    /// Under `deployments/` (the only folder forge scripts may write); removed by [`Self::done`].
    pub dir: PathBuf,
    pub port: u16,
    pub d: Deployment,
    pub deployer: DynProvider,
    pub user: DynProvider,
    pub user_address: Address,
    _anvil: Child,
}

impl L1 {
    /// `block_time` 0: anvil mines one block per transaction (and on `anvil_mine`).
    pub async fn start(name: &str, port: u16, block_time: u64, window: u64) -> Self {
        let root = super::root();
        let dir = root
            .join("deployments")
            .join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let anvil = devnet::start_anvil(&root, port, 31_337, block_time, &dir.join("anvil.log"))
            .await
            .expect("anvil (run ./script/setup.sh)");
        let deployment = dir.join("ghostplane.json");
        devnet::forge_script(
            &root,
            "script/DeployGhostPlane.s.sol:DeployGhostPlane",
            &format!("http://127.0.0.1:{port}"),
            &[
                ("DEPLOY_OUT", deployment.display().to_string()),
                ("GHOSTPLANE_TOKEN_4", Address::ZERO.to_string()),
                ("GHOSTPLANE_CHALLENGE_WINDOW", window.to_string()),
            ],
        )
        .await
        .expect("DeployGhostPlane.s.sol");
        let d = Deployment::load(&deployment).unwrap();
        let deployer = wallet(port, DEPLOYER_KEY);
        let user = wallet(port, USER_KEY);
        let user_address = USER_KEY.parse::<PrivateKeySigner>().unwrap().address();
        sent(
            GhostPlaneRollup::new(d.rollup, &deployer)
                .bond()
                .value(U256::from(ETHER))
                .send()
                .await,
        )
        .await;
        let gcc = d.tokens[0];
        sent(
            Erc20::new(gcc, &deployer)
                .mint(user_address, U256::from(1_000_000 * ETHER))
                .send()
                .await,
        )
        .await;
        sent(
            Erc20::new(gcc, &user)
                .approve(d.portal, U256::MAX)
                .send()
                .await,
        )
        .await;
        Self {
            dir,
            port,
            d,
            deployer,
            user,
            user_address,
            _anvil: anvil,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn deployment(&self) -> PathBuf {
        self.dir.join("ghostplane.json")
    }

    /// `ghostbridge l2 node` reaching L1 at `l1_url` (anvil or a proxy in front of it), its L2
    /// JSON-RPC on `l2_port`, ops on `ops_port`, its journal and log (appended) in `dir`;
    /// `args` and `env` are added.
    pub fn node(
        &self,
        l1_url: &str,
        l2_port: u16,
        ops_port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Child {
        self.daemon(
            "l2node",
            &[
                &[
                    "l2",
                    "node",
                    "--rpc-addr",
                    &format!("127.0.0.1:{l2_port}"),
                    "--journal",
                    &self.dir.join("l2node.journal").display().to_string(),
                    "--l1-rpc",
                    l1_url,
                    "--ops-addr",
                    &format!("127.0.0.1:{ops_port}"),
                ],
                args,
            ]
            .concat(),
            &[&[("GHOSTPLANE_SEQUENCER_KEY", DEPLOYER_KEY)], env].concat(),
        )
    }

    /// `ghostbridge <args> --deployment <this deployment>`, logging to `dir/<name>.log`.
    pub fn daemon(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ghostbridge"));
        cmd.args(args)
            .arg("--deployment")
            .arg(self.deployment())
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("ghostbridge")
    }

    /// Replays every batch on L1 from genesis with the challenger's executor (independent of the
    /// engine, from L1 data alone); asserts each honest and returns how many and the end state.
    pub async fn replay_all(&self) -> (u64, StepState) {
        let engine = EngineConfig::default();
        let mut challenger = Challenger::new(ChallengerConfig {
            rollup: self.d.rollup,
            portal: self.d.portal,
            from_block: self.d.deploy_block,
            poll: Duration::from_millis(200),
            depth: engine.accounts_depth,
            base_fee: engine.base_fee,
            fee_collector: engine.fee_collector,
        });
        let status = ChallengerStatus::default();
        challenger
            .poll(&self.deployer, &status)
            .await
            .expect("checkable");
        assert!(status.frauds().is_empty(), "{:?}", status.frauds());
        (status.checked(), challenger.state())
    }

    /// Waits until the node's latest batch holds `deposits` portal deposits (sealed, not merely
    /// applied to the open batch) and is the Rollup's tip.
    pub async fn wait_settled(&self, l2: &L2Client, deposits: u64, timeout: Duration) {
        let rollup = GhostPlaneRollup::new(self.d.rollup, &self.deployer);
        wait_for(
            &format!("{deposits} deposits sealed and every batch on L1"),
            timeout,
            || {
                let rollup = rollup.clone();
                async move {
                    let (number, cursor, _) = latest(l2).await;
                    cursor == deposits && rollup.tip().call().await.ok() == Some(number)
                }
            },
        )
        .await;
    }

    /// Removes `dir` (kept when the test fails, for its logs).
    pub fn done(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The node's latest batch: number, sealed deposit cursor, state root (zeros while it is not up).
pub async fn latest(l2: &L2Client) -> (u64, u64, B256) {
    let Ok(h) = l2.call("gp_getLatestBatch", serde_json::json!([])).await else {
        return (0, 0, B256::ZERO);
    };
    (
        h["batchNumber"].as_u64().unwrap_or(0),
        h["depositCursor"].as_u64().unwrap_or(0),
        h["stateRoot"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
    )
}
