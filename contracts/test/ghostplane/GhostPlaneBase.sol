// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Test} from "../utils/Test.sol";
import {GhostPlanePortal} from "../../src/ghostplane/GhostPlanePortal.sol";
import {GhostPlaneRollup} from "../../src/ghostplane/GhostPlaneRollup.sol";
import {IGhostPlaneRollup, IGhostPlaneTypes} from "../../src/ghostplane/IGhostPlane.sol";
import {GhostPlaneHashes} from "../../src/ghostplane/lib/GhostPlaneHashes.sol";
import {GhostPlaneMerkle} from "../../src/ghostplane/lib/GhostPlaneMerkle.sol";

/// @notice A mintable test token.
contract PlaneToken is ERC20 {
    constructor(string memory name) ERC20(name, name) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice Burns 1% of every transfer (fee-on-transfer).
contract PlaneFeeToken is ERC20 {
    constructor() ERC20("FEE", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 burn = value / 100;
            super._update(from, address(0), burn);
            value -= burn;
        }
        super._update(from, to, value);
    }
}

/// @notice Deploys a Portal and a Rollup and models the L2 (accounts, withdrawals, op records v3,
///         sequential witnesses) the way zig/SPEC.md and sequencer/src/settlement.rs do, so tests
///         can build honest batches and tamper with them. As the engine does, a transfer or a
///         withdrawal needs its recipient registered first (`_pushRegister`): neither creates
///         accounts.
abstract contract GhostPlaneBase is Test, IGhostPlaneTypes {
    uint128 internal constant BASE_FEE = 1e15;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant FORCE_DELAY = 12 hours;
    uint128 internal constant BOND = 1 ether;
    uint64 internal constant REVEAL_DELAY = 5;
    uint64 internal constant GAS_LIMIT = 21_000; // < 2^24 (the record's u24)
    uint64 internal constant GAS_PRICE = 1e11; // < 2^40 (the record's u40)
    /// @dev Record v3: a 93-byte op || the 31-byte commitment.
    uint256 internal constant REC = 124;
    uint256 internal constant OP = 93;

    address internal admin = address(0xAD);
    address internal guardian = address(0x6A);
    address internal proposer = address(0x9909);
    address internal collector = address(0xFEE);
    address internal l1User = address(0x1111);

    /// @dev The Rollup's base fee at `_deploy` (the model's ops charge BASE_FEE).
    uint128 internal deployBaseFee = BASE_FEE;

    PlaneToken internal gcc;
    PlaneToken internal spirit;
    PlaneToken internal mana;
    PlaneToken internal ghost;
    PlaneFeeToken internal feeToken; // id 4
    GhostPlanePortal internal portal;
    GhostPlaneRollup internal rollup;
    uint256 internal depth;

    /// @dev Compressed BLS12-381 G1 generator = KZG commitment of the constant polynomial 1
    ///      (a blob whose every element is 1).
    bytes internal constant G1 =
        hex"97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb";
    /// @dev Compressed point at infinity: the proof of any opening of a constant polynomial.
    bytes internal constant INF =
        hex"c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    // ------------------------------------------------------------ L2 model
    address[] internal mAddr;
    uint64[] internal mNonce;
    uint128[8][] internal mBal;
    uint64 internal mCursor;
    bytes32[] internal mWLeaves;
    uint64 internal mBatch; // number of the batch being built
    bytes internal mRecords;
    uint32 internal mOps;
    bytes32 internal startRoot;
    uint64 internal startCount;
    uint64 internal startCursor;

    /// @notice Everything a one-step proof of an op needs besides the openings.
    struct Prepared {
        bytes record;
        StepState pre;
        AccountWitness[] accounts;
        bytes32[] wsib;
    }

    function _deploy(uint256 depth_) internal {
        depth = depth_;
        gcc = new PlaneToken("GCC");
        spirit = new PlaneToken("SPIRIT");
        mana = new PlaneToken("MANA");
        ghost = new PlaneToken("GHOST");
        feeToken = new PlaneFeeToken();
        portal = new GhostPlanePortal(admin, guardian, [address(gcc), address(spirit), address(mana), address(ghost)]);
        rollup = new GhostPlaneRollup(
            admin,
            GhostPlaneRollup.Config({
                portal: address(portal),
                accountsDepth: uint32(depth_),
                baseFee: deployBaseFee,
                feeCollector: collector,
                challengeWindow: WINDOW,
                forceInclusionDelay: FORCE_DELAY,
                bondAmount: BOND,
                revealDelay: REVEAL_DELAY
            })
        );
        vm.startPrank(admin);
        portal.setRollup(IGhostPlaneRollup(address(rollup)));
        portal.mapToken(4, address(feeToken));
        portal.mapToken(5, address(0));
        vm.stopPrank();
        vm.deal(proposer, 10 ether);
        vm.prank(proposer);
        rollup.bond{value: BOND}();

        // Genesis: the collector at slot 0.
        mAddr.push(collector);
        mNonce.push(0);
        uint128[8] memory zero;
        mBal.push(zero);
        mBatch = 1;
        startRoot = _stateRoot();
        startCount = 1;
    }

    // ------------------------------------------------------------ trees

    function _leaf(uint256 slot) internal view returns (bytes32) {
        if (slot >= mAddr.length) return bytes32(0);
        uint128[8] memory b = mBal[slot];
        return GhostPlaneHashes.accountLeaf(mAddr[slot], mNonce[slot], b);
    }

    function _leaves() internal view returns (bytes32[] memory l) {
        l = new bytes32[](mAddr.length);
        for (uint256 i = 0; i < l.length; ++i) {
            l[i] = _leaf(i);
        }
    }

    function _node(bytes32[] memory leaves, uint256 level, uint256 idx) internal pure returns (bytes32) {
        if ((idx << level) >= leaves.length) return GhostPlaneMerkle.zeroRoot(level);
        if (level == 0) return leaves[idx];
        return keccak256(abi.encodePacked(_node(leaves, level - 1, 2 * idx), _node(leaves, level - 1, 2 * idx + 1)));
    }

    function _siblings(bytes32[] memory leaves, uint256 d, uint256 index) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](d);
        for (uint256 i = 0; i < d; ++i) {
            s[i] = _node(leaves, i, (index >> i) ^ 1);
        }
    }

    function _stateRoot() internal view returns (bytes32) {
        return _node(_leaves(), depth, 0);
    }

    function _wRoot() internal view returns (bytes32) {
        return _node(mWLeaves, 16, 0);
    }

    function _step() internal view returns (StepState memory) {
        return StepState(_stateRoot(), uint64(mAddr.length), _wRoot(), uint32(mWLeaves.length), mCursor);
    }

    function _commit(StepState memory s) internal pure returns (bytes31) {
        return bytes31(
            GhostPlaneHashes.stepHash(
                s.stateRoot, s.accountCount, s.withdrawalsRoot, s.withdrawalCount, s.depositCursor
            )
        );
    }

    /// @dev Witness of `slot` in the current model tree (a zero witness for an unused slot).
    function _witness(uint256 slot) internal view returns (AccountWitness memory w) {
        w.slot = uint32(slot);
        if (slot < mAddr.length) {
            w.addr = mAddr[slot];
            w.nonce = mNonce[slot];
            w.balances = mBal[slot];
        }
        w.siblings = _siblings(_leaves(), depth, slot);
    }

    function _slotOf(address a) internal view returns (uint256) {
        for (uint256 i = 0; i < mAddr.length; ++i) {
            if (mAddr[i] == a) return i;
        }
        return type(uint256).max;
    }

    function _ensure(address a) internal returns (uint256 slot) {
        slot = _slotOf(a);
        if (slot == type(uint256).max) {
            slot = mAddr.length;
            mAddr.push(a);
            mNonce.push(0);
            uint128[8] memory zero;
            mBal.push(zero);
        }
    }

    // ------------------------------------------------------------ L1 deposits

    function _l1Deposit(address from, address recipient, uint8 token, uint128 amount) internal returns (uint64 index) {
        if (token == 5) {
            vm.deal(from, amount);
            vm.prank(from);
            return portal.depositETH{value: amount}(recipient);
        }
        PlaneToken t = token == 0 ? gcc : token == 1 ? spirit : token == 2 ? mana : ghost;
        t.mint(from, amount);
        vm.startPrank(from);
        t.approve(address(portal), amount);
        index = portal.deposit(address(t), amount, recipient);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ ops (applied to the model)

    function _accountsOf(uint256 n) internal pure returns (AccountWitness[] memory a) {
        a = new AccountWitness[](n);
    }

    function _finish(Prepared memory p, bytes memory op) internal view {
        p.record = abi.encodePacked(op, _commit(_step()));
    }

    /// @dev Deposit (kind 1): 0 kind|token<<3 · 1 to_slot u24 · 4 index · 12 l1_sender · 32 recipient
    ///      · 52 amount u128 · 68..92 zero.
    function _depositOp(uint64 index, address l1Sender, address recipient, uint8 token, uint128 amount, uint256 slot)
        internal
        pure
        returns (bytes memory)
    {
        return
            abi.encodePacked(uint8(1 | (token << 3)), uint24(slot), index, l1Sender, recipient, amount, new bytes(25));
    }

    /// @dev Register (kind 5): 0 kind · 1 slot u24 · 4 address · 24..92 zero.
    function _registerOp(uint256 slot, address a) internal pure returns (bytes memory) {
        return abi.encodePacked(uint8(5), uint24(slot), a, new bytes(69));
    }

    /// @dev Registers `a` at the next slot of the model (witness: that empty slot).
    function _opRegister(address a) internal returns (Prepared memory p) {
        require(_slotOf(a) == type(uint256).max, "model: already registered");
        p.pre = _step();
        uint256 slot = mAddr.length;
        p.accounts = _accountsOf(1);
        p.accounts[0] = _witness(slot);
        _ensure(a);
        _finish(p, _registerOp(slot, a));
    }

    /// @dev Pushes a register op for `a` unless the model holds it already; returns its slot.
    function _pushRegister(address a) internal returns (uint256 slot) {
        slot = _slotOf(a);
        if (slot != type(uint256).max) return slot;
        slot = mAddr.length;
        _push(_opRegister(a).record);
    }

    /// @dev Consumes L1 deposit `index` (must be the cursor) into the model.
    function _opDeposit(uint64 index, address l1Sender, address recipient, uint8 token, uint128 amount)
        internal
        returns (Prepared memory p)
    {
        p.pre = _step();
        uint256 slot = _slotOf(recipient);
        if (slot == type(uint256).max) slot = mAddr.length;
        p.accounts = _accountsOf(1);
        p.accounts[0] = _witness(slot);
        _ensure(recipient);
        mBal[slot][token] += amount;
        ++mCursor;
        _finish(p, _depositOp(index, l1Sender, recipient, token, amount, slot));
    }

    function _transferDigest(address to, uint128 value, uint8 token, uint64 nonce) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encodePacked(bytes3(0x475001), to, value, uint32(token), GAS_LIMIT, GAS_PRICE, nonce, bytes2(0))
            );
    }

    function _sig(uint256 pk, bytes32 digest) internal pure returns (uint8 vbit, bytes memory rs) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return (v - 27, abi.encodePacked(r, s));
    }

    function _transferOp(
        uint256 pk,
        uint64 nonce,
        uint256 fromSlot,
        uint256 toSlot,
        address to,
        uint8 token,
        uint128 value
    ) internal pure returns (bytes memory) {
        (uint8 vbit, bytes memory rs) = _sig(pk, _transferDigest(to, value, token, nonce));
        return _transferBytes(vbit, token, fromSlot, toSlot, value, rs);
    }

    /// @dev Transfer (kind 2): 0 kind|token<<3|v<<7 · 1 from_slot u24 · 4 to_slot u24 · 7 value u112
    ///      · 21 gas_limit u24 · 24 gas_price u40 · 29 r · 61 s.
    function _transferBytes(uint8 vbit, uint8 token, uint256 fromSlot, uint256 toSlot, uint128 value, bytes memory rs)
        internal
        pure
        returns (bytes memory)
    {
        require(value < 1 << 112, "model: value above u112");
        return abi.encodePacked(
            uint8(2 | (token << 3) | (vbit << 7)),
            uint24(fromSlot),
            uint24(toSlot),
            uint112(value),
            uint24(GAS_LIMIT),
            uint40(GAS_PRICE),
            rs
        );
    }

    /// @dev An honest transfer signed by `pk` to a registered `to`, with sequential witnesses
    ///      (sender, recipient, slot 0).
    function _opTransfer(uint256 pk, address to, uint8 token, uint128 value) internal returns (Prepared memory p) {
        address from = vm.addr(pk);
        p.pre = _step();
        uint256 fromSlot = _slotOf(from);
        require(fromSlot != type(uint256).max, "model: unknown sender");
        uint64 nonce = mNonce[fromSlot];
        uint256 toSlot = _slotOf(to);
        require(toSlot != type(uint256).max, "model: unregistered recipient");
        bytes memory op = _transferOp(pk, nonce, fromSlot, toSlot, to, token, value);

        uint256[] memory touched = _touched(fromSlot, toSlot);
        p.accounts = _accountsOf(touched.length);
        for (uint256 k = 0; k < touched.length; ++k) {
            uint256 slot = touched[k];
            p.accounts[k] = _witness(slot);
            if (slot == fromSlot) {
                mNonce[slot] += 1;
                mBal[slot][token] -= value;
                mBal[slot][0] -= BASE_FEE;
            }
            if (slot == toSlot) mBal[slot][token] += value;
            if (slot == 0) mBal[0][0] += BASE_FEE;
        }
        _finish(p, op);
    }

    function _touched(uint256 a, uint256 b) internal pure returns (uint256[] memory t) {
        uint256[3] memory s = [a, b, 0];
        uint256 n;
        t = new uint256[](3);
        for (uint256 i = 0; i < 3; ++i) {
            bool seen;
            for (uint256 j = 0; j < n; ++j) {
                if (t[j] == s[i]) seen = true;
            }
            if (!seen) t[n++] = s[i];
        }
        assembly ("memory-safe") {
            mstore(t, n)
        }
    }

    function _withdrawalDigest(address l1Recipient, uint8 token, uint128 amount, uint64 nonce)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encodePacked(bytes3(0x475701), l1Recipient, uint32(token), amount, nonce));
    }

    /// @dev An honest withdrawal signed by `pk` to a registered `l1Recipient` (witnesses: sender,
    ///      recipient unless the sender, slot 0 unless either).
    function _opWithdraw(uint256 pk, address l1Recipient, uint8 token, uint128 amount)
        internal
        returns (Prepared memory p, Withdrawal memory w)
    {
        w = Withdrawal(mBatch, uint32(mWLeaves.length), vm.addr(pk), l1Recipient, uint32(token), amount);
        p.pre = _step();
        uint256 fromSlot = _slotOf(w.from);
        uint256 rcptSlot = _slotOf(l1Recipient);
        require(rcptSlot != type(uint256).max, "model: unregistered l1 recipient");
        bytes memory op = _withdrawalOp(pk, fromSlot, rcptSlot, w);
        uint256[] memory touched = _touched(fromSlot, rcptSlot);
        p.accounts = _accountsOf(touched.length);
        for (uint256 k = 0; k < touched.length; ++k) {
            uint256 slot = touched[k];
            p.accounts[k] = _witness(slot);
            if (slot == fromSlot) {
                mNonce[slot] += 1;
                mBal[slot][token] -= amount;
                mBal[slot][0] -= BASE_FEE;
            }
            if (slot == 0) mBal[0][0] += BASE_FEE;
        }
        p.wsib = _siblings(mWLeaves, 16, mWLeaves.length);
        mWLeaves.push(GhostPlaneHashes.withdrawalLeaf(w.batchNumber, w.index, w.from, w.l1Recipient, w.token, w.amount));
        _finish(p, op);
    }

    /// @dev Withdrawal (kind 3): 0 kind|token<<3|v<<7 · 1 from_slot u24 · 4 recipient_slot u24
    ///      · 7 amount u128 · 23 r · 55 s · 87..92 zero; signed over `w.l1Recipient`.
    function _withdrawalOp(uint256 pk, uint256 fromSlot, uint256 rcptSlot, Withdrawal memory w)
        internal
        view
        returns (bytes memory)
    {
        (uint8 vbit, bytes memory rs) =
            _sig(pk, _withdrawalDigest(w.l1Recipient, uint8(w.token), w.amount, mNonce[fromSlot]));
        return abi.encodePacked(
            uint8(3 | (uint8(w.token) << 3) | (vbit << 7)), uint24(fromSlot), uint24(rcptSlot), w.amount, rs, bytes6(0)
        );
    }

    function _push(bytes memory record) internal {
        require(record.length == REC, "model: record length");
        mRecords = abi.encodePacked(mRecords, record);
        ++mOps;
    }

    // ------------------------------------------------------------ batches

    function _header(uint8 mode, bytes32 dataCommitment) internal view returns (BatchHeader memory h) {
        StepState memory s = _step();
        h = BatchHeader({
            number: mBatch,
            prevStateRoot: startRoot,
            prevAccountCount: startCount,
            prevDepositCursor: startCursor,
            stateRoot: s.stateRoot,
            accountCount: s.accountCount,
            depositCursor: s.depositCursor,
            withdrawalsRoot: s.withdrawalsRoot,
            withdrawalCount: s.withdrawalCount,
            opCount: mOps,
            dataMode: mode,
            dataCommitment: dataCommitment
        });
    }

    function _recordsRoot(bytes memory records, uint256 n) internal pure returns (bytes32) {
        return n == 0 ? bytes32(0) : _node(_recordLeaves(records, n), GhostPlaneMerkle.paddedDepth(n), 0);
    }

    function _recordLeaves(bytes memory records, uint256 n) internal pure returns (bytes32[] memory l) {
        l = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(add(add(records, 0x20), mul(i, REC)), REC)
            }
            l[i] = h;
        }
    }

    /// @dev The header of the batch being built, in calldata mode.
    function _calldataHeader() internal view returns (BatchHeader memory) {
        return _header(0, _recordsRoot(mRecords, mOps));
    }

    /// @dev Submits the batch being built in calldata mode; returns its record and its records.
    function _submit() internal returns (BatchRecord memory rec, bytes memory records) {
        return _submitHeader(_calldataHeader());
    }

    function _submitHeader(BatchHeader memory h) internal returns (BatchRecord memory rec, bytes memory records) {
        records = mRecords;
        vm.prank(proposer);
        rollup.submitBatch(h, h.dataMode == 0 ? records : bytes(""));
        rec = BatchRecord(h, uint64(block.timestamp), proposer);
        _nextBatch();
    }

    function _nextBatch() internal {
        StepState memory s = _step();
        startRoot = s.stateRoot;
        startCount = s.accountCount;
        startCursor = s.depositCursor;
        delete mWLeaves;
        delete mRecords;
        mOps = 0;
        ++mBatch;
    }

    function _opening(bytes memory records, uint256 n, uint256 index) internal pure returns (RecordOpening memory o) {
        o.index = uint32(index);
        o.record = _slice(records, index * REC, REC);
        o.proof = abi.encode(_siblings(_recordLeaves(records, n), GhostPlaneMerkle.paddedDepth(n), index));
    }

    function _commitOpening(bytes memory records, uint256 n, uint256 index)
        internal
        pure
        returns (CommitmentOpening memory c)
    {
        c.index = uint32(index);
        bytes memory rec = _slice(records, index * REC, REC);
        c.commitment = bytes31(_slice32(rec, OP));
        c.proof = abi.encode(
            _slice(rec, 0, OP), _siblings(_recordLeaves(records, n), GhostPlaneMerkle.paddedDepth(n), index)
        );
    }

    function _prevOpening(bytes memory records, uint256 n, uint256 index)
        internal
        pure
        returns (CommitmentOpening memory c)
    {
        if (index > 0) c = _commitOpening(records, n, index - 1);
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i = 0; i < len; ++i) {
            out[i] = b[from + i];
        }
    }

    function _slice32(bytes memory b, uint256 from) internal pure returns (bytes32 w) {
        assembly ("memory-safe") {
            w := mload(add(add(b, 0x20), from))
        }
    }

    /// @dev Calldata of proveFraud for op `index` of a submitted batch.
    function _fraudCall(BatchRecord memory rec, bytes memory records, uint256 index, Prepared memory p)
        internal
        pure
        returns (bytes memory)
    {
        uint256 n = rec.header.opCount;
        return abi.encodeCall(
            IGhostPlaneRollup.proveFraud,
            (rec, _opening(records, n, index), _prevOpening(records, n, index), p.pre, p.accounts, p.wsib)
        );
    }

    function _withdrawalSiblings16(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32[16] memory s)
    {
        bytes32[] memory d = _siblings(leaves, 16, index);
        for (uint256 i = 0; i < 16; ++i) {
            s[i] = d[i];
        }
    }

    function _headerHash(BatchHeader memory h) internal pure returns (bytes32) {
        return keccak256(abi.encode(h));
    }

    function _recordHash(BatchRecord memory r) internal pure returns (bytes32) {
        return GhostPlaneHashes.recordHash(_headerHash(r.header), r.header.withdrawalsRoot, r.submittedAt, r.proposer);
    }

    // ------------------------------------------------------------ constant blobs (real KZG openings)

    function _versionedHash(bytes memory commitment) internal pure returns (bytes32) {
        return bytes32((uint256(sha256(commitment)) & ((1 << 248) - 1)) | (uint256(1) << 248));
    }

    /// @dev A 124-byte record whose four elements are all 1 (a record of the constant blob).
    function _onesRecord() internal pure returns (bytes memory rec) {
        rec = new bytes(REC);
        for (uint256 j = 0; j < 4; ++j) {
            rec[31 * j + 30] = 0x01;
        }
    }

    /// @dev Submits a blob-mode batch of `ops` records carried by constant blobs (garbage ops).
    function _submitOnesBatch(uint32 ops) internal returns (BatchRecord memory b, bytes32[] memory hashes) {
        uint256 blobs = (uint256(ops) + 1023) / 1024;
        hashes = new bytes32[](blobs);
        for (uint256 i = 0; i < blobs; ++i) {
            hashes[i] = _versionedHash(G1);
        }
        vm.blobhashes(hashes);
        BatchHeader memory h = _header(1, keccak256(abi.encodePacked(hashes)));
        h.opCount = ops;
        h.accountCount += 1; // anything: the records are garbage
        vm.prank(proposer);
        rollup.submitBatch(h, "");
        b = BatchRecord(h, uint64(block.timestamp), proposer);
        _nextBatch();
    }

    /// @dev The start state of a batch (what op 0 is checked against).
    function _startOf(BatchHeader memory h) internal pure returns (StepState memory) {
        return StepState(h.prevStateRoot, h.prevAccountCount, GhostPlaneMerkle.zeroRoot(16), 0, h.prevDepositCursor);
    }

    function _blobOpening(bytes32[] memory hashes, uint32 index) internal pure returns (RecordOpening memory o) {
        bytes[] memory proofs = new bytes[](4);
        for (uint256 j = 0; j < 4; ++j) {
            proofs[j] = INF;
        }
        o = RecordOpening(index, _onesRecord(), abi.encode(hashes, G1, proofs));
    }
}
