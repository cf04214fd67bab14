//! GhostPlane engine: ledger, transaction execution, deposits, withdrawals and batch sealing.
//!
//! Definitions are in zig/SPEC.md. Everything is allocated by `Engine.init`; the hot path
//! (deposit, apply, withdraw, seal) never allocates. Accounts live in a dense array indexed by
//! slot; `AccountIndex` maps address -> slot. Applying marks touched slots in a dirty bitset;
//! sealing rehashes only those leaves and their ancestors (`merkle.Tree.rehash`).
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
        if (config.batch_withdrawals_max < 1 or config.batch_withdrawals_max > batch_items_max) return error.invalid_config;
        assert(config.accounts_depth <= accounts_depth_max);
        assert(config.batch_transactions_max <= batch_items_max);
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
};

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
    /// Slot of `config.fee_collector` once it exists (saves two lookups per transaction).
    collector_slot: ?u32 = null,

    tree: merkle.Tree,
    dirty_words: []u64,
    dirty_indices: []u32,
    leaf_inputs: [][account_leaf_length]u8,

    transactions: merkle.Levels,
    transaction_count: u32 = 0,
    withdrawals_open: merkle.Levels,
    withdrawal_count: u32 = 0,
    withdrawals_sealed: merkle.Levels,

    batch_number_sealed: u64 = 0,
    account_count_sealed: u64 = 0,

    deposited: [token_count]u128 = @splat(0),
    withdrawn: [token_count]u128 = @splat(0),
    balance_sum: [token_count]u128 = @splat(0),

    pub fn init(allocator: std.mem.Allocator, config: Config) Error!*Engine {
        try config.validate();
        const engine = initValid(allocator, config) catch return error.out_of_memory;
        assert(engine.account_count == 0 and engine.batch_number_sealed == 0);
        assert(std.mem.eql(u8, &engine.stateRoot(), &engine.tree.zero[config.accounts_depth]));
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
        const dirty_words = try allocator.alloc(u64, (slots_max + 63) / 64);
        errdefer allocator.free(dirty_words);
        @memset(dirty_words, 0);
        const dirty_indices = try allocator.alloc(u32, slots_max);
        errdefer allocator.free(dirty_indices);
        const leaf_inputs = try allocator.alloc([account_leaf_length]u8, keccak.group_size);
        errdefer allocator.free(leaf_inputs);
        var transactions = try merkle.Levels.init(allocator, config.batch_transactions_max);
        errdefer transactions.deinit(allocator);
        var withdrawals_open = try merkle.Levels.init(allocator, config.batch_withdrawals_max);
        errdefer withdrawals_open.deinit(allocator);
        const withdrawals_sealed = try merkle.Levels.init(allocator, config.batch_withdrawals_max);
        engine.* = .{
            .allocator = allocator,
            .config = config,
            .kernel = keccak.kernelBest(),
            .accounts = accounts,
            .index = index,
            .tree = tree,
            .dirty_words = dirty_words,
            .dirty_indices = dirty_indices,
            .leaf_inputs = leaf_inputs,
            .transactions = transactions,
            .withdrawals_open = withdrawals_open,
            .withdrawals_sealed = withdrawals_sealed,
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
        allocator.free(engine.dirty_words);
        allocator.free(engine.dirty_indices);
        allocator.free(engine.leaf_inputs);
        engine.transactions.deinit(allocator);
        engine.withdrawals_open.deinit(allocator);
        engine.withdrawals_sealed.deinit(allocator);
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
        if (std.mem.eql(u8, address, &engine.config.fee_collector)) {
            assert(engine.collector_slot == null);
            engine.collector_slot = slot;
        }
        assert(engine.index.count == engine.account_count);
        return slot;
    }

    fn markDirty(engine: *Engine, slot: u32) void {
        assert(slot < engine.account_count);
        engine.dirty_words[slot / 64] |= @as(u64, 1) << @intCast(slot % 64);
        assert(engine.dirty_words[slot / 64] != 0);
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

    pub fn deposit(engine: *Engine, address: *const Address, token: u32, amount: u128) Error!void {
        if (token >= token_count) return error.unknown_token;
        if (amount == 0) return error.zero_amount;
        if (engine.deposited[token] > std.math.maxInt(u128) - amount) return error.balance_overflow;
        const slot = engine.find(address) orelse blk: {
            if (engine.slotsFree() == 0) return error.accounts_full;
            break :blk engine.create(address);
        };
        engine.deposited[token] += amount;
        engine.credit(slot, token, amount);
        assert(engine.accounts[slot].balances[token] >= amount);
        engine.assertSupply(token);
    }

    fn feeOffered(tx: *const Transaction) u128 {
        const offered = @as(u128, tx.gas_limit) * @as(u128, tx.gas_price);
        assert(offered <= @as(u128, std.math.maxInt(u64)) * std.math.maxInt(u64)); // No overflow.
        assert(offered >= tx.gas_limit or tx.gas_price == 0);
        return offered;
    }

    /// Checks a transaction against current state without changing anything. Returns the
    /// number of accounts it would create (sender, recipient, fee collector; at most 3).
    fn check(engine: *const Engine, tx: *const Transaction, from: ?u32, to: ?u32, collector: ?u32) Error!u32 {
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
        if (collector == null and base_fee > 0 and
            !std.mem.eql(u8, &engine.config.fee_collector, &tx.from) and
            !std.mem.eql(u8, &engine.config.fee_collector, &tx.to)) created += 1;
        if (created > engine.slotsFree()) return error.accounts_full;
        assert(created <= 3);
        return created;
    }

    /// Applies one transaction to the open batch, or rejects it changing nothing.
    pub fn apply(engine: *Engine, tx: *const Transaction) Error!void {
        if (engine.transaction_count == engine.config.batch_transactions_max) return error.batch_full;
        const from = engine.find(&tx.from);
        const to = engine.find(&tx.to);
        const collector = engine.collector_slot;
        const count_before = engine.account_count;
        const created = try engine.check(tx, from, to, collector);
        const from_slot = from orelse engine.create(&tx.from);
        const to_slot = to orelse (engine.find(&tx.to) orelse engine.create(&tx.to));
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
    }

    fn chargeFee(engine: *Engine, payer: u32) void {
        const base_fee = engine.config.base_fee;
        assert(payer < engine.account_count);
        if (base_fee == 0) return;
        const collector = engine.collector_slot orelse engine.create(&engine.config.fee_collector);
        assert(std.mem.eql(u8, &engine.accounts[collector].address, &engine.config.fee_collector));
        assert(engine.accounts[payer].balances[token_gcc] >= base_fee);
        engine.debit(payer, token_gcc, base_fee);
        engine.credit(collector, token_gcc, base_fee);
    }

    /// Debits amount + fee, records the withdrawal leaf in the open batch.
    pub fn withdraw(engine: *Engine, request: *const WithdrawalRequest) Error!void {
        if (engine.withdrawal_count == engine.config.batch_withdrawals_max) return error.withdrawals_full;
        if (request.token >= token_count) return error.unknown_token;
        if (request.amount == 0) return error.zero_amount;
        const slot = engine.find(&request.from) orelse return error.account_not_found;
        const base_fee = engine.config.base_fee;
        const account = &engine.accounts[slot];
        if (request.nonce != account.nonce) return error.bad_nonce;
        const needed = if (request.token == token_gcc) @addWithOverflow(request.amount, base_fee) else .{ request.amount, @as(u1, 0) };
        if (needed[1] != 0 or account.balances[request.token] < needed[0]) return error.insufficient_balance;
        if (account.balances[token_gcc] < base_fee) return error.insufficient_fee_balance;
        const collector_exists = engine.collector_slot != null;
        assert(collector_exists == (engine.find(&engine.config.fee_collector) != null));
        if (base_fee > 0 and !collector_exists and engine.slotsFree() == 0) return error.accounts_full;

        account.nonce += 1;
        engine.debit(slot, request.token, request.amount);
        engine.withdrawn[request.token] += request.amount;
        engine.chargeFee(slot);
        engine.withdrawals_open.leaves()[engine.withdrawal_count] =
            withdrawalLeaf(engine.batch_number_sealed + 1, engine.withdrawal_count, request);
        engine.withdrawal_count += 1;
        assert(engine.withdrawal_count <= engine.config.batch_withdrawals_max);
        assert(engine.accounts[slot].nonce == request.nonce + 1);
        engine.assertSupply(request.token);
        engine.assertSupply(token_gcc);
    }

    /// Seals the open batch: state, transactions and withdrawals roots; opens the next batch.
    pub fn seal(engine: *Engine) BatchHeader {
        const dirty = engine.collectDirty();
        engine.hashLeaves(dirty);
        engine.tree.rehash(engine.kernel, dirty);
        const header: BatchHeader = .{
            .batch_number = engine.batch_number_sealed + 1,
            .transaction_count = engine.transaction_count,
            .withdrawal_count = engine.withdrawal_count,
            .account_count = engine.account_count,
            .state_root = engine.tree.root(),
            .transactions_root = engine.transactions.build(engine.kernel, engine.transaction_count),
            .withdrawals_root = engine.withdrawals_open.build(engine.kernel, engine.withdrawal_count),
        };
        std.mem.swap(merkle.Levels, &engine.withdrawals_open, &engine.withdrawals_sealed);
        engine.batch_number_sealed = header.batch_number;
        engine.account_count_sealed = engine.account_count;
        engine.transaction_count = 0;
        engine.withdrawal_count = 0;
        assert(engine.withdrawals_sealed.leaf_count == header.withdrawal_count);
        assert(engine.transaction_count == 0 and engine.withdrawal_count == 0);
        return header;
    }

    /// Sorted unique dirty slots (scanning the bitset, which it clears).
    pub fn collectDirty(engine: *Engine) []u32 {
        assert(engine.dirty_indices.len == engine.accounts.len);
        var count: usize = 0;
        const words_used = (@as(usize, engine.account_count) + 63) / 64;
        for (engine.dirty_words[0..words_used], 0..) |*word, w| {
            var bits = word.*;
            word.* = 0;
            while (bits != 0) : (bits &= bits - 1) {
                engine.dirty_indices[count] = @intCast(w * 64 + @ctz(bits));
                count += 1;
            }
        }
        assert(count <= engine.account_count);
        return engine.dirty_indices[0..count];
    }

    pub fn hashLeaves(engine: *Engine, slots: []const u32) void {
        const leaves = engine.tree.levelNodes(0);
        assert(slots.len <= engine.account_count);
        assert(leaves.len == engine.accounts.len);
        var start: usize = 0;
        while (start < slots.len) : (start += keccak.group_size) {
            const count = @min(keccak.group_size, slots.len - start);
            const ahead = slots[@min(slots.len, start + merkle.prefetch_ahead)..@min(slots.len, start + merkle.prefetch_ahead + keccak.group_size)];
            for (ahead) |slot| {
                const bytes: [*]const u8 = @ptrCast(&engine.accounts[slot]);
                inline for (0..3) |line| @prefetch(bytes + 64 * line, .{ .rw = .read, .locality = 3, .cache = .data });
                @prefetch(&leaves[slot], .{ .rw = .write, .locality = 3, .cache = .data });
            }
            var inputs: [keccak.group_size]*const [account_leaf_length]u8 = undefined;
            var outputs: [keccak.group_size]*[32]u8 = undefined;
            var discard: [keccak.group_size]Hash = undefined;
            for (0..keccak.group_size) |k| {
                const slot = slots[start + @min(k, count - 1)];
                assert(slot < engine.account_count);
                encodeLeaf(&engine.accounts[slot], &engine.leaf_inputs[k]);
                inputs[k] = &engine.leaf_inputs[k];
                outputs[k] = if (k < count) &leaves[slot] else &discard[k];
            }
            engine.kernel.hash_leaves(&inputs, &outputs);
        }
    }

    pub fn stateRoot(engine: *const Engine) Hash {
        assert(engine.account_count_sealed <= engine.account_count);
        assert(engine.tree.depth == engine.config.accounts_depth);
        return engine.tree.root();
    }

    /// Proof of `address`'s leaf against the last sealed state root.
    pub fn accountProof(engine: *const Engine, address: *const Address, proof: *Proof) Error!void {
        const slot = engine.find(address) orelse return error.account_not_found;
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
        assert(slot < engine.account_count_sealed or std.mem.eql(u8, &proof.leaf, &engine.tree.zero[0]));
    }

    /// Proof of withdrawal `index` of the last sealed batch against its withdrawals root.
    pub fn withdrawalProof(engine: *const Engine, index: u32, proof: *Proof) Error!void {
        const sealed = &engine.withdrawals_sealed;
        if (engine.batch_number_sealed == 0 or index >= sealed.leaf_count) return error.withdrawal_not_found;
        const root_offset = 2 * (@as(usize, 1) << @intCast(sealed.depth)) - 2;
        proof.* = .{
            .leaf_index = index,
            .depth = sealed.depth,
            .leaf = sealed.nodes[index],
            .root = sealed.nodes[root_offset],
            .siblings = undefined,
        };
        @memset(&proof.siblings, @as(Hash, @splat(0)));
        sealed.proof(index, proof.siblings[0..sealed.depth]);
        assert(proof.leaf_index < sealed.leaf_count);
        assert(proof.depth <= 32);
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
