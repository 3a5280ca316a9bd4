//! What every transport-interop dialer checks after its ping, beyond the contract's timings.
//!
//! The contract only asks for one ping, which a peer passes with 32 bytes each way. So after
//! reporting its timings, each dialer of this repository (`hyphae-interop`,
//! `rust-libp2p-interop`, `js/interop.mjs`) also checks
//!
//! 1. identify: the listener announced `/ipfs/ping/1.0.0`, `/ipfs/id/1.0.0` and
//!    [`ECHO_PROTOCOL`], and among its listen addresses the one that was dialled (compared
//!    without a `/p2p/<id>` suffix);
//! 2. bulk data: on a stream of [`ECHO_PROTOCOL`] it writes [`ECHO_BYTES`] bytes of
//!    [`echo_payload`], half-closes, reads the echo to its end and compares it byte for byte.
//!
//! Every listener serves [`ECHO_PROTOCOL`]: it writes back what it reads until the end, then
//! closes. `js/interop.mjs` repeats these constants and the payload generator; keep them equal.

use anyhow::bail;

/// The echo protocol every listener serves.
pub const ECHO_PROTOCOL: &str = "/interop/echo/1.0.0";

/// How many bytes a dialer sends through the echo: 1 MiB, many muxer windows and frames.
pub const ECHO_BYTES: usize = 1 << 20;

/// The protocols the listener must announce through identify.
pub const EXPECTED_PROTOCOLS: [&str; 3] = ["/ipfs/ping/1.0.0", "/ipfs/id/1.0.0", ECHO_PROTOCOL];

/// Seed of the payload's xorshift32 generator (any non-zero value would do).
const PAYLOAD_SEED: u32 = 0x9e37_79b9;

/// [`ECHO_BYTES`] deterministic pseudo-random bytes: xorshift32 (13, 17, 5) from
/// [`PAYLOAD_SEED`], each state written little-endian.
pub fn echo_payload() -> Vec<u8> {
    let mut state = PAYLOAD_SEED;
    let mut payload = Vec::with_capacity(ECHO_BYTES);
    while payload.len() < ECHO_BYTES {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        payload.extend_from_slice(&state.to_le_bytes());
    }
    payload.truncate(ECHO_BYTES);
    payload
}

/// `addr` without its `/p2p/<id>` part: the transport address.
pub fn transport_part(addr: &str) -> &str {
    addr.find("/p2p/").map_or(addr, |at| &addr[..at])
}

/// Checks what the listener said about itself through identify: the protocols of
/// [`EXPECTED_PROTOCOLS`], and `dialled` among `listen_addrs`. Says so on stderr when they
/// are.
pub fn check_identify<P, A>(
    protocols: &[P],
    listen_addrs: &[A],
    dialled: &str,
) -> anyhow::Result<()>
where
    P: AsRef<str>,
    A: AsRef<str>,
{
    let protocols: Vec<&str> = protocols.iter().map(AsRef::as_ref).collect();
    let missing: Vec<&str> = EXPECTED_PROTOCOLS
        .into_iter()
        .filter(|expected| !protocols.contains(expected))
        .collect();
    if !missing.is_empty() {
        bail!("identify: the listener does not announce {missing:?} (it announced {protocols:?})");
    }
    let wanted = transport_part(dialled);
    let addrs: Vec<&str> = listen_addrs.iter().map(AsRef::as_ref).collect();
    if !addrs.iter().any(|addr| transport_part(addr) == wanted) {
        bail!(
            "identify: the dialled address {wanted} is not among the listener's listen \
             addresses {addrs:?}"
        );
    }
    eprintln!("identify: the listener announces {EXPECTED_PROTOCOLS:?} and listens on {wanted}");
    Ok(())
}

/// Checks that `echoed` is `sent`, byte for byte; the error names the first difference.
/// Says so on stderr when it is.
pub fn check_echo(sent: &[u8], echoed: &[u8]) -> anyhow::Result<()> {
    if let Some(at) = sent.iter().zip(echoed).position(|(a, b)| a != b) {
        bail!(
            "echo: byte {at} came back as {:#04x}, {:#04x} was sent ({} of {} bytes came back)",
            echoed[at],
            sent[at],
            echoed.len(),
            sent.len()
        );
    }
    if echoed.len() != sent.len() {
        bail!(
            "echo: {} bytes came back for {} sent (the first {} equal)",
            echoed.len(),
            sent.len(),
            sent.len().min(echoed.len())
        );
    }
    eprintln!("echo: {} bytes came back intact", sent.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_deterministic_and_not_constant() {
        let payload = echo_payload();
        assert_eq!(payload.len(), ECHO_BYTES);
        assert_eq!(payload, echo_payload());
        // The first state after the seed, 0x510c4619, as js/interop.mjs computes it too.
        assert_eq!(payload[..4], [0x19, 0x46, 0x0c, 0x51]);
        let zeros = payload.iter().filter(|&&byte| byte == 0).count();
        assert!(zeros < ECHO_BYTES / 100, "{zeros} zero bytes");
    }

    #[test]
    fn identify_needs_the_protocols_and_the_dialled_address() {
        let protocols = ["/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", ECHO_PROTOCOL];
        let addrs = ["/ip4/127.0.0.1/tcp/4001"];
        let dialled = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc";
        check_identify(&protocols, &addrs, dialled).unwrap();
        let with_id = ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc"];
        check_identify(&protocols, &with_id, dialled).unwrap();

        let error = check_identify(&protocols[..2], &addrs, dialled).unwrap_err();
        assert!(error.to_string().contains(ECHO_PROTOCOL), "{error}");
        let error = check_identify(&protocols, &["/ip4/127.0.0.1/tcp/4002"], dialled).unwrap_err();
        assert!(
            error.to_string().contains("/ip4/127.0.0.1/tcp/4001 "),
            "{error}"
        );
        // Another transport on the same port is another address.
        let ws = ["/ip4/127.0.0.1/tcp/4001/ws"];
        assert!(check_identify(&protocols, &ws, dialled).is_err());
    }

    #[test]
    fn echo_must_match_in_length_and_every_byte() {
        check_echo(b"abc", b"abc").unwrap();
        let error = check_echo(b"abc", b"abd").unwrap_err().to_string();
        assert!(error.contains("byte 2"), "{error}");
        let error = check_echo(b"abc", b"ab").unwrap_err().to_string();
        assert!(error.contains("2 bytes came back for 3"), "{error}");
    }
}
