//! A Codespace for the fleet tests: a database, the `dq serve` in front of it (with its own
//! generated token) and a name, publishing events whose payload says where they come from.

use serde_json::json;

use super::serve::Serve;
use super::TempDb;

pub struct Codespace {
    pub db: TempDb,
    pub serve: Serve,
    pub name: String,
}

impl Codespace {
    /// `serve` runs on `db`; it must have generated its token.
    pub fn new(db: TempDb, serve: Serve, name: &str) -> Codespace {
        assert!(serve.token.as_ref().is_some_and(|token| token.len() >= 32));
        Codespace {
            db,
            serve,
            name: name.into(),
        }
    }

    pub fn token(&self) -> String {
        self.serve.token.clone().expect("a generated token")
    }

    /// Publishes `count` events whose payload says where they come from: `{from, round, n}`.
    pub fn publish(&self, count: usize, round: usize) {
        let lines: String = (0..count)
            .map(|n| {
                let payload = json!({"from": self.name, "round": round, "n": n});
                format!(
                    "{}\n",
                    json!({"event_type": "job_done", "payload": payload})
                )
            })
            .collect();
        let output = super::run_with_stdin(self.db.dq().args(["publish", "batch"]), lines);
        assert!(output.status.success(), "{output:?}");
    }

    /// How many events serve has recorded as delivered.
    pub fn processed(&self) -> u64 {
        self.serve.stats()["processed"]
            .as_u64()
            .expect("a processed count")
    }
}
