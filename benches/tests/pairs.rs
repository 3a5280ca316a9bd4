//! Every stack the throughput benchmark compares completes a small perf exchange both ways,
//! so a broken stack fails here rather than in the middle of a long benchmark.

use hyphae_benches::{HyphaePair, RawTcpPair, RustLibp2pPair};
use hyphae_perf::Params;

const SIZES: [Params; 3] = [
    Params {
        upload_bytes: (1 << 20) + 1,
        download_bytes: 0,
    },
    Params {
        upload_bytes: 0,
        download_bytes: (1 << 20) + 3,
    },
    Params {
        upload_bytes: 0,
        download_bytes: 0,
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_pair_runs_perf() {
    let mut pair = HyphaePair::start().await.unwrap();
    for params in SIZES {
        assert!(!pair.perf(params).await.unwrap().is_zero());
    }
    pair.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_pair_runs_perf() {
    let mut pair = RustLibp2pPair::start().await.unwrap();
    for params in SIZES {
        assert!(!pair.perf(params).await.unwrap().is_zero());
    }
    pair.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_tcp_pair_runs_perf() {
    let mut pair = RawTcpPair::start().await.unwrap();
    for params in SIZES {
        assert!(!pair.perf(params).await.unwrap().is_zero());
    }
    pair.shutdown();
}
