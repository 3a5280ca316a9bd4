//! WebSocket transport (/ws, /wss) for hyphae.
