//! Replica fleets: several `hlsplice serve --redis URL` on one Redis, each told of the others'
//! commits.
//!
//! Every commit publishes `"<revision> <stream>"` on the store's changes channel (in the
//! commit's own script, see `store::redis`). One task per server subscribes to it; a message
//! for a stream this server holds at an older revision marks it stale and reloads it in the
//! background (dropping its cached renderings), and a stale stream catches up before its next
//! rendering or API change in any case ([`Streams::note_change`]).
//!
//! Messages are lost only while the subscription is down (Redis restarting, a network cut).
//! On every (re)subscription the server therefore compares every stream it holds with the
//! store ([`Streams::catch_up_all`]), and housekeeping does the same every pass as a safety
//! net. Staleness bound: while subscribed, a change reaches the other replicas' memory within
//! the message's delivery (well under a millisecond on one network) plus one store read;
//! otherwise within the reconnection backoff ([`RESUBSCRIBE_BACKOFF_MAX`]) once Redis is back,
//! and never later than one housekeeping pass (`housekeeping_ms`). Whatever is stale, a
//! decision is never stored twice: every commit is a compare-and-set on the stream's revision.
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use super::App;
use super::store::{Change, RedisStore};
use super::streams::Streams;

/// Shortest and longest wait before subscribing again after the subscription failed.
const RESUBSCRIBE_BACKOFF_MIN: Duration = Duration::from_millis(50);
/// See [`RESUBSCRIBE_BACKOFF_MIN`].
pub const RESUBSCRIBE_BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Deadline of connecting and subscribing.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Follows the changes channel for ever (until the task is aborted), resubscribing with
/// backoff whenever the subscription fails.
pub async fn follow_changes(store: Arc<RedisStore>, app: Arc<App>) {
    let streams = &app.streams;
    let mut backoff = RESUBSCRIBE_BACKOFF_MIN;
    loop {
        match subscribe(&store).await {
            Ok(pubsub) => {
                backoff = RESUBSCRIBE_BACKOFF_MIN;
                tracing::info!(redis = %store.address(), channel = %store.channel(), "following the fleet's changes");
                // Subscribed first, compared second: a change committed in between is
                // either seen here or heard below.
                catch_up(&store, streams).await;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else {
                        continue;
                    };
                    match Change::parse(&payload) {
                        Some(change) => {
                            streams.note_change(&change);
                        }
                        None => tracing::warn!(payload, "unreadable change notification ignored"),
                    }
                }
                tracing::warn!(redis = %store.address(), "the changes subscription ended; subscribing again");
                store.note_failure("the changes subscription was lost");
            }
            Err(why) => {
                tracing::debug!(redis = %store.address(), error = %why, "subscribing to the fleet's changes failed");
                store.note_failure(&why);
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RESUBSCRIBE_BACKOFF_MAX);
    }
}

async fn subscribe(store: &RedisStore) -> Result<redis::aio::PubSub, String> {
    let connect = async {
        let mut pubsub = store.client().get_async_pubsub().await?;
        pubsub.subscribe(store.channel()).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match tokio::time::timeout(SUBSCRIBE_TIMEOUT, connect).await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer within {} ms",
            SUBSCRIBE_TIMEOUT.as_millis()
        )),
    }
}

/// After (re)subscribing: the store answers again (health), and every stream held catches up
/// with what was missed.
async fn catch_up(store: &Arc<RedisStore>, streams: &Streams) {
    let probe = Arc::clone(store);
    let _ = tokio::task::spawn_blocking(move || probe.ping()).await;
    match streams.catch_up_all().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(streams = n, "streams caught up after (re)subscribing"),
        Err(e) => tracing::warn!(error = %e, "catching up after (re)subscribing failed"),
    }
}
