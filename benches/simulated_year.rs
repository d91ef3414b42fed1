//! A simulated year: the built-in packager on a ManualClock runs one stream for 365 days of
//! program time (fast-forwarded) through the proxy, with a break every 20 minutes (26,280
//! breaks), each started through the native API and decided by renderings of both renditions
//! (tests/proxy_support/simulation.rs). Reports, for the first and the last day and every 30
//! days between: the p50 time to render a playlist (each rendering a cache miss), the process's
//! resident memory (proxy, packager and client share the process) and the size of the break
//! store file.
//!
//! The proxy runs with the default settings (30 days of history, 24 h idempotency keys) except
//! housekeeping every 500 ms of real time instead of 10 s: fast-forwarded, a stream lives
//! about a program day per real second, and a pass every 10 s would let thousands of ended
//! breaks pile up between passes, which a real-time stream never does.
//!
//! `cargo bench --bench simulated_year` (or `-- --days N` for a shorter run)
#[path = "../tests/proxy_support/mod.rs"]
mod proxy_support;

use hlsplice::packager::PackagerConfig;
use proxy_support::{Harness, simulation};

fn main() {
    let mut days = 365u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--days" {
            days = args.next().and_then(|d| d.parse().ok()).expect("--days N");
        }
        // cargo bench passes `--bench`; anything else is ignored.
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let config = PackagerConfig {
            part_ms: None,
            ..PackagerConfig::default()
        };
        let h = Harness::start_with("simulated-year", config, |c| {
            hlsplice::server::ServerConfig {
                housekeeping_ms: 500,
                ..c
            }
        })
        .await;
        println!(
            "{:>5} {:>12} {:>10} {:>12} {:>10}",
            "day", "p50 render", "renders", "RSS KiB", "store KiB"
        );
        let started = std::time::Instant::now();
        simulation::run(&h, days, |day| {
            if day.day == 1 || day.day == days || day.day % 30 == 0 {
                println!(
                    "{:>5} {:>10.1}µs {:>10} {:>12} {:>10}",
                    day.day,
                    day.p50().as_secs_f64() * 1e6,
                    day.renders.len(),
                    day.rss_kib,
                    day.store_bytes / 1024
                );
            }
        })
        .await;
        println!(
            "{days} days, {} breaks, in {:.1} s",
            days * simulation::BREAKS_PER_DAY,
            started.elapsed().as_secs_f64()
        );
    });
}
