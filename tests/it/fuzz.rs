//! Property-based fuzzing of the two readers of outside text: the model-file reader and the
//! reader of TLC's `-tool` output. Whatever the input (random text, a token soup of the format,
//! a seed from `tests/corpus/` with random edits, a truncation), they return a value or a clean
//! error, never a panic; and a model file written back in TLC's syntax reads back the same.
//!
//! 256 cases per property by default; a long run: `PROPTEST_CASES=200000 cargo test --release
//! --test fuzz` (see the README).

use exactly::core::cfg::{self, ModelFile, Value};
use exactly::core::lexer::TextError;
use exactly::core::tla;
use exactly::engine::tlc;
use proptest::prelude::*;
use std::path::PathBuf;

fn corpus(kind: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(kind);
    let mut seeds: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One random edit of a text: delete a span, insert text, or cut the text short.
#[derive(Clone, Debug)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Truncate { at: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), "(\\PC|[\\n{}=,\"\\\\*()@!:])*").prop_map(|(at, text)| Edit::Insert { at, text }),
        any::<usize>().prop_map(|at| Edit::Truncate { at }),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match e {
            Edit::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Edit::Insert { at, text } => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, text.chars());
            }
            Edit::Truncate { at } => chars.truncate(at % n),
        }
    }
    chars.into_iter().collect()
}

/// Pieces of the model-file language, glued at random.
fn cfg_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "SPECIFICATION", "CONSTANT", "CONSTANTS", "INVARIANT", "INVARIANTS", "PROPERTY", "PROPERTIES",
            "SYMMETRY", "INIT", "TRUE", "FALSE", "=", "{", "}", ",", "\\*", "(*", "*)", "\"", "<-",
            "\\* SOMETIMES", "\n", " ", "-",
        ])
        .prop_map(str::to_string),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        "-?[0-9]{1,22}",
        "\"([^\"\\\\]|\\\\.){0,6}\"",
    ]
}

fn tlc_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "@!@!@STARTMSG ", "@!@!@ENDMSG ", " @!@!@", "2199:0", "2110:1", "2107:1", "2217:4", "2200:0", "1000:1",
            "Invariant ", " is violated.", " states generated, ", " distinct states found", "\n", ":", ",",
        ])
        .prop_map(str::to_string),
        "[0-9,]{1,12}",
        "[A-Za-z ]{1,10}",
    ]
}

fn rc() -> impl Strategy<Value = Option<i32>> {
    prop::sample::select(vec![None, Some(0), Some(1), Some(12), Some(13), Some(75), Some(150), Some(151), Some(255)])
}

fn model_file() -> impl Strategy<Value = ModelFile> {
    let leaf = prop_oneof![
        (-1000i64..1000).prop_map(Value::Int),
        "[ -~]{0,8}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        "m[a-z0-9_]{0,5}".prop_map(Value::ModelValue),
    ];
    let value = leaf.prop_recursive(2, 8, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(|mut items| {
            items.sort();
            items.dedup();
            Value::Set(items)
        })
    });
    let name = "[A-Z][A-Za-z0-9_]{0,8}".prop_filter("not a keyword", |n| {
        !["SPECIFICATION", "CONSTANT", "CONSTANTS", "INVARIANT", "INVARIANTS", "PROPERTY", "PROPERTIES", "SYMMETRY", "TRUE", "FALSE", "INIT", "NEXT", "VIEW", "TYPE", "ALIAS"]
            .iter()
            .any(|k| k.starts_with(n.as_str()) && k.len() == n.len())
            && !n.starts_with("CONSTRAINT")
            && !n.starts_with("ACTION_CONSTRAINT")
            && !n.starts_with("TYPE_CONSTRAINT")
            && !n.starts_with("POSTCONDITION")
            && !n.starts_with("CHECK_DEADLOCK")
    });
    (
        prop::collection::btree_map(name.clone(), value, 0..5),
        prop::collection::btree_set(name.clone(), 0..4),
        prop::collection::btree_set(name, 0..3),
    )
        .prop_map(|(consts, invs, props)| ModelFile {
            specification: Some("Spec".into()),
            constants: consts.into_iter().collect(),
            invariants: invs.into_iter().collect(),
            properties: props.into_iter().collect(),
            sometimes: vec![],
            symmetry: None,
        })
}

/// What the README promises of every reader error: one line that says where, a line and a
/// column inside `text` (or just past its end), and what was wrong.
fn says_where(text: &str, e: &TextError) -> Result<(), TestCaseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(e.line >= 1 && e.line <= lines.len(), "line {} of {}: {e}", e.line, lines.len());
    let width = lines[e.line - 1].chars().count();
    prop_assert!(e.column >= 1 && e.column <= width + 1, "column {} of a line of {width}: {e}", e.column);
    let shown = e.to_string();
    prop_assert!(shown.starts_with(&format!("line {}, column {}: ", e.line, e.column)), "{shown}");
    prop_assert!(!e.message.is_empty() && !shown.contains('\n'), "{shown:?}");
    Ok(())
}

proptest! {
    #[test]
    fn the_model_file_reader_says_where_on_random_text(text in "\\PC*") {
        if let Err(e) = cfg::parse(&text) {
            says_where(&text, &e)?;
        }
        let _ = Value::parse(&text);
    }

    #[test]
    fn the_model_file_reader_says_where_on_a_token_soup(tokens in prop::collection::vec(cfg_token(), 0..40)) {
        let text = tokens.join(" ");
        if let Err(e) = cfg::parse(&text) {
            says_where(&text, &e)?;
        }
        let _ = Value::parse(&text);
    }

    #[test]
    fn the_model_file_reader_says_where_on_edited_seeds(
        seed in prop::sample::select(corpus("cfg")),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let text = apply(&seed, &edits);
        if let Err(e) = cfg::parse(&text) {
            says_where(&text, &e)?;
        }
    }

    #[test]
    fn a_model_file_reads_back_what_was_written(mf in model_file()) {
        let text = mf.to_tlc_cfg(&mf.invariants, &mf.properties);
        let again = cfg::parse(&text);
        prop_assert!(again.is_ok(), "{text}\n{again:?}");
        let again = again.unwrap();
        prop_assert_eq!(&again.constants, &mf.constants, "{}", text);
        prop_assert_eq!(&again.invariants, &mf.invariants);
        prop_assert_eq!(&again.properties, &mf.properties);
    }

    #[test]
    fn the_tlc_output_reader_never_panics_on_random_text(text in "\\PC*", rc in rc(), err in "\\PC{0,40}") {
        let _ = tlc::messages(&text);
        let _ = tlc::read_run(rc, &text, &err);
    }

    #[test]
    fn the_tlc_output_reader_never_panics_on_a_token_soup(tokens in prop::collection::vec(tlc_token(), 0..60), rc in rc()) {
        let text = tokens.concat();
        let _ = tlc::read_run(rc, &text, "");
    }

    #[test]
    fn the_tlc_output_reader_never_panics_on_edited_real_output(
        seed in prop::sample::select(corpus("tlc")),
        edits in prop::collection::vec(edit(), 1..6),
        rc in rc(),
    ) {
        let text = apply(&seed, &edits);
        let _ = tlc::read_run(rc, &text, "");
    }
}

/// The texts of the trace states in the corpus of real TLC output.
fn trace_states() -> Vec<String> {
    corpus("tlc")
        .iter()
        .flat_map(|out| tlc::messages(out).into_iter().filter(|m| m.code == 2217).map(|m| m.text))
        .collect()
}

proptest! {
    #[test]
    fn the_tla_value_parser_says_where_on_random_text(text in "\\PC*") {
        for r in [tla::parse_value(&text).map(|_| ()), tla::parse_state(&text).map(|_| ())] {
            if let Err(e) = r {
                says_where(&text, &e)?;
            }
        }
        let _ = tla::parse_trace_state(&text);
    }

    #[test]
    fn the_tla_value_parser_says_where_on_edited_trace_states(
        seed in prop::sample::select(trace_states()),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let text = apply(&seed, &edits);
        if let Err(e) = tla::parse_trace_state(&text) {
            // The trace state's text starts after its leading newlines.
            says_where(text.trim_start_matches(['\n', '\r']), &e)?;
        }
    }

    #[test]
    fn the_tlc_trace_reader_names_the_trace_state(
        seed in prop::sample::select(corpus("tlc")),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let text = apply(&seed, &edits);
        let prop = exactly::core::vocab::PropertyDef { name: "P", kind: exactly::core::vocab::Kind::Invariant, doc: "" };
        if let Err(e) = tlc::parse_trace(&text, "m.cfg", &prop) {
            let e = e.to_string();
            prop_assert!(e.contains("trace state") || e.contains("printed no trace"), "{e}");
        }
    }

    #[test]
    fn a_printed_value_parses_back(v in tla_value()) {
        prop_assert_eq!(tla::parse_value(&v.to_string()), Ok(v));
    }
}

fn tla_value() -> impl Strategy<Value = tla::Value> {
    let leaf = prop_oneof![
        (-1000i64..1000).prop_map(tla::Value::Int),
        "[ -~]{0,6}".prop_map(tla::Value::Str),
        any::<bool>().prop_map(tla::Value::Bool),
        "[a-z][a-z0-9]{0,4}".prop_filter("not a boolean", |s| s != "TRUE" && s != "FALSE").prop_map(tla::Value::ModelValue),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(tla::Value::Seq),
            prop::collection::btree_set(inner.clone(), 0..4).prop_map(|s| tla::Value::Set(s.into_iter().collect())),
            prop::collection::btree_map("[a-z]{1,4}", inner.clone(), 1..4).prop_map(|m| tla::Value::Record(m.into_iter().collect())),
            prop::collection::btree_map(inner.clone(), inner, 1..4).prop_map(|m| tla::Value::Function(m.into_iter().collect())),
        ]
    })
}

/// The real outputs in the corpus read as what they are.
#[test]
fn the_corpus_of_real_tlc_output_reads_right() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tlc");
    let read = |f: &str, rc| tlc::read_run(rc, &std::fs::read_to_string(dir.join(f)).unwrap(), "");
    assert!(matches!(read("success.out", Some(0)), Ok(tlc::RunEnd::Complete { .. })));
    assert!(matches!(read("violation.out", Some(12)), Ok(tlc::RunEnd::InvariantViolated { ref name, .. }) if name == "NoLostMessages"));
    assert!(matches!(read("temporal.out", Some(13)), Ok(tlc::RunEnd::TemporalViolated { .. })));
    let err = read("parse-error.out", Some(150)).unwrap_err();
    assert!(err.0.contains("Bar"), "{err}");
    // Cut short anywhere, a run that claims success is an error, never a panic or a count.
    let full = std::fs::read_to_string(dir.join("success.out")).unwrap();
    let cut = full.find("states generated").unwrap();
    assert!(tlc::read_run(Some(0), &full[..cut], "").is_err());
    // Every state of the real traces parses.
    let states = trace_states();
    assert!(states.len() > 10);
    for s in &states {
        tla::parse_trace_state(s).unwrap_or_else(|e| panic!("{e}\n{s}"));
    }
}
