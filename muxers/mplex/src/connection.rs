//! The tokio driver: a reader task feeds received bytes to the [`Session`], a writer task
//! sends what it queues; handles and streams use the session directly under a short-held lock.
//!
//! Reading and writing run in separate tasks so that a peer that stops reading (blocking our
//! writes) never stops us from reading its frames, and so never deadlocks two peers that both
//! write. Every waiting handle or stream registers one waker; any change wakes them all
//! (simple, and cheap at mplex's stream counts).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::Notify;
use tracing::{Instrument, debug};

use crate::session::{ReadOutcome, Session, StreamId};
use crate::{Config, Error};

/// Bytes the reader asks the socket for per read.
const READ_CHUNK: usize = 64 * 1024;

/// An mplex connection running on tokio: a cheap-to-clone handle to open and accept
/// [`Stream`]s over one underlying byte stream.
///
/// [`Connection::new`] spawns the tasks that drive the connection. It closes when
/// [`Connection::close`] is called, or once every handle and every stream is dropped.
pub struct Connection {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the writer task: bytes are queued, or the session closed.
    writer: Notify,
}

struct Inner {
    session: Session,
    waiters: Vec<Waker>,
    handles: usize,
    live_streams: usize,
    is_writer_done: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic under the lock leaves the session consistent enough to close.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `op` under the lock, then wakes every waiter and the writer.
    fn with<R>(&self, op: impl FnOnce(&mut Inner) -> R) -> R {
        let result = self.with_waiters(op);
        self.writer.notify_one();
        result
    }

    /// Runs `op` under the lock, then wakes every waiter but not the writer (the writer
    /// itself uses this: notifying itself would leave a permit and make it spin).
    fn with_waiters<R>(&self, op: impl FnOnce(&mut Inner) -> R) -> R {
        let mut inner = self.lock();
        let result = op(&mut inner);
        wake_waiters(inner);
        result
    }
}

/// Releases the lock, then wakes every waiter registered under it.
fn wake_waiters(mut inner: MutexGuard<'_, Inner>) {
    let waiters = std::mem::take(&mut inner.waiters);
    drop(inner);
    waiters.into_iter().for_each(Waker::wake);
}

impl Inner {
    fn wait(&mut self, cx: &Context<'_>) {
        if !self.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            self.waiters.push(cx.waker().clone());
        }
    }

    fn close_if_unused(&mut self) {
        if self.handles == 0 && self.live_streams == 0 {
            self.session.close();
        }
    }
}

impl Connection {
    /// Starts mplex over `io` (either side; mplex has no roles).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn new<T>(io: T, config: Config) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        Connection::from_session(io, Session::new(config))
    }

    /// Starts mplex over `io` as [`Connection::new`] does, reserving the session's memory
    /// (its outbound queue, and what it buffers for each stream) from `scope`: see
    /// [`Session::with_memory_scope`]. Fails if the scope cannot spare the outbound queue.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn with_memory_scope<T>(
        io: T,
        config: Config,
        scope: hyphae_core::resources::Scope,
    ) -> Result<Connection, Error>
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let session = Session::new(config).with_memory_scope(scope)?;
        Ok(Connection::from_session(io, session))
    }

    /// Drives `session` over `io`: for a session made with [`Session::new`] and perhaps
    /// [`Session::with_memory_scope`], when its making may have to be tried again (a scope
    /// short of memory) before `io` is given up.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    pub fn from_session<T>(io: T, session: Session) -> Connection
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                session,
                waiters: Vec::new(),
                handles: 1,
                live_streams: 0,
                is_writer_done: false,
            }),
            writer: Notify::new(),
        });
        let (reader, writer) = tokio::io::split(io);
        let span = tracing::debug_span!("mplex");
        tokio::spawn(read_loop(reader, Arc::clone(&shared)).instrument(span.clone()));
        tokio::spawn(write_loop(writer, Arc::clone(&shared)).instrument(span));
        Connection { shared }
    }

    /// Opens a stream. Fails at the stream limit or once the connection is closed.
    pub async fn open_stream(&self) -> Result<Stream, Error> {
        let id = self.shared.with(|inner| {
            let id = inner.session.open_stream()?;
            inner.live_streams += 1;
            Ok::<_, Error>(id)
        })?;
        Ok(Stream {
            id,
            shared: Arc::clone(&self.shared),
        })
    }

    /// Waits for the next stream the peer opens; `None` once the connection is closed.
    pub async fn accept(&self) -> Option<Stream> {
        let id = poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if let Some(id) = inner.session.accept() {
                inner.live_streams += 1;
                return Poll::Ready(Some(id));
            }
            if inner.session.is_closed() {
                return Poll::Ready(None);
            }
            inner.wait(cx);
            Poll::Pending
        })
        .await?;
        Some(Stream {
            id,
            shared: Arc::clone(&self.shared),
        })
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().session.is_closed()
    }

    /// Closes the connection: flushes what is queued, shuts the underlying stream down and
    /// ends every stream. Returns once that is done.
    pub async fn close(&self) {
        self.shared.with(|inner| inner.session.close());
        poll_fn(|cx| {
            let mut inner = self.shared.lock();
            if inner.is_writer_done {
                return Poll::Ready(());
            }
            inner.wait(cx);
            Poll::Pending
        })
        .await
    }
}

impl Clone for Connection {
    fn clone(&self) -> Connection {
        self.shared.lock().handles += 1;
        Connection {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.with(|inner| {
            inner.handles -= 1;
            inner.close_if_unused();
        });
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Connection")
            .field("streams", &inner.session.stream_count())
            .field("closed", &inner.session.is_closed())
            .finish()
    }
}

async fn read_loop<R: AsyncRead>(reader: R, shared: Arc<Shared>) {
    let mut reader = std::pin::pin!(reader);
    let mut buffer = Vec::with_capacity(READ_CHUNK);
    'reading: loop {
        let read = tokio::select! {
            read = reader.read_buf(&mut buffer) => read,
            () = closed(&shared) => break,
        };
        let closing = shared.with(|inner| match read {
            Ok(0) | Err(_) => {
                debug!(?read, "connection ended");
                inner.session.close();
                true
            }
            Ok(_) => receive_buffered(inner, &mut buffer),
        });
        if closing {
            break;
        }
        // A stream's buffer is full: read nothing more (mplex's only back-pressure) until its
        // reader makes room, then go on with the bytes already here.
        while shared.lock().session.is_read_blocked() {
            unblocked(&shared).await;
            if shared.with(|inner| receive_buffered(inner, &mut buffer)) {
                break 'reading;
            }
        }
        if buffer.capacity() - buffer.len() < READ_CHUNK / 4 {
            buffer.reserve(READ_CHUNK);
        }
    }
}

/// Feeds `buffer` to the session and drops what it used; returns whether the session closed.
fn receive_buffered(inner: &mut Inner, buffer: &mut Vec<u8>) -> bool {
    match inner.session.handle_input(buffer) {
        Ok(used) => {
            buffer.drain(..used);
            false
        }
        Err(_) => true,
    }
}

/// Resolves once receiving may go on: the blocking stream was read or reset, or the session
/// closed.
async fn unblocked(shared: &Shared) {
    poll_fn(|cx| {
        let mut inner = shared.lock();
        if !inner.session.is_read_blocked() || inner.session.is_closed() {
            return Poll::Ready(());
        }
        inner.wait(cx);
        Poll::Pending
    })
    .await
}

/// Resolves once the session is closed.
async fn closed(shared: &Shared) {
    poll_fn(|cx| {
        let mut inner = shared.lock();
        if inner.session.is_closed() {
            return Poll::Ready(());
        }
        inner.wait(cx);
        Poll::Pending
    })
    .await
}

async fn write_loop<W: AsyncWrite>(writer: W, shared: Arc<Shared>) {
    let mut writer = std::pin::pin!(writer);
    let mut buffer = Vec::new();
    loop {
        let notified = shared.writer.notified();
        let is_closed = shared.with_waiters(|inner| {
            inner.session.poll_transmit(&mut buffer);
            inner.session.is_closed()
        });
        if buffer.is_empty() {
            if is_closed {
                break;
            }
            notified.await;
            continue;
        }
        let written = writer.write_all(&buffer).await;
        buffer.clear();
        if written.is_err() || writer.flush().await.is_err() {
            debug!("write failed, closing");
            shared.with_waiters(|inner| inner.session.close());
            break;
        }
    }
    let _ = writer.shutdown().await;
    shared.with_waiters(|inner| inner.is_writer_done = true);
}

/// One stream of a [`Connection`].
///
/// Writes return once the data is queued for the connection (waiting while the outbound
/// queue is full), so `flush` has nothing to wait for. `shutdown` half-closes the stream
/// (Close frame): the peer reads to the end, and reading goes on until it closes its side.
///
/// **Dropping** a stream that was not shut down resets it, so the peer sees an error rather
/// than a truncated message.
pub struct Stream {
    id: StreamId,
    shared: Arc<Shared>,
}

impl Stream {
    /// The stream's id within its connection.
    pub fn id(&self) -> StreamId {
        self.id
    }

    /// Resets the stream: both directions end at once, the peer sees a reset.
    pub fn reset(self) {
        // An error means the stream or the connection is already gone: nothing to reset.
        let _ = self.shared.with(|inner| inner.session.reset(self.id));
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let id = self.id;
        let mut inner = self.shared.lock();
        let was_blocked = inner.session.is_read_blocked();
        match inner.session.read(id, buf.remaining()) {
            Ok(ReadOutcome::Data(chunk)) => {
                buf.put_slice(&chunk);
                if was_blocked && !inner.session.is_read_blocked() {
                    // We made room in the stream that paused reading: wake the reader task.
                    wake_waiters(inner);
                }
                Poll::Ready(Ok(()))
            }
            Ok(ReadOutcome::Finished) => Poll::Ready(Ok(())),
            Ok(ReadOutcome::Blocked) => {
                inner.wait(cx);
                Poll::Pending
            }
            Err(error) => Poll::Ready(Err(error.into_io())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let id = self.id;
        let mut inner = self.shared.lock();
        match inner.session.write(id, buf) {
            Ok(0) if !buf.is_empty() => {
                // The writer task wakes us once it takes the queue. Not `Shared::with`: it
                // would wake this task at once, which would poll again and again, spinning
                // on a core for as long as the peer reads slower than we write.
                inner.wait(cx);
                Poll::Pending
            }
            Ok(written) => {
                wake_waiters(inner);
                self.shared.writer.notify_one();
                Poll::Ready(Ok(written))
            }
            Err(error) => Poll::Ready(Err(error.into_io())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let id = self.id;
        Poll::Ready(
            self.shared
                .with(|inner| inner.session.close_write(id))
                .map_err(Error::into_io),
        )
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let id = self.id;
        self.shared.with(|inner| {
            inner.session.release(id);
            inner.live_streams -= 1;
            inner.close_if_unused();
        });
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("id", &self.id).finish()
    }
}
