// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "./GhostPlaneBase.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";

/// @notice Refund ops (kind 4) on a full tree (D = 1: the collector and one account): a deposit
///         that cannot create its account is paid back on L1 through a withdrawal leaf.
contract GhostPlaneRefundTest is GhostPlaneBase {
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public {
        _deploy(1);
        vm.warp(1_000_000);
        uint64 i0 = _l1Deposit(l1User, alice, 0, 1 ether);
        _push(_opDeposit(i0, l1User, alice, 0, 1 ether).record); // slot 1: the tree is full
    }

    /// @dev A refund of deposit `index` applied to the model.
    function _opRefund(uint64 index, address l1Sender, address recipient, uint8 token, uint128 amount)
        internal
        returns (Prepared memory p, Withdrawal memory w)
    {
        p.pre = _step();
        bytes memory op = _depositOp(index, l1Sender, recipient, token, amount, mAddr.length);
        op[0] = bytes1((uint8(op[0]) & 0xf8) | 4); // kind 4, the deposit's token bits
        p.wsib = _siblings(mWLeaves, 16, mWLeaves.length);
        w = Withdrawal(mBatch, uint32(mWLeaves.length), address(0), l1Sender, token, amount);
        mWLeaves.push(GhostPlaneHashes.withdrawalLeaf(w.batchNumber, w.index, address(0), l1Sender, token, amount));
        ++mCursor;
        _finish(p, op);
    }

    function test_refund_honest_isNotFraud_andPaysBackOnL1() public {
        uint64 i1 = _l1Deposit(address(0x5E4D), bob, 0, 2 ether);
        (Prepared memory p, Withdrawal memory w) = _opRefund(i1, address(0x5E4D), bob, 0, 2 ether);
        _push(p.record);
        bytes32[] memory leaves = mWLeaves;
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok, bytes memory ret) = address(rollup).call(_fraudCall(b, records, 1, p));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(ret), GhostPlaneRollup.NoFraud.selector);
        vm.warp(block.timestamp + WINDOW);
        portal.finalizeWithdrawal(
            w,
            _withdrawalSiblings16(leaves, w.index),
            _headerHash(b.header),
            b.header.withdrawalsRoot,
            b.submittedAt,
            b.proposer
        );
        vm.assertEq(gcc.balanceOf(address(0x5E4D)), 2 ether);
    }

    function test_refund_ofExistingRecipient_isFraud() public {
        uint64 i1 = _l1Deposit(l1User, alice, 0, 2 ether);
        AccountWitness memory aliceWitness = _witness(1);
        (Prepared memory p,) = _opRefund(i1, l1User, alice, 0, 2 ether);
        p.accounts = _accountsOf(1);
        p.accounts[0] = aliceWitness;
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok,) = address(rollup).call(_fraudCall(b, records, 1, p));
        vm.assertTrue(ok);
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    /// @dev A register op on a full tree (slot == account count == 2^D) is fraud.
    function test_registerIntoFullTree_isFraud() public {
        Prepared memory p;
        p.pre = _step();
        p.record = abi.encodePacked(_registerOp(2, bob), _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok,) = address(rollup).call(_fraudCall(b, records, 1, p));
        vm.assertTrue(ok);
        vm.assertEq(uint256(rollup.tip()), 0);
    }

    function test_depositIntoFullTree_isFraud() public {
        uint64 i1 = _l1Deposit(l1User, bob, 0, 2 ether);
        Prepared memory p;
        p.pre = _step();
        p.record = abi.encodePacked(_depositOp(i1, l1User, bob, 0, 2 ether, 2), _commit(_step()));
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        (bool ok,) = address(rollup).call(_fraudCall(b, records, 1, p));
        vm.assertTrue(ok);
        vm.assertEq(uint256(rollup.tip()), 0);
    }
}
