//! A few lines of hand-written JSON output, enough for the bench's one result object.
//!
//! Values are rendered to strings as they are added; [`Obj::render`] joins them. Numbers that
//! are not finite (a figure that was not measured) become `null`.

/// A JSON object under construction, keys kept in insertion order.
#[derive(Default)]
pub struct Obj {
    fields: Vec<(String, String)>,
}

impl Obj {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field whose value is already rendered JSON.
    pub fn raw(mut self, key: &str, value: String) -> Self {
        self.fields.push((string(key), value));
        self
    }

    pub fn num(self, key: &str, value: f64, decimals: usize) -> Self {
        self.raw(key, num(value, decimals))
    }

    pub fn opt_num(self, key: &str, value: Option<f64>, decimals: usize) -> Self {
        self.raw(key, value.map_or_else(null, |v| num(v, decimals)))
    }

    pub fn int(self, key: &str, value: u64) -> Self {
        self.raw(key, value.to_string())
    }

    pub fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, string(value))
    }

    pub fn bool(self, key: &str, value: bool) -> Self {
        self.raw(key, value.to_string())
    }

    pub fn obj(self, key: &str, value: Obj) -> Self {
        self.raw(key, value.render())
    }

    pub fn opt_obj(self, key: &str, value: Option<Obj>) -> Self {
        self.raw(key, value.map_or_else(null, |o| o.render()))
    }

    /// The object on one line.
    pub fn render(&self) -> String {
        let body: Vec<String> = self
            .fields
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!("{{{}}}", body.join(","))
    }
}

pub fn null() -> String {
    "null".to_owned()
}

/// A number with a fixed number of decimals, or `null` if it is not finite.
pub fn num(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        null()
    }
}

/// An array of numbers.
pub fn nums(values: &[f64], decimals: usize) -> String {
    let items: Vec<String> = values.iter().map(|&v| num(v, decimals)).collect();
    format!("[{}]", items.join(","))
}

/// A string literal with the escapes JSON requires.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nulls() {
        assert_eq!(string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
        assert_eq!(num(f64::NAN, 1), "null");
        assert_eq!(num(1.26, 1), "1.3");
        assert_eq!(nums(&[1.0, f64::INFINITY], 0), "[1,null]");
    }

    #[test]
    fn nested_object() {
        let o = Obj::new()
            .int("n", 3)
            .str("s", "x")
            .bool("b", false)
            .opt_num("m", None, 2)
            .obj("o", Obj::new().num("v", 0.5, 2));
        assert_eq!(
            o.render(),
            r#"{"n":3,"s":"x","b":false,"m":null,"o":{"v":0.50}}"#
        );
    }
}
