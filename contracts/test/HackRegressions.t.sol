// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {BridgeEndpoint} from "../src/BridgeEndpoint.sol";
import {RateLimits} from "../src/libraries/RateLimits.sol";
import {Attestation, BridgeMessage, BridgeMessages, Signature} from "../src/libraries/BridgeMessages.sol";

/// @notice Regressions drawn from real bridge hacks, each named after what it guards (5 of 7).
contract HackRegressionsTest is BridgeFixture {
    BridgeMessage internal message;

    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 10_000_000 ether);
        message = _lock(alice, 10 ether, bob);
    }

    // ---- Nomad (2022): a zero root was accepted as proven, so any message passed.

    function test_nomad_unattestedMessage_cannotBeReleased() public {
        Attestation memory none;
        none.signers = validatorAddrs;
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, 0, 5));
        minter.mint(message, none);
    }

    function test_nomad_zeroRoot_isNeverAccepted() public {
        Attestation memory att = _attest(verifier.batchDigest(address(minter), bytes32(0)), 5);
        vm.expectRevert(AttestationVerifier.ZeroDigest.selector);
        vm.prank(address(minter)); // the verifier caches roots for its caller
        verifier.verifyBatchRoot(bytes32(0), att);
        // No leaf hashes to zero, so no proof can reach a zero root; and no zero root is ever cached.
        vm.expectRevert(
            abi.encodeWithSelector(BridgeEndpoint.InvalidMerkleProof.selector, BridgeMessages.id(message), bytes32(0))
        );
        minter.mintFromBatch(message, bytes32(0), new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.UnknownBatchRoot.selector, bytes32(0)));
        verifier.batchRootSignatures(address(minter), bytes32(0));
    }

    function test_nomad_reinitialisation_reverts() public {
        vm.prank(admin);
        vm.expectRevert(Initializable.InvalidInitialization.selector);
        verifier.initialize(validatorAddrs, pqKeyHashes, 5, 6);
    }

    function test_nomad_uninitialisedVerifier_acceptsNothing() public {
        AttestationVerifier fresh = new AttestationVerifier(admin, false);
        Attestation memory att = _attestMessage(message, 5);
        vm.expectRevert(AttestationVerifier.NotInitialized.selector);
        fresh.verifyMessage(BridgeMessages.id(message), att);
    }

    // ---- Wormhole (2022): a caller-supplied account stood in for the real signature check.

    function test_wormhole_callerSuppliedSignerSet_isNotTrusted() public {
        // The attacker signs with 5 keys of their own and passes their own "set".
        Attestation memory forged = _attestMessage(message, 5);
        for (uint256 i = 0; i < 5; ++i) {
            uint256 key = 0xA77AC0 + i;
            forged.signers[i] = vm.addr(key);
            forged.signatures[i] = _signCompact(key, _messageDigest(message), uint8(i));
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                AttestationVerifier.SignerSetMismatch.selector,
                keccak256(abi.encodePacked(forged.signers)),
                verifier.signerSetHash()
            )
        );
        minter.mint(message, forged);
    }

    function test_wormhole_attackerVerifier_doesNotCount() public {
        // A verifier the attacker controls says yes; the minter only asks its pinned verifier.
        _makeValidators(3);
        AttestationVerifier fake = new AttestationVerifier(address(this), true);
        fake.initialize(validatorAddrs, pqKeyHashes, 1, 1);
        bytes32 fakeDigest = fake.messageDigest(address(minter), BridgeMessages.id(message));
        Attestation memory att = _attest(fakeDigest, 1);
        vm.prank(address(minter));
        vm.assertGt(fake.verifyMessage(BridgeMessages.id(message), att), 0);
        vm.assertEq(address(minter.verifier()), address(verifier));
        vm.expectRevert(); // signer set and digest both belong to the fake verifier
        minter.mint(message, att);
    }

    // ---- Ronin (2022): keys that should no longer count still did.

    function test_ronin_rotatedOutKey_fails() public {
        uint256[] memory oldKeys = validatorKeys;
        address[] memory oldSet = validatorAddrs;
        bytes32[] memory oldPq = pqKeyHashes;
        // New set: 7 fresh keys (seeded differently), rotation proposed by 6 of the old set (the
        // large threshold) and executed after the delay.
        uint256[] memory newKeys = new uint256[](7);
        for (uint256 i = 0; i < 7; ++i) {
            newKeys[i] = uint256(keccak256(abi.encode("rotated", i))) % (2 ** 250) + 1;
        }
        address[] memory newSet = _sortKeysByAddress(newKeys);
        _rotate(newSet, oldPq, 5, 6, 6);

        // The old set signs for the current epoch: refused, its set hash no longer matches.
        validatorKeys = oldKeys;
        validatorAddrs = oldSet;
        Attestation memory stale = _attestMessage(message, 5);
        vm.expectRevert(
            abi.encodeWithSelector(
                AttestationVerifier.SignerSetMismatch.selector,
                keccak256(abi.encodePacked(oldSet)),
                verifier.signerSetHash()
            )
        );
        minter.mint(message, stale);

        // The new set works.
        validatorKeys = newKeys;
        validatorAddrs = newSet;
        minter.mint(message, _attestMessage(message, 5));
        vm.assertEq(wGcc.balanceOf(bob), 10 ether);
    }

    function test_ronin_neverRegisteredKey_fails() public {
        Attestation memory att = _attestMessage(message, 5);
        att.signatures[4] = _signCompact(0x5EED, _messageDigest(message), 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 4, 4));
        minter.mint(message, att);
    }

    // ---- Harmony / Orbit (2022, 2024): stolen threshold keys drained everything at once.

    function test_harmony_drainWithStolenKeys_boundedByRateLimit() public {
        vm.prank(admin);
        minter.setRateLimit(address(wGcc), CHAIN, true, 100 ether, 1 ether); // 100 at once, 1/s
        uint256 drained = 0;
        uint256 start = block.timestamp;
        // The attacker holds 5 keys and forges 50 messages of 10 each from a real-looking vault.
        for (uint256 n = 0; n < 50; ++n) {
            BridgeMessage memory forged = _lockMessage(address(gcc), 10 ether, address(0xBAD), address(0xBAD));
            forged.nonce = uint64(1000 + n);
            try minter.mint(forged, _attestMessage(forged, 5)) {
                drained += 10 ether;
            } catch {}
            vm.warp(block.timestamp + 1);
        }
        uint256 elapsed = block.timestamp - start;
        vm.assertLe(drained, 100 ether + elapsed * 1 ether, "drain exceeded capacity + refill");
        vm.assertGe(drained, 100 ether, "the test must actually reach the limit");
        vm.assertLt(drained, 500 ether, "the limit must have stopped part of the drain");
        vm.assertEq(wGcc.balanceOf(address(0xBAD)), drained);
    }

    function test_orbit_largeForgedTransfer_heldAndCancelled() public {
        vm.prank(admin);
        minter.setLargeAmount(address(wGcc), 1_000 ether);
        BridgeMessage memory forged = _lockMessage(address(gcc), 500_000 ether, address(0xBAD), address(0xBAD));
        forged.nonce = 4242;
        // Even with the large threshold stolen, the transfer is only held…
        minter.mint(forged, _attestMessage(forged, 6));
        vm.assertEq(wGcc.balanceOf(address(0xBAD)), 0);
        bytes32 id = BridgeMessages.id(forged);
        // …and the guardian cancels it during the delay.
        vm.prank(guardianKey);
        minter.cancelHeld(id);
        vm.warp(block.timestamp + DELAY + 1);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.NotHeld.selector, id));
        minter.executeHeld(id);
        vm.assertEq(wGcc.balanceOf(address(0xBAD)), 0);
    }
}
