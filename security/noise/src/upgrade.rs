//! The tokio driver: runs a [`Handshake`] over a byte stream and wraps the stream in a
//! [`NoiseStream`].

use bytes::BytesMut;
use hyphae_identity::{Keypair, PeerId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::handshake::{Handshake, Output};
use crate::{Config, Error, MAX_MESSAGE_LEN, NoiseStream, Role, frame};

/// Secures a connection we opened: runs the handshake as initiator and returns the peer's
/// identity with the encrypted stream.
///
/// `expected` is the peer id we dialled (the `/p2p/` component of the address), if known; a
/// peer that authenticates as anyone else fails with [`Error::PeerIdMismatch`] before it
/// learns who we are.
///
/// There is no timeout inside: a peer that never answers keeps this future pending, so wrap
/// it in `tokio::time::timeout` (the node applies its handshake timeout there).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hyphae_noise::Error> {
/// use hyphae_identity::Keypair;
/// use hyphae_noise::{Config, upgrade_inbound, upgrade_outbound};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// let (dialer, listener) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
/// let config = Config::default().with_muxers(vec!["/yamux/1.0.0".into()]);
/// let (a, b) = tokio::io::duplex(64 * 1024);
/// let expected = Some(listener.peer_id());
/// let (outbound, inbound) = tokio::join!(
///     upgrade_outbound(a, &dialer, &config, expected),
///     upgrade_inbound(b, &listener, &config),
/// );
/// let ((output, mut a), (_, mut b)) = (outbound?, inbound?);
/// assert_eq!(output.muxer.as_deref(), Some("/yamux/1.0.0"));
///
/// a.write_all(b"hello").await?;
/// a.flush().await?;
/// let mut received = [0; 5];
/// b.read_exact(&mut received).await?;
/// assert_eq!(&received, b"hello");
/// # Ok(()) }
/// ```
pub async fn upgrade_outbound<T>(
    io: T,
    keypair: &Keypair,
    config: &Config,
    expected: Option<PeerId>,
) -> Result<(Output, NoiseStream<T>), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut rng = crate::os_rng();
    let handshake = Handshake::initiator(keypair, config, expected, &mut rng)?;
    run(io, handshake).await
}

/// Secures a connection a peer opened: runs the handshake as responder and returns the
/// peer's identity with the encrypted stream.
///
/// Like [`upgrade_outbound`], it has no timeout of its own: bound it with
/// `tokio::time::timeout` so that silent peers cannot hold the connection.
pub async fn upgrade_inbound<T>(
    io: T,
    keypair: &Keypair,
    config: &Config,
) -> Result<(Output, NoiseStream<T>), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut rng = crate::os_rng();
    let handshake = Handshake::responder(keypair, config, None, &mut rng)?;
    run(io, handshake).await
}

/// Moves handshake messages between `io` and the state machine until it finishes.
async fn run<T>(mut io: T, mut handshake: Handshake) -> Result<(Output, NoiseStream<T>), Error>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let role = handshake.role();
    // Becomes the session's receive buffer, so it is sized for a whole frame once.
    let mut input = BytesMut::with_capacity(frame::PREFIX_LEN + MAX_MESSAGE_LEN);
    loop {
        if let Some(message) = handshake.poll_transmit() {
            io.write_all(&message).await?;
            io.flush().await?;
            continue;
        }
        if handshake.is_finished() {
            break;
        }
        let buffered = input.len();
        handshake.handle_input(&mut input)?;
        if input.len() != buffered {
            continue;
        }
        if !handshake.wants_input() {
            return Err(Error::OutOfOrder(
                "handshake neither sends nor expects a message",
            ));
        }
        if io.read_buf(&mut input).await? == 0 {
            return Err(Error::ConnectionClosed);
        }
    }
    let (output, ciphers) = handshake.finish()?;
    debug!(
        peer = %output.remote_peer,
        initiator = role == Role::Initiator,
        muxer = ?output.muxer,
        "noise handshake complete"
    );
    Ok((output, NoiseStream::new(io, ciphers, input)))
}
