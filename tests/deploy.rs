//! The deployment files say what the README says: `render.yaml`'s build and start commands are
//! the README's, its health check is a route consume answers, and every variable it sets is one
//! `dq consume` reads.
#![allow(clippy::unwrap_used)]

mod support;

/// The value of `key: value` on the first line of `text` that has it (YAML kept simple here).
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .map(|line| line.trim().trim_start_matches("- "))
        .find_map(|line| line.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("render.yaml has no {key}"))
        .trim()
}

#[test]
fn render_yaml_builds_and_starts_the_consumer_as_the_readme_says() {
    let root = env!("CARGO_MANIFEST_DIR");
    let blueprint = std::fs::read_to_string(format!("{root}/render.yaml")).unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    assert_eq!(field(&blueprint, "type"), "web");
    assert_eq!(field(&blueprint, "plan"), "free");
    for key in ["buildCommand", "startCommand"] {
        let command = field(&blueprint, key);
        assert!(readme.contains(&format!("`{command}`")), "{command}");
    }
    assert_eq!(field(&blueprint, "healthCheckPath"), "/health");

    let help = support::dq().args(["consume", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let keys: Vec<&str> = blueprint
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- key:"))
        .map(str::trim)
        .collect();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(
            help.contains(&format!("env: {key}")),
            "dq consume reads no {key}"
        );
        assert!(readme.contains(key), "the README does not mention {key}");
    }
}
