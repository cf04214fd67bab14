// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {BridgeMessage} from "../src/libraries/BridgeMessages.sol";

/// @notice The whole round trip once: lock → mint → burn → unlock, with 13-of-19 signatures.
contract RoundTripTest is BridgeFixture {
    function setUp() public {
        _deployBridge(19, 13, 15);
        _fund(alice, 1_000 ether);
    }

    function test_roundTrip_lockMintBurnUnlock_succeeds() public {
        BridgeMessage memory locked = _lock(alice, 100 ether, bob);
        minter.mint(locked, _attestMessage(locked, 13));
        vm.assertEq(wGcc.balanceOf(bob), 100 ether);
        vm.assertTrue(minter.isConsumed(CHAIN, locked.nonce));

        vm.prank(admin);
        ghost.mint(bob, 1 ether);
        vm.startPrank(bob);
        ghost.approve(address(feeManager), type(uint256).max);
        BridgeMessage memory burned = _burnMessage(wGcc, 40 ether, bob, alice);
        minter.burn(wGcc, 40 ether, alice);
        vm.stopPrank();
        vault.unlock(burned, _attestMessage(burned, 13));

        vm.assertEq(gcc.balanceOf(alice), 940 ether);
        vm.assertEq(vault.lockedTotal(address(gcc)) - vault.unlockedTotal(address(gcc)), wGcc.totalSupply());
        vm.assertEq(feeManager.collected(address(ghost)), 2 * 0.001 ether);
    }
}
