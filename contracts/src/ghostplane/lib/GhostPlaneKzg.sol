// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title GhostPlaneKzg
/// @notice Opens op-record bytes from EIP-4844 blobs with the point-evaluation precompile (0x0a),
///         as zig/SPEC.md "Data availability" lays them out: record `j` fills elements
///         5*(j % 819) .. +4 of blob j / 819; element `e` = 0x00 || 31 record bytes, evaluated at
///         z = ω^bitrev12(e).
library GhostPlaneKzg {
    /// @notice The BLS12-381 scalar field modulus r (EIP-4844 BLS_MODULUS).
    uint256 internal constant BLS_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    /// @notice ω = 7^((r - 1) / 4096) mod r, the primitive 4096th root of unity of EIP-4844
    ///         (checked against the modexp precompile in the tests).
    uint256 internal constant ROOT_OF_UNITY = 0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306;
    uint256 internal constant RECORDS_PER_BLOB = 819;
    uint256 internal constant FIELD_ELEMENTS_PER_BLOB = 4096;
    address internal constant POINT_EVALUATION = address(0x0a);
    /// @notice The precompile's fixed price: a failed opening burns no more than this.
    uint256 internal constant POINT_EVALUATION_GAS = 50_000;

    /// @notice A proof did not open the claimed element of the blob.
    error KzgOpeningFailed(bytes32 versionedHash, uint256 element);
    /// @notice A KZG commitment or proof that is not 48 bytes.
    error BadKzgLength(uint256 length);

    /// @notice The 12-bit bit reversal of `e` (EIP-4844 evaluation order).
    function bitReverse12(uint256 e) internal pure returns (uint256 r) {
        for (uint256 i = 0; i < 12; ++i) {
            r = (r << 1) | ((e >> i) & 1);
        }
    }

    /// @notice The evaluation point of blob element `e`: ω^bitrev12(e) mod r.
    function evaluationPoint(uint256 e) internal pure returns (uint256 z) {
        uint256 k = bitReverse12(e);
        uint256 base = ROOT_OF_UNITY;
        z = 1;
        while (k != 0) {
            if (k & 1 == 1) z = mulmod(z, base, BLS_MODULUS);
            base = mulmod(base, base, BLS_MODULUS);
            k >>= 1;
        }
    }

    /// @notice Reverts unless `y` is element `e` of the blob `versionedHash` commits to.
    function verifyElement(bytes32 versionedHash, uint256 e, uint256 y, bytes memory commitment, bytes memory proof)
        internal
        view
    {
        if (commitment.length != 48) revert BadKzgLength(commitment.length);
        if (proof.length != 48) revert BadKzgLength(proof.length);
        bytes memory input = abi.encodePacked(versionedHash, evaluationPoint(e), y, commitment, proof);
        (bool ok, bytes memory ret) = POINT_EVALUATION.staticcall{gas: POINT_EVALUATION_GAS}(input);
        if (!ok || ret.length != 64 || uint256(bytes32(ret)) != FIELD_ELEMENTS_PER_BLOB) {
            revert KzgOpeningFailed(versionedHash, e);
        }
    }

    /// @notice The first blob element of record `index` (within its blob).
    function firstElement(uint256 index) internal pure returns (uint256) {
        return 5 * (index % RECORDS_PER_BLOB);
    }
}
