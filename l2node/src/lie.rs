//! A deliberately lying sequencer, for the challenger's end-to-end tests only: compiled in with
//! the feature `test-lies` (never by `cargo build` or the devnet), switched on by the
//! environment variable `GHOSTPLANE_TEST_LIE=<kind>:<batch>`. The poster then posts batch
//! `<batch>` altered; the node's own state, journal and receipts stay honest, so only L1 holds
//! the lie (what a challenger must catch). Every lie keeps the header's claimed final state and
//! recomputes its op count and data commitment over the altered records, so `submitBatch`
//! accepts it and the lie can only be caught by a fraud proof.
//!
//! Kinds (what the challenger's replayer finds, and the proof that cuts the batch):
//! - `wrong-post-state`: the last op's post-step commitment is not the state it leads to
//!   (`Verdict::Fraud` at that op, "post-step commitment differs"; `proveFraud`, SPEC rule 2).
//! - `invalid-op`: the last op's amount is changed, so its signature no longer verifies, or a
//!   deposit claims more than the portal took (`Verdict::Fraud` at that op; `proveFraud`, rule 1).
//! - `skip-deposit`: the first record that consumes a portal deposit (a deposit, or a refund) is
//!   left out of the posted records, while the header still claims the deposit cursor past it.
//!   A sequencer that skips a forced deposit has to lie this way: a header whose cursor stays
//!   below an unconsumed deposit older than `forceInclusionDelay` is refused by `submitBatch`
//!   itself (`ForcedInclusionMissed`, forge-tested in `GhostPlaneRollup.t.sol`
//!   `test_submitBatch_forcedInclusion` and the fixtures' forced case), and a younger one is not
//!   a lie at all (merely not included yet). Only a deposit op advances the cursor, so records
//!   without it cannot reach the claimed cursor: the commitment chain breaks at the op that took
//!   the skipped one's place (`Verdict::Fraud` at that index — its recomputed post-step state
//!   lacks the deposit, or it is the next deposit, whose index is not the cursor; `proveFraud`),
//!   or, when the skipped record was the batch's last, at the header (`Verdict::FinalState`;
//!   `proveFinalFraud`). A batch made of that one deposit alone cannot carry this lie (zero ops
//!   with a changed state is refused: `EmptyBatchChangesState`): it is posted honestly, with an
//!   error logged.

use ghostbridge_sequencer::sequencer::SealedBatch;
use ghostbridge_sequencer::settlement::{self, Op, Record};

/// The environment variable naming the lie.
pub const ENV: &str = "GHOSTPLANE_TEST_LIE";

/// What to alter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Flip a bit of the last op's commitment.
    WrongPostState,
    /// Add one to the last op's amount.
    InvalidOp,
    /// Leave the first deposit (or refund) record out; the header keeps its deposit cursor.
    SkipDeposit,
}

/// The lie the environment asks for, if any (`None` also when it does not parse: a typo must
/// not make an honest node lie in some other way).
pub fn from_env() -> Option<(Kind, u64)> {
    parse(&std::env::var(ENV).ok()?)
}

/// `<kind>:<batch>`.
fn parse(spec: &str) -> Option<(Kind, u64)> {
    let (kind, batch) = spec.split_once(':')?;
    let kind = match kind {
        "wrong-post-state" => Kind::WrongPostState,
        "invalid-op" => Kind::InvalidOp,
        "skip-deposit" => Kind::SkipDeposit,
        _ => return None,
    };
    Some((kind, batch.parse().ok()?))
}

/// `batch` with the lie applied if it is the batch the environment names; the header is
/// recomputed over the altered records (its claimed final state is unchanged).
pub fn apply(batch: SealedBatch) -> SealedBatch {
    match from_env() {
        Some((kind, number)) => apply_lie(batch, kind, number),
        None => batch,
    }
}

/// `batch` with lie `kind` applied if it is batch `number`.
fn apply_lie(mut batch: SealedBatch, kind: Kind, number: u64) -> SealedBatch {
    let s = &mut batch.settlement;
    if s.l1_header.number != number {
        return batch;
    }
    let decoded: Vec<Option<Record>> = s.records.iter().map(|r| Record::decode(r).ok()).collect();
    match kind {
        Kind::WrongPostState | Kind::InvalidOp => {
            let (Some(last), Some(Some(mut record))) =
                (s.records.last_mut(), decoded.last().cloned())
            else {
                tracing::error!(
                    batch = number,
                    ?kind,
                    "TEST LIE: no op to alter; posted honestly"
                );
                return batch;
            };
            if kind == Kind::WrongPostState {
                record.commitment[0] ^= 1;
            } else {
                match &mut record.op {
                    Op::Transfer(t) => t.value = t.value.wrapping_add(1),
                    Op::Withdrawal(w) => w.amount = w.amount.wrapping_add(1),
                    Op::Deposit(d) | Op::Refund(d) => d.amount = d.amount.wrapping_add(1),
                    // A slot past the account count.
                    Op::Register(r) => r.slot = r.slot.wrapping_add(1),
                }
            }
            *last = record.encode();
        }
        Kind::SkipDeposit => {
            let skipped = decoded.iter().position(|r| {
                r.as_ref()
                    .is_some_and(|r| matches!(r.op, Op::Deposit(_) | Op::Refund(_)))
            });
            match skipped {
                Some(i) if s.records.len() > 1 => {
                    s.records.remove(i);
                    tracing::warn!(batch = number, index = i, "TEST LIE: skipping a deposit");
                }
                _ => {
                    tracing::error!(
                        batch = number,
                        ops = s.records.len(),
                        "TEST LIE: skip-deposit needs a deposit and another op; posted honestly"
                    );
                    return batch;
                }
            }
        }
    }
    tracing::warn!(batch = number, ?kind, "TEST LIE: posting an altered batch");
    s.l1_header = settlement::batch_header(
        number,
        &s.start,
        &settlement::header_final(&s.l1_header),
        &s.records,
    );
    batch
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use alloy::primitives::Address;
    use ghostbridge_sequencer::engine::{Engine, EngineConfig};
    use ghostbridge_sequencer::ledger::Ledger;
    use ghostbridge_sequencer::replay::{PortalDeposit, Replayer, Verdict};
    use ghostbridge_sequencer::tx::{address_of, decode_withdrawal, test_key, UnsignedWithdrawal};

    #[test]
    fn parses_every_kind_and_nothing_else() {
        assert_eq!(parse("invalid-op:3"), Some((Kind::InvalidOp, 3)));
        assert_eq!(parse("wrong-post-state:2"), Some((Kind::WrongPostState, 2)));
        assert_eq!(parse("skip-deposit:7"), Some((Kind::SkipDeposit, 7)));
        assert_eq!(parse("skip-deposits:7"), None);
        assert_eq!(parse("skip-deposit"), None);
        assert_eq!(parse("skip-deposit:x"), None);
    }

    const ETHER: u128 = 1_000_000_000_000_000_000;

    /// Batch 1: a deposit for alice. Batch 2: a deposit for bob, then alice's withdrawal (the
    /// node's order: deposits are applied as they come, transactions at the seal), whose L1
    /// recipient is registered first. Batch 3: a
    /// withdrawal, then a deposit (the skipped record is the last). Batch 4: one deposit.
    fn batches() -> (Vec<SealedBatch>, Vec<PortalDeposit>) {
        let config = EngineConfig::default();
        let mut ledger = Ledger::new(Engine::new(config).unwrap());
        let alice_key = test_key(1);
        let alice = address_of(alice_key.verifying_key());
        let bob = Address::repeat_byte(0xb0);
        let l1 = Address::repeat_byte(0x11);
        let mut deposits = Vec::new();
        let mut deposit = |ledger: &mut Ledger, to: Address, amount: u128| {
            let index = deposits.len() as u64;
            ledger.deposit_l1(index, l1, to, 0, amount).unwrap();
            deposits.push(PortalDeposit {
                l1_sender: l1,
                recipient: to,
                token: 0,
                amount,
            });
        };
        let withdraw = |ledger: &mut Ledger, nonce: u64| {
            let raw = UnsignedWithdrawal {
                l1_recipient: l1,
                token: 0,
                amount: ETHER,
                nonce,
            }
            .sign(&alice_key)
            .unwrap();
            ledger
                .withdraw(&decode_withdrawal(&raw).unwrap(), &raw, alice)
                .unwrap();
        };
        let mut sealed = Vec::new();
        let mut seal = |ledger: &mut Ledger| {
            let s = ledger.seal().unwrap();
            sealed.push(SealedBatch {
                header: s.header,
                transactions: Vec::new(),
                transaction_hashes: Vec::new(),
                settlement: s.settlement,
            });
        };
        deposit(&mut ledger, alice, 100 * ETHER);
        seal(&mut ledger);
        deposit(&mut ledger, bob, 5 * ETHER);
        withdraw(&mut ledger, 0);
        seal(&mut ledger);
        withdraw(&mut ledger, 1);
        deposit(&mut ledger, bob, 7 * ETHER);
        seal(&mut ledger);
        deposit(&mut ledger, bob, 9 * ETHER);
        seal(&mut ledger);
        (sealed, deposits)
    }

    #[test]
    fn a_skipped_deposit_is_named_where_the_chain_breaks() {
        let (batches, deposits) = batches();
        let config = EngineConfig::default();
        let mut honest =
            Replayer::genesis(config.accounts_depth, config.base_fee, config.fee_collector);
        let verdict = |replayer: &Replayer, batch: &SealedBatch| {
            let s = &batch.settlement;
            replayer.clone().replay(&s.l1_header, &s.records, &deposits)
        };
        for (i, batch) in batches.iter().enumerate() {
            let lied = apply_lie(batch.clone(), Kind::SkipDeposit, i as u64 + 1);
            let s = &lied.settlement;
            match i {
                // Alone in its batch: posted honestly.
                0 | 3 => assert_eq!(lied, *batch),
                _ => {
                    assert_eq!(s.records.len() + 1, batch.settlement.records.len());
                    assert_eq!(s.l1_header.opCount as usize, s.records.len());
                    assert_eq!(
                        settlement::header_final(&s.l1_header),
                        settlement::header_final(&batch.settlement.l1_header),
                        "the header still claims the deposit consumed"
                    );
                }
            }
            let found = verdict(&honest, &lied);
            match i {
                0 | 3 => assert_eq!(found, Verdict::Honest),
                // The register op of the withdrawal's L1 recipient took the deposit's place: the
                // slot it names is past the account count the missing deposit left.
                1 => assert!(
                    matches!(&found, Verdict::Fraud { index: 0, reason } if reason.contains("register at slot")),
                    "{found:?}"
                ),
                _ => assert!(matches!(found, Verdict::FinalState { .. }), "{found:?}"),
            }
            let s = &batch.settlement;
            assert_eq!(
                honest.replay(&s.l1_header, &s.records, &deposits),
                Verdict::Honest
            );
        }
    }
}
