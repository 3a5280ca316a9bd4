//! One end of a loopback benchmark on a thread of its own.

use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A thread running a current-thread tokio runtime until dropped. Tasks spawned through
/// [`EndThread::handle`] (a server and everything it spawns) run there and nowhere else, so
/// the two ends of a loopback benchmark each keep one thread, as two single-threaded
/// processes would, instead of sharing worker threads with each other.
pub struct EndThread {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EndThread {
    /// Starts the thread and its runtime.
    pub fn start() -> std::io::Result<EndThread> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        Ok(EndThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Spawns onto this thread's runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for EndThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
