//! Arbitrary and mutated certificates never panic the parser, and the handshake survives
//! garbage from the network.

use hyphae_identity::Keypair;
use hyphae_tls::{Config, certificate};
use proptest::prelude::*;

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = certificate::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_mutated_certificates(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let config = Config::new(&Keypair::generate_ed25519()).unwrap();
        let mut der = config.certificate().to_vec();
        for (index, byte) in edits {
            let at = index.index(der.len());
            der[at] = byte;
        }
        let _ = certificate::parse(&der);
        let _ = certificate::parse(&der[..cut.index(der.len())]);
    }

    #[test]
    fn parse_never_panics_on_structured_garbage(
        tags in proptest::collection::vec(any::<u8>(), 1..6),
        lens in proptest::collection::vec(0u8..=0x84, 1..6),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // Nested headers with arbitrary (often lying) lengths.
        let mut der = Vec::new();
        for (tag, len) in tags.iter().zip(&lens) {
            der.push(*tag);
            der.push(*len);
        }
        der.extend_from_slice(&tail);
        let _ = certificate::parse(&der);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn listener_survives_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..4096),
        record_header in any::<bool>(),
    ) {
        use tokio::io::AsyncWriteExt;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let listener = Config::new(&Keypair::generate_ed25519()).unwrap();
        runtime.block_on(async {
            let (mut a, b) = tokio::io::duplex(64 * 1024);
            let mut input = Vec::new();
            if record_header {
                // A plausible handshake record header, so rustls parses the garbage inside.
                input.extend_from_slice(&[0x16, 0x03, 0x01]);
                input.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            }
            input.extend_from_slice(&bytes);
            a.write_all(&input).await.unwrap();
            a.shutdown().await.unwrap();
            let result = hyphae_tls::upgrade_inbound(b, &listener).await;
            prop_assert!(result.is_err());
            Ok(())
        })?;
    }
}
