//! CI types and the attributes bound to them.

use serde_json::Value;
use wire::cmdb as w;

use super::{attr_not_found, catalog, type_not_found, Cmdb};
use crate::error::Error;
use crate::model::Catalog;
use crate::store::{self, TypeFields, TypeRow};

#[derive(Debug, Clone, Default)]
pub struct TypeInput {
    pub name: Option<String>,
    pub alias: Option<String>,
    /// `_id`: the unique attribute by id.
    pub unique_id: Option<i64>,
    /// `unique`: the unique attribute by name (or alias).
    pub unique: Option<String>,
    pub icon_url: Option<String>,
    pub enabled: Option<bool>,
}

impl Cmdb {
    // ---- the attributes of a CI type ----

    pub async fn type_attributes(&self, type_id: i64) -> Result<w::TypeAttributes, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(type_id)
                    .ok_or_else(|| type_not_found(type_id))?;
                let attributes = store::type_bindings(conn, type_id)?
                    .into_iter()
                    .filter_map(|(attr_id, is_required)| {
                        cat.attr_by_id(attr_id).map(|a| w::TypeAttribute {
                            attribute: a.to_wire(),
                            is_required,
                        })
                    })
                    .collect();
                Ok(w::TypeAttributes {
                    type_id,
                    attributes,
                })
            })
            .await
    }

    pub async fn bind_attributes(
        &self,
        type_id: i64,
        attr_ids: Vec<i64>,
        required: bool,
    ) -> Result<w::AttrIds, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(type_id)
                    .ok_or_else(|| type_not_found(type_id))?;
                for id in &attr_ids {
                    cat.attr_by_id(*id)
                        .ok_or_else(|| attr_not_found(&id.to_string()))?;
                    store::bind(conn, type_id, *id, required).map_err(|e| {
                        Error::already_exists(e, || {
                            format!("attribute {id} is already bound to citype {type_id} (by a concurrent request)")
                        })
                    })?;
                }
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::AttrIds {
                    attributes: attr_ids,
                })
            })
            .await
    }

    pub async fn unbind_attributes(
        &self,
        type_id: i64,
        attr_ids: Vec<i64>,
    ) -> Result<w::AttrIds, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let ty = cat
                    .type_by_id(type_id)
                    .ok_or_else(|| type_not_found(type_id))?;
                for id in &attr_ids {
                    let attr = cat
                        .attr_by_id(*id)
                        .ok_or_else(|| attr_not_found(&id.to_string()))?;
                    if ty.unique_attr_id == *id {
                        return Err(Error::BadArgument(format!(
                            "invalid parameter `attr_id`: `{}` is the unique key of citype `{}`",
                            attr.name, ty.name
                        )));
                    }
                    if store::unbind(conn, type_id, *id)? == 0 {
                        return Err(Error::NotFound(format!(
                            "attribute `{}` is not an attribute of citype `{}`",
                            attr.name, ty.name
                        )));
                    }
                }
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::AttrIds {
                    attributes: attr_ids,
                })
            })
            .await
    }

    // ---- CI types ----

    pub async fn list_types(&self, name: Option<String>) -> Result<w::CiTypeList, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                let citypes: Vec<w::CiType> = cat
                    .types
                    .iter()
                    .filter(|t| match &name {
                        Some(n) if !n.is_empty() => {
                            t.name.contains(n.as_str()) || t.alias.contains(n.as_str())
                        }
                        _ => true,
                    })
                    .map(|t| type_to_wire(&cat, t, true))
                    .collect();
                Ok(w::CiTypeList {
                    numfound: citypes.len() as i64,
                    citypes,
                })
            })
            .await
    }

    pub async fn query_type(&self, key: String) -> Result<w::CiTypeOne, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                let t = cat
                    .ci_type(&key)
                    .ok_or_else(|| Error::NotFound(format!("citype `{key}` is not found")))?;
                Ok(w::CiTypeOne {
                    citype: type_to_wire(&cat, t, false),
                })
            })
            .await
    }

    pub async fn add_type(&self, input: TypeInput) -> Result<w::TypeId, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let fields = type_fields(&cat, &input, None)?;
                if cat.types.iter().any(|t| t.name == fields.name) {
                    return Err(Error::Duplicate(type_taken(&fields.name)));
                }
                let id = store::insert_type(conn, &fields)
                    .map_err(|e| Error::already_exists(e, || type_taken(&fields.name)))?;
                // The unique attribute is an attribute of the type, and required.
                store::bind(conn, id, fields.unique_attr_id, true)?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::TypeId { type_id: id })
            })
            .await
    }

    pub async fn update_type(&self, id: i64, input: TypeInput) -> Result<w::TypeId, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let current = cat
                    .type_by_id(id)
                    .ok_or_else(|| type_not_found(id))?
                    .clone();
                let fields = type_fields(&cat, &input, Some(&current))?;
                if cat
                    .types
                    .iter()
                    .any(|t| t.name == fields.name && t.id != id)
                {
                    return Err(Error::Duplicate(type_taken(&fields.name)));
                }
                store::update_type(conn, id, &fields)
                    .map_err(|e| Error::already_exists(e, || type_taken(&fields.name)))?;
                store::bind(conn, id, fields.unique_attr_id, true)?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::TypeId { type_id: id })
            })
            .await
    }

    pub async fn set_type_enabled(&self, id: i64, enabled: bool) -> Result<w::TypeId, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let current = cat.type_by_id(id).ok_or_else(|| type_not_found(id))?;
                let fields = TypeFields {
                    name: current.name.clone(),
                    alias: current.alias.clone(),
                    unique_attr_id: current.unique_attr_id,
                    icon_url: current.icon_url.clone(),
                    enabled,
                };
                store::update_type(conn, id, &fields)?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::TypeId { type_id: id })
            })
            .await
    }

    pub async fn delete_type(&self, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let t = cat.type_by_id(id).ok_or_else(|| type_not_found(id))?;
                let count = store::count_cis_of_type(conn, id)?;
                if count > 0 {
                    return Err(Error::BadArgument(format!(
                        "citype `{}` still has {count} CI(s): delete them first",
                        t.name
                    )));
                }
                store::delete_type(conn, id)?;
                store::log_changes(conn, &[store::CATALOG])?;
                Ok(w::Message {
                    message: format!("ci type {} deleted", t.name),
                })
            })
            .await
    }
}

fn type_taken(name: &str) -> String {
    format!("citype `{name}` already exists")
}

fn type_fields(
    cat: &Catalog,
    input: &TypeInput,
    current: Option<&TypeRow>,
) -> Result<TypeFields, Error> {
    for (field, given) in [
        ("type_name", &input.name),
        ("type_alias", &input.alias),
        ("icon_url", &input.icon_url),
        ("unique", &input.unique),
    ] {
        if let Some(text) = given {
            kit::text::check_line(field, text)?;
        }
    }
    let name = match (&input.name, current) {
        (Some(n), _) if !n.trim().is_empty() => n.trim().to_string(),
        (None, Some(c)) => c.name.clone(),
        _ => return Err(Error::BadArgument("missing parameter `type_name`".into())),
    };
    if name.chars().count() > 128
        || name
            .chars()
            .any(|c| c.is_control() || ",;()[]:".contains(c))
    {
        return Err(Error::BadArgument(format!(
            "invalid parameter `type_name`: `{name}` must be at most 128 characters without , ; ( ) [ ] :"
        )));
    }
    let unique_attr = match (&input.unique_id, &input.unique) {
        (Some(_), Some(_)) => {
            return Err(Error::BadArgument(
                "invalid parameters `_id` and `unique`: give only one of them".into(),
            ))
        }
        (Some(id), None) => Some(cat.attr_by_id(*id).ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `_id`: unique attribute `{id}` does not exist"
            ))
        })?),
        (None, Some(key)) => Some(cat.attr(key).ok_or_else(|| {
            Error::BadArgument(format!(
                "invalid parameter `unique`: unique attribute `{key}` does not exist"
            ))
        })?),
        (None, None) => None,
    };
    let unique_attr_id = match (unique_attr, current) {
        (Some(a), _) => {
            if !a.is_uniq {
                let param = if input.unique_id.is_some() {
                    "_id"
                } else {
                    "unique"
                };
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{param}`: unique attribute `{}` is not unique (create it with is_uniq=1)",
                    a.name
                )));
            }
            a.id
        }
        (None, Some(c)) => c.unique_attr_id,
        (None, None) => {
            return Err(Error::BadArgument(
                "missing parameter `_id` or `unique`: the unique attribute".into(),
            ))
        }
    };
    let alias = input
        .alias
        .clone()
        .or(current.map(|c| c.alias.clone()))
        .unwrap_or_default();
    let icon_url = input
        .icon_url
        .clone()
        .or(current.map(|c| c.icon_url.clone()))
        .unwrap_or_default();
    // The MySQL columns are VARCHAR(128) and VARCHAR(1024): refuse here rather than fail there.
    if alias.chars().count() > 128 {
        return Err(Error::BadArgument(
            "invalid parameter `type_alias`: at most 128 characters".into(),
        ));
    }
    if icon_url.chars().count() > 1024 {
        return Err(Error::BadArgument(
            "invalid parameter `icon_url`: at most 1024 characters".into(),
        ));
    }
    Ok(TypeFields {
        alias,
        name,
        unique_attr_id,
        icon_url,
        enabled: input.enabled.or(current.map(|c| c.enabled)).unwrap_or(true),
    })
}

/// A CI type as the seed shows it: `uniq_key` is the attribute's name in the list and its
/// id on the other routes (each as the seed's example for the route has it).
pub(super) fn type_to_wire(cat: &Catalog, t: &TypeRow, list_style: bool) -> w::CiType {
    let unique = cat
        .attr_by_id(t.unique_attr_id)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    w::CiType {
        type_id: t.id,
        type_name: t.name.clone(),
        type_alias: t.alias.clone(),
        uniq_key: if list_style {
            Value::String(unique.clone())
        } else {
            Value::from(t.unique_attr_id)
        },
        unique_id: t.unique_attr_id,
        unique,
        enabled: t.enabled,
        icon_url: t.icon_url.clone(),
    }
}
