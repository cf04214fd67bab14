// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {AttestationVerifier} from "./AttestationVerifier.sol";
import {FeeManager} from "./FeeManager.sol";
import {Attestation, BridgeMessage, BridgeMessages} from "./libraries/BridgeMessages.sol";
import {RateLimits} from "./libraries/RateLimits.sol";

/// @title BridgeEndpoint
/// @notice What the vault (source side) and the minter (destination side) share: the pinned
/// verifier, one registered remote contract per chain, replay marks, the pause switch, per-token
/// per-chain inbound/outbound rate limits, the large-transfer hold queue and the fee hook.
/// @dev Release path (one place, `_accept`): version/chain/remote checks → replay mark written →
/// large transfers held for `largeTransferDelay` → inbound rate limit → `_release` moves tokens.
/// Invariant: a (srcChainId, nonce) is released at most once; the mark is written before any
/// token moves (checks-effects-interactions, plus nonReentrant on every entry point).
/// The reentrancy lock lives in transient storage (EIP-1153): ~5k gas less per call than a slot.
abstract contract BridgeEndpoint is AccessControl, Pausable, ReentrancyGuardTransient {
    using RateLimits for RateLimits.Bucket;

    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    bytes32 public constant ROUTE_ADMIN_ROLE = keccak256("ROUTE_ADMIN_ROLE");

    enum HeldStatus {
        None,
        Held,
        Executed,
        Cancelled
    }

    /// @dev A large transfer waiting out its delay.
    struct HeldTransfer {
        HeldStatus status;
        uint64 releaseAt;
        uint64 srcChainId;
        address localToken;
        address recipient;
        uint256 amount;
    }

    /// @dev Per-token release-share settings (one slot): releases in a window of `windowSeconds`
    /// total at most max(base × shareBps / 10,000, floor). `windowSeconds == 0`: not configured,
    /// nothing is released (closed until an admin opens it, like a bucket).
    struct ReleaseShare {
        uint16 shareBps;
        uint64 windowSeconds;
        uint176 floor;
    }

    /// @dev Per-token window state (one slot, the only one the release hot path writes):
    /// when the current window ends and what it may still release.
    struct ReleaseWindow {
        uint64 endsAt;
        uint192 remaining;
    }

    /// @notice Longest release window an admin may set.
    uint64 internal constant MAX_RELEASE_WINDOW = 365 days;

    /// @notice The only verifier whose attestations count (pinned at deployment).
    AttestationVerifier public immutable verifier;
    /// @notice Where bridge fees are charged (zero address: no fees on this chain).
    FeeManager public immutable feeManager;

    /// @notice Seconds a large transfer is held before anyone may execute it.
    uint64 public largeTransferDelay;

    mapping(uint64 chainId => address remote) private _remotes;
    mapping(uint64 srcChainId => mapping(uint256 word => uint256 bits)) private _consumed;
    mapping(address token => mapping(uint64 chainId => RateLimits.Bucket)) private _inbound;
    mapping(address token => mapping(uint64 chainId => RateLimits.Bucket)) private _outbound;
    mapping(address token => uint256 amount) private _largeAmount;
    mapping(bytes32 messageId => HeldTransfer) private _held;
    mapping(address token => ReleaseShare) private _releaseShare;
    mapping(address token => ReleaseWindow) private _releaseWindow;

    event RemoteSet(uint64 indexed chainId, address indexed remote);
    event RateLimitSet(
        address indexed token, uint64 indexed chainId, bool inbound, uint128 capacity, uint128 refillPerSecond
    );
    event LargeAmountSet(address indexed token, uint256 amount);
    event ReleaseShareSet(address indexed token, uint16 shareBps, uint64 windowSeconds, uint256 floor);
    event LargeTransferDelaySet(uint64 delaySeconds);
    event TransferHeld(
        bytes32 indexed messageId, address indexed recipient, address token, uint256 amount, uint64 releaseAt
    );
    event HeldTransferExecuted(bytes32 indexed messageId, address indexed executor);
    event HeldTransferCancelled(bytes32 indexed messageId, address indexed guardian);

    error UnsupportedVersion(uint8 version);
    error WrongDestinationChain(uint64 dstChainId, uint256 thisChainId);
    error UnknownSourceContract(uint64 srcChainId, address srcContract);
    error AlreadyConsumed(uint64 srcChainId, uint64 nonce);
    error InvalidMerkleProof(bytes32 messageId, bytes32 root);
    error LargeTransferNeedsMoreSignatures(uint256 valid, uint256 required);
    error NotHeld(bytes32 messageId);
    error StillHeld(bytes32 messageId, uint64 releaseAt);
    error ZeroAddress();
    error ZeroAmount();
    error UnknownDestination(uint64 dstChainId);
    error ReleaseShareExceeded(address token, uint256 requested, uint256 remaining, uint64 windowEndsAt);
    error ReleaseShareNotSet(address token);
    /// @notice shareBps > 10,000, windowSeconds outside 1 s .. 365 days, or floor >= 2**176.
    error InvalidReleaseShare(uint256 shareBps, uint256 windowSeconds, uint256 floor);

    constructor(address admin, AttestationVerifier verifier_, FeeManager feeManager_, uint64 largeTransferDelay_) {
        if (admin == address(0) || address(verifier_) == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        verifier = verifier_;
        feeManager = feeManager_;
        largeTransferDelay = largeTransferDelay_;
        emit LargeTransferDelaySet(largeTransferDelay_);
    }

    // ---------------------------------------------------------------- guardian and admin

    /// @notice Stops every lock, burn, mint, unlock and held execution on this contract.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes; only governance (the admin) may restart what a guardian stopped.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @notice Registers the one contract on `chainId` whose messages this endpoint accepts and to
    /// which it sends. The route is claimed in the verifier's registry (this endpoint needs its
    /// ENDPOINT_ROLE): it reverts with `RemoteClaimedByOtherEndpoint` if the other endpoint of
    /// this chain already accepts `remote`, and releases this endpoint's previous remote.
    /// @param chainId The remote chain id.
    /// @param remote The vault or minter there (zero closes the route).
    function setRemote(uint64 chainId, address remote) external onlyRole(ROUTE_ADMIN_ROLE) {
        verifier.claimRemote(chainId, remote);
        _remotes[chainId] = remote;
        emit RemoteSet(chainId, remote);
    }

    /// @notice Sets a token bucket for one local token and remote chain.
    /// @param token Local token (address(0) = native).
    /// @param chainId Remote chain.
    /// @param inbound True for releases from that chain, false for sends to it.
    /// @param capacity Most that can move at once.
    /// @param refillPerSecond Continuous refill rate.
    function setRateLimit(address token, uint64 chainId, bool inbound, uint128 capacity, uint128 refillPerSecond)
        external
        onlyRole(ROUTE_ADMIN_ROLE)
    {
        (inbound ? _inbound : _outbound)[token][chainId].configure(capacity, refillPerSecond);
        emit RateLimitSet(token, chainId, inbound, capacity, refillPerSecond);
    }

    /// @notice Bounds the releases of `token` (from all chains together) per window to
    /// max(base × shareBps / 10,000, floor), where base is snapshotted at the window's first
    /// release: the vault's balance of the token, or the wrapped token's total supply. The floor
    /// is what a near-empty vault or a fresh wrapped token can release per window (and so the
    /// most a stolen quorum gets from it). Resets the current window: the next release opens a
    /// new one under these settings.
    /// @param token Local token (address(0) = native). @param shareBps Share of the base, <= 10,000.
    /// @param windowSeconds Window length, 1 s .. 365 days. @param floor Minimum per window.
    function setReleaseShare(address token, uint16 shareBps, uint64 windowSeconds, uint256 floor)
        external
        onlyRole(ROUTE_ADMIN_ROLE)
    {
        bool badWindow = windowSeconds == 0 || windowSeconds > MAX_RELEASE_WINDOW;
        if (shareBps > 10_000 || badWindow || floor > type(uint176).max) {
            revert InvalidReleaseShare(shareBps, windowSeconds, floor);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        _releaseShare[token] = ReleaseShare({shareBps: shareBps, windowSeconds: windowSeconds, floor: uint176(floor)});
        delete _releaseWindow[token];
        emit ReleaseShareSet(token, shareBps, windowSeconds, floor);
    }

    /// @notice Releases above `amount` of `token` need the large threshold and wait out the delay.
    /// @param token Local token. @param amount Threshold amount (0: no transfer counts as large).
    function setLargeAmount(address token, uint256 amount) external onlyRole(ROUTE_ADMIN_ROLE) {
        _largeAmount[token] = amount;
        emit LargeAmountSet(token, amount);
    }

    /// @notice Sets the hold delay for large transfers.
    /// @param delaySeconds New delay.
    function setLargeTransferDelay(uint64 delaySeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        largeTransferDelay = delaySeconds;
        emit LargeTransferDelaySet(delaySeconds);
    }

    /// @notice Cancels a held large transfer during its delay (the source funds stay locked
    /// for governance to resolve; nothing is ever released twice).
    /// @param messageId The held message.
    function cancelHeld(bytes32 messageId) external onlyRole(GUARDIAN_ROLE) {
        HeldTransfer storage held = _held[messageId];
        if (held.status != HeldStatus.Held) revert NotHeld(messageId);
        held.status = HeldStatus.Cancelled;
        emit HeldTransferCancelled(messageId, msg.sender);
    }

    /// @notice Executes a held large transfer after its delay; anyone may call.
    /// @param messageId The held message.
    function executeHeld(bytes32 messageId) external nonReentrant whenNotPaused {
        HeldTransfer storage held = _held[messageId];
        if (held.status != HeldStatus.Held) revert NotHeld(messageId);
        if (block.timestamp < held.releaseAt) revert StillHeld(messageId, held.releaseAt);
        held.status = HeldStatus.Executed;
        emit HeldTransferExecuted(messageId, msg.sender);
        _limitAndRelease(messageId, held.srcChainId, held.localToken, held.recipient, held.amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether the message (srcChainId, nonce) was already consumed here.
    function isConsumed(uint64 srcChainId, uint64 nonce) public view returns (bool) {
        return _consumed[srcChainId][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The registered remote contract on `chainId`.
    function remoteOf(uint64 chainId) external view returns (address) {
        return _remotes[chainId];
    }

    /// @notice The amount above which a transfer of `token` is large.
    function largeAmountOf(address token) external view returns (uint256) {
        return _largeAmount[token];
    }

    /// @notice What the bucket can move now.
    function rateLimitAvailable(address token, uint64 chainId, bool inbound) external view returns (uint256) {
        return (inbound ? _inbound : _outbound)[token][chainId].available();
    }

    /// @notice The current release window of `token`: it may still release `remaining` until
    /// `endsAt` (in the past: the next release opens a new window with a fresh base).
    function releaseWindowOf(address token) external view returns (uint64 endsAt, uint256 remaining) {
        uint256 packed = _packedReleaseWindow(token);
        // Cannot truncate: the low 64 bits of the packed window are endsAt.
        // forge-lint: disable-next-line(unsafe-typecast)
        return (uint64(packed), packed >> 64);
    }

    /// @notice A held transfer's record.
    function heldTransfer(bytes32 messageId) external view returns (HeldTransfer memory) {
        return _held[messageId];
    }

    // ---------------------------------------------------------------- internal

    /// @dev Verifies a single-message attestation and releases (or holds) the message.
    function _acceptAttested(BridgeMessage calldata message, Attestation calldata attestation) internal {
        bytes32 messageId = BridgeMessages.id(message);
        _accept(message, messageId, _verifyForwarded(messageId, attestation));
    }

    /// @dev `verifier.verifyMessage(messageId, attestation)` (the verifier binds the digest to
    /// this endpoint as `msg.sender`), but the attestation's calldata bytes
    /// are forwarded verbatim instead of being ABI-decoded and re-encoded in memory (~375 gas per
    /// signature). Safe because the verifier decodes and checks whatever it receives; the
    /// attestation's inner offsets are relative to its own start, so the bytes stay valid.
    function _verifyForwarded(bytes32 messageId, Attestation calldata attestation)
        private
        view
        returns (uint256 valid)
    {
        bytes4 selector = verifier.verifyMessage.selector;
        address target = address(verifier);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let tailLength := sub(calldatasize(), attestation)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), messageId)
            mstore(add(ptr, 0x24), 0x40)
            calldatacopy(add(ptr, 0x44), attestation, tailLength)
            let ok := staticcall(gas(), target, ptr, add(0x44, tailLength), 0x00, 0x20)
            if iszero(ok) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            if lt(returndatasize(), 0x20) { revert(0, 0) }
            valid := mload(0x00)
        }
    }

    /// @dev Releases a message by Merkle proof against a batch root the verifier cached.
    function _acceptFromBatch(BridgeMessage calldata message, bytes32 root, bytes32[] calldata proof) internal {
        bytes32 messageId = BridgeMessages.id(message);
        if (!MerkleProof.verifyCalldata(proof, root, BridgeMessages.leaf(messageId))) {
            revert InvalidMerkleProof(messageId, root);
        }
        _accept(message, messageId, verifier.batchRootSignatures(address(this), root));
    }

    /// @dev Releases a member of a batch whose root the caller verified just now with
    /// `signatures` valid signatures (the caller rebuilt that root from this very message).
    function _acceptVerifiedMember(BridgeMessage calldata message, bytes32 messageId, uint256 signatures) internal {
        _accept(message, messageId, signatures);
    }

    function _accept(BridgeMessage calldata message, bytes32 messageId, uint256 signatures) private {
        _requirePinnedRoute(message);
        _markConsumed(message.srcChainId, message.nonce);
        address localToken = _localToken(message);
        uint256 large = _largeAmount[localToken];
        if (large != 0 && message.amount > large) {
            uint256 required = verifier.largeThreshold();
            if (signatures < required) revert LargeTransferNeedsMoreSignatures(signatures, required);
            uint64 releaseAt = uint64(block.timestamp) + largeTransferDelay;
            _held[messageId] = HeldTransfer({
                status: HeldStatus.Held,
                releaseAt: releaseAt,
                srcChainId: message.srcChainId,
                localToken: localToken,
                recipient: message.recipient,
                amount: message.amount
            });
            emit TransferHeld(messageId, message.recipient, localToken, message.amount, releaseAt);
            return;
        }
        _limitAndRelease(messageId, message.srcChainId, localToken, message.recipient, message.amount);
    }

    /// @dev Every release (direct, batch, held) passes here: the (token, chain) bucket, then the
    /// token's release window, then the tokens move.
    function _limitAndRelease(bytes32 messageId, uint64 srcChainId, address token, address recipient, uint256 amount)
        private
    {
        _inbound[token][srcChainId].consume(amount, token, srcChainId);
        _consumeReleaseWindow(token, amount);
        _release(messageId, srcChainId, token, recipient, amount);
    }

    /// @dev Takes `amount` from the token's release window, opening a new window (base
    /// snapshotted now, before anything moves) when the last one has ended. Hot path: one SLOAD
    /// and one SSTORE of the packed `ReleaseWindow` slot (endsAt in the low 64 bits, remaining
    /// above), read and written whole: ~450 gas per extra member of a batch instead of ~950
    /// through a memory struct.
    function _consumeReleaseWindow(address token, uint256 amount) private {
        uint256 packed = _packedReleaseWindow(token);
        // Cannot truncate: the low 64 bits of the packed window are endsAt.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 endsAt = uint64(packed);
        uint256 remaining = packed >> 64;
        if (block.timestamp >= endsAt) {
            ReleaseShare memory share = _releaseShare[token];
            if (share.windowSeconds == 0) revert ReleaseShareNotSet(token);
            uint256 limit = _releaseLimit(token, share);
            endsAt = uint64(block.timestamp) + share.windowSeconds;
            remaining = limit > type(uint192).max ? type(uint192).max : limit;
        }
        if (amount > remaining) revert ReleaseShareExceeded(token, amount, remaining, endsAt);
        unchecked {
            packed = ((remaining - amount) << 64) | endsAt; // amount <= remaining < 2**192
        }
        assembly ("memory-safe") {
            mstore(0x00, token)
            mstore(0x20, _releaseWindow.slot)
            sstore(keccak256(0x00, 0x40), packed)
        }
    }

    /// @dev `_releaseWindow[token]` as one word: endsAt in the low 64 bits, remaining above.
    function _packedReleaseWindow(address token) private view returns (uint256 packed) {
        assembly ("memory-safe") {
            mstore(0x00, token)
            mstore(0x20, _releaseWindow.slot)
            packed := sload(keccak256(0x00, 0x40))
        }
    }

    /// @dev max(base × shareBps / 10,000, floor) with the base as of now.
    function _releaseLimit(address token, ReleaseShare memory share) private view returns (uint256 limit) {
        limit = _releaseBase(token) * share.shareBps / 10_000; // a base above 2**242 reverts (fails closed)
        if (limit < share.floor) limit = share.floor;
    }

    function _requirePinnedRoute(BridgeMessage calldata message) private view {
        if (message.version != BridgeMessages.VERSION) revert UnsupportedVersion(message.version);
        if (message.dstChainId != block.chainid) revert WrongDestinationChain(message.dstChainId, block.chainid);
        address remote = _remotes[message.srcChainId];
        if (remote == address(0) || remote != message.srcContract) {
            revert UnknownSourceContract(message.srcChainId, message.srcContract);
        }
    }

    function _markConsumed(uint64 srcChainId, uint64 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = _consumed[srcChainId][nonce >> 8];
        if (word & bit != 0) revert AlreadyConsumed(srcChainId, nonce);
        _consumed[srcChainId][nonce >> 8] = word | bit;
    }

    /// @dev Outbound checks shared by lock and burn: route open, rate limit, fee charged.
    function _beforeSend(address localToken, uint256 amount, uint64 dstChainId, address recipient) internal {
        if (recipient == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (_remotes[dstChainId] == address(0)) revert UnknownDestination(dstChainId);
        _outbound[localToken][dstChainId].consume(amount, localToken, dstChainId);
        if (address(feeManager) != address(0)) feeManager.collect(msg.sender, dstChainId);
    }

    /// @dev The one place an outbound message is built (lock and burn legs share the format).
    function _outboundMessage(uint64 dstChainId, uint64 nonce, address token, uint256 amount, address recipient)
        internal
        view
        returns (BridgeMessage memory)
    {
        return BridgeMessage({
            version: BridgeMessages.VERSION,
            srcChainId: uint64(block.chainid),
            dstChainId: dstChainId,
            srcContract: address(this),
            nonce: nonce,
            token: token,
            amount: amount,
            sender: msg.sender,
            recipient: recipient
        });
    }

    /// @dev The local token a message releases (vault: itself; minter: the wrapped token).
    function _localToken(BridgeMessage calldata message) internal view virtual returns (address);

    /// @dev What is at stake in `localToken` here: the base of a release window.
    function _releaseBase(address localToken) internal view virtual returns (uint256);

    /// @dev Moves the tokens out; called after every check and after the replay mark.
    function _release(bytes32 messageId, uint64 srcChainId, address localToken, address recipient, uint256 amount)
        internal
        virtual;
}
