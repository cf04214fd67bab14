// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "../utils/Test.sol";
import {BridgeFixture} from "../utils/BridgeFixture.sol";
import {BridgeMinter} from "../../src/BridgeMinter.sol";
import {BridgeVault} from "../../src/BridgeVault.sol";
import {FeeManager} from "../../src/FeeManager.sol";
import {GhostToken} from "../../src/GhostToken.sol";
import {WrappedToken} from "../../src/WrappedToken.sol";
import {BridgeMessage} from "../../src/libraries/BridgeMessages.sol";

/// @notice Drives the whole bridge (5-of-7 validators) with bounded random actions and keeps ghost
/// totals of what must hold: lock → mint, burn → unlock, replays, fee distribution, time passing.
contract BridgeHandler is BridgeFixture {
    BridgeMessage[] internal pendingLocks;
    BridgeMessage[] internal pendingBurns;
    BridgeMessage[] internal released;
    address[3] internal actors = [address(0xAC1), address(0xAC2), address(0xAC3)];

    uint256 public ghostPendingLocked;
    uint256 public ghostPendingBurned;
    uint256 public releaseCount;
    /// @notice Set if any replay of a released message ever succeeded.
    bool public doubleRelease;

    constructor() {
        _deployBridge(7, 5, 6);
        for (uint256 i = 0; i < actors.length; ++i) {
            _fund(actors[i], 10_000_000 ether);
            vm.prank(actors[i]);
            ghost.approve(address(feeManager), type(uint256).max);
        }
    }

    function lock(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        amount = bound(amount, 1, 5_000 ether);
        BridgeMessage memory message = _lock(actor, amount, actors[(actorSeed + 1) % actors.length]);
        pendingLocks.push(message);
        ghostPendingLocked += amount;
    }

    function mint(uint256 seed) external {
        if (pendingLocks.length == 0) return;
        BridgeMessage memory message = _take(pendingLocks, seed);
        minter.mint(message, _attestMessage(message, 5));
        ghostPendingLocked -= message.amount;
        released.push(message);
        ++releaseCount;
    }

    function mintBatch(uint256 seed, uint256 size) external {
        size = bound(size, 1, 8);
        if (pendingLocks.length < size) return;
        BridgeMessage[] memory messages = new BridgeMessage[](size);
        for (uint256 i = 0; i < size; ++i) messages[i] = _take(pendingLocks, seed + i);
        bytes32[] memory leaves = _leaves(messages);
        bytes32 root = _merkleRoot(leaves);
        bytes32[][] memory proofs = new bytes32[][](size);
        for (uint256 i = 0; i < size; ++i) proofs[i] = _merkleProof(leaves, i);
        minter.mintBatch(messages, root, proofs, _attest(verifier.batchDigest(root), 5));
        for (uint256 i = 0; i < size; ++i) {
            ghostPendingLocked -= messages[i].amount;
            released.push(messages[i]);
            ++releaseCount;
        }
    }

    function mintWholeBatch(uint256 seed, uint256 size) external {
        size = bound(size, 1, 8);
        if (pendingLocks.length < size) return;
        BridgeMessage[] memory messages = new BridgeMessage[](size);
        for (uint256 i = 0; i < size; ++i) messages[i] = _take(pendingLocks, seed + i);
        bytes32 root = _merkleRoot(_leaves(messages));
        minter.mintWholeBatch(messages, _attest(verifier.batchDigest(root), 5));
        for (uint256 i = 0; i < size; ++i) {
            ghostPendingLocked -= messages[i].amount;
            released.push(messages[i]);
            ++releaseCount;
        }
    }

    function burn(uint256 actorSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        uint256 balance = wGcc.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        BridgeMessage memory message = _burnMessage(wGcc, amount, actor, actor);
        vm.prank(actor);
        minter.burn(wGcc, amount, actor);
        pendingBurns.push(message);
        ghostPendingBurned += amount;
    }

    function unlock(uint256 seed) external {
        if (pendingBurns.length == 0) return;
        BridgeMessage memory message = _take(pendingBurns, seed);
        vault.unlock(message, _attestMessage(message, 5));
        ghostPendingBurned -= message.amount;
        released.push(message);
        ++releaseCount;
    }

    /// @dev Replays an already released message through both release paths; must always revert.
    function replay(uint256 seed) external {
        if (released.length == 0) return;
        BridgeMessage memory message = released[seed % released.length];
        bool toMinter = message.srcContract == address(vault);
        address target = toMinter ? address(minter) : address(vault);
        bytes memory data = toMinter
            ? abi.encodeCall(minter.mint, (message, _attestMessage(message, 7)))
            : abi.encodeCall(vault.unlock, (message, _attestMessage(message, 7)));
        (bool ok,) = target.call(data);
        if (ok) doubleRelease = true;
    }

    function distributeFees() external {
        feeManager.distribute(address(ghost));
    }

    function passTime(uint256 secondsSeed) external {
        vm.warp(block.timestamp + bound(secondsSeed, 1, 1 days));
    }

    function getVault() external view returns (BridgeVault) {
        return vault;
    }

    function getMinter() external view returns (BridgeMinter) {
        return minter;
    }

    function getWrappedGcc() external view returns (WrappedToken) {
        return wGcc;
    }

    function getGcc() external view returns (GhostToken) {
        return gcc;
    }

    function getGhost() external view returns (GhostToken) {
        return ghost;
    }

    function getFeeManager() external view returns (FeeManager) {
        return feeManager;
    }

    function releasedCount() external view returns (uint256) {
        return released.length;
    }

    function releasedAt(uint256 i) external view returns (BridgeMessage memory) {
        return released[i];
    }

    /// @dev Removes and returns a pseudo-random element (swap with last, pop).
    function _take(BridgeMessage[] storage list, uint256 seed) internal returns (BridgeMessage memory message) {
        uint256 i = seed % list.length;
        message = list[i];
        list[i] = list[list.length - 1];
        list.pop();
    }
}

/// @notice invariant_wrappedSupplyBackedByLocks, invariant_noMessageReleasedTwice,
/// invariant_feeSplitsSumToCollected (256 runs x depth 64 by default; FOUNDRY_PROFILE=deep for more).
contract LockMintInvariantTest is Test {
    BridgeHandler internal handler;

    function setUp() public {
        handler = new BridgeHandler();
        targetContract(address(handler));
    }

    /// @dev locked − unlocked on the vault == wrapped supply + in-flight (locked not yet minted,
    /// burned not yet unlocked); so the wrapped supply never exceeds what is locked for the route.
    function invariant_wrappedSupplyBackedByLocks() public view {
        address gcc = address(handler.getGcc());
        uint256 outstanding = handler.getVault().lockedTotal(gcc) - handler.getVault().unlockedTotal(gcc);
        uint256 supply = handler.getWrappedGcc().totalSupply();
        vm.assertLe(supply, outstanding, "wrapped supply exceeds locked");
        vm.assertEq(outstanding, supply + handler.ghostPendingLocked() + handler.ghostPendingBurned(), "lock/mint books differ");
        vm.assertEq(handler.getGcc().balanceOf(address(handler.getVault())), outstanding, "vault holds other than it owes");
        vm.assertEq(handler.getMinter().mintedTotal(address(handler.getWrappedGcc())) - handler.getMinter().burnedTotal(address(handler.getWrappedGcc())), supply);
    }

    /// @dev No replay ever succeeded, and every released message is marked consumed.
    function invariant_noMessageReleasedTwice() public view {
        vm.assertFalse(handler.doubleRelease(), "a released message was released again");
        uint256 n = handler.releasedCount();
        for (uint256 i = 0; i < n; ++i) {
            BridgeMessage memory m = handler.releasedAt(i);
            address destination = m.srcContract == address(handler.getVault()) ? address(handler.getMinter()) : address(handler.getVault());
            (bool ok, bytes memory ret) = destination.staticcall(abi.encodeWithSignature("isConsumed(uint64,uint64)", m.srcChainId, m.nonce));
            vm.assertTrue(ok && abi.decode(ret, (bool)), "released message not marked consumed");
        }
    }

    /// @dev collected == distributed + undistributed == what the FeeManager still holds + paid out.
    function invariant_feeSplitsSumToCollected() public view {
        address ghost = address(handler.getGhost());
        uint256 collected = handler.getFeeManager().collected(ghost);
        vm.assertEq(collected, handler.getFeeManager().distributed(ghost) + handler.getFeeManager().undistributed(ghost));
        vm.assertEq(handler.getGhost().balanceOf(address(handler.getFeeManager())), handler.getFeeManager().undistributed(ghost));
        uint256 paidOut = handler.getGhost().balanceOf(address(0x4001)) + handler.getGhost().balanceOf(address(0x3001))
            + handler.getGhost().balanceOf(address(0x2001)) + handler.getGhost().balanceOf(address(0x1001));
        vm.assertEq(paidOut, handler.getFeeManager().distributed(ghost), "paid out differs from distributed");
    }
}
