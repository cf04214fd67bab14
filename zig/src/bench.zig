//! `zig build bench [-- accounts_depth batches]`: keccak kernels, apply-only throughput, and
//! seal throughput (state root + transactions root + withdrawals root per 8190-tx batch).
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
    for (addresses, 0..) |*address, n| {
        address.* = addressOf(@intCast(n));
        try engine.deposit(address, 0, 1_000_000 * fee);
    }
    const start = nowNs();
    _ = engine.seal();
    std.debug.print("setup: {d} accounts deposited, first seal (all leaves) {d} ms\n", .{ accounts, (nowNs() - start) / std.time.ns_per_ms });
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

var phase_ns: [4]u64 = @splat(0);
var phase_runs: u64 = 0;

/// Same work as `Engine.seal`, timing its phases (even batches only).
fn sealProfiled(engine: *Engine) engine_module.BatchHeader {
    const t0 = nowNs();
    const dirty = engine.collectDirty();
    const t1 = nowNs();
    engine.hashLeaves(dirty);
    const t2 = nowNs();
    engine.tree.rehash(engine.kernel, dirty);
    const t3 = nowNs();
    _ = engine.transactions.build(engine.kernel, engine.transaction_count);
    const t4 = nowNs();
    phase_ns[0] += t1 - t0;
    phase_ns[1] += t2 - t1;
    phase_ns[2] += t3 - t2;
    phase_ns[3] += t4 - t3;
    phase_runs += 1;
    return engine.seal(); // Re-seal: no dirty leaves left, so this only redoes the list roots.
}

fn benchEngine(allocator: std.mem.Allocator, depth: u32, accounts: u32, batches: usize, kernel: ?keccak.Kernel) !void {
    var s = try setup(allocator, depth, accounts);
    if (kernel) |forced| s.engine.kernel = forced;
    defer s.engine.deinit();
    const txs = try allocator.alloc(engine_module.Transaction, batch_transactions);
    defer allocator.free(txs);
    const apply_ns = try allocator.alloc(u64, batches);
    const seal_ns = try allocator.alloc(u64, batches);
    const dirty = try allocator.alloc(u64, batches);
    const nodes = try allocator.alloc(u64, batches);
    for (0..batches) |b| {
        fillBatch(&s, txs);
        const start = nowNs();
        for (txs, 0..) |*tx, i| {
            s.engine.prefetchPipeline(txs, i);
            s.engine.apply(tx) catch unreachable;
        }
        const applied = nowNs();
        var dirty_count: u64 = 0;
        for (s.engine.dirty_words) |word| dirty_count += @popCount(word);
        const sealed_start = nowNs();
        const header = if (b % 2 == 1) s.engine.seal() else sealProfiled(s.engine);
        const end = nowNs();
        assert(header.transaction_count == batch_transactions);
        apply_ns[b] = applied - start;
        seal_ns[b] = end - sealed_start;
        dirty[b] = dirty_count;
        nodes[b] = s.engine.tree.rehash_nodes_last;
    }
    assert(s.engine.verifySupplyFull());
    std.debug.print("  seal phases (mean of profiled batches): collect {d} us, leaves {d} us, tree {d} us, transactions root {d} us\n", .{
        phase_ns[0] / phase_runs / 1000, phase_ns[1] / phase_runs / 1000, phase_ns[2] / phase_runs / 1000, phase_ns[3] / phase_runs / 1000,
    });
    phase_ns = @splat(0);
    phase_runs = 0;
    const apply_median = median(apply_ns);
    // Profiled (even) batches compute the list roots twice: take the median of the others.
    var unprofiled: usize = 0;
    for (0..batches) |b| {
        if (b % 2 == 0) continue;
        seal_ns[unprofiled] = seal_ns[b];
        nodes[unprofiled] = nodes[b];
        unprofiled += 1;
    }
    const seal_median = median(seal_ns[0..unprofiled]);
    const per_s = struct {
        fn f(ns: u64) f64 {
            return @as(f64, batch_transactions) * 1e9 / @as(f64, @floatFromInt(ns));
        }
    }.f;
    std.debug.print(
        \\depth {d}, {d} accounts, {d} batches of {d} random GCC transfers ({s} kernel):
        \\  apply only:        {d:>7.3} ms/batch  {d:>6.2} M transfers/s
        \\  seal (3 roots):    {d:>7.3} ms/batch  ({d} dirty leaves, {d} node hashes)
        \\  apply + seal:      {d:>7.3} ms/batch  {d:>6.0} k transfers/s
        \\
    , .{
        depth,                                             accounts,                          batches, batch_transactions, s.engine.kernel.name,
        @as(f64, @floatFromInt(apply_median)) / 1e6,       per_s(apply_median) / 1e6,         @as(f64, @floatFromInt(seal_median)) / 1e6,
        median(dirty),                                     median(nodes[0..unprofiled]),
        @as(f64, @floatFromInt(apply_median + seal_median)) / 1e6,
        per_s(apply_median + seal_median) / 1e3,
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
