//! Templates: the `[templates.TYPE]` tables of the config file, compiled once at start, that
//! restyle any event type without code. Each part (`title`, `description`, `color`, `url`,
//! `footer`, and `fields` as a list of `{name, value, inline}`) is a minijinja template over
//! the event: its payload keys as variables, `event_type`, `created_at` and `codespace_name`
//! (which win over payload keys of the same name), the whole payload as `payload`, and the
//! filters `filesize` and `duration`. `[templates.TYPE.en]` (or `.es`) is the variant for one
//! language: its keys win, the others come from `[templates.TYPE]`.
//!
//! A template that does not compile is an error at start, naming the type, the key and the
//! position in the file. A template that fails while rendering leaves the type's own layout
//! whole and is reported, so the event is still delivered; a missing variable is no failure
//! (it renders empty). Fuel and a recursion limit bound what a hostile template can cost.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value as Jinja};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::builtin::Layout;
use super::{Field, Lang};
use crate::event::{parse_color, validate_event_type, validate_url, Event};
use crate::location::at;

/// Instructions (and about 64 bytes of data each) one part may take to render: far more than
/// any real template needs, little enough that a runaway loop ends in milliseconds.
const FUEL: u64 = 200_000;
/// Nesting of loops, conditions and macro calls: minijinja's default is 500.
const RECURSION_LIMIT: usize = 64;

/// The keys a `[templates.TYPE]` table may set.
const KEYS: [&str; 6] = ["title", "description", "color", "url", "footer", "fields"];
const LANGS: [&str; 2] = ["es", "en"];

/// A config file's templates, ready to render.
pub struct Templates {
    env: Environment<'static>,
    types: HashMap<String, Variants>,
    report: Option<Report>,
}

/// Where render-time failures are told, one line each.
type Report = Box<dyn Fn(&str) + Send + Sync>;

impl fmt::Debug for Templates {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&String> = self.types.keys().collect();
        types.sort();
        formatter
            .debug_struct("Templates")
            .field("types", &types)
            .finish()
    }
}

/// The templates of one event type.
#[derive(Debug, Default)]
struct Variants {
    all: Parts,
    es: Option<Parts>,
    en: Option<Parts>,
}

/// The names (in the environment) of one table's templates; `None` where it sets nothing.
#[derive(Debug, Default, Clone)]
struct Parts {
    title: Option<String>,
    description: Option<String>,
    color: Option<String>,
    url: Option<String>,
    footer: Option<String>,
    fields: Option<Vec<FieldParts>>,
}

#[derive(Debug, Clone)]
struct FieldParts {
    name: String,
    value: String,
    inline: bool,
}

impl Parts {
    /// `self` (a language's variant) over `all`, key by key.
    fn over(&self, all: &Parts) -> Parts {
        Parts {
            title: self.title.clone().or_else(|| all.title.clone()),
            description: self.description.clone().or_else(|| all.description.clone()),
            color: self.color.clone().or_else(|| all.color.clone()),
            url: self.url.clone().or_else(|| all.url.clone()),
            footer: self.footer.clone().or_else(|| all.footer.clone()),
            fields: self.fields.clone().or_else(|| all.fields.clone()),
        }
    }
}

/// A template that does not compile, or a table that is not a template: `PATH:LINE:COLUMN:
/// templates.TYPE.KEY: why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

impl Templates {
    /// The templates of a config file's text (`path` is for messages); `None` when it has no
    /// `[templates]` table.
    pub fn from_config(path: &Path, text: &str) -> Result<Option<Templates>, TemplateError> {
        let document = DeTable::parse(text)
            .map_err(|error| TemplateError(at(path, text, error.span(), error.message())))?;
        let Some(templates) = document.get_ref().get("templates") else {
            return Ok(None);
        };
        let mut compiler = Compiler {
            path,
            text,
            templates: Templates::empty(),
        };
        compiler.all(templates)?;
        Ok(Some(compiler.templates))
    }

    fn empty() -> Templates {
        let mut env = Environment::new();
        // Plain text for Discord: no HTML escaping, and a missing key (or a key of a missing
        // key) renders empty rather than failing.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        // A JSON null says "nothing": it prints as nothing, not as `none`.
        env.set_formatter(|out, state, value| {
            if value.is_none() {
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        env.set_debug(true);
        env.add_filter("filesize", filesize);
        env.add_filter("duration", duration);
        Templates {
            env,
            types: HashMap::new(),
            report: None,
        }
    }

    /// Render-time failures go to `report` (one line each), as well as leaving the type's own
    /// layout in place.
    pub fn on_failure(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Templates {
        self.report = Some(Box::new(report));
        self
    }

    /// The event types that have templates, sorted.
    pub fn types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.types.keys().map(String::as_str).collect();
        types.sort_unstable();
        types
    }

    fn parts(&self, event_type: &str, lang: Lang) -> Option<Parts> {
        let variants = self.types.get(event_type)?;
        let variant = match lang {
            Lang::Es => variants.es.as_ref(),
            Lang::En => variants.en.as_ref(),
        };
        Some(match variant {
            Some(variant) => variant.over(&variants.all),
            None => variants.all.clone(),
        })
    }

    /// Applies the event type's templates to `layout`: all of them, or (after a render-time
    /// failure, reported when `report` is set) none.
    pub(super) fn apply(&self, event: &Event, lang: Lang, layout: &mut Layout, report: bool) {
        let Some(parts) = self.parts(&event.event_type, lang) else {
            return;
        };
        match self.restyle(event, &parts, layout) {
            Ok(restyled) => *layout = restyled,
            Err(why) => {
                if let (true, Some(report)) = (report, &self.report) {
                    report(&format!(
                        "event {} ({}): {why}; sent with its built-in layout",
                        event.id, event.event_type
                    ));
                }
            }
        }
    }

    fn restyle(&self, event: &Event, parts: &Parts, layout: &Layout) -> Result<Layout, String> {
        let context = context(event);
        let render = |name: &Option<String>| -> Result<Option<String>, String> {
            let Some(name) = name else {
                return Ok(None);
            };
            let template = self
                .env
                .get_template(name)
                .map_err(|error| error.to_string())?;
            let text = template
                .render(&context)
                .map_err(|error| format!("{name}: {}", one_line(&error)))?;
            let text = text.trim();
            Ok((!text.is_empty()).then(|| text.to_string()))
        };
        let mut restyled = layout.clone();
        if let Some(title) = render(&parts.title)? {
            // The template says the whole title, emoji included.
            restyled.emoji = None;
            restyled.title = Some(title);
        }
        if let Some(description) = render(&parts.description)? {
            restyled.description = Some(description);
        }
        if let Some(color) = render(&parts.color)? {
            restyled.color = parse_color(&color)
                .map_err(|why| format!("{}: {why}", parts.color.as_deref().unwrap_or("color")))?;
        }
        if let Some(url) = render(&parts.url)? {
            validate_url(&url)
                .map_err(|why| format!("{}: {why}", parts.url.as_deref().unwrap_or("url")))?;
            restyled.url = Some(url);
        }
        if let Some(footer) = render(&parts.footer)? {
            restyled.footer = Some(footer);
        }
        if let Some(fields) = &parts.fields {
            restyled.fields = Vec::new();
            for field in fields {
                let name = render(&Some(field.name.clone()))?;
                let value = render(&Some(field.value.clone()))?;
                // A field that renders empty is left out: that is how a template says "only
                // when there is something to show".
                if let (Some(name), Some(value)) = (name, value) {
                    restyled.fields.push(Field {
                        name,
                        value,
                        inline: field.inline,
                    });
                }
            }
        }
        Ok(restyled)
    }
}

/// What templates see: the payload's keys, then the event's own names over them. A key whose
/// value is null is undefined, so `default(...)` and `is defined` treat it as absent.
fn context(event: &Event) -> Jinja {
    let variable = |value: &serde_json::Value| {
        if value.is_null() {
            Jinja::UNDEFINED
        } else {
            Jinja::from(Serde(value))
        }
    };
    let mut variables: HashMap<String, Jinja> = event
        .payload
        .iter()
        .map(|(key, value)| (key.clone(), variable(value)))
        .collect();
    variables.insert("payload".into(), Jinja::from(Serde(&event.payload)));
    variables.insert("event_type".into(), Jinja::from(event.event_type.as_str()));
    variables.insert("created_at".into(), Jinja::from(event.created_at.as_str()));
    let codespace = event
        .payload
        .get("codespace_name")
        .map_or(Jinja::UNDEFINED, variable);
    variables.insert("codespace_name".into(), codespace);
    Jinja::from(variables)
}

fn one_line(error: &minijinja::Error) -> String {
    let mut text = error.kind().to_string();
    if let Some(detail) = error.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    if let Some(line) = error.line() {
        text.push_str(&format!(" (line {line} of the template)"));
    }
    text
}

/// Walks the `[templates]` table, compiling every template into the environment.
struct Compiler<'a> {
    path: &'a Path,
    text: &'a str,
    templates: Templates,
}

impl Compiler<'_> {
    fn error(&self, span: Range<usize>, key: &str, why: &str) -> TemplateError {
        TemplateError(at(
            self.path,
            self.text,
            Some(span),
            &format!("{key}: {why}"),
        ))
    }

    fn all(&mut self, templates: &Spanned<DeValue<'_>>) -> Result<(), TemplateError> {
        let DeValue::Table(table) = templates.get_ref() else {
            return Err(self.error(
                templates.span(),
                "templates",
                "must be a table of [templates.TYPE] tables",
            ));
        };
        for (name, value) in table {
            let event_type = name.get_ref().as_ref();
            let key = format!("templates.{event_type}");
            validate_event_type(event_type)
                .map_err(|why| self.error(name.span(), &key, &why.to_string()))?;
            let DeValue::Table(table) = value.get_ref() else {
                return Err(self.error(value.span(), &key, "must be a table ([templates.TYPE])"));
            };
            let mut variants = Variants {
                all: self.parts(&key, table, true)?,
                ..Variants::default()
            };
            for lang in LANGS {
                let Some(value) = table.get(lang) else {
                    continue;
                };
                let key = format!("{key}.{lang}");
                let DeValue::Table(table) = value.get_ref() else {
                    return Err(self.error(value.span(), &key, "must be a table"));
                };
                let parts = self.parts(&key, table, false)?;
                match lang {
                    "en" => variants.en = Some(parts),
                    _ => variants.es = Some(parts),
                }
            }
            self.templates
                .types
                .insert(event_type.to_string(), variants);
        }
        Ok(())
    }

    fn parts(
        &mut self,
        key: &str,
        table: &DeTable<'_>,
        languages_allowed: bool,
    ) -> Result<Parts, TemplateError> {
        let mut parts = Parts::default();
        for (name, value) in table {
            let part = name.get_ref().as_ref();
            let key = format!("{key}.{part}");
            match part {
                "title" => parts.title = Some(self.template(&key, value)?),
                "description" => parts.description = Some(self.template(&key, value)?),
                "color" => parts.color = Some(self.template(&key, value)?),
                "url" => parts.url = Some(self.template(&key, value)?),
                "footer" => parts.footer = Some(self.template(&key, value)?),
                "fields" => parts.fields = Some(self.fields(&key, value)?),
                lang if languages_allowed && LANGS.contains(&lang) => {}
                _ => {
                    let expected = if languages_allowed {
                        format!("{}, or a language table (en, es)", KEYS.join(", "))
                    } else {
                        KEYS.join(", ")
                    };
                    return Err(self.error(
                        name.span(),
                        &key,
                        &format!("unknown key; a template sets {expected}"),
                    ));
                }
            }
        }
        Ok(parts)
    }

    fn fields(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<FieldParts>, TemplateError> {
        let shape = "must be a list of {name, value, inline} tables";
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.error(value.span(), key, shape));
        };
        let mut fields = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let key = format!("{key}[{index}]");
            let DeValue::Table(table) = item.get_ref() else {
                return Err(self.error(item.span(), &key, shape));
            };
            let mut name = None;
            let mut text = None;
            let mut inline = false;
            for (part, value) in table {
                let part_key = format!("{key}.{}", part.get_ref());
                match part.get_ref().as_ref() {
                    "name" => name = Some(self.template(&part_key, value)?),
                    "value" => text = Some(self.template(&part_key, value)?),
                    "inline" => match value.get_ref() {
                        DeValue::Boolean(flag) => inline = *flag,
                        _ => {
                            return Err(self.error(
                                value.span(),
                                &part_key,
                                "must be true or false (it is not a template)",
                            ))
                        }
                    },
                    _ => {
                        return Err(self.error(
                            part.span(),
                            &part_key,
                            "unknown key; a field has name, value and inline",
                        ))
                    }
                }
            }
            let (Some(name), Some(value)) = (name, text) else {
                return Err(self.error(item.span(), &key, "a field needs a name and a value"));
            };
            fields.push(FieldParts {
                name,
                value,
                inline,
            });
        }
        Ok(fields)
    }

    /// Compiles one template, named by its key; a syntax error points into the file.
    fn template(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<String, TemplateError> {
        let DeValue::String(source) = value.get_ref() else {
            return Err(self.error(value.span(), key, "must be a string (a template)"));
        };
        let source = source.to_string();
        match self
            .templates
            .env
            .add_template_owned(key.to_string(), source.clone())
        {
            Ok(()) => Ok(key.to_string()),
            Err(error) => {
                let span = self.span_in_file(value.span(), &source, &error);
                Err(self.error(span, key, &one_line(&error)))
            }
        }
    }

    /// Where in the file the error is: inside the string when its text is the template as
    /// written (no escapes), else the string's start.
    fn span_in_file(
        &self,
        value: Range<usize>,
        source: &str,
        error: &minijinja::Error,
    ) -> Range<usize> {
        let raw = self.text.get(value.clone()).unwrap_or("");
        match (raw.find(source), error.range()) {
            (Some(start), Some(range)) if !source.is_empty() => {
                let offset = value.start + start + range.start.min(source.len());
                offset..offset
            }
            _ => value,
        }
    }
}

/// A number as given, or `None` when it is not one (then a filter shows the value as given,
/// as the built-in layouts do).
fn number(value: &Jinja) -> Option<f64> {
    let number = match value.as_str() {
        Some(text) => text.trim().parse::<f64>().ok(),
        None => f64::try_from(value.clone()).ok(),
    };
    number.filter(|number| number.is_finite())
}

/// `{{ size_mb | filesize }}`: megabytes (or `unit`: B, KB, MB, GB, TB) as `512.5 MB`,
/// `1.5 GB`.
fn filesize(value: Jinja, unit: Option<String>) -> Result<String, minijinja::Error> {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let Some(number) = number(&value) else {
        return Ok(value.to_string());
    };
    let unit = unit.unwrap_or_else(|| "MB".into()).to_ascii_uppercase();
    let Some(mut index) = UNITS.iter().position(|known| *known == unit) else {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("filesize: unknown unit {unit:?}; use B, KB, MB, GB or TB"),
        ));
    };
    let mut size = number;
    while size.abs() >= 1024.0 && index + 1 < UNITS.len() {
        size /= 1024.0;
        index += 1;
    }
    while size.abs() < 1.0 && size != 0.0 && index > 0 {
        size *= 1024.0;
        index -= 1;
    }
    Ok(if index == 0 {
        format!("{size:.0} B")
    } else {
        format!("{size:.1} {}", UNITS[index])
    })
}

/// `{{ duration_seconds | duration }}`: `45.2 s` under a minute, else `1h 2m 3s` (a day and
/// more as `1d 2h 0m 5s`).
fn duration(value: Jinja) -> String {
    let Some(seconds) = number(&value).filter(|seconds| *seconds >= 0.0) else {
        return value.to_string();
    };
    if seconds < 59.95 {
        return format!("{seconds:.1} s");
    }
    let total = seconds.round() as u64;
    let parts = [
        (total / 86_400, "d"),
        (total % 86_400 / 3600, "h"),
        (total % 3600 / 60, "m"),
        (total % 60, "s"),
    ];
    let first = parts.iter().position(|(count, _)| *count > 0).unwrap_or(3);
    let last = parts.iter().rposition(|(count, _)| *count > 0).unwrap_or(3);
    parts[first..=last]
        .iter()
        .map(|(count, unit)| format!("{count}{unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templates(text: &str) -> Result<Option<Templates>, TemplateError> {
        Templates::from_config(Path::new("/c.toml"), text)
    }

    use std::sync::{Arc, Mutex};

    use crate::event::Presentation;
    use crate::render::tests::event;
    use crate::render::{embed, limits, Embed, RenderOptions};

    /// The embed of `event` with the templates of `config`, and what was reported.
    fn styled(config: &str, event: &Event, lang: Lang) -> (Embed, Vec<String>) {
        let reports = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&reports);
        let templates = templates(config)
            .unwrap()
            .unwrap()
            .on_failure(move |line| sink.lock().unwrap().push(line.to_string()));
        let options = RenderOptions {
            lang,
            templates: Some(Arc::new(templates)),
            ..RenderOptions::default()
        };
        let embed = embed(event, &options);
        let reports = reports.lock().unwrap().clone();
        (embed, reports)
    }

    const DISK_FULL: &str = r#"
[templates.disk_full]
title = "💾 {{ mount }} está al {{ used }}%"
description = "{{ payload['my-key'] }}"
color = "{% if used > 90 %}red{% else %}orange{% endif %}"
url = "https://grafana.example/d/disk?mount={{ mount }}"
footer = "{{ codespace_name }} · {{ event_type }}"
fields = [
  { name = "Punto de montaje", value = "`{{ mount }}`", inline = true },
  { name = "Nota", value = "{{ note }}" },
]

[templates.disk_full.en]
title = "💾 {{ mount }} is {{ used }}% full"
fields = [{ name = "Mount", value = "`{{ mount }}`", inline = true }]
"#;

    #[test]
    fn a_custom_type_is_restyled_in_each_language() {
        let disk = event(
            "disk_full",
            json!({"mount": "/data", "used": 97, "my-key": "see the graph",
                   "codespace_name": "cs-1", "event_type": "not this"}),
        );
        let (spanish, reports) = styled(DISK_FULL, &disk, Lang::Es);
        assert!(reports.is_empty(), "{reports:?}");
        assert_eq!(spanish.title.as_deref(), Some("💾 /data está al 97%"));
        assert_eq!(spanish.description.as_deref(), Some("see the graph"));
        assert_eq!(spanish.color, 0xFF0000);
        assert_eq!(
            spanish.url.as_deref(),
            Some("https://grafana.example/d/disk?mount=/data")
        );
        assert_eq!(spanish.footer.unwrap().text, "cs-1 · disk_full");
        // The field whose value renders empty (no `note`) is left out.
        assert_eq!(
            spanish.fields,
            [Field {
                name: "Punto de montaje".into(),
                value: "`/data`".into(),
                inline: true
            }]
        );
        let (english, _) = styled(DISK_FULL, &disk, Lang::En);
        assert_eq!(english.title.as_deref(), Some("💾 /data is 97% full"));
        assert_eq!(english.fields[0].name, "Mount");
        assert_eq!(
            english.color, 0xFF0000,
            "keys the variant does not set are shared"
        );
    }

    #[test]
    fn a_built_in_type_is_restyled_with_the_filters_and_its_own_layout_fills_the_rest() {
        let config = r#"
[templates.backup_success]
fields = [
  { name = "Archivo", value = "{{ backup_file }}" },
  { name = "Tamaño", value = "{{ size_mb | filesize }}", inline = true },
  { name = "Duración", value = "{{ duration_seconds | duration }}", inline = true },
]
[templates.backup_success.en]
title = "✅ {{ backup_file }} saved"
fields = [{ name = "Size", value = "{{ size_mb | filesize }} in {{ duration_seconds | duration }}" }]
"#;
        let backup = event(
            "backup_success",
            json!({"backup_file": "w.tgz", "size_mb": 1536, "duration_seconds": 3723}),
        );
        let (spanish, _) = styled(config, &backup, Lang::Es);
        assert_eq!(spanish.title.as_deref(), Some("✅ Backup Completado"));
        assert_eq!(spanish.color, 0x00FF00);
        assert_eq!(spanish.footer.unwrap().text, "d0ce3|tools • Backup Monitor");
        let values: Vec<&str> = spanish.fields.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(values, ["w.tgz", "1.5 GB", "1h 2m 3s"]);
        let (english, _) = styled(config, &backup, Lang::En);
        assert_eq!(english.title.as_deref(), Some("✅ w.tgz saved"));
        assert_eq!(english.fields.len(), 1);
        assert_eq!(english.fields[0].value, "1.5 GB in 1h 2m 3s");
    }

    #[test]
    fn the_publishers_flags_win_over_the_template() {
        let mut disk = event("disk_full", json!({"mount": "/data", "used": 50}));
        disk.presentation = Presentation {
            title: Some("Mine".into()),
            level: Some("error".into()),
            url: Some("https://mine.example".into()),
            ..Presentation::default()
        };
        let (embed, _) = styled(DISK_FULL, &disk, Lang::Es);
        assert_eq!(embed.title.as_deref(), Some("❌ Mine"));
        assert_eq!(
            embed.color, 0xFF0000,
            "the level's colour over the template's orange"
        );
        assert_eq!(embed.url.as_deref(), Some("https://mine.example"));
        assert_eq!(embed.fields[0].name, "Punto de montaje");
    }

    #[test]
    fn missing_variables_render_empty_and_leave_the_built_in_part() {
        let config = r#"
[templates.minecraft_status]
title = "{{ nothing }}"
description = "{{ nothing.deeper.still }}"
fields = [{ name = "Who", value = "{{ players.names }}" }]
"#;
        let status = event("minecraft_status", json!({"status": "online"}));
        let (embed, reports) = styled(config, &status, Lang::Es);
        assert!(reports.is_empty(), "{reports:?}");
        assert_eq!(
            embed.title.as_deref(),
            Some("✅ Servidor Minecraft - ONLINE")
        );
        assert_eq!(embed.description, None);
        assert!(embed.fields.is_empty(), "the only field rendered empty");
    }

    #[test]
    fn nulls_print_as_nothing_and_take_defaults() {
        let config = r#"
[templates.t]
title = "[{{ ip }}][{{ payload.ip }}][{{ codespace_name | default('none here') }}]"
"#;
        let event = event("t", json!({"ip": null, "codespace_name": null}));
        let (embed, _) = styled(config, &event, Lang::Es);
        assert_eq!(embed.title.as_deref(), Some("[][][none here]"));
    }

    #[test]
    fn a_render_time_failure_keeps_the_built_in_layout_and_is_reported() {
        let hostile = [
            (r#"title = "{{ size | filesize('PB') }}""#, "unknown unit"),
            (r#"color = "{{ mount }}""#, "not #rrggbb"),
            (r#"url = "see {{ mount }}""#, "https://"),
            (
                r#"title = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}""#,
                "fuel",
            ),
            (
                r#"title = "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}""#,
                "recursion",
            ),
        ];
        let disk = event("disk_full", json!({"mount": "/data", "size": 1}));
        for (line, needle) in hostile {
            let config = format!("[templates.disk_full]\nfooter = 'x'\n{line}\n");
            let started = std::time::Instant::now();
            let (embed, reports) = styled(&config, &disk, Lang::Es);
            assert!(
                started.elapsed().as_secs() < 5,
                "{line}: took {:?}",
                started.elapsed()
            );
            assert_eq!(embed.title.as_deref(), Some("🔔 disk_full"), "{line}");
            assert_eq!(embed.footer, None, "all of the template or none: {line}");
            assert_eq!(reports.len(), 1, "{line}: {reports:?}");
            assert!(
                reports[0].starts_with("event 1 (disk_full): templates.disk_full.")
                    && reports[0].to_lowercase().contains(needle),
                "{line}: {reports:?}"
            );
        }
    }

    #[test]
    fn a_template_of_20000_characters_is_cut_to_discords_limits() {
        let config = r#"
[templates.t]
title = "{{ 'T' * 20000 }}"
description = "{{ 'ñ' * 20000 }}"
footer = "{{ 'f' * 20000 }}"
fields = [
  { name = "{{ 'n' * 20000 }}", value = "{{ 'v' * 20000 }}" },
  { name = "b", value = "{{ 'v' * 20000 }}" },
]
"#;
        let (embed, reports) = styled(config, &event("t", json!({})), Lang::Es);
        assert!(reports.is_empty(), "{reports:?}");
        let chars = |text: &str| text.chars().count();
        assert!(embed.size() <= limits::TOTAL, "{}", embed.size());
        assert!(chars(embed.title.as_deref().unwrap()) <= limits::TITLE);
        assert!(chars(embed.description.as_deref().unwrap()) <= limits::DESCRIPTION);
        assert!(chars(&embed.footer.unwrap().text) <= limits::FOOTER);
        for field in &embed.fields {
            assert!(chars(&field.name) <= limits::FIELD_NAME);
            assert!(chars(&field.value) <= limits::FIELD_VALUE);
        }
    }

    #[test]
    fn filesize_prints_megabytes_in_the_largest_unit_under_1024() {
        let size =
            |value: Jinja, unit: Option<&str>| filesize(value, unit.map(str::to_string)).unwrap();
        assert_eq!(size(Jinja::from(512.5), None), "512.5 MB");
        assert_eq!(size(Jinja::from(1536), None), "1.5 GB");
        assert_eq!(size(Jinja::from(0.5), None), "512.0 KB");
        assert_eq!(size(Jinja::from(3 * 1024 * 1024), None), "3.0 TB");
        assert_eq!(size(Jinja::from("2048"), None), "2.0 GB");
        assert_eq!(size(Jinja::from(1_500_000), Some("B")), "1.4 MB");
        assert_eq!(size(Jinja::from(10), Some("b")), "10 B");
        assert_eq!(size(Jinja::from("big"), None), "big");
        assert!(filesize(Jinja::from(1), Some("PB".into())).is_err());
    }

    #[test]
    fn duration_prints_seconds_under_a_minute_and_units_above() {
        let time = |value: Jinja| duration(value);
        assert_eq!(time(Jinja::from(45.24)), "45.2 s");
        assert_eq!(time(Jinja::from(0)), "0.0 s");
        assert_eq!(time(Jinja::from(3723)), "1h 2m 3s");
        assert_eq!(time(Jinja::from(60)), "1m");
        assert_eq!(time(Jinja::from(3601)), "1h 0m 1s");
        assert_eq!(time(Jinja::from(90_061)), "1d 1h 1m 1s");
        assert_eq!(time(Jinja::from(59.96)), "1m");
        assert_eq!(time(Jinja::from("125")), "2m 5s");
        assert_eq!(time(Jinja::from("soon")), "soon");
        assert_eq!(time(Jinja::from(-5)), "-5");
    }

    #[test]
    fn no_templates_table_is_no_templates() {
        assert!(templates("lang = \"en\"\n").unwrap().is_none());
    }

    #[test]
    fn errors_name_the_type_key_and_position() {
        let cases = [
            (
                "[templates.disk_full]\ntitle = \"{{ mount \"\n",
                "/c.toml:2:13: templates.disk_full.title: syntax error",
            ),
            (
                "[templates.disk_full]\nfooter = 'ok {% if %}'\n",
                "/c.toml:2:",
            ),
            (
                "[templates.disk_full]\ntitel = \"x\"\n",
                "/c.toml:2:1: templates.disk_full.titel: unknown key",
            ),
            (
                "[templates.Disk]\ntitle = \"x\"\n",
                "/c.toml:1:12: templates.Disk: invalid event type",
            ),
            (
                "[templates.t]\ncolor = 5\n",
                "/c.toml:2:9: templates.t.color: must be a string",
            ),
            (
                "[templates.t]\nfields = [{ name = \"a\" }]\n",
                "templates.t.fields[0]: a field needs a name and a value",
            ),
            (
                "[templates.t]\nfields = [{ name = \"a\", value = \"b\", inline = \"yes\" }]\n",
                "templates.t.fields[0].inline: must be true or false",
            ),
            (
                "[templates.t.fr]\ntitle = \"x\"\n",
                "templates.t.fr: unknown key",
            ),
            (
                "templates = 1\n",
                "/c.toml:1:13: templates: must be a table",
            ),
        ];
        for (text, expected) in cases {
            let error = templates(text).unwrap_err().0;
            assert!(
                error.starts_with(expected) || error.contains(expected),
                "{text:?}: {error}"
            );
        }
    }
}
