// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase, PlaneToken} from "./GhostPlaneBase.sol";
import {GhostPlanePortal} from "../../src/ghostplane/GhostPlanePortal.sol";
import {IGhostPlaneRollup} from "../../src/ghostplane/IGhostPlane.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";
import {BridgeGuardian} from "../../src/BridgeGuardian.sol";

/// @notice GhostPlanePortal: deposits (chain, caps, fee-on-transfer, ETH), token mapping, pause,
///         and withdrawals paid once from final batches only.
contract GhostPlanePortalTest is GhostPlaneBase {
    uint256 internal constant ALICE_PK = 0xA11CE;
    uint256 internal constant BOB_PK = 0xB0B;
    address internal alice;
    address internal bob;
    address internal payee = address(0xCAFE);

    function setUp() public {
        _deploy(8);
        alice = vm.addr(ALICE_PK);
        bob = vm.addr(BOB_PK);
        vm.warp(1_000_000);
    }

    // ------------------------------------------------------------ deposits

    function test_deposit_chainsIndexAndTime() public {
        uint64 i0 = _l1Deposit(l1User, alice, 0, 5 ether);
        vm.warp(block.timestamp + 7);
        uint64 i1 = _l1Deposit(address(0x2222), bob, 3, 6 ether);
        vm.assertEq(uint256(i0), 0);
        vm.assertEq(uint256(i1), 1);
        vm.assertEq(uint256(portal.depositCount()), 2);
        bytes32 c0 = GhostPlaneHashes.depositChain(bytes32(0), 0, l1User, alice, 0, 5 ether);
        bytes32 c1 = GhostPlaneHashes.depositChain(c0, 1, address(0x2222), bob, 3, 6 ether);
        vm.assertEq(portal.depositChain(0), c0);
        vm.assertEq(portal.depositChain(1), c1);
        vm.assertEq(uint256(portal.depositTime(0)), block.timestamp - 7);
        vm.assertEq(uint256(portal.depositTime(1)), block.timestamp);
        vm.assertEq(portal.depositChain(2), bytes32(0));
        // The Rollup's one call: the count and the time of deposit k, zero from the count on.
        (uint64 count, uint64 time) = portal.depositCountAndTime(0);
        vm.assertEq(uint256(count), 2);
        vm.assertEq(uint256(time), block.timestamp - 7);
        (count, time) = portal.depositCountAndTime(1);
        vm.assertEq(uint256(time), block.timestamp);
        (count, time) = portal.depositCountAndTime(2);
        vm.assertEq(uint256(count), 2);
        vm.assertEq(uint256(time), 0);
        vm.assertEq(ghost.balanceOf(address(portal)), 6 ether);
        vm.assertEq(gcc.balanceOf(address(portal)), 5 ether);
    }

    function test_deposit_emitsAllFields() public {
        gcc.mint(l1User, 1 ether);
        vm.startPrank(l1User);
        gcc.approve(address(portal), 1 ether);
        bytes32 c0 = GhostPlaneHashes.depositChain(bytes32(0), 0, l1User, alice, 0, 1 ether);
        vm.expectEmit(address(portal));
        emit GhostPlanePortal.Deposited(0, l1User, alice, 0, 1 ether, c0, uint64(block.timestamp));
        portal.deposit(address(gcc), 1 ether, alice);
        vm.stopPrank();
    }

    function test_depositETH() public {
        uint64 i = _l1Deposit(l1User, alice, 5, 2 ether);
        vm.assertEq(address(portal).balance, 2 ether);
        vm.assertEq(portal.depositChain(i), GhostPlaneHashes.depositChain(bytes32(0), 0, l1User, alice, 5, 2 ether));
    }

    function test_deposit_feeOnTransfer_creditedByDelta() public {
        feeToken.mint(l1User, 100 ether);
        vm.startPrank(l1User);
        feeToken.approve(address(portal), 100 ether);
        portal.deposit(address(feeToken), 100 ether, alice);
        vm.stopPrank();
        vm.assertEq(feeToken.balanceOf(address(portal)), 99 ether);
        vm.assertEq(portal.depositChain(0), GhostPlaneHashes.depositChain(bytes32(0), 0, l1User, alice, 4, 99 ether));
    }

    function test_deposit_reverts() public {
        gcc.mint(l1User, 10 ether);
        PlaneToken other = new PlaneToken("X");
        vm.startPrank(l1User);
        gcc.approve(address(portal), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.ZeroAmount.selector, address(gcc)));
        portal.deposit(address(gcc), 0, alice);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.ZeroRecipient.selector, address(gcc), 1));
        portal.deposit(address(gcc), 1, address(0));
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.UnmappedToken.selector, address(other)));
        portal.deposit(address(other), 1, alice);
        vm.expectRevert(GhostPlanePortal.NativeUseDepositETH.selector);
        portal.deposit(address(0), 1, alice);
        uint256 big = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.AmountTooLarge.selector, big, type(uint128).max));
        portal.deposit(address(gcc), big, alice);
        vm.stopPrank();
        vm.deal(l1User, 1 ether);
        vm.prank(l1User);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.ZeroAmount.selector, address(0)));
        portal.depositETH{value: 0}(alice);
        vm.prank(l1User);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.ZeroRecipient.selector, address(0), 1));
        portal.depositETH{value: 1}(address(0));
    }

    function test_depositETH_unmapped_reverts() public {
        GhostPlanePortal p =
            new GhostPlanePortal(admin, guardian, [address(gcc), address(spirit), address(mana), address(ghost)]);
        vm.deal(l1User, 1);
        vm.prank(l1User);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.UnmappedToken.selector, address(0)));
        p.depositETH{value: 1}(alice);
    }

    function test_deposit_totalCap() public {
        uint128 max = type(uint128).max;
        _l1Deposit(l1User, alice, 1, max - 5);
        spirit.mint(l1User, 6);
        vm.startPrank(l1User);
        spirit.approve(address(portal), 6);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.DepositTotalExceeded.selector, 1, max - 5, 6));
        portal.deposit(address(spirit), 6, alice);
        portal.deposit(address(spirit), 5, alice);
        vm.stopPrank();
        vm.assertEq(spirit.balanceOf(address(portal)), max);
    }

    function testFuzz_deposit_anyAmount(uint256 amount, address recipient, uint8 tokenSeed) public {
        vm.assume(recipient != address(0));
        amount = bound(amount, 1, type(uint128).max);
        uint8 token = uint8(bound(tokenSeed, 0, 3));
        PlaneToken t = token == 0 ? gcc : token == 1 ? spirit : token == 2 ? mana : ghost;
        t.mint(l1User, amount);
        vm.startPrank(l1User);
        t.approve(address(portal), amount);
        uint64 i = portal.deposit(address(t), amount, recipient);
        vm.stopPrank();
        vm.assertEq(
            portal.depositChain(i),
            GhostPlaneHashes.depositChain(bytes32(0), 0, l1User, recipient, token, uint128(amount))
        );
        vm.assertEq(t.balanceOf(address(portal)), amount);
    }

    // ------------------------------------------------------------ admin

    function test_mapToken_rules() public {
        PlaneToken t6 = new PlaneToken("T6");
        vm.expectRevert();
        portal.mapToken(6, address(t6));
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.TokenIdNotMappable.selector, 3));
        portal.mapToken(3, address(t6));
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.TokenIdNotMappable.selector, 8));
        portal.mapToken(8, address(t6));
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.TokenIdTaken.selector, 5, address(0)));
        portal.mapToken(5, address(t6));
        vm.expectPartialRevert(GhostPlanePortal.TokenAlreadyMapped.selector);
        portal.mapToken(6, address(gcc));
        vm.expectPartialRevert(GhostPlanePortal.TokenAlreadyMapped.selector);
        portal.mapToken(6, address(feeToken));
        portal.mapToken(6, address(t6));
        vm.stopPrank();
        vm.assertEq(portal.tokenAddress(6), address(t6));
        vm.assertEq(portal.tokenId(address(t6)), 6);
        vm.assertEq(portal.tokenAddress(5), address(0));
        vm.assertEq(portal.tokenAddress(0), address(gcc));
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.UnmappedTokenId.selector, 7));
        portal.tokenAddress(7);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.UnmappedTokenId.selector, 8));
        portal.tokenAddress(8);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.UnmappedToken.selector, address(0x1234)));
        portal.tokenId(address(0x1234));
        vm.assertEq(portal.tokenId(address(0)), 5);
        vm.assertEq(portal.tokenId(address(ghost)), 3);
    }

    function test_setRollup_once_andConstructorChecks() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.RollupAlreadySet.selector, address(rollup)));
        portal.setRollup(IGhostPlaneRollup(address(1)));
        vm.expectRevert(GhostPlanePortal.ZeroAddress.selector);
        new GhostPlanePortal(admin, guardian, [address(gcc), address(0), address(mana), address(ghost)]);
        vm.expectRevert(GhostPlanePortal.ZeroAddress.selector);
        new GhostPlanePortal(address(0), guardian, [address(gcc), address(spirit), address(mana), address(ghost)]);
    }

    function test_pause_byGuardianContract_stopsBoth() public {
        BridgeGuardian g = new BridgeGuardian(admin, guardian);
        vm.startPrank(admin);
        portal.grantRole(portal.PAUSER_ROLE(), address(g));
        g.addEndpoint(address(portal));
        vm.stopPrank();
        vm.prank(guardian);
        g.pauseAll();
        vm.assertTrue(portal.paused());
        gcc.mint(l1User, 1);
        vm.startPrank(l1User);
        gcc.approve(address(portal), 1);
        vm.expectRevert(GhostPlanePortal.EnforcedPause.selector);
        portal.deposit(address(gcc), 1, alice);
        vm.stopPrank();
        Withdrawal memory w;
        bytes32[16] memory sib;
        vm.expectRevert(GhostPlanePortal.EnforcedPause.selector);
        portal.finalizeWithdrawal(w, sib, bytes32(0), bytes32(0), 0, address(0));
        // Only the admin unpauses.
        vm.prank(guardian);
        vm.expectRevert();
        portal.unpause();
        vm.prank(admin);
        portal.unpause();
        vm.prank(admin);
        vm.expectRevert(GhostPlanePortal.ExpectedPause.selector);
        portal.unpause();
        vm.prank(l1User);
        portal.deposit(address(gcc), 1, alice);
    }

    // ------------------------------------------------------------ withdrawals

    /// @dev Batch 1: deposits to alice (GCC and ETH), `payee` registered, two withdrawals to it.
    ///      Returns them.
    function _batchWithWithdrawals()
        internal
        returns (BatchRecord memory b, Withdrawal memory wg, Withdrawal memory we, bytes32[] memory leaves)
    {
        uint64 i0 = _l1Deposit(l1User, alice, 0, 10 ether);
        _push(_opDeposit(i0, l1User, alice, 0, 10 ether).record);
        uint64 i1 = _l1Deposit(l1User, alice, 5, 3 ether);
        _push(_opDeposit(i1, l1User, alice, 5, 3 ether).record);
        _pushRegister(payee);
        Prepared memory p;
        (p, wg) = _opWithdraw(ALICE_PK, payee, 0, 4 ether);
        _push(p.record);
        (p, we) = _opWithdraw(ALICE_PK, payee, 5, 2 ether);
        _push(p.record);
        leaves = mWLeaves;
        (b,) = _submit();
    }

    function _finalize(BatchRecord memory b, Withdrawal memory w, bytes32[] memory leaves) internal {
        portal.finalizeWithdrawal(
            w,
            _withdrawalSiblings16(leaves, w.index),
            _headerHash(b.header),
            b.header.withdrawalsRoot,
            b.submittedAt,
            b.proposer
        );
    }

    function test_finalizeWithdrawal_paysOnceAfterWindow() public {
        (BatchRecord memory b, Withdrawal memory wg, Withdrawal memory we, bytes32[] memory leaves) =
            _batchWithWithdrawals();
        bytes32 rh = _recordHash(b);
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.BatchNotFinal.selector, 1, rh));
        _finalize(b, wg, leaves);
        vm.warp(block.timestamp + WINDOW);
        _finalize(b, wg, leaves);
        _finalize(b, we, leaves);
        vm.assertEq(gcc.balanceOf(payee), 4 ether);
        vm.assertEq(payee.balance, 2 ether);
        vm.assertEq(portal.totalWithdrawn(0), 4 ether);
        vm.assertEq(portal.totalWithdrawn(5), 2 ether);
        vm.assertTrue(portal.isClaimed(1, 0));
        vm.assertTrue(portal.isClaimed(1, 1));
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.AlreadyClaimed.selector, 1, 0));
        _finalize(b, wg, leaves);
    }

    function test_finalizeWithdrawal_badProof_reverts() public {
        (BatchRecord memory b, Withdrawal memory wg,, bytes32[] memory leaves) = _batchWithWithdrawals();
        vm.warp(block.timestamp + WINDOW);
        wg.amount += 1;
        vm.expectPartialRevert(GhostPlanePortal.InvalidWithdrawalProof.selector);
        _finalize(b, wg, leaves);
        wg.amount -= 1;
        wg.index = 1 << 16;
        vm.expectRevert(abi.encodeWithSelector(GhostPlanePortal.WithdrawalIndexOutOfRange.selector, 1 << 16));
        _finalize(b, wg, leaves);
        wg.index = 0;
        b.submittedAt += 1; // a record the Rollup never stored
        vm.expectPartialRevert(GhostPlanePortal.BatchNotFinal.selector);
        _finalize(b, wg, leaves);
    }

    function test_finalizeWithdrawal_stillPayable_afterLaterBatchCut() public {
        (BatchRecord memory b, Withdrawal memory wg,, bytes32[] memory leaves) = _batchWithWithdrawals();
        vm.warp(block.timestamp + WINDOW);
        // Batch 2 is fraudulent (wrong final state) and is cut; batch 1 stays final.
        BatchHeader memory h = _calldataHeader();
        h.stateRoot = bytes32(uint256(1));
        h.opCount = 0;
        vm.expectRevert(); // empty batches cannot change state: use a real op instead
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        uint64 i2 = _l1Deposit(l1User, bob, 0, 1 ether);
        _push(_opDeposit(i2, l1User, bob, 0, 1 ether).record);
        h = _calldataHeader();
        h.accountCount += 1;
        (BatchRecord memory b2, bytes memory records2) = _submitHeader(h);
        (bool ok,) = address(rollup)
            .call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b2, _commitOpening(records2, 1, 0))));
        vm.assertTrue(ok);
        vm.assertEq(uint256(rollup.tip()), 1);
        _finalize(b, wg, leaves);
        vm.assertEq(gcc.balanceOf(payee), 4 ether);
    }

    function test_finalizeWithdrawal_cutBatch_neverPays() public {
        uint64 i0 = _l1Deposit(l1User, alice, 0, 10 ether);
        _push(_opDeposit(i0, l1User, alice, 0, 10 ether).record);
        _pushRegister(payee);
        (Prepared memory p, Withdrawal memory w) = _opWithdraw(ALICE_PK, payee, 0, 4 ether);
        _push(p.record);
        bytes32[] memory leaves = mWLeaves;
        BatchHeader memory h = _calldataHeader();
        h.accountCount += 1; // fraudulent final state
        (BatchRecord memory b, bytes memory records) = _submitHeader(h);
        (bool ok,) =
            address(rollup).call(abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, _commitOpening(records, 3, 2))));
        vm.assertTrue(ok);
        vm.warp(block.timestamp + WINDOW + 1);
        vm.expectPartialRevert(GhostPlanePortal.BatchNotFinal.selector);
        _finalize(b, w, leaves);
    }

    function testFuzz_finalizeWithdrawal_wrongSibling_reverts(uint256 which, bytes32 junk) public {
        (BatchRecord memory b, Withdrawal memory wg,, bytes32[] memory leaves) = _batchWithWithdrawals();
        vm.warp(block.timestamp + WINDOW);
        bytes32[16] memory sib = _withdrawalSiblings16(leaves, wg.index);
        which = bound(which, 0, 15);
        vm.assume(junk != sib[which]);
        sib[which] = junk;
        vm.expectPartialRevert(GhostPlanePortal.InvalidWithdrawalProof.selector);
        portal.finalizeWithdrawal(wg, sib, _headerHash(b.header), b.header.withdrawalsRoot, b.submittedAt, b.proposer);
    }

    function test_finalizeWithdrawal_rollupNotSet_reverts() public {
        GhostPlanePortal p =
            new GhostPlanePortal(admin, guardian, [address(gcc), address(spirit), address(mana), address(ghost)]);
        Withdrawal memory w;
        bytes32[16] memory sib;
        bytes32 root = GhostPlaneHashes.withdrawalLeaf(0, 0, address(0), address(0), 0, 0);
        for (uint256 i = 0; i < 16; ++i) {
            root = keccak256(abi.encodePacked(root, bytes32(0)));
        }
        vm.expectRevert(GhostPlanePortal.RollupNotSet.selector);
        p.finalizeWithdrawal(w, sib, bytes32(0), root, 0, address(0));
    }
}
