//! scte35 (being built).
