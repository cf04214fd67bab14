// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "./GhostPlaneBase.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {GhostPlanePortal} from "../../src/ghostplane/GhostPlanePortal.sol";
import {GhostPlaneKzg} from "../../src/ghostplane/lib/GhostPlaneKzg.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";
import {GhostPlaneMerkle} from "../../src/ghostplane/lib/GhostPlaneMerkle.sol";

/// @notice A blob element that does not start with a zero byte (any value below the BLS modulus is
///         a valid element) can never match a record or commitment opening, so before
///         `proveMalformedElement` a proposer could hide a lie behind it and drain the portal
///         (found in review). The blob here is the constant r - 1: its commitment is -G1 and every
///         opening proof is the point at infinity, so the precompile really opens it.
contract GhostPlaneMalformedBlobTest is GhostPlaneBase {
    /// @dev -G1 compressed: the commitment of the constant polynomial r - 1.
    bytes internal constant NEG_G1 =
        hex"b7f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb";
    address internal victim = address(0xBEEF);

    function setUp() public {
        _deploy(8);
        vm.warp(1_000_000);
    }

    /// A batch of one unreadable record whose final state pays the portal's funds to the proposer.
    function _lyingBatch(uint128 stolen, bytes memory commitment)
        internal
        returns (BatchRecord memory b, bytes32[] memory hashes)
    {
        hashes = new bytes32[](1);
        hashes[0] = _versionedHash(commitment);
        vm.blobhashes(hashes);
        bytes32 wroot = GhostPlaneHashes.withdrawalLeaf(1, 0, proposer, proposer, 0, stolen);
        for (uint256 i = 0; i < 16; ++i) {
            wroot = keccak256(abi.encodePacked(wroot, GhostPlaneMerkle.zeroRoot(i)));
        }
        BatchHeader memory h = BatchHeader({
            number: 1,
            prevStateRoot: startRoot,
            prevAccountCount: 1,
            prevDepositCursor: 0,
            stateRoot: startRoot,
            accountCount: 1,
            depositCursor: 1,
            withdrawalsRoot: wroot,
            withdrawalCount: 1,
            opCount: 1,
            dataMode: 1,
            dataCommitment: keccak256(abi.encodePacked(hashes))
        });
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        b = BatchRecord(h, uint64(block.timestamp), proposer);
    }

    function test_malformedElement_isFraud_andThePortalKeepsTheDeposit() public {
        uint128 amount = 1_000e18;
        _l1Deposit(victim, victim, 0, amount);
        (BatchRecord memory b, bytes32[] memory hashes) = _lyingBatch(amount, NEG_G1);
        bytes32 y = bytes32(GhostPlaneKzg.BLS_MODULUS - 1);

        // A wrong y, or an element of a record past opCount, or another element index: refused.
        vm.expectPartialRevert(GhostPlaneKzg.KzgOpeningFailed.selector);
        rollup.proveMalformedElement(b, 0, 2, bytes32(uint256(y) - 1), abi.encode(hashes, NEG_G1, INF));
        vm.expectPartialRevert(GhostPlaneRollup.OpIndexOutOfRange.selector);
        rollup.proveMalformedElement(b, 1, 2, y, abi.encode(hashes, NEG_G1, INF));
        // Four elements a record (v3): element 4 is the next record's.
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.BadRecordOpening.selector, 0));
        rollup.proveMalformedElement(b, 0, 4, y, abi.encode(hashes, NEG_G1, INF));

        rollup.proveMalformedElement(b, 0, 2, y, abi.encode(hashes, NEG_G1, INF));
        vm.assertEq(rollup.tip(), 0, "batch cut");
        (uint256 bond,,) = rollup.proposerInfo(proposer);
        vm.assertEq(bond, 0, "proposer slashed");

        // The window passes: the lying batch is not final, its withdrawal is never paid.
        vm.warp(block.timestamp + WINDOW);
        bytes32[16] memory sib;
        for (uint256 i = 0; i < 16; ++i) {
            sib[i] = GhostPlaneMerkle.zeroRoot(i);
        }
        vm.expectRevert();
        portal.finalizeWithdrawal(
            Withdrawal(1, 0, proposer, proposer, 0, amount),
            sib,
            keccak256(abi.encode(b.header)),
            b.header.withdrawalsRoot,
            b.submittedAt,
            proposer
        );
        vm.assertEq(gcc.balanceOf(address(portal)), amount);
    }

    function test_wellFormedElement_isNoFraud() public {
        // The constant blob 1 (commitment G1): every element is 0x00..01, as SPEC lays them out.
        _l1Deposit(victim, victim, 0, 1e18);
        (BatchRecord memory b, bytes32[] memory hashes) = _lyingBatch(0, G1);
        vm.expectRevert(GhostPlaneRollup.NoFraud.selector);
        rollup.proveMalformedElement(b, 0, 3, bytes32(uint256(1)), abi.encode(hashes, G1, INF));
        vm.assertEq(rollup.tip(), 1);
    }

    /// @dev The fourth element of a record (0x00 || c_i) is checked as the others are.
    function test_malformedFourthElement_isFraud() public {
        _l1Deposit(victim, victim, 0, 1e18);
        (BatchRecord memory b, bytes32[] memory hashes) = _lyingBatch(1e18, NEG_G1);
        bytes32 y = bytes32(GhostPlaneKzg.BLS_MODULUS - 1);
        rollup.proveMalformedElement(b, 0, 3, y, abi.encode(hashes, NEG_G1, INF));
        vm.assertEq(rollup.tip(), 0, "batch cut");
    }
}
