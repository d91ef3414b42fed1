//! Command-line front ends. Each subcommand has its own module with a clap `Args`
//! struct and a `run` function; `anyhow` lives here, at the binary edge only.

pub mod decode;
pub mod demo;
pub mod encode;
#[cfg(test)]
pub mod marker_form;
pub mod rewrite;
pub mod serve;

/// Renders an error chain as one line (`outer: inner: root`), with no newlines.
pub fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.replace(['\n', '\r'], " ")
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
