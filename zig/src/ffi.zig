//! The C ABI of GhostPlane: every `export fn` and `extern struct` (zig/SPEC.md), and
//! `ghostplane_abi_layout_json()`, generated at comptime from these very types so the Rust
//! side's layout test can never drift from them. Nothing passed in is retained after a call.
//!
//! Handles are `*Engine` checked against a magic number (`invalid_handle` otherwise). Every
//! function returns an `FFIResult`; nothing here panics on bad input.
const std = @import("std");
const assert = std.debug.assert;
const engine_module = @import("engine.zig");
const Engine = engine_module.Engine;
const ErrorCode = engine_module.ErrorCode;
const Error = engine_module.Error;

pub const abi_version: u32 = 3;
const handle_magic: u64 = 0x6768_6f73_7470_6c6e; // "ghostpln"

pub const U128 = extern struct {
    lo: u64,
    hi: u64,

    fn of(value: u128) U128 {
        const result: U128 = .{ .lo = @truncate(value), .hi = @intCast(value >> 64) };
        assert(join(result.lo, result.hi) == value);
        return result;
    }
};

fn join(lo: u64, hi: u64) u128 {
    const value = (@as(u128, hi) << 64) | lo;
    assert(@as(u64, @truncate(value)) == lo);
    assert(@as(u64, @intCast(value >> 64)) == hi);
    return value;
}

pub const FFIResult = extern struct {
    success: u8,
    _pad0: [3]u8 = @splat(0),
    error_code: u32,
    data_len: u32,
    _pad1: u32 = 0,
    data: [32]u8,
    error_message: [112]u8,
};

pub const Config = extern struct {
    accounts_depth: u32,
    batch_transactions_max: u32,
    batch_withdrawals_max: u32,
    _reserved: u32,
    base_fee_lo: u64,
    base_fee_hi: u64,
    fee_collector: [20]u8,
};

pub const Transaction = extern struct {
    hash: [32]u8,
    from: [20]u8,
    to: [20]u8,
    value_lo: u64,
    value_hi: u64,
    token: u32,
    _pad: u32,
    gas_limit: u64,
    gas_price: u64,
    nonce: u64,
    data_ptr: ?[*]const u8,
    data_len: u64,
};

pub const Withdrawal = extern struct {
    from: [20]u8,
    l1_recipient: [20]u8,
    token: u32,
    _pad: u32,
    amount_lo: u64,
    amount_hi: u64,
    nonce: u64,
};

pub const BatchHeader = extern struct {
    batch_number: u64,
    transaction_count: u32,
    withdrawal_count: u32,
    account_count: u64,
    state_root: [32]u8,
    transactions_root: [32]u8,
    withdrawals_root: [32]u8,
    deposit_cursor: u64,
    op_count: u32,
    _pad2: u32,
};

pub const Step = extern struct {
    state_root: [32]u8,
    withdrawals_root: [32]u8,
    account_count: u64,
    deposit_cursor: u64,
    withdrawal_count: u32,
    kind: u32,
    commitment: [32]u8,
};

pub const AccountInfo = extern struct {
    exists: u8,
    _pad: [7]u8,
    slot: u64,
    nonce: u64,
    balances: [8]U128,
};

pub const MerkleProof = extern struct {
    leaf_index: u64,
    depth: u32,
    _pad: u32,
    leaf: [32]u8,
    root: [32]u8,
    siblings: [32][32]u8,
};

// The layouts SPEC.md fixes; a mismatch is a compile error.
comptime {
    assert(@sizeOf(FFIResult) == 160 and @alignOf(FFIResult) == 4);
    assert(@offsetOf(FFIResult, "success") == 0 and @offsetOf(FFIResult, "error_code") == 4);
    assert(@offsetOf(FFIResult, "data_len") == 8 and @offsetOf(FFIResult, "data") == 16);
    assert(@offsetOf(FFIResult, "error_message") == 48);
    assert(@sizeOf(Transaction) == 136 and @alignOf(Transaction) == 8);
    assert(@offsetOf(Transaction, "from") == 32 and @offsetOf(Transaction, "to") == 52);
    assert(@offsetOf(Transaction, "value_lo") == 72 and @offsetOf(Transaction, "token") == 88);
    assert(@offsetOf(Transaction, "gas_limit") == 96 and @offsetOf(Transaction, "nonce") == 112);
    assert(@offsetOf(Transaction, "data_ptr") == 120 and @offsetOf(Transaction, "data_len") == 128);
    assert(@sizeOf(Config) == 56 and @offsetOf(Config, "base_fee_lo") == 16);
    assert(@sizeOf(Withdrawal) == 72 and @offsetOf(Withdrawal, "amount_lo") == 48);
    assert(@sizeOf(BatchHeader) == 136 and @offsetOf(BatchHeader, "state_root") == 24);
    assert(@offsetOf(BatchHeader, "deposit_cursor") == 120 and @offsetOf(BatchHeader, "op_count") == 128);
    assert(@offsetOf(BatchHeader, "_pad2") == 132 and @alignOf(BatchHeader) == 8);
    assert(@sizeOf(Step) == 120 and @alignOf(Step) == 8);
    assert(@offsetOf(Step, "withdrawals_root") == 32 and @offsetOf(Step, "account_count") == 64);
    assert(@offsetOf(Step, "deposit_cursor") == 72 and @offsetOf(Step, "withdrawal_count") == 80);
    assert(@offsetOf(Step, "kind") == 84 and @offsetOf(Step, "commitment") == 88);
    assert(@sizeOf(AccountInfo) == 152 and @offsetOf(AccountInfo, "balances") == 24);
    assert(@sizeOf(MerkleProof) == 1104 and @offsetOf(MerkleProof, "siblings") == 80);
    assert(@sizeOf(U128) == 16);
}

pub const Handle = struct {
    magic: u64,
    engine: *Engine,
};

fn handleOf(handle: ?*Handle) Error!*Engine {
    const h = handle orelse return error.invalid_handle;
    if (h.magic != handle_magic) return error.invalid_handle;
    assert(h.engine.account_count <= h.engine.accounts.len);
    assert(h.engine.transaction_count <= h.engine.config.batch_transactions_max);
    return h.engine;
}

fn messageOf(code: ErrorCode) []const u8 {
    return switch (code) {
        .ok => "ok",
        .null_pointer => "null_pointer: a required pointer argument was null",
        .invalid_handle => "invalid_handle: handle is null or not from ghostplane_init",
        .bad_nonce => "bad_nonce: nonce differs from the account nonce",
        .unknown_token => "unknown_token: token id must be < 8",
        .data_too_long => "data_too_long: data_len exceeds 1024 bytes",
        .fee_too_low => "fee_too_low: gas_limit * gas_price < base_fee",
        .insufficient_balance => "insufficient_balance: balance does not cover value (+ fee for GCC)",
        .insufficient_fee_balance => "insufficient_fee_balance: GCC balance does not cover base_fee",
        .balance_overflow => "balance_overflow: a balance or token total would exceed u128",
        .accounts_full => "accounts_full: all 2^accounts_depth account slots are used",
        .batch_full => "batch_full: open batch holds batch_transactions_max ops",
        .withdrawals_full => "withdrawals_full: open batch holds batch_withdrawals_max withdrawals",
        .account_not_found => "account_not_found: no account with this address",
        .withdrawal_not_found => "withdrawal_not_found: no such withdrawal in the last sealed batch",
        .out_of_memory => "out_of_memory: allocation at init failed",
        .invalid_config => "invalid_config: accounts_depth 1..=24, ops 1..=2^24, withdrawals 1..=2^16",
        .zero_amount => "zero_amount: amount must be > 0",
        .bad_deposit_index => "bad_deposit_index: index differs from the deposit cursor",
        .step_not_found => "step_not_found: no such op in the last sealed batch",
    };
}

comptime {
    for (std.meta.tags(ErrorCode)) |code| assert(messageOf(code).len < 112);
}

fn ok(data: []const u8) FFIResult {
    assert(data.len <= 32);
    var result: FFIResult = .{ .success = 1, .error_code = 0, .data_len = @intCast(data.len), .data = @splat(0), .error_message = @splat(0) };
    @memcpy(result.data[0..data.len], data);
    return result;
}

fn failure(code: ErrorCode) FFIResult {
    assert(code != .ok);
    var result: FFIResult = .{ .success = 0, .error_code = @backingInt(code), .data_len = 0, .data = @splat(0), .error_message = @splat(0) };
    const message = messageOf(code);
    @memcpy(result.error_message[0..message.len], message);
    assert(result.error_message[message.len] == 0);
    return result;
}

fn resultOf(outcome: Error!void) FFIResult {
    outcome catch |err| return failure(engine_module.codeOf(err));
    const result = ok(&.{});
    assert(result.success == 1 and result.error_code == 0);
    return result;
}

fn countData(count: u64) [8]u8 {
    var data: [8]u8 = undefined;
    std.mem.writeInt(u64, &data, count, .little);
    assert(std.mem.readInt(u64, &data, .little) == count);
    return data;
}

pub export fn ghostplane_version() u32 {
    return abi_version;
}

pub export fn ghostplane_init(config: ?*const Config, out_handle: ?*?*Handle) FFIResult {
    const c = config orelse return failure(.null_pointer);
    const out = out_handle orelse return failure(.null_pointer);
    const allocator = std.heap.page_allocator;
    const engine = Engine.init(allocator, .{
        .accounts_depth = c.accounts_depth,
        .batch_transactions_max = c.batch_transactions_max,
        .batch_withdrawals_max = c.batch_withdrawals_max,
        .base_fee = join(c.base_fee_lo, c.base_fee_hi),
        .fee_collector = c.fee_collector,
    }) catch |err| return failure(engine_module.codeOf(err));
    const handle = allocator.create(Handle) catch {
        engine.deinit();
        return failure(.out_of_memory);
    };
    handle.* = .{ .magic = handle_magic, .engine = engine };
    out.* = handle;
    assert(handleOf(out.*) catch unreachable == engine);
    assert(engine.account_count == 1); // The fee collector, slot 0.
    return ok(&.{});
}

pub export fn ghostplane_deinit(handle: ?*Handle) void {
    const engine = handleOf(handle) catch return;
    assert(handle.?.magic == handle_magic);
    engine.deinit();
    handle.?.magic = 0;
    std.heap.page_allocator.destroy(handle.?);
}

pub export fn ghostplane_deposit(handle: ?*Handle, account: ?*const [20]u8, token: u32, amount_lo: u64, amount_hi: u64) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const address = account orelse return failure(.null_pointer);
    return resultOf(engine.deposit(address, token, join(amount_lo, amount_hi)));
}

/// `data[0]` = 1 when the deposit became a refund op (its account could not be created), else 0.
pub export fn ghostplane_deposit_l1(handle: ?*Handle, index: u64, l1_sender: ?*const [20]u8, account: ?*const [20]u8, token: u32, amount_lo: u64, amount_hi: u64) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const sender = l1_sender orelse return failure(.null_pointer);
    const address = account orelse return failure(.null_pointer);
    const outcome = engine.depositL1(index, sender, address, token, join(amount_lo, amount_hi)) catch |err| return failure(engine_module.codeOf(err));
    return ok(&.{@backingInt(outcome)});
}

fn transactionOf(tx: *const Transaction) Error!engine_module.Transaction {
    if (tx.data_ptr == null and tx.data_len > 0) return error.null_pointer;
    assert(tx.data_ptr != null or tx.data_len == 0);
    return .{
        .hash = tx.hash,
        .from = tx.from,
        .to = tx.to,
        .value = join(tx.value_lo, tx.value_hi),
        .token = tx.token,
        .gas_limit = tx.gas_limit,
        .gas_price = tx.gas_price,
        .nonce = tx.nonce,
        .data_length = tx.data_len,
    };
}

fn submitOne(engine: *Engine, tx: *const Transaction) Error!void {
    const converted = try transactionOf(tx);
    const count_before = engine.transaction_count;
    try engine.apply(&converted);
    assert(engine.transaction_count == count_before + 1);
}

pub export fn ghostplane_submit_transaction(handle: ?*Handle, tx: ?*const Transaction) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const t = tx orelse return failure(.null_pointer);
    return resultOf(submitOne(engine, t));
}

/// `out_codes[i]` = code of tx i; `data` = applied count (u64 LE). On `batch_full` the call
/// stops: that tx and every later one get `batch_full` and the call returns `batch_full`.
pub export fn ghostplane_submit_transactions(handle: ?*Handle, txs: ?[*]const Transaction, count: u32, out_codes: ?[*]u32) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const list = txs orelse return failure(.null_pointer);
    const codes = out_codes orelse return failure(.null_pointer);
    var applied: u64 = 0;
    for (0..count) |i| {
        engine.prefetchPipeline(list[0..count], i);
        submitOne(engine, &list[i]) catch |err| {
            codes[i] = @backingInt(engine_module.codeOf(err));
            if (err != error.batch_full) continue;
            @memset(codes[i..count], @backingInt(ErrorCode.batch_full));
            var result = failure(.batch_full);
            result.data = @splat(0);
            result.data[0..8].* = countData(applied);
            result.data_len = 8;
            return result;
        };
        codes[i] = 0;
        applied += 1;
    }
    assert(applied <= count);
    return ok(&countData(applied));
}

pub export fn ghostplane_withdraw(handle: ?*Handle, req: ?*const Withdrawal) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const r = req orelse return failure(.null_pointer);
    return resultOf(engine.withdraw(&.{
        .from = r.from,
        .l1_recipient = r.l1_recipient,
        .token = r.token,
        .amount = join(r.amount_lo, r.amount_hi),
        .nonce = r.nonce,
    }));
}

pub export fn ghostplane_create_batch(handle: ?*Handle, out: ?*BatchHeader) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    const header = engine.seal();
    o.* = .{
        .batch_number = header.batch_number,
        .transaction_count = header.transaction_count,
        .withdrawal_count = header.withdrawal_count,
        .account_count = header.account_count,
        .state_root = header.state_root,
        .transactions_root = header.transactions_root,
        .withdrawals_root = header.withdrawals_root,
        .deposit_cursor = header.deposit_cursor,
        .op_count = header.op_count,
        ._pad2 = 0,
    };
    return ok(&header.state_root);
}

pub export fn ghostplane_get_state_root(handle: ?*Handle, out: ?*[32]u8) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    o.* = engine.stateRoot();
    return ok(o);
}

pub export fn ghostplane_get_account(handle: ?*Handle, account: ?*const [20]u8, out: ?*AccountInfo) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const address = account orelse return failure(.null_pointer);
    const o = out orelse return failure(.null_pointer);
    o.* = .{ .exists = 0, ._pad = @splat(0), .slot = 0, .nonce = 0, .balances = @splat(U128.of(0)) };
    const slot = engine.find(address) orelse return ok(&.{}); // exists = 0
    const state = &engine.accounts[slot];
    o.exists = 1;
    o.slot = slot;
    o.nonce = state.nonce;
    for (&o.balances, state.balances) |*out_balance, balance| out_balance.* = U128.of(balance);
    return ok(&.{});
}

fn proofOut(proof: *const engine_module.Proof, out: *MerkleProof) void {
    assert(proof.depth <= out.siblings.len);
    comptime assert(@sizeOf(@TypeOf(proof.siblings)) == @sizeOf(@TypeOf(out.siblings)));
    out.* = .{
        .leaf_index = proof.leaf_index,
        .depth = proof.depth,
        ._pad = 0,
        .leaf = proof.leaf,
        .root = proof.root,
        .siblings = proof.siblings,
    };
}

pub export fn ghostplane_account_proof(handle: ?*Handle, account: ?*const [20]u8, out: ?*MerkleProof) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const address = account orelse return failure(.null_pointer);
    const o = out orelse return failure(.null_pointer);
    var proof: engine_module.Proof = undefined;
    engine.accountProof(address, &proof) catch |err| return failure(engine_module.codeOf(err));
    proofOut(&proof, o);
    return ok(&proof.root);
}

pub export fn ghostplane_withdrawal_proof(handle: ?*Handle, index: u32, out: ?*MerkleProof) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    var proof: engine_module.Proof = undefined;
    engine.withdrawalProof(index, &proof) catch |err| return failure(engine_module.codeOf(err));
    proofOut(&proof, o);
    return ok(&proof.root);
}

/// Current state (after the last applied op); `data` = the current state root.
pub export fn ghostplane_slot_proof(handle: ?*Handle, slot: u32, out: ?*MerkleProof) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    var proof: engine_module.Proof = undefined;
    engine.slotProof(slot, &proof) catch |err| return failure(engine_module.codeOf(err));
    proofOut(&proof, o);
    return ok(&proof.root);
}

/// The open batch's depth-16 withdrawals tree; `data` = its current root.
pub export fn ghostplane_open_withdrawal_proof(handle: ?*Handle, index: u32, out: ?*MerkleProof) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    var proof: engine_module.Proof = undefined;
    engine.openWithdrawalProof(index, &proof) catch |err| return failure(engine_module.codeOf(err));
    proofOut(&proof, o);
    return ok(&proof.root);
}

/// Post-step state of op `index` of the last sealed batch (`data_len` 0).
pub export fn ghostplane_step(handle: ?*Handle, index: u32, out: ?*Step) FFIResult {
    const engine = handleOf(handle) catch |err| return failure(engine_module.codeOf(err));
    const o = out orelse return failure(.null_pointer);
    const s = engine.step(index) catch |err| return failure(engine_module.codeOf(err));
    o.* = .{
        .state_root = s.state_root,
        .withdrawals_root = s.withdrawals_root,
        .account_count = s.account_count,
        .deposit_cursor = s.deposit_cursor,
        .withdrawal_count = s.withdrawal_count,
        .kind = @backingInt(s.kind),
        .commitment = s.commitment,
    };
    assert(o.commitment[31] == 0);
    return ok(&.{});
}

pub export fn ghostplane_abi_layout_json() [*:0]const u8 {
    comptime assert(abi_layout_json.len > 0 and abi_layout_json[0] == '{');
    return abi_layout_json.ptr;
}

pub const abi_layout_json: [:0]const u8 = layoutJson();

fn layoutJson() [:0]const u8 {
    @setEvalBranchQuota(100_000);
    comptime {
        const structs = .{ FFIResult, Config, Transaction, Withdrawal, BatchHeader, Step, AccountInfo, MerkleProof, U128 };
        const names = .{ "FFIResult", "Config", "Transaction", "Withdrawal", "BatchHeader", "Step", "AccountInfo", "MerkleProof", "U128" };
        var json: []const u8 = std.fmt.comptimePrint("{{\"abi_version\":{d},\"structs\":{{", .{abi_version});
        for (structs, names, 0..) |T, name, i| {
            if (i > 0) json = json ++ ",";
            json = json ++ structJson(T, name);
        }
        json = json ++ "},\"error_codes\":{";
        for (std.meta.tags(ErrorCode), 0..) |code, i| {
            if (i > 0) json = json ++ ",";
            json = json ++ std.fmt.comptimePrint("\"{s}\":{d}", .{ @tagName(code), @backingInt(code) });
        }
        json = json ++ "}}";
        const final: [json.len:0]u8 = (json ++ "\x00")[0..json.len :0].*;
        return &final;
    }
}

fn structJson(comptime T: type, comptime name: []const u8) []const u8 {
    comptime {
        var json: []const u8 = std.fmt.comptimePrint("\"{s}\":{{\"size\":{d},\"align\":{d},\"fields\":[", .{ name, @sizeOf(T), @alignOf(T) });
        const info = @typeInfo(T).@"struct";
        for (info.field_names, info.field_types, 0..) |field_name, field_type, i| {
            if (i > 0) json = json ++ ",";
            json = json ++ std.fmt.comptimePrint("{{\"name\":\"{s}\",\"offset\":{d},\"size\":{d}}}", .{ field_name, @offsetOf(T, field_name), @sizeOf(field_type) });
        }
        return json ++ "]}";
    }
}

test "layout json is valid JSON and names every struct and error code" {
    const parsed = try std.json.parseFromSlice(std.json.Value, std.testing.allocator, abi_layout_json, .{});
    defer parsed.deinit();
    const structs = parsed.value.object.get("structs").?.object;
    try std.testing.expectEqual(@as(i64, 160), structs.get("FFIResult").?.object.get("size").?.integer);
    try std.testing.expectEqual(@as(i64, 136), structs.get("Transaction").?.object.get("size").?.integer);
    try std.testing.expectEqual(@as(i64, 136), structs.get("BatchHeader").?.object.get("size").?.integer);
    try std.testing.expectEqual(@as(i64, 120), structs.get("Step").?.object.get("size").?.integer);
    try std.testing.expectEqual(@as(i64, 3), parsed.value.object.get("abi_version").?.integer);
    const codes = parsed.value.object.get("error_codes").?.object;
    try std.testing.expectEqual(@as(usize, 20), codes.count());
    try std.testing.expectEqual(@as(i64, 17), codes.get("zero_amount").?.integer);
    try std.testing.expectEqual(@as(i64, 18), codes.get("bad_deposit_index").?.integer);
    try std.testing.expectEqual(@as(i64, 19), codes.get("step_not_found").?.integer);
}
