//! The `Noise_XX_25519_ChaChaPoly_SHA256` test vectors of cacophony and snow, run through the
//! framework layer: every handshake and transport message must match byte for byte.

use serde_json::Value;
use x25519_dalek::StaticSecret;

use super::{HandshakeState, Role};
use crate::PROTOCOL_NAME;

const VECTORS: &str = include_str!("../tests/vectors/noise_xx_25519_chachapoly_sha256.json");

fn hex(value: &Value) -> Vec<u8> {
    let text = value.as_str().unwrap();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn secret(value: &Value) -> StaticSecret {
    StaticSecret::from(<[u8; 32]>::try_from(hex(value)).unwrap())
}

#[test]
fn matches_the_cacophony_and_snow_vectors() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 2);
    for vector in vectors {
        assert_eq!(vector["protocol_name"], PROTOCOL_NAME);
        run(vector);
    }
}

fn run(vector: &Value) {
    let mut initiator = HandshakeState::new(
        Role::Initiator,
        &hex(&vector["init_prologue"]),
        secret(&vector["init_static"]),
        secret(&vector["init_ephemeral"]),
    );
    let mut responder = HandshakeState::new(
        Role::Responder,
        &hex(&vector["resp_prologue"]),
        secret(&vector["resp_static"]),
        secret(&vector["resp_ephemeral"]),
    );
    let messages = vector["messages"].as_array().unwrap();
    let mut ciphers: Option<[crate::cipher::CipherState; 4]> = None;
    for (index, message) in messages.iter().enumerate() {
        let payload = hex(&message["payload"]);
        let expected = hex(&message["ciphertext"]);
        // Messages alternate between the parties through both phases: even ones are the
        // initiator's.
        let initiator_sends = index % 2 == 0;
        let mut ciphertext = Vec::new();
        let mut decrypted = Vec::new();
        match &mut ciphers {
            None => {
                let (sender, receiver) = if initiator_sends {
                    (&mut initiator, &mut responder)
                } else {
                    (&mut responder, &mut initiator)
                };
                sender.write_message(&payload, &mut ciphertext).unwrap();
                assert_eq!(ciphertext, expected, "handshake message {index}");
                receiver.read_message(&ciphertext, &mut decrypted).unwrap();
                if initiator.is_finished() {
                    assert!(responder.is_finished());
                    if let Some(hash) = vector.get("handshake_hash") {
                        assert_eq!(initiator.handshake_hash().to_vec(), hex(hash));
                        assert_eq!(responder.handshake_hash().to_vec(), hex(hash));
                    }
                    assert_eq!(
                        initiator.remote_static(),
                        Some(responder.local_static_public())
                    );
                    assert_eq!(
                        responder.remote_static(),
                        Some(initiator.local_static_public())
                    );
                    let (i_send, i_receive) = initiator.split().unwrap();
                    let (r_send, r_receive) = responder.split().unwrap();
                    ciphers = Some([i_send, i_receive, r_send, r_receive]);
                }
            }
            Some([i_send, i_receive, r_send, r_receive]) => {
                let (sender, receiver) = if initiator_sends {
                    (i_send, r_receive)
                } else {
                    (r_send, i_receive)
                };
                sender
                    .encrypt_with_ad(&[], &payload, &mut ciphertext)
                    .unwrap();
                assert_eq!(ciphertext, expected, "transport message {index}");
                receiver
                    .decrypt_with_ad(&[], &ciphertext, &mut decrypted)
                    .unwrap();
            }
        }
        assert_eq!(decrypted, payload, "payload of message {index}");
    }
    assert!(ciphers.is_some(), "the vector completes the handshake");
}
