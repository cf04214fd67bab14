//! Fixed-depth binary Merkle trees with every level stored.
//!
//! `Tree` is the state tree: level 0 holds `2^depth` leaves, level `depth` the root. Leaves are
//! written by the caller; `rehash` takes the sorted, unique list of changed leaf indices and
//! rehashes only their ancestors, level by level, `keccak.group_size` parents per kernel call.
//! `Levels` is the small dense tree used for transactions and withdrawals roots (leaves padded to
//! a power of two with zero leaves).
const std = @import("std");
const assert = std.debug.assert;
const keccak = @import("keccak.zig");

pub const Hash = [32]u8;
pub const depth_max = 32;

comptime {
    assert(@sizeOf(Hash) == keccak.digest_length);
    assert(2 * @sizeOf(Hash) == keccak.node_input_length);
}

pub fn hashPair(left: *const Hash, right: *const Hash) Hash {
    var buffer: [64]u8 = undefined;
    buffer[0..32].* = left.*;
    buffer[32..64].* = right.*;
    comptime assert(buffer.len < keccak.rate_bytes);
    return keccak.hash(&buffer);
}

/// `zero[0] = 0^32`, `zero[i+1] = keccak(zero[i] || zero[i])`.
pub fn zeroHashes() [depth_max + 1]Hash {
    var zero: [depth_max + 1]Hash = undefined;
    zero[0] = @splat(0);
    for (1..depth_max + 1) |i| zero[i] = hashPair(&zero[i - 1], &zero[i - 1]);
    assert(!std.mem.eql(u8, &zero[1], &zero[0]));
    return zero;
}

/// Asks Linux for transparent huge pages on a large mmap'ed array (fewer TLB misses on the
/// random accesses of apply and seal). Best effort: ignored when not applicable.
pub fn adviseHuge(bytes: []u8) void {
    const huge_page_size = 2 * 1024 * 1024;
    if (@import("builtin").os.tag != .linux) return;
    assert(std.math.isPowerOfTwo(huge_page_size));
    if (bytes.len < huge_page_size or @intFromPtr(bytes.ptr) % std.heap.pageSize() != 0) return;
    _ = std.os.linux.madvise(bytes.ptr, bytes.len, std.os.linux.MADV.HUGEPAGE);
}

/// How many indices ahead of the group being hashed the children are prefetched.
pub const prefetch_ahead = 2 * keccak.group_size;

/// Hashes parent `parents[i]` = H(children[2p] || children[2p+1]) for every index in `parents`.
/// Children of one parent are adjacent, so each input is one contiguous 64-byte slice.
pub fn hashParents(kernel: keccak.Kernel, children: []const Hash, out: []Hash, parents: []const u32) void {
    assert(out.len * 2 == children.len);
    var start: usize = 0;
    while (start < parents.len) : (start += keccak.group_size) {
        const count = @min(keccak.group_size, parents.len - start);
        // Random parents: pull the children of two groups ahead into cache.
        for (parents[@min(parents.len, start + prefetch_ahead)..@min(parents.len, start + prefetch_ahead + keccak.group_size)]) |p| {
            @prefetch(&children[2 * p], .{ .rw = .read, .locality = 3, .cache = .data });
            @prefetch(&out[p], .{ .rw = .write, .locality = 3, .cache = .data });
        }
        var inputs: [keccak.group_size]*const [64]u8 = undefined;
        var outputs: [keccak.group_size]*[32]u8 = undefined;
        var discard: [keccak.group_size]Hash = undefined;
        for (0..keccak.group_size) |k| {
            const p = parents[start + @min(k, count - 1)];
            assert(p < out.len);
            inputs[k] = @ptrCast(children[2 * p ..][0..2]);
            outputs[k] = if (k < count) &out[p] else &discard[k];
        }
        kernel.hash_nodes(&inputs, &outputs);
    }
}

pub const Tree = struct {
    depth: u32,
    nodes: []Hash,
    level_offsets: [depth_max + 2]usize,
    zero: [depth_max + 1]Hash,
    /// Inner nodes hashed by the last `rehash` (for benchmarks and tests).
    rehash_nodes_last: u64 = 0,

    pub fn init(allocator: std.mem.Allocator, depth: u32) error{OutOfMemory}!Tree {
        assert(depth >= 1 and depth < depth_max);
        var tree: Tree = .{ .depth = depth, .nodes = &.{}, .level_offsets = undefined, .zero = zeroHashes() };
        var offset: usize = 0;
        for (0..depth + 2) |level| {
            tree.level_offsets[level] = offset;
            if (level <= depth) offset += @as(usize, 1) << @intCast(depth - level);
        }
        tree.nodes = try allocator.alloc(Hash, offset);
        adviseHuge(std.mem.sliceAsBytes(tree.nodes));
        for (0..depth + 1) |level| @memset(tree.levelNodes(@intCast(level)), tree.zero[level]);
        assert(offset == (@as(usize, 2) << @intCast(depth)) - 1);
        assert(std.mem.eql(u8, &tree.root(), &tree.zero[depth]));
        return tree;
    }

    pub fn deinit(tree: *Tree, allocator: std.mem.Allocator) void {
        assert(tree.nodes.len == (@as(usize, 2) << @intCast(tree.depth)) - 1);
        allocator.free(tree.nodes);
        tree.* = undefined;
    }

    pub fn levelNodes(tree: *const Tree, level: u32) []Hash {
        assert(level <= tree.depth);
        const nodes = tree.nodes[tree.level_offsets[level]..tree.level_offsets[level + 1]];
        assert(nodes.len == @as(usize, 1) << @intCast(tree.depth - level));
        return nodes;
    }

    pub fn root(tree: *const Tree) Hash {
        const top = tree.levelNodes(tree.depth);
        assert(top.len == 1);
        return top[0];
    }

    /// `indices` are the sorted, unique leaf indices whose leaves changed; it is overwritten
    /// (used as the work list for each level in turn).
    pub fn rehash(tree: *Tree, kernel: keccak.Kernel, indices: []u32) void {
        assert(indices.len <= tree.levelNodes(0).len);
        for (indices[0..@min(indices.len, 1)]) |first| assert(first < tree.levelNodes(0).len);
        var count = indices.len;
        var level: u32 = 0;
        tree.rehash_nodes_last = 0;
        while (level < tree.depth) : (level += 1) {
            if (count == 0) return;
            count = parentsUnique(indices[0..count]);
            tree.rehash_nodes_last += count;
            hashParents(kernel, tree.levelNodes(level), tree.levelNodes(level + 1), indices[0..count]);
        }
        assert(count <= 1);
    }

    pub fn proof(tree: *const Tree, leaf_index: u64, siblings: []Hash) void {
        assert(siblings.len == tree.depth);
        assert(leaf_index < tree.levelNodes(0).len);
        var index = leaf_index;
        for (0..tree.depth) |level| {
            siblings[level] = tree.levelNodes(@intCast(level))[index ^ 1];
            index >>= 1;
        }
        assert(index == 0);
    }
};

/// Replaces sorted unique child indices with their sorted unique parents, in place.
fn parentsUnique(indices: []u32) usize {
    assert(indices.len > 0);
    var count: usize = 0;
    for (indices) |child| {
        const parent = child >> 1;
        if (count > 0) assert(indices[count - 1] <= parent);
        if (count == 0 or indices[count - 1] != parent) {
            indices[count] = parent;
            count += 1;
        }
    }
    assert(count >= 1 and count <= indices.len);
    return count;
}

/// Root of a dense tree over `nodes[0..leaf_count]`, where `nodes` has room for every level
/// (`2 * leaf_count_padded - 1`). Unused leaves are set to zero. Returns the padded depth.
pub const Levels = struct {
    nodes: []Hash,
    leaf_count: u32 = 0,
    depth: u32 = 0,
    indices: []u32,

    pub fn init(allocator: std.mem.Allocator, leaf_count_max: u32) error{OutOfMemory}!Levels {
        assert(leaf_count_max >= 1);
        const padded = std.math.ceilPowerOfTwoAssert(u32, leaf_count_max);
        const nodes = try allocator.alloc(Hash, 2 * @as(usize, padded) - 1);
        errdefer allocator.free(nodes);
        const indices = try allocator.alloc(u32, padded);
        for (indices, 0..) |*index, i| index.* = @intCast(i);
        assert(nodes.len == 2 * indices.len - 1);
        return .{ .nodes = nodes, .indices = indices };
    }

    pub fn deinit(levels: *Levels, allocator: std.mem.Allocator) void {
        assert(levels.nodes.len == 2 * levels.indices.len - 1);
        allocator.free(levels.nodes);
        allocator.free(levels.indices);
        levels.* = undefined;
    }

    pub fn leaves(levels: *Levels) []Hash {
        assert(std.math.isPowerOfTwo(levels.indices.len));
        assert(levels.nodes.len == 2 * levels.indices.len - 1);
        return levels.nodes[0..levels.indices.len];
    }

    /// Builds all levels over the first `leaf_count` leaves (already written) and returns the
    /// root: 32 zero bytes when `leaf_count == 0`.
    pub fn build(levels: *Levels, kernel: keccak.Kernel, leaf_count: u32) Hash {
        assert(leaf_count <= levels.indices.len);
        levels.leaf_count = leaf_count;
        levels.depth = 0;
        if (leaf_count == 0) return @splat(0);
        const padded = std.math.ceilPowerOfTwoAssert(u32, leaf_count);
        @memset(levels.nodes[leaf_count..padded], @as(Hash, @splat(0)));
        var offset: usize = 0;
        var width: usize = padded;
        while (width > 1) : (width /= 2) {
            const children = levels.nodes[offset..][0..width];
            const parents = levels.nodes[offset + width ..][0 .. width / 2];
            hashParents(kernel, children, parents, levels.indices[0 .. width / 2]);
            offset += width;
            levels.depth += 1;
        }
        assert(offset == 2 * @as(usize, padded) - 2);
        return levels.nodes[offset];
    }

    /// Siblings bottom-up of leaf `index` in the last `build`.
    pub fn proof(levels: *const Levels, index: u32, siblings: []Hash) void {
        assert(index < levels.leaf_count);
        assert(siblings.len == levels.depth);
        var offset: usize = 0;
        var width: usize = @as(usize, 1) << @intCast(levels.depth);
        var position: usize = index;
        for (siblings) |*sibling| {
            sibling.* = levels.nodes[offset + (position ^ 1)];
            offset += width;
            width /= 2;
            position >>= 1;
        }
        assert(width == 1);
    }
};

/// Recomputes a root from a leaf and its siblings (bottom-up; bit i of index = 1: right child).
pub fn rootFromProof(leaf: Hash, leaf_index: u64, siblings: []const Hash) Hash {
    assert(siblings.len <= depth_max);
    assert(siblings.len >= 64 or leaf_index >> @intCast(siblings.len) == 0);
    var node = leaf;
    for (siblings, 0..) |*sibling, level| {
        const is_right = (leaf_index >> @intCast(level)) & 1 == 1;
        node = if (is_right) hashPair(sibling, &node) else hashPair(&node, sibling);
    }
    return node;
}

/// Reference: root computed naively from all leaves, recursively (tests only).
pub fn rootNaive(leaves_all: []const Hash) Hash {
    assert(std.math.isPowerOfTwo(leaves_all.len));
    if (leaves_all.len == 1) return leaves_all[0];
    const half = leaves_all.len / 2;
    return hashPair(&rootNaive(leaves_all[0..half]), &rootNaive(leaves_all[half..]));
}

test "tree rehash of dirty leaves equals naive root; proofs verify" {
    const allocator = std.testing.allocator;
    var tree = try Tree.init(allocator, 10);
    defer tree.deinit(allocator);
    var prng = std.Random.DefaultPrng.init(7);
    const random = prng.random();
    var dirty: [1024]bool = @splat(false);
    for (0..300) |_| {
        const i = random.uintLessThan(u32, 1024);
        random.bytes(&tree.levelNodes(0)[i]);
        dirty[i] = true;
    }
    var indices: [1024]u32 = undefined;
    var count: usize = 0;
    for (dirty, 0..) |is_dirty, i| {
        if (!is_dirty) continue;
        indices[count] = @intCast(i);
        count += 1;
    }
    tree.rehash(keccak.kernel_x4, indices[0..count]);
    try std.testing.expectEqual(rootNaive(tree.levelNodes(0)), tree.root());
    var siblings: [10]Hash = undefined;
    for ([_]u64{ 0, 1, 513, 1023 }) |leaf_index| {
        tree.proof(leaf_index, &siblings);
        const leaf = tree.levelNodes(0)[leaf_index];
        try std.testing.expectEqual(tree.root(), rootFromProof(leaf, leaf_index, &siblings));
    }
}

test "dense levels: roots for 0..40 leaves equal naive; proofs verify" {
    const allocator = std.testing.allocator;
    var levels = try Levels.init(allocator, 40);
    defer levels.deinit(allocator);
    for (0..41) |n| {
        for (levels.leaves()[0..n], 0..) |*leaf, i| leaf.* = keccak.hash(std.mem.asBytes(&i));
        var reference: [64]Hash = undefined;
        const padded = if (n == 0) 1 else std.math.ceilPowerOfTwoAssert(usize, n);
        @memcpy(reference[0..n], levels.leaves()[0..n]);
        @memset(reference[n..padded], @as(Hash, @splat(0)));
        const root = levels.build(keccak.kernel_x8, @intCast(n));
        if (n == 0) {
            try std.testing.expectEqual(@as(Hash, @splat(0)), root);
            continue;
        }
        try std.testing.expectEqual(rootNaive(reference[0..padded]), root);
        var siblings: [8]Hash = undefined;
        levels.proof(@intCast(n - 1), siblings[0..levels.depth]);
        try std.testing.expectEqual(root, rootFromProof(reference[n - 1], n - 1, siblings[0..levels.depth]));
    }
}
