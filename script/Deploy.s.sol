// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "../contracts/test/utils/Vm.sol";
import {AttestationVerifier} from "../contracts/src/AttestationVerifier.sol";
import {BridgeGuardian} from "../contracts/src/BridgeGuardian.sol";
import {BridgeMinter} from "../contracts/src/BridgeMinter.sol";
import {BridgeVault} from "../contracts/src/BridgeVault.sol";
import {FeeManager} from "../contracts/src/FeeManager.sol";
import {GhostToken} from "../contracts/src/GhostToken.sol";

/// @notice Deploys the whole GhostBridge set on one chain and writes the addresses as JSON.
///
///   DEPLOY_CONFIG=script/config/devnet.json DEPLOY_OUT=deployments/31337.json \
///   forge script script/Deploy.s.sol:Deploy --rpc-url $RPC --private-key $KEY --broadcast
///
/// Config (JSON): validators (ascending), pqKeyHashes, threshold, largeThreshold,
/// allowWeakThreshold, largeTransferDelaySeconds, rotationDelaySeconds, deployGhostTokens,
/// feeRecipients[4].
/// Env: DEPLOY_CONFIG, DEPLOY_OUT, GUARDIAN (defaults to the deployer).
/// The deployer keeps admin and route-admin roles so `Connect.s.sol` can wire routes next.
contract Deploy {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Deployed {
        AttestationVerifier verifier;
        FeeManager feeManager;
        BridgeVault vault;
        BridgeMinter minter;
        BridgeGuardian guardian;
        GhostToken[4] tokens;
    }

    function run() external returns (Deployed memory d) {
        string memory json = vm.readFile(vm.envOr("DEPLOY_CONFIG", string("script/config/devnet.json")));
        vm.startBroadcast();
        (, address deployer,) = _callers();
        address guardianKey = vm.envOr("GUARDIAN", deployer);

        d.verifier = new AttestationVerifier(deployer, vm.parseJsonBool(json, ".allowWeakThreshold"));
        d.verifier
            .initialize(
                vm.parseJsonAddressArray(json, ".validators"),
                vm.parseJsonBytes32Array(json, ".pqKeyHashes"),
                _u8(vm.parseJsonUint(json, ".threshold")),
                _u8(vm.parseJsonUint(json, ".largeThreshold"))
            );
        // Rotation waits this long after a large-threshold proposal; the guardian may cancel.
        d.verifier.setRotationDelay(uint64(vm.parseJsonUint(json, ".rotationDelaySeconds")));
        if (vm.parseJsonBool(json, ".deployGhostTokens")) {
            d.tokens[0] = new GhostToken("GhostChain Credits", "GCC", deployer);
            d.tokens[1] = new GhostToken("Spirit", "SPIRIT", deployer);
            d.tokens[2] = new GhostToken("Mana", "MANA", deployer);
            d.tokens[3] = new GhostToken("Ghost", "GHOST", deployer);
        }
        address[] memory r = vm.parseJsonAddressArray(json, ".feeRecipients");
        // Fees in GHOST where the GhostChain tokens live; fee-free elsewhere.
        d.feeManager = new FeeManager(deployer, address(d.tokens[3]), FeeManager.Recipients(r[0], r[1], r[2], r[3]));
        uint64 delay = uint64(vm.parseJsonUint(json, ".largeTransferDelaySeconds"));
        d.vault = new BridgeVault(deployer, d.verifier, d.feeManager, delay);
        d.minter = new BridgeMinter(deployer, d.verifier, d.feeManager, delay);
        d.guardian = new BridgeGuardian(deployer, guardianKey);
        // Route registry: vault and minter claim their remotes in the verifier they share, so
        // `setRemote` (Connect.s.sol) refuses one remote on both.
        d.verifier.grantRole(d.verifier.ENDPOINT_ROLE(), address(d.vault));
        d.verifier.grantRole(d.verifier.ENDPOINT_ROLE(), address(d.minter));
        _grantEndpointRoles(address(d.vault), d, deployer, guardianKey);
        _grantEndpointRoles(address(d.minter), d, deployer, guardianKey);
        d.guardian.addEndpoint(address(d.vault));
        d.guardian.addEndpoint(address(d.minter));
        d.verifier.grantRole(d.verifier.GUARDIAN_ROLE(), guardianKey); // cancelRotation
        vm.stopBroadcast();

        _write(d);
    }

    function _grantEndpointRoles(address endpoint, Deployed memory d, address deployer, address guardianKey) private {
        BridgeVault e = BridgeVault(payable(endpoint));
        e.grantRole(e.ROUTE_ADMIN_ROLE(), deployer);
        e.grantRole(e.PAUSER_ROLE(), address(d.guardian));
        e.grantRole(e.GUARDIAN_ROLE(), guardianKey);
        d.feeManager.grantRole(d.feeManager.COLLECTOR_ROLE(), endpoint);
    }

    function _write(Deployed memory d) private {
        string memory tokens = "tokens";
        vm.serializeAddress(tokens, "GCC", address(d.tokens[0]));
        vm.serializeAddress(tokens, "SPIRIT", address(d.tokens[1]));
        vm.serializeAddress(tokens, "MANA", address(d.tokens[2]));
        tokens = vm.serializeAddress(tokens, "GHOST", address(d.tokens[3]));

        string memory out = "deployment";
        vm.serializeUint(out, "chainId", block.chainid);
        vm.serializeAddress(out, "verifier", address(d.verifier));
        vm.serializeAddress(out, "feeManager", address(d.feeManager));
        vm.serializeAddress(out, "vault", address(d.vault));
        vm.serializeAddress(out, "minter", address(d.minter));
        vm.serializeAddress(out, "guardian", address(d.guardian));
        vm.serializeUint(out, "deployBlock", block.number);
        out = vm.serializeString(out, "tokens", tokens);
        string memory path = vm.envOr("DEPLOY_OUT", string.concat("deployments/", vm.toString(block.chainid), ".json"));
        vm.writeJson(out, path);
    }

    function _callers() private returns (uint256, address sender, address origin) {
        (bool ok, bytes memory data) = address(vm).call(abi.encodeWithSignature("readCallers()"));
        require(ok, "readCallers failed");
        return abi.decode(data, (uint256, address, address));
    }

    function _u8(uint256 x) private pure returns (uint8) {
        require(x <= type(uint8).max, "value does not fit uint8");
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint8(x);
    }
}
