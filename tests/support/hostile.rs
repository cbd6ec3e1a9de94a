//! Helpers for the hostile-input and security suites: raw HTTP requests built from bytes, a
//! look at the serve process (alive, threads, memory), and the rows a case may add.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use super::TempDb;

/// The SQL-looking strings every text field receives; each must be stored verbatim.
pub const SQL: &[&str] = &[
    "'; DROP TABLE events; --",
    "\" OR 1=1 --",
    "1); DELETE FROM events WHERE (1=1",
];

/// An HTTP/1.1 request from raw parts (any bytes), with Host, Content-Length when there is a
/// body or the method is POST, and `Connection: close`.
pub fn request(method: &str, path: &[u8], headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(method.as_bytes());
    bytes.push(b' ');
    bytes.extend_from_slice(path);
    bytes.extend_from_slice(b" HTTP/1.1\r\nHost: dq\r\n");
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == "POST" {
        bytes.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    bytes.extend_from_slice(b"Connection: close\r\n\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` from one thread while reading the answer on this one, so a server that
/// answers (431) before reading everything is heard; returns what arrived before the
/// connection closed or was reset (empty if nothing).
pub fn exchange(addr: SocketAddr, bytes: Vec<u8>) -> Vec<u8> {
    let stream = TcpStream::connect(addr).expect("connecting to dq serve");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        for chunk in bytes.chunks(64 * 1024) {
            if writer.write_all(chunk).is_err() {
                break;
            }
        }
    });
    let mut response = Vec::new();
    let mut reader = stream;
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => response.extend_from_slice(&buffer[..read]),
        }
    }
    drop(reader);
    let _ = sender.join();
    response
}

/// True while `pid` runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A field of `/proc/<pid>/status` as a number (`Threads`, `VmRSS` in KiB).
pub fn status_field(pid: u32, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// What one stored row holds, for the cases that legitimately add one.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub user_id: String,
    pub event_type: String,
    pub payload: serde_json::Map<String, Value>,
    pub dedup_key: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i64,
}

/// Rows with an id above `after`, in order.
pub fn rows_after(db: &TempDb, after: i64) -> Vec<(i64, Row)> {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT id, user_id, event_type, payload, dedup_key, error_message, attempts
             FROM events WHERE id > ?1 ORDER BY id",
        )
        .unwrap();
    statement
        .query_map([after], |row| {
            let payload: String = row.get(3)?;
            Ok((
                row.get(0)?,
                Row {
                    user_id: row.get(1)?,
                    event_type: row.get(2)?,
                    payload: serde_json::from_str(&payload).unwrap_or_default(),
                    dedup_key: row.get(4)?,
                    error_message: row.get(5)?,
                    attempts: row.get(6)?,
                },
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The row with this id.
pub fn row(db: &TempDb, id: i64) -> Row {
    rows_after(db, id - 1)
        .into_iter()
        .find(|(found, _)| *found == id)
        .map(|(_, row)| row)
        .unwrap_or_else(|| panic!("no row {id}"))
}

/// The highest id stored.
pub fn max_id(db: &TempDb) -> i64 {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |row| {
        row.get(0)
    })
    .unwrap()
}

/// `depth` nested JSON arrays: `[[[...]]]`.
pub fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `depth` nested JSON objects: `{"a":{"a":...1...}}`.
pub fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}
