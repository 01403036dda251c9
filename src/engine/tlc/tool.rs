//! Reading TLC's `-tool` output: its framed messages, how a run ended, its counts, and its error
//! traces (states parsed as TLA+ values).

use super::TlcError;
use crate::core::outcome::Stop;
use crate::core::tla;
use crate::core::trace::Trace;
use crate::core::vocab::{Kind, PropertyDef};

/// One message of TLC's `-tool` output.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub code: u32,
    pub class: u32,
    pub text: String,
}

/// Splits `-tool` output into its framed messages (unframed lines, such as SANY's, are returned
/// as code 0).
pub fn messages(output: &str) -> Vec<Message> {
    let mut out = Vec::new();
    let mut rest = output;
    loop {
        match rest.find("@!@!@STARTMSG ") {
            None => {
                push_unframed(&mut out, rest);
                break;
            }
            Some(start) => {
                push_unframed(&mut out, &rest[..start]);
                let after = &rest[start + "@!@!@STARTMSG ".len()..];
                let Some(head_end) = after.find(" @!@!@") else {
                    push_unframed(&mut out, after);
                    break;
                };
                let head = &after[..head_end];
                let (code, class) = head.split_once(':').unwrap_or((head, "0"));
                let body = &after[head_end + " @!@!@".len()..];
                let (text, next) = match body.find("@!@!@ENDMSG ") {
                    Some(end) => {
                        let tail = &body[end..];
                        let close = tail.find(" @!@!@").map_or(tail.len(), |i| i + " @!@!@".len());
                        (&body[..end], &tail[close..])
                    }
                    None => (body, ""),
                };
                out.push(Message {
                    code: code.trim().parse().unwrap_or(0),
                    class: class.trim().parse().unwrap_or(0),
                    text: text.trim().to_string(),
                });
                rest = next;
            }
        }
    }
    out
}

fn push_unframed(out: &mut Vec<Message>, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        out.push(Message { code: 0, class: 0, text: text.to_string() });
    }
}

/// What one TLC run ended with.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    /// Explored everything with nothing violated; the counts are complete.
    Complete { distinct: u64, generated: u64 },
    /// This invariant was violated, after a trace of this many states.
    InvariantViolated { name: String, trace_len: usize },
    /// The temporal property was violated.
    TemporalViolated { trace_len: usize },
    /// Stopped by a limit or an interruption, after exploring this much.
    Stopped { stop: Stop, distinct: u64, generated: u64 },
}

/// Reads a run's end from its exit code and messages.
pub fn read_run(rc: Option<i32>, output: &str, stderr: &str) -> Result<RunEnd, TlcError> {
    let msgs = messages(output);
    // The states of the trace (2217), not the "back to state" or stuttering markers of a lasso.
    let trace_len = msgs.iter().filter(|m| m.class == 4 && m.code == 2217).count();
    match rc {
        Some(0) => {
            let counts = msgs.iter().rev().find(|m| m.code == 2199).and_then(|m| parse_counts(&m.text));
            match counts {
                Some((generated, distinct)) => Ok(RunEnd::Complete { distinct, generated }),
                None => Err(failure("TLC finished without reporting its state counts", rc, &msgs, stderr)),
            }
        }
        Some(12) => {
            let name = msgs
                .iter()
                .find(|m| m.code == 2110 || m.code == 2107)
                .and_then(|m| m.text.strip_prefix("Invariant "))
                .and_then(|t| t.split_whitespace().next())
                .map(|n| n.trim_end_matches('.').to_string());
            match name {
                Some(name) => Ok(RunEnd::InvariantViolated { name, trace_len }),
                None => Err(failure("TLC reported a violation without naming the invariant", rc, &msgs, stderr)),
            }
        }
        Some(13) => Ok(RunEnd::TemporalViolated { trace_len }),
        _ => Err(failure("TLC failed", rc, &msgs, stderr)),
    }
}

/// "N states generated, M distinct states found, K states left on queue.", also in a progress
/// report ("... N states generated (X s/min), M distinct states found (Y ds/min), ...").
pub(super) fn parse_counts(text: &str) -> Option<(u64, u64)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let num = |w: &str| w.replace(',', "").parse::<u64>().ok();
    let generated = words.iter().position(|w| w.starts_with("generated")).and_then(|i| num(words.get(i.checked_sub(2)?)?))?;
    let distinct = words.iter().position(|w| *w == "distinct").and_then(|i| num(words.get(i.checked_sub(1)?)?))?;
    Some((generated, distinct))
}

/// An environment error carrying TLC's own relevant lines.
pub(super) fn failure(what: &str, rc: Option<i32>, msgs: &[Message], stderr: &str) -> TlcError {
    let mut lines: Vec<String> = msgs
        .iter()
        .filter(|m| m.class == 1 || m.code == 0)
        .flat_map(|m| m.text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Parsing file") && !l.starts_with("Semantic processing"))
        .collect();
    lines.extend(stderr.lines().filter(|l| !l.trim().is_empty()).map(str::to_string));
    lines.truncate(12);
    let rc = rc.map_or("killed by a signal".to_string(), |c| format!("exit code {c}"));
    if lines.is_empty() {
        TlcError(format!("{what} ({rc})"))
    } else {
        TlcError(format!("{what} ({rc}):\n  {}", lines.join("\n  ")))
    }
}

/// The last progress report of a run (for one that was stopped): (generated, distinct).
pub(super) fn last_progress(output: &str) -> (u64, u64) {
    messages(output)
        .iter()
        .rev()
        .filter(|m| m.code == 2200 || m.code == 2199)
        .find_map(|m| parse_counts(&m.text))
        .unwrap_or((0, 0))
}

/// Reads the error trace in TLC's `-tool` output: its states (2217) and, for a liveness
/// violation, where it loops back (2122) or stutters (2218).
pub fn parse_trace(output: &str, model_name: &str, prop: &PropertyDef) -> Result<Trace, TlcError> {
    parse_trace_states(output, model_name, prop).map(|(t, _)| t)
}

/// [`parse_trace`], with the trace's states as TLA+ values too.
pub fn parse_trace_states(output: &str, model_name: &str, prop: &PropertyDef) -> Result<(Trace, Vec<tla::State>), TlcError> {
    let mut raw = Vec::new();
    let mut pairs = Vec::new();
    let mut loops_to = None;
    for m in messages(output) {
        match m.code {
            2217 => {
                let t = tla::parse_trace_state(&m.text).map_err(|e| {
                    TlcError(format!("TLC's trace state {} does not parse: {e}", pairs.len() + 1))
                })?;
                if t.number != pairs.len() + 1 {
                    return Err(TlcError(format!("TLC's trace state {} comes right after state {}: the trace skips states", t.number, pairs.len())));
                }
                let state = serde_json::Value::Object(t.state.iter().map(|(k, v)| (k.clone(), v.to_json())).collect());
                let action = if t.action == "Initial predicate" { "Initial".to_string() } else { t.action };
                pairs.push((action, state));
                raw.push(t.state);
            }
            2218 => loops_to = Some(pairs.len().saturating_sub(1)),
            2122 => {
                // "N: Back to state: <action>": the behaviour returns to state N (1-based).
                let n = m.text.split(':').next().and_then(|n| n.trim().parse::<usize>().ok());
                loops_to = n.map(|n| n.saturating_sub(1));
            }
            _ => {}
        }
    }
    if pairs.is_empty() {
        return Err(TlcError("TLC reported a violation but printed no trace".into()));
    }
    Ok((Trace {
        model: model_name.to_string(),
        property: prop.name.to_string(),
        checker: "tlc".into(),
        kind: if prop.kind == Kind::Sometimes { "witness" } else { "violation" }.into(),
        steps: crate::core::trace::steps(pairs),
        loops_to: if prop.kind == Kind::Liveness { loops_to } else { None },
    }, raw))
}


#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "@!@!@STARTMSG 2185:0 @!@!@\nStarting...\n@!@!@ENDMSG 2185 @!@!@\n@!@!@STARTMSG 2199:0 @!@!@\n3,939 states generated, 1922 distinct states found, 0 states left on queue.\n@!@!@ENDMSG 2199 @!@!@\n";

    #[test]
    fn reads_counts() {
        assert_eq!(read_run(Some(0), OK, ""), Ok(RunEnd::Complete { distinct: 1922, generated: 3939 }));
    }

    #[test]
    fn reads_violations() {
        let out = "@!@!@STARTMSG 2110:1 @!@!@\nInvariant NoGhostMessages is violated.\n@!@!@ENDMSG 2110 @!@!@\n@!@!@STARTMSG 2217:4 @!@!@\n1: <Initial predicate>\nx = 1\n@!@!@ENDMSG 2217 @!@!@\n@!@!@STARTMSG 2217:4 @!@!@\n2: <Next>\nx = 2\n@!@!@ENDMSG 2217 @!@!@\n";
        assert_eq!(read_run(Some(12), out, ""), Ok(RunEnd::InvariantViolated { name: "NoGhostMessages".into(), trace_len: 2 }));
        let init = "@!@!@STARTMSG 2107:1 @!@!@\nInvariant Inv is violated by the initial state:\nx = 1\n@!@!@ENDMSG 2107 @!@!@\n";
        assert_eq!(read_run(Some(12), init, ""), Ok(RunEnd::InvariantViolated { name: "Inv".into(), trace_len: 0 }));
    }

    #[test]
    fn failures_carry_tlcs_lines() {
        let out = "Parsing file /tmp/x/MC.tla\n@!@!@STARTMSG 1000:1 @!@!@\nCould not find declaration of Foo\n@!@!@ENDMSG 1000 @!@!@\n";
        let e = read_run(Some(150), out, "").unwrap_err();
        assert!(e.0.contains("exit code 150") && e.0.contains("Could not find declaration of Foo"), "{e}");
        assert!(read_run(Some(0), "", "").is_err());
        assert!(read_run(None, "", "").unwrap_err().0.contains("signal"));
        assert!(read_run(Some(12), "garbage", "").is_err());
    }

    #[test]
    fn splits_truncated_output() {
        let m = messages("@!@!@STARTMSG 2199:0 @!@!@\n1 states generated");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].code, 2199);
        assert_eq!(messages("@!@!@STARTMSG 21").len(), 1);
    }
}

