//! Just enough HTTP/1.1 to relay messages byte for byte: where a head ends,
//! how its body is framed, and where a chunked body stops. Heads are
//! forwarded as received; only the `Chunked` fault rewrites one.

use std::io;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest head (request or status line plus headers) the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// The most headers one head may carry.
const MAX_HEADERS: usize = 128;
/// The longest chunk-size or trailer line.
const MAX_LINE: usize = 8 * 1024;
/// How much one read asks for; a body never sits in memory beyond this.
const READ_SIZE: usize = 64 * 1024;

/// How a body's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Content-Length` bytes (0 when the message has no body).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// A response body that ends when the upstream closes.
    UntilClose,
}

/// How a body is written on the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Byte for byte.
    AsReceived,
    /// Re-framed as chunks (a chunked body stays as it was).
    Chunked,
}

/// How a body copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copied {
    /// The whole body went across; the number of bytes written.
    Complete(u64),
    /// The copy stopped at its cut, before the body's end; bytes written.
    Cut(u64),
}

/// Bytes read from one socket and not yet relayed. It lives as long as the
/// connection, because on keep-alive the next head may already be in it.
#[derive(Debug, Default)]
pub(crate) struct Inbound {
    buf: BytesMut,
}

impl Inbound {
    /// Whether nothing is buffered (a reusable idle upstream has nothing).
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<usize> {
        self.buf.reserve(READ_SIZE);
        reader.read_buf(&mut self.buf).await
    }

    /// Reads one head; `None` when the peer closed cleanly before sending
    /// any byte of it.
    pub(crate) async fn read_head<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        kind: HeadKind,
    ) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(len) = kind.complete_len(&self.buf)? {
                return Ok(Some(self.buf.split_to(len).freeze()));
            }
            if self.buf.len() >= MAX_HEAD {
                return Err(invalid(format!(
                    "{} head is larger than {MAX_HEAD} bytes",
                    kind.name()
                )));
            }
            if self.fill(reader).await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(eof(format!(
                    "peer closed the connection in the middle of a {} head",
                    kind.name()
                )));
            }
        }
    }

    async fn read_line<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<Bytes> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Ok(self.buf.split_to(i + 1).freeze());
            }
            if self.buf.len() >= MAX_LINE {
                return Err(invalid(format!(
                    "chunked body line is longer than {MAX_LINE} bytes"
                )));
            }
            if self.fill(reader).await? == 0 {
                return Err(eof("peer closed the connection inside a chunked body"));
            }
        }
    }

    async fn read_exact<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        n: usize,
    ) -> io::Result<Bytes> {
        while self.buf.len() < n {
            if self.fill(reader).await? == 0 {
                return Err(eof("peer closed the connection inside a chunked body"));
            }
        }
        Ok(self.buf.split_to(n).freeze())
    }
}

/// Which head [`Inbound::read_head`] expects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HeadKind {
    Request,
    Response,
}

impl HeadKind {
    fn name(self) -> &'static str {
        match self {
            HeadKind::Request => "request",
            HeadKind::Response => "response",
        }
    }

    fn complete_len(self, buf: &[u8]) -> io::Result<Option<usize>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let status = match self {
            HeadKind::Request => httparse::Request::new(&mut headers).parse(buf),
            HeadKind::Response => httparse::Response::new(&mut headers).parse(buf),
        };
        match status {
            Ok(httparse::Status::Complete(len)) => Ok(Some(len)),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(invalid(format!("unparsable {} head: {e}", self.name()))),
        }
    }
}

/// What the proxy needs to know about a request head.
#[derive(Debug, Clone)]
pub(crate) struct RequestInfo {
    pub(crate) method: String,
    pub(crate) target: String,
    /// Names lower-cased, values as received (lossy UTF-8).
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) framing: Framing,
    /// The client expects the connection to close after this exchange.
    pub(crate) close: bool,
    /// The client waits for `100 Continue` before it sends the body.
    pub(crate) expect_continue: bool,
}

/// What the proxy needs to know about a response head.
#[derive(Debug, Clone)]
pub(crate) struct ResponseInfo {
    pub(crate) status: u16,
    pub(crate) framing: Framing,
    pub(crate) close: bool,
    /// A `1xx` other than `101`: another head follows.
    pub(crate) interim: bool,
}

pub(crate) fn parse_request(head: &[u8]) -> io::Result<RequestInfo> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    parsed
        .parse(head)
        .map_err(|e| invalid(format!("unparsable request head: {e}")))?;
    let headers = owned_headers(parsed.headers);
    let framing = match body_framing(&headers)? {
        BodyHeaders::Chunked => Framing::Chunked,
        BodyHeaders::Length(n) => Framing::Length(n),
        BodyHeaders::None => Framing::Length(0),
        BodyHeaders::OtherTransferEncoding => {
            return Err(invalid(
                "request transfer-encoding does not end in chunked, so its length is unknown",
            ))
        }
    };
    let minor = parsed.version.unwrap_or(1);
    Ok(RequestInfo {
        method: parsed.method.unwrap_or_default().to_string(),
        target: parsed.path.unwrap_or_default().to_string(),
        close: wants_close(&headers, minor),
        expect_continue: has_token(&headers, "expect", "100-continue"),
        framing,
        headers,
    })
}

pub(crate) fn parse_response(head: &[u8], request_method: &str) -> io::Result<ResponseInfo> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut slots);
    parsed
        .parse(head)
        .map_err(|e| invalid(format!("unparsable response head: {e}")))?;
    let status = parsed.code.unwrap_or_default();
    let headers = owned_headers(parsed.headers);
    let bodiless = request_method == "HEAD" || (100..200).contains(&status) || status == 204;
    let framing = if bodiless || status == 304 {
        Framing::Length(0)
    } else {
        match body_framing(&headers)? {
            BodyHeaders::Chunked => Framing::Chunked,
            BodyHeaders::Length(n) => Framing::Length(n),
            BodyHeaders::None | BodyHeaders::OtherTransferEncoding => Framing::UntilClose,
        }
    };
    let minor = parsed.version.unwrap_or(1);
    Ok(ResponseInfo {
        status,
        close: wants_close(&headers, minor) || framing == Framing::UntilClose,
        interim: (100..200).contains(&status) && status != 101,
        framing,
    })
}

/// The same response head without `Content-Length` and with
/// `Transfer-Encoding: chunked`; every other line is kept byte for byte.
pub(crate) fn rechunk_head(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len() + 32);
    let mut lines = head.split_inclusive(|&b| b == b'\n');
    if let Some(status_line) = lines.next() {
        out.extend_from_slice(status_line);
    }
    for line in lines {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if !name.trim_ascii().eq_ignore_ascii_case(b"content-length") {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
    out
}

/// Copies one body from `reader` (through `inbound`) to `writer`.
///
/// With a `cut`, at most that many bytes are written and the body's end is
/// never written: a chunked body stops before its last chunk, and callers
/// keep the cut of a sized body below its length.
///
/// `counted` hears the running total before each write, so a peer that has
/// read the bytes never finds them uncounted.
pub(crate) async fn copy_body<R, W>(
    inbound: &mut Inbound,
    reader: &mut R,
    writer: &mut W,
    framing: Framing,
    encoding: Encoding,
    cut: Option<u64>,
    counted: &mut (dyn FnMut(u64) + Send),
) -> io::Result<Copied>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut sink = Sink {
        writer,
        written: 0,
        cut,
        counted,
    };
    let complete = match (framing, encoding) {
        (Framing::Chunked, _) => copy_chunked(inbound, reader, &mut sink).await?,
        (Framing::Length(n), Encoding::AsReceived) => {
            copy_payload(inbound, reader, &mut sink, Some(n), false).await?
        }
        (Framing::UntilClose, Encoding::AsReceived) => {
            copy_payload(inbound, reader, &mut sink, None, false).await?
        }
        (Framing::Length(n), Encoding::Chunked) => {
            copy_payload(inbound, reader, &mut sink, Some(n), true).await?
                && sink.put(b"0\r\n\r\n").await?
        }
        (Framing::UntilClose, Encoding::Chunked) => {
            copy_payload(inbound, reader, &mut sink, None, true).await?
                && sink.put(b"0\r\n\r\n").await?
        }
    };
    Ok(if complete {
        Copied::Complete(sink.written)
    } else {
        Copied::Cut(sink.written)
    })
}

/// A writer that stops at a cut.
struct Sink<'a, W> {
    writer: &'a mut W,
    written: u64,
    cut: Option<u64>,
    counted: &'a mut (dyn FnMut(u64) + Send),
}

impl<W: AsyncWrite + Unpin> Sink<'_, W> {
    /// Writes what the cut allows; `false` once the cut is reached.
    async fn put(&mut self, data: &[u8]) -> io::Result<bool> {
        let allowed = match self.cut {
            Some(cut) => usize::try_from(cut - self.written)
                .unwrap_or(usize::MAX)
                .min(data.len()),
            None => data.len(),
        };
        self.written += allowed as u64;
        (self.counted)(self.written);
        self.writer.write_all(&data[..allowed]).await?;
        Ok(self.cut != Some(self.written))
    }
}

/// Copies `len` bytes, or up to end of stream when `len` is `None`; `false`
/// when the cut stopped it.
async fn copy_payload<R, W>(
    inbound: &mut Inbound,
    reader: &mut R,
    sink: &mut Sink<'_, W>,
    len: Option<u64>,
    as_chunks: bool,
) -> io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = len;
    while left != Some(0) {
        if inbound.buf.is_empty() && inbound.fill(reader).await? == 0 {
            return match left {
                None => Ok(true),
                Some(missing) => Err(eof(format!(
                    "peer closed the connection with {missing} body bytes still to come"
                ))),
            };
        }
        let available = inbound.buf.len();
        let take = left.map_or(available, |l| {
            usize::try_from(l).unwrap_or(usize::MAX).min(available)
        });
        let piece = inbound.buf.split_to(take);
        if let Some(l) = left.as_mut() {
            *l -= take as u64;
        }
        let more = if as_chunks {
            sink.put(format!("{take:x}\r\n").as_bytes()).await?
                && sink.put(&piece).await?
                && sink.put(b"\r\n").await?
        } else {
            sink.put(&piece).await?
        };
        if !more {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn copy_chunked<R, W>(
    inbound: &mut Inbound,
    reader: &mut R,
    sink: &mut Sink<'_, W>,
) -> io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let line = inbound.read_line(reader).await?;
        let size = chunk_size(&line)?;
        if size == 0 {
            if sink.cut.is_some() {
                return Ok(false);
            }
            sink.put(&line).await?;
            return copy_trailers(inbound, reader, sink).await;
        }
        if !sink.put(&line).await?
            || !copy_payload(inbound, reader, sink, Some(size), false).await?
        {
            return Ok(false);
        }
        let crlf = inbound.read_exact(reader, 2).await?;
        if &crlf[..] != b"\r\n" {
            return Err(invalid("chunk data is not followed by CRLF"));
        }
        if !sink.put(&crlf).await? {
            return Ok(false);
        }
    }
}

async fn copy_trailers<R, W>(
    inbound: &mut Inbound,
    reader: &mut R,
    sink: &mut Sink<'_, W>,
) -> io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut total = 0;
    loop {
        let line = inbound.read_line(reader).await?;
        total += line.len();
        if total > MAX_HEAD {
            return Err(invalid(format!(
                "chunked trailers are larger than {MAX_HEAD} bytes"
            )));
        }
        sink.put(&line).await?;
        if &line[..] == b"\r\n" || &line[..] == b"\n" {
            return Ok(true);
        }
    }
}

fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let size = line
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    std::str::from_utf8(size)
        .ok()
        .filter(|s| !s.is_empty())
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| {
            invalid(format!(
                "bad chunk size line {:?}",
                String::from_utf8_lossy(line)
            ))
        })
}

enum BodyHeaders {
    None,
    Length(u64),
    Chunked,
    OtherTransferEncoding,
}

fn body_framing(headers: &[(String, String)]) -> io::Result<BodyHeaders> {
    let codings: Vec<&str> = values(headers, "transfer-encoding")
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        return Ok(if last.eq_ignore_ascii_case("chunked") {
            BodyHeaders::Chunked
        } else {
            BodyHeaders::OtherTransferEncoding
        });
    }
    let mut length = None;
    for value in values(headers, "content-length").flat_map(|v| v.split(',')) {
        let n: u64 = value
            .trim()
            .parse()
            .map_err(|_| invalid(format!("bad content-length {value:?}")))?;
        if length.is_some_and(|l| l != n) {
            return Err(invalid("conflicting content-length headers"));
        }
        length = Some(n);
    }
    Ok(length.map_or(BodyHeaders::None, BodyHeaders::Length))
}

fn wants_close(headers: &[(String, String)], minor_version: u8) -> bool {
    has_token(headers, "connection", "close")
        || (minor_version == 0 && !has_token(headers, "connection", "keep-alive"))
}

fn has_token(headers: &[(String, String)], name: &str, token: &str) -> bool {
    values(headers, name)
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn values<'a>(headers: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

fn eof(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn copy(
        input: &[u8],
        framing: Framing,
        encoding: Encoding,
        cut: Option<u64>,
    ) -> (io::Result<Copied>, Vec<u8>, Vec<u8>) {
        let mut inbound = Inbound::default();
        let mut reader = input;
        let mut out = Vec::new();
        let mut counted = 0;
        let result = copy_body(
            &mut inbound,
            &mut reader,
            &mut out,
            framing,
            encoding,
            cut,
            &mut |n| counted = n,
        )
        .await;
        if let Ok(Copied::Complete(n) | Copied::Cut(n)) = result {
            assert_eq!(counted, n, "every written byte was counted first");
        }
        let mut rest = inbound.buf.to_vec();
        rest.extend_from_slice(reader);
        (result, out, rest)
    }

    #[tokio::test]
    async fn chunked_body_is_copied_verbatim_and_stops_at_its_end() {
        let body = b"5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nx-trailer: y\r\n\r\n";
        let mut input = body.to_vec();
        input.extend_from_slice(b"GET /next HTTP/1.1\r\n");
        let (result, out, rest) = copy(&input, Framing::Chunked, Encoding::AsReceived, None).await;
        assert_eq!(result.ok(), Some(Copied::Complete(body.len() as u64)));
        assert_eq!(out, body);
        assert_eq!(rest, b"GET /next HTTP/1.1\r\n");
    }

    #[tokio::test]
    async fn a_cut_chunked_body_never_gets_its_last_chunk() {
        let body = b"5\r\nhello\r\n0\r\n\r\n";
        let (result, out, _) = copy(body, Framing::Chunked, Encoding::AsReceived, Some(1000)).await;
        assert_eq!(result.ok(), Some(Copied::Cut(10)));
        assert_eq!(out, b"5\r\nhello\r\n");
    }

    #[tokio::test]
    async fn a_sized_body_is_rechunked() {
        let (result, out, rest) =
            copy(b"hello world", Framing::Length(5), Encoding::Chunked, None).await;
        assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
        assert_eq!(result.ok(), Some(Copied::Complete(out.len() as u64)));
        assert_eq!(rest, b" world");
    }

    #[tokio::test]
    async fn a_short_sized_body_is_an_error_naming_the_missing_bytes() {
        let (result, _, _) = copy(b"abc", Framing::Length(5), Encoding::AsReceived, None).await;
        let err = result.expect_err("body ended early");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("2 body bytes"), "{err}");
    }

    #[test]
    fn rechunk_head_drops_only_content_length() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Keep: a:b\r\n\r\n";
        assert_eq!(
            rechunk_head(head),
            b"HTTP/1.1 200 OK\r\nX-Keep: a:b\r\ntransfer-encoding: chunked\r\n\r\n"
        );
    }

    #[test]
    fn framing_follows_the_headers_and_the_request_method() {
        let req = parse_request(b"PUT /a?b=c HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\n")
            .expect("parse");
        assert_eq!(
            (req.method.as_str(), req.target.as_str()),
            ("PUT", "/a?b=c")
        );
        assert_eq!(req.framing, Framing::Length(7));
        assert!(!req.close);
        let resp =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").expect("parse");
        assert_eq!(resp.framing, Framing::Length(0));
        let resp = parse_response(b"HTTP/1.1 200 OK\r\n\r\n", "GET").expect("parse");
        assert_eq!(resp.framing, Framing::UntilClose);
        assert!(resp.close);
        let resp = parse_response(b"HTTP/1.1 100 Continue\r\n\r\n", "PUT").expect("parse");
        assert!(resp.interim);
        assert!(
            parse_request(b"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .is_err()
        );
    }
}
