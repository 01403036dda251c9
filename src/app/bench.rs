//! `exactly bench`: Stateright against TLC on the very same state spaces, side by side.
//!
//! Each family's benchmark model files (`models/<family>/bench-*.cfg`, a correct variant at a
//! size of a million distinct states or more, invariants only) are checked by
//! - TLC: one run, `-workers 2`, breadth-first, the file's invariants, no liveness, no
//!   `-continue`;
//! - Stateright: `exactly check --threads 2 --json`, breadth-first, and again with `--dfs`
//!   (both through the fast path, `crate::world::fast`), and breadth-first with
//!   `--actor-model` (Stateright's `ActorModel` itself, the same states);
//!
//! Each checker runs as a process of its own, the runs alternating (TLC, BFS, DFS, TLC, ...), each
//! process's wall time and peak resident memory (the kernel's accounting of the reaped child)
//! recorded, the median of the runs reported. Speed is reported, never asserted.

use crate::catalog::Job;
use crate::core::error::{progress, Failure};
use crate::core::process::Measure;
use crate::engine::tlc::Tlc;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Instant;

impl Measure {
    fn to_json(&self) -> Value {
        json!({
            "distinct_states": self.distinct_states,
            "generated_states": self.generated_states,
            "seconds": (self.seconds * 1000.0).round() / 1000.0,
            "peak_memory_bytes": self.peak_memory_bytes,
            "bytes_per_distinct_state": self.bytes_per_state().round(),
            "distinct_states_per_second": self.states_per_second().round(),
        })
    }

    /// The cost of a state: the process's peak resident memory over the distinct states it
    /// found (the process's fixed cost included: a JVM's, about 2 GiB by default, counts).
    pub fn bytes_per_state(&self) -> f64 {
        self.peak_memory_bytes as f64 / self.distinct_states.max(1) as f64
    }

    pub fn states_per_second(&self) -> f64 {
        self.distinct_states as f64 / self.seconds.max(1e-9)
    }

    /// The run with the median wall time (the lower middle one of an even number).
    fn median(mut runs: Vec<Measure>) -> Measure {
        runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let mid = (runs.len() - 1) / 2;
        let mut m = runs[mid].clone();
        let mut mem: Vec<u64> = runs.iter().map(|r| r.peak_memory_bytes).collect();
        mem.sort_unstable();
        m.peak_memory_bytes = mem[mid];
        m
    }
}

/// One Stateright check of `job` in a process of its own (this binary's `check` with `args`).
fn stateright(job: &Job, threads: usize, args: &[&str]) -> Result<Measure, Failure> {
    let exe = std::env::current_exe().map_err(|e| Failure::env(format!("cannot find this program: {e}")))?;
    let start = Instant::now();
    let mut cmd = Command::new(exe);
    cmd.args(["check", &job.path.to_string_lossy(), "--json", "--threads", &threads.to_string()]);
    cmd.args(args);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::env(format!("cannot start a Stateright run: {e}")))?;
    let out = crate::core::process::drain(child.stdout.take());
    let err = crate::core::process::drain(child.stderr.take());
    let ended = crate::core::process::wait(&mut child, crate::core::cancel::interrupted)
        .map_err(|e| Failure::env(format!("lost track of a Stateright run: {e}")))?;
    let seconds = start.elapsed().as_secs_f64();
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if ended.killed {
        return Err(Failure::interrupted());
    }
    let result: Value = serde_json::from_str(&out).map_err(|_| {
        Failure::env(format!(
            "the Stateright run of {} ended with {} and no results: {}",
            job.name,
            ended.status,
            err.lines().last().unwrap_or("")
        ))
    })?;
    let r = &result["results"][0]["stateright"];
    let count = |k: &str| r[k].as_u64().ok_or_else(|| Failure::env(format!("the Stateright run of {} reported no {k}", job.name)));
    if r.get("stopped").is_some() {
        return Err(Failure::env(format!("the Stateright run of {} stopped early", job.name)));
    }
    Ok(Measure {
        distinct_states: count("distinct_states")?,
        generated_states: count("generated_states")?,
        seconds,
        peak_memory_bytes: ended.peak_memory_bytes,
    })
}

/// What `exactly bench` measured for one model file.
pub struct Row {
    pub job_name: String,
    pub family: String,
    pub tlc: Measure,
    pub bfs: Measure,
    pub dfs: Measure,
    /// Breadth-first through Stateright's `ActorModel` itself instead of the fast path.
    pub actor_model: Measure,
}

impl Row {
    pub fn time_ratio(&self) -> f64 {
        self.tlc.seconds / self.bfs.seconds.max(1e-9)
    }
    pub fn memory_ratio(&self) -> f64 {
        self.tlc.peak_memory_bytes as f64 / (self.bfs.peak_memory_bytes.max(1) as f64)
    }
    pub fn dfs_time_ratio(&self) -> f64 {
        self.tlc.seconds / self.dfs.seconds.max(1e-9)
    }
    /// TLC, the fast path and the actor model found the same distinct and generated states.
    pub fn equal_counts(&self) -> bool {
        let counts = |m: &Measure| (m.distinct_states, m.generated_states);
        counts(&self.tlc) == counts(&self.bfs) && counts(&self.bfs) == counts(&self.actor_model)
    }
    pub fn actor_model_time_ratio(&self) -> f64 {
        self.tlc.seconds / self.actor_model.seconds.max(1e-9)
    }
    fn to_json(&self) -> Value {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        json!({
            "model": self.job_name,
            "family": self.family,
            "tlc": self.tlc.to_json(),
            "stateright": self.bfs.to_json(),
            "stateright_dfs": self.dfs.to_json(),
            "stateright_actor_model": self.actor_model.to_json(),
            "equal_counts": self.equal_counts(),
            "ratio": {
                "seconds": r(self.time_ratio()),
                "peak_memory": r(self.memory_ratio()),
                "seconds_dfs": r(self.dfs_time_ratio()),
                "seconds_actor_model": r(self.actor_model_time_ratio()),
            },
        })
    }
}

/// Benchmarks `jobs`, `runs` times each, alternating the checkers; `done` gets each model
/// file's row as soon as its last run is over (so that an interrupted benchmark keeps them).
pub fn run(jobs: &[Job], tlc: &Tlc, runs: usize, mut done: impl FnMut(&Row)) -> Result<Vec<Row>, Failure> {
    let mut measured: Vec<[Vec<Measure>; 4]> = jobs.iter().map(|_| Default::default()).collect();
    let mut rows = Vec::new();
    for r in 0..runs {
        for (job, m) in jobs.iter().zip(&mut measured) {
            progress(&format!("run {}/{runs}: {}: TLC", r + 1, job.name));
            // Ctrl-C stops TLC's run too: that is an interruption, not a broken TLC.
            let interrupted = |e| if crate::core::cancel::interrupted() { Failure::interrupted() } else { Failure::from(e) };
            m[0].push(tlc.bench(&job.spec, &job.model).map_err(interrupted)?);
            progress(&format!("run {}/{runs}: {}: Stateright BFS", r + 1, job.name));
            m[1].push(stateright(job, 2, &[])?);
            progress(&format!("run {}/{runs}: {}: Stateright DFS", r + 1, job.name));
            m[2].push(stateright(job, 2, &["--dfs"])?);
            progress(&format!("run {}/{runs}: {}: Stateright BFS, ActorModel", r + 1, job.name));
            m[3].push(stateright(job, 2, &["--actor-model"])?);
            if r + 1 == runs {
                let [t, b, d, a] = std::mem::take(m);
                let row = Row {
                    job_name: job.name.clone(),
                    family: job.family.id().to_string(),
                    tlc: Measure::median(t),
                    bfs: Measure::median(b),
                    dfs: Measure::median(d),
                    actor_model: Measure::median(a),
                };
                done(&row);
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The table `exactly bench` prints.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "model", "distinct/generated", "TLC s", "TLC RSS", "SR BFS s", "SR RSS", "time TLC/SR", "RSS TLC/SR", "SR DFS s", "time TLC/DFS",
        "AM BFS s", "time TLC/AM", "B/state TLC", "BFS", "DFS", "states/s TLC", "BFS", "DFS",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let counts = if r.equal_counts() {
            format!("{}/{}", r.tlc.distinct_states, r.tlc.generated_states)
        } else {
            let c = |m: &Measure| format!("{}/{}", m.distinct_states, m.generated_states);
            format!("differ: TLC {} SR {} AM {}", c(&r.tlc), c(&r.bfs), c(&r.actor_model))
        };
        cells.push(vec![
            r.job_name.clone(),
            counts,
            format!("{:.1}", r.tlc.seconds),
            mib(r.tlc.peak_memory_bytes),
            format!("{:.1}", r.bfs.seconds),
            mib(r.bfs.peak_memory_bytes),
            format!("{:.1}x", r.time_ratio()),
            format!("{:.1}x", r.memory_ratio()),
            format!("{:.1}", r.dfs.seconds),
            format!("{:.1}x", r.dfs_time_ratio()),
            format!("{:.1}", r.actor_model.seconds),
            format!("{:.1}x", r.actor_model_time_ratio()),
            format!("{:.0}", r.tlc.bytes_per_state()),
            format!("{:.0}", r.bfs.bytes_per_state()),
            format!("{:.0}", r.dfs.bytes_per_state()),
            format!("{:.0}", r.tlc.states_per_second()),
            format!("{:.0}", r.bfs.states_per_second()),
            format!("{:.0}", r.dfs.states_per_second()),
        ]);
    }
    let widths: Vec<usize> = (0..header.len()).map(|i| cells.iter().map(|row| row[i].len()).max().unwrap_or(0)).collect();
    cells
        .iter()
        .map(|row| row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string() + "\n")
        .collect()
}

/// The results as JSON: `{"results": [...]}` plus how they were taken.
pub fn to_json(rows: &[Row], runs: usize) -> Value {
    json!({
        "results": rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        "runs": runs,
        "method": "median of the runs; TLC: one run, -workers 2, breadth-first, invariants only, no -continue; Stateright: `exactly check --threads 2` breadth-first, and with --dfs (the fast path), and breadth-first with --actor-model (Stateright's ActorModel itself); each checker its own process, runs alternating; seconds are wall time of the process, peak_memory_bytes its peak resident set",
        "machine": machine(),
    })
}

fn machine() -> Value {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kib| kib * 1024);
    json!({"cores": cores, "memory_bytes": mem})
}

/// Merges `new` into earlier results (by model), so that benchmarking one family keeps the
/// others' rows.
pub fn merge(earlier: Option<Value>, new: Value) -> Value {
    let Some(mut earlier) = earlier.filter(|e| e["results"].is_array()) else { return new };
    let mut results: Vec<Value> = earlier["results"].as_array().cloned().unwrap_or_default();
    for r in new["results"].as_array().into_iter().flatten() {
        match results.iter_mut().find(|e| e["model"] == r["model"]) {
            Some(e) => *e = r.clone(),
            None => results.push(r.clone()),
        }
    }
    results.sort_by(|a, b| a["model"].as_str().cmp(&b["model"].as_str()));
    earlier["results"] = Value::Array(results);
    for k in ["runs", "method", "machine"] {
        earlier[k] = new[k].clone();
    }
    earlier
}

/// A small SVG chart of the results: per model file, how many times faster Stateright (BFS,
/// 2 threads) was than TLC, and how many times less memory it took, on log scales with the
/// targets (10x, 5x) marked.
pub fn chart(results: &Value) -> String {
    let rows: Vec<(String, f64, f64)> = results["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let name = r["model"].as_str().unwrap_or("?").trim_start_matches("models/").trim_end_matches(".cfg").to_string();
            (name, r["ratio"]["seconds"].as_f64().unwrap_or(0.0), r["ratio"]["peak_memory"].as_f64().unwrap_or(0.0))
        })
        .collect();
    let (label_w, panel_w, row_h, top) = (300.0, 260.0, 22.0, 48.0);
    let width = label_w + 2.0 * panel_w + 40.0;
    let height = top + row_h * rows.len() as f64 + 30.0;
    // Log scale from 0.5x to 50x.
    let (lo, hi) = (0.5f64.ln(), 50f64.ln());
    let x = |panel: usize, v: f64| {
        let f = (v.clamp(0.5, 50.0).ln() - lo) / (hi - lo);
        label_w + panel as f64 * (panel_w + 20.0) + f * panel_w
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"16\" font-weight=\"bold\">TLC time / Stateright time</text>\n\
         <text x=\"{}\" y=\"16\" font-weight=\"bold\">TLC memory / Stateright memory</text>\n",
        label_w,
        label_w + panel_w + 20.0
    );
    for (panel, target) in [(0usize, 10.0), (1, 5.0)] {
        for tick in [1.0, 2.0, 5.0, 10.0, 20.0, 50.0] {
            let tx = x(panel, tick);
            s.push_str(&format!(
                "<line x1=\"{tx:.1}\" y1=\"{}\" x2=\"{tx:.1}\" y2=\"{}\" stroke=\"#ddd\"/>\n<text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{tick}x</text>\n",
                top - 6.0,
                height - 24.0,
                top - 10.0
            ));
        }
        let tx = x(panel, target);
        s.push_str(&format!(
            "<line x1=\"{tx:.1}\" y1=\"{}\" x2=\"{tx:.1}\" y2=\"{}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n<text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#c00\">target {target}x</text>\n",
            top - 6.0,
            height - 24.0,
            height - 8.0
        ));
    }
    for (i, (name, t, m)) in rows.iter().enumerate() {
        let y = top + i as f64 * row_h;
        s.push_str(&format!("<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n", label_w - 8.0, y + 14.0, xml(name)));
        for (panel, v, target) in [(0usize, *t, 10.0), (1, *m, 5.0)] {
            let x0 = x(panel, 0.5);
            let w = (x(panel, v) - x0).max(1.0);
            let fill = if v >= target { "#2a7" } else { "#e93" };
            s.push_str(&format!(
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{} {v:.1}x</title></rect>\n<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\">{v:.1}x</text>\n",
                y + 3.0,
                row_h - 6.0,
                xml(name),
                x0 + w + 4.0,
                y + 14.0
            ));
        }
    }
    s.push_str("</svg>\n");
    s
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(model: &str, seconds: f64) -> Value {
        json!({"model": model, "ratio": {"seconds": seconds, "peak_memory": 6.0}})
    }

    #[test]
    fn merging_keeps_other_models_and_replaces_the_measured_ones() {
        let earlier = json!({"results": [row("models/a/bench-X.cfg", 2.0), row("models/b/bench-Y.cfg", 3.0)], "runs": 3});
        let new = json!({"results": [row("models/b/bench-Y.cfg", 9.0), row("models/c/bench-Z.cfg", 1.0)], "runs": 1, "method": "m", "machine": {}});
        let merged = merge(Some(earlier), new);
        let models: Vec<&str> = merged["results"].as_array().unwrap().iter().map(|r| r["model"].as_str().unwrap()).collect();
        assert_eq!(models, ["models/a/bench-X.cfg", "models/b/bench-Y.cfg", "models/c/bench-Z.cfg"]);
        assert_eq!(merged["results"][1]["ratio"]["seconds"], 9.0);
        assert_eq!(merged["runs"], 1);
    }

    #[test]
    fn the_chart_has_a_row_per_model_and_the_targets() {
        let svg = chart(&json!({"results": [row("models/a/bench-X.cfg", 12.0), row("models/b/<Y>.cfg", 0.1)]}));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(">a/bench-X<") && svg.contains("b/&lt;Y&gt;"));
        assert!(svg.contains("target 10x") && svg.contains("target 5x"));
        assert_eq!(svg.matches("<rect ").count(), 1 + 2 * 2, "background and two bars per model");
    }

    #[test]
    fn the_median_run_is_reported() {
        let m = |s: f64, mem: u64| Measure { distinct_states: 1, generated_states: 1, seconds: s, peak_memory_bytes: mem };
        let med = Measure::median(vec![m(3.0, 30), m(1.0, 10), m(2.0, 50)]);
        assert_eq!((med.seconds, med.peak_memory_bytes), (2.0, 30));
    }
}
