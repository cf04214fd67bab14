//! `zig build bench`: keccak kernels, apply throughput (each op updates the state tree and
//! records its step commitment, SPEC "Settlement on L1"), and seal throughput (transactions root;
//! the state and withdrawals roots are already current) per 8190-op batch.
//! Reports medians over batches. Single-threaded: every figure is per core.
const std = @import("std");
const assert = std.debug.assert;
const keccak = @import("keccak.zig");
const engine_module = @import("engine.zig");
const Engine = engine_module.Engine;
const Address = engine_module.Address;

const batch_transactions = 8190;
const fee = engine_module.base_fee_default;

fn nowNs() u64 {
    var ts: std.os.linux.timespec = undefined;
    const rc = std.os.linux.clock_gettime(.MONOTONIC, &ts);
    assert(rc == 0);
    return @as(u64, @intCast(ts.sec)) * std.time.ns_per_s + @as(u64, @intCast(ts.nsec));
}

fn median(values: []u64) u64 {
    assert(values.len > 0);
    std.mem.sort(u64, values, {}, std.sort.asc(u64));
    return values[values.len / 2];
}

fn addressOf(n: u32) Address {
    var address: Address = undefined;
    const h = keccak.hash(std.mem.asBytes(&n));
    @memcpy(&address, h[0..20]);
    return address;
}

fn benchKernel(kernel: keccak.Kernel) void {
    var data: [keccak.group_size][64]u8 = undefined;
    var digests: [keccak.group_size][32]u8 = undefined;
    var inputs: [keccak.group_size]*const [64]u8 = undefined;
    var outputs: [keccak.group_size]*[32]u8 = undefined;
    for (0..keccak.group_size) |k| {
        data[k] = @splat(@intCast(k));
        inputs[k] = &data[k];
        outputs[k] = &digests[k];
    }
    const groups = 100_000;
    const start = nowNs();
    for (0..groups) |_| {
        kernel.hash_nodes(&inputs, &outputs);
        data[0][0] = digests[7][0]; // Dependency so nothing is hoisted.
    }
    const elapsed = nowNs() - start;
    const hashes = groups * keccak.group_size;
    std.debug.print("keccak {s:<8} (64-byte nodes): {d:>6.2} M hashes/s\n", .{
        kernel.name, @as(f64, @floatFromInt(hashes)) * 1e3 / @as(f64, @floatFromInt(elapsed)),
    });
}

const Setup = struct {
    engine: *Engine,
    addresses: []Address,
    nonces: []u64,
    prng: std.Random.DefaultPrng,
};

fn setup(allocator: std.mem.Allocator, depth: u32, accounts: u32) !Setup {
    const engine = try Engine.init(allocator, .{
        .accounts_depth = depth,
        .batch_transactions_max = batch_transactions,
        .batch_withdrawals_max = 1024,
        .fee_collector = @splat(0xfe),
    });
    const addresses = try allocator.alloc(Address, accounts);
    const nonces = try allocator.alloc(u64, accounts);
    @memset(nonces, 0);
    const start = nowNs();
    for (addresses, 0..) |*address, n| {
        address.* = addressOf(@intCast(n));
        engine.deposit(address, 0, 1_000_000 * fee) catch |err| {
            assert(err == error.batch_full);
            _ = engine.seal();
            try engine.deposit(address, 0, 1_000_000 * fee);
        };
    }
    _ = engine.seal();
    std.debug.print("setup: {d} accounts deposited (one op each, sealed every {d}) in {d} ms\n", .{ accounts, batch_transactions, (nowNs() - start) / std.time.ns_per_ms });
    return .{ .engine = engine, .addresses = addresses, .nonces = nonces, .prng = .init(99) };
}

fn fillBatch(s: *Setup, txs: []engine_module.Transaction) void {
    const random = s.prng.random();
    for (txs, 0..) |*tx, i| {
        const from = random.uintLessThan(u32, @intCast(s.addresses.len));
        const to = random.uintLessThan(u32, @intCast(s.addresses.len));
        tx.* = .{
            .hash = @splat(@truncate(i)),
            .from = s.addresses[from],
            .to = s.addresses[to],
            .value = 1 + random.uintLessThan(u128, 1000),
            .token = 0,
            .gas_limit = 21_000,
            .gas_price = 1_000_000_000_000,
            .nonce = s.nonces[from],
            .data_length = 0,
        };
        std.mem.writeInt(u64, tx.hash[0..8], random.int(u64), .little);
        s.nonces[from] += 1;
    }
}

fn benchEngine(allocator: std.mem.Allocator, depth: u32, accounts: u32, batches: usize, kernel: ?keccak.Kernel) !void {
    var s = try setup(allocator, depth, accounts);
    if (kernel) |forced| s.engine.kernel = forced;
    defer s.engine.deinit();
    const txs = try allocator.alloc(engine_module.Transaction, batch_transactions);
    defer allocator.free(txs);
    const apply_ns = try allocator.alloc(u64, batches);
    const seal_ns = try allocator.alloc(u64, batches);
    for (0..batches) |b| {
        fillBatch(&s, txs);
        const start = nowNs();
        for (txs, 0..) |*tx, i| {
            s.engine.prefetchPipeline(txs, i);
            s.engine.apply(tx) catch unreachable;
        }
        const applied = nowNs();
        const header = s.engine.seal();
        const end = nowNs();
        assert(header.transaction_count == batch_transactions and header.op_count == batch_transactions);
        apply_ns[b] = applied - start;
        seal_ns[b] = end - applied;
    }
    assert(s.engine.verifySupplyFull());
    const apply_median = median(apply_ns);
    const seal_median = median(seal_ns);
    const per_s = struct {
        fn f(ns: u64) f64 {
            return @as(f64, batch_transactions) * 1e9 / @as(f64, @floatFromInt(ns));
        }
    }.f;
    std.debug.print(
        \\depth {d}, {d} accounts, {d} batches of {d} random GCC transfers ({s} kernel):
        \\  apply (+ steps):   {d:>7.3} ms/batch  {d:>6.3} M transfers/s
        \\  seal:              {d:>7.3} ms/batch
        \\  apply + seal:      {d:>7.3} ms/batch  {d:>6.0} k transfers/s
        \\
    , .{
        depth,                                       accounts,                  batches,                                    batch_transactions,                                        s.engine.kernel.name,
        @as(f64, @floatFromInt(apply_median)) / 1e6, per_s(apply_median) / 1e6, @as(f64, @floatFromInt(seal_median)) / 1e6, @as(f64, @floatFromInt(apply_median + seal_median)) / 1e6, per_s(apply_median + seal_median) / 1e3,
    });
}

pub fn main() !void {
    const allocator = std.heap.page_allocator;
    const features = keccak.cpuFeatures();
    std.debug.print("cpu: avx2={} avx512f={}; best kernel: {s}\n", .{ features.avx2, features.avx512f, keccak.kernelBest().name });
    var buffer: [8]keccak.Kernel = undefined;
    for (keccak.kernelsAvailable(&buffer)) |kernel| benchKernel(kernel);
    try benchEngine(allocator, 12, 1024, 15, null);
    try benchEngine(allocator, 20, 1_000_000, 15, null);
    // The same seal with each narrower kernel this CPU can run, for CPUs without AVX-512.
    for (keccak.kernelsAvailable(&buffer)) |kernel| {
        if (kernel.lanes == 2 or kernel.lanes == 1) continue;
        if (std.mem.eql(u8, kernel.name, keccak.kernelBest().name)) continue;
        if (std.mem.eql(u8, kernel.name, "simd-x8") or std.mem.eql(u8, kernel.name, "avx2-x8")) continue;
        try benchEngine(allocator, 20, 1_000_000, 7, kernel);
    }
}
