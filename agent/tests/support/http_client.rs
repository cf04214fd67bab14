//! A minimal HTTP/1.1 client for the listener tests (core and validator): raw requests on a
//! stream, idle-connection floods, and a sender that drips one byte at a time. Included with
//! `#[path]`, so not every test uses every helper.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Reads until EOF, a reset, or `limit`; returns when the peer closed (None: still open).
pub(crate) async fn closed_after<S: AsyncRead + Unpin>(
    s: &mut S,
    start: Instant,
    limit: Duration,
) -> Option<Duration> {
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// One HTTP/1.1 exchange on an open stream: (status, body), or an error (`TimedOut` after 10 s).
/// Keeps the connection open.
pub(crate) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let exchange = async {
        s.write_all(request).await?;
        s.flush().await?;
        read_response(s).await
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer within 10 s",
            ))
        })
}

pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    s: &mut S,
) -> std::io::Result<(u16, Vec<u8>)> {
    let eof = || {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed before a whole response",
        )
    };
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut b).await? == 0 {
            return Err(eof());
        }
        head.push(b[0]);
        if head.len() > 16 * 1024 {
            return Err(std::io::Error::other("response head too long"));
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status: u16 = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(head.clone()))?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await?;
    Ok((status, body))
}

pub(crate) fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// Opens `n` idle connections as fast as possible; returns, per connection, when the server
/// closed it (from its connect), or None when still open at `limit`.
pub(crate) async fn idle_connections<F, Fut, S>(
    n: usize,
    limit: Duration,
    connect: F,
) -> (Vec<Option<Duration>>, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
    S: AsyncRead + Unpin + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        // From when the connection is established (a SYN retried for a full backlog must not
        // count as time the server held it).
        let mut s = connect().await;
        let at = Instant::now();
        tasks.push(tokio::spawn(async move {
            closed_after(&mut s, at, limit).await
        }));
    }
    let connecting = started.elapsed();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("reader task"));
    }
    (out, connecting)
}

/// Over the cap: closed at once (before half the timeout). Held: closed after the timeout (+2 s
/// margin), not before.
pub(crate) fn check_idle(
    closed: &[Option<Duration>],
    connecting: Duration,
    timeout: Duration,
    cap: usize,
    what: &str,
) {
    assert!(
        connecting < timeout,
        "{what}: opening the connections took {connecting:?}, longer than the {timeout:?} timeout"
    );
    let half = timeout.mul_f64(0.5);
    let still_open = closed.iter().filter(|c| c.is_none()).count();
    let at_once = closed.iter().flatten().filter(|d| **d < half).count();
    let held: Vec<Duration> = closed
        .iter()
        .flatten()
        .copied()
        .filter(|d| *d >= half)
        .collect();
    let (min, max) = (held.iter().min().copied(), held.iter().max().copied());
    println!(
        "{what}: {} idle connections opened in {connecting:?}: {at_once} closed within {half:?}, {} held and closed after {min:?}..{max:?} (timeout {timeout:?}, cap {cap}), {still_open} still open",
        closed.len(),
        held.len()
    );
    assert_eq!(
        still_open, 0,
        "{what}: connections still open after timeout + 4 s"
    );
    assert!(
        held.len() <= cap,
        "{what}: {} connections held, cap {cap}: {held:?}",
        held.len()
    );
    assert!(!held.is_empty(), "{what}: no connection was served at all");
    assert!(
        at_once >= closed.len().saturating_sub(cap),
        "{what}: only {at_once} closed at once"
    );
    for d in &held {
        assert!(
            *d >= timeout.saturating_sub(Duration::from_millis(100)),
            "{what}: a held connection closed after {d:?}, before the timeout"
        );
        assert!(
            *d <= timeout.saturating_add(Duration::from_secs(2)),
            "{what}: a held connection closed only after {d:?}"
        );
    }
}

/// Writes `bytes` one at a time every `every` until the server closes (or `limit`); returns the
/// time from the first byte to the close and whatever the server sent.
pub(crate) async fn drip<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    bytes: &[u8],
    every: Duration,
    limit: Duration,
) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    for b in bytes {
        if start.elapsed() > limit || s.write_all(&[*b]).await.is_err() || s.flush().await.is_err()
        {
            break;
        }
        match tokio::time::timeout(every, s.read(&mut buf)).await {
            Err(_) => {}                                                // nothing yet: next byte
            Ok(Ok(0)) | Ok(Err(_)) => return (start.elapsed(), answer), // closed
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
    }
    // Everything sent (or write failed): wait for the close.
    let left = limit.saturating_sub(start.elapsed());
    let _ = tokio::time::timeout(left, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    (start.elapsed(), answer)
}
