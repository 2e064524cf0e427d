//! Relations between CI types (parent and child).

use wire::cmdb as w;

use super::types::type_to_wire;
use super::{catalog, type_not_found, Cmdb};
use crate::error::Error;
use crate::model::RelationType;
use crate::store;

impl Cmdb {
    // ---- CI type relations ----

    pub async fn type_children(&self, parent: i64) -> Result<w::Children, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(parent)
                    .ok_or_else(|| type_not_found(parent))?;
                let children = store::ctr_children(conn, parent)?
                    .into_iter()
                    .filter_map(|r| {
                        cat.type_by_id(r.child_id).map(|t| w::CiTypeChild {
                            ctr_id: r.id,
                            relation_type: r.relation_type.clone(),
                            citype: type_to_wire(&cat, t, false),
                        })
                    })
                    .collect();
                Ok(w::Children { children })
            })
            .await
    }

    pub async fn type_parents(&self, child: i64) -> Result<w::Parents, Error> {
        self.db
            .read(move |conn| {
                let cat = catalog(conn)?;
                cat.type_by_id(child).ok_or_else(|| type_not_found(child))?;
                let parents = store::ctr_parents(conn, child)?
                    .into_iter()
                    .map(|r| w::CiTypeParent {
                        parent: r.parent_id,
                        ctr_id: r.id,
                        relation_type: r.relation_type.clone(),
                        relaltion_type: r.relation_type,
                    })
                    .collect();
                Ok(w::Parents { parents })
            })
            .await
    }

    pub async fn add_type_relation(
        &self,
        parent: i64,
        child: i64,
        kind: Option<String>,
    ) -> Result<w::CtrId, Error> {
        let kind = RelationType::parse(kind.as_deref())?;
        self.db
            .write(move |conn| {
                let cat = catalog(conn)?;
                let p = cat
                    .type_by_id(parent)
                    .ok_or_else(|| type_not_found(parent))?;
                let c = cat.type_by_id(child).ok_or_else(|| type_not_found(child))?;
                let taken = || {
                    format!(
                        "citype relation `{}` -> `{}` already exists",
                        p.name, c.name
                    )
                };
                if store::ctr_between(conn, parent, child)?.is_some() {
                    return Err(Error::Duplicate(taken()));
                }
                let id = store::insert_ctr(conn, parent, child, kind.as_str())
                    .map_err(|e| Error::already_exists(e, taken))?;
                Ok(w::CtrId { ctr_id: id })
            })
            .await
    }

    pub async fn delete_type_relation(&self, id: i64) -> Result<w::Message, Error> {
        self.db
            .write(move |conn| {
                let r = store::ctr(conn, id)?
                    .ok_or_else(|| Error::NotFound(format!("citype relation {id} is not found")))?;
                store::delete_ctr(conn, id)?;
                Ok(w::Message {
                    message: format!("CIType relation {} deleted", r.relation_type),
                })
            })
            .await
    }
}
