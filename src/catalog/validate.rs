//! Checking a model file against its family: every constant declared, assigned and in range,
//! every property known and listed under its kind, symmetry only where the family allows it.

use crate::core::cfg::{ModelFile, Value};
use crate::core::vocab::{ConstDef, ConstType, Consts, Kind, PropertyDef};
use crate::families::Family;
use std::collections::BTreeMap;

/// Checks a model file's constants and property names against the family's declarations.
pub fn validate(family: &dyn Family, mf: &ModelFile) -> Result<(Consts, Vec<PropertyDef>), String> {
    let known_consts = || family.constants().iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
    let mut consts = BTreeMap::new();
    for (name, value) in &mf.constants {
        let Some(def) = family.constants().iter().find(|c| c.name == name) else {
            return Err(format!("unknown constant {name} for family {} (known: {})", family.id(), known_consts()));
        };
        check_value(family, def, value)?;
        consts.insert(name.clone(), value.clone());
    }
    for def in family.constants() {
        if !consts.contains_key(def.name) {
            return Err(format!("constant {} is not assigned (family {} needs: {})", def.name, family.id(), known_consts()));
        }
    }
    if let Some(spec) = &mf.specification {
        if spec != "Spec" {
            return Err(format!("SPECIFICATION {spec}: model files check the family's Spec (write SPECIFICATION Spec)"));
        }
    } else {
        return Err("the model file has no SPECIFICATION line (write SPECIFICATION Spec)".into());
    }
    let known_props = |kind: Kind| {
        family.properties().iter().filter(|p| p.kind == kind).map(|p| p.name).collect::<Vec<_>>().join(", ")
    };
    let mut props = Vec::new();
    for (names, kind, place) in [
        (&mf.invariants, Kind::Invariant, "INVARIANT"),
        (&mf.properties, Kind::Liveness, "PROPERTY"),
        (&mf.sometimes, Kind::Sometimes, "SOMETIMES"),
    ] {
        for name in names {
            match family.properties().into_iter().find(|p| p.name == name) {
                Some(def) if def.kind == kind => props.push(def),
                Some(def) => {
                    return Err(format!("{name} is {} and cannot be listed under {place}", kind_phrase(def.kind)))
                }
                None => {
                    return Err(format!(
                        "unknown {place} {name} for family {} (known: {})",
                        family.id(),
                        known_props(kind)
                    ))
                }
            }
        }
    }
    if props.is_empty() {
        return Err("the model file names no property to check".into());
    }
    if mf.symmetry.is_some() && !family.symmetric() {
        return Err(format!(
            "family {} does not support SYMMETRY: it does not declare its handlers interchangeable (WorldFamily::SYMMETRIC; fresh ids, for one, name handlers); remove the SYMMETRY line",
            family.id()
        ));
    }
    Ok((Consts(consts, mf.symmetry.is_some()), props))
}

fn kind_phrase(kind: Kind) -> &'static str {
    match kind {
        Kind::Invariant => "an invariant (INVARIANT)",
        Kind::Liveness => "a liveness property (PROPERTY)",
        Kind::Sometimes => "a non-vacuity check (\\* SOMETIMES)",
    }
}

fn check_value(family: &dyn Family, def: &ConstDef, value: &Value) -> Result<(), String> {
    let name = def.name;
    match (def.ty, value) {
        (ConstType::Int { min, max }, Value::Int(i)) => {
            if *i < min || *i > max {
                return Err(format!("{name} = {i} is out of range: {name} takes {min} to {max}"));
            }
        }
        (ConstType::ModelValues { max }, Value::Set(items)) => {
            if items.is_empty() || items.len() > max {
                return Err(format!("{name} takes 1 to {max} model values, found {}", items.len()));
            }
            if let Some(bad) = items.iter().find(|v| !matches!(v, Value::ModelValue(_))) {
                return Err(format!("{name} takes model values such as {{h1, h2}}, found {bad}"));
            }
        }
        (ConstType::Variant, Value::Str(s)) => {
            if !family.variants().contains(&s.as_str()) {
                return Err(format!(
                    "unknown variant \"{s}\" for family {} (known: {})",
                    family.id(),
                    family.variants().join(", ")
                ));
            }
        }
        (ConstType::Variant, Value::ModelValue(s)) => {
            return Err(format!("{name} is a string: write {name} = \"{s}\""));
        }
        (ty, v) => {
            let want = match ty {
                ConstType::Int { .. } => "an integer",
                ConstType::ModelValues { .. } => "a set of model values",
                ConstType::Variant => "a string",
            };
            return Err(format!("{name} takes {want}, found {} ({v})", v.kind()));
        }
    }
    Ok(())
}
