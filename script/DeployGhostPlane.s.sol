// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "../contracts/test/utils/Vm.sol";
import {GhostToken} from "../contracts/src/GhostToken.sol";
import {GhostPlanePortal} from "../contracts/src/ghostplane/GhostPlanePortal.sol";
import {GhostPlaneRollup} from "../contracts/src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup} from "../contracts/src/ghostplane/IGhostPlane.sol";
import {GhostPlaneExec} from "../contracts/src/ghostplane/lib/GhostPlaneExec.sol";

/// @notice Deploys GhostPlane's L1 settlement (GhostPlanePortal, GhostPlaneRollup and its linked
///         library GhostPlaneExec, which `forge script --broadcast` deploys first), wires
///         `portal.setRollup`, maps token ids 4..7, designates the sequencer and writes the
///         addresses as JSON.
///
///   DEPLOY_OUT=deployments/ghostplane-31337.json \
///   forge script script/DeployGhostPlane.s.sol:DeployGhostPlane --rpc-url $RPC --private-key $KEY --broadcast
///
/// Env (devnet defaults; the Rollup's genesis must match the engine's config: depth, base fee,
/// fee collector are the Rust `EngineConfig::default()`'s):
///   GHOSTPLANE_ADMIN            governance (default: the deployer; roles move to it at the end)
///   GUARDIAN                    the portal's pauser (default: the deployer, as in Deploy.s.sol)
///   GHOSTPLANE_GCC/_SPIRIT/_MANA/_GHOST  L1 tokens of ids 0..3; otherwise read from
///                               BRIDGE_DEPLOYMENT (a Deploy.s.sol JSON, `tokens.*`); otherwise four
///                               fresh GhostTokens are deployed (devnet)
///   GHOSTPLANE_TOKEN_4 .. _7    L1 token of ids 4..7 (0x00..00 = native ETH); unset = unmapped
///   GHOSTPLANE_ACCOUNTS_DEPTH   20        GHOSTPLANE_BASE_FEE   1e15
///   GHOSTPLANE_FEE_COLLECTOR    0xfefe..fe
///   GHOSTPLANE_CHALLENGE_WINDOW 30 s      GHOSTPLANE_FORCE_INCLUSION_DELAY  60 s
///   GHOSTPLANE_BOND             1 ether   GHOSTPLANE_REVEAL_DELAY           2 blocks
///   GHOSTPLANE_SEQUENCER        the deployer (0x00..00 = none: every bonded proposer submits)
///   GHOSTPLANE_FALLBACK_DELAY   30 s (<= the force-inclusion delay)
///   DEPLOY_OUT                  deployments/ghostplane-<chainId>.json
contract DeployGhostPlane {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Deployed {
        GhostPlanePortal portal;
        GhostPlaneRollup rollup;
        address[4] tokens;
        address admin;
    }

    function run() external returns (Deployed memory d) {
        vm.startBroadcast();
        (, address deployer,) = _callers();
        d.admin = vm.envOr("GHOSTPLANE_ADMIN", deployer);
        d.tokens = _fixedTokens(deployer);
        d.portal = new GhostPlanePortal(deployer, vm.envOr("GUARDIAN", deployer), d.tokens);
        d.rollup = new GhostPlaneRollup(
            deployer,
            GhostPlaneRollup.Config({
                portal: address(d.portal),
                accountsDepth: uint32(_fit(vm.envOr("GHOSTPLANE_ACCOUNTS_DEPTH", uint256(20)), 32)),
                baseFee: uint128(_fit(vm.envOr("GHOSTPLANE_BASE_FEE", uint256(1e15)), 128)),
                feeCollector: vm.envOr("GHOSTPLANE_FEE_COLLECTOR", address(0xfefeFEFeFEFEFEFEFeFefefefefeFEfEfefefEfe)),
                challengeWindow: uint64(_fit(vm.envOr("GHOSTPLANE_CHALLENGE_WINDOW", uint256(30)), 64)),
                forceInclusionDelay: uint64(_fit(vm.envOr("GHOSTPLANE_FORCE_INCLUSION_DELAY", uint256(60)), 64)),
                bondAmount: uint128(_fit(vm.envOr("GHOSTPLANE_BOND", uint256(1 ether)), 128)),
                revealDelay: uint64(_fit(vm.envOr("GHOSTPLANE_REVEAL_DELAY", uint256(2)), 64))
            })
        );
        d.portal.setRollup(IGhostPlaneRollup(address(d.rollup)));
        for (uint256 id = 4; id < 8; ++id) {
            string memory name = string.concat("GHOSTPLANE_TOKEN_", vm.toString(id));
            if (vm.envExists(name)) d.portal.mapToken(id, vm.envAddress(name));
        }
        d.rollup.setProposerFallbackDelay(uint64(_fit(vm.envOr("GHOSTPLANE_FALLBACK_DELAY", uint256(30)), 64)));
        d.rollup.setSequencer(vm.envOr("GHOSTPLANE_SEQUENCER", deployer));
        if (d.admin != deployer) _handOver(d, deployer);
        vm.stopBroadcast();

        _write(d);
    }

    function _fixedTokens(address deployer) private returns (address[4] memory t) {
        string[4] memory names = ["GCC", "SPIRIT", "MANA", "GHOST"];
        string memory bridge = vm.envOr("BRIDGE_DEPLOYMENT", string(""));
        string memory json = bytes(bridge).length != 0 ? vm.readFile(bridge) : "";
        for (uint256 i = 0; i < 4; ++i) {
            string memory name = string.concat("GHOSTPLANE_", names[i]);
            if (vm.envExists(name)) {
                t[i] = vm.envAddress(name);
            } else if (bytes(json).length != 0) {
                t[i] = vm.parseJsonAddress(json, string.concat(".tokens.", names[i]));
            } else {
                t[i] = address(new GhostToken(names[i], names[i], deployer));
            }
        }
    }

    /// @dev Gives governance to `d.admin` and drops the deployer's roles.
    function _handOver(Deployed memory d, address deployer) private {
        bytes32 adminRole = d.portal.DEFAULT_ADMIN_ROLE();
        d.portal.grantRole(adminRole, d.admin);
        d.portal.grantRole(d.portal.TOKEN_ADMIN_ROLE(), d.admin);
        d.rollup.grantRole(adminRole, d.admin);
        d.portal.renounceRole(d.portal.TOKEN_ADMIN_ROLE(), deployer);
        d.portal.renounceRole(adminRole, deployer);
        d.rollup.renounceRole(adminRole, deployer);
    }

    function _write(Deployed memory d) private {
        string memory tokens = "tokens";
        vm.serializeAddress(tokens, "GCC", d.tokens[0]);
        vm.serializeAddress(tokens, "SPIRIT", d.tokens[1]);
        vm.serializeAddress(tokens, "MANA", d.tokens[2]);
        tokens = vm.serializeAddress(tokens, "GHOST", d.tokens[3]);

        string memory out = "ghostplane";
        vm.serializeUint(out, "chainId", block.chainid);
        vm.serializeAddress(out, "portal", address(d.portal));
        vm.serializeAddress(out, "rollup", address(d.rollup));
        vm.serializeAddress(out, "exec", address(GhostPlaneExec));
        vm.serializeAddress(out, "admin", d.admin);
        vm.serializeAddress(out, "sequencer", d.rollup.sequencer());
        vm.serializeBytes32(out, "genesisStateRoot", d.rollup.genesisStateRoot());
        vm.serializeUint(out, "deployBlock", block.number);
        out = vm.serializeString(out, "tokens", tokens);
        string memory path =
            vm.envOr("DEPLOY_OUT", string.concat("deployments/ghostplane-", vm.toString(block.chainid), ".json"));
        vm.writeJson(out, path);
    }

    /// @dev `x`, refused unless it fits `bits` bits (the casts at the call sites then never truncate).
    function _fit(uint256 x, uint256 bits) private pure returns (uint256) {
        require(x >> bits == 0, "config value does not fit its type");
        return x;
    }

    function _callers() private returns (uint256, address sender, address origin) {
        (bool ok, bytes memory data) = address(vm).call(abi.encodeWithSignature("readCallers()"));
        require(ok, "readCallers failed");
        return abi.decode(data, (uint256, address, address));
    }
}
