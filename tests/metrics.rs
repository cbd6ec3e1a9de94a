//! The metrics people alert on, end to end: serve's `/discord/metrics` and consume's
//! `/metrics` pass the exposition checks promtool makes, and show the age of the oldest due
//! event, the time of the last delivery and the latency histogram of created → delivered.
#![allow(clippy::unwrap_used)]

mod support;

use chrono::Utc;
use serde_json::json;
use support::prometheus::{check, check_text, Samples};
use support::serve::{ids, publish, Serve};
use support::TempDb;

/// Sets the creation time of `id` to `seconds` ago.
fn created_ago(db: &TempDb, id: i64, seconds: i64) {
    let created = Utc::now() - chrono::Duration::seconds(seconds);
    rusqlite::Connection::open(db.path())
        .unwrap()
        .execute(
            "UPDATE events SET created_at = ?2 WHERE id = ?1",
            rusqlite::params![id, dq::event::format_timestamp(created)],
        )
        .unwrap();
}

fn bucket(samples: &Samples, name: &str, le: &str) -> f64 {
    samples.value(&format!("{name}_bucket"), &[("le", le)])
}

#[test]
fn serve_metrics_show_the_oldest_due_age_the_last_delivery_and_the_latency_of_acks() {
    let db = TempDb::new();
    let ids_published = publish(&db, 4);
    created_ago(&db, ids_published[0], 7200);
    created_ago(&db, ids_published[1], 40);
    created_ago(&db, ids_published[3], 600);
    let serve = Serve::start(&db, &[]);

    // Before any delivery: no last delivery sample, an empty histogram, the oldest due event
    // two hours old.
    let before = check(&serve.get("/discord/metrics").body);
    assert_eq!(before.get("dq_last_delivery_timestamp_seconds", &[]), None);
    assert_eq!(before.value("dq_delivery_latency_seconds_count", &[]), 0.0);
    let age = before.value("dq_oldest_due_age_seconds", &[]);
    assert!((7200.0..7300.0).contains(&age), "{age}");

    // Two acknowledged in one batch, one by the single route, one left due.
    let claimed = ids(&serve.claim("limit=2"));
    assert_eq!(claimed, ids_published[..2]);
    let answer = serve.ack(json!([
        {"id": claimed[0], "status": "processed"},
        {"id": claimed[1], "status": "processed"},
        {"id": 999, "status": "processed"},
    ]));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(ids(&serve.claim("limit=1")), [ids_published[2]]);
    let single = serve.post(
        &format!("/discord/events/{}/processed", ids_published[2]),
        None,
    );
    assert_eq!(single.status, 200);
    // Repeats count no second delivery.
    serve.post(
        &format!("/discord/events/{}/processed", ids_published[2]),
        None,
    );
    serve.ack(json!([{"id": claimed[0], "status": "processed"}]));

    let after = check(&serve.get("/discord/metrics").body);
    let latency = "dq_delivery_latency_seconds";
    assert_eq!(after.value(&format!("{latency}_count"), &[]), 3.0);
    assert_eq!(bucket(&after, latency, "30"), 1.0, "the fresh event");
    assert_eq!(bucket(&after, latency, "60"), 2.0, "and the one 40 s old");
    assert_eq!(bucket(&after, latency, "3600"), 2.0);
    assert_eq!(
        bucket(&after, latency, "10800"),
        3.0,
        "and the one two hours old"
    );
    let sum = after.value(&format!("{latency}_sum"), &[]);
    assert!((7240.0..7400.0).contains(&sum), "{sum}");
    let last = after.value("dq_last_delivery_timestamp_seconds", &[]);
    let now = Utc::now().timestamp() as f64;
    assert!((now - 60.0..=now + 1.0).contains(&last), "{last} vs {now}");
    let age = after.value("dq_oldest_due_age_seconds", &[]);
    assert!((600.0..700.0).contains(&age), "{age}");
    assert_eq!(
        after.value("dq_events_acked_total", &[("outcome", "processed")]),
        3.0
    );

    // Nothing due: the age is 0, the last delivery stays.
    assert_eq!(ids(&serve.claim("limit=1")), [ids_published[3]]);
    let leased = check(&serve.get("/discord/metrics").body);
    assert_eq!(leased.value("dq_oldest_due_age_seconds", &[]), 0.0);
    assert_eq!(
        leased.value("dq_last_delivery_timestamp_seconds", &[]),
        last
    );
}

#[test]
fn consume_metrics_show_the_age_at_each_claim_the_last_delivery_and_the_latency() {
    use support::consume::Consume;
    use support::discord::{Config, FakeDiscord};
    use support::serve::eventually;
    let db = TempDb::new();
    let published = publish(&db, 3);
    created_ago(&db, published[0], 7200);
    // Discord takes its time: the events are in hand while the metrics are read.
    let fake = FakeDiscord::with(Config {
        delay: std::time::Duration::from_secs(2),
        ..Config::default()
    });
    let consume = Consume::start(&[
        "--db",
        db.path().to_str().unwrap(),
        "--webhook",
        &fake.webhook_url(),
    ]);
    let local = [("source", "local")];
    let scrape = || check(&consume.call("GET", "/metrics", None, None).body);
    let mut age = 0.0;
    assert!(
        eventually(std::time::Duration::from_secs(20), || {
            age = scrape().value("dq_oldest_due_age_seconds", &local);
            age > 0.0
        }),
        "no claim seen"
    );
    assert!((7200.0..7300.0).contains(&age), "{age}");
    let mut samples = scrape();
    assert!(eventually(std::time::Duration::from_secs(20), || {
        samples = scrape();
        samples.value("dq_delivery_latency_seconds_count", &local) == 3.0
            && samples.value("dq_oldest_due_age_seconds", &local) == 0.0
    }));
    let le = |bound| {
        samples.value(
            "dq_delivery_latency_seconds_bucket",
            &[local[0], ("le", bound)],
        )
    };
    assert_eq!(le("1"), 0.0, "Discord took 2 s");
    assert_eq!(le("3600"), 2.0);
    assert_eq!(le("10800"), 3.0);
    let last = samples.value("dq_last_delivery_timestamp_seconds", &local);
    assert!(
        (Utc::now().timestamp() as f64 - last).abs() < 60.0,
        "{last}"
    );
    assert_eq!(fake.embeds().len(), 3);
}

#[test]
fn the_last_delivery_includes_what_other_processes_delivered() {
    let db = TempDb::new();
    let published = publish(&db, 1);
    let serve = Serve::start(&db, &[]);
    support::queue::mark_processed(&db, published[0]);
    let samples = check(&serve.get("/discord/metrics").body);
    let last = samples.value("dq_last_delivery_timestamp_seconds", &[]);
    assert!(
        (Utc::now().timestamp() as f64 - last).abs() < 60.0,
        "{last}"
    );
    // Not acknowledged here: no latency observed here.
    assert_eq!(samples.value("dq_delivery_latency_seconds_count", &[]), 0.0);
}
#[test]
fn the_checker_refuses_what_promtool_refuses() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n\
                # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n\
                h_sum 3.5\nh_count 2\n";
    let samples = check(good);
    assert_eq!(samples.value("a_total", &[("x", "1")]), 2.0);
    assert_eq!(samples.value("h_bucket", &[("le", "+Inf")]), 2.0);
    for bad in [
        "a_total 1\n",
        "# HELP a A.\n# TYPE a counter\na 1\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        "# HELP g G.\n# TYPE g gauge\ng 1\ng 2\n",
        "# HELP g G.\n# TYPE g gauge\ng{a=\"x} 1\n",
        "# HELP g G.\n# TYPE g gauge\ng 1\n# HELP f F.\n# TYPE f gauge\nf 1\ng{a=\"1\"} 1\n",
        "# HELP g G.\n# TYPE g gauge\ng one\n",
    ] {
        assert!(check_text(bad).is_err(), "accepted: {bad}");
    }
}

#[test]
fn per_source_figures_are_one_family_each_and_pass_the_checks() {
    use dq::prometheus::{write_sources, Exposition, SourceDeliveries};
    let now = Utc::now();
    let ago = |seconds| Some(now - chrono::Duration::seconds(seconds));
    let busy = SourceDeliveries::default();
    busy.claimed([ago(90), None, ago(5)]);
    busy.delivered(ago(90), now);
    busy.delivered(None, now);
    let short = SourceDeliveries::default();
    short.claimed([ago(30)]);
    let idle = SourceDeliveries::default();
    idle.claimed([]);
    let write = |now| {
        let mut exposition = Exposition::new();
        write_sources(
            &mut exposition,
            &[
                ("https://a.example", &busy),
                ("b", &short),
                ("local \"db\"", &idle),
            ],
            now,
        );
        exposition.finish()
    };
    let text = write(now);
    let samples = check(&text);
    let a = ("source", "https://a.example");
    let b = ("source", "b");
    let local = ("source", "local \"db\"");
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[a]), 90.0);
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[b]), 30.0);
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[local]), 0.0);
    let last = samples.value("dq_last_delivery_timestamp_seconds", &[a]);
    assert!((last - now.timestamp() as f64).abs() < 1.0);
    assert_eq!(
        samples.get("dq_last_delivery_timestamp_seconds", &[local]),
        None
    );
    // The delivery with an unreadable creation time moves the last delivery only.
    assert_eq!(
        samples.value("dq_delivery_latency_seconds_count", &[a]),
        1.0
    );
    assert_eq!(
        samples.value("dq_delivery_latency_seconds_bucket", &[a, ("le", "60")]),
        0.0
    );
    assert_eq!(
        samples.value("dq_delivery_latency_seconds_bucket", &[a, ("le", "300")]),
        1.0
    );
    assert_eq!(
        samples.value("dq_delivery_latency_seconds_count", &[local]),
        0.0
    );
    assert!(check_text(&text.replace("le=\"+Inf\"} 1", "le=\"+Inf\"} 2")).is_err());

    // Held events age; handled ones count no more.
    let later = now + chrono::Duration::seconds(60);
    let samples = check(&write(later));
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[a]), 150.0);
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[b]), 90.0);
    short.handled();
    let samples = check(&write(later));
    assert_eq!(samples.value("dq_oldest_due_age_seconds", &[b]), 0.0);
}
