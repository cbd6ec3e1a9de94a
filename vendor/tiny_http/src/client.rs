use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Method};
use crate::util::RefinedTcpStream;
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // dq's patch: how long a request (head and a body read in advance) may take to arrive,
    // from its first byte; the socket's receive timeout. `None`: no limit, as upstream.
    request_budget: Option<Duration>,

    // dq's patch: accepted beyond the server's connection limit: one request is read, marked
    // `over_capacity` for the application to answer (a 503, or a health check), then closed.
    over_capacity: bool,

    // dq's patch: false while the last request's response has not been written (its writer
    // not dropped): a long poll. The connection is not idle then, whatever the socket's
    // receive timeout says, so it is not closed under the client waiting for that answer.
    last_answered: Arc<AtomicBool>,
}

/// dq's patch: a response writer that records, when dropped, that the response is written.
struct AnsweredOnDrop<W: Write> {
    inner: W,
    answered: Arc<AtomicBool>,
}

impl<W: Write> Write for AnsweredOnDrop<W> {
    fn write(&mut self, buf: &[u8]) -> IoResult<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> IoResult<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for AnsweredOnDrop<W> {
    fn drop(&mut self) {
        self.answered.store(true, Ordering::Release);
    }
}

/// dq's patch: the longest request line or header line accepted (431 beyond). Upstream had no
/// limit, so one endless header line grew memory until the process died.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// dq's patch: the most header lines accepted in one request (431 beyond).
const MAX_HEADERS: usize = 100;

/// dq's patch: a reader that fails with `TimedOut` once its deadline has passed, so a client
/// that trickles bytes (each within the socket timeout) cannot hold a thread for ever.
struct DeadlineReader<R> {
    inner: R,
    deadline: Option<Instant>,
}

impl<R: Read> Read for DeadlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.deadline.is_some_and(|deadline| Instant::now() > deadline) {
            return Err(IoError::new(
                ErrorKind::TimedOut,
                "the request did not arrive in time",
            ));
        }
        self.inner.read(buf)
    }
}

/// dq's patch: errors tiny_http answers itself are JSON like the application's, not empty.
fn json_error(status: u16, message: &str) -> crate::Response<std::io::Cursor<Vec<u8>>> {
    let body = format!("{{\"success\":false,\"error\":\"{}\"}}", message);
    let mut response = crate::Response::from_data(body.into_bytes())
        .with_status_code(crate::StatusCode(status));
    if let Ok(header) = crate::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..]) {
        response.add_header(header);
    }
    if let Ok(header) = crate::Header::from_bytes(&b"Connection"[..], &b"close"[..]) {
        response.add_header(header);
    }
    response
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader(HTTPVersion),
    /// dq's patch: a line over `MAX_LINE_BYTES` or more than `MAX_HEADERS` headers
    HeadTooLarge,
    /// dq's patch: bytes that are not ASCII in the request line or a header
    NotAscii,
    /// dq's patch: the connection ended before a request began
    Idle,
    /// dq's patch: nothing arrived within the socket's receive timeout before a request began
    IdleTimeout,
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed(HTTPVersion),
    ReadIoError(IoError),
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();
        let request_budget = read_socket.read_timeout();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            request_budget,
            over_capacity: false,
            last_answered: Arc::new(AtomicBool::new(true)),
        }
    }

    /// dq's patch: see `over_capacity`.
    pub(crate) fn over_capacity(mut self) -> ClientConnection {
        self.over_capacity = true;
        self
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// dq's patch: the line is bounded by `MAX_LINE_BYTES`, and the request by `deadline`,
    /// which starts at the request's first byte.
    fn read_next_line(&mut self, deadline: &mut Option<Instant>) -> Result<AsciiString, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(b) => b.map_err(ReadError::ReadIoError)?,
                None => {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )))
                }
            };

            let now = Instant::now();
            match *deadline {
                None => *deadline = self.request_budget.map(|budget| now + budget),
                Some(deadline) if now > deadline => {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::TimedOut,
                        "the request head did not arrive in time",
                    )))
                }
                Some(_) => {}
            }

            if byte == b'\n' && prev_byte_was_cr {
                buf.pop(); // removing the '\r'
                return AsciiString::from_ascii(buf).map_err(|_| ReadError::NotAscii);
            }

            prev_byte_was_cr = byte == b'\r';

            if buf.len() >= MAX_LINE_BYTES {
                return Err(ReadError::HeadTooLarge);
            }
            buf.push(byte);
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        let mut deadline = None;
        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line(&mut deadline).map_err(|error| match error {
                    // dq's patch: a kept-alive connection that stays idle is closed
                    // silently; 408 is only for a request that started to arrive.
                    ReadError::ReadIoError(ref error)
                        if deadline.is_none()
                            && matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                    {
                        ReadError::IdleTimeout
                    }
                    ReadError::ReadIoError(_) if deadline.is_none() => ReadError::Idle,
                    error => error,
                })?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line(&mut deadline)?;

                    if line.is_empty() {
                        break;
                    };
                    if headers.len() >= MAX_HEADERS {
                        return Err(ReadError::HeadTooLarge);
                    }
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader(version)),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // building the writer for the request
        let answered = Arc::new(AtomicBool::new(false));
        self.last_answered = Arc::clone(&answered);
        let writer = AnsweredOnDrop {
            inner: self.sink.next().unwrap(),
            answered,
        };

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);
        let data_source = DeadlineReader {
            inner: data_source,
            deadline,
        };

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version.clone(),
            headers,
            *self.remote_addr.as_ref().unwrap(),
            data_source,
            writer,
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => {
                    ReadError::ExpectationFailed(version)
                }
            }
        })?;

        // return the request
        Ok(request)
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        use crate::{Response, StatusCode};

        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) => {
                    let writer = self.sink.next().unwrap();
                    let response = json_error(400, "malformed request line");
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::NotAscii) => {
                    let writer = self.sink.next().unwrap();
                    let response = json_error(400, "request line or header is not ASCII");
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None;
                }

                Err(ReadError::HeadTooLarge) => {
                    let writer = self.sink.next().unwrap();
                    let response = json_error(431, "request header fields too large");
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None;
                }

                Err(ReadError::WrongHeader(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = json_error(400, "malformed header");
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                // dq's patch: a socket receive timeout shows as `WouldBlock` on Unix; answer it too.
                Err(ReadError::ReadIoError(ref err))
                    if matches!(err.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
                {
                    // request timeout
                    let writer = self.sink.next().unwrap();
                    let response = json_error(408, "the request did not arrive in time");
                    response
                        .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                        .ok();
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed(ver)) => {
                    let writer = self.sink.next().unwrap();
                    let response = json_error(417, "unsupported Expect header");
                    response.raw_print(writer, ver, &[], false, None).ok();
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                // dq's patch: silent since the last request, but that request is still being
                // answered (a long poll): not idle; keep waiting for the next one.
                Err(ReadError::IdleTimeout) if !self.last_answered.load(Ordering::Acquire) => {
                    continue
                }

                Err(ReadError::ReadIoError(_))
                | Err(ReadError::Idle)
                | Err(ReadError::IdleTimeout) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version
            if *rq.http_version() > (1, 1) {
                // dq's patch: answer through the request's own writer. Upstream took the next
                // writer from `self.sink`, which waits for this request's writer to be
                // dropped, while `rq` (holding it) lived until after the write: the
                // connection's thread and socket were stuck forever, for any client that
                // sent `HTTP/2.0`. The connection is closed after, as RFC 9110 pairs 505 with.
                let writer = rq.into_writer();
                let response = Response::from_string(
                    "This server only supports HTTP versions 1.0 and 1.1".to_owned(),
                )
                .with_status_code(StatusCode(505));
                response
                    .raw_print(writer, HTTPVersion(1, 1), &[], false, None)
                    .ok();
                return None;
            }

            // dq's patch: a body that was not read in advance (chunked, over
            // `PREREAD_BODY_BYTES`, after `Expect`, or with an unreadable length) may be left
            // partly unread by the application (a 401, 413 or 408 answered first); its rest
            // must never be parsed as the next request, so the connection ends with this one.
            let body_left_on_socket = rq.headers().iter().any(|h| {
                h.field.equiv("Transfer-Encoding")
                    || h.field.equiv("Expect")
                    || (h.field.equiv("Content-Length")
                        && h.value
                            .as_str()
                            .trim()
                            .parse::<usize>()
                            .map_or(true, |length| length > crate::request::PREREAD_BODY_BYTES))
            });
            if body_left_on_socket || self.over_capacity {
                self.no_more_requests = true;
            }
            let rq = if self.over_capacity {
                rq.mark_over_capacity()
            } else {
                rq
            };

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val) if val.contains("upgrade") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
