//! Resolves `/dnsaddr` addresses with the system's nameservers and prints the results.
//!
//! `cargo run -p hyphae-dns --example resolve -- /dnsaddr/bootstrap.libp2p.io`

use hyphae_dns::{Resolver, resolve_dnsaddr};
use hyphae_multiaddr::Multiaddr;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let resolver = Resolver::from_system();
    println!("nameservers: {:?}", resolver.nameservers());
    for arg in std::env::args().skip(1) {
        let addr: Multiaddr = arg.parse()?;
        println!("{addr}:");
        for resolved in resolve_dnsaddr(&resolver, &addr).await? {
            println!("  {resolved}");
        }
    }
    Ok(())
}
