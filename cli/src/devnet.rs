//! A local GhostBridge: two anvil chains, the contracts deployed by the forge scripts, N
//! validators, a relayer and a watcher, each a real `ghostbridge` process with its own config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{bail, Context};
use ghostbridge_core::bindings::ghost_token::GhostToken;
use ghostbridge_core::config::{
    ChainConfig, ClientTls, Config, GasPolicy, ListenerLimits, RelayerSection, StoreSection,
    ValidatorEndpoint, ValidatorSection, WatcherSection,
};
use ghostbridge_core::deployment::Deployment;
use ghostbridge_core::keys::ValidatorKey;
use tokio::process::{Child, Command};

/// anvil account 0: deploys and owns the contracts.
pub const DEPLOYER_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// anvil account 1: the demo user that transfers.
pub const USER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// anvil account 2: relayer #1.
pub const RELAYER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/// anvil account 3: the watcher's pause-guardian key.
pub const GUARDIAN_KEY: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
/// anvil account 4: relayer #2 (multi-relayer tests).
pub const RELAYER2_KEY: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
/// Devnet validators (anvil accounts 7, 8, 5, 9), ascending by address as the signer set wants.
pub const VALIDATOR_KEYS: [&str; 4] = [
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];
/// anvil account 6: the GhostPlane challenger's prover.
pub const CHALLENGER_KEY: &str =
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
/// Keystore password of the devnet validators (public, like the anvil keys).
pub const DEVNET_PASSWORD: &str = "devnet";
/// The TLS client identities the devnet's validators pin (mutual TLS): `<name>-client.cert.pem`.
const CLIENT_IDENTITIES: [&str; 2] = ["relayer", "watcher"];
/// Chain ids of the two anvil chains.
pub const CHAIN_IDS: [u64; 2] = [31_337, 31_338];

/// What to start.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    /// Where configs, keys, deployments, databases and logs go.
    pub dir: PathBuf,
    /// Repository root (forge scripts, node_modules/.bin).
    pub root: PathBuf,
    /// First port; anvil A/B take base, base+1; validators base+10.., relayer ops base+20,
    /// watcher ops base+21, the relayer's status API base+23 (CORS for `api_cors_origin`).
    pub port_base: u16,
    /// Seconds per block; 0 = a block per transaction.
    pub block_time: u64,
    /// Confirmation depth the daemons use.
    pub confirmations: u64,
    /// Start the relayer.
    pub relayer: bool,
    /// Start the watcher.
    pub watcher: bool,
    /// Relayer store URL (default: SQLite in `dir`).
    pub relayer_store: Option<String>,
    /// Batch threshold of the relayer.
    pub batch_min: u32,
    /// Print progress lines.
    pub verbose: bool,
    /// RPC URLs the daemons use instead of the anvils' own (e.g. through a fault-injecting proxy).
    pub daemon_rpcs: Option<[String; 2]>,
    /// Confirmation depth override for the validators only (reorg tests).
    pub validator_confirmations: Option<u64>,
    /// A second RPC URL per chain that validators must agree with before admitting a message.
    pub validator_cross_check_rpcs: Option<[String; 2]>,
    /// The relayer replaces a transaction not mined within this many seconds.
    pub resubmit_after_secs: u64,
    /// Also deploy GhostPlane's L1 contracts on chain A and run its node (`ghostbridge l2 node`:
    /// L2 JSON-RPC on port base+40, ops on base+41).
    pub ghostplane: bool,
    /// The page origin the relayer's status API allows (CORS); default
    /// `http://127.0.0.1:{base+24}`, where the bridge page is meant to be served.
    pub api_cors_origin: Option<String>,
}

impl DevnetOptions {
    /// Defaults for `dir` and the repo `root`.
    pub fn new(root: PathBuf, dir: PathBuf) -> Self {
        Self {
            dir,
            root,
            port_base: 8545,
            block_time: 1,
            confirmations: 1,
            relayer: true,
            watcher: true,
            relayer_store: None,
            batch_min: 8,
            verbose: true,
            daemon_rpcs: None,
            validator_confirmations: None,
            validator_cross_check_rpcs: None,
            resubmit_after_secs: 15,
            ghostplane: false,
            api_cors_origin: None,
        }
    }
}

/// One chain of the devnet.
#[derive(Debug, Clone)]
pub struct DevChain {
    /// Chain id.
    pub chain_id: u64,
    /// RPC URL.
    pub rpc: String,
    /// Deployed contracts.
    pub deployment: Deployment,
}

/// A running devnet; dropping it kills every process it started.
#[derive(Debug)]
pub struct Devnet {
    /// Options it was started with.
    pub opts: DevnetOptions,
    /// The two chains.
    pub chains: [DevChain; 2],
    /// Validator API URLs.
    pub validator_urls: Vec<String>,
    anvils: Vec<Child>,
    daemons: BTreeMap<String, Child>,
    /// The bridge page server (`app/dist` and `/config.json` on port base+24), when built.
    app: Option<crate::app_server::AppServer>,
}

/// `base + offset`: each devnet takes a block of ports above its base.
fn port(base: u16, offset: u16) -> u16 {
    base.checked_add(offset)
        .expect("devnet port above 65535: choose a lower port base")
}

fn tool(root: &Path, name: &str) -> PathBuf {
    let local = root.join("node_modules/.bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

fn say(opts: &DevnetOptions, step: usize, total: usize, msg: &str) {
    if opts.verbose {
        eprintln!("==> [{step}/{total}] {msg}");
    }
}

/// The `ghostbridge` binary (the running one, or the test harness's).
pub fn ghostbridge_exe() -> PathBuf {
    if let Ok(p) = std::env::var("GHOSTBRIDGE_BIN") {
        return p.into();
    }
    std::env::current_exe().unwrap_or_else(|_| "ghostbridge".into())
}

async fn wait_rpc(url: &str) -> anyhow::Result<()> {
    let p = ghostbridge_agent::chain::http_provider(url)?;
    for _ in 0..200 {
        if p.get_chain_id().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{url} did not answer")
}

/// Starts anvil on `port` for `chain_id`.
pub async fn start_anvil(
    root: &Path,
    port: u16,
    chain_id: u64,
    block_time: u64,
    log: &Path,
) -> anyhow::Result<Child> {
    let mut cmd = Command::new(tool(root, "anvil"));
    cmd.args([
        "--port",
        &port.to_string(),
        "--chain-id",
        &chain_id.to_string(),
        "--silent",
    ]);
    if block_time > 0 {
        cmd.args(["--block-time", &block_time.to_string()]);
    }
    let child = cmd
        .stdout(std::fs::File::create(log)?)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting anvil (run ./script/setup.sh first, or put anvil on PATH)")?;
    wait_rpc(&format!("http://127.0.0.1:{port}")).await?;
    Ok(child)
}

/// Whether `rpc` is an anvil that mines a block per transaction (`anvil_getAutomine`); false
/// for any other node, or if it does not answer (forge then reports the dead RPC itself).
async fn automines(rpc: &str) -> bool {
    let Ok(url) = rpc.parse() else {
        return false;
    };
    ProviderBuilder::new()
        .connect_http(url)
        .raw_request::<_, bool>("anvil_getAutomine".into(), ())
        .await
        .unwrap_or(false)
}

/// A deploy script takes seconds on anvil; past this it is stuck, not slow.
const FORGE_SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// Runs forge script `script` against `rpc` as the deployer, with `env` (the deploy scripts read
/// their outputs and options from it).
pub async fn forge_script(
    root: &Path,
    script: &str,
    rpc: &str,
    env: &[(&str, String)],
) -> anyhow::Result<()> {
    let mut cmd = Command::new(tool(root, "forge"));
    cmd.current_dir(root).args([
        "script",
        script,
        "--rpc-url",
        rpc,
        "--private-key",
        DEPLOYER_KEY,
        "--broadcast",
        "-q",
    ]);
    if automines(rpc).await {
        // Each transaction after the previous one's receipt. On an automining anvil forge's
        // default burst has waited forever for a receipt (a CI run here; foundry#10630), and
        // one block per transaction costs nothing there. Under interval mining it would cost a
        // block time per transaction (minutes over the e2e suite), and the burst never hung.
        cmd.arg("--slow");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Any other hang becomes a clear error (the child is killed when the future is dropped).
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(FORGE_SCRIPT_TIMEOUT, cmd.output())
        .await
        .with_context(|| {
            format!(
                "forge script {script} against {rpc} did not finish in {} s",
                FORGE_SCRIPT_TIMEOUT.as_secs()
            )
        })?
        .context("running forge (run ./script/setup.sh first)")?;
    if !out.status.success() {
        bail!(
            "forge script {script} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Validator keys of the devnet.
pub fn validator_keys() -> anyhow::Result<Vec<ValidatorKey>> {
    VALIDATOR_KEYS
        .iter()
        .map(|k| {
            let bytes: [u8; 32] = alloy::primitives::hex::decode(k)?
                .try_into()
                .map_err(|_| anyhow::anyhow!("key length"))?;
            Ok(ValidatorKey::devnet(&bytes)?)
        })
        .collect()
}

impl Devnet {
    /// Starts everything; returns when the daemons are launched.
    pub async fn start(opts: DevnetOptions) -> anyhow::Result<Self> {
        let total = 6;
        let dir = &opts.dir;
        std::fs::create_dir_all(dir)?;
        // The chains are new: state kept for older ones would not replay on them.
        for stale in [
            "relayer.db",
            "relayer.db-wal",
            "relayer.db-shm",
            "l2node.journal",
        ] {
            let _ = std::fs::remove_file(dir.join(stale));
        }
        for i in 0..VALIDATOR_KEYS.len() {
            for s in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("validator-{i}.db{s}")));
            }
        }
        let ports = [opts.port_base, port(opts.port_base, 1)];
        say(
            &opts,
            1,
            total,
            &format!(
                "starting anvil chains {} (:{}) and {} (:{})",
                CHAIN_IDS[0], ports[0], CHAIN_IDS[1], ports[1]
            ),
        );
        let mut anvils = Vec::new();
        for (port, id) in ports.iter().zip(CHAIN_IDS) {
            anvils.push(
                start_anvil(
                    &opts.root,
                    *port,
                    id,
                    opts.block_time,
                    &dir.join(format!("anvil-{id}.log")),
                )
                .await?,
            );
        }
        say(
            &opts,
            2,
            total,
            "validator keys (secp256k1 + ML-DSA-65) into encrypted keystores, TLS certificates",
        );
        let keys = validator_keys()?;
        for (i, k) in keys.iter().enumerate() {
            let ks = ghostbridge_core::keystore::encrypt(k, DEVNET_PASSWORD.as_bytes())?;
            ghostbridge_core::keystore::write(
                &dir.join(format!("validator-{i}.keystore.json")),
                &ks,
            )?;
            let (cert, key) =
                ghostbridge_agent::tls::self_signed(&["localhost".into(), "127.0.0.1".into()])?;
            std::fs::write(dir.join(format!("validator-{i}.cert.pem")), cert)?;
            std::fs::write(dir.join(format!("validator-{i}.key.pem")), key)?;
        }
        // The relayers' and the watcher's client identities: the validators answer only them
        // (mutual TLS).
        for client in CLIENT_IDENTITIES {
            let (cert, key) =
                ghostbridge_agent::tls::self_signed(&[format!("{client}.ghostbridge")])?;
            std::fs::write(dir.join(format!("{client}-client.cert.pem")), cert)?;
            std::fs::write(dir.join(format!("{client}-client.key.pem")), key)?;
        }
        let template: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
            opts.root.join("script/config/devnet.json"),
        )?)?;
        let mut deploy_config = template.clone();
        deploy_config["validators"] = serde_json::json!(keys
            .iter()
            .map(|k| k.address().to_string())
            .collect::<Vec<_>>());
        deploy_config["pqKeyHashes"] = serde_json::json!(keys
            .iter()
            .map(|k| k.pq_key_hash().to_string())
            .collect::<Vec<_>>());
        deploy_config["comment"] = serde_json::json!(
            "Written by `ghostbridge devnet`: the devnet validators' real ML-DSA-65 key hashes."
        );
        let deploy_config_path = dir.join("deploy-config.json");
        std::fs::write(
            &deploy_config_path,
            serde_json::to_string_pretty(&deploy_config)?,
        )?;
        say(
            &opts,
            3,
            total,
            "deploying the contracts on both chains (forge script script/Deploy.s.sol --broadcast)",
        );
        let guardian: PrivateKeySigner = GUARDIAN_KEY.parse()?;
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
        let dir_abs = abs(dir);
        let rpcs: Vec<String> = ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        // The chains are independent: deploy on both at once.
        let deploy = |rpc: String, id: u64| {
            let env = [
                (
                    "DEPLOY_CONFIG",
                    abs(&deploy_config_path).display().to_string(),
                ),
                (
                    "DEPLOY_OUT",
                    dir_abs.join(format!("{id}.json")).display().to_string(),
                ),
                ("GUARDIAN", guardian.address().to_string()),
            ];
            let root = opts.root.clone();
            async move { forge_script(&root, "script/Deploy.s.sol:Deploy", &rpc, &env).await }
        };
        tokio::try_join!(
            deploy(rpcs[0].clone(), CHAIN_IDS[0]),
            deploy(rpcs[1].clone(), CHAIN_IDS[1])
        )?;
        say(
            &opts,
            4,
            total,
            "connecting the routes both ways (script/Connect.s.sol), funding the demo account",
        );
        // Each chain's side of the routes only reads both deployment files: both at once.
        let connect = |i: usize, remote_i: usize| {
            let (local, remote) = (CHAIN_IDS[i], CHAIN_IDS[remote_i]);
            let env = [
                (
                    "LOCAL_DEPLOYMENT",
                    dir_abs.join(format!("{local}.json")).display().to_string(),
                ),
                (
                    "REMOTE_DEPLOYMENT",
                    dir_abs.join(format!("{remote}.json")).display().to_string(),
                ),
                (
                    "DEPLOY_CONFIG",
                    abs(&deploy_config_path).display().to_string(),
                ),
            ];
            let (root, rpc) = (opts.root.clone(), rpcs[i].clone());
            async move { forge_script(&root, "script/Connect.s.sol:Connect", &rpc, &env).await }
        };
        tokio::try_join!(connect(0, 1), connect(1, 0))?;
        let chains: [DevChain; 2] = [0, 1].map(|i| DevChain {
            chain_id: CHAIN_IDS[i],
            rpc: rpcs[i].clone(),
            deployment: Deployment::read(&dir.join(format!("{}.json", CHAIN_IDS[i])))
                .expect("deployment written by forge"),
        });
        let user: PrivateKeySigner = USER_KEY.parse()?;
        for c in &chains {
            fund_user(c, user.address()).await?;
        }
        let mut devnet = Self {
            opts: opts.clone(),
            chains,
            validator_urls: Vec::new(),
            anvils,
            daemons: BTreeMap::new(),
            app: None,
        };
        let daemon_rpcs = opts
            .daemon_rpcs
            .clone()
            .map_or(rpcs.clone(), |r| r.to_vec());
        devnet.write_configs(&daemon_rpcs)?;
        say(
            &opts,
            5,
            total,
            &format!(
                "starting {} validators (HTTPS, TLS 1.3 X25519MLKEM768)",
                keys.len()
            ),
        );
        for i in 0..keys.len() {
            devnet.spawn_daemon(
                &format!("validator-{i}"),
                "validator",
                &[("GHOSTBRIDGE_KEYSTORE_PASSWORD", DEVNET_PASSWORD.into())],
            )?;
        }
        say(&opts, 6, total, "starting the relayer and the watcher");
        if opts.relayer {
            let api = [
                "--api-addr".to_owned(),
                devnet.api_addr(),
                "--api-cors-origin".to_owned(),
                devnet.api_cors_origin(),
            ];
            devnet.spawn_daemon_with(
                "relayer",
                "relay",
                &api,
                &[("GHOSTBRIDGE_RELAYER_KEY", RELAYER_KEY.into())],
            )?;
        }
        // The bridge page (app/), served where the status API allows CORS from.
        devnet.app = crate::app_server::start_for(&devnet).await;
        if opts.watcher {
            devnet.spawn_daemon(
                "watcher",
                "watch",
                &[("GHOSTBRIDGE_GUARDIAN_KEY", GUARDIAN_KEY.into())],
            )?;
        }
        if opts.ghostplane {
            devnet.start_ghostplane().await?;
        }
        devnet.wait_healthy(Duration::from_secs(60)).await?;
        Ok(devnet)
    }

    /// GhostPlane's deployment JSON (when `ghostplane` is on).
    pub fn ghostplane_deployment(&self) -> PathBuf {
        self.opts.dir.join("ghostplane.json")
    }

    /// GhostPlane's L2 JSON-RPC URL (when `ghostplane` is on).
    pub fn l2_rpc(&self) -> String {
        format!("http://127.0.0.1:{}", port(self.opts.port_base, 40))
    }

    /// Deploys GhostPlane on chain A over chain A's tokens (native ETH as id 4; a 10 s challenge
    /// window), bonds the sequencer (the deployer) and starts `ghostbridge l2 node`.
    async fn start_ghostplane(&mut self) -> anyhow::Result<()> {
        let opts = self.opts.clone();
        if opts.verbose {
            println!("[ghostplane] deploying GhostPlane on chain {} (script/DeployGhostPlane.s.sol), bonding the sequencer, starting its node", CHAIN_IDS[0]);
        }
        let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
        let a = &self.chains[0];
        let out = abs(&opts.dir).join("ghostplane.json");
        forge_script(
            &opts.root,
            "script/DeployGhostPlane.s.sol:DeployGhostPlane",
            &a.rpc,
            &[
                ("DEPLOY_OUT", out.display().to_string()),
                (
                    "BRIDGE_DEPLOYMENT",
                    abs(&opts.dir.join(format!("{}.json", a.chain_id)))
                        .display()
                        .to_string(),
                ),
                ("GHOSTPLANE_TOKEN_4", Address::ZERO.to_string()),
                ("GHOSTPLANE_CHALLENGE_WINDOW", "10".into()),
            ],
        )
        .await?;
        let deployment = ghostbridge_l2node::node::Deployment::load(&out)?;
        let deployer: PrivateKeySigner = DEPLOYER_KEY.parse()?;
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(deployer))
            .connect_http(a.rpc.parse()?);
        let bonded =
            ghostbridge_l2node::bindings::rollup::GhostPlaneRollup::new(deployment.rollup, &p)
                .bond()
                .value(U256::from(10u64).pow(U256::from(18u64)))
                .send()
                .await?
                .get_receipt()
                .await?;
        anyhow::ensure!(bonded.status(), "bonding the GhostPlane sequencer reverted");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(opts.dir.join("l2node.log"))?;
        let mut cmd = Command::new(ghostbridge_exe());
        cmd.args(["l2", "node", "--deployment"])
            .arg(&out)
            .args([
                "--l1-rpc",
                &a.rpc,
                "--rpc-addr",
                &format!("127.0.0.1:{}", port(opts.port_base, 40)),
                "--ops-addr",
                &self.ops_addr("l2node"),
                "--confirmations",
                &opts.confirmations.to_string(),
                // 1 s blocks: up to three batches a block when the L2 is busy.
                "--max-in-flight",
                "3",
                "--journal",
            ])
            .arg(opts.dir.join("l2node.journal"))
            .env("GHOSTPLANE_SEQUENCER_KEY", DEPLOYER_KEY)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting the GhostPlane node")?;
        self.daemons.insert("l2node".to_owned(), child);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(opts.dir.join("l2challenger.log"))?;
        let mut cmd = Command::new(ghostbridge_exe());
        cmd.args(["l2", "challenge", "--deployment"])
            .arg(&out)
            .args([
                "--l1-rpc",
                &a.rpc,
                "--ops-addr",
                &self.ops_addr("l2challenger"),
            ])
            .env("GHOSTPLANE_CHALLENGER_KEY", CHALLENGER_KEY)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = cmd.spawn().context("starting the GhostPlane challenger")?;
        self.daemons.insert("l2challenger".to_owned(), child);
        Ok(())
    }

    /// Config file of a daemon.
    pub fn config_path(&self, name: &str) -> PathBuf {
        self.opts.dir.join(format!("{name}.toml"))
    }

    /// Address of the relayer's status API (docs/STATUS_API.md).
    pub fn api_addr(&self) -> String {
        format!("127.0.0.1:{}", port(self.opts.port_base, 23))
    }

    /// Base URL of the relayer's status API.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr())
    }

    /// The one page origin the status API allows (CORS).
    pub fn api_cors_origin(&self) -> String {
        self.opts
            .api_cors_origin
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", port(self.opts.port_base, 24)))
    }

    /// Ops (metrics/health) address of a daemon.
    pub fn ops_addr(&self, name: &str) -> String {
        let b = self.opts.port_base;
        let port = match name {
            "relayer" => port(b, 20),
            "relayer-2" => port(b, 22),
            "watcher" => port(b, 21),
            "l2node" => port(b, 41),
            "l2challenger" => port(b, 42),
            v => port(
                port(b, 30),
                v.trim_start_matches("validator-")
                    .parse::<u16>()
                    .unwrap_or(0),
            ),
        };
        format!("127.0.0.1:{port}")
    }

    /// Writes every daemon's config by serialising the typed [`Config`] the daemon loads, so
    /// a devnet config can never carry a key the loader would refuse or miss one it needs.
    fn write_configs(&mut self, rpcs: &[String]) -> anyhow::Result<()> {
        let chains = self.chain_configs(rpcs, self.opts.confirmations, false);
        let validator_chains = self.chain_configs(
            rpcs,
            self.opts
                .validator_confirmations
                .unwrap_or(self.opts.confirmations),
            true,
        );
        let b = self.opts.port_base;
        let mut validators = Vec::with_capacity(VALIDATOR_KEYS.len());
        for i in 0..VALIDATOR_KEYS.len() {
            let url = format!("https://127.0.0.1:{}", port(port(b, 10), i as u16));
            validators.push(ValidatorEndpoint {
                url: url.clone(),
                tls_cert: format!("validator-{i}.cert.pem").into(),
                server_name: "localhost".into(),
            });
            self.validator_urls.push(url);
        }
        // Beside the configs: a relative SQLite path is resolved against the config's directory.
        let sqlite = |file: &str| format!("sqlite://{file}?mode=rwc");
        let client_tls = |client: &str| ClientTls {
            cert: format!("{client}-client.cert.pem").into(),
            key: format!("{client}-client.key.pem").into(),
        };
        let base = |store: Option<String>,
                    chains: &[ChainConfig],
                    validators: &[ValidatorEndpoint]| Config {
            store: store.map(|url| StoreSection { url }),
            chains: chains.to_vec(),
            validators: validators.to_vec(),
            client_tls: None,
            validator: None,
            relayer: None,
            watcher: None,
            base_dir: PathBuf::new(),
        };
        for i in 0..VALIDATOR_KEYS.len() {
            let name = format!("validator-{i}");
            let config = Config {
                validator: Some(ValidatorSection {
                    keystore: format!("validator-{i}.keystore.json").into(),
                    password_env: "GHOSTBRIDGE_KEYSTORE_PASSWORD".into(),
                    listen: format!("127.0.0.1:{}", port(port(b, 10), i as u16)),
                    tls_cert: format!("validator-{i}.cert.pem").into(),
                    tls_key: format!("validator-{i}.key.pem").into(),
                    ops_listen: self.ops_addr(&name),
                    poll_interval_ms: 250,
                    api_limits: ListenerLimits::default(),
                    ops_limits: ListenerLimits::default(),
                    client_certs: CLIENT_IDENTITIES
                        .iter()
                        .map(|c| format!("{c}-client.cert.pem").into())
                        .collect(),
                }),
                ..base(Some(sqlite(&format!("{name}.db"))), &validator_chains, &[])
            };
            self.write_config(&name, &config)?;
        }
        let store = self
            .opts
            .relayer_store
            .clone()
            .unwrap_or_else(|| sqlite("relayer.db"));
        for (name, id) in [("relayer", "relayer-1"), ("relayer-2", "relayer-2")] {
            let config = Config {
                relayer: Some(RelayerSection {
                    id: id.into(),
                    key_env: "GHOSTBRIDGE_RELAYER_KEY".into(),
                    ops_listen: self.ops_addr(name),
                    batch_min: self.opts.batch_min,
                    batch_max: 200,
                    pipeline_batches: 4,
                    rounds_in_flight: 4,
                    poll_interval_ms: 250,
                    lease_secs: 30,
                    max_attempts: 40,
                    max_final_attempts: 3,
                }),
                client_tls: Some(client_tls("relayer")),
                ..base(Some(store.clone()), &chains, &validators)
            };
            self.write_config(name, &config)?;
        }
        let config = Config {
            watcher: Some(WatcherSection {
                ops_listen: self.ops_addr("watcher"),
                guardian_key_env: Some("GHOSTBRIDGE_GUARDIAN_KEY".into()),
                poll_interval_ms: 500,
                unverified_alert_secs: 60,
            }),
            client_tls: Some(client_tls("watcher")),
            ..base(None, &chains, &validators)
        };
        self.write_config("watcher", &config)
    }

    /// The two devnet chains as a daemon's config states them (every key explicit). With
    /// `cross_check`, a validator's second RPC per chain (`validator_cross_check_rpcs`).
    fn chain_configs(
        &self,
        rpcs: &[String],
        confirmations: u64,
        cross_check: bool,
    ) -> Vec<ChainConfig> {
        (0..2)
            .map(|i| {
                let mut rpc_urls = vec![rpcs[i].clone()];
                if let (Some(second), true) = (&self.opts.validator_cross_check_rpcs, cross_check) {
                    rpc_urls.push(second[i].clone());
                }
                ChainConfig {
                    name: Some(format!("devnet-{}", ["a", "b"][i])),
                    preset: None,
                    chain_id: Some(CHAIN_IDS[i]),
                    rpc_urls,
                    confirmations: Some(confirmations),
                    block_time_ms: Some(self.opts.block_time.max(1).saturating_mul(1000)),
                    max_block_range: Some(1000),
                    deployment: Some(format!("{}.json", CHAIN_IDS[i]).into()),
                    gas: GasPolicy {
                        max_fee_per_gas_gwei: 200,
                        bump_percent: 15,
                        resubmit_after_secs: self.opts.resubmit_after_secs,
                        max_bumps: 6,
                        gas_limit_margin_percent: 130,
                    },
                }
            })
            .collect()
    }

    /// Writes `<name>.toml` from `config`, under a comment naming who wrote it.
    fn write_config(&self, name: &str, config: &Config) -> anyhow::Result<()> {
        let text = format!(
            "# ghostbridge {name} (written by `ghostbridge devnet`)\n{}",
            toml::to_string(config).context("serialising a devnet config")?
        );
        std::fs::write(self.config_path(name), text)?;
        Ok(())
    }

    /// Changes `<name>.toml` through its typed [`Config`] (e.g. a test pointing a daemon at a
    /// proxy), for a daemon started after the change.
    pub fn edit_config(&self, name: &str, edit: impl FnOnce(&mut Config)) -> anyhow::Result<()> {
        let path = self.config_path(name);
        let text = std::fs::read_to_string(&path)?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        edit(&mut config);
        self.write_config(name, &config)
    }

    /// Starts `ghostbridge <subcommand> --config <name>.toml` with its log in `<name>.log`.
    pub fn spawn_daemon(
        &mut self,
        name: &str,
        subcommand: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<()> {
        self.spawn_daemon_with(name, subcommand, &[], env)
    }

    /// [`Self::spawn_daemon`] with more arguments after `--config FILE`.
    pub fn spawn_daemon_with(
        &mut self,
        name: &str,
        subcommand: &str,
        args: &[String],
        env: &[(&str, String)],
    ) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.opts.dir.join(format!("{name}.log")))?;
        let mut cmd = Command::new(ghostbridge_exe());
        cmd.args([subcommand, "--config"])
            .arg(self.config_path(name))
            .args(args)
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        self.daemons.insert(name.to_owned(), child);
        Ok(())
    }

    /// `kill -9` a daemon (no graceful shutdown).
    pub async fn kill9(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(mut c) = self.daemons.remove(name) {
            c.start_kill()?;
            c.wait().await?;
        }
        Ok(())
    }

    /// SIGTERM a daemon and wait for it to exit.
    pub async fn terminate(&mut self, name: &str) -> anyhow::Result<std::process::ExitStatus> {
        let mut c = self.daemons.remove(name).context("no such daemon")?;
        if let Some(pid) = c.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        Ok(tokio::time::timeout(Duration::from_secs(20), c.wait()).await??)
    }

    /// Waits until every started daemon answers `/health` (any status: up, not necessarily
    /// healthy), or fails if one exited.
    pub async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let started = tokio::time::Instant::now();
        let names: Vec<String> = self.daemons.keys().cloned().collect();
        for name in names {
            let url = format!("http://{}/health", self.ops_addr(&name));
            loop {
                if let Some(c) = self.daemons.get_mut(&name) {
                    if let Some(status) = c.try_wait()? {
                        bail!(
                            "{name} exited with {status}; see {}",
                            self.opts.dir.join(format!("{name}.log")).display()
                        );
                    }
                }
                if reqwest::get(&url).await.is_ok() {
                    break;
                }
                if started.elapsed() > timeout {
                    bail!("{name} did not come up");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Process ids of the running daemons.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.daemons
            .iter()
            .filter_map(|(n, c)| c.id().map(|p| (n.clone(), p)))
            .collect()
    }

    /// Prints where everything listens.
    pub fn print_endpoints(&self) {
        for c in &self.chains {
            println!(
                "chain {}: {}  vault {}  minter {}  verifier {}",
                c.chain_id, c.rpc, c.deployment.vault, c.deployment.minter, c.deployment.verifier
            );
        }
        for (i, u) in self.validator_urls.iter().enumerate() {
            println!(
                "validator-{i}: {u}/v1/info  (ops http://{})",
                self.ops_addr(&format!("validator-{i}"))
            );
        }
        if self.daemons.contains_key("l2node") {
            println!(
                "GhostPlane L2: JSON-RPC {}  ops http://{}/health  deployment {}",
                self.l2_rpc(),
                self.ops_addr("l2node"),
                self.ghostplane_deployment().display()
            );
            println!(
                "GhostPlane challenger: ops http://{}/health",
                self.ops_addr("l2challenger")
            );
        }
        for n in ["relayer", "watcher"] {
            if self.daemons.contains_key(n) {
                println!(
                    "{n}: metrics http://{0}/metrics  health http://{0}/health",
                    self.ops_addr(n)
                );
            }
        }
        if self.daemons.contains_key("relayer") {
            println!(
                "status API: {0}/v1/transfers/{{tx hash or message id}}  {0}/v1/quote?from={1}&to={2}&token=GCC&amount=1000000000000000000  (CORS: {3})",
                self.api_url(),
                CHAIN_IDS[0],
                CHAIN_IDS[1],
                self.api_cors_origin()
            );
        }
        if let Some(app) = &self.app {
            println!("bridge page: {}  (config {}config.json)", app.url, app.url);
        }
        println!("configs, keys, logs: {}", self.opts.dir.display());
        println!(
            "try: ghostbridge transfer --config {} --from {} --to {} --token GCC --amount 1.5",
            self.config_path("relayer").display(),
            CHAIN_IDS[0],
            CHAIN_IDS[1]
        );
    }

    /// Kills everything (also done on drop).
    pub async fn stop(mut self) {
        let names: Vec<String> = self.daemons.keys().cloned().collect();
        for n in names {
            let _ = self.terminate(&n).await;
        }
        for a in &mut self.anvils {
            let _ = a.start_kill();
        }
    }
}

/// Mints GhostChain tokens (and GHOST for fees) to `user` on a devnet chain.
pub async fn fund_user(c: &DevChain, user: Address) -> anyhow::Result<()> {
    let deployer: PrivateKeySigner = DEPLOYER_KEY.parse()?;
    let p = ProviderBuilder::new()
        .wallet(EthereumWallet::from(deployer))
        .connect_http(c.rpc.parse()?);
    for token in c.deployment.tokens.values() {
        if token.is_zero() {
            continue;
        }
        let amount = U256::from(10u64).pow(U256::from(27u64)); // 1e9 tokens
        GhostToken::new(*token, &p)
            .mint(user, amount)
            .send()
            .await?
            .get_receipt()
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `--slow` follows the chain's mining mode: an automining anvil says so, an interval-mining
    /// one and a dead RPC do not.
    #[tokio::test]
    async fn automines_tells_the_mining_mode() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir();
        for (block_time, expected) in [(0, true), (1, false)] {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = dir.join(format!("automines-{}-{port}.log", std::process::id()));
            let _anvil = start_anvil(&root, port, 31_337, block_time, &log)
                .await
                .unwrap();
            let rpc = format!("http://127.0.0.1:{port}");
            assert_eq!(automines(&rpc).await, expected, "block time {block_time}");
            let _ = std::fs::remove_file(&log);
        }
        assert!(!automines("http://127.0.0.1:1").await);
    }
}
