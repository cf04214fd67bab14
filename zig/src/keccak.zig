//! Keccak-256 (Ethereum's, padding 0x01, not SHA3-256's 0x06).
//!
//! One generic permutation over lanes of type `u64` (scalar) or `@Vector(N, u64)` (N independent
//! states hashed together). The engine only ever hashes fixed-length inputs (64-byte inner nodes,
//! 156-byte account leaves), so the multi-lane entry points take a comptime input length and
//! always hash `group_size` inputs per call. `Kernel` bundles one implementation of each; which
//! one runs is chosen once at run time (`kernelBest`) from CPU feature detection.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

pub const digest_length = 32;
pub const rate_bytes = 136;
/// Every multi-lane call hashes exactly this many inputs (callers pad with repeats).
pub const group_size = 8;

comptime {
    assert(rate_bytes % 8 == 0);
    assert(rate_bytes / 8 == 17);
    assert(group_size % 4 == 0);
}

const round_constants = [24]u64{
    0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000,
    0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a,
    0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
};
const rotation_offsets = [24]u6{ 1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44 };
const pi_lanes = [24]u5{ 10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1 };

pub fn Lane(comptime lanes: comptime_int) type {
    comptime assert(lanes >= 1 and lanes <= 8);
    return if (lanes == 1) u64 else @Vector(lanes, u64);
}

fn splat(comptime T: type, value: u64) T {
    return if (T == u64) value else @splat(value);
}

inline fn rotl(comptime T: type, x: T, comptime n: u6) T {
    comptime assert(n != 0);
    if (T == u64) return std.math.rotl(u64, x, n);
    const lanes = @typeInfo(T).vector.len;
    const left: @Vector(lanes, u6) = @splat(n);
    const right: @Vector(lanes, u6) = @splat(@as(u6, @intCast(64 - @as(u7, n))));
    return (x << left) | (x >> right);
}

/// Keccak-f[1600] on one (T = u64) or several (T = vector) states at once.
pub fn permute(comptime T: type, state: *[25]T) void {
    for (round_constants) |round_constant| {
        var parity: [5]T = undefined;
        inline for (0..5) |x| {
            parity[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
        }
        inline for (0..5) |x| {
            const d = parity[(x + 4) % 5] ^ rotl(T, parity[(x + 1) % 5], 1);
            inline for (0..5) |y| state[y * 5 + x] ^= d;
        }
        var carry = state[1];
        inline for (0..24) |i| {
            const j = pi_lanes[i];
            const next = state[j];
            state[j] = rotl(T, carry, rotation_offsets[i]);
            carry = next;
        }
        inline for (0..5) |y| {
            var row: [5]T = undefined;
            inline for (0..5) |x| row[x] = state[y * 5 + x];
            inline for (0..5) |x| {
                state[y * 5 + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        state[0] ^= splat(T, round_constant);
    }
}

/// Scalar Keccak-256 of any input (used for one-off hashes and as the reference).
pub fn hash(bytes: []const u8) [digest_length]u8 {
    var state = @as([25]u64, @splat(0));
    var rest = bytes;
    while (rest.len >= rate_bytes) : (rest = rest[rate_bytes..]) {
        inline for (0..17) |i| state[i] ^= std.mem.readInt(u64, rest[i * 8 ..][0..8], .little);
        permute(u64, &state);
    }
    var block = @as([rate_bytes]u8, @splat(0));
    @memcpy(block[0..rest.len], rest);
    block[rest.len] ^= 0x01;
    block[rate_bytes - 1] ^= 0x80;
    inline for (0..17) |i| state[i] ^= std.mem.readInt(u64, block[i * 8 ..][0..8], .little);
    permute(u64, &state);
    var out: [digest_length]u8 = undefined;
    inline for (0..4) |i| std.mem.writeInt(u64, out[i * 8 ..][0..8], state[i], .little);
    assert(rest.len < rate_bytes);
    return out;
}

/// Hashes `lanes` independent inputs of comptime length `len` with one vectorised state.
pub fn hashLanes(
    comptime lanes: comptime_int,
    comptime len: comptime_int,
    inputs: *const [lanes]*const [len]u8,
    outputs: *const [lanes]*[digest_length]u8,
) void {
    const T = Lane(lanes);
    const blocks_full = len / rate_bytes;
    const tail_len = len % rate_bytes;
    comptime assert(blocks_full * rate_bytes + tail_len == len);
    var state: [25]T = @splat(splat(T, 0));
    inline for (0..blocks_full) |b| {
        inline for (0..17) |i| state[i] ^= gather(lanes, len, inputs, b * rate_bytes + i * 8);
        permute(T, &state);
    }
    // Final (padded) block: copy each input's tail into a zeroed block.
    var tails: [lanes][rate_bytes]u8 = @splat(@splat(0));
    inline for (0..lanes) |k| {
        @memcpy(tails[k][0..tail_len], inputs[k][blocks_full * rate_bytes ..][0..tail_len]);
        tails[k][tail_len] ^= 0x01;
        tails[k][rate_bytes - 1] ^= 0x80;
    }
    inline for (0..17) |i| {
        var v: T = undefined;
        if (lanes == 1) {
            v = std.mem.readInt(u64, tails[0][i * 8 ..][0..8], .little);
        } else inline for (0..lanes) |k| {
            v[k] = std.mem.readInt(u64, tails[k][i * 8 ..][0..8], .little);
        }
        state[i] ^= v;
    }
    permute(T, &state);
    inline for (0..4) |i| {
        inline for (0..lanes) |k| {
            const word: u64 = if (lanes == 1) state[i] else state[i][k];
            std.mem.writeInt(u64, outputs[k][i * 8 ..][0..8], word, .little);
        }
    }
}

inline fn gather(
    comptime lanes: comptime_int,
    comptime len: comptime_int,
    inputs: *const [lanes]*const [len]u8,
    comptime offset: comptime_int,
) Lane(lanes) {
    comptime assert(offset + 8 <= len);
    if (lanes == 1) return std.mem.readInt(u64, inputs[0][offset..][0..8], .little);
    var v: Lane(lanes) = undefined;
    inline for (0..lanes) |k| v[k] = std.mem.readInt(u64, inputs[k][offset..][0..8], .little);
    return v;
}

/// Hashes exactly `group_size` inputs of length `len`, `lanes` at a time.
pub fn hashGroup(
    comptime lanes: comptime_int,
    comptime len: comptime_int,
) fn (*const [group_size]*const [len]u8, *const [group_size]*[digest_length]u8) void {
    comptime assert(group_size % lanes == 0);
    return struct {
        fn run(
            inputs: *const [group_size]*const [len]u8,
            outputs: *const [group_size]*[digest_length]u8,
        ) void {
            inline for (0..group_size / lanes) |g| {
                hashLanes(lanes, len, inputs[g * lanes ..][0..lanes], outputs[g * lanes ..][0..lanes]);
            }
        }
    }.run;
}

pub const node_input_length = 64;
pub const leaf_input_length = 156;

pub const Kernel = struct {
    name: []const u8,
    lanes: u32,
    hash_nodes: *const fn (
        *const [group_size]*const [node_input_length]u8,
        *const [group_size]*[digest_length]u8,
    ) void,
    hash_leaves: *const fn (
        *const [group_size]*const [leaf_input_length]u8,
        *const [group_size]*[digest_length]u8,
    ) void,
};

pub fn kernelOf(comptime lanes: comptime_int, comptime name: []const u8) Kernel {
    return .{
        .name = name,
        .lanes = lanes,
        .hash_nodes = hashGroup(lanes, node_input_length),
        .hash_leaves = hashGroup(lanes, leaf_input_length),
    };
}

/// Portable kernels: compiled for the build's (baseline) CPU.
pub const kernel_scalar = kernelOf(1, "scalar");
pub const kernel_x2 = kernelOf(2, "simd-x2");
pub const kernel_x4 = kernelOf(4, "simd-x4");
pub const kernel_x8 = kernelOf(8, "simd-x8");

pub const kernels_portable = [_]Kernel{ kernel_scalar, kernel_x2, kernel_x4, kernel_x8 };

/// Run-time CPU features relevant to wide Keccak.
pub const CpuFeatures = struct {
    avx2: bool = false,
    avx512f: bool = false,
};

pub fn cpuFeatures() CpuFeatures {
    if (builtin.cpu.arch != .x86_64) return .{};
    const leaf1 = cpuid(1, 0);
    const osxsave = (leaf1.ecx >> 27) & 1 == 1;
    const avx = (leaf1.ecx >> 28) & 1 == 1;
    if (!osxsave or !avx) return .{};
    const xcr0 = xgetbv();
    const ymm_enabled = xcr0 & 0x6 == 0x6;
    const zmm_enabled = xcr0 & 0xe6 == 0xe6;
    const leaf7 = cpuid(7, 0);
    return .{
        .avx2 = ymm_enabled and (leaf7.ebx >> 5) & 1 == 1,
        .avx512f = zmm_enabled and (leaf7.ebx >> 16) & 1 == 1,
    };
}

const CpuidResult = struct { eax: u32, ebx: u32, ecx: u32, edx: u32 };

fn cpuid(leaf: u32, subleaf: u32) CpuidResult {
    var eax: u32 = undefined;
    var ebx: u32 = undefined;
    var ecx: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("cpuid"
        : [_] "={eax}" (eax),
          [_] "={ebx}" (ebx),
          [_] "={ecx}" (ecx),
          [_] "={edx}" (edx),
        : [_] "{eax}" (leaf),
          [_] "{ecx}" (subleaf),
    );
    return .{ .eax = eax, .ebx = ebx, .ecx = ecx, .edx = edx };
}

fn xgetbv() u64 {
    var eax: u32 = undefined;
    var edx: u32 = undefined;
    asm volatile ("xgetbv"
        : [_] "={eax}" (eax),
          [_] "={edx}" (edx),
        : [_] "{ecx}" (@as(u32, 0)),
    );
    return (@as(u64, edx) << 32) | eax;
}

/// Widest kernel for this CPU (see README: wide AVX2/AVX-512 builds are not wired yet, so the
/// portable kernels run on every CPU; x4 measured fastest on baseline code generation).
pub fn kernelBest() Kernel {
    const features = cpuFeatures();
    if (features.avx512f) return kernel_x8;
    return kernel_x4;
}

test "scalar keccak matches std Keccak256 on many lengths" {
    var prng = std.Random.DefaultPrng.init(42);
    var buffer: [600]u8 = undefined;
    prng.random().bytes(&buffer);
    for (0..buffer.len) |len| {
        var expected: [32]u8 = undefined;
        std.crypto.hash.sha3.Keccak256.hash(buffer[0..len], &expected, .{});
        try std.testing.expectEqual(expected, hash(buffer[0..len]));
    }
    // Known vector: keccak256("") = c5d2...a470.
    const empty = hash("");
    try std.testing.expectEqual(@as(u8, 0xc5), empty[0]);
    try std.testing.expectEqual(@as(u8, 0x70), empty[31]);
}

fn expectKernelMatchesScalar(kernel: Kernel, comptime len: comptime_int, seed: u64) !void {
    var prng = std.Random.DefaultPrng.init(seed);
    for (0..64) |_| {
        var data: [group_size][len]u8 = undefined;
        for (&data) |*d| prng.random().bytes(d);
        var digests: [group_size][32]u8 = undefined;
        var inputs: [group_size]*const [len]u8 = undefined;
        var outputs: [group_size]*[32]u8 = undefined;
        for (0..group_size) |k| {
            inputs[k] = &data[k];
            outputs[k] = &digests[k];
        }
        if (len == node_input_length) kernel.hash_nodes(&inputs, &outputs) else kernel.hash_leaves(&inputs, &outputs);
        for (0..group_size) |k| {
            var expected: [32]u8 = undefined;
            std.crypto.hash.sha3.Keccak256.hash(&data[k], &expected, .{});
            try std.testing.expectEqual(expected, digests[k]);
        }
    }
}

test "every kernel (scalar, SIMD x2/x4/x8) equals std Keccak256" {
    for (kernels_portable) |kernel| {
        try expectKernelMatchesScalar(kernel, node_input_length, 1);
        try expectKernelMatchesScalar(kernel, leaf_input_length, 2);
    }
    try expectKernelMatchesScalar(kernelBest(), node_input_length, 7);
}
