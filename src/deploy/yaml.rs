//! A small YAML writer for manifests: block style, keys in the order the
//! JSON value holds them (sorted), every string double-quoted (a JSON
//! string is a valid YAML double-quoted scalar, so nothing needs escaping
//! rules of its own). Kubernetes reads YAML and JSON alike; YAML is what
//! people review.

use serde_json::Value;

/// One YAML document for `value` (a mapping at the top).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    write_block(value, 0, &mut out);
    out
}

fn scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => value.to_string(),
        Value::Array(items) if items.is_empty() => "[]".into(),
        Value::Object(map) if map.is_empty() => "{}".into(),
        _ => return None,
    })
}

/// Writes a mapping or sequence at `indent` spaces, each entry on its line.
fn write_block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}{key}: {text}\n")),
                    None => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        // Sequences under a key sit at the key's indent.
                        let inner = if item.is_array() { indent } else { indent + 2 };
                        write_block(item, inner, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match scalar(item) {
                    Some(text) => out.push_str(&format!("{pad}- {text}\n")),
                    None => {
                        // The item's first line follows the dash; the rest
                        // is indented under it.
                        let mut inner = String::new();
                        write_block(item, indent + 2, &mut inner);
                        let body = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {body}"));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_and_lists_are_block_style() {
        let value = serde_json::json!({
            "a": 1,
            "b": {"c": "x: y", "d": []},
            "e": [{"f": "g", "h": ["i", 2]}, "j"],
            "k": {}
        });
        assert_eq!(
            to_yaml(&value),
            "a: 1\nb:\n  c: \"x: y\"\n  d: []\ne:\n- f: \"g\"\n  h:\n  - \"i\"\n  - 2\n- \"j\"\nk: {}\n"
        );
    }
}
