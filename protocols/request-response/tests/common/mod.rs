//! Two hyphae nodes in one process, connected over `/memory`, each running the services
//! a test gives them.

#![allow(dead_code, unreachable_pub)]

use hyphae::{Node, PeerId, Service};
use hyphae_request_response::{Codec, Config, Handle, LengthPrefixed, RequestResponse};

/// The protocol most tests speak.
pub const PROTOCOL: &str = "/test/echo/1.0.0";

/// A service of raw byte messages.
pub type Bytes = RequestResponse<LengthPrefixed>;

/// A byte-message service on [`PROTOCOL`] with `config`.
pub fn bytes(config: Config) -> Bytes {
    Bytes::new(PROTOCOL, LengthPrefixed::new(), config)
}

/// A server listening on `/memory/0` and a client connected to it.
pub struct Pair {
    pub server: Node,
    pub client: Node,
    /// The server's peer id.
    pub server_id: PeerId,
}

/// Starts a server running `server` and a client running `client`, and connects them.
pub async fn pair(server: impl Service, client: impl Service) -> Pair {
    let server = Node::builder()
        .listen("/memory/0".parse().unwrap())
        .service(server)
        .start()
        .await
        .unwrap();
    let client = Node::builder().service(client).start().await.unwrap();
    let server_id = client.dial(&server.listen_addrs()[0]).await.unwrap();
    Pair {
        server,
        client,
        server_id,
    }
}

impl Pair {
    /// The handle of the server's service `S`.
    pub fn server<S: Service>(&self) -> S::Handle {
        self.server.service::<S>().unwrap()
    }

    /// The handle of the client's service `S`.
    pub fn client<S: Service>(&self) -> S::Handle {
        self.client.service::<S>().unwrap()
    }
}

/// Answers every request `handle` receives with `answer(request)`, on its own task.
pub fn answer_with<C: Codec>(
    handle: Handle<C>,
    answer: impl Fn(C::Request) -> C::Response + Send + 'static,
) {
    tokio::spawn(async move {
        while let Some(inbound) = handle.next_request().await {
            let response = answer(inbound.request);
            tokio::spawn(inbound.responder.respond(response));
        }
    });
}
