// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./Test.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {AttestationVerifier} from "../../src/AttestationVerifier.sol";
import {BridgeGuardian} from "../../src/BridgeGuardian.sol";
import {BridgeMinter} from "../../src/BridgeMinter.sol";
import {BridgeVault} from "../../src/BridgeVault.sol";
import {FeeManager} from "../../src/FeeManager.sol";
import {GhostToken} from "../../src/GhostToken.sol";
import {WrappedToken} from "../../src/WrappedToken.sol";
import {Attestation, BridgeMessage, BridgeMessages, Signature} from "../../src/libraries/BridgeMessages.sol";

/// @notice A whole bridge on one EVM, wired both ways: the vault sends to the minter and the
/// minter sends back to the vault, both on `block.chainid` (forge's 31337), sharing one verifier.
/// Validators are deterministic keys sorted by address, so signer index i == `validatorKeys[i]`.
abstract contract BridgeFixture is Test {
    uint64 internal constant CHAIN = 31337;
    uint64 internal constant DELAY = 1 days;
    uint128 internal constant BUCKET = 1_000_000 ether;
    uint128 internal constant REFILL = 10 ether; // per second

    address internal admin = address(0xA11CE);
    address internal guardianKey = address(0x6A4D);
    address internal alice = address(0xA1);
    address internal bob = address(0xB0B);
    address internal l2Validators = address(0x4001);
    address internal l1Validators = address(0x3001);
    address internal securityFund = address(0x2001);
    address internal protocolTreasury = address(0x1001);

    uint256[] internal validatorKeys;
    address[] internal validatorAddrs;
    bytes32[] internal pqKeyHashes;

    AttestationVerifier internal verifier;
    FeeManager internal feeManager;
    BridgeVault internal vault;
    BridgeMinter internal minter;
    BridgeGuardian internal guardian;
    GhostToken internal gcc;
    GhostToken internal spirit;
    GhostToken internal mana;
    GhostToken internal ghost;
    WrappedToken internal wGcc;
    WrappedToken internal wEth;

    /// @dev Deploys everything with N validators, threshold M and large threshold L.
    function _deployBridge(uint256 n, uint8 m, uint8 large) internal {
        _makeValidators(n);
        verifier = new AttestationVerifier(admin, false);
        vm.prank(admin);
        verifier.initialize(validatorAddrs, pqKeyHashes, m, large);

        gcc = new GhostToken("GhostChain Credits", "GCC", admin);
        spirit = new GhostToken("Spirit", "SPIRIT", admin);
        mana = new GhostToken("Mana", "MANA", admin);
        ghost = new GhostToken("Ghost", "GHOST", admin);
        feeManager = new FeeManager(
            admin, address(ghost), FeeManager.Recipients(l2Validators, l1Validators, securityFund, protocolTreasury)
        );
        vault = new BridgeVault(admin, verifier, feeManager, DELAY);
        minter = new BridgeMinter(admin, verifier, feeManager, DELAY);
        guardian = new BridgeGuardian(admin, guardianKey);

        vm.startPrank(admin);
        feeManager.grantRole(feeManager.COLLECTOR_ROLE(), address(vault));
        feeManager.grantRole(feeManager.COLLECTOR_ROLE(), address(minter));
        _wireEndpoint(address(vault));
        _wireEndpoint(address(minter));
        // Both endpoints claim their remotes in the verifier's route registry.
        verifier.grantRole(verifier.ENDPOINT_ROLE(), address(vault));
        verifier.grantRole(verifier.ENDPOINT_ROLE(), address(minter));
        vault.setRemote(CHAIN, address(minter));
        minter.setRemote(CHAIN, address(vault));
        wGcc = minter.createWrappedToken(CHAIN, address(gcc), "Wrapped GCC", "wGCC", 18);
        wEth = minter.createWrappedToken(CHAIN, address(0), "Wrapped Ether", "wETH", 18);
        _openRoute(address(gcc), address(wGcc));
        _openRoute(address(0), address(wEth));
        guardian.addEndpoint(address(vault));
        guardian.addEndpoint(address(minter));
        verifier.grantRole(verifier.GUARDIAN_ROLE(), guardianKey);
        vm.stopPrank();
    }

    function _wireEndpoint(address endpoint) private {
        BridgeVault e = BridgeVault(payable(endpoint));
        e.grantRole(e.ROUTE_ADMIN_ROLE(), admin);
        e.grantRole(e.PAUSER_ROLE(), address(guardian));
        e.grantRole(e.GUARDIAN_ROLE(), guardianKey);
    }

    function _openRoute(address canonical, address wrapped) internal {
        vault.setRateLimit(canonical, CHAIN, true, BUCKET, REFILL);
        vault.setRateLimit(canonical, CHAIN, false, BUCKET, REFILL);
        minter.setRateLimit(wrapped, CHAIN, true, BUCKET, REFILL);
        minter.setRateLimit(wrapped, CHAIN, false, BUCKET, REFILL);
        // Release windows as wide as the bucket; the release-share tests narrow them.
        vault.setReleaseShare(canonical, 10_000, 1 days, BUCKET);
        minter.setReleaseShare(wrapped, 10_000, 1 days, BUCKET);
    }

    /// @dev n deterministic validator keys, sorted ascending by address.
    function _makeValidators(uint256 n) internal {
        uint256[] memory keys = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            keys[i] = uint256(keccak256(abi.encode("ghostbridge validator", i))) % (2 ** 250) + 1;
        }
        address[] memory addrs = _sortKeysByAddress(keys);
        validatorKeys = keys;
        validatorAddrs = addrs;
        delete pqKeyHashes;
        for (uint256 i = 0; i < n; ++i) {
            pqKeyHashes.push(keccak256(abi.encode("ml-dsa-65 public key", addrs[i])));
        }
    }

    /// @dev Sorts `keys` in place by their address (a signer set must be ascending); returns the addresses.
    function _sortKeysByAddress(uint256[] memory keys) internal pure returns (address[] memory addrs) {
        addrs = new address[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) {
            addrs[i] = vm.addr(keys[i]);
        }
        for (uint256 i = 0; i < keys.length; ++i) {
            for (uint256 j = i + 1; j < keys.length; ++j) {
                if (addrs[j] < addrs[i]) {
                    (addrs[i], addrs[j]) = (addrs[j], addrs[i]);
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                }
            }
        }
    }

    /// @dev Users get tokens, ETH, GHOST for fees, and approvals for vault, minter and fees.
    function _fund(address user, uint256 amount) internal {
        vm.startPrank(admin);
        gcc.mint(user, amount);
        ghost.mint(user, 1_000 ether);
        vm.stopPrank();
        vm.deal(user, amount);
        vm.startPrank(user);
        gcc.approve(address(vault), type(uint256).max);
        ghost.approve(address(feeManager), type(uint256).max);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ messages

    /// @dev The message the vault emits for its next lock.
    function _lockMessage(address token, uint256 amount, address sender, address recipient)
        internal
        view
        returns (BridgeMessage memory)
    {
        return BridgeMessage({
            version: 1,
            srcChainId: CHAIN,
            dstChainId: CHAIN,
            srcContract: address(vault),
            nonce: vault.lastNonce() + 1,
            token: token,
            amount: amount,
            sender: sender,
            recipient: recipient
        });
    }

    /// @dev The message the minter emits for its next burn of `wrapped`.
    function _burnMessage(WrappedToken wrapped, uint256 amount, address sender, address recipient)
        internal
        view
        returns (BridgeMessage memory)
    {
        return BridgeMessage({
            version: 1,
            srcChainId: CHAIN,
            dstChainId: CHAIN,
            srcContract: address(minter),
            nonce: minter.lastNonce() + 1,
            token: wrapped.originToken(),
            amount: amount,
            sender: sender,
            recipient: recipient
        });
    }

    /// @dev Locks as `user` and returns the exact emitted message.
    function _lock(address user, uint256 amount, address recipient) internal returns (BridgeMessage memory message) {
        message = _lockMessage(address(gcc), amount, user, recipient);
        vm.prank(user);
        vault.lock(address(gcc), amount, CHAIN, recipient);
    }

    // ------------------------------------------------------------------ signing

    /// @dev The first `count` validators sign `digest`.
    function _attest(bytes32 digest, uint256 count) internal view returns (Attestation memory) {
        uint256[] memory indices = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            indices[i] = i;
        }
        return _attestWith(digest, indices);
    }

    /// @dev The validators at `indices` (in the order given) sign `digest`.
    function _attestWith(bytes32 digest, uint256[] memory indices) internal view returns (Attestation memory att) {
        att.signers = validatorAddrs;
        att.signatures = new Signature[](indices.length);
        for (uint256 i = 0; i < indices.length; ++i) {
            att.signatures[i] = _signCompact(validatorKeys[indices[i]], digest, uint8(indices[i]));
        }
    }

    /// @dev EIP-2098 compact signature: vs = s | (v - 27) << 255.
    function _signCompact(uint256 key, bytes32 digest, uint8 index) internal pure returns (Signature memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        return Signature({signerIndex: index, r: r, vs: vs});
    }

    /// @dev The endpoint that releases `message` here, decided as validators do: a message from
    /// the minter (burn leg) is unlocked by the vault, anything else is minted by the minter.
    function _releaserOf(BridgeMessage memory message) internal view returns (address) {
        return message.srcContract == address(minter) ? address(vault) : address(minter);
    }

    function _messageDigest(BridgeMessage memory message) internal view returns (bytes32) {
        return verifier.messageDigest(_releaserOf(message), BridgeMessages.id(message));
    }

    /// @dev A single-message attestation by the first `count` validators.
    function _attestMessage(BridgeMessage memory message, uint256 count) internal view returns (Attestation memory) {
        return _attest(_messageDigest(message), count);
    }

    /// @dev Rotation as it now works: the first `signatures` validators of the current set
    /// propose (needs the large threshold), the delay passes, anyone executes.
    function _rotate(address[] memory set, bytes32[] memory pq, uint8 m, uint8 large, uint256 signatures) internal {
        Attestation memory att = _attest(verifier.rotationDigest(set, pq, m, large), signatures);
        uint64 executableAt = verifier.proposeRotation(set, pq, m, large, att);
        vm.warp(executableAt);
        verifier.executeRotation(set, pq, m, large);
    }

    // ------------------------------------------------------------------ Merkle batches (PROTOCOL.md)

    function _leaves(BridgeMessage[] memory messages) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](messages.length);
        for (uint256 i = 0; i < messages.length; ++i) {
            leaves[i] = BridgeMessages.leaf(BridgeMessages.id(messages[i]));
        }
    }

    /// @dev Root over `leaves`: commutative inner nodes, an odd node carried up unchanged.
    function _merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = leaves;
        while (level.length > 1) level = _nextLevel(level);
        return level[0];
    }

    /// @dev Sibling hashes of leaf `index`, bottom-up.
    function _merkleProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        bytes32[] memory buffer = new bytes32[](64);
        uint256 length = 0;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) buffer[length++] = level[sibling];
            level = _nextLevel(level);
            index >>= 1;
        }
        proof = new bytes32[](length);
        for (uint256 i = 0; i < length; ++i) {
            proof[i] = buffer[i];
        }
    }

    function _nextLevel(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i = 0; i < next.length; ++i) {
            uint256 left = 2 * i;
            next[i] = left + 1 < level.length ? Hashes.commutativeKeccak256(level[left], level[left + 1]) : level[left];
        }
    }
}
