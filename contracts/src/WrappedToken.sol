// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title WrappedToken
/// @notice The destination-chain representation of one (origin chain, origin token). Only its
/// BridgeMinter mints (on an attested lock) and burns (on a user's return leg).
/// @dev Invariant: totalSupply == minted - burned by the minter, which never exceeds what the
/// origin vault holds locked for this route.
contract WrappedToken is ERC20, ERC20Permit {
    /// @notice The only account allowed to mint and burn.
    address public immutable minter;
    /// @notice Chain the canonical token lives on.
    uint64 public immutable originChainId;
    /// @notice The canonical token on the origin chain (address(0) = native ETH).
    address public immutable originToken;
    uint8 private immutable _decimals;

    error OnlyMinter(address caller);

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        uint64 originChainId_,
        address originToken_
    ) ERC20(name_, symbol_) ERC20Permit(name_) {
        minter = msg.sender;
        originChainId = originChainId_;
        originToken = originToken_;
        _decimals = decimals_;
    }

    modifier onlyMinter() {
        if (msg.sender != minter) revert OnlyMinter(msg.sender);
        _;
    }

    /// @notice Mints bridged tokens. @param to Recipient. @param amount Amount.
    function mint(address to, uint256 amount) external onlyMinter {
        _mint(to, amount);
    }

    /// @notice Burns a user's tokens for the return leg. @param from Holder. @param amount Amount.
    function burn(address from, uint256 amount) external onlyMinter {
        _burn(from, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
