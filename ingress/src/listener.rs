//! The SCIM listener: connections whose requests the HTTP server cannot even parse (a
//! URL over its 64 KiB limit, more than 100 headers, malformed HTTP) get a SCIM Error
//! body too. hyper answers those itself, before any handler or middleware runs, with
//! an empty body; each connection's writes are watched for such an answer (an error
//! status with `content-length: 0`, which no handler of ours sends: every error of
//! ours has a SCIM Error body) and it is replaced by the same status with a body.

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use scim_core::error::error_body;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use scim_core::schema::SCIM_CONTENT_TYPE;

/// The address a connection came from (`ConnectInfo<Peer>` in a request's extensions).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub std::net::SocketAddr);

impl Connected<IncomingStream<'_, ScimListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, ScimListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// Accepts connections whose unparsable requests are answered in SCIM.
pub(crate) struct ScimListener(pub TcpListener);

impl Listener for ScimListener {
    type Io = ScimErrors<TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = Listener::accept(&mut self.0).await;
        (
            ScimErrors {
                io,
                pending: Vec::new(),
                sent: 0,
            },
            addr,
        )
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Listener::local_addr(&self.0)
    }
}

/// A connection whose bodiless error answers get a SCIM Error body.
pub(crate) struct ScimErrors<T> {
    io: T,
    /// A replacement answer not yet written whole, and how much of it was.
    pending: Vec<u8>,
    sent: usize,
}

impl<T: AsyncWrite + Unpin> ScimErrors<T> {
    /// Writes what is left of a replacement answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ScimErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ScimErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        match with_body(buf) {
            Some(answer) => {
                self.pending = answer;
                // Taken whole: the rest goes out with the next write, flush or shutdown.
                let _ = self.drain(cx)?;
                Poll::Ready(Ok(buf.len()))
            }
            None => Pin::new(&mut self.io).poll_write(cx, buf),
        }
    }

    /// hyper writes a response's head and body as separate slices; an answer of its own
    /// is a head alone.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut written = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (written.next(), written.next())
            && with_body(only).is_some()
        {
            return self.poll_write(cx, only);
        }
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// `written` with a SCIM Error body, when it is the whole of a bodiless error answer
/// (`HTTP/1.1 4xx` or `5xx`, `content-length: 0`, nothing after its head).
fn with_body(written: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(written.strip_prefix(b"HTTP/1.1 ")?).ok()?;
    let head = head.strip_suffix("\r\n\r\n")?;
    let (status_line, fields) = head.split_once("\r\n")?;
    let status: u16 = status_line.get(..3)?.parse().ok()?;
    if !(400..600).contains(&status) || head.contains("\r\n\r\n") {
        return None;
    }
    if !fields
        .split("\r\n")
        .any(|f| f.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let detail = match status {
        414 => {
            "the request's URL is longer than the service accepts (64 KiB); send a long filter in the body of POST .search"
        }
        431 => {
            "the request's headers are larger or more numerous than the service accepts (at most 100 headers)"
        }
        400 => "the request is not valid HTTP",
        _ => "the request could not be read",
    };
    let body = error_body(status, None, detail).to_string();
    let mut answer = format!(
        "HTTP/1.1 {status_line}\r\ncontent-type: {SCIM_CONTENT_TYPE}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_error_answers_get_a_body() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 01:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(with_body(hyper).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["status"], "431");
        assert!(body["detail"].as_str().unwrap().contains("100 headers"));

        for ours in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 12\r\n\r\n{\"x\":\"404\"}",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n",
            b"{\"HTTP/1.1 414\": 1}",
        ] {
            assert_eq!(with_body(ours), None, "{}", String::from_utf8_lossy(ours));
        }
    }
}
