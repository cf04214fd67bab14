//! Exports the GhostPlane settlement fixtures the Rollup's forge tests read
//! (`contracts/test/fixtures/ghostplane/*.json`): `cargo run -p ghostbridge-sequencer --example
//! ghostplane_fixtures -- <out dir>` (`script/ghostplane-fixtures.sh` wraps it, `--check` diffs).
//!
//! It drives the real engine (accounts depth 16, base fee 10^15, fee collector 0xfe..fe) with
//! secp256k1-signed transactions and withdrawals of fixed test keys and L1 deposits fed in index
//! order, seals three batches, reads every op's post-step state with `Engine::step`, and takes
//! the pre-op witnesses (`slot_proof`, `open_withdrawal_proof`) just before each op. Every
//! witness is checked on the way: sequential witnesses must recompute the engine's post-step
//! state root, withdrawal append paths the pre-step withdrawals root, headers the engine's.
//! Output is deterministic (RFC 6979 signatures, fixed keys and amounts, sorted JSON keys).
//!
//! File format: `{"accountsDepth", "baseFee", "feeCollector", "deposits": [{"l1Sender",
//! "recipient", "token", "amount"}], "batches": [{"header", "records"}], "withdrawals":
//! [{"withdrawal", "siblings"}], "proofs": [{"name", "batch", "calldata", "fraud"}]}`.
//! `batches` form one chain, submitted in order (`batches[k]` has number `k + 1`); a proof's
//! `batch` is the batch number it targets. Calldata carries `submittedAt = 0` and
//! `proposer = address(0)` at words 12 and 13 after the selector (the test patches them).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    missing_docs,
    unreachable_pub
)]

fn main() -> anyhow::Result<()> {
    driver::main()
}

mod driver {
    use alloy_primitives::{Address, B256};
    use alloy_sol_types::SolValue;
    use anyhow::{ensure, Context};
    use ghostbridge_sequencer::{
        engine::{DepositOutcome, Engine, EngineConfig, Withdrawal as EngineWithdrawal},
        roots::{self, AccountState, StepState},
        settlement::{
            self as st, abi, DepositOp, FraudWitness, Op, PreAccount, Record, RecordBytes,
            RegisterOp, TransferOp, WithdrawalOp,
        },
        tx::{self, test_key, UnsignedTx, UnsignedWithdrawal},
        TOKEN_COUNT,
    };
    use k256::ecdsa::SigningKey;
    use serde_json::{json, Value};
    use std::path::{Path, PathBuf};

    const DEPTH: u32 = 16;
    const BASE_FEE: u128 = 1_000_000_000_000_000;
    const ETHER: u128 = 1_000_000_000_000_000_000;
    const GAS_LIMIT: u64 = 21_000;
    const GAS_PRICE: u64 = 100_000_000_000; // 21000 * 1e11 = 2.1e15 >= base fee

    fn collector() -> Address {
        Address::repeat_byte(0xfe)
    }

    fn empty_state() -> AccountState {
        AccountState {
            address: Address::ZERO,
            nonce: 0,
            balances: [0; TOKEN_COUNT],
        }
    }

    fn h(b: &[u8]) -> String {
        format!("0x{}", hex::encode(b))
    }

    #[derive(Debug, Clone)]
    struct PortalDeposit {
        l1_sender: Address,
        recipient: Address,
        token: u32,
        amount: u128,
    }

    /// One applied op with everything a proof about it needs.
    #[derive(Debug, Clone)]
    struct OpData {
        op: Op,
        /// Every used slot's account before the op (slot order).
        pre_all: Vec<AccountState>,
        /// Final states of the touched accounts.
        post: Vec<AccountState>,
        /// Account witnesses with sequential siblings.
        accounts: Vec<abi::AccountWitness>,
        /// Withdrawal append path (withdrawals only).
        withdrawal_siblings: Vec<B256>,
        /// The signed fields of a transfer.
        utx: Option<UnsignedTx>,
    }

    #[derive(Debug, Clone)]
    struct BatchData {
        number: u64,
        start: StepState,
        steps: Vec<StepState>,
        records: Vec<Record>,
        ops: Vec<OpData>,
        header: abi::BatchHeader,
        withdrawals: Vec<(abi::Withdrawal, Vec<B256>)>,
        /// Portal deposits consumed after this batch.
        deposit_cursor: u64,
    }

    impl BatchData {
        fn bytes(&self) -> Vec<RecordBytes> {
            self.records.iter().map(Record::encode).collect()
        }

        fn pre(&self, i: usize) -> StepState {
            if i == 0 {
                self.start
            } else {
                self.steps[i - 1]
            }
        }

        fn record(&self) -> abi::BatchRecord {
            st::unsubmitted_record(self.header.clone())
        }

        /// `proveFraud` witness of honest op `i` (over `records`, the batch's or a lie's).
        fn fraud_witness(&self, records: &[RecordBytes], i: usize, op: &OpData) -> FraudWitness {
            FraudWitness {
                op: st::record_opening(records, i),
                prev: st::prev_opening(records, i),
                pre: self.pre(i),
                accounts: op.accounts.clone(),
                withdrawal_siblings: op.withdrawal_siblings.clone(),
            }
        }
    }

    struct User {
        key: SigningKey,
        addr: Address,
    }

    struct Chain {
        engine: Engine,
        users: Vec<User>,
        /// slot -> address.
        slots: Vec<Address>,
        deposits: Vec<PortalDeposit>,
        open: Vec<OpData>,
        open_withdrawals: Vec<(Address, Address, u32, u128)>,
        start: StepState,
        batches: Vec<BatchData>,
    }

    impl Chain {
        fn new() -> anyhow::Result<Self> {
            let mut engine = Engine::new(EngineConfig {
                accounts_depth: DEPTH,
                batch_transactions_max: 1024,
                batch_withdrawals_max: 1024,
                base_fee: BASE_FEE,
                fee_collector: collector(),
            })?;
            let start = StepState::genesis(DEPTH, collector());
            let root = engine.slot_proof(0)?.root;
            ensure!(
                root == start.state_root,
                "genesis root {root} != {}",
                start.state_root
            );
            let users = (0..8u64)
                .map(|i| {
                    let key = test_key(100 + i);
                    let addr = tx::address_of(key.verifying_key());
                    User { key, addr }
                })
                .collect();
            Ok(Self {
                engine,
                users,
                slots: vec![collector()],
                deposits: Vec::new(),
                open: Vec::new(),
                open_withdrawals: Vec::new(),
                start,
                batches: Vec::new(),
            })
        }

        fn addr(&self, u: usize) -> Address {
            self.users[u].addr
        }

        fn state(&mut self, a: Address) -> anyhow::Result<Option<AccountState>> {
            Ok(self.engine.account(a)?.map(|i| AccountState {
                address: a,
                nonce: i.nonce,
                balances: i.balances,
            }))
        }

        fn snapshot(&mut self) -> anyhow::Result<Vec<AccountState>> {
            let slots = self.slots.clone();
            let mut out = Vec::with_capacity(slots.len());
            for (i, a) in slots.iter().enumerate() {
                let info = self.engine.account(*a)?.context("slot account vanished")?;
                ensure!(info.slot == i as u64, "{a} at slot {} not {i}", info.slot);
                out.push(AccountState {
                    address: *a,
                    nonce: info.nonce,
                    balances: info.balances,
                });
            }
            let leaves: Vec<B256> = out.iter().map(st::leaf_of).collect();
            let root = self.engine.slot_proof(0)?.root;
            ensure!(
                roots::sparse_root(DEPTH, &leaves) == root,
                "snapshot root mismatch"
            );
            Ok(out)
        }

        /// Slot of `a` (registered ahead of the engine included), or the next free one.
        fn slot_of(&self, a: Address) -> u32 {
            self.slots
                .iter()
                .position(|s| *s == a)
                .unwrap_or(self.slots.len()) as u32
        }

        fn is_new(&self, a: Address) -> bool {
            !self.slots.contains(&a)
        }

        /// The register op the engine applies for `address` ahead of the op that needs it (in the
        /// same engine call, so its witness and post state come from the pure tree; the sealed
        /// batch's steps check them). Returns the state after it.
        fn register(
            &mut self,
            address: Address,
            pre_all: Vec<AccountState>,
        ) -> anyhow::Result<Vec<AccountState>> {
            let slot = self.slots.len() as u32;
            ensure!(slot as usize == pre_all.len(), "register past the slots");
            let pre = self.pre_witnesses(&[slot], &pre_all)?;
            let created = AccountState {
                address,
                ..empty_state()
            };
            let mut after = pre_all.clone();
            after.push(created);
            self.slots.push(address);
            self.open.push(OpData {
                op: Op::Register(RegisterOp { slot, address }),
                pre_all,
                post: vec![created],
                accounts: vec![st::account_witness(
                    slot,
                    &empty_state(),
                    pre[0].siblings.clone(),
                )],
                withdrawal_siblings: Vec::new(),
                utx: None,
            });
            Ok(after)
        }

        /// Address at `slot` after the op (`new` for the next free slot).
        fn address_at(&self, slot: u32, new: Address) -> Address {
            self.slots.get(slot as usize).copied().unwrap_or(new)
        }

        /// Witnesses of `slots` in the tree of `pre_all`; where the engine is at that state (no
        /// register op taken ahead of it), its slot proofs must be the same.
        fn pre_witnesses(
            &mut self,
            slots: &[u32],
            pre_all: &[AccountState],
        ) -> anyhow::Result<Vec<PreAccount>> {
            let leaves: Vec<B256> = pre_all.iter().map(st::leaf_of).collect();
            let engine_here = roots::sparse_root(DEPTH, &leaves) == self.engine.slot_proof(0)?.root;
            let mut out = Vec::new();
            for &s in slots {
                let state = pre_all.get(s as usize).copied().unwrap_or_else(empty_state);
                let siblings = roots::proof_siblings(DEPTH, &leaves, s.into());
                if engine_here {
                    let proof = self.engine.slot_proof(s)?;
                    ensure!(
                        proof.siblings == siblings && proof.leaf == st::leaf_of(&state),
                        "slot {s}: the engine's witness differs"
                    );
                }
                out.push(PreAccount {
                    slot: s,
                    state,
                    siblings,
                });
            }
            Ok(out)
        }

        /// Records an op the engine just applied.
        fn finish(
            &mut self,
            op: Op,
            pre_all: Vec<AccountState>,
            pre: Vec<PreAccount>,
            new_addr: Address,
            withdrawal_siblings: Vec<B256>,
            utx: Option<UnsignedTx>,
        ) -> anyhow::Result<()> {
            let slots: Vec<u32> = pre.iter().map(|p| p.slot).collect();
            let mut post = Vec::new();
            for &s in &slots {
                let a = self.address_at(s, new_addr);
                post.push(self.state(a)?.context("touched account missing")?);
            }
            if let Some(&last) = slots.iter().max() {
                if last as usize == self.slots.len() {
                    self.slots.push(new_addr);
                }
            }
            let finals: Vec<B256> = post.iter().map(st::leaf_of).collect();
            let (sibs, root) = st::sequential_siblings(DEPTH, &pre, &finals)?;
            // The pure reference agrees, and the result is the engine's current root.
            let leaves: Vec<B256> = pre_all.iter().map(st::leaf_of).collect();
            let updates: Vec<(u32, B256)> = slots.iter().copied().zip(finals.clone()).collect();
            let (ref_sibs, ref_root) = st::sequential_siblings_full(DEPTH, &leaves, &updates);
            ensure!(
                sibs == ref_sibs && root == ref_root,
                "sequential witnesses disagree"
            );
            ensure!(
                root == self.engine.slot_proof(0)?.root,
                "witnesses miss the post root"
            );
            let accounts = pre
                .iter()
                .zip(sibs)
                .map(|(p, s)| st::account_witness(p.slot, &p.state, s))
                .collect();
            self.open.push(OpData {
                op,
                pre_all,
                post,
                accounts,
                withdrawal_siblings,
                utx,
            });
            Ok(())
        }

        fn deposit(
            &mut self,
            l1_sender: Address,
            recipient: Address,
            token: u32,
            amount: u128,
        ) -> anyhow::Result<()> {
            let index = self.deposits.len() as u64;
            let pre_all = self.snapshot()?;
            let to_slot = self.slot_of(recipient);
            let op = Op::Deposit(DepositOp {
                token: token as u8,
                to_slot,
                index,
                l1_sender,
                recipient,
                amount,
            });
            let pre = self.pre_witnesses(&op.touched_slots(), &pre_all)?;
            let out = self
                .engine
                .deposit_l1(index, l1_sender, recipient, token, amount)?;
            ensure!(out == DepositOutcome::Credited, "deposit refunded");
            self.deposits.push(PortalDeposit {
                l1_sender,
                recipient,
                token,
                amount,
            });
            self.finish(op, pre_all, pre, recipient, Vec::new(), None)
        }

        /// A signed transfer by user `u` with its current nonce.
        fn signed_transfer(
            &mut self,
            u: usize,
            to: Address,
            token: u32,
            value: u128,
        ) -> anyhow::Result<(UnsignedTx, Vec<u8>)> {
            let from = self.addr(u);
            let nonce = self.state(from)?.map_or(0, |s| s.nonce);
            let utx = UnsignedTx {
                to,
                value,
                token,
                gas_limit: GAS_LIMIT,
                gas_price: GAS_PRICE,
                nonce,
                data: Vec::new(),
            };
            let raw = utx.sign(&self.users[u].key)?;
            Ok((utx, raw))
        }

        fn transfer(
            &mut self,
            u: usize,
            to: Address,
            token: u32,
            value: u128,
        ) -> anyhow::Result<()> {
            let (utx, raw) = self.signed_transfer(u, to, token, value)?;
            let mut pre_all = self.snapshot()?;
            let from = self.addr(u);
            // The engine registers a new sender, then a new recipient, before the transfer.
            if self.is_new(from) {
                pre_all = self.register(from, pre_all)?;
            }
            if self.is_new(to) {
                pre_all = self.register(to, pre_all)?;
            }
            let from_slot = self.slot_of(from);
            let to_slot = self.slot_of(to);
            let op = Op::Transfer(TransferOp::from_raw(&raw, from_slot, to_slot)?);
            let pre = self.pre_witnesses(&op.touched_slots(), &pre_all)?;
            let d = tx::decode(&raw)?;
            let sender = d.recover()?;
            ensure!(sender == from, "recovered sender");
            self.engine.submit_transaction(&d.into_engine_tx(sender))?;
            self.finish(op, pre_all, pre, to, Vec::new(), Some(utx))
        }

        fn withdraw(
            &mut self,
            u: usize,
            l1_recipient: Address,
            token: u32,
            amount: u128,
        ) -> anyhow::Result<()> {
            let from = self.addr(u);
            let nonce = self.state(from)?.context("withdrawer unknown")?.nonce;
            let uw = UnsignedWithdrawal {
                l1_recipient,
                token,
                amount,
                nonce,
            };
            let raw = uw.sign(&self.users[u].key)?;
            let signed = tx::decode_withdrawal(&raw)?;
            ensure!(signed.recover()? == from, "withdrawal signer");
            let mut pre_all = self.snapshot()?;
            // An L1 recipient with no L2 account is registered first (the op names it by slot).
            if self.is_new(l1_recipient) {
                pre_all = self.register(l1_recipient, pre_all)?;
            }
            let from_slot = self.slot_of(from);
            let recipient_slot = self.slot_of(l1_recipient);
            let op = Op::Withdrawal(WithdrawalOp::from_raw(&raw, from_slot, recipient_slot)?);
            let pre = self.pre_witnesses(&op.touched_slots(), &pre_all)?;
            let k = self.open_withdrawals.len() as u32;
            let wp = self.engine.open_withdrawal_proof(k)?;
            ensure!(
                wp.leaf == B256::ZERO && wp.siblings.len() == 16,
                "append path"
            );
            self.engine.withdraw(&EngineWithdrawal {
                from,
                l1_recipient,
                token,
                amount,
                nonce,
            })?;
            self.open_withdrawals
                .push((from, l1_recipient, token, amount));
            self.finish(op, pre_all, pre, from, wp.siblings, None)
        }

        fn seal(&mut self) -> anyhow::Result<()> {
            let eh = self.engine.create_batch()?;
            ensure!(eh.op_count as usize == self.open.len(), "op count");
            let mut steps = Vec::new();
            for i in 0..eh.op_count {
                let s = self.engine.step(i)?;
                let state = StepState {
                    state_root: s.state_root,
                    account_count: s.account_count,
                    withdrawals_root: s.withdrawals_root,
                    withdrawal_count: s.withdrawal_count,
                    deposit_cursor: s.deposit_cursor,
                };
                ensure!(state.commitment() == s.commitment, "step {i} commitment");
                ensure!(
                    s.kind == self.open[i as usize].op.kind() as u32,
                    "step {i} kind"
                );
                steps.push(state);
            }
            let ops = std::mem::take(&mut self.open);
            let records: Vec<Record> = ops
                .iter()
                .zip(&steps)
                .map(|(o, s)| Record {
                    op: o.op,
                    commitment: s.commitment(),
                })
                .collect();
            let bytes: Vec<RecordBytes> = records.iter().map(Record::encode).collect();
            let end = steps.last().copied().unwrap_or(self.start);
            let header = st::batch_header(eh.batch_number, &self.start, &end, &bytes);
            ensure!(header.stateRoot == eh.state_root, "header state root");
            ensure!(
                header.accountCount == eh.account_count,
                "header account count"
            );
            ensure!(
                header.withdrawalsRoot == eh.withdrawals_root,
                "header withdrawals root"
            );
            ensure!(
                header.withdrawalCount == eh.withdrawal_count,
                "header withdrawal count"
            );
            ensure!(
                header.depositCursor == eh.deposit_cursor,
                "header deposit cursor"
            );
            let batch = BatchData {
                number: eh.batch_number,
                start: self.start,
                steps,
                records,
                ops,
                header,
                withdrawals: Vec::new(),
                deposit_cursor: eh.deposit_cursor,
            };
            // Each op's witnesses recompute its post-step root; append paths the pre root.
            let mut batch = batch;
            for (i, o) in batch.ops.iter().enumerate() {
                let pre = batch.pre(i);
                let mut running = pre.state_root;
                for (w, post) in o.accounts.iter().zip(&o.post) {
                    let state = AccountState {
                        address: w.addr,
                        nonce: w.nonce,
                        balances: w.balances,
                    };
                    ensure!(
                        roots::verify_proof(
                            &running,
                            &st::leaf_of(&state),
                            w.slot.into(),
                            &w.siblings
                        ),
                        "batch {} op {i}: witness of slot {}",
                        batch.number,
                        w.slot
                    );
                    running = roots::proof_root(&st::leaf_of(post), w.slot.into(), &w.siblings);
                }
                ensure!(running == batch.steps[i].state_root, "op {i} post root");
                if matches!(o.op, Op::Withdrawal(_)) {
                    ensure!(
                        roots::verify_proof(
                            &pre.withdrawals_root,
                            &B256::ZERO,
                            pre.withdrawal_count.into(),
                            &o.withdrawal_siblings
                        ),
                        "op {i} withdrawal append path"
                    );
                }
            }
            for (k, &(from, l1, token, amount)) in self.open_withdrawals.iter().enumerate() {
                let p = self.engine.withdrawal_proof(k as u32)?;
                let w = abi::Withdrawal {
                    batchNumber: eh.batch_number,
                    index: k as u32,
                    from,
                    l1Recipient: l1,
                    token,
                    amount,
                };
                ensure!(st::withdrawal_leaf(&w) == p.leaf, "withdrawal leaf {k}");
                ensure!(
                    roots::verify_proof(&eh.withdrawals_root, &p.leaf, k as u64, &p.siblings)
                        && p.siblings.len() == 16,
                    "withdrawal proof {k}"
                );
                batch.withdrawals.push((w, p.siblings));
            }
            self.open_withdrawals.clear();
            self.start = StepState::start(eh.state_root, eh.account_count, eh.deposit_cursor);
            self.batches.push(batch);
            Ok(())
        }
    }

    /// Witnesses of an op the proposer made up at a point where the pre-state is `pre_all`: it
    /// changes nothing (it is invalid), so every witness carries its pre-state siblings.
    fn invalid_op_accounts(op: &Op, pre_all: &[AccountState]) -> Vec<abi::AccountWitness> {
        let leaves: Vec<B256> = pre_all.iter().map(st::leaf_of).collect();
        op.touched_slots()
            .into_iter()
            .map(|s| {
                let state = pre_all.get(s as usize).copied().unwrap_or_else(empty_state);
                st::account_witness(s, &state, roots::proof_siblings(DEPTH, &leaves, s.into()))
            })
            .collect()
    }

    // ---- JSON -------------------------------------------------------------------------------

    struct Proof {
        name: String,
        batch: u64,
        calldata: Vec<u8>,
        fraud: bool,
    }

    fn file_json(
        deposits: &[PortalDeposit],
        batches: &[(abi::BatchHeader, Vec<RecordBytes>)],
        withdrawals: &[(abi::Withdrawal, Vec<B256>)],
        proofs: &[Proof],
    ) -> Value {
        json!({
            "accountsDepth": DEPTH,
            "baseFee": BASE_FEE.to_string(),
            "feeCollector": collector().to_checksum(None),
            "deposits": deposits.iter().map(|d| json!({
                "l1Sender": d.l1_sender.to_checksum(None),
                "recipient": d.recipient.to_checksum(None),
                "token": d.token,
                "amount": d.amount.to_string(),
            })).collect::<Vec<_>>(),
            "batches": batches.iter().map(|(hd, recs)| json!({
                "header": h(&hd.abi_encode()),
                "records": h(&recs.concat()),
            })).collect::<Vec<_>>(),
            "withdrawals": withdrawals.iter().map(|(w, s)| {
                let sib: [B256; 16] = s.as_slice().try_into().expect("16 siblings");
                json!({
                    "withdrawal": h(&w.abi_encode()),
                    "siblings": h(&sib.abi_encode()),
                })
            }).collect::<Vec<_>>(),
            "proofs": proofs.iter().map(|p| json!({
                "name": p.name,
                "batch": p.batch,
                "calldata": h(&p.calldata),
                "fraud": p.fraud,
            })).collect::<Vec<_>>(),
        })
    }

    fn write(dir: &Path, name: &str, v: &Value) -> anyhow::Result<()> {
        let mut s = serde_json::to_string_pretty(v)?;
        s.push('\n');
        let path = dir.join(name);
        std::fs::write(&path, s).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
        Ok(())
    }

    fn honest_pair(b: &BatchData) -> (abi::BatchHeader, Vec<RecordBytes>) {
        (b.header.clone(), b.bytes())
    }

    fn fraud_call(header: &abi::BatchHeader, w: &FraudWitness) -> Vec<u8> {
        st::prove_fraud_calldata(&st::unsubmitted_record(header.clone()), w)
    }

    fn find(b: &BatchData, pred: impl Fn(&OpData) -> bool) -> usize {
        b.ops.iter().position(pred).expect("op of that shape")
    }

    /// A lie: records `records` (the honest ones altered) over `base`'s start state.
    fn lie_header(base: &BatchData, records: &[RecordBytes], end: &StepState) -> abi::BatchHeader {
        st::batch_header(base.number, &base.start, end, records)
    }

    pub fn main() -> anyhow::Result<()> {
        let out: PathBuf = std::env::args()
            .nth(1)
            .context("usage: ghostplane_fixtures <out dir>")?
            .into();
        std::fs::create_dir_all(&out)?;

        let mut c = Chain::new()?;
        let l1 = |i: u8| Address::with_last_byte(i); // L1 addresses 0x00..0i
        let (u0, u1, u2, u3, u4, u5) = (
            c.addr(0),
            c.addr(1),
            c.addr(2),
            c.addr(3),
            c.addr(4),
            c.addr(5),
        );

        // Batch 1: deposits of several tokens, transfers (new account, self-transfer), withdrawals.
        c.deposit(l1(0xa1), u0, 0, 100 * ETHER)?;
        c.deposit(l1(0xa2), u1, 0, 50 * ETHER)?;
        c.deposit(l1(0xa1), u0, 1, 1_000 * ETHER)?;
        c.deposit(l1(0xa3), u2, 3, 500 * ETHER)?;
        c.transfer(0, u1, 0, ETHER)?;
        c.deposit(l1(0xa2), u1, 2, 77)?;
        c.transfer(1, u3, 2, 7)?; // creates u3
        c.transfer(0, u0, 1, 5 * ETHER)?; // self-transfer
        c.withdraw(1, l1(0xb1), 0, 2 * ETHER)?;
        c.deposit(l1(0xa3), u2, 0, 5 * ETHER)?;
        c.withdraw(0, l1(0xb2), 1, 10 * ETHER)?;
        c.seal()?;
        // Batch 2: a deposit first (start-state case), transfers, a withdrawal.
        c.deposit(l1(0xa4), u4, 0, 3 * ETHER)?; // creates u4 by deposit
        c.transfer(0, u1, 0, 2 * ETHER)?; // T_a
        c.transfer(1, u5, 0, ETHER)?; // creates u5
        c.withdraw(2, l1(0xb3), 3, 50 * ETHER)?;
        c.transfer(1, u0, 2, 3)?;
        c.transfer(2, u0, 3, 100 * ETHER)?;
        c.seal()?;
        // Batch 3: what the lies are made of.
        c.deposit(l1(0xa5), u3, 0, 2 * ETHER)?;
        c.transfer(0, u2, 0, 4 * ETHER)?; // T_b (to an existing account)
        c.transfer(3, u1, 2, 1)?;
        c.withdraw(1, l1(0xb4), 0, ETHER)?;
        c.transfer(2, u0, 3, ETHER)?;
        c.seal()?;

        let b1 = c.batches[0].clone();
        let b2 = c.batches[1].clone();
        let b3 = c.batches[2].clone();
        let deps = |n: u64| c.deposits[..n as usize].to_vec();
        let wds: Vec<(abi::Withdrawal, Vec<B256>)> = b1
            .withdrawals
            .iter()
            .chain(&b2.withdrawals)
            .cloned()
            .collect();

        let honest_fraud = |b: &BatchData, i: usize, name: &str| Proof {
            name: name.into(),
            batch: b.number,
            calldata: fraud_call(&b.header, &b.fraud_witness(&b.bytes(), i, &b.ops[i])),
            fraud: false,
        };
        let final_fraud = |b: &BatchData,
                           header: &abi::BatchHeader,
                           records: &[RecordBytes],
                           name: &str,
                           fraud: bool| Proof {
            name: name.into(),
            batch: b.number,
            calldata: st::prove_final_fraud_calldata(
                &st::unsubmitted_record(header.clone()),
                records,
            ),
            fraud,
        };

        // ---- honest.json
        {
            let dep_b1 = find(&b1, |o| matches!(o.op, Op::Deposit(_)));
            let transfer = find(
                &b1,
                |o| matches!(o.op, Op::Transfer(t) if t.to_slot != t.from_slot),
            );
            // The register op of u3 and the transfer to u3 right after it.
            let register = find(&b1, |o| matches!(o.op, Op::Register(_)));
            ensure!(
                matches!(b1.ops[register + 1].op, Op::Transfer(_)),
                "register before a transfer"
            );
            let register_b2 = find(&b2, |o| matches!(o.op, Op::Register(_)));
            let wd_b2 = find(&b2, |o| matches!(o.op, Op::Withdrawal(_)));
            let self_t = find(
                &b1,
                |o| matches!(o.op, Op::Transfer(t) if t.to_slot == t.from_slot),
            );
            let wd = find(&b1, |o| matches!(o.op, Op::Withdrawal(_)));
            let wd2 = b1
                .ops
                .iter()
                .rposition(|o| matches!(o.op, Op::Withdrawal(_)))
                .unwrap();
            let proofs = vec![
                honest_fraud(&b1, dep_b1, "deposit_first_op"),
                honest_fraud(&b1, transfer, "transfer"),
                honest_fraud(&b1, register, "register"),
                honest_fraud(&b1, register + 1, "transfer_to_registered_account"),
                honest_fraud(&b1, self_t, "transfer_self"),
                honest_fraud(&b1, wd, "withdrawal"),
                honest_fraud(&b1, wd2, "withdrawal_second_of_batch"),
                honest_fraud(&b2, 0, "deposit_new_account_batch_start"),
                honest_fraud(&b2, register_b2, "register_batch2"),
                honest_fraud(&b2, register_b2 + 1, "transfer_new_account_batch2"),
                honest_fraud(&b2, wd_b2, "withdrawal_batch2"),
                final_fraud(&b1, &b1.header, &b1.bytes(), "final_batch1", false),
                final_fraud(&b2, &b2.header, &b2.bytes(), "final_batch2", false),
            ];
            let v = file_json(
                &deps(b2.deposit_cursor),
                &[honest_pair(&b1), honest_pair(&b2)],
                &wds,
                &proofs,
            );
            write(&out, "honest.json", &v)?;
        }

        let chain3 = |lie: (abi::BatchHeader, Vec<RecordBytes>)| {
            vec![honest_pair(&b1), honest_pair(&b2), lie]
        };
        let ta = find(
            &b2,
            |o| matches!(o.op, Op::Transfer(t) if t.to_slot < o.pre_all.len() as u32 && t.to_slot != t.from_slot),
        );
        let tb = find(
            &b3,
            |o| matches!(o.op, Op::Transfer(t) if t.to_slot < o.pre_all.len() as u32 && t.to_slot != t.from_slot),
        );
        let all_deps = deps(b3.deposit_cursor);

        // Inserts `op` (claiming no state change) at `at` of batch 3.
        let insert = |at: usize, op: Op| -> (abi::BatchHeader, Vec<RecordBytes>, FraudWitness) {
            let mut recs = b3.bytes();
            let claimed = b3.pre(at).commitment();
            recs.insert(
                at,
                Record {
                    op,
                    commitment: claimed,
                }
                .encode(),
            );
            let end = *b3.steps.last().unwrap();
            let header = lie_header(&b3, &recs, &end);
            let w = FraudWitness {
                op: st::record_opening(&recs, at),
                prev: st::prev_opening(&recs, at),
                pre: b3.pre(at),
                accounts: invalid_op_accounts(&op, &b3.ops[at].pre_all),
                withdrawal_siblings: Vec::new(),
            };
            (header, recs, w)
        };

        // ---- forged_signature.json
        {
            let mut recs = b3.bytes();
            let Op::Transfer(mut t) = b3.ops[tb].op else {
                unreachable!()
            };
            let utx = b3.ops[tb].utx.clone().unwrap();
            let payload = keccak(&utx);
            let (sig, v) = tx::sign_hash(&c.users[5].key, &payload)?;
            t.r = B256::from_slice(&sig[..32]);
            t.s = B256::from_slice(&sig[32..]);
            t.v = v;
            ensure!(t.recover(utx.to, utx.nonce)? == u5, "forged signer");
            let op = Op::Transfer(t);
            recs[tb] = Record {
                op,
                commitment: b3.records[tb].commitment,
            }
            .encode();
            let header = lie_header(&b3, &recs, b3.steps.last().unwrap());
            let w = FraudWitness {
                op: st::record_opening(&recs, tb),
                prev: st::prev_opening(&recs, tb),
                pre: b3.pre(tb),
                accounts: invalid_op_accounts(&op, &b3.ops[tb].pre_all),
                withdrawal_siblings: Vec::new(),
            };
            let proofs = vec![
                honest_fraud(&b2, ta, "honest_transfer"),
                Proof {
                    name: "forged_signature".into(),
                    batch: b3.number,
                    calldata: fraud_call(&header, &w),
                    fraud: true,
                },
            ];
            write(
                &out,
                "forged_signature.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- wrong_nonce.json: T_a of batch 2 replayed in batch 3 (its signature is over a stale nonce).
        {
            let at = 2;
            let op = b2.ops[ta].op; // same signed fields, same slots (u0 -> u1)
            let (header, recs, w) = insert(at, op);
            let proofs = vec![
                honest_fraud(&b2, ta, "honest_original"),
                Proof {
                    name: "replayed_transfer".into(),
                    batch: b3.number,
                    calldata: fraud_call(&header, &w),
                    fraud: true,
                },
            ];
            write(
                &out,
                "wrong_nonce.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- overdraft.json: u3 (2 GCC after op 0 of batch 3, 7 MANA) sends 1000 MANA.
        {
            let at = 1;
            let pre_all = &b3.ops[at].pre_all;
            let s3 = pre_all.iter().find(|a| a.address == u3).unwrap();
            let utx = UnsignedTx {
                to: u1,
                value: 1_000,
                token: 2,
                gas_limit: GAS_LIMIT,
                gas_price: GAS_PRICE,
                nonce: s3.nonce,
                data: vec![],
            };
            ensure!(
                s3.balances[2] < 1_000 && s3.balances[0] >= BASE_FEE,
                "overdraft setup"
            );
            let raw = utx.sign(&c.users[3].key)?;
            let from_slot = pre_all.iter().position(|a| a.address == u3).unwrap() as u32;
            let to_slot = pre_all.iter().position(|a| a.address == u1).unwrap() as u32;
            let op = Op::Transfer(TransferOp::from_raw(&raw, from_slot, to_slot)?);
            let (header, recs, w) = insert(at, op);
            let honest = find(&b2, |o| matches!(o.op, Op::Transfer(t) if t.token == 2));
            let proofs = vec![
                honest_fraud(&b2, honest, "honest_transfer_same_token"),
                Proof {
                    name: "overdraft".into(),
                    batch: b3.number,
                    calldata: fraud_call(&header, &w),
                    fraud: true,
                },
            ];
            write(
                &out,
                "overdraft.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- unknown_token.json: u0 signs a transfer of token 9.
        {
            let at = 1;
            let pre_all = &b3.ops[at].pre_all;
            let s0 = pre_all.iter().find(|a| a.address == u0).unwrap();
            let utx = UnsignedTx {
                to: u1,
                value: 1,
                token: 9,
                gas_limit: GAS_LIMIT,
                gas_price: GAS_PRICE,
                nonce: s0.nonce,
                data: vec![],
            };
            let (sig, v) = tx::sign_hash(&c.users[0].key, &keccak(&utx))?;
            let from_slot = pre_all.iter().position(|a| a.address == u0).unwrap() as u32;
            let to_slot = pre_all.iter().position(|a| a.address == u1).unwrap() as u32;
            let t = TransferOp::from_signed(&utx, &sig, v, from_slot, to_slot)?;
            ensure!(t.recover(u1, s0.nonce)? == u0, "token-9 signer");
            let (header, recs, w) = insert(at, Op::Transfer(t));
            let proofs = vec![
                honest_fraud(&b2, ta, "honest_transfer"),
                Proof {
                    name: "unknown_token".into(),
                    batch: b3.number,
                    calldata: fraud_call(&header, &w),
                    fraud: true,
                },
            ];
            write(
                &out,
                "unknown_token.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- wrong_post_state.json: the withdrawal of batch 3 claims a wrong c_i.
        {
            let i = find(&b3, |o| matches!(o.op, Op::Withdrawal(_)));
            let mut recs = b3.bytes();
            let mut r = b3.records[i];
            r.commitment[0] ^= 0x01;
            recs[i] = r.encode();
            let header = lie_header(&b3, &recs, b3.steps.last().unwrap());
            let w = b3.fraud_witness(&recs, i, &b3.ops[i]);
            let honest = find(&b2, |o| matches!(o.op, Op::Withdrawal(_)));
            let proofs = vec![
                honest_fraud(&b2, honest, "honest_withdrawal"),
                Proof {
                    name: "wrong_post_state".into(),
                    batch: b3.number,
                    calldata: fraud_call(&header, &w),
                    fraud: true,
                },
            ];
            write(
                &out,
                "wrong_post_state.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- wrong_final_commitment.json: header.stateRoot altered, records honest.
        {
            let mut header = b3.header.clone();
            header.stateRoot.0[31] ^= 0x01;
            let recs = b3.bytes();
            let proofs = vec![
                final_fraud(&b2, &b2.header, &b2.bytes(), "honest_final", false),
                final_fraud(&b3, &header, &recs, "wrong_final_state_root", true),
            ];
            write(
                &out,
                "wrong_final_commitment.json",
                &file_json(&all_deps, &chain3((header, recs)), &wds, &proofs),
            )?;
        }

        // ---- duplicate_account.json: a register op for u2 (which exists) at a new slot, just
        // before T_b.
        {
            let o = &b3.ops[tb];
            let pre = b3.pre(tb);
            let Op::Transfer(t) = o.op else {
                unreachable!()
            };
            let existing_slot = t.to_slot;
            ensure!(
                o.pre_all[existing_slot as usize].address == u2,
                "T_b pays u2"
            );
            let op = Op::Register(RegisterOp {
                slot: pre.account_count as u32,
                address: u2,
            });
            // The lie's post state: u2 again, empty, at the next slot.
            let mut all = o.pre_all.clone();
            all.push(AccountState {
                address: u2,
                ..empty_state()
            });
            let lie_leaves: Vec<B256> = all.iter().map(st::leaf_of).collect();
            let claimed = StepState {
                state_root: roots::sparse_root(DEPTH, &lie_leaves),
                account_count: pre.account_count + 1,
                ..pre
            };
            let mut recs: Vec<RecordBytes> = b3.bytes()[..tb].to_vec();
            recs.push(
                Record {
                    op,
                    commitment: claimed.commitment(),
                }
                .encode(),
            );
            let header = lie_header(&b3, &recs, &claimed);
            let leaves: Vec<B256> = o.pre_all.iter().map(st::leaf_of).collect();
            let state_at = |all: &[AccountState], s: u32| all[s as usize];
            let existing = {
                let sib = roots::proof_siblings(DEPTH, &leaves, existing_slot.into());
                st::account_witness(existing_slot, &state_at(&o.pre_all, existing_slot), sib)
            };
            let lie_call = st::prove_duplicate_account_calldata(
                &st::unsubmitted_record(header.clone()),
                st::record_opening(&recs, tb),
                st::prev_opening(&recs, tb),
                &pre,
                existing,
            );
            // Honest: batch 2's register of u5, with the witness of another existing slot; and
            // T_a, a transfer (which never creates an account).
            let honest_dup = |i: usize, witness_slot: u32, name: &str| {
                let o = &b2.ops[i];
                let leaves: Vec<B256> = o.pre_all.iter().map(st::leaf_of).collect();
                let sib = roots::proof_siblings(DEPTH, &leaves, witness_slot.into());
                Proof {
                    name: name.into(),
                    batch: b2.number,
                    calldata: st::prove_duplicate_account_calldata(
                        &b2.record(),
                        st::record_opening(&b2.bytes(), i),
                        st::prev_opening(&b2.bytes(), i),
                        &b2.pre(i),
                        st::account_witness(witness_slot, &state_at(&o.pre_all, witness_slot), sib),
                    ),
                    fraud: false,
                }
            };
            let registers = find(&b2, |o| matches!(o.op, Op::Register(_)));
            let Op::Transfer(ta_op) = b2.ops[ta].op else {
                unreachable!()
            };
            let proofs = vec![
                honest_dup(registers, 1, "honest_register"),
                honest_dup(ta, ta_op.to_slot, "honest_existing_recipient"),
                Proof {
                    name: "duplicate_account".into(),
                    batch: b3.number,
                    calldata: lie_call,
                    fraud: true,
                },
            ];
            // The lying batch ends with the duplicate: deposits up to its cursor.
            let v = file_json(
                &deps(claimed.deposit_cursor),
                &chain3((header, recs)),
                &wds,
                &proofs,
            );
            write(&out, "duplicate_account.json", &v)?;
        }

        // ---- forced_deposit_skipped.json: one more portal deposit that batch 3 does not consume.
        {
            let mut d = all_deps.clone();
            d.push(PortalDeposit {
                l1_sender: l1(0xa6),
                recipient: u4,
                token: 0,
                amount: ETHER,
            });
            let v = file_json(
                &d,
                &[honest_pair(&b1), honest_pair(&b2), honest_pair(&b3)],
                &wds,
                &[],
            );
            write(&out, "forced_deposit_skipped.json", &v)?;
        }
        Ok(())
    }

    fn keccak(utx: &UnsignedTx) -> B256 {
        alloy_primitives::keccak256(utx.encode().expect("no data"))
    }
}
