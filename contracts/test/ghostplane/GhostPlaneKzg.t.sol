// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "./GhostPlaneBase.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup} from "../../src/ghostplane/IGhostPlane.sol";
import {GhostPlaneKzg} from "../../src/ghostplane/lib/GhostPlaneKzg.sol";

/// @dev Exposes the library's reverting check to `expectRevert`.
contract KzgHarness {
    function verify(bytes32 vh, uint256 e, uint256 y, bytes calldata c, bytes calldata p) external view {
        GhostPlaneKzg.verifyElement(vh, e, y, c, p);
    }
}

/// @notice The blob path without external fixtures: EIP-4844 constants, bit reversal, and real
///         point-evaluation openings of a constant blob (every element 1: its KZG commitment is
///         the G1 generator and every opening proof is the point at infinity), used for blob-mode
///         submission (vm.blobhashes) and blob-mode fraud proofs.
contract GhostPlaneKzgTest is GhostPlaneBase {
    /// @dev EIP-4844 / c-kzg ROOT_OF_UNITY for 4096 elements (decimal, as published).
    uint256 internal constant KNOWN_OMEGA =
        39033254847818212395286706435128746857159659164139250548781411570340225835782;

    KzgHarness internal harness;

    function setUp() public {
        _deploy(24);
        harness = new KzgHarness();
        vm.warp(1_000_000);
    }

    function _modexp(uint256 b, uint256 e, uint256 m) internal view returns (uint256 r) {
        (bool ok, bytes memory out) =
            address(5).staticcall(abi.encodePacked(uint256(32), uint256(32), uint256(32), b, e, m));
        require(ok, "modexp");
        r = abi.decode(out, (uint256));
    }

    function test_rootOfUnity_matchesEip4844() public view {
        uint256 r = GhostPlaneKzg.BLS_MODULUS;
        uint256 omega = _modexp(7, (r - 1) / 4096, r);
        vm.assertEq(omega, GhostPlaneKzg.ROOT_OF_UNITY);
        vm.assertEq(omega, KNOWN_OMEGA);
        vm.assertEq(_modexp(omega, 4096, r), 1);
        vm.assertEq(_modexp(omega, 2048, r), r - 1); // primitive
    }

    function test_bitReverse12_knownValues() public pure {
        vm.assertEq(GhostPlaneKzg.bitReverse12(0), 0);
        vm.assertEq(GhostPlaneKzg.bitReverse12(1), 2048);
        vm.assertEq(GhostPlaneKzg.bitReverse12(2), 1024);
        vm.assertEq(GhostPlaneKzg.bitReverse12(5), 2560);
        vm.assertEq(GhostPlaneKzg.bitReverse12(4095), 4095);
        vm.assertEq(GhostPlaneKzg.bitReverse12(2048), 1);
    }

    function testFuzz_evaluationPoint_matchesModexp(uint256 e) public view {
        e = bound(e, 0, 4095);
        uint256 r = GhostPlaneKzg.BLS_MODULUS;
        vm.assertEq(
            GhostPlaneKzg.evaluationPoint(e), _modexp(GhostPlaneKzg.ROOT_OF_UNITY, GhostPlaneKzg.bitReverse12(e), r)
        );
        vm.assertEq(GhostPlaneKzg.bitReverse12(GhostPlaneKzg.bitReverse12(e)), e);
    }

    /// @dev The per-bit constants evaluationPoint multiplies: W_k = ω^(2^k) mod r.
    function test_rootPowers_matchModexp() public view {
        uint256 r = GhostPlaneKzg.BLS_MODULUS;
        uint256[12] memory w = [
            GhostPlaneKzg.ROOT_OF_UNITY,
            GhostPlaneKzg.W1,
            GhostPlaneKzg.W2,
            GhostPlaneKzg.W3,
            GhostPlaneKzg.W4,
            GhostPlaneKzg.W5,
            GhostPlaneKzg.W6,
            GhostPlaneKzg.W7,
            GhostPlaneKzg.W8,
            GhostPlaneKzg.W9,
            GhostPlaneKzg.W10,
            GhostPlaneKzg.W11
        ];
        for (uint256 k = 0; k < 12; ++k) {
            vm.assertEq(w[k], _modexp(GhostPlaneKzg.ROOT_OF_UNITY, 1 << k, r));
        }
        vm.assertEq(GhostPlaneKzg.W11, r - 1);
    }

    function test_evaluationPoint_firstElements() public pure {
        vm.assertEq(GhostPlaneKzg.evaluationPoint(0), 1);
        vm.assertEq(GhostPlaneKzg.evaluationPoint(1), GhostPlaneKzg.BLS_MODULUS - 1);
    }

    function test_pointEvaluation_constantBlob() public {
        bytes32 vh = _versionedHash(G1);
        harness.verify(vh, 0, 1, G1, INF);
        harness.verify(vh, 4094, 1, G1, INF);
        vm.expectPartialRevert(GhostPlaneKzg.KzgOpeningFailed.selector);
        harness.verify(vh, 3, 2, G1, INF);
        vm.expectPartialRevert(GhostPlaneKzg.KzgOpeningFailed.selector);
        harness.verify(bytes32(uint256(vh) ^ 1), 3, 1, G1, INF);
        vm.expectPartialRevert(GhostPlaneKzg.BadKzgLength.selector);
        harness.verify(vh, 3, 1, G1, hex"00");
    }

    function test_blobMode_proveFraud_unknownKind() public {
        (BatchRecord memory b, bytes32[] memory hashes) = _submitOnesBatch(1);
        StepState memory pre = _startOf(b.header);
        CommitmentOpening memory none;
        bytes memory data = abi.encodeCall(
            IGhostPlaneRollup.proveFraud, (b, _blobOpening(hashes, 0), none, pre, _accountsOf(0), new bytes32[](0))
        );
        (bool ok, bytes memory ret) = address(rollup).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    function test_blobMode_proveFinalFraud_secondBlob() public {
        // 1,025 records: two blobs; the last record is record 0 of blob 1.
        (BatchRecord memory b, bytes32[] memory hashes) = _submitOnesBatch(1025);
        vm.assertEq(hashes.length, 2);
        bytes31 c = bytes31(uint248(1));
        CommitmentOpening memory last = CommitmentOpening(1024, c, abi.encode(hashes, G1, INF));
        (bool ok, bytes memory ret) = address(rollup).call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, last)));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    /// @dev Record j of a blob fills elements 4*(j % 1024) .. +3 of blob j / 1024.
    function test_firstElement_layoutV3() public pure {
        vm.assertEq(GhostPlaneKzg.firstElement(0), 0);
        vm.assertEq(GhostPlaneKzg.firstElement(1), 4);
        vm.assertEq(GhostPlaneKzg.firstElement(1023), 4092);
        vm.assertEq(GhostPlaneKzg.firstElement(1024), 0);
        vm.assertEq(GhostPlaneKzg.firstElement(1025), 4);
    }

    function test_blobMode_wrongElement_reverts() public {
        (BatchRecord memory b, bytes32[] memory hashes) = _submitOnesBatch(2);
        RecordOpening memory o = _blobOpening(hashes, 0);
        o.record[30] = 0x02;
        StepState memory pre = _startOf(b.header);
        CommitmentOpening memory none;
        vm.expectPartialRevert(GhostPlaneKzg.KzgOpeningFailed.selector);
        rollup.proveFraud(b, o, none, pre, _accountsOf(0), new bytes32[](0));
        // The fourth element (record bytes 93..123, the commitment) is opened too.
        o = _blobOpening(hashes, 0);
        o.record[123] = 0x02;
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneKzg.KzgOpeningFailed.selector, hashes[0], uint256(3)));
        rollup.proveFraud(b, o, none, pre, _accountsOf(0), new bytes32[](0));
        // Four proofs, not five (v2) or three.
        o = _blobOpening(hashes, 0);
        bytes[] memory five = new bytes[](5);
        for (uint256 j = 0; j < 5; ++j) {
            five[j] = INF;
        }
        o.proof = abi.encode(hashes, G1, five);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.BadRecordOpening.selector, 0));
        rollup.proveFraud(b, o, none, pre, _accountsOf(0), new bytes32[](0));
        // A prev opening whose preimage is not given is refused, not fraud.
        o = _blobOpening(hashes, 1);
        CommitmentOpening memory prev = CommitmentOpening(0, bytes31(uint248(1)), abi.encode(hashes, G1, INF));
        vm.expectRevert(GhostPlaneRollup.PreStateMismatch.selector);
        rollup.proveFraud(b, o, prev, pre, _accountsOf(0), new bytes32[](0));
        // Versioned hashes other than the batch's are refused.
        hashes[0] = bytes32(uint256(hashes[0]) ^ 1);
        vm.expectPartialRevert(GhostPlaneRollup.BadRecordOpening.selector);
        rollup.proveFraud(b, _blobOpening(hashes, 0), none, pre, _accountsOf(0), new bytes32[](0));
    }
}
