//! `dq consume` end to end: the real binary, a temporary database, and the fake Discord on
//! 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::discord::{Config, FakeDiscord, Fault, RateLimit};
use support::SpawnRunning;
use support::TempDb;

fn publish(db: &TempDb, args: &[&str]) -> i64 {
    let output = db.dq().arg("publish").args(args).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn publish_many(db: &TempDb, count: usize, user: &str) {
    let lines: String = (0..count)
        .map(|index| {
            format!(
                "{}\n",
                json!({"event_type": "job_done", "payload": {"n": index}, "user_id": user})
            )
        })
        .collect();
    let output = support::run_with_stdin(db.dq().args(["publish", "batch"]), lines);
    assert!(output.status.success(), "{output:?}");
}

fn consume_webhook(db: &TempDb, fake: &FakeDiscord, extra: &[&str]) -> Output {
    db.dq()
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .args(extra)
        .output()
        .unwrap()
}

fn consume_bot(db: &TempDb, fake: &FakeDiscord, extra: &[&str]) -> Output {
    db.dq()
        .args(["consume", "--once", "--bot-token", "bot-secret"])
        .args(["--discord-api", &fake.api()])
        .args(extra)
        .output()
        .unwrap()
}

fn stats(db: &TempDb) -> Value {
    let output = db.dq().args(["stats", "--json"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

fn event(db: &TempDb, id: i64) -> (i64, i64, Option<String>) {
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.query_row(
        "SELECT processed, attempts, error_message FROM events WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn consume_delivers_a_published_event_by_webhook_and_marks_it_processed() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    let id = publish(
        &db,
        &[
            "--codespace",
            "cs-1",
            "backup-error",
            "--error-type",
            "upload",
            "--message",
            "quota",
        ],
    );
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!("delivered events {id} from local")));

    let requests = fake.message_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/api/v10/webhooks/1111/webhook-token");
    assert_eq!(requests[0].query, "wait=true");
    let embeds = fake.embeds();
    assert_eq!(embeds[0]["title"], "☁️ Error en Subida a MEGA");
    assert_eq!(embeds[0]["description"], "```\nquota\n```");
    assert_eq!(event(&db, id), (1, 0, None));
    assert_eq!(stats(&db)["processed"], 1);
}

#[test]
fn consume_sends_the_embed_render_gives_for_the_stored_event() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    publish(
        &db,
        &[
            "--codespace",
            "cs-1",
            "backup-success",
            "--file",
            "a.tar",
            "--size-mb",
            "12.345",
            "--duration",
            "9.87",
        ],
    );
    publish(
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
            "2",
        ],
    );
    let output = consume_webhook(&db, &fake, &["--lang", "en"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let messages = fake.messages();
    assert_eq!(
        messages.len(),
        1,
        "two events for one channel share a message"
    );
    let mut embeds = fake.embeds();
    for embed in &mut embeds {
        assert!(embed["timestamp"].as_str().unwrap().ends_with('Z'));
        embed.as_object_mut().unwrap().remove("timestamp");
    }
    assert_eq!(
        embeds,
        vec![
            json!({
                "title": "✅ Backup completed", "color": 65280,
                "fields": [
                    {"name": "File", "value": "`a.tar`", "inline": false},
                    {"name": "Size", "value": "12.35 MB", "inline": true},
                    {"name": "Duration", "value": "9.9s", "inline": true},
                    {"name": "Codespace", "value": "cs-1", "inline": true},
                ],
                "footer": {"text": "d0ce3|tools • Backup Monitor"},
            }),
            json!({
                "title": "✅ Minecraft server - ONLINE", "color": 65280,
                "fields": [
                    {"name": "IP", "value": "`1.2.3.4:25566`", "inline": true},
                    {"name": "Players", "value": "2", "inline": true},
                ],
            }),
        ]
    );
}

#[test]
fn consume_dry_run_prints_one_json_line_per_message_and_marks_nothing() {
    let db = TempDb::new();
    publish(&db, &["test"]);
    publish_many(&db, 12, "");
    let before = db.dump();
    let output = db
        .dq()
        .args(["consume", "--once", "--dry-run"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "13 events make messages of 10 and 3");
    assert_eq!(lines[0]["embeds"].as_array().unwrap().len(), 10);
    assert_eq!(lines[0]["embeds"][0]["title"], "🔔 test");
    assert_eq!(db.dump(), before, "a dry run changes nothing");
}

#[test]
fn consume_without_a_sink_is_a_usage_error() {
    let db = TempDb::new();
    let output = db.dq().args(["consume", "--once"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--webhook"));
}

#[test]
fn consume_delivers_a_huge_error_message_within_discord_limits() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    // 50,000 characters, some of them two bytes long, within the 64 KiB payload limit.
    let message = format!("{}{}", "é".repeat(10), "x".repeat(49_990));
    let id = publish(
        &db,
        &[
            "backup-error",
            "--error-type",
            "compression",
            "--message",
            &message,
        ],
    );
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let embeds = fake.embeds();
    let description = embeds[0]["description"].as_str().unwrap();
    assert_eq!(description.chars().count(), 4096);
    assert!(description.starts_with("```\néé") && description.ends_with("x…\n```"));
    assert_eq!(event(&db, id).0, 1);
}

#[test]
fn consume_waits_out_a_429_without_spending_an_attempt() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults([Fault::RateLimited {
        retry_after: 1.2,
        global: false,
    }]);
    let id = publish(&db, &["test"]);
    let started = Instant::now();
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(started.elapsed() >= Duration::from_millis(1200));
    let statuses: Vec<u16> = fake.message_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 200]);
    assert_eq!(event(&db, id), (1, 0, None), "a 429 is no attempt");
}

#[test]
fn consume_sends_nothing_after_its_lease_when_a_429_outlasts_it() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults([Fault::RateLimited {
        retry_after: 9.5,
        global: false,
    }]);
    let id = publish(&db, &["test"]);
    let output = consume_webhook(&db, &fake, &["--lease", "10"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("were not sent"),
        "{}",
        stderr(&output)
    );
    // It gave up at once instead of sending after its lease ends, when another consumer
    // may hold the event; the event is untouched and comes back when the lease ends.
    let statuses: Vec<u16> = fake.message_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429], "{}", stderr(&output));
    assert_eq!(event(&db, id), (0, 0, None), "a 429 is no attempt");
    assert_eq!(stats(&db)["leased"], 1);
}

#[test]
fn consume_pauses_every_send_on_a_global_429() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults([Fault::RateLimited {
        retry_after: 1.0,
        global: true,
    }]);
    publish(&db, &["test"]);
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = fake.message_requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].at.duration_since(requests[0].at) >= Duration::from_millis(1000));
}

#[test]
fn consume_retries_a_5xx_in_place_then_delivers() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults([Fault::Status(500), Fault::Status(502), Fault::Drop]);
    let id = publish(&db, &["test"]);
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("after 3 retries"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(
        event(&db, id),
        (1, 0, None),
        "retries in place are no attempt"
    );
}

#[test]
fn consume_with_a_bot_does_not_post_twice_when_the_answer_is_lost() {
    let db = TempDb::new();
    let fake = FakeDiscord::with(Config {
        bot_token: Some("bot-secret".into()),
        ..Config::default()
    });
    fake.push_faults([Fault::LoseResponse]);
    let id = publish(&db, &["--user-id", "42", "test"]);
    let output = consume_bot(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fake.messages().len(),
        1,
        "the nonce kept Discord from posting again"
    );
    let sends: Vec<Value> = fake
        .message_requests()
        .iter()
        .map(|request| request.body.clone())
        .collect();
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0]["nonce"], sends[1]["nonce"]);
    assert_eq!(sends[0]["enforce_nonce"], true);
    assert_eq!(event(&db, id).0, 1);
    let dm_creations = fake
        .requests()
        .iter()
        .filter(|request| request.path.ends_with("/users/@me/channels"))
        .count();
    assert_eq!(dm_creations, 1, "the DM channel is created once and cached");
}

#[test]
fn consume_marks_failed_when_dms_are_closed() {
    let db = TempDb::new();
    let fake = FakeDiscord::with(Config {
        closed_dms: vec!["42".into()],
        ..Config::default()
    });
    let closed = publish(&db, &["--user-id", "42", "test"]);
    let open = publish(&db, &["--user-id", "43", "test"]);
    let output = consume_bot(&db, &fake, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let (processed, attempts, error) = event(&db, closed);
    assert_eq!(
        (processed, attempts),
        (0, 3),
        "permanent: straight to the dead letter"
    );
    assert_eq!(
        error.unwrap(),
        "discord 403 (code 50007): Cannot send messages to this user"
    );
    assert_eq!(event(&db, open).0, 1, "other users still get theirs");
    assert_eq!(stats(&db)["failed"], 1);
}

#[test]
fn consume_marks_failed_permanently_and_stops_when_the_webhook_is_unknown() {
    let db = TempDb::new();
    let fake = FakeDiscord::with(Config {
        unknown_webhook: true,
        ..Config::default()
    });
    publish_many(&db, 25, "");
    let output = consume_webhook(&db, &fake, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        fake.message_requests().len(),
        1,
        "a 404 webhook is not hammered"
    );
    let failed = db.dq().args(["failed", "--json"]).output().unwrap();
    let text = String::from_utf8(failed.stdout).unwrap();
    assert!(
        text.contains("Unknown Webhook") && text.contains("10015"),
        "{text}"
    );
    let stats = stats(&db);
    assert_eq!(
        stats["failed"], 10,
        "only the message in hand spent its attempts"
    );
    assert_eq!(stats["pending"], 15);
}

#[test]
fn consume_drains_a_burst_of_100_events_within_the_rate_limit() {
    let db = TempDb::new();
    let fake = FakeDiscord::with(Config {
        rate_limit: Some(RateLimit {
            requests: 5,
            window: Duration::from_secs(2),
        }),
        ..Config::default()
    });
    publish_many(&db, 100, "");
    let output = consume_webhook(&db, &fake, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = fake.message_requests();
    assert_eq!(requests.len(), 10, "10 messages of 10 embeds, no 429");
    let mut numbers: Vec<i64> = fake
        .embeds()
        .iter()
        .map(|embed| {
            embed["fields"][0]["value"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (0..100).collect::<Vec<_>>(),
        "each event exactly once"
    );
    assert_eq!(stats(&db)["processed"], 100);
}

#[test]
fn consume_once_exits_0_when_nothing_is_due() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    let output = consume_webhook(&db, &fake, &[]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("0 delivered"));
}

#[test]
fn consume_pings_the_user_only_when_asked() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    publish(&db, &["--user-id", "42", "test"]);
    let output = consume_webhook(&db, &fake, &["--mention"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let body = &fake.messages()[0].body;
    assert_eq!(body["content"], "<@42>");
    assert_eq!(
        body["allowed_mentions"],
        json!({"parse": [], "users": ["42"]})
    );
}

#[test]
fn consume_long_polls_the_local_database_and_stops_cleanly_on_sigterm() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    let child = db
        .dq()
        .args([
            "consume",
            "--webhook",
            &fake.webhook_url(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .running();
    // Give it time to start waiting, then publish: it must arrive without a restart.
    std::thread::sleep(Duration::from_millis(300));
    let id = publish(&db, &["test"]);
    let embeds = fake.wait_for_embeds(1, Duration::from_secs(20));
    assert_eq!(embeds.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while event(&db, id).0 != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(event(&db, id).0, 1);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = stderr(&output);
    assert!(text.contains("consume stopped: 1 delivered"), "{text}");
}

/// A database path that cannot be created: its parent is a regular file.
fn unwritable_db(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    file.join("events.db")
}

#[test]
fn publish_sends_straight_to_the_webhook_when_the_database_cannot_be_written() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let output = support::dq()
        .arg("--db")
        .arg(unwritable_db(&dir))
        .env("DISCORD_WEBHOOK_URL", fake.webhook_url())
        .args([
            "publish",
            "backup-error",
            "--error-type",
            "upload",
            "--message",
            "quota",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("straight to the Discord webhook"));
    let embeds = fake.embeds();
    assert_eq!(embeds.len(), 1);
    assert_eq!(embeds[0]["title"], "☁️ Error en Subida a MEGA");
    assert_eq!(fake.message_requests()[0].query, "wait=true");
}

#[test]
fn a_small_batch_goes_straight_to_the_webhook_and_a_long_one_does_not() {
    let fake = FakeDiscord::start();
    let dir = tempfile::tempdir().unwrap();
    let line =
        |n: usize| format!("{{\"event_type\":\"test\",\"payload\":{{\"message\":\"m{n}\"}}}}\n");
    let batch = |lines: usize| {
        let input: String = (0..lines).map(line).collect();
        support::run_with_stdin(
            support::dq()
                .arg("--db")
                .arg(unwritable_db(&dir))
                .env("DISCORD_WEBHOOK_URL", fake.webhook_url())
                .args(["publish", "batch"]),
            input,
        )
    };
    let output = batch(3);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(fake.embeds().len(), 3);

    // Past the read-ahead the batch streams, so it is not all in hand to send.
    let output = batch(10_001);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is not sent straight to Discord"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fake.embeds().len(), 3);
}

#[test]
fn publish_fails_when_neither_the_database_nor_the_webhook_takes_the_event() {
    let dir = tempfile::tempdir().unwrap();
    let without_webhook = support::dq()
        .arg("--db")
        .arg(unwritable_db(&dir))
        .args(["publish", "test"])
        .output()
        .unwrap();
    assert_eq!(without_webhook.status.code(), Some(1));

    let fake = FakeDiscord::with(Config {
        unknown_webhook: true,
        ..Config::default()
    });
    let refused = support::dq()
        .arg("--db")
        .arg(unwritable_db(&dir))
        .env("DISCORD_WEBHOOK_URL", fake.webhook_url())
        .args(["publish", "test"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("Unknown Webhook"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn readme_first_command_prints_the_message_of_a_published_event() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let first = readme
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(first.ends_with("dq consume --once --dry-run"), "{first}");
    let db = TempDb::new();
    publish(
        &db,
        &[
            "backup-error",
            "--error-type",
            "compression",
            "--message",
            "No space left",
        ],
    );
    let output = db
        .dq()
        .args(["consume", "--once", "--dry-run"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let message: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        message["embeds"][0]["title"],
        "📦 Error en Compresión de Backup"
    );
    assert_eq!(stats(&db)["pending"], 1, "a dry run delivers nothing");
}

/// Reads the child's stderr until the health server announces its address.
fn announced_address(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(address) = line.split("/metrics on ").nth(1) {
            // Keep draining stderr so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return address.trim().to_string();
        }
    }
}

fn get(url: &str) -> (u16, String) {
    let mut response = ureq::get(url).call().unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn consume_answers_health_and_metrics_per_source() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    publish(&db, &["test"]);
    let mut child = db
        .dq()
        .args([
            "consume",
            "--webhook",
            &fake.webhook_url(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .running();
    let address = announced_address(&mut child);
    fake.wait_for_embeds(1, Duration::from_secs(20));
    let (status, health) = get(&format!("{address}/health"));
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&health).unwrap()["status"],
        "healthy"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        let (_, metrics) = get(&format!("{address}/metrics"));
        if metrics.contains("dq_consume_delivered_total{source=\"local\"} 1")
            || Instant::now() > deadline
        {
            break metrics;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metrics.contains("dq_consume_delivered_total{source=\"local\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE dq_consume_rate_limited_total counter"),
        "{metrics}"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn consume_on_render_listens_on_port_by_itself() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = db
        .dq()
        .args(["consume", "--webhook", &fake.webhook_url()])
        .env("RENDER", "true")
        .env("PORT", port.to_string())
        .stderr(Stdio::piped())
        .running();
    let address = announced_address(&mut child);
    assert_eq!(address, format!("http://0.0.0.0:{port}"));
    let (status, _) = get(&format!("http://127.0.0.1:{port}/health"));
    assert_eq!(status, 200);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn consume_counts_one_attempt_when_discord_keeps_failing_and_stops_claiming() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults((0..20).map(|_| Fault::Status(503)));
    publish_many(&db, 25, "");
    // A 10 s lease leaves 5 s of retries in place: 0.5 + 1 + 2 s, then the attempt fails.
    let output = consume_webhook(&db, &fake, &["--lease", "10"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        fake.message_requests().len(),
        4,
        "one send and three retries"
    );
    let (processed, attempts, error) = event(&db, 1);
    assert_eq!(
        (processed, attempts),
        (0, 1),
        "retries in place count as one attempt"
    );
    assert!(error.unwrap().contains("503"));
    let stats = stats(&db);
    assert_eq!(
        stats["waiting"], 10,
        "the message in hand waits its backoff"
    );
    assert_eq!(stats["failed"], 0, "a flaky Discord dead-letters nothing");
    let untouched = (11..=25).all(|id| event(&db, id) == (0, 0, None));
    assert!(untouched, "no new events are claimed while Discord fails");
}

#[test]
fn consume_killed_mid_delivery_loses_nothing_once_its_lease_ends() {
    let db = TempDb::new();
    let fake = FakeDiscord::start();
    fake.push_faults([Fault::RateLimited {
        retry_after: 60.0,
        global: false,
    }]);
    let id = publish(&db, &["test"]);
    let mut child = db
        .dq()
        .args(["consume", "--webhook", &fake.webhook_url(), "--lease", "10"])
        .stderr(Stdio::null())
        .running();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fake.message_requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        stats(&db)["leased"],
        1,
        "the killed consumer still holds it"
    );
    // Another consumer gets it once the lease ends.
    let deadline = Instant::now() + Duration::from_secs(40);
    while fake.messages().is_empty() && Instant::now() < deadline {
        assert!(consume_webhook(&db, &fake, &[]).status.success());
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(fake.messages().len(), 1);
    assert_eq!(event(&db, id), (1, 0, None));
}
