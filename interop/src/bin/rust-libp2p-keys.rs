//! Key files as rust-libp2p (the crates.io `libp2p-identity` crate) writes and reads them.
//!
//! ```text
//! rust-libp2p-keys generate <ed25519|secp256k1|ecdsa> <FILE>   write a new protobuf PrivateKey
//! rust-libp2p-keys peer-id <FILE>                              read a protobuf PrivateKey
//! ```
//!
//! Both print what `hyphae id` prints: `PeerId: <base58>` and `PublicKey: <protobuf hex>`.
//! libp2p-identity can neither generate RSA keys nor encode them as protobuf, so
//! `generate rsa` fails; reading RSA key files works.

use std::path::Path;

use anyhow::{Context, bail};
use libp2p_identity::Keypair;

const USAGE: &str = "usage: rust-libp2p-keys generate <ed25519|secp256k1|ecdsa> <FILE>\n       rust-libp2p-keys peer-id <FILE>";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["generate", key_type, file] => generate(key_type, Path::new(file)),
        ["peer-id", file] => peer_id(Path::new(file)),
        _ => Err(anyhow::anyhow!("{USAGE}")),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn generate(key_type: &str, file: &Path) -> anyhow::Result<()> {
    let keypair = match key_type.to_ascii_lowercase().as_str() {
        "ed25519" => Keypair::generate_ed25519(),
        "secp256k1" => Keypair::generate_secp256k1(),
        "ecdsa" => Keypair::generate_ecdsa(),
        "rsa" => bail!("libp2p-identity cannot generate RSA keys"),
        other => bail!("unknown key type {other:?}: expected ed25519, secp256k1 or ecdsa"),
    };
    let encoded = keypair
        .to_protobuf_encoding()
        .context("encode the key as protobuf")?;
    std::fs::write(file, encoded).with_context(|| format!("write {}", file.display()))?;
    print_identity(&keypair);
    Ok(())
}

fn peer_id(file: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("read {}", file.display()))?;
    let keypair = Keypair::from_protobuf_encoding(&bytes)
        .with_context(|| format!("decode the key in {}", file.display()))?;
    print_identity(&keypair);
    Ok(())
}

fn print_identity(keypair: &Keypair) {
    let public = keypair.public();
    let hex: String = public
        .encode_protobuf()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    println!("PeerId: {}", public.to_peer_id());
    println!("PublicKey: {hex}");
}
