//! hlsplice: SCTE-35 ad signalling for live HLS and LL-HLS.
//!
//! Three layers, each usable on its own:
//! - [`scte35`]: a byte-exact codec for `splice_info_section` (SCTE 35 2023r1).
//! - [`hls`]: a lossless media-playlist rewriter that inserts ad-break markers
//!   (`EXT-X-CUE-OUT`/`-CONT`/`-IN`, `EXT-X-DATERANGE` with `SCTE35-OUT`/`SCTE35-IN`).
//! - [`server`]: the origin proxy (`hlsplice serve`) that applies a stream's break
//!   timeline to every playlist it serves and takes ad-break events over HTTP.
//!
//! [`packager`] is a small built-in live packager used by `hlsplice demo` and the tests.
#![forbid(unsafe_code)]

pub mod cli;
pub mod hls;
pub mod packager;
pub mod scte35;
pub mod server;
