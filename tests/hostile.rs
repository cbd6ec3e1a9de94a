//! Hostile input, in one table over the CLI and the HTTP API, against one database that a
//! running `dq serve` and the `dq` commands share. After every case: no panic, no 500, the
//! stored rows are exactly what they were (or what the case legitimately adds, checked to the
//! field), the serve process is alive and `/discord/health` answers.
#![allow(clippy::unwrap_used)]

mod support;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::ffi::OsStringExt;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::hostile::{
    alive, exchange, max_id, nested_arrays, nested_objects, request, row, rows_after, status_field,
    Row, SQL,
};
use support::serve::{parse_answer, Serve};
use support::TempDb;

const TOKEN: &str = "hostile-test-token";
const AUTH: &[u8] = b"Bearer hostile-test-token";

/// What a case sends.
enum Input {
    /// Raw bytes to serve; the answer's status must be one of these (0: the connection was
    /// closed or reset without an answer, allowed only where the server refuses to read on).
    Http(Vec<u8>, &'static [u16]),
    /// `dq --db <db> ARGS` with this stdin; the exit code must be one of these.
    Cli(Vec<OsString>, Vec<u8>, &'static [i32]),
    /// A scenario that checks its own answers (slow clients, many connections).
    Scenario(fn(&Serve)),
}

/// What a case may change in the database.
enum Effect {
    Nothing,
    /// Exactly one new row: these fields, and these payload keys with these values.
    Adds(Expected),
    /// The failure is recorded on this event with exactly this message; nothing else changes.
    Fails(i64, String),
}

#[derive(Default)]
struct Expected {
    event_type: &'static str,
    user_id: String,
    dedup_key: Option<String>,
    payload: Vec<(String, Value)>,
}

struct Case {
    name: String,
    input: Input,
    effect: Effect,
}

fn http(name: impl Into<String>, bytes: Vec<u8>, statuses: &'static [u16]) -> Case {
    Case {
        name: name.into(),
        input: Input::Http(bytes, statuses),
        effect: Effect::Nothing,
    }
}

/// A request with the token.
fn authed(method: &str, path: &[u8], body: &[u8]) -> Vec<u8> {
    request(method, path, &[("Authorization", AUTH)], body)
}

fn cli(name: impl Into<String>, args: &[&[u8]], stdin: &[u8], codes: &'static [i32]) -> Case {
    Case {
        name: name.into(),
        input: Input::Cli(
            args.iter()
                .map(|arg| OsString::from_vec(arg.to_vec()))
                .collect(),
            stdin.to_vec(),
            codes,
        ),
        effect: Effect::Nothing,
    }
}

fn stores(mut case: Case, expected: Expected) -> Case {
    case.effect = Effect::Adds(expected);
    case
}

fn publish_body(fields: Value) -> Vec<u8> {
    fields.to_string().into_bytes()
}

/// Ids 1..=SEED are published before the cases run; `Fails` cases each use one of their own.
const SEED: i64 = 12;

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // --- The serve bad-input list (tests/serve_input.rs), through the same checks.
    for (method, path, body, status) in [
        ("GET", "/discord/events?limit=-1", "", 400),
        ("GET", "/discord/events?limit=101", "", 400),
        ("GET", "/discord/events?limit=99999999999999999999", "", 400),
        ("GET", "/discord/events?wait=61", "", 400),
        ("POST", "/discord/events/claim?lease=x", "", 400),
        ("POST", "/discord/events/claim", "[]", 400),
        ("POST", "/discord/events/ack", "[1, 2]", 400),
        (
            "POST",
            "/discord/events/ack",
            r#"{"events": [{"id": 1, "status": "gone"}]}"#,
            400,
        ),
        ("POST", "/discord/cleanup?days=36501", "", 400),
        ("POST", "/discord/events/-1/processed", "", 400),
        (
            "POST",
            "/discord/events/99999999999999999999/processed",
            "",
            400,
        ),
        ("POST", "/discord/events/777/processed", "", 404),
        ("DELETE", "/discord/events", "", 405),
        ("POST", "/discord/events/1/failed", "[1, 2]", 400),
        (
            "POST",
            "/discord/events/1/failed",
            r#"{"error_message": 5}"#,
            400,
        ),
        (
            "POST",
            "/discord/events",
            r#"{"event_type": "Bad Type", "payload": {}}"#,
            400,
        ),
        (
            "POST",
            "/discord/events",
            r#"{"event_type": "ok", "payload": [1]}"#,
            400,
        ),
    ] {
        let statuses: &'static [u16] = match status {
            400 => &[400],
            404 => &[404],
            _ => &[405],
        };
        cases.push(http(
            format!("serve list: {method} {path} {body}"),
            authed(method, path.as_bytes(), body.as_bytes()),
            statuses,
        ));
    }
    cases.push(http(
        "body over 64 KiB",
        authed("POST", b"/discord/events", &vec![b'x'; 70 * 1024]),
        &[413],
    ));
    cases.push(http(
        "Content-Length of 10 GiB, no body",
        request(
            "POST",
            b"/discord/events",
            &[("Authorization", AUTH), ("Content-Length", b"10737418240")],
            b"",
        ),
        &[400, 413],
    ));
    // Unpatched tiny_http allocated the announced size to drain it: "capacity overflow", a
    // panic that took serve down, with or without a token.
    cases.push(http(
        "Content-Length of 2^64-1 with the token",
        request(
            "POST",
            b"/discord/events",
            &[
                ("Authorization", AUTH),
                ("Content-Length", b"18446744073709551615"),
            ],
            b"abc",
        ),
        &[400, 413],
    ));
    cases.push(http(
        "Content-Length of 2^64-1 without a token",
        request(
            "POST",
            b"/discord/events/1/failed",
            &[("Content-Length", b"18446744073709551615")],
            b"abc",
        ),
        &[401],
    ));
    cases.push(http(
        "negative Content-Length",
        request(
            "POST",
            b"/discord/events",
            &[("Authorization", AUTH), ("Content-Length", b"-5")],
            b"",
        ),
        &[400, 413],
    ));

    // --- The publish bad-input list (tests/bad_input.rs), through the same checks.
    for (name, args) in [
        ("unknown subcommand", &["publish", "nope"][..]),
        (
            "status outside its set",
            &["publish", "minecraft-status", "--status", "exploded"],
        ),
        (
            "size not a number",
            &[
                "publish",
                "backup-success",
                "--file",
                "f",
                "--size-mb",
                "big",
                "--duration",
                "1",
            ],
        ),
        (
            "port out of range",
            &[
                "publish",
                "minecraft-status",
                "--status",
                "online",
                "--port",
                "70000",
            ],
        ),
        (
            "payload not JSON",
            &["publish", "event", "custom", "--payload", "{"],
        ),
        (
            "payload not an object",
            &["publish", "event", "custom", "--payload", "[1]"],
        ),
        (
            "field without =",
            &["publish", "event", "custom", "--field", "novalue"],
        ),
        ("retry of an unknown id", &["retry", "424242"]),
    ] {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        cases.push(cli(format!("publish list: {name}"), &args, b"", &[1, 2]));
    }
    cases.push(cli(
        "payload over 64 KiB",
        &[
            b"publish",
            b"backup-error",
            b"--error-type",
            b"x",
            b"--message",
            &vec![b'm'; 100 * 1024],
        ],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "batch with one malformed line",
        &[b"publish", b"batch"],
        b"{\"event_type\":\"a\",\"payload\":{}}\n{oops\n",
        &[1, 2],
    ));

    // --- Path traversal in ids and routes: never reaches another route.
    for path in [
        &b"/discord/events/../stats"[..],
        b"/discord/events/%2e%2e/stats",
        b"/discord/events/%2e%2e/processed",
        b"/discord/events/..%2fstats/processed",
        b"/discord/events/..%2f..%2fdiscord%2fstats/retry",
        b"/discord/events/1/../../stats",
        b"/discord/events/1/processed/..",
        b"/discord/events/1%2fprocessed",
        b"/discord/events/%31/processed",
        b"/discord/./stats",
        b"//discord/stats",
        b"/discord%2fstats",
        b"/discord/events/1/..%2f..%2fcleanup",
    ] {
        cases.push(http(
            format!("traversal: POST {}", String::from_utf8_lossy(path)),
            authed("POST", path, b""),
            &[400, 404, 405],
        ));
    }
    cases.push(http(
        "traversal from health needs the token",
        request("GET", b"/discord/health/../stats", &[], b""),
        &[401],
    ));
    cases.push(http(
        "traversal from health with %2e%2e needs the token",
        request("POST", b"/discord/health/%2e%2e/cleanup?days=0", &[], b""),
        &[401],
    ));

    // --- Non-UTF-8 and non-ASCII bytes everywhere.
    cases.push(http(
        "raw 0xff in the path",
        authed("GET", b"/discord/\xff\xfe", b""),
        &[400],
    ));
    cases.push(http(
        "raw 0xff in the query",
        authed("GET", b"/discord/events?limit=\xff", b""),
        &[400],
    ));
    cases.push(http(
        "%ff in the query",
        authed("GET", b"/discord/events?limit=%ff%fe", b""),
        &[400],
    ));
    cases.push(http(
        "%c3%28 in the query",
        authed("GET", b"/discord/events?lease=0&wait=%c3%28", b""),
        &[400],
    ));
    cases.push(http(
        "%ff in an id",
        authed("POST", b"/discord/events/%ff/processed", b""),
        &[400],
    ));
    cases.push(http(
        "raw 0xff in a header value",
        request(
            "GET",
            b"/discord/stats",
            &[("Authorization", AUTH), ("X-Note", b"\xff\xfe")],
            b"",
        ),
        &[400],
    ));
    cases.push(http(
        "raw 0xff in the token",
        request(
            "GET",
            b"/discord/stats",
            &[("Authorization", b"Bearer \xff\xfe")],
            b"",
        ),
        &[400, 401],
    ));
    cases.push(http(
        "NUL and control bytes in a header",
        request(
            "GET",
            b"/discord/stats",
            &[("Authorization", AUTH), ("X-Note", b"a\x00b\x07")],
            b"",
        ),
        &[200, 400],
    ));
    cases.push(http(
        "invalid UTF-8 in a publish body",
        authed(
            "POST",
            b"/discord/events",
            b"{\"event_type\":\"x\",\"payload\":{\"a\":\"\xff\xfe\"}}",
        ),
        &[400],
    ));
    cases.push(http(
        "invalid UTF-8 in a failed body",
        authed(
            "POST",
            b"/discord/events/1/failed",
            b"{\"error_message\":\"\xc3\x28\"}",
        ),
        &[400],
    ));
    cases.push(http(
        "UTF-16 publish body",
        authed("POST", b"/discord/events", b"\xff\xfe{\x00}\x00"),
        &[400],
    ));
    cases.push(cli(
        "0xff as --user-id",
        &[b"publish", b"test", b"--user-id", b"\xff\xfe"],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff as --message",
        &[
            b"publish",
            b"backup-error",
            b"--error-type",
            b"x",
            b"--message",
            b"\xc3\x28",
        ],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff as an event type",
        &[b"publish", b"event", b"\xff"],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff in --payload",
        &[
            b"publish",
            b"event",
            b"custom",
            b"--payload",
            b"{\"a\":\"\xff\"}",
        ],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff in a --field key",
        &[b"publish", b"event", b"custom", b"--field", b"\xff=1"],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff as a retry id",
        &[b"retry", b"\xff"],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "0xff in a batch line",
        &[b"publish", b"batch"],
        b"{\"event_type\":\"a\",\"payload\":{\"m\":\"\xff\"}}\n",
        &[1, 2],
    ));
    cases.push(cli(
        "binary garbage on batch stdin",
        &[b"publish", b"batch"],
        b"\x00\x01\x02\xff\xfe\n\x89PNG\r\n",
        &[1, 2],
    ));

    // --- JSON nested 10,000 deep in every JSON input.
    let deep_arrays = nested_arrays(10_000);
    let deep_objects = nested_objects(10_000);
    cases.push(http(
        "10,000-deep arrays as a publish body",
        authed("POST", b"/discord/events", deep_arrays.as_bytes()),
        &[400],
    ));
    cases.push(http(
        "10,000-deep objects as a payload",
        authed(
            "POST",
            b"/discord/events",
            format!("{{\"event_type\":\"x\",\"payload\":{deep_objects}}}").as_bytes(),
        ),
        &[400],
    ));
    cases.push(http(
        "10,000-deep arrays inside a payload",
        authed(
            "POST",
            b"/discord/events",
            format!("{{\"event_type\":\"x\",\"payload\":{{\"a\":{deep_arrays}}}}}").as_bytes(),
        ),
        &[400],
    ));
    cases.push(http(
        "10,000-deep arrays as a failed body",
        authed("POST", b"/discord/events/1/failed", deep_arrays.as_bytes()),
        &[400],
    ));
    cases.push(http(
        "10,000-deep objects as an error message",
        authed(
            "POST",
            b"/discord/events/1/failed",
            format!("{{\"error_message\":{deep_objects}}}").as_bytes(),
        ),
        &[400],
    ));
    cases.push(cli(
        "10,000-deep objects in --payload",
        &[
            b"publish",
            b"event",
            b"custom",
            b"--payload",
            deep_objects.as_bytes(),
        ],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "10,000-deep arrays inside --payload",
        &[
            b"publish",
            b"event",
            b"custom",
            b"--payload",
            format!("{{\"a\":{deep_arrays}}}").as_bytes(),
        ],
        b"",
        &[1, 2],
    ));
    cases.push(cli(
        "10,000-deep payload in a batch line",
        &[b"publish", b"batch"],
        format!("{{\"event_type\":\"a\",\"payload\":{{}}}}\n{{\"event_type\":\"a\",\"payload\":{deep_objects}}}\n").as_bytes(),
        &[1, 2],
    ));
    cases.push(cli(
        "10,000-deep arrays as a batch line",
        &[b"publish", b"batch"],
        deep_arrays.as_bytes(),
        &[1, 2],
    ));

    // --- Oversized heads.
    let mut huge_line = request(
        "GET",
        b"/discord/health",
        &[("X-Big", &vec![b'a'; 1024 * 1024])],
        b"",
    );
    huge_line.truncate(huge_line.len() - 4);
    huge_line.extend_from_slice(b"\r\n\r\n");
    cases.push(http("a 1 MiB header line", huge_line, &[431, 0]));
    let many: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|index| (format!("X-H{index}"), b"v".to_vec()))
        .collect();
    let many: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    cases.push(http(
        "10,000 headers",
        request("GET", b"/discord/health", &many, b""),
        &[431, 0],
    ));
    let long_path = format!("/discord/events?limit={}", "9".repeat(100 * 1024));
    cases.push(http(
        "a 100 KiB request line",
        authed("GET", long_path.as_bytes(), b""),
        &[431, 0],
    ));
    let long_token = format!("Bearer {}", "t".repeat(8000));
    cases.push(http(
        "an 8,000-byte wrong token",
        request(
            "GET",
            b"/discord/stats",
            &[("Authorization", long_token.as_bytes())],
            b"",
        ),
        &[401],
    ));
    cases.push(http(
        "an unknown Expect header",
        request(
            "POST",
            b"/discord/events",
            &[("Authorization", AUTH), ("Expect", b"ponies")],
            b"{}",
        ),
        &[400, 417],
    ));
    cases.push(http(
        "a chunked body that never ends properly",
        request(
            "POST",
            b"/discord/events",
            &[("Authorization", AUTH), ("Transfer-Encoding", b"chunked")],
            b"zz\r\nnot hex\r\n",
        ),
        &[400, 408],
    ));

    // --- SQL-looking strings in every text field: stored verbatim, nothing else changed.
    for (index, sql) in SQL.iter().enumerate() {
        let sql = *sql;
        let unique = format!("{sql} #{index}");
        cases.push(stores(
            http(
                format!("SQL {index} as an HTTP user_id"),
                authed(
                    "POST",
                    b"/discord/events",
                    &publish_body(json!({"event_type": "custom", "payload": {}, "user_id": sql})),
                ),
                &[201],
            ),
            Expected {
                event_type: "custom",
                user_id: sql.into(),
                ..Expected::default()
            },
        ));
        cases.push(stores(
            http(
                format!("SQL {index} as an HTTP dedup_key"),
                authed(
                    "POST",
                    b"/discord/events",
                    &publish_body(
                        json!({"event_type": "custom", "payload": {}, "dedup_key": unique}),
                    ),
                ),
                &[201],
            ),
            Expected {
                event_type: "custom",
                dedup_key: Some(unique.clone()),
                ..Expected::default()
            },
        ));
        cases.push(stores(
            http(
                format!("SQL {index} as an HTTP payload key and value"),
                authed(
                    "POST",
                    b"/discord/events",
                    &publish_body(json!({"event_type": "custom", "payload": {sql: sql}})),
                ),
                &[201],
            ),
            Expected {
                event_type: "custom",
                payload: vec![(sql.into(), json!(sql))],
                ..Expected::default()
            },
        ));
        cases.push(http(
            format!("SQL {index} as an HTTP event type"),
            authed(
                "POST",
                b"/discord/events",
                &publish_body(json!({"event_type": sql, "payload": {}})),
            ),
            &[400],
        ));
        let id = 2 + index as i64;
        cases.push(Case {
            name: format!("SQL {index} as an error message"),
            input: Input::Http(
                authed(
                    "POST",
                    format!("/discord/events/{id}/failed").as_bytes(),
                    &publish_body(json!({"error_message": sql})),
                ),
                &[200],
            ),
            effect: Effect::Fails(id, sql.into()),
        });
        let encoded: String = sql.bytes().map(|byte| format!("%{byte:02X}")).collect();
        cases.push(http(
            format!("SQL {index} as limit"),
            authed(
                "GET",
                format!("/discord/events?limit=1{encoded}").as_bytes(),
                b"",
            ),
            &[400],
        ));
        cases.push(http(
            format!("SQL {index} as days"),
            authed(
                "POST",
                format!("/discord/cleanup?days=7{encoded}").as_bytes(),
                b"",
            ),
            &[400],
        ));
        cases.push(http(
            format!("SQL {index} as an id"),
            authed(
                "POST",
                format!("/discord/events/1{encoded}/processed").as_bytes(),
                b"",
            ),
            &[400, 404],
        ));

        let arg = sql.as_bytes();
        let mut cli_store = |name: &str, args: &[&[u8]], expected: Expected| {
            cases.push(stores(
                cli(format!("SQL {index} as {name}"), args, b"", &[0]),
                expected,
            ));
        };
        cli_store(
            "--user-id",
            &[b"publish", b"test", b"--user-id", arg],
            Expected {
                event_type: "test",
                user_id: sql.into(),
                ..Expected::default()
            },
        );
        cli_store(
            "--codespace",
            &[b"publish", b"test", b"--codespace", arg],
            Expected {
                event_type: "test",
                payload: vec![("codespace_name".into(), json!(sql))],
                ..Expected::default()
            },
        );
        cli_store(
            "--message and --error-type",
            &[
                b"publish",
                b"backup-error",
                b"--error-type",
                arg,
                b"--message",
                arg,
                b"--file",
                arg,
            ],
            Expected {
                event_type: "backup_error",
                payload: vec![
                    ("error_type".into(), json!(format!("backup_{sql}"))),
                    ("error_message".into(), json!(sql)),
                    ("backup_file".into(), json!(sql)),
                ],
                ..Expected::default()
            },
        );
        cli_store(
            "--file of a success",
            &[
                b"publish",
                b"backup-success",
                b"--file",
                arg,
                b"--size-mb",
                b"1",
                b"--duration",
                b"2",
            ],
            Expected {
                event_type: "backup_success",
                payload: vec![("backup_file".into(), json!(sql))],
                ..Expected::default()
            },
        );
        cli_store(
            "--ip",
            &[
                b"publish",
                b"minecraft-status",
                b"--status",
                b"online",
                b"--ip",
                arg,
            ],
            Expected {
                event_type: "minecraft_status",
                payload: vec![("ip".into(), json!(sql))],
                ..Expected::default()
            },
        );
        // A key cannot hold `=` (it ends the key), so keys get the string without it.
        let key = sql.replace('=', "");
        let detail = format!("{key}={sql}");
        cli_store(
            "a --detail key and value",
            &[
                b"publish",
                b"codespace-status",
                b"--action",
                b"started",
                b"--detail",
                detail.as_bytes(),
            ],
            Expected {
                event_type: "codespace_status",
                payload: vec![("details".into(), json!({key.clone(): sql}))],
                ..Expected::default()
            },
        );
        cli_store(
            "a --field key and value",
            &[
                b"publish",
                b"event",
                b"custom",
                b"--field",
                detail.as_bytes(),
            ],
            Expected {
                event_type: "custom",
                payload: vec![(key.clone(), json!(sql))],
                ..Expected::default()
            },
        );
        let payload = json!({"text": sql, sql: [sql]}).to_string();
        cli_store(
            "--payload",
            &[
                b"publish",
                b"event",
                b"custom",
                b"--payload",
                payload.as_bytes(),
            ],
            Expected {
                event_type: "custom",
                payload: vec![("text".into(), json!(sql)), (sql.into(), json!([sql]))],
                ..Expected::default()
            },
        );
        let key = format!("cli {unique}");
        cli_store(
            "--dedup-key",
            &[b"publish", b"test", b"--dedup-key", key.as_bytes()],
            Expected {
                event_type: "test",
                dedup_key: Some(key.clone()),
                ..Expected::default()
            },
        );
        let line = json!({"event_type": "custom", "payload": {"m": sql}, "user_id": sql, "dedup_key": format!("batch {unique}")});
        cases.push(stores(
            cli(
                format!("SQL {index} in every batch field"),
                &[b"publish", b"batch"],
                format!("{line}\n").as_bytes(),
                &[0],
            ),
            Expected {
                event_type: "custom",
                user_id: sql.into(),
                dedup_key: Some(format!("batch {unique}")),
                payload: vec![("m".into(), json!(sql))],
            },
        ));
        cases.push(cli(
            format!("SQL {index} as an event type"),
            &[b"publish", b"event", arg],
            b"",
            &[1, 2],
        ));
        cases.push(cli(
            format!("SQL {index} as a retry id"),
            &[b"retry", arg],
            b"",
            &[1, 2],
        ));
    }

    // --- Scenarios: garbage heads, slow clients and many connections.
    cases.push(Case {
        name: "garbage request lines".into(),
        input: Input::Scenario(garbage_request_lines),
        effect: Effect::Nothing,
    });
    cases.push(Case {
        name: "slow-loris heads".into(),
        input: Input::Scenario(slow_loris_heads),
        effect: Effect::Nothing,
    });
    cases.push(Case {
        name: "slow-loris bodies".into(),
        input: Input::Scenario(slow_loris_bodies),
        effect: Effect::Nothing,
    });
    cases.push(Case {
        name: "1,000 concurrent connections".into(),
        input: Input::Scenario(thousand_connections),
        effect: Effect::Nothing,
    });
    cases
}

#[test]
fn hostile_input_changes_nothing_and_serve_keeps_answering() {
    let db = TempDb::new();
    let seeded = support::serve::publish(&db, SEED as usize);
    assert_eq!(seeded.len() as i64, SEED);
    let serve = Serve::start(
        &db,
        &[
            "--token",
            TOKEN,
            "--request-timeout",
            "2s",
            "--workers",
            "4",
            "--retry-backoff",
            "1h",
        ],
    );
    // Every thread serve keeps is running once it has answered.
    assert_eq!(serve.get("/discord/stats").status, 200);
    thread::sleep(Duration::from_millis(200));
    let threads_at_start = status_field(serve.pid(), "Threads");
    let cases = cases();
    let mut tried = 0;
    for case in &cases {
        let before = db.dump();
        let last_id = max_id(&db);
        let failing_before = match &case.effect {
            Effect::Fails(id, _) => Some(row(&db, *id)),
            _ => None,
        };
        let started = Instant::now();
        match &case.input {
            Input::Http(bytes, statuses) => {
                let response = exchange(serve.addr, bytes.clone());
                let status = if response.is_empty() {
                    0
                } else {
                    parse_answer(&response).status
                };
                assert!(
                    statuses.contains(&status),
                    "{}: status {status}, allowed {statuses:?}: {}",
                    case.name,
                    String::from_utf8_lossy(&response)
                );
                if status != 0 {
                    let answer = parse_answer(&response);
                    assert_eq!(
                        answer.header("content-type"),
                        Some("application/json"),
                        "{}: {answer:?}",
                        case.name
                    );
                    let body = answer.json();
                    assert_eq!(body["success"], status < 400, "{}: {body}", case.name);
                    assert!(
                        !answer.body.to_ascii_lowercase().contains("<html"),
                        "{}",
                        case.name
                    );
                }
            }
            Input::Cli(args, stdin, codes) => {
                let output = run_cli(&db, args, stdin);
                let code = output.status.code().unwrap_or(-1);
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    codes.contains(&code),
                    "{}: exit {code}, allowed {codes:?}; stderr: {stderr}",
                    case.name
                );
                assert!(!stderr.contains("panicked"), "{}: {stderr}", case.name);
                if code != 0 {
                    assert!(
                        stderr.starts_with("dq: error:") || stderr.starts_with("error:"),
                        "{}: {stderr}",
                        case.name
                    );
                }
            }
            Input::Scenario(scenario) => scenario(&serve),
        }
        tried += 1;
        if started.elapsed() > Duration::from_millis(500) {
            eprintln!("{}: {:?}", case.name, started.elapsed());
        }

        assert!(
            alive(serve.pid()),
            "{}: dq serve died; stderr: {}",
            case.name,
            serve.stderr()
        );
        let health = serve.call_with("GET", "/discord/health", &[], None);
        assert_eq!(health.status, 200, "{}: health {health:?}", case.name);
        assert_eq!(health.json()["queue_available"], true, "{}", case.name);

        let after = db.dump();
        match &case.effect {
            Effect::Nothing => assert_eq!(after, before, "{}: the database changed", case.name),
            Effect::Adds(expected) => {
                assert_eq!(
                    after[..before.len()],
                    before[..],
                    "{}: existing rows changed",
                    case.name
                );
                let added = rows_after(&db, last_id);
                assert_eq!(added.len(), 1, "{}: {added:?}", case.name);
                check_row(&case.name, &added[0].1, expected);
            }
            Effect::Fails(id, message) => {
                let mut was = failing_before.clone().unwrap();
                let now = row(&db, *id);
                assert_eq!(
                    now.error_message.as_deref(),
                    Some(message.as_str()),
                    "{}",
                    case.name
                );
                assert_eq!(now.attempts, was.attempts + 1, "{}", case.name);
                was.error_message = now.error_message.clone();
                was.attempts = now.attempts;
                assert_eq!(now, was, "{}: more than the failure changed", case.name);
                assert_eq!(after.len(), before.len(), "{}", case.name);
                let changed = after.iter().zip(&before).filter(|(a, b)| a != b).count();
                assert_eq!(changed, 1, "{}: other rows changed", case.name);
            }
        }
    }
    assert!(tried >= 60, "only {tried} hostile inputs");
    // The table itself: still there, every seeded row intact.
    for id in 1..=SEED {
        let _ = row(&db, id);
    }
    // No thread leak: tiny_http keeps a few idle threads and ends the others 5 s after their
    // last request (1,000 connections peaked at about 1,000 threads).
    let pid = serve.pid();
    assert!(
        support::serve::eventually(Duration::from_secs(30), || status_field(pid, "Threads")
            <= threads_at_start + 8),
        "threads: {} at the end, {threads_at_start} at the start",
        status_field(pid, "Threads")
    );
    eprintln!(
        "hostile inputs tried: {tried}; serve threads {threads_at_start} → {}; VmRSS {} KiB, VmHWM {} KiB",
        status_field(pid, "Threads"),
        status_field(pid, "VmRSS"),
        status_field(pid, "VmHWM"),
    );
}

fn run_cli(db: &TempDb, args: &[OsString], stdin: &[u8]) -> std::process::Output {
    support::run_with_stdin(db.dq().args(args).env("DQ_BUSY_TIMEOUT_MS", "10000"), stdin)
}

fn check_row(name: &str, row: &Row, expected: &Expected) {
    assert_eq!(row.event_type, expected.event_type, "{name}");
    assert_eq!(row.user_id, expected.user_id, "{name}");
    assert_eq!(row.dedup_key, expected.dedup_key, "{name}");
    assert_eq!(row.attempts, 0, "{name}");
    for (key, value) in &expected.payload {
        assert_eq!(
            row.payload.get(key),
            Some(value),
            "{name}: payload {:?}",
            row.payload
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

fn garbage_request_lines(serve: &Serve) {
    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /discord/health HTTP/9.9\r\n\r\n",
        b"GET /discord/health HTTP/1.1\r\nthis is not a header\r\n\r\n",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET /discord/health HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        b"\r\n\r\n\r\n",
    ] {
        let response = serve.raw_bytes(garbage);
        let answer = parse_answer(&response);
        assert_eq!(
            answer.status,
            400,
            "{:?}: {answer:?}",
            String::from_utf8_lossy(garbage)
        );
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(answer.json()["success"], false);
    }
    let answer = serve.raw(b"GET /discord/health HTTP/2.0\r\n\r\n");
    assert_eq!(answer.status, 505, "{answer:?}");
}

/// Connections that trickle a byte every 200 ms, each within the socket timeout; returns
/// how long each lasted before serve cut it off, and what it answered.
fn trickle(
    serve: &Serve,
    count: usize,
    start: String,
) -> Vec<thread::JoinHandle<(Duration, Vec<u8>)>> {
    (0..count)
        .map(|_| {
            let addr = serve.addr;
            let start = start.clone();
            thread::spawn(move || {
                let began = Instant::now();
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                let _ = stream.write_all(start.as_bytes());
                // Far longer than serve's 2 s request timeout.
                while began.elapsed() < Duration::from_secs(20) {
                    thread::sleep(Duration::from_millis(200));
                    if stream.write_all(b"a").is_err() {
                        break;
                    }
                    let mut peek = [0u8; 1];
                    stream.set_nonblocking(true).unwrap();
                    let gone = stream.peek(&mut peek).is_ok();
                    stream.set_nonblocking(false).unwrap();
                    if gone {
                        break;
                    }
                }
                let lasted = began.elapsed();
                let mut response = Vec::new();
                let _ = stream.read_to_end(&mut response);
                (lasted, response)
            })
        })
        .collect()
}

fn others_are_served_meanwhile(serve: &Serve) {
    let started = Instant::now();
    for _ in 0..10 {
        assert_eq!(serve.get("/discord/stats").status, 200);
        assert_eq!(serve.get("/discord/events?lease=0&limit=5").status, 200);
        thread::sleep(Duration::from_millis(50));
    }
    // A stall behind the slow clients would cost their whole 20 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

fn cut_off(handles: Vec<thread::JoinHandle<(Duration, Vec<u8>)>>) {
    for handle in handles {
        let (lasted, response) = handle.join().unwrap();
        // Dropped after about the 2 s request timeout, not after the client's 20 s.
        assert!(
            lasted < Duration::from_secs(15),
            "a trickling client lasted {lasted:?}"
        );
        if !response.is_empty() {
            let answer = parse_answer(&response);
            assert_eq!(answer.status, 408, "{answer:?}");
            assert_eq!(answer.json()["success"], false);
        }
    }
}

fn slow_loris_heads(serve: &Serve) {
    let handles = trickle(serve, 30, "GET /discord/stats HTTP/1.1\r\nX-Slow: ".into());
    others_are_served_meanwhile(serve);
    cut_off(handles);
}

fn slow_loris_bodies(serve: &Serve) {
    let head = |extra: &str| {
        format!(
            "POST /discord/events HTTP/1.1\r\nHost: dq\r\nAuthorization: Bearer {TOKEN}\r\n{extra}\r\n{{\"event_type\":\"slow\",\"payload\":{{\"a\":\""
        )
    };
    // More slow bodies than serve has workers, both kinds: a body tiny_http reads itself and
    // a chunked one that a worker reads, each bounded by the same deadline.
    let mut handles = trickle(serve, 10, head("Content-Length: 60000\r\n"));
    let chunked = "POST /discord/events HTTP/1.1\r\nHost: dq\r\nAuthorization: Bearer hostile-test-token\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n";
    handles.extend(trickle(serve, 6, chunked.into()));
    others_are_served_meanwhile(serve);
    cut_off(handles);
}

/// Reads one answer (head and `Content-Length` body) from a kept-alive connection.
fn read_one_answer(mut stream: &TcpStream) -> u16 {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let answer = parse_answer(&received[..end + 4]);
            let length: usize = answer
                .header("content-length")
                .and_then(|length| length.parse().ok())
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return answer.status;
            }
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return 0,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

fn thousand_connections(serve: &Serve) {
    const CLIENTS: usize = 1000;
    const THREADS: usize = 10;
    let started = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let addr = serve.addr;
            thread::spawn(move || {
                // Each connection sends a keep-alive request at once; serve answers and keeps
                // it open (until its 2 s idle timeout), so all of them are open together.
                let streams: Vec<TcpStream> = (0..CLIENTS / THREADS)
                    .map(|_| {
                        let mut stream =
                            TcpStream::connect_timeout(&addr, Duration::from_secs(30)).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(30)))
                            .unwrap();
                        stream
                            .write_all(b"GET /discord/health HTTP/1.1\r\nHost: dq\r\n\r\n")
                            .unwrap();
                        stream
                    })
                    .collect();
                let statuses: Vec<u16> = streams.iter().map(read_one_answer).collect();
                drop(streams);
                statuses
            })
        })
        .collect();
    let mut peak_threads = 0;
    while handles.iter().any(|handle| !handle.is_finished()) {
        peak_threads = peak_threads.max(status_field(serve.pid(), "Threads"));
        thread::sleep(Duration::from_millis(20));
    }
    let statuses: Vec<u16> = handles
        .into_iter()
        .flat_map(|handle| handle.join().unwrap())
        .collect();
    assert_eq!(statuses.len(), CLIENTS);
    // serve's default --max-connections is 256: those are answered, and a few more (the
    // reserve, for health checks); every other connection gets a quick 503, none is left
    // hanging or dropped unanswered.
    assert!(
        statuses
            .iter()
            .all(|status| *status == 200 || *status == 503),
        "{:?}",
        statuses
            .iter()
            .filter(|s| **s != 200 && **s != 503)
            .collect::<Vec<_>>()
    );
    let answered = statuses.iter().filter(|status| **status == 200).count();
    assert!(answered >= 256, "only {answered} answered 200");
    // Bounded by the limit (it was 1,008 without one): its 256 connection threads and the
    // reserve's 16, plus at most 64 others: serve's own (main, accept, workers, lobby,
    // housekeeping, watch) and what earlier cases left for a few seconds (idle pool threads,
    // body drains). 299 were seen once on a loaded machine.
    assert!(peak_threads <= 256 + 16 + 64, "{peak_threads} threads");
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "{:?}",
        started.elapsed()
    );
    eprintln!(
        "1,000 connections answered in {:?}; serve threads seen {peak_threads}, VmHWM {} KiB",
        started.elapsed(),
        status_field(serve.pid(), "VmHWM")
    );
}
