// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Test} from "../utils/Test.sol";
import {PlaneToken, PlaneFeeToken} from "./GhostPlaneBase.sol";
import {GhostPlanePortal} from "../../src/ghostplane/GhostPlanePortal.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup, IGhostPlaneTypes} from "../../src/ghostplane/IGhostPlane.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";
import {GhostPlaneMerkle} from "../../src/ghostplane/lib/GhostPlaneMerkle.sol";

/// @notice Drives deposits, batch submissions (each carrying withdrawals and one garbage op, so
///         any of them can be proven fraudulent), fraud proofs, time and withdrawal claims, and
///         keeps ghost totals of what moved.
contract GhostPlaneHandler is Test, IGhostPlaneTypes {
    uint64 internal constant FORCE_DELAY = 12 hours;
    uint128 internal constant BOND = 1 ether;

    GhostPlanePortal public portal;
    GhostPlaneRollup public rollup;
    address[3] public tokens; // ids 0 (GCC), 4 (fee-on-transfer), 5 (ETH = address(0))
    uint32[3] internal ids = [uint32(0), 4, 5];
    address internal proposer = address(0x9909);
    address[4] internal users = [address(0x5001), address(0x5002), address(0x5003), address(0x5004)];

    // ghost totals per slot of `tokens`
    uint256[3] public ghostDeposited;
    uint256[3] public ghostPaid;
    bool public paidTwice;
    bool public finalBatchCut;

    struct Submitted {
        BatchRecord rec;
        bytes records;
        bytes32 recordHash;
    }

    Submitted[] internal subs;
    mapping(uint256 sub => Withdrawal[]) internal subWithdrawals;
    mapping(uint256 sub => bytes32[]) internal subLeaves;
    mapping(bytes32 key => bool) internal paid;
    /// @dev Index in `subs` of the batch at each chain height (1-based heights).
    uint256[] internal chain;
    bytes32[] public cutRecords;
    uint64[] public cutNumbers;
    bytes32[] public finalRecords;
    uint64[] public finalNumbers;

    constructor(GhostPlanePortal portal_, GhostPlaneRollup rollup_, address gcc, address feeToken) {
        portal = portal_;
        rollup = rollup_;
        tokens = [gcc, feeToken, address(0)];
    }

    // ------------------------------------------------------------ actions

    function deposit(uint256 userSeed, uint256 tokenSeed, uint256 amount) external {
        uint256 t = tokenSeed % 3;
        address user = users[userSeed % 4];
        amount = bound(amount, 1, 1e24);
        uint256 before = _balance(t);
        if (t == 2) {
            vm.deal(user, amount);
            vm.prank(user);
            portal.depositETH{value: amount}(user);
        } else {
            PlaneToken(tokens[t]).mint(user, amount);
            vm.startPrank(user);
            PlaneToken(tokens[t]).approve(address(portal), amount);
            portal.deposit(tokens[t], amount, user);
            vm.stopPrank();
        }
        ghostDeposited[t] += _balance(t) - before;
        _observe();
    }

    function submit(uint256 count, uint256 seed) external {
        (uint256 bondNow,,) = rollup.proposerInfo(proposer);
        if (bondNow < BOND) {
            vm.deal(proposer, BOND);
            vm.prank(proposer);
            rollup.bond{value: BOND}();
        }
        uint64 number = rollup.tip() + 1;
        count = bound(count, 0, 4);
        uint256 s = subs.length;
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 t = uint256(keccak256(abi.encode(seed, i))) % 3;
            uint128 amount = uint128(bound(uint256(keccak256(abi.encode(seed, i, 1))), 1, 1e22));
            Withdrawal memory w = Withdrawal(number, uint32(i), users[i % 4], users[(i + 1) % 4], ids[t], amount);
            subWithdrawals[s].push(w);
            leaves[i] = GhostPlaneHashes.withdrawalLeaf(number, uint32(i), w.from, w.l1Recipient, w.token, amount);
            subLeaves[s].push(leaves[i]);
        }
        BatchHeader memory h = _nextHeader(number, leaves);
        bytes memory records = new bytes(124); // op kind 0: provably invalid
        vm.prank(proposer);
        rollup.submitBatch(h, records);
        bytes32 rh = _hash(h, proposer);
        subs.push(Submitted(BatchRecord(h, uint64(block.timestamp), proposer), records, rh));
        // Re-submitting a cut batch byte for byte in the same second recreates the same record:
        // that is a new submission (provable again), not the cut one finalizing.
        for (uint256 i = 0; i < cutRecords.length; ++i) {
            if (cutRecords[i] == rh && cutNumbers[i] == number) cutRecords[i] = bytes32(0);
        }
        if (chain.length >= number) {
            chain[number - 1] = s;
            while (chain.length > number) chain.pop();
        } else {
            chain.push(s);
        }
        _observe();
    }

    function _nextHeader(uint64 number, bytes32[] memory leaves) internal view returns (BatchHeader memory h) {
        (bytes32 root, uint64 count, uint64 cursor) = _tipFinal();
        h.number = number;
        h.prevStateRoot = root;
        h.prevAccountCount = count;
        h.prevDepositCursor = cursor;
        h.stateRoot = root;
        h.accountCount = count;
        h.depositCursor = portal.depositCount();
        h.withdrawalsRoot = _root16(leaves);
        h.withdrawalCount = uint32(leaves.length);
        h.opCount = 1;
        h.dataMode = 0;
        h.dataCommitment = keccak256(new bytes(124));
    }

    function _tipFinal() internal view returns (bytes32, uint64, uint64) {
        uint64 tip_ = rollup.tip();
        if (tip_ == 0) return (rollup.genesisStateRoot(), 1, 0);
        BatchHeader memory h = subs[chain[tip_ - 1]].rec.header;
        return (h.stateRoot, h.accountCount, h.depositCursor);
    }

    function prove(uint256 seed) external {
        uint64 tip_ = rollup.tip();
        if (tip_ == 0) return;
        uint64 n = uint64(bound(seed, 1, tip_));
        Submitted memory sub = subs[chain[n - 1]];
        bool wasFinal = rollup.isFinal(n, sub.recordHash);
        BatchHeader memory h = sub.rec.header;
        StepState memory pre =
            StepState(h.prevStateRoot, h.prevAccountCount, GhostPlaneMerkle.zeroRoot(16), 0, h.prevDepositCursor);
        RecordOpening memory op = RecordOpening(0, sub.records, abi.encode(new bytes32[](0)));
        CommitmentOpening memory none;
        try rollup.proveFraud(sub.rec, op, none, pre, new AccountWitness[](0), new bytes32[](0)) {
            if (wasFinal) finalBatchCut = true;
            for (uint64 k = n; k <= tip_; ++k) {
                cutNumbers.push(k);
                cutRecords.push(subs[chain[k - 1]].recordHash);
            }
            while (chain.length >= n) chain.pop();
        } catch {
            // Refused: must be because the batch is final.
            if (!wasFinal) finalBatchCut = true; // a non-final fraudulent batch must be cuttable
        }
        _observe();
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 2 days));
        _observe();
    }

    function claim(uint256 subSeed, uint256 idxSeed) external {
        if (subs.length == 0) return;
        uint256 s = subSeed % subs.length;
        Withdrawal[] storage ws = subWithdrawals[s];
        if (ws.length == 0) return;
        Withdrawal memory w = ws[idxSeed % ws.length];
        Submitted memory sub = subs[s];
        bytes32[] memory leaves = subLeaves[s];
        bytes32[16] memory sib = _siblings16(leaves, w.index);
        uint256 t = w.token == 0 ? 0 : w.token == 4 ? 1 : 2;
        uint256 before = _balance(t);
        try portal.finalizeWithdrawal(
            w, sib, keccak256(abi.encode(sub.rec.header)), sub.rec.header.withdrawalsRoot, sub.rec.submittedAt, proposer
        ) {
            bytes32 key = keccak256(abi.encode(w.batchNumber, w.index));
            if (paid[key]) paidTwice = true;
            paid[key] = true;
            ghostPaid[t] += before - _balance(t);
            if (before - _balance(t) != w.amount) paidTwice = true; // paid something else than the leaf
        } catch {}
        _observe();
    }

    // ------------------------------------------------------------ views for the invariants

    function balanceOf(uint256 t) external view returns (uint256) {
        return _balance(t);
    }

    function cutCount() external view returns (uint256) {
        return cutRecords.length;
    }

    function finalCount() external view returns (uint256) {
        return finalRecords.length;
    }

    // ------------------------------------------------------------ helpers

    /// @dev Remembers every canonical batch seen final.
    function _observe() internal {
        uint64 tip_ = rollup.tip();
        for (uint64 n = 1; n <= tip_; ++n) {
            bytes32 rh = subs[chain[n - 1]].recordHash;
            if (!rollup.isFinal(n, rh)) break;
            bool known;
            for (uint256 i = 0; i < finalRecords.length; ++i) {
                if (finalRecords[i] == rh && finalNumbers[i] == n) known = true;
            }
            if (!known) {
                finalRecords.push(rh);
                finalNumbers.push(n);
            }
        }
    }

    function _balance(uint256 t) internal view returns (uint256) {
        return t == 2 ? address(portal).balance : PlaneToken(tokens[t]).balanceOf(address(portal));
    }

    function _hash(BatchHeader memory h, address p) internal view returns (bytes32) {
        return GhostPlaneHashes.recordHash(keccak256(abi.encode(h)), h.withdrawalsRoot, uint64(block.timestamp), p);
    }

    function _node(bytes32[] memory leaves, uint256 level, uint256 idx) internal pure returns (bytes32) {
        if ((idx << level) >= leaves.length) return GhostPlaneMerkle.zeroRoot(level);
        if (level == 0) return leaves[idx];
        return keccak256(abi.encodePacked(_node(leaves, level - 1, 2 * idx), _node(leaves, level - 1, 2 * idx + 1)));
    }

    function _root16(bytes32[] memory leaves) internal pure returns (bytes32) {
        return _node(leaves, 16, 0);
    }

    function _siblings16(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[16] memory s) {
        for (uint256 i = 0; i < 16; ++i) {
            s[i] = _node(leaves, i, (index >> i) ^ 1);
        }
    }
}

/// @notice Portal/Rollup invariants over random deposits, submissions, fraud proofs, time and claims.
contract GhostPlaneInvariantTest is Test {
    GhostPlaneHandler internal handler;
    GhostPlaneRollup internal rollup;

    function setUp() public {
        vm.warp(1_000_000);
        PlaneToken gcc = new PlaneToken("GCC");
        PlaneFeeToken fee = new PlaneFeeToken();
        address admin = address(0xAD);
        GhostPlanePortal portal = new GhostPlanePortal(
            admin,
            admin,
            [address(gcc), address(new PlaneToken("S")), address(new PlaneToken("M")), address(new PlaneToken("G"))]
        );
        rollup = new GhostPlaneRollup(
            admin,
            GhostPlaneRollup.Config({
                portal: address(portal),
                accountsDepth: 8,
                baseFee: 0,
                feeCollector: address(0xFEE),
                challengeWindow: 1 days,
                forceInclusionDelay: 12 hours,
                bondAmount: 1 ether,
                revealDelay: 1
            })
        );
        vm.startPrank(admin);
        portal.setRollup(IGhostPlaneRollup(address(rollup)));
        portal.mapToken(4, address(fee));
        portal.mapToken(5, address(0));
        vm.stopPrank();
        handler = new GhostPlaneHandler(portal, rollup, address(gcc), address(fee));
        targetContract(address(handler));
    }

    /// @notice The handler's paths really pay and really cut (the invariants are not vacuous).
    function test_handler_paysAndCuts() public {
        for (uint256 t = 0; t < 3; ++t) {
            handler.deposit(0, t, 1e24);
        }
        handler.submit(4, 1);
        handler.warp(2 days);
        for (uint256 i = 0; i < 4; ++i) {
            handler.claim(0, i);
        }
        vm.assertGt(handler.ghostPaid(0) + handler.ghostPaid(1) + handler.ghostPaid(2), 0);
        handler.submit(2, 2);
        handler.prove(2);
        vm.assertEq(uint256(rollup.tip()), 1);
        vm.assertEq(handler.cutCount(), 1);
        handler.prove(1); // final: refused
        vm.assertEq(uint256(rollup.tip()), 1);
        vm.assertFalse(handler.finalBatchCut());
    }

    /// @notice Per token: portal balance == credited deposits - finalized withdrawals.
    function invariant_portalBalanceIsDepositsMinusWithdrawals() public view {
        for (uint256 t = 0; t < 3; ++t) {
            vm.assertEq(handler.balanceOf(t), handler.ghostDeposited(t) - handler.ghostPaid(t));
        }
    }

    /// @notice No withdrawal leaf is paid twice (or for another amount).
    function invariant_withdrawalPaidAtMostOnce() public view {
        vm.assertFalse(handler.paidTwice());
    }

    /// @notice No batch cut by a fraud proof (nor any later one cut with it) ever finalizes.
    function invariant_noCutBatchFinalizes() public view {
        uint256 n = handler.cutCount();
        for (uint256 i = 0; i < n; ++i) {
            vm.assertFalse(rollup.isFinal(handler.cutNumbers(i), handler.cutRecords(i)));
        }
    }

    /// @notice A batch seen final stays final: it can never be cut.
    function invariant_finalBatchNeverCut() public view {
        vm.assertFalse(handler.finalBatchCut());
        uint256 n = handler.finalCount();
        for (uint256 i = 0; i < n; ++i) {
            vm.assertTrue(rollup.isFinal(handler.finalNumbers(i), handler.finalRecords(i)));
        }
    }
}
