//! The libp2p certificate: a self-signed X.509 v3 certificate whose libp2p Public Key
//! Extension binds the certificate key to the peer's identity key (tls/tls.md, "Peer
//! Authentication" and "libp2p Public Key Extension").
//!
//! [`Config::new`](crate::Config::new) makes ours; [`parse`] checks a peer's and tells who it
//! authenticates.

use hyphae_identity::{Keypair, PeerId, PublicKey};
use ring::rand::SecureRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _};
use rustls::SignatureScheme;

use crate::der::{self, Reader, tag};
use crate::{CertificateError, Error};

/// What the identity key signs, followed by the certificate's SubjectPublicKeyInfo DER.
pub const SIGNATURE_PREFIX: &[u8] = b"libp2p-tls-handshake:";

/// DER of the OID 1.3.6.1.4.1.53594.1.1 of the libp2p Public Key Extension.
const LIBP2P_EXTENSION_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xa2, 0x5a, 0x01, 0x01];

// Algorithm OIDs (contents only), RFC 5480, RFC 8410, RFC 8017.
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
/// commonName (2.5.4.3), the one attribute of our certificates' issuer and subject.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// `notBefore` of our certificates, 1975-01-01 00:00:00 UTC as UTCTime: far enough in the
/// past that no peer's clock skew makes the certificate "not yet valid".
const NOT_BEFORE: &[u8] = b"750101000000Z";
/// `notAfter` of our certificates, 4096-01-01 00:00:00 UTC as GeneralizedTime: the
/// certificate key is ephemeral, so its lifetime is not what protects anyone.
const NOT_AFTER: &[u8] = b"40960101000000Z";

/// Our certificate and the private key that signs the TLS handshake with it.
pub(crate) struct Generated {
    /// The certificate, DER.
    pub(crate) certificate: Vec<u8>,
    /// The ephemeral ECDSA P-256 key, PKCS#8 DER.
    pub(crate) private_key: Vec<u8>,
}

/// Makes a self-signed certificate for a fresh ECDSA P-256 key carrying the libp2p Public
/// Key Extension for `identity`.
///
/// The extension comes first among the extensions and is marked critical: js-libp2p only
/// looks at the first extension, and rust-libp2p and go-libp2p mark it critical too.
pub(crate) fn generate(identity: &Keypair) -> Result<Generated, Error> {
    let rng = ring::rand::SystemRandom::new();
    let algorithm = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(algorithm, &rng)
        .map_err(|_| Error::CertificateGeneration("ECDSA P-256 key generation"))?;
    let key = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), &rng)
        .map_err(|_| Error::CertificateGeneration("ECDSA P-256 key parsing"))?;

    let spki = der::sequence(&[
        &der::sequence(&[
            &der::encode(tag::OID, OID_EC_PUBLIC_KEY),
            &der::encode(tag::OID, OID_P256),
        ]),
        &der::bit_string(key.public_key().as_ref()),
    ]);
    let mut message = SIGNATURE_PREFIX.to_vec();
    message.extend_from_slice(&spki);
    let identity_signature = identity.sign(&message).map_err(Error::Signing)?;
    let signed_key = der::sequence(&[
        &der::encode(tag::OCTET_STRING, &identity.public().encode_protobuf()),
        &der::encode(tag::OCTET_STRING, &identity_signature),
    ]);
    let extension = der::sequence(&[
        &der::encode(tag::OID, LIBP2P_EXTENSION_OID),
        &der::encode(tag::BOOLEAN, &[0xff]),
        &der::encode(tag::OCTET_STRING, &signed_key),
    ]);

    let certificate = self_signed(&key, &rng, &spki, &[&extension])?;
    Ok(Generated {
        certificate,
        private_key: pkcs8.as_ref().to_vec(),
    })
}

/// Assembles and signs with `key` a certificate for `spki` (the DER of `key`'s public
/// half) carrying `extensions` (each a DER `Extension`), in that order.
fn self_signed(
    key: &EcdsaKeyPair,
    rng: &dyn SecureRandom,
    spki: &[u8],
    extensions: &[&[u8]],
) -> Result<Vec<u8>, Error> {
    let mut serial = [0u8; 8];
    rng.fill(&mut serial)
        .map_err(|_| Error::CertificateGeneration("random serial number"))?;
    // A positive INTEGER in minimal form: top bit clear, first byte non-zero.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let signature_algorithm = der::sequence(&[&der::encode(tag::OID, OID_ECDSA_SHA256)]);
    let name = der::sequence(&[&der::encode(
        tag::SET,
        &der::sequence(&[
            &der::encode(tag::OID, OID_COMMON_NAME),
            &der::encode(tag::UTF8_STRING, b"libp2p"),
        ]),
    )]);
    let tbs = der::sequence(&[
        &der::encode(tag::CONTEXT_0, &der::encode(tag::INTEGER, &[2])),
        &der::encode(tag::INTEGER, &serial),
        &signature_algorithm,
        &name,
        &der::sequence(&[
            &der::encode(tag::UTC_TIME, NOT_BEFORE),
            &der::encode(tag::GENERALIZED_TIME, NOT_AFTER),
        ]),
        &name,
        spki,
        &der::encode(tag::CONTEXT_3, &der::sequence(extensions)),
    ]);
    let self_signature = key
        .sign(rng, &tbs)
        .map_err(|_| Error::CertificateGeneration("signing the certificate"))?;
    Ok(der::sequence(&[
        &tbs,
        &signature_algorithm,
        &der::bit_string(self_signature.as_ref()),
    ]))
}

/// The kind of key a certificate holds, which decides the algorithms that can verify it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    Ed25519,
    Rsa,
}

/// A peer's certificate whose structure, self-signature and libp2p extension have been
/// checked: it proves that whoever holds the certificate key is [`peer_id`](Self::peer_id).
///
/// Whether it is valid *now* is a separate question ([`P2pCertificate::check_validity`]),
/// answered by the handshake verifiers with the handshake's clock.
#[derive(Debug, Clone)]
pub struct P2pCertificate {
    identity: PublicKey,
    key_kind: KeyKind,
    /// The certificate key in the form `ring` verifies with: the SubjectPublicKeyInfo's
    /// BIT STRING contents (an uncompressed EC point, 32 Ed25519 bytes, or an RSAPublicKey).
    key: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

impl P2pCertificate {
    /// The peer the certificate authenticates.
    pub fn peer_id(&self) -> PeerId {
        self.identity.to_peer_id()
    }

    /// The peer's identity key, from the libp2p extension.
    pub fn public_key(&self) -> &PublicKey {
        &self.identity
    }

    /// Fails unless the certificate is valid at `unix_seconds` (seconds since 1970-01-01
    /// UTC), as the spec requires of a received certificate.
    pub fn check_validity(&self, unix_seconds: i64) -> Result<(), CertificateError> {
        if unix_seconds < self.not_before {
            Err(CertificateError::NotYetValid)
        } else if unix_seconds > self.not_after {
            Err(CertificateError::Expired)
        } else {
            Ok(())
        }
    }

    /// Checks the TLS 1.3 `CertificateVerify` signature of the handshake, `signature` over
    /// `message` with `scheme`, against the certificate key. TLS 1.3 binds ECDSA schemes to
    /// one curve and allows RSA only with PSS (RFC 8446 section 4.2.3).
    pub fn verify_handshake_signature(
        &self,
        scheme: SignatureScheme,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CertificateError> {
        let algorithm: &dyn signature::VerificationAlgorithm = match (scheme, self.key_kind) {
            (SignatureScheme::ECDSA_NISTP256_SHA256, KeyKind::EcdsaP256) => {
                &signature::ECDSA_P256_SHA256_ASN1
            }
            (SignatureScheme::ECDSA_NISTP384_SHA384, KeyKind::EcdsaP384) => {
                &signature::ECDSA_P384_SHA384_ASN1
            }
            (SignatureScheme::ED25519, KeyKind::Ed25519) => &signature::ED25519,
            (SignatureScheme::RSA_PSS_SHA256, KeyKind::Rsa) => &signature::RSA_PSS_2048_8192_SHA256,
            (SignatureScheme::RSA_PSS_SHA384, KeyKind::Rsa) => &signature::RSA_PSS_2048_8192_SHA384,
            (SignatureScheme::RSA_PSS_SHA512, KeyKind::Rsa) => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return Err(CertificateError::UnsupportedHandshakeScheme),
        };
        signature::UnparsedPublicKey::new(algorithm, &self.key)
            .verify(message, signature)
            .map_err(|_| CertificateError::InvalidHandshakeSignature)
    }
}

/// The TLS 1.3 signature schemes [`P2pCertificate::verify_handshake_signature`] accepts,
/// most preferred first.
pub(crate) const HANDSHAKE_SCHEMES: [SignatureScheme; 6] = [
    SignatureScheme::ECDSA_NISTP256_SHA256,
    SignatureScheme::ED25519,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::RSA_PSS_SHA256,
    SignatureScheme::RSA_PSS_SHA384,
    SignatureScheme::RSA_PSS_SHA512,
];

/// Decodes a peer's DER certificate and checks everything about it that does not depend on
/// the time or the handshake: X.509 v3 structure, a key type we can verify, the
/// self-signature, no unknown critical extension, exactly one libp2p Public Key Extension
/// (at any position) whose identity key signed the certificate key.
///
/// ```
/// let ed25519 = "308201ae30820156a0030201020204499602d2300a06082a8648ce3d040302302031123010060355040a13096c69627032702e696f310a300806035504051301313020170d3735303130313133303030305a180f34303936303130313133303030305a302031123010060355040a13096c69627032702e696f310a300806035504051301313059301306072a8648ce3d020106082a8648ce3d030107034200040c901d423c831ca85e27c73c263ba132721bb9d7a84c4f0380b2a6756fd601331c8870234dec878504c174144fa4b14b66a651691606d8173e55bd37e381569ea37c307a3078060a2b0601040183a25a0101046a3068042408011220a77f1d92fedb59dddaea5a1c4abd1ac2fbde7d7b879ed364501809923d7c11b90440d90d2769db992d5e6195dbb08e706b6651e024fda6cfb8846694a435519941cac215a8207792e42849cccc6cd8136c6e4bde92a58c5e08cfd4206eb5fe0bf909300a06082a8648ce3d0403020346003043021f50f6b6c52711a881778718238f650c9fb48943ae6ee6d28427dc6071ae55e702203625f116a7a454db9c56986c82a25682f7248ea1cb764d322ea983ed36a31b77";
/// let der: Vec<u8> = (0..ed25519.len()).step_by(2)
///     .map(|i| u8::from_str_radix(&ed25519[i..i + 2], 16).unwrap())
///     .collect();
/// let certificate = hyphae_tls::certificate::parse(&der)?;
/// assert_eq!(
///     certificate.peer_id().to_base58(),
///     "12D3KooWM6CgA9iBFZmcYAHA6A2qvbAxqfkmrYiRQuz3XEsk4Ksv"
/// );
/// # Ok::<(), hyphae_tls::CertificateError>(())
/// ```
pub fn parse(der: &[u8]) -> Result<P2pCertificate, CertificateError> {
    let mut outer = Reader::new(der);
    let mut certificate = outer.sequence()?;
    outer.finish()?;
    let tbs = certificate.expect(tag::SEQUENCE)?;
    let outer_algorithm = certificate.expect(tag::SEQUENCE)?;
    let self_signature = certificate.bit_string_bytes()?;
    certificate.finish()?;

    let mut fields = Reader::new(tbs.contents);
    let version = fields.contents(tag::CONTEXT_0)?;
    if version != [tag::INTEGER, 0x01, 0x02].as_slice() {
        return Err(CertificateError::UnsupportedVersion);
    }
    fields.contents(tag::INTEGER)?;
    let tbs_algorithm = fields.expect(tag::SEQUENCE)?;
    // RFC 5280 section 4.1.1.2: both must be the same algorithm.
    if tbs_algorithm.encoded != outer_algorithm.encoded {
        return Err(CertificateError::UnsupportedSignatureAlgorithm);
    }
    fields.expect(tag::SEQUENCE)?; // issuer
    let mut validity = fields.sequence()?;
    let not_before = der::parse_time(&validity.element()?)?;
    let not_after = der::parse_time(&validity.element()?)?;
    validity.finish()?;
    fields.expect(tag::SEQUENCE)?; // subject
    let spki = fields.expect(tag::SEQUENCE)?;
    if fields.optional(tag::CONTEXT_1_PRIMITIVE)?.is_some()
        || fields.optional(tag::CONTEXT_2_PRIMITIVE)?.is_some()
    {
        return Err(CertificateError::UniqueIdPresent);
    }
    let extensions = fields.contents(tag::CONTEXT_3)?;
    fields.finish()?;

    let (key_kind, key) = parse_spki(spki.contents)?;
    let algorithm = self_signature_algorithm(outer_algorithm.contents, key_kind)?;
    signature::UnparsedPublicKey::new(algorithm, key)
        .verify(tbs.encoded, self_signature)
        .map_err(|_| CertificateError::InvalidSelfSignature)?;

    let signed_key = find_libp2p_extension(extensions)?;
    let identity = verify_signed_key(signed_key, spki.encoded)?;
    Ok(P2pCertificate {
        identity,
        key_kind,
        key: key.to_vec(),
        not_before,
        not_after,
    })
}

/// The key kind and `ring` key bytes of a SubjectPublicKeyInfo.
fn parse_spki(spki: &[u8]) -> Result<(KeyKind, &[u8]), CertificateError> {
    let mut spki = Reader::new(spki);
    let mut algorithm = spki.sequence()?;
    let key = spki.bit_string_bytes()?;
    spki.finish()?;
    let oid = algorithm.contents(tag::OID)?;
    let kind = if oid == OID_EC_PUBLIC_KEY {
        match algorithm.contents(tag::OID)? {
            curve if curve == OID_P256 => KeyKind::EcdsaP256,
            curve if curve == OID_P384 => KeyKind::EcdsaP384,
            _ => return Err(CertificateError::UnsupportedKey),
        }
    } else if oid == OID_ED25519 {
        KeyKind::Ed25519
    } else if oid == OID_RSA_ENCRYPTION {
        algorithm.contents(tag::NULL)?;
        KeyKind::Rsa
    } else {
        return Err(CertificateError::UnsupportedKey);
    };
    algorithm.finish()?;
    Ok((kind, key))
}

/// The algorithm that checks a self-signature made with `algorithm` (an
/// AlgorithmIdentifier's contents) by a key of `kind`.
fn self_signature_algorithm(
    algorithm: &[u8],
    kind: KeyKind,
) -> Result<&'static dyn signature::VerificationAlgorithm, CertificateError> {
    let mut algorithm = Reader::new(algorithm);
    let oid = algorithm.contents(tag::OID)?;
    // RSA signature algorithms carry NULL parameters (RFC 4055); some encoders omit them.
    if kind == KeyKind::Rsa {
        algorithm.optional(tag::NULL)?;
    }
    algorithm.finish()?;
    let chosen: &'static dyn signature::VerificationAlgorithm = match kind {
        KeyKind::EcdsaP256 if oid == OID_ECDSA_SHA256 => &signature::ECDSA_P256_SHA256_ASN1,
        KeyKind::EcdsaP256 if oid == OID_ECDSA_SHA384 => &signature::ECDSA_P256_SHA384_ASN1,
        KeyKind::EcdsaP384 if oid == OID_ECDSA_SHA256 => &signature::ECDSA_P384_SHA256_ASN1,
        KeyKind::EcdsaP384 if oid == OID_ECDSA_SHA384 => &signature::ECDSA_P384_SHA384_ASN1,
        KeyKind::Ed25519 if oid == OID_ED25519 => &signature::ED25519,
        KeyKind::Rsa if oid == OID_RSA_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        KeyKind::Rsa if oid == OID_RSA_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        KeyKind::Rsa if oid == OID_RSA_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return Err(CertificateError::UnsupportedSignatureAlgorithm),
    };
    Ok(chosen)
}

/// The value (a DER `SignedKey`) of the one libp2p extension among `extensions`, the
/// contents of the `[3]` field. Unknown non-critical extensions are ignored.
fn find_libp2p_extension(extensions: &[u8]) -> Result<&[u8], CertificateError> {
    let mut outer = Reader::new(extensions);
    let mut list = outer.sequence()?;
    outer.finish()?;
    let mut found = None;
    let mut seen: Vec<&[u8]> = Vec::new();
    while !list.is_empty() {
        let mut extension = list.sequence()?;
        let oid = extension.contents(tag::OID)?;
        let is_critical = match extension.peek_tag() {
            Some(tag::BOOLEAN) => extension.boolean()?,
            _ => false,
        };
        let value = extension.contents(tag::OCTET_STRING)?;
        extension.finish()?;
        // Bounded by the certificate's size: every extension takes at least a few bytes.
        if seen.contains(&oid) {
            return Err(CertificateError::DuplicateExtension);
        }
        seen.push(oid);
        if oid == LIBP2P_EXTENSION_OID {
            found = Some(value);
        } else if is_critical {
            return Err(CertificateError::UnknownCriticalExtension);
        }
    }
    found.ok_or(CertificateError::MissingExtension)
}

/// Checks a `SignedKey` and returns the identity key it carries.
fn verify_signed_key(signed_key: &[u8], spki: &[u8]) -> Result<PublicKey, CertificateError> {
    let mut outer = Reader::new(signed_key);
    let mut fields = outer.sequence()?;
    outer.finish()?;
    let public_key = fields.contents(tag::OCTET_STRING)?;
    let signature = fields.contents(tag::OCTET_STRING)?;
    fields.finish()?;
    let identity = PublicKey::decode_protobuf(public_key)
        .map_err(|error| CertificateError::InvalidIdentityKey(error.to_string()))?;
    let mut message = Vec::with_capacity(SIGNATURE_PREFIX.len() + spki.len());
    message.extend_from_slice(SIGNATURE_PREFIX);
    message.extend_from_slice(spki);
    if !identity.verify(&message, signature) {
        return Err(CertificateError::InvalidExtensionSignature);
    }
    Ok(identity)
}

/// Builders of unusual certificates for tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// A certificate for a fresh key carrying the extensions `make` builds from the key's
    /// SPKI and a correct libp2p extension (critical or not) for `identity`.
    pub(crate) fn certificate_with(
        identity: &Keypair,
        make: impl FnOnce(Vec<u8>, Vec<u8>) -> Vec<Vec<u8>>,
    ) -> Generated {
        let rng = ring::rand::SystemRandom::new();
        let algorithm = &signature::ECDSA_P256_SHA256_ASN1_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(algorithm, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(algorithm, pkcs8.as_ref(), &rng).unwrap();
        let spki = der::sequence(&[
            &der::sequence(&[
                &der::encode(tag::OID, OID_EC_PUBLIC_KEY),
                &der::encode(tag::OID, OID_P256),
            ]),
            &der::bit_string(key.public_key().as_ref()),
        ]);
        let mut message = SIGNATURE_PREFIX.to_vec();
        message.extend_from_slice(&spki);
        let signed_key = der::sequence(&[
            &der::encode(tag::OCTET_STRING, &identity.public().encode_protobuf()),
            &der::encode(tag::OCTET_STRING, &identity.sign(&message).unwrap()),
        ]);
        let libp2p = der::sequence(&[
            &der::encode(tag::OID, LIBP2P_EXTENSION_OID),
            &der::encode(tag::OCTET_STRING, &signed_key),
        ]);
        let extensions = make(spki.clone(), libp2p);
        let extensions: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
        Generated {
            certificate: self_signed(&key, &rng, &spki, &extensions).unwrap(),
            private_key: pkcs8.as_ref().to_vec(),
        }
    }

    /// A DER extension with `oid` (contents), criticality and an opaque value.
    pub(crate) fn extension(oid: &[u8], is_critical: bool, value: &[u8]) -> Vec<u8> {
        let oid = der::encode(tag::OID, oid);
        let value = der::encode(tag::OCTET_STRING, value);
        if is_critical {
            der::sequence(&[&oid, &der::encode(tag::BOOLEAN, &[0xff]), &value])
        } else {
            der::sequence(&[&oid, &value])
        }
    }

    /// keyUsage, 2.5.29.15: a standard extension we do not interpret.
    pub(crate) const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
}

#[cfg(test)]
mod tests {
    use hyphae_identity::KeyType;

    use super::test_support::{OID_KEY_USAGE, certificate_with, extension};
    use super::*;

    /// Seconds since the epoch of 2026-01-01, a "now" inside every test certificate's
    /// validity.
    const NOW: i64 = 1_767_225_600;

    #[test]
    fn generated_certificates_authenticate_their_identity() {
        for key_type in KeyType::ALL {
            let identity = Keypair::generate(key_type).unwrap();
            let generated = generate(&identity).unwrap();
            let certificate = parse(&generated.certificate).unwrap();
            assert_eq!(certificate.peer_id(), identity.peer_id(), "{key_type:?}");
            assert_eq!(certificate.public_key(), &identity.public());
            certificate.check_validity(NOW).unwrap();
        }
    }

    #[test]
    fn generated_certificate_puts_the_critical_libp2p_extension_first() {
        let generated = generate(&Keypair::generate_ed25519()).unwrap();
        let mut outer = Reader::new(&generated.certificate);
        let mut certificate = outer.sequence().unwrap();
        let mut fields = Reader::new(certificate.contents(tag::SEQUENCE).unwrap());
        for _ in 0..7 {
            fields.element().unwrap();
        }
        let mut extensions = Reader::new(fields.contents(tag::CONTEXT_3).unwrap());
        let mut list = extensions.sequence().unwrap();
        let mut first = list.sequence().unwrap();
        assert_eq!(first.contents(tag::OID).unwrap(), LIBP2P_EXTENSION_OID);
        assert!(first.boolean().unwrap());
    }

    #[test]
    fn validity_spans_1975_to_4096() {
        let generated = generate(&Keypair::generate_ed25519()).unwrap();
        let certificate = parse(&generated.certificate).unwrap();
        assert_eq!(certificate.not_before, 157_766_400);
        assert_eq!(certificate.not_after, 67_090_118_400);
        assert_eq!(
            certificate.check_validity(157_766_399),
            Err(CertificateError::NotYetValid)
        );
        assert_eq!(
            certificate.check_validity(67_090_118_401),
            Err(CertificateError::Expired)
        );
    }

    #[test]
    fn rejects_a_certificate_whose_self_signature_was_altered() {
        let mut der = generate(&Keypair::generate_ed25519()).unwrap().certificate;
        let last = der.len() - 1;
        der[last] ^= 0x01;
        assert_eq!(
            parse(&der).unwrap_err(),
            CertificateError::InvalidSelfSignature
        );
    }

    #[test]
    fn accepts_the_libp2p_extension_after_unknown_non_critical_ones() {
        let identity = Keypair::generate_ed25519();
        let der = certificate_with(&identity, |_, libp2p| {
            vec![
                extension(OID_KEY_USAGE, false, &[0x03, 0x02, 0x07, 0x80]),
                libp2p,
            ]
        })
        .certificate;
        assert_eq!(parse(&der).unwrap().peer_id(), identity.peer_id());
    }

    #[test]
    fn rejects_a_certificate_without_the_libp2p_extension() {
        let der = certificate_with(&Keypair::generate_ed25519(), |_, _| {
            vec![extension(OID_KEY_USAGE, false, &[0x03, 0x02, 0x07, 0x80])]
        })
        .certificate;
        assert_eq!(parse(&der).unwrap_err(), CertificateError::MissingExtension);
    }

    #[test]
    fn rejects_an_unknown_critical_extension() {
        let der = certificate_with(&Keypair::generate_ed25519(), |_, libp2p| {
            vec![
                libp2p,
                extension(OID_KEY_USAGE, true, &[0x03, 0x02, 0x07, 0x80]),
            ]
        })
        .certificate;
        assert_eq!(
            parse(&der).unwrap_err(),
            CertificateError::UnknownCriticalExtension
        );
    }

    #[test]
    fn rejects_a_repeated_libp2p_extension() {
        let der = certificate_with(&Keypair::generate_ed25519(), |_, libp2p| {
            vec![libp2p.clone(), libp2p]
        })
        .certificate;
        assert_eq!(
            parse(&der).unwrap_err(),
            CertificateError::DuplicateExtension
        );
    }

    #[test]
    fn rejects_an_extension_signed_over_another_key() {
        let identity = Keypair::generate_ed25519();
        let other = certificate_with(&identity, |_, libp2p| vec![libp2p]).certificate;
        // Lift the libp2p extension (signed over the other certificate's key) into a new
        // certificate.
        let stolen = {
            let mut outer = Reader::new(&other);
            let mut certificate = outer.sequence().unwrap();
            let mut fields = Reader::new(certificate.contents(tag::SEQUENCE).unwrap());
            for _ in 0..7 {
                fields.element().unwrap();
            }
            let mut extensions = Reader::new(fields.contents(tag::CONTEXT_3).unwrap());
            let mut list = extensions.sequence().unwrap();
            list.element().unwrap().encoded.to_vec()
        };
        let der = certificate_with(&identity, |_, _| vec![stolen]).certificate;
        assert_eq!(
            parse(&der).unwrap_err(),
            CertificateError::InvalidExtensionSignature
        );
    }

    #[test]
    fn rejects_trailing_bytes() {
        let mut der = generate(&Keypair::generate_ed25519()).unwrap().certificate;
        der.push(0);
        assert!(matches!(
            parse(&der).unwrap_err(),
            CertificateError::Malformed(_)
        ));
    }
}
