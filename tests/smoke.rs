//! The first thing a newcomer runs: publish an event, then see it counted.
#![allow(clippy::unwrap_used)]

mod support;

use support::TempDb;

#[test]
fn publish_prints_the_id_and_stats_counts_it() {
    let db = TempDb::new();
    let output = db
        .dq()
        .args(["publish", "backup-error", "--error-type", "compression"])
        .args(["--message", "No space left"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "1\n");
    let stats = db.dq().args(["stats", "--json"]).output().unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["pending"], 1);
    assert_eq!(stats["total"], 1);
    assert_eq!(db.dump().len(), 1);
}
