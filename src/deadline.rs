//! A deadline on receiving a request body. The edge middleware puts every body under one; the
//! body extractors of both surfaces answer its expiry with 408.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

/// A body must arrive within its grace (`LATCHKEY_BODY_TIMEOUT_SECONDS`, 10 by default), plus
/// one more second for every this many bytes received (a floor of 64 KiB/s after the grace): a
/// slow client is cut off, a large upload on a real link is not.
pub const BODY_BYTES_PER_EXTRA_SECOND: u64 = 64 * 1024;

/// A request body that must arrive in time (see [`BODY_BYTES_PER_EXTRA_SECOND`]); past its
/// deadline it ends with a `TimedOut` error, which the body extractors answer with 408.
pub struct Deadline {
    inner: Payload,
    sleep: Pin<Box<Sleep>>,
    started: Instant,
    grace: Duration,
    received: u64,
    done: bool,
}

impl Deadline {
    /// `inner`, which must arrive within `grace` (see [`BODY_BYTES_PER_EXTRA_SECOND`]).
    pub fn new(inner: Payload, grace: Duration) -> Self {
        let started = Instant::now();
        Self {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(started + grace)),
            started,
            grace,
            received: 0,
            done: false,
        }
    }
}

/// True when `e` is the body deadline passing.
pub fn is_timeout(e: &PayloadError) -> bool {
    matches!(e, PayloadError::Io(io) if io.kind() == io::ErrorKind::TimedOut)
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.received += chunk.len() as u64;
                let extra = Duration::from_secs(self.received / BODY_BYTES_PER_EXTRA_SECOND);
                let deadline = self.started + self.grace + extra;
                self.sleep.as_mut().reset(deadline);
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(other) => return Poll::Ready(other),
            Poll::Pending => {}
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.done = true;
                Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request body not received in time",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
