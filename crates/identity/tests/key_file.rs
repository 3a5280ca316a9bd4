//! Key files: protobuf `PrivateKey` on disk, and clear errors for anything else.

mod common;

use hyphae_identity::{Error, KeyType, Keypair};

#[test]
fn saves_and_loads_every_key_type() {
    let dir = tempfile::tempdir().unwrap();
    for key_type in KeyType::ALL {
        let keypair = Keypair::generate(key_type).unwrap();
        let path = dir.path().join(format!("{key_type}.key"));
        keypair.save(&path).unwrap();
        let loaded = Keypair::load(&path).unwrap();
        assert_eq!(loaded.peer_id(), keypair.peer_id());
        assert_eq!(loaded.key_type(), key_type);
    }
}

#[cfg(unix)]
#[test]
fn saved_files_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    Keypair::generate_ed25519().save(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn never_overwrites_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let first = Keypair::generate_ed25519();
    first.save(&path).unwrap();
    let error = Keypair::generate_ed25519().save(&path).unwrap_err();
    assert!(matches!(error, Error::KeyFileIo { .. }), "{error}");
    assert_eq!(Keypair::load(&path).unwrap().peer_id(), first.peer_id());
}

#[test]
fn loads_the_spec_vectors_from_files() {
    let dir = tempfile::tempdir().unwrap();
    for key_type in KeyType::ALL {
        let path = dir.path().join(key_type.name());
        std::fs::write(&path, common::vector(key_type, "private")).unwrap();
        assert_eq!(Keypair::load(&path).unwrap().key_type(), key_type);
    }
}

/// Writes `contents` to a fresh file and returns the error loading it gives, as text.
fn load_error(contents: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.key");
    std::fs::write(&path, contents).unwrap();
    let error = Keypair::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("bad.key"),
        "error does not name the file: {error}"
    );
    error
}

#[test]
fn bad_files_give_errors_that_name_the_file_and_the_problem() {
    assert!(load_error(b"").contains("empty"));
    assert!(load_error(b"-----BEGIN PRIVATE KEY-----\nMC4C\n").contains("PEM"));
    assert!(load_error(&[0xff; 20]).contains("protobuf"));
    assert!(load_error(&vec![0; 20_000]).contains("too large"));
    assert!(load_error(&common::vector(KeyType::Ed25519, "public")).contains("public key"));
    let truncated = common::vector(KeyType::Secp256k1, "private");
    assert!(load_error(&truncated[..20]).contains("protobuf"));
    // A secp256k1 scalar of all ones is past the curve order.
    let mut past_order = vec![0x08, 0x02, 0x12, 0x20];
    past_order.extend_from_slice(&[0xff; 32]);
    assert!(load_error(&past_order).contains("secp256k1"));
}

#[test]
fn missing_file_names_the_path() {
    let error = Keypair::load("/nonexistent/dir/node.key").unwrap_err();
    assert!(matches!(error, Error::KeyFileIo { .. }));
    assert!(error.to_string().contains("/nonexistent/dir/node.key"));
}
