// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GhostPlaneBase} from "../ghostplane/GhostPlaneBase.sol";
import {IGhostPlaneRollup} from "../../src/ghostplane/IGhostPlane.sol";

/// @notice Gas of GhostPlane's L1 hot paths in steady state (setUp already ran one of each, so
/// the counters, totals, tip and proposer slots are non-zero but cold), D = 24. Figures print with
/// `-vv` and land in snapshots/GhostPlaneGasTest.json; each target has a ceiling (issue: ERC20
/// deposit ≤ 60k, blob-mode submitBatch ≤ 70k, finalizeWithdrawal ≤ 100k, fraud proof ≤ 500k).
contract GhostPlaneGasTest is GhostPlaneBase {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant ALICE_PK = 0xA11CE;
    address internal alice;
    address internal bob = address(0xB0B0);
    address internal payee = address(0xCAFE);

    BatchRecord internal batch1;
    Withdrawal internal w0;
    Withdrawal internal w1;
    bytes32[] internal wLeaves1;

    function setUp() public {
        _deploy(24);
        alice = vm.addr(ALICE_PK);
        vm.warp(1_000_000);
        // Production shape: the proposer is the designated sequencer (its priority costs no SLOAD).
        vm.prank(admin);
        rollup.setSequencer(proposer);
        // Steady state: deposits exist (GCC and ETH), `payee` and `bob` are registered, batch 1
        // with two withdrawals to `payee` is final, and withdrawal 0 of it was paid (the claimed
        // word and payee balance are non-zero).
        uint64 i0 = _l1Deposit(l1User, alice, 0, 100 ether);
        _push(_opDeposit(i0, l1User, alice, 0, 100 ether).record);
        uint64 i1 = _l1Deposit(l1User, alice, 5, 1 ether);
        _push(_opDeposit(i1, l1User, alice, 5, 1 ether).record);
        _pushRegister(payee);
        _pushRegister(bob);
        Prepared memory p;
        Withdrawal memory w;
        (p, w) = _opWithdraw(ALICE_PK, payee, 0, 1 ether);
        w0 = w;
        _push(p.record);
        (p, w) = _opWithdraw(ALICE_PK, payee, 0, 2 ether);
        w1 = w;
        _push(p.record);
        wLeaves1 = mWLeaves;
        (BatchRecord memory b,) = _submit();
        batch1 = b;
        vm.warp(block.timestamp + WINDOW);
        _finalizeCall(w0);
        // The depositor keeps an unlimited allowance (as GasBenchmark's lock does) and a balance;
        // the portal holds the token already.
        gcc.mint(l1User, 1000 ether);
        vm.prank(l1User);
        gcc.approve(address(portal), type(uint256).max);
    }

    function _finalizeCall(Withdrawal memory w) internal {
        (bool ok,) = address(portal).call(_finalizeData(w));
        require(ok, "finalize");
    }

    function _finalizeData(Withdrawal memory w) internal view returns (bytes memory) {
        BatchRecord memory b = batch1;
        return abi.encodeCall(
            portal.finalizeWithdrawal,
            (
                w,
                _withdrawalSiblings16(wLeaves1, w.index),
                _headerHash(b.header),
                b.header.withdrawalsRoot,
                b.submittedAt,
                b.proposer
            )
        );
    }

    function test_gas_ghostplane_depositErc20() public {
        bytes memory data = abi.encodeCall(portal.deposit, (address(gcc), 1 ether, bob));
        vm.prank(l1User);
        uint256 used = _measure("ghostplane_deposit_erc20", address(portal), data);
        emit log_named_uint("GhostPlane deposit, ERC20", used);
        vm.assertLe(used, 60_000, "ERC20 deposit over 60k gas");
    }

    function test_gas_ghostplane_depositEth() public {
        vm.deal(l1User, 1 ether);
        vm.prank(l1User);
        vm.startSnapshotGas("ghostplane_deposit_eth");
        portal.depositETH{value: 1 ether}(bob);
        uint256 used = vm.stopSnapshotGas();
        vm.assertEq(address(portal).balance, 2 ether);
        emit log_named_uint("GhostPlane deposit, ETH", used);
        vm.assertLe(used, 60_000, "ETH deposit over 60k gas");
    }

    function test_gas_ghostplane_submitBatch_blob() public {
        // One deposit consumed, one left pending (the force-inclusion check reads its time).
        uint256 used = _submitBlobBatch("ghostplane_submit_batch_blob", true);
        emit log_named_uint("GhostPlane submitBatch, blob mode (1 blob)", used);
        vm.assertLe(used, 70_000, "blob submitBatch over 70k gas");
        // Regression ceiling (46,180 measured; 53,312 before the submit-gas work).
        vm.assertLe(used, 47_000, "blob submitBatch regressed over 47k gas");
    }

    function test_gas_ghostplane_submitBatch_blob_noPendingDeposit() public {
        // The common case: the batch consumes every deposit (cursor == the portal's count).
        uint256 used = _submitBlobBatch("ghostplane_submit_batch_blob_no_pending_deposit", false);
        emit log_named_uint("GhostPlane submitBatch, blob mode (1 blob), no deposit pending", used);
        vm.assertLe(used, 70_000, "blob submitBatch over 70k gas");
        // Regression ceiling (45,897 measured; 52,022 before the submit-gas work).
        vm.assertLe(used, 46_500, "blob submitBatch regressed over 46.5k gas");
    }

    /// @dev Batch 1 in blob mode (one blob) consuming one deposit, with a second deposit left
    ///      pending or not; returns the measured gas of submitBatch.
    function _submitBlobBatch(string memory name, bool depositLeftPending) internal returns (uint256) {
        uint64 i = _l1Deposit(l1User, bob, 0, 1 ether);
        if (depositLeftPending) _l1Deposit(l1User, bob, 0, 1 ether);
        _push(_opDeposit(i, l1User, bob, 0, 1 ether).record);
        bytes32[] memory hashes = new bytes32[](1);
        hashes[0] = _versionedHash(G1);
        vm.blobhashes(hashes);
        BatchHeader memory h = _header(1, keccak256(abi.encodePacked(hashes)));
        bytes memory data = abi.encodeCall(rollup.submitBatch, (h, bytes("")));
        vm.prank(proposer);
        return _measure(name, address(rollup), data);
    }

    function test_gas_ghostplane_submitBatch_calldata16() public {
        for (uint256 k = 0; k < 16; ++k) {
            uint64 i = _l1Deposit(l1User, bob, 0, 1 ether);
            _push(_opDeposit(i, l1User, bob, 0, 1 ether).record);
        }
        BatchHeader memory h = _calldataHeader();
        bytes memory data = abi.encodeCall(rollup.submitBatch, (h, mRecords));
        vm.prank(proposer);
        uint256 used = _measure("ghostplane_submit_batch_calldata_16_records", address(rollup), data);
        emit log_named_uint("GhostPlane submitBatch, calldata mode, 16 records", used);
    }

    function test_gas_ghostplane_finalizeWithdrawal() public {
        bytes memory data = _finalizeData(w1);
        uint256 used = _measure("ghostplane_finalize_withdrawal_erc20", address(portal), data);
        emit log_named_uint("GhostPlane finalizeWithdrawal, ERC20", used);
        vm.assertLe(used, 100_000, "finalizeWithdrawal over 100k gas");
        vm.assertEq(gcc.balanceOf(payee), 3 ether);
    }

    function test_gas_ghostplane_finalizeWithdrawal_firstOfBatch_freshPayee() public {
        // Worst case: a new bitmap word and a payee holding none of the token.
        // Batch 2: one withdrawal to a fresh payee (registered by the op before it).
        _pushRegister(address(0xF4E5));
        (Prepared memory p, Withdrawal memory w) = _opWithdraw(ALICE_PK, address(0xF4E5), 0, 1 ether);
        _push(p.record);
        bytes32[] memory leaves = mWLeaves;
        (BatchRecord memory b,) = _submit();
        vm.warp(block.timestamp + WINDOW);
        bytes memory data = abi.encodeCall(
            portal.finalizeWithdrawal,
            (
                w,
                _withdrawalSiblings16(leaves, w.index),
                _headerHash(b.header),
                b.header.withdrawalsRoot,
                b.submittedAt,
                b.proposer
            )
        );
        uint256 used = _measure("ghostplane_finalize_withdrawal_first_fresh_payee", address(portal), data);
        emit log_named_uint("GhostPlane finalizeWithdrawal, new bitmap word, fresh payee", used);
        vm.assertLe(used, 100_000, "first finalizeWithdrawal over 100k gas");
    }

    function test_gas_ghostplane_proveFraud_transfer_calldata_D24() public {
        // Batch 2: a transfer to a registered account whose post-step commitment is wrong: the
        // proof verifies all three witnesses sequentially at D = 24 and recomputes the root.
        Prepared memory p = _opTransfer(ALICE_PK, bob, 0, 1 ether);
        p.record[110] = bytes1(uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 0, p);
        uint256 used = _measure("ghostplane_prove_fraud_transfer_calldata_d24", address(rollup), data);
        emit log_named_uint("GhostPlane proveFraud, transfer, 3 witnesses, calldata mode, D=24", used);
        vm.assertLe(used, 500_000, "fraud proof over 500k gas");
        vm.assertEq(uint256(rollup.tip()), 1);
    }

    function test_gas_ghostplane_proveFraud_withdrawal_calldata_D24() public {
        (Prepared memory p,) = _opWithdraw(ALICE_PK, payee, 0, 1 ether);
        p.record[110] = bytes1(uint8(p.record[110]) ^ 1);
        _push(_opTransfer(ALICE_PK, bob, 0, 1 ether).record); // op 0, so op 1 needs a prev opening
        (p,) = _opWithdraw(ALICE_PK, payee, 0, 1 ether);
        p.record[110] = bytes1(uint8(p.record[110]) ^ 1);
        _push(p.record);
        (BatchRecord memory b, bytes memory records) = _submit();
        bytes memory data = _fraudCall(b, records, 1, p);
        uint256 used = _measure("ghostplane_prove_fraud_withdrawal_calldata_d24", address(rollup), data);
        emit log_named_uint("GhostPlane proveFraud, withdrawal (3 witnesses) + prev opening, calldata mode, D=24", used);
        vm.assertLe(used, 500_000, "fraud proof over 500k gas");
    }

    function test_gas_ghostplane_proveFraud_blob_fourOpenings() public {
        (BatchRecord memory b, bytes32[] memory hashes) = _submitOnesBatch(1);
        CommitmentOpening memory none;
        bytes memory data = abi.encodeCall(
            IGhostPlaneRollup.proveFraud,
            (b, _blobOpening(hashes, 0), none, _startOf(b.header), _accountsOf(0), new bytes32[](0))
        );
        uint256 used = _measure("ghostplane_prove_fraud_blob_4_openings", address(rollup), data);
        emit log_named_uint("GhostPlane proveFraud, blob mode, 4 KZG openings (invalid kind)", used);
        vm.assertLe(used, 500_000, "blob fraud proof over 500k gas");
    }

    function test_gas_ghostplane_proveFinalFraud_blob() public {
        (BatchRecord memory b, bytes32[] memory hashes) = _submitOnesBatch(1);
        CommitmentOpening memory last = CommitmentOpening(0, bytes31(uint248(1)), abi.encode(hashes, G1, INF));
        bytes memory data = abi.encodeCall(IGhostPlaneRollup.proveFinalFraud, (b, last));
        uint256 used = _measure("ghostplane_prove_final_fraud_blob", address(rollup), data);
        emit log_named_uint("GhostPlane proveFinalFraud, blob mode, 1 KZG opening", used);
        vm.assertLe(used, 500_000, "final fraud proof over 500k gas");
    }

    /// @dev Gas of one call encoded beforehand (see GasBenchmark._measure).
    function _measure(string memory name, address target, bytes memory data) internal returns (uint256 used) {
        vm.startSnapshotGas(name);
        (bool ok, bytes memory ret) = target.call(data);
        used = vm.stopSnapshotGas();
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}
