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
/// @notice One-step re-execution of a GhostPlane op record (zig/SPEC.md "Op records", "Fraud";
///         records v3: a 93-byte op || the 31-byte c_i) on account witnesses. `isFraud` returns
///         true when the op is invalid or its post-step commitment differs from the record's; it
///         reverts (bad witness) when a witness does not prove what it claims, so a wrong witness
///         can never make an honest op look fraudulent.
/// @dev Witnesses are read lazily in the order the op touches distinct accounts (sender or deposit
///      recipient or registered slot, recipient, fee collector at slot 0, each slot once; a refund
///      touches none; a withdrawal's recipient is only read, for its address); the execution stops
///      at its first failing check and only the witnesses read so far are needed. A valid op's
///      witnesses must verify sequentially (witness k against the root after the earlier witnesses'
///      post-op leaves are written); for an invalid op, a witness may also verify against the
///      pre-state root (both are sound: they prove the same pre-state leaf).
library GhostPlaneExec {
    uint256 internal constant RECORD_LENGTH = 124;
    /// @notice Bytes of the op before its 31-byte commitment.
    uint256 internal constant OP_LENGTH = 93;
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

    /// @notice Decoded op fields (kinds share the struct). `to` is the deposit recipient or the
    ///         registered address as decoded, and for transfers and withdrawals the address read
    ///         from the recipient's witness (it is not in the record).
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
    /// @notice A record that is not 124 bytes.
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
    ///         `existing.slot` (reverts if the witness does not verify). Only deposits and register
    ///         ops create accounts.
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
        if (op.kind != 1 && op.kind != 5) return false;
        return op.toSlot == pre.accountCount && op.to == existing.addr;
    }

    /// @notice The record's 31-byte post-step commitment c_i (bytes 93..123).
    function commitmentOf(bytes calldata rec) internal pure returns (bytes31 c) {
        assembly ("memory-safe") {
            c := and(calldataload(add(rec.offset, OP_LENGTH)), not(0xff))
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
        Op memory op = _decode(rec);
        if (op.kind == 1 || op.kind == 4) {
            // v = 0; bytes 68..92 zero.
            if (op.v != 0 || _u(rec, 68, 25) != 0) return true;
            return op.kind == 1 ? _deposit(ctx, op, pre, accounts, run) : _refund(ctx, op, pre, accounts, run);
        }
        if (op.kind == 2) return _transfer(ctx, op, pre, accounts, run);
        if (op.kind == 3) {
            if (_u(rec, 87, 6) != 0) return true; // bytes 87..92 zero
            return _withdraw(ctx, op, pre, accounts, run);
        }
        if (op.kind == 5) {
            // Byte 0 is exactly the kind (token bits and v zero); bytes 24..92 zero.
            if (_u(rec, 0, 1) != 5 || _u(rec, 24, 32) != 0 || _u(rec, 56, 32) != 0 || _u(rec, 88, 5) != 0) {
                return true;
            }
            return _register(ctx, op, pre, accounts, run);
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

    /// @dev Register (kind 5): creates an empty account for `op.to` at `op.toSlot`, which must be
    ///      the pre-state's account count (an address the tree already holds elsewhere is shown by
    ///      `createsDuplicate`).
    function _register(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private pure returns (bool) {
        uint256 count = pre.accountCount;
        if (op.toSlot != count || op.toSlot >= (uint256(1) << ctx.depth)) return true;
        Acct memory a = run.accts[_load(accounts, run, op.toSlot, count)];
        a.addr = op.to;
        ++run.accountCount;
        return false;
    }

    /// @dev Transfers never create accounts: both slots must be below the pre-state's account
    ///      count. The recipient's address (`to`, signed) is its witness's; a self-transfer names
    ///      the sender's slot and has one witness.
    function _transfer(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private pure returns (bool) {
        if (op.fromSlot >= pre.accountCount || op.toSlot >= pre.accountCount) return true;
        (Acct memory sender, Acct memory rcpt) = _parties(accounts, run, op, pre.accountCount);
        if (!_signedBy(_transferDigest(op, sender.nonce), op, sender.addr)) return true;
        if (op.token >= 8 || op.gasLimit * op.gasPrice < ctx.baseFee) return true;
        if (!_debit(sender, op.token, op.value, ctx.baseFee)) return true;
        if (!_credit(rcpt, op.token, op.value)) return true;
        return !_payFee(ctx, accounts, run, sender, rcpt, op.toSlot);
    }

    /// @dev Withdrawals never create accounts: both slots must be below the pre-state's account
    ///      count. `l1_recipient` (signed) is the address of the recipient slot's witness, which is
    ///      only read (unless it is the fee collector, which is paid the fee).
    function _withdraw(
        Ctx memory ctx,
        Op memory op,
        IGhostPlaneTypes.StepState calldata pre,
        IGhostPlaneTypes.AccountWitness[] calldata accounts,
        Run memory run
    ) private pure returns (bool) {
        if (pre.withdrawalCount >= MAX_WITHDRAWALS || op.token >= 8 || op.value == 0) return true;
        // account_not_found
        if (op.fromSlot >= pre.accountCount || op.toSlot >= pre.accountCount) return true;
        (Acct memory sender, Acct memory rcpt) = _parties(accounts, run, op, pre.accountCount);
        if (!_signedBy(_withdrawalDigest(op, sender.nonce), op, sender.addr)) return true;
        if (!_debit(sender, op.token, op.value, ctx.baseFee)) return true;
        if (!_payFee(ctx, accounts, run, sender, rcpt, op.toSlot)) return true;
        run.appendWithdrawal = true;
        run.withdrawalLeaf = GhostPlaneHashes.withdrawalLeaf(
            ctx.batchNumber, pre.withdrawalCount, sender.addr, op.to, uint32(op.token), uint128(op.value)
        );
        return false;
    }

    /// @dev The sender's and the recipient's accounts (the same one when `toSlot == fromSlot`, given
    ///      once), read in that order; sets `op.to` to the recipient's address.
    function _parties(IGhostPlaneTypes.AccountWitness[] calldata accounts, Run memory run, Op memory op, uint256 count)
        private
        pure
        returns (Acct memory sender, Acct memory rcpt)
    {
        sender = run.accts[_load(accounts, run, op.fromSlot, count)];
        rcpt = op.toSlot == op.fromSlot ? sender : run.accts[_load(accounts, run, op.toSlot, count)];
        op.to = rcpt.addr;
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

    /// @dev Byte 0: bits 0..2 kind, bits 3..6 token (0..15: ids 8..15 are unknown tokens, fraud), bit 7 v. Deposit/refund: 1 to_slot u24,
    ///      4 index u64, 12 l1_sender, 32 recipient, 52 amount u128. Transfer: 1 from_slot u24,
    ///      4 to_slot u24, 7 value u112, 21 gas_limit u24, 24 gas_price u40, 29 r, 61 s. Withdrawal:
    ///      1 from_slot u24, 4 recipient_slot u24 (in `toSlot`), 7 amount u128, 23 r, 55 s.
    ///      Register: 1 slot u24 (in `toSlot`), 4 address (in `to`).
    function _decode(bytes calldata rec) private pure returns (Op memory op) {
        uint256 b0 = _u(rec, 0, 1);
        op.kind = b0 & 0x07;
        op.token = (b0 >> 3) & 0x0f;
        op.v = b0 >> 7;
        if (op.kind == 1 || op.kind == 4) {
            op.toSlot = _u(rec, 1, 3);
            op.index = uint64(_u(rec, 4, 8));
            op.l1Sender = address(uint160(_u(rec, 12, 20)));
            op.to = address(uint160(_u(rec, 32, 20)));
            op.value = _u(rec, 52, 16);
        } else if (op.kind == 2) {
            op.fromSlot = _u(rec, 1, 3);
            op.toSlot = _u(rec, 4, 3);
            op.value = _u(rec, 7, 14);
            op.gasLimit = _u(rec, 21, 3);
            op.gasPrice = _u(rec, 24, 5);
            op.r = bytes32(_u(rec, 29, 32));
            op.s = bytes32(_u(rec, 61, 32));
        } else if (op.kind == 3) {
            op.fromSlot = _u(rec, 1, 3);
            op.toSlot = _u(rec, 4, 3);
            op.value = _u(rec, 7, 16);
            op.r = bytes32(_u(rec, 23, 32));
            op.s = bytes32(_u(rec, 55, 32));
        } else if (op.kind == 5) {
            op.toSlot = _u(rec, 1, 3);
            op.to = address(uint160(_u(rec, 4, 20)));
        }
    }

    /// @dev Big-endian unsigned integer of `len` (1..32) bytes at `off` of the record.
    function _u(bytes calldata rec, uint256 off, uint256 len) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, len)), calldataload(add(rec.offset, off)))
        }
    }

    /// @dev keccak256(0x475001 || to || value u128 || token u32 || gas_limit u64 || gas_price u64 || nonce
    ///      || 0x0000): the record's u112 value, u24 gas_limit and u40 gas_price widened.
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

    /// @dev True when `digest` signed by (v, r, s) of `op` recovers `signer` (never address 0).
    function _signedBy(bytes32 digest, Op memory op, address signer) private pure returns (bool) {
        address recovered = _recover(digest, op);
        return recovered != address(0) && recovered == signer;
    }

    /// @dev ecrecover with v = 27 + op.v; low-s only; zero when it does not recover.
    function _recover(bytes32 digest, Op memory op) private pure returns (address) {
        if (uint256(op.s) > HALF_N) return address(0);
        return ecrecover(digest, uint8(27 + op.v), op.r, op.s);
    }
}
