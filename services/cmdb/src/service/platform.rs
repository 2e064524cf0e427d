//! The platform's own model: the CI types the task-engine's built-in steps `record_ci` and
//! `remove_ci` write (`dcp_service`, `dcp_pool`, `dcp_node`), their attributes and type
//! relations. cmdb makes sure they exist at start, so that those steps run with a `service`
//! token, which writes CIs of `dcp_*` types but never changes the model (attributes, CI
//! types, type relations stay admin's). The names are the task-engine's
//! (services/task-engine/src/builtin.rs, proto-docs/task-engine.md).

use wire::cmdb as w;

use super::{AttrInput, Cmdb, TypeInput};
use crate::error::Error;

/// A CI type of the platform: its name, its unique attribute, its other attributes.
pub struct PlatformType {
    pub name: &'static str,
    pub key: &'static str,
    pub attributes: &'static [&'static str],
}

/// The platform's CI types, parents before children.
pub const PLATFORM_TYPES: [PlatformType; 3] = [
    PlatformType {
        name: "dcp_service",
        key: "dcp_service_key",
        attributes: &["service", "cluster"],
    },
    PlatformType {
        name: "dcp_pool",
        key: "dcp_pool_key",
        attributes: &["pool", "service", "cluster"],
    },
    PlatformType {
        name: "dcp_node",
        key: "dcp_node_key",
        attributes: &["ip", "instance_id", "pool", "service", "cluster"],
    },
];

/// Each type contains the next: service → pool → node.
const CONTAIN: &str = "contain";

impl Cmdb {
    /// Creates what of the platform's model is missing; what exists is left as it is. Two
    /// replicas starting together may race: what the other created first counts as there.
    pub async fn ensure_platform_model(&self) -> Result<(), Error> {
        let mut type_ids = Vec::with_capacity(PLATFORM_TYPES.len());
        for ty in &PLATFORM_TYPES {
            type_ids.push(self.ensure_platform_type(ty).await?);
        }
        for pair in type_ids.windows(2) {
            let (parent, child) = (pair[0], pair[1]);
            let children = self.type_children(parent).await?;
            if children.children.iter().any(|c| c.citype.type_id == child) {
                continue;
            }
            tolerate_duplicate(
                self.add_type_relation(parent, child, Some(CONTAIN.into()))
                    .await
                    .map(|_| ()),
            )?;
        }
        Ok(())
    }

    /// The type `ty` with its attributes bound; its id.
    async fn ensure_platform_type(&self, ty: &PlatformType) -> Result<i64, Error> {
        let key_id = self.ensure_text_attribute(ty.key, true).await?;
        let type_id = match self.find_type(ty.name).await? {
            Some(id) => id,
            None => {
                let added = self
                    .add_type(TypeInput {
                        name: Some(ty.name.into()),
                        unique_id: Some(key_id),
                        ..TypeInput::default()
                    })
                    .await;
                match added {
                    Ok(added) => added.type_id,
                    Err(Error::Duplicate(_)) => {
                        self.find_type(ty.name).await?.ok_or_else(|| {
                            Error::Internal(
                                format!("citype `{}` exists and cannot be found", ty.name).into(),
                            )
                        })?
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        let bound: Vec<i64> = self
            .type_attributes(type_id)
            .await?
            .attributes
            .iter()
            .map(|a| a.attribute.attr_id)
            .collect();
        let mut missing = Vec::new();
        for name in ty.attributes {
            let id = self.ensure_text_attribute(name, false).await?;
            if !bound.contains(&id) {
                missing.push(id);
            }
        }
        if !missing.is_empty() {
            tolerate_duplicate(
                self.bind_attributes(type_id, missing, false)
                    .await
                    .map(|_| ()),
            )?;
        }
        Ok(type_id)
    }

    /// The attribute `name` (by name or alias, as the built-in steps look it up), added as
    /// `text` when missing; its id.
    async fn ensure_text_attribute(&self, name: &str, unique: bool) -> Result<i64, Error> {
        match self.attribute(name.into()).await {
            Ok(found) => return Ok(found.attribute.attr_id),
            Err(Error::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
        let added = self
            .add_attribute(AttrInput {
                name: Some(name.into()),
                value_type: Some("text".into()),
                is_uniq: Some(unique),
                ..AttrInput::default()
            })
            .await;
        match added {
            Ok(w::AttrId { attr_id }) => Ok(attr_id),
            Err(Error::Duplicate(_)) => Ok(self.attribute(name.into()).await?.attribute.attr_id),
            Err(other) => Err(other),
        }
    }

    async fn find_type(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.query_type(name.into()).await {
            Ok(found) => Ok(Some(found.citype.type_id)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// What a concurrent start created first is there: not a failure.
fn tolerate_duplicate(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(Error::Duplicate(_)) => Ok(()),
        other => other,
    }
}
