// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title GhostPlaneKzg
/// @notice Opens op-record bytes from EIP-4844 blobs with the point-evaluation precompile (0x0a),
///         as zig/SPEC.md "Data availability" lays them out (records v3): record `j` fills elements
///         4*(j % 1024) .. +3 of blob j / 1024; element `e` = 0x00 || 31 record bytes, evaluated at
///         z = ω^bitrev12(e).
library GhostPlaneKzg {
    /// @notice The BLS12-381 scalar field modulus r (EIP-4844 BLS_MODULUS).
    uint256 internal constant BLS_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    /// @notice ω = 7^((r - 1) / 4096) mod r, the primitive 4096th root of unity of EIP-4844
    ///         (checked against the modexp precompile in the tests).
    uint256 internal constant ROOT_OF_UNITY = 0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306;
    /// @notice W_k = ω^(2^k) mod r for k = 1..11 (W_0 = ROOT_OF_UNITY, W_11 = r - 1).
    uint256 internal constant W1 = 0x6d031f1b5c49c83409f1ca610a08f16655ea6811be9c622d4a838b5d59cd79e5;
    uint256 internal constant W2 = 0x325db5c3debf77a18f4de02c0f776af3ea437f9626fc085e3c28d666a5c2d854;
    uint256 internal constant W3 = 0x095166525526a65439feec240d80689fd697168a3a6000fe4541b8ff2ee0434e;
    uint256 internal constant W4 = 0x4f9b4098e2e9f12e6b368121ac0cf4ad0a0865a899e8deff4935bd2f817f694b;
    uint256 internal constant W5 = 0x6898111413588742b7c68b4d7fdd60d098d0caac87f5713c5130c2c1660125be;
    uint256 internal constant W6 = 0x45af6345ec055e4d14a1e27164d8fdbd2d967f4be2f951558140d032f0a9ee53;
    uint256 internal constant W7 = 0x50e0903a157988bab4bcd40e22f55448bf6e88fb4c38fb8a360c60997369df4e;
    uint256 internal constant W8 = 0x20b1ce9140267af9dd1c0af834cec32c17beb312f20b6f7653ea61d87742bcce;
    uint256 internal constant W9 = 0x345766f603fa66e78c0625cd70d77ce2b38b21c28713b7007228fd3397743f7a;
    uint256 internal constant W10 = 0x0000000000000000008d51ccce760304d0ec030002760300000001000000000000;
    uint256 internal constant W11 = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000;
    uint256 internal constant RECORDS_PER_BLOB = 1024;
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
    /// @dev Bit i of `e` is bit 11 - i of bitrev12(e), so z is the product of ω^(2^(11-i)) over the
    ///      set bits i of `e` (the constants W_k = ω^(2^k) are checked against modexp in the tests):
    ///      at most 12 mulmods, no squarings and no bit-reversal loop.
    function evaluationPoint(uint256 e) internal pure returns (uint256 z) {
        uint256 r = BLS_MODULUS;
        z = 1;
        if (e & 0x001 != 0) z = W11; // bit 0 -> ω^2048 = r - 1
        if (e & 0x002 != 0) z = mulmod(z, W10, r);
        if (e & 0x004 != 0) z = mulmod(z, W9, r);
        if (e & 0x008 != 0) z = mulmod(z, W8, r);
        if (e & 0x010 != 0) z = mulmod(z, W7, r);
        if (e & 0x020 != 0) z = mulmod(z, W6, r);
        if (e & 0x040 != 0) z = mulmod(z, W5, r);
        if (e & 0x080 != 0) z = mulmod(z, W4, r);
        if (e & 0x100 != 0) z = mulmod(z, W3, r);
        if (e & 0x200 != 0) z = mulmod(z, W2, r);
        if (e & 0x400 != 0) z = mulmod(z, W1, r);
        if (e & 0x800 != 0) z = mulmod(z, ROOT_OF_UNITY, r);
    }

    /// @notice Reverts unless `y` is element `e` of the blob `versionedHash` commits to.
    /// @dev Builds the 192-byte precompile input (versionedHash || z || y || commitment || proof)
    ///      in free memory without allocating it, and reads the 64-byte result into the same place
    ///      (the precompile returns FIELD_ELEMENTS_PER_BLOB || BLS_MODULUS on success).
    function verifyElement(bytes32 versionedHash, uint256 e, uint256 y, bytes calldata commitment, bytes calldata proof)
        internal
        view
    {
        if (commitment.length != 48) revert BadKzgLength(commitment.length);
        if (proof.length != 48) revert BadKzgLength(proof.length);
        uint256 z = evaluationPoint(e);
        bool ok;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, versionedHash)
            mstore(add(p, 0x20), z)
            mstore(add(p, 0x40), y)
            calldatacopy(add(p, 0x60), commitment.offset, 48)
            calldatacopy(add(p, 0x90), proof.offset, 48)
            ok := staticcall(POINT_EVALUATION_GAS, 0x0a, p, 192, p, 0x40) // 0x0a: POINT_EVALUATION
            ok := and(ok, and(eq(returndatasize(), 0x40), eq(mload(p), FIELD_ELEMENTS_PER_BLOB)))
        }
        if (!ok) revert KzgOpeningFailed(versionedHash, e);
    }

    /// @notice The first blob element of record `index` (within its blob).
    function firstElement(uint256 index) internal pure returns (uint256) {
        return 4 * (index % RECORDS_PER_BLOB);
    }
}
