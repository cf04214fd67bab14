// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {AttestationVerifier} from "./AttestationVerifier.sol";
import {BridgeEndpoint} from "./BridgeEndpoint.sol";
import {FeeManager} from "./FeeManager.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "./libraries/BridgeMessages.sol";

/// @title BridgeVault
/// @notice Source side: locks ERC20 tokens and native ETH, emitting one `Locked` event carrying the
/// whole message; unlocks them when the return leg (a burn on the remote minter) is attested.
/// @dev Invariant per token: lockedTotal - unlockedTotal == what the vault owes to all routes
/// (== wrapped supply minus in-flight burns on the destinations). Fee-on-transfer tokens are
/// credited by balance delta, so the vault never promises more than it received.
contract BridgeVault is BridgeEndpoint {
    using SafeERC20 for IERC20;

    /// @dev Packs the outbound nonce with nothing else hot; the next lock gets `lastNonce + 1`.
    uint64 private _lastNonce;
    mapping(address token => uint256) private _lockedTotal;
    mapping(address token => uint256) private _unlockedTotal;

    /// @notice A lock; `message` is what validators attest and the remote minter releases.
    event Locked(bytes32 indexed messageId, uint64 indexed nonce, uint64 indexed dstChainId, BridgeMessage message);
    /// @notice A return-leg release.
    event Unlocked(
        bytes32 indexed messageId, uint64 indexed srcChainId, address indexed recipient, address token, uint256 amount
    );

    error NativeTokenUseLockNative();
    error NothingReceived(address token);

    constructor(address admin, AttestationVerifier verifier_, FeeManager feeManager_, uint64 largeTransferDelay_)
        BridgeEndpoint(admin, verifier_, feeManager_, largeTransferDelay_)
    {}

    /// @notice Locks `amount` of `token` for `recipient` on `dstChainId`.
    /// @param token ERC20 to lock (approve this vault first; approve the FeeManager for the fee).
    /// @param amount Amount to pull; the credited amount is what actually arrived.
    /// @param dstChainId Destination chain (must have a registered minter).
    /// @param recipient Receiver on the destination.
    /// @return messageId The id of the emitted message.
    function lock(address token, uint256 amount, uint64 dstChainId, address recipient)
        external
        nonReentrant
        whenNotPaused
        returns (bytes32 messageId)
    {
        if (token == address(0)) revert NativeTokenUseLockNative();
        uint256 balanceBefore = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 credited = IERC20(token).balanceOf(address(this)) - balanceBefore;
        if (credited == 0) revert NothingReceived(token);
        return _lock(token, credited, dstChainId, recipient);
    }

    /// @notice Locks the ETH sent for `recipient` on `dstChainId`.
    /// @param dstChainId Destination chain. @param recipient Receiver there.
    /// @return messageId The id of the emitted message.
    function lockNative(uint64 dstChainId, address recipient)
        external
        payable
        nonReentrant
        whenNotPaused
        returns (bytes32 messageId)
    {
        return _lock(address(0), msg.value, dstChainId, recipient);
    }

    /// @notice Releases a return-leg transfer attested by the validator set.
    /// @param message The Burned message from the remote minter. @param attestation Signatures.
    function unlock(BridgeMessage calldata message, Attestation calldata attestation)
        external
        nonReentrant
        whenNotPaused
    {
        _acceptAttested(message, attestation);
    }

    /// @notice Verifies a batch attestation made for THIS vault and caches its root in the
    /// verifier (which binds it to its caller), so members are then unlocked one by one by proof
    /// with `unlockFromBatch`. Anyone may call. (The minter caches roots in `mintBatch`.)
    /// @param root Merkle root over the batch's message leaves.
    /// @param attestation Signatures over `verifier.batchDigest(address(this), root)`.
    /// @return validSignatures Number of valid signatures.
    function verifyBatchRoot(bytes32 root, Attestation calldata attestation)
        external
        returns (uint256 validSignatures)
    {
        return verifier.verifyBatchRoot(root, attestation);
    }

    /// @notice Releases a return-leg transfer by proof against a verified batch root.
    /// @param message The message. @param root Cached batch root. @param proof Merkle proof.
    function unlockFromBatch(BridgeMessage calldata message, bytes32 root, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
    {
        _acceptFromBatch(message, root, proof);
    }

    /// @notice The nonce the last lock used (0: none yet).
    function lastNonce() external view returns (uint64) {
        return _lastNonce;
    }

    /// @notice Total credited by locks of `token`.
    function lockedTotal(address token) external view returns (uint256) {
        return _lockedTotal[token];
    }

    /// @notice Total released by unlocks of `token` (excluding held transfers not yet executed).
    function unlockedTotal(address token) external view returns (uint256) {
        return _unlockedTotal[token];
    }

    function _lock(address token, uint256 amount, uint64 dstChainId, address recipient)
        private
        returns (bytes32 messageId)
    {
        _beforeSend(token, amount, dstChainId, recipient);
        uint64 nonce = ++_lastNonce;
        _lockedTotal[token] += amount;
        BridgeMessage memory message = _outboundMessage(dstChainId, nonce, token, amount, recipient);
        messageId = BridgeMessages.id(message);
        emit Locked(messageId, nonce, dstChainId, message);
    }

    function _localToken(BridgeMessage calldata message) internal pure override returns (address) {
        return message.token;
    }

    /// @dev The vault's own balance: what a stolen quorum could actually drain. Not
    /// lockedTotal - unlockedTotal: the balance is what is physically at stake (it also covers
    /// fee-on-transfer shortfalls and ETH force-sent here), it is read the same way for native and
    /// ERC20, and a donation can only raise it by what the donor gives away.
    function _releaseBase(address token) internal view override returns (uint256) {
        return token == address(0) ? address(this).balance : IERC20(token).balanceOf(address(this));
    }

    function _release(bytes32 messageId, uint64 srcChainId, address token, address recipient, uint256 amount)
        internal
        override
    {
        _unlockedTotal[token] += amount;
        emit Unlocked(messageId, srcChainId, recipient, token, amount);
        if (token == address(0)) {
            Address.sendValue(payable(recipient), amount);
        } else {
            IERC20(token).safeTransfer(recipient, amount);
        }
    }
}
