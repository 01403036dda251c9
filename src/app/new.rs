//! `exactly new <id>`: the skeleton of a new family, written into the source tree: the Rust twin
//! (registered in the catalog), the TLA+ twin, a correct and a broken variant's model files with
//! their expectations, and a README. After a rebuild, `exactly compare <id>` passes: both checkers
//! pass the correct variant and refute the broken one.

use std::path::{Path, PathBuf};

const FAMILY_RS: &str = include_str!("../../templates/new/family.rs");
const SPEC_TLA: &str = include_str!("../../templates/new/Spec.tla");
const README_MD: &str = include_str!("../../templates/new/README.md");
const MODELS: &[(&str, &str)] = &[
    ("Correct.cfg", include_str!("../../templates/new/Correct.cfg")),
    ("Correct.expect.json", include_str!("../../templates/new/Correct.expect.json")),
    ("SendThenUpdate.cfg", include_str!("../../templates/new/SendThenUpdate.cfg")),
    ("SendThenUpdate.expect.json", include_str!("../../templates/new/SendThenUpdate.expect.json")),
];

/// Where `exactly new` registers a family: the line of the registry (`for_each_family!` in
/// `src/families/mod.rs`) it inserts before. The registry declares the family's module, lists it
/// in the catalog and in the per-family tests.
pub const MARKER: &str = "// `exactly new` registers families above this line.";

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn", "for",
    "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "try", "type", "unsafe", "use", "where", "while", "abstract", "become", "box",
    "do", "final", "macro", "override", "priv", "typeof", "unsized", "virtual", "yield", "ledger", "situations", "world_family",
];

/// The names of a family id in each place it appears.
struct Names {
    id: String,
    ident: String,
    module: String,
    statik: String,
}

impl Names {
    fn of(id: &str) -> Result<Names, String> {
        let well_formed = !id.is_empty()
            && id.len() <= 40
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.ends_with('-')
            && !id.contains("--");
        if !well_formed {
            return Err(format!(
                "family id {id:?} is not valid: use lowercase letters, digits and single hyphens, starting with a letter (e.g. `my-dedup`)"
            ));
        }
        let ident = id.replace('-', "_");
        if RUST_KEYWORDS.contains(&ident.as_str()) {
            return Err(format!("family id {id:?} is a reserved word in Rust or a module of the catalog; choose another"));
        }
        let module: String = id
            .split('-')
            .map(|part| {
                let mut c = part.chars();
                c.next().map_or(String::new(), |f| f.to_ascii_uppercase().to_string() + c.as_str())
            })
            .collect();
        Ok(Names { id: id.into(), statik: ident.to_ascii_uppercase(), ident, module })
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("__ID__", &self.id)
            .replace("__IDENT__", &self.ident)
            .replace("__MODULE__", &self.module)
            .replace("__TYPE__", &self.module)
            .replace("__STATIC__", &self.statik)
    }
}

/// Writes the skeleton of family `id` under `root` (a source tree) and its one line in the
/// registry. Returns the files written. Nothing is written when anything is wrong (bad id, not a
/// source tree, the family exists).
pub fn new_family(root: &Path, id: &str) -> Result<Vec<PathBuf>, String> {
    let names = Names::of(id)?;
    let registry = root.join("src/families/mod.rs");
    let text = std::fs::read_to_string(&registry).map_err(|_| {
        format!(
            "`exactly new` writes into the source tree, and {} has no src/families/mod.rs (run it in a clone of exactly, or set EXACTLY_ROOT)",
            root.display()
        )
    })?;
    if !text.contains(MARKER) {
        return Err(format!("{} has no line `{MARKER}`: cannot register the family", registry.display()));
    }
    let entry = format!("{}: {},", names.ident, names.statik);
    if crate::families::find(id).is_some() || text.lines().any(|l| l.trim() == entry) {
        return Err(format!("family {id} already exists"));
    }
    let files: Vec<(PathBuf, String)> = [
        (root.join(format!("src/families/{}.rs", names.ident)), names.fill(FAMILY_RS)),
        (root.join(format!("specs/{id}/{}.tla", names.module)), names.fill(SPEC_TLA)),
        (root.join(format!("specs/{id}/README.md")), names.fill(README_MD)),
    ]
    .into_iter()
    .chain(MODELS.iter().map(|(f, t)| (root.join(format!("models/{id}/{f}")), names.fill(t))))
    .collect();
    for (p, _) in &files {
        if p.exists() {
            return Err(format!("{} already exists; remove it or choose another id", p.display()));
        }
    }
    let io = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    for (p, text) in &files {
        std::fs::create_dir_all(p.parent().unwrap()).map_err(|e| io(p, e))?;
        std::fs::write(p, text).map_err(|e| io(p, e))?;
    }
    let registered = text.replacen(MARKER, &format!("{entry}\n            {MARKER}"), 1);
    std::fs::write(&registry, registered).map_err(|e| io(&registry, e))?;
    let mut written: Vec<PathBuf> = files.into_iter().map(|(p, _)| p).collect();
    written.push(registry);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_an_id() {
        let n = Names::of("my-dedup2").unwrap();
        assert_eq!((n.ident.as_str(), n.module.as_str(), n.statik.as_str()), ("my_dedup2", "MyDedup2", "MY_DEDUP2"));
        for bad in ["", "Demo", "1x", "a--b", "a-", "a_b", "type", "ledger", "x y"] {
            assert!(Names::of(bad).is_err(), "{bad}");
        }
    }
}
