//! Multiaddrs, as peers send them: text (in configs, `dnsaddr` TXT records) and binary
//! (identify, kad, peer records).

use hyphae_multiaddr::Multiaddr;

/// A multiaddr's text form: what parses prints back to text that parses to the same
/// address, and its binary form decodes to it too.
pub fn multiaddr_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(address) = text.parse::<Multiaddr>() else {
        return;
    };
    round_trips(&address);
}

/// A multiaddr's binary form: what decodes re-encodes to the same bytes, and its text form
/// parses back to it.
pub fn multiaddr_binary(data: &[u8]) {
    let Ok(address) = Multiaddr::try_from(data) else {
        return;
    };
    assert_eq!(address.as_bytes(), data);
    round_trips(&address);
}

fn round_trips(address: &Multiaddr) {
    let text = address.to_string();
    let reparsed: Multiaddr = text
        .parse()
        .unwrap_or_else(|error| panic!("{text:?} does not parse back: {error}"));
    assert_eq!(&reparsed, address, "text {text:?}");
    let decoded = Multiaddr::try_from(address.to_vec()).expect("binary form decodes");
    assert_eq!(&decoded, address);
    // Walking the components must not panic either.
    assert_eq!(address.iter().count(), address.len());
}
