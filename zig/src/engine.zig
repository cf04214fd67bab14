//! GhostPlane engine: ledger, transaction execution, deposits, withdrawals and batch sealing.
//!
//! Definitions are in zig/SPEC.md. Everything is allocated by `Engine.init`; the hot path
//! (deposit, apply, withdraw, seal) never allocates. Accounts live in a dense array indexed by
//! slot; `AccountIndex` maps address -> slot. Every op (SPEC "Settlement on L1": L1 deposit,
//! refund, transaction, withdrawal) has a post-step state (`Step`: state root after the op, ...,
//! and its 31-byte commitment). `finishOp` copies the preimages of the leaves the op touched (at
//! most 3) into a pending list; `flush` (at seal, before a current-state proof, and every
//! `pending_max` ops) replays the pending ops level by level: at each level it writes op k's
//! nodes, then reads the children of op k's parents (so every parent sees the tree exactly as it
//! was after op k), and hashes the parents of all pending ops together, 8 per Keccak kernel call.
//! Each op's state root is its path's top node. Nodes overwritten since the last seal are saved
//! once in an undo log, so proofs against the last sealed root (`accountProof`) stay available
//! without a second tree.
//!
//! Supply invariant, per token t: `balance_sum[t] == deposited[t] - withdrawn[t]`, where
//! `balance_sum` is maintained by the only two functions that change balances (`credit`,
//! `debit`), so it is checked in O(1) after every operation; `verifySupplyFull` re-sums every
//! account (tests).
const std = @import("std");
const assert = std.debug.assert;
const keccak = @import("keccak.zig");
const merkle = @import("merkle.zig");
const AccountIndex = @import("account_index.zig").AccountIndex;

pub const Address = @import("account_index.zig").Address;
pub const Hash = merkle.Hash;
pub const token_count = 8;
pub const token_gcc = 0;
pub const data_length_max = 1024;
pub const accounts_depth_max = 24;
pub const batch_items_max = 1 << 24;
/// Fixed depth of every batch's withdrawals tree (SPEC "Settlement on L1").
pub const withdrawals_depth = 16;
pub const withdrawals_max = 1 << withdrawals_depth;
/// Slot of the fee collector (created by `init`).
pub const collector_slot = 0;
/// Ops whose state roots `flush` computes together (bounds the pending buffers).
pub const pending_max = 1024;
/// Leaves one op touches at most: sender (or depositor), recipient, fee collector.
pub const touched_max = 3;
pub const base_fee_default: u128 = 1_000_000_000_000_000;
pub const account_leaf_length = 20 + 8 + 16 * token_count;

comptime {
    assert(account_leaf_length == keccak.leaf_input_length);
    assert(accounts_depth_max < merkle.depth_max);
}

/// Error codes of the C ABI (zig/SPEC.md). Values are part of the ABI.
pub const ErrorCode = enum(u32) {
    ok = 0,
    null_pointer = 1,
    invalid_handle = 2,
    bad_nonce = 3,
    unknown_token = 4,
    data_too_long = 5,
    fee_too_low = 6,
    insufficient_balance = 7,
    insufficient_fee_balance = 8,
    balance_overflow = 9,
    accounts_full = 10,
    batch_full = 11,
    withdrawals_full = 12,
    account_not_found = 13,
    withdrawal_not_found = 14,
    out_of_memory = 15,
    invalid_config = 16,
    zero_amount = 17,
    bad_deposit_index = 18,
    step_not_found = 19,
};

/// Zig error set mirroring `ErrorCode` (minus `ok`), so `codeOf` is a comptime mapping.
pub const Error = error{
    null_pointer,
    invalid_handle,
    bad_nonce,
    unknown_token,
    data_too_long,
    fee_too_low,
    insufficient_balance,
    insufficient_fee_balance,
    balance_overflow,
    accounts_full,
    batch_full,
    withdrawals_full,
    account_not_found,
    withdrawal_not_found,
    out_of_memory,
    invalid_config,
    zero_amount,
    bad_deposit_index,
    step_not_found,
};

comptime {
    assert(@typeInfo(Error).error_set.error_names.?.len + 1 == std.meta.tags(ErrorCode).len);
}

pub fn codeOf(err: Error) ErrorCode {
    const code: ErrorCode = switch (err) {
        inline else => |e| @field(ErrorCode, @errorName(e)),
    };
    assert(code != .ok);
    assert(std.mem.eql(u8, @tagName(code), @errorName(err)));
    return code;
}

pub const Config = struct {
    accounts_depth: u32,
    batch_transactions_max: u32,
    batch_withdrawals_max: u32,
    base_fee: u128 = base_fee_default,
    fee_collector: Address,

    pub fn validate(config: *const Config) Error!void {
        if (config.accounts_depth < 1 or config.accounts_depth > accounts_depth_max) return error.invalid_config;
        if (config.batch_transactions_max < 1 or config.batch_transactions_max > batch_items_max) return error.invalid_config;
        if (config.batch_withdrawals_max < 1 or config.batch_withdrawals_max > withdrawals_max) return error.invalid_config;
        assert(config.accounts_depth <= accounts_depth_max);
        assert(config.batch_transactions_max <= batch_items_max);
        assert(config.batch_withdrawals_max <= withdrawals_max);
    }
};

pub const Account = struct {
    address: Address,
    nonce: u64,
    balances: [token_count]u128,

    comptime {
        assert(@sizeOf(Account) == 160); // 2.5 cache lines: leaf hashing prefetches 3.
        assert(@alignOf(Account) == 16);
    }
};

pub const Transaction = struct {
    hash: Hash,
    from: Address,
    to: Address,
    value: u128,
    token: u32,
    gas_limit: u64,
    gas_price: u64,
    nonce: u64,
    data_length: u64,
};

pub const WithdrawalRequest = struct {
    from: Address,
    l1_recipient: Address,
    token: u32,
    amount: u128,
    nonce: u64,
};

pub const BatchHeader = struct {
    batch_number: u64,
    transaction_count: u32,
    withdrawal_count: u32,
    account_count: u64,
    state_root: Hash,
    transactions_root: Hash,
    withdrawals_root: Hash,
    deposit_cursor: u64,
    op_count: u32,
};

/// Op kinds (SPEC "Op records").
pub const OpKind = enum(u32) {
    deposit = 1,
    transfer = 2,
    withdrawal = 3,
    refund = 4,
    /// Creates an account for an address the next op needs (SPEC v3: transfers and withdrawals
    /// name accounts by slot and never create them).
    register = 5,
};

/// What `depositL1` did with a deposit it consumed.
pub const DepositOutcome = enum(u8) { credited = 0, refunded = 1 };

/// Post-step state of one op (SPEC "Step state after every op").
pub const Step = struct {
    state_root: Hash,
    withdrawals_root: Hash,
    account_count: u64,
    deposit_cursor: u64,
    withdrawal_count: u32,
    kind: OpKind,
    /// `c_i` in bytes 0..30, byte 31 zero.
    commitment: Hash,
};

pub const step_state_length = 32 + 8 + 32 + 4 + 8;

/// The 84-byte StepState: state_root || account_count (u64 BE) || withdrawals_root ||
/// withdrawal_count (u32 BE) || deposit_cursor (u64 BE).
pub fn encodeStepState(state_root: *const Hash, account_count: u64, withdrawals_root: *const Hash, withdrawal_count: u32, deposit_cursor: u64) [step_state_length]u8 {
    var out: [step_state_length]u8 = undefined;
    out[0..32].* = state_root.*;
    std.mem.writeInt(u64, out[32..40], account_count, .big);
    out[40..72].* = withdrawals_root.*;
    std.mem.writeInt(u32, out[72..76], withdrawal_count, .big);
    std.mem.writeInt(u64, out[76..84], deposit_cursor, .big);
    comptime assert(step_state_length == 84);
    return out;
}

/// `step_commitment`: the first 31 bytes of keccak256(StepState), byte 31 zeroed.
pub fn stepCommitment(state_root: *const Hash, account_count: u64, withdrawals_root: *const Hash, withdrawal_count: u32, deposit_cursor: u64) Hash {
    const bytes = encodeStepState(state_root, account_count, withdrawals_root, withdrawal_count, deposit_cursor);
    var commitment = keccak.hash(&bytes);
    commitment[31] = 0;
    return commitment;
}

pub const Proof = struct {
    leaf_index: u64,
    depth: u32,
    leaf: Hash,
    root: Hash,
    siblings: [32]Hash,
};

pub const Engine = struct {
    allocator: std.mem.Allocator,
    config: Config,
    kernel: keccak.Kernel,

    accounts: []Account,
    account_count: u32 = 0,
    index: AccountIndex,

    /// The live state tree: current after every op.
    tree: merkle.Tree,
    /// Slots touched by the op being applied (deduplicated).
    touched: [touched_max]u32 = undefined,
    touched_count: u32 = 0,
    /// Ops applied since the last `flush` (the open batch's last `pending_count` ops): their
    /// touched slots (sorted) and leaf preimages, `touched_max` per op.
    pending_count: u32 = 0,
    pending_touched: []u8,
    pending_slots: []u32,
    pending_leaves: [][account_leaf_length]u8,
    /// `flush` work lists: one level's nodes (index, hash) and the next level's inputs.
    work_index: []u32,
    work_parent: []u32,
    work_hash: []Hash,
    work_input: [][64]u8,
    /// Undo log: every tree node overwritten since the last seal, saved once with its sealed
    /// value (`saved_bits` marks them), for proofs against the last sealed root.
    saved_bits: []u64,
    undo_nodes: []u32,
    undo_hashes: []Hash,
    undo_count: usize = 0,
    state_root_sealed: Hash = undefined,

    transactions: merkle.Levels,
    transaction_count: u32 = 0,
    /// Depth-16 withdrawals trees of the open and the last sealed batch.
    withdrawals_open: merkle.Tree,
    withdrawal_count: u32 = 0,
    withdrawals_sealed: merkle.Tree,
    withdrawal_count_sealed: u32 = 0,

    /// Post-step states of the open and the last sealed batch's ops.
    steps_open: []Step,
    op_count: u32 = 0,
    steps_sealed: []Step,
    op_count_sealed: u32 = 0,
    /// L1 deposits consumed since genesis.
    deposit_cursor: u64 = 0,

    batch_number_sealed: u64 = 0,
    account_count_sealed: u64 = 0,

    deposited: [token_count]u128 = @splat(0),
    withdrawn: [token_count]u128 = @splat(0),
    balance_sum: [token_count]u128 = @splat(0),

    pub fn init(allocator: std.mem.Allocator, config: Config) Error!*Engine {
        try config.validate();
        const engine = initValid(allocator, config) catch return error.out_of_memory;
        // Genesis: the fee collector at slot 0 (SPEC "Fee collector at genesis").
        const slot = engine.create(&config.fee_collector);
        assert(slot == collector_slot);
        engine.touched_count = 0;
        engine.tree.levelNodes(0)[slot] = accountLeaf(&engine.accounts[slot]);
        var leaf_index = [_]u32{slot};
        engine.tree.rehash(engine.kernel, &leaf_index);
        engine.state_root_sealed = engine.tree.root();
        engine.account_count_sealed = engine.account_count;
        assert(engine.account_count == 1 and engine.batch_number_sealed == 0);
        assert(std.mem.eql(u8, &engine.stateRoot(), &engine.tree.root()));
        return engine;
    }

    fn initValid(allocator: std.mem.Allocator, config: Config) error{OutOfMemory}!*Engine {
        const slots_max = @as(usize, 1) << @intCast(config.accounts_depth);
        const engine = try allocator.create(Engine);
        errdefer allocator.destroy(engine);
        const accounts = try allocator.alloc(Account, slots_max);
        errdefer allocator.free(accounts);
        var index = try AccountIndex.init(allocator, slots_max);
        errdefer index.deinit(allocator);
        merkle.adviseHuge(std.mem.sliceAsBytes(accounts));
        merkle.adviseHuge(std.mem.sliceAsBytes(index.entries));
        var tree = try merkle.Tree.init(allocator, config.accounts_depth);
        errdefer tree.deinit(allocator);
        const saved_bits = try allocator.alloc(u64, (tree.nodes.len + 63) / 64);
        errdefer allocator.free(saved_bits);
        @memset(saved_bits, 0);
        // An op rewrites at most 3 leaves and their paths: 3 * (depth + 1) nodes.
        const undo_max = @min(tree.nodes.len, @as(usize, config.batch_transactions_max) * 3 * (config.accounts_depth + 1));
        const undo_nodes = try allocator.alloc(u32, undo_max);
        errdefer allocator.free(undo_nodes);
        const undo_hashes = try allocator.alloc(Hash, undo_max);
        errdefer allocator.free(undo_hashes);
        const pending_ops: usize = @min(pending_max, config.batch_transactions_max);
        const pending_touched = try allocator.alloc(u8, pending_ops);
        errdefer allocator.free(pending_touched);
        const pending_slots = try allocator.alloc(u32, pending_ops * touched_max);
        errdefer allocator.free(pending_slots);
        const pending_leaves = try allocator.alloc([account_leaf_length]u8, pending_ops * touched_max);
        errdefer allocator.free(pending_leaves);
        const work_index = try allocator.alloc(u32, pending_ops * touched_max);
        errdefer allocator.free(work_index);
        const work_parent = try allocator.alloc(u32, pending_ops * touched_max);
        errdefer allocator.free(work_parent);
        const work_hash = try allocator.alloc(Hash, pending_ops * touched_max);
        errdefer allocator.free(work_hash);
        const work_input = try allocator.alloc([64]u8, pending_ops * touched_max);
        errdefer allocator.free(work_input);
        var transactions = try merkle.Levels.init(allocator, config.batch_transactions_max);
        errdefer transactions.deinit(allocator);
        var withdrawals_open = try merkle.Tree.init(allocator, withdrawals_depth);
        errdefer withdrawals_open.deinit(allocator);
        var withdrawals_sealed = try merkle.Tree.init(allocator, withdrawals_depth);
        errdefer withdrawals_sealed.deinit(allocator);
        const steps_open = try allocator.alloc(Step, config.batch_transactions_max);
        errdefer allocator.free(steps_open);
        const steps_sealed = try allocator.alloc(Step, config.batch_transactions_max);
        errdefer allocator.free(steps_sealed);
        engine.* = .{
            .allocator = allocator,
            .config = config,
            .kernel = keccak.kernelBest(),
            .accounts = accounts,
            .index = index,
            .tree = tree,
            .saved_bits = saved_bits,
            .undo_nodes = undo_nodes,
            .undo_hashes = undo_hashes,
            .pending_touched = pending_touched,
            .pending_slots = pending_slots,
            .pending_leaves = pending_leaves,
            .work_index = work_index,
            .work_parent = work_parent,
            .work_hash = work_hash,
            .work_input = work_input,
            .transactions = transactions,
            .withdrawals_open = withdrawals_open,
            .withdrawals_sealed = withdrawals_sealed,
            .steps_open = steps_open,
            .steps_sealed = steps_sealed,
        };
        assert(engine.accounts.len == engine.tree.levelNodes(0).len);
        return engine;
    }

    /// Software pipeline for a run of transactions (anything with `from`/`to`): call for
    /// `txs[i + prefetch_distance]` before applying `txs[i]`. Stage 1 pulls the index entries
    /// in; stage 2 (half the distance later) pulls in the accounts they point at.
    pub const prefetch_distance = 32;

    pub fn prefetchPipeline(engine: *const Engine, txs: anytype, i: usize) void {
        assert(i < txs.len);
        comptime assert(prefetch_distance % 2 == 0);
        if (i + prefetch_distance < txs.len) {
            engine.index.prefetchEntry(&txs[i + prefetch_distance].from);
            engine.index.prefetchEntry(&txs[i + prefetch_distance].to);
        }
        if (i + prefetch_distance / 2 < txs.len) {
            engine.prefetchAccount(&txs[i + prefetch_distance / 2].from);
            engine.prefetchAccount(&txs[i + prefetch_distance / 2].to);
        }
    }

    fn prefetchAccount(engine: *const Engine, address: *const Address) void {
        assert(engine.account_count <= engine.accounts.len);
        const slot = engine.index.peek(address) orelse return;
        if (slot >= engine.account_count) return;
        @prefetch(&engine.accounts[slot], .{ .rw = .write, .locality = 3, .cache = .data });
    }

    pub fn deinit(engine: *Engine) void {
        const allocator = engine.allocator;
        assert(engine.account_count <= engine.accounts.len);
        assert(engine.index.count == engine.account_count);
        allocator.free(engine.accounts);
        engine.index.deinit(allocator);
        engine.tree.deinit(allocator);
        allocator.free(engine.saved_bits);
        allocator.free(engine.undo_nodes);
        allocator.free(engine.undo_hashes);
        allocator.free(engine.pending_touched);
        allocator.free(engine.pending_slots);
        allocator.free(engine.pending_leaves);
        allocator.free(engine.work_index);
        allocator.free(engine.work_parent);
        allocator.free(engine.work_hash);
        allocator.free(engine.work_input);
        engine.transactions.deinit(allocator);
        engine.withdrawals_open.deinit(allocator);
        engine.withdrawals_sealed.deinit(allocator);
        allocator.free(engine.steps_open);
        allocator.free(engine.steps_sealed);
        allocator.destroy(engine);
    }

    pub fn find(engine: *const Engine, address: *const Address) ?u32 {
        const slot = engine.index.find(address, engine.accounts) orelse return null;
        assert(slot < engine.account_count);
        return slot;
    }

    fn slotsFree(engine: *const Engine) u64 {
        assert(engine.account_count <= engine.accounts.len);
        return engine.accounts.len - engine.account_count;
    }

    fn create(engine: *Engine, address: *const Address) u32 {
        assert(engine.slotsFree() > 0);
        assert(engine.find(address) == null);
        const slot = engine.account_count;
        engine.accounts[slot] = .{ .address = address.*, .nonce = 0, .balances = @splat(0) };
        engine.index.insert(address, slot);
        engine.account_count += 1;
        engine.markDirty(slot);
        assert(engine.index.count == engine.account_count);
        return slot;
    }

    fn markDirty(engine: *Engine, slot: u32) void {
        assert(slot < engine.account_count);
        for (engine.touched[0..engine.touched_count]) |t| if (t == slot) return;
        assert(engine.touched_count < engine.touched.len);
        engine.touched[engine.touched_count] = slot;
        engine.touched_count += 1;
    }

    /// The only place balances increase. Overflow was ruled out by the caller.
    fn credit(engine: *Engine, slot: u32, token: u32, amount: u128) void {
        assert(token < token_count);
        const balance = &engine.accounts[slot].balances[token];
        assert(balance.* <= std.math.maxInt(u128) - amount);
        balance.* += amount;
        engine.balance_sum[token] += amount;
        assert(engine.balance_sum[token] >= balance.*);
        engine.markDirty(slot);
    }

    /// The only place balances decrease. Sufficiency was checked by the caller.
    fn debit(engine: *Engine, slot: u32, token: u32, amount: u128) void {
        assert(token < token_count);
        const balance = &engine.accounts[slot].balances[token];
        assert(balance.* >= amount);
        assert(engine.balance_sum[token] >= amount);
        balance.* -= amount;
        engine.balance_sum[token] -= amount;
        engine.markDirty(slot);
    }

    fn assertSupply(engine: *const Engine, token: u32) void {
        assert(engine.deposited[token] >= engine.withdrawn[token]);
        assert(engine.balance_sum[token] == engine.deposited[token] - engine.withdrawn[token]);
    }

    /// Full scan: for every token, sum of all balances == deposits - withdrawals.
    pub fn verifySupplyFull(engine: *const Engine) bool {
        assert(engine.account_count <= engine.accounts.len);
        assert(engine.index.count == engine.account_count);
        var sums: [token_count]u128 = @splat(0);
        for (engine.accounts[0..engine.account_count]) |*account| {
            for (account.balances, 0..) |balance, token| sums[token] += balance;
        }
        for (0..token_count) |token| {
            if (sums[token] != engine.balance_sum[token]) return false;
            if (sums[token] != engine.deposited[token] - engine.withdrawn[token]) return false;
        }
        return true;
    }

    fn withdrawalsMax(engine: *const Engine) u32 {
        assert(engine.config.batch_withdrawals_max <= withdrawals_max);
        return engine.config.batch_withdrawals_max;
    }

    /// v1 deposit (the dev path): an L1 deposit of index `deposit_cursor` with
    /// `l1_sender = address`, except that `accounts_full` is an error that changes nothing.
    pub fn deposit(engine: *Engine, address: *const Address, token: u32, amount: u128) Error!void {
        if (engine.op_count == engine.config.batch_transactions_max) return error.batch_full;
        const slot = try engine.depositCheck(address, token, amount) orelse return error.accounts_full;
        engine.depositCredit(slot, token, amount);
    }

    /// L1 deposit `index` (SPEC "C ABI additions"): `bad_deposit_index` unless it is the next one;
    /// a deposit that cannot create its account becomes a refund op.
    pub fn depositL1(engine: *Engine, index: u64, l1_sender: *const Address, address: *const Address, token: u32, amount: u128) Error!DepositOutcome {
        if (index != engine.deposit_cursor) return error.bad_deposit_index;
        if (engine.op_count == engine.config.batch_transactions_max) return error.batch_full;
        const slot = try engine.depositCheck(address, token, amount) orelse {
            // Refund: the withdrawal leaf needs room in the open batch (else retry after a seal).
            if (engine.withdrawal_count == engine.withdrawalsMax()) return error.withdrawals_full;
            engine.appendWithdrawal(&.{ .from = @splat(0), .l1_recipient = l1_sender.*, .token = token, .amount = amount, .nonce = 0 });
            engine.deposit_cursor += 1;
            engine.finishOp(.refund);
            return .refunded;
        };
        engine.depositCredit(slot, token, amount);
        return .credited;
    }

    /// The deposit checks; the depositor's slot (created if new), null when it cannot be created.
    fn depositCheck(engine: *Engine, address: *const Address, token: u32, amount: u128) Error!?u32 {
        if (token >= token_count) return error.unknown_token;
        if (amount == 0) return error.zero_amount;
        if (engine.deposited[token] > std.math.maxInt(u128) - amount) return error.balance_overflow;
        return engine.find(address) orelse {
            if (engine.slotsFree() == 0) return null;
            return engine.create(address);
        };
    }

    fn depositCredit(engine: *Engine, slot: u32, token: u32, amount: u128) void {
        engine.deposited[token] += amount;
        engine.credit(slot, token, amount);
        assert(engine.accounts[slot].balances[token] >= amount);
        engine.assertSupply(token);
        engine.deposit_cursor += 1;
        engine.finishOp(.deposit);
    }

    fn feeOffered(tx: *const Transaction) u128 {
        const offered = @as(u128, tx.gas_limit) * @as(u128, tx.gas_price);
        assert(offered <= @as(u128, std.math.maxInt(u64)) * std.math.maxInt(u64)); // No overflow.
        assert(offered >= tx.gas_limit or tx.gas_price == 0);
        return offered;
    }

    /// Checks a transaction against current state without changing anything. Returns the
    /// number of accounts it would create (sender, recipient; the collector exists from init).
    fn check(engine: *const Engine, tx: *const Transaction, from: ?u32, to: ?u32) Error!u32 {
        const base_fee = engine.config.base_fee;
        const nonce = if (from) |slot| engine.accounts[slot].nonce else 0;
        if (tx.nonce != nonce) return error.bad_nonce;
        if (tx.token >= token_count) return error.unknown_token;
        if (tx.data_length > data_length_max) return error.data_too_long;
        if (feeOffered(tx) < base_fee) return error.fee_too_low;
        const zero: [token_count]u128 = @splat(0);
        const balances = if (from) |slot| &engine.accounts[slot].balances else &zero;
        const debit_token = if (tx.token == token_gcc) @addWithOverflow(tx.value, base_fee) else .{ tx.value, @as(u1, 0) };
        if (debit_token[1] != 0 or balances[tx.token] < debit_token[0]) return error.insufficient_balance;
        if (balances[token_gcc] < base_fee) return error.insufficient_fee_balance;
        assert(tx.token < token_count and tx.data_length <= data_length_max);
        assert(balances[tx.token] >= tx.value);
        // Credits cannot overflow while balance_sum <= u128 max (the invariant), but check.
        // A self-transfer debits before it credits, so it never overflows.
        if (to) |slot| if (slot != from) {
            if (engine.accounts[slot].balances[tx.token] > std.math.maxInt(u128) - tx.value) return error.balance_overflow;
        };
        var created: u32 = 0;
        if (from == null) created += 1;
        if (to == null and !std.mem.eql(u8, &tx.from, &tx.to)) created += 1;
        if (created > engine.slotsFree()) return error.accounts_full;
        assert(created <= 2);
        return created;
    }

    /// Applies one transaction to the open batch, or rejects it changing nothing. A new sender
    /// and a new recipient are each created by a register op before the transfer op.
    pub fn apply(engine: *Engine, tx: *const Transaction) Error!void {
        const from = engine.find(&tx.from);
        const to = engine.find(&tx.to);
        const self_transfer = std.mem.eql(u8, &tx.from, &tx.to);
        const registers: u32 = @as(u32, @intFromBool(from == null)) + @intFromBool(to == null and !self_transfer);
        if (engine.op_count + 1 + registers > engine.config.batch_transactions_max) return error.batch_full;
        const count_before = engine.account_count;
        const created = try engine.check(tx, from, to);
        assert(created == registers);
        const from_slot = from orelse engine.register(&tx.from);
        const to_slot = to orelse (engine.find(&tx.to) orelse engine.register(&tx.to));
        engine.accounts[from_slot].nonce += 1;
        engine.markDirty(from_slot);
        engine.debit(from_slot, tx.token, tx.value);
        engine.credit(to_slot, tx.token, tx.value);
        engine.chargeFee(from_slot);
        assert(engine.account_count == count_before + created);
        assert(engine.accounts[from_slot].nonce == tx.nonce + 1);
        engine.transactions.leaves()[engine.transaction_count] = tx.hash;
        engine.transaction_count += 1;
        assert(engine.transaction_count <= engine.config.batch_transactions_max);
        engine.assertSupply(tx.token);
        engine.assertSupply(token_gcc);
        engine.finishOp(.transfer);
    }

    /// A register op: creates `address` at the next slot as an op of its own.
    fn register(engine: *Engine, address: *const Address) u32 {
        assert(engine.touched_count == 0);
        const slot = engine.create(address);
        engine.finishOp(.register);
        return slot;
    }

    fn chargeFee(engine: *Engine, payer: u32) void {
        const base_fee = engine.config.base_fee;
        assert(payer < engine.account_count);
        if (base_fee == 0) return;
        assert(std.mem.eql(u8, &engine.accounts[collector_slot].address, &engine.config.fee_collector));
        assert(engine.accounts[payer].balances[token_gcc] >= base_fee);
        engine.debit(payer, token_gcc, base_fee);
        engine.credit(collector_slot, token_gcc, base_fee);
    }

    /// Debits amount + fee, records the withdrawal leaf in the open batch. An L1 recipient with
    /// no L2 account is first registered (the op names it by slot).
    pub fn withdraw(engine: *Engine, request: *const WithdrawalRequest) Error!void {
        const recipient = engine.find(&request.l1_recipient);
        const registers: u32 = @intFromBool(recipient == null);
        if (engine.op_count + 1 + registers > engine.config.batch_transactions_max) return error.batch_full;
        if (engine.withdrawal_count == engine.withdrawalsMax()) return error.withdrawals_full;
        if (request.token >= token_count) return error.unknown_token;
        if (request.amount == 0) return error.zero_amount;
        const slot = engine.find(&request.from) orelse return error.account_not_found;
        const base_fee = engine.config.base_fee;
        const account = &engine.accounts[slot];
        if (request.nonce != account.nonce) return error.bad_nonce;
        const needed = if (request.token == token_gcc) @addWithOverflow(request.amount, base_fee) else .{ request.amount, @as(u1, 0) };
        if (needed[1] != 0 or account.balances[request.token] < needed[0]) return error.insufficient_balance;
        if (account.balances[token_gcc] < base_fee) return error.insufficient_fee_balance;
        if (registers > engine.slotsFree()) return error.accounts_full;

        if (recipient == null) _ = engine.register(&request.l1_recipient);
        account.nonce += 1;
        engine.markDirty(slot);
        engine.debit(slot, request.token, request.amount);
        engine.withdrawn[request.token] += request.amount;
        engine.chargeFee(slot);
        engine.appendWithdrawal(request);
        assert(engine.accounts[slot].nonce == request.nonce + 1);
        engine.assertSupply(request.token);
        engine.assertSupply(token_gcc);
        engine.finishOp(.withdrawal);
    }

    /// Writes the next withdrawal leaf of the open batch and rehashes its path (16 nodes).
    fn appendWithdrawal(engine: *Engine, request: *const WithdrawalRequest) void {
        assert(engine.withdrawal_count < engine.withdrawalsMax());
        const tree = &engine.withdrawals_open;
        var position: usize = engine.withdrawal_count;
        tree.levelNodes(0)[position] = withdrawalLeaf(engine.batch_number_sealed + 1, engine.withdrawal_count, request);
        for (0..withdrawals_depth) |level| {
            const children = tree.levelNodes(@intCast(level));
            const parent = position >> 1;
            tree.levelNodes(@intCast(level + 1))[parent] = merkle.hashPair(&children[2 * parent], &children[2 * parent + 1]);
            position = parent;
        }
        engine.withdrawal_count += 1;
        assert(engine.withdrawal_count <= engine.withdrawalsMax());
    }

    /// Ends an op: records its post-step state (the state root and commitment are filled in by
    /// `flush`) and its touched leaves' preimages.
    fn finishOp(engine: *Engine, kind: OpKind) void {
        assert(engine.op_count < engine.config.batch_transactions_max);
        assert(engine.pending_count < engine.pending_touched.len);
        const count = engine.touched_count;
        const base = engine.pending_count * touched_max;
        const slots = engine.pending_slots[base..][0..count];
        @memcpy(slots, engine.touched[0..count]);
        std.mem.sort(u32, slots, {}, std.sort.asc(u32));
        for (slots, 0..) |slot, j| encodeLeaf(&engine.accounts[slot], &engine.pending_leaves[base + j]);
        engine.pending_touched[engine.pending_count] = @intCast(count);
        engine.pending_count += 1;
        engine.touched_count = 0;
        engine.steps_open[engine.op_count] = .{
            .state_root = undefined,
            .withdrawals_root = engine.withdrawals_open.root(),
            .account_count = engine.account_count,
            .deposit_cursor = engine.deposit_cursor,
            .withdrawal_count = engine.withdrawal_count,
            .kind = kind,
            .commitment = undefined,
        };
        engine.op_count += 1;
        if (engine.pending_count == engine.pending_touched.len) engine.flush();
    }

    /// Computes the state roots and commitments of the pending ops (see the file comment),
    /// leaving the tree current.
    pub fn flush(engine: *Engine) void {
        const n = engine.pending_count;
        if (n == 0) return;
        assert(n <= engine.op_count);
        const first_op = engine.op_count - n;
        var root_before = engine.tree.root();
        // Level 0: the leaves, hashed 8 per kernel call, compacted to the front in op order.
        var entries: usize = 0;
        for (0..n) |k| {
            const count = engine.pending_touched[k];
            for (0..count) |j| {
                engine.work_index[entries] = engine.pending_slots[k * touched_max + j];
                if (entries != k * touched_max + j) engine.pending_leaves[entries] = engine.pending_leaves[k * touched_max + j];
                entries += 1;
            }
        }
        hashGroups(engine.kernel, .leaves, engine.pending_leaves[0..entries], engine.work_hash[0..entries]);
        var level: u32 = 0;
        while (level <= engine.tree.depth) : (level += 1) {
            const nodes = engine.tree.levelNodes(level);
            const offset = engine.tree.level_offsets[level];
            // Random nodes of the large levels: pull every line this level touches (at most
            // 3 * pending_max, fits L2) into cache before the in-order pass.
            if (nodes.len > 4096) {
                for (engine.work_index[0..entries]) |index| @prefetch(&nodes[index], .{ .rw = .write, .locality = 2, .cache = .data });
            }
            var read: usize = 0;
            var write: usize = 0;
            for (0..n) |k| {
                const count = engine.pending_touched[k];
                // Op k's nodes of this level, then the inputs of its parents as of after op k.
                for (engine.work_index[read..][0..count], engine.work_hash[read..][0..count]) |index, *hash| {
                    engine.saveNode(offset + index);
                    nodes[index] = hash.*;
                }
                if (level == engine.tree.depth) {
                    assert(count <= 1);
                    const post = &engine.steps_open[first_op + k];
                    post.state_root = if (count == 1) engine.work_hash[read] else root_before;
                    root_before = post.state_root;
                    read += count;
                    continue;
                }
                var parents: u8 = 0;
                for (engine.work_index[read..][0..count]) |index| {
                    const parent = index >> 1;
                    if (parents > 0 and engine.work_parent[write - 1] == parent) continue;
                    engine.work_parent[write] = parent;
                    // The two children are adjacent: one 64-byte copy.
                    engine.work_input[write] = @as(*const [64]u8, @ptrCast(&nodes[2 * parent])).*;
                    write += 1;
                    parents += 1;
                }
                engine.pending_touched[k] = parents;
                read += count;
            }
            assert(read == entries);
            if (level == engine.tree.depth) break;
            entries = write;
            std.mem.swap([]u32, &engine.work_index, &engine.work_parent);
            hashGroups(engine.kernel, .nodes, engine.work_input[0..entries], engine.work_hash[0..entries]);
        }
        // Commitments, 8 per kernel call (the step preimages reuse the node-input buffer).
        const steps = engine.steps_open[first_op..engine.op_count];
        assert(engine.work_input.len * 64 >= @as(usize, n) * step_state_length);
        const preimages: [][step_state_length]u8 = @as([*][step_state_length]u8, @ptrCast(engine.work_input.ptr))[0..n];
        comptime assert(step_state_length == keccak.step_input_length);
        for (steps, preimages) |*post, *preimage| {
            preimage.* = encodeStepState(&post.state_root, post.account_count, &post.withdrawals_root, post.withdrawal_count, post.deposit_cursor);
        }
        hashGroups(engine.kernel, .steps, preimages, engine.work_hash[0..n]);
        for (steps, engine.work_hash[0..n]) |*post, digest| {
            post.commitment = digest;
            post.commitment[31] = 0;
        }
        engine.pending_count = 0;
        assert(std.mem.eql(u8, &engine.steps_open[engine.op_count - 1].state_root, &engine.tree.root()));
    }

    const GroupInput = enum { leaves, nodes, steps };

    /// Hashes `inputs[i]` into `outputs[i]`, `keccak.group_size` per kernel call.
    fn hashGroups(kernel: keccak.Kernel, comptime what: GroupInput, inputs: anytype, outputs: []Hash) void {
        assert(inputs.len == outputs.len);
        const Input = @TypeOf(inputs[0]);
        var start: usize = 0;
        while (start < inputs.len) : (start += keccak.group_size) {
            const count = @min(keccak.group_size, inputs.len - start);
            var in: [keccak.group_size]*const Input = undefined;
            var out: [keccak.group_size]*[32]u8 = undefined;
            var discard: [keccak.group_size]Hash = undefined;
            for (0..keccak.group_size) |k| {
                in[k] = &inputs[start + @min(k, count - 1)];
                out[k] = if (k < count) &outputs[start + k] else &discard[k];
            }
            switch (what) {
                .leaves => kernel.hash_leaves(&in, &out),
                .nodes => kernel.hash_nodes(&in, &out),
                .steps => kernel.hash_steps(&in, &out),
            }
        }
    }

    /// Saves node `offset`'s sealed value the first time it is overwritten after a seal.
    fn saveNode(engine: *Engine, offset: usize) void {
        const bit = @as(u64, 1) << @intCast(offset % 64);
        if (engine.saved_bits[offset / 64] & bit != 0) return;
        assert(engine.undo_count < engine.undo_nodes.len);
        engine.saved_bits[offset / 64] |= bit;
        engine.undo_nodes[engine.undo_count] = @intCast(offset);
        engine.undo_hashes[engine.undo_count] = engine.tree.nodes[offset];
        engine.undo_count += 1;
    }

    fn clearUndo(engine: *Engine) void {
        for (engine.undo_nodes[0..engine.undo_count]) |offset| {
            engine.saved_bits[offset / 64] &= ~(@as(u64, 1) << @intCast(offset % 64));
        }
        engine.undo_count = 0;
    }

    /// Node `offset` as it was at the last seal.
    fn sealedNode(engine: *const Engine, offset: usize) Hash {
        if (engine.saved_bits[offset / 64] & (@as(u64, 1) << @intCast(offset % 64)) == 0) return engine.tree.nodes[offset];
        for (engine.undo_nodes[0..engine.undo_count], 0..) |saved, i| {
            if (saved == offset) return engine.undo_hashes[i];
        }
        unreachable; // A saved bit always has its undo entry.
    }

    /// Seals the open batch: transactions root (the state and withdrawals roots are current);
    /// opens the next batch.
    pub fn seal(engine: *Engine) BatchHeader {
        assert(engine.touched_count == 0);
        engine.flush();
        const header: BatchHeader = .{
            .batch_number = engine.batch_number_sealed + 1,
            .transaction_count = engine.transaction_count,
            .withdrawal_count = engine.withdrawal_count,
            .account_count = engine.account_count,
            .state_root = engine.tree.root(),
            .transactions_root = engine.transactions.build(engine.kernel, engine.transaction_count),
            .withdrawals_root = engine.withdrawals_open.root(),
            .deposit_cursor = engine.deposit_cursor,
            .op_count = engine.op_count,
        };
        if (engine.op_count > 0) {
            const last = &engine.steps_open[engine.op_count - 1];
            assert(std.mem.eql(u8, &last.state_root, &header.state_root));
            assert(std.mem.eql(u8, &last.withdrawals_root, &header.withdrawals_root));
            assert(last.account_count == header.account_count and last.deposit_cursor == header.deposit_cursor);
        }
        // The open withdrawals tree becomes the sealed one; the old sealed one is zeroed where
        // it was written (leaves 0..count and their ancestors) and opens the next batch.
        std.mem.swap(merkle.Tree, &engine.withdrawals_open, &engine.withdrawals_sealed);
        engine.resetWithdrawals(engine.withdrawal_count_sealed);
        std.mem.swap([]Step, &engine.steps_open, &engine.steps_sealed);
        engine.op_count_sealed = engine.op_count;
        engine.withdrawal_count_sealed = engine.withdrawal_count;
        engine.clearUndo();
        engine.state_root_sealed = header.state_root;
        engine.batch_number_sealed = header.batch_number;
        engine.account_count_sealed = engine.account_count;
        engine.transaction_count = 0;
        engine.withdrawal_count = 0;
        engine.op_count = 0;
        assert(std.mem.eql(u8, &engine.withdrawals_open.root(), &engine.withdrawals_open.zero[withdrawals_depth]));
        return header;
    }

    fn resetWithdrawals(engine: *Engine, count: u32) void {
        const tree = &engine.withdrawals_open;
        var width: usize = count;
        for (0..withdrawals_depth + 1) |level| {
            @memset(tree.levelNodes(@intCast(level))[0..width], tree.zero[level]);
            width = (width + 1) / 2;
        }
    }

    /// State root at the last sealed batch (genesis before the first seal).
    pub fn stateRoot(engine: *const Engine) Hash {
        assert(engine.account_count_sealed <= engine.account_count);
        assert(engine.tree.depth == engine.config.accounts_depth);
        return engine.state_root_sealed;
    }

    /// Proof of `address`'s leaf against the last sealed state root.
    pub fn accountProof(engine: *const Engine, address: *const Address, proof: *Proof) Error!void {
        const slot = engine.find(address) orelse return error.account_not_found;
        const depth = engine.tree.depth;
        proof.* = .{
            .leaf_index = slot,
            .depth = depth,
            .leaf = engine.sealedNode(slot),
            .root = engine.state_root_sealed,
            .siblings = undefined,
        };
        @memset(&proof.siblings, @as(Hash, @splat(0)));
        var position: usize = slot;
        for (0..depth) |level| {
            proof.siblings[level] = engine.sealedNode(engine.tree.level_offsets[level] + (position ^ 1));
            position >>= 1;
        }
        assert(proof.depth == engine.config.accounts_depth);
        assert(slot < engine.account_count_sealed or std.mem.eql(u8, &proof.leaf, &engine.tree.zero[0]));
    }

    /// Proof of slot `slot` (used or not) against the current state root.
    pub fn slotProof(engine: *Engine, slot: u64, proof: *Proof) Error!void {
        if (slot >= engine.accounts.len) return error.account_not_found;
        engine.flush();
        const depth = engine.tree.depth;
        proof.* = .{
            .leaf_index = slot,
            .depth = depth,
            .leaf = engine.tree.levelNodes(0)[slot],
            .root = engine.tree.root(),
            .siblings = undefined,
        };
        @memset(&proof.siblings, @as(Hash, @splat(0)));
        engine.tree.proof(slot, proof.siblings[0..depth]);
        assert(proof.depth == engine.config.accounts_depth);
    }

    /// Proof of withdrawal `index` of the last sealed batch against its withdrawals root.
    pub fn withdrawalProof(engine: *const Engine, index: u32, proof: *Proof) Error!void {
        if (engine.batch_number_sealed == 0 or index >= engine.withdrawal_count_sealed) return error.withdrawal_not_found;
        withdrawalTreeProof(&engine.withdrawals_sealed, index, proof);
    }

    /// Proof of leaf `index` (< 2^16, possibly the zero leaf) of the open batch's withdrawals
    /// tree against its current root.
    pub fn openWithdrawalProof(engine: *const Engine, index: u32, proof: *Proof) Error!void {
        if (index >= withdrawals_max) return error.withdrawal_not_found;
        withdrawalTreeProof(&engine.withdrawals_open, index, proof);
    }

    fn withdrawalTreeProof(tree: *const merkle.Tree, index: u32, proof: *Proof) void {
        assert(tree.depth == withdrawals_depth);
        proof.* = .{
            .leaf_index = index,
            .depth = withdrawals_depth,
            .leaf = tree.levelNodes(0)[index],
            .root = tree.root(),
            .siblings = undefined,
        };
        @memset(&proof.siblings, @as(Hash, @splat(0)));
        tree.proof(index, proof.siblings[0..withdrawals_depth]);
    }

    /// Post-step state of op `index` of the last sealed batch.
    pub fn step(engine: *const Engine, index: u32) Error!*const Step {
        if (index >= engine.op_count_sealed) return error.step_not_found;
        return &engine.steps_sealed[index];
    }
};

pub fn encodeLeaf(account: *const Account, out: *[account_leaf_length]u8) void {
    comptime assert(28 + 16 * token_count == account_leaf_length);
    out[0..20].* = account.address;
    std.mem.writeInt(u64, out[20..28], account.nonce, .big);
    inline for (0..token_count) |token| {
        std.mem.writeInt(u128, out[28 + 16 * token ..][0..16], account.balances[token], .big);
    }
}

pub fn accountLeaf(account: *const Account) Hash {
    var buffer: [account_leaf_length]u8 = undefined;
    encodeLeaf(account, &buffer);
    assert(std.mem.eql(u8, buffer[0..20], &account.address));
    comptime assert(buffer.len > keccak.rate_bytes); // Two Keccak blocks.
    return keccak.hash(&buffer);
}

pub fn withdrawalLeaf(batch_number: u64, index: u32, request: *const WithdrawalRequest) Hash {
    assert(request.token < token_count);
    assert(request.amount > 0);
    var buffer: [8 + 4 + 20 + 20 + 4 + 16]u8 = undefined;
    std.mem.writeInt(u64, buffer[0..8], batch_number, .big);
    std.mem.writeInt(u32, buffer[8..12], index, .big);
    buffer[12..32].* = request.from;
    buffer[32..52].* = request.l1_recipient;
    std.mem.writeInt(u32, buffer[52..56], request.token, .big);
    std.mem.writeInt(u128, buffer[56..72], request.amount, .big);
    comptime assert(buffer.len == 72);
    return keccak.hash(&buffer);
}
