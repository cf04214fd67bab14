//! Encrypted keystore of a validator's two keys: PBKDF2-HMAC-SHA256 (600,000 iterations) and
//! AES-256-GCM from aws-lc-rs. The address and ML-DSA key hash are stored in clear for display
//! and bound to the ciphertext as associated data, so an edited header fails to decrypt.

use std::num::NonZeroU32;
use std::path::Path;

use alloy::primitives::{Address, Bytes, B256};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::pbkdf2;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::keys::ValidatorKey;

const ITERATIONS: u32 = 600_000;

/// The file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeystoreFile {
    /// Format version (1).
    pub version: u32,
    /// secp256k1 address.
    pub address: Address,
    /// keccak256 of the ML-DSA-65 public key.
    pub pq_key_hash: B256,
    /// `pbkdf2-hmac-sha256`.
    pub kdf: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// PBKDF2 salt.
    pub salt: Bytes,
    /// `aes-256-gcm`.
    pub cipher: String,
    /// GCM nonce.
    pub nonce: Bytes,
    /// secp256k1 key (32) || ML-DSA seed (32), sealed.
    pub ciphertext: Bytes,
}

/// Why a keystore could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeystoreError {
    /// IO.
    #[error("keystore {0}: {1}")]
    Io(String, std::io::Error),
    /// Not a keystore.
    #[error("keystore {0} is malformed: {1}")]
    Malformed(String, String),
    /// Wrong password or tampered file.
    #[error("keystore {0}: wrong password or the file was modified")]
    Decrypt(String),
    /// Crypto library failure.
    #[error("keystore crypto failure: {0}")]
    Crypto(String),
}

fn aad(address: &Address, pq: &B256) -> Vec<u8> {
    [address.as_slice(), pq.as_slice()].concat()
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> Result<LessSafeKey, KeystoreError> {
    let mut key = Zeroizing::new([0u8; 32]);
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| KeystoreError::Crypto("0 iterations".into()))?;
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password,
        key.as_mut(),
    );
    let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref())
        .map_err(|e| KeystoreError::Crypto(e.to_string()))?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals `key` under `password`.
pub fn encrypt(key: &ValidatorKey, password: &[u8]) -> Result<KeystoreFile, KeystoreError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    aws_lc_rs::rand::fill(&mut salt).map_err(|e| KeystoreError::Crypto(e.to_string()))?;
    aws_lc_rs::rand::fill(&mut nonce).map_err(|e| KeystoreError::Crypto(e.to_string()))?;
    let (address, pq_key_hash) = (key.address(), key.pq_key_hash());
    let mut buf =
        Zeroizing::new([key.secp_secret().as_slice(), key.mldsa_seed().as_slice()].concat());
    derive(password, &salt, ITERATIONS)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(&address, &pq_key_hash)),
            &mut *buf,
        )
        .map_err(|e| KeystoreError::Crypto(e.to_string()))?;
    Ok(KeystoreFile {
        version: 1,
        address,
        pq_key_hash,
        kdf: "pbkdf2-hmac-sha256".into(),
        iterations: ITERATIONS,
        salt: Bytes::copy_from_slice(&salt),
        cipher: "aes-256-gcm".into(),
        nonce: Bytes::copy_from_slice(&nonce),
        ciphertext: Bytes::copy_from_slice(&buf),
    })
}

/// Opens a sealed keystore; checks the keys match the header.
pub fn decrypt(
    file: &KeystoreFile,
    password: &[u8],
    name: &str,
) -> Result<ValidatorKey, KeystoreError> {
    let malformed = |m: &str| KeystoreError::Malformed(name.into(), m.into());
    if file.version != 1 || file.kdf != "pbkdf2-hmac-sha256" || file.cipher != "aes-256-gcm" {
        return Err(malformed("unsupported version, kdf or cipher"));
    }
    let nonce: [u8; 12] = file
        .nonce
        .as_ref()
        .try_into()
        .map_err(|_| malformed("nonce must be 12 bytes"))?;
    let mut buf = Zeroizing::new(file.ciphertext.to_vec());
    let plain = derive(password, &file.salt, file.iterations)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(&file.address, &file.pq_key_hash)),
            &mut buf,
        )
        .map_err(|_| KeystoreError::Decrypt(name.into()))?;
    if plain.len() != 64 {
        return Err(malformed("sealed payload must be 64 bytes"));
    }
    let secp: [u8; 32] = plain[..32].try_into().map_err(|_| malformed("key"))?;
    let seed: [u8; 32] = plain[32..].try_into().map_err(|_| malformed("seed"))?;
    let key = ValidatorKey::from_secrets(&secp, &seed).map_err(|e| malformed(&e.to_string()))?;
    if key.address() != file.address || key.pq_key_hash() != file.pq_key_hash {
        return Err(malformed("keys do not match the header"));
    }
    Ok(key)
}

/// Writes a keystore file (mode 0600).
pub fn write(path: &Path, file: &KeystoreFile) -> Result<(), KeystoreError> {
    let name = path.display().to_string();
    let json = serde_json::to_vec_pretty(file)
        .map_err(|e| KeystoreError::Malformed(name.clone(), e.to_string()))?;
    std::fs::write(path, json).map_err(|e| KeystoreError::Io(name.clone(), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| KeystoreError::Io(name, e))?;
    }
    Ok(())
}

/// Reads and opens a keystore file.
pub fn load(path: &Path, password: &[u8]) -> Result<ValidatorKey, KeystoreError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| KeystoreError::Io(name.clone(), e))?;
    let file: KeystoreFile = serde_json::from_str(&text)
        .map_err(|e| KeystoreError::Malformed(name.clone(), e.to_string()))?;
    decrypt(&file, password, &name)
}

#[cfg(test)]
// Tests: a panicking unwrap is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_password_and_tampered_header() {
        let key = ValidatorKey::generate().unwrap();
        let file = encrypt(&key, b"hunter2").unwrap();
        let back = decrypt(&file, b"hunter2", "t").unwrap();
        assert_eq!(back.address(), key.address());
        assert_eq!(back.pq_key_hash(), key.pq_key_hash());
        assert!(matches!(
            decrypt(&file, b"wrong", "t"),
            Err(KeystoreError::Decrypt(_))
        ));
        let mut edited = file.clone();
        edited.address = Address::repeat_byte(1);
        assert!(matches!(
            decrypt(&edited, b"hunter2", "t"),
            Err(KeystoreError::Decrypt(_))
        ));
    }
}
