//! A parser for TLA+ values as TLC 2.15 prints them in error traces, and for the states and
//! traces made of them.
//!
//! Values: records `[a |-> 1, b |-> "x"]`, functions `(h1 :> 1 @@ h2 :> 2)`, sequences and tuples
//! `<<1, "two", m1>>` (`<<>>` and `<< >>` are empty), sets `{1, 2}`, strings with escapes,
//! integers, `TRUE`/`FALSE`, model values (bare names). Long values wrap onto indented lines:
//! white space between tokens is insignificant. A state is a list of `/\ name = value`. Errors
//! say where (line and column of the text given) and never panic.

use super::lexer::{quote, tokenize, TextError, Tok, Token};
use serde_json::json;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Int(i64),
    Str(String),
    Bool(bool),
    ModelValue(String),
    /// A sequence or tuple (also a function over `1..n`).
    Seq(Vec<Value>),
    Set(Vec<Value>),
    /// A record: field names and values, sorted by name.
    Record(Vec<(String, Value)>),
    /// A function printed with `:>` and `@@`, pairs sorted by key.
    Function(Vec<(Value, Value)>),
}

impl Value {
    /// The value as JSON: numbers, strings and booleans as themselves, sequences as arrays,
    /// records and functions over names (model values, strings) as objects, and the rest tagged:
    /// `{"set": [...]}`, `{"function": [[k, v], ...]}`, `{"model_value": "m1"}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => json!(i),
            Value::Str(s) => json!(s),
            Value::Bool(b) => json!(b),
            Value::ModelValue(m) => json!({ "model_value": m }),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(Value::to_json).collect()),
            Value::Set(items) => json!({ "set": items.iter().map(Value::to_json).collect::<Vec<_>>() }),
            Value::Record(fields) => {
                serde_json::Value::Object(fields.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            // A function over names (model values, strings) reads best as an object.
            Value::Function(pairs) if pairs.iter().all(|(k, _)| matches!(k, Value::ModelValue(_) | Value::Str(_))) => {
                serde_json::Value::Object(
                    pairs
                        .iter()
                        .map(|(k, v)| match k {
                            Value::ModelValue(n) | Value::Str(n) => (n.clone(), v.to_json()),
                            _ => unreachable!(),
                        })
                        .collect(),
                )
            }
            Value::Function(pairs) => {
                json!({ "function": pairs.iter().map(|(k, v)| json!([k.to_json(), v.to_json()])).collect::<Vec<_>>() })
            }
        }
    }
}

/// An integer value.
pub fn int(n: impl Into<i64>) -> Value {
    Value::Int(n.into())
}

/// A string value.
pub fn string(s: &str) -> Value {
    Value::Str(s.into())
}

/// An option as the twins write it: `{}` or `{x}`.
pub fn opt(v: Option<Value>) -> Value {
    Value::Set(v.into_iter().collect())
}

/// A record of the given fields (sorted by name).
pub fn record<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut f: Vec<(String, Value)> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    f.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Record(f)
}

/// A Rust value as a TLA+ value, by its serde form: structs and maps as records, sequences and
/// tuples as sequences, unit enum variants as strings, `None` as `{}` (a `Some` is the value
/// itself: a family whose TLA+ twin writes options as sets maps them itself).
pub fn from_serde(x: &impl serde::Serialize) -> Value {
    fn conv(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Set(Vec::new()),
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Int(n.as_i64().unwrap_or_default()),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::Seq(items.iter().map(conv).collect()),
            serde_json::Value::Object(m) => Value::Record(m.iter().map(|(k, v)| (k.clone(), conv(v))).collect()),
        }
    }
    canon(conv(&serde_json::to_value(x).unwrap_or(serde_json::Value::Null)))
}

/// One value's one form, whichever way TLC printed it: sets sorted without duplicates, records
/// and functions sorted, a function over `1..n` (the empty one included) as a sequence.
pub fn canon(v: Value) -> Value {
    match v {
        Value::Seq(items) => Value::Seq(items.into_iter().map(canon).collect()),
        Value::Set(items) => {
            let mut items: Vec<Value> = items.into_iter().map(canon).collect();
            items.sort();
            items.dedup();
            Value::Set(items)
        }
        Value::Record(fields) => {
            let mut fields: Vec<(String, Value)> = fields.into_iter().map(|(k, v)| (k, canon(v))).collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Record(fields)
        }
        Value::Function(pairs) => {
            let mut pairs: Vec<(Value, Value)> = pairs.into_iter().map(|(k, v)| (canon(k), canon(v))).collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            let over_1_to_n = pairs.iter().enumerate().all(|(i, (k, _))| *k == Value::Int(i as i64 + 1));
            if over_1_to_n {
                Value::Seq(pairs.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Function(pairs)
            }
        }
        other => other,
    }
}

/// A state with every value canonical, sorted by variable name.
pub fn canon_state(vars: Vec<(String, Value)>) -> State {
    let mut vars: State = vars.into_iter().map(|(k, v)| (k, canon(v))).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T>(f: &mut fmt::Formatter<'_>, items: &[T], sep: &str, one: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result) -> fmt::Result {
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                one(f, x)?;
            }
            Ok(())
        }
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{}", quote(s)),
            Value::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Value::ModelValue(m) => f.write_str(m),
            Value::Seq(items) => {
                f.write_str("<<")?;
                list(f, items, ", ", |f, v| write!(f, "{v}"))?;
                f.write_str(">>")
            }
            Value::Set(items) => {
                f.write_str("{")?;
                list(f, items, ", ", |f, v| write!(f, "{v}"))?;
                f.write_str("}")
            }
            Value::Record(fields) => {
                f.write_str("[")?;
                list(f, fields, ", ", |f, (k, v)| write!(f, "{k} |-> {v}"))?;
                f.write_str("]")
            }
            Value::Function(pairs) if pairs.is_empty() => f.write_str("<< >>"),
            Value::Function(pairs) => {
                f.write_str("(")?;
                list(f, pairs, " @@ ", |f, (k, v)| write!(f, "{k} :> {v}"))?;
                f.write_str(")")
            }
        }
    }
}

/// Where a text went wrong (the one error of both readers of TLA+ text).
pub type ParseError = TextError;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: (usize, usize),
    depth: usize,
}

const MAX_DEPTH: usize = 200;

impl Parser {
    fn new(text: &str) -> Result<Parser, ParseError> {
        // TLC's values carry no comments: a `\*` is refused as any stray character is.
        let tokens: Vec<Token> = tokenize(text)?;
        let lines = text.split('\n').count().max(1);
        let last_col = text.split('\n').next_back().map_or(0, |l| l.chars().count()) + 1;
        Ok(Parser { tokens, pos: 0, end: (lines, last_col), depth: 0 })
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn error<T>(&self, message: String) -> Result<T, ParseError> {
        let (line, column) = self.tokens.get(self.pos).map_or(self.end, |t| (t.line, t.column));
        Err(ParseError { line, column, message })
    }

    fn found(&self) -> String {
        self.peek().map_or("the end of the text".to_string(), Tok::describe)
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<(), ParseError> {
        if self.peek() == Some(&tok) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(format!("expected {what}, found {}", self.found()))
        }
    }

    /// Items separated by commas up to `close`.
    fn list(&mut self, close: Tok, what: &str) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        if self.peek() == Some(&close) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            items.push(self.value()?);
            match self.peek() {
                Some(Tok::Comma) => self.pos += 1,
                Some(t) if *t == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => return self.error(format!("expected ',' or {} in {what}, found {}", close.describe(), self.found())),
            }
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error("values nested too deeply".into());
        }
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Value, ParseError> {
        let Some(tok) = self.peek().cloned() else {
            return self.error("expected a value, found the end of the text".into());
        };
        self.pos += 1;
        match tok {
            Tok::Int(i) => Ok(Value::Int(i)),
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Name(n) if n == "TRUE" => Ok(Value::Bool(true)),
            Tok::Name(n) if n == "FALSE" => Ok(Value::Bool(false)),
            Tok::Name(n) => Ok(Value::ModelValue(n)),
            Tok::LAngle => Ok(Value::Seq(self.list(Tok::RAngle, "a sequence")?)),
            Tok::LBrace => {
                let mut items = self.list(Tok::RBrace, "a set")?;
                items.sort();
                items.dedup();
                Ok(Value::Set(items))
            }
            Tok::LBracket => {
                let mut fields = Vec::new();
                loop {
                    let name = match self.peek().cloned() {
                        Some(Tok::Name(n)) => {
                            self.pos += 1;
                            n
                        }
                        _ => return self.error(format!("expected a field name in a record, found {}", self.found())),
                    };
                    self.expect(Tok::MapsTo, "'|->' after a field name")?;
                    fields.push((name, self.value()?));
                    match self.peek() {
                        Some(Tok::Comma) => self.pos += 1,
                        Some(Tok::RBracket) => {
                            self.pos += 1;
                            break;
                        }
                        _ => return self.error(format!("expected ',' or ']' in a record, found {}", self.found())),
                    }
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(Value::Record(fields))
            }
            Tok::LParen => {
                // A function (k :> v @@ ...), or a parenthesized value.
                let first = self.value()?;
                match self.peek() {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(first)
                    }
                    Some(Tok::Colon2) => {
                        self.pos += 1;
                        let mut pairs = vec![(first, self.value()?)];
                        loop {
                            match self.peek() {
                                Some(Tok::AtAt) => {
                                    self.pos += 1;
                                    let k = self.value()?;
                                    self.expect(Tok::Colon2, "':>' in a function")?;
                                    pairs.push((k, self.value()?));
                                }
                                Some(Tok::RParen) => {
                                    self.pos += 1;
                                    break;
                                }
                                _ => return self.error(format!("expected '@@' or ')' in a function, found {}", self.found())),
                            }
                        }
                        pairs.sort();
                        Ok(Value::Function(pairs))
                    }
                    _ => self.error(format!("expected ':>' or ')' after '(' and a value, found {}", self.found())),
                }
            }
            Tok::Other(c) => {
                self.pos -= 1;
                self.error(format!("unexpected character '{}'", c.escape_default()))
            }
            other => {
                self.pos -= 1;
                self.error(format!("expected a value, found {}", other.describe()))
            }
        }
    }
}

/// Parses one value; the whole text must be that value.
pub fn parse_value(text: &str) -> Result<Value, ParseError> {
    let mut p = Parser::new(text)?;
    let v = p.value()?;
    if p.peek().is_some() {
        return p.error(format!("unexpected {} after the value", p.found()));
    }
    Ok(v)
}

/// A state: the variables and their values, sorted by name.
pub type State = Vec<(String, Value)>;

/// Parses a state printed as `/\ name = value` conjuncts (a lone `name = value` too).
pub fn parse_state(text: &str) -> Result<State, ParseError> {
    let mut p = Parser::new(text)?;
    let mut vars = Vec::new();
    if p.peek().is_none() {
        return p.error("expected a state, found nothing".into());
    }
    while p.peek().is_some() {
        if p.peek() == Some(&Tok::Conj) {
            p.pos += 1;
        } else if !vars.is_empty() {
            return p.error(format!("expected '/\\' before the next variable, found {}", p.found()));
        }
        let name = match p.peek().cloned() {
            Some(Tok::Name(n)) => {
                p.pos += 1;
                n
            }
            _ => return p.error(format!("expected a variable's name, found {}", p.found())),
        };
        p.expect(Tok::Eq, "'=' after a variable's name")?;
        let v = p.value()?;
        if vars.iter().any(|(n, _)| *n == name) {
            return p.error(format!("variable {name} appears twice"));
        }
        vars.push((name, v));
    }
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(vars)
}

/// One state of a TLC error trace: its number, the action that led to it, the state.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceState {
    pub number: usize,
    /// TLC's label: `Initial predicate`, or the action and where it is defined.
    pub action: String,
    pub state: State,
}

/// Parses the text of a trace-state message (code 2217): `N: <label>` then the state.
pub fn parse_trace_state(text: &str) -> Result<TraceState, ParseError> {
    let text = text.trim_start_matches(['\n', '\r']);
    let (head, rest) = text.split_once('\n').unwrap_or((text, ""));
    let bad = |message: String| Err(ParseError { line: 1, column: 1, message });
    let Some((num, label)) = head.split_once(':') else {
        return bad(format!("expected 'N: <action>' to start a trace state, found {head:?}"));
    };
    let Ok(number) = num.trim().parse::<usize>() else {
        return bad(format!("expected a state number before ':', found {:?}", num.trim()));
    };
    let label = label.trim();
    let Some(action) = label.strip_prefix('<').and_then(|l| l.strip_suffix('>')) else {
        return bad(format!("expected '<action>' after the state number, found {label:?}"));
    };
    if !text.contains('\n') {
        // Nothing after the label: say so at the end of its line, the only line there is.
        let column = head.chars().count() + 1;
        return Err(ParseError { line: 1, column, message: "expected a state after the action's label, found nothing".into() });
    }
    let state = parse_state(rest).map_err(|e| ParseError { line: e.line + 1, ..e })?;
    Ok(TraceState { number, action: action.to_string(), state })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse_value(r#"[b |-> "x\"y", a |-> -1, c |-> {3, 1, 1}, d |-> <<TRUE, m1>>, e |-> (h2 :> 1 @@ h1 :> 0), f |-> << >>, g |-> <<>>]"#).unwrap();
        assert_eq!(
            v,
            Value::Record(vec![
                ("a".into(), Value::Int(-1)),
                ("b".into(), Value::Str("x\"y".into())),
                ("c".into(), Value::Set(vec![Value::Int(1), Value::Int(3)])),
                ("d".into(), Value::Seq(vec![Value::Bool(true), Value::ModelValue("m1".into())])),
                (
                    "e".into(),
                    Value::Function(vec![
                        (Value::ModelValue("h1".into()), Value::Int(0)),
                        (Value::ModelValue("h2".into()), Value::Int(1)),
                    ])
                ),
                ("f".into(), Value::Seq(vec![])),
                ("g".into(), Value::Seq(vec![])),
            ])
        );
        assert_eq!(parse_value("<<<<1, 1>>>>").unwrap(), Value::Seq(vec![Value::Seq(vec![Value::Int(1), Value::Int(1)])]));
        assert_eq!(parse_value("( 1 )").unwrap(), Value::Int(1));
    }

    #[test]
    fn values_print_back_as_tla() {
        for text in ["[a |-> 1, b |-> {\"x\"}]", "(h1 :> <<1, 2>> @@ h2 :> FALSE)", "<<>>"] {
            let v = parse_value(text).unwrap();
            assert_eq!(parse_value(&v.to_string()).unwrap(), v, "{text}");
        }
    }

    #[test]
    fn parses_wrapped_states() {
        let s = parse_state("/\\ net = ( [ msg |-> [type |-> \"Get\", tag |-> 0],\n    src |-> h1,\n    dst |-> \"store\" ] :>\n      1 )\n/\\ queue = <<1>>\n").unwrap();
        assert_eq!(s[0].0, "net");
        assert_eq!(s[1], ("queue".to_string(), Value::Seq(vec![Value::Int(1)])));
        let t = parse_trace_state("2: <Dispatch line 3, col 1 to line 4, col 2 of module World>\n/\\ x = 1\n").unwrap();
        assert_eq!(t.number, 2);
        assert!(t.action.starts_with("Dispatch"));
    }

    #[test]
    fn malformed_and_truncated_text_is_an_error_that_says_where() {
        let cases = [
            ("[a |-> 1", "line 1, column 9: expected ',' or ']' in a record, found the end of the text"),
            ("[a = 1]", "expected '|->' after a field name"),
            ("{1, 2", "expected ',' or '}' in a set"),
            ("(h1 :> 1 @@ h2)", "expected ':>' in a function"),
            ("\"abc", "unterminated string"),
            ("<<1,\n  2,\n  ]", "line 3, column 3: expected a value, found ']'"),
            ("1 2", "unexpected the number 2 after the value"),
            ("#", "unexpected character '#'"),
            ("99999999999999999999", "too large"),
            ("", "found the end of the text"),
        ];
        for (text, needle) in cases {
            let e = parse_value(text).unwrap_err();
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
        assert!(parse_state("/\\ x = 1\n/\\ x = 2").unwrap_err().message.contains("twice"));
        assert!(parse_state("/\\ x = 1 y = 2").unwrap_err().message.contains("before the next variable"));
        assert!(parse_trace_state("garbage").is_err());
        assert!(parse_trace_state("1: <Init>\n/\\ x = [a |->").unwrap_err().line == 2);
        let cut = parse_trace_state("14: <Next>").unwrap_err();
        assert_eq!((cut.line, cut.column), (1, 11), "{cut}");
        let deep = "<<".repeat(500);
        assert!(parse_value(&deep).unwrap_err().message.contains("too deeply"));
    }
}
