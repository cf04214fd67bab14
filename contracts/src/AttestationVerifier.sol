// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Initializable} from "@openzeppelin/contracts/proxy/utils/Initializable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Attestation, BridgeMessages, Signature} from "./libraries/BridgeMessages.sol";

/// @title AttestationVerifier
/// @notice The validator set of one destination chain: N validators (secp256k1 address + the
/// keccak256 of their ML-DSA-65 public key), a threshold M and a higher `largeThreshold`. Verifies
/// M distinct signatures over the EIP-712 digest of a message id or of a batch Merkle root.
/// @dev Invariants kept here:
/// - Only the stored set counts: the caller passes the set in calldata and it must hash to the
///   stored `signerSetHash` (Wormhole 2022: nothing the caller supplies is trusted).
/// - Every digest commits to the current epoch, so a rotation voids all older attestations and
///   every cached batch root of an older epoch (Ronin: rotated-out keys stop counting).
/// - A zero digest, zero root or empty set is never accepted (Nomad).
/// - Every digest names the destination endpoint that releases (`msg.sender` of `verifyMessage`
///   and `verifyBatchRoot`), and batch roots are cached per endpoint: the vault and the minter
///   sharing this verifier never accept each other's attestations.
/// - Route registry: an endpoint holding ENDPOINT_ROLE claims each remote it accepts
///   (`claimRemote`, called by `setRemote`); no two endpoints of this verifier own the same
///   (chainId, remote), so one source message has exactly one releasing endpoint here.
contract AttestationVerifier is AccessControl, Initializable, EIP712 {
    /// @dev Hot-path configuration, packed into one slot.
    struct Config {
        uint64 epoch;
        uint8 threshold;
        uint8 largeThreshold;
        uint8 signerCount;
    }

    /// @dev A rotation waiting out `rotationDelay`: the EIP-712 digest the current set signed
    /// (it commits to the new epoch, both set hashes and both thresholds), the epoch it was
    /// proposed in and when anyone may execute it. Zero `proposalHash` = none pending.
    struct PendingRotation {
        bytes32 proposalHash;
        uint64 epoch;
        uint64 executableAt;
    }

    /// @dev A batch root accepted under `epoch` with `signatures` valid signatures.
    struct BatchRoot {
        uint64 epoch;
        uint8 signatures;
    }

    /// @notice Endpoints (vault, minter) that may claim remotes in the route registry.
    bytes32 public constant ENDPOINT_ROLE = keccak256("ENDPOINT_ROLE");

    /// @notice May cancel a pending rotation.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice The shortest rotation delay the admin may set (unless `allowWeakThreshold`).
    uint64 public constant MIN_ROTATION_DELAY = 1 hours;
    /// @notice The rotation delay a new verifier starts with (`setRotationDelay` changes it).
    uint64 public constant DEFAULT_ROTATION_DELAY = 1 days;

    /// @notice True only in test deployments: allows a threshold below ceil(2N/3) and a rotation
    /// delay below `MIN_ROTATION_DELAY`.
    bool public immutable allowWeakThreshold;

    /// @notice Seconds between `proposeRotation` and the earliest `executeRotation`.
    uint64 public rotationDelay;

    Config private _config;
    bytes32 private _signerSetHash;
    bytes32 private _pqKeySetHash;
    address[] private _signers;
    bytes32[] private _pqKeyHashes;
    PendingRotation private _pendingRotation;
    mapping(address endpoint => mapping(bytes32 root => BatchRoot)) private _batchRoots;
    mapping(uint64 chainId => mapping(address remote => address endpoint)) private _remoteOwners;
    mapping(address endpoint => mapping(uint64 chainId => address remote)) private _claimedRemotes;

    /// @notice The current set (with >= largeThreshold signatures) proposed a new set; it takes
    /// effect by `executeRotation` at `executableAt` unless the guardian cancels it first.
    event RotationProposed(
        uint64 indexed newEpoch,
        bytes32 indexed proposalHash,
        uint64 executableAt,
        address[] signers,
        bytes32[] pqKeyHashes,
        uint8 threshold,
        uint8 largeThreshold,
        uint256 signatures
    );
    /// @notice A guardian cancelled the pending rotation.
    event RotationCancelled(uint64 indexed newEpoch, bytes32 indexed proposalHash, address indexed guardian);
    /// @notice The rotation delay changed.
    event RotationDelaySet(uint64 delaySeconds);
    /// @notice A new validator set took effect (initialisation is epoch 1).
    event ValidatorSetUpdated(
        uint64 indexed epoch, address[] signers, bytes32[] pqKeyHashes, uint8 threshold, uint8 largeThreshold
    );
    /// @notice A batch root was verified and cached for releases by Merkle proof on `endpoint`.
    event BatchRootVerified(address indexed endpoint, bytes32 indexed root, uint64 indexed epoch, uint256 signatures);
    /// @notice `endpoint` now accepts `remote` on `chainId` (zero: its route to `chainId` closed).
    event RemoteClaimed(uint64 indexed chainId, address indexed remote, address indexed endpoint);

    error EmptySignerSet();
    error TooManySigners(uint256 count);
    error SignerNotAscending(uint256 index, address signer);
    error PqKeyCountMismatch(uint256 signers, uint256 pqKeyHashes);
    error ZeroPqKeyHash(uint256 index);
    error ThresholdTooLow(uint256 threshold, uint256 minimum);
    error ThresholdTooHigh(uint256 threshold, uint256 signers);
    error LargeThresholdOutOfRange(uint256 largeThreshold, uint256 threshold, uint256 signers);
    error NotInitialized();
    error ZeroDigest();
    error SignerSetMismatch(bytes32 provided, bytes32 stored);
    error DuplicateOrUnsortedSigner(uint256 position, uint256 signerIndex);
    error SignerIndexOutOfRange(uint256 position, uint256 signerIndex);
    error InvalidSignature(uint256 position, uint256 signerIndex);
    error InsufficientSignatures(uint256 valid, uint256 required);
    error UnknownBatchRoot(bytes32 root);
    error StaleEpoch(uint64 attestedEpoch, uint64 currentEpoch);
    error RotationPending(bytes32 proposalHash, uint64 executableAt);
    error NoPendingRotation();
    error RotationNotReady(uint64 executableAt);
    error RotationMismatch(bytes32 provided, bytes32 proposed);
    error RotationEpochMoved(uint64 proposedIn, uint64 currentEpoch);
    error RotationDelayTooShort(uint64 delaySeconds, uint64 minimum);
    error RemoteClaimedByOtherEndpoint(uint64 chainId, address remote, address owner);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (may call `initialize` once).
    /// @param allowWeakThreshold_ Test deployments only: permit a threshold below ceil(2N/3).
    constructor(address admin, bool allowWeakThreshold_) EIP712("GhostBridge", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        allowWeakThreshold = allowWeakThreshold_;
        rotationDelay = DEFAULT_ROTATION_DELAY;
        emit RotationDelaySet(DEFAULT_ROTATION_DELAY);
    }

    /// @notice Installs the first validator set (epoch 1). Runs once.
    /// @param signers secp256k1 addresses, strictly ascending.
    /// @param pqKeyHashes keccak256 of each signer's ML-DSA-65 public key, same order.
    /// @param threshold_ Signatures needed for a normal release (>= ceil(2N/3)).
    /// @param largeThreshold_ Signatures needed for a transfer above a token's large amount.
    function initialize(
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_
    ) external onlyRole(DEFAULT_ADMIN_ROLE) initializer {
        _installSet(1, signers, pqKeyHashes, threshold_, largeThreshold_);
    }

    /// @notice Proposes epoch e+1 with a new set, authorised by `largeThreshold` signatures of
    /// epoch e (a set that can only pass the normal threshold cannot replace itself). Nothing
    /// changes before `executeRotation`, `rotationDelay` seconds later; the guardian may cancel.
    /// @param signers New secp256k1 addresses, strictly ascending.
    /// @param pqKeyHashes New ML-DSA-65 key hashes.
    /// @param threshold_ New threshold.
    /// @param largeThreshold_ New large-transfer threshold.
    /// @param attestation Signatures of the CURRENT set over the ValidatorSetRotation digest.
    /// @return executableAt When the rotation may be executed.
    function proposeRotation(
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_,
        Attestation calldata attestation
    ) external returns (uint64 executableAt) {
        PendingRotation memory pending = _pendingRotation;
        if (pending.proposalHash != bytes32(0)) revert RotationPending(pending.proposalHash, pending.executableAt);
        // Checked now, so a proposal that could never execute is refused at once.
        _checkThresholds(signers, pqKeyHashes, threshold_, largeThreshold_);
        Config memory config = _config;
        bytes32 proposalHash = _rotationDigest(config.epoch + 1, signers, pqKeyHashes, threshold_, largeThreshold_);
        uint256 valid = _verify(proposalHash, attestation);
        if (valid < config.largeThreshold) revert InsufficientSignatures(valid, config.largeThreshold);
        executableAt = uint64(block.timestamp) + rotationDelay;
        _pendingRotation =
            PendingRotation({proposalHash: proposalHash, epoch: config.epoch, executableAt: executableAt});
        emit RotationProposed(
            config.epoch + 1, proposalHash, executableAt, signers, pqKeyHashes, threshold_, largeThreshold_, valid
        );
    }

    /// @notice Installs the pending rotation once its delay has passed; anyone may call.
    /// @dev The arguments must hash to the proposal, which commits to epoch e+1; the epoch cannot
    /// have moved since (one pending rotation at a time), checked anyway.
    /// @param signers The proposed signers. @param pqKeyHashes The proposed ML-DSA-65 key hashes.
    /// @param threshold_ The proposed threshold. @param largeThreshold_ The proposed large threshold.
    function executeRotation(
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_
    ) external {
        PendingRotation memory pending = _pendingRotation;
        if (pending.proposalHash == bytes32(0)) revert NoPendingRotation();
        uint64 current = _config.epoch;
        if (pending.epoch != current) revert RotationEpochMoved(pending.epoch, current);
        if (block.timestamp < pending.executableAt) revert RotationNotReady(pending.executableAt);
        bytes32 provided = _rotationDigest(current + 1, signers, pqKeyHashes, threshold_, largeThreshold_);
        if (provided != pending.proposalHash) revert RotationMismatch(provided, pending.proposalHash);
        delete _pendingRotation;
        _installSet(current + 1, signers, pqKeyHashes, threshold_, largeThreshold_);
    }

    /// @notice Cancels the pending rotation (guardian; any time before it is executed).
    function cancelRotation() external onlyRole(GUARDIAN_ROLE) {
        PendingRotation memory pending = _pendingRotation;
        if (pending.proposalHash == bytes32(0)) revert NoPendingRotation();
        delete _pendingRotation;
        emit RotationCancelled(pending.epoch + 1, pending.proposalHash, msg.sender);
    }

    /// @notice Sets the rotation delay (at least `MIN_ROTATION_DELAY` outside test deployments).
    /// A pending proposal keeps the `executableAt` it was given.
    /// @param delaySeconds New delay.
    function setRotationDelay(uint64 delaySeconds) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!allowWeakThreshold && delaySeconds < MIN_ROTATION_DELAY) {
            revert RotationDelayTooShort(delaySeconds, MIN_ROTATION_DELAY);
        }
        rotationDelay = delaySeconds;
        emit RotationDelaySet(delaySeconds);
    }

    /// @notice The pending rotation (zero hash: none).
    /// @return proposalHash The rotation digest the current set signed.
    /// @return proposedInEpoch The epoch it was proposed in (it installs epoch + 1).
    /// @return executableAt Earliest execution time.
    function pendingRotation()
        external
        view
        returns (bytes32 proposalHash, uint64 proposedInEpoch, uint64 executableAt)
    {
        PendingRotation memory pending = _pendingRotation;
        return (pending.proposalHash, pending.epoch, pending.executableAt);
    }

    /// @notice Checks M valid distinct signatures of the current set over a message id, for the
    /// CALLER as the releasing endpoint (the digest names `msg.sender`).
    /// @param messageId keccak256 of the ABI-encoded BridgeMessage.
    /// @param attestation The current signer set and the signatures.
    /// @return validSignatures Number of valid signatures (>= threshold, else it reverts).
    function verifyMessage(bytes32 messageId, Attestation calldata attestation)
        external
        view
        returns (uint256 validSignatures)
    {
        if (messageId == bytes32(0)) revert ZeroDigest();
        bytes32 digest = _hashTypedDataV4(BridgeMessages.messageStructHash(messageId, _config.epoch, msg.sender));
        return _verify(digest, attestation);
    }

    /// @notice Verifies a batch root once for the CALLER as the releasing endpoint and caches it
    /// under (caller, root), so each member is released there by proof.
    /// @param root Merkle root over the batch's message leaves.
    /// @param attestation The current signer set and signatures over the BatchAttestation digest.
    /// @return validSignatures Number of valid signatures.
    function verifyBatchRoot(bytes32 root, Attestation calldata attestation)
        external
        returns (uint256 validSignatures)
    {
        if (root == bytes32(0)) revert ZeroDigest();
        uint64 current = _config.epoch;
        validSignatures =
            _verify(_hashTypedDataV4(BridgeMessages.batchStructHash(root, current, msg.sender)), attestation);
        BatchRoot memory cached = _batchRoots[msg.sender][root];
        // Keep the strongest attestation seen in this epoch (it decides large transfers).
        if (cached.epoch != current || cached.signatures < validSignatures) {
            // forge-lint: disable-next-line(unsafe-typecast)
            _batchRoots[msg.sender][root] = BatchRoot({epoch: current, signatures: uint8(validSignatures)}); // <= N <= 255
            emit BatchRootVerified(msg.sender, root, current, validSignatures);
        }
    }

    /// @notice Signature count of a batch root `endpoint` verified in the CURRENT epoch.
    /// @param endpoint The releasing endpoint the root was attested for (endpoints pass themselves).
    /// @param root The batch root.
    /// @return signatures Valid signatures it was attested with; reverts if unknown or stale.
    function batchRootSignatures(address endpoint, bytes32 root) external view returns (uint256 signatures) {
        BatchRoot memory cached = _batchRoots[endpoint][root];
        if (cached.signatures == 0) revert UnknownBatchRoot(root);
        if (cached.epoch != _config.epoch) revert StaleEpoch(cached.epoch, _config.epoch);
        return cached.signatures;
    }

    /// @notice Route registry: the calling endpoint now accepts `remote` on `chainId` and no
    /// longer its previous remote there (zero `remote`: the route is closed). Reverts if another
    /// endpoint of this verifier already accepts `remote` on `chainId`, because then one
    /// message would have two releasing endpoints. Called by `BridgeEndpoint.setRemote`.
    /// @param chainId The remote chain.
    /// @param remote The vault or minter there (zero releases the caller's claim).
    function claimRemote(uint64 chainId, address remote) external onlyRole(ENDPOINT_ROLE) {
        address previous = _claimedRemotes[msg.sender][chainId];
        if (remote != address(0)) {
            address owner = _remoteOwners[chainId][remote];
            if (owner != address(0) && owner != msg.sender) {
                revert RemoteClaimedByOtherEndpoint(chainId, remote, owner);
            }
            _remoteOwners[chainId][remote] = msg.sender;
        }
        if (previous != address(0) && previous != remote) delete _remoteOwners[chainId][previous];
        _claimedRemotes[msg.sender][chainId] = remote;
        emit RemoteClaimed(chainId, remote, msg.sender);
    }

    /// @notice The endpoint of this verifier that accepts `remote` on `chainId` (zero: none).
    function remoteOwner(uint64 chainId, address remote) external view returns (address) {
        return _remoteOwners[chainId][remote];
    }

    /// @notice The current epoch (0 before initialisation).
    function epoch() external view returns (uint64) {
        return _config.epoch;
    }

    /// @notice Signatures needed for a normal release.
    function threshold() external view returns (uint256) {
        return _config.threshold;
    }

    /// @notice Signatures needed for a transfer above a token's large amount.
    function largeThreshold() external view returns (uint256) {
        return _config.largeThreshold;
    }

    /// @notice Hash of the current signer set (what attestations must carry).
    function signerSetHash() external view returns (bytes32) {
        return _signerSetHash;
    }

    /// @notice Hash of the current ML-DSA-65 key-hash list.
    function pqKeySetHash() external view returns (bytes32) {
        return _pqKeySetHash;
    }

    /// @notice The current validator set, for daemons and watchers (not read on the hot path).
    /// @return signers secp256k1 addresses; @return pqKeyHashes ML-DSA-65 key hashes.
    function validators() external view returns (address[] memory signers, bytes32[] memory pqKeyHashes) {
        return (_signers, _pqKeyHashes);
    }

    /// @notice The EIP-712 domain separator (destination chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The digest validators sign for one message in the current epoch.
    /// @param endpoint The destination contract that releases it (minter: lock leg; vault: burn leg).
    /// @param messageId The message id.
    function messageDigest(address endpoint, bytes32 messageId) external view returns (bytes32) {
        return _hashTypedDataV4(BridgeMessages.messageStructHash(messageId, _config.epoch, endpoint));
    }

    /// @notice The digest validators sign for a batch root in the current epoch.
    /// @param endpoint The destination contract that releases the batch's members.
    /// @param root The batch root.
    function batchDigest(address endpoint, bytes32 root) external view returns (bytes32) {
        return _hashTypedDataV4(BridgeMessages.batchStructHash(root, _config.epoch, endpoint));
    }

    /// @notice The digest the current set signs to rotate to the given set (also the proposal hash).
    function rotationDigest(address[] calldata signers, bytes32[] calldata pqKeyHashes, uint8 threshold_, uint8 large)
        external
        view
        returns (bytes32)
    {
        return _rotationDigest(_config.epoch + 1, signers, pqKeyHashes, threshold_, large);
    }

    function _rotationDigest(
        uint64 newEpoch,
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            BridgeMessages.rotationStructHash(
                newEpoch,
                BridgeMessages.signerSetHash(signers),
                BridgeMessages.pqKeySetHash(pqKeyHashes),
                threshold_,
                largeThreshold_
            )
        );
    }

    /// @dev Counts valid distinct signatures of the stored set over `digest`; reverts on any
    /// invalid, duplicate or out-of-set signature and below threshold.
    function _verify(bytes32 digest, Attestation calldata attestation) private view returns (uint256 count) {
        Config memory config = _config;
        if (config.epoch == 0) revert NotInitialized();
        address[] calldata signers = attestation.signers;
        if (signers.length == 0) revert EmptySignerSet();
        bytes32 provided = keccak256(abi.encodePacked(signers));
        if (provided != _signerSetHash) revert SignerSetMismatch(provided, _signerSetHash);

        Signature[] calldata signatures = attestation.signatures;
        count = signatures.length;
        uint256 nextAllowedIndex = 0;
        for (uint256 i = 0; i < count;) {
            nextAllowedIndex = _checkSignature(digest, signers, signatures, i, nextAllowedIndex);
            unchecked {
                ++i;
            }
        }
        if (count < config.threshold) revert InsufficientSignatures(count, config.threshold);
    }

    /// @dev Checks signature `i` and returns the lowest signer index the next one may use.
    /// Fields are read straight from calldata (Signature is 3 static words: index, r, vs);
    /// `signers[index]` is read unchecked because `index < signers.length` is checked first.
    function _checkSignature(
        bytes32 digest,
        address[] calldata signers,
        Signature[] calldata signatures,
        uint256 i,
        uint256 nextAllowedIndex
    ) private view returns (uint256) {
        uint256 index;
        bytes32 r;
        bytes32 vs;
        assembly ("memory-safe") {
            let sig := add(signatures.offset, mul(i, 0x60))
            index := calldataload(sig)
            r := calldataload(add(sig, 0x20))
            vs := calldataload(add(sig, 0x40))
        }
        if (index < nextAllowedIndex) revert DuplicateOrUnsortedSigner(i, index);
        if (index >= signers.length) revert SignerIndexOutOfRange(i, index);
        address expected;
        assembly ("memory-safe") {
            expected := calldataload(add(signers.offset, shl(5, index)))
        }
        if (_recoverCompact(digest, r, vs) != expected) revert InvalidSignature(i, index);
        unchecked {
            return index + 1;
        }
    }

    /// @dev EIP-2098 compact signature recovery straight through the ecrecover precompile, as
    /// Solady does: same rules as OpenZeppelin's ECDSA.tryRecover (high-s refused, failure yields
    /// address(0), which never matches a set member since members are strictly ascending from
    /// above zero), ~700 gas less per signature, which is what keeps 13 signatures in budget.
    function _recoverCompact(bytes32 digest, bytes32 r, bytes32 vs) private view returns (address signer) {
        uint256 s = uint256(vs) & (2 ** 255 - 1);
        // Upper bound of s in the lower half order (EIP-2), as OpenZeppelin's ECDSA.
        if (s > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, digest)
            mstore(add(ptr, 0x20), add(shr(255, vs), 27))
            mstore(add(ptr, 0x40), r)
            mstore(add(ptr, 0x60), s)
            mstore(0x00, 0)
            // On failure the precompile returns no data and 0x00 stays zero.
            pop(staticcall(gas(), 0x01, ptr, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
    }

    function _installSet(
        uint64 newEpoch,
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_
    ) private {
        uint256 n = signers.length;
        _checkThresholds(signers, pqKeyHashes, threshold_, largeThreshold_);
        // Cannot truncate: n <= 255: _checkSet refuses a larger set.
        // forge-lint: disable-start(unsafe-typecast)
        _config =
            Config({epoch: newEpoch, threshold: threshold_, largeThreshold: largeThreshold_, signerCount: uint8(n)});
        // forge-lint: disable-end(unsafe-typecast)
        _signerSetHash = keccak256(abi.encodePacked(signers));
        _pqKeySetHash = keccak256(abi.encodePacked(pqKeyHashes));
        _signers = signers;
        _pqKeyHashes = pqKeyHashes;
        emit ValidatorSetUpdated(newEpoch, signers, pqKeyHashes, threshold_, largeThreshold_);
    }

    function _checkThresholds(
        address[] calldata signers,
        bytes32[] calldata pqKeyHashes,
        uint8 threshold_,
        uint8 largeThreshold_
    ) private view {
        uint256 n = signers.length;
        _checkSet(signers, pqKeyHashes);
        uint256 minimum = (2 * n + 2) / 3; // ceil(2N/3)
        if (threshold_ == 0 || (!allowWeakThreshold && threshold_ < minimum)) {
            revert ThresholdTooLow(threshold_, allowWeakThreshold ? 1 : minimum);
        }
        if (threshold_ > n) revert ThresholdTooHigh(threshold_, n);
        if (largeThreshold_ < threshold_ || largeThreshold_ > n) {
            revert LargeThresholdOutOfRange(largeThreshold_, threshold_, n);
        }
    }

    function _checkSet(address[] calldata signers, bytes32[] calldata pqKeyHashes) private pure {
        uint256 n = signers.length;
        if (n == 0) revert EmptySignerSet();
        if (n > type(uint8).max) revert TooManySigners(n);
        if (pqKeyHashes.length != n) revert PqKeyCountMismatch(n, pqKeyHashes.length);
        address previous = address(0);
        for (uint256 i = 0; i < n; ++i) {
            // Strictly ascending also rules out address(0) and duplicates.
            if (signers[i] <= previous) revert SignerNotAscending(i, signers[i]);
            if (pqKeyHashes[i] == bytes32(0)) revert ZeroPqKeyHash(i);
            previous = signers[i];
        }
    }
}
