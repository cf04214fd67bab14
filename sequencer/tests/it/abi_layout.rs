//! The Rust `#[repr(C)]` mirrors against `ghostplane_abi_layout_json()`: any drift in a size,
//! alignment, field offset or field size, a missing field, or an error code value fails here.

use ghostbridge_sequencer::ffi::{self, ErrorCode};
use serde_json::Value;
use std::{
    collections::BTreeMap,
    mem::{align_of, offset_of, size_of},
};

struct RustLayout {
    size: usize,
    align: usize,
    /// name -> (offset, size)
    fields: BTreeMap<&'static str, (usize, usize)>,
}

macro_rules! layout {
    ($t:ty { $($f:ident : $ft:ty),* $(,)? }) => {{
        let mut fields = BTreeMap::new();
        $( fields.insert(stringify!($f), (offset_of!($t, $f), size_of::<$ft>())); )*
        RustLayout { size: size_of::<$t>(), align: align_of::<$t>(), fields }
    }};
}

fn rust_layouts() -> BTreeMap<&'static str, RustLayout> {
    use ffi::*;
    let mut m = BTreeMap::new();
    m.insert(
        "FFIResult",
        layout!(FfiResult {
            success: u8,
            _pad0: [u8; 3],
            error_code: u32,
            data_len: u32,
            _pad1: u32,
            data: [u8; 32],
            error_message: [u8; 112]
        }),
    );
    m.insert(
        "Config",
        layout!(FfiConfig {
            accounts_depth: u32,
            batch_transactions_max: u32,
            batch_withdrawals_max: u32,
            _reserved: u32,
            base_fee_lo: u64,
            base_fee_hi: u64,
            fee_collector: [u8; 20]
        }),
    );
    m.insert("Transaction", layout!(FfiTransaction { hash: [u8; 32], from: [u8; 20], to: [u8; 20], value_lo: u64, value_hi: u64, token: u32, _pad: u32, gas_limit: u64, gas_price: u64, nonce: u64, data_ptr: *const u8, data_len: u64 }));
    m.insert(
        "Withdrawal",
        layout!(FfiWithdrawal {
            from: [u8; 20],
            l1_recipient: [u8; 20],
            token: u32,
            _pad: u32,
            amount_lo: u64,
            amount_hi: u64,
            nonce: u64
        }),
    );
    m.insert(
        "BatchHeader",
        layout!(FfiBatchHeader {
            batch_number: u64,
            transaction_count: u32,
            withdrawal_count: u32,
            account_count: u64,
            state_root: [u8; 32],
            transactions_root: [u8; 32],
            withdrawals_root: [u8; 32],
            deposit_cursor: u64,
            op_count: u32,
            _pad2: u32
        }),
    );
    m.insert(
        "Step",
        layout!(FfiStep {
            state_root: [u8; 32],
            withdrawals_root: [u8; 32],
            account_count: u64,
            deposit_cursor: u64,
            withdrawal_count: u32,
            kind: u32,
            commitment: [u8; 32]
        }),
    );
    m.insert(
        "AccountInfo",
        layout!(FfiAccountInfo {
            exists: u8,
            _pad: [u8; 7],
            slot: u64,
            nonce: u64,
            balances: [FfiU128; 8]
        }),
    );
    m.insert(
        "MerkleProof",
        layout!(FfiMerkleProof {
            leaf_index: u64,
            depth: u32,
            _pad: u32,
            leaf: [u8; 32],
            root: [u8; 32],
            siblings: [[u8; 32]; 32]
        }),
    );
    m.insert("U128", layout!(FfiU128 { lo: u64, hi: u64 }));
    m
}

fn zig_layout() -> Value {
    serde_json::from_str(ffi::abi_layout_json()).expect("layout JSON parses")
}

#[test]
fn struct_layouts_match_zig() {
    let zig = zig_layout();
    let structs = zig["structs"].as_object().expect("structs object");
    let rust = rust_layouts();
    assert_eq!(
        structs.keys().map(String::as_str).collect::<Vec<_>>().len(),
        rust.len(),
        "struct sets differ: zig {:?}",
        structs.keys().collect::<Vec<_>>()
    );
    for (name, z) in structs {
        let r = rust
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no Rust mirror of {name}"));
        assert_eq!(z["size"].as_u64().unwrap() as usize, r.size, "{name} size");
        assert_eq!(
            z["align"].as_u64().unwrap() as usize,
            r.align,
            "{name} align"
        );
        let fields = z["fields"].as_array().unwrap();
        assert_eq!(fields.len(), r.fields.len(), "{name} field count");
        for f in fields {
            let fname = f["name"].as_str().unwrap();
            let (off, size) = r
                .fields
                .get(fname)
                .copied()
                .unwrap_or_else(|| panic!("{name}.{fname} missing in Rust"));
            assert_eq!(
                f["offset"].as_u64().unwrap() as usize,
                off,
                "{name}.{fname} offset"
            );
            assert_eq!(
                f["size"].as_u64().unwrap() as usize,
                size,
                "{name}.{fname} size"
            );
        }
    }
}

#[test]
fn error_codes_match_zig() {
    let zig = zig_layout();
    let codes = zig["error_codes"].as_object().expect("error_codes object");
    assert_eq!(codes.len(), ErrorCode::ALL.len(), "error code count");
    for code in ErrorCode::ALL {
        let v = codes
            .get(code.name())
            .unwrap_or_else(|| panic!("zig has no error code {}", code.name()));
        assert_eq!(v.as_u64().unwrap(), code as u64, "value of {}", code.name());
        assert_eq!(ErrorCode::from_u32(code as u32), Some(code));
    }
}

#[test]
fn abi_version_is_three() {
    // v3 changed no layout: it added the register op kind (Step.kind 5).
    assert_eq!(ffi::version(), 3);
    assert_eq!(zig_layout()["abi_version"].as_u64(), Some(3));
}

/// The ABI v2 layouts SPEC.md fixes (sizes and the new offsets), independently of the JSON.
#[test]
fn abi_v2_layouts_are_the_spec_ones() {
    use ffi::{FfiBatchHeader, FfiStep};
    assert_eq!(size_of::<FfiBatchHeader>(), 136);
    assert_eq!(offset_of!(FfiBatchHeader, deposit_cursor), 120);
    assert_eq!(offset_of!(FfiBatchHeader, op_count), 128);
    assert_eq!(offset_of!(FfiBatchHeader, _pad2), 132);
    assert_eq!((size_of::<FfiStep>(), align_of::<FfiStep>()), (120, 8));
    assert_eq!(offset_of!(FfiStep, account_count), 64);
    assert_eq!(offset_of!(FfiStep, deposit_cursor), 72);
    assert_eq!(offset_of!(FfiStep, withdrawal_count), 80);
    assert_eq!(offset_of!(FfiStep, kind), 84);
    assert_eq!(offset_of!(FfiStep, commitment), 88);
    assert_eq!(ErrorCode::BadDepositIndex as u32, 18);
    assert_eq!(ErrorCode::StepNotFound as u32, 19);
}
