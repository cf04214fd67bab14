// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {BridgeEndpoint} from "../src/BridgeEndpoint.sol";
import {RateLimits} from "../src/libraries/RateLimits.sol";
import {Attestation, BridgeMessage, BridgeMessages, Signature} from "../src/libraries/BridgeMessages.sol";

/// @notice The release revert paths the issue lists, each with its exact error, on `mint` (5 of 7).
contract MintRevertPathsTest is BridgeFixture {
    BridgeMessage internal message;

    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000_000 ether);
        message = _lock(alice, 10 ether, bob);
    }

    function test_mint_wrongChain_reverts() public {
        message.dstChainId = 999;
        Attestation memory att = _attestMessage(message, 5);
        vm.expectRevert(
            abi.encodeWithSelector(BridgeEndpoint.WrongDestinationChain.selector, uint64(999), block.chainid)
        );
        minter.mint(message, att);
    }

    function test_mint_wrongSourceContract_reverts() public {
        message.srcContract = address(0xBAD);
        Attestation memory att = _attestMessage(message, 5);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.UnknownSourceContract.selector, CHAIN, address(0xBAD)));
        minter.mint(message, att);
    }

    function test_mint_replayed_reverts() public {
        Attestation memory att = _attestMessage(message, 5);
        minter.mint(message, att);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.AlreadyConsumed.selector, CHAIN, message.nonce));
        minter.mint(message, att);
    }

    function test_mint_fewerThanThreshold_reverts() public {
        Attestation memory att = _attestMessage(message, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, 4, 5));
        minter.mint(message, att);
    }

    function test_mint_duplicateSigner_reverts() public {
        uint256[] memory indices = new uint256[](5);
        (indices[0], indices[1], indices[2], indices[3], indices[4]) = (0, 1, 2, 3, 3);
        Attestation memory att = _attestWith(_messageDigest(message), indices);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.DuplicateOrUnsortedSigner.selector, 4, 3));
        minter.mint(message, att);
    }

    function test_mint_signerNotInSet_reverts() public {
        Attestation memory att = _attestMessage(message, 5);
        // Signature slot 2 claims to be validator 2 but is made by a key outside the set.
        att.signatures[2] = _signCompact(0xDEAD, _messageDigest(message), 2);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 2, 2));
        minter.mint(message, att);
    }

    function test_mint_callerSuppliedSignerSet_reverts() public {
        Attestation memory att = _attestMessage(message, 5);
        att.signers[0] = address(0xBAD); // the caller's own "validator"
        bytes32 provided = keccak256(abi.encodePacked(att.signers));
        vm.expectRevert(
            abi.encodeWithSelector(AttestationVerifier.SignerSetMismatch.selector, provided, verifier.signerSetHash())
        );
        minter.mint(message, att);
    }

    function test_mint_staleEpoch_reverts() public {
        Attestation memory old = _attestMessage(message, 5); // signed for epoch 1
        _rotateToSameSet();
        // The same set signed, but for epoch 1: the digest now commits to epoch 2, so recovery fails.
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        minter.mint(message, old);
    }

    function test_mint_paused_reverts() public {
        Attestation memory att = _attestMessage(message, 5);
        vm.prank(guardianKey);
        guardian.pauseAll();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        minter.mint(message, att);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(alice);
        vault.lock(address(gcc), 1 ether, CHAIN, bob);
    }

    function test_mint_overRateLimit_reverts() public {
        vm.prank(admin);
        minter.setRateLimit(address(wGcc), CHAIN, true, 12 ether, 1 ether);
        minter.mint(message, _attestMessage(message, 5)); // 12 → 2 left
        BridgeMessage memory second = _lock(alice, 10 ether, bob);
        Attestation memory att = _attestMessage(second, 5);
        vm.expectRevert(
            abi.encodeWithSelector(RateLimits.RateLimited.selector, address(wGcc), CHAIN, 10 ether, 2 ether, 8)
        );
        minter.mint(second, att);
        vm.warp(block.timestamp + 8);
        minter.mint(second, att); // refilled after exactly the advertised wait
        vm.assertEq(wGcc.balanceOf(bob), 20 ether);
    }

    function test_mint_aboveBucketCapacity_revertsWithNeverRetry() public {
        vm.prank(admin);
        minter.setRateLimit(address(wGcc), CHAIN, true, 5 ether, 1 ether);
        Attestation memory att = _attestMessage(message, 5);
        vm.expectRevert(
            abi.encodeWithSelector(
                RateLimits.RateLimited.selector, address(wGcc), CHAIN, 10 ether, 5 ether, type(uint256).max
            )
        );
        minter.mint(message, att);
    }

    function test_mint_largeTransferWithoutHigherThreshold_reverts() public {
        vm.prank(admin);
        minter.setLargeAmount(address(wGcc), 5 ether);
        Attestation memory att = _attestMessage(message, 5);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.LargeTransferNeedsMoreSignatures.selector, 5, 6));
        minter.mint(message, att);
        minter.mint(message, _attestMessage(message, 6));
        vm.assertEq(wGcc.balanceOf(bob), 0, "large transfer must be held, not minted");
        vm.assertEq(
            uint256(minter.heldTransfer(BridgeMessages.id(message)).status), uint256(BridgeEndpoint.HeldStatus.Held)
        );
    }

    function test_mintFromBatch_badMerkleProof_reverts() public {
        BridgeMessage[] memory messages = new BridgeMessage[](2);
        messages[0] = message;
        messages[1] = _lock(alice, 1 ether, bob);
        bytes32[] memory leaves = _leaves(messages);
        bytes32 root = _merkleRoot(leaves);
        Attestation memory rootAttestation = _attest(verifier.batchDigest(address(minter), root), 5);
        vm.prank(address(minter)); // the verifier caches roots for its caller
        verifier.verifyBatchRoot(root, rootAttestation);
        bytes32[] memory wrongProof = _merkleProof(leaves, 0); // proof of member 0 used for member 1
        vm.expectRevert(
            abi.encodeWithSelector(BridgeEndpoint.InvalidMerkleProof.selector, BridgeMessages.id(messages[1]), root)
        );
        minter.mintFromBatch(messages[1], root, wrongProof);
    }

    function testFuzz_mint_signerSubsets(uint256 mask) public {
        mask = bound(mask, 1, 2 ** 7 - 1);
        uint256 count = 0;
        for (uint256 i = 0; i < 7; ++i) {
            if (mask & (1 << i) != 0) ++count;
        }
        uint256[] memory indices = new uint256[](count);
        uint256 k = 0;
        for (uint256 i = 0; i < 7; ++i) {
            if (mask & (1 << i) != 0) indices[k++] = i;
        }
        Attestation memory att = _attestWith(_messageDigest(message), indices);
        if (count < 5) {
            vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, count, 5));
        }
        minter.mint(message, att);
        if (count >= 5) vm.assertEq(wGcc.balanceOf(bob), 10 ether);
    }

    function testFuzz_lock_anyAmountAndRecipient_mintsExactly(uint256 amount, address recipient) public {
        vm.assume(recipient != address(0));
        amount = bound(amount, 1, 100_000 ether);
        BridgeMessage memory m = _lock(alice, amount, recipient);
        uint256 before = wGcc.balanceOf(recipient);
        minter.mint(m, _attestMessage(m, 5));
        vm.assertEq(wGcc.balanceOf(recipient) - before, amount);
    }

    /// @dev Rotation to the same set: epoch 2, proposed by 6 of epoch 1, executed after the delay.
    function _rotateToSameSet() internal {
        _rotate(validatorAddrs, pqKeyHashes, 5, 6, 6);
        vm.assertEq(verifier.epoch(), 2);
    }
}
