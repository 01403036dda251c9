//! The catalog on disk: model files (`models/<family>/*.cfg`), read and validated against their
//! family, with their expectations; the targets a command names; and the results store.

pub mod expect;
pub mod results;
pub mod validate;

use crate::core::cfg::{self, ModelFile, Value};
use crate::core::error::{usage, Failure};
use crate::core::vocab::{ConstType, Consts, PropertyDef};
use crate::families::{self, Family};
use crate::engine::tlc::Spec;
use expect::Expectation;
use std::path::{Path, PathBuf};

/// The catalog root: the folder with `specs/` and `models/` (`$EXACTLY_ROOT`, else the current
/// folder or one above it, else the crate's own folder).
pub fn root() -> PathBuf {
    if let Some(r) = std::env::var_os("EXACTLY_ROOT") {
        return PathBuf::from(r);
    }
    let is_root = |p: &Path| p.join("models").is_dir() && p.join("specs").is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(found) = cwd.ancestors().find(|p| is_root(p)) {
            return found.to_path_buf();
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A model file ready to check.
pub struct Job {
    pub family: &'static dyn Family,
    pub path: PathBuf,
    /// The path as shown: relative to the root where possible.
    pub name: String,
    pub model: ModelFile,
    pub consts: Consts,
    pub props: Vec<PropertyDef>,
    /// None when the file has none or constants were overridden.
    pub expectation: Option<Expectation>,
    pub overridden: bool,
    /// The family's TLA+ twin: `specs/` and `specs/<family>/`, and its module.
    pub spec: Spec,
}

/// What a command names: model files or family ids, or every model file (`--all`), with
/// constants overridden (`--const NAME=VALUE`).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub targets: Vec<String>,
    pub all: bool,
    pub consts: Vec<String>,
}

/// The TLA+ twin of `family` in the catalog at `root`.
pub fn spec(root: &Path, family: &dyn Family) -> Spec {
    Spec { dirs: vec![root.join("specs"), root.join("specs").join(family.id())], module: family.module().to_string() }
}

/// The model files of a family, sorted: the catalog's, which `--all` and `make run` check with
/// both checkers (neither benchmark nor claim files).
pub fn model_files(root: &Path, family: &dyn Family) -> Vec<PathBuf> {
    family_files(root, family, None)
}

/// A family's benchmark model files (`models/<family>/bench-*.cfg`): large, for `exactly bench`,
/// and left out of the catalog's runs.
pub fn bench_files(root: &Path, family: &dyn Family) -> Vec<PathBuf> {
    family_files(root, family, Some("bench-"))
}

/// A family's claim files (`models/<family>/claim-*.cfg`): its correct variant at a size where
/// concurrency, failures and duplicates meet, too large for TLC in `make test`: checked there by
/// Stateright, and by both checkers in `make deep`; left out of `--all`.
pub fn claim_files(root: &Path, family: &dyn Family) -> Vec<PathBuf> {
    family_files(root, family, Some("claim-"))
}

/// The prefixes that set a model file apart from the catalog's own.
const SET_APART: [&str; 2] = ["bench-", "claim-"];

fn family_files(root: &Path, family: &dyn Family, prefix: Option<&str>) -> Vec<PathBuf> {
    let kind = |p: &Path| -> Option<&'static str> {
        let name = p.file_name()?.to_string_lossy().into_owned();
        SET_APART.into_iter().find(|x| name.starts_with(x))
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("models").join(family.id()))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
                .filter(|p| kind(p) == prefix)
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

pub fn known_families() -> String {
    families::families().iter().map(|f| f.id()).collect::<Vec<_>>().join(", ")
}

/// Parses `--const NAME=VALUE` overrides.
pub fn parse_overrides(consts: &[String]) -> Result<Vec<(String, Value)>, Failure> {
    consts
        .iter()
        .map(|c| {
            let (name, value) = c
                .split_once('=')
                .ok_or_else(|| usage(format!("--const {c}: write NAME=VALUE, e.g. --const MaxFailures=2")))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(usage(format!("--const {c}: the constant's name is missing")));
            }
            let value = Value::parse(value.trim()).map_err(|e| usage(format!("--const {c}: {e}")))?;
            Ok((name.to_string(), value))
        })
        .collect()
}

/// Reads and validates one model file, applying the overrides.
pub fn load_job(root: &Path, path: &Path, overrides: &[(String, Value)]) -> Result<Job, Failure> {
    let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
    let meta = std::fs::metadata(path).map_err(|_| usage(format!("no model file {shown} (list them with `exactly list`)")))?;
    if meta.is_dir() {
        return Err(usage(format!("{shown} is a folder, not a model file")));
    }
    let family_id = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let family = families::find(&family_id).ok_or_else(|| {
        usage(format!(
            "{shown}: cannot tell its family: a model file lives in models/<family>/ (families: {})",
            known_families()
        ))
    })?;
    let bytes = std::fs::read(path).map_err(|e| usage(format!("cannot read {shown}: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|_| usage(format!("{shown}: not a text file")))?;
    let mut model = cfg::parse(&text).map_err(|e| usage(format!("{shown}: {e}")))?;
    for (name, value) in overrides {
        let def = family.constants().iter().find(|c| c.name == name).ok_or_else(|| {
            let known: Vec<_> = family.constants().iter().map(|c| c.name).collect();
            usage(format!("--const {name}: unknown constant for family {} (known: {})", family.id(), known.join(", ")))
        })?;
        // A variant may be given bare on the command line: --const Variant=GiveUp.
        let value = match (def.ty, value) {
            (ConstType::Variant, Value::ModelValue(s)) => Value::Str(s.clone()),
            _ => value.clone(),
        };
        model.set_constant(name, value);
    }
    let (consts, props) = validate::validate(family, &model).map_err(|e| {
        if overrides.is_empty() {
            usage(format!("{shown}: {e}"))
        } else {
            usage(format!("{shown} with --const: {e}"))
        }
    })?;
    let expectation = if overrides.is_empty() {
        expect::load(path).map_err(usage)?
    } else {
        None
    };
    Ok(Job { family, path: path.to_path_buf(), name: shown, model, consts, props, expectation, overridden: !overrides.is_empty(), spec: spec(root, family) })
}

/// Resolves targets (model files, family ids, `--all`) into jobs.
pub fn resolve(root: &Path, targets: &Selection) -> Result<Vec<Job>, Failure> {
    let overrides = parse_overrides(&targets.consts)?;
    let mut paths = Vec::new();
    if targets.all {
        if !targets.targets.is_empty() {
            return Err(usage("give either --all or targets, not both"));
        }
        for f in families::families() {
            paths.extend(model_files(root, f));
        }
    } else if targets.targets.is_empty() {
        return Err(usage(format!("name a model file, a family ({}) or --all", known_families())));
    }
    for t in &targets.targets {
        let as_path = PathBuf::from(t);
        if t.ends_with(".cfg") || t.contains('/') || as_path.exists() {
            paths.push(as_path);
        } else if let Some(f) = families::find(t) {
            let files = model_files(root, f);
            if files.is_empty() {
                return Err(usage(format!("family {t} has no model files in models/{t}/")));
            }
            paths.extend(files);
        } else {
            return Err(usage(format!("unknown family or model file {t} (families: {})", known_families())));
        }
    }
    paths.iter().map(|p| load_job(root, p, &overrides)).collect()
}

pub fn variant(job: &Job) -> String {
    job.consts.0.get("Variant").map(|v| match v {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }).unwrap_or_default()
}
