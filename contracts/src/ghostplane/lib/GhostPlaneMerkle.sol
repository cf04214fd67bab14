// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title GhostPlaneMerkle
/// @notice The keccak trees of zig/SPEC.md "Roots": inner node = keccak256(left || right), empty
///         leaf = 32 zero bytes, siblings bottom-up, bit i of the index = 0 means left child at level i.
library GhostPlaneMerkle {
    /// @notice zero[d]: the root of an empty depth-`d` tree.
    function zeroRoot(uint256 d) internal pure returns (bytes32 z) {
        for (uint256 i = 0; i < d; ++i) {
            z = _hashPair(z, z);
        }
    }

    /// @notice Root of the tree whose leaf `index` is `leaf`, given its siblings bottom-up.
    function rootFromCalldata(bytes32 leaf, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            node := leaf
            for { let i := 0 } lt(i, siblings.length) { i := add(i, 1) } {
                let s := calldataload(add(siblings.offset, shl(5, i)))
                switch and(shr(i, index), 1)
                case 0 {
                    mstore(0x00, node)
                    mstore(0x20, s)
                }
                default {
                    mstore(0x00, s)
                    mstore(0x20, node)
                }
                node := keccak256(0x00, 0x40)
            }
        }
    }

    /// @notice The roots of the same path for two leaves (before and after an update), in one
    ///         pass over the siblings.
    function rootsFromCalldata(bytes32 leafA, bytes32 leafB, uint256 index, bytes32[] calldata siblings)
        internal
        pure
        returns (bytes32 a, bytes32 b)
    {
        assembly ("memory-safe") {
            a := leafA
            b := leafB
            for { let i := 0 } lt(i, siblings.length) { i := add(i, 1) } {
                let s := calldataload(add(siblings.offset, shl(5, i)))
                switch and(shr(i, index), 1)
                case 0 {
                    mstore(0x20, s)
                    mstore(0x00, a)
                    a := keccak256(0x00, 0x40)
                    mstore(0x00, b)
                    b := keccak256(0x00, 0x40)
                }
                default {
                    mstore(0x00, s)
                    mstore(0x20, a)
                    a := keccak256(0x00, 0x40)
                    mstore(0x20, b)
                    b := keccak256(0x00, 0x40)
                }
            }
        }
    }

    /// @notice Same for a memory sibling array.
    function rootFromMemory(bytes32 leaf, uint256 index, bytes32[] memory siblings)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        uint256 n = siblings.length;
        for (uint256 i = 0; i < n; ++i) {
            node = (index >> i) & 1 == 0 ? _hashPair(node, siblings[i]) : _hashPair(siblings[i], node);
        }
    }

    /// @notice Same for the fixed 16 siblings of a withdrawals tree.
    function rootFrom16(bytes32 leaf, uint256 index, bytes32[16] calldata siblings)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        for (uint256 i = 0; i < 16; ++i) {
            node = (index >> i) & 1 == 0 ? _hashPair(node, siblings[i]) : _hashPair(siblings[i], node);
        }
    }

    /// @notice log2 of `n` rounded up to a power of two (0 for n <= 1): the depth of a padded tree.
    function paddedDepth(uint256 n) internal pure returns (uint256 depth) {
        while ((uint256(1) << depth) < n) ++depth;
    }

    /// @notice SPEC's padded root over keccak256 of each 124-byte record of `records`
    ///         (calldata data commitment); 32 zero bytes when there is no record.
    function recordsRoot(bytes calldata records, uint256 count) internal pure returns (bytes32 root) {
        if (count == 0) return bytes32(0);
        uint256 width = uint256(1) << paddedDepth(count);
        bytes32[] memory level = new bytes32[](width);
        assembly ("memory-safe") {
            let buf := mload(0x40)
            let base := add(level, 0x20)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                calldatacopy(buf, add(records.offset, mul(i, 124)), 124)
                mstore(add(base, mul(i, 0x20)), keccak256(buf, 124))
            }
            for {} gt(width, 1) {} {
                let half := shr(1, width)
                for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                    mstore(0x00, mload(add(base, mul(i, 0x40))))
                    mstore(0x20, mload(add(base, add(mul(i, 0x40), 0x20))))
                    mstore(add(base, mul(i, 0x20)), keccak256(0x00, 0x40))
                }
                width := half
            }
            root := mload(base)
        }
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }
}
