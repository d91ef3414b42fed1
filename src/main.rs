//! The `hlsplice` binary: command-line front ends (`cli`) over the library. `anyhow` lives here,
//! at the binary edge only.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// SCTE-35 ad signalling for live HLS and LL-HLS.
#[derive(Parser)]
#[command(name = "hlsplice", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a SCTE-35 splice_info_section (hex or base64) and print it as JSON.
    Decode(cli::decode::Args),
    /// Encode a SCTE-35 splice_info_section.
    Encode(cli::encode::Args),
    /// Insert ad-break markers into a media playlist.
    Rewrite(cli::rewrite::Args),
    /// Run the origin proxy in front of a packager.
    // Boxed: its settings make it several times larger than the other commands' arguments.
    Serve(Box<cli::serve::Args>),
    /// Run a built-in live packager with the origin proxy in front of it.
    Demo(cli::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode(args) => cli::decode::run(args),
        Command::Encode(args) => cli::encode::run(args),
        Command::Rewrite(args) => cli::rewrite::run(args),
        Command::Serve(args) => cli::serve::run(*args),
        Command::Demo(args) => cli::demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line, whatever the error chain: scripts read the first line of stderr.
            eprintln!("hlsplice: {}", cli::one_line(&err));
            ExitCode::from(1)
        }
    }
}
