// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title FeeManager
/// @notice Charges the bridge fee per route (a fee token and amount per destination chain, with a
/// default: 0.001 GCC-equivalent paid in GHOST) and splits what it collected exactly
/// 40% L2 validators / 30% L1 settlement validators / 20% security fund / 10% protocol.
/// @dev Invariant: for every token, collected == distributed + undistributed. Rounding dust of a
/// split stays undistributed and is carried into the next split, so no wei is ever lost.
contract FeeManager is AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant COLLECTOR_ROLE = keccak256("COLLECTOR_ROLE");
    bytes32 public constant FEE_ADMIN_ROLE = keccak256("FEE_ADMIN_ROLE");

    /// @notice Basis points of each share; they sum to 10_000.
    uint256 public constant L2_VALIDATORS_BPS = 4_000;
    uint256 public constant L1_VALIDATORS_BPS = 3_000;
    uint256 public constant SECURITY_FUND_BPS = 2_000;
    uint256 public constant PROTOCOL_BPS = 1_000;
    /// @notice The default fee: 0.001 of an 18-decimal fee token per transfer.
    uint96 public constant DEFAULT_FEE_AMOUNT = 0.001 ether;

    struct RouteFee {
        address token;
        uint96 amount;
        bool configured;
    }

    /// @notice Fee recipients, in split order.
    struct Recipients {
        address l2Validators;
        address l1Validators;
        address securityFund;
        address protocol;
    }

    Recipients private _recipients;
    RouteFee private _defaultFee;
    mapping(uint64 dstChainId => RouteFee) private _routeFees;
    mapping(address token => uint256) private _collected;
    mapping(address token => uint256) private _distributed;

    event FeeCollected(address indexed payer, uint64 indexed dstChainId, address indexed token, uint256 amount);
    event FeesDistributed(
        address indexed token,
        uint256 l2Validators,
        uint256 l1Validators,
        uint256 securityFund,
        uint256 protocol,
        uint256 dustCarried
    );
    event RouteFeeSet(uint64 indexed dstChainId, address token, uint96 amount);
    event DefaultFeeSet(address token, uint96 amount);
    event RecipientsSet(address l2Validators, address l1Validators, address securityFund, address protocol);

    error ZeroRecipient();

    /// @param admin DEFAULT_ADMIN_ROLE and FEE_ADMIN_ROLE holder.
    /// @param defaultFeeToken Fee token for routes without their own setting (GHOST on GhostChain;
    /// address(0) disables fees by default).
    /// @param recipients_ The four recipients of the split.
    constructor(address admin, address defaultFeeToken, Recipients memory recipients_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FEE_ADMIN_ROLE, admin);
        _setRecipients(recipients_);
        _defaultFee = RouteFee({token: defaultFeeToken, amount: DEFAULT_FEE_AMOUNT, configured: true});
        emit DefaultFeeSet(defaultFeeToken, DEFAULT_FEE_AMOUNT);
    }

    /// @notice Pulls the route's fee from `payer` (who approved this contract). Bridge contracts only.
    /// @param payer The user bridging. @param dstChainId The route's destination.
    /// @return token Fee token charged (zero: none). @return amount Amount charged.
    function collect(address payer, uint64 dstChainId)
        external
        onlyRole(COLLECTOR_ROLE)
        returns (address token, uint256 amount)
    {
        RouteFee memory fee = feeFor(dstChainId);
        if (fee.token == address(0) || fee.amount == 0) return (address(0), 0);
        _collected[fee.token] += fee.amount;
        emit FeeCollected(payer, dstChainId, fee.token, fee.amount);
        IERC20(fee.token).safeTransferFrom(payer, address(this), fee.amount);
        return (fee.token, fee.amount);
    }

    /// @notice Splits everything undistributed of `token` 40/30/20/10; dust is carried over.
    /// @param token The fee token.
    function distribute(address token) external {
        uint256 pending = _collected[token] - _distributed[token];
        uint256 l2 = pending * L2_VALIDATORS_BPS / 10_000;
        uint256 l1 = pending * L1_VALIDATORS_BPS / 10_000;
        uint256 fund = pending * SECURITY_FUND_BPS / 10_000;
        uint256 protocol = pending * PROTOCOL_BPS / 10_000;
        uint256 paid = l2 + l1 + fund + protocol;
        _distributed[token] += paid;
        emit FeesDistributed(token, l2, l1, fund, protocol, pending - paid);
        Recipients memory r = _recipients;
        IERC20 t = IERC20(token);
        if (l2 != 0) t.safeTransfer(r.l2Validators, l2);
        if (l1 != 0) t.safeTransfer(r.l1Validators, l1);
        if (fund != 0) t.safeTransfer(r.securityFund, fund);
        if (protocol != 0) t.safeTransfer(r.protocol, protocol);
    }

    /// @notice Sets a route's own fee. @param dstChainId Route. @param token Fee token (zero: free).
    /// @param amount Fee per transfer.
    function setRouteFee(uint64 dstChainId, address token, uint96 amount) external onlyRole(FEE_ADMIN_ROLE) {
        _routeFees[dstChainId] = RouteFee({token: token, amount: amount, configured: true});
        emit RouteFeeSet(dstChainId, token, amount);
    }

    /// @notice Sets the default fee for routes without their own. @param token Fee token. @param amount Fee.
    function setDefaultFee(address token, uint96 amount) external onlyRole(FEE_ADMIN_ROLE) {
        _defaultFee = RouteFee({token: token, amount: amount, configured: true});
        emit DefaultFeeSet(token, amount);
    }

    /// @notice Replaces the four recipients. @param newRecipients New recipients (none zero).
    function setRecipients(Recipients calldata newRecipients) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRecipients(newRecipients);
    }

    /// @notice The fee a transfer to `dstChainId` pays.
    function feeFor(uint64 dstChainId) public view returns (RouteFee memory) {
        RouteFee memory fee = _routeFees[dstChainId];
        return fee.configured ? fee : _defaultFee;
    }

    /// @notice Total ever collected in `token`.
    function collected(address token) external view returns (uint256) {
        return _collected[token];
    }

    /// @notice Total ever paid out in `token`.
    function distributed(address token) external view returns (uint256) {
        return _distributed[token];
    }

    /// @notice Collected but not yet paid out (includes carried dust).
    function undistributed(address token) external view returns (uint256) {
        return _collected[token] - _distributed[token];
    }

    /// @notice The current recipients.
    function recipients() external view returns (Recipients memory) {
        return _recipients;
    }

    function _setRecipients(Recipients memory r) private {
        if (
            r.l2Validators == address(0) || r.l1Validators == address(0) || r.securityFund == address(0)
                || r.protocol == address(0)
        ) {
            revert ZeroRecipient();
        }
        _recipients = r;
        emit RecipientsSet(r.l2Validators, r.l1Validators, r.securityFund, r.protocol);
    }
}
