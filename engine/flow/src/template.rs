//! Text with `{{ expression }}` holes, for TTS text, webhook URLs, headers and bodies and
//! transfer targets. Each hole is an expression compiled once, with the same limits as
//! everywhere else.

use crate::expr::{CompileError, EvalError, Expr, Scope};
use serde_json::Value;

/// A compiled text template.
#[derive(Debug, Clone)]
pub struct Template {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
enum Segment {
    Text(String),
    Hole(Expr),
}

/// Why a template did not compile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without `}}`.
    #[error("`{{{{` at byte {offset} has no closing `}}}}`")]
    Unclosed {
        /// Byte offset of the `{{`.
        offset: usize,
    },
    /// A hole's expression is bad.
    #[error("in `{{{{ {source_text} }}}}`: {error}")]
    Expression {
        /// The hole's text.
        source_text: String,
        /// The compile error.
        error: CompileError,
    },
}

/// The most holes one template may have.
const MAX_HOLES: usize = 64;

impl Template {
    /// Compiles `source`.
    pub fn compile(source: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            let after_open = &rest[open + 2..];
            let Some(close) = after_open.find("}}") else {
                return Err(TemplateError::Unclosed {
                    offset: offset + open,
                });
            };
            let hole = after_open[..close].trim();
            let expr = Expr::compile(hole).map_err(|error| TemplateError::Expression {
                source_text: hole.to_owned(),
                error,
            })?;
            segments.push(Segment::Hole(expr));
            if segments.len() > MAX_HOLES * 2 {
                return Err(TemplateError::Expression {
                    source_text: hole.to_owned(),
                    error: CompileError::TooComplex {
                        max: MAX_HOLES as u32,
                    },
                });
            }
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    /// The expressions in the holes.
    pub fn expressions(&self) -> impl Iterator<Item = &Expr> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Hole(expr) => Some(expr),
            Segment::Text(_) => None,
        })
    }

    /// Is the whole template a single hole (`"{{ x }}"`)? Then JSON bodies keep its type.
    pub fn single_hole(&self) -> Option<&Expr> {
        match self.segments.as_slice() {
            [Segment::Hole(expr)] => Some(expr),
            _ => None,
        }
    }

    /// Fills the holes.
    pub fn render(&self, scope: &dyn Scope) -> Result<String, EvalError> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Hole(expr) => push_value(&mut out, &expr.evaluate(scope)?),
            }
        }
        Ok(out)
    }
}

/// Appends a value as text: strings as they are, `null` as nothing, the rest as JSON.
pub fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON value whose strings are templates (a webhook body).
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    /// A value without holes, used as it is.
    Literal(Value),
    /// A string template.
    Text(Template),
    /// An array of templates.
    Array(Vec<JsonTemplate>),
    /// An object of templates.
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Compiles every string inside `value`; errors carry the JSON pointer of the string.
    pub fn compile(value: &Value) -> Result<JsonTemplate, (String, TemplateError)> {
        Self::compile_at(value, String::new())
    }

    fn compile_at(value: &Value, path: String) -> Result<JsonTemplate, (String, TemplateError)> {
        Ok(match value {
            Value::String(text) if text.contains("{{") => {
                JsonTemplate::Text(Template::compile(text).map_err(|error| (path, error))?)
            }
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| Self::compile_at(item, format!("{path}/{index}")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => JsonTemplate::Object(
                fields
                    .iter()
                    .map(|(key, item)| {
                        let child = format!("{path}/{}", crate::diagnostic::pointer_segment(key));
                        Ok((key.clone(), Self::compile_at(item, child)?))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => JsonTemplate::Literal(other.clone()),
        })
    }

    /// Every expression inside.
    pub fn expressions(&self) -> Vec<&Expr> {
        let mut found = Vec::new();
        self.collect_expressions(&mut found);
        found
    }

    fn collect_expressions<'a>(&'a self, found: &mut Vec<&'a Expr>) {
        match self {
            JsonTemplate::Literal(_) => {}
            JsonTemplate::Text(template) => found.extend(template.expressions()),
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.collect_expressions(found)),
            JsonTemplate::Object(fields) => fields
                .iter()
                .for_each(|(_, i)| i.collect_expressions(found)),
        }
    }

    /// Renders the value.
    pub fn render(&self, scope: &dyn Scope) -> Result<Value, EvalError> {
        Ok(match self {
            JsonTemplate::Literal(value) => value.clone(),
            JsonTemplate::Text(template) => match template.single_hole() {
                Some(expr) => expr.evaluate(scope)?,
                None => Value::String(template.render(scope)?),
            },
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.render(scope))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), item.render(scope)?)))
                    .collect::<Result<_, EvalError>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> serde_json::Map<String, Value> {
        json!({"contact": {"name": "Ana", "id": 7}, "n": null})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn templates_fill_holes() {
        for (source, expected) in [
            ("Olá {{ contact.name }}!", "Olá Ana!"),
            ("{{contact.id}}", "7"),
            ("no holes", "no holes"),
            ("a{{ n }}b", "ab"),
            ("{{ contact.id + 1 }} {{ 'x' }}", "8 x"),
        ] {
            let template = Template::compile(source).unwrap();
            assert_eq!(template.render(&scope()).unwrap(), expected, "{source}");
        }
    }

    #[test]
    fn bad_templates_say_where() {
        assert_eq!(
            Template::compile("ab {{ x").unwrap_err(),
            TemplateError::Unclosed { offset: 3 }
        );
        assert!(matches!(
            Template::compile("{{ 1 + }}").unwrap_err(),
            TemplateError::Expression { .. }
        ));
        assert!(Template::compile(&"{{1}}".repeat(200)).is_err());
    }

    #[test]
    fn json_bodies_keep_types_of_single_holes() {
        let body = JsonTemplate::compile(&json!({
            "id": "{{ contact.id }}", "greeting": "hi {{ contact.name }}", "fixed": [1, true]
        }))
        .unwrap();
        assert_eq!(
            body.render(&scope()).unwrap(),
            json!({"id": 7, "greeting": "hi Ana", "fixed": [1, true]})
        );
        let (path, _) = JsonTemplate::compile(&json!({"a": ["{{ )"]})).unwrap_err();
        assert_eq!(path, "/a/0");
    }
}
