//! hls (being built).
