//! Settlement (SPEC "Settlement on L1") through the real engine: every `Engine::step`
//! commitment equals the Rust `StepState` commitment, the op records built from the applied ops
//! decode back to them and open against the calldata data commitment, the header the Rust side
//! builds matches the engine's, and the sequential account witnesses taken just before each op
//! (equal to `slot_proof`'s where the engine is at that state: a register op the engine applies
//! in the same call as the transfer or withdrawal that needs it is taken ahead of it) recompute
//! that op's post-step state root (and the withdrawal append path from `open_withdrawal_proof`
//! its withdrawals root).

use alloy_primitives::{Address, B256};
use ghostbridge_sequencer::{
    engine::{DepositOutcome, Engine, EngineConfig, Withdrawal},
    roots::{self, AccountState, StepState},
    settlement::{
        self as st, DepositOp, Op, PreAccount, Record, RegisterOp, TransferOp, WithdrawalOp,
    },
    tx::{self, test_key, UnsignedTx, UnsignedWithdrawal},
    TOKEN_COUNT,
};
use k256::ecdsa::SigningKey;

const DEPTH: u32 = 8;
const FEE: u128 = 1_000_000_000_000_000;

struct Applied {
    op: Op,
    /// Pre-op witnesses of the touched slots (SPEC order), from `slot_proof`.
    pre: Vec<PreAccount>,
    /// Leaves of the touched accounts right after the op.
    finals: Vec<B256>,
    /// Withdrawal append path from `open_withdrawal_proof` and (from, l1_recipient, token,
    /// amount).
    withdrawal: Option<(Vec<B256>, Address, Address, u32, u128)>,
}

struct Harness {
    engine: Engine,
    keys: Vec<SigningKey>,
    slots: Vec<Address>,
    deposits: u64,
    withdrawals: u32,
    applied: Vec<Applied>,
    start: StepState,
}

impl Harness {
    fn new() -> Self {
        let collector = Address::repeat_byte(0xfe);
        let mut engine = Engine::new(EngineConfig {
            accounts_depth: DEPTH,
            batch_transactions_max: 64,
            batch_withdrawals_max: 16,
            base_fee: FEE,
            fee_collector: collector,
        })
        .unwrap();
        let start = StepState::genesis(DEPTH, collector);
        assert_eq!(engine.slot_proof(0).unwrap().root, start.state_root);
        Self {
            engine,
            keys: (0..4).map(|i| test_key(500 + i)).collect(),
            slots: vec![collector],
            deposits: 0,
            withdrawals: 0,
            applied: Vec::new(),
            start,
        }
    }

    fn addr(&self, u: usize) -> Address {
        tx::address_of(self.keys[u].verifying_key())
    }

    /// Slot of `a` (registered ahead of the engine included), or the next free one.
    fn slot_of(&self, a: Address) -> u32 {
        self.slots
            .iter()
            .position(|s| *s == a)
            .unwrap_or(self.slots.len()) as u32
    }

    /// The account at `slot`; one registered ahead of the engine is empty.
    fn state_at(&mut self, slot: u32) -> AccountState {
        match self.slots.get(slot as usize) {
            Some(&a) => {
                let (nonce, balances) = self
                    .engine
                    .account(a)
                    .unwrap()
                    .map_or((0, [0; TOKEN_COUNT]), |i| (i.nonce, i.balances));
                AccountState {
                    address: a,
                    nonce,
                    balances,
                }
            }
            None => AccountState {
                address: Address::ZERO,
                nonce: 0,
                balances: [0; TOKEN_COUNT],
            },
        }
    }

    /// Witnesses of the op's slots in the current tree (the slots' states); where the engine is
    /// at that state, its `slot_proof` must agree.
    fn pre(&mut self, op: &Op) -> Vec<PreAccount> {
        let leaves: Vec<B256> = (0..self.slots.len() as u32)
            .map(|s| st::leaf_of(&self.state_at(s)))
            .collect();
        let engine_here =
            roots::sparse_root(DEPTH, &leaves) == self.engine.slot_proof(0).unwrap().root;
        op.touched_slots()
            .into_iter()
            .map(|slot| {
                let state = self.state_at(slot);
                let siblings = roots::proof_siblings(DEPTH, &leaves, slot.into());
                if engine_here {
                    let proof = self.engine.slot_proof(slot).unwrap();
                    assert_eq!(proof.leaf, st::leaf_of(&state));
                    assert_eq!(proof.siblings, siblings);
                }
                PreAccount {
                    slot,
                    state,
                    siblings,
                }
            })
            .collect()
    }

    /// The register op the engine applies for `address` ahead of the op that needs it.
    fn register(&mut self, address: Address) {
        let slot = self.slots.len() as u32;
        let op = Op::Register(RegisterOp { slot, address });
        let pre = self.pre(&op);
        self.slots.push(address);
        let finals = vec![st::leaf_of(&self.state_at(slot))];
        self.applied.push(Applied {
            op,
            pre,
            finals,
            withdrawal: None,
        });
    }

    fn push(
        &mut self,
        op: Op,
        pre: Vec<PreAccount>,
        new: Address,
        withdrawal: Option<(Vec<B256>, Address, Address, u32, u128)>,
    ) {
        if pre.iter().any(|p| p.slot as usize == self.slots.len()) {
            self.slots.push(new);
        }
        let finals = pre
            .iter()
            .map(|p| st::leaf_of(&self.state_at(p.slot)))
            .collect();
        self.applied.push(Applied {
            op,
            pre,
            finals,
            withdrawal,
        });
    }

    fn deposit(&mut self, to: Address, token: u32, amount: u128) {
        let index = self.deposits;
        let l1_sender = Address::with_last_byte(0xd0);
        let op = Op::Deposit(DepositOp {
            token: token as u8,
            to_slot: self.slot_of(to),
            index,
            l1_sender,
            recipient: to,
            amount,
        });
        let pre = self.pre(&op);
        assert_eq!(
            self.engine
                .deposit_l1(index, l1_sender, to, token, amount)
                .unwrap(),
            DepositOutcome::Credited
        );
        self.deposits += 1;
        self.push(op, pre, to, None);
    }

    fn transfer(&mut self, u: usize, to: Address, token: u32, value: u128) {
        let from = self.addr(u);
        let nonce = self.engine.account(from).unwrap().unwrap().nonce;
        let raw = UnsignedTx {
            to,
            value,
            token,
            gas_limit: 21_000,
            gas_price: 100_000_000_000,
            nonce,
            data: vec![],
        }
        .sign(&self.keys[u])
        .unwrap();
        if !self.slots.contains(&to) {
            self.register(to);
        }
        let from_slot = self.slot_of(from);
        let to_slot = self.slot_of(to);
        let t = TransferOp::from_raw(&raw, from_slot, to_slot).unwrap();
        assert_eq!(t.recover(to, nonce).unwrap(), from);
        let op = Op::Transfer(t);
        let pre = self.pre(&op);
        let d = tx::decode(&raw).unwrap();
        let sender = d.recover().unwrap();
        self.engine
            .submit_transaction(&d.into_engine_tx(sender))
            .unwrap();
        self.push(op, pre, to, None);
    }

    fn withdraw(&mut self, u: usize, token: u32, amount: u128) {
        let from = self.addr(u);
        let nonce = self.engine.account(from).unwrap().unwrap().nonce;
        let l1_recipient = Address::with_last_byte(0xe0);
        let raw = UnsignedWithdrawal {
            l1_recipient,
            token,
            amount,
            nonce,
        }
        .sign(&self.keys[u])
        .unwrap();
        if !self.slots.contains(&l1_recipient) {
            self.register(l1_recipient);
        }
        let w =
            WithdrawalOp::from_raw(&raw, self.slot_of(from), self.slot_of(l1_recipient)).unwrap();
        assert_eq!(w.recover(l1_recipient, nonce).unwrap(), from);
        let op = Op::Withdrawal(w);
        let pre = self.pre(&op);
        let wp = self.engine.open_withdrawal_proof(self.withdrawals).unwrap();
        assert_eq!(wp.leaf, B256::ZERO);
        assert_eq!(wp.siblings.len(), 16);
        self.engine
            .withdraw(&Withdrawal {
                from,
                l1_recipient,
                token,
                amount,
                nonce,
            })
            .unwrap();
        self.withdrawals += 1;
        self.push(
            op,
            pre,
            from,
            Some((wp.siblings, from, l1_recipient, token, amount)),
        );
    }

    /// Seals and checks everything about the batch; returns its op count.
    fn seal_and_check(&mut self) -> usize {
        // Post-op leaves of the touched accounts, read before sealing (the current state).
        let h = self.engine.create_batch().unwrap();
        let applied = std::mem::take(&mut self.applied);
        assert_eq!(h.op_count as usize, applied.len());
        let mut steps = Vec::new();
        for i in 0..h.op_count {
            let s = self.engine.step(i).unwrap();
            let state = StepState {
                state_root: s.state_root,
                account_count: s.account_count,
                withdrawals_root: s.withdrawals_root,
                withdrawal_count: s.withdrawal_count,
                deposit_cursor: s.deposit_cursor,
            };
            assert_eq!(s.commitment, state.commitment(), "step {i}");
            assert_eq!(s.kind, applied[i as usize].op.kind() as u32);
            steps.push(state);
        }
        assert!(self.engine.step(h.op_count).is_err());
        let records: Vec<Record> = applied
            .iter()
            .zip(&steps)
            .map(|(a, s)| Record {
                op: a.op,
                commitment: s.commitment(),
            })
            .collect();
        let bytes: Vec<st::RecordBytes> = records.iter().map(Record::encode).collect();
        // Records decode back to the ops; openings verify.
        let all = st::encode_records(&records);
        assert_eq!(st::decode_records(&all).unwrap(), records);
        let header = st::batch_header(
            h.batch_number,
            &self.start,
            steps.last().unwrap_or(&self.start),
            &bytes,
        );
        assert_eq!(header.stateRoot, h.state_root);
        assert_eq!(header.accountCount, h.account_count);
        assert_eq!(header.withdrawalsRoot, h.withdrawals_root);
        assert_eq!(header.withdrawalCount, h.withdrawal_count);
        assert_eq!(header.depositCursor, h.deposit_cursor);
        assert_eq!(header.opCount, h.op_count);
        assert_eq!(
            st::unpack_blobs(&st::pack_blobs(&bytes), bytes.len()),
            bytes
        );
        for (i, b) in bytes.iter().enumerate() {
            let sib = st::record_siblings(&bytes, i);
            assert!(st::verify_record_opening(
                &header.dataCommitment,
                b,
                i as u64,
                &sib
            ));
        }
        // Sequential witnesses recompute each op's post-step root from its pre-step root, and
        // withdrawal append paths its withdrawals root.
        let mut pre_state = self.start;
        for (i, a) in applied.iter().enumerate() {
            assert_eq!(
                a.pre.iter().map(|p| p.slot).collect::<Vec<_>>(),
                a.op.touched_slots()
            );
            let (sibs, root) = st::sequential_siblings(DEPTH, &a.pre, &a.finals).unwrap();
            assert_eq!(root, steps[i].state_root, "op {i} post root");
            // Contract-style: verify each witness against the running root, then write its
            // final leaf with the same siblings.
            let mut running = pre_state.state_root;
            for ((p, s), f) in a.pre.iter().zip(&sibs).zip(&a.finals) {
                assert!(
                    roots::verify_proof(&running, &p.leaf(), p.slot.into(), s),
                    "op {i}"
                );
                running = roots::proof_root(f, p.slot.into(), s);
            }
            assert_eq!(running, steps[i].state_root, "op {i} replayed root");
            if let Some((wsib, from, l1, token, amount)) = &a.withdrawal {
                let k = pre_state.withdrawal_count;
                assert!(roots::verify_proof(
                    &pre_state.withdrawals_root,
                    &B256::ZERO,
                    k.into(),
                    wsib
                ));
                let leaf = roots::withdrawal_leaf(h.batch_number, k, from, l1, *token, *amount);
                assert_eq!(
                    roots::proof_root(&leaf, k.into(), wsib),
                    steps[i].withdrawals_root
                );
                assert_eq!(steps[i].withdrawal_count, k + 1);
            } else {
                assert_eq!(steps[i].withdrawals_root, pre_state.withdrawals_root);
            }
            pre_state = steps[i];
        }
        self.start = StepState::start(h.state_root, h.account_count, h.deposit_cursor);
        self.withdrawals = 0;
        applied.len()
    }
}

#[test]
fn steps_records_and_sequential_witnesses_match_the_engine() {
    let mut hx = Harness::new();
    let (a0, a1, a2, a3) = (hx.addr(0), hx.addr(1), hx.addr(2), hx.addr(3));
    let collector = Address::repeat_byte(0xfe);
    // Batch 1: deposits of several tokens, a transfer, one to a new account (register op first),
    // a self-transfer, withdrawals (the first registers its L1 recipient), a deposit creating an
    // account, a transfer to the collector.
    hx.deposit(a0, 0, 10_000 * FEE);
    hx.deposit(a1, 0, 5_000 * FEE);
    hx.deposit(a0, 3, 1_000);
    hx.transfer(0, a1, 0, FEE);
    hx.transfer(0, a2, 3, 10);
    hx.transfer(1, a1, 0, 7);
    hx.withdraw(0, 3, 5);
    hx.withdraw(1, 0, FEE);
    hx.deposit(a3, 1, 9);
    hx.transfer(1, collector, 0, 1);
    assert_eq!(hx.seal_and_check(), 12);
    // An empty batch: the final state is the start state.
    let before = hx.start;
    assert_eq!(hx.seal_and_check(), 0);
    assert_eq!(hx.start, before);
    // Batch 3: a zero-value transfer, a deposit, a transfer and a withdrawal of a created account.
    hx.transfer(0, a3, 1, 0);
    hx.deposit(a2, 0, 3 * FEE);
    hx.transfer(2, a0, 3, 4);
    hx.withdraw(2, 3, 1);
    assert_eq!(hx.seal_and_check(), 4);
}
