// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title GhostPlaneHashes
/// @notice The hashed byte layouts of zig/SPEC.md shared by the Portal, the Rollup and the tests.
library GhostPlaneHashes {
    /// @notice The low 5 bytes of a stored deposit chain value hold the deposit's timestamp; the
    ///         chain keeps the high 27 bytes (216 bits) of each keccak (see GhostPlanePortal).
    uint256 internal constant CHAIN_MASK = ~uint256(type(uint40).max);

    /// @notice Account leaf: keccak256(addr 20 || nonce u64 BE || 8 × u128 BE), 156 bytes.
    function accountLeaf(address addr, uint64 nonce, uint128[8] memory balances) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(96, addr))
            mstore(add(p, 20), shl(192, nonce))
            for { let i := 0 } lt(i, 8) { i := add(i, 1) } {
                mstore(add(p, add(28, mul(i, 16))), shl(128, mload(add(balances, mul(i, 32)))))
            }
            h := keccak256(p, 156)
        }
    }

    /// @notice Withdrawal leaf: keccak256(batch u64 || index u32 || from 20 || l1Recipient 20 || token u32 || amount u128).
    function withdrawalLeaf(
        uint64 batchNumber,
        uint32 index,
        address from,
        address l1Recipient,
        uint32 token,
        uint128 amount
    ) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(batchNumber, index, from, l1Recipient, token, amount));
    }

    /// @notice step_hash: keccak256 of the 84-byte StepState.
    function stepHash(
        bytes32 stateRoot,
        uint64 accountCount,
        bytes32 withdrawalsRoot,
        uint32 withdrawalCount,
        uint64 depositCursor
    ) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(stateRoot, accountCount, withdrawalsRoot, withdrawalCount, depositCursor));
    }

    /// @notice The stored chain value of deposit `k` given the stored value of deposit k-1
    ///         (zero for k = 0): keccak256(prev || k u64 || l1Sender || recipient || token u8 || amount u128)
    ///         with its low 5 bytes cleared.
    function depositChain(bytes32 prev, uint64 k, address l1Sender, address recipient, uint8 token, uint128 amount)
        internal
        pure
        returns (bytes32)
    {
        return bytes32(uint256(keccak256(abi.encodePacked(prev, k, l1Sender, recipient, token, amount))) & CHAIN_MASK);
    }

    /// @notice keccak256(abi.encode(headerHash, withdrawalsRoot, submittedAt, proposer)): the record hash.
    function recordHash(bytes32 headerHash, bytes32 withdrawalsRoot, uint64 submittedAt, address proposer)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(headerHash, withdrawalsRoot, submittedAt, proposer));
    }
}
