//! Fixed-capacity open-addressing map from 20-byte address to dense account slot.
//!
//! Allocated once at init with at least twice as many entries as slots (load factor <= 0.5),
//! linear probing, no deletion (slots never move). Each entry packs a 32-bit fingerprint of the
//! address with `slot + 1` (0 = empty), so a probe only touches the account array on a
//! fingerprint match.
const std = @import("std");
const assert = std.debug.assert;

pub const Address = [20]u8;

pub const AccountIndex = struct {
    entries: []u64,
    mask: u64,
    count: u64 = 0,
    slots_max: u64,

    comptime {
        assert(@sizeOf(Address) == 20);
    }

    pub fn init(allocator: std.mem.Allocator, slots_max: u64) error{OutOfMemory}!AccountIndex {
        assert(slots_max >= 1 and slots_max < std.math.maxInt(u32));
        const entries_count = std.math.ceilPowerOfTwoAssert(u64, slots_max * 2);
        const entries = try allocator.alloc(u64, entries_count);
        @memset(entries, 0);
        assert(entries.len >= 2 * slots_max);
        return .{ .entries = entries, .mask = entries_count - 1, .slots_max = slots_max };
    }

    pub fn deinit(index: *AccountIndex, allocator: std.mem.Allocator) void {
        assert(index.count <= index.slots_max);
        assert(index.entries.len == index.mask + 1);
        allocator.free(index.entries);
        index.* = undefined;
    }

    pub fn hashAddress(address: *const Address) u64 {
        const a = std.mem.readInt(u64, address[0..8], .little);
        const b = std.mem.readInt(u64, address[8..16], .little);
        const c = std.mem.readInt(u32, address[16..20], .little);
        var h = (a ^ std.math.rotl(u64, b, 29) ^ (@as(u64, c) << 17)) *% 0x9E3779B97F4A7C15;
        h ^= h >> 29;
        h *%= 0xBF58476D1CE4E5B9;
        h ^= h >> 32;
        comptime assert(@sizeOf(Address) == 8 + 8 + 4);
        return h;
    }

    /// `accounts[slot].address` is the key of `slot`.
    pub fn find(index: *const AccountIndex, address: *const Address, accounts: anytype) ?u32 {
        assert(index.count * 2 <= index.entries.len);
        const h = hashAddress(address);
        const fingerprint = h >> 32;
        var position = h & index.mask;
        var probes: u64 = 0;
        while (probes <= index.mask) : (probes += 1) {
            const entry = index.entries[position];
            if (entry == 0) return null;
            if (entry >> 32 == fingerprint) {
                const slot: u32 = @intCast((entry & 0xffff_ffff) - 1);
                assert(slot < index.count);
                if (std.mem.eql(u8, &accounts[slot].address, address)) return slot;
            }
            position = (position + 1) & index.mask;
        }
        unreachable; // Load factor <= 0.5: an empty entry always exists.
    }

    pub fn prefetchEntry(index: *const AccountIndex, address: *const Address) void {
        const position = hashAddress(address) & index.mask;
        assert(position < index.entries.len);
        @prefetch(&index.entries[position], .{ .rw = .read, .locality = 3, .cache = .data });
    }

    /// Slot of the first entry whose fingerprint matches (no key comparison): a prefetch hint.
    pub fn peek(index: *const AccountIndex, address: *const Address) ?u32 {
        const h = hashAddress(address);
        var position = h & index.mask;
        assert(index.count * 2 <= index.entries.len);
        for (0..4) |_| {
            const entry = index.entries[position];
            if (entry == 0) return null;
            if (entry >> 32 == h >> 32) return @intCast((entry & 0xffff_ffff) - 1);
            position = (position + 1) & index.mask;
        }
        return null;
    }

    /// Inserts an address known to be absent.
    pub fn insert(index: *AccountIndex, address: *const Address, slot: u32) void {
        assert(index.count < index.slots_max);
        assert(slot == index.count);
        const h = hashAddress(address);
        var position = h & index.mask;
        while (index.entries[position] != 0) position = (position + 1) & index.mask;
        index.entries[position] = ((h >> 32) << 32) | (@as(u64, slot) + 1);
        index.count += 1;
        assert(index.count <= index.slots_max);
    }
};

test "index finds every inserted address and nothing else" {
    const allocator = std.testing.allocator;
    const Entry = struct { address: Address };
    var accounts: [1000]Entry = undefined;
    var index = try AccountIndex.init(allocator, accounts.len);
    defer index.deinit(allocator);
    for (&accounts, 0..) |*account, i| {
        account.address = @splat(0);
        std.mem.writeInt(u32, account.address[16..20], @intCast(i), .big);
        try std.testing.expectEqual(@as(?u32, null), index.find(&account.address, &accounts));
        index.insert(&account.address, @intCast(i));
    }
    for (&accounts, 0..) |*account, i| {
        try std.testing.expectEqual(@as(?u32, @intCast(i)), index.find(&account.address, &accounts));
    }
    const missing: Address = @splat(0xee);
    try std.testing.expectEqual(@as(?u32, null), index.find(&missing, &accounts));
}
