//! Writes the seed corpora: `cargo run -p hyphae-fuzz-targets --example seeds`.
//!
//! Every seed goes to `fuzz/corpus/<target>/seed-<name>`, replacing an older seed of that
//! name; inputs the fuzzers added are left alone. The TLS seeds are the certificates of
//! `security/tls/tests/vectors.rs`, read from there. Keys other than Ed25519 are generated
//! afresh, so their seeds change on every run: commit only the seeds you meant to change.

use std::fs;
use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds = hyphae_fuzz_targets::seeds::all();
    let vectors = fs::read_to_string(root.join("../security/tls/tests/vectors.rs"))?;
    for (index, hex) in hex_literals(&vectors).into_iter().enumerate() {
        seeds.push(("tls_certificate", format!("vector-{index}"), hex));
    }
    for (target, name, data) in seeds {
        let dir = root.join("corpus").join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(format!("seed-{name}")), data)?;
    }
    Ok(())
}

/// The long hex string literals of a source file, decoded.
fn hex_literals(source: &str) -> Vec<Vec<u8>> {
    source
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.len() >= 200 && text.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .map(|text| {
            (0..text.len())
                .step_by(2)
                .filter_map(|index| u8::from_str_radix(text.get(index..index + 2)?, 16).ok())
                .collect()
        })
        .collect()
}
