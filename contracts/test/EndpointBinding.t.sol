// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BridgeEndpoint} from "../src/BridgeEndpoint.sol";
import {BridgeVault} from "../src/BridgeVault.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "../src/libraries/BridgeMessages.sol";

/// @notice Issue 11 item 9: the vault and the minter of one chain share one verifier, so what
/// validators sign must name the releasing endpoint, and the two must never accept the same
/// remote. 1-of-1 validator set: one key is all an attacker needs to hold.
contract EndpointBindingTest is BridgeFixture {
    uint64 internal constant REMOTE_CHAIN = 777;
    // Known-answer vector shared with core/src/protocol.rs.
    address internal constant KAT_VERIFIER = 0x5FbDB2315678afecb367f032d93F642f64180aa3;
    address internal constant KAT_ENDPOINT = 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512;
    bytes32 internal constant KAT_ID = keccak256("ghostbridge kat message");
    bytes32 internal constant KAT_ROOT = keccak256("ghostbridge kat batch");
    bytes32 internal constant KAT_MESSAGE_DIGEST = 0x7cb0ab6c2039878dea625c2236cf728d7ccb05772256c8c5faabe76b694e0f1b;
    bytes32 internal constant KAT_BATCH_DIGEST = 0x26dcb93e1c13fb438c30f4049efcb464020a60ca34e251111a785d2ea5f81cc8;
    address internal constant REMOTE = address(0x7E307E);

    WrappedToken internal wRemoteGcc;

    function setUp() public {
        _deployBridge(1, 1, 1);
        _fund(alice, 1_000 ether);
        // The vault holds GCC of earlier locks (what a double release would drain).
        _lock(alice, 100 ether, bob);
        vm.startPrank(admin);
        wRemoteGcc = minter.createWrappedToken(REMOTE_CHAIN, address(gcc), "Wrapped GCC", "wGCC", 18);
        vault.setRateLimit(address(gcc), REMOTE_CHAIN, true, BUCKET, REFILL);
        minter.setRateLimit(address(wRemoteGcc), REMOTE_CHAIN, true, BUCKET, REFILL);
        minter.setReleaseShare(address(wRemoteGcc), 10_000, 1 days, BUCKET); // issue 11 #7: windows are closed until set
        vm.stopPrank();
    }

    /// @dev The digest the verifier computes for `endpoint` releasing message `id`.
    function _digestFor(address endpoint, bytes32 id) internal view returns (bytes32) {
        return verifier.messageDigest(endpoint, id);
    }

    function _batchDigestFor(address endpoint, bytes32 root) internal view returns (bytes32) {
        return verifier.batchDigest(endpoint, root);
    }

    function _remoteMessage(uint64 nonce, uint256 amount) internal pure returns (BridgeMessage memory) {
        return BridgeMessage({
            version: 1,
            srcChainId: REMOTE_CHAIN,
            dstChainId: CHAIN,
            srcContract: REMOTE,
            nonce: nonce,
            token: address(0xC0FFEE), // replaced by the caller: pure helpers cannot read gcc
            amount: amount,
            sender: address(0xBAD),
            recipient: address(0xBAD)
        });
    }

    /// @dev Registers REMOTE on the vault the proper way, then writes the same route into the
    /// minter's storage directly: the misconfiguration `setRemote` now refuses, forced in, so the
    /// digest binding is shown to hold on its own.
    function _forceSameRemoteOnBoth() internal {
        vm.prank(admin);
        vault.setRemote(REMOTE_CHAIN, REMOTE);
        bytes32 slot = _remotesEntrySlot(address(vault), REMOTE_CHAIN, REMOTE);
        vm.store(address(minter), slot, bytes32(uint256(uint160(REMOTE))));
        vm.assertEq(minter.remoteOf(REMOTE_CHAIN), REMOTE);
        vm.assertEq(vault.remoteOf(REMOTE_CHAIN), REMOTE);
    }

    /// @dev Finds the storage slot of `_remotes[chainId]` (BridgeEndpoint's layout is shared by
    /// vault and minter) by scanning the mapping slots for the value `setRemote` wrote.
    function _remotesEntrySlot(address endpoint, uint64 chainId, address expected) internal view returns (bytes32) {
        for (uint256 s = 0; s < 64; ++s) {
            bytes32 slot = keccak256(abi.encode(uint256(chainId), s));
            if (vm.load(endpoint, slot) == bytes32(uint256(uint160(expected)))) return slot;
        }
        revert("remotes slot not found");
    }

    // ---------------------------------------------------------------- digest binds the endpoint

    function test_minterAttestation_refusedByVault_evenWithSameRemote() public {
        _forceSameRemoteOnBoth();
        BridgeMessage memory message = _remoteMessage(1, 40 ether);
        message.token = address(gcc);
        bytes32 id = BridgeMessages.id(message);
        Attestation memory forMinter = _attest(_digestFor(address(minter), id), 1);

        minter.mint(message, forMinter);
        vm.assertEq(wRemoteGcc.balanceOf(address(0xBAD)), 40 ether);

        // The same attestation must not also unlock the vault's GCC.
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        vault.unlock(message, forMinter);
        vm.assertEq(gcc.balanceOf(address(0xBAD)), 0);
    }

    function test_minterBatchRoot_refusedByVault_evenWithSameRemote() public {
        _forceSameRemoteOnBoth();
        BridgeMessage[] memory messages = new BridgeMessage[](2);
        for (uint256 i = 0; i < 2; ++i) {
            messages[i] = _remoteMessage(uint64(i + 1), 20 ether);
            messages[i].token = address(gcc);
        }
        bytes32[] memory leaves = _leaves(messages);
        bytes32 root = _merkleRoot(leaves);
        bytes32[][] memory proofs = new bytes32[][](2);
        for (uint256 i = 0; i < 2; ++i) {
            proofs[i] = _merkleProof(leaves, i);
        }

        minter.mintBatch(messages, root, proofs, _attest(_batchDigestFor(address(minter), root), 1));
        vm.assertEq(wRemoteGcc.balanceOf(address(0xBAD)), 40 ether);

        // The root the minter cached is the minter's, not the vault's.
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.UnknownBatchRoot.selector, root));
        vault.unlockFromBatch(messages[0], root, proofs[0]);
        vm.assertEq(gcc.balanceOf(address(0xBAD)), 0);
    }

    function test_attestationForOneEndpoint_refusedByTheOther() public {
        // A genuine lock, attested for the minter (its real destination) …
        BridgeMessage memory locked = _lock(alice, 5 ether, bob);
        bytes32 id = BridgeMessages.id(locked);
        Attestation memory forMinter = _attest(_digestFor(address(minter), id), 1);
        // … is refused by the vault before any route check: the signature is not over the vault.
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        vault.unlock(locked, forMinter);
        // And an attestation made for the vault does not mint.
        Attestation memory forVault = _attest(_digestFor(address(vault), id), 1);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        minter.mint(locked, forVault);
        minter.mint(locked, forMinter);
        vm.assertEq(wGcc.balanceOf(bob), 5 ether);
    }

    function test_verifyBatchRoot_bindsTheCaller() public {
        bytes32 root = keccak256("a batch for the minter");
        Attestation memory forMinter = _attest(_batchDigestFor(address(minter), root), 1);
        // Anyone else presenting it (here: a relayer calling the verifier directly) is refused …
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        vm.prank(alice);
        verifier.verifyBatchRoot(root, forMinter);
        // … including the vault, through its own entry point.
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0));
        vault.verifyBatchRoot(root, forMinter);
        // The minter's cache entry is the minter's alone.
        vm.prank(address(minter));
        verifier.verifyBatchRoot(root, forMinter);
        vm.assertEq(verifier.batchRootSignatures(address(minter), root), 1);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.UnknownBatchRoot.selector, root));
        verifier.batchRootSignatures(address(vault), root);
    }

    // ---------------------------------------------------------------- setRemote refuses the overlap

    function test_setRemote_sameRemoteOnBothEndpoints_reverts() public {
        vm.startPrank(admin);
        vault.setRemote(REMOTE_CHAIN, REMOTE);
        vm.expectRevert(
            abi.encodeWithSignature(
                "RemoteClaimedByOtherEndpoint(uint64,address,address)", REMOTE_CHAIN, REMOTE, address(vault)
            )
        );
        minter.setRemote(REMOTE_CHAIN, REMOTE);
        vm.stopPrank();
        vm.assertEq(minter.remoteOf(REMOTE_CHAIN), address(0));
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, REMOTE), address(vault));
    }

    function test_setRemote_fixtureRoutesAreClaimed() public view {
        vm.assertEq(verifier.remoteOwner(CHAIN, address(minter)), address(vault));
        vm.assertEq(verifier.remoteOwner(CHAIN, address(vault)), address(minter));
    }

    function test_setRemote_changedOrClosedRoute_releasesItsClaim() public {
        vm.startPrank(admin);
        vault.setRemote(REMOTE_CHAIN, REMOTE);
        vault.setRemote(REMOTE_CHAIN, REMOTE); // setting the same route again is fine
        // Changed: the vault now accepts another remote, so REMOTE is free for the minter.
        vault.setRemote(REMOTE_CHAIN, address(0xA1B2));
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, REMOTE), address(0));
        minter.setRemote(REMOTE_CHAIN, REMOTE);
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, REMOTE), address(minter));
        // Closed: the minter's claim goes, and the vault may take REMOTE back.
        vm.expectRevert(
            abi.encodeWithSelector(
                AttestationVerifier.RemoteClaimedByOtherEndpoint.selector, REMOTE_CHAIN, REMOTE, address(minter)
            )
        );
        vault.setRemote(REMOTE_CHAIN, REMOTE);
        minter.setRemote(REMOTE_CHAIN, address(0));
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, REMOTE), address(0));
        vault.setRemote(REMOTE_CHAIN, REMOTE);
        vm.stopPrank();
        vm.assertEq(vault.remoteOf(REMOTE_CHAIN), REMOTE);
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, REMOTE), address(vault));
        vm.assertEq(verifier.remoteOwner(REMOTE_CHAIN, address(0xA1B2)), address(0));
    }

    function test_claimRemote_onlyRegisteredEndpoints() public {
        bytes32 role = verifier.ENDPOINT_ROLE();
        // Neither a stranger nor the verifier admin itself may claim a route.
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        verifier.claimRemote(REMOTE_CHAIN, REMOTE);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        verifier.claimRemote(REMOTE_CHAIN, REMOTE);
        // An endpoint the verifier admin did not register cannot open a route at all.
        BridgeVault stray = new BridgeVault(admin, verifier, feeManager, DELAY);
        vm.startPrank(admin);
        stray.grantRole(stray.ROUTE_ADMIN_ROLE(), admin);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, address(stray), role)
        );
        stray.setRemote(REMOTE_CHAIN, REMOTE);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- known-answer vector (Rust)

    /// @dev The same vector is pinned in core/src/protocol.rs
    /// (`digests_match_the_verifier_known_answer_vector`): the Rust digests equal the verifier's
    /// views, and the typehash strings are spelled out here, not taken from the library.
    function test_digests_knownAnswerVector_sharedWithRust() public {
        vm.chainId(31337);
        // The verifier's code at a pinned address, with the storage of one initialised at epoch 1
        // (the plain slots; the digest views read only the packed config among them).
        AttestationVerifier v = new AttestationVerifier(admin, false);
        address[] memory one = new address[](1);
        one[0] = address(0x1111);
        bytes32[] memory pq = new bytes32[](1);
        pq[0] = keccak256("pq");
        vm.prank(admin);
        v.initialize(one, pq, 1, 1);
        vm.etch(KAT_VERIFIER, address(v).code);
        for (uint256 slot = 0; slot < 32; ++slot) {
            vm.store(KAT_VERIFIER, bytes32(slot), vm.load(address(v), bytes32(slot)));
        }
        AttestationVerifier kat = AttestationVerifier(KAT_VERIFIER);
        vm.assertEq(kat.epoch(), 1);

        bytes32 separator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("GhostBridge"),
                keccak256("1"),
                uint256(31337),
                KAT_VERIFIER
            )
        );
        vm.assertEq(kat.domainSeparator(), separator);
        bytes32 messageDigest = keccak256(
            abi.encodePacked(
                hex"1901",
                separator,
                keccak256(
                    abi.encode(
                        keccak256("MessageAttestation(bytes32 messageId,uint64 epoch,address endpoint)"),
                        KAT_ID,
                        uint64(1),
                        KAT_ENDPOINT
                    )
                )
            )
        );
        bytes32 batchDigest = keccak256(
            abi.encodePacked(
                hex"1901",
                separator,
                keccak256(
                    abi.encode(
                        keccak256("BatchAttestation(bytes32 root,uint64 epoch,address endpoint)"),
                        KAT_ROOT,
                        uint64(1),
                        KAT_ENDPOINT
                    )
                )
            )
        );
        vm.assertEq(kat.messageDigest(KAT_ENDPOINT, KAT_ID), messageDigest);
        vm.assertEq(kat.batchDigest(KAT_ENDPOINT, KAT_ROOT), batchDigest);
        vm.assertEq(messageDigest, KAT_MESSAGE_DIGEST, "pinned message digest (also in Rust)");
        vm.assertEq(batchDigest, KAT_BATCH_DIGEST, "pinned batch digest (also in Rust)");
        // Another endpoint, another digest.
        vm.assertNotEq(kat.messageDigest(address(0xE2), KAT_ID), messageDigest);
    }
}

/// @notice Issue 11 item 10: inner Merkle nodes are hashed commutatively (OpenZeppelin), so the
/// attestation binds the SET of members, not their order: swapping two siblings keeps the root.
/// Harmless: each member is a distinct message id released at most once, whatever its position.
contract BatchOrderTest is BridgeFixture {
    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000 ether);
    }

    function _lockFive() internal returns (BridgeMessage[] memory locks, bytes32 root) {
        locks = new BridgeMessage[](5);
        for (uint256 i = 0; i < 5; ++i) {
            locks[i] = _lock(alice, (i + 1) * 1 ether, bob);
        }
        root = _merkleRoot(_leaves(locks));
    }

    function test_mintWholeBatch_siblingSwap_keepsTheRoot_andReleasesEachOnce() public {
        (BridgeMessage[] memory locks, bytes32 root) = _lockFive();
        Attestation memory attestation = _attest(verifier.batchDigest(address(minter), root), 5);
        // Members 0 and 1 are siblings at the bottom level: swapped, the root is the same.
        BridgeMessage[] memory swapped = new BridgeMessage[](5);
        for (uint256 i = 0; i < 5; ++i) {
            swapped[i] = locks[i];
        }
        (swapped[0], swapped[1]) = (locks[1], locks[0]);
        vm.assertEq(_merkleRoot(_leaves(swapped)), root);
        // So the attestation over the original order releases the swapped batch, each member once.
        minter.mintWholeBatch(swapped, attestation);
        vm.assertEq(wGcc.balanceOf(bob), 15 ether);
        for (uint256 i = 0; i < 5; ++i) {
            vm.assertTrue(minter.isConsumed(CHAIN, locks[i].nonce));
        }
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.AlreadyConsumed.selector, CHAIN, locks[1].nonce));
        minter.mintWholeBatch(swapped, attestation);
    }

    function test_mintWholeBatch_setIsBound_dropAddChange_reverts() public {
        (BridgeMessage[] memory locks, bytes32 root) = _lockFive();
        Attestation memory attestation = _attest(verifier.batchDigest(address(minter), root), 5);
        bytes memory invalid = abi.encodeWithSelector(AttestationVerifier.InvalidSignature.selector, 0, 0);
        // Dropped member.
        BridgeMessage[] memory dropped = new BridgeMessage[](4);
        for (uint256 i = 0; i < 4; ++i) {
            dropped[i] = locks[i];
        }
        vm.expectRevert(invalid);
        minter.mintWholeBatch(dropped, attestation);
        // Added member (a real lock that was not attested in this batch).
        BridgeMessage[] memory added = new BridgeMessage[](6);
        for (uint256 i = 0; i < 5; ++i) {
            added[i] = locks[i];
        }
        added[5] = _lock(alice, 6 ether, bob);
        vm.expectRevert(invalid);
        minter.mintWholeBatch(added, attestation);
        // Changed member.
        BridgeMessage[] memory changed = new BridgeMessage[](5);
        for (uint256 i = 0; i < 5; ++i) {
            changed[i] = locks[i];
        }
        changed[2].amount += 1;
        vm.expectRevert(invalid);
        minter.mintWholeBatch(changed, attestation);
        // A reorder that is not a sibling swap (0 <-> 2) changes the root here: positions are
        // partly bound, but the protocol relies only on the set.
        BridgeMessage[] memory moved = new BridgeMessage[](5);
        for (uint256 i = 0; i < 5; ++i) {
            moved[i] = locks[i];
        }
        (moved[0], moved[2]) = (locks[2], locks[0]);
        vm.assertNotEq(_merkleRoot(_leaves(moved)), root);
        vm.assertEq(wGcc.totalSupply(), 0);
    }
}
