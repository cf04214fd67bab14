//! The watcher's errors, typed so a caller can tell a passing RPC failure (retry the pass) from
//! one that needs an operator (a bad env value, a guardian transaction that reverted).

use ghostbridge_agent::chain::ChainError;
use ghostbridge_agent::events::EventError;

/// Why a pass, a guardian action or the start-up failed.
#[derive(Debug, thiserror::Error)]
pub enum WatcherError {
    /// Reading or writing a chain failed (node down, timeout, undecodable answer, bad URL):
    /// see [`ChainError::is_retryable`]. Nothing of the pass is kept.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// Reading a contract's logs failed (see [`EventError::is_retryable`]).
    #[error(transparent)]
    Events(#[from] EventError),
    /// A guardian transaction (`pauseAll`, `cancelHeld`, `cancelRotation`) was mined but
    /// reverted: the chain refused it, trying the same again does not help.
    #[error("{what} reverted ({hint})")]
    Reverted {
        /// The call.
        what: &'static str,
        /// The likely reason.
        hint: String,
    },
    /// A guardian action was needed but no guardian key is configured.
    #[error("no guardian key configured")]
    NoGuardianKey,
    /// `cancelRotation` was due but the verifier has no pending rotation (already cancelled or
    /// executed).
    #[error("no pending rotation (already cancelled or executed)")]
    NoPendingRotation,
    /// An environment variable holds a value the watcher cannot use.
    #[error("{var}: {reason}")]
    BadEnv {
        /// The variable.
        var: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The watcher could not be built from its parts (a chain without a provider).
    #[error("watcher start-up: {0}")]
    Start(String),
}

impl WatcherError {
    /// Whether trying again later may succeed: RPC failures are, a reverted transaction, a bad
    /// env value or a start-up problem are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_retryable(),
            Self::Events(e) => e.is_retryable(),
            Self::Reverted { .. }
            | Self::NoGuardianKey
            | Self::NoPendingRotation
            | Self::BadEnv { .. }
            | Self::Start(_) => false,
        }
    }

    /// A failed RPC request (`what`: the call) made with alloy: retryable.
    pub(crate) fn rpc(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Chain(ChainError::Rpc {
            what,
            reason: e.to_string(),
        })
    }

    /// A log whose data does not decode as the event its topic names (a wrong or lying node).
    pub(crate) fn decode(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Chain(ChainError::Decode {
            what,
            reason: e.to_string(),
        })
    }
}

impl ghostbridge_agent::runtime::Retry for WatcherError {
    fn is_retryable(&self) -> bool {
        WatcherError::is_retryable(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_failures_are_retried_reverts_and_bad_env_are_not() {
        assert!(WatcherError::rpc("eth_blockNumber", "connection refused").is_retryable());
        assert!(WatcherError::Events(EventError::MissingBlock(7)).is_retryable());
        assert!(!WatcherError::Chain(ChainError::BadUrl {
            url: "x".into(),
            reason: "relative URL".into()
        })
        .is_retryable());
        let reverted = WatcherError::Reverted {
            what: "pauseAll",
            hint: "already paused".into(),
        };
        assert!(!reverted.is_retryable());
        assert_eq!(reverted.to_string(), "pauseAll reverted (already paused)");
        assert!(!WatcherError::BadEnv {
            var: "GHOSTBRIDGE_EXPECTED_ROTATIONS".into(),
            reason: "bad".into()
        }
        .is_retryable());
    }
}
