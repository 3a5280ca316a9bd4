use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The libp2p key types, numbered as in the `KeyType` protobuf enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyType {
    /// RSA, 2048 to 8192 bits; PKIX public keys, PKCS#1 private keys.
    Rsa,
    /// Ed25519, the default: small keys and fast signatures.
    Ed25519,
    /// secp256k1 with Bitcoin encodings, common in Ethereum networks.
    Secp256k1,
    /// ECDSA over NIST P-256.
    Ecdsa,
}

impl KeyType {
    /// Every key type, in protobuf enum order.
    pub const ALL: [KeyType; 4] = [
        KeyType::Rsa,
        KeyType::Ed25519,
        KeyType::Secp256k1,
        KeyType::Ecdsa,
    ];

    /// The value of this type in the `KeyType` protobuf enum.
    pub fn protobuf_value(self) -> i32 {
        match self {
            KeyType::Rsa => 0,
            KeyType::Ed25519 => 1,
            KeyType::Secp256k1 => 2,
            KeyType::Ecdsa => 3,
        }
    }

    /// The key type of a `KeyType` protobuf enum value.
    pub fn from_protobuf_value(value: i32) -> Result<KeyType, Error> {
        KeyType::ALL
            .into_iter()
            .find(|key_type| key_type.protobuf_value() == value)
            .ok_or(Error::UnknownKeyType(value))
    }

    /// The lower-case name used on command lines and in messages.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
            KeyType::Secp256k1 => "secp256k1",
            KeyType::Ecdsa => "ecdsa",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(name: &str) -> Result<KeyType, Error> {
        KeyType::ALL
            .into_iter()
            .find(|key_type| key_type.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::UnknownKeyTypeName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("Ed25519".parse::<KeyType>().unwrap(), KeyType::Ed25519);
        assert_eq!("RSA".parse::<KeyType>().unwrap(), KeyType::Rsa);
        assert!(matches!(
            "dsa".parse::<KeyType>(),
            Err(Error::UnknownKeyTypeName(name)) if name == "dsa"
        ));
    }

    #[test]
    fn maps_protobuf_values() {
        for key_type in KeyType::ALL {
            let value = key_type.protobuf_value();
            assert_eq!(KeyType::from_protobuf_value(value).unwrap(), key_type);
        }
        assert!(matches!(
            KeyType::from_protobuf_value(4),
            Err(Error::UnknownKeyType(4))
        ));
    }
}
