// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "./GhostPlaneBase.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup} from "../../src/ghostplane/IGhostPlane.sol";
import {GhostPlaneExec} from "../../src/ghostplane/lib/GhostPlaneExec.sol";
import {GhostPlaneMerkle} from "../../src/ghostplane/lib/GhostPlaneMerkle.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";

/// @notice GhostPlaneRollup: submission rules, bonds, and every fraud rule of zig/SPEC.md "Fraud"
///         on batches built by the Solidity L2 model (D = 24 unless said otherwise).
contract GhostPlaneRollupTest is GhostPlaneBase {
    uint256 internal constant ALICE_PK = 0xA11CE;
    uint256 internal constant BOB_PK = 0xB0B;
    address internal alice;
    address internal bob;
    address internal prover = address(0x7007);

    function setUp() public {
        _deploy(24);
        alice = vm.addr(ALICE_PK);
        bob = vm.addr(BOB_PK);
        vm.warp(1_000_000);
    }

    // ------------------------------------------------------------ helpers

    /// @dev L1 deposit of 10 GCC to alice consumed as op 0 (alice at slot 1).
    function _fundAlice() internal returns (Prepared memory p) {
        uint64 index = _l1Deposit(l1User, alice, 0, 10 ether);
        p = _opDeposit(index, l1User, alice, 0, 10 ether);
        _push(p.record);
    }

    /// @dev `_fundAlice`, then bob registered as op 1 (slot 2): a transfer to bob is op 2.
    function _fundAliceAndBob() internal returns (Prepared memory p) {
        p = _fundAlice();
        _pushRegister(bob);
    }

    function _call(bytes memory data) internal returns (bool ok, bytes memory ret) {
        (ok, ret) = address(rollup).call(data);
    }

    function _expectFraud(bytes memory data, uint64 number) internal {
        uint256 tipBefore = rollup.tip();
        (bool ok, bytes memory ret) = _call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        vm.assertEq(uint256(rollup.tip()), uint256(number) - 1, "tip not cut");
        vm.assertLt(uint256(rollup.tip()), tipBefore);
        (uint256 bondLeft,,) = rollup.proposerInfo(proposer);
        vm.assertEq(bondLeft, 0, "bond not slashed");
    }

    function _expectNoFraud(bytes memory data) internal {
        uint256 tipBefore = rollup.tip();
        (bool ok, bytes memory ret) = _call(data);
        vm.assertFalse(ok, "honest op proven fraudulent");
        vm.assertEq(bytes4(ret), GhostPlaneRollup.NoFraud.selector, "expected NoFraud");
        vm.assertEq(uint256(rollup.tip()), tipBefore);
    }

    function _setByte(bytes memory b, uint256 i, uint8 v) internal pure {
        b[i] = bytes1(v);
    }

    // ------------------------------------------------------------ genesis and submission

    function test_genesis_matchesModel() public view {
        vm.assertEq(rollup.genesisStateRoot(), _stateRoot());
        vm.assertEq(rollup.tipState(), keccak256(abi.encode(_stateRoot(), uint64(1), uint64(0))));
        vm.assertEq(rollup.emptyWithdrawalsRoot(), GhostPlaneMerkle.zeroRoot(16));
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    function test_submitBatch_calldata_storesOneRecordHash_andFinalizes() public {
        _fundAliceAndBob();
        _push(_opTransfer(ALICE_PK, bob, 0, 1 ether).record);
        _pushRegister(address(0xCAFE));
        (Prepared memory wp,) = _opWithdraw(ALICE_PK, address(0xCAFE), 0, 1 ether);
        _push(wp.record);
        (BatchRecord memory b,) = _submit();
        vm.assertEq(uint256(rollup.tip()), 1);
        bytes32 rh = _recordHash(b);
        bytes32 stored = rollup.batchHash(1);
        vm.assertEq(uint256(stored) >> 40, uint256(rh) >> 40);
        vm.assertEq(uint256(uint40(uint256(stored))), block.timestamp + WINDOW);
        vm.assertFalse(rollup.isFinal(1, rh));
        vm.warp(block.timestamp + WINDOW);
        vm.assertTrue(rollup.isFinal(1, rh));
        vm.assertFalse(rollup.isFinal(1, bytes32(uint256(rh) ^ (1 << 200))));
        vm.assertFalse(rollup.isFinal(2, rh));
        vm.assertFalse(rollup.isFinal(0, rh));
    }

    function test_submitBatch_empty_bothModes() public {
        _submit();
        vm.assertEq(uint256(rollup.tip()), 1);
        BatchHeader memory h = _header(1, keccak256(""));
        _submitHeader(h);
        vm.assertEq(uint256(rollup.tip()), 2);
    }

    function test_submitBatch_blobMode_readsBlobhashes() public {
        _fundAlice();
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = bytes32(uint256(0x01) << 248 | 0x1234);
        vm.blobhashes(hashes);
        BatchHeader memory h = _header(1, keccak256(abi.encodePacked(hashes)));
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 1);
    }

    function test_submitBatch_blobMode_countMustMatch() public {
        _fundAlice();
        bytes32[] memory two = new bytes32[](2);
        two[0] = bytes32(uint256(1) << 248 | 1);
        two[1] = bytes32(uint256(1) << 248 | 2);
        vm.blobhashes(two);
        BatchHeader memory h = _header(1, keccak256(abi.encodePacked(two[0])));
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ExtraBlob.selector, 1));
        rollup.submitBatch(h, "");
        bytes32[] memory none = new bytes32[](0);
        vm.blobhashes(none);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.MissingBlob.selector, 0));
        rollup.submitBatch(h, "");
        vm.blobhashes(two);
        h.dataCommitment = keccak256(abi.encodePacked(two[0]));
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.BadRecordsLength.selector, 1, 0));
        rollup.submitBatch(h, hex"00");
    }

    function test_submitBatch_notBonded_reverts() public {
        BatchHeader memory h = _calldataHeader();
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NotBonded.selector, address(0xBAD), 0, BOND));
        rollup.submitBatch(h, "");
    }

    function test_submitBatch_wrongNumber_reverts() public {
        BatchHeader memory h = _calldataHeader();
        h.number = 2;
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.WrongBatchNumber.selector, 2, 1));
        rollup.submitBatch(h, "");
    }

    function test_submitBatch_prevStateMismatch_reverts() public {
        BatchHeader memory h = _calldataHeader();
        h.prevAccountCount = 2;
        h.accountCount = 2;
        vm.prank(proposer);
        vm.expectPartialRevert(GhostPlaneRollup.PrevStateMismatch.selector);
        rollup.submitBatch(h, "");
    }

    function test_submitBatch_dirtyNarrowHeaderField_reverts() public {
        // submitBatch hashes the header's calldata in place: a narrow member with bits above its
        // type (which abi.encode would never produce, so no fraud proof could name the batch)
        // must be refused, as abi decoding refuses it, for every such member.
        _fundAlice();
        BatchHeader memory h = _calldataHeader();
        bytes memory records = mRecords;
        bytes memory data = abi.encodeCall(IGhostPlaneRollup.submitBatch, (h, records));
        uint8[8] memory narrow = [0, 2, 3, 5, 6, 8, 9, 10]; // number .. dataMode
        for (uint256 k = 0; k < narrow.length; ++k) {
            bytes memory dirty = bytes.concat(data);
            dirty[4 + 32 * uint256(narrow[k])] = 0x01; // the word's top byte
            vm.prank(proposer);
            (bool ok, bytes memory ret) = _call(dirty);
            vm.assertFalse(ok, "dirty header accepted");
            vm.assertEq(ret.length, 0);
        }
        vm.prank(proposer);
        (bool ok2,) = _call(data);
        vm.assertTrue(ok2);
        // The stored record commits to keccak256(abi.encode(header)).
        bytes32 rh = _recordHash(BatchRecord(h, uint64(block.timestamp), proposer));
        vm.assertEq(uint256(rollup.batchHash(1)) >> 40, uint256(rh) >> 40);
    }

    function test_submitBatch_depositCursor_rules() public {
        _l1Deposit(l1User, alice, 0, 1 ether);
        BatchHeader memory h = _calldataHeader();
        h.depositCursor = 2;
        h.dataCommitment = bytes32(0);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.DepositCursorAhead.selector, 2, 1));
        rollup.submitBatch(h, "");
        // Backwards: a first batch consuming the deposit, then one going back.
        _push(_opDeposit(0, l1User, alice, 0, 1 ether).record);
        _submit();
        h = _calldataHeader();
        h.depositCursor = 0;
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.DepositCursorBackwards.selector, 0, 1));
        rollup.submitBatch(h, "");
    }

    function test_submitBatch_forcedInclusion() public {
        uint64 t0 = uint64(block.timestamp);
        _l1Deposit(l1User, alice, 0, 1 ether);
        vm.warp(t0 + FORCE_DELAY);
        BatchHeader memory h = _calldataHeader(); // skips the deposit: allowed while not older than the delay
        uint256 snap = vm.snapshotState();
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.revertToState(snap);
        vm.warp(t0 + FORCE_DELAY + 1);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ForcedInclusionMissed.selector, 0, t0, FORCE_DELAY));
        rollup.submitBatch(h, "");
        // Consuming it is accepted.
        _push(_opDeposit(0, l1User, alice, 0, 1 ether).record);
        _submit();
        vm.assertEq(uint256(rollup.tip()), 1);
    }

    function test_submitBatch_emptyBatchMustKeepState() public {
        BatchHeader memory h = _calldataHeader();
        h.stateRoot = bytes32(uint256(1));
        vm.prank(proposer);
        vm.expectRevert(GhostPlaneRollup.EmptyBatchChangesState.selector);
        rollup.submitBatch(h, "");
    }

    function test_submitBatch_dataChecks() public {
        _fundAlice();
        BatchHeader memory h = _calldataHeader();
        bytes memory records = mRecords;
        h.dataMode = 2;
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.BadDataMode.selector, 2));
        rollup.submitBatch(h, records);
        h.dataMode = 0;
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.BadRecordsLength.selector, 123, 124));
        rollup.submitBatch(h, _slice(records, 0, 123));
        bytes32 good = h.dataCommitment;
        h.dataCommitment = bytes32(uint256(good) ^ 1);
        vm.prank(proposer);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.DataCommitmentMismatch.selector, good, h.dataCommitment)
        );
        rollup.submitBatch(h, records);
    }

    // ------------------------------------------------------------ bonds

    event UnbondRequested(address indexed proposer, uint256 bond, uint64 unbondableAt);
    event Unbonded(address indexed proposer, uint256 amount);

    function _unbondableAt(address who) internal view returns (uint64 at) {
        (, at,) = rollup.proposerInfo(who);
    }

    function test_bond_unbond_rules() public {
        vm.startPrank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NothingBonded.selector, address(0xBAD)));
        rollup.requestUnbond();
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NothingBonded.selector, address(0xBAD)));
        rollup.unbond();
        vm.stopPrank();
        _submit(); // batch 1 pending
        uint64 finalAt = rollup.finalizesAt(1);
        vm.assertEq(uint256(finalAt), block.timestamp + WINDOW);
        // Unbond before asking to leave.
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.UnbondNotRequested.selector, proposer));
        rollup.unbond();
        // Asking to leave: unbondableAt = the tip's finalAt.
        vm.expectEmit(address(rollup));
        emit UnbondRequested(proposer, BOND, finalAt);
        vm.prank(proposer);
        rollup.requestUnbond();
        (uint256 bonded, uint64 unbondableAt, bool isSequencer) = rollup.proposerInfo(proposer);
        vm.assertEq(bonded, BOND);
        vm.assertEq(uint256(unbondableAt), finalAt);
        vm.assertFalse(isSequencer);
        // Leaving: no second request, no top-up, no batch.
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ProposerLeaving.selector, proposer, finalAt));
        rollup.requestUnbond();
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ProposerLeaving.selector, proposer, finalAt));
        rollup.bond{value: 1}();
        BatchHeader memory h = _calldataHeader();
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ProposerLeaving.selector, proposer, finalAt));
        rollup.submitBatch(h, "");
        // Too early, up to the last second.
        vm.prank(proposer);
        vm.expectRevert(
            abi.encodeWithSelector(
                GhostPlaneRollup.BondStillAtStake.selector, proposer, finalAt, uint64(block.timestamp)
            )
        );
        rollup.unbond();
        vm.warp(finalAt - 1);
        vm.prank(proposer);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.BondStillAtStake.selector, proposer, finalAt, finalAt - 1)
        );
        rollup.unbond();
        vm.warp(finalAt);
        uint256 before = proposer.balance;
        vm.expectEmit(address(rollup));
        emit Unbonded(proposer, BOND);
        vm.prank(proposer);
        rollup.unbond();
        vm.assertEq(proposer.balance, before + BOND);
        vm.assertEq(uint256(_unbondableAt(proposer)), 0);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NothingBonded.selector, proposer));
        rollup.unbond();
        // Unbonded proposers cannot submit.
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NotBonded.selector, proposer, 0, BOND));
        rollup.submitBatch(h, "");
        // It may come back as a new proposer.
        vm.prank(proposer);
        rollup.bond{value: BOND}();
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 2);
    }

    function test_requestUnbond_allFinal_unbondsAtOnce() public {
        // No batch yet (the tip's finalAt is 0): unbondableAt is now, never 0.
        vm.prank(proposer);
        rollup.requestUnbond();
        vm.assertEq(uint256(_unbondableAt(proposer)), block.timestamp);
        vm.prank(proposer);
        rollup.unbond();
        // Batch 1 final already: unbondableAt is now, not its (past) finalAt.
        vm.prank(proposer);
        rollup.bond{value: BOND}();
        _submit();
        vm.warp(block.timestamp + WINDOW + 5);
        vm.prank(proposer);
        rollup.requestUnbond();
        vm.assertEq(uint256(_unbondableAt(proposer)), block.timestamp);
        vm.prank(proposer);
        rollup.unbond();
    }

    function test_requestUnbond_waitsForTheTipNotOnlyOwnBatches() public {
        // proposer's batch 1, then other's batches 2 and 3: proposer waits for the tip (batch 3):
        // finalAt is monotone, so that bounds every batch of proposer's (its own is final earlier).
        address other = address(0x0743);
        vm.deal(other, BOND);
        vm.prank(other);
        rollup.bond{value: BOND}();
        _submit();
        vm.warp(block.timestamp + 100);
        for (uint256 k = 0; k < 2; ++k) {
            BatchHeader memory h = _calldataHeader();
            vm.prank(other);
            rollup.submitBatch(h, "");
            _nextBatch();
        }
        vm.prank(proposer);
        rollup.requestUnbond();
        vm.assertEq(uint256(_unbondableAt(proposer)), rollup.finalizesAt(3));
        vm.assertGt(uint256(rollup.finalizesAt(3)), rollup.finalizesAt(1));
        vm.warp(rollup.finalizesAt(1));
        vm.prank(proposer);
        vm.expectPartialRevert(GhostPlaneRollup.BondStillAtStake.selector);
        rollup.unbond();
        vm.warp(rollup.finalizesAt(3));
        vm.prank(proposer);
        rollup.unbond();
    }

    function test_unbond_afterOwnBatchWasCut() public {
        // Another proposer's batch 1 is fraudulent; proposer's batch 2 is cut with it (not slashed).
        address other = address(0x0743);
        vm.deal(other, BOND);
        vm.prank(other);
        rollup.bond{value: BOND}();
        Prepared memory p = _fundAlice();
        bytes memory bad = p.record;
        _setByte(bad, 120, uint8(bad[120]) ^ 1); // inside c_0
        delete mRecords;
        mOps = 0;
        _push(bad);
        BatchHeader memory h1 = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h1, mRecords);
        BatchRecord memory b1 = BatchRecord(h1, uint64(block.timestamp), other);
        bytes memory records1 = mRecords;
        _nextBatch();
        vm.warp(block.timestamp + 10);
        _submit();
        uint64 finalAt2 = rollup.finalizesAt(2);
        vm.prank(proposer);
        rollup.requestUnbond();
        vm.assertEq(uint256(_unbondableAt(proposer)), finalAt2);
        (bool ok,) = _call(_fraudCall(b1, records1, 0, p));
        vm.assertTrue(ok);
        vm.assertEq(uint256(rollup.tip()), 0);
        // Its batch was cut, not slashed: it still waits for unbondableAt, then leaves whole.
        vm.prank(proposer);
        vm.expectPartialRevert(GhostPlaneRollup.BondStillAtStake.selector);
        rollup.unbond();
        vm.warp(finalAt2);
        uint256 before = proposer.balance;
        vm.prank(proposer);
        rollup.unbond();
        vm.assertEq(proposer.balance, before + BOND);
        (uint256 otherBond, uint64 otherUnbondableAt,) = rollup.proposerInfo(other);
        vm.assertEq(otherBond, 0);
        vm.assertEq(uint256(otherUnbondableAt), 0);
    }

    function test_requestUnbond_afterACut_stillCoversEarlierLie_slashedMeanwhile() public {
        // proposer's batch 1 lies; other's batch 2 lies too and is cut first: the tip is 1 with
        // finalAt = batch 2's (an upper bound). proposer asks to leave, is proven wrong before
        // unbondableAt and loses its bond; the slashing clears its leaving mark.
        address other = address(0x0743);
        vm.deal(other, BOND);
        vm.prank(other);
        rollup.bond{value: BOND}();
        Prepared memory p1 = _fundAlice();
        bytes memory bad1 = p1.record;
        _setByte(bad1, 123, uint8(bad1[123]) ^ 1);
        delete mRecords;
        mOps = 0;
        _push(bad1);
        (BatchRecord memory b1, bytes memory records1) = _submit();
        vm.warp(block.timestamp + 10);
        // Batch 2 (other): starts from batch 1's claimed final state, one lying op.
        Prepared memory p2 = _fundAlice();
        bytes memory bad2 = p2.record;
        _setByte(bad2, 123, uint8(bad2[123]) ^ 1);
        delete mRecords;
        mOps = 0;
        _push(bad2);
        BatchHeader memory h2 = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h2, mRecords);
        BatchRecord memory b2 = BatchRecord(h2, uint64(block.timestamp), other);
        bytes memory records2 = mRecords;
        uint64 finalAt2 = rollup.finalizesAt(2);
        (bool ok,) = _call(_fraudCall(b2, records2, 0, p2));
        vm.assertTrue(ok, "batch 2 cut");
        vm.assertEq(uint256(rollup.tip()), 1);
        vm.prank(proposer);
        rollup.requestUnbond();
        vm.assertEq(uint256(_unbondableAt(proposer)), finalAt2);
        vm.assertGt(uint256(finalAt2), rollup.finalizesAt(1));
        // Batch 1 is still contestable: the bond is at stake, and slashed.
        (ok,) = _call(_fraudCall(b1, records1, 0, p1));
        vm.assertTrue(ok, "batch 1 cut");
        (uint256 bonded, uint64 unbondableAt,) = rollup.proposerInfo(proposer);
        vm.assertEq(bonded, 0);
        vm.assertEq(uint256(unbondableAt), 0);
        vm.warp(finalAt2);
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NothingBonded.selector, proposer));
        rollup.unbond();
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.NothingBonded.selector, proposer));
        rollup.requestUnbond();
        // Not leaving any more: it may bond anew.
        vm.prank(proposer);
        rollup.bond{value: BOND}();
        vm.assertEq(rollup.slashedFunds(), 2 * BOND);
    }

    // ------------------------------------------------------------ fraud: invalid ops

    function test_fraud_forgedSignature() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 0, 1 ether);
        _setByte(p.record, 40, uint8(p.record[40]) ^ 0x55); // inside r (29..60)
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    function test_fraud_highS() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 0, 1 ether);
        // (r, n - s, v ^ 1) recovers the same key but is high-s.
        uint256 n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
        uint256 s = uint256(_slice32(p.record, 61));
        bytes memory op = _slice(p.record, 0, OP);
        op[0] = bytes1(uint8(op[0]) ^ 0x80);
        bytes memory rec = abi.encodePacked(_slice(op, 0, 61), bytes32(n - s), _slice(p.record, OP, 31));
        p.record = rec;
        _push(rec);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    function test_fraud_wrongNonce() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 0, 1 ether);
        bytes memory op = _transferOp(ALICE_PK, 1, 1, 2, bob, 0, 1 ether); // nonce 1 instead of 0
        p.record = abi.encodePacked(op, _slice(p.record, OP, 31));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev A transfer signed over `to` naming `toSlot`, against the current model state, with the
    ///      witnesses an invalid op needs (against the pre-state: an invalid op's re-execution stops
    ///      before its first witness changes): the sender and, if it is an account of the tree
    ///      other than the sender, the recipient slot. The recipient is read before the signature
    ///      is checked (its address is signed), so a forged signature needs both.
    function _rawTransfer(uint256 pk, uint256 toSlot, address to, uint8 token, uint128 value)
        internal
        view
        returns (Prepared memory p)
    {
        uint256 fromSlot = _slotOf(vm.addr(pk));
        p.pre = _step();
        bool rcpt = toSlot != fromSlot && toSlot < mAddr.length;
        p.accounts = _accountsOf(rcpt ? 2 : 1);
        p.accounts[0] = _witness(fromSlot);
        if (rcpt) p.accounts[1] = _witness(toSlot);
        p.record =
            abi.encodePacked(_transferOp(pk, mNonce[fromSlot], fromSlot, toSlot, to, token, value), _commit(_step()));
    }

    function test_fraud_overdraft() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 0, 10 ether); // + fee > balance
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev Token ids 8..15 fit the 4 token bits of byte 0 but name no token: a transfer signed
    ///      for token 9 is fraud.
    function test_fraud_unknownToken() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 9, 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev The token id (byte 0, bits 3..6) is signed: a record naming another token than the
    ///      signature's does not recover the sender.
    function test_fraud_tokenBitsNotSigned() public {
        _fundAliceAndBob();
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 0, 1);
        p.record[0] = bytes1(uint8(p.record[0]) | (3 << 3)); // token 3
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    function test_fraud_feeBalance() public {
        // Alice holds SPIRIT only: a SPIRIT transfer cannot pay the GCC fee.
        uint64 index = _l1Deposit(l1User, alice, 1, 5 ether);
        _push(_opDeposit(index, l1User, alice, 1, 5 ether).record);
        _pushRegister(bob);
        Prepared memory p = _rawTransfer(ALICE_PK, 2, bob, 1, 1 ether);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev The recipient's address is its slot's: a transfer signed to bob naming slot 0 (the
    ///      collector) does not recover the sender.
    function test_fraud_slotNamingAnotherAddress() public {
        _fundAliceAndBob();
        // Witnesses against the pre-state: sender, slot 0.
        Prepared memory p = _rawTransfer(ALICE_PK, 0, bob, 0, 1 ether);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev Transfers never create accounts: to_slot == account_count (bob unregistered) or past
    ///      it is fraud, proven without any witness.
    function test_fraud_transferToSlotAtOrPastAccountCount() public {
        uint256 snap = vm.snapshotState();
        uint256[2] memory slots = [uint256(2), 7];
        for (uint256 i = 0; i < 2; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            _fundAlice(); // account count 2
            Prepared memory p = _rawTransfer(ALICE_PK, slots[i], bob, 0, 1 ether);
            vm.assertEq(p.accounts.length, 1);
            p.accounts = _accountsOf(0);
            _push(p.record);
            (BatchRecord memory b, bytes memory records) = _submit();
            _expectFraud(_fraudCall(b, records, 1, p), 1);
        }
    }

    /// @dev An unregistered signer's transfer (from_slot == account_count) is fraud.
    function test_fraud_transferFromSlotAtAccountCount() public {
        _fundAlice(); // account count 2
        Prepared memory p;
        p.pre = _step();
        p.record = abi.encodePacked(_transferOp(BOB_PK, 0, 2, 1, alice, 0, 0), _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 1, p), 1);
    }

    function test_fraud_depositNotThePortals() public {
        uint64 index = _l1Deposit(l1User, alice, 0, 10 ether);
        Prepared memory p = _opDeposit(index, l1User, alice, 0, 11 ether); // one more than deposited
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 0, p), 1);
    }

    function test_fraud_depositSkipsCursor() public {
        _l1Deposit(l1User, alice, 0, 1 ether);
        uint64 second = _l1Deposit(l1User, bob, 0, 2 ether);
        Prepared memory p = _opDeposit(second, l1User, bob, 0, 2 ether); // index 1 while the cursor is 0
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 0, p), 1);
    }

    function test_fraud_refundOfADepositThatFit() public {
        uint64 index = _l1Deposit(l1User, alice, 0, 1 ether);
        Prepared memory p;
        p.pre = _step();
        bytes memory op = _depositOp(index, l1User, alice, 0, 1 ether, 1);
        op[0] = bytes1(uint8(4));
        p.record = abi.encodePacked(op, _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 0, p), 1);
    }

    function test_fraud_unknownKindAndNonCanonicalBytes() public {
        uint256 snap = vm.snapshotState();
        for (uint256 i = 0; i < 5; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            Prepared memory p = _fundAlice();
            bytes memory rec = p.record;
            if (i == 0) rec[0] = bytes1(uint8(6)); // unknown kind
            if (i == 1) rec[0] = bytes1(uint8(0x81)); // v set on a deposit
            if (i == 2) rec[80] = bytes1(uint8(1)); // deposit bytes 68..92 not zero
            if (i == 3) rec[92] = bytes1(uint8(1));
            if (i == 4) rec[0] = bytes1(uint8(0)); // kind 0
            p.record = rec;
            delete mRecords;
            mOps = 0;
            _push(rec);
            (BatchRecord memory b, bytes memory records) = _submit();
            _expectFraud(_fraudCall(b, records, 0, p), 1);
        }
    }

    function test_fraud_withdrawalOverdraft() public {
        _fundAlice();
        Prepared memory p;
        p.pre = _step();
        p.accounts = _accountsOf(1);
        p.accounts[0] = _witness(1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ALICE_PK, _withdrawalDigest(alice, 0, 10 ether, 0));
        // To her own address: recipient_slot == from_slot, one witness.
        bytes memory op =
            abi.encodePacked(uint8(3 | ((v - 27) << 7)), uint24(1), uint24(1), uint128(10 ether), r, s, bytes6(0));
        p.record = abi.encodePacked(op, _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 1, p), 1);
    }

    /// @dev Withdrawals never create accounts: recipient_slot == account_count or past it is fraud.
    function test_fraud_withdrawalToSlotAtOrPastAccountCount() public {
        uint256 snap = vm.snapshotState();
        uint256[2] memory slots = [uint256(2), 1 << 20];
        for (uint256 i = 0; i < 2; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            _fundAlice(); // account count 2
            Prepared memory p;
            p.pre = _step();
            Withdrawal memory w = Withdrawal(mBatch, 0, alice, address(0xCAFE), 0, 1 ether);
            p.record = abi.encodePacked(_withdrawalOp(ALICE_PK, 1, slots[i], w), _commit(_step()));
            _push(p.record);
            (BatchRecord memory b, bytes memory records) = _submit();
            _expectFraud(_fraudCall(b, records, 1, p), 1);
        }
    }

    /// @dev The withdrawal's l1_recipient is the recipient leaf's address: the honest op is no
    ///      fraud and its leaf pays that address on L1; the same signature naming another slot
    ///      (alice's own, or the collector's) is fraud.
    function test_withdrawal_l1RecipientReadFromRecipientLeaf() public {
        _fundAliceAndBob();
        uint256 snap = vm.snapshotState();
        (Prepared memory p, Withdrawal memory w) = _opWithdraw(ALICE_PK, bob, 0, 1 ether);
        vm.assertEq(p.accounts.length, 3); // sender, recipient (read only), collector
        vm.assertEq(uint256(p.accounts[1].slot), 2);
        vm.assertEq(uint256(uint8(p.record[6])), 2); // recipient_slot
        _push(p.record);
        bytes32[] memory leaves = mWLeaves;
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectNoFraud(_fraudCall(b, records, 2, p));
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(
            w,
            _withdrawalSiblings16(leaves, w.index),
            _headerHash(b.header),
            b.header.withdrawalsRoot,
            b.submittedAt,
            b.proposer
        );
        vm.assertEq(gcc.balanceOf(bob), 1 ether);

        for (uint256 slot = 0; slot < 2; ++slot) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            AccountWitness memory sender = _witness(1);
            AccountWitness memory col = _witness(0);
            (p, w) = _opWithdraw(ALICE_PK, bob, 0, 1 ether);
            p.record[6] = bytes1(uint8(slot)); // signed to bob, names slot 0 or alice's slot 1
            // Witnesses against the pre-state: the sender, and slot 0 unless it is the sender's.
            p.accounts = _accountsOf(slot == 1 ? 1 : 2);
            p.accounts[0] = sender;
            if (slot == 0) p.accounts[1] = col;
            _push(p.record);
            (b, records) = _submit();
            _expectFraud(_fraudCall(b, records, 2, p), 1);
        }
    }

    // ------------------------------------------------------------ register ops

    /// @dev A register record for `a` at `slot` with the model's post-step commitment of an honest
    ///      register (so only the op's validity is in question); witness: that slot.
    function _rawRegister(uint256 slot, address a) internal returns (Prepared memory p) {
        p = _opRegister(a);
        p.record = abi.encodePacked(_registerOp(slot, a), _slice(p.record, OP, 31));
    }

    function test_register_honest_isNoFraud() public {
        _fundAlice();
        Prepared memory p = _opRegister(bob);
        vm.assertEq(p.record.length, REC);
        vm.assertEq(uint256(p.accounts[0].slot), 2);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        vm.assertEq(uint256(b.header.accountCount), 3);
        _expectNoFraud(_fraudCall(b, records, 1, p));
    }

    function test_fraud_registerWrongSlot() public {
        uint256 snap = vm.snapshotState();
        uint256[3] memory slots = [uint256(1), 3, 1 << 23];
        for (uint256 i = 0; i < 3; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            _fundAlice(); // account count 2: bob's slot must be 2
            Prepared memory p = _rawRegister(slots[i], bob);
            p.accounts = _accountsOf(0); // refused before any witness
            _push(p.record);
            (BatchRecord memory b, bytes memory records) = _submit();
            _expectFraud(_fraudCall(b, records, 1, p), 1);
        }
    }

    /// @dev Byte 0 of a register op is exactly 5 (token bits and v zero); bytes 24..92 are zero.
    function test_fraud_registerNonCanonical() public {
        uint256 snap = vm.snapshotState();
        for (uint256 i = 0; i < 6; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            _fundAlice();
            Prepared memory p = _rawRegister(2, bob);
            bytes memory rec = p.record;
            if (i == 0) rec[0] = bytes1(uint8(0x15)); // token 1
            if (i == 1) rec[0] = bytes1(uint8(0x75)); // token 7
            if (i == 2) rec[0] = bytes1(uint8(0x85)); // v set
            if (i == 3) rec[24] = bytes1(uint8(1)); // first reserved byte
            if (i == 4) rec[60] = bytes1(uint8(0x80));
            if (i == 5) rec[92] = bytes1(uint8(1)); // last op byte
            _push(rec);
            (BatchRecord memory b, bytes memory records) = _submit();
            _expectFraud(_fraudCall(b, records, 1, p), 1);
        }
    }

    /// @dev A register op's post-step commitment is checked like any other op's.
    function test_fraud_registerWrongPostState() public {
        _fundAlice();
        Prepared memory p = _opRegister(bob);
        _setByte(p.record, 100, uint8(p.record[100]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 1, p), 1);
    }

    // ------------------------------------------------------------ fraud: wrong commitments

    function test_fraud_wrongPostState() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    /// @dev The witnesses reach the library as raw calldata: a malformed AccountWitness[]
    ///      encoding still reverts without data (as the ABI decoder does) instead of proving fraud.
    function test_fraud_malformedWitnessEncoding_reverts() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 2, p);
        // Head: BatchRecord (14 static words), op and prev offsets, StepState (5 words), then accounts.
        uint256 lengthAt = 4 + uint256(_word(data, 4 + 32 * 21));
        vm.assertEq(uint256(_word(data, lengthAt)), 3);
        // An element count past the end of the calldata.
        _setWord(data, lengthAt, bytes32(uint256(1000)));
        (bool ok, bytes memory ret) = _call(data);
        vm.assertFalse(ok);
        vm.assertEq(ret.length, 0);
        // An element whose offset points past the end of the calldata (an unused third witness too).
        _setWord(data, lengthAt, bytes32(uint256(3)));
        _setWord(data, lengthAt + 32 * 3, bytes32(data.length));
        (ok, ret) = _call(data);
        vm.assertFalse(ok);
        vm.assertEq(ret.length, 0);
        // Untouched, it is fraud.
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    function _word(bytes memory b, uint256 at_) internal pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(b, 0x20), at_))
        }
    }

    function _setWord(bytes memory b, uint256 at_, bytes32 w) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(b, 0x20), at_), w)
        }
    }

    function test_fraud_wrongWithdrawalCommitment() public {
        _fundAlice();
        _pushRegister(address(0xCAFE));
        (Prepared memory p,) = _opWithdraw(ALICE_PK, address(0xCAFE), 0, 1 ether);
        _setByte(p.record, 123, uint8(p.record[123]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectFraud(_fraudCall(b, records, 2, p), 1);
    }

    function test_fraud_wrongFinalCommitment() public {
        _fundAliceAndBob();
        _push(_opTransfer(ALICE_PK, bob, 0, 1 ether).record);
        BatchHeader memory h = _calldataHeader();
        h.accountCount += 1; // final state differs from c_{n-1}
        (BatchRecord memory b, bytes memory records) = _submitHeader(h);
        bytes memory data = abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, _commitOpening(records, 3, 2)));
        _expectFraud(data, 1);
        // The previous commitment's calldata opening is the 93-byte op and the siblings.
        (bytes memory op93,) = abi.decode(_commitOpening(records, 3, 2).proof, (bytes, bytes32[]));
        vm.assertEq(op93.length, OP);
    }

    /// @dev A calldata-mode commitment opening whose op is not 93 bytes is refused.
    function test_commitmentOpening_opMustBe93Bytes() public {
        _fundAliceAndBob();
        (BatchRecord memory b, bytes memory records) = _submit();
        CommitmentOpening memory last = _commitOpening(records, 2, 1);
        (bytes memory op93, bytes32[] memory siblings) = abi.decode(last.proof, (bytes, bytes32[]));
        last.proof = abi.encode(abi.encodePacked(op93, bytes1(0)), siblings);
        (bool ok, bytes memory ret) = _call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, last)));
        vm.assertFalse(ok);
        vm.assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(GhostPlaneRollup.BadRecordOpening.selector, 1)));
        last.proof = abi.encode(op93, siblings);
        _expectNoFraud(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, last)));
    }

    function test_finalFraud_honest_reverts() public {
        _fundAlice();
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectNoFraud(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, _commitOpening(records, 1, 0))));
        // An opening without a proof is refused (it cannot be decoded), not taken as fraud.
        (bool ok, bytes memory ret) =
            _call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, _prevOpening(records, 1, 0))));
        vm.assertFalse(ok);
        vm.assertEq(ret.length, 0);
        // The opening must be the last record's.
        CommitmentOpening memory first = _commitOpening(records, 1, 0);
        first.index = 1;
        (ok, ret) = _call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, first)));
        vm.assertEq(bytes4(ret), GhostPlaneRollup.PrevIndexMismatch.selector);
    }

    function test_finalFraud_emptyBatch_honest() public {
        (BatchRecord memory b,) = _submit();
        CommitmentOpening memory none;
        _expectNoFraud(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, none)));
    }

    function test_fraud_duplicateAccount() public {
        _fundAlice();
        uint64 index = _l1Deposit(l1User, alice, 0, 1 ether);
        // Alice already is at slot 1; the op creates her again at slot 2.
        Prepared memory p;
        p.pre = _step();
        p.record = abi.encodePacked(_depositOp(index, l1User, alice, 0, 1 ether, 2), _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        AccountWitness memory existing = _witnessAt(p.pre, 1);
        bytes memory data = abi.encodeCall(
            IGhostPlaneRollup.proveDuplicateAccount,
            (b, _opening(records, 2, 1), _prevOpening(records, 2, 1), p.pre, existing)
        );
        _expectFraud(data, 1);
    }

    /// @dev Register ops are the only ops besides deposits that create accounts: registering an
    ///      address the tree holds (created by a register op or by a deposit) is a duplicate.
    function test_duplicateAccount_registerOp() public {
        uint256 snap = vm.snapshotState();
        for (uint256 i = 0; i < 2; ++i) {
            vm.revertToState(snap);
            snap = vm.snapshotState();
            _fundAliceAndBob(); // alice (deposit) at slot 1, bob (register) at slot 2
            address again = i == 0 ? bob : alice;
            AccountWitness memory existing = _witness(2 - i);
            Prepared memory p;
            p.pre = _step();
            p.accounts = _accountsOf(1);
            p.accounts[0] = _witness(3);
            // The model applies it: the address at slots 2 - i and 3.
            uint128[8] memory zero;
            mAddr.push(again);
            mNonce.push(0);
            mBal.push(zero);
            p.record = abi.encodePacked(_registerOp(3, again), _commit(_step()));
            _push(p.record);
            (BatchRecord memory b, bytes memory records) = _submit();
            // Re-executed alone the op is valid (slot 3 is the account count) with the right
            // commitment: only the duplicate proof cuts it.
            _expectNoFraud(_fraudCall(b, records, 2, p));
            bytes memory data = abi.encodeCall(
                IGhostPlaneRollup.proveDuplicateAccount,
                (b, _opening(records, 3, 2), _prevOpening(records, 3, 2), p.pre, existing)
            );
            _expectFraud(data, 1);
        }
    }

    function test_duplicateAccount_honest_reverts() public {
        _fundAlice();
        StepState memory pre = _step();
        AccountWitness memory aliceBefore = _witness(1);
        Prepared memory r = _opRegister(bob); // bob is new: no duplicate
        _push(r.record);
        AccountWitness memory collectorBefore = _witness(0);
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether); // transfers create nothing
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = abi.encodeCall(
            IGhostPlaneRollup.proveDuplicateAccount,
            (b, _opening(records, 3, 1), _prevOpening(records, 3, 1), pre, aliceBefore)
        );
        _expectNoFraud(data);
        data = abi.encodeCall(
            IGhostPlaneRollup.proveDuplicateAccount,
            (b, _opening(records, 3, 2), _prevOpening(records, 3, 2), p.pre, collectorBefore)
        );
        _expectNoFraud(data);
    }

    /// @dev A witness of `slot` in the tree of the pre-state (the model has moved on: rebuild leaves).
    function _witnessAt(StepState memory pre, uint256 slot) internal view returns (AccountWitness memory w) {
        // The model's accounts before the last op equal the current ones for slots it did not touch;
        // tests use it only for slots the last op did not change.
        w = _witness(slot);
        pre;
    }

    // ------------------------------------------------------------ honest ops are not fraud

    function test_honestOps_noFraud() public {
        Prepared[] memory ps = new Prepared[](10);
        ps[0] = _fundAlice();
        ps[1] = _opRegister(bob);
        _push(ps[1].record);
        ps[2] = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _push(ps[2].record);
        ps[3] = _opTransfer(BOB_PK, bob, 0, 0.1 ether); // self-transfer: one witness and slot 0
        _push(ps[3].record);
        ps[4] = _opRegister(address(0xCAFE));
        _push(ps[4].record);
        (ps[5],) = _opWithdraw(ALICE_PK, address(0xCAFE), 0, 1 ether);
        _push(ps[5].record);
        ps[6] = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _push(ps[6].record);
        (ps[7],) = _opWithdraw(ALICE_PK, alice, 0, 1 ether); // to her own address: her slot
        _push(ps[7].record);
        (ps[8],) = _opWithdraw(BOB_PK, collector, 0, 0.1 ether); // to the collector: slot 0 paid the fee
        _push(ps[8].record);
        ps[9] = _opTransfer(BOB_PK, collector, 0, 0.1 ether);
        _push(ps[9].record);
        (BatchRecord memory b, bytes memory records) = _submit();
        for (uint256 i = 0; i < ps.length; ++i) {
            _expectNoFraud(_fraudCall(b, records, i, ps[i]));
        }
    }

    function test_badWitness_revertsNotFraud() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        p.accounts[0].balances[0] += 1;
        (bool ok, bytes memory ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneExec.BadWitness.selector);
        p.accounts[0].balances[0] -= 1;
        p.accounts[1].slot = 3;
        (ok, ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneExec.WrongWitnessSlot.selector);
        // A recipient witness claiming another address at bob's slot does not verify.
        p.accounts[1].slot = 2;
        p.accounts[1].addr = address(0xCAFE);
        (ok, ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneExec.BadWitness.selector);
        p.accounts[1].addr = bob;
        // Too few witnesses.
        AccountWitness[] memory all = p.accounts;
        p.accounts = _accountsOf(1);
        p.accounts[0] = all[0];
        (ok, ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(GhostPlaneExec.MissingWitness.selector, 1)));
        p.accounts = all;
        // A pre-state that is not c_{i-1}'s preimage.
        p.pre.depositCursor += 1;
        (ok, ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.PreStateMismatch.selector);
    }

    function test_badOpening_reverts() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        RecordOpening memory o = _opening(records, 3, 2);
        o.record[5] = bytes1(uint8(o.record[5]) ^ 1);
        bytes memory data = abi.encodeCall(
            IGhostPlaneRollup.proveFraud, (b, o, _prevOpening(records, 3, 2), p.pre, p.accounts, p.wsib)
        );
        (bool ok, bytes memory ret) = _call(data);
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.BadRecordOpening.selector);
        // A record of the old length (155 bytes) is refused.
        o = _opening(records, 3, 2);
        o.record = abi.encodePacked(o.record, new bytes(31));
        data = abi.encodeCall(
            IGhostPlaneRollup.proveFraud, (b, o, _prevOpening(records, 3, 2), p.pre, p.accounts, p.wsib)
        );
        (ok, ret) = _call(data);
        vm.assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(GhostPlaneRollup.BadRecordOpening.selector, 2)));
        o = _opening(records, 3, 2);
        o.index = 3;
        data = abi.encodeCall(
            IGhostPlaneRollup.proveFraud, (b, o, _prevOpening(records, 3, 2), p.pre, p.accounts, p.wsib)
        );
        (ok, ret) = _call(data);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.OpIndexOutOfRange.selector);
    }

    // ------------------------------------------------------------ fraud effects

    function test_fraud_cutsLaterBatches_andNewChainReusesNumbers() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b1, bytes memory records1) = _submit();
        (BatchRecord memory b2,) = _submit();
        (BatchRecord memory b3,) = _submit();
        vm.assertEq(uint256(rollup.tip()), 3);
        _expectFraud(_fraudCall(b1, records1, 2, p), 1);
        vm.assertEq(rollup.batchHash(2), bytes32(0));
        vm.warp(block.timestamp + WINDOW + 1);
        vm.assertFalse(rollup.isFinal(2, _recordHash(b2)));
        vm.assertFalse(rollup.isFinal(3, _recordHash(b3)));
        // Proofs against cut batches are refused.
        (bool ok, bytes memory ret) =
            _call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b2, _prevOpening("", 0, 0))));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.BatchNotInChain.selector);
        // The chain restarts from batch 0's state with a re-bonded proposer.
        vm.assertEq(rollup.tipState(), keccak256(abi.encode(rollup.genesisStateRoot(), uint64(1), uint64(0))));
        vm.prank(proposer);
        rollup.bond{value: BOND}();
        BatchHeader memory h = b1.header;
        h.opCount = 0;
        h.stateRoot = h.prevStateRoot;
        h.accountCount = h.prevAccountCount;
        h.depositCursor = h.prevDepositCursor;
        h.withdrawalsRoot = GhostPlaneMerkle.zeroRoot(16);
        h.withdrawalCount = 0;
        h.dataCommitment = bytes32(0);
        // The deposit is older than the force-inclusion delay by now: consume nothing is refused.
        vm.prank(proposer);
        vm.expectPartialRevert(GhostPlaneRollup.ForcedInclusionMissed.selector);
        rollup.submitBatch(h, "");
    }

    function test_fraud_againstFinalBatch_reverts() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        vm.warp(block.timestamp + WINDOW);
        (bool ok, bytes memory ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.BatchIsFinal.selector);
        // A wrong record is refused before anything else.
        b.submittedAt += 1;
        (ok, ret) = _call(_fraudCall(b, records, 2, p));
        vm.assertEq(bytes4(ret), GhostPlaneRollup.RecordMismatch.selector);
    }

    function test_fraud_commitReveal_rewardsHalf() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 2, p);
        bytes32 c = keccak256(abi.encode(prover, keccak256(data)));
        vm.prank(prover);
        rollup.commitFraud(c);
        vm.assertEq(rollup.commitmentBlock(c), block.number);
        // Too early: cut, but no reward.
        uint256 snap = vm.snapshotState();
        vm.roll(block.number + REVEAL_DELAY - 1);
        vm.prank(prover);
        (bool ok,) = address(rollup).call(data);
        vm.assertTrue(ok);
        vm.assertEq(prover.balance, 0);
        vm.assertEq(rollup.slashedFunds(), BOND);
        vm.revertToState(snap);
        vm.roll(block.number + REVEAL_DELAY);
        vm.prank(prover);
        (ok,) = address(rollup).call(data);
        vm.assertTrue(ok);
        vm.assertEq(prover.balance, BOND / 2);
        vm.assertEq(rollup.slashedFunds(), BOND - BOND / 2);
        vm.assertEq(uint256(rollup.tip()), 0);
        // Admin moves the slashed funds.
        vm.prank(admin);
        rollup.withdrawSlashed(payable(address(0xD00D)), BOND / 2);
        vm.assertEq(address(0xD00D).balance, BOND / 2);
    }

    function test_fraud_frontRunnerGetsNothing() public {
        _fundAliceAndBob();
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, 110, uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 2, p);
        vm.prank(prover);
        rollup.commitFraud(keccak256(abi.encode(prover, keccak256(data))));
        vm.roll(block.number + REVEAL_DELAY);
        address thief = address(0x7415);
        vm.prank(thief);
        (bool ok,) = address(rollup).call(data);
        vm.assertTrue(ok);
        vm.assertEq(thief.balance, 0);
        vm.assertEq(rollup.slashedFunds(), BOND);
    }

    // ------------------------------------------------------------ admin and config

    function test_admin_setters() public {
        vm.expectRevert();
        rollup.setChallengeWindow(REVEAL_DELAY + 1);
        vm.startPrank(admin);
        rollup.setChallengeWindow(REVEAL_DELAY + 1);
        rollup.setProposerFallbackDelay(1 hours); // the force-inclusion delay may not go below it
        rollup.setForceInclusionDelay(1 hours);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setChallengeWindow(0);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setChallengeWindow(365 days + 1);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setForceInclusionDelay(12 hours + 1);
        vm.expectPartialRevert(GhostPlaneRollup.AmountTooLarge.selector);
        rollup.withdrawSlashed(payable(admin), 1);
        vm.expectRevert(GhostPlaneRollup.ZeroAddress.selector);
        rollup.withdrawSlashed(payable(address(0)), 0);
        vm.stopPrank();
        (uint64 w, uint64 f) = rollup.delays();
        vm.assertEq(uint256(w), REVEAL_DELAY + 1);
        vm.assertEq(uint256(f), 1 hours);
    }

    function test_windowChange_keepsFinalityMonotone() public {
        _submit(); // finalAt = t + 1 day
        vm.prank(admin);
        rollup.setChallengeWindow(REVEAL_DELAY + 1);
        (BatchRecord memory b2,) = _submit(); // would be t + 6 s, but not before batch 1
        vm.assertEq(uint256(rollup.finalizesAt(2)), uint256(rollup.finalizesAt(1)));
        vm.warp(block.timestamp + REVEAL_DELAY + 2);
        vm.assertFalse(rollup.isFinal(2, _recordHash(b2)));
    }

    function test_constructor_validates() public {
        GhostPlaneRollup.Config memory cfg = GhostPlaneRollup.Config({
            portal: address(portal),
            accountsDepth: 25,
            baseFee: 0,
            feeCollector: collector,
            challengeWindow: 0,
            forceInclusionDelay: 0,
            bondAmount: 1,
            revealDelay: 0
        });
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.accountsDepth = 4;
        cfg.challengeWindow = 366 days;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.challengeWindow = 0;
        cfg.forceInclusionDelay = 13 hours;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.forceInclusionDelay = 1;
        cfg.bondAmount = 0;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.bondAmount = 1;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg); // revealDelay 0
        cfg.revealDelay = 1;
        cfg.portal = address(0);
        vm.expectRevert(GhostPlaneRollup.ZeroAddress.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.portal = address(portal);
        GhostPlaneRollup r = new GhostPlaneRollup(admin, cfg);
        (uint64 w,) = r.delays();
        vm.assertEq(uint256(w), 7 days);
    }

    // ------------------------------------------------------------ fuzz

    /// @dev Any single flipped bit of an honest transfer record is caught (fraud) or refused (bad
    ///      opening/witness) — never accepted as honest with a changed record.
    function testFuzz_flippedRecordBit_isFraud(uint256 bit) public {
        bit = bound(bit, 0, REC * 8 - 1);
        _fundAliceAndBob();
        AccountWitness[] memory preState = _accountsOf(3);
        preState[0] = _witness(1);
        preState[1] = _witness(2);
        preState[2] = _witness(0);
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        _setByte(p.record, bit / 8, uint8(p.record[bit / 8]) ^ uint8(1 << (bit % 8)));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok, bytes memory ret) = _call(_fraudCall(b, records, 2, p));
        if (!ok && bytes4(ret) == GhostPlaneExec.BadWitness.selector) {
            // The flip made the op invalid: its proof takes witnesses against the pre-state.
            p.accounts = preState;
            (ok, ret) = _call(_fraudCall(b, records, 2, p));
        }
        if (ok) {
            vm.assertEq(uint256(rollup.tip()), 0);
        } else {
            // Only a slot (bytes 1..6) changed to another account's needs other witnesses.
            vm.assertTrue(bit / 8 >= 1 && bit / 8 <= 6, "flipped bit not proven");
            vm.assertEq(bytes4(ret), GhostPlaneExec.WrongWitnessSlot.selector);
        }
    }

    function testFuzz_transferAmounts_honestIsNeverFraud(uint128 value, uint128 funded) public {
        funded = uint128(bound(funded, BASE_FEE, type(uint128).max / 2));
        uint256 maxValue = funded - BASE_FEE;
        if (maxValue >= 1 << 112) maxValue = (1 << 112) - 1; // the record's u112
        value = uint128(bound(value, 0, maxValue));
        uint64 index = _l1Deposit(l1User, alice, 0, funded);
        _push(_opDeposit(index, l1User, alice, 0, funded).record);
        _pushRegister(bob);
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, value);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectNoFraud(_fraudCall(b, records, 2, p));
    }

    /// @dev The widened fields are what is signed: a transfer of the largest u112 value is honest.
    function test_transfer_maxU112Value_isNoFraud() public {
        uint128 value = (uint128(1) << 112) - 1;
        uint64 index = _l1Deposit(l1User, alice, 0, value + BASE_FEE);
        _push(_opDeposit(index, l1User, alice, 0, value + BASE_FEE).record);
        _pushRegister(bob);
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, value);
        vm.assertEq(_slice32(p.record, 7) >> 144, bytes32(uint256(value))); // bytes 7..20
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        _expectNoFraud(_fraudCall(b, records, 2, p));
    }
}
