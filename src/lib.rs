//! hlsplice: SCTE-35 ad signalling for live HLS and LL-HLS.
//!
//! Three layers, each usable on its own:
//! - [`scte35`]: a byte-exact codec for `splice_info_section` (SCTE 35 2023r1).
//! - [`hls`]: a lossless media-playlist rewriter that inserts ad-break markers
//!   (`EXT-X-CUE-OUT`/`-CONT`/`-IN`, `EXT-X-DATERANGE` with `SCTE35-OUT`/`SCTE35-IN`), and the
//!   break timeline it renders.
//! - `server` (feature `server`): the origin proxy (`hlsplice serve`) that applies a stream's
//!   break timeline to every playlist it serves and takes ad-break events over HTTP.
//!
//! `packager` (feature `packager`) is a small built-in live packager used by `hlsplice demo`
//! and the tests.
//!
//! # Features
//! - default (`cli`): everything, as the `hlsplice` binary needs it.
//! - `default-features = false`: [`scte35`] and [`hls`] only, with what they need (base64, crc,
//!   chrono, memchr, serde); no async runtime, HTTP, storage or command-line crates.
//! - `server`: adds `server` (tokio, hyper, redb, …). `packager`: adds `packager`.
//!   `cli`: the binary (clap, toml, tracing-subscriber, anyhow), with both.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod hls;
#[cfg(feature = "packager")]
#[cfg_attr(docsrs, doc(cfg(feature = "packager")))]
pub mod packager;
pub mod scte35;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
