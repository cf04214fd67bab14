//! Engine rules, every error code, roots against a from-scratch reference, proofs, capacities.
const std = @import("std");
const testing = std.testing;
const engine_module = @import("engine.zig");
const merkle = @import("merkle.zig");
const keccak = @import("keccak.zig");
const ffi = @import("ffi.zig");
const Engine = engine_module.Engine;
const Address = engine_module.Address;
const Hash = engine_module.Hash;
const Transaction = engine_module.Transaction;

const fee = engine_module.base_fee_default;
const collector: Address = @splat(0xfe);

fn addressOf(n: u32) Address {
    var address: Address = @splat(0);
    std.mem.writeInt(u32, address[16..20], n, .big);
    address[0] = 0xa0;
    return address;
}

fn configOf(depth: u32, transactions_max: u32, withdrawals_max: u32) engine_module.Config {
    return .{
        .accounts_depth = depth,
        .batch_transactions_max = transactions_max,
        .batch_withdrawals_max = withdrawals_max,
        .fee_collector = collector,
    };
}

fn transfer(from: u32, to: u32, token: u32, value: u128, nonce: u64) Transaction {
    var hash: Hash = @splat(0);
    std.mem.writeInt(u64, hash[0..8], nonce, .little);
    std.mem.writeInt(u32, hash[8..12], from, .little);
    std.mem.writeInt(u32, hash[12..16], to, .little);
    return .{
        .hash = keccak.hash(&hash),
        .from = addressOf(from),
        .to = addressOf(to),
        .value = value,
        .token = token,
        .gas_limit = 21_000,
        .gas_price = 1_000_000_000_000, // 2.1e16 >= 1e15
        .nonce = nonce,
        .data_length = 0,
    };
}

fn balanceOf(engine: *const Engine, n: u32, token: u32) u128 {
    const slot = engine.find(&addressOf(n)) orelse return 0;
    return engine.accounts[slot].balances[token];
}

/// Everything a rejected operation must leave unchanged.
const Snapshot = struct {
    account_count: u32,
    transaction_count: u32,
    withdrawal_count: u32,
    balance_sum: [8]u128,
    accounts_hash: Hash,

    fn take(engine: *const Engine) Snapshot {
        return .{
            .account_count = engine.account_count,
            .transaction_count = engine.transaction_count,
            .withdrawal_count = engine.withdrawal_count,
            .balance_sum = engine.balance_sum,
            .accounts_hash = keccak.hash(std.mem.sliceAsBytes(engine.accounts[0..engine.account_count])),
        };
    }
};

fn expectRejected(engine: *Engine, tx: Transaction, expected: anyerror) !void {
    const before = Snapshot.take(engine);
    try testing.expectError(expected, engine.apply(&tx));
    try testing.expectEqualDeep(before, Snapshot.take(engine));
}

test "deposit, transfer, fee to collector, nonce, supply" {
    const engine = try Engine.init(testing.allocator, configOf(8, 16, 4));
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 10 * fee);
    try engine.deposit(&addressOf(1), 3, 500);
    try engine.apply(&transfer(1, 2, 3, 200, 0));
    try engine.apply(&transfer(1, 2, 0, fee, 1));
    try testing.expectEqual(@as(u128, 300), balanceOf(engine, 1, 3));
    try testing.expectEqual(@as(u128, 200), balanceOf(engine, 2, 3));
    try testing.expectEqual(@as(u128, 7 * fee), balanceOf(engine, 1, 0));
    try testing.expectEqual(@as(u128, fee), balanceOf(engine, 2, 0));
    try testing.expectEqual(@as(u128, 2 * fee), engine.accounts[engine.find(&collector).?].balances[0]);
    try testing.expectEqual(@as(u64, 2), engine.accounts[engine.find(&addressOf(1)).?].nonce);
    // The fee collector is slot 0 from init; then slots in order of first appearance.
    try testing.expectEqual(@as(?u32, 0), engine.find(&collector));
    try testing.expectEqual(@as(?u32, 1), engine.find(&addressOf(1)));
    try testing.expectEqual(@as(?u32, 2), engine.find(&addressOf(2)));
    try testing.expect(engine.verifySupplyFull());
    // Self-transfer and paying the collector keep the supply.
    try engine.apply(&transfer(1, 1, 0, fee, 2));
    try testing.expectEqual(@as(u128, 6 * fee), balanceOf(engine, 1, 0));
    try testing.expect(engine.verifySupplyFull());
}

test "every transaction check, in spec order, rejects and changes nothing" {
    const engine = try Engine.init(testing.allocator, configOf(8, 16, 4));
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 3 * fee);
    try engine.deposit(&addressOf(1), 5, 100);
    var tx = transfer(1, 2, 9, 1, 7);
    try expectRejected(engine, tx, error.bad_nonce); // also bad token: nonce first
    tx.nonce = 0;
    tx.data_length = 5000;
    try expectRejected(engine, tx, error.unknown_token); // token before data length
    tx.token = 5;
    try expectRejected(engine, tx, error.data_too_long);
    tx.data_length = 1024;
    tx.gas_price = 1;
    try expectRejected(engine, tx, error.fee_too_low);
    tx.gas_price = 1_000_000_000_000;
    tx.value = 101;
    try expectRejected(engine, tx, error.insufficient_balance);
    tx.token = 0;
    tx.value = 2 * fee + 1; // GCC: value + fee must be covered
    try expectRejected(engine, tx, error.insufficient_balance);
    tx.value = 2 * fee;
    try engine.apply(&tx);
    // Sender 3 has SPIRIT but no GCC for the fee.
    try engine.deposit(&addressOf(3), 1, 50);
    try expectRejected(engine, transfer(3, 2, 1, 10, 0), error.insufficient_fee_balance);
    // Exactly the fee offered is fine; exactly base_fee charged.
    var exact = transfer(2, 1, 0, 0, 0);
    exact.gas_limit = 1;
    exact.gas_price = @intCast(fee);
    try engine.apply(&exact);
    try testing.expectEqual(@as(u128, fee), balanceOf(engine, 2, 0));
    try testing.expect(engine.verifySupplyFull());
}

test "deposit errors: unknown_token, zero_amount, balance_overflow, accounts_full" {
    const engine = try Engine.init(testing.allocator, configOf(2, 8, 1));
    defer engine.deinit();
    try testing.expectError(error.unknown_token, engine.deposit(&addressOf(1), 8, 1));
    try testing.expectError(error.zero_amount, engine.deposit(&addressOf(1), 0, 0));
    try engine.deposit(&addressOf(1), 2, std.math.maxInt(u128) - 1);
    try testing.expectError(error.balance_overflow, engine.deposit(&addressOf(2), 2, 2));
    try engine.deposit(&addressOf(2), 2, 1);
    try engine.deposit(&addressOf(3), 0, 1);
    const cursor = engine.deposit_cursor;
    try testing.expectError(error.accounts_full, engine.deposit(&addressOf(4), 0, 1));
    try testing.expectEqual(cursor, engine.deposit_cursor); // v1: accounts_full changes nothing
    try testing.expectEqual(@as(u64, 3), cursor);
    // A self-transfer of a near-u128-max balance is not an overflow (fee-free engine).
    var config = configOf(1, 4, 1);
    config.base_fee = 0;
    const free = try Engine.init(testing.allocator, config);
    defer free.deinit();
    try free.deposit(&addressOf(1), 2, std.math.maxInt(u128));
    try free.apply(&transfer(1, 1, 2, std.math.maxInt(u128), 0));
    try testing.expect(free.verifySupplyFull());
    try testing.expectEqual(@as(u32, 4), engine.account_count);
    try testing.expect(engine.verifySupplyFull());
}

test "accounts_full on transfer needing a new recipient slot" {
    const engine = try Engine.init(testing.allocator, configOf(1, 4, 1));
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 10 * fee);
    // Slots: the collector and 1 used; recipient 2 would need one more.
    try expectRejected(engine, transfer(1, 2, 0, 1, 0), error.accounts_full);
    try engine.deposit(&collector, 0, 1);
    try expectRejected(engine, transfer(1, 2, 0, 1, 0), error.accounts_full);
    try engine.apply(&transfer(1, 1, 0, 1, 0));
    try testing.expect(engine.verifySupplyFull());
}

test "batch_full bounds ops of all kinds, register ops included; withdrawals_full; sealing reopens the batch" {
    const engine = try Engine.init(testing.allocator, configOf(4, 6, 1));
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 100 * fee);
    try engine.apply(&transfer(1, 2, 0, 1, 0)); // register(2), transfer
    try testing.expectEqual(@as(u32, 3), engine.op_count);
    // A withdrawal to an address with no L2 account registers it first: two ops.
    const request: engine_module.WithdrawalRequest = .{ .from = addressOf(1), .l1_recipient = @splat(7), .token = 0, .amount = 5, .nonce = 1 };
    try engine.withdraw(&request);
    try testing.expectEqual(@as(u32, 5), engine.op_count);
    try testing.expectEqual(engine_module.OpKind.register, engine.steps_open[3].kind);
    var second = request;
    second.nonce = 2;
    second.l1_recipient = addressOf(1);
    try testing.expectError(error.withdrawals_full, engine.withdraw(&second));
    // One op left: a transfer that needs a register op does not fit, one that does not, fits.
    try expectRejected(engine, transfer(1, 3, 0, 1, 2), error.batch_full);
    try engine.apply(&transfer(1, 2, 0, 1, 2));
    try testing.expectEqual(@as(u32, 6), engine.op_count);
    try expectRejected(engine, transfer(1, 2, 0, 1, 3), error.batch_full);
    try testing.expectError(error.batch_full, engine.deposit(&addressOf(1), 0, 1));
    try testing.expectError(error.batch_full, engine.depositL1(engine.deposit_cursor, &addressOf(1), &addressOf(1), 0, 1));
    second.nonce = 3;
    try testing.expectError(error.batch_full, engine.withdraw(&second)); // batch_full first
    const header = engine.seal();
    try testing.expectEqual(@as(u32, 2), header.transaction_count);
    try testing.expectEqual(@as(u32, 1), header.withdrawal_count);
    try testing.expectEqual(@as(u32, 6), header.op_count);
    try testing.expectEqual(@as(u64, 1), header.deposit_cursor);
    try engine.apply(&transfer(1, 2, 0, 1, 3));
    try engine.withdraw(&.{ .from = addressOf(1), .l1_recipient = @splat(7), .token = 0, .amount = 5, .nonce = 4 });
    try testing.expectEqual(@as(u32, 2), engine.op_count); // @splat(7) is registered already
    try testing.expect(engine.verifySupplyFull());
}

test "withdraw errors and accounting" {
    const engine = try Engine.init(testing.allocator, configOf(4, 8, 4));
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 2 * fee);
    try engine.deposit(&addressOf(1), 4, 70);
    var request: engine_module.WithdrawalRequest = .{ .from = addressOf(9), .l1_recipient = @splat(7), .token = 4, .amount = 80, .nonce = 1 };
    try testing.expectError(error.account_not_found, engine.withdraw(&request));
    request.from = addressOf(1);
    request.token = 8;
    try testing.expectError(error.unknown_token, engine.withdraw(&request));
    request.token = 4;
    request.amount = 0;
    try testing.expectError(error.zero_amount, engine.withdraw(&request));
    request.amount = 80;
    try testing.expectError(error.bad_nonce, engine.withdraw(&request));
    request.nonce = 0;
    try testing.expectError(error.insufficient_balance, engine.withdraw(&request));
    request.amount = 70;
    try engine.withdraw(&request);
    try testing.expectEqual(@as(u128, fee), balanceOf(engine, 1, 0));
    try testing.expectEqual(@as(u128, 70), engine.withdrawn[4]);
    try testing.expectEqual(@as(u128, 0), engine.balance_sum[4]);
    try engine.deposit(&addressOf(2), 4, 5);
    try testing.expectError(error.insufficient_fee_balance, engine.withdraw(&.{ .from = addressOf(2), .l1_recipient = @splat(1), .token = 4, .amount = 5, .nonce = 0 }));
    try testing.expect(engine.verifySupplyFull());
}

test "withdrawal to an address with no L2 account: register op first, accounts_full checked last" {
    const engine = try Engine.init(testing.allocator, configOf(2, 16, 4)); // 4 slots
    defer engine.deinit();
    try engine.deposit(&addressOf(1), 0, 10 * fee);
    try engine.deposit(&addressOf(2), 0, 10 * fee);
    try engine.withdraw(&.{ .from = addressOf(1), .l1_recipient = @splat(7), .token = 0, .amount = 5, .nonce = 0 });
    try testing.expectEqual(engine_module.OpKind.register, engine.steps_open[2].kind);
    try testing.expectEqual(@as(u64, 4), engine.steps_open[2].account_count);
    try testing.expectEqual(engine_module.OpKind.withdrawal, engine.steps_open[3].kind);
    try testing.expectEqual(@as(?u32, 3), engine.find(&@as(Address, @splat(7))));
    const full_request: engine_module.WithdrawalRequest = .{ .from = addressOf(2), .l1_recipient = @splat(8), .token = 0, .amount = 5, .nonce = 0 };
    const before = Snapshot.take(engine);
    try testing.expectError(error.accounts_full, engine.withdraw(&full_request));
    try testing.expectEqual(before.accounts_hash, Snapshot.take(engine).accounts_hash);
    try testing.expectEqual(@as(u32, 4), engine.op_count);
    var bad_nonce = full_request;
    bad_nonce.nonce = 5;
    try testing.expectError(error.bad_nonce, engine.withdraw(&bad_nonce)); // before accounts_full
    try engine.withdraw(&.{ .from = addressOf(2), .l1_recipient = addressOf(1), .token = 0, .amount = 5, .nonce = 0 });
    try testing.expect(engine.verifySupplyFull());
}

test "config validation and out_of_memory" {
    try testing.expectError(error.invalid_config, Engine.init(testing.allocator, configOf(0, 4, 4)));
    try testing.expectError(error.invalid_config, Engine.init(testing.allocator, configOf(25, 4, 4)));
    try testing.expectError(error.invalid_config, Engine.init(testing.allocator, configOf(4, 0, 4)));
    try testing.expectError(error.invalid_config, Engine.init(testing.allocator, configOf(4, 4, 0)));
    try testing.expectError(error.invalid_config, Engine.init(testing.allocator, configOf(4, 4, (1 << 16) + 1)));
    const widest = try Engine.init(testing.allocator, configOf(4, 4, 1 << 16));
    widest.deinit();
    var failing = std.testing.FailingAllocator.init(testing.allocator, .{ .fail_index = 3 });
    try testing.expectError(error.out_of_memory, Engine.init(failing.allocator(), configOf(4, 4, 4)));
}

/// Reference state root: every leaf from scratch, naive recursive root.
fn referenceStateRoot(engine: *const Engine, allocator: std.mem.Allocator) !Hash {
    const leaves = try allocator.alloc(Hash, engine.accounts.len);
    defer allocator.free(leaves);
    for (leaves, 0..) |*leaf, slot| {
        leaf.* = if (slot < engine.account_count) engine_module.accountLeaf(&engine.accounts[slot]) else @splat(0);
    }
    return merkle.rootNaive(leaves);
}

fn referenceListRoot(allocator: std.mem.Allocator, leaves: []const Hash) !Hash {
    if (leaves.len == 0) return @splat(0);
    const padded = try allocator.alloc(Hash, std.math.ceilPowerOfTwoAssert(usize, leaves.len));
    defer allocator.free(padded);
    @memset(padded, @as(Hash, @splat(0)));
    @memcpy(padded[0..leaves.len], leaves);
    return merkle.rootNaive(padded);
}

test "roots equal the from-scratch reference over random batches; proofs verify" {
    const allocator = testing.allocator;
    const engine = try Engine.init(allocator, configOf(9, 256, 8));
    defer engine.deinit();
    try testing.expectEqual(try referenceStateRoot(engine, allocator), engine.stateRoot());
    var prng = std.Random.DefaultPrng.init(1234);
    const random = prng.random();
    for (0..60) |n| try engine.deposit(&addressOf(@intCast(n)), @intCast(n % 8), 1000 * fee);
    for (0..60) |n| try engine.deposit(&addressOf(@intCast(n)), 0, 1000 * fee);
    var nonces: [300]u64 = @splat(0);
    for (0..6) |batch| {
        var hashes: [64]Hash = undefined;
        var applied: usize = 0;
        for (0..64) |_| {
            const from = random.uintLessThan(u32, 60);
            const to = random.uintLessThan(u32, 300);
            const tx = transfer(from, to, random.uintLessThan(u32, 8), random.uintLessThan(u128, 3 * fee), nonces[from]);
            engine.apply(&tx) catch |err| {
                try testing.expect(err == error.insufficient_balance);
                continue;
            };
            nonces[from] += 1;
            hashes[applied] = tx.hash;
            applied += 1;
        }
        var withdrawal_leaves: [8]Hash = undefined;
        for (0..batch + 1) |w| {
            const from: u32 = @intCast(w);
            const request: engine_module.WithdrawalRequest = .{ .from = addressOf(from), .l1_recipient = @splat(3), .token = 0, .amount = 1 + w, .nonce = nonces[from] };
            try engine.withdraw(&request);
            nonces[from] += 1;
            withdrawal_leaves[w] = engine_module.withdrawalLeaf(batch + 1, @intCast(w), &request);
        }
        const header = engine.seal();
        try testing.expectEqual(@as(u64, batch + 1), header.batch_number);
        try testing.expectEqual(try referenceStateRoot(engine, allocator), header.state_root);
        try testing.expectEqual(try referenceListRoot(allocator, hashes[0..applied]), header.transactions_root);
        try testing.expectEqual(try referenceWithdrawalsRoot(allocator, withdrawal_leaves[0 .. batch + 1]), header.withdrawals_root);
        try expectProofs(engine, header, batch + 1);
        try testing.expect(engine.verifySupplyFull());
    }
}

/// Depth-16 tree with the given first leaves, every other leaf zero, naive root.
fn referenceWithdrawalsRoot(allocator: std.mem.Allocator, leaves: []const Hash) !Hash {
    const all = try allocator.alloc(Hash, engine_module.withdrawals_max);
    defer allocator.free(all);
    @memset(all, @as(Hash, @splat(0)));
    @memcpy(all[0..leaves.len], leaves);
    return merkle.rootNaive(all);
}

fn expectProofs(engine: *const Engine, header: engine_module.BatchHeader, withdrawals: usize) !void {
    var proof: engine_module.Proof = undefined;
    for ([_]u32{ 0, 1, 59, 150 }) |n| {
        engine.accountProof(&addressOf(n), &proof) catch |err| {
            try testing.expect(err == error.account_not_found);
            continue;
        };
        try testing.expectEqual(header.state_root, proof.root);
        const slot = engine.find(&addressOf(n)).?;
        try testing.expectEqual(engine_module.accountLeaf(&engine.accounts[slot]), proof.leaf);
        try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..proof.depth]));
    }
    for (0..withdrawals) |w| {
        try engine.withdrawalProof(@intCast(w), &proof);
        try testing.expectEqual(header.withdrawals_root, proof.root);
        try testing.expectEqual(@as(u32, 16), proof.depth);
        try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..proof.depth]));
    }
    try testing.expectError(error.withdrawal_not_found, engine.withdrawalProof(@intCast(withdrawals), &proof));
    try testing.expectError(error.account_not_found, engine.accountProof(&addressOf(99999), &proof));
}

test "empty batch: zero transactions root, zero[16] withdrawals root, genesis state root" {
    const engine = try Engine.init(testing.allocator, configOf(3, 4, 4));
    defer engine.deinit();
    var proof: engine_module.Proof = undefined;
    try testing.expectError(error.withdrawal_not_found, engine.withdrawalProof(0, &proof));
    const genesis = engine.stateRoot();
    // Genesis: the collector's leaf (nonce 0, zero balances) at slot 0, every other leaf zero.
    var leaves: [8]Hash = @splat(@as(Hash, @splat(0)));
    leaves[0] = engine_module.accountLeaf(&.{ .address = collector, .nonce = 0, .balances = @splat(0) });
    try testing.expectEqual(merkle.rootNaive(&leaves), genesis);
    const header = engine.seal();
    try testing.expectEqual(genesis, header.state_root);
    try testing.expectEqual(@as(u64, 1), header.account_count);
    try testing.expectEqual(@as(u32, 0), header.op_count);
    try testing.expectEqual(@as(Hash, @splat(0)), header.transactions_root);
    try testing.expectEqual(merkle.zeroHashes()[16], header.withdrawals_root);
    try testing.expectError(error.step_not_found, engine.step(0));
}

test "ffi: null_pointer, invalid_handle, batch submit codes, layout" {
    var handle: ?*anyopaque = null;
    const config: ffi.Config = .{ .accounts_depth = 4, .batch_transactions_max = 4, .batch_withdrawals_max = 2, ._reserved = 0, .base_fee_lo = @intCast(fee), .base_fee_hi = 0, .fee_collector = collector };
    try testing.expectEqual(@as(u32, 1), ffi.ghostplane_init(null, @ptrCast(&handle)).error_code);
    const bad: ffi.Config = .{ .accounts_depth = 0, .batch_transactions_max = 2, .batch_withdrawals_max = 2, ._reserved = 0, .base_fee_lo = 0, .base_fee_hi = 0, .fee_collector = collector };
    try testing.expectEqual(@as(u32, 16), ffi.ghostplane_init(&bad, @ptrCast(&handle)).error_code);
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_init(&config, @ptrCast(&handle)).success);
    defer ffi.ghostplane_deinit(@ptrCast(@alignCast(handle)));
    const h: ?*ffi.Handle = @ptrCast(@alignCast(handle));
    var fake: ffi.Handle = .{ .magic = 1, .engine = undefined };
    try testing.expectEqual(@as(u32, 2), ffi.ghostplane_deposit(&fake, &addressOf(1), 0, 1, 0).error_code);
    try testing.expectEqual(@as(u32, 2), ffi.ghostplane_deposit(null, &addressOf(1), 0, 1, 0).error_code);
    try testing.expectEqual(@as(u32, 1), ffi.ghostplane_deposit(h, null, 0, 1, 0).error_code);
    const failed = ffi.ghostplane_deposit(h, &addressOf(1), 0, 0, 0);
    try testing.expectEqual(@as(u32, 17), failed.error_code);
    try testing.expect(std.mem.startsWith(u8, &failed.error_message, "zero_amount"));
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_deposit(h, &addressOf(1), 0, @intCast(10 * fee), 0).success);

    var txs: [3]ffi.Transaction = undefined;
    for (&txs, 0..) |*tx, i| {
        const t = transfer(1, 2, 0, 5, i);
        tx.* = .{ .hash = t.hash, .from = t.from, .to = t.to, .value_lo = 5, .value_hi = 0, .token = 0, ._pad = 0, .gas_limit = t.gas_limit, .gas_price = t.gas_price, .nonce = t.nonce, .data_ptr = null, .data_len = 0 };
    }
    txs[1].nonce = 9;
    var codes: [3]u32 = undefined;
    const result = ffi.ghostplane_submit_transactions(h, &txs, 3, &codes);
    try testing.expectEqual(@as(u8, 1), result.success);
    try testing.expectEqual([3]u32{ 0, 3, 3 }, codes); // tx 2 now has a nonce gap too
    try testing.expectEqual(@as(u64, 1), std.mem.readInt(u64, result.data[0..8], .little));
    txs[1].nonce = 1;
    txs[2].nonce = 2;
    const full = ffi.ghostplane_submit_transactions(h, txs[1..].ptr, 2, &codes);
    try testing.expectEqual(@as(u32, 11), full.error_code);
    try testing.expectEqual([2]u32{ 0, 11 }, codes[0..2].*);
    try testing.expectEqual(@as(u64, 1), std.mem.readInt(u64, full.data[0..8], .little));
    txs[0].data_len = 3;
    try testing.expectEqual(@as(u32, 1), ffi.ghostplane_submit_transaction(h, &txs[0]).error_code);

    var header: ffi.BatchHeader = undefined;
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_create_batch(h, &header).success);
    var root: [32]u8 = undefined;
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_get_state_root(h, &root).success);
    try testing.expectEqual(header.state_root, root);
    var info: ffi.AccountInfo = undefined;
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_get_account(h, &addressOf(2), &info).success);
    try testing.expectEqual(@as(u64, 10), info.balances[0].lo);
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_get_account(h, &addressOf(77), &info).success);
    try testing.expectEqual(@as(u8, 0), info.exists);
    var proof: ffi.MerkleProof = undefined;
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_account_proof(h, &addressOf(2), &proof).success);
    try testing.expectEqual(root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..proof.depth]));
    try testing.expectEqual(@as(u32, 14), ffi.ghostplane_withdrawal_proof(h, 0, &proof).error_code);
    // ABI v3: steps of the sealed batch (deposit, register of 2, tx 0, tx 1), deposit_l1, proofs.
    try testing.expectEqual(@as(u32, 4), header.op_count);
    try testing.expectEqual(@as(u64, 1), header.deposit_cursor);
    var step: ffi.Step = undefined;
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_step(h, 3, &step).success);
    try testing.expectEqual(header.state_root, step.state_root);
    try testing.expectEqual(@as(u32, 2), step.kind);
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_step(h, 1, &step).success);
    try testing.expectEqual(@as(u32, 5), step.kind);
    try testing.expectEqual(@as(u64, 3), step.account_count);
    try testing.expectEqual(@as(u32, 19), ffi.ghostplane_step(h, 4, &step).error_code);
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_step(h, 0, &step).success);
    try testing.expectEqual(@as(u32, 1), step.kind);
    try testing.expectEqual(@as(u32, 18), ffi.ghostplane_deposit_l1(h, 0, &addressOf(9), &addressOf(3), 0, 1, 0).error_code);
    try testing.expectEqual(@as(u32, 1), ffi.ghostplane_deposit_l1(h, 1, null, &addressOf(3), 0, 1, 0).error_code);
    const credited = ffi.ghostplane_deposit_l1(h, 1, &addressOf(9), &addressOf(3), 0, 1, 0);
    try testing.expectEqual(@as(u8, 1), credited.success);
    try testing.expectEqual(@as(u32, 1), credited.data_len);
    try testing.expectEqual(@as(u8, 0), credited.data[0]);
    const current = ffi.ghostplane_slot_proof(h, 3, &proof);
    try testing.expectEqual(@as(u8, 1), current.success);
    try testing.expectEqual(current.data, proof.root);
    try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..proof.depth]));
    try testing.expectEqual(@as(u32, 13), ffi.ghostplane_slot_proof(h, 16, &proof).error_code);
    try testing.expectEqual(@as(u8, 1), ffi.ghostplane_open_withdrawal_proof(h, 65535, &proof).success);
    try testing.expectEqual(@as(u32, 16), proof.depth);
    try testing.expectEqual(merkle.zeroHashes()[16], proof.root);
    try testing.expectEqual(@as(u32, 14), ffi.ghostplane_open_withdrawal_proof(h, 65536, &proof).error_code);
    try testing.expectEqual(ffi.abi_version, ffi.ghostplane_version());
    try testing.expect(std.mem.len(ffi.ghostplane_abi_layout_json()) > 100);
}

/// Independent model of SPEC.md's rules (hash map in insertion order = slot order).
const Model = struct {
    const Balances = [8]u128;
    const Entry = struct { nonce: u64 = 0, balances: Balances = @splat(0) };

    accounts: std.AutoArrayHashMapUnmanaged(Address, Entry) = .empty,
    gpa: std.mem.Allocator,
    slots_max: usize,
    /// Ops of the open batch (deposits, transactions, withdrawals).
    ops: u32 = 0,
    ops_max: u32,
    withdrawals: u32 = 0,
    withdrawals_max: u32,
    deposited: [8]u128 = @splat(0),

    fn slotOf(model: *Model, address: Address) *Entry {
        const result = model.accounts.getOrPut(model.gpa, address) catch @panic("test model: out of memory");
        if (!result.found_existing) result.value_ptr.* = .{};
        return result.value_ptr;
    }

    fn deposit(model: *Model, address: Address, token: u32, amount: u128) ?anyerror {
        if (model.ops == model.ops_max) return error.batch_full;
        if (token >= 8) return error.unknown_token;
        if (amount == 0) return error.zero_amount;
        if (model.deposited[token] > std.math.maxInt(u128) - amount) return error.balance_overflow;
        if (!model.accounts.contains(address) and model.accounts.count() == model.slots_max) return error.accounts_full;
        model.deposited[token] += amount;
        (model.slotOf(address)).balances[token] += amount;
        model.ops += 1;
        return null;
    }

    fn apply(model: *Model, tx: Transaction) ?anyerror {
        // A new sender and a new recipient each take a register op before the transfer.
        var registers: u32 = 0;
        if (!model.accounts.contains(tx.from)) registers += 1;
        if (!model.accounts.contains(tx.to) and !std.mem.eql(u8, &tx.to, &tx.from)) registers += 1;
        if (model.ops + 1 + registers > model.ops_max) return error.batch_full;
        const from = model.accounts.get(tx.from) orelse Entry{};
        if (tx.nonce != from.nonce) return error.bad_nonce;
        if (tx.token >= 8) return error.unknown_token;
        if (tx.data_length > 1024) return error.data_too_long;
        if (@as(u128, tx.gas_limit) * tx.gas_price < fee) return error.fee_too_low;
        const needed = if (tx.token == 0) tx.value + fee else tx.value; // values stay far below overflow
        if (from.balances[tx.token] < needed) return error.insufficient_balance;
        if (from.balances[0] < fee) return error.insufficient_fee_balance;
        var new_accounts: usize = 0;
        if (!model.accounts.contains(tx.from)) new_accounts += 1;
        if (!model.accounts.contains(tx.to) and !std.mem.eql(u8, &tx.to, &tx.from)) new_accounts += 1;
        if (!model.accounts.contains(collector) and !std.mem.eql(u8, &collector, &tx.from) and !std.mem.eql(u8, &collector, &tx.to)) new_accounts += 1;
        if (model.accounts.count() + new_accounts > model.slots_max) return error.accounts_full;
        const sender = model.slotOf(tx.from);
        sender.nonce += 1;
        sender.balances[tx.token] -= tx.value;
        (model.slotOf(tx.to)).balances[tx.token] += tx.value;
        (model.slotOf(tx.from)).balances[0] -= fee;
        (model.slotOf(collector)).balances[0] += fee;
        model.ops += 1 + registers;
        return null;
    }

    fn withdraw(model: *Model, request: engine_module.WithdrawalRequest) ?anyerror {
        // An L1 recipient with no L2 account takes a register op before the withdrawal.
        const registers: u32 = @intFromBool(!model.accounts.contains(request.l1_recipient));
        if (model.ops + 1 + registers > model.ops_max) return error.batch_full;
        if (model.withdrawals == model.withdrawals_max) return error.withdrawals_full;
        if (request.token >= 8) return error.unknown_token;
        if (request.amount == 0) return error.zero_amount;
        const account = model.accounts.getPtr(request.from) orelse return error.account_not_found;
        if (request.nonce != account.nonce) return error.bad_nonce;
        const needed = if (request.token == 0) request.amount + fee else request.amount;
        if (account.balances[request.token] < needed) return error.insufficient_balance;
        if (account.balances[0] < fee) return error.insufficient_fee_balance;
        if (registers == 1 and model.accounts.count() == model.slots_max) return error.accounts_full;
        account.nonce += 1;
        account.balances[request.token] -= request.amount;
        account.balances[0] -= fee;
        (model.slotOf(collector)).balances[0] += fee;
        _ = model.slotOf(request.l1_recipient);
        model.withdrawals += 1;
        model.ops += 1 + registers;
        return null;
    }
};

fn expectSameOutcome(expected: ?anyerror, actual: anyerror!void) !void {
    if (expected) |err| {
        try testing.expectError(err, actual);
    } else {
        try actual;
    }
}

test "random operations agree with an independent model (codes, slots, balances, nonces)" {
    const allocator = testing.allocator;
    const engine = try Engine.init(allocator, configOf(5, 16, 4));
    defer engine.deinit();
    var model: Model = .{ .gpa = allocator, .slots_max = 32, .ops_max = 16, .withdrawals_max = 4 };
    defer model.accounts.deinit(allocator);
    _ = model.slotOf(collector); // Slot 0 from init.
    var prng = std.Random.DefaultPrng.init(2026);
    const random = prng.random();
    var codes_seen: [20]bool = @splat(false);
    for (0..20_000) |_| {
        // Index 40 stands for the fee collector: it sends, receives and withdraws too.
        const a_index = random.uintLessThan(u32, 41);
        const b_index = random.uintLessThan(u32, 41);
        const a = if (a_index == 40) collector else addressOf(a_index);
        const b = if (b_index == 40) collector else addressOf(b_index);
        const token = random.uintLessThan(u32, 9);
        const amount = if (random.boolean()) random.uintLessThan(u128, 4 * fee) else random.uintLessThan(u128, 3);
        const nonce_known = if (model.accounts.get(a)) |entry| entry.nonce else 0;
        const nonce = if (random.uintLessThan(u8, 10) == 0) nonce_known + 1 else nonce_known;
        const roll = random.uintLessThan(u16, 1000) / 10; // 99: seal, 1 % of operations
        var outcome: anyerror!void = {};
        var expected: ?anyerror = null;
        if (roll < 20) {
            // Half the deposits top up GCC generously so transactions can pay fees.
            const deposit_token = if (random.boolean()) 0 else token;
            const deposit_amount = if (deposit_token == 0) amount * 10 + 20 * fee else amount * 10;
            expected = model.deposit(a, deposit_token, deposit_amount);
            outcome = engine.deposit(&a, deposit_token, deposit_amount);
        } else if (roll < 80) {
            var tx = transfer(0, 0, token, amount, nonce);
            tx.from = a;
            tx.to = b;
            if (random.uintLessThan(u8, 20) == 0) tx.gas_price = 1;
            if (random.uintLessThan(u8, 20) == 0) tx.data_length = 1025;
            expected = model.apply(tx);
            outcome = engine.apply(&tx);
        } else if (roll < 99) {
            const request: engine_module.WithdrawalRequest = .{ .from = a, .l1_recipient = b, .token = token, .amount = amount, .nonce = nonce };
            expected = model.withdraw(request);
            outcome = engine.withdraw(&request);
        } else {
            _ = engine.seal();
            model.ops = 0;
            model.withdrawals = 0;
        }
        expectSameOutcome(expected, outcome) catch |err| {
            std.debug.print("op roll={d} token={d} amount={d} nonce={d} a={x} b={x} expected={?}\n", .{ roll, token, amount, nonce, a[19], b[19], expected });
            return err;
        };
        if (expected) |err| codes_seen[@backingInt(engine_module.codeOf(@errorCast(err)))] = true;
    }
    try testing.expectEqual(model.accounts.count(), engine.account_count);
    for (model.accounts.keys(), model.accounts.values(), 0..) |address, entry, slot| {
        try testing.expectEqual(@as(?u32, @intCast(slot)), engine.find(&address));
        try testing.expectEqual(entry.nonce, engine.accounts[slot].nonce);
        try testing.expectEqual(entry.balances, engine.accounts[slot].balances);
    }
    try testing.expect(engine.verifySupplyFull());
    // The random mix reaches every engine-level rejection except overflow and out_of_memory.
    for ([_]ErrorCodeName{ .bad_nonce, .unknown_token, .data_too_long, .fee_too_low, .insufficient_balance, .insufficient_fee_balance, .accounts_full, .batch_full, .withdrawals_full, .account_not_found, .zero_amount }) |code| {
        try testing.expect(codes_seen[@backingInt(code)]);
    }
}

const ErrorCodeName = engine_module.ErrorCode;

/// The 84-byte StepState and its commitment, written out from SPEC independently of the engine.
fn referenceCommitment(state_root: Hash, account_count: u64, withdrawals_root: Hash, withdrawal_count: u32, deposit_cursor: u64) Hash {
    var bytes: [84]u8 = undefined;
    @memcpy(bytes[0..32], &state_root);
    std.mem.writeInt(u64, bytes[32..40], account_count, .big);
    @memcpy(bytes[40..72], &withdrawals_root);
    std.mem.writeInt(u32, bytes[72..76], withdrawal_count, .big);
    std.mem.writeInt(u64, bytes[76..84], deposit_cursor, .big);
    var commitment = keccak.hash(&bytes);
    commitment[31] = 0;
    return commitment;
}

/// Checks the post-step state of the open batch's last op against a from-scratch reference.
fn expectLastStep(engine: *Engine, allocator: std.mem.Allocator, withdrawal_leaves: []const Hash, kind: engine_module.OpKind) !void {
    try testing.expect(engine.op_count > 0);
    engine.flush();
    const step = engine.steps_open[engine.op_count - 1];
    const state_root = try referenceStateRoot(engine, allocator);
    const withdrawals_root = try referenceWithdrawalsRoot(allocator, withdrawal_leaves);
    try testing.expectEqual(state_root, step.state_root);
    try testing.expectEqual(state_root, engine.tree.root());
    try testing.expectEqual(withdrawals_root, step.withdrawals_root);
    try testing.expectEqual(@as(u64, engine.account_count), step.account_count);
    try testing.expectEqual(engine.deposit_cursor, step.deposit_cursor);
    try testing.expectEqual(@as(u32, @intCast(withdrawal_leaves.len)), step.withdrawal_count);
    try testing.expectEqual(kind, step.kind);
    try testing.expectEqual(referenceCommitment(state_root, engine.account_count, withdrawals_root, @intCast(withdrawal_leaves.len), engine.deposit_cursor), step.commitment);
}

test "steps: post-step state of every op (deposit, refund, transfer, withdrawal) equals the reference" {
    const allocator = testing.allocator;
    const engine = try Engine.init(allocator, configOf(2, 16, 3));
    defer engine.deinit();
    const sender: Address = @splat(0x99);
    var leaves: [3]Hash = undefined;
    try testing.expectEqual(engine_module.DepositOutcome.credited, try engine.depositL1(0, &sender, &addressOf(1), 0, 10 * fee));
    try expectLastStep(engine, allocator, leaves[0..0], .deposit);
    try testing.expectError(error.bad_deposit_index, engine.depositL1(0, &sender, &addressOf(1), 0, 1));
    try testing.expectError(error.bad_deposit_index, engine.depositL1(7, &sender, &addressOf(1), 0, 1));
    try testing.expectError(error.unknown_token, engine.depositL1(1, &sender, &addressOf(1), 8, 1));
    try testing.expectError(error.zero_amount, engine.depositL1(1, &sender, &addressOf(1), 0, 0));
    try testing.expectEqual(@as(u64, 1), engine.deposit_cursor);
    try engine.deposit(&addressOf(2), 1, 7); // v1: index = cursor, l1_sender = account
    try expectLastStep(engine, allocator, leaves[0..0], .deposit);
    try testing.expectEqual(@as(u64, 2), engine.deposit_cursor);
    try engine.apply(&transfer(1, 3, 0, fee, 0)); // register(3) at slot 3: all 4 slots used
    try testing.expectEqual(engine_module.OpKind.register, engine.steps_open[engine.op_count - 2].kind);
    try testing.expectEqual(@as(u64, 4), engine.steps_open[engine.op_count - 2].account_count);
    try expectLastStep(engine, allocator, leaves[0..0], .transfer);
    // A deposit that cannot create its account is consumed as a refund to its L1 sender.
    const before = Snapshot.take(engine);
    try testing.expectEqual(engine_module.DepositOutcome.refunded, try engine.depositL1(2, &sender, &addressOf(4), 2, 55));
    try testing.expectEqual(before.accounts_hash, Snapshot.take(engine).accounts_hash);
    try testing.expectEqual(before.balance_sum, engine.balance_sum);
    leaves[0] = engine_module.withdrawalLeaf(1, 0, &.{ .from = @splat(0), .l1_recipient = sender, .token = 2, .amount = 55, .nonce = 0 });
    try expectLastStep(engine, allocator, leaves[0..1], .refund);
    try testing.expectEqual(@as(u64, 3), engine.deposit_cursor);
    try testing.expectError(error.accounts_full, engine.deposit(&addressOf(4), 0, 1)); // v1 stays an error
    var request: engine_module.WithdrawalRequest = .{ .from = addressOf(1), .l1_recipient = @splat(7), .token = 0, .amount = 5, .nonce = 1 };
    try testing.expectError(error.accounts_full, engine.withdraw(&request)); // no slot to register @splat(7)
    request.l1_recipient = addressOf(2);
    try engine.withdraw(&request);
    leaves[1] = engine_module.withdrawalLeaf(1, 1, &request);
    try expectLastStep(engine, allocator, leaves[0..2], .withdrawal);
    try testing.expectEqual(engine_module.DepositOutcome.refunded, try engine.depositL1(3, &sender, &addressOf(5), 0, 1));
    leaves[2] = engine_module.withdrawalLeaf(1, 2, &.{ .from = @splat(0), .l1_recipient = sender, .token = 0, .amount = 1, .nonce = 0 });
    try expectLastStep(engine, allocator, leaves[0..3], .refund);
    // No room for a refund's withdrawal leaf: withdrawals_full, nothing consumed.
    try testing.expectError(error.withdrawals_full, engine.depositL1(4, &sender, &addressOf(5), 0, 1));
    try testing.expectEqual(@as(u64, 4), engine.deposit_cursor);
    try testing.expect(engine.verifySupplyFull());
    var recorded: [7]engine_module.Step = undefined;
    @memcpy(recorded[0..engine.op_count], engine.steps_open[0..engine.op_count]);
    const header = engine.seal();
    try testing.expectEqual(@as(u32, 7), header.op_count);
    try testing.expectEqual(@as(u32, 1), header.transaction_count);
    try testing.expectEqual(@as(u32, 3), header.withdrawal_count);
    try testing.expectEqual(@as(u64, 4), header.deposit_cursor);
    try testing.expectEqual(recorded[6].state_root, header.state_root);
    try testing.expectEqual(recorded[6].withdrawals_root, header.withdrawals_root);
    for (recorded, 0..) |expected, i| try testing.expectEqualDeep(expected, (try engine.step(@intCast(i))).*);
    try testing.expectError(error.step_not_found, engine.step(7));
    // The next batch starts from an empty withdrawals tree and numbers its leaves from 0.
    try testing.expectEqual(engine_module.DepositOutcome.refunded, try engine.depositL1(4, &sender, &addressOf(5), 0, 9));
    leaves[0] = engine_module.withdrawalLeaf(2, 0, &.{ .from = @splat(0), .l1_recipient = sender, .token = 0, .amount = 9, .nonce = 0 });
    try expectLastStep(engine, allocator, leaves[0..1], .refund);
    var proof: engine_module.Proof = undefined;
    try engine.withdrawalProof(2, &proof); // still the sealed batch's
    try testing.expectEqual(header.withdrawals_root, proof.root);
    try testing.expectEqual(leaves[2], proof.leaf);
    try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..16]));
}

test "proofs: account proof stays on the sealed root; slot and open withdrawal proofs are current" {
    const allocator = testing.allocator;
    const engine = try Engine.init(allocator, configOf(6, 64, 8));
    defer engine.deinit();
    for (1..20) |n| try engine.deposit(&addressOf(@intCast(n)), 0, 10 * fee);
    const header = engine.seal();
    const leaf_1 = engine_module.accountLeaf(&engine.accounts[engine.find(&addressOf(1)).?]);
    try engine.apply(&transfer(1, 2, 0, fee, 0));
    try engine.apply(&transfer(3, 40, 0, fee, 0)); // creates slot 20 after the seal
    try engine.withdraw(&.{ .from = addressOf(4), .l1_recipient = @splat(7), .token = 0, .amount = 5, .nonce = 0 });
    var proof: engine_module.Proof = undefined;
    for ([_]u32{ 0, 1, 2, 3, 4, 19, 40 }) |n| {
        try engine.accountProof(if (n == 0) &collector else &addressOf(n), &proof);
        try testing.expectEqual(header.state_root, proof.root);
        try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, proof.leaf_index, proof.siblings[0..6]));
    }
    try engine.accountProof(&addressOf(1), &proof);
    try testing.expectEqual(leaf_1, proof.leaf);
    try engine.accountProof(&addressOf(40), &proof);
    try testing.expectEqual(@as(Hash, @splat(0)), proof.leaf); // created after the seal
    const current = try referenceStateRoot(engine, allocator);
    for ([_]u64{ 0, 1, 20, 21, 63 }) |slot| {
        try engine.slotProof(slot, &proof);
        try testing.expectEqual(current, proof.root);
        const expected_leaf = if (slot < engine.account_count) engine_module.accountLeaf(&engine.accounts[slot]) else @as(Hash, @splat(0));
        try testing.expectEqual(expected_leaf, proof.leaf);
        try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, slot, proof.siblings[0..6]));
    }
    try testing.expectError(error.account_not_found, engine.slotProof(64, &proof));
    const open_root = engine.steps_open[engine.op_count - 1].withdrawals_root;
    for ([_]u32{ 0, 1, 65535 }) |index| {
        try engine.openWithdrawalProof(index, &proof);
        try testing.expectEqual(open_root, proof.root);
        try testing.expectEqual(index != 0, std.mem.eql(u8, &proof.leaf, &@as(Hash, @splat(0))));
        try testing.expectEqual(proof.root, merkle.rootFromProof(proof.leaf, index, proof.siblings[0..16]));
    }
    try testing.expectError(error.withdrawal_not_found, engine.openWithdrawalProof(65536, &proof));
    const sealed = engine.seal();
    try testing.expectEqual(current, sealed.state_root);
    try engine.accountProof(&addressOf(40), &proof);
    try testing.expectEqual(sealed.state_root, proof.root);
    try testing.expect(!std.mem.eql(u8, &proof.leaf, &@as(Hash, @splat(0))));
}

test "steps of a batch longer than pending_max (several flushes) equal the per-op reference" {
    const allocator = testing.allocator;
    const ops = 2 * engine_module.pending_max + 100;
    const engine = try Engine.init(allocator, configOf(6, ops + 10, 8));
    defer engine.deinit();
    // The reference root after each op; register ops (created inside `apply`) are checked by
    // their account count and by the next op's root, which covers their leaves.
    const roots = try allocator.alloc(?Hash, ops + 10);
    defer allocator.free(roots);
    @memset(roots, null);
    var prng = std.Random.DefaultPrng.init(77);
    const random = prng.random();
    var nonces: [40]u64 = @splat(0);
    var registers: usize = 0;
    while (engine.op_count < ops) {
        const from = random.uintLessThan(u32, 40);
        if (random.uintLessThan(u8, 4) == 0 or nonces[from] == 0) {
            try engine.deposit(&addressOf(from), 0, 10 * fee);
            if (nonces[from] == 0) nonces[from] = 1; // marks "funded"; real nonce = value - 1
        } else {
            const before = engine.op_count;
            engine.apply(&transfer(from, random.uintLessThan(u32, 50), 0, 1, nonces[from] - 1)) catch |err| {
                try testing.expect(err == error.insufficient_balance or err == error.accounts_full);
                continue;
            };
            registers += engine.op_count - before - 1;
            nonces[from] += 1;
        }
        roots[engine.op_count - 1] = try referenceStateRoot(engine, allocator);
    }
    try testing.expect(registers > 0);
    const header = engine.seal();
    try testing.expect(header.op_count >= ops);
    for (0..header.op_count) |i| {
        const s = try engine.step(@intCast(i));
        if (roots[i]) |root| {
            try testing.expectEqual(root, s.state_root);
        } else {
            try testing.expectEqual(engine_module.OpKind.register, s.kind);
            try testing.expectEqual((try engine.step(@intCast(i - 1))).account_count + 1, s.account_count);
        }
        try testing.expectEqual(referenceCommitment(s.state_root, s.account_count, s.withdrawals_root, s.withdrawal_count, s.deposit_cursor), s.commitment);
    }
    try testing.expectEqual(roots[header.op_count - 1].?, header.state_root);
}
