// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BridgeFixture} from "./utils/BridgeFixture.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {BridgeEndpoint} from "../src/BridgeEndpoint.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "../src/libraries/BridgeMessages.sol";

/// @notice Issue 11, item 8: rotation needs the LARGE threshold of the current set, waits
/// `rotationDelay`, and the guardian can cancel it. With threshold-but-not-large keys an attacker
/// can no longer install its own set and then pass the large-transfer rule.
contract RotationDelayTest is BridgeFixture {
    uint256[] internal attackerKeys;
    address[] internal attackerSet;

    function setUp() public {
        _deployBridge(7, 5, 6);
        uint256[] memory keys = new uint256[](7);
        for (uint256 i = 0; i < 7; ++i) {
            keys[i] = uint256(keccak256(abi.encode("attacker", i))) % (2 ** 250) + 1;
        }
        attackerSet = _sortKeysByAddress(keys);
        attackerKeys = keys;
    }

    function _rotationAttestation(address[] memory set, uint8 m, uint8 large, uint256 signers)
        internal
        view
        returns (Attestation memory)
    {
        return _attest(verifier.rotationDigest(set, pqKeyHashes, m, large), signers);
    }

    function _propose(address[] memory set, uint256 signers) internal returns (uint64 executableAt) {
        Attestation memory att = _rotationAttestation(set, 5, 6, signers);
        executableAt = verifier.proposeRotation(set, pqKeyHashes, 5, 6, att);
    }

    function test_rotationDelay_defaultsToAtLeastTheMinimum() public view {
        vm.assertGe(verifier.rotationDelay(), verifier.MIN_ROTATION_DELAY());
    }

    function test_proposeRotation_thresholdButNotLargeKeys_reverts() public {
        // 5 of 7 is the normal threshold; the large threshold is 6.
        Attestation memory att = _rotationAttestation(attackerSet, 5, 6, 5);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, 5, 6));
        verifier.proposeRotation(attackerSet, pqKeyHashes, 5, 6, att);
        vm.assertEq(verifier.epoch(), 1);
    }

    /// @dev The issue's attack: 3 of 4 keys (threshold 3, large 4) replaced the set with 4
    /// attacker keys at once and then passed the 4-of-4 rule. Now 3 keys cannot even propose.
    function test_threeOfFourKeys_cannotInstallTheirOwnSet() public {
        _deployBridge(4, 3, 4);
        uint256[] memory keys = new uint256[](4);
        for (uint256 i = 0; i < 4; ++i) {
            keys[i] = uint256(keccak256(abi.encode("attacker4", i))) % (2 ** 250) + 1;
        }
        address[] memory evil = _sortKeysByAddress(keys);
        Attestation memory att = _attest(verifier.rotationDigest(evil, pqKeyHashes, 4, 4), 3);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.InsufficientSignatures.selector, 3, 4));
        verifier.proposeRotation(evil, pqKeyHashes, 4, 4, att);
        vm.assertEq(verifier.epoch(), 1);
    }

    function test_executeRotation_beforeDelay_reverts() public {
        uint64 executableAt = _propose(attackerSet, 6);
        vm.assertEq(executableAt, block.timestamp + verifier.rotationDelay());
        vm.warp(executableAt - 1);
        vm.expectRevert(abi.encodeWithSelector(AttestationVerifier.RotationNotReady.selector, executableAt));
        verifier.executeRotation(attackerSet, pqKeyHashes, 5, 6);
        vm.assertEq(verifier.epoch(), 1);
    }

    function test_executeRotation_afterDelay_voidsOldAttestations() public {
        BridgeMessage memory message = _lockMessage(address(gcc), 1 ether, alice, bob);
        _fund(alice, 10 ether);
        vm.prank(alice);
        vault.lock(address(gcc), 1 ether, CHAIN, bob);
        Attestation memory old = _attestMessage(message, 5);

        uint64 executableAt = _propose(attackerSet, 6);
        vm.assertEq(verifier.epoch(), 1, "a proposal changes nothing yet");
        vm.warp(executableAt);
        vm.prank(address(0xD00D)); // anyone may execute
        verifier.executeRotation(attackerSet, pqKeyHashes, 5, 6);
        vm.assertEq(verifier.epoch(), 2);
        vm.assertEq(verifier.signerSetHash(), keccak256(abi.encodePacked(attackerSet)));

        // An attestation of the old epoch no longer counts.
        vm.expectRevert();
        minter.mint(message, old);
        // The new set signs for the new epoch.
        validatorKeys = attackerKeys;
        validatorAddrs = attackerSet;
        minter.mint(message, _attestMessage(message, 5));
        vm.assertEq(wGcc.balanceOf(bob), 1 ether);
    }

    function test_executeRotation_otherSetThanProposed_reverts() public {
        uint64 executableAt = _propose(attackerSet, 6);
        vm.warp(executableAt);
        vm.expectRevert();
        verifier.executeRotation(attackerSet, pqKeyHashes, 5, 5);
        vm.expectRevert();
        verifier.executeRotation(validatorAddrs, pqKeyHashes, 5, 6);
    }

    function test_cancelRotation_byGuardian_stopsIt() public {
        uint64 executableAt = _propose(attackerSet, 6);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), verifier.GUARDIAN_ROLE()
            )
        );
        verifier.cancelRotation();
        vm.prank(guardianKey);
        verifier.cancelRotation();
        vm.warp(executableAt);
        vm.expectRevert(AttestationVerifier.NoPendingRotation.selector);
        verifier.executeRotation(attackerSet, pqKeyHashes, 5, 6);
        vm.assertEq(verifier.epoch(), 1);
    }

    function test_proposeRotation_whilePending_reverts() public {
        _propose(attackerSet, 6);
        Attestation memory att = _rotationAttestation(validatorAddrs, 5, 6, 7);
        vm.expectRevert();
        verifier.proposeRotation(validatorAddrs, pqKeyHashes, 5, 6, att);
    }

    function test_proposeRotation_emitsWhatTheWatcherNeeds() public {
        Attestation memory att = _rotationAttestation(attackerSet, 5, 6, 6);
        bytes32 proposal = verifier.rotationDigest(attackerSet, pqKeyHashes, 5, 6);
        vm.expectEmit(address(verifier));
        emit AttestationVerifier.RotationProposed(
            2, proposal, uint64(block.timestamp) + verifier.rotationDelay(), attackerSet, pqKeyHashes, 5, 6, 6
        );
        verifier.proposeRotation(attackerSet, pqKeyHashes, 5, 6, att);
        (bytes32 pendingHash, uint64 pendingEpoch, uint64 executableAt) = verifier.pendingRotation();
        vm.assertEq(pendingHash, proposal);
        vm.assertEq(pendingEpoch, 1);
        vm.assertEq(executableAt, block.timestamp + verifier.rotationDelay());
    }

    function test_setRotationDelay_belowMinimum_reverts() public {
        uint64 minimum = verifier.MIN_ROTATION_DELAY();
        vm.prank(admin);
        vm.expectRevert(
            abi.encodeWithSelector(AttestationVerifier.RotationDelayTooShort.selector, minimum - 1, minimum)
        );
        verifier.setRotationDelay(minimum - 1);
        vm.prank(admin);
        verifier.setRotationDelay(minimum);
        vm.assertEq(verifier.rotationDelay(), minimum);
        vm.expectRevert();
        verifier.setRotationDelay(1 days); // not admin
    }

    function test_setRotationDelay_testModeAllowsShort() public {
        AttestationVerifier v = new AttestationVerifier(admin, true);
        vm.prank(admin);
        v.setRotationDelay(0);
        vm.assertEq(v.rotationDelay(), 0);
    }
}

/// @notice Issue 11, item 7: every release path is bounded per token and window by
/// max(base × shareBps / 10,000, floor), base = the vault's holding / the wrapped supply at the
/// window's first release.
contract ReleaseShareTest is BridgeFixture {
    uint64 internal constant WINDOW = 1 days;
    uint64 internal nextNonce = 1_000;

    function setUp() public {
        _deployBridge(7, 5, 6);
        _fund(alice, 1_000_000 ether);
        vm.startPrank(admin);
        vault.setReleaseShare(address(gcc), 1_000, WINDOW, 100 ether);
        vault.setReleaseShare(address(0), 1_000, WINDOW, 1 ether);
        minter.setReleaseShare(address(wGcc), 1_000, WINDOW, 100 ether);
        minter.setReleaseShare(address(wEth), 1_000, WINDOW, 1 ether);
        vm.stopPrank();
    }

    /// @dev A forged return leg (what a compromised quorum signs): unlock `amount` of `token`.
    function _unlockMessage(address token, uint256 amount) internal returns (BridgeMessage memory m) {
        m = BridgeMessage({
            version: 1,
            srcChainId: CHAIN,
            dstChainId: CHAIN,
            srcContract: address(minter),
            nonce: nextNonce++,
            token: token,
            amount: amount,
            sender: bob,
            recipient: bob
        });
    }

    /// @dev A forged lock leg: mint `amount` of the wrapped `token`.
    function _mintMessage(address token, uint256 amount) internal returns (BridgeMessage memory m) {
        m = _unlockMessage(token, amount);
        m.srcContract = address(vault);
    }

    function _unlock(uint256 amount) internal {
        BridgeMessage memory m = _unlockMessage(address(gcc), amount);
        vault.unlock(m, _attestMessage(m, 5));
    }

    function _expectExceeded(address token, uint256 requested, uint256 remaining, uint64 endsAt) internal {
        vm.expectRevert(
            abi.encodeWithSelector(BridgeEndpoint.ReleaseShareExceeded.selector, token, requested, remaining, endsAt)
        );
    }

    function test_vault_sequenceOfValidUnlocks_stopsAtExactlyTheShare() public {
        vm.prank(alice);
        vault.lock(address(gcc), 10_000 ether, CHAIN, bob); // the vault holds 10,000 GCC
        uint64 endsAt = uint64(block.timestamp) + WINDOW;
        _unlock(400 ether);
        _unlock(400 ether);
        _unlock(200 ether); // exactly 10 % of 10,000
        vm.assertEq(gcc.balanceOf(bob), 1_000 ether);
        BridgeMessage memory m = _unlockMessage(address(gcc), 1);
        Attestation memory att = _attestMessage(m, 7); // even every key
        _expectExceeded(address(gcc), 1, 0, endsAt);
        vault.unlock(m, att);
        (uint64 viewEndsAt, uint256 remaining) = vault.releaseWindowOf(address(gcc));
        vm.assertEq(viewEndsAt, endsAt);
        vm.assertEq(remaining, 0);

        // The window rolls over: the new base is what the vault holds then (9,000).
        vm.warp(endsAt);
        _unlock(900 ether);
        m = _unlockMessage(address(gcc), 1);
        att = _attestMessage(m, 5);
        _expectExceeded(address(gcc), 1, 0, endsAt + WINDOW);
        vault.unlock(m, att);
    }

    function test_vault_native_boundedByShareOfBalance() public {
        vm.deal(alice, 100 ether);
        vm.prank(alice);
        vault.lockNative{value: 50 ether}(CHAIN, bob);
        BridgeMessage memory m = _unlockMessage(address(0), 5 ether);
        vault.unlock(m, _attestMessage(m, 5));
        vm.assertEq(bob.balance, 5 ether);
        m = _unlockMessage(address(0), 1 wei);
        Attestation memory att = _attestMessage(m, 5);
        _expectExceeded(address(0), 1, 0, uint64(block.timestamp) + WINDOW);
        vault.unlock(m, att);
    }

    function test_minter_floorAllowsFirstMints_ofAFreshToken() public {
        vm.assertEq(wGcc.totalSupply(), 0);
        BridgeMessage memory m = _mintMessage(address(gcc), 60 ether);
        minter.mint(m, _attestMessage(m, 5));
        m = _mintMessage(address(gcc), 40 ether);
        minter.mint(m, _attestMessage(m, 5));
        vm.assertEq(wGcc.totalSupply(), 100 ether);
        m = _mintMessage(address(gcc), 1);
        Attestation memory att = _attestMessage(m, 5);
        _expectExceeded(address(wGcc), 1, 0, uint64(block.timestamp) + WINDOW);
        minter.mint(m, att);
    }

    function test_minter_shareOfSupply_wholeBatchAndProofPaths() public {
        // Supply 10,000 (minted in an earlier window under a generous floor).
        vm.prank(admin);
        minter.setReleaseShare(address(wGcc), 1_000, WINDOW, 10_000 ether);
        BridgeMessage memory seed = _mintMessage(address(gcc), 10_000 ether);
        minter.mint(seed, _attestMessage(seed, 5));
        vm.prank(admin);
        minter.setReleaseShare(address(wGcc), 1_000, WINDOW, 100 ether);
        vm.warp(block.timestamp + WINDOW);
        uint64 endsAt = uint64(block.timestamp) + WINDOW;

        // A whole batch of 4 × 200 = 800 passes; the next of 4 × 60 = 240 does not (200 left) and
        // reverts as a whole.
        BridgeMessage[] memory batch = new BridgeMessage[](4);
        for (uint256 i = 0; i < 4; ++i) {
            batch[i] = _mintMessage(address(gcc), 200 ether);
        }
        minter.mintWholeBatch(batch, _attest(verifier.batchDigest(address(minter), _merkleRoot(_leaves(batch))), 5));
        for (uint256 i = 0; i < 4; ++i) {
            batch[i] = _mintMessage(address(gcc), 60 ether);
        }
        Attestation memory att = _attest(verifier.batchDigest(address(minter), _merkleRoot(_leaves(batch))), 5);
        _expectExceeded(address(wGcc), 60 ether, 20 ether, endsAt);
        minter.mintWholeBatch(batch, att);

        // By proof against the verified root, members are counted one by one.
        bytes32[] memory leaves = _leaves(batch);
        bytes32 root = _merkleRoot(leaves);
        vm.prank(address(minter)); // the verifier caches roots for its caller
        verifier.verifyBatchRoot(root, att);
        for (uint256 i = 0; i < 3; ++i) {
            minter.mintFromBatch(batch[i], root, _merkleProof(leaves, i));
        }
        bytes32[] memory proof = _merkleProof(leaves, 3);
        _expectExceeded(address(wGcc), 60 ether, 20 ether, endsAt);
        minter.mintFromBatch(batch[3], root, proof);
        vm.assertEq(wGcc.totalSupply(), 10_000 ether + 800 ether + 180 ether);
    }

    function test_executeHeld_consumesTheWindow() public {
        vm.prank(alice);
        vault.lock(address(gcc), 100_000 ether, CHAIN, bob); // 10 % = 10,000
        vm.prank(admin);
        vault.setLargeAmount(address(gcc), 6_000 ether);
        BridgeMessage memory large = _unlockMessage(address(gcc), 7_000 ether);
        vault.unlock(large, _attestMessage(large, 6)); // held, not yet counted
        BridgeMessage memory large2 = _unlockMessage(address(gcc), 7_000 ether);
        vault.unlock(large2, _attestMessage(large2, 6));
        (uint64 opened,) = vault.releaseWindowOf(address(gcc));
        vm.assertEq(opened, 0, "holding a transfer opens no window");
        vm.warp(block.timestamp + DELAY);
        uint64 endsAt = uint64(block.timestamp) + WINDOW;
        vault.executeHeld(BridgeMessages.id(large));
        (, uint256 remaining) = vault.releaseWindowOf(address(gcc));
        vm.assertEq(remaining, 3_000 ether);
        _expectExceeded(address(gcc), 7_000 ether, 3_000 ether, endsAt);
        vault.executeHeld(BridgeMessages.id(large2));
        // It stays held and executes in a later window.
        vm.warp(endsAt);
        vault.executeHeld(BridgeMessages.id(large2));
        vm.assertEq(gcc.balanceOf(bob), 14_000 ether);
    }

    function test_unconfiguredToken_releasesNothing() public {
        // SPIRIT's route has a bucket but no release share: closed, like an unconfigured bucket.
        vm.startPrank(admin);
        vault.setRateLimit(address(spirit), CHAIN, true, BUCKET, REFILL);
        spirit.mint(address(vault), 1_000 ether);
        vm.stopPrank();
        BridgeMessage memory m = _unlockMessage(address(spirit), 1 ether);
        Attestation memory att = _attestMessage(m, 5);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.ReleaseShareNotSet.selector, address(spirit)));
        vault.unlock(m, att);
    }

    function test_setReleaseShare_rejectsBadValues_andNonAdmins() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.InvalidReleaseShare.selector, 10_001, WINDOW, 0));
        vault.setReleaseShare(address(gcc), 10_001, WINDOW, 0);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.InvalidReleaseShare.selector, 1_000, 0, 0));
        vault.setReleaseShare(address(gcc), 1_000, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(BridgeEndpoint.InvalidReleaseShare.selector, 1_000, 366 days, 0));
        vault.setReleaseShare(address(gcc), 1_000, 366 days, 0);
        vm.expectRevert(
            abi.encodeWithSelector(BridgeEndpoint.InvalidReleaseShare.selector, 1_000, WINDOW, uint256(1) << 200)
        );
        vault.setReleaseShare(address(gcc), 1_000, WINDOW, uint256(1) << 200);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, address(this), vault.ROUTE_ADMIN_ROLE()
            )
        );
        vault.setReleaseShare(address(gcc), 10_000, WINDOW, 0);
        // Still 10 % of the holding.
        vm.prank(alice);
        vault.lock(address(gcc), 10_000 ether, CHAIN, bob);
        _unlock(1_000 ether);
        BridgeMessage memory m = _unlockMessage(address(gcc), 1);
        Attestation memory att = _attestMessage(m, 5);
        _expectExceeded(address(gcc), 1, 0, uint64(block.timestamp) + WINDOW);
        vault.unlock(m, att);
    }

    /// @dev Releases in one window succeed while their total stays within
    /// max(base × bps / 10,000, floor) and the first one past it reverts.
    function testFuzz_releaseShare_limitIsMaxOfShareAndFloor(uint256 base, uint16 bps, uint256 floor, uint256 step)
        public
    {
        base = bound(base, 1 ether, 900_000 ether);
        bps = uint16(bound(bps, 0, 10_000));
        floor = bound(floor, 0, 1_000 ether);
        vm.prank(admin);
        vault.setReleaseShare(address(gcc), bps, WINDOW, floor);
        vm.prank(admin);
        gcc.mint(address(vault), base); // the vault's holding is the base
        uint256 windowLimit = base * bps / 10_000;
        if (windowLimit < floor) windowLimit = floor;
        uint256 limit = windowLimit > base ? base : windowLimit; // it cannot pay out more than it holds
        step = bound(step, limit / 8 + 1, limit + 1);
        uint256 released = 0;
        while (released + step <= limit) {
            _unlock(step);
            released += step;
        }
        vm.assertLe(released, limit);
        vm.assertEq(gcc.balanceOf(bob), released);
        BridgeMessage memory m = _unlockMessage(address(gcc), step);
        Attestation memory att = _attestMessage(m, 5);
        vm.expectRevert();
        vault.unlock(m, att);
        if (released > 0) {
            (, uint256 remaining) = vault.releaseWindowOf(address(gcc));
            vm.assertEq(remaining, windowLimit - released, "window = max(base x bps, floor) minus releases");
        }
    }
}
