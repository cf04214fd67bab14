//! `Config::load`: presets resolve; every semantic problem is reported at once under its dotted
//! key; type errors and unknown keys are refused naming the key; env overrides address chains by
//! id; the relayer role needs its section and the validators.

use std::path::{Path, PathBuf};

mod common;

use ghostbridge_core::config::{apply_env_overrides, Config, ConfigErrors, Role, PRESETS};

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = common::temp_dir(&format!("config-{tag}"));
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a deployment JSON for `chain_id` as `deploy-<chain_id>.json`.
    fn deployment(&self, chain_id: u64) -> PathBuf {
        let json = serde_json::json!({
            "chainId": chain_id,
            "verifier": "0x1000000000000000000000000000000000000001",
            "feeManager": "0x1000000000000000000000000000000000000002",
            "vault": "0x1000000000000000000000000000000000000003",
            "minter": "0x1000000000000000000000000000000000000004",
            "guardian": "0x1000000000000000000000000000000000000005",
            "deployBlock": 7,
            "tokens": { "GHOST": "0x1000000000000000000000000000000000000006" }
        });
        let p = self.0.join(format!("deploy-{chain_id}.json"));
        std::fs::write(&p, serde_json::to_string_pretty(&json).expect("json"))
            .expect("write deployment");
        p
    }

    fn config(&self, toml: &str) -> PathBuf {
        let p = self.0.join("ghostbridge.toml");
        std::fs::write(&p, toml).expect("write config");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Two valid chains: a local anvil (custom) and Arbitrum One by preset; deployment paths are
/// relative to the config file.
const VALID: &str = r#"
[store]
url = "sqlite://state.db?mode=rwc"

[[chains]]
name = "anvil"
preset = "custom"
chain_id = 31337
rpc_urls = ["http://127.0.0.1:8545", "http://127.0.0.1:8546"]
confirmations = 1
deployment = "deploy-31337.json"

[[chains]]
preset = "arbitrum-one"
rpc_urls = ["https://arb1.example"]
deployment = "deploy-42161.json"
"#;

fn load_err(path: &Path, role: Role) -> ConfigErrors {
    match Config::load(path, role) {
        Ok(_) => panic!("config {} must be refused", path.display()),
        Err(e) => e,
    }
}

#[test]
fn valid_two_chain_config_loads_and_presets_resolve() {
    let dir = TempDir::new("valid");
    dir.deployment(31337);
    dir.deployment(42161);
    let path = dir.config(VALID);
    let (config, chains) = Config::load(&path, Role::Client).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(config.base_dir, dir.path());
    assert_eq!(config.chains.len(), 2);
    assert_eq!(chains.len(), 2);

    let anvil = &chains[0];
    assert_eq!(anvil.name, "anvil");
    assert_eq!(anvil.chain_id, 31337);
    assert_eq!(
        anvil.rpc_urls,
        ["http://127.0.0.1:8545", "http://127.0.0.1:8546"]
    );
    // No preset: the built-in defaults.
    assert_eq!(anvil.confirmations, 1);
    assert_eq!(anvil.block_time_ms, 1_000);
    assert_eq!(anvil.max_block_range, 1_000);
    assert_eq!(anvil.deployment.chain_id, 31337);
    assert_eq!(anvil.deployment.deploy_block, 7);
    assert_eq!(anvil.deployment.tokens.len(), 1);

    let arb = &chains[1];
    let preset = PRESETS
        .iter()
        .find(|p| p.name == "arbitrum-one")
        .expect("arbitrum-one preset");
    assert_eq!(arb.name, "arbitrum-one");
    assert_eq!(arb.chain_id, 42161);
    assert_eq!(arb.chain_id, preset.chain_id);
    assert_eq!(arb.confirmations, 20);
    assert_eq!(arb.confirmations, preset.confirmations);
    assert_eq!(arb.block_time_ms, preset.block_time_ms);
    assert_eq!(arb.max_block_range, preset.max_block_range);
    assert_eq!(arb.deployment.chain_id, 42161);
    assert_eq!(arb.gas, Default::default());
}

#[test]
fn preset_values_can_be_overridden_per_chain() {
    let dir = TempDir::new("override");
    dir.deployment(31337);
    dir.deployment(42161);
    let toml = VALID.replace(
        "preset = \"arbitrum-one\"\n",
        "preset = \"arbitrum-one\"\nchain_id = 42161\nconfirmations = 3\n",
    );
    let path = dir.config(&toml);
    let (_, chains) = Config::load(&path, Role::Client).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chains[1].chain_id, 42161);
    assert_eq!(chains[1].confirmations, 3);
    assert_eq!(chains[1].block_time_ms, 250);
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = TempDir::new("many");
    dir.deployment(31337);
    dir.deployment(1);
    let path = dir.config(
        r#"
[store]
url = "mysql://db/bridge"

# unknown preset (chain id given, so only the preset is wrong)
[[chains]]
preset = "no-such-chain"
chain_id = 31337
confirmations = 2
rpc_urls = ["http://127.0.0.1:8545"]
deployment = "deploy-31337.json"

# chain id contradicting the preset; an rpc url that is not http(s)
[[chains]]
preset = "arbitrum-one"
chain_id = 1
rpc_urls = ["ftp://x"]
deployment = "deploy-1.json"

# duplicate chain id; no deployment; no preset and no confirmation depth
[[chains]]
chain_id = 31337
rpc_urls = ["http://127.0.0.1:8546"]
"#,
    );
    let err = load_err(&path, Role::Client);
    assert_eq!(err.path, path);
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    let mut expected = vec![
        "store.url",
        "chains[0].preset",
        "chains[1].chain_id",
        "chains[1].rpc_urls[0]",
        "chains[2].chain_id",
        "chains[2].deployment",
        "chains[2].confirmations",
    ];
    expected.sort_unstable();
    assert_eq!(sorted, expected, "problems: {:#?}", err.problems);

    let problem = |key: &str| {
        &err.problems
            .iter()
            .find(|p| p.key == key)
            .unwrap_or_else(|| panic!("no problem for {key}"))
            .problem
    };
    assert!(
        problem("chains[0].preset").contains("no-such-chain"),
        "{}",
        problem("chains[0].preset")
    );
    assert!(
        problem("chains[0].preset").contains("arbitrum-one"),
        "lists the known presets"
    );
    assert!(
        problem("chains[1].chain_id").contains("contradicts"),
        "{}",
        problem("chains[1].chain_id")
    );
    assert!(problem("chains[1].rpc_urls[0]").contains("ftp://x"));
    assert!(
        problem("chains[2].chain_id").contains("twice"),
        "{}",
        problem("chains[2].chain_id")
    );
    assert!(problem("chains[2].deployment").contains("missing"));
    assert!(problem("chains[2].confirmations").contains("without a preset"));

    let shown = err.to_string();
    assert!(shown.contains("7 problem(s)"), "{shown}");
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    for p in &err.problems {
        assert!(
            shown.contains(&format!("{}: {}", p.key, p.problem)),
            "display lacks {p:?}:\n{shown}"
        );
    }
}

#[test]
fn deployment_for_another_chain_is_refused() {
    let dir = TempDir::new("wrongdeploy");
    dir.deployment(31337);
    dir.deployment(42161);
    // Arbitrum One pointing at the anvil deployment.
    let path = dir.config(&VALID.replace("deploy-42161.json", "deploy-31337.json"));
    let err = load_err(&path, Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "chains[1].deployment");
    assert!(err.problems[0].problem.contains("31337"), "{err}");
}

#[test]
fn type_error_names_its_key() {
    let dir = TempDir::new("type");
    dir.deployment(31337);
    dir.deployment(42161);
    let toml = VALID.replace("confirmations = 1\n", "confirmations = \"three\"\n");
    let path = dir.config(&toml);
    let err = load_err(&path, Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    let key = &err.problems[0].key;
    assert!(
        key.contains("confirmations"),
        "key {key:?} should name confirmations: {err}"
    );
    assert!(
        key.contains("chains"),
        "key {key:?} should be under chains: {err}"
    );
    assert!(err.to_string().contains("confirmations"), "{err}");
}

#[test]
fn the_fee_cap_is_whole_gwei_and_at_least_one() {
    let dir = TempDir::new("feecap");
    dir.deployment(31337);
    dir.deployment(42161);
    let with_cap = |cap: &str| {
        VALID.replace(
            "deployment = \"deploy-31337.json\"\n",
            &format!(
                "deployment = \"deploy-31337.json\"\n[chains.gas]\nmax_fee_per_gas_gwei = {cap}\n\
                 bump_percent = 15\nresubmit_after_secs = 20\nmax_bumps = 6\n\
                 gas_limit_margin_percent = 130\n"
            ),
        )
    };
    let (_, chains) =
        Config::load(&dir.config(&with_cap("250")), Role::Client).expect("whole gwei loads");
    assert_eq!(chains[0].gas.max_fee_per_gas_gwei, 250);
    // A fraction would be rounded somewhere on its way to wei: refused, naming the key.
    let err = load_err(&dir.config(&with_cap("2.5")), Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(
        err.problems[0].key.contains("max_fee_per_gas_gwei"),
        "{err}"
    );
    // A cap of zero would refuse every transaction.
    let err = load_err(&dir.config(&with_cap("0")), Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "chains[0].gas.max_fee_per_gas_gwei");
    assert!(err.problems[0].problem.contains(">= 1"), "{err}");
}

#[test]
fn unknown_key_is_refused_naming_it() {
    let dir = TempDir::new("unknown");
    dir.deployment(31337);
    dir.deployment(42161);
    let toml = VALID.replace(
        "rpc_urls = [\"https://arb1.example\"]",
        "rpc_url = [\"https://arb1.example\"]",
    );
    assert_ne!(toml, VALID);
    let path = dir.config(&toml);
    let err = load_err(&path, Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    let shown = err.to_string();
    assert!(shown.contains("rpc_url"), "{shown}");
    assert!(err.problems[0].problem.contains("unknown field"), "{shown}");
}

#[test]
fn syntax_error_is_refused() {
    let dir = TempDir::new("syntax");
    let path = dir.config("[store\nurl = ");
    let err = load_err(&path, Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "(syntax)");
}

#[test]
fn missing_file_is_refused() {
    let dir = TempDir::new("nofile");
    let err = load_err(&dir.path().join("absent.toml"), Role::Client);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "(file)");
}

fn vars(v: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
    v.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn env_overrides_set_keys_and_address_chains_by_id() {
    let mut value: toml::Value = toml::from_str(
        VALID
            .replace("preset = \"arbitrum-one\"\n", "chain_id = 42161\n")
            .as_str(),
    )
    .expect("toml");
    apply_env_overrides(
        &mut value,
        vars(&[
            ("GHOSTBRIDGE__store__url", "postgres://x/y"),
            ("GHOSTBRIDGE__chains__31337__confirmations", "7"),
            (
                "GHOSTBRIDGE__chains__42161__rpc_urls",
                r#"["http://a", "http://b"]"#,
            ),
            ("NOT_GHOSTBRIDGE__store__url", "ignored"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .expect("overrides apply");

    assert_eq!(value["store"]["url"].as_str(), Some("postgres://x/y"));
    let chains = value["chains"].as_array().expect("chains");
    // Numbers parse as TOML integers, so the value deserializes as u64.
    assert_eq!(chains[0]["confirmations"].as_integer(), Some(7));
    assert!(
        chains[1].get("confirmations").is_none(),
        "only chain 31337 changed"
    );
    let urls: Vec<_> = chains[1]["rpc_urls"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(toml::Value::as_str)
        .collect();
    assert_eq!(urls, ["http://a", "http://b"]);

    // The overridden value goes through the typed config.
    let config: Config = value.try_into().expect("typed config");
    assert_eq!(config.store_url().as_deref(), Some("postgres://x/y"));
    assert_eq!(config.chains[0].confirmations, Some(7));
}

#[test]
fn env_override_creates_missing_tables() {
    let mut value: toml::Value = toml::from_str(VALID).expect("toml");
    apply_env_overrides(&mut value, vars(&[("GHOSTBRIDGE__relayer__id", "r1")]))
        .expect("overrides apply");
    assert_eq!(value["relayer"]["id"].as_str(), Some("r1"));
}

#[test]
fn env_override_for_unknown_chain_names_the_variable() {
    let mut value: toml::Value = toml::from_str(VALID).expect("toml");
    let (var, problem) = apply_env_overrides(
        &mut value,
        vars(&[("GHOSTBRIDGE__chains__999__confirmations", "7")]),
    )
    .expect_err("no chain 999");
    assert_eq!(var, "GHOSTBRIDGE__chains__999__confirmations");
    assert!(problem.contains("999"), "{problem}");

    let (var, problem) = apply_env_overrides(
        &mut value,
        vars(&[("GHOSTBRIDGE__chains__anvil__confirmations", "7")]),
    )
    .expect_err("chains are addressed by id");
    assert_eq!(var, "GHOSTBRIDGE__chains__anvil__confirmations");
    assert!(problem.contains("anvil"), "{problem}");
}

#[test]
fn relayer_role_needs_section_and_validators() {
    let dir = TempDir::new("relayer");
    dir.deployment(31337);
    dir.deployment(42161);
    let path = dir.config(VALID);
    assert!(
        Config::load(&path, Role::Client).is_ok(),
        "valid for the client"
    );
    let err = load_err(&path, Role::Relayer);
    let mut keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["relayer", "validators"], "{err}");
    let shown = err.to_string();
    assert!(shown.contains("2 problem(s)"), "{shown}");
    assert!(shown.contains("relayer: section missing"), "{shown}");
}

#[test]
fn only_the_daemons_with_state_need_a_store() {
    let dir = TempDir::new("nostore");
    dir.deployment(31337);
    dir.deployment(42161);
    std::fs::write(dir.0.join("v.pem"), "").expect("write cert");
    let without_store = VALID.replace("[store]\nurl = \"sqlite://state.db?mode=rwc\"\n", "");
    assert!(!without_store.contains("[store]"));
    let validators = "\n[[validators]]\nurl = \"https://127.0.0.1:9000\"\ntls_cert = \"v.pem\"\n";
    // The watcher keeps no state: no [store] to write.
    let watcher = dir.config(&format!(
        "{without_store}{validators}\n[watcher]\nops_listen = \"127.0.0.1:9200\"\n"
    ));
    let (config, _) = Config::load(&watcher, Role::Watcher).expect("a watcher needs no store");
    assert_eq!(config.store_url(), None);
    // The relayer does.
    let relayer = dir.config(&format!(
        "{without_store}{validators}\n[relayer]\nid = \"r1\"\nops_listen = \"127.0.0.1:9100\"\n"
    ));
    let err = load_err(&relayer, Role::Relayer);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].key, "store", "{err}");
    assert!(err.problems[0].problem.contains("missing"), "{err}");
}

#[test]
fn relayer_max_final_attempts_defaults_to_three_and_zero_is_refused() {
    let dir = TempDir::new("finalattempts");
    dir.deployment(31337);
    dir.deployment(42161);
    std::fs::write(dir.0.join("v.pem"), "").expect("write cert");
    let section = "\n[[validators]]\nurl = \"https://127.0.0.1:9000\"\ntls_cert = \"v.pem\"\n\n[relayer]\nid = \"r1\"\nops_listen = \"127.0.0.1:9100\"\n";
    let path = dir.config(&format!("{VALID}{section}"));
    match Config::load(&path, Role::Relayer) {
        Ok((config, _)) => assert_eq!(
            config.relayer.expect("relayer section").max_final_attempts,
            3
        ),
        Err(e) => panic!("valid relayer config refused: {e}"),
    }
    let path = dir.config(&format!("{VALID}{section}max_final_attempts = 0\n"));
    let err = load_err(&path, Role::Relayer);
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["relayer.max_final_attempts"], "{err}");
}

/// A relative SQLite path is the config file's neighbour, whatever the working directory: a
/// daemon started elsewhere must not open a fresh, empty store. Other URLs pass unchanged.
#[test]
fn a_relative_sqlite_store_lives_next_to_the_config() {
    let dir = TempDir::new("store-path");
    dir.deployment(31337);
    dir.deployment(42161);
    let with = |url: &str| {
        let toml = VALID.replace("sqlite://state.db?mode=rwc", url);
        let (config, _) =
            Config::load(&dir.config(&toml), Role::Client).unwrap_or_else(|e| panic!("{e}"));
        config.store_url().map(|u| u.into_owned())
    };
    let beside = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("state.db").display()
    );
    assert_eq!(
        with("sqlite://state.db?mode=rwc").as_deref(),
        Some(&*beside)
    );
    assert_eq!(with("sqlite:state.db?mode=rwc").as_deref(), Some(&*beside));
    for unchanged in [
        "sqlite:///var/lib/ghostbridge/state.db?mode=rwc",
        "sqlite::memory:",
        "postgres://127.0.0.1:5432/test",
    ] {
        assert_eq!(with(unchanged).as_deref(), Some(unchanged));
    }
}

/// Mutual TLS files are checked at load like every other path: a missing client identity or
/// pinned client certificate is reported under its key.
#[test]
fn missing_mutual_tls_files_are_reported_under_their_keys() {
    let dir = TempDir::new("mtls");
    dir.deployment(31337);
    dir.deployment(42161);
    std::fs::write(dir.0.join("v.pem"), "").expect("write cert");
    let toml = format!(
        "{VALID}\n[client_tls]\ncert = \"relayer.pem\"\nkey = \"relayer.key\"\n\n[[validators]]\nurl = \"https://127.0.0.1:9000\"\ntls_cert = \"v.pem\"\n\n[relayer]\nid = \"r1\"\nops_listen = \"127.0.0.1:9100\"\n"
    );
    let err = load_err(&dir.config(&toml), Role::Relayer);
    let keys: Vec<&str> = err.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["client_tls.cert", "client_tls.key"], "{err}");
    std::fs::write(dir.0.join("relayer.pem"), "").expect("write");
    std::fs::write(dir.0.join("relayer.key"), "").expect("write");
    assert!(Config::load(&dir.config(&toml), Role::Relayer).is_ok());
}
