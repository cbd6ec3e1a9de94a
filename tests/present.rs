//! Presentation at publish time, run as the real binary: `--title`, `--body`, `--level`,
//! `--color` and `--url` on the publish commands, the same keys on batch lines and over HTTP,
//! `dq publish message`, and `dq render` printing what `dq consume` would send.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::discord::FakeDiscord;
use support::queue::{count, fails, json, row, stdout, succeeds, WriteStdin};
use support::serve::Serve;
use support::TempDb;

const ORANGE: u64 = 0xFF8C00;

/// The one embed `dq render ARGS` prints.
fn render(args: &[&str]) -> Value {
    let out = succeeds(support::dq().arg("render").args(args));
    assert_eq!(out.lines().count(), 1, "{out}");
    let body = json(&out);
    assert_eq!(body["embeds"].as_array().unwrap().len(), 1, "{body}");
    body["embeds"][0].clone()
}

/// The embeds `dq consume --dry-run --once` prints for what is due in `db`.
fn dry_run(db: &TempDb) -> Vec<Value> {
    let out = succeeds(db.dq().args(["consume", "--dry-run", "--once"]));
    out.lines()
        .flat_map(|line| json(line)["embeds"].as_array().unwrap().clone())
        .collect()
}

fn without_timestamp(mut embed: Value) -> Value {
    embed.as_object_mut().unwrap().remove("timestamp");
    embed
}

fn field_names(embed: &Value) -> Vec<String> {
    embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_level_puts_its_emoji_before_the_title_and_gives_its_colour() {
    for (level, emoji, color) in [
        ("info", "ℹ️", 0x1E90FF),
        ("success", "✅", 0x00FF00),
        ("warning", "⚠️", ORANGE),
        ("error", "❌", 0xFF0000),
    ] {
        let embed = render(&["disk_full", "--title", "Disk", "--level", level]);
        assert_eq!(embed["title"], format!("{emoji} Disk"), "{level}");
        assert_eq!(embed["color"], color, "{level}");
        // Without a title, the level's emoji replaces the generic bell.
        let embed = render(&["disk_full", "--level", level]);
        assert_eq!(embed["title"], format!("{emoji} disk_full"), "{level}");
    }
}

#[test]
fn the_done_when_example_is_a_warning_titled_so_with_its_field() {
    let db = TempDb::new();
    succeeds(db.dq().args(["publish", "event", "disk_full"]).args([
        "--title",
        "Disk almost full",
        "--level",
        "warning",
        "--field",
        "mount=/data",
    ]));
    let embeds = dry_run(&db);
    assert_eq!(embeds.len(), 1);
    assert_eq!(
        without_timestamp(embeds[0].clone()),
        json!({
            "title": "⚠️ Disk almost full",
            "color": ORANGE,
            "fields": [{"name": "mount", "value": "/data", "inline": true}],
        })
    );
}

#[test]
fn a_title_replaces_the_type_name_and_the_bell_goes_with_it() {
    assert_eq!(render(&["disk_full"])["title"], "🔔 disk_full");
    assert_eq!(render(&["disk_full", "--title", "Disk"])["title"], "Disk");
    // A blank title (an empty variable in a script) is no title.
    assert_eq!(
        render(&["disk_full", "--title", " "])["title"],
        "🔔 disk_full"
    );
}

#[test]
fn color_wins_over_the_levels_and_takes_names_and_hex() {
    let embed = render(&["t", "--level", "error", "--color", "#00ff7f"]);
    assert_eq!(embed["title"], "❌ t", "the level's emoji stays");
    assert_eq!(embed["color"], 0x00FF7F);
    for (name, value) in [
        ("red", 0xFF0000),
        ("orange", ORANGE),
        ("yellow", 0xFFD700),
        ("green", 0x00FF00),
        ("blue", 0x1E90FF),
        ("purple", 0x9B59B6),
        ("grey", 0x95A5A6),
    ] {
        assert_eq!(render(&["t", "--color", name])["color"], value, "{name}");
    }
}

#[test]
fn body_is_the_description_and_url_links_the_title() {
    let embed = render(&[
        "deploy",
        "--title",
        "Deployed",
        "--body",
        "**v1.2** is live\n- fast",
        "--url",
        "https://ci.example/runs/7?x=1#log",
    ]);
    assert_eq!(embed["description"], "**v1.2** is live\n- fast");
    assert_eq!(embed["url"], "https://ci.example/runs/7?x=1#log");
    assert!(render(&["deploy"]).get("url").is_none());
}

#[test]
fn known_types_keep_their_layout_unless_a_flag_overrides_a_part() {
    let args = [
        "backup_success",
        "--field",
        "backup_file=w.tgz",
        "--field",
        "size_mb:=512.5",
        "--field",
        "duration_seconds:=42",
    ];
    let plain = render(&args);
    assert_eq!(plain["title"], "✅ Backup Completado");
    assert_eq!(plain["color"], 0x00FF00);
    let warned = render(&[&args[..], &["--level", "warning"]].concat());
    assert_eq!(warned["title"], "⚠️ Backup Completado");
    assert_eq!(warned["color"], ORANGE);
    assert_eq!(warned["fields"], plain["fields"]);
    assert_eq!(warned["footer"], plain["footer"]);
    let retitled = render(&[&args[..], &["--title", "Nightly world backup"]].concat());
    assert_eq!(
        retitled["title"], "✅ Nightly world backup",
        "the type's emoji stays"
    );
    assert_eq!(retitled["color"], 0x00FF00);
    let error = render(&[
        "backup_error",
        "--field",
        "error_message=disk full",
        "--body",
        "See the log",
        "--lang",
        "en",
    ]);
    assert_eq!(error["title"], "❌ Backup failed");
    assert_eq!(error["description"], "See the log");
    assert_eq!(field_names(&error), ["Codespace", "Type"]);
}

#[test]
fn title_and_color_inside_the_payload_stay_fields() {
    let embed = render(&["t", "--field", "title=from data", "--field", "color=red"]);
    assert_eq!(embed["title"], "🔔 t");
    assert_eq!(embed["color"], 0x5865F2);
    assert_eq!(
        embed["fields"],
        json!([
            {"name": "title", "value": "from data", "inline": true},
            {"name": "color", "value": "red", "inline": true},
        ])
    );
}

#[test]
fn fields_keep_the_order_given() {
    let embed = render(&[
        "t", "--field", "zeta=1", "--field", "alpha=2", "--field", "mid=3",
    ]);
    assert_eq!(field_names(&embed), ["zeta", "alpha", "mid"]);
    let embed = render(&["t", "--payload", r#"{"b": 1, "a": 2, "c": 3}"#]);
    assert_eq!(field_names(&embed), ["b", "a", "c"]);
}

#[test]
fn bad_presentation_flags_are_usage_errors_and_store_nothing() {
    let db = TempDb::new();
    for (flags, needle) in [
        (["--level", "urgent"], "--level"),
        (["--color", "pink"], "--color"),
        (["--color", "#12345"], "--color"),
        (["--url", "example.com"], "https://"),
        (["--url", "ftp://example.com"], "https://"),
        (["--url", "https://exa mple.com"], "spaces"),
    ] {
        fails(
            db.dq().args(["publish", "event", "t"]).args(flags),
            2,
            needle,
        );
        fails(support::dq().args(["render", "t"]).args(flags), 2, needle);
    }
    assert!(!db.path().exists(), "no database was even created");
}

#[test]
fn publish_message_sends_the_text_as_the_description() {
    let db = TempDb::new();
    let id: i64 = succeeds(db.dq().args(["publish", "message", "Backup done"]))
        .trim()
        .parse()
        .unwrap();
    let stored = row(&db, id);
    assert_eq!(stored.event_type, "message");
    assert_eq!(stored.payload["message"], "Backup done");
    succeeds(
        db.dq()
            .args(["publish", "message", "Disk full", "--level", "error"]),
    );
    succeeds(db.dq().args([
        "publish",
        "message",
        "Up",
        "--title",
        "Deploy",
        "--codespace",
        "cs",
    ]));
    let embeds: Vec<Value> = dry_run(&db).into_iter().map(without_timestamp).collect();
    assert_eq!(
        embeds,
        [
            json!({"description": "Backup done", "color": 0x5865F2}),
            json!({"description": "❌ Disk full", "color": 0xFF0000}),
            json!({"title": "Deploy", "description": "Up", "color": 0x5865F2,
                   "footer": {"text": "cs"}}),
        ]
    );
    fails(db.dq().args(["publish", "message", " "]), 2, "empty");
}

#[test]
fn render_prints_what_consume_would_send_and_opens_no_database() {
    let db = TempDb::new();
    let args = [
        "disk_full",
        "--field",
        "mount=/data",
        "--title",
        "Disk almost full",
        "--level",
        "warning",
        "--url",
        "https://grafana.example/d/1",
        "--codespace",
        "cs-1",
    ];
    succeeds(db.dq().args(["publish", "event"]).args(args));
    let published = dry_run(&db);
    let rendered = support::dq()
        .arg("--db")
        .arg(db.dir.path().join("never.db"))
        .arg("render")
        .args(args)
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    assert!(!db.dir.path().join("never.db").exists());
    let rendered = json(&stdout(&rendered));
    assert_eq!(
        without_timestamp(rendered["embeds"][0].clone()),
        without_timestamp(published[0].clone())
    );
    // Needs no database path at all.
    let output = support::dq()
        .env_remove("HOME")
        .env_remove("XDG_DATA_HOME")
        .args(["render", "t"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn render_mentions_the_user_as_consume_does() {
    let out = succeeds(support::dq().args(["render", "t", "--user-id", "42", "--mention"]));
    let body = json(&out);
    assert_eq!(body["content"], "<@42>");
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "users": ["42"]})
    );
}

#[test]
fn batch_lines_carry_the_keys_and_the_flags_fill_in_the_rest() {
    let db = TempDb::new();
    let input = concat!(
        r#"{"event_type": "a", "payload": {}, "title": "First", "level": "success"}"#,
        "\n",
        r#"{"event_type": "b", "payload": {"n": 1}, "color": "purple", "url": "https://e.x/b"}"#,
        "\n",
        r#"{"event_type": "c", "payload": {}, "body": "third"}"#,
        "\n",
    );
    let output = db
        .dq()
        .args(["publish", "batch", "--level", "error", "--title", "Batch"])
        .write_stdin_and_wait(input);
    assert!(output.status.success(), "{output:?}");
    let embeds = dry_run(&db);
    assert_eq!(embeds[0]["title"], "✅ First");
    assert_eq!(embeds[0]["color"], 0x00FF00);
    assert_eq!(embeds[1]["title"], "❌ Batch");
    assert_eq!(embeds[1]["color"], 0x9B59B6);
    assert_eq!(embeds[1]["url"], "https://e.x/b");
    assert_eq!(embeds[2]["title"], "❌ Batch");
    assert_eq!(embeds[2]["description"], "third");
}

#[test]
fn a_batch_line_with_a_bad_key_names_its_line_and_stores_nothing() {
    let db = TempDb::new();
    for (line, needle) in [
        (
            r#"{"event_type": "b", "payload": {}, "level": "loud"}"#,
            "level",
        ),
        (
            r#"{"event_type": "b", "payload": {}, "colour": "red"}"#,
            "unknown field `colour`",
        ),
        (
            r#"{"event_type": "b", "payload": {}, "title": 5}"#,
            "invalid type",
        ),
        (
            r#"{"event_type": "b", "payload": {}, "url": "mailto:x@y"}"#,
            "https://",
        ),
    ] {
        let input = format!("{{\"event_type\": \"a\", \"payload\": {{}}}}\n{line}\n");
        let output = db
            .dq()
            .args(["publish", "batch"])
            .write_stdin_and_wait(&input);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(
            error.contains("line 2") && error.contains(needle),
            "{error}"
        );
    }
    assert!(!db.path().exists() || count(&db) == 0);
}

#[test]
fn http_publish_takes_the_keys_and_the_api_events_carry_them() {
    let db = TempDb::new();
    let serve = Serve::start(&db, &["--no-auth"]);
    let published = serve.post(
        "/discord/events",
        Some(
            r##"{"event_type": "disk_full", "payload": {"mount": "/data", "title": "data"},
                "title": "Disk almost full", "level": "warning", "color": "#112233",
                "url": "https://grafana.example/d/1", "body": "97% used"}"##,
        ),
    );
    assert_eq!(published.status, 201, "{}", published.body);
    for (body, needle) in [
        (
            r#"{"event_type": "x", "payload": {}, "level": "loud"}"#,
            "level",
        ),
        (
            r#"{"event_type": "x", "payload": {}, "url": "nope"}"#,
            "https://",
        ),
        (
            r#"{"event_type": "x", "payload": {}, "colour": "red"}"#,
            "colour",
        ),
    ] {
        let refused = serve.post("/discord/events", Some(body));
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.json()["error"].as_str().unwrap().contains(needle));
    }
    let events = serve.get("/discord/events?lease=0").json();
    assert_eq!(events["count"], 1);
    let event = &events["events"][0];
    assert_eq!(event["title"], "Disk almost full");
    assert_eq!(event["body"], "97% used");
    assert_eq!(event["level"], "warning");
    assert_eq!(event["color"], "#112233");
    assert_eq!(event["url"], "https://grafana.example/d/1");
    assert_eq!(event["payload"]["title"], "data", "payload keys stay data");

    // A consumer reading the serve renders them.
    let out = succeeds(support::dq().args([
        "consume",
        "--source",
        &format!("http://{}", serve.addr),
        "--dry-run",
        "--once",
    ]));
    let embed = &json(out.lines().next().unwrap())["embeds"][0];
    assert_eq!(embed["title"], "⚠️ Disk almost full");
    assert_eq!(embed["description"], "97% used");
    assert_eq!(embed["color"], 0x112233);
    assert_eq!(embed["url"], "https://grafana.example/d/1");
    assert_eq!(field_names(embed), ["mount", "title"]);
}

#[test]
fn discord_accepts_a_restyled_message() {
    let db = TempDb::new();
    succeeds(
        db.dq()
            .args(["publish", "event", "deploy", "--field", "v=1"])
            .args([
                "--title",
                "Deployed",
                "--level",
                "success",
                "--url",
                "https://ci.example/7",
                "--body",
                &"long ".repeat(2000),
            ]),
    );
    succeeds(
        db.dq()
            .args(["publish", "message", "done", "--color", "grey"]),
    );
    let fake = FakeDiscord::start();
    succeeds(
        db.dq()
            .args(["consume", "--once", "--webhook", &fake.webhook_url()]),
    );
    let embeds = fake.wait_for_embeds(2, Duration::from_secs(10));
    assert_eq!(embeds[0]["url"], "https://ci.example/7");
    assert_eq!(
        embeds[0]["description"].as_str().unwrap().chars().count(),
        4096
    );
    assert_eq!(embeds[1]["description"], "done");
    assert!(fake
        .message_requests()
        .iter()
        .all(|request| request.status == 200));
}
