//! `dq publish` in every form, run as the real binary: the payload keys each form stores, the
//! fields dq adds, the flags shared by all forms, and the id on stdout.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use support::queue::{count, fails, json, row, run, stdout, succeeds, WriteStdin};
use support::TempDb;

/// Publishes with `args` and returns the id printed on stdout.
fn publish(db: &TempDb, args: &[&str]) -> i64 {
    let out = succeeds(db.dq().arg("publish").args(args));
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    out.trim().parse().unwrap()
}

/// The payload without the two keys dq adds, which are checked on their own.
fn own_keys(payload: &Value) -> Value {
    let mut map = payload.as_object().unwrap().clone();
    map.remove("codespace_name");
    map.remove("timestamp");
    Value::Object(map)
}

#[test]
fn backup_error_stores_the_original_keys_with_the_type_prefixed_once() {
    let db = TempDb::new();
    let id = publish(
        &db,
        &[
            "backup-error",
            "--error-type",
            "compression",
            "--message",
            "No space left",
            "--file",
            "world.tar.gz",
        ],
    );
    assert_eq!(id, 1);
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "backup_error");
    assert_eq!(
        own_keys(&stored.payload),
        json!({
            "error_type": "backup_compression",
            "error_message": "No space left",
            "backup_file": "world.tar.gz",
        })
    );
    // A script that already says backup_... is not double-prefixed.
    let again = publish(
        &db,
        &[
            "backup-error",
            "--error-type",
            "backup_upload",
            "--message",
            "timeout",
        ],
    );
    let stored = row(&db, again);
    assert_eq!(stored.payload["error_type"], "backup_upload");
    assert_eq!(stored.payload["backup_file"], Value::Null);
}

#[test]
fn backup_success_stores_file_size_and_duration() {
    let db = TempDb::new();
    let id = publish(
        &db,
        &[
            "backup-success",
            "--file",
            "world.tar.gz",
            "--size-mb",
            "512.5",
            "--duration",
            "42",
        ],
    );
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "backup_success");
    assert_eq!(
        own_keys(&stored.payload),
        json!({ "backup_file": "world.tar.gz", "size_mb": 512.5, "duration_seconds": 42.0 })
    );
}

#[test]
fn minecraft_status_stores_status_address_and_players() {
    let db = TempDb::new();
    let id = publish(
        &db,
        &[
            "minecraft-status",
            "--status",
            "online",
            "--ip",
            "1.2.3.4",
            "--port",
            "25566",
            "--players",
            "3",
        ],
    );
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "minecraft_status");
    assert_eq!(
        own_keys(&stored.payload),
        json!({ "status": "online", "ip": "1.2.3.4", "port": 25566, "players_online": 3 })
    );
    let defaults = publish(&db, &["minecraft-status", "--status", "stopping"]);
    assert_eq!(
        own_keys(&row(&db, defaults).payload),
        json!({ "status": "stopping", "ip": null, "port": 25565, "players_online": 0 })
    );
}

#[test]
fn codespace_status_stores_the_action_and_details_as_an_object() {
    let db = TempDb::new();
    let id = publish(
        &db,
        &[
            "codespace-status",
            "--action",
            "error",
            "--detail",
            "branch=main",
            "--detail",
            "exit_code:=137",
        ],
    );
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "codespace_status");
    assert_eq!(
        own_keys(&stored.payload),
        json!({ "action": "error", "details": { "branch": "main", "exit_code": 137 } })
    );
}

#[test]
fn event_takes_a_json_payload_or_fields() {
    let db = TempDb::new();
    let id = publish(
        &db,
        &[
            "event",
            "deploy",
            "--payload",
            r#"{"version": "1.2.3", "ok": true}"#,
        ],
    );
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "deploy");
    assert_eq!(
        own_keys(&stored.payload),
        json!({ "version": "1.2.3", "ok": true })
    );
    let id = publish(
        &db,
        &[
            "event",
            "disk_full",
            "--field",
            "mount=/data",
            "--field",
            "used:=97",
            "--field",
            "note=a=b",
        ],
    );
    assert_eq!(
        own_keys(&row(&db, id).payload),
        json!({ "mount": "/data", "used": 97, "note": "a=b" })
    );
}

/// The payload's keys as stored, in order.
fn stored_keys(db: &TempDb, id: i64) -> Vec<String> {
    row(db, id)
        .payload
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn payload_keys_are_stored_in_the_order_given() {
    let db = TempDb::new();
    let fields = publish(
        &db,
        &[
            "event", "t", "--field", "zeta=1", "--field", "alpha=2", "--field", "mid=3",
        ],
    );
    assert_eq!(
        stored_keys(&db, fields),
        ["zeta", "alpha", "mid", "codespace_name", "timestamp"]
    );
    let payload = publish(
        &db,
        &[
            "event",
            "t",
            "--payload",
            r#"{"b": 1, "a": {"y": 1, "x": 2}}"#,
        ],
    );
    assert!(
        row(&db, payload)
            .payload_text
            .starts_with(r#"{"b":1,"a":{"y":1,"x":2},"#),
        "{}",
        row(&db, payload).payload_text
    );
    let details = publish(
        &db,
        &[
            "codespace-status",
            "--action",
            "started",
            "--detail",
            "z=1",
            "--detail",
            "a=2",
        ],
    );
    let stored = row(&db, details).payload;
    let keys: Vec<&String> = stored["details"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a"]);
    let output = db
        .dq()
        .args(["publish", "batch"])
        .write_stdin_and_wait(r#"{"event_type": "t", "payload": {"second": 2, "first": 1}}"#);
    assert!(output.status.success(), "{output:?}");
    let id: i64 = stdout(&output).trim().parse().unwrap();
    assert_eq!(stored_keys(&db, id)[..2], ["second", "first"]);
}

#[test]
fn test_queues_a_test_notification() {
    let db = TempDb::new();
    let id = publish(&db, &["test"]);
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "test");
    assert!(stored.payload["message"]
        .as_str()
        .unwrap()
        .contains("prueba"));
    let id = publish(&db, &["test", "--message", "hello"]);
    assert_eq!(row(&db, id).payload["message"], "hello");
}

#[test]
fn codespace_name_and_timestamp_are_added_unless_the_payload_has_them() {
    let db = TempDb::new();
    let id = publish(&db, &["event", "custom", "--codespace", "cs-flag"]);
    let stored = row(&db, id);
    assert_eq!(stored.payload["codespace_name"], "cs-flag");
    let timestamp = stored.payload["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "{timestamp}"
    );
    assert!(timestamp.ends_with('Z'), "{timestamp}");
    // created_at is RFC 3339 UTC with microseconds.
    assert_eq!(stored.created_at.len(), "2026-11-27T17:59:01.259152Z".len());

    let id = publish(
        &db,
        &[
            "event",
            "custom",
            "--codespace",
            "cs-flag",
            "--field",
            "codespace_name=mine",
            "--field",
            "timestamp=then",
        ],
    );
    let payload = row(&db, id).payload;
    assert_eq!(payload["codespace_name"], "mine");
    assert_eq!(payload["timestamp"], "then");

    // Without --codespace or CODESPACE_NAME, the key is still there, as null.
    let id = publish(&db, &["event", "custom"]);
    assert_eq!(row(&db, id).payload["codespace_name"], Value::Null);
}

#[test]
fn user_id_and_codespace_come_from_the_environment_and_flags_win() {
    let db = TempDb::new();
    let out = succeeds(
        db.dq()
            .env("DISCORD_USER_ID", "111")
            .env("CODESPACE_NAME", "cs-env")
            .args(["publish", "test"]),
    );
    let stored = row(&db, out.trim().parse().unwrap());
    assert_eq!(stored.user_id, "111");
    assert_eq!(stored.payload["codespace_name"], "cs-env");

    let out = succeeds(
        db.dq()
            .env("DISCORD_USER_ID", "111")
            .env("CODESPACE_NAME", "cs-env")
            .args([
                "publish",
                "test",
                "--user-id",
                "222",
                "--codespace",
                "cs-flag",
            ]),
    );
    let stored = row(&db, out.trim().parse().unwrap());
    assert_eq!(stored.user_id, "222");
    assert_eq!(stored.payload["codespace_name"], "cs-flag");

    // No user id at all is allowed (webhook delivery) and stored as "".
    let id = publish(&db, &["test"]);
    assert_eq!(row(&db, id).user_id, "");
}

#[test]
fn a_pending_event_with_the_same_dedup_key_is_not_stored_twice() {
    let db = TempDb::new();
    let args = [
        "backup-error",
        "--error-type",
        "upload",
        "--message",
        "timeout",
        "--dedup-key",
        "upload-failed",
    ];
    let first = publish(&db, &args);
    let second = publish(&db, &args);
    assert_eq!(first, second);
    assert_eq!(count(&db), 1);
    assert_eq!(row(&db, first).dedup_key.as_deref(), Some("upload-failed"));

    let out = succeeds(db.dq().arg("publish").args(args).arg("--json"));
    assert_eq!(json(&out), json!({ "id": first, "duplicate": true }));

    // Once delivered, the key no longer matches unless the event is within the window.
    support::queue::mark_processed(&db, first);
    let within = publish(&db, &[&args[..], &["--dedup-window", "1h"]].concat());
    assert_eq!(within, first);
    let after = publish(&db, &args);
    assert_ne!(after, first);
    assert_eq!(count(&db), 2);
}

#[test]
fn json_prints_the_id_and_whether_it_was_a_duplicate() {
    let db = TempDb::new();
    let out = succeeds(db.dq().args(["publish", "test", "--json"]));
    assert_eq!(json(&out), json!({ "id": 1, "duplicate": false }));
    // --json before the subcommand works too.
    let out = succeeds(db.dq().args(["--json", "publish", "test"]));
    assert_eq!(json(&out), json!({ "id": 2, "duplicate": false }));
}

#[test]
fn global_flags_are_accepted_anywhere_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/events.db");
    let path = path.to_str().unwrap();
    for args in [
        vec!["--db", path, "publish", "test"],
        vec!["publish", "--db", path, "test"],
        vec!["publish", "test", "--db", path],
        vec!["publish", "--user-id", "5", "test", "--db", path, "--json"],
    ] {
        let output = run(support::dq().args(&args));
        assert!(output.status.success(), "{args:?}: {output:?}");
    }
    let stats = succeeds(support::dq().args(["stats", "--db", path, "--json"]));
    assert_eq!(json(&stats)["total"], 4);
    // DQ_DB is the flag's environment twin.
    let out = succeeds(support::dq().env("DQ_DB", path).args(["publish", "test"]));
    assert_eq!(out, "5\n");
}

#[test]
fn batch_stores_every_line_and_prints_one_id_per_line() {
    let db = TempDb::new();
    publish(&db, &["test"]);
    let input = concat!(
        r#"{"event_type": "backup_success", "payload": {"backup_file": "a.tgz"}}"#,
        "\n\n",
        r#"{"event_type": "custom", "payload": {}, "user_id": "7", "dedup_key": "k"}"#,
        "\n",
        r#"{"event_type": "custom", "payload": {"n": 1}, "dedup_key": "k"}"#,
        "\n",
        r#"{"event_type": "custom", "payload": {"n": 2}}"#,
        "\n",
    );
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .args(["--user-id", "9", "--codespace", "cs"])
        .write_stdin_and_wait(input);
    assert!(output.status.success(), "{output:?}");
    // The third line repeats the second's dedup key: it gets the same id.
    assert_eq!(stdout(&output), "2\n3\n3\n4\n");
    assert_eq!(count(&db), 4);
    let first = row(&db, 2);
    assert_eq!(first.event_type, "backup_success");
    assert_eq!(first.user_id, "9");
    assert_eq!(first.payload["backup_file"], "a.tgz");
    assert_eq!(first.payload["codespace_name"], "cs");
    assert!(first.payload["timestamp"].is_string());
    assert_eq!(row(&db, 3).user_id, "7");
    assert_eq!(row(&db, 4).payload["n"], 2);
}

#[test]
fn a_large_batch_is_stored_in_order() {
    let db = TempDb::new();
    let input: String = (0..1000)
        .map(|n| format!("{{\"event_type\":\"custom\",\"payload\":{{\"n\":{n}}}}}\n"))
        .collect();
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait(&input);
    assert!(output.status.success(), "{output:?}");
    let ids: Vec<i64> = stdout(&output)
        .lines()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=1000).collect::<Vec<_>>());
    for (n, id) in ids.iter().enumerate().step_by(97) {
        assert_eq!(row(&db, *id).payload["n"], n);
    }
}

/// `count` batch lines of type `custom` with `n` in the payload; `keyed` maps a line index to
/// the dedup key it carries.
fn batch_lines(count: usize, keyed: &dyn Fn(usize) -> Option<&'static str>) -> String {
    (0..count)
        .map(|n| match keyed(n) {
            Some(key) => format!(
                "{{\"event_type\":\"custom\",\"payload\":{{\"n\":{n}}},\"dedup_key\":\"{key}\"}}\n"
            ),
            None => format!("{{\"event_type\":\"custom\",\"payload\":{{\"n\":{n}}}}}\n"),
        })
        .collect()
}

#[test]
fn a_batch_longer_than_its_read_ahead_is_streamed_in_order_and_honours_dedup_keys() {
    // 25,000 lines: well past the 10,000 read before the database is touched, so most of
    // them stream into the transaction. Keys repeat within the read-ahead, across it and
    // within the streamed part.
    let db = TempDb::new();
    let keyed = |n: usize| match n {
        5 | 12_000 => Some("across"),
        20_000 | 24_999 => Some("streamed"),
        _ => None,
    };
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait(&batch_lines(25_000, &keyed));
    assert!(output.status.success(), "{output:?}");
    let ids: Vec<i64> = stdout(&output)
        .lines()
        .map(|id| id.parse().unwrap())
        .collect();
    assert_eq!(ids.len(), 25_000);
    assert_eq!(ids[12_000], ids[5]);
    assert_eq!(ids[24_999], ids[20_000]);
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique, (1..=24_998).collect::<Vec<i64>>());
    assert_eq!(count(&db), 24_998);
    for n in [0, 5, 9_999, 10_000, 10_001, 12_001, 20_000, 24_998] {
        assert_eq!(row(&db, ids[n]).payload["n"], n, "line {}", n + 1);
    }
}

#[test]
fn a_bad_line_late_in_a_streamed_batch_stores_nothing_and_is_named() {
    let db = TempDb::new();
    publish(&db, &["test"]);
    let before = db.dump();
    let mut input = batch_lines(24_999, &|_| None);
    input.push_str("{\"event_type\": \"custom\", \"payload\": \"not an object\"}\n");
    input.push_str(&batch_lines(1, &|_| None));
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait(&input);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let message = support::queue::stderr(&output);
    assert!(message.starts_with("dq: error: line 25000: "), "{message}");
    assert_eq!(stdout(&output), "");
    assert_eq!(db.dump(), before);
    // The next publish takes the next id: the rolled-back rows left no trace.
    assert_eq!(succeeds(db.dq().args(["publish", "test"])), "2\n");
}

#[test]
fn a_batch_line_over_a_mebibyte_is_refused_by_its_number() {
    let db = TempDb::new();
    let mut input = batch_lines(2, &|_| None);
    input.push_str(&" ".repeat(1024 * 1024 + 1));
    input.push('\n');
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait(&input);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let message = support::queue::stderr(&output);
    assert!(
        message.contains("line 3: longer than 1048576 bytes"),
        "{message}"
    );
    // Found in the read-ahead, before the database was opened.
    assert!(!db.path().exists());
}

#[test]
fn batch_with_json_prints_one_document_per_line() {
    let db = TempDb::new();
    let input = "{\"event_type\":\"a\",\"payload\":{}}\n{\"event_type\":\"b\",\"payload\":{}}\n";
    let output = support::dq()
        .args([
            "--db",
            db.path().to_str().unwrap(),
            "publish",
            "batch",
            "--json",
        ])
        .write_stdin_and_wait(input);
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = stdout(&output).lines().map(json).collect();
    assert_eq!(
        lines,
        vec![
            json!({ "id": 1, "duplicate": false }),
            json!({ "id": 2, "duplicate": false })
        ]
    );
}

#[test]
fn an_empty_batch_stores_nothing_and_succeeds() {
    let db = TempDb::new();
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait("\n\n");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "");
}

#[test]
fn a_batch_with_a_bad_line_stores_none_of_it_and_names_the_line() {
    let db = TempDb::new();
    publish(&db, &["test"]);
    let before = db.dump();
    let input = concat!(
        r#"{"event_type": "custom", "payload": {}}"#,
        "\n",
        r#"{"event_type": "custom", "payload": {}}"#,
        "\n",
        r#"{"event_type": "custom", "payload": "not an object"}"#,
        "\n",
        r#"{"event_type": "custom", "payload": {}}"#,
        "\n",
    );
    let output = support::dq()
        .args(["--db", db.path().to_str().unwrap(), "publish", "batch"])
        .write_stdin_and_wait(input);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let message = support::queue::stderr(&output);
    assert!(message.starts_with("dq: error: line 3: "), "{message}");
    assert_eq!(stdout(&output), "");
    assert_eq!(db.dump(), before);
}

#[test]
fn stdout_is_only_the_id() {
    let db = TempDb::new();
    let output = run(db.dq().args(["publish", "test"]));
    assert!(output.status.success());
    assert_eq!(stdout(&output), "1\n");
    assert_eq!(support::queue::stderr(&output), "");
}

#[test]
fn bad_input_never_reaches_the_database() {
    // Nothing is created for a command that was refused before it opened the database.
    let db = TempDb::new();
    fails(
        db.dq().args(["publish", "event", "Bad-Type"]),
        2,
        "Bad-Type",
    );
    assert!(!db.path().exists());
}

#[test]
fn the_default_database_is_under_xdg_data_home_and_an_empty_dq_db_means_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    succeeds(
        support::dq()
            .env("XDG_DATA_HOME", &data)
            .env("DQ_DB", "")
            .args(["publish", "test"]),
    );
    assert!(data.join("dq/events.db").exists());
    let home = dir.path().join("home");
    succeeds(
        support::dq()
            .env_remove("XDG_DATA_HOME")
            .env("HOME", &home)
            .args(["publish", "test"]),
    );
    assert!(home.join(".local/share/dq/events.db").exists());
}

#[test]
fn help_does_not_show_the_user_id_from_the_environment() {
    let help = succeeds(
        support::dq()
            .env("DISCORD_USER_ID", "987654321")
            .args(["publish", "--help"]),
    );
    assert!(help.contains("DISCORD_USER_ID"), "{help}");
    assert!(!help.contains("987654321"), "{help}");
}
