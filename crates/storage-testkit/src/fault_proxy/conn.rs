//! One client connection: read each request, apply its fault or relay it
//! over this connection's own upstream connection, and record the outcome.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::plan::Fault;
use super::wire::{self, Copied, Encoding, Framing, HeadKind, Inbound, RequestInfo};
use super::Shared;

/// How long connecting to the upstream may take; on loopback it is
/// immediate unless the machine is overloaded.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The range a random cut is drawn from when a body's length is unknown.
const UNKNOWN_LENGTH_CUT: u64 = 64 * 1024;

/// Serves one accepted client connection until it closes or a fault ends it.
pub(super) async fn serve(client: TcpStream, connection: u64, shared: Arc<Shared>) {
    // Small head and chunk-line writes must not wait for delayed ACKs.
    let _ = client.set_nodelay(true);
    let mut conn = Conn {
        client,
        inbound: Inbound::default(),
        upstream: None,
        connection,
        shared,
    };
    let mut current = None;
    let result = conn.run(&mut current).await;
    match (result, current) {
        (Ok(End::Reset), _) => reset(&conn.client),
        (Err(e), Some(seq)) => conn.shared.update(seq, |r| r.error = Some(e.to_string())),
        _ => {}
    }
}

/// What happens to the client connection after an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    KeepAlive,
    Close,
    Reset,
}

/// How the response of a forwarded request is relayed.
#[derive(Debug, Clone, Copy)]
enum Relay {
    AsIs,
    Chunked,
    ResetAfter(Option<u64>),
}

struct Upstream {
    stream: TcpStream,
    inbound: Inbound,
}

impl Upstream {
    async fn connect(addr: SocketAddr) -> io::Result<Upstream> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to the upstream {addr} took over {CONNECT_TIMEOUT:?}"),
                )
            })?
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot connect to the upstream {addr}: {e}"),
                )
            })?;
        stream.set_nodelay(true)?;
        Ok(Upstream {
            stream,
            inbound: Inbound::default(),
        })
    }

    /// Whether the idle connection is still open with nothing unread: an
    /// upstream that closed it (idle timeout) shows as readable at EOF.
    fn reusable(&self) -> bool {
        let mut probe = [0u8; 1];
        self.inbound.is_empty()
            && matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

struct Conn {
    client: TcpStream,
    inbound: Inbound,
    upstream: Option<Upstream>,
    connection: u64,
    shared: Arc<Shared>,
}

impl Conn {
    async fn run(&mut self, current: &mut Option<u64>) -> io::Result<End> {
        loop {
            let Some(head) = self
                .inbound
                .read_head(&mut self.client, HeadKind::Request)
                .await?
            else {
                return Ok(End::Close);
            };
            let request = match wire::parse_request(&head) {
                Ok(request) => request,
                Err(e) => {
                    let text = format!("fault proxy: malformed request: {e}\n");
                    self.answer(400, None, &text, true, false).await?;
                    return Ok(End::Close);
                }
            };
            let admitted = self.shared.admit(self.connection, &request);
            *current = Some(admitted.seq);
            let seq = admitted.seq;
            let end = match admitted.fault {
                None => self.forward(seq, &head, &request, Relay::AsIs).await?,
                Some(Fault::Chunked) => self.forward(seq, &head, &request, Relay::Chunked).await?,
                Some(Fault::ResetMidResponse { after }) => {
                    self.forward(seq, &head, &request, Relay::ResetAfter(after))
                        .await?
                }
                Some(Fault::ResetMidRequest { after }) => {
                    self.reset_mid_request(seq, &head, &request, after).await?
                }
                Some(Fault::ResetBeforeResponse) => {
                    self.discard_body(&request).await?;
                    End::Reset
                }
                Some(Fault::Status { code, retry_after }) => {
                    self.discard_body(&request).await?;
                    // A client waiting for `100 Continue` never sends the
                    // body, so the connection cannot carry another request.
                    let close = request.close || request.expect_continue;
                    let text = format!("fault proxy: injected status {code}\n");
                    self.shared.update(seq, |r| r.status = Some(code));
                    self.answer(code, retry_after, &text, close, request.method == "HEAD")
                        .await?;
                    if close {
                        End::Close
                    } else {
                        End::KeepAlive
                    }
                }
                Some(Fault::Stall(duration)) => {
                    self.discard_body(&request).await?;
                    tokio::time::sleep(duration).await;
                    End::Close
                }
                Some(Fault::Hang) => {
                    let mut release = admitted.release;
                    // An error means the proxy is gone, which also ends the hang.
                    let _ = release.changed().await;
                    End::Close
                }
            };
            if end != End::KeepAlive {
                return Ok(end);
            }
        }
    }

    /// Relays a request and its response, applying `relay` to the response.
    async fn forward(
        &mut self,
        seq: u64,
        head: &[u8],
        request: &RequestInfo,
        relay: Relay,
    ) -> io::Result<End> {
        let Some(mut upstream) = self.take_upstream(seq, request).await? else {
            return Ok(End::Close);
        };
        upstream.stream.write_all(head).await?;
        self.shared.update(seq, |r| r.forwarded = true);
        let shared = &*self.shared;
        let client_inbound = &mut self.inbound;
        let (mut client_read, mut client_write) = self.client.split();
        let (mut upstream_read, mut upstream_write) = upstream.stream.split();
        // Both directions at once: a large upload streams while the
        // upstream may already answer (`100 Continue`, an early error).
        let send = async {
            wire::copy_body(
                client_inbound,
                &mut client_read,
                &mut upstream_write,
                request.framing,
                Encoding::AsReceived,
                None,
                &mut |n| shared.update(seq, |r| r.request_body_bytes = n),
            )
            .await?;
            Ok::<_, io::Error>(())
        };
        let receive = relay_response(
            &mut upstream.inbound,
            &mut upstream_read,
            &mut client_write,
            request,
            relay,
            shared,
            seq,
        );
        let ((), outcome) = tokio::try_join!(send, receive)?;
        Ok(match outcome {
            Relayed::Reset => {
                reset(&upstream.stream);
                End::Reset
            }
            Relayed::Done { upstream_close } => {
                if !upstream_close {
                    self.upstream = Some(upstream);
                }
                if upstream_close || request.close {
                    End::Close
                } else {
                    End::KeepAlive
                }
            }
        })
    }

    async fn reset_mid_request(
        &mut self,
        seq: u64,
        head: &[u8],
        request: &RequestInfo,
        after: Option<u64>,
    ) -> io::Result<End> {
        let cut = match request.framing {
            Framing::Length(0) => None,
            Framing::Length(n) => Some(
                after
                    .unwrap_or_else(|| self.shared.random_below(n))
                    .min(n - 1),
            ),
            Framing::Chunked | Framing::UntilClose => {
                Some(after.unwrap_or_else(|| self.shared.random_below(UNKNOWN_LENGTH_CUT)))
            }
        };
        self.shared.update(seq, |r| {
            r.fault = Some(Fault::ResetMidRequest {
                after: Some(cut.unwrap_or(0)),
            })
        });
        let Some(mut upstream) = self.take_upstream(seq, request).await? else {
            return Ok(End::Close);
        };
        // Without a body, only a head missing its final line break keeps
        // the upstream from seeing a complete request.
        let sent_head = if cut.is_some() {
            head
        } else {
            &head[..head.len().saturating_sub(2)]
        };
        upstream.stream.write_all(sent_head).await?;
        self.shared.update(seq, |r| r.forwarded = true);
        if let Some(cut) = cut {
            let shared = &*self.shared;
            wire::copy_body(
                &mut self.inbound,
                &mut self.client,
                &mut upstream.stream,
                request.framing,
                Encoding::AsReceived,
                Some(cut),
                &mut |n| shared.update(seq, |r| r.request_body_bytes = n),
            )
            .await?;
        }
        reset(&upstream.stream);
        Ok(End::Reset)
    }

    /// The upstream connection for this request: the idle one if it is
    /// still open, else a new one; it goes back only when reusable. When none can be had, the client gets a
    /// `502` saying why and `None` comes back.
    async fn take_upstream(
        &mut self,
        seq: u64,
        request: &RequestInfo,
    ) -> io::Result<Option<Upstream>> {
        let idle = self.upstream.take().filter(Upstream::reusable);
        let upstream = match idle {
            Some(upstream) => upstream,
            None => match Upstream::connect(self.shared.upstream).await {
                Ok(upstream) => upstream,
                Err(e) => {
                    self.shared.update(seq, |r| {
                        r.error = Some(e.to_string());
                        r.status = Some(502);
                    });
                    self.discard_body(request).await?;
                    let text = format!("fault proxy: {e}\n");
                    self.answer(502, None, &text, true, request.method == "HEAD")
                        .await?;
                    return Ok(None);
                }
            },
        };
        Ok(Some(upstream))
    }

    /// Reads and drops the request body, so an answer that does not
    /// forward it reaches a client still sending (closing with unread
    /// bytes would reset the connection under the answer).
    async fn discard_body(&mut self, request: &RequestInfo) -> io::Result<()> {
        if request.expect_continue {
            return Ok(());
        }
        wire::copy_body(
            &mut self.inbound,
            &mut self.client,
            &mut tokio::io::sink(),
            request.framing,
            Encoding::AsReceived,
            None,
            &mut |_| {},
        )
        .await?;
        Ok(())
    }

    /// Sends the proxy's own response.
    async fn answer(
        &mut self,
        code: u16,
        retry_after: Option<u64>,
        text: &str,
        close: bool,
        head_only: bool,
    ) -> io::Result<()> {
        let reason = http::StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Injected Fault");
        let mut response = format!(
            "HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n",
            text.len()
        );
        if let Some(secs) = retry_after {
            response.push_str(&format!("retry-after: {secs}\r\n"));
        }
        if close {
            response.push_str("connection: close\r\n");
        }
        response.push_str("\r\n");
        if !head_only {
            response.push_str(text);
        }
        self.client.write_all(response.as_bytes()).await
    }
}

/// How relaying a response ended.
enum Relayed {
    Done { upstream_close: bool },
    Reset,
}

async fn relay_response<R, W>(
    inbound: &mut Inbound,
    upstream: &mut R,
    client: &mut W,
    request: &RequestInfo,
    relay: Relay,
    shared: &Shared,
    seq: u64,
) -> io::Result<Relayed>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (head, response) = loop {
        let head = inbound
            .read_head(upstream, HeadKind::Response)
            .await?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the upstream closed the connection without answering",
                )
            })?;
        let response = wire::parse_response(&head, &request.method)?;
        if !response.interim {
            break (head, response);
        }
        client.write_all(&head).await?;
    };
    let bodiless = response.framing == Framing::Length(0);
    let (encoding, cut) = match relay {
        Relay::AsIs => (Encoding::AsReceived, None),
        Relay::Chunked => (Encoding::Chunked, None),
        Relay::ResetAfter(_) if bodiless => return Ok(Relayed::Reset),
        Relay::ResetAfter(after) => {
            let cut = match response.framing {
                Framing::Length(n) => after.unwrap_or_else(|| shared.random_below(n)).min(n - 1),
                Framing::Chunked | Framing::UntilClose => {
                    after.unwrap_or_else(|| shared.random_below(UNKNOWN_LENGTH_CUT))
                }
            };
            shared.update(seq, |r| {
                r.fault = Some(Fault::ResetMidResponse { after: Some(cut) })
            });
            (Encoding::AsReceived, Some(cut))
        }
    };
    let rechunk =
        encoding == Encoding::Chunked && !bodiless && response.framing != Framing::Chunked;
    // Recorded before it is sent, so a client that has the answer finds it
    // in the record.
    shared.update(seq, |r| r.status = Some(response.status));
    if rechunk {
        client.write_all(&wire::rechunk_head(&head)).await?;
    } else {
        client.write_all(&head).await?;
    }
    let copied = wire::copy_body(
        inbound,
        upstream,
        client,
        response.framing,
        encoding,
        cut,
        &mut |n| shared.update(seq, |r| r.response_body_bytes = n),
    )
    .await?;
    Ok(match copied {
        Copied::Complete(_) if cut.is_none() => Relayed::Done {
            upstream_close: response.close,
        },
        _ => Relayed::Reset,
    })
}

/// Makes the next close of `stream` an RST instead of a FIN.
fn reset(stream: &TcpStream) {
    // If the option cannot be set, the close is a FIN: the peer still sees
    // the connection end mid-message, which is the fault's point.
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
