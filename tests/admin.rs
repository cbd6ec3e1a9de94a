//! `dq stats`, `dq failed`, `dq retry` and `dq cleanup` on a real database, in their human
//! (aligned table) and `--json` forms.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::queue::{
    count, dead_letter, fails, json, mark_processed, publish, row, run, stdout, store, succeeds,
};
use support::TempDb;

/// Sets the creation time of `id` to `days` days ago.
fn age_event(db: &TempDb, id: i64, days: i64) {
    let created = chrono::Utc::now() - chrono::Duration::days(days);
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.execute(
        "UPDATE events SET created_at = ?2 WHERE id = ?1",
        rusqlite::params![id, dq::event::format_timestamp(created)],
    )
    .unwrap();
}

/// Every line of a table keeps to the header's columns: each column after the first starts
/// where its header does, after a gap of two spaces, so cells may be left- or right-aligned
/// but never spill into the next column.
fn assert_aligned(table: &str) {
    let lines: Vec<Vec<char>> = table.lines().map(|line| line.chars().collect()).collect();
    assert!(lines.len() >= 2, "{table}");
    let header = &lines[0];
    let starts: Vec<usize> = (2..header.len())
        .filter(|&i| header[i] != ' ' && header[i - 1] == ' ' && header[i - 2] == ' ')
        .collect();
    assert!(!starts.is_empty(), "one column only: {table}");
    for line in &lines[1..] {
        for (index, &start) in starts.iter().enumerate() {
            let end = starts.get(index + 1).copied().unwrap_or(line.len());
            assert!(
                line.len() > start && line[start - 2..start] == [' ', ' '],
                "a cell spills into column {index} in:\n{table}"
            );
            assert!(
                line[start..end.min(line.len())].iter().any(|c| *c != ' '),
                "an empty cell in column {index} in:\n{table}"
            );
        }
    }
}

/// A database with 2 pending (one of them leased, one waiting a backoff), 1 processed and 2
/// failed events.
fn mixed_queue() -> (TempDb, Vec<i64>) {
    let db = TempDb::new();
    let ids: Vec<i64> = (0..6).map(|_| publish(&db, "custom")).collect();
    mark_processed(&db, ids[0]);
    dead_letter(&db, ids[1], "50007: Cannot send messages to this user");
    dead_letter(&db, ids[2], "401: Unauthorized\nsecond line");
    let mut store = store(&db);
    let now = chrono::Utc::now();
    let claimed = store
        .claim(
            dq::store::Claim {
                limit: 2,
                lease: std::time::Duration::from_secs(600),
            },
            now,
        )
        .unwrap();
    assert_eq!(
        claimed.iter().map(|event| event.id).collect::<Vec<_>>(),
        ids[3..5]
    );
    let retryable = dq::store::Failure {
        message: "500".into(),
        retryable: true,
        retry_after: Some(std::time::Duration::from_secs(600)),
    };
    store.mark_failed(ids[4], &retryable, now).unwrap();
    (db, ids)
}

#[test]
fn stats_json_has_the_counts_at_the_top_level_and_the_config() {
    let (db, _) = mixed_queue();
    let out = succeeds(
        db.dq()
            .env("DISCORD_USER_ID", "123456789")
            .env(
                "DISCORD_WEBHOOK_URL",
                "https://discord.com/api/webhooks/1/s3cr3t-token",
            )
            .env("DISCORD_BOT_TOKEN", "bot-s3cr3t")
            .env("CODESPACE_NAME", "cs-1")
            .args(["stats", "--json"]),
    );
    assert!(!out.contains("s3cr3t"), "a secret leaked: {out}");
    assert!(!out.contains("123456789"), "the user id leaked: {out}");
    let stats = json(&out);
    assert_eq!(stats["total"], 6);
    assert_eq!(stats["pending"], 3);
    assert_eq!(stats["processed"], 1);
    assert_eq!(stats["failed"], 2);
    assert_eq!(stats["leased"], 1);
    assert_eq!(stats["waiting"], 1);
    let config = &stats["config"];
    assert_eq!(config["database"], db.path().to_str().unwrap());
    assert_eq!(config["user_id_set"], true);
    assert_eq!(config["bot_token_set"], true);
    assert_eq!(config["webhook"], "https://discord.com/…");
    assert_eq!(config["codespace"], "cs-1");
    assert_eq!(config["max_attempts"], 3);
}

#[test]
fn stats_prints_aligned_tables_without_secrets() {
    let (db, _) = mixed_queue();
    let out = succeeds(
        db.dq()
            .env(
                "DISCORD_WEBHOOK_URL",
                "https://discord.com/api/webhooks/1/s3cr3t-token",
            )
            .arg("stats"),
    );
    assert!(!out.contains("s3cr3t"), "{out}");
    let [counts, delivery, config] = out.split("\n\n").collect::<Vec<_>>()[..] else {
        panic!("not three tables: {out}");
    };
    assert_aligned(counts);
    assert_aligned(delivery);
    assert_aligned(config);
    let line = |name: &str| {
        counts
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} line in {counts}"))
            .split_whitespace()
            .last()
            .unwrap()
            .to_string()
    };
    assert_eq!(line("total"), "6");
    assert_eq!(line("pending"), "3");
    assert_eq!(line("processed"), "1");
    assert_eq!(line("failed"), "2");
    assert_eq!(line("leased"), "1");
    assert_eq!(line("waiting"), "1");
    assert!(config.contains("https://discord.com/…"), "{config}");
}

#[test]
fn stats_shows_the_age_of_the_oldest_due_event_and_the_last_delivery() {
    let (db, ids) = mixed_queue();
    // ids[5] is the only due event (3 is leased, 4 waits out a backoff).
    age_event(&db, ids[5], 2);
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    let age = stats["oldest_due_age_seconds"].as_f64().unwrap();
    assert!((172_800.0..172_900.0).contains(&age), "{stats}");
    let delivered = dq::event::parse_timestamp(stats["last_delivery"].as_str().unwrap()).unwrap();
    assert!(
        (chrono::Utc::now() - delivered).num_seconds() < 60,
        "{stats}"
    );
    let out = succeeds(db.dq().arg("stats"));
    assert!(out.contains("oldest due     2d old"), "{out}");
    assert!(out.contains("last delivery  0s ago ("), "{out}");

    // Once nothing is due, the age is 0; the last delivery stays.
    succeeds(db.dq().args(["cleanup", "--days", "0"]));
    mark_processed(&db, ids[5]);
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["oldest_due_age_seconds"], 0.0);
    assert!(stats["last_delivery"].is_string());
    assert!(succeeds(db.dq().arg("stats")).contains("oldest due     nothing due"));
}

#[test]
fn stats_on_a_new_database_counts_zero() {
    let db = TempDb::new();
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    for key in [
        "total",
        "pending",
        "processed",
        "failed",
        "leased",
        "waiting",
    ] {
        assert_eq!(stats[key], 0, "{key}");
    }
    assert_eq!(stats["oldest_due_age_seconds"], 0.0);
    assert_eq!(stats["last_delivery"], serde_json::Value::Null);
    let out = succeeds(db.dq().arg("stats"));
    assert!(out.contains("oldest due     nothing due"), "{out}");
    assert!(out.contains("last delivery  never"), "{out}");
}

#[test]
fn max_attempts_decides_what_counts_as_failed() {
    let db = TempDb::new();
    let id = publish(&db, "custom");
    let retryable = dq::store::Failure {
        message: "500".into(),
        retryable: true,
        retry_after: None,
    };
    store(&db)
        .mark_failed(id, &retryable, chrono::Utc::now())
        .unwrap();
    let with = |max: &str| {
        json(&succeeds(db.dq().args([
            "stats",
            "--json",
            "--max-attempts",
            max,
        ])))
    };
    assert_eq!(with("1")["failed"], 1);
    assert_eq!(with("3")["failed"], 0);
    assert_eq!(with("3")["pending"], 1);
}

#[test]
fn failed_lists_dead_letters_with_type_attempts_age_and_last_error() {
    let (db, ids) = mixed_queue();
    let out = succeeds(db.dq().args(["failed", "--json"]));
    let listed = json(&out);
    assert_eq!(listed["count"], 2);
    let events = listed["events"].as_array().unwrap();
    assert_eq!(events[0]["id"], ids[1]);
    assert_eq!(events[0]["event_type"], "custom");
    assert_eq!(events[0]["attempts"], 3);
    assert_eq!(
        events[0]["error_message"],
        "50007: Cannot send messages to this user"
    );
    assert!(events[0]["created_at"].is_string());
    assert!(events[0]["last_attempt"].is_string());
    assert_eq!(events[1]["id"], ids[2]);

    let table = succeeds(db.dq().arg("failed"));
    assert_aligned(&table);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    for header in ["id", "type", "attempts", "age", "last error"] {
        assert!(lines[0].contains(header), "{table}");
    }
    assert!(
        lines[1].trim_start().starts_with(&ids[1].to_string()),
        "{table}"
    );
    assert!(lines[1].contains("50007: Cannot send"), "{table}");
    // A multi-line error is shown on one line.
    assert!(
        lines[2].contains("401: Unauthorized second line"),
        "{table}"
    );

    let limited = json(&succeeds(
        db.dq().args(["failed", "--json", "--limit", "1"]),
    ));
    assert_eq!(limited["events"].as_array().unwrap().len(), 1);
    assert_eq!(limited["events"][0]["id"], ids[2]);
}

#[test]
fn failed_says_so_when_there_are_none() {
    let db = TempDb::new();
    publish(&db, "custom");
    assert_eq!(succeeds(db.dq().arg("failed")), "No failed events.\n");
    assert_eq!(
        json(&succeeds(db.dq().args(["failed", "--json"]))),
        json!({ "count": 0, "events": [] })
    );
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let (db, _) = mixed_queue();
    let dq = db.dq().args(["failed"]).get_program().to_owned();
    let script = format!(
        "{} --db {} failed | head -c 0; exit ${{PIPESTATUS[0]}}",
        dq.to_str().unwrap(),
        db.path().to_str().unwrap()
    );
    let output = support::isolate(&mut std::process::Command::new("bash"))
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(support::queue::stderr(&output), "");
}

#[test]
fn retry_requeues_the_named_failed_events() {
    let (db, ids) = mixed_queue();
    let out = succeeds(db.dq().args(["retry", &ids[1].to_string()]));
    assert_eq!(out, "Requeued 1 event(s).\n");
    assert_eq!(row(&db, ids[1]).attempts, 0);
    assert_eq!(row(&db, ids[2]).attempts, 3);
    let out = succeeds(
        db.dq()
            .args(["retry", "--json", &ids[2].to_string(), &ids[2].to_string()]),
    );
    assert_eq!(json(&out), json!({ "requeued": 1 }));
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(
        (stats["failed"].clone(), stats["pending"].clone()),
        (json!(0), json!(5))
    );
}

#[test]
fn retry_all_requeues_every_failed_event() {
    let (db, _) = mixed_queue();
    let out = succeeds(db.dq().args(["retry", "--all", "--json"]));
    assert_eq!(json(&out), json!({ "requeued": 2 }));
    assert_eq!(
        json(&succeeds(db.dq().args(["stats", "--json"])))["failed"],
        0
    );
    assert_eq!(
        succeeds(db.dq().args(["retry", "--all"])),
        "Requeued 0 event(s).\n"
    );
}

#[test]
fn retry_of_an_unknown_or_not_failed_event_changes_nothing() {
    let (db, ids) = mixed_queue();
    let before = db.dump();
    fails(db.dq().args(["retry", "999"]), 1, "no event with id 999");
    // All or nothing: the failed event named first is not requeued either.
    fails(
        db.dq()
            .args(["retry", &ids[1].to_string(), &ids[0].to_string()]),
        1,
        &format!("event {} is not failed", ids[0]),
    );
    fails(
        db.dq().args(["retry", &ids[3].to_string()]),
        1,
        "is not failed",
    );
    assert_eq!(db.dump(), before);
}

#[test]
fn cleanup_deletes_old_processed_events_and_failed_ones_when_asked() {
    let (db, ids) = mixed_queue();
    for id in &ids {
        age_event(&db, *id, 10);
    }
    let recent = publish(&db, "custom");
    mark_processed(&db, recent);

    let out = succeeds(db.dq().args(["cleanup", "--days", "30"]));
    assert_eq!(out, "Deleted 0 event(s) older than 30 day(s).\n");
    let out = succeeds(db.dq().args(["cleanup", "--json"]));
    assert_eq!(json(&out), json!({ "days": 7, "deleted_count": 1 }));
    assert_eq!(count(&db), 6);
    let out = succeeds(
        db.dq()
            .args(["cleanup", "--days", "7", "--include-failed", "--json"]),
    );
    assert_eq!(json(&out), json!({ "days": 7, "deleted_count": 2 }));
    // Pending events are never deleted, however old.
    let stats = json(&succeeds(db.dq().args(["stats", "--json"])));
    assert_eq!(stats["pending"], 3);
    assert_eq!(stats["processed"], 1);
    assert_eq!(stats["total"], 4);
    // --days 0 deletes every processed event.
    let out = succeeds(db.dq().args(["cleanup", "--days", "0", "--json"]));
    assert_eq!(json(&out)["deleted_count"], 1);
}

#[test]
fn admin_commands_take_global_flags_after_the_subcommand() {
    let (db, ids) = mixed_queue();
    let path = db.path().to_str().unwrap();
    for args in [
        vec!["stats", "--db", path, "--json"],
        vec!["failed", "--json", "--db", path],
        vec!["cleanup", "--db", path, "--days", "1", "--json"],
    ] {
        let out = succeeds(support::dq().args(&args));
        json(&out);
    }
    let output = run(support::dq().args(["retry", &ids[1].to_string(), "--db", path]));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "Requeued 1 event(s).\n");
}
