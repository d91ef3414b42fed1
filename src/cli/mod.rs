//! Command-line front ends. Each subcommand has its own module with a clap `Args`
//! struct and a `run` function; `anyhow` lives here, at the binary edge only.

pub mod decode;
pub mod demo;
pub mod encode;
pub mod rewrite;
pub mod serve;

/// Renders an error chain as one line (`outer: inner: root`), with no newlines.
pub fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.replace(['\n', '\r'], " ")
}
