// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Vm} from "../contracts/test/utils/Vm.sol";
import {BridgeMinter} from "../contracts/src/BridgeMinter.sol";
import {BridgeVault} from "../contracts/src/BridgeVault.sol";

/// @notice Opens the routes from this chain to one remote chain, from both deployment JSON files:
/// registers the remote vault/minter, creates a wrapped token for each of the remote's canonical
/// tokens (native + GCC/SPIRIT/MANA/GHOST), and sets rate limits, release shares and large
/// amounts both ways. Release share (issue 11): per token and window, releases total at most
/// max(holding or wrapped supply × releaseShareBps / 10,000, floor); `releaseFloor` for ERC20s and
/// `releaseFloorNative` for ETH are what a near-empty vault or a fresh wrapped token can release
/// per window, so they are also the most a stolen validator quorum takes from one.
/// Run it on each chain (A with B as remote, then B with A):
///
///   LOCAL_DEPLOYMENT=deployments/A.json REMOTE_DEPLOYMENT=deployments/B.json \
///   forge script script/Connect.s.sol:Connect --rpc-url $RPC_A --private-key $KEY --broadcast
contract Connect {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct Limits {
        uint128 capacity;
        uint128 refillPerSecond;
        uint256 largeAmount;
        uint16 shareBps;
        uint64 windowSeconds;
        uint256 floor;
        uint256 floorNative;
    }

    function run() external {
        string memory local = vm.readFile(vm.envString("LOCAL_DEPLOYMENT"));
        string memory remote = vm.readFile(vm.envString("REMOTE_DEPLOYMENT"));
        string memory config = vm.readFile(vm.envOr("DEPLOY_CONFIG", string("script/config/devnet.json")));
        require(vm.parseJsonUint(local, ".chainId") == block.chainid, "LOCAL_DEPLOYMENT is for another chain");
        uint64 remoteChain = uint64(vm.parseJsonUint(remote, ".chainId"));
        Limits memory limits = Limits({
            capacity: uint128(vm.parseJsonUint(config, ".rateLimitCapacity")),
            refillPerSecond: uint128(vm.parseJsonUint(config, ".rateLimitRefillPerSecond")),
            largeAmount: vm.parseJsonUint(config, ".largeAmount"),
            shareBps: uint16(vm.parseJsonUint(config, ".releaseShareBps")),
            windowSeconds: uint64(vm.parseJsonUint(config, ".releaseWindowSeconds")),
            floor: vm.parseJsonUint(config, ".releaseFloor"),
            floorNative: vm.parseJsonUint(config, ".releaseFloorNative")
        });
        require(limits.shareBps <= 10_000, "releaseShareBps above 10000");
        BridgeVault vault = BridgeVault(payable(vm.parseJsonAddress(local, ".vault")));
        BridgeMinter minter = BridgeMinter(vm.parseJsonAddress(local, ".minter"));

        vm.startBroadcast();
        vault.setRemote(remoteChain, vm.parseJsonAddress(remote, ".minter"));
        minter.setRemote(remoteChain, vm.parseJsonAddress(remote, ".vault"));
        _openVaultToken(vault, address(0), remoteChain, limits);
        _wrap(minter, remoteChain, address(0), "Wrapped Ether", "wETH", limits);
        string[4] memory symbols = ["GCC", "SPIRIT", "MANA", "GHOST"];
        for (uint256 i = 0; i < symbols.length; ++i) {
            string memory key = string.concat(".tokens.", symbols[i]);
            address localToken = vm.parseJsonAddress(local, key);
            if (localToken != address(0)) _openVaultToken(vault, localToken, remoteChain, limits);
            address remoteToken = vm.parseJsonAddress(remote, key);
            if (remoteToken != address(0)) {
                _wrap(
                    minter,
                    remoteChain,
                    remoteToken,
                    string.concat("Wrapped ", symbols[i]),
                    string.concat("w", symbols[i]),
                    limits
                );
            }
        }
        vm.stopBroadcast();
    }

    function _openVaultToken(BridgeVault vault, address token, uint64 remoteChain, Limits memory limits) private {
        vault.setRateLimit(token, remoteChain, true, limits.capacity, limits.refillPerSecond);
        vault.setRateLimit(token, remoteChain, false, limits.capacity, limits.refillPerSecond);
        vault.setLargeAmount(token, limits.largeAmount);
        vault.setReleaseShare(
            token, limits.shareBps, limits.windowSeconds, token == address(0) ? limits.floorNative : limits.floor
        );
    }

    function _wrap(
        BridgeMinter minter,
        uint64 remoteChain,
        address origin,
        string memory name,
        string memory symbol,
        Limits memory limits
    ) private {
        address wrapped = address(minter.wrappedTokenOf(remoteChain, origin));
        if (wrapped == address(0)) wrapped = address(minter.createWrappedToken(remoteChain, origin, name, symbol, 18));
        minter.setRateLimit(wrapped, remoteChain, true, limits.capacity, limits.refillPerSecond);
        minter.setRateLimit(wrapped, remoteChain, false, limits.capacity, limits.refillPerSecond);
        minter.setLargeAmount(wrapped, limits.largeAmount);
        minter.setReleaseShare(
            wrapped, limits.shareBps, limits.windowSeconds, origin == address(0) ? limits.floorNative : limits.floor
        );
    }
}
