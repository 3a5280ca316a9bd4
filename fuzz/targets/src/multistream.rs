//! multistream-select, both roles, fed the peer's side of a negotiation in arbitrary chunks.

use bytes::BytesMut;
use hyphae_core::multistream::{Dialer, Listener, MAX_MESSAGE_LEN};

/// Most bytes either role may queue to send: the header, up to 64 `na` answers or
/// proposals, and `ls` answers. A peer that sends `ls` without reading would grow this, so
/// the target bounds what is left unsent between chunks.
const MAX_UNSENT: usize = 64 * 1024;

/// The dialer proposing two protocols, fed the listener's answers.
pub fn multistream_dialer(data: &[u8]) {
    let (_, chunks) = crate::chunked(data);
    let candidates = vec!["/yamux/1.0.0".to_owned(), "/mplex/6.7.0".to_owned()];
    let mut dialer = Dialer::new(candidates.clone()).expect("valid candidates");
    let mut buffer = BytesMut::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        match dialer.handle_input(&mut buffer) {
            Ok(Some(protocol)) => {
                assert!(candidates.iter().any(|candidate| candidate == protocol));
                return;
            }
            Ok(None) => assert!(
                buffer.len() <= MAX_MESSAGE_LEN + 3,
                "buffered a whole message"
            ),
            Err(_) => return,
        }
        assert!(dialer.poll_transmit().len() <= MAX_UNSENT);
    }
}

/// The listener supporting two protocols, fed the dialer's proposals.
pub fn multistream_listener(data: &[u8]) {
    let (_, chunks) = crate::chunked(data);
    let supported = vec!["/yamux/1.0.0".to_owned(), "/noise".to_owned()];
    let mut listener = Listener::new(supported.clone());
    let mut buffer = BytesMut::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        match listener.handle_input(&mut buffer) {
            Ok(Some(protocol)) => {
                assert!(supported.iter().any(|candidate| candidate == protocol));
                return;
            }
            Ok(None) => {}
            Err(_) => return,
        }
        assert!(listener.poll_transmit().len() <= MAX_UNSENT);
    }
}
