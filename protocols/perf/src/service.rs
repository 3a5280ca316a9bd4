//! perf as a node service: measure against peers, and serve them if asked.

use hyphae_service::{Context, Incoming, PeerId, Service};
use tracing::debug;

use crate::{Error, PROTOCOL_ID, Params, Progress, Report, run, serve};

/// Inbound perf streams waiting to be served; beyond this a burst of them is reset.
const INBOUND_BACKLOG: usize = 64;

/// The perf service.
#[derive(Debug, Clone, Default)]
pub struct Perf {
    is_server: bool,
}

impl Perf {
    /// Measures against peers, serves nobody.
    pub fn client() -> Perf {
        Perf { is_server: false }
    }

    /// Also serves `/perf/1.0.0` to any peer that asks: only for nodes meant for
    /// benchmarking, since a client decides how much work the server does.
    pub fn server() -> Perf {
        Perf { is_server: true }
    }
}

/// Runs perf against peers; from `Node::service::<Perf>()`.
#[derive(Debug, Clone)]
pub struct Handle {
    cx: Context,
}

impl Service for Perf {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        if self.is_server {
            cx.spawn(answer(cx.accept(PROTOCOL_ID, INBOUND_BACKLOG)));
        }
        Handle { cx }
    }
}

impl Handle {
    /// Opens a perf stream to `peer` (dialling it if needed) and runs `params` on it,
    /// calling `progress` about every [`REPORT_INTERVAL`](crate::REPORT_INTERVAL).
    pub async fn run(
        &self,
        peer: PeerId,
        params: Params,
        progress: impl FnMut(Progress),
    ) -> Result<Report, Error> {
        let stream = self.cx.open_stream(peer, PROTOCOL_ID).await?;
        run(stream, params, progress).await
    }
}

/// Serves every inbound perf stream on its own task.
async fn answer(mut incoming: Incoming) {
    while let Some(stream) = incoming.next().await {
        let peer = stream.peer();
        tokio::spawn(async move {
            match serve(stream).await {
                Ok(served) => debug!(%peer, ?served, "perf served"),
                Err(error) => debug!(%peer, %error, "perf stream failed"),
            }
        });
    }
}
