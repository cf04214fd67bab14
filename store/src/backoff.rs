//! Retry scheduling: bounded exponential backoff with deterministic jitter.
//!
//! Pure functions: the store persists their result as `next_attempt_at`, so a restart keeps the
//! schedule, and tests can check the bounds without a clock.

use alloy_primitives::B256;
use core::time::Duration;

/// How failed attempts are spaced and when the store gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Delay after the first failed attempt (before jitter).
    pub base: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// After this many attempts a failure becomes `failed_permanently` (with the last error as
    /// the reason) instead of being retried: retries are bounded.
    pub max_attempts: u32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(600),
            max_attempts: 100,
        }
    }
}

/// Delay before the next try after `attempt` attempts (1-based; 0 is treated as 1).
///
/// The un-jittered delay is `base * 2^(attempt-1)` capped at `max`; the result is uniformly
/// spread over its upper half ("equal jitter") using `jitter_seed`, so it always lies in
/// `[d/2, d]` and never exceeds `policy.max`.
pub fn backoff_delay(policy: &BackoffPolicy, attempt: u32, jitter_seed: u64) -> Duration {
    let base_ms = duration_ms(policy.base);
    let max_ms = duration_ms(policy.max);
    let exponent = attempt.saturating_sub(1).min(63);
    let full_ms = base_ms.saturating_mul(1u64 << exponent).min(max_ms);
    let half_ms = full_ms / 2;
    let span = full_ms.saturating_sub(half_ms).saturating_add(1);
    let jitter_ms = mix64(jitter_seed).checked_rem(span).unwrap_or(0);
    Duration::from_millis(half_ms.saturating_add(jitter_ms))
}

/// A jitter seed for a message's `attempt`: different messages (and attempts) spread out, the
/// same inputs always give the same seed.
pub fn jitter_seed(message_id: &B256, attempt: u32) -> u64 {
    let mut head = [0u8; 8];
    head.copy_from_slice(&message_id[..8]);
    u64::from_be_bytes(head) ^ mix64(u64::from(attempt))
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// SplitMix64 finalizer.
const fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_then_caps() {
        let p = BackoffPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 10,
        };
        for seed in [0, 1, u64::MAX, 0xdead_beef] {
            let d1 = backoff_delay(&p, 1, seed);
            assert!(
                d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1),
                "{d1:?}"
            );
            let d3 = backoff_delay(&p, 3, seed);
            assert!(
                d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4),
                "{d3:?}"
            );
            for attempt in [7, 20, 64, 1000, u32::MAX] {
                let d = backoff_delay(&p, attempt, seed);
                assert!(
                    d >= Duration::from_secs(30) && d <= p.max,
                    "{attempt}: {d:?}"
                );
            }
        }
        assert_eq!(backoff_delay(&p, 0, 5), backoff_delay(&p, 1, 5));
    }

    #[test]
    fn jitter_spreads_and_is_deterministic() {
        let p = BackoffPolicy::default();
        let a = B256::repeat_byte(1);
        let b = B256::repeat_byte(2);
        assert_eq!(jitter_seed(&a, 4), jitter_seed(&a, 4));
        let delays: std::collections::HashSet<_> = (0..32u64)
            .map(|s| backoff_delay(&p, 5, jitter_seed(&a, 5) ^ s))
            .collect();
        assert!(delays.len() > 16, "jitter should spread delays");
        assert_ne!(jitter_seed(&a, 4), jitter_seed(&b, 4));
    }

    #[test]
    fn zero_policy_is_zero() {
        let p = BackoffPolicy {
            base: Duration::ZERO,
            max: Duration::ZERO,
            max_attempts: 1,
        };
        assert_eq!(backoff_delay(&p, 9, 123), Duration::ZERO);
    }
}
