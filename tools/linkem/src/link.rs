//! [`Link`]: two namespaces, two TUN devices, four forwarding threads; all undone on drop.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tun_rs::{DeviceBuilder, InterruptEvent, SyncDevice};

use crate::Error;
use crate::forward::{self, Counters, Direction, Running, Stats};
use crate::netns::{self, NamespacePair};
use crate::shaper::Conditions;

/// The smallest default bottleneck queue: TCP needs a few 64 KiB bursts of room.
const MIN_DEFAULT_QUEUE: usize = 1 << 20;

/// Bytes that may wait in one direction's delay line before packets are dropped: enough for
/// 10 Gbit/s over 50 ms, while bounding memory.
const DELAY_LINE_BYTES: u64 = 64 << 20;

/// Configures and starts a [`Link`]. Defaults: no delay, no loss, no rate limit, the same
/// conditions both ways, prefix `lk`, MTU 1500, offloads on, TCP buffer maxima of 32 MiB
/// inside the namespaces.
#[derive(Debug, Clone)]
pub struct LinkBuilder {
    delay: Duration,
    loss: f64,
    rate: Option<u64>,
    queue_bytes: Option<usize>,
    b_to_a: Option<Conditions>,
    prefix: String,
    id: Option<u16>,
    mtu: u16,
    offload: bool,
    seed: Option<u64>,
    tcp_buffer_max: Option<usize>,
}

impl Default for LinkBuilder {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            loss: 0.0,
            rate: None,
            queue_bytes: None,
            b_to_a: None,
            prefix: "lk".to_owned(),
            id: None,
            mtu: 1500,
            offload: true,
            seed: None,
            tcp_buffer_max: Some(32 << 20),
        }
    }
}

impl LinkBuilder {
    /// One-way delay added in each direction (the round trip gains twice this).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Probability in `0.0..=1.0` that a packet is lost, independently in each direction.
    /// With offloads on and a non-zero loss, GSO super-packets are split into MTU-sized
    /// segments, so that loss hits single packets rather than whole 64 KiB bursts.
    pub fn loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Bottleneck rate in bytes per second in each direction; `None` for no limit.
    pub fn rate(mut self, rate: Option<u64>) -> Self {
        self.rate = rate;
        self
    }

    /// Drop-tail queue in front of the bottleneck, in bytes. Default: one bandwidth-delay
    /// product (rate × round trip) but at least 1 MiB.
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = Some(bytes);
        self
    }

    /// Gives the B→A direction its own conditions (an asymmetric link); by default it mirrors
    /// A→B. Its `queue_bytes` is used as given.
    pub fn b_to_a(mut self, conditions: Conditions) -> Self {
        self.b_to_a = Some(conditions);
        self
    }

    /// Prefix of namespace and interface names (1 to 8 of `a-z0-9`); default `lk`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Uses link id `id` (`0..MAX_LINKS`) instead of the first free one; fails if it is taken.
    pub fn id(mut self, id: u16) -> Self {
        self.id = Some(id);
        self
    }

    /// MTU of both TUN devices; default 1500, what real paths have, so TCP and QUIC size their
    /// packets as they would on the Internet. 65000 forwards about a fifth more bytes per
    /// second (see the crate docs).
    pub fn mtu(mut self, mtu: u16) -> Self {
        self.mtu = mtu;
        self
    }

    /// Whether the TUN devices use GSO/checksum offload (virtio-net headers); default on.
    /// Super-packets are forwarded whole, without segmenting them.
    pub fn offload(mut self, offload: bool) -> Self {
        self.offload = offload;
        self
    }

    /// Seeds the loss draws, so a run is repeatable; default random.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Maximum of `net.ipv4.tcp_rmem` / `tcp_wmem` set inside both namespaces (these are per
    /// namespace); `None` leaves the kernel defaults. Default 32 MiB, which holds one stream
    /// near 2.3 Gbit/s over 60 ms; 128 MiB reached 5 Gbit/s there (benches/RESULTS.md).
    pub fn tcp_buffer_max(mut self, max: Option<usize>) -> Self {
        self.tcp_buffer_max = max;
        self
    }

    /// Creates the namespaces and devices and starts forwarding. Blocking: runs `ip` a dozen
    /// times (tens of milliseconds). Needs root, `/dev/net/tun` and iproute2.
    pub fn start(self) -> Result<Link, Error> {
        let a_to_b = Conditions {
            delay: self.delay,
            loss: self.loss,
            rate: self.rate,
            queue_bytes: self
                .queue_bytes
                .unwrap_or_else(|| default_queue(self.rate, self.delay)),
        };
        let conditions = [a_to_b, self.b_to_a.unwrap_or(a_to_b)];
        for conditions in &conditions {
            if !(0.0..=1.0).contains(&conditions.loss) {
                return Err(Error::InvalidLoss(conditions.loss));
            }
            if conditions.rate == Some(0) {
                return Err(Error::ZeroRate);
            }
        }
        netns::check_prefix(&self.prefix)?;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(Error::TunUnavailable)?;

        let namespaces = NamespacePair::claim(&self.prefix, self.id)?;
        let id = namespaces.id;
        let (addr_a, addr_b) = netns::addresses(id);
        let device_a = create_device(&format!("{}{id}a", self.prefix), self.mtu, self.offload)?;
        let device_b = create_device(&format!("{}{id}b", self.prefix), self.mtu, self.offload)?;
        for (ns, device, addr) in [
            (&namespaces.a, &device_a, addr_a),
            (&namespaces.b, &device_b, addr_b),
        ] {
            netns::configure_interface(ns, &device.name, addr)?;
            if let Some(max) = self.tcp_buffer_max {
                netns::set_tcp_buffer_max(ns, max)?;
            }
        }

        let seed = self.seed.unwrap_or_else(|| fastrand::u64(..));
        let interrupt = Arc::new(InterruptEvent::new().map_err(Error::Thread)?);
        let stop = Arc::new(AtomicBool::new(false));
        let a_to_b = Arc::new(Counters::default());
        let b_to_a = Arc::new(Counters::default());
        let mut link = Link {
            namespaces,
            interface_a: device_a.name.clone(),
            interface_b: device_b.name.clone(),
            addr_a,
            addr_b,
            conditions,
            offload: self.offload,
            interrupt: interrupt.clone(),
            stop: stop.clone(),
            a_to_b: a_to_b.clone(),
            b_to_a: b_to_a.clone(),
            running: Vec::new(),
        };
        let (a, b) = (Arc::new(device_a.device), Arc::new(device_b.device));
        let [forward_conditions, reverse_conditions] = conditions;
        for (name, from, to, counters, conditions, seed) in [
            ("ab", &a, &b, a_to_b, forward_conditions, seed),
            (
                "ba",
                &b,
                &a,
                b_to_a,
                reverse_conditions,
                seed.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15,
            ),
        ] {
            let direction = Direction {
                name,
                from: from.clone(),
                to: to.clone(),
                conditions,
                seed,
                vnet_header: self.offload,
                split: self.offload && conditions.loss > 0.0,
                mtu: usize::from(self.mtu),
                delay_line_bytes: DELAY_LINE_BYTES,
                counters,
            };
            // On error, dropping `link` stops the threads already started.
            link.running
                .push(forward::spawn(direction, interrupt.clone(), stop.clone())?);
        }
        tracing::info!(
            ns_a = %link.namespaces.a, ns_b = %link.namespaces.b, %addr_a, %addr_b,
            ?conditions, offload = self.offload, "link up"
        );
        Ok(link)
    }
}

/// One bandwidth-delay product, at least [`MIN_DEFAULT_QUEUE`].
fn default_queue(rate: Option<u64>, delay: Duration) -> usize {
    let bdp = rate.map_or(0, |rate| {
        (u128::from(rate) * (2 * delay).as_nanos() / 1_000_000_000) as usize
    });
    bdp.max(MIN_DEFAULT_QUEUE)
}

struct NamedDevice {
    name: String,
    device: SyncDevice,
}

fn create_device(name: &str, mtu: u16, offload: bool) -> Result<NamedDevice, Error> {
    let to_error = |source| Error::CreateTun {
        name: name.to_owned(),
        source,
    };
    let device = DeviceBuilder::new()
        .name(name)
        .mtu(mtu)
        .offload(offload)
        .build_sync()
        .map_err(to_error)?;
    device.set_nonblocking(true).map_err(to_error)?;
    Ok(NamedDevice {
        name: name.to_owned(),
        device,
    })
}

/// An emulated link between two network namespaces, forwarding until dropped.
///
/// Namespace A holds interface `<prefix><id>a` with [`addr_a`](Self::addr_a)/24, namespace B
/// `<prefix><id>b` with [`addr_b`](Self::addr_b)/24; run programs in them with
/// `ip netns exec <namespace> …`. Dropping the link (also during a panic's unwinding) stops
/// forwarding, destroys the devices and deletes the namespaces.
///
/// ```no_run
/// use std::time::Duration;
///
/// let link = hyphae_linkem::Link::builder()
///     .delay(Duration::from_millis(30))
///     .rate(Some(12_500_000)) // 100 Mbit/s
///     .start()?;
/// // A server in B, a client in A dialling B's address.
/// let mut server = std::process::Command::new("ip")
///     .args(["netns", "exec", link.namespace_b(), "iperf3", "-s", "-1"])
///     .spawn()?;
/// let status = std::process::Command::new("ip")
///     .args(["netns", "exec", link.namespace_a(), "iperf3", "-c"])
///     .arg(link.addr_b().to_string())
///     .status()?;
/// assert!(status.success());
/// server.wait()?;
/// println!("{:?}", link.stats());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Link {
    // Declared first, dropped last (after the devices and threads are gone).
    namespaces: NamespacePair,
    interface_a: String,
    interface_b: String,
    addr_a: Ipv4Addr,
    addr_b: Ipv4Addr,
    conditions: [Conditions; 2],
    offload: bool,
    interrupt: Arc<InterruptEvent>,
    stop: Arc<AtomicBool>,
    a_to_b: Arc<Counters>,
    b_to_a: Arc<Counters>,
    running: Vec<Running>,
}

impl Link {
    /// A builder with the defaults of [`LinkBuilder`].
    pub fn builder() -> LinkBuilder {
        LinkBuilder::default()
    }

    /// The link id: it picks the names and the /24 of the addresses.
    pub fn id(&self) -> u16 {
        self.namespaces.id
    }

    /// Name of namespace A, for `ip netns exec`.
    pub fn namespace_a(&self) -> &str {
        &self.namespaces.a
    }

    /// Name of namespace B, for `ip netns exec`.
    pub fn namespace_b(&self) -> &str {
        &self.namespaces.b
    }

    /// Name of the TUN interface inside namespace A.
    pub fn interface_a(&self) -> &str {
        &self.interface_a
    }

    /// Name of the TUN interface inside namespace B.
    pub fn interface_b(&self) -> &str {
        &self.interface_b
    }

    /// The address of namespace A's interface.
    pub fn addr_a(&self) -> Ipv4Addr {
        self.addr_a
    }

    /// The address of namespace B's interface.
    pub fn addr_b(&self) -> Ipv4Addr {
        self.addr_b
    }

    /// The conditions applied from A to B (with the default queue filled in).
    pub fn conditions_a_to_b(&self) -> Conditions {
        self.conditions[0]
    }

    /// The conditions applied from B to A.
    pub fn conditions_b_to_a(&self) -> Conditions {
        self.conditions[1]
    }

    /// Whether the devices run with offloads: then, on a direction without loss, packets are
    /// forwarded and counted as GSO super-packets (up to 64 KiB each).
    pub fn is_offloading(&self) -> bool {
        self.offload
    }

    /// Packets forwarded and dropped so far, per direction.
    pub fn stats(&self) -> Stats {
        Stats {
            a_to_b: self.a_to_b.snapshot(),
            b_to_a: self.b_to_a.snapshot(),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Err(error) = self.interrupt.trigger() {
            tracing::warn!(%error, "could not interrupt the forwarding threads");
        }
        for running in &mut self.running {
            running.join();
        }
        // The threads held the last references to the devices: they are closed (and the
        // interfaces destroyed) by now. `namespaces` deletes the namespaces when dropped.
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("namespace_a", &self.namespaces.a)
            .field("namespace_b", &self.namespaces.b)
            .field("addr_a", &self.addr_a)
            .field("addr_b", &self.addr_b)
            .field("conditions", &self.conditions)
            .finish_non_exhaustive()
    }
}
