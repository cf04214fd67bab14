//! Generic Keccak-f[1600] over `u64` or `@Vector(N, u64)` lanes, and fixed-length multi-input
//! hashing. Self-contained (no std calls on the hot path) because this one file is compiled
//! three times: as part of the main module (portable, baseline CPU) and, through the symlinks
//! in `wide/`, as modules `keccak_v3` (AVX2) and `keccak_v4` (AVX-512) built with their own
//! `-mcpu`. Zig compiles a function with the target of the module that defines it, so the wide
//! copies get wide code while the rest of the library stays baseline; `keccak.zig` picks one at
//! run time from CPUID.
const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

pub const digest_length = 32;
pub const rate_bytes = 136;
/// Every multi-lane call hashes exactly this many inputs (callers pad with repeats).
pub const group_size = 8;
pub const node_input_length = 64;
pub const leaf_input_length = 156;
/// The 84-byte StepState preimage of a step commitment (SPEC "Settlement on L1").
pub const step_input_length = 84;

comptime {
    assert(rate_bytes / 8 == 17);
    assert(group_size % 4 == 0);
    assert(builtin.cpu.arch.endian() == .little);
}

pub const NodesFn = fn (*const [group_size]*const [node_input_length]u8, *const [group_size]*[digest_length]u8) void;
pub const LeavesFn = fn (*const [group_size]*const [leaf_input_length]u8, *const [group_size]*[digest_length]u8) void;
pub const StepsFn = fn (*const [group_size]*const [step_input_length]u8, *const [group_size]*[digest_length]u8) void;

/// The CPU model this copy was compiled for (differs per module).
pub const cpu_model_name = builtin.cpu.model.name;

inline fn load64(bytes: *const [8]u8) u64 {
    return @as(*align(1) const u64, @ptrCast(bytes)).*;
}

inline fn store64(bytes: *[8]u8, value: u64) void {
    @as(*align(1) u64, @ptrCast(bytes)).* = value;
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
    comptime assert(std.math.isPowerOfTwo(lanes));
    comptime assert(lanes >= 1 and lanes <= 8);
    return if (lanes == 1) u64 else @Vector(lanes, u64);
}

inline fn splat(comptime T: type, value: u64) T {
    return if (T == u64) value else @splat(value);
}

inline fn rotl(comptime T: type, x: T, comptime n: u6) T {
    comptime assert(n != 0);
    if (T == u64) return (x << n) | (x >> @as(u6, @intCast(64 - @as(u7, n))));
    const lanes = @typeInfo(T).vector.len;
    const left: @Vector(lanes, u6) = @splat(n);
    const right: @Vector(lanes, u6) = @splat(@as(u6, @intCast(64 - @as(u7, n))));
    return (x << left) | (x >> right);
}

/// Keccak-f[1600] on one (T = u64) or several (T = vector) states at once.
pub fn permute(comptime T: type, state: *[25]T) void {
    comptime assert(T == u64 or @typeInfo(T).vector.child == u64);
    comptime assert(round_constants.len == 24 and pi_lanes.len == 24);
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
            v = load64(tails[0][i * 8 ..][0..8]);
        } else inline for (0..lanes) |k| {
            v[k] = load64(tails[k][i * 8 ..][0..8]);
        }
        state[i] ^= v;
    }
    permute(T, &state);
    inline for (0..4) |i| {
        inline for (0..lanes) |k| {
            const word: u64 = if (lanes == 1) state[i] else state[i][k];
            store64(outputs[k][i * 8 ..][0..8], word);
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
    if (lanes == 1) return load64(inputs[0][offset..][0..8]);
    var v: Lane(lanes) = undefined;
    inline for (0..lanes) |k| v[k] = load64(inputs[k][offset..][0..8]);
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

pub fn hashNodes(comptime lanes: comptime_int) NodesFn {
    comptime assert(node_input_length < rate_bytes); // One block.
    return hashGroup(lanes, node_input_length);
}

pub fn hashSteps(comptime lanes: comptime_int) StepsFn {
    comptime assert(step_input_length < rate_bytes); // One block.
    return hashGroup(lanes, step_input_length);
}

pub fn hashLeaves(comptime lanes: comptime_int) LeavesFn {
    comptime assert(leaf_input_length > rate_bytes and leaf_input_length < 2 * rate_bytes); // Two blocks.
    return hashGroup(lanes, leaf_input_length);
}
