// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "./utils/Test.sol";
import {AttestationVerifier} from "../src/AttestationVerifier.sol";
import {Attestation, BridgeMessage, BridgeMessages, Signature} from "../src/libraries/BridgeMessages.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice The shared bridge-protocol fixtures (the Rust core and the TypeScript SDK's tests read
///         the same two files) against the contracts:
///         - contracts/test/fixtures/protocol/bridge.json: vectors computed by the Rust core from
///           fixed inputs (core/examples/protocol_fixtures.rs via script/protocol-fixtures.sh;
///           `--check` in CI): message ids and Merkle leaves/roots of `BridgeMessages`, proofs
///           through OpenZeppelin's `MerkleProof`, domain separators and digests of a real
///           `AttestationVerifier` placed at each vector's verifier address and chain id.
///         - contracts/test/fixtures/protocol/devnet-run.json: a REAL devnet run captured from the
///           chains (cli/examples/protocol_devnet_fixture.rs via script/protocol-fixtures.sh
///           --devnet): the ids the vaults/minters emitted, the attestations and Merkle proofs the
///           relayer's release transactions carried. `test_devnetRun_*` recompute the ids with
///           `BridgeMessages`, the digests with a real `AttestationVerifier` set up with the run's
///           validator set at the run's verifier address and chain id, recover every signature
///           with OpenZeppelin's `ECDSA`, make the verifier itself accept each attestation for its
///           endpoint, and check every batch root and proof.
contract ProtocolFixturesTest is Test {
    string internal constant PATH = "/contracts/test/fixtures/protocol/bridge.json";
    string internal constant DEVNET_RUN_PATH = "/contracts/test/fixtures/protocol/devnet-run.json";
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

    // ------------------------------------------------------------------ the captured devnet run

    /// @dev Reverts (failing the test) when the capture is missing.
    function _run() internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), DEVNET_RUN_PATH));
    }

    function _countIn(string memory data, string memory list) internal view returns (uint256 n) {
        while (vm.keyExistsJson(data, string.concat(list, "[", vm.toString(n), "]"))) ++n;
    }

    function _at(string memory list, uint256 i) internal pure returns (string memory) {
        return string.concat(list, "[", vm.toString(i), "]");
    }

    function _word(string memory data, string memory key) internal pure returns (bytes32) {
        return bytes32(vm.parseJsonUint(data, key));
    }

    function _same(string memory a, string memory b) internal pure returns (bool) {
        return keccak256(bytes(a)) == keccak256(bytes(b));
    }

    function _runMessage(string memory data, string memory key) internal pure returns (BridgeMessage memory) {
        return BridgeMessage({
            version: uint8(vm.parseJsonUint(data, string.concat(key, ".version"))),
            srcChainId: uint64(vm.parseJsonUint(data, string.concat(key, ".srcChainId"))),
            dstChainId: uint64(vm.parseJsonUint(data, string.concat(key, ".dstChainId"))),
            srcContract: vm.parseJsonAddress(data, string.concat(key, ".srcContract")),
            nonce: uint64(vm.parseJsonUint(data, string.concat(key, ".nonce"))),
            token: vm.parseJsonAddress(data, string.concat(key, ".token")),
            amount: vm.parseJsonUint(data, string.concat(key, ".amount")),
            sender: vm.parseJsonAddress(data, string.concat(key, ".sender")),
            recipient: vm.parseJsonAddress(data, string.concat(key, ".recipient"))
        });
    }

    function test_devnetRun_messageIds() public view {
        string memory data = _run();
        uint256 n = _countIn(data, ".messages");
        vm.assertGe(n, 3 + 2 * 8, "messages in the capture");
        for (uint256 i = 0; i < n; ++i) {
            string memory key = _at(".messages", i);
            BridgeMessage memory m = _runMessage(data, string.concat(key, ".message"));
            vm.assertEq(m.version, BridgeMessages.VERSION, "version");
            vm.assertEq(BridgeMessages.id(m), _word(data, string.concat(key, ".messageId")), "emitted message id");
        }
    }

    /// @dev The run's verifier of chain `c`: a real `AttestationVerifier` initialised with the
    /// run's validator set (the chain's signer-set hash must come out), at the run's address.
    function _runVerifier(string memory data, uint256 c) internal returns (AttestationVerifier v) {
        string memory key = _at(".chains", c);
        vm.chainId(vm.parseJsonUint(data, string.concat(key, ".chainId")));
        v = AttestationVerifier(vm.parseJsonAddress(data, string.concat(key, ".verifier")));
        AttestationVerifier deployed = new AttestationVerifier(ADMIN, false);
        vm.prank(ADMIN);
        deployed.initialize(
            vm.parseJsonAddressArray(data, string.concat(key, ".validators")),
            vm.parseJsonBytes32Array(data, string.concat(key, ".pqKeyHashes")),
            uint8(vm.parseJsonUint(data, string.concat(key, ".threshold"))),
            uint8(vm.parseJsonUint(data, string.concat(key, ".largeThreshold")))
        );
        vm.etch(address(v), address(deployed).code);
        for (uint256 slot = 0; slot < 32; ++slot) {
            vm.store(address(v), bytes32(slot), vm.load(address(deployed), bytes32(slot)));
        }
        vm.assertEq(v.signerSetHash(), _word(data, string.concat(key, ".signerSetHash")), "signer set hash");
        vm.assertEq(v.domainSeparator(), _word(data, string.concat(key, ".domainSeparator")), "domain separator");
        vm.assertEq(uint256(v.epoch()), vm.parseJsonUint(data, string.concat(key, ".epoch")), "epoch");
    }

    function _chainIndex(string memory data, uint256 chainId) internal view returns (uint256 c) {
        uint256 n = _countIn(data, ".chains");
        for (c = 0; c < n; ++c) {
            if (vm.parseJsonUint(data, string.concat(_at(".chains", c), ".chainId")) == chainId) return c;
        }
        revert("release on a chain the capture does not describe");
    }

    /// @dev The release's signatures, each recovered with OpenZeppelin's ECDSA to the signer it
    /// names, which is the set member at its index and one of the run's validators.
    function _checkedAttestation(string memory data, string memory key, bytes32 digest, address[] memory validators)
        internal
        view
        returns (Attestation memory attestation)
    {
        attestation.signers = vm.parseJsonAddressArray(data, string.concat(key, ".signers"));
        vm.assertEq(keccak256(abi.encode(attestation.signers)), keccak256(abi.encode(validators)), "signer set");
        uint256 count = 0;
        while (vm.keyExistsJson(data, _at(string.concat(key, ".signatures"), count))) ++count;
        attestation.signatures = new Signature[](count);
        for (uint256 j = 0; j < count; ++j) {
            string memory s = _at(string.concat(key, ".signatures"), j);
            uint256 index = vm.parseJsonUint(data, string.concat(s, ".signerIndex"));
            bytes32 r = _word(data, string.concat(s, ".r"));
            bytes32 vs = _word(data, string.concat(s, ".vs"));
            address signer = vm.parseJsonAddress(data, string.concat(s, ".signer"));
            vm.assertEq(attestation.signers[index], signer, "signer at its index");
            vm.assertEq(ECDSA.recover(digest, r, vs), signer, "recovered signer");
            attestation.signatures[j] = Signature({signerIndex: uint8(index), r: r, vs: vs});
        }
    }

    /// @dev The release's digest from its inputs under the verifier's separator, equal to the
    /// captured one and to the verifier's own view; returns it with the attested subject.
    function _releaseDigest(string memory data, string memory key, AttestationVerifier v)
        internal
        view
        returns (bool single, bytes32 subject, bytes32 digest)
    {
        bytes32 separator = v.domainSeparator();
        vm.assertEq(separator, _word(data, string.concat(key, ".domainSeparator")), "domain separator");
        address endpoint = vm.parseJsonAddress(data, string.concat(key, ".endpoint"));
        uint64 epoch = uint64(vm.parseJsonUint(data, string.concat(key, ".epoch")));
        vm.assertEq(uint256(epoch), uint256(v.epoch()), "the run's epoch");
        single = _same(vm.parseJsonString(data, string.concat(key, ".kind")), "single");
        subject = _word(data, string.concat(key, single ? ".messageId" : ".root"));
        bytes32 structHash = single
            ? BridgeMessages.messageStructHash(subject, epoch, endpoint)
            : BridgeMessages.batchStructHash(subject, epoch, endpoint);
        digest = keccak256(abi.encodePacked(hex"1901", separator, structHash));
        vm.assertEq(digest, _word(data, string.concat(key, ".digest")), "digest");
        vm.assertEq(
            single ? v.messageDigest(endpoint, subject) : v.batchDigest(endpoint, subject),
            digest,
            "the verifier's own digest view"
        );
    }

    function _checkRelease(string memory data, uint256 i, address[] memory validators) internal returns (uint256) {
        string memory key = _at(".releases", i);
        uint256 chainId = vm.parseJsonUint(data, string.concat(key, ".chainId"));
        AttestationVerifier v = _runVerifier(data, _chainIndex(data, chainId));
        vm.assertEq(address(v), vm.parseJsonAddress(data, string.concat(key, ".verifier")), "verifier");
        (bool single, bytes32 subject, bytes32 digest) = _releaseDigest(data, key, v);
        Attestation memory attestation = _checkedAttestation(data, key, digest, validators);
        // The verifier accepts the attestation for the releasing endpoint, as on the chain.
        vm.prank(vm.parseJsonAddress(data, string.concat(key, ".endpoint")));
        uint256 valid = single ? v.verifyMessage(subject, attestation) : v.verifyBatchRoot(subject, attestation);
        vm.assertEq(valid, attestation.signatures.length, "signatures the verifier counted");
        return valid;
    }

    function test_devnetRun_digestsAndSignatures() public {
        string memory data = _run();
        address[] memory validators = vm.parseJsonAddressArray(data, ".validators");
        vm.assertEq(validators.length, 4, "the devnet's validators");
        uint256 n = _countIn(data, ".releases");
        vm.assertGe(n, 5, "releases in the capture");
        uint256 signatures = 0;
        for (uint256 i = 0; i < n; ++i) {
            signatures += _checkRelease(data, i, validators);
        }
        vm.assertGe(signatures, 5 * 3, "signatures checked");
    }

    function test_devnetRun_batchRootsAndProofs() public view {
        string memory data = _run();
        uint256 n = _countIn(data, ".releases");
        uint256 whole = 0;
        uint256 proved = 0;
        for (uint256 i = 0; i < n; ++i) {
            string memory key = _at(".releases", i);
            if (!_same(vm.parseJsonString(data, string.concat(key, ".kind")), "batch")) continue;
            bytes32 root = _word(data, string.concat(key, ".root"));
            bytes32[] memory ids = vm.parseJsonBytes32Array(data, string.concat(key, ".messageIds"));
            vm.assertGe(ids.length, 2, "batch members");
            uint256 proofs = _countIn(data, string.concat(key, ".proofs"));
            if (proofs == 0) {
                // mintWholeBatch: the minter rebuilt the root from its messages, in calldata order.
                bytes32[] memory nodes = new bytes32[](ids.length);
                for (uint256 j = 0; j < ids.length; ++j) {
                    nodes[j] = BridgeMessages.leaf(ids[j]);
                }
                vm.assertEq(BridgeMessages.merkleRootInPlace(nodes), root, "whole-batch root");
                ++whole;
                continue;
            }
            vm.assertEq(proofs, ids.length, "one proof per member");
            for (uint256 j = 0; j < ids.length; ++j) {
                bytes32[] memory proof = vm.parseJsonBytes32Array(data, _at(string.concat(key, ".proofs"), j));
                vm.assertTrue(MerkleProof.verify(proof, root, BridgeMessages.leaf(ids[j])), "member proof");
                vm.assertFalse(
                    MerkleProof.verify(proof, root, BridgeMessages.leaf(ids[j] ^ bytes32(uint256(1)))), "foreign id"
                );
            }
            ++proved;
        }
        vm.assertGe(whole, 1, "whole-batch mints in the capture");
        vm.assertGe(proved, 1, "batches released by proofs in the capture");
    }
}
