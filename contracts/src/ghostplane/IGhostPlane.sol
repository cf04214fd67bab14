// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title GhostPlane settlement types and interfaces (zig/SPEC.md, "Settlement on L1")
/// @notice The shapes shared by the Rollup, the Portal, the Rust node and the fixture exporter.
///         Every byte layout referenced here is defined in zig/SPEC.md.
interface IGhostPlaneTypes {
    /// @notice A batch as committed by its proposer. `dataMode` 0 = calldata, 1 = blobs.
    struct BatchHeader {
        uint64 number;
        bytes32 prevStateRoot;
        uint64 prevAccountCount;
        uint64 prevDepositCursor;
        bytes32 stateRoot;
        uint64 accountCount;
        uint64 depositCursor;
        bytes32 withdrawalsRoot;
        uint32 withdrawalCount;
        uint32 opCount;
        uint8 dataMode;
        bytes32 dataCommitment;
    }

    /// @notice A header with what the Rollup added at submission; its hash is `batchHash(number)`:
    ///         keccak256(abi.encode(keccak256(abi.encode(header)), header.withdrawalsRoot, submittedAt, proposer)).
    struct BatchRecord {
        BatchHeader header;
        uint64 submittedAt;
        address proposer;
    }

    /// @notice The 84-byte preimage of a step commitment (SPEC: StepState).
    struct StepState {
        bytes32 stateRoot;
        uint64 accountCount;
        bytes32 withdrawalsRoot;
        uint32 withdrawalCount;
        uint64 depositCursor;
    }

    /// @notice An account leaf preimage at `slot` with its `D` siblings (bottom-up).
    ///         An unused slot is given as addr 0, nonce 0, zero balances (its leaf is zero[0]).
    struct AccountWitness {
        uint32 slot;
        address addr;
        uint64 nonce;
        uint128[8] balances;
        bytes32[] siblings;
    }

    /// @notice Record `index` of a batch (124 bytes: 93 op || 31 commitment, records v3) and its opening.
    ///         Calldata mode: `proof` = abi.encode(bytes32[] siblings) against dataCommitment.
    ///         Blob mode: `proof` = abi.encode(bytes32[] versionedHashes, bytes commitment48, bytes[] kzgProofs48)
    ///         with four proofs, one per field element of the record.
    struct RecordOpening {
        uint32 index;
        bytes record;
        bytes proof;
    }

    /// @notice Only the 31-byte commitment of record `index` (the previous step).
    ///         Calldata mode: `proof` = abi.encode(bytes op93, bytes32[] siblings), the record's
    ///         93-byte op (leaf keccak256(op93 || commitment)).
    ///         Blob mode: `proof` = abi.encode(bytes32[] versionedHashes, bytes commitment48, bytes kzgProof48)
    ///         opening the record's fourth element (element 3 = 0x00 || commitment).
    struct CommitmentOpening {
        uint32 index;
        bytes31 commitment;
        bytes proof;
    }

    /// @notice A withdrawal leaf (SPEC) of batch `batchNumber`.
    struct Withdrawal {
        uint64 batchNumber;
        uint32 index;
        address from;
        address l1Recipient;
        uint32 token;
        uint128 amount;
    }
}

interface IGhostPlaneRollup is IGhostPlaneTypes {
    /// @notice Commits a batch. Calldata mode passes the records; blob mode passes empty `records`
    ///         and carries ceil(opCount / 1024) blobs in the same transaction.
    function submitBatch(BatchHeader calldata header, bytes calldata records) external;

    /// @notice Registers keccak256(abi.encode(prover, keccak256(proofCalldata))) for the reward.
    function commitFraud(bytes32 commitment) external;

    /// @notice One-step proof that op `op.index` of a batch is invalid or its post-step commitment wrong.
    ///         `prev` is ignored when op.index == 0 (the start state comes from the header).
    function proveFraud(
        BatchRecord calldata batch,
        RecordOpening calldata op,
        CommitmentOpening calldata prev,
        StepState calldata pre,
        AccountWitness[] calldata accounts,
        bytes32[] calldata withdrawalSiblings
    ) external;

    /// @notice Proof that the last record's commitment (or the start state of an empty batch)
    ///         differs from the header's final state.
    function proveFinalFraud(BatchRecord calldata batch, CommitmentOpening calldata last) external;

    /// @notice Proof that field element `element` (0..3) of record `index` (< opCount) of a blob-mode
    ///         batch does not start with a zero byte, so the record cannot be read (zig/SPEC.md: every
    ///         element of a record is 0x00 || 31 record bytes). `proof` = abi.encode(bytes32[]
    ///         versionedHashes, bytes commitment48, bytes kzgProof48) opening the element to `y`.
    function proveMalformedElement(
        BatchRecord calldata batch,
        uint32 index,
        uint8 element,
        bytes32 y,
        bytes calldata proof
    ) external;

    /// @notice Proof that op `op.index` creates an account for an address the pre-state already holds.
    function proveDuplicateAccount(
        BatchRecord calldata batch,
        RecordOpening calldata op,
        CommitmentOpening calldata prev,
        StepState calldata pre,
        AccountWitness calldata existing
    ) external;

    /// @notice Last batch number of the canonical chain.
    function tip() external view returns (uint64);

    /// @notice Stored record hash of batch `number` (zero if none or above the tip).
    /// @dev GhostPlaneRollup keeps ONE slot per batch: the high 27 bytes of the record hash
    ///      with the batch's finalisation time (uint40) in the low 5 bytes; compare
    ///      `batchHash(n) >> 40` with `recordHash >> 40`, or call `isFinal`.
    function batchHash(uint64 number) external view returns (bytes32);

    /// @notice True when `number` <= tip, its record hashes to `recordHash` and its window has passed.
    function isFinal(uint64 number, bytes32 recordHash) external view returns (bool);
}
