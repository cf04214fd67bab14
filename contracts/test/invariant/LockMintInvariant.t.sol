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

    /// @notice Release windows (issue 11): 10 % per day, these floors; what the handler saw
    /// released in each token's current window and the base it must have been opened with.
    uint16 public constant SHARE_BPS = 1_000;
    uint256 public constant WGCC_FLOOR = 20_000 ether;
    uint256 public constant GCC_FLOOR = 2_000 ether;
    mapping(address token => uint256) public ghostWindowEnd;
    mapping(address token => uint256) public ghostWindowBase;
    mapping(address token => uint256) public ghostWindowReleased;

    constructor() {
        _deployBridge(7, 5, 6);
        vm.startPrank(admin);
        minter.setReleaseShare(address(wGcc), SHARE_BPS, 1 days, WGCC_FLOOR);
        vault.setReleaseShare(address(gcc), SHARE_BPS, 1 days, GCC_FLOOR);
        vm.stopPrank();
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
        uint256 base = wGcc.totalSupply();
        minter.mint(message, _attestMessage(message, 5));
        _released(address(wGcc), base, message.amount);
        ghostPendingLocked -= message.amount;
        released.push(message);
        ++releaseCount;
    }

    function mintBatch(uint256 seed, uint256 size) external {
        size = bound(size, 1, 8);
        if (pendingLocks.length < size) return;
        BridgeMessage[] memory messages = new BridgeMessage[](size);
        for (uint256 i = 0; i < size; ++i) {
            messages[i] = _take(pendingLocks, seed + i);
        }
        bytes32[] memory leaves = _leaves(messages);
        bytes32 root = _merkleRoot(leaves);
        bytes32[][] memory proofs = new bytes32[][](size);
        for (uint256 i = 0; i < size; ++i) {
            proofs[i] = _merkleProof(leaves, i);
        }
        uint256 base = wGcc.totalSupply();
        minter.mintBatch(messages, root, proofs, _attest(verifier.batchDigest(address(minter), root), 5));
        for (uint256 i = 0; i < size; ++i) {
            _released(address(wGcc), base, messages[i].amount);
            ghostPendingLocked -= messages[i].amount;
            released.push(messages[i]);
            ++releaseCount;
        }
    }

    function mintWholeBatch(uint256 seed, uint256 size) external {
        size = bound(size, 1, 8);
        if (pendingLocks.length < size) return;
        BridgeMessage[] memory messages = new BridgeMessage[](size);
        for (uint256 i = 0; i < size; ++i) {
            messages[i] = _take(pendingLocks, seed + i);
        }
        bytes32 root = _merkleRoot(_leaves(messages));
        uint256 base = wGcc.totalSupply();
        minter.mintWholeBatch(messages, _attest(verifier.batchDigest(address(minter), root), 5));
        for (uint256 i = 0; i < size; ++i) {
            _released(address(wGcc), base, messages[i].amount);
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
        uint256 base = gcc.balanceOf(address(vault));
        vault.unlock(message, _attestMessage(message, 5));
        _released(address(gcc), base, message.amount);
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

    /// @notice The most the current window of `token` may release: max(base x 10 %, floor).
    function windowLimit(address token) public view returns (uint256 limit) {
        limit = ghostWindowBase[token] * SHARE_BPS / 10_000;
        uint256 floor = token == address(wGcc) ? WGCC_FLOOR : GCC_FLOOR;
        if (limit < floor) limit = floor;
    }

    /// @dev A successful release of `amount`; `base` is the holding/supply before the call
    /// (what the contract snapshots if this call opened the window).
    function _released(address token, uint256 base, uint256 amount) internal {
        if (block.timestamp >= ghostWindowEnd[token]) {
            ghostWindowEnd[token] = block.timestamp + 1 days;
            ghostWindowBase[token] = base;
            ghostWindowReleased[token] = 0;
        }
        ghostWindowReleased[token] += amount;
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
/// invariant_feeSplitsSumToCollected, invariant_releaseWindowNeverExceedsItsShare (256 runs x depth 64 by default; FOUNDRY_PROFILE=deep for more).
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
        vm.assertEq(
            outstanding, supply + handler.ghostPendingLocked() + handler.ghostPendingBurned(), "lock/mint books differ"
        );
        vm.assertEq(
            handler.getGcc().balanceOf(address(handler.getVault())), outstanding, "vault holds other than it owes"
        );
        vm.assertEq(
            handler.getMinter().mintedTotal(address(handler.getWrappedGcc()))
                - handler.getMinter().burnedTotal(address(handler.getWrappedGcc())),
            supply
        );
    }

    /// @dev No replay ever succeeded, and every released message is marked consumed.
    function invariant_noMessageReleasedTwice() public view {
        vm.assertFalse(handler.doubleRelease(), "a released message was released again");
        uint256 n = handler.releasedCount();
        for (uint256 i = 0; i < n; ++i) {
            BridgeMessage memory m = handler.releasedAt(i);
            address destination = m.srcContract == address(handler.getVault())
                ? address(handler.getMinter())
                : address(handler.getVault());
            (bool ok, bytes memory ret) =
                destination.staticcall(abi.encodeWithSignature("isConsumed(uint64,uint64)", m.srcChainId, m.nonce));
            vm.assertTrue(ok && abi.decode(ret, (bool)), "released message not marked consumed");
        }
    }

    /// @dev Issue 11: in every token's current window the releases total at most
    /// max(base x 10 %, floor), and the contract's remaining allowance is exactly what is left.
    function invariant_releaseWindowNeverExceedsItsShare() public view {
        address[2] memory tokens = [address(handler.getWrappedGcc()), address(handler.getGcc())];
        for (uint256 i = 0; i < 2; ++i) {
            address token = tokens[i];
            if (handler.ghostWindowEnd(token) == 0) continue;
            uint256 limit = handler.windowLimit(token);
            uint256 released = handler.ghostWindowReleased(token);
            vm.assertLe(released, limit, "a window released more than its share");
            BridgeVault endpoint = i == 0 ? BridgeVault(payable(address(handler.getMinter()))) : handler.getVault();
            (uint64 endsAt, uint256 remaining) = endpoint.releaseWindowOf(token);
            vm.assertEq(endsAt, handler.ghostWindowEnd(token), "window end");
            vm.assertEq(remaining, limit - released, "window remaining");
        }
    }

    /// @dev collected == distributed + undistributed == what the FeeManager still holds + paid out.
    function invariant_feeSplitsSumToCollected() public view {
        address ghost = address(handler.getGhost());
        uint256 collected = handler.getFeeManager().collected(ghost);
        vm.assertEq(
            collected, handler.getFeeManager().distributed(ghost) + handler.getFeeManager().undistributed(ghost)
        );
        vm.assertEq(
            handler.getGhost().balanceOf(address(handler.getFeeManager())), handler.getFeeManager().undistributed(ghost)
        );
        uint256 paidOut = handler.getGhost().balanceOf(address(0x4001)) + handler.getGhost().balanceOf(address(0x3001))
            + handler.getGhost().balanceOf(address(0x2001)) + handler.getGhost().balanceOf(address(0x1001));
        vm.assertEq(paidOut, handler.getFeeManager().distributed(ghost), "paid out differs from distributed");
    }
}
