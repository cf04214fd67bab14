//! `daemon::agent_main`: the one start-up and life of the bridge daemons. A config error is a
//! typed error and nothing starts; a role that keeps state gets its store opened and migrated; a
//! start-up error is returned as it is; a panicking task stops the daemon with its name, after
//! the other tasks were asked to stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ghostbridge_agent::daemon::{agent_main, Daemon, DaemonError, Tasks};
use ghostbridge_core::config::Role;

#[path = "../../core/tests/common/mod.rs"]
mod common;

/// A relayer config in a fresh directory: two chains, a SQLite store, a validator with a
/// certificate, an ops port the OS picks.
fn relayer_config(tag: &str) -> (PathBuf, PathBuf) {
    let dir = common::temp_dir(&format!("daemon-{tag}"));
    for chain_id in [31337u64, 31338] {
        let deployment = serde_json::json!({
            "chainId": chain_id,
            "verifier": "0x1000000000000000000000000000000000000001",
            "feeManager": "0x1000000000000000000000000000000000000002",
            "vault": "0x1000000000000000000000000000000000000003",
            "minter": "0x1000000000000000000000000000000000000004",
            "guardian": "0x1000000000000000000000000000000000000005",
            "deployBlock": 0,
            "tokens": {}
        });
        std::fs::write(
            dir.join(format!("deploy-{chain_id}.json")),
            deployment.to_string(),
        )
        .unwrap();
    }
    let (cert, _) = ghostbridge_agent::tls::self_signed(&["localhost".into()]).unwrap();
    std::fs::write(dir.join("validator.pem"), cert).unwrap();
    let config = dir.join("relayer.toml");
    std::fs::write(
        &config,
        r#"
[store]
url = "sqlite://state.db?mode=rwc"

[[chains]]
preset = "custom"
chain_id = 31337
rpc_urls = ["http://127.0.0.1:1"]
confirmations = 1
deployment = "deploy-31337.json"

[[chains]]
preset = "custom"
chain_id = 31338
rpc_urls = ["http://127.0.0.1:2"]
confirmations = 1
deployment = "deploy-31338.json"

[[validators]]
url = "https://127.0.0.1:1"
tls_cert = "validator.pem"

[relayer]
id = "test"
ops_listen = "127.0.0.1:0"
"#,
    )
    .unwrap();
    (dir, config)
}

fn cleanup(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_invalid_config_is_a_typed_error_and_nothing_starts() {
    let (dir, config) = relayer_config("invalid");
    std::fs::write(&config, "[relayer]\nid = 3\n").unwrap();
    let started = AtomicBool::new(false);
    let outcome = agent_main(&config, Role::Relayer, |_| async {
        started.store(true, Ordering::SeqCst);
        Ok::<Tasks, DaemonError>(Vec::new())
    })
    .await;
    cleanup(&dir);
    match outcome {
        Err(DaemonError::Config(e)) => {
            assert!(
                e.problems.iter().any(|p| p.key.starts_with("relayer")),
                "{e}"
            )
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    assert!(
        !started.load(Ordering::SeqCst),
        "start ran on an invalid config"
    );
}

#[tokio::test]
async fn a_relayer_gets_its_store_migrated_and_a_clean_stop_is_ok() {
    let (dir, config) = relayer_config("store");
    let outcome = agent_main(&config, Role::Relayer, |d: Daemon| async move {
        let store = d.store.expect("a relayer's store");
        // Answers only from a migrated schema.
        let counts = store.status_counts().await.expect("migrated store");
        assert_eq!(counts.seen, 0);
        assert_eq!(d.chains.len(), 2);
        // One task that ends by itself: the daemon stops cleanly.
        Ok(vec![("done".to_owned(), tokio::spawn(async {}))])
    })
    .await;
    let migrated = dir.join("state.db").is_file();
    cleanup(&dir);
    outcome.unwrap();
    assert!(
        migrated,
        "the SQLite store was not created next to the config"
    );
}

#[tokio::test]
async fn a_start_error_is_returned_as_it_is() {
    let (dir, config) = relayer_config("start-error");
    let outcome = agent_main(&config, Role::Relayer, |d: Daemon| async move {
        let shutdown = d.shutdown.clone();
        let err = ghostbridge_agent::daemon::secret_from_env(
            "relayer key",
            "GHOSTBRIDGE_TEST_SURELY_UNSET_KEY",
        )
        .unwrap_err();
        assert!(!shutdown.is_cancelled());
        Err::<Tasks, _>(err)
    })
    .await;
    cleanup(&dir);
    match outcome {
        Err(DaemonError::MissingSecret { what, env }) => {
            assert_eq!(what, "relayer key");
            assert_eq!(env, "GHOSTBRIDGE_TEST_SURELY_UNSET_KEY");
        }
        other => panic!("expected the start-up error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_panicking_task_stops_the_daemon_with_its_name() {
    let (dir, config) = relayer_config("panic");
    let patient_stopped = Arc::new(AtomicBool::new(false));
    let flag = patient_stopped.clone();
    let outcome = agent_main(&config, Role::Relayer, |d: Daemon| async move {
        let shutdown = d.shutdown.clone();
        let patient = tokio::spawn(async move {
            shutdown.cancelled().await;
            flag.store(true, Ordering::SeqCst);
        });
        let broken = tokio::spawn(async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            panic!("the delivery loop broke");
        });
        Ok(vec![
            ("scanner 31337".to_owned(), patient),
            ("deliver 31337".to_owned(), broken),
        ])
    })
    .await;
    cleanup(&dir);
    match outcome {
        Err(DaemonError::Stopped(failed)) => {
            assert_eq!(failed.task, "deliver 31337");
            assert_eq!(failed.why, "panicked: the delivery loop broke");
        }
        other => panic!("expected the task failure, got {other:?}"),
    }
    assert!(
        patient_stopped.load(Ordering::SeqCst),
        "the other task was not asked to stop"
    );
}
