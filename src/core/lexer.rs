//! The one lexer of TLA+ text, shared by both readers of outside text: the model-file reader
//! ([`super::cfg`]) and the reader of the values TLC prints in its traces ([`super::tla`]).
//!
//! Tokens: brackets `[ ] ( ) { } << >>`, `,`, `|->`, `:>`, `@@`, `/\`, `=`, integers (a leading
//! `-` included), strings with escapes, names, and `\*` line comments (their text, for the
//! model files' `\* SOMETIMES` lines); `(* ... *)` block comments, nested, are skipped. Any other
//! character is a token of its own, for the parser to refuse where it does not belong. Every
//! token and every error carries its 1-based line and column.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    LBracket,
    RBracket,
    LParen,
    RParen,
    LAngle,
    RAngle,
    LBrace,
    RBrace,
    Comma,
    MapsTo,
    /// `:>`
    Colon2,
    AtAt,
    /// `/\`
    Conj,
    Eq,
    Int(i64),
    Str(String),
    Name(String),
    /// A `\*` comment: the rest of its line.
    Comment(String),
    /// Any other character.
    Other(char),
}

impl Tok {
    /// The token as an error message names it.
    pub fn describe(&self) -> String {
        match self {
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LAngle => "'<<'".into(),
            Tok::RAngle => "'>>'".into(),
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::Comma => "','".into(),
            Tok::MapsTo => "'|->'".into(),
            Tok::Colon2 => "':>'".into(),
            Tok::AtAt => "'@@'".into(),
            Tok::Conj => "'/\\'".into(),
            Tok::Eq => "'='".into(),
            Tok::Int(i) => format!("the number {i}"),
            Tok::Str(s) => format!("the string {}", quote(s)),
            Tok::Name(n) => format!("'{n}'"),
            Tok::Comment(_) => "a comment".into(),
            Tok::Other(c) => format!("'{}'", c.escape_default()),
        }
    }
}

/// A token and where it starts.
#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
}

/// Where a text went wrong: 1-based line and column, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.column, self.message)
    }
}

/// An error at `(line, column)`.
pub fn error<T>((line, column): (usize, usize), message: impl Into<String>) -> Result<T, TextError> {
    Err(TextError { line, column, message: message.into() })
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
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where the lexer is in the text.
struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    column: usize,
}

impl Cursor {
    fn at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }
    fn here(&self) -> (usize, usize) {
        (self.line, self.column)
    }
    /// Moves past `n` characters, counting lines.
    fn skip(&mut self, n: usize) {
        for _ in 0..n {
            if self.chars.get(self.i) == Some(&'\n') {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
            self.i += 1;
        }
    }
    /// The characters from `start` to here.
    fn since(&self, start: usize) -> String {
        self.chars[start..self.i].iter().collect()
    }
}

/// The tokens of `text`.
pub fn tokenize(text: &str) -> Result<Vec<Token>, TextError> {
    let mut c = Cursor { chars: text.chars().collect(), i: 0, line: 1, column: 1 };
    let mut out = Vec::new();
    while let Some(ch) = c.at(0) {
        let start = c.here();
        let next = c.at(1);
        let fixed = match (ch, next) {
            ('<', Some('<')) => Some((Tok::LAngle, 2)),
            ('>', Some('>')) => Some((Tok::RAngle, 2)),
            ('|', Some('-')) if c.at(2) == Some('>') => Some((Tok::MapsTo, 3)),
            (':', Some('>')) => Some((Tok::Colon2, 2)),
            ('@', Some('@')) => Some((Tok::AtAt, 2)),
            ('/', Some('\\')) => Some((Tok::Conj, 2)),
            ('(', Some('*')) => None,
            ('[', _) => Some((Tok::LBracket, 1)),
            (']', _) => Some((Tok::RBracket, 1)),
            ('(', _) => Some((Tok::LParen, 1)),
            (')', _) => Some((Tok::RParen, 1)),
            ('{', _) => Some((Tok::LBrace, 1)),
            ('}', _) => Some((Tok::RBrace, 1)),
            (',', _) => Some((Tok::Comma, 1)),
            ('=', _) => Some((Tok::Eq, 1)),
            _ => None,
        };
        if let Some((tok, n)) = fixed {
            c.skip(n);
            out.push(Token { tok, line: start.0, column: start.1 });
            continue;
        }
        let tok = if ch.is_whitespace() {
            c.skip(1);
            continue;
        } else if ch == '\\' && next == Some('*') {
            c.skip(2);
            let from = c.i;
            while c.at(0).is_some_and(|x| x != '\n') {
                c.skip(1);
            }
            Tok::Comment(c.since(from))
        } else if ch == '(' && next == Some('*') {
            block_comment(&mut c, start)?;
            continue;
        } else if ch == '"' {
            Tok::Str(string(&mut c, start)?)
        } else if ch.is_ascii_digit() || (ch == '-' && next.is_some_and(|d| d.is_ascii_digit())) {
            let from = c.i;
            c.skip(1);
            while c.at(0).is_some_and(|d| d.is_ascii_digit()) {
                c.skip(1);
            }
            let digits = c.since(from);
            if let Some(x) = c.at(0).filter(|x| x.is_alphabetic() || *x == '_') {
                return error(start, format!("'{digits}{x}' is neither a number nor a name"));
            }
            match digits.parse() {
                Ok(n) => Tok::Int(n),
                Err(_) => return error(start, format!("the number {digits} is too large")),
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let from = c.i;
            while c.at(0).is_some_and(|x| x.is_alphanumeric() || x == '_') {
                c.skip(1);
            }
            Tok::Name(c.since(from))
        } else {
            c.skip(1);
            Tok::Other(ch)
        };
        out.push(Token { tok, line: start.0, column: start.1 });
    }
    Ok(out)
}

/// Skips a `(* ... *)` comment, nested ones included, that starts at `start`.
fn block_comment(c: &mut Cursor, start: (usize, usize)) -> Result<(), TextError> {
    let mut depth = 0;
    loop {
        match (c.at(0), c.at(1)) {
            (None, _) => return error(start, "unterminated comment '(*'"),
            (Some('('), Some('*')) => {
                depth += 1;
                c.skip(2);
            }
            (Some('*'), Some(')')) => {
                depth -= 1;
                c.skip(2);
                if depth == 0 {
                    return Ok(());
                }
            }
            _ => c.skip(1),
        }
    }
}

/// Reads a string literal that starts at `start` (the cursor is on its opening quote).
fn string(c: &mut Cursor, start: (usize, usize)) -> Result<String, TextError> {
    let mut s = String::new();
    c.skip(1);
    loop {
        match c.at(0) {
            None | Some('\n') => return error(start, "unterminated string"),
            Some('"') => {
                c.skip(1);
                return Ok(s);
            }
            Some('\\') => {
                let e = match c.at(1) {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    Some('f') => '\u{c}',
                    Some(o) => return error(c.here(), format!("unknown escape '\\{}' in a string", o.escape_default())),
                    None => return error(start, "unterminated string"),
                };
                s.push(e);
                c.skip(2);
            }
            Some(o) => {
                s.push(o);
                c.skip(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn every_kind_of_token_with_its_place() {
        assert_eq!(
            toks("[a |-> -1] (h :> 2 @@ g :> 3) <<\"x\\\"\">> {} /\\ x = y \\* note\n(* a (* nested *) block *) @"),
            vec![
                Tok::LBracket,
                Tok::Name("a".into()),
                Tok::MapsTo,
                Tok::Int(-1),
                Tok::RBracket,
                Tok::LParen,
                Tok::Name("h".into()),
                Tok::Colon2,
                Tok::Int(2),
                Tok::AtAt,
                Tok::Name("g".into()),
                Tok::Colon2,
                Tok::Int(3),
                Tok::RParen,
                Tok::LAngle,
                Tok::Str("x\"".into()),
                Tok::RAngle,
                Tok::LBrace,
                Tok::RBrace,
                Tok::Conj,
                Tok::Name("x".into()),
                Tok::Eq,
                Tok::Name("y".into()),
                Tok::Comment(" note".into()),
                Tok::Other('@'),
            ]
        );
        let t = tokenize("a\n  (* x\n *) b").unwrap();
        assert_eq!((t[1].line, t[1].column), (3, 5));
    }

    #[test]
    fn errors_say_where() {
        for (text, want) in [
            ("x = \"abc", "line 1, column 5: unterminated string"),
            ("\n (* never", "line 2, column 2: unterminated comment"),
            ("12ab", "line 1, column 1: '12a' is neither a number nor a name"),
            ("99999999999999999999", "too large"),
            ("\"a\\q\"", "line 1, column 3: unknown escape"),
        ] {
            let e = tokenize(text).unwrap_err();
            assert!(e.to_string().starts_with(want) || e.to_string().contains(want), "{text:?}: {e}");
        }
    }
}
