//! The model-file reader: the subset of TLC's `.cfg` syntax that model files use.
//!
//! A model file is read by TLC as it is, and by this reader for the Stateright twin. Supported:
//! `SPECIFICATION`, `CONSTANT`/`CONSTANTS` with `Name = value` (integers, strings, `TRUE`,
//! `FALSE`, model values and sets of these), `INVARIANT(S)`, `PROPERTY(IES)`, `SYMMETRY`,
//! `\*` line comments and nested `(* ... *)` block comments. One convention of ours rides in a
//! comment, so that TLC ignores it: a line `\* SOMETIMES A B` lists non-vacuity checks (state
//! predicates that some reachable state must satisfy).

use super::lexer::{error, tokenize, TextError, Tok, Token};
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

pub use super::lexer::quote;

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
        let mut p = Parser::new(text).map_err(|e| e.message)?;
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

/// A reader error, with the 1-based line and column where it was found.
pub type CfgError = TextError;

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

/// Where a token is.
fn at(t: &Token) -> (usize, usize) {
    (t.line, t.column)
}

/// The names of a `\* SOMETIMES` comment (None for any other comment).
fn sometimes(comment: &str, place: (usize, usize)) -> Result<Option<Vec<String>>, CfgError> {
    let mut words = comment.split_whitespace();
    if words.next() != Some("SOMETIMES") {
        return Ok(None);
    }
    let names: Vec<String> = words.map(str::to_string).collect();
    if names.is_empty() {
        return error(place, "a SOMETIMES line names no check");
    }
    if let Some(bad) = names.iter().find(|n| !is_ident(n)) {
        return error(place, format!("'{bad}' in a SOMETIMES line is not a name"));
    }
    Ok(Some(names))
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_alphabetic() || c == '_')
        && cs.all(|c| c.is_alphanumeric() || c == '_')
}

/// A model file's tokens: those of the shared lexer, comments left out but `\* SOMETIMES` lines.
struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Parser, CfgError> {
        let mut tokens = Vec::new();
        for t in tokenize(text)? {
            match &t.tok {
                Tok::Comment(c) => {
                    if sometimes(c, at(&t))?.is_some() {
                        tokens.push(t);
                    }
                }
                _ => tokens.push(t),
            }
        }
        Ok(Parser { tokens, pos: 0 })
    }

    /// Where the text ends (for an error there).
    fn end(&self) -> (usize, usize) {
        self.tokens.last().map_or((1, 1), at)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next_keyword_or_end(&self) -> bool {
        match self.peek() {
            None => true,
            Some(Token { tok: Tok::Name(s), .. }) => KEYWORDS.contains(&s.as_str()),
            Some(Token { tok: Tok::Comment(_), .. }) => true,
            _ => false,
        }
    }

    fn value(&mut self) -> Result<Value, CfgError> {
        let Some(t) = self.tokens.get(self.pos).cloned() else {
            return error(self.end(), "expected a value, found the end of the file");
        };
        self.pos += 1;
        let place = at(&t);
        match t.tok {
            Tok::Int(n) => Ok(Value::Int(n)),
            Tok::Str(s) => Ok(Value::Str(s)),
            Tok::Name(s) if s == "TRUE" => Ok(Value::Bool(true)),
            Tok::Name(s) if s == "FALSE" => Ok(Value::Bool(false)),
            Tok::Name(s) if KEYWORDS.contains(&s.as_str()) => error(place, format!("expected a value, found the keyword {s}")),
            Tok::Name(s) => Ok(Value::ModelValue(s)),
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
                        Some(o) => return error(at(&o), format!("expected ',' or '}}' in a set, found {}", o.tok.describe())),
                        None => return error(place, "unterminated set: '{' without '}'"),
                    }
                }
                items.sort();
                items.dedup();
                Ok(Value::Set(items))
            }
            other => error(place, format!("expected a value, found {}", other.describe())),
        }
    }

    fn names(&mut self, keyword: &str, place: (usize, usize)) -> Result<Vec<String>, CfgError> {
        let mut names = Vec::new();
        while !self.next_keyword_or_end() {
            let t = self.tokens[self.pos].clone();
            self.pos += 1;
            let here = at(&t);
            match t.tok {
                Tok::Name(s) => names.push(s),
                other => return error(here, format!("expected a name after {keyword}, found {}", other.describe())),
            }
        }
        if names.is_empty() {
            return error(place, format!("{keyword} names nothing"));
        }
        Ok(names)
    }
}

/// Reads a model file's text.
pub fn parse(text: &str) -> Result<ModelFile, CfgError> {
    if text.contains('\0') {
        return error((1, 1), "the file is binary, not a model file");
    }
    let mut p = Parser::new(text)?;
    let mut mf = ModelFile::default();
    let mut seen_any = false;
    let mut symmetry_at = (1, 1);
    while let Some(t) = p.peek().cloned() {
        p.pos += 1;
        seen_any = true;
        let kw = match &t.tok {
            Tok::Comment(c) => {
                for n in sometimes(c, at(&t))?.unwrap_or_default() {
                    if mf.sometimes.contains(&n) {
                        return error(at(&t), format!("{n} is listed twice"));
                    }
                    mf.sometimes.push(n);
                }
                continue;
            }
            Tok::Name(s) if KEYWORDS.contains(&s.as_str()) => s.clone(),
            other => return error(at(&t), format!("expected a keyword such as CONSTANTS or INVARIANT, found {}", other.describe())),
        };
        match kw.as_str() {
            "SPECIFICATION" => {
                let names = p.names(&kw, at(&t))?;
                if names.len() != 1 || mf.specification.is_some() {
                    return error(at(&t), "a model file names exactly one SPECIFICATION");
                }
                mf.specification = Some(names[0].clone());
            }
            "CONSTANT" | "CONSTANTS" => {
                let mut any = false;
                while !p.next_keyword_or_end() {
                    let nt = p.tokens[p.pos].clone();
                    p.pos += 1;
                    let Tok::Name(name) = nt.tok.clone() else {
                        return error(at(&nt), format!("expected a constant's name, found {}", nt.tok.describe()));
                    };
                    match p.peek().cloned() {
                        Some(Token { tok: Tok::Eq, .. }) => p.pos += 1,
                        Some(o) if o.tok == Tok::Other('<') => {
                            return error(at(&o), format!("{name}: substitution '<-' is not supported; assign a value with '='"))
                        }
                        Some(o) => return error(at(&o), format!("expected '=' after {name}, found {}", o.tok.describe())),
                        None => return error(at(&nt), format!("expected '=' after {name}, found the end of the file")),
                    }
                    let value = p.value()?;
                    if mf.constant(&name).is_some() {
                        return error(at(&nt), format!("constant {name} is assigned twice"));
                    }
                    mf.constants.push((name, value));
                    any = true;
                }
                if !any {
                    return error(at(&t), format!("{kw} assigns nothing"));
                }
            }
            "INVARIANT" | "INVARIANTS" => {
                for n in p.names(&kw, at(&t))? {
                    if mf.invariants.contains(&n) {
                        return error(at(&t), format!("invariant {n} is listed twice"));
                    }
                    mf.invariants.push(n);
                }
            }
            "PROPERTY" | "PROPERTIES" => {
                for n in p.names(&kw, at(&t))? {
                    if mf.properties.contains(&n) {
                        return error(at(&t), format!("property {n} is listed twice"));
                    }
                    mf.properties.push(n);
                }
            }
            "SYMMETRY" => {
                let names = p.names(&kw, at(&t))?;
                if names.len() != 1 || mf.symmetry.is_some() {
                    return error(at(&t), "a model file names at most one SYMMETRY");
                }
                if !SYMMETRIES.contains(&names[0].as_str()) {
                    return error(at(&t), format!("unknown SYMMETRY {} (known: {})", names[0], SYMMETRIES.join(", ")));
                }
                mf.symmetry = Some(names[0].clone());
                symmetry_at = at(&t);
            }
            other => {
                return error(at(&t), format!("{other} is not supported in model files (supported: SPECIFICATION, CONSTANTS, INVARIANTS, PROPERTIES, SYMMETRY)"))
            }
        }
    }
    if !seen_any {
        return error((1, 1), "the model file is empty");
    }
    if mf.symmetry.is_some() && !mf.properties.is_empty() {
        return error(
            symmetry_at,
            "SYMMETRY cannot go with PROPERTY: symmetry reduction is unsound for liveness in TLC (check Termination in the unreduced twin)",
        );
    }
    Ok(mf)
}

/// The symmetries a model file may select: `HandlerPerms`, the permutations of the handlers
/// (`specs/World.tla`; Stateright: `src/world/symmetry.rs`).
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
