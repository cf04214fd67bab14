//! The signed L2 transaction format (no EIP-155, no RLP): a fixed big-endian encoding of the
//! fields, signed with a recoverable secp256k1 signature over its Keccak-256.
//!
//! ```text
//! payload  = 0x47 0x50 0x01            "GP", format version 1
//!            || to (20) || value (u128 BE, 16) || token (u32 BE, 4)
//!            || gas_limit (u64 BE, 8) || gas_price (u64 BE, 8) || nonce (u64 BE, 8)
//!            || data_len (u16 BE, 2) || data (data_len <= 1024)
//! signing hash = keccak256(payload)
//! raw tx       = payload || r (32) || s (32, low-s) || v (1: 0 or 1, the recovery id)
//! tx hash      = keccak256(raw tx)     (the engine's transactions-root leaf)
//! sender       = address of the public key recovered from (signing hash, r, s, v)
//! ```

// Offsets below are sums of fixed field widths and a data length checked <= 1024 first.
#![allow(clippy::arithmetic_side_effects)]

use crate::engine::Transaction;
use crate::{TOKEN_COUNT, TX_DATA_MAX};
use alloy_primitives::{keccak256, Address, B256};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

/// The payload prefix: `"GP"` and the format version.
pub const MAGIC: [u8; 3] = [0x47, 0x50, 0x01];
/// Payload bytes before `data`.
pub const HEADER_LEN: usize = 3 + 20 + 16 + 4 + 8 + 8 + 8 + 2;
/// Signature bytes after the payload.
pub const SIGNATURE_LEN: usize = 65;
/// Longest raw transaction.
pub const RAW_LEN_MAX: usize = HEADER_LEN + TX_DATA_MAX + SIGNATURE_LEN;

/// Why a raw transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// Shorter than a header and signature.
    #[error("raw transaction of {len} bytes is shorter than {min}", min = HEADER_LEN + SIGNATURE_LEN)]
    TooShort {
        /// Offered length.
        len: usize,
    },
    /// Not format version 1.
    #[error("bad magic {found:02x?}, expected {MAGIC:02x?}")]
    BadMagic {
        /// Found prefix.
        found: [u8; 3],
    },
    /// `data_len` above the maximum.
    #[error("data length {len} exceeds {TX_DATA_MAX}")]
    DataTooLong {
        /// Declared length.
        len: usize,
    },
    /// Total length disagrees with `data_len`.
    #[error("raw transaction is {len} bytes but its data length implies {expected}")]
    LengthMismatch {
        /// Offered length.
        len: usize,
        /// Length implied by the header.
        expected: usize,
    },
    /// Token id >= 8.
    #[error("token id {token} is not below {TOKEN_COUNT}")]
    UnknownToken {
        /// Token id.
        token: u32,
    },
    /// Recovery id not 0 or 1.
    #[error("recovery id {v} is not 0 or 1")]
    BadRecoveryId {
        /// Offered `v`.
        v: u8,
    },
    /// `r`/`s` not a valid (low-s) signature, or no key recovers.
    #[error("invalid signature: {reason}")]
    BadSignature {
        /// What k256 said.
        reason: String,
    },
}

/// The fields of an unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedTx {
    /// Recipient.
    pub to: Address,
    /// Amount.
    pub value: u128,
    /// Token id.
    pub token: u32,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas price.
    pub gas_price: u64,
    /// Sender nonce.
    pub nonce: u64,
    /// Call data.
    pub data: Vec<u8>,
}

impl UnsignedTx {
    /// The payload encoding (see module docs). Data longer than the maximum is refused.
    pub fn encode(&self) -> Result<Vec<u8>, TxError> {
        let len = u16::try_from(self.data.len())
            .ok()
            .filter(|&l| l as usize <= TX_DATA_MAX)
            .ok_or(TxError::DataTooLong {
                len: self.data.len(),
            })?;
        let mut out = Vec::with_capacity(HEADER_LEN + self.data.len() + SIGNATURE_LEN);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(self.to.as_slice());
        out.extend_from_slice(&self.value.to_be_bytes());
        out.extend_from_slice(&self.token.to_be_bytes());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        out.extend_from_slice(&self.gas_price.to_be_bytes());
        out.extend_from_slice(&self.nonce.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.data);
        Ok(out)
    }

    /// Signs with `key`, returning the raw transaction bytes.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, TxError> {
        let mut raw = self.encode()?;
        let hash = keccak256(&raw);
        let (sig, recid) =
            key.sign_prehash_recoverable(hash.as_slice())
                .map_err(|e| TxError::BadSignature {
                    reason: e.to_string(),
                })?;
        raw.extend_from_slice(&sig.to_bytes());
        raw.push(recid.to_byte());
        Ok(raw)
    }
}

/// A decoded (not yet recovered) raw transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedTx {
    /// The fields.
    pub tx: UnsignedTx,
    /// keccak256 of the payload.
    pub signing_hash: B256,
    /// keccak256 of the raw bytes.
    pub hash: B256,
    /// `r || s`.
    pub signature: [u8; 64],
    /// Recovery id.
    pub v: u8,
}

/// Reads a big-endian integer field; lengths are fixed by [`HEADER_LEN`].
fn be<const N: usize>(raw: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&raw[at..at + N]);
    b
}

/// Decodes raw bytes (structure only: the signature is checked by [`DecodedTx::recover`]).
pub fn decode(raw: &[u8]) -> Result<DecodedTx, TxError> {
    if raw.len() < HEADER_LEN + SIGNATURE_LEN {
        return Err(TxError::TooShort { len: raw.len() });
    }
    let magic: [u8; 3] = be(raw, 0);
    if magic != MAGIC {
        return Err(TxError::BadMagic { found: magic });
    }
    let data_len = u16::from_be_bytes(be(raw, HEADER_LEN - 2)) as usize;
    if data_len > TX_DATA_MAX {
        return Err(TxError::DataTooLong { len: data_len });
    }
    let expected = HEADER_LEN + data_len + SIGNATURE_LEN;
    if raw.len() != expected {
        return Err(TxError::LengthMismatch {
            len: raw.len(),
            expected,
        });
    }
    let token = u32::from_be_bytes(be(raw, 39));
    if token as usize >= TOKEN_COUNT {
        return Err(TxError::UnknownToken { token });
    }
    let payload_end = HEADER_LEN + data_len;
    let v = raw[expected - 1];
    if v > 1 {
        return Err(TxError::BadRecoveryId { v });
    }
    let tx = UnsignedTx {
        to: Address::from(be::<20>(raw, 3)),
        value: u128::from_be_bytes(be(raw, 23)),
        token,
        gas_limit: u64::from_be_bytes(be(raw, 43)),
        gas_price: u64::from_be_bytes(be(raw, 51)),
        nonce: u64::from_be_bytes(be(raw, 59)),
        data: raw[HEADER_LEN..payload_end].to_vec(),
    };
    Ok(DecodedTx {
        tx,
        signing_hash: keccak256(&raw[..payload_end]),
        hash: keccak256(raw),
        signature: be(raw, payload_end),
        v,
    })
}

impl DecodedTx {
    /// Recovers the sender (the expensive step, run in parallel by the sequencer) with
    /// libsecp256k1 (about 4x faster than the pure-Rust `k256`, which [`Self::recover_k256`]
    /// keeps as a cross-check). `r`/`s` are range-checked and high `s` refused first.
    pub fn recover(&self) -> Result<Address, TxError> {
        self.check_low_s()?;
        let recid = secp256k1::ecdsa::RecoveryId::try_from(i32::from(self.v))
            .map_err(|_| TxError::BadRecoveryId { v: self.v })?;
        let sig = secp256k1::ecdsa::RecoverableSignature::from_compact(&self.signature, recid)
            .map_err(|e| TxError::BadSignature {
                reason: e.to_string(),
            })?;
        let msg = secp256k1::Message::from_digest(self.signing_hash.0);
        let key =
            secp256k1::SECP256K1
                .recover_ecdsa(msg, &sig)
                .map_err(|e| TxError::BadSignature {
                    reason: e.to_string(),
                })?;
        let point = key.serialize_uncompressed();
        Ok(Address::from_slice(&keccak256(&point[1..])[12..]))
    }

    /// [`Self::recover`] with the pure-Rust `k256` (tests check both agree).
    pub fn recover_k256(&self) -> Result<Address, TxError> {
        self.check_low_s()?;
        let sig = Signature::from_slice(&self.signature).map_err(|e| TxError::BadSignature {
            reason: e.to_string(),
        })?;
        let recid = RecoveryId::from_byte(self.v).ok_or(TxError::BadRecoveryId { v: self.v })?;
        let key = VerifyingKey::recover_from_prehash(self.signing_hash.as_slice(), &sig, recid)
            .map_err(|e| TxError::BadSignature {
                reason: e.to_string(),
            })?;
        Ok(address_of(&key))
    }

    fn check_low_s(&self) -> Result<(), TxError> {
        let sig = Signature::from_slice(&self.signature).map_err(|e| TxError::BadSignature {
            reason: e.to_string(),
        })?;
        if sig.normalize_s().is_some() {
            return Err(TxError::BadSignature {
                reason: "high s".into(),
            });
        }
        Ok(())
    }

    /// The engine transaction once the sender is known.
    pub fn into_engine_tx(self, from: Address) -> Transaction {
        Transaction {
            hash: self.hash,
            from,
            to: self.tx.to,
            value: self.tx.value,
            token: self.tx.token,
            gas_limit: self.tx.gas_limit,
            gas_price: self.tx.gas_price,
            nonce: self.tx.nonce,
            data: self.tx.data,
        }
    }
}

/// Ethereum address of a public key: last 20 bytes of keccak256 of the uncompressed point.
pub fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    Address::from_slice(&hash[12..])
}

/// Deterministic test key number `i` (never zero).
pub fn test_key(i: u64) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&i.wrapping_add(1).to_be_bytes());
    bytes[31] = 1;
    SigningKey::from_bytes(&bytes.into()).expect("non-zero scalar below the order")
}

/// Recovers the signer of `hash` from `r || s` and the recovery id `v` (0 or 1) with
/// libsecp256k1, refusing high `s` first (the rule [`DecodedTx::recover`] applies to transfers;
/// the same rule as the settlement contracts' `ecrecover` use).
pub fn recover_signer(hash: &B256, signature: &[u8; 64], v: u8) -> Result<Address, TxError> {
    let sig = Signature::from_slice(signature).map_err(|e| TxError::BadSignature {
        reason: e.to_string(),
    })?;
    if sig.normalize_s().is_some() {
        return Err(TxError::BadSignature {
            reason: "high s".into(),
        });
    }
    let recid = secp256k1::ecdsa::RecoveryId::try_from(i32::from(v))
        .map_err(|_| TxError::BadRecoveryId { v })?;
    let sig =
        secp256k1::ecdsa::RecoverableSignature::from_compact(signature, recid).map_err(|e| {
            TxError::BadSignature {
                reason: e.to_string(),
            }
        })?;
    let msg = secp256k1::Message::from_digest(hash.0);
    let key = secp256k1::SECP256K1
        .recover_ecdsa(msg, &sig)
        .map_err(|e| TxError::BadSignature {
            reason: e.to_string(),
        })?;
    let point = key.serialize_uncompressed();
    Ok(Address::from_slice(&keccak256(&point[1..])[12..]))
}

/// Signs a 32-byte hash with `key`: `(r || s, v)` with low `s` and `v` the recovery id (0 or 1).
pub fn sign_hash(key: &SigningKey, hash: &B256) -> Result<([u8; 64], u8), TxError> {
    let (sig, recid) =
        key.sign_prehash_recoverable(hash.as_slice())
            .map_err(|e| TxError::BadSignature {
                reason: e.to_string(),
            })?;
    let mut rs = [0u8; 64];
    rs.copy_from_slice(&sig.to_bytes());
    Ok((rs, recid.to_byte()))
}

/// Payload prefix of a signed withdrawal: `"GW"` and the format version.
pub const WITHDRAWAL_MAGIC: [u8; 3] = [0x47, 0x57, 0x01];
/// Withdrawal payload bytes: magic, l1_recipient (20), token (u32), amount (u128), nonce (u64).
pub const WITHDRAWAL_PAYLOAD_LEN: usize = 3 + 20 + 4 + 16 + 8;
/// Raw signed withdrawal bytes: payload || r || s || v.
pub const WITHDRAWAL_RAW_LEN: usize = WITHDRAWAL_PAYLOAD_LEN + SIGNATURE_LEN;

/// The fields of an unsigned L2 → L1 withdrawal (zig/SPEC.md, "Op records"):
///
/// ```text
/// payload      = 0x47 0x57 0x01 ("GW", version 1) || l1_recipient (20) || token (u32 BE)
///                || amount (u128 BE) || nonce (u64 BE)                      (51 bytes)
/// signing hash = keccak256(payload)
/// raw          = payload || r (32) || s (32, low-s) || v (1: 0 or 1)       (116 bytes)
/// ```
/// The withdrawing account (`from`) is the recovered signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsignedWithdrawal {
    /// L1 recipient of the funds.
    pub l1_recipient: Address,
    /// Token id.
    pub token: u32,
    /// Amount.
    pub amount: u128,
    /// The withdrawing account's nonce.
    pub nonce: u64,
}

impl UnsignedWithdrawal {
    /// The 51-byte payload.
    pub fn encode(&self) -> [u8; WITHDRAWAL_PAYLOAD_LEN] {
        let mut out = [0u8; WITHDRAWAL_PAYLOAD_LEN];
        out[..3].copy_from_slice(&WITHDRAWAL_MAGIC);
        out[3..23].copy_from_slice(self.l1_recipient.as_slice());
        out[23..27].copy_from_slice(&self.token.to_be_bytes());
        out[27..43].copy_from_slice(&self.amount.to_be_bytes());
        out[43..51].copy_from_slice(&self.nonce.to_be_bytes());
        out
    }

    /// keccak256 of the payload.
    pub fn signing_hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Signs with `key`, returning the 116 raw bytes.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, TxError> {
        let (rs, v) = sign_hash(key, &self.signing_hash())?;
        let mut raw = Vec::with_capacity(WITHDRAWAL_RAW_LEN);
        raw.extend_from_slice(&self.encode());
        raw.extend_from_slice(&rs);
        raw.push(v);
        Ok(raw)
    }
}

/// A decoded (not yet recovered) raw withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedWithdrawal {
    /// The fields.
    pub withdrawal: UnsignedWithdrawal,
    /// keccak256 of the payload.
    pub signing_hash: B256,
    /// `r || s`.
    pub signature: [u8; 64],
    /// Recovery id (0 or 1).
    pub v: u8,
}

/// Decodes a raw signed withdrawal (structure only; [`SignedWithdrawal::recover`] checks the
/// signature).
pub fn decode_withdrawal(raw: &[u8]) -> Result<SignedWithdrawal, TxError> {
    if raw.len() != WITHDRAWAL_RAW_LEN {
        return Err(TxError::LengthMismatch {
            len: raw.len(),
            expected: WITHDRAWAL_RAW_LEN,
        });
    }
    let magic: [u8; 3] = be(raw, 0);
    if magic != WITHDRAWAL_MAGIC {
        return Err(TxError::BadMagic { found: magic });
    }
    let token = u32::from_be_bytes(be(raw, 23));
    if token as usize >= TOKEN_COUNT {
        return Err(TxError::UnknownToken { token });
    }
    let v = raw[WITHDRAWAL_RAW_LEN - 1];
    if v > 1 {
        return Err(TxError::BadRecoveryId { v });
    }
    Ok(SignedWithdrawal {
        withdrawal: UnsignedWithdrawal {
            l1_recipient: Address::from(be::<20>(raw, 3)),
            token,
            amount: u128::from_be_bytes(be(raw, 27)),
            nonce: u64::from_be_bytes(be(raw, 43)),
        },
        signing_hash: keccak256(&raw[..WITHDRAWAL_PAYLOAD_LEN]),
        signature: be(raw, WITHDRAWAL_PAYLOAD_LEN),
        v,
    })
}

impl SignedWithdrawal {
    /// The withdrawing account (low-s only).
    pub fn recover(&self) -> Result<Address, TxError> {
        recover_signer(&self.signing_hash, &self.signature, self.v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> UnsignedTx {
        UnsignedTx {
            to: Address::repeat_byte(2),
            value: 5,
            token: 0,
            gas_limit: 21_000,
            gas_price: 1,
            nonce: 3,
            data: vec![1, 2, 3],
        }
    }

    #[test]
    fn sign_decode_recover_roundtrip() {
        let key = test_key(1);
        let raw = sample().sign(&key).expect("sign");
        assert_eq!(raw.len(), HEADER_LEN + 3 + SIGNATURE_LEN);
        let d = decode(&raw).expect("decode");
        assert_eq!(d.tx, sample());
        assert_eq!(
            d.recover().expect("recover"),
            address_of(key.verifying_key())
        );
        assert_eq!(
            d.recover_k256().expect("recover"),
            address_of(key.verifying_key())
        );
        assert_eq!(d.hash, keccak256(&raw));
    }

    #[test]
    fn tampering_changes_sender() {
        let key = test_key(1);
        let mut raw = sample().sign(&key).expect("sign");
        raw[30] ^= 1;
        let d = decode(&raw).expect("decode");
        assert_ne!(d.recover().ok(), Some(address_of(key.verifying_key())));
        assert_eq!(d.recover().ok(), d.recover_k256().ok());
    }

    #[test]
    fn withdrawal_sign_decode_recover() {
        let key = test_key(4);
        let w = UnsignedWithdrawal {
            l1_recipient: Address::repeat_byte(0x11),
            token: 3,
            amount: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
            nonce: 0x1122_3344_5566_7788,
        };
        let payload = w.encode();
        assert_eq!(payload.len(), 51);
        assert_eq!(&payload[..3], &[0x47, 0x57, 0x01]);
        assert_eq!(&payload[3..23], &[0x11; 20]);
        assert_eq!(&payload[23..27], &[0, 0, 0, 3]);
        assert_eq!(payload[27], 0x01);
        assert_eq!(payload[42], 0x10);
        assert_eq!(&payload[43..51], &0x1122_3344_5566_7788u64.to_be_bytes());
        let raw = w.sign(&key).expect("sign");
        assert_eq!(raw.len(), WITHDRAWAL_RAW_LEN);
        let d = decode_withdrawal(&raw).expect("decode");
        assert_eq!(d.withdrawal, w);
        assert_eq!(d.signing_hash, keccak256(payload));
        assert_eq!(
            d.recover().expect("recover"),
            address_of(key.verifying_key())
        );
        let mut bad = raw.clone();
        bad[30] ^= 1;
        assert_ne!(
            decode_withdrawal(&bad).expect("decode").recover().ok(),
            Some(address_of(key.verifying_key()))
        );
        bad = raw.clone();
        bad[115] = 2;
        assert_eq!(
            decode_withdrawal(&bad),
            Err(TxError::BadRecoveryId { v: 2 })
        );
        bad = raw.clone();
        bad[1] = 0x50;
        assert!(matches!(
            decode_withdrawal(&bad),
            Err(TxError::BadMagic { .. })
        ));
        assert!(matches!(
            decode_withdrawal(&raw[..115]),
            Err(TxError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn recover_signer_matches_transfer_recovery_and_refuses_high_s() {
        let key = test_key(2);
        let mut tx = sample();
        tx.data.clear();
        let raw = tx.sign(&key).expect("sign");
        let d = decode(&raw).expect("decode");
        assert_eq!(
            recover_signer(&d.signing_hash, &d.signature, d.v),
            d.recover()
        );
        // s -> n - s (high s) is refused.
        let sig = Signature::from_slice(&d.signature).expect("sig");
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).expect("high s");
        let mut rs = [0u8; 64];
        rs.copy_from_slice(&high.to_bytes());
        assert!(matches!(
            recover_signer(&d.signing_hash, &rs, d.v ^ 1),
            Err(TxError::BadSignature { .. })
        ));
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(&[0; 10]), Err(TxError::TooShort { len: 10 }));
        let mut raw = sample().sign(&test_key(1)).expect("sign");
        let n = raw.len();
        raw[n - 1] = 7;
        assert_eq!(decode(&raw), Err(TxError::BadRecoveryId { v: 7 }));
        let mut long = sample();
        long.data = vec![0; TX_DATA_MAX + 1];
        assert_eq!(
            long.encode(),
            Err(TxError::DataTooLong {
                len: TX_DATA_MAX + 1
            })
        );
        let mut bad_token = sample();
        bad_token.token = 8;
        let raw = bad_token.sign(&test_key(1)).expect("sign");
        assert_eq!(decode(&raw), Err(TxError::UnknownToken { token: 8 }));
        let raw = sample().sign(&test_key(1)).expect("sign");
        assert!(matches!(
            decode(&raw[..raw.len() - 1]),
            Err(TxError::LengthMismatch { .. })
        ));
    }
}
