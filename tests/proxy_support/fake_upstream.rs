//! Upstreams written for one test: every request goes to a closure (and is counted), bodies can
//! be fed chunk by chunk, and a small live media playlist to serve.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub type TestBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// A live media playlist with program dates (so breaks can be placed in it), three segments of
/// two seconds, no EXT-X-SERVER-CONTROL: the proxy serves it byte for byte while the stream
/// has no break.
pub const MEDIA_PLAYLIST: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n\
#EXT-X-MEDIA-SEQUENCE:10\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z\n\
#EXTINF:2.000,\nseg10.ts\n#EXTINF:2.000,\nseg11.ts\n#EXTINF:2.000,\nseg12.ts\n";

/// A one-route upstream: every request goes to `respond`, and is counted.
pub async fn tiny_upstream<F, Fut>(respond: F) -> (SocketAddr, Arc<AtomicU64>)
where
    F: Fn(Request<hyper::body::Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<TestBody>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let respond = respond.clone();
            let counter = counter.clone();
            let service = hyper::service::service_fn(move |req| {
                counter.fetch_add(1, Ordering::SeqCst);
                let respond = respond.clone();
                async move { Ok::<_, Infallible>(respond(req).await) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    (addr, count)
}

pub fn body(bytes: &'static [u8]) -> TestBody {
    http_body_util::Full::new(Bytes::from_static(bytes)).boxed()
}

pub fn body_of(bytes: impl Into<Bytes>) -> TestBody {
    http_body_util::Full::new(bytes.into()).boxed()
}

/// A response body fed by a channel, chunk by chunk; it ends when the sender is dropped.
pub struct ChannelBody(pub Option<mpsc::Receiver<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.0.as_mut() {
            Some(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
            None => std::task::Poll::Ready(None),
        }
    }
}
