// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "./GhostPlaneBase.sol";
import {GhostPlanePortal} from "../../src/ghostplane/GhostPlanePortal.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup} from "../../src/ghostplane/IGhostPlane.sol";

/// @notice Review findings: sequencer priority, self-proving proposers, config floors and the
///         bond cap, deposit accounting that ignores donations.
contract GhostPlaneReviewTest is GhostPlaneBase {
    uint256 internal constant ALICE_PK = 0xA11CE;
    uint256 internal constant BOB_PK = 0xB0B;
    address internal alice;
    address internal bob;
    address internal other = address(0x0743);

    function setUp() public {
        _deploy(24);
        alice = vm.addr(ALICE_PK);
        bob = vm.addr(BOB_PK);
        vm.warp(1_000_000);
        vm.deal(other, BOND);
        vm.prank(other);
        rollup.bond{value: BOND}();
    }

    event SequencerSet(address indexed previous, address indexed sequencer);
    event ProposerFallbackDelaySet(uint64 delay);

    function _setSequencer(address s) internal {
        vm.prank(admin);
        rollup.setSequencer(s);
    }

    // ------------------------------------------------------------ 1. sequencer priority

    function test_sequencer_otherProposerCannotFrontRun() public {
        _setSequencer(proposer);
        _submit(); // the live sequencer's batch 1
        BatchHeader memory h = _calldataHeader(); // the sequencer's batch 2 (empty here)
        vm.prank(other);
        (bool ok, bytes memory ret) = address(rollup).call(abi.encodeCall(IGhostPlaneRollup.submitBatch, (h, "")));
        vm.assertFalse(ok, "a bonded non-sequencer front-ran the sequencer");
        vm.assertEq(
            keccak256(ret),
            keccak256(
                abi.encodeWithSelector(
                    GhostPlaneRollup.SequencerPriority.selector, other, proposer, block.timestamp + FORCE_DELAY
                )
            )
        );
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 2);
    }

    function test_sequencer_silent_fallbackOpensAfterDelay_andIncludesForcedDeposit() public {
        _setSequencer(proposer);
        vm.prank(admin);
        rollup.setProposerFallbackDelay(1 hours);
        _submit(); // the sequencer's batch 1
        uint64 t0 = uint64(block.timestamp);
        vm.assertEq(uint256(rollup.fallbackOpensAt()), t0 + 1 hours);
        // A deposit the silent sequencer does not include: the fallback proposer does.
        uint64 index = _l1Deposit(l1User, alice, 0, 1 ether);
        _push(_opDeposit(index, l1User, alice, 0, 1 ether).record);
        BatchHeader memory h = _calldataHeader();
        bytes memory records = mRecords;
        vm.warp(t0 + 1 hours - 1);
        vm.prank(other);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.SequencerPriority.selector, other, proposer, t0 + 1 hours)
        );
        rollup.submitBatch(h, records);
        vm.warp(t0 + 1 hours);
        vm.prank(other);
        rollup.submitBatch(h, records);
        _nextBatch();
        vm.assertEq(uint256(rollup.tip()), 2);
        // The fallback batch restarts the clock; the sequencer never waits.
        uint64 t1 = uint64(block.timestamp);
        h = _calldataHeader();
        vm.prank(other);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.SequencerPriority.selector, other, proposer, t1 + 1 hours)
        );
        rollup.submitBatch(h, "");
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 3);
    }

    function test_sequencer_leaving_losesPriority_fallbackProposerTakesOver() public {
        // A designated sequencer that asks to leave may not submit (designated or not); the
        // fallback opens for the others as for a silent sequencer; the admin may re-designate.
        _setSequencer(proposer);
        _submit(); // the sequencer's batch 1
        uint64 t0 = uint64(block.timestamp);
        uint64 finalAt1 = rollup.finalizesAt(1);
        vm.prank(proposer);
        rollup.requestUnbond();
        (, uint64 unbondableAt, bool isSequencer) = rollup.proposerInfo(proposer);
        vm.assertEq(uint256(unbondableAt), finalAt1);
        vm.assertTrue(isSequencer);
        BatchHeader memory h = _calldataHeader();
        vm.prank(proposer);
        vm.expectRevert(abi.encodeWithSelector(GhostPlaneRollup.ProposerLeaving.selector, proposer, finalAt1));
        rollup.submitBatch(h, "");
        vm.prank(other);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.SequencerPriority.selector, other, proposer, t0 + FORCE_DELAY)
        );
        rollup.submitBatch(h, "");
        vm.warp(t0 + FORCE_DELAY);
        vm.prank(other);
        rollup.submitBatch(h, "");
        _nextBatch();
        // Re-designating keeps the flag consistent; the leaving sequencer still cannot submit.
        _setSequencer(other);
        (,, isSequencer) = rollup.proposerInfo(proposer);
        vm.assertFalse(isSequencer);
        h = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 3);
        // proposer's bond waits for the tip's finalAt when it asked (batch 1's), then is returned.
        vm.warp(finalAt1);
        vm.prank(proposer);
        rollup.unbond();
        (uint256 bonded,,) = rollup.proposerInfo(proposer);
        vm.assertEq(bonded, 0);
    }

    function test_sequencer_designationStartsTheFallbackClock_rotationKeepsIt() public {
        // No sequencer: batches keep no fallback clock. Designating one after a long silence
        // gives it proposerFallbackDelay of priority from the designation.
        BatchHeader memory h = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h, "");
        _nextBatch();
        vm.warp(block.timestamp + 10 * FORCE_DELAY);
        uint64 t0 = uint64(block.timestamp);
        _setSequencer(proposer);
        vm.assertEq(uint256(rollup.fallbackOpensAt()), t0 + FORCE_DELAY);
        h = _calldataHeader();
        vm.prank(other);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.SequencerPriority.selector, other, proposer, t0 + FORCE_DELAY)
        );
        rollup.submitBatch(h, "");
        // Replacing the sequencer keeps the clock.
        vm.warp(t0 + FORCE_DELAY - 1);
        _setSequencer(bob);
        vm.assertEq(uint256(rollup.fallbackOpensAt()), t0 + FORCE_DELAY);
        vm.prank(other);
        vm.expectRevert(
            abi.encodeWithSelector(GhostPlaneRollup.SequencerPriority.selector, other, bob, t0 + FORCE_DELAY)
        );
        rollup.submitBatch(h, "");
        vm.warp(t0 + FORCE_DELAY);
        vm.prank(other);
        rollup.submitBatch(h, "");
        _nextBatch();
        // The fallback batch restarts it.
        vm.assertEq(uint256(rollup.fallbackOpensAt()), block.timestamp + FORCE_DELAY);
        // No sequencer again: no clock, any bonded proposer at once.
        _setSequencer(address(0));
        vm.assertEq(uint256(rollup.fallbackOpensAt()), 0);
        h = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 3);
    }

    function test_sequencer_none_anyBondedProposerSubmits() public {
        vm.assertEq(rollup.sequencer(), address(0));
        vm.assertEq(uint256(rollup.fallbackOpensAt()), 0);
        BatchHeader memory h = _calldataHeader();
        vm.prank(other);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 1);
    }

    function test_setSequencer_rotates_onlyAdmin_emits() public {
        vm.prank(other);
        vm.expectRevert();
        rollup.setSequencer(other);
        vm.expectEmit(address(rollup));
        emit SequencerSet(address(0), proposer);
        _setSequencer(proposer);
        _submit(); // batch 1 by the sequencer
        vm.expectEmit(address(rollup));
        emit SequencerSet(proposer, other);
        _setSequencer(other); // the old sequencer loses its priority
        BatchHeader memory h = _calldataHeader();
        vm.prank(proposer);
        vm.expectPartialRevert(GhostPlaneRollup.SequencerPriority.selector);
        rollup.submitBatch(h, "");
        vm.prank(other);
        rollup.submitBatch(h, "");
        (,, bool isSequencer) = rollup.proposerInfo(other);
        vm.assertTrue(isSequencer);
        (,, isSequencer) = rollup.proposerInfo(proposer);
        vm.assertFalse(isSequencer);
        // No sequencer: every bonded proposer submits.
        _setSequencer(address(0));
        _nextBatch();
        h = _calldataHeader();
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        vm.assertEq(uint256(rollup.tip()), 3);
    }

    function test_proposerFallbackDelay_bounds() public {
        vm.assertEq(uint256(rollup.proposerFallbackDelay()), FORCE_DELAY);
        vm.startPrank(admin);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setProposerFallbackDelay(0);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setProposerFallbackDelay(FORCE_DELAY + 1);
        vm.expectEmit(address(rollup));
        emit ProposerFallbackDelaySet(2 hours);
        rollup.setProposerFallbackDelay(2 hours);
        // The force-inclusion delay cannot go below the fallback delay.
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setForceInclusionDelay(2 hours - 1);
        rollup.setForceInclusionDelay(2 hours);
        vm.stopPrank();
        vm.prank(other);
        vm.expectRevert();
        rollup.setProposerFallbackDelay(1);
    }

    // ------------------------------------------------------------ 2. no reward for the proposer

    function test_fraud_proposerProvingItsOwnFraud_getsNoReward() public {
        uint64 index = _l1Deposit(l1User, alice, 0, 10 ether);
        _push(_opDeposit(index, l1User, alice, 0, 10 ether).record);
        _pushRegister(bob);
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        p.record[110] = bytes1(uint8(p.record[110]) ^ 1); // wrong post-step commitment
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 2, p);
        vm.prank(proposer);
        rollup.commitFraud(keccak256(abi.encode(proposer, keccak256(data))));
        vm.roll(block.number + REVEAL_DELAY);
        uint256 before = proposer.balance;
        vm.prank(proposer);
        (bool ok,) = address(rollup).call(data);
        vm.assertTrue(ok, "fraud not proven");
        vm.assertEq(uint256(rollup.tip()), 0);
        vm.assertEq(proposer.balance, before, "the proposer recovered part of its bond");
        vm.assertEq(rollup.slashedFunds(), BOND);
    }

    // ------------------------------------------------------------ 3. floors and the bond cap

    function test_setChallengeWindow_floorAboveRevealDelay() public {
        vm.startPrank(admin);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setChallengeWindow(REVEAL_DELAY);
        rollup.setChallengeWindow(REVEAL_DELAY + 1);
        vm.stopPrank();
    }

    function test_setForceInclusionDelay_refusesZero() public {
        vm.prank(admin);
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        rollup.setForceInclusionDelay(0);
    }

    function _cfg() internal view returns (GhostPlaneRollup.Config memory) {
        return GhostPlaneRollup.Config({
            portal: address(portal),
            accountsDepth: 4,
            baseFee: 0,
            feeCollector: collector,
            challengeWindow: 0,
            forceInclusionDelay: 1,
            bondAmount: 1,
            revealDelay: 3
        });
    }

    function test_constructor_floorsAndBondCap() public {
        GhostPlaneRollup.Config memory cfg = _cfg();
        cfg.challengeWindow = 3; // <= revealDelay
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.challengeWindow = 4;
        cfg.forceInclusionDelay = 0;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.forceInclusionDelay = 1;
        cfg.bondAmount = uint128(1) << 88;
        vm.expectPartialRevert(GhostPlaneRollup.InvalidConfig.selector);
        new GhostPlaneRollup(admin, cfg);
        cfg.bondAmount = (uint128(1) << 88) - 1;
        GhostPlaneRollup r = new GhostPlaneRollup(admin, cfg);
        (uint64 w, uint64 f) = r.delays();
        vm.assertEq(uint256(w), 4);
        vm.assertEq(uint256(f), 1);
    }

    function test_bond_cappedBelow2pow88() public {
        uint256 max = (uint256(1) << 88) - 1;
        vm.deal(other, max);
        vm.prank(other);
        vm.expectPartialRevert(GhostPlaneRollup.AmountTooLarge.selector);
        rollup.bond{value: max - BOND + 1}(); // total 2^88
        vm.prank(other);
        rollup.bond{value: max - BOND}(); // total 2^88 - 1
        (uint256 bonded,,) = rollup.proposerInfo(other);
        vm.assertEq(bonded, max);
    }

    // ------------------------------------------------------------ 5. donations and the cap

    function test_deposit_donationDoesNotCountTowardTheCap() public {
        uint128 max = type(uint128).max;
        uint128 trackFrom = uint128(1) << 127;
        spirit.mint(address(portal), max); // a donation, not a deposit
        _l1Deposit(l1User, alice, 1, 1);
        // Tracking started from min(2^127, balance + withdrawn before the deposit) = 2^127.
        vm.assertEq(portal.trackedDeposits(1), uint256(trackFrom) + 1);
        _l1Deposit(l1User, alice, 1, max - trackFrom - 1); // the tracked total reaches max
        spirit.mint(l1User, 1);
        vm.startPrank(l1User);
        spirit.approve(address(portal), 1);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.DepositTotalExceeded.selector, 1, max, 1));
        portal.deposit(address(spirit), 1, alice);
        vm.stopPrank();
    }

    function test_deposit_untrackedBelow2pow127() public {
        _l1Deposit(l1User, alice, 1, uint128(1) << 126);
        _l1Deposit(l1User, alice, 1, uint128(1) << 126);
        vm.assertEq(portal.trackedDeposits(1), 0); // balance + withdrawn = 2^127: no write yet
        _l1Deposit(l1User, alice, 1, 1);
        vm.assertEq(portal.trackedDeposits(1), (uint256(1) << 127) + 1); // exact here: no donation
    }
}

/// @notice Finding 4 (v2: with base fee 0 a new signer's transfer to itself at another slot
///         created its account twice). Records v3: transfers never create accounts, so a new
///         signer's transfer (from_slot == account_count) is fraud; a signer registers first, and
///         a self-transfer names its own slot (another slot's address is not the signed `to`).
contract GhostPlaneSelfTransferTest is GhostPlaneBase {
    uint256 internal constant SIGNER_PK = 0x5E1F;
    address internal other = address(0x07E4);

    function setUp() public {
        deployBaseFee = 0;
        _deploy(8);
        vm.warp(1_000_000);
    }

    /// @dev The signer (registered at slot 1 unless `register` is false) transfers 0 to itself
    ///      naming `toSlot`; the model applies an honest self-transfer (nonce + 1, fee 0).
    function _selfTransfer(bool register, uint256 toSlot) internal returns (Prepared memory p) {
        if (register) {
            _pushRegister(vm.addr(SIGNER_PK));
            _pushRegister(other); // slot 2
        }
        p.pre = _step();
        bytes memory op = _transferOp(SIGNER_PK, 0, 1, toSlot, vm.addr(SIGNER_PK), 0, 0);
        if (register && toSlot == 1) {
            // Valid: sequential witnesses (slot 0 against the root with the sender's new leaf).
            p.accounts = _accountsOf(2);
            p.accounts[0] = _witness(1);
            mNonce[1] += 1;
            p.accounts[1] = _witness(0);
        } else if (register) {
            // Invalid: witnesses against the pre-state; the model applies what the op claims.
            p.accounts = _accountsOf(3);
            p.accounts[0] = _witness(1);
            p.accounts[1] = _witness(toSlot);
            p.accounts[2] = _witness(0);
            mNonce[1] += 1;
        }
        _finish(p, op);
        _push(p.record);
    }

    function test_fraud_unregisteredSignerTransfer() public {
        Prepared memory p = _selfTransfer(false, 1); // from_slot 1 == account count 1
        (BatchRecord memory b, bytes memory records) = _submit();
        vm.assertEq(uint256(b.header.accountCount), 1);
        (bool ok,) = address(rollup).call(_fraudCall(b, records, 0, p));
        vm.assertTrue(ok, "a transfer from an unregistered slot is not fraud");
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    function test_fraud_selfTransferToAnotherSlot() public {
        Prepared memory p = _selfTransfer(true, 2);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok,) = address(rollup).call(_fraudCall(b, records, 2, p));
        vm.assertTrue(ok, "a self-transfer naming another slot is not fraud");
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    function test_registeredSignerSelfTransferSameSlot_isNoFraud() public {
        Prepared memory p = _selfTransfer(true, 1);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok, bytes memory ret) = address(rollup).call(_fraudCall(b, records, 2, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.NoFraud.selector);
        vm.assertEq(uint256(rollup.tip()), 1);
    }
}
