// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {BridgeVault} from "../src/BridgeVault.sol";
import {BridgeMessage} from "../src/libraries/BridgeMessages.sol";

/// @dev Takes 1% of every transfer as a burn, like real fee-on-transfer tokens.
contract FeeOnTransferToken is ERC20 {
    constructor() ERC20("Taxed", "TAX") {
        _mint(msg.sender, 1_000_000 ether);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

contract FeeSplitTest is BridgeFixture {
    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000 ether);
    }

    function test_distribute_splitsExactlyAndCarriesDust() public {
        vm.prank(admin);
        feeManager.setRouteFee(CHAIN, address(ghost), 7); // 7 wei per transfer: 40/30/20/10 leaves dust
        _lock(alice, 1 ether, bob);
        feeManager.distribute(address(ghost));
        // floor(7*0.4)=2, floor(7*0.3)=2, floor(7*0.2)=1, floor(7*0.1)=0 → 5 paid, 2 carried
        _assertPaid(2, 2, 1, 0);
        vm.assertEq(feeManager.undistributed(address(ghost)), 2);

        _lock(alice, 1 ether, bob); // 2 carried + 7 = 9 → 3, 2, 1, 0 → 6 paid, 3 carried
        feeManager.distribute(address(ghost));
        _assertPaid(5, 4, 2, 0);
        vm.assertEq(feeManager.undistributed(address(ghost)), 3);
        vm.assertEq(feeManager.collected(address(ghost)), 14);
        vm.assertEq(feeManager.distributed(address(ghost)) + feeManager.undistributed(address(ghost)), 14);
        vm.assertEq(ghost.balanceOf(address(feeManager)), 3);
    }

    function test_defaultFee_isOneThousandthOfGhost() public {
        uint256 before = ghost.balanceOf(alice);
        _lock(alice, 1 ether, bob);
        vm.assertEq(before - ghost.balanceOf(alice), 0.001 ether);
    }

    function testFuzz_distribute_noWeiLost(uint96 fee, uint8 transfers) public {
        fee = uint96(bound(fee, 1, 1 ether));
        transfers = uint8(bound(transfers, 1, 20));
        vm.prank(admin);
        feeManager.setRouteFee(CHAIN, address(ghost), fee);
        vm.prank(admin);
        ghost.mint(alice, uint256(fee) * transfers);
        for (uint256 i = 0; i < transfers; ++i) {
            _lock(alice, 1 ether, bob);
            if (i % 3 == 0) feeManager.distribute(address(ghost));
        }
        feeManager.distribute(address(ghost));
        uint256 paid = ghost.balanceOf(l2Validators) + ghost.balanceOf(l1Validators) + ghost.balanceOf(securityFund)
            + ghost.balanceOf(protocolTreasury);
        vm.assertEq(paid + ghost.balanceOf(address(feeManager)), uint256(fee) * transfers, "wei lost");
        vm.assertLt(ghost.balanceOf(address(feeManager)), 10, "dust is below one share unit per split");
    }

    function _assertPaid(uint256 l2, uint256 l1, uint256 fund, uint256 protocol) internal view {
        vm.assertEq(ghost.balanceOf(l2Validators), l2);
        vm.assertEq(ghost.balanceOf(l1Validators), l1);
        vm.assertEq(ghost.balanceOf(securityFund), fund);
        vm.assertEq(ghost.balanceOf(protocolTreasury), protocol);
    }
}

contract FeeOnTransferLockTest is BridgeFixture {
    FeeOnTransferToken internal taxed;

    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000 ether);
        taxed = new FeeOnTransferToken();
        taxed.transfer(alice, 1_000 ether); // alice receives 990
        vm.startPrank(admin);
        vault.setRateLimit(address(taxed), CHAIN, false, BUCKET, REFILL);
        vm.stopPrank();
        vm.prank(alice);
        taxed.approve(address(vault), type(uint256).max);
    }

    function test_lock_feeOnTransferToken_creditedByBalanceDelta() public {
        BridgeMessage memory expected = _lockMessage(address(taxed), 99 ether, alice, bob); // 100 minus 1% tax
        vm.expectEmit(address(vault));
        emit BridgeVault.Locked(keccak256(abi.encode(expected)), expected.nonce, CHAIN, expected);
        vm.prank(alice);
        vault.lock(address(taxed), 100 ether, CHAIN, bob);
        vm.assertEq(vault.lockedTotal(address(taxed)), 99 ether);
        vm.assertEq(taxed.balanceOf(address(vault)), 99 ether);
    }
}
