//! Validator keys: secp256k1 (alloy's local signer) and ML-DSA-65 (FIPS 204, aws-lc-rs), and the
//! checks the relayer and watcher run on what validators send.
//!
//! ML-DSA signs the 32-byte EIP-712 digest with the empty context string: the domain separation
//! (chain, verifier, epoch, struct type) is inside the digest.

use alloy::primitives::{keccak256, Address, B256};
use alloy::signers::{local::PrivateKeySigner, SignerSync};
use aws_lc_rs::signature::{
    KeyPair, PqdsaKeyPair, UnparsedPublicKey, ML_DSA_65, ML_DSA_65_SIGNING,
};
use secp256k1::{ecdsa::RecoverableSignature, ecdsa::RecoveryId, Message, SECP256K1};
use zeroize::Zeroizing;

/// FIPS 204 ML-DSA-65 public key length.
pub const MLDSA65_PUBLIC_KEY_LEN: usize = 1952;
/// FIPS 204 ML-DSA-65 signature length.
pub const MLDSA65_SIGNATURE_LEN: usize = 3309;

/// secp256k1 group order / 2: the largest low-s value.
const SECP256K1_HALF_ORDER: alloy::primitives::U256 = alloy::primitives::uint!(
    0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0_U256
);

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The secp256k1 private key is not a valid scalar.
    #[error("invalid secp256k1 private key")]
    InvalidSecpKey,
    /// The ML-DSA seed could not be expanded.
    #[error("invalid ML-DSA-65 seed")]
    InvalidMldsaSeed,
    /// Signing failed inside the crypto library.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Why a validator's signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// Not 65 bytes, bad recovery id, or high-s.
    #[error("malformed secp256k1 signature")]
    MalformedEcdsa,
    /// Recovers to another address.
    #[error("secp256k1 signature recovers to {recovered}, expected {expected}")]
    WrongSigner {
        /// Expected validator.
        expected: Address,
        /// What the signature recovered to.
        recovered: Address,
    },
    /// The ML-DSA public key does not hash to the key hash registered on chain.
    #[error("ML-DSA public key hash {actual} does not match the registered {registered}")]
    PqKeyNotRegistered {
        /// Registered `pqKeyHash`.
        registered: B256,
        /// keccak256 of the offered key.
        actual: B256,
    },
    /// The ML-DSA-65 signature does not verify.
    #[error("ML-DSA-65 signature does not verify")]
    InvalidMldsa,
    /// The ML-DSA-65 public key is not the raw 1,952-byte FIPS 204 encoding (e.g. a 1,974-byte
    /// DER SubjectPublicKeyInfo, which aws-lc-rs alone would parse).
    #[error("ML-DSA-65 public key is {len} bytes; only the raw {MLDSA65_PUBLIC_KEY_LEN}-byte FIPS 204 encoding is accepted")]
    MldsaPublicKeyLength {
        /// Length of the offered key.
        len: usize,
    },
}

/// An ML-DSA-65 public key in its raw FIPS 204 encoding, exactly [`MLDSA65_PUBLIC_KEY_LEN`]
/// bytes. The only way bytes become an ML-DSA-65 public key in GhostBridge: both verifiers get
/// the same bytes, so aws-lc-rs cannot accept an encoding (DER) that fips204 refuses.
#[derive(Clone, PartialEq, Eq)]
pub struct MldsaPublicKey(Box<[u8; MLDSA65_PUBLIC_KEY_LEN]>);

impl std::fmt::Debug for MldsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MldsaPublicKey({})", self.key_hash())
    }
}

impl MldsaPublicKey {
    /// Accepts exactly the 1,952-byte raw encoding; anything else (DER, truncated, padded) is
    /// [`SignatureError::MldsaPublicKeyLength`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let raw: [u8; MLDSA65_PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| SignatureError::MldsaPublicKeyLength { len: bytes.len() })?;
        Ok(Self(Box::new(raw)))
    }

    /// The raw encoding.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// `pqKeyHash`: keccak256 of the raw encoding.
    pub fn key_hash(&self) -> B256 {
        keccak256(self.as_bytes())
    }

    /// aws-lc-rs verification (empty context).
    pub fn verify_aws_lc(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ML_DSA_65, self.as_bytes())
            .verify(message, signature)
            .is_ok()
    }

    /// fips204 verification with context `ctx`.
    pub fn verify_fips204(&self, message: &[u8], signature: &[u8], ctx: &[u8]) -> bool {
        use fips204::ml_dsa_65;
        use fips204::traits::{SerDes, Verifier};
        const _: () = assert!(ml_dsa_65::PK_LEN == MLDSA65_PUBLIC_KEY_LEN);
        let Ok(sig_bytes) = <[u8; ml_dsa_65::SIG_LEN]>::try_from(signature) else {
            return false;
        };
        let Ok(pk) = ml_dsa_65::PublicKey::try_from_bytes(*self.0) else {
            return false;
        };
        pk.verify(message, &sig_bytes, ctx)
    }
}

/// A validator's two keys.
pub struct ValidatorKey {
    secp: PrivateKeySigner,
    mldsa: PqdsaKeyPair,
    mldsa_seed: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for ValidatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorKey")
            .field("address", &self.address())
            .field("pq_key_hash", &self.pq_key_hash())
            .finish_non_exhaustive()
    }
}

/// Both signatures of one validator over one digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualSignature {
    /// `r || s || v` with v = 27/28, low-s.
    pub ecdsa: [u8; 65],
    /// FIPS 204 ML-DSA-65 signature (3309 bytes).
    pub mldsa: Vec<u8>,
}

impl ValidatorKey {
    /// From a 32-byte secp256k1 key and a 32-byte ML-DSA-65 seed (FIPS 204 `ξ`).
    pub fn from_secrets(secp_key: &[u8; 32], mldsa_seed: &[u8; 32]) -> Result<Self, KeyError> {
        let secp = PrivateKeySigner::from_slice(secp_key).map_err(|_| KeyError::InvalidSecpKey)?;
        let mldsa = PqdsaKeyPair::from_seed(&ML_DSA_65_SIGNING, mldsa_seed)
            .map_err(|_| KeyError::InvalidMldsaSeed)?;
        Ok(Self {
            secp,
            mldsa,
            mldsa_seed: Zeroizing::new(*mldsa_seed),
        })
    }

    /// Fresh random keys (`ghostbridge keys generate`).
    pub fn generate() -> Result<Self, KeyError> {
        let secp = PrivateKeySigner::random();
        let mut seed = Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(seed.as_mut()).map_err(|_| KeyError::Signing("rng".into()))?;
        let secret: [u8; 32] = secp.to_bytes().0;
        Self::from_secrets(&secret, &seed)
    }

    /// Devnet only: the ML-DSA seed is derived from the (public, anvil) secp256k1 key, so the
    /// devnet's registered key hashes are reproducible. Never use for real keys.
    pub fn devnet(secp_key: &[u8; 32]) -> Result<Self, KeyError> {
        let mut input = b"GhostBridge devnet ML-DSA-65 seed v1".to_vec();
        input.extend_from_slice(secp_key);
        Self::from_secrets(secp_key, &keccak256(input).0)
    }

    /// The validator's address (its secp256k1 identity in the signer set).
    pub fn address(&self) -> Address {
        self.secp.address()
    }

    /// The secp256k1 secret (for the keystore).
    pub fn secp_secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secp.to_bytes().0)
    }

    /// The ML-DSA-65 seed (for the keystore).
    pub fn mldsa_seed(&self) -> Zeroizing<[u8; 32]> {
        self.mldsa_seed.clone()
    }

    /// The 1952-byte ML-DSA-65 public key.
    pub fn pq_public_key(&self) -> Vec<u8> {
        self.mldsa.public_key().as_ref().to_vec()
    }

    /// `pqKeyHash` as registered in the verifier: keccak256 of the public key.
    pub fn pq_key_hash(&self) -> B256 {
        keccak256(self.pq_public_key())
    }

    /// Signs an EIP-712 digest with both keys.
    pub fn sign_digest(&self, digest: B256) -> Result<DualSignature, KeyError> {
        let sig = self
            .secp
            .sign_hash_sync(&digest)
            .map_err(|e| KeyError::Signing(e.to_string()))?;
        let mut mldsa = vec![0u8; MLDSA65_SIGNATURE_LEN];
        let len = self
            .mldsa
            .sign(digest.as_slice(), &mut mldsa)
            .map_err(|_| KeyError::Signing("ML-DSA-65".into()))?;
        mldsa.truncate(len);
        Ok(DualSignature {
            ecdsa: sig.as_bytes(),
            mldsa,
        })
    }
}

/// Recovers the signer of a 65-byte signature with libsecp256k1; refuses high-s (the verifier
/// only accepts EIP-2098 low-s signatures).
pub fn recover_signer(digest: B256, sig65: &[u8]) -> Result<Address, SignatureError> {
    let sig65: &[u8; 65] = sig65
        .try_into()
        .map_err(|_| SignatureError::MalformedEcdsa)?;
    let v: u8 = match sig65[64] {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return Err(SignatureError::MalformedEcdsa),
    };
    let id = RecoveryId::try_from(i32::from(v)).map_err(|_| SignatureError::MalformedEcdsa)?;
    let rsig = RecoverableSignature::from_compact(&sig65[..64], id)
        .map_err(|_| SignatureError::MalformedEcdsa)?;
    // The verifier takes EIP-2098 low-s only: refuse the malleable twin here too.
    let s = alloy::primitives::U256::from_be_slice(&sig65[32..64]);
    if s > SECP256K1_HALF_ORDER {
        return Err(SignatureError::MalformedEcdsa);
    }
    let pk = SECP256K1
        .recover_ecdsa(Message::from_digest(digest.0), &rsig)
        .map_err(|_| SignatureError::MalformedEcdsa)?;
    let uncompressed = pk.serialize_uncompressed();
    Ok(Address::from_slice(&keccak256(&uncompressed[1..])[12..]))
}

/// Checks a secp256k1 signature is `expected`'s.
pub fn check_ecdsa(digest: B256, sig65: &[u8], expected: Address) -> Result<(), SignatureError> {
    let recovered = recover_signer(digest, sig65)?;
    if recovered != expected {
        return Err(SignatureError::WrongSigner {
            expected,
            recovered,
        });
    }
    Ok(())
}

/// The key as [`MldsaPublicKey`] if it is registered: its length first (a 1,974-byte DER key is
/// refused even when its own hash was registered), then its keccak256 against `registered_hash`.
fn registered_mldsa_key(
    public_key: &[u8],
    registered_hash: B256,
) -> Result<MldsaPublicKey, SignatureError> {
    let key = MldsaPublicKey::from_bytes(public_key)?;
    let actual = key.key_hash();
    if actual != registered_hash {
        return Err(SignatureError::PqKeyNotRegistered {
            registered: registered_hash,
            actual,
        });
    }
    Ok(key)
}

/// Checks an ML-DSA-65 signature (aws-lc-rs) by a raw 1,952-byte key whose keccak256 is
/// `registered_hash`.
pub fn check_mldsa(
    digest: B256,
    public_key: &[u8],
    signature: &[u8],
    registered_hash: B256,
) -> Result<(), SignatureError> {
    let key = registered_mldsa_key(public_key, registered_hash)?;
    if key.verify_aws_lc(digest.as_slice(), signature) {
        Ok(())
    } else {
        Err(SignatureError::InvalidMldsa)
    }
}

/// ML-DSA-65 verification with aws-lc-rs (empty context); false for any key that is not the
/// raw 1,952-byte encoding.
pub fn mldsa_verify_aws_lc(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    MldsaPublicKey::from_bytes(public_key).is_ok_and(|k| k.verify_aws_lc(message, signature))
}

/// ML-DSA-65 verification with the independent `fips204` implementation (the watcher's second
/// opinion), with an explicit context (empty for GhostBridge); false for any key that is not
/// the raw 1,952-byte encoding.
pub fn mldsa_verify_fips204(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
    ctx: &[u8],
) -> bool {
    MldsaPublicKey::from_bytes(public_key).is_ok_and(|k| k.verify_fips204(message, signature, ctx))
}

/// Both verifiers must accept (the watcher's check of delivered attestations).
pub fn check_mldsa_both(
    digest: B256,
    public_key: &[u8],
    signature: &[u8],
    registered_hash: B256,
) -> Result<(), SignatureError> {
    let key = registered_mldsa_key(public_key, registered_hash)?;
    if key.verify_aws_lc(digest.as_slice(), signature)
        && key.verify_fips204(digest.as_slice(), signature, b"")
    {
        Ok(())
    } else {
        Err(SignatureError::InvalidMldsa)
    }
}

#[cfg(test)]
// Tests: a panicking unwrap is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key() -> ValidatorKey {
        ValidatorKey::devnet(&[7u8; 32]).unwrap()
    }

    #[test]
    fn both_signatures_verify_and_tampering_is_refused() {
        let k = key();
        let digest = keccak256(b"digest");
        let sig = k.sign_digest(digest).unwrap();
        check_ecdsa(digest, &sig.ecdsa, k.address()).unwrap();
        check_mldsa_both(digest, &k.pq_public_key(), &sig.mldsa, k.pq_key_hash()).unwrap();

        let other = keccak256(b"other");
        assert!(matches!(
            check_ecdsa(other, &sig.ecdsa, k.address()),
            Err(SignatureError::WrongSigner { .. })
        ));
        assert_eq!(
            check_mldsa(other, &k.pq_public_key(), &sig.mldsa, k.pq_key_hash()),
            Err(SignatureError::InvalidMldsa)
        );
        let mut bad = sig.mldsa.clone();
        bad[100] ^= 1;
        assert_eq!(
            check_mldsa_both(digest, &k.pq_public_key(), &bad, k.pq_key_hash()),
            Err(SignatureError::InvalidMldsa)
        );
        assert!(!mldsa_verify_fips204(
            &k.pq_public_key(),
            digest.as_slice(),
            &bad,
            b""
        ));
        assert!(matches!(
            check_mldsa(digest, &k.pq_public_key(), &sig.mldsa, B256::ZERO),
            Err(SignatureError::PqKeyNotRegistered { .. })
        ));
    }

    #[test]
    fn high_s_is_refused() {
        let k = key();
        let digest = keccak256(b"digest");
        let mut sig = k.sign_digest(digest).unwrap().ecdsa;
        // s' = n - s, v flipped: the same signature in its malleable high-s form.
        let n = alloy::primitives::U256::from_be_slice(
            &hex::decode("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")
                .unwrap(),
        );
        let s = alloy::primitives::U256::from_be_slice(&sig[32..64]);
        sig[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        sig[64] ^= 1;
        assert_eq!(
            recover_signer(digest, &sig),
            Err(SignatureError::MalformedEcdsa)
        );
    }

    /// Item 11: aws-lc-rs's `UnparsedPublicKey` also parses an X.509 SubjectPublicKeyInfo (DER,
    /// 1,974 bytes for ML-DSA-65) where fips204 takes only the raw 1,952-byte FIPS 204 encoding.
    /// The DER here is aws-lc-rs's own export of the key, so it is a real, valid encoding.
    #[test]
    fn der_encoded_mldsa_public_key_is_refused_by_both_paths() {
        use aws_lc_rs::encoding::AsDer;
        let k = key();
        let digest = keccak256(b"digest");
        let sig = k.sign_digest(digest).expect("sign");
        let der = k
            .mldsa
            .public_key()
            .as_der()
            .expect("as_der")
            .as_ref()
            .to_vec();
        assert_eq!(der.len(), 1974, "ML-DSA-65 SubjectPublicKeyInfo length");
        let raw = k.pq_public_key();
        assert_eq!(raw.len(), MLDSA65_PUBLIC_KEY_LEN);
        assert_eq!(
            &der[der.len().saturating_sub(raw.len())..],
            raw.as_slice(),
            "the DER wraps the raw key"
        );

        // The raw key: accepted by both verifiers and by every check.
        assert!(mldsa_verify_aws_lc(&raw, digest.as_slice(), &sig.mldsa));
        assert!(mldsa_verify_fips204(
            &raw,
            digest.as_slice(),
            &sig.mldsa,
            b""
        ));
        check_mldsa(digest, &raw, &sig.mldsa, k.pq_key_hash()).expect("raw key, aws-lc-rs");
        check_mldsa_both(digest, &raw, &sig.mldsa, k.pq_key_hash()).expect("raw key, both");

        // The DER key: refused by both verifiers, and by the checks with a typed error naming
        // its length, even when its own hash is the registered one.
        assert!(
            !mldsa_verify_aws_lc(&der, digest.as_slice(), &sig.mldsa),
            "aws-lc-rs accepted a DER key"
        );
        assert!(!mldsa_verify_fips204(
            &der,
            digest.as_slice(),
            &sig.mldsa,
            b""
        ));
        let wrong_len = Err(SignatureError::MldsaPublicKeyLength { len: 1974 });
        assert_eq!(
            check_mldsa(digest, &der, &sig.mldsa, keccak256(&der)),
            wrong_len
        );
        assert_eq!(
            check_mldsa_both(digest, &der, &sig.mldsa, keccak256(&der)),
            wrong_len
        );
        assert_eq!(
            check_mldsa(digest, &der, &sig.mldsa, k.pq_key_hash()),
            wrong_len
        );
        let e = MldsaPublicKey::from_bytes(&der).expect_err("DER key");
        assert_eq!(e, SignatureError::MldsaPublicKeyLength { len: 1974 });
        assert!(e.to_string().contains("1974"), "{e}");
        for len in [0, 1, 1951, 1953, 3904] {
            assert_eq!(
                MldsaPublicKey::from_bytes(&vec![0u8; len]).expect_err("wrong length"),
                SignatureError::MldsaPublicKeyLength { len }
            );
        }
        assert_eq!(
            MldsaPublicKey::from_bytes(&raw)
                .expect("raw key")
                .as_bytes(),
            raw.as_slice()
        );
    }

    #[test]
    fn devnet_keys_are_reproducible() {
        assert_eq!(key().pq_key_hash(), key().pq_key_hash());
        assert_eq!(key().pq_public_key().len(), MLDSA65_PUBLIC_KEY_LEN);
    }
}
