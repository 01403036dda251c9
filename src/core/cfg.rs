//! The model-file reader: the subset of TLC's `.cfg` syntax that model files use.
//!
//! A model file is read by TLC as it is, and by this reader for the Stateright twin. Supported:
//! `SPECIFICATION`, `CONSTANT`/`CONSTANTS` with `Name = value` (integers, strings, `TRUE`,
//! `FALSE`, model values and sets of these), `INVARIANT(S)`, `PROPERTY(IES)`, `SYMMETRY`,
//! `\*` line comments and nested `(* ... *)` block comments. One convention of ours rides in a
//! comment, so that TLC ignores it: a line `\* SOMETIMES A B` lists non-vacuity checks (state
//! predicates that some reachable state must satisfy).

use std::collections::BTreeMap;
use std::fmt;

/// A constant's value, as TLC's configuration language writes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Int(i64),
    Str(String),
    Bool(bool),
    /// A bare identifier: TLC makes it a model value.
    ModelValue(String),
    /// A set, kept sorted and without duplicates.
    Set(Vec<Value>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{}", quote(s)),
            Value::Bool(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            Value::ModelValue(m) => write!(f, "{m}"),
            Value::Set(items) => {
                write!(f, "{{")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "}}")
            }
        }
    }
}

/// A TLA+ string literal for `s`.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::ModelValue(_) => "a model value",
            Value::Set(_) => "a set",
        }
    }

    /// Parses a value as written on the command line (`--const NAME=VALUE`).
    pub fn parse(text: &str) -> Result<Value, String> {
        let tokens = tokenize(text).map_err(|e| e.message)?;
        let mut p = Parser { tokens, pos: 0 };
        let v = p.value().map_err(|e| e.message)?;
        if let Some(t) = p.peek() {
            return Err(format!("unexpected {} after the value", t.tok.describe()));
        }
        Ok(v)
    }
}

/// A parsed model file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelFile {
    pub specification: Option<String>,
    /// Constants in the order the file gives them.
    pub constants: Vec<(String, Value)>,
    pub invariants: Vec<String>,
    pub properties: Vec<String>,
    /// Non-vacuity checks, from `\* SOMETIMES` lines.
    pub sometimes: Vec<String>,
    pub symmetry: Option<String>,
}

impl ModelFile {
    pub fn constant(&self, name: &str) -> Option<&Value> {
        self.constants.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    pub fn constants_map(&self) -> BTreeMap<String, Value> {
        self.constants.iter().cloned().collect()
    }

    /// Replaces (or adds) a constant's value.
    pub fn set_constant(&mut self, name: &str, value: Value) {
        match self.constants.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.constants.push((name.to_string(), value)),
        }
    }

    /// Writes the file back in TLC's syntax, with `invariants` and `properties` in place of the
    /// file's own (the TLC runner checks them in separate runs).
    pub fn to_tlc_cfg(&self, invariants: &[String], properties: &[String]) -> String {
        let mut out = String::new();
        if let Some(spec) = &self.specification {
            out.push_str(&format!("SPECIFICATION {spec}\n"));
        }
        if !self.constants.is_empty() {
            out.push_str("CONSTANTS\n");
            for (n, v) in &self.constants {
                out.push_str(&format!("  {n} = {v}\n"));
            }
        }
        for i in invariants {
            out.push_str(&format!("INVARIANT {i}\n"));
        }
        for p in properties {
            out.push_str(&format!("PROPERTY {p}\n"));
        }
        if let Some(s) = &self.symmetry {
            out.push_str(&format!("SYMMETRY {s}\n"));
        }
        out
    }
}

/// A reader error, with the 1-based line where it was found.
#[derive(Clone, Debug, PartialEq)]
pub struct CfgError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Eq,
    LBrace,
    RBrace,
    Comma,
    Other(char),
    /// The names of a `\* SOMETIMES` line.
    Sometimes(Vec<String>),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Int(i) => format!("'{i}'"),
            Tok::Str(s) => format!("the string {}", quote(s)),
            Tok::Eq => "'='".into(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::Comma => "','".into(),
            Tok::Other(c) => format!("'{}'", c.escape_default()),
            Tok::Sometimes(_) => "a SOMETIMES line".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

const KEYWORDS: &[&str] = &[
    "SPECIFICATION",
    "CONSTANT",
    "CONSTANTS",
    "INVARIANT",
    "INVARIANTS",
    "PROPERTY",
    "PROPERTIES",
    "SYMMETRY",
    "INIT",
    "NEXT",
    "VIEW",
    "CONSTRAINT",
    "CONSTRAINTS",
    "ACTION_CONSTRAINT",
    "ACTION_CONSTRAINTS",
    "TYPE",
    "TYPE_CONSTRAINT",
    "ALIAS",
    "POSTCONDITION",
    "CHECK_DEADLOCK",
];

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, CfgError> {
    Err(CfgError {
        line,
        message: message.into(),
    })
}

fn tokenize(text: &str) -> Result<Vec<Token>, CfgError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '\\' && next == Some('*') {
            let start = i + 2;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            let comment: String = chars[start..i].iter().collect();
            let mut words = comment.split_whitespace();
            if words.next() == Some("SOMETIMES") {
                let names: Vec<String> = words.map(str::to_string).collect();
                if names.is_empty() {
                    return err(line, "a SOMETIMES line names no check");
                }
                if let Some(bad) = names.iter().find(|n| !is_ident(n)) {
                    return err(line, format!("'{bad}' in a SOMETIMES line is not a name"));
                }
                tokens.push(Token {
                    tok: Tok::Sometimes(names),
                    line,
                });
            }
        } else if c == '(' && next == Some('*') {
            let open_line = line;
            let mut depth = 1;
            i += 2;
            while depth > 0 {
                match (chars.get(i), chars.get(i + 1)) {
                    (None, _) => return err(open_line, "unterminated comment '(*'"),
                    (Some('('), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some(')')) => {
                        depth -= 1;
                        i += 2;
                    }
                    (Some('\n'), _) => {
                        line += 1;
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
        } else if c == '"' {
            let open_line = line;
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None | Some('\n') => return err(open_line, "unterminated string"),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let esc = match chars.get(i + 1) {
                            Some('"') => '"',
                            Some('\\') => '\\',
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some(o) => return err(line, format!("unknown escape '\\{o}' in a string")),
                            None => return err(open_line, "unterminated string"),
                        };
                        s.push(esc);
                        i += 2;
                    }
                    Some(&o) => {
                        s.push(o);
                        i += 1;
                    }
                }
            }
            tokens.push(Token { tok: Tok::Str(s), line });
        } else if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            if i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '_') {
                return err(line, format!("'{digits}{}' is neither a number nor a name", chars[i]));
            }
            let n = digits
                .parse::<i64>()
                .or_else(|_| err(line, format!("the number {digits} is too large")))?;
            tokens.push(Token { tok: Tok::Int(n), line });
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                line,
            });
        } else {
            let tok = match c {
                '=' => Tok::Eq,
                '{' => Tok::LBrace,
                '}' => Tok::RBrace,
                ',' => Tok::Comma,
                o => Tok::Other(o),
            };
            tokens.push(Token { tok, line });
            i += 1;
        }
    }
    Ok(tokens)
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_alphabetic() || c == '_')
        && cs.all(|c| c.is_alphanumeric() || c == '_')
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn last_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    fn next_keyword_or_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(Token { tok: Tok::Ident(s), .. }) => KEYWORDS.contains(&s.as_str()),
            Some(Token { tok: Tok::Sometimes(_), .. }) => true,
            _ => false,
        }
    }

    fn value(&mut self) -> Result<Value, CfgError> {
        let Some(t) = self.tokens.get(self.pos).cloned() else {
            return err(self.last_line(), "expected a value, found the end of the file");
        };
        self.pos += 1;
        match t.tok {
            Tok::Int(n) => Ok(Value::Int(n)),
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Ident(s) if s == "TRUE" => Ok(Value::Bool(true)),
            Tok::Ident(s) if s == "FALSE" => Ok(Value::Bool(false)),
            Tok::Ident(s) if KEYWORDS.contains(&s.as_str()) => {
                err(t.line, format!("expected a value, found the keyword {s}"))
            }
            Tok::Ident(s) => Ok(Value::ModelValue(s)),
            Tok::LBrace => {
                let mut items = Vec::new();
                if matches!(self.peek(), Some(Token { tok: Tok::RBrace, .. })) {
                    self.pos += 1;
                    return Ok(Value::Set(items));
                }
                loop {
                    items.push(self.value()?);
                    match self.tokens.get(self.pos).cloned() {
                        Some(Token { tok: Tok::Comma, .. }) => self.pos += 1,
                        Some(Token { tok: Tok::RBrace, .. }) => {
                            self.pos += 1;
                            break;
                        }
                        Some(o) => {
                            return err(o.line, format!("expected ',' or '}}' in a set, found {}", o.tok.describe()))
                        }
                        None => return err(t.line, "unterminated set: '{' without '}'"),
                    }
                }
                items.sort();
                items.dedup();
                Ok(Value::Set(items))
            }
            other => err(t.line, format!("expected a value, found {}", other.describe())),
        }
    }

    fn names(&mut self, keyword: &str, line: usize) -> Result<Vec<String>, CfgError> {
        let mut names = Vec::new();
        while !self.next_keyword_or_end() {
            let t = self.tokens[self.pos].clone();
            self.pos += 1;
            match t.tok {
                Tok::Ident(s) => names.push(s),
                other => return err(t.line, format!("expected a name after {keyword}, found {}", other.describe())),
            }
        }
        if names.is_empty() {
            return err(line, format!("{keyword} names nothing"));
        }
        Ok(names)
    }
}

/// Reads a model file's text.
pub fn parse(text: &str) -> Result<ModelFile, CfgError> {
    if text.contains('\0') {
        return err(1, "the file is binary, not a model file");
    }
    let tokens = tokenize(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let mut mf = ModelFile::default();
    let mut seen_any = false;
    let mut symmetry_line = 0;
    while let Some(t) = p.peek().cloned() {
        p.pos += 1;
        seen_any = true;
        let kw = match &t.tok {
            Tok::Sometimes(names) => {
                for n in names {
                    if mf.sometimes.contains(n) {
                        return err(t.line, format!("{n} is listed twice"));
                    }
                    mf.sometimes.push(n.clone());
                }
                continue;
            }
            Tok::Ident(s) if KEYWORDS.contains(&s.as_str()) => s.clone(),
            other => {
                return err(
                    t.line,
                    format!("expected a keyword such as CONSTANTS or INVARIANT, found {}", other.describe()),
                )
            }
        };
        match kw.as_str() {
            "SPECIFICATION" => {
                let names = p.names(&kw, t.line)?;
                if names.len() != 1 || mf.specification.is_some() {
                    return err(t.line, "a model file names exactly one SPECIFICATION");
                }
                mf.specification = Some(names[0].clone());
            }
            "CONSTANT" | "CONSTANTS" => {
                let mut any = false;
                while !p.next_keyword_or_end() {
                    let nt = p.tokens[p.pos].clone();
                    p.pos += 1;
                    let Tok::Ident(name) = nt.tok else {
                        return err(nt.line, format!("expected a constant's name, found {}", nt.tok.describe()));
                    };
                    match p.peek().cloned() {
                        Some(Token { tok: Tok::Eq, .. }) => p.pos += 1,
                        Some(Token { tok: Tok::Other('<'), line }) => {
                            return err(line, format!("{name}: substitution '<-' is not supported; assign a value with '='"))
                        }
                        Some(o) => return err(o.line, format!("expected '=' after {name}, found {}", o.tok.describe())),
                        None => return err(nt.line, format!("expected '=' after {name}, found the end of the file")),
                    }
                    let value = p.value()?;
                    if mf.constant(&name).is_some() {
                        return err(nt.line, format!("constant {name} is assigned twice"));
                    }
                    mf.constants.push((name, value));
                    any = true;
                }
                if !any {
                    return err(t.line, format!("{kw} assigns nothing"));
                }
            }
            "INVARIANT" | "INVARIANTS" => {
                for n in p.names(&kw, t.line)? {
                    if mf.invariants.contains(&n) {
                        return err(t.line, format!("invariant {n} is listed twice"));
                    }
                    mf.invariants.push(n);
                }
            }
            "PROPERTY" | "PROPERTIES" => {
                for n in p.names(&kw, t.line)? {
                    if mf.properties.contains(&n) {
                        return err(t.line, format!("property {n} is listed twice"));
                    }
                    mf.properties.push(n);
                }
            }
            "SYMMETRY" => {
                let names = p.names(&kw, t.line)?;
                if names.len() != 1 || mf.symmetry.is_some() {
                    return err(t.line, "a model file names at most one SYMMETRY");
                }
                if !SYMMETRIES.contains(&names[0].as_str()) {
                    return err(t.line, format!("unknown SYMMETRY {} (known: {})", names[0], SYMMETRIES.join(", ")));
                }
                mf.symmetry = Some(names[0].clone());
                symmetry_line = t.line;
            }
            other => {
                return err(t.line, format!("{other} is not supported in model files (supported: SPECIFICATION, CONSTANTS, INVARIANTS, PROPERTIES, SYMMETRY)"))
            }
        }
    }
    if !seen_any {
        return err(1, "the model file is empty");
    }
    if mf.symmetry.is_some() && !mf.properties.is_empty() {
        return err(
            symmetry_line,
            "SYMMETRY cannot go with PROPERTY: symmetry reduction is unsound for liveness in TLC (check Termination in the unreduced twin)",
        );
    }
    Ok(mf)
}

/// The symmetries a model file may select: `HandlerPerms`, the permutations of the handlers
/// (`specs/World.tla`; Stateright: `src/actors/symmetry.rs`).
pub const SYMMETRIES: &[&str] = &["HandlerPerms"];

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
\* A model file.
(* a block (* nested *) comment
   over lines *)
SPECIFICATION Spec
CONSTANTS
  Msgs = 2
  Handlers = {h2, h1}
  Variant = "ResendStoredChange"
  Flag = TRUE
  Neg = -3
INVARIANTS NoGhostMessages
  NoLostMessages
PROPERTY Termination
\* SOMETIMES DuplicateDelivered CrashMidProcessing
"#;

    #[test]
    fn reads_the_subset() {
        let mf = parse(SAMPLE).unwrap();
        assert_eq!(mf.specification.as_deref(), Some("Spec"));
        assert_eq!(mf.constant("Msgs"), Some(&Value::Int(2)));
        assert_eq!(
            mf.constant("Handlers"),
            Some(&Value::Set(vec![Value::ModelValue("h1".into()), Value::ModelValue("h2".into())]))
        );
        assert_eq!(mf.constant("Variant"), Some(&Value::Str("ResendStoredChange".into())));
        assert_eq!(mf.constant("Flag"), Some(&Value::Bool(true)));
        assert_eq!(mf.constant("Neg"), Some(&Value::Int(-3)));
        assert_eq!(mf.invariants, vec!["NoGhostMessages", "NoLostMessages"]);
        assert_eq!(mf.properties, vec!["Termination"]);
        assert_eq!(mf.sometimes, vec!["DuplicateDelivered", "CrashMidProcessing"]);
        assert_eq!(mf.symmetry, None);
    }

    #[test]
    fn reads_symmetry_without_liveness() {
        let base = "SPECIFICATION Spec\nCONSTANTS Handlers = {h1, h2}\nINVARIANT Inv\n";
        let mf = parse(&format!("{base}SYMMETRY HandlerPerms\n")).unwrap();
        assert_eq!(mf.symmetry.as_deref(), Some("HandlerPerms"));
        assert!(mf.to_tlc_cfg(&mf.invariants, &[]).contains("SYMMETRY HandlerPerms"));
        let e = parse(&format!("{base}SYMMETRY Perms\n")).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (4, "unknown SYMMETRY Perms (known: HandlerPerms)"));
        let e = parse(&format!("{base}SYMMETRY HandlerPerms\nPROPERTY Termination\n")).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.starts_with("SYMMETRY cannot go with PROPERTY"), "{}", e.message);
    }

    #[test]
    fn round_trips_through_tlc_syntax() {
        let mf = parse(SAMPLE).unwrap();
        let text = mf.to_tlc_cfg(&mf.invariants, &mf.properties);
        let again = parse(&text).unwrap();
        assert_eq!(again.constants, mf.constants);
        assert_eq!(again.invariants, mf.invariants);
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("", "empty"),
            ("CONSTANTS X = ", "end of the file"),
            ("CONSTANTS X 3", "expected '='"),
            ("CONSTANTS X = {1, 2", "unterminated set"),
            ("(* never closed", "unterminated comment"),
            ("CONSTANTS X = \"abc", "unterminated string"),
            ("CONSTANTS X = 1 X = 2", "assigned twice"),
            ("INVARIANT", "names nothing"),
            ("FOO Bar", "expected a keyword"),
            ("INIT Init", "not supported"),
            ("CONSTANTS X <- Y", "substitution"),
            ("CONSTANTS X = 99999999999999999999", "too large"),
            ("\0\u{1}", "binary"),
            ("INVARIANT A A", "listed twice"),
            ("\\* SOMETIMES", "names no check"),
        ];
        for (text, needle) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        assert_eq!(parse("\n\nCONSTANTS X 3").unwrap_err().line, 3);
    }

    #[test]
    fn command_line_values() {
        assert_eq!(Value::parse("3"), Ok(Value::Int(3)));
        assert_eq!(Value::parse("\"A\""), Ok(Value::Str("A".into())));
        assert_eq!(Value::parse("{a, b}").unwrap().to_string(), "{a, b}");
        assert!(Value::parse("3 4").is_err());
        assert!(Value::parse("").is_err());
    }
}
