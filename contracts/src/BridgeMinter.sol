// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AttestationVerifier} from "./AttestationVerifier.sol";
import {BridgeEndpoint} from "./BridgeEndpoint.sol";
import {FeeManager} from "./FeeManager.sol";
import {WrappedToken} from "./WrappedToken.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "./libraries/BridgeMessages.sol";

/// @title BridgeMinter
/// @notice Destination side: mints wrapped tokens for attested locks and burns them to start the
/// return leg (`Burned`, same message format, own nonce).
/// @dev Invariant per route: mintedTotal - burnedTotal == wrapped totalSupply, and it never
/// exceeds lockedTotal - unlockedTotal of the origin vault for that token.
contract BridgeMinter is BridgeEndpoint {
    uint64 private _lastNonce;
    mapping(uint64 originChainId => mapping(address originToken => WrappedToken)) private _wrapped;
    mapping(address wrapped => bool) private _isWrapped;
    mapping(address wrapped => uint256) private _burnedTotal;

    /// @notice A return leg; `message.token` is the origin token to unlock on `dstChainId`.
    event Burned(bytes32 indexed messageId, uint64 indexed nonce, uint64 indexed dstChainId, BridgeMessage message);
    /// @notice A release on this chain.
    event Minted(
        bytes32 indexed messageId,
        uint64 indexed srcChainId,
        address indexed recipient,
        address wrappedToken,
        uint256 amount
    );
    event WrappedTokenCreated(
        uint64 indexed originChainId,
        address indexed originToken,
        address wrappedToken,
        string name,
        string symbol,
        uint8 decimals
    );

    error UnknownRoute(uint64 originChainId, address originToken);
    error RouteExists(uint64 originChainId, address originToken, address wrappedToken);
    error NotWrappedToken(address token);
    error BatchLengthMismatch(uint256 messages, uint256 proofs);
    error EmptyBatch();

    constructor(address admin, AttestationVerifier verifier_, FeeManager feeManager_, uint64 largeTransferDelay_)
        BridgeEndpoint(admin, verifier_, feeManager_, largeTransferDelay_)
    {}

    /// @notice Creates the wrapped token of one (origin chain, origin token) route.
    /// @param originChainId Chain of the canonical token. @param originToken Canonical token.
    /// @param name Wrapped name. @param symbol Wrapped symbol. @param decimals Decimals (as origin).
    /// @return wrapped The new token.
    function createWrappedToken(
        uint64 originChainId,
        address originToken,
        string calldata name,
        string calldata symbol,
        uint8 decimals
    ) external onlyRole(ROUTE_ADMIN_ROLE) returns (WrappedToken wrapped) {
        WrappedToken existing = _wrapped[originChainId][originToken];
        if (address(existing) != address(0)) revert RouteExists(originChainId, originToken, address(existing));
        wrapped = new WrappedToken(name, symbol, decimals, originChainId, originToken);
        _wrapped[originChainId][originToken] = wrapped;
        _isWrapped[address(wrapped)] = true;
        emit WrappedTokenCreated(originChainId, originToken, address(wrapped), name, symbol, decimals);
    }

    /// @notice Mints for a lock attested by the validator set.
    /// @param message The Locked message. @param attestation Signatures over its digest.
    function mint(BridgeMessage calldata message, Attestation calldata attestation)
        external
        nonReentrant
        whenNotPaused
    {
        _acceptAttested(message, attestation);
    }

    /// @notice Mints by proof against a batch root the verifier cached.
    /// @param message The message. @param root Verified batch root. @param proof Merkle proof.
    function mintFromBatch(BridgeMessage calldata message, bytes32 root, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
    {
        _acceptFromBatch(message, root, proof);
    }

    /// @notice Verifies a batch root once, then mints each member by its proof.
    /// @param messages Members to release. @param root Their Merkle root.
    /// @param proofs One proof per message. @param attestation Signatures over the batch digest.
    function mintBatch(
        BridgeMessage[] calldata messages,
        bytes32 root,
        bytes32[][] calldata proofs,
        Attestation calldata attestation
    ) external nonReentrant whenNotPaused {
        if (messages.length != proofs.length) {
            revert BatchLengthMismatch(messages.length, proofs.length);
        }
        verifier.verifyBatchRoot(root, attestation);
        for (uint256 i = 0; i < messages.length; ++i) {
            _acceptFromBatch(messages[i], root, proofs[i]);
        }
    }

    /// @notice Releases a WHOLE attested batch without proofs: the root is rebuilt here from the
    /// messages themselves (their leaves in the given order), so the attestation is checked once
    /// and no per-message proof is paid for in calldata. Any member already consumed reverts the
    /// call; `mintBatch` or `mintFromBatch` deliver part of a batch.
    /// @param messages Every member of the batch, in batch order.
    /// @param attestation Signatures over the batch digest of their root.
    function mintWholeBatch(BridgeMessage[] calldata messages, Attestation calldata attestation)
        external
        nonReentrant
        whenNotPaused
    {
        uint256 count = messages.length;
        if (count == 0) revert EmptyBatch();
        bytes32[] memory ids = new bytes32[](count);
        bytes32[] memory nodes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            ids[i] = BridgeMessages.id(messages[i]);
            nodes[i] = BridgeMessages.leaf(ids[i]);
        }
        uint256 signatures = verifier.verifyBatchRoot(BridgeMessages.merkleRootInPlace(nodes), attestation);
        for (uint256 i = 0; i < count; ++i) {
            _acceptVerifiedMember(messages[i], ids[i], signatures);
        }
    }

    /// @notice Burns `amount` of a wrapped token to unlock the origin token for `recipient`.
    /// @param wrapped The wrapped token. @param amount Amount. @param recipient Receiver on the origin chain.
    /// @return messageId The id of the emitted message.
    function burn(WrappedToken wrapped, uint256 amount, address recipient)
        external
        nonReentrant
        whenNotPaused
        returns (bytes32 messageId)
    {
        if (!_isWrapped[address(wrapped)]) revert NotWrappedToken(address(wrapped));
        uint64 dstChainId = wrapped.originChainId();
        _beforeSend(address(wrapped), amount, dstChainId, recipient);
        uint64 nonce = ++_lastNonce;
        _burnedTotal[address(wrapped)] += amount;
        wrapped.burn(msg.sender, amount);
        BridgeMessage memory message = _outboundMessage(dstChainId, nonce, wrapped.originToken(), amount, recipient);
        messageId = BridgeMessages.id(message);
        emit Burned(messageId, nonce, dstChainId, message);
    }

    /// @notice The wrapped token of a route (zero if none).
    function wrappedTokenOf(uint64 originChainId, address originToken) external view returns (WrappedToken) {
        return _wrapped[originChainId][originToken];
    }

    /// @notice Whether `token` is a wrapped token of this minter.
    function isWrappedToken(address token) external view returns (bool) {
        return _isWrapped[token];
    }

    /// @notice The nonce the last burn used (0: none yet).
    function lastNonce() external view returns (uint64) {
        return _lastNonce;
    }

    /// @notice Total minted of a wrapped token (== supply + burned: only this minter mints or
    /// burns, so no separate counter is paid for on the hot path).
    function mintedTotal(address wrapped) external view returns (uint256) {
        return WrappedToken(wrapped).totalSupply() + _burnedTotal[wrapped];
    }

    /// @notice Total burned of a wrapped token.
    function burnedTotal(address wrapped) external view returns (uint256) {
        return _burnedTotal[wrapped];
    }

    function _localToken(BridgeMessage calldata message) internal view override returns (address) {
        WrappedToken wrapped = _wrapped[message.srcChainId][message.token];
        if (address(wrapped) == address(0)) revert UnknownRoute(message.srcChainId, message.token);
        return address(wrapped);
    }

    /// @dev The wrapped token's total supply: what unbacked mints would dilute.
    function _releaseBase(address wrapped) internal view override returns (uint256) {
        return WrappedToken(wrapped).totalSupply();
    }

    function _release(bytes32 messageId, uint64 srcChainId, address wrapped, address recipient, uint256 amount)
        internal
        override
    {
        emit Minted(messageId, srcChainId, recipient, wrapped, amount);
        WrappedToken(wrapped).mint(recipient, amount);
    }
}
