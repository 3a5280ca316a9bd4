//! `hyphae id`: show, create or load an identity.

use std::path::{Path, PathBuf};

use anyhow::bail;
use hyphae_identity::{KeyType, Keypair};

/// Arguments of `hyphae id`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Key file (protobuf PrivateKey, the format every libp2p implementation writes).
    /// Loaded if it exists, otherwise created with a new key of --type.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Key type of a new key: ed25519, secp256k1, ecdsa or rsa [default: ed25519].
    #[arg(long = "type", value_name = "TYPE")]
    key_type: Option<KeyType>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let keypair = match &args.key {
        Some(path) => load_or_create(path, args.key_type)?,
        None => Keypair::generate(args.key_type.unwrap_or(KeyType::Ed25519))?,
    };
    println!("PeerId: {}", keypair.peer_id());
    let public_key: String = keypair
        .public()
        .encode_protobuf()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    println!("PublicKey: {public_key}");
    Ok(())
}

/// Loads the key in `path`, or creates one of `key_type` (default Ed25519) there if the file
/// does not exist. An existing key of another type than an explicit `key_type` is an error.
pub(crate) fn load_or_create(path: &Path, key_type: Option<KeyType>) -> anyhow::Result<Keypair> {
    if path.exists() {
        let keypair = Keypair::load(path)?;
        if let Some(wanted) = key_type
            && wanted != keypair.key_type()
        {
            bail!(
                "{}: key type is {}, not {wanted} as --type asks",
                path.display(),
                keypair.key_type()
            );
        }
        return Ok(keypair);
    }
    let keypair = Keypair::generate(key_type.unwrap_or(KeyType::Ed25519))?;
    keypair.save(path)?;
    eprintln!(
        "Created a new {} key in {}",
        keypair.key_type(),
        path.display()
    );
    Ok(keypair)
}
