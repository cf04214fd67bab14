// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

interface IPausableEndpoint {
    function pause() external;
    function paused() external view returns (bool);
}

/// @title BridgeGuardian
/// @notice The pause guardian of one chain: one call stops lock, burn, mint and unlock on every
/// bridge contract registered here (it holds PAUSER_ROLE on each). Restarting is the admin's.
contract BridgeGuardian is AccessControl {
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    address[] private _endpoints;

    event EndpointAdded(address indexed endpoint);
    event AllPaused(address indexed guardian, uint256 endpoints);

    /// @param admin Registers endpoints. @param guardian May pause everything.
    constructor(address admin, address guardian) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GUARDIAN_ROLE, guardian);
    }

    /// @notice Adds a bridge contract to pause. @param endpoint Vault or minter of this chain.
    function addEndpoint(address endpoint) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _endpoints.push(endpoint);
        emit EndpointAdded(endpoint);
    }

    /// @notice Pauses every registered endpoint in one transaction. Endpoints already paused are
    /// skipped (OpenZeppelin's `pause` reverts on them), so a guardian can always re-pause a chain
    /// that an operator has only partly unpaused.
    function pauseAll() external onlyRole(GUARDIAN_ROLE) {
        uint256 n = _endpoints.length;
        for (uint256 i = 0; i < n; ++i) {
            IPausableEndpoint endpoint = IPausableEndpoint(_endpoints[i]);
            if (!endpoint.paused()) endpoint.pause();
        }
        emit AllPaused(msg.sender, n);
    }

    /// @notice The registered endpoints.
    function endpoints() external view returns (address[] memory) {
        return _endpoints;
    }
}
