// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {BridgeEndpoint} from "../src/BridgeEndpoint.sol";
import {BridgeMinter} from "../src/BridgeMinter.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "../src/libraries/BridgeMessages.sol";

/// @notice AttestationVerifier set-up and rotation rules.
contract VerifierSetupTest is BridgeFixture {
    function setUp() public {
        _makeValidators(7);
    }

    function test_initialize_thresholdBelowTwoThirds_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.ThresholdTooLow.selector, 4, 5)); // ceil(14/3) = 5
        v.initialize(validatorAddrs, pqKeyHashes, 4, 5);
    }

    function test_initialize_weakThresholdWithTestFlag_succeeds() public {
        AttestationVerifier v = new AttestationVerifier(admin, true);
        vm.prank(admin);
        v.initialize(validatorAddrs, pqKeyHashes, 1, 1);
        vm.assertEq(v.threshold(), 1);
    }

    function test_initialize_unsortedSigners_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        (validatorAddrs[0], validatorAddrs[1]) = (validatorAddrs[1], validatorAddrs[0]);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.SignerNotAscending.selector, 1, validatorAddrs[1]));
        v.initialize(validatorAddrs, pqKeyHashes, 5, 6);
    }

    function test_initialize_emptySet_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        vm.prank(admin);
        vm.expectRevert(AttestationVerifier.EmptySignerSet.selector);
        v.initialize(new address[](0), new bytes32[](0), 1, 1);
    }

    function test_initialize_pqKeyCountMismatch_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        pqKeyHashes.pop();
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.PqKeyCountMismatch.selector, 7, 6));
        v.initialize(validatorAddrs, pqKeyHashes, 5, 6);
    }

    function test_initialize_largeThresholdOutOfRange_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.LargeThresholdOutOfRange.selector, 8, 5, 7));
        v.initialize(validatorAddrs, pqKeyHashes, 5, 8);
    }

    function test_initialize_notAdmin_reverts() public {
        AttestationVerifier v = new AttestationVerifier(admin, false);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), bytes32(0))
        );
        v.initialize(validatorAddrs, pqKeyHashes, 5, 6);
    }

    function test_proposeRotation_underThreshold_reverts() public {
        _deployBridge(7, 5, 6);
        bytes32 digest = verifier.rotationDigest(validatorAddrs, pqKeyHashes, 5, 6);
        Attestation memory att = _attest(digest, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, 4, 5));
        verifier.proposeRotation(validatorAddrs, pqKeyHashes, 5, 6, att);
        vm.assertEq(verifier.epoch(), 1);
    }

    function test_rotateValidators_staleBatchRoot_reverts() public {
        _deployBridge(7, 5, 6);
        bytes32 root = keccak256("some batch");
        Attestation memory rootAttestation = _attest(verifier.batchDigest(address(minter), root), 5);
        vm.prank(address(minter)); // the verifier caches roots for its caller
        verifier.verifyBatchRoot(root, rootAttestation);
        vm.assertEq(verifier.batchRootSignatures(address(minter), root), 5);
        _rotate(validatorAddrs, pqKeyHashes, 5, 6, 6);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.StaleEpoch.selector, 1, 2));
        verifier.batchRootSignatures(address(minter), root);
    }
}

/// @notice Native and batch legs, burns, held transfers, roles.
contract EndpointLifecycleTest is BridgeFixture {
    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000 ether);
    }

    function test_lockNative_mint_burn_unlock_roundTrip() public {
        BridgeMessage memory locked = _lockMessage(address(0), 3 ether, alice, bob);
        vm.prank(alice);
        vault.lockNative{value: 3 ether}(CHAIN, bob);
        minter.mint(locked, _attestMessage(locked, 5));
        vm.assertEq(wEth.balanceOf(bob), 3 ether);

        vm.prank(admin);
        ghost.mint(bob, 1 ether);
        vm.startPrank(bob);
        ghost.approve(address(feeManager), type(uint256).max);
        BridgeMessage memory burned = _burnMessage(wEth, 3 ether, bob, bob);
        vm.expectEmit(address(minter));
        emit BridgeMinter.Burned(BridgeMessages.id(burned), burned.nonce, CHAIN, burned);
        minter.burn(wEth, 3 ether, bob);
        vm.stopPrank();

        uint256 before = bob.balance;
        vault.unlock(burned, _attestMessage(burned, 5));
        vm.assertEq(bob.balance - before, 3 ether);
        vm.assertEq(vault.lockedTotal(address(0)) - vault.unlockedTotal(address(0)), wEth.totalSupply());
    }

    /// @dev Five members: an odd count, so the carried-up node of the in-contract root is covered.
    function _lockFive() internal returns (BridgeMessage[] memory locks, bytes32 root) {
        locks = new BridgeMessage[](5);
        for (uint256 i = 0; i < 5; ++i) {
            locks[i] = _lock(alice, (i + 1) * 1 ether, bob);
        }
        root = _merkleRoot(_leaves(locks));
    }

    function test_mintWholeBatch_releasesEveryMemberOnce() public {
        (BridgeMessage[] memory locks, bytes32 root) = _lockFive();
        minter.mintWholeBatch(locks, _attest(verifier.batchDigest(address(minter), root), 5));
        vm.assertEq(wGcc.balanceOf(bob), 15 ether);
        for (uint256 i = 0; i < 5; ++i) {
            vm.assertTrue(minter.isConsumed(CHAIN, locks[i].nonce));
        }
        // The same attested batch again: the first member is already consumed.
        Attestation memory again = _attest(verifier.batchDigest(address(minter), root), 5);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.AlreadyConsumed.selector, CHAIN, locks[0].nonce));
        minter.mintWholeBatch(locks, again);
    }

    function test_mintWholeBatch_subsetOrChangeOfAttestedBatch_reverts() public {
        (BridgeMessage[] memory locks, bytes32 root) = _lockFive();
        Attestation memory attestation = _attest(verifier.batchDigest(address(minter), root), 5);
        // Dropping a member changes the rebuilt root: the first signature already fails on it.
        BridgeMessage[] memory subset = new BridgeMessage[](4);
        for (uint256 i = 0; i < 4; ++i) {
            subset[i] = locks[i];
        }
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        minter.mintWholeBatch(subset, attestation);
        // So does a changed amount.
        locks[2].amount += 1;
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        minter.mintWholeBatch(locks, attestation);
        vm.assertEq(wGcc.totalSupply(), 0);
    }

    function test_mintWholeBatch_empty_reverts() public {
        BridgeMessage[] memory none = new BridgeMessage[](0);
        vm.expectRevert(BridgeMinter.EmptyBatch.selector);
        minter.mintWholeBatch(none, _attest(bytes32(uint256(1)), 5));
    }

    function test_unlockFromBatch_releasesEveryMemberOnce() public {
        BridgeMessage memory locked = _lock(alice, 50 ether, alice);
        minter.mint(locked, _attestMessage(locked, 5));
        BridgeMessage[] memory burns = new BridgeMessage[](3);
        vm.startPrank(alice);
        for (uint256 i = 0; i < 3; ++i) {
            burns[i] = _burnMessage(wGcc, 10 ether, alice, alice);
            minter.burn(wGcc, 10 ether, alice);
        }
        vm.stopPrank();
        bytes32[] memory leaves = _leaves(burns);
        bytes32 root = _merkleRoot(leaves);
        vault.verifyBatchRoot(root, _attest(verifier.batchDigest(address(vault), root), 5));
        uint256 before = gcc.balanceOf(alice);
        for (uint256 i = 0; i < 3; ++i) {
            vault.unlockFromBatch(burns[i], root, _merkleProof(leaves, i));
        }
        vm.assertEq(gcc.balanceOf(alice) - before, 30 ether);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.AlreadyConsumed.selector, CHAIN, burns[1].nonce));
        vault.unlockFromBatch(burns[1], root, _merkleProof(leaves, 1));
    }

    function test_executeHeld_beforeAndAfterDelay() public {
        vm.prank(admin);
        minter.setLargeAmount(address(wGcc), 1 ether);
        BridgeMessage memory large = _lock(alice, 5 ether, bob);
        minter.mint(large, _attestMessage(large, 6));
        bytes32 id = BridgeMessages.id(large);
        uint64 releaseAt = uint64(block.timestamp + DELAY);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.StillHeld.selector, id, releaseAt));
        minter.executeHeld(id);
        vm.warp(releaseAt);
        minter.executeHeld(id);
        vm.assertEq(wGcc.balanceOf(bob), 5 ether);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.NotHeld.selector, id));
        minter.executeHeld(id);
    }

    function test_cancelHeld_onlyGuardian() public {
        vm.prank(admin);
        minter.setLargeAmount(address(wGcc), 1 ether);
        BridgeMessage memory large = _lock(alice, 5 ether, bob);
        minter.mint(large, _attestMessage(large, 6));
        bytes32 id = BridgeMessages.id(large);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), minter.GUARDIAN_ROLE()
            )
        );
        minter.cancelHeld(id);
    }

    function test_unpause_onlyAdmin() public {
        vm.prank(guardianKey);
        guardian.pauseAll();
        vm.assertTrue(vault.paused() && minter.paused());
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, guardianKey, bytes32(0))
        );
        vm.prank(guardianKey);
        vault.unpause();
        vm.prank(admin);
        vault.unpause();
        vm.assertFalse(vault.paused());
    }

    /// After an operator unpaused only one endpoint, the guardian can still pause the chain again
    /// (pausing an already-paused endpoint would revert the whole pauseAll).
    function test_pauseAll_afterPartialUnpause_pausesAgain() public {
        vm.prank(guardianKey);
        guardian.pauseAll();
        vm.prank(admin);
        vault.unpause();
        vm.assertTrue(!vault.paused() && minter.paused());
        vm.prank(guardianKey);
        guardian.pauseAll();
        vm.assertTrue(vault.paused() && minter.paused());
    }

    function test_setters_areRoleGated() public {
        bytes32 role = vault.ROUTE_ADMIN_ROLE();
        bytes memory denied =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role);
        vm.startPrank(alice);
        vm.expectRevert(denied);
        vault.setRemote(1, alice);
        vm.expectRevert(denied);
        vault.setRateLimit(address(gcc), 1, true, 1, 1);
        vm.expectRevert(denied);
        vault.setLargeAmount(address(gcc), 1);
        vm.expectRevert(denied);
        minter.createWrappedToken(1, address(gcc), "x", "x", 18);
        vm.stopPrank();
    }

    function test_createWrappedToken_duplicateRoute_reverts() public {
        vm.prank(admin);
        vm.expectRevert(abi.encodeWithSelector(BridgeMinter.RouteExists.selector, CHAIN, address(gcc), address(wGcc)));
        minter.createWrappedToken(CHAIN, address(gcc), "again", "again", 18);
    }

    function test_wrappedToken_onlyMinterMintsAndBurns() public {
        vm.expectRevert(abi.encodeWithSelector(WrappedToken.OnlyMinter.selector, address(this)));
        wGcc.mint(address(this), 1);
        vm.expectRevert(abi.encodeWithSelector(WrappedToken.OnlyMinter.selector, address(this)));
        wGcc.burn(bob, 1);
        vm.assertEq(wGcc.originChainId(), CHAIN);
        vm.assertEq(wGcc.originToken(), address(gcc));
    }

    function test_burn_notWrappedToken_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(BridgeMinter.NotWrappedToken.selector, address(gcc)));
        minter.burn(WrappedToken(address(gcc)), 1, bob);
    }

    function test_lock_zeroAmountOrRecipientOrUnknownDestination_reverts() public {
        vm.startPrank(alice);
        vm.expectRevert(BridgeEndpoint.ZeroAddress.selector);
        vault.lockNative{value: 1}(CHAIN, address(0));
        vm.expectRevert(BridgeEndpoint.ZeroAmount.selector);
        vault.lockNative{value: 0}(CHAIN, bob);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.UnknownDestination.selector, uint64(5)));
        vault.lockNative{value: 1}(5, bob);
        vm.stopPrank();
    }
}
