//! Attributes: what a CI may hold, each with its value type, choices and uniqueness.

use serde_json::Value;
use wire::cmdb as w;

use super::{attr_not_found, catalog, Cmdb};
use crate::error::Error;
use crate::model::{check_attr_name, scalar_text, Catalog, Typed, ValueType};
use crate::store::{self, AttrFields, AttrRow};

/// Attribute fields as given; absent ones keep their current (or default) value.
#[derive(Debug, Clone, Default)]
pub struct AttrInput {
    pub name: Option<String>,
    pub alias: Option<String>,
    pub value_type: Option<String>,
    pub is_choice: Option<bool>,
    /// A JSON list, or text split on commas.
    pub choice_value: Option<Value>,
    pub is_multivalue: Option<bool>,
    pub is_uniq: Option<bool>,
}

impl Cmdb {
    // ---- attributes ----

    pub async fn list_attributes(&self, q: Option<String>) -> Result<w::AttributeList, Error> {
        self.db
            .read(move |conn| {
                let attrs: Vec<w::Attribute> = store::all_attributes(conn)?
                    .iter()
                    .filter(|a| match &q {
                        Some(q) if !q.is_empty() => {
                            a.name.contains(q.as_str()) || a.alias.contains(q.as_str())
                        }
                        _ => true,
                    })
                    .map(AttrRow::to_wire)
                    .collect();
                Ok(w::AttributeList {
                    numfound: attrs.len() as i64,
                    attributes: attrs,
                })
            })
            .await
    }

    pub async fn attribute(&self, key: String) -> Result<w::AttributeOne, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                let attr = cat.attr(&key).ok_or_else(|| attr_not_found(&key))?;
                Ok(w::AttributeOne {
                    attribute: attr.to_wire(),
                })
            })
            .await
    }

    pub async fn add_attribute(&self, input: AttrInput) -> Result<w::AttrId, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let fields = attr_fields(&input, None)?;
                check_names_free(&cat, &fields, None)?;
                let id = store::insert_attribute(conn, &fields)
                    .map_err(|e| Error::already_exists(e, || attr_taken(&fields)))?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::AttrId { attr_id: id })
            })
            .await
    }

    pub async fn update_attribute(&self, id: i64, input: AttrInput) -> Result<w::AttrId, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let current = cat
                    .attr_by_id(id)
                    .ok_or_else(|| attr_not_found(&id.to_string()))?
                    .clone();
                let fields = attr_fields(&input, Some(&current))?;
                check_names_free(&cat, &fields, Some(id))?;
                let reshaped = fields.value_type != current.value_type
                    || fields.is_multivalue != current.is_multivalue
                    || fields.is_uniq != current.is_uniq;
                if reshaped && store::count_values(conn, &current)? > 0 {
                    return Err(Error::BadArgument(format!(
                        "attribute `{}` has values: its value_type, is_multivalue and is_uniq can no longer change",
                        current.name
                    )));
                }
                if !fields.is_uniq {
                    if let Some(t) = cat.types.iter().find(|t| t.unique_attr_id == id) {
                        return Err(Error::BadArgument(format!(
                            "invalid parameter `is_uniq`: attribute `{}` is the unique key of citype `{}`",
                            current.name, t.name
                        )));
                    }
                }
                store::update_attribute(conn, id, &fields)
                    .map_err(|e| Error::already_exists(e, || attr_taken(&fields)))?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::AttrId { attr_id: id })
            })
            .await
    }

    pub async fn delete_attribute(&self, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let attr = cat
                    .attr_by_id(id)
                    .ok_or_else(|| attr_not_found(&id.to_string()))?;
                if let Some(t) = cat.types.iter().find(|t| t.unique_attr_id == id) {
                    return Err(Error::BadArgument(format!(
                        "attribute `{}` is the unique key of citype `{}`: change or delete the citype first",
                        attr.name, t.name
                    )));
                }
                store::delete_attribute(conn, id)?;
                // Every CI may have lost values: searches rebuild rather than reload them all
                // (which reads the catalog again too).
                store::log_changes(conn, &[store::REBUILD])?;
                Ok(w::Message {
                    message: format!("attribute {} deleted", attr.name),
                })
            })
            .await
    }
}

fn attr_fields(input: &AttrInput, current: Option<&AttrRow>) -> Result<AttrFields, Error> {
    // Before trimming: a name given with a control character is refused, not cleaned.
    for (field, given) in [("attr_name", &input.name), ("attr_alias", &input.alias)] {
        if let Some(text) = given {
            kit::text::check_line(field, text)?;
        }
    }
    let name = match (&input.name, current) {
        (Some(n), _) => n.trim().to_string(),
        (None, Some(c)) => c.name.clone(),
        (None, None) => return Err(Error::BadArgument("missing parameter `attr_name`".into())),
    };
    check_attr_name("attr_name", &name)?;
    let alias = match (&input.alias, current) {
        (Some(a), _) if !a.trim().is_empty() => a.trim().to_string(),
        (Some(_), _) => name.clone(),
        (None, Some(c)) if c.alias != c.name => c.alias.clone(),
        (None, _) => name.clone(),
    };
    check_attr_name("attr_alias", &alias)?;
    let value_type = match (&input.value_type, current) {
        (Some(t), _) => ValueType::parse(t.trim()).ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `value_type`: `{t}` is not one of text, int, float, date"
            ))
        })?,
        (None, Some(c)) => c.value_type,
        (None, None) => ValueType::Text,
    };
    let choices: Vec<Value> = match &input.choice_value {
        Some(v) => {
            let raws: Vec<String> = match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        scalar_text(i).ok_or_else(|| {
                            Error::BadArgument(
                                "invalid parameter `choice_value`: a list of values".into(),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
                other => scalar_text(other)
                    .unwrap_or_default()
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            };
            raws.iter()
                .map(|raw| {
                    // A choice is a value a CI may hold: the same rule as CI values.
                    kit::text::check_multiline("choice_value", raw)?;
                    Typed::parse(value_type, raw)
                        .map(|t| t.to_json())
                        .map_err(|r| {
                            Error::BadArgument(format!("invalid parameter `choice_value`: {r}"))
                        })
                })
                .collect::<Result<_, _>>()?
        }
        None => current.map(AttrRow::choices).unwrap_or_default(),
    };
    let is_choice = input.is_choice.unwrap_or(!choices.is_empty());
    if is_choice && choices.is_empty() {
        return Err(Error::BadArgument(
            "missing parameter `choice_value`: a choice attribute needs its values".into(),
        ));
    }
    Ok(AttrFields {
        name,
        alias,
        value_type,
        is_choice,
        choice_value: Value::Array(choices).to_string(),
        is_multivalue: input
            .is_multivalue
            .or(current.map(|c| c.is_multivalue))
            .unwrap_or(false),
        is_uniq: input
            .is_uniq
            .or(current.map(|c| c.is_uniq))
            .unwrap_or(false),
    })
}

/// Names and aliases must stay unambiguous across all attributes (`q` resolves either).
fn check_names_free(cat: &Catalog, f: &AttrFields, except: Option<i64>) -> Result<(), Error> {
    for candidate in [&f.name, &f.alias] {
        if let Some(other) = cat
            .attrs
            .iter()
            .find(|a| Some(a.id) != except && (&a.name == candidate || &a.alias == candidate))
        {
            return Err(Error::Duplicate(format!(
                "attribute `{candidate}` already exists (attribute {} `{}`)",
                other.id, other.name
            )));
        }
    }
    Ok(())
}

/// The conflict when the database's unique keys refuse an attribute's name or alias.
fn attr_taken(f: &AttrFields) -> String {
    if f.name == f.alias {
        format!("attribute `{}` already exists", f.name)
    } else {
        format!(
            "attribute `{}` or `{}` already exists (as a name or an alias)",
            f.name, f.alias
        )
    }
}
