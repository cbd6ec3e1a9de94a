use std::io::Read;
use std::io::Result as IoResult;
use std::sync::mpsc::channel;
use std::sync::mpsc::{Receiver, Sender};

/// A `Reader` that reads exactly the number of bytes from a sub-reader.
///
/// If the limit is reached, it returns EOF. If the limit is not reached
/// when the destructor is called, the remaining bytes will be read and
/// thrown away.
pub struct EqualReader<R>
where
    R: Read + Send + 'static,
{
    // dq's patch: an `Option` so that `drop` can hand the reader to a draining thread.
    reader: Option<R>,
    size: usize,
    last_read_signal: Sender<IoResult<()>>,
}

impl<R> EqualReader<R>
where
    R: Read + Send + 'static,
{
    pub fn new(reader: R, size: usize) -> (EqualReader<R>, Receiver<IoResult<()>>) {
        let (tx, rx) = channel();

        let r = EqualReader {
            reader: Some(reader),
            size,
            last_read_signal: tx,
        };

        (r, rx)
    }
}

impl<R> Read for EqualReader<R>
where
    R: Read + Send + 'static,
{
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.size == 0 {
            return Ok(0);
        }

        let buf = if buf.len() < self.size {
            buf
        } else {
            &mut buf[..self.size]
        };

        let reader = match self.reader.as_mut() {
            Some(reader) => reader,
            None => return Ok(0),
        };
        match reader.read(buf) {
            Ok(len) => {
                self.size -= len;
                Ok(len)
            }
            err @ Err(_) => err,
        }
    }
}

impl<R> Drop for EqualReader<R>
where
    R: Read + Send + 'static,
{
    // dq's patch: at most `DRAIN_BYTES` of the rest of the body are read and thrown away,
    // through a small fixed buffer, on a thread of its own. Upstream allocated a buffer of
    // the *announced* remaining size, so one request with `Content-Length:
    // 18446744073709551615` (refused with 401 or 413 before its body was read, no token
    // needed) panicked with "capacity overflow" and took the process down; and it drained
    // the body on the application's thread before the answer was written, so a client that
    // announced a body and sent nothing held that thread for the whole socket timeout.
    // The connection is closed after such a request (see `ClientConnection::next`); the drain
    // only lets a client that sent a modestly oversized body read its 413 before the close
    // (unread data would turn the close into a reset that can discard the answer). It ends
    // at end of file, after `DRAIN_BYTES`, or when the request's deadline passes.
    fn drop(&mut self) {
        const DRAIN_BYTES: usize = 1024 * 1024;
        let mut remaining = self.size;
        let reader = self.reader.take();
        let signal = self.last_read_signal.clone();
        let mut reader = match reader {
            Some(reader) if remaining > 0 => reader,
            _ => {
                signal.send(Ok(())).ok();
                return;
            }
        };
        let drain = move || {
            let mut budget = DRAIN_BYTES;
            let mut buf = [0u8; 8192];
            while remaining > 0 && budget > 0 {
                let want = remaining.min(buf.len());
                match reader.read(&mut buf[..want]) {
                    Err(e) => {
                        signal.send(Err(e)).ok();
                        return;
                    }
                    Ok(0) => break,
                    Ok(other) => {
                        remaining -= other;
                        budget = budget.saturating_sub(other);
                    }
                }
            }
            signal.send(Ok(())).ok();
        };
        // Without a thread (none can be started), nothing is drained: the close may reset.
        let _ = std::thread::Builder::new()
            .name("tiny-http-drain".into())
            .spawn(drain);
    }
}

#[cfg(test)]
mod tests {
    use super::EqualReader;
    use std::io::Read;

    #[test]
    fn test_limit() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut string = String::new();
            equal_reader.read_to_string(&mut string).unwrap();
            assert_eq!(string, "hello");
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn test_not_enough() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5);

            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
            assert_eq!(vec[0], b'h');
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }
}
