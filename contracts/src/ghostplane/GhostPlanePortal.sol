// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IGhostPlaneRollup, IGhostPlaneTypes} from "./IGhostPlane.sol";
import {GhostPlaneHashes} from "./lib/GhostPlaneHashes.sol";
import {GhostPlaneMerkle} from "./lib/GhostPlaneMerkle.sol";

/// @title GhostPlanePortal
/// @notice Holds GhostPlane's L1 funds: deposits in (numbered and hash-chained, zig/SPEC.md
///         "Portal deposits"), withdrawals out (a SPEC withdrawal leaf proven against the
///         withdrawals root of a batch the Rollup reports final; one transaction, paid once).
/// @dev Storage per deposit is ONE new slot: the chain value's high 27 bytes and the deposit's
///      timestamp in the low 5 bytes. The chain is therefore kept at 216 bits: chain_k =
///      keccak256(chain_{k-1} || k || l1Sender || recipient || token || amount) with the low 5 bytes
///      cleared (chain_{-1} = 0), which is what `depositChain` returns and the Rollup re-hashes.
///      Invariant per token: balance == credited deposits - paid withdrawals (+ direct transfers).
///      The u128 cap on a token's total deposits (SPEC) is checked without a per-deposit write
///      while balance + withdrawn (>= total credited) <= 2^127; past that, the credited total is
///      tracked explicitly from the sound over-estimate min(2^127, balance + withdrawn before the
///      deposit), so tokens sent to the portal without a deposit (a donation) can at most bring
///      tracking forward and never block deposits before 2^127 more are credited. A deposit costs
///      one new slot, one read-write of the head and one read of the token's totals.
contract GhostPlanePortal is AccessControl, ReentrancyGuardTransient, IGhostPlaneTypes {
    using SafeERC20 for IERC20;

    /// @notice May pause deposits and withdrawals (give it to the chain's BridgeGuardian).
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice May map L2 token ids 4..7 to L1 tokens.
    bytes32 public constant TOKEN_ADMIN_ROLE = keccak256("TOKEN_ADMIN_ROLE");

    /// @notice Largest amount and largest per-token total the L2 can hold (u128).
    uint256 public constant MAX_AMOUNT = type(uint128).max;
    /// @notice Number of L2 token ids.
    uint256 public constant TOKEN_COUNT = 8;
    /// @notice Withdrawals tree depth (SPEC: fixed 16).
    uint256 public constant WITHDRAWALS_DEPTH = 16;
    uint256 private constant COUNT_MASK = (1 << 39) - 1;

    /// @notice L1 tokens of the fixed ids 0 GCC, 1 SPIRIT, 2 MANA, 3 GHOST.
    address public immutable gcc;
    address public immutable spirit;
    address public immutable mana;
    address public immutable ghost;

    /// @dev One slot a deposit reads and writes once: [stored chain of the last deposit: high
    ///      216 bits][deposit count: 39 bits (5.5e11 deposits)][paused: 1 bit].
    uint256 private _head;
    /// @notice The Rollup whose final batches pay withdrawals (set once).
    IGhostPlaneRollup public rollup;
    /// @dev Stored chain (high 27 bytes) | timestamp (low 5 bytes, good until year 36812) of deposit k.
    mapping(uint64 index => bytes32) private _deposits;

    /// @dev Per token id: total paid out by withdrawals and, once tracked, an upper bound of the
    ///      total credited by deposits that only deposits raise (always > 2^127); UNTRACKED before,
    ///      which also keeps the slot non-zero, so a token's first withdrawal pays no
    ///      zero-to-non-zero write.
    struct Totals {
        uint128 withdrawn;
        uint128 deposited;
    }

    /// @dev balance + withdrawn above which the credited total is tracked explicitly.
    uint256 private constant TRACK_FROM = 1 << 127;
    uint128 private constant UNTRACKED = 1;

    mapping(uint256 id => Totals) private _totals;
    /// @dev L1 token of ids 4..7 (ids 0..3 are immutables).
    mapping(uint256 id => address) private _mappedTokens;
    /// @dev id + 1 of a mapped L1 token (ids 4..7 only; address(0) = native ETH).
    mapping(address token => uint256) private _mappedIds;
    /// @dev Whether id 4..7 is mapped (its token may be address(0)).
    mapping(uint256 id => bool) private _idTaken;
    /// @dev Bitmap of paid withdrawals keyed by (batchNumber << 16 | index).
    mapping(uint256 word => uint256) private _claimed;

    /// @notice Deposit `index`: `chain` is the stored chain value (low 5 bytes zero).
    event Deposited(
        uint64 indexed index,
        address indexed l1Sender,
        address indexed recipient,
        uint8 token,
        uint128 amount,
        bytes32 chain,
        uint64 timestamp
    );
    /// @notice A withdrawal leaf paid out.
    event WithdrawalFinalized(
        uint64 indexed batchNumber, uint32 indexed index, address indexed l1Recipient, address token, uint128 amount
    );
    event TokenMapped(uint256 indexed id, address indexed token);
    event RollupSet(address indexed rollup);
    event Paused(address account);
    event Unpaused(address account);

    error ZeroAddress();
    /// @notice A deposit of nothing (`token` address(0) = ETH).
    error ZeroAmount(address token);
    /// @notice A deposit without an L2 recipient.
    error ZeroRecipient(address token, uint256 amount);
    error NativeUseDepositETH();
    error UnmappedToken(address token);
    error UnmappedTokenId(uint256 id);
    error AmountTooLarge(uint256 amount, uint256 max);
    error DepositTotalExceeded(uint256 tokenId, uint256 total, uint256 amount);
    error NothingReceived(address token);
    error TokenIdNotMappable(uint256 id);
    error TokenIdTaken(uint256 id, address token);
    error TokenAlreadyMapped(address token, uint256 id);
    error RollupAlreadySet(address rollup);
    error RollupNotSet();
    error EnforcedPause();
    error ExpectedPause();
    error InvalidWithdrawalProof(bytes32 computedRoot, bytes32 withdrawalsRoot);
    error WithdrawalIndexOutOfRange(uint32 index);
    error BatchNotFinal(uint64 batchNumber, bytes32 recordHash);
    error AlreadyClaimed(uint64 batchNumber, uint32 index);

    /// @param admin Governance (DEFAULT_ADMIN_ROLE, TOKEN_ADMIN_ROLE, sets the Rollup once).
    /// @param pauser Guardian allowed to pause (PAUSER_ROLE).
    /// @param fixedTokens L1 addresses of GCC, SPIRIT, MANA, GHOST (ids 0..3), all non-zero.
    constructor(address admin, address pauser, address[4] memory fixedTokens) {
        if (admin == address(0) || pauser == address(0)) revert ZeroAddress();
        for (uint256 i = 0; i < 4; ++i) {
            if (fixedTokens[i] == address(0)) revert ZeroAddress();
            emit TokenMapped(i, fixedTokens[i]);
        }
        gcc = fixedTokens[0];
        spirit = fixedTokens[1];
        mana = fixedTokens[2];
        ghost = fixedTokens[3];
        for (uint256 id = 0; id < TOKEN_COUNT; ++id) {
            _totals[id].deposited = UNTRACKED;
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(TOKEN_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, pauser);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the Rollup once (the two contracts reference each other).
    function setRollup(IGhostPlaneRollup rollup_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(rollup) != address(0)) revert RollupAlreadySet(address(rollup));
        if (address(rollup_) == address(0)) revert ZeroAddress();
        rollup = rollup_;
        emit RollupSet(address(rollup_));
    }

    /// @notice Maps L2 token id `id` (4..7) to the L1 `token` (address(0) = native ETH), once.
    function mapToken(uint256 id, address token) external onlyRole(TOKEN_ADMIN_ROLE) {
        if (id < 4 || id >= TOKEN_COUNT) revert TokenIdNotMappable(id);
        if (_idTaken[id]) revert TokenIdTaken(id, _mappedTokens[id]);
        if (_fixedId(token) < 4 || _mappedIds[token] != 0) revert TokenAlreadyMapped(token, tokenId(token));
        _mappedTokens[id] = token;
        _mappedIds[token] = id + 1;
        _idTaken[id] = true;
        emit TokenMapped(id, token);
    }

    /// @notice Stops deposits and withdrawals.
    function pause() external onlyRole(PAUSER_ROLE) {
        if (_head & 1 != 0) revert EnforcedPause();
        _head |= 1;
        emit Paused(msg.sender);
    }

    /// @notice Resumes; only governance restarts what a guardian stopped.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_head & 1 == 0) revert ExpectedPause();
        _head &= ~uint256(1);
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------- deposits

    /// @notice Deposits `amount` of the ERC20 `token` for `l2Recipient`; the credited amount is
    ///         what arrived (fee-on-transfer safe). Approve this portal first.
    /// @return index The deposit's index.
    function deposit(address token, uint256 amount, address l2Recipient) external nonReentrant returns (uint64 index) {
        uint256 head = _head;
        if (head & 1 != 0) revert EnforcedPause();
        if (token == address(0)) revert NativeUseDepositETH();
        uint256 id = _requireId(token);
        if (amount == 0) revert ZeroAmount(token);
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
        if (l2Recipient == address(0)) revert ZeroRecipient(token, amount);
        uint256 balanceBefore = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 balanceAfter = IERC20(token).balanceOf(address(this));
        uint256 credited = balanceAfter - balanceBefore;
        if (credited == 0) revert NothingReceived(token);
        return _record(head, id, credited, l2Recipient, balanceAfter);
    }

    /// @notice Deposits the ETH sent for `l2Recipient` (needs a token id mapped to address(0)).
    /// @return index The deposit's index.
    function depositETH(address l2Recipient) external payable nonReentrant returns (uint64 index) {
        uint256 head = _head;
        if (head & 1 != 0) revert EnforcedPause();
        uint256 id = _requireId(address(0));
        if (msg.value == 0) revert ZeroAmount(address(0));
        if (msg.value > MAX_AMOUNT) revert AmountTooLarge(msg.value, MAX_AMOUNT);
        if (l2Recipient == address(0)) revert ZeroRecipient(address(0), msg.value);
        return _record(head, id, msg.value, l2Recipient, address(this).balance);
    }

    /// @dev Checks the token's credited total stays <= 2^128 - 1, numbers and chains the deposit.
    ///      `balance` is the portal's balance of the token after receiving `amount`.
    function _record(uint256 head, uint256 id, uint256 amount, address recipient, uint256 balance)
        private
        returns (uint64 index)
    {
        Totals memory totals = _totals[id];
        uint256 bound = balance + totals.withdrawn; // >= everything credited, this deposit included
        if (totals.deposited != UNTRACKED || bound > TRACK_FROM) {
            // Before tracking, every deposit so far passed with bound <= TRACK_FROM; a tracked
            // total is then > TRACK_FROM (never UNTRACKED).
            uint256 prior = totals.deposited != UNTRACKED ? totals.deposited : _min(TRACK_FROM, bound - amount);
            if (prior + amount > MAX_AMOUNT) revert DepositTotalExceeded(id, prior, amount);
            // Cannot truncate: prior + amount <= MAX_AMOUNT = 2^128 - 1, checked above.
            // forge-lint: disable-next-line(unsafe-typecast)
            _totals[id].deposited = uint128(prior + amount);
        }
        // Cannot truncate: masked to COUNT_MASK (39 bits).
        // forge-lint: disable-next-line(unsafe-typecast)
        index = uint64((head >> 1) & COUNT_MASK);
        // Cannot truncate: id < TOKEN_COUNT (a mapped token id); amount < 2^128 (an untracked
        // total is <= TRACK_FROM = 2^127, a tracked one <= MAX_AMOUNT, checked above).
        // forge-lint: disable-start(unsafe-typecast)
        bytes32 chain = GhostPlaneHashes.depositChain(
            bytes32(head & GhostPlaneHashes.CHAIN_MASK), index, msg.sender, recipient, uint8(id), uint128(amount)
        );
        // forge-lint: disable-end(unsafe-typecast)
        _deposits[index] = bytes32(uint256(chain) | block.timestamp);
        _head = uint256(chain) | (uint256(index + 1) << 1);
        // Cannot truncate: id < TOKEN_COUNT and amount < 2^128, as above; timestamps fit 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit Deposited(index, msg.sender, recipient, uint8(id), uint128(amount), chain, uint64(block.timestamp));
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Pays withdrawal `w` of batch `w.batchNumber` to `w.l1Recipient`, once.
    /// @param w The SPEC withdrawal leaf fields.
    /// @param siblings Its 16 siblings (bottom-up) in the batch's withdrawals tree.
    /// @param headerHash keccak256(abi.encode(header)) of the batch.
    /// @param withdrawalsRoot The batch's withdrawals root (the siblings must lead to it).
    /// @param submittedAt The batch record's submission time. @param proposer The record's proposer.
    function finalizeWithdrawal(
        Withdrawal calldata w,
        bytes32[16] calldata siblings,
        bytes32 headerHash,
        bytes32 withdrawalsRoot,
        uint64 submittedAt,
        address proposer
    ) external nonReentrant {
        if (_head & 1 != 0) revert EnforcedPause();
        _checkFinal(w, siblings, headerHash, withdrawalsRoot, submittedAt, proposer);
        _claim(w.batchNumber, w.index);
        address token = tokenAddress(w.token);
        _totals[w.token].withdrawn += w.amount;
        emit WithdrawalFinalized(w.batchNumber, w.index, w.l1Recipient, token, w.amount);
        if (token == address(0)) {
            Address.sendValue(payable(w.l1Recipient), w.amount);
        } else {
            IERC20(token).safeTransfer(w.l1Recipient, w.amount);
        }
    }

    /// @dev The leaf is in `withdrawalsRoot` and the record it belongs to is final.
    function _checkFinal(
        Withdrawal calldata w,
        bytes32[16] calldata siblings,
        bytes32 headerHash,
        bytes32 withdrawalsRoot,
        uint64 submittedAt,
        address proposer
    ) private view {
        if (w.index >= (1 << WITHDRAWALS_DEPTH)) revert WithdrawalIndexOutOfRange(w.index);
        bytes32 leaf = GhostPlaneHashes.withdrawalLeaf(w.batchNumber, w.index, w.from, w.l1Recipient, w.token, w.amount);
        bytes32 root = GhostPlaneMerkle.rootFrom16(leaf, w.index, siblings);
        if (root != withdrawalsRoot) revert InvalidWithdrawalProof(root, withdrawalsRoot);
        bytes32 record = GhostPlaneHashes.recordHash(headerHash, withdrawalsRoot, submittedAt, proposer);
        IGhostPlaneRollup rollup_ = rollup;
        if (address(rollup_) == address(0)) revert RollupNotSet();
        if (!rollup_.isFinal(w.batchNumber, record)) revert BatchNotFinal(w.batchNumber, record);
    }

    /// @dev Marks (batchNumber, index) paid; reverts if it already was.
    function _claim(uint64 batchNumber, uint32 index) private {
        uint256 key = (uint256(batchNumber) << WITHDRAWALS_DEPTH) | index;
        uint256 bit = 1 << (key & 255);
        uint256 word = _claimed[key >> 8];
        if (word & bit != 0) revert AlreadyClaimed(batchNumber, index);
        _claimed[key >> 8] = word | bit;
    }

    // ---------------------------------------------------------------- views

    /// @notice Number of deposits so far (the next deposit's index).
    function depositCount() external view returns (uint64) {
        // Cannot truncate: masked to COUNT_MASK (39 bits).
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64((_head >> 1) & COUNT_MASK);
    }

    /// @notice The deposit count and the timestamp of deposit `k` (zero if k >= count): the
    ///         Rollup's deposit-cursor and force-inclusion checks in one call.
    function depositCountAndTime(uint64 k) external view returns (uint64 count, uint64 time) {
        // Cannot truncate: masked to COUNT_MASK (39 bits).
        // forge-lint: disable-next-line(unsafe-typecast)
        count = uint64((_head >> 1) & COUNT_MASK);
        if (k < count) time = uint64(uint40(uint256(_deposits[k])));
    }

    /// @notice Stored chain value of deposit `k` (low 5 bytes zero); zero if none.
    function depositChain(uint64 k) external view returns (bytes32) {
        return bytes32(uint256(_deposits[k]) & GhostPlaneHashes.CHAIN_MASK);
    }

    /// @notice Timestamp of deposit `k`; zero if none.
    function depositTime(uint64 k) external view returns (uint64) {
        return uint64(uint40(uint256(_deposits[k])));
    }

    /// @notice Whether deposits and withdrawals are stopped.
    function paused() external view returns (bool) {
        return _head & 1 != 0;
    }

    /// @notice Total paid out of token id `id` by finalized withdrawals.
    function totalWithdrawn(uint256 id) external view returns (uint256) {
        return _totals[id].withdrawn;
    }

    /// @notice The tracked upper bound of token id `id`'s credited total (0 until tracked:
    ///         until balance + withdrawn exceeds 2^127).
    function trackedDeposits(uint256 id) external view returns (uint256) {
        uint256 d = _totals[id].deposited;
        return d == UNTRACKED ? 0 : d;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @notice Whether withdrawal `index` of batch `batchNumber` was paid.
    function isClaimed(uint64 batchNumber, uint32 index) external view returns (bool) {
        uint256 key = (uint256(batchNumber) << WITHDRAWALS_DEPTH) | index;
        return _claimed[key >> 8] & (1 << (key & 255)) != 0;
    }

    /// @notice L1 token of id `id` (address(0) = native ETH); reverts for an unmapped id.
    function tokenAddress(uint256 id) public view returns (address) {
        if (id == 0) return gcc;
        if (id == 1) return spirit;
        if (id == 2) return mana;
        if (id == 3) return ghost;
        if (id >= TOKEN_COUNT || !_idTaken[id]) revert UnmappedTokenId(id);
        return _mappedTokens[id];
    }

    /// @notice L2 token id of the L1 `token`; reverts if unmapped.
    function tokenId(address token) public view returns (uint256) {
        return _requireId(token);
    }

    function _requireId(address token) private view returns (uint256 id) {
        id = _fixedId(token);
        if (id < 4) return id;
        id = _mappedIds[token];
        if (id == 0) revert UnmappedToken(token);
        return id - 1;
    }

    function _fixedId(address token) private view returns (uint256) {
        if (token == address(0)) return 4;
        if (token == gcc) return 0;
        if (token == spirit) return 1;
        if (token == mana) return 2;
        if (token == ghost) return 3;
        return 4;
    }
}
