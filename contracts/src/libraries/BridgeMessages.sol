// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice One transfer between two chains, exactly as docs/PROTOCOL.md defines it.
/// @dev `token` is always the CANONICAL token on the vault chain (address(0) = native ETH): the
/// locked token on the lock leg, the wrapped token's origin token on the burn leg.
struct BridgeMessage {
    uint8 version;
    uint64 srcChainId;
    uint64 dstChainId;
    address srcContract;
    uint64 nonce;
    address token;
    uint256 amount;
    address sender;
    address recipient;
}

/// @notice A validator's secp256k1 signature in EIP-2098 compact form, tagged with its set index.
struct Signature {
    uint8 signerIndex;
    bytes32 r;
    bytes32 vs;
}

/// @notice Signatures over an EIP-712 digest plus the FULL current signer set, which the verifier
/// checks against one stored hash (so the hot path reads one slot instead of N).
struct Attestation {
    address[] signers;
    Signature[] signatures;
}

/// @title BridgeMessages
/// @notice Message ids, EIP-712 struct hashes and batch Merkle leaves shared by every contract.
library BridgeMessages {
    /// @notice The only message format version this deployment accepts.
    uint8 internal constant VERSION = 1;

    /// @dev `endpoint` is the destination contract that releases: the BridgeMinter for a lock
    /// leg, the BridgeVault for a burn leg (vault and minter share one verifier, so an
    /// attestation must say which of them it is for).
    bytes32 internal constant MESSAGE_ATTESTATION_TYPEHASH =
        keccak256("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)");
    bytes32 internal constant BATCH_ATTESTATION_TYPEHASH =
        keccak256("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)");
    bytes32 internal constant ROTATION_TYPEHASH = keccak256(
        "ValidatorSetRotation(uint64 newEpoch,bytes32 signerSetHash,bytes32 pqKeySetHash,uint8 threshold,uint8 largeThreshold)"
    );

    /// @notice keccak256 of the ABI-encoded message (9 words).
    function id(BridgeMessage memory message) internal pure returns (bytes32) {
        return keccak256(abi.encode(message));
    }

    /// @notice Batch Merkle leaf: double hash, so an inner node can never pass as a leaf.
    function leaf(bytes32 messageId) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(messageId))));
    }

    /// @notice Root over `nodes` (the leaves, in batch order; overwritten): commutative inner
    /// nodes, an odd node carried up unchanged, as docs/PROTOCOL.md and the relayer build it.
    /// @dev In place, one level at a time: n - 1 hashes and no allocation. `nodes` is non-empty.
    function merkleRootInPlace(bytes32[] memory nodes) internal pure returns (bytes32) {
        uint256 length = nodes.length;
        while (length > 1) {
            uint256 next = 0;
            for (uint256 i = 0; i < length; i += 2) {
                nodes[next++] = i + 1 < length ? Hashes.commutativeKeccak256(nodes[i], nodes[i + 1]) : nodes[i];
            }
            length = next;
        }
        return nodes[0];
    }

    function messageStructHash(bytes32 messageId, uint64 epoch, address endpoint) internal pure returns (bytes32) {
        return keccak256(abi.encode(MESSAGE_ATTESTATION_TYPEHASH, messageId, epoch, endpoint));
    }

    function batchStructHash(bytes32 root, uint64 epoch, address endpoint) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_ATTESTATION_TYPEHASH, root, epoch, endpoint));
    }

    function rotationStructHash(
        uint64 newEpoch,
        bytes32 setHash,
        bytes32 pqSetHash,
        uint8 threshold,
        uint8 largeThreshold
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(ROTATION_TYPEHASH, newEpoch, setHash, pqSetHash, threshold, largeThreshold));
    }

    /// @notice keccak256(abi.encodePacked(signers)): each address padded to 32 bytes.
    function signerSetHash(address[] memory signers) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(signers));
    }

    /// @notice keccak256 of the concatenated ML-DSA-65 public-key hashes.
    function pqKeySetHash(bytes32[] memory pqKeyHashes) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(pqKeyHashes));
    }
}
