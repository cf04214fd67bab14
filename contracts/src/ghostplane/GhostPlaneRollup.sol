// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IGhostPlaneRollup} from "./IGhostPlane.sol";
import {GhostPlaneExec, IGhostPlaneDeposits} from "./lib/GhostPlaneExec.sol";
import {GhostPlaneHashes} from "./lib/GhostPlaneHashes.sol";
import {GhostPlaneKzg} from "./lib/GhostPlaneKzg.sol";
import {GhostPlaneMerkle} from "./lib/GhostPlaneMerkle.sol";

/// @title GhostPlaneRollup
/// @notice Bonded proposers commit GhostPlane batches (zig/SPEC.md "Settlement on L1"); anyone
///         proves a wrong batch wrong in one transaction before its challenge window ends, which
///         cuts it and every later batch (tip = n - 1, O(1)) and slashes its proposer's bond.
/// @dev One storage slot per batch: `_batches[n]` = the high 27 bytes (216 bits) of the record
///      hash keccak256(abi.encode(headerHash, withdrawalsRoot, submittedAt, proposer)) with the
///      batch's finalisation time in the low 5 bytes (the window is capped at 365 days). finalAt = max(submittedAt + challengeWindow, the
///      previous batch's finalAt), so finality is monotone along the chain: a batch that can still
///      be cut has no final successor, whatever the admin does to the window.
///      Sequencer priority (zig/SPEC.md "Proposers"): while the admin has designated a `sequencer`,
///      only it may submit, except once no batch has been submitted for `proposerFallbackDelay`
///      (<= forceInclusionDelay; the clock also starts when a sequencer is designated where none
///      was): then any bonded proposer may submit (until the next batch restarts the clock).
///      Without it any bonded party could front-run the sequencer's batch n with its own (e.g.
///      empty) batch n and force the sequencer to re-seal (its withdrawal leaves commit to n).
///      Proposers leave in two steps (requestUnbond, then unbond once the tip's finalAt at the
///      request has passed), so submitBatch never writes the proposer's slot.
contract GhostPlaneRollup is IGhostPlaneRollup, AccessControl, ReentrancyGuardTransient {
    /// @notice Default challenge window.
    uint64 public constant DEFAULT_CHALLENGE_WINDOW = 7 days;
    /// @notice Largest force-inclusion delay (SPEC research: OP's 12 h).
    uint64 public constant MAX_FORCE_INCLUSION_DELAY = 12 hours;
    /// @notice Records per blob (4 field elements each, 4,096 per blob) and the op record size
    ///         (93-byte op || 31-byte commitment).
    uint256 public constant RECORDS_PER_BLOB = 1024;
    uint256 public constant RECORD_LENGTH = 124;
    /// @notice Largest challenge window (keeps finalAt within the 40 bits it is stored in).
    uint64 public constant MAX_CHALLENGE_WINDOW = 365 days;
    /// @notice Largest bond a proposer may hold and largest bondAmount (slashed funds are kept in
    ///         88 bits; all ETH in existence, ~1.2e26 wei, is below 2^88 ~ 3.1e26).
    uint256 public constant MAX_BOND = type(uint88).max;
    uint256 private constant HASH_MASK = ~uint256(type(uint40).max);

    /// @dev The tip, the fallback clock, the two tunable delays and the slashed funds share
    ///      one slot (read once by submitBatch; a fraud proof rewrites the tip and adds to the
    ///      slashed funds with one SSTORE). number < 2^40 (a batch a second for 34,000 years),
    ///      finalAt and fallbackClock < 2^40 (as in `_batches`), challengeWindow <= 365 days
    ///      < 2^32, forceInclusionDelay <= 12 h < 2^16; slashedFunds saturates at MAX_BOND (bonds
    ///      are capped at MAX_BOND, so it never does on a chain whose native supply is below 2^88).
    ///      fallbackClock is 0 exactly while no sequencer is designated (so a submission needs no
    ///      read of `sequencer` then); else the time of the last accepted batch or of the
    ///      designation of a sequencer where none was, whichever is later.
    struct Tip {
        uint40 number;
        uint40 finalAt;
        uint40 fallbackClock;
        uint32 challengeWindow;
        uint16 forceInclusionDelay;
        uint88 slashedFunds;
    }

    /// @dev A proposer's bond; `unbondableAt` is 0 while it may submit and, once it asked to
    ///      leave (`requestUnbond`), the time its bond may be withdrawn (never 0 then);
    ///      `sequencer` marks the designated sequencer (read with the bond, at no extra SLOAD).
    ///      submitBatch only reads this slot.
    struct Proposer {
        uint128 bond;
        uint64 unbondableAt;
        bool sequencer;
    }

    /// @notice Constructor parameters.
    struct Config {
        address portal;
        uint32 accountsDepth;
        uint128 baseFee;
        address feeCollector;
        uint64 challengeWindow;
        uint64 forceInclusionDelay;
        uint128 bondAmount;
        uint64 revealDelay;
    }

    /// @notice The portal whose deposits batches consume.
    address public immutable portal;
    /// @notice D: depth of the state tree.
    uint256 public immutable accountsDepth;
    /// @notice The engine's base fee (token 0 units).
    uint256 public immutable baseFee;
    /// @notice L2 address of slot 0 (informational; proofs use slot 0).
    address public immutable feeCollector;
    /// @notice Bond a proposer must hold to submit.
    uint256 public immutable bondAmount;
    /// @notice Blocks between `commitFraud` and the proof for the prover to earn half the bond.
    uint256 public immutable revealDelay;
    /// @notice The genesis state root: the fee collector's leaf at slot 0 of an empty depth-D tree.
    bytes32 public immutable genesisStateRoot;
    /// @notice zero[16], the withdrawals root of a batch's start state.
    bytes32 public immutable emptyWithdrawalsRoot;

    Tip private _tip;
    /// @dev keccak256(abi.encode(stateRoot, accountCount, depositCursor)) of the tip's final state.
    bytes32 private _tipState;
    mapping(uint64 number => bytes32) private _batches;
    mapping(address proposer => Proposer) private _proposers;
    /// @dev Fraud commitment => block number it was first registered at.
    mapping(bytes32 commitment => uint256) private _commits;
    /// @notice The designated sequencer (address(0): none, every bonded proposer may submit).
    address public sequencer;
    /// @notice Seconds without any batch after which any bonded proposer may submit
    ///         (1 .. forceInclusionDelay; starts equal to forceInclusionDelay).
    uint64 public proposerFallbackDelay;

    event BatchSubmitted(
        uint64 indexed number,
        address indexed proposer,
        bytes32 headerHash,
        bytes32 withdrawalsRoot,
        uint64 submittedAt,
        bytes32 recordHash,
        uint64 finalAt
    );
    event FraudProven(
        uint64 indexed number, address indexed proposer, address indexed prover, uint256 slashed, uint256 reward
    );
    event FraudCommitted(address indexed by, bytes32 indexed commitment, uint256 blockNumber);
    event Bonded(address indexed proposer, uint256 amount, uint256 bond);
    event UnbondRequested(address indexed proposer, uint256 bond, uint64 unbondableAt);
    event Unbonded(address indexed proposer, uint256 amount);
    event ChallengeWindowSet(uint64 window);
    event ForceInclusionDelaySet(uint64 delay);
    event SequencerSet(address indexed previous, address indexed sequencer);
    event ProposerFallbackDelaySet(uint64 delay);
    event SlashedFundsWithdrawn(address indexed to, uint256 amount);

    error ZeroAddress();
    error InvalidConfig(string what, uint256 value);
    error NotBonded(address proposer, uint256 bond, uint256 required);
    /// @notice `unbond` before `unbondableAt` (the tip's finalAt when the proposer asked to leave).
    error BondStillAtStake(address proposer, uint64 unbondableAt, uint64 timestamp);
    error NothingBonded(address proposer);
    /// @notice `unbond` without a prior `requestUnbond`.
    error UnbondNotRequested(address proposer);
    /// @notice The proposer asked to leave (`requestUnbond`): it may neither submit nor add to its
    ///         bond, only `unbond` from `unbondableAt` on.
    error ProposerLeaving(address proposer, uint64 unbondableAt);
    error WrongBatchNumber(uint64 number, uint64 expected);
    error PrevStateMismatch(bytes32 given, bytes32 tipState);
    error DepositCursorBackwards(uint64 cursor, uint64 prevCursor);
    error DepositCursorAhead(uint64 cursor, uint64 depositCount);
    error ForcedInclusionMissed(uint64 depositIndex, uint64 depositTime, uint64 delay);
    error EmptyBatchChangesState();
    error BadDataMode(uint8 mode);
    error BadRecordsLength(uint256 length, uint256 expected);
    error DataCommitmentMismatch(bytes32 computed, bytes32 given);
    error MissingBlob(uint256 index);
    error ExtraBlob(uint256 index);
    error BatchNotInChain(uint64 number, uint64 tip);
    error RecordMismatch(uint64 number);
    error BatchIsFinal(uint64 number, uint64 finalAt);
    error OpIndexOutOfRange(uint32 index, uint32 opCount);
    error BadRecordOpening(uint32 index);
    error PrevIndexMismatch(uint32 index, uint32 expected);
    error PreStateMismatch();
    error NoFraud();
    error AmountTooLarge(uint256 amount, uint256 available);
    /// @notice Only the sequencer may submit before `openAt` (proposerFallbackDelay after the last
    ///         batch or, if later, the designation of a sequencer where none was).
    error SequencerPriority(address proposer, address sequencer, uint64 openAt);

    /// @param admin Governance (DEFAULT_ADMIN_ROLE): window, delays, sequencer, slashed funds.
    /// @param cfg See `Config`; challengeWindow 0 means DEFAULT_CHALLENGE_WINDOW. Floors:
    ///        forceInclusionDelay >= 1 s, challengeWindow > revealDelay (block timestamps strictly
    ///        increase, so a shorter window closes before a committed prover may reveal),
    ///        1 <= bondAmount <= MAX_BOND. No sequencer is designated (see setSequencer) and
    ///        proposerFallbackDelay starts equal to forceInclusionDelay.
    constructor(address admin, Config memory cfg) {
        if (admin == address(0) || cfg.portal == address(0)) revert ZeroAddress();
        if (cfg.accountsDepth == 0 || cfg.accountsDepth > 24) revert InvalidConfig("accountsDepth", cfg.accountsDepth);
        if (cfg.forceInclusionDelay == 0 || cfg.forceInclusionDelay > MAX_FORCE_INCLUSION_DELAY) {
            revert InvalidConfig("forceInclusionDelay", cfg.forceInclusionDelay);
        }
        if (cfg.bondAmount == 0 || cfg.bondAmount > MAX_BOND) revert InvalidConfig("bondAmount", cfg.bondAmount);
        // A commitment must be older than the proof's block, or a front-runner commits and proves
        // in one transaction and takes the reward.
        if (cfg.revealDelay == 0) revert InvalidConfig("revealDelay", 0);
        uint64 window = cfg.challengeWindow == 0 ? DEFAULT_CHALLENGE_WINDOW : cfg.challengeWindow;
        if (window <= cfg.revealDelay || window > MAX_CHALLENGE_WINDOW) {
            revert InvalidConfig("challengeWindow", window);
        }
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        portal = cfg.portal;
        accountsDepth = cfg.accountsDepth;
        baseFee = cfg.baseFee;
        feeCollector = cfg.feeCollector;
        bondAmount = cfg.bondAmount;
        revealDelay = cfg.revealDelay;
        // Genesis (engine and Rust model): the fee collector's leaf (nonce 0, zero balances) at
        // slot 0, every other leaf zero; account count 1, deposit cursor 0.
        bytes32 node = GhostPlaneHashes.accountLeaf(cfg.feeCollector, 0, _noBalances());
        bytes32 zero;
        for (uint256 i = 0; i < cfg.accountsDepth; ++i) {
            node = keccak256(abi.encodePacked(node, zero));
            zero = keccak256(abi.encodePacked(zero, zero));
        }
        genesisStateRoot = node;
        emptyWithdrawalsRoot = GhostPlaneMerkle.zeroRoot(16);
        _tip = Tip({
            number: 0,
            finalAt: 0,
            fallbackClock: 0, // no sequencer yet: designating one starts the clock
            // Cannot truncate: window <= MAX_CHALLENGE_WINDOW = 365 days < 2^32, checked above.
            // forge-lint: disable-next-line(unsafe-typecast)
            challengeWindow: uint32(window),
            forceInclusionDelay: uint16(cfg.forceInclusionDelay),
            slashedFunds: 0
        });
        proposerFallbackDelay = cfg.forceInclusionDelay;
        _tipState = _stateHash(node, 1, 0);
        emit ChallengeWindowSet(window);
        emit ForceInclusionDelaySet(cfg.forceInclusionDelay);
        emit ProposerFallbackDelaySet(cfg.forceInclusionDelay);
    }

    // ---------------------------------------------------------------- proposers

    /// @notice Adds the ETH sent to the caller's bond (at most MAX_BOND in all); not while it is
    ///         leaving (after `requestUnbond`, until `unbond`).
    function bond() external payable {
        Proposer storage p = _proposers[msg.sender];
        if (p.unbondableAt != 0) revert ProposerLeaving(msg.sender, p.unbondableAt);
        uint256 total = uint256(p.bond) + msg.value;
        if (total > MAX_BOND) revert AmountTooLarge(msg.value, MAX_BOND - p.bond);
        // Cannot truncate: total <= MAX_BOND = 2^88 - 1, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.bond = uint128(total);
        emit Bonded(msg.sender, msg.value, total);
    }

    /// @notice First step of leaving: from now on the caller may not submit (ProposerLeaving), and
    ///         its bond may be withdrawn with `unbond` from `unbondableAt` = the tip's finalAt now
    ///         (at least now), unless a fraud proof slashes it meanwhile.
    /// @dev finalAt is monotone along the chain (and a cut leaves the tip with the cut batch's
    ///      finalAt, an upper bound), so every batch of the caller still in the chain is final by
    ///      the tip's finalAt; the caller posts none after this call. This replaces a per-submission
    ///      record of the proposer's last batch (one SSTORE on every submitBatch).
    function requestUnbond() external {
        Proposer memory p = _proposers[msg.sender];
        if (p.bond == 0) revert NothingBonded(msg.sender);
        if (p.unbondableAt != 0) revert ProposerLeaving(msg.sender, p.unbondableAt);
        uint64 unbondableAt = _tip.finalAt;
        if (unbondableAt < block.timestamp) unbondableAt = uint64(block.timestamp);
        _proposers[msg.sender] = Proposer({bond: p.bond, unbondableAt: unbondableAt, sequencer: p.sequencer});
        emit UnbondRequested(msg.sender, p.bond, unbondableAt);
    }

    /// @notice Second step of leaving: returns the caller's whole bond once `unbondableAt` (set by
    ///         `requestUnbond`) has passed, so none of its batches can still be cut. The caller may
    ///         then bond again as a new proposer.
    function unbond() external nonReentrant {
        Proposer memory p = _proposers[msg.sender];
        if (p.bond == 0) revert NothingBonded(msg.sender);
        if (p.unbondableAt == 0) revert UnbondNotRequested(msg.sender);
        if (block.timestamp < p.unbondableAt) {
            revert BondStillAtStake(msg.sender, p.unbondableAt, uint64(block.timestamp));
        }
        _proposers[msg.sender] = Proposer({bond: 0, unbondableAt: 0, sequencer: p.sequencer});
        emit Unbonded(msg.sender, p.bond);
        Address.sendValue(payable(msg.sender), p.bond);
    }

    // ---------------------------------------------------------------- batches

    /// @inheritdoc IGhostPlaneRollup
    /// @dev Only the designated sequencer, if any, unless no batch has been submitted for
    ///      proposerFallbackDelay (then any bonded proposer: see SequencerPriority); never a
    ///      proposer that asked to leave (ProposerLeaving). Reads the proposer's slot, writes none.
    function submitBatch(BatchHeader calldata header, bytes calldata records) external {
        Proposer memory p = _proposers[msg.sender];
        if (p.bond < bondAmount) revert NotBonded(msg.sender, p.bond, bondAmount);
        if (p.unbondableAt != 0) revert ProposerLeaving(msg.sender, p.unbondableAt);
        // The tip slot, read and written whole, by hand: Solidity packs Tip from the low bits up
        // (number 0..39, finalAt 40..79, fallbackClock 80..119, challengeWindow 120..151,
        // forceInclusionDelay 152..167, slashedFunds 168..255); a Tip memory copy costs ~1k gas.
        uint256 word;
        assembly ("memory-safe") {
            word := sload(_tip.slot)
        }
        uint64 n = header.number;
        // Each cast extracts one packed field (its intended truncation). The tip number + 1 is
        // computed in 40 bits, as before (checked: no batch 2^40), so n fits in its field.
        // forge-lint: disable-start(unsafe-typecast)
        if (!p.sequencer) _checkFallback(uint40(word >> 80));
        if (n != uint40(word) + 1) revert WrongBatchNumber(n, uint40(word) + 1);
        bytes32 prevState = _stateHash(header.prevStateRoot, header.prevAccountCount, header.prevDepositCursor);
        if (prevState != _tipState) revert PrevStateMismatch(prevState, _tipState);
        _checkDeposits(header, uint16(word >> 152));
        _checkData(header, records);
        // finalAt = max(now + challengeWindow, the tip's finalAt).
        uint256 finalAt = block.timestamp + uint32(word >> 120);
        if (finalAt < uint40(word >> 40)) finalAt = uint40(word >> 40);
        // forge-lint: disable-end(unsafe-typecast)
        bytes32 headerHash = _headerHash(header);
        bytes32 withdrawalsRoot = header.withdrawalsRoot;
        bytes32 record = GhostPlaneHashes.recordHash(headerHash, withdrawalsRoot, uint64(block.timestamp), msg.sender);
        _batches[n] = bytes32((uint256(record) & HASH_MASK) | finalAt);
        _tipState = _stateHash(header.stateRoot, header.accountCount, header.depositCursor);
        // number (n = tip + 1 < 2^40, checked above), finalAt and the fallback clock (now, or 0
        // while no sequencer is designated) replace the low 120 bits; the window, the
        // force-inclusion delay and the slashed funds are kept.
        // Cannot truncate: finalAt and block.timestamp are below 2^40 (a timestamp plus at most
        // 365 days) until the year 36812.
        // forge-lint: disable-start(unsafe-typecast)
        uint256 clock = uint40(word >> 80) == 0 ? 0 : uint40(block.timestamp);
        word = ((word >> 120) << 120) | (clock << 80) | (uint256(uint40(finalAt)) << 40) | uint40(n);
        assembly ("memory-safe") {
            sstore(_tip.slot, word)
        }
        emit BatchSubmitted(
            n, msg.sender, headerHash, withdrawalsRoot, uint64(block.timestamp), record, uint64(finalAt)
        );
        // forge-lint: disable-end(unsafe-typecast)
    }

    /// @dev keccak256(abi.encode(h)) hashed in place: a static struct's calldata is its ABI
    ///      encoding. Every narrow member is checked clean first (what abi.encode would enforce),
    ///      so the hash is that of the values read (a fraud proof's keccak256(abi.encode(header))).
    function _headerHash(BatchHeader calldata h) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let dirty := shr(64, calldataload(h)) // number
            dirty := or(dirty, shr(64, calldataload(add(h, 0x40)))) // prevAccountCount
            dirty := or(dirty, shr(64, calldataload(add(h, 0x60)))) // prevDepositCursor
            dirty := or(dirty, shr(64, calldataload(add(h, 0xa0)))) // accountCount
            dirty := or(dirty, shr(64, calldataload(add(h, 0xc0)))) // depositCursor
            dirty := or(dirty, shr(32, calldataload(add(h, 0x100)))) // withdrawalCount
            dirty := or(dirty, shr(32, calldataload(add(h, 0x120)))) // opCount
            dirty := or(dirty, shr(8, calldataload(add(h, 0x140)))) // dataMode
            if dirty { revert(0x00, 0x00) }
            let m := mload(0x40)
            calldatacopy(m, h, 0x180)
            hash := keccak256(m, 0x180)
        }
    }

    /// @dev A proposer other than the sequencer may submit only when there is no sequencer
    ///      (fallbackClock 0: no storage read) or proposerFallbackDelay has passed since the
    ///      fallback clock (the last batch, or the designation).
    function _checkFallback(uint256 fallbackClock) private view {
        if (fallbackClock == 0) return;
        uint256 openAt = fallbackClock + proposerFallbackDelay;
        // Cannot truncate: openAt is a 40-bit timestamp plus a delay of at most 12 h.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (block.timestamp < openAt) revert SequencerPriority(msg.sender, sequencer, uint64(openAt));
    }

    function _checkDeposits(BatchHeader calldata h, uint64 delay) private view {
        if (h.depositCursor < h.prevDepositCursor) revert DepositCursorBackwards(h.depositCursor, h.prevDepositCursor);
        uint64 cursor = h.depositCursor;
        // One call for the count and the time of the first unconsumed deposit (if any):
        // IGhostPlaneDeposits.depositCountAndTime(cursor), encoded in scratch space. The portal is
        // ours (immutable) and returns two uint64s.
        address portal_ = portal;
        uint64 count;
        uint64 time;
        bytes4 selector = IGhostPlaneDeposits.depositCountAndTime.selector;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, and(cursor, 0xffffffffffffffff))
            if iszero(staticcall(gas(), portal_, 0x00, 0x24, 0x00, 0x40)) {
                returndatacopy(0x00, 0x00, returndatasize())
                revert(0x00, returndatasize())
            }
            if lt(returndatasize(), 0x40) { revert(0x00, 0x00) }
            count := and(mload(0x00), 0xffffffffffffffff)
            time := and(mload(0x20), 0xffffffffffffffff)
        }
        if (cursor > count) revert DepositCursorAhead(cursor, count);
        if (cursor < count && block.timestamp > uint256(time) + delay) {
            revert ForcedInclusionMissed(cursor, time, delay);
        }
    }

    function _checkData(BatchHeader calldata h, bytes calldata records) private view {
        uint256 n = h.opCount;
        if (n == 0) {
            if (
                h.stateRoot != h.prevStateRoot || h.accountCount != h.prevAccountCount
                    || h.depositCursor != h.prevDepositCursor || h.withdrawalsRoot != emptyWithdrawalsRoot
                    || h.withdrawalCount != 0
            ) revert EmptyBatchChangesState();
        }
        bytes32 computed;
        if (h.dataMode == 0) {
            if (records.length != RECORD_LENGTH * n) revert BadRecordsLength(records.length, RECORD_LENGTH * n);
            computed = GhostPlaneMerkle.recordsRoot(records, n);
        } else if (h.dataMode == 1) {
            if (records.length != 0) revert BadRecordsLength(records.length, 0);
            computed = _blobsCommitment((n + RECORDS_PER_BLOB - 1) / RECORDS_PER_BLOB);
        } else {
            revert BadDataMode(h.dataMode);
        }
        if (computed != h.dataCommitment) revert DataCommitmentMismatch(computed, h.dataCommitment);
    }

    /// @dev keccak256(versioned_hash_0 || ...) over exactly `count` blobs of this transaction.
    ///      The hashes are written at the free memory pointer without allocating (nothing else
    ///      uses memory meanwhile).
    function _blobsCommitment(uint256 count) private view returns (bytes32 c) {
        uint256 m;
        assembly ("memory-safe") {
            m := mload(0x40)
        }
        for (uint256 i = 0; i < count; ++i) {
            bytes32 h = blobhash(i);
            if (h == bytes32(0)) revert MissingBlob(i);
            assembly ("memory-safe") {
                mstore(add(m, shl(5, i)), h)
            }
        }
        if (blobhash(count) != bytes32(0)) revert ExtraBlob(count);
        assembly ("memory-safe") {
            c := keccak256(m, shl(5, count))
        }
    }

    // ---------------------------------------------------------------- fraud

    /// @inheritdoc IGhostPlaneRollup
    function commitFraud(bytes32 commitment) external {
        if (_commits[commitment] == 0) _commits[commitment] = block.number;
        emit FraudCommitted(msg.sender, commitment, _commits[commitment]);
    }

    /// @inheritdoc IGhostPlaneRollup
    function proveFraud(
        BatchRecord calldata batch,
        RecordOpening calldata op,
        CommitmentOpening calldata prev,
        StepState calldata pre,
        AccountWitness[] calldata accounts,
        bytes32[] calldata withdrawalSiblings
    ) external nonReentrant {
        _checkContestable(batch);
        BatchHeader calldata h = batch.header;
        _openRecord(h, op);
        _checkPre(h, op.index, prev, pre);
        GhostPlaneExec.Ctx memory ctx = GhostPlaneExec.Ctx(accountsDepth, baseFee, h.number, portal);
        // `accounts` goes to the library as the raw calldata of its ABI encoding (see isFraud).
        bytes calldata accountsAbi;
        assembly ("memory-safe") {
            accountsAbi.offset := sub(accounts.offset, 0x20)
            accountsAbi.length := sub(calldatasize(), accountsAbi.offset)
        }
        if (!GhostPlaneExec.isFraud(ctx, op.record, pre, withdrawalSiblings, accountsAbi)) revert NoFraud();
        _cut(batch);
    }

    /// @inheritdoc IGhostPlaneRollup
    function proveFinalFraud(BatchRecord calldata batch, CommitmentOpening calldata last) external nonReentrant {
        _checkContestable(batch);
        BatchHeader calldata h = batch.header;
        bytes31 finalC = bytes31(
            GhostPlaneHashes.stepHash(
                h.stateRoot, h.accountCount, h.withdrawalsRoot, h.withdrawalCount, h.depositCursor
            )
        );
        bytes31 lastC;
        if (h.opCount == 0) {
            lastC = bytes31(
                GhostPlaneHashes.stepHash(
                    h.prevStateRoot, h.prevAccountCount, emptyWithdrawalsRoot, 0, h.prevDepositCursor
                )
            );
        } else {
            if (last.index != h.opCount - 1) revert PrevIndexMismatch(last.index, h.opCount - 1);
            _openCommitment(h, last);
            lastC = last.commitment;
        }
        if (lastC == finalC) revert NoFraud();
        _cut(batch);
    }

    /// @inheritdoc IGhostPlaneRollup
    function proveDuplicateAccount(
        BatchRecord calldata batch,
        RecordOpening calldata op,
        CommitmentOpening calldata prev,
        StepState calldata pre,
        AccountWitness calldata existing
    ) external nonReentrant {
        _checkContestable(batch);
        BatchHeader calldata h = batch.header;
        _openRecord(h, op);
        _checkPre(h, op.index, prev, pre);
        GhostPlaneExec.Ctx memory ctx = GhostPlaneExec.Ctx(accountsDepth, baseFee, h.number, portal);
        if (!GhostPlaneExec.createsDuplicate(ctx, op.record, pre, existing)) revert NoFraud();
        _cut(batch);
    }

    /// @inheritdoc IGhostPlaneRollup
    /// @dev Without it a proposer could post an element >= 2^248 (any value below the BLS modulus
    ///      is a valid blob element) that no record or commitment opening can ever match, and with
    ///      it an unprovable lie.
    function proveMalformedElement(
        BatchRecord calldata batch,
        uint32 index,
        uint8 element,
        bytes32 y,
        bytes calldata proof
    ) external nonReentrant {
        _checkContestable(batch);
        BatchHeader calldata h = batch.header;
        if (h.dataMode != 1) revert BadDataMode(h.dataMode);
        if (index >= h.opCount) revert OpIndexOutOfRange(index, h.opCount);
        if (element >= 4) revert BadRecordOpening(index);
        _openBlobElement(h, index, GhostPlaneKzg.firstElement(index) + element, uint256(y), proof);
        if (uint256(y) >> 248 == 0) revert NoFraud();
        _cut(batch);
    }

    /// @dev The record is batch `number`'s in the canonical chain and its window is still open.
    function _checkContestable(BatchRecord calldata batch) private view {
        uint64 n = batch.header.number;
        uint64 tip_ = _tip.number;
        if (n == 0 || n > tip_) revert BatchNotInChain(n, tip_);
        bytes32 stored = _batches[n];
        bytes32 record = GhostPlaneHashes.recordHash(
            keccak256(abi.encode(batch.header)), batch.header.withdrawalsRoot, batch.submittedAt, batch.proposer
        );
        if ((uint256(record) ^ uint256(stored)) & HASH_MASK != 0) revert RecordMismatch(n);
        uint64 finalAt = uint40(uint256(stored));
        if (block.timestamp >= finalAt) revert BatchIsFinal(n, finalAt);
    }

    /// @dev pre must be the start state (index 0) or the preimage of the opened c_{index-1}.
    function _checkPre(BatchHeader calldata h, uint32 index, CommitmentOpening calldata prev, StepState calldata pre)
        private
        view
    {
        if (index == 0) {
            if (
                pre.stateRoot != h.prevStateRoot || pre.accountCount != h.prevAccountCount
                    || pre.withdrawalsRoot != emptyWithdrawalsRoot || pre.withdrawalCount != 0
                    || pre.depositCursor != h.prevDepositCursor
            ) revert PreStateMismatch();
            return;
        }
        if (prev.index != index - 1) revert PrevIndexMismatch(prev.index, index - 1);
        _openCommitment(h, prev);
        bytes32 step = GhostPlaneHashes.stepHash(
            pre.stateRoot, pre.accountCount, pre.withdrawalsRoot, pre.withdrawalCount, pre.depositCursor
        );
        // Cannot truncate: a commitment is the first 31 bytes of the step hash, by design.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (bytes31(step) != prev.commitment) revert PreStateMismatch();
    }

    /// @dev Verifies record `op.index` against the batch's data commitment.
    function _openRecord(BatchHeader calldata h, RecordOpening calldata op) private view {
        if (op.index >= h.opCount) revert OpIndexOutOfRange(op.index, h.opCount);
        if (op.record.length != RECORD_LENGTH) revert BadRecordOpening(op.index);
        if (h.dataMode == 0) {
            bytes32[] memory siblings = abi.decode(op.proof, (bytes32[]));
            _checkMerkle(h, keccak256(op.record), op.index, siblings);
        } else {
            _openRecordBlob(h, op);
        }
    }

    /// @dev Blob mode of `_openRecord`: opens the record's four field elements.
    function _openRecordBlob(BatchHeader calldata h, RecordOpening calldata op) private view {
        // op.proof = abi.encode(bytes32[] hashes, bytes commitment, bytes[] proofs), read in
        // place from calldata (every member is bounds-checked before any other check).
        bytes calldata enc = op.proof;
        bytes calldata commitment = _bytesMember(enc, 1);
        (uint256 proofsAt, uint256 proofCount) = _member(enc, 2, 32);
        for (uint256 j = 0; j < proofCount; ++j) {
            _element(enc, proofsAt, j);
        }
        bytes32 vh;
        {
            (uint256 hashesAt, uint256 hashCount) = _member(enc, 0, 32);
            vh = _versionedHash(h, hashesAt, hashCount, op.index);
        }
        if (proofCount != 4) revert BadRecordOpening(op.index);
        uint256 first = GhostPlaneKzg.firstElement(op.index);
        for (uint256 j = 0; j < 4; ++j) {
            // Element j of the record: 0x00 || record bytes 31j .. 31j + 30.
            GhostPlaneKzg.verifyElement(
                vh,
                first + j,
                uint256(bytes32(op.record[31 * j:31 * j + 31])) >> 8,
                commitment,
                _element(enc, proofsAt, j)
            );
        }
    }

    /// @dev Verifies the 31-byte commitment of record `c.index`: calldata mode from its 93-byte op
    ///      (leaf keccak256(op93 || c)), blob mode as the record's element 3 (0x00 || c).
    function _openCommitment(BatchHeader calldata h, CommitmentOpening calldata c) private view {
        if (c.index >= h.opCount) revert OpIndexOutOfRange(c.index, h.opCount);
        if (h.dataMode == 0) {
            (bytes memory op93, bytes32[] memory siblings) = abi.decode(c.proof, (bytes, bytes32[]));
            if (op93.length != RECORD_LENGTH - 31) revert BadRecordOpening(c.index);
            _checkMerkle(h, keccak256(abi.encodePacked(op93, c.commitment)), c.index, siblings);
        } else {
            uint256 y = uint256(bytes32(c.commitment)) >> 8;
            _openBlobElement(h, c.index, GhostPlaneKzg.firstElement(c.index) + 3, y, c.proof);
        }
    }

    /// @dev Opens element `e` of record `index`'s blob to `y`; `enc` = abi.encode(bytes32[] hashes,
    ///      bytes commitment, bytes proof), read in place.
    function _openBlobElement(BatchHeader calldata h, uint32 index, uint256 e, uint256 y, bytes calldata enc)
        private
        view
    {
        (uint256 hashesAt, uint256 hashCount) = _member(enc, 0, 32);
        bytes calldata commitment = _bytesMember(enc, 1);
        bytes calldata proof = _bytesMember(enc, 2);
        bytes32 vh = _versionedHash(h, hashesAt, hashCount, index);
        GhostPlaneKzg.verifyElement(vh, e, y, commitment, proof);
    }

    function _checkMerkle(BatchHeader calldata h, bytes32 leaf, uint32 index, bytes32[] memory siblings) private pure {
        if (siblings.length != GhostPlaneMerkle.paddedDepth(h.opCount)) revert BadRecordOpening(index);
        if (GhostPlaneMerkle.rootFromMemory(leaf, index, siblings) != h.dataCommitment) revert BadRecordOpening(index);
    }

    /// @dev The versioned hash of record `index`'s blob, from the `count` hashes at calldata
    ///      offset `start`, whose keccak256 must be the batch's data commitment.
    function _versionedHash(BatchHeader calldata h, uint256 start, uint256 count, uint32 index)
        private
        pure
        returns (bytes32 vh)
    {
        bytes32 c;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, start, shl(5, count))
            c := keccak256(m, shl(5, count))
        }
        if (c != h.dataCommitment) revert BadRecordOpening(index);
        uint256 b = index / RECORDS_PER_BLOB;
        if (b >= count) revert BadRecordOpening(index);
        assembly ("memory-safe") {
            vh := calldataload(add(start, shl(5, b)))
        }
    }

    // Calldata readers of ABI-encoded opening proofs. They accept exactly what abi.decode accepts
    // for the same types (offsets and lengths below 2^64, every member inside `enc`) and revert
    // without data otherwise, as abi.decode does, but copy nothing to memory.

    /// @dev Dynamic member `i` (bytes or an array of `unit`-byte elements) of the tuple `enc`:
    ///      the absolute calldata offset of its content and its length (bytes or elements).
    function _member(bytes calldata enc, uint256 i, uint256 unit) private pure returns (uint256 start, uint256 len) {
        uint256 base;
        assembly ("memory-safe") {
            base := enc.offset
        }
        return _tail(base, base + enc.length, base + 32 * i, unit);
    }

    /// @dev Member `i` of the tuple `enc`, a `bytes`, as a calldata slice.
    function _bytesMember(bytes calldata enc, uint256 i) private pure returns (bytes calldata b) {
        (uint256 start, uint256 len) = _member(enc, i, 1);
        assembly ("memory-safe") {
            b.offset := start
            b.length := len
        }
    }

    /// @dev Element `j` of a `bytes[]` member of `enc` whose content starts at `arrayAt`.
    function _element(bytes calldata enc, uint256 arrayAt, uint256 j) private pure returns (bytes calldata b) {
        uint256 end;
        assembly ("memory-safe") {
            end := add(enc.offset, enc.length)
        }
        (uint256 start, uint256 len) = _tail(arrayAt, end, arrayAt + 32 * j, 1);
        assembly ("memory-safe") {
            b.offset := start
            b.length := len
        }
    }

    /// @dev The head word at `head` holds an offset relative to `base` of a length word followed
    ///      by `len * unit` bytes; all of it must lie before `end`.
    function _tail(uint256 base, uint256 end, uint256 head, uint256 unit)
        private
        pure
        returns (uint256 start, uint256 len)
    {
        assembly ("memory-safe") {
            let fail := gt(add(head, 0x20), end)
            let rel := calldataload(head)
            fail := or(fail, gt(rel, 0xffffffffffffffff))
            let pos := add(base, rel)
            fail := or(fail, gt(add(pos, 0x20), end))
            len := calldataload(pos)
            fail := or(fail, gt(len, 0xffffffffffffffff))
            start := add(pos, 0x20)
            fail := or(fail, gt(add(start, mul(len, unit)), end))
            if fail { revert(0, 0) }
        }
    }

    /// @dev Cuts batch n and every later one, slashes n's proposer, pays a committed prover half
    ///      unless the prover is that proposer (it would recover half the bond of its own lie; a
    ///      sybil prover address is not excluded: the reward is an incentive, the cut is the penalty).
    function _cut(BatchRecord calldata batch) private {
        BatchHeader calldata h = batch.header;
        uint64 n = h.number;
        Tip memory t = _tip;
        // Cannot truncate: n - 1 < n <= the tip number, a uint40.
        // forge-lint: disable-next-line(unsafe-typecast)
        t.number = uint40(n - 1);
        // finalAt of batch n bounds batch n-1's from above: keeps finality monotone for the next batch.
        t.finalAt = uint40(uint256(_batches[n]));
        _tipState = _stateHash(h.prevStateRoot, h.prevAccountCount, h.prevDepositCursor);

        Proposer memory p = _proposers[batch.proposer];
        uint256 slashed = p.bond;
        // A slashed proposer that was leaving has nothing left to wait for: it may bond anew.
        _proposers[batch.proposer] = Proposer({bond: 0, unbondableAt: 0, sequencer: p.sequencer});
        bytes32 commitment = keccak256(abi.encode(msg.sender, keccak256(msg.data)));
        uint256 committedAt = _commits[commitment];
        uint256 reward;
        if (committedAt != 0 && block.number >= committedAt + revealDelay && msg.sender != batch.proposer) {
            reward = slashed / 2;
            delete _commits[commitment];
        }
        // slashed <= MAX_BOND; saturate rather than block a proof (never reached below 2^88 wei).
        uint256 kept = uint256(t.slashedFunds) + slashed - reward;
        t.slashedFunds = uint88(kept > MAX_BOND ? MAX_BOND : kept);
        _tip = t;
        emit FraudProven(n, batch.proposer, msg.sender, slashed, reward);
        if (reward != 0) Address.sendValue(payable(msg.sender), reward);
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the challenge window for batches submitted from now on (revealDelay + 1 s ..
    ///         365 days: a window of at most revealDelay seconds closes before a committed prover
    ///         may reveal, block timestamps increasing by at least 1 s a block).
    function setChallengeWindow(uint64 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (window <= revealDelay || window > MAX_CHALLENGE_WINDOW) revert InvalidConfig("challengeWindow", window);
        // Cannot truncate: window <= MAX_CHALLENGE_WINDOW = 365 days < 2^32, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        _tip.challengeWindow = uint32(window);
        emit ChallengeWindowSet(window);
    }

    /// @notice Sets the force-inclusion delay (proposerFallbackDelay .. 12 h; never 0).
    function setForceInclusionDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (delay == 0 || delay < proposerFallbackDelay || delay > MAX_FORCE_INCLUSION_DELAY) {
            revert InvalidConfig("forceInclusionDelay", delay);
        }
        // Cannot truncate: delay <= MAX_FORCE_INCLUSION_DELAY = 12 h < 2^16, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        _tip.forceInclusionDelay = uint16(delay);
        emit ForceInclusionDelaySet(delay);
    }

    /// @notice Designates the sequencer (address(0): none, every bonded proposer may submit).
    ///         It need not be bonded yet; it submits only while bonded (and not leaving).
    ///         Designating one where none was starts the fallback clock: the other proposers wait
    ///         proposerFallbackDelay from now (or from the next batch); replacing one keeps it.
    function setSequencer(address sequencer_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address previous = sequencer;
        if (previous != address(0)) _proposers[previous].sequencer = false;
        if (sequencer_ != address(0)) _proposers[sequencer_].sequencer = true;
        if (sequencer_ == address(0)) {
            _tip.fallbackClock = 0;
        } else if (previous == address(0)) {
            // Cannot truncate: a timestamp, below 2^40 until the year 36812.
            // forge-lint: disable-next-line(unsafe-typecast)
            _tip.fallbackClock = uint40(block.timestamp);
        }
        sequencer = sequencer_;
        emit SequencerSet(previous, sequencer_);
    }

    /// @notice Sets how long without any batch opens submission to every bonded proposer
    ///         (1 s .. forceInclusionDelay: a silent sequencer never delays a forced deposit
    ///         beyond the force-inclusion delay once the fallback is open).
    function setProposerFallbackDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (delay == 0 || delay > _tip.forceInclusionDelay) revert InvalidConfig("proposerFallbackDelay", delay);
        proposerFallbackDelay = delay;
        emit ProposerFallbackDelaySet(delay);
    }

    /// @notice Moves slashed ETH not paid to provers.
    function withdrawSlashed(address payable to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 available = _tip.slashedFunds;
        if (amount > available) revert AmountTooLarge(amount, available);
        // Cannot truncate: available - amount <= available, a uint88.
        // forge-lint: disable-next-line(unsafe-typecast)
        _tip.slashedFunds = uint88(available - amount);
        emit SlashedFundsWithdrawn(to, amount);
        Address.sendValue(to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IGhostPlaneRollup
    function tip() external view returns (uint64) {
        return _tip.number;
    }

    /// @inheritdoc IGhostPlaneRollup
    /// @dev High 27 bytes: the record hash's; low 5 bytes: the batch's finalisation time. Zero above the tip.
    function batchHash(uint64 number) external view returns (bytes32) {
        return number <= _tip.number ? _batches[number] : bytes32(0);
    }

    /// @inheritdoc IGhostPlaneRollup
    function isFinal(uint64 number, bytes32 recordHash) external view returns (bool) {
        if (number == 0 || number > _tip.number) return false;
        bytes32 stored = _batches[number];
        return (uint256(recordHash) ^ uint256(stored)) & HASH_MASK == 0 && block.timestamp >= uint40(uint256(stored));
    }

    /// @notice When batch `number` (if in the chain) becomes final.
    function finalizesAt(uint64 number) external view returns (uint64) {
        return number <= _tip.number ? uint40(uint256(_batches[number])) : 0;
    }

    /// @notice keccak256(abi.encode(stateRoot, accountCount, depositCursor)) of the tip's final state.
    function tipState() external view returns (bytes32) {
        return _tipState;
    }

    /// @notice Slashed ETH not paid to provers (the admin's to move).
    function slashedFunds() external view returns (uint256) {
        return _tip.slashedFunds;
    }

    /// @notice When a proposer other than the sequencer may submit (0 if no sequencer).
    function fallbackOpensAt() external view returns (uint64) {
        return sequencer == address(0) ? 0 : _tip.fallbackClock + proposerFallbackDelay;
    }

    /// @notice Current challenge window and force-inclusion delay.
    function delays() external view returns (uint64 challengeWindow, uint64 forceInclusionDelay) {
        Tip memory t = _tip;
        return (t.challengeWindow, t.forceInclusionDelay);
    }

    /// @notice A proposer's bond, when it may withdraw it (0: it has not asked to leave and may
    ///         submit; else it asked with `requestUnbond` and may `unbond` from then on) and whether
    ///         it is the designated sequencer.
    function proposerInfo(address proposer)
        external
        view
        returns (uint256 bond_, uint64 unbondableAt, bool isSequencer)
    {
        Proposer memory p = _proposers[proposer];
        return (p.bond, p.unbondableAt, p.sequencer);
    }

    /// @notice The block a fraud commitment was registered at (0 if none).
    function commitmentBlock(bytes32 commitment) external view returns (uint256) {
        return _commits[commitment];
    }

    function _noBalances() private pure returns (uint128[8] memory b) {}

    /// @dev keccak256(abi.encode(stateRoot, accountCount, depositCursor)), built at the free memory
    ///      pointer without allocating.
    function _stateHash(bytes32 stateRoot, uint64 accountCount, uint64 depositCursor)
        private
        pure
        returns (bytes32 hash)
    {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, stateRoot)
            // Inline assembly may see dirty high bits of narrow types: mask them.
            mstore(add(m, 0x20), and(accountCount, 0xffffffffffffffff))
            mstore(add(m, 0x40), and(depositCursor, 0xffffffffffffffff))
            hash := keccak256(m, 0x60)
        }
    }
}
