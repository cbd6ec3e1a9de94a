//! `[templates.TYPE]` in the config file, run as the real binary: restyling a custom and a
//! built-in type in both languages, the publisher's flags winning, a template that does not
//! compile refused at start, one that fails while rendering falling back with the event
//! delivered, and whatever a template produces kept within Discord's limits.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use support::discord::FakeDiscord;
use support::queue::{fails, json, row, succeeds};
use support::TempDb;

/// Writes `text` as a config file next to the database and returns its path.
fn config(db: &TempDb, text: &str) -> PathBuf {
    let path = db.dir.path().join("dq.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The one embed `dq --config FILE render ARGS` prints.
fn render(file: &PathBuf, args: &[&str]) -> Value {
    let out = succeeds(
        support::dq()
            .arg("--config")
            .arg(file)
            .arg("render")
            .args(args),
    );
    json(&out)["embeds"][0].clone()
}

fn without_timestamp(mut embed: Value) -> Value {
    embed.as_object_mut().unwrap().remove("timestamp");
    embed
}

/// The README's worked example (a custom type restyled), as users copy it.
fn readme_example() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("```toml\n[templates.disk_full]")
        .expect("the README's example");
    let block = &readme[start + "```toml\n".len()..];
    block[..block.find("```").unwrap()].to_string()
}

const DISK_ARGS: [&str; 7] = [
    "disk_full",
    "--field",
    "mount=/data",
    "--field",
    "used:=97",
    "--field",
    "free_mb:=1536",
];

#[test]
fn a_custom_type_is_restyled_in_spanish_and_english() {
    let db = TempDb::new();
    let file = config(&db, &readme_example());
    let args = DISK_ARGS;
    assert_eq!(
        without_timestamp(render(&file, &args)),
        json!({
            "title": "💾 /data está al 97%",
            "url": "https://grafana.example/d/disk?var-mount=/data",
            "color": 0xFF0000,
            "fields": [{"name": "Libre", "value": "1.5 GB", "inline": true}],
            "footer": {"text": "sin codespace"},
        })
    );
    let english = render(
        &file,
        &[&args[..], &["--lang", "en", "--codespace", "cs-1"]].concat(),
    );
    assert_eq!(english["title"], "💾 /data is 97% full");
    assert_eq!(
        english["fields"],
        json!([{"name": "Free", "value": "1.5 GB", "inline": true}])
    );
    assert_eq!(english["footer"]["text"], "cs-1");
    assert_eq!(
        english["color"], 0xFF0000,
        "the variant takes the other keys from the type"
    );
}

#[test]
fn a_built_in_type_is_restyled_in_spanish_and_english() {
    let db = TempDb::new();
    let file = config(
        &db,
        r#"
[templates.backup_success]
description = "{{ backup_file }}: {{ size_mb | filesize }} en {{ duration_seconds | duration }}"
fields = []

[templates.backup_success.en]
description = "{{ backup_file }}: {{ size_mb | filesize }} in {{ duration_seconds | duration }}"
"#,
    );
    succeeds(
        db.dq()
            .args(["publish", "backup-success", "--file", "w.tgz"])
            .args(["--size-mb", "512.5", "--duration", "3723"]),
    );
    let spanish =
        succeeds(
            db.dq()
                .arg("--config")
                .arg(&file)
                .args(["consume", "--dry-run", "--once"]),
        );
    let spanish = &json(&spanish)["embeds"][0];
    assert_eq!(
        spanish["title"], "✅ Backup Completado",
        "the type's own title stays"
    );
    assert_eq!(spanish["description"], "w.tgz: 512.5 MB en 1h 2m 3s");
    assert!(
        spanish.get("fields").is_none(),
        "an empty list replaces the fields"
    );
    assert_eq!(spanish["footer"]["text"], "d0ce3|tools • Backup Monitor");
    let english = succeeds(db.dq().arg("--config").arg(&file).args([
        "consume",
        "--dry-run",
        "--once",
        "--lang",
        "en",
    ]));
    let english = &json(&english)["embeds"][0];
    assert_eq!(english["title"], "✅ Backup completed");
    assert_eq!(english["description"], "w.tgz: 512.5 MB in 1h 2m 3s");
}

#[test]
fn the_done_when_event_is_restyled_without_touching_the_publisher() {
    let db = TempDb::new();
    succeeds(db.dq().args(["publish", "event", "disk_full"]).args([
        "--title",
        "Disk almost full",
        "--level",
        "warning",
        "--field",
        "mount=/data",
    ]));
    let plain = succeeds(db.dq().args(["consume", "--dry-run", "--once"]));
    let plain = without_timestamp(json(&plain)["embeds"][0].clone());
    let file = config(
        &db,
        r#"
[templates.disk_full]
title = "ignored: the publisher's title wins"
description = "Free some space on `{{ mount }}`"
url = "https://runbooks.example/disk"
fields = [{ name = "Punto de montaje", value = "{{ mount }}", inline = true }]
"#,
    );
    let styled =
        succeeds(
            db.dq()
                .arg("--config")
                .arg(&file)
                .args(["consume", "--dry-run", "--once"]),
        );
    let styled = without_timestamp(json(&styled)["embeds"][0].clone());
    assert_eq!(styled["title"], plain["title"]);
    assert_eq!(styled["title"], "⚠️ Disk almost full");
    assert_eq!(styled["color"], plain["color"]);
    assert_eq!(styled["description"], "Free some space on `/data`");
    assert_eq!(styled["url"], "https://runbooks.example/disk");
    assert_eq!(
        styled["fields"],
        json!([{"name": "Punto de montaje", "value": "/data", "inline": true}])
    );
}

#[test]
fn a_template_that_does_not_compile_stops_consume_and_render_at_start() {
    let db = TempDb::new();
    let file = config(
        &db,
        "lang = \"en\"\n\n[templates.disk_full]\nfooter = \"ok\"\ntitle = \"{{ mount \"\n",
    );
    let id: i64 = succeeds(db.dq().args(["publish", "event", "disk_full"]))
        .trim()
        .parse()
        .unwrap();
    let needle = "dq.toml:5:13: templates.disk_full.title: syntax error";
    fails(
        db.dq()
            .arg("--config")
            .arg(&file)
            .args(["consume", "--once", "--dry-run"]),
        2,
        needle,
    );
    let fake = FakeDiscord::start();
    fails(
        db.dq().arg("--config").arg(&file).args([
            "consume",
            "--once",
            "--webhook",
            &fake.webhook_url(),
        ]),
        2,
        needle,
    );
    fails(
        support::dq()
            .arg("--config")
            .arg(&file)
            .args(["render", "disk_full"]),
        2,
        needle,
    );
    assert!(fake.requests().is_empty(), "nothing was sent");
    assert_eq!(row(&db, id).attempts, 0, "nothing was claimed");
    for (text, expected) in [
        (
            "[templates.t]\ntitel = \"x\"\n",
            "dq.toml:2:1: templates.t.titel: unknown key",
        ),
        (
            "[templates.t]\nfields = [{ name = \"a\" }]\n",
            "templates.t.fields[0]: a field needs",
        ),
        (
            "[templates.t]\ncolor = 3\n",
            "dq.toml:2:9: templates.t.color: must be a string",
        ),
    ] {
        let file = config(&db, text);
        fails(
            support::dq()
                .arg("--config")
                .arg(&file)
                .args(["render", "t"]),
            2,
            expected,
        );
    }
}

#[test]
fn a_render_time_failure_falls_back_to_the_built_in_embed_and_the_event_is_delivered() {
    let db = TempDb::new();
    let file = config(
        &db,
        r#"
[templates.backup_error]
title = "{{ error_message }}"
color = "{{ error_type }}"
"#,
    );
    let id: i64 = succeeds(
        db.dq()
            .args(["publish", "backup-error", "--error-type", "upload"])
            .args(["--message", "timeout"]),
    )
    .trim()
    .parse()
    .unwrap();
    let fake = FakeDiscord::start();
    let output = db
        .dq()
        .arg("--config")
        .arg(&file)
        .args(["consume", "--once", "--webhook", &fake.webhook_url()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "dq: event {id} (backup_error): templates.backup_error.color: color \"backup_upload\" is not"
        )) && stderr.contains("sent with its built-in layout"),
        "{stderr}"
    );
    let embeds = fake.wait_for_embeds(1, Duration::from_secs(10));
    assert_eq!(
        embeds[0]["title"], "☁️ Error en Subida a MEGA",
        "the built-in embed, whole"
    );
    assert_eq!(embeds[0]["color"], 0xFF0000);
    assert_eq!(row(&db, id).processed, 1, "delivered and marked");
}

#[test]
fn a_template_of_20000_characters_is_cut_to_discords_limits_and_discord_takes_it() {
    let db = TempDb::new();
    let file = config(
        &db,
        r#"
[templates.flood]
title = "{{ 'T' * 20000 }}"
description = "{{ 'ñ' * 20000 }}"
footer = "{{ 'f' * 20000 }}"
fields = [
  { name = "{{ 'n' * 20000 }}", value = "{{ 'v' * 20000 }}" },
  { name = "second", value = "{{ 'w' * 20000 }}", inline = true },
]
"#,
    );
    succeeds(db.dq().args(["publish", "event", "flood"]));
    let fake = FakeDiscord::start();
    succeeds(db.dq().arg("--config").arg(&file).args([
        "consume",
        "--once",
        "--webhook",
        &fake.webhook_url(),
    ]));
    let embeds = fake.wait_for_embeds(1, Duration::from_secs(10));
    let chars = |value: &Value| value.as_str().unwrap().chars().count();
    assert_eq!(chars(&embeds[0]["title"]), 256);
    assert!(chars(&embeds[0]["description"]) <= 4096);
    assert!(fake
        .message_requests()
        .iter()
        .all(|request| request.status == 200));
    let message = &fake.messages()[0].body;
    assert!(support::discord::check_limits(message).is_ok());
}

#[test]
fn the_readme_example_renders_as_the_readme_says() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let db = TempDb::new();
    let file = config(&db, &readme_example());
    let spanish = render(&file, &DISK_ARGS);
    assert_eq!(spanish["title"], "💾 /data está al 97%");
    assert_eq!(spanish["color"], 0xFF0000, "red");
    assert!(readme.contains("prints a\nred embed titled `💾 /data está al 97%`"));
    assert!(readme.contains("with one field `Libre: 1.5 GB`"));
    assert_eq!(
        spanish["fields"],
        json!([{"name": "Libre", "value": "1.5 GB", "inline": true}])
    );
    let english = render(&file, &[&DISK_ARGS[..], &["--lang", "en"]].concat());
    assert!(readme.contains("`💾 /data is 97% full` and `Free: 1.5 GB`"));
    assert_eq!(english["title"], "💾 /data is 97% full");
    assert_eq!(
        english["fields"],
        json!([{"name": "Free", "value": "1.5 GB", "inline": true}])
    );
}
