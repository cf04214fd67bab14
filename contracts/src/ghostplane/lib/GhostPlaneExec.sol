// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IGhostPlaneTypes} from "../IGhostPlane.sol";
import {GhostPlaneHashes} from "./GhostPlaneHashes.sol";
import {GhostPlaneMerkle} from "./GhostPlaneMerkle.sol";

/// @notice What the Rollup reads from the Portal to check deposit and refund ops.
interface IGhostPlaneDeposits {
    function depositCount() external view returns (uint64);
    function depositChain(uint64 k) external view returns (bytes32);
    function depositTime(uint64 k) external view returns (uint64);
    function depositCountAndTime(uint64 k) external view returns (uint64 count, uint64 time);
}

/// @title GhostPlaneExec
/// @notice One-step re-execution of a GhostPlane op record (zig/SPEC.md "Op records", "Fraud")
///         on account witnesses. `isFraud` returns true when the op is invalid or its post-step
///         commitment differs from the record's; it reverts (bad witness) when a witness does not
///         prove what it claims, so a wrong witness can never make an honest op look fraudulent.
/// @dev Witnesses are read lazily in the order the op touches distinct accounts (sender or deposit
///      recipient, recipient, fee collector at slot 0, each slot once; a refund touches none); the execution stops
///      at its first failing check and only the witnesses read so far are needed. A valid op's
///      witnesses must verify sequentially (witness k against the root after the earlier witnesses'
///      post-op leaves are written); for an invalid op, a witness may also verify against the
///      pre-state root (both are sound: they prove the same pre-state leaf).
library GhostPlaneExec {
    uint256 internal constant RECORD_LENGTH = 155;
    uint256 internal constant MAX_WITHDRAWALS = 1 << 16;
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice Parameters of the re-execution.
    struct Ctx {
        uint256 depth;
        uint256 baseFee;
        uint64 batchNumber;
        address portal;
    }

    struct Acct {
        uint256 slot;
        address addr;
        uint64 nonce;
        uint128[8] bal;
        bytes32 oldLeaf;
    }

    struct Run {
        Acct[3] accts;
        uint256 n;
        bool appendWithdrawal;
        bytes32 withdrawalLeaf;
        uint64 accountCount;
        uint64 depositCursor;
        uint256 preCount;
    }

    /// @notice Decoded op fields (kinds share the struct).
    struct Op {
        uint256 kind;
        uint256 v;
        uint256 token;
        uint256 fromSlot;
        uint256 toSlot;
        address to;
        uint256 value;
        uint256 gasLimit;
        uint256 gasPrice;
        bytes32 r;
        bytes32 s;
        uint64 index;
        address l1Sender;
    }

    /// @notice A witness's slot differs from the slot the op touches next.
    error WrongWitnessSlot(uint256 witness, uint256 slot, uint256 expected);
    /// @notice The op needs more witnesses than were given.
    error MissingWitness(uint256 witness);
    /// @notice A witness does not verify against the state root (or has the wrong depth).
    error BadWitness(uint256 witness);
    /// @notice The withdrawal append path does not prove an empty leaf at withdrawal_count.
    error BadWithdrawalWitness();
    /// @notice A record that is not 155 bytes.
    error BadRecordLength(uint256 length);

    /// @notice True when op `rec` applied to `pre` is invalid or its post-step commitment is wrong.
    /// @param accountsAbi The caller's calldata from the ABI encoding of its `AccountWitness[]`
    ///        argument (length word, then the content, whose offsets are relative to it) to the end
    ///        of its calldata. Passed as raw bytes, the library call copies it with one
    ///        calldatacopy where an `AccountWitness[]` parameter is re-encoded field by field;
    ///        it is the last parameter, so its tail ends this call's calldata as it ended the
    ///        caller's, and `_witnesses` checks it as the caller's ABI decoder and encoder did.
    function isFraud(
        Ctx memory ctx,
        bytes calldata rec,
        IGhostPlaneTypes.StepState calldata pre,
        bytes32[] calldata withdrawalSiblings,
        bytes calldata accountsAbi
    ) external view returns (bool) {
        return _isFraud(ctx, rec, pre, _witnesses(accountsAbi), withdrawalSiblings);
    }

    function _isFraud(
        Ctx memory ctx,
        bytes calldata rec,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        bytes32[] calldata withdrawalSiblings
    ) private view returns (bool) {
        if (rec.length != RECORD_LENGTH) revert BadRecordLength(rec.length);
        Run memory run;
        run.accountCount = pre.accountCount;
        run.preCount = pre.accountCount;
        run.depositCursor = pre.depositCursor;
        bool invalid = _apply(ctx, rec, pre, accounts, run);
        bytes32 root = _authenticate(ctx, pre.stateRoot, accounts, run, invalid);
        if (invalid) return true;
        bytes32 withdrawalsRoot = pre.withdrawalsRoot;
        uint32 withdrawalCount = pre.withdrawalCount;
        if (run.appendWithdrawal) {
            if (withdrawalSiblings.length != 16) revert BadWithdrawalWitness();
            if (GhostPlaneMerkle.rootFromCalldata(bytes32(0), withdrawalCount, withdrawalSiblings) != withdrawalsRoot) {
                revert BadWithdrawalWitness();
            }
            withdrawalsRoot = GhostPlaneMerkle.rootFromCalldata(run.withdrawalLeaf, withdrawalCount, withdrawalSiblings);
            ++withdrawalCount;
        }
        bytes32 step =
            GhostPlaneHashes.stepHash(root, run.accountCount, withdrawalsRoot, withdrawalCount, run.depositCursor);
        // Cannot truncate: a commitment is the first 31 bytes of the step hash, by design.
        // forge-lint: disable-next-line(unsafe-typecast)
        return bytes31(step) != commitmentOf(rec);
    }

    /// @dev `accountsAbi` as an `AccountWitness[]` calldata array. Reverts without data, as the
    ///      ABI decoder does, unless its element offsets lie inside `accountsAbi` and every
    ///      element's tail (its `siblings` offset and length) lies inside the calldata.
    function _witnesses(bytes calldata accountsAbi)
        private
        pure
        returns (IGhostPlaneTypes.AccountWitness[] calldata accounts)
    {
        assembly ("memory-safe") {
            let n := calldataload(accountsAbi.offset)
            if or(lt(accountsAbi.length, 0x20), gt(n, 0xffffffffffffffff)) { revert(0, 0) }
            if gt(add(0x20, mul(n, 0x20)), accountsAbi.length) { revert(0, 0) }
            accounts.offset := add(accountsAbi.offset, 0x20)
            accounts.length := n
        }
        for (uint256 k = 0; k < accounts.length; ++k) {
            accounts[k].siblings; // the compiler's calldata tail checks
        }
    }

    /// @notice True when `rec` creates an account for `existing.addr`, which the pre-state holds at
    ///         `existing.slot` (reverts if the witness does not verify).
    function createsDuplicate(
        Ctx memory ctx,
        bytes calldata rec,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness calldata existing
    ) external pure returns (bool) {
        if (rec.length != RECORD_LENGTH) {
            revert BadRecordLength(rec.length);
        }
        if (existing.slot >= pre.accountCount || existing.siblings.length != ctx.depth) revert BadWitness(0);
        uint128[8] memory bal = existing.balances;
        bytes32 leaf = GhostPlaneHashes.accountLeaf(existing.addr, existing.nonce, bal);
        if (GhostPlaneMerkle.rootFromCalldata(leaf, existing.slot, existing.siblings) != pre.stateRoot) {
            revert BadWitness(0);
        }
        Op memory op = _decode(rec);
        uint256 count = pre.accountCount;
        if (op.kind == 1) return op.toSlot == count && op.to == existing.addr;
        if (op.kind != 2) return false;
        uint256 next = count;
        if (op.fromSlot == count) {
            if (_recover(_transferDigest(op, 0), op) == existing.addr) return true;
            ++next;
        }
        return op.toSlot != op.fromSlot && op.toSlot == next && op.to == existing.addr;
    }

    /// @notice The record's 31-byte post-step commitment c_i (bytes 124..154).
    function commitmentOf(bytes calldata rec) internal pure returns (bytes31 c) {
        assembly ("memory-safe") {
            c := and(calldataload(add(rec.offset, 124)), not(0xff))
        }
    }

    // ---------------------------------------------------------------- execution

    function _apply(
        Ctx memory ctx,
        bytes calldata rec,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private view returns (bool invalid) {
        uint256 b0 = _u(rec, 0, 1);
        if (b0 & 0x70 != 0) return true;
        Op memory op = _decode(rec);
        if (op.kind == 1 || op.kind == 4) {
            if (op.v != 0 || _u(rec, 69, 32) != 0 || _u(rec, 101, 23) != 0) return true;
            return op.kind == 1 ? _deposit(ctx, op, pre, accounts, run) : _refund(ctx, op, pre, accounts, run);
        }
        if (op.kind == 2) return _transfer(ctx, op, pre, accounts, run);
        if (op.kind == 3) {
            if (_u(rec, 105, 19) != 0) return true;
            return _withdraw(ctx, op, pre, accounts, run);
        }
        return true; // unknown kind
    }

    function _deposit(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private view returns (bool) {
        if (!_portalDeposit(ctx, op, pre)) return true;
        uint256 count = pre.accountCount;
        if (op.toSlot > count || op.toSlot >= (uint256(1) << ctx.depth)) return true;
        Acct memory a = run.accts[_load(accounts, run, op.toSlot, count)];
        if (op.toSlot == count) {
            a.addr = op.to;
            ++run.accountCount;
        } else if (a.addr != op.to) {
            return true;
        }
        if (!_credit(a, op.token, op.value)) return true;
        ++run.depositCursor;
        return false;
    }

    function _refund(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private view returns (bool) {
        if (!_portalDeposit(ctx, op, pre)) return true;
        uint256 count = pre.accountCount;
        // A refund is only for a deposit that could not create its account: the tree is full...
        if (count < (uint256(1) << ctx.depth)) return true;
        // ...and the recipient is nowhere in it (a witness showing it there proves the deposit fit).
        if (accounts.length != 0 && accounts[0].slot < count) {
            Acct memory a = run.accts[_load(accounts, run, accounts[0].slot, count)];
            if (a.addr == op.to) return true;
        }
        if (pre.withdrawalCount >= MAX_WITHDRAWALS) return true;
        run.appendWithdrawal = true;
        run.withdrawalLeaf = GhostPlaneHashes.withdrawalLeaf(
            ctx.batchNumber, pre.withdrawalCount, address(0), op.l1Sender, uint32(op.token), uint128(op.value)
        );
        ++run.depositCursor;
        return false;
    }

    function _transfer(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private pure returns (bool) {
        if (op.fromSlot > pre.accountCount || op.fromSlot >= (uint256(1) << ctx.depth)) return true;
        Acct memory sender = run.accts[_load(accounts, run, op.fromSlot, run.preCount)];
        {
            address signer = _recover(_transferDigest(op, sender.nonce), op);
            if (signer == address(0)) return true;
            if (op.fromSlot == run.preCount) {
                sender.addr = signer;
                ++run.accountCount;
            } else if (sender.addr != signer) {
                return true;
            }
        }
        if (op.token >= 8 || op.gasLimit * op.gasPrice < ctx.baseFee) return true;
        if (!_debit(sender, op.token, op.value, ctx.baseFee)) return true;
        (bool ok, Acct memory rcpt) = _recipient(ctx, op, accounts, run, sender);
        if (!ok || !_credit(rcpt, op.token, op.value)) return true;
        return !_payFee(ctx, accounts, run, sender, rcpt, op.toSlot);
    }

    /// @dev The transfer's recipient account (the sender for a self-transfer); false if its slot is
    ///      wrong. A transfer to the sender's own address must name the sender's slot: another
    ///      slot would hold (or, for a new signer with base fee 0, create) the address twice.
    function _recipient(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run,
        Acct memory sender
    ) private pure returns (bool, Acct memory rcpt) {
        if (op.toSlot == op.fromSlot) return (op.to == sender.addr, sender);
        if (op.to == sender.addr) return (false, rcpt);
        uint256 next = run.accountCount;
        if (op.toSlot > next || op.toSlot >= (uint256(1) << ctx.depth)) return (false, rcpt);
        rcpt = run.accts[_load(accounts, run, op.toSlot, run.preCount)];
        if (op.toSlot == next) {
            rcpt.addr = op.to;
            ++run.accountCount;
            return (true, rcpt);
        }
        return (rcpt.addr == op.to, rcpt);
    }

    function _withdraw(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private pure returns (bool) {
        uint256 count = pre.accountCount;
        if (pre.withdrawalCount >= MAX_WITHDRAWALS || op.token >= 8 || op.value == 0) return true;
        if (op.fromSlot >= count) return true; // account_not_found (slot 0, the collector, always exists)
        Acct memory sender = run.accts[_load(accounts, run, op.fromSlot, count)];
        if (_recover(_withdrawalDigest(op, sender.nonce), op) != sender.addr) return true;
        if (!_debit(sender, op.token, op.value, ctx.baseFee)) return true;
        if (!_payFee(ctx, accounts, run, sender, sender, op.fromSlot)) return true;
        run.appendWithdrawal = true;
        run.withdrawalLeaf = GhostPlaneHashes.withdrawalLeaf(
            ctx.batchNumber, pre.withdrawalCount, sender.addr, op.to, uint32(op.token), uint128(op.value)
        );
        return false;
    }

    /// @dev Nonce + 1, `value` of `token` and the fee in GCC; false if the balances do not cover them.
    function _debit(Acct memory a, uint256 token, uint256 value, uint256 fee) private pure returns (bool) {
        uint256 need = token == 0 ? value + fee : value;
        if (a.bal[token] < need || a.bal[0] < fee) return false;
        // Cannot truncate: value <= a.bal[token], a uint128, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        a.bal[token] -= uint128(value);
        // Cannot truncate: fee <= a.bal[0], a uint128, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        a.bal[0] -= uint128(fee);
        ++a.nonce;
        return true;
    }

    function _credit(Acct memory a, uint256 token, uint256 value) private pure returns (bool) {
        uint256 b = uint256(a.bal[token]) + value;
        if (b > type(uint128).max) return false;
        // Cannot truncate: b <= type(uint128).max, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        a.bal[token] = uint128(b);
        return true;
    }

    /// @dev Credits the fee to the collector at slot 0 (the sender or recipient if either is slot 0).
    function _payFee(
        Ctx memory ctx,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run,
        Acct memory sender,
        Acct memory rcpt,
        uint256 rcptSlot
    ) private pure returns (bool) {
        Acct memory col;
        if (sender.slot == 0) col = sender;
        else if (rcptSlot == 0) col = rcpt;
        else col = run.accts[_load(accounts, run, 0, run.preCount)];
        return _credit(col, 0, ctx.baseFee);
    }

    /// @dev The op's deposit is the cursor's and matches the portal's chain of that index.
    function _portalDeposit(Ctx memory ctx, Op memory op, IGhostPlaneTypes.StepState calldata pre)
        private
        view
        returns (bool)
    {
        if (op.index != pre.depositCursor || op.token >= 8 || op.value == 0) return false;
        IGhostPlaneDeposits portal = IGhostPlaneDeposits(ctx.portal);
        if (op.index >= portal.depositCount()) return false;
        bytes32 prev = op.index == 0 ? bytes32(0) : portal.depositChain(op.index - 1);
        bytes32 chain =
            GhostPlaneHashes.depositChain(prev, op.index, op.l1Sender, op.to, uint8(op.token), uint128(op.value));
        return chain == portal.depositChain(op.index);
    }

    // ---------------------------------------------------------------- witnesses

    /// @dev Reads the next witness, which must be for `slot`; an unused slot must be all zero.
    function _load(IGhostPlaneTypes.AccountWitness[] calldata accounts, Run memory run, uint256 slot, uint256 count)
        private
        pure
        returns (uint256 k)
    {
        k = run.n;
        if (k >= accounts.length || k >= 3) revert MissingWitness(k);
        IGhostPlaneTypes.AccountWitness calldata w = accounts[k];
        if (w.slot != slot) revert WrongWitnessSlot(k, w.slot, slot);
        Acct memory a = run.accts[k];
        a.slot = slot;
        a.addr = w.addr;
        a.nonce = w.nonce;
        a.bal = w.balances;
        if (slot < count) {
            a.oldLeaf = GhostPlaneHashes.accountLeaf(w.addr, w.nonce, a.bal);
        } else {
            if (w.addr != address(0) || w.nonce != 0) revert BadWitness(k);
            for (uint256 i = 0; i < 8; ++i) {
                if (a.bal[i] != 0) revert BadWitness(k);
            }
        }
        run.n = k + 1;
    }

    /// @dev Verifies the witnesses read and returns the state root after writing their new leaves.
    function _authenticate(
        Ctx memory ctx,
        bytes32 preRoot,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run,
        bool invalid
    ) private pure returns (bytes32 root) {
        root = preRoot;
        bool sequential = true;
        for (uint256 k = 0; k < run.n; ++k) {
            Acct memory a = run.accts[k];
            bytes32[] calldata sib = accounts[k].siblings;
            if (sib.length != ctx.depth) revert BadWitness(k);
            bytes32 leaf = GhostPlaneHashes.accountLeaf(a.addr, a.nonce, a.bal);
            // An account the op leaves unchanged (an invalid op) costs one pass, a changed one
            // both roots in the same pass.
            (bytes32 old, bytes32 updated) = leaf == a.oldLeaf
                ? (GhostPlaneMerkle.rootFromCalldata(leaf, a.slot, sib), bytes32(0))
                : GhostPlaneMerkle.rootsFromCalldata(a.oldLeaf, leaf, a.slot, sib);
            if (leaf == a.oldLeaf) updated = old;
            if (sequential && old == root) {
                root = updated;
            } else if (invalid && old == preRoot) {
                sequential = false;
            } else {
                revert BadWitness(k);
            }
        }
    }

    // ---------------------------------------------------------------- decoding and signatures

    function _decode(bytes calldata rec) private pure returns (Op memory op) {
        uint256 b0 = _u(rec, 0, 1);
        op.kind = b0 & 0x0f;
        op.v = b0 >> 7;
        op.token = _u(rec, 1, 1);
        op.fromSlot = _u(rec, 2, 3);
        if (op.kind == 1 || op.kind == 4) {
            op.toSlot = op.fromSlot;
            op.index = uint64(_u(rec, 5, 8));
            op.l1Sender = address(uint160(_u(rec, 13, 20)));
            op.to = address(uint160(_u(rec, 33, 20)));
            op.value = _u(rec, 53, 16);
        } else if (op.kind == 2) {
            op.toSlot = _u(rec, 5, 3);
            op.to = address(uint160(_u(rec, 8, 20)));
            op.value = _u(rec, 28, 16);
            op.gasLimit = _u(rec, 44, 8);
            op.gasPrice = _u(rec, 52, 8);
            op.r = bytes32(_u(rec, 60, 32));
            op.s = bytes32(_u(rec, 92, 32));
        } else if (op.kind == 3) {
            op.to = address(uint160(_u(rec, 5, 20)));
            op.value = _u(rec, 25, 16);
            op.r = bytes32(_u(rec, 41, 32));
            op.s = bytes32(_u(rec, 73, 32));
        }
    }

    /// @dev Big-endian unsigned integer of `len` (1..32) bytes at `off` of the record.
    function _u(bytes calldata rec, uint256 off, uint256 len) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, len)), calldataload(add(rec.offset, off)))
        }
    }

    /// @dev keccak256(0x475001 || to || value u128 || token u32 || gas_limit || gas_price || nonce || 0x0000).
    function _transferDigest(Op memory op, uint64 nonce) private pure returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                bytes3(0x475001),
                op.to,
                uint128(op.value),
                uint32(op.token),
                uint64(op.gasLimit),
                uint64(op.gasPrice),
                nonce,
                bytes2(0)
            )
        );
    }

    /// @dev keccak256(0x475701 || l1_recipient || token u32 || amount u128 || nonce).
    function _withdrawalDigest(Op memory op, uint64 nonce) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes3(0x475701), op.to, uint32(op.token), uint128(op.value), nonce));
    }

    /// @dev ecrecover with v = 27 + op.v; low-s only; zero when it does not recover.
    function _recover(bytes32 digest, Op memory op) private pure returns (address) {
        if (uint256(op.s) > HALF_N) return address(0);
        return ecrecover(digest, uint8(27 + op.v), op.r, op.s);
    }
}
