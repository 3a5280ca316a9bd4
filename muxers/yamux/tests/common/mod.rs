//! Two sessions wired back to back in memory, with virtual time.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyphae_yamux::{Config, Error, Event, Mode, Session};

/// Which session of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

pub(crate) struct Pair {
    pub(crate) client: Session,
    pub(crate) server: Session,
    pub(crate) now: Instant,
    /// Virtual time each batch of bytes takes to cross.
    pub(crate) latency: Duration,
    pub(crate) client_events: Vec<Event>,
    pub(crate) server_events: Vec<Event>,
}

/// A config without the RTT pings, so tests control every frame.
pub(crate) fn quiet_config() -> Config {
    let mut config = Config::default();
    config.rtt_interval = None;
    config
}

impl Pair {
    pub(crate) fn new(client: Config, server: Config) -> Pair {
        Pair {
            client: Session::new(Mode::Client, client),
            server: Session::new(Mode::Server, server),
            now: Instant::now(),
            latency: Duration::ZERO,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    pub(crate) fn quiet() -> Pair {
        Pair::new(quiet_config(), quiet_config())
    }

    pub(crate) fn session(&mut self, side: Side) -> &mut Session {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Moves one batch of frames from `from` to the other side. Returns the bytes moved.
    pub(crate) fn step(&mut self, from: Side) -> Result<usize, (Side, Error)> {
        let mut buf = BytesMut::new();
        let now = self.now;
        self.session(from).poll_transmit(now, &mut buf);
        let len = buf.len();
        if len == 0 {
            return Ok(0);
        }
        self.now += self.latency;
        let to = match from {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        let now = self.now;
        let result = self.session(to).handle_input(now, &mut buf);
        assert!(buf.is_empty(), "whole frames were sent");
        self.collect_events();
        result.map(|()| len).map_err(|error| (to, error))
    }

    /// Moves frames both ways until neither side has anything to send.
    pub(crate) fn try_pump(&mut self) -> Result<(), (Side, Error)> {
        loop {
            let moved = self.step(Side::Client)? + self.step(Side::Server)?;
            self.collect_events();
            if moved == 0 {
                return Ok(());
            }
        }
    }

    pub(crate) fn pump(&mut self) {
        if let Err((side, error)) = self.try_pump() {
            panic!("{side:?} failed: {error}");
        }
    }

    pub(crate) fn collect_events(&mut self) {
        while let Some(event) = self.client.poll_event() {
            self.client_events.push(event);
        }
        while let Some(event) = self.server.poll_event() {
            self.server_events.push(event);
        }
    }

    pub(crate) fn take_events(&mut self, side: Side) -> Vec<Event> {
        self.collect_events();
        match side {
            Side::Client => std::mem::take(&mut self.client_events),
            Side::Server => std::mem::take(&mut self.server_events),
        }
    }
}
