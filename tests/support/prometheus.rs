//! What `promtool check metrics` checks of a `/metrics` answer, in Rust, so the tests need no
//! promtool (`bench/metrics.sh` runs the real one): names, `# HELP` and `# TYPE` before each
//! family's samples, families not interleaved, counters named `_total`, no series twice, and
//! for a histogram cumulative `_bucket{le=..}` counts in increasing `le` order ending at
//! `+Inf`, equal to `_count`, with a `_sum`.

use std::collections::{BTreeMap, BTreeSet};

/// The samples of a checked exposition, by name and labels.
pub struct Samples {
    values: BTreeMap<Series, f64>,
}

impl Samples {
    /// The value of the series `name` with exactly `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut labels: Vec<(String, String)> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        labels.sort();
        self.values.get(&(name.to_string(), labels)).copied()
    }

    /// Like [`get`](Self::get), but the series must be there.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no series {name}{labels:?}"))
    }
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => text.parse().ok(),
    }
}

/// A series: its name and its labels (unescaped, sorted).
type Series = (String, Labels);
type Labels = Vec<(String, String)>;

/// `name{a="x",b="y"} value [timestamp]` → its series and value.
fn parse_sample(line: &str) -> Result<(Series, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = inner.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after) = inner.split_once("=\"").ok_or("a label without =\"")?;
            if !valid_name(label, false) || label.starts_with("__") {
                return Err(format!("bad label name {label:?}"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    None | Some((_, '\n')) => return Err("an unclosed label value".into()),
                    Some((index, '"')) => break index + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        _ => return Err("a bad escape in a label value".into()),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            labels.push((label.to_string(), value));
            inner = &after[end..];
            if let Some(next) = inner.strip_prefix(',') {
                inner = next;
            } else if !inner.starts_with('}') {
                return Err("labels not separated by commas".into());
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields
        .next()
        .and_then(parse_value)
        .ok_or_else(|| format!("bad value in {line:?}"))?;
    if let Some(timestamp) = fields.next() {
        timestamp
            .parse::<i64>()
            .map_err(|_| format!("bad timestamp in {line:?}"))?;
    }
    if fields.next().is_some() {
        return Err(format!("trailing text in {line:?}"));
    }
    labels.sort();
    Ok(((name, labels), value))
}

/// The family a sample belongs to, given the families declared so far.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).is_some_and(|kind| kind == "histogram") {
                return base;
            }
        }
    }
    name
}

/// Checks `text` as promtool would and returns its samples; panics with the reason.
pub fn check(text: &str) -> Samples {
    check_text(text).unwrap_or_else(|error| panic!("{error}\nin:\n{text}"))
}

pub fn check_text(text: &str) -> Result<Samples, String> {
    let mut helps = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut finished = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut values = BTreeMap::new();
    if !text.ends_with('\n') {
        return Err("the exposition does not end with a newline".into());
    }
    for line in text.lines() {
        let mut start_family = |name: &str, current: &mut Option<String>| -> Result<(), String> {
            if current.as_deref() != Some(name) {
                if let Some(previous) = current.take() {
                    finished.insert(previous);
                }
                if finished.contains(name) {
                    return Err(format!("family {name} is split in two"));
                }
                *current = Some(name.to_string());
            }
            Ok(())
        };
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            if !valid_name(name, true) || !helps.insert(name.to_string()) {
                return Err(format!("bad or second HELP for {name:?}"));
            }
            if rest.len() <= name.len() + 1 {
                return Err(format!("empty HELP for {name}"));
            }
            start_family(name, &mut current)?;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap_or("");
            let kind = parts.next().unwrap_or("");
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(format!("bad TYPE {kind:?} for {name}"));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(format!("counter {name} should end in _total"));
            }
            if values.keys().any(|(sample, _): &(String, _)| {
                family_of(sample, &types) == name || sample.starts_with(name)
            }) && current.as_deref() != Some(name)
            {
                return Err(format!("TYPE for {name} after its samples"));
            }
            if types.insert(name.to_string(), kind.to_string()).is_some() {
                return Err(format!("second TYPE for {name}"));
            }
            start_family(name, &mut current)?;
        } else if line.starts_with('#') {
            continue;
        } else if line.trim().is_empty() {
            return Err("an empty line".into());
        } else {
            let ((name, labels), value) = parse_sample(line)?;
            if !valid_name(&name, true) {
                return Err(format!("bad metric name {name:?}"));
            }
            let family = family_of(&name, &types).to_string();
            if !types.contains_key(&family) || !helps.contains(&family) {
                return Err(format!("{name} has no TYPE or HELP before it"));
            }
            start_family(&family, &mut current)?;
            if types[&family] == "counter" && value < 0.0 {
                return Err(format!("counter {name} is negative"));
            }
            if values
                .insert((name.clone(), labels.clone()), value)
                .is_some()
            {
                return Err(format!("series {name}{labels:?} twice"));
            }
        }
    }
    for (family, kind) in &types {
        if kind == "histogram" {
            check_histogram(family, &values)?;
        }
    }
    Ok(Samples { values })
}

fn check_histogram(family: &str, values: &BTreeMap<Series, f64>) -> Result<(), String> {
    let bucket = format!("{family}_bucket");
    // Buckets grouped by their labels other than `le`.
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for ((name, labels), value) in values {
        if *name != bucket {
            continue;
        }
        let le = labels
            .iter()
            .find(|(key, _)| key == "le")
            .and_then(|(_, le)| parse_value(le))
            .ok_or_else(|| format!("{bucket} without a numeric le"))?;
        let rest: Vec<_> = labels
            .iter()
            .filter(|(key, _)| key != "le")
            .cloned()
            .collect();
        groups.entry(rest).or_default().push((le, *value));
    }
    if groups.is_empty() {
        return Err(format!("histogram {family} has no buckets"));
    }
    for (labels, mut buckets) in groups {
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        if buckets.last().map(|(le, _)| *le) != Some(f64::INFINITY) {
            return Err(format!("histogram {family}{labels:?} has no +Inf bucket"));
        }
        if buckets.windows(2).any(|pair| pair[1].1 < pair[0].1) {
            return Err(format!(
                "histogram {family}{labels:?} buckets are not cumulative"
            ));
        }
        let count = values
            .get(&(format!("{family}_count"), labels.clone()))
            .ok_or_else(|| format!("histogram {family}{labels:?} has no _count"))?;
        if values
            .get(&(format!("{family}_sum"), labels.clone()))
            .is_none()
        {
            return Err(format!("histogram {family}{labels:?} has no _sum"));
        }
        if buckets.last().map(|(_, value)| *value) != Some(*count) {
            return Err(format!(
                "histogram {family}{labels:?}: +Inf bucket is not _count"
            ));
        }
    }
    Ok(())
}
