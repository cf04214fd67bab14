// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {BridgeMessage, BridgeMessages} from "../src/libraries/BridgeMessages.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice The shared bridge-protocol fixture (contracts/test/fixtures/protocol/bridge.json, written
///         from the Rust core by script/protocol-fixtures.sh; the TypeScript SDK's tests read it
///         too) against the contracts: message ids and Merkle leaves/roots of `BridgeMessages`,
///         proofs through OpenZeppelin's `MerkleProof`, domain separators and digests of a real
///         `AttestationVerifier` placed at each vector's verifier address and chain id.
contract ProtocolFixturesTest is Test {
    string internal constant PATH = "/contracts/test/fixtures/protocol/bridge.json";
    address internal constant ADMIN = address(0xAD);

    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), PATH));
    }

    function _key(string memory list, uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".", list, "[", vm.toString(i), "].", field);
    }

    function _count(string memory list) internal view returns (uint256 n) {
        while (vm.keyExistsJson(json, string.concat(".", list, "[", vm.toString(n), "]"))) ++n;
    }

    function _bytes32(string memory key) internal view returns (bytes32) {
        return bytes32(vm.parseJsonUint(json, key));
    }

    function test_typehashes() public view {
        vm.assertEq(BridgeMessages.MESSAGE_ATTESTATION_TYPEHASH, _bytes32(".typehashes.messageAttestation"));
        vm.assertEq(BridgeMessages.BATCH_ATTESTATION_TYPEHASH, _bytes32(".typehashes.batchAttestation"));
    }

    function test_messageIds() public view {
        uint256 n = _count("messages");
        vm.assertGe(n, 4, "messages in the fixture");
        for (uint256 i = 0; i < n; ++i) {
            BridgeMessage memory m = BridgeMessage({
                version: uint8(vm.parseJsonUint(json, _key("messages", i, "message.version"))),
                srcChainId: uint64(vm.parseJsonUint(json, _key("messages", i, "message.srcChainId"))),
                dstChainId: uint64(vm.parseJsonUint(json, _key("messages", i, "message.dstChainId"))),
                srcContract: vm.parseJsonAddress(json, _key("messages", i, "message.srcContract")),
                nonce: uint64(vm.parseJsonUint(json, _key("messages", i, "message.nonce"))),
                token: vm.parseJsonAddress(json, _key("messages", i, "message.token")),
                amount: vm.parseJsonUint(json, _key("messages", i, "message.amount")),
                sender: vm.parseJsonAddress(json, _key("messages", i, "message.sender")),
                recipient: vm.parseJsonAddress(json, _key("messages", i, "message.recipient"))
            });
            vm.assertEq(abi.encode(m), vm.parseJsonBytes(json, _key("messages", i, "encoded")));
            vm.assertEq(BridgeMessages.id(m), _bytes32(_key("messages", i, "id")), "message id");
        }
    }

    function test_batchRootsAndProofs() public view {
        uint256 n = _count("batches");
        vm.assertGe(n, 9, "batches in the fixture");
        for (uint256 b = 0; b < n; ++b) {
            bytes32[] memory ids = vm.parseJsonBytes32Array(json, _key("batches", b, "messageIds"));
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, _key("batches", b, "leaves"));
            bytes32 root = _bytes32(_key("batches", b, "root"));
            vm.assertEq(ids.length, leaves.length);
            bytes32[] memory nodes = new bytes32[](ids.length);
            for (uint256 i = 0; i < ids.length; ++i) {
                nodes[i] = BridgeMessages.leaf(ids[i]);
                vm.assertEq(nodes[i], leaves[i], "leaf");
                bytes32[] memory proof = vm.parseJsonBytes32Array(
                    json, string.concat(_key("batches", b, "proofs"), "[", vm.toString(i), "]")
                );
                vm.assertTrue(MerkleProof.verify(proof, root, leaves[i]), "proof verifies");
                vm.assertFalse(MerkleProof.verify(proof, root, keccak256("foreign")), "foreign leaf");
            }
            vm.assertEq(BridgeMessages.merkleRootInPlace(nodes), root, "root");
        }
    }

    /// @dev Every vector on a real verifier: its code and initialised storage at the vector's
    /// address, on the vector's chain. The views sign for the verifier's epoch (1 here); other
    /// epochs are checked through the library's struct hashes under the verifier's separator.
    function test_digests() public {
        AttestationVerifier deployed = new AttestationVerifier(ADMIN, false);
        address[] memory one = new address[](1);
        one[0] = address(0x1111);
        bytes32[] memory pq = new bytes32[](1);
        pq[0] = keccak256("pq");
        vm.prank(ADMIN);
        deployed.initialize(one, pq, 1, 1);

        uint256 n = _count("digests");
        vm.assertGe(n, 5, "digests in the fixture");
        for (uint256 i = 0; i < n; ++i) {
            vm.chainId(vm.parseJsonUint(json, _key("digests", i, "chainId")));
            AttestationVerifier v = AttestationVerifier(vm.parseJsonAddress(json, _key("digests", i, "verifier")));
            vm.etch(address(v), address(deployed).code);
            for (uint256 slot = 0; slot < 32; ++slot) {
                vm.store(address(v), bytes32(slot), vm.load(address(deployed), bytes32(slot)));
            }
            vm.assertEq(v.epoch(), 1);
            bytes32 separator = v.domainSeparator();
            vm.assertEq(separator, _bytes32(_key("digests", i, "domainSeparator")), "domain separator");

            address endpoint = vm.parseJsonAddress(json, _key("digests", i, "endpoint"));
            uint64 epoch = uint64(vm.parseJsonUint(json, _key("digests", i, "epoch")));
            bytes32 id = _bytes32(_key("digests", i, "messageId"));
            bytes32 root = _bytes32(_key("digests", i, "root"));
            bytes32 messageDigest = _bytes32(_key("digests", i, "messageDigest"));
            bytes32 batchDigest = _bytes32(_key("digests", i, "batchDigest"));
            vm.assertEq(
                keccak256(
                    abi.encodePacked(hex"1901", separator, BridgeMessages.messageStructHash(id, epoch, endpoint))
                ),
                messageDigest,
                "message digest"
            );
            vm.assertEq(
                keccak256(
                    abi.encodePacked(hex"1901", separator, BridgeMessages.batchStructHash(root, epoch, endpoint))
                ),
                batchDigest,
                "batch digest"
            );
            if (epoch == 1) {
                vm.assertEq(v.messageDigest(endpoint, id), messageDigest, "verifier.messageDigest");
                vm.assertEq(v.batchDigest(endpoint, root), batchDigest, "verifier.batchDigest");
            }
        }
    }

    function test_signerSetHashes() public view {
        uint256 n = _count("signerSets");
        vm.assertGe(n, 1, "signer sets in the fixture");
        for (uint256 i = 0; i < n; ++i) {
            vm.assertEq(
                BridgeMessages.signerSetHash(vm.parseJsonAddressArray(json, _key("signerSets", i, "signers"))),
                _bytes32(_key("signerSets", i, "signerSetHash"))
            );
            vm.assertEq(
                BridgeMessages.pqKeySetHash(vm.parseJsonBytes32Array(json, _key("signerSets", i, "pqKeyHashes"))),
                _bytes32(_key("signerSets", i, "pqKeySetHash"))
            );
        }
    }
}
