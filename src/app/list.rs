//! `exactly list`.

use crate::core::error::code;
use crate::catalog;
use crate::families;
use serde_json::json;
use std::path::Path;

/// `exactly list`: the families, their variants and model files.
pub fn list(root: &Path, json_out: bool) -> i32 {
    let fams: Vec<_> = families::families()
        .into_iter()
        .map(|f| {
            let models: Vec<String> = catalog::model_files(root, f)
                .iter()
                .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
                .collect();
            (f, models)
        })
        .collect();
    if json_out {
        let v: Vec<_> = fams
            .iter()
            .map(|(f, m)| json!({"id": f.id(), "summary": f.summary(), "variants": f.variants(), "models": m}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({"families": v})).unwrap());
    } else {
        for (f, models) in fams {
            println!("{}: {}", f.id(), f.summary());
            println!("  variants: {}", f.variants().join(", "));
            for m in models {
                println!("  {m}");
            }
        }
    }
    code::OK
}
