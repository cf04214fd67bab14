//! Keccak-256 (Ethereum's, padding 0x01, not SHA3-256's 0x06).
//!
//! `hash` is the scalar any-length hash. `Kernel` bundles fixed-length multi-input hashers (64-byte
//! inner nodes, 156-byte account leaves), `group_size` inputs per call, from `keccak_lanes.zig`:
//! portable copies (scalar, and 2/4/8 lanes of `@Vector` on the baseline CPU) plus wide copies
//! compiled for AVX2 (`keccak_v3`) and AVX-512 (`keccak_v4`). `kernelBest` picks one at run time
//! from CPUID/XGETBV.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;
const lanes_portable = @import("keccak_lanes.zig");
const lanes_v3 = @import("keccak_v3");
const lanes_v4 = @import("keccak_v4");

pub const digest_length = lanes_portable.digest_length;
pub const rate_bytes = lanes_portable.rate_bytes;
pub const group_size = lanes_portable.group_size;
pub const node_input_length = lanes_portable.node_input_length;
pub const leaf_input_length = lanes_portable.leaf_input_length;
pub const step_input_length = lanes_portable.step_input_length;
const permute = lanes_portable.permute;

comptime {
    assert(lanes_v3.group_size == group_size and lanes_v4.group_size == group_size);
    assert(lanes_v3.leaf_input_length == leaf_input_length);
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
    comptime assert(4 * 8 == digest_length);
    inline for (0..4) |i| std.mem.writeInt(u64, out[i * 8 ..][0..8], state[i], .little);
    assert(rest.len < rate_bytes);
    return out;
}

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
    hash_steps: *const fn (
        *const [group_size]*const [step_input_length]u8,
        *const [group_size]*[digest_length]u8,
    ) void,
};

fn kernelOf(comptime copy: type, comptime lanes: comptime_int, comptime name: []const u8) Kernel {
    comptime assert(group_size % lanes == 0);
    comptime assert(copy.group_size == group_size);
    return .{
        .name = name,
        .lanes = lanes,
        .hash_nodes = copy.hashNodes(lanes),
        .hash_leaves = copy.hashLeaves(lanes),
        .hash_steps = copy.hashSteps(lanes),
    };
}

/// Portable kernels: compiled for the build's (baseline) CPU.
pub const kernel_scalar = kernelOf(lanes_portable, 1, "scalar");
pub const kernel_x2 = kernelOf(lanes_portable, 2, "simd-x2");
pub const kernel_x4 = kernelOf(lanes_portable, 4, "simd-x4");
pub const kernel_x8 = kernelOf(lanes_portable, 8, "simd-x8");
/// Compiled for x86_64_v3 (AVX2): only run when `cpuFeatures().avx2`.
pub const kernel_avx2_x4 = kernelOf(lanes_v3, 4, "avx2-x4");
pub const kernel_avx2_x8 = kernelOf(lanes_v3, 8, "avx2-x8");
/// Compiled for x86_64_v4 (AVX-512): only run when `cpuFeatures().avx512f`.
pub const kernel_avx512_x8 = kernelOf(lanes_v4, 8, "avx512-x8");

pub const kernels_portable = [_]Kernel{ kernel_scalar, kernel_x2, kernel_x4, kernel_x8 };

/// Every kernel this CPU can run, portable first.
pub fn kernelsAvailable(buffer: *[8]Kernel) []const Kernel {
    const features: CpuFeatures = if (wide_enabled) cpuFeatures() else .{};
    var count: usize = 0;
    comptime assert(kernels_portable.len + 3 <= 8);
    for (kernels_portable) |kernel| {
        buffer[count] = kernel;
        count += 1;
    }
    if (features.avx2) {
        buffer[count] = kernel_avx2_x4;
        buffer[count + 1] = kernel_avx2_x8;
        count += 2;
    }
    if (features.avx512f) {
        buffer[count] = kernel_avx512_x8;
        count += 1;
    }
    assert(count <= buffer.len);
    return buffer[0..count];
}

/// Run-time CPU features relevant to wide Keccak.
/// Wide copies are only used in optimized builds: Zig's Debug x86_64 backend does not realign the
/// stack for 32/64-byte vector locals, and the wide code faults (#GP) there.
const wide_enabled = builtin.mode != .debug;

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
    assert(builtin.cpu.arch == .x86_64);
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

/// Widest kernel for this CPU (measured fastest of the ones it can run; see README).
pub fn kernelBest() Kernel {
    const features: CpuFeatures = if (wide_enabled) cpuFeatures() else .{};
    comptime assert(kernel_x4.lanes == 4 and kernel_avx512_x8.lanes == 8);
    if (features.avx512f) return kernel_avx512_x8;
    if (features.avx2) return kernel_avx2_x4;
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
        switch (len) {
            node_input_length => kernel.hash_nodes(&inputs, &outputs),
            leaf_input_length => kernel.hash_leaves(&inputs, &outputs),
            step_input_length => kernel.hash_steps(&inputs, &outputs),
            else => comptime unreachable,
        }
        for (0..group_size) |k| {
            var expected: [32]u8 = undefined;
            std.crypto.hash.sha3.Keccak256.hash(&data[k], &expected, .{});
            try std.testing.expectEqual(expected, digests[k]);
        }
    }
}

test "every kernel this CPU runs (scalar, SIMD x2/x4/x8, AVX2, AVX-512) equals std Keccak256" {
    var buffer: [8]Kernel = undefined;
    for (kernelsAvailable(&buffer)) |kernel| {
        try expectKernelMatchesScalar(kernel, node_input_length, 1);
        try expectKernelMatchesScalar(kernel, leaf_input_length, 2);
        try expectKernelMatchesScalar(kernel, step_input_length, 3);
    }
    try expectKernelMatchesScalar(kernelBest(), node_input_length, 7);
}
