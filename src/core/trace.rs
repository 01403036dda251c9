//! Counterexamples as data: one trace format for both checkers.
//!
//! A trace is the sequence of states from an initial state to a state that violates (or, for a
//! non-vacuity check, witnesses) a property, each with the action that led to it. A liveness
//! violation ends in a loop: `loops_to` names the step the behaviour returns to (for a run that
//! stops, TLC's "stuttering", the last step itself). States are JSON: for Stateright, the actors'
//! states and the messages in flight; for TLC, the spec's variables (TLA+ values as JSON, see
//! [`crate::core::tla::Value::to_json`]).

use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// The action that led to this state (`Initial` for the first).
    pub action: String,
    pub state: Value,
    /// The parts of the state this step changed (`network`, `handlers.h1.wait`, ...).
    pub changed: Vec<String>,
    /// Stateright only: the index of this step's action among the actions of the state before
    /// it (of the initial state among the initial states, for the first step), as Stateright's
    /// Explorer numbers them in its paths (`#/steps/0/3/1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_index: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trace {
    pub model: String,
    pub property: String,
    /// `tlc` or `stateright`.
    pub checker: String,
    /// `violation` (invariant, liveness) or `witness` (non-vacuity check).
    pub kind: String,
    pub steps: Vec<Step>,
    /// For a liveness violation: the index of the step the behaviour loops back to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loops_to: Option<usize>,
}

impl Trace {
    /// The number of steps (actions) after the initial state.
    pub fn len(&self) -> usize {
        self.steps.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.steps.len() <= 1
    }

    /// The path of this trace in Stateright's Explorer (`0/3/1`), when every step knows its
    /// action index (Stateright's traces).
    pub fn explorer_path(&self) -> Option<String> {
        let indices: Option<Vec<String>> = self.steps.iter().map(|s| s.action_index.map(|i| i.to_string())).collect();
        indices.filter(|v| !v.is_empty()).map(|v| v.join("/"))
    }
}

/// Builds steps from (action, state) pairs, computing what each step changed.
pub fn steps(pairs: Vec<(String, Value)>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::with_capacity(pairs.len());
    for (action, state) in pairs {
        let changed = match out.last() {
            None => Vec::new(),
            Some(prev) => {
                let mut c = Vec::new();
                diff("", &prev.state, &state, 2, &mut c);
                c
            }
        };
        out.push(Step { action, state, changed, action_index: None });
    }
    out
}

/// The paths (down to `depth` levels of objects) where `a` and `b` differ.
fn diff(path: &str, a: &Value, b: &Value, depth: usize, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if depth > 0 => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => diff(&p, u, v, depth - 1, out),
                    _ => out.push(p),
                }
            }
        }
        _ => out.push(if path.is_empty() { "(state)".into() } else { path.to_string() }),
    }
}

/// The human form: each step with its action and the parts it changed (the first in full).
pub fn render(t: &Trace) -> String {
    let mut s = format!(
        "{} {} of {} ({}): {} steps\n",
        t.checker,
        t.kind,
        t.property,
        t.model,
        t.len()
    );
    for (i, step) in t.steps.iter().enumerate() {
        s.push_str(&format!("\n{i:>3}. {}\n", step.action));
        if i == 0 {
            for (k, v) in step.state.as_object().into_iter().flatten() {
                s.push_str(&format!("       {k} = {}\n", compact(v)));
            }
        } else {
            for path in &step.changed {
                let v = lookup(&step.state, path).map_or("(gone)".to_string(), compact);
                s.push_str(&format!("     * {path} = {v}\n"));
            }
        }
    }
    if let Some(back) = t.loops_to {
        if back + 1 == t.steps.len() {
            s.push_str("\n     (stays here for ever)\n");
        } else {
            s.push_str(&format!("\n     (loops back to step {back})\n"));
        }
    }
    s
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path == "(state)" {
        return Some(v);
    }
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 400 {
        format!("{}...", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_say_what_changed() {
        let s = steps(vec![
            ("Initial".into(), json!({"a": 1, "h": {"h1": {"wait": "Nothing", "tag": 0}}})),
            ("Step".into(), json!({"a": 1, "h": {"h1": {"wait": "Doc", "tag": 0}}})),
            ("Step".into(), json!({"a": 2, "h": {"h1": {"wait": "Doc", "tag": 0}}, "b": true})),
        ]);
        assert_eq!(s[0].changed, Vec::<String>::new());
        assert_eq!(s[1].changed, vec!["h.h1"]);
        assert_eq!(s[2].changed, vec!["a", "b"]);
        let t = Trace { model: "m".into(), property: "P".into(), checker: "tlc".into(), kind: "violation".into(), steps: s, loops_to: Some(2) };
        let text = render(&t);
        assert!(text.contains("* h.h1 = {\"tag\":0,\"wait\":\"Doc\"}"), "{text}");
        assert!(text.contains("stays here for ever"), "{text}");
    }
}
