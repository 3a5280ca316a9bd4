//! The threads that move packets from one TUN device to the other.
//!
//! Each direction has a reader thread, which reads the source device, asks the [`Shaper`]
//! for each packet's fate and either writes it at once (nothing is waiting and it is already
//! due) or hands it to the direction's writer thread, which sleeps until each packet's
//! delivery instant (monotonic clock) and writes it to the destination device. Delivery
//! instants never decrease, so the hand-over is a FIFO channel. Threads, not tasks: a
//! dedicated thread wakes within tens of microseconds of its deadline, and a blocking
//! read/write loop keeps per-packet cost to two syscalls.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tun_rs::{InterruptEvent, SyncDevice};

use crate::Error;
use crate::shaper::{Conditions, Shaper, Verdict};

/// Largest packet read from a TUN device: a 64 KiB IP packet (or GSO super-packet) plus the
/// virtio-net header that offload mode puts in front.
const READ_BUFFER: usize = 65_536 + 64;

/// Length of the virtio-net header in front of every packet in offload mode.
const VNET_HEADER: usize = tun_rs::VIRTIO_NET_HDR_LEN;

/// The longest a writer sleeps before looking at the stop flag again.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Counters of one direction, as seen at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Packets written to the far side. With offloads on a direction without loss, one GSO
    /// super-packet (up to 64 KiB of segments) counts once.
    pub packets: u64,
    /// IP bytes written to the far side.
    pub bytes: u64,
    /// Packets taken by random loss.
    pub dropped_loss: u64,
    /// Packets dropped because the bottleneck queue (or the delay line) was full.
    pub dropped_queue: u64,
    /// Packets the destination device refused (counted, not retried).
    pub send_errors: u64,
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// From namespace A to namespace B.
    pub a_to_b: DirectionStats,
    /// From namespace B to namespace A.
    pub b_to_a: DirectionStats,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    dropped_loss: AtomicU64,
    dropped_queue: AtomicU64,
    send_errors: AtomicU64,
    /// Packets handed to the writer and not yet written: the reader may write directly only
    /// when this is zero, or it would overtake them.
    pending_packets: AtomicU64,
    /// Bytes in the delay line, bounded by `Direction::delay_line_bytes`.
    pending_bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> DirectionStats {
        DirectionStats {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped_loss: self.dropped_loss.load(Ordering::Relaxed),
            dropped_queue: self.dropped_queue.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
        }
    }

    fn count_sent(&self, result: io::Result<usize>, ip_len: usize) {
        match result {
            Ok(_) => {
                self.packets.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(ip_len as u64, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::debug!(%error, "TUN write failed");
                self.send_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Everything one direction needs.
pub(crate) struct Direction {
    pub(crate) name: &'static str,
    pub(crate) from: Arc<SyncDevice>,
    pub(crate) to: Arc<SyncDevice>,
    pub(crate) conditions: Conditions,
    pub(crate) seed: u64,
    /// Whether packets carry a virtio-net header (offload mode).
    pub(crate) vnet_header: bool,
    /// Whether GSO super-packets are split into segments (offload mode with loss).
    pub(crate) split: bool,
    /// The devices' MTU: the largest segment after splitting.
    pub(crate) mtu: usize,
    /// Bound on bytes waiting in the delay line; beyond it packets are dropped as queue drops.
    pub(crate) delay_line_bytes: u64,
    pub(crate) counters: Arc<Counters>,
}

/// The running threads of one direction.
pub(crate) struct Running {
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
}

impl Running {
    /// Waits for both threads; call after triggering the interrupt and setting the stop flag.
    pub(crate) fn join(&mut self) {
        for handle in [self.reader.take(), self.writer.take()]
            .into_iter()
            .flatten()
        {
            if handle.join().is_err() {
                tracing::warn!("a forwarding thread panicked");
            }
        }
    }
}

/// Starts the reader and writer threads of `direction`. The reader stops when `interrupt`
/// fires; the writer when the reader has stopped or `stop` is set.
pub(crate) fn spawn(
    direction: Direction,
    interrupt: Arc<InterruptEvent>,
    stop: Arc<AtomicBool>,
) -> Result<Running, Error> {
    let (sender, receiver) = mpsc::channel();
    let writer = std::thread::Builder::new()
        .name(format!("linkem-{}-tx", direction.name))
        .spawn({
            let to = direction.to.clone();
            let counters = direction.counters.clone();
            let vnet_header = direction.vnet_header;
            move || write_loop(&to, &receiver, &counters, vnet_header, &stop)
        })
        .map_err(Error::Thread)?;
    let reader = std::thread::Builder::new()
        .name(format!("linkem-{}-rx", direction.name))
        .spawn(move || read_loop(&direction, &sender, &interrupt))
        .map_err(Error::Thread)?;
    Ok(Running {
        reader: Some(reader),
        writer: Some(writer),
    })
}

/// A packet waiting in the delay line.
struct Delayed {
    at: Instant,
    packet: Vec<u8>,
}

fn read_loop(direction: &Direction, sender: &Sender<Delayed>, interrupt: &InterruptEvent) {
    let mut forwarder = Forwarder {
        direction,
        sender,
        shaper: Shaper::new(direction.conditions),
        rng: fastrand::Rng::with_seed(direction.seed),
        header: if direction.vnet_header {
            VNET_HEADER
        } else {
            0
        },
    };
    let mut source = Source::new(direction);
    loop {
        match source.receive(&direction.from) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                match direction.from.wait_readable_intr(interrupt) {
                    Ok(()) => continue,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => return,
                    Err(error) => {
                        tracing::warn!(direction = direction.name, %error, "TUN wait failed");
                        return;
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            // A GSO packet tun-rs could not split: skip it, as a NIC would.
            Err(error)
                if source.is_splitting()
                    && matches!(
                        error.kind(),
                        io::ErrorKind::Other | io::ErrorKind::InvalidInput
                    ) =>
            {
                tracing::debug!(direction = direction.name, %error, "unsplittable packet");
                continue;
            }
            Err(error) => {
                tracing::warn!(direction = direction.name, %error, "TUN read failed");
                return;
            }
        }
        if !source.for_each(|packet| forwarder.forward(packet)) {
            return;
        }
    }
}

/// Where the reader's packets come from: whole packets (GSO super-packets forwarded as they
/// are), or GSO super-packets split into segments, each behind a blank virtio-net header, so
/// that loss applies per segment.
enum Source {
    Whole {
        buffer: Vec<u8>,
        len: usize,
    },
    Split {
        raw: Vec<u8>,
        segments: Vec<Vec<u8>>,
        sizes: Vec<usize>,
        count: usize,
    },
}

impl Source {
    fn new(direction: &Direction) -> Self {
        if direction.split {
            let segment = VNET_HEADER + direction.mtu.max(1500) + 64;
            Self::Split {
                raw: vec![0; READ_BUFFER],
                segments: vec![vec![0; segment]; tun_rs::IDEAL_BATCH_SIZE],
                sizes: vec![0; tun_rs::IDEAL_BATCH_SIZE],
                count: 0,
            }
        } else {
            Self::Whole {
                buffer: vec![0; READ_BUFFER],
                len: 0,
            }
        }
    }

    fn is_splitting(&self) -> bool {
        matches!(self, Self::Split { .. })
    }

    /// Reads the next packet (or batch of segments) from `device`.
    fn receive(&mut self, device: &SyncDevice) -> io::Result<()> {
        match self {
            Self::Whole { buffer, len } => {
                *len = 0;
                *len = device.recv(buffer)?;
            }
            Self::Split {
                raw,
                segments,
                sizes,
                count,
            } => {
                *count = 0;
                *count = device.recv_multiple(raw, segments, sizes, VNET_HEADER)?;
                // The segments are complete packets with their checksums computed: a zeroed
                // header (no GSO, no checksum offload) is right for each.
                for segment in segments.iter_mut().take(*count) {
                    segment[..VNET_HEADER].fill(0);
                }
            }
        }
        Ok(())
    }

    /// Calls `f` on each packet of the last read, stopping when it returns false.
    fn for_each(&self, mut f: impl FnMut(&[u8]) -> bool) -> bool {
        match self {
            Self::Whole { buffer, len } => buffer.get(..*len).is_none_or(f),
            Self::Split {
                segments,
                sizes,
                count,
                ..
            } => segments
                .iter()
                .zip(sizes)
                .take(*count)
                .all(|(segment, &size)| segment.get(..VNET_HEADER + size).is_none_or(&mut f)),
        }
    }
}

/// The reader's side of a direction: the shaper and the hand-over to the writer.
struct Forwarder<'a> {
    direction: &'a Direction,
    sender: &'a Sender<Delayed>,
    shaper: Shaper,
    rng: fastrand::Rng,
    /// Bytes of virtio-net header in front of each packet.
    header: usize,
}

impl Forwarder<'_> {
    /// Applies the link to one packet; false once the writer is gone.
    fn forward(&mut self, packet: &[u8]) -> bool {
        let counters = &self.direction.counters;
        let len = packet.len();
        let ip_len = len.saturating_sub(self.header);
        let now = Instant::now();
        match self.shaper.admit(now, ip_len, self.rng.f64()) {
            Verdict::Lost => {
                counters.dropped_loss.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::QueueFull => {
                counters.dropped_queue.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Deliver(at)
                if at <= now && counters.pending_packets.load(Ordering::Acquire) == 0 =>
            {
                counters.count_sent(self.direction.to.send(packet), ip_len);
            }
            Verdict::Deliver(at) => {
                let pending = counters.pending_bytes.load(Ordering::Relaxed);
                if pending + len as u64 > self.direction.delay_line_bytes {
                    counters.dropped_queue.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                counters
                    .pending_bytes
                    .fetch_add(len as u64, Ordering::Relaxed);
                counters.pending_packets.fetch_add(1, Ordering::Release);
                let delayed = Delayed {
                    at,
                    packet: packet.to_vec(),
                };
                // An error means the writer is gone (stopping): nothing more can be delivered.
                return self.sender.send(delayed).is_ok();
            }
        }
        true
    }
}

fn write_loop(
    to: &SyncDevice,
    receiver: &Receiver<Delayed>,
    counters: &Counters,
    vnet_header: bool,
    stop: &AtomicBool,
) {
    let header = if vnet_header { VNET_HEADER } else { 0 };
    while let Ok(Delayed { at, packet }) = receiver.recv() {
        if !sleep_until(at, stop) {
            return;
        }
        counters.count_sent(to.send(&packet), packet.len().saturating_sub(header));
        counters
            .pending_bytes
            .fetch_sub(packet.len() as u64, Ordering::Relaxed);
        counters.pending_packets.fetch_sub(1, Ordering::Release);
    }
}

/// Sleeps until `at`; false if `stop` was set meanwhile.
fn sleep_until(at: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        std::thread::sleep((at - now).min(STOP_POLL));
    }
}
