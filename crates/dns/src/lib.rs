//! A small DNS client for hyphae: TXT lookups and /dnsaddr resolution.
